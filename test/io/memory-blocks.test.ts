import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, take, takeUntil, timer, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  makeMemoryBlocksSource,
  parseBlockSize,
  parseIomemVirtioMem,
  readMemoryBlocks,
  summarizeBlocks,
  virtioMemOnlineBytes,
  type MemoryBlocksSnapshot,
} from '../../src/io/memory-blocks.ts';
import { applyOnlining, makeEligibility, planOnlining } from '../../src/io/memory-blocks-online.ts';
import { bootPlusOffline, makeSysTree } from '../fixtures/sysfs-tree.ts';

const MiB128 = 128 * 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function tree(spec: Parameters<typeof makeSysTree>[0]): string {
  const t = makeSysTree(spec);
  cleanups.push(t.cleanup);
  return t.root;
}

describe('reading /sys/devices/system/memory', () => {
  it('reads block size, auto-online, blocks with zones, and finds virtio-mem by device id 0x0018', () => {
    const root = tree({ blocks: bootPlusOffline([8, 9]), virtio: { virtio0: '0x0005', virtio3: '0x0018' } });
    const s = readMemoryBlocks(root);
    expect(s.errors).toEqual([]);
    expect(s.blockSizeBytes).toBe(MiB128);
    expect(s.autoOnline).toBe('offline');
    expect(s.blocks.map((b) => b.index)).toEqual([0, 1, 2, 3, 8, 9]);
    // valid_zones of offline blocks is not read (a just-added block can oops the kernel).
    expect(s.blocks[4]).toEqual({ index: 8, state: 'offline', zones: [] });
    expect(s.blocks[0]?.zones).toEqual(['none']);
    expect(s.virtioMem).toEqual([{ name: 'virtio3', driver: 'virtio_mem' }]);
    expect(summarizeBlocks(s)).toEqual({ online: 4, offline: 2, onlineMovable: 0, onlineKernel: 4 });
  });

  it('reports missing, garbled and truncated files as typed errors, never a throw', () => {
    const root = tree({ blockSizeHex: 'zz', autoOnline: null, blocks: [{ index: 0, state: 'onl', zones: 'Normal' }], virtio: { virtio1: 'garbage' } });
    const s = readMemoryBlocks(root);
    expect(s.blockSizeBytes).toBeNull();
    expect(s.autoOnline).toBeNull();
    expect(s.blocks[0]?.state).toBe('unknown');
    const codes = s.errors.map((e) => `${e.code}:${e.path.split('/').slice(-2).join('/')}`).sort();
    expect(codes).toEqual(['garbled:memory/block_size_bytes', 'garbled:memory0/state', 'garbled:virtio1/device', 'missing:memory/auto_online_blocks']);
  });

  it('treats a root without any memory folder as errors, not a crash', () => {
    const s = readMemoryBlocks('/nonexistent-root');
    expect(s.blocks).toEqual([]);
    expect(s.errors.map((e) => e.code)).toContain('missing');
  });

  it('parses block_size_bytes as hex', () => {
    expect(parseBlockSize('8000000\n')).toBe(MiB128);
    expect(parseBlockSize('')).toBeNull();
    expect(parseBlockSize('0')).toBeNull();
  });

  it('reads the real sysfs of this machine without errors', () => {
    const s = readMemoryBlocks('/sys');
    if (s.blocks.length === 0) {
      console.log('skip: no /sys/devices/system/memory here');
      return;
    }
    expect(s.blockSizeBytes).toBeGreaterThan(0);
    expect(s.errors).toEqual([]);
  });
});

describe('virtio-mem ranges from /proc/iomem', () => {
  const iomem = [
    '00001000-0009fbff : System RAM',
    '100000000-13fffffff : System RAM',
    '140000000-23fffffff : virtio0',
    '  140000000-147ffffff : System RAM (virtio_mem)',
    '  148000000-14fffffff : System RAM (virtio_mem)',
    '00000000-00000000 : System RAM (virtio_mem)',
  ].join('\n');

  it('finds the virtio_mem System RAM ranges and drops the zeroed ones unprivileged readers get', () => {
    expect(parseIomemVirtioMem(iomem)).toEqual([
      { start: 0x140000000n, end: 0x147ffffffn },
      { start: 0x148000000n, end: 0x14fffffffn },
    ]);
  });

  it('counts online blocks inside those ranges as plugged at start', () => {
    const snap: MemoryBlocksSnapshot = {
      blockSizeBytes: MiB128,
      autoOnline: 'offline',
      blocks: [
        { index: 39, state: 'online', zones: ['Normal'] },
        { index: 40, state: 'online', zones: ['Movable'] },
        { index: 41, state: 'offline', zones: ['Normal', 'Movable'] },
      ],
      virtioMem: [],
      errors: [],
    };
    expect(virtioMemOnlineBytes(snap, parseIomemVirtioMem(iomem))).toBe(MiB128);
  });
});

describe('onlining plan', () => {
  const snapOf = (root: string) => readMemoryBlocks(root);
  const all = () => true;

  it('auto-movable keeps MOVABLE within the ratio of kernel-zone memory, counting the blocks it onlines as kernel', () => {
    // 4 kernel blocks, ratio 301%: 12 movable blocks, then Normal, which raises the allowance
    // again (as the kernel's auto_movable_ratio does).
    const root = tree({ blocks: bootPlusOffline([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]) });
    const plan = planOnlining(snapOf(root), 'auto-movable', 301, all);
    expect(plan.slice(0, 12).every((p) => p.write === 'online_movable')).toBe(true);
    expect(plan[12]?.write).toBe('online_kernel');
    let movable = 0;
    let kernel = 4;
    for (const p of plan) {
      if (p.write === 'online_movable') movable++;
      else kernel++;
      expect(movable * 100).toBeLessThanOrEqual(301 * kernel);
    }
  });

  it('auto-movable first gives the kernel zones back their free floor', () => {
    const root = tree({ blocks: bootPlusOffline([10, 11, 12, 13]) });
    const blockBytes = snapOf(root).blockSizeBytes ?? 0;
    // 1.5 blocks short of the floor: two blocks go to the kernel zone, then MOVABLE.
    const plan = planOnlining(snapOf(root), 'auto-movable', 301, all, { freeBytes: 0, floorBytes: 1.5 * blockBytes });
    expect(plan.map((p) => p.write)).toEqual(['online_kernel', 'online_kernel', 'online_movable', 'online_movable']);
    // Enough free memory in the kernel zones: the plain ratio rule.
    const roomy = planOnlining(snapOf(root), 'auto-movable', 301, all, { freeBytes: 4 * blockBytes, floorBytes: blockBytes });
    expect(roomy.every((p) => p.write === 'online_movable')).toBe(true);
  });

  it('movable and kernel modes online every eligible block into one zone; none and an auto-onlining kernel do nothing', () => {
    const root = tree({ blocks: bootPlusOffline([8, 9]) });
    expect(planOnlining(snapOf(root), 'movable', 301, all).map((p) => p.write)).toEqual(['online_movable', 'online_movable']);
    expect(planOnlining(snapOf(root), 'kernel', 301, all).map((p) => p.write)).toEqual(['online_kernel', 'online_kernel']);
    expect(planOnlining(snapOf(root), 'none', 301, all)).toEqual([]);
    const auto = tree({ autoOnline: 'online_movable', blocks: bootPlusOffline([8]) });
    expect(planOnlining(snapOf(auto), 'movable', 301, all)).toEqual([]);
  });

  it('never reads valid_zones of an offline block', () => {
    const root = tree({ blocks: [...bootPlusOffline([]), { index: 8, state: 'offline', zones: 'Normal' }] });
    // As unreadable as a block hot-plug is still adding (a folder: reading it fails even as root).
    const vz = join(root, 'devices/system/memory/memory8/valid_zones');
    rmSync(vz);
    mkdirSync(vz);
    expect(() => readFileSync(vz, 'utf8')).toThrow(/EISDIR/);
    const s = snapOf(root);
    expect(s.errors).toEqual([]);
    expect(s.blocks.find((b) => b.index === 8)).toEqual({ index: 8, state: 'offline', zones: [] });
  });

  it('onlines only blocks that appeared after start, unless a virtio-mem device owns the offline ones', () => {
    const plain = tree({ blocks: bootPlusOffline([8]) });
    const eligible = makeEligibility();
    expect(planOnlining(snapOf(plain), 'movable', 301, eligible(snapOf(plain)))).toEqual([]);
    const later = tree({ blocks: bootPlusOffline([8, 9]) });
    expect(planOnlining(snapOf(later), 'movable', 301, eligible(snapOf(later))).map((p) => p.index)).toEqual([9]);
    const vm = tree({ blocks: bootPlusOffline([8]), virtio: { virtio5: '0x0018' } });
    expect(planOnlining(snapOf(vm), 'movable', 301, makeEligibility()(snapOf(vm))).map((p) => p.index)).toEqual([8]);
  });

  it('writes the zone to memoryN/state and reports a refused write as a result', () => {
    const root = tree({ blocks: bootPlusOffline([8, 9]) });
    const results = applyOnlining(
      [
        { index: 8, write: 'online_movable' },
        { index: 77, write: 'online_kernel' },
      ],
      root,
    );
    expect(readFileSync(join(root, 'devices/system/memory/memory8/state'), 'utf8')).toBe('online_movable');
    expect(results[0]).toEqual({ index: 8, write: 'online_movable', ok: true });
    expect(results[1]?.ok).toBe(false);
    expect(results[1]?.error).toMatch(/ENOENT/);
  });

  it('puts a block the kernel refuses in the planned zone (EINVAL) into the other one', () => {
    const writes: string[] = [];
    const einval = (zone: string) => (path: string, text: string) => {
      writes.push(`${path.split('/').at(-2)}=${text}`);
      if (text === zone) throw Object.assign(new Error('invalid'), { code: 'EINVAL' });
    };
    expect(applyOnlining([{ index: 8, write: 'online_movable' }], '/sys', einval('online_movable'))).toEqual([{ index: 8, write: 'online_kernel', ok: true, refused: 'online_movable' }]);
    expect(writes).toEqual(['memory8=online_movable', 'memory8=online_kernel']);
    // Refused both ways (already online, say): one failed result naming both.
    const both = applyOnlining([{ index: 9, write: 'online_kernel' }], '/sys', () => {
      throw Object.assign(new Error('invalid'), { code: 'EINVAL' });
    });
    expect(both[0]).toMatchObject({ index: 9, write: 'online_kernel', ok: false });
    expect(both[0]?.error).toMatch(/EINVAL; online_movable: .*EINVAL/);
    // Another error (EBUSY, EPERM) is not a zone question: no second write.
    writes.length = 0;
    const busy = applyOnlining([{ index: 10, write: 'online_movable' }], '/sys', (p, t) => {
      writes.push(t);
      throw Object.assign(new Error('busy'), { code: 'EBUSY' });
    });
    expect(busy[0]).toMatchObject({ ok: false });
    expect(writes).toEqual(['online_movable']);
  });
});

describe('makeMemoryBlocksSource', () => {
  const cfg = { blocksIntervalMs: 100, blocksFullScanMs: 1000 };
  const states = (s: MemoryBlocksSnapshot) => s.blocks.map((b) => `${b.index}${b.state[1]}`).join(' ');

  it('emits at start, and again when a block appears (the listing changed)', async () => {
    const root = tree({ blocks: bootPlusOffline([8]) });
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const seen: string[] = [];
    ts.run(() => {
      makeMemoryBlocksSource(cfg, { sysRoot: root, scheduler: ts }).pipe(take(2)).subscribe((s) => seen.push(states(s)));
      ts.schedule(() => {
        mkdirSync(join(root, 'devices/system/memory/memory9'));
        writeFileSync(join(root, 'devices/system/memory/memory9/state'), 'offline\n');
        writeFileSync(join(root, 'devices/system/memory/memory9/valid_zones'), 'Normal Movable\n');
      }, 250);
    });
    expect(seen).toEqual(['0n 1n 2n 3n 8f', '0n 1n 2n 3n 8f 9f']);
    // Also runs on the real async scheduler.
    const real = await lastValueFrom(makeMemoryBlocksSource(cfg, { sysRoot: root }).pipe(take(1), toArray()));
    expect(real).toHaveLength(1);
  });

  it('sees a state change on request (rescan$) or at the periodic full scan, not by re-reading every tick', () => {
    const root = tree({ blocks: bootPlusOffline([8, 9]) });
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const seen: { atMs: number; s: string }[] = [];
    let fullReads = 0;
    ts.run(({ cold }) => {
      const read = (r: string) => {
        fullReads++;
        return readMemoryBlocks(r);
      };
      makeMemoryBlocksSource(cfg, { sysRoot: root, scheduler: ts, read, rescan$: cold('400ms r') })
        .pipe(takeUntil(timer(1500, ts)))
        .subscribe((s) => seen.push({ atMs: ts.now(), s: states(s) }));
      ts.schedule(() => writeFileSync(join(root, 'devices/system/memory/memory8/state'), 'online\n'), 250);
      ts.schedule(() => writeFileSync(join(root, 'devices/system/memory/memory9/state'), 'online\n'), 450);
    });
    expect(seen).toEqual([
      { atMs: 0, s: '0n 1n 2n 3n 8f 9f' },
      { atMs: 400, s: '0n 1n 2n 3n 8n 9f' },
      { atMs: 1400, s: '0n 1n 2n 3n 8n 9n' },
    ]);
    // Start, the rescan, and the full scan 1000 ms after it: 3 scans in 15 ticks.
    expect(fullReads).toBe(3);
  });
});
