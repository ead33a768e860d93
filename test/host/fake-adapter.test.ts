import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { FakeAdapterSchema } from '../../src/config/host.ts';
import { GiB, MiB } from '../../src/config/units.ts';
import { makeFakeAdapter } from '../../src/host/fake-adapter.ts';
import { settle } from './helpers.ts';

const fake = (extra: Record<string, unknown> = {}) => {
  const clock = new SimulatedClock();
  return { clock, a: makeFakeAdapter(FakeAdapterSchema.parse({ kind: 'fake', latencyMs: 10, plugBytesPerSec: GiB, unplugBytesPerSec: 256 * MiB, ...extra }), clock) };
};

describe('fake virtio-mem adapter (virtual time)', () => {
  it('plugs after its latency at its speed, visible in size as it goes', async () => {
    const { clock, a } = fake();
    let result: unknown;
    void a.resize(512 * MiB).then((r) => (result = r));
    expect(a.state()).toMatchObject({ requestedBytes: 512 * MiB, pluggedBytes: 0 });
    clock.increment(10 + 250);
    expect(a.state()!.pluggedBytes).toBe(256 * MiB);
    clock.increment(250);
    await settle();
    expect(result).toEqual({ status: 'complete', pluggedBytes: 512 * MiB });
  });

  it('plugs only a share when configured (partial grant) and frees only a share on unplug', async () => {
    const { clock, a } = fake({ plugShare: 0.5, unplugShare: 0.25 });
    const grow = a.resize(1024 * MiB);
    clock.increment(2000);
    expect(await grow).toEqual({ status: 'partial', pluggedBytes: 512 * MiB });
    const shrink = a.resize(0);
    clock.increment(5000);
    expect(await shrink).toEqual({ status: 'partial', pluggedBytes: 384 * MiB });
  });

  it('moves nothing on every Nth resize when told to fail', async () => {
    const { clock, a } = fake({ failEvery: 2 });
    const one = a.resize(128 * MiB);
    clock.increment(1000);
    expect(await one).toMatchObject({ status: 'complete' });
    const two = a.resize(256 * MiB);
    clock.increment(1000);
    expect(await two).toEqual({ status: 'failed', pluggedBytes: 128 * MiB });
  });

  it('stops where it is when a newer resize supersedes the running one', async () => {
    const { clock, a } = fake();
    const first = a.resize(1024 * MiB);
    clock.increment(10 + 500);
    const second = a.resize(128 * MiB);
    expect(await first).toEqual({ status: 'partial', pluggedBytes: 512 * MiB, superseded: true });
    clock.increment(10 + 1500);
    expect(await second).toEqual({ status: 'complete', pluggedBytes: 128 * MiB });
  });
});
