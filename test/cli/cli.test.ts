import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { GuestConfigSchema } from '../../src/config/schema.ts';

const root = join(import.meta.dirname, '..', '..');
const fixture = (name: string) => join(root, 'test', 'fixtures', 'config', name);

function run(args: string[]) {
  const res = spawnSync(process.execPath, [join(root, 'bin', 'memresize.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

describe('memresize CLI', () => {
  it('lists every subcommand in --help', () => {
    const { code, out } = run(['--help']);
    expect(code).toBe(0);
    for (const cmd of ['demo', 'check-config']) expect(out).toContain(cmd);
  });

  it('rejects an unknown command and an unknown flag with exit 2', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    expect(await main(['demo', '--no-such-flag'])).toBe(2);
  });

  it('check-config accepts a valid file', () => {
    const { code, out } = run(['check-config', fixture('good-guest.yaml')]);
    expect(out).toContain('valid guest config');
    expect(code).toBe(0);
  });

  it('check-config prints every problem with its path and exits 2', () => {
    const { code, err } = run(['check-config', fixture('bad-guest.yaml')]);
    expect(code).toBe(2);
    expect(err).toMatch(/timng/);
    expect(err).toMatch(/at timing\.ackTimeoutMs/);
    expect(err).toMatch(/at policy\.growStepMinBytes/);
  });

  it('check-config reports unparsable YAML and a missing file clearly', () => {
    const garbled = run(['check-config', fixture('garbled.yaml')]);
    expect(garbled.code).toBe(2);
    expect(garbled.err).toMatch(/not valid YAML/);
    const missing = run(['check-config', fixture('nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read: ENOENT/);
  });

  it('parses size strings into bytes', () => {
    const res = parseConfigText(GuestConfigSchema, 'policy:\n  growStepMinBytes: 64MiB\n  reserveMinBytes: 1G\n');
    expect(res.ok && res.config.policy.growStepMinBytes).toBe(64 * 2 ** 20);
    expect(res.ok && res.config.policy.reserveMinBytes).toBe(2 ** 30);
  });

  it('npm start (sim --demo) runs the real daemon code, visits all five named states and writes the chart', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toBe('node bin/memresize.js sim --demo');
    const { code, out } = run(['sim', '--demo']);
    expect(code).toBe(0);
    for (const state of ['idle', 'awaiting-host', 'growing', 'cooling', 'shrinking']) expect(out).toMatch(new RegExp(`-> ready\\.${state}`));
    expect(out).toMatch(/\| demo \| memresize \|/);
    expect(existsSync(join(root, 'out', 'demo.svg'))).toBe(true);
  });

  it('bench --random runs every policy on random scenarios and writes random.json; a bad count exits 2', () => {
    const out = join(root, 'out', 'bench-random-test');
    const ok = run(['bench', '--random', '1', '--seed', '3', '--out', out]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/1 random scenarios \(seeds 3\.\.3\)/);
    expect(ok.out).toMatch(/\| memresize \| \d/);
    expect(ok.out).toMatch(/random:3: fp/);
    const json = JSON.parse(readFileSync(join(out, 'random.json'), 'utf8')) as { runs: { scenario: string; policy: string }[] };
    expect(json.runs.map((r) => r.policy)).toContain('neon-threshold');
    expect(new Set(json.runs.map((r) => r.scenario))).toEqual(new Set(['random:3']));
    const bad = run(['bench', '--random', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--random needs a positive whole number/);
  });

  it('bench --config runs memresize with that guest config (the baselines as they are); an invalid one exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memresize-bench-config-'));
    const file = join(dir, 'guest.yaml');
    // No probe answers: only the trigger sees steady's slow stalls.
    writeFileSync(file, 'signals:\n  psiProbeThresholdPercent: 100\n');
    const rows = (out: string) => out.split('\n').filter((l) => l.startsWith('| steady |')).map((l) => l.split('|').slice(0, -2).join('|'));
    const plain = run(['bench', '--scenario', 'steady', '--out', join(dir, 'a')]);
    const tuned = run(['bench', '--scenario', 'steady', '--out', join(dir, 'b'), '--config', file]);
    const ours = (r: string[]) => r.filter((l) => l.includes('| memresize |'));
    const theirs = (r: string[]) => r.filter((l) => !l.includes('| memresize |'));
    expect(ours(rows(plain.out))).toHaveLength(1);
    expect(ours(rows(tuned.out))).not.toEqual(ours(rows(plain.out)));
    expect(theirs(rows(tuned.out))).toEqual(theirs(rows(plain.out)));
    writeFileSync(file, 'signals:\n  psiProbeThresholdPercent: -1\n');
    const bad = run(['bench', '--scenario', 'steady', '--out', join(dir, 'c'), '--config', file]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/invalid guest config/);
    expect(bad.err).toMatch(/psiProbeThresholdPercent/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sim --fleet runs a built-in fleet on one host agent and prints the fleet and per-VM tables; an unknown fleet exits 2', () => {
    const ok = run(['sim', '--fleet', 'fleet-squeeze', '--policy', 'static-max']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/\| fleet-squeeze \| static-max \| [\d.]+ \|/);
    expect(ok.out).toMatch(/\| web-a \| 1 \| 2\.00 \| yes \|/);
    expect(ok.out).toMatch(/at 605 s batch's max lowered to 0\.25 GiB while it held 2\.00 GiB: still above it/);
    const bad = run(['sim', '--fleet', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown fleet 'nope' \(one of fleet-rogue, fleet-batch, fleet-squeeze, fleet-budget-cut, or random:<seed>\)/);
  });

  it('bench --fleet --random runs memresize on random fleets, checks the fleet targets and writes random-fleets.json', () => {
    const out = join(root, 'out', 'bench-random-fleets-test');
    const ok = run(['bench', '--fleet', '--random', '1', '--seed', '2', '--out', out]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/1 random fleets \(random:2\.\.2\), \d VMs/);
    expect(ok.out).toMatch(/\| fleets whose holdings went over the budget \| 0 \|/);
    expect(ok.out).toMatch(/PASS: 1 of 1 fleets meet the fleet targets/);
    const json = JSON.parse(readFileSync(join(out, 'random-fleets.json'), 'utf8')) as { runs: { fleet: string; vms: unknown[] }[] };
    expect(json.runs.map((r) => r.fleet)).toEqual(['random:2']);
    expect(json.runs[0]!.vms.length).toBeGreaterThanOrEqual(3);
  });

  it('demo visits all five named states through the real machine', () => {
    const { code, out } = run(['demo']);
    expect(code).toBe(0);
    expect(out).toContain('named states seen:  idle, awaiting-host, growing, cooling, shrinking (5/5)');
    expect(out).toMatch(/request retry: grow/);
  });
});
