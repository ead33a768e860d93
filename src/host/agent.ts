/**
 * The host agent's core: per-VM state, grant decisions, idempotent retries, rate limits and
 * flood handling. Transport-independent and time-injected: a channel (socket, test, the
 * simulator) attaches a session for a VM and feeds it bytes or decoded messages; replies go
 * to the sink it gave. The VM is whoever the channel belongs to; nothing in a message can
 * claim another VM's identity.
 */
import type { HostConfig, VmConfig } from '../config/host.ts';
import type { Logger } from '../io/log.ts';
import { alignDown, alignUp } from '../policy/align.ts';
import { realClock, type Clock } from '../protocol/clock.ts';
import { countError, decodeMessage, LineDecoder, newCounters, type ProtocolCounters } from '../protocol/codec.ts';
import { IdempotencyCache } from '../protocol/idempotency.ts';
import {
  AVAILABLE_SINCE_VERSION,
  GUEST_TYPES,
  GuestMessageSchema,
  negotiateVersion,
  PROTOCOL_VERSIONS,
  type Ack,
  type Done,
  type GuestMessage,
  type HostMessage,
  type Resize,
} from '../protocol/messages.ts';
import type { DeviceState, ResizeAdapter, ResizeResult } from './adapter.ts';
import { createBudgetOffers } from './budget-offers.ts';
import { decideGrant, shareOf, type GrantDecision } from './grant.ts';
import { entitledShortfall, planReclaim, type Borrower } from './reclaim-plan.ts';
import { TokenBucket, WindowCounter } from './rate.ts';

export interface AgentMetrics {
  request(vm: string, outcome: string): void;
  grantLatency(vm: string, status: string, seconds: number): void;
  protocolError(vm: string, code: string): void;
  disconnect(vm: string, reason: string): void;
  vmSizes(vm: string, sizes: { requested: number; plugged: number; min: number; max: number }): void;
  budget(budgetBytes: number, holdsBytes: number): void;
  /** A reclaim asked of a VM, and its reply: asked, accepted or refused. */
  reclaim(vm: string, outcome: 'asked' | 'accepted' | 'refused'): void;
  /** Budget freed and offered (`available`) to a VM refused for it. */
  available(vm: string): void;
}

export interface GuestSink {
  send(msg: HostMessage): void;
  /** Drop the connection (flood, version mismatch, replaced by a newer one). */
  close(reason: string): void;
}

export interface Session {
  readonly vm: string;
  readonly counters: ProtocolCounters;
  /** Raw bytes from the channel (framing, validation, flood checks). */
  receive(chunk: Buffer): void;
  /** An already decoded message (the simulator skips the byte layer). */
  handle(msg: GuestMessage): void;
  detach(reason?: string): void;
}

export interface VmStatus {
  name: string;
  connected: boolean;
  requestedBytes: number;
  pluggedBytes: number | null;
  holdsBytes: number;
  minBytes: number;
  maxBytes: number;
  available: boolean;
}

export interface HostAgent {
  attach(vm: string, sink: GuestSink): Session;
  status(): VmStatus[];
  /** Sum over VMs of max(requested, plugged): never above budgetBytes through a grant. */
  holdsBytes(): number;
  setLimits(vm: string, limits: { minBytes: number; maxBytes: number }): void;
  requestReclaim(vm: string, bytes: number): string | undefined;
  /**
   * A new host budget (SIGHUP). Lowered below what the VMs hold: the VMs above their new
   * shares are asked for the excess (`reclaim`, reason `budget`) and growth is refused until
   * they shrink. Raised: the VMs refused budget hear `available`.
   */
  setBudget(bytes: number): void;
  /** Deny new requests from now on (graceful stop); running resizes finish. */
  shutdown(): void;
  /** The budget in force. */
  readonly budgetBytes: number;
}

/** What the agent needs of a VM's config: channels and adapters are wired outside it. */
export type AgentVmConfig = Pick<VmConfig, 'name' | 'minBytes' | 'maxBytes' | 'weight' | 'maxStepBytes' | 'requestsPerSec' | 'burst'>;

export interface HostAgentDeps {
  /** A parsed HostConfig fits; a simulator can pass HostDefaultsSchema.parse({}) and bare VMs. */
  config: Pick<HostConfig, 'budgetBytes' | 'defaults'> & { vms: readonly AgentVmConfig[] };
  adapters: Record<string, ResizeAdapter>;
  log: Logger;
  clock?: Clock;
  metrics?: AgentMetrics;
}

interface Answer {
  ack: Ack;
  done?: Done;
}

/** Why the agent asked a VM for memory back (the `reason` of `reclaim asked`). */
type ReclaimReason = 'contention' | 'limits' | 'operator' | 'budget';

interface VmRuntime {
  cfg: AgentVmConfig;
  adapter: ResizeAdapter;
  minBytes: number;
  maxBytes: number;
  maxStepBytes: number;
  /** What the agent last set as the device's requested size. */
  requestedBytes: number;
  session: SessionImpl | null;
  answers: IdempotencyCache<Answer>;
  requests: TokenBucket;
  violations: WindowCounter;
  opSeq: number;
  reclaimSeq: number;
  /** When this VM was last asked to give back budget (the interval also covers an unanswered ask). */
  lastReclaimAtMs: number;
  /** The last ask's id and reason, to follow up a refused `limits` ask. */
  lastReclaim: { id: string; reason: ReclaimReason } | null;
  limitsRetry: unknown;
  /** Cached max(requested, plugged) and max(0, share - holds), kept in the running sums. */
  holds: number;
  protectedTerm: number;
  /** Cached max(0, holds - share): what it has borrowed (the reclaim scan is skipped at 0). */
  borrowedTerm: number;
}

interface SessionImpl extends Session {
  /** The protocol version settled at hello (1 until then). */
  version: number;
  helloDone: boolean;
  helloPending: boolean;
  sink: GuestSink;
  closed: boolean;
  guestErrors: number;
}

export function createHostAgent(deps: HostAgentDeps): HostAgent {
  const { config, adapters, metrics } = deps;
  const clock = deps.clock ?? realClock;
  const log = deps.log.child({ component: 'host-agent' });
  const d = config.defaults;
  let shuttingDown = false;
  let budget = config.budgetBytes;
  const vms = new Map<string, VmRuntime>();

  for (const cfg of config.vms) {
    const adapter = adapters[cfg.name];
    if (!adapter) throw new Error(`host agent: no adapter for VM ${cfg.name}`);
    const vm: VmRuntime = {
      cfg,
      adapter,
      minBytes: cfg.minBytes,
      maxBytes: cfg.maxBytes,
      maxStepBytes: cfg.maxStepBytes ?? d.maxStepBytes,
      requestedBytes: adapter.state()?.requestedBytes ?? 0,
      session: null,
      answers: new IdempotencyCache<Answer>(d.idempotencyCapacity),
      requests: new TokenBucket(cfg.requestsPerSec ?? d.requestsPerSec, cfg.burst ?? d.burst, clock),
      violations: new WindowCounter(d.floodWindowMs, clock),
      opSeq: 0,
      reclaimSeq: 0,
      lastReclaimAtMs: Number.NEGATIVE_INFINITY,
      lastReclaim: null,
      limitsRetry: undefined,
      holds: 0,
      protectedTerm: 0,
      borrowedTerm: 0,
    };
    vms.set(cfg.name, vm);
    let wasUp = adapter.state() !== null;
    adapter.onChange((state) => {
      // A hypervisor that (re)appears is the truth about the device: adopt its requested size.
      if (state && !wasUp) vm.requestedBytes = state.requestedBytes;
      wasUp = state !== null;
      if (state && vm.session?.helloPending) welcome(vm, vm.session, state);
      refreshHolds(vm);
      publish(vm);
    });
  }
  const totalWeight = config.vms.reduce((sum, v) => sum + v.weight, 0);
  /** VMs refused budget for a grow, told (`available`) when budget frees for them (protocol 2). */
  const offers = createBudgetOffers<VmRuntime, GrantDecision>({
    clock,
    delayMs: d.availableDelayMs,
    intervalMs: d.availableIntervalMs,
    grantable(vm, askedBytes) {
      const s = vm.session;
      const dev = vm.adapter.state();
      if (!s?.helloDone || s.version < AVAILABLE_SINCE_VERSION || !dev) return 'forget';
      const { decision } = decide(vm, dev, 'grow', askedBytes);
      return decision.outcome === 'denied' ? null : decision;
    },
    tell(vm, decision, askedBytes) {
      log.info({ vm: vm.cfg.name, bytes: decision.grantedBytes, asked: askedBytes, requested: vm.requestedBytes, rule: decision.rule }, 'budget available');
      metrics?.available(vm.cfg.name);
      if (vm.session) send(vm.session, { type: 'available', bytes: decision.grantedBytes });
    },
  });
  let budgetRetry: unknown;

  const holdsOf = (vm: VmRuntime): number => Math.max(vm.requestedBytes, vm.adapter.state()?.pluggedBytes ?? 0);
  const holdsBytes = (): number => [...vms.values()].reduce((s, v) => s + holdsOf(v), 0);

  /*
   * Running sums of every VM's holds and protected share, so a decision costs O(1) and not
   * O(VMs): with hundreds of VMs the per-request scan dominated the agent's CPU. A VM's
   * cached holds is refreshed when the agent grants and when its adapter reports; between
   * reports an unplug only lowers the real value, so the cache errs on the safe side. The
   * sums are rebuilt now and then so that float error in the shares cannot accumulate.
   */
  let sumHolds = 0;
  let sumProtected = 0;
  let sumBorrowed = 0;
  let refreshes = 0;
  function refreshHolds(vm: VmRuntime): void {
    const holds = holdsOf(vm);
    if (holds < vm.holds) offers.freed();
    const share = shareOf(vm.cfg.weight, vm.maxBytes, budget, totalWeight);
    const prot = Math.max(0, share - holds);
    const borrowed = Math.max(0, holds - share);
    sumHolds += holds - vm.holds;
    sumProtected += prot - vm.protectedTerm;
    sumBorrowed += borrowed - vm.borrowedTerm;
    vm.holds = holds;
    vm.protectedTerm = prot;
    vm.borrowedTerm = borrowed;
    if (++refreshes % 1024 === 0) {
      sumHolds = 0;
      sumProtected = 0;
      sumBorrowed = 0;
      for (const v of vms.values()) {
        sumHolds += v.holds;
        sumProtected += v.protectedTerm;
        sumBorrowed += v.borrowedTerm;
      }
    }
  }
  for (const vm of vms.values()) refreshHolds(vm);
  const boundsOf = (vm: VmRuntime, dev: DeviceState) => {
    const lo = alignUp(vm.minBytes, dev.blockBytes);
    return { lo, hi: Math.max(lo, alignDown(Math.min(vm.maxBytes, dev.maxBytes), dev.blockBytes)) };
  };

  function publish(vm: VmRuntime): void {
    if (!metrics) return;
    const dev = vm.adapter.state();
    const b = dev ? boundsOf(vm, dev) : { lo: vm.minBytes, hi: vm.maxBytes };
    metrics.vmSizes(vm.cfg.name, { requested: vm.requestedBytes, plugged: dev?.pluggedBytes ?? 0, min: b.lo, max: b.hi });
    metrics.budget(budget, sumHolds);
  }

  function send(s: SessionImpl, msg: HostMessage): void {
    if (!s.closed) s.sink.send(msg);
  }

  function welcome(vm: VmRuntime, s: SessionImpl, dev: DeviceState): void {
    const b = boundsOf(vm, dev);
    s.helloPending = false;
    s.helloDone = true;
    send(s, { type: 'welcome', version: s.version, minBytes: b.lo, maxBytes: b.hi, blockBytes: dev.blockBytes, requestedBytes: vm.requestedBytes, pluggedBytes: dev.pluggedBytes });
    // A device above the max (lowered while this guest was away, or in the config the agent
    // restarted with): ask for the difference as soon as the guest is there to answer.
    limitsReclaim(vm);
  }

  function violation(vm: VmRuntime, s: SessionImpl, what: string): void {
    const n = vm.violations.add();
    if (n < d.floodLimit) return;
    log.warn({ vm: vm.cfg.name, violations: n, windowMs: d.floodWindowMs, last: what }, 'flood: disconnecting VM');
    send(s, { type: 'error', code: 'flood', message: `${n} violations in ${d.floodWindowMs} ms; disconnecting` });
    s.detach('flood');
  }

  function askReclaim(vm: VmRuntime, s: SessionImpl, bytes: number, why: { reason: ReclaimReason } & Record<string, unknown>): string {
    const id = `reclaim-${++vm.reclaimSeq}`;
    vm.lastReclaimAtMs = clock.now();
    vm.lastReclaim = { id, reason: why.reason };
    log.info({ vm: vm.cfg.name, reclaimId: id, bytes, ...why }, 'reclaim asked');
    metrics?.reclaim(vm.cfg.name, 'asked');
    send(s, { type: 'reclaim', id, bytes });
    return id;
  }

  /** Asks a VM holding more than its max for the difference (now, or after the interval). */
  function limitsReclaim(vm: VmRuntime): void {
    const dev = vm.adapter.state();
    const s = vm.session;
    if (!dev || !s?.helloDone) return;
    const hi = boundsOf(vm, dev).hi;
    const over = holdsOf(vm) - hi;
    if (over > 0) askReclaim(vm, s, over, { reason: 'limits', maxBytes: hi });
  }

  function scheduleLimitsReclaim(vm: VmRuntime): void {
    if (vm.limitsRetry !== undefined) clock.clearTimeout(vm.limitsRetry);
    vm.limitsRetry = clock.setTimeout(() => {
      vm.limitsRetry = undefined;
      if (!shuttingDown) limitsReclaim(vm);
    }, d.reclaimIntervalMs);
  }

  /**
   * Ask the VMs holding more than their shares for `shortfallBytes` (reclaim-plan.ts): for a
   * VM under its share that was refused budget (`starved`, reason `contention`), or for a
   * budget lowered below the holdings (no starved VM, reason `budget`). Each borrower at most
   * once per reclaimIntervalMs, so a starved VM retrying its grow does not turn into a stream
   * of asks.
   */
  function reclaimFor(starved: VmRuntime | null, shortfallBytes: number, blockBytes: number): void {
    // Only a VM holding a block or more above its share can be asked (planReclaim); the
    // running sum spares the O(VMs) scan in the common case of a budget simply used up.
    if (sumBorrowed - (starved?.borrowedTerm ?? 0) < blockBytes) return;
    const now = clock.now();
    const borrowers: Borrower[] = [];
    const sessions = new Map<string, [VmRuntime, SessionImpl, number]>();
    for (const o of vms.values()) {
      const s = o.session;
      const dev = o.adapter.state();
      if (o === starved || !s?.helloDone || !dev || now - o.lastReclaimAtMs < d.reclaimIntervalMs) continue;
      const share = shareOf(o.cfg.weight, o.maxBytes, budget, totalWeight);
      // Shares are fractional, blocks are not: everyone is owed its share rounded down to the
      // block (entitledShortfall does the same), or the owed blocks could exceed the budget.
      const excess = holdsOf(o) - Math.max(alignDown(share, dev.blockBytes), boundsOf(o, dev).lo);
      if (excess <= 0) continue;
      borrowers.push({ name: o.cfg.name, excessBytes: excess });
      sessions.set(o.cfg.name, [o, s, share]);
    }
    for (const ask of planReclaim(shortfallBytes, borrowers, blockBytes)) {
      const [o, s, share] = sessions.get(ask.name)!;
      const why = starved ? { reason: 'contention' as const, forVm: starved.cfg.name } : { reason: 'budget' as const, budget };
      askReclaim(o, s, ask.bytes, { ...why, shortfall: shortfallBytes, holds: holdsOf(o), share: Math.floor(share) });
    }
  }

  /*
   * Holdings over a lowered budget: ask the VMs above their shares for the excess, and again
   * every reclaimIntervalMs until the holdings are under it. A guest gives what it can spare
   * now (a job's memory only when the job ends) or refuses mid-resize; asking once would
   * leave the rest to chance.
   */
  function reclaimOverBudget(): void {
    if (budgetRetry !== undefined) clock.clearTimeout(budgetRetry);
    budgetRetry = undefined;
    for (const vm of vms.values()) refreshHolds(vm);
    if (shuttingDown || sumHolds <= budget) return;
    const blocks = [...vms.values()].map((v) => v.adapter.state()?.blockBytes ?? 0);
    reclaimFor(null, sumHolds - budget, Math.max(1, ...blocks));
    budgetRetry = clock.setTimeout(reclaimOverBudget, d.reclaimIntervalMs);
  }

  /** The grant rule (grant.ts) for this VM now, against everyone else's holdings. */
  function decide(vm: VmRuntime, dev: DeviceState, kind: Resize['kind'], targetBytes: number) {
    const b = boundsOf(vm, dev);
    refreshHolds(vm);
    const others = { holdsBytes: sumHolds - vm.holds, protectedBytes: Math.max(0, sumProtected - vm.protectedTerm), weight: totalWeight - vm.cfg.weight };
    const decision = decideGrant({
      kind,
      targetBytes,
      minBytes: b.lo,
      maxBytes: b.hi,
      blockBytes: dev.blockBytes,
      maxStepBytes: vm.maxStepBytes,
      requestedBytes: vm.requestedBytes,
      pluggedBytes: dev.pluggedBytes,
      weight: vm.cfg.weight,
      budgetBytes: budget,
      others,
    });
    return { decision, others };
  }

  function replyAnswer(s: SessionImpl, a: Answer): void {
    send(s, a.ack);
    if (a.done) send(s, a.done);
  }

  function handleResize(vm: VmRuntime, s: SessionImpl, msg: Resize): void {
    const name = vm.cfg.name;
    const known = vm.answers.get(msg.id);
    if (known) {
      // Idempotent retry: the same answer, nothing applied again.
      log.debug({ vm: name, requestId: msg.id, outcome: known.ack.outcome }, 'retry answered from cache');
      replyAnswer(s, known);
      return;
    }
    const busy = (reason: string, retryAfterMs: number) => {
      metrics?.request(name, 'busy');
      log.info({ vm: name, requestId: msg.id, outcome: 'busy', reason, retryAfterMs }, 'decision');
      send(s, { type: 'ack', id: msg.id, outcome: 'busy', grantedBytes: vm.requestedBytes, reason, retryAfterMs });
    };
    if (shuttingDown) {
      const ack: Ack = { type: 'ack', id: msg.id, outcome: 'denied', grantedBytes: vm.requestedBytes, reason: 'shutting-down' };
      vm.answers.set(msg.id, { ack });
      log.info({ vm: name, requestId: msg.id, kind: msg.kind, target: msg.targetBytes, outcome: 'denied', reason: 'shutting-down', rule: 'shutdown' }, 'decision');
      metrics?.request(name, 'denied');
      send(s, ack);
      return;
    }
    const dev = vm.adapter.state();
    if (!dev) return busy('hypervisor-unavailable', d.busyRetryAfterMs);
    const waitMs = vm.requests.take();
    if (waitMs > 0) {
      busy('rate-limited', waitMs);
      violation(vm, s, 'rate');
      return;
    }
    const b = boundsOf(vm, dev);
    const { decision, others } = decide(vm, dev, msg.kind, msg.targetBytes);
    const ack: Ack = { type: 'ack', id: msg.id, outcome: decision.outcome, grantedBytes: decision.grantedBytes };
    if (decision.reason) ack.reason = decision.reason;
    const answer: Answer = { ack };
    const refusedBudget = decision.reason === 'budget' && msg.kind === 'grow';
    const wanted = Math.min(alignUp(msg.targetBytes, dev.blockBytes), b.hi);
    const shortfall = refusedBudget
      ? entitledShortfall({ targetBytes: wanted, shareBytes: decision.shareBytes, holdsBytes: Math.max(decision.grantedBytes, dev.pluggedBytes), blockBytes: dev.blockBytes })
      : 0;
    if (refusedBudget && s.version >= AVAILABLE_SINCE_VERSION) {
      // Protocol 2: the guest will hear when budget frees, so it need not keep asking. Under
      // its share it is owed memory the agent is reclaiming: asking again when the next
      // reclaim may go out (reclaimIntervalMs) lets that ask follow a refused one.
      offers.refused(vm, wanted);
      if (decision.outcome === 'denied') ack.retryAfterMs = shortfall > 0 && d.reclaimOnContention ? d.reclaimIntervalMs : d.budgetRetryAfterMs;
    } else offers.forget(vm);
    log.info(
      {
        vm: name,
        requestId: msg.id,
        kind: msg.kind,
        target: msg.targetBytes,
        requested: vm.requestedBytes,
        plugged: dev.pluggedBytes,
        min: b.lo,
        max: b.hi,
        budget,
        othersHold: others.holdsBytes,
        share: decision.shareBytes,
        ceiling: decision.ceilingBytes,
        outcome: decision.outcome,
        granted: decision.grantedBytes,
        reason: decision.reason,
        rule: decision.rule,
        retryAfterMs: ack.retryAfterMs,
        why: msg.reason,
        pressure: msg.pressure,
      },
      'decision',
    );
    metrics?.request(name, decision.outcome);
    vm.answers.set(msg.id, answer);
    send(s, ack);
    if (shortfall > 0 && d.reclaimOnContention) reclaimFor(vm, shortfall, dev.blockBytes);
    if (decision.outcome === 'denied') return;
    vm.requestedBytes = decision.grantedBytes;
    refreshHolds(vm);
    publish(vm);
    const seq = ++vm.opSeq;
    const startedAt = clock.now();
    const onResult = (res: ResizeResult) => {
      answer.done = { type: 'done', id: msg.id, status: res.status, pluggedBytes: res.pluggedBytes };
      if (seq === vm.opSeq) {
        metrics?.grantLatency(name, res.status, (clock.now() - startedAt) / 1000);
      }
      log.info({ vm: name, requestId: msg.id, status: res.status, plugged: res.pluggedBytes, target: decision.grantedBytes, superseded: res.superseded, error: res.error, ms: clock.now() - startedAt }, 'resize done');
      // The guest may be on a new connection by now; it ignores dones of ids it dropped.
      if (vm.session) send(vm.session, answer.done);
      refreshHolds(vm);
      publish(vm);
    };
    if (vm.adapter.resizeWithCallback) vm.adapter.resizeWithCallback(decision.grantedBytes, onResult);
    else void vm.adapter.resize(decision.grantedBytes).then(onResult);
  }

  function handleMessage(vm: VmRuntime, s: SessionImpl, msg: GuestMessage): void {
    switch (msg.type) {
      case 'hello': {
        const version = negotiateVersion(msg.versions);
        if (version === undefined) {
          send(s, { type: 'error', code: 'version', message: `no common protocol version (host speaks ${PROTOCOL_VERSIONS.join(',')}, guest offered ${msg.versions.join(',')})` });
          s.detach('version');
          return;
        }
        s.version = version;
        log.info({ vm: vm.cfg.name, idPrefix: msg.idPrefix, software: msg.software, version }, 'hello');
        const dev = vm.adapter.state();
        if (dev) welcome(vm, s, dev);
        else s.helloPending = true;
        return;
      }
      case 'ping':
        send(s, msg.id === undefined ? { type: 'pong' } : { type: 'pong', id: msg.id });
        return;
      case 'pong':
        return;
      case 'error': {
        // A guest could fill the host's logs with errors: warn once per session, then debug.
        const level = s.guestErrors++ === 0 ? 'warn' : 'debug';
        log[level]({ vm: vm.cfg.name, code: msg.code, peerMessage: msg.message, ref: msg.ref, count: s.guestErrors }, 'guest reported a protocol error');
        return;
      }
      case 'reclaim-reply':
        log.info({ vm: vm.cfg.name, reclaimId: msg.id, accepted: msg.accepted, bytes: msg.bytes, reason: msg.reason }, 'reclaim reply');
        metrics?.reclaim(vm.cfg.name, msg.accepted ? 'accepted' : 'refused');
        // A lowered max asked while the guest was mid-resize: ask again once it is past it.
        if (!msg.accepted && msg.reason === 'resize-in-progress' && vm.lastReclaim?.id === msg.id && vm.lastReclaim.reason === 'limits') scheduleLimitsReclaim(vm);
        return;
      case 'resize':
        if (!s.helloDone) {
          send(s, { type: 'error', code: 'handshake-required', message: 'send hello first', ref: msg.id });
          violation(vm, s, 'handshake');
          return;
        }
        handleResize(vm, s, msg);
        return;
    }
  }

  function attach(name: string, sink: GuestSink): Session {
    const vm = vms.get(name);
    if (!vm) throw new Error(`host agent: unknown VM ${name}`);
    if (vm.session) vm.session.detach('replaced by a new connection');
    // A refusal is answered on the connection it was made on: a new one starts by asking.
    offers.forget(vm);
    const decoder = new LineDecoder();
    const counters = newCounters();
    const lines = new TokenBucket(d.linesPerSec, d.linesPerSec * 2, clock);
    const s: SessionImpl = {
      vm: name,
      counters,
      sink,
      version: 1,
      helloDone: false,
      helloPending: false,
      closed: false,
      guestErrors: 0,
      receive(chunk) {
        for (const frame of decoder.push(chunk)) {
          if (s.closed) return;
          counters.lines++;
          if (lines.take() > 0) {
            violation(vm, s, 'lines');
            continue;
          }
          if (!frame.ok) {
            countError(counters, frame.code);
            metrics?.protocolError(name, frame.code);
            send(s, { type: 'error', code: frame.code, message: `line of ${frame.bytes} bytes exceeds the limit` });
            violation(vm, s, frame.code);
            continue;
          }
          const res = decodeMessage(GuestMessageSchema, GUEST_TYPES, frame.text);
          if (!res.ok) {
            countError(counters, res.code);
            metrics?.protocolError(name, res.code);
            log.debug({ vm: name, code: res.code, detail: res.message }, 'protocol error');
            send(s, res.ref ? { type: 'error', code: res.code, message: res.message, ref: res.ref } : { type: 'error', code: res.code, message: res.message });
            violation(vm, s, res.code);
            continue;
          }
          handleMessage(vm, s, res.message);
        }
      },
      handle(msg) {
        if (!s.closed) handleMessage(vm, s, msg);
      },
      detach(reason = 'closed') {
        if (s.closed) return;
        s.closed = true;
        if (vm.session === s) vm.session = null;
        metrics?.disconnect(name, reason);
        log.info({ vm: name, reason, counters }, 'guest detached');
        sink.close(reason);
      },
    };
    vm.session = s;
    log.info({ vm: name }, 'guest attached');
    return s;
  }

  return {
    get budgetBytes() {
      return budget;
    },
    attach,
    holdsBytes,
    status: () =>
      [...vms.values()].map((vm) => {
        const dev = vm.adapter.state();
        const b = dev ? boundsOf(vm, dev) : { lo: vm.minBytes, hi: vm.maxBytes };
        return {
          name: vm.cfg.name,
          connected: vm.session !== null,
          requestedBytes: vm.requestedBytes,
          pluggedBytes: dev?.pluggedBytes ?? null,
          holdsBytes: holdsOf(vm),
          minBytes: b.lo,
          maxBytes: b.hi,
          available: dev !== null,
        };
      }),
    setLimits(name, limits) {
      const vm = vms.get(name);
      if (!vm) throw new Error(`host agent: unknown VM ${name}`);
      vm.minBytes = limits.minBytes;
      vm.maxBytes = limits.maxBytes;
      refreshHolds(vm);
      const dev = vm.adapter.state();
      log.info({ vm: name, ...limits }, 'limits changed');
      offers.freed();
      if (vm.session?.helloDone && dev) {
        const b = boundsOf(vm, dev);
        send(vm.session, { type: 'limits', minBytes: b.lo, maxBytes: b.hi });
        // A max lowered below what the VM holds: ask for the difference (the guest gives what
        // it can spare; the agent never unplugs on its own).
        limitsReclaim(vm);
      }
      publish(vm);
    },
    setBudget(bytes) {
      const from = budget;
      budget = bytes;
      // Every share moves with the budget: rebuild each VM's terms of the running sums.
      for (const vm of vms.values()) refreshHolds(vm);
      log.info({ from, to: bytes, holds: sumHolds }, 'budget changed');
      for (const vm of vms.values()) publish(vm);
      reclaimOverBudget();
      if (bytes > from) offers.freed();
    },
    requestReclaim(name, bytes) {
      const vm = vms.get(name);
      if (!vm?.session?.helloDone) return undefined;
      return askReclaim(vm, vm.session, bytes, { reason: 'operator' });
    },
    shutdown() {
      shuttingDown = true;
      if (budgetRetry !== undefined) clock.clearTimeout(budgetRetry);
      offers.stop();
      for (const vm of vms.values()) if (vm.limitsRetry !== undefined) clock.clearTimeout(vm.limitsRetry);
    },
  };
}
