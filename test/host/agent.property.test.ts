/**
 * Property tests of the host agent: any number of guests, any message sequence, any bytes,
 * any timing. Whatever they send, no device size outside [min, max], never more than the
 * budget held, never a second application of a retried id.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { MiB } from '../../src/config/units.ts';
import { alignDown } from '../../src/policy/align.ts';
import type { Ack } from '../../src/protocol/messages.ts';
import { line, makeHarness, settle, type Guest } from './helpers.ts';

const BLOCK = 2 * MiB;
const INTERVAL = 5000;

const vmArb = fc.record({
  minBlocks: fc.integer({ min: 0, max: 64 }),
  spanBlocks: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 512 })),
  weight: fc.integer({ min: 1, max: 4 }),
  plugShare: fc.constantFrom(1, 0.5, 0),
  unplugShare: fc.constantFrom(1, 0.3, 0),
  latencyMs: fc.integer({ min: 0, max: 200 }),
});

/** Guests old and new: version 1 only, both, or 2 only (the agent speaks both). */
const versionsArb = fc.constantFrom([1], [1, 2], [2]);

const stepArb = (vms: number) =>
  fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('hello' as const), vm: fc.nat(vms - 1), versions: versionsArb }), weight: 1 },
    {
      weight: 8,
      arbitrary: fc.record({
      t: fc.constant('resize' as const),
      vm: fc.nat(vms - 1),
      id: fc.integer({ min: 1, max: 12 }).map((n) => `r-${n}`),
      kind: fc.constantFrom('grow', 'shrink', 'hold'),
        target: fc.oneof(fc.integer({ min: 0, max: 1200 * MiB }), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 3 * MiB + 1)),
      }),
    },
    { arbitrary: fc.record({ t: fc.constant('bytes' as const), vm: fc.nat(vms - 1), bytes: fc.uint8Array({ maxLength: 200 }) }), weight: 1 },
    { arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3000 }) }), weight: 3 },
    { arbitrary: fc.record({ t: fc.constant('reconnect' as const), vm: fc.nat(vms - 1), versions: versionsArb }), weight: 1 },
    { arbitrary: fc.record({ t: fc.constant('outage' as const), vm: fc.nat(vms - 1), up: fc.boolean() }), weight: 1 },
    // An operator moving a VM's max (within its configured bounds) moves its share: lowered,
    // others borrow; raised again, they hold its share and are asked for it back.
    { arbitrary: fc.record({ t: fc.constant('limits' as const), vm: fc.nat(vms - 1), maxShare: fc.double({ min: 0, max: 1, noNaN: true }) }), weight: 1 },
  );

const scenarioArb = fc
  // Half the budgets are tight (a few VMs' worth), so refusals, borrowing and offers of freed budget happen.
  .record({ vms: fc.array(vmArb, { minLength: 1, maxLength: 6 }), budgetBlocks: fc.oneof(fc.integer({ min: 0, max: 1024 }), fc.integer({ min: 8, max: 96 })) })
  .chain((s) =>
    fc.record({
      vms: fc.constant(s.vms),
      budgetBlocks: fc.constant(s.budgetBlocks),
      versions: fc.array(versionsArb, { minLength: s.vms.length, maxLength: s.vms.length }),
      steps: fc.array(stepArb(s.vms.length), { maxLength: 80 }),
    }),
  );

describe('host agent under arbitrary guests', () => {
  // The generators must reach the interesting cases, or the property proves little.
  const seen = new Map<string, number>();
  afterAll(() => {
    for (const k of ['granted', 'partial', 'denied:budget', 'denied:at-max', 'busy', 'done:partial', 'reclaim:limits']) expect(seen.get(k) ?? 0, k).toBeGreaterThan(0);
  });

  fcTest.prop([scenarioArb], { numRuns: 300 })('never sizes a device outside its bounds or over budget, never applies a retried id twice, and says `available` only to version-2 guests it refused', async ({ vms, budgetBlocks, versions, steps }) => {
    const budget = budgetBlocks * BLOCK;
    const specs = vms.map((v, i) => ({
      name: `vm${i}`,
      minBytes: v.minBlocks * BLOCK,
      maxBytes: (v.minBlocks + v.spanBlocks) * BLOCK,
      weight: v.weight,
      requestsPerSec: 20,
      burst: 3,
      fake: { plugShare: v.plugShare, unplugShare: v.unplugShare, latencyMs: v.latencyMs },
    }));
    const h = makeHarness(specs, budget, { floodLimit: 10, reclaimIntervalMs: INTERVAL }, 'info');
    // A guest's first words on a new connection are its hello (the generator can add more).
    const connect = (name: string, offered: readonly number[]) => {
      const g = h.connect(name);
      g.session.receive(line({ type: 'hello', versions: offered }));
      return g;
    };
    const guests: Guest[] = specs.map((s, i) => connect(s.name, versions[i]!));
    const allGuests: Guest[][] = specs.map((_, i) => [guests[i] as Guest]);

    for (const step of steps) {
      if (step.t === 'wait') {
        h.clock.increment(step.ms);
        await settle();
      } else if (step.t === 'outage') {
        h.adapters[specs[step.vm]!.name]!.setAvailable(step.up);
      } else if (step.t === 'limits') {
        const sp = specs[step.vm]!;
        const max = sp.minBytes + Math.floor(((sp.maxBytes - sp.minBytes) / BLOCK) * step.maxShare) * BLOCK;
        h.agent.setLimits(sp.name, { minBytes: sp.minBytes, maxBytes: max });
      } else {
        let g = guests[step.vm] as Guest;
        if (step.t === 'reconnect' || g.closed) {
          g = connect(specs[step.vm]!.name, step.t === 'reconnect' ? step.versions : [1, 2]);
          guests[step.vm] = g;
          allGuests[step.vm]!.push(g);
        }
        if (step.t === 'hello') g.session.receive(line({ type: 'hello', versions: step.versions }));
        else if (step.t === 'resize') g.session.receive(line({ type: 'resize', id: step.id, kind: step.kind, targetBytes: step.target, reason: 'prop' }));
        else if (step.t === 'bytes') g.session.receive(Buffer.from(step.bytes));
      }
      expect(h.agent.holdsBytes()).toBeLessThanOrEqual(budget);
    }

    // Reclaim: block-sized asks only; a contention ask never exceeds what the VM held above its
    // share, and no VM is asked again within the interval.
    const lastAsk = new Map<string, number>();
    for (const l of h.lines.filter((x) => x.msg === 'reclaim asked')) {
      const vm = String(l.vm);
      const bytes = Number(l.bytes);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes % BLOCK).toBe(0);
      seen.set(`reclaim:${String(l.reason)}`, (seen.get(`reclaim:${String(l.reason)}`) ?? 0) + 1);
      if (l.reason === 'contention') {
        expect(bytes).toBeLessThanOrEqual(Number(l.holds) - alignDown(Number(l.share), BLOCK));
        const prev = lastAsk.get(vm);
        if (prev !== undefined) expect(Number(l.time) - prev).toBeGreaterThanOrEqual(INTERVAL);
      }
      lastAsk.set(vm, Number(l.time));
    }

    specs.forEach((s, i) => {
      for (const t of h.targets[s.name]!) {
        expect(t).toBeGreaterThanOrEqual(s.minBytes);
        expect(t).toBeLessThanOrEqual(s.maxBytes);
        expect(t % BLOCK).toBe(0);
      }
      // Final answers per id are identical however often the id came back, and only the
      // first one touched the device.
      const finals = new Map<string, Ack>();
      for (const g of allGuests[i]!) {
        for (const m of g.sent) {
          if (m.type !== 'ack' || m.outcome === 'busy') continue;
          const first = finals.get(m.id);
          if (first) expect(m).toEqual(first);
          else finals.set(m.id, m);
        }
      }
      for (const g of allGuests[i]!) {
        for (const m of g.sent) {
          const key = m.type === 'ack' ? (m.outcome === 'denied' ? `denied:${m.reason}` : m.outcome) : m.type === 'done' ? `done:${m.status}` : m.type;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      const applied = [...finals.values()].filter((a) => a.outcome !== 'denied').length;
      expect(h.targets[s.name]!.length).toBe(applied);
      // `available` only to a session that settled on version 2, within bounds, on the block
      // grid, and only after a refusal for budget that no offer answered yet (offers as such:
      // available.property.test.ts).
      for (const g of allGuests[i]!) {
        let version = 0;
        let refused = false;
        for (const m of g.sent) {
          if (m.type === 'welcome') version = m.version;
          if (m.type === 'ack' && m.reason === 'budget') refused = true;
          if (m.type !== 'available') continue;
          expect(version).toBe(2);
          expect(refused).toBe(true);
          refused = false;
          expect(m.bytes).toBeGreaterThanOrEqual(s.minBytes);
          expect(m.bytes).toBeLessThanOrEqual(s.maxBytes);
          expect(m.bytes % BLOCK).toBe(0);
        }
      }
    });
  });

  fcTest.prop([fc.array(fc.uint8Array({ maxLength: 4096 }), { maxLength: 40 })], { numRuns: 200 })(
    'arbitrary bytes never crash the agent, and a guest that then behaves is served',
    (chunks) => {
      const h = makeHarness([{ name: 'vm', maxBytes: 1024 * MiB }], 4096 * MiB, { floodLimit: 100_000, linesPerSec: 100_000 });
      const g = h.connect('vm');
      for (const c of chunks) g.session.receive(Buffer.from(c));
      g.sent.length = 0;
      g.session.receive(Buffer.from('\n'));
      g.session.receive(line({ type: 'hello', versions: [1] }));
      g.session.receive(line({ type: 'resize', id: 'after-garbage', kind: 'grow', targetBytes: 64 * MiB, reason: 'x' }));
      const ack = g.sent.find((m) => m.type === 'ack');
      // The id may have been used by the garbage (a valid resize in random bytes is unlikely
      // but possible); either way the agent answers.
      expect(ack).toMatchObject({ id: 'after-garbage' });
    },
  );
});
