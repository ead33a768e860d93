/**
 * Measures host roundtrips for the adaptive ack timeout: the time from sending a resize
 * request to its ack, and from the handshake's hello to the welcome (so that the first
 * request after start already waits for a measured link, not the configured worst case).
 * Karn's rule: a message sent more than once gives no sample, since the answer cannot tell
 * which send it answers. Pure bookkeeping, like the grow meter.
 */
import type { HostEvent } from '../io/host-link.ts';
import type { ResizeRequest } from '../machines/events.ts';

export interface AckMeter {
  sent(req: ResizeRequest, atMs: number): void;
  helloSent(atMs: number): void;
  /** Returns the roundtrip (ms) when this event answers a request or hello sent once. */
  host(ev: HostEvent, atMs: number): number | null;
}

export function makeAckMeter(): AckMeter {
  let pending: { id: string; sentAtMs: number; sends: number } | null = null;
  let hello: { sentAtMs: number; sends: number } | null = null;
  return {
    sent(req, atMs) {
      pending = pending?.id === req.id ? { ...pending, sends: pending.sends + 1 } : { id: req.id, sentAtMs: atMs, sends: 1 };
    },
    helloSent(atMs) {
      hello = hello ? { ...hello, sends: hello.sends + 1 } : { sentAtMs: atMs, sends: 1 };
    },
    host(ev, atMs) {
      if (ev.type === 'host.disconnected') {
        pending = null;
        hello = null;
      }
      if (ev.type === 'host.welcome') {
        const h = hello;
        hello = null;
        return h?.sends === 1 ? Math.max(0, atMs - h.sentAtMs) : null;
      }
      if (ev.type !== 'host.ack' || !pending || ev.id !== pending.id) return null;
      const p = pending;
      pending = null;
      return p.sends === 1 ? Math.max(0, atMs - p.sentAtMs) : null;
    },
  };
}
