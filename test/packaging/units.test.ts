/**
 * The systemd units parse and carry the settings the daemon's safety depends on. Where
 * systemd-analyze exists (here, and in CI here) the units are verified by systemd itself,
 * with ExecStart pointed at an executable that exists on this machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const units = ['memresize-guest.service', 'memresize-host.service'];
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
if (!analyze) console.log('skipping systemd-analyze verify: systemd-analyze is not installed');

function directives(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const hit = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (hit) m.set(hit[1]!, [...(m.get(hit[1]!) ?? []), hit[2]!]);
  }
  return m;
}

describe('systemd units', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'memresize-units-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('protect the guest daemon from the OOM killer and from reclaim, and restart it on failure', () => {
    const d = directives(readFileSync(join(root, 'packaging', units[0]!), 'utf8'));
    expect(d.get('OOMScoreAdjust')).toEqual(['-1000']);
    expect(d.get('MemoryMin')?.[0]).toMatch(/^\d+M$/);
    expect(d.get('Restart')).toEqual(['on-failure']);
    expect(d.get('NoNewPrivileges')).toEqual(['yes']);
    expect(d.get('ProtectSystem')).toEqual(['strict']);
    expect(d.get('ReadWritePaths')).toEqual(['/sys/devices/system/memory']);
    expect(d.get('CapabilityBoundingSet')?.[0]).toContain('CAP_SYS_RESOURCE');
    expect(d.get('ExecReload')?.[0]).toContain('-HUP');
    expect(d.has('MemoryDenyWriteExecute')).toBe(false); // V8's JIT needs W+X pages
  });

  it.skipIf(!analyze)('pass systemd-analyze verify', () => {
    for (const unit of units) {
      const text = readFileSync(join(root, 'packaging', unit), 'utf8').replace(/^ExecStart=\/usr\/bin\/memresize/m, `ExecStart=${process.execPath} ${join(root, 'bin', 'memresize.js')}`);
      const file = join(tmp, unit);
      writeFileSync(file, text);
      const res = spawnSync(analyze!, ['verify', '--man=no', file], { encoding: 'utf8' });
      // Lines about other units on this machine are not ours to judge.
      const ours = `${res.stdout}\n${res.stderr}`.split('\n').filter((l) => l.includes(unit) || l.includes(file));
      expect(ours, `${unit}: ${res.stderr}`).toEqual([]);
      expect(res.status, res.stderr).toBe(0);
    }
  });
});
