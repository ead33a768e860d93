/**
 * Protocol 2's budget offers (docs/protocol.md, "Waiting for budget"): the VMs refused budget
 * for a grow wait here with the size they asked for; when budget frees, each is told
 * (`available`) what it could be granted now, once per refusal.
 *
 * Frees within `delayMs` go out together, as an unplug frees its blocks over seconds. Every
 * waiting VM hears of the same budget and the first to ask gets it, so a VM is told at most
 * once per `intervalMs`: one told too recently is told when that has passed. The agent owns
 * the grant rule and the sessions; this keeps who waits, for what, and when to look again.
 */
import type { Clock } from '../protocol/clock.ts';

export interface BudgetOffersDeps<Vm, Grant> {
  clock: Clock;
  delayMs: number;
  intervalMs: number;
  /** What the grant rule would give `vm` for `askedBytes` now: null if nothing, 'forget' if it can no longer be told (gone, version 1). */
  grantable(vm: Vm, askedBytes: number): Grant | null | 'forget';
  /** Send `available` for that grant (and log and count it). */
  tell(vm: Vm, grant: Grant, askedBytes: number): void;
}

export interface BudgetOffers<Vm> {
  /** A grow of `vm` for `askedBytes` was refused for budget. */
  refused(vm: Vm, askedBytes: number): void;
  /** Any other decision on `vm`, or a new connection: it no longer waits. */
  forget(vm: Vm): void;
  /** Budget may have freed: look at the waiting VMs after `delayMs`. */
  freed(): void;
  readonly waiting: number;
  stop(): void;
}

export function createBudgetOffers<Vm, Grant>(deps: BudgetOffersDeps<Vm, Grant>): BudgetOffers<Vm> {
  const { clock } = deps;
  const asked = new Map<Vm, number>();
  const lastToldAt = new Map<Vm, number>();
  let timer: unknown;
  let stopped = false;

  function schedule(delayMs: number): void {
    if (timer !== undefined || stopped || asked.size === 0) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      offer();
    }, delayMs);
  }

  function offer(): void {
    const now = clock.now();
    let soonest = Number.POSITIVE_INFINITY;
    for (const [vm, bytes] of asked) {
      const g = deps.grantable(vm, bytes);
      if (g === 'forget') {
        asked.delete(vm);
        continue;
      }
      if (g === null) continue;
      const last = lastToldAt.get(vm) ?? Number.NEGATIVE_INFINITY;
      if (now - last < deps.intervalMs) {
        soonest = Math.min(soonest, last + deps.intervalMs);
        continue;
      }
      asked.delete(vm);
      lastToldAt.set(vm, now);
      deps.tell(vm, g, bytes);
    }
    if (soonest < Number.POSITIVE_INFINITY) schedule(soonest - now);
  }

  return {
    refused(vm, askedBytes) {
      asked.set(vm, askedBytes);
    },
    forget(vm) {
      asked.delete(vm);
    },
    freed() {
      schedule(deps.delayMs);
    },
    get waiting() {
      return asked.size;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      asked.clear();
    },
  };
}
