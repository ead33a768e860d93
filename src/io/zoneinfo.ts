/**
 * /proc/zoneinfo: per-zone page counts. Format (one section per node and zone):
 *
 *   Node 0, zone   Normal
 *     pages free     12345
 *           boost    0
 *           min      1234
 *           ...
 *           managed  456789
 *
 * Only `pages free` and `managed` are read. Zones DMA, DMA32 and Normal are where kernel
 * allocations can go; Movable is not. Counts are pages of 4 KiB (x86_64, arm64 with 4K
 * pages; the page size is a parameter).
 */
import type { ZoneState } from '../policy/zones.ts';

export type ZoneinfoResult = { ok: true; zones: ZoneState } | { ok: false; error: string };

const HEADER = /^Node\s+(\d+),\s+zone\s+(\S+)/;
const KERNEL_ZONES = new Set(['DMA', 'DMA32', 'Normal']);

export function parseZoneinfo(text: string, pageBytes = 4096): ZoneinfoResult {
  let zone: string | null = null;
  let sections = 0;
  const z: ZoneState = { kernelFreeBytes: 0, kernelManagedBytes: 0, movableManagedBytes: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const h = HEADER.exec(line);
    if (h) {
      zone = h[2] ?? null;
      sections++;
      continue;
    }
    if (zone === null) continue;
    const parts = line.split(/\s+/);
    let key: string | undefined;
    let value: string | undefined;
    if (parts[0] === 'pages' && parts[1] === 'free') [key, value] = ['free', parts[2]];
    else if (parts[0] === 'managed') [key, value] = ['managed', parts[1]];
    if (!key) continue;
    const pages = Number(value);
    if (!Number.isSafeInteger(pages) || pages < 0) return { ok: false, error: `zoneinfo: bad ${key} count "${value ?? ''}" in zone ${zone}` };
    const bytes = pages * pageBytes;
    if (KERNEL_ZONES.has(zone)) {
      if (key === 'free') z.kernelFreeBytes += bytes;
      else z.kernelManagedBytes += bytes;
    } else if (zone === 'Movable' && key === 'managed') z.movableManagedBytes += bytes;
  }
  if (sections === 0) return { ok: false, error: 'zoneinfo: no "Node N, zone X" section' };
  return { ok: true, zones: z };
}
