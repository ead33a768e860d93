/**
 * Measures ack roundtrips for the adaptive ack timeout: the time from sending a resize
 * request to its ack. Karn's rule: a request sent more than once gives no sample, since an
 * ack cannot tell which send it answers. Pure bookkeeping, like the grow meter.
 */
import type { HostEvent } from '../io/host-link.ts';
import type { ResizeRequest } from '../machines/events.ts';

export interface AckMeter {
  sent(req: ResizeRequest, atMs: number): void;
  /** Returns the roundtrip (ms) when this event is the ack of a request sent once. */
  host(ev: HostEvent, atMs: number): number | null;
}

export function makeAckMeter(): AckMeter {
  let pending: { id: string; sentAtMs: number; sends: number } | null = null;
  return {
    sent(req, atMs) {
      pending = pending?.id === req.id ? { ...pending, sends: pending.sends + 1 } : { id: req.id, sentAtMs: atMs, sends: 1 };
    },
    host(ev, atMs) {
      if (ev.type === 'host.disconnected') pending = null;
      if (ev.type !== 'host.ack' || !pending || ev.id !== pending.id) return null;
      const p = pending;
      pending = null;
      return p.sends === 1 ? Math.max(0, atMs - p.sentAtMs) : null;
    },
  };
}
