/** Runs both self-protection steps and logs what the daemon could and could not do. */
import type { Logger } from '../io/log.ts';
import { loadMlock2, lockCodePages, setOomScoreAdj, type LockResult, type OomResult } from '../io/self-protect.ts';

export interface ProtectionReport {
  oom: OomResult & { wanted: number };
  lock: LockResult | { ok: false; method: 'none'; error: string };
}

export async function protectSelf(opts: { oomScoreAdj: number; lockMemory: boolean; procRoot?: string }, log?: Logger): Promise<ProtectionReport> {
  const oom = { ...setOomScoreAdj(opts.oomScoreAdj, opts.procRoot), wanted: opts.oomScoreAdj };
  const lock: ProtectionReport['lock'] = opts.lockMemory ? lockCodePages(await loadMlock2(), opts.procRoot) : { ok: false, method: 'none', error: 'disabled (memory.lockMemory: false)' };
  if (log) {
    const l = log.child({ component: 'self-protect' });
    if (oom.ok) l.info({ oomScoreAdj: oom.value }, 'oom_score_adj set');
    else l.warn({ wanted: oom.wanted, current: oom.value, err: oom.error }, 'oom_score_adj not set');
    if (lock.ok) l.info({ ...lock }, 'code pages locked');
    else l.warn({ ...lock }, 'code pages not (fully) locked');
  }
  return { oom, lock };
}
