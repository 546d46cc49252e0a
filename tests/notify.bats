#!/usr/bin/env bats
# notify.bats: NOTIFY_SOCKET (sd_notify) is proxied: the container gets a socket of its own at
# /run/notify/notify.sock and its messages reach the caller's socket; start and run --detach
# return once READY=1 is forwarded (with MAINPID), as with runc.

load helpers

PROGS=$BATS_TEST_DIRNAME/progs

setup () {
  capsa_setup
  unset NOTIFY_SOCKET
  command -v cc >/dev/null || skip "no C compiler for tests/progs/notify-util.c"
  NU_DIR=$BATS_FILE_TMPDIR/notify-bin
  NU=$NU_DIR/notify-util
  if [ ! -x "$NU" ]; then
    mkdir -p "$NU_DIR"
    cc -O1 -static -o "$NU" "$PROGS/notify-util.c" || skip "cannot build notify-util (static)"
  fi
  # the sender runs in the container as /mnt/notify-util
  cfg '.mounts += [{destination: "/mnt", type: "bind", source: $d, options: ["rbind", "ro"]}]' --arg d "$NU_DIR"
  HOST_SOCK=$BATS_TEST_TMPDIR/hooks-notify.sock
  LOG=$BATS_TEST_TMPDIR/notify.log
}

# listen: the caller's socket, every message to $LOG.
listen () {
  "$NU" listen "$HOST_SOCK" >"$LOG" 2>&1 &
  LISTENER=$!
  defer "kill $LISTENER; wait $LISTENER 2>/dev/null || true"
  wait_for test -S "$HOST_SOCK"
}

# nothing of the proxy left: no socket file of the container outside the state dir (gone with
# it), no capsa process (the proxy carries capsa's command line).
assert_proxy_gone () {
  assert_no_leftovers ctr
  [ -z "$(find "$BATS_TEST_TMPDIR" "$ROOT" -type s ! -path "$HOST_SOCK" 2>/dev/null)" ] ||
    fail "sockets left: $(find "$BATS_TEST_TMPDIR" "$ROOT" -type s)"
}

@test "notify: create+start forwards READY=1 and the rest; start waits for READY=1" {
  set_args sh -c 'echo "$NOTIFY_SOCKET" > /dev/shm/env 2>/dev/null; sleep 1; /mnt/notify-util send "STATUS=warming up" "READY=1" || echo send failed >&2; exec sleep 1000'
  # the caller's socket does not exist yet at create
  NOTIFY_SOCKET=$HOST_SOCK capsa_bg create -b "$BUNDLE" ctr
  [ -d "$ROOT/ctr/notify" ] || fail "no notify dir in the state dir"
  listen
  local t0 pid
  t0=$(date +%s%N)
  NOTIFY_SOCKET=$HOST_SOCK run capsa start ctr </dev/null
  assert_success
  # start returned only once READY=1 was sent (about 1 s after the process started)
  [ $(($(date +%s%N) - t0)) -ge 900000000 ] || fail "start returned before READY=1"
  pid=$(capsa state ctr | jq -r .pid)
  run cat "$LOG"
  [ "${lines[0]}" = "STATUS=warming up" ] || fail "log: $output"
  [ "${lines[1]}" = "READY=1" ] || fail "log: $output"
  [ "${lines[2]}" = "MAINPID=$pid" ] || fail "log: $output"
  [ "${lines[3]}" = "BARRIER=1" ] || fail "log: $output"
  # the workload's env names its own socket
  run capsa exec ctr cat /proc/1/environ
  [[ "$output" == *"NOTIFY_SOCKET=/run/notify/notify.sock"* ]] || fail "container env: $output"
  capsa delete --force ctr
  assert_proxy_gone
}

@test "notify: run --detach waits for READY=1" {
  set_args sh -c 'sleep 1; /mnt/notify-util send READY=1 || echo send failed >&2; exec sleep 1000'
  listen
  local t0
  t0=$(date +%s%N)
  NOTIFY_SOCKET=$HOST_SOCK capsa_bg run -d -b "$BUNDLE" ctr
  [ $(($(date +%s%N) - t0)) -ge 900000000 ] || fail "run -d returned before READY=1"
  grep -qx READY=1 "$LOG" || fail "log: $(cat "$LOG")"
  grep -qx "MAINPID=$(capsa state ctr | jq -r .pid)" "$LOG" || fail "log: $(cat "$LOG")"
  [ "$(capsa state ctr | jq -r .status)" = running ]
  capsa delete --force ctr
  assert_proxy_gone
}

@test "notify: run --detach returns when the workload exits without READY=1" {
  set_args sh -c '/mnt/notify-util send STATUS=bye; exit 3'
  listen
  NOTIFY_SOCKET=$HOST_SOCK capsa_bg run -d -b "$BUNDLE" ctr
  wait_status ctr stopped
  grep -qx STATUS=bye "$LOG" || fail "log: $(cat "$LOG")"
  ! grep -q READY "$LOG"
  capsa delete ctr
  assert_proxy_gone
}

@test "notify: a foreground run forwards every message until the container exits" {
  set_args sh -c 'stat -c "inode=%i" "$NOTIFY_SOCKET"; /mnt/notify-util send STATUS=one READY=1 && sleep 0.3 && /mnt/notify-util send STATUS=two STOPPING=1 && echo sent'
  listen
  NOTIFY_SOCKET=$HOST_SOCK run capsa run -b "$BUNDLE" ctr </dev/null
  assert_success
  assert_line sent
  # a socket of its own, not the caller's bound in
  assert_line --regexp '^inode=[0-9]+$'
  refute_line "inode=$(stat -c %i "$HOST_SOCK")"
  wait_for grep -qx STOPPING=1 "$LOG"
  [ "$(tr '\n' ' ' <"$LOG")" = "STATUS=one READY=1 STATUS=two STOPPING=1 " ] || fail "log: $(cat "$LOG")"
  assert_proxy_gone
}

@test "notify: without NOTIFY_SOCKET the container gets none" {
  set_args sh -c 'echo "env=$NOTIFY_SOCKET"; ls /run/notify 2>&1 || echo none'
  run capsa run -b "$BUNDLE" ctr </dev/null
  assert_success
  assert_line "env="
  assert_line none
  assert_proxy_gone
}

@test "notify: a container in a user namespace gets its socket too" {
  cfg '.linux.namespaces += [{type: "user"}] | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
       | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
       | .mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))
       | .mounts += [{destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]}]'
  # (/run/notify is made in that tmpfs: the shared test rootfs belongs to the host's root)
  local d
  for d in "$BUNDLE" "$NU_DIR"; do
    while [ "$d" != / ]; do
      d=$(dirname "$d")
      case $d in "$BATS_RUN_TMPDIR"*) chmod o+x "$d" ;; esac
    done
  done
  chmod o+rx "$NU_DIR"
  set_args sh -c '/mnt/notify-util send "STATUS=uid $(id -u)" READY=1 || echo send failed >&2; exec sleep 1000'
  listen
  NOTIFY_SOCKET=$HOST_SOCK run_bg run -d -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "run -d: $stderr"
  grep -qx READY=1 "$LOG" || fail "log: $(cat "$LOG"); stderr: $stderr"
  grep -qx "STATUS=uid 0" "$LOG"
  capsa delete --force ctr
  assert_proxy_gone
}
