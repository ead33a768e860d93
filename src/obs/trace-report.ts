/** Text timeline and SVG chart of a read log (src/obs/trace-log.ts). */
import { formatBytes } from '../config/units.ts';
import { phaseOf, type Timeline } from './trace-log.ts';
import { renderVegaLiteSvg, type VegaLiteSpec } from './vega-svg.ts';

const secs = (ms: number, t0: number) => ((ms - t0) / 1000).toFixed(3).padStart(9);
const size = (b: number | undefined) => (b === undefined ? '-' : formatBytes(b));

export function timelineText(tl: Timeline): string {
  const t0 = tl.startMs;
  const out: string[] = [];
  out.push(`log: ${tl.transitions.length} transitions, ${tl.requests.length} requests, ${((tl.endMs - t0) / 1000).toFixed(1)} s${tl.skippedLines ? `, ${tl.skippedLines} lines skipped` : ''}`);
  out.push('', 'states', '     t (s)  duration  state');
  for (const s of tl.spans) out.push(`${secs(s.startMs, t0)} ${((s.endMs - s.startMs) / 1000).toFixed(3).padStart(9)}  ${s.state}`);
  out.push('', 'requests', '     t (s)  id                     kind    from -> target              sends  outcome    took (s)  reason');
  for (const r of tl.requests) {
    const took = r.endMs !== undefined ? ((r.endMs - r.sentMs) / 1000).toFixed(3) : '-';
    out.push(
      `${secs(r.sentMs, t0)}  ${r.id.padEnd(22)} ${r.kind.padEnd(7)} ${`${size(r.fromBytes)} -> ${size(r.targetBytes)}`.padEnd(26)} ${String(r.sends).padStart(5)}  ${(r.outcome ?? '-').padEnd(9)} ${took.padStart(9)}  ${r.reason ?? ''}`,
    );
  }
  const phases = new Map<string, number>();
  for (const s of tl.spans) phases.set(phaseOf(s.state), (phases.get(phaseOf(s.state)) ?? 0) + (s.endMs - s.startMs));
  out.push('', 'time per state', ...[...phases].map(([p, ms]) => `  ${p.padEnd(14)} ${(ms / 1000).toFixed(1).padStart(8)} s`));
  return out.join('\n') + '\n';
}

/** Sizes over time (plugged, requested, target) above a band of the machine's states. */
export async function timelineSvg(tl: Timeline, title: string): Promise<string> {
  const t0 = tl.startMs;
  const sizes: Record<string, unknown>[] = [];
  for (const t of tl.transitions) {
    const ts = (t.time - t0) / 1000;
    for (const [series, v] of [
      ['plugged (observed)', t.plugged],
      ['requested (host)', t.requested],
      ['max', t.max],
    ] as const) {
      if (v !== undefined) sizes.push({ t_s: ts, MiB: v / 2 ** 20, series });
    }
  }
  const spans = tl.spans.map((s) => ({ start: (s.startMs - t0) / 1000, end: Math.max((s.endMs - t0) / 1000, (s.startMs - t0) / 1000 + 0.001), state: phaseOf(s.state) }));
  const events = tl.transitions
    .filter((t) => t.event === 'psi.pressure' || t.event === 'headroom.low' || t.event === 'psi.relaxed')
    .map((t) => ({ t_s: (t.time - t0) / 1000, signal: t.event }));
  const x = { field: 't_s', type: 'quantitative', title: 'seconds' } as const;
  const spec: VegaLiteSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    vconcat: [
      {
        width: 760,
        height: 240,
        layer: [
          {
            data: { values: sizes },
            mark: { type: 'line', interpolate: 'step-after' },
            encoding: {
              x,
              y: { field: 'MiB', type: 'quantitative', title: 'device size (MiB)' },
              color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['plugged (observed)', 'requested (host)', 'max'], range: ['#1f77b4', '#ff7f0e', '#9e9e9e'] } },
              strokeDash: { field: 'series', type: 'nominal', legend: null, scale: { domain: ['plugged (observed)', 'requested (host)', 'max'], range: [[1, 0], [4, 3], [2, 2]] } },
            },
          },
          {
            data: { values: events },
            mark: { type: 'tick', thickness: 2, size: 14 },
            encoding: {
              x,
              y: { value: 235 },
              color: { field: 'signal', type: 'nominal', title: 'signal', scale: { domain: ['psi.pressure', 'headroom.low', 'psi.relaxed'], range: ['#d62728', '#e377c2', '#2ca02c'] } },
            },
          },
        ],
        resolve: { scale: { color: 'independent' } },
      },
      {
        width: 760,
        height: 60,
        data: { values: spans },
        mark: 'bar',
        encoding: {
          x: { field: 'start', type: 'quantitative', title: 'seconds' },
          x2: { field: 'end' },
          y: { value: 0 },
          y2: { value: 60 },
          color: {
            field: 'state',
            type: 'nominal',
            title: 'state',
            scale: {
              domain: ['connecting', 'handshake', 'degraded', 'idle', 'awaiting-host', 'growing', 'cooling', 'shrinking'],
              range: ['#bdbdbd', '#969696', '#d62728', '#f0f0f0', '#fdd835', '#66bb6a', '#90caf9', '#ab47bc'],
            },
          },
        },
      },
    ],
  };
  return renderVegaLiteSvg(spec);
}
