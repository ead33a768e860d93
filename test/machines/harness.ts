/**
 * Test harness for the resize machine: the real machine with recording fakes for its
 * effects, a SimulatedClock, and the real transition tracer writing to memory.
 */
import { createActor, SimulatedClock, type AnyStateMachine } from 'xstate';
import { MachineConfigSchema, type MachineConfig } from '../../src/config/schema.ts';
import { GiB, MiB } from '../../src/config/units.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { makeTransitionTracer } from '../../src/io/transition-trace.ts';
import type { ReclaimReply, ResizeRequest, ResizerEvent } from '../../src/machines/events.ts';
import { resizerMachine } from '../../src/machines/resizer.ts';
import type { ResizerContext } from '../../src/machines/context.ts';

export const BLOCK = 2 * MiB;
export const MAX = 2 * GiB;

export type Effect =
  | { kind: 'hello'; idPrefix: string }
  | { kind: 'resize'; req: ResizeRequest }
  | { kind: 'reclaim'; reply: ReclaimReply };

/**
 * Small retry counts keep the generated state space small; the shapes are the same. Resends
 * stop at the count (ackGiveUpMs 0) unless a test sets a time budget.
 */
export function testConfig(overrides: Partial<{ timing: Partial<MachineConfig['timing']>; policy: Partial<MachineConfig['policy']> }> = {}): MachineConfig {
  return MachineConfigSchema.parse({
    timing: { ackMaxRetries: 2, ackGiveUpMs: 0, busyMaxRetries: 1, ...overrides.timing },
    policy: { ...overrides.policy },
  });
}

export function fakeEffects(effects: Effect[]) {
  return {
    actions: {
      sendHello: (_: unknown, p: { idPrefix: string }) => void effects.push({ kind: 'hello', idPrefix: p.idPrefix }),
      sendResize: (_: unknown, req: ResizeRequest) => void effects.push({ kind: 'resize', req: structuredClone(req) }),
      replyReclaim: (_: unknown, reply: ReclaimReply) => void effects.push({ kind: 'reclaim', reply: { ...reply } }),
    },
  };
}

export function startResizer(config = testConfig(), machine: AnyStateMachine = resizerMachine, inspect?: (e: unknown) => void) {
  const clock = new SimulatedClock();
  const effects: Effect[] = [];
  const { log, lines } = makeMemoryLogger({ level: 'debug', now: () => clock.now() });
  const tracer = makeTransitionTracer(log);
  const actor = createActor((machine as typeof resizerMachine).provide(fakeEffects(effects)), {
    input: { config, idPrefix: 'T' },
    clock,
    inspect: (e) => {
      tracer(e);
      inspect?.(e);
    },
  });
  actor.start();
  const h = {
    actor,
    clock,
    effects,
    lines,
    send: (e: ResizerEvent) => actor.send(e),
    ctx: (): ResizerContext => actor.getSnapshot().context,
    value: () => actor.getSnapshot().value,
    state: () => stateOf(actor.getSnapshot().value),
    resizes: () => effects.filter((e): e is Extract<Effect, { kind: 'resize' }> => e.kind === 'resize').map((e) => e.req),
    advance: (ms: number, stepMs = 10) => {
      for (let t = 0; t < ms; t += stepMs) clock.increment(Math.min(stepMs, ms - t));
    },
    /** Connect and handshake with the given limits; lands in ready.idle. */
    ready: (limits: Partial<{ minBytes: number; maxBytes: number; pluggedBytes: number }> = {}) => {
      h.send({ type: 'host.connected' });
      h.send({
        type: 'host.welcome',
        minBytes: limits.minBytes ?? 0,
        maxBytes: limits.maxBytes ?? MAX,
        blockBytes: BLOCK,
        requestedBytes: limits.pluggedBytes ?? 0,
        pluggedBytes: limits.pluggedBytes ?? 0,
      });
      return h;
    },
    tight: () => h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 1 * GiB, memAvailableBytes: 64 * MiB, availableTrendBps: -100e6 }),
    surplus: () => h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 2 * GiB, availableTrendBps: 0 }),
  };
  return h;
}

export function stateOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [k, v] = Object.entries(value as Record<string, unknown>)[0] ?? ['?', ''];
  return `${k}.${stateOf(v)}`;
}
