/** How the guest daemon reaches the host agent (see src/io/transports, docs/protocol.md). */
import { z } from 'zod';
import { millis } from './units.ts';

export const LinkSchema = z
  .object({
    transport: z
      .enum(['virtio-serial', 'unix', 'tcp'])
      .default('virtio-serial')
      .describe('virtio-serial port (in a VM), unix socket or loopback TCP (tests).'),
    portName: z.string().min(1).default('org.memresize.0').describe('virtio-serial port name (-device virtserialport,name=...).'),
    sysRoot: z.string().min(1).default('/sys').describe('Where sysfs is mounted (a fixture tree in tests).'),
    devRoot: z.string().min(1).default('/dev').describe('Where the vportNpM character devices are.'),
    socketPath: z.string().min(1).optional().describe('Unix socket of the host agent (transport unix).'),
    tcpHost: z.enum(['127.0.0.1', '::1', 'localhost']).default('127.0.0.1').describe('TCP is for tests: loopback only.'),
    tcpPort: z.number().int().min(1).max(65535).optional().describe('TCP port of the host agent (transport tcp).'),
    reconnectBaseMs: millis(10, 60_000).default(100).describe('First reconnect delay; doubles per failure (equal jitter).'),
    reconnectCapMs: millis(10, 600_000).default(5000).describe('Ceiling of the reconnect delay: what an absent host costs at most is one open per this.'),
    pollMs: millis(5, 10_000).default(50).describe('virtio-serial read poll interval when the epoll addon is missing.'),
  })
  .superRefine((v, ctx) => {
    if (v.transport === 'unix' && !v.socketPath) ctx.addIssue({ code: 'custom', message: 'transport unix needs socketPath', path: ['socketPath'] });
    if (v.transport === 'tcp' && !v.tcpPort) ctx.addIssue({ code: 'custom', message: 'transport tcp needs tcpPort', path: ['tcpPort'] });
  })
  .prefault({});

export type LinkConfig = z.output<typeof LinkSchema>;
