import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('memresize host', () => {
  it('refuses an invalid config with every problem and exit 2', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-cli-host-'));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'vms:\n  - name: "a b"\n    channel: { kind: unix-listen, path: /tmp/x }\n    adapter: { kind: fake }\n    maxBytes: 1GiB\n');
    const res = spawnSync(process.execPath, ['bin/memresize.js', 'host', '--config', path.join(dir, 'bad.yaml')], { encoding: 'utf8', timeout: 20_000 });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('budgetBytes');
    expect(res.stderr).toContain('vms[0].name');
  });

  it('starts from a config file, welcomes a guest on its socket and stops on SIGTERM', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-cli-host-'));
    const sock = path.join(dir, 'vm1.sock');
    fs.writeFileSync(
      path.join(dir, 'host.yaml'),
      `budgetBytes: 4GiB\nlog: { level: warn }\nmetrics: { enabled: false }\nvms:\n  - name: vm1\n    channel: { kind: unix-listen, path: ${sock} }\n    adapter: { kind: fake }\n    maxBytes: 1GiB\n`,
    );
    const child = spawn(process.execPath, ['bin/memresize.js', 'host', '--config', path.join(dir, 'host.yaml')], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const end = Date.now() + 20_000;
    while (!fs.existsSync(sock) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.createConnection(sock, () => s.write('{"type":"hello","versions":[1]}\n'));
      s.on('data', (c) => {
        resolve(c.toString());
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(JSON.parse(reply)).toMatchObject({ type: 'welcome', version: 1, maxBytes: 1024 ** 3 });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
