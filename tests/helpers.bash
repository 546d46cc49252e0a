# helpers.bash: shared setup of capsa's bats suites: busybox rootfs fixture, bundles, leak checks.
#
# Every test gets its own state root ($ROOT) and bundle ($BUNDLE) under $BATS_TEST_TMPDIR.
# Container processes carry CAPSA_TEST_MARK=<per-test mark> in their environment, so teardown can
# find any process a test left behind. Teardown fails the test when a state dir, a mount under the
# test's directory, or a marked process remains, and then cleans them up.

bats_require_minimum_version 1.5.0

if [ -f /usr/lib/bats/bats-support/load.bash ] && [ -f /usr/lib/bats/bats-assert/load.bash ]; then
  load /usr/lib/bats/bats-support/load
  load /usr/lib/bats/bats-assert/load
else
  # Minimal stand-ins for the few bats-assert functions the suites use.
  fail () {
    echo "$@" >&2
    return 1
  }
  assert_success () {
    [ "$status" -eq 0 ] || fail "expected success, got status $status; output: $output"
  }
  assert_failure () {
    if [ $# -gt 0 ]; then
      [ "$status" -eq "$1" ] || fail "expected status $1, got $status; output: $output"
    else
      [ "$status" -ne 0 ] || fail "expected failure; output: $output"
    fi
  }
  assert_output () {
    case "$1" in
    --partial) [[ "$output" == *"$2"* ]] || fail "output lacks '$2': $output" ;;
    --regexp) [[ "$output" =~ $2 ]] || fail "output does not match '$2': $output" ;;
    *) [ "$output" = "$1" ] || fail "expected output '$1', got '$output'" ;;
    esac
  }
  refute_output () {
    case "$1" in
    --partial) [[ "$output" != *"$2"* ]] || fail "output contains '$2': $output" ;;
    --regexp) ! [[ "$output" =~ $2 ]] || fail "output matches '$2': $output" ;;
    *) [ "$output" != "$1" ] || fail "output is '$1'" ;;
    esac
  }
  assert_line () {
    local l
    if [ "$1" = --partial ]; then
      for l in "${lines[@]}"; do [[ "$l" == *"$2"* ]] && return 0; done
    elif [ "$1" = --regexp ]; then
      for l in "${lines[@]}"; do [[ "$l" =~ $2 ]] && return 0; done
    else
      for l in "${lines[@]}"; do [ "$l" = "$1" ] && return 0; done
    fi
    fail "no line matches '$*': $output"
  }
  refute_line () {
    local l
    for l in "${lines[@]}"; do [ "$l" != "$1" ] || fail "line '$1' present: $output"; done
  }
  assert_equal () {
    [ "$1" = "$2" ] || fail "expected '$2', got '$1'"
  }
fi

CAPSA=${CAPSA:-$BATS_TEST_DIRNAME/../capsa}
BUSYBOX=${BUSYBOX:-/bin/busybox}
CAPSA_TEST_CACHE=${CAPSA_TEST_CACHE:-$BATS_RUN_TMPDIR/capsa-cache}
# Seconds any single capsa command may take before the test calls it hung.
CAPSA_TEST_TIMEOUT=${CAPSA_TEST_TIMEOUT:-30}

# build_rootfs: the busybox root filesystem, built once per run into $CAPSA_TEST_CACHE/rootfs.
build_rootfs () {
  local r=$CAPSA_TEST_CACHE/rootfs
  [ -e "$CAPSA_TEST_CACHE/rootfs.done" ] && return 0
  mkdir -p "$CAPSA_TEST_CACHE"
  (
    flock 9
    [ -e "$CAPSA_TEST_CACHE/rootfs.done" ] && exit 0
    rm -rf "$r"
    mkdir -p "$r"/bin "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/etc "$r"/root "$r"/home/user \
      "$r"/mnt "$r"/run "$r"/var
    chmod 1777 "$r/tmp"
    cp "$BUSYBOX" "$r/bin/busybox"
    local applet
    for applet in $("$BUSYBOX" --list); do
      [ -e "$r/bin/$applet" ] || ln -s busybox "$r/bin/$applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
      'user:x:1000:1000:test user:/home/user:/bin/sh' \
      'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
    printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$r/etc/group"
    chown 1000:1000 "$r/home/user"
    touch "$CAPSA_TEST_CACHE/rootfs.done"
  ) 9>"$CAPSA_TEST_CACHE/rootfs.lock"
}

# capsa ARGS...: the binary under test with this test's state root, bounded in time. bats' TAP
# descriptor (fd 3) is closed so a container process cannot hold the suite's output open.
capsa () {
  timeout --foreground -k 5 "$CAPSA_TEST_TIMEOUT" "$CAPSA" --root "$ROOT" "$@" 3>&-
}

# run_capsa ARGS...: `run` capsa with stdin from /dev/null (sets $status, $output, $lines).
run_capsa () {
  run capsa "$@" </dev/null
}

# capsa_bg ARGS...: capsa with the container's stdio going to $OUT / $ERR, for create and run -d
# (a detached container would otherwise hold bats' output pipe open).
capsa_bg () {
  capsa "$@" </dev/null >"$OUT" 2>"$ERR"
}

# run_bg ARGS...: like `run --separate-stderr capsa ARGS`, but through files, so a container that
# unexpectedly survives cannot hang the test: sets $status, $output, $stderr.
run_bg () {
  status=0
  capsa "$@" </dev/null >"$OUT" 2>"$ERR" || status=$?
  output=$(cat "$OUT")
  stderr=$(cat "$ERR")
}

# json_array ARGS...: the arguments as a JSON array of strings.
json_array () {
  # one jq for the whole array (--args --: an argument such as -c is a string, not an option)
  jq -cn '$ARGS.positional' --args -- "$@"
}

# cfg JQ-FILTER [jq options...]: edit $BUNDLE/config.json in place.
cfg () {
  local filter=$1
  shift
  jq "$@" "$filter" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" \
    && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARGS...: the container process's args.
set_args () {
  cfg '.process.args = $a' --argjson a "$(json_array "$@")"
}

# make_bundle DIR [ARGS...]: a bundle from `capsa spec`, not a terminal, with args (default: true)
# and the leak-check mark in the process environment. linux.resources is dropped: cgroups are
# separate work and only produce a warning, which would mix into the output tests compare. A
# relative cgroupsPath unique to the test keeps concurrent runs (which all use ids like "ctr")
# out of each other's cgroups.
make_bundle () {
  local dir=$1
  shift
  [ $# -gt 0 ] || set -- true
  mkdir -p "$dir"
  cp -a "$CAPSA_TEST_CACHE/rootfs" "$dir/rootfs"
  (cd "$dir" && "$CAPSA" spec) || {
    echo "capsa spec failed in $dir" >&2
    return 1
  }
  BUNDLE=$dir cfg 'del(.linux.resources) | .root.readonly = false | .process.terminal = false | .process.args = $a
      | .process.env = ((.process.env // []) + ["CAPSA_TEST_MARK=" + $m])
      | .linux.cgroupsPath = "capsa-test-" + $m' \
    --argjson a "$(json_array "$@")" --arg m "$MARK"
}

# state_of ID: the "status" field of `capsa state ID`.
state_of () {
  capsa state "$1" | jq -r .status
}

# pid_of ID: the "pid" field of `capsa state ID`.
pid_of () {
  capsa state "$1" | jq -r .pid
}

# wait_for COMMAND...: retry COMMAND for up to 10 s (0.05 s steps).
wait_for () {
  local i
  for ((i = 0; i < 200; i++)); do
    "$@" 2>/dev/null && return 0
    sleep 0.05
  done
  "$@"
}

# wait_status ID STATUS: wait up to 10 s until the container reaches STATUS.
wait_status () {
  local i st
  for ((i = 0; i < 200; i++)); do
    st=$(state_of "$1" 2>/dev/null)
    [ "$st" = "$2" ] && return 0
    sleep 0.05
  done
  echo "container $1: status is '$st', expected '$2'" >&2
  return 1
}

# root_pids: capsa processes working on this test's state root (e.g. a container init that never
# reached execve still has capsa's command line).
root_pids () {
  local f
  # one grep over every command line, the exact check only on its hits (not two processes per
  # pid, kernel threads included: suites call this after every step)
  for f in $(grep -lsaF -- "$ROOT" /proc/[0-9]*/cmdline); do
    tr '\0' ' ' 2>/dev/null <"$f" | grep -q -F -- "--root $ROOT " && { f=${f%/cmdline}; echo "${f#/proc/}"; }
  done
  return 0
}

# marked_pids: pids of live processes that carry this test's mark (container processes).
marked_pids () {
  grep -lsa -- "CAPSA_TEST_MARK=$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | while read -r p; do
    # zombies have an empty environ, so a hit is a live process
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && echo "$p"
  done
  return 0
}

# mounts_under DIR: mount points below DIR in the host's mount table.
mounts_under () {
  awk -v d="$1" 'index($5, d "/") == 1 || $5 == d {print $5}' /proc/self/mountinfo
}

# assert_no_leftovers ID...: no state dir, no mount under the test's directory, no container
# process, no cgroup. For bad-input tests, right after the failing command.
assert_no_leftovers () {
  local id problems=()
  for id in "$@"; do
    [ ! -e "$ROOT/$id" ] || problems+=("state dir $ROOT/$id remains")
  done
  local m
  m=$(mounts_under "$BATS_TEST_TMPDIR")
  [ -z "$m" ] || problems+=("mounts remain: $m")
  local p
  p=$(marked_pids; root_pids)
  [ -z "$p" ] || problems+=("container processes remain: $(echo $p)")
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 5 -type d -name "capsa-test-$MARK" 2>/dev/null || true)
  [ -z "$cg" ] || problems+=("cgroups remain: $(echo $cg)")
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'leftover: %s\n' "${problems[@]}" >&2
    return 1
  fi
}

# defer COMMAND: run COMMAND (a string) in teardown before the leak checks, last in first out.
defer () {
  DEFERRED=("$1" "${DEFERRED[@]}")
}

# assert_error_line [TEXT]: TEXT (default $output) is one line `capsa: ...` (the runtime's error
# idiom is `capsa: <context>: <detail>`; CLI usage errors may have no separate context).
assert_error_line () {
  local text=${1-$output}
  local n
  n=$(printf '%s\n' "$text" | grep -c .)
  [ "$n" -eq 1 ] || fail "expected exactly one error line, got $n: $text"
  [[ "$text" =~ ^capsa:\ .+ ]] || fail "error is not 'capsa: <context>: <detail>': $text"
}

capsa_setup () {
  capsa_setup_env
  build_rootfs
  make_bundle "$BUNDLE"
}

# capsa_setup_env: the checks and per-test variables of capsa_setup, without the bundle (for a
# suite that makes its bundles its own way).
capsa_setup_env () {
  [ "$(id -u)" = 0 ] || skip "the integration tests need root"
  [ -x "$BUSYBOX" ] || skip "$BUSYBOX missing (apt-get install busybox-static)"
  command -v jq >/dev/null || skip "jq missing"
  [ -x "$CAPSA" ] || fail "capsa binary not found at $CAPSA (set CAPSA)"
  ROOT=$BATS_TEST_TMPDIR/state
  OUT=$BATS_TEST_TMPDIR/out
  ERR=$BATS_TEST_TMPDIR/err
  MARK="t$$-$BATS_TEST_NUMBER-$RANDOM"
  DEFERRED=()
  BUNDLE=$BATS_TEST_TMPDIR/bundle
}

# build_prog NAME [cc flags...]: tests/progs/NAME.c compiled once per file into BATS_FILE_TMPDIR;
# prints its path (skips the test when there is no C compiler).
build_prog () {
  local name=$1
  shift
  command -v cc >/dev/null || skip "no C compiler"
  [ -x "$BATS_FILE_TMPDIR/$name" ] || cc -O1 -o "$BATS_FILE_TMPDIR/$name" "$BATS_TEST_DIRNAME/progs/$name.c" "$@" \
    || skip "cannot build $name"
  echo "$BATS_FILE_TMPDIR/$name"
}

# find_vm_assets: the directory holding the guest kernel and initramfs: $CAPSA_VM_ASSETS when
# set, else the build's vm/ (make vm-assets) or an installed one; nothing when there is none.
find_vm_assets () {
  local d dirs=("${TESTS_BUILDDIR:-}/vm" "$(dirname "$CAPSA")/vm" /usr/local/lib/capsa /usr/lib/capsa)
  [ -z "${CAPSA_VM_ASSETS:-}" ] || dirs=("$CAPSA_VM_ASSETS")
  for d in "${dirs[@]}"; do
    if [ -f "$d/vmlinux" ] && [ -f "$d/initramfs" ]; then
      echo "$d"
      return 0
    fi
  done
}

# require_vm: skip the test (with the reason) unless QEMU and the VM assets are there; sets QEMU
# and exports CAPSA_VM_ASSETS.
require_vm () {
  QEMU=$(command -v qemu-system-x86_64 || true)
  [ -n "$QEMU" ] || skip "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
  CAPSA_VM_ASSETS=$(find_vm_assets)
  [ -n "$CAPSA_VM_ASSETS" ] || skip "guest kernel/initramfs missing (make vm-assets, or set CAPSA_VM_ASSETS)"
  export CAPSA_VM_ASSETS
}

capsa_teardown () {
  local problems=() d cmd
  [ -n "${ROOT:-}" ] || return 0
  # containers the test left behind
  if [ -d "$ROOT" ]; then
    for d in "$ROOT"/*/; do
      [ -d "$d" ] || continue
      d=$(basename "$d")
      problems+=("container $d was not deleted")
      timeout -k 5 "$CAPSA_TEST_TIMEOUT" "$CAPSA" --root "$ROOT" delete --force "$d" >/dev/null 2>&1 </dev/null 3>&- || true
      [ ! -e "$ROOT/$d" ] || problems+=("delete --force left $ROOT/$d")
    done
  fi
  # processes: wait briefly (a killed container may take a moment to go)
  local p
  wait_for eval '[ -z "$(marked_pids)" ]' 2>/dev/null
  p=$(marked_pids)
  if [ -n "$p" ]; then
    problems+=("container processes left running: $(echo $p)")
    kill -9 $p 2>/dev/null || true
  fi
  p=$(root_pids)
  if [ -n "$p" ]; then
    problems+=("capsa processes left running: $(echo $p)")
    kill -9 $p 2>/dev/null || true
  fi
  # cgroups made for the test's containers (see make_bundle's cgroupsPath)
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 5 -type d -name "capsa-test-$MARK" 2>/dev/null || true)
  if [ -n "$cg" ]; then
    problems+=("cgroups left behind: $(echo $cg)")
    echo "$cg" | while read -r d; do rmdir "$d" 2>/dev/null || true; done
  fi
  for cmd in "${DEFERRED[@]}"; do
    eval "$cmd" >/dev/null 2>&1 || true
  done
  local m
  m=$(mounts_under "$BATS_TEST_TMPDIR")
  if [ -n "$m" ]; then
    problems+=("mounts left under the test directory: $(echo $m)")
    # deepest first, so bats' cleanup never walks into a mount
    echo "$m" | sort -r | while read -r d; do umount -l "$d" 2>/dev/null || true; done
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'leak: %s\n' "${problems[@]}" >&2
    return 1
  fi
}

setup () {
  capsa_setup
}

teardown () {
  capsa_teardown
}

# console_receiver SOCKET OUTFILE [INPUT]: accept one console fd on SOCKET, optionally write INPUT
# to it, copy everything read from it to OUTFILE until the terminal closes.
console_receiver () {
  python3 - "$@" <<'PY' &
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
open(out + ".ready", "w").close()
conn, _ = srv.accept()
_, fds, _, _ = socket.recv_fds(conn, 4096, 4)
master = fds[0]
if len(sys.argv) > 3:
    os.write(master, sys.argv[3].encode())
with open(out, "wb") as f:
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        f.write(data)
        f.flush()
PY
  RECEIVER=$!
  wait_for test -e "$2.ready"
}

# stop_receiver [TRIES]: give the console receiver TRIES x 50 ms (default 100) to see the
# terminal close and exit, then end it.
stop_receiver () {
  local n=${1:-100} k
  for ((k = 0; k < n; k++)); do kill -0 "$RECEIVER" 2>/dev/null || break; sleep 0.05; done
  kill "$RECEIVER" 2>/dev/null || true
}
