/** What a policy sees of the simulated world, and what it returns. */
import type { Logger } from '../../io/log.ts';
import type { GuestConfig } from '../../config/schema.ts';
import type { VirtualClock } from '../clock.ts';
import type { GuestModel } from '../guest.ts';
import type { PsiModel } from '../psi.ts';
import type { SimHost } from '../host.ts';
import type { TransitionRecord } from '../../io/transition-trace.ts';

export interface PolicyEnv {
  clock: VirtualClock;
  guest: GuestModel;
  psi: PsiModel;
  host: SimHost;
  log: Logger;
  /** Guest daemon config (memresize) and the PSI settings every PSI-driven policy shares. */
  config: GuestConfig;
  bootBytes: number;
  maxBytes: number;
  blockBytes: number;
  /** Called after every model tick (the world's state is current). Keep it cheap. */
  onTick(fn: (nowMs: number) => void): void;
  /** Transition records of the real machine (memresize only), for the demo's trace. */
  onTransition?: (rec: TransitionRecord) => void;
}

export interface PolicyRun {
  stop(): void;
}

export interface Policy {
  name: string;
  /** Where its published behaviour is described (docs/simulator.md repeats it). */
  source: string;
  /** PSI trigger window in microseconds, when the policy is PSI-triggered. */
  psiWindowUs?: number;
  start(env: PolicyEnv): PolicyRun;
}
