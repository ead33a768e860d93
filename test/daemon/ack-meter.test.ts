import { describe, expect, it } from 'vitest';
import { makeAckMeter } from '../../src/daemon/ack-meter.ts';
import type { ResizeRequest } from '../../src/machines/events.ts';

const req = (id: string): ResizeRequest => ({ id, kind: 'grow', targetBytes: 256, fromBytes: 0, reason: 'test', attempt: 0 }) as ResizeRequest;
const ack = (id: string) => ({ type: 'host.ack', id, outcome: 'granted', grantedBytes: 256 }) as const;

describe('ack meter', () => {
  it('measures send -> ack of a request sent once', () => {
    const m = makeAckMeter();
    m.sent(req('a'), 1000);
    expect(m.host(ack('other'), 1005)).toBeNull();
    expect(m.host(ack('a'), 1012)).toBe(12);
    // One sample per request: a duplicate ack measures nothing.
    expect(m.host(ack('a'), 1020)).toBeNull();
  });

  it("gives no sample for a resent request (Karn's rule: the ack may answer either send)", () => {
    const m = makeAckMeter();
    m.sent(req('b'), 0);
    m.sent(req('b'), 1500);
    expect(m.host(ack('b'), 1510)).toBeNull();
  });

  it('forgets the pending request when the link drops', () => {
    const m = makeAckMeter();
    m.sent(req('c'), 0);
    expect(m.host({ type: 'host.disconnected', reason: 'eof' }, 5)).toBeNull();
    expect(m.host(ack('c'), 10)).toBeNull();
  });

  it('measures hello -> welcome of a hello sent once, and nothing once it was resent', () => {
    const welcome = { type: 'host.welcome', version: 1, minBytes: 0, maxBytes: 1, blockBytes: 1, requestedBytes: 0, pluggedBytes: 0 } as const;
    const m = makeAckMeter();
    m.helloSent(100);
    expect(m.host(welcome, 104)).toBe(4);
    // A welcome nobody asked for (the host restarted and says it again): no sample.
    expect(m.host(welcome, 200)).toBeNull();
    m.helloSent(300);
    m.helloSent(1300);
    expect(m.host(welcome, 1302)).toBeNull();
  });
});
