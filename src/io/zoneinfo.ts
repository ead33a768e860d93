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
 * Read: `pages free`, `managed`, and the `high` watermark with its `boost` (kswapd reclaims
 * until free is above high + boost; the per-cpu pageset lines `high:` are not watermarks).
 * Zones DMA, DMA32 and Normal are where kernel allocations can go; Movable is not. Counts
 * are pages of 4 KiB (x86_64, arm64 with 4K pages; the page size is a parameter).
 */
import type { ZoneHeadroom } from '../policy/reclaim.ts';
import type { ZoneState } from '../policy/zones.ts';

export type ZoneinfoResult = { ok: true; zones: ZoneState; headroom: ZoneHeadroom } | { ok: false; error: string };

const HEADER = /^Node\s+(\d+),\s+zone\s+(\S+)/;
const KERNEL_ZONES = new Set(['DMA', 'DMA32', 'Normal']);

export function parseZoneinfo(text: string, pageBytes = 4096): ZoneinfoResult {
  let zone: { name: string; free: number; managed: number; high: number; boost: number } | null = null;
  let sections = 0;
  const z: ZoneState = { kernelFreeBytes: 0, kernelManagedBytes: 0, movableManagedBytes: 0 };
  const headroom: ZoneHeadroom = { freeAboveHighBytes: 0, kernelFreeAboveHighBytes: 0 };
  const close = (): void => {
    if (!zone || zone.managed === 0) return;
    const above = Math.max(0, zone.free - zone.high - zone.boost) * pageBytes;
    headroom.freeAboveHighBytes += above;
    if (KERNEL_ZONES.has(zone.name)) {
      headroom.kernelFreeAboveHighBytes += above;
      z.kernelFreeBytes += zone.free * pageBytes;
      z.kernelManagedBytes += zone.managed * pageBytes;
    } else if (zone.name === 'Movable') z.movableManagedBytes += zone.managed * pageBytes;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const h = HEADER.exec(line);
    if (h) {
      close();
      zone = { name: h[2] ?? '', free: 0, managed: 0, high: 0, boost: 0 };
      sections++;
      continue;
    }
    if (zone === null) continue;
    const parts = line.split(/\s+/);
    let key: 'free' | 'managed' | 'high' | 'boost' | undefined;
    let value: string | undefined;
    if (parts[0] === 'pages' && parts[1] === 'free') [key, value] = ['free', parts[2]];
    else if ((parts[0] === 'managed' || parts[0] === 'high' || parts[0] === 'boost') && parts.length === 2) [key, value] = [parts[0], parts[1]];
    if (!key) continue;
    const pages = Number(value);
    if (!Number.isSafeInteger(pages) || pages < 0) return { ok: false, error: `zoneinfo: bad ${key} count "${value ?? ''}" in zone ${zone.name}` };
    zone[key] = pages;
  }
  close();
  if (sections === 0) return { ok: false, error: 'zoneinfo: no "Node N, zone X" section' };
  return { ok: true, zones: z, headroom };
}
