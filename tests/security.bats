#!/usr/bin/env bats
# security.bats: seccomp (actions, errno, operators, arches, flags, notify listener),
# capabilities, and regression tests for known runtime escape classes.

load helpers

PROGS=$BATS_TEST_DIRNAME/progs

# seccomp PROFILE-JSON: set linux.seccomp.
seccomp () {
  cfg '.linux.seccomp = $s' --argjson s "$1"
}

run_in_ctr () {
  set_args sh -c "$1"
  run_capsa run -b "$BUNDLE" ctr
}


# ---------------------------------------------------------------- seccomp -----------------

@test "seccomp: a denied syscall returns errnoRet" {
  seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":28}]}'
  run_in_ctr 'mkdir /x; echo rc=$?; touch /y && echo touched'
  assert_success
  assert_output --partial "No space left on device"
  assert_line rc=1
  assert_line touched
}

@test "seccomp: SCMP_ACT_ERRNO without errnoRet is EPERM" {
  seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
  run_in_ctr 'mkdir /x'
  assert_failure
  assert_output --partial "Operation not permitted"
}

@test "seccomp: defaultErrnoRet applies to every syscall not allowed" {
  local names
  names=$(awk '/^#define __NR_/ {sub("__NR_", "", $2); print $2}' /usr/include/x86_64-linux-gnu/asm/unistd_64.h \
    | grep -v -x -E 'mkdir|mkdirat' | jq -R . | jq -sc .)
  [ "$(echo "$names" | jq length)" -gt 300 ] || skip "no syscall list in the kernel headers"
  seccomp "$(jq -nc --argjson n "$names" '{defaultAction:"SCMP_ACT_ERRNO",defaultErrnoRet:28,syscalls:[{names:$n,action:"SCMP_ACT_ALLOW"}]}')"
  run_in_ctr 'mkdir /x; echo rc=$?'
  assert_success
  assert_output --partial "No space left on device"
  assert_line rc=1
}

@test "seccomp: SCMP_ACT_KILL and SCMP_ACT_KILL_PROCESS end the process (159)" {
  local act
  for act in SCMP_ACT_KILL SCMP_ACT_KILL_PROCESS SCMP_ACT_KILL_THREAD; do
    seccomp "$(jq -nc --arg a $act '{defaultAction:"SCMP_ACT_ALLOW",syscalls:[{names:["mkdir","mkdirat"],action:$a}]}')"
    set_args mkdir /x
    run_capsa run -b "$BUNDLE" ctr
    [ "$status" -eq 159 ] || fail "$act: expected 159, got $status: $output"
    [ ! -e "$BUNDLE/rootfs/x" ]
  done
}

@test "seccomp: argument operators select the call" {
  # kill(pid, SIGUSR1) denied, kill(pid, 0) allowed; MASKED_EQ on umask's mode
  seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":1,"value":10,"op":"SCMP_CMP_EQ"}]},
    {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":1,"value":30,"op":"SCMP_CMP_GT"},{"index":0,"value":0,"op":"SCMP_CMP_NE"}]},
    {"names":["fchmodat"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":2,"value":2048,"valueTwo":2048,"op":"SCMP_CMP_MASKED_EQ"}]},
    {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":1,"value":2048,"valueTwo":2048,"op":"SCMP_CMP_MASKED_EQ"}]},
    {"names":["fchmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":1,"value":2048,"valueTwo":2048,"op":"SCMP_CMP_MASKED_EQ"}]}]}'
  run_in_ctr 'kill -0 $$ && echo zero-ok; kill -USR1 $$ || echo usr1-denied; kill -31 $$ || echo 31-denied
    touch /f; chmod 0755 /f && echo chmod-ok; chmod 04755 /f || echo setuid-denied'
  assert_success
  assert_line zero-ok
  assert_line usr1-denied
  assert_line 31-denied
  assert_line chmod-ok
  assert_line setuid-denied
}

@test "seccomp: architectures and SECCOMP_FILTER_FLAG_LOG" {
  seccomp '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":28},{"names":["getpid"],"action":"SCMP_ACT_LOG"}]}'
  run_in_ctr 'grep ^Seccomp: /proc/self/status; mkdir /x'
  assert_failure
  assert_line --regexp '^Seccomp:\s+2$'
  assert_output --partial "No space left on device"
}

@test "seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" {
  seccomp '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}'
  run_capsa run -b "$BUNDLE" ctr
  if [ "$status" -eq 0 ]; then
    return 0 # libseccomp >= 2.6 and a kernel with the flag
  fi
  assert_error_line
  assert_output --partial '.linux.seccomp.flags[0]: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"'
  assert_no_leftovers ctr
}

@test "seccomp: bad profiles are clear errors naming the JSON path, nothing left" {
  local p msgs=(
    '{"defaultAction":"SCMP_ACT_BOGUS"}|.linux.seccomp.defaultAction: unknown action "SCMP_ACT_BOGUS"'
    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_NOPE"}]}|.linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_NOPE"'
    '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}|.linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"'
    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]}|.linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_LIKE"'
    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ALLOW","errnoRet":5}]}|.linux.seccomp.syscalls[0].action: errnoRet is not valid'
    '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_BOGUS"]}|.linux.seccomp.flags[0]: unknown flag'
    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}|.linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY'
    '{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"relative/sock","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}|.linux.seccomp.listenerPath: "relative/sock" is not an absolute path'
    '{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/nonexistent/capsa.sock","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}|.linux.seccomp.listenerPath: connect to "/nonexistent/capsa.sock"'
  )
  for p in "${msgs[@]}"; do
    seccomp "${p%%|*}"
    for cmd in create run; do
      run_capsa $cmd -b "$BUNDLE" ctr
      assert_failure
      assert_error_line
      assert_output --partial "config.json: ${p#*|}"
      assert_no_leftovers ctr
    done
  done
}

@test "seccomp: SCMP_ACT_NOTIFY sends the fd and state to listenerPath; the agent answers" {
  local agent sock=$BATS_TEST_TMPDIR/agent.sock st=$BATS_TEST_TMPDIR/agent.state pid
  agent=$(build_prog seccomp-agent -lseccomp)
  "$agent" "$sock" "$st" 18 3>&- &
  pid=$!
  defer "kill $pid"
  wait_for test -S "$sock"
  seccomp "$(jq -nc --arg p "$sock" '{defaultAction:"SCMP_ACT_ALLOW",listenerPath:$p,listenerMetadata:"meta-42",syscalls:[{names:["mkdir","mkdirat"],action:"SCMP_ACT_NOTIFY"}]}')"
  run_in_ctr 'mkdir /x; echo rc=$?'
  assert_success
  # EXDEV (18), as the agent answered
  assert_output --partial "Invalid cross-device link"
  assert_line rc=1
  wait "$pid"
  run cat "$st"
  assert_output --partial '"fds":["seccompFd"]'
  assert_output --partial '"metadata":"meta-42"'
  assert_output --partial '"id":"ctr"'
  # the state of the created container (runtime.md: "created" once step 2 is done)
  assert_output --partial '"status":"created"'
  assert_line --regexp '^notified syscall (83|258)$'
  head -1 "$st" | jq -e '.ociVersion and (.pid > 0) and .state.bundle' >/dev/null
}

@test "seccomp: SCMP_ACT_NOTIFY through create and start, and in capsa exec" {
  local agent sock=$BATS_TEST_TMPDIR/agent.sock st=$BATS_TEST_TMPDIR/agent.state pid
  agent=$(build_prog seccomp-agent -lseccomp)
  "$agent" "$sock" "$st" 18 3>&- &
  pid=$!
  defer "kill $pid"
  wait_for test -S "$sock"
  seccomp "$(jq -nc --arg p "$sock" '{defaultAction:"SCMP_ACT_ALLOW",listenerPath:$p,syscalls:[{names:["mkdir","mkdirat"],action:"SCMP_ACT_NOTIFY"}]}')"
  set_args sh -c 'mkdir /x 2>/tmp/err; sleep 100'
  capsa_bg create -b "$BUNDLE" ctr
  defer "$CAPSA --root $ROOT delete -f ctr"
  capsa start ctr
  wait_for grep -q "cross-device" "$BUNDLE/rootfs/tmp/err"
  capsa delete -f ctr
  wait "$pid"
  # the exec'd process: its own connection (runc sends one per process)
  "$agent" "$sock.2" "$st.2" 18 2 3>&- &
  pid=$!
  defer "kill $pid"
  wait_for test -S "$sock.2"
  seccomp "$(jq -nc --arg p "$sock.2" '{defaultAction:"SCMP_ACT_ALLOW",listenerPath:$p,syscalls:[{names:["mkdir","mkdirat"],action:"SCMP_ACT_NOTIFY"}]}')"
  set_args sleep 100
  run_bg run -d -b "$BUNDLE" ctr
  assert_success
  run capsa exec ctr sh -c 'mkdir /y; echo rc=$?'
  assert_output --partial "cross-device"
  capsa delete -f ctr
  wait "$pid"
  grep -q '"status":"running"' "$st.2.1"
  grep -q '"fds":\["seccompFd"\]' "$st.2.1"
}

# ---------------------------------------------------------------- capabilities ------------

caps_of () {
  printf '%s\n' "$output" | awk -v k="$1:" '$1 == k {print $2}'
}

@test "capabilities: the five sets in /proc/self/status are the config's" {
  cfg '.process.user = {uid: 1000, gid: 1000} | .process.capabilities = {
    bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    effective: ["CAP_KILL", "CAP_NET_BIND_SERVICE"], permitted: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE"], ambient: ["CAP_KILL", "CAP_NET_BIND_SERVICE"]}'
  run_in_ctr 'grep ^Cap /proc/self/status'
  assert_success
  [ "$(caps_of CapBnd)" = 0000000000000421 ] || fail "CapBnd: $output"
  [ "$(caps_of CapPrm)" = 0000000000000420 ] || fail "CapPrm: $output"
  [ "$(caps_of CapEff)" = 0000000000000420 ] || fail "CapEff: $output"
  [ "$(caps_of CapInh)" = 0000000000000420 ] || fail "CapInh: $output"
  [ "$(caps_of CapAmb)" = 0000000000000420 ] || fail "CapAmb: $output"
  # as root: permitted and effective are the bounding set, nothing inheritable or ambient
  cfg '.process.user = {uid: 0, gid: 0} | .process.capabilities = {
    bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_CHOWN", "CAP_KILL"],
    permitted: ["CAP_CHOWN", "CAP_KILL"]}'
  run_in_ctr 'grep ^Cap /proc/self/status'
  assert_success
  [ "$(caps_of CapBnd)" = 0000000000000021 ] || fail "CapBnd: $output"
  [ "$(caps_of CapPrm)" = 0000000000000021 ] || fail "CapPrm: $output"
  [ "$(caps_of CapEff)" = 0000000000000021 ] || fail "CapEff: $output"
  [ "$(caps_of CapInh)" = 0000000000000000 ] || fail "CapInh: $output"
  [ "$(caps_of CapAmb)" = 0000000000000000 ] || fail "CapAmb: $output"
}

@test "capabilities: an unknown name is a clear error, nothing left" {
  cfg '.process.capabilities.bounding += ["CAP_BOGUS"]'
  local n
  n=$(jq '.process.capabilities.bounding | length - 1' "$BUNDLE/config.json")
  for cmd in create run; do
    run_capsa $cmd -b "$BUNDLE" ctr
    assert_failure
    assert_error_line
    assert_output --partial "config.json: .process.capabilities.bounding[$n]: unknown capability \"CAP_BOGUS\""
    assert_no_leftovers ctr
  done
}

# ---------------------------------------------------------------- escapes -----------------

@test "escape: no host fd reaches the container process; preserve-fds is exact" {
  local host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host" && touch "$host/HOSTMARK"
  set_args sh -c 'ls /proc/self/fd'
  # host fds open in the runtime's environment, not close-on-exec
  run capsa run -b "$BUNDLE" ctr 7<"$host" 8<"$host/HOSTMARK" 9>"$BATS_TEST_TMPDIR/out9" </dev/null
  assert_success
  [ "$(echo $output)" = "0 1 2 3" ] || fail "fds in the container: $output" # 3: ls's own dir fd
  # (not through the capsa helper, which closes fd 3)
  run timeout -k 5 30 "$CAPSA" --root "$ROOT" run --preserve-fds 2 -b "$BUNDLE" ctr 3<"$host" 4<"$host" 7<"$host" </dev/null
  assert_success
  [ "$(echo $output)" = "0 1 2 3 4 5" ] || fail "fds with --preserve-fds 2: $output"
}

@test "escape: process.cwd through /proc/self/fd/N never lands on the host (CVE-2024-21626)" {
  local host=$BATS_TEST_TMPDIR/hostdir n
  mkdir -p "$host" && touch "$host/HOSTMARK"
  set_args sh -c 'ls; ls ..; cat /proc/self/mountinfo >/dev/null'
  for n in 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    cfg '.process.cwd = $c' --arg c "/proc/self/fd/$n"
    run capsa run -b "$BUNDLE" ctr 7<"$host" 8<"$host" </dev/null
    refute_output --partial HOSTMARK
    assert_no_leftovers ctr
  done
}

@test "escape: a mount destination through a symlink stays inside the rootfs (CVE-2021-30465)" {
  local host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host"
  ln -s "$host" "$BUNDLE/rootfs/mnt/link"
  ln -s ../../../../../../../../.. "$BUNDLE/rootfs/mnt/up"
  cfg '.mounts += [{destination: "/mnt/link/sub", type: "tmpfs", source: "tmpfs"},
                   {destination: "/mnt/up/capsa-escape", type: "tmpfs", source: "tmpfs"}]'
  run_in_ctr 'grep -c tmpfs /proc/self/mountinfo >/dev/null; echo in-ctr'
  # the escape first (a runtime that follows the links may fail later, that is not the point)
  local escaped=
  [ ! -e /capsa-escape ] || { rmdir /capsa-escape; escaped+=" /capsa-escape"; }
  [ ! -e "$host/sub" ] || escaped+=" $host/sub"
  [ -z "$escaped" ] || fail "mount destinations created on the host:$escaped"
  assert_success
  [ -d "$BUNDLE/rootfs/$host/sub" ] # resolved inside the rootfs
  [ -d "$BUNDLE/rootfs/capsa-escape" ]
}

@test "escape: a masked path whose /dev/null is a symlink does not expose a protected file (CVE-2025-31133)" {
  local host=$BATS_TEST_TMPDIR/hostfile dev=$BATS_TEST_TMPDIR/devvol
  # 1. masked and readonly paths that are links to a host file: they are resolved in the
  # container's root (after pivot_root), where the host file is not
  echo secret-host-data >"$host"
  ln -s "$host" "$BUNDLE/rootfs/etc/evil"
  ln -s "$host" "$BUNDLE/rootfs/etc/evil-ro"
  cfg '.linux.maskedPaths += ["/etc/evil"] | .linux.readonlyPaths += ["/etc/evil-ro"]'
  set_args sh -c 'grep -c . /proc/self/mountinfo'
  run_bg run -b "$BUNDLE" ctr
  [ "$(cat "$host")" = secret-host-data ]
  echo more >>"$host"
  assert_no_leftovers ctr
  # 2. the attack: /dev is a volume whose null links to a /proc/sys file, which readonlyPaths
  # makes read-only. Masking binds /dev/null over each masked file: through the link that would
  # put the procfs file there, writable (with kernel/core_pattern: code run by the host's
  # kernel). kernel/hostname is namespaced, so this test harms nothing if it fails.
  mkdir -p "$dev"
  ln -s /proc/sys/kernel/hostname "$dev/null"
  echo masked >"$BUNDLE/rootfs/etc/mask-me"
  cfg '.mounts |= map(select(.destination | startswith("/dev") | not))
       | .mounts += [{destination: "/dev", type: "bind", source: $d, options: ["rbind"]}]
       | .linux.maskedPaths += ["/etc/mask-me"] | .hostname = "capsa-ctr"' --arg d "$dev"
  set_args sh -c 'echo capsa-pwned >/etc/mask-me; hostname'
  run_capsa run -b "$BUNDLE" ctr
  refute_output --partial capsa-pwned
  assert_failure
  assert_output --partial '"/dev/null" in the container is not the null device'
  assert_no_leftovers ctr
}

@test "escape: /dev/console that is a symlink is refused, no pty is bound over its target (CVE-2025-52565)" {
  local vol=$BATS_TEST_TMPDIR/vol
  mkdir -p "$vol"
  echo host-data >"$vol/target"
  chmod 0600 "$vol/target"
  # the rootfs's own /dev (no tmpfs over it), whose console links to a file of a volume
  cfg '.mounts |= map(select(.destination != "/dev"))
       | .mounts += [{destination: "/vol", type: "bind", source: $v, options: ["rbind"]}]
       | .process.terminal = true' --arg v "$vol"
  ln -sf /vol/target "$BUNDLE/rootfs/dev/console"
  set_args sh -c 'echo from-ctr >/dev/console; [ -c /vol/target ] && echo PTY-OVER-TARGET; ls -l /vol/target'
  run capsa run -b "$BUNDLE" ctr </dev/null
  refute_output --partial PTY-OVER-TARGET
  [ "$(cat "$vol/target")" = host-data ] || fail "host file changed: $(cat "$vol/target")"
  [ "$(stat -c %a "$vol/target")" = 600 ] || fail "host file mode changed"
  [ -z "$(mounts_under "$BATS_TEST_TMPDIR")" ]
}

@test "escape: sysctl writes through a bind mount over /proc/sys go to the real procfs (CVE-2025-52881)" {
  local decoy=$BATS_TEST_TMPDIR/decoy
  # a host file (a volume) bound over the sysctl's procfs file
  echo decoy >"$decoy"
  # (kernel.msgmax: an ipc namespace sysctl; kernel.domainname is refused before anything runs)
  cfg '.mounts += [{destination: "/proc/sys/kernel/msgmax", type: "bind", source: $d, options: ["bind"]}]
       | .linux.sysctl = {"kernel.msgmax": "54321"}' --arg d "$decoy"
  set_args sh -c 'cat /proc/sys/kernel/msgmax'
  run_capsa run -b "$BUNDLE" ctr
  # either refused or written to the real procfs; never into the decoy file
  [ "$(cat "$decoy")" = decoy ] || fail "sysctl went to the decoy: $output"
  # (and the run got as far as the sysctl: the bind mount itself worked)
  [[ "$output" == *'sysctl "kernel.msgmax"'* || "$output" == 54321 ]] \
    || fail "the attack did not reach the sysctl write: $output"
  assert_no_leftovers ctr
}

@test "escape: /proc as a symlink in the rootfs does not redirect the runtime's procfs writes" {
  local vol=$BATS_TEST_TMPDIR/vol
  # /proc -> /vol/proc, and /vol a volume mounted after /proc: a runtime that mounts procfs
  # through the link has it covered by the volume, whose files then take the runtime's writes
  mkdir -p "$vol/proc/sys/kernel" "$vol/proc/self" "$BUNDLE/rootfs/vol"
  echo decoy >"$vol/proc/sys/kernel/domainname"
  echo decoy >"$vol/proc/self/oom_score_adj"
  rm -rf "$BUNDLE/rootfs/proc"
  ln -s vol/proc "$BUNDLE/rootfs/proc"
  cfg '.mounts += [{destination: "/vol", type: "bind", source: $v, options: ["rbind"]}]' --arg v "$vol"
  set_args sh -c 'cat /proc/sys/kernel/domainname /proc/self/oom_score_adj'
  # the sysctl write, then the init's oomScoreAdj (each one alone: a refused sysctl stops the
  # init before the other)
  # (the third: no procfs mount at all, so the runtime's check of oomScoreAdj right before
  # execve, after pivot_root, meets the link)
  for c in '.linux.sysctl = {"kernel.domainname": "capsa-sysctl"}' \
    'del(.linux.sysctl) | .process.oomScoreAdj = 100' \
    '.mounts |= map(select(.destination != "/proc"))'; do
    cfg "$c"
    run_capsa run -b "$BUNDLE" ctr
    [ "$(cat "$vol/proc/sys/kernel/domainname")" = decoy ] || fail "sysctl redirected: $output"
    [ "$(cat "$vol/proc/self/oom_score_adj")" = decoy ] || fail "oomScoreAdj redirected: $output"
    assert_no_leftovers ctr
  done
}

# The runtime's copy used by the overwrite tests: an unprotected runtime corrupts only this.
runtime_copy () {
  cp "$CAPSA" "$BATS_TEST_TMPDIR/capsa-copy"
  CAPSA=$BATS_TEST_TMPDIR/capsa-copy
}

@test "escape: a container process cannot ptrace, read or reopen the waiting init (CVE-2019-5736)" {
  local peek sum caps
  command -v setpriv >/dev/null || skip "setpriv missing"
  command -v capsh >/dev/null || skip "capsh missing"
  peek=$(build_prog peek-runtime -static)
  cp "$peek" "$BUNDLE/rootfs/bin/peek"
  runtime_copy
  sum=$(sha256sum <"$CAPSA")
  # The attacker gets every capability the runtime holds, except CAP_SYS_PTRACE (which the
  # runtime lacks too, see setpriv below): only the init's non-dumpability protects it then.
  caps=$(capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' | grep -v -x -E 'cap_sys_ptrace|' \
    | tr a-z A-Z | jq -R . | jq -sc .)
  cfg '.process.capabilities = {bounding: $c, effective: $c, permitted: $c}' --argjson c "$caps"
  set_args sleep 100
  timeout -k 5 30 setpriv --bounding-set -sys_ptrace "$CAPSA" --root "$ROOT" create -b "$BUNDLE" ctr \
    </dev/null >"$OUT" 2>"$ERR" 3>&-
  defer "$CAPSA --root $ROOT delete -f ctr"
  # pid 1 is capsa's init waiting for start
  capsa exec -d ctr sh -c 'peek 1 /tmp/go >/tmp/peek.out 2>&1' </dev/null >/dev/null 2>&1
  wait_for grep -q '^exe:' "$BUNDLE/rootfs/tmp/peek.out"
  touch "$BUNDLE/rootfs/tmp/go"
  capsa start ctr
  wait_for grep -q -E '^(exe: denied|write:)' "$BUNDLE/rootfs/tmp/peek.out"
  capsa delete -f ctr
  run cat "$BUNDLE/rootfs/tmp/peek.out"
  [ "$(sha256sum <"$CAPSA")" = "$sum" ] || fail "the runtime binary was modified: $output"
  # (/proc/1/environ stays readable on this kernel whatever the dumpable flag: not asserted,
  # see the report on scrubbing the init's environment)
  assert_line --regexp '^ptrace: denied'
  assert_line --regexp '^exe: denied'
}

@test "escape: the capsa exec child cannot be reached before its execve" {
  local peek
  peek=$(build_prog peek-runtime -static)
  cp "$peek" "$BUNDLE/rootfs/bin/peek"
  set_args sleep 100
  run_bg run -d -b "$BUNDLE" ctr
  assert_success
  # a watcher inside the container tries every capsa process it can see while execs start
  capsa exec -d ctr sh -c 'end=$(($(date +%s) + 4)); while [ $(date +%s) -lt $end ]; do
      for p in /proc/[0-9]*; do
        case "$(readlink $p/exe 2>/dev/null)" in *capsa*) echo "SAW ${p#/proc/}" >>/tmp/saw;; esac
      done
    done; echo done >>/tmp/saw' </dev/null >/dev/null 2>&1
  for i in $(seq 1 30); do capsa exec ctr true </dev/null; done
  wait_for grep -q done "$BUNDLE/rootfs/tmp/saw"
  capsa delete -f ctr
  run cat "$BUNDLE/rootfs/tmp/saw"
  refute_output --partial SAW
}

# attack_script: /attack in the rootfs. It finds the capsa that /entrypoint (`#!/proc/self/exe
# --log=/tmp/fifo`) made run inside the container, opens its /proc/<pid>/exe while it blocks on
# the fifo, lets it exit, then tries to overwrite the binary through the kept fd.
attack_script () {
  cat >"$BUNDLE/rootfs/attack" <<'SCRIPT'
#!/bin/sh
want="/proc/self/exe --log=/tmp/fifo /entrypoint "
end=$(($(date +%s) + 15))
pid=
while [ -z "$pid" ] && [ "$(date +%s)" -lt "$end" ]; do
  for p in /proc/[0-9]*; do
    [ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" = "$want" ] && pid=${p#/proc/} && break
  done
done
[ -n "$pid" ] || { echo "no victim"; exit 0; }
echo "victim $pid: $(readlink /proc/$pid/exe)"
if (: <"/proc/$pid/exe") 2>/dev/null; then
  exec 5<"/proc/$pid/exe"
  echo "exe: opened"
else
  echo "exe: denied"
fi
cat /tmp/fifo >/dev/null
i=0
while [ $i -lt 60 ]; do
  if (echo CAPSA-OVERWRITTEN >/proc/self/fd/5) 2>/dev/null; then echo "write: done"; exit 0; fi
  i=$((i + 1))
  sleep 0.05
done
echo "write: denied"
SCRIPT
  printf '#!/proc/self/exe --log=/tmp/fifo\n' >"$BUNDLE/rootfs/entrypoint"
  # the runtime must be able to run in the container: its loader and libraries
  local lib
  for lib in $(ldd "$CAPSA" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    cp --parents -L "$lib" "$BUNDLE/rootfs/"
  done
  chmod 0755 "$BUNDLE/rootfs/attack" "$BUNDLE/rootfs/entrypoint"
  mkfifo "$BUNDLE/rootfs/tmp/fifo"
}

@test "escape: #!/proc/self/exe cannot overwrite the runtime binary (CVE-2019-5736)" {
  local sum orig=$CAPSA
  runtime_copy
  sum=$(sha256sum <"$CAPSA")
  attack_script
  # 1. the entrypoint re-executes the runtime; no pid namespace, so the init's death does not
  # end the attacker, which an exec started before `start`
  cfg '.linux.namespaces |= map(select(.type != "pid"))'
  set_args /entrypoint
  capsa_bg create -b "$BUNDLE" ctr
  defer "$CAPSA --root $ROOT delete -f ctr"
  capsa exec -d ctr sh -c '/attack >/tmp/attack.out 2>&1' </dev/null >/dev/null 2>&1
  capsa start ctr
  wait_for grep -q -E '^(no victim|write:)' "$BUNDLE/rootfs/tmp/attack.out"
  run cat "$BUNDLE/rootfs/tmp/attack.out"
  # (a modified copy is put back first, so that the cleanup still works)
  [ "$(sha256sum <"$CAPSA")" = "$sum" ] \
    || { cp "$orig" "$CAPSA"; fail "the runtime binary was modified by the entrypoint attack: $output"; }
  capsa delete -f ctr
  assert_line --partial "exe: "
  assert_line "write: denied"
  # the victim ran from the read-only view of the binary (a mounted file outside the
  # container's paths: "/"), or from the sealed copy in sanitizer builds
  if ldd "$orig" 2>/dev/null | grep -q libasan; then
    assert_line --regexp '^victim [0-9]+: /memfd:capsa \(deleted\)$'
  else
    assert_line --regexp '^victim [0-9]+: /$'
  fi
  # 2. a program run by `capsa exec` re-executes the runtime; the attacker is the container
  set_args sh -c '/attack >/tmp/attack.out 2>&1; sleep 100'
  cfg '.linux.namespaces += [{type: "pid"}]'
  rm -f "$BUNDLE/rootfs/tmp/attack.out"
  capsa run -d -b "$BUNDLE" ctr </dev/null >/dev/null 2>"$ERR"
  # (exec'd directly: through a shell, /proc/self/exe would be the shell)
  capsa exec -d ctr /entrypoint </dev/null >/dev/null 2>&1 || true
  pid=$(pid_of ctr)
  wait_for grep -q -E "^(no victim|write:)" "$BUNDLE/rootfs/tmp/attack.out" || fail "$(cat "$ERR")"
  run cat "$BUNDLE/rootfs/tmp/attack.out"
  # (a modified copy is put back first, so that the cleanup still works)
  [ "$(sha256sum <"$CAPSA")" = "$sum" ] \
    || { cp "$orig" "$CAPSA"; fail "the runtime binary was modified by the exec attack: $output"; }
  capsa delete -f ctr
  assert_line --partial "exe: "
  assert_line "write: denied"
}

@test "escape: the waiting init does not expose the caller's environment" {
  # CAP_SYS_PTRACE lets a container process read the non-dumpable init's /proc/1/environ
  cfg '.process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE"])'
  set_args sleep 100
  CAPSA_SECRET_MARK=capsa-secret-4711 capsa_bg create -b "$BUNDLE" ctr
  defer "$CAPSA --root $ROOT delete -f ctr"
  # the marker is in the runtime's environment, not in the container's
  run capsa exec ctr sh -c 'tr "\0" "\n" </proc/1/environ; echo read=$?'
  capsa delete -f ctr
  assert_success
  assert_line read=0
  refute_output --partial capsa-secret-4711
}

# ---------------------------------------------------------------- LSM labels --------------

selinux_on () {
  [ -e /sys/fs/selinux/enforce ]
}

apparmor_on () {
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]
}

@test "lsm: process.selinuxLabel without SELinux is a clear error (as runc), nothing left" {
  selinux_on && skip "SELinux is enabled on this host (covered by the labelled-process test)"
  cfg '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
  for cmd in create run; do
    run_capsa $cmd -b "$BUNDLE" ctr
    assert_failure
    assert_error_line
    assert_output --partial 'config.json: .process.selinuxLabel: SELinux is not enabled on this host'
    assert_no_leftovers ctr
  done
}

@test "lsm: process.apparmorProfile without AppArmor is a clear error (as runc), nothing left" {
  apparmor_on && skip "AppArmor is enabled on this host (covered by the profile test)"
  cfg '.process.apparmorProfile = "capsa-test-profile"'
  for cmd in create run; do
    run_capsa $cmd -b "$BUNDLE" ctr
    assert_failure
    assert_error_line
    assert_output --partial 'config.json: .process.apparmorProfile: AppArmor is not enabled on this host'
    assert_no_leftovers ctr
  done
}

@test "lsm: capsa exec --apparmor / --process-label on a host without the LSM fail clearly" {
  apparmor_on && selinux_on && skip "both LSMs are enabled on this host"
  set_args sleep 100
  run_bg run -d -b "$BUNDLE" ctr
  assert_success
  if ! apparmor_on; then
    run capsa exec --apparmor capsa-test-profile ctr true
    assert_failure
    assert_output --partial 'process.apparmorProfile: AppArmor is not enabled on this host'
  fi
  if ! selinux_on; then
    run capsa exec --process-label system_u:system_r:container_t:s0 ctr true
    assert_failure
    assert_output --partial 'process.selinuxLabel: SELinux is not enabled on this host'
  fi
  run capsa exec ctr true
  assert_success
  capsa delete -f ctr
}

@test "lsm: linux.mountLabel is ignored without SELinux (no context= on the mounts)" {
  selinux_on && skip "SELinux is enabled on this host (covered by the labelled-mounts test)"
  cfg '.linux.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"'
  run_in_ctr 'grep -c "context=" /proc/self/mountinfo; awk "\$5 == \"/dev\" || \$5 == \"/dev/pts\" {n++} END {print \"mounts\", n}" /proc/self/mountinfo'
  assert_line 0
  assert_line "mounts 2"
}

@test "lsm: the process runs with its SELinux label and mounts carry mountLabel" {
  selinux_on || skip "SELinux is not enabled on this host (no selinuxfs): cannot apply labels"
  local label
  label=$(cat /proc/self/attr/current | tr -d '\0')
  cfg '.process.selinuxLabel = $l | .linux.mountLabel = "system_u:object_r:tmpfs_t:s0"' --arg l "$label"
  run_in_ctr 'cat /proc/self/attr/current; echo; grep -c context= /proc/self/mountinfo'
  assert_success
  assert_output --partial "$label"
}

@test "lsm: the process runs under its AppArmor profile" {
  apparmor_on || skip "AppArmor is not enabled on this host (module parameter enabled != Y)"
  cfg '.process.apparmorProfile = "unconfined"'
  run_in_ctr 'cat /proc/self/attr/current'
  assert_success
  assert_output --partial unconfined
}

@test "lsm: features reports apparmor and selinux support" {
  run capsa features
  assert_success
  echo "$output" | jq -e '.linux.apparmor.enabled == true' >/dev/null || fail "apparmor: $output"
  if "$CAPSA" --version | grep -q -- '+SELINUX\|+selinux'; then
    echo "$output" | jq -e '.linux.selinux.enabled == true' >/dev/null || fail "selinux: $output"
  fi
}
