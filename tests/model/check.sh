#!/bin/bash
# tests/model/check.sh [OUTDIR]: `make check-model`. Exhaustively checks lifecycle.pml with spin
# (safety: assertions and invalid end states, i.e. deadlocks), checks the transition table and the
# model agree (every row of transitions.txt is a transition the model can take), and checks that
# every mutant in mutants/ is rejected (the checker can fail). MODEL_CLIENTS / MODEL_CMDS: the
# size (default 2 clients of 1 command each, plus the final delete --force; 3 1 takes ~1 min).
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

# build NAME PML CLIENTS [OPT]: spin -a and gcc, into ./NAME.  The searches that stop at their
# first error (rows, mutants) are built with -O0: gcc -O2 on pan.c takes longer than they run.
build () {
  local name=$1 pml=$2 dir
  dir=$(dirname "$pml")
  (cd "$dir" && spin -DNCLIENTS="$3" -DNCMDS="$cmds" -a "$(basename "$pml")" >/dev/null \
    && gcc ${4:--O0} -DSAFETY -DMEMLIM=4096 -w -o "$out/$name" pan.c)
}

status=0
SECONDS=0
build pan lifecycle.pml "$clients" -O2
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
  [ -x pan3 ] || build pan3 lifecycle.pml 3 "-O2 -DREVERSE"
  if ! takes pan3 $r; then
    echo "check-model: transitions.txt row $r ($(grep -v -e '^#' -e '^$' "$here/transitions.txt" | sed -n "${r}p")): the model never takes it" >&2
    status=1
  fi
done
[ $status -ne 0 ] || echo "check-model: all $n rows of transitions.txt are transitions the model takes"

# Mutants: each must be rejected.
# (the mutants of the tree: mutants/ here also holds the table, which they include)
for m in "$here"/mutants/*.pml; do
  name=$(basename "$m" .pml)
  m=mutants/$name.pml
  # -DREVERSE: pan tries the processes in reverse order; each mutant's error is then among the
  # first million states (seconds) instead of near the end of the 34 million (a minute or more)
  build "mut-$name" "$m" 3 "-O2 -DREVERSE"
  (cd mutants && "$out/mut-$name" -m500000 -n >"$out/$name.out" 2>&1) || true
  if grep -q 'errors: 0' "$out/$name.out"; then
    echo "check-model: mutant $name: spin found no error (the model no longer catches it)" >&2
    status=1
  else
    echo "check-model: mutant $name rejected: $(grep -m1 -E '^pan:1?:? ?[a-z]|assertion violated|invalid end state' "$out/$name.out" | cut -c1-100)"
  fi
done
echo "check-model: ${SECONDS} s"
exit $status
