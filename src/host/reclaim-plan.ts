/**
 * Borrowed budget is returned on demand. The grant rule (grant.ts) lets a VM grow past its
 * weighted share only into budget that no other VM needs "now"; when a VM that is still
 * under its share is later refused for budget, the budget it is entitled to is held by
 * VMs above their shares. The agent then asks those borrowers to give back (`reclaim`),
 * each in proportion to what it holds above its share. The guest decides how much it can
 * spare and shrinks by an ordinary request; the agent never unplugs on its own.
 */
import { alignDown, alignUp } from '../policy/align.ts';

export interface Borrower {
  name: string;
  /** max(requested, plugged) minus max(share rounded down to the block, min): what others may claim. */
  excessBytes: number;
}

export interface ReclaimAsk {
  name: string;
  bytes: number;
}

/**
 * What a VM refused for budget is short of its entitlement: the smaller of its target and
 * its share, minus what it holds after the decision. Zero when the VM asked beyond its share
 * (that part is borrowing, and borrowing never displaces anyone).
 */
export function entitledShortfall(input: { targetBytes: number; shareBytes: number; holdsBytes: number; blockBytes: number }): number {
  const entitled = alignDown(Math.min(input.targetBytes, input.shareBytes), input.blockBytes);
  return Math.max(0, entitled - input.holdsBytes);
}

/**
 * Splits `shortfallBytes` across borrowers in proportion to their excess, block-aligned up
 * (a block too much is better than a shortfall left by rounding), never more than a
 * borrower's excess rounded down to the block. Borrowers with less than a block of excess
 * are not asked: there is nothing they could unplug for it.
 */
export function planReclaim(shortfallBytes: number, borrowers: readonly Borrower[], blockBytes: number): ReclaimAsk[] {
  const able = borrowers.map((b) => ({ name: b.name, cap: alignDown(Math.max(0, b.excessBytes), blockBytes) })).filter((b) => b.cap > 0);
  const total = able.reduce((s, b) => s + b.cap, 0);
  if (shortfallBytes <= 0 || total === 0) return [];
  const need = Math.min(shortfallBytes, total);
  return able
    .map((b) => ({ name: b.name, bytes: Math.min(b.cap, alignUp((need * b.cap) / total, blockBytes)) }))
    .filter((a) => a.bytes > 0);
}
