#!/usr/bin/env bats
# exec.bats: `capsa exec`: a new process in a running container's namespaces, cgroup, limits.

load helpers

# start_ctr [ARGS...]: a detached container `ctr` running ARGS (default: sleep 1000).
start_ctr () {
  [ $# -gt 0 ] || set -- sleep 1000
  set_args "$@"
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr running
}

@test "exec: output and exit status" {
  start_ctr
  run_capsa exec ctr sh -c 'echo hello-from-exec; exit 3'
  assert_failure 3
  assert_output hello-from-exec
  run_capsa exec ctr true
  assert_success
  capsa delete -f ctr
}

@test "exec: killed by a signal exits 128+N" {
  start_ctr
  run_capsa exec ctr sh -c 'kill -9 $$'
  assert_failure 137
  capsa delete -f ctr
}

@test "exec: the command keeps its own options" {
  start_ctr
  run_capsa exec ctr sh -c 'printf "%s " "$@"' sh -e -u --cwd x
  assert_success
  assert_output "-e -u --cwd x "
  capsa delete -f ctr
}

@test "exec: -e appends to the container's env and overrides by name" {
  cfg '.process.env += ["FROM_CONFIG=1", "OVER=old"]'
  start_ctr
  run_capsa exec -e NEW=2 --env OVER=new ctr sh -c 'echo $FROM_CONFIG $NEW $OVER $PATH'
  assert_success
  assert_output "1 2 new /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  capsa delete -f ctr
}

@test "exec: --cwd, and the container's cwd by default" {
  cfg '.process.cwd = "/home"'
  start_ctr
  run_capsa exec ctr pwd
  assert_output /home
  run_capsa exec --cwd /tmp ctr pwd
  assert_output /tmp
  run_capsa exec --cwd /no/such/dir ctr pwd
  assert_failure 255
  assert_output --partial 'chdir to cwd ("/no/such/dir")'
  capsa delete -f ctr
}

@test "exec: -u uid:gid and --additional-gids" {
  start_ctr
  run_capsa exec -u 1000:1000 ctr sh -c 'id -u; id -g'
  assert_success
  assert_equal "${lines[0]}" 1000
  assert_equal "${lines[1]}" 1000
  run_capsa exec -u 1000 -g 7 --additional-gids 8 ctr sh -c 'id -u; id -g; id -G'
  assert_success
  assert_equal "${lines[0]}" 1000
  assert_equal "${lines[1]}" 0
  assert_equal "${lines[2]}" "0 7 8"
  run_capsa exec -u bogus ctr true
  assert_failure 255
  assert_output --partial 'invalid id "bogus"'
  capsa delete -f ctr
}

@test "exec: -c adds a capability (CapEff), the container's set otherwise" {
  start_ctr
  local base with
  base=$(capsa exec ctr sh -c 'grep CapEff /proc/self/status' </dev/null | awk '{print $2}')
  with=$(capsa exec -c CAP_SYS_ADMIN ctr sh -c 'grep CapEff /proc/self/status' </dev/null | awk '{print $2}')
  # CAP_SYS_ADMIN is bit 21
  (( (0x$base & (1 << 21)) == 0 )) || fail "base set already has CAP_SYS_ADMIN: $base"
  (( (0x$with & (1 << 21)) != 0 )) || fail "CAP_SYS_ADMIN missing: $with"
  (( (0x$with & ~(1 << 21)) == 0x$base )) || fail "other caps changed: $base -> $with"
  capsa delete -f ctr
}

@test "exec: --no-new-privs" {
  cfg '.process.noNewPrivileges = false'
  start_ctr
  run_capsa exec ctr grep NoNewPrivs /proc/self/status
  assert_output --regexp 'NoNewPrivs:[[:space:]]+0'
  run_capsa exec --no-new-privs ctr grep NoNewPrivs /proc/self/status
  assert_output --regexp 'NoNewPrivs:[[:space:]]+1'
  capsa delete -f ctr
}

@test "exec: rlimits of the container apply" {
  cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 321, hard: 654}]'
  start_ctr
  run_capsa exec ctr sh -c 'ulimit -n; ulimit -H -n'
  assert_success
  assert_equal "${lines[0]}" 321
  assert_equal "${lines[1]}" 654
  capsa delete -f ctr
}

@test "exec: -p process.json is used as it is" {
  start_ctr
  cat >"$BATS_TEST_TMPDIR/process.json" <<'JSON'
{ "args": ["sh", "-c", "echo $P_VAR; id -u; pwd"], "env": ["P_VAR=from-json", "PATH=/bin"],
  "cwd": "/tmp", "user": {"uid": 1000, "gid": 1000} }
JSON
  run_capsa exec -p "$BATS_TEST_TMPDIR/process.json" ctr
  assert_success
  assert_equal "${lines[0]}" from-json
  assert_equal "${lines[1]}" 1000
  assert_equal "${lines[2]}" /tmp
  echo '{"args": 3}' >"$BATS_TEST_TMPDIR/bad.json"
  run_capsa exec -p "$BATS_TEST_TMPDIR/bad.json" ctr
  assert_failure 255
  assert_output --partial 'process.json: .args'
  capsa delete -f ctr
}

@test "exec: -t with --console-socket" {
  command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
  start_ctr
  console_receiver "$sock" "$out" $'typed\n'
  run_capsa exec -t --console-socket "$sock" ctr sh -c 'read l; tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; echo "got:$l"'
  assert_success
  stop_receiver
  tr -d '\r' <"$out" >"$out.txt"
  grep -q '^/dev/pts/[0-9]' "$out.txt" || fail "tty: $(cat "$out.txt")"
  grep -q '^all-tty$' "$out.txt" || fail "not a tty: $(cat "$out.txt")"
  grep -q '^got:typed$' "$out.txt" || fail "input: $(cat "$out.txt")"
  capsa delete -f ctr
}

@test "exec: -t in the foreground proxies the terminal" {
  command -v script >/dev/null || skip "script(1) needed"
  start_ctr
  run script -qec "$CAPSA --root $ROOT exec -t ctr sh -c 'tty; exit 4'" /dev/null </dev/null
  assert_failure 4
  assert_output --regexp '/dev/pts/[0-9]+'
  capsa delete -f ctr
}

@test "exec: tty flag errors" {
  start_ctr
  run_capsa exec -t -d ctr true
  assert_failure 255
  assert_output "capsa: exec in container \`ctr\`: cannot allocate tty if capsa will detach without setting console socket"
  run_capsa exec --console-socket "$BATS_TEST_TMPDIR/nosock" ctr true
  assert_failure 255
  assert_output --partial "cannot use console socket if capsa will not detach or allocate tty"
  capsa delete -f ctr
}

@test "exec: -d returns once the process runs, --pid-file" {
  start_ctr
  capsa exec -d --pid-file "$BATS_TEST_TMPDIR/pid" ctr sh -c 'echo started >/tmp/marker; sleep 1000' </dev/null >"$OUT" 2>"$ERR"
  local pid
  pid=$(cat "$BATS_TEST_TMPDIR/pid")
  [ -d "/proc/$pid" ] || fail "pid $pid from --pid-file is not running"
  grep -q 'sleep 1000' "/proc/$pid/cmdline" 2>/dev/null || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q sleep || fail "pid $pid is not the exec'd process"
  wait_for capsa exec ctr test -e /tmp/marker
  capsa delete -f ctr
}

@test "exec: --preserve-fds" {
  start_ctr
  # (not through the `capsa` helper, which closes fd 3)
  run timeout -k 5 "$CAPSA_TEST_TIMEOUT" "$CAPSA" --root "$ROOT" exec --preserve-fds 2 ctr sh -c 'cat <&3; cat <&4; [ -e /proc/self/fd/5 ] && echo fd5-open || echo fd5-closed' \
    3< <(echo three) 4< <(echo four) 5< <(echo five) </dev/null
  assert_success
  assert_equal "${lines[0]}" three
  assert_equal "${lines[1]}" four
  assert_equal "${lines[2]}" fd5-closed
  run timeout -k 5 "$CAPSA_TEST_TIMEOUT" "$CAPSA" --root "$ROOT" exec ctr sh -c '[ -e /proc/self/fd/3 ] && echo fd3-open || echo fd3-closed' 3< <(echo x) </dev/null
  assert_output fd3-closed
  capsa delete -f ctr
}

@test "exec: capsa's own fds never land in a large --preserve-fds range" {
  start_ctr
  touch "$BATS_TEST_TMPDIR/f3" "$BATS_TEST_TMPDIR/f7"
  # 3 and 7 open, every other number of 3..102 closed (those the shell has from bats too):
  # capsa opens its files after that
  run bash -c 'for i in $(seq 3 102); do eval "exec $i>&-"; done; exec 3<"$0/f3" 7<"$0/f7"
    exec timeout -k 5 "$1" "$2" --root "$3" exec -d --pid-file "$0/pid" --preserve-fds 100 ctr sleep 1000 >/dev/null 2>&1' \
    "$BATS_TEST_TMPDIR" "$CAPSA_TEST_TIMEOUT" "$CAPSA" "$ROOT" </dev/null
  assert_success
  local pid
  pid=$(cat "$BATS_TEST_TMPDIR/pid")
  assert_equal "$(echo $(ls /proc/$pid/fd | sort -n) "$(readlink /proc/$pid/fd/3)" "$(readlink /proc/$pid/fd/7)")" \
    "0 1 2 3 7 $BATS_TEST_TMPDIR/f3 $BATS_TEST_TMPDIR/f7"
  capsa delete -f ctr
}

@test "exec: the process has a session and process group of its own, with and without a terminal" {
  start_ctr
  # $$, then the process group and session of a child of it: all the same
  run_capsa exec ctr sh -c 'echo $$ $(cut -d" " -f5,6 /proc/self/stat)'
  assert_success
  read -r pid pgrp sid <<<"$output"
  [ "$pgrp" = "$pid" ] && [ "$sid" = "$pid" ] || fail "pid $pid, process group $pgrp, session $sid"
  if command -v script >/dev/null; then
    run script -qec "$CAPSA --root $ROOT exec -t ctr sh -c 'echo \$\$ \$(cut -d\" \" -f5,6 /proc/self/stat)'" /dev/null </dev/null
    assert_success
    read -r pid pgrp sid <<<"$(tr -cd '0-9 \n' <<<"$output")"
    [ "$pgrp" = "$pid" ] && [ "$sid" = "$pid" ] || fail "terminal: pid $pid, process group $pgrp, session $sid"
  fi
  capsa delete -f ctr
}

@test "exec: --cap with an unknown capability is refused" {
  start_ctr
  run --separate-stderr capsa exec --cap CAP_NO_SUCH_THING ctr true </dev/null
  assert_failure
  assert_error_line "$stderr"
  [[ "$stderr" == *'unknown capability "CAP_NO_SUCH_THING"'* ]] || fail "error: $stderr"
  run --separate-stderr capsa exec --cap SYS_ADMIN ctr true </dev/null
  assert_failure
  [[ "$stderr" == *'unknown capability "SYS_ADMIN"'* ]] || fail "error: $stderr"
  capsa delete -f ctr
}

@test "exec: joins every namespace of the container" {
  start_ctr
  local pid ns mine theirs
  pid=$(pid_of ctr)
  for ns in mnt pid net ipc uts cgroup user; do
    [ -e "/proc/$pid/ns/$ns" ] || continue
    theirs=$(readlink "/proc/$pid/ns/$ns")
    mine=$(capsa exec ctr readlink "/proc/self/ns/$ns" </dev/null)
    [ "$mine" = "$theirs" ] || fail "$ns: exec is in $mine, the init in $theirs"
  done
  # a pid of the container's pid namespace, the container's rootfs
  run_capsa exec ctr sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "'
  [ "${lines[0]}" -gt 1 ]
  assert_equal "${lines[1]}" "sleep 1000 "
  capsa delete -f ctr
}

@test "exec: joins the container's user namespace" {
  cfg '.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
       | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
       | .mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))'
  local d=$BUNDLE
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    case $d in "$BATS_RUN_TMPDIR"*) chmod o+x "$d" ;; esac
  done
  start_ctr
  local pid
  pid=$(pid_of ctr)
  run_capsa exec ctr sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map'
  assert_success
  assert_equal "${lines[0]}" "$(readlink /proc/$pid/ns/user)"
  assert_output --regexp '0[[:space:]]+100000[[:space:]]+65536'
  run_capsa exec -u 1000 ctr id -u
  assert_output 1000
  capsa delete -f ctr
}

@test "exec: joins the container's cgroup" {
  start_ctr
  local pid
  pid=$(pid_of ctr)
  run_capsa exec ctr cat /proc/self/cgroup
  assert_success
  local mine theirs
  mine=$(capsa exec ctr sh -c 'cat /proc/$$/cgroup' </dev/null)
  theirs=$(capsa exec ctr cat /proc/1/cgroup </dev/null)
  assert_equal "$mine" "$theirs"
  # from the host: the exec'd process sits in the init's cgroups
  capsa exec -d --pid-file "$BATS_TEST_TMPDIR/pid" ctr sleep 1000 </dev/null >"$OUT" 2>"$ERR"
  assert_equal "$(cat /proc/$(cat "$BATS_TEST_TMPDIR/pid")/cgroup)" "$(cat /proc/$pid/cgroup)"
  capsa delete -f ctr
}

@test "exec: --cgroup runs in an existing sub-cgroup" {
  start_ctr
  local pid dir
  pid=$(pid_of ctr)
  dir=$(awk -F: '$2 == "pids" {print $3}' /proc/$pid/cgroup)
  if [ -z "$dir" ] || [ ! -d "/sys/fs/cgroup/pids$dir" ]; then
    capsa delete -f ctr
    skip "no v1 pids hierarchy"
  fi
  mkdir "/sys/fs/cgroup/pids$dir/sub"
  defer "rmdir /sys/fs/cgroup/pids$dir/sub"
  capsa exec -d --pid-file "$BATS_TEST_TMPDIR/pid" --cgroup pids:sub ctr sleep 1000 </dev/null >"$OUT" 2>"$ERR"
  local epid
  epid=$(cat "$BATS_TEST_TMPDIR/pid")
  grep -q ":pids:$dir/sub\$" /proc/$epid/cgroup || fail "not in the sub-cgroup: $(cat /proc/$epid/cgroup)"
  kill -9 "$epid"
  run_capsa exec --cgroup no-such-sub ctr true
  assert_failure 255
  assert_output --partial "no-such-sub"
  capsa delete -f ctr
  rmdir "/sys/fs/cgroup/pids$dir/sub" 2>/dev/null || true
}

@test "exec: --cgroup takes names with .. inside a component, never a .. component" {
  start_ctr
  local pid dir
  pid=$(pid_of ctr)
  dir=$(awk -F: '$2 == "pids" {print $3}' /proc/$pid/cgroup)
  if [ -z "$dir" ] || [ ! -d "/sys/fs/cgroup/pids$dir" ]; then
    capsa delete -f ctr
    skip "no v1 pids hierarchy"
  fi
  mkdir -p "/sys/fs/cgroup/pids$dir/a..b/c..."
  defer "rmdir /sys/fs/cgroup/pids$dir/a..b/c... /sys/fs/cgroup/pids$dir/a..b"
  run_capsa exec --cgroup pids:a..b/c... ctr cat /proc/self/cgroup
  assert_success
  assert_line --regexp ":pids:.*/a\.\.b/c\.\.\.\$"
  local bad
  for bad in ../x a/../b a/.. ..; do
    run --separate-stderr capsa exec --cgroup "pids:$bad" ctr true </dev/null
    assert_failure
    [[ "$stderr" == *"invalid sub-cgroup"* ]] || fail "$bad: $stderr"
  done
  capsa delete -f ctr
}

@test "exec: the container's seccomp filter applies" {
  cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38}]}'
  start_ctr
  run_capsa exec ctr mkdir /tmp/blocked
  assert_failure
  assert_output --partial "Function not implemented"
  run_capsa exec ctr grep Seccomp: /proc/self/status
  assert_output --regexp 'Seccomp:[[:space:]]+2'
  capsa delete -f ctr
}

@test "exec: missing binary has runc's error text and exits 255" {
  start_ctr
  run_capsa exec ctr no-such-binary
  assert_failure 255
  assert_error_line
  assert_output --partial 'exec: "no-such-binary": executable file not found in $PATH'
  run_capsa exec ctr /no/such/path
  assert_failure 255
  assert_output --partial 'exec: "/no/such/path": stat /no/such/path: no such file or directory'
  capsa delete -f ctr
}

@test "exec: into a stopped container fails clearly" {
  set_args true
  capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr stopped
  run_capsa exec ctr true
  assert_failure 255
  assert_error_line
  assert_output --partial "cannot exec in a stopped container"
  capsa delete ctr
}

@test "exec: into a created container" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" ctr
  run_capsa exec ctr sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo'
  assert_success
  assert_output --partial "capsa"
  capsa delete -f ctr
}

@test "exec: bad usage" {
  run_capsa exec
  assert_failure 1
  assert_error_line
  run_capsa exec ctr
  assert_failure 1
  assert_output --partial "expected CONTAINER COMMAND"
  run_capsa exec no-such-ctr true
  assert_failure 255
  assert_output --partial "does not exist"
}

@test "exec: into a paused container needs --ignore-paused" {
  "$CAPSA" --help | grep -q '^  pause ' || skip "capsa pause not available"
  start_ctr
  capsa pause ctr || skip "pause failed on this host"
  run_capsa exec ctr true
  assert_failure 255
  assert_output --partial "cannot exec in a paused container"
  capsa resume ctr
  run_capsa exec ctr true
  assert_success
  capsa delete -f ctr
}

# ses_keyrings ID: how many session keyrings named _ses.ID exist (the host's /proc/keys shows
# root every key of uid 0).
ses_keyrings () {
  awk -v n="_ses.$1:" '$8 == "keyring" && $9 == n' /proc/keys | wc -l
}

@test "exec: the process gets a session keyring of the container's, not the caller's (as runc); none with --no-new-keyring" {
  [ -r /proc/keys ] || skip "no /proc/keys (kernel without CONFIG_KEYS)"
  # ids of the test's own: keyrings are named after the container
  local id=keys-$MARK
  set_args sleep 1000
  capsa_bg run -d -b "$BUNDLE" "$id"
  assert_equal "$(ses_keyrings "$id")" 1
  # the init's keyring is not searchable by another process, so the exec makes its own
  capsa exec -d "$id" sleep 1000 </dev/null >"$OUT" 2>"$ERR"
  assert_equal "$(ses_keyrings "$id")" 2
  capsa delete -f "$id"
  capsa_bg run -d --no-new-keyring -b "$BUNDLE" "$id-n"
  capsa exec -d "$id-n" sleep 1000 </dev/null >"$OUT" 2>"$ERR"
  assert_equal "$(ses_keyrings "$id-n")" 0
  capsa delete -f "$id-n"
  assert_no_leftovers "$id" "$id-n"
}
