/** Guest signal sources and pipelines: PSI, meminfo, memory blocks (see src/io, src/signals, docs/signals.md). */
import { z } from 'zod';
import { millis } from './units.ts';

export const SignalsSchema = z
  .object({
    psiFile: z
      .string()
      .default('pressure/memory')
      .describe('Pressure file to watch, relative to procRoot (e.g. "pressure/memory"), or an absolute path to a cgroup v2 memory.pressure.'),
    psiMode: z
      .enum(['auto', 'rtpoll', 'avgs', 'polling'])
      .default('auto')
      .describe('PSI mode: auto probes rtpoll (privileged window), then avgs (2 s multiples, unprivileged), then polling of `total`.'),
    psiWindowUs: z.number().int().min(50_000).max(10_000_000).default(500_000).describe('PSI trigger window in privileged (rtpoll) mode; the kernel allows 500 ms..10 s (some kernels less).'),
    psiThresholdUs: z.number().int().min(1_000).max(10_000_000).default(5_000).describe('Stall within one window that fires the trigger (rtpoll mode): 5 ms in 500 ms = 1 %, the lowest threshold vmrd uses; memory `some` stall is near zero while memory suffices.'),
    psiAvgsWindowUs: z.number().int().min(2_000_000).max(10_000_000).multipleOf(2_000_000).default(2_000_000).describe('Trigger window in avgs mode (unprivileged writers: multiples of 2 s only).'),
    psiAvgsThresholdUs: z.number().int().min(1_000).max(10_000_000).default(20_000).describe('Stall within one avgs window that fires the trigger (20 ms in 2 s = 1 %, the rtpoll share).'),
    psiPollIntervalMs: millis(100, 60_000).default(1000).describe('Polling mode: how often `total` is read to compute the stall rate.'),
    psiPollThresholdPercent: z.number().min(0.1).max(100).default(1).describe('Polling mode: stall (percent of wall time over one interval) that counts as pressure.'),
    psiProbeThresholdPercent: z
      .number()
      .min(0.01)
      .max(100)
      .default(0.5)
      .describe(
        'rtpoll and polling modes: while MemAvailable is below the floor the last stall taught (the decayed floor let it get there), `total` is read every psiProbeIntervalMs and this stall rate between two reads counts as pressure. Half the trigger\'s share: there a stall is the answer to the probe, not noise.',
      ),
    psiProbeIntervalMs: millis(50, 10_000).default(100).describe('How often `total` is read while probing (see psiProbeThresholdPercent): 10 reads of one small file a second, only below the learned floor.'),
    psiFullSeverityPercent: z.number().min(0).max(100).default(10).describe('A trigger whose `full` stall over the window is at least this share is reported as severity full.'),
    psiDebounceMs: millis(0, 60_000).default(1000).describe('At most one psi.pressure per this interval: a flapping trigger cannot flood the machine.'),
    meminfoIntervalMs: millis(50, 60_000).default(1000).describe('How often /proc/meminfo is sampled.'),
    meminfoFastIntervalMs: millis(10, 10_000).default(100).describe('Faster sampling for one window after a PSI event or while MemAvailable falls (lmkd\'s pattern).'),
    meminfoFastForMs: millis(100, 60_000).default(2000).describe('How long the fast sampling lasts after it was started.'),
    trendWindowMs: millis(200, 120_000).default(3000).describe('MemAvailable trend: least-squares slope over the samples of this window.'),
    headroomMarginMs: millis(0, 600_000).default(1000).describe('Extra lead time over the measured grow latency before free memory is projected to cross the reserve.'),
    headroomMinConsumeBps: z.number().min(0).default(1_000_000).describe('Falls slower than this (bytes/s) are noise, not a trend: no headroom.low.'),
    headroomRepeatMs: millis(0, 600_000).default(1000).describe('While headroom stays low, headroom.low is repeated at most this often.'),
    relaxedAvg10Percent: z.number().min(0).max(100).default(1).describe('psi.relaxed needs `some` avg10 under this low-water mark...'),
    relaxedAvg60Percent: z.number().min(0).max(100).default(2).describe('...and `some` avg60 under this one...'),
    relaxedHoldMs: millis(0, 3_600_000).default(30_000).describe('...and no stall event for this long, and MemAvailable above reserve plus one shrink step.'),
    relaxedCheckIntervalMs: millis(500, 600_000).default(10_000).describe('How often the relaxed condition is evaluated (reads the averages: rarely, see the avgs pitfall).'),
  })
  .prefault({});

export type SignalsConfig = z.output<typeof SignalsSchema>;
