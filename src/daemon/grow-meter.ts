/**
 * Measures grow latency end to end: from the last send of a grow request to the moment
 * the guest observes the granted memory (mem.observed reaching the grant). Measured from
 * the LAST send, not the first: a resend after a lost message says something about the
 * link, not about how long memory takes to arrive, and the step is sized by the latter.
 * Pure bookkeeping: the caller feeds it what passes by and gets latencies back.
 */
import type { HostEvent } from '../io/host-link.ts';
import type { ResizeRequest, ResizerEvent } from '../machines/events.ts';

export interface GrowMeter {
  sent(req: ResizeRequest, atMs: number): void;
  host(ev: HostEvent): void;
  /** Returns the latency (ms) when this observation completes the pending grow. */
  observed(ev: ResizerEvent, atMs: number): number | null;
}

export function makeGrowMeter(): GrowMeter {
  let blockBytes = 2 * 1024 * 1024;
  let pending: { id: string; sentAtMs: number; targetBytes: number } | null = null;
  return {
    sent(req, atMs) {
      if (req.kind === 'grow') pending = { id: req.id, sentAtMs: atMs, targetBytes: req.targetBytes };
      else pending = null;
    },
    host(ev) {
      if (ev.type === 'host.welcome') blockBytes = ev.blockBytes;
      if (!pending) return;
      if (ev.type === 'host.ack' && ev.id === pending.id) {
        if (ev.outcome === 'granted' || ev.outcome === 'partial') pending.targetBytes = ev.grantedBytes;
        else pending = null;
      }
      if (pending && ev.type === 'host.done' && ev.id === pending.id && ev.pluggedBytes < pending.targetBytes) pending.targetBytes = ev.pluggedBytes;
      if (ev.type === 'host.disconnected') pending = null;
    },
    observed(ev, atMs) {
      if (!pending || ev.type !== 'mem.observed') return null;
      if (ev.pluggedBytes + Math.max(0, blockBytes - 1) < pending.targetBytes) return null;
      const latency = Math.max(0, atMs - pending.sentAtMs);
      pending = null;
      return latency;
    },
  };
}
