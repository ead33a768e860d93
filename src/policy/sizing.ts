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
}

/**
 * How much to ask for in one grow. The seed's point: size the chunk by the roundtrip.
 * Memory keeps being consumed while the request travels and the host plugs, and until the
 * next grow can land (one cooldown plus another roundtrip), so the step covers
 * `growLeadFactor` x (grow latency + regrow gap) of consumption at the current rate, plus what is
 * missing from the reserve now. A pressure-only signal (no trend) asks for the minimum
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
    const deficit = Math.max(0, reserveBytes(sample.memTotalBytes, policy) - sample.memAvailableBytes);
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

export interface ShrinkInput {
  sample: MemSample | null;
  pluggedBytes: number;
  limits: Limits;
  policy: PolicyConfig;
  /** 1 normally; halved after each failed unplug so the next attempt asks for less. */
  shrinkScale: number;
}

/**
 * Shrink target: give back what free memory exceeds the reserve plus one minimum grow
 * step (the band keeps a shrink from being undone by the next small allocation), scaled
 * down after unplug failures, capped per step, and never below the VM's minimum.
 * Returns the current size when nothing worth a block can go.
 */
export function shrinkTargetBytes(input: ShrinkInput): number {
  const { sample, pluggedBytes, limits, policy } = input;
  if (!sample) return pluggedBytes;
  const keep = reserveBytes(sample.memTotalBytes, policy) + policy.growStepMinBytes;
  const surplus = Math.max(0, sample.memAvailableBytes - keep) * clamp(input.shrinkScale, 0, 1);
  const room = Math.max(0, pluggedBytes - limits.minBytes);
  const release = alignDown(Math.min(surplus, policy.shrinkStepMaxBytes, room), limits.blockBytes);
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
