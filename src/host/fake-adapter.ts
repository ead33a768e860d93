/**
 * A virtio-mem device in memory, on an injected clock: for tests, the benchmark and the
 * simulator. Plugging and unplugging progress linearly at configured speeds after a fixed
 * latency; a grow may plug only a share of what was asked (a backend short of memory) and
 * an unplug may free only a share (unmovable pages), which is what a real guest does.
 * Defaults follow what was measured under TCG here (plug ~10 GiB/s, unplug ~0.5 GiB/s).
 */
import type { FakeAdapterConfig } from '../config/host.ts';
import type { Clock } from '../protocol/clock.ts';
import { alignDown } from '../policy/align.ts';
import type { DeviceState, ResizeAdapter, ResizeResult } from './adapter.ts';

interface Op {
  from: number;
  final: number;
  target: number;
  startAt: number;
  endAt: number;
  timer: unknown;
  resolve: (r: ResizeResult) => void;
}

type FakeAdapter = ResizeAdapter & { setAvailable(up: boolean): void; resizeCalls: number; resizeWithCallback(target: number, cb: (r: ResizeResult) => void): void };

export function makeFakeAdapter(cfg: FakeAdapterConfig, clock: Clock): FakeAdapter {
  let requested = cfg.initialBytes;
  let plugged = cfg.initialBytes;
  let available = true;
  let op: Op | null = null;
  let calls = 0;
  const listeners: ((s: DeviceState | null) => void)[] = [];
  const block = cfg.blockBytes;

  const pluggedNow = (): number => {
    if (!op) return plugged;
    const now = clock.now();
    if (now <= op.startAt) return op.from;
    if (now >= op.endAt) return op.final;
    const share = (now - op.startAt) / (op.endAt - op.startAt);
    const moved = alignDown(Math.abs(op.final - op.from) * share, block);
    return op.final > op.from ? op.from + moved : op.from - moved;
  };
  const snapshot = (): DeviceState | null => (available ? { requestedBytes: requested, pluggedBytes: pluggedNow(), blockBytes: block, maxBytes: cfg.maxBytes } : null);
  const notify = () => {
    const s = snapshot();
    for (const fn of listeners) fn(s);
  };
  const statusOf = (target: number, from: number, reached: number): ResizeResult['status'] =>
    reached === target ? 'complete' : reached === from ? 'failed' : 'partial';

  const adapter: FakeAdapter = {
    kind: 'fake',
    get resizeCalls() {
      return calls;
    },
    async start() {},
    state: snapshot,
    onChange(fn: (s: DeviceState | null) => void) {
      listeners.push(fn);
    },
    setAvailable(up: boolean) {
      available = up;
      notify();
    },
    resize(target: number): Promise<ResizeResult> {
      return new Promise((resolve) => adapter.resizeWithCallback(target, resolve));
    },
    resizeWithCallback(target: number, resolve: (r: ResizeResult) => void): void {
      calls++;
      if (!available) return resolve({ status: 'failed', pluggedBytes: plugged, error: 'unavailable' });
      if (op) {
        // Superseded: the device stops where it is and heads for the new target.
        plugged = pluggedNow();
        clock.clearTimeout(op.timer);
        op.resolve({ status: statusOf(op.target, op.from, plugged), pluggedBytes: plugged, superseded: true });
        op = null;
      }
      requested = target;
      const from = plugged;
      const failing = cfg.failEvery > 0 && calls % cfg.failEvery === 0;
      const delta = target - from;
      const share = failing ? 0 : delta >= 0 ? cfg.plugShare : cfg.unplugShare;
      const final = from + Math.sign(delta) * alignDown(Math.abs(delta) * share, block);
      const speed = delta >= 0 ? cfg.plugBytesPerSec : cfg.unplugBytesPerSec;
      const startAt = clock.now() + cfg.latencyMs;
      const endAt = startAt + (Math.abs(final - from) / speed) * 1000;
      const o: Op = { from, final, target, startAt, endAt, resolve, timer: undefined };
      op = o;
      o.timer = clock.setTimeout(() => {
        plugged = final;
        op = null;
        resolve({ status: statusOf(target, from, final), pluggedBytes: final });
        notify();
      }, endAt - clock.now());
    },
    async close() {
      if (op) {
        clock.clearTimeout(op.timer);
        plugged = pluggedNow();
        op.resolve({ status: statusOf(op.target, op.from, plugged), pluggedBytes: plugged, superseded: true });
        op = null;
      }
    },
  };
  return adapter;
}
