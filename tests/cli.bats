#!/usr/bin/env bats
# cli.bats: version, help, features, spec, list formats and global options.

load helpers

COMMANDS="create start run state kill delete list spec features checkpoint restore"

@test "--version and -v print version, commit, spec version and a +FEATURE line" {
  for opt in --version -v; do
    run_capsa "$opt"
    assert_success
    assert_line --regexp '^capsa version [0-9]+\.[0-9]+\.[0-9]+'
    assert_line --regexp '^commit: [0-9a-f]{7,}|^commit: unknown'
    assert_line --regexp '^spec: 1\.[0-9]+\.[0-9]+'
    assert_line --regexp '^[+-][A-Z]'
  done
}

@test "--help lists every command" {
  run_capsa --help
  assert_success
  local c
  for c in $COMMANDS; do
    assert_output --regexp "(^|[[:space:]])$c([[:space:]]|$)"
  done
}

@test "--help works for every command" {
  local c
  for c in $COMMANDS; do
    run_capsa "$c" --help
    assert_success
    assert_output --regexp '[Uu]sage'
    assert_output --partial "$c"
  done
}

@test "create --help documents its options" {
  run_capsa create --help
  assert_success
  local o
  for o in --bundle --config --pid-file --console-socket --preserve-fds --no-pivot --no-new-keyring; do
    assert_output --partial -- "$o"
  done
}

@test "unknown command fails with one error line" {
  run --separate-stderr capsa frobnicate
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == *frobnicate* ]]
}

@test "unknown global option fails" {
  run --separate-stderr capsa --bogus-option list
  assert_failure 1
  [[ "$stderr" == *bogus-option* ]]
}

@test "unknown command option fails" {
  run --separate-stderr capsa list --bogus-option
  assert_failure 1
  [[ "$stderr" == *bogus-option* ]]
}

@test "bad --log-format and --cgroup-manager values are rejected" {
  run --separate-stderr capsa --log-format xml list
  assert_failure 1
  [[ "$stderr" == *xml* ]]
  run --separate-stderr capsa --cgroup-manager nonsense list
  assert_failure 1
  [[ "$stderr" == *nonsense* ]]
}

@test "global options of runc and crun are accepted" {
  local log=$BATS_TEST_TMPDIR/log
  run_capsa --log "$log" --log-format text --log-level debug --debug list
  assert_success
  run_capsa --systemd-cgroup list
  assert_success
  run_capsa --cgroup-manager cgroupfs list
  assert_success
  run_capsa --cgroup-manager disabled list
  assert_success
  run_capsa --cgroup-manager systemd list
  assert_success
  run_capsa --rootless=false list
  assert_success
  run_capsa --rootless list
  assert_success
}

@test "--log with --log-format json writes errors as JSON lines" {
  local log=$BATS_TEST_TMPDIR/log.json
  run capsa --log "$log" --log-format json state no-such-ctr
  assert_failure 1
  [ -s "$log" ]
  # every line parses, and one is an error naming the container
  run jq -e -s 'length > 0' "$log"
  assert_success
  run jq -r 'select(.level == "error") | .msg' "$log"
  assert_output --partial no-such-ctr
}

@test "--log with --log-format text writes the error to the file" {
  local log=$BATS_TEST_TMPDIR/log.txt
  run capsa --log "$log" --log-format text state no-such-ctr
  assert_failure 1
  grep -q no-such-ctr "$log"
}

@test "features prints JSON describing the runtime" {
  run --separate-stderr capsa features
  assert_success
  local f=$BATS_TEST_TMPDIR/features.json
  printf '%s\n' "$output" >"$f"
  jq -e . "$f" >/dev/null
  jq -e '.ociVersionMin | test("^1\\.")' "$f"
  jq -e '.ociVersionMax | test("^1\\.")' "$f"
  local h
  for h in prestart createRuntime createContainer startContainer poststart poststop; do
    jq -e --arg h "$h" '.hooks | index($h)' "$f" >/dev/null || fail "hook $h missing from features"
  done
  local ns
  for ns in pid network mount ipc uts user cgroup time; do
    jq -e --arg n "$ns" '.linux.namespaces | index($n)' "$f" >/dev/null || fail "namespace $ns missing"
  done
  local o
  for o in bind rbind ro rro nosuid nodev noexec private rprivate shared rshared slave rslave; do
    jq -e --arg o "$o" '.mountOptions | index($o)' "$f" >/dev/null || fail "mount option $o missing"
  done
  jq -e '.linux.capabilities | index("CAP_SYS_ADMIN")' "$f" >/dev/null
}

@test "spec writes a config.json that parses, and refuses to overwrite it" {
  local d=$BATS_TEST_TMPDIR/spec
  mkdir -p "$d"
  cd "$d"
  run_capsa spec
  assert_success
  jq -e '.ociVersion and .process.args and .root.path and .linux.namespaces' config.json
  jq -e '[.linux.namespaces[].type] | index("mount") and index("pid")' config.json
  run_capsa spec
  assert_failure
  assert_output --partial config.json
}

@test "spec -b writes into the bundle directory" {
  local d=$BATS_TEST_TMPDIR/specb
  mkdir -p "$d"
  run_capsa spec -b "$d"
  assert_success
  jq -e .ociVersion "$d/config.json"
  [ ! -e config.json ] || [ "$PWD" = "$d" ]
}

@test "spec --rootless adds a user namespace mapped to the caller" {
  local d=$BATS_TEST_TMPDIR/specr
  mkdir -p "$d"
  run_capsa spec --rootless -b "$d"
  assert_success
  jq -e '[.linux.namespaces[].type] | index("user")' "$d/config.json"
  jq -e --argjson u "$(id -u)" '.linux.uidMappings[0].hostID == $u and .linux.uidMappings[0].containerID == 0' \
    "$d/config.json"
  jq -e '.linux.gidMappings | length > 0' "$d/config.json"
}

@test "run accepts the spec output with only terminal and args changed" {
  local d=$BATS_TEST_TMPDIR/plain
  mkdir -p "$d"
  cp -a "$CAPSA_TEST_CACHE/rootfs" "$d/rootfs"
  (cd "$d" && "$CAPSA" spec)
  jq '.process.terminal = false | .process.args = ["echo", "spec-ok"]' "$d/config.json" >"$d/c.json"
  mv "$d/c.json" "$d/config.json"
  run --separate-stderr capsa run -b "$d" plain </dev/null
  assert_success
  assert_output spec-ok
  [ ! -e "$ROOT/plain" ]
}

@test "list with no containers" {
  run_capsa list
  assert_success
  assert_line --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER'
  [ "${#lines[@]}" -eq 1 ]
  run_capsa list -q
  assert_success
  assert_output ""
  run_capsa list --format json
  assert_success
  [ "$(echo "$output" | jq length)" -eq 0 ]
}

@test "list shows containers in table, quiet and json formats" {
  set_args sleep 1000
  capsa_bg create -b "$BUNDLE" c1
  capsa_bg create -b "$BUNDLE" c2
  local pid1
  pid1=$(pid_of c1)
  run_capsa list
  assert_success
  assert_line --regexp "^c1 +$pid1 +created +$BUNDLE "
  assert_line --regexp "^c2 +[0-9]+ +created +$BUNDLE "
  run_capsa list -q
  assert_success
  [ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "c1 c2 " ]
  run_capsa list --format json
  assert_success
  [ "$(echo "$output" | jq -r 'map(.id) | sort | join(",")')" = c1,c2 ]
  [ "$(echo "$output" | jq -r '.[] | select(.id == "c1") | .pid')" = "$pid1" ]
  [ "$(echo "$output" | jq -r '.[] | select(.id == "c1") | .status')" = created ]
  [ "$(echo "$output" | jq -r '.[] | select(.id == "c1") | .bundle')" = "$BUNDLE" ]
  # the owner is the user owning the state dir, looked up when shown (as runc)
  [ "$(echo "$output" | jq -r '.[] | select(.id == "c1") | .owner')" = "$(id -un)" ]
  run_capsa state c1
  [ "$(echo "$output" | jq -r .owner)" = "$(id -un)" ]
  chown 4242 "$ROOT/c1"
  run_capsa state c1
  [ "$(echo "$output" | jq -r .owner)" = "#4242" ]
  chown 0 "$ROOT/c1"
  run_capsa list --format yaml
  assert_failure
  capsa delete --force c1
  capsa delete --force c2
}

@test "the default state root is /run/capsa" {
  local id=capsa-default-root-$$
  run timeout 30 "$CAPSA" run -b "$BUNDLE" --keep "$id" </dev/null
  assert_success
  [ -d "/run/capsa/$id" ] || fail "no state dir in /run/capsa"
  run timeout 30 "$CAPSA" delete "$id"
  assert_success
  [ ! -e "/run/capsa/$id" ]
}

@test "every command has a man page that renders without warnings" {
  command -v man >/dev/null || skip "man (man-db) is not installed"
  local dir=$BATS_TEST_DIRNAME/../man cmd page out
  # the commands are the ones `capsa --help` lists (help is not a page of its own)
  run_capsa --help
  assert_success
  local cmds
  cmds=$(printf '%s\n' "$output" | sed -n '/^Commands:/,/^$/p' | awk 'NF && $1 != "Commands:" && $1 != "help" {print $1}')
  [ -n "$cmds" ] || fail "no commands in --help"
  for page in "$dir/capsa.8" $(for cmd in $cmds; do echo "$dir/capsa-$cmd.8"; done); do
    [ -f "$page" ] || fail "missing man page $page"
    out=$(MANWIDTH=80 LC_ALL=C man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$out" ] || fail "$page: $out"
    MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q . || fail "$page renders empty"
  done
  # and make install installs them all
  for page in "$dir"/*.8; do
    grep -q "man/$(basename "$page")" "$BATS_TEST_DIRNAME/../Makefile.am" || fail "$page not in dist_man_MANS"
  done
}
