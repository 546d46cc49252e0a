#!/usr/bin/env bats
# lifecycle.bats: create/start/state/kill/delete, run exit codes, pid files, ids and locking.

load helpers

@test "create leaves the process waiting; start runs it; state follows created/running/stopped" {
  set_args sh -c 'echo started > /started; exec sleep 1000'
  capsa_bg create -b "$BUNDLE" ctr
  run_capsa state ctr
  assert_success
  local st=$output
  [ "$(echo "$st" | jq -r .status)" = created ]
  [ "$(echo "$st" | jq -r .id)" = ctr ]
  [ "$(echo "$st" | jq -r .bundle)" = "$BUNDLE" ]
  echo "$st" | jq -e '.ociVersion | test("^1\\.")'
  local pid
  pid=$(echo "$st" | jq -r .pid)
  [ "$pid" -gt 0 ]
  kill -0 "$pid"
  # the user process has not run yet
  sleep 0.3
  [ ! -e "$BUNDLE/rootfs/started" ]
  [ -d "$ROOT/ctr" ]

  run_capsa start ctr
  assert_success
  wait_for test -e "$BUNDLE/rootfs/started"
  wait_status ctr running
  [ "$(pid_of ctr)" = "$pid" ]
  # the container's pid 1 is now the user program
  wait_for grep -q '^sleep' "/proc/$pid/comm"

  run_capsa start ctr
  assert_failure

  capsa kill ctr KILL
  wait_status ctr stopped
  run_capsa state ctr
  assert_success
  [ "$(echo "$output" | jq -r .status)" = stopped ]

  run_capsa delete ctr
  assert_success
  [ ! -e "$ROOT/ctr" ]
  run_capsa state ctr
  assert_failure 1
  assert_output --partial ctr
}

@test "--pid-file holds the container's pid" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pidfile" ctr
  [ "$(cat "$BATS_TEST_TMPDIR/pidfile")" = "$(pid_of ctr)" ]
  kill -0 "$(cat "$BATS_TEST_TMPDIR/pidfile")"
  capsa delete --force ctr
}

@test "--pid-file with run -d" {
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pidfile" ctr
  [ "$(cat "$BATS_TEST_TMPDIR/pidfile")" = "$(pid_of ctr)" ]
  capsa delete --force ctr
}

@test "-f/--config selects another config file" {
  jq '.process.args = ["echo", "from-other-config"]' "$BUNDLE/config.json" >"$BATS_TEST_TMPDIR/other.json"
  set_args echo from-config-json
  run_capsa run -b "$BUNDLE" -f "$BATS_TEST_TMPDIR/other.json" ctr
  assert_success
  assert_output from-other-config
}

@test "run uses the current directory as the bundle by default" {
  set_args echo from-cwd
  cd "$BUNDLE"
  run_capsa run ctr
  assert_success
  assert_output from-cwd
}

@test "run prints the container's output and exits 0, removing the container" {
  set_args sh -c 'echo hello; echo to-stderr >&2'
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_success
  assert_output hello
  [ "$stderr" = to-stderr ]
  [ ! -e "$ROOT/ctr" ]
}

@test "run exits with the container's exit status" {
  set_args sh -c 'exit 42'
  run_capsa run -b "$BUNDLE" ctr
  assert_failure 42
  [ ! -e "$ROOT/ctr" ]
  set_args false
  run_capsa run -b "$BUNDLE" ctr
  assert_failure 1
}

@test "run exits 128+N when the container is killed by signal N" {
  # without a pid namespace, the shell is not an init and can die from its own SIGTERM
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  set_args sh -c 'kill -TERM $$; sleep 5'
  run_capsa run -b "$BUNDLE" ctr
  assert_failure 143
  set_args sh -c 'kill -KILL $$; sleep 5'
  run_capsa run -b "$BUNDLE" ctr
  assert_failure 137
  [ ! -e "$ROOT/ctr" ]
}

@test "run exits 137 when its container is killed from outside" {
  set_args sleep 1000
  capsa run -b "$BUNDLE" ctr </dev/null >"$OUT" 2>"$ERR" &
  local runner=$!
  wait_status ctr running
  capsa kill ctr KILL
  local rc=0
  wait "$runner" || rc=$?
  [ "$rc" -eq 137 ] || fail "run exited $rc, expected 137: $(cat "$ERR")"
  wait_for test ! -e "$ROOT/ctr"
}

@test "run --keep leaves the stopped container until delete" {
  set_args sh -c 'exit 3'
  run_capsa run --keep -b "$BUNDLE" ctr
  assert_failure 3
  [ -d "$ROOT/ctr" ]
  [ "$(state_of ctr)" = stopped ]
  run_capsa delete ctr
  assert_success
  [ ! -e "$ROOT/ctr" ]
}

@test "run -d returns while the container keeps running" {
  set_args sh -c 'echo detached-output; exec sleep 1000'
  local t0=$SECONDS
  capsa_bg run -d -b "$BUNDLE" ctr
  [ $((SECONDS - t0)) -lt 10 ]
  [ "$(state_of ctr)" = running ]
  kill -0 "$(pid_of ctr)"
  wait_for grep -q detached-output "$OUT"
  capsa delete --force ctr
  [ ! -e "$ROOT/ctr" ]
}

@test "kill sends a signal given by name, SIG-name or number" {
  local sig
  for sig in TERM SIGTERM 15 term; do
    set_args sh -c 'trap "echo got-term > /sig; exit 7" TERM; while :; do sleep 0.1; done'
    rm -f "$BUNDLE/rootfs/sig"
    capsa_bg run -d -b "$BUNDLE" ctr
    run_capsa kill ctr "$sig"
    assert_success
    wait_status ctr stopped
    [ "$(cat "$BUNDLE/rootfs/sig")" = got-term ] || fail "signal $sig did not arrive"
    capsa delete ctr
  done
}

@test "kill defaults to SIGTERM" {
  set_args sh -c 'trap "echo got-term > /sig; exit 0" TERM; while :; do sleep 0.1; done'
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa kill ctr
  assert_success
  wait_status ctr stopped
  [ "$(cat "$BUNDLE/rootfs/sig")" = got-term ]
  capsa delete ctr
}

@test "kill USR1 by number reaches the handler and the container keeps running" {
  set_args sh -c 'trap "echo got-usr1 >> /sig" USR1; while :; do sleep 0.1; done'
  capsa_bg run -d -b "$BUNDLE" ctr
  capsa kill ctr 10
  wait_for grep -q got-usr1 "$BUNDLE/rootfs/sig"
  [ "$(state_of ctr)" = running ]
  capsa delete --force ctr
}

@test "kill --all reaches every process of the container" {
  set_args sh -c 'sleep 1000 & sleep 1000 & wait; wait; exit 0'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for eval '[ "$(marked_pids | wc -l)" -ge 3 ]'
  # SIGTERM to the pid-namespace init alone is ignored (no handler): the children stay
  capsa kill ctr TERM
  sleep 0.5
  [ "$(state_of ctr)" = running ]
  [ "$(marked_pids | wc -l)" -ge 3 ]
  run_capsa kill --all ctr TERM
  assert_success
  wait_status ctr stopped
  wait_for eval '[ -z "$(marked_pids)" ]'
  capsa delete ctr
}

@test "kill on a missing container fails" {
  run --separate-stderr capsa kill nope KILL
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *nope* ]]
}

@test "delete refuses a running container; delete --force kills and removes it" {
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  run_capsa delete ctr
  assert_failure 1
  [ -d "$ROOT/ctr" ]
  kill -0 "$pid"
  run_capsa delete --force ctr
  assert_success
  [ ! -e "$ROOT/ctr" ]
  wait_for eval "! kill -0 $pid 2>/dev/null"
}

@test "delete --force on a created container" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  run_capsa delete --force ctr
  assert_success
  [ ! -e "$ROOT/ctr" ]
  wait_for eval "! kill -0 $pid 2>/dev/null"
}

@test "delete --force succeeds on an already-gone container" {
  run_capsa delete --force never-existed
  assert_success
  run --separate-stderr capsa delete never-existed
  assert_failure 1
  [[ "$stderr" == *never-existed* ]]
  # and on one whose process died behind capsa's back
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  kill -9 "$(pid_of ctr)"
  wait_status ctr stopped
  run_capsa delete --force ctr
  assert_success
  [ ! -e "$ROOT/ctr" ]
}

@test "a duplicate id is refused and the first container is untouched" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  run_bg create -b "$BUNDLE" ctr </dev/null
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *ctr* && "$stderr" == *exist* ]]
  [ "$(pid_of ctr)" = "$pid" ]
  [ "$(state_of ctr)" = created ]
  # exactly one container process
  [ "$(marked_pids | wc -l)" -eq 0 ] || [ "$(marked_pids | wc -l)" -eq 1 ]
  kill -0 "$pid"
  capsa delete --force ctr
}

@test "invalid ids are refused without creating anything" {
  local id
  for id in ../escape a/b . .. "" "with space" -dash $'nl\nid' "$(printf 'x%.0s' {1..1100})"; do
    run_bg create -b "$BUNDLE" -- "$id" </dev/null
    assert_failure
    [ -n "$stderr" ] || fail "no error for id '$id'"
  done
  [ ! -e "$BATS_TEST_TMPDIR/escape" ]
  [ -z "$(ls -A "$ROOT" 2>/dev/null | grep -v -E '\.lock$|^lock')" ] || fail "state left: $(ls -A "$ROOT")"
  assert_no_leftovers
}

@test "valid unusual ids work" {
  local id
  for id in a A9 x.y_z+w-1 "$(printf 'y%.0s' {1..200})"; do
    set_args true
    run_capsa run -b "$BUNDLE" "$id"
    assert_success
    [ ! -e "$ROOT/$id" ]
  done
}

@test "concurrent creates of one id: exactly one wins" {
  set_args sleep 1000
  local i
  local pids=() p
  for i in 1 2 3 4 5 6; do
    capsa create -b "$BUNDLE" ctr </dev/null >"$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
    pids+=($!)
  done
  local ok=0
  for p in "${pids[@]}"; do
    if wait "$p"; then ok=$((ok + 1)); fi
  done
  [ "$ok" -eq 1 ] || fail "$ok creates succeeded: $(cat "$BATS_TEST_TMPDIR"/c*.out)"
  [ "$(state_of ctr)" = created ]
  [ "$(marked_pids | wc -l)" -le 1 ]
  capsa delete --force ctr
}

@test "concurrent state, kill and delete on one container are serialized" {
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local i pids=()
  for i in 1 2 3 4 5 6 7 8; do
    (capsa state ctr >"$BATS_TEST_TMPDIR/s$i.out" 2>"$BATS_TEST_TMPDIR/s$i.err"; echo $? >"$BATS_TEST_TMPDIR/s$i.rc") &
    pids+=($!)
  done
  (capsa delete --force ctr >"$BATS_TEST_TMPDIR/d.out" 2>&1; echo $? >"$BATS_TEST_TMPDIR/d.rc") &
  pids+=($!)
  (capsa kill ctr KILL >/dev/null 2>&1) &
  pids+=($!)
  # only these: bats keeps a background timer of its own
  wait "${pids[@]}" || true
  [ "$(cat "$BATS_TEST_TMPDIR/d.rc")" = 0 ] || fail "delete --force failed: $(cat "$BATS_TEST_TMPDIR/d.out")"
  [ ! -e "$ROOT/ctr" ]
  # every state call saw either a whole state document or a clean "does not exist" error
  for i in 1 2 3 4 5 6 7 8; do
    if [ "$(cat "$BATS_TEST_TMPDIR/s$i.rc")" = 0 ]; then
      jq -e '.id == "ctr"' "$BATS_TEST_TMPDIR/s$i.out" >/dev/null || fail "torn state: $(cat "$BATS_TEST_TMPDIR/s$i.out")"
    else
      grep -q '^capsa: .*ctr' "$BATS_TEST_TMPDIR/s$i.err" || fail "state error: $(cat "$BATS_TEST_TMPDIR/s$i.err")"
    fi
  done
}

@test "--no-new-keyring and --no-pivot are accepted by run and create" {
  set_args cat /proc/self/stat
  run_capsa run --no-new-keyring -b "$BUNDLE" ctr
  assert_success
  # the program is pid 1 of its own pid namespace
  [[ "$output" == "1 (cat) "* ]]
  set_args sleep 1000
  capsa_bg create --no-new-keyring --no-pivot -b "$BUNDLE" ctr
  [ "$(state_of ctr)" = created ]
  capsa delete --force ctr
}
