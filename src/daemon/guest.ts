/**
 * The guest daemon with real drivers: real files under /proc and /sys, real timers, the
 * real host link or the dry-run logger link, the control socket. Everything else is
 * wireGuest's job.
 *
 * Two lifetimes. The process keeps the host link, the control socket, the transition
 * history and the self-protection it did at start. The composition (the resize actor and
 * the signal pipelines, built by wireGuest from the config) can be replaced: a reload that
 * changes timing, policy, signals or onlining stops it and wires a new one on the same
 * link. The machine reads its timing and policy only from its input, so a restart is the
 * one way to apply them; it is safe at any moment because a new machine rebuilds its state
 * the way a restarted daemon does: its own observation of the memory plus the host's
 * welcome (a request in flight is finished or kept by the host; absolute targets make a
 * re-request idempotent).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { asyncScheduler, defer, merge, startWith, Subject, tap, type Observable } from 'rxjs';
import type { GuestConfig } from '../config/schema.ts';
import { makeDryRunLink, type DryRunLimits } from '../io/dry-run-link.ts';
import { makeHostLinkFromConfig } from '../io/host-link-factory.ts';
import type { HostLink } from '../io/host-link.ts';
import type { Logger } from '../io/log.ts';
import { makeMeminfoSource } from '../io/meminfo.ts';
import { makeMemoryBlocksSource, parseIomemVirtioMem, readMemoryBlocks, virtioMemOnlineBytes, type MemoryBlocksSnapshot } from '../io/memory-blocks.ts';
import { applyOnlining, makeEligibility, planOnlining } from '../io/memory-blocks-online.ts';
import { kernelZoneNow, makeZoneinfoReader, withGlobalShortage } from './zoneinfo-now.ts';
import { startTextfileWriter } from '../io/textfile-writer.ts';
import { GuestCounters, renderGuestMetrics } from '../obs/guest-metrics.ts';
import { loadEpoll, makePsiSource } from '../io/psi.ts';
import type { PsiReading } from '../io/psi.ts';
import { readStatus, startStatusServer, type StatusServer } from '../io/status-server.ts';
import { stateName, type TransitionRecord } from '../io/transition-trace.ts';
import type { HostEvent } from '../io/host-link.ts';
import { buildGuestStatus, TransitionRing, type GuestStatus } from '../obs/status.ts';
import { psiWithFallback, type PsiLostNotice } from '../signals/index.ts';
import { changedPaths } from './lifecycle.ts';
import { protectSelf, type ProtectionReport } from './self-protect.ts';
import { wireGuest, type Clock, type WireHandle } from './wire.ts';

export interface GuestOptions {
  config: GuestConfig;
  log: Logger;
  /** Replace the host link by the dry-run logger link with these limits. */
  dryRun?: DryRunLimits;
  procRoot?: string;
  sysRoot?: string;
  /** The log level was fixed on the command line: a reload does not change it. */
  logLevelPinned?: boolean;
}

export interface ReloadReport {
  /** Config paths that differ from the running config. */
  changed: string[];
  /** Applied now (the machine and pipelines were rewired if any of them needs it). */
  applied: string[];
  /** Read at start only: logged, kept as they were until the next restart. */
  needsRestart: string[];
  /** The resize machine and signal pipelines were replaced. */
  rewired: boolean;
}

export interface RunningGuest {
  /** The current composition (a reload may replace it). */
  readonly handle: WireHandle;
  /** The config in force (what a reload could not apply stays as it was). */
  readonly config: GuestConfig;
  status(): GuestStatus;
  reload(next: GuestConfig): ReloadReport;
  /** No new requests, nothing new answered, link and control socket closed; memory stays as it is. */
  stop(): Promise<void>;
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Boot id + pid: unique per daemon start, so a restarted daemon never reuses a request id. */
function makeIdPrefix(procRoot: string): string {
  let boot = 'noboot';
  try {
    boot = readFileSync(join(procRoot, 'sys/kernel/random/boot_id'), 'utf8').trim().slice(0, 8);
  } catch {
    // Containers without the file: the pid alone is unique within this boot.
  }
  return `${boot}-${process.pid}`;
}

/**
 * Plugged bytes at start: online memory blocks inside the virtio-mem ranges of /proc/iomem.
 * Without CAP_SYS_ADMIN the kernel prints every iomem address as zeros; then, or when the
 * file is unreadable, the size plugged before this start cannot be told apart from boot
 * RAM and counts as 0 (the caller warns: after a restart the daemon then under-counts).
 */
function initialPlugged(procRoot: string, snap: MemoryBlocksSnapshot): { bytes: number; unknown?: string } {
  let text: string;
  try {
    text = readFileSync(join(procRoot, 'iomem'), 'utf8');
  } catch (err) {
    return { bytes: 0, unknown: `${join(procRoot, 'iomem')}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const ranges = parseIomemVirtioMem(text);
  if (ranges.length === 0 && snap.virtioMem.length > 0 && /^\s*0+-0+ : /m.test(text)) {
    return { bytes: 0, unknown: '/proc/iomem shows zeroed addresses (no CAP_SYS_ADMIN)' };
  }
  return { bytes: virtioMemOnlineBytes(snap, ranges) };
}

/**
 * What a reload cannot change in a running daemon: the link and the control socket live as
 * long as the process (rebuilding the link would drop the host's session), self-protection
 * is done once at start, and the log destination is opened once.
 */
const RESTART_ONLY = [/^link\./, /^control\./, /^metrics\./, /^memory\.(lockMemory|oomScoreAdj)$/, /^log\.pretty$/];
/**
 * Records the status keeps: decisions, not observations. Samples arrive every second and
 * would push every decision out of the ring within a minute (the log keeps them at debug).
 */
const OBSERVATIONS = new Set(['meminfo.sample', 'mem.observed', 'grow.measured', 'ack.measured']);
const isDecision = (rec: TransitionRecord) => rec.from !== rec.to || !OBSERVATIONS.has(rec.event);

/** Applied in place: pino children follow their root's level. Anything else rewires. */
const IN_PLACE = [/^log\.level$/];

interface SharedLink {
  /** What one composition sees; closing it is a no-op (the process owns the link). */
  view: HostLink;
  close(): Promise<void>;
}

/**
 * One subscription to the host link for the whole process. Each composition gets a view
 * that starts with host.connected when the link is already up: a machine wired after a
 * reload never saw the link come up, and must handshake at once on it.
 */
function shareLink(link: HostLink, log: Logger): SharedLink {
  const hub = new Subject<HostEvent>();
  let up = false;
  const sub = link.events$.subscribe({
    next: (e) => {
      if (e.type === 'host.connected') up = true;
      else if (e.type === 'host.disconnected') up = false;
      hub.next(e);
    },
    error: (err: unknown) => {
      up = false;
      log.error({ component: 'link', err }, 'host link failed');
      hub.next({ type: 'host.disconnected', reason: err instanceof Error ? err.message : String(err) });
    },
  });
  const events$: Observable<HostEvent> = defer(() => (up ? hub.pipe(startWith<HostEvent>({ type: 'host.connected' })) : hub));
  return {
    view: {
      events$,
      sendHello: (p) => link.sendHello(p),
      sendResize: (r) => link.sendResize(r),
      replyReclaim: (r) => link.replyReclaim(r),
      close: async () => {},
    },
    async close() {
      sub.unsubscribe();
      hub.complete();
      await link.close();
    },
  };
}

/**
 * The control socket, unless another daemon already answers on it: unlinking a live
 * socket would silently take `memresize status` away from that daemon. A daemon that
 * cannot serve its status keeps running: the status is for people, the resizing is not.
 */
async function openControlSocket(path: string, provide: () => unknown, log: Logger): Promise<StatusServer | undefined> {
  const clog = log.child({ component: 'control' });
  const alive = await readStatus(path, 500).then(
    () => true,
    () => false,
  );
  if (alive) {
    clog.warn({ path }, 'control socket answered by another daemon: status not served');
    return undefined;
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return await startStatusServer(path, provide, clog);
  } catch (err) {
    clog.warn({ path, err }, 'control socket unavailable: status not served');
    return undefined;
  }
}

export async function startGuest(opts: GuestOptions): Promise<RunningGuest> {
  const { log } = opts;
  let config = opts.config;
  const procRoot = opts.procRoot ?? '/proc';
  const sysRoot = opts.sysRoot ?? '/sys';
  const scheduler = asyncScheduler;
  const startedAtMs = Date.now();

  // The link first: without one (and not in dry run) there is nothing to start.
  let link: HostLink;
  let connect = () => {};
  const first = readMemoryBlocks(sysRoot);
  const start = initialPlugged(procRoot, first);
  // Unknown only matters where something can be plugged: then the host's welcome says.
  const plugged0 = start.unknown && first.virtioMem.length > 0 ? undefined : start.bytes;
  if (plugged0 === undefined) {
    log.warn({ component: 'daemon', why: start.unknown }, 'plugged size at start unknown: the host\'s welcome is taken as the starting point');
  }
  // The dry-run welcome reports what the guest sees: the machine's observed size once running.
  let current: WireHandle | null = null;
  if (opts.dryRun) {
    const dry = makeDryRunLink(opts.dryRun, { log, scheduler, pluggedBytes: () => current?.actor.getSnapshot().context.pluggedBytes ?? plugged0 ?? 0 });
    link = dry;
    connect = () => dry.connect();
  } else {
    link = makeHostLinkFromConfig(config.link, { log });
  }

  const epoll = await loadEpoll();
  // After the addons are loaded, so their code is locked too.
  const protection: ProtectionReport = await protectSelf({ oomScoreAdj: config.memory.oomScoreAdj, lockMemory: config.memory.lockMemory, procRoot }, log);

  // What the status shows of the signals: the PSI mode in force and a loss, if any.
  const psiState: { mode?: Omit<Extract<PsiReading, { type: 'psi.mode' }>, 'type'>; lost?: Omit<PsiLostNotice, 'type'> } = {};
  const counters = new GuestCounters();
  const notePsi = (r: PsiReading | PsiLostNotice) => {
    switch (r.type) {
      case 'psi.trigger':
        counters.psiTriggers++;
        if (r.globalShortage === false) counters.psiDiscounted++;
        return;
      case 'psi.probe':
        counters.psiProbeReads++;
        return;
      case 'psi.mode':
        psiState.mode = { mode: r.mode, reason: r.reason, file: r.file, windowUs: r.windowUs, thresholdUs: r.thresholdUs };
        return;
      case 'psi.lost':
        psiState.lost = { reason: r.reason, fallback: r.fallback };
        return;
    }
  };
  // The history outlives a rewire: the status shows the transitions that led here.
  const ring = new TransitionRing(config.control.transitions);
  const idBase = makeIdPrefix(procRoot);
  const shared = shareLink(link, log);
  let generation = 0;

  const compose = (cfg: GuestConfig, initialPluggedBytes: number | undefined): WireHandle => {
    const primary$ = (probe$: Observable<boolean>) => makePsiSource(cfg.signals, { procRoot, scheduler, epoll, probe$ });
    // Fallback after psi.lost: poll the system-wide file, which cannot disappear.
    const fallback = (probe$: Observable<boolean>) => makePsiSource({ ...cfg.signals, psiFile: 'pressure/memory' }, { procRoot, scheduler, epoll, forceMode: 'polling', probe$ });
    const zoneinfo = makeZoneinfoReader(procRoot, log.child({ component: 'zoneinfo' }));
    const blocksLog = log.child({ component: 'memory-blocks' });
    const eligibility = makeEligibility();
    const onlined = new Subject<void>();
    const onBlocks = (snap: MemoryBlocksSnapshot) => {
      const eligible = eligibility(snap);
      if (snap.errors.length > 0) blocksLog.debug({ errors: snap.errors.slice(0, 5), count: snap.errors.length }, 'memory blocks read with errors');
      const steps = snap.blocks.some((b) => b.state === 'offline') ? planOnlining(snap, cfg.memory.online, cfg.memory.movableRatioPercent, eligible, kernelZoneNow(zoneinfo, cfg)) : [];
      const results = applyOnlining(steps, sysRoot);
      for (const r of results) {
        if (r.ok) blocksLog.info({ block: r.index, write: r.write, ...(r.refused ? { refused: r.refused } : {}) }, 'block onlined');
        else blocksLog.warn({ block: r.index, write: r.write, err: r.error }, 'block online failed');
      }
      // Read back what the kernel made of it (zones decide the next auto-movable choice).
      if (results.length > 0) scheduler.schedule(() => onlined.next());
    };
    return wireGuest({
      psi$: (probe$) => psiWithFallback(primary$(probe$), () => fallback(probe$)).pipe(withGlobalShortage(zoneinfo, cfg), tap(notePsi)),
      meminfo$: (fast$) => makeMeminfoSource(cfg.signals, { procRoot, scheduler, fast$ }),
      blocks$: (rescan$) => makeMemoryBlocksSource(cfg.memory, { sysRoot, scheduler, rescan$: merge(rescan$, onlined) }),
      onBlocks,
      link: shared.view,
      clock: realClock,
      scheduler,
      log,
      config: cfg,
      // A new id space per composition: the host's idempotency cache remembers the old ids.
      idPrefix: generation === 0 ? idBase : `${idBase}-r${generation}`,
      initialPluggedBytes,
      tracer: {
        onRecord: (rec) => {
          counters.note(rec);
          if (isDecision(rec)) ring.push(rec, Date.now());
        },
      },
    });
  };

  let handle = compose(config, plugged0);
  current = handle;

  const status = (): GuestStatus => {
    const snap = handle.actor.getSnapshot();
    return buildGuestStatus({
      pid: process.pid,
      startedAtMs,
      nowMs: Date.now(),
      state: stateName(snap.value),
      context: snap.context,
      signals: {
        psi: psiState.mode ?? null,
        psiLost: psiState.lost ?? null,
        psiDiscounted: counters.psiDiscounted,
        psiTriggers: counters.psiTriggers,
        psiProbeReads: counters.psiProbeReads,
        composition: generation,
      },
      selfProtection: { oom: protection.oom, lock: protection.lock },
      transitions: ring.list(),
    });
  };
  const control = await openControlSocket(config.control.socketPath, status, log);
  // Off by default; node-exporter's textfile collector picks the file up.
  const metricsPath = config.metrics.textfilePath;
  const metrics = metricsPath ? startTextfileWriter(metricsPath, () => renderGuestMetrics(status(), counters), config.metrics.intervalMs, log) : undefined;

  log.info(
    { component: 'daemon', dryRun: !!opts.dryRun, initialPluggedBytes: plugged0 ?? null, blockSizeBytes: first.blockSizeBytes, autoOnline: first.autoOnline, virtioMem: first.virtioMem.map((d) => d.name), online: config.memory.online, controlSocket: control?.path ?? null },
    'guest daemon started',
  );
  connect();

  let stopped = false;
  return {
    get handle() {
      return handle;
    },
    get config() {
      return config;
    },
    status,
    reload(next) {
      const changed = changedPaths(config, next);
      const needsRestart = changed.filter((p) => RESTART_ONLY.some((r) => r.test(p)) || (p === 'log.level' && opts.logLevelPinned === true));
      const applied = changed.filter((p) => !needsRestart.includes(p));
      const rewired = applied.some((p) => !IN_PLACE.some((r) => r.test(p)));
      // The config in force: the new file, minus what only a restart can apply.
      const running: GuestConfig = {
        ...next,
        log: { level: opts.logLevelPinned ? config.log.level : next.log.level, pretty: config.log.pretty },
        memory: { ...next.memory, lockMemory: config.memory.lockMemory, oomScoreAdj: config.memory.oomScoreAdj },
        link: config.link,
        control: config.control,
      };
      if (applied.includes('log.level')) log.level = running.log.level;
      if (rewired && !stopped) {
        // The machine's own observation of the plugged memory carries over, not a re-read
        // of sysfs: it is the baseline of MemTotal growth for the new pipelines.
        const ctx = handle.actor.getSnapshot().context;
        const plugged = ctx.observedKnown ? ctx.pluggedBytes : plugged0;
        handle.stop();
        generation++;
        handle = compose(running, plugged);
        current = handle;
      }
      config = running;
      const report: ReloadReport = { changed, applied, needsRestart, rewired };
      const dlog = log.child({ component: 'daemon' });
      if (changed.length === 0) dlog.info({ ...report }, 'config reloaded: no change');
      else dlog.info({ ...report, composition: generation }, 'config reloaded');
      if (needsRestart.length > 0) dlog.warn({ needsRestart }, 'config changes need a restart; kept as they were');
      return report;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // The machine first: from here nothing is requested and nothing answered.
      handle.stop();
      metrics?.stop();
      await control?.close();
      await shared.close();
    },
  };
}
