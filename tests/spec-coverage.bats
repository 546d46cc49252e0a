#!/usr/bin/env bats
# spec-coverage.bats: no field of config.json is silently ignored.  tests/spec-coverage.tsv lists
# every property the runtime spec's schema defines (tests/spec-fields.py walks it) as applied
# (with a test of tests/*.bats that shows it) or refused (with the error capsa create gives).
# The spec is found as the unit tests find it: $CAPSA_TEST_SPEC_DIR, else ../shared/reference/runtime-spec next to the tree.

load helpers

TABLE=$BATS_TEST_DIRNAME/spec-coverage.tsv

spec_dir () {
  local d
  for d in "${CAPSA_TEST_SPEC_DIR:-}" "$BATS_TEST_DIRNAME/../../shared/reference/runtime-spec" \
    /work/shared/reference/runtime-spec; do
    [ -n "$d" ] && [ -f "$d/schema/config-schema.json" ] && { echo "$d"; return; }
  done
  return 1
}

# rows [STATUS]: the table's rows (without comments), or those of STATUS.
rows () {
  grep -v '^#' "$TABLE" | awk -F'\t' -v s="${1:-}" 's == "" || $2 == s'
}

@test "spec-coverage: the table lists exactly the schema's properties, once each" {
  local spec
  spec=$(spec_dir) || skip "no runtime-spec copy (set CAPSA_TEST_SPEC_DIR)"
  command -v python3 >/dev/null || skip "python3 missing"
  python3 "$BATS_TEST_DIRNAME/spec-fields.py" "$spec/schema" | sort >"$BATS_TEST_TMPDIR/schema"
  [ -s "$BATS_TEST_TMPDIR/schema" ] || fail "spec-fields.py found no properties"
  rows | cut -f1 | sort >"$BATS_TEST_TMPDIR/table"
  run comm -3 "$BATS_TEST_TMPDIR/schema" "$BATS_TEST_TMPDIR/table"
  [ -z "$output" ] || fail "schema (left) and spec-coverage.tsv (right) differ:
$output"
  run uniq -d "$BATS_TEST_TMPDIR/table"
  [ -z "$output" ] || fail "listed twice: $output"
}

@test "spec-coverage: every row is well formed; each applied row names a test that exists" {
  local path status what filter extra bad=0
  grep -h -o '^@test ".*" {$' "$BATS_TEST_DIRNAME"/*.bats | sed 's/^@test "//; s/" {$//' \
    >"$BATS_TEST_TMPDIR/tests"
  while IFS=$'\t' read -r path status what filter extra; do
    [ -n "$path" ] && [ -n "$what" ] && [ -z "$extra" ] || { echo "malformed row: $path" >&2; bad=1; continue; }
    case $status in
    applied)
      grep -qxF -- "$what" "$BATS_TEST_TMPDIR/tests" || { echo "$path: no test named \"$what\"" >&2; bad=1; } ;;
    refused) [ -n "$filter" ] || { echo "$path: refused without a jq filter" >&2; bad=1; } ;;
    *) echo "$path: unknown status \"$status\"" >&2; bad=1 ;;
    esac
  done < <(rows)
  [ "$bad" -eq 0 ]
}

@test "spec-coverage: each refused field fails create with its error, naming config.json" {
  local path status what filter
  set_args true
  cp "$BUNDLE/config.json" "$BATS_TEST_TMPDIR/config.base"
  while IFS=$'\t' read -r path status what filter; do
    jq "$filter" "$BATS_TEST_TMPDIR/config.base" >"$BUNDLE/config.json" || fail "$path: bad filter"
    run_bg create -b "$BUNDLE" ctr
    [ "$status" -eq 1 ] || fail "$path: create exited $status (expected 1): $stderr"
    assert_error_line "$stderr"
    [[ "$stderr" == *"$what"* ]] || fail "$path: expected \"$what\" in: $stderr"
  done < <(rows refused)
  cp "$BATS_TEST_TMPDIR/config.base" "$BUNDLE/config.json"
  assert_no_leftovers ctr
}
