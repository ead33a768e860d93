/**
 * Built-in fleets: several VMs with their own workloads and daemons on one host agent and
 * one budget (docs/simulator.md, "Fleets"). Same seed, same run. Each VM's share is the
 * agent's fair rule: min(its max, budget x weight / total weight).
 */
import { GiB, MiB } from '../config/units.ts';
import type { HostParams } from './host.ts';
import type { Rng } from './rng.ts';
import { parseRandomFleet } from './random-fleets.ts';
import { knots, sampled, wander } from './scenarios.ts';
import type { VmShape } from './vm.ts';
import type { Workload } from './workload.ts';

export interface FleetVm extends VmShape {
  name: string;
  /** Share of the budget under contention (the agent's `weight`). */
  weight?: number;
  host?: Partial<HostParams>;
  workload(rng: Rng): Workload;
}

/** An operator's live change of a VM's max (as `memresize host` applies on SIGHUP). */
export interface LimitsEvent {
  atS: number;
  vm: string;
  maxBytes: number;
}

/** An operator's live change of the host budget (SIGHUP as well). */
export interface BudgetEvent {
  atS: number;
  budgetBytes: number;
}

export type FleetEvent = LimitsEvent | BudgetEvent;

export interface FleetScenario {
  name: string;
  description: string;
  durationS: number;
  /** Device memory all VMs together may hold (the agent's `budgetBytes`) at the start. */
  budgetBytes: number;
  vms: FleetVm[];
  events?: FleetEvent[];
}

const H = 3600;

/** A web tier: anon swelling and falling with a period, phase-shifted per VM. */
function webVm(name: string, phaseS: number): FleetVm {
  return {
    name,
    bootBytes: 1 * GiB,
    maxBytes: 4 * GiB,
    workload: (rng) => {
      const n = wander(rng, 10 * MiB);
      return sampled(2 * H, 5, (t) => ({ anonBytes: 600 * MiB + 700 * MiB * (1 - Math.cos((2 * Math.PI * (t + phaseS)) / 2400)) / 2 + n(t), fileBytes: 300 * MiB }));
    },
  };
}

/** Batch jobs: +jobBytes anon ramped over 2 min, held 8 min, freed; one every 30 min from startS. */
function batchVm(name: string, startS: number, jobBytes: number, over: Partial<FleetVm> = {}): FleetVm {
  return {
    name,
    bootBytes: 1 * GiB,
    maxBytes: 3 * GiB,
    workload: (rng) => {
      const n = wander(rng, 8 * MiB);
      return sampled(2 * H, 2, (t) => {
        const ph = (((t - startS) % 1800) + 1800) % 1800;
        const job = t < startS ? 0 : ph < 120 ? (jobBytes * ph) / 120 : ph < 600 ? jobBytes : 0;
        return { anonBytes: 400 * MiB + job + n(t), fileBytes: 200 * MiB };
      });
    },
    ...over,
  };
}

export const FLEETS: FleetScenario[] = [
  {
    name: 'fleet-rogue',
    description: 'Four VMs, 6 GiB of budget (1.5 GiB share each): one leaks until its max, two web VMs swell and fall, one runs batch jobs; 2 h.',
    durationS: 2 * H,
    budgetBytes: 6 * GiB,
    vms: [
      webVm('web-a', 0),
      webVm('web-b', 1200),
      batchVm('batch', 300, 1 * GiB, { maxBytes: 4 * GiB }),
      {
        name: 'rogue',
        bootBytes: 1 * GiB,
        maxBytes: 4 * GiB,
        workload: (rng) => {
          const n = wander(rng, 5 * MiB);
          const leak = knots([[0, 400 * MiB], [2 * H, 5 * GiB]]);
          return sampled(2 * H, 5, (t) => ({ anonBytes: leak(t) + n(t), fileBytes: 150 * MiB }));
        },
      },
    ],
  },
  {
    name: 'fleet-batch',
    description: 'Five VMs, 6 GiB of budget: a database (weight 2, 2 GiB share) warming up to a steady 1.8 GiB in 10 min, four batch VMs (1 GiB share) with 700 MiB jobs at staggered times; 2 h.',
    durationS: 2 * H,
    budgetBytes: 6 * GiB,
    vms: [
      {
        name: 'db',
        bootBytes: 1 * GiB,
        maxBytes: 3 * GiB,
        weight: 2,
        workload: (rng) => {
          const n = wander(rng, 20 * MiB);
          const warm = knots([[0, 600 * MiB], [600, 1.8 * GiB]]);
          return sampled(2 * H, 5, (t) => ({ anonBytes: warm(t) + n(t), fileBytes: 500 * MiB }));
        },
      },
      ...[0, 1, 2, 3].map((i) => batchVm(`batch-${i}`, 120 + 450 * i, 700 * MiB)),
    ],
  },
  {
    name: 'fleet-squeeze',
    description: 'The fleet-rogue VMs without the rogue. The operator lowers batch\'s max to 256 MiB 5 s after its first job ends (memory still plugged) and restores it before the next job, then lowers web-b\'s to 512 MiB near its peak for the rest of the run; 2 h.',
    durationS: 2 * H,
    budgetBytes: 6 * GiB,
    vms: [webVm('web-a', 0), webVm('web-b', 1200), batchVm('batch', 0, 1 * GiB, { maxBytes: 4 * GiB })],
    events: [
      { atS: 605, vm: 'batch', maxBytes: 256 * MiB },
      { atS: 1790, vm: 'batch', maxBytes: 4 * GiB },
      { atS: 4700, vm: 'web-b', maxBytes: 512 * MiB },
    ],
  },
  {
    name: 'fleet-budget-cut',
    description: 'The fleet-squeeze VMs on 6 GiB. The operator cuts the host budget to 1.25 GiB at 34 min, in batch\'s second job (the VMs hold more: the agent asks the ones above their new shares for the excess), and gives it back at 50 min; 2 h.',
    durationS: 2 * H,
    budgetBytes: 6 * GiB,
    vms: [webVm('web-a', 0), webVm('web-b', 1200), batchVm('batch', 0, 1 * GiB, { maxBytes: 4 * GiB })],
    events: [
      { atS: 2040, budgetBytes: 1.25 * GiB },
      { atS: 3000, budgetBytes: 6 * GiB },
    ],
  },
];

export function findFleet(name: string): FleetScenario | undefined {
  return FLEETS.find((f) => f.name === name) ?? parseRandomFleet(name);
}
