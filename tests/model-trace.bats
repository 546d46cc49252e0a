#!/usr/bin/env bats
# model-trace.bats: the lifecycle model (tests/model/lifecycle.pml) kept honest against the real
# binary. Random interleavings of concurrent commands on one container id, each command SIGKILLed
# at a random fault point now and then (CAPSA_FAULT), run with CAPSA_TRACE_FILE: every state
# transition capsa records must be a row of tests/model/transitions.txt, the table `make
# check-model` checks the model against, and after each round delete --force leaves nothing.
#
# The interleavings come from a seed, printed on failure: CAPSA_MODEL_SEED=N replays one,
# CAPSA_MODEL_ROUNDS=N runs more rounds (default 8, about 15 s).

load helpers

setup () {
  capsa_setup
  # `run`'s workload ends by itself; a created container's waits for start
  set_args sleep 1
  TRACE=$BATS_TEST_TMPDIR/trace
  TABLE=$BATS_TEST_DIRNAME/model/transitions.txt
}

teardown () {
  capsa_teardown
}

# The fault points (src/libcapsa: capsa_fault_point) of the commands the rounds run.
POINTS=(create:after-state-dir create:after-cgroup-plan create:after-cgroup create:after-exec-fifo
  create:after-clone create:after-mounts create:after-state-pid create:after-created
  start:after-fifo-rename start:after-fifo-open start:after-state-write run:after-create
  run:after-start run:after-exit delete:after-kill delete:after-cgroup state:before-rmdir
  exec:after-fork exec:after-cgroup exec:after-start init:after-mounts init:after-start)
CMDS=(create create run start start kill pause resume delete delete-force exec)

# pick_command ID: sets FAULT, DELAY and ARGS to a random command of a round (picked in the
# test's shell, not in the background job: a subshell's RANDOM is reseeded).
pick_command () {
  local id=$1 c=${CMDS[RANDOM % ${#CMDS[@]}]}
  FAULT=
  ((RANDOM % 4 != 0)) || FAULT=${POINTS[RANDOM % ${#POINTS[@]}]}
  # a small random delay shifts the interleaving
  DELAY=0.0$((RANDOM % 10))
  case $c in
  create) ARGS=(create -b "$BUNDLE" "$id") ;;
  run) ARGS=(run -b "$BUNDLE" "$id") ;;
  kill) ARGS=(kill "$id" KILL) ;;
  delete-force) ARGS=(delete --force "$id") ;;
  exec) ARGS=(exec "$id" true) ;;
  *) ARGS=("$c" "$id") ;;
  esac
  echo "  ${FAULT:+CAPSA_FAULT=$FAULT }capsa ${ARGS[*]}" >>"$BATS_TEST_TMPDIR/log"
}

# traced OUTFILE FAULT DELAY ARGS...: capsa ARGS after DELAY, with the trace on and maybe a fault.
traced () {
  local out=$1 fault=$2
  sleep "$3"
  shift 3
  # bounded: a `run` whose workload another command paused waits until it is killed
  CAPSA_TEST_TIMEOUT=4 CAPSA_FAULT=$fault CAPSA_TRACE_FILE=$TRACE capsa "$@" </dev/null >"$out" 2>&1 || true
}

# check_trace: every line of $TRACE is a row of the table; prints the offending lines.
check_trace () {
  local from to cmd id bad=0
  while read -r from to cmd id; do
    [ "$cmd" != delete-force ] || cmd=delete
    if ! grep -q -x -F "$from $to $cmd" "$TABLE"; then
      echo "transition not in the model: $from -> $to by $cmd ($id)"
      bad=1
    fi
  done <"$TRACE"
  return $bad
}

@test "model-trace: every transition capsa makes under random interleavings and faults is one the model has" {
  local seed=${CAPSA_MODEL_SEED:-$((RANDOM * 32768 + RANDOM))} rounds=${CAPSA_MODEL_ROUNDS:-8}
  local r n k pids id
  RANDOM=$seed
  : >"$TRACE"
  for ((r = 1; r <= rounds; r++)); do
    id=model-$r
    echo "round $r (at ${SECONDS}s):" >>"$BATS_TEST_TMPDIR/log"
    # sometimes the container exists before the round
    if ((RANDOM % 2)); then
      CAPSA_TRACE_FILE=$TRACE capsa create -b "$BUNDLE" "$id" </dev/null >/dev/null 2>&1 || true
      echo "  capsa create (before)" >>"$BATS_TEST_TMPDIR/log"
    fi
    pids=()
    k=$((2 + RANDOM % 2))
    for ((n = 1; n <= k; n++)); do
      pick_command "$id"
      traced "$BATS_TEST_TMPDIR/out.$n" "$FAULT" "$DELAY" "${ARGS[@]}" &
      pids+=($!)
    done
    wait "${pids[@]}"
    # after any interleaving and a crash: delete --force removes everything
    CAPSA_TRACE_FILE=$TRACE capsa delete --force "$id" </dev/null >"$OUT" 2>&1 || {
      cat "$BATS_TEST_TMPDIR/log" "$OUT"
      fail "seed $seed: round $r: delete --force $id failed"
    }
    [ ! -e "$ROOT/$id" ] || {
      cat "$BATS_TEST_TMPDIR/log"
      fail "seed $seed: round $r: delete --force left $ROOT/$id"
    }
  done
  # the hook is there: the rounds make transitions (every round ends with a container deleted
  # or none there, and the first creates succeed)
  [ -s "$TRACE" ] || fail "seed $seed: CAPSA_TRACE_FILE stayed empty: no transition recorded"
  run check_trace
  if [ "$status" -ne 0 ]; then
    cat "$BATS_TEST_TMPDIR/log"
    echo "$output"
    fail "seed $seed: capsa made transitions the model does not have (CAPSA_MODEL_SEED=$seed replays it)"
  fi
  [ -z "${CAPSA_MODEL_VERBOSE:-}" ] || sed "s/^/# /" "$BATS_TEST_TMPDIR/log" "$TRACE" >&3
  echo "# seed $seed: $(wc -l <"$TRACE") transitions, $(sort -u -k1,3 "$TRACE" | cut -d' ' -f1-3 | sort -u | wc -l) distinct" >&3
}

@test "model-trace: the trace records create, start, pause, resume, kill and delete as the table names them" {
  CAPSA_TRACE_FILE=$TRACE capsa create -b "$BUNDLE" ctr </dev/null >/dev/null
  CAPSA_TRACE_FILE=$TRACE capsa pause ctr
  CAPSA_TRACE_FILE=$TRACE capsa resume ctr
  CAPSA_TRACE_FILE=$TRACE capsa start ctr
  CAPSA_TRACE_FILE=$TRACE capsa kill ctr KILL
  wait_status ctr stopped
  CAPSA_TRACE_FILE=$TRACE capsa delete ctr
  run cut -d' ' -f1-3 "$TRACE"
  # kill: the init may or may not be gone when kill looks again (then delete sees it stopped)
  [ "${lines[0]}" = "none creating create" ]
  [ "${lines[1]}" = "creating created create" ]
  [ "${lines[2]}" = "created paused pause" ]
  [ "${lines[3]}" = "paused created resume" ]
  [ "${lines[4]}" = "created running start" ]
  [ "${lines[-1]}" = "stopped none delete" ]
  run check_trace
  assert_success
  # unset, nothing is written
  rm -f "$TRACE"
  capsa create -b "$BUNDLE" ctr2 </dev/null >/dev/null
  capsa delete --force ctr2
  [ ! -e "$TRACE" ]
}

@test "model-trace: delete --force of a paused container kills it at once (its freezer is thawed)" {
  capsa create -b "$BUNDLE" ctr </dev/null >/dev/null
  capsa pause ctr
  [ "$(state_of ctr)" = paused ]
  SECONDS=0
  run_capsa delete --force ctr
  assert_success
  # the frozen init cannot die of SIGKILL until thawed: without the thaw, delete waited 5 s and
  # warned
  refute_output --partial "did not die"
  [ "$SECONDS" -lt 3 ] || fail "delete --force of a paused container took ${SECONDS}s"
  [ ! -e "$ROOT/ctr" ]
}

@test "model-trace: a foreground run whose container was deleted leaves the id's new container alone" {
  set_args sleep 30
  # (the binary itself, not the timeout-bounded `capsa`: $! must be the runtime's pid)
  "$CAPSA" --root "$ROOT" run -b "$BUNDLE" ctr </dev/null >"$OUT" 2>&1 3>&- &
  local run=$!
  wait_status ctr running
  # stop the runtime, replace its container by another of the same id, let it go on: it sees its
  # workload's exit and must not delete the new container (tests/model: run-deletes-any)
  kill -STOP "$run"
  capsa delete --force ctr
  capsa create -b "$BUNDLE" ctr </dev/null >/dev/null
  local pid
  pid=$(pid_of ctr)
  kill -CONT "$run"
  wait "$run" || true
  [ "$(state_of ctr)" = created ] || fail "the new container is $(state_of ctr 2>&1), not created"
  [ "$(pid_of ctr)" = "$pid" ]
  capsa delete --force ctr
}

@test "model-trace: start renames the exec fifo away before it opens it (killed there: running, then deleted)" {
  capsa create -b "$BUNDLE" ctr </dev/null >/dev/null
  CAPSA_FAULT=start:after-fifo-rename run_bg start ctr
  [ "$status" -eq 137 ] || fail "start with the fault: exit $status, not 137: $stderr"
  # the fifo is gone by name: `state` no longer says created, though the workload never ran
  [ "$(state_of ctr)" = running ]
  [ ! -e "$ROOT/ctr/exec.fifo" ]
  capsa delete --force ctr
  [ ! -e "$ROOT/ctr" ]
}

@test "model-trace: checkpoint and restore record the table's transitions" {
  # CRIU needs a kernel it supports: this runs in the Debian VM lane
  # (make check-debian-vm DEBIAN_VM_SUITES=model-trace DEBIAN_VM_FILTER=checkpoint)
  local out
  command -v criu >/dev/null || skip "CRIU not installed (apt-get install criu)"
  out=$(criu check 2>&1) \
    || skip "CRIU cannot checkpoint on this kernel ($(uname -r)): $(echo "$out" | grep -m1 Error)"
  set_args sleep 60
  local img=$BATS_TEST_TMPDIR/img log=$BATS_TEST_TMPDIR/out-ctr
  CAPSA_TRACE_FILE=$TRACE capsa run -d -b "$BUNDLE" ctr </dev/null >>"$log" 2>&1
  wait_status ctr running
  # without --leave-running: CRIU kills the workload, the container is deleted
  CAPSA_TRACE_FILE=$TRACE capsa checkpoint --image-path "$img" ctr </dev/null >>"$log" 2>&1 \
    || fail "checkpoint: $(cat "$log")"
  [ ! -e "$ROOT/ctr" ]
  CAPSA_TRACE_FILE=$TRACE capsa restore -d -b "$BUNDLE" --image-path "$img" ctr </dev/null >>"$log" 2>&1 \
    || fail "restore: $(cat "$log")"
  [ "$(state_of ctr)" = running ]
  # with --leave-running: no transition
  CAPSA_TRACE_FILE=$TRACE capsa checkpoint --leave-running --image-path "$img.2" ctr </dev/null >>"$log" 2>&1 \
    || fail "checkpoint --leave-running: $(cat "$log")"
  [ "$(state_of ctr)" = running ]
  CAPSA_TRACE_FILE=$TRACE capsa delete --force ctr
  # in the foreground: restore waits for the workload (killed here) and deletes its container
  CAPSA_TRACE_FILE=$TRACE "$CAPSA" --root "$ROOT" restore -b "$BUNDLE" --image-path "$img.2" ctr \
    </dev/null >>"$log" 2>&1 3>&- &
  local restore=$!
  wait_status ctr running
  CAPSA_TRACE_FILE=$TRACE capsa kill ctr KILL
  wait "$restore" || true
  [ ! -e "$ROOT/ctr" ]
  run cut -d' ' -f1-3 "$TRACE"
  local want
  for want in "none creating run" "creating running run" "running stopped checkpoint" \
    "stopped none checkpoint" "none creating restore" "creating running restore" \
    "stopped none restore"; do
    printf '%s\n' "${lines[@]}" | grep -q -x -F "$want" || fail "no \"$want\" in the trace: ${lines[*]}"
  done
  run check_trace
  assert_success
}
