#!/usr/bin/env bats
# valgrind.bats: memcheck finds no memory error and no definite or indirect leak in capsa's own
# process for each command of a busybox container's life, its error paths included.
#
# Only the process the caller started is checked: --trace-children=no leaves the container's
# programs to run natively, and --child-silent-after-fork=yes keeps the forked container init
# and exec children (which end in execve or _exit) out of the report and of the exit status.
# Under valgrind capsa runs from its own file, not from the sealed copy (see cloned-binary.c).

load helpers

setup () {
  capsa_setup
  command -v valgrind >/dev/null || skip "valgrind missing (apt-get install valgrind)"
  # valgrind lets the client set RLIMIT_NOFILE's hard limit only to the one it reserved for it,
  # so the spec's 1024 would fail with EPERM; the limits are the container init's, not the
  # parent's, work anyway
  cfg 'del(.process.rlimits)'
  VG_N=0
}

teardown () {
  capsa_teardown
}

# vg ARGS...: capsa ARGS under memcheck, stdio through $OUT / $ERR (a detached container must
# not hold bats' pipes); sets $status, $output, $stderr, and fails on any valgrind error or
# definite/indirect leak, showing valgrind's report.
vg () {
  local log=$BATS_TEST_TMPDIR/valgrind-$((++VG_N)).log
  status=0
  timeout --foreground -k 5 120 valgrind --tool=memcheck --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --num-callers=16 --error-exitcode=99 --trace-children=no --child-silent-after-fork=yes --log-file="$log" \
    "$CAPSA" --root "$ROOT" "$@" </dev/null >"$OUT" 2>"$ERR" 3>&- || status=$?
  output=$(cat "$OUT")
  stderr=$(cat "$ERR")
  [ "$status" -ne 99 ] || fail "valgrind: errors or leaks in \`capsa $*\`: $(cat "$log")"
  # the report's last line is the parent's summary: valgrind really ran capsa, and found nothing
  grep -q 'ERROR SUMMARY: 0 errors from 0 contexts' "$log" \
    || fail "valgrind: no clean summary for \`capsa $*\` (status $status, stderr: $stderr): $(cat "$log")"
}

@test "valgrind: run in the foreground" {
  set_args sh -c 'echo hello-from-run; exit 3'
  vg run -b "$BUNDLE" ctr
  [ "$status" -eq 3 ] || fail "run: status $status, stderr: $stderr"
  assert_equal "$output" hello-from-run
  assert_no_leftovers ctr
}

@test "valgrind: create, start, state, list, ps, pause, resume, update, exec, kill, delete" {
  set_args sleep 1000
  vg create -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "create: status $status, stderr: $stderr"
  vg start ctr
  [ "$status" -eq 0 ] || fail "start: status $status, stderr: $stderr"
  vg state ctr
  [ "$status" -eq 0 ] || fail "state: status $status, stderr: $stderr"
  assert_equal "$(jq -r .status <<<"$output")" running
  vg list --format json
  assert_equal "$(jq -r '.[0].id' <<<"$output")" ctr
  vg ps --format json ctr
  [ "$status" -eq 0 ] || fail "ps: status $status, stderr: $stderr"
  [ "$(jq length <<<"$output")" -ge 1 ]
  vg pause ctr
  [ "$status" -eq 0 ] || fail "pause: status $status, stderr: $stderr"
  assert_equal "$(state_of ctr)" paused
  vg resume ctr
  [ "$status" -eq 0 ] || fail "resume: status $status, stderr: $stderr"
  assert_equal "$(state_of ctr)" running
  vg update --pids-limit 50 ctr
  [ "$status" -eq 0 ] || fail "update: status $status, stderr: $stderr"
  vg exec ctr sh -c 'echo hello-from-exec; exit 4'
  [ "$status" -eq 4 ] || fail "exec: status $status, stderr: $stderr"
  assert_equal "$output" hello-from-exec
  vg kill ctr KILL
  [ "$status" -eq 0 ] || fail "kill: status $status, stderr: $stderr"
  wait_status ctr stopped
  vg delete ctr
  [ "$status" -eq 0 ] || fail "delete: status $status, stderr: $stderr"
  assert_no_leftovers ctr
}

@test "valgrind: run -d, delete --force of a running container" {
  set_args sleep 1000
  vg run -d -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "run -d: status $status, stderr: $stderr"
  assert_equal "$(state_of ctr)" running
  vg delete --force ctr
  [ "$status" -eq 0 ] || fail "delete --force: status $status, stderr: $stderr"
  assert_no_leftovers ctr
}

@test "valgrind: error paths (bad bundle, unknown container, exec that cannot start)" {
  vg create -b "$BATS_TEST_TMPDIR/no-such-bundle" ctr
  [ "$status" -ne 0 ]
  assert_error_line "$stderr"
  cfg '.process.args = ["/no/such/program"]'
  vg run -b "$BUNDLE" ctr
  [ "$status" -ne 0 ] || fail "run of a missing program succeeded"
  assert_no_leftovers ctr
  for cmd in state pause delete; do
    vg "$cmd" no-such-ctr
    [ "$status" -ne 0 ] || fail "$cmd of an unknown container succeeded"
  done
  cfg '.process.args = ["sleep", "1000"]'
  vg run -d -b "$BUNDLE" ctr2
  [ "$status" -eq 0 ] || fail "run -d: status $status, stderr: $stderr"
  vg exec --cwd /no/such/dir ctr2 true
  [ "$status" -ne 0 ] || fail "exec with a missing cwd succeeded"
  vg update --memory nonsense ctr2
  [ "$status" -ne 0 ] || fail "update with a bad value succeeded"
  capsa delete --force ctr2
  assert_no_leftovers ctr ctr2
}
