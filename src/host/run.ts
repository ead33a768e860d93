/**
 * Starts a whole host agent from its config: adapters, the agent core, one channel per VM
 * and the metrics endpoint. `memresize host` calls this; tests call it in-process.
 */
import type { HostConfig } from '../config/host.ts';
import type { Logger } from '../io/log.ts';
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
  close(): Promise<void>;
}

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
  return {
    agent,
    adapters,
    metricsPort: metricsServer?.port,
    async close() {
      agent.shutdown();
      await Promise.all(channels.map((c) => c.close()));
      await Promise.all(Object.values(adapters).map((a) => a.close()));
      await metricsServer?.close();
    },
  };
}
