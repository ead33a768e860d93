/**
 * Which zone hot-plugged memory goes to. Kernel allocations (page tables, slab, the memmap
 * of the next plug) cannot use ZONE_MOVABLE, and anonymous pages fill the kernel zones too
 * when they arrive faster than memory is plugged: measured, a guest whose boot memory was
 * full of anonymous pages was OOM-killed on a kernel allocation with 1.8 GB of MOVABLE
 * memory added. So growth first restores free memory in the kernel zones up to a floor,
 * and only then goes MOVABLE (unpluggable later), within the auto-movable ratio.
 */
import type { PolicyConfig } from '../config/schema.ts';

export interface ZoneState {
  /** Free bytes in the zones kernel allocations can use (DMA, DMA32, Normal). */
  kernelFreeBytes: number;
  /** Memory managed by those zones. */
  kernelManagedBytes: number;
  movableManagedBytes: number;
}

/**
 * Free memory the kernel zones should keep: room for the memmap of two of the largest grow
 * steps (plugging takes its memmap from memory already online, and a second grow may
 * follow before the first one's memory is used).
 */
export function kernelZoneFloorBytes(policy: PolicyConfig): number {
  return Math.round((2 * policy.growStepMaxBytes * policy.memmapPercent) / 100);
}

/**
 * Splits `deltaBytes` of new memory into kernel-zone and MOVABLE bytes, in whole blocks:
 * the kernel zones first get what they lack below the floor, the rest goes MOVABLE while
 * MOVABLE stays within `ratioPercent` of the kernel zones (the kernel's auto_movable_ratio).
 */
export function splitGrowth(deltaBytes: number, blockBytes: number, z: ZoneState, ratioPercent: number, floorBytes: number): { kernelBytes: number; movableBytes: number } {
  const block = Math.max(1, blockBytes);
  const delta = Math.max(0, Math.floor(deltaBytes / block) * block);
  const shortfall = Math.max(0, floorBytes - z.kernelFreeBytes);
  let kernelBytes = Math.min(delta, Math.ceil(shortfall / block) * block);
  const kernelAfter = z.kernelManagedBytes + kernelBytes;
  const movableRoom = Math.max(0, (kernelAfter * ratioPercent) / 100 - z.movableManagedBytes);
  const movableBytes = Math.min(delta - kernelBytes, Math.floor(movableRoom / block) * block);
  kernelBytes = delta - movableBytes;
  return { kernelBytes, movableBytes };
}
