/**
 * Where the e2e suite finds its pieces, and whether they are prepared. Every e2e test file
 * asks `e2ePrerequisites()` first and skips with the printed reason when something is
 * missing, so `npm test` stays fast on machines where scripts/e2e-setup.sh never ran.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE_DIR = process.env.MEMRESIZE_E2E_CACHE ?? join(REPO_ROOT, '.cache/e2e');
export const GUEST_DIR = join(REPO_ROOT, 'test/e2e/guest');
/** Logs of every boot are copied here before the temp folder is removed (git-ignored). */
export const LOG_DIR = join(CACHE_DIR, 'logs');
export const FIGURES_FILE = join(CACHE_DIR, 'figures.json');

export const paths = {
  kernel: join(CACHE_DIR, 'vmlinuz'),
  initramfs: join(CACHE_DIR, 'initramfs.cpio.gz'),
  runtime: join(CACHE_DIR, 'runtime'),
  accelEnv: join(CACHE_DIR, 'accel.env'),
  rereadDisk: join(CACHE_DIR, 'reread.ext4'),
};

export function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export type Prerequisites = { ok: true; qemu: string } | { ok: false; reason: string };

export function e2ePrerequisites(): Prerequisites {
  if (process.platform !== 'linux') return { ok: false, reason: 'e2e needs Linux' };
  const qemu = findOnPath('qemu-system-x86_64');
  if (!qemu) return { ok: false, reason: 'qemu-system-x86_64 not installed (run: bash scripts/e2e-setup.sh)' };
  for (const [what, p] of Object.entries(paths)) {
    if (what === 'accelEnv') continue;
    if (!existsSync(p)) return { ok: false, reason: `guest ${what} not prepared at ${p} (run: bash scripts/e2e-setup.sh)` };
  }
  if (!existsSync(join(paths.runtime, 'usr/bin/node'))) return { ok: false, reason: 'runtime share has no node (run: bash scripts/e2e-setup.sh)' };
  return { ok: true, qemu };
}

/**
 * The accelerator scripts/e2e-setup.sh found working: it probes KVM once (a /dev/kvm that
 * opens is not enough: nested KVM on this machine kind fails on an MSR or hangs) and
 * records `ACCEL=kvm|tcg`. MEMRESIZE_E2E_ACCEL overrides it.
 */
export function chosenAccel(): 'kvm' | 'tcg' {
  const env = process.env.MEMRESIZE_E2E_ACCEL;
  if (env === 'kvm' || env === 'tcg') return env;
  try {
    return /^ACCEL=kvm$/m.test(readFileSync(paths.accelEnv, 'utf8')) ? 'kvm' : 'tcg';
  } catch {
    return 'tcg';
  }
}

/** Prints why a file's tests are skipped, once, where the vitest output shows it. */
export function reportSkip(suite: string, reason: string): void {
  console.warn(`[e2e] skipping ${suite}: ${reason}`);
}
