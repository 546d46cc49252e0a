#!/usr/bin/env bats
# userns.bats: containers in a user namespace whose root is not the host's root, driven through
# create and start (the exec fifo, the init's failure reports), their devices, and the ownership
# of a non-root process's stdio.

load helpers

# userns_bundle HOSTUID: a user namespace mapping 0..65535 to HOSTUID.. (uids and gids); the
# bundle's parent directories are made searchable by the mapped uid.
userns_bundle () {
  cfg '.linux.namespaces = [{type: "user"}, {type: "mount"}, {type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "network"}]
     | .linux.uidMappings = [{containerID: 0, hostID: $u, size: 65536}]
     | .linux.gidMappings = [{containerID: 0, hostID: $u, size: 65536}]
     | .mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))' --argjson u "$1"
  local d=$BUNDLE
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    case $d in "$BATS_RUN_TMPDIR"*) chmod o+x "$d" ;; esac
  done
}

@test "userns: create then start runs the workload as the mapped root" {
  userns_bundle 100000
  set_args sh -c 'id -u; cat /proc/self/uid_map'
  capsa_bg create -b "$BUNDLE" ctr
  [ "$(state_of ctr)" = created ]
  run capsa start ctr
  assert_success
  wait_status ctr stopped
  run cat "$OUT"
  assert_line 0
  assert_line --regexp '^ *0 +100000 +65536$'
  capsa delete ctr
}

@test "userns: an init that fails between create and start leaves the reason start reports" {
  userns_bundle 100000
  # without /proc in the container the init cannot reopen its exec fifo after create
  cfg '.mounts |= map(select(.destination != "/proc")) | .linux.maskedPaths = [] | .linux.readonlyPaths = []'
  capsa_bg create -b "$BUNDLE" ctr
  wait_status ctr stopped
  run capsa start ctr
  assert_failure 1
  assert_output "capsa: start container \`ctr\`: container init failed after create: open exec fifo: No such file or directory"
  capsa delete ctr
  [ ! -e "$ROOT/ctr" ]
}

@test "stdio: a non-root process owns its stdio pipes and can reopen /dev/stdout; /dev/null stays root's" {
  cfg '.process.user = {uid: 1000, gid: 1000}'
  set_args sh -c 'echo out >/dev/stdout && echo err >/dev/stderr && stat -L -c "%u:%g" /proc/self/fd/1'
  run capsa run -b "$BUNDLE" ctr </dev/null
  assert_success
  assert_line out
  assert_line err
  assert_line 1000:1000
  [ "$(stat -c %u:%g /dev/null)" = 0:0 ]
  # exec'd processes too
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  run capsa exec --user 1000:1000 ctr sh -c 'echo exec-out >/dev/stdout' </dev/null
  assert_success
  assert_output exec-out
  [ "$(stat -c %u:%g /dev/null)" = 0:0 ]
  capsa delete --force ctr
}

@test "userns: linux.devices entries exist with their type, numbers, mode and owner, host node or not" {
  userns_bundle 100000
  # /dev/capsa-userns-null has no host node; /dev/zero does (4242 and 7 are ids in the container;
  # the default capabilities have no CAP_DAC_OVERRIDE: others may write to the first)
  cfg '.linux.devices = [{path: "/dev/capsa-userns-null", type: "c", major: 1, minor: 3, fileMode: 422, uid: 4242, gid: 7},
                         {path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 420, uid: 0, gid: 0}]'
  set_args sh -c 'stat -c "%n %F %t:%T %a %u:%g" /dev/capsa-userns-null /dev/zero; echo hi >/dev/capsa-userns-null && echo written; head -c 4 /dev/zero | od -An -tx1'
  capsa_bg create -b "$BUNDLE" ctr
  run capsa start ctr
  assert_success
  wait_status ctr stopped
  run cat "$OUT"
  assert_line "/dev/capsa-userns-null character special file 1:3 646 4242:7"
  assert_line "/dev/zero character special file 1:5 644 0:0"
  assert_line written
  assert_line " 00 00 00 00"
  capsa delete ctr
  [ ! -e /dev/capsa-userns-null ]
}

@test "userns: a device uid outside the mapping is a one-line error, nothing left" {
  userns_bundle 100000
  cfg '.linux.devices = [{path: "/dev/capsa-userns-x", type: "c", major: 1, minor: 3, uid: 70000}]'
  run_bg create -b "$BUNDLE" ctr
  [ "$status" -eq 1 ]
  [ "$stderr" = "capsa: create container \`ctr\`: config.json: .linux.devices[0]: uid 70000 is not mapped in the user namespace" ] || fail "$stderr"
  [ ! -e "$ROOT/ctr" ]
}
