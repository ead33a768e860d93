/**
 * The guest daemon with real drivers: real files under /proc and /sys, real timers, the
 * real host link or the dry-run logger link. Everything else is wireGuest's job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncScheduler, merge, Subject } from 'rxjs';
import type { GuestConfig } from '../config/schema.ts';
import { makeDryRunLink, type DryRunLimits } from '../io/dry-run-link.ts';
import { makeHostLinkFromConfig } from '../io/host-link-factory.ts';
import type { HostLink } from '../io/host-link.ts';
import type { Logger } from '../io/log.ts';
import { makeMeminfoSource } from '../io/meminfo.ts';
import { makeMemoryBlocksSource, parseIomemVirtioMem, readMemoryBlocks, virtioMemOnlineBytes, type MemoryBlocksSnapshot } from '../io/memory-blocks.ts';
import { applyOnlining, makeEligibility, planOnlining } from '../io/memory-blocks-online.ts';
import { loadEpoll, makePsiSource } from '../io/psi.ts';
import { psiWithFallback } from '../signals/index.ts';
import { protectSelf } from './self-protect.ts';
import { wireGuest, type Clock, type WireHandle } from './wire.ts';

export interface GuestOptions {
  config: GuestConfig;
  log: Logger;
  /** Replace the host link by the dry-run logger link with these limits. */
  dryRun?: DryRunLimits;
  procRoot?: string;
  sysRoot?: string;
}

export interface RunningGuest {
  handle: WireHandle;
  stop(): Promise<void>;
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Boot id + pid: unique per daemon start, so a restarted daemon never reuses a request id. */
function makeIdPrefix(procRoot: string): string {
  let boot = 'noboot';
  try {
    boot = readFileSync(join(procRoot, 'sys/kernel/random/boot_id'), 'utf8').trim().slice(0, 8);
  } catch {
    // Containers without the file: the pid alone is unique within this boot.
  }
  return `${boot}-${process.pid}`;
}

function initialPlugged(procRoot: string, snap: MemoryBlocksSnapshot): number {
  try {
    return virtioMemOnlineBytes(snap, parseIomemVirtioMem(readFileSync(join(procRoot, 'iomem'), 'utf8')));
  } catch {
    return 0;
  }
}

export async function startGuest(opts: GuestOptions): Promise<RunningGuest> {
  const { config, log } = opts;
  const procRoot = opts.procRoot ?? '/proc';
  const sysRoot = opts.sysRoot ?? '/sys';
  const scheduler = asyncScheduler;

  // The link first: without one (and not in dry run) there is nothing to start.
  let link: HostLink;
  let connect = () => {};
  const first = readMemoryBlocks(sysRoot);
  const plugged0 = initialPlugged(procRoot, first);
  // The dry-run welcome reports what the guest sees: the machine's observed size once running.
  let handleRef: WireHandle | null = null;
  if (opts.dryRun) {
    const dry = makeDryRunLink(opts.dryRun, { log, scheduler, pluggedBytes: () => handleRef?.actor.getSnapshot().context.pluggedBytes ?? plugged0 });
    link = dry;
    connect = () => dry.connect();
  } else {
    link = makeHostLinkFromConfig(config.link, { log });
  }

  const epoll = await loadEpoll();
  // After the addons are loaded, so their code is locked too.
  await protectSelf({ oomScoreAdj: config.memory.oomScoreAdj, lockMemory: config.memory.lockMemory, procRoot }, log);

  const primary$ = makePsiSource(config.signals, { procRoot, scheduler, epoll });
  // Fallback after psi.lost: poll the system-wide file, which cannot disappear.
  const fallback = () => makePsiSource({ ...config.signals, psiFile: 'pressure/memory' }, { procRoot, scheduler, epoll, forceMode: 'polling' });
  const blocksLog = log.child({ component: 'memory-blocks' });
  const eligibility = makeEligibility();
  const onlined = new Subject<void>();
  const onBlocks = (snap: MemoryBlocksSnapshot) => {
    const eligible = eligibility(snap);
    if (snap.errors.length > 0) blocksLog.debug({ errors: snap.errors.slice(0, 5), count: snap.errors.length }, 'memory blocks read with errors');
    const steps = planOnlining(snap, config.memory.online, config.memory.movableRatioPercent, eligible);
    const results = applyOnlining(steps, sysRoot);
    for (const r of results) {
      if (r.ok) blocksLog.info({ block: r.index, write: r.write }, 'block onlined');
      else blocksLog.warn({ block: r.index, write: r.write, err: r.error }, 'block online failed');
    }
    // Read back what the kernel made of it (zones decide the next auto-movable choice).
    if (results.length > 0) scheduler.schedule(() => onlined.next());
  };

  const handle = wireGuest({
    psi$: psiWithFallback(primary$, fallback),
    meminfo$: (fast$) => makeMeminfoSource(config.signals, { procRoot, scheduler, fast$ }),
    blocks$: (rescan$) => makeMemoryBlocksSource(config.memory, { sysRoot, scheduler, rescan$: merge(rescan$, onlined) }),
    onBlocks,
    link,
    clock: realClock,
    scheduler,
    log,
    config,
    idPrefix: makeIdPrefix(procRoot),
    initialPluggedBytes: plugged0,
  });
  handleRef = handle;
  log.info(
    { component: 'daemon', dryRun: !!opts.dryRun, initialPluggedBytes: plugged0, blockSizeBytes: first.blockSizeBytes, autoOnline: first.autoOnline, virtioMem: first.virtioMem.map((d) => d.name), online: config.memory.online },
    'guest daemon started',
  );
  connect();
  return {
    handle,
    async stop() {
      handle.stop();
      await link.close();
    },
  };
}
