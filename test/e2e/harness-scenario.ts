/**
 * Shared steps of the scenario tests: decide whether they can run (QEMU prepared AND the
 * product landed), boot a guest with the daemon plus a host agent, wait on the daemon's
 * transitions, read the daemon's footprint inside the guest.
 */
import { recordFigure } from './harness-figures.ts';
import { e2ePrerequisites, reportSkip } from './harness-paths.ts';
import { guestConfigYaml, HostAgent, hostConfigYaml, parseLogLines, productStatus, transitions, type HostVmLimits, type ProductVm, type Transition } from './harness-product.ts';
import type { Job, JobResult } from './harness-guest.ts';
import { bootVm, MiB, type Vm, type VmOptions } from './harness-qemu.ts';

/** Why a scenario file must skip, or undefined when it can run. Printed once per file. */
export function scenarioSkipReason(suite: string): string | undefined {
  const pre = e2ePrerequisites();
  const reason = !pre.ok ? pre.reason : (() => {
    const p = productStatus();
    return p.ok ? undefined : p.reason;
  })();
  if (reason) reportSkip(suite, reason);
  return reason;
}

export interface ProductBoot {
  name: string;
  /** qmpSocket may be computed from the booted VM (scenario d's proxy lives in its folder). */
  limits: HostVmLimits;
  qmpSocket?: (vm: Vm) => string;
  /** Runs after the guest is up and before the host agent starts. */
  beforeHost?: (vm: Vm) => Promise<void>;
  guestExtra?: Record<string, unknown>;
  hostDefaults?: Record<string, unknown>;
  vm?: Omit<VmOptions, 'name' | 'guestConfigYaml'>;
  /** false: boot without the guest daemon (scenario e's rogue speaks instead). */
  daemon?: boolean;
}

export async function bootWithProduct(o: ProductBoot): Promise<ProductVm> {
  const vm = await bootVm({ ...o.vm, name: o.name, ...(o.daemon === false ? {} : { guestConfigYaml: guestConfigYaml(o.guestExtra) }) });
  let host: HostAgent;
  try {
    await o.beforeHost?.(vm);
    const limits = o.qmpSocket ? { ...o.limits, qmpSocket: o.qmpSocket(vm) } : o.limits;
    host = new HostAgent(vm, hostConfigYaml(vm, limits, o.hostDefaults));
    host.start();
  } catch (err) {
    await vm.stop();
    throw err;
  }
  return { vm, host };
}

export function daemonTransitions(vm: Vm): Transition[] {
  return transitions(parseLogLines(vm.daemonLines()));
}

/** Waits for a transition of the guest daemon matching `pred` after index `fromIndex`. */
export async function waitTransition(vm: Vm, pred: (t: Transition) => boolean, timeoutMs: number, fromIndex = 0): Promise<Transition> {
  const t0 = Date.now();
  for (;;) {
    const hit = daemonTransitions(vm).slice(fromIndex).find(pred);
    if (hit) return hit;
    if (Date.now() - t0 > timeoutMs) {
      const tail = vm.daemonLines().slice(-15).join('\n');
      throw new Error(`no matching guest daemon transition within ${timeoutMs} ms; daemon log tail:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const isReady = (t: Transition): boolean => t.to.startsWith('ready.') && !t.from.startsWith('ready.');

/**
 * Waits for the daemon's first handshake to complete and records how long it took from the
 * guest being up: node loading the guest bundle (dist/memresize-guest.mjs) over 9p under TCG.
 */
export async function waitDaemonReady(p: ProductVm, timeoutMs = 180_000): Promise<void> {
  const t0 = performance.now();
  try {
    await waitTransition(p.vm, isReady, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await guestDiagnostics(p.vm)}`, { cause: err });
  }
  recordFigure('daemon_start_to_ready_ms', performance.now() - t0, 'ms', p.vm.accel, 'guest up -> first ready.* transition (host agent started at guest up; node + dist/memresize-guest.mjs over 9p)');
}

/**
 * How many times /init restarted the guest daemon after an abnormal exit (its
 * Restart=on-failure), from the guest console, with the exit statuses seen.
 */
export function daemonRestarts(vm: Vm): { restarts: number; statuses: number[] } {
  const con = vm.console();
  const statuses = [...con.matchAll(/e2e-init: memresize guest exited with status (\d+)/g)].map((m) => Number(m[1]));
  return { restarts: (con.match(/e2e-init: restarting memresize guest/g) ?? []).length, statuses };
}

/** A daemon that crashes now and then is restarted; one that keeps crashing fails the test. */
export const MAX_DAEMON_RESTARTS = 2;

export function checkDaemonRestarts(vm: Vm, label: string): { restarts: number; statuses: number[] } {
  const r = daemonRestarts(vm);
  recordFigure(`${label}_daemon_restarts`, r.restarts, 'restarts', vm.accel, r.statuses.length ? `exit statuses ${r.statuses.join(', ')}` : 'no abnormal exit');
  return r;
}

/** What the guest says about its daemon when it never got ready: console tail, kernel log, processes. */
export async function guestDiagnostics(vm: Vm): Promise<string> {
  const inGuest = await vm.guest
    .run('dmesg | tail -15; echo ---; ps -o pid,stat,rss,args | grep -v "\\["', 20_000)
    .then((r) => r.lines.join('\n'))
    .catch((e: Error) => `(guest control failed: ${e.message})`);
  return `--- guest console tail\n${vm.console().split('\n').slice(-10).join('\n')}\n--- guest dmesg / ps\n${inGuest}`;
}

/** The guest daemon's RSS (peak and now, bytes) and CPU time (ms), read inside the guest. */
export async function daemonFootprint(vm: Vm): Promise<{ rssBytes: number; peakRssBytes: number; cpuMs: number; uptimeS: number }> {
  const out = await vm.guest.sh(
    'p=$(cat /run/memresize-guest.pid); grep -E "^Vm(RSS|HWM):" /proc/$p/status; echo "stat $(cut -d" " -f14,15,22 /proc/$p/stat)"; echo "up $(cut -d" " -f1 /proc/uptime)"',
  );
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(out)?.[1] ?? NaN) * 1024;
  const [utime, stime, start] = (/^stat (\d+) (\d+) (\d+)/m.exec(out) ?? []).slice(1).map(Number) as [number, number, number];
  // /proc/PID/stat counts in USER_HZ ticks, 100 on x86_64 (busybox has no getconf).
  const hz = 100;
  const up = Number(/^up ([\d.]+)/m.exec(out)?.[1] ?? NaN);
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuMs: ((utime + stime) * 1000) / hz, uptimeS: up - start / hz };
}

/**
 * Awaits a guest job for at most `ms`; past that, fails with the job's output and a state
 * dump. A wait on the guest without a deadline turns a stuck guest into the suite's bare
 * 10 min timeout.
 */
export async function jobDone(p: ProductVm, job: Job, ms: number, what: string): Promise<JobResult> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((res) => (t = setTimeout(() => res('late'), ms)));
  try {
    const r = await Promise.race([job.done, late]);
    if (r === 'late') throw new Error(`${what} did not finish within ${ms} ms; its output: ${job.lines.join(' | ')}\n${await stateDump(p)}`);
    return r;
  } finally {
    clearTimeout(t);
  }
}

/** Everything an operator would look at when a scenario is stuck: device, daemon, host, guest. */
export async function stateDump(p: ProductVm): Promise<string> {
  const size = await p.vm.mem.size().then((s) => `${s / MiB} MiB`, (e: Error) => `(QMP: ${e.message})`);
  const ts = daemonTransitions(p.vm)
    .slice(-12)
    .map((t) => `${t.time} ${t.from} -> ${t.to} ${t.event} ${t.kind ?? ''} plugged=${t.plugged} ${t.why ?? ''}`);
  const host = p.host.lines().slice(-8).map((l) => JSON.stringify(l));
  return [`--- device size ${size}`, '--- daemon transitions (last 12)', ...ts, '--- host agent (last 8 lines)', ...host, await guestDiagnostics(p.vm)].join('\n');
}
