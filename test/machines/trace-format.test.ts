/** Holds the transition log contract operators and `memresize trace` read. */
import { describe, expect, it } from 'vitest';
import { startResizer } from './harness.ts';

describe('transition trace lines', () => {
  it('writes one JSON line per transition with from, to, event, request id and the sizes', () => {
    const h = startResizer().ready();
    h.tight();
    h.send({ type: 'psi.pressure', severity: 'full', stallPercent: 30 });
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'partial', grantedBytes: req.targetBytes / 2 });
    const lines = h.lines.filter((l) => l.msg === 'transition' && l.level === 30);
    expect(lines.map((l) => `${String(l.from)}>${String(l.to)}`)).toEqual([
      'start>connecting',
      'connecting>handshake',
      'handshake>ready.idle',
      'ready.idle>ready.awaiting-host.sent',
      'ready.awaiting-host.sent>ready.growing',
    ]);
    const grow = lines[3]!;
    expect(grow).toMatchObject({
      msg: 'transition',
      component: 'resizer',
      from: 'ready.idle',
      to: 'ready.awaiting-host.sent',
      event: 'psi.pressure',
      requestId: req.id,
      kind: 'grow',
      plugged: 0,
      target: req.targetBytes,
      min: 0,
      max: 2 * 2 ** 30,
      current: 2 ** 30,
    });
    expect(typeof grow.time).toBe('number');
    expect(typeof grow.why).toBe('string');
    const partial = lines[4]!;
    expect(partial).toMatchObject({ event: 'host.ack', outcome: 'partial', target: req.targetBytes / 2, requested: req.targetBytes / 2 });
  });

  it('logs pure observation updates at debug only, so decisions stay readable at info', () => {
    const h = startResizer().ready();
    for (let i = 0; i < 5; i++) h.tight();
    const samples = h.lines.filter((l) => l.msg === 'transition' && l.event === 'meminfo.sample');
    expect(samples).toHaveLength(5);
    expect(samples.every((l) => l.level === 20)).toBe(true);
  });

  it('stamps lines with the injected clock (virtual time in tests and the simulator)', () => {
    const h = startResizer();
    h.clock.set(123_456);
    h.send({ type: 'host.connected' });
    expect(h.lines.at(-1)).toMatchObject({ msg: 'transition', to: 'handshake', time: 123_456 });
  });
});
