#!/bin/busybox sh
# /init of the e2e guest (packed into the initramfs by scripts/e2e-setup.sh).
#
# Kernel command line switches read here:
#   memresize.guest=<config>   start `node /app/dist/memresize-guest.mjs guest --config <config>`
#                              (logs on /dev/hvc0), restarted on abnormal exits like systemd's
#                              Restart=on-failure; without it the guest boots with no daemon.
# 9p shares (read-only, all attached by test/e2e/harness-qemu.ts):
#   rt -> /rt (node, libraries, package.json)   dist -> /app/dist (the guest bundle)
#   nm -> /app/node_modules (the optional native addons epoll, koffi the bundle loads)
#   src, bin -> /app/{src,bin} (the unbundled CLI, only for diagnosis: not used by the tests)
#   e2e -> /app/e2e (test/e2e/guest: control agent, workloads)   run -> /run/e2e (per-boot files)
/bin/busybox --install -s
export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null

say() { echo "e2e-init: $*" >/dev/console; }

for m in virtio_pci virtio_mem virtio_console 9pnet_virtio 9p virtio_blk crc32c_generic ext4; do
  modprobe "$m" || say "modprobe $m failed"
done

mount9p() {
  mkdir -p "$2"
  # cache=loose: the shares do not change during a boot, and cached code pages keep node's
  # start over 9p at about a second under TCG.
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose "$1" "$2" || say "mount $1 failed"
}
mount9p rt /rt
mount9p src /app/src
mount9p bin /app/bin
mount9p nm /app/node_modules
mount9p dist /app/dist
mount9p e2e /app/e2e
mount9p run /run/e2e
cp /rt/package.json /app/package.json

# The control agent runs from RAM (rootfs), not from 9p: its code must stay resident while
# the guest thrashes. It is OOM-immune itself and resets that for every job it starts.
cp /app/e2e/agent.sh /tmp/agent.sh
sh /tmp/agent.sh &
echo -1000 >/proc/$!/oom_score_adj

guest_config=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    memresize.guest=*) guest_config=${arg#memresize.guest=} ;;
  esac
done
if [ -n "$guest_config" ]; then
  say "starting memresize guest --config $guest_config"
  # The self-contained bundle (npm run build): plain node, no tsx compiling src/ over 9p.
  # Supervised like the systemd unit (Restart=on-failure, RestartSec=1): an abnormal exit
  # (non-zero status, or a signal other than SIGTERM, e.g. 139 = SIGSEGV) is reported on the
  # console and the daemon restarted after 1 s; a clean exit (0, or 143 after SIGTERM) ends
  # it. The tests count the "restarting" lines and fail when the daemon keeps crashing. The
  # pid file holds node's own pid, for the tests' RSS and CPU readings.
  (
    cd /app
    n=0
    while :; do
      sh -c 'echo $$ >/run/memresize-guest.pid; exec node /app/dist/memresize-guest.mjs guest --config "$1"' _ "$guest_config" </dev/null >/dev/hvc0 2>&1
      rc=$?
      say "memresize guest exited with status $rc"
      case "$rc" in 0 | 143) break ;; esac
      n=$((n + 1))
      say "restarting memresize guest in 1 s (restart $n)"
      sleep 1
    done
  ) &
  # The supervisor plays systemd, which the OOM killer never picks: with 0 it was killed
  # when a test's pinned tmpfs data filled the guest, and no restart could follow.
  echo -1000 >/proc/$!/oom_score_adj
fi
say "up at $(cut -d' ' -f1 /proc/uptime)s"

# PID 1 must never exit (kernel panic) and must reap orphans.
while :; do
  wait
  sleep 1
done
