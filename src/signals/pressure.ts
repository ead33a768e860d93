/**
 * psi.pressure from PSI readings. In trigger modes every trigger is pressure; in polling
 * mode a stall rate over one interval at or above the threshold is; and a probe (reads the
 * daemon asks for while MemAvailable is below the floor its last stall taught, see
 * probeZone in src/policy/sizing.ts) is pressure at a lower stall rate, since there a
 * stall answers the question the probe asked: the working set did not shrink. The stall
 * rate is measured from `total` deltas (exact, unlike the decaying averages). A reading that
 * says the kernel was not short of memory as a whole (`globalShortage: false`) is no
 * pressure a bigger VM relieves: it only moves the baseline (see src/policy/reclaim.ts).
 */
import { filter, map, scan, throttleTime, type Observable, type SchedulerLike } from 'rxjs';
import type { PsiReading } from '../io/psi.ts';
import type { Pressure } from '../io/psi-parse.ts';
import type { PsiPressureEvent } from '../machines/events.ts';
import type { Severity } from '../policy/sizing.ts';

export interface PressureSignalConfig {
  psiPollThresholdPercent: number;
  psiProbeThresholdPercent: number;
  psiFullSeverityPercent: number;
  psiDebounceMs: number;
}

export interface StallRate {
  somePercent: number;
  fullPercent: number;
}

/**
 * Stall as percent of wall time between two reads. `minSpanUs` floors the span: after a
 * trigger the stall happened within one window, so a long quiet gap before it must not
 * dilute the rate, and a gap shorter than the window must not inflate it.
 */
export function stallRate(prev: { atMs: number; pressure: Pressure }, cur: { atMs: number; pressure: Pressure }, minSpanUs = 0): StallRate {
  const spanUs = Math.max((cur.atMs - prev.atMs) * 1000, minSpanUs, 1);
  const d = (a: number | undefined, b: number | undefined) => Math.max(0, (b ?? 0) - (a ?? 0));
  const pct = (us: number) => Math.min(100, (us / spanUs) * 100);
  return { somePercent: pct(d(prev.pressure.some.totalUs, cur.pressure.some.totalUs)), fullPercent: pct(d(prev.pressure.full?.totalUs, cur.pressure.full?.totalUs)) };
}

interface ScanState {
  mode: 'rtpoll' | 'avgs' | 'polling' | null;
  windowUs: number;
  thresholdUs: number;
  prev: { atMs: number; pressure: Pressure } | null;
  /** The last probe read: probes measure against each other, not against the rare samples. */
  probePrev: { atMs: number; pressure: Pressure } | null;
  out: PsiPressureEvent | null;
}

/** Probe reads further apart than this start afresh: a stall rate over a long gap is diluted. */
export const PROBE_MAX_SPAN_MS = 2000;

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function pressureEvents(psi$: Observable<PsiReading>, cfg: PressureSignalConfig, scheduler: SchedulerLike): Observable<PsiPressureEvent> {
  const severityOf = (r: StallRate): Severity => (r.fullPercent >= cfg.psiFullSeverityPercent && r.fullPercent > 0 ? 'full' : 'some');
  return psi$.pipe(
    scan<PsiReading, ScanState>(
      (s, r) => {
        if (r.type === 'psi.mode') return { mode: r.mode, windowUs: r.windowUs ?? 0, thresholdUs: r.thresholdUs ?? 0, prev: null, probePrev: null, out: null };
        if (r.type === 'psi.error') return { ...s, out: null };
        if (r.type === 'psi.probe') {
          const cur = { atMs: r.atMs, pressure: r.pressure };
          const prev = s.probePrev && cur.atMs - s.probePrev.atMs <= PROBE_MAX_SPAN_MS ? s.probePrev : null;
          if (!prev || r.globalShortage === false) return { ...s, probePrev: cur, out: null };
          const rate = stallRate(prev, cur);
          const out: PsiPressureEvent | null =
            rate.somePercent >= cfg.psiProbeThresholdPercent ? { type: 'psi.pressure', severity: severityOf(rate), stallPercent: round2(rate.somePercent), atMs: r.atMs, via: 'probe' } : null;
          return { ...s, probePrev: cur, out };
        }
        if (r.globalShortage === false) return { ...s, prev: r.pressure ? { atMs: r.atMs, pressure: r.pressure } : s.prev, out: null };
        if (r.type === 'psi.trigger') {
          // The trigger itself guarantees threshold/window; the read after it tells how bad.
          const floor = s.windowUs > 0 ? (s.thresholdUs / s.windowUs) * 100 : 0;
          if (!r.pressure) return { ...s, out: { type: 'psi.pressure', severity: 'some', stallPercent: round2(floor), atMs: r.atMs, via: 'trigger' } };
          const rate = s.prev ? stallRate(s.prev, { atMs: r.atMs, pressure: r.pressure }, s.windowUs) : { somePercent: floor, fullPercent: 0 };
          return {
            ...s,
            prev: { atMs: r.atMs, pressure: r.pressure },
            out: { type: 'psi.pressure', severity: severityOf(rate), stallPercent: round2(Math.max(floor, rate.somePercent)), atMs: r.atMs, via: 'trigger' },
          };
        }
        const cur = { atMs: r.atMs, pressure: r.pressure };
        if (s.mode !== 'polling' || !s.prev) return { ...s, prev: cur, out: null };
        const rate = stallRate(s.prev, cur);
        const out: PsiPressureEvent | null =
          rate.somePercent >= cfg.psiPollThresholdPercent ? { type: 'psi.pressure', severity: severityOf(rate), stallPercent: round2(rate.somePercent), atMs: r.atMs, via: 'poll' } : null;
        return { ...s, prev: cur, out };
      },
      { mode: null, windowUs: 0, thresholdUs: 0, prev: null, probePrev: null, out: null },
    ),
    map((s) => s.out),
    filter((e): e is PsiPressureEvent => e !== null),
    // A flapping trigger (or a stall rate hovering at the threshold) yields one event per
    // debounce interval; the machine's own cooldowns do the rest.
    throttleTime(cfg.psiDebounceMs, scheduler, { leading: true, trailing: false }),
  );
}
