/**
 * Property tests of `available` (protocol 2): the agent tells a VM it refused for budget when
 * budget frees for it. Two promises, under any mix of grows, shrinks, partial unplugs, limit
 * and budget changes and waits among version-2 guests:
 * - an offer is real: the first guest to ask for what it was offered gets exactly that;
 * - no offer is missed: once things settle, a VM still waiting (refused, not told since) would
 *   be refused again, so nothing it could have had was left unannounced.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { MiB } from '../../src/config/units.ts';
import type { Ack, HostMessage } from '../../src/protocol/messages.ts';
import { line, makeHarness, settle, type Guest } from './helpers.ts';

const BLOCK = 2 * MiB;

const vmArb = fc.record({
  maxBlocks: fc.integer({ min: 16, max: 256 }),
  weight: fc.integer({ min: 1, max: 3 }),
  unplugShare: fc.constantFrom(1, 0.5),
  latencyMs: fc.integer({ min: 0, max: 200 }),
});

const stepArb = (vms: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('grow' as const), vm: fc.nat(vms - 1), blocks: fc.integer({ min: 1, max: 256 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('shrink' as const), vm: fc.nat(vms - 1), blocks: fc.integer({ min: 0, max: 128 }) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('limits' as const), vm: fc.nat(vms - 1), maxShare: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('budget' as const), blocks: fc.integer({ min: 16, max: 384 }) }) },
  );

const scenarioArb = fc
  .record({ vms: fc.array(vmArb, { minLength: 2, maxLength: 5 }), budgetBlocks: fc.integer({ min: 16, max: 384 }), answer: fc.boolean() })
  .chain((s) => fc.record({ vms: fc.constant(s.vms), budgetBlocks: fc.constant(s.budgetBlocks), answer: fc.constant(s.answer), steps: fc.array(stepArb(s.vms.length), { maxLength: 60 }) }));

const acks = (g: Guest) => g.sent.filter((m): m is Ack => m.type === 'ack');

describe('budget offers (available) under arbitrary version-2 guests', () => {
  const seen = new Map<string, number>();
  const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
  // The generators must reach both promises, or the property proves little.
  afterAll(() => {
    for (const k of ['offer', 'offer:honoured', 'waiting:refused-again']) expect(seen.get(k) ?? 0, k).toBeGreaterThan(0);
  });

  fcTest.prop([scenarioArb], { numRuns: 200 })('offers only what it grants, and misses no budget a refused VM could have', async ({ vms, budgetBlocks, answer, steps }) => {
    const specs = vms.map((v, i) => ({ name: `vm${i}`, maxBytes: v.maxBlocks * BLOCK, weight: v.weight, requestsPerSec: 1000, burst: 1000, fake: { unplugShare: v.unplugShare, latencyMs: v.latencyMs } }));
    const h = makeHarness(specs, budgetBlocks * BLOCK, { availableDelayMs: 500, floodLimit: 100_000 }, 'info');
    const guests = specs.map((s) => {
      const g = h.connect(s.name);
      g.session.receive(line({ type: 'hello', versions: [1, 2] }));
      return g;
    });
    let seq = 0;
    const ask = (i: number, kind: 'grow' | 'shrink', targetBytes: number): Ack => {
      const id = `r-${++seq}`;
      guests[i]!.session.receive(line({ type: 'resize', id, kind, targetBytes, reason: 'prop' }));
      return acks(guests[i]!).find((a) => a.id === id)!;
    };
    const offersRead = guests.map(() => 0);
    /** Guests that answer offers ask at once for what they were offered; the first must get exactly that. */
    const answerOffers = () => {
      let first = true;
      guests.forEach((g, i) => {
        const offers = g.sent.filter((m): m is Extract<HostMessage, { type: 'available' }> => m.type === 'available');
        for (const offer of offers.slice(offersRead[i])) {
          count('offer');
          if (!answer) continue;
          const ack = ask(i, 'grow', offer.bytes);
          if (first) {
            expect(ack).toMatchObject({ outcome: 'granted', grantedBytes: offer.bytes });
            count('offer:honoured');
          }
          first = false;
        }
        offersRead[i] = offers.length;
      });
    };

    for (const step of steps) {
      if (step.t === 'wait') {
        h.clock.increment(step.ms);
        await settle();
        answerOffers();
      } else if (step.t === 'budget') {
        h.agent.setBudget(step.blocks * BLOCK);
      } else if (step.t === 'limits') {
        const sp = specs[step.vm]!;
        h.agent.setLimits(sp.name, { minBytes: 0, maxBytes: Math.floor((sp.maxBytes / BLOCK) * step.maxShare) * BLOCK });
      } else {
        ask(step.vm, step.t, step.blocks * BLOCK);
      }
    }
    // Let unplugs finish and pending offers go out (several rounds: an answered offer frees nothing, but a partial unplug ends late).
    for (let i = 0; i < 4; i++) {
      h.clock.increment(5000);
      await settle();
      answerOffers();
    }

    // Who is still waiting: its last decision was a grow refused for budget, with no offer since.
    specs.forEach((sp, i) => {
      const mine = h.lines.filter((l) => l.vm === sp.name && ((l.msg === 'decision' && l.outcome !== 'busy') || l.msg === 'budget available'));
      const last = mine.at(-1);
      if (!last || last.msg !== 'decision' || last.kind !== 'grow' || last.reason !== 'budget') return;
      // Asking again for the same size now must be refused too (for budget, or at a max lowered
      // since): any growth it could get now was budget left unannounced.
      const again = ask(i, 'grow', Number(last.target));
      expect(again.outcome, `${sp.name} could get ${again.grantedBytes} after refusal ${String(last.requestId)} without being told`).toBe('denied');
      count('waiting:refused-again');
    });
  });
});
