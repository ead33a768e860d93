/**
 * /proc/meminfo as an Observable of samples: parsed fully (every field, kB -> bytes),
 * sampled at an interval, faster for a while after a hint on `fast$` (lmkd's pattern:
 * after a pressure event, look closely for one window).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable} from 'rxjs';
import { asyncScheduler, concat, defer, EMPTY, map, startWith, switchMap, takeUntil, throttleTime, timer, type SchedulerLike } from 'rxjs';

export interface Meminfo {
  /** Every field by its kernel name, in bytes (fields in kB) or as a count (HugePages_*). */
  fields: Record<string, number>;
  memTotalBytes: number;
  /** MemAvailable; kernels before 3.14 lack it: MemFree + Cached then stands in. */
  memAvailableBytes: number;
}

export type MeminfoParseErrorCode = 'empty' | 'truncated' | 'garbled' | 'missing-field';
export interface MeminfoParseError {
  code: MeminfoParseErrorCode;
  message: string;
}
export type MeminfoParseResult = { ok: true; value: Meminfo } | { ok: false; error: MeminfoParseError };

const CODE_0 = 48;
const CODE_9 = 57;
const SPACE = 32;
const TAB = 9;

function garbled(line: string, why = 'unexpected meminfo line'): MeminfoParseResult {
  return { ok: false, error: { code: 'garbled', message: `${why}: ${JSON.stringify(line.slice(0, 80))}` } };
}

/**
 * Format (fs/proc/meminfo.c): one `Name:   <value> kB` per line; the HugePages_* counts
 * have no unit (any other field without `kB` is a cut-short read). Values with `kB` are
 * KiB. Any line not of that shape, or a read missing MemTotal, is an error: a truncated
 * read must not look like memory vanished; so is a read not ending in "\n" (the kernel
 * ends every line with one). Scanned by hand rather than by regex: the
 * daemon parses this file up to ten times a second while memory is short.
 */
export function parseMeminfo(text: string): MeminfoParseResult {
  if (text.trim() !== '' && !text.endsWith('\n')) return { ok: false, error: { code: 'truncated', message: 'meminfo read does not end with a newline (cut short)' } };
  const fields: Record<string, number> = {};
  let seen = 0;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    if (end > pos) {
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon >= end) return garbled(text.slice(pos, end));
      const name = text.slice(pos, colon);
      let i = colon + 1;
      while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
      const digitsStart = i;
      let value = 0;
      while (i < end) {
        const c = text.charCodeAt(i);
        if (c < CODE_0 || c > CODE_9) break;
        value = value * 10 + (c - CODE_0);
        i++;
      }
      if (i === digitsStart) return garbled(text.slice(pos, end));
      const rest = text.slice(i, end).trim();
      if (rest === 'kB') value *= 1024;
      else if (rest !== '' || !name.startsWith('HugePages_')) {
        if (rest !== '') return garbled(text.slice(pos, end));
        return garbled(text.slice(pos, end), `meminfo field ${name} without unit (truncated read?)`);
      }
      fields[name] = value;
      seen++;
    }
    pos = end + 1;
  }
  if (seen === 0) return { ok: false, error: { code: 'empty', message: 'meminfo is empty' } };
  const total = fields.MemTotal;
  if (total === undefined) return { ok: false, error: { code: 'missing-field', message: 'meminfo has no MemTotal' } };
  const available = fields.MemAvailable ?? (fields.MemFree !== undefined && fields.Cached !== undefined ? fields.MemFree + fields.Cached : undefined);
  if (available === undefined) return { ok: false, error: { code: 'missing-field', message: 'meminfo has neither MemAvailable nor MemFree+Cached' } };
  return { ok: true, value: { fields, memTotalBytes: total, memAvailableBytes: available } };
}

export type MeminfoReading =
  | { type: 'meminfo'; atMs: number; meminfo: Meminfo }
  | { type: 'meminfo.error'; atMs: number; code: MeminfoParseErrorCode | 'unreadable'; message: string };

export interface MeminfoSourceConfig {
  meminfoIntervalMs: number;
  meminfoFastIntervalMs: number;
  meminfoFastForMs: number;
}

export interface MeminfoSourceDeps {
  procRoot?: string;
  scheduler?: SchedulerLike;
  /** Each emission switches to fast sampling for meminfoFastForMs (restarting the period). */
  fast$?: Observable<unknown>;
  /** Injected for tests; default reads the file synchronously (a small procfs read). */
  readText?: (path: string) => string;
}

export function readMeminfoOnce(path: string, atMs: number, readText: (p: string) => string = (p) => readFileSync(p, 'utf8')): MeminfoReading {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    return { type: 'meminfo.error', atMs, code: 'unreadable', message: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const res = parseMeminfo(text);
  return res.ok ? { type: 'meminfo', atMs, meminfo: res.value } : { type: 'meminfo.error', atMs, ...res.error };
}

export function makeMeminfoSource(cfg: MeminfoSourceConfig, deps: MeminfoSourceDeps = {}): Observable<MeminfoReading> {
  const scheduler = deps.scheduler ?? asyncScheduler;
  const path = join(deps.procRoot ?? '/proc', 'meminfo');
  const slow = cfg.meminfoIntervalMs;
  const fast = Math.min(cfg.meminfoFastIntervalMs, slow);
  const ticks$ = (deps.fast$ ?? EMPTY).pipe(
    // Hints arrive in bursts (every falling sample is one): at most one restart of the
    // fast period per period, and one more at its end if hints kept coming.
    throttleTime(cfg.meminfoFastForMs, scheduler, { leading: true, trailing: true }),
    map(() => 'fast' as const),
    startWith('slow' as const),
    switchMap((speed) =>
      speed === 'slow'
        ? timer(0, slow, scheduler)
        : concat(timer(0, fast, scheduler).pipe(takeUntil(timer(cfg.meminfoFastForMs, scheduler))), timer(fast, slow, scheduler)),
    ),
  );
  return defer(() => ticks$.pipe(map(() => readMeminfoOnce(path, scheduler.now(), deps.readText))));
}
