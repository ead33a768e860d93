/** Unix socket and loopback TCP connectors (net.Socket behind the ByteStream interface). */
import net from 'node:net';
import type { ByteStream, Connector, StreamHandlers } from './types.ts';

/** A connected socket as a ByteStream: the first error, close or end ends it, once. */
export function fromSocket(sock: net.Socket, h: StreamHandlers): ByteStream {
  let closed = false;
  const end = (reason: string) => {
    if (closed) return;
    closed = true;
    sock.destroy();
    h.onClose(reason);
  };
  sock.on('data', (chunk: Buffer) => h.onData(chunk));
  sock.on('error', (err: NodeJS.ErrnoException) => end(err.code ?? err.message));
  sock.on('close', () => end('closed by peer'));
  sock.on('end', () => end('end of stream'));
  return {
    write: (data) => {
      if (!closed) sock.write(data);
    },
    close: () => {
      if (closed) return;
      closed = true;
      sock.destroy();
    },
  };
}

function connectWith(opts: net.NetConnectOpts): Connector {
  return (h) =>
    new Promise((resolve, reject) => {
      const sock = net.createConnection(opts);
      sock.setNoDelay?.(true);
      const fail = (err: Error) => reject(err);
      sock.once('error', fail);
      sock.once('connect', () => {
        sock.off('error', fail);
        resolve(fromSocket(sock, h));
      });
    });
}

export function makeUnixConnector(path: string): Connector {
  return connectWith({ path });
}

export function makeTcpConnector(host: string, port: number): Connector {
  return connectWith({ host, port });
}
