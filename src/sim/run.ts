/**
 * One simulated VM under one policy: the world ticks every `tickMs` of virtual time; between
 * ticks the virtual clock fires the timers of the daemon, the host and the link in order.
 * The daemon sees only what the real one would see (samples, trigger events, host messages),
 * never the ticks themselves.
 */
import { GuestConfigSchema, type GuestConfig } from '../config/schema.ts';
import { makeLogger, type Logger } from '../io/log.ts';
import type { TransitionRecord } from '../io/transition-trace.ts';
import { VirtualClock } from './clock.ts';
import { SimDevice } from './device.ts';
import { defaultGuestParams, GuestModel, type OomKill } from './guest.ts';
import { makeSimHost } from './host.ts';
import { MetricsRecorder, oracleVmBytes, type RunMetrics } from './metrics.ts';
import { PsiModel } from './psi.ts';
import { makeRng } from './rng.ts';
import { defaultDevice, defaultHost, workloadOf, type Scenario } from './scenarios.ts';
import type { Workload } from './workload.ts';
import type { Policy } from './policies/types.ts';

export interface SeriesPoint {
  tS: number;
  demandBytes: number;
  oracleBytes: number;
  vmBytes: number;
  psiSomeAvg10: number;
}

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
  const workload = opts.workload ?? workloadOf(scenario, seed);
  const guest = new GuestModel(defaultGuestParams(scenario.bootBytes, scenario.guest), workload);
  // The workload is already running when the daemon starts: settle its memory first.
  guest.tick(0, 0);
  const psi = new PsiModel(tickMs);
  const device = new SimDevice(defaultDevice(scenario.maxBytes, scenario.device));
  const log = opts.log ?? opts.makeLog?.(() => clock.now()) ?? makeLogger({ level: 'silent', now: () => clock.now() });
  const host = makeSimHost(clock, rng.fork('link'), defaultHost(scenario.maxBytes, scenario.host), device, log);
  const listeners: ((nowMs: number) => void)[] = [];
  const maxVm = scenario.bootBytes + scenario.maxBytes;
  const metrics = new MetricsRecorder(guest, maxVm, device.p.blockBytes);
  const run = policy.start({
    clock,
    guest,
    psi,
    host,
    log,
    config: opts.config ?? GuestConfigSchema.parse({}),
    bootBytes: scenario.bootBytes,
    maxBytes: scenario.maxBytes,
    blockBytes: device.p.blockBytes,
    onTick: (fn) => listeners.push(fn),
    ...(opts.onTransition ? { onTransition: opts.onTransition } : {}),
  });

  const endMs = scenario.durationS * 1000;
  const seriesEvery = Math.max(tickMs, Math.floor(endMs / (opts.seriesPoints ?? 600) / tickMs) * tickMs);
  const series: SeriesPoint[] = [];
  for (let t = tickMs; t <= endMs; t += tickMs) {
    clock.advanceTo(t);
    host.tick(t);
    const plugged = device.tick(t, tickMs, guest.unplugFloorBytes());
    if (plugged !== guest.pluggedBytes) guest.setPlugged(plugged);
    guest.tick(t, tickMs);
    psi.tick(t, guest.some, guest.full);
    metrics.tick(t, tickMs, device.requestedBytes);
    for (const fn of listeners) fn(t);
    // The host agent reacts to device results through promises: let them run now, at
    // this tick's virtual time, before the clock moves on.
    while (host.needsDrain) {
      host.clearDrain();
      for (let i = 0; i < 4; i++) await null;
    }
    if (t % seriesEvery === 0) {
      const d = guest.demand;
      series.push({
        tS: t / 1000,
        demandBytes: d.anonBytes + d.fileBytes,
        oracleBytes: oracleVmBytes(guest, maxVm, device.p.blockBytes).bytes,
        vmBytes: scenario.bootBytes + guest.pluggedBytes,
        psiSomeAvg10: psi.avgSome[0]!,
      });
    }
  }
  run.stop();
  return {
    scenario: scenario.name,
    policy: policy.name,
    seed,
    metrics: metrics.result(host.counters),
    kills: [...guest.kills],
    series,
    wallMs: performance.now() - wall0,
  };
}
