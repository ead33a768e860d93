/**
 * Processes the e2e suite starts (QEMU, the host agent) and the temp folders it makes, and
 * the guarantees that they go away: each is stopped by its pid in the test's afterAll, on
 * this process's exit and signals, and, if this process is killed outright, by a watchdog
 * shell that holds a pipe from us and kills the pid when the pipe closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';

export interface Tracked {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs (0: SIGKILL only); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  isRunning(): boolean;
}

const live = new Map<number, { child: ChildProcess; watchdog: ChildProcess }>();
const tempDirs = new Set<string>();

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function cleanupNow(): void {
  for (const [pid, { watchdog }] of live) {
    killQuietly(pid, 'SIGKILL');
    killQuietly(watchdog.pid, 'SIGKILL');
  }
  live.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupNow();
      process.kill(process.pid, sig);
    });
  }
}

export function trackTempDir(dir: string): void {
  hookExit();
  tempDirs.add(dir);
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Starts a process with stdout and stderr appended to `logFile`, tracked until it exits. */
export function spawnTracked(cmd: string, args: string[], opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): Tracked {
  hookExit();
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  const pid = child.pid;
  // The watchdog's stdin is a pipe from this process: when we die, `read` returns.
  const watchdog = spawn('sh', ['-c', `read _; kill -9 ${pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  live.set(pid, { child, watchdog });
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(pid);
      killQuietly(watchdog.pid, 'SIGKILL');
      resolve(code ?? (signal ? -1 : null));
    });
  });
  return {
    pid,
    child,
    exited,
    isRunning: () => running,
    async stop(graceMs = 3000) {
      if (!running) return;
      // graceMs 0: SIGKILL only. (A SIGTERM first, even followed at once by SIGKILL, lets a
      // process with a SIGTERM handler start its orderly shutdown: scenario d needs a kill.)
      if (graceMs <= 0) {
        killQuietly(pid, 'SIGKILL');
        await exited;
        return;
      }
      killQuietly(pid, 'SIGTERM');
      const t = setTimeout(() => killQuietly(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
