/**
 * Carries a VM's byte stream to the agent. The channel IS the VM's identity: whatever
 * arrives on it is handed to that VM's session, whatever the bytes claim. See
 * ChannelSchema (src/config/host.ts) for the three kinds.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { ChannelConfig } from '../config/host.ts';
import type { Logger } from '../io/log.ts';
import { makeReconnectingStream, type ReconnectingStream } from '../io/transports/reconnecting.ts';
import { fromSocket, makeUnixConnector } from '../io/transports/socket.ts';
import type { Connector } from '../io/transports/types.ts';
import type { Clock } from '../protocol/clock.ts';
import { encodeMessage } from '../protocol/codec.ts';
import type { HostAgent, Session } from './agent.ts';

/** A guest that stops reading must not make the agent buffer without bound. */
const MAX_UNSENT_BYTES = 1024 * 1024;

export interface ChannelHandle {
  close(): Promise<void>;
}

export interface ChannelDeps {
  agent: HostAgent;
  log: Logger;
  clock: Clock;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
}

function serveSocket(vm: string, sock: net.Socket, deps: ChannelDeps): Session {
  sock.setNoDelay?.(true);
  const session = deps.agent.attach(vm, {
    send: (msg) => {
      if (sock.destroyed) return;
      sock.write(encodeMessage(msg));
      if (sock.writableLength > MAX_UNSENT_BYTES) session.detach('guest not reading');
    },
    close: () => {
      sock.end();
      sock.destroySoon?.();
    },
  });
  sock.on('data', (chunk: Buffer) => session.receive(chunk));
  sock.on('error', () => session.detach('socket error'));
  sock.on('close', () => session.detach('closed by guest'));
  return session;
}

function listenUnix(vm: string, path: string, deps: ChannelDeps): Promise<ChannelHandle> {
  // A socket file left by a previous run would make listen fail with EADDRINUSE.
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    // absent
  }
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    serveSocket(vm, sock, deps);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * Hybrid vsock (Firecracker, Cloud Hypervisor): the VM's vsock device is a unix socket on
 * the host; a host-initiated connection writes `CONNECT <port>\n` and the VMM answers
 * `OK <assigned host port>\n` once the guest has accepted on that vsock port. Bytes after
 * that line belong to the stream.
 */
export function makeHybridVsockConnector(path: string, port: number): Connector {
  return (h) =>
    new Promise((resolve, reject) => {
      const sock = net.createConnection({ path });
      let head = '';
      let done = false;
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        sock.destroy();
        reject(err);
      };
      sock.once('error', fail);
      sock.once('close', () => fail(new Error('vsock: closed during CONNECT handshake')));
      sock.once('connect', () => sock.write(`CONNECT ${port}\n`));
      const onHandshake = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const nl = head.indexOf('\n');
        if (nl === -1) {
          if (head.length > 64) fail(new Error('vsock: no handshake line'));
          return;
        }
        const line = head.slice(0, nl).trim();
        if (!/^OK \d+$/.test(line)) return fail(new Error(`vsock: handshake refused: ${line.slice(0, 64)}`));
        done = true;
        sock.off('data', onHandshake);
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        resolve(fromSocket(sock, h));
        const rest = Buffer.from(head.slice(nl + 1), 'latin1');
        if (rest.length) queueMicrotask(() => h.onData(rest));
      };
      sock.on('data', onHandshake);
    });
}

/** The agent dials out (QEMU chardev server, hybrid vsock) and redials after a drop. */
function dial(vm: string, connector: Connector, deps: ChannelDeps): ChannelHandle {
  const capMs = deps.reconnectCapMs ?? 5000;
  let closed = false;
  let session: Session | null = null;
  let stream: ReconnectingStream;
  let redial: unknown;
  const open = () => {
    const s: ReconnectingStream = makeReconnectingStream(
      connector,
      {
        onConnected: () => {
          const mine: Session = deps.agent.attach(vm, {
            send: (msg) => s.write(encodeMessage(msg)),
            close: () => {
              // Only the agent dropping a live guest (flood, version) gets here: hang up, and
              // dial again only after the cap delay, with a fresh session.
              if (session !== mine) return;
              session = null;
              s.close();
              redial = deps.clock.setTimeout(() => {
                if (!closed) open();
              }, capMs);
            },
          });
          session = mine;
        },
        onData: (chunk) => session?.receive(chunk),
        onDisconnected: (reason) => {
          const gone = session;
          session = null;
          gone?.detach(reason);
        },
      },
      { clock: deps.clock, baseMs: deps.reconnectBaseMs ?? 200, capMs, log: deps.log.child({ vm, component: 'channel' }), name: vm },
    );
    stream = s;
    s.start();
  };
  open();
  return {
    async close() {
      closed = true;
      deps.clock.clearTimeout(redial);
      stream.close();
      const gone = session;
      session = null;
      gone?.detach('agent stopping');
    },
  };
}

export async function openChannel(vm: string, cfg: ChannelConfig, deps: ChannelDeps): Promise<ChannelHandle> {
  switch (cfg.kind) {
    case 'unix-listen':
      return listenUnix(vm, cfg.path, deps);
    case 'unix-connect':
      return dial(vm, makeUnixConnector(cfg.path), deps);
    case 'vsock-hybrid':
      return dial(vm, makeHybridVsockConnector(cfg.path, cfg.port), deps);
  }
}
