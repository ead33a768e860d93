import type { Command } from 'commander';
import { HostConfigSchema } from '../../config/host.ts';
import { loadConfigFile } from '../../config/load.ts';
import { startHostAgent } from '../../host/run.ts';
import { makeLogger } from '../../io/log.ts';
import { stopWithin, watchSignals } from '../../daemon/lifecycle.ts';
import { loadStartupConfig } from './config-file.ts';

export function registerHost(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('host')
    .description('Run the host agent: grant guests\' resize requests within their bounds and the host budget (see docs/protocol.md).')
    .requiredOption('-c, --config <file>', 'host agent config (YAML or JSON)')
    .action(async (opts: { config: string }) => {
      const config = await loadStartupConfig(HostConfigSchema, opts.config, 'host', setExit);
      if (!config) return;
      const log = makeLogger(config.log);
      // Before the agent starts: a SIGHUP without a handler would kill the process.
      const life = watchSignals(log);
      let running;
      try {
        running = await startHostAgent(config, { log });
      } catch (err) {
        life.dispose();
        throw err;
      }
      const agent = running;
      await life.run({
        async reload() {
          const next = await loadConfigFile(HostConfigSchema, opts.config);
          if (!next.ok) {
            log.error({ file: opts.config, errors: next.errors }, 'config rejected; the running config stays');
            return;
          }
          agent.reconfigure(next.config);
        },
        async stop(signal) {
          // New requests are denied from here; running resizes are left to the hypervisor.
          log.info({ signal }, 'host agent stopping');
          await stopWithin(() => agent.close(), log);
          log.info('host agent stopped');
        },
      });
    });
}
