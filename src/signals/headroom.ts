/**
 * headroom.low: the predictive signal. PSI fires late for fast anonymous growth (measured
 * here: with MemAvailable already down to 8-33 MB), so the daemon projects MemAvailable's
 * trend and asks for memory while a grow can still land: when the projected time to the
 * floor (the reserve, or the learned stall floor if higher) is shorter than the measured
 * grow latency plus a margin.
 *
 * Hysteresis: the signal goes "low" when secondsToReserve <= lead, and back to "ok" only
 * when it exceeds 1.5 x lead or consumption drops under half the noise floor. While low it
 * repeats at most every `headroomRepeatMs`, so a trend hovering at the edge cannot make
 * the machine oscillate, yet persistent consumption keeps being answered.
 */
import { combineLatestWith, filter, map, of, scan, startWith, withLatestFrom, type Observable } from 'rxjs';
import type { HeadroomLowEvent } from '../machines/events.ts';
import { reserveBytes, stallFloorBytes, type LearnedStall } from '../policy/sizing.ts';
import type { PolicyConfig } from '../config/schema.ts';
import type { TrendSample } from './trend.ts';

export interface HeadroomConfig {
  headroomMarginMs: number;
  headroomMinConsumeBps: number;
  headroomRepeatMs: number;
}

const EXIT_FACTOR = 1.5;

export interface Projection {
  consumeBps: number;
  /** Seconds until MemAvailable reaches the reserve at the current rate; 0 if already under it. Infinity when not falling. */
  secondsToReserve: number;
}

/** `floorBytes`: the MemAvailable to project to; the reserve by default (see stallFloorBytes). */
export function project(sample: TrendSample, policy: PolicyConfig, floorBytes = reserveBytes(sample.memTotalBytes, policy)): Projection {
  const consumeBps = Math.max(0, -sample.availableTrendBps);
  const above = sample.memAvailableBytes - floorBytes;
  if (consumeBps <= 0) return { consumeBps, secondsToReserve: Number.POSITIVE_INFINITY };
  return { consumeBps, secondsToReserve: Math.max(0, above / consumeBps) };
}

interface State {
  low: boolean;
  lastEmitMs: number;
  out: HeadroomLowEvent | null;
}

/**
 * `learnedStall$`: the machine's learned stall floor (MemAvailable at the last PSI stall):
 * a workload whose re-read page cache is working set stalls above the reserve, so the
 * projection aims at the floor instead (sampled, not a trigger of evaluation).
 */
export function headroomEvents(
  samples$: Observable<TrendSample>,
  growLatencyMs$: Observable<number>,
  cfg: HeadroomConfig,
  policy: PolicyConfig,
  learnedStall$: Observable<LearnedStall | null> = of(null),
): Observable<HeadroomLowEvent> {
  return samples$.pipe(
    combineLatestWith(growLatencyMs$.pipe(startWith(policy.growLatencyInitialMs))),
    withLatestFrom(learnedStall$.pipe(startWith<LearnedStall | null>(null))),
    scan<[[TrendSample, number], LearnedStall | null], State>(
      (s, [[sample, latencyMs], learned]) => {
        const p = project(sample, policy, stallFloorBytes(sample, policy, learned, sample.atMs));
        const leadS = (latencyMs + cfg.headroomMarginMs) / 1000;
        const consuming = p.consumeBps >= cfg.headroomMinConsumeBps;
        const enter = consuming && p.secondsToReserve <= leadS;
        const exit = p.consumeBps < cfg.headroomMinConsumeBps / 2 || p.secondsToReserve > leadS * EXIT_FACTOR;
        const low = s.low ? !exit : enter;
        if (!low || !consuming) return { low, lastEmitMs: s.lastEmitMs, out: null };
        const due = !s.low || sample.atMs - s.lastEmitMs >= cfg.headroomRepeatMs;
        if (!due) return { low, lastEmitMs: s.lastEmitMs, out: null };
        return {
          low,
          lastEmitMs: sample.atMs,
          out: {
            type: 'headroom.low',
            memAvailableBytes: sample.memAvailableBytes,
            secondsToReserve: Math.round(p.secondsToReserve * 1000) / 1000,
            consumeBps: Math.round(p.consumeBps),
          },
        };
      },
      { low: false, lastEmitMs: Number.NEGATIVE_INFINITY, out: null },
    ),
    map((s) => s.out),
    filter((e): e is HeadroomLowEvent => e !== null),
  );
}
