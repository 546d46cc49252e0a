#!/bin/bash
# tests/model/check.sh [OUTDIR]: `make check-model`. Exhaustively checks lifecycle.pml with spin
# (safety: assertions and invalid end states, i.e. deadlocks), checks the transition table and the
# model agree (every row of transitions.txt is a transition the model can take), and checks that
# every mutant in mutants/ is rejected (the checker can fail). MODEL_CLIENTS / MODEL_CMDS: the
# size (default 2 clients of 1 command each, plus the final delete --force; 3 1: 150 million
# states and more, over 13 min with checkpoint/restore, not run by default; see README).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d /tmp/capsa-model.XXXXXX)}
mkdir -p "$out"
clients=${MODEL_CLIENTS:-2}
cmds=${MODEL_CMDS:-1}
cd "$out"
"$here/table.sh" "$here/transitions.txt" >transitions.pml
mkdir -p mutants
cp "$here/lifecycle.pml" .
cp "$here"/mutants/*.pml mutants/
cp transitions.pml mutants/ 2>/dev/null || true

# build NAME PML CLIENTS [OPT]: spin -a and gcc, into ./NAME.  All are built with -O0: gcc -O2
# on pan.c takes 15-40 s here, longer than the -O0 verifier needs for the whole search (the
# 2-client model: 2 s to build, about 15 s to search, against 17 s and 9 s with -O2).
build () {
  local name=$1 pml=$2 dir
  dir=$(dirname "$pml")
  (cd "$dir" && spin -DNCLIENTS="$3" -DNCMDS="$cmds" -a "$(basename "$pml")" >/dev/null \
    && gcc ${4:--O0} -DSAFETY -DMEMLIM=4096 -w -o "$out/$name" pan.c)
}

status=0
SECONDS=0
# 3 clients: 31 million states and more, over pan's 4 GB without -DCOLLAPSE (which halves the
# speed)
if ((clients > 2)); then build pan lifecycle.pml "$clients" -DCOLLAPSE; else build pan lifecycle.pml "$clients"; fi
# -m: search depth bound (an error if reached); -n: no unreached-code listing
./pan -m500000 -n >pan.out 2>&1 || true
if ! grep -q 'errors: 0' pan.out || grep -q -e 'Search not completed' -e 'max search depth too small' pan.out; then
  cat pan.out
  echo "check-model: lifecycle.pml: spin found an error (trail: $out/lifecycle.pml.trail; spin -t -p lifecycle.pml)" >&2
  status=1
else
  echo "check-model: lifecycle.pml: $(grep -E 'states, stored' pan.out | xargs) ($clients clients x $cmds commands): no error"
fi

# Table rows the model cannot take: ROW=n makes taking row n an assertion failure.
n=$(grep -c -v -e '^#' -e '^$' "$here/transitions.txt")
# Most rows are taken within a second with 2 clients; the rest need 3 (a create, a pause, and a
# kill or resume): those are searched again in the 3-client model (built on demand, -DREVERSE as
# for the mutants: a row is found in seconds).
takes () {
  ROW=$2 "./$1" -m500000 -n >row.out 2>&1 || true
  ! grep -q 'errors: 0' row.out
}
for ((r = 1; r <= n; r++)); do
  takes pan $r && continue
  [ -x pan3 ] || build pan3 lifecycle.pml 3 -DREVERSE
  if ! takes pan3 $r; then
    echo "check-model: transitions.txt row $r ($(grep -v -e '^#' -e '^$' "$here/transitions.txt" | sed -n "${r}p")): the model never takes it" >&2
    status=1
  fi
done
[ $status -ne 0 ] || echo "check-model: all $n rows of transitions.txt are transitions the model takes"

# Mutants: each must be rejected.
# (the mutants of the tree: mutants/ here also holds the table, which they include)
# -DREVERSE: pan tries the processes in reverse order; each mutant's error is then among the
# first few million states (seconds) instead of near the end of the 3-client model's 32 million.
# Two at a time (spin -a writes pan.c in mutants/: each mutant gets its own directory).
mutant () {
  local name=$1
  mkdir -p "mut.$name"
  cp "mutants/$name.pml" "mut.$name/"
  cp transitions.pml "mut.$name/"
  # 2 clients first (each mutant's bug needs no more: a complete search), then 3
  build "mut-$name" "mut.$name/$name.pml" 2 -DREVERSE || return 0
  (cd "mut.$name" && "$out/mut-$name" -m500000 -n >"$out/$name.out" 2>&1) || true
  grep -q 'errors: 0' "$out/$name.out" || return 0
  build "mut-$name" "mut.$name/$name.pml" 3 "-DREVERSE -DCOLLAPSE" || return 0
  (cd "mut.$name" && "$out/mut-$name" -m500000 -n >"$out/$name.out" 2>&1) || true
}
jobs=0
for m in "$here"/mutants/*.pml; do
  mutant "$(basename "$m" .pml)" &
  if ((++jobs >= 2)); then wait -n || true; jobs=$((jobs - 1)); fi
done
wait
for m in "$here"/mutants/*.pml; do
  name=$(basename "$m" .pml)
  if [ ! -s "$out/$name.out" ]; then
    echo "check-model: mutant $name: no verifier (spin or gcc failed)" >&2
    status=1
  elif grep -q 'errors: 0' "$out/$name.out"; then
    echo "check-model: mutant $name: spin found no error (the model no longer catches it)" >&2
    status=1
  else
    echo "check-model: mutant $name rejected: $(grep -m1 -E '^pan:1?:? ?[a-z]|assertion violated|invalid end state' "$out/$name.out" | cut -c1-100)"
  fi
done
echo "check-model: ${SECONDS} s"
# a directory of its own is removed when all passed (kept with the trails otherwise)
if [ -z "${1:-}" ] && [ $status -eq 0 ]; then
  cd /
  rm -rf "$out"
fi
exit $status
