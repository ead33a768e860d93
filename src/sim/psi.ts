/**
 * The kernel's PSI bookkeeping for one pressure file (kernel/sched/psi.c), fed with the stall
 * the guest model computes per tick:
 * - `total`: cumulative stall in microseconds, exact and monotonic;
 * - avg10/avg60/avg300: recomputed every 2 s as avg = avg*e + pct*(1-e), e = exp(-2s/Ns);
 * - triggers "<some|full> <threshold_us> <window_us>": fire when the stall grown within the
 *   last window reaches the threshold, at most once per window. In `rtpoll` mode (privileged
 *   writers) growth is tracked continuously; in `avgs` mode (unprivileged, windows multiples
 *   of 2 s) only at the 2 s averaging updates, as the kernel's averaging worker does.
 */
export type PsiKind = 'some' | 'full';
export type TriggerMode = 'rtpoll' | 'avgs';

const AVG_PERIOD_MS = 2000;
const DECAY = [Math.exp(-2 / 10), Math.exp(-2 / 60), Math.exp(-2 / 300)] as const;

export interface PsiTrigger {
  kind: PsiKind;
  thresholdUs: number;
  windowUs: number;
  mode: TriggerMode;
  onEvent: (growthUs: number) => void;
}

interface TriggerState extends PsiTrigger {
  /** Totals sampled at each tick of the last window (ring), to compute the growth. */
  ring: Float64Array;
  head: number;
  filled: number;
  lastEventMs: number;
  closed: boolean;
}

export class PsiModel {
  someUs = 0;
  fullUs = 0;
  readonly avgSome = [0, 0, 0];
  readonly avgFull = [0, 0, 0];
  private nextAvgMs = AVG_PERIOD_MS;
  private periodStartSome = 0;
  private periodStartFull = 0;
  private triggers: TriggerState[] = [];

  constructor(private readonly tickMs: number) {}

  /** Adds one tick of stall (fractions of wall time in [0, 1]) ending at nowMs. */
  tick(nowMs: number, someFrac: number, fullFrac: number): void {
    this.someUs += someFrac * this.tickMs * 1000;
    this.fullUs += Math.min(fullFrac, someFrac) * this.tickMs * 1000;
    let averaged = false;
    while (nowMs >= this.nextAvgMs) {
      this.updateAverages();
      this.nextAvgMs += AVG_PERIOD_MS;
      averaged = true;
    }
    for (const t of this.triggers) {
      const total = t.kind === 'some' ? this.someUs : this.fullUs;
      t.ring[t.head] = total;
      t.head = (t.head + 1) % t.ring.length;
      if (t.filled < t.ring.length) t.filled++;
      if (t.mode === 'avgs' && !averaged) continue;
      // Oldest sample in the ring is one window ago (or the start of time).
      const oldest = t.filled < t.ring.length ? 0 : t.ring[t.head]!;
      const growth = total - oldest;
      if (growth >= t.thresholdUs && nowMs - t.lastEventMs >= t.windowUs / 1000) {
        t.lastEventMs = nowMs;
        t.onEvent(growth);
      }
    }
  }

  addTrigger(trigger: PsiTrigger): () => void {
    // One slot per tick of the window plus one: the oldest slot is the total a window ago.
    const slots = Math.max(1, Math.round(trigger.windowUs / 1000 / this.tickMs)) + 1;
    const state: TriggerState = { ...trigger, ring: new Float64Array(slots), head: 0, filled: 0, lastEventMs: Number.NEGATIVE_INFINITY, closed: false };
    this.triggers.push(state);
    return () => {
      this.triggers = this.triggers.filter((t) => t !== state);
    };
  }

  /** The text of /proc/pressure/memory (or a cgroup's memory.pressure) right now. */
  text(): string {
    const fmt = (name: string, avg: number[], total: number) =>
      `${name} avg10=${avg[0]!.toFixed(2)} avg60=${avg[1]!.toFixed(2)} avg300=${avg[2]!.toFixed(2)} total=${Math.round(total)}`;
    return `${fmt('some', this.avgSome, this.someUs)}\n${fmt('full', this.avgFull, this.fullUs)}\n`;
  }

  private updateAverages(): void {
    const pctSome = ((this.someUs - this.periodStartSome) / (AVG_PERIOD_MS * 1000)) * 100;
    const pctFull = ((this.fullUs - this.periodStartFull) / (AVG_PERIOD_MS * 1000)) * 100;
    this.periodStartSome = this.someUs;
    this.periodStartFull = this.fullUs;
    for (let i = 0; i < 3; i++) {
      this.avgSome[i] = this.avgSome[i]! * DECAY[i]! + pctSome * (1 - DECAY[i]!);
      this.avgFull[i] = this.avgFull[i]! * DECAY[i]! + pctFull * (1 - DECAY[i]!);
    }
  }
}
