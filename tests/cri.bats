#!/usr/bin/env bats
# cri.bats: Kubernetes' path: the kubelet's CRI calls (tests/cri/cri.py speaks them over gRPC) to
# containerd's CRI plugin, which runs pods and their containers with capsa as runtime handler
# `capsa` (an io.containerd.runc.v2 runtime with BinaryName, as contrib/containerd/config.toml
# sets it up). setup_file starts one private containerd for the suite (tests/cri/cri-env.bash:
# jail, network namespace, CNI bridge, locally built pause and busybox images); every test makes
# its own pod, under the cgroup parent $CRI_CG, and removes it again.

load engines-helpers
source "$BATS_TEST_DIRNAME/cri/cri-env.bash"

# capsa's state root for the `capsa` handler: the handler's Root plus containerd's namespace
CROOT=/run/containerd/capsa/k8s.io

setup_file () {
  export ENG_SKIP
  ENG_SKIP=$(cri_missing)
  if [ -n "$ENG_SKIP" ]; then return 0; fi
  export CAPSA=$(realpath "$CAPSA")
  export ENG_TMP=$(mktemp -d /tmp/capsa-cri.XXXXXX)
  # handler capsa-vm: the shims pass containerd's environment on to capsa
  CAPSA_VM_ASSETS=$(find_vm_assets)
  export CAPSA_VM_ASSETS CAPSA_VM_SNAPSHOT_DIR=$ENG_TMP/vm-snapshots
  cri_start >&3 2>&1
}

teardown_file () {
  cri_stop
}

# pod NAME [JQ]: write $BATS_TEST_TMPDIR/NAME.pod.json (a PodSandboxConfig, edited by the jq
# filter JQ), run it with handler $HANDLER (default capsa), and set POD to its id and PODCFG to
# the file.
pod () {
  local name=$1 filter=${2:-.}
  PODCFG=$BATS_TEST_TMPDIR/$name.pod.json
  jq -n --arg n "$name" --arg logs "$ENG_TMP/logs/$name" --arg cg "$CRI_CG/$name" \
    '{metadata: {name: $n, namespace: "capsa-cri", uid: ("uid-" + $n), attempt: 0},
      hostname: $n, logDirectory: $logs,
      linux: {cgroupParent: $cg, securityContext: {namespaceOptions: {pid: "CONTAINER"}}}}' | jq "$filter" >"$PODCFG"
  POD=$(cri runp "$PODCFG" "${HANDLER:-capsa}")
  [ -n "$POD" ]
}

# ctr NAME SCRIPT [JQ]: create and start container NAME in $POD running `sh -c SCRIPT`, its config
# edited by the jq filter JQ; set CID to its id and LOG to its log file.
ctr () {
  local name=$1 script=$2 filter=${3:-.} cfg=$BATS_TEST_TMPDIR/$1.ctr.json
  jq -n --arg n "$name" --arg img "$CRI_IMG" --arg s "$script" \
    '{metadata: {name: $n}, image: {image: $img}, command: ["sh", "-c", $s],
      logPath: ($n + "/0.log"),
      linux: {securityContext: {namespaceOptions: {pid: "CONTAINER"}}}}' | jq "$filter" >"$cfg"
  CID=$(cri create "$POD" "$cfg" "$PODCFG")
  [ -n "$CID" ]
  cri start "$CID"
  LOG=$(jq -r .logDirectory "$PODCFG")/$name/0.log
}

# wait_exited ID: wait (up to 20 s) until the container has exited; its status in $output.
wait_exited () {
  run cri wait "$1" CONTAINER_EXITED 20
  assert_success
  [ "$(jq -r .state <<<"$output")" = CONTAINER_EXITED ] || fail "container $1 did not exit: $output"
}

# wait_log FILE TEXT: wait (up to 10 s) until the CRI log FILE has a line with TEXT.
wait_log () {
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q -F -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no '$2' in $1: $(cat "$1" 2>&1)"
}

# capsa_pid ID: the pid capsa records for container ID.
capsa_pid () {
  in_jail "$CAPSA" --root "$CROOT" state "$1" | jq -r .pid
}

# jail_mounts: the mount table containerd and its shims see.
jail_mounts () {
  cat "/proc/$CRI_PID/mounts"
}

# pod_gone POD ID PID...: stop and remove the pod, then check that nothing of it is left: no
# process, no mount naming a container, no cgroup of a container (any hierarchy), no state dir
# of capsa. IDs are the sandbox's and the containers' ids, PIDs their processes.
pod_gone () {
  local pod=$1 id p h
  shift
  run cri stopp "$pod"
  assert_success
  run cri rmp "$pod"
  assert_success
  run cri ps "$pod"
  assert_success
  [ "$(jq '.containers | length' <<<"$output")" = 0 ] || fail "containers left: $output"
  for id in "$pod" "$@"; do
    case $id in
    [0-9]*)
      # a pid: it must be gone (or a zombie no longer ours, which kill -0 also reports)
      [ -d "/proc/$id" ] && [ "$(awk '{print $3}' "/proc/$id/stat" 2>/dev/null)" != Z ] \
        && fail "process $id ($(tr '\0' ' ' <"/proc/$id/cmdline")) is left"
      continue
      ;;
    esac
    jail_mounts | grep -F "$id" && fail "a mount of $id is left"
    in_jail test -e "$CROOT/$id" && fail "capsa's state dir $CROOT/$id is left"
    for h in $(in_jail sh -c 'ls -d /sys/fs/cgroup/*/ /sys/fs/cgroup/'); do
      in_jail find "$h" -maxdepth 4 -type d -name "$id" | grep . && fail "cgroup of $id left in $h"
    done
  done
  run in_jail "$CAPSA" --root "$CROOT" list -q
  for id in "$pod" "$@"; do refute_output --partial "$id"; done
}

@test "cri: RunPodSandbox runs the pause container with capsa; CNI gives the pod its IP" {
  pod p-run
  run cri podstatus "$POD"
  assert_success
  [ "$(jq -r .status.state <<<"$output")" = SANDBOX_READY ] || fail "$output"
  [ "$(jq -r .status.runtimeHandler <<<"$output")" = capsa ] || fail "$output"
  local ip
  ip=$(jq -r .status.network.ip <<<"$output")
  [[ $ip == 10.217.0.* ]] || fail "no IP from the CNI bridge's range: $output"
  # capsa runs the sandbox: its state says running, and the pause program is its process
  run in_jail "$CAPSA" --root "$CROOT" state "$POD"
  assert_success
  [ "$(jq -r .status <<<"$output")" = running ] || fail "$output"
  local pid
  pid=$(jq -r .pid <<<"$output")
  [ "$(cat "/proc/$pid/comm")" = pause ] || fail "the sandbox's process is $(cat "/proc/$pid/comm")"
  # a container of the pod sees the pod's address on its eth0 and the pod's hostname
  ctr c 'sleep 1000'
  run cri exec "$CID" 10 sh -c 'ip -4 -o addr show eth0; hostname'
  assert_success
  assert_output --partial "inet $ip/24"
  assert_line p-run
  pod_gone "$POD" "$CID" "$pid"
}

@test "cri: two containers of a pod share localhost; their output is in the pod's log dir" {
  pod p-lo
  ctr srv 'mkdir /www && echo hello-over-localhost >/www/index.html && echo serving \
    && exec httpd -f -p 127.0.0.1:8080 -h /www'
  local srv=$CID srvlog=$LOG
  ctr cli 'echo to-stderr >&2; for i in $(seq 100); do
    wget -q -O - http://127.0.0.1:8080/index.html && exit 0; sleep 0.1; done; exit 1'
  wait_exited "$CID"
  [ "$(jq -r .exitCode <<<"$output")" = 0 ] || fail "the client failed: $output $(cat "$LOG")"
  # the CRI log format: RFC 3339 time, stream, P(artial)/F(ull) tag, the line
  run cat "$LOG"
  assert_line --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stdout F hello-over-localhost$'
  assert_line --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stderr F to-stderr$'
  [ "$LOG" = "$ENG_TMP/logs/p-lo/cli/0.log" ]
  wait_log "$srvlog" "stdout F serving"
  # ContainerStatus names the log file
  run cri status "$srv"
  assert_success
  [ "$(jq -r .status.logPath <<<"$output")" = "$srvlog" ] || fail "$output"
  local pid ppid ns
  pid=$(capsa_pid "$srv")
  # the pod's namespaces are the sandbox's (joined by path), the pid namespace the container's own
  ppid=$(capsa_pid "$POD")
  for ns in net ipc uts; do
    [ "$(readlink "/proc/$pid/ns/$ns")" = "$(readlink "/proc/$ppid/ns/$ns")" ] \
      || fail "the container's $ns namespace is not the sandbox's"
  done
  [ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink "/proc/$ppid/ns/pid")" ] \
    || fail "the container shares the sandbox's pid namespace without shareProcessNamespace"
  [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink "/proc/$ppid/ns/mnt")" ] \
    || fail "the container shares the sandbox's mount namespace"
  pod_gone "$POD" "$srv" "$CID" "$pid"
}

@test "cri: shareProcessNamespace puts the pod's containers in the sandbox's pid namespace" {
  pod p-pidns '.linux.securityContext.namespaceOptions.pid = "POD"'
  ctr a 'exec sleep 1001' '.linux.securityContext.namespaceOptions.pid = "POD"'
  local a=$CID pa
  ctr b 'sleep 1000' '.linux.securityContext.namespaceOptions.pid = "POD"'
  pa=$(capsa_pid "$a")
  [ "$(readlink "/proc/$pa/ns/pid")" = "$(readlink "/proc/$(capsa_pid "$POD")/ns/pid")" ] \
    || fail "container a is not in the sandbox's pid namespace"
  # in b, the pause process is pid 1 and a's sleep is visible, and b can signal it
  run cri exec "$CID" 10 sh -c 'cat /proc/1/comm; ps -o args'
  assert_success
  assert_line pause
  assert_line --partial 'sleep 1001'
  run cri exec "$CID" 10 sh -c 'for p in /proc/[0-9]*; do
    [ "$(tr "\0" " " <$p/cmdline)" = "sleep 1001 " ] && kill ${p#/proc/} && echo killed; done'
  assert_output killed
  wait_exited "$a"
  [ "$(jq -r .exitCode <<<"$output")" = 143 ] || fail "$output"
  pod_gone "$POD" "$a" "$CID" "$pa"
}

@test "cri: ExecSync returns stdout, stderr and the exit code, and enforces its timeout" {
  pod p-exec
  ctr c 'sleep 1000'
  run --separate-stderr cri exec "$CID" 10 sh -c 'echo to-out; echo to-err >&2; exit 7'
  assert_failure 7
  assert_output to-out
  [ "$stderr" = to-err ] || fail "stderr: $stderr"
  run cri exec "$CID" 10 id -u
  assert_success
  assert_output 0
  # a command over its timeout: the call fails in about the timeout, and the command is killed
  local t0=$SECONDS
  run cri exec "$CID" 1 sh -c 'exec sleep 77'
  assert_failure 124
  [ $((SECONDS - t0)) -lt 10 ] || fail "ExecSync with timeout 1 took $((SECONDS - t0)) s"
  local i
  for ((i = 0; i < 100; i++)); do
    pgrep -f 'sleep 77' >/dev/null || break
    sleep 0.05
  done
  run pgrep -f 'sleep 77'
  assert_failure
  pod_gone "$POD" "$CID"
}

@test "cri: ContainerStatus reports the exit code, and OOMKilled over the memory limit" {
  pod p-status
  ctr c3 'echo bye; exit 3'
  local c3=$CID
  wait_exited "$c3"
  [ "$(jq -r .exitCode <<<"$output")" = 3 ] || fail "$output"
  [ "$(jq -r .reason <<<"$output")" = Error ] || fail "$output"
  [ "$(jq -r '.finishedAt | tonumber > 0' <<<"$output")" = true ] || fail "$output"
  # 32 MiB limit, a 128 MiB buffer: the kernel's OOM killer ends it and containerd says why
  ctr oom 'exec dd if=/dev/zero of=/dev/null bs=128M count=1' \
    '.linux.resources.memoryLimitInBytes = 33554432'
  wait_exited "$CID"
  [ "$(jq -r .reason <<<"$output")" = OOMKilled ] || fail "$output $(cat "$LOG")"
  [ "$(jq -r .exitCode <<<"$output")" = 137 ] || fail "$output"
  pod_gone "$POD" "$c3" "$CID"
}

@test "cri: UpdateContainerResources changes the limits; ContainerStats reports usage" {
  pod p-res
  ctr c 'while :; do :; done' '.linux.resources = {memoryLimitInBytes: 67108864, cpuShares: 1024}'
  local cg
  cg=$(in_jail cat "/proc/$(capsa_pid "$CID")/cgroup" | awk -F: '$2 == "memory" { print $3 }')
  [[ $cg == "$CRI_CG/p-res/"* ]] || fail "the container's memory cgroup $cg is not below $CRI_CG/p-res"
  run in_jail cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes"
  assert_output 67108864
  echo '{"memoryLimitInBytes": 100663296, "cpuShares": 512, "cpuPeriod": 100000,
    "cpuQuota": 50000, "cpusetCpus": "0"}' >"$BATS_TEST_TMPDIR/res.json"
  run cri update "$CID" "$BATS_TEST_TMPDIR/res.json"
  assert_success
  run in_jail cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes"
  assert_output 100663296
  run in_jail cat "/sys/fs/cgroup/cpu$cg/cpu.shares"
  assert_output 512
  run in_jail cat "/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us"
  assert_output 50000
  run in_jail cat "/sys/fs/cgroup/cpuset$cg/cpuset.cpus"
  assert_output 0
  # ContainerStatus reports the resources now in force
  run cri status "$CID"
  assert_success
  [ "$(jq -r .status.resources.linux.cpuQuota <<<"$output")" = 50000 ] || fail "$output"
  # the container sees the new limit as its own cgroup's
  run cri exec "$CID" 10 cat /sys/fs/cgroup/memory/memory.limit_in_bytes
  assert_success
  assert_output 100663296
  run cri stats "$CID"
  assert_success
  [ "$(jq -r .stats.attributes.id <<<"$output")" = "$CID" ] || fail "$output"
  [ "$(jq -r '.stats.cpu.usageCoreNanoSeconds.value | tonumber > 0' <<<"$output")" = true ] \
    || fail "no CPU usage: $output"
  [ "$(jq -r '.stats.memory.workingSetBytes.value | tonumber > 0' <<<"$output")" = true ] \
    || fail "no memory usage: $output"
  pod_gone "$POD" "$CID"
}

@test "cri: StopContainer sends SIGTERM, then SIGKILL after the grace period" {
  pod p-stop
  # ignores SIGTERM: killed after the 2 s grace period
  ctr stubborn 'trap "echo got-TERM" TERM; echo ready; while :; do sleep 0.1; done'
  local stubborn=$CID stubborn_log=$LOG
  # exits on SIGTERM with its own status: stopped at once
  ctr polite 'trap "echo leaving; exit 42" TERM; echo ready; while :; do sleep 0.1; done'
  wait_log "$stubborn_log" ready
  wait_log "$LOG" ready
  local t0=$EPOCHREALTIME took
  run cri stop "$CID" 10
  assert_success
  took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  awk -v t="$took" 'BEGIN { exit !(t < 5) }' || fail "a container that exits on SIGTERM took $took s to stop"
  run cri status "$CID"
  [ "$(jq -r .status.exitCode <<<"$output")" = 42 ] || fail "$output"
  wait_log "$LOG" leaving
  t0=$EPOCHREALTIME
  run cri stop "$stubborn" 2
  assert_success
  took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  awk -v t="$took" 'BEGIN { exit !(t >= 2) }' || fail "SIGKILL came before the grace period: $took s"
  awk -v t="$took" 'BEGIN { exit !(t < 8) }' || fail "stopping took $took s"
  wait_log "$stubborn_log" got-TERM
  run cri status "$stubborn"
  [ "$(jq -r .status.state <<<"$output")" = CONTAINER_EXITED ] || fail "$output"
  [ "$(jq -r .status.exitCode <<<"$output")" = 137 ] || fail "$output"
  # RemoveContainer drops a stopped container, capsa's state included
  run cri rm "$stubborn"
  assert_success
  run cri status "$stubborn"
  assert_failure
  run in_jail test -e "$CROOT/$stubborn"
  assert_failure
  pod_gone "$POD" "$stubborn" "$CID"
}

@test "cri: StopPodSandbox and RemovePodSandbox leave no process, mount, cgroup or state" {
  pod p-gone
  ctr a 'sleep 1000'
  local a=$CID pa pp
  pa=$(capsa_pid "$a")
  ctr b 'sleep 1000'
  pp=$(capsa_pid "$POD")
  # running: capsa has state, a cgroup and a rootfs mount for each
  in_jail test -d "$CROOT/$a"
  jail_mounts | grep -q -F "$a"
  in_jail test -d "/sys/fs/cgroup/memory$CRI_CG/p-gone/$a"
  run cri stopp "$POD"
  assert_success
  run cri podstatus "$POD"
  [ "$(jq -r .status.state <<<"$output")" = SANDBOX_NOTREADY ] || fail "$output"
  run cri status "$a"
  [ "$(jq -r .status.state <<<"$output")" = CONTAINER_EXITED ] || fail "$output"
  pod_gone "$POD" "$a" "$CID" "$pa" "$pp"
  in_jail test ! -e "/sys/fs/cgroup/memory$CRI_CG/p-gone/$a"
}

@test "cri: a pod whose containers run as a non-root user" {
  pod p-user '.linux.securityContext += {runAsUser: {value: 1000}, runAsGroup: {value: 1000}}'
  ctr c 'id -u; id -g; touch /root/x 2>&1; sleep 1000' \
    '.linux.securityContext += {runAsUser: {value: 1000}, runAsGroup: {value: 1000}}'
  wait_log "$LOG" "Permission denied"
  run sed -E 's/^[^ ]+ [a-z]+ F //' "$LOG"
  assert_line 1000
  refute_line 0
  # ExecSync runs as the container's user too
  run cri exec "$CID" 10 id -u
  assert_success
  assert_output 1000
  local pid
  pid=$(capsa_pid "$CID")
  [ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = 1000 ] || fail "process not uid 1000"
  pod_gone "$POD" "$CID"
}

@test "cri: readOnlyRootFilesystem makes the container's root read-only" {
  pod p-ro
  ctr c 'touch /newfile 2>&1; echo status=$?; sleep 1000' \
    '.linux.securityContext += {readonlyRootfs: true}'
  wait_log "$LOG" "status="
  run cat "$LOG"
  assert_output --partial "Read-only file system"
  assert_output --partial "status=1"
  run cri exec "$CID" 10 sh -c 'echo x >/etc/x'
  assert_failure
  # the pod's /etc/hosts and the like stay writable mounts only where the CRI puts them
  run cri exec "$CID" 10 sh -c 'grep " / " /proc/self/mounts'
  assert_output --regexp ' / [a-z]+ ro[,]'
  pod_gone "$POD" "$CID"
}

@test "cri: a container with a terminal (tty: true) logs through the console capsa hands the shim" {
  pod p-tty
  ctr t 'tty; test -t 1 && echo is-a-tty; stty size; sleep 1000' '.tty = true'
  wait_log "$LOG" is-a-tty
  run cat "$LOG"
  assert_line --regexp '^[0-9-]+T[0-9:.]+Z stdout F /dev/pts/[0-9]+'
  pod_gone "$POD" "$CID"
}

@test "cri: a hostNetwork pod and a privileged container" {
  # like the kubelet, no hostname for a hostNetwork pod (the node's UTS namespace is shared)
  pod p-host '.linux.securityContext += {privileged: true}
    | .linux.securityContext.namespaceOptions.network = "NODE" | del(.hostname)'
  ctr c 'sleep 1000' '.linux.securityContext += {privileged: true, namespaceOptions: {network: "NODE", pid: "CONTAINER"}}'
  local pid
  pid=$(capsa_pid "$CID")
  # the node's network is containerd's here (the suite's own network namespace)
  [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink "/proc/$CRI_PID/ns/net")" ] \
    || fail "the hostNetwork container is not in the node's network namespace"
  run cri podstatus "$POD"
  [ "$(jq -r .status.network.ip <<<"$output")" = "" ] || fail "a hostNetwork pod got a CNI address: $output"
  # privileged: every capability, and the host's devices
  run cri exec "$CID" 10 sh -c 'grep CapEff /proc/self/status; ls /dev/loop-control /dev/net/tun'
  assert_success
  assert_line --regexp "CapEff:[[:space:]]+000001ffffffffff|CapEff:[[:space:]]+$(awk '/CapBnd/ { print $2 }' /proc/self/status)"
  assert_line /dev/net/tun
  pod_gone "$POD" "$CID" "$pid"
}

# qemus_of ID: the QEMU processes whose command line names ID (a VM's name holds its state dir).
qemus_of () {
  local f
  for f in $(grep -lsaF -- "$1" /proc/[0-9]*/cmdline); do
    f=${f%/cmdline}
    [[ "$(cat "$f/comm" 2>/dev/null)" == qemu-system* ]] && echo "${f#/proc/}"
  done
  return 0
}

@test "cri: handler capsa-vm runs a pod as one VM: shared localhost, the guest's kernel, the pod's IP" {
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing"
  [ -n "$CAPSA_VM_ASSETS" ] || skip "guest kernel/initramfs missing (make vm-assets)"
  local CROOT=/run/containerd/capsa-vm/k8s.io HANDLER=capsa-vm
  pod p-vm
  run cri podstatus "$POD"
  [ "$(jq -r .status.runtimeHandler <<<"$output")" = capsa-vm ] || fail "$output"
  local ip
  ip=$(jq -r .status.network.ip <<<"$output")
  [[ $ip == 10.217.0.* ]] || fail "no IP from the CNI bridge's range: $output"
  # a server and a client in the pod, over the guest's localhost; the client then exits with a code
  ctr srv 'mkdir /www && uname -r >/www/index.html && ip -4 -o addr show eth0 && echo serving \
    && exec httpd -f -p 127.0.0.1:8080 -h /www'
  local srv=$CID srvlog=$LOG
  ctr cli 'echo to-stderr >&2; for i in $(seq 300); do
    wget -q -O - http://127.0.0.1:8080/index.html && exit 3; sleep 0.1; done; exit 1'
  local cli=$CID
  wait_exited "$cli"
  [ "$(jq -r .exitCode <<<"$output")" = 3 ] || fail "the client did not exit 3: $output $(cat "$LOG")"
  # its output is the guest's kernel release, in the CRI log format; stderr too
  run sed -nE 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stdout F //p' "$LOG"
  assert_success
  [ -n "$output" ] && [ "$output" != "$(uname -r)" ] || fail "not the guest's kernel: '$output'"
  local guest=$output
  run cat "$LOG"
  assert_line --regexp '^[0-9-]+T[0-9:.]+Z stderr F to-stderr$'
  # the sibling keeps running; the VM has the pod's network: its eth0 holds the pod's IP
  run cri status "$srv"
  [ "$(jq -r .status.state <<<"$output")" = CONTAINER_RUNNING ] || fail "$output"
  wait_log "$srvlog" "stdout F serving"
  grep -q -F "inet $ip/24" "$srvlog" || fail "the guest's eth0 lacks the pod's IP $ip: $(cat "$srvlog")"
  # one QEMU for the whole pod, named after the sandbox; none for its containers
  local q
  q=$(qemus_of "$POD")
  [ "$(wc -w <<<"$q")" = 1 ] || fail "QEMU processes of the pod: '$q'"
  [ -z "$(qemus_of "$srv")$(qemus_of "$cli")" ] || fail "a container of the pod has a VM of its own"
  # ExecSync runs in the guest container: stdout, stderr, exit code
  run --separate-stderr cri exec "$srv" 20 sh -c 'uname -r; echo to-err >&2; exit 7'
  assert_failure 7
  assert_output "$guest"
  [ "$stderr" = to-err ] || fail "stderr: $stderr"
  # StopContainer (httpd dies of SIGTERM), RemoveContainer; then the pod goes, and its VM
  run cri stop "$srv" 10
  assert_success
  run cri status "$srv"
  [ "$(jq -r .status.state <<<"$output")" = CONTAINER_EXITED ] || fail "$output"
  run cri rm "$srv"
  assert_success
  run in_jail test -e "$CROOT/$srv"
  assert_failure
  pod_gone "$POD" "$srv" "$cli" $q
  [ -z "$(qemus_of "$POD")" ] || fail "the pod's VM is left"
}
