/**
 * The `memresize` command: one subcommand per file in ./commands, listed in
 * ./commands/index.ts. Usage errors (unknown command or flag, bad value) exit 2.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';

export const EXIT_USAGE = 2;

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('memresize')
    .description('Guest-driven VM memory resizing over virtio-mem.')
    .version('0.1.0')
    .showHelpAfterError('(run memresize --help for usage)')
    .exitOverride();
  for (const register of commands) {
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
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
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
