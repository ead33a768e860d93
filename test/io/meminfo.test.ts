import { readFileSync } from 'node:fs';
import { takeUntil, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { makeMeminfoSource, parseMeminfo, readMeminfoOnce } from '../../src/io/meminfo.ts';

const fx = (name: string) => readFileSync(new URL(`../fixtures/meminfo/${name}`, import.meta.url), 'utf8');

describe('parseMeminfo', () => {
  it('parses every field of a real meminfo, kB to bytes, HugePages counts as counts', () => {
    const text = fx('linux-6.18.txt');
    const r = parseMeminfo(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const lines = text.trim().split('\n').length;
    expect(Object.keys(r.value.fields)).toHaveLength(lines);
    const total = Number(/^MemTotal:\s+(\d+) kB/m.exec(text)?.[1]);
    expect(r.value.memTotalBytes).toBe(total * 1024);
    expect(r.value.fields.HugePages_Total).toBe(Number(/^HugePages_Total:\s+(\d+)$/m.exec(text)?.[1]));
    expect(r.value.fields['Active(anon)']).toBeGreaterThanOrEqual(0);
  });

  it('falls back to MemFree + Cached on kernels without MemAvailable', () => {
    const r = parseMeminfo(fx('pre-3.14-no-memavailable.txt'));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.memAvailableBytes).toBe((r.value.fields.MemFree ?? 0) + (r.value.fields.Cached ?? 0));
  });

  it.each([
    ['truncated.txt', 'truncated'],
    ['garbled.txt', 'garbled'],
    ['empty.txt', 'empty'],
    ['missing-memtotal.txt', 'missing-field'],
  ])('gives a typed error for %s', (file, code) => {
    const r = parseMeminfo(fx(file));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it('turns a missing file into an unreadable reading', () => {
    const r = readMeminfoOnce('/nonexistent/meminfo', 5);
    expect(r).toMatchObject({ type: 'meminfo.error', code: 'unreadable', atMs: 5 });
  });
});

describe('makeMeminfoSource', () => {
  const cfg = { meminfoIntervalMs: 1000, meminfoFastIntervalMs: 100, meminfoFastForMs: 300 };
  const text = fx('linux-6.18.txt');

  it('samples at the interval, faster for one fast period after a hint, then slow again', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const atMs: number[] = [];
    ts.run(({ cold }) => {
      const fast$ = cold('1500ms a');
      makeMeminfoSource(cfg, { scheduler: ts, fast$, readText: () => text })
        .pipe(takeUntil(timer(3000, ts)))
        .subscribe((r) => atMs.push(r.atMs));
    });
    // Slow at 0 and 1000; the hint at 1500 reads at once and every 100 ms for 300 ms;
    // slow ticks resume one fast interval after the fast period.
    expect(atMs).toEqual([0, 1000, 1500, 1600, 1700, 1900, 2900]);
  });

  it('restarts the fast period at most once per period when hints come in bursts', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const atMs: number[] = [];
    ts.run(({ cold }) => {
      const fast$ = cold('100ms a 9ms b 9ms c 9ms d');
      makeMeminfoSource(cfg, { scheduler: ts, fast$, readText: () => text })
        .pipe(takeUntil(timer(1000, ts)))
        .subscribe((r) => atMs.push(r.atMs));
    });
    // 100: leading restart; trailing restart at 400 (end of the throttle) for hints b-d.
    expect(atMs).toEqual([0, 100, 200, 300, 400, 500, 600, 800]);
  });

  it('emits a failed read as a reading and keeps sampling', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    const types: string[] = [];
    ts.run(() => {
      let n = 0;
      makeMeminfoSource(cfg, { scheduler: ts, readText: () => (n++ === 0 ? 'garbage' : text) })
        .pipe(takeUntil(timer(1500, ts)))
        .subscribe((r) => types.push(r.type));
    });
    expect(types).toEqual(['meminfo.error', 'meminfo']);
  });
});
