/**
 * A QMP client (QEMU Machine Protocol) over QEMU's unix socket. The wire format, one JSON
 * object per line (QEMU ends lines with \r\n):
 *
 *   server greeting  {"QMP": {"version": {"qemu": {"major":7,"minor":2,"micro":22}, "package": "..."}, "capabilities": ["oob"]}}
 *   client           {"execute": "qmp_capabilities", "id": 1}          (required first)
 *   reply            {"return": {}, "id": 1}
 *   command          {"execute": "qom-get", "arguments": {"path": "...", "property": "size"}, "id": 2}
 *   error reply      {"error": {"class": "GenericError", "desc": "..."}, "id": 2}
 *   event            {"event": "MEMORY_DEVICE_SIZE_CHANGE", "data": {"id": "vm0", "size": N, "qom-path": "..."},
 *                     "timestamp": {"seconds": S, "microseconds": U}}
 *
 * Replies carry the id of their command; events carry none and may arrive between a
 * command and its reply. A command without a reply in time fails and the connection is
 * dropped, because its state is then unknown.
 */
import net from 'node:net';
import { z } from 'zod';
import type { Clock } from '../protocol/clock.ts';
import { LineDecoder } from '../protocol/codec.ts';

const QMP_MAX_LINE = 1024 * 1024;

const GreetingSchema = z.object({ QMP: z.object({ version: z.unknown(), capabilities: z.array(z.string()).optional() }) });
const ReturnSchema = z.object({ return: z.unknown(), id: z.unknown().optional() });
const ErrorReplySchema = z.object({ error: z.object({ class: z.string(), desc: z.string() }), id: z.unknown().optional() });
const EventSchema = z.object({ event: z.string(), data: z.record(z.string(), z.unknown()).optional(), timestamp: z.unknown().optional() });

export interface QmpError {
  class: string;
  desc: string;
}
export type QmpResult = { ok: true; value: unknown } | { ok: false; error: QmpError };
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
}

export interface QmpConnection {
  readonly greeting: unknown;
  execute(command: string, args?: Record<string, unknown>): Promise<QmpResult>;
  onEvent(fn: (e: QmpEvent) => void): void;
  onClose(fn: (reason: string) => void): void;
  close(): void;
}

interface Pending {
  resolve: (r: QmpResult) => void;
  timer: unknown;
}

/** Connects, reads the greeting and negotiates capabilities; rejects if any of it fails. */
export function connectQmp(path: string, opts: { clock: Clock; commandTimeoutMs: number }): Promise<QmpConnection> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path });
    const decoder = new LineDecoder(QMP_MAX_LINE);
    const pending = new Map<number, Pending>();
    const eventFns: ((e: QmpEvent) => void)[] = [];
    const closeFns: ((reason: string) => void)[] = [];
    let nextId = 1;
    let greeting: unknown;
    let closed = false;
    let ready = false;

    const shut = (reason: string) => {
      if (closed) return;
      closed = true;
      sock.destroy();
      for (const [, p] of pending) {
        opts.clock.clearTimeout(p.timer);
        p.resolve({ ok: false, error: { class: 'Disconnected', desc: reason } });
      }
      pending.clear();
      if (!ready) reject(new Error(`qmp: ${reason}`));
      for (const fn of closeFns) fn(reason);
    };

    const execute = (command: string, args?: Record<string, unknown>): Promise<QmpResult> => {
      if (closed) return Promise.resolve({ ok: false, error: { class: 'Disconnected', desc: 'connection closed' } });
      const id = nextId++;
      return new Promise((res) => {
        const timer = opts.clock.setTimeout(() => {
          pending.delete(id);
          res({ ok: false, error: { class: 'Timeout', desc: `${command}: no reply in ${opts.commandTimeoutMs} ms` } });
          shut('command timeout');
        }, opts.commandTimeoutMs);
        pending.set(id, { resolve: res, timer });
        sock.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
      });
    };

    const conn: QmpConnection = {
      get greeting() {
        return greeting;
      },
      execute,
      onEvent: (fn) => eventFns.push(fn),
      onClose: (fn) => closeFns.push(fn),
      close: () => shut('closed by client'),
    };

    const onLine = (text: string) => {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return shut('qmp: invalid JSON from QEMU');
      }
      if (greeting === undefined) {
        if (!GreetingSchema.safeParse(raw).success) return shut('qmp: no greeting');
        greeting = raw;
        void execute('qmp_capabilities').then((r) => {
          if (!r.ok) return shut(`qmp_capabilities failed: ${r.error.desc}`);
          ready = true;
          resolve(conn);
        });
        return;
      }
      const ev = EventSchema.safeParse(raw);
      if (ev.success) {
        for (const fn of eventFns) fn({ event: ev.data.event, data: ev.data.data ?? {} });
        return;
      }
      const ret = ReturnSchema.safeParse(raw);
      const err = ret.success ? undefined : ErrorReplySchema.safeParse(raw);
      const id = ret.success ? ret.data.id : err?.success ? err.data.id : undefined;
      const p = typeof id === 'number' ? pending.get(id) : undefined;
      if (!p) return; // a reply to nothing we sent (or without id): ignore
      pending.delete(id as number);
      opts.clock.clearTimeout(p.timer);
      if (ret.success) p.resolve({ ok: true, value: ret.data.return });
      else if (err?.success) p.resolve({ ok: false, error: err.data.error });
    };

    sock.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (closed) return;
        if (frame.ok) onLine(frame.text);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => shut(e.code ?? e.message));
    sock.on('close', () => shut('QMP socket closed'));
  });
}
