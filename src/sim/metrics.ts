/**
 * Per-run metrics (docs/simulator.md, "Metrics"), accumulated once per tick.
 * - footprint: integral of the VM's memory (boot + plugged), GiB-hours;
 * - oracle: the VM sized perfectly every instant: demand (anon + file working set) plus the
 *   kernel's reserve (static, slab, page tables, watermarks) plus memmap, aligned to the
 *   device block, at least boot RAM and at most the VM's max;
 * - stall: seconds of PSI some/full, and as % of wall time;
 * - grow latency: from pressure onset (the guest starts stalling) to capacity in place (the
 *   stall ends with more memory than at its onset); episodes that end because demand fell
 *   or with an OOM kill are not latencies;
 * - direction changes: the device's requested size switching between growing and shrinking.
 */
import { alignUp } from '../policy/align.ts';
import { GiB } from '../config/units.ts';
import { minFreeBytes, type GuestModel } from './guest.ts';
import type { HostCounters } from './host.ts';

export interface RunMetrics {
  hours: number;
  footprintGiBh: number;
  oracleGiBh: number;
  footprintOverOracle: number;
  stallSomeS: number;
  stallFullS: number;
  stallSomePercent: number;
  stallFullPercent: number;
  oomKills: number;
  /** The VM's max can hold the demand at every instant (an OOM is then the policy's fault). */
  maxHoldsDemand: boolean;
  requests: HostCounters;
  growLatencyP50Ms: number | null;
  growLatencyP99Ms: number | null;
  growEpisodes: number;
  directionChangesPerHour: number;
}

export function oracleVmBytes(g: GuestModel, maxVmBytes: number, blockBytes: number): { bytes: number; unclamped: number } {
  const p = g.p;
  const anon = g.demand.anonBytes;
  const need = anon + g.demand.fileBytes + p.kernelStaticBytes + p.slabBytes + anon * p.pageTableShare + 2 * minFreeBytes(p.bootBytes);
  const size = alignUp(need / (1 - p.memmapShare), blockBytes);
  return { bytes: Math.min(maxVmBytes, Math.max(p.bootBytes, size)), unclamped: size };
}

export class MetricsRecorder {
  private footprint = 0;
  private oracle = 0;
  private some = 0;
  private full = 0;
  private elapsedMs = 0;
  private holds = true;
  /** The oracle's VM size at the last tick (a fleet compares it with the VM's share). */
  lastOracleBytes = 0;
  private episode: { startMs: number; capacity: number; kills: number } | null = null;
  private latencies: number[] = [];
  private lastDir = 0;
  private lastRequested = 0;
  private changes = 0;

  constructor(
    private readonly guest: GuestModel,
    private readonly maxVmBytes: number,
    private readonly blockBytes: number,
  ) {}

  tick(nowMs: number, dtMs: number, requestedBytes: number): void {
    const g = this.guest;
    const vm = g.p.bootBytes + g.pluggedBytes;
    const o = oracleVmBytes(g, this.maxVmBytes, this.blockBytes);
    if (o.unclamped > this.maxVmBytes) this.holds = false;
    this.lastOracleBytes = o.bytes;
    const h = dtMs / 3_600_000;
    this.footprint += (vm / GiB) * h;
    this.oracle += (o.bytes / GiB) * h;
    this.some += (g.some * dtMs) / 1000;
    this.full += (g.full * dtMs) / 1000;
    this.elapsedMs += dtMs;

    // Capacity is the memory plugged, not the usable memory: usable also moves with the
    // workload's page tables, and an episode that ends because demand fell must not count
    // as a grow (it did, up to 2026-11-27, whenever anon fell a little: steady seed 9's 2.9 s).
    if (g.deficit > 0 && !this.episode) this.episode = { startMs: nowMs, capacity: g.pluggedBytes, kills: g.kills.length };
    else if (g.deficit === 0 && this.episode) {
      if (g.pluggedBytes > this.episode.capacity && g.kills.length === this.episode.kills) this.latencies.push(nowMs - this.episode.startMs);
      this.episode = null;
    }

    if (requestedBytes !== this.lastRequested) {
      const dir = Math.sign(requestedBytes - this.lastRequested);
      if (this.lastDir !== 0 && dir !== this.lastDir) this.changes++;
      this.lastDir = dir;
      this.lastRequested = requestedBytes;
    }
  }

  result(requests: HostCounters): RunMetrics {
    const hours = this.elapsedMs / 3_600_000;
    const wallS = this.elapsedMs / 1000;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : null);
    return {
      hours,
      footprintGiBh: this.footprint,
      oracleGiBh: this.oracle,
      footprintOverOracle: this.oracle > 0 ? this.footprint / this.oracle : 0,
      stallSomeS: this.some,
      stallFullS: this.full,
      stallSomePercent: wallS > 0 ? (this.some / wallS) * 100 : 0,
      stallFullPercent: wallS > 0 ? (this.full / wallS) * 100 : 0,
      oomKills: this.guest.kills.length,
      maxHoldsDemand: this.holds,
      requests: { ...requests },
      growLatencyP50Ms: q(0.5),
      growLatencyP99Ms: q(0.99),
      growEpisodes: sorted.length,
      directionChangesPerHour: hours > 0 ? this.changes / hours : 0,
    };
  }
}
