/**
 * Model-based tests generated from the chart with xstate v5's graph module (the successor
 * of @xstate/test, which only supports xstate v4). Paths come from the real machine:
 * shortest paths to every distinct (summarised) snapshot, simple paths over state values,
 * and a transition tour (every reachable snapshot x every event it accepts), delayed
 * transitions included. Each path is replayed on a live actor with a SimulatedClock and
 * recording effects; state, effects and the transition trace are asserted at every step.
 * Coverage of the chart's transitions is computed from the machine definition.
 */
import { describe, expect, it } from 'vitest';
import { getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import { getNextSnapshot, type AnyTransitionDefinition, type EventObject } from 'xstate';
import { resizerMachine } from '../../src/machines/resizer.ts';
import type { ResizerEvent } from '../../src/machines/events.ts';
import { stateName } from '../../src/io/transition-trace.ts';
import { BLOCK, startResizer, testConfig, type Effect } from './harness.ts';
import { chartEdges, eventsFor, serializeSnapshot, takenKey, type Snap } from './model.ts';

const input = { config: testConfig(), idPrefix: 'T' };
type Path = StatePath<Snap, ResizerEvent>;

const traversal = {
  events: eventsFor as unknown as (s: Snap) => ResizerEvent[],
  serializeState: serializeSnapshot as unknown as (s: Snap) => string,
  input,
};
const shortest = getShortestPaths(resizerMachine, traversal) as unknown as Path[];
const simple = getSimplePaths(resizerMachine, { ...traversal, serializeState: (s: Snap) => JSON.stringify(s.value) } as never) as unknown as Path[];

/**
 * The transition tour: extend shortest paths by one step of every event the end snapshot
 * accepts. Every (state, event, outcome) combination is kept up to TOUR_SAMPLES times, so
 * each guard branch is exercised from several different contexts without replaying the
 * full product of snapshots and events (which takes minutes and finds nothing more).
 */
const TOUR_SAMPLES = 3;
function tour(paths: Path[]): Path[] {
  const out: Path[] = [];
  const seen = new Map<string, number>();
  for (const p of paths) {
    const last = p.state;
    for (const event of eventsFor(last)) {
      if (!last.can(event)) continue;
      const next = getNextSnapshot(resizerMachine, last, event) as unknown as Snap;
      const { id: _id, ...shape } = event as ResizerEvent & { id?: string };
      // The request kind tells apart branches that share an event and a target state (a
      // cooldown ending into a grow or into the next shrink step).
      const key = `${stateName(last.value)}|${JSON.stringify(shape)}|${stateName(next.value)}|${next.context.request?.kind ?? '-'}`;
      const n = seen.get(key) ?? 0;
      if (n >= TOUR_SAMPLES) continue;
      seen.set(key, n + 1);
      out.push({ ...p, state: next, steps: [...p.steps, { event, state: next }] });
    }
  }
  return out;
}

function isIn(s: Snap, path: string): boolean {
  return stateName(s.value).includes(path);
}

function resizesOf(effs: Effect[]) {
  return effs.flatMap((e) => (e.kind === 'resize' ? [e.req] : []));
}

/**
 * Replays a path on a live actor; returns the chart edges it took. Throws on any mismatch.
 * `oracle`: 'path' compares with the snapshots the generator recorded (faithful for
 * shortest paths and the tour); 'step' recomputes the prediction from the actor's own
 * previous snapshot with the pure transition function (simple paths are stitched from
 * representative snapshots, so only their event sequences are meaningful).
 */
function replay(path: Path, oracle: 'path' | 'step' = 'path'): Set<string> {
  const taken = new Set<string>();
  const h = startResizer(input.config, resizerMachine, (ie) => {
    const e = ie as { type: string; _transitions?: AnyTransitionDefinition[] };
    if (e.type === '@xstate.microstep') for (const t of e._transitions ?? []) taken.add(takenKey(t));
  });
  const sentIds = new Set<string>();
  for (const step of path.steps) {
    const event = step.event as EventObject;
    if (event.type === 'xstate.init') continue;
    const before = h.actor.getSnapshot() as unknown as Snap;
    const nEffects = h.effects.length;
    const nLines = h.lines.length;
    if (event.type.startsWith('xstate.after.')) {
      const delay = event.type.split('.')[2] as keyof typeof resizerMachine.implementations.delays;
      const fn = resizerMachine.implementations.delays[delay] as (a: { context: Snap['context']; event: EventObject }) => number;
      h.clock.increment(fn({ context: before.context, event }));
    } else {
      h.send(event as ResizerEvent);
    }
    const after = h.actor.getSnapshot() as unknown as Snap;
    const where = `after ${event.type} from ${stateName(before.value)}`;

    // The live actor (real clock-driven timers, provided effects) agrees with the model.
    const predicted = oracle === 'path' ? step.state : (getNextSnapshot(resizerMachine, before, event as ResizerEvent) as unknown as Snap);
    expect(after.value, where).toEqual(predicted.value);
    expect(serializeSnapshot(after), where).toBe(serializeSnapshot(predicted));

    // Effects: exactly one request whenever a request (re)enters `sent`, none otherwise.
    const effs = h.effects.slice(nEffects);
    const resizes = resizesOf(effs);
    const req = after.context.request;
    const sending = isIn(after, 'awaiting-host.sent') && (!isIn(before, 'awaiting-host.sent') || req?.id !== before.context.request?.id || req?.attempt !== before.context.request?.attempt);
    expect(resizes.length, where).toBe(sending ? 1 : 0);
    for (const r of resizes) {
      expect(r, where).toEqual(req);
      if (before.context.request?.id === r.id) {
        // A resend: the same request (same id, same target), next attempt, only after a
        // backoff or a busy wait. Idempotency: the host must see exactly the request it
        // may already have answered, even if limits changed meanwhile (the host enforces them).
        expect({ ...r, attempt: 0 }, where).toEqual({ ...before.context.request, attempt: 0 });
        expect(r.attempt, where).toBe((before.context.request?.attempt ?? 0) + 1);
        expect(event.type, where).toMatch(/^xstate\.after\.(ackRetryBackoff|busyRetry)\./);
      } else {
        // A fresh request: new id, block aligned, inside [min, max], in its direction.
        const { minBytes, maxBytes } = before.context.limits;
        expect(sentIds.has(r.id), `${where}: fresh request reuses ${r.id}`).toBe(false);
        expect(r.attempt, where).toBe(0);
        expect(r.targetBytes % BLOCK, where).toBe(0);
        if (r.kind === 'grow') {
          expect(before.context.atCeiling, `${where}: grow at the ceiling`).toBe(false);
          expect(r.targetBytes, where).toBeGreaterThan(r.fromBytes);
          expect(r.targetBytes, where).toBeLessThanOrEqual(maxBytes);
        }
        if (r.kind === 'shrink') {
          expect(r.targetBytes, where).toBeLessThan(r.fromBytes);
          expect(r.targetBytes, where).toBeGreaterThanOrEqual(minBytes);
        }
        if (r.kind === 'hold') expect(r.targetBytes, where).toBeGreaterThanOrEqual(r.fromBytes);
      }
      sentIds.add(r.id);
    }

    // The handshake starts with exactly one hello, and says it once more per resend timer.
    const hellos = effs.filter((e) => e.kind === 'hello').length;
    const entersHandshake = stateName(after.value) === 'handshake' && (stateName(before.value) !== 'handshake' || event.type === 'host.connected' || event.type.startsWith('xstate.after.helloResend'));
    expect(hellos, where).toBe(entersHandshake ? 1 : 0);

    // Every host reclaim gets exactly one answer; an acceptance starts a shrink.
    const replies = effs.flatMap((e) => (e.kind === 'reclaim' ? [e.reply] : []));
    if (event.type === 'host.reclaim' && isIn(before, 'ready')) {
      expect(replies, where).toHaveLength(1);
      const reply = replies[0]!;
      expect(reply.id).toBe('r1');
      if (reply.accepted) {
        expect(req?.kind, where).toBe('shrink');
        expect(reply.bytes, where).toBe((req?.fromBytes ?? 0) - (req?.targetBytes ?? 0));
        expect(reply.bytes, where).toBeGreaterThan(0);
      } else {
        expect(reply.reason, where).toBeTruthy();
      }
    } else {
      expect(replies, where).toHaveLength(0);
    }

    // Every change of state is one transition line with from, to and event.
    if (stateName(after.value) !== stateName(before.value)) {
      const lines = h.lines.slice(nLines).filter((l) => l.msg === 'transition');
      expect(lines.at(-1), where).toMatchObject({ to: stateName(after.value), event: event.type });
      expect(lines[0], where).toMatchObject({ from: stateName(before.value) });
    }
  }
  h.actor.stop();
  return taken;
}

describe('model-based tests generated from the chart', () => {
  const covered = new Set<string>();

  it(`replays ${shortest.length} shortest paths (one per reachable snapshot summary)`, () => {
    expect(shortest.length).toBeGreaterThan(50);
    for (const p of shortest) for (const k of replay(p)) covered.add(k);
  }, 180_000);

  it(`replays ${simple.length} simple paths over the state values`, () => {
    expect(simple.length).toBeGreaterThan(10);
    for (const p of simple) for (const k of replay(p, 'step')) covered.add(k);
  }, 180_000);

  it(`replays the transition tour: every reachable state x every event it accepts (${TOUR_SAMPLES} contexts each)`, () => {
    const extended = tour(shortest);
    expect(extended.length).toBeGreaterThan(100);
    for (const p of extended) for (const k of replay(p, 'step')) covered.add(k);
  }, 180_000);

  it('covers every transition of the chart', () => {
    const edges = chartEdges();
    const missing = edges.filter((e) => !covered.has(e.key));
    console.log(`model coverage: ${edges.length - missing.length}/${edges.length} transitions`);
    expect(missing.map((e) => e.key)).toEqual([]);
  });
});
