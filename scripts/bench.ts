// npm run bench [-- --seed N --out DIR --scenario NAME...]: see src/bench/bench.ts.
import { parseArgs } from 'node:util';
import { runBench } from '../src/bench/bench.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/out' }, scenario: { type: 'string', multiple: true } },
});
const res = await runBench({ outDir: values.out, seed: Number(values.seed), scenarios: values.scenario, write: (s) => process.stdout.write(s) });
process.exitCode = res.allPass ? 0 : 1;
