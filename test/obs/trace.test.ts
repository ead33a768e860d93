import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { runScriptedDemo } from '../../src/demo/scripted.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { readTimeline } from '../../src/obs/trace-log.ts';
import { timelineSvg, timelineText } from '../../src/obs/trace-report.ts';

function demoLog(): string {
  const clock = new SimulatedClock();
  const { log, lines } = makeMemoryLogger({ now: () => 1_700_000_000_000 + clock.now() });
  runScriptedDemo(log, clock);
  return lines.map((l) => JSON.stringify(l)).join('\n');
}

describe('trace viewer', () => {
  const text = demoLog();

  it('rebuilds requests, their outcomes and durations from the transition log', () => {
    const tl = readTimeline(text);
    expect(tl.requests.map((r) => [r.id, r.kind, r.outcome, r.sends])).toEqual([
      ['demo-1', 'grow', 'granted', 2],
      ['demo-2', 'grow', 'partial', 1],
      ['demo-3', 'grow', 'denied', 1],
      ['demo-4', 'shrink', 'partial', 1],
      ['demo-5', 'shrink', 'granted', 1],
    ]);
    // demo-1's first ack was dropped: ack timeout (1.5 s) plus a backoff before the grant.
    expect(tl.requests[0]!.endMs! - tl.requests[0]!.sentMs).toBeGreaterThan(1500);
    expect(tl.spans[0]!.state).toBe('connecting');
    expect(tl.endMs - tl.startMs).toBeGreaterThan(60_000);
  });

  it('skips garbled and foreign lines, counting them', () => {
    const mixed = `not json\n{"msg":"hello"}\n[1,2]\n${text}\n{"time":5,"msg":"transition"`;
    const tl = readTimeline(mixed);
    expect(tl.skippedLines).toBe(4);
    expect(tl.requests).toHaveLength(5);
  });

  it('prints a timeline and renders an SVG chart', async () => {
    const tl = readTimeline(text);
    const out = timelineText(tl);
    expect(out).toMatch(/demo-4 +shrink .* partial/);
    expect(out).toMatch(/time per state/);
    const svg = await timelineSvg(tl, 'demo');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('device size (MiB)');
  });
});
