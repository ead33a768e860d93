/**
 * One scenario per fault the chart models, driven through the real machine with a
 * SimulatedClock and recording effects.
 */
import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { BLOCK, MAX, startResizer, testConfig } from './harness.ts';

const pressure = { type: 'psi.pressure', severity: 'some', stallPercent: 10 } as const;
const headroom = { type: 'headroom.low', memAvailableBytes: 64 * MiB, secondsToReserve: 0.5, consumeBps: 100e6 } as const;

describe('request roundtrips', () => {
  it('resends the SAME id after an ack timeout, with capped jittered exponential backoff, then goes degraded', () => {
    const h = startResizer(testConfig({ timing: { ackMaxRetries: 4, ackGiveUpMs: 0, ackTimeoutMs: 1000, ackRetryBaseMs: 200, ackRetryCapMs: 1000 } })).ready();
    h.tight();
    h.send(pressure);
    const sendTimes: number[] = [];
    let n = 0;
    for (let t = 0; t < 20_000 && h.state() !== 'degraded'; t += 10) {
      h.clock.increment(10);
      if (h.resizes().length > n) {
        n = h.resizes().length;
        sendTimes.push(h.clock.now());
      }
    }
    const sent = h.resizes();
    expect(sent).toHaveLength(5); // first send + 4 retries
    expect(new Set(sent.map((r) => r.id)).size).toBe(1);
    expect(sent.map((r) => r.attempt)).toEqual([0, 1, 2, 3, 4]);
    const gaps = sendTimes.slice(1).map((t, i) => t - (sendTimes[i] ?? 0) - 1000); // minus the ack timeout
    // Equal jitter: each backoff is in [exp/2, exp] with exp = min(cap, base * 2^attempt).
    gaps.forEach((g, i) => {
      const exp = Math.min(1000, 200 * 2 ** i); // the i-th backoff follows attempt i
      expect(g).toBeGreaterThanOrEqual(exp / 2 - 10);
      expect(g).toBeLessThanOrEqual(exp + 10);
    });
    expect(h.state()).toBe('degraded');
    expect(h.ctx().request).toBeNull();
  });

  it('keeps resending past ackMaxRetries until the waits add up to ackGiveUpMs: a short timeout does not give up early', () => {
    const h = startResizer(testConfig({ timing: { ackMaxRetries: 2, ackGiveUpMs: 8000, ackTimeoutMs: 1500, ackTimeoutMinMs: 250, ackRetryBaseMs: 200, ackRetryCapMs: 5000 } })).ready();
    h.send({ type: 'ack.measured', rttMs: 5 }); // a fast link: 250 ms timeout
    h.tight();
    h.send(pressure);
    const start = h.clock.now();
    while (h.state() !== 'degraded' && h.clock.now() - start < 60_000) h.clock.increment(10);
    const sent = h.resizes();
    // More than the 3 sends ackMaxRetries alone allows, all one id, and the give-up after ~8 s.
    expect(sent.length).toBeGreaterThan(3);
    expect(new Set(sent.map((r) => r.id)).size).toBe(1);
    expect(h.state()).toBe('degraded');
    expect(h.clock.now() - start).toBeGreaterThanOrEqual(6000);
    expect(h.clock.now() - start).toBeLessThanOrEqual(12_000);
  });

  it('resends a lost request after 4x the smallest recent roundtrip, within the bounds, and waits longer once the link itself is slow', () => {
    const h = startResizer(testConfig({ timing: { ackTimeoutMs: 1500, ackTimeoutMinMs: 250, ackRetryBaseMs: 200, ackRetryCapMs: 1000 } })).ready();
    expect(h.ctx().ackRtt).toBeNull();
    // A fast link with a heavy tail: most answers in 20 ms, some 3 s late.
    for (let i = 0; i < 8; i++) h.send({ type: 'ack.measured', rttMs: i % 3 === 2 ? 3000 : 20 });
    const { srttMs, rttvarMs } = h.ctx().ackRtt!;
    // TCP's estimate would wait its cap (1.5 s) on every loss ...
    expect(srttMs + 4 * rttvarMs).toBeGreaterThan(1500);
    h.tight();
    h.send(pressure);
    const first = h.clock.now();
    while (h.state() === 'ready.awaiting-host.sent' && h.clock.now() - first < 5000) h.clock.increment(10);
    // ... this resends after the floor (250 ms > 4 x 20 ms).
    expect(h.state()).toBe('ready.awaiting-host.backoff');
    expect(h.clock.now() - first).toBeGreaterThanOrEqual(250);
    expect(h.clock.now() - first).toBeLessThanOrEqual(260);
    // A link that became slow (every recent answer takes 300 ms or more): 4 x 300 ms.
    for (let i = 0; i < 16; i++) h.send({ type: 'ack.measured', rttMs: 300 + i * 50 });
    const resend = h.resizes().length;
    while (h.resizes().length === resend) h.clock.increment(10);
    const sentAgain = h.clock.now();
    while (h.state() === 'ready.awaiting-host.sent' && h.clock.now() - sentAgain < 5000) h.clock.increment(10);
    expect(h.clock.now() - sentAgain).toBeGreaterThanOrEqual(1190);
    expect(h.clock.now() - sentAgain).toBeLessThanOrEqual(1210);
  });

  it('retries after the host\'s retryAfterMs on busy (capped), then drops the request and cools down', () => {
    const h = startResizer(testConfig({ timing: { busyMaxRetries: 2, busyRetryMaxMs: 3000 } })).ready();
    h.tight();
    h.send(pressure);
    const id = h.resizes()[0]!.id;
    h.send({ type: 'host.ack', id, outcome: 'busy', grantedBytes: 0, retryAfterMs: 500 });
    expect(h.state()).toBe('ready.awaiting-host.busy');
    h.advance(490);
    expect(h.resizes()).toHaveLength(1);
    h.advance(20);
    expect(h.resizes()).toHaveLength(2);
    expect(h.resizes()[1]).toMatchObject({ id, attempt: 1 });
    // A hostile retryAfterMs cannot park the guest for an hour.
    h.send({ type: 'host.ack', id, outcome: 'busy', grantedBytes: 0, retryAfterMs: 3_600_000 });
    h.advance(3010);
    expect(h.resizes()).toHaveLength(3);
    h.send({ type: 'host.ack', id, outcome: 'busy', grantedBytes: 0, retryAfterMs: 100 });
    expect(h.state()).toBe('ready.cooling');
    expect(h.ctx().request).toBeNull();
  });

  it('ignores an ack for another id', () => {
    const h = startResizer().ready();
    h.send(pressure);
    h.send({ type: 'host.ack', id: 'someone-else-1', outcome: 'granted', grantedBytes: MAX });
    expect(h.state()).toBe('ready.awaiting-host.sent');
  });

  it('finishes a grow whose memory shows up before its ack, ignores the late ack, and can grow again at once', () => {
    const h = startResizer().ready();
    h.tight();
    h.send(pressure);
    const req = h.resizes()[0]!;
    // Part of the plug is not enough: still waiting for the ack.
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes - BLOCK });
    expect(h.state()).toBe('ready.awaiting-host.sent');
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.cooling');
    expect(h.ctx()).toMatchObject({ request: null, pluggedBytes: req.targetBytes, hostRequestedBytes: req.targetBytes, lastOutcome: 'granted', lastReason: 'observed before the ack' });
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.cooling');
    // Free memory running out during the cooldown is answered with the next grow, not a retry.
    h.send(headroom);
    const next = h.resizes().at(-1)!;
    expect(next.id).not.toBe(req.id);
    expect(next.fromBytes).toBe(req.targetBytes);
    expect(next.targetBytes).toBeGreaterThan(req.targetBytes);
    expect(h.resizes().filter((r) => r.id === req.id)).toHaveLength(1);
  });

  it('does not take memory seen during a shrink for an ack', () => {
    const h = startResizer().ready({ pluggedBytes: 1 * GiB });
    h.send({ type: 'mem.observed', pluggedBytes: 1 * GiB });
    h.surplus();
    h.send({ type: 'psi.relaxed' });
    const req = h.resizes().at(-1)!;
    expect(req.kind).toBe('shrink');
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.awaiting-host.sent');
  });
});

describe('host answers', () => {
  it('accepts a partial grant, waits to observe it, cools down, and grows again when pressure persists', () => {
    const h = startResizer().ready();
    h.tight();
    h.send(pressure);
    const req = h.resizes()[0]!;
    const granted = req.targetBytes / 2;
    h.send({ type: 'host.ack', id: req.id, outcome: 'partial', grantedBytes: granted, reason: 'budget' });
    expect(h.state()).toBe('ready.growing');
    h.send({ type: 'mem.observed', pluggedBytes: granted });
    expect(h.state()).toBe('ready.cooling');
    h.send(pressure); // still under pressure during the cooldown
    expect(h.state()).toBe('ready.cooling');
    h.advance(h.ctx().timing.cooldownAfterGrowMs + 10);
    const again = h.resizes()[1]!;
    expect(again.kind).toBe('grow');
    expect(again.fromBytes).toBe(granted);
    expect(again.targetBytes).toBeGreaterThan(granted);
    expect(again.id).not.toBe(req.id);
  });

  it('treats a denial at the ceiling as the end of growth, not an error, until limits rise', () => {
    const h = startResizer().ready({ maxBytes: 1 * GiB });
    h.send(pressure);
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'denied', grantedBytes: 0, reason: 'at-max' });
    expect(h.state()).toBe('ready.idle');
    expect(h.ctx().atCeiling).toBe(true);
    h.send(pressure);
    h.send(headroom);
    expect(h.resizes()).toHaveLength(1);
    h.send({ type: 'host.limits', minBytes: 0, maxBytes: 2 * GiB });
    h.send(pressure);
    expect(h.resizes()).toHaveLength(2);
    expect(h.resizes()[1]!.targetBytes).toBeLessThanOrEqual(2 * GiB);
  });

  it('lifts the ceiling when usage drops (psi.relaxed)', () => {
    const h = startResizer().ready();
    h.send(pressure);
    h.send({ type: 'host.ack', id: h.resizes()[0]!.id, outcome: 'denied', grantedBytes: 0, reason: 'at-max' });
    h.send({ type: 'psi.relaxed' });
    expect(h.ctx().atCeiling).toBe(false);
    h.send(pressure);
    expect(h.resizes()).toHaveLength(2);
  });

  it('cools down after a denial for another reason (budget) and does not storm the host while it does', () => {
    const h = startResizer().ready();
    h.send(pressure);
    h.send({ type: 'host.ack', id: h.resizes()[0]!.id, outcome: 'denied', grantedBytes: 0, reason: 'budget' });
    expect(h.state()).toBe('ready.cooling');
    expect(h.ctx().atCeiling).toBe(false);
    // headroom.low keeps firing while memory runs out; the host just said no.
    const cooldown = h.ctx().cooldownMs;
    for (let t = 0; t < cooldown + 500; t += 200) {
      h.send(headroom);
      h.advance(200);
    }
    expect(h.resizes()).toHaveLength(2); // one more request, when the cooldown ended
    expect(h.resizes()[1]!.kind).toBe('grow');
  });

  it('waits as long as a protocol-2 host names after a budget denial (within its own bounds), and asks at once when told budget freed', () => {
    const h = startResizer(testConfig({ timing: { cooldownAfterDenyMs: 5000, cooldownAfterDenyMaxMs: 60_000 } })).ready();
    h.tight();
    h.send(pressure);
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'denied', grantedBytes: 0, reason: 'budget', retryAfterMs: 30_000 });
    expect(h.state()).toBe('ready.cooling');
    expect(h.ctx().cooldownMs).toBe(30_000);
    // Past the guest's own 5 s: still quiet, however hard free memory falls.
    for (let t = 0; t < 20_000; t += 1000) {
      h.send(headroom);
      h.advance(1000);
    }
    expect(h.resizes()).toHaveLength(1);
    h.send({ type: 'host.available', bytes: 512 * MiB });
    expect(h.resizes()).toHaveLength(2);
    expect(h.resizes()[1]).toMatchObject({ kind: 'grow', fromBytes: first.fromBytes });
    expect(h.state()).toBe('ready.awaiting-host.sent');
  });

  it('asks for the denied need when told budget freed, even if no pressure came since; not after it relaxed', () => {
    const h = startResizer().ready();
    h.tight();
    h.send(pressure);
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'denied', grantedBytes: 0, reason: 'budget', retryAfterMs: 30_000 });
    h.send({ type: 'host.available', bytes: 512 * MiB });
    expect(h.resizes()).toHaveLength(2);
    expect(h.resizes()[1]!.targetBytes).toBe(first.targetBytes);

    const g = startResizer().ready();
    g.tight();
    g.send(pressure);
    g.send({ type: 'host.ack', id: g.resizes()[0]!.id, outcome: 'denied', grantedBytes: 0, reason: 'budget', retryAfterMs: 30_000 });
    g.send({ type: 'psi.relaxed' });
    g.send({ type: 'host.available', bytes: 512 * MiB });
    expect(g.resizes()).toHaveLength(1);
    expect(g.state()).toBe('ready.cooling');
  });

  it('caps a hostile wait at cooldownAfterDenyMaxMs, ignores a wait on other denials, and ignores available when not refused', () => {
    const h = startResizer(testConfig({ timing: { cooldownAfterDenyMs: 5000, cooldownAfterDenyMaxMs: 60_000 } })).ready();
    h.tight();
    h.send(pressure);
    h.send({ type: 'host.ack', id: h.resizes()[0]!.id, outcome: 'denied', grantedBytes: 0, reason: 'budget', retryAfterMs: 24 * 3600 * 1000 });
    expect(h.ctx().cooldownMs).toBe(60_000);

    const r = startResizer(testConfig({ timing: { cooldownAfterDenyMs: 5000 } })).ready();
    r.send(pressure);
    r.send({ type: 'host.ack', id: r.resizes()[0]!.id, outcome: 'denied', grantedBytes: 0, reason: 'shutting-down', retryAfterMs: 30_000 });
    expect(r.ctx().cooldownMs).toBe(5000);

    // After a grant, `available` is not an invitation: the machine grows on its own signals.
    const g = startResizer().ready();
    g.tight();
    g.send(pressure);
    const req = g.resizes()[0]!;
    g.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    g.send({ type: 'mem.observed', pluggedBytes: req.targetBytes });
    expect(g.state()).toBe('ready.cooling');
    g.send({ type: 'host.available', bytes: MAX });
    expect(g.resizes()).toHaveLength(1);
  });
});

describe('completion is what the guest observes', () => {
  it('does not finish a grow on the host\'s word: host.done alone leaves it growing', () => {
    const h = startResizer().ready();
    h.send(pressure);
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'host.done', id: req.id, status: 'complete', pluggedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.growing');
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.cooling');
  });

  it('counts a completion timeout with less memory observed than granted as partial', () => {
    const h = startResizer().ready();
    h.send(pressure);
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes / 2 });
    h.advance(h.ctx().timing.growCompletionTimeoutMs + 10);
    expect(h.state()).toMatch(/^ready\.(cooling|idle)$/);
    expect(h.ctx().lastOutcome).toBe('partial');
    expect(h.ctx().pluggedBytes).toBe(req.targetBytes / 2);
  });

  it('waits only for what the host reports when it plugged less than granted', () => {
    const h = startResizer().ready();
    h.send(pressure);
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: 64 * MiB });
    h.send({ type: 'host.done', id: req.id, status: 'partial', pluggedBytes: 64 * MiB });
    expect(h.state()).toBe('ready.cooling');
  });
});

describe('shrinking', () => {
  function grownThenRelaxed(pluggedBytes = 1 * GiB) {
    const h = startResizer().ready({ pluggedBytes });
    h.send({ type: 'mem.observed', pluggedBytes });
    h.surplus();
    h.send({ type: 'psi.relaxed' });
    return h;
  }

  it('backs off exponentially after failed unplugs, asks for less each time, and never storms', () => {
    const h = grownThenRelaxed();
    const answered = new Set<string>();
    const start = h.clock.now();
    for (let t = 0; t < 15 * 60_000; t += 1000) {
      const s = h.state();
      const req = h.ctx().request;
      if (s === 'ready.awaiting-host.sent' && req && req.kind === 'shrink' && !answered.has(req.id)) {
        answered.add(req.id);
        h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
        h.send({ type: 'host.done', id: req.id, status: 'partial', pluggedBytes: 1 * GiB }); // nothing could be unplugged
      }
      if (s === 'ready.idle') {
        h.surplus();
        h.send({ type: 'psi.relaxed' }); // relaxed keeps being reported every second
      }
      h.advance(1000, 100);
    }
    const shrinks = h.resizes().filter((r) => r.kind === 'shrink');
    expect(new Set(shrinks.map((r) => r.id)).size).toBe(shrinks.length); // no resends needed: every one was answered
    const released = shrinks.map((r) => r.fromBytes - r.targetBytes);
    // 30 s, 60 s, 120 s, 240 s, 480 s backoffs: at most ~6 attempts in 15 minutes, not one per second.
    expect(shrinks.length).toBeGreaterThanOrEqual(3);
    expect(shrinks.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < released.length; i++) expect(released[i]!).toBeLessThanOrEqual(released[i - 1]!);
    expect(released.at(-1)!).toBeLessThan(released[0]!);
    expect(h.ctx().unplugFailures).toBe(shrinks.length);
    expect(h.clock.now() - start).toBeGreaterThanOrEqual(15 * 60_000);
    // Failed unplugs say nothing about the working set: the regret scale is untouched.
    expect(h.ctx().unplugScale).toBeLessThan(1);
    expect(h.ctx().shrinkScale).toBe(1);
  });

  it('asks for the whole surplus again once an unplug completes (the unmovable pages are gone)', () => {
    const h = grownThenRelaxed();
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'granted', grantedBytes: first.targetBytes });
    h.send({ type: 'host.done', id: first.id, status: 'partial', pluggedBytes: 1 * GiB });
    expect(h.ctx().unplugScale).toBe(0.5);
    h.advance(h.ctx().cooldownMs + 10);
    h.surplus();
    h.send({ type: 'psi.relaxed' });
    const second = h.resizes()[1]!;
    expect(second.fromBytes - second.targetBytes).toBeLessThan(first.fromBytes - first.targetBytes);
    h.send({ type: 'host.ack', id: second.id, outcome: 'granted', grantedBytes: second.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: second.targetBytes });
    expect(h.state()).toBe('ready.cooling');
    expect(h.ctx().unplugScale).toBe(1);
    expect(h.ctx().unplugFailures).toBe(0);
  });

  it('completes when the guest observes the memory gone, and resets the backoff', () => {
    const h = grownThenRelaxed();
    const req = h.resizes()[0]!;
    expect(req.kind).toBe('shrink');
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.shrinking');
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.cooling');
    expect(h.ctx().unplugFailures).toBe(0);
    expect(h.ctx().shrinkScale).toBe(1);
  });

  it('regrets a shrink followed by pressure: the next shrink waits longer and asks for less; a quiet cooldown restores trust', () => {
    const h = grownThenRelaxed(2 * GiB);
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'granted', grantedBytes: first.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: first.targetBytes });
    expect(h.state()).toBe('ready.cooling');
    const baseCooldown = h.ctx().cooldownMs;
    h.send(pressure); // the workload re-reads the cache the shrink evicted
    // The next sample tells how much MemAvailable was left when it stalled.
    h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 600 * MiB, availableTrendBps: 0 });
    expect(h.ctx().learnedStall?.floorBytes).toBe(600 * MiB + h.ctx().policy.stallFloorMarginBytes);
    expect(h.ctx().shrinkRegrets).toBe(1);
    expect(h.ctx().shrinkScale).toBe(0.5);
    // Fresh pressure after a shrink is not stale: it grows back at once.
    const back = h.resizes()[1]!;
    expect(back.kind).toBe('grow');
    expect(h.state()).toBe('ready.awaiting-host.sent');
    h.send({ type: 'host.ack', id: back.id, outcome: 'granted', grantedBytes: back.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: back.targetBytes });
    h.advance(h.ctx().timing.cooldownAfterGrowMs + 10);
    expect(h.state()).toBe('ready.idle');
    h.surplus();
    h.send({ type: 'psi.relaxed' });
    const second = h.resizes()[2]!;
    expect(second.kind).toBe('shrink');
    expect(second.fromBytes - second.targetBytes).toBeLessThan(first.fromBytes - first.targetBytes);
    h.send({ type: 'host.ack', id: second.id, outcome: 'granted', grantedBytes: second.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: second.targetBytes });
    expect(h.ctx().cooldownMs).toBe(2 * baseCooldown);
    h.advance(2 * baseCooldown + 10); // quiet: the smaller shrink held
    expect(h.ctx().shrinkRegrets).toBe(0);
    expect(h.ctx().shrinkScale).toBe(1);
    // The surplus is still there: the next step goes back at once, not at the next psi.relaxed.
    expect(h.state()).toBe('ready.awaiting-host.sent');
    const third = h.resizes()[3]!;
    expect(third.kind).toBe('shrink');
    expect(third.reason).toBe('relaxed-surplus');
  });

  it('does not blame a shrink for the next job: a ramp that would have outgrown the memory it gave back anyway', () => {
    const h = grownThenRelaxed(2 * GiB);
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'granted', grantedBytes: first.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: first.targetBytes });
    expect(h.ctx().lastShrinkReleasedBytes).toBe(first.fromBytes - first.targetBytes);
    // A job starts consuming 200 MB/s: in one shrink cooldown it would eat far more than was given back.
    h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 300 * MiB, availableTrendBps: -200e6 });
    h.send({ type: 'headroom.low', memAvailableBytes: 300 * MiB, secondsToReserve: 1, consumeBps: 200e6 });
    expect(h.resizes()[1]!.kind).toBe('grow');
    expect(h.ctx().shrinkRegrets).toBe(0);
    expect(h.ctx().shrinkScale).toBe(1);
    // Whereas a stall with the workload flat is the shrink's doing (the surplus was working set).
    const g = grownThenRelaxed(2 * GiB);
    const s1 = g.resizes()[0]!;
    g.send({ type: 'host.ack', id: s1.id, outcome: 'granted', grantedBytes: s1.targetBytes });
    g.send({ type: 'mem.observed', pluggedBytes: s1.targetBytes });
    g.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 300 * MiB, availableTrendBps: 0 });
    g.send(pressure);
    expect(g.ctx().shrinkRegrets).toBe(1);
    expect(g.ctx().shrinkScale).toBe(0.5);
  });

  it('learns from a PSI stall how much MemAvailable the working set needs, from the sample after it', () => {
    const h = grownThenRelaxed(2 * GiB);
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'granted', grantedBytes: first.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: first.targetBytes });
    h.send(pressure);
    // Nothing is learned from the (possibly stale) sample before the stall...
    expect(h.ctx().learnedStall).toBeNull();
    expect(h.ctx().pendingStall).not.toBeNull();
    // ...but from the lower of it and the next one.
    h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 900 * MiB, availableTrendBps: 0 });
    const floor = 900 * MiB + h.ctx().policy.stallFloorMarginBytes;
    expect(h.ctx().learnedStall).toEqual({ floorBytes: floor, atMs: 0 });
    expect(h.ctx().pendingStall).toBeNull();
    // Once the grow back is done and a surplus shows, the next shrink leaves the floor plus a band.
    const back = h.resizes()[1]!;
    h.send({ type: 'host.ack', id: back.id, outcome: 'granted', grantedBytes: back.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: back.targetBytes });
    h.advance(h.ctx().timing.cooldownAfterGrowMs + 10);
    h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 1500 * MiB, availableTrendBps: 0 });
    h.send({ type: 'psi.relaxed' });
    const second = h.resizes()[2]!;
    expect(second.kind).toBe('shrink');
    const released = second.fromBytes - second.targetBytes;
    expect(released).toBeLessThanOrEqual((1500 * MiB - floor - h.ctx().policy.growStepMinBytes) * h.ctx().shrinkScale);
    expect(released).toBeGreaterThan(0);
  });

  it('learns from the lowest MemAvailable within the trigger window: a trigger after a grow landed reports the stall before it', () => {
    const sample = (atMs: number, availMiB: number) => ({ type: 'meminfo.sample', atMs, memTotalBytes: 3 * GiB, memAvailableBytes: availMiB * MiB, availableTrendBps: 0 }) as const;
    const late = startResizer().ready();
    late.send(sample(0, 20)); // the burst had eaten everything...
    late.send(sample(1000, 1024)); // ...then a grow landed
    late.send({ ...pressure, atMs: 1100 }); // the trigger reports the window that included the burst
    late.send(sample(1200, 1024));
    expect(late.ctx().learnedStall).toBeNull();
    // The same stall with the low sample older than the lookback: MemAvailable was 1 GiB all window long.
    const h = startResizer().ready();
    const lookback = h.ctx().policy.stallLookbackMs;
    h.send(sample(0, 20));
    h.send(sample(lookback + 500, 1024));
    h.send({ ...pressure, atMs: lookback + 1100 });
    h.send(sample(lookback + 1200, 1024));
    expect(h.ctx().learnedStall?.floorBytes).toBe(1024 * MiB + h.ctx().policy.stallFloorMarginBytes);
  });

  it('learns nothing from a stall during a burst: the sample after it shows MemAvailable near zero', () => {
    const h = grownThenRelaxed(2 * GiB);
    const first = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: first.id, outcome: 'granted', grantedBytes: first.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: first.targetBytes });
    h.send(pressure); // the sample before still shows 2 GiB available
    h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 3 * GiB, memAvailableBytes: 30 * MiB, availableTrendBps: -500 * MiB });
    expect(h.ctx().learnedStall).toBeNull();
  });

  it('aborts a shrink under pressure: one new request that holds at the current size or grows', () => {
    const h = grownThenRelaxed();
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: 900 * MiB }); // part of the unplug happened
    h.send(headroom);
    const abort = h.resizes()[1]!;
    expect(abort.id).not.toBe(req.id);
    expect(abort.kind).toBe('grow');
    expect(abort.targetBytes).toBeGreaterThanOrEqual(900 * MiB);
    expect(h.state()).toBe('ready.awaiting-host.sent');
  });

  it('holds at the current size when pressure arrives at the ceiling during a shrink', () => {
    const h = grownThenRelaxed();
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: 900 * MiB });
    h.send({ type: 'host.limits', minBytes: 0, maxBytes: 900 * MiB });
    h.send(pressure);
    const hold = h.resizes()[1]!;
    expect(hold).toMatchObject({ kind: 'hold', targetBytes: 900 * MiB });
    h.send({ type: 'host.ack', id: hold.id, outcome: 'granted', grantedBytes: hold.targetBytes });
    expect(h.state()).toBe('ready.cooling');
  });
});

describe('host-initiated reclaim', () => {
  it('accepts when the surplus allows and shrinks; refuses with a reason otherwise', () => {
    const h = startResizer().ready({ pluggedBytes: 1 * GiB });
    h.send({ type: 'mem.observed', pluggedBytes: 1 * GiB });
    h.tight();
    h.send({ type: 'host.reclaim', id: 'r1', bytes: 256 * MiB });
    expect(h.effects.at(-1)).toMatchObject({ kind: 'reclaim', reply: { id: 'r1', accepted: false, reason: 'no-surplus' } });
    expect(h.state()).toBe('ready.idle');
    h.surplus();
    h.send({ type: 'host.reclaim', id: 'r2', bytes: 256 * MiB });
    expect(h.effects.at(-2)).toMatchObject({ kind: 'reclaim', reply: { id: 'r2', accepted: true, bytes: 256 * MiB } });
    expect(h.resizes().at(-1)).toMatchObject({ kind: 'shrink', targetBytes: 768 * MiB });
  });

  it('refuses while a resize is under way', () => {
    const h = startResizer().ready();
    h.send(pressure);
    h.send({ type: 'host.reclaim', id: 'r3', bytes: 256 * MiB });
    expect(h.effects.at(-1)).toMatchObject({ kind: 'reclaim', reply: { id: 'r3', accepted: false, reason: 'resize-in-progress' } });
  });
});

describe('link loss and reconciliation', () => {
  it('goes degraded on disconnect, handshakes again on reconnect, and adopts the observed size', () => {
    const h = startResizer().ready();
    h.send(pressure);
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'host.disconnected', reason: 'agent killed' });
    expect(h.state()).toBe('degraded');
    expect(h.ctx().request).toBeNull();
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes }); // the plug completed meanwhile
    h.send({ type: 'host.connected' });
    expect(h.state()).toBe('handshake');
    expect(h.effects.filter((e) => e.kind === 'hello')).toHaveLength(2);
    // The restarted host reports what QEMU says; the guest keeps what it observes.
    h.send({ type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: req.targetBytes, pluggedBytes: 0 });
    expect(h.state()).toBe('ready.idle');
    expect(h.ctx().pluggedBytes).toBe(req.targetBytes);
    expect(h.ctx().hostRequestedBytes).toBe(req.targetBytes);
  });

  it('retries the handshake while degraded only when the link is up, sooner at first, then calmly', () => {
    const h = startResizer(testConfig({ timing: { helloTimeoutMs: 3000, helloResendMs: 1000, degradedRetryMs: 5000 } }));
    h.send({ type: 'host.connected' });
    h.advance(3000 + 10);
    expect(h.state()).toBe('degraded');
    // Each degraded period waits twice as long as the one before, from the hello interval
    // up to degradedRetryMs: 1, 2, 4, 5, 5 s.
    const waits: number[] = [];
    for (let round = 0; round < 5; round++) {
      const from = h.clock.now();
      while (h.state() === 'degraded') h.clock.increment(10);
      waits.push(h.clock.now() - from);
      expect(h.state()).toBe('handshake');
      while (h.state() === 'handshake') h.clock.increment(10);
    }
    expect(waits.map((w) => Math.round(w / 100) * 100)).toEqual([1000, 2000, 4000, 5000, 5000]);
    // A welcome resets the backoff.
    h.send({ type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: 0, pluggedBytes: 0 });
    expect(h.state()).toBe('ready.idle');
    expect(h.ctx().degradedRounds).toBe(0);
    // No link, no handshake: degraded stays degraded.
    h.send({ type: 'host.disconnected' });
    h.advance(5000 * 3);
    expect(h.state()).toBe('degraded');
  });

  it('says hello again while the handshake waits, and stops once welcomed', () => {
    const h = startResizer();
    const t = h.ctx().timing;
    h.send({ type: 'host.connected' });
    const hellos = () => h.effects.filter((e) => e.kind === 'hello').length;
    expect(hellos()).toBe(1);
    h.advance(t.helloResendMs + 10); // hello or welcome lost
    expect(h.state()).toBe('handshake');
    expect(hellos()).toBe(2);
    h.send({ type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: 0, pluggedBytes: 0 });
    expect(h.state()).toBe('ready.idle');
    h.advance(t.helloTimeoutMs * 2);
    expect(hellos()).toBe(2);
    expect(h.state()).toBe('ready.idle');
    // A new link starts a new handshake with the full number of hellos.
    h.send({ type: 'host.connected' });
    h.advance(t.helloTimeoutMs + 10);
    expect(h.state()).toBe('degraded');
    expect(hellos()).toBe(2 + Math.ceil(t.helloTimeoutMs / t.helloResendMs));
  });

  it('never asks for less than a grant still on its way: requests are absolute, a smaller one would cancel it', () => {
    const h = startResizer();
    h.send({ type: 'host.connected' });
    // Restarted while an earlier grant of 768 MiB had not landed yet: the welcome says so.
    h.send({ type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: 768 * MiB, pluggedBytes: 0 });
    h.send({ type: 'mem.observed', pluggedBytes: 0 });
    h.send(pressure); // the minimum step alone would ask for 128 MiB
    const req = h.resizes()[0]!;
    expect(req.kind).toBe('grow');
    expect(req.targetBytes).toBe(768 * MiB);
  });

  it('takes a welcome that comes after the hello timed out: the host is there, the link is slow', () => {
    const h = startResizer();
    h.send({ type: 'host.connected' });
    h.advance(h.ctx().timing.helloTimeoutMs + 10);
    expect(h.state()).toBe('degraded');
    h.send({ type: 'host.welcome', minBytes: 0, maxBytes: MAX, blockBytes: BLOCK, requestedBytes: 0, pluggedBytes: 0 });
    expect(h.state()).toBe('ready.idle');
    expect(h.ctx().limits.maxBytes).toBe(MAX);
    h.send(pressure);
    expect(h.resizes()).toHaveLength(1);
  });
});

describe('growth triggers', () => {
  it('grows predictively on headroom.low, sized by the allocation rate times the measured grow latency', () => {
    const h = startResizer().ready();
    h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 512 * MiB, memAvailableBytes: 300 * MiB, availableTrendBps: -100e6 });
    h.send({ type: 'grow.measured', latencyMs: 2000 });
    const latency = h.ctx().growLatencyMs;
    h.send(headroom);
    const req = h.resizes()[0]!;
    expect(req.reason).toBe('headroom-low');
    expect(req.pressure.source).toBe('headroom');
    // growLeadFactor x latency x 100 MB/s, at least.
    expect(req.targetBytes).toBeGreaterThanOrEqual(h.ctx().policy.growLeadFactor * (latency / 1000) * 100e6);
  });

  it('grows during a cooldown when free memory will run out, but defers plain pressure', () => {
    const h = startResizer().ready();
    h.send(pressure);
    const req = h.resizes()[0]!;
    h.send({ type: 'host.ack', id: req.id, outcome: 'granted', grantedBytes: req.targetBytes });
    h.send({ type: 'mem.observed', pluggedBytes: req.targetBytes });
    expect(h.state()).toBe('ready.cooling');
    h.send(pressure);
    expect(h.resizes()).toHaveLength(1);
    h.send(headroom);
    expect(h.resizes()).toHaveLength(2);
  });
});
