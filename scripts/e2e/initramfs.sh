# Sourced by scripts/e2e-setup.sh. Builds initramfs.cpio.gz: static busybox, the modules the
# guest needs with their dependencies, and /init (scripts/e2e/init.sh). Node and its
# libraries stay outside, on the "rt" 9p share: the initramfs lives in guest RAM for the
# whole run, so it is kept to a few MB.

# The guest's drivers: virtio transport, memory device, serial ports, 9p, disk, ext4 (its
# metadata checksums need crc32c, which the kernel asks for at mount time, not in modules.dep).
E2E_MODULES="virtio_pci virtio_mem virtio_console 9pnet_virtio 9p virtio_blk crc32c_generic ext4"

# Every module file the wanted modules need, from modules.dep (which lists each module's
# full dependency closure), one relative path per line.
module_closure() {
  local dep=$1
  shift
  awk -v want=" $* " '
    { name = $1; sub(/:$/, "", name); n = split(name, p, "/"); base = p[n]; sub(/\.ko.*$/, "", base) }
    index(want, " " base " ") { print name; for (i = 2; i <= NF; i++) print $i }
  ' "$dep" | sort -u
}

ensure_initramfs() {
  local cache=$1 here=$2 stamp
  stamp=$( {
    echo "$KERNEL_VERSION $E2E_MODULES"
    cat "$here/init.sh" "$here/initramfs.sh"
    busybox 2>&1 | awk "NR == 1"
  } | sha256sum | cut -d' ' -f1)
  if [ -f "$cache/initramfs.cpio.gz" ] && [ "$(cat "$cache/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  log "building initramfs"
  local tree=$cache/.initramfs-tree moddir
  rm -rf "$tree"
  mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,rt,app,mnt,lib}
  cp "$(command -v busybox)" "$tree/bin/busybox"
  install -m 0755 "$here/init.sh" "$tree/init"
  moddir=lib/modules/$KERNEL_VERSION
  module_closure "$KERNEL_TREE/$moddir/modules.dep" $E2E_MODULES | while read -r m; do
    mkdir -p "$tree/$moddir/$(dirname "$m")"
    cp "$KERNEL_TREE/$moddir/$m" "$tree/$moddir/$m"
  done
  busybox depmod -b "$tree" "$KERNEL_VERSION"
  # Node's dynamic loader and libraries come from the rt share, mounted at /rt by /init.
  ln -s /rt/lib64 "$tree/lib64"
  ln -s /rt/lib/x86_64-linux-gnu "$tree/lib/x86_64-linux-gnu"
  ln -s /rt/usr/bin/node "$tree/usr/bin/node"
  (cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$cache/initramfs.cpio.gz.tmp"
  mv "$cache/initramfs.cpio.gz.tmp" "$cache/initramfs.cpio.gz"
  echo "$stamp" >"$cache/initramfs.stamp"
  rm -rf "$tree"
}
