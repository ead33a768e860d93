/**
 * Transition traces: one pino line per machine transition. This is the log contract
 * operators debug from (a test holds its shape):
 *
 *   {"msg":"transition","component":"resizer","from":"ready.idle","to":"ready.awaiting-host.sent",
 *    "event":"headroom.low","requestId":"b1c2-7","kind":"grow","why":"Predictive growth: ...",
 *    "current":...,"plugged":...,"requested":...,"target":...,"min":...,"max":...}
 *
 * `why` is the description of the chart edge taken. Sizes are bytes. Pure observation
 * updates (meminfo.sample, mem.observed, grow.measured) that change no state are logged
 * at debug level only: they arrive every second and would drown the decisions.
 */
import type { AnyMachineSnapshot, InspectionEvent, StateValue } from 'xstate';
import type { Logger } from './log.ts';
import type { ResizerContext } from '../machines/context.ts';

const QUIET_EVENTS = new Set(['meminfo.sample', 'mem.observed', 'grow.measured', 'ack.measured']);

export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? ['?', ''];
  return child === undefined || (typeof child === 'object' && Object.keys(child).length === 0) ? key : `${key}.${stateName(child as StateValue)}`;
}

interface TakenTransition {
  eventType: string;
  description?: string;
  target?: readonly unknown[];
}

export interface TransitionRecord {
  from: string;
  to: string;
  event: string;
  why: string | undefined;
  requestId: string | undefined;
  context: ResizerContext;
}

export interface TransitionTracerOptions {
  /** Called for every record, logged or not (the status socket keeps the last N). */
  onRecord?: (rec: TransitionRecord) => void;
}

/** Returns an `inspect` callback for createActor that logs every transition. */
export function makeTransitionTracer(log: Logger, opts: TransitionTracerOptions = {}): (ev: InspectionEvent) => void {
  let prev: string | undefined;
  let taken: TakenTransition[] = [];
  return (ie) => {
    if (ie.type === '@xstate.microstep') {
      if ((ie.actorRef as { sessionId?: string }).sessionId !== ie.rootId) return;
      taken.push(...((ie as unknown as { _transitions: TakenTransition[] })._transitions ?? []));
      return;
    }
    if (ie.type !== '@xstate.snapshot') return;
    // Only the root machine is traced (child actors, if any, have their own ids).
    if ((ie.actorRef as { sessionId?: string }).sessionId !== ie.rootId) return;
    const snap = ie.snapshot as AnyMachineSnapshot;
    if (snap?.value === undefined) return;
    const to = stateName(snap.value);
    const from = prev ?? 'start';
    prev = to;
    const transitions = taken;
    taken = [];
    if (transitions.length === 0 && from === to) return;
    const ctx = snap.context as ResizerContext;
    const event = ie.event.type;
    // The edge that moved the machine explains the line; for targetless updates, the first.
    const explicit = [...transitions].reverse().find((t) => t.description && t.target?.length) ?? transitions.find((t) => t.description);
    const rec: TransitionRecord = {
      from,
      to,
      event,
      why: explicit?.description,
      requestId: ctx.request?.id ?? (ie.event as { id?: string }).id,
      context: ctx,
    };
    opts.onRecord?.(rec);
    const quiet = from === to && QUIET_EVENTS.has(event);
    // Samples arrive several times a second: build no line nobody will write.
    if (quiet && !log.isLevelEnabled('debug')) return;
    const line = {
      component: 'resizer',
      from,
      to,
      event,
      // Which PSI signal saw the stall (trigger, poll, probe): a probe grow reads differently.
      via: (ie.event as { via?: string }).via,
      requestId: rec.requestId,
      kind: ctx.request?.kind,
      attempt: ctx.request?.attempt,
      outcome: ctx.lastOutcome ?? undefined,
      reason: ctx.lastReason ?? undefined,
      why: rec.why,
      current: ctx.sample?.memTotalBytes,
      plugged: ctx.pluggedBytes,
      requested: ctx.hostRequestedBytes,
      target: ctx.targetBytes ?? ctx.request?.targetBytes,
      min: ctx.limits.minBytes,
      max: ctx.limits.maxBytes,
    };
    if (quiet) log.debug(line, 'transition');
    else log.info(line, 'transition');
  };
}
