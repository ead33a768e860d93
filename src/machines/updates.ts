/**
 * Context updates of the resize machine as plain functions (context, event) -> patch.
 * The chart in resizer.ts wires them as assign actions; tests and the simulator can call
 * them directly. Nothing here performs I/O.
 */
import { backoffMs, jitterOf } from '../policy/backoff.ts';
import {
  growStepBytes,
  growTargetBytes,
  learnStall,
  reclaimTargetBytes,
  shrinkKeepBytes,
  stallFloorBytes,
  shrinkTargetBytes,
  type Limits,
} from '../policy/sizing.ts';
import { alignUp } from '../policy/align.ts';
import type { TimingConfig } from '../config/schema.ts';
import type { ResizerContext } from './context.ts';
import type {
  HeadroomLowEvent,
  HostAckEvent,
  HostDoneEvent,
  HostLimitsEvent,
  HostReclaimEvent,
  HostWelcomeEvent,
  MeminfoSampleEvent,
  PressureSnapshot,
  PsiPressureEvent,
  ResizeRequest,
} from './events.ts';

type Patch = Partial<ResizerContext>;

/** Weight of the newest measurement in the grow-latency average. */
const LATENCY_EWMA_WEIGHT = 0.3;
/** 2^6 x cooldownAfterShrinkMs is already past the backoff cap with the defaults. */
const MAX_SHRINK_REGRETS = 6;

export function pressureOf(event: PsiPressureEvent | HeadroomLowEvent): PressureSnapshot {
  if (event.type === 'psi.pressure') {
    return { source: 'psi', severity: event.severity, stallPercent: event.stallPercent };
  }
  return {
    source: 'headroom',
    severity: 'some',
    memAvailableBytes: event.memAvailableBytes,
    secondsToReserve: event.secondsToReserve,
  };
}

function newRequest(ctx: ResizerContext, kind: ResizeRequest['kind'], targetBytes: number, reason: string, pressure: PressureSnapshot): Patch {
  const seq = ctx.seq + 1;
  return {
    seq,
    request: {
      id: `${ctx.idPrefix}-${seq}`,
      kind,
      targetBytes,
      fromBytes: ctx.pluggedBytes,
      reason,
      pressure,
      attempt: 0,
    },
    targetBytes: null,
    busyCount: 0,
    pendingPressure: null,
    deniedPressure: null,
  };
}

/** The MemAvailable the machine defends now (stallFloorBytes at the latest sample); undefined before one. */
export function floorFor(ctx: ResizerContext): number | undefined {
  return ctx.sample ? stallFloorBytes(ctx.sample, ctx.policy, ctx.learnedStall, ctx.sampleAtMs) : undefined;
}

export function growTargetFor(ctx: ResizerContext, pressure: PressureSnapshot): number {
  const step = growStepBytes({
    severity: pressure.severity ?? 'some',
    sample: ctx.sample,
    growLatencyMs: ctx.growLatencyMs,
    regrowAfterMs: ctx.timing.cooldownAfterGrowMs,
    policy: ctx.policy,
    blockBytes: ctx.limits.blockBytes,
    floorBytes: floorFor(ctx),
  });
  const target = growTargetBytes(ctx.pluggedBytes, step, ctx.limits);
  // Memory the host already has on its way (a grant not yet observed, e.g. one made before
  // this daemon restarted): requests are absolute, so a smaller target would cancel part of it.
  if (ctx.hostRequestedBytes <= ctx.pluggedBytes) return target;
  return Math.max(target, growTargetBytes(0, ctx.hostRequestedBytes, ctx.limits));
}

export function beginGrow(ctx: ResizerContext, pressure: PressureSnapshot): Patch {
  const reason = pressure.source === 'headroom' ? 'headroom-low' : pressure.source === 'psi' ? `psi-${pressure.severity ?? 'some'}` : `pending-${pressure.source}`;
  return newRequest(ctx, 'grow', growTargetFor(ctx, pressure), reason, pressure);
}

export function shrinkTargetFor(ctx: ResizerContext): number {
  return shrinkTargetBytes({
    sample: ctx.sample,
    pluggedBytes: ctx.pluggedBytes,
    limits: ctx.limits,
    policy: ctx.policy,
    shrinkScale: Math.min(ctx.shrinkScale, ctx.unplugScale),
    keepBytes: ctx.sample ? shrinkKeepBytes(ctx.sample, ctx.policy, ctx.learnedStall, ctx.sampleAtMs) : undefined,
    holdMs: ctx.timing.cooldownAfterShrinkMs,
  });
}

export function beginShrink(ctx: ResizerContext): Patch {
  return {
    ...newRequest(ctx, 'shrink', shrinkTargetFor(ctx), 'relaxed-surplus', {
      source: 'relaxed',
      memAvailableBytes: ctx.sample?.memAvailableBytes,
    }),
    atCeiling: false,
  };
}

export function reclaimTargetFor(ctx: ResizerContext, event: HostReclaimEvent): number {
  return reclaimTargetBytes({
    sample: ctx.sample,
    pluggedBytes: ctx.pluggedBytes,
    limits: ctx.limits,
    policy: ctx.policy,
    askedBytes: event.bytes,
  });
}

export function beginReclaim(ctx: ResizerContext, event: HostReclaimEvent): Patch {
  return newRequest(ctx, 'shrink', reclaimTargetFor(ctx, event), `host-reclaim:${event.id}`, {
    source: 'reclaim',
    memAvailableBytes: ctx.sample?.memAvailableBytes,
  });
}

/**
 * Pressure during a shrink: replace the shrink by a request that stops the unplug at the
 * current size, or grows when there is room. One request, so the host never sees a stop
 * and a grow racing each other.
 */
export function beginAbort(ctx: ResizerContext, event: PsiPressureEvent | HeadroomLowEvent, canGrow: boolean): Patch {
  const pressure: PressureSnapshot = { ...pressureOf(event), source: 'abort' };
  const here = alignUp(ctx.pluggedBytes, ctx.limits.blockBytes);
  if (canGrow) return newRequest(ctx, 'grow', Math.max(here, growTargetFor(ctx, pressureOf(event))), 'abort-shrink-and-grow', pressure);
  return newRequest(ctx, 'hold', Math.min(here, ctx.limits.maxBytes), 'abort-shrink', pressure);
}

export function countAttempt(ctx: ResizerContext): Patch {
  return ctx.request ? { request: { ...ctx.request, attempt: ctx.request.attempt + 1 } } : {};
}

/**
 * May the request in flight be sent again after this ack timeout? At least ackMaxRetries
 * times, and on until the waits so far (each send's timeout and the backoffs between them,
 * at today's timeout) reach ackGiveUpMs: with a short timeout on a fast link the resends are
 * quick, and a count alone would give up on a lossy link within a couple of seconds.
 */
export function canRetryAck(ctx: ResizerContext): boolean {
  const attempt = ctx.request?.attempt ?? 0;
  if (attempt < ctx.timing.ackMaxRetries) return true;
  let waited = (attempt + 1) * ackTimeoutFor(ctx);
  for (let i = 0; i < attempt; i++) waited += ackBackoffMs(ctx, i);
  return waited < ctx.timing.ackGiveUpMs;
}

/** The backoff after the ack timeout of send `attempt` of the request in flight (jitter keyed by id and attempt). */
function ackBackoffMs(ctx: ResizerContext, attempt: number): number {
  return backoffMs(attempt, ctx.timing.ackRetryBaseMs, ctx.timing.ackRetryCapMs, jitterOf(`${ctx.request?.id ?? ''}#${attempt}`));
}

export function ackRetryDelayMs(ctx: ResizerContext): number {
  return ackBackoffMs(ctx, ctx.request?.attempt ?? 0);
}

export function adoptGrant(_ctx: ResizerContext, event: HostAckEvent): Patch {
  return {
    targetBytes: event.grantedBytes,
    hostRequestedBytes: event.grantedBytes,
    lastOutcome: event.outcome,
    lastReason: event.reason ?? null,
  };
}

export function noteBusy(ctx: ResizerContext, event: HostAckEvent): Patch {
  return {
    busyCount: ctx.busyCount + 1,
    busyRetryAfterMs: Math.min(Math.max(0, event.retryAfterMs ?? ctx.timing.ackRetryBaseMs), ctx.timing.busyRetryMaxMs),
    lastOutcome: 'busy',
    lastReason: event.reason ?? null,
  };
}

/**
 * The wait after a denial. For a budget denial a protocol-2 host names it (retryAfterMs) and
 * says `available` as soon as budget frees for this VM, so a VM held at its share need not
 * ask every few seconds to find out. The guest's own bounds hold either way: a hostile host
 * cannot park it for longer than cooldownAfterDenyMaxMs.
 */
export function denyCooldownMs(t: TimingConfig, event: HostAckEvent): number {
  const hinted = event.reason === 'budget' && event.retryAfterMs !== undefined ? Math.min(event.retryAfterMs, t.cooldownAfterDenyMaxMs) : 0;
  return Math.max(t.cooldownAfterDenyMs, hinted);
}

export function noteDenied(ctx: ResizerContext, event: HostAckEvent, atCeiling: boolean): Patch {
  return {
    request: null,
    targetBytes: null,
    lastOutcome: 'denied',
    lastReason: event.reason ?? null,
    atCeiling: atCeiling || ctx.atCeiling,
    cooldownMs: denyCooldownMs(ctx.timing, event),
    cooldownAfter: 'deny',
    deniedPressure: event.reason === 'budget' && ctx.request?.kind === 'grow' ? ctx.request.pressure : null,
  };
}

export function noteTimeout(): Patch {
  return { request: null, targetBytes: null, lastOutcome: 'timeout' };
}

/** The host reports its final plugged size short of the grant: wait only for that much. */
export function lowerTargetToHostFinal(ctx: ResizerContext, event: HostDoneEvent): Patch {
  return { targetBytes: Math.min(ctx.targetBytes ?? event.pluggedBytes, event.pluggedBytes), hostRequestedBytes: event.pluggedBytes };
}

export function completeGrow(ctx: ResizerContext, partial: boolean): Patch {
  return {
    request: null,
    targetBytes: null,
    lastOutcome: partial ? 'partial' : ctx.lastOutcome,
    cooldownMs: ctx.timing.cooldownAfterGrowMs,
    cooldownAfter: 'grow',
  };
}

/** A grow whose memory the guest saw online before any ack: granted in effect, by the device. */
export function completeUnackedGrow(ctx: ResizerContext): Patch {
  const asked = ctx.request?.targetBytes ?? ctx.pluggedBytes;
  return {
    ...completeGrow(ctx, false),
    hostRequestedBytes: Math.max(ctx.hostRequestedBytes, asked),
    lastOutcome: 'granted',
    lastReason: 'observed before the ack',
  };
}

export function completeShrink(ctx: ResizerContext): Patch {
  return {
    lastShrinkReleasedBytes: Math.max(0, (ctx.request?.fromBytes ?? ctx.pluggedBytes) - ctx.pluggedBytes),
    request: null,
    targetBytes: null,
    unplugFailures: 0,
    // A complete unplug: what kept memory plugged is gone. shrinkScale stays: it recovers
    // only through cooldowns that end without regret.
    unplugScale: 1,
    atCeiling: false,
    // Each regretted shrink doubles the wait before the next: a working set that a shrink
    // keeps cutting into is probed ever more rarely instead of every cooldown.
    cooldownMs: Math.min(ctx.timing.unplugBackoffCapMs, ctx.timing.cooldownAfterShrinkMs * 2 ** ctx.shrinkRegrets),
    cooldownAfter: 'shrink',
  };
}

/**
 * Would the VM have been fine without the shrink: would MemAvailable plus what the shrink
 * gave back still cover what shrinks keep plus the current consumption over one shrink
 * cooldown (the time a shrink is meant to hold)? Only then is the pressure the shrink's
 * fault. A workload that started consuming faster than that (the next job of a batch queue,
 * a ramp) would have needed the grow anyway: that is no reason to shrink less and later,
 * which would keep the memory of every job plugged long after it ended.
 */
function shrinkToBlame(ctx: ResizerContext, during: boolean): boolean {
  const sample = ctx.sample;
  if (!sample) return true;
  const released = during ? Math.max(0, (ctx.request?.fromBytes ?? ctx.pluggedBytes) - ctx.pluggedBytes) : ctx.lastShrinkReleasedBytes;
  const consumed = Math.max(0, -sample.availableTrendBps) * (ctx.timing.cooldownAfterShrinkMs / 1000);
  return sample.memAvailableBytes + released >= shrinkKeepBytes(sample, ctx.policy, ctx.learnedStall, ctx.sampleAtMs) + consumed;
}

/**
 * Pressure soon after a shrink (during the shrink, or in the cooldown that follows it):
 * the surplus was not surplus, e.g. page cache the workload re-reads. Ask for half as much
 * next time and wait longer before the next shrink. Other cooldowns are left alone.
 */
export function regretShrink(ctx: ResizerContext, during: boolean): Patch {
  if (!during && ctx.cooldownAfter !== 'shrink') return {};
  if (!shrinkToBlame(ctx, during)) return { cooldownAfter: during ? ctx.cooldownAfter : 'grow' };
  return {
    shrinkRegrets: Math.min(ctx.shrinkRegrets + 1, MAX_SHRINK_REGRETS),
    shrinkScale: Math.max(ctx.policy.shrinkScaleMin, ctx.shrinkScale / 2),
    cooldownAfter: during ? ctx.cooldownAfter : 'grow',
  };
}

/**
 * A PSI stall while MemAvailable still showed this much: the rest was working set (page
 * cache the workload re-reads). Shrinks stop above it, grows restore it and headroom.low
 * projects the time to reach it (stallFloorBytes; it decays). What MemAvailable was during
 * the stall is the lowest of the samples within the lookback before the trigger (a trigger
 * reports a whole window, and may arrive after a grow already landed) and of the next
 * sample (the one before may be stale in a burst), so the lesson waits for that (adoptSample).
 */
export function learnFromStall(ctx: ResizerContext, event: PsiPressureEvent): Patch {
  if (!ctx.sample) return {};
  const atMs = Math.max(event.atMs ?? ctx.sampleAtMs, ctx.sampleAtMs);
  const since = atMs - ctx.policy.stallLookbackMs;
  const inWindow = ctx.recentAvailable.filter((s) => s.atMs >= since).map((s) => s.bytes);
  const before = Math.min(ctx.sample.memAvailableBytes, ctx.pendingStall?.memAvailableBytes ?? Number.POSITIVE_INFINITY, ...inWindow);
  return { pendingStall: { atMs, memAvailableBytes: before } };
}

/** A new meminfo sample; the first one after a stall completes what the stall teaches (learnFromStall). */
export function adoptSample(ctx: ResizerContext, event: MeminfoSampleEvent): Patch {
  const { type: _t, atMs, ...sample } = event;
  const since = atMs - ctx.policy.stallLookbackMs;
  const recentAvailable = [...ctx.recentAvailable.filter((s) => s.atMs >= since && s.atMs <= atMs), { atMs, bytes: sample.memAvailableBytes }];
  const pending = ctx.pendingStall;
  if (!pending || atMs < pending.atMs) return { sample, sampleAtMs: atMs, recentAvailable };
  const available = Math.min(pending.memAvailableBytes, sample.memAvailableBytes);
  return { sample, sampleAtMs: atMs, recentAvailable, pendingStall: null, learnedStall: learnStall(available, sample, ctx.policy, ctx.learnedStall, pending.atMs) };
}

/** A cooldown ended quietly: after a shrink, that shrink held, so trust shrinking a bit more again. */
export function settleCooldown(ctx: ResizerContext): Patch {
  if (ctx.cooldownAfter !== 'shrink') return { cooldownAfter: null, pendingPressure: null };
  return {
    cooldownAfter: null,
    pendingPressure: null,
    shrinkRegrets: Math.max(0, ctx.shrinkRegrets - 1),
    shrinkScale: Math.min(1, ctx.shrinkScale * 2),
  };
}

/** Unplug failed or stayed partial: back off exponentially and ask for half as much next time. */
export function recordUnplugFailure(ctx: ResizerContext): Patch {
  const failures = ctx.unplugFailures + 1;
  const { unplugBackoffBaseMs, unplugBackoffCapMs } = ctx.timing;
  return {
    request: null,
    targetBytes: null,
    unplugFailures: failures,
    unplugScale: Math.max(ctx.policy.shrinkScaleMin, ctx.unplugScale / 2),
    cooldownMs: Math.min(unplugBackoffCapMs, unplugBackoffBaseMs * 2 ** (failures - 1)),
    cooldownAfter: 'unplug-failure',
    lastOutcome: 'partial',
  };
}

export function holdDone(ctx: ResizerContext): Patch {
  return { request: null, targetBytes: null, cooldownMs: ctx.timing.cooldownAfterGrowMs, cooldownAfter: 'hold', pendingPressure: ctx.request?.pressure ?? null };
}

export function adoptWelcome(ctx: ResizerContext, event: HostWelcomeEvent): Patch {
  const limits: Limits = { minBytes: event.minBytes, maxBytes: event.maxBytes, blockBytes: event.blockBytes };
  // Observed truth wins: the guest's own view of its memory, the host's word only if the
  // guest has not observed anything yet.
  const plugged = ctx.observedKnown ? ctx.pluggedBytes : event.pluggedBytes;
  return {
    limits,
    pluggedBytes: plugged,
    hostRequestedBytes: event.requestedBytes,
    request: null,
    targetBytes: null,
    pendingPressure: null,
    atCeiling: false,
  };
}

export function adoptLimits(ctx: ResizerContext, event: HostLimitsEvent): Patch {
  const raised = event.maxBytes > ctx.limits.maxBytes;
  return {
    limits: { ...ctx.limits, minBytes: event.minBytes, maxBytes: event.maxBytes },
    atCeiling: raised ? false : ctx.atCeiling,
  };
}

/** Roundtrip samples the ack timeout is taken from (the smallest of them). */
export const ACK_RTT_WINDOW = 16;

/** A new roundtrip sample: RFC 6298's smoothed figures (for the status), and the recent window. */
export function adoptAckRtt(ctx: ResizerContext, rttMs: number): Patch {
  const r = Math.max(0, rttMs);
  const prev = ctx.ackRtt;
  if (!prev) return { ackRtt: { srttMs: r, rttvarMs: r / 2, recentMs: [r] } };
  const rttvarMs = 0.75 * prev.rttvarMs + 0.25 * Math.abs(prev.srttMs - r);
  return { ackRtt: { srttMs: 0.875 * prev.srttMs + 0.125 * r, rttvarMs, recentMs: [...prev.recentMs, r].slice(-ACK_RTT_WINDOW) } };
}

/**
 * How long a request waits for its ack before it is sent again: 4x the smallest of the
 * last ACK_RTT_WINDOW measured roundtrips, within [ackTimeoutMinMs, ackTimeoutMs];
 * ackTimeoutMs before any is measured. Not TCP's srtt + 4 x rttvar (RFC 6298): that is
 * built to avoid needless retransmissions on congested paths, and on a link with a heavy
 * tail (messages 3 s late, as in the simulator's flaky-host) it sits at its cap, so every
 * lost request costs the whole timeout while the workload stalls. A resend here is one
 * line with the same id, which the host answers idempotently and does not count against
 * the VM's rate: cheap, where waiting is not. The window lets the timeout grow again when
 * the link itself becomes slow (measured over random lossy links: mean stall -32 %).
 */
export function ackTimeoutFor(ctx: ResizerContext): number {
  const { ackTimeoutMs, ackTimeoutMinMs } = ctx.timing;
  if (!ctx.ackRtt || ctx.ackRtt.recentMs.length === 0) return ackTimeoutMs;
  const rto = 4 * Math.min(...ctx.ackRtt.recentMs);
  return Math.round(Math.min(ackTimeoutMs, Math.max(ackTimeoutMinMs, rto)));
}

export function adoptGrowLatency(ctx: ResizerContext, latencyMs: number): Patch {
  const ms = Math.max(1, latencyMs);
  return { growLatencyMs: Math.round(ctx.growLatencyMs * (1 - LATENCY_EWMA_WEIGHT) + ms * LATENCY_EWMA_WEIGHT) };
}
