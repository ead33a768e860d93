# Sourced by scripts/e2e-setup.sh. Decides once whether the guest can run under KVM and
# records ACCEL=kvm|tcg in accel.env (the harness reads it; MEMRESIZE_E2E_ACCEL overrides).
# A /dev/kvm that opens is not proof: under nested virtualisation QEMU may abort on an MSR
# or the guest may hang, so the probe boots the real kernel and initramfs and waits for
# /init to report. Re-probed when QEMU or the kernel changes.

probe_accel() {
  local cache=$1 key dir pid i
  key="$(qemu-system-x86_64 --version | awk "NR == 1") $KERNEL_VERSION"
  if [ -f "$cache/accel.env" ] && grep -qxF "KEY=$key" "$cache/accel.env"; then
    return 0
  fi
  local accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    log "probing KVM (up to 20 s)"
    dir=$(mktemp -d)
    # In a subshell with stderr to the log: bash would report QEMU's abort on our stderr.
    (qemu-system-x86_64 -accel kvm -cpu host -pidfile "$dir/qemu.pid" -nodefaults -display none -no-reboot -m 256M \
      -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" \
      -append "console=ttyS0 loglevel=4 panic=-1" \
      -chardev "file,id=con,path=$dir/console.log" -serial chardev:con; true) >"$dir/qemu.log" 2>&1 &
    pid=$!
    sleep 0.5
    for i in $(seq 1 40); do
      grep -q 'e2e-init: up' "$dir/console.log" 2>/dev/null && { accel=kvm; break; }
      kill -0 "$pid" 2>/dev/null || break # the subshell ends with QEMU
      sleep 0.5
    done
    [ -s "$dir/qemu.pid" ] && kill -9 "$(cat "$dir/qemu.pid")" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  fi
  log "accelerator: $accel"
  printf 'KEY=%s\nACCEL=%s\n' "$key" "$accel" >"$cache/accel.env"
}
