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
