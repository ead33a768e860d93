/**
 * The guest workloads (scripts in test/e2e/guest, run from /app/e2e by the control agent)
 * and the parsers of their progress lines. Parameters follow issue 6.
 */

/** Scenario a: anonymous memory touched at ~100 MB/s up to ~1.2 GiB, then held 10 s. */
export const ANON_WORKLOAD = {
  targetMiB: 1200,
  rateMiBps: 100,
  holdS: 10,
  get command(): string {
    return `node alloc.mjs ${this.targetMiB} ${this.rateMiBps} ${this.holdS}`;
  },
};

/** `allocated <N>MiB t=<s>s` lines of alloc.mjs: the last N seen (0 if none). */
export function lastAllocatedMiB(lines: string[]): number {
  let last = 0;
  for (const l of lines) {
    const m = /^allocated (\d+)MiB/.exec(l);
    if (m) last = Number(m[1]);
  }
  return last;
}

export interface RereadPass {
  pass: number;
  ms: number;
  stallUs: number;
}

/** `pass <i> ms=<ms> stall_us=<us>` lines of reread.sh. */
export function rereadPasses(lines: string[]): RereadPass[] {
  const out: RereadPass[] = [];
  for (const l of lines) {
    const m = /^pass (\d+) ms=(\d+) stall_us=(\d+)/.exec(l);
    if (m) out.push({ pass: Number(m[1]), ms: Number(m[2]), stallUs: Number(m[3]) });
  }
  return out;
}
