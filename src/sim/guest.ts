/**
 * The guest's memory, one tick at a time (docs/simulator.md, "Guest memory model").
 *
 * Capacity: boot RAM plus what the virtio-mem device has plugged, minus the kernel's static
 * reserve, the memmap (64 bytes of struct page per 4 KiB page = 1/64, ~2 MiB per 128 MiB
 * block; for plugged memory it is taken from existing ZONE_NORMAL memory), slab and page
 * tables. Boot memory is ZONE_NORMAL; plugged memory is onlined movable, normal or by the
 * kernel's auto-movable ratio. Anonymous pages prefer ZONE_MOVABLE and stay where they were
 * allocated (the kernel does not migrate them from NORMAL to MOVABLE); kernel allocations
 * can only use ZONE_NORMAL, so a guest whose boot memory is full of anonymous pages OOMs
 * with movable memory free.
 *
 * Stall: the file working set competes with anonymous memory for what is left; the share of
 * it that does not fit (the deficit r in [0, 1]) is refaulted, and PSI counts the refaults
 * as stall. some(r) rises fast and saturates (calibrated on this kernel, see calibration/),
 * then climbs to 100% as the last reclaimable pages go (thrashing, as measured in a real
 * guest). full = some x a ratio that also rises to 1 near the end. The workload runs at
 * (1 - full) of its speed: a thrashing guest makes little progress, so anonymous growth
 * slows and the kernel's OOM killer comes late, after seconds of thrash.
 */
import { MiB } from '../config/units.ts';
import type { Demand, Workload } from './workload.ts';
import { splitGrowth } from '../policy/zones.ts';

export type OnlinePolicy = 'movable' | 'normal' | 'auto-movable';

export interface StallCurve {
  /** Plateau of `some` stall (fraction of wall time) once the working set no longer fits. */
  someMax: number;
  /** Deficit share at which the plateau is ~63% reached. */
  someR0: number;
  /** full/some on the plateau. */
  fullRatio: number;
  /** Deficit share from which thrashing adds stall up to 100% at r = 1. */
  thrashFrom: number;
}

export interface GuestParams {
  bootBytes: number;
  kernelStaticBytes: number;
  slabBytes: number;
  /** Page tables per byte of anonymous memory (~8 bytes per 4 KiB page). */
  pageTableShare: number;
  memmapShare: number;
  onlinePolicy: OnlinePolicy;
  autoMovableRatioPercent: number;
  /** Anonymous memory of the system itself (init, daemons): not killed by the OOM killer. */
  baseAnonBytes: number;
  stall: StallCurve;
  /** Sustained full stall at or above this share... */
  thrashFullFraction: number;
  /** ...for this long ends in an OOM kill (measured in a real guest: 9-58 s). */
  thrashOomS: number;
  /** After an OOM kill the workload is restarted after this long. */
  restartAfterOomS: number;
  /** Pinned pages spread over blocks: each pinned byte blocks this many bytes from unplug. */
  pinnedSpread: number;
}

export const DEFAULT_STALL: StallCurve = { someMax: 0.55, someR0: 0.05, fullRatio: 0.67, thrashFrom: 0.5 };

export function defaultGuestParams(bootBytes: number, over: Partial<GuestParams> = {}): GuestParams {
  return {
    bootBytes,
    kernelStaticBytes: 40 * MiB,
    slabBytes: 24 * MiB,
    pageTableShare: 1 / 512,
    memmapShare: 1 / 64,
    onlinePolicy: 'auto-movable',
    autoMovableRatioPercent: 301,
    baseAnonBytes: 48 * MiB,
    stall: DEFAULT_STALL,
    thrashFullFraction: 0.8,
    thrashOomS: 20,
    restartAfterOomS: 10,
    pinnedSpread: 2,
    ...over,
  };
}

/** min_free_kbytes = 4 * sqrt(lowmem KiB), clamped like the kernel (128 KiB..256 MiB). */
export function minFreeBytes(lowmemBytes: number): number {
  const kib = Math.min(262_144, Math.max(128, 4 * Math.sqrt(lowmemBytes / 1024)));
  return kib * 1024;
}

export function someStall(deficit: number, c: StallCurve): number {
  if (deficit <= 0) return 0;
  const r = Math.min(1, deficit);
  const plateau = c.someMax * (1 - Math.exp(-r / c.someR0));
  const thrash = r > c.thrashFrom ? ((r - c.thrashFrom) / (1 - c.thrashFrom)) ** 2 : 0;
  return Math.min(1, plateau + (1 - plateau) * thrash);
}

export function fullStall(deficit: number, c: StallCurve): number {
  if (deficit <= 0) return 0;
  const r = Math.min(1, deficit);
  const thrash = r > c.thrashFrom ? ((r - c.thrashFrom) / (1 - c.thrashFrom)) ** 2 : 0;
  return someStall(r, c) * Math.min(1, c.fullRatio + (1 - c.fullRatio) * thrash);
}

export type OomCause = 'no-memory' | 'zone-normal' | 'thrashing';

export interface OomKill {
  tMs: number;
  cause: OomCause;
  anonBytes: number;
  freeBytes: number;
}

/** What /proc/meminfo would say (the fields the daemon and the baselines read). */
export interface Meminfo {
  memTotalBytes: number;
  memFreeBytes: number;
  memAvailableBytes: number;
  cachedBytes: number;
  anonBytes: number;
  committedAsBytes: number;
  movableFreeBytes: number;
}

export class GuestModel {
  pluggedBytes = 0;
  pluggedMovable = 0;
  anonNormal = 0;
  anonMovable = 0;
  fileBytes = 0;
  unmovableBytes = 0;
  progressS = 0;
  some = 0;
  full = 0;
  deficit = 0;
  readonly kills: OomKill[] = [];
  private restartAtMs = -1;
  private anonWant = 0;
  private thrashMs = 0;
  private readonly minFree: number;
  private readonly bootUsable: number;
  demand: Demand = { anonBytes: 0, fileBytes: 0, unmovableBytes: 0 };

  constructor(
    readonly p: GuestParams,
    private readonly workload: Workload,
  ) {
    this.minFree = minFreeBytes(p.bootBytes);
    this.bootUsable = p.bootBytes - p.kernelStaticBytes - p.bootBytes * p.memmapShare;
  }

  get anonBytes(): number {
    return this.anonNormal + this.anonMovable;
  }

  get kernelDynBytes(): number {
    return this.p.slabBytes + this.anonBytes * this.p.pageTableShare + this.pluggedBytes * this.p.memmapShare;
  }

  get normalCapBytes(): number {
    return this.bootUsable + (this.pluggedBytes - this.pluggedMovable);
  }

  get usableBytes(): number {
    return this.normalCapBytes + this.pluggedMovable - this.kernelDynBytes;
  }

  /**
   * Free floor of the kernel zones that the guest daemon restores first when it onlines new
   * memory (src/policy/zones.ts). 0 = the kernel's own auto-movable onlining, which is what
   * guests without memresize's daemon get.
   */
  kernelZoneFloorBytes = 0;

  get workloadAlive(): boolean {
    return this.restartAtMs < 0;
  }

  /** The device plugged or unplugged memory: online (zone by policy) or offline it. */
  setPlugged(bytes: number): void {
    const delta = bytes - this.pluggedBytes;
    if (delta > 0) {
      let movable = 0;
      if (this.p.onlinePolicy === 'movable') movable = delta;
      else if (this.p.onlinePolicy === 'auto-movable') {
        // auto-movable: MOVABLE may be at most ratio% of the NORMAL memory; with a floor, the
        // kernel zone first gets back the free memory anonymous pages took from it.
        const zones = {
          kernelFreeBytes: Math.max(0, this.normalCapBytes - this.anonNormal - this.kernelDynBytes),
          kernelManagedBytes: this.normalCapBytes,
          movableManagedBytes: this.pluggedMovable,
        };
        movable = splitGrowth(delta, 1, zones, this.p.autoMovableRatioPercent, this.kernelZoneFloorBytes).movableBytes;
      }
      this.pluggedMovable += movable;
    } else if (delta < 0) {
      // Unplug takes movable blocks first: they are the ones that can be emptied.
      const fromMovable = Math.min(this.pluggedMovable, -delta);
      this.pluggedMovable -= fromMovable;
      const overflow = Math.max(0, this.anonMovable - this.pluggedMovable);
      this.anonMovable -= overflow;
      this.anonNormal += overflow;
    }
    this.pluggedBytes = bytes;
  }

  /**
   * Smallest plugged size an unplug can reach now: pinned pages keep their blocks, and
   * everything resident must still fit once the pages are migrated.
   */
  unplugFloorBytes(): number {
    const total = this.p.bootBytes + this.pluggedBytes;
    const pinnedInPlugged = (this.unmovableBytes * this.pluggedBytes) / total;
    const pinned = Math.min(this.pluggedBytes, pinnedInPlugged * this.p.pinnedSpread);
    // Unplug empties movable blocks first; their anonymous pages must find room in what
    // stays: the rest of ZONE_MOVABLE, else ZONE_NORMAL above the kernel's needs.
    const normalRoom = Math.max(0, this.normalCapBytes - this.kernelDynBytes - 2 * this.minFree - this.anonNormal);
    const keepMovable = Math.min(this.pluggedMovable, Math.max(0, this.anonMovable + this.minFree - normalRoom));
    // Plugged kernel-zone memory unplugs too once MOVABLE is gone, as far as what it holds
    // fits in boot memory, except the blocks the kernel's own allocations sit in (measured
    // in a real guest: of 1 GiB onlined Normal and used by a burst, 4 MiB stayed; this
    // model keeps the plugged share of every kernel allocation, spread, far more).
    const pluggedNormal = this.pluggedBytes - this.pluggedMovable;
    let keepNormal = pluggedNormal;
    if (keepMovable === 0 && pluggedNormal > 0) {
      const kernelPinned = this.kernelDynBytes * (pluggedNormal / this.normalCapBytes) * this.p.pinnedSpread;
      const need = this.anonBytes + this.kernelDynBytes + 2 * this.minFree - this.bootUsable;
      keepNormal = Math.min(pluggedNormal, Math.max(kernelPinned, need));
    }
    return Math.max(pinned, keepNormal + keepMovable);
  }

  meminfo(): Meminfo {
    const usable = this.usableBytes;
    const anon = this.anonBytes;
    const room = Math.max(0, usable - anon - this.minFree);
    const cached = Math.min(this.fileBytes, room);
    const memTotal = this.p.bootBytes + this.pluggedBytes - this.p.kernelStaticBytes - this.p.bootBytes * this.p.memmapShare;
    return {
      memTotalBytes: Math.round(memTotal),
      memFreeBytes: Math.round(Math.max(0, usable - anon - cached)),
      // The kernel's estimate: free + reclaimable page cache above the low watermarks.
      memAvailableBytes: Math.round(Math.max(0, usable - anon - 2 * this.minFree)),
      cachedBytes: Math.round(cached),
      anonBytes: Math.round(anon),
      // Committed_AS counts what processes have allocated, resident or not (no swap: the
      // part the kernel could not give yet is what they wait for in reclaim).
      committedAsBytes: Math.round(Math.max(anon, this.anonWant) * 1.1 + this.p.slabBytes),
      movableFreeBytes: Math.round(Math.max(0, this.pluggedMovable - this.anonMovable)),
    };
  }

  /** Advances the guest by dtMs of wall time ending at nowMs. */
  tick(nowMs: number, dtMs: number): OomKill | null {
    if (this.restartAtMs >= 0 && nowMs >= this.restartAtMs) {
      this.restartAtMs = -1;
      // The killed workload's progress is lost: it restarts into the load the world has
      // now (wall time), not where it was frozen when the killer came.
      this.progressS = Math.max(this.progressS, nowMs / 1000);
    }
    const d = this.workload.at(this.progressS);
    this.demand = d;
    const want = this.workloadAlive ? d.anonBytes : Math.min(d.anonBytes, this.p.baseAnonBytes);
    // Without swap, anonymous memory cannot exceed what is there: the allocating task waits
    // in reclaim (starved) instead, and the kernel's OOM killer comes only when reclaim
    // stops making progress (the thrash timer below).
    const cap = Math.max(0, (this.normalCapBytes + this.pluggedMovable - this.p.slabBytes - this.pluggedBytes * this.p.memmapShare - this.minFree) / (1 + this.p.pageTableShare));
    this.anonWant = want;
    const starved = want > cap;
    this.place(Math.min(want, cap));
    this.fileBytes = d.fileBytes;
    this.unmovableBytes = Math.min(d.unmovableBytes, this.anonBytes + this.fileBytes);

    const usable = this.usableBytes;
    const anon = this.anonBytes;
    const fileRoom = usable - anon - this.minFree;
    const r = starved ? 1 : this.fileBytes > 0 ? Math.min(1, Math.max(0, (this.fileBytes - fileRoom) / this.fileBytes)) : fileRoom < 0 ? 1 : 0;
    this.deficit = r;
    this.some = someStall(r, this.p.stall);
    this.full = fullStall(r, this.p.stall);
    this.thrashMs = this.full >= this.p.thrashFullFraction ? this.thrashMs + dtMs : 0;

    let cause: OomCause | null = null;
    if (this.anonNormal + this.kernelDynBytes + this.minFree > this.normalCapBytes + 1) cause = 'zone-normal';
    else if (this.thrashMs >= this.p.thrashOomS * 1000) cause = starved ? 'no-memory' : 'thrashing';
    if (cause && this.workloadAlive && anon > this.p.baseAnonBytes) {
      const kill: OomKill = { tMs: nowMs, cause, anonBytes: anon, freeBytes: Math.max(0, usable - anon) };
      this.kills.push(kill);
      this.restartAtMs = nowMs + this.p.restartAfterOomS * 1000;
      this.thrashMs = 0;
      this.place(Math.min(anon, this.p.baseAnonBytes));
      return kill;
    }
    this.progressS += (dtMs / 1000) * (1 - this.full);
    return null;
  }

  private place(anonWant: number): void {
    const delta = anonWant - this.anonBytes;
    if (delta > 0) {
      // Movable allocations take the highest zone first: ZONE_MOVABLE while it has room.
      const movRoom = Math.max(0, this.pluggedMovable - this.anonMovable);
      const toMov = Math.min(delta, movRoom);
      this.anonMovable += toMov;
      // lowmem_reserve: movable allocations falling back to NORMAL leave it
      // managed(MOVABLE)/32 (lowmem_reserve_ratio) on top of the watermark, for the kernel.
      const normalRoom = Math.max(0, this.normalCapBytes - this.kernelDynBytes - this.minFree - this.pluggedMovable / 32 - this.anonNormal);
      this.anonNormal += Math.min(delta - toMov, normalRoom);
    } else if (delta < 0) {
      const total = this.anonBytes;
      const keep = total > 0 ? anonWant / total : 0;
      this.anonNormal *= keep;
      this.anonMovable *= keep;
    }
  }
}

