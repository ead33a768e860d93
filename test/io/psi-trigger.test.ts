import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { armTrigger, choosePsiMode, hasCapability, parseCapEff, realPsiFs, type PsiFs, type PsiModeConfig } from '../../src/io/psi-trigger.ts';

const PRESSURE = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
const cfg: PsiModeConfig = { psiMode: 'auto', psiWindowUs: 500_000, psiThresholdUs: 50_000, psiAvgsWindowUs: 2_000_000, psiAvgsThresholdUs: 100_000 };
const WITH_RES = 1n << 24n;
const WITHOUT_RES = 0x1fffeffffffn;

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** A kernel double: accepts a write when `accept` says so, else throws the errno it returns. */
function fakeFs(opts: { accept: (text: string) => string | null; read?: () => string; open?: () => string | null }) {
  const writes: string[] = [];
  const closed: number[] = [];
  let next = 10;
  const fs: PsiFs = {
    openRdwr: () => {
      const e = opts.open?.();
      if (e) throw errno(e);
      return next++;
    },
    write: (_fd, text) => {
      writes.push(text);
      const e = opts.accept(text);
      if (e) throw errno(e);
    },
    close: (fd) => {
      closed.push(fd);
    },
    readText: () => (opts.read ? opts.read() : PRESSURE),
  };
  return { fs, writes, closed };
}

/** The kernel's rule for unprivileged writers: windows in 2 s multiples only. */
const unprivilegedKernel = (text: string) => (Number(text.trim().split(' ')[2]) % 2_000_000 === 0 ? null : 'EINVAL');

describe('choosing the PSI mode', () => {
  it('uses rtpoll with the configured window when CAP_SYS_RESOURCE is held and the kernel accepts it', () => {
    const { fs, writes } = fakeFs({ accept: () => null });
    const c = choosePsiMode(cfg, '/p', { fs, haveEpoll: true, capEff: WITH_RES });
    expect(c).toMatchObject({ mode: 'rtpoll', windowUs: 500_000, thresholdUs: 50_000, fd: 10 });
    expect(writes).toEqual(['some 50000 500000\n']);
  });

  it('falls to avgs without CAP_SYS_RESOURCE, naming the refusal (EINVAL for a 500 ms window)', () => {
    const { fs, writes, closed } = fakeFs({ accept: unprivilegedKernel });
    const c = choosePsiMode(cfg, '/p', { fs, haveEpoll: true, capEff: WITHOUT_RES });
    expect(c.mode).toBe('avgs');
    expect(c.windowUs).toBe(2_000_000);
    expect(c.reason).toMatch(/no CAP_SYS_RESOURCE.*EINVAL/);
    expect(c.refused.map((e) => e.code)).toEqual(['EINVAL']);
    expect(writes).toEqual(['some 50000 500000\n', 'some 100000 2000000\n']);
    expect(closed).toEqual([10]);
  });

  it('does not call an unprivileged 2 s window rtpoll', () => {
    const { fs } = fakeFs({ accept: unprivilegedKernel });
    const c = choosePsiMode({ ...cfg, psiWindowUs: 2_000_000 }, '/p', { fs, haveEpoll: true, capEff: WITHOUT_RES });
    expect(c.mode).toBe('avgs');
  });

  it.each([['EPERM'], ['EACCES'], ['EBUSY'], ['EBADF']])('falls to polling when arming fails with %s', (code) => {
    const { fs } = fakeFs({ accept: () => code });
    const c = choosePsiMode(cfg, '/p', { fs, haveEpoll: true, capEff: WITH_RES });
    expect(c.mode).toBe('polling');
    expect(c.refused.length).toBe(2);
    expect(c.refused[0]?.code).toBe(code === 'EACCES' ? 'EPERM' : code);
  });

  it('polls without the epoll addon, and says why', () => {
    const { fs, writes } = fakeFs({ accept: () => null });
    const c = choosePsiMode(cfg, '/p', { fs, haveEpoll: false, capEff: WITH_RES });
    expect(c.mode).toBe('polling');
    expect(c.reason).toMatch(/epoll/);
    expect(writes).toEqual([]);
  });

  it('reports PSI unavailable when the file cannot be read (no CONFIG_PSI, psi=0)', () => {
    const { fs } = fakeFs({ accept: () => null, read: () => { throw errno('EOPNOTSUPP'); } });
    const c = choosePsiMode(cfg, '/p', { fs, haveEpoll: true, capEff: WITH_RES });
    expect(c.mode).toBe('unavailable');
    expect(c.reason).toMatch(/disabled/);
  });

  it('honours a configured mode', () => {
    const { fs } = fakeFs({ accept: () => null });
    expect(choosePsiMode({ ...cfg, psiMode: 'polling' }, '/p', { fs, haveEpoll: true, capEff: WITH_RES }).mode).toBe('polling');
  });
});

describe('capabilities', () => {
  it('reads CapEff as a bitmask', () => {
    const cap = parseCapEff('Name:\tnode\nCapEff:\t000001fffeffffff\n');
    expect(hasCapability(cap, 24)).toBe(false);
    expect(hasCapability(cap, 14)).toBe(true);
    expect(parseCapEff('garbage')).toBeUndefined();
  });
});

describe('on the real kernel', () => {
  const file = '/proc/pressure/memory';
  let ok = false;
  try {
    readFileSync(file);
    ok = true;
  } catch {
    console.log(`skip: ${file} not readable (kernel without PSI)`);
  }

  it.skipIf(!ok)('refuses an unterminated trigger write with EINVAL and a second trigger on one fd with EBUSY', () => {
    const ARM_OK = 'some 100000 2000000\n';
    const armed = armTrigger(realPsiFs, file, 'some', 100000, 2000000);
    expect(armed.ok).toBe(true);
    if (!armed.ok) return;
    try {
      expect(() => realPsiFs.write(armed.fd, ARM_OK)).toThrow(/EBUSY/);
    } finally {
      realPsiFs.close(armed.fd);
    }
    const fd = realPsiFs.openRdwr(file);
    try {
      expect(() => realPsiFs.write(fd, 'some 100000 2000000')).toThrow(/EINVAL/);
    } finally {
      realPsiFs.close(fd);
    }
  });

  it.skipIf(!ok)('chooses avgs here when CAP_SYS_RESOURCE is missing, rtpoll when it is held', () => {
    const capEff = parseCapEff(readFileSync('/proc/self/status', 'utf8'));
    const c = choosePsiMode(cfg, file, { fs: realPsiFs, haveEpoll: true, capEff });
    if (c.fd !== undefined) realPsiFs.close(c.fd);
    expect(c.mode).toBe(hasCapability(capEff, 24) ? 'rtpoll' : 'avgs');
  });
});
