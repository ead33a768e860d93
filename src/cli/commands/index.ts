/**
 * Every subcommand of `memresize`, in the order --help lists them, one file each, loaded
 * on demand: `memresize guest` must not pay for vega, prom-client or the simulator it never
 * runs (measured: the bundled guest daemon's peak RSS fell from ~97 MiB to the figure in
 * the README once only the named command's module was evaluated). The literal import()
 * paths keep esbuild bundling every command into the one file.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command, setExit: (code: number) => void) => Command;

export interface LazyCommand {
  /** Must equal the name the module registers (a test holds this). */
  name: string;
  load(): Promise<RegisterCommand>;
}

export const commands: LazyCommand[] = [
  { name: 'demo', load: async () => (await import('./demo.ts')).registerDemo },
  { name: 'check-config', load: async () => (await import('./check-config.ts')).registerCheckConfig },
  { name: 'trace', load: async () => (await import('./trace.ts')).registerTrace },
  { name: 'status', load: async () => (await import('./status.ts')).registerStatus },
  { name: 'host', load: async () => (await import('./host.ts')).registerHost },
  { name: 'guest', load: async () => (await import('./guest.ts')).registerGuest },
  { name: 'probe', load: async () => (await import('./probe.ts')).registerProbe },
  { name: 'sim', load: async () => (await import('./sim.ts')).registerSim },
  { name: 'record', load: async () => (await import('./record.ts')).registerRecord },
  { name: 'bench', load: async () => (await import('./bench.ts')).registerBench },
];

/**
 * The commands to load for an argument list. Commander takes the first argument as the
 * command name (the program itself has only --help and --version), so when it names a
 * command, that command alone is loaded and parses the rest exactly as before. Anything
 * else (no arguments, --help, `help X`, a typo) loads them all: help lists every command
 * with its options, and an unknown name still gets commander's "did you mean" and exit 2.
 */
export function commandsFor(argv: readonly string[]): LazyCommand[] {
  const named = commands.find((c) => c.name === argv[0]);
  return named ? [named] : commands;
}
