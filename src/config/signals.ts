/** Guest signal sources and pipelines: PSI, meminfo, memory blocks (see src/io, src/signals). */
import { z } from 'zod';
import { millis } from './units.ts';

export const SignalsSchema = z
  .object({
    psiWindowUs: z.number().int().min(50_000).max(10_000_000).default(500_000).describe('PSI trigger window in privileged (rtpoll) mode; the kernel allows 500 ms..10 s (some kernels less).'),
    psiThresholdUs: z.number().int().min(1_000).max(10_000_000).default(50_000).describe('Stall within one window that fires the trigger (rtpoll mode).'),
    headroomMarginMs: millis(0, 600_000).default(1000).describe('Extra lead time over the measured grow latency before free memory is projected to cross the reserve.'),
  })
  .prefault({});

export type SignalsConfig = z.output<typeof SignalsSchema>;
