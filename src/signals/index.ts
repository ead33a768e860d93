/**
 * The signal pipelines put together: PSI readings and meminfo readings in, the machine's
 * events out (psi.pressure, headroom.low, psi.relaxed, meminfo.sample, mem.observed),
 * plus notices for the log (psi.mode, psi.lost, read errors) that the machine does not
 * consume. Pure functions of their input streams and a scheduler.
 */
import { catchError, concat, filter, map, merge, Observable, of, share, Subject, type SchedulerLike } from 'rxjs';
import type { MeminfoReading } from '../io/meminfo.ts';
import type { PsiReading } from '../io/psi.ts';
import type { SignalsConfig } from '../config/signals.ts';
import type { PolicyConfig } from '../config/schema.ts';
import type { LearnedStall } from '../policy/sizing.ts';
import type { MeminfoSampleEvent, ResizerEvent } from '../machines/events.ts';
import { headroomEvents } from './headroom.ts';
import { observedEvents } from './observed.ts';
import { pressureEvents } from './pressure.ts';
import { relaxedEvents } from './relaxed.ts';
import { withTrend, type TrendSample } from './trend.ts';

/** The PSI source ended (EPOLLERR: cgroup removed, or the file vanished). For the log, not the machine. */
export interface PsiLostNotice {
  type: 'psi.lost';
  reason: string;
  /** What replaces it: polling of a fallback source, or nothing. */
  fallback: 'polling' | 'none';
}

/** A PSI trigger that fired while the kernel had memory to spare (a cgroup's own limit): not answered. For the log. */
export interface PsiDiscountedNotice {
  type: 'psi.discounted';
  atMs: number;
}

export type SignalNotice =
  | PsiLostNotice
  | PsiDiscountedNotice
  | Extract<PsiReading, { type: 'psi.mode' | 'psi.error' }>
  | Extract<MeminfoReading, { type: 'meminfo.error' }>;

/**
 * On error, switches to `fallback` (once) and says so with a psi.lost notice; if the
 * fallback fails too, a second psi.lost and the PSI signal ends (meminfo signals go on).
 */
export function psiWithFallback(psi$: Observable<PsiReading>, fallback: (() => Observable<PsiReading>) | null): Observable<PsiReading | PsiLostNotice> {
  const lost = (err: unknown, fb: PsiLostNotice['fallback']): PsiLostNotice => ({ type: 'psi.lost', reason: err instanceof Error ? err.message : String(err), fallback: fb });
  return psi$.pipe(
    catchError((err: unknown) =>
      fallback
        ? concat(
            of(lost(err, 'polling')),
            fallback().pipe(catchError((err2: unknown) => of(lost(err2, 'none')))),
          )
        : of(lost(err, 'none')),
    ),
  );
}

export interface SignalInputs {
  psi$: Observable<PsiReading | PsiLostNotice>;
  meminfo$: Observable<MeminfoReading>;
  /** Measured grow latencies (request sent -> memory observed), ms. */
  growLatencyMs$: Observable<number>;
  /** Plugged bytes when the daemon started, or a stream of the host's word when the guest cannot tell (see observed.ts). */
  initialPluggedBytes: number | Observable<number>;
  /** The machine's learned stall floor (context.learnedStall), fed back for headroom.low. */
  learnedStall$?: Observable<LearnedStall | null>;
}

/** A trend-annotated meminfo sample, passed out for the composition root's fast sampling. */
export interface TrendNotice {
  type: 'meminfo.trend';
  sample: TrendSample;
}

export type SignalOutput = ResizerEvent | SignalNotice | TrendNotice;

const NOT_FOR_MACHINE = new Set<string>(['psi.lost', 'psi.discounted', 'psi.mode', 'psi.error', 'meminfo.error', 'meminfo.trend']);

export function isResizerEvent(o: SignalOutput): o is ResizerEvent {
  return !NOT_FOR_MACHINE.has(o.type);
}

/**
 * One subscription runs everything: the inputs are multicast through subjects that every
 * pipeline has subscribed to BEFORE the sources start, so the readings a source emits
 * synchronously at subscription (psi.mode, the baseline sample) reach every pipeline.
 */
export function makeSignals(inputs: SignalInputs, cfg: { signals: SignalsConfig; policy: PolicyConfig }, scheduler: SchedulerLike): Observable<SignalOutput> {
  return new Observable<SignalOutput>((sub) => {
    const all$ = new Subject<PsiReading | PsiLostNotice>();
    const mem$ = new Subject<MeminfoReading>();
    const psi$ = all$.pipe(filter((r): r is PsiReading => r.type !== 'psi.lost'));
    const samples$ = mem$.pipe(withTrend(cfg.signals.trendWindowMs), share());
    const pressure$ = pressureEvents(psi$, cfg.signals, scheduler).pipe(share());
    const pressureAt$ = pressure$.pipe(map(() => scheduler.now()));
    const sampleEvents$ = samples$.pipe(
      map((s): MeminfoSampleEvent => ({ type: 'meminfo.sample', atMs: s.atMs, memTotalBytes: s.memTotalBytes, memAvailableBytes: s.memAvailableBytes, availableTrendBps: Math.round(s.availableTrendBps) })),
    );
    const out$: Observable<SignalOutput> = merge(
      all$.pipe(filter((r): r is Exclude<PsiReading | PsiLostNotice, { type: 'psi.trigger' | 'psi.sample' | 'psi.probe' }> => r.type === 'psi.lost' || r.type === 'psi.mode' || r.type === 'psi.error')),
      psi$.pipe(
        filter((r) => r.type === 'psi.trigger' && r.globalShortage === false),
        map((r): PsiDiscountedNotice => ({ type: 'psi.discounted', atMs: r.type === 'psi.trigger' ? r.atMs : 0 })),
      ),
      mem$.pipe(filter((r): r is Extract<MeminfoReading, { type: 'meminfo.error' }> => r.type === 'meminfo.error')),
      samples$.pipe(map((sample): TrendNotice => ({ type: 'meminfo.trend', sample }))),
      sampleEvents$,
      observedEvents(samples$, { initialPluggedBytes: inputs.initialPluggedBytes }),
      pressure$,
      headroomEvents(samples$, inputs.growLatencyMs$, cfg.signals, cfg.policy, inputs.learnedStall$),
      relaxedEvents(psi$, pressureAt$, samples$, cfg.signals, cfg.policy),
    );
    const subs = [out$.subscribe(sub)];
    subs.push(inputs.psi$.subscribe({ next: (r) => all$.next(r), error: (e: unknown) => sub.error(e) }));
    subs.push(inputs.meminfo$.subscribe({ next: (r) => mem$.next(r), error: (e: unknown) => sub.error(e) }));
    return () => {
      for (const s of subs) s.unsubscribe();
    };
  });
}

export type { TrendSample };
