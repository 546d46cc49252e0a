#!/usr/bin/env bats
# signals.bats: `capsa run` in the foreground forwards signals to the container process, exits with
# its status (128+N when a signal ends it), and as a subreaper reaps the orphans it inherits.

load helpers

# run_fg ARGS...: `capsa run ARGS` in the background of the test (not through `timeout`, so that
# signals reach capsa itself); sets RUN_PID. The container's stdout goes to $OUT. A background job
# of a script starts with SIGINT and SIGQUIT ignored, and an ignored signal stays ignored across
# execve (in capsa and in the container, as with runc): env restores what a foreground command
# started from a terminal has.
run_fg () {
  env --default-signal=INT,QUIT "$CAPSA" --root "$ROOT" run "$@" </dev/null >"$OUT" 2>"$ERR" 3>&- &
  RUN_PID=$!
  defer "kill -9 $RUN_PID"
}

# wait_fg: wait (at most 20 s) for the backgrounded run; sets $status.
wait_fg () {
  local i
  for ((i = 0; i < 400; i++)); do
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$RUN_PID" 2>/dev/null && fail "capsa run did not exit: $(cat "$OUT" "$ERR")"
  status=0
  wait "$RUN_PID" || status=$?
}

# ready: the container printed "ready" (its traps are set).
ready () {
  wait_for grep -q '^ready$' "$OUT" || fail "the container never got ready: $(cat "$OUT" "$ERR")"
}

# trap_script: a shell that prints the name of each signal it gets and exits 10 + its position in
# the list; `wait` on a background sleep lets the trap run at once.
trap_script () {
  local s i=0 script=
  for s in INT TERM HUP QUIT USR1 USR2 WINCH ALRM CONT; do
    script+="trap 'echo got $s; exit $((10 + i))' $s; "
    i=$((i + 1))
  done
  set_args sh -c "$script echo ready; while :; do sleep 1 & wait \$!; done"
}

# forwards SIG CODE: SIG sent to capsa run reaches the container's shell, which exits with CODE.
forwards () {
  trap_script
  run_fg -b "$BUNDLE" ctr
  ready
  kill -s "$1" "$RUN_PID"
  wait_fg
  grep -q "^got $1\$" "$OUT" || fail "the container did not get SIG$1: $(cat "$OUT" "$ERR")"
  [ "$status" -eq "$2" ] || fail "capsa run exited $status, not $2: $(cat "$ERR")"
  assert_no_leftovers ctr
}

@test "run forwards SIGINT" {
  forwards INT 10
}

@test "run forwards SIGTERM" {
  forwards TERM 11
}

@test "run forwards SIGHUP" {
  forwards HUP 12
}

@test "run forwards SIGQUIT" {
  forwards QUIT 13
}

@test "run forwards SIGUSR1" {
  forwards USR1 14
}

@test "run forwards SIGUSR2" {
  forwards USR2 15
}

@test "run forwards SIGWINCH" {
  forwards WINCH 16
}

@test "run forwards SIGALRM" {
  forwards ALRM 17
}

@test "several signals in a row all arrive, in order" {
  set_args sh -c "trap 'echo got USR1' USR1; trap 'echo got USR2' USR2; trap 'echo got HUP; exit 3' HUP; echo ready; while :; do sleep 1 & wait \$!; done"
  run_fg -b "$BUNDLE" ctr
  ready
  kill -s USR1 "$RUN_PID"
  wait_for grep -q '^got USR1$' "$OUT"
  kill -s USR2 "$RUN_PID"
  wait_for grep -q '^got USR2$' "$OUT"
  kill -s HUP "$RUN_PID"
  wait_fg
  [ "$status" -eq 3 ] || fail "exit $status"
  [ "$(grep '^got' "$OUT" | paste -sd' ' -)" = "got USR1 got USR2 got HUP" ] || fail "$(cat "$OUT")"
}

@test "an untrapped SIGTERM ends the process: run exits 143" {
  # without a pid namespace: the process is no namespace init, which would ignore it
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  set_args sh -c 'echo ready; exec sleep 600'
  run_fg -b "$BUNDLE" ctr
  ready
  kill -s TERM "$RUN_PID"
  wait_fg
  [ "$status" -eq 143 ] || fail "capsa run exited $status, not 143: $(cat "$ERR")"
  assert_no_leftovers ctr
}

@test "an untrapped SIGINT ends the process: run exits 130" {
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  set_args sh -c 'echo ready; exec sleep 600'
  run_fg -b "$BUNDLE" ctr
  ready
  kill -s INT "$RUN_PID"
  wait_fg
  [ "$status" -eq 130 ] || fail "capsa run exited $status, not 130: $(cat "$ERR")"
  assert_no_leftovers ctr
}

@test "a signal that arrives while the container is being created is delivered after start" {
  # a createRuntime hook holds create until the signal has been sent; no pid namespace, so the
  # process is no namespace init (which would drop a signal it has no handler for yet)
  cfg '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", $s, $a, $b]}]
      | .linux.namespaces |= map(select(.type != "pid"))' \
    --arg s 'touch "$0"; while [ ! -e "$1" ]; do sleep 0.05; done' \
    --arg a "$BATS_TEST_TMPDIR/in-hook" --arg b "$BATS_TEST_TMPDIR/sent"
  set_args sleep 600
  run_fg -b "$BUNDLE" ctr
  wait_for test -e "$BATS_TEST_TMPDIR/in-hook"
  kill -s USR1 "$RUN_PID"
  touch "$BATS_TEST_TMPDIR/sent"
  wait_fg
  # the container's sleep died of it (capsa itself dying of it would leave the container)
  [ "$status" -eq 138 ] || fail "capsa run exited $status, not 138: $(cat "$OUT" "$ERR")"
  assert_no_leftovers ctr
}

# orphan_parent: the pid of the container's `sleep 1` (an orphan once its subshell exited) and
# its parent, as "PID PPID".
orphan_parent () {
  local p
  for p in $(marked_pids); do
    if [ "$(tr '\0' ' ' <"/proc/$p/cmdline")" = "sleep 1 " ]; then
      echo "$p $(awk '/^PPid:/ {print $2}' "/proc/$p/status")"
      return 0
    fi
  done
  return 1
}

# zombies_of PID: zombie children of PID.
zombies_of () {
  local s
  for s in /proc/[0-9]*/stat; do
    awk -v p="$1" '{ sub(/^.*\) /, ""); if ($1 == "Z" && $2 == p) print FILENAME }' "$s" 2>/dev/null
  done
  return 0
}

@test "run is a subreaper: the container's orphans are reparented to it and reaped" {
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  # the subshell exits at once, leaving `sleep 1` an orphan; the shell itself lives on until
  # the test sends it SIGTERM (not a fixed time: a loaded machine made the checks outlast it)
  set_args sh -c 'trap "exit 0" TERM; (sleep 1 &); echo ready; while :; do sleep 0.2; done'
  run_fg -b "$BUNDLE" ctr
  ready
  local op
  op=$(wait_for orphan_parent) || fail "no orphan found"
  [ "${op#* }" = "$RUN_PID" ] || fail "the orphan's parent is ${op#* }, not capsa run ($RUN_PID)"
  # once it exits, capsa run reaps it: no zombie stays while the container runs
  wait_for eval '! [ -d "/proc/${op% *}" ]' || fail "the orphan ${op% *} stays (a zombie?)"
  [ -z "$(zombies_of "$RUN_PID")" ]
  kill -0 "$RUN_PID" || fail "capsa run ended before the checks"
  kill -TERM "$RUN_PID"
  wait_fg
  [ "$status" -eq 0 ] || fail "exit $status: $(cat "$ERR")"
  assert_no_leftovers ctr
}

@test "run --no-subreaper: orphans are not reparented to capsa" {
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  set_args sh -c '(sleep 1 &); echo ready; sleep 1.3'
  run_fg --no-subreaper -b "$BUNDLE" ctr
  ready
  local op
  op=$(wait_for orphan_parent) || fail "no orphan found"
  [ "${op#* }" != "$RUN_PID" ] || fail "the orphan was reparented to capsa run"
  wait_fg
  [ "$status" -eq 0 ] || fail "exit $status: $(cat "$ERR")"
  wait_for eval '[ -z "$(marked_pids)" ]'
  assert_no_leftovers ctr
}
