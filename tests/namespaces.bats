#!/usr/bin/env bats
# namespaces.bats: new and joined namespaces, compared with the host's /proc/self/ns links.

load helpers

# userns_setup HOSTUID HOSTGID: a user namespace mapping 0..65535 to the given host ids; the
# bundle's parent directories are made searchable by the mapped uid.
userns_setup () {
  cfg '.linux.namespaces = [{type: "user"}, {type: "mount"}, {type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "network"}]
     | .linux.uidMappings = [{containerID: 0, hostID: $u, size: 65536}]
     | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 65536}]
     | .mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))' --argjson u "$1" --argjson g "$2"
  local d=$BUNDLE
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    case $d in "$BATS_RUN_TMPDIR"*) chmod o+x "$d" ;; esac
  done
}

# set_namespaces TYPE...: exactly these new namespaces.
set_namespaces () {
  cfg 'del(.hostname, .domainname) | .linux.namespaces = [$t | unique[] | {type: .}]' --argjson t "$(json_array "$@")"
}

# container_ns NSFILE: the container's /proc/self/ns/NSFILE link.
container_ns () {
  set_args readlink "/proc/self/ns/$1"
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [[ "$output" == *:\[*\] ]] || fail "unexpected ns link: $output"
}

# Each namespace type: new when listed (link differs from the host's), the host's when not listed.
ns_new_and_shared () {
  local type=$1 file=$2 host
  host=$(readlink "/proc/self/ns/$file")
  set_namespaces mount pid "$type"
  container_ns "$file"
  [ "$output" != "$host" ] || fail "$type: container shares the host namespace $host"
  # (an inherited mount namespace needs a config without mounts: see its own tests)
  [ "$type" = mount ] && return 0
  set_namespaces mount pid
  [ "$type" = pid ] && set_namespaces mount
  container_ns "$file"
  [ "$output" = "$host" ] || fail "$type not requested, but container has $output, host $host"
}

@test "pid namespace" {
  ns_new_and_shared pid pid
}

@test "pid namespace: the process is pid 1 and sees only the container's processes" {
  set_args sh -c 'echo $$; ls -d /proc/[0-9]* | wc -l'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" -le 3 ]
}

@test "network namespace" {
  ns_new_and_shared network net
}

@test "network namespace has only a loopback interface, and it is up" {
  set_args sh -c 'ls /sys/class/net; cat /sys/class/net/lo/operstate; ip -o link show lo'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "${lines[0]}" = lo ]
  assert_output --partial "LOOPBACK,UP"
}

@test "ipc namespace" {
  ns_new_and_shared ipc ipc
}

@test "uts namespace" {
  ns_new_and_shared uts uts
}

@test "mount namespace" {
  ns_new_and_shared mount mnt
}

@test "cgroup namespace" {
  ns_new_and_shared cgroup cgroup
}

@test "cgroup namespace: the container sees its cgroup as the root" {
  set_namespaces mount pid cgroup
  set_args cat /proc/self/cgroup
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  local l
  for l in "${lines[@]}"; do
    [[ "$l" == *:/ ]] || fail "cgroup not rooted: $l"
  done
}

@test "time namespace" {
  [ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
  ns_new_and_shared time time
}

@test "time namespace: timeOffsets shift monotonic and boottime clocks" {
  [ -e /proc/self/timens_offsets ] || skip "kernel without time namespaces"
  set_namespaces mount pid time
  cfg '.linux.timeOffsets = {monotonic: {secs: 86400000, nanosecs: 0}, boottime: {secs: 172800000, nanosecs: 5}}'
  set_args sh -c 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_line --regexp '^monotonic +86400000 +0$'
  assert_line --regexp '^boottime +172800000 +5$'
  # /proc/uptime follows the boottime clock
  [ "${lines[2]}" -ge 172800000 ]
}

@test "user namespace with uid and gid mappings" {
  local host
  host=$(readlink /proc/self/ns/user)
  userns_setup 100000 200000
  set_args sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map /proc/self/gid_map; id -u; echo pid=$$'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "${lines[0]}" != "$host" ]
  [[ "${lines[1]}" =~ ^\ *0\ +100000\ +65536$ ]] || fail "uid_map: ${lines[1]}"
  [[ "${lines[2]}" =~ ^\ *0\ +200000\ +65536$ ]] || fail "gid_map: ${lines[2]}"
  [ "${lines[3]}" = 0 ]
}

@test "user namespace: the container process runs as the mapped host uid" {
  userns_setup 100000 100000
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  grep -E '^Uid:' "/proc/$pid/status" | grep -q -E '^Uid:\s+100000\s+100000\s+100000\s+100000$' \
    || fail "host view: $(grep -E '^(Uid|Gid):' "/proc/$pid/status")"
  grep -q -E '^Gid:\s+100000\s' "/proc/$pid/status"
  capsa delete --force ctr
}

@test "join a network namespace by path" {
  command -v ip >/dev/null || skip "ip (iproute2) missing"
  local name=capsa-test-$$-$BATS_TEST_NUMBER
  ip netns add "$name"
  defer "ip netns del $name"
  local want
  want=$(ip netns exec "$name" readlink /proc/self/ns/net)
  [ "$want" != "$(readlink /proc/self/ns/net)" ]
  cfg '.linux.namespaces = (.linux.namespaces | map(select(.type != "network"))) + [{type: "network", path: $p}]' \
    --arg p "/run/netns/$name"
  container_ns net
  [ "$output" = "$want" ]
}

@test "join a uts namespace by path (bind-mounted namespace file)" {
  local f=$BATS_TEST_TMPDIR/uts
  touch "$f"
  unshare --uts="$f" hostname joined-uts-ns
  defer "umount $f"
  cfg 'del(.hostname) | .linux.namespaces = (.linux.namespaces | map(select(.type != "uts"))) + [{type: "uts", path: $p}]' \
    --arg p "$f"
  set_args hostname
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output joined-uts-ns
  [ "$(hostname)" != joined-uts-ns ]
}

# no_mountns_cfg: the bundle without a mount namespace, nor anything that needs one.
no_mountns_cfg () {
  cfg 'del(.mounts, .linux.maskedPaths, .linux.readonlyPaths, .linux.rootfsPropagation, .linux.devices)
       | .root.readonly = false | .linux.namespaces |= map(select(.type != "mount"))'
}

@test "mount namespace omitted: the runtime's is inherited, the init and exec chrooted into root.path" {
  no_mountns_cfg
  touch "$BUNDLE/rootfs/marker-$MARK"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  [ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ] || fail "not the runtime's mount namespace"
  [ "$(readlink /proc/$pid/root)" = "$BUNDLE/rootfs" ] || fail "root: $(readlink /proc/$pid/root)"
  run_capsa exec ctr ls /
  assert_success
  assert_line "marker-$MARK"
  [ -z "$(mounts_under "$BUNDLE")" ] || fail "mounts made: $(mounts_under "$BUNDLE")"
  capsa delete -f ctr
}

@test "mount namespace omitted: fields that need mounts are refused by name" {
  cfg '.linux.namespaces |= map(select(.type != "mount"))'
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  assert_error_line "$stderr"
  [[ "$stderr" == *"config.json: .mounts: needs a new mount namespace"* ]] || fail "error: $stderr"
  assert_no_leftovers ctr
  no_mountns_cfg
  cfg '.linux.maskedPaths = ["/proc/kcore"]'
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  [[ "$stderr" == *"config.json: .linux.maskedPaths: needs a new mount namespace"* ]] || fail "error: $stderr"
  assert_no_leftovers ctr
}

@test "join a mount namespace by path: the container sees that namespace's mounts" {
  local f=$BATS_TEST_TMPDIR/mnt
  touch "$f"
  unshare --mount="$f" --propagation private true
  defer "umount $f"
  # a tmpfs on the rootfs's /mnt, in the joined namespace only
  nsenter --mount="$f" sh -c 'mount -t tmpfs capsa-joined "$0/mnt" && touch "$0/mnt/only-in-joined"' "$BUNDLE/rootfs"
  [ ! -e "$BUNDLE/rootfs/mnt/only-in-joined" ] || fail "the tmpfs reached the runtime's namespace"
  no_mountns_cfg
  cfg '.linux.namespaces += [{type: "mount", path: $p}]' --arg p "$f"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  [ "$(readlink /proc/$pid/ns/mnt)" = "$(nsenter --mount="$f" readlink /proc/self/ns/mnt)" ] || fail "not the joined namespace"
  run_capsa exec ctr ls /mnt
  assert_success
  assert_output only-in-joined
  capsa delete -f ctr
}

@test "hostname and domainname with a uts namespace joined by path set its names" {
  local f=$BATS_TEST_TMPDIR/uts
  touch "$f"
  unshare --uts="$f" hostname before
  defer "umount $f"
  cfg '.hostname = "joined-host" | .domainname = "joined.example"
       | .linux.namespaces = (.linux.namespaces | map(select(.type != "uts"))) + [{type: "uts", path: $p}]' \
    --arg p "$f"
  set_args sh -c 'hostname; cat /proc/sys/kernel/domainname'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output $'joined-host\njoined.example'
  [ "$(nsenter --uts="$f" hostname)" = joined-host ]
  [ "$(hostname)" != joined-host ]
}

@test "join the pid and ipc namespaces of another container" {
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" first
  local pid
  pid=$(pid_of first)
  cfg '.linux.namespaces = (.linux.namespaces | map(select(.type != "ipc" and .type != "pid"))) + [{type: "ipc", path: $i}, {type: "pid", path: $p}]' \
    --arg i "/proc/$pid/ns/ipc" --arg p "/proc/$pid/ns/pid"
  set_args sh -c 'readlink /proc/self/ns/ipc; ps -o comm | grep -c sleep'
  run_capsa run -b "$BUNDLE" second
  assert_success
  [ "${lines[0]}" = "$(readlink "/proc/$pid/ns/ipc")" ]
  [ "${lines[1]}" -ge 1 ]
  capsa delete --force first
}

@test "join the cgroup and time namespaces of another container" {
  [ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
  cfg '.linux.namespaces |= map(select(.type != "cgroup" and .type != "time")) + [{type: "cgroup"}, {type: "time"}]'
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" first
  local pid
  pid=$(pid_of first)
  # (second in a cgroup of its own: outside the root of the cgroup namespace it joins)
  cfg '.linux.cgroupsPath += "-second"
       | .linux.namespaces |= map(select(.type != "cgroup" and .type != "time")) + [{type: "cgroup", path: $c}, {type: "time", path: $t}]' \
    --arg c "/proc/$pid/ns/cgroup" --arg t "/proc/$pid/ns/time"
  set_args sh -c 'readlink /proc/self/ns/cgroup; readlink /proc/self/ns/time'
  run_capsa run -b "$BUNDLE" second
  assert_success
  assert_output "$(readlink /proc/$pid/ns/cgroup; readlink /proc/$pid/ns/time)"
  capsa delete --force first
}

@test "join the user namespace of another container" {
  userns_setup 100000 100000
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" first
  local pid
  pid=$(pid_of first)
  cfg 'del(.linux.uidMappings, .linux.gidMappings)
       | .linux.namespaces |= map(select(.type != "user")) + [{type: "user", path: $u}]' --arg u "/proc/$pid/ns/user"
  set_args sh -c 'readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map'
  run_capsa run -b "$BUNDLE" second
  assert_success
  assert_equal "${lines[0]}" "$(readlink /proc/$pid/ns/user)"
  assert_equal "${lines[1]}" 0
  [[ "${lines[2]}" =~ ^\ *0\ +100000\ +65536$ ]] || fail "uid_map: ${lines[2]}"
  capsa delete --force first
}

@test "joining a namespace path of the wrong type fails cleanly" {
  cfg '.linux.namespaces = (.linux.namespaces | map(select(.type != "network"))) + [{type: "network", path: "/proc/self/ns/uts"}]'
  set_args true
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  assert_error_line "$stderr"
  assert_no_leftovers ctr
}

@test "hostname is set in the new uts namespace" {
  cfg '.hostname = "capsa-host" | .domainname = "capsa.example"'
  set_args sh -c 'hostname; cat /proc/sys/kernel/domainname'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "${lines[0]}" = capsa-host ]
  [ "${lines[1]}" = capsa.example ]
  [ "$(hostname)" != capsa-host ]
}

@test "user namespace with a new time namespace and timeOffsets" {
  [ -e /proc/self/timens_offsets ] || skip "kernel without time namespaces"
  userns_setup 100000 100000
  cfg '.linux.namespaces += [{type: "time"}] | .linux.timeOffsets = {monotonic: {secs: 86400, nanosecs: 0}}'
  set_args cat /proc/self/timens_offsets
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_line --regexp '^monotonic +86400 +0$'
}

@test "exec into a user namespace container that joined a namespace of the host's user namespace" {
  local f=$BATS_TEST_TMPDIR/uts
  touch "$f"
  unshare --uts="$f" hostname host-owned-uts
  defer "umount $f"
  userns_setup 100000 100000
  cfg 'del(.hostname) | .linux.namespaces = (.linux.namespaces | map(select(.type != "uts"))) + [{type: "uts", path: $p}]' --arg p "$f"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa exec ctr hostname
  assert_success
  assert_output host-owned-uts
  capsa delete -f ctr
}
