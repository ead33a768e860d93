/**
 * Random scenarios: VMs and workloads the built-in scenarios do not show, drawn from a seed
 * (`random:<seed>` wherever a scenario name is taken). The controller is meant to work on
 * workloads nobody tuned it for; `npm run bench:random` runs many of these and reports
 * distributions, so a change that only helps the eleven named scenarios shows up as one
 * that does not help here.
 *
 * A scenario is a VM (boot RAM 512 MiB..4 GiB, device max 1.5..8 GiB), an anonymous demand
 * made of phases (hold, ramp at 0.2..50 MB/s, burst at 0.1..2 GB/s, release, periodic jobs)
 * that stays within 85 % of the VM's max, an independent file working set (20 MiB..1.5 GiB,
 * stepping between levels), noise, sometimes pinned memory, and sometimes a lossy link.
 */
import { GiB, MiB } from '../config/units.ts';
import type { LinkFaults } from './host.ts';
import { makeRng, type Rng } from './rng.ts';
import type { Scenario } from './scenarios.ts';
import type { TracePoint } from './trace-csv.ts';
import { traceWorkload } from './workload.ts';

const PREFIX = 'random:';
const MB = 1e6;

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
const between = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.next();
/** Log-uniform: rates and sizes spread over orders of magnitude. */
const logBetween = (rng: Rng, lo: number, hi: number): number => lo * (hi / lo) ** rng.next();

type Phase = (t: number, from: number) => number;

/** One phase of the anonymous demand: its length and its value over time from a start level. */
function drawPhase(rng: Rng, cap: number, floor: number): { lengthS: number; at: Phase } {
  const lengthS = between(rng, 120, 900);
  const kind = pick(rng, ['hold', 'ramp', 'burst', 'release', 'jobs'] as const);
  const target = between(rng, floor, cap);
  switch (kind) {
    case 'hold':
      return { lengthS, at: (_t, from) => from };
    case 'ramp':
    case 'burst': {
      const rate = kind === 'ramp' ? logBetween(rng, 0.2 * MB, 50 * MB) : logBetween(rng, 100 * MB, 2000 * MB);
      return { lengthS, at: (t, from) => (target >= from ? Math.min(target, from + rate * t) : Math.max(target, from - rate * t)) };
    }
    case 'release':
      return { lengthS, at: (t, from) => (t < 1 ? from : floor) };
    case 'jobs': {
      const period = between(rng, 60, 600);
      const size = between(rng, 0.1, 0.6) * (cap - floor);
      const rise = between(rng, 1, period / 2);
      return { lengthS, at: (t, from) => { const ph = t % period; return Math.min(cap, from + (ph < rise ? (size * ph) / rise : ph < period / 2 ? size : 0)); } };
    }
  }
}

export function randomScenario(seed: number): Scenario {
  const rng = makeRng(seed).fork('random-scenario');
  const bootBytes = pick(rng, [512 * MiB, 1 * GiB, 2 * GiB, 4 * GiB]);
  const maxBytes = Math.round(logBetween(rng, 1.5 * GiB, 8 * GiB) / (128 * MiB)) * 128 * MiB;
  const durationS = 3600;
  const vm = bootBytes + maxBytes;
  const fileTop = Math.min(logBetween(rng, 20 * MiB, 1.5 * GiB), 0.3 * vm);
  // Demand plus the kernel's share stays within the VM's max: an OOM kill is then the policy's.
  const cap = 0.85 * vm - fileTop - 200 * MiB;
  const floor = Math.min(cap, logBetween(rng, 50 * MiB, 0.5 * bootBytes));
  const pinned = rng.chance(0.25) ? between(rng, 0.1, 0.3) : 0;
  const faults: LinkFaults = rng.chance(0.25) ? { dropProb: between(rng, 0.05, 0.3), lateProb: between(rng, 0, 0.2), lateMs: between(rng, 500, 4000) } : { dropProb: 0, lateProb: 0, lateMs: 0 };
  const noise = between(rng, 0, 30 * MiB);

  const phases: { startS: number; lengthS: number; at: Phase }[] = [];
  for (let t = 0; t < durationS; ) {
    const p = drawPhase(rng, cap, floor);
    phases.push({ startS: t, ...p });
    t += p.lengthS;
  }
  const fileLevels = phases.map(() => logBetween(rng, Math.min(20 * MiB, fileTop), fileTop));
  const pts: TracePoint[] = [];
  let level = floor;
  let ix = 0;
  let n = 0;
  for (let t = 0; t <= durationS; t += 1) {
    while (ix + 1 < phases.length && t >= phases[ix + 1]!.startS) {
      level = phases[ix]!.at(phases[ix + 1]!.startS - phases[ix]!.startS, level);
      ix++;
    }
    n = n * 0.95 + rng.normal() * noise * 0.3;
    const anon = Math.max(0, Math.min(cap, phases[ix]!.at(t - phases[ix]!.startS, level) + n));
    const file = fileLevels[ix]!;
    const unmovable = pinned > 0 && Math.floor(t / 900) % 2 === 1 ? pinned * (anon + file) : 0;
    pts.push({ tS: t, anonBytes: anon, fileBytes: file, unmovableBytes: unmovable, extra: {} });
  }
  const gib = (b: number) => (b / GiB).toFixed(2);
  return {
    name: `${PREFIX}${seed}`,
    description: `boot ${gib(bootBytes)} GiB + up to ${gib(maxBytes)} GiB; anon ${gib(floor)}..${gib(cap)} GiB in ${phases.length} phases; file <= ${gib(fileTop)} GiB${pinned ? `; ${Math.round(pinned * 100)} % pinned at times` : ''}${faults.dropProb ? `; ${Math.round(faults.dropProb * 100)} % of messages lost` : ''}`,
    durationS,
    bootBytes,
    maxBytes,
    host: { faultsAt: () => faults },
    workload: () => traceWorkload(pts),
  };
}

/** `random:<seed>` names a random scenario. */
export function parseRandomScenario(name: string): Scenario | undefined {
  const digits = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : '';
  return /^\d{1,9}$/.test(digits) ? randomScenario(Number(digits)) : undefined;
}
