#!/usr/bin/env bats
# selinux.bats: process.selinuxLabel and linux.mountLabel on a host whose LSM is SELinux. This
# machine runs no LSM: the suite skips here and runs in the "Debian host" lane booted with
# SELinux (`make check-debian-vm DEBIAN_VM_LSM=selinux DEBIAN_VM_SUITES=selinux`: Debian 12's
# kernel with `security=selinux` and Debian's selinux-policy-default, permissive, as the host's
# files the lane boots from carry no labels). The labels are picked from the loaded policy
# (Debian's refpolicy has no container_t: svirt_t, the type of sandboxed guests, stands in).

load helpers

# pick_context ROLE-PART TYPE...: the first USER:ROLE:TYPE:s0:c1,c2 the loaded policy accepts.
pick_context () {
  local prefix=$1 t
  shift
  for t in "$@"; do
    if printf '%s' "$prefix:$t:s0:c1,c2" >/sys/fs/selinux/context 2>/dev/null; then
      echo "$prefix:$t:s0:c1,c2"
      return 0
    fi
  done
  return 1
}

setup () {
  [ -e /sys/fs/selinux/enforce ] ||
    skip "SELinux is not this host's LSM (make check-debian-vm DEBIAN_VM_LSM=selinux runs this suite in a VM where it is)"
  "$CAPSA" --version | grep -q -i -- '+selinux' || skip "capsa is built without libselinux"
  capsa_setup
  LABEL=$(pick_context system_u:system_r container_t svirt_lxc_net_t svirt_t) ||
    fail "the loaded policy has none of container_t, svirt_lxc_net_t, svirt_t"
  # the same type in other categories, for exec --process-label
  OTHER=${LABEL%:s0:c1,c2}:s0:c3,c4
  MOUNT_LABEL=$(pick_context system_u:object_r container_file_t svirt_sandbox_file_t svirt_tmpfs_t) ||
    fail "the loaded policy has none of container_file_t, svirt_sandbox_file_t, svirt_tmpfs_t"
  OWN=$(tr -d '\0' </proc/self/attr/current)
  echo "# policy $(cat /sys/fs/selinux/policyvers), enforce=$(cat /sys/fs/selinux/enforce), labels $LABEL / $MOUNT_LABEL, caller $OWN" >&3
}

teardown () {
  capsa_teardown
}

PROBE='tr -d "\0" </proc/self/attr/current; echo; tr -d "\0" </proc/1/attr/current; echo'

@test "selinux: the workload runs with selinuxLabel from its first instruction; without one, with the caller's" {
  cfg '.process.selinuxLabel = $l' --arg l "$LABEL"
  set_args sh -c "$PROBE"
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  # the workload's shell (pid 1) and its child
  assert_equal "${lines[0]}" "$LABEL"
  assert_equal "${lines[1]}" "$LABEL"
  cfg 'del(.process.selinuxLabel)'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_equal "${lines[0]}" "$OWN"
  assert_no_leftovers ctr
}

@test "selinux: exec runs with the container's label, or the one --process-label names; an unknown one fails clearly" {
  cfg '.process.selinuxLabel = $l' --arg l "$LABEL"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa exec ctr sh -c "$PROBE"
  assert_success
  assert_equal "${lines[0]}" "$LABEL"
  run_capsa exec --process-label "$OTHER" ctr sh -c "$PROBE"
  assert_success
  assert_equal "${lines[0]}" "$OTHER"
  # pid 1 keeps its own
  assert_equal "${lines[1]}" "$LABEL"
  run --separate-stderr capsa exec --process-label system_u:system_r:capsa_no_such_t:s0 ctr true
  assert_failure
  assert_error_line "$stderr"
  [[ "$stderr" == *'--process-label: SELinux label "system_u:system_r:capsa_no_such_t:s0" is not valid in the loaded policy'* ]] ||
    fail "$stderr"
  assert_equal "$(state_of ctr)" running
  capsa delete -f ctr
  assert_no_leftovers ctr
}

# mount_labels PID: "DEST TYPE CONTEXT-OPTION FILE-LABEL" for the container's /dev, /dev/pts,
# /dev/shm and /dev/mqueue, read on the host (mountinfo's super options, the mount root's label).
mount_labels () {
  local pid=$1 dest type opts ctx
  for dest in /dev /dev/pts /dev/shm /dev/mqueue; do
    read -r type opts < <(awk -v d="$dest" '$5 == d { for (i = 7; $i != "-"; i++); print $(i + 1), $(i + 3) }' "/proc/$pid/mountinfo")
    ctx=$(printf '%s\n' "$opts" | grep -o -E 'context=("[^"]*"|[^,]*)' || echo no-context)
    echo "$dest $type ${ctx//\"/} $(stat -c %C "/proc/$pid/root$dest")"
  done
}

@test "selinux: mountLabel is the context= of the container's tmpfs and devpts mounts and the label of its mqueue" {
  cfg '.linux.mountLabel = $m' --arg m "$MOUNT_LABEL"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  run mount_labels "$(pid_of ctr)"
  capsa delete -f ctr
  echo "$output"
  assert_line "/dev tmpfs context=$MOUNT_LABEL $MOUNT_LABEL"
  assert_line "/dev/pts devpts context=$MOUNT_LABEL $MOUNT_LABEL"
  assert_line "/dev/shm tmpfs context=$MOUNT_LABEL $MOUNT_LABEL"
  # mqueue takes no context= option: its root is relabelled
  assert_line "/dev/mqueue mqueue no-context $MOUNT_LABEL"
  # the same container without mountLabel: the policy's own labels, no context=
  cfg 'del(.linux.mountLabel)'
  capsa_bg run -d -b "$BUNDLE" ctr
  run mount_labels "$(pid_of ctr)"
  capsa delete -f ctr
  echo "$output"
  refute_output --partial context=
  refute_output --partial "$MOUNT_LABEL"
  assert_no_leftovers ctr
}

# session_keyring_labels ID: the SELinux labels of the session keyrings capsa made for container
# ID (named _ses.ID: the init's and one per exec), read on the host, one a line, sorted.
session_keyring_labels () {
  local key
  for key in $(awk -v n="_ses.$1:" '$8 == "keyring" && $9 == n { print $1 }' /proc/keys); do
    keyctl security "0x$key"
    echo
  done | grep . | sort
}

@test "selinux: the session keyrings of the container and of exec carry their process's label (as runc)" {
  command -v keyctl >/dev/null || skip "keyctl missing (apt-get install keyutils)"
  # an id of the test's own: keyrings are named after the container
  local id=kr-$MARK
  cfg '.process.selinuxLabel = $l' --arg l "$LABEL"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" "$id"
  run session_keyring_labels "$id"
  assert_success
  assert_output "$LABEL"
  capsa exec -d --process-label "$OTHER" "$id" sleep 1000 </dev/null >"$OUT" 2>"$ERR"
  run session_keyring_labels "$id"
  capsa delete -f "$id"
  assert_success
  assert_output "$(printf '%s\n' "$LABEL" "$OTHER" | sort)"
  # without a label: the runtime's own context, as any key it makes
  cfg 'del(.process.selinuxLabel)'
  capsa_bg run -d -b "$BUNDLE" "$id-2"
  run session_keyring_labels "$id-2"
  capsa delete -f "$id-2"
  assert_success
  assert_output "$OWN"
  assert_no_leftovers "$id" "$id-2"
}

@test "selinux: a label the policy does not know fails create with one line naming the field; nothing left" {
  cfg '.process.selinuxLabel = "system_u:system_r:capsa_no_such_t:s0"'
  run --separate-stderr capsa create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *'config.json: .process.selinuxLabel: SELinux label "system_u:system_r:capsa_no_such_t:s0" is not valid in the loaded policy'* ]] ||
    fail "$stderr"
  assert_no_leftovers ctr
  cfg 'del(.process.selinuxLabel) | .linux.mountLabel = "system_u:object_r:capsa_no_such_t:s0"'
  run --separate-stderr capsa create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *'config.json: .linux.mountLabel: SELinux label "system_u:object_r:capsa_no_such_t:s0" is not valid in the loaded policy'* ]] ||
    fail "$stderr"
  assert_no_leftovers ctr
}

@test "selinux: libselinux is mapped into the container's init only when its config has a label" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  run grep -c libselinux "/proc/$(pid_of ctr)/maps"
  capsa delete -f ctr
  assert_output 0
  cfg '.process.selinuxLabel = $l' --arg l "$LABEL"
  capsa_bg create -b "$BUNDLE" ctr
  run grep -c libselinux "/proc/$(pid_of ctr)/maps"
  capsa delete -f ctr
  refute_output 0
  cfg 'del(.process.selinuxLabel) | .linux.mountLabel = $m' --arg m "$MOUNT_LABEL"
  capsa_bg create -b "$BUNDLE" ctr
  run grep -c libselinux "/proc/$(pid_of ctr)/maps"
  capsa delete -f ctr
  refute_output 0
  assert_no_leftovers ctr
}
