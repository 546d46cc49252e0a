#!/bin/bash
# run.sh: check that each escape regression test of tests/security.bats catches its attack, by
# running it against a capsa built with that one protection switched off (a "mutant").
#
# Each NAME.patch here disables one protection; its header says which, and its `Tests:` line is
# the bats --filter regex of the test(s) that must catch it; an optional `Suite:` line names the
# bats file they are in (default security.bats), an optional `Env:` line NAME=VALUE words for
# the tests' environment (tests/isolation.bats: a seed whose random containers exercise the
# protection, so the check does not depend on the run's luck). For every patch this script applies
# it to a copy of the tree, builds capsa, runs those tests with CAPSA pointing at the mutant and
# expects at least one to FAIL ("killed"); the same tests must pass against the unpatched build.
# One line per mutant; the exit status is 0 only when every mutant is killed. 77: cannot run here.
#
# Usage: tests/escape-mutants/run.sh [NAME...]        (default: every patch, in name order)
# Environment: CAPSA_MUTANTS_REV  revision to copy and mutate (default HEAD: commit first)
#              CAPSA_MUTANTS_KEEP=1  keep the work directory (always kept after a problem)
# It builds with a plain `make` (no -j; `all`, which makes the generated headers first): the
# rebuild after each patch is one or two objects.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
srcdir=$(cd "$here/../.." && pwd -P)
rev=${CAPSA_MUTANTS_REV:-HEAD}

skip () {
  echo "escape-mutants: skipped: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "the escape tests need root"
for tool in bats git make cc autoreconf jq; do
  command -v "$tool" >/dev/null || skip "$tool is missing"
done
git -C "$srcdir" rev-parse --verify -q "$rev^{commit}" >/dev/null || skip "$srcdir: no git revision $rev"

patches=()
if [ $# -gt 0 ]; then
  for n in "$@"; do
    [ -f "$here/$n.patch" ] || { echo "escape-mutants: no mutant $n ($here/$n.patch)" >&2; exit 2; }
    patches+=("$here/$n.patch")
  done
else
  patches=("$here"/*.patch)
fi

work=$(mktemp -d /tmp/capsa-mutants.XXXXXX)
problem=0
finish () {
  if [ "$problem" -eq 0 ] && [ "${CAPSA_MUTANTS_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "escape-mutants: work directory kept: $work"
  fi
}
trap finish EXIT
mkdir -p "$work/src" "$work/build" "$work/logs"
export CAPSA_TEST_CACHE=$work/cache
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}

# setup: the tree at $rev, configured and built once; each mutant then rebuilds what it touches.
if ! git -C "$srcdir" archive "$rev" | tar -x -C "$work/src"; then
  problem=1
  echo "escape-mutants: git archive $rev failed" >&2
  exit 1
fi
echo "escape-mutants: $(git -C "$srcdir" rev-parse --short "$rev"), building capsa in $work/build"
if ! { (cd "$work/src" && ./autogen.sh) && (cd "$work/build" && "$work/src/configure" -q) \
  && make -C "$work/build"; } >"$work/logs/build-base.log" 2>&1; then
  problem=1
  echo "escape-mutants: the unpatched tree does not build: see $work/logs/build-base.log" >&2
  exit 1
fi
cp "$work/build/capsa" "$work/capsa.base"

# tap_result TAPFILE: "fail" if a test failed, else "skip" if one was skipped, "none" if no
# test ran, else "pass".
tap_result () {
  if grep -q '^not ok ' "$1"; then
    echo fail
  elif grep -q -E '^ok .* # (skip|SKIP)' "$1"; then
    echo skip
  elif grep -q '^ok ' "$1"; then
    echo pass
  else
    echo none
  fi
}

# VM-mode tests find the guest kernel and initramfs of the source tree's build (make vm-assets).
if [ -z "${CAPSA_VM_ASSETS:-}" ] && [ -f "$srcdir/vm/vmlinux" ] && [ -f "$srcdir/vm/initramfs" ]; then
  export CAPSA_VM_ASSETS=$srcdir/vm
fi

# run_tests BINARY REGEX TAPFILE SUITE [NAME=VALUE...]: the matching tests of SUITE against
# BINARY, with those variables in their environment.
run_tests () {
  local bin=$1 re=$2 tap=$3 suite=$4
  shift 4
  (cd "$srcdir" && env "$@" CAPSA="$bin" bats --tap --filter "$re" "tests/$suite") >"$tap" 2>&1
}

killed=0 survived=0 other=0
for p in "${patches[@]}"; do
  name=$(basename "$p" .patch)
  t0=$SECONDS
  re=$(sed -n 's/^Tests: //p' "$p" | head -n 1)
  suite=$(sed -n 's/^Suite: //p' "$p" | head -n 1)
  suite=${suite:-security.bats}
  read -r -a envs <<<"$(sed -n 's/^Env: //p' "$p" | head -n 1)"
  log=$work/logs/$name
  if [ -z "$re" ]; then
    printf '%-26s ERROR     no "Tests:" line in %s\n' "$name" "$p"
    other=$((other + 1))
    continue
  fi
  # the test must pass unpatched
  run_tests "$work/capsa.base" "$re" "$log.base.tap" "$suite" "${envs[@]}"
  base=$(tap_result "$log.base.tap")
  if [ "$base" != pass ]; then
    case $base in
    none) why="no test matches /$re/" ;;
    skip) why="skipped on the unpatched build: $(grep -m1 -o -E '# (skip|SKIP).*' "$log.base.tap")" ;;
    *) why="fails on the unpatched build: see $log.base.tap" ;;
    esac
    printf '%-26s UNCHECKED %s\n' "$name" "$why"
    other=$((other + 1))
    continue
  fi
  if ! (cd "$work/src" && git apply --check "$p" 2>"$log.apply.log" && git apply "$p"); then
    printf '%-26s STALE     the patch no longer applies to %s: see %s\n' "$name" "$rev" "$log.apply.log"
    other=$((other + 1))
    continue
  fi
  make -C "$work/build" >"$log.build.log" 2>&1
  rc=$?
  cp "$work/build/capsa" "$work/capsa.$name" 2>/dev/null
  (cd "$work/src" && git apply -R "$p")
  if [ $rc -ne 0 ]; then
    printf '%-26s STALE     the mutant does not build: see %s\n' "$name" "$log.build.log"
    other=$((other + 1))
    continue
  fi
  run_tests "$work/capsa.$name" "$re" "$log.tap" "$suite" "${envs[@]}"
  tests=$(sed -n 's/^\(not \)\{0,1\}ok [0-9]* //p' "$log.tap" | sed 's/ # .*//' | paste -sd '|' -)
  case $(tap_result "$log.tap") in
  fail)
    printf '%-26s killed    %3ds  %s\n' "$name" $((SECONDS - t0)) "$tests"
    killed=$((killed + 1))
    ;;
  pass)
    printf '%-26s SURVIVED  %3ds  %s (see %s)\n' "$name" $((SECONDS - t0)) "$tests" "$log.tap"
    survived=$((survived + 1))
    ;;
  *)
    printf '%-26s UNCHECKED the test did not run against the mutant: see %s\n' "$name" "$log.tap"
    other=$((other + 1))
    ;;
  esac
done

echo "escape-mutants: ${#patches[@]} mutants: $killed killed, $survived survived, $other not checked ($((SECONDS / 60))m$((SECONDS % 60))s)"
[ "$survived" -eq 0 ] && [ "$other" -eq 0 ] || problem=1
exit "$problem"
