/**
 * Framing: newline-delimited JSON (NDJSON). One message per line, UTF-8, `\n` terminated;
 * a trailing `\r` is tolerated, empty lines are ignored. A line longer than MAX_LINE_BYTES
 * is discarded up to its newline and reported once, so one oversized message cannot make
 * the reader buffer without bound or lose the messages after it.
 */
import type { z } from 'zod';
import { MAX_LINE_BYTES } from './messages.ts';

const NL = 0x0a;

export type Frame = { ok: true; text: string } | { ok: false; code: 'line-too-long'; bytes: number };

export class LineDecoder {
  private parts: Buffer[] = [];
  private pending = 0;
  /** Bytes of an oversized line dropped so far (-1 when not discarding). */
  private discarded = -1;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.discarded >= 0) {
        this.discarded += piece.length;
      } else if (this.pending + piece.length > this.maxLineBytes) {
        this.discarded = this.pending + piece.length;
        this.parts = [];
        this.pending = 0;
      } else if (piece.length) {
        // Copy: the caller's buffer may be reused by the stream.
        this.parts.push(Buffer.from(piece));
        this.pending += piece.length;
      }
      if (nl === -1) break;
      if (this.discarded >= 0) {
        out.push({ ok: false, code: 'line-too-long', bytes: this.discarded });
        this.discarded = -1;
      } else {
        let text = Buffer.concat(this.parts, this.pending).toString('utf8');
        if (text.endsWith('\r')) text = text.slice(0, -1);
        if (text.trim()) out.push({ ok: true, text });
      }
      this.parts = [];
      this.pending = 0;
      start = nl + 1;
    }
    return out;
  }

  /** Bytes held for an unfinished line (for tests and metrics). */
  get bufferedBytes(): number {
    return this.pending;
  }
}

export type Decoded<T> =
  | { ok: true; message: T }
  | { ok: false; code: 'invalid-json' | 'unknown-type' | 'schema'; message: string; ref?: string };

/** Parses one line against a message union; never throws. */
export function decodeMessage<S extends z.ZodType>(schema: S, knownTypes: ReadonlySet<string>, text: string): Decoded<z.output<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'invalid-json', message: (err as Error).message.slice(0, 200) };
  }
  const obj = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const ref = typeof obj?.id === 'string' && obj.id.length > 0 && obj.id.length <= 128 ? obj.id : undefined;
  if (!obj || typeof obj.type !== 'string' || !knownTypes.has(obj.type)) {
    const t = typeof obj?.type === 'string' ? obj.type.slice(0, 64) : typeof obj?.type;
    return { ok: false, code: 'unknown-type', message: `unknown message type: ${t}`, ref };
  }
  const res = schema.safeParse(obj);
  if (!res.success) {
    const issues = res.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, code: 'schema', message: `${obj.type}: ${issues.join('; ')}`, ref };
  }
  return { ok: true, message: res.data };
}

export function encodeMessage(msg: object): string {
  return `${JSON.stringify(msg)}\n`;
}

/** Protocol error counters kept by each end of a connection. */
export interface ProtocolCounters {
  lines: number;
  lineTooLong: number;
  invalidJson: number;
  unknownType: number;
  schema: number;
}

export function newCounters(): ProtocolCounters {
  return { lines: 0, lineTooLong: 0, invalidJson: 0, unknownType: 0, schema: 0 };
}

export function countError(c: ProtocolCounters, code: 'line-too-long' | 'invalid-json' | 'unknown-type' | 'schema'): void {
  if (code === 'line-too-long') c.lineTooLong++;
  else if (code === 'invalid-json') c.invalidJson++;
  else if (code === 'unknown-type') c.unknownType++;
  else c.schema++;
}
