#!/usr/bin/env bats
# faults.bats: kill -9 the runtime at every step of create/start/run/exec/delete (CAPSA_FAULT), then
# `state` tells the truth and `delete --force` removes every trace; broken state roots, a container
# process that dies during create, a /proc without the runtime's entries.

load helpers

# cg_dirs: the container's cgroup directory in every hierarchy of this host that capsa uses (every
# v1 controller, name=systemd and the unified one), from mountinfo and our own /proc/self/cgroup:
# the bundle's relative cgroupsPath resolves under our own cgroup in each.
cg_dirs () {
  local root mnt fs opts ctrls own rel
  while read -r root mnt fs opts; do
    if [ "$fs" = cgroup2 ]; then
      ctrls=
    else
      ctrls=$(tr , '\n' <<<"$opts" | grep -v -x -E 'rw|ro|xattr|noprefix|clone_children|cpuset_v2_mode|release_agent=.*' | paste -sd, -)
      case $ctrls in name=systemd | name=*) [ "$ctrls" = name=systemd ] || continue ;; esac
    fi
    own=$(awk -F: -v c="$ctrls" '$2 == c { sub(/^[^:]*:[^:]*:/, ""); print; exit }' /proc/self/cgroup)
    [ -n "$own" ] || continue
    rel=${own#"${root%/}"}
    echo "$mnt${rel%/}/capsa-test-$MARK"
  done < <(awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $4, $5, $(i+1), $(i+3) }' /proc/self/mountinfo)
}

# fds_into DIR...: open fds, cwds and roots of any process that point into one of the DIRs.
fds_into () {
  local d args=()
  for d in "$@"; do
    args+=(-o -lname "$d" -o -lname "$d/*")
  done
  find /proc/[0-9]*/fd /proc/[0-9]*/cwd /proc/[0-9]*/root -maxdepth 1 -type l \( -false "${args[@]}" \) \
    -printf '%p -> %l\n' 2>/dev/null
  return 0
}

# assert_all_gone ID: no state dir, no cgroup in any hierarchy, no mount naming the id, the bundle
# or the state root, no container or capsa process, no fd or socket into the state root or bundle.
assert_all_gone () {
  local id=$1 problems=() d m p
  [ ! -e "$ROOT/$id" ] || problems+=("state dir $ROOT/$id remains: $(ls -A "$ROOT/$id" | paste -sd' ' -)")
  for d in $(cg_dirs); do
    [ ! -e "$d" ] || problems+=("cgroup $d remains")
  done
  m=$(grep -F -e "$BUNDLE" -e "$ROOT" -e "$ROOTFS" -e "/$id " /proc/self/mountinfo || true)
  [ -z "$m" ] || problems+=("mounts remain: $m")
  wait_for eval '[ -z "$(marked_pids)" ]' 2>/dev/null || true
  p=$(marked_pids; root_pids)
  [ -z "$p" ] || problems+=("processes remain: $(echo $p)")
  p=$(fds_into "$ROOT" "$BUNDLE")
  [ -z "$p" ] || problems+=("fds remain: $(echo $p)")
  p=$(find "$ROOT" -type s 2>/dev/null || true)
  [ -z "$p" ] || problems+=("sockets remain: $p")
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'leftover: %s\n' "${problems[@]}" >&2
    return 1
  fi
}

# assert_cgroups_exist: the container's cgroup exists in every hierarchy (a fault case that names
# a cgroup step checks it had something to clean): several on v1 and hybrid hosts, one on pure v2.
assert_cgroups_exist () {
  local d n=0 want=2
  [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || want=1
  for d in $(cg_dirs); do
    [ -d "$d" ] || fail "cgroup $d missing"
    n=$((n + 1))
  done
  [ "$n" -ge "$want" ] || fail "found only $n cgroup hierarchies"
}

# faulted POINT CAPSA-ARGS...: run capsa with CAPSA_FAULT=POINT; it must die by SIGKILL (exit 137)
# right at POINT (its stderr says so).
faulted () {
  local point=$1
  shift
  status=0
  CAPSA_FAULT=$point capsa "$@" </dev/null >"$OUT" 2>"$ERR" || status=$?
  stderr=$(cat "$ERR")
  [ "$status" -eq 137 ] || fail "capsa $* with CAPSA_FAULT=$point: exit $status, not 137: $stderr"
  [[ "$stderr" == *"fault injected at \`$point\`"* ]] || fail "fault point $point not reached: $stderr"
}

# state_is_true ID ALLOWED...: `capsa state ID` answers with one of the ALLOWED statuses (or
# "error" when it may fail: then with one clear error line), and what it says holds: a created or
# running container has a live process of this test with that pid, a stopped one has none.
state_is_true () {
  local id=$1 st pid
  shift
  run_bg state "$id"
  if [ "$status" -ne 0 ]; then
    [[ " $* " == *" error "* ]] || fail "state $id failed: $stderr"
    assert_error_line "$stderr"
    return 0
  fi
  st=$(jq -r .status <<<"$output")
  pid=$(jq -r .pid <<<"$output")
  [[ " $* " == *" $st "* ]] || fail "state $id says '$st', expected one of: $*"
  case $st in
  created | running)
    [ "$pid" -gt 0 ] && [ -d "/proc/$pid" ] || fail "state says $st with pid $pid, which is gone"
    grep -qa "CAPSA_TEST_MARK=$MARK" "/proc/$pid/environ" 2>/dev/null || [ "$st" = created ] \
      || fail "pid $pid is not the container's process"
    ;;
  stopped)
    [ "$pid" -eq 0 ] || fail "stopped with pid $pid"
    [ -z "$(marked_pids)" ] || fail "state says stopped but container processes live: $(marked_pids)"
    ;;
  esac
}

# clean ID: delete --force succeeds and leaves nothing.
clean () {
  run_bg delete --force "$1"
  [ "$status" -eq 0 ] || fail "delete --force $1: exit $status: $stderr"
  assert_all_gone "$1"
}

# The suite runs ~30 short tests: one config template and the shared busybox rootfs (read through
# an absolute root.path, never written by these tests) instead of a copied bundle per test.
setup_file () {
  [ "$(id -u)" = 0 ] && [ -x "$BUSYBOX" ] && command -v jq >/dev/null || return 0
  build_rootfs
  mkdir -p "$BATS_FILE_TMPDIR/template"
  (cd "$BATS_FILE_TMPDIR/template" && "$CAPSA" spec)
}

setup () {
  capsa_setup_env
  ROOTFS=$CAPSA_TEST_CACHE/rootfs
  mkdir -p "$BUNDLE"
  jq --arg m "$MARK" --arg r "$ROOTFS" 'del(.linux.resources) | .root = {path: $r, readonly: false}
      | .process.terminal = false | .process.args = ["sleep", "600"]
      | .process.env += ["CAPSA_TEST_MARK=" + $m] | .linux.cgroupsPath = "capsa-test-" + $m' \
    "$BATS_FILE_TMPDIR/template/config.json" >"$BUNDLE/config.json"
}

# --- kill -9 during create (create and run -d share the steps) ---------------------------------

@test "fault create:after-state-dir: state is a clear error, delete --force removes the dir" {
  faulted create:after-state-dir create -b "$BUNDLE" ctr
  [ -d "$ROOT/ctr" ]
  state_is_true ctr error
  clean ctr
}

# cg_present: how many of the container's cgroup directories (cg_dirs) exist.
cg_present () {
  local d n=0
  for d in $(cg_dirs); do
    [ ! -d "$d" ] || n=$((n + 1))
  done
  echo "$n"
}

@test "fault create:after-cgroup-plan: the state names a cgroup not made yet; delete --force copes" {
  faulted create:after-cgroup-plan create -b "$BUNDLE" ctr
  [ "$(cg_present)" -eq 0 ] || fail "the cgroup exists before create made it"
  # the first state.json already names the cgroup (that is what makes the next tests clean)
  jq -e '.cgroupManager == "cgroupfs" and (.cgroup | contains("capsa-test-" + $m))' \
    --arg m "$MARK" "$ROOT/ctr/state.json" >/dev/null || fail "state: $(cat "$ROOT/ctr/state.json")"
  state_is_true ctr stopped
  clean ctr
}

@test "fault cgroup:after-mkdir-one: the cgroup made in one hierarchy only; delete --force removes it" {
  local total
  # a nested cgroupsPath: the parents the runtime made go too
  cfg '.linux.cgroupsPath = "capsa-test-" + $m + "/a/b"' --arg m "$MARK"
  faulted cgroup:after-mkdir-one create -b "$BUNDLE" ctr
  total=$(cg_dirs | wc -l)
  [ "$(cg_present)" -eq 1 ] || fail "$(cg_present) of $total hierarchies hold the cgroup, expected 1"
  state_is_true ctr stopped
  clean ctr
}

@test "fault cgroup:after-mkdir: the cgroup in every hierarchy (v1 and unified), no state rewrite; delete --force removes it" {
  cfg '.linux.cgroupsPath = "capsa-test-" + $m + "/a/b"' --arg m "$MARK"
  cfg '.linux.resources = {pids: {limit: 50}}'
  faulted cgroup:after-mkdir run -d -b "$BUNDLE" ctr
  [ "$(cg_present)" -eq "$(cg_dirs | wc -l)" ] || fail "only $(cg_present) of $(cg_dirs | wc -l) made"
  [ -d "$(cg_dirs | head -1)/a/b" ] || fail "the nested leaf is missing"
  state_is_true ctr stopped
  clean ctr
}

@test "fault systemd:after-scope-start: delete --force stops the scope systemd started" {
  local unit=capsa-test-$MARK.scope
  [ -d /run/systemd/system ] || skip "systemd is not running here (tests/cgroupv2-vm boots a VM where it is)"
  cfg '.linux.cgroupsPath = "system.slice:capsa-test:" + $m' --arg m "$MARK"
  faulted systemd:after-scope-start --cgroup-manager systemd run -d -b "$BUNDLE" ctr
  jq -e '.cgroupManager == "systemd"' "$ROOT/ctr/state.json" >/dev/null || fail "$(cat "$ROOT/ctr/state.json")"
  state_is_true ctr stopped
  clean ctr
  ! systemctl is-active -q "$unit" || fail "unit $unit still active"
  [ ! -e "/sys/fs/cgroup/system.slice/$unit" ] || fail "the scope's cgroup remains"
}

@test "fault create:after-cgroup (run -d): stopped, cgroup in every hierarchy removed" {
  faulted create:after-cgroup run -d -b "$BUNDLE" ctr
  assert_cgroups_exist
  state_is_true ctr stopped
  clean ctr
}

@test "fault create:after-exec-fifo: stopped, fifo, cgroup and dir removed" {
  faulted create:after-exec-fifo create -b "$BUNDLE" ctr
  [ -p "$ROOT/ctr/exec.fifo" ]
  state_is_true ctr stopped
  clean ctr
}

@test "fault create:after-clone: the half-made init dies with its runtime" {
  faulted create:after-clone create -b "$BUNDLE" ctr
  state_is_true ctr stopped
  clean ctr
}

@test "fault create:after-mounts: the prepared init dies, its mounts with it" {
  faulted create:after-mounts run -d -b "$BUNDLE" ctr
  state_is_true ctr stopped
  clean ctr
}

@test "fault create:after-state-pid: state names the dead init as stopped" {
  faulted create:after-state-pid create -b "$BUNDLE" ctr
  state_is_true ctr stopped
  clean ctr
}

@test "fault create:after-created: the created container stays created; delete --force ends it" {
  faulted create:after-created create -b "$BUNDLE" ctr
  state_is_true ctr created
  assert_cgroups_exist
  clean ctr
}

@test "the init killed during create (init:after-mounts): create fails, nothing left" {
  CAPSA_FAULT=init:after-mounts run_bg create -b "$BUNDLE" ctr
  assert_failure 1
  [[ "$stderr" == *"fault injected at \`init:after-mounts\`"* ]] || fail "point not reached: $stderr"
  stderr=$(grep -v 'fault injected' <<<"$stderr")
  assert_error_line "$stderr"
  [[ "$stderr" == *"container \`ctr\`"* ]] || fail "error does not name the container: $stderr"
  assert_no_leftovers ctr
  assert_all_gone ctr
}

@test "a createRuntime hook that kills the init: create fails, nothing left" {
  cfg '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "kill -9 $(jq .pid)"]}]'
  run_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  assert_no_leftovers ctr
  assert_all_gone ctr
}

@test "the init dies between create and start: state stopped, start fails clearly" {
  capsa_bg create -b "$BUNDLE" ctr
  kill -9 "$(pid_of ctr)"
  wait_status ctr stopped
  run_bg start ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *"not"*"created"* || "$stderr" == *"stopped"* ]] || fail "unclear: $stderr"
  state_is_true ctr stopped
  clean ctr
}

# --- kill -9 during start and run --------------------------------------------------------------

@test "the init killed right after start let it go (init:after-start): state stopped" {
  # the fault is armed in the init, which inherits create's environment
  CAPSA_FAULT=init:after-start capsa_bg create -b "$BUNDLE" ctr
  run_bg start ctr
  # start cannot tell this death from an execve followed by an exit: no error is right too
  [ "$status" -eq 0 ] || assert_error_line "$stderr"
  grep -q "fault injected at \`init:after-start\`" "$ERR" "$BATS_TEST_TMPDIR"/out 2>/dev/null || true
  wait_status ctr stopped
  state_is_true ctr stopped
  clean ctr
}

@test "fault start:after-fifo-open: state is running or stopped, and true" {
  capsa_bg create -b "$BUNDLE" ctr
  faulted start:after-fifo-open start ctr
  state_is_true ctr running stopped
  clean ctr
}

@test "fault start:after-state-write: state is true, delete --force ends it" {
  capsa_bg create -b "$BUNDLE" ctr
  faulted start:after-state-write start ctr
  state_is_true ctr running stopped
  clean ctr
}

@test "fault run:after-create: the waiting init ends, state stopped" {
  faulted run:after-create run -b "$BUNDLE" ctr
  wait_status ctr stopped
  state_is_true ctr stopped
  clean ctr
}

@test "fault run:after-start: the container keeps running, delete --force ends it" {
  faulted run:after-start run -b "$BUNDLE" ctr
  state_is_true ctr running
  assert_cgroups_exist
  clean ctr
}

@test "fault run:after-exit: the exited container is stopped, delete --force cleans up" {
  set_args true
  faulted run:after-exit run -b "$BUNDLE" ctr
  state_is_true ctr stopped
  assert_cgroups_exist
  clean ctr
}

# --- kill -9 during exec ------------------------------------------------------------------------

# exec_fault POINT: kill -9 `capsa exec` at POINT in a running container; the container stays
# running and delete --force removes it with the exec'd process.
exec_fault () {
  capsa_bg run -d -b "$BUNDLE" ctr
  faulted "$1" exec ctr sleep 700
  state_is_true ctr running
  clean ctr
}

@test "fault exec:after-fork" {
  exec_fault exec:after-fork
}

@test "fault exec:after-cgroup" {
  exec_fault exec:after-cgroup
}

@test "fault exec:after-start: the exec'd process is ended by delete --force" {
  exec_fault exec:after-start
}

@test "fault exec:after-start without a pid namespace: delete --force still finds the process" {
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  capsa_bg run -d -b "$BUNDLE" ctr
  faulted exec:after-start exec ctr sleep 700
  [ -n "$(pgrep -f 'sleep 700' | head -n 1)" ]
  state_is_true ctr running
  clean ctr
  ! pgrep -f '^sleep 700$'
}

@test "the exec'd process killed after joining the namespaces (exec:child-after-join): exit 137" {
  capsa_bg run -d -b "$BUNDLE" ctr
  CAPSA_FAULT=exec:child-after-join run_bg exec ctr true
  [ "$status" -eq 137 ] || fail "exec: exit $status: $stderr"
  [[ "$stderr" == *"fault injected at \`exec:child-after-join\`"* ]]
  state_is_true ctr running
  clean ctr
}

# --- kill -9 during delete ----------------------------------------------------------------------

@test "fault delete:after-kill: stopped with its cgroup, a second delete --force removes it" {
  capsa_bg run -d -b "$BUNDLE" ctr
  faulted delete:after-kill delete --force ctr
  assert_cgroups_exist
  state_is_true ctr stopped
  clean ctr
}

@test "fault delete:after-cgroup: the second delete --force tolerates the missing cgroup" {
  capsa_bg run -d -b "$BUNDLE" ctr
  faulted delete:after-cgroup delete --force ctr
  state_is_true ctr stopped
  clean ctr
}

@test "fault state:before-rmdir: an emptied state dir is a clear error, then removed" {
  capsa_bg run -d -b "$BUNDLE" ctr
  faulted state:before-rmdir delete --force ctr
  [ -d "$ROOT/ctr" ]
  state_is_true ctr error
  clean ctr
}

@test "CAPSA_FAULT lists several points; unknown points and prefixes change nothing" {
  set_args true
  CAPSA_FAULT=no-such-point,create:after-cgroupX,create:after run_bg run -b "$BUNDLE" ctr
  assert_success
  assert_no_leftovers ctr
  CAPSA_FAULT=other,create:after-cgroup run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 137 ] || fail "exit $status: $stderr"
  [[ "$stderr" == *"fault injected at \`create:after-cgroup\`"* ]] || fail "$stderr"
  state_is_true ctr stopped
  clean ctr
}

# --- broken state roots -------------------------------------------------------------------------

@test "a read-only state root: one clear error, exit 1, nothing left" {
  local m=$BATS_TEST_TMPDIR/ro r=$BATS_TEST_TMPDIR/ro/capsa
  mkdir -p "$m"
  mount -t tmpfs -o ro,size=64k tmpfs "$m"
  defer "umount '$m'"
  for cmd in create run; do
    status=0
    timeout -k 5 30 "$CAPSA" --root "$r" $cmd -b "$BUNDLE" ctr </dev/null >"$OUT" 2>"$ERR" || status=$?
    [ "$status" -eq 1 ] || fail "$cmd: exit $status"
    assert_error_line "$(cat "$ERR")"
    grep -q "Read-only file system" "$ERR" || fail "unclear: $(cat "$ERR")"
  done
  [ -z "$(ls -A "$m")" ]
  ROOT=$r assert_all_gone ctr
}

@test "a full state root (tiny tmpfs): one clear error, exit 1, nothing left" {
  local m=$BATS_TEST_TMPDIR/full r=$BATS_TEST_TMPDIR/full/capsa
  mkdir -p "$m"
  mount -t tmpfs -o size=8k tmpfs "$m"
  defer "umount '$m'"
  mkdir "$r"
  # fill it: nothing is left for a state.json (directories still fit: tmpfs counts no blocks for them)
  dd if=/dev/zero of="$m/fill" bs=1k count=64 2>/dev/null || true
  for cmd in create run; do
    status=0
    timeout -k 5 30 "$CAPSA" --root "$r" $cmd -b "$BUNDLE" ctr </dev/null >"$OUT" 2>"$ERR" || status=$?
    [ "$status" -eq 1 ] || fail "$cmd: exit $status: $(cat "$ERR")"
    assert_error_line "$(cat "$ERR")"
    grep -q "No space left on device" "$ERR" || fail "unclear: $(cat "$ERR")"
    [ -z "$(ls -A "$r")" ] || fail "left in the state root: $(ls -A "$r")"
  done
  ROOT=$r assert_all_gone ctr
}

# --- a /proc without the runtime's entries ------------------------------------------------------

@test "capsa under a /proc that is an empty tmpfs: one clear error, nothing left" {
  local log=$BATS_TEST_TMPDIR/noproc
  ! ldd "$CAPSA" 2>/dev/null | grep -q libasan \
    || skip "an ASan build: the sanitizer runtime itself needs /proc (it prints its own errors there)"
  # a private mount namespace whose /proc is a tmpfs: no /proc/self at all
  status=0
  unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k tmpfs /proc && exec "$@"' -- \
    timeout -k 5 30 "$CAPSA" --root "$ROOT" run -b "$BUNDLE" ctr </dev/null >"$OUT" 2>"$log" || status=$?
  [ "$status" -eq 1 ] || fail "exit $status: $(cat "$log")"
  assert_error_line "$(cat "$log")"
  grep -q "/proc" "$log" || fail "the error does not name /proc: $(cat "$log")"
  assert_no_leftovers ctr
  assert_all_gone ctr
}
