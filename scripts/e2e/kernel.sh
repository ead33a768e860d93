# Sourced by scripts/e2e-setup.sh. Fetches the kernel package that linux-image-amd64
# currently depends on (the generic flavour: -cloud-amd64 lacks 9p) and unpacks it.
# Sets KERNEL_PKG, KERNEL_VERSION and KERNEL_TREE.

kernel_pkg_name() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

ensure_kernel() {
  local cache=$1 pkg
  pkg=$(kernel_pkg_name || true)
  if [ -z "$pkg" ]; then
    apt_update_once
    pkg=$(kernel_pkg_name || true)
  fi
  if [ -z "$pkg" ] && [ -f "$cache/kernel.env" ]; then
    # Offline with a prepared cache: keep using the kernel we have.
    . "$cache/kernel.env"
    pkg=$KERNEL_PKG
    log "apt knows no linux-image-amd64; keeping cached $pkg"
  fi
  [ -n "$pkg" ] || { log "cannot resolve the kernel package of linux-image-amd64"; exit 1; }

  KERNEL_PKG=$pkg
  KERNEL_TREE=$cache/kernel/$pkg
  if [ ! -d "$KERNEL_TREE/lib/modules" ]; then
    local dl=$cache/kernel/.download
    rm -rf "$dl" "$KERNEL_TREE"
    mkdir -p "$dl"
    log "apt-get download $pkg"
    (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") || { apt_update_once; (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg"); }
    mkdir -p "$KERNEL_TREE.tmp"
    dpkg-deb -x "$dl"/"$pkg"_*.deb "$KERNEL_TREE.tmp"
    # The .deb ships no modules.dep (its postinst runs depmod): build it with busybox,
    # since the host has no kmod.
    KERNEL_VERSION=$(ls "$KERNEL_TREE.tmp/lib/modules")
    busybox depmod -b "$KERNEL_TREE.tmp" "$KERNEL_VERSION"
    mv "$KERNEL_TREE.tmp" "$KERNEL_TREE"
    rm -rf "$dl"
    # Older kernels are dead weight once a new one is prepared.
    find "$cache/kernel" -mindepth 1 -maxdepth 1 ! -name "$pkg" -exec rm -rf {} +
  fi
  KERNEL_VERSION=$(ls "$KERNEL_TREE/lib/modules")
  if ! cmp -s "$KERNEL_TREE/boot/vmlinuz-$KERNEL_VERSION" "$cache/vmlinuz" 2>/dev/null; then
    cp "$KERNEL_TREE/boot/vmlinuz-$KERNEL_VERSION" "$cache/vmlinuz.tmp"
    mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
  fi
  printf 'KERNEL_PKG=%s\nKERNEL_VERSION=%s\n' "$KERNEL_PKG" "$KERNEL_VERSION" >"$cache/kernel.env"
}
