/**
 * Self-protection of the daemon: it must keep running in the thrashing it exists to
 * prevent (measured here: a Node watcher's 100 ms timer stretched to seconds while its
 * code pages were evicted and re-read).
 *
 * 1. oom_score_adj = -1000 for this process only. Children inherit it, and a child that
 *    eats memory would leave the kernel nothing to kill (panic). The daemon spawns no
 *    children; anything that ever does must write 0 to the child's oom_score_adj.
 *    Lowering it needs CAP_SYS_RESOURCE: refused (EACCES) on this machine kind.
 * 2. Lock the pages that thrashing evicts. mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT) and
 *    even mlockall(MCL_CURRENT|MCL_ONFAULT) return 0 here and then V8 aborts ("Check
 *    failed: 0 == ret" in OS::SetPermissions: mprotect of locked JIT/heap ranges fails).
 *    What thrashing takes away without swap is file-backed pages: node's and the shared
 *    libraries' code and read-only data (anonymous memory cannot be evicted without
 *    swap). So we mlock2(MLOCK_ONFAULT) exactly those mappings from /proc/self/maps: V8
 *    never mprotects them, ONFAULT locks only pages that were or will be touched (RSS
 *    does not jump by the size of the binary), and a refusal (RLIMIT_MEMLOCK without
 *    CAP_IPC_LOCK) is logged, never fatal. Anonymous memory stays unlocked: with swap it
 *    could be swapped out; cgroup memory.min / systemd MemoryMin= is the tool for that.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  path: string;
}

/**
 * /proc/<pid>/maps format, one mapping per line:
 *   55d0c1a00000-55d0c1c00000 r-xp 00200000 fe:01 1234   /usr/bin/node
 * start-end (hex), perms (rwxp/s), offset (hex), dev, inode, optional path (may contain
 * spaces, or be [heap]/[stack]/[anon:...]). Lines that do not match are skipped.
 */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+([rwxsp-]{4})\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), perms: m[3] as string, offset: BigInt(`0x${m[4]}`), path: (m[5] ?? '').trim() });
  }
  return out;
}

/** File-backed, not writable: code and read-only data that reclaim drops and re-reads. */
export function lockableMappings(maps: Mapping[]): Mapping[] {
  return maps.filter((m) => m.path.startsWith('/') && !m.path.endsWith(' (deleted)') && m.perms[1] !== 'w' && m.perms[0] === 'r');
}

export interface OomResult {
  ok: boolean;
  value?: number;
  error?: string;
}

export function setOomScoreAdj(value: number, procRoot = '/proc'): OomResult {
  const path = join(procRoot, 'self/oom_score_adj');
  try {
    writeFileSync(path, `${value}\n`);
    const read = Number(readFileSync(path, 'utf8').trim());
    return read === value ? { ok: true, value: read } : { ok: false, value: read, error: `wrote ${value}, kernel keeps ${read}` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let current: number | undefined;
    try {
      current = Number(readFileSync(path, 'utf8').trim());
    } catch {
      current = undefined;
    }
    // The kernel lets a process lower its oom_score_adj below oom_score_adj_min only with CAP_SYS_RESOURCE.
    const why = code === 'EACCES' || code === 'EPERM' ? ' (lowering oom_score_adj needs CAP_SYS_RESOURCE)' : '';
    return { ok: false, value: current, error: `${path}: ${code ?? (err as Error).message}${why}` };
  }
}

export interface LockResult {
  ok: boolean;
  /** What was done: "mlock2-onfault" on file-backed mappings, or "none". */
  method: 'mlock2-onfault' | 'none';
  lockedMappings: number;
  lockedBytes: number;
  failedMappings: number;
  rssBeforeKiB?: number;
  rssAfterKiB?: number;
  vmLckKiB?: number;
  error?: string;
  /** Why mlockall is not used: it crashes V8 (kept in logs so operators do not re-try it). */
  note: string;
}

const MLOCK_ONFAULT = 1;
const NOTE = 'mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT) is not used: V8 then aborts in OS::SetPermissions (mprotect on locked memory)';

/** VmRSS and VmLck from /proc/self/status (`VmRSS:\t  46384 kB`). */
export function parseStatusKiB(text: string, field: 'VmRSS' | 'VmLck' | 'VmHWM'): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export type Mlock2 = (addr: bigint, len: number, flags: number) => { ret: number; errno: number };

/** koffi binding of mlock2(2); null where koffi or libc cannot be loaded. */
export async function loadMlock2(): Promise<Mlock2 | null> {
  try {
    const koffi = (await import('koffi')).default;
    const libc = koffi.load('libc.so.6');
    const fn = libc.func('int mlock2(uintptr_t addr, size_t len, unsigned int flags)');
    const errnoLoc = libc.func('int *__errno_location()');
    return (addr, len, flags) => {
      const ret = fn(addr, len, flags) as number;
      const errno = ret === 0 ? 0 : (koffi.decode(errnoLoc(), 'int') as number);
      return { ret, errno };
    };
  } catch {
    return null;
  }
}

const ERRNO: Record<number, string> = { 1: 'EPERM', 11: 'EAGAIN', 12: 'ENOMEM', 22: 'EINVAL', 38: 'ENOSYS' };

export function lockCodePages(mlock2: Mlock2 | null, procRoot = '/proc'): LockResult {
  const status = () => {
    try {
      return readFileSync(join(procRoot, 'self/status'), 'utf8');
    } catch {
      return '';
    }
  };
  const before = parseStatusKiB(status(), 'VmRSS');
  if (!mlock2) return { ok: false, method: 'none', lockedMappings: 0, lockedBytes: 0, failedMappings: 0, rssBeforeKiB: before, error: 'koffi/libc mlock2 not available', note: NOTE };
  let maps: Mapping[];
  try {
    maps = lockableMappings(parseMaps(readFileSync(join(procRoot, 'self/maps'), 'utf8')));
  } catch (err) {
    return { ok: false, method: 'none', lockedMappings: 0, lockedBytes: 0, failedMappings: 0, error: `maps: ${(err as Error).message}`, note: NOTE };
  }
  let locked = 0;
  let bytes = 0;
  let failed = 0;
  let firstError: string | undefined;
  for (const m of maps) {
    const len = Number(m.end - m.start);
    const r = mlock2(m.start, len, MLOCK_ONFAULT);
    if (r.ret === 0) {
      locked++;
      bytes += len;
    } else {
      failed++;
      firstError ??= `mlock2 ${m.path}: ${ERRNO[r.errno] ?? `errno ${r.errno}`}${r.errno === 12 || r.errno === 1 ? ' (RLIMIT_MEMLOCK without CAP_IPC_LOCK)' : ''}`;
    }
  }
  const after = status();
  return {
    ok: failed === 0 && locked > 0,
    method: locked > 0 ? 'mlock2-onfault' : 'none',
    lockedMappings: locked,
    lockedBytes: bytes,
    failedMappings: failed,
    rssBeforeKiB: before,
    rssAfterKiB: parseStatusKiB(after, 'VmRSS'),
    vmLckKiB: parseStatusKiB(after, 'VmLck'),
    error: firstError,
    note: NOTE,
  };
}
