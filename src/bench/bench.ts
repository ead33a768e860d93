/**
 * `npm run bench`: every policy x every built-in scenario (same seed for all), a markdown
 * table on stdout, bench/out/results.json, one SVG chart per scenario in bench/out/, and a
 * PASS/FAIL line per scenario for memresize against the issue's targets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioSvg } from '../sim/chart.ts';
import { POLICIES } from '../sim/policies/index.ts';
import { TABLE_HEAD, tableRow, verdict } from '../sim/report.ts';
import type { GuestConfig } from '../config/schema.ts';
import { runSim, type RunResult } from '../sim/run.ts';
import { SCENARIOS } from '../sim/scenarios.ts';

export interface BenchOptions {
  outDir: string;
  seed: number;
  scenarios?: string[];
  /** The guest daemon's config for the memresize runs (defaults when absent). */
  config?: GuestConfig;
  write: (s: string) => void;
}

export async function runBench(opts: BenchOptions): Promise<{ allPass: boolean; results: RunResult[] }> {
  const t0 = performance.now();
  mkdirSync(opts.outDir, { recursive: true });
  const results: RunResult[] = [];
  const verdicts: { scenario: string; pass: boolean; failures: string[] }[] = [];
  opts.write(`${TABLE_HEAD}\n`);
  for (const s of SCENARIOS.filter((x) => !opts.scenarios || opts.scenarios.includes(x.name))) {
    const runs: RunResult[] = [];
    for (const p of POLICIES) runs.push(await runSim(s, p, { seed: opts.seed, ...(opts.config ? { config: opts.config } : {}) }));
    for (const r of runs) opts.write(`${tableRow(r)}\n`);
    results.push(...runs);
    const [ours, ...baselines] = runs;
    const v = verdict(ours!, baselines, POLICIES);
    verdicts.push({ scenario: s.name, ...v });
    writeFileSync(join(opts.outDir, `${s.name}.svg`), await scenarioSvg(`${s.name}: ${s.description}`, runs));
  }
  opts.write('\n');
  for (const v of verdicts) opts.write(`${v.pass ? 'PASS' : 'FAIL'} ${v.scenario}${v.failures.length ? `: ${v.failures.join('; ')}` : ''}\n`);
  const day = results.find((r) => r.scenario === 'diurnal' && r.policy === 'memresize');
  const wallS = (performance.now() - t0) / 1000;
  opts.write(`\nspeed: 24 h of one VM (diurnal, memresize) in ${day ? (day.wallMs / 1000).toFixed(2) : '-'} s wall; whole bench ${wallS.toFixed(1)} s\n`);
  writeFileSync(
    join(opts.outDir, 'results.json'),
    JSON.stringify({ seed: opts.seed, wallS, verdicts, runs: results.map(({ series: _s, kills, ...r }) => ({ ...r, firstKills: kills.slice(0, 10) })) }, null, 2),
  );
  return { allPass: verdicts.every((v) => v.pass), results };
}
