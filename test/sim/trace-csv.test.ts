import { describe, expect, it } from 'vitest';
import { formatTraceCsv, parseTraceCsv, TraceParseError } from '../../src/sim/trace-csv.ts';
import { traceWorkload } from '../../src/sim/workload.ts';

describe('trace CSV', () => {
  it('parses the required columns in any order, keeps extra columns and skips comments', () => {
    const pts = parseTraceCsv('# recorded\nfile_bytes,t_s,anon_bytes,psi_some_total_us\n10,0,100,5\n\n20,1.5,200,7\n');
    expect(pts).toEqual([
      { tS: 0, anonBytes: 100, fileBytes: 10, unmovableBytes: 0, extra: { psi_some_total_us: 5 } },
      { tS: 1.5, anonBytes: 200, fileBytes: 20, unmovableBytes: 0, extra: { psi_some_total_us: 7 } },
    ]);
  });

  it.each([
    ['t_s,anon_bytes\n0,1\n', 1, "lacks column 'file_bytes'"],
    ['t_s,anon_bytes,file_bytes\n0,1,2\n1,x,2\n', 3, "'x' is not a number"],
    ['t_s,anon_bytes,file_bytes\n0,1,2\n0,1,2\n', 3, 'does not increase'],
    ['t_s,anon_bytes,file_bytes\n0,1\n', 2, 'expected 3 values'],
    ['t_s,anon_bytes,file_bytes\n0,-1,2\n', 2, 'negative'],
    ['# only a comment\n', 2, 'no header'],
  ])('rejects malformed input with the line number (%#)', (text, line, message) => {
    try {
      parseTraceCsv(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TraceParseError);
      expect((err as TraceParseError).line).toBe(line);
      expect((err as Error).message).toContain(message);
    }
  });

  it('round-trips through the formatter and interpolates linearly between rows', () => {
    const pts = parseTraceCsv(formatTraceCsv([
      { tS: 0, anonBytes: 0, fileBytes: 100, unmovableBytes: 0, extra: {} },
      { tS: 10, anonBytes: 1000, fileBytes: 100, unmovableBytes: 50, extra: {} },
    ]));
    const w = traceWorkload(pts);
    expect(w.durationS).toBe(10);
    expect(w.at(2.5)).toEqual({ anonBytes: 250, fileBytes: 100, unmovableBytes: 12.5 });
    expect(w.at(99).anonBytes).toBe(1000);
  });
});
