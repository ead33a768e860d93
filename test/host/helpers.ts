/** Builds host agents on a SimulatedClock with fake adapters, and records what they do. */
import { SimulatedClock } from 'xstate';
import { HostConfigSchema, type HostConfigInput } from '../../src/config/host.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import type { ResizeAdapter } from '../../src/host/adapter.ts';
import { createHostAgent, type GuestSink, type HostAgent, type Session } from '../../src/host/agent.ts';
import { makeFakeAdapter } from '../../src/host/fake-adapter.ts';
import type { HostMessage } from '../../src/protocol/messages.ts';

export interface VmSpecInput {
  name: string;
  minBytes?: number;
  maxBytes: number;
  weight?: number;
  fake?: Record<string, unknown>;
  requestsPerSec?: number;
  burst?: number;
  maxStepBytes?: number;
}

export interface Harness {
  agent: HostAgent;
  clock: SimulatedClock;
  adapters: Record<string, ResizeAdapter & { setAvailable(up: boolean): void }>;
  /** Every target each adapter was asked to set. */
  targets: Record<string, number[]>;
  lines: Record<string, unknown>[];
  connect(vm: string): Guest;
}

export interface Guest {
  session: Session;
  sent: HostMessage[];
  closed: string | null;
}

export function makeHarness(vms: VmSpecInput[], budgetBytes: number, defaults: HostConfigInput['defaults'] = {}, level: 'info' | 'silent' = 'silent'): Harness {
  const clock = new SimulatedClock();
  const config = HostConfigSchema.parse({
    budgetBytes,
    defaults,
    metrics: { enabled: false },
    vms: vms.map((v) => ({
      name: v.name,
      channel: { kind: 'unix-listen', path: `/tmp/none-${v.name}` },
      adapter: { kind: 'fake', ...(v.fake ?? {}) },
      minBytes: v.minBytes ?? 0,
      maxBytes: v.maxBytes,
      weight: v.weight ?? 1,
      ...(v.requestsPerSec ? { requestsPerSec: v.requestsPerSec } : {}),
      ...(v.burst ? { burst: v.burst } : {}),
      ...(v.maxStepBytes ? { maxStepBytes: v.maxStepBytes } : {}),
    })),
  });
  const adapters: Harness['adapters'] = {};
  const targets: Record<string, number[]> = {};
  for (const vm of config.vms) {
    if (vm.adapter.kind !== 'fake') throw new Error('fake only');
    const a = makeFakeAdapter(vm.adapter, clock);
    const list: number[] = [];
    targets[vm.name] = list;
    // The agent uses the callback form; resize() goes through it too.
    const resize = a.resizeWithCallback.bind(a);
    a.resizeWithCallback = (t, cb) => {
      list.push(t);
      resize(t, cb);
    };
    adapters[vm.name] = a;
  }
  const { log, lines } = makeMemoryLogger({ level, now: () => clock.now() });
  const agent = createHostAgent({ config, adapters, log, clock });
  return {
    agent,
    clock,
    adapters,
    targets,
    lines,
    connect(vm) {
      const g: Guest = { sent: [], closed: null, session: undefined as unknown as Session };
      const sink: GuestSink = { send: (m) => g.sent.push(m), close: (r) => (g.closed = r) };
      g.session = agent.attach(vm, sink);
      return g;
    },
  };
}

/** Lets promise callbacks (adapter results) run after the clock moved. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export function line(msg: object): Buffer {
  return Buffer.from(`${JSON.stringify(msg)}\n`);
}
