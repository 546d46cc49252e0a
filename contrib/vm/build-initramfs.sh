#!/bin/sh
# capsa: build the guest initramfs (uncompressed newc cpio: it boots faster under TCG) holding
# capsa's static agent as /init.
# Usage: build-initramfs.sh [--modules-from MODDIR] AGENT OUTPUT
# MODDIR is a packaged kernel's extracted lib/modules/VERSION (e.g. Debian's linux-image-*-amd64
# unpacked with dpkg-deb -x): the initramfs then also carries the modules that kernel needs for a
# capsa guest (virtio-mmio, virtio-serial ports, 9p, virtio-net) with their dependencies, under /modules,
# and /modules/load lists them in load order; the agent loads them before anything else.
# The project's own kernel (build-kernel.sh) has everything built in and needs no modules.
set -eu
moddir=
if [ "${1:-}" = --modules-from ]; then
  moddir=${2:?usage: build-initramfs.sh [--modules-from MODDIR] AGENT OUTPUT}
  shift 2
fi
agent=${1:?usage: build-initramfs.sh [--modules-from MODDIR] AGENT OUTPUT}
out=${2:?usage: build-initramfs.sh [--modules-from MODDIR] AGENT OUTPUT}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/newroot"
cp "$agent" "$stage/init"
chmod 755 "$stage/init"
# The kernel opens /dev/console before running /init.
mknod -m 600 "$stage/dev/console" c 5 1
if [ -n "$moddir" ]; then
  [ -d "$moddir/kernel" ] || { echo "build-initramfs.sh: $moddir: not a lib/modules/VERSION directory" >&2; exit 1; }
  mkdir "$stage/modules"
  # What a capsa guest needs, in the order the agent needs it; dependencies go first.
  want="virtio_mmio virtio_console 9pnet_virtio 9p virtio_net"
  find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' >"$stage/all"
  add () {
    local f d
    grep -qx "$1" "$stage/modules/load" 2>/dev/null && return 0
    # Built into this kernel: nothing to load.
    grep -q "/$1.ko\$" "$moddir/modules.builtin" 2>/dev/null && return 0
    f=$(grep -E "/$(echo "$1" | sed 's/[-_]/[-_]/g')\.ko(\.xz|\.zst)?\$" "$stage/all" | head -n 1)
    [ -n "$f" ] || { echo "build-initramfs.sh: module $1 not found under $moddir" >&2; exit 1; }
    for d in $(modinfo -F depends "$f" | tr ',' ' '); do
      add "$d"
    done
    case $f in
      *.xz) xz -dc "$f" >"$stage/modules/$1.ko.in" ;;
      *.zst) zstd -qdc "$f" >"$stage/modules/$1.ko.in" ;;
      *) cp "$f" "$stage/modules/$1.ko.in" ;;
    esac
    # Without its BTF (type information for BPF tools, which the kernel would parse and check
    # at each load) and its appended signature (checked with RSA at each load, not required:
    # such a kernel only notes that it is unsigned): about a third of the load time under TCG.
    objcopy --remove-section=.BTF "$stage/modules/$1.ko.in" "$stage/modules/$1.ko"
    rm "$stage/modules/$1.ko.in"
    echo "$1" >>"$stage/modules/load"
  }
  for m in $want; do
    add "$m"
  done
  rm "$stage/all"
fi
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
