#!/usr/bin/env bash
# Prepares everything the end-to-end suite (test/e2e) needs to boot a real Linux guest under
# QEMU: packages, the Debian guest kernel and its modules, a busybox initramfs and the
# read-only runtime share (Node and the shared libraries it loads), and the guest bundle. Idempotent: a second run
# only refreshes the runtime share and finishes in seconds. Works from any checkout folder.
#
#   bash scripts/e2e-setup.sh          # or: npm run test:e2e (setup, then the e2e project)
#   MEMRESIZE_E2E_CACHE=/elsewhere bash scripts/e2e-setup.sh
#
# Layout of the cache (git-ignored, default <repo>/.cache/e2e):
#   kernel/<pkg>/...   the unpacked kernel package (kept to rebuild the initramfs offline)
#   vmlinuz            the guest kernel
#   initramfs.cpio.gz  busybox + modules + /init (scripts/e2e/init.sh)
#   runtime/           9p share "rt": usr/bin/node, lib/x86_64-linux-gnu/*, lib64/ld-linux*
# and, in the repo, dist/memresize-guest.mjs (npm run build, when missing or older than src/),
# the daemon the guest runs (9p share "dist").
#   reread.ext4        read-only disk of scenario a2 (900 MiB file in ext4)
#   kernel.env         KERNEL_PKG / KERNEL_VERSION of the prepared kernel
#   accel.env          ACCEL=kvm|tcg, probed once per QEMU and kernel version
#   logs/, figures.json   written by the e2e tests (logs of each boot; figures of the last run)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MEMRESIZE_E2E_CACHE:-$REPO/.cache/e2e}
HERE=$REPO/scripts/e2e
mkdir -p "$CACHE"

log() { printf 'e2e-setup: %s\n' "$*" >&2; }

# shellcheck source=scripts/e2e/packages.sh
. "$HERE/packages.sh"
ensure_packages
# shellcheck source=scripts/e2e/kernel.sh
. "$HERE/kernel.sh"
ensure_kernel "$CACHE"
# shellcheck source=scripts/e2e/initramfs.sh
. "$HERE/initramfs.sh"
ensure_initramfs "$CACHE" "$HERE"
# shellcheck source=scripts/e2e/runtime.sh
. "$HERE/runtime.sh"
refresh_runtime "$CACHE" "$REPO"
# shellcheck source=scripts/e2e/bundle.sh
. "$HERE/bundle.sh"
ensure_guest_bundle "$REPO"
# shellcheck source=scripts/e2e/disk.sh
. "$HERE/disk.sh"
ensure_reread_disk "$CACHE"
# shellcheck source=scripts/e2e/accel.sh
. "$HERE/accel.sh"
probe_accel "$CACHE"

# figures.json holds the figures of the last e2e run only (the tests merge into it).
rm -f "$CACHE/figures.json"
log "ready in $CACHE (kernel $KERNEL_VERSION)"
