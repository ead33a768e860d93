/** The guest daemon's local control socket (`memresize status` is its client). */
import { z } from 'zod';

export const ControlSchema = z
  .object({
    socketPath: z
      .string()
      .min(1)
      .default('/run/memresize/guest.sock')
      .describe('Unix socket serving the live status to `memresize status` (mode 0600; its folder is created 0700 if missing). Read at start only: a change needs a restart.'),
    transitions: z.number().int().min(1).max(1000).default(50).describe('How many of the last transitions the status document carries.'),
  })
  .strict()
  .prefault({});

export type ControlConfig = z.output<typeof ControlSchema>;

/** Optional metrics of the guest daemon, as a node-exporter textfile (off unless a path is set). */
export const GuestMetricsSchema = z
  .object({
    textfilePath: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Write Prometheus metrics to this file (for node-exporter\'s textfile collector, e.g. /var/lib/node_exporter/textfile/memresize.prom); null = off.'),
    intervalMs: z.number().int().min(1000).max(3_600_000).default(15_000).describe('How often the textfile is rewritten (atomically: temp file + rename).'),
  })
  .strict()
  .prefault({});

export type GuestMetricsConfig = z.output<typeof GuestMetricsSchema>;
