#!/usr/bin/env bats
# vm-confine.bats: VM isolation mode's hypervisor holds no more privilege than the container's
# process would (src/libcapsa/sandbox/confine.c): its identity is process.user, its capabilities
# the container's cut to what QEMU's virtio-9p server uses, no_new_privs, the container's seccomp
# filter and QEMU's own -sandbox; the guest still runs, writes files with the right owners on the
# host rootfs, exec works and boot snapshots save and restore.

load helpers

# What confine.c may leave the VMM (VMM_CAPS): CHOWN, DAC_OVERRIDE, FOWNER, FSETID.
VMM_CAPS=$(( (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) ))

setup () {
  capsa_setup
  require_vm
  export CAPSA_VM_SNAPSHOT_DIR=$CAPSA_TEST_CACHE/vm-snapshots
  CAPSA_TEST_TIMEOUT=${CAPSA_VM_TEST_TIMEOUT:-90}
  cfg '.annotations["run.oci.handler"] = "vm"'
}

teardown () {
  capsa_teardown
}

# cap_mask NAME...: the capabilities' bit mask (the names these tests use).
cap_mask () {
  local m=0 n
  for n in "$@"; do
    case $n in
    CAP_CHOWN) m=$((m | 1 << 0)) ;;
    CAP_DAC_OVERRIDE) m=$((m | 1 << 1)) ;;
    CAP_FOWNER) m=$((m | 1 << 3)) ;;
    CAP_FSETID) m=$((m | 1 << 4)) ;;
    CAP_KILL) m=$((m | 1 << 5)) ;;
    CAP_SETGID) m=$((m | 1 << 6)) ;;
    CAP_SETUID) m=$((m | 1 << 7)) ;;
    CAP_SETPCAP) m=$((m | 1 << 8)) ;;
    CAP_NET_BIND_SERVICE) m=$((m | 1 << 10)) ;;
    CAP_SYS_CHROOT) m=$((m | 1 << 18)) ;;
    CAP_MKNOD) m=$((m | 1 << 27)) ;;
    CAP_AUDIT_WRITE) m=$((m | 1 << 29)) ;;
    CAP_SETFCAP) m=$((m | 1 << 31)) ;;
    *) fail "cap_mask: no bit for $n" ;;
    esac
  done
  echo "$m"
}

# set_caps NAME...: process.capabilities bounding/effective/permitted = NAMES (inheritable and
# ambient absent).
set_caps () {
  cfg '.process.capabilities = {"bounding": $c, "effective": $c, "permitted": $c}' \
    --argjson c "$(json_array "$@")"
}

# vmm_pid: the hypervisor of the running container `ctr` (its init's child).
vmm_pid () {
  local init
  init=$(pid_of ctr)
  awk '{print $1}' "/proc/$init/task/$init/children"
}

# status_field PID NAME: the value of NAME in /proc/PID/status.
status_field () {
  awk -v n="$2:" '$1 == n {print $2; exit}' "/proc/$1/status"
}

# check_vmm EXPECTED-UID: the running VMM of `ctr` is confined to the container's sets (from
# config.json) and VMM_CAPS, with no_new_privs and seccomp, as uid EXPECTED-UID.
check_vmm () {
  local q bnd prm eff
  q=$(vmm_pid)
  [ -n "$q" ] || fail "no hypervisor process"
  grep -qa -- '-sandbox' "/proc/$q/cmdline" || fail "the hypervisor has no -sandbox option"
  bnd=$(cap_mask $(jq -r '.process.capabilities.bounding // [] | .[]' "$BUNDLE/config.json"))
  prm=$(cap_mask $(jq -r '.process.capabilities.permitted // [] | .[]' "$BUNDLE/config.json"))
  eff=$(cap_mask $(jq -r '.process.capabilities.effective // [] | .[]' "$BUNDLE/config.json"))
  local set allowed v
  for set in CapBnd:$bnd CapPrm:$prm CapEff:$eff CapInh:0 CapAmb:0; do
    allowed=$(( ${set#*:} & VMM_CAPS ))
    v=$((16#$(status_field "$q" "${set%%:*}")))
    (( (v & ~allowed) == 0 )) || fail "${set%%:*} of the hypervisor is $(printf %x $v), beyond $(printf %x $allowed) (container's set & VMM_CAPS)"
  done
  assert_equal "$(status_field "$q" NoNewPrivs)" 1
  assert_equal "$(status_field "$q" Seccomp)" 2
  assert_equal "$(awk '$1 == "Uid:" {print $2 $3 $4 $5}' "/proc/$q/status")" "$1$1$1$1"
}

# stop_ctr: kill and delete the container `ctr`.
stop_ctr () {
  capsa kill ctr KILL
  wait_status ctr stopped
  capsa delete ctr
}

@test "vm-confine: the default config's VMM holds no capability, has no_new_privs and seccomp; root's files and exec work" {
  set_args sh -c 'echo from-root > /tmp/by-root; echo ready; exec sleep 1000'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for grep -q ready "$OUT"
  check_vmm 0
  # the default config's sets hold none of VMM_CAPS: nothing at all
  assert_equal "$(status_field "$(vmm_pid)" CapEff)" 0000000000000000
  assert_equal "$(status_field "$(vmm_pid)" CapBnd)" 0000000000000000
  run_bg exec ctr sh -c 'echo from-exec > /tmp/by-exec && cat /tmp/by-root'
  assert_equal "$status" 0
  assert_equal "$output" from-root
  stop_ctr
  assert_equal "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/by-root")" 0:0
  assert_equal "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/by-exec")" 0:0
  assert_equal "$(cat "$BUNDLE/rootfs/tmp/by-exec")" from-exec
}

@test "vm-confine: an empty capability list works; a non-root process's VMM runs as that user and its files are the user's" {
  set_caps
  cfg '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5]} | .process.cwd = "/home/user"'
  set_args sh -c 'id -u > /home/user/mine; echo x > /tmp/user-tmp; echo ready; exec sleep 1000'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for grep -q ready "$OUT"
  check_vmm 1000
  assert_equal "$(status_field "$(vmm_pid)" CapBnd)" 0000000000000000
  assert_equal "$(awk '$1 == "Gid:" {print $2 $3 $4 $5}' "/proc/$(vmm_pid)/status")" 1000100010001000
  assert_equal "$(awk '$1 == "Groups:" {print $2 $3}' "/proc/$(vmm_pid)/status")" 5
  run_bg exec ctr sh -c 'echo e > /home/user/by-exec; id -u'
  assert_equal "$status" 0
  assert_equal "$output" 1000
  stop_ctr
  assert_equal "$(stat -c %u:%g "$BUNDLE/rootfs/home/user/mine")" 1000:1000
  assert_equal "$(cat "$BUNDLE/rootfs/home/user/mine")" 1000
  assert_equal "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/user-tmp")" 1000:1000
  assert_equal "$(stat -c %u:%g "$BUNDLE/rootfs/home/user/by-exec")" 1000:1000
}

@test "vm-confine: a container with the file capabilities: the VMM keeps exactly those of VMM_CAPS, and guest root uses each" {
  set_caps CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_MKNOD CAP_SETUID CAP_SETGID CAP_KILL \
    CAP_SETPCAP CAP_SETFCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_AUDIT_WRITE
  # each line needs one of them in the VMM: CHOWN, DAC_OVERRIDE (write, read, search), FOWNER
  # (chmod, utimes of another's file), FSETID (g+s on a file of another group)
  set_args sh -c 'set -e; t=/tmp/ops; mkdir $t
    echo x > $t/a; chown 1000:1000 $t/a
    echo x > $t/b; chown 1000:1000 $t/b; chmod 600 $t/b; echo y >> $t/b; cat $t/b >/dev/null
    mkdir $t/d; echo z > $t/d/f; chown -R 1000:1000 $t/d; chmod 700 $t/d; cat $t/d/f >/dev/null
    chmod 640 $t/b; touch -d "2020-01-01 00:00:00" $t/b
    echo x > $t/c; chgrp 1000 $t/c; chmod 2755 $t/c
    echo ready; exec sleep 1000'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for grep -q ready "$OUT" || fail "the operations failed: $(cat "$ERR")"
  check_vmm 0
  assert_equal "$(status_field "$(vmm_pid)" CapEff)" "$(printf %016x $VMM_CAPS)"
  assert_equal "$(status_field "$(vmm_pid)" CapBnd)" "$(printf %016x $VMM_CAPS)"
  # a non-root process of a root container: the VMM creates its files, then gives them to it
  run_bg exec --user 1000:1000 ctr sh -c 'echo u > /tmp/by-user'
  assert_equal "$status" 0
  stop_ctr
  local t=$BUNDLE/rootfs/tmp/ops
  assert_equal "$(stat -c %u:%g "$t/a")" 1000:1000
  assert_equal "$(stat -c %u:%g:%a "$t/b")" 1000:1000:640
  assert_equal "$(cat "$t/b")" "$(printf 'x\ny')"
  assert_equal "$(stat -c %Y "$t/b")" "$(date -u -d '2020-01-01 00:00:00' +%s)"
  assert_equal "$(stat -c %a "$t/c")" 2755
  assert_equal "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/by-user")" 1000:1000
}

# podman_profile CAPS-JSON: podman's default seccomp profile (containers-common) as podman
# turns it into linux.seccomp for a container holding those capabilities on x86_64.
podman_profile () {
  jq --argjson caps "$1" '
    def applies: ((.includes.caps // []) - $caps | length == 0)
      and ((.excludes.caps // []) as $x | ($caps - $x | length) == ($caps | length))
      and ((.includes.arches // []) | length == 0 or index("amd64") != null)
      and ((.excludes.arches // []) | index("amd64") == null);
    {defaultAction, defaultErrnoRet,
     architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
     syscalls: [.syscalls[] | select(applies) | {names, action}
       + (if .errnoRet then {errnoRet} else {} end)
       + (if (.args // []) | length > 0 then {args} else {} end)]}' /usr/share/containers/seccomp.json
}

@test "vm-confine: podman's default seccomp profile confines the VMM too; boot snapshots save and restore under it" {
  [ -f /usr/share/containers/seccomp.json ] || skip "no /usr/share/containers/seccomp.json (apt-get install golang-github-containers-common)"
  cfg '.linux.seccomp = $p' --argjson p "$(podman_profile "$(jq -c .process.capabilities.bounding "$BUNDLE/config.json")")"
  # snapshots of this test alone: the first run saves (QMP migrate to a descriptor), the second
  # restores (-incoming from one), both under the filters
  export CAPSA_VM_SNAPSHOT_DIR=$BATS_TEST_TMPDIR/snapshots
  local run
  for run in save restore; do
    set_args sh -c 'echo '$run' > /tmp/'$run'; echo ready; exec sleep 1000'
    capsa_bg --debug run -d -b "$BUNDLE" ctr
    wait_for grep -q ready "$OUT" || fail "$run: $(cat "$ERR")"
    check_vmm 0
    # QEMU's -sandbox filter and the container's
    assert_equal "$(status_field "$(vmm_pid)" Seccomp_filters)" 2
    case $run in
    save) grep -q "saving this VM's boot" "$ERR" || fail "no save: $(cat "$ERR")" ;;
    restore) grep -q "starting from" "$ERR" || fail "no restore: $(cat "$ERR")" ;;
    esac
    run_bg exec ctr cat /tmp/$run
    assert_equal "$output" $run
    stop_ctr
    rm -f "$OUT" "$ERR"
  done
  [ -n "$(ls "$CAPSA_VM_SNAPSHOT_DIR"/*.vmstate)" ] || fail "no snapshot saved"
}

@test "vm-confine: a seccomp filter that denies what QEMU needs stops the VM at the boot timeout, with a note saying why" {
  # QEMU's main loop waits in ppoll: denied, it spins and the guest never starts the workload
  cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["ppoll"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
  CAPSA_VM_BOOT_TIMEOUT=3 run_bg run -b "$BUNDLE" ctr
  [ "$status" -ne 0 ] || fail "the VM ran under a filter denying ppoll"
  [[ "$stderr" == *"did not start the workload within 3 seconds"* ]] || fail "$stderr"
  [[ "$stderr" == *"config.json: .linux.seccomp applies to the hypervisor too"* ]] || fail "$stderr"
  capsa delete -f ctr
}
