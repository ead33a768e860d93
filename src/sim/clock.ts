/**
 * One virtual clock for the whole simulated world. It is at the same time an XState
 * `Clock` (the resize machine's delays), the protocol's `Clock` (host agent, adapters) and
 * an RxJS `SchedulerLike` (signal pipelines), so every part of the real daemon runs on the
 * same virtual time and a run is a pure function of its seed.
 *
 * Timers live in a binary heap ordered by (due time, insertion order): equal due times fire
 * in the order they were set, as Node's timers do.
 */
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class VirtualClock {
  private t: number;
  private seq = 0;
  private heap: Timer[] = [];
  readonly scheduler: SchedulerLike;

  constructor(startMs = 0) {
    this.t = startMs;
    this.scheduler = makeScheduler(this);
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: Timer = { at: this.t + Math.max(0, ms || 0), seq: this.seq++, fn, live: true };
    this.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'live' in handle) (handle as Timer).live = false;
  }

  /** Due time of the next live timer, or Infinity. */
  nextDue(): number {
    while (this.heap.length && !this.heap[0]!.live) this.pop();
    return this.heap.length ? this.heap[0]!.at : Number.POSITIVE_INFINITY;
  }

  /** Fires every timer due up to `untilMs` in order (timers set meanwhile included), then sets now. */
  advanceTo(untilMs: number): void {
    for (;;) {
      const due = this.nextDue();
      if (due > untilMs) break;
      const timer = this.pop()!;
      if (timer.at > this.t) this.t = timer.at;
      timer.live = false;
      timer.fn();
    }
    if (untilMs > this.t) this.t = untilMs;
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * RxJS scheduler on the virtual clock. An action re-scheduling itself (interval, timer with
 * a period) cancels its pending timer first, which is the contract of SchedulerAction.
 */
function makeScheduler(clock: VirtualClock): SchedulerLike {
  class VirtualAction<T> extends Subscription implements SchedulerAction<T> {
    private timer: ReturnType<VirtualClock['setTimeout']> | null = null;
    constructor(private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
      super(() => this.cancel());
    }
    schedule(state?: T, delay = 0): Subscription {
      if (this.closed) return this;
      this.cancel();
      this.timer = clock.setTimeout(() => {
        this.timer = null;
        this.work.call(this, state);
      }, delay);
      return this;
    }
    private cancel(): void {
      if (this.timer) clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }
  return {
    now: () => clock.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      return new VirtualAction<T>(work).schedule(state, delay);
    },
  };
}
