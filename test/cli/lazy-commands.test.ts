/**
 * Subcommands load on demand (src/cli/commands/index.ts): `memresize guest` evaluates the
 * guest's modules only, while --help and errors still see every command.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, commandsFor } from '../../src/cli/main.ts';
import { commands } from '../../src/cli/commands/index.ts';

const names = commands.map((c) => c.name);
const registered = (p: Command) => p.commands.map((c) => c.name());

describe('lazy subcommands', () => {
  it('each table entry loads the module that registers a command of that name', async () => {
    for (const entry of commands) {
      const program = new Command('memresize');
      (await entry.load())(program, () => {});
      expect(registered(program)).toEqual([entry.name]);
    }
  });

  it('a named command loads alone; anything else loads every command', async () => {
    expect(commandsFor(['guest', '--dry-run']).map((c) => c.name)).toEqual(['guest']);
    expect(registered(await buildProgram(() => {}, ['status', '--json']))).toEqual(['status']);
    for (const argv of [[], ['--help'], ['help', 'guest'], ['gust'], ['--dry-run', 'guest']]) {
      expect(registered(await buildProgram(() => {}, argv))).toEqual(names);
    }
  });

  it('--help lists every command with its options marker', async () => {
    const program = await buildProgram(() => {}, ['--help']);
    const help = program.helpInformation();
    for (const c of program.commands) {
      const usage = `${c.name()}${c.options.length ? ' [options]' : ''}`;
      expect(help).toContain(usage);
    }
    expect(program.commands.length).toBe(names.length);
  });
});
