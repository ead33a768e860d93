import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMeminfo } from '../../src/io/meminfo.ts';
import { parsePressure } from '../../src/io/psi-parse.ts';
import { parseBlockSize, parseIomemVirtioMem, parseValidZones, parseVirtioDeviceId } from '../../src/io/memory-blocks.ts';
import { parseMaps } from '../../src/io/self-protect.ts';

const meminfo = readFileSync(new URL('../fixtures/meminfo/linux-6.18.txt', import.meta.url), 'utf8');
const pressure = readFileSync(new URL('../fixtures/pressure/memory-busy.txt', import.meta.url), 'utf8');

describe('kernel-file parsers on arbitrary input', () => {
  it('never throw, and return a typed result', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        expect(typeof parseMeminfo(s).ok).toBe('boolean');
        expect(typeof parsePressure(s).ok).toBe('boolean');
        parseBlockSize(s);
        parseValidZones(s);
        parseVirtioDeviceId(s);
        parseIomemVirtioMem(s);
        parseMaps(s);
      }),
      { numRuns: 500 },
    );
  });

  it('reject every strict prefix of a real file that cuts a line short', () => {
    for (const [text, parse] of [
      [meminfo, parseMeminfo],
      [pressure, parsePressure],
    ] as const) {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: text.length - 2 }), (cut) => {
          const prefix = text.slice(0, cut);
          // A cut right after a newline is a shorter but well-formed file.
          fc.pre(!prefix.endsWith('\n'));
          const lastLine = prefix.slice(prefix.lastIndexOf('\n') + 1);
          const r = parse(prefix);
          if (r.ok) throw new Error(`accepted a cut line: ${JSON.stringify(lastLine)}`);
        }),
        { numRuns: 300 },
      );
    }
  });
});
