#!/bin/sh
# capsa: build the default guest kernel (vmlinux, PVH entry) from Debian's linux-source-6.1.
# Usage: build-kernel.sh OUTPUT [WORKDIR]
# OUTPUT is the vmlinux to write; WORKDIR (default: a temp dir) holds the ~1.5 GB build tree.
# A kernel built from the same config and source tarball is kept in CAPSA_VM_CACHE (default
# /var/cache/capsa-vm when run as root; set it empty to always build) and reused from there.
set -eu
if [ "$(id -u)" = 0 ]; then
  CAPSA_VM_CACHE=${CAPSA_VM_CACHE-/var/cache/capsa-vm}
fi
out=${1:?usage: build-kernel.sh OUTPUT [WORKDIR]}
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/guest-kernel.config
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "build-kernel.sh: /usr/src/linux-source-6.1.tar.*: not found (apt-get install linux-source-6.1)" >&2; exit 1; }
key=$( (cat "$fragment"; ls -l --time-style=+%s "$tarball") | sha256sum | cut -c1-16)
if [ -n "${CAPSA_VM_CACHE:-}" ] && [ -f "$CAPSA_VM_CACHE/vmlinux-$key" ]; then
  cp "$CAPSA_VM_CACHE/vmlinux-$key" "$out"
  exit 0
fi
work=${2:-}
cleanup=
if [ -z "$work" ]; then
  work=$(mktemp -d /var/tmp/capsa-kernel.XXXXXX)
  cleanup=$work
fi
trap '[ -z "$cleanup" ] || rm -rf "$cleanup"' EXIT
src=$work/linux
if [ ! -f "$src/Makefile" ]; then
  mkdir -p "$src"
  tar -xf "$tarball" -C "$src" --strip-components=1
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -s -C "$src" ARCH=x86_64 tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" >/dev/null
make -s -C "$src" ARCH=x86_64 olddefconfig
# Every option of the fragment must have survived (a dependency may have dropped it).
grep '^CONFIG_.*=y$' "$fragment" | while read -r opt; do
  grep -qx "$opt" "$src/.config" || echo "build-kernel.sh: warning: $opt did not stick" >&2
done
make -s -C "$src" ARCH=x86_64 -j"$jobs" vmlinux
cp "$src/vmlinux" "$out"
if [ -n "${CAPSA_VM_CACHE:-}" ]; then
  mkdir -p "$CAPSA_VM_CACHE"
  cp "$src/vmlinux" "$CAPSA_VM_CACHE/vmlinux-$key"
fi
