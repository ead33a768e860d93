import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../../src/config/schema.ts';
import { GiB, MiB } from '../../src/config/units.ts';
import { backoffMs, jitterOf } from '../../src/policy/backoff.ts';
import { growStepBytes, growTargetBytes, hasRoomToGrow, inProbeZone, learnStall, reclaimTargetBytes, reserveBytes, shrinkKeepBytes, shrinkTargetBytes, stallFloorBytes } from '../../src/policy/sizing.ts';

const policy = PolicySchema.parse({});
const limits = { minBytes: 0, maxBytes: 2 * GiB, blockBytes: 2 * MiB };

describe('grow step', () => {
  it('asks for the minimum step on pressure without a trend, doubled for a full stall', () => {
    const some = growStepBytes({ severity: 'some', sample: null, growLatencyMs: 1000, policy, blockBytes: 2 * MiB });
    const full = growStepBytes({ severity: 'full', sample: null, growLatencyMs: 1000, policy, blockBytes: 2 * MiB });
    expect(some).toBeGreaterThanOrEqual(policy.growStepMinBytes);
    expect(some).toBeLessThan(policy.growStepMinBytes * 1.1);
    expect(full).toBeGreaterThanOrEqual(2 * policy.growStepMinBytes);
  });

  it('sizes the step by allocation rate times the measured grow latency (the roundtrip)', () => {
    const sample = { memTotalBytes: 512 * MiB, memAvailableBytes: 300 * MiB, availableTrendBps: -100e6 };
    const fast = growStepBytes({ severity: 'some', sample, growLatencyMs: 1000, policy, blockBytes: 2 * MiB });
    const slow = growStepBytes({ severity: 'some', sample, growLatencyMs: 3000, policy, blockBytes: 2 * MiB });
    // 100 MB/s x 1 s x growLeadFactor 2 = 200 MB plus memmap.
    expect(fast).toBeGreaterThanOrEqual(200e6);
    expect(slow).toBeGreaterThan(fast * 2);
    expect(fast % (2 * MiB)).toBe(0);
  });

  it('adds what is missing from the reserve', () => {
    const sample = { memTotalBytes: 4 * GiB, memAvailableBytes: 0, availableTrendBps: 0 };
    const step = growStepBytes({ severity: 'some', sample, growLatencyMs: 1000, policy, blockBytes: 2 * MiB });
    expect(step).toBeGreaterThanOrEqual(reserveBytes(4 * GiB, policy));
  });

  it('never grows past max or below min, and stays block aligned', () => {
    expect(growTargetBytes(2 * GiB - 4 * MiB, 1 * GiB, limits)).toBe(2 * GiB);
    expect(growTargetBytes(0, 3 * MiB, { ...limits, minBytes: 256 * MiB })).toBe(256 * MiB);
    expect(growTargetBytes(1 * MiB, 3 * MiB, limits) % (2 * MiB)).toBe(0);
    expect(hasRoomToGrow(2 * GiB, limits)).toBe(false);
    expect(hasRoomToGrow(2 * GiB - 2 * MiB, limits)).toBe(true);
  });
});

describe('shrink target', () => {
  const sample = { memTotalBytes: 3 * GiB, memAvailableBytes: 2 * GiB, availableTrendBps: 0 };
  it('keeps the reserve plus one grow step free', () => {
    const target = shrinkTargetBytes({ sample, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1 });
    const released = 2 * GiB - target;
    expect(released).toBeLessThanOrEqual(2 * GiB - reserveBytes(3 * GiB, policy) - policy.growStepMinBytes);
    expect(released).toBeLessThanOrEqual(policy.shrinkStepMaxBytes);
    expect(released).toBeGreaterThan(0);
  });
  it('asks for less after unplug failures and never goes under min', () => {
    const full = shrinkTargetBytes({ sample, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1 });
    const half = shrinkTargetBytes({ sample, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 0.25 });
    expect(2 * GiB - half).toBeLessThan(2 * GiB - full);
    expect(shrinkTargetBytes({ sample, pluggedBytes: 300 * MiB, limits: { ...limits, minBytes: 256 * MiB }, policy, shrinkScale: 1 })).toBe(256 * MiB);
  });
  it('does not count what the current consumption takes while the shrink must hold as surplus', () => {
    // 1 GiB available: about 700 MiB of surplus, under the per-step cap.
    const flat = { ...sample, memAvailableBytes: 1 * GiB };
    const free = shrinkTargetBytes({ sample: flat, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1, holdMs: 20_000 });
    const ramp = { ...flat, availableTrendBps: -20 * MiB };
    const ramping = shrinkTargetBytes({ sample: ramp, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1, holdMs: 20_000 });
    // 20 MiB/s for 20 s: 400 MiB less to give back.
    expect(ramping - free).toBeGreaterThanOrEqual(400 * MiB - limits.blockBytes);
    expect(ramping - free).toBeLessThanOrEqual(400 * MiB + limits.blockBytes);
    const steep = { ...flat, availableTrendBps: -200 * MiB };
    expect(shrinkTargetBytes({ sample: steep, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1, holdMs: 20_000 })).toBe(2 * GiB);
  });
  it('does not dribble: a surplus under the minimum step stays, and a scaled ask is never under it', () => {
    const keep = reserveBytes(3 * GiB, policy) + policy.growStepMinBytes;
    const small = { ...sample, memAvailableBytes: keep + policy.shrinkStepMinBytes / 2 };
    expect(shrinkTargetBytes({ sample: small, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1 })).toBe(2 * GiB);
    // ...unless it is all that is left above the VM's minimum.
    const last = shrinkTargetBytes({ sample: small, pluggedBytes: 16 * MiB, limits, policy, shrinkScale: 1 });
    expect(last).toBe(0);
    // After failures the ask is scaled down, but not under the minimum step (it could never complete).
    const enough = { ...sample, memAvailableBytes: keep + 200 * MiB };
    const scaled = shrinkTargetBytes({ sample: enough, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 0.125 });
    expect(2 * GiB - scaled).toBe(policy.shrinkStepMinBytes);
  });
  it('gives nothing without a sample or without surplus', () => {
    expect(shrinkTargetBytes({ sample: null, pluggedBytes: GiB, limits, policy, shrinkScale: 1 })).toBe(GiB);
    const tight = { ...sample, memAvailableBytes: 100 * MiB };
    expect(shrinkTargetBytes({ sample: tight, pluggedBytes: GiB, limits, policy, shrinkScale: 1 })).toBe(GiB);
    expect(reclaimTargetBytes({ sample: tight, pluggedBytes: GiB, limits, policy, askedBytes: GiB })).toBe(GiB);
  });
});

describe('stall floor', () => {
  const sample = { memTotalBytes: 2 * GiB, memAvailableBytes: 900 * MiB, availableTrendBps: 0 };
  const reserve = reserveBytes(2 * GiB, policy);
  const halfLife = policy.stallFloorHalfLifeMs;

  it('is the reserve until a stall teaches more: MemAvailable at the stall plus the margin', () => {
    expect(stallFloorBytes(sample, policy, null, 0)).toBe(reserve);
    const learned = learnStall(600 * MiB, sample, policy, null, 1000);
    expect(learned).toEqual({ floorBytes: 600 * MiB + policy.stallFloorMarginBytes, atMs: 1000 });
    expect(stallFloorBytes(sample, policy, learned, 1000)).toBe(600 * MiB + policy.stallFloorMarginBytes);
  });

  it('decays back to the reserve with the half-life', () => {
    const learned = { floorBytes: reserve + 400 * MiB, atMs: 0 };
    expect(stallFloorBytes(sample, policy, learned, halfLife)).toBeCloseTo(reserve + 200 * MiB, -3);
    expect(stallFloorBytes(sample, policy, learned, 2 * halfLife)).toBeCloseTo(reserve + 100 * MiB, -3);
    expect(stallFloorBytes(sample, policy, learned, 50 * halfLife)).toBeCloseTo(reserve, -3);
  });

  it('only rises: a stall at less MemAvailable than the floor (anonymous growth, PSI late) teaches nothing', () => {
    const high = learnStall(700 * MiB, sample, policy, null, 0);
    expect(learnStall(300 * MiB, sample, policy, high, 10)).toBe(high);
    expect(learnStall(10 * MiB, sample, policy, null, 0)).toBeNull();
    const higher = learnStall(800 * MiB, sample, policy, high, 10);
    expect(higher?.floorBytes).toBe(800 * MiB + policy.stallFloorMarginBytes);
  });

  it('puts MemAvailable below the learned floor (not the decayed one) in the probe zone', () => {
    const learned = { floorBytes: reserve + 400 * MiB, atMs: 0 };
    expect(inProbeZone(reserve + 399 * MiB, learned)).toBe(true);
    expect(inProbeZone(reserve + 400 * MiB, learned)).toBe(false);
    // Long decayed, the floor no longer defends it: MemAvailable gets there, and it is a probe.
    expect(stallFloorBytes(sample, policy, learned, 10 * halfLife)).toBeLessThan(reserve + 200 * MiB);
    expect(inProbeZone(reserve + 200 * MiB, learned)).toBe(true);
    expect(inProbeZone(0, null)).toBe(false);
  });

  it('makes shrinks leave the floor plus one grow step', () => {
    const learned = learnStall(1200 * MiB, sample, policy, null, 0);
    const roomy = { ...sample, memAvailableBytes: 1800 * MiB };
    const keep = shrinkKeepBytes(roomy, policy, learned, 0);
    expect(keep).toBe(1200 * MiB + policy.stallFloorMarginBytes + policy.growStepMinBytes);
    const target = shrinkTargetBytes({ sample: roomy, pluggedBytes: 2 * GiB, limits, policy, shrinkScale: 1, keepBytes: keep });
    expect(2 * GiB - target).toBeLessThanOrEqual(1800 * MiB - keep);
    expect(2 * GiB - target).toBeGreaterThan(1800 * MiB - keep - limits.blockBytes);
  });
});

describe('backoff', () => {
  it('grows exponentially up to the cap with equal jitter', () => {
    expect(backoffMs(0, 200, 5000, 0)).toBe(100);
    expect(backoffMs(0, 200, 5000, 1)).toBe(200);
    expect(backoffMs(3, 200, 5000, 0.5)).toBe(1200);
    expect(backoffMs(20, 200, 5000, 1)).toBe(5000);
  });
  it('derives jitter deterministically in [0, 1)', () => {
    expect(jitterOf('a-1#0')).toBe(jitterOf('a-1#0'));
    expect(jitterOf('a-1#0')).not.toBe(jitterOf('a-1#1'));
    for (const k of ['', 'x', 'vm-42#7']) {
      expect(jitterOf(k)).toBeGreaterThanOrEqual(0);
      expect(jitterOf(k)).toBeLessThan(1);
    }
  });
});
