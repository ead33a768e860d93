import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { decodeMessage, LineDecoder } from '../../src/protocol/codec.ts';
import { GUEST_TYPES, GuestMessageSchema, HOST_TYPES, HostMessageSchema, MAX_LINE_BYTES, negotiateVersion } from '../../src/protocol/messages.ts';

const texts = (d: LineDecoder, chunk: string) => d.push(Buffer.from(chunk)).map((f) => (f.ok ? f.text : `!${f.code}`));

describe('line decoder', () => {
  it('reassembles lines split across chunks and drops a trailing CR and empty lines', () => {
    const d = new LineDecoder();
    expect(texts(d, '{"a":')).toEqual([]);
    expect(texts(d, '1}\r\n\n{"b":2}\n{"c"')).toEqual(['{"a":1}', '{"b":2}']);
    expect(d.bufferedBytes).toBe(4);
    expect(texts(d, ':3}\n')).toEqual(['{"c":3}']);
  });

  it('accepts a line of exactly the limit and rejects one byte more, then recovers at the next newline', () => {
    const d = new LineDecoder(16);
    expect(texts(d, `${'x'.repeat(16)}\n`)).toEqual(['x'.repeat(16)]);
    expect(texts(d, 'y'.repeat(10))).toEqual([]);
    expect(texts(d, 'y'.repeat(10))).toEqual([]);
    expect(d.bufferedBytes).toBe(0);
    expect(d.push(Buffer.from('yyy\nok\n'))).toEqual([{ ok: false, code: 'line-too-long', bytes: 23 }, { ok: true, text: 'ok' }]);
  });

  it('uses a 64 KiB limit by default', () => {
    expect(MAX_LINE_BYTES).toBe(65536);
    const d = new LineDecoder();
    expect(d.push(Buffer.from(`${'z'.repeat(65537)}\n`))[0]).toMatchObject({ ok: false, code: 'line-too-long' });
  });

  fcTest.prop([fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '{', '"') , maxLength: 40 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 })])(
    'yields the same lines however the stream is cut into chunks',
    (lines, cuts) => {
      const stream = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const d = new LineDecoder();
      const out: string[] = [];
      let at = 0;
      let i = 0;
      while (at < stream.length) {
        const n = cuts[i++ % cuts.length] as number;
        for (const f of d.push(stream.subarray(at, at + n))) if (f.ok) out.push(f.text);
        at += n;
      }
      expect(out).toEqual(lines.filter((l) => l.trim() !== ''));
    },
  );

  fcTest.prop([fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 })])('never throws and never buffers more than the limit on arbitrary bytes', (chunks) => {
    const d = new LineDecoder(128);
    for (const c of chunks) {
      d.push(Buffer.from(c));
      expect(d.bufferedBytes).toBeLessThanOrEqual(128);
    }
  });
});

describe('message decoding', () => {
  const guest = (text: string) => decodeMessage(GuestMessageSchema, GUEST_TYPES, text);

  it('accepts a valid resize and drops unknown fields', () => {
    const res = guest('{"type":"resize","id":"g-1","kind":"grow","targetBytes":268435456,"reason":"psi-some","extra":1}');
    expect(res).toEqual({ ok: true, message: { type: 'resize', id: 'g-1', kind: 'grow', targetBytes: 268435456, reason: 'psi-some' } });
  });

  it('names the error: invalid JSON, unknown type, schema violation (with the id when readable)', () => {
    expect(guest('{nope')).toMatchObject({ ok: false, code: 'invalid-json' });
    expect(guest('[1,2]')).toMatchObject({ ok: false, code: 'unknown-type' });
    expect(guest('{"type":"welcome","version":1}')).toMatchObject({ ok: false, code: 'unknown-type' });
    expect(guest('{"type":"resize","id":"g-2","kind":"grow","targetBytes":-5,"reason":"x"}')).toMatchObject({ ok: false, code: 'schema', ref: 'g-2' });
    expect(guest('{"type":"resize","id":"g-3","kind":"grow","targetBytes":1.5,"reason":"x"}')).toMatchObject({ ok: false, code: 'schema' });
  });

  it('validates host messages on the guest side too', () => {
    const host = (text: string) => decodeMessage(HostMessageSchema, HOST_TYPES, text);
    expect(host('{"type":"ack","id":"g-1","outcome":"granted","grantedBytes":1}')).toMatchObject({ ok: true });
    expect(host('{"type":"ack","id":"g-1","outcome":"maybe","grantedBytes":1}')).toMatchObject({ ok: false, code: 'schema' });
    expect(host('{"type":"welcome","version":1,"minBytes":0,"maxBytes":1,"blockBytes":0,"requestedBytes":0,"pluggedBytes":0}')).toMatchObject({ ok: false, code: 'schema' });
  });

  fcTest.prop([fc.string({ maxLength: 200 })])('never throws on arbitrary text', (text) => {
    expect(typeof guest(text).ok).toBe('boolean');
  });

  it('negotiates the highest common version', () => {
    expect(negotiateVersion([1, 2, 3], [1, 2])).toBe(2);
    expect(negotiateVersion([7], [1])).toBeUndefined();
  });
});
