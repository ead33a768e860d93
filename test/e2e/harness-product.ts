/**
 * memresize itself in the e2e runs: whether the guest daemon and the host agent exist yet,
 * the configs the scenarios give them, the host agent process, and readers of their logs.
 *
 * What the scenarios assume about the product (also in docs/e2e.md):
 * - CLI: `memresize guest --config FILE` (inside the guest, started by /init) and
 *   `memresize host --config FILE` (on the host), both writing pino JSON lines to stdout.
 * - Configs: validated here with the product's own schemas (GuestConfigSchema,
 *   HostConfigSchema) before anything boots, so a drift fails loudly with zod's message.
 * - Logs: the guest's machine writes one line per transition with msg "transition" and
 *   from, to, event, requestId, kind, plugged, requested, target, min, max, why; state
 *   names connecting, handshake, degraded, ready.idle, ready.awaiting-host.*,
 *   ready.growing, ready.shrinking, ready.cooling (src/machines/resizer.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.ts';
import { GuestConfigSchema } from '../../src/config/schema.ts';
import { HostConfigSchema } from '../../src/config/host.ts';
import { REPO_ROOT } from './harness-paths.ts';
import { spawnTracked, type Tracked } from './harness-procs.ts';
import type { Vm } from './harness-qemu.ts';

export type Readiness = { ok: true } | { ok: false; reason: string };

let cached: Readiness | undefined;

/** Are the guest daemon and the host agent there? (the scenarios skip until both are) */
export function productStatus(): Readiness {
  if (cached) return cached;
  const need = ['src/daemon/guest.ts', 'src/host/agent.ts', 'dist/memresize-guest.mjs'].filter((p) => !existsSync(join(REPO_ROOT, p)));
  if (need.length) return (cached = { ok: false, reason: `product not landed yet: missing ${need.join(', ')}` });
  const help = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/memresize.js'), '--help'], { encoding: 'utf8', timeout: 60_000 });
  const cmds = ['guest', 'host'].filter((c) => !new RegExp(`^\\s+${c}\\b`, 'm').test(help.stdout ?? ''));
  if (help.status !== 0 || cmds.length) {
    return (cached = { ok: false, reason: `memresize CLI lacks ${cmds.join(', ') || 'a working --help'} (exit ${help.status}): ${(help.stderr ?? '').slice(0, 300)}` });
  }
  return (cached = { ok: true });
}

function checked(schema: typeof GuestConfigSchema | typeof HostConfigSchema, yaml: string, what: string): string {
  const res = parseConfigText(schema, yaml, what);
  if (!res.ok) throw new Error(`the e2e ${what} no longer matches the product's schema:\n${res.errors}\n--- ${what}\n${yaml}`);
  return yaml;
}

/** The guest daemon's config: JSON logs (the tests parse them), the memresize port. */
export function guestConfigYaml(extra: Record<string, unknown> = {}): string {
  return checked(
    GuestConfigSchema,
    stringify({ log: { level: 'info', pretty: 'never' }, link: { transport: 'virtio-serial', portName: 'org.memresize.0' }, ...extra }),
    'guest.yaml',
  );
}

export interface HostVmLimits {
  minBytes?: number;
  maxBytes: number;
  /** The host budget (default: the VM's whole virtio-mem device, i.e. no contention). */
  budgetBytes?: number;
  requestsPerSec?: number;
  burst?: number;
  /** Extra fields of the VM's qemu adapter (e.g. unplugTimeoutMs). */
  adapter?: Record<string, unknown>;
  /** QMP socket the agent uses instead of its own QEMU monitor (scenario d's delaying proxy). */
  qmpSocket?: string;
}

/** The host agent's config: one VM, its channel is QEMU's chardev server, QMP its own socket. */
export function hostConfigYaml(vm: Vm, limits: HostVmLimits, defaults: Record<string, unknown> = {}): string {
  const entry: Record<string, unknown> = {
    name: 'e2e',
    channel: { kind: 'unix-connect', path: vm.memresizeSocket },
    adapter: { kind: 'qemu', qmpSocket: limits.qmpSocket ?? vm.agentQmpSocket, device: 'vm0', ...limits.adapter },
    minBytes: limits.minBytes ?? 0,
    maxBytes: limits.maxBytes,
  };
  if (limits.requestsPerSec !== undefined) entry.requestsPerSec = limits.requestsPerSec;
  if (limits.burst !== undefined) entry.burst = limits.burst;
  return checked(
    HostConfigSchema,
    stringify({
      log: { level: 'info', pretty: 'never' },
      budgetBytes: limits.budgetBytes ?? vm.virtioMemBytes,
      metrics: { enabled: false },
      defaults,
      vms: [entry],
    }),
    'host.yaml',
  );
}

export class HostAgent {
  private proc: Tracked | undefined;
  readonly configFile: string;
  readonly logFile: string;
  starts = 0;

  constructor(
    readonly vm: Vm,
    yaml: string,
  ) {
    this.configFile = join(vm.dir, 'host.yaml');
    this.logFile = join(vm.dir, 'host-agent.log');
    writeFileSync(this.configFile, yaml);
  }

  start(): void {
    this.starts++;
    this.proc = spawnTracked(process.execPath, [join(REPO_ROOT, 'bin/memresize.js'), 'host', '--config', this.configFile], {
      logFile: this.logFile,
      cwd: REPO_ROOT,
    });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  isRunning(): boolean {
    return this.proc?.isRunning() ?? false;
  }

  /** SIGKILL: the agent gets no chance to tidy up (scenario d). */
  async kill(): Promise<void> {
    await this.proc?.stop(0);
  }

  async stop(): Promise<void> {
    await this.proc?.stop(3000);
  }

  lines(): LogLine[] {
    return parseLogLines(existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '');
  }
}

export interface LogLine {
  time?: number;
  msg?: string;
  [k: string]: unknown;
}

export interface Transition extends LogLine {
  from: string;
  to: string;
  event: string;
  requestId?: string;
  kind?: string;
  plugged?: number;
  why?: string;
}

/** pino JSON lines; anything else (kernel noise on hvc0, stack traces) is skipped. */
export function parseLogLines(text: string | string[]): LogLine[] {
  const out: LogLine[] = [];
  for (const l of Array.isArray(text) ? text : text.split('\n')) {
    const s = l.trim();
    if (!s.startsWith('{')) continue;
    try {
      out.push(JSON.parse(s) as LogLine);
    } catch {
      // a line cut by a crash
    }
  }
  return out;
}

export function transitions(lines: LogLine[]): Transition[] {
  return lines.filter((l): l is Transition => l.msg === 'transition' && typeof l.from === 'string' && typeof l.to === 'string');
}

/**
 * Pressure onset -> memory online for each grow, from the guest's transitions: onset is the
 * transition that sent a grow request (into ready.awaiting-host), online the next one out of
 * ready.growing (the guest observed the memory). Times are the guest's pino `time`.
 */
export function growLatencies(ts: Transition[]): number[] {
  const out: number[] = [];
  let onset: number | undefined;
  for (const t of ts) {
    if (onset === undefined && t.kind === 'grow' && t.to.startsWith('ready.awaiting-host') && !t.from.startsWith('ready.awaiting-host')) onset = t.time;
    if (t.from === 'ready.growing' && t.to !== 'ready.growing' && onset !== undefined && t.time !== undefined) {
      out.push(t.time - onset);
      onset = undefined;
    }
  }
  return out;
}

/** Distinct request ids of one kind the guest sent. */
export function requestIds(ts: Transition[], kind: 'grow' | 'shrink'): string[] {
  return [...new Set(ts.filter((t) => t.kind === kind && t.to.startsWith('ready.awaiting-host') && t.requestId).map((t) => t.requestId as string))];
}

export interface DeviceSample {
  t: number;
  requested: number;
  size: number;
}

/** Polls the device's requested-size and size over the test's QMP socket. */
export class DeviceSampler {
  readonly samples: DeviceSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly vm: Vm) {}

  start(everyMs = 100): this {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void Promise.all([this.vm.mem.requestedSize(), this.vm.mem.size()])
        .then(([requested, size]) => this.samples.push({ t: Date.now(), requested, size }))
        .catch(() => undefined)
        .finally(() => (this.busy = false));
    }, everyMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  maxRequested(): number {
    return Math.max(0, ...this.samples.map((s) => s.requested));
  }

  /** How many times requested-size went up between two samples. */
  increases(): number {
    let n = 0;
    for (let i = 1; i < this.samples.length; i++) if ((this.samples[i] as DeviceSample).requested > (this.samples[i - 1] as DeviceSample).requested) n++;
    return n;
  }
}

export interface ProductVm {
  vm: Vm;
  host: HostAgent;
}
