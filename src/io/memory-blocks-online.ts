/**
 * Onlining hot-plugged memory blocks that the kernel left offline (auto_online_blocks =
 * offline and no udev rule). Where a block goes decides what the memory can later do:
 *   ZONE_MOVABLE  only movable (user) pages: unplug can migrate them away, but kernel
 *                 allocations cannot use it (a guest whose boot memory is full of anon
 *                 pages was OOM-killed here despite 1.8 GB of MOVABLE memory added);
 *   kernel zone   (Normal) any allocation: survives, but unplug is best effort: blocks
 *                 that kernel allocations (slab, page tables) sit in stay plugged
 *                 (measured: 4 MiB of 1 GiB after a burst, 60 MiB with 70 MiB of slab;
 *                 test/e2e/kernel-zone-unplug.test.ts).
 * auto-movable does what the kernel's memory_hotplug.online_policy=auto-movable does:
 * MOVABLE while it stays within `ratio` percent of the kernel-zone memory, else Normal;
 * and, unlike the kernel, it first gives the kernel zones back their free floor when they
 * ran short (anonymous pages filled them before the grow landed): see src/policy/zones.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeBlocks, type MemoryBlocksSnapshot } from './memory-blocks.ts';

export type OnlineMode = 'auto-movable' | 'movable' | 'kernel' | 'none';
export type OnlineWrite = 'online_movable' | 'online_kernel';

export interface OnlineStep {
  index: number;
  write: OnlineWrite;
}

/**
 * Which blocks to online, into which zone. Pure. `eligible` are the offline blocks the
 * daemon may touch (new since start, or all of them when a virtio-mem device exists):
 * a block an administrator took offline on purpose stays offline.
 */
export function planOnlining(
  snap: MemoryBlocksSnapshot,
  mode: OnlineMode,
  ratioPercent: number,
  eligible: (index: number) => boolean,
  kernelZone?: { freeBytes: number; floorBytes: number },
): OnlineStep[] {
  if (mode === 'none' || snap.autoOnline === null || snap.autoOnline !== 'offline') return [];
  const sum = summarizeBlocks(snap);
  let movable = sum.onlineMovable;
  let kernel = sum.onlineKernel;
  // auto-movable: the kernel zones first get back to their free floor (src/policy/zones.ts),
  // block by block, before any block goes MOVABLE.
  let kernelShortfall = mode === 'auto-movable' && kernelZone ? Math.max(0, kernelZone.floorBytes - kernelZone.freeBytes) : 0;
  const blockBytes = snap.blockSizeBytes ?? 128 * 1024 * 1024;
  const steps: OnlineStep[] = [];
  for (const b of snap.blocks) {
    if (b.state !== 'offline' || !eligible(b.index)) continue;
    let write: OnlineWrite;
    if (mode === 'movable') write = 'online_movable';
    else if (mode === 'kernel') write = 'online_kernel';
    else if (kernelShortfall > 0) write = 'online_kernel';
    else write = (movable + 1) * 100 <= ratioPercent * kernel ? 'online_movable' : 'online_kernel';
    if (write === 'online_movable') movable++;
    else {
      kernel++;
      kernelShortfall -= blockBytes;
    }
    steps.push({ index: b.index, write });
  }
  return steps;
}

export interface OnlineResult {
  index: number;
  /** The write that took (the planned one, or the other zone after the kernel refused it). */
  write: OnlineWrite;
  ok: boolean;
  /** The planned write, when the kernel refused it and the other zone was taken. */
  refused?: OnlineWrite;
  error?: string;
}

export type WriteText = (path: string, text: string) => void;

const OTHER: Record<OnlineWrite, OnlineWrite> = { online_movable: 'online_kernel', online_kernel: 'online_movable' };

/**
 * Writes each step to memoryN/state. A block the kernel will not put in the planned zone
 * (EINVAL: its range cannot join that zone) goes to the other one: the daemon does not read
 * valid_zones of offline blocks to know beforehand (see readMemoryBlocks). A refused write is
 * a result, not a throw.
 */
export function applyOnlining(steps: OnlineStep[], sysRoot = '/sys', write: WriteText = (p, t) => writeFileSync(p, t)): OnlineResult[] {
  return steps.map((s) => {
    const path = join(sysRoot, 'devices/system/memory', `memory${s.index}`, 'state');
    /** The error code of a refused write (or its message), null when it took. */
    const attempt = (w: OnlineWrite): string | null => {
      try {
        write(path, w);
        return null;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
    };
    const first = attempt(s.write);
    if (first === null) return { ...s, ok: true };
    if (first !== 'EINVAL') return { ...s, ok: false, error: `${path}: ${first}` };
    const other = OTHER[s.write];
    const second = attempt(other);
    return second === null ? { index: s.index, write: other, ok: true, refused: s.write } : { ...s, ok: false, error: `${path}: ${first}; ${other}: ${second}` };
  });
}

/**
 * Tracks which offline blocks the daemon may online across snapshots: the first snapshot
 * sets the baseline; blocks that appear later are hot-plugged and eligible.
 */
export function makeEligibility(): (snap: MemoryBlocksSnapshot) => (index: number) => boolean {
  let known: Set<number> | null = null;
  return (snap) => {
    const startAll = known === null && snap.virtioMem.length > 0;
    const before = known;
    known = new Set(snap.blocks.map((b) => b.index));
    if (before === null) return () => startAll;
    return (i) => !before.has(i) || startAll;
  };
}
