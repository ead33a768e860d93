/**
 * The PSI source: one Observable of readings of a pressure file, in the best mode the
 * kernel grants (see psi-trigger.ts). The first reading names the mode and why, so the
 * daemon logs it once. In trigger modes the watched file is read only at start, after
 * each event and every `relaxedCheckIntervalMs`: reading it often suppresses
 * unprivileged trigger events (measured on this machine kind). In rtpoll and polling modes
 * it is also read every `psiProbeIntervalMs` while the daemon probes (see `probe$`).
 */
import { isAbsolute, join } from 'node:path';
import { asyncScheduler, distinctUntilChanged, EMPTY, interval, Observable, switchMap, type SchedulerLike } from 'rxjs';
import { parsePressure, type Pressure } from './psi-parse.ts';
import { choosePsiMode, parseCapEff, realPsiFs, type PsiFs, type PsiMode, type PsiModeConfig } from './psi-trigger.ts';

export type PsiReading =
  | { type: 'psi.mode'; mode: PsiMode; reason: string; file: string; windowUs?: number; thresholdUs?: number }
  /**
   * A trigger fired; `pressure` is the file read right after (null if that read failed).
   * `globalShortage`, when the composition root could read zoneinfo as it fired, says whether
   * the kernel may be short of memory as a whole (src/policy/reclaim.ts); absent = unknown.
   */
  | { type: 'psi.trigger'; atMs: number; pressure: Pressure | null; globalShortage?: boolean }
  /** A periodic read (polling mode: every interval; trigger modes: rarely, for psi.relaxed). */
  | { type: 'psi.sample'; atMs: number; pressure: Pressure; globalShortage?: boolean }
  /** A read while the daemon probes (rtpoll and polling modes): see src/signals/pressure.ts. */
  | { type: 'psi.probe'; atMs: number; pressure: Pressure; globalShortage?: boolean }
  | { type: 'psi.error'; atMs: number; message: string };

/** EPOLLERR on the trigger fd: the cgroup was removed. Ends the stream. */
export class PsiLostError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'PsiLostError';
  }
}

export interface EpollLike {
  add(fd: number, events: number): unknown;
  remove(fd: number): unknown;
  close(): unknown;
}
export type EpollFactory = (onEvent: (err: Error | null, fd: number, events: number) => void) => EpollLike;

const EPOLLPRI = 2;
const EPOLLERR = 8;

/**
 * Loads the optional `epoll` addon. It is an optionalDependency with a native build:
 * a machine without a compiler installs memresize without it and runs in polling mode.
 */
export async function loadEpoll(): Promise<EpollFactory | null> {
  try {
    // A variable specifier: the addon has no types and may be absent at build time.
    const name = 'epoll';
    const mod = (await import(name)) as unknown as { Epoll?: new (cb: (err: Error | null, fd: number, events: number) => void) => EpollLike; default?: { Epoll: new (cb: (err: Error | null, fd: number, events: number) => void) => EpollLike } };
    const Epoll = mod.Epoll ?? mod.default?.Epoll;
    return Epoll ? (cb) => new Epoll(cb) : null;
  } catch {
    return null;
  }
}

export interface PsiSourceConfig extends PsiModeConfig {
  psiFile: string;
  psiPollIntervalMs: number;
  psiProbeIntervalMs: number;
  relaxedCheckIntervalMs: number;
}

export interface PsiSourceDeps {
  procRoot?: string;
  /** Overrides cfg.psiFile (e.g. a cgroup's memory.pressure in tests). */
  file?: string;
  scheduler?: SchedulerLike;
  /** null/undefined: no addon, polling mode. */
  epoll?: EpollFactory | null;
  fs?: PsiFs;
  /** CapEff bitmask; default read from procRoot/self/status. */
  capEff?: bigint;
  /** Forces a mode (the daemon's fallback after psi.lost uses 'polling'). */
  forceMode?: PsiMode;
  /**
   * Whether to probe (the daemon's MemAvailable is below a decayed stall floor): while true,
   * the file is read every `psiProbeIntervalMs` into psi.probe readings. Not in avgs mode:
   * there a read advances the averaging that evaluates the trigger, and frequent reads
   * suppress it; the rtpoll trigger is the poll thread's, and polling has no trigger.
   */
  probe$?: Observable<boolean>;
}

export function psiFilePath(cfg: { psiFile: string }, deps: { procRoot?: string; file?: string }): string {
  const f = deps.file ?? cfg.psiFile;
  return isAbsolute(f) ? f : join(deps.procRoot ?? '/proc', f);
}

export function readCapEff(fs: PsiFs, procRoot = '/proc'): bigint | undefined {
  try {
    return parseCapEff(fs.readText(join(procRoot, 'self/status')));
  } catch {
    return undefined;
  }
}

export function makePsiSource(cfg: PsiSourceConfig, deps: PsiSourceDeps = {}): Observable<PsiReading> {
  const scheduler = deps.scheduler ?? asyncScheduler;
  const fs = deps.fs ?? realPsiFs;
  const path = psiFilePath(cfg, deps);
  return new Observable<PsiReading>((sub) => {
    const read = (): Pressure | string => {
      try {
        const r = parsePressure(fs.readText(path));
        return r.ok ? r.value : r.error.message;
      } catch (err) {
        return `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      }
    };
    const emitRead = (kind: 'psi.trigger' | 'psi.sample' | 'psi.probe'): void => {
      const atMs = scheduler.now();
      const p = read();
      if (typeof p !== 'string') sub.next({ type: kind, atMs, pressure: p });
      else {
        if (kind === 'psi.trigger') sub.next({ type: kind, atMs, pressure: null });
        sub.next({ type: 'psi.error', atMs, message: p });
        // A cgroup that vanished makes polling pointless: the caller falls back.
        if (/ENOENT|ENODEV/.test(p)) sub.error(new PsiLostError(`pressure file gone: ${p}`, path));
      }
    };

    const cfgMode: PsiModeConfig = deps.forceMode ? { ...cfg, psiMode: deps.forceMode } : cfg;
    const choice = choosePsiMode(cfgMode, path, { fs, haveEpoll: !!deps.epoll, capEff: deps.capEff ?? readCapEff(fs, deps.procRoot) });
    if (choice.mode === 'unavailable') {
      sub.error(new PsiLostError(`PSI unavailable: ${choice.reason}`, path));
      return;
    }
    sub.next({ type: 'psi.mode', mode: choice.mode, reason: choice.reason, file: path, windowUs: choice.windowUs, thresholdUs: choice.thresholdUs });
    emitRead('psi.sample');

    const probing = () =>
      deps.probe$?.pipe(distinctUntilChanged(), switchMap((on) => (on ? interval(cfg.psiProbeIntervalMs, scheduler) : EMPTY))).subscribe(() => emitRead('psi.probe'));

    if (choice.mode === 'polling' || choice.fd === undefined || !deps.epoll) {
      const tick = interval(cfg.psiPollIntervalMs, scheduler).subscribe(() => emitRead('psi.sample'));
      const probe = probing();
      return () => {
        tick.unsubscribe();
        probe?.unsubscribe();
      };
    }

    const fd = choice.fd;
    let closed = false;
    const epoll = deps.epoll((err, _fd, events) => {
      if (closed) return;
      if (err) {
        sub.error(new PsiLostError(`epoll: ${err.message}`, path));
        return;
      }
      if (events & EPOLLERR) {
        sub.error(new PsiLostError('EPOLLERR on the trigger: the cgroup was removed', path));
        return;
      }
      if (events & EPOLLPRI) emitRead('psi.trigger');
    });
    epoll.add(fd, EPOLLPRI);
    const slow = interval(cfg.relaxedCheckIntervalMs, scheduler).subscribe(() => emitRead('psi.sample'));
    const probe = choice.mode === 'rtpoll' ? probing() : undefined;
    return () => {
      closed = true;
      slow.unsubscribe();
      probe?.unsubscribe();
      try {
        epoll.remove(fd);
      } catch {
        // Already gone with the cgroup.
      }
      epoll.close();
      fs.close(fd);
    };
  });
}
