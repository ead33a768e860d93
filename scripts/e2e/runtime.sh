# Sourced by scripts/e2e-setup.sh. Refreshes the "rt" 9p share: the host's node binary, the
# shared libraries it and the project's native addons load, and a copy of package.json
# (the guest needs "type": "module" next to bin/). Nothing else of the host is exposed; the
# project's src, bin, node_modules and test/e2e/guest are separate read-only shares.

copy_if_changed() {
  if ! cmp -s "$1" "$2" 2>/dev/null; then
    mkdir -p "$(dirname "$2")"
    cp -L "$1" "$2.tmp"
    mv "$2.tmp" "$2"
  fi
}

refresh_runtime() {
  local cache=$1 repo=$2 rt=$1/runtime node lib objs
  node=$(command -v node)
  node=$(readlink -f "$node")
  mkdir -p "$rt/usr/bin" "$rt/lib/x86_64-linux-gnu" "$rt/lib64"
  copy_if_changed "$node" "$rt/usr/bin/node"
  objs=("$node")
  while IFS= read -r lib; do objs+=("$lib"); done < <(find "$repo/node_modules" -path '*linux*x64*' -name '*.node' 2>/dev/null; find "$repo/node_modules/epoll" -name '*.node' 2>/dev/null)
  ldd "${objs[@]}" 2>/dev/null | awk '/=> \// { print $3 }' | sort -u | while read -r lib; do
    copy_if_changed "$lib" "$rt/lib/x86_64-linux-gnu/$(basename "$lib")"
  done
  copy_if_changed /lib64/ld-linux-x86-64.so.2 "$rt/lib64/ld-linux-x86-64.so.2"
  copy_if_changed "$repo/package.json" "$rt/package.json"
}
