import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { findPolicy } from '../../src/sim/policies/index.ts';
import { runSim } from '../../src/sim/run.ts';
import type { Scenario } from '../../src/sim/scenarios.ts';
import { traceWorkload } from '../../src/sim/workload.ts';

/** Anon 400 MiB, up to 1.8 GiB between 100 and 400 s, back down; file 100 MiB. */
const bump: Scenario = {
  name: 'bump',
  description: 'test bump',
  durationS: 900,
  bootBytes: 1 * GiB,
  maxBytes: 3 * GiB,
  workload: () =>
    traceWorkload(
      [0, 100, 130, 400, 401, 900].map((t, i) => ({ tS: t, anonBytes: [400, 400, 1800, 1800, 400, 400][i]! * MiB, fileBytes: 100 * MiB, unmovableBytes: 0, extra: {} })),
    ),
};

/** A slow ramp to 1.4 GiB that every policy can follow, then a drop. */
const ramp: Scenario = {
  ...bump,
  name: 'ramp',
  workload: () =>
    traceWorkload(
      [0, 100, 300, 400, 401, 900].map((t, i) => ({ tS: t, anonBytes: [400, 400, 1400, 1400, 400, 400][i]! * MiB, fileBytes: 100 * MiB, unmovableBytes: 0, extra: {} })),
    ),
};

/** The host agent's decisions for the simulated VM, in order. */
async function decisions(policy: string, scenario = bump) {
  let lines: Record<string, unknown>[] = [];
  await runSim(scenario, findPolicy(policy)!, {
    makeLog: (now) => {
      const m = makeMemoryLogger({ now });
      lines = m.lines;
      return m.log;
    },
  });
  return lines.filter((l) => l.msg === 'decision' && l.vm === 'vm').map((l) => ({ t: Number(l.time) / 1000, kind: String(l.kind), target: Number(l.target), plugged: Number(l.plugged) }));
}

describe('baseline policies follow their published behaviour', () => {
  it('hyperv-buffer reports only after its 45 s start delay and hot-adds in 128 MiB chunks', async () => {
    const d = await decisions('hyperv-buffer');
    expect(d.length).toBeGreaterThan(0);
    expect(d[0]!.t).toBeGreaterThanOrEqual(45);
    for (const x of d) expect(x.target % (128 * MiB)).toBe(0);
  });

  it('xen-selfballoon closes the whole gap up but only an eighth of it down, every 5 s', async () => {
    const d = await decisions('xen-selfballoon', ramp);
    const downs = d.filter((x) => x.kind === 'shrink' && x.t > 401);
    expect(downs.length).toBeGreaterThan(3);
    // Each step down is 1/8 of the remaining gap: the steps shrink by about 7/8 each time.
    const steps = downs.slice(0, 4).map((x) => x.plugged - x.target);
    for (let i = 1; i < steps.length; i++) {
      expect(steps[i]!).toBeLessThan(steps[i - 1]!);
      expect(steps[i]! / steps[i - 1]!).toBeGreaterThan(0.75);
    }
    for (let i = 1; i < d.length; i++) expect(d[i]!.t - d[i - 1]!.t).toBeGreaterThanOrEqual(4.9);
  });

  it('vmrd-chunk grows and shrinks one 128 MiB chunk at a time', async () => {
    const d = await decisions('vmrd-chunk');
    expect(d.some((x) => x.kind === 'grow')).toBe(true);
    for (const x of d) expect(Math.abs(x.target - x.plugged)).toBe(128 * MiB);
  });

  it('neon-threshold upscales by 1 GiB at most once per second', async () => {
    const d = await decisions('neon-threshold');
    const ups = d.filter((x) => x.kind === 'grow' && x.target - x.plugged === 1 * GiB);
    expect(ups.length).toBeGreaterThan(0);
    for (let i = 1; i < ups.length; i++) expect(ups[i]!.t - ups[i - 1]!.t).toBeGreaterThanOrEqual(1);
  });
});
