#!/bin/bash
# cri-podstart.sh [ROUNDS]: pod start through the CRI, handlers capsa, capsa-vm (the pod as one
# VM) and runc, interleaved: the time from RunPodSandbox to the first line of the pod's container
# in its log (a pod with one busybox container running `echo`); then, in the running pod, a second
# such container: the time from its CreateContainer to its first line (for capsa-vm, a container
# added to the pod's running VM). Then the pod is removed. Uses the private containerd of
# tests/cri/cri-env.bash (run as root; CAPSA defaults to ./capsa, the guest assets to the build
# tree's vm/ or $CAPSA_VM_ASSETS). Prints each round and the median per handler.

here=$(cd "$(dirname "$0")/../../tests" && pwd)
rounds=${1:-10}
export CAPSA=$(realpath "${CAPSA:-./capsa}")
export CAPSA_VM_ASSETS=${CAPSA_VM_ASSETS:-$(dirname "$CAPSA")/vm}
load () { source "$here/$1.bash"; }
bats_require_minimum_version () { :; }
source "$here/engines-helpers.bash" 2>/dev/null
source "$here/cri/cri-env.bash"
export CAPSA_TEST_CACHE=$(mktemp -d /tmp/capsa-cri-bench-cache.XXXXXX)
export ENG_TMP=$(mktemp -d /tmp/capsa-cri-bench.XXXXXX)
export CAPSA_VM_SNAPSHOT_DIR=$ENG_TMP/vm-snapshots
trap 'cri_stop; rm -rf "$CAPSA_TEST_CACHE"' EXIT
m=$(cri_missing)
[ -z "$m" ] || { echo "cri-podstart.sh: $m" >&2; exit 1; }
cri_start || exit 1
out=$ENG_TMP/times
for ((i = 0; i < rounds; i++)); do
  for h in capsa capsa-vm runc; do
    jq -n --arg n "b$i-$h" --arg logs "$ENG_TMP/logs/b$i-$h" --arg cg "$CRI_CG/b$i-$h" \
      '{metadata: {name: $n, namespace: "bench", uid: $n, attempt: 0}, logDirectory: $logs,
        linux: {cgroupParent: $cg}}' >"$ENG_TMP/pod.json"
    jq -n --arg img "$CRI_IMG" '{metadata: {name: "c"}, image: {image: $img},
      command: ["echo", "first-output"], logPath: "c/0.log", linux: {}}' >"$ENG_TMP/ctr.json"
    t=$(cri podstart "$ENG_TMP/pod.json" "$ENG_TMP/ctr.json" "$h" second) || exit 1
    echo "$h $t" | tee -a "$out"
  done
done
# median COLUMN HANDLER: the median, min and max of one column of $out for HANDLER
median () {
  awk -v h="$2" -v c="$1" '$1 == h { print $c }' "$out" | sort -n \
    | awk '{ a[NR] = $1 } END { printf "median %.3f s, min %.3f s, max %.3f s (%d runs)",
        (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR], NR }'
}
for h in capsa capsa-vm runc; do
  echo "$h: pod start $(median 2 "$h"); second container $(median 3 "$h")"
done
