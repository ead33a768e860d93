import { concat, lastValueFrom, map, NEVER, of, takeUntil, timer, toArray, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultGuestConfig } from '../../src/config/schema.ts';
import type { PsiReading } from '../../src/io/psi.ts';
import { isResizerEvent, makeSignals } from '../../src/signals/index.ts';
import { meminfo, modeAvgs, pressure } from './helpers.ts';

describe('makeSignals', () => {
  it('delivers readings a source emits synchronously at subscription to every pipeline', async () => {
    const vts = new VirtualTimeScheduler(VirtualAction, 5000);
    const cfg = defaultGuestConfig();
    // Like the real PSI source: mode and baseline at subscription, a trigger 2 s later.
    const trigger: PsiReading = { type: 'psi.trigger', atMs: 2000, pressure: pressure(400_000) };
    const psiAll$ = concat(of<PsiReading[]>(modeAvgs, { type: 'psi.sample', atMs: 0, pressure: pressure(0) }), timer(2000, vts).pipe(map(() => trigger)));
    const out$ = makeSignals({ psi$: psiAll$, meminfo$: of(meminfo(0, 800)), growLatencyMs$: NEVER, initialPluggedBytes: 0 }, cfg, vts).pipe(takeUntil(timer(3000, vts)), toArray());
    const p = lastValueFrom(out$);
    vts.flush();
    const out = await p;
    expect(out.filter((o) => !isResizerEvent(o)).map((o) => o.type)).toContain('psi.mode');
    // The pressure pipeline knew the 2 s window: 400 ms of stall in it is 20 %, not 100 %.
    expect(out.filter(isResizerEvent).find((e) => e.type === 'psi.pressure')).toEqual({ type: 'psi.pressure', severity: 'some', stallPercent: 20, atMs: 2000, via: 'trigger' });
  });

  it('turns a trigger that came with memory to spare into a psi.discounted notice, not pressure', async () => {
    const vts = new VirtualTimeScheduler(VirtualAction, 5000);
    const cfg = defaultGuestConfig();
    const trigger: PsiReading = { type: 'psi.trigger', atMs: 2000, pressure: pressure(400_000), globalShortage: false };
    const psiAll$ = concat(of<PsiReading[]>(modeAvgs, { type: 'psi.sample', atMs: 0, pressure: pressure(0) }), timer(2000, vts).pipe(map(() => trigger)));
    const out$ = makeSignals({ psi$: psiAll$, meminfo$: of(meminfo(0, 800)), growLatencyMs$: NEVER, initialPluggedBytes: 0 }, cfg, vts).pipe(takeUntil(timer(3000, vts)), toArray());
    const p = lastValueFrom(out$);
    vts.flush();
    const out = await p;
    expect(out.filter((o) => o.type === 'psi.discounted')).toEqual([{ type: 'psi.discounted', atMs: 2000 }]);
    expect(out.filter(isResizerEvent).filter((e) => e.type === 'psi.pressure')).toEqual([]);
  });
});
