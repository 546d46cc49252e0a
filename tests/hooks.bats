#!/usr/bin/env bats
# hooks.bats: every hook kind: order, state on stdin, args, env, namespaces, timeout and failures.

load helpers

# The host-side hook: records "<kind> <args...> env=<HOOK_ENV>" to $HOOKDIR/log, its state in
# $HOOKDIR/state.<kind> and its namespaces in $HOOKDIR/ns.<kind>; exits with $HOOK_EXIT.
setup () {
  capsa_setup
  HOOKDIR=$BATS_TEST_TMPDIR/hooks
  mkdir -p "$HOOKDIR"
  HOOK=$BATS_TEST_TMPDIR/hook.sh
  cat >"$HOOK" <<'EOF'
#!/bin/sh
kind=$1
shift
cat >"$HOOKDIR/state.$kind"
echo "$kind $* env=$HOOK_ENV" >>"$HOOKDIR/log"
readlink /proc/self/ns/mnt /proc/self/ns/uts >"$HOOKDIR/ns.$kind"
[ -n "$HOOK_SLEEP" ] && exec sleep "$HOOK_SLEEP"
exit "${HOOK_EXIT:-0}"
EOF
  chmod +x "$HOOK"
  # the container sees $HOOKDIR as /hooks, for the startContainer hook that runs inside it
  cfg '.mounts += [{destination: "/hooks", type: "bind", source: $d, options: ["rbind"]}]' --arg d "$HOOKDIR"
}

# hook_json KIND [EXIT [TIMEOUT [SLEEP]]]: a host-side hook entry.
hook_json () {
  jq -cn --arg p "$HOOK" --arg k "$1" --arg d "$HOOKDIR" --arg e "${2:-0}" --arg s "${4:-}" \
    --arg m "$MARK" --argjson t "${3:-null}" \
    '{path: $p, args: ["hook.sh", $k, "arg-a", "arg b"],
      env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOOKDIR=" + $d, "HOOK_ENV=env-" + $k, "HOOK_EXIT=" + $e,
            "HOOK_SLEEP=" + $s, "CAPSA_TEST_MARK=" + $m]}
     + (if $t == null then {} else {timeout: $t} end)'
}

# add_hook KIND JSON
add_hook () {
  cfg '.hooks[$k] = ((.hooks[$k] // []) + [$h])' --arg k "$1" --argjson h "$2"
}

# The startContainer hook resolves and runs inside the container.
start_container_hook () {
  jq -cn --arg e "${1:-0}" --arg m "$MARK" \
    '{path: "/bin/sh", args: ["sh", "-c", "cat > /hooks/state.startContainer; echo \"startContainer arg-a arg b env=$HOOK_ENV\" >> /hooks/log; { readlink /proc/self/ns/mnt; readlink /proc/self/ns/uts; } > /hooks/ns.startContainer; exit $HOOK_EXIT"],
      env: ["HOOK_ENV=env-startContainer", "HOOK_EXIT=" + $e, "CAPSA_TEST_MARK=" + $m]}'
}

@test "all hooks run in order with args, env and the state on stdin" {
  local k
  for k in prestart createRuntime createContainer poststart poststop; do
    add_hook "$k" "$(hook_json "$k")"
  done
  add_hook startContainer "$(start_container_hook)"
  set_args sh -c 'echo process >> /hooks/log'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  run cat "$HOOKDIR/log"
  local want
  want=$(printf '%s\n' 'prestart arg-a arg b env=env-prestart' 'createRuntime arg-a arg b env=env-createRuntime' \
    'createContainer arg-a arg b env=env-createContainer' 'startContainer arg-a arg b env=env-startContainer')
  # the process and poststart run concurrently; poststop comes last
  [ "$(head -n 4 "$HOOKDIR/log")" = "$want" ] || fail "hook order: $(cat "$HOOKDIR/log")"
  [ "$(tail -n 1 "$HOOKDIR/log")" = 'poststop arg-a arg b env=env-poststop' ] || fail "$(cat "$HOOKDIR/log")"
  grep -qx 'poststart arg-a arg b env=env-poststart' "$HOOKDIR/log"
  grep -qx process "$HOOKDIR/log"
  [ "$(wc -l <"$HOOKDIR/log")" -eq 7 ]
  for k in prestart createRuntime createContainer startContainer poststart poststop; do
    jq -e --arg b "$BUNDLE" '.id == "ctr" and .bundle == $b and (.ociVersion | length > 0)
        and (.status | IN("creating", "created", "running", "stopped"))' "$HOOKDIR/state.$k" >/dev/null ||
      fail "state for $k: $(cat "$HOOKDIR/state.$k")"
  done
  for k in prestart createRuntime createContainer startContainer poststart; do
    jq -e '.pid > 0' "$HOOKDIR/state.$k" >/dev/null || fail "no pid for $k: $(cat "$HOOKDIR/state.$k")"
  done
  jq -e '.status == "stopped"' "$HOOKDIR/state.poststop" >/dev/null
}

@test "hooks run in the namespaces the spec names" {
  local k host_ns
  host_ns=$(readlink /proc/self/ns/mnt /proc/self/ns/uts)
  for k in prestart createRuntime createContainer poststart; do
    add_hook "$k" "$(hook_json "$k")"
  done
  add_hook startContainer "$(start_container_hook)"
  set_args true
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  # runtime namespace
  for k in prestart createRuntime poststart; do
    [ "$(cat "$HOOKDIR/ns.$k")" = "$host_ns" ] || fail "$k not in the runtime namespace: $(cat "$HOOKDIR/ns.$k")"
  done
  # container namespace
  for k in createContainer startContainer; do
    [ "$(sed -n 1p "$HOOKDIR/ns.$k")" != "$(echo "$host_ns" | sed -n 1p)" ] || fail "$k in the host mount namespace"
    [ "$(sed -n 2p "$HOOKDIR/ns.$k")" != "$(echo "$host_ns" | sed -n 2p)" ] || fail "$k in the host uts namespace"
  done
  [ "$(cat "$HOOKDIR/ns.createContainer")" = "$(cat "$HOOKDIR/ns.startContainer")" ] ||
    fail "createContainer in $(cat "$HOOKDIR/ns.createContainer"), startContainer in $(cat "$HOOKDIR/ns.startContainer")"
}

@test "create runs the create-phase hooks, start the start-phase hooks" {
  local k
  for k in prestart createRuntime createContainer poststart; do
    add_hook "$k" "$(hook_json "$k")"
  done
  add_hook startContainer "$(start_container_hook)"
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  [ "$(cut -d' ' -f1 "$HOOKDIR/log" | tr '\n' ' ')" = "prestart createRuntime createContainer " ] ||
    fail "after create: $(cat "$HOOKDIR/log")"
  capsa start ctr
  [ "$(cut -d' ' -f1 "$HOOKDIR/log" | tr '\n' ' ')" = "prestart createRuntime createContainer startContainer poststart " ] ||
    fail "after start: $(cat "$HOOKDIR/log")"
  jq -e '.status == "running"' "$HOOKDIR/state.poststart" >/dev/null || fail "poststart state: $(cat "$HOOKDIR/state.poststart")"
  capsa delete --force ctr
}

@test "poststop runs at delete, after the container is gone" {
  add_hook poststop "$(hook_json poststop)"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  [ ! -e "$HOOKDIR/log" ]
  capsa kill ctr KILL
  wait_status ctr stopped
  [ ! -e "$HOOKDIR/log" ]
  capsa delete ctr
  grep -q '^poststop ' "$HOOKDIR/log"
}

# failing_create_hook KIND: a failing KIND hook makes create fail and leaves nothing behind.
failing_create_hook () {
  add_hook "$1" "$(hook_json "$1" 3)"
  set_args sh -c 'echo ran > /hooks/process-ran'
  run_bg create -b "$BUNDLE" ctr </dev/null
  assert_failure
  assert_error_line "$stderr"
  [[ "$stderr" == *"$1"* || "$stderr" == *hook* ]] || fail "error does not name the hook: $stderr"
  grep -q "^$1 " "$HOOKDIR/log"
  assert_no_leftovers ctr
  [ ! -e "$HOOKDIR/process-ran" ]
}

@test "a failing prestart hook fails create and leaves nothing" {
  failing_create_hook prestart
}

@test "a failing createRuntime hook fails create and leaves nothing" {
  failing_create_hook createRuntime
}

@test "a failing createContainer hook fails create and leaves nothing" {
  failing_create_hook createContainer
}

@test "a failing hook stops the later hooks" {
  add_hook createRuntime "$(hook_json createRuntime 1)"
  add_hook createContainer "$(hook_json createContainer)"
  run_bg create -b "$BUNDLE" ctr
  assert_failure
  ! grep -q '^createContainer' "$HOOKDIR/log"
  assert_no_leftovers ctr
}

@test "a failing prestart hook fails run too, and the process never runs" {
  add_hook prestart "$(hook_json prestart 1)"
  set_args sh -c 'echo ran > /hooks/process-ran'
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  assert_error_line "$stderr"
  assert_no_leftovers ctr
  [ ! -e "$HOOKDIR/process-ran" ]
}

# after_failed_start KIND: start (or run) failed on a KIND hook: one error line naming the hook,
# the container destroyed (no state, cgroup, mount or process) and the poststop hook run.
after_failed_start () {
  assert_failure
  assert_error_line "$stderr"
  [[ "$stderr" == *"$1 hook"* ]] || fail "error does not name the $1 hook: $stderr"
  run_capsa state ctr
  assert_failure
  assert_no_leftovers ctr
  grep -q '^poststop ' "$HOOKDIR/log" || fail "no poststop hook after the failed $1 hook: $(cat "$HOOKDIR/log")"
  jq -e '.status == "stopped"' "$HOOKDIR/state.poststop" >/dev/null
}

@test "a failing startContainer hook fails start, destroys the container and runs poststop" {
  add_hook startContainer "$(start_container_hook 2)"
  add_hook poststop "$(hook_json poststop)"
  set_args sh -c 'echo ran > /hooks/process-ran'
  capsa_bg create -b "$BUNDLE" ctr
  run_bg start ctr
  after_failed_start startContainer
  [ ! -e "$HOOKDIR/process-ran" ]
}

@test "a failing startContainer hook fails run the same way" {
  add_hook startContainer "$(start_container_hook 2)"
  add_hook poststop "$(hook_json poststop)"
  set_args sh -c 'echo ran > /hooks/process-ran'
  run_bg run -d -b "$BUNDLE" ctr
  after_failed_start startContainer
  [ ! -e "$HOOKDIR/process-ran" ]
}

@test "a failing poststart hook fails start, stops the container and runs poststop" {
  add_hook poststart "$(hook_json poststart 1)"
  add_hook poststop "$(hook_json poststop)"
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  run_bg start ctr
  after_failed_start poststart
  [ "$(cut -d' ' -f1 "$HOOKDIR/log" | tr '\n' ' ')" = "poststart poststop " ] || fail "$(cat "$HOOKDIR/log")"
}

@test "a failing poststart hook fails run (detached or not) the same way" {
  add_hook poststart "$(hook_json poststart 1)"
  add_hook poststop "$(hook_json poststop)"
  set_args sleep 1000
  run_bg run -d -b "$BUNDLE" ctr
  after_failed_start poststart
  rm "$HOOKDIR/log" "$HOOKDIR/state.poststop"
  run_bg run -b "$BUNDLE" ctr
  after_failed_start poststart
}

@test "a failing create hook still runs the poststop hooks" {
  add_hook createRuntime "$(hook_json createRuntime 1)"
  add_hook poststop "$(hook_json poststop)"
  run_bg create -b "$BUNDLE" ctr
  assert_failure
  assert_no_leftovers ctr
  [ "$(cut -d' ' -f1 "$HOOKDIR/log" | tr '\n' ' ')" = "createRuntime poststop " ] || fail "$(cat "$HOOKDIR/log")"
}

@test "the create-phase hooks read the state of a created container" {
  local k
  for k in prestart createRuntime createContainer; do
    add_hook "$k" "$(hook_json "$k")"
  done
  add_hook startContainer "$(start_container_hook)"
  set_args true
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  # runtime.md: "created" is after step 2 of the lifecycle; these hooks are steps 3 to 7
  for k in prestart createRuntime createContainer startContainer; do
    jq -e '.status == "created"' "$HOOKDIR/state.$k" >/dev/null || fail "state for $k: $(cat "$HOOKDIR/state.$k")"
  done
}

@test "a hook without env inherits the runtime's environment; an empty env is empty" {
  local inherit empty
  inherit=$(jq -cn --arg f "$HOOKDIR/inherit" \
    '{path: "/bin/sh", args: ["sh", "-c", "echo \"v=$CAPSA_HOOKS_INHERIT path=$PATH\" > \"$0\"", $f]}')
  empty=$(jq -cn --arg f "$HOOKDIR/empty" \
    '{path: "/bin/sh", args: ["sh", "-c", "echo \"v=$CAPSA_HOOKS_INHERIT\" > \"$0\"; env | grep -c . >> \"$0\" || true", $f], env: []}')
  add_hook createRuntime "$inherit"
  add_hook poststop "$empty"
  set_args true
  CAPSA_HOOKS_INHERIT=from-runtime run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "$(cat "$HOOKDIR/inherit")" = "v=from-runtime path=$PATH" ] || fail "inherit: $(cat "$HOOKDIR/inherit")"
  # sh itself sets PWD (and maybe SHLVL); nothing of the runtime's comes in
  [ "$(head -n 1 "$HOOKDIR/empty")" = "v=" ] || fail "empty env: $(cat "$HOOKDIR/empty")"
  [ "$(tail -n 1 "$HOOKDIR/empty")" -le 3 ] || fail "empty env: $(cat "$HOOKDIR/empty")"
}

@test "a failing poststop hook only warns; the next poststop hook still runs" {
  add_hook poststop "$(hook_json poststop 1)"
  add_hook poststop "$(hook_json poststop-second)"
  set_args true
  run --separate-stderr capsa run --keep -b "$BUNDLE" ctr </dev/null
  assert_success
  run --separate-stderr capsa --log "$BATS_TEST_TMPDIR/log" delete ctr </dev/null
  assert_success
  [ ! -e "$ROOT/ctr" ]
  grep -q '^poststop ' "$HOOKDIR/log"
  grep -q '^poststop-second ' "$HOOKDIR/log"
  { echo "$stderr"; cat "$BATS_TEST_TMPDIR/log" 2>/dev/null; } | grep -q -i -E 'poststop|hook' ||
    fail "no warning about the failed poststop hook"
}

@test "a hook exceeding its timeout is killed and fails the operation" {
  add_hook createRuntime "$(hook_json createRuntime 0 1 30)"
  local t0=$SECONDS
  run_bg create -b "$BUNDLE" ctr </dev/null
  assert_failure
  [ $((SECONDS - t0)) -lt 15 ] || fail "took $((SECONDS - t0)) s with a 1 s hook timeout"
  assert_error_line "$stderr"
  [[ "$stderr" == *time* ]] || fail "error does not mention the timeout: $stderr"
  # the hook process (marked) was killed
  wait_for eval '[ -z "$(marked_pids)" ]'
  assert_no_leftovers ctr
}

@test "a hook within its timeout succeeds" {
  add_hook createRuntime "$(hook_json createRuntime 0 5 0.2)"
  set_args true
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  grep -q '^createRuntime ' "$HOOKDIR/log"
}

@test "a hook path that does not exist fails create cleanly" {
  add_hook createRuntime '{"path": "/nonexistent/hook"}'
  run_bg create -b "$BUNDLE" ctr </dev/null
  assert_failure
  assert_error_line "$stderr"
  [[ "$stderr" == */nonexistent/hook* ]] || fail "$stderr"
  assert_no_leftovers ctr
}
