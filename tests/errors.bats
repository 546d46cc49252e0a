#!/usr/bin/env bats
# errors.bats: bad inputs get one clear error line, exit 1, and leave no state, mount or process.

load helpers

# expect_create_error PATTERN...: create (and then run) fails with exit 1, one error line matching
# every glob PATTERN, and nothing left behind.
expect_create_error () {
  local cmd p
  for cmd in create run; do
    run_bg "$cmd" -b "$BUNDLE" ctr </dev/null
    assert_failure 1
    assert_error_line "$stderr"
    for p in "$@"; do
      [[ "$stderr" == $p ]] || fail "$cmd: error '$stderr' does not match '$p'"
    done
    assert_no_leftovers ctr
  done
}

@test "missing bundle directory" {
  BUNDLE=$BATS_TEST_TMPDIR/no-such-bundle
  expect_create_error "*no-such-bundle*" "*No such file or directory*"
}

@test "missing config.json" {
  rm "$BUNDLE/config.json"
  expect_create_error "*config.json*" "*No such file or directory*"
}

@test "missing rootfs" {
  rm -rf "$BUNDLE/rootfs"
  expect_create_error "*rootfs*" "*No such file or directory*"
}

@test "rootfs that is a file, not a directory" {
  rm -rf "$BUNDLE/rootfs"
  echo x >"$BUNDLE/rootfs"
  expect_create_error "*rootfs*"
}

@test "invalid JSON" {
  echo '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
  expect_create_error "capsa: *config.json*"
}

@test "config.json that is not an object" {
  echo '[1, 2]' >"$BUNDLE/config.json"
  expect_create_error "capsa: *config.json*"
}

@test "wrong type: process.args is a string" {
  cfg '.process.args = "sh -c true"'
  expect_create_error 'capsa: *config.json: .process.args: expected an array of strings*'
}

@test "wrong type: process.args holds a number" {
  cfg '.process.args = ["echo", 5]'
  expect_create_error '*.process.args*' '*expected*'
}

@test "wrong type: process.user.uid is a string" {
  cfg '.process.user.uid = "root"'
  expect_create_error '*config.json*' '*.process.user.uid*'
}

@test "wrong type: linux.namespaces is an object" {
  cfg '.linux.namespaces = {type: "pid"}'
  expect_create_error '*config.json*' '*.linux.namespaces*'
}

@test "wrong type: hostname is a number" {
  cfg '.hostname = 42'
  expect_create_error '*config.json*' '*.hostname*'
}

@test "unknown namespace type" {
  cfg '.linux.namespaces += [{type: "foo"}]'
  local i
  i=$(jq '.linux.namespaces | length - 1' "$BUNDLE/config.json")
  expect_create_error "capsa: *config.json: .linux.namespaces\\[$i\\].type: unknown namespace*\"foo\"*"
}

@test "duplicate namespace type" {
  cfg '.linux.namespaces += [{type: "pid"}]'
  expect_create_error '*.linux.namespaces*' '*pid*'
}

@test "missing process.args" {
  cfg 'del(.process.args)'
  expect_create_error '*config.json*' '*args*'
}

@test "unknown capability name" {
  cfg '.process.capabilities.bounding += ["CAP_NOT_A_CAP"]'
  expect_create_error '*CAP_NOT_A_CAP*'
}

@test "unknown rlimit type" {
  cfg '.process.rlimits = [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]'
  expect_create_error '*RLIMIT_BOGUS*'
}

@test "relative mount destination is refused" {
  cfg '.mounts += [{destination: "relative/dir", type: "tmpfs", source: "tmpfs"}]'
  expect_create_error '*relative/dir*'
}

@test "bind mount of a missing source" {
  cfg '.mounts += [{destination: "/mnt/x", type: "bind", source: "/nonexistent/source", options: ["bind"]}]'
  expect_create_error '*/nonexistent/source*'
}

@test "unknown mount type" {
  cfg '.mounts += [{destination: "/mnt/x", type: "nosuchfs", source: "none"}]'
  expect_create_error '*/mnt/x*'
}

@test "hostname without a uts namespace" {
  cfg '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "needs-uts"'
  expect_create_error '*hostname*'
}

@test "user namespace without mappings" {
  cfg '.linux.namespaces += [{type: "user"}] | del(.linux.uidMappings, .linux.gidMappings)'
  expect_create_error '*'
}

@test "joining a namespace path that does not exist" {
  cfg '.linux.namespaces = (.linux.namespaces | map(select(.type != "network"))) + [{type: "network", path: "/nonexistent/netns"}]'
  expect_create_error '*/nonexistent/netns*'
}

@test "terminal without --console-socket for create" {
  cfg '.process.terminal = true'
  run_bg create -b "$BUNDLE" ctr </dev/null
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *console* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "--console-socket that does not exist" {
  cfg '.process.terminal = true'
  run_bg create --console-socket "$BATS_TEST_TMPDIR/nosock" -b "$BUNDLE" ctr </dev/null
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *nosock* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "an executable not in PATH: runc's error text, nothing left" {
  set_args no-such-program
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  [[ "$stderr" == *'exec: "no-such-program": executable file not found in $PATH'* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "an executable path that does not exist" {
  set_args /bin/no-such-program
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  [[ "$stderr" == *'exec: "/bin/no-such-program"'* && "$stderr" == *"no such file or directory"* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "an executable that is not executable" {
  echo 'not a program' >"$BUNDLE/rootfs/bin/notexec"
  chmod 644 "$BUNDLE/rootfs/bin/notexec"
  set_args /bin/notexec
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  [[ "$stderr" == *'exec: "/bin/notexec"'* && "$stderr" == *"permission denied"* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "create with an exec failure leaves nothing after create or start" {
  set_args no-such-program
  run_bg create -b "$BUNDLE" ctr </dev/null
  if [ "$status" -eq 0 ]; then
    # a runtime may only notice at start
    run --separate-stderr capsa start ctr </dev/null
    assert_failure
    capsa delete --force ctr
  fi
  [[ "$stderr" == *'executable file not found in $PATH'* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "duplicate id" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  run_bg create -b "$BUNDLE" ctr </dev/null
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *ctr* && "$stderr" == *exist* ]] || fail "$stderr"
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure 1
  [ "$(state_of ctr)" = created ]
  capsa delete --force ctr
  assert_no_leftovers ctr
}

@test "invalid id" {
  run_bg create -b "$BUNDLE" ../evil </dev/null
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *id* ]] || fail "$stderr"
  [ ! -e "$BATS_TEST_TMPDIR/evil" ]
  assert_no_leftovers ../evil
}

@test "bad signal name for kill" {
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  for sig in SIGFOO FOO 0x9 999; do
    run --separate-stderr capsa kill ctr "$sig"
    assert_failure 1
    assert_error_line "$stderr"
  done
  run --separate-stderr capsa kill ctr SIGFOO
  [[ "$stderr" == *SIGFOO* ]] || fail "$stderr"
  # nothing happened to the container
  [ "$(state_of ctr)" = running ]
  kill -0 "$pid"
  capsa delete --force ctr
  assert_no_leftovers ctr
}

@test "start, state, kill and delete of a missing container" {
  local c
  for c in start state "kill" delete; do
    run --separate-stderr capsa "$c" missing-ctr </dev/null
    assert_failure 1
    assert_error_line "$stderr"
    [[ "$stderr" == *missing-ctr* ]] || fail "$c: $stderr"
  done
  [ ! -e "$ROOT/missing-ctr" ]
}

@test "a command without its required container id" {
  local c
  for c in create start state "kill" delete run; do
    run --separate-stderr capsa "$c" </dev/null
    assert_failure 1
    [ -n "$stderr" ] || fail "$c: no error"
  done
  [ -z "$(ls -A "$ROOT" 2>/dev/null)" ]
}

@test "a failure late in create (bad mount) leaves no mount, process or state" {
  # the first mounts succeed, the last fails: everything must be undone
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src"
  cfg '.mounts += [{destination: "/mnt/ok", type: "bind", source: $s, options: ["rbind"]},
                   {destination: "/mnt/t", type: "tmpfs", source: "tmpfs"},
                   {destination: "/mnt/bad", type: "bind", source: "/nonexistent/src", options: ["rbind"]}]' \
    --arg s "$src"
  expect_create_error '*/nonexistent/src*'
}

# ---- The error texts engines match ------------------------------------------------------------
# containerd's runc shim, podman and conmon read the runtime's error text, not only its exit code:
# the shim counts a kill error as "already gone" only when it says `container not running`, `no
# such process` or `does not exist`, and a delete error as done when it says `does not exist`;
# podman marks a container exited when `state` says `does not exist` and maps `executable file
# not found` / `no such file or directory` to exit 127 and `permission denied` to 126 (the exec
# tests above). Each text here is runc's.

@test "kill --all of a stopped container succeeds (containerd's shim sends it after every exit)" {
  set_args true
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr stopped
  run --separate-stderr capsa kill --all ctr 9
  assert_success
  run --separate-stderr capsa kill --all ctr TERM
  assert_success
  [ "$(state_of ctr)" = stopped ]
  capsa delete ctr
  assert_no_leftovers ctr
}

@test "kill of a stopped container: exit 1 and runc's 'container not running'" {
  set_args true
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr stopped
  run --separate-stderr capsa kill ctr 9
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *"container not running"* && "$stderr" == *ctr* ]] || fail "$stderr"
  capsa delete ctr
  assert_no_leftovers ctr
}

@test "kill, state, delete, exec, pause and ps of a missing container say 'does not exist'" {
  local c
  for c in "kill missing-ctr 9" "kill --all missing-ctr 9" "state missing-ctr" "delete missing-ctr" \
    "exec missing-ctr true" "pause missing-ctr" "resume missing-ctr" "ps missing-ctr"; do
    # shellcheck disable=SC2086
    run --separate-stderr capsa $c </dev/null
    # runc: a failed exec exits 255 (so it differs from the process's own status), others 1
    if [[ $c == exec* ]]; then assert_failure 255; else assert_failure 1; fi
    assert_error_line "$stderr"
    [[ "$stderr" == *"does not exist"* ]] || fail "$c: $stderr"
  done
  # runc: delete --force of a container that is already gone succeeds
  run --separate-stderr capsa delete --force missing-ctr </dev/null
  assert_success
}

@test "exec and pause of a stopped container fail with runc's texts" {
  set_args true
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr stopped
  run --separate-stderr capsa exec ctr true </dev/null
  assert_failure 255
  assert_error_line "$stderr"
  [[ "$stderr" == *"cannot exec in a stopped container"* ]] || fail "$stderr"
  run --separate-stderr capsa pause ctr </dev/null
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *"container not running"* ]] || fail "$stderr"
  capsa delete ctr
  assert_no_leftovers ctr
}

@test "a paused container can be signalled, as with runc: the signal lands on resume" {
  set_args sh -c 'trap "echo got-usr1 > /tmp/sig; exit 7" USR1; while :; do usleep 10000; done'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr running
  sleep 0.2
  capsa pause ctr || skip "pause needs a freezer cgroup"
  run --separate-stderr capsa kill ctr USR1
  assert_success
  [ ! -e "$BUNDLE/rootfs/tmp/sig" ]
  capsa resume ctr
  wait_for test -s "$BUNDLE/rootfs/tmp/sig"
  wait_status ctr stopped
  capsa delete ctr
  assert_no_leftovers ctr
}
