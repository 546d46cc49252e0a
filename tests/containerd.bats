#!/usr/bin/env bats
# containerd.bats: containerd 1.6 (runc shim v2) drives capsa: `ctr run --runc-binary $CAPSA`.
#
# setup_file starts a private containerd (root, state, sockets, runtime root and IO fifos under a
# per-suite temp dir; CRI plugin off) inside the engines jail (engines-helpers.bash), and imports
# one busybox image built as an OCI archive (skopeo). teardown_file stops containerd by its PID.

load engines-helpers

IMG=docker.io/library/capsa-busybox:latest

setup_file () {
  export ENG_SKIP
  ENG_SKIP=$(eng_missing containerd ctr containerd-shim-runc-v2 skopeo nsenter)
  if [ -n "$ENG_SKIP" ]; then return 0; fi
  export CAPSA=$(realpath "$CAPSA")
  export ENG_TMP=$(mktemp -d /tmp/capsa-containerd.XXXXXX)
  # VM mode (the network test): the shims pass containerd's environment on to capsa
  CAPSA_VM_ASSETS=$(find_vm_assets)
  export CAPSA_VM_ASSETS CAPSA_VM_SNAPSHOT_DIR=$ENG_TMP/vm-snapshots
  export CTR_NS=capsa-ctr-${ENG_TMP##*.}
  export CTR_SOCK=$ENG_TMP/containerd.sock
  mkdir -p "$ENG_TMP/fifo" "$ENG_TMP/runc-root"
  cat >"$ENG_TMP/config.toml" <<EOF
version = 2
root = "$ENG_TMP/root"
state = "$ENG_TMP/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CTR_SOCK"

[ttrpc]
  address = "$ENG_TMP/containerd-ttrpc.sock"

[debug]
  address = "$ENG_TMP/debug.sock"
EOF
  eng_setup_jail
  # shims put runtime logs and sockets below /run/containerd unless told otherwise
  eng_overlay_dir /run
  in_jail containerd --config "$ENG_TMP/config.toml" </dev/null >"$ENG_TMP/containerd.log" 2>&1 &
  export CTR_PID=$!
  retry_until 200 ctr --address "$CTR_SOCK" version >/dev/null \
    || { cat "$ENG_TMP/containerd.log" >&3; return 1; }
  # the busybox rootfs as a one-layer OCI image, then an OCI archive for `ctr images import`
  eng_busybox_tar
  eng_oci_layout "$ENG_TMP/layout" capsa-busybox:latest
  in_jail skopeo copy -q "oci:$ENG_TMP/layout:capsa-busybox:latest" \
    "oci-archive:$ENG_TMP/busybox-oci.tar:latest"
  ctr_ images import --base-name docker.io/library/capsa-busybox "$ENG_TMP/busybox-oci.tar" >/dev/null
  ctr_ images ls -q | grep -qx "$IMG" || { ctr_ images ls >&3; return 1; }
}

teardown_file () {
  if [ -z "${ENG_TMP:-}" ]; then return 0; fi
  if [ -n "${CTR_PID:-}" ]; then
    local t c
    for t in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks resume "$t" >/dev/null 2>&1
      ctr_ tasks kill -s KILL "$t" >/dev/null 2>&1
      ctr_ tasks delete -f "$t" >/dev/null 2>&1
    done
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$c" >/dev/null 2>&1; done
    ctr_ images rm "$IMG" >/dev/null 2>&1
    # containerd runs under timeout and nsenter in the jail: stop containerd itself by its PID
    local d
    d=$(pgrep -P "$(pgrep -P "$CTR_PID" | head -1)" -x containerd 2>/dev/null || true)
    [ -z "$d" ] && d=$(pgrep -P "$CTR_PID" -x containerd 2>/dev/null || true)
    [ -n "$d" ] && kill "$d" 2>/dev/null
    wait "$CTR_PID" 2>/dev/null || true
  fi
  if [ -n "${ENG_JAIL:-}" ]; then
    in_jail sh -c "grep -o ' $ENG_TMP/[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l" || true
    eng_cgroup_cleanup "$CTR_NS"
    eng_teardown_jail || true
  fi
  rm -rf "$ENG_TMP"
}

# ctr_ ARGS...: ctr against the suite's containerd and namespace, inside the jail (the IO fifos
# and the shims live there).
ctr_ () {
  in_jail ctr --address "$CTR_SOCK" --namespace "$CTR_NS" "$@"
}

# ctr_run ARGS...: `ctr run` with capsa as the runc binary and the suite's runtime root and fifos.
ctr_run () {
  ctr_ run --runc-binary "$CAPSA" --runc-root "$ENG_TMP/runc-root" --fifo-dir "$ENG_TMP/fifo" "$@"
}

# ctr_d ID [ARGS...]: a detached task ID running ARGS (default: sleep 1000).
ctr_d () {
  local id=$1
  shift
  [ $# -gt 0 ] || set -- sleep 1000
  ctr_run -d "$IMG" "$id" "$@" </dev/null >/dev/null
}

# ctr_rm ID: kill and delete task and container ID.
ctr_rm () {
  ctr_ tasks kill -s KILL "$1" >/dev/null 2>&1 || true
  retry_until 100 task_gone_or_stopped "$1"
  ctr_ tasks delete "$1" >/dev/null 2>&1 || ctr_ tasks delete -f "$1" >/dev/null 2>&1 || true
  ctr_ containers delete "$1" >/dev/null 2>&1
}

# task_status ID: the task's status as `ctr tasks ls` shows it.
task_status () {
  ctr_ tasks ls | awk -v id="$1" '$1 == id { print $3 }'
}

task_gone_or_stopped () {
  local s
  s=$(task_status "$1")
  [ -z "$s" ] || [ "$s" = STOPPED ]
}

@test "containerd: ctr run --rm prints the output and exits with the task's status" {
  run ctr_run --rm "$IMG" t-run sh -c 'echo hello from capsa; exit 7' </dev/null
  assert_failure 7
  assert_output "hello from capsa"
  run ctr_ containers ls -q
  assert_success
  refute_output --partial "t-run"
}

@test "containerd: ctr run -d starts a detached task" {
  ctr_d t-d
  run task_status t-d
  assert_output "RUNNING"
  ctr_rm t-d
}

@test "containerd: ctr tasks exec returns the process's exit code" {
  ctr_d t-exec
  run ctr_ tasks exec --exec-id e1 --fifo-dir "$ENG_TMP/fifo" t-exec sh -c 'echo in-exec; exit 5' </dev/null
  assert_failure 5
  assert_output "in-exec"
  run ctr_ tasks exec --exec-id e2 --fifo-dir "$ENG_TMP/fifo" --user 1000 t-exec id -u </dev/null
  assert_success
  assert_output "1000"
  ctr_rm t-exec
}

@test "containerd: pause and resume" {
  ctr_d t-pause
  run ctr_ tasks pause t-pause
  assert_success
  run task_status t-pause
  assert_output "PAUSED"
  run ctr_ tasks resume t-pause
  assert_success
  run task_status t-pause
  assert_output "RUNNING"
  ctr_rm t-pause
}

@test "containerd: tasks ps lists the task's processes" {
  ctr_d t-ps
  local pid
  pid=$(ctr_ tasks ls | awk '$1 == "t-ps" { print $2 }')
  run ctr_ tasks ps t-ps
  assert_success
  assert_line --regexp "^$pid[[:space:]]"
  ctr_rm t-ps
}

@test "containerd: tasks kill stops the task with the signal" {
  ctr_d t-kill sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
  run ctr_ tasks kill -s TERM t-kill
  assert_success
  retry_until 200 task_gone_or_stopped t-kill
  run task_status t-kill
  assert_output "STOPPED"
  ctr_rm t-kill
}

@test "containerd: tasks delete and containers delete clean up" {
  ctr_d t-del
  ctr_ tasks kill -s KILL t-del
  retry_until 200 task_gone_or_stopped t-del
  run ctr_ tasks delete t-del
  assert_success
  run ctr_ containers delete t-del
  assert_success
  run ctr_ tasks ls -q
  refute_output --partial "t-del"
  run in_jail "$CAPSA" --root "$ENG_TMP/runc-root/$CTR_NS" list -q
  refute_output --partial "t-del"
}

@test "containerd: ctr run -t gives the task a tty" {
  eng_require script
  run script -qec "$(declare -f in_jail); ENG_JAIL=$ENG_JAIL ENG_TIMEOUT=$ENG_TIMEOUT in_jail ctr --address $CTR_SOCK --namespace $CTR_NS run --rm -t --runc-binary $CAPSA --runc-root $ENG_TMP/runc-root --fifo-dir $ENG_TMP/fifo $IMG t-tty sh -c 'tty; test -t 0 && echo stdin-is-tty'" /dev/null </dev/null
  assert_success
  assert_output --partial "/dev/pts/0"
  assert_output --partial "stdin-is-tty"
}

@test "containerd: ctr tasks exec -t gives the process a tty" {
  eng_require script
  ctr_d t-exectty
  run script -qec "$(declare -f in_jail); ENG_JAIL=$ENG_JAIL ENG_TIMEOUT=$ENG_TIMEOUT in_jail ctr --address $CTR_SOCK --namespace $CTR_NS tasks exec -t --exec-id et1 --fifo-dir $ENG_TMP/fifo t-exectty sh -c 'tty; test -t 0 && echo stdin-is-tty'" /dev/null </dev/null
  assert_success
  assert_output --partial "/dev/pts/"
  assert_output --partial "stdin-is-tty"
  ctr_rm t-exectty
}

@test "containerd: runtime errors reach the JSON log as level=error" {
  run ctr_run --rm "$IMG" t-bad /no/such/binary </dev/null
  assert_failure
  assert_output --partial "no such file or directory"
  ctr_ containers delete t-bad >/dev/null 2>&1 || true
  # the shim's calling convention: global --root/--log/--log-format json, errors as JSON lines
  local log=$BATS_TEST_TMPDIR/log.json
  run in_jail "$CAPSA" --root "$ENG_TMP/runc-root/$CTR_NS" --log "$log" --log-format json state t-none
  assert_failure
  run jq -r 'select(.level == "error") | .msg' "$log"
  assert_success
  assert_output --partial "t-none"
}

@test "containerd: the shim's ps --format json and state calls work on a task" {
  ctr_d t-shim
  local pid root=$ENG_TMP/runc-root/$CTR_NS
  pid=$(ctr_ tasks ls | awk '$1 == "t-shim" { print $2 }')
  run in_jail "$CAPSA" --root "$root" --log "$BATS_TEST_TMPDIR/log.json" --log-format json ps --format json t-shim
  assert_success
  run jq -e --argjson p "$pid" 'index($p) != null' <<<"$output"
  assert_success
  run in_jail "$CAPSA" --root "$root" state t-shim
  assert_success
  run jq -r .status <<<"$output"
  assert_output "running"
  ctr_rm t-shim
  # the shim deletes, then deletes again with --force on cleanup: both succeed
  run in_jail "$CAPSA" --root "$root" --log "$BATS_TEST_TMPDIR/log.json" --log-format json delete --force t-shim
  assert_success
}

@test "containerd: capsa delete then delete --force on a stopped container both succeed" {
  ctr_d t-dd sh -c 'exit 0'
  retry_until 200 task_gone_or_stopped t-dd
  local root=$ENG_TMP/runc-root/$CTR_NS
  run in_jail "$CAPSA" --root "$root" --log "$BATS_TEST_TMPDIR/log.json" --log-format json delete t-dd
  assert_success
  run in_jail "$CAPSA" --root "$root" --log "$BATS_TEST_TMPDIR/log.json" --log-format json delete --force t-dd
  assert_success
  ctr_ tasks delete t-dd >/dev/null 2>&1 || true
  ctr_ containers delete t-dd >/dev/null 2>&1 || true
  run ctr_ containers ls -q
  refute_output --partial "t-dd"
}

@test "containerd: a VM-mode task joins a prepared network namespace (ctr run --with-ns)" {
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing"
  [ -n "$CAPSA_VM_ASSETS" ] || skip "guest kernel/initramfs missing (make vm-assets)"
  # a namespace with a veth whose peer stays in a second namespace of the test (never the host's)
  local ns=ctrvm$$ peer=ctrvmp$$ got
  ip netns add "$ns"
  ip netns add "$peer"
  ip -n "$ns" link add eth0 type veth peer name p0 netns "$peer"
  ip -n "$ns" link set eth0 address 02:12:34:56:78:9a mtu 1400
  ip -n "$ns" addr add 10.77.0.2/24 dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$peer" addr add 10.77.0.1/24 dev p0
  ip -n "$peer" link set p0 up
  # containerd's jail has a /run of its own: the namespace is bound into the suite's dir there,
  # from a process that holds it
  local nsfile=$ENG_TMP/netns-$ns holder
  ip netns exec "$ns" sleep 600 </dev/null >/dev/null 2>&1 3>&- &
  holder=$!
  touch "$nsfile"
  in_jail mount --bind "/proc/$holder/ns/net" "$nsfile"
  ctr_run -d --with-ns "network:$nsfile" --annotation run.oci.handler=vm \
    --annotation run.oci.vm.accel=tcg "$IMG" t-vmnet \
    sh -c 'ip addr show eth0 >/tmp/addr; echo pong-from-the-vm | nc -l -p 7777; exec sleep 1000' </dev/null >/dev/null \
    || { in_jail umount "$nsfile"; kill "$holder"; ip netns del "$ns"; ip netns del "$peer"; fail "ctr run failed"; }
  # the guest boots under TCG: on a loaded machine that takes many seconds, so wait by the clock
  local until=$((SECONDS + 120))
  while ((SECONDS < until)); do
    got=$(ip netns exec "$peer" timeout 3 busybox nc 10.77.0.2 7777 </dev/null 2>/dev/null || true)
    [ -z "$got" ] || break
    sleep 0.2
  done
  local addr
  addr=$(ctr_ tasks exec --exec-id a1 t-vmnet cat /tmp/addr </dev/null 2>&1 || true)
  ctr_rm t-vmnet
  in_jail umount "$nsfile"
  kill "$holder"
  ip netns del "$ns"
  ip netns del "$peer"
  assert_equal "$got" pong-from-the-vm
  [[ "$addr" == *"02:12:34:56:78:9a"* && "$addr" == *"10.77.0.2/24"* && "$addr" == *"mtu 1400"* ]] \
    || fail "the guest's eth0 is not the namespace's: $addr"
}
