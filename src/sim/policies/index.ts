/** Every policy `--policy` accepts; memresize first (the default). */
import { BASELINES } from './baselines.ts';
import { memresizePolicy } from './memresize.ts';
import type { Policy } from './types.ts';

export const POLICIES: Policy[] = [memresizePolicy, ...BASELINES];

export function findPolicy(name: string): Policy | undefined {
  return POLICIES.find((p) => p.name === name);
}
