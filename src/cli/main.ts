/**
 * The `memresize` command: one subcommand per file in ./commands, listed in
 * ./commands/index.ts and loaded only when named (see commandsFor). Usage errors (unknown
 * command or flag, bad value) exit 2.
 */
import { Command, CommanderError } from 'commander';
import { commands, commandsFor } from './commands/index.ts';

export const EXIT_USAGE = 2;

/** The program with the commands `argv` needs (all of them when argv is omitted). */
export async function buildProgram(setExit: (code: number) => void, argv?: readonly string[]): Promise<Command> {
  const program = new Command('memresize')
    .description('Guest-driven VM memory resizing over virtio-mem.')
    .version('0.1.0')
    .showHelpAfterError('(run memresize --help for usage)')
    .exitOverride();
  const wanted = argv ? commandsFor(argv) : commands;
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

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  try {
    const program = await buildProgram((code) => {
      exitCode = code;
    }, argv);
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
