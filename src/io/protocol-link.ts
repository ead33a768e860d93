/**
 * The guest's protocol client: turns the host's lines into the machine's host.* events and
 * the machine's effects into lines. Everything from the host is validated (a buggy or
 * hostile host must not crash the daemon): a bad line is counted, logged (rate-limited)
 * and answered with an `error` at most once per second.
 */
import { defer, Subject, type Observable } from 'rxjs';
import type { ReclaimReply, ResizeRequest } from '../machines/events.ts';
import { realClock, type Clock } from '../protocol/clock.ts';
import { countError, decodeMessage, encodeMessage, LineDecoder, newCounters, type ProtocolCounters } from '../protocol/codec.ts';
import { HOST_TYPES, HostMessageSchema, PROTOCOL_VERSIONS, type GuestMessage, type HostMessage, type Resize } from '../protocol/messages.ts';
import type { HostEvent, HostLink } from './host-link.ts';
import type { Logger } from './log.ts';
import { makeReconnectingStream } from './transports/reconnecting.ts';
import type { Connector } from './transports/types.ts';

export interface ProtocolLinkOptions {
  log: Logger;
  clock?: Clock;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  name?: string;
}

export interface ProtocolLink extends HostLink {
  readonly counters: ProtocolCounters;
  /** Connection attempts so far. */
  readonly attempts: number;
}

const ERROR_REPLY_INTERVAL_MS = 1000;
const SOFTWARE = 'memresize/0.1.0';
const text256 = (s: string) => (s.length > 256 ? s.slice(0, 256) : s);

/** Maps a validated host message to the machine's event (or undefined for link-level ones). */
export function toHostEvent(msg: HostMessage): HostEvent | undefined {
  switch (msg.type) {
    case 'welcome':
      return { type: 'host.welcome', minBytes: msg.minBytes, maxBytes: msg.maxBytes, blockBytes: msg.blockBytes, requestedBytes: msg.requestedBytes, pluggedBytes: msg.pluggedBytes };
    case 'ack': {
      const e: HostEvent = { type: 'host.ack', id: msg.id, outcome: msg.outcome, grantedBytes: msg.grantedBytes };
      if (msg.reason !== undefined) e.reason = msg.reason;
      if (msg.retryAfterMs !== undefined) e.retryAfterMs = msg.retryAfterMs;
      return e;
    }
    case 'done':
      return { type: 'host.done', id: msg.id, status: msg.status, pluggedBytes: msg.pluggedBytes };
    case 'limits':
      return { type: 'host.limits', minBytes: msg.minBytes, maxBytes: msg.maxBytes };
    case 'reclaim':
      return { type: 'host.reclaim', id: msg.id, bytes: msg.bytes };
    case 'available':
      return { type: 'host.available', bytes: msg.bytes };
    default:
      return undefined;
  }
}

/** The resize request as it goes on the wire: sanitized so our own host never rejects it. */
export function resizeMessage(req: ResizeRequest): Resize {
  const p = req.pressure;
  const pressure: Record<string, unknown> = { source: p.source };
  if (p.severity) pressure.severity = p.severity;
  if (p.stallPercent !== undefined && Number.isFinite(p.stallPercent)) pressure.stallPercent = Math.min(100, Math.max(0, p.stallPercent));
  if (p.memAvailableBytes !== undefined && Number.isFinite(p.memAvailableBytes)) pressure.memAvailableBytes = Math.max(0, Math.round(p.memAvailableBytes));
  if (p.secondsToReserve !== undefined && Number.isFinite(p.secondsToReserve)) pressure.secondsToReserve = p.secondsToReserve;
  return {
    type: 'resize',
    id: req.id,
    kind: req.kind,
    targetBytes: Math.max(0, Math.round(req.targetBytes)),
    fromBytes: Math.max(0, Math.round(req.fromBytes)),
    reason: text256(req.reason),
    pressure: pressure as Resize['pressure'],
    attempt: req.attempt,
  };
}

export function makeProtocolLink(connector: Connector, opts: ProtocolLinkOptions): ProtocolLink {
  const clock = opts.clock ?? realClock;
  const log = opts.log.child({ component: 'host-link' });
  const subject = new Subject<HostEvent>();
  const counters = newCounters();
  let decoder = new LineDecoder();
  let lastErrorReplyAt = -Infinity;
  let suppressed = 0;

  const write = (msg: GuestMessage) => stream.write(encodeMessage(msg));

  const protocolError = (code: 'line-too-long' | 'invalid-json' | 'unknown-type' | 'schema', detail: string) => {
    countError(counters, code);
    const now = clock.now();
    if (now - lastErrorReplyAt < ERROR_REPLY_INTERVAL_MS) {
      suppressed++;
      return;
    }
    log.warn({ code, detail, suppressed, counters }, 'bad line from host');
    suppressed = 0;
    lastErrorReplyAt = now;
    write({ type: 'error', code, message: detail.slice(0, 1024) });
  };

  const stream = makeReconnectingStream(
    connector,
    {
      onConnected: () => {
        decoder = new LineDecoder();
        subject.next({ type: 'host.connected' });
      },
      onDisconnected: (reason) => subject.next({ type: 'host.disconnected', reason }),
      onData: (chunk) => {
        for (const frame of decoder.push(chunk)) {
          counters.lines++;
          if (!frame.ok) {
            protocolError(frame.code, `line of ${frame.bytes} bytes exceeds the limit`);
            continue;
          }
          const res = decodeMessage(HostMessageSchema, HOST_TYPES, frame.text);
          if (!res.ok) {
            protocolError(res.code, res.message);
            continue;
          }
          const msg = res.message;
          if (msg.type === 'ping') {
            write(msg.id === undefined ? { type: 'pong' } : { type: 'pong', id: msg.id });
            continue;
          }
          if (msg.type === 'error') {
            log.warn({ code: msg.code, peerMessage: msg.message, ref: msg.ref }, 'host reported an error');
            continue;
          }
          if (msg.type === 'welcome' && !(PROTOCOL_VERSIONS as readonly number[]).includes(msg.version)) {
            log.error({ version: msg.version }, 'host chose a protocol version this guest does not speak');
            continue;
          }
          const event = toHostEvent(msg);
          if (event) subject.next(event);
        }
      },
    },
    {
      clock,
      baseMs: opts.reconnectBaseMs ?? 100,
      capMs: opts.reconnectCapMs ?? 5000,
      log,
      name: opts.name ?? 'host-link',
    },
  );

  return {
    // Connecting starts with the first subscriber, so host.connected is never missed.
    events$: defer(() => {
      queueMicrotask(() => stream.start());
      return subject;
    }) as Observable<HostEvent>,
    counters,
    get attempts() {
      return stream.attempts;
    },
    sendHello(idPrefix) {
      write({ type: 'hello', versions: [...PROTOCOL_VERSIONS], idPrefix: text256(idPrefix), software: SOFTWARE });
    },
    sendResize(req) {
      write(resizeMessage(req));
    },
    replyReclaim(reply: ReclaimReply) {
      const msg: GuestMessage = { type: 'reclaim-reply', id: reply.id, accepted: reply.accepted, bytes: Math.max(0, Math.round(reply.bytes)) };
      if (reply.reason) msg.reason = text256(reply.reason);
      write(msg);
    },
    async close() {
      stream.close();
      subject.complete();
    },
  };
}
