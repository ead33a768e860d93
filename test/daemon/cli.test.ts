import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasCapability, parseCapEff } from '../../src/io/psi-trigger.ts';

const run = (args: string[], timeout = 20_000) => spawnSync(process.execPath, ['bin/memresize.js', ...args], { encoding: 'utf8', timeout });
const psiOk = (() => {
  try {
    readFileSync('/proc/pressure/memory');
    return true;
  } catch {
    console.log('skip: no /proc/pressure/memory');
    return false;
  }
})();

describe('memresize probe', () => {
  it.skipIf(!psiOk)('reports the PSI mode this machine allows, with the reason', () => {
    const res = run(['probe', '--json']);
    expect(res.status).toBe(0);
    const r = JSON.parse(res.stdout) as { psi: { mode: string; reason: string; capSysResource: boolean }; memory: { blockSizeBytes: number }; selfProtection: { oom: unknown; lock: unknown } };
    const privileged = hasCapability(parseCapEff(readFileSync('/proc/self/status', 'utf8')), 24);
    if (privileged) expect(r.psi.mode).toBe('rtpoll');
    else {
      expect(r.psi.mode).toBe('avgs');
      expect(r.psi.reason).toMatch(/no CAP_SYS_RESOURCE/);
    }
    expect(r.selfProtection.oom).toBeDefined();
    expect(r.selfProtection.lock).toBeDefined();
    const text = run(['probe']);
    expect(text.stdout).toMatch(/mode\s+(avgs|rtpoll|polling)/);
    expect(text.stdout).toMatch(/self-protect oom_score_adj/);
    // zoneinfo is readable here: the free memory above the watermarks, and what a trigger would get.
    expect(text.stdout).toMatch(/zones\s+free above the high watermarks .* a PSI trigger now would (be answered|NOT be answered)/);
  });
});

describe('memresize guest --dry-run', () => {
  it('runs the real daemon, reaches ready through the logger link and stops cleanly', () => {
    const res = run(['guest', '--dry-run', '--duration-ms', '2500']);
    expect(res.status).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain('would send hello');
    expect(lines.some((l) => l.msg === 'transition' && l.to === 'ready.idle')).toBe(true);
    if (psiOk) expect(msgs).toContain('psi mode');
    expect(msgs.at(-1)).toBe('guest daemon stopped');
  });

  it('rejects an invalid config with exit 2', () => {
    const res = run(['guest', '--dry-run', '--config', '/nonexistent.yaml']);
    expect(res.status).toBe(2);
  });
});
