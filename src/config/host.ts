/** The host agent's configuration (memresize host --config host.yaml). */
import { z } from 'zod';
import { LogSchema } from './schema.ts';

export const HostConfigSchema = z
  .object({
    log: LogSchema,
  })
  .strict()
  .prefault({});

export type HostConfig = z.output<typeof HostConfigSchema>;
