/**
 * `memresize record`: samples a live system into the trace format (trace-csv.ts).
 * Reads /proc/meminfo ("Key:   123 kB" lines) and /proc/pressure/memory ("some avg10=..
 * total=N" lines) under an injectable procRoot. anon_bytes = AnonPages; file_bytes =
 * Active(file), the page cache the kernel has seen re-used (the working set estimate);
 * unmovable_bytes = 0 (not observable from meminfo). Extra columns keep MemTotal,
 * MemAvailable and the PSI totals for comparison with a replay.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TracePoint } from './trace-csv.ts';

export const RECORD_EXTRA = ['mem_total_bytes', 'mem_available_bytes', 'psi_some_total_us', 'psi_full_total_us'] as const;

/** Parses /proc/meminfo: "Name: value [kB]" per line; values in kB become bytes. */
export function parseMeminfoText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(\s*kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

/** Parses the `total=` of the some and full lines of a pressure file (absent -> 0). */
export function parsePressureTotals(text: string): { some: number; full: number } {
  const get = (kind: string) => Number(new RegExp(`^${kind} .*total=(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { some: get('some'), full: get('full') };
}

export function sampleLive(procRoot: string, tS: number): TracePoint {
  const mi = parseMeminfoText(readFileSync(join(procRoot, 'meminfo'), 'utf8'));
  let psi = { some: 0, full: 0 };
  try {
    psi = parsePressureTotals(readFileSync(join(procRoot, 'pressure/memory'), 'utf8'));
  } catch {
    // No PSI (kernel without CONFIG_PSI or psi=0): the totals stay 0.
  }
  const need = (k: string) => {
    const v = mi.get(k);
    if (v === undefined) throw new Error(`${procRoot}/meminfo has no ${k}`);
    return v;
  };
  return {
    tS,
    anonBytes: need('AnonPages'),
    fileBytes: need('Active(file)'),
    unmovableBytes: 0,
    extra: { mem_total_bytes: need('MemTotal'), mem_available_bytes: need('MemAvailable'), psi_some_total_us: psi.some, psi_full_total_us: psi.full },
  };
}
