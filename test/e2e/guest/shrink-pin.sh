#!/bin/sh
# Demand that returns while the daemon's unplug runs (scenario c): waits until MemTotal
# drops (an unplug has begun: only the daemon's shrinks unplug), then at once pins <pct>% of
# the MemAvailable of that moment in its own tmpfs. The daemon's shrink leaves its floor
# plus one grow step (256-450 MiB) available; data well above that cannot fit in what
# stays plugged after the unplug, and tmpfs has no swap to go to, so the unplug stops short.
# Reads /proc/meminfo with shell builtins only (no fork per sample).
# Only a drop of at least 64 MiB counts (a small shrink of a few MiB completes at once).
#   sh shrink-pin.sh <dir> <pct> [timeoutS=300]
dir=$1 pct=$2 timeout=${3:-300}
tot=0 avail=0
read_mem() {
  while read -r k v _; do
    case "$k" in MemTotal:) tot=$v ;; MemAvailable:) avail=$v ;; esac
  done </proc/meminfo
}
mkdir -p "$dir"
grep -q " $dir tmpfs " /proc/mounts || mount -t tmpfs -o size=3000m pin "$dir"
read_mem
base=$tot
echo "watching MemTotal=${base}kB"
i=0
while :; do
  read_mem
  [ "$tot" -le $((base - 65536)) ] && break
  [ "$tot" -gt "$base" ] && base=$tot
  i=$((i + 1))
  [ "$i" -gt $((timeout * 20)) ] && { echo "no unplug within ${timeout}s"; exit 3; }
  usleep 50000
done
n=$(( avail / 1024 * pct / 100 ))
echo "unplug seen MemTotal ${base}kB -> ${tot}kB MemAvailable=${avail}kB uptime=$(cut -d' ' -f1 /proc/uptime) pinning ${n}MiB"
[ "$n" -gt 0 ] || { echo "nothing to pin"; exit 4; }
dd if=/dev/zero of="$dir/pin.0" bs=1M count="$n" 2>/dev/null || echo "dd status $?"
read_mem
echo "pin done ${n}MiB uptime=$(cut -d' ' -f1 /proc/uptime) MemTotal=${tot}kB MemAvailable=${avail}kB"
