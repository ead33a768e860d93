import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runDemo } from '../../sim/demo.ts';
import { findPolicy, POLICIES } from '../../sim/policies/index.ts';
import { TABLE_HEAD, tableRow } from '../../sim/report.ts';
import { runSim } from '../../sim/run.ts';
import { findScenario, SCENARIOS, type Scenario } from '../../sim/scenarios.ts';
import { parseTraceCsv, TraceParseError } from '../../sim/trace-csv.ts';
import { traceWorkload } from '../../sim/workload.ts';
import { GiB } from '../../config/units.ts';
import { runFleet } from '../../sim/fleet.ts';
import { FLEET_HEAD, FLEET_VM_HEAD, fleetRow, fleetVmRows, limitsLines } from '../../sim/fleet-report.ts';
import { FLEETS, findFleet } from '../../sim/fleet-scenarios.ts';

export function registerSim(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('sim')
    .description('Simulate a VM in virtual time: a built-in scenario or a recorded trace, under one policy (the real daemon code for memresize).')
    .option('--scenario <name>', `built-in scenario: ${SCENARIOS.map((s) => s.name).join(', ')}, or random:<seed> (a random VM and workload, see npm run bench:random)`)
    .option('--trace <file>', 'trace CSV to replay (t_s,anon_bytes,file_bytes[,unmovable_bytes,...])')
    .option('--policy <name>', `policy: ${POLICIES.map((p) => p.name).join(', ')}`, 'memresize')
    .option('--seed <n>', 'seed', '1')
    .option('--boot <GiB>', 'boot RAM of the VM for --trace, GiB', '1')
    .option('--max <GiB>', 'most the device may plug for --trace, GiB', '3')
    .option('--fleet <name>', `built-in fleet (several VMs, one host agent and budget): ${FLEETS.map((f) => f.name).join(', ')}, or random:<seed> (3-6 random VMs on a random budget)`)
    .option('--json', 'print the result as JSON')
    .option('--demo', 'run the demo (spike, partial grant, flaky host, unplug failure) and write out/demo.svg')
    .action(async (opts: { scenario?: string; trace?: string; fleet?: string; policy: string; seed: string; boot: string; max: string; json?: boolean; demo?: boolean }) => {
      const write = (s: string) => process.stdout.write(s);
      if (opts.demo) return runDemo('out/demo.svg', write, Number(opts.seed));
      const policy = findPolicy(opts.policy);
      if (!policy) {
        process.stderr.write(`memresize sim: unknown policy '${opts.policy}' (one of ${POLICIES.map((p) => p.name).join(', ')})\n`);
        return setExit(2);
      }
      if (opts.fleet) {
        const fleet = findFleet(opts.fleet);
        if (!fleet) {
          process.stderr.write(`memresize sim: unknown fleet '${opts.fleet}' (one of ${FLEETS.map((f) => f.name).join(', ')}, or random:<seed>)\n`);
          return setExit(2);
        }
        const r = await runFleet(fleet, policy, { seed: Number(opts.seed) });
        if (opts.json) write(`${JSON.stringify({ ...r, holds: undefined, vms: r.vms.map((v) => ({ ...v, series: undefined })) }, null, 2)}\n`);
        else write(`${FLEET_HEAD}\n${fleetRow(r)}\n\n${FLEET_VM_HEAD}\n${fleetVmRows(r)}\n${r.limits.length + r.budgets.length ? `\n${limitsLines(r)}\n` : ''}`);
        return;
      }
      let scenario: Scenario | undefined;
      let workload;
      if (opts.trace) {
        try {
          const points = parseTraceCsv(readFileSync(opts.trace, 'utf8'));
          workload = traceWorkload(points);
        } catch (err) {
          process.stderr.write(`${opts.trace}: ${err instanceof TraceParseError || err instanceof Error ? err.message : String(err)}\n`);
          return setExit(2);
        }
        scenario = {
          name: `trace:${opts.trace}`,
          description: `replay of ${opts.trace}`,
          durationS: Math.max(1, Math.ceil(workload.durationS)),
          bootBytes: Number(opts.boot) * GiB,
          maxBytes: Number(opts.max) * GiB,
          workload: () => workload!,
        };
      } else if (opts.scenario) {
        scenario = findScenario(opts.scenario);
        if (!scenario) {
          process.stderr.write(`memresize sim: unknown scenario '${opts.scenario}' (one of ${SCENARIOS.map((s) => s.name).join(', ')}, or random:<seed>)\n`);
          return setExit(2);
        }
      } else {
        process.stderr.write('memresize sim: give --scenario NAME, --trace FILE, --fleet NAME or --demo\n');
        return setExit(2);
      }
      const r = await runSim(scenario, policy, { seed: Number(opts.seed), ...(workload ? { workload } : {}) });
      if (opts.json) write(`${JSON.stringify({ ...r, series: undefined }, null, 2)}\n`);
      else write(`${TABLE_HEAD}\n${tableRow(r)}\n`);
    });
}
