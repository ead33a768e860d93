/**
 * The one schema of memresize's configuration: types, defaults, ranges and the text of
 * docs/config.md all come from here (npm run docs regenerates the docs).
 * Every field carries its unit in its name: ...Ms, ...Us, ...Bytes, ...Percent.
 */
import { z } from 'zod';
import { bytes, GiB, MiB, millis } from './units.ts';
import { SignalsSchema } from './signals.ts';
import { MemorySchema } from './memory.ts';
import { LinkSchema } from './link.ts';
import { ControlSchema, GuestMetricsSchema } from './control.ts';

export const LogSchema = z
  .object({
    level: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info')
      .describe('Lowest level written. Transitions are logged at info.'),
    pretty: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe('Human-readable output: auto = only when stdout is a TTY. JSON lines otherwise.'),
  })
  .prefault({});

/** Timers of the resize machine (the named delays of the chart). */
export const TimingSchema = z
  .object({
    helloTimeoutMs: millis(50, 120_000).default(3000).describe('How long the handshake waits for the host\'s welcome before the daemon is degraded.'),
    helloResendMs: millis(50, 120_000).default(1000).describe('While the handshake waits, the hello is sent again this often: on a lossy link one lost hello or welcome must not cost a whole degraded period.'),
    ackTimeoutMs: millis(20, 120_000).default(1500).describe('How long a resize request waits for its ack before it is sent again with the same id, until roundtrips are measured; then the most it waits (the timeout is 4x the smallest of the last 16 measured roundtrips: a resend is cheap and idempotent, waiting is not).'),
    ackTimeoutMinMs: millis(1, 120_000).default(250).describe('The least the measured ack timeout can be.'),
    ackRetryBaseMs: millis(1, 60_000).default(200).describe('First backoff after an ack timeout; doubles per retry (equal jitter).'),
    ackRetryCapMs: millis(1, 600_000).default(5000).describe('Ceiling of the ack retry backoff.'),
    ackMaxRetries: z.number().int().min(0).max(50).default(4).describe('Retries of one request id at least, before the host counts as unreachable (degraded); see ackGiveUpMs.'),
    ackGiveUpMs: millis(0, 600_000).default(8000).describe('Resends of one request id go on past ackMaxRetries until the waits add up to this: the host counts as unreachable (degraded) after this long without an answer, however short the measured ack timeout.'),
    busyRetryMaxMs: millis(1, 600_000).default(10_000).describe('Upper bound on the host\'s retryAfterMs: a host cannot park the guest for longer.'),
    busyMaxRetries: z.number().int().min(0).max(100).default(5).describe('Busy answers accepted for one request before it is dropped (then cooling).'),
    growCompletionTimeoutMs: millis(100, 600_000).default(10_000).describe('How long a granted grow may take to be observed in the guest; after it, what is observed counts (partial).'),
    unplugTimeoutBaseMs: millis(100, 600_000).default(5000).describe('Fixed part of the time allowed for an unplug to be observed.'),
    unplugTimeoutPerGiBMs: millis(0, 600_000).default(6000).describe('Time allowed per GiB being unplugged (measured here: 1.9-2.7 s per idle GiB under TCG).'),
    cooldownAfterGrowMs: millis(0, 600_000).default(1000).describe('Quiet time after a grow: pressure in it is remembered and acted on at its end, headroom.low acts at once.'),
    cooldownAfterShrinkMs: millis(0, 3_600_000).default(20_000).describe('Quiet time after a completed shrink before the next decision.'),
    cooldownAfterDenyMs: millis(0, 3_600_000).default(5000).describe('Quiet time after a denial that is not the VM\'s ceiling (budget, rate); the least when the host names a longer one.'),
    cooldownAfterDenyMaxMs: millis(0, 3_600_000)
      .default(60_000)
      .describe('Longest quiet time after a budget denial that the host may ask for (retryAfterMs, protocol 2, whose host also says `available` when budget frees for the VM).'),
    unplugBackoffBaseMs: millis(0, 3_600_000).default(30_000).describe('Cooldown after the first failed or partial unplug; doubles per consecutive failure.'),
    unplugBackoffCapMs: millis(0, 86_400_000).default(600_000).describe('Ceiling of the unplug-failure backoff.'),
    degradedRetryMs: millis(100, 3_600_000).default(5000).describe('While degraded, how often at most the handshake is tried again on a live link: the first retry comes after helloResendMs, each further one waits twice as long, up to this.'),
  })
  .prefault({});

/** Sizing policy: plain numbers fed to the pure functions in src/policy. */
export const PolicySchema = z
  .object({
    growStepMinBytes: bytes().default(128 * MiB).describe('Smallest grow step (rounded up to the block size).'),
    growStepMaxBytes: bytes().default(2 * GiB).describe('Largest single grow step.'),
    severeStepMultiplier: z.number().min(1).max(16).default(2).describe('Pressure-based step multiplier when the stall is `full` (no task could run).'),
    growLeadFactor: z.number().min(0).max(20).default(2).describe('Rate-based step covers this many grow latencies of allocation at the current rate: the memory must last until the next grow can land.'),
    growLatencyInitialMs: millis(1, 600_000).default(1000).describe('Assumed grow latency (request to memory observed) until one is measured.'),
    reserveMinBytes: bytes().default(128 * MiB).describe('Free memory (MemAvailable) the daemon keeps as a floor.'),
    reservePercent: z.number().min(0).max(50).default(6).describe('Reserve as a share of MemTotal, when larger than reserveMinBytes.'),
    memmapPercent: z.number().min(0).max(10).default(1.5625).describe('Memory the kernel takes from existing RAM for the memmap of plugged memory (2 MiB per 128 MiB = 1.5625%).'),
    shrinkStepMaxBytes: bytes().default(1 * GiB).describe('Largest single shrink step.'),
    shrinkStepMinBytes: bytes().default(64 * MiB).describe('Smallest shrink worth a request, an unplug and a cooldown: a smaller surplus stays.'),
    shrinkScaleMin: z.number().min(0.01).max(1).default(0.125).describe('After regretted shrinks or failed unplugs the shrink step is halved down to this share.'),
    stallFloorMarginBytes: bytes().default(64 * MiB).describe('A PSI stall raises the MemAvailable the daemon defends (instead of the reserve) to MemAvailable at the stall plus this margin: page cache the workload re-reads is working set.'),
    stallAmpleFreeBytes: bytes().default(256 * MiB).describe('A PSI trigger is answered only while the memory free above the zones\' high watermarks (zoneinfo, read when it fires) is under this, or the kernel zones\' under the kernel-zone floor: with more free the kernel is not reclaiming globally, and the stall is a cgroup\'s own memory.max or compaction, which a bigger VM does not relieve.'),
    stallLookbackMs: millis(0, 60_000).default(3000).describe('A stall teaches the lowest MemAvailable sampled within this time before its trigger (the trigger window, 2 s in avgs mode, plus a sample interval): a trigger that arrives after a grow already landed reports a stall from before it.'),
    stallFloorHalfLifeMs: millis(1000, 7 * 24 * 3_600_000).default(30 * 60_000).describe('Half-life of that raised floor: it decays back to the reserve, so a working set that shrank can be given back.'),
  })
  .prefault({});

export const MachineConfigSchema = z
  .object({
    timing: TimingSchema,
    policy: PolicySchema,
  })
  .prefault({});

export const GuestConfigSchema = z
  .object({
    log: LogSchema,
    timing: TimingSchema,
    policy: PolicySchema,
    signals: SignalsSchema,
    memory: MemorySchema,
    link: LinkSchema,
    control: ControlSchema,
    metrics: GuestMetricsSchema,
  })
  .strict()
  .prefault({});

export type LogConfig = z.output<typeof LogSchema>;
export type TimingConfig = z.output<typeof TimingSchema>;
export type PolicyConfig = z.output<typeof PolicySchema>;
export type MachineConfig = z.output<typeof MachineConfigSchema>;
export type GuestConfig = z.output<typeof GuestConfigSchema>;
export type GuestConfigInput = z.input<typeof GuestConfigSchema>;

export function defaultGuestConfig(): GuestConfig {
  return GuestConfigSchema.parse({});
}
