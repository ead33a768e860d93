/**
 * `npm run bench:fleet` (also `memresize bench --fleet`): every policy on every built-in
 * fleet (several VMs on one real host agent and budget): a markdown table per fleet, the
 * per-VM table of memresize, a PASS/FAIL line per fleet against the fleet targets
 * (src/sim/fleet-report.ts), bench/out/fleet.json and one SVG chart per fleet.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetSvg } from '../sim/chart.ts';
import { runFleet, type FleetResult } from '../sim/fleet.ts';
import { FLEET_HEAD, FLEET_VM_HEAD, fleetRow, fleetVerdict, fleetVmRows, limitsLines } from '../sim/fleet-report.ts';
import { FLEETS } from '../sim/fleet-scenarios.ts';
import { POLICIES } from '../sim/policies/index.ts';

export interface FleetBenchOptions {
  outDir: string;
  seed: number;
  fleets?: string[];
  write: (s: string) => void;
}

export async function runFleetBench(opts: FleetBenchOptions): Promise<{ allPass: boolean; results: FleetResult[] }> {
  const t0 = performance.now();
  mkdirSync(opts.outDir, { recursive: true });
  const results: FleetResult[] = [];
  const verdicts: { fleet: string; pass: boolean; failures: string[] }[] = [];
  for (const fleet of FLEETS.filter((x) => !opts.fleets || opts.fleets.includes(x.name))) {
    const runs: FleetResult[] = [];
    for (const p of POLICIES) runs.push(await runFleet(fleet, p, { seed: opts.seed }));
    const [ours, ...baselines] = runs;
    opts.write(`### ${fleet.name}: ${fleet.description}\n\n${FLEET_HEAD}\n${runs.map(fleetRow).join('\n')}\n\n${ours!.policy}, per VM:\n\n${FLEET_VM_HEAD}\n${fleetVmRows(ours!)}\n\n`);
    const lowered = runs.map(limitsLines).filter((x) => x).join('\n');
    if (lowered) opts.write(`Maxes lowered by the operator:\n\n${lowered}\n\n`);
    results.push(...runs);
    verdicts.push({ fleet: fleet.name, ...fleetVerdict(ours!, baselines) });
    writeFileSync(join(opts.outDir, `${fleet.name}.svg`), await fleetSvg(fleet.name, fleet.description, runs));
  }
  for (const v of verdicts) opts.write(`${v.pass ? 'PASS' : 'FAIL'} ${v.fleet}${v.failures.length ? `: ${v.failures.join('; ')}` : ''}\n`);
  const wallS = (performance.now() - t0) / 1000;
  opts.write(`\nwhole fleet bench ${wallS.toFixed(1)} s\n`);
  writeFileSync(
    join(opts.outDir, 'fleet.json'),
    JSON.stringify({ seed: opts.seed, wallS, verdicts, runs: results.map(({ holds: _h, vms, ...r }) => ({ ...r, vms: vms.map(({ series: _s, ...v }) => v) })) }, null, 2),
  );
  return { allPass: verdicts.every((v) => v.pass), results };
}
