import { describe, expect, it } from 'vitest';
import { defaultGuestConfig } from '../../src/config/schema.ts';
import { MiB } from '../../src/config/units.ts';
import { globalShortage } from '../../src/policy/reclaim.ts';
import { kernelZoneFloorBytes } from '../../src/policy/zones.ts';

const policy = defaultGuestConfig().policy;

describe('global shortage', () => {
  it('is there while free memory above the watermarks is under the ample mark', () => {
    expect(globalShortage({ freeAboveHighBytes: 40 * MiB, kernelFreeAboveHighBytes: 40 * MiB }, policy)).toBe(true);
    expect(globalShortage({ freeAboveHighBytes: policy.stallAmpleFreeBytes - 1, kernelFreeAboveHighBytes: 1024 * MiB }, policy)).toBe(true);
  });

  it('is there while the kernel zones are at their watermarks, however much MOVABLE memory is free', () => {
    expect(globalShortage({ freeAboveHighBytes: 2048 * MiB, kernelFreeAboveHighBytes: kernelZoneFloorBytes(policy) - 1 }, policy)).toBe(true);
  });

  it('is not when plenty is free in the kernel zones and overall: a cgroup limit or compaction stalled', () => {
    expect(globalShortage({ freeAboveHighBytes: policy.stallAmpleFreeBytes, kernelFreeAboveHighBytes: kernelZoneFloorBytes(policy) }, policy)).toBe(false);
    expect(globalShortage({ freeAboveHighBytes: 8192 * MiB, kernelFreeAboveHighBytes: 8192 * MiB }, policy)).toBe(false);
  });
});
