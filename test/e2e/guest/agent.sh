#!/bin/sh
# Control agent of the e2e guest: runs the test's commands and streams their output back
# over the virtio-serial port org.memresize.e2e (the harness's GuestControl is the other end).
#
# Wire format, one line each way (ids are the harness's, digits only):
#   host -> guest   <id> <shell command>
#   guest -> host   O <id> <one line of the job's stdout/stderr>
#                   X <id> <exit status>     (137 = SIGKILL, e.g. the OOM killer)
# Jobs run concurrently, from /app/e2e, with oom_score_adj reset to 0 (the agent itself is
# -1000 and children inherit it: an allocating child would leave the OOM killer nothing).
PORT_NAME=org.memresize.e2e

find_port() {
  for d in /sys/class/virtio-ports/vport*; do
    [ "$(cat "$d/name" 2>/dev/null)" = "$PORT_NAME" ] && { echo "/dev/${d##*/}"; return 0; }
  done
  return 1
}

port=
while [ -z "$port" ]; do
  port=$(find_port) || { port=; sleep 0.2; }
done
# virtio-serial ports take one opener: read and write through this one descriptor.
exec 3<>"$port"

run_job() {
  id=$1
  cmd=$2
  {
    (echo 0 >/proc/self/oom_score_adj; cd /app/e2e && exec sh -c "$cmd") </dev/null 2>&1
    echo "$?" >"/tmp/job.$id.rc"
  } | while IFS= read -r l; do printf 'O %s %s\n' "$id" "$l"; done >&3
  printf 'X %s %s\n' "$id" "$(cat "/tmp/job.$id.rc" 2>/dev/null || echo 255)" >&3
  rm -f "/tmp/job.$id.rc"
}

while :; do
  if IFS= read -r line <&3; then
    id=${line%% *}
    case "$id" in
      '' | *[!0-9]*) continue ;;
    esac
    run_job "$id" "${line#* }" &
  else
    # No host end connected: reads return EOF at once. Back off instead of spinning.
    sleep 0.2
  fi
done
