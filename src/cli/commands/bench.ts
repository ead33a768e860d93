import type { Command } from 'commander';
import { runBench } from '../../bench/bench.ts';
import { runFleetBench, runRandomFleetBench } from '../../bench/fleet.ts';
import { runRandomBench } from '../../bench/random.ts';
import { GuestConfigSchema } from '../../config/schema.ts';
import { loadStartupConfig } from './config-file.ts';

export function registerBench(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('bench')
    .description('Every policy x every built-in scenario: markdown table, results.json and one SVG per scenario; exit 1 if a target is missed. With --random N: every policy on N random VMs and workloads instead (distributions, worst runs, random.json). With --fleet: the fleets (several VMs on one host agent); --fleet --random N: memresize on N random fleets.')
    .option('--seed <n>', 'seed of every run; with --random, the first scenario seed', '1')
    .option('--out <dir>', 'output folder', 'bench/out')
    .option('--scenario <name...>', 'only these scenarios')
    .option('--random <count>', 'run on this many random scenarios (random:<seed>, seed, seed+1, ...)')
    .option('--config <file>', "the guest daemon's config for the memresize runs (one-VM scenarios and --random; defaults otherwise): try a config before deploying it")
    .option('--fleet', 'run every policy on the built-in fleets instead (several VMs on one host agent and budget; fleet.json, one SVG per fleet), or with --random N memresize on N random fleets (random-fleets.json); exit 1 if a fleet target is missed')
    .action(async (opts: { seed: string; out: string; scenario?: string[]; random?: string; fleet?: boolean; config?: string }) => {
      const config = opts.config === undefined ? undefined : await loadStartupConfig(GuestConfigSchema, opts.config, 'guest', setExit);
      if (opts.config !== undefined && !config) return;
      const withConfig = config ? { config } : {};
      const write = (s: string) => process.stdout.write(s);
      const count = opts.random === undefined ? undefined : Number(opts.random);
      if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
        process.stderr.write(`memresize bench: --random needs a positive whole number, not '${opts.random}'\n`);
        return setExit(2);
      }
      if (opts.fleet) {
        const res = count === undefined
          ? await runFleetBench({ outDir: opts.out, seed: Number(opts.seed), write })
          : await runRandomFleetBench({ outDir: opts.out, first: Number(opts.seed), count, write });
        if (!res.allPass) setExit(1);
        return;
      }
      if (count !== undefined) {
        await runRandomBench({ outDir: opts.out, first: Number(opts.seed), count, write, ...withConfig });
        return;
      }
      const res = await runBench({ outDir: opts.out, seed: Number(opts.seed), scenarios: opts.scenario, write, ...withConfig });
      if (!res.allPass) setExit(1);
    });
}
