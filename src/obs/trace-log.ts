/**
 * Reads a memresize log (pino JSON lines, guest or host) into a timeline: the spans of
 * each state, every request with its outcome, and the sizes over time. Lines that are not
 * JSON, or JSON that is not ours, are counted and skipped: a log cut by a crash or mixed
 * with other output still reads.
 *
 * Lines used (the log contract, see src/io/transition-trace.ts and src/io/effects.ts):
 *   {"time":ms,"msg":"transition","from","to","event","requestId","kind","outcome","reason",
 *    "current","plugged","requested","target","min","max", "vm"? }
 *   {"time":ms,"msg":"request"|"request retry","requestId","kind","from","target","reason","attempt"}
 */
export interface TransitionLine {
  time: number;
  from: string;
  to: string;
  event: string;
  requestId?: string;
  kind?: string;
  outcome?: string;
  reason?: string;
  current?: number;
  plugged?: number;
  requested?: number;
  target?: number;
  min?: number;
  max?: number;
  vm?: string;
}

export interface StateSpan {
  state: string;
  startMs: number;
  endMs: number;
}

export interface RequestRecord {
  id: string;
  kind: string;
  fromBytes?: number;
  targetBytes?: number;
  reason?: string;
  sentMs: number;
  sends: number;
  outcome?: string;
  /** When the request left the machine's hands (completion, failure, timeout). */
  endMs?: number;
  endState?: string;
}

export interface Timeline {
  transitions: TransitionLine[];
  spans: StateSpan[];
  requests: RequestRecord[];
  startMs: number;
  endMs: number;
  skippedLines: number;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The top-level state of a dotted state name: ready.awaiting-host.sent -> awaiting-host. */
export function phaseOf(state: string): string {
  const parts = state.split('.');
  return parts[0] === 'ready' ? (parts[1] ?? 'ready') : (parts[0] ?? state);
}

export function readTimeline(text: string): Timeline {
  const transitions: TransitionLine[] = [];
  const requests = new Map<string, RequestRecord>();
  let skippedLines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let o: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      o = parsed as Record<string, unknown>;
    } catch {
      skippedLines++;
      continue;
    }
    const time = num(o.time);
    if (time === undefined) {
      skippedLines++;
      continue;
    }
    if (o.msg === 'transition' && str(o.from) && str(o.to) && str(o.event)) {
      transitions.push({
        time,
        from: o.from as string,
        to: o.to as string,
        event: o.event as string,
        requestId: str(o.requestId),
        kind: str(o.kind),
        outcome: str(o.outcome),
        reason: str(o.reason),
        current: num(o.current),
        plugged: num(o.plugged),
        requested: num(o.requested),
        target: num(o.target),
        min: num(o.min),
        max: num(o.max),
        vm: str(o.vm),
      });
    } else if ((o.msg === 'request' || o.msg === 'request retry') && str(o.requestId)) {
      const id = o.requestId as string;
      const rec = requests.get(id) ?? { id, kind: str(o.kind) ?? '?', sentMs: time, sends: 0 };
      rec.sends++;
      rec.fromBytes ??= num(o.from);
      rec.targetBytes ??= num(o.target);
      rec.reason ??= str(o.reason);
      requests.set(id, rec);
    }
  }
  transitions.sort((a, b) => a.time - b.time);
  const spans: StateSpan[] = [];
  for (const [i, t] of transitions.entries()) {
    const next = transitions[i + 1];
    const last = spans.at(-1);
    const endMs = next?.time ?? t.time;
    if (last && last.state === t.to) last.endMs = endMs;
    else spans.push({ state: t.to, startMs: t.time, endMs });
  }
  // One request is in flight at a time: its outcome is the ack outcome of the transitions
  // after it was sent, and it ends at the first transition into cooling, idle or degraded.
  const ordered = [...requests.values()].sort((a, b) => a.sentMs - b.sentMs);
  let ix = 0;
  for (const t of transitions) {
    while (ix < ordered.length && (ordered[ix]!.endMs !== undefined || (ordered[ix + 1] && ordered[ix + 1]!.sentMs <= t.time && t.requestId === ordered[ix + 1]!.id))) ix++;
    const rec = ordered[ix];
    if (!rec || t.time < rec.sentMs) continue;
    if (t.event === 'host.ack' && t.outcome) rec.outcome = t.outcome;
    if (['cooling', 'idle', 'degraded'].includes(phaseOf(t.to))) {
      rec.endMs = t.time;
      rec.endState = t.to;
      if (t.outcome === 'timeout' || (t.outcome === 'partial' && rec.outcome !== 'denied')) rec.outcome = t.outcome;
    }
  }
  const times = transitions.map((t) => t.time);
  return {
    transitions,
    spans,
    requests: [...requests.values()].sort((a, b) => a.sentMs - b.sentMs),
    startMs: times.length ? Math.min(...times) : 0,
    endMs: times.length ? Math.max(...times) : 0,
    skippedLines,
  };
}
