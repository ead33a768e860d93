import type { Command } from 'commander';
import { readStatus } from '../../io/status-server.ts';
import { statusText, type GuestStatus } from '../../obs/status.ts';

export const DEFAULT_STATUS_SOCKET = '/run/memresize/guest.sock';

export function registerStatus(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('status')
    .description('Show the running guest daemon\'s state, sizes, limits, PSI mode and last transitions (from its control socket).')
    .option('--socket <path>', 'control socket of the daemon', DEFAULT_STATUS_SOCKET)
    .option('--json', 'print the raw status document')
    .action(async (opts: { socket: string; json?: boolean }) => {
      try {
        const status = await readStatus(opts.socket);
        process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : statusText(status as GuestStatus));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is memresize guest running?)' : code === 'EACCES' ? ' (the socket is root-only)' : '';
        process.stderr.write(`memresize status: ${opts.socket}: ${code ?? (err as Error).message}${hint}\n`);
        setExit(1);
      }
    });
}
