/**
 * Whether a PSI stall is one that more VM memory can relieve. Memory PSI counts every task
 * waiting on memory: in global reclaim (kswapd, direct reclaim, refaults of what they
 * evicted), but also in a cgroup's own reclaim at its `memory.max`, and in compaction. kswapd
 * keeps every zone above its high watermark (plus boost); while global reclaim runs, free
 * memory sits near those watermarks. With plenty of memory free above them, in the kernel
 * zones too, the stall is a cgroup's limit or fragmentation, and a bigger VM changes nothing:
 * growing for it would climb to the VM's max for as long as that cgroup thrashes.
 */
import type { PolicyConfig } from '../config/schema.ts';
import { kernelZoneFloorBytes } from './zones.ts';

/** Free memory above the high watermarks (+ boost), from /proc/zoneinfo (src/io/zoneinfo.ts). */
export interface ZoneHeadroom {
  /** All populated zones. */
  freeAboveHighBytes: number;
  /** DMA, DMA32 and Normal only: where kernel allocations (page tables, slab, memmap) go. */
  kernelFreeAboveHighBytes: number;
}

/**
 * True when the kernel may be short of memory as a whole: free memory above the watermarks is
 * under `stallAmpleFreeBytes`, or the kernel zones' share of it under the kernel-zone floor
 * (an all-MOVABLE surplus does not help a kernel allocation).
 */
export function globalShortage(h: ZoneHeadroom, policy: PolicyConfig): boolean {
  return h.freeAboveHighBytes < policy.stallAmpleFreeBytes || h.kernelFreeAboveHighBytes < kernelZoneFloorBytes(policy);
}
