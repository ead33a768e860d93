/**
 * The guest kernel's user-visible files, simulated, for the REAL source drivers
 * (src/io/psi.ts makePsiSource, src/io/meminfo.ts makeMeminfoSource):
 * - /proc/pressure/memory: read gives the PsiModel's text; opened read-write, one write of
 *   "<some|full> <threshold_us> <window_us>" ending in \n or \0 arms a trigger (EINVAL for a
 *   bad line or window, EBUSY for a second trigger on the fd). Privileged writers (the
 *   simulated daemon holds CAP_SYS_RESOURCE unless told otherwise) get 500 ms..10 s windows
 *   evaluated continuously; others only multiples of 2 s, evaluated by the averaging worker.
 * - epoll: a fired trigger reaches the fd's listener as EPOLLPRI after `pollDelayMs`
 *   (measured in a real guest: 16-71 ms on a cgroup file, ~0.2 s more system-wide).
 * - /proc/meminfo: "Name:   <kB> kB" lines generated from the guest model.
 */
import type { EpollFactory } from '../io/psi.ts';
import type { PsiFs } from '../io/psi-trigger.ts';
import type { VirtualClock } from './clock.ts';
import type { GuestModel } from './guest.ts';
import type { PsiModel } from './psi.ts';

const EPOLLPRI = 2;
const CAP_SYS_RESOURCE = 24n;

export interface SimKernelOptions {
  privileged?: boolean;
  pollDelayMs?: number;
}

export interface SimKernel {
  fs: PsiFs;
  epoll: EpollFactory;
  capEff: bigint;
  readText(path: string): string;
}

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export function meminfoText(guest: GuestModel): string {
  const m = guest.meminfo();
  const kb = (b: number) => Math.max(0, Math.round(b / 1024));
  const rows: [string, number][] = [
    ['MemTotal', m.memTotalBytes],
    ['MemFree', m.memFreeBytes],
    ['MemAvailable', m.memAvailableBytes],
    ['Cached', m.cachedBytes],
    ['Active(file)', m.cachedBytes],
    ['AnonPages', m.anonBytes],
    ['Committed_AS', m.committedAsBytes],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(16)}${String(kb(v)).padStart(8)} kB`).join('\n') + '\n';
}

export function makeSimKernel(clock: VirtualClock, guest: GuestModel, psi: PsiModel, opts: SimKernelOptions = {}): SimKernel {
  const privileged = opts.privileged ?? true;
  const pollDelayMs = opts.pollDelayMs ?? 40;
  let nextFd = 100;
  const fds = new Map<number, { untrigger?: () => void }>();
  const listeners = new Map<number, (err: Error | null, fd: number, events: number) => void>();

  const readText = (path: string): string => {
    if (path.endsWith('/pressure/memory')) return psi.text();
    if (path.endsWith('/meminfo')) return meminfoText(guest);
    if (path.endsWith('/self/status')) return `CapEff:\t${(privileged ? 1n << CAP_SYS_RESOURCE : 0n).toString(16).padStart(16, '0')}\n`;
    throw errno('ENOENT', path);
  };

  const fs: PsiFs = {
    openRdwr(path) {
      if (!path.endsWith('/pressure/memory')) throw errno('ENOENT', path);
      const fd = nextFd++;
      fds.set(fd, {});
      return fd;
    },
    write(fd, text) {
      const f = fds.get(fd);
      if (!f) throw errno('EBADF', String(fd));
      if (f.untrigger) throw errno('EBUSY', 'trigger already armed');
      const m = /^(some|full) (\d+) (\d+)[\n\0]$/.exec(text);
      if (!m) throw errno('EINVAL', JSON.stringify(text));
      const thresholdUs = Number(m[2]);
      const windowUs = Number(m[3]);
      const windowOk = privileged ? windowUs >= 500_000 && windowUs <= 10_000_000 : windowUs % 2_000_000 === 0 && windowUs > 0 && windowUs <= 10_000_000;
      if (!windowOk || thresholdUs === 0 || thresholdUs > windowUs) throw errno('EINVAL', `window ${windowUs} us`);
      f.untrigger = psi.addTrigger({
        kind: m[1] as 'some' | 'full',
        mode: privileged ? 'rtpoll' : 'avgs',
        thresholdUs,
        windowUs,
        onEvent: () => clock.setTimeout(() => listeners.get(fd)?.(null, fd, EPOLLPRI), pollDelayMs),
      });
    },
    close(fd) {
      fds.get(fd)?.untrigger?.();
      fds.delete(fd);
      listeners.delete(fd);
    },
    readText,
  };

  const epoll: EpollFactory = (cb) => {
    const mine = new Set<number>();
    return {
      add: (fd: number) => {
        mine.add(fd);
        listeners.set(fd, cb);
      },
      remove: (fd: number) => {
        mine.delete(fd);
        listeners.delete(fd);
      },
      close: () => {
        for (const fd of mine) listeners.delete(fd);
        mine.clear();
      },
    };
  };

  return { fs, epoll, capEff: privileged ? 1n << CAP_SYS_RESOURCE : 0n, readText };
}
