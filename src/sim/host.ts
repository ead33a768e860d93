/**
 * The simulated host side of one VM: the REAL host agent (src/host/agent.ts,
 * `createHostAgent`: grant decisions, idempotent retries, rate limits) behind a message
 * link with latency, drops and late delivery, in front of the simulated virtio-mem device.
 * The guest side is the HostLink interface (src/io/host-link.ts), mapped to and from wire
 * messages by the real protocol client's functions (`resizeMessage`, `toHostEvent`), so
 * the daemon talks to it exactly as to a real transport; only the byte layer is skipped
 * (the agent's `session.handle` takes decoded messages).
 *
 * Host contention is a neighbour VM on the same agent whose holdings take the budget:
 * the agent's own fair-share rule then produces the partial grants and budget denials.
 */
import { Subject } from 'rxjs';
import { HostConfigSchema } from '../config/host.ts';
import type { DeviceState, ResizeAdapter, ResizeResult } from '../host/adapter.ts';
import { createHostAgent } from '../host/agent.ts';
import type { HostLink, HostEvent } from '../io/host-link.ts';
import type { Logger } from '../io/log.ts';
import { resizeMessage, toHostEvent } from '../io/protocol-link.ts';
import type { GuestMessage } from '../protocol/messages.ts';
import { PROTOCOL_VERSIONS } from '../protocol/messages.ts';
import type { VirtualClock } from './clock.ts';
import type { SimDevice } from './device.ts';
import type { Rng } from './rng.ts';

export interface LinkFaults {
  /** Share of messages (either direction) lost. */
  dropProb: number;
  /** Share of messages delivered late... */
  lateProb: number;
  /** ...by this much extra. */
  lateMs: number;
}

export interface HostParams {
  /** One-way message latency: log-normal with this median and log-space sigma. */
  latencyMedianMs: number;
  latencySigma: number;
  minBytes: number;
  maxBytes: number;
  maxStepBytes: number;
  /** Device bytes the host could lend this VM at time t: the rest is held by a neighbour. */
  budgetAt: (tS: number) => number;
  /** Link faults at time t. */
  faultsAt: (tS: number) => LinkFaults;
  /** Sustained requests per second before `busy` (the agent's rate limit) and burst. */
  requestsPerSec: number;
  burst: number;
}

export interface HostCounters {
  /** Requests the agent decided on (first sends and retries answered from cache are not counted twice). */
  requests: number;
  sends: number;
  granted: number;
  partial: number;
  denied: number;
  busy: number;
  dropped: number;
  late: number;
  unplugComplete: number;
  unplugPartial: number;
  unplugFailed: number;
}

export function emptyCounters(): HostCounters {
  return { requests: 0, sends: 0, granted: 0, partial: 0, denied: 0, busy: 0, dropped: 0, late: 0, unplugComplete: 0, unplugPartial: 0, unplugFailed: 0 };
}

export interface SimHost {
  link: HostLink;
  counters: HostCounters;
  /** Starts the connection: the guest sees host.connected. */
  connect(): void;
  /** Called every tick: moves the neighbour's holdings; true while promises await a drain. */
  tick(nowMs: number): void;
  /** Promise callbacks of the agent are pending: the run loop must let microtasks run. */
  readonly needsDrain: boolean;
  clearDrain(): void;
}

const VM = 'vm';
const NEIGHBOUR = 'neighbour';

export function makeSimHost(clock: VirtualClock, rng: Rng, p: HostParams, device: SimDevice, log: Logger): SimHost {
  const events$ = new Subject<HostEvent>();
  const counters = emptyCounters();
  let needsDrain = false;
  const block = device.p.blockBytes;
  // The neighbour's share must not cap this VM when there is no contention: give the
  // agent twice this VM's max as budget and let the neighbour hold what is not lent.
  const budget = 2 * Math.max(p.maxBytes, block);
  const neighbourHolds = (tS: number) => Math.max(0, budget - Math.min(budget, p.budgetAt(tS)));

  const listeners: ((s: DeviceState | null) => void)[] = [];
  const vmState = (): DeviceState => ({ requestedBytes: device.requestedBytes, pluggedBytes: device.pluggedBytes, blockBytes: block, maxBytes: device.p.maxBytes });
  const vmAdapter: ResizeAdapter = {
    kind: 'sim',
    start: async () => {},
    state: vmState,
    onChange: (fn) => listeners.push(fn),
    resize(target: number): Promise<ResizeResult> {
      const shrinking = target < device.pluggedBytes;
      return new Promise((resolve) =>
        device.resize(clock.now(), target, (r) => {
          if (shrinking && !r.superseded) {
            if (r.status === 'complete') counters.unplugComplete++;
            else if (r.status === 'partial') counters.unplugPartial++;
            else counters.unplugFailed++;
          }
          needsDrain = true;
          resolve(r);
          for (const fn of listeners) fn(vmState());
        }),
      );
    },
    close: async () => {},
  };
  let held = neighbourHolds(0);
  const nListeners: ((s: DeviceState | null) => void)[] = [];
  const nState = (): DeviceState => ({ requestedBytes: held, pluggedBytes: held, blockBytes: block, maxBytes: budget });
  const neighbour: ResizeAdapter = {
    kind: 'sim-neighbour',
    start: async () => {},
    state: nState,
    onChange: (fn) => nListeners.push(fn),
    resize: async () => ({ status: 'failed', pluggedBytes: held, error: 'the neighbour is scripted' }),
    close: async () => {},
  };

  const config = HostConfigSchema.parse({
    budgetBytes: budget,
    metrics: { enabled: false },
    defaults: { requestsPerSec: p.requestsPerSec, burst: p.burst, maxStepBytes: p.maxStepBytes },
    vms: [
      { name: VM, channel: { kind: 'unix-listen', path: '/sim/vm' }, adapter: { kind: 'fake' }, minBytes: p.minBytes, maxBytes: p.maxBytes },
      { name: NEIGHBOUR, channel: { kind: 'unix-listen', path: '/sim/neighbour' }, adapter: { kind: 'fake' }, maxBytes: budget },
    ],
  });
  const agent = createHostAgent({
    config,
    adapters: { [VM]: vmAdapter, [NEIGHBOUR]: neighbour },
    log,
    clock,
    metrics: {
      request: (vm, outcome) => {
        if (vm !== VM) return;
        counters.requests++;
        if (outcome === 'granted' || outcome === 'partial' || outcome === 'denied' || outcome === 'busy') counters[outcome]++;
      },
      grantLatency: () => {},
      protocolError: () => {},
      disconnect: () => {},
      vmSizes: () => {},
      budget: () => {},
      reclaim: () => {},
    },
  });

  /** Delivers fn after one hop, or never (dropped), or late. */
  const hop = (fn: () => void) => {
    const f = p.faultsAt(clock.now() / 1000);
    if (rng.chance(f.dropProb)) {
      counters.dropped++;
      return;
    }
    let ms = rng.lognormal(p.latencyMedianMs, p.latencySigma);
    if (rng.chance(f.lateProb)) {
      counters.late++;
      ms += f.lateMs;
    }
    clock.setTimeout(fn, ms);
  };

  let session: ReturnType<typeof agent.attach> | null = null;
  const toAgent = (msg: GuestMessage) => hop(() => session?.handle(msg));
  const link: HostLink = {
    events$: events$.asObservable(),
    sendHello: (idPrefix) => toAgent({ type: 'hello', versions: [...PROTOCOL_VERSIONS], idPrefix, software: 'memresize-sim' }),
    sendResize: (req) => {
      counters.sends++;
      toAgent(resizeMessage(req));
    },
    replyReclaim: (r) => toAgent({ type: 'reclaim-reply', id: r.id, accepted: r.accepted, bytes: r.bytes, ...(r.reason ? { reason: r.reason } : {}) }),
    close: async () => events$.complete(),
  };

  return {
    link,
    counters,
    connect: () =>
      clock.setTimeout(() => {
        session = agent.attach(VM, {
          send: (msg) => {
            const e = toHostEvent(msg);
            if (e) hop(() => events$.next(e));
          },
          close: (reason) => events$.next({ type: 'host.disconnected', reason }),
        });
        events$.next({ type: 'host.connected' });
      }, 0),
    tick(nowMs: number) {
      const h = neighbourHolds(nowMs / 1000);
      if (h !== held) {
        held = h;
        for (const fn of nListeners) fn(nState());
      }
    },
    get needsDrain() {
      return needsDrain;
    },
    clearDrain: () => {
      needsDrain = false;
    },
  };
}
