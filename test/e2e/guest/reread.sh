#!/bin/sh
# Page-cache workload: rereads a file larger than free memory pass after pass, with parallel
# readers (one reader alone barely stalls: the notes' recipe needed two). Each pass prints
# its duration and the memory stall that accrued during it (PSI `some` total, microseconds):
# a pass that no longer fits in the page cache stalls.
# Use a regular file (scenario a2 mounts an ext4 disk), not a raw block device: a block
# device's page cache is not movable and cannot use hot-plugged ZONE_MOVABLE memory.
#   sh reread.sh <file> <passes> [readers=2]
set -e
file=$1 passes=${2:-5} readers=${3:-2}
stall() { sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/memory; }
cs() { sed 's/^\([0-9]*\)\.\([0-9][0-9]\).*/\1\2/' /proc/uptime; }
echo "reread start file=$file size=$(( $(stat -c %s "$file") / 1048576 ))MiB passes=$passes readers=$readers"
i=1
while [ "$i" -le "$passes" ]; do
  s0=$(stall) t0=$(cs)
  r=0
  while [ "$r" -lt "$readers" ]; do
    dd if="$file" of=/dev/null bs=1M 2>/dev/null &
    r=$(( r + 1 ))
  done
  wait
  s1=$(stall) t1=$(cs)
  echo "pass $i ms=$(( (t1 - t0) * 10 )) stall_us=$(( s1 - s0 ))"
  i=$(( i + 1 ))
done
echo "reread done"
