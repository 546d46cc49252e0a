#!/bin/sh
# profile.sh: profile one `capsa run /bin/true` with callgrind (instruction counts) and strace.
#
# Usage: contrib/bench/profile.sh [OUTDIR]   (CAPSA as for run.sh; default OUTDIR ./bench-profile)
#
# Instruction counts are stable on a noisy machine where wall times are not.  Under valgrind
# the config has no rlimits (valgrind keeps the fd limit for itself) and callgrind profiles
# the capsa parent only: the container init is forked, and its execve of /bin/true leaves
# valgrind without a dump.  strace -f covers both processes: syscall counts (-c) and a
# timeline (-tt -T).  Runs in the same private mount + cgroup namespace as run.sh.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$PWD/bench-profile}
if [ -z "${CAPSA:-}" ]; then
  if [ -x ./capsa ]; then CAPSA=./capsa; else CAPSA=$(command -v capsa); fi
fi
CAPSA=$(cd "$(dirname "$CAPSA")" && pwd)/$(basename "$CAPSA")
for t in valgrind strace jq runc; do
  command -v $t >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q $t >/dev/null
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/capsa-profile.XXXXXX)
mkdir -p "$work/rootfs/bin" "$work/b" "$work/bv"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
(cd "$work/b" && runc spec)
jq --arg root "$work/rootfs" '.root.path = $root | .process.terminal = false
  | del(.process.capabilities.ambient) | .process.args = ["/bin/true"]' "$work/b/config.json" \
  >"$work/c.json"
mv "$work/c.json" "$work/b/config.json"
jq 'del(.process.rlimits)' "$work/b/config.json" >"$work/bv/config.json"

export CAPSA work out
unshare -C -m --propagation private sh -c '
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  for d in /sys/fs/cgroup/*; do
    fstype=$(awk -v m="$d" "\$2 == m { print \$3; exit }" /proc/self/mounts)
    [ "$fstype" = cgroup ] || continue
    opts=$(awk -v m="$d" "\$2 == m { print \$4; exit }" /proc/self/mounts | tr , "\n" \
           | grep -v -x -E "rw|ro|relatime|nosuid|nodev|noexec" | paste -sd, -)
    umount -l "$d" && mount -t cgroup -o "$opts" cgroup "$d"
  done
  valgrind --tool=callgrind --trace-children=no --callgrind-out-file="$out/callgrind.run" \
    "$CAPSA" --root "$work/root" run --bundle "$work/bv" cb-prof-cg >/dev/null 2>"$out/valgrind.log"
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.version" "$CAPSA" --version \
    >/dev/null 2>>"$out/valgrind.log"
  strace -f -c -w -o "$out/strace-c.txt" "$CAPSA" --root "$work/root" run --bundle "$work/b" cb-prof-c
  strace -f -tt -T -o "$out/strace-tt.txt" "$CAPSA" --root "$work/root" run --bundle "$work/b" cb-prof-t
'
rm -rf "$work"

for f in run version; do
  echo "== callgrind: capsa $f (parent process), inclusive Ir"
  callgrind_annotate --inclusive=yes "$out/callgrind.$f" 2>/dev/null \
    | grep -E "PROGRAM TOTALS|_dl_start |/work/|/src/|libocispec|yajl_parse" | head -n 25
done
echo "== strace -f -c (wall time per syscall)"
head -n 20 "$out/strace-c.txt"
echo "== slowest syscalls (strace -f -T)"
awk '{ t = $NF; gsub(/[<>]/, "", t); if (t + 0 > 0.0005) print t * 1000 " ms  " $0 }' \
  "$out/strace-tt.txt" | sort -rn | head -n 15 | cut -c1-160
echo "files: $out"
