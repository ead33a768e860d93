/**
 * `memresize host` under SIGHUP and SIGTERM, as systemd drives it (ExecReload=kill -HUP).
 */
import net from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnCli, tempDir, waitUntil, exists } from './harness.ts';

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const hostYaml = (sock: string, o: { budget?: string; max?: string; min?: string; metrics?: string } = {}) =>
  `budgetBytes: ${o.budget ?? '8GiB'}\nmetrics: ${o.metrics ?? '{ enabled: false }'}\nvms:\n  - name: vm1\n    channel: { kind: unix-listen, path: ${sock} }\n    adapter: { kind: fake }\n    minBytes: ${o.min ?? '0'}\n    maxBytes: ${o.max ?? '1GiB'}\n`;

/** A bare protocol client: the messages the host sends, in order. */
function guestClient(sock: string) {
  const got: Record<string, unknown>[] = [];
  const s = net.createConnection(sock, () => s.write('{"type":"hello","versions":[1]}\n'));
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => {
    buf += c;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      got.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  s.on('error', () => {});
  return { got, close: () => s.destroy() };
}

describe('memresize host: signals', () => {
  it('SIGHUP applies a new budget and sends new per-VM limits to the connected guest, logs what needs a restart, survives a bad file; SIGTERM exits 0', async () => {
    const dir = tempDir('ops-host');
    dirs.push(dir);
    const sock = join(dir, 'vm1.sock');
    const cfg = join(dir, 'host.yaml');
    writeFileSync(cfg, hostYaml(sock));
    const host = spawnCli(['host', '--config', cfg]);
    await host.waitFor('started', (l) => l.msg === 'host agent started');
    await waitUntil('socket', () => exists(sock));
    const guest = guestClient(sock);
    await waitUntil('welcome', () => guest.got.some((m) => m.type === 'welcome'));
    expect(guest.got[0]).toMatchObject({ type: 'welcome', maxBytes: 2 ** 30 });

    writeFileSync(cfg, hostYaml(sock, { max: '2GiB', min: '256MiB', budget: '16GiB', metrics: '{ enabled: false, port: 9999 }' }));
    let mark = host.lines.length;
    host.proc.kill('SIGHUP');
    const reloaded = await host.waitFor('config reloaded', (l) => l.msg === 'config reloaded', 10_000, mark);
    expect(reloaded).toMatchObject({ applied: ['budgetBytes', 'vms[vm1].minBytes', 'vms[vm1].maxBytes'], needsRestart: ['metrics.port'] });
    expect(host.lines.slice(mark).find((l) => l.msg === 'budget changed')).toMatchObject({ from: 8 * 2 ** 30, to: 16 * 2 ** 30 });
    await host.waitFor('restart warning', (l) => l.msg === 'config changes need a restart; kept as they were', 10_000, mark);
    await waitUntil('limits message', () => guest.got.some((m) => m.type === 'limits'));
    expect(guest.got.find((m) => m.type === 'limits')).toEqual({ type: 'limits', minBytes: 256 * 2 ** 20, maxBytes: 2 * 2 ** 30 });

    writeFileSync(cfg, 'budgetBytes: lots\nvms: 3\n');
    mark = host.lines.length;
    host.proc.kill('SIGHUP');
    const rejected = await host.waitFor('config rejected', (l) => l.msg === 'config rejected; the running config stays', 10_000, mark);
    expect(String(rejected.errors)).toMatch(/budgetBytes/);
    expect(String(rejected.errors)).toMatch(/at vms/);
    expect(host.alive()).toBe(true);
    // Still serving: a new guest connection is welcomed with the limits applied before.
    guest.close();
    const again = guestClient(sock);
    await waitUntil('second welcome', () => again.got.some((m) => m.type === 'welcome'));
    expect(again.got[0]).toMatchObject({ type: 'welcome', minBytes: 256 * 2 ** 20, maxBytes: 2 * 2 ** 30 });
    again.close();

    mark = host.lines.length;
    const t0 = Date.now();
    host.proc.kill('SIGTERM');
    expect((await host.exited).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(host.lines.slice(mark).map((l) => l.msg)).toEqual(expect.arrayContaining(['host agent stopping', 'host agent stopped']));
  });
});
