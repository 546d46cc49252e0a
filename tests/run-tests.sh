#!/bin/bash
# run-tests.sh: run capsa's C unit tests and every bats suite; print one summary line at the end.
#
# Environment: CAPSA (binary under test; default: the build dir's ./capsa), TESTS_BUILDDIR (where
# `make` built capsa and tests/test-ocispec; default: the current directory if it holds ./capsa,
# else the source tree), CAPSA_TEST_SPEC_DIR (runtime-spec copy for the parser tests).
# Arguments: optional bats files or suite names (e.g. `lifecycle`) to run only those.
set -uo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${TESTS_BUILDDIR:-}" ]; then
  if [ -x ./capsa ]; then TESTS_BUILDDIR=$PWD; else TESTS_BUILDDIR=$srcdir; fi
fi
export CAPSA=${CAPSA:-$TESTS_BUILDDIR/capsa}

work=$(mktemp -d /tmp/capsa-tests.XXXXXX)
# shellcheck disable=SC2064
trap "rm -rf '$work'" EXIT
export CAPSA_TEST_CACHE=$work/cache
# a hung test fails after this many seconds instead of stalling the run
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}

passed=0 failed=0 skipped=0
failures=()

# count SUITE TAPFILE [SECONDS]: add the suite's ok / not ok / skip lines to the totals.
count () {
  local suite=$1 tap=$2 took=${3:+ in ${3} s} p f s
  p=$(grep -E '^ok ' "$tap" | grep -c -v -E '# (skip|SKIP)')
  s=$(grep -c -E '^ok .*# (skip|SKIP)' "$tap")
  f=$(grep -c -E '^not ok ' "$tap")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  while IFS= read -r line; do failures+=("$suite: ${line#not ok }"); done < <(grep -E '^not ok ' "$tap")
  printf '== %s: %d passed, %d failed, %d skipped%s\n' "$suite" "$p" "$f" "$s" "$took"
}

# --- C unit tests -----------------------------------------------------------------------------
run_unit () {
  local bin=$TESTS_BUILDDIR/tests/test-ocispec tap=$work/unit.tap spec rc
  spec=${CAPSA_TEST_SPEC_DIR:-}
  if [ -z "$spec" ]; then
    for spec in "$srcdir/../shared/reference/runtime-spec" /work/shared/reference/runtime-spec ""; do
      [ -z "$spec" ] || [ -d "$spec/schema" ] && break
    done
  fi
  echo "== unit: test-ocispec"
  if [ ! -x "$bin" ]; then
    echo "ok 1 test-ocispec # skip $bin not built (run make check)" >"$tap"
  elif [ -z "$spec" ]; then
    echo "ok 1 test-ocispec # skip no runtime-spec copy at ../shared/reference/runtime-spec" >"$tap"
  else
    "$bin" "$spec" >"$work/unit.out" 2>&1
    rc=$?
    sed "s/^/  /" "$work/unit.out"
    if grep -q -E '^(not )?ok ' "$work/unit.out"; then
      # the program speaks TAP: count its lines; a crash after them is one more failure
      grep -E '^(not )?ok ' "$work/unit.out" >"$tap"
      if [ "$rc" -ne 0 ] && ! grep -q -E '^not ok ' "$tap"; then
        echo "not ok 0 test-ocispec exited with status $rc" >>"$tap"
      fi
    elif [ "$rc" -eq 0 ]; then
      echo "ok 1 test-ocispec" >"$tap"
    elif [ "$rc" -eq 77 ]; then
      echo "ok 1 test-ocispec # skip (exit 77)" >"$tap"
    else
      echo "not ok 1 test-ocispec exited with status $rc" >"$tap"
    fi
  fi
  count unit "$tap"
}

# --- bats suites ------------------------------------------------------------------------------
run_bats () {
  local file=$1 suite tap
  suite=$(basename "$file" .bats)
  tap=$work/$suite.tap
  local t0=$SECONDS
  echo "== $suite"
  # --timing: each test's line says how long it took (what to look at when the run gets long)
  bats --tap --timing "$file" </dev/null 2>&1 | tee "$tap"
  if ! grep -q -E '^1\.\.[0-9]+' "$tap"; then
    echo "not ok 0 $suite: bats did not run the suite" >>"$tap"
  fi
  count "$suite" "$tap" "$((SECONDS - t0))"
}

if ! command -v bats >/dev/null; then
  echo "run-tests.sh: bats not found (apt-get install bats)" >&2
  exit 1
fi

suites=()
if [ $# -gt 0 ]; then
  for a in "$@"; do
    case $a in
    *.bats) suites+=("$a") ;;
    *) suites+=("$srcdir/tests/$a.bats") ;;
    esac
  done
else
  run_unit
  suites=("$srcdir"/tests/*.bats)
fi
for f in "${suites[@]}"; do
  run_bats "$f"
done

if [ ${#failures[@]} -gt 0 ]; then
  echo "== failed tests:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
