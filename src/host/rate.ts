/** Token bucket and sliding-window counter on an injected clock (rate limits, flood detection). */
import type { Clock } from '../protocol/clock.ts';

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.at = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerSec);
    this.at = now;
  }

  /** Takes a token; returns 0 on success or the milliseconds until one is available. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerSec) * 1000);
  }
}

export class WindowCounter {
  private stamps: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Records one event; returns how many fell within the window. */
  add(): number {
    const now = this.clock.now();
    this.stamps.push(now);
    const cut = now - this.windowMs;
    let i = 0;
    while (i < this.stamps.length && (this.stamps[i] as number) <= cut) i++;
    if (i) this.stamps = this.stamps.slice(i);
    return this.stamps.length;
  }

  reset(): void {
    this.stamps = [];
  }
}
