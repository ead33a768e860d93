/**
 * `npm run bench:random`: every policy on N random scenarios (src/sim/random-scenarios.ts).
 * Prints, per policy, the distribution of footprint/oracle and `some` stall, the runs with
 * OOM kills although the VM's max held the demand, and how often a baseline dominates
 * memresize; then memresize's worst runs, each reproducible with
 * `memresize sim --scenario random:<seed> --seed <seed>` (the run's seed is the scenario's).
 * Writes bench/out/random.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICIES } from '../sim/policies/index.ts';
import { randomScenario } from '../sim/random-scenarios.ts';
import { dominates } from '../sim/report.ts';
import { runSim, type RunResult } from '../sim/run.ts';
import type { GuestConfig } from '../config/schema.ts';

export interface RandomBenchOptions {
  outDir: string;
  /** Scenario seeds first..first+count-1. */
  first: number;
  count: number;
  write: (s: string) => void;
  /** The guest daemon's config for the memresize runs (defaults when absent). */
  config?: GuestConfig;
}

export interface PolicySummary {
  policy: string;
  fpMedian: number;
  fpP90: number;
  stallMedian: number;
  stallP90: number;
  stallMax: number;
  /** Runs with an OOM kill although the max held the demand. */
  killRuns: number;
  /** Runs where this policy dominates memresize. */
  dominatesOurs: number;
}

/** Nearest-rank quantile; NaN for no values. */
export const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! : NaN;
};

export function summarize(byScenario: RunResult[][]): PolicySummary[] {
  return POLICIES.map((p, i) => {
    const runs = byScenario.map((rs) => rs[i]!);
    const fp = runs.map((r) => r.metrics.footprintOverOracle);
    const stall = runs.map((r) => r.metrics.stallSomePercent);
    return {
      policy: p.name,
      fpMedian: quantile(fp, 0.5),
      fpP90: quantile(fp, 0.9),
      stallMedian: quantile(stall, 0.5),
      stallP90: quantile(stall, 0.9),
      stallMax: Math.max(...stall),
      killRuns: runs.filter((r) => r.metrics.maxHoldsDemand && r.metrics.oomKills > 0).length,
      dominatesOurs: i === 0 ? 0 : byScenario.filter((rs) => dominates(rs[i]!, rs[0]!)).length,
    };
  });
}

export async function runRandomBench(opts: RandomBenchOptions): Promise<PolicySummary[]> {
  const t0 = performance.now();
  mkdirSync(opts.outDir, { recursive: true });
  const byScenario: RunResult[][] = [];
  for (let seed = opts.first; seed < opts.first + opts.count; seed++) {
    const s = randomScenario(seed);
    const runs: RunResult[] = [];
    for (const p of POLICIES) runs.push(await runSim(s, p, { seed, seriesPoints: 1, ...(opts.config ? { config: opts.config } : {}) }));
    byScenario.push(runs);
  }
  const summary = summarize(byScenario);
  const f = (n: number, d = 2) => n.toFixed(d);
  opts.write(`${opts.count} random scenarios (seeds ${opts.first}..${opts.first + opts.count - 1}), 1 h each\n\n`);
  opts.write('| policy | fp/oracle median | fp/oracle p90 | some stall % median | p90 | max | runs with OOM kills (max held the demand) | runs where it dominates memresize |\n|---|---|---|---|---|---|---|---|\n');
  for (const s of summary) opts.write(`| ${s.policy} | ${f(s.fpMedian)} | ${f(s.fpP90)} | ${f(s.stallMedian, 3)} | ${f(s.stallP90, 3)} | ${f(s.stallMax, 3)} | ${s.killRuns} | ${s.policy === 'memresize' ? '-' : s.dominatesOurs} |\n`);
  const worst = [...byScenario].sort((a, b) => badness(b[0]!) - badness(a[0]!)).slice(0, 5);
  opts.write('\nmemresize, worst runs (reproduce: memresize sim --scenario random:N --seed N):\n');
  for (const rs of worst) {
    const m = rs[0]!.metrics;
    const doms = rs.slice(1).filter((r) => dominates(r, rs[0]!)).map((r) => r.policy);
    opts.write(`- ${rs[0]!.scenario}: fp ${f(m.footprintOverOracle)}x, some stall ${f(m.stallSomePercent, 3)} %, ${m.oomKills} OOM kill(s)${doms.length ? `, dominated by ${doms.join(', ')}` : ''}\n`);
  }
  const wallS = (performance.now() - t0) / 1000;
  opts.write(`\nwall ${wallS.toFixed(1)} s\n`);
  writeFileSync(
    join(opts.outDir, 'random.json'),
    JSON.stringify({ first: opts.first, count: opts.count, wallS, summary, runs: byScenario.flat().map(({ series: _s, kills: _k, ...r }) => r) }, null, 2),
  );
  return summary;
}

/** How far a run is from the targets (footprint over 1.15x, stall over 2 %, kills), for ranking. */
function badness(r: RunResult): number {
  const m = r.metrics;
  return Math.max(0, m.footprintOverOracle - 1.15) * 10 + Math.max(0, m.stallSomePercent - 2) + (m.maxHoldsDemand ? m.oomKills * 5 : 0);
}
