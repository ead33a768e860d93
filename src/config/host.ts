/**
 * The host agent's configuration (memresize host --config host.yaml): the host budget,
 * the VMs with their channel, hypervisor adapter and bounds, and the metrics endpoint.
 * Sizes are virtio-mem device bytes (memory beyond boot RAM).
 */
import { z } from 'zod';
import { LogSchema } from './schema.ts';
import { bytes, GiB, MiB, millis } from './units.ts';

/**
 * Where the agent meets a VM's guest daemon. The VM's identity is this channel:
 * - unix-connect: QEMU's `-chardev socket,server=on` serves the path; the agent connects
 *   (and reconnects when QEMU restarts).
 * - unix-listen: the agent serves the path (QEMU chardev with server=off, tests, benchmark).
 * - vsock-hybrid: Firecracker / Cloud Hypervisor hybrid vsock: connect to the VM's unix
 *   socket, write `CONNECT <port>\n`, expect `OK <n>\n`, then the byte stream.
 */
export const ChannelSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('unix-connect'), path: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('unix-listen'), path: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('vsock-hybrid'), path: z.string().min(1), port: z.number().int().min(1).max(0xffffffff) }).strict(),
]);

export const QemuAdapterSchema = z
  .object({
    kind: z.literal('qemu'),
    qmpSocket: z.string().min(1).describe('QEMU\'s QMP unix socket (-qmp unix:PATH,server=on,wait=off).'),
    device: z.string().min(1).describe('The virtio-mem device id (-device virtio-mem-pci,id=...).'),
    pollMs: millis(5, 10_000).default(20).describe('How often `size` is polled while a resize runs (events are only hints).'),
    plugTimeoutMs: millis(100, 600_000).default(10_000).describe('How long a grow may take before it is reported with the size reached.'),
    unplugTimeoutMs: millis(100, 3_600_000).default(60_000).describe('How long an unplug may take (measured: 1.9-2.7 s per idle GiB under TCG).'),
    commandTimeoutMs: millis(10, 60_000).default(3000).describe('A QMP command without a reply in this time fails (and the connection is reset).'),
    reconnectBaseMs: millis(10, 60_000).default(200).describe('First retry after QMP is lost; doubles up to reconnectCapMs.'),
    reconnectCapMs: millis(10, 600_000).default(5000).describe('Ceiling of the QMP reconnect backoff.'),
  })
  .strict();

export const FakeAdapterSchema = z
  .object({
    kind: z.literal('fake'),
    blockBytes: bytes().default(2 * MiB).describe('Device block size.'),
    maxBytes: bytes().default(16 * GiB).describe('Memory backend size (the device maximum).'),
    initialBytes: bytes().default(0).describe('Plugged size at start.'),
    latencyMs: millis(0, 600_000).default(2).describe('Delay before the device starts moving.'),
    plugBytesPerSec: z.number().positive().default(10 * GiB).describe('Plug speed (measured under TCG: 2 GiB in ~105 ms).'),
    unplugBytesPerSec: z.number().positive().default(512 * MiB).describe('Unplug speed (measured: ~0.25 s per 128 MiB idle).'),
    plugShare: z.number().min(0).max(1).default(1).describe('Share of each grow that actually plugs (< 1: partial grants).'),
    unplugShare: z.number().min(0).max(1).default(1).describe('Share of each unplug that succeeds (< 1: partial unplugs, pinned pages).'),
    failEvery: z.number().int().min(0).default(0).describe('Every Nth resize moves nothing (0: never).'),
  })
  .strict();

export const AdapterSchema = z.discriminatedUnion('kind', [QemuAdapterSchema, FakeAdapterSchema]);

/** Per-VM limits that also have host-wide defaults. */
const vmTunables = {
  maxStepBytes: bytes().describe('Largest growth granted by one request.'),
  requestsPerSec: z.number().positive().max(1000).describe('Sustained resize requests per second a VM may send; more get `busy`.'),
  burst: z.number().int().min(1).max(10_000).describe('Requests a VM may send at once before the rate applies.'),
};

export const VmSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1-64)'),
    channel: ChannelSchema,
    adapter: AdapterSchema,
    minBytes: bytes().default(0).describe('Lowest device size the VM may ask for.'),
    maxBytes: bytes().describe('Highest device size the VM may ask for (also bounded by the device).'),
    weight: z.number().positive().max(1000).default(1).describe('Share of the host budget under contention (see docs/protocol.md, fair rule).'),
    maxStepBytes: vmTunables.maxStepBytes.optional(),
    requestsPerSec: vmTunables.requestsPerSec.optional(),
    burst: vmTunables.burst.optional(),
  })
  .strict()
  .refine((v) => v.minBytes <= v.maxBytes, { message: 'minBytes must not exceed maxBytes', path: ['minBytes'] });

export const HostDefaultsSchema = z
  .object({
    maxStepBytes: vmTunables.maxStepBytes.default(4 * GiB),
    requestsPerSec: vmTunables.requestsPerSec.default(5),
    burst: vmTunables.burst.default(10),
    floodLimit: z.number().int().min(1).max(100_000).default(50).describe('Violations (rate-limited requests, protocol errors, line floods) within floodWindowMs before the VM is disconnected.'),
    floodWindowMs: millis(100, 3_600_000).default(10_000).describe('Window of the flood count.'),
    linesPerSec: z.number().positive().max(100_000).default(100).describe('Lines of any kind a VM may send per second (burst: twice that); more are dropped and counted as violations.'),
    busyRetryAfterMs: millis(1, 600_000).default(1000).describe('retryAfterMs told to a guest when the hypervisor is unreachable.'),
    idempotencyCapacity: z.number().int().min(1).max(100_000).default(256).describe('Request ids remembered per VM for idempotent retries.'),
    reclaimOnContention: z.boolean().default(true).describe('Ask VMs holding more than their weighted share to give memory back (`reclaim`) when a VM under its share is refused budget.'),
    reclaimIntervalMs: millis(100, 3_600_000).default(10_000).describe('A VM is asked to give back budget at most this often (an unanswered ask counts).'),
    budgetRetryAfterMs: millis(100, 3_600_000)
      .default(30_000)
      .describe('retryAfterMs told to a guest (protocol 2) refused for budget while it holds its share or more; it is told at once (`available`) when budget frees for it. A guest under its share is told reclaimIntervalMs.'),
    availableDelayMs: millis(0, 60_000).default(500).describe('Budget freed within this time is offered to the refused VMs together (an unplug frees its blocks over seconds).'),
    availableIntervalMs: millis(0, 600_000)
      .default(5000)
      .describe('A VM is told `available` at most this often: in a busy fleet, where budget frees every second and the VMs refused outnumber it, a refused VM asks no more often than a version-1 guest retries.'),
  })
  .strict()
  .prefault({});

export const MetricsSchema = z
  .object({
    enabled: z.boolean().default(true),
    host: z.enum(['127.0.0.1', '::1', 'localhost']).default('127.0.0.1').describe('Loopback only: the metrics reveal every VM\'s sizes.'),
    port: z.number().int().min(0).max(65535).default(9464).describe('0 picks a free port.'),
  })
  .strict()
  .prefault({});

export const HostConfigSchema = z
  .object({
    log: LogSchema,
    budgetBytes: bytes().describe('Device memory all VMs together may hold (sum of max(requested, plugged)). SIGHUP applies a new one at once: lowered, the VMs above their shares are asked for the excess; raised, refused VMs are told.'),
    defaults: HostDefaultsSchema,
    metrics: MetricsSchema,
    vms: z.array(VmSchema).default([]).describe('The VMs served: name, channel (unix-connect / unix-listen / vsock-hybrid), adapter (qemu / fake), minBytes, maxBytes, weight, optional maxStepBytes / requestsPerSec / burst. Example in docs/protocol.md.'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.vms.forEach((vm, i) => {
      if (seen.has(vm.name)) ctx.addIssue({ code: 'custom', message: `duplicate VM name ${vm.name}`, path: ['vms', i, 'name'] });
      seen.add(vm.name);
    });
    const paths = new Set<string>();
    cfg.vms.forEach((vm, i) => {
      if (paths.has(vm.channel.path)) ctx.addIssue({ code: 'custom', message: `channel path used twice: a VM is known by its channel`, path: ['vms', i, 'channel', 'path'] });
      paths.add(vm.channel.path);
    });
  });

export type ChannelConfig = z.output<typeof ChannelSchema>;
export type QemuAdapterConfig = z.output<typeof QemuAdapterSchema>;
export type FakeAdapterConfig = z.output<typeof FakeAdapterSchema>;
export type AdapterConfig = z.output<typeof AdapterSchema>;
export type VmConfig = z.output<typeof VmSchema>;
export type HostDefaults = z.output<typeof HostDefaultsSchema>;
export type HostConfig = z.output<typeof HostConfigSchema>;
export type HostConfigInput = z.input<typeof HostConfigSchema>;
