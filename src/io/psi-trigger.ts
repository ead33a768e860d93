/**
 * Arming PSI triggers and choosing the PSI mode. The kernel's rules (kernel/sched/psi.c):
 * open O_RDWR, ONE write of "<some|full> <threshold_us> <window_us>" ending in "\n"
 * (the kernel overwrites the last byte; without a terminator: EINVAL), then POLLPRI.
 * A second write on the same fd is EBUSY; a read-only fd is EBADF. Writers without
 * CAP_SYS_RESOURCE may only use windows that are multiples of 2 s (the averaging
 * worker evaluates them); others get EINVAL.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export type PsiMode = 'rtpoll' | 'avgs' | 'polling';

export interface PsiFs {
  openRdwr(path: string): number;
  write(fd: number, text: string): void;
  close(fd: number): void;
  readText(path: string): string;
}

export const realPsiFs: PsiFs = {
  openRdwr: (p) => openSync(p, 'r+'),
  write: (fd, text) => {
    writeSync(fd, text);
  },
  close: (fd) => closeSync(fd),
  readText: (p) => readFileSync(p, 'utf8'),
};

export type TriggerErrorCode = 'EINVAL' | 'EBUSY' | 'EBADF' | 'EPERM' | 'ENOENT' | 'EOPNOTSUPP' | 'OTHER';

export interface TriggerError {
  code: TriggerErrorCode;
  message: string;
}

/** What each errno means when arming a trigger, in words an operator can act on. */
const MEANING: Record<TriggerErrorCode, string> = {
  EINVAL: 'the kernel refused this threshold/window (unprivileged writers need windows that are multiples of 2 s; the privileged floor is 500 ms on many kernels)',
  EBUSY: 'a trigger is already armed on this file descriptor',
  EBADF: 'the pressure file was not opened for writing',
  EPERM: 'no permission to write the pressure file',
  ENOENT: 'no such pressure file (kernel without CONFIG_PSI, booted with psi=0, or the cgroup does not exist)',
  EOPNOTSUPP: 'PSI is disabled in this kernel (psi=0)',
  OTHER: 'unexpected error',
};

function toTriggerError(err: unknown, what: string): TriggerError {
  const raw = (err as NodeJS.ErrnoException).code ?? '';
  const code: TriggerErrorCode =
    raw === 'EACCES' ? 'EPERM' : (['EINVAL', 'EBUSY', 'EBADF', 'EPERM', 'ENOENT', 'EOPNOTSUPP'] as string[]).includes(raw) ? (raw as TriggerErrorCode) : 'OTHER';
  return { code, message: `${what}: ${raw || (err as Error).message}: ${MEANING[code]}` };
}

export type ArmResult = { ok: true; fd: number } | { ok: false; error: TriggerError };

/** Opens `path` and arms one trigger on it; the caller owns (and must close) the fd. */
export function armTrigger(fs: PsiFs, path: string, kind: 'some' | 'full', thresholdUs: number, windowUs: number): ArmResult {
  let fd: number;
  try {
    fd = fs.openRdwr(path);
  } catch (err) {
    return { ok: false, error: toTriggerError(err, `open ${path}`) };
  }
  try {
    fs.write(fd, `${kind} ${thresholdUs} ${windowUs}\n`);
    return { ok: true, fd };
  } catch (err) {
    fs.close(fd);
    return { ok: false, error: toTriggerError(err, `arm "${kind} ${thresholdUs} ${windowUs}" on ${path}`) };
  }
}

const CAP_SYS_RESOURCE = 24;

/**
 * Format of /proc/self/status's capability line: `CapEff:\t000001fffeffffff` (hex bitmask,
 * bit N = capability N). Returns undefined when the line is missing or not hex.
 */
export function parseCapEff(statusText: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

export function hasCapability(capEff: bigint | undefined, cap: number): boolean {
  return capEff !== undefined && ((capEff >> BigInt(cap)) & 1n) === 1n;
}

export interface PsiModeConfig {
  psiMode: 'auto' | PsiMode;
  psiWindowUs: number;
  psiThresholdUs: number;
  psiAvgsWindowUs: number;
  psiAvgsThresholdUs: number;
}

export interface PsiModeChoice {
  mode: PsiMode | 'unavailable';
  reason: string;
  /** The armed trigger (rtpoll/avgs): the caller owns it. */
  fd?: number;
  windowUs?: number;
  thresholdUs?: number;
  /** Every refused attempt, in order. */
  refused: TriggerError[];
}

export interface ChooseModeDeps {
  fs: PsiFs;
  /** Whether the epoll addon loaded: without POLLPRI delivery a trigger is useless. */
  haveEpoll: boolean;
  /** CapEff of this process (parseCapEff of /proc/self/status). */
  capEff: bigint | undefined;
}

/**
 * rtpoll, then avgs, then polling: each step down is taken only with the kernel's (or the
 * platform's) reason for refusing the previous one. The probe calls this too, and closes
 * the fd at once.
 */
export function choosePsiMode(cfg: PsiModeConfig, path: string, deps: ChooseModeDeps): PsiModeChoice {
  const refused: TriggerError[] = [];
  try {
    deps.fs.readText(path);
  } catch (err) {
    const e = toTriggerError(err, `read ${path}`);
    return { mode: 'unavailable', reason: e.message, refused: [e] };
  }
  if (cfg.psiMode === 'polling') return { mode: 'polling', reason: 'configured (signals.psiMode: polling)', refused };
  if (!deps.haveEpoll) {
    return { mode: 'polling', reason: 'the epoll addon is not available: no way to wait for POLLPRI, reading `total` at an interval instead', refused };
  }
  const privileged = hasCapability(deps.capEff, CAP_SYS_RESOURCE);
  const priv = privileged ? 'CAP_SYS_RESOURCE held' : 'no CAP_SYS_RESOURCE';
  if (cfg.psiMode === 'auto' || cfg.psiMode === 'rtpoll') {
    const twoSecondMultiple = cfg.psiWindowUs % 2_000_000 === 0;
    // Unprivileged writers get a 2 s-multiple window accepted, but evaluated by the slow
    // averaging worker: calling that rtpoll would lie about the latency.
    if (privileged || !twoSecondMultiple) {
      const r = armTrigger(deps.fs, path, 'some', cfg.psiThresholdUs, cfg.psiWindowUs);
      if (r.ok && privileged) {
        return { mode: 'rtpoll', reason: `${priv}: real-time trigger with a ${cfg.psiWindowUs / 1000} ms window accepted`, fd: r.fd, windowUs: cfg.psiWindowUs, thresholdUs: cfg.psiThresholdUs, refused };
      }
      if (r.ok) deps.fs.close(r.fd);
      else refused.push(r.error);
    }
  }
  if (cfg.psiMode !== 'rtpoll') {
    const r = armTrigger(deps.fs, path, 'some', cfg.psiAvgsThresholdUs, cfg.psiAvgsWindowUs);
    if (r.ok) {
      const last = refused.at(-1);
      const why = last ? `${priv}: the kernel refused the ${cfg.psiWindowUs / 1000} ms window (${last.code}); ` : `${priv}: `;
      return { mode: 'avgs', reason: `${why}trigger with a ${cfg.psiAvgsWindowUs / 1000} ms window evaluated by the 2 s averaging worker`, fd: r.fd, windowUs: cfg.psiAvgsWindowUs, thresholdUs: cfg.psiAvgsThresholdUs, refused };
    }
    refused.push(r.error);
  }
  return { mode: 'polling', reason: `${priv}: no trigger could be armed (${refused.map((e) => e.code).join(', ')}): reading \`total\` at an interval`, refused };
}
