import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostConfigSchema } from '../../src/config/host.ts';
import { MiB } from '../../src/config/units.ts';
import { startHostAgent } from '../../src/host/run.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-chan-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects newline-delimited JSON from a socket. */
function reader(sock: net.Socket): unknown[] {
  const out: unknown[] = [];
  let buf = '';
  sock.on('data', (c) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  return out;
}

const hello = '{"type":"hello","versions":[1]}\n';

describe('host channels', () => {
  it('dials a QEMU-style chardev server (unix-connect) and redials when it restarts', async () => {
    const dir = tmp();
    const chardev = path.join(dir, 'chardev.sock');
    let guestSide: net.Socket | null = null;
    const mkServer = () => net.createServer((s) => (guestSide = s)).listen(chardev);
    let server = mkServer();
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const cfg = HostConfigSchema.parse({
      budgetBytes: '1GiB',
      metrics: { enabled: false },
      vms: [{ name: 'vm1', channel: { kind: 'unix-connect', path: chardev }, adapter: { kind: 'fake' }, maxBytes: '512MiB' }],
    });
    const running = await startHostAgent(cfg, { log: makeMemoryLogger({ level: 'silent' }).log });
    cleanups.push(() => running.close());
    await until(() => guestSide !== null);
    let got = reader(guestSide!);
    guestSide!.write(hello);
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ type: 'welcome', maxBytes: 512 * MiB });
    // QEMU restarts: the chardev goes away and comes back.
    guestSide!.destroy();
    guestSide = null;
    await new Promise<void>((r) => server.close(() => r()));
    server = mkServer();
    await until(() => guestSide !== null, 8000);
    got = reader(guestSide!);
    guestSide!.write(hello);
    await until(() => got.length === 1);
    expect(running.agent.status()[0]).toMatchObject({ connected: true });
  });

  it('speaks the hybrid vsock CONNECT handshake before the protocol', async () => {
    const dir = tmp();
    const vsock = path.join(dir, 'v.sock');
    const handshakes: string[] = [];
    let guestSide: net.Socket | null = null;
    const server = net.createServer((s) => {
      s.once('data', (c) => {
        handshakes.push(c.toString());
        s.write('OK 1073741824\n');
        // The guest's hello may arrive in the same segment as the OK line.
        guestSide = s;
      });
    });
    await new Promise<void>((r) => server.listen(vsock, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const cfg = HostConfigSchema.parse({
      budgetBytes: '1GiB',
      metrics: { enabled: false },
      vms: [{ name: 'fc1', channel: { kind: 'vsock-hybrid', path: vsock, port: 1234 }, adapter: { kind: 'fake' }, maxBytes: '256MiB' }],
    });
    const running = await startHostAgent(cfg, { log: makeMemoryLogger({ level: 'silent' }).log });
    cleanups.push(() => running.close());
    await until(() => guestSide !== null);
    expect(handshakes).toEqual(['CONNECT 1234\n']);
    const got = reader(guestSide!);
    guestSide!.write(hello);
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ type: 'welcome', maxBytes: 256 * MiB });
  });

  it('knows a VM by the socket it came in on, whatever the message says', async () => {
    const dir = tmp();
    const cfg = HostConfigSchema.parse({
      budgetBytes: '4GiB',
      metrics: { enabled: false },
      vms: [
        { name: 'a', channel: { kind: 'unix-listen', path: path.join(dir, 'a.sock') }, adapter: { kind: 'fake' }, maxBytes: '256MiB' },
        { name: 'b', channel: { kind: 'unix-listen', path: path.join(dir, 'b.sock') }, adapter: { kind: 'fake' }, maxBytes: '2GiB' },
      ],
    });
    const running = await startHostAgent(cfg, { log: makeMemoryLogger({ level: 'silent' }).log });
    cleanups.push(() => running.close());
    const sock = net.createConnection(path.join(dir, 'a.sock'));
    cleanups.push(() => void sock.destroy());
    const got = reader(sock);
    sock.write(hello);
    sock.write('{"type":"resize","id":"x-1","kind":"grow","targetBytes":1073741824,"reason":"x","vm":"b","name":"b"}\n');
    await until(() => got.length === 2);
    expect(got[1]).toMatchObject({ type: 'ack', outcome: 'partial', grantedBytes: 256 * MiB, reason: 'at-max' });
    expect(running.agent.status().map((s) => [s.name, s.requestedBytes])).toEqual([
      ['a', 256 * MiB],
      ['b', 0],
    ]);
  });
});
