/**
 * The scripted demo behind `npm start` (until the simulator takes over): the real resize
 * machine, the real effects and transition tracer, against an in-process fake host whose
 * answers follow a script: a dropped ack (timeout and retry of the same id), a partial
 * grant, a denial at the ceiling, a partial unplug and a completed shrink. Virtual time
 * (SimulatedClock), so it runs in milliseconds and prints the same trace every time.
 */
import { createActor, SimulatedClock } from 'xstate';
import { MachineConfigSchema } from '../config/schema.ts';
import { MiB, GiB } from '../config/units.ts';
import { makeResizerEffects } from '../io/effects.ts';
import type { Logger } from '../io/log.ts';
import { makeTransitionTracer, type TransitionRecord } from '../io/transition-trace.ts';
import { resizerMachine } from '../machines/resizer.ts';
import type { ResizeRequest, ResizerEvent } from '../machines/events.ts';

const BLOCK = 2 * MiB;
const BOOT = 1 * GiB;
const MAX = 1 * GiB;

/** How the scripted host answers the n-th request it receives (1-based). */
type Answer =
  | { kind: 'drop' }
  | { kind: 'grant'; plugMs: number }
  | { kind: 'partial'; share: number; plugMs: number }
  | { kind: 'deny'; reason: string }
  | { kind: 'unplug-partial'; keepShare: number; afterMs: number };

const SCRIPT: Answer[] = [
  { kind: 'drop' }, // request 1, first send: lost, the machine times out and resends the same id
  { kind: 'grant', plugMs: 60 }, // request 1, resend
  { kind: 'partial', share: 0.5, plugMs: 60 }, // request 2
  { kind: 'deny', reason: 'at-max' }, // request 3 (pressure persisted through the cooldown)
  { kind: 'unplug-partial', keepShare: 0.5, afterMs: 2500 }, // request 4: shrink, memory pinned
  { kind: 'grant', plugMs: 1500 }, // request 5: a smaller shrink that completes
];

export interface DemoResult {
  records: TransitionRecord[];
  visited: Set<string>;
  requests: ResizeRequest[];
  endMs: number;
}

export function runScriptedDemo(log: Logger, clock = new SimulatedClock()): DemoResult {
  const records: TransitionRecord[] = [];
  const requests: ResizeRequest[] = [];
  let plugged = 0;
  let answerIx = 0;
  const at = (ms: number, fn: () => void) => clock.setTimeout(fn, ms);

  const config = MachineConfigSchema.parse({});
  const actorRef: { send: (e: ResizerEvent) => void } = { send: () => {} };
  const send = (e: ResizerEvent) => actorRef.send(e);
  const sample = (availableMiB: number, trendMBps: number) =>
    send({ type: 'meminfo.sample', atMs: clock.now(), memTotalBytes: BOOT + plugged, memAvailableBytes: availableMiB * MiB, availableTrendBps: trendMBps * 1e6 });
  const observe = (bytes: number) => {
    plugged = bytes;
    send({ type: 'mem.observed', pluggedBytes: plugged });
  };

  const link = {
    sendHello: () => at(5, () => send({ type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: 0, pluggedBytes: 0 })),
    replyReclaim: () => {},
    sendResize: (req: ResizeRequest) => {
      requests.push({ ...req });
      const answer = SCRIPT[answerIx++] ?? { kind: 'grant', plugMs: 100 };
      const ack = (outcome: 'granted' | 'partial' | 'denied', grantedBytes: number, reason?: string) =>
        at(20, () => send({ type: 'host.ack', id: req.id, outcome, grantedBytes, reason }));
      switch (answer.kind) {
        case 'drop':
          return;
        case 'grant':
          ack('granted', req.targetBytes);
          at(20 + answer.plugMs, () => {
            observe(req.targetBytes);
            send({ type: 'host.done', id: req.id, status: 'complete', pluggedBytes: req.targetBytes });
          });
          return;
        case 'partial': {
          const granted = req.fromBytes + Math.floor(((req.targetBytes - req.fromBytes) * answer.share) / BLOCK) * BLOCK;
          ack('partial', granted, 'budget');
          at(20 + answer.plugMs, () => observe(granted));
          return;
        }
        case 'deny':
          ack('denied', req.fromBytes, answer.reason);
          return;
        case 'unplug-partial': {
          // Part of the memory cannot be migrated: the device stays above the request.
          const stuck = req.targetBytes + Math.round(((req.fromBytes - req.targetBytes) * answer.keepShare) / BLOCK) * BLOCK;
          ack('granted', req.targetBytes);
          at(20 + answer.afterMs, () => {
            observe(stuck);
            send({ type: 'host.done', id: req.id, status: 'partial', pluggedBytes: stuck });
          });
          return;
        }
      }
    },
  };

  const tracer = makeTransitionTracer(log, { onRecord: (r) => records.push(r) });
  const actor = createActor(resizerMachine.provide(makeResizerEffects(link, log)), {
    input: { config, idPrefix: 'demo', pluggedBytes: 0 },
    clock,
    inspect: tracer,
  });
  actorRef.send = (e) => actor.send(e);
  actor.start();

  // The guest's side of the story, in virtual time.
  at(0, () => send({ type: 'host.connected' }));
  at(1000, () => {
    sample(300, -40);
    send({ type: 'psi.pressure', severity: 'some', stallPercent: 12 });
  });
  at(8000, () => {
    sample(140, -120);
    send({ type: 'headroom.low', memAvailableBytes: 140 * MiB, secondsToReserve: 0.1, consumeBps: 120e6 });
  });
  at(8500, () => send({ type: 'psi.pressure', severity: 'some', stallPercent: 25 }));
  at(20_000, () => {
    sample(900, 0);
    send({ type: 'psi.relaxed' });
  });
  at(60_000, () => {
    sample(900, 0);
    send({ type: 'psi.relaxed' });
  });

  const endMs = 90_000;
  for (let t = 0; t < endMs; t += 50) clock.increment(50);
  actor.stop();
  return { records, visited: new Set(records.map((r) => r.to)), requests, endMs };
}
