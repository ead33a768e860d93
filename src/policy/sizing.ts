/**
 * Sizing math of the resize machine: plain functions of plain data, shared by the daemon,
 * the simulator and the tests. All sizes are the virtio-mem device's plugged size in bytes
 * (the memory beyond boot RAM), which is what the host's min/max bound.
 */
import type { PolicyConfig } from '../config/schema.ts';
import { alignDown, alignUp, clamp } from './align.ts';

export interface Limits {
  minBytes: number;
  maxBytes: number;
  blockBytes: number;
}

/** What the guest last read from /proc/meminfo, with the trend the signals computed. */
export interface MemSample {
  memTotalBytes: number;
  memAvailableBytes: number;
  /**
   * d(MemAvailable - MemTotal)/dt in bytes per second: negative while memory is being
   * consumed; plugs and unplugs, which move both, do not count as consumption.
   */
  availableTrendBps: number;
}

export type Severity = 'some' | 'full';

/** Free memory the daemon defends: a floor, or a share of the VM's memory if larger. */
export function reserveBytes(memTotalBytes: number, policy: PolicyConfig): number {
  return Math.max(policy.reserveMinBytes, Math.round((memTotalBytes * policy.reservePercent) / 100));
}

export interface GrowStepInput {
  severity: Severity;
  sample: MemSample | null;
  growLatencyMs: number;
  /**
   * The soonest the next grow can be decided after this one lands (the machine's cooldown
   * after a grow): the step must carry consumption over that gap too.
   */
  regrowAfterMs?: number;
  policy: PolicyConfig;
  blockBytes: number;
  /** MemAvailable the grow must restore (stallFloorBytes); the reserve when absent. */
  floorBytes?: number;
}

/**
 * How much to ask for in one grow. The seed's point: size the chunk by the roundtrip.
 * Memory keeps being consumed while the request travels and the host plugs, and until the
 * next grow can land (one cooldown plus another roundtrip), so the step covers
 * `growLeadFactor` x (grow latency + regrow gap) of consumption at the current rate, plus what is
 * missing from the floor (reserve, or learned stall floor) now. A pressure-only signal (no trend) asks for the minimum
 * step, doubled when the stall is `full`. Plugging itself costs memmap taken from memory
 * already present, so that cost is added on top.
 */
export function growStepBytes(input: GrowStepInput): number {
  const { policy, sample } = input;
  const pressureStep = policy.growStepMinBytes * (input.severity === 'full' ? policy.severeStepMultiplier : 1);
  let demandStep = 0;
  if (sample) {
    const consumeBps = Math.max(0, -sample.availableTrendBps);
    const leadS = ((input.growLatencyMs + (input.regrowAfterMs ?? 0)) / 1000) * policy.growLeadFactor;
    const deficit = Math.max(0, (input.floorBytes ?? reserveBytes(sample.memTotalBytes, policy)) - sample.memAvailableBytes);
    demandStep = consumeBps * leadS + deficit;
  }
  const raw = Math.max(pressureStep, demandStep);
  const withMemmap = raw * (1 + policy.memmapPercent / 100);
  const bounded = clamp(withMemmap, policy.growStepMinBytes, Math.max(policy.growStepMinBytes, policy.growStepMaxBytes));
  return alignUp(bounded, input.blockBytes);
}

/** Where a grow by `stepBytes` lands: block-aligned and inside [min, max]. */
export function growTargetBytes(pluggedBytes: number, stepBytes: number, limits: Limits): number {
  const ceiling = alignDown(limits.maxBytes, limits.blockBytes);
  return clamp(alignUp(pluggedBytes + stepBytes, limits.blockBytes), limits.minBytes, ceiling);
}

export function hasRoomToGrow(pluggedBytes: number, limits: Limits): boolean {
  return alignDown(limits.maxBytes, limits.blockBytes) >= pluggedBytes + Math.max(1, limits.blockBytes);
}

/** The MemAvailable floor a PSI stall taught (MemAvailable then plus a margin), and when. */
export interface LearnedStall {
  floorBytes: number;
  atMs: number;
}

/**
 * MemAvailable the daemon defends: headroom.low projects the time to reach it, a grow
 * restores it, a shrink leaves it plus a band. The reserve, unless a PSI stall taught more:
 * MemAvailable counts page cache as free, yet cache the workload re-reads is working set,
 * and squeezing it stalls the workload while MemAvailable still looks ample. So a stall
 * raises the floor to MemAvailable then plus a margin; it decays back to the reserve with a
 * half-life, so that a working set that shrank can be given back.
 */
export function stallFloorBytes(sample: Pick<MemSample, 'memTotalBytes'>, policy: PolicyConfig, learned: LearnedStall | null, nowMs: number): number {
  const reserve = reserveBytes(sample.memTotalBytes, policy);
  if (!learned) return reserve;
  const ageMs = Math.max(0, nowMs - learned.atMs);
  return reserve + Math.max(0, learned.floorBytes - reserve) * 2 ** (-ageMs / policy.stallFloorHalfLifeMs);
}

/**
 * A PSI stall with `availableBytes` of MemAvailable (the lower of the samples around it:
 * during a burst the sample before the stall is stale and would teach a floor far too
 * high): the floor rises to that plus the margin, unless it is higher already. A stall near
 * the reserve teaches nothing new (anonymous growth: PSI fires late, when little is left).
 */
export function learnStall(availableBytes: number, sample: Pick<MemSample, 'memTotalBytes'>, policy: PolicyConfig, learned: LearnedStall | null, atMs: number): LearnedStall | null {
  const taught = availableBytes + policy.stallFloorMarginBytes;
  return taught > stallFloorBytes(sample, policy, learned, atMs) ? { floorBytes: taught, atMs } : learned;
}

/**
 * The probe zone: MemAvailable below the floor the last stall taught, where only the floor's
 * decay let it get. The decay bets that the working set shrank since; a stall here says it
 * did not, so the daemon reads PSI with each meminfo sample there and answers a smaller stall
 * than the trigger's (src/signals/pressure.ts) instead of waiting for the trigger's share.
 */
export function inProbeZone(memAvailableBytes: number, learned: LearnedStall | null): boolean {
  return learned !== null && memAvailableBytes < learned.floorBytes;
}

/** MemAvailable a shrink must leave: the floor plus one minimum grow step (a band, so the next small allocation does not undo it). */
export function shrinkKeepBytes(sample: MemSample, policy: PolicyConfig, learned: LearnedStall | null, nowMs: number): number {
  return stallFloorBytes(sample, policy, learned, nowMs) + policy.growStepMinBytes;
}

export interface ShrinkInput {
  sample: MemSample | null;
  pluggedBytes: number;
  limits: Limits;
  policy: PolicyConfig;
  /** 1 normally; lower after regretted shrinks or failed unplugs, so the next one asks for less. */
  shrinkScale: number;
  /** MemAvailable to leave (shrinkKeepBytes); reserve + one grow step when absent. */
  keepBytes?: number;
  /**
   * How long the shrink must hold (its cooldown): memory the current consumption rate
   * takes within that time is not surplus, so a ramp is not shrunk only to be regrown.
   */
  holdMs?: number;
}

/**
 * Shrink target: give back what free memory exceeds what must be kept (shrinkKeepBytes)
 * and what consumption takes while the shrink must hold, scaled down after regrets and
 * unplug failures, capped per step, and never below the VM's minimum.
 * Returns the current size when less than `shrinkStepMinBytes` can go (unless that is all
 * that is left above the minimum): a dribble of tiny unplugs costs more than it returns.
 */
export function shrinkTargetBytes(input: ShrinkInput): number {
  const { sample, pluggedBytes, limits, policy } = input;
  if (!sample) return pluggedBytes;
  const keep = input.keepBytes ?? reserveBytes(sample.memTotalBytes, policy) + policy.growStepMinBytes;
  const consumed = Math.max(0, -sample.availableTrendBps) * ((input.holdMs ?? 0) / 1000);
  const surplus = Math.max(0, sample.memAvailableBytes - keep - consumed);
  const room = Math.max(0, pluggedBytes - limits.minBytes);
  const available = Math.min(surplus, room);
  // Too little to be worth it, unless it is all that is left above the minimum.
  if (available < Math.min(policy.shrinkStepMinBytes, room)) return pluggedBytes;
  // The scale shrinks the ask after failures and regrets, but never under the minimum step:
  // a scaled ask too small to be made would never complete, and only a completed unplug
  // restores the scale.
  const scaled = Math.max(surplus * clamp(input.shrinkScale, 0, 1), policy.shrinkStepMinBytes);
  const release = alignDown(Math.min(scaled, available, policy.shrinkStepMaxBytes), limits.blockBytes);
  return release > 0 ? pluggedBytes - release : pluggedBytes;
}

/**
 * Host-initiated reclaim: the host asks for `askedBytes`; the guest gives what it can
 * spare down to its reserve (no extra band: the host asked, and a refusal costs it more).
 */
export function reclaimTargetBytes(input: Omit<ShrinkInput, 'shrinkScale'> & { askedBytes: number }): number {
  const { sample, pluggedBytes, limits, policy } = input;
  if (!sample) return pluggedBytes;
  const surplus = Math.max(0, sample.memAvailableBytes - reserveBytes(sample.memTotalBytes, policy));
  const room = Math.max(0, pluggedBytes - limits.minBytes);
  const release = alignDown(Math.min(surplus, input.askedBytes, room), limits.blockBytes);
  return pluggedBytes - release;
}

/** Time allowed for an unplug to be observed: unplug speed is per block, so it scales. */
export function unplugTimeoutMs(releaseBytes: number, baseMs: number, perGiBMs: number): number {
  return Math.round(baseMs + (Math.max(0, releaseBytes) / 2 ** 30) * perGiBMs);
}
