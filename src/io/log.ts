/**
 * The one root logger. pino with a synchronous destination: a daemon that runs while
 * memory thrashes must not lose lines in a worker thread's buffer. Pretty output only
 * when asked or at a TTY, and then as an in-process stream, never a worker transport.
 * Time is injected so the simulator's lines carry virtual time.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from '../config/schema.ts';

export type { Logger };

export interface LoggerOptions extends Partial<LogConfig> {
  /** Where lines go: a stream, or a file descriptor (default 1, stdout). */
  destination?: DestinationStream | number;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Base fields on every line (e.g. { vm: 'vm1' } on the host). */
  base?: Record<string, unknown>;
}

const require = createRequire(import.meta.url);

export function makeLogger(opts: LoggerOptions = {}): Logger {
  const now = opts.now ?? Date.now;
  const dest = opts.destination ?? 1;
  const fd = typeof dest === 'number' ? dest : undefined;
  const pretty = opts.pretty === 'always' || (opts.pretty !== 'never' && fd !== undefined && process.stdout.isTTY && fd === 1);
  let stream: DestinationStream;
  const prettyStream = pretty ? loadPretty(fd ?? 1) : undefined;
  if (prettyStream) {
    stream = prettyStream;
  } else if (fd !== undefined) {
    stream = pino.destination({ dest: fd, sync: true });
  } else {
    stream = dest as DestinationStream;
  }
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...(opts.base ?? {}) },
      timestamp: () => `,"time":${Math.round(now())}`,
      serializers: { err: pino.stdSerializers.err },
    },
    stream,
  );
}

/**
 * pino-pretty as an in-process stream, if installed: the bundled build ships without it,
 * and then the daemon writes JSON lines, which is what its log contract is anyway.
 */
function loadPretty(fd: number): DestinationStream | undefined {
  try {
    const makePretty = require('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
    return makePretty({ sync: true, destination: fd, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

/** A logger that keeps its lines as parsed objects: for tests and for the demo's summary. */
export function makeMemoryLogger(opts: Omit<LoggerOptions, 'destination' | 'pretty'> = {}): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream: DestinationStream = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return { log: makeLogger({ ...opts, destination: stream, pretty: 'never' }), lines };
}
