import { z } from 'zod';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  kb: KiB,
  kib: KiB,
  m: MiB,
  mb: MiB,
  mib: MiB,
  g: GiB,
  gb: GiB,
  gib: GiB,
  t: 1024 * GiB,
  tb: 1024 * GiB,
  tib: 1024 * GiB,
};

const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/;

/**
 * Parses "512MiB", "2G", "1.5 GiB" or a plain byte count. Binary units throughout:
 * memory is sized in pages and blocks, and "1G" of memory means GiB to every operator.
 */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text);
  if (!m) return undefined;
  const unit = UNIT[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(value) ? value : undefined;
}

export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= GiB && abs % (GiB / 4) === 0) return `${bytes / GiB} GiB`;
  if (abs >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`;
  if (abs >= KiB) return `${+(bytes / KiB).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** A byte count in config: an integer or a size string such as "128MiB". */
export function bytes() {
  return z
    .union([
      z.number().int().nonnegative(),
      z.string().refine((s) => parseSize(s) !== undefined, {
        message: 'expected a byte count or a size such as "128MiB" or "2GiB"',
      }),
    ])
    .transform((v) => (typeof v === 'number' ? v : (parseSize(v) as number)));
}

/** A duration in milliseconds, bounded so that a typo cannot disable a timeout. */
export function millis(min: number, max: number) {
  return z.number().int().min(min).max(max);
}
