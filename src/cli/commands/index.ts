/**
 * Every subcommand of `memresize`, in the order --help lists them, one file each, loaded
 * on demand: `memresize guest` must not pay for vega, prom-client or the simulator it never
 * runs (measured: the bundled guest daemon's peak RSS fell from ~97 MiB to the figure in
 * the README once only the named command's module was evaluated). The literal import()
 * paths keep esbuild bundling every command into the one file.
 */
import type { LazyCommand } from './types.ts';
import { guestCommands } from './guest-commands.ts';

export type { LazyCommand, RegisterCommand } from './types.ts';

export const commands: LazyCommand[] = [
  { name: 'demo', load: async () => (await import('./demo.ts')).registerDemo },
  ...guestCommands,
  { name: 'trace', load: async () => (await import('./trace.ts')).registerTrace },
  { name: 'host', load: async () => (await import('./host.ts')).registerHost },
  { name: 'sim', load: async () => (await import('./sim.ts')).registerSim },
  { name: 'record', load: async () => (await import('./record.ts')).registerRecord },
  { name: 'bench', load: async () => (await import('./bench.ts')).registerBench },
];
