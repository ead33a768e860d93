#!/usr/bin/env bash
# Calibration of the simulator's stall model against the real kernel (docs/simulator.md).
# For each memcg limit: a file working set of WS_MB read in a loop by 2 readers inside a
# cgroup v1 memcg with that limit (the memory controller is v1 here) and a v2 group (where
# memory.pressure lives). Prints one CSV line per trial:
#   limit_mb,ws_mb,seconds,some_us,full_us
# The stall comes from the `total=` deltas of the v2 group's memory.pressure, read only at
# start and end (reading it often disturbs PSI, see the notes). Cleans up groups and file.
set -euo pipefail
WS_MB=${WS_MB:-256}
SECONDS_PER_TRIAL=${SECONDS_PER_TRIAL:-8}
LIMITS=${LIMITS:-"384 320 288 256 224 192 160 128 96 64"}
self_memcg=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
V1=/sys/fs/cgroup/memory${self_memcg}/memresize-calib-$$
V2=/sys/fs/cgroup/unified/memresize-calib-$$
FILE=$(mktemp /var/tmp/memresize-calib.XXXXXX)
cleanup() {
  # Readers die with their shell; then the groups are empty and rmdir works.
  for p in $(cat "$V1/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  rmdir "$V1" 2>/dev/null || true
  rmdir "$V2" 2>/dev/null || true
  rm -f "$FILE"
}
trap cleanup EXIT
mkdir -p "$V1" "$V2"
echo "limit_mb,ws_mb,seconds,some_us,full_us"
for L in $LIMITS; do
  echo $((L * 1024 * 1024)) > "$V1/memory.limit_in_bytes"
  # The file is written from inside the group each trial: page cache is charged to whoever
  # first touched it, so a file cached outside would never be reclaimed by this memcg.
  bash -c "echo \$\$ > $V1/cgroup.procs; echo \$\$ > $V2/cgroup.procs
    rm -f $FILE; dd if=/dev/urandom of=$FILE bs=1M count=$WS_MB status=none
    total() { awk -v k=\$1 '\$1==k{split(\$5,a,\"=\"); print a[2]}' $V2/memory.pressure; }
    s0=\$(total some); f0=\$(total full)
    end=\$((SECONDS + $SECONDS_PER_TRIAL))
    for r in 1 2; do (while [ \$SECONDS -lt \$end ]; do cat $FILE > /dev/null; done) & done; wait
    s1=\$(total some); f1=\$(total full)
    echo $L,$WS_MB,$SECONDS_PER_TRIAL,\$((s1 - s0)),\$((f1 - f0))"
done
