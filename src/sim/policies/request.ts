/**
 * How the baselines ask the host for a size: the same link, agent and device as memresize,
 * with their own request ids, one request in flight at a time. A request whose ack never
 * comes (dropped) is forgotten after `timeoutMs`: the baselines have no retry protocol of
 * their own beyond re-deciding on their next period, which is what their sources do.
 * The host agent speaks only after a handshake: the requester says hello on connect, again
 * every `helloRetryMs` until the welcome comes (a lost hello must not leave a baseline mute
 * for the whole run: any real client retries its handshake), and holds requests until then.
 */
import type { HostEvent } from '../../io/host-link.ts';
import type { PolicyEnv } from './types.ts';

export interface Requester {
  /** True while a request waits for its ack or its done. */
  readonly busy: boolean;
  request(targetBytes: number, onDone?: (pluggedBytes: number, status: string) => void): void;
  stop(): void;
}

const helloRetryMs = 2000;

export function makeRequester(env: PolicyEnv, prefix: string, timeoutMs = 10_000): Requester {
  let seq = 0;
  let helloTimer: unknown = null;
  const hello = () => {
    env.host.link.sendHello(prefix);
    helloTimer = env.clock.setTimeout(hello, helloRetryMs);
  };
  let current: { id: string; timer: unknown; onDone?: (b: number, s: string) => void } | null = null;
  const finish = (plugged: number, status: string) => {
    const c = current;
    if (!c) return;
    env.clock.clearTimeout(c.timer);
    current = null;
    c.onDone?.(plugged, status);
  };
  let welcomed = false;
  let held: (() => void) | null = null;
  const sub = env.host.link.events$.subscribe((e: HostEvent) => {
    if (e.type === 'host.connected') {
      env.clock.clearTimeout(helloTimer);
      hello();
    }
    if (e.type === 'host.welcome') {
      env.clock.clearTimeout(helloTimer);
      welcomed = true;
      const h = held;
      held = null;
      h?.();
    }
    if (!current) return;
    if (e.type === 'host.ack' && e.id === current.id && (e.outcome === 'denied' || e.outcome === 'busy')) finish(env.guest.pluggedBytes, e.outcome);
    else if (e.type === 'host.done' && e.id === current.id) finish(e.pluggedBytes, e.status);
  });
  return {
    get busy() {
      return current !== null || !welcomed;
    },
    request(targetBytes, onDone) {
      if (!welcomed) {
        held = () => this.request(targetBytes, onDone);
        return;
      }
      const target = Math.max(0, Math.min(env.maxBytes, Math.round(targetBytes)));
      const id = `${prefix}-${++seq}`;
      const from = env.guest.pluggedBytes;
      const timer = env.clock.setTimeout(() => finish(env.guest.pluggedBytes, 'timeout'), timeoutMs);
      current = { id, timer, onDone };
      env.host.link.sendResize({
        id,
        kind: target >= from ? 'grow' : 'shrink',
        targetBytes: target,
        fromBytes: from,
        reason: prefix,
        pressure: { source: target >= from ? 'psi' : 'relaxed' },
        attempt: 0,
      });
    },
    stop: () => {
      env.clock.clearTimeout(helloTimer);
      sub.unsubscribe();
    },
  };
}

/** A timer that repeats every periodMs on the virtual clock. */
export function every(env: PolicyEnv, periodMs: number, fn: () => void, firstMs = periodMs): () => void {
  let handle: unknown;
  let live = true;
  const loop = () => {
    if (!live) return;
    fn();
    handle = env.clock.setTimeout(loop, periodMs);
  };
  handle = env.clock.setTimeout(loop, firstMs);
  return () => {
    live = false;
    env.clock.clearTimeout(handle);
  };
}
