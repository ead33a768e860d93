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
import { randomFleet } from '../sim/random-fleets.ts';
import { quantile } from './random.ts';

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
    if (lowered) opts.write(`Maxes and budgets lowered by the operator:\n\n${lowered}\n\n`);
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

export interface RandomFleetBenchOptions {
  outDir: string;
  first: number;
  count: number;
  write: (s: string) => void;
}

/**
 * memresize on `count` random fleets (random:first..): does every VM within its share keep
 * it (no OOM kill, stall <= 2 %) whatever its random neighbours do, and does the fleet stay in
 * its budget? Prints the distributions and the worst fleets; writes bench/out/random-fleets.json.
 */
export async function runRandomFleetBench(opts: RandomFleetBenchOptions): Promise<{ allPass: boolean }> {
  const t0 = performance.now();
  mkdirSync(opts.outDir, { recursive: true });
  const memresize = POLICIES[0]!;
  const runs: FleetResult[] = [];
  for (let seed = opts.first; seed < opts.first + opts.count; seed++) runs.push(await runFleet(randomFleet(seed), memresize, { seed }));
  const vms = runs.flatMap((r) => r.vms);
  const fit = vms.filter((v) => v.fitsShare);
  const stalls = fit.map((v) => v.metrics.stallSomePercent);
  const ratios = runs.map((r) => r.metrics.fitFootprintOverOracle).filter((x) => x > 0);
  const over = runs.filter((r) => r.metrics.overBudgetBytes > 0);
  const verdicts = runs.map((r) => ({ fleet: r.fleet, ...fleetVerdict(r, []) }));
  const q = (xs: number[], p: number) => (xs.length ? quantile(xs, p).toFixed(3) : '-');
  opts.write(
    `${runs.length} random fleets (random:${opts.first}..${opts.first + opts.count - 1}), ${vms.length} VMs, ${fit.length} of them within their shares all run; memresize\n\n` +
      `| figure | value |\n|---|---|\n` +
      `| fleets whose holdings went over the budget | ${over.length} |\n` +
      `| VMs within share with an OOM kill | ${fit.filter((v) => v.metrics.oomKills > 0).length} |\n` +
      `| VMs within share with some stall > 2 % | ${fit.filter((v) => v.metrics.stallSomePercent > 2).length} |\n` +
      `| some stall % of VMs within share: median / p90 / max | ${q(stalls, 0.5)} / ${q(stalls, 0.9)} / ${q(stalls, 1)} |\n` +
      `| fleet footprint / oracle (VMs within share): median / p90 / max | ${q(ratios, 0.5)} / ${q(ratios, 0.9)} / ${q(ratios, 1)} |\n` +
      `| VMs past their shares: OOM kills (sum) | ${vms.filter((v) => !v.fitsShare).reduce((s, v) => s + v.metrics.oomKills, 0)} |\n\n`,
  );
  const failed = verdicts.filter((v) => !v.pass);
  opts.write(`${failed.length ? 'FAIL' : 'PASS'}: ${runs.length - failed.length} of ${runs.length} fleets meet the fleet targets\n`);
  for (const v of failed) opts.write(`- ${v.fleet}: ${v.failures.join('; ')} (memresize sim --fleet ${v.fleet} --seed ${v.fleet.slice('random:'.length)})\n`);
  const worst = [...runs].sort((a, b) => b.metrics.fitFootprintOverOracle - a.metrics.fitFootprintOverOracle).slice(0, 3);
  opts.write(`\nlargest footprints: ${worst.map((r) => `${r.fleet} ${r.metrics.fitFootprintOverOracle.toFixed(2)}x`).join(', ')}\n`);
  const wallS = (performance.now() - t0) / 1000;
  opts.write(`wall ${wallS.toFixed(1)} s\n`);
  writeFileSync(
    join(opts.outDir, 'random-fleets.json'),
    JSON.stringify({ first: opts.first, count: opts.count, wallS, verdicts, runs: runs.map(({ holds: _h, vms: rvms, ...r }) => ({ ...r, vms: rvms.map(({ series: _s, ...v }) => v) })) }, null, 2),
  );
  return { allPass: failed.length === 0 };
}
