/**
 * One simulated VM under one policy: the world ticks every `tickMs` of virtual time; between
 * ticks the virtual clock fires the timers of the daemon, the host and the link in order.
 */
import { GuestConfigSchema, type GuestConfig } from '../config/schema.ts';
import { makeLogger, type Logger } from '../io/log.ts';
import type { TransitionRecord } from '../io/transition-trace.ts';
import { VirtualClock } from './clock.ts';
import type { OomKill } from './guest.ts';
import { makeSimHost, type SimAgent } from './host.ts';
import type { RunMetrics } from './metrics.ts';
import { makeRng } from './rng.ts';
import { defaultHost, workloadOf, type Scenario } from './scenarios.ts';
import { SimVm, type SeriesPoint } from './vm.ts';
import type { Workload } from './workload.ts';
import type { Policy } from './policies/types.ts';

export type { SeriesPoint } from './vm.ts';

export interface RunOptions {
  seed?: number;
  tickMs?: number;
  log?: Logger;
  /** Builds the run's logger on the run's virtual clock (log lines carry virtual time). */
  makeLog?: (now: () => number) => Logger;
  config?: GuestConfig;
  /** Replace the scenario's generated workload (trace replay). */
  workload?: Workload;
  /** How many chart points to keep (evenly spaced). */
  seriesPoints?: number;
  onTransition?: (rec: TransitionRecord) => void;
}

export interface RunResult {
  scenario: string;
  policy: string;
  seed: number;
  metrics: RunMetrics;
  kills: OomKill[];
  series: SeriesPoint[];
  wallMs: number;
}

export async function runSim(scenario: Scenario, policy: Policy, opts: RunOptions = {}): Promise<RunResult> {
  const wall0 = performance.now();
  const seed = opts.seed ?? 1;
  const tickMs = opts.tickMs ?? 100;
  const clock = new VirtualClock(0);
  const rng = makeRng(seed);
  const vm = new SimVm(scenario, opts.workload ?? workloadOf(scenario, seed), tickMs);
  const log = opts.log ?? opts.makeLog?.(() => clock.now()) ?? makeLogger({ level: 'silent', now: () => clock.now() });
  const { host, agent } = makeSimHost(clock, rng.fork('link'), defaultHost(scenario.maxBytes, scenario.host), vm.device, log);
  vm.start(policy, {
    clock,
    host,
    log,
    config: opts.config ?? GuestConfigSchema.parse({}),
    ...(opts.onTransition ? { onTransition: opts.onTransition } : {}),
  });

  const endMs = scenario.durationS * 1000;
  const seriesEvery = seriesInterval(endMs, tickMs, opts.seriesPoints);
  const series: SeriesPoint[] = [];
  for (let t = tickMs; t <= endMs; t += tickMs) {
    clock.advanceTo(t);
    agent.tick(t);
    vm.step(t, tickMs);
    await drain(agent);
    if (t % seriesEvery === 0) series.push(vm.point(t));
  }
  vm.stop();
  return {
    scenario: scenario.name,
    policy: policy.name,
    seed,
    metrics: vm.result(host.counters),
    kills: [...vm.guest.kills],
    series,
    wallMs: performance.now() - wall0,
  };
}

/** Chart points every this many ms: about `points` of them, on tick boundaries. */
export function seriesInterval(endMs: number, tickMs: number, points = 600): number {
  return Math.max(tickMs, Math.floor(endMs / points / tickMs) * tickMs);
}

/**
 * The host agent reacts to device results through promises: let them run now, at this
 * tick's virtual time, before the clock moves on.
 */
export async function drain(agent: SimAgent): Promise<void> {
  while (agent.needsDrain) {
    agent.clearDrain();
    for (let i = 0; i < 4; i++) await null;
  }
}
