import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../src/config/units.ts';
import { decideGrant, type GrantInput } from '../../src/host/grant.ts';

const base: GrantInput = {
  kind: 'grow',
  targetBytes: 512 * MiB,
  minBytes: 0,
  maxBytes: 2 * GiB,
  blockBytes: 2 * MiB,
  maxStepBytes: 4 * GiB,
  requestedBytes: 0,
  pluggedBytes: 0,
  weight: 1,
  budgetBytes: 8 * GiB,
  others: [],
};

describe('grant decision', () => {
  it('grants a request within bounds and budget, rounded up to whole blocks', () => {
    expect(decideGrant(base)).toMatchObject({ outcome: 'granted', grantedBytes: 512 * MiB, rule: 'none' });
    // Sizes are whole device blocks: at least what was asked is a full grant.
    expect(decideGrant({ ...base, targetBytes: 512 * MiB + 1 })).toMatchObject({ outcome: 'granted', grantedBytes: 514 * MiB });
  });

  it('clips to max (partial) and denies at max once there', () => {
    expect(decideGrant({ ...base, targetBytes: 3 * GiB })).toMatchObject({ outcome: 'partial', grantedBytes: 2 * GiB, reason: 'at-max' });
    expect(decideGrant({ ...base, targetBytes: 3 * GiB, requestedBytes: 2 * GiB, pluggedBytes: 2 * GiB })).toMatchObject({ outcome: 'denied', grantedBytes: 2 * GiB, reason: 'at-max' });
  });

  it('keeps shrinks above min and denies a shrink at min', () => {
    const at1G = { ...base, kind: 'shrink' as const, minBytes: 256 * MiB, requestedBytes: GiB, pluggedBytes: GiB };
    expect(decideGrant({ ...at1G, targetBytes: 0 })).toMatchObject({ outcome: 'partial', grantedBytes: 256 * MiB, reason: 'below-min' });
    expect(decideGrant({ ...at1G, requestedBytes: 256 * MiB, pluggedBytes: 256 * MiB, targetBytes: 0 })).toMatchObject({ outcome: 'denied', reason: 'below-min' });
  });

  it('caps one grow at the max step', () => {
    expect(decideGrant({ ...base, targetBytes: 2 * GiB, maxStepBytes: 256 * MiB })).toMatchObject({ outcome: 'partial', grantedBytes: 256 * MiB, reason: 'max-step' });
  });

  it('grants partially from what the budget has left and denies when nothing is left', () => {
    const others = [{ name: 'b', holdsBytes: 7 * GiB + 768 * MiB, weight: 1, maxBytes: 8 * GiB }];
    expect(decideGrant({ ...base, others })).toMatchObject({ outcome: 'partial', grantedBytes: 256 * MiB, reason: 'budget' });
    expect(decideGrant({ ...base, others: [{ ...others[0]!, holdsBytes: 8 * GiB }] })).toMatchObject({ outcome: 'denied', reason: 'budget' });
  });

  it('lends beyond a VM\'s share only what no other VM needs to reach its own share', () => {
    // Budget 4 GiB, two equal VMs (share 2 GiB each). The other holds nothing yet.
    const input = { ...base, budgetBytes: 4 * GiB, maxBytes: 4 * GiB, targetBytes: 3 * GiB, others: [{ name: 'b', holdsBytes: 0, weight: 1, maxBytes: 4 * GiB }] };
    expect(decideGrant(input)).toMatchObject({ outcome: 'partial', grantedBytes: 2 * GiB, reason: 'budget', rule: 'share' });
    // The other VM's max is only 1 GiB: its share need is 1 GiB, so 3 GiB can be lent.
    expect(decideGrant({ ...input, others: [{ name: 'b', holdsBytes: 0, weight: 1, maxBytes: GiB }] })).toMatchObject({ outcome: 'granted', grantedBytes: 3 * GiB });
  });

  it('counts memory still being unplugged as held', () => {
    // requested 0 but 1 GiB still plugged: growing back to 1 GiB costs the budget nothing.
    const input = { ...base, targetBytes: GiB, requestedBytes: 0, pluggedBytes: GiB, budgetBytes: GiB + 512 * MiB, others: [{ name: 'b', holdsBytes: 512 * MiB, weight: 1, maxBytes: GiB }] };
    expect(decideGrant(input)).toMatchObject({ outcome: 'granted', grantedBytes: GiB });
  });
});
