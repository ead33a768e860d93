/**
 * The virtio-serial port to the host, found by name. QEMU names a port with
 * `-device virtserialport,name=org.memresize.0`; without udev there is no /dev/virtio-ports
 * symlink, so the port is found in sysfs:
 *
 *   <sysRoot>/class/virtio-ports/vport<D>p<P>/name   one line: the port's name
 *   <devRoot>/vport<D>p<P>                            the character device
 *
 * The device behaves unlike a socket: opening always works, and when no host client is
 * connected to the chardev a read returns 0 (EOF) at once. Reopening at once would spin,
 * so a port that reads EOF counts as "host absent" and the caller backs off. The port is
 * opened O_NONBLOCK and watched with epoll (EPOLLIN) because a blocking read would hold a
 * libuv pool thread and keep Node from exiting; without the optional epoll addon it is
 * polled on a timer instead.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Clock } from '../../protocol/clock.ts';
import type { ByteStream, Connector, StreamHandlers } from './types.ts';

export interface VirtioSerialOptions {
  portName: string;
  sysRoot: string;
  devRoot: string;
  clock: Clock;
  /** Poll interval when the epoll addon is missing. */
  pollMs: number;
  /** Force the timer fallback (tests). */
  noEpoll?: boolean;
}

export class HostAbsentError extends Error {}

/** Finds the device path of the port named `portName`, or undefined. */
export function findVirtioPort(sysRoot: string, devRoot: string, portName: string): string | undefined {
  const dir = path.join(sysRoot, 'class', 'virtio-ports');
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const entry of entries.sort()) {
    let name: string;
    try {
      name = fs.readFileSync(path.join(dir, entry, 'name'), 'utf8').trim();
    } catch {
      continue;
    }
    if (name === portName) return path.join(devRoot, entry);
  }
  return undefined;
}

interface EpollInstance {
  add(fd: number, events: number): void;
  remove(fd: number): void;
  close(): void;
}
interface EpollModule {
  Epoll: { new (cb: (err: Error | null, fd: number, events: number) => void): EpollInstance; EPOLLIN: number };
}

let epollModule: EpollModule | null | undefined;
function loadEpoll(): EpollModule | null {
  if (epollModule === undefined) {
    try {
      epollModule = createRequire(import.meta.url)('epoll') as EpollModule;
      if (typeof epollModule.Epoll !== 'function') epollModule = null;
    } catch {
      epollModule = null;
    }
  }
  return epollModule;
}

export function epollAvailable(): boolean {
  return loadEpoll() !== null;
}

const READ_BYTES = 64 * 1024;
const WRITE_RETRY_MS = 10;
/** A host that stops reading: give up the stream rather than queue without bound. */
const MAX_QUEUED_BYTES = 256 * 1024;

export function makeVirtioSerialConnector(opts: VirtioSerialOptions): Connector {
  return async (h: StreamHandlers): Promise<ByteStream> => {
    const dev = findVirtioPort(opts.sysRoot, opts.devRoot, opts.portName);
    if (!dev) throw new HostAbsentError(`no virtio-serial port named ${opts.portName} under ${opts.sysRoot}/class/virtio-ports`);
    const fd = fs.openSync(dev, fs.constants.O_RDWR | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
    const buf = Buffer.allocUnsafe(READ_BYTES);
    // Probe: EOF now means no host client on the chardev.
    let first: Buffer | null = null;
    try {
      const n = fs.readSync(fd, buf, 0, READ_BYTES, null);
      if (n === 0) {
        fs.closeSync(fd);
        throw new HostAbsentError('virtio-serial port reads EOF: host side not connected');
      }
      first = Buffer.from(buf.subarray(0, n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        if (!(err instanceof HostAbsentError)) fs.closeSync(fd);
        throw err;
      }
    }

    let closed = false;
    let poller: EpollInstance | null = null;
    let pollTimer: unknown;
    let outbox: Buffer[] = [];
    let writeTimer: unknown;

    const shut = (reason: string | null) => {
      if (closed) return;
      closed = true;
      if (poller) {
        poller.remove(fd);
        poller.close();
      }
      opts.clock.clearTimeout(pollTimer);
      opts.clock.clearTimeout(writeTimer);
      try {
        fs.closeSync(fd);
      } catch {
        // already gone
      }
      if (reason !== null) h.onClose(reason);
    };
    /** Reads until EAGAIN; false when the stream ended. */
    const drain = (): boolean => {
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, READ_BYTES, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') return true;
          shut(code ?? 'read error');
          return false;
        }
        if (n === 0) {
          shut('host side disconnected (EOF)');
          return false;
        }
        h.onData(Buffer.from(buf.subarray(0, n)));
        if (closed) return false;
      }
    };
    const flush = () => {
      writeTimer = undefined;
      while (!closed && outbox.length) {
        const head = outbox[0] as Buffer;
        let n: number;
        try {
          n = fs.writeSync(fd, head);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') break;
          shut(code ?? 'write error');
          return;
        }
        if (n < head.length) outbox[0] = head.subarray(n);
        else outbox.shift();
      }
      if (!closed && outbox.length) writeTimer = opts.clock.setTimeout(flush, WRITE_RETRY_MS);
    };

    const ep = opts.noEpoll ? null : loadEpoll();
    if (ep) {
      poller = new ep.Epoll((err) => {
        if (closed) return;
        if (err) return shut(`epoll: ${err.message}`);
        drain();
      });
      poller.add(fd, ep.Epoll.EPOLLIN);
    } else {
      const tick = () => {
        if (closed) return;
        if (drain()) pollTimer = opts.clock.setTimeout(tick, opts.pollMs);
      };
      pollTimer = opts.clock.setTimeout(tick, opts.pollMs);
    }
    if (first) {
      const data = first;
      queueMicrotask(() => {
        if (!closed) h.onData(data);
      });
    }
    return {
      write(data) {
        if (closed) return;
        outbox.push(Buffer.from(data));
        if (outbox.reduce((n, b) => n + b.length, 0) > MAX_QUEUED_BYTES) {
          outbox = [];
          shut('host side not reading');
          return;
        }
        if (writeTimer === undefined) flush();
      },
      close() {
        outbox = [];
        shut(null);
      },
    };
  };
}
