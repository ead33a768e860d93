/**
 * mem.observed: the plugged bytes as the guest sees them, the machine's only proof that
 * a resize happened. Computed as MemTotal growth over the boot RAM:
 *
 *   pluggedBytes = MemTotal(now) - (MemTotal(first sample) - initialPluggedBytes)
 *
 * MemTotal counts exactly the pages the buddy allocator manages, so it follows virtio-mem
 * at its device block granularity (2 MiB sub-blocks inside a 128 MiB memory block are
 * counted only once plugged), which counting online memory blocks would not.
 * `initialPluggedBytes` is what was already plugged when the daemon started (0 at boot;
 * on a restart the composition root estimates it from the virtio-mem blocks). When the
 * guest cannot tell (no CAP_SYS_ADMIN: /proc/iomem hides its addresses) it is a stream that
 * yields the host's word once (the welcome's plugged size), and the baseline is taken at
 * the first sample after it. Changes under `minChangeBytes` (e.g. memmap bookkeeping) are
 * not news.
 */
import { filter, isObservable, map, of, scan, switchMap, take, type Observable } from 'rxjs';
import type { MemObservedEvent } from '../machines/events.ts';
import type { TrendSample } from './trend.ts';

export function observedEvents(samples$: Observable<TrendSample>, opts: { initialPluggedBytes: number | Observable<number>; minChangeBytes?: number }): Observable<MemObservedEvent> {
  const initial$ = isObservable(opts.initialPluggedBytes) ? opts.initialPluggedBytes.pipe(take(1)) : of(opts.initialPluggedBytes);
  return initial$.pipe(switchMap((initial) => observedFrom(samples$, initial, opts.minChangeBytes ?? 1024 * 1024)));
}

function observedFrom(samples$: Observable<TrendSample>, initialPluggedBytes: number, minChange: number): Observable<MemObservedEvent> {
  return samples$.pipe(
    scan(
      (s, x) => {
        const baseline = s.baseline ?? x.memTotalBytes - initialPluggedBytes;
        const plugged = Math.max(0, x.memTotalBytes - baseline);
        const news = s.last === null || Math.abs(plugged - s.last) >= minChange;
        return { baseline, last: news ? plugged : s.last, out: news ? plugged : null };
      },
      { baseline: null as number | null, last: null as number | null, out: null as number | null },
    ),
    map((s) => s.out),
    filter((v): v is number => v !== null),
    map((pluggedBytes): MemObservedEvent => ({ type: 'mem.observed', pluggedBytes })),
  );
}
