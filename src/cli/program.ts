/**
 * The program behind every `memresize` binary: a set of lazily loaded subcommands (the full
 * CLI in main.ts, the guest image's in guest-bin.ts). Usage errors (unknown command or
 * flag, bad value) exit 2. This module imports no command, so a bundle holds only the
 * commands its entry lists.
 */
import { Command, CommanderError } from 'commander';
import type { LazyCommand } from './commands/types.ts';

export const EXIT_USAGE = 2;

/**
 * The commands to load for an argument list. Commander takes the first argument as the
 * command name (the program itself has only --help and --version), so when it names a
 * command, that command alone is loaded and parses the rest exactly as before. Anything
 * else (no arguments, --help, `help X`, a typo) loads them all: help lists every command
 * with its options, and an unknown name still gets commander's "did you mean" and exit 2.
 */
export function commandsFor(argv: readonly string[], available: readonly LazyCommand[]): readonly LazyCommand[] {
  const named = available.find((c) => c.name === argv[0]);
  return named ? [named] : available;
}

/** The program with the commands `argv` needs (all of them when argv is omitted). */
export async function buildProgram(setExit: (code: number) => void, argv: readonly string[] | undefined, available: readonly LazyCommand[]): Promise<Command> {
  const program = new Command('memresize')
    .description('Guest-driven VM memory resizing over virtio-mem.')
    .version('0.1.0')
    .showHelpAfterError('(run memresize --help for usage)')
    .exitOverride();
  const wanted = argv ? commandsFor(argv, available) : available;
  const registers = await Promise.all(wanted.map((c) => c.load()));
  for (const register of registers) {
    const cmd = register(program, setExit);
    cmd.exitOverride();
  }
  program.action(() => {
    program.outputHelp();
    setExit(EXIT_USAGE);
  });
  return program;
}

export async function runProgram(argv: string[], available: readonly LazyCommand[]): Promise<number> {
  let exitCode = 0;
  try {
    const program = await buildProgram(
      (code) => {
        exitCode = code;
      },
      argv,
      available,
    );
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`memresize: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
