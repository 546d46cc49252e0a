#!/usr/bin/env bats
# specfields.bats: linux.memoryPolicy (set_mempolicy in the container and in exec'd processes,
# read back with get_mempolicy) and linux.netDevices (a veth the test makes in network
# namespaces of its own, moved into the container's), with their errors.

load helpers

PROGS=$BATS_TEST_DIRNAME/progs


# with_mempolicy JSON: set linux.memoryPolicy and put show-mempolicy in the rootfs.
with_mempolicy () {
  cfg '.linux.memoryPolicy = $m' --argjson m "$1"
  cp "$(build_prog show-mempolicy -static)" "$BUNDLE/rootfs/bin/show-mempolicy"
}

# expect_policy JSON LINE: the container's process reports LINE under policy JSON.
expect_policy () {
  with_mempolicy "$1"
  set_args /bin/show-mempolicy
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output "$2"
}

# refuse_policy JSON TEXT: create fails with one error line containing TEXT, nothing left.
refuse_policy () {
  with_mempolicy "$1"
  # through files: a create that wrongly succeeds must fail the test, not hang it
  run_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *"$2"* ]] || fail "expected \"$2\" in: $stderr"
  assert_no_leftovers ctr
}

numa_nodes () {
  cat /sys/devices/system/node/possible 2>/dev/null || echo 0
}

# ---------------------------------------------------------------- memoryPolicy -------------

@test "memoryPolicy: every mode one node allows is applied (get_mempolicy in the container)" {
  [ "$(numa_nodes)" = 0 ] || skip "written for a host with the single NUMA node 0 (has $(numa_nodes))"
  expect_policy '{"mode":"MPOL_BIND","nodes":"0"}' "mode=MPOL_BIND flags=- nodes=0"
  expect_policy '{"mode":"MPOL_INTERLEAVE","nodes":"0"}' "mode=MPOL_INTERLEAVE flags=- nodes=0"
  expect_policy '{"mode":"MPOL_PREFERRED","nodes":"0"}' "mode=MPOL_PREFERRED flags=- nodes=0"
  expect_policy '{"mode":"MPOL_PREFERRED_MANY","nodes":"0"}' \
    "mode=MPOL_PREFERRED_MANY flags=- nodes=0"
  expect_policy '{"mode":"MPOL_LOCAL"}' "mode=MPOL_LOCAL flags=- nodes=-"
  expect_policy '{"mode":"MPOL_DEFAULT"}' "mode=MPOL_DEFAULT flags=- nodes=-"
  # MPOL_PREFERRED without nodes is local allocation (the kernel reports MPOL_LOCAL)
  expect_policy '{"mode":"MPOL_PREFERRED","nodes":""}' "mode=MPOL_LOCAL flags=- nodes=-"
}

@test "memoryPolicy: MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+)" {
  [ "$(numa_nodes)" = 0 ] || skip "written for a host with the single NUMA node 0"
  [ -d /sys/kernel/mm/mempolicy/weighted_interleave ] || skip "this kernel has no weighted interleave"
  expect_policy '{"mode":"MPOL_WEIGHTED_INTERLEAVE","nodes":"0"}' \
    "mode=MPOL_WEIGHTED_INTERLEAVE flags=- nodes=0"
}

@test "memoryPolicy: flags (static, relative, NUMA balancing)" {
  [ "$(numa_nodes)" = 0 ] || skip "written for a host with the single NUMA node 0"
  expect_policy '{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}' \
    "mode=MPOL_BIND flags=MPOL_F_STATIC_NODES nodes=0"
  # relative node numbers: "0-1" means the first two allowed nodes (one here), kept as given
  expect_policy '{"mode":"MPOL_INTERLEAVE","nodes":"0-1","flags":["MPOL_F_RELATIVE_NODES"]}' \
    "mode=MPOL_INTERLEAVE flags=MPOL_F_RELATIVE_NODES nodes=0,1"
  expect_policy '{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_NUMA_BALANCING"]}' \
    "mode=MPOL_BIND flags=MPOL_F_NUMA_BALANCING nodes=0"
}

@test "memoryPolicy: applied to processes started by capsa exec too" {
  with_mempolicy '{"mode":"MPOL_INTERLEAVE","nodes":"0"}'
  set_args sleep 30
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa exec ctr /bin/show-mempolicy
  assert_success
  assert_output "mode=MPOL_INTERLEAVE flags=- nodes=0"
  capsa delete --force ctr
}

@test "memoryPolicy: bad modes, flags and nodes are refused naming the field" {
  refuse_policy '{"mode":"MPOL_NOPE"}' 'config.json: .linux.memoryPolicy.mode: unknown'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_BOGUS"]}' \
    'config.json: .linux.memoryPolicy.flags[0]: unknown flag "MPOL_F_BOGUS"'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_RELATIVE_NODES"]}' \
    'config.json: .linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES'
  refuse_policy '{"mode":"MPOL_INTERLEAVE","nodes":"0","flags":["MPOL_F_NUMA_BALANCING"]}' \
    'config.json: .linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"0-"}' \
    'config.json: .linux.memoryPolicy.nodes: malformed node list "0-"'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"a"}' 'config.json: .linux.memoryPolicy.nodes: malformed'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"0,,1"}' 'config.json: .linux.memoryPolicy.nodes: malformed'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"3-1"}' \
    'config.json: .linux.memoryPolicy.nodes: range 3-1 ends before it starts'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"4096"}' \
    'config.json: .linux.memoryPolicy.nodes: node 4096 is out of range'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"99999999999999999999"}' \
    'config.json: .linux.memoryPolicy.nodes: node'
  refuse_policy '{"mode":"MPOL_BIND","nodes":"1024","flags":["MPOL_F_STATIC_NODES"]}' \
    'config.json: .linux.memoryPolicy.nodes: node 1024 is out of range'
  refuse_policy '{"mode":"MPOL_BIND"}' 'config.json: .linux.memoryPolicy.nodes: MPOL_BIND needs at least one node'
  refuse_policy '{"mode":"MPOL_LOCAL","nodes":"0"}' 'config.json: .linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes'
  refuse_policy '{"mode":"MPOL_DEFAULT","nodes":"0"}' 'config.json: .linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes'
  refuse_policy '{"mode":"MPOL_PREFERRED","flags":["MPOL_F_STATIC_NODES"]}' \
    'config.json: .linux.memoryPolicy.flags: MPOL_F_STATIC_NODES needs nodes'
}

@test "memoryPolicy: a node this host does not have is refused" {
  local n
  n=$(numa_nodes)
  n=$((${n##*-} + 1))
  refuse_policy "{\"mode\":\"MPOL_BIND\",\"nodes\":\"$n\"}" \
    "config.json: .linux.memoryPolicy.nodes: node $n is out of range (this host's highest possible NUMA node is"
}

@test "features: memoryPolicy modes and flags, netDevices enabled" {
  run capsa features
  assert_success
  run jq -c '.linux.memoryPolicy' <<<"$output"
  assert_output '{"modes":["MPOL_DEFAULT","MPOL_BIND","MPOL_INTERLEAVE","MPOL_WEIGHTED_INTERLEAVE","MPOL_PREFERRED","MPOL_PREFERRED_MANY","MPOL_LOCAL"],"flags":["MPOL_F_NUMA_BALANCING","MPOL_F_RELATIVE_NODES","MPOL_F_STATIC_NODES"]}'
  run capsa features
  run jq -c '.linux.netDevices' <<<"$output"
  assert_output '{"enabled":true}'
}

# ---------------------------------------------------------------- netDevices ---------------
# The "host" of these tests is a network namespace the test makes (NS): capsa runs in it through
# nsenter (not `ip netns exec`, which remounts /sys and hides the cgroup mounts), so the veth
# pairs moved into containers never touch the machine's own interfaces.

# netns_setup: NS with the veth pair sfa0 <-> sfb0 (sfa0: addresses of global and link scope).
netns_setup () {
  command -v ip >/dev/null || skip "ip (iproute2) missing"
  command -v nsenter >/dev/null || skip "nsenter missing"
  NS=specfields-$MARK
  ip netns add "$NS" || skip "cannot create a network namespace"
  defer "ip netns del $NS"
  ip -n "$NS" link add sfa0 type veth peer name sfb0
  ip -n "$NS" addr add 10.55.0.1/24 dev sfa0
  ip -n "$NS" addr add fd55::1/64 dev sfa0 nodad
  ip -n "$NS" addr add 10.66.0.1/24 dev sfa0 scope link
}

# ncapsa ARGS...: capsa in NS.
ncapsa () {
  nsenter --net="/run/netns/$NS" timeout --foreground -k 5 "$CAPSA_TEST_TIMEOUT" \
    "$CAPSA" --root "$ROOT" "$@" 3>&-
}

# nrun_bg ARGS...: capsa in NS through files (a container that wrongly survives create cannot
# hold bats' output open); sets $status and $output, which is capsa's stderr.
nrun_bg () {
  status=0
  ncapsa "$@" </dev/null >"$OUT" 2>"$ERR" || status=$?
  output=$(cat "$ERR")
}

# in_ns COMMAND...: COMMAND's output, in NS.
in_ns () {
  ip netns exec "$NS" "$@"
}

netdevs () {
  cfg '.linux.netDevices = $d' --argjson d "$1"
}

@test "netDevices: moved into the container renamed, global addresses kept, up; gone at delete" {
  netns_setup
  netdevs '{"sfa0": {"name": "ctr0"}}'
  set_args sleep 60
  ncapsa run -d -b "$BUNDLE" ctr </dev/null >"$OUT" 2>"$ERR"
  # the runtime's namespace lost it, the container has it under its new name
  run ip -n "$NS" link show sfa0
  assert_failure
  run ncapsa exec ctr sh -c 'ip -o link show ctr0; ip -o addr show dev ctr0; ls /sys/class/net'
  assert_success
  assert_line --regexp '^[0-9]+: ctr0@.*<.*UP.*>'
  assert_output --partial 'inet 10.55.0.1/24'
  assert_output --partial 'inet6 fd55::1/64'
  # only permanent addresses of global scope move (the spec's RFC 3549 rule)
  refute_output --partial '10.66.0.1'
  assert_line ctr0
  # the spec: nothing moves it back; the kernel destroys a veth with the container's namespace
  # (its peer goes with it)
  ncapsa delete --force ctr
  wait_for eval '! ip -n "$NS" link show sfb0 >/dev/null 2>&1'
  run ip -n "$NS" link show sfa0
  assert_failure
}

@test "netDevices: without name the device keeps its name; a %d template is completed" {
  netns_setup
  ip -n "$NS" link add sfc0 type veth peer name sfd0
  netdevs '{"sfa0": {}, "sfc0": {"name": "sfn%d"}}'
  set_args sh -c 'ls /sys/class/net | sort | tr "\n" " "'
  run ncapsa run -b "$BUNDLE" ctr </dev/null
  assert_success
  assert_output 'lo sfa0 sfn0 '
}

@test "netDevices: a device missing in the runtime's namespace is an error naming it" {
  netns_setup
  netdevs '{"sfzz9": {"name": "ctr0"}}'
  nrun_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line
  assert_output --partial 'config.json: .linux.netDevices.sfzz9: no network device "sfzz9" in the runtime'"'"'s network namespace'
  assert_no_leftovers ctr
}

@test "netDevices: a name taken in the container's namespace is an error; moved devices come back" {
  netns_setup
  ip -n "$NS" link add sfc0 type veth peer name sfd0
  # sfa0 moves first, then sfc0 cannot be named lo: create fails and gives sfa0 back
  netdevs '{"sfa0": {"name": "ctr0"}, "sfc0": {"name": "lo"}}'
  nrun_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_output --partial 'config.json: .linux.netDevices.sfc0: a network device "lo" already exists in the container'"'"'s network namespace'
  assert_no_leftovers ctr
  run ip -n "$NS" -o addr show dev sfa0
  assert_success
  assert_output --partial 'inet 10.55.0.1/24'
  run ip -n "$NS" link show sfc0
  assert_success
}

@test "netDevices: refused without a network namespace of the container's own, and bad names" {
  netns_setup
  netdevs '{"sfa0": {}}'
  cfg '.linux.namespaces |= map(select(.type != "network"))'
  nrun_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line
  assert_output --partial 'config.json: .linux.netDevices: needs a network namespace for the container'
  assert_no_leftovers ctr
  cfg '.linux.namespaces += [{"type": "network"}]'
  netdevs '{"sfa0": {"name": "a/b"}}'
  nrun_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_output --partial 'config.json: .linux.netDevices.sfa0.name: "a/b" is not a valid network device name'
  netdevs '{"sfa0": {"name": "x"}, "sfb0": {"name": "x"}}'
  nrun_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_output --partial 'config.json: .linux.netDevices.sfb0: two devices would be named "x" in the container'
  assert_no_leftovers ctr
  # nothing moved
  ip -n "$NS" link show sfa0 >/dev/null
  ip -n "$NS" link show sfb0 >/dev/null
}

# ---------------------------------------------------------------- process fields -----------
# (fields tests/spec-coverage.tsv lists as applied that no other suite shows)

# stat_of FIELDS: `cut -d' ' -f FIELDS /proc/self/stat` in a container (the shell forks cut, as
# it does not exec the last command when another follows: what a child of the container's process
# inherits).  Fields: 18 priority, 19 nice, 41 policy.
stat_of () {
  set_args sh -c "cut -d' ' -f $1 /proc/self/stat; true"
  run_capsa run -b "$BUNDLE" ctr
  assert_success
}

# rt_budget: a real-time budget for the container's cgroup (cgroup v1 with RT group scheduling
# gives a new cpu cgroup none, and SCHED_FIFO/RR then fail with EPERM).
rt_budget () {
  if [ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]; then
    cfg '.linux.resources.cpu.realtimeRuntime = 10000 | .linux.resources.cpu.realtimePeriod = 1000000'
  fi
}

@test "process.scheduler: policy, nice and priority reach the process" {
  cfg '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 7}'
  stat_of 19,41
  assert_output "7 3"
  rt_budget
  cfg '.process.scheduler = {"policy": "SCHED_FIFO", "priority": 12}'
  stat_of 18,41
  assert_output "-13 1"
}

@test "process.scheduler: flags (SCHED_FLAG_RESET_ON_FORK: the shell's child is SCHED_OTHER)" {
  rt_budget
  cfg '.process.scheduler = {"policy": "SCHED_RR", "priority": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}'
  stat_of 41
  assert_output "0"
  cfg '.process.scheduler = {"policy": "SCHED_RR", "priority": 5}'
  stat_of 41
  assert_output "2"
}

@test "process.scheduler: SCHED_DEADLINE with runtime, deadline and period" {
  cfg '.process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 5000000, "period": 10000000}'
  # the init itself reads its parameters (a deadline task may not fork)
  set_args cat /proc/self/sched
  run_capsa run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || skip "SCHED_DEADLINE refused here: $output"
  assert_line --regexp '^policy +: +6$'
  # deadline and period do not show in /proc; the kernel checks runtime <= deadline <= period
  cfg '.process.scheduler.deadline = 500000'
  run_capsa run -b "$BUNDLE" ctr
  assert_failure
  cfg '.process.scheduler.deadline = 5000000 | .process.scheduler.period = 2000000'
  run_capsa run -b "$BUNDLE" ctr
  assert_failure
}

@test "process.ioPriority: class and priority reach the process (ionice)" {
  cfg '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}'
  set_args ionice
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output --regexp 'best-effort.*6'
  cfg '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output --partial 'idle'
}

@test "linux.personality: LINUX32 makes uname report a 32-bit machine" {
  [ "$(uname -m)" = x86_64 ] || skip "written for x86_64 hosts"
  cfg '.linux.personality = {"domain": "LINUX32"}'
  set_args uname -m
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output i686
  cfg '.linux.personality = {"domain": "LINUX"}'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output x86_64
}

@test "ociVersion: any 1.x runs; another major version is refused naming the field" {
  set_args true
  cfg '.ociVersion = "1.0.2-dev"'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  cfg '.ociVersion = "2.0.0"'
  run_bg create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *'config.json: .ociVersion: "2.0.0" is not a version 1 runtime spec'* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "exec --process: a field capsa cannot apply is refused naming process.json" {
  # exec's errors exit 255, as runc's
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local f=$BATS_TEST_TMPDIR/process.json
  jq '.process | .args = ["true"]' "$BUNDLE/config.json" >"$f"
  run_capsa exec --process "$f" ctr
  assert_success
  jq '.process | .args = ["true"] | .execCPUAffinity = {"initial": "0"}' "$BUNDLE/config.json" >"$f"
  run_capsa exec --process "$f" ctr
  assert_failure 255
  assert_error_line
  assert_output --partial 'process.json: .execCPUAffinity: not supported by capsa'
  jq '.process | .args = ["true"] | .user.username = "root"' "$BUNDLE/config.json" >"$f"
  run_capsa exec --process "$f" ctr
  assert_failure 255
  assert_output --partial 'process.json: .user.username: a Windows field'
  capsa delete -f ctr
}
