import type { Command } from 'commander';
import { HostConfigSchema } from '../../config/host.ts';
import { loadConfigFile } from '../../config/load.ts';
import { startHostAgent } from '../../host/run.ts';
import { makeLogger } from '../../io/log.ts';

export const EXIT_BAD_CONFIG = 2;

export function registerHost(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('host')
    .description('Run the host agent: grant guests\' resize requests within their bounds and the host budget (see docs/protocol.md).')
    .requiredOption('-c, --config <file>', 'host agent config (YAML or JSON)')
    .action(async (opts: { config: string }) => {
      const res = await loadConfigFile(HostConfigSchema, opts.config);
      if (!res.ok) {
        process.stderr.write(`${opts.config}: invalid host config\n${res.errors}\n`);
        setExit(EXIT_BAD_CONFIG);
        return;
      }
      const log = makeLogger(res.config.log);
      const running = await startHostAgent(res.config, { log });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'host agent stopping');
          void running.close().then(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
