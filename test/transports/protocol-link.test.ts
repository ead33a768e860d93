import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkSchema } from '../../src/config/link.ts';
import { makeHostLinkFromConfig } from '../../src/io/host-link-factory.ts';
import type { HostEvent } from '../../src/io/host-link.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { makeProtocolLink } from '../../src/io/protocol-link.ts';
import { makeTcpConnector } from '../../src/io/transports/socket.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A host that records the guest's lines and lets the test write raw bytes back. */
async function fakeHost(listenOn: { path: string } | { port: 0; host: string }) {
  const received: string[] = [];
  const socks: net.Socket[] = [];
  const server = net.createServer((s) => {
    socks.push(s);
    s.on('data', (c) => received.push(...c.toString().split('\n').filter(Boolean)));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(listenOn, r));
  cleanups.push(() => new Promise<void>((r) => {
    for (const s of socks) s.destroy();
    server.close(() => r());
  }));
  return { server, received, socks, write: (text: string) => socks.at(-1)!.write(text) };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('guest protocol link', () => {
  it('turns host lines into host.* events, validates them, answers pings, and survives garbage', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-link-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const host = await fakeHost({ path: path.join(dir, 'h.sock') });
    const { log, lines } = makeMemoryLogger({ level: 'info' });
    const link = makeHostLinkFromConfig(LinkSchema.parse({ transport: 'unix', socketPath: path.join(dir, 'h.sock') }), { log });
    cleanups.push(() => link.close());
    const events: HostEvent[] = [];
    link.events$.subscribe((e) => events.push(e));
    await until(() => events.length === 1);
    expect(events[0]).toEqual({ type: 'host.connected' });

    link.sendHello('g1');
    link.sendResize({ id: 'g1-1', kind: 'grow', targetBytes: 1 << 27, fromBytes: 0, reason: 'psi-some', pressure: { source: 'psi', severity: 'some', stallPercent: 250 }, attempt: 0 });
    await until(() => host.received.length === 2);
    expect(JSON.parse(host.received[0]!)).toEqual({ type: 'hello', versions: [1, 2], idPrefix: 'g1', software: 'memresize/0.1.0' });
    // The guest sanitizes its own request: a stall share above 100% is clamped.
    expect(JSON.parse(host.received[1]!)).toMatchObject({ type: 'resize', id: 'g1-1', targetBytes: 1 << 27, pressure: { stallPercent: 100 } });

    host.write('{"type":"welcome","version":1,"minBytes":0,"maxBytes":1073741824,"blockBytes":2097152,"requestedBytes":0,"pluggedBytes":0}\n');
    host.write('garbage\n{"type":"ack","id":"g1-1","outcome":"sure","grantedBytes":1}\n{"type":"launch-missiles"}\n');
    host.write(`${'x'.repeat(70_000)}\n`);
    host.write('{"type":"ping","id":"p1"}\n{"type":"ack","id":"g1-1","outcome":"partial","grantedBytes":67108864,"reason":"budget"}\n');
    host.write('{"type":"done","id":"g1-1","status":"complete","pluggedBytes":67108864}\n{"type":"limits","minBytes":0,"maxBytes":536870912}\n{"type":"reclaim","id":"r1","bytes":33554432}\n');
    host.write('{"type":"available","bytes":-1}\n{"type":"available","bytes":134217728}\n');
    await until(() => events.length === 7);
    expect(events.slice(1)).toEqual([
      { type: 'host.welcome', minBytes: 0, maxBytes: 1 << 30, blockBytes: 2 << 20, requestedBytes: 0, pluggedBytes: 0 },
      { type: 'host.ack', id: 'g1-1', outcome: 'partial', grantedBytes: 64 << 20, reason: 'budget' },
      { type: 'host.done', id: 'g1-1', status: 'complete', pluggedBytes: 64 << 20 },
      { type: 'host.limits', minBytes: 0, maxBytes: 512 << 20 },
      { type: 'host.reclaim', id: 'r1', bytes: 32 << 20 },
      { type: 'host.available', bytes: 128 << 20 },
    ]);
    const counters = (link as ReturnType<typeof makeProtocolLink>).counters;
    expect(counters).toMatchObject({ invalidJson: 1, schema: 2, unknownType: 1, lineTooLong: 1 });
    await until(() => host.received.some((l) => l.includes('"pong"')));
    // One error reply and one warning per second, not one per bad line.
    expect(host.received.filter((l) => l.includes('"type":"error"'))).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'bad line from host')).toHaveLength(1);
  });

  it('reports host.disconnected and reconnects with backoff when the host restarts (TCP, loopback)', async () => {
    const host = await fakeHost({ port: 0, host: '127.0.0.1' });
    const port = (host.server.address() as net.AddressInfo).port;
    const link = makeProtocolLink(makeTcpConnector('127.0.0.1', port), { log: makeMemoryLogger({ level: 'silent' }).log, reconnectBaseMs: 20, reconnectCapMs: 50 });
    cleanups.push(() => link.close());
    const events: string[] = [];
    link.events$.subscribe((e) => events.push(e.type));
    await until(() => events.length === 1);
    host.socks[0]!.destroy();
    await until(() => events.length === 3);
    expect(events).toEqual(['host.connected', 'host.disconnected', 'host.connected']);
  });
});
