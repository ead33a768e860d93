/**
 * Operations tests run the real CLI (`memresize guest`, `memresize host`) as child
 * processes and read their pino JSON lines, as an operator or systemd would. The guest's
 * kernel is a FakeKernel: procfs and sysfs trees in a temp dir (the daemon's --proc-root
 * and --sys-root) that the test rewrites to make memory run short or plentiful and, playing
 * the kernel, to show memory the host's fake device plugged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export type Line = Record<string, unknown>;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `memresize-${prefix}-`));
}

/** Writes a file whole (rename), so a daemon sampling it never reads half of it. */
function put(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/**
 * A guest kernel in files. Boot RAM is blocks 0..N-1 of 128 MiB; the virtio-mem device's
 * region starts at 4 GiB (block 32) and is listed in /proc/iomem as the kernel lists
 * added virtio-mem memory, so a daemon started late finds what was plugged before it.
 */
export class FakeKernel {
  readonly procRoot: string;
  readonly sysRoot: string;
  readonly blockBytes = 128 * MiB;
  private readonly firstDeviceBlock = (4 * GiB) / (128 * MiB);
  pluggedBytes = 0;
  usedBytes = 0;
  psiTotalUs = 0;

  constructor(
    readonly dir: string,
    readonly bootBytes = 1 * GiB,
  ) {
    this.procRoot = join(dir, 'proc');
    this.sysRoot = join(dir, 'sys');
    mkdirSync(join(this.procRoot, 'pressure'), { recursive: true });
    mkdirSync(join(this.procRoot, 'self'), { recursive: true });
    mkdirSync(join(this.procRoot, 'sys/kernel/random'), { recursive: true });
    writeFileSync(join(this.procRoot, 'self/oom_score_adj'), '0\n');
    writeFileSync(join(this.procRoot, 'sys/kernel/random/boot_id'), 'f00dcafe-0000-4000-8000-000000000000\n');
    const mem = join(this.sysRoot, 'devices/system/memory');
    mkdirSync(mem, { recursive: true });
    writeFileSync(join(mem, 'block_size_bytes'), `${this.blockBytes.toString(16)}\n`);
    writeFileSync(join(mem, 'auto_online_blocks'), 'online_movable\n');
    for (let i = 0; i < bootBytes / this.blockBytes; i++) this.block(i, 'Normal');
    mkdirSync(join(this.sysRoot, 'bus/virtio/drivers/virtio_mem'), { recursive: true });
    mkdirSync(join(this.sysRoot, 'bus/virtio/devices/virtio0'), { recursive: true });
    writeFileSync(join(this.sysRoot, 'bus/virtio/devices/virtio0/device'), '0x0018\n');
    symlinkSync('../../drivers/virtio_mem', join(this.sysRoot, 'bus/virtio/devices/virtio0/driver'));
    this.write();
  }

  private block(index: number, zone: string): void {
    const d = join(this.sysRoot, 'devices/system/memory', `memory${index}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'state'), 'online\n');
    writeFileSync(join(d, 'valid_zones'), `${zone}\n`);
  }

  get memTotalBytes(): number {
    return this.bootBytes + this.pluggedBytes;
  }

  get memAvailableBytes(): number {
    return Math.max(0, this.memTotalBytes - this.usedBytes);
  }

  /** The device plugged or unplugged: blocks appear or go, MemTotal follows. */
  setPlugged(bytes: number): void {
    const before = this.pluggedBytes / this.blockBytes;
    const after = bytes / this.blockBytes;
    for (let i = before; i < after; i++) this.block(this.firstDeviceBlock + i, 'Movable');
    for (let i = after; i < before; i++) rmSync(join(this.sysRoot, 'devices/system/memory', `memory${this.firstDeviceBlock + i}`), { recursive: true, force: true });
    this.pluggedBytes = bytes;
    this.write();
  }

  setUsed(bytes: number): void {
    this.usedBytes = bytes;
    this.write();
  }

  write(): void {
    const kB = (b: number) => `${Math.round(b / 1024)} kB`;
    const avail = this.memAvailableBytes;
    put(
      join(this.procRoot, 'meminfo'),
      [`MemTotal:       ${kB(this.memTotalBytes)}`, `MemFree:        ${kB(avail)}`, `MemAvailable:   ${kB(avail)}`, `Cached:         ${kB(0)}`, `SwapTotal:      ${kB(0)}`, ''].join('\n'),
    );
    put(
      join(this.procRoot, 'pressure/memory'),
      `some avg10=0.00 avg60=0.00 avg300=0.00 total=${this.psiTotalUs}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`,
    );
    const start = this.firstDeviceBlock * this.blockBytes;
    const ranges = this.pluggedBytes > 0 ? `${start.toString(16)}-${(start + this.pluggedBytes - 1).toString(16)} : System RAM (virtio_mem)\n` : '';
    put(join(this.procRoot, 'iomem'), `00000000-00000fff : Reserved\n00001000-${(this.bootBytes - 1).toString(16)} : System RAM\n${ranges}`);
  }
}

export interface Daemon {
  proc: ChildProcess;
  lines: Line[];
  stderr(): string;
  /** Resolves with the first line (from `from` on) that matches, or rejects after ms. */
  waitFor(what: string, pred: (l: Line) => boolean, ms?: number, from?: number): Promise<Line>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

const running = new Set<ChildProcess>();

/** `node bin/memresize.js ARGS`, JSON lines of stdout parsed as they come. */
export function spawnCli(args: string[], onLine?: (l: Line) => void): Daemon {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'memresize.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const lines: Line[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!text.trim()) continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        line = { msg: '<not json>', text };
      }
      lines.push(line);
      onLine?.(line);
      for (const w of [...waiters]) w();
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => (err += c));
  let isAlive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      isAlive = false;
      running.delete(proc);
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    alive: () => isAlive,
    waitFor(what, pred, ms = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.slice(from).find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (!isAlive) {
            done();
            reject(new Error(`process exited before ${what}\nstderr: ${err}\nlast lines: ${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms waiting for ${what}\nstderr: ${err}\nlast lines: ${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** For afterEach: no child outlives its test. */
export async function killAll(): Promise<void> {
  const procs = [...running];
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const isTransition = (l: Line) => l.msg === 'transition';
export const exists = existsSync;
