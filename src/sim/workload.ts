/**
 * A workload is what the guest's applications need over time, independent of how big the
 * VM is: resident anonymous memory, a file working set, and memory that cannot be migrated.
 * Time is the workload's own progress time: when the guest stalls the workload runs slower
 * (see guest.ts), so demand is a function of progress, not of wall time.
 */
import type { TracePoint } from './trace-csv.ts';

export interface Demand {
  anonBytes: number;
  fileBytes: number;
  unmovableBytes: number;
}

export interface Workload {
  /** Demand at progress time tS (seconds). */
  at(tS: number): Demand;
  /** Progress time at which the workload ends. */
  durationS: number;
}

/** Replays a trace with linear interpolation between rows; the last row holds afterwards. */
export function traceWorkload(points: readonly TracePoint[]): Workload {
  let ix = 0;
  const last = points[points.length - 1]!;
  return {
    durationS: last.tS,
    at(tS: number): Demand {
      // Progress only moves forward in a run, so a cursor makes lookups O(1) amortised.
      if (ix > 0 && points[ix]!.tS > tS) ix = 0;
      while (ix + 1 < points.length && points[ix + 1]!.tS <= tS) ix++;
      const a = points[ix]!;
      const b = points[ix + 1];
      if (!b || tS <= a.tS) return { anonBytes: a.anonBytes, fileBytes: a.fileBytes, unmovableBytes: a.unmovableBytes };
      const f = (tS - a.tS) / (b.tS - a.tS);
      return {
        anonBytes: a.anonBytes + (b.anonBytes - a.anonBytes) * f,
        fileBytes: a.fileBytes + (b.fileBytes - a.fileBytes) * f,
        unmovableBytes: a.unmovableBytes + (b.unmovableBytes - a.unmovableBytes) * f,
      };
    },
  };
}
