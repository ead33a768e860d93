/**
 * Boots the e2e guest under QEMU and hands the test its controls: a QMP client on the
 * virtio-mem device, the control agent in the guest, and the paths of every log.
 *
 * Machine (see ../shared/notes/linux-and-qemu.md for the measured facts):
 *   boot RAM 512 MiB; virtio-mem-pci id=vm0, block-size 2M, requested-size 0, memdev of
 *   2 GiB (maxmem = boot + memdev); virtio-serial port org.memresize.0 (memresize's channel,
 *   chardev unix socket served by QEMU, the host agent connects to it) and org.memresize.e2e
 *   (the control agent); a virtconsole (hvc0) that carries the guest daemon's log to a file;
 *   ttyS0 console to a file; two QMP sockets (the test's and the product agent's: QMP
 *   serves each monitor independently); read-only 9p shares (see scripts/e2e/init.sh);
 *   optionally the read-only reread disk of scenario a2 (/dev/vda in the guest).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuestControl } from './harness-guest.ts';
import { chosenAccel, GUEST_DIR, LOG_DIR, paths, REPO_ROOT } from './harness-paths.ts';
import { removeTempDir, spawnTracked, trackTempDir, type Tracked } from './harness-procs.ts';
import { QmpClient, VirtioMemDevice } from './harness-qmp.ts';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export interface VmOptions {
  /** Names the log folder kept under .cache/e2e/logs. */
  name: string;
  bootMiB?: number;
  virtioMemMiB?: number;
  cpus?: number;
  /**
   * memhp_default_state: how the guest kernel onlines hot-plugged blocks. Unset = the
   * kernel's default (offline: the daemon onlines them itself). Harness self-tests set it so
   * that they do not depend on the daemon.
   */
  autoOnline?: 'online_movable' | 'online' | 'online_kernel';
  /** YAML of the guest daemon's config: written to the per-boot share, daemon started. */
  guestConfigYaml?: string;
  /** Attach the read-only reread disk (ext4 with a 900 MiB data.bin), /dev/vda in the guest. */
  rereadDisk?: boolean;
  extraAppend?: string[];
}

export interface Vm {
  readonly name: string;
  readonly dir: string;
  readonly qemu: Tracked;
  readonly qmp: QmpClient;
  readonly mem: VirtioMemDevice;
  readonly guest: GuestControl;
  readonly accel: 'kvm' | 'tcg';
  /** QMP socket reserved for the product's host agent. */
  readonly agentQmpSocket: string;
  /** Host end of the memresize virtio-serial port (org.memresize.0). */
  readonly memresizeSocket: string;
  readonly consoleLog: string;
  readonly daemonLog: string;
  readonly bootMiB: number;
  readonly virtioMemBytes: number;
  /** QEMU start -> control agent answering. */
  readonly bootMs: number;
  console(): string;
  daemonLines(): string[];
  /** Stops QEMU (QMP quit, then SIGKILL by pid), keeps the logs, removes the temp folder. */
  stop(): Promise<void>;
}

const TCG_CPU = process.env.MEMRESIZE_E2E_CPU ?? 'max';

function qemuArgs(o: Required<Pick<VmOptions, 'bootMiB' | 'virtioMemMiB' | 'cpus'>> & VmOptions, dir: string, accel: 'kvm' | 'tcg'): string[] {
  const share = (tag: string, path: string) => ['-virtfs', `local,path=${path},mount_tag=${tag},security_model=none,readonly=on,multidevs=remap`];
  const append = ['console=ttyS0', 'loglevel=4', 'panic=-1'];
  if (o.autoOnline) append.push(`memhp_default_state=${o.autoOnline}`);
  if (o.guestConfigYaml !== undefined) append.push('memresize.guest=/run/e2e/guest.yaml');
  append.push(...(o.extraAppend ?? []));
  const args = [
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', TCG_CPU]),
    '-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config',
    '-smp', String(o.cpus),
    '-m', `${o.bootMiB}M,maxmem=${o.bootMiB + o.virtioMemMiB}M`,
    '-object', `memory-backend-ram,id=vmem0,size=${o.virtioMemMiB}M`,
    '-device', 'virtio-mem-pci,id=vm0,memdev=vmem0,block-size=2M,requested-size=0',
    '-kernel', paths.kernel, '-initrd', paths.initramfs, '-append', append.join(' '),
    '-chardev', `file,id=con,path=${join(dir, 'console.log')}`, '-serial', 'chardev:con',
    '-device', 'virtio-serial-pci,id=vser0',
    '-chardev', `socket,id=ch0,path=${join(dir, 'memresize.sock')},server=on,wait=off`,
    '-device', 'virtserialport,chardev=ch0,name=org.memresize.0',
    '-chardev', `socket,id=ctl,path=${join(dir, 'control.sock')},server=on,wait=off`,
    '-device', 'virtserialport,chardev=ctl,name=org.memresize.e2e',
    '-chardev', `file,id=dlog,path=${join(dir, 'guest-daemon.log')}`,
    '-device', 'virtconsole,chardev=dlog',
    '-qmp', `unix:${join(dir, 'qmp-test.sock')},server=on,wait=off`,
    '-qmp', `unix:${join(dir, 'qmp-agent.sock')},server=on,wait=off`,
    ...share('rt', paths.runtime),
    ...share('src', join(REPO_ROOT, 'src')),
    ...share('bin', join(REPO_ROOT, 'bin')),
    ...share('nm', join(REPO_ROOT, 'node_modules')),
    ...share('dist', join(REPO_ROOT, 'dist')),
    ...share('e2e', GUEST_DIR),
    ...share('run', join(dir, 'share')),
  ];
  if (o.rereadDisk) {
    args.push('-drive', `file=${paths.rereadDisk},format=raw,if=none,id=d0,readonly=on`, '-device', 'virtio-blk-pci,drive=d0');
  }
  return args;
}

function readIfExists(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

export async function bootVm(opts: VmOptions, qemuBin = 'qemu-system-x86_64'): Promise<Vm> {
  const o = { bootMiB: 512, virtioMemMiB: 2048, cpus: 2, ...opts };
  // Unix socket paths are limited to 107 bytes: keep the folder short.
  const dir = mkdtempSync(join(existsSync('/tmp') ? '/tmp' : REPO_ROOT, 'memresize-e2e-'));
  trackTempDir(dir);
  mkdirSync(join(dir, 'share'));
  if (o.guestConfigYaml !== undefined) writeFileSync(join(dir, 'share/guest.yaml'), o.guestConfigYaml);
  const accel = chosenAccel();
  const t0 = performance.now();
  const qemu = spawnTracked(qemuBin, qemuArgs(o, dir, accel), { logFile: join(dir, 'qemu.log') });
  const consoleLog = join(dir, 'console.log');
  const daemonLog = join(dir, 'guest-daemon.log');
  let qmp: QmpClient | undefined;
  const guest = new GuestControl(join(dir, 'control.sock'));

  const keepLogs = () => {
    const dest = join(LOG_DIR, `${o.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dest, { recursive: true });
    for (const f of ['console.log', 'guest-daemon.log', 'qemu.log', 'host-agent.log', 'host.yaml', 'share/guest.yaml']) {
      if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(dest, f.replace('/', '-')));
    }
    return dest;
  };
  const stop = async () => {
    guest.close();
    if (qmp && qemu.isRunning()) {
      await Promise.race([qmp.execute('quit').catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    }
    qmp?.close();
    await qemu.stop(3000);
    keepLogs();
    removeTempDir(dir);
  };

  try {
    const early = qemu.exited.then((code) => {
      throw new Error(`QEMU exited (${code}) during boot:\n${readIfExists(join(dir, 'qemu.log'))}\n${readIfExists(consoleLog).slice(-3000)}`);
    });
    await Promise.race([
      (async () => {
        await guest.connect();
        qmp = await QmpClient.connect(join(dir, 'qmp-test.sock'));
        await guest.waitReady(accel === 'tcg' ? 90_000 : 30_000);
      })(),
      early,
    ]);
    early.catch(() => undefined);
  } catch (err) {
    await stop();
    throw err;
  }
  const bootMs = performance.now() - t0;
  const q = qmp as QmpClient;
  return {
    name: o.name,
    dir,
    qemu,
    qmp: q,
    mem: new VirtioMemDevice(q),
    guest,
    accel,
    agentQmpSocket: join(dir, 'qmp-agent.sock'),
    memresizeSocket: join(dir, 'memresize.sock'),
    consoleLog,
    daemonLog,
    bootMiB: o.bootMiB,
    virtioMemBytes: o.virtioMemMiB * MiB,
    bootMs,
    console: () => readIfExists(consoleLog),
    daemonLines: () => readIfExists(daemonLog).split('\n').filter(Boolean),
    stop,
  };
}

/** MemTotal and MemAvailable of the guest, in bytes (from /proc/meminfo, kB). */
export async function guestMeminfo(vm: Vm): Promise<{ total: number; available: number; free: number }> {
  const out = await vm.guest.sh("grep -E '^(MemTotal|MemAvailable|MemFree):' /proc/meminfo");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(out)?.[1] ?? NaN) * 1024;
  return { total: kb('MemTotal'), available: kb('MemAvailable'), free: kb('MemFree') };
}
