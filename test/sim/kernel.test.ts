import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultGuestConfig } from '../../src/config/schema.ts';
import { GiB, MiB } from '../../src/config/units.ts';
import { parseMeminfo } from '../../src/io/meminfo.ts';
import { makePsiSource, type PsiReading } from '../../src/io/psi.ts';
import { VirtualClock } from '../../src/sim/clock.ts';
import { defaultGuestParams, GuestModel } from '../../src/sim/guest.ts';
import { makeSimKernel } from '../../src/sim/kernel.ts';
import { PsiModel } from '../../src/sim/psi.ts';
import { traceWorkload } from '../../src/sim/workload.ts';

function world(anon: number, file: number, privileged: boolean) {
  const clock = new VirtualClock();
  const guest = new GuestModel(defaultGuestParams(1 * GiB), traceWorkload([{ tS: 0, anonBytes: anon, fileBytes: file, unmovableBytes: 0, extra: {} }]));
  const psi = new PsiModel(100);
  const kernel = makeSimKernel(clock, guest, psi, { privileged });
  const step = (ms: number) => {
    for (let t = clock.now() + 100; t <= ms; t += 100) {
      clock.advanceTo(t);
      guest.tick(t, 100);
      psi.tick(t, guest.some, guest.full);
    }
  };
  return { clock, guest, psi, kernel, step };
}

describe('simulated kernel files', () => {
  it('serves /proc/meminfo that the real parser accepts', () => {
    const w = world(300 * MiB, 100 * MiB, true);
    w.step(200);
    const r = parseMeminfo(w.kernel.readText('/sim/proc/meminfo'));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.fields.AnonPages).toBeCloseTo(300 * MiB, -4);
  });

  it('lets the real PSI source arm an rtpoll trigger and delivers its events through epoll', async () => {
    const w = world(700 * MiB, 400 * MiB, true);
    const cfg = defaultGuestConfig().signals;
    const got = firstValueFrom(makePsiSource(cfg, { procRoot: '/sim/proc', scheduler: w.clock.scheduler, fs: w.kernel.fs, epoll: w.kernel.epoll, capEff: w.kernel.capEff }).pipe(take(3), toArray()));
    w.step(2000);
    const readings = (await got) as PsiReading[];
    expect(readings[0]).toMatchObject({ type: 'psi.mode', mode: 'rtpoll', windowUs: 500_000 });
    expect(readings.map((r) => r.type)).toContain('psi.trigger');
  });

  it('refuses sub-2 s windows to unprivileged writers, so the real source falls back to avgs', async () => {
    const w = world(100 * MiB, 100 * MiB, false);
    const cfg = defaultGuestConfig().signals;
    const got = firstValueFrom(makePsiSource(cfg, { procRoot: '/sim/proc', scheduler: w.clock.scheduler, fs: w.kernel.fs, epoll: w.kernel.epoll, capEff: w.kernel.capEff }).pipe(take(1)));
    w.step(100);
    expect(await got).toMatchObject({ type: 'psi.mode', mode: 'avgs', windowUs: 2_000_000 });
  });
});
