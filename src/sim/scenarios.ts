/**
 * The built-in scenarios (issue 5), each generated from a seed: same seed, same run.
 * Sizes: `bootBytes` is the VM's boot RAM, `maxBytes` the most the virtio-mem device may
 * plug (so the VM's max is boot + max). Workloads are traces built by generators, with
 * noise from the seeded RNG, replayed like a recorded trace.
 */
import { GiB, MiB } from '../config/units.ts';
import type { DeviceParams } from './device.ts';
import type { GuestParams } from './guest.ts';
import type { HostParams, LinkFaults } from './host.ts';
import { makeRng, type Rng } from './rng.ts';
import type { TracePoint } from './trace-csv.ts';
import { traceWorkload, type Workload } from './workload.ts';
import { parseRandomScenario } from './random-scenarios.ts';

export interface Scenario {
  name: string;
  description: string;
  durationS: number;
  bootBytes: number;
  maxBytes: number;
  guest?: Partial<GuestParams>;
  host?: Partial<HostParams>;
  device?: Partial<DeviceParams>;
  workload(rng: Rng): Workload;
}

const NO_FAULTS: LinkFaults = { dropProb: 0, lateProb: 0, lateMs: 0 };

/** Measured here (linux-and-qemu.md): plug ~50 ms + fast, unplug ~0.27 s per 128 MiB. */
export function defaultDevice(maxBytes: number, over: Partial<DeviceParams> = {}): DeviceParams {
  return {
    blockBytes: 2 * MiB,
    maxBytes,
    plugLatencyMs: 50,
    plugBytesPerS: 36 * GiB,
    unplugLatencyMs: 20,
    unplugBytesPerS: (128 * MiB) / 0.27,
    stuckMs: 3000,
    ...over,
  };
}

export function defaultHost(maxBytes: number, over: Partial<HostParams> = {}): HostParams {
  return {
    latencyMedianMs: 2,
    latencySigma: 0.6,
    minBytes: 0,
    maxBytes,
    maxStepBytes: maxBytes,
    requestsPerSec: 5,
    burst: 10,
    budgetAt: () => Number.POSITIVE_INFINITY,
    faultsAt: () => NO_FAULTS,
    ...over,
  };
}

/** Samples f every stepS seconds into trace points. */
export function sampled(durationS: number, stepS: number, f: (t: number) => Partial<TracePoint> & { anonBytes: number; fileBytes: number }): Workload {
  const pts: TracePoint[] = [];
  for (let t = 0; t <= durationS + 1e-9; t += stepS) {
    const v = f(t);
    pts.push({ tS: t, anonBytes: Math.max(0, v.anonBytes), fileBytes: Math.max(0, v.fileBytes), unmovableBytes: v.unmovableBytes ?? 0, extra: {} });
  }
  return traceWorkload(pts);
}

/** A slowly wandering noise (random walk pulled back to 0), in bytes. */
export function wander(rng: Rng, amplitude: number): (t: number) => number {
  let v = 0;
  return () => (v = v * 0.95 + rng.normal() * amplitude * 0.3);
}

/** Piecewise-linear ramp through (t, value) knots. */
export function knots(ks: [number, number][]): (t: number) => number {
  return (t) => {
    if (t <= ks[0]![0]) return ks[0]![1];
    for (let i = 1; i < ks.length; i++) {
      const [t1, v1] = ks[i]!;
      const [t0, v0] = ks[i - 1]!;
      if (t <= t1) return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
    }
    return ks[ks.length - 1]![1];
  };
}

const H = 3600;

/** A batch job every 20 min: +1.5 GiB anon over 5 min, freed at once (sawtooth, unplug-resistant). */
function sawtoothJob(t: number): number {
  const ph = t % 1200;
  return ph >= 300 && ph < 600 ? (1.5 * GiB * (ph - 300)) / 300 : 0;
}

/** Anon 500 MiB; +2 GiB within 1 s at 10 min and again at 40 min, each held 5 min (spike, flaky-host). */
function spikeWorkload() {
  return sampled(1 * H, 0.5, (t) => {
    const on = (t >= 600 && t < 900) || (t >= 2400 && t < 2700);
    const edge = t >= 599 && t < 600 ? t - 599 : t >= 2399 && t < 2400 ? t - 2399 : on ? 1 : 0;
    return { anonBytes: 500 * MiB + 2 * GiB * edge, fileBytes: 150 * MiB };
  });
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'steady',
    description: 'Flat 700 MiB anon + 300 MiB file working set with small noise, 2 h.',
    durationS: 2 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 20 * MiB);
      return sampled(2 * H, 10, () => ({ anonBytes: 700 * MiB + n(0), fileBytes: 300 * MiB }));
    },
  },
  {
    name: 'slow-ramp',
    description: 'Anon 300 MiB -> 2.5 GiB over 90 min, then flat; 200 MiB file working set, 2 h.',
    durationS: 2 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 10 * MiB);
      const r = knots([[0, 300 * MiB], [90 * 60, 2.5 * GiB]]);
      return sampled(2 * H, 5, (t) => ({ anonBytes: r(t) + n(t), fileBytes: 200 * MiB }));
    },
  },
  {
    name: 'spike',
    description: 'Anon 500 MiB; +2 GiB within 1 s at 10 min and again at 40 min, each held 5 min; 1 h.',
    durationS: 1 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: spikeWorkload,
  },
  {
    name: 'fast-anon',
    description: 'A 512 MiB VM, no swap: anon grows at 100 MB/s from 120 MiB to 2.5 GB at t=60 s, held 5 min, then freed; 15 min.',
    durationS: 15 * 60,
    bootBytes: 512 * MiB,
    maxBytes: 3.5 * GiB,
    workload: () => {
      const top = 2.5e9;
      const rise = (top - 120 * MiB) / 100e6;
      const r = knots([[60, 120 * MiB], [60 + rise, top], [360 + rise, top], [361 + rise, 120 * MiB]]);
      return sampled(15 * 60, 0.1, (t) => ({ anonBytes: r(t), fileBytes: 40 * MiB }));
    },
  },
  {
    name: 'sawtooth',
    description: 'Batch jobs every 20 min: +1.5 GiB anon over 5 min, freed at once; base 400 MiB; 3 h.',
    durationS: 3 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 10 * MiB);
      return sampled(3 * H, 1, (t) => ({ anonBytes: 400 * MiB + sawtoothJob(t) + n(t), fileBytes: 200 * MiB }));
    },
  },
  {
    name: 'leak',
    description: 'A leak of 0.5 MiB/s from 400 MiB until past the VM\'s max (4 GiB); 2.5 h. The max cannot hold the end: OOM is expected.',
    durationS: 2.5 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: () => sampled(2.5 * H, 5, (t) => ({ anonBytes: 400 * MiB + 0.5 * MiB * t, fileBytes: 150 * MiB })),
  },
  {
    name: 'cache-heavy',
    description: 'Small anon (300 MiB) beside a 1.5-2.5 GiB file working set that drifts; 2 h.',
    durationS: 2 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 10 * MiB);
      return sampled(2 * H, 5, (t) => ({ anonBytes: 300 * MiB + n(t), fileBytes: 2 * GiB + 0.5 * GiB * Math.sin((2 * Math.PI * t) / 3000) }));
    },
  },
  {
    name: 'diurnal',
    description: 'A day: anon 800 MiB + up to 1.2 GiB following the clock, file 500-800 MiB, noise; 24 h.',
    durationS: 24 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 30 * MiB);
      return sampled(24 * H, 30, (t) => {
        const day = 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / (24 * H));
        return { anonBytes: 800 * MiB + 1.2 * GiB * day + n(t), fileBytes: 500 * MiB + 300 * MiB * day };
      });
    },
  },
  {
    name: 'host-contention',
    description: 'Slow ramp to 2 GiB anon while the host can lend only 768 MiB between 20 and 60 min (partial grants); 1.5 h.',
    durationS: 1.5 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    host: { budgetAt: (t) => (t >= 1200 && t < 3600 ? 768 * MiB : Number.POSITIVE_INFINITY) },
    workload: (rng) => {
      const n = wander(rng, 10 * MiB);
      const r = knots([[0, 400 * MiB], [1800, 2 * GiB], [4200, 2 * GiB], [4500, 600 * MiB]]);
      return sampled(1.5 * H, 5, (t) => ({ anonBytes: r(t) + n(t), fileBytes: 200 * MiB }));
    },
  },
  {
    name: 'flaky-host',
    description: 'The spike workload while 30% of messages are lost and 20% arrive 3 s late; 1 h.',
    durationS: 1 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    host: { faultsAt: () => ({ dropProb: 0.3, lateProb: 0.2, lateMs: 3000 }) },
    workload: spikeWorkload,
  },
  {
    name: 'unplug-resistant',
    description: 'The sawtooth, with 30% of the guest\'s memory unmovable (pinned) during every other job; 3 h.',
    durationS: 3 * H,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 10 * MiB);
      return sampled(3 * H, 1, (t) => {
        const anon = 400 * MiB + sawtoothJob(t) + n(t);
        const pinned = Math.floor(t / 1200) % 2 === 1 ? 0.3 * (anon + 200 * MiB) : 0;
        return { anonBytes: anon, fileBytes: 200 * MiB, unmovableBytes: pinned };
      });
    },
  },
];

/** The demo (npm start): a spike, a host short of budget, a flaky link and pinned memory. */
export const DEMO_SCENARIO: Scenario = {
  name: 'demo',
  description: 'A +1.5 GiB spike while the host lends only 1.5 GiB, 20% of messages lost, 30% of memory pinned when the spike ends; 10 min.',
  durationS: 600,
  bootBytes: 1 * GiB,
  maxBytes: 3 * GiB,
  host: {
    budgetAt: (t) => (t < 240 ? 1.5 * GiB : Number.POSITIVE_INFINITY),
    faultsAt: (t) => (t >= 60 && t < 200 ? { dropProb: 0.2, lateProb: 0.1, lateMs: 2000 } : NO_FAULTS),
  },
  workload: () =>
    sampled(600, 0.5, (t) => {
      const spike = knots([[60, 0], [61, 1.5 * GiB], [200, 1.5 * GiB], [201, 1.7 * GiB], [300, 1.7 * GiB], [302, 0]])(t);
      return { anonBytes: 500 * MiB + spike, fileBytes: 150 * MiB, unmovableBytes: t >= 300 ? 0.3 * (500 * MiB + 150 * MiB + spike) : 0 };
    }),
};

/** A built-in scenario, the demo, or `random:<seed>` (random-scenarios.ts). */
export function findScenario(name: string): Scenario | undefined {
  return [...SCENARIOS, DEMO_SCENARIO].find((s) => s.name === name) ?? parseRandomScenario(name);
}

export function workloadOf(s: Scenario, seed: number): Workload {
  return s.workload(makeRng(seed).fork(`workload:${s.name}`));
}
