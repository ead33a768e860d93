/**
 * The daemon's local control socket: a unix socket, root-only (mode 0600), that answers
 * every connection with one JSON line of live status and closes. `memresize status` is
 * its client. The status is assembled on demand by the composition root's provider, so
 * serving it costs nothing while nobody asks.
 */
import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import type { Logger } from './log.ts';

export interface StatusServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startStatusServer(path: string, provide: () => unknown, log: Logger): Promise<StatusServer> {
  // A socket file left by a crashed daemon would make listen fail with EADDRINUSE.
  await unlink(path).catch(() => {});
  const server: Server = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    let body: string;
    try {
      body = JSON.stringify(provide());
    } catch (err) {
      body = JSON.stringify({ error: (err as Error).message });
    }
    sock.end(body + '\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  server.on('error', (err) => log.warn({ err, path }, 'status socket error'));
  log.info({ path }, 'status socket listening');
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        unlink(path).catch(() => {});
      }),
  };
}

/** Reads one status document from a daemon's control socket. */
export function readStatus(path: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new Error(`garbled status from ${path}`));
      }
    });
  });
}
