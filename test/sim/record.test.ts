import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { parseTraceCsv } from '../../src/sim/trace-csv.ts';

const haveProc = existsSync('/proc/meminfo');

describe('memresize record', () => {
  it.skipIf(!haveProc)('samples this system into a trace that sim can replay', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'memresize-rec-')), 'trace.csv');
    expect(await main(['record', '--out', out, '--duration', '1.2s', '--interval', '400ms'])).toBe(0);
    const pts = parseTraceCsv(readFileSync(out, 'utf8'));
    expect(pts.length).toBeGreaterThanOrEqual(3);
    expect(pts[0]!.anonBytes).toBeGreaterThan(0);
    expect(pts[0]!.extra.mem_total_bytes).toBeGreaterThan(pts[0]!.anonBytes);
    expect(await main(['sim', '--trace', out, '--policy', 'static-boot', '--json'])).toBe(0);
  });

  it('reports a malformed trace with its line number', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'memresize-rec-')), 'bad.csv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bad, 't_s,anon_bytes,file_bytes\n0,1,2\n1,oops,2\n');
    expect(await main(['sim', '--trace', bad])).toBe(2);
  });
});
