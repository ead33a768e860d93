import type { MachineConfig, PolicyConfig, TimingConfig } from '../config/schema.ts';
import type { LearnedStall, Limits, MemSample } from '../policy/sizing.ts';
import type { AckOutcome, PressureSnapshot, ResizeRequest } from './events.ts';

export interface ResizerInput {
  config: MachineConfig;
  /**
   * Prefix of every request id, unique per daemon start (e.g. boot id + pid), so a
   * restarted daemon never reuses an id the host's idempotency cache still remembers.
   */
  idPrefix: string;
  /** Plugged bytes the guest observes at start (sysfs), if known. */
  pluggedBytes?: number;
}

export interface ResizerContext {
  timing: TimingConfig;
  policy: PolicyConfig;
  idPrefix: string;
  /** Sequence number of the last request id issued. */
  seq: number;
  linkUp: boolean;
  /** Hellos sent in the current handshake (it resends until helloTimeoutMs). */
  helloAttempts: number;
  /** Degraded periods since the last welcome: the retry waits double each time, up to degradedRetryMs. */
  degradedRounds: number;
  limits: Limits;
  /** Plugged bytes as the GUEST observes them: the only truth about completion. */
  pluggedBytes: number;
  observedKnown: boolean;
  /** What the host last said it requested of the device (welcome, ack). */
  hostRequestedBytes: number;
  sample: MemSample | null;
  /** When `sample` was read (the clock of the meminfo.sample events). */
  sampleAtMs: number;
  /** The MemAvailable floor the last PSI stall taught (decays; see stallFloorBytes). */
  learnedStall: LearnedStall | null;
  /** A PSI stall waiting for the next sample to tell how much MemAvailable was left (MemAvailable before it, and when). */
  pendingStall: { atMs: number; memAvailableBytes: number } | null;
  /** MemAvailable samples of the last `stallLookbackMs`, oldest first: where a stall's trigger window began. */
  recentAvailable: readonly { atMs: number; bytes: number }[];
  /** Smoothed ack roundtrip and its variation (RFC 6298), and the recent samples the ack timeout is taken from; null until one is measured. */
  ackRtt: { srttMs: number; rttvarMs: number; recentMs: number[] } | null;
  /** Measured request -> memory observed latency of recent grows (EWMA). */
  growLatencyMs: number;
  /** The request in flight (awaiting-host) or being carried out (growing, shrinking). */
  request: ResizeRequest | null;
  /** What the host granted for the current request: the size growing/shrinking waits for. */
  targetBytes: number | null;
  busyCount: number;
  busyRetryAfterMs: number;
  lastOutcome: AckOutcome | 'timeout' | null;
  lastReason: string | null;
  /** The host denied growth at the VM's ceiling: no grow requests until limits or usage change. */
  atCeiling: boolean;
  /** Pressure seen while cooling; acted on when the cooldown ends. */
  pendingPressure: PressureSnapshot | null;
  /** The need behind the last grow the host denied for budget: asked for again when the host says budget freed (`available`, protocol 2). */
  deniedPressure: PressureSnapshot | null;
  cooldownMs: number;
  /** Why the machine is cooling: pressure while cooling after a shrink means the shrink cut too deep. */
  cooldownAfter: 'grow' | 'shrink' | 'unplug-failure' | 'deny' | 'hold' | null;
  /** What the last completed shrink gave back: pressure after it is its fault only if that much would have prevented it. */
  lastShrinkReleasedBytes: number;
  /** Shrinks followed by pressure (regretted), net of shrinks that held: lengthens the wait before the next one. */
  shrinkRegrets: number;
  /** Consecutive failed or partial unplugs. */
  unplugFailures: number;
  /** Share of the computed surplus a shrink asks for: halves with each regretted shrink, doubles with each that held. */
  shrinkScale: number;
  /** The same after unplug failures: halves per failed or partial unplug, back to 1 once an unplug completes. */
  unplugScale: number;
}

export function initialContext(input: ResizerInput): ResizerContext {
  const plugged = input.pluggedBytes ?? 0;
  return {
    timing: input.config.timing,
    policy: input.config.policy,
    idPrefix: input.idPrefix,
    seq: 0,
    linkUp: false,
    helloAttempts: 0,
    degradedRounds: 0,
    // Until the host's welcome tells the real bounds, nothing may be requested.
    limits: { minBytes: 0, maxBytes: 0, blockBytes: 2 * 1024 * 1024 },
    pluggedBytes: plugged,
    observedKnown: input.pluggedBytes !== undefined,
    hostRequestedBytes: plugged,
    sample: null,
    sampleAtMs: 0,
    learnedStall: null,
    pendingStall: null,
    recentAvailable: [],
    ackRtt: null,
    growLatencyMs: input.config.policy.growLatencyInitialMs,
    request: null,
    targetBytes: null,
    busyCount: 0,
    busyRetryAfterMs: 0,
    lastOutcome: null,
    lastReason: null,
    atCeiling: false,
    pendingPressure: null,
    deniedPressure: null,
    cooldownMs: 0,
    cooldownAfter: null,
    lastShrinkReleasedBytes: 0,
    shrinkRegrets: 0,
    unplugFailures: 0,
    shrinkScale: 1,
    unplugScale: 1,
  };
}
