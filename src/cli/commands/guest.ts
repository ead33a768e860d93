import { Option, type Command } from 'commander';
import { GuestConfigSchema, defaultGuestConfig, type GuestConfig, type LogConfig } from '../../config/schema.ts';
import { parseSize } from '../../config/units.ts';
import { loadConfigFile } from '../../config/load.ts';
import { makeLogger } from '../../io/log.ts';
import { startGuest } from '../../daemon/guest.ts';
import { stopWithin, watchSignals } from '../../daemon/lifecycle.ts';
import { loadStartupConfig } from './config-file.ts';

interface GuestFlags {
  config?: string;
  dryRun?: boolean;
  logLevel?: LogConfig['level'];
  dryRunMin: string;
  dryRunMax: string;
  dryRunBlock: string;
  durationMs?: string;
  procRoot: string;
  sysRoot: string;
}

/** A stop that hangs (a socket that will not close) must not keep systemd waiting. */

function size(text: string, flag: string): number {
  const v = parseSize(text);
  if (v === undefined) throw new Error(`${flag}: not a size: ${text}`);
  return v;
}

export function registerGuest(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('guest')
    .description('Run the guest daemon: watch PSI, meminfo and memory blocks, ask the host to grow/shrink the VM.')
    .option('--config <file>', 'guest config file (YAML or JSON)')
    .option('--dry-run', 'replace the host link by a logger: show the requests it would send, change nothing')
    .addOption(new Option('--log-level <level>', 'lowest level logged').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .option('--dry-run-min <size>', 'dry run: VM minimum the fake welcome announces (device bytes)', '0')
    .option('--dry-run-max <size>', 'dry run: VM maximum the fake welcome announces', '4GiB')
    .option('--dry-run-block <size>', 'dry run: device block size the fake welcome announces', '2MiB')
    .option('--duration-ms <ms>', 'stop after this long (benchmarks); default: until SIGINT/SIGTERM')
    .option('--proc-root <dir>', 'where procfs is mounted (a fixture tree in tests)', '/proc')
    .option('--sys-root <dir>', 'where sysfs is mounted (memory blocks, virtio devices)', '/sys')
    .action(async (flags: GuestFlags) => {
      const config: GuestConfig | undefined = flags.config ? await loadStartupConfig(GuestConfigSchema, flags.config, 'guest', setExit) : defaultGuestConfig();
      if (!config) return;
      const log = makeLogger({ ...config.log, level: flags.logLevel ?? config.log.level });
      // Before anything slow: a SIGHUP without a handler would kill the process.
      const life = watchSignals(log);
      let running;
      try {
        running = await startGuest({
          config,
          log,
          procRoot: flags.procRoot,
          sysRoot: flags.sysRoot,
          logLevelPinned: flags.logLevel !== undefined,
          dryRun: flags.dryRun
            ? { minBytes: size(flags.dryRunMin, '--dry-run-min'), maxBytes: size(flags.dryRunMax, '--dry-run-max'), blockBytes: size(flags.dryRunBlock, '--dry-run-block') }
            : undefined,
        });
      } catch (err) {
        life.dispose();
        log.fatal({ component: 'daemon', err }, 'startup failed');
        process.stderr.write(`memresize guest: cannot start: ${(err as Error).message}${flags.dryRun ? '' : ' (use --dry-run to watch without a host)'}\n`);
        setExit(1);
        return;
      }
      const dlog = log.child({ component: 'daemon' });
      const g = running;
      await life.run(
        {
          async reload() {
            if (!flags.config) {
              dlog.info('reload: started without --config, nothing to re-read');
              return;
            }
            const res = await loadConfigFile(GuestConfigSchema, flags.config);
            if (!res.ok) {
              dlog.error({ file: flags.config, errors: res.errors }, 'config rejected; the running config stays');
              return;
            }
            g.reload(res.config);
          },
          async stop(signal) {
            dlog.info({ signal }, 'guest daemon stopping');
            await stopWithin(() => g.stop(), dlog);
          },
        },
        { durationMs: flags.durationMs ? Number(flags.durationMs) : undefined },
      );
      dlog.info('guest daemon stopped');
    });
}
