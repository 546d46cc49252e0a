#!/usr/bin/env bats
# cgroups.bats: linux.resources at create, ps, pause/resume, kill --all, update, events, OOM.
#
# Runs on v1, hybrid and pure v2 hosts. CAPSA_TEST_CGROUP_MANAGER selects the cgroup manager
# (cgroupfs, the default, or systemd); with systemd the bundle's cgroupsPath is
# system.slice:capsa-test:<mark>, i.e. the transient scope capsa-test-<mark>.scope. The cgroup v2
# VM lane (tests/cgroupv2-vm, `make check-cgroupv2-vm`) runs this suite under both managers on a
# pure v2 host with systemd as PID 1.

load helpers

MANAGER=${CAPSA_TEST_CGROUP_MANAGER:-cgroupfs}
V2=false
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && V2=true

if [ "$MANAGER" != cgroupfs ]; then
  # helpers.bash's capsa with the manager under test (later commands read it from the state)
  capsa () {
    timeout --foreground -k 5 "$CAPSA_TEST_TIMEOUT" "$CAPSA" --cgroup-manager "$MANAGER" --root "$ROOT" "$@" 3>&-
  }
fi

setup () {
  if [[ "$BATS_TEST_DESCRIPTION" == systemd:* ]] && [ "$MANAGER" != systemd ]; then
    skip "systemd manager only (CAPSA_TEST_CGROUP_MANAGER=systemd)"
  fi
  capsa_setup
  CG_NAME=capsa-test-$MARK
  if [ "$MANAGER" = systemd ]; then
    [ -d /run/systemd/system ] || skip "systemd is not running here (tests/cgroupv2-vm boots a VM where it is)"
    cfg '.linux.cgroupsPath = "system.slice:capsa-test:" + $m' --arg m "$MARK"
    CG_NAME=capsa-test-$MARK.scope
  fi
}

teardown () {
  local rc=0
  capsa_teardown || rc=$?
  # capsa_teardown looks for capsa-test-<mark> directories; a systemd scope has its own name
  if [ "$MANAGER" = systemd ] && [ -n "${CG_NAME:-}" ]; then
    if [ -n "$(systemctl list-units --all --no-legend --plain "$CG_NAME" 2>/dev/null)" ]; then
      echo "leak: systemd unit $CG_NAME remains: $(systemctl is-active "$CG_NAME")" >&2
      systemctl stop "$CG_NAME" >/dev/null 2>&1
      systemctl reset-failed "$CG_NAME" >/dev/null 2>&1
      rc=1
    fi
  fi
  return $rc
}

# cg_dir CONTROLLER: the container's cgroup directory in a v1 hierarchy (the bundle's relative
# cgroupsPath resolves under our own cgroup there).
cg_dir () {
  local own
  own=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
  own=${own%/}
  echo "/sys/fs/cgroup/$1$own/$CG_NAME"
}

# cg2_dir: the container's cgroup directory on a pure v2 host (cgroupfs: below our own cgroup;
# systemd: the scope in system.slice).
cg2_dir () {
  if [ "$MANAGER" = systemd ]; then
    echo "/sys/fs/cgroup/system.slice/$CG_NAME"
    return
  fi
  local own
  own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  own=${own%/}
  echo "/sys/fs/cgroup$own/$CG_NAME"
}

# cg_val V1-CONTROLLER V1-FILE V2-FILE: a file of the container's cgroup, whichever the host has.
cg_val () {
  if $V2; then
    cat "$(cg2_dir)/$3"
  else
    cat "$(cg_dir "$1")/$2"
  fi
}

need_v1 () {
  [ -d "/sys/fs/cgroup/$1" ] && [ -e "/sys/fs/cgroup/$1/cgroup.procs" ] || skip "no v1 $1 hierarchy on this host"
}

# need_ctrl CONTROLLER: the controller is there (v1 hierarchy, or the unified one on v2 hosts).
need_ctrl () {
  if $V2; then
    grep -qw "$1" /sys/fs/cgroup/cgroup.controllers || skip "no $1 controller in the unified hierarchy"
  else
    need_v1 "$1"
  fi
}

# res JSON: set .linux.resources.
res () {
  cfg '.linux.resources = $r' --argjson r "$1"
}

# no_cgroup_left: no directory of this test's cgroupsPath anywhere, and no systemd unit.
no_cgroup_left () {
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG_NAME" 2>/dev/null)
  [ -z "$cg" ] || fail "cgroups remain: $cg"
  if [ "$MANAGER" = systemd ]; then
    [ -z "$(systemctl list-units --all --no-legend --plain "$CG_NAME")" ] \
      || fail "unit remains: $(systemctl list-units --all --no-legend --plain "$CG_NAME")"
  fi
}

# leftovers ID...: helpers.bash's assert_no_leftovers, plus the systemd unit and scope directory.
leftovers () {
  assert_no_leftovers "$@"
  no_cgroup_left
}

# in_own_cgroup PID: every hierarchy of /proc/PID/cgroup names the container's cgroup.
in_own_cgroup () {
  local line
  while IFS= read -r line; do
    [[ "${line##*:}" == */"$CG_NAME" ]] || fail "process $1 is not in the container's cgroup: $line"
  done <"/proc/$1/cgroup"
}

@test "the init and exec'd processes sit in the container's cgroup in every hierarchy" {
  # they join it themselves (v1 tasks files, clone3 into the unified cgroup): check each one
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  in_own_cgroup "$(pid_of ctr)"
  capsa exec -d --pid-file "$BATS_TEST_TMPDIR/epid" ctr sleep 1001
  in_own_cgroup "$(cat "$BATS_TEST_TMPDIR/epid")"
  capsa delete -f ctr
  no_cgroup_left
}

@test "ps lists the container's processes (json and table)" {
  set_args sh -c 'sleep 1001 & sleep 1002 & wait'
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  wait_for eval '[ "$(capsa ps -f json ctr | jq length)" -eq 3 ]'
  run_capsa ps --format json ctr
  assert_success
  echo "$output" | jq -e --argjson p "$pid" 'index($p) != null'
  [[ "$output" =~ ^\[[0-9]+,[0-9]+,[0-9]+\]$ ]]
  run_capsa ps ctr
  assert_success
  assert_line --regexp '^UID +PID +PPID'
  assert_line --partial 'sleep 1001'
  assert_line --partial 'sleep 1002'
  [ "${#lines[@]}" -eq 4 ]
  # ps arguments go to ps; only the container's lines are kept
  run_capsa ps ctr -o pid,comm
  assert_success
  assert_line --regexp "^ *$pid +sh$"
  [ "${#lines[@]}" -eq 4 ]
  run_capsa ps -f yaml ctr
  assert_failure 1
  assert_output --partial 'invalid format'
  capsa delete -f ctr
}

@test "pause freezes every process, state says paused, resume continues" {
  set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i >> /tmp/c; usleep 5000; done'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for test -s "$BUNDLE/rootfs/tmp/c"
  run_capsa resume ctr
  assert_failure 1
  assert_output --partial 'container not paused'
  run_capsa pause ctr
  assert_success
  [ "$(state_of ctr)" = paused ]
  [ "$(capsa list -f json | jq -r '.[0].status')" = paused ]
  local a b
  a=$(stat -c %s "$BUNDLE/rootfs/tmp/c")
  sleep 0.5
  b=$(stat -c %s "$BUNDLE/rootfs/tmp/c")
  [ "$a" = "$b" ] || fail "counter advanced while paused: $a -> $b"
  if $V2; then
    [ "$(cat "$(cg2_dir)/cgroup.freeze")" = 1 ]
    grep -qx 'frozen 1' "$(cg2_dir)/cgroup.events"
  else
    [ "$(cat "$(cg_dir freezer)/freezer.state")" = FROZEN ]
  fi
  run_capsa pause ctr
  assert_failure 1
  assert_output --partial 'container not running'
  run_capsa resume ctr
  assert_success
  [ "$(state_of ctr)" = running ]
  wait_for eval '[ "$(stat -c %s "$BUNDLE/rootfs/tmp/c")" -gt "$b" ]'
  # a paused container can be killed and deleted
  capsa pause ctr
  capsa delete -f ctr
  no_cgroup_left
}

@test "pause/resume of a container that does not exist or is stopped" {
  run_capsa pause nosuch
  assert_failure 1
  assert_error_line
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr stopped
  run_capsa pause ctr
  assert_failure 1
  assert_output --partial 'container not running'
  capsa delete ctr
}

@test "kill --all reaches every process of a container without a pid namespace" {
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  set_args sh -c 'sleep 1001 & sleep 1002 & (sleep 1003 &) ; wait'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for eval '[ "$(capsa ps -f json ctr | jq length)" -ge 4 ]'
  local pids
  pids=$(capsa ps -f json ctr | jq -r '.[]')
  run_capsa kill --all ctr KILL
  assert_success
  local p
  for p in $pids; do
    wait_for eval "[ ! -e /proc/$p ] || [ \"\$(awk '{print \$3}' /proc/$p/stat)\" = Z ]"
  done
  wait_status ctr stopped
  capsa delete ctr
  no_cgroup_left
}

@test "linux.resources land in the cgroup files at create" {
  need_ctrl memory
  need_ctrl cpu
  need_ctrl pids
  res '{"memory":{"limit":67108864,"reservation":33554432,"swap":134217728},
        "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},
        "pids":{"limit":42}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  if $V2; then
    # v1 values converted: shares 512 -> weight 20; swap is memory+swap on v1, swap alone on v2
    local d
    d=$(cg2_dir)
    [ "$(cat "$d/memory.max")" = 67108864 ]
    [ "$(cat "$d/memory.low")" = 33554432 ]
    if [ -e "$d/memory.swap.max" ]; then
      [ "$(cat "$d/memory.swap.max")" = 67108864 ]
    fi
    [ "$(cat "$d/cpu.weight")" = 20 ]
    [ "$(cat "$d/cpu.max")" = "50000 100000" ]
    if [ -e "$d/cpuset.cpus" ]; then
      [ "$(cat "$d/cpuset.cpus")" = 0 ]
    fi
    [ "$(cat "$d/pids.max")" = 42 ]
    grep -qx "$(pid_of ctr)" "$d/cgroup.procs"
    capsa delete -f ctr
    no_cgroup_left
    return
  fi
  local m
  m=$(cg_dir memory)
  [ "$(cat "$m/memory.limit_in_bytes")" = 67108864 ]
  [ "$(cat "$m/memory.soft_limit_in_bytes")" = 33554432 ]
  if [ -e "$m/memory.memsw.limit_in_bytes" ]; then
    [ "$(cat "$m/memory.memsw.limit_in_bytes")" = 134217728 ]
  fi
  [ "$(cat "$(cg_dir cpu)/cpu.shares")" = 512 ]
  [ "$(cat "$(cg_dir cpu)/cpu.cfs_quota_us")" = 50000 ]
  [ "$(cat "$(cg_dir cpu)/cpu.cfs_period_us")" = 100000 ]
  if [ -d /sys/fs/cgroup/cpuset ]; then
    [ "$(cat "$(cg_dir cpuset)/cpuset.cpus")" = 0 ]
  fi
  [ "$(cat "$(cg_dir pids)/pids.max")" = 42 ]
  # the init is in the cgroup
  grep -qx "$(pid_of ctr)" "$m/cgroup.procs"
  capsa delete -f ctr
  no_cgroup_left
}

@test "blockIO weight lands in blkio.weight (or BFQ's)" {
  if $V2; then
    need_ctrl io
    # blkio.weight 300 is io.weight 2930 (the [10, 1000] -> [1, 10000] mapping); BFQ's
    # io.bfq.weight takes the blkio value as it is
    res '{"blockIO":{"weight":300}}'
    set_args sleep 1000
    capsa_bg create -b "$BUNDLE" ctr
    local w
    w=$(cg2_dir)
    if [ ! -e "$w/io.weight" ] && [ ! -e "$w/io.bfq.weight" ]; then
      capsa delete -f ctr
      skip "no io.weight nor io.bfq.weight in this kernel's unified hierarchy"
    fi
    if [ -e "$w/io.weight" ]; then
      grep -qx 'default 2930' "$w/io.weight"
    else
      grep -qx 'default 300' "$w/io.bfq.weight"
    fi
    capsa delete -f ctr
    no_cgroup_left
    return
  fi
  need_v1 blkio
  local own
  own=$(awk -F: '$2 == "blkio" {print $3}' /proc/self/cgroup)
  [ -e "/sys/fs/cgroup/blkio${own%/}/blkio.weight" ] || [ -e "/sys/fs/cgroup/blkio${own%/}/blkio.bfq.weight" ] \
    || skip "no blkio.weight nor blkio.bfq.weight on this host (no CFQ/BFQ)"
  res '{"blockIO":{"weight":300}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  local d
  d=$(cg_dir blkio)
  grep -q 300 "$d/blkio.weight" 2>/dev/null || grep -q 300 "$d/blkio.bfq.weight"
  capsa delete -f ctr
}

# Device rules: v1's devices controller, or on cgroup v2 capsa's eBPF device program. The probes
# tell the device cgroup's EPERM apart from what the device itself answers: c 1:200 and b 62:0
# have no driver (the kernel built in major 1 has no minor 200, and 62 is a "local/experimental"
# block major nothing registers), so an allowed open of them fails with ENXIO, a denied one with
# EPERM; /dev/kmsg opened write-only needs no capability, so it opens when allowed.
need_devices () {
  $V2 || need_v1 devices
  cfg '.process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"] | .process.capabilities.permitted += ["CAP_MKNOD"]'
  cfg '.linux.devices = [{"path":"/dev/nodrv","type":"c","major":1,"minor":200},{"path":"/dev/nodrv2","type":"c","major":1,"minor":201},{"path":"/dev/nodrvb","type":"b","major":62,"minor":0},{"path":"/dev/kmsg","type":"c","major":1,"minor":11}]'
}

# PROBE: shell code for the container: `try NAME CMD` prints NAME=ok, NAME=EPERM or NAME=ENXIO.
PROBE='try () { n=$1; shift; if e=$(eval "$*" 2>&1); then echo "$n=ok"; else case "$e" in *"not permitted"*) echo "$n=EPERM" ;; *"No such device"*) echo "$n=ENXIO" ;; *) echo "$n=other: $e" ;; esac; fi; }'

# expect_probes OUTPUT NAME=RESULT...
expect_probes () {
  local out=$1 want
  shift
  for want in "$@"; do
    grep -qx -- "$want" <<<"$out" || fail "expected $want, got: $(echo $out)"
  done
}

@test "devices: a denied device cannot be read, written or opened; an allowed one can" {
  need_devices
  set_args sh -c "$PROBE
    try r : '</dev/nodrv'; try w : '>/dev/nodrv'; try rw : '<>/dev/nodrv'
    try r2 : '</dev/nodrv2'; try w2 : '>/dev/nodrv2'
    try br : '</dev/nodrvb'; try bw : '>/dev/nodrvb'
    try kw : '>/dev/kmsg'"
  res '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":200,"access":"r"},{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]}'
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "run failed: $stderr"
  expect_probes "$output" r=ENXIO w=EPERM rw=EPERM r2=EPERM w2=EPERM br=EPERM bw=EPERM kw=ok
  no_cgroup_left
  # overlapping rules: per access, the last rule that matches decides (v1's kernel list agrees
  # here: its deny takes access away from an earlier allow of the same device)
  res '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"access":"r"},{"allow":true,"type":"c","major":1,"minor":200,"access":"rw"},{"allow":false,"type":"c","major":1,"minor":200,"access":"w"},{"allow":true,"type":"b","major":62,"minor":0,"access":"rw"}]}'
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "run failed: $stderr"
  expect_probes "$output" r=ENXIO w=EPERM rw=EPERM r2=ENXIO w2=EPERM br=ENXIO bw=ENXIO kw=EPERM
  no_cgroup_left
}

@test "devices: the default devices and mknod still work under a deny-all rule" {
  need_devices
  set_args sh -c "$PROBE
    for d in null zero full random urandom; do try \$d : '<>/dev/'\$d; done
    try tty : '<>/dev/tty'; try ptmx : '<>/dev/ptmx'
    try mknod mknod /dev/made c 1 200; try made : '</dev/made'; try kw : '>/dev/kmsg'"
  res '{"devices":[{"allow":false,"access":"rwm"}]}'
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "run failed: $stderr"
  # /dev/tty without a controlling terminal: the tty driver's ENXIO, past the device cgroup
  expect_probes "$output" null=ok zero=ok full=ok random=ok urandom=ok tty=ENXIO ptmx=ok \
    mknod=ok made=EPERM kw=EPERM
  no_cgroup_left
}

@test "devices: update changes the rules (allowed after update opens, denied after update fails)" {
  need_devices
  set_args sleep 1000
  res '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":200,"access":"rw"}]}'
  capsa_bg run -d -b "$BUNDLE" ctr
  local p="$PROBE; try r : '</dev/nodrv'; try w : '>/dev/nodrv'; try null : '<>/dev/null'; try mknod mknod /dev/m c 1 201; rm -f /dev/m"
  run_capsa exec ctr sh -c "$p"
  expect_probes "$output" r=ENXIO w=ENXIO null=ok mknod=ok
  echo '{"devices":[{"allow":false,"type":"c","major":1,"minor":200,"access":"rw"}]}' | capsa update -r - ctr
  run_capsa exec ctr sh -c "$p"
  expect_probes "$output" r=EPERM w=EPERM null=ok mknod=ok
  echo '{"devices":[{"allow":true,"type":"c","major":1,"minor":200,"access":"r"}]}' | capsa update -r - ctr
  run_capsa exec ctr sh -c "$p"
  expect_probes "$output" r=ENXIO w=EPERM null=ok
  # deny-all resets the list (the default devices too), as v1's devices.deny "a" does
  echo '{"devices":[{"allow":false,"access":"rwm"}]}' | capsa update -r - ctr
  run_capsa exec ctr sh -c "$p"
  expect_probes "$output" r=EPERM w=EPERM null=EPERM mknod=EPERM
  echo '{"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},{"allow":true,"type":"c","major":1,"minor":200,"access":"rw"}]}' | capsa update -r - ctr
  # systemd re-applying the scope's properties leaves capsa's program alone
  if [ "$MANAGER" = systemd ]; then
    systemctl daemon-reload
  fi
  run_capsa exec ctr sh -c "$p"
  expect_probes "$output" r=ENXIO w=ENXIO null=ok mknod=EPERM
  # a bad rule changes nothing
  run_capsa update -r <(echo '{"devices":[{"allow":false,"type":"x","access":"rwm"}]}') ctr
  assert_failure
  [[ "$output" == *".linux.resources.devices[0].type"* ]] || fail "$output"
  run_capsa exec ctr sh -c "$p"
  expect_probes "$output" r=ENXIO w=ENXIO null=ok
  capsa delete -f ctr
  no_cgroup_left
}

@test "devices: too many rules for one device program is a clear error and leaves nothing" {
  $V2 || skip "cgroup v2 only (v1 writes each rule to devices.allow/deny)"
  need_devices
  # 10000 rules (40000 instructions per access): beyond what the 16-bit jumps of one program reach
  cfg '.linux.resources.devices = [{"allow":false,"access":"rwm"}] + [range(10000) | {"allow":true,"type":"c","major":(100 + (. / 1000 | floor)),"minor":(. % 1000),"access":"rw"}]'
  run_bg create -b "$BUNDLE" ctr
  [ "$status" -eq 1 ] || fail "create with 10000 device rules: status $status"
  assert_error_line "$stderr"
  [[ "$stderr" == *".linux.resources.devices: "*"too many"* ]] || fail "$stderr"
  leftovers ctr
}

@test "devices: a joined cgroup keeps no device program after delete or a failed create" {
  $V2 || skip "cgroup v2 only (on v1 the devices.* rules written to a joined cgroup stay there)"
  [ "$MANAGER" = cgroupfs ] || skip "joins the cgroupfs manager's cgroup"
  need_devices
  local dir
  dir=$(cg2_dir)
  mkdir "$dir"
  # what a process put into the cgroup by hand may open: /dev/kmsg is not a default device
  kmsg_in_cgroup () {
    sh -c "echo \$\$ >$dir/cgroup.procs && exec sh -c ': >/dev/kmsg' 2>&1" && echo opened
  }
  [[ "$(kmsg_in_cgroup)" == opened ]] || fail "/dev/kmsg does not open in $dir before the test"
  set_args sh -c ': >/dev/kmsg && echo kmsg=ok'
  res '{"devices":[{"allow":false,"access":"rwm"}]}'
  run_bg run -b "$BUNDLE" ctr
  [[ "$stderr" == *"not permitted"* ]] || fail "the container could open /dev/kmsg: $output $stderr"
  [ -d "$dir" ] || fail "delete removed the joined cgroup"
  [[ "$(kmsg_in_cgroup)" == opened ]] || fail "a device program stayed on $dir after delete"
  # a failure after the device program was attached (unified comes after devices)
  res '{"devices":[{"allow":false,"access":"rwm"}],"unified":{"nosuch.file":"1"}}'
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -ne 0 ] || fail "create with a bad unified key succeeded"
  [[ "$(kmsg_in_cgroup)" == opened ]] || fail "a device program stayed on $dir after a failed create"
  rmdir "$dir"
  assert_no_leftovers ctr
}

@test "update changes memory, pids and cpu limits (host files and inside the container)" {
  need_ctrl memory
  set_args sleep 1000
  res '{"memory":{"limit":67108864},"pids":{"limit":100},"cpu":{"shares":1024}}'
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa update --memory 48m --pids-limit 77 --cpu-share 256 --cpu-quota 30000 --cpu-period 100000 ctr
  assert_success
  [ "$(cg_val memory memory.limit_in_bytes memory.max)" = $((48 * 1024 * 1024)) ]
  [ "$(cg_val pids pids.max pids.max)" = 77 ]
  # shares 256 is weight 10 on v2
  if $V2; then
    [ "$(cg_val cpu - cpu.weight)" = 10 ]
    [ "$(cg_val cpu - cpu.max)" = "30000 100000" ]
  else
    [ "$(cg_val cpu cpu.shares -)" = 256 ]
    [ "$(cg_val cpu cpu.cfs_quota_us -)" = 30000 ]
  fi
  # -r: a linux.resources document, from stdin
  echo '{"memory":{"limit":41943040},"pids":{"limit":55}}' | capsa update -r - ctr
  [ "$(cg_val memory memory.limit_in_bytes memory.max)" = 41943040 ]
  [ "$(cg_val pids pids.max pids.max)" = 55 ]
  echo '{"cpu":{"shares":333}}' >"$BATS_TEST_TMPDIR/r.json"
  capsa update --resources "$BATS_TEST_TMPDIR/r.json" ctr
  if $V2; then
    [ "$(cg_val cpu - cpu.weight)" = 13 ]
  else
    [ "$(cg_val cpu cpu.shares -)" = 333 ]
  fi
  # suffixes as runc takes them
  capsa update --memory 1g ctr
  [ "$(cg_val memory memory.limit_in_bytes memory.max)" = 1073741824 ]
  capsa update --memory 512KiB ctr
  [ "$(cg_val memory memory.limit_in_bytes memory.max)" = 524288 ]
  capsa update --memory 64m ctr
  capsa delete -f ctr
}

@test "update changes the cpu quota alone and keeps the cgroup's cpu period (host and inside)" {
  need_ctrl cpu
  jq -e '.linux.namespaces[] | select(.type == "cgroup")' "$BUNDLE/config.json" >/dev/null \
    || cfg '.linux.namespaces += [{"type":"cgroup"}]'
  jq -e '.mounts[] | select(.destination == "/sys/fs/cgroup")' "$BUNDLE/config.json" >/dev/null \
    || cfg '.mounts += [{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","ro"]}]'
  res '{"cpu":{"quota":25000,"period":50000}}'
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  # cpu_is QUOTA PERIOD: the host's files and the container's view of them
  cpu_is () {
    local host inside
    if $V2; then
      host=$(cat "$(cg2_dir)/cpu.max")
      inside=$(capsa exec ctr cat /sys/fs/cgroup/cpu.max)
    else
      host="$(cat "$(cg_dir cpu)/cpu.cfs_quota_us") $(cat "$(cg_dir cpu)/cpu.cfs_period_us")"
      inside=$(capsa exec ctr sh -c 'cd /sys/fs/cgroup/cpu && echo $(cat cpu.cfs_quota_us) $(cat cpu.cfs_period_us)')
    fi
    [ "$host" = "$1 $2" ] || fail "host: cpu quota and period are \`$host', expected \`$1 $2'"
    [ "$inside" = "$1 $2" ] || fail "inside: cpu quota and period are \`$inside', expected \`$1 $2'"
  }
  cpu_is 25000 50000
  run_capsa update --cpu-quota 30000 ctr
  assert_success
  cpu_is 30000 50000
  # the JSON equivalent
  echo '{"cpu":{"quota":20000}}' | capsa update -r - ctr
  cpu_is 20000 50000
  # the period alone keeps the quota
  capsa update --cpu-period 40000 ctr
  cpu_is 20000 40000
  if [ "$MANAGER" = systemd ]; then
    # systemd's properties say the same: 20 ms per 40 ms period is 500 ms per second, and a
    # daemon-reload (systemd re-applying them) gives the same cpu.max
    [ "$(systemctl show -P CPUQuotaPerSecUSec "$CG_NAME")" = 500ms ]
    [ "$(systemctl show -P CPUQuotaPeriodUSec "$CG_NAME")" = 40ms ]
    systemctl daemon-reload
    cpu_is 20000 40000
  fi
  # -1 removes the quota, still keeping the period
  capsa update --cpu-quota -1 ctr
  if [ "$MANAGER" = systemd ]; then
    cpu_is max 100000
  elif $V2; then
    cpu_is max 40000
  else
    cpu_is -1 40000
  fi
  if [ "$MANAGER" = systemd ]; then
    # without a quota systemd writes its default period (a period alone limits nothing)
    [ "$(systemctl show -P CPUQuotaPerSecUSec "$CG_NAME")" = infinity ]
    systemctl daemon-reload
    cpu_is max 100000
  fi
  capsa delete -f ctr
}

@test "update is seen inside the container through its cgroup namespace" {
  need_ctrl memory
  jq -e '.mounts[] | select(.destination == "/sys/fs/cgroup")' "$BUNDLE/config.json" >/dev/null \
    || skip "the default spec has no /sys/fs/cgroup mount"
  jq -e '.linux.namespaces[] | select(.type == "cgroup")' "$BUNDLE/config.json" >/dev/null \
    || cfg '.linux.namespaces += [{"type":"cgroup"}]'
  if $V2; then
    set_args sh -c 'while :; do cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max > /tmp/l.new 2>&1; mv /tmp/l.new /tmp/l; usleep 20000; done'
  else
    set_args sh -c 'while :; do cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max > /tmp/l.new 2>&1; mv /tmp/l.new /tmp/l; usleep 20000; done'
  fi
  res '{"memory":{"limit":67108864},"pids":{"limit":100}}'
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_for test -s "$BUNDLE/rootfs/tmp/l"
  capsa update --memory 50m --pids-limit 66 ctr
  wait_for eval '[ "$(cat "$BUNDLE/rootfs/tmp/l" | tr "\n" " ")" = "52428800 66 " ]'
  capsa delete -f ctr
}

@test "update errors name the field and change nothing" {
  set_args sleep 1000
  res '{"cpu":{"shares":1024}}'
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa update --cpu-share -5 ctr
  assert_failure 1
  assert_error_line
  assert_output --partial -- '--cpu-share'
  run_capsa update --memory 12x ctr
  assert_failure 1
  assert_output --partial -- '--memory: invalid value "12x"'
  run_capsa update --cpu-share 1 ctr
  assert_failure 1
  assert_output --partial '.linux.resources.cpu.shares'
  run bash -c "echo '{\"cpu\":{\"shares\":-1}}' | $CAPSA --root $ROOT update -r - ctr"
  assert_failure 1
  assert_output --partial '.linux.resources.cpu.shares'
  run bash -c "echo '{\"cpu\":{\"shares\":' | $CAPSA --root $ROOT update -r - ctr"
  assert_failure 1
  assert_output --partial 'invalid JSON'
  run bash -c "echo '{\"unified\":{\"bogus.key\":\"1\"}}' | $CAPSA --root $ROOT update -r - ctr"
  assert_failure 1
  assert_output --partial 'unified["bogus.key"]'
  run_capsa update --l3-cache-schema 'L3:0=f' ctr
  assert_failure 1
  assert_output --partial 'l3-cache-schema'
  if $V2; then
    [ "$(cg_val cpu - cpu.weight)" = 39 ]
  else
    [ "$(cg_val cpu cpu.shares -)" = 1024 ]
  fi
  run_capsa update --memory 1m nosuch
  assert_failure 1
  assert_output --partial nosuch
  capsa delete -f ctr
}

@test "events --stats prints one stats document in runc's shape" {
  set_args sh -c 'sleep 1001 & exec sleep 1000'
  res '{"memory":{"limit":67108864},"pids":{"limit":100}}'
  capsa_bg run -d -b "$BUNDLE" ctr
  run_capsa events --stats ctr
  assert_success
  [ "${#lines[@]}" -eq 1 ]
  echo "$output" | jq -e '.type == "stats" and .id == "ctr"'
  if $V2; then
    # cpu.stat has no per-CPU usage: runc leaves percpu out on v2, and so does capsa
    echo "$output" | jq -e '.data.cpu.usage.total > 0 and .data.cpu.usage.user >= 0 and .data.cpu.usage.kernel >= 0'
  else
    echo "$output" | jq -e '.data.cpu.usage.total >= 0 and (.data.cpu.usage.percpu | type) == "array"'
  fi
  echo "$output" | jq -e '.data.memory.usage.limit == 67108864 and .data.memory.usage.usage > 0'
  echo "$output" | jq -e '.data.memory.raw | has("rss") or has("anon")'
  echo "$output" | jq -e '.data.pids.current == 2 and .data.pids.limit == 100'
  echo "$output" | jq -e '.data.blkio | type == "object"'
  capsa delete -f ctr
}

@test "events prints stats periodically and ends when the container stops" {
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  capsa events --interval 100ms ctr >"$BATS_TEST_TMPDIR/ev" 2>&1 &
  local ev=$!
  defer "kill $ev"
  wait_for eval '[ "$(grep -c stats "$BATS_TEST_TMPDIR/ev")" -ge 3 ]'
  capsa kill ctr KILL
  wait_for eval '! kill -0 $ev'
  wait $ev
  capsa delete ctr
}

@test "OOM: events reports it, run exits 137, nothing left behind" {
  need_ctrl memory
  res '{"memory":{"limit":16777216,"swap":16777216}}'
  set_args sh -c 'sleep 0.3; tail /dev/zero'
  capsa_bg create -b "$BUNDLE" ctr
  capsa events --interval 50ms ctr >"$BATS_TEST_TMPDIR/ev" 2>&1 &
  local ev=$!
  defer "kill $ev"
  wait_for grep -q stats "$BATS_TEST_TMPDIR/ev"
  capsa start ctr
  wait_status ctr stopped
  wait_for eval '! kill -0 $ev'
  grep -q '{"type":"oom","id":"ctr"}' "$BATS_TEST_TMPDIR/ev" || fail "no oom event: $(grep -v stats "$BATS_TEST_TMPDIR/ev")"
  capsa delete ctr
  no_cgroup_left

  run_bg run -b "$BUNDLE" ctr2
  [ "$status" -eq 137 ] || fail "run exited $status, expected 137: $stderr"
  leftovers ctr2
}

@test "a 512 KiB memory limit still runs /bin/true" {
  need_ctrl memory
  ! ldd "$CAPSA" 2>/dev/null | grep -q libasan \
    || skip "an ASan build: the sanitizer runtime's own memory does not fit in 512 KiB"
  res '{"memory":{"limit":524288}}'
  set_args /bin/true
  # The binary's page cache must not be charged to the container: fault it in from here (a cold
  # 2 MB busybox read in by the container's exec does not fit in 512 KiB with the ~350 KiB the
  # runtime's init has been charged by then).
  cat "$BUNDLE/rootfs/bin/busybox" >/dev/null
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "run with a 512 KiB limit: status $status: $stderr"
  leftovers ctr
}

@test "a memory limit too low for the runtime itself is a clear error" {
  need_ctrl memory
  res '{"memory":{"limit":65536}}'
  set_args /bin/true
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -ne 0 ]
  [ "$status" -ne 137 ] || fail "the OOM kill was passed through as the container's status"
  assert_error_line "$stderr"
  [[ "$stderr" == *"memory limit too low"* ]] || fail "unclear error: $stderr"
  leftovers ctr
}

@test "bad resource values fail create with the field named and leave nothing" {
  local bad
  for bad in '{"cpu":{"shares":-3}}' '{"cpu":{"shares":1}}' '{"cpu":{"quota":5}}' \
    '{"memory":{"limit":"lots"}}' '{"memory":{"limit":-5}}' '{"pids":{"limit":"x"}}' \
    '{"blockIO":{"weight":5000}}' '{"unified":{"nosuch.file":"1"}}' \
    '{"memory":{"limit":67108864,"swap":1048576}}'; do
    res "$bad"
    run_bg create -b "$BUNDLE" ctr
    [ "$status" -eq 1 ] || fail "create with $bad: status $status"
    assert_error_line "$stderr"
    [[ "$stderr" == *".linux.resources."* ]] || fail "error for $bad does not name the field: $stderr"
    leftovers ctr
  done
  res '{"cpu":{"shares":-3}}'
  run_bg create -b "$BUNDLE" ctr
  [[ "$stderr" == *".linux.resources.cpu.shares"* ]] || fail "$stderr"
}

@test "no cgroup is left after delete, after a failed start, or after run" {
  set_args sleep 1000
  res '{"pids":{"limit":10}}'
  capsa_bg create -b "$BUNDLE" ctr
  [ -n "$(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG_NAME")" ]
  capsa delete -f ctr
  no_cgroup_left
  set_args /nonexistent
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -ne 0 ]
  leftovers ctr
  set_args true
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ]
  leftovers ctr
}

@test "systemd: the container is a transient scope with Delegate and its resources as properties" {
  res '{"memory":{"limit":67108864},"cpu":{"shares":512,"quota":50000,"period":100000},"pids":{"limit":42}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  local u=$CG_NAME
  [ "$(systemctl show -P ActiveState "$u")" = active ]
  [ "$(systemctl show -P Slice "$u")" = system.slice ]
  [ "$(systemctl show -P Delegate "$u")" = yes ]
  [ "$(systemctl show -P ControlGroup "$u")" = "/system.slice/$u" ]
  [ "$(systemctl show -P MemoryMax "$u")" = 67108864 ]
  [ "$(systemctl show -P TasksMax "$u")" = 42 ]
  # shares 512 -> CPUWeight 20; quota 50 ms per 100 ms period -> 500 ms per second
  [ "$(systemctl show -P CPUWeight "$u")" = 20 ]
  [ "$(systemctl show -P CPUQuotaPerSecUSec "$u")" = 500ms ]
  grep -qx "$(pid_of ctr)" "/sys/fs/cgroup/system.slice/$u/cgroup.procs"
  capsa delete -f ctr
  no_cgroup_left
}

@test "systemd: update also changes the unit's properties (a daemon-reload keeps the new limits)" {
  res '{"memory":{"limit":67108864},"pids":{"limit":100}}'
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  capsa update --memory 48m --pids-limit 77 ctr
  [ "$(systemctl show -P MemoryMax "$CG_NAME")" = $((48 * 1024 * 1024)) ]
  [ "$(systemctl show -P TasksMax "$CG_NAME")" = 77 ]
  systemctl daemon-reload
  [ "$(cat "$(cg2_dir)/memory.max")" = $((48 * 1024 * 1024)) ]
  [ "$(cat "$(cg2_dir)/pids.max")" = 77 ]
  capsa delete -f ctr
  no_cgroup_left
}

@test "systemd: the default cgroupsPath is capsa-<id>.scope in system.slice; a malformed one is refused" {
  cfg 'del(.linux.cgroupsPath)'
  set_args sleep 1000
  local id=d$MARK
  capsa_bg create -b "$BUNDLE" "$id"
  [ "$(systemctl show -P ActiveState "capsa-$id.scope")" = active ]
  grep -qx "$(pid_of "$id")" "/sys/fs/cgroup/system.slice/capsa-$id.scope/cgroup.procs"
  capsa delete -f "$id"
  [ -z "$(systemctl list-units --all --no-legend --plain "capsa-$id.scope")" ]
  [ ! -e "/sys/fs/cgroup/system.slice/capsa-$id.scope" ]
  cfg '.linux.cgroupsPath = "not-a-slice-path"'
  run_bg create -b "$BUNDLE" ctr
  [ "$status" -eq 1 ]
  assert_error_line "$stderr"
  [[ "$stderr" == *".linux.cgroupsPath"* ]] || fail "error does not name the field: $stderr"
  leftovers ctr
}

@test "systemd: cpuset and unified keys are unit properties; a daemon-reload keeps them, also after update" {
  need_ctrl cpuset
  local u=$CG_NAME d
  # memory.oom.group is the scope's OOMPolicy=kill; cpu.max.burst and memory.swap.high have no
  # systemd property: written into the delegated scope, systemd leaves them alone
  res '{"cpu":{"cpus":"0","mems":"0"},
        "unified":{"memory.high":"50331648","memory.min":"1048576","memory.max":"64M",
                   "pids.max":"33","cpu.weight":"42","cpu.max":"20000 50000",
                   "memory.oom.group":"1","cpu.max.burst":"10000","memory.swap.high":"2097152"}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  d=$(cg2_dir)
  [ "$(systemctl show -P AllowedCPUs "$u")" = 0 ]
  [ "$(systemctl show -P AllowedMemoryNodes "$u")" = 0 ]
  [ "$(systemctl show -P MemoryHigh "$u")" = 50331648 ]
  [ "$(systemctl show -P MemoryMin "$u")" = 1048576 ]
  [ "$(systemctl show -P MemoryMax "$u")" = 67108864 ]
  [ "$(systemctl show -P TasksMax "$u")" = 33 ]
  [ "$(systemctl show -P CPUWeight "$u")" = 42 ]
  [ "$(systemctl show -P CPUQuotaPerSecUSec "$u")" = 400ms ]
  [ "$(systemctl show -P CPUQuotaPeriodUSec "$u")" = 50ms ]
  [ "$(systemctl show -P OOMPolicy "$u")" = kill ]
  local i w
  for i in 1 2; do
    [ "$(cat "$d/cpuset.cpus")" = 0 ]
    [ "$(cat "$d/cpuset.mems")" = 0 ]
    [ "$(cat "$d/memory.high")" = 50331648 ]
    [ "$(cat "$d/memory.min")" = 1048576 ]
    [ "$(cat "$d/memory.max")" = 67108864 ]
    [ "$(cat "$d/pids.max")" = 33 ]
    [ "$(cat "$d/cpu.weight")" = 42 ]
    [ "$(cat "$d/cpu.max")" = "20000 50000" ]
    [ "$(cat "$d/memory.oom.group")" = 1 ]
    [ "$(cat "$d/cpu.max.burst")" = 10000 ]
    [ "$(cat "$d/memory.swap.high")" = 2097152 ]
    # systemd re-applies the unit's properties to its cgroup
    [ $i = 2 ] || systemctl daemon-reload
  done
  # update: the same keys, new values, and max (another cpu when there is one); io.weight
  # (iocost) -> IOWeight where the kernel has it
  local cpus=0 upd
  [ "$(cat /sys/devices/system/cpu/online)" = 0 ] || cpus=1
  upd='{"cpu":{"cpus":"'$cpus'","mems":"0"},"unified":{"memory.high":"max","pids.max":"44","cpu.weight":"7"}}'
  [ ! -e "$d/io.weight" ] || upd=$(echo "$upd" | jq -c '.unified["io.weight"] = "default 77"')
  echo "$upd" | capsa update -r - ctr
  [ "$(systemctl show -P MemoryHigh "$u")" = infinity ]
  [ ! -e "$d/io.weight" ] || [ "$(systemctl show -P IOWeight "$u")" = 77 ]
  systemctl daemon-reload
  [ "$(cat "$d/cpuset.cpus")" = $cpus ]
  [ "$(cat "$d/memory.high")" = max ]
  [ "$(cat "$d/pids.max")" = 44 ]
  [ "$(cat "$d/cpu.weight")" = 7 ]
  [ "$(cat "$d/memory.min")" = 1048576 ]
  [ ! -e "$d/io.weight" ] || grep -qx 'default 77' "$d/io.weight"
  # cpu.idle is CPUWeight=idle to systemd; leaving idle keeps the cgroup's weight
  if [ -e "$d/cpu.idle" ]; then
    echo '{"cpu":{"idle":1}}' | capsa update -r - ctr
    [ "$(systemctl show -P CPUWeight "$u")" = idle ]
    systemctl daemon-reload
    [ "$(cat "$d/cpu.idle")" = 1 ]
    echo '{"unified":{"cpu.idle":"0"}}' | capsa update -r - ctr
    w=$(cat "$d/cpu.weight")
    systemctl daemon-reload
    [ "$(cat "$d/cpu.idle")" = 0 ]
    [ "$(cat "$d/cpu.weight")" = "$w" ]
  fi
  capsa delete -f ctr
  no_cgroup_left
}

@test "delete --force of an init frozen by a v1 freezer the container does not own is bounded" {
  # The init is in a child of a frozen parent: SIGKILL stays pending until a thaw. delete --force
  # used to wait for it per hierarchy (about a minute on this hybrid host); it now waits once,
  # warns, removes the state and leaves the process and its cgroups, which go after the thaw.
  $V2 && skip "v1 freezer only"
  [ "$MANAGER" = cgroupfs ] || skip "cgroupfs manager only"
  need_v1 freezer
  local own parent t0 took
  own=$(awk -F: '$2 == "freezer" {print $3}' /proc/self/cgroup)
  own=${own%/}
  parent=/sys/fs/cgroup/freezer$own/capsa-frz-$MARK
  CG_NAME=capsa-frz-$MARK
  cfg '.linux.cgroupsPath = "capsa-frz-" + $m + "/capsa-test-" + $m' --arg m "$MARK"
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  echo FROZEN >"$parent/freezer.state"
  wait_for grep -qx FROZEN "$parent/freezer.state"
  t0=$(date +%s%N)
  run --separate-stderr capsa delete --force ctr
  took=$((($(date +%s%N) - t0) / 1000000))
  echo THAWED >"$parent/freezer.state"
  echo "delete --force: status $status in $took ms; stderr: $stderr"
  [ "$took" -lt 20000 ] || fail "delete --force took $took ms"
  [[ "$stderr" == *"did not die"* ]] || fail "no warning about the init: $stderr"
  [ ! -e "$ROOT/ctr" ] || fail "state dir left: $(ls "$ROOT/ctr")"
  # after the thaw the pending SIGKILL lands; the cgroups left behind are then removable
  wait_for eval '! kill -0 '"$pid"' 2>/dev/null'
  local d
  for d in $(find /sys/fs/cgroup -depth -type d -path "*capsa-frz-$MARK*" 2>/dev/null); do
    rmdir "$d"
  done
  no_cgroup_left
}

@test "v1: memory swappiness, OOM killer, use_hierarchy, kernel and kernelTCP limits land in their files" {
  $V2 && skip "cgroup v1 files (a v2 host has none of these knobs)"
  [ "$MANAGER" = cgroupfs ] || skip "cgroupfs manager"
  need_v1 memory
  res '{"memory":{"limit":67108864,"swappiness":17,"disableOOMKiller":true,"useHierarchy":true,
                  "kernel":33554432,"kernelTCP":16777216}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  local m
  m=$(cg_dir memory)
  [ "$(cat "$m/memory.swappiness")" = 17 ]
  grep -qx 'oom_kill_disable 1' "$m/memory.oom_control"
  [ "$(cat "$m/memory.use_hierarchy")" = 1 ]
  [ "$(cat "$m/memory.kmem.tcp.limit_in_bytes")" = 16777216 ]
  # memory.kmem.limit_in_bytes: kernels since 5.16 keep the file but ignore what is written
  capsa delete -f ctr
  no_cgroup_left
}

@test "v1: blkio throttles land in their files for the device named" {
  $V2 && skip "cgroup v1 files"
  [ "$MANAGER" = cgroupfs ] || skip "cgroupfs manager"
  need_v1 blkio
  local dev maj min
  dev=$(lsblk -d -n -o MAJ:MIN | head -1 | tr -d ' ')
  [ -n "$dev" ] || skip "no block device"
  maj=${dev%:*} min=${dev#*:}
  res "$(jq -cn --argjson a "$maj" --argjson i "$min" '{blockIO: {
        throttleReadBpsDevice: [{major: $a, minor: $i, rate: 1048576}],
        throttleWriteBpsDevice: [{major: $a, minor: $i, rate: 2097152}],
        throttleReadIOPSDevice: [{major: $a, minor: $i, rate: 300}],
        throttleWriteIOPSDevice: [{major: $a, minor: $i, rate: 400}]}}')"
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  local b
  b=$(cg_dir blkio)
  grep -qx "$dev 1048576" "$b/blkio.throttle.read_bps_device"
  grep -qx "$dev 2097152" "$b/blkio.throttle.write_bps_device"
  grep -qx "$dev 300" "$b/blkio.throttle.read_iops_device"
  grep -qx "$dev 400" "$b/blkio.throttle.write_iops_device"
  capsa delete -f ctr
  no_cgroup_left
}

@test "v1: cpu realtimeRuntime and realtimePeriod land in cpu.rt_*" {
  $V2 && skip "cgroup v1 files"
  [ "$MANAGER" = cgroupfs ] || skip "cgroupfs manager"
  need_v1 cpu
  [ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] || skip "no RT group scheduling in this kernel"
  res '{"cpu":{"realtimeRuntime":20000,"realtimePeriod":500000}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  [ "$(cat "$(cg_dir cpu)/cpu.rt_period_us")" = 500000 ]
  [ "$(cat "$(cg_dir cpu)/cpu.rt_runtime_us")" = 20000 ]
  capsa delete -f ctr
  no_cgroup_left
}

@test "controllers this host lacks (net_cls, net_prio, hugetlb, rdma) are errors naming the field" {
  local f path
  while IFS='|' read -r path f; do
    res "$f"
    set_args true
    run_bg create -b "$BUNDLE" ctr
    if [ "$status" -eq 0 ]; then
      # the controller is there: the value was applied (other tests' business); clean up
      capsa delete -f ctr
      continue
    fi
    assert_failure 1
    assert_error_line "$stderr"
    [[ "$stderr" == *"$path"* ]] || fail "$path not named in: $stderr"
    leftovers ctr
  done <<'LIST'
.linux.resources.network.classID|{"network":{"classID":1048577}}
.linux.resources.network.priorities[0]|{"network":{"priorities":[{"name":"lo","priority":3}]}}
.linux.resources.hugepageLimits[0]|{"hugepageLimits":[{"pageSize":"2MB","limit":2097152}]}
.linux.resources.rdma["mlx5_0"]|{"rdma":{"mlx5_0":{"hcaHandles":3,"hcaObjects":4}}}
LIST
}

@test "update: checkBeforeUpdate refuses a memory limit below the current usage, naming it" {
  [ "$MANAGER" = cgroupfs ] || skip "cgroupfs manager"
  need_ctrl memory
  res '{"memory":{"limit":268435456}}'
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  # a limit of one page is below what the waiting init uses
  run bash -c "echo '{\"memory\":{\"limit\":4096,\"checkBeforeUpdate\":true}}' \
    | timeout 30 '$CAPSA' --root '$ROOT' update -r - ctr 3>&-"
  assert_failure
  assert_output --partial 'is below the current usage'
  assert_output --partial '(checkBeforeUpdate)'
  [ "$(cg_val memory memory.limit_in_bytes memory.max)" = 268435456 ]
  capsa delete -f ctr
  no_cgroup_left
}

@test "v1: blockIO weightDevice and leafWeight land in their files, or name the field where the I/O scheduler has none" {
  $V2 && skip "cgroup v1 files"
  [ "$MANAGER" = cgroupfs ] || skip "cgroupfs manager"
  need_v1 blkio
  local dev maj min b
  dev=$(lsblk -d -n -o MAJ:MIN | head -1 | tr -d ' ')
  [ -n "$dev" ] || skip "no block device"
  maj=${dev%:*} min=${dev#*:}
  set_args sleep 1000
  # leafWeight: written to blkio.leaf_weight, or a warning naming it (CFQ-only file)
  res '{"blockIO":{"leafWeight":300}}'
  run_bg create -b "$BUNDLE" ctr
  assert_success
  b=$(cg_dir blkio)
  if [ -e "$b/blkio.leaf_weight" ]; then
    [ "$(cat "$b/blkio.leaf_weight")" = 300 ]
  else
    [[ "$stderr" == *'.linux.resources.blockIO.leafWeight: ignored, not supported by this kernel'* ]] \
      || fail "no warning for leafWeight: $stderr"
  fi
  capsa delete -f ctr
  # weightDevice: blkio.weight_device (CFQ) or blkio.bfq.weight_device, else an error naming it
  res "$(jq -cn --argjson a "$maj" --argjson i "$min" \
    '{blockIO: {weightDevice: [{major: $a, minor: $i, weight: 200, leafWeight: 300}]}}')"
  run_bg create -b "$BUNDLE" ctr
  if [ "$status" -eq 0 ]; then
    b=$(cg_dir blkio)
    grep -qx "$dev 200" "$b/blkio.weight_device" 2>/dev/null \
      || grep -qx "$dev 200" "$b/blkio.bfq.weight_device" || fail "weight 200 for $dev not found"
    capsa delete -f ctr
  else
    assert_failure 1
    assert_error_line "$stderr"
    [[ "$stderr" == *'.linux.resources.blockIO.weightDevice[0].weight'* ]] || fail "$stderr"
  fi
  leftovers ctr
}
