import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { makeReconnectingStream } from '../../src/io/transports/reconnecting.ts';
import { epollAvailable, findVirtioPort, HostAbsentError, makeVirtioSerialConnector } from '../../src/io/transports/virtio-serial.ts';
import { realClock } from '../../src/protocol/clock.ts';

let root: string;
const cleanups: (() => void)[] = [];

/** A sysfs/dev fixture: vport0p1 is the guest agent's port, vport0p2 ours. */
function fixture(device: 'fifo' | 'empty-file'): string {
  const sys = path.join(root, 'sys', 'class', 'virtio-ports');
  for (const [port, name] of [['vport0p1', 'org.qemu.guest_agent.0'], ['vport0p2', 'org.memresize.0']] as const) {
    fs.mkdirSync(path.join(sys, port), { recursive: true });
    fs.writeFileSync(path.join(sys, port, 'name'), `${name}\n`);
  }
  fs.mkdirSync(path.join(root, 'dev'), { recursive: true });
  const dev = path.join(root, 'dev', 'vport0p2');
  if (device === 'fifo') execFileSync('mkfifo', [dev]);
  else fs.writeFileSync(dev, '');
  return dev;
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-vport-'));
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  fs.rmSync(root, { recursive: true, force: true });
});

const opts = (extra: Partial<Parameters<typeof makeVirtioSerialConnector>[0]> = {}) => ({
  portName: 'org.memresize.0',
  sysRoot: path.join(root, 'sys'),
  devRoot: path.join(root, 'dev'),
  clock: realClock,
  pollMs: 10,
  ...extra,
});

describe('virtio-serial port discovery', () => {
  it('finds the port by its name in sysfs', () => {
    const dev = fixture('fifo');
    expect(findVirtioPort(path.join(root, 'sys'), path.join(root, 'dev'), 'org.memresize.0')).toBe(dev);
    expect(findVirtioPort(path.join(root, 'sys'), path.join(root, 'dev'), 'org.other')).toBeUndefined();
    expect(findVirtioPort(path.join(root, 'nosys'), path.join(root, 'dev'), 'org.memresize.0')).toBeUndefined();
  });
});

describe('virtio-serial transport', () => {
  for (const mode of ['epoll', 'timer fallback'] as const) {
    it(`delivers what the host writes (${mode})`, async (ctx) => {
      if (mode === 'epoll' && !epollAvailable()) {
        console.log('skipped: the optional epoll addon is not built here');
        ctx.skip();
      }
      const dev = fixture('fifo');
      const chunks: string[] = [];
      const stream = await makeVirtioSerialConnector(opts({ noEpoll: mode !== 'epoll' }))({ onData: (c) => chunks.push(c.toString()), onClose: () => {} });
      cleanups.push(() => stream.close());
      const w = fs.openSync(dev, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      cleanups.push(() => fs.closeSync(w));
      fs.writeSync(w, '{"type":"ping"}\n');
      const end = Date.now() + 2000;
      while (chunks.join('') !== '{"type":"ping"}\n' && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(chunks.join('')).toBe('{"type":"ping"}\n');
    });
  }

  it('treats EOF on open (no host client) as the host being absent', async () => {
    fixture('empty-file');
    await expect(makeVirtioSerialConnector(opts())({ onData: () => {}, onClose: () => {} })).rejects.toBeInstanceOf(HostAbsentError);
  });

  it('backs off instead of spinning while the host side is absent', async () => {
    fixture('empty-file');
    let connected = 0;
    const s = makeReconnectingStream(
      makeVirtioSerialConnector(opts()),
      { onConnected: () => connected++, onData: () => {}, onDisconnected: () => {} },
      { clock: realClock, baseMs: 50, capMs: 200, log: makeMemoryLogger({ level: 'silent' }).log, name: 't' },
    );
    s.start();
    await new Promise((r) => setTimeout(r, 1000));
    s.close();
    // 50, 100, 200, 200, ... ms with equal jitter: at most ~10 opens in a second, not thousands.
    expect(s.attempts).toBeGreaterThanOrEqual(3);
    expect(s.attempts).toBeLessThanOrEqual(12);
    expect(connected).toBe(0);
  });

  it('lets Node exit once the link is closed (no blocking read holds the process)', () => {
    fixture('fifo');
    const script = `
      import { makeVirtioSerialConnector } from ${JSON.stringify(path.resolve('src/io/transports/virtio-serial.ts'))};
      import { realClock } from ${JSON.stringify(path.resolve('src/protocol/clock.ts'))};
      const s = await makeVirtioSerialConnector({ portName: 'org.memresize.0', sysRoot: ${JSON.stringify(path.join(root, 'sys'))}, devRoot: ${JSON.stringify(path.join(root, 'dev'))}, clock: realClock, pollMs: 10 })({ onData() {}, onClose() {} });
      setTimeout(() => s.close(), 100);
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 15_000, encoding: 'utf8' });
    expect(res.error, res.stderr).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
  });
});
