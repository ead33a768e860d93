import { Option, type Command } from 'commander';
import { GuestConfigSchema } from '../../config/schema.ts';
import { HostConfigSchema } from '../../config/host.ts';
import { loadConfigFile } from '../../config/load.ts';
import { EXIT_BAD_CONFIG } from './config-file.ts';

export function registerCheckConfig(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('check-config')
    .description('Validate a guest or host config file; print every problem with its path (exit 2 on errors).')
    .argument('<file>', 'YAML or JSON config file')
    .addOption(new Option('--kind <kind>', 'which config the file is').choices(['guest', 'host']).default('guest'))
    .action(async (file: string, opts: { kind: 'guest' | 'host' }) => {
      const schema = opts.kind === 'host' ? HostConfigSchema : GuestConfigSchema;
      const res = await loadConfigFile(schema, file);
      if (res.ok) {
        process.stdout.write(`${file}: valid ${opts.kind} config\n`);
        return;
      }
      process.stderr.write(`${file}: invalid ${opts.kind} config\n${res.errors}\n`);
      setExit(EXIT_BAD_CONFIG);
    });
}
