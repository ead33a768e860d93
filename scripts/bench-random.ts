// npm run bench:random [-- --count N --first SEED --out DIR --config FILE]: see src/bench/random.ts.
import { parseArgs } from 'node:util';
import { runRandomBench } from '../src/bench/random.ts';
import { GuestConfigSchema } from '../src/config/schema.ts';
import { loadStartupConfig } from '../src/cli/commands/config-file.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '40' }, first: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/out' }, config: { type: 'string' } },
});
const config = values.config ? await loadStartupConfig(GuestConfigSchema, values.config, 'guest', (c) => (process.exitCode = c)) : undefined;
if (values.config && !config) process.exit();
await runRandomBench({ outDir: values.out, first: Number(values.first), count: Number(values.count), write: (s) => process.stdout.write(s), ...(config ? { config } : {}) });
