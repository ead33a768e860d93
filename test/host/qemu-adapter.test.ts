import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QemuAdapterSchema } from '../../src/config/host.ts';
import { MiB } from '../../src/config/units.ts';
import { makeQemuAdapter } from '../../src/host/qemu-adapter.ts';
import { connectQmp } from '../../src/host/qmp-client.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { realClock } from '../../src/protocol/clock.ts';
import { QmpDouble } from './qmp-double.ts';

let dir: string;
let qmpPath: string;
const doubles: QmpDouble[] = [];
const closers: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-qmp-'));
  qmpPath = path.join(dir, 'qmp.sock');
});
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const d of doubles.splice(0)) await d.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function double(opts: Partial<ConstructorParameters<typeof QmpDouble>[0]> = {}): Promise<QmpDouble> {
  const d = new QmpDouble({ path: qmpPath, blockBytes: 2 * MiB, maxBytes: 1024 * MiB, bytesPerTick: 32 * MiB, ...opts });
  await d.start();
  doubles.push(d);
  return d;
}

function adapter(extra: Record<string, unknown> = {}) {
  const cfg = QemuAdapterSchema.parse({ kind: 'qemu', qmpSocket: qmpPath, device: 'vm0', pollMs: 5, plugTimeoutMs: 2000, unplugTimeoutMs: 300, reconnectBaseMs: 20, reconnectCapMs: 50, ...extra });
  const a = makeQemuAdapter(cfg, { clock: realClock, log: makeMemoryLogger({ level: 'silent' }).log });
  closers.push(() => a.close());
  return a;
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('QMP client', () => {
  it('reads the greeting, negotiates capabilities first, and matches replies and errors by id', async () => {
    const d = await double();
    const c = await connectQmp(qmpPath, { clock: realClock, commandTimeoutMs: 1000 });
    closers.push(() => c.close());
    expect(c.greeting).toMatchObject({ QMP: { version: { qemu: { major: 7 } } } });
    expect(d.commands[0]).toMatchObject({ execute: 'qmp_capabilities' });
    const [ok, bad] = await Promise.all([
      c.execute('qom-get', { path: '/machine/peripheral/vm0', property: 'block-size' }),
      c.execute('qom-get', { path: '/machine/peripheral/nope', property: 'size' }),
    ]);
    expect(ok).toEqual({ ok: true, value: 2 * MiB });
    expect(bad).toEqual({ ok: false, error: { class: 'DeviceNotFound', desc: "Device '/machine/peripheral/nope' not found" } });
  });

  it('fails a command that gets no reply in time and drops the connection', async () => {
    await double({ silentCommands: ['query-memory-devices'] });
    const c = await connectQmp(qmpPath, { clock: realClock, commandTimeoutMs: 50 });
    let closed = '';
    c.onClose((r) => (closed = r));
    const r = await c.execute('query-memory-devices');
    expect(r).toMatchObject({ ok: false, error: { class: 'Timeout' } });
    expect(closed).toBe('command timeout');
  });
});

describe('QEMU adapter over QMP', () => {
  it('reads block size, sizes and the memdev size as the maximum', async () => {
    await double({ maxBytes: 2048 * MiB });
    const a = adapter();
    await a.start();
    expect(a.state()).toEqual({ requestedBytes: 0, pluggedBytes: 0, blockBytes: 2 * MiB, maxBytes: 2048 * MiB });
  });

  it('sets requested-size and polls size until the device reaches it', async () => {
    const d = await double();
    const a = adapter();
    await a.start();
    const r = await a.resize(256 * MiB);
    expect(r).toEqual({ status: 'complete', pluggedBytes: 256 * MiB });
    expect(d.commands.filter((c) => c.execute === 'qom-set')).toEqual([
      expect.objectContaining({ arguments: { path: '/machine/peripheral/vm0', property: 'requested-size', value: 256 * MiB } }),
    ]);
    expect(d.commands.filter((c) => c.execute === 'qom-get' && c.arguments?.property === 'size').length).toBeGreaterThan(2);
  });

  it('reports an unplug that stops short as partial with the real size; asking again makes the guest retry', async () => {
    const d = await double({ unplugFloorBytes: 128 * MiB, floorDropPerSet: 128 * MiB });
    const a = adapter();
    await a.start();
    await a.resize(512 * MiB);
    expect(await a.resize(0)).toEqual({ status: 'partial', pluggedBytes: 128 * MiB });
    expect(d.requested, 'the request is left where the device stopped').toBe(128 * MiB);
    expect(a.state()).toMatchObject({ requestedBytes: 128 * MiB, pluggedBytes: 128 * MiB });
    expect(await a.resize(0)).toEqual({ status: 'complete', pluggedBytes: 0 });
  });

  it('stops a slow unplug at its deadline: the device stays at the size the reply reports', async () => {
    // 2 MiB per 5 ms: 512 MiB take ~1.3 s, the unplug deadline is 300 ms.
    const d = await double({ bytesPerTick: 2 * MiB });
    const a = adapter();
    await a.start();
    expect(await a.resize(512 * MiB)).toMatchObject({ status: 'complete' });
    const r = await a.resize(0);
    expect(r.status).toBe('partial');
    expect(r.pluggedBytes).toBeGreaterThan(0);
    // Left at 0, the guest would go on unplugging behind the reply (to 0 within ~1 s).
    await new Promise((res) => setTimeout(res, 400));
    expect(d.requested).toBe(r.pluggedBytes);
    expect(d.size).toBe(r.pluggedBytes);
  });

  it('returns QEMU\'s error when a value is refused', async () => {
    await double();
    const a = adapter();
    await a.start();
    const r = await a.resize(3 * MiB);
    expect(r).toMatchObject({ status: 'failed', error: expect.stringContaining('multiples') });
  });

  it('lets a newer resize supersede one in progress', async () => {
    await double({ bytesPerTick: 2 * MiB });
    const a = adapter();
    await a.start();
    const first = a.resize(512 * MiB);
    await new Promise((r) => setTimeout(r, 30));
    const second = a.resize(0);
    expect(await first).toMatchObject({ superseded: true });
    expect(await second).toMatchObject({ status: 'complete', pluggedBytes: 0 });
  });

  it('goes unavailable when QEMU goes away and reconnects when it is back', async () => {
    const d = await double();
    const a = adapter();
    const states: (number | null)[] = [];
    a.onChange((s) => states.push(s ? s.pluggedBytes : null));
    await a.start();
    await a.resize(64 * MiB);
    await d.stop();
    await until(() => a.state() === null);
    expect(await a.resize(128 * MiB)).toMatchObject({ status: 'failed', error: 'QEMU unreachable' });
    const d2 = await double();
    d2.size = 64 * MiB;
    d2.requested = 64 * MiB;
    await until(() => a.state() !== null);
    expect(a.state()).toMatchObject({ pluggedBytes: 64 * MiB, requestedBytes: 64 * MiB });
    expect(a.connects).toBe(2);
    expect(states).toContain(null);
  });

  it('keeps retrying with backoff while QEMU is not there yet', async () => {
    const a = adapter();
    await a.start();
    expect(a.state()).toBeNull();
    await double();
    await until(() => a.state() !== null);
  });
});
