#!/bin/sh
# capsa: prepare Debian's packaged kernel for the VM isolation mode (`.vm.kernel.path` and
# `.vm.kernel.initrd`), without installing it: apt-get download + dpkg-deb -x into a cache.
# Usage: debian-kernel.sh AGENT OUTDIR [PACKAGE]
# AGENT is capsa's static guest agent (src/agent/capsa-agent of a build tree). PACKAGE defaults
# to what linux-image-amd64 depends on (linux-image-6.1.0-N-amd64). Writes into OUTDIR:
#   vmlinux    the kernel uncompressed from the package's vmlinuz (QEMU boots it through its PVH
#              entry: ~2 s faster under TCG than the XZ-compressed bzImage)
#   initramfs  the agent plus that kernel's modules for virtio-mmio, virtio-serial, 9p and virtio-net
#              (build-initramfs.sh --modules-from)
#   release    the kernel release (what `uname -r` prints in the guest)
# The package and its extracted tree stay in CAPSA_DEBIAN_KERNEL_CACHE (default
# /var/cache/capsa/debian-kernel, shared with other users of the same package); a lock makes
# concurrent runs download it once.
set -eu
agent=${1:?usage: debian-kernel.sh AGENT OUTDIR [PACKAGE]}
outdir=${2:?usage: debian-kernel.sh AGENT OUTDIR [PACKAGE]}
pkg=${3:-}
cache=${CAPSA_DEBIAN_KERNEL_CACHE:-/var/cache/capsa/debian-kernel}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
  [ -n "$pkg" ] || { echo "debian-kernel.sh: no linux-image-*-amd64 known to apt (apt-get update?)" >&2; exit 1; }
fi
mkdir -p "$cache" "$outdir"
exec 9>"$cache/.lock"
flock 9
deb=$(ls "$cache/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  # apt's sandbox user cannot write a root-owned cache: download as the caller, quietly.
  (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
  deb=$(ls "$cache/${pkg}_"*.deb | head -n 1)
fi
root=${deb%.deb}
if [ ! -f "$root/.done" ]; then
  rm -rf "$root"
  mkdir -p "$root"
  dpkg-deb -x "$deb" "$root"
  touch "$root/.done"
fi
flock -u 9
release=$(ls "$root/lib/modules" | head -n 1)
vmlinuz=$root/boot/vmlinuz-$release
[ -f "$vmlinuz" ] || { echo "debian-kernel.sh: $vmlinuz: missing from $deb" >&2; exit 1; }
# The ELF image is the XZ stream inside the bzImage (what the kernel's scripts/extract-vmlinux
# finds by its magic): find the first one that decompresses to an ELF file.
for off in $(LC_ALL=C grep -abo -P '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
  tail -c +$((off + 1)) "$vmlinuz" | xz -dc 2>/dev/null >"$outdir/vmlinux.tmp" || true
  if [ "$(head -c 4 "$outdir/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
    mv "$outdir/vmlinux.tmp" "$outdir/vmlinux"
    break
  fi
done
rm -f "$outdir/vmlinux.tmp"
[ -f "$outdir/vmlinux" ] || { echo "debian-kernel.sh: no XZ-compressed ELF kernel in $vmlinuz" >&2; exit 1; }
"$here/build-initramfs.sh" --modules-from "$root/lib/modules/$release" "$agent" "$outdir/initramfs"
echo "$release" >"$outdir/release"
