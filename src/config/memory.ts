/** Hot-plugged memory in the guest: how blocks are onlined and how growth is observed (docs/signals.md). */
import { z } from 'zod';
import { millis } from './units.ts';

export const MemorySchema = z
  .object({
    online: z
      .enum(['auto-movable', 'movable', 'kernel', 'none'])
      .default('auto-movable')
      .describe('Onlining of offline blocks: auto-movable keeps MOVABLE:NORMAL under movableRatioPercent, movable = all ZONE_MOVABLE (unplug-friendly), kernel = the kernel\'s default zone (survives kernel allocations), none = leave it to the kernel/udev.'),
    movableRatioPercent: z.number().int().min(0).max(3000).default(301).describe('auto-movable: ZONE_MOVABLE may hold at most this share of the NORMAL (and DMA32) memory, as memory_hotplug.auto_movable_ratio.'),
    blocksIntervalMs: millis(50, 60_000).default(1000).describe('How often the /sys/devices/system/memory listing is checked for added or removed blocks.'),
    blocksFullScanMs: millis(1000, 3_600_000).default(60_000).describe('Full scan of every block\'s state and zones at least this often (also on listing changes and when MemTotal moves).'),
    lockMemory: z.boolean().default(true).describe('Lock the daemon\'s code pages (file-backed executable mappings) in RAM so thrashing cannot evict them.'),
    oomScoreAdj: z.number().int().min(-1000).max(1000).default(-1000).describe('oom_score_adj of the daemon process (children reset to 0).'),
  })
  .prefault({});

export type MemoryConfig = z.output<typeof MemorySchema>;
