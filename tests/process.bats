#!/usr/bin/env bats
# process.bats: args, env, cwd, user, umask, rlimits, capabilities, terminal, stdio and fds.

load helpers

run_in_ctr () {
  set_args sh -c "$1"
  run_capsa run -b "$BUNDLE" ctr
}

# status_field NAME: the value of NAME: in the /proc/self/status text in $output.
status_field () {
  printf '%s\n' "$output" | awk -v k="$1:" '$1 == k {print $2}'
}

@test "args, env and cwd" {
  cfg '.process.env += ["FOO=bar baz", "EMPTY="] | .process.cwd = "/tmp"'
  set_args sh -c 'echo "$FOO|$EMPTY|$(pwd)|$0|$1"' zero 'one two'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output 'bar baz||/tmp|zero|one two'
}

@test "the environment is exactly process.env" {
  cfg '.process.env = ["PATH=/bin", "ONLY=this", "CAPSA_TEST_MARK=" + $m]' --arg m "$MARK"
  set_args env
  FROM_HOST=leak run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_line ONLY=this
  refute_output --partial FROM_HOST
  refute_output --partial BATS
}

@test "args[0] is found through PATH from process.env" {
  cfg '.process.env = ["PATH=/nowhere:/bin", "CAPSA_TEST_MARK=" + $m]' --arg m "$MARK"
  set_args echo via-path
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output via-path
}

@test "a missing cwd is created" {
  cfg '.process.cwd = "/new/work/dir"'
  set_args pwd
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output /new/work/dir
}

@test "user uid, gid and additionalGids" {
  cfg '.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20]}'
  run_in_ctr 'id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  assert_success
  [ "${lines[0]}" = 1000 ]
  [ "${lines[1]}" = 1000 ]
  assert_line --regexp '^Uid:\s+1000\s+1000\s+1000\s+1000$'
  assert_line --regexp '^Gid:\s+1000\s+1000\s+1000\s+1000$'
  assert_line --regexp '^Groups:\s+10 20\s*$'
}

@test "without additionalGids the supplementary groups are empty" {
  cfg '.process.user = {uid: 1000, gid: 1000}'
  run_in_ctr 'grep "^Groups:" /proc/self/status'
  assert_success
  assert_output --regexp '^Groups:\s*$'
}

@test "umask" {
  cfg '.process.user.umask = 63'
  run_in_ctr 'umask; touch /tmp/f; stat -c %a /tmp/f'
  assert_success
  assert_line 0077
  assert_line 600
}

@test "the default umask is 0022" {
  cfg 'del(.process.user.umask)'
  run_in_ctr 'umask'
  assert_success
  assert_output 0022
}

@test "rlimits are applied (within this machine's hard limits)" {
  cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1234, hard: 5678}, {type: "RLIMIT_CORE", soft: 0, hard: 4096},
                           {type: "RLIMIT_NPROC", soft: 500, hard: 600}]'
  run_in_ctr 'ulimit -n; grep -E "^Max (open files|core file size|processes)" /proc/self/limits'
  assert_success
  [ "${lines[0]}" = 1234 ]
  assert_line --regexp '^Max open files +1234 +5678 '
  assert_line --regexp '^Max core file size +0 +4096 '
  assert_line --regexp '^Max processes +500 +600 '
}

@test "an rlimit above the hard limit fails cleanly" {
  local hard
  hard=$(ulimit -Hn)
  cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: ($h + 1000), hard: ($h + 1000)}]' --argjson h "$hard"
  run --separate-stderr capsa run -b "$BUNDLE" ctr </dev/null
  assert_failure
  [[ "$stderr" == *RLIMIT_NOFILE* || "$stderr" == *rlimit* ]] || fail "$stderr"
  assert_no_leftovers ctr
}

@test "capabilities: all five sets for root" {
  cfg '.process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE"]}'
  run_in_ctr 'cat /proc/self/status'
  assert_success
  assert_equal "$(status_field CapBnd)" 0000000000000421
  assert_equal "$(status_field CapPrm)" 0000000000000421
  assert_equal "$(status_field CapEff)" 0000000000000421
  assert_equal "$(status_field CapInh)" 0000000000000420
  assert_equal "$(status_field CapAmb)" 0000000000000000
}

@test "capabilities: ambient set for a non-root user" {
  cfg '.process.user = {uid: 1000, gid: 1000}
       | .process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                  effective: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                  permitted: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                  inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                  ambient: ["CAP_NET_BIND_SERVICE"]}'
  run_in_ctr 'cat /proc/self/status'
  assert_success
  assert_equal "$(status_field Uid)" 1000
  assert_equal "$(status_field CapBnd)" 0000000000000421
  assert_equal "$(status_field CapInh)" 0000000000000420
  # after execve a non-root process keeps exactly its ambient capabilities
  assert_equal "$(status_field CapAmb)" 0000000000000400
  assert_equal "$(status_field CapPrm)" 0000000000000400
  assert_equal "$(status_field CapEff)" 0000000000000400
}

@test "capabilities: a non-root user without ambient capabilities has none" {
  cfg '.process.user = {uid: 1000, gid: 1000}'
  run_in_ctr 'cat /proc/self/status'
  assert_success
  assert_equal "$(status_field CapEff)" 0000000000000000
  assert_equal "$(status_field CapPrm)" 0000000000000000
}

@test "capabilities: a dropped capability is really gone" {
  cfg '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}'
  run_in_ctr 'touch /tmp/f; chown 1000 /tmp/f 2>/dev/null && echo chown-worked || echo chown-denied'
  assert_success
  assert_output chown-denied
  cfg '.process.capabilities = {bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]}'
  run_in_ctr 'touch /tmp/f; chown 1000 /tmp/f 2>/dev/null && echo chown-worked || echo chown-denied'
  assert_success
  assert_output chown-worked
}

@test "noNewPrivileges" {
  cfg '.process.noNewPrivileges = true'
  run_in_ctr 'grep NoNewPrivs /proc/self/status'
  assert_success
  assert_output --regexp '^NoNewPrivs:\s+1$'
  cfg '.process.noNewPrivileges = false'
  run_in_ctr 'grep NoNewPrivs /proc/self/status'
  assert_success
  assert_output --regexp '^NoNewPrivs:\s+0$'
}

@test "oomScoreAdj" {
  cfg '.process.oomScoreAdj = 537'
  run_in_ctr 'cat /proc/self/oom_score_adj'
  assert_success
  assert_output 537
}

@test "stdout, stderr and stdin are inherited when there is no terminal" {
  set_args sh -c 'read line; echo "out:$line"; echo "err:$line" >&2; [ -t 0 ] || echo not-a-tty'
  run --separate-stderr bash -c 'echo hello | "$0" --root "$1" run -b "$2" ctr' "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  assert_output $'out:hello\nnot-a-tty'
  [ "$stderr" = err:hello ]
}

@test "the container process gets no file descriptors beyond stdio" {
  # ls is the container process itself: 0, 1, 2 and the directory it reads
  set_args ls /proc/self/fd
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  [ "$(echo $output)" = "0 1 2 3" ] || fail "extra fds: $output"
}

@test "--preserve-fds passes fds 3..3+N-1 and no others" {
  echo three >"$BATS_TEST_TMPDIR/f3"
  echo four >"$BATS_TEST_TMPDIR/f4"
  echo five >"$BATS_TEST_TMPDIR/f5"
  set_args sh -c 'cat <&3; cat <&4; [ -e /proc/self/fd/5 ] && echo has-5 || echo no-5'
  run bash -c 'exec 3<"$0/f3" 4<"$0/f4" 5<"$0/f5"; "$1" --root "$2" run --preserve-fds 2 -b "$3" ctr </dev/null' \
    "$BATS_TEST_TMPDIR" "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  assert_output $'three\nfour\nno-5'
}

# fds_of PID: the fd numbers PID has open, and where 3 and 7 point, on one line.
fds_of () {
  echo $(ls /proc/$1/fd | sort -n) "$(readlink /proc/$1/fd/3)" "$(readlink /proc/$1/fd/7)"
}

@test "--preserve-fds with a large N: capsa's own fds never land in the range (run -d, create)" {
  touch "$BATS_TEST_TMPDIR/f3" "$BATS_TEST_TMPDIR/f7"
  set_args sleep 1000
  # 3 and 7 open, the rest of 3..102 closed (those the shell has from bats too): without care
  # capsa's rootfs fd, sync socket... take the free numbers inside the range
  local only_3_7='for i in $(seq 3 102); do eval "exec $i>&-"; done; exec 3<"$0/f3" 7<"$0/f7"'
  local want="0 1 2 3 7 $BATS_TEST_TMPDIR/f3 $BATS_TEST_TMPDIR/f7"
  run bash -c "$only_3_7"'; "$1" --root "$2" run -d --preserve-fds 100 -b "$3" ctr </dev/null >/dev/null 2>"$0/err"' \
    "$BATS_TEST_TMPDIR" "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  assert_equal "$(fds_of "$(pid_of ctr)")" "$want"
  capsa delete -f ctr
  run bash -c "$only_3_7"'; "$1" --root "$2" create --preserve-fds 100 -b "$3" ctr </dev/null >/dev/null 2>"$0/err"' \
    "$BATS_TEST_TMPDIR" "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  capsa start ctr
  assert_equal "$(fds_of "$(pid_of ctr)")" "$want"
  capsa delete -f ctr
}

@test "the init has a session and process group of its own, with and without a terminal" {
  set_args sh -c 'echo $$ $(cut -d" " -f5,6 /proc/self/stat)'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  read -r pid pgrp sid <<<"$output"
  [ "$pgrp" = "$pid" ] && [ "$sid" = "$pid" ] || fail "pid $pid, process group $pgrp, session $sid"
  if command -v script >/dev/null; then
    cfg '.process.terminal = true'
    run script -qec "$CAPSA --root $ROOT run -b $BUNDLE ctr" /dev/null </dev/null
    assert_success
    read -r pid pgrp sid <<<"$(tr -cd '0-9 \n' <<<"$output")"
    [ "$pgrp" = "$pid" ] && [ "$sid" = "$pid" ] || fail "terminal: pid $pid, process group $pgrp, session $sid"
  fi
}

@test "a signal to the caller's process group does not reach the container" {
  set_args sh -c 'trap "echo got-int >/tmp/got; exit 0" INT; echo ready >/tmp/ready; while :; do sleep 0.1; done'
  # the caller runs capsa in a process group of its own, then signals that whole group
  # (as a terminal does on ^C); the caller itself handles the signal and carries on
  run setsid bash -c 'trap "echo caller-int" INT
    "$0" --root "$1" run -d -b "$2" ctr </dev/null >/dev/null 2>&1 || exit 9
    for i in $(seq 100); do "$0" --root "$1" exec ctr test -e /tmp/ready && break; sleep 0.1; done
    kill -INT 0; sleep 0.5; echo sent' "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  assert_line sent
  run_capsa exec ctr sh -c 'cat /tmp/got 2>/dev/null || echo no-signal'
  assert_output no-signal
  capsa delete -f ctr
}

@test "without --preserve-fds an inherited fd 3 is not passed" {
  echo three >"$BATS_TEST_TMPDIR/f3"
  set_args sh -c '[ -e /proc/self/fd/3 ] && cat <&3 || echo no-3'
  run bash -c 'exec 3<"$0/f3"; "$1" --root "$2" run -b "$3" ctr </dev/null' "$BATS_TEST_TMPDIR" "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  assert_output no-3
}

@test "LISTEN_FDS passes socket-activation fds and sets LISTEN_FDS" {
  echo listen-three >"$BATS_TEST_TMPDIR/f3"
  set_args sh -c 'echo "LISTEN_FDS=$LISTEN_FDS"; cat <&3'
  run bash -c 'exec 3<"$0/f3"; export LISTEN_FDS=1 LISTEN_PID=$$; exec "$1" --root "$2" run -b "$3" ctr </dev/null' \
    "$BATS_TEST_TMPDIR" "$CAPSA" "$ROOT" "$BUNDLE"
  assert_success
  assert_line LISTEN_FDS=1
  assert_line listen-three
}

@test "terminal: the console is sent to --console-socket and is the process's tty" {
  [ -x /usr/bin/python3 ] || command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
  console_receiver "$sock" "$out" $'typed-input\n'
  cfg '.process.terminal = true'
  set_args sh -c 'read line; tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; echo "got:$line"'
  capsa_bg create --console-socket "$sock" -b "$BUNDLE" ctr
  capsa start ctr
  wait_status ctr stopped
  stop_receiver
  capsa delete ctr
  tr -d '\r' <"$out" >"$out.txt"
  grep -q '^/dev/pts/[0-9]' "$out.txt" || fail "tty: $(cat "$out.txt")"
  grep -q '^all-tty$' "$out.txt" || fail "not a tty: $(cat "$out.txt")"
  grep -q '^got:typed-input$' "$out.txt" || fail "input: $(cat "$out.txt")"
}

@test "terminal with run -d and --console-socket" {
  command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
  console_receiver "$sock" "$out"
  cfg '.process.terminal = true'
  set_args sh -c 'stty size; echo detached-tty; sleep 0.2'
  capsa_bg run -d --console-socket "$sock" -b "$BUNDLE" ctr
  wait_status ctr stopped
  stop_receiver
  capsa delete ctr
  grep -q detached-tty "$out" || fail "console output: $(cat "$out")"
}

@test "terminal with consoleSize" {
  command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/console.out
  console_receiver "$sock" "$out"
  cfg '.process.terminal = true | .process.consoleSize = {height: 33, width: 111}'
  set_args stty size
  capsa_bg create --console-socket "$sock" -b "$BUNDLE" ctr
  capsa start ctr
  wait_status ctr stopped
  stop_receiver
  capsa delete ctr
  grep -q '33 111' "$out" || fail "console size: $(cat "$out")"
}
