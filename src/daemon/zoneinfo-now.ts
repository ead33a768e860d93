/**
 * /proc/zoneinfo read at the moment it matters: when blocks are onlined (how much the kernel
 * zones lack) and when a PSI trigger fires (whether the kernel is short of memory as a whole).
 * Read fresh each time, never from a sample a second old: in a burst, a second is everything.
 * Unreadable or garbled zoneinfo: onlining falls back to the plain auto-movable ratio and
 * every trigger counts, and the daemon says so once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { map, type Observable } from 'rxjs';
import type { GuestConfig } from '../config/schema.ts';
import type { PsiReading } from '../io/psi.ts';
import type { Logger } from '../io/log.ts';
import { parseZoneinfo, type ZoneinfoResult } from '../io/zoneinfo.ts';
import { globalShortage } from '../policy/reclaim.ts';
import { kernelZoneFloorBytes } from '../policy/zones.ts';
import type { PsiLostNotice } from '../signals/index.ts';

export function makeZoneinfoReader(procRoot: string, log: Logger): () => Extract<ZoneinfoResult, { ok: true }> | undefined {
  let warned = false;
  return () => {
    let res: ZoneinfoResult;
    try {
      res = parseZoneinfo(readFileSync(join(procRoot, 'zoneinfo'), 'utf8'));
    } catch (err) {
      res = { ok: false, error: `${join(procRoot, 'zoneinfo')}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    if (res.ok) return res;
    if (!warned) log.warn({ err: res.error }, 'zoneinfo unreadable: onlining by the auto-movable ratio alone, and every PSI trigger is answered');
    warned = true;
    return undefined;
  };
}

/** Free memory of the kernel zones now and the floor to restore, for onlining (src/policy/zones.ts). */
export function kernelZoneNow(read: ReturnType<typeof makeZoneinfoReader>, cfg: GuestConfig): { freeBytes: number; floorBytes: number } | undefined {
  const z = read();
  return z ? { freeBytes: z.zones.kernelFreeBytes, floorBytes: kernelZoneFloorBytes(cfg.policy) } : undefined;
}

/**
 * Marks each trigger, sample and probe with whether the kernel was short of memory as it was
 * read. A probe (every 100 ms while probing) with no stall since the last one cannot be
 * pressure, so it is passed on unmarked rather than paying a zoneinfo read.
 */
export function withGlobalShortage(read: ReturnType<typeof makeZoneinfoReader>, cfg: GuestConfig): <T extends PsiReading | PsiLostNotice>(psi$: Observable<T>) => Observable<T> {
  return (psi$) => {
    let lastProbeStallUs: number | undefined;
    return psi$.pipe(
      map((r) => {
        if (r.type !== 'psi.trigger' && r.type !== 'psi.sample' && r.type !== 'psi.probe') return r;
        if (r.type === 'psi.probe') {
          const stallUs = r.pressure.some.totalUs;
          const still = stallUs === lastProbeStallUs;
          lastProbeStallUs = stallUs;
          if (still) return r;
        }
        const z = read();
        return z ? { ...r, globalShortage: globalShortage(z.headroom, cfg.policy) } : r;
      }),
    );
  };
}
