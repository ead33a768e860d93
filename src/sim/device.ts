/**
 * The virtio-mem device as the host sees it, advanced by the simulator's tick. Plugging
 * starts after a fixed latency and runs at a plug rate; unplugging runs at the measured
 * ~0.27 s per 128 MiB and stops at the guest's unplug floor (pinned pages, or memory the
 * remaining RAM could not hold). An unplug that makes no progress for `stuckMs` ends
 * partial (or failed when nothing moved), as a real virtio-mem driver gives up and retries
 * later. A new resize supersedes the one in progress.
 */
import { alignDown, alignUp } from '../policy/align.ts';

export interface DeviceParams {
  blockBytes: number;
  maxBytes: number;
  plugLatencyMs: number;
  plugBytesPerS: number;
  unplugLatencyMs: number;
  unplugBytesPerS: number;
  stuckMs: number;
}

export interface DeviceResult {
  status: 'complete' | 'partial' | 'failed';
  pluggedBytes: number;
  superseded?: boolean;
}

interface Op {
  from: number;
  target: number;
  startAtMs: number;
  lastProgressMs: number;
  onDone: (r: DeviceResult) => void;
}

export class SimDevice {
  requestedBytes = 0;
  pluggedBytes = 0;
  private op: Op | null = null;

  constructor(readonly p: DeviceParams) {}

  get busy(): boolean {
    return this.op !== null;
  }

  resize(nowMs: number, targetBytes: number, onDone: (r: DeviceResult) => void): void {
    const target = Math.min(alignDown(this.p.maxBytes, this.p.blockBytes), alignUp(Math.max(0, targetBytes), this.p.blockBytes));
    if (this.op) {
      const prev = this.op;
      this.op = null;
      prev.onDone({ status: statusOf(prev, this.pluggedBytes), pluggedBytes: this.pluggedBytes, superseded: true });
    }
    this.requestedBytes = target;
    const latency = target >= this.pluggedBytes ? this.p.plugLatencyMs : this.p.unplugLatencyMs;
    this.op = { from: this.pluggedBytes, target, startAtMs: nowMs + latency, lastProgressMs: nowMs + latency, onDone };
  }

  /** Moves the device toward its target; returns the new plugged size. */
  tick(nowMs: number, dtMs: number, unplugFloorBytes: number): number {
    const op = this.op;
    if (!op || nowMs < op.startAtMs) return this.pluggedBytes;
    const block = this.p.blockBytes;
    if (op.target > this.pluggedBytes) {
      const step = Math.max(block, alignDown((this.p.plugBytesPerS * dtMs) / 1000, block));
      this.pluggedBytes = Math.min(op.target, this.pluggedBytes + step);
    } else if (op.target < this.pluggedBytes) {
      const floor = Math.max(op.target, alignUp(unplugFloorBytes, block));
      const step = Math.max(block, alignDown((this.p.unplugBytesPerS * dtMs) / 1000, block));
      const next = Math.max(floor, this.pluggedBytes - step);
      if (next < this.pluggedBytes) {
        this.pluggedBytes = next;
        op.lastProgressMs = nowMs;
      } else if (nowMs - op.lastProgressMs >= this.p.stuckMs) {
        this.finish(op);
      }
    }
    if (this.op === op && this.pluggedBytes === op.target) this.finish(op);
    return this.pluggedBytes;
  }

  private finish(op: Op): void {
    this.op = null;
    op.onDone({ status: statusOf(op, this.pluggedBytes), pluggedBytes: this.pluggedBytes });
  }
}

function statusOf(op: Op, plugged: number): DeviceResult['status'] {
  if (plugged === op.target) return 'complete';
  return plugged === op.from ? 'failed' : 'partial';
}
