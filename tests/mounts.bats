#!/usr/bin/env bats
# mounts.bats: root filesystem, mount types and options, devices, masked/readonly paths, sysctl.

load helpers

# add_mount JSON: append one entry to .mounts.
add_mount () {
  cfg '.mounts += [$m]' --argjson m "$1"
}

# run_in_ctr SCRIPT: run `sh -c SCRIPT` in the container (output in $output).
run_in_ctr () {
  set_args sh -c "$1"
  run_capsa run -b "$BUNDLE" ctr
}

# mountinfo_of MOUNTPOINT: the container's mountinfo line(s) for MOUNTPOINT, from $output.
mountinfo_of () {
  printf '%s\n' "$output" | awk -v m="$1" '$5 == m'
}

@test "tmpfs mount with size, mode and flags, at a destination created inside the rootfs" {
  add_mount '{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "noexec", "nodev", "size=1m", "mode=700"]}'
  run_in_ctr 'cat /proc/self/mountinfo; stat -c "mode=%a" /mnt/t; echo x > /mnt/t/f && echo wrote'
  assert_success
  local l
  l=$(mountinfo_of /mnt/t)
  [[ "$l" == *" - tmpfs "* ]] || fail "no tmpfs at /mnt/t: $l"
  local opts
  opts=,$(echo "$l" | awk '{print $6}'),
  [[ "$opts" == *,nosuid,* && "$opts" == *,noexec,* && "$opts" == *,nodev,* ]] || fail "flags: $l"
  [[ "$l" == *size=1024k* ]] || fail "size: $l"
  assert_line mode=700
  assert_line wrote
  [ -d "$BUNDLE/rootfs/mnt/t" ]
  [ ! -e "$BUNDLE/rootfs/mnt/t/f" ]
}

@test "read-only bind mount" {
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src"
  echo host-data >"$src/file"
  add_mount "{\"destination\": \"/mnt/b\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"bind\", \"ro\"]}"
  run_in_ctr 'cat /mnt/b/file; touch /mnt/b/new 2>&1 || echo touch-failed; grep " /mnt/b " /proc/self/mountinfo'
  assert_success
  assert_line host-data
  assert_line touch-failed
  assert_output --regexp ' /mnt/b ro[, ]'
  [ ! -e "$src/new" ]
}

@test "read-write bind mount writes through to the host" {
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src"
  add_mount "{\"destination\": \"/mnt/b\", \"source\": \"$src\", \"options\": [\"bind\"]}"
  run_in_ctr 'echo from-container > /mnt/b/new'
  assert_success
  [ "$(cat "$src/new")" = from-container ]
}

@test "bind mount of a single file" {
  local f=$BATS_TEST_TMPDIR/hostfile
  echo file-content >"$f"
  add_mount "{\"destination\": \"/etc/bound\", \"type\": \"bind\", \"source\": \"$f\", \"options\": [\"rbind\", \"ro\"]}"
  run_in_ctr 'cat /etc/bound; [ -f /etc/bound ] && echo is-file'
  assert_success
  assert_line file-content
  assert_line is-file
}

@test "bind does not carry submounts, rbind does" {
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src/sub"
  mount -t tmpfs capsa-test "$src/sub"
  defer "umount -l $src/sub"
  echo in-submount >"$src/sub/f"
  add_mount "{\"destination\": \"/mnt/bind\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"bind\"]}"
  add_mount "{\"destination\": \"/mnt/rbind\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\"]}"
  run_in_ctr 'cat /mnt/bind/sub/f 2>/dev/null || echo bind-empty; cat /mnt/rbind/sub/f'
  assert_success
  assert_line bind-empty
  assert_line in-submount
}

@test "rro makes a recursive bind read-only, submounts included" {
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src/sub"
  mount -t tmpfs capsa-test "$src/sub"
  defer "umount -l $src/sub"
  add_mount "{\"destination\": \"/mnt/r\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\", \"rro\"]}"
  run_in_ctr 'touch /mnt/r/a 2>/dev/null || echo top-ro; touch /mnt/r/sub/a 2>/dev/null || echo sub-ro'
  assert_success
  assert_line top-ro
  assert_line sub-ro
  [ ! -e "$src/a" ] && [ ! -e "$src/sub/a" ]
}

@test "ro on an rbind leaves submounts writable (only rro is recursive)" {
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src/sub"
  mount -t tmpfs capsa-test "$src/sub"
  defer "umount -l $src/sub"
  add_mount "{\"destination\": \"/mnt/r\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\", \"ro\"]}"
  run_in_ctr 'touch /mnt/r/a 2>/dev/null || echo top-ro; touch /mnt/r/sub/a && echo sub-rw'
  assert_success
  assert_line top-ro
  assert_line sub-rw
}

@test "mount propagation flags: rshared and rprivate" {
  local src=$BATS_TEST_TMPDIR/src
  mkdir -p "$src"
  add_mount "{\"destination\": \"/mnt/shared\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\", \"rshared\"]}"
  add_mount "{\"destination\": \"/mnt/private\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\", \"rprivate\"]}"
  run_in_ctr 'cat /proc/self/mountinfo'
  assert_success
  [[ "$(mountinfo_of /mnt/shared)" == *" shared:"* ]] || fail "/mnt/shared: $(mountinfo_of /mnt/shared)"
  [[ "$(mountinfo_of /mnt/private)" != *" shared:"* ]] || fail "/mnt/private: $(mountinfo_of /mnt/private)"
}

@test "rootfsPropagation shared makes the container's root mount shared" {
  run_in_ctr 'cat /proc/self/mountinfo'
  assert_success
  [[ "$(mountinfo_of /)" != *" shared:"* ]] || fail "/ is shared without rootfsPropagation: $(mountinfo_of /)"
  cfg '.linux.rootfsPropagation = "shared"'
  run_in_ctr 'cat /proc/self/mountinfo'
  assert_success
  [[ "$(mountinfo_of /)" == *" shared:"* ]] || fail "/: $(mountinfo_of /)"
}

@test "default rootfs propagation keeps container mounts out of the host" {
  cfg '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
  run_in_ctr 'mount -t tmpfs inside /mnt && echo mounted'
  assert_success
  assert_line mounted
  [ -z "$(mounts_under "$BUNDLE")" ]
  ! grep -q ' - tmpfs inside ' /proc/self/mountinfo
}

@test "proc is mounted and shows the container's pid namespace" {
  run_in_ctr 'grep " /proc " /proc/self/mountinfo; echo pid=$$; echo procs=$(ls -d /proc/[0-9]* | wc -l)'
  assert_success
  assert_line --regexp ' /proc .*- proc '
  assert_line pid=1
  assert_line --regexp '^procs=[1-4]$'
}

@test "sysfs is mounted and reflects the container's network namespace" {
  run_in_ctr 'grep " /sys " /proc/self/mountinfo; ls /sys/class/net'
  assert_success
  assert_line --regexp ' /sys .*- sysfs '
  assert_line lo
  [ "$(printf '%s\n' "$output" | grep -c -v ' - ')" -eq 1 ] || fail "more than lo: $output"
}

@test "devpts is a new instance with the requested modes" {
  cfg '.mounts |= map(select(.destination != "/dev/pts")) | .mounts += [{destination: "/dev/pts", type: "devpts", source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}]'
  run_in_ctr 'grep " /dev/pts " /proc/self/mountinfo; ls /dev/pts'
  assert_success
  local l
  l=$(printf '%s\n' "$output" | grep ' /dev/pts ')
  [[ "$l" == *" - devpts "* ]] || fail "$l"
  [[ "$l" == *ptmxmode=666* && "$l" == *mode=620* && "$l" == *gid=5* ]] || fail "options: $l"
  # a new instance holds no host terminals, only ptmx
  assert_line ptmx
  [ "$(printf '%s\n' "$output" | grep -c -v -e ' /dev/pts ' -e '^ptmx$')" -eq 0 ]
}

@test "mqueue mount" {
  cfg '.mounts |= map(select(.destination != "/dev/mqueue")) | .mounts += [{destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]}]'
  run_in_ctr 'grep " /dev/mqueue " /proc/self/mountinfo'
  assert_success
  assert_output --regexp ' /dev/mqueue .* - mqueue '
}

@test "cgroup2 mount inside a cgroup namespace" {
  grep -q cgroup2 /proc/filesystems || skip "no cgroup2"
  cfg '.linux.namespaces += [{type: "cgroup"}] | .linux.namespaces |= unique_by(.type)
       | .mounts |= map(select(.destination != "/sys/fs/cgroup"))
       | .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup2", options: ["nosuid", "noexec", "nodev"]}]'
  run_in_ctr 'grep " /sys/fs/cgroup " /proc/self/mountinfo; ls /sys/fs/cgroup/cgroup.procs'
  assert_success
  assert_line --regexp ' /sys/fs/cgroup .* - cgroup2 '
  assert_line /sys/fs/cgroup/cgroup.procs
}

@test "cgroup (v1) mount inside a cgroup namespace shows the controllers" {
  grep -q ' - cgroup cgroup ' /proc/self/mountinfo || skip "host has no cgroup v1 hierarchies"
  cfg '.linux.namespaces += [{type: "cgroup"}] | .linux.namespaces |= unique_by(.type)
       | .mounts |= map(select(.destination != "/sys/fs/cgroup"))
       | .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "ro"]}]'
  run_in_ctr 'grep " /sys/fs/cgroup" /proc/self/mountinfo; ls /sys/fs/cgroup/memory/cgroup.procs'
  assert_success
  assert_line --regexp ' /sys/fs/cgroup/memory .* - cgroup '
  assert_line /sys/fs/cgroup/memory/cgroup.procs
}

@test "cgroup (v1) mount without a cgroup namespace shows the container's own cgroups" {
  grep -q ' - cgroup cgroup ' /proc/self/mountinfo || skip "host has no cgroup v1 hierarchies"
  [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] || skip "no v1 memory hierarchy"
  cfg '.linux.namespaces |= map(select(.type != "cgroup"))
       | .mounts |= map(select(.destination != "/sys/fs/cgroup"))
       | .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "ro"]}]
       | .linux.resources.memory = {limit: 67108864}'
  run_in_ctr 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep " /sys/fs/cgroup/memory " /proc/self/mountinfo'
  assert_success
  assert_line 67108864
  assert_line --regexp ' /sys/fs/cgroup/memory ro,.* - cgroup '
}

@test "overlay mount with lowerdir, upperdir and workdir" {
  local o=$BATS_TEST_TMPDIR/ovl
  mkdir -p "$o/lower" "$o/upper" "$o/work"
  echo from-lower >"$o/lower/a"
  add_mount "{\"destination\": \"/mnt/o\", \"type\": \"overlay\", \"source\": \"overlay\",
    \"options\": [\"lowerdir=$o/lower\", \"upperdir=$o/upper\", \"workdir=$o/work\"]}"
  run_in_ctr 'cat /mnt/o/a; echo new > /mnt/o/b; grep " /mnt/o " /proc/self/mountinfo'
  assert_success
  assert_line from-lower
  assert_output --regexp ' /mnt/o .* - overlay '
  [ "$(cat "$o/upper/b")" = new ]
  [ ! -e "$o/lower/b" ]
}

@test "a mount destination through an absolute symlink stays inside the rootfs" {
  local outside=$BATS_TEST_TMPDIR/outside src=$BATS_TEST_TMPDIR/src
  mkdir -p "$outside" "$src"
  echo victim >"$outside/victim"
  echo payload >"$src/payload"
  ln -s "$outside" "$BUNDLE/rootfs/mnt/evil"
  add_mount "{\"destination\": \"/mnt/evil\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\"]}"
  run_in_ctr 'cat /mnt/evil/payload; ls /mnt/evil; echo written > /mnt/evil/x'
  assert_success
  assert_line payload
  refute_output --partial victim
  # the host directory the symlink names is untouched
  [ "$(ls "$outside")" = victim ]
  [ "$(cat "$src/x")" = written ]
  [ -d "$BUNDLE/rootfs/$outside" ]
}

@test "a mount destination through a relative ../ symlink stays inside the rootfs" {
  local outside=$BATS_TEST_TMPDIR/outside
  mkdir -p "$outside"
  echo victim >"$outside/victim"
  ln -s "../../../../../../../../../../../..$outside" "$BUNDLE/rootfs/mnt/evil"
  add_mount '{"destination": "/mnt/evil", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
  run_in_ctr 'echo in-tmpfs > /mnt/evil/x; grep " tmpfs " /proc/self/mountinfo | grep -c .'
  assert_success
  [ "$(ls "$outside")" = victim ]
  [ ! -e "$outside/x" ]
  [ -d "$BUNDLE/rootfs/$outside" ]
}

@test "root.readonly makes the root read-only" {
  cfg '.root.readonly = true'
  run_in_ctr 'touch /etc/x 2>/dev/null || echo ro-root; cat /proc/self/mountinfo'
  assert_success
  assert_line ro-root
  [[ "$(mountinfo_of /)" == *" / ro,"* ]] || fail "/: $(mountinfo_of /)"
  [ ! -e "$BUNDLE/rootfs/etc/x" ]
}

@test "without root.readonly the root is writable" {
  run_in_ctr 'echo w > /etc/x && echo rw-root'
  assert_success
  assert_line rw-root
  [ "$(cat "$BUNDLE/rootfs/etc/x")" = w ]
}

@test "the container's root is the bundle rootfs, with the host root gone (pivot_root)" {
  echo rootfs-marker >"$BUNDLE/rootfs/marker"
  run_in_ctr 'cat /marker; ls /; wc -l < /proc/self/mountinfo'
  assert_success
  assert_line rootfs-marker
  refute_line work
  refute_line boot
  # no mount of the host's root filesystem device remains visible
  local hostdev
  hostdev=$(awk '$5 == "/" {print $3}' /proc/self/mountinfo)
  set_args cat /proc/self/mountinfo
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "$(printf '%s\n' "$output" | awk -v d="$hostdev" '$3 == d && $5 != "/"' | wc -l)" -eq 0 ] ||
    fail "host mounts visible: $output"
}

@test "--no-pivot runs the container in the rootfs" {
  echo rootfs-marker >"$BUNDLE/rootfs/marker"
  set_args sh -c 'cat /marker; ls /'
  run_capsa run --no-pivot -b "$BUNDLE" ctr
  assert_success
  assert_line rootfs-marker
  refute_line work
  refute_line boot
}

@test "a relative root.path is resolved against the bundle" {
  mv "$BUNDLE/rootfs" "$BUNDLE/other-root"
  echo other >"$BUNDLE/other-root/marker"
  cfg '.root.path = "other-root"'
  set_args cat /marker
  cd /
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output other
}

@test "maskedPaths hide files and directories" {
  cfg '.linux.maskedPaths = ["/proc/version", "/proc/scsi", "/sys/firmware", "/etc/secret", "/does/not/exist"]'
  echo secret >"$BUNDLE/rootfs/etc/secret"
  run_in_ctr 'echo version=$(wc -c < /proc/version); cat /etc/secret; echo files=$(ls /sys/firmware | wc -l); echo end'
  assert_success
  assert_line version=0
  refute_output --partial secret
  assert_line files=0
  assert_line end
  # on the host the file is intact
  [ "$(cat "$BUNDLE/rootfs/etc/secret")" = secret ]
}

@test "without maskedPaths the files are visible (the masking test can fail)" {
  cfg '.linux.maskedPaths = []'
  echo secret >"$BUNDLE/rootfs/etc/secret"
  run_in_ctr 'cat /etc/secret; echo version=$(wc -c < /proc/version)'
  assert_success
  assert_line secret
  refute_line version=0
}

@test "readonlyPaths are read-only" {
  cfg '.linux.readonlyPaths = ["/proc/sys", "/etc"] | .hostname = "before"'
  run_in_ctr 'echo after > /proc/sys/kernel/hostname 2>/dev/null || echo procsys-ro; hostname;
              touch /etc/x 2>/dev/null || echo etc-ro; touch /tmp/x && echo tmp-rw'
  assert_success
  assert_line procsys-ro
  assert_line before
  assert_line etc-ro
  assert_line tmp-rw
  [ ! -e "$BUNDLE/rootfs/etc/x" ]
}

@test "default devices exist with the right types and numbers" {
  run_in_ctr 'for d in null zero full random urandom tty; do stat -L -c "$d %F %t:%T" /dev/$d; done
              for l in fd stdin stdout stderr; do readlink /dev/$l; done; ls -l /dev/ptmx
              echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1
              echo x > /dev/full 2>/dev/null || echo full-enospc'
  assert_success
  assert_line 'null character special file 1:3'
  assert_line 'zero character special file 1:5'
  assert_line 'full character special file 1:7'
  assert_line 'random character special file 1:8'
  assert_line 'urandom character special file 1:9'
  assert_line 'tty character special file 5:0'
  assert_line /proc/self/fd
  assert_line /proc/self/fd/0
  assert_line /proc/self/fd/1
  assert_line /proc/self/fd/2
  assert_line --regexp 'ptmx'
  assert_line null-ok
  assert_line --regexp '^ *00 00 00 00$'
  assert_line full-enospc
}

@test "/dev holds no host devices beyond the defaults" {
  run_in_ctr 'ls /dev'
  assert_success
  refute_line vda
  refute_line kvm
  refute_line mem
}

@test "linux.devices creates character and block devices with mode and owner" {
  cfg '.linux.devices = [{path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 384, uid: 1000, gid: 1000},
                         {path: "/dev/sub/myloop", type: "b", major: 7, minor: 0, fileMode: 432},
                         {path: "/dev/myzero", type: "c", major: 1, minor: 5, fileMode: 438}]'
  run_in_ctr 'stat -c "%n %F %t:%T %a %u:%g" /dev/mynull /dev/sub/myloop /dev/myzero; head -c 2 /dev/myzero | od -An -tx1'
  assert_success
  assert_line '/dev/mynull character special file 1:3 600 1000:1000'
  assert_line '/dev/sub/myloop block special file 7:0 660 0:0'
  assert_line '/dev/myzero character special file 1:5 666 0:0'
  assert_line --regexp '^ *00 00$'
}

@test "linux.devices replaces what the rootfs has at the path (no /dev tmpfs)" {
  mkdir -p "$BUNDLE/rootfs/dev"
  echo stale >"$BUNDLE/rootfs/dev/mynull"
  cfg '.mounts |= map(select(.destination != "/dev"))
       | .linux.devices = [{path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 438}]'
  run_in_ctr 'stat -c "%n %F %t:%T %a" /dev/mynull'
  assert_success
  assert_line '/dev/mynull character special file 1:3 666'
  rm -f "$BUNDLE/rootfs/dev/mynull"
}

@test "sysctl values are set inside the container's namespaces only" {
  local host_msgmax host_ttl
  host_msgmax=$(cat /proc/sys/kernel/msgmax)
  host_ttl=$(cat /proc/sys/net/ipv4/ip_default_ttl)
  cfg '.linux.sysctl = {"kernel.msgmax": "12345", "net.ipv4.ip_default_ttl": "99"}'
  run_in_ctr 'cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ip_default_ttl'
  local msgmax_after ttl_after
  msgmax_after=$(cat /proc/sys/kernel/msgmax)
  ttl_after=$(cat /proc/sys/net/ipv4/ip_default_ttl)
  # restore at once if the runtime leaked into the host
  [ "$msgmax_after" = "$host_msgmax" ] || echo "$host_msgmax" >/proc/sys/kernel/msgmax
  [ "$ttl_after" = "$host_ttl" ] || echo "$host_ttl" >/proc/sys/net/ipv4/ip_default_ttl
  assert_success
  [ "${lines[0]}" = 12345 ]
  [ "${lines[1]}" = 99 ]
  [ "$msgmax_after" = "$host_msgmax" ] || fail "host kernel.msgmax changed"
  [ "$ttl_after" = "$host_ttl" ] || fail "host ip_default_ttl changed"
}

@test "sysctl kernel.hostname / kernel.domainname with a new uts namespace are refused" {
  local k
  for k in kernel.hostname kernel.domainname kernel/hostname; do
    cfg '.linux.sysctl = {($k): "from-sysctl"}' --arg k "$k"
    run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
    assert_failure
    assert_error_line "$stderr"
    [[ "$stderr" == *"config.json: .linux.sysctl[\"$k\"]"* ]] || fail "error: $stderr"
    [[ "$stderr" == *".${k#kernel?}"* ]] || fail "error does not point to .${k#kernel?}: $stderr"
    assert_no_leftovers ctr
  done
}

@test "sysctl kernel.hostname in a uts namespace joined by path sets the joined namespace's name" {
  local f=$BATS_TEST_TMPDIR/uts
  touch "$f"
  unshare --uts="$f" hostname before-sysctl
  defer "umount $f"
  cfg 'del(.hostname) | .linux.namespaces = (.linux.namespaces | map(select(.type != "uts"))) + [{type: "uts", path: $p}]
       | .linux.sysctl = {"kernel.hostname": "by-sysctl"}' --arg p "$f"
  set_args hostname
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output by-sysctl
  [ "$(nsenter --uts="$f" hostname)" = by-sysctl ]
}

@test "a sysctl outside the container's namespaces is refused" {
  # the host's own value, so a runtime that wrongly writes it changes nothing
  local before
  before=$(cat /proc/sys/vm/swappiness)
  cfg '.linux.sysctl = {"vm.swappiness": $v}' --arg v "$before"
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  [ "$(cat /proc/sys/vm/swappiness)" = "$before" ] || {
    echo "$before" >/proc/sys/vm/swappiness
    fail "host vm.swappiness changed"
  }
  assert_failure
  [[ "$stderr" == *vm.swappiness* ]]
  assert_no_leftovers ctr
}

@test "linux.resources: the container's cgroups stay below the caller's, and go with the container" {
  cfg '.linux.resources = {pids: {limit: 100}} | .linux.namespaces |= map(select(.type != "cgroup"))'
  set_args cat /proc/self/cgroup
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_success
  local line hier path own
  while IFS= read -r line; do
    hier=${line%:*}
    path=${line##*:}
    own=$(grep -F -- "$hier:" /proc/self/cgroup | head -n 1)
    own=${own##*:}
    [ "$path" = "$own" ] || [[ "$path" == "${own%/}"/* ]] ||
      fail "hierarchy $hier: container in $path, outside the caller's $own"
  done <<<"$output"
  # a cgroup made for the container (relative cgroupsPath, see make_bundle) is removed with it
  local mem_own
  mem_own=$(grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3)
  if [ -d /sys/fs/cgroup/memory ]; then
    [ ! -e "/sys/fs/cgroup/memory${mem_own%/}/capsa-test-$MARK" ] || fail "memory cgroup of the container left behind"
  fi
  [ -z "$(ls -d /sys/fs/cgroup/*/capsa-test-"$MARK" 2>/dev/null)" ] || fail "cgroups left: $(ls -d /sys/fs/cgroup/*/capsa-test-"$MARK")"
}
