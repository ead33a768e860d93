/**
 * The baseline policies, each from its published behaviour (sources in docs/simulator.md
 * and ../shared/notes/peers.md). They ask the same simulated host through the same link as
 * memresize; where a source leaves a detail open, the choice is named in a comment.
 */
import { alignUp } from '../../policy/align.ts';
import { MiB, GiB } from '../../config/units.ts';
import { every, makeRequester } from './request.ts';
import type { Policy, PolicyEnv } from './types.ts';

const CHUNK_128M = 128 * MiB;

/** Device size that makes the VM `vmBytes` big, on chunk boundaries, within [0, max]. */
function deviceFor(env: PolicyEnv, vmBytes: number, chunk: number): number {
  return Math.min(env.maxBytes, Math.max(0, alignUp(vmBytes - env.bootBytes, chunk)));
}

export const staticMax: Policy = {
  name: 'static-max',
  source: 'common practice: size every VM for its peak',
  start(env) {
    const r = makeRequester(env, 'static-max');
    env.host.connect();
    r.request(env.maxBytes);
    // A VM configured at its max has it from boot: a lost request is asked again.
    const stop = every(env, 10_000, () => {
      if (!r.busy && env.guest.pluggedBytes < env.maxBytes) r.request(env.maxBytes);
    });
    return { stop: () => (stop(), r.stop()) };
  },
};

export const staticBoot: Policy = {
  name: 'static-boot',
  source: 'common practice: no resizing at all',
  start: () => ({ stop: () => {} }),
};

/**
 * Hyper-V Dynamic Memory (drivers/hv/hv_balloon.c): the guest posts committed memory every
 * 1 s after a 45 s start delay; the host targets committed x (1 + buffer 20%), hot-adds in
 * 128 MiB chunks. Committed = Committed_AS + the balloon floor (compute_balloon_floor()).
 * Removal goes through the balloon at one chunk per report (our reading: the host deflates
 * gradually; the exact rate is host-internal).
 */
export const hypervBuffer: Policy = {
  name: 'hyperv-buffer',
  source: 'Linux drivers/hv/hv_balloon.c (status every 1 s, 45 s delay, floor), Hyper-V Dynamic Memory buffer 20%, 128 MiB hot-add',
  start(env) {
    const r = makeRequester(env, 'hyperv');
    env.host.connect();
    const floorOf = (total: number) => {
      const mb = total / MiB;
      if (mb < 128) return 8 * MiB + total / 2;
      if (mb < 512) return 40 * MiB + total / 4;
      if (mb < 2048) return 104 * MiB + total / 8;
      if (mb < 8192) return 232 * MiB + total / 16;
      return 488 * MiB + total / 32;
    };
    const stop = every(
      env,
      1000,
      () => {
        if (r.busy) return;
        const m = env.guest.meminfo();
        const committed = m.committedAsBytes + floorOf(m.memTotalBytes);
        const want = deviceFor(env, committed * 1.2, CHUNK_128M);
        const plugged = env.guest.pluggedBytes;
        if (want > plugged) r.request(want);
        else if (want < plugged - CHUNK_128M) r.request(plugged - CHUNK_128M);
      },
      45_000,
    );
    return { stop: () => (stop(), r.stop()) };
  },
};

/**
 * Xen selfballooning (drivers/xen/xen-selfballoon.c): every 5 s, goal = Committed_AS +
 * reserve (selfballoon_reserved_mb, default 0, plus totalreserve pages), floored at
 * min_usable = 99 MiB + RAM/32 above 512 MiB (the source's piecewise floor); the target
 * moves by the whole gap up (uphysteresis 1) and gap/8 down (downhysteresis 8).
 */
export const xenSelfballoon: Policy = {
  name: 'xen-selfballoon',
  source: 'Linux drivers/xen/xen-selfballoon.c (removed 2019): 5 s interval, uphysteresis 1, downhysteresis 8',
  start(env) {
    const r = makeRequester(env, 'xen');
    env.host.connect();
    const stop = every(env, 5000, () => {
      if (r.busy) return;
      const m = env.guest.meminfo();
      const total = env.bootBytes + env.guest.pluggedBytes;
      const minUsable = total > 512 * MiB ? 99 * MiB + total / 32 : total / 2;
      const goalVm = Math.max(minUsable, m.committedAsBytes) + (total - m.memTotalBytes);
      const gap = goalVm - total;
      const next = gap > 0 ? total + gap : total + gap / 8;
      const want = deviceFor(env, next, env.blockBytes);
      if (want !== env.guest.pluggedBytes) r.request(want);
    });
    return { stop: () => (stop(), r.stop()) };
  },
};

/**
 * Qualcomm vmrd (RFC, Aug 2023): grow one chunk whenever a PSI `some` trigger fires and
 * Movable free < half a chunk; the plug blocks the loop. Shrink: after 10 s without events
 * and some avg10 = 0, avg60 <= 0.03, unplug chunk by chunk what it estimates unpluggable
 * (Movable free + inactive file + inactive anon), each chunk retried at most twice 10 s
 * apart. Its 5..50 ms triggers need a patched 50 ms window; the real kernel floor is 500 ms,
 * so it gets the same 500 ms window as memresize with its lowest threshold (5 ms). Chunk:
 * 128 MiB, the memory block size ("later: the device block size" is 2 MiB here, too small
 * to be fair to it). Inactive shares: half the page cache, a third of anon (LRU balance).
 */
export const vmrdChunk: Policy = {
  name: 'vmrd-chunk',
  source: 'lore.kernel.org vmrd RFC (quic_sudaraja, Aug 2023), peers.md',
  psiWindowUs: 500_000,
  start(env) {
    const r = makeRequester(env, 'vmrd');
    env.host.connect();
    const chunk = CHUNK_128M;
    let lastEventMs = 0;
    let failures = 0;
    let retryAtMs = 0;
    const untrigger = env.psi.addTrigger({
      kind: 'some',
      mode: 'rtpoll',
      windowUs: 500_000,
      thresholdUs: 5_000,
      onEvent: () => {
        lastEventMs = env.clock.now();
        const m = env.guest.meminfo();
        if (r.busy || env.guest.pluggedBytes >= env.maxBytes || m.movableFreeBytes >= chunk / 2) return;
        r.request(env.guest.pluggedBytes + chunk);
      },
    });
    const stop = every(env, 1000, () => {
      const now = env.clock.now();
      if (r.busy || now - lastEventMs < 12_000 || now < retryAtMs) return;
      if (env.psi.avgSome[0]! > 0.005 || env.psi.avgSome[1]! > 0.03) return;
      const m = env.guest.meminfo();
      const unpluggable = m.movableFreeBytes + m.cachedBytes / 2 + m.anonBytes / 3;
      if (unpluggable < chunk || env.guest.pluggedBytes < chunk) return;
      const from = env.guest.pluggedBytes;
      r.request(from - chunk, (plugged) => {
        if (plugged > from - chunk) {
          failures++;
          retryAtMs = env.clock.now() + 10_000;
          // Two retries per chunk, then it waits for the next quiet period.
          if (failures > 2) {
            failures = 0;
            lastEventMs = env.clock.now();
          }
        } else failures = 0;
      });
    });
    return { stop: () => (untrigger(), stop(), r.stop()) };
  },
};

/**
 * Neon autoscaling (github.com/neondatabase/autoscaling): the guest monitor polls anon
 * memory every 100 ms, averages 5 samples, requests upscale (no size) above 85% use, at most
 * once per second; the agent then grows one step at once. Every 5 s the agent computes
 * goal = max(used/0.75, (cache+used)/0.9) and downscales toward it unless the monitor denies
 * (new size < usage + 100 MiB). Step: 1 GiB (0.25 compute unit: a CU is 4 GiB).
 */
export const neonThreshold: Policy = {
  name: 'neon-threshold',
  source: 'github.com/neondatabase/autoscaling (vm-monitor thresholds, agent 5 s loop), peers.md',
  start(env) {
    const r = makeRequester(env, 'neon');
    env.host.connect();
    const step = 1 * GiB;
    const window: number[] = [];
    let lastUpMs = Number.NEGATIVE_INFINITY;
    const stopPoll = every(env, 100, () => {
      const m = env.guest.meminfo();
      window.push(m.anonBytes / m.memTotalBytes);
      if (window.length > 5) window.shift();
      const use = window.reduce((a, b) => a + b, 0) / window.length;
      const now = env.clock.now();
      if (use > 0.85 && now - lastUpMs >= 1000 && !r.busy && env.guest.pluggedBytes < env.maxBytes) {
        lastUpMs = now;
        r.request(deviceFor(env, env.bootBytes + env.guest.pluggedBytes + step, env.blockBytes));
      }
    });
    const stopAgent = every(env, 5000, () => {
      if (r.busy) return;
      const m = env.guest.meminfo();
      const used = m.anonBytes;
      const goalVm = Math.max(used / 0.75, (m.cachedBytes + used) / 0.9);
      const want = deviceFor(env, goalVm + (env.bootBytes + env.guest.pluggedBytes - m.memTotalBytes), env.blockBytes);
      const plugged = env.guest.pluggedBytes;
      if (want > plugged) r.request(want);
      else if (want < plugged) {
        const newTotal = m.memTotalBytes - (plugged - want);
        if (newTotal >= used + 100 * MiB) r.request(want);
      }
    });
    return { stop: () => (stopPoll(), stopAgent(), r.stop()) };
  },
};

export const BASELINES: Policy[] = [staticMax, staticBoot, hypervBuffer, xenSelfballoon, vmrdChunk, neonThreshold];
