/**
 * Seeded randomness for the simulator: every random draw of a run comes from one of these,
 * so a (scenario, seed) pair always produces the same run. mulberry32: tiny, fast, and
 * good enough for workload noise and fault injection (not for cryptography).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Log-normal with the given median and log-space sigma. */
  lognormal(median: number, sigma: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** An independent stream derived from this seed and a label. */
  fork(label: string): Rng;
}

export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return {
    next,
    normal,
    lognormal: (median, sigma) => median * Math.exp(sigma * normal()),
    chance: (p) => next() < p,
    fork: (label) => makeRng(hash(`${seed}:${label}`)),
  };
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
