import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GuestConfigSchema } from '../../src/config/schema.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';
import { startGuest, type RunningGuest } from '../../src/daemon/guest.ts';
import { bootPlusOffline, makeSysTree } from '../fixtures/sysfs-tree.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the guest daemon with real drivers', () => {
  it('onlines a block hot-plugged after start into ZONE_MOVABLE (auto-movable, fixture sysfs) and logs it', async () => {
    const sys = makeSysTree({ blocks: bootPlusOffline([]) });
    cleanups.push(sys.cleanup);
    // The test process keeps its pages and oom score: only the onlining is under test.
    const config = GuestConfigSchema.parse({ memory: { lockMemory: false, oomScoreAdj: Number(readFileSync('/proc/self/oom_score_adj', 'utf8')), blocksIntervalMs: 100 } });
    const { log, lines } = makeMemoryLogger({ level: 'info' });
    const running: RunningGuest = await startGuest({ config, log, sysRoot: sys.root, dryRun: { minBytes: 0, maxBytes: 1 << 30, blockBytes: 2 << 20 } });
    cleanups.push(() => running.stop());
    await sleep(300);
    const dir = join(sys.root, 'devices/system/memory/memory9');
    mkdirSync(dir);
    writeFileSync(join(dir, 'valid_zones'), 'Normal Movable\n');
    writeFileSync(join(dir, 'state'), 'offline\n');
    for (let i = 0; i < 30 && readFileSync(join(dir, 'state'), 'utf8').trim() === 'offline'; i++) await sleep(100);
    expect(readFileSync(join(dir, 'state'), 'utf8')).toBe('online_movable');
    expect(lines.find((l) => l.msg === 'block onlined')).toMatchObject({ component: 'memory-blocks', block: 9, write: 'online_movable' });
    expect(lines.some((l) => l.msg === 'transition' && l.to === 'ready.idle')).toBe(true);
  });
});
