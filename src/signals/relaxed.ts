/**
 * psi.relaxed: "demand is gone", the only trigger of a guest-initiated shrink. All of:
 * `some` avg10 and avg60 under their low-water marks (the decaying averages, read rarely),
 * no pressure event for `relaxedHoldMs`, and MemAvailable above the reserve plus one grow
 * step (the band shrinkTargetBytes keeps, so a shrink is not undone by the next small
 * allocation). While relaxed it repeats at most once per check interval; the machine's
 * cooldowns make it a shrink then a cooldown, not a stream of requests.
 */
import { filter, map, merge, scan, type Observable } from 'rxjs';
import type { PsiReading } from '../io/psi.ts';
import type { PsiRelaxedEvent } from '../machines/events.ts';
import type { PolicyConfig } from '../config/schema.ts';
import { reserveBytes } from '../policy/sizing.ts';
import type { TrendSample } from './trend.ts';

export interface RelaxedConfig {
  relaxedAvg10Percent: number;
  relaxedAvg60Percent: number;
  relaxedHoldMs: number;
  relaxedCheckIntervalMs: number;
}

type In = { k: 'psi'; r: PsiReading } | { k: 'pressure'; atMs: number } | { k: 'mem'; s: TrendSample };

interface State {
  /** Hold starts at the first reading: no shrink in the first hold time after start. */
  quietSinceMs: number | null;
  avgOk: boolean;
  mem: TrendSample | null;
  lastEmitMs: number;
  out: PsiRelaxedEvent | null;
}

export function relaxedEvents(
  psi$: Observable<PsiReading>,
  pressureAtMs$: Observable<number>,
  samples$: Observable<TrendSample>,
  cfg: RelaxedConfig,
  policy: PolicyConfig,
): Observable<PsiRelaxedEvent> {
  const in$: Observable<In> = merge(
    psi$.pipe(map((r): In => ({ k: 'psi', r }))),
    pressureAtMs$.pipe(map((atMs): In => ({ k: 'pressure', atMs }))),
    samples$.pipe(map((s): In => ({ k: 'mem', s }))),
  );
  return in$.pipe(
    scan<In, State>(
      (s, x) => {
        const next: State = { ...s, out: null };
        if (x.k === 'pressure') {
          next.quietSinceMs = x.atMs;
          return next;
        }
        if (x.k === 'mem') {
          next.mem = x.s;
          next.quietSinceMs ??= x.s.atMs;
          return next;
        }
        const r = x.r;
        if (r.type === 'psi.trigger') {
          next.quietSinceMs = r.atMs;
          next.avgOk = false;
          return next;
        }
        if (r.type !== 'psi.sample') return next;
        next.quietSinceMs ??= r.atMs;
        next.avgOk = r.pressure.some.avg10 < cfg.relaxedAvg10Percent && r.pressure.some.avg60 < cfg.relaxedAvg60Percent;
        // Decided on PSI samples only: they are the slow tick of this check.
        const held = r.atMs - next.quietSinceMs >= cfg.relaxedHoldMs;
        const mem = next.mem;
        const roomy = mem !== null && mem.memAvailableBytes > reserveBytes(mem.memTotalBytes, policy) + policy.growStepMinBytes;
        // At most once per check interval (polling mode reads PSI every second). Not once per
        // hold time: the machine ignores it while a shrink would give nothing (a ramp), and a
        // longer silence would then delay the shrink when the demand really goes.
        const due = r.atMs - s.lastEmitMs >= cfg.relaxedCheckIntervalMs;
        if (next.avgOk && held && roomy && due) {
          next.out = { type: 'psi.relaxed' };
          next.lastEmitMs = r.atMs;
        }
        return next;
      },
      { quietSinceMs: null, avgOk: false, mem: null, lastEmitMs: Number.NEGATIVE_INFINITY, out: null },
    ),
    map((s) => s.out),
    filter((e): e is PsiRelaxedEvent => e !== null),
  );
}
