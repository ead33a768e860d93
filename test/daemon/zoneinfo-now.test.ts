import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultGuestConfig } from '../../src/config/schema.ts';
import { withGlobalShortage, type makeZoneinfoReader } from '../../src/daemon/zoneinfo-now.ts';
import type { PsiReading } from '../../src/io/psi.ts';
import { pressure } from '../signals/helpers.ts';

describe('withGlobalShortage', () => {
  it('reads zoneinfo for triggers, samples and probes with new stall, not for probes without', async () => {
    let reads = 0;
    const read = (() => {
      reads++;
      return undefined;
    }) as ReturnType<typeof makeZoneinfoReader>;
    const probe = (atMs: number, us: number): PsiReading => ({ type: 'psi.probe', atMs, pressure: pressure(us) });
    const readings: PsiReading[] = [
      { type: 'psi.sample', atMs: 0, pressure: pressure(0) },
      probe(100, 0),
      probe(200, 0), // no stall since: no read
      probe(300, 800), // stall: read
      probe(400, 800), // none again: no read
      { type: 'psi.trigger', atMs: 450, pressure: pressure(900) },
    ];
    const out = await lastValueFrom(from(readings).pipe(withGlobalShortage(read, defaultGuestConfig()), toArray()));
    expect(out).toHaveLength(6);
    expect(reads).toBe(4);
  });
});
