/**
 * The full `memresize` command: every subcommand of ./commands/index.ts, each loaded only
 * when named (see commandsFor in program.ts).
 */
import type { Command } from 'commander';
import { commands } from './commands/index.ts';
import { buildProgram as build, commandsFor as pick, runProgram } from './program.ts';

export { EXIT_USAGE } from './program.ts';

export function main(argv: string[]): Promise<number> {
  return runProgram(argv, commands);
}

export function buildProgram(setExit: (code: number) => void, argv?: readonly string[]): Promise<Command> {
  return build(setExit, argv, commands);
}

export function commandsFor(argv: readonly string[]) {
  return pick(argv, commands);
}
