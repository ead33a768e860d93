/**
 * The signals on the real kernel: real memory pressure in throw-away cgroups (see
 * test/fixtures/pressure-workload.ts). Skips with a printed reason where cgroups or PSI
 * are missing or not writable.
 */
import { readFileSync } from 'node:fs';
import { filter, firstValueFrom, map, ReplaySubject, share, Subject, takeUntil, timer, toArray, type Observable } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuestConfig } from '../../src/config/schema.ts';
import { makeMeminfoSource } from '../../src/io/meminfo.ts';
import { loadEpoll, makePsiSource, type EpollFactory, type PsiReading } from '../../src/io/psi.ts';
import { headroomEvents } from '../../src/signals/headroom.ts';
import { pressureEvents } from '../../src/signals/pressure.ts';
import { withTrend } from '../../src/signals/trend.ts';
import { cgroupsUnavailable, makeGroups, removeFile, startSteadyGrowth, startThrash, stop, type PressureGroups } from '../fixtures/pressure-workload.ts';
import { makeZoneinfoReader, withGlobalShortage } from '../../src/daemon/zoneinfo-now.ts';
import { makeLogger } from '../../src/io/log.ts';
import { globalShortage } from '../../src/policy/reclaim.ts';

const why = cgroupsUnavailable();
if (why) console.log(`skip real-kernel PSI tests: ${why}`);
const cfg = defaultGuestConfig();
const DATA = `/var/tmp/memresize-psi-test-${process.pid}.bin`;
const DEADLINE_MS = 6000;

describe.skipIf(why !== null)('PSI and headroom on the real kernel', () => {
  let epoll: EpollFactory | null = null;
  const groups: PressureGroups[] = [];
  beforeAll(async () => {
    epoll = await loadEpoll();
  });
  afterAll(() => {
    for (const g of groups) g.cleanup();
    removeFile(DATA);
  });

  it('a trigger fires within 6 s of page-cache thrash and becomes psi.pressure; an idle group stays silent', async () => {
    const busy = makeGroups('busy', 64 * 1024 * 1024);
    const idle = makeGroups('idle', 64 * 1024 * 1024);
    groups.push(busy, idle);
    // Replayed: every consumer must see the psi.mode reading emitted at subscription.
    const watch = (g: PressureGroups): Observable<PsiReading> => makePsiSource(cfg.signals, { file: g.pressureFile, epoll }).pipe(takeUntil(timer(DEADLINE_MS)), share({ connector: () => new ReplaySubject<PsiReading>() }));
    const busy$ = watch(busy);
    const idle$ = watch(idle);
    const modeP = firstValueFrom(busy$.pipe(filter((r) => r.type === 'psi.mode')));
    const triggerP = firstValueFrom(busy$.pipe(filter((r) => r.type === 'psi.trigger'), map(() => Date.now())), { defaultValue: null });
    const pressureP = firstValueFrom(pressureEvents(busy$, cfg.signals, asyncScheduler), { defaultValue: null });
    const idleEventsP = firstValueFrom(pressureEvents(idle$, cfg.signals, asyncScheduler).pipe(toArray()));
    const start = Date.now();
    const readers = startThrash(busy, DATA);
    try {
      const mode = await modeP;
      const firedAt = await triggerP;
      const ev = await pressureP;
      const idleEvents = await idleEventsP;
      console.log(`mode ${mode.type === 'psi.mode' ? mode.mode : '?'}: trigger ${firedAt === null ? 'none' : `${firedAt - start} ms`} after workload start; idle events ${idleEvents.length}`);
      expect(mode).toMatchObject({ type: 'psi.mode' });
      expect(firedAt).not.toBeNull();
      expect((firedAt as number) - start).toBeLessThanOrEqual(DEADLINE_MS);
      expect(ev).toMatchObject({ type: 'psi.pressure' });
      expect(ev?.stallPercent).toBeGreaterThan(0);
      expect(idleEvents).toEqual([]);
    } finally {
      stop(readers);
    }
  }, 30_000);

  it('headroom.low fires for steadily growing anonymous memory before the memcg limit is reached', async () => {
    const LIMIT = 512 * 1024 * 1024;
    const g = makeGroups('grow', LIMIT);
    groups.push(g);
    // MemTotal/MemAvailable of the memcg, in /proc/meminfo's format, for the real meminfo source.
    const usage = () => Number(readFileSync(`${g.v1}/memory.usage_in_bytes`, 'utf8'));
    const memcgMeminfo = () => `MemTotal: ${LIMIT / 1024} kB\nMemAvailable: ${Math.floor((LIMIT - usage()) / 1024)} kB\n`;
    const stopAll = new Subject<void>();
    const samples$ = makeMeminfoSource(cfg.signals, { readText: memcgMeminfo }).pipe(withTrend(cfg.signals.trendWindowMs), takeUntil(stopAll), share());
    const grower = startSteadyGrowth(g, 8, 100); // ~80 MiB/s
    try {
      const ev = await firstValueFrom(headroomEvents(samples$, timer(60_000).pipe(filter(() => false)), cfg.signals, cfg.policy).pipe(takeUntil(timer(15_000))), { defaultValue: null });
      const usedAtEvent = usage();
      console.log(`headroom.low: ${ev ? `${Math.round(ev.memAvailableBytes / 2 ** 20)} MiB left, ${ev.secondsToReserve} s to reserve, ${Math.round(ev.consumeBps / 2 ** 20)} MiB/s` : 'none'}; usage ${Math.round(usedAtEvent / 2 ** 20)} MiB of ${LIMIT / 2 ** 20}`);
      expect(ev).not.toBeNull();
      expect(usedAtEvent).toBeLessThan(LIMIT);
      expect(ev?.memAvailableBytes).toBeGreaterThan(0);
      expect(ev?.consumeBps).toBeGreaterThan(20 * 2 ** 20);
    } finally {
      stopAll.next();
      stop(grower);
    }
  }, 30_000);

  it('a cgroup thrashing at its own limit fires the trigger, but with memory free above the watermarks it is not answered', async () => {
    const zones = makeZoneinfoReader('/proc', makeLogger({ level: 'silent' }))();
    if (!zones || globalShortage(zones.headroom, cfg.policy)) {
      console.log(`skip: ${zones ? 'this machine is itself short of memory now' : '/proc/zoneinfo unreadable'}`);
      return;
    }
    const g = makeGroups('limited', 64 * 1024 * 1024);
    groups.push(g);
    const raw$ = makePsiSource(cfg.signals, { file: g.pressureFile, epoll }).pipe(takeUntil(timer(DEADLINE_MS)), share({ connector: () => new ReplaySubject<PsiReading>() }));
    const marked$ = raw$.pipe(withGlobalShortage(makeZoneinfoReader('/proc', makeLogger({ level: 'silent' })), cfg));
    const triggersP = firstValueFrom(marked$.pipe(filter((r) => r.type === 'psi.trigger'), toArray()));
    const pressureP = firstValueFrom(pressureEvents(marked$, cfg.signals, asyncScheduler).pipe(toArray()));
    const readers = startThrash(g, `${DATA}.limited`);
    try {
      const triggers = await triggersP;
      const pressures = await pressureP;
      console.log(`memcg at its limit: ${triggers.length} trigger(s), ${pressures.length} psi.pressure; free above the watermarks ${Math.round(zones.headroom.freeAboveHighBytes / 2 ** 20)} MiB`);
      expect(triggers.length).toBeGreaterThan(0);
      expect(triggers.every((t) => t.type === 'psi.trigger' && t.globalShortage === false)).toBe(true);
      expect(pressures).toEqual([]);
    } finally {
      stop(readers);
      removeFile(`${DATA}.limited`);
    }
  }, 30_000);
});
