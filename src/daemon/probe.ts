/**
 * What `memresize probe` reports: what the daemon would see and use on this machine.
 * It arms (and at once closes) a real trigger to learn the PSI mode, and tries the
 * self-protection steps in its own short-lived process.
 */
import { join } from 'node:path';
import { readMeminfoOnce } from '../io/meminfo.ts';
import { readMemoryBlocks, summarizeBlocks, type BlocksSummary, type VirtioMemDevice } from '../io/memory-blocks.ts';
import { loadEpoll, psiFilePath, readCapEff } from '../io/psi.ts';
import { choosePsiMode, hasCapability, realPsiFs, type PsiModeConfig } from '../io/psi-trigger.ts';
import { parsePressure, type Pressure } from '../io/psi-parse.ts';
import type { GuestConfig } from '../config/schema.ts';
import { protectSelf, type ProtectionReport } from './self-protect.ts';
import { makeZoneinfoReader } from './zoneinfo-now.ts';
import { makeLogger } from '../io/log.ts';
import { globalShortage, type ZoneHeadroom } from '../policy/reclaim.ts';

export interface ProbeReport {
  psi: {
    file: string;
    available: boolean;
    mode: string;
    reason: string;
    windowUs?: number;
    thresholdUs?: number;
    refused: { code: string; message: string }[];
    epollAddon: boolean;
    capSysResource: boolean;
    pressure?: Pressure;
  };
  meminfo: { ok: boolean; memTotalBytes?: number; memAvailableBytes?: number; memFreeBytes?: number; swapTotalBytes?: number; error?: string };
  memory: { blockSizeBytes: number | null; autoOnlineBlocks: string | null; blocks: BlocksSummary; errors: number; virtioMem: VirtioMemDevice[] };
  /** Free memory above the watermarks now, and whether a PSI trigger would be answered (src/policy/reclaim.ts). */
  zones: { ok: true; headroom: ZoneHeadroom; triggersAnswered: boolean } | { ok: false };
  selfProtection: ProtectionReport;
}

export async function probe(config: GuestConfig, roots: { procRoot?: string; sysRoot?: string } = {}): Promise<ProbeReport> {
  const procRoot = roots.procRoot ?? '/proc';
  const fs = realPsiFs;
  const file = psiFilePath(config.signals, { procRoot });
  const epoll = await loadEpoll();
  const capEff = readCapEff(fs, procRoot);
  const cfg: PsiModeConfig = config.signals;
  const choice = choosePsiMode(cfg, file, { fs, haveEpoll: !!epoll, capEff });
  if (choice.fd !== undefined) fs.close(choice.fd);
  let pressure: Pressure | undefined;
  try {
    const r = parsePressure(fs.readText(file));
    if (r.ok) pressure = r.value;
  } catch {
    pressure = undefined;
  }
  const mi = readMeminfoOnce(join(procRoot, 'meminfo'), 0);
  const snap = readMemoryBlocks(roots.sysRoot ?? '/sys');
  const z = makeZoneinfoReader(procRoot, makeLogger({ level: 'silent' }))();
  return {
    psi: {
      file,
      available: choice.mode !== 'unavailable',
      mode: choice.mode,
      reason: choice.reason,
      windowUs: choice.windowUs,
      thresholdUs: choice.thresholdUs,
      refused: choice.refused,
      epollAddon: !!epoll,
      capSysResource: hasCapability(capEff, 24),
      pressure,
    },
    meminfo:
      mi.type === 'meminfo'
        ? { ok: true, memTotalBytes: mi.meminfo.memTotalBytes, memAvailableBytes: mi.meminfo.memAvailableBytes, memFreeBytes: mi.meminfo.fields.MemFree, swapTotalBytes: mi.meminfo.fields.SwapTotal }
        : { ok: false, error: mi.message },
    memory: { blockSizeBytes: snap.blockSizeBytes, autoOnlineBlocks: snap.autoOnline, blocks: summarizeBlocks(snap), errors: snap.errors.length, virtioMem: snap.virtioMem },
    zones: z ? { ok: true, headroom: z.headroom, triggersAnswered: globalShortage(z.headroom, config.policy) } : { ok: false },
    selfProtection: await protectSelf({ oomScoreAdj: config.memory.oomScoreAdj, lockMemory: config.memory.lockMemory, procRoot }),
  };
}
