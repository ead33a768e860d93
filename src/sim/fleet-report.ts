/**
 * Text renderings of fleet runs and the fleet targets (docs/simulator.md, "Fleets"):
 * - the budget is never exceeded: the agent's holds stay <= the budget in force at every tick, but
 *   for the give-back after an operator lowered it below them (the agent can only ask);
 * - a VM whose demand fits its weighted share is not hurt by its neighbours: no OOM kill and
 *   `some` stall <= 2 % in it, whatever the others do;
 * - those VMs hold <= 1.15 x their oracle (a VM held at its share is not judged on size);
 * - no baseline dominates memresize on fleet footprint, the worst VM's stall and OOM kills.
 */
import type { FleetResult } from './fleet.ts';
import { dominatesOutcome } from './report.ts';

const f = (n: number, d = 2) => n.toFixed(d);
const gib = (b: number) => (b / 2 ** 30).toFixed(2);

export const FLEET_HEAD =
  '| fleet | policy | footprint GiB·h | oracle GiB·h | fp/oracle (VMs within share) | holds mean GiB | holds peak / budget GiB | some stall % worst (within share / all) | OOM kills (within share / all) | requests ok/partial/denied | reclaim asked | wall ms |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|';

export function fleetRow(r: FleetResult): string {
  const m = r.metrics;
  const q = r.vms.reduce((s, v) => ({ ok: s.ok + v.metrics.requests.granted, partial: s.partial + v.metrics.requests.partial, denied: s.denied + v.metrics.requests.denied }), { ok: 0, partial: 0, denied: 0 });
  return `| ${r.fleet} | ${r.policy} | ${f(m.footprintGiBh)} | ${f(m.oracleGiBh)} | ${f(m.fitFootprintOverOracle)} | ${gib(m.meanHoldsBytes)} | ${gib(m.peakHoldsBytes)} / ${gib(m.budgetBytes)}${m.minBudgetBytes < m.budgetBytes ? ` (cut to ${gib(m.minBudgetBytes)})` : ''} | ${f(m.worstFitStallSomePercent, 3)} / ${f(m.worstStallSomePercent, 3)} | ${m.oomKillsInFitVms} / ${m.oomKills} | ${q.ok}/${q.partial}/${q.denied} | ${m.reclaimAsked} | ${r.wallMs.toFixed(0)} |`;
}

export const FLEET_VM_HEAD =
  '| VM | weight | share GiB | within share | peak held GiB | fp/oracle | some stall % | OOM kills | requests ok/partial/denied |\n|---|---|---|---|---|---|---|---|---|';

export function fleetVmRows(r: FleetResult): string {
  return r.vms
    .map((v) => {
      const m = v.metrics;
      return `| ${v.name} | ${v.weight} | ${gib(v.shareBytes)} | ${v.fitsShare ? 'yes' : 'no'} | ${gib(v.peakHoldsBytes)} | ${f(m.footprintOverOracle)} | ${f(m.stallSomePercent, 3)} | ${m.oomKills} | ${m.requests.granted}/${m.requests.partial}/${m.requests.denied} |`;
    })
    .join('\n');
}

/** One line per lowered max or budget that caught the VMs holding more: how long they took to give it back. */
export function limitsLines(r: FleetResult): string {
  const when = (s: number | null, what: string) => (s === null ? `still above it while that ${what} held` : `at or under it ${f(s, 1)} s later`);
  return [
    ...r.limits.map((l) => `- ${r.policy}: at ${l.atS} s ${l.vm}'s max lowered to ${gib(l.maxBytes)} GiB while it held ${gib(l.heldBytes)} GiB: ${when(l.compliedAfterS, 'max')}`),
    ...r.budgets.map((b) => `- ${r.policy}: at ${b.atS} s the budget lowered to ${gib(b.budgetBytes)} GiB while the VMs held ${gib(b.heldBytes)} GiB: ${when(b.compliedAfterS, 'budget')}`),
  ].join('\n');
}

/**
 * a dominates b on a fleet: no worse on fleet footprint, the worst VM's stall and all OOM
 * kills, strictly better on one. All VMs count here, those past their shares too: a policy
 * that kills a squeezed VM is not as good as one that does not.
 */
export function fleetDominates(a: FleetResult, b: FleetResult): boolean {
  const outcome = (m: FleetResult['metrics']) => ({ footprint: m.footprintGiBh, stall: m.worstStallSomePercent, kills: m.oomKills });
  return dominatesOutcome(outcome(a.metrics), outcome(b.metrics));
}

export function fleetVerdict(ours: FleetResult, baselines: readonly FleetResult[]): { pass: boolean; failures: string[] } {
  const m = ours.metrics;
  const failures: string[] = [];
  if (m.overBudgetBytes > 0) failures.push(`holds went ${gib(m.overBudgetBytes)} GiB over the budget in force (outside a lowered budget's give-back)`);
  for (const v of ours.vms.filter((x) => x.fitsShare)) {
    if (v.metrics.oomKills > 0) failures.push(`${v.name}: ${v.metrics.oomKills} OOM kill(s) within its share`);
    if (v.metrics.stallSomePercent > 2) failures.push(`${v.name}: some stall ${f(v.metrics.stallSomePercent)}% > 2% within its share`);
  }
  if (m.fitFootprintOverOracle > 1.15) failures.push(`footprint ${f(m.fitFootprintOverOracle)}x oracle > 1.15 (VMs within share)`);
  for (const b of baselines) if (fleetDominates(b, ours)) failures.push(`${b.policy} dominates`);
  return { pass: failures.length === 0, failures };
}
