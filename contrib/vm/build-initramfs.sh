#!/bin/sh
# capsa: build the guest initramfs (uncompressed newc cpio: it boots faster under TCG) holding
# capsa's static agent as /init.  Usage: build-initramfs.sh AGENT OUTPUT
set -eu
agent=${1:?usage: build-initramfs.sh AGENT OUTPUT}
out=${2:?usage: build-initramfs.sh AGENT OUTPUT}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/newroot"
cp "$agent" "$stage/init"
chmod 755 "$stage/init"
# The kernel opens /dev/console before running /init.
mknod -m 600 "$stage/dev/console" c 5 1
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
