/**
 * `npm run build` produces one file that runs with plain node, away from node_modules:
 * copied alone into an empty folder, it still runs the demo and validates configs.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('bundled build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memresize-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds a self-contained dist/memresize.mjs that runs without node_modules', () => {
    const build = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'scripts', 'build.ts')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(build.status, build.stderr).toBe(0);
    const bundle = join(dir, 'memresize.mjs');
    copyFileSync(join(root, 'dist', 'memresize.mjs'), bundle);
    console.log(`bundle size: ${(statSync(bundle).size / 2 ** 20).toFixed(1)} MiB`);
    const help = spawnSync(process.execPath, [bundle, '--help'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('check-config');
    const demo = spawnSync(process.execPath, [bundle, 'demo'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('(5/5)');

    // The guest image's bundle: the daemon and its tools, nothing of the host or simulator.
    const guestBundle = join(dir, 'memresize-guest.mjs');
    copyFileSync(join(root, 'dist', 'memresize-guest.mjs'), guestBundle);
    console.log(`guest bundle size: ${(statSync(guestBundle).size / 2 ** 20).toFixed(1)} MiB`);
    const guestHelp = spawnSync(process.execPath, [guestBundle, '--help'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(guestHelp.status, guestHelp.stderr).toBe(0);
    for (const cmd of ['guest', 'status', 'probe', 'check-config']) expect(guestHelp.stdout).toContain(cmd);
    for (const cmd of ['sim', 'bench', 'host', 'trace']) expect(guestHelp.stdout).not.toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    expect(statSync(guestBundle).size).toBeLessThan(statSync(bundle).size / 1.5);
  }, 180_000);

  it('npm pack ships the bin, the bundles, the units and the docs, and nothing of the tests', () => {
    const res = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(res.status, res.stderr).toBe(0);
    const files = (JSON.parse(res.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of ['bin/memresize.js', 'packaging/memresize-guest.service', 'packaging/memresize-host.service', 'README.md', 'docs/operations.md', 'src/cli/main.ts']) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('.cache/') || f.startsWith('node_modules/'))).toBe(false);
  }, 120_000);
});
