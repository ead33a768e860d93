/**
 * The guest daemon as an operator meets it: started from the CLI (dry run, fixture
 * procfs/sysfs), asked with `memresize status`, reloaded with SIGHUP and stopped with
 * SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/io/status-server.ts';
import type { GuestStatus } from '../../src/obs/status.ts';
import { FakeKernel, GiB, killAll, ROOT, spawnCli, tempDir, waitUntil, type Daemon } from './harness.ts';

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function guestConfig(dir: string, extra = ''): string {
  return [
    `control: { socketPath: ${join(dir, 'ctl', 'guest.sock')} }`,
    'memory: { online: none, lockMemory: false, oomScoreAdj: 0 }',
    'signals: { psiMode: polling, meminfoIntervalMs: 200 }',
    extra,
  ].join('\n');
}

async function startDryRun(): Promise<{ dir: string; cfg: string; sock: string; guest: Daemon }> {
  const dir = tempDir('ops-guest');
  dirs.push(dir);
  const kernel = new FakeKernel(join(dir, 'k'));
  const cfg = join(dir, 'guest.yaml');
  writeFileSync(cfg, guestConfig(dir));
  const guest = spawnCli(['guest', '--dry-run', '--dry-run-max', '2GiB', '--config', cfg, '--proc-root', kernel.procRoot, '--sys-root', kernel.sysRoot]);
  const sock = join(dir, 'ctl', 'guest.sock');
  await guest.waitFor('ready.idle', (l) => l.msg === 'transition' && l.to === 'ready.idle');
  return { dir, cfg, sock, guest };
}

const status = (sock: string) => readStatus(sock) as Promise<GuestStatus>;

describe('memresize guest: control socket', () => {
  it('answers memresize status and status --json with the live state, sizes, limits, PSI mode and transitions', async () => {
    const { sock, guest } = await startDryRun();
    await waitUntil('control socket', () => status(sock).then(() => true, () => false));
    // Root-only: the socket 0600 in a folder the daemon created 0700.
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(sock, '..')).mode & 0o777).toBe(0o700);

    const json = spawnSync(process.execPath, [join(ROOT, 'bin', 'memresize.js'), 'status', '--json', '--socket', sock], { encoding: 'utf8', timeout: 20_000 });
    expect(json.status, json.stderr).toBe(0);
    const s = JSON.parse(json.stdout) as GuestStatus;
    expect(s).toMatchObject({ kind: 'guest', pid: guest.proc.pid, state: 'ready.idle', limits: { minBytes: 0, maxBytes: 2 * GiB, blockBytes: 2 * 2 ** 20 } });
    expect(s.sizes.memTotalBytes).toBe(GiB);
    expect(s.signals.psi).toMatchObject({ mode: 'polling' });
    expect(s.selfProtection).toMatchObject({ oom: { ok: true, wanted: 0 }, lock: { ok: false } });
    // Decisions, not the per-second samples: the handshake is in the ring.
    expect(s.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(expect.arrayContaining(['start>connecting', 'connecting>handshake', 'handshake>ready.idle']));
    expect(s.transitions.some((t) => t.event === 'meminfo.sample')).toBe(false);

    const text = spawnSync(process.execPath, [join(ROOT, 'bin', 'memresize.js'), 'status', '--socket', sock], { encoding: 'utf8', timeout: 20_000 });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^memresize guest \(pid \d+, up \d+ s\): ready\.idle/);
    expect(text.stdout).toContain('limits min 0 B  max 2 GiB');
    expect(text.stdout).toMatch(/handshake -> ready\.idle\s+host\.welcome/);
  });

  it('does not take the socket of a daemon that is still answering on it', async () => {
    const first = await startDryRun();
    await waitUntil('control socket', () => status(first.sock).then(() => true, () => false));
    const kernel = new FakeKernel(join(first.dir, 'k2'));
    const second = spawnCli(['guest', '--dry-run', '--config', first.cfg, '--proc-root', kernel.procRoot, '--sys-root', kernel.sysRoot]);
    const warn = await second.waitFor('control warning', (l) => l.component === 'control');
    expect(warn).toMatchObject({ msg: 'control socket answered by another daemon: status not served', level: 40 });
    expect((await status(first.sock)).pid).toBe(first.guest.proc.pid);
  });
});

describe('memresize guest: start-up', () => {
  it('counts the memory plugged before it started from sysfs blocks in the virtio-mem ranges of /proc/iomem', async () => {
    const dir = tempDir('ops-guest');
    dirs.push(dir);
    const kernel = new FakeKernel(join(dir, 'k'));
    kernel.setPlugged(256 * 2 ** 20);
    writeFileSync(join(dir, 'guest.yaml'), guestConfig(dir));
    const guest = spawnCli(['guest', '--dry-run', '--config', join(dir, 'guest.yaml'), '--proc-root', kernel.procRoot, '--sys-root', kernel.sysRoot]);
    expect(await guest.waitFor('started', (l) => l.msg === 'guest daemon started')).toMatchObject({ initialPluggedBytes: 256 * 2 ** 20 });
    expect(guest.lines.some((l) => l.msg === 'plugged size at start unknown: memory plugged before this start counts as boot RAM')).toBe(false);
  });

  it('warns when /proc/iomem hides addresses (no CAP_SYS_ADMIN) and takes the size plugged before a restart from the host\'s welcome', async () => {
    const dir = tempDir('ops-guest');
    dirs.push(dir);
    const kernel = new FakeKernel(join(dir, 'k'));
    kernel.setPlugged(256 * 2 ** 20);
    // What an unprivileged reader gets: every address printed as zeros.
    writeFileSync(join(kernel.procRoot, 'iomem'), '00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n00000000-00000000 : virtio0\n  00000000-00000000 : System RAM (virtio_mem)\n');
    writeFileSync(join(dir, 'guest.yaml'), guestConfig(dir));
    const guest = spawnCli(['guest', '--dry-run', '--config', join(dir, 'guest.yaml'), '--proc-root', kernel.procRoot, '--sys-root', kernel.sysRoot]);
    const warn = await guest.waitFor('warning', (l) => l.msg === "plugged size at start unknown: the host's welcome is taken as the starting point");
    expect(warn).toMatchObject({ level: 40, why: expect.stringMatching(/zeroed addresses/) });
    expect(await guest.waitFor('started', (l) => l.msg === 'guest daemon started')).toMatchObject({ initialPluggedBytes: null });
  });
});

describe('memresize guest: metrics textfile', () => {
  it('writes Prometheus metrics for node-exporter when a path is configured, atomically', async () => {
    const dir = tempDir('ops-guest');
    dirs.push(dir);
    const kernel = new FakeKernel(join(dir, 'k'));
    const prom = join(dir, 'memresize.prom');
    writeFileSync(join(dir, 'guest.yaml'), guestConfig(dir, `metrics: { textfilePath: ${prom}, intervalMs: 1000 }`));
    const guest = spawnCli(['guest', '--dry-run', '--dry-run-max', '2GiB', '--config', join(dir, 'guest.yaml'), '--proc-root', kernel.procRoot, '--sys-root', kernel.sysRoot]);
    await guest.waitFor('ready.idle', (l) => l.msg === 'transition' && l.to === 'ready.idle');
    await waitUntil('metrics file with the ready state', () => existsSync(prom) && /memresize_guest_state\{state="idle"\} 1/.test(readFileSync(prom, 'utf8')));
    const text = readFileSync(prom, 'utf8');
    expect(text).toMatch(/^memresize_guest_limit_max_bytes 2147483648$/m);
    expect(text).toMatch(/^# TYPE memresize_guest_transitions_total counter$/m);
    expect(text).toMatch(/^memresize_guest_plugged_bytes \d+$/m);
    expect(text).toMatch(/^memresize_guest_psi_discounted_total 0$/m);
    expect(text).toMatch(/^memresize_guest_psi_reads_total\{kind="probe"\} 0$/m);
    expect(text).toMatch(/^memresize_guest_psi_reads_total\{kind="trigger"\} \d+$/m);
  });
});

describe('memresize guest: signals', () => {
  it('SIGHUP applies a good file (timing by rewiring the machine on the same link), rejects a bad one with every error and keeps running', async () => {
    const { cfg, sock, guest } = await startDryRun();
    await waitUntil('control socket', () => status(sock).then(() => true, () => false));
    const pid = guest.proc.pid!;

    writeFileSync(cfg, guestConfig(join(sock, '..', '..'), 'log: { level: debug }\ntiming: { ackTimeoutMs: 777 }\nlink: { transport: tcp, tcpPort: 9 }'));
    let mark = guest.lines.length;
    process.kill(pid, 'SIGHUP');
    const reloaded = await guest.waitFor('config reloaded', (l) => l.msg === 'config reloaded', 10_000, mark);
    expect(reloaded).toMatchObject({ applied: ['log.level', 'timing.ackTimeoutMs'], needsRestart: ['link.transport', 'link.tcpPort'], rewired: true, composition: 1 });
    const warned = await guest.waitFor('restart warning', (l) => l.msg === 'config changes need a restart; kept as they were', 10_000, mark);
    expect(warned).toMatchObject({ level: 40, needsRestart: ['link.transport', 'link.tcpPort'] });
    // The new machine handshakes at once on the link that stayed up, with a fresh id space.
    const hello = await guest.waitFor('new hello', (l) => l.msg === 'would send hello', 10_000, mark);
    expect(String(hello.idPrefix)).toMatch(/-r1$/);
    await guest.waitFor('ready again', (l) => l.msg === 'transition' && l.to === 'ready.idle', 10_000, mark);
    // The new level is in force: debug lines appear.
    await guest.waitFor('a debug line', (l) => l.level === 20, 10_000, mark);

    writeFileSync(cfg, 'timing:\n  ackTimeoutMs: 1\n  cooldownAfterGrowMs: -5\nnope: 1\n');
    mark = guest.lines.length;
    process.kill(pid, 'SIGHUP');
    const rejected = await guest.waitFor('config rejected', (l) => l.msg === 'config rejected; the running config stays', 10_000, mark);
    const errors = String(rejected.errors);
    expect(errors).toMatch(/at timing\.ackTimeoutMs/);
    expect(errors).toMatch(/at timing\.cooldownAfterGrowMs/);
    expect(errors).toMatch(/nope/);
    expect(rejected.level).toBe(50);
    // Still alive and still serving, with the state it had.
    expect(guest.alive()).toBe(true);
    expect((await status(sock)).state).toBe('ready.idle');

    mark = guest.lines.length;
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    const { code } = await guest.exited;
    expect(code).toBe(0);
    // systemd's TimeoutStopSec is 10 s; the daemon needs a fraction of it.
    expect(Date.now() - t0).toBeLessThan(3000);
    const tail = guest.lines.slice(mark).map((l) => l.msg);
    expect(tail[0]).toBe('guest daemon stopping');
    expect(tail.at(-1)).toBe('guest daemon stopped');
    // Nothing was asked on the way out: the VM keeps its memory as it is.
    expect(tail).not.toContain('would send resize');
    await expect(readStatus(sock, 500)).rejects.toThrow();
  });

  it('SIGINT stops it too, with exit 0', async () => {
    const { guest } = await startDryRun();
    guest.proc.kill('SIGINT');
    const { code } = await guest.exited;
    expect(code).toBe(0);
    expect(guest.lines.find((l) => l.msg === 'guest daemon stopping')).toMatchObject({ signal: 'SIGINT' });
  });
});
