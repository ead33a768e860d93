import type { Pressure } from '../../src/io/psi-parse.ts';
import type { MeminfoReading } from '../../src/io/meminfo.ts';
import type { PsiReading } from '../../src/io/psi.ts';

export const MiB = 1024 * 1024;

export function pressure(someTotalUs: number, fullTotalUs = 0, avg10 = 0, avg60 = 0): Pressure {
  return { some: { avg10, avg60, avg300: 0, totalUs: someTotalUs }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: fullTotalUs } };
}

export const modeAvgs: PsiReading = { type: 'psi.mode', mode: 'avgs', reason: 'test', file: '/p', windowUs: 2_000_000, thresholdUs: 100_000 };
export const modeRtpoll: PsiReading = { type: 'psi.mode', mode: 'rtpoll', reason: 'test', file: '/p', windowUs: 500_000, thresholdUs: 5_000 };
export const modePolling: PsiReading = { type: 'psi.mode', mode: 'polling', reason: 'test', file: '/p' };

export function meminfo(atMs: number, availableMiB: number, totalMiB = 1024): MeminfoReading {
  return { type: 'meminfo', atMs, meminfo: { fields: {}, memTotalBytes: totalMiB * MiB, memAvailableBytes: availableMiB * MiB } };
}
