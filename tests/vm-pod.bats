#!/usr/bin/env bats
# vm-pod.bats: a pod as one VM (src/libcapsa/sandbox/pod.c, the agent's guest containers),
# driven through capsa's CLI as a runc shim drives it: a sandbox container with the CRI
# annotations (containerd's, or CRI-O's) starts the VM; member containers naming it run inside
# that VM.  Real VMs; every id lives in the test's own state root.

load helpers

setup () {
  capsa_setup_env
  build_rootfs
  command -v python3 >/dev/null || skip "python3 missing (the subreaper that reaps members)"
  require_vm
  export CAPSA_VM_SNAPSHOT_DIR=$CAPSA_TEST_CACHE/vm-pod-snapshots
  CAPSA_TEST_TIMEOUT=${CAPSA_VM_TEST_TIMEOUT:-90}
}

teardown () {
  capsa_teardown
  local p
  p=$(pod_qemus)
  [ -z "$p" ] || kill -9 $p 2>/dev/null || true
  find /sys/fs/cgroup -maxdepth 5 -type d -name "capsa-test-$MARK-*" -exec rmdir {} \; 2>/dev/null || true
}

# pod_bundle NAME TYPE [SANDBOX] -- ARGS...: $BATS_TEST_TMPDIR/NAME, a VM-mode bundle with the
# CRI annotations of a pod sandbox (TYPE sandbox) or member (TYPE container, of SANDBOX), as
# containerd sets them (CRI-O's names with CRIO=1); its cgroup capsa-test-$MARK-NAME.
pod_bundle () {
  local name=$1 type=$2 sb=
  shift 2
  [ "$1" = -- ] || { sb=$1; shift; }
  shift
  BUNDLE=$BATS_TEST_TMPDIR/$name make_bundle "$BATS_TEST_TMPDIR/$name" "$@"
  local tkey=io.kubernetes.cri.container-type skey=io.kubernetes.cri.sandbox-id
  if [ -n "${CRIO:-}" ]; then
    tkey=io.kubernetes.cri-o.ContainerType
    skey=io.kubernetes.cri-o.SandboxID
  fi
  BUNDLE=$BATS_TEST_TMPDIR/$name cfg '.annotations["run.oci.handler"] = "vm"
    | .annotations["run.oci.vm.accel"] = "tcg" | .annotations[$tk] = $t
    | (if $sb != "" then .annotations[$sk] = $sb else . end)
    | .linux.cgroupsPath = "capsa-test-" + $m + "-" + $n' \
    --arg tk "$tkey" --arg t "$type" --arg sk "$skey" --arg sb "$sb" --arg m "$MARK" --arg n "$name"
}

# The QEMU processes of this test's containers (the VM's name holds its state dir).
pod_qemus () {
  local f
  for f in $(grep -lsaF -- "capsa:$ROOT/" /proc/[0-9]*/cmdline); do
    f=${f%/cmdline}
    # (not the grep itself)
    [[ "$(cat "$f/comm" 2>/dev/null)" == qemu-system* ]] && echo "${f#/proc/}"
  done
  return 0
}

# start_sandbox: the pod's sandbox `sb`, running (its workload stands for the pause program).
start_sandbox () {
  pod_bundle sb sandbox -- sleep 100000
  capsa create -b "$BATS_TEST_TMPDIR/sb" sb </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/sb.err"
  capsa start sb
  [ "$(state_of sb)" = running ]
}

# member ID: create (pid file) and start member ID (bundle $BATS_TEST_TMPDIR/ID) under a child
# subreaper, as containerd's shim does, in the background; its stdout and stderr go to
# $BATS_TEST_TMPDIR/ID.out and .err, and the exit status of the process the pid file names to
# $BATS_TEST_TMPDIR/ID.status once it exits ("create N" / "start N" when those fail).
member () {
  local id=$1 d=$BATS_TEST_TMPDIR
  python3 -c "$MEMBER_PY" "$CAPSA" "$ROOT" "$id" "$d" </dev/null >"$d/$id.py.log" 2>&1 3>&- &
}
MEMBER_PY=$(
  cat <<'PY'
import ctypes, os, subprocess, sys
capsa, root, cid, d = sys.argv[1:5]
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
def done(text):
    open(d + "/" + cid + ".status.tmp", "w").write(text + "\n")
    os.rename(d + "/" + cid + ".status.tmp", d + "/" + cid + ".status")
    sys.exit(0)
with open(d + "/" + cid + ".out", "w") as o, open(d + "/" + cid + ".err", "w") as e:
    rc = subprocess.call([capsa, "--root", root, "create", "-b", d + "/" + cid, "--pid-file",
                          d + "/" + cid + ".pid", cid], stdin=subprocess.DEVNULL, stdout=o, stderr=e)
if rc != 0:
    done("create %d" % rc)
pid = int(open(d + "/" + cid + ".pid").read())
rc = subprocess.call([capsa, "--root", root, "start", cid])
if rc != 0:
    done("start %d" % rc)
while True:
    p, st = os.waitpid(-1, 0)
    if p == pid:
        break
done(str(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)))
PY
)

# wait_file PATH [SECONDS]
wait_file () {
  local i
  for ((i = 0; i < ${2:-60} * 10; i++)); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  echo "$1 did not appear" >&2
  return 1
}

# The sandbox VMM's mounts (its mount namespace: the pod share and the members' rootfs).
vmm_mounts () {
  cat "/proc/$(capsa state sb | jq -r .pid)/mountinfo"
}

@test "vm-pod: two members share localhost inside one VM, with the guest's kernel, one QEMU" {
  start_sandbox
  # A server in one member, a client in the other that waits for the test's go.
  pod_bundle m1 container sb -- sh -c 'uname -r; echo from-m1 | nc -l -p 8080; echo m1-done'
  pod_bundle m2 container sb -- sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done
    uname -r; for i in $(seq 100); do nc 127.0.0.1 8080 </dev/null && exit 0; sleep 0.1; done; exit 1'
  member m1
  member m2
  wait_for eval '[ "$(state_of m1)" = running ] && [ "$(state_of m2)" = running ]'
  # both run, and only the sandbox's QEMU is there
  run pod_qemus
  [ "${#lines[@]}" -eq 1 ] || fail "expected 1 QEMU for the pod, found ${#lines[@]}: $output"
  touch "$BATS_TEST_TMPDIR/m2/rootfs/tmp/go"
  wait_file "$BATS_TEST_TMPDIR/m1.status"
  wait_file "$BATS_TEST_TMPDIR/m2.status"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m1.status")" 0
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m2.status")" 0
  grep -qx from-m1 "$BATS_TEST_TMPDIR/m2.out" || fail "m2 did not reach m1 on localhost: $(cat "$BATS_TEST_TMPDIR/m2.out" "$BATS_TEST_TMPDIR/m2.err")"
  grep -qx m1-done "$BATS_TEST_TMPDIR/m1.out"
  # their kernel is the guest's (the sandbox's), not the host's
  local guest
  guest=$(capsa exec sb uname -r)
  [ -n "$guest" ] && [ "$guest" != "$(uname -r)" ]
  assert_equal "$(head -1 "$BATS_TEST_TMPDIR/m1.out")" "$guest"
  assert_equal "$(head -1 "$BATS_TEST_TMPDIR/m2.out")" "$guest"
  assert_equal "$(state_of m1)" stopped
  capsa delete m1
  capsa delete m2
  capsa delete --force sb
  assert_no_leftovers sb m1 m2
}

@test "vm-pod: exec into a member; a member exits with its code while its sibling runs; kill, delete" {
  start_sandbox
  pod_bundle m1 container sb -- sh -c 'echo m1 >/tmp/who; exec sleep 100000'
  pod_bundle m2 container sb -- sh -c 'echo m2 >/tmp/who; sleep 1; exit 7'
  member m1
  member m2
  wait_file "$BATS_TEST_TMPDIR/m2.status"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m2.status")" 7
  assert_equal "$(state_of m2)" stopped
  assert_equal "$(state_of m1)" running
  # exec runs in the member's own root and pid namespace (the workload is its PID 1)
  run capsa exec m1 sh -c 'cat /tmp/who; ps -o pid,args'
  assert_success
  assert_line --index 0 m1
  assert_line --regexp '^ *1 sleep 100000$'
  run capsa exec m1 sh -c 'exit 5'
  assert_failure 5
  # what the member wrote is in its own rootfs on the host
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m1/rootfs/tmp/who")" m1
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m2/rootfs/tmp/who")" m2
  # its rootfs is mounted in the sandbox VMM's pod share until it is deleted
  vmm_mounts | grep -q " /pod/m1 " || fail "no /pod/m1 in the VMM's mounts: $(vmm_mounts)"
  capsa delete m2
  vmm_mounts | grep -q " /pod/m2 " && fail "/pod/m2 left in the VMM's mounts after delete"
  capsa kill m1 KILL
  wait_file "$BATS_TEST_TMPDIR/m1.status"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m1.status")" 137
  wait_status m1 stopped
  capsa delete m1
  vmm_mounts | grep -q " /pod/m1 " && fail "/pod/m1 left in the VMM's mounts after delete"
  # the sandbox still runs after its members went
  assert_equal "$(capsa exec sb echo still-here)" still-here
  capsa delete --force sb
  assert_no_leftovers sb m1 m2
}

@test "vm-pod: deleting the sandbox stops the VM; its member reports stopped; nothing left" {
  CRIO=1 start_sandbox
  CRIO=1 pod_bundle m1 container sb -- sh -c 'echo up; exec sleep 100000'
  member m1
  wait_for grep -q up "$BATS_TEST_TMPDIR/m1.out"
  assert_equal "$(state_of m1)" running
  [ -n "$(pod_qemus)" ]
  capsa delete --force sb
  wait_file "$BATS_TEST_TMPDIR/m1.status"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/m1.status")" 137
  wait_status m1 stopped
  run pod_qemus
  assert_output ""
  capsa delete m1
  assert_no_leftovers sb m1
  run find /sys/fs/cgroup -maxdepth 5 -type d -name "capsa-test-$MARK-*"
  assert_output ""
}

@test "vm-pod: a member of a missing or non-VM sandbox fails create with one line, nothing left" {
  pod_bundle m1 container nosuch -- true
  run capsa create -b "$BATS_TEST_TMPDIR/m1" m1
  assert_failure 1
  assert_output "capsa: create container \`m1\`: config.json: .annotations[\"io.kubernetes.cri.sandbox-id\"]: pod sandbox \"nosuch\" does not exist"
  assert_no_leftovers m1
  # a sandbox of container mode (created, not a VM)
  CRIO=1 pod_bundle sb sandbox -- sleep 100000
  BUNDLE=$BATS_TEST_TMPDIR/sb cfg 'del(.annotations["run.oci.handler"])'
  capsa create -b "$BATS_TEST_TMPDIR/sb" sb </dev/null >/dev/null
  CRIO=1 pod_bundle m2 container sb -- true
  run capsa create -b "$BATS_TEST_TMPDIR/m2" m2
  assert_failure 1
  assert_output "capsa: create container \`m2\`: config.json: .annotations[\"io.kubernetes.cri-o.SandboxID\"]: pod sandbox \"sb\" is not a VM-mode pod sandbox"
  capsa delete --force sb
  assert_no_leftovers sb m2
  run find /sys/fs/cgroup -maxdepth 5 -type d -name "capsa-test-$MARK-*"
  assert_output ""
}

@test "vm-pod: a member's memory and pids limits are a cgroup of its own in the guest; update changes them, events --stats reads it" {
  start_sandbox
  pod_bundle m1 container sb -- sh -c 'sleep 100001 & sleep 100002 & echo up; exec sleep 100000'
  BUNDLE=$BATS_TEST_TMPDIR/m1 cfg '.linux.resources = {"memory": {"limit": 33554432}, "pids": {"limit": 20}}'
  pod_bundle m2 container sb -- sh -c 'echo up; exec sleep 100000'
  member m1
  member m2
  wait_for grep -q up "$BATS_TEST_TMPDIR/m1.out"
  wait_for grep -q up "$BATS_TEST_TMPDIR/m2.out"
  # its processes, exec'd ones included, are in its cgroup, with its limits
  run capsa exec m1 cat /proc/self/cgroup
  assert_output "0::/m1"
  # (the spec's cgroup mount at /sys/fs/cgroup is the guest's hierarchy)
  run capsa exec m1 cat /sys/fs/cgroup/m1/memory.max /sys/fs/cgroup/m1/pids.max
  assert_success
  assert_line --index 0 33554432
  assert_line --index 1 20
  # over its memory limit a process of the member is killed; the same in its sibling runs
  run capsa exec m1 dd if=/dev/zero of=/dev/null bs=64M count=1
  assert_failure 137
  run capsa exec m2 dd if=/dev/zero of=/dev/null bs=64M count=1
  assert_success
  assert_equal "$(state_of m1)" running
  # `capsa update` of a member changes its cgroup in the guest: 64 MiB now fit
  capsa update --memory 128m --pids-limit 30 m1
  run capsa exec m1 cat /sys/fs/cgroup/m1/memory.max /sys/fs/cgroup/m1/pids.max
  assert_success
  assert_line --index 0 134217728
  assert_line --index 1 30
  run capsa exec m1 dd if=/dev/zero of=/dev/null bs=64M count=1
  assert_success
  # events --stats reports the member's cgroup in the guest: its three processes (the host's
  # cgroup of the member holds only the process that stands for it)
  run capsa events --stats m1
  assert_success
  assert_equal "$(jq -r .data.pids.current <<<"$output")" 3
  assert_equal "$(jq -r .data.pids.limit <<<"$output")" 30
  assert_equal "$(jq -r .data.memory.usage.limit <<<"$output")" 134217728
  [ "$(jq -r .data.memory.usage.usage <<<"$output")" -gt 0 ] || fail "no memory usage: $output"
  [ "$(jq -r .data.cpu.usage.total <<<"$output")" -gt 0 ] || fail "no CPU usage: $output"
  run capsa events --stats m2
  assert_success
  assert_equal "$(jq -r .data.pids.current <<<"$output")" 1
  [ -z "$(find "$ROOT" -name 'guest-stats.*')" ] || fail "copies of the guest's cgroup files left"
  capsa kill m1 KILL
  capsa kill m2 KILL
  wait_file "$BATS_TEST_TMPDIR/m1.status"
  wait_file "$BATS_TEST_TMPDIR/m2.status"
  capsa delete m1
  capsa delete m2
  capsa delete --force sb
  assert_no_leftovers sb m1 m2
}
