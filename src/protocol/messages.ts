/**
 * The wire protocol's messages (docs/protocol.md): one zod schema per message, shared by
 * the guest and the host. Both ends validate everything they receive; a peer is never
 * trusted to be well-formed. Unknown fields are dropped (forward compatibility within a
 * version); unknown `type`s are an error the peer hears about.
 */
import { z } from 'zod';

/**
 * Versions this build speaks; the handshake settles on the highest both sides list.
 * 2 adds `available` (host -> guest) and `retryAfterMs` on a budget denial: a guest refused
 * for budget waits as long as the host says and is told when budget frees for it.
 */
export const PROTOCOL_VERSIONS = [1, 2] as const;
/** The first version whose guests understand `available` and a denial's `retryAfterMs`. */
export const AVAILABLE_SINCE_VERSION = 2;

/** Longest line either end accepts, newline excluded. */
export const MAX_LINE_BYTES = 64 * 1024;

const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const id = z.string().min(1).max(128);
const text = z.string().max(256);
const millis = z.number().int().nonnegative().max(24 * 3600 * 1000);

export const PressureSchema = z.object({
  source: z.enum(['psi', 'headroom', 'relaxed', 'reclaim', 'abort']),
  severity: z.enum(['some', 'full']).optional(),
  stallPercent: z.number().min(0).max(100).optional(),
  memAvailableBytes: size.optional(),
  secondsToReserve: z.number().finite().optional(),
});

// ---- guest -> host ----

export const HelloSchema = z.object({
  type: z.literal('hello'),
  versions: z.array(z.number().int().positive()).min(1).max(16),
  /** Unique per guest daemon start; the host logs it to tell restarts apart. */
  idPrefix: id.optional(),
  software: text.optional(),
});

export const ResizeSchema = z.object({
  type: z.literal('resize'),
  id,
  kind: z.enum(['grow', 'shrink', 'hold']),
  /** ABSOLUTE device size wanted, not a delta: a replayed request cannot add twice. */
  targetBytes: size,
  fromBytes: size.optional(),
  reason: text,
  pressure: PressureSchema.optional(),
  attempt: z.number().int().nonnegative().max(1000).optional(),
});

export const ReclaimReplySchema = z.object({
  type: z.literal('reclaim-reply'),
  id,
  accepted: z.boolean(),
  bytes: size,
  reason: text.optional(),
});

export const PingSchema = z.object({ type: z.literal('ping'), id: id.optional() });
export const PongSchema = z.object({ type: z.literal('pong'), id: id.optional() });

export const ErrorCodeSchema = z.enum([
  'line-too-long',
  'invalid-json',
  'unknown-type',
  'schema',
  'version',
  'handshake-required',
  'flood',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorSchema = z.object({
  type: z.literal('error'),
  code: z.union([ErrorCodeSchema, text]),
  message: z.string().max(1024),
  /** The offending request's id, when it could be read. */
  ref: id.optional(),
});

export const GuestMessageSchema = z.discriminatedUnion('type', [HelloSchema, ResizeSchema, ReclaimReplySchema, PingSchema, PongSchema, ErrorSchema]);

// ---- host -> guest ----

export const WelcomeSchema = z.object({
  type: z.literal('welcome'),
  version: z.number().int().positive(),
  minBytes: size,
  maxBytes: size,
  blockBytes: size.min(1),
  requestedBytes: size,
  pluggedBytes: size,
});

export const AckSchema = z.object({
  type: z.literal('ack'),
  id,
  outcome: z.enum(['granted', 'partial', 'denied', 'busy']),
  grantedBytes: size,
  reason: text.optional(),
  retryAfterMs: millis.optional(),
});

export const DoneSchema = z.object({
  type: z.literal('done'),
  id,
  status: z.enum(['complete', 'partial', 'failed']),
  pluggedBytes: size,
});

export const LimitsSchema = z.object({ type: z.literal('limits'), minBytes: size, maxBytes: size });

export const ReclaimSchema = z.object({ type: z.literal('reclaim'), id, bytes: size });

/** Version 2: budget freed since this VM's last grow was refused for it; `bytes` is the device size the host would grant now. */
export const AvailableSchema = z.object({ type: z.literal('available'), bytes: size });

export const HostMessageSchema = z.discriminatedUnion('type', [WelcomeSchema, AckSchema, DoneSchema, LimitsSchema, ReclaimSchema, AvailableSchema, PingSchema, PongSchema, ErrorSchema]);

export type Hello = z.infer<typeof HelloSchema>;
export type Resize = z.infer<typeof ResizeSchema>;
export type ReclaimReplyMessage = z.infer<typeof ReclaimReplySchema>;
export type ErrorMessage = z.infer<typeof ErrorSchema>;
export type GuestMessage = z.infer<typeof GuestMessageSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type Done = z.infer<typeof DoneSchema>;
export type HostMessage = z.infer<typeof HostMessageSchema>;

export const GUEST_TYPES: ReadonlySet<string> = new Set(GuestMessageSchema.options.map((o) => o.shape.type.value));
export const HOST_TYPES: ReadonlySet<string> = new Set(HostMessageSchema.options.map((o) => o.shape.type.value));

/** The highest version both sides speak, or undefined. */
export function negotiateVersion(offered: readonly number[], supported: readonly number[] = PROTOCOL_VERSIONS): number | undefined {
  const common = offered.filter((v) => supported.includes(v));
  return common.length ? Math.max(...common) : undefined;
}
