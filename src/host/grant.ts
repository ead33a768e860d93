/**
 * The host's grant decision as a pure function of one snapshot: what a VM asked, its
 * bounds, and what every other VM holds. The agent logs the returned record as is, so every
 * decision can be explained from its inputs and the rule that decided it.
 *
 * Budget accounting: a VM holds max(requested, plugged) of the budget. Memory being
 * unplugged still occupies the host until the guest has let go of it, so it is not lent to
 * anyone else before then.
 *
 * Fair rule (weighted shares, lend only what no share needs):
 *   share_i    = budget * weight_i / sum(weights), capped at the VM's max
 *   protected  = sum over other VMs j of max(0, share_j - holds_j)
 *   ceiling_i  = budget - sum(holds_j)                         if growing within share_i
 *              = budget - sum(holds_j) - protected, >= share_i  beyond share_i
 * A VM can always grow to its share when the budget allows; above its share it only
 * borrows budget that no other VM needs to reach its own share. No VM can starve another
 * by asking first.
 */
import { alignDown, alignUp } from '../policy/align.ts';

export interface VmHolding {
  name: string;
  holdsBytes: number;
  weight: number;
  maxBytes: number;
}

export interface GrantInput {
  kind: 'grow' | 'shrink' | 'hold';
  targetBytes: number;
  minBytes: number;
  maxBytes: number;
  blockBytes: number;
  maxStepBytes: number;
  requestedBytes: number;
  pluggedBytes: number;
  weight: number;
  budgetBytes: number;
  /** The other VMs, one by one; or their sums, which an agent with many VMs keeps running. */
  others: readonly VmHolding[] | OthersSummary;
}

/** What the rule needs of the other VMs (see summarizeOthers). */
export interface OthersSummary {
  holdsBytes: number;
  /** Sum of max(0, share_j - holds_j): budget the others need to reach their shares. */
  protectedBytes: number;
  weight: number;
}

export function summarizeOthers(others: readonly VmHolding[], budgetBytes: number, totalWeight: number): OthersSummary {
  let holdsBytes = 0;
  let protectedBytes = 0;
  let weight = 0;
  for (const o of others) {
    holdsBytes += o.holdsBytes;
    protectedBytes += Math.max(0, shareOf(o.weight, o.maxBytes, budgetBytes, totalWeight) - o.holdsBytes);
    weight += o.weight;
  }
  return { holdsBytes, protectedBytes, weight };
}

export interface GrantDecision {
  outcome: 'granted' | 'partial' | 'denied';
  grantedBytes: number;
  reason?: string;
  /** Which rule set the result: bounds, max-step, budget, share or none. */
  rule: string;
  shareBytes: number;
  ceilingBytes: number;
}

export function shareOf(weight: number, maxBytes: number, budgetBytes: number, totalWeight: number): number {
  return Math.min(maxBytes, (budgetBytes * weight) / totalWeight);
}

export function decideGrant(input: GrantInput): GrantDecision {
  const { blockBytes: block, requestedBytes: current, pluggedBytes: plugged } = input;
  const lo = alignUp(input.minBytes, block);
  const hi = Math.max(lo, alignDown(input.maxBytes, block));
  const list = Array.isArray(input.others) ? (input.others as readonly VmHolding[]) : null;
  const totalWeight = input.weight + (list ? list.reduce((s, o) => s + o.weight, 0) : (input.others as OthersSummary).weight);
  const summary = list ? summarizeOthers(list, input.budgetBytes, totalWeight) : (input.others as OthersSummary);
  const share = shareOf(input.weight, hi, input.budgetBytes, totalWeight);
  const othersHold = summary.holdsBytes;
  const protectedBytes = summary.protectedBytes;
  const free = input.budgetBytes - othersHold;
  const ceiling = Math.max(0, Math.min(free, Math.max(share, free - protectedBytes)));
  const base = { shareBytes: Math.round(share), ceilingBytes: Math.round(ceiling) };

  let want = alignUp(input.targetBytes, block);
  let reason: string | undefined;
  let rule = 'none';
  if (want > hi) {
    if (current >= hi && input.kind === 'grow') return { outcome: 'denied', grantedBytes: current, reason: 'at-max', rule: 'bounds', ...base };
    want = hi;
    reason = 'at-max';
    rule = 'bounds';
  } else if (want < lo) {
    if (current <= lo && input.kind === 'shrink') return { outcome: 'denied', grantedBytes: current, reason: 'below-min', rule: 'bounds', ...base };
    want = lo;
    reason = 'below-min';
    rule = 'bounds';
  }
  if (want > current + input.maxStepBytes) {
    want = current + alignDown(input.maxStepBytes, block);
    reason = 'max-step';
    rule = 'max-step';
  }
  // Only growth beyond what the VM already holds draws on the budget.
  if (Math.max(want, plugged) > Math.max(current, plugged) && Math.max(want, plugged) > ceiling) {
    const limit = Math.max(current, alignDown(ceiling, block));
    // A device below its min (fresh VM, lowered budget) is only raised into the bounds.
    if (limit <= current || limit < lo) return { outcome: 'denied', grantedBytes: current, reason: 'budget', rule: share < free ? 'share' : 'budget', ...base };
    want = Math.min(want, limit);
    reason = 'budget';
    rule = share < free ? 'share' : 'budget';
  }
  const exact = want === alignUp(input.targetBytes, block);
  return { outcome: exact ? 'granted' : 'partial', grantedBytes: want, reason: exact ? undefined : reason, rule, ...base };
}
