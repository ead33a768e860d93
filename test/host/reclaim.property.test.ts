/**
 * Property of the agent's reclaim on contention: whatever VMs borrowed while an operator had
 * lowered another VM's max, once that max is back, a VM that keeps asking for its share gets
 * it, provided the borrowers' guests give back what they are asked (as the guest daemon does
 * when it has the surplus). And no cooperating guest is ever asked below its own share.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { MiB } from '../../src/config/units.ts';
import { alignDown } from '../../src/policy/align.ts';
import type { HostMessage } from '../../src/protocol/messages.ts';
import { line, makeHarness, settle, type Guest } from './helpers.ts';

const BLOCK = 2 * MiB;
const INTERVAL = 2000;
const RUNS = 200;

const vmArb = fc.record({ maxBlocks: fc.integer({ min: 1, max: 512 }), weight: fc.integer({ min: 1, max: 3 }) });
const stepArb = (n: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('grow' as const), vm: fc.nat(n - 1), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('shrink' as const), vm: fc.nat(n - 1), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('limits' as const), vm: fc.nat(n - 1), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
  );
const scenarioArb = fc
  .record({ vms: fc.array(vmArb, { minLength: 2, maxLength: 5 }), budgetFrac: fc.double({ min: 0.3, max: 1, noNaN: true }), starved: fc.nat() })
  .chain((s) => fc.record({ vms: fc.constant(s.vms), budgetFrac: fc.constant(s.budgetFrac), starved: fc.constant(s.starved % s.vms.length), steps: fc.array(stepArb(s.vms.length), { maxLength: 40 }) }));

describe('host agent: reclaim on contention', () => {
  // The property proves little unless the borrowers really had to give back.
  let contended = 0;
  afterAll(() => expect(contended).toBeGreaterThan(RUNS / 4));
  fcTest.prop([scenarioArb], { numRuns: RUNS })('a VM asking for its share gets it from cooperating borrowers', async ({ vms, budgetFrac, starved, steps }) => {
    const specs = vms.map((v, i) => ({ name: `vm${i}`, maxBytes: v.maxBlocks * BLOCK, weight: v.weight, requestsPerSec: 1000, burst: 1000 }));
    const budget = alignDown(budgetFrac * specs.reduce((s, v) => s + v.maxBytes, 0), BLOCK);
    const totalWeight = specs.reduce((s, v) => s + v.weight, 0);
    const shareOf = (i: number) => Math.min(specs[i]!.maxBytes, (budget * specs[i]!.weight) / totalWeight);
    const h = makeHarness(specs, budget, { reclaimIntervalMs: INTERVAL, floodLimit: 100_000 }, 'info');
    let seq = 0;
    const guests: Guest[] = specs.map((s) => {
      const g = h.connect(s.name);
      g.session.receive(line({ type: 'hello', versions: [1] }));
      return g;
    });
    const requested = (i: number) => h.agent.status()[i]!.requestedBytes;
    const resize = (i: number, kind: string, target: number) => guests[i]!.session.receive(line({ type: 'resize', id: `r-${++seq}`, kind, targetBytes: target, reason: 'prop' }));
    // Cooperating guests: every reclaim is accepted and followed by a shrink of that much.
    const answered = guests.map(() => 0);
    const cooperate = () => {
      guests.forEach((g, i) => {
        const asks = g.sent.filter((m): m is Extract<HostMessage, { type: 'reclaim' }> => m.type === 'reclaim');
        for (const ask of asks.slice(answered[i])) {
          g.session.receive(line({ type: 'reclaim-reply', id: ask.id, accepted: true, bytes: ask.bytes }));
          resize(i, 'shrink', Math.max(0, requested(i) - ask.bytes));
        }
        answered[i] = asks.length;
      });
    };
    const advance = async (ms: number) => {
      h.clock.increment(ms);
      await settle();
    };

    // The starved VM's max is lowered to nothing while the others grow as far as they may:
    // they borrow its share. Then anything happens.
    h.agent.setLimits(specs[starved]!.name, { minBytes: 0, maxBytes: 0 });
    specs.forEach((s, i) => i !== starved && resize(i, 'grow', s.maxBytes));
    await advance(1000);
    for (const step of steps) {
      if (step.t === 'wait') await advance(step.ms);
      else if (step.t === 'limits') h.agent.setLimits(specs[step.vm]!.name, { minBytes: 0, maxBytes: alignDown(step.frac * specs[step.vm]!.maxBytes, BLOCK) });
      else resize(step.vm, step.t, alignDown(step.frac * specs[step.vm]!.maxBytes, BLOCK));
      cooperate();
    }

    // Every max back where it was configured; the starved VM now asks for its share, retrying
    // as the daemon does after a budget denial, while the others cooperate.
    specs.forEach((s) => h.agent.setLimits(s.name, { minBytes: 0, maxBytes: s.maxBytes }));
    const want = alignDown(shareOf(starved), BLOCK);
    for (let round = 0; round < 6 && requested(starved) < want; round++) {
      resize(starved, 'grow', want);
      cooperate();
      await advance(INTERVAL + 1000);
    }
    expect(requested(starved)).toBeGreaterThanOrEqual(want);
    if (h.lines.some((l) => l.msg === 'reclaim asked' && l.reason === 'contention')) contended++;
    expect(h.agent.holdsBytes()).toBeLessThanOrEqual(budget);
    // No borrower was asked to go below its own share.
    for (const l of h.lines.filter((x) => x.msg === 'reclaim asked' && x.reason === 'contention')) {
      expect(Number(l.holds) - Number(l.bytes)).toBeGreaterThanOrEqual(alignDown(Number(l.share), BLOCK));
    }
  });
});
