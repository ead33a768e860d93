import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { line, makeHarness, settle, type Guest, type Harness } from './helpers.ts';

const hello = { type: 'hello', versions: [1], idPrefix: 'g' };
const grow = (id: string, targetBytes: number) => ({ type: 'resize', id, kind: 'grow', targetBytes, reason: 'psi-some' });

describe('host agent', () => {
  it('welcomes a guest with its bounds and the device state, then grants and reports done', async () => {
    const h = makeHarness([{ name: 'vm1', minBytes: 0, maxBytes: 2 * GiB }], 8 * GiB);
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    expect(g.sent[0]).toEqual({ type: 'welcome', version: 1, minBytes: 0, maxBytes: 2 * GiB, blockBytes: 2 * MiB, requestedBytes: 0, pluggedBytes: 0 });
    g.session.receive(line(grow('g-1', 256 * MiB)));
    expect(g.sent[1]).toEqual({ type: 'ack', id: 'g-1', outcome: 'granted', grantedBytes: 256 * MiB });
    h.clock.increment(1000);
    await settle();
    expect(g.sent[2]).toEqual({ type: 'done', id: 'g-1', status: 'complete', pluggedBytes: 256 * MiB });
  });

  it('answers a retried id with the same ack and done, without touching the device again', async () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }], 8 * GiB);
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    g.session.receive(line(grow('g-1', 256 * MiB)));
    h.clock.increment(1000);
    await settle();
    g.session.receive(line(grow('g-2', 512 * MiB)));
    h.clock.increment(1000);
    await settle();
    g.sent.length = 0;
    g.session.receive(line(grow('g-1', 256 * MiB)));
    expect(g.sent).toEqual([
      { type: 'ack', id: 'g-1', outcome: 'granted', grantedBytes: 256 * MiB },
      { type: 'done', id: 'g-1', status: 'complete', pluggedBytes: 256 * MiB },
    ]);
    expect(h.targets.vm1).toEqual([256 * MiB, 512 * MiB]);
    expect(h.adapters.vm1!.state()!.pluggedBytes).toBe(512 * MiB);
  });

  it('says busy over the request rate, with the time until the next token', () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 8 * GiB, requestsPerSec: 2, burst: 1 }], 16 * GiB);
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    g.session.receive(line(grow('g-1', 128 * MiB)));
    g.session.receive(line(grow('g-2', 256 * MiB)));
    expect(g.sent[2]).toMatchObject({ type: 'ack', id: 'g-2', outcome: 'busy', reason: 'rate-limited', retryAfterMs: 500 });
    h.clock.increment(500);
    g.session.receive(line(grow('g-2', 256 * MiB)));
    // g-1's done arrived meanwhile, at the virtual time the fake device finished.
    expect(g.sent[3]).toMatchObject({ type: 'done', id: 'g-1', status: 'complete' });
    expect(g.sent[4]).toMatchObject({ type: 'ack', id: 'g-2', outcome: 'granted' });
  });

  it('says busy while the hypervisor is unreachable, and welcomes a waiting guest once it is back', () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }], 8 * GiB);
    h.adapters.vm1!.setAvailable(false);
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    expect(g.sent).toEqual([]);
    h.adapters.vm1!.setAvailable(true);
    expect(g.sent[0]).toMatchObject({ type: 'welcome' });
    h.adapters.vm1!.setAvailable(false);
    g.session.receive(line(grow('g-1', 128 * MiB)));
    expect(g.sent[1]).toMatchObject({ outcome: 'busy', reason: 'hypervisor-unavailable', retryAfterMs: 1000 });
  });

  it('replies to garbage with an error and keeps serving; a flood disconnects that VM alone', () => {
    const h = makeHarness([{ name: 'a', maxBytes: 2 * GiB }, { name: 'b', maxBytes: 2 * GiB }], 8 * GiB, { floodLimit: 5 });
    const a = h.connect('a');
    const b = h.connect('b');
    a.session.receive(Buffer.from('not json\n'));
    expect(a.sent[0]).toMatchObject({ type: 'error', code: 'invalid-json' });
    a.session.receive(Buffer.from(`${'x'.repeat(70_000)}\n`));
    expect(a.sent[1]).toMatchObject({ type: 'error', code: 'line-too-long' });
    a.session.receive(line({ type: 'resize', id: 'a-1', kind: 'grow', targetBytes: 1, reason: 'x' }));
    expect(a.sent[2]).toMatchObject({ type: 'error', code: 'handshake-required', ref: 'a-1' });
    expect(a.closed).toBeNull();
    a.session.receive(Buffer.from('{"type":"nope"}\n{"type":"resize"}\n'));
    expect(a.closed).toBe('flood');
    expect(a.sent.at(-1)).toMatchObject({ type: 'error', code: 'flood' });
    expect(a.session.counters).toMatchObject({ invalidJson: 1, lineTooLong: 1, unknownType: 1, schema: 1 });
    b.session.receive(line(hello));
    b.session.receive(line(grow('b-1', 128 * MiB)));
    expect(b.sent[1]).toMatchObject({ type: 'ack', outcome: 'granted' });
  });

  it('refuses a guest without a common protocol version', () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }], 8 * GiB);
    const g = h.connect('vm1');
    g.session.receive(line({ type: 'hello', versions: [9] }));
    expect(g.sent[0]).toMatchObject({ type: 'error', code: 'version' });
    expect(g.closed).toBe('version');
  });

  it('tells a connected guest about new limits and asks it to give memory back', () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }], 8 * GiB);
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    h.agent.setLimits('vm1', { minBytes: 0, maxBytes: GiB });
    expect(g.sent[1]).toEqual({ type: 'limits', minBytes: 0, maxBytes: GiB });
    const id = h.agent.requestReclaim('vm1', 256 * MiB);
    expect(g.sent[2]).toEqual({ type: 'reclaim', id, bytes: 256 * MiB });
  });

  it('reports a partial unplug with the size the device really reached', async () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB, fake: { unplugShare: 0.5 } }], 8 * GiB);
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    g.session.receive(line(grow('g-1', GiB)));
    h.clock.increment(1000);
    await settle();
    g.session.receive(line({ type: 'resize', id: 'g-2', kind: 'shrink', targetBytes: 0, reason: 'relaxed' }));
    h.clock.increment(5000);
    await settle();
    expect(g.sent.at(-1)).toEqual({ type: 'done', id: 'g-2', status: 'partial', pluggedBytes: 512 * MiB });
  });

  it('logs every decision with its inputs and rule', () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: GiB }], 8 * GiB, {}, 'info');
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    g.session.receive(line(grow('g-1', 2 * GiB)));
    const d = h.lines.find((l) => l.msg === 'decision');
    expect(d).toMatchObject({ vm: 'vm1', requestId: 'g-1', target: 2 * GiB, requested: 0, plugged: 0, min: 0, max: GiB, budget: 8 * GiB, outcome: 'partial', granted: GiB, reason: 'at-max', rule: 'bounds' });
  });
});

describe('host agent in virtual time (as the simulator runs it)', () => {
  it('runs from bare VM configs and delivers done at the virtual time the device finished, synchronously', async () => {
    const { SimulatedClock } = await import('xstate');
    const { HostDefaultsSchema, FakeAdapterSchema } = await import('../../src/config/host.ts');
    const { createHostAgent } = await import('../../src/host/agent.ts');
    const { makeFakeAdapter } = await import('../../src/host/fake-adapter.ts');
    const { makeMemoryLogger } = await import('../../src/io/log.ts');
    const clock = new SimulatedClock();
    const adapter = makeFakeAdapter(FakeAdapterSchema.parse({ kind: 'fake', latencyMs: 5, plugBytesPerSec: GiB }), clock);
    const agent = createHostAgent({
      config: { budgetBytes: 4 * GiB, defaults: HostDefaultsSchema.parse({}), vms: [{ name: 'sim1', minBytes: 0, maxBytes: 2 * GiB, weight: 1 }] },
      adapters: { sim1: adapter },
      clock,
      log: makeMemoryLogger({ level: 'silent' }).log,
    });
    const sent: { at: number; msg: unknown }[] = [];
    const session = agent.attach('sim1', { send: (msg) => sent.push({ at: clock.now(), msg }), close: () => {} });
    session.handle({ type: 'hello', versions: [1] });
    session.handle({ type: 'resize', id: 's-1', kind: 'grow', targetBytes: 256 * MiB, reason: 'sim' });
    // xstate's SimulatedClock moves `now` to the end of an increment before firing timers,
    // so step it in 1 ms ticks. No await: the fake adapter reports from its timer.
    for (let t = 0; t < 1000; t++) clock.increment(1);
    expect(sent.map((s) => [s.at, (s.msg as { type: string }).type])).toEqual([
      [0, 'welcome'],
      [0, 'ack'],
      [255, 'done'],
    ]);
  });
});

describe('host agent: borrowed budget is returned on demand', () => {
  const msgs = (g: { sent: { type: string }[] }, type: string) => g.sent.filter((m) => m.type === type);

  /** vm1 borrows while vm2's max (and so its share) is small; then vm2's max is raised. */
  async function borrowed(defaults = {}) {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }, { name: 'vm2', maxBytes: 256 * MiB }], 2 * GiB, defaults, 'info');
    const g1 = h.connect('vm1');
    const g2 = h.connect('vm2');
    g1.session.receive(line(hello));
    g2.session.receive(line(hello));
    g1.session.receive(line(grow('g-1', 1792 * MiB)));
    expect(msgs(g1, 'ack')[0]).toMatchObject({ outcome: 'granted', grantedBytes: 1792 * MiB });
    h.clock.increment(1000);
    await settle();
    h.agent.setLimits('vm2', { minBytes: 0, maxBytes: 2 * GiB });
    return { h, g1, g2 };
  }

  it('asks a VM above its share for what a VM under its share was refused', async () => {
    const { h, g1, g2 } = await borrowed();
    // vm2's share is now 1 GiB; only 256 MiB of the budget is free.
    g2.session.receive(line(grow('g-1', GiB)));
    expect(msgs(g2, 'ack')[0]).toMatchObject({ outcome: 'partial', grantedBytes: 256 * MiB, reason: 'budget' });
    expect(msgs(g1, 'reclaim')).toEqual([{ type: 'reclaim', id: 'reclaim-1', bytes: 768 * MiB }]);
    const asked = h.lines.find((l) => l.msg === 'reclaim asked')!;
    expect(asked).toMatchObject({ vm: 'vm1', reason: 'contention', forVm: 'vm2', shortfall: 768 * MiB });

    // vm1 gives it back with an ordinary shrink; vm2's next grow gets its share.
    g1.session.receive(line({ type: 'reclaim-reply', id: 'reclaim-1', accepted: true, bytes: 768 * MiB }));
    g1.session.receive(line({ type: 'resize', id: 'g-2', kind: 'shrink', targetBytes: GiB, reason: 'host-reclaim:reclaim-1' }));
    h.clock.increment(5000);
    await settle();
    g2.session.receive(line(grow('g-2', GiB)));
    expect(msgs(g2, 'ack')[1]).toMatchObject({ outcome: 'granted', grantedBytes: GiB });
    expect(h.agent.holdsBytes()).toBeLessThanOrEqual(2 * GiB);
    expect(h.lines.find((l) => l.msg === 'reclaim reply')).toMatchObject({ vm: 'vm1', accepted: true });
  });

  it('asks a borrower at most once per reclaimIntervalMs, however often the starved VM retries', async () => {
    const { h, g1, g2 } = await borrowed({ reclaimIntervalMs: 10_000 });
    g2.session.receive(line(grow('g-1', GiB)));
    h.clock.increment(1000);
    g2.session.receive(line(grow('g-2', GiB)));
    g2.session.receive(line(grow('g-3', GiB)));
    expect(msgs(g1, 'reclaim')).toHaveLength(1);
    h.clock.increment(10_000);
    g2.session.receive(line(grow('g-4', GiB)));
    expect(msgs(g1, 'reclaim')).toHaveLength(2);
  });

  it('asks nobody when the starved VM asked beyond its share, or when reclaimOnContention is off', async () => {
    const { g1, g2 } = await borrowed({ reclaimOnContention: false });
    g2.session.receive(line(grow('g-1', GiB)));
    expect(msgs(g2, 'ack')[0]).toMatchObject({ outcome: 'partial', reason: 'budget' });
    expect(msgs(g1, 'reclaim')).toEqual([]);

    const h2 = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }, { name: 'vm2', maxBytes: 2 * GiB }], 2 * GiB);
    const a = h2.connect('vm1');
    const b = h2.connect('vm2');
    a.session.receive(line(hello));
    b.session.receive(line(hello));
    a.session.receive(line(grow('g-1', GiB)));
    b.session.receive(line(grow('g-1', GiB)));
    // vm1 at its share wants more: denied for budget, but that is borrowing, not a shortfall.
    a.session.receive(line(grow('g-2', 2 * GiB)));
    expect(msgs(a, 'ack')[1]).toMatchObject({ outcome: 'denied', reason: 'budget' });
    expect(msgs(b, 'reclaim')).toEqual([]);
  });

  it('does not ask a borrower that has no guest connected', async () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }, { name: 'vm2', maxBytes: 256 * MiB }], 2 * GiB);
    const g1 = h.connect('vm1');
    g1.session.receive(line(hello));
    g1.session.receive(line(grow('g-1', 1792 * MiB)));
    h.clock.increment(1000);
    await settle();
    g1.session.detach();
    h.agent.setLimits('vm2', { minBytes: 0, maxBytes: 2 * GiB });
    const g2 = h.connect('vm2');
    g2.session.receive(line(hello));
    g2.session.receive(line(grow('g-1', GiB)));
    expect(msgs(g2, 'ack')[0]).toMatchObject({ outcome: 'partial', reason: 'budget' });
    expect(msgs(g1, 'reclaim')).toEqual([]);
  });

  /** One VM (max 2 GiB) whose device holds 1.5 GiB. */
  async function holding1536(defaults = {}) {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }], 8 * GiB, defaults, 'info');
    const g = h.connect('vm1');
    g.session.receive(line(hello));
    g.session.receive(line(grow('g-1', 1536 * MiB)));
    h.clock.increment(1000);
    await settle();
    return { h, g };
  }

  it('asks a VM whose max was lowered below what it holds for the difference', async () => {
    const { h, g } = await holding1536();
    h.agent.setLimits('vm1', { minBytes: 0, maxBytes: GiB });
    expect(msgs(g, 'limits')).toEqual([{ type: 'limits', minBytes: 0, maxBytes: GiB }]);
    expect(msgs(g, 'reclaim')).toEqual([{ type: 'reclaim', id: 'reclaim-1', bytes: 512 * MiB }]);
    expect(h.lines.find((l) => l.msg === 'reclaim asked')).toMatchObject({ reason: 'limits', maxBytes: GiB });
  });

  it('asks a guest that connects while its device holds more than its max, right after the welcome', () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: GiB, fake: { initialBytes: 1536 * MiB } }], 8 * GiB);
    const g = h.connect('vm1');
    expect(msgs(g, 'reclaim')).toEqual([]);
    g.session.receive(line(hello));
    expect(g.sent.map((m) => m.type)).toEqual(['welcome', 'reclaim']);
    expect(msgs(g, 'reclaim')[0]).toMatchObject({ bytes: 512 * MiB });
  });

  it('asks again after the interval when the guest refused a lowered max because it was mid-resize', async () => {
    const { h, g } = await holding1536({ reclaimIntervalMs: 10_000 });
    h.agent.setLimits('vm1', { minBytes: 0, maxBytes: GiB });
    g.session.receive(line({ type: 'reclaim-reply', id: 'reclaim-1', accepted: false, bytes: 0, reason: 'resize-in-progress' }));
    h.clock.increment(9_000);
    expect(msgs(g, 'reclaim')).toHaveLength(1);
    h.clock.increment(1_000);
    expect(msgs(g, 'reclaim')).toEqual([
      { type: 'reclaim', id: 'reclaim-1', bytes: 512 * MiB },
      { type: 'reclaim', id: 'reclaim-2', bytes: 512 * MiB },
    ]);
    // Accepted (or refused for another reason, such as no surplus): no more asks.
    g.session.receive(line({ type: 'reclaim-reply', id: 'reclaim-2', accepted: false, bytes: 0, reason: 'no-surplus' }));
    h.clock.increment(60_000);
    expect(msgs(g, 'reclaim')).toHaveLength(2);
  });
});

describe('host agent: a VM refused budget is told when it frees (protocol 2)', () => {
  const msgs = (g: { sent: { type: string }[] }, type: string) => g.sent.filter((m) => m.type === type);
  const hello2 = { type: 'hello', versions: [1, 2], idPrefix: 'g' };

  /** Two VMs with 2 GiB maxes on a 2 GiB budget, each holding its 1 GiB share; vm2 asks for 1.5 GiB. */
  async function contended(hello2ForVm2: boolean) {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }, { name: 'vm2', maxBytes: 2 * GiB }], 2 * GiB, { budgetRetryAfterMs: 30_000, availableDelayMs: 500 }, 'info');
    const g1 = h.connect('vm1');
    const g2 = h.connect('vm2');
    g1.session.receive(line(hello2));
    g2.session.receive(line(hello2ForVm2 ? hello2 : hello));
    g1.session.receive(line(grow('g-1', GiB)));
    g2.session.receive(line(grow('g-1', GiB)));
    h.clock.increment(1000);
    await settle();
    g2.session.receive(line(grow('g-2', 1536 * MiB)));
    return { h, g1, g2 };
  }

  /** vm1 shrinks to `toBytes` (its max lowered to that first, unless `keepMax`) and the unplug runs to its end. */
  async function release(c: { h: Harness; g1: Guest }, id: string, toBytes: number, keepMax = false) {
    if (!keepMax) c.h.agent.setLimits('vm1', { minBytes: 0, maxBytes: toBytes });
    c.g1.session.receive(line({ type: 'resize', id, kind: 'shrink', targetBytes: toBytes, reason: keepMax ? 'relaxed-surplus' : 'host-reclaim' }));
    c.h.clock.increment(5000);
    await settle();
    c.h.clock.increment(1000);
    await settle();
  }

  it('settles on version 2, names the wait on a budget denial, and says available once vm1 gives memory back', async () => {
    const { h, g1, g2 } = await contended(true);
    expect(msgs(g2, 'welcome')[0]).toMatchObject({ version: 2 });
    expect(msgs(g2, 'ack')[1]).toMatchObject({ outcome: 'denied', reason: 'budget', retryAfterMs: 30_000 });
    expect(h.lines.find((l) => l.msg === 'decision' && l.requestId === 'g-2')).toMatchObject({ outcome: 'denied', retryAfterMs: 30_000 });

    // vm1's max is lowered to 512 MiB and it gives the rest back: the unplug frees its blocks
    // over ~1 s; vm2 hears of it once, with what it could get now.
    h.agent.setLimits('vm1', { minBytes: 0, maxBytes: 512 * MiB });
    g1.session.receive(line({ type: 'resize', id: 'g-2', kind: 'shrink', targetBytes: 512 * MiB, reason: 'host-reclaim:reclaim-1' }));
    expect(msgs(g2, 'available')).toEqual([]);
    h.clock.increment(5000);
    await settle();
    h.clock.increment(1000);
    expect(msgs(g2, 'available')).toEqual([{ type: 'available', bytes: 1536 * MiB }]);
    expect(h.lines.find((l) => l.msg === 'budget available')).toMatchObject({ vm: 'vm2', bytes: 1536 * MiB, asked: 1536 * MiB, requested: GiB });
    // Its next ask is granted; a later free is not announced again (it is no longer refused).
    g2.session.receive(line(grow('g-3', 1536 * MiB)));
    expect(msgs(g2, 'ack')[2]).toMatchObject({ outcome: 'granted', grantedBytes: 1536 * MiB });
    await release({ h, g1 }, 'g-3', 256 * MiB);
    expect(msgs(g2, 'available')).toHaveLength(1);
  });

  it('offers nothing the grant rule keeps for the VM that freed it (its unused share)', async () => {
    const { h, g1, g2 } = await contended(true);
    await release({ h, g1 }, 'g-2', 512 * MiB, true);
    expect(h.agent.holdsBytes()).toBe(1536 * MiB);
    expect(msgs(g2, 'available')).toEqual([]);
  });

  it('tells a version-1 guest neither the wait nor the free budget (it would not understand)', async () => {
    const { h, g1, g2 } = await contended(false);
    expect(msgs(g2, 'welcome')[0]).toMatchObject({ version: 1 });
    expect(msgs(g2, 'ack')[1]).toMatchObject({ outcome: 'denied', reason: 'budget' });
    expect(msgs(g2, 'ack')[1]).not.toHaveProperty('retryAfterMs');
    await release({ h, g1 }, 'g-2', 512 * MiB);
    expect(h.agent.holdsBytes()).toBe(1536 * MiB);
    expect(msgs(g2, 'available')).toEqual([]);
    // The budget is there: its next ask (every cooldownAfterDenyMs) gets it.
    g2.session.receive(line(grow('g-3', 1536 * MiB)));
    expect(msgs(g2, 'ack')[2]).toMatchObject({ outcome: 'granted', grantedBytes: 1536 * MiB });
  });

  it('forgets a refusal when its guest reconnects: a new connection starts by asking', async () => {
    const { h, g1, g2 } = await contended(true);
    g2.session.detach('restart');
    const again = h.connect('vm2');
    again.session.receive(line(hello));
    await release({ h, g1 }, 'g-2', 512 * MiB);
    expect(h.agent.holdsBytes()).toBe(1536 * MiB);
    expect(msgs(again, 'available')).toEqual([]);
    expect(msgs(g2, 'available')).toEqual([]);
  });

  it('tells a VM at most once per availableIntervalMs, so frees every second cannot make a refused VM ask more often', async () => {
    const h = makeHarness(['vm1', 'vm2', 'vm3'].map((name) => ({ name, maxBytes: 3 * GiB })), 3 * GiB, { availableDelayMs: 500, availableIntervalMs: 5000 }, 'info');
    const [g1, g2, g3] = ['vm1', 'vm2', 'vm3'].map((n) => h.connect(n)) as [Guest, Guest, Guest];
    // In 100 ms steps: the simulated clock runs a timer at the end of the step it falls in.
    const advance = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        h.clock.increment(100);
        await settle();
      }
    };
    for (const g of [g1, g2, g3]) {
      g.session.receive(line(hello2));
      g.session.receive(line(grow('g-1', GiB)));
    }
    h.clock.increment(1000);
    await settle();
    g2.session.receive(line(grow('g-2', 1536 * MiB)));
    g3.session.receive(line(grow('g-2', 1536 * MiB)));
    expect([msgs(g2, 'ack')[1], msgs(g3, 'ack')[1]]).toMatchObject([{ outcome: 'denied' }, { outcome: 'denied' }]);

    // vm1 gives 512 MiB back: both refused VMs hear of it; vm2 asks first and takes it.
    h.agent.setLimits('vm1', { minBytes: 0, maxBytes: 512 * MiB });
    g1.session.receive(line({ type: 'resize', id: 'g-2', kind: 'shrink', targetBytes: 512 * MiB, reason: 'host-reclaim' }));
    while (msgs(g3, 'available').length === 0) await advance(100);
    expect(msgs(g2, 'available')).toHaveLength(1);
    const firstOfferAt = h.clock.now();
    g2.session.receive(line(grow('g-3', 1536 * MiB)));
    g3.session.receive(line(grow('g-3', 1536 * MiB)));
    expect(msgs(g2, 'ack')[2]).toMatchObject({ outcome: 'granted' });
    expect(msgs(g3, 'ack')[2]).toMatchObject({ outcome: 'denied', reason: 'budget' });

    // vm1 goes on freeing (its unplug, then a max lowered again): vm3 is told again only 5 s
    // after the first time, not at every free.
    h.agent.setLimits('vm1', { minBytes: 0, maxBytes: 256 * MiB });
    g1.session.receive(line({ type: 'resize', id: 'g-3', kind: 'shrink', targetBytes: 256 * MiB, reason: 'host-reclaim' }));
    await advance(4000);
    expect(msgs(g3, 'available')).toHaveLength(1);
    while (msgs(g3, 'available').length === 1 && h.clock.now() - firstOfferAt < 10_000) await advance(100);
    expect(msgs(g3, 'available')).toHaveLength(2);
    expect(h.clock.now() - firstOfferAt).toBeGreaterThanOrEqual(5000);
    expect(h.clock.now() - firstOfferAt).toBeLessThanOrEqual(5100);
  });

  it('names the reclaim interval to a VM under its share, whose memory is being asked back', async () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 2 * GiB }, { name: 'vm2', maxBytes: 256 * MiB }], 2 * GiB, { reclaimIntervalMs: 10_000, budgetRetryAfterMs: 30_000 });
    const g1 = h.connect('vm1');
    const g2 = h.connect('vm2');
    g1.session.receive(line(hello2));
    g2.session.receive(line(hello2));
    g1.session.receive(line(grow('g-1', 2 * GiB)));
    h.clock.increment(1000);
    await settle();
    h.agent.setLimits('vm2', { minBytes: 0, maxBytes: 2 * GiB });
    // vm2's share is now 1 GiB; the first ask gets the 256 MiB left, the second nothing.
    g2.session.receive(line(grow('g-1', GiB)));
    expect(msgs(g2, 'ack')[0]).toMatchObject({ outcome: 'partial', grantedBytes: 256 * MiB, reason: 'budget' });
    g2.session.receive(line(grow('g-2', GiB)));
    expect(msgs(g2, 'ack')[1]).toMatchObject({ outcome: 'denied', reason: 'budget', retryAfterMs: 10_000 });
    expect(msgs(g1, 'reclaim')).toHaveLength(1);
  });
});

describe('host agent: the budget changed while running (SIGHUP)', () => {
  const msgs = (g: { sent: { type: string }[] }, type: string) => g.sent.filter((m) => m.type === type);
  const hello2 = { type: 'hello', versions: [1, 2], idPrefix: 'g' };

  it('asks the VMs above their new shares for the excess when lowered, and offers the budget when raised', async () => {
    const h = makeHarness([{ name: 'vm1', maxBytes: 4 * GiB }, { name: 'vm2', maxBytes: 4 * GiB }], 4 * GiB, { availableDelayMs: 500 }, 'info');
    const g1 = h.connect('vm1');
    const g2 = h.connect('vm2');
    g1.session.receive(line(hello2));
    g2.session.receive(line(hello2));
    g1.session.receive(line(grow('g-1', 1536 * MiB)));
    g2.session.receive(line(grow('g-1', 512 * MiB)));
    h.clock.increment(1000);
    await settle();

    // 2 GiB held; the budget goes to 1 GiB: shares 512 MiB each, vm1 holds 1 GiB above its.
    h.agent.setBudget(GiB);
    expect(h.agent.budgetBytes).toBe(GiB);
    expect(h.lines.find((l) => l.msg === 'budget changed')).toMatchObject({ from: 4 * GiB, to: GiB, holds: 2 * GiB });
    expect(msgs(g1, 'reclaim')).toEqual([{ type: 'reclaim', id: 'reclaim-1', bytes: GiB }]);
    expect(msgs(g2, 'reclaim')).toEqual([]);
    expect(h.lines.find((l) => l.msg === 'reclaim asked')).toMatchObject({ vm: 'vm1', reason: 'budget', budget: GiB, shortfall: GiB });
    // Over the budget: no growth for anyone, vm2 included, until the holdings come down.
    g2.session.receive(line(grow('g-2', 768 * MiB)));
    expect(msgs(g2, 'ack')[1]).toMatchObject({ outcome: 'denied', reason: 'budget', retryAfterMs: 30_000 });

    // The budget comes back: vm2, refused, hears of it without asking.
    h.agent.setBudget(4 * GiB);
    h.clock.increment(1000);
    await settle();
    expect(msgs(g2, 'available')).toEqual([{ type: 'available', bytes: 768 * MiB }]);
    expect(h.agent.holdsBytes()).toBe(2 * GiB);
  });
});
