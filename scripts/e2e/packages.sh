# Sourced by scripts/e2e-setup.sh. Installs QEMU, a static busybox and mke2fs when missing.
# busybox-static, not busybox: the initramfs has no shared libraries of its own.

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
}

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

ensure_packages() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
  pkg_installed busybox-static || missing+=(busybox-static)
  command -v mke2fs >/dev/null 2>&1 || missing+=(e2fsprogs)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing packages ${missing[*]} and not root: install them, then run again"
    exit 1
  fi
  apt_update_once
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
