#!/bin/busybox sh
# /init of the e2e guest (packed into the initramfs by scripts/e2e-setup.sh).
#
# Kernel command line switches read here:
#   memresize.guest=<config>   start `memresize guest --config <config>` (logs on /dev/hvc0);
#                              without it the guest boots with no daemon (control runs).
# 9p shares (read-only, all attached by test/e2e/harness-qemu.ts):
#   rt -> /rt (node, libraries, package.json)   src, bin, nm -> /app/{src,bin,node_modules}
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
  # Supervised so that a crash (e.g. status 139, SIGSEGV) is reported on the console; the
  # pid file holds node's own pid, for the tests' RSS and CPU readings.
  (
    cd /app
    sh -c 'echo $$ >/run/memresize-guest.pid; exec node bin/memresize.js guest --config "$1"' _ "$guest_config" </dev/null >/dev/hvc0 2>&1
    say "memresize guest exited with status $?"
  ) &
fi
say "up at $(cut -d' ' -f1 /proc/uptime)s"

# PID 1 must never exit (kernel panic) and must reap orphans.
while :; do
  wait
  sleep 1
done
