#!/usr/bin/env bats
# rootless.bats: capsa run by an unprivileged user with `capsa spec --rootless`: state under
# $XDG_RUNTIME_DIR/capsa, no cgroup (none is delegated here), a clear error for linux.resources.

load helpers

RL_USER=${CAPSA_TEST_ROOTLESS_USER:-capsa-rootless}

setup () {
  [ "$(id -u)" = 0 ] || skip "the rootless tests need root to set up their user"
  command -v runuser >/dev/null || skip "runuser missing (util-linux)"
  [ -x "$BUSYBOX" ] || skip "$BUSYBOX missing (apt-get install busybox-static)"
  command -v jq >/dev/null || skip "jq missing"
  if ! id -u "$RL_USER" >/dev/null 2>&1; then
    command -v useradd >/dev/null || skip "useradd missing and no user $RL_USER"
    useradd -M -d /nonexistent -s /usr/sbin/nologin "$RL_USER" 2>/dev/null \
      || id -u "$RL_USER" >/dev/null 2>&1 || skip "cannot create user $RL_USER"
  fi
  build_rootfs
  # everything the user touches lives in a directory of its own: bats' temp dirs are 0700
  RL_DIR=$(mktemp -d /tmp/capsa-rootless.XXXXXX)
  chmod 0755 "$RL_DIR"
  mkdir -p "$RL_DIR/xdg" "$RL_DIR/bundle"
  cp "$CAPSA" "$RL_DIR/capsa"
  cp -a "$CAPSA_TEST_CACHE/rootfs" "$RL_DIR/bundle/rootfs"
  chown "$RL_USER" "$RL_DIR/xdg" "$RL_DIR/bundle"
  chmod 0700 "$RL_DIR/xdg"
  BUNDLE=$RL_DIR/bundle
  OUT=$RL_DIR/out
  ERR=$RL_DIR/err
  ROOT=
  (cd "$BUNDLE" && as_user "$RL_DIR/capsa" spec --rootless) || fail "spec --rootless failed"
  set_args sh -c 'id -u; cat /proc/self/uid_map'
  cfg '.process.terminal = false'
}

teardown () {
  local d
  [ -n "${RL_DIR:-}" ] || return 0
  for d in "$RL_DIR"/xdg/capsa/*/; do
    [ -d "$d" ] && as_user "$RL_DIR/capsa" delete -f "$(basename "$d")" >/dev/null 2>&1
  done
  rm -rf "$RL_DIR"
}

# as_user CMD...: CMD as the unprivileged user, with its XDG_RUNTIME_DIR, bounded in time; the
# sanitizer options of `make check-sanitizers` pass through the otherwise empty environment.
as_user () {
  local keep=() v
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -z "${!v:-}" ] || keep+=("$v=${!v}")
  done
  runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$RL_DIR/xdg" \
    "${keep[@]}" timeout -k 5 "$CAPSA_TEST_TIMEOUT" "$@" 3>&-
}

# rl ARGS...: capsa as the user, in the bundle.
rl () {
  (cd "$BUNDLE" && as_user "$RL_DIR/capsa" "$@" </dev/null)
}

# rl_in_userns SCRIPT: sh SCRIPT as the user, as root of a new user namespace (uid and gid map
# "0 UID 1"), in the bundle, with `capsa` in its PATH.
rl_in_userns () {
  (cd "$BUNDLE" && as_user unshare --user --map-root-user \
    env PATH="$RL_DIR:/usr/sbin:/usr/bin:/sbin:/bin" sh -c "$1" </dev/null)
}

@test "rootless: spec --rootless runs as is; root in the container is the user on the host" {
  local uid
  uid=$(id -u "$RL_USER")
  run rl run ctr
  assert_success
  assert_line 0
  assert_line --regexp "^ +0 +$uid +1\$"
  [ ! -e "$RL_DIR/xdg/capsa/ctr" ] || fail "state left behind"
  # nothing on stderr either: no cgroup is not worth a warning when no limit is asked for
  rl run ctr >"$OUT" 2>"$ERR"
  [ ! -s "$ERR" ] || fail "stderr: $(cat "$ERR")"
}

@test "rootless: create, state, exec, kill and delete; the state lives in XDG_RUNTIME_DIR" {
  set_args sleep 100
  rl create ctr >"$OUT" 2>"$ERR" || fail "create: $(cat "$ERR")"
  [ -d "$RL_DIR/xdg/capsa/ctr" ] || fail "no state in \$XDG_RUNTIME_DIR/capsa"
  [ "$(stat -c %U "$RL_DIR/xdg/capsa/ctr")" = "$RL_USER" ]
  run rl state ctr
  assert_success
  [ "$(echo "$output" | jq -r .status)" = created ]
  rl start ctr
  run rl exec ctr sh -c 'echo in-ctr $(id -u)'
  assert_success
  assert_output "in-ctr 0"
  rl kill ctr KILL
  wait_for eval '[ "$(rl state ctr | jq -r .status)" = stopped ]'
  run rl delete ctr
  assert_success
  [ ! -e "$RL_DIR/xdg/capsa/ctr" ]
}

@test "rootless: linux.resources without a delegated cgroup is a clear error, nothing left" {
  cfg '.linux.resources = {pids: {limit: 100}}'
  # an ASan build checks this error path for leaks too (no container process is made, so
  # LeakSanitizer does not meet the pid namespace that makes it spin elsewhere)
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1 run rl run ctr
  assert_failure
  assert_error_line
  assert_output --partial 'config.json: .linux.resources: cannot be applied rootless without a delegated cgroup'
  [ ! -e "$RL_DIR/xdg/capsa/ctr" ] || fail "state left behind"
}

@test "rootless: capsa run as root of a user namespace only keeps its state in XDG_RUNTIME_DIR" {
  # what rootless podman does: the user makes a user namespace where it is root (uid map
  # "0 UID 1") and runs capsa there, for a container without a user namespace of its own.
  # capsa must see that it is not the host's root: state under $XDG_RUNTIME_DIR, no mknod
  # (devices are bound from the host), no cgroup (an empty linux.resources asks for nothing).
  local uid
  uid=$(id -u "$RL_USER")
  cfg 'del(.linux.uidMappings, .linux.gidMappings) | .linux.namespaces |= map(select(.type != "user"))
       | .linux.resources = {}'
  set_args sleep 100
  run rl_in_userns 'capsa run -d ctr </dev/null && stat -c "state dir %U %a" "$XDG_RUNTIME_DIR/capsa/ctr" &&
    capsa exec ctr sh -c "id -u; cat /proc/self/uid_map; stat -c \"%F %t:%T\" /dev/null" &&
    capsa delete -f ctr'
  assert_success
  assert_line --regexp '^state dir root [0-7]+$'
  assert_line 0
  assert_line --regexp "^ +0 +$uid +1\$"
  assert_line "character special file 1:3"
  [ ! -e "$RL_DIR/xdg/capsa/ctr" ] || fail "state left behind"
  # limits still need a cgroup
  cfg '.linux.resources = {pids: {limit: 100}}'
  run rl_in_userns 'capsa run ctr </dev/null'
  assert_failure
  assert_output --partial 'config.json: .linux.resources: cannot be applied rootless without a delegated cgroup'
  [ ! -e "$RL_DIR/xdg/capsa/ctr" ] || fail "state left behind"
}
