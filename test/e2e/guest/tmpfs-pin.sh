#!/bin/sh
# tmpfs pin workload: mounts its own tmpfs with an explicit size (the guest's /tmp is sized
# at half of RAM at mount time) and fills it with data that cannot be reclaimed (no swap).
#   sh tmpfs-pin.sh fill <dir> <sizeMiB> <fillMiB> [MiB per second, 0 = as fast as possible]
#   sh tmpfs-pin.sh drop <dir>
set -e
cmd=$1 dir=$2
case "$cmd" in
  fill)
    size=$3 fill=$4 rate=${5:-0}
    mkdir -p "$dir"
    grep -q " $dir tmpfs " /proc/mounts || mount -t tmpfs -o "size=${size}m" pin "$dir"
    done_mib=0
    while [ "$done_mib" -lt "$fill" ]; do
      n=$(( fill - done_mib )); [ "$n" -gt 100 ] && n=100
      dd if=/dev/zero of="$dir/pin.$done_mib" bs=1M count="$n" 2>/dev/null
      done_mib=$(( done_mib + n ))
      echo "pinned ${done_mib}MiB uptime=$(cut -d' ' -f1 /proc/uptime)"
      [ "$rate" -gt 0 ] && usleep $(( n * 1000000 / rate ))
    done
    echo "fill done ${done_mib}MiB"
    ;;
  drop)
    rm -f "$dir"/pin.*
    umount "$dir"
    echo "dropped"
    ;;
  *) echo "usage: tmpfs-pin.sh fill|drop ..." >&2; exit 2 ;;
esac
