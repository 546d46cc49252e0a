#!/usr/bin/env bats
# apparmor.bats: process.apparmorProfile on a host whose LSM is AppArmor. This machine has no
# LSM: the suite skips here and runs in the LSM lane (tests/cgroupv2-vm/run.sh booting Debian's
# kernel, whose default LSM is AppArmor: `make check-lsm-vm`). Each test loads a profile of its
# own (apparmor_parser) that allows everything but one file and one capability, and unloads it.

load helpers

setup () {
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
    skip "AppArmor is not this host's LSM (make check-lsm-vm runs this suite in a VM where it is)"
  [ -e /sys/kernel/security/apparmor/profiles ] || skip "securityfs has no apparmor directory"
  command -v apparmor_parser >/dev/null || skip "apparmor_parser missing (apt-get install apparmor)"
  capsa_setup
  PROFILE=capsa-test-$MARK
  cat >"$BATS_TEST_TMPDIR/profile" <<EOF
profile $PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
  deny /etc/capsa-denied rw,
  deny capability chown,
}
EOF
  apparmor_parser -r -W "$BATS_TEST_TMPDIR/profile" 2>"$BATS_TEST_TMPDIR/parser.err" ||
    fail "apparmor_parser: $(cat "$BATS_TEST_TMPDIR/parser.err")"
  echo secret >"$BUNDLE/rootfs/etc/capsa-denied"
  # CAP_CHOWN in every set: a denied chown is then AppArmor's doing
  cfg '.process.capabilities |= with_entries(.value += ["CAP_CHOWN"])'
}

teardown () {
  capsa_teardown
  [ -z "${PODMAN_DIR:-}" ] || rm -rf "$PODMAN_DIR"
  [ -z "${PROFILE:-}" ] || apparmor_parser -R "$BATS_TEST_TMPDIR/profile" >/dev/null 2>&1 || true
}

PROBE='cat /proc/self/attr/current; cat /etc/capsa-denied >/dev/null 2>&1 && echo read-ok || echo read-denied
touch /tmp/f; chown 1 /tmp/f 2>/dev/null && echo chown-ok || echo chown-denied'

@test "apparmor: the workload runs under its profile from its first instruction; the profile denies exactly its rules" {
  cfg '.process.apparmorProfile = $p' --arg p "$PROFILE"
  set_args sh -c "$PROBE"
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_line "$PROFILE (enforce)"
  assert_line read-denied
  assert_line chown-denied
  # the same container without the profile
  cfg 'del(.process.apparmorProfile)'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_line unconfined
  assert_line read-ok
  assert_line chown-ok
  assert_no_leftovers ctr
}

@test "apparmor: exec runs under the container's profile, or the one --apparmor names" {
  cfg '.process.apparmorProfile = $p' --arg p "$PROFILE"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa exec ctr sh -c "$PROBE"
  assert_success
  assert_line "$PROFILE (enforce)"
  assert_line read-denied
  run_capsa exec --apparmor unconfined ctr sh -c "$PROBE"
  assert_success
  assert_line unconfined
  assert_line read-ok
  capsa delete -f ctr
  assert_no_leftovers ctr
}

@test "apparmor: a profile that is not loaded fails create with one line naming it; nothing left" {
  cfg '.process.apparmorProfile = "capsa-no-such-profile"'
  run --separate-stderr capsa create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *'apparmorProfile'*'"capsa-no-such-profile" is not loaded'* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "apparmor: in VM mode the profile confines the hypervisor" {
  require_vm
  export CAPSA_VM_SNAPSHOT_DIR=$BATS_TEST_TMPDIR/snap
  cfg '.process.apparmorProfile = $p | .annotations["run.oci.handler"] = "vm"
       | .annotations["run.oci.vm.accel"] = "tcg"' --arg p "$PROFILE"
  set_args sh -c 'echo up; sleep 1000'
  CAPSA_TEST_TIMEOUT=120 capsa_bg run -d -b "$BUNDLE" ctr
  local qemu
  wait_for eval '[ -n "$(pgrep -P "$(pid_of ctr)" -x qemu-system-x86)" ]'
  qemu=$(pgrep -P "$(pid_of ctr)" -x qemu-system-x86)
  assert_equal "$(cat "/proc/$qemu/attr/current")" "$PROFILE (enforce)"
  capsa delete -f ctr
  assert_no_leftovers ctr
}

@test "apparmor: podman with capsa runs its containers under podman's default profile" {
  command -v podman >/dev/null || skip "podman missing"
  command -v conmon >/dev/null || skip "conmon missing"
  # podman loads its containers-default profile itself and names it in the config it hands over;
  # its storage (vfs: no mounts to undo) and state live in the test's directory
  # (podman wants a runroot path of at most 50 characters)
  PODMAN_DIR=$(mktemp -d /tmp/capsa-aa.XXXXXX)
  local d=$PODMAN_DIR
  local p=(podman --runtime "$CAPSA" --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp"
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
  tar -C "$BUNDLE/rootfs" -cf "$d/rootfs.tar" .
  run "${p[@]}" import "$d/rootfs.tar" localhost/capsa-apparmor
  assert_success
  run "${p[@]}" run --rm --network none localhost/capsa-apparmor sh -c "$PROBE" </dev/null
  "${p[@]}" rmi -a -f >/dev/null 2>&1 || true
  assert_success
  assert_line --regexp '^containers-default-[0-9.]+ \(enforce\)$'
  # the default profile denies nothing of the probe
  assert_line read-ok
}
