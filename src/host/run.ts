/**
 * Starts a whole host agent from its config: adapters, the agent core, one channel per VM
 * and the metrics endpoint. `memresize host` calls this; tests call it in-process.
 */
import type { HostConfig } from '../config/host.ts';
import type { Logger } from '../io/log.ts';
import { changedPaths } from '../daemon/lifecycle.ts';
import { realClock, type Clock } from '../protocol/clock.ts';
import type { ResizeAdapter } from './adapter.ts';
import { createHostAgent, type HostAgent } from './agent.ts';
import { openChannel, type ChannelHandle } from './channels.ts';
import { makeFakeAdapter } from './fake-adapter.ts';
import { makePromMetrics, serveMetrics } from './metrics.ts';
import { makeQemuAdapter } from './qemu-adapter.ts';

export interface RunningAgent {
  agent: HostAgent;
  adapters: Record<string, ResizeAdapter>;
  /** The metrics port actually bound (config port 0 picks one), or undefined. */
  metricsPort?: number;
  /** The config in force (what a reconfigure could not apply stays as it was). */
  readonly config: HostConfig;
  /** SIGHUP: apply what a running agent can take; report the rest. */
  reconfigure(next: HostConfig): HostReconfigureReport;
  close(): Promise<void>;
}

export interface HostReconfigureReport {
  changed: string[];
  applied: string[];
  needsRestart: string[];
}

/**
 * What a running agent can change: the log level, the budget (lowered: the VMs above their
 * new shares are asked for the excess; raised: refused VMs hear `available`) and each VM's
 * min/max (the agent bounds every later grant by them and sends `limits` to the connected
 * guest). Weights, steps, rates, channels and adapters are fixed when the agent starts (the
 * agent keeps running sums and buckets built from them).
 */
const LIVE_PATHS = [/^log\.level$/, /^budgetBytes$/, /^vms\[[^\]]+\]\.(minBytes|maxBytes)$/];

export async function startHostAgent(config: HostConfig, deps: { log: Logger; clock?: Clock }): Promise<RunningAgent> {
  const clock = deps.clock ?? realClock;
  const adapters: Record<string, ResizeAdapter> = {};
  for (const vm of config.vms) {
    const log = deps.log.child({ vm: vm.name });
    adapters[vm.name] = vm.adapter.kind === 'qemu' ? makeQemuAdapter(vm.adapter, { clock, log }) : makeFakeAdapter(vm.adapter, clock);
  }
  // QEMU may not be up yet: start() resolves anyway and keeps reconnecting.
  await Promise.all(Object.values(adapters).map((a) => a.start()));
  const prom = config.metrics.enabled ? makePromMetrics({ defaultMetrics: true }) : undefined;
  const agent = createHostAgent({ config, adapters, log: deps.log, clock, metrics: prom });
  const channels: ChannelHandle[] = [];
  try {
    for (const vm of config.vms) channels.push(await openChannel(vm.name, vm.channel, { agent, log: deps.log, clock }));
  } catch (err) {
    await Promise.all(channels.map((c) => c.close()));
    await Promise.all(Object.values(adapters).map((a) => a.close()));
    throw err;
  }
  const metricsServer = prom ? await serveMetrics(prom.registry, config.metrics.host, config.metrics.port) : undefined;
  deps.log.info({ vms: config.vms.length, budget: config.budgetBytes, metricsPort: metricsServer?.port }, 'host agent started');
  let running = config;
  return {
    agent,
    adapters,
    metricsPort: metricsServer?.port,
    get config() {
      return running;
    },
    reconfigure(next) {
      const changed = changedPaths(running, next);
      const applied = changed.filter((p) => LIVE_PATHS.some((r) => r.test(p)));
      const needsRestart = changed.filter((p) => !applied.includes(p));
      const vms = running.vms.map((vm) => {
        const nv = next.vms.find((v) => v.name === vm.name);
        if (!nv || (nv.minBytes === vm.minBytes && nv.maxBytes === vm.maxBytes)) return vm;
        agent.setLimits(vm.name, { minBytes: nv.minBytes, maxBytes: nv.maxBytes });
        return { ...vm, minBytes: nv.minBytes, maxBytes: nv.maxBytes };
      });
      if (applied.includes('log.level')) deps.log.level = next.log.level;
      if (applied.includes('budgetBytes')) agent.setBudget(next.budgetBytes);
      running = { ...running, budgetBytes: next.budgetBytes, log: { ...running.log, level: next.log.level }, vms };
      const report = { changed, applied, needsRestart };
      deps.log.info(report, changed.length === 0 ? 'config reloaded: no change' : 'config reloaded');
      if (needsRestart.length > 0) deps.log.warn({ needsRestart }, 'config changes need a restart; kept as they were');
      return report;
    },
    async close() {
      agent.shutdown();
      await Promise.all(channels.map((c) => c.close()));
      await Promise.all(Object.values(adapters).map((a) => a.close()));
      await metricsServer?.close();
    },
  };
}
