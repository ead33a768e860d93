/**
 * The live status document of the guest daemon (served on the control socket, printed by
 * `memresize status`): current state, sizes, limits, PSI mode, and the last transitions
 * and decisions with their reasons.
 */
import { formatBytes } from '../config/units.ts';
import type { ResizerContext } from '../machines/context.ts';
import { ackTimeoutFor, floorFor } from '../machines/updates.ts';
import { inProbeZone } from '../policy/sizing.ts';
import type { TransitionRecord } from '../io/transition-trace.ts';

export interface StatusTransition {
  atMs: number;
  from: string;
  to: string;
  event: string;
  requestId?: string;
  why?: string;
}

export interface GuestStatus {
  kind: 'guest';
  pid: number;
  startedAtMs: number;
  nowMs: number;
  state: string;
  sizes: {
    pluggedBytes: number;
    hostRequestedBytes: number;
    targetBytes: number | null;
    memTotalBytes?: number;
    memAvailableBytes?: number;
    /** The MemAvailable the daemon defends: the reserve, or the stall floor a PSI stall taught (decaying). */
    floorBytes?: number;
    /** The floor the last stall taught, before decay (absent before any): below it the daemon probes. */
    learnedFloorBytes?: number;
    /** MemAvailable is in the probe zone: PSI is read every psiProbeIntervalMs (rtpoll mode) and a small stall is pressure. */
    probing: boolean;
  };
  limits: { minBytes: number; maxBytes: number; blockBytes: number };
  atCeiling: boolean;
  unplugFailures: number;
  growLatencyMs: number;
  /** How long a request now waits for its ack, and the roundtrips it is taken from (null until measured). */
  ack: { timeoutMs: number; srttMs: number | null; smallestRecentMs: number | null };
  /**
   * The host's last answer, the cooldown it set (after a budget denial: the wait the host
   * named), and whether a denied need is waiting for the host's `available` (protocol 2).
   */
  host: { lastOutcome: string | null; lastReason: string | null; cooldownAfter: string | null; cooldownMs: number; awaitingAvailable: boolean };
  request: ResizerContext['request'];
  signals: Record<string, unknown>;
  selfProtection: Record<string, unknown>;
  transitions: StatusTransition[];
}

/** Keeps the last N transition records for the status document. */
export class TransitionRing {
  private readonly items: StatusTransition[] = [];
  constructor(private readonly size: number) {}
  push(rec: TransitionRecord, atMs: number): void {
    this.items.push({ atMs, from: rec.from, to: rec.to, event: rec.event, requestId: rec.requestId, why: rec.why });
    if (this.items.length > this.size) this.items.shift();
  }
  list(): StatusTransition[] {
    return [...this.items];
  }
}

export function buildGuestStatus(input: {
  pid: number;
  startedAtMs: number;
  nowMs: number;
  state: string;
  context: ResizerContext;
  signals: Record<string, unknown>;
  selfProtection: Record<string, unknown>;
  transitions: StatusTransition[];
}): GuestStatus {
  const c = input.context;
  const floor = floorFor(c);
  return {
    kind: 'guest',
    pid: input.pid,
    startedAtMs: input.startedAtMs,
    nowMs: input.nowMs,
    state: input.state,
    sizes: {
      pluggedBytes: c.pluggedBytes,
      hostRequestedBytes: c.hostRequestedBytes,
      targetBytes: c.targetBytes,
      memTotalBytes: c.sample?.memTotalBytes,
      memAvailableBytes: c.sample?.memAvailableBytes,
      floorBytes: floor === undefined ? undefined : Math.round(floor),
      learnedFloorBytes: c.learnedStall?.floorBytes,
      probing: c.sample !== null && inProbeZone(c.sample.memAvailableBytes, c.learnedStall),
    },
    limits: c.limits,
    atCeiling: c.atCeiling,
    unplugFailures: c.unplugFailures,
    growLatencyMs: c.growLatencyMs,
    ack: {
      timeoutMs: ackTimeoutFor(c),
      srttMs: c.ackRtt ? Math.round(c.ackRtt.srttMs) : null,
      smallestRecentMs: c.ackRtt && c.ackRtt.recentMs.length > 0 ? Math.min(...c.ackRtt.recentMs) : null,
    },
    host: {
      lastOutcome: c.lastOutcome,
      lastReason: c.lastReason,
      cooldownAfter: c.cooldownAfter,
      cooldownMs: c.cooldownMs,
      // As the chart's host.available guard reads it (isAfterDeny and hasUnmetNeed, in cooling).
      awaitingAvailable: input.state === 'ready.cooling' && c.cooldownAfter === 'deny' && (c.pendingPressure !== null || c.deniedPressure !== null),
    },
    request: c.request,
    signals: input.signals,
    selfProtection: input.selfProtection,
    transitions: input.transitions,
  };
}

const b = (v: number | null | undefined) => (v === null || v === undefined ? '-' : formatBytes(v));

export function statusText(s: GuestStatus): string {
  const up = ((s.nowMs - s.startedAtMs) / 1000).toFixed(0);
  const lines = [
    `memresize guest (pid ${s.pid}, up ${up} s): ${s.state}`,
    `  plugged ${b(s.sizes.pluggedBytes)}   host requested ${b(s.sizes.hostRequestedBytes)}   target ${b(s.sizes.targetBytes)}`,
    `  MemTotal ${b(s.sizes.memTotalBytes)}   MemAvailable ${b(s.sizes.memAvailableBytes)}   floor ${b(s.sizes.floorBytes)}${s.sizes.learnedFloorBytes === undefined ? '' : ` (learned ${b(s.sizes.learnedFloorBytes)}${s.sizes.probing ? ', probing: MemAvailable below it' : ''})`}`,
    `  limits min ${b(s.limits.minBytes)}  max ${b(s.limits.maxBytes)}  block ${b(s.limits.blockBytes)}${s.atCeiling ? '   (at ceiling)' : ''}`,
    `  grow latency ${s.growLatencyMs} ms   unplug failures ${s.unplugFailures}   ack timeout ${s.ack.timeoutMs} ms (roundtrip smoothed ${s.ack.srttMs ?? '-'} ms, smallest recent ${s.ack.smallestRecentMs ?? '-'} ms)`,
    `  host answered ${s.host.lastOutcome ?? '-'}${s.host.lastReason ? ` (${s.host.lastReason})` : ''}   cooldown ${s.host.cooldownMs} ms after ${s.host.cooldownAfter ?? '-'}${s.host.awaitingAvailable ? '   (denied need: asks again when the host says budget is available)' : ''}`,
    `  request ${s.request ? `${s.request.id} ${s.request.kind} -> ${b(s.request.targetBytes)} (${s.request.reason}, attempt ${s.request.attempt})` : 'none'}`,
    `  signals ${JSON.stringify(s.signals)}`,
    `  self-protection ${JSON.stringify(s.selfProtection)}`,
    '',
    `last ${s.transitions.length} transitions:`,
    ...s.transitions.map((t) => `  ${((t.atMs - s.startedAtMs) / 1000).toFixed(3).padStart(10)} s  ${t.from} -> ${t.to}  ${t.event}${t.requestId ? ` [${t.requestId}]` : ''}  ${t.why ?? ''}`),
  ];
  return lines.join('\n') + '\n';
}
