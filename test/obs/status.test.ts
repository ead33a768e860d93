import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStatus, startStatusServer } from '../../src/io/status-server.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { buildGuestStatus, statusText, TransitionRing, type GuestStatus } from '../../src/obs/status.ts';
import { startResizer } from '../machines/harness.ts';

describe('status socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memresize-status-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the live status, root-only, and the text view shows state, sizes and transitions', async () => {
    const h = startResizer().ready();
    h.tight();
    h.send({ type: 'psi.pressure', severity: 'some', stallPercent: 10 });
    const ring = new TransitionRing(3);
    for (const [i, l] of h.lines.filter((x) => x.msg === 'transition' && x.level === 30).entries()) {
      ring.push({ from: String(l.from), to: String(l.to), event: String(l.event), why: String(l.why), requestId: l.requestId as string | undefined, context: h.ctx() }, 1000 + i);
    }
    const { log } = makeMemoryLogger();
    const path = join(dir, 'guest.sock');
    let asked = 0;
    const server = await startStatusServer(
      path,
      () => {
        asked++;
        return buildGuestStatus({ pid: 42, startedAtMs: 0, nowMs: 5000, state: h.state(), context: h.ctx(), signals: { psiMode: 'avgs' }, selfProtection: { oomScoreAdj: -1000 }, transitions: ring.list() });
      },
      log,
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const status = (await readStatus(path)) as GuestStatus;
    expect(asked).toBe(1);
    expect(status.state).toBe('ready.awaiting-host.sent');
    expect(status.request?.kind).toBe('grow');
    expect(status.transitions).toHaveLength(3);
    expect(status.signals).toEqual({ psiMode: 'avgs' });
    // No roundtrip measured yet: the configured ack timeout.
    expect(status.ack).toEqual({ timeoutMs: h.ctx().timing.ackTimeoutMs, srttMs: null, smallestRecentMs: null });
    const text = statusText(status);
    expect(text).toMatch(/ack timeout \d+ ms/);
    expect(text).toMatch(/ready\.awaiting-host\.sent/);
    expect(text).toMatch(/last 3 transitions/);
    expect(text).toMatch(/request T-1 grow/);
    await server.close();
    await expect(readStatus(path, 500)).rejects.toThrow();
  });

  it('tells a VM refused for budget, waiting as the host said, from one cooling after a grow', () => {
    const h = startResizer().ready();
    h.tight();
    h.send({ type: 'psi.pressure', severity: 'some', stallPercent: 10 });
    h.send({ type: 'host.ack', id: h.resizes()[0]!.id, outcome: 'denied', grantedBytes: 0, reason: 'budget', retryAfterMs: 30_000 });
    const status = buildGuestStatus({ pid: 1, startedAtMs: 0, nowMs: 1, state: h.state(), context: h.ctx(), signals: {}, selfProtection: {}, transitions: [] });
    expect(status.host).toEqual({ lastOutcome: 'denied', lastReason: 'budget', cooldownAfter: 'deny', cooldownMs: 30_000, awaitingAvailable: true });
    expect(statusText(status)).toContain('host answered denied (budget)   cooldown 30000 ms after deny   (denied need: asks again when the host says budget is available)');
    h.send({ type: 'host.available', bytes: 512 * 2 ** 20 });
    const after = buildGuestStatus({ pid: 1, startedAtMs: 0, nowMs: 2, state: h.state(), context: h.ctx(), signals: {}, selfProtection: {}, transitions: [] });
    expect(after.host.awaitingAvailable).toBe(false);
  });

  it('shows the floor a stall taught and whether MemAvailable is below it (probing)', () => {
    const h = startResizer().ready();
    const at = (availMiB: number) => h.send({ type: 'meminfo.sample', atMs: 0, memTotalBytes: 2 * 2 ** 30, memAvailableBytes: availMiB * 2 ** 20, availableTrendBps: 0 });
    const status = () => buildGuestStatus({ pid: 1, startedAtMs: 0, nowMs: 1, state: h.state(), context: h.ctx(), signals: {}, selfProtection: {}, transitions: [] });
    at(600);
    expect(status().sizes).toMatchObject({ probing: false });
    expect(status().sizes.learnedFloorBytes).toBeUndefined();
    // A stall at 600 MiB available (learned with the next sample): the floor is that plus the
    // margin, and MemAvailable is under it.
    h.send({ type: 'psi.pressure', severity: 'some', stallPercent: 10 });
    at(600);
    const learned = h.ctx().learnedStall!.floorBytes;
    expect(learned).toBeGreaterThan(600 * 2 ** 20);
    expect(status().sizes).toMatchObject({ learnedFloorBytes: learned, probing: true });
    expect(statusText(status())).toMatch(/floor [\d.]+ \w+ \(learned [\d.]+ \w+, probing: MemAvailable below it\)/);
    at(learned / 2 ** 20 + 1);
    expect(status().sizes.probing).toBe(false);
    expect(statusText(status())).not.toMatch(/probing/);
  });
});
