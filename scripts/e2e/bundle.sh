# Sourced by scripts/e2e-setup.sh. The guest runs the self-contained bundle
# dist/memresize-guest.mjs (plain node, no tsx, nothing compiled in the guest), shared
# read-only over 9p as /app/dist. Rebuilt with `npm run build` only when it is missing or
# older than what it is built from, so a second setup costs a `find`.

ensure_guest_bundle() {
  local repo=$1 out=$1/dist/memresize-guest.mjs newer
  if [ -f "$out" ]; then
    newer=$(find "$repo/src" "$repo/scripts/build.ts" "$repo/package.json" "$repo/package-lock.json" \
      -newer "$out" -type f 2>/dev/null | head -1)
    [ -z "$newer" ] && return 0
    log "guest bundle older than $newer: rebuilding"
  else
    log "building the guest bundle"
  fi
  (cd "$repo" && npm run -s build >&2)
  [ -f "$out" ] || { log "npm run build did not write $out"; return 1; }
}
