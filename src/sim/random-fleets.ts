/**
 * Random fleets (`--fleet random:<seed>`): 3 to 6 random VMs (each a `random:` scenario's VM,
 * workload, pinned memory and link faults) with weights 1-3 on one host agent whose budget is
 * 30-90 % of what their devices could plug together. Nobody tuned the daemon or the agent
 * to these: `npm run bench:fleet -- --random N` checks the fleet promises on them.
 */
import { MiB } from '../config/units.ts';
import type { FleetScenario } from './fleet-scenarios.ts';
import { randomScenario } from './random-scenarios.ts';
import { makeRng } from './rng.ts';

const PREFIX = 'random:';

export function randomFleet(seed: number): FleetScenario {
  const rng = makeRng(seed).fork('random-fleet');
  const n = 3 + Math.floor(rng.next() * 4);
  const vms = Array.from({ length: n }, (_, i) => {
    // Each VM is a random scenario of its own, with a seed drawn from the fleet's.
    const vmSeed = 1 + Math.floor(rng.next() * 1e9);
    const s = randomScenario(vmSeed);
    return { name: `vm-${i}`, seed: vmSeed, bootBytes: s.bootBytes, maxBytes: s.maxBytes, weight: 1 + Math.floor(rng.next() * 3), ...(s.host ? { host: s.host } : {}), workload: s.workload };
  });
  const devices = vms.reduce((sum, v) => sum + v.maxBytes, 0);
  const budgetBytes = Math.max(128 * MiB, Math.round(((0.3 + 0.6 * rng.next()) * devices) / (128 * MiB)) * 128 * MiB);
  const gib = (b: number) => (b / 2 ** 30).toFixed(2);
  return {
    name: `${PREFIX}${seed}`,
    description: `${n} random VMs (${vms.map((v) => `random:${v.seed} weight ${v.weight}`).join(', ')}) on a budget of ${gib(budgetBytes)} GiB (${Math.round((budgetBytes / devices) * 100)} % of their devices' max); 1 h`,
    durationS: 3600,
    budgetBytes,
    vms: vms.map(({ seed: _s, ...v }) => v),
  };
}

/** `random:<seed>` names a random fleet where a fleet name is taken. */
export function parseRandomFleet(name: string): FleetScenario | undefined {
  const digits = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : '';
  return /^\d{1,9}$/.test(digits) ? randomFleet(Number(digits)) : undefined;
}
