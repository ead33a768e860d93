/**
 * MemAvailable's trend net of plugs and unplugs: the least-squares slope of
 * (MemAvailable - MemTotal), i.e. of used memory with the sign flipped, over the samples of
 * the last `trendWindowMs`. Net of MemTotal because memory the host unplugs leaves
 * MemAvailable too: read raw, an unplug looks like consumption and the daemon would
 * answer its own shrink with a grow. A slope over a window, not the last difference: one
 * sample taken while the page cache was dropped must not look like a stampede.
 */
import { filter, map, scan, type Observable } from 'rxjs';
import type { MeminfoReading } from '../io/meminfo.ts';

export interface TrendSample {
  atMs: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** bytes per second; negative while memory is being consumed (plugs/unplugs excluded); 0 until two samples. */
  availableTrendBps: number;
}

/**
 * Slope (units per second) of y over t (ms) by least squares; 0 with fewer than 2 points
 * or when they span less than `minSpanMs`: a page freed between two reads 1 ms apart is
 * megabytes per second of noise.
 */
export function slopePerSecond(points: ReadonlyArray<{ t: number; y: number }>, minSpanMs = 0): number {
  const n = points.length;
  if (n < 2) return 0;
  if ((points[n - 1] as { t: number }).t - (points[0] as { t: number }).t < Math.max(minSpanMs, 1e-9)) return 0;
  let st = 0;
  let sy = 0;
  for (const p of points) {
    st += p.t;
    sy += p.y;
  }
  const mt = st / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 1000;
}

/** A trend needs samples spread over at least this long (or half the window, if shorter). */
const MIN_SPAN_MS = 500;

export function withTrend(trendWindowMs: number) {
  return (readings$: Observable<MeminfoReading>): Observable<TrendSample> =>
    readings$.pipe(
      filter((r): r is Extract<MeminfoReading, { type: 'meminfo' }> => r.type === 'meminfo'),
      scan(
        (acc, r) => {
          const pts = [...acc.pts, { t: r.atMs, y: r.meminfo.memAvailableBytes - r.meminfo.memTotalBytes }].filter((p) => p.t >= r.atMs - trendWindowMs);
          return { pts, last: r };
        },
        { pts: [] as { t: number; y: number }[], last: null as Extract<MeminfoReading, { type: 'meminfo' }> | null },
      ),
      map(({ pts, last }) => {
        const r = last as Extract<MeminfoReading, { type: 'meminfo' }>;
        return { atMs: r.atMs, memTotalBytes: r.meminfo.memTotalBytes, memAvailableBytes: r.meminfo.memAvailableBytes, availableTrendBps: slopePerSecond(pts, Math.min(MIN_SPAN_MS, trendWindowMs / 2)) };
      }),
    );
}
