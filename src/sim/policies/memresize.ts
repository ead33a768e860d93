/**
 * `memresize`: the REAL guest daemon minus its drivers. `wireGuest` (src/daemon/wire.ts)
 * builds the resize machine, the signal pipelines (src/signals), the grow meter, effects
 * and tracer; the REAL PSI and meminfo source drivers (src/io/psi.ts, src/io/meminfo.ts)
 * read the simulated kernel's files (kernel.ts). The virtual clock is both the XState
 * clock and the RxJS scheduler. Memory blocks are not simulated (blocks$ omitted): the
 * pipelines observe plugged memory through MemTotal, as they do without sysfs.
 */
import { makeMeminfoSource } from '../../io/meminfo.ts';
import { makePsiSource } from '../../io/psi.ts';
import { wireGuest } from '../../daemon/wire.ts';
import { makeSimKernel } from '../kernel.ts';
import { kernelZoneFloorBytes } from '../../policy/zones.ts';
import type { Policy, PolicyEnv } from './types.ts';

const SIM_PROC = '/sim/proc';

export const memresizePolicy: Policy = {
  name: 'memresize',
  source: 'this repository: src/daemon/wire.ts, src/signals, src/machines/resizer.ts, src/policy/sizing.ts',
  psiWindowUs: 500_000,
  start(env: PolicyEnv) {
    const { clock, config } = env;
    const scheduler = clock.scheduler;
    const kernel = makeSimKernel(clock, env.guest, env.psi);
    // The daemon onlines hot-plugged blocks itself (auto-movable with a kernel-zone floor).
    env.guest.kernelZoneFloorBytes = kernelZoneFloorBytes(config.policy);
    const handle = wireGuest({
      psi$: (probe$) => makePsiSource(config.signals, { procRoot: SIM_PROC, scheduler, fs: kernel.fs, epoll: kernel.epoll, capEff: kernel.capEff, probe$ }),
      meminfo$: (fast$) => makeMeminfoSource(config.signals, { procRoot: SIM_PROC, scheduler, fast$, readText: kernel.readText }),
      link: env.host.link,
      clock,
      scheduler,
      log: env.log,
      config,
      idPrefix: 'sim',
      initialPluggedBytes: env.guest.pluggedBytes,
      ...(env.onTransition ? { tracer: { onRecord: env.onTransition } } : {}),
    });
    env.host.connect();
    return { stop: () => handle.stop() };
  },
};
