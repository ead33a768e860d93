/**
 * Text renderings of run results: the markdown table of the bench and of `memresize sim`,
 * and the PASS/FAIL verdict of a scenario against the targets.
 */
import type { RunResult } from './run.ts';
import type { Policy } from './policies/types.ts';

const f = (n: number | null, d = 2) => (n === null ? '-' : n.toFixed(d));

export const TABLE_HEAD =
  '| scenario | policy | footprint GiB·h | oracle GiB·h | fp/oracle | some stall % | full stall % | OOM kills | requests (ok/partial/denied/dropped) | unplug partial+failed | grow p50 ms | grow p99 ms | dir changes/h | wall ms |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';

export function tableRow(r: RunResult): string {
  const m = r.metrics;
  const q = m.requests;
  return `| ${r.scenario} | ${r.policy} | ${f(m.footprintGiBh)} | ${f(m.oracleGiBh)} | ${f(m.footprintOverOracle)} | ${f(m.stallSomePercent, 3)} | ${f(m.stallFullPercent, 3)} | ${m.oomKills} | ${q.granted}/${q.partial}/${q.denied}/${q.dropped} | ${q.unplugPartial + q.unplugFailed} | ${f(m.growLatencyP50Ms, 0)} | ${f(m.growLatencyP99Ms, 0)} | ${f(m.directionChangesPerHour, 1)} | ${r.wallMs.toFixed(0)} |`;
}

/** The three figures dominance compares: lower is better on each. */
export interface Outcome {
  footprint: number;
  stall: number;
  kills: number;
}

/** x dominates y: no worse on footprint, stall and OOM kills, strictly better on one. */
export function dominatesOutcome(x: Outcome, y: Outcome): boolean {
  const noWorse = x.footprint <= y.footprint && x.stall <= y.stall && x.kills <= y.kills;
  const better = x.footprint < y.footprint || x.stall < y.stall || x.kills < y.kills;
  return noWorse && better;
}

const outcome = (r: RunResult): Outcome => ({ footprint: r.metrics.footprintGiBh, stall: r.metrics.stallSomePercent, kills: r.metrics.oomKills });

/** a dominates b on one VM's run. */
export function dominates(a: RunResult, b: RunResult): boolean {
  return dominatesOutcome(outcome(a), outcome(b));
}

export interface Verdict {
  pass: boolean;
  failures: string[];
}

/** The targets for memresize on one scenario. */
export function verdict(ours: RunResult, baselines: readonly RunResult[], policies: readonly Policy[]): Verdict {
  const m = ours.metrics;
  const failures: string[] = [];
  if (m.maxHoldsDemand && m.oomKills > 0) failures.push(`${m.oomKills} OOM kill(s) although the max holds the demand`);
  if (m.footprintOverOracle > 1.15) failures.push(`footprint ${m.footprintOverOracle.toFixed(2)}x oracle > 1.15`);
  if (m.stallSomePercent > 2) failures.push(`some stall ${m.stallSomePercent.toFixed(2)}% > 2%`);
  const window = policies.find((p) => p.name === ours.policy)?.psiWindowUs;
  const peers = baselines.filter((b) => window !== undefined && policies.find((p) => p.name === b.policy)?.psiWindowUs === window && b.metrics.growLatencyP99Ms !== null);
  const fastest = Math.min(...peers.map((b) => b.metrics.growLatencyP99Ms!));
  if (m.growLatencyP99Ms !== null && Number.isFinite(fastest) && m.growLatencyP99Ms > fastest) failures.push(`grow p99 ${m.growLatencyP99Ms} ms > ${fastest} ms of the fastest baseline with the same PSI window`);
  for (const b of baselines) if (dominates(b, ours)) failures.push(`${b.policy} dominates`);
  return { pass: failures.length === 0, failures };
}
