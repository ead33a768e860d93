/**
 * The guest's composition root, minus the choice of drivers: everything it touches comes
 * in as a parameter (sources, host link, XState clock, RxJS scheduler, logger), so the
 * daemon (src/daemon/guest.ts) passes real files and timers and the simulator passes
 * simulated ones and virtual time. Nothing here reads the real clock or a real file.
 *
 * It creates the resize actor, feeds it the signal pipelines and the host link's events,
 * measures grow latency (-> grow.measured, and into headroom.low's lead time) and ack
 * roundtrips (-> ack.measured, the adaptive ack timeout), drives
 * fast meminfo sampling (after PSI pressure, while MemAvailable falls, when memory
 * blocks change) and logs what the machine does not consume (psi.mode, psi.lost, read
 * errors, rate-limited). The caller closes the link after stop().
 */
import { createActor, type Actor } from 'xstate';
import { distinctUntilChanged, EMPTY, filter, from, isObservable, map, Subject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { GuestConfig } from '../config/schema.ts';
import { makeResizerEffects } from '../io/effects.ts';
import type { HostEvent, HostLink } from '../io/host-link.ts';
import type { Logger } from '../io/log.ts';
import type { MeminfoReading } from '../io/meminfo.ts';
import type { MemoryBlocksSnapshot } from '../io/memory-blocks.ts';
import type { PsiReading } from '../io/psi.ts';
import { makeTransitionTracer, type TransitionTracerOptions } from '../io/transition-trace.ts';
import { resizerMachine } from '../machines/resizer.ts';
import type { ResizeRequest, ResizerEvent } from '../machines/events.ts';
import { isResizerEvent, makeSignals, type PsiLostNotice, type SignalNotice, type TrendSample } from '../signals/index.ts';
import { makeGrowMeter } from './grow-meter.ts';
import { makeAckMeter } from './ack-meter.ts';
import { project } from '../signals/headroom.ts';
import { inProbeZone, stallFloorBytes } from '../policy/sizing.ts';

/** XState's clock interface (SimulatedClock implements it; real timers by default). */
export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

export interface WireDeps {
  /** A PSI stream, or a factory that gets the probe stream (true while MemAvailable is in the probe zone). */
  psi$: Observable<PsiReading | PsiLostNotice> | ((probe$: Observable<boolean>) => Observable<PsiReading | PsiLostNotice>);
  /** A meminfo stream, or a factory that gets the fast-sampling hint stream. */
  meminfo$: Observable<MeminfoReading> | ((fast$: Observable<void>) => Observable<MeminfoReading>);
  /** Memory block snapshots (emitted on change), or a factory that gets a rescan hint (MemTotal moved); optional. */
  blocks$?: Observable<MemoryBlocksSnapshot> | ((rescan$: Observable<void>) => Observable<MemoryBlocksSnapshot>);
  /** Called with each blocks snapshot (the daemon onlines blocks here). */
  onBlocks?: (snap: MemoryBlocksSnapshot) => void;
  link: HostLink;
  clock: Clock;
  scheduler: SchedulerLike;
  log: Logger;
  config: GuestConfig;
  idPrefix: string;
  /**
   * Plugged bytes at start (0 at boot); see src/signals/observed.ts. Undefined when the
   * guest cannot measure it: then the host's welcome is taken as the starting point, both by
   * the machine and by the mem.observed baseline (never a guess of 0, which would make the
   * first grow target fall below what is plugged).
   */
  initialPluggedBytes?: number;
  tracer?: TransitionTracerOptions;
}

export type ResizerActor = Actor<typeof resizerMachine>;

export interface WireHandle {
  actor: ResizerActor;
  stop(): void;
}

/** Logs a repeating problem once per `everyMs`, then says how many were suppressed (lmkd's pattern). */
function rateLimited(log: Logger, scheduler: SchedulerLike, everyMs: number) {
  const last = new Map<string, { atMs: number; suppressed: number }>();
  return (key: string, fields: Record<string, unknown>, msg: string) => {
    const now = scheduler.now();
    const s = last.get(key);
    if (s && now - s.atMs < everyMs) {
      s.suppressed++;
      return;
    }
    log.warn({ ...fields, suppressed: s?.suppressed ?? 0 }, msg);
    last.set(key, { atMs: now, suppressed: 0 });
  };
}

const WARN_EVERY_MS = 60_000;
/** Fast meminfo sampling starts when the projected time to the reserve is under this. */
const FAST_HORIZON_S = 30;

export function wireGuest(deps: WireDeps): WireHandle {
  const { config, scheduler, log } = deps;
  const slog = log.child({ component: 'signals' });
  const warn = rateLimited(slog, scheduler, WARN_EVERY_MS);
  const fast = new Subject<void>();
  const probe = new Subject<boolean>();
  const rescan = new Subject<void>();
  const growLatency = new Subject<number>();
  const meter = makeGrowMeter();
  const acks = makeAckMeter();

  // Requests and hellos pass through the meters on their way out: the send time is the start
  // of a grow, and of a roundtrip.
  const link: HostLink = {
    events$: deps.link.events$,
    sendHello: (p) => {
      acks.helloSent(scheduler.now());
      deps.link.sendHello(p);
    },
    sendResize: (req: ResizeRequest) => {
      meter.sent(req, scheduler.now());
      acks.sent(req, scheduler.now());
      deps.link.sendResize(req);
    },
    replyReclaim: (r) => deps.link.replyReclaim(r),
    close: () => deps.link.close(),
  };

  const actor = createActor(resizerMachine.provide(makeResizerEffects(link, log)), {
    input: { config: { timing: config.timing, policy: config.policy }, idPrefix: deps.idPrefix, pluggedBytes: deps.initialPluggedBytes },
    clock: deps.clock,
    inspect: makeTransitionTracer(log, deps.tracer),
  });

  const meminfo$ = isObservable(deps.meminfo$) ? deps.meminfo$ : deps.meminfo$(fast.asObservable());
  const psi$ = isObservable(deps.psi$) ? deps.psi$ : deps.psi$(probe.asObservable());
  const initialPlugged =
    deps.initialPluggedBytes ??
    deps.link.events$.pipe(
      filter((e): e is Extract<HostEvent, { type: 'host.welcome' }> => e.type === 'host.welcome'),
      map((e) => e.pluggedBytes),
    );
  // The stall floor the machine learns from PSI goes back into headroom.low's projection.
  const learnedStall$ = from(actor).pipe(
    map((s) => s.context.learnedStall),
    distinctUntilChanged(),
  );
  const signals$ = makeSignals(
    { psi$, meminfo$, growLatencyMs$: growLatency.asObservable(), initialPluggedBytes: initialPlugged, learnedStall$ },
    config,
    scheduler,
  );

  const send = (e: ResizerEvent) => {
    actor.send(e);
    if (e.type === 'mem.observed') rescan.next();
    const latency = meter.observed(e, scheduler.now());
    if (latency !== null) {
      growLatency.next(latency);
      actor.send({ type: 'grow.measured', latencyMs: latency });
    }
  };

  const onNotice = (n: SignalNotice) => {
    switch (n.type) {
      case 'psi.mode':
        slog.info({ mode: n.mode, reason: n.reason, file: n.file, windowUs: n.windowUs, thresholdUs: n.thresholdUs }, 'psi mode');
        return;
      case 'psi.lost':
        slog.warn({ reason: n.reason, fallback: n.fallback }, 'psi lost');
        return;
      case 'psi.error':
        warn('psi.error', { err: n.message }, 'psi read failed');
        return;
      case 'psi.discounted':
        warn('psi.discounted', { atMs: n.atMs }, 'psi trigger not answered: memory is free above the watermarks, so a cgroup limit or compaction stalled, not the VM');
        return;
      case 'meminfo.error':
        warn(`meminfo.${n.code}`, { code: n.code, err: n.message }, 'meminfo read failed');
        return;
    }
  };

  const nearReserve = (s: TrendSample) => {
    const p = project(s, config.policy, stallFloorBytes(s, config.policy, actor.getSnapshot().context.learnedStall, s.atMs));
    return p.consumeBps >= config.signals.headroomMinConsumeBps && p.secondsToReserve <= FAST_HORIZON_S;
  };

  const subs: Subscription[] = [];
  actor.start();
  subs.push(
    signals$.subscribe({
      next: (o) => {
        if (isResizerEvent(o)) {
          if (o.type === 'psi.pressure') fast.next();
          send(o);
        } else if (o.type === 'meminfo.trend') {
          // Sample faster while MemAvailable falls towards the reserve: the trend is what
          // headroom.low projects. Only when the reserve is near: on a big, busy VM memory
          // always falls somewhere, and sampling fast for nothing costs CPU.
          if (nearReserve(o.sample)) fast.next();
          // Below the floor the last stall taught, a stall is likely and small ones count:
          // PSI is read often there (the source drops repeats).
          probe.next(inProbeZone(o.sample.memAvailableBytes, actor.getSnapshot().context.learnedStall));
        } else onNotice(o);
      },
      error: (err: unknown) => slog.error({ err }, 'signal pipeline failed'),
    }),
  );
  subs.push(
    (deps.blocks$ === undefined ? EMPTY : isObservable(deps.blocks$) ? deps.blocks$ : deps.blocks$(rescan.asObservable())).subscribe({
      next: (snap) => {
        deps.onBlocks?.(snap);
        // Memory came or went: re-read MemTotal now rather than at the next tick.
        fast.next();
      },
      error: (err: unknown) => slog.error({ err }, 'memory blocks source failed'),
    }),
  );
  subs.push(
    deps.link.events$.subscribe({
      next: (e) => {
        meter.host(e);
        const rtt = acks.host(e, scheduler.now());
        send(e);
        if (rtt !== null) actor.send({ type: 'ack.measured', rttMs: rtt });
      },
      error: (err: unknown) => {
        log.error({ component: 'link', err }, 'host link failed');
        actor.send({ type: 'host.disconnected', reason: err instanceof Error ? err.message : String(err) });
      },
    }),
  );

  return {
    actor,
    stop() {
      for (const s of subs) s.unsubscribe();
      fast.complete();
      probe.complete();
      rescan.complete();
      growLatency.complete();
      actor.stop();
    },
  };
}
