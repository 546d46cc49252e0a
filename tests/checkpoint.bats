#!/usr/bin/env bats
# checkpoint.bats: `capsa checkpoint` and `capsa restore` with CRIU.
#
# The tests that run CRIU need a kernel it supports: Debian 12's CRIU 3.17 fails `criu check` on
# newer kernels (6.18: "Unexpected rt vDSO area bounds") and they skip there with CRIU's reason;
# they run in the Debian host lane (Debian's 6.1 kernel under QEMU, tests/cgroupv2-vm):
#   make check-debian-vm DEBIAN_VM_SUITES=checkpoint
# Option parsing, errors and availability reporting are tested everywhere.

load helpers

CRIU=${CRIU:-criu}

# criu_usable: skip unless CRIU can checkpoint on this host (with its own reason).
criu_usable () {
  local out
  command -v "$CRIU" >/dev/null || skip "CRIU not installed (apt-get install criu)"
  out=$("$CRIU" check 2>&1) \
    || skip "CRIU cannot checkpoint on this kernel ($(uname -r)): $(echo "$out" | grep -m1 Error)"
}

# with_pipes OUT CMD...: CMD with its stdin, stdout and stderr pipes, as an engine's monitor gives
# them: stdin from a `sleep` (ended in teardown), stdout and stderr into a `cat` writing OUT.
with_pipes () {
  local out=$1 r w
  shift
  exec {r}< <(exec sleep 600)
  defer "kill $!"
  exec {w}> >(exec cat >"$out")
  "$@" <&$r >&$w 2>&1
  local rc=$?
  exec {r}<&- {w}>&-
  return $rc
}

# start_counter ID: run the counter container detached on pipes; it prints into out-ID.
start_counter () {
  with_pipes "$BATS_TEST_TMPDIR/out-$1" capsa run -d -b "$BUNDLE" "$1"
  wait_status "$1" running
}

# restore_counter ID [OPTIONS...]: restore detached on fresh pipes; it prints into out-ID.
restore_counter () {
  local id=$1
  shift
  with_pipes "$BATS_TEST_TMPDIR/out-$id" capsa restore -d -b "$BUNDLE" "$@" "$id" \
    || fail "restore: $(cat "$BATS_TEST_TMPDIR/out-$id"); CRIU's log: $(criu_log "$BATS_TEST_TMPDIR/img"; criu_log "$BATS_TEST_TMPDIR/img/final")"
}

# criu_log DIR: CRIU's logs in DIR, the lines that matter (printed when a test fails).
criu_log () {
  grep -h -E 'Error|Warn|fail|[Ee]xternal' "$1"/*.log 2>/dev/null | tail -n 30
}

# ckpt IMAGE-DIR ID [OPTIONS...]: checkpoint that must succeed.
ckpt () {
  local img=$1 id=$2
  shift 2
  run capsa checkpoint --image-path "$img" "$@" "$id"
  [ "$status" -eq 0 ] || fail "checkpoint: $output; CRIU's log: $(criu_log "$img")"
}

# host_only: skip in the Debian host lane a test that runs the same in `make check` on the host
# (no CRIU needed), to keep the lane's time for what only it can run.
host_only () {
  [ -z "${CAPSA_IN_VM_LANE:-}" ] || skip "no CRIU needed: runs in make check"
}

count_now () {
  cat "$BUNDLE/rootfs/count"
}

# wait_count_above N: until the counter's file holds a number above N.
wait_count_above () {
  wait_for eval "[ \"\$(cat '$BUNDLE/rootfs/count' 2>/dev/null || echo 0)\" -gt $1 ]"
}

counter_bundle () {
  set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i; echo $i >/count; sleep 0.1; done'
  cfg '.linux.resources.pids.limit = 64'
}

@test "checkpoint and restore: bad options are one-line errors that leave nothing" {
  host_only
  run_capsa checkpoint --manage-cgroups-mode bogus ctr
  assert_failure
  assert_error_line
  assert_output --partial '--manage-cgroups-mode: unknown mode "bogus"'
  run_capsa checkpoint --empty-ns ipc ctr
  assert_failure
  assert_output --partial '--empty-ns: "ipc" is not supported'
  run_capsa checkpoint --lazy-pages ctr
  assert_failure
  assert_error_line
  assert_output --partial '--lazy-pages: not supported'
  run_capsa checkpoint ctr extra
  assert_failure
  assert_output --partial 'checkpoint: expected CONTAINER, got 2 arguments'
  run_capsa checkpoint nosuch
  assert_failure
  assert_error_line
  assert_output --partial 'container `nosuch` does not exist'
  run_capsa restore --bogus ctr
  assert_failure
  assert_output --partial 'restore: unknown option "--bogus"'
  run_capsa restore -b "$BUNDLE" --image-path "$BATS_TEST_TMPDIR/none" ctr
  assert_failure
  assert_error_line
  assert_output --partial "image path \`$BATS_TEST_TMPDIR/none\`"
  assert_no_leftovers ctr
  run_capsa checkpoint --help
  assert_success
  assert_output --partial '--leave-running'
  run_capsa restore --help
  assert_success
  assert_output --partial '--bundle'
}

@test "--version and features report whether CRIU can checkpoint here" {
  run_capsa --version
  assert_success
  local line
  line=$(echo "$output" | grep '^checkpoint: ')
  run_capsa features
  assert_success
  local enabled
  enabled=$(echo "$output" | jq -r '.annotations["org.opencontainers.runc.checkpoint.enabled"]')
  if command -v criu >/dev/null && criu check >/dev/null 2>&1; then
    [[ "$line" == "checkpoint: criu $(criu --version | sed -n 's/^Version: //p')" ]]
    [ "$enabled" = true ]
  else
    [[ "$line" == "checkpoint: unavailable ("* ]]
    [ "$enabled" = false ]
    echo "$output" | jq -e '.annotations["run.oci.capsa.criu.unavailable"] | length > 0'
  fi
  # --criu names the binary
  run_capsa --criu "$BATS_TEST_TMPDIR/no-criu" --version
  assert_success
  assert_line "checkpoint: unavailable (criu \`$BATS_TEST_TMPDIR/no-criu\` not found)"
  run_capsa --criu "$BATS_TEST_TMPDIR/no-criu" features
  assert_success
  [ "$(echo "$output" | jq -r '.annotations["org.opencontainers.runc.checkpoint.enabled"]')" = false ]
}

@test "a restore whose CRIU fails is one line naming CRIU's log, and leaves nothing" {
  host_only
  # a stand-in CRIU that fails as CRIU does: its reason in the log it was told to write
  mkdir -p "$BATS_TEST_TMPDIR/img"
  cat >"$BATS_TEST_TMPDIR/fake-criu" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do
  case $1 in
  --work-dir) shift; w=$1 ;;
  --log-file) shift; l=$1 ;;
  esac
  shift
done
echo "(00.001) Error (criu/cr-restore.c:1): no images here" >"$w/$l"
exit 1
EOF
  chmod +x "$BATS_TEST_TMPDIR/fake-criu"
  run_capsa --criu "$BATS_TEST_TMPDIR/fake-criu" restore -d -b "$BUNDLE" \
    --image-path "$BATS_TEST_TMPDIR/img" ctr
  assert_failure
  assert_error_line
  assert_output "capsa: restore container \`ctr\`: criu restore failed: no images here (log: $BATS_TEST_TMPDIR/img/restore.log)"
  assert_no_leftovers ctr
  # a CRIU that is not there
  run_capsa --criu "$BATS_TEST_TMPDIR/no-criu" restore -d -b "$BUNDLE" \
    --image-path "$BATS_TEST_TMPDIR/img" ctr
  assert_failure
  assert_error_line
  assert_output --partial "criu \`$BATS_TEST_TMPDIR/no-criu\`"
  assert_no_leftovers ctr
}

# arg_recording_criu: a stand-in CRIU that writes its arguments, one a line, into args-ACTION and
# fails as CRIU does (its reason in the log it was told to write).
arg_recording_criu () {
  cat >"$BATS_TEST_TMPDIR/rec-criu" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$BATS_TEST_TMPDIR/args-\$1"
while [ \$# -gt 0 ]; do
  case \$1 in
  --work-dir) shift; w=\$1 ;;
  --log-file) shift; l=\$1 ;;
  esac
  shift
done
echo "Error (criu/cr-dump.c:1): recorded" >"\$w/\$l"
exit 1
EOF
  chmod +x "$BATS_TEST_TMPDIR/rec-criu"
}

@test "checkpoint and restore pass runc's CRIU options on; a failed dump leaves the container running" {
  host_only
  arg_recording_criu
  set_args sleep 600
  capsa_bg run -d -b "$BUNDLE" ctr
  local pid
  pid=$(pid_of ctr)
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" checkpoint --image-path "$BATS_TEST_TMPDIR/img" \
    --tcp-established --ext-unix-sk --shell-job --file-locks --auto-dedup \
    --manage-cgroups-mode full --empty-ns network ctr
  assert_failure
  assert_error_line
  assert_output "capsa: checkpoint container \`ctr\`: criu dump failed: recorded (log: $BATS_TEST_TMPDIR/img/dump.log)"
  local a=$BATS_TEST_TMPDIR/args-dump
  for o in --tcp-established --ext-unix-sk --shell-job --file-locks --auto-dedup \
    --manage-cgroups=full; do
    grep -qx -- "$o" "$a" || fail "checkpoint: $o not passed: $(cat "$a")"
  done
  grep -A1 -x -- --empty-ns "$a" | grep -qx net
  grep -A1 -x -- --tree "$a" | grep -qx "$pid"
  ! grep -qx -- --leave-running "$a"
  # the failed checkpoint left the container as it was
  [ "$(state_of ctr)" = running ]
  [ "$(pid_of ctr)" = "$pid" ]
  kill -0 "$pid"

  # --leave-running, --work-path, the default cgroup mode
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" checkpoint --image-path "$BATS_TEST_TMPDIR/img" \
    --work-path "$BATS_TEST_TMPDIR/work" --leave-running ctr
  assert_failure
  assert_output --partial "(log: $BATS_TEST_TMPDIR/work/dump.log)"
  grep -qx -- --leave-running "$a"
  grep -A1 -x -- --work-dir "$a" | grep -qx "$BATS_TEST_TMPDIR/work"
  grep -qx -- "--manage-cgroups=soft" "$a"
  # --pre-dump with --parent-path
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" checkpoint --image-path "$BATS_TEST_TMPDIR/img2" \
    --pre-dump --parent-path ../img ctr
  assert_failure
  a=$BATS_TEST_TMPDIR/args-pre-dump
  grep -qx -- --track-mem "$a"
  grep -A1 -x -- --prev-images-dir "$a" | grep -qx ../img
  [ "$(state_of ctr)" = running ]
  capsa delete -f ctr

  # restore: the same options, and nothing left when CRIU fails
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" restore -d -b "$BUNDLE" \
    --image-path "$BATS_TEST_TMPDIR/img" --tcp-established --ext-unix-sk --shell-job \
    --file-locks --manage-cgroups-mode strict --empty-ns network ctr
  assert_failure
  assert_error_line
  a=$BATS_TEST_TMPDIR/args-restore
  for o in --tcp-established --ext-unix-sk --shell-job --file-locks --manage-cgroups=strict; do
    grep -qx -- "$o" "$a" || fail "restore: $o not passed: $(cat "$a")"
  done
  grep -A1 -x -- --empty-ns "$a" | grep -qx net
  assert_no_leftovers ctr
}

@test "a terminal container: its pty and devpts are external at dump; restore inherits a new pty" {
  host_only
  command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  arg_recording_criu
  local img=$BATS_TEST_TMPDIR/img
  cfg '.process.terminal = true'
  set_args sleep 600
  console_receiver "$BATS_TEST_TMPDIR/c1.sock" "$BATS_TEST_TMPDIR/tty1"
  capsa_bg run -d --console-socket "$BATS_TEST_TMPDIR/c1.sock" -b "$BUNDLE" ctr
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" checkpoint --image-path "$img" ctr
  assert_failure
  local a=$BATS_TEST_TMPDIR/args-dump key
  # the pty (its master is the engine's) by its rdev (136:0, /dev/pts/0) and dev
  key=$(grep -A1 -x -- --external "$a" | grep '^tty\[8800:') || fail "no tty: $(cat "$a")"
  grep -A1 -x -- --external "$a" | grep -qx 'mnt\[/dev/pts\]:/dev/pts'
  grep -A1 -x -- --external "$a" | grep -qx 'mnt\[/dev/console\]:/dev/console'
  grep -Fqx "0 $key" "$img/capsa-external-stdio"
  capsa delete -f ctr
  stop_receiver

  # detached, the new terminal needs somewhere to go
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" restore -d -b "$BUNDLE" --image-path "$img" ctr
  assert_failure
  assert_error_line
  assert_output --partial 'cannot allocate tty if capsa will detach without setting console socket'
  assert_no_leftovers ctr
  # CRIU gets a new pty for the saved one, /dev/pts/0 of a new devpts bound as /dev/pts
  console_receiver "$BATS_TEST_TMPDIR/c2.sock" "$BATS_TEST_TMPDIR/tty2"
  run_capsa --criu "$BATS_TEST_TMPDIR/rec-criu" restore -d -b "$BUNDLE" --image-path "$img" \
    --console-socket "$BATS_TEST_TMPDIR/c2.sock" ctr
  assert_failure
  assert_error_line
  a=$BATS_TEST_TMPDIR/args-restore
  grep -A1 -x -- --inherit-fd "$a" | grep -E '^fd\[[0-9]+\]:' | grep -Fq "]:$key" \
    || fail "no inherited tty: $(cat "$a")"
  grep -A1 -x -- --ext-mount-map "$a" | grep -qx "/dev/pts:$ROOT/ctr/criu-pts"
  grep -A1 -x -- --ext-mount-map "$a" | grep -qx "/dev/console:$ROOT/ctr/criu-pts/0"
  stop_receiver
  assert_no_leftovers ctr
}

@test "VM mode: checkpoint and restore refuse with the reason" {
  host_only
  cfg '.annotations["run.oci.handler"] = "vm"'
  mkdir -p "$BATS_TEST_TMPDIR/img"
  run_capsa restore -d -b "$BUNDLE" --image-path "$BATS_TEST_TMPDIR/img" ctr
  assert_failure
  assert_error_line
  assert_output --partial 'not possible in VM isolation mode'
  assert_no_leftovers ctr
}

@test "checkpoint stops the counter; restore (same id) continues it, on its stdio pipes" {
  criu_usable
  counter_bundle
  start_counter ctr
  wait_count_above 3
  ckpt "$BATS_TEST_TMPDIR/img" ctr
  # the container is gone: checkpoint without --leave-running stops and deletes it
  [ ! -e "$ROOT/ctr" ]
  [ -s "$BATS_TEST_TMPDIR/img/descriptors.json" ]
  jq -e '.[1] | startswith("pipe:")' "$BATS_TEST_TMPDIR/img/descriptors.json"
  local saved
  saved=$(count_now)
  sleep 0.5
  [ "$(count_now)" = "$saved" ]

  restore_counter ctr --image-path "$BATS_TEST_TMPDIR/img"
  wait_status ctr running
  wait_count_above $((saved + 2))
  # the restored process writes on, from where it was, into the pipe capsa was given
  wait_for grep -qx "$((saved + 2))" "$BATS_TEST_TMPDIR/out-ctr"
  [ "$(head -n 1 "$BATS_TEST_TMPDIR/out-ctr")" -le $((saved + 1)) ]
  [ "$(head -n 1 "$BATS_TEST_TMPDIR/out-ctr")" -gt 1 ]

  # in its own cgroup again, with the config's resources, and every process of it there
  local pid cg
  pid=$(pid_of ctr)
  cg=$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    [ "$(cat "/sys/fs/cgroup$cg/pids.max")" = 64 ]
    grep -qx "$pid" "/sys/fs/cgroup$cg/cgroup.procs"
  fi
  run capsa ps --format json ctr
  assert_success
  echo "$output" | jq -e --argjson p "$pid" 'index($p) != null'
  # the restored container is a container like any other
  run capsa exec ctr cat /count
  assert_success
  [ "$output" -gt "$saved" ]
  capsa pause ctr
  [ "$(state_of ctr)" = paused ]
  local p
  p=$(count_now)
  sleep 0.4
  [ "$(count_now)" = "$p" ]
  capsa resume ctr
  wait_count_above "$p"
  capsa kill ctr KILL
  wait_status ctr stopped
  capsa delete ctr
  assert_no_leftovers ctr
}

@test "--leave-running keeps the container; restore under a new id, stdio on host files" {
  criu_usable
  counter_bundle
  # a host file bound onto a path the image does not have (as an engine's /etc/hosts)
  echo "127.0.0.1 ckpt-host" >"$BATS_TEST_TMPDIR/hosts"
  cfg '.mounts += [{destination: "/etc/ckpt-hosts", type: "bind", source: $s, options: ["bind"]}]' \
    --arg s "$BATS_TEST_TMPDIR/hosts"
  # stdin the host's /dev/null and stdout a file, as an engine may give them: files on mounts
  # the container does not have (appended to: CRIU restores a file written from a position only
  # when its size is still what it was)
  capsa run -d -b "$BUNDLE" ctr </dev/null >>"$BATS_TEST_TMPDIR/out-ctr" 2>&1
  wait_status ctr running
  wait_count_above 3
  ckpt "$BATS_TEST_TMPDIR/img" ctr --leave-running
  [ "$(state_of ctr)" = running ]
  local saved
  saved=$(count_now)
  wait_count_above $((saved + 2))
  capsa delete -f ctr

  [ -s "$BATS_TEST_TMPDIR/img/capsa-external-stdio" ]
  # restored onto a rootfs without the bind mount's mount point (a fresh copy of the image)
  rm "$BUNDLE/rootfs/etc/ckpt-hosts"
  # (appending to a new file: the position the process had lies past its end)
  capsa restore -d -b "$BUNDLE" --image-path "$BATS_TEST_TMPDIR/img" ctr2 \
    </dev/null >>"$BATS_TEST_TMPDIR/out-ctr2" 2>&1 \
    || fail "restore: $(cat "$BATS_TEST_TMPDIR/out-ctr2"); $(criu_log "$BATS_TEST_TMPDIR/img")"
  [ "$(state_of ctr2)" = running ]
  [ "$(capsa state ctr2 | jq -r .id)" = ctr2 ]
  wait_for grep -q . "$BATS_TEST_TMPDIR/out-ctr2"
  # it goes on from the checkpoint (not from 1, not from where the original was killed)
  local first
  first=$(head -n 1 "$BATS_TEST_TMPDIR/out-ctr2")
  [ "$first" -gt 1 ]
  [ "$first" -le $((saved + 1)) ]
  [ "$(capsa exec ctr2 cat /etc/ckpt-hosts)" = "127.0.0.1 ckpt-host" ]
  capsa delete -f ctr2
  assert_no_leftovers ctr ctr2
}

@test "pre-dump, then dump with --parent-path, then restore" {
  criu_usable
  counter_bundle
  start_counter ctr
  wait_count_above 2
  ckpt "$BATS_TEST_TMPDIR/img/pre" ctr --pre-dump
  [ "$(state_of ctr)" = running ]
  ls "$BATS_TEST_TMPDIR/img/pre"/pages-*.img
  ckpt "$BATS_TEST_TMPDIR/img/final" ctr --parent-path ../pre
  [ ! -e "$ROOT/ctr" ]
  [ -L "$BATS_TEST_TMPDIR/img/final/parent" ]
  local saved
  saved=$(count_now)
  restore_counter ctr --image-path "$BATS_TEST_TMPDIR/img/final"
  wait_count_above $((saved + 1))
  capsa delete -f ctr
  assert_no_leftovers ctr
}

@test "a terminal container: restore hands a new pty to --console-socket; output and input go on" {
  criu_usable
  command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  local img=$BATS_TEST_TMPDIR/img tty1=$BATS_TEST_TMPDIR/tty1 tty2=$BATS_TEST_TMPDIR/tty2
  cfg '.process.terminal = true'
  # a counter printing to the terminal in the background (its stdin is /dev/null) and, in the
  # foreground, a reader of the terminal that answers each line
  set_args sh -c '(i=0; while :; do i=$((i+1)); echo "n $i"; echo $i >/count; sleep 0.1; done) &
    while read l; do echo "got:$l"; done'
  console_receiver "$BATS_TEST_TMPDIR/c1.sock" "$tty1"
  capsa_bg run -d --console-socket "$BATS_TEST_TMPDIR/c1.sock" -b "$BUNDLE" ctr
  wait_status ctr running
  wait_count_above 3
  ckpt "$img" ctr
  [ ! -e "$ROOT/ctr" ]
  stop_receiver
  local saved
  saved=$(count_now)
  tr -d '\r' <"$tty1" | grep -qx 'n [0-9]*' || fail "first terminal: $(cat "$tty1")"

  console_receiver "$BATS_TEST_TMPDIR/c2.sock" "$tty2" $'typed-after-restore\n'
  run capsa restore -d --console-socket "$BATS_TEST_TMPDIR/c2.sock" -b "$BUNDLE" \
    --image-path "$img" ctr
  [ "$status" -eq 0 ] || fail "restore: $output; CRIU's log: $(criu_log "$img")"
  wait_status ctr running
  wait_count_above $((saved + 2))
  # the counter goes on from where it was, on the new terminal; the reader got what was typed
  wait_for eval "tr -d '\\r' <'$tty2' | grep -qx 'n $((saved + 2))'"
  wait_for eval "tr -d '\\r' <'$tty2' | grep -qx 'got:typed-after-restore'"
  local first
  first=$(tr -d '\r' <"$tty2" | grep -m1 -x 'n [0-9]*' | cut -d' ' -f2)
  [ "$first" -le $((saved + 1)) ] && [ "$first" -gt 1 ] || fail "first number $first, saved $saved"
  run capsa exec ctr cat /count
  assert_success
  [ "$output" -gt "$saved" ]
  # the new terminal is the container's /dev/pts/0, as at create, and its /dev/console (though
  # /proc/1/fd/0 reads "/0": capsa opened it on a devpts mount the container does not have)
  run capsa exec ctr sh -c '[ /proc/1/fd/0 -ef /dev/pts/0 ] && [ /dev/console -ef /dev/pts/0 ] && echo pts0'
  assert_success
  assert_output pts0
  capsa kill ctr KILL
  wait_status ctr stopped
  capsa delete ctr
  stop_receiver
  assert_no_leftovers ctr
}

@test "a terminal container restored in the foreground without --console-socket: capsa proxies it" {
  criu_usable
  command -v python3 >/dev/null || skip "python3 needed for the console receiver"
  local img=$BATS_TEST_TMPDIR/img out=$BATS_TEST_TMPDIR/fg-out
  cfg '.process.terminal = true'
  set_args sh -c '(i=0; while :; do i=$((i+1)); echo "n $i"; echo $i >/count; sleep 0.1; done) &
    while read l; do echo "got:$l"; done'
  console_receiver "$BATS_TEST_TMPDIR/c1.sock" "$BATS_TEST_TMPDIR/tty1"
  capsa_bg run -d --console-socket "$BATS_TEST_TMPDIR/c1.sock" -b "$BUNDLE" ctr
  wait_status ctr running
  wait_count_above 3
  ckpt "$img" ctr
  stop_receiver
  local saved r
  saved=$(count_now)
  # capsa's stdin: a pipe that says something once the container runs, then stays open
  exec {r}< <(while [ ! -s "$BATS_TEST_TMPDIR/fg-pid" ]; do sleep 0.1; done
    sleep 1; echo typed-in-foreground; exec sleep 600)
  defer "kill $!"
  capsa restore -b "$BUNDLE" --image-path "$img" --pid-file "$BATS_TEST_TMPDIR/fg-pid" ctr \
    <&$r >"$out" 2>&1 &
  local fg=$!
  exec {r}<&-
  wait_count_above $((saved + 2))
  wait_for eval "tr -d '\\r' <'$out' | grep -qx 'n $((saved + 2))'"
  wait_for eval "tr -d '\\r' <'$out' | grep -qx 'got:typed-in-foreground'"
  capsa kill ctr KILL
  # the foreground restore ends with its container, and deletes it
  local rc=0
  wait "$fg" || rc=$?
  [ "$rc" -eq 137 ] || fail "foreground restore exited $rc: $(cat "$out")"
  assert_no_leftovers ctr
}

@test "--tcp-established: a connection in the container's network namespace survives" {
  criu_usable
  # a listener (its stdin a pipe that stays open) and a client in the container's own network
  # namespace; the counter goes over TCP
  set_args sh -c 'sleep 100000 | nc -l -p 7311 >/tcp-out & sleep 0.5
    i=0; while :; do i=$((i+1)); echo $i; echo $i >/count; sleep 0.1; done | nc 127.0.0.1 7311'
  start_counter ctr
  wait_for grep -qx 3 "$BUNDLE/rootfs/tcp-out"
  # CRIU refuses an established connection unless told: the container goes on untouched
  run capsa checkpoint --image-path "$BATS_TEST_TMPDIR/img-no" ctr
  assert_failure
  assert_error_line
  assert_output --regexp "criu dump failed: .*(log: $BATS_TEST_TMPDIR/img-no/dump.log)"
  grep -q 'tcp-established' "$BATS_TEST_TMPDIR/img-no/dump.log"
  [ "$(state_of ctr)" = running ]
  local n
  n=$(count_now)
  wait_count_above "$n"

  ckpt "$BATS_TEST_TMPDIR/img" ctr --tcp-established
  [ ! -e "$ROOT/ctr" ]
  local saved
  saved=$(tail -n 1 "$BUNDLE/rootfs/tcp-out")
  restore_counter ctr --image-path "$BATS_TEST_TMPDIR/img" --tcp-established
  # the same connection carries on: the listener, which never listens again, gets what follows
  wait_for grep -qx "$((saved + 3))" "$BUNDLE/rootfs/tcp-out"
  [ "$(grep -c -x "$((saved + 1))" "$BUNDLE/rootfs/tcp-out")" = 1 ]
  capsa delete -f ctr
  assert_no_leftovers ctr
}

@test "a restore that CRIU refuses leaves no state dir, cgroup or process" {
  criu_usable
  counter_bundle
  start_counter ctr
  wait_count_above 2
  ckpt "$BATS_TEST_TMPDIR/img" ctr
  # images CRIU cannot use: their inventory is missing (CRIU 3.17 crashes without pstree.img,
  # which capsa reports as "killed by signal 11")
  rm "$BATS_TEST_TMPDIR/img"/inventory.img
  run capsa restore -d -b "$BUNDLE" --image-path "$BATS_TEST_TMPDIR/img" ctr </dev/null
  assert_failure
  assert_error_line
  assert_output --regexp "criu restore failed: .* \\(log: $BATS_TEST_TMPDIR/img/restore.log\\)"
  assert_no_leftovers ctr
}
