# Sourced by scripts/e2e-setup.sh. Builds the read-only disk of scenario a2: an ext4 image
# holding 900 MiB of random data in /data.bin. A regular file, not the raw device: the
# page cache of a block device is allocated GFP_USER (not movable), so it cannot use
# hot-plugged memory onlined into ZONE_MOVABLE, and growing would never stop the stall.

ensure_reread_disk() {
  local cache=$1 tmp
  [ -f "$cache/reread.ext4" ] && return 0
  log "building the reread disk (900 MiB of random data in ext4)"
  tmp=$(mktemp -d)
  head -c 900M /dev/urandom >"$tmp/data.bin"
  mke2fs -q -F -t ext4 -L reread -d "$tmp" "$cache/reread.ext4.tmp" 1100M >/dev/null
  rm -rf "$tmp"
  mv "$cache/reread.ext4.tmp" "$cache/reread.ext4"
}
