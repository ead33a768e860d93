import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lockableMappings, parseMaps, parseStatusKiB } from '../../src/io/self-protect.ts';

const MAPS = [
  '55d0c1a00000-55d0c1c00000 r--p 00000000 fe:01 1234   /usr/bin/node',
  '55d0c1c00000-55d0c3c00000 r-xp 00200000 fe:01 1234   /usr/bin/node',
  '55d0c3c00000-55d0c3d00000 rw-p 02200000 fe:01 1234   /usr/bin/node',
  '7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ',
  '7f0000100000-7f0000200000 r-xp 00000000 00:00 0      [anon:v8]',
  '7f0000200000-7f0000300000 r-xp 00000000 fe:01 99     /usr/lib/x86_64-linux-gnu/libc.so.6',
  '7f0000300000-7f0000400000 r-xp 00000000 fe:01 98     /tmp/gone.so (deleted)',
  'garbage line',
].join('\n');

describe('self-protection', () => {
  it('parses /proc/self/maps and picks only file-backed, non-writable mappings', () => {
    const maps = parseMaps(MAPS);
    expect(maps).toHaveLength(7);
    expect(maps[1]).toEqual({ start: 0x55d0c1c00000n, end: 0x55d0c3c00000n, perms: 'r-xp', offset: 0x200000n, path: '/usr/bin/node' });
    expect(lockableMappings(maps).map((m) => `${m.perms} ${m.path}`)).toEqual(['r--p /usr/bin/node', 'r-xp /usr/bin/node', 'r-xp /usr/lib/x86_64-linux-gnu/libc.so.6']);
  });

  it('reads VmRSS and VmLck from status', () => {
    expect(parseStatusKiB('VmLck:\t   93816 kB\nVmRSS:\t  108596 kB\n', 'VmRSS')).toBe(108596);
    expect(parseStatusKiB('nothing', 'VmLck')).toBeUndefined();
  });

  it('locks the code pages of a real node process, which then keeps running (JIT, GC) and exits cleanly', () => {
    // In a child: the lock must not crash V8 (mlockall does, here), before or at exit.
    const script = `
      const { loadMlock2, lockCodePages, setOomScoreAdj } = await import('./src/io/self-protect.ts');
      const r = lockCodePages(await loadMlock2());
      const a = []; for (let i = 0; i < 200; i++) a.push(new Array(50000).fill(i));
      for (let i = 0; i < 200; i++) new Function('x', 'return x*' + i)(i);
      console.log(JSON.stringify({ ok: r.ok, locked: r.lockedMappings, failed: r.failedMappings, error: r.error, vmLck: r.vmLckKiB, before: r.rssBeforeKiB, after: r.rssAfterKiB, oom: setOomScoreAdj(-1000) }));
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd(), timeout: 20_000 });
    expect(res.status).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop() as string) as { ok: boolean; locked: number; failed: number; error?: string; vmLck: number; before: number; after: number; oom: { ok: boolean; error?: string } };
    console.log(`locked ${out.locked} mappings (VmLck ${out.vmLck} KiB), RSS ${out.before} -> ${out.after} KiB, refused ${out.failed}${out.error ? `: ${out.error}` : ''}; oom_score_adj: ${out.oom.ok ? 'set' : out.oom.error}`);
    if (out.locked === 0) {
      // Where locking is refused (no CAP_IPC_LOCK and a small RLIMIT_MEMLOCK) the reason is given.
      expect(out.error).toBeTruthy();
      return;
    }
    expect(out.failed === 0 || !!out.error).toBe(true);
    // ONFAULT: locking code pages must not fault in the whole binary.
    expect(out.after - out.before).toBeLessThan(16 * 1024);
  });
});
