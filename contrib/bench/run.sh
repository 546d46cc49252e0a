#!/bin/sh
# run.sh: benchmark capsa against crun and runc on a busybox bundle (not part of the test suite).
#
# Usage: contrib/bench/run.sh [--quick] [--out DIR]
#
#   CAPSA   capsa binary to measure (default: ./capsa, else capsa on $PATH)
#   CRUN, RUNC  the baselines (default: crun and runc on $PATH; Debian's packages)
#   --quick fewer iterations (a smoke run of a minute or two)
#   --out   where results go (default: ./bench-results); results.txt is the table,
#           summary.tsv the per-scenario statistics, samples.tsv every measurement.
#
# Every measurement is one process tree started and reaped by benchexec (built from
# benchexec.c next to this script): wall time, user+sys CPU time of the reaped tree
# (getrusage RUSAGE_CHILDREN; benchexec is a child subreaper so double-forked helpers count),
# and the peak RSS of the largest single process in the tree.  Runtimes are interleaved
# (capsa crun runc capsa crun runc ...) so that machine noise hits all of them alike.
#
# All runtimes run in one private mount + cgroup namespace in which every cgroup v1 hierarchy
# is re-mounted rooted at the caller's own cgroup and the cgroup2 mount at
# /sys/fs/cgroup/unified is unmounted: crun 1.8.1 refuses hybrid hosts, and crun resolves
# relative cgroupsPath from the hierarchy root, which here must stay below our own cgroups.
# The host's mounts are untouched.  Each runtime gets its own --root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--inner" ]; then
  shift
  exec "$here/scenarios.sh" "$@"
fi

quick=0
out=$PWD/bench-results
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option \"$1\" (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" != 0 ]; then
  echo "run.sh: must run as root (namespaces, cgroups, mounts)" >&2
  exit 1
fi

# Tools: install what is missing from the distribution's archive.
missing=
command -v runc >/dev/null || missing="$missing runc"
command -v crun >/dev/null || missing="$missing crun"
command -v jq >/dev/null || missing="$missing jq"
command -v cc >/dev/null || missing="$missing gcc"
command -v unshare >/dev/null || missing="$missing util-linux"
# busybox-static replaces the dynamic busybox package: a static one needs no libraries in the rootfs
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then missing="$missing busybox-static"; fi
if [ -n "$missing" ]; then
  echo "installing:$missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi

if [ -z "${CAPSA:-}" ]; then
  if [ -x ./capsa ]; then CAPSA=./capsa; else CAPSA=$(command -v capsa || true); fi
fi
if [ -z "$CAPSA" ] || [ ! -x "$CAPSA" ]; then
  echo "run.sh: no capsa binary: build it and run from the build directory, or set CAPSA" >&2
  exit 1
fi
CAPSA=$(cd "$(dirname "$CAPSA")" && pwd)/$(basename "$CAPSA")
CRUN=$(command -v "${CRUN:-crun}")
RUNC=$(command -v "${RUNC:-runc}")
export CAPSA CRUN RUNC

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/capsa-bench.XXXXXX)
export BENCH_WORK=$work BENCH_OUT=$out BENCH_QUICK=$quick

cc -O2 -Wall -o "$work/benchexec" "$here/benchexec.c"

# The bundle: a static busybox with the applets the scenarios use; config.json is `runc spec`
# (the common default) with no terminal, no ambient capabilities (they need inheritable ones,
# which the default spec does not give, so runtimes either warn or ignore them) and no
# cgroupsPath (each runtime's default, which in our cgroup namespace is below our own cgroups;
# container ids all start with "cb-" so leftovers are easy to find).  Scenario bundles are directories holding only a config.json whose root.path
# points at the shared rootfs.
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp" "$rootfs/etc"
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh true sleep cat ls; do ln -s busybox "$rootfs/bin/$a"; done
(cd "$work" && "$RUNC" spec && mv config.json base.json)
jq --arg root "$rootfs" '.root.path = $root | .process.terminal = false
  | del(.process.capabilities.ambient) | .process.args = ["/bin/true"]
  | del(.linux.cgroupsPath)' "$work/base.json" >"$work/base.tmp"
mv "$work/base.tmp" "$work/base.json"

status=0
unshare -C -m --propagation private sh -c '
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  for d in /sys/fs/cgroup/*; do
    fstype=$(awk -v m="$d" "\$2 == m { print \$3; exit }" /proc/self/mounts)
    [ "$fstype" = cgroup ] || continue
    opts=$(awk -v m="$d" "\$2 == m { print \$4; exit }" /proc/self/mounts | tr , "\n" \
           | grep -v -x -E "rw|ro|relatime|nosuid|nodev|noexec" | paste -sd, -)
    umount -l "$d" && mount -t cgroup -o "$opts" cgroup "$d"
  done
  # state roots on tmpfs, as /run is where engines keep them (on ext4 the roots cost every
  # runtime journal writes, and the cost grew with how many ids the run had used)
  for r in capsa crun runc; do
    mkdir -p "$BENCH_WORK/root-$r" && mount -t tmpfs -o mode=0700 tmpfs "$BENCH_WORK/root-$r"
  done
  exec "$0" --inner' "$0" || status=$?

# the runtimes' error output stays with the results (a failed sample is otherwise unexplained)
cp "$work"/err-*.log "$out/" 2>/dev/null || true
rm -rf "$work"
exit $status
