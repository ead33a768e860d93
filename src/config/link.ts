/** How the guest daemon reaches the host agent (see src/io transports, docs/protocol.md). */
import { z } from 'zod';

export const LinkSchema = z
  .object({
    transport: z
      .enum(['virtio-serial', 'unix', 'tcp'])
      .default('virtio-serial')
      .describe('virtio-serial port (in a VM), unix socket or loopback TCP (tests).'),
  })
  .prefault({});

export type LinkConfig = z.output<typeof LinkSchema>;
