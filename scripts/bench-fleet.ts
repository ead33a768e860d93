// npm run bench:fleet [-- --seed N --out DIR]: see src/bench/fleet.ts.
import { parseArgs } from 'node:util';
import { runFleetBench } from '../src/bench/fleet.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/out' } } });
const res = await runFleetBench({ outDir: values.out, seed: Number(values.seed), write: (s) => process.stdout.write(s) });
if (!res.allPass) process.exitCode = 1;
