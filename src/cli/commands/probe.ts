import type { Command } from 'commander';
import { defaultGuestConfig, GuestConfigSchema } from '../../config/schema.ts';
import { formatBytes } from '../../config/units.ts';
import { loadStartupConfig } from './config-file.ts';
import { probe, type ProbeReport } from '../../daemon/probe.ts';

function mib(b: number | undefined | null): string {
  return b === undefined || b === null ? '?' : formatBytes(b);
}

function render(r: ProbeReport): string {
  const p = r.psi;
  const lines = [
    `PSI          ${p.available ? 'available' : 'unavailable'} (${p.file})`,
    `  mode       ${p.mode}${p.windowUs ? ` (window ${p.windowUs / 1000} ms, threshold ${(p.thresholdUs ?? 0) / 1000} ms)` : ''}`,
    `  why        ${p.reason}`,
    ...p.refused.map((e) => `  refused    ${e.code}: ${e.message}`),
    `  epoll      ${p.epollAddon ? 'addon loaded (EPOLLPRI)' : 'addon missing (polling only)'}; CAP_SYS_RESOURCE ${p.capSysResource ? 'held' : 'not held'}`,
    ...(p.pressure ? [`  now        some avg10=${p.pressure.some.avg10} avg60=${p.pressure.some.avg60} total=${p.pressure.some.totalUs}us`] : []),
    r.meminfo.ok
      ? `meminfo      MemTotal ${mib(r.meminfo.memTotalBytes)}, MemAvailable ${mib(r.meminfo.memAvailableBytes)}, MemFree ${mib(r.meminfo.memFreeBytes)}, SwapTotal ${mib(r.meminfo.swapTotalBytes)}`
      : `meminfo      unreadable: ${r.meminfo.error}`,
    `memory       block size ${mib(r.memory.blockSizeBytes)}, ${r.memory.blocks.online} online (${r.memory.blocks.onlineKernel} kernel zones, ${r.memory.blocks.onlineMovable} movable), ${r.memory.blocks.offline} offline${r.memory.errors ? `, ${r.memory.errors} read errors` : ''}`,
    `  auto-online ${r.memory.autoOnlineBlocks ?? '?'}`,
    `  virtio-mem ${r.memory.virtioMem.length ? r.memory.virtioMem.map((d) => `${d.name} (driver ${d.driver ?? 'none'})`).join(', ') : 'none'}`,
    r.zones.ok
      ? `zones        free above the high watermarks ${mib(r.zones.headroom.freeAboveHighBytes)} (kernel zones ${mib(r.zones.headroom.kernelFreeAboveHighBytes)}): a PSI trigger now would ${r.zones.triggersAnswered ? 'be answered' : 'NOT be answered (no global shortage: a cgroup limit or compaction)'}`
      : 'zones        /proc/zoneinfo unreadable: every PSI trigger is answered',
    `self-protect oom_score_adj ${r.selfProtection.oom.ok ? `set to ${r.selfProtection.oom.value}` : `NOT set to ${r.selfProtection.oom.wanted}: ${r.selfProtection.oom.error}`}`,
  ];
  const l = r.selfProtection.lock;
  lines.push(
    'lockedMappings' in l
      ? `  mlock      ${l.method}: ${l.lockedMappings} code/rodata mappings (${mib(l.lockedBytes)} locked on fault), ${l.failedMappings} refused${l.error ? ` (${l.error})` : ''}; RSS ${l.rssBeforeKiB} -> ${l.rssAfterKiB} KiB`
      : `  mlock      not done: ${l.error}`,
  );
  if ('note' in l) lines.push(`  note       ${l.note}`);
  return `${lines.join('\n')}\n`;
}

export function registerProbe(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('probe')
    .description('Show what the guest daemon would watch here: PSI mode and why, meminfo, memory blocks, virtio-mem, self-protection.')
    .option('--json', 'print the report as JSON')
    .option('--config <file>', 'guest config file (PSI file, windows, self-protection settings)')
    .action(async (opts: { json?: boolean; config?: string }) => {
      const config = opts.config ? await loadStartupConfig(GuestConfigSchema, opts.config, 'guest', setExit) : defaultGuestConfig();
      if (!config) return;
      const report = await probe(config);
      process.stdout.write(opts.json ? `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : render(report));
    });
}
