/**
 * The simulated host side: the REAL host agent (src/host/agent.ts, `createHostAgent`: grant
 * decisions, weighted shares, reclaim, idempotent retries, rate limits) behind one message
 * link per VM with latency, drops and late delivery, in front of each VM's simulated
 * virtio-mem device. The guest side is the HostLink interface (src/io/host-link.ts), mapped
 * to and from wire messages by the real protocol client's functions (`resizeMessage`,
 * `toHostEvent`), so a daemon talks to it exactly as to a real transport; only the byte
 * layer is skipped (the agent's `session.handle` takes decoded messages).
 *
 * One VM (`makeSimHost`): host contention is a scripted neighbour on the same agent whose
 * holdings take the budget; the agent's own fair-share rule then produces the partial grants
 * and budget denials. A fleet (`makeSimAgent` with several VMs, src/sim/fleet.ts): the
 * neighbours are real simulated VMs with their own daemons.
 */
import { Subject } from 'rxjs';
import { HostConfigSchema } from '../config/host.ts';
import type { DeviceState, ResizeAdapter, ResizeResult } from '../host/adapter.ts';
import { createHostAgent, type HostAgent } from '../host/agent.ts';
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
  /** Device bytes the host could lend this VM at time t: the rest is held by a neighbour (one-VM runs). */
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
  /** Reclaims the agent asked of this VM, and the guest's replies. */
  reclaimAsked: number;
  reclaimAccepted: number;
  /** Budget freed and offered to this VM after a refusal (`available`). */
  available: number;
}

export function emptyCounters(): HostCounters {
  return { requests: 0, sends: 0, granted: 0, partial: 0, denied: 0, busy: 0, dropped: 0, late: 0, unplugComplete: 0, unplugPartial: 0, unplugFailed: 0, reclaimAsked: 0, reclaimAccepted: 0, available: 0 };
}

/** One VM's side of the host: what its policy talks to. */
export interface SimHost {
  link: HostLink;
  counters: HostCounters;
  /** Starts the connection: the guest sees host.connected. */
  connect(): void;
}

/** The agent and its links, advanced by the run loop. */
export interface SimAgent {
  agent: HostAgent;
  hosts: ReadonlyMap<string, SimHost>;
  /** Called every tick: moves scripted holdings. */
  tick(nowMs: number): void;
  /** Promise callbacks of the agent are pending: the run loop must let microtasks run. */
  readonly needsDrain: boolean;
  clearDrain(): void;
}

/** A VM with a device and a daemon behind a link. */
export interface SimVmHost {
  name: string;
  params: HostParams;
  device: SimDevice;
  /** Draws of this VM's link (drops, latency). */
  rng: Rng;
  weight?: number;
}

/** A VM without a guest daemon whose holdings follow a script (a one-VM run's contention). */
export interface ScriptedVm {
  name: string;
  holdsAt: (tS: number) => number;
  maxBytes: number;
  blockBytes: number;
}

export interface SimAgentOptions {
  budgetBytes: number;
  vms: readonly SimVmHost[];
  scripted?: readonly ScriptedVm[];
  reclaimOnContention?: boolean;
}

export function makeSimAgent(clock: VirtualClock, opts: SimAgentOptions, log: Logger): SimAgent {
  let needsDrain = false;
  const counters = new Map(opts.vms.map((v) => [v.name, emptyCounters()]));
  const adapters: Record<string, ResizeAdapter> = {};
  for (const v of opts.vms) adapters[v.name] = deviceAdapter(clock, v.device, counters.get(v.name)!, () => (needsDrain = true));
  const scripted = (opts.scripted ?? []).map((s) => scriptedAdapter(s));
  for (const s of scripted) adapters[s.vm.name] = s.adapter;

  const config = HostConfigSchema.parse({
    budgetBytes: opts.budgetBytes,
    metrics: { enabled: false },
    defaults: { reclaimOnContention: opts.reclaimOnContention ?? true },
    vms: [
      ...opts.vms.map((v) => ({
        name: v.name,
        channel: { kind: 'unix-listen', path: `/sim/${v.name}` },
        adapter: { kind: 'fake' },
        minBytes: v.params.minBytes,
        maxBytes: v.params.maxBytes,
        weight: v.weight ?? 1,
        requestsPerSec: v.params.requestsPerSec,
        burst: v.params.burst,
        maxStepBytes: v.params.maxStepBytes,
      })),
      ...scripted.map((s) => ({ name: s.vm.name, channel: { kind: 'unix-listen', path: `/sim/${s.vm.name}` }, adapter: { kind: 'fake' }, maxBytes: s.vm.maxBytes })),
    ],
  });
  const count = (vm: string) => counters.get(vm);
  const agent = createHostAgent({
    config,
    adapters,
    log,
    clock,
    metrics: {
      request: (vm, outcome) => {
        const c = count(vm);
        if (!c) return;
        c.requests++;
        if (outcome === 'granted' || outcome === 'partial' || outcome === 'denied' || outcome === 'busy') c[outcome]++;
      },
      grantLatency: () => {},
      protocolError: () => {},
      disconnect: () => {},
      vmSizes: () => {},
      budget: () => {},
      reclaim: (vm, outcome) => {
        const c = count(vm);
        if (c && outcome === 'asked') c.reclaimAsked++;
        if (c && outcome === 'accepted') c.reclaimAccepted++;
      },
      available: (vm) => {
        const c = count(vm);
        if (c) c.available++;
      },
    },
  });
  const hosts = new Map(opts.vms.map((v) => [v.name, linkTo(clock, agent, v, counters.get(v.name)!)]));
  return {
    agent,
    hosts,
    tick(nowMs) {
      for (const s of scripted) s.tick(nowMs / 1000);
    },
    get needsDrain() {
      return needsDrain;
    },
    clearDrain: () => {
      needsDrain = false;
    },
  };
}

/** One VM under a budget that only its scripted neighbour contends for (`budgetAt`). */
export function makeSimHost(clock: VirtualClock, rng: Rng, p: HostParams, device: SimDevice, log: Logger): { host: SimHost; agent: SimAgent } {
  const block = device.p.blockBytes;
  // The neighbour's share must not cap this VM when there is no contention: give the
  // agent twice this VM's max as budget and let the neighbour hold what is not lent.
  const budget = 2 * Math.max(p.maxBytes, block);
  const neighbour: ScriptedVm = { name: 'neighbour', holdsAt: (tS) => Math.max(0, budget - Math.min(budget, p.budgetAt(tS))), maxBytes: budget, blockBytes: block };
  const agent = makeSimAgent(clock, { budgetBytes: budget, vms: [{ name: 'vm', params: p, device, rng }], scripted: [neighbour] }, log);
  return { host: agent.hosts.get('vm')!, agent };
}

function deviceAdapter(clock: VirtualClock, device: SimDevice, counters: HostCounters, drain: () => void): ResizeAdapter {
  const listeners: ((s: DeviceState | null) => void)[] = [];
  const state = (): DeviceState => ({ requestedBytes: device.requestedBytes, pluggedBytes: device.pluggedBytes, blockBytes: device.p.blockBytes, maxBytes: device.p.maxBytes });
  return {
    kind: 'sim',
    start: async () => {},
    state,
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
          drain();
          resolve(r);
          for (const fn of listeners) fn(state());
        }),
      );
    },
    close: async () => {},
  };
}

function scriptedAdapter(vm: ScriptedVm): { vm: ScriptedVm; adapter: ResizeAdapter; tick(tS: number): void } {
  let held = vm.holdsAt(0);
  const listeners: ((s: DeviceState | null) => void)[] = [];
  const state = (): DeviceState => ({ requestedBytes: held, pluggedBytes: held, blockBytes: vm.blockBytes, maxBytes: vm.maxBytes });
  return {
    vm,
    adapter: {
      kind: 'sim-scripted',
      start: async () => {},
      state,
      onChange: (fn) => listeners.push(fn),
      resize: async () => ({ status: 'failed', pluggedBytes: held, error: 'the neighbour is scripted' }),
      close: async () => {},
    },
    tick(tS) {
      const h = vm.holdsAt(tS);
      if (h === held) return;
      held = h;
      for (const fn of listeners) fn(state());
    },
  };
}

/** The VM's link: each message one hop of log-normal latency, or lost, or late. */
function linkTo(clock: VirtualClock, agent: HostAgent, vm: SimVmHost, counters: HostCounters): SimHost {
  const events$ = new Subject<HostEvent>();
  const { rng, params: p } = vm;
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

  let session: ReturnType<HostAgent['attach']> | null = null;
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
        session = agent.attach(vm.name, {
          send: (msg) => {
            const e = toHostEvent(msg);
            if (e) hop(() => events$.next(e));
          },
          close: (reason) => events$.next({ type: 'host.disconnected', reason }),
        });
        events$.next({ type: 'host.connected' });
      }, 0),
  };
}
