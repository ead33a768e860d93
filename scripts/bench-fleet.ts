// npm run bench:fleet [-- --seed N --out DIR] | [-- --random N --first SEED]: see src/bench/fleet.ts.
import { parseArgs } from 'node:util';
import { runFleetBench, runRandomFleetBench } from '../src/bench/fleet.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/out' }, random: { type: 'string' }, first: { type: 'string', default: '1' } },
});
const write = (s: string) => process.stdout.write(s);
const res = values.random
  ? await runRandomFleetBench({ outDir: values.out, first: Number(values.first), count: Number(values.random), write })
  : await runFleetBench({ outDir: values.out, seed: Number(values.seed), write });
if (!res.allPass) process.exitCode = 1;
