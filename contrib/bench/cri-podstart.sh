#!/bin/bash
# cri-podstart.sh [ROUNDS]: pod start through the CRI, capsa against runc, interleaved: the time
# from RunPodSandbox to the first line of the pod's one container in its log (a pod with one
# busybox container running `echo`), then the pod is removed. Uses the private containerd of
# tests/cri/cri-env.bash (run as root; CAPSA defaults to ./capsa). Prints each round and the
# median per handler.

here=$(cd "$(dirname "$0")/../../tests" && pwd)
rounds=${1:-10}
export CAPSA=$(realpath "${CAPSA:-./capsa}")
load () { source "$here/$1.bash"; }
bats_require_minimum_version () { :; }
source "$here/engines-helpers.bash" 2>/dev/null
source "$here/cri/cri-env.bash"
export CAPSA_TEST_CACHE=$(mktemp -d /tmp/capsa-cri-bench-cache.XXXXXX)
export ENG_TMP=$(mktemp -d /tmp/capsa-cri-bench.XXXXXX)
trap 'cri_stop; rm -rf "$CAPSA_TEST_CACHE"' EXIT
m=$(cri_missing)
[ -z "$m" ] || { echo "cri-podstart.sh: $m" >&2; exit 1; }
cri_start || exit 1
out=$ENG_TMP/times
for ((i = 0; i < rounds; i++)); do
  for h in capsa runc; do
    jq -n --arg n "b$i-$h" --arg logs "$ENG_TMP/logs/b$i-$h" --arg cg "$CRI_CG/b$i-$h" \
      '{metadata: {name: $n, namespace: "bench", uid: $n, attempt: 0}, logDirectory: $logs,
        linux: {cgroupParent: $cg}}' >"$ENG_TMP/pod.json"
    jq -n --arg img "$CRI_IMG" '{metadata: {name: "c"}, image: {image: $img},
      command: ["echo", "first-output"], logPath: "c/0.log", linux: {}}' >"$ENG_TMP/ctr.json"
    t=$(cri podstart "$ENG_TMP/pod.json" "$ENG_TMP/ctr.json" "$h") || exit 1
    echo "$h $t" | tee -a "$out"
  done
done
for h in capsa runc; do
  awk -v h="$h" '$1 == h { print $2 }' "$out" | sort -n \
    | awk -v h="$h" '{ a[NR] = $1 } END { printf "%s: median %.3f s, min %.3f s, max %.3f s (%d runs)\n",
        h, (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR], NR }'
done
