// npm run bench:random [-- --count N --first SEED --out DIR]: see src/bench/random.ts.
import { parseArgs } from 'node:util';
import { runRandomBench } from '../src/bench/random.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '40' }, first: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/out' } },
});
await runRandomBench({ outDir: values.out, first: Number(values.first), count: Number(values.count), write: (s) => process.stdout.write(s) });
