import type { Command } from 'commander';
import { runBench } from '../../bench/bench.ts';

export function registerBench(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('bench')
    .description('Every policy x every built-in scenario: markdown table, results.json and one SVG per scenario; exit 1 if a target is missed.')
    .option('--seed <n>', 'seed of every run', '1')
    .option('--out <dir>', 'output folder', 'bench/out')
    .option('--scenario <name...>', 'only these scenarios')
    .action(async (opts: { seed: string; out: string; scenario?: string[] }) => {
      const res = await runBench({ outDir: opts.out, seed: Number(opts.seed), scenarios: opts.scenario, write: (s) => process.stdout.write(s) });
      if (!res.allPass) setExit(1);
    });
}
