#!/usr/bin/env bats
# fuzz.bats: replay the libFuzzer targets over their seed corpus and the inputs that once made
# them fail (tests/fuzz/regressions), built with clang + ASan/UBSan; skips without clang.

load helpers

setup () {
  :
}

teardown () {
  :
}

@test "fuzz targets pass over their seeds and regression inputs" {
  local builddir=${TESTS_BUILDDIR:-$BATS_TEST_DIRNAME/..}
  [ -f "$builddir/config.h" ] || skip "no configured build dir (config.h) at $builddir"
  run env FUZZ_BUILDDIR="$builddir" "$BATS_TEST_DIRNAME/fuzz/fuzz.sh" replay
  [ "$status" -ne 77 ] || skip "$(echo "$output" | grep 'skipped:' | head -1)"
  echo "$output"
  assert_success
  refute_output --partial FAILED
}
