/**
 * The events the resize machine consumes. Signals (src/signals) and the host link
 * (src/io, src/protocol) translate the outside world into these; the machine knows
 * nothing else. Sizes are bytes of the virtio-mem device (memory beyond boot RAM).
 */
import type { MemSample, Severity } from '../policy/sizing.ts';

export type AckOutcome = 'granted' | 'partial' | 'denied' | 'busy';
export type DoneStatus = 'complete' | 'partial' | 'failed';

/** Why the host denied: `at-max` is the VM's ceiling (not an error, just the end of growth). */
export type DenyReason = 'at-max' | 'below-min' | 'budget' | 'rate-limited' | 'invalid' | 'shutting-down';

/** What motivated a request; it travels with the request so the host can log it. */
export interface PressureSnapshot {
  source: 'psi' | 'headroom' | 'relaxed' | 'reclaim' | 'abort';
  severity?: Severity;
  /** Stall as percent of wall time over the trigger window (or polling interval). */
  stallPercent?: number;
  memAvailableBytes?: number;
  /** Projected seconds until MemAvailable crosses the reserve at the current trend. */
  secondsToReserve?: number;
}

export interface PsiPressureEvent {
  type: 'psi.pressure';
  severity: Severity;
  stallPercent: number;
  /** When the stall was seen (the injected clock's ms), if known. */
  atMs?: number;
  /** What saw it: a kernel trigger, the polled stall rate, or a probe of a decayed stall floor. For the log. */
  via?: 'trigger' | 'poll' | 'probe';
}

export interface HeadroomLowEvent {
  type: 'headroom.low';
  memAvailableBytes: number;
  secondsToReserve: number;
  consumeBps: number;
}

export interface PsiRelaxedEvent {
  type: 'psi.relaxed';
}

export interface MeminfoSampleEvent extends MemSample {
  type: 'meminfo.sample';
  /** When it was read (the injected clock's ms): ages what the machine learned. */
  atMs: number;
}

/** The guest saw its own memory change (sysfs blocks / MemTotal): the only proof of a resize. */
export interface MemObservedEvent {
  type: 'mem.observed';
  pluggedBytes: number;
}

/** The composition root measured a grow (request sent -> memory observed). */
export interface GrowMeasuredEvent {
  type: 'grow.measured';
  latencyMs: number;
}

/** The composition root measured an ack roundtrip (a request sent once -> its ack). */
export interface AckMeasuredEvent {
  type: 'ack.measured';
  rttMs: number;
}

export interface HostConnectedEvent {
  type: 'host.connected';
}
export interface HostDisconnectedEvent {
  type: 'host.disconnected';
  reason?: string;
}

export interface HostWelcomeEvent {
  type: 'host.welcome';
  minBytes: number;
  maxBytes: number;
  blockBytes: number;
  requestedBytes: number;
  pluggedBytes: number;
}

export interface HostAckEvent {
  type: 'host.ack';
  id: string;
  outcome: AckOutcome;
  grantedBytes: number;
  reason?: DenyReason | string;
  retryAfterMs?: number;
}

export interface HostDoneEvent {
  type: 'host.done';
  id: string;
  status: DoneStatus;
  pluggedBytes: number;
}

export interface HostLimitsEvent {
  type: 'host.limits';
  minBytes: number;
  maxBytes: number;
}

export interface HostReclaimEvent {
  type: 'host.reclaim';
  id: string;
  bytes: number;
}

/** Budget freed for this VM since its grow was refused (protocol 2): the device size the host would grant now. */
export interface HostAvailableEvent {
  type: 'host.available';
  bytes: number;
}

export type ResizerEvent =
  | PsiPressureEvent
  | HeadroomLowEvent
  | PsiRelaxedEvent
  | MeminfoSampleEvent
  | MemObservedEvent
  | GrowMeasuredEvent
  | AckMeasuredEvent
  | HostConnectedEvent
  | HostDisconnectedEvent
  | HostWelcomeEvent
  | HostAckEvent
  | HostDoneEvent
  | HostLimitsEvent
  | HostReclaimEvent
  | HostAvailableEvent;

export type ResizerEventType = ResizerEvent['type'];

/** What the machine asks the outside to send (effects take these as params). */
export interface ResizeRequest {
  id: string;
  kind: 'grow' | 'shrink' | 'hold';
  targetBytes: number;
  fromBytes: number;
  reason: string;
  pressure: PressureSnapshot;
  /** 0 for the first send; each resend of the same id increments it. */
  attempt: number;
}

export interface ReclaimReply {
  id: string;
  accepted: boolean;
  /** What the guest will give back (0 when refused). */
  bytes: number;
  reason?: string;
}
