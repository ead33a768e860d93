/**
 * Keeps one stream to the host open: connect, and after a failure or a drop try again after
 * a capped exponential backoff (reset once a connection has been made). This is what stops
 * a guest whose host side is absent from spinning.
 */
import type { Logger } from '../log.ts';
import { backoffMs, jitterOf } from '../../policy/backoff.ts';
import type { Clock } from '../../protocol/clock.ts';
import type { ByteStream, Connector } from './types.ts';

export interface LinkStreamEvents {
  onConnected(): void;
  onData(chunk: Buffer): void;
  onDisconnected(reason: string): void;
}

export interface ReconnectOptions {
  clock: Clock;
  baseMs: number;
  capMs: number;
  log: Logger;
  /** Name for logs and the jitter seed. */
  name: string;
}

export interface ReconnectingStream {
  start(): void;
  write(data: string): boolean;
  readonly connected: boolean;
  /** Connection attempts so far (tests check that absent hosts cost little). */
  readonly attempts: number;
  close(): void;
}

export function makeReconnectingStream(connect: Connector, ev: LinkStreamEvents, opts: ReconnectOptions): ReconnectingStream {
  let stream: ByteStream | null = null;
  let stopped = false;
  let started = false;
  let failures = 0;
  let attempts = 0;
  let timer: unknown;
  let lastFailure = '';

  const schedule = () => {
    if (stopped) return;
    const delay = backoffMs(failures, opts.baseMs, opts.capMs, jitterOf(`${opts.name}#${attempts}`));
    failures++;
    timer = opts.clock.setTimeout(attempt, delay);
  };

  function attempt(): void {
    timer = undefined;
    if (stopped) return;
    attempts++;
    let mine: ByteStream | null = null;
    connect({
      onData: (chunk) => {
        if (!stopped && stream === mine) ev.onData(chunk);
      },
      onClose: (reason) => {
        if (stream !== mine || mine === null) return;
        stream = null;
        opts.log.info({ reason }, 'host link down');
        ev.onDisconnected(reason);
        schedule();
      },
    }).then(
      (s) => {
        if (stopped) {
          s.close();
          return;
        }
        mine = s;
        stream = s;
        failures = 0;
        lastFailure = '';
        opts.log.info({ attempts }, 'host link up');
        ev.onConnected();
      },
      (err: Error) => {
        const text = (err as NodeJS.ErrnoException).code ?? err.message;
        // The same failure every backoff step is logged once, not every time.
        if (text !== lastFailure) opts.log.info({ err: text }, 'host link not available, backing off');
        lastFailure = text;
        schedule();
      },
    );
  }

  return {
    start() {
      if (started) return;
      started = true;
      attempt();
    },
    write(data) {
      if (!stream) return false;
      stream.write(data);
      return true;
    },
    get connected() {
      return stream !== null;
    },
    get attempts() {
      return attempts;
    },
    close() {
      stopped = true;
      opts.clock.clearTimeout(timer);
      const s = stream;
      stream = null;
      s?.close();
    },
  };
}
