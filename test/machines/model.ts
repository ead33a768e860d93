/**
 * The model for generated tests: which events each snapshot can receive (with payloads
 * chosen to reach every guard of the chart), a finite serialization of snapshots, and
 * the (state, event) edges the chart defines, computed from the machine itself.
 */
import type { AnyStateNode, AnyTransitionDefinition, SnapshotFrom } from 'xstate';
import { GiB, MiB } from '../../src/config/units.ts';
import { alignDown } from '../../src/policy/align.ts';
import type { ResizerEvent } from '../../src/machines/events.ts';
import { resizerMachine } from '../../src/machines/resizer.ts';
import { shrinkTargetFor } from '../../src/machines/updates.ts';
import { hasRoomToGrow } from '../../src/policy/sizing.ts';
import { BLOCK, MAX } from './harness.ts';

export type Snap = SnapshotFrom<typeof resizerMachine>;

/**
 * Events a snapshot can receive, with payloads that reach every guard, plus the synthetic
 * `xstate.after.*` events of the delays armed in the active states (so timeouts, backoffs
 * and cooldowns are part of the generated paths).
 */
export function eventsFor(s: Snap): ResizerEvent[] {
  const nodes = (s as unknown as { _nodes: AnyStateNode[] })._nodes;
  const delayed = [...new Set(nodes.flatMap((n) => n.ownEvents))].filter((t) => t.startsWith('xstate.after.'));
  const accepted = new Set(nodes.flatMap((n) => n.ownEvents));
  return [...payloadsFor(s).filter((e) => accepted.has(e.type)), ...delayed.map((type) => ({ type }) as unknown as ResizerEvent)];
}

function payloadsFor(s: Snap): ResizerEvent[] {
  const c = s.context;
  const id = c.request?.id ?? 'none';
  const target = c.request?.targetBytes ?? 0;
  const from = c.request?.fromBytes ?? c.pluggedBytes;
  const half = from + alignDown(Math.max(0, target - from) / 2, BLOCK);
  const events: ResizerEvent[] = [
    { type: 'host.connected' },
    { type: 'host.disconnected', reason: 'test' },
    { type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: 0, pluggedBytes: 0 },
    { type: 'meminfo.sample', atMs: 0, memTotalBytes: 1 * GiB, memAvailableBytes: 64 * MiB, availableTrendBps: -100e6 },
    { type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 2 * GiB, availableTrendBps: 0 },
    { type: 'mem.observed', pluggedBytes: 1 * GiB },
    { type: 'grow.measured', latencyMs: 400 },
    { type: 'ack.measured', rttMs: 20 },
    { type: 'host.limits', minBytes: 0, maxBytes: 4 * GiB },
    { type: 'host.limits', minBytes: 0, maxBytes: c.pluggedBytes },
    { type: 'host.reclaim', id: 'r1', bytes: 512 * MiB },
    { type: 'host.available', bytes: 512 * MiB },
    { type: 'psi.pressure', severity: 'some', stallPercent: 10 },
    { type: 'psi.pressure', severity: 'full', stallPercent: 40 },
    { type: 'headroom.low', memAvailableBytes: 64 * MiB, secondsToReserve: 0.5, consumeBps: 100e6 },
    { type: 'psi.relaxed' },
    { type: 'host.ack', id, outcome: 'granted', grantedBytes: target },
    { type: 'host.ack', id, outcome: 'partial', grantedBytes: half },
    { type: 'host.ack', id, outcome: 'denied', grantedBytes: from, reason: 'at-max' },
    { type: 'host.ack', id, outcome: 'denied', grantedBytes: from, reason: 'budget' },
    { type: 'host.ack', id, outcome: 'denied', grantedBytes: from, reason: 'budget', retryAfterMs: 30_000 },
    { type: 'host.ack', id, outcome: 'busy', grantedBytes: from, retryAfterMs: 300 },
    { type: 'host.ack', id: 'stale-0', outcome: 'granted', grantedBytes: MAX },
  ];
  // The memory of a grow in flight shows up before its ack (the ack was lost or is late).
  if (c.request?.kind === 'grow' && c.targetBytes === null) events.push({ type: 'mem.observed', pluggedBytes: c.request.targetBytes });
  if (c.targetBytes !== null) {
    events.push(
      { type: 'mem.observed', pluggedBytes: c.targetBytes },
      { type: 'host.done', id, status: 'complete', pluggedBytes: c.targetBytes },
      { type: 'host.done', id, status: 'partial', pluggedBytes: c.request?.kind === 'shrink' ? c.targetBytes + 8 * BLOCK : Math.max(0, c.targetBytes - 8 * BLOCK) },
    );
  }
  return events;
}

/**
 * A finite summary of a snapshot: the state plus every fact a guard reads, bucketed.
 * Ever-growing counters (request seq, exact sizes) are left out, or traversal never ends.
 */
export function serializeSnapshot(s: Snap): string {
  const c = s.context;
  return JSON.stringify({
    v: s.value,
    k: c.request?.kind ?? null,
    a: c.request?.attempt ?? null,
    b: c.busyCount,
    ceil: c.atCeiling,
    pend: c.pendingPressure !== null,
    link: c.linkUp,
    hello: c.helloAttempts,
    grow: hasRoomToGrow(c.pluggedBytes, c.limits),
    shrink: c.sample !== null && shrinkTargetFor(c) < c.pluggedBytes,
    t: c.targetBytes === null ? null : c.pluggedBytes >= c.targetBytes ? 'reached' : 'below',
    sample: c.sample === null ? null : c.sample.memAvailableBytes > GiB ? 'surplus' : 'tight',
    fails: Math.min(c.unplugFailures, 1),
    // isAfterShrink and isAfterCompletedShrink tell a completed shrink from a failed unplug.
    after: c.cooldownAfter === 'deny' || c.cooldownAfter === 'shrink' || c.cooldownAfter === 'unplug-failure' ? c.cooldownAfter : 'other',
  });
}

export interface Edge {
  key: string;
  source: string;
  event: string;
  description?: string;
}

function edgeKey(t: AnyTransitionDefinition, index: number): string {
  return `${t.source.id} | ${t.eventType || '(always)'} #${index}`;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

/** Every (state, event, branch) transition the chart defines, from the machine itself. */
export function chartEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const node of allNodes(resizerMachine.root)) {
    for (const [, list] of node.transitions) {
      list.forEach((t, i) => edges.push({ key: edgeKey(t, i), source: node.id, event: t.eventType, description: t.description }));
    }
    (node.always ?? []).forEach((t, i) => edges.push({ key: edgeKey(t, i), source: node.id, event: '(always)', description: t.description }));
  }
  return edges;
}

/** Key of a transition the actor took (from an @xstate.microstep inspection event). */
export function takenKey(t: AnyTransitionDefinition): string {
  const list = t.eventType ? t.source.transitions.get(t.eventType) ?? [] : t.source.always ?? [];
  return edgeKey(t, list.indexOf(t));
}
