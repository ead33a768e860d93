import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePressure } from '../../src/io/psi-parse.ts';

const fx = (name: string) => readFileSync(new URL(`../fixtures/pressure/${name}`, import.meta.url), 'utf8');

describe('parsePressure', () => {
  it('reads some and full lines with their averages and exact totals', () => {
    const r = parsePressure(fx('memory-busy.txt'));
    expect(r).toEqual({
      ok: true,
      value: {
        some: { avg10: 1.53, avg60: 0.87, avg300: 0.2, totalUs: 2349823 },
        full: { avg10: 0.5, avg60: 0.31, avg300: 0.07, totalUs: 839211 },
      },
    });
  });

  it('accepts a file without a full line (cpu.pressure on older kernels)', () => {
    const r = parsePressure(fx('cpu-no-full.txt'));
    expect(r.ok && r.value.full).toBeNull();
    expect(r.ok && r.value.some.totalUs).toBe(12);
  });

  it.each([
    ['truncated.txt', 'truncated'],
    ['garbled.txt', 'garbled'],
    ['empty.txt', 'empty'],
    ['missing-some.txt', 'missing-some'],
  ])('gives a typed error, not a throw, for %s', (file, code) => {
    const r = parsePressure(fx(file));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it('parses the real /proc/pressure/memory of this machine', () => {
    let text: string;
    try {
      text = readFileSync('/proc/pressure/memory', 'utf8');
    } catch {
      console.log('skip: no /proc/pressure/memory (kernel without PSI)');
      return;
    }
    const r = parsePressure(text);
    expect(r.ok).toBe(true);
  });
});
