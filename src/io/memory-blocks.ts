/**
 * Memory blocks and virtio-mem devices as the guest kernel shows them in sysfs, read
 * from an injectable root so that fixture trees (truncated, garbled, missing files) stand
 * in for /sys in tests. Every problem is a typed error in the snapshot, never a throw.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable} from 'rxjs';
import { asyncScheduler, defer, distinctUntilChanged, EMPTY, filter, map, merge, timer, type SchedulerLike } from 'rxjs';

export type BlockState = 'online' | 'offline' | 'going-offline' | 'unknown';

export interface MemoryBlock {
  index: number;
  state: BlockState;
  /**
   * valid_zones of an online block: the zone it is in ("Normal", "Movable", "none" when it
   * spans zones). Empty for offline blocks: not read (see readMemoryBlocks).
   */
  zones: string[];
}

export interface VirtioMemDevice {
  /** e.g. "virtio5" */
  name: string;
  driver: string | null;
}

export interface BlocksError {
  path: string;
  code: 'missing' | 'garbled' | 'unreadable';
  message: string;
}

export interface MemoryBlocksSnapshot {
  blockSizeBytes: number | null;
  /** auto_online_blocks: "offline", "online", "online_kernel", "online_movable"; null if unreadable. */
  autoOnline: string | null;
  blocks: MemoryBlock[];
  virtioMem: VirtioMemDevice[];
  errors: BlocksError[];
}

/** block_size_bytes format: the block size in hex, without 0x, e.g. "8000000\n" (128 MiB). */
export function parseBlockSize(text: string): number | null {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) return null;
  const n = Number.parseInt(t, 16);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

/** memoryN/state format: one word, "online", "offline" or "going-offline". */
export function parseBlockState(text: string): BlockState {
  const t = text.trim();
  return t === 'online' || t === 'offline' || t === 'going-offline' ? t : 'unknown';
}

/** valid_zones format: zone names separated by spaces, e.g. "Normal Movable", or "none". */
export function parseValidZones(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

const VIRTIO_ID_MEM = 0x18;

/** virtio device file format: the device id in hex with 0x, e.g. "0x0018" (virtio-mem). */
export function parseVirtioDeviceId(text: string): number | null {
  const m = /^0x([0-9a-fA-F]{1,8})$/.exec(text.trim());
  return m ? Number.parseInt(m[1] as string, 16) : null;
}

function tryRead(path: string, errors: BlocksError[]): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    errors.push({ path, code: code === 'ENOENT' ? 'missing' : 'unreadable', message: `${path}: ${code ?? (err as Error).message}` });
    return null;
  }
}

function tryList(path: string, errors: BlocksError[]): string[] {
  try {
    return readdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    errors.push({ path, code: code === 'ENOENT' ? 'missing' : 'unreadable', message: `${path}: ${code ?? (err as Error).message}` });
    return [];
  }
}

export function readVirtioMemDevices(sysRoot = '/sys', errors: BlocksError[] = []): VirtioMemDevice[] {
  const dir = join(sysRoot, 'bus/virtio/devices');
  const out: VirtioMemDevice[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    // No virtio bus at all: a machine without virtio devices, not an error.
    return out;
  }
  for (const name of names.sort()) {
    const text = tryRead(join(dir, name, 'device'), errors);
    if (text === null) continue;
    const id = parseVirtioDeviceId(text);
    if (id === null) {
      errors.push({ path: join(dir, name, 'device'), code: 'garbled', message: `unexpected virtio device id ${JSON.stringify(text.trim().slice(0, 20))}` });
      continue;
    }
    if (id !== VIRTIO_ID_MEM) continue;
    let driver: string | null;
    try {
      driver = readlinkSync(join(dir, name, 'driver')).split('/').pop() ?? null;
    } catch {
      driver = null;
    }
    out.push({ name, driver });
  }
  return out;
}

export function readMemoryBlocks(sysRoot = '/sys'): MemoryBlocksSnapshot {
  const errors: BlocksError[] = [];
  const dir = join(sysRoot, 'devices/system/memory');
  const bs = tryRead(join(dir, 'block_size_bytes'), errors);
  let blockSizeBytes: number | null = null;
  if (bs !== null) {
    blockSizeBytes = parseBlockSize(bs);
    if (blockSizeBytes === null) errors.push({ path: join(dir, 'block_size_bytes'), code: 'garbled', message: `unexpected block size ${JSON.stringify(bs.trim().slice(0, 20))}` });
  }
  const ao = tryRead(join(dir, 'auto_online_blocks'), errors);
  const blocks: MemoryBlock[] = [];
  for (const entry of tryList(dir, errors)) {
    const m = /^memory(\d+)$/.exec(entry);
    if (!m) continue;
    const stateText = tryRead(join(dir, entry, 'state'), errors);
    if (stateText === null) continue;
    const state = parseBlockState(stateText);
    if (state === 'unknown') errors.push({ path: join(dir, entry, 'state'), code: 'garbled', message: `unexpected block state ${JSON.stringify(stateText.trim().slice(0, 20))}` });
    // Never valid_zones of an offline block: a block that hot-plug has just added is visible
    // before the kernel sets its node, and reading it then dereferences NODE_DATA(-1)
    // (Debian's 6.1 guest kernel oopsed in valid_zones_show -> zone_for_pfn_range and took
    // the daemon with it, e2e 2026-11-27). For an online block the kernel only names its zone.
    const zonesText = state === 'online' ? tryRead(join(dir, entry, 'valid_zones'), errors) : null;
    blocks.push({ index: Number(m[1]), state, zones: zonesText === null ? [] : parseValidZones(zonesText) });
  }
  blocks.sort((a, b) => a.index - b.index);
  return { blockSizeBytes, autoOnline: ao === null ? null : ao.trim(), blocks, virtioMem: readVirtioMemDevices(sysRoot, errors), errors };
}

export interface BlocksSummary {
  online: number;
  offline: number;
  onlineMovable: number;
  /** Online blocks in a kernel zone (Normal, DMA32, DMA, or spanning zones). */
  onlineKernel: number;
}

export function summarizeBlocks(s: MemoryBlocksSnapshot): BlocksSummary {
  let online = 0;
  let offline = 0;
  let onlineMovable = 0;
  for (const b of s.blocks) {
    if (b.state === 'online') {
      online++;
      if (b.zones.length === 1 && b.zones[0] === 'Movable') onlineMovable++;
    } else if (b.state === 'offline') offline++;
  }
  return { online, offline, onlineMovable, onlineKernel: online - onlineMovable };
}

export interface MemoryBlocksSourceConfig {
  blocksIntervalMs: number;
  blocksFullScanMs: number;
}

/**
 * Snapshots, emitted at start and whenever blocks or their states change. A full scan
 * reads two files per block (about 400 reads on a 24 GiB guest), too much to do every
 * second; so each tick only lists the folder (hot-plug adds and removes memoryN
 * entries), and the full scan runs when that list changes, when `rescan$` asks (e.g.
 * MemTotal moved, or the daemon onlined blocks) and every `blocksFullScanMs` as a safety.
 */
export function makeMemoryBlocksSource(
  cfg: MemoryBlocksSourceConfig,
  deps: {
    sysRoot?: string;
    scheduler?: SchedulerLike;
    read?: (sysRoot: string) => MemoryBlocksSnapshot;
    list?: (sysRoot: string) => string;
    rescan$?: Observable<unknown>;
  } = {},
): Observable<MemoryBlocksSnapshot> {
  const scheduler = deps.scheduler ?? asyncScheduler;
  const read = deps.read ?? readMemoryBlocks;
  const root = deps.sysRoot ?? '/sys';
  const list =
    deps.list ??
    ((r: string) => {
      try {
        return readdirSync(join(r, 'devices/system/memory')).filter((e) => e.startsWith('memory')).sort().join(' ');
      } catch (err) {
        return `error:${(err as NodeJS.ErrnoException).code ?? ''}`;
      }
    });
  const key = (s: MemoryBlocksSnapshot) => `${s.blockSizeBytes}|${s.blocks.map((b) => `${b.index}:${b.state}:${b.zones.join(',')}`).join(' ')}|${s.errors.length}`;
  return defer(() => {
    let lastList: string | null = null;
    let lastFullMs = Number.NEGATIVE_INFINITY;
    const tick$ = timer(0, cfg.blocksIntervalMs, scheduler).pipe(
      filter(() => {
        const l = list(root);
        const due = l !== lastList || scheduler.now() - lastFullMs >= cfg.blocksFullScanMs;
        lastList = l;
        return due;
      }),
    );
    return merge(tick$, deps.rescan$ ?? EMPTY).pipe(
      map(() => {
        lastFullMs = scheduler.now();
        return read(root);
      }),
      distinctUntilChanged((a, b) => key(a) === key(b)),
    );
  });
}

export interface AddressRange {
  start: bigint;
  /** Inclusive, as /proc/iomem prints it. */
  end: bigint;
}

/**
 * /proc/iomem format: `start-end : name`, hex, inclusive end, children indented by two
 * spaces. virtio-mem adds its memory as `System RAM (virtio_mem)` (at any depth).
 * Without CAP_SYS_ADMIN the kernel prints zeros: such ranges are dropped.
 */
export function parseIomemVirtioMem(text: string): AddressRange[] {
  const out: AddressRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-fA-F]+)-([0-9a-fA-F]+) : System RAM \(virtio_mem\)\s*$/.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    const end = BigInt(`0x${m[2]}`);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/**
 * Bytes of online memory blocks inside virtio-mem ranges: the plugged size at daemon start,
 * to block granularity (exact when the device plugs whole memory blocks; an upper bound
 * when 2 MiB sub-blocks leave a memory block partly plugged). Used only as the baseline
 * for MemTotal growth (src/signals/observed.ts), so a restarted daemon does not count the
 * memory plugged before it as boot RAM.
 */
export function virtioMemOnlineBytes(snap: MemoryBlocksSnapshot, ranges: AddressRange[]): number {
  const bs = snap.blockSizeBytes;
  if (!bs || ranges.length === 0) return 0;
  const size = BigInt(bs);
  let n = 0;
  for (const b of snap.blocks) {
    if (b.state !== 'online') continue;
    const start = BigInt(b.index) * size;
    if (ranges.some((r) => start >= r.start && start + size - 1n <= r.end)) n++;
  }
  return n * bs;
}
