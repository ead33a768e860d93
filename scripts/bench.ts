// npm run bench [-- --seed N --out DIR --scenario NAME... --config FILE]: see src/bench/bench.ts.
import { parseArgs } from 'node:util';
import { runBench } from '../src/bench/bench.ts';
import { GuestConfigSchema } from '../src/config/schema.ts';
import { loadStartupConfig } from '../src/cli/commands/config-file.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/out' }, scenario: { type: 'string', multiple: true }, config: { type: 'string' } },
});
const config = values.config ? await loadStartupConfig(GuestConfigSchema, values.config, 'guest', (c) => (process.exitCode = c)) : undefined;
if (values.config && !config) process.exit();
const res = await runBench({ outDir: values.out, seed: Number(values.seed), scenarios: values.scenario, write: (s) => process.stdout.write(s), ...(config ? { config } : {}) });
process.exitCode = res.allPass ? 0 : 1;
