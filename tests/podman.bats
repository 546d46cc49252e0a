#!/usr/bin/env bats
# podman.bats: podman (with conmon) drives capsa as its OCI runtime: `podman --runtime $CAPSA`.
#
# podman keeps everything under a per-suite temp dir (private containers.conf and storage.conf:
# cgroupfs manager, file events, no network backend, ulimits within the machine's hard limits) and
# runs inside the engines jail (engines-helpers.bash), with containers below a per-suite
# --cgroup-parent. One busybox image is imported per suite.

load engines-helpers

IMG=localhost/capsa-busybox:latest

setup_file () {
  export ENG_SKIP
  ENG_SKIP=$(eng_missing podman conmon nsenter)
  if [ -n "$ENG_SKIP" ]; then return 0; fi
  export CAPSA=$(realpath "$CAPSA")
  # in the Debian host lane /tmp lies on the root's overlayfs, which cannot hold the upper dirs
  # of the jail's overlays: the lane's scratch tmpfs ($TMPDIR) there
  local tmp=/tmp
  [ -z "${CAPSA_IN_VM_LANE:-}" ] || tmp=$TMPDIR
  export ENG_TMP=$(mktemp -d "$tmp/capsa-podman.XXXXXX")
  export PODMAN_CGROUP_PARENT=/capsa-podman-${ENG_TMP##*.}
  local init
  init=$(command -v catatonit || echo /usr/libexec/podman/catatonit)
  # VM mode (the bridge network test): the guest assets of this build, snapshots of this suite;
  # conmon passes the runtime only the environment containers.conf lists.
  export PODMAN_VM_ASSETS
  PODMAN_VM_ASSETS=$(find_vm_assets)
  cat >"$ENG_TMP/containers.conf" <<EOF
[containers]
netns = "none"
# conmon stays in podman's own (jailed) cgroup: its default libpod_parent/conmon was made at
# the host root of the memory hierarchy, outside the machine's accounting
cgroups = "no-conmon"
pull_policy = "never"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
init_path = "$init"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$ENG_TMP/events.log"
tmp_dir = "$ENG_TMP/libpod-tmp"
volume_path = "$ENG_TMP/volumes"
runtime = "capsa"
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "CAPSA_VM_ASSETS=$PODMAN_VM_ASSETS", "CAPSA_VM_SNAPSHOT_DIR=$ENG_TMP/vm-snapshots"]

[engine.runtimes]
capsa = ["$CAPSA"]

[network]
network_config_dir = "$ENG_TMP/net"
EOF
  cat >"$ENG_TMP/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$ENG_TMP/run"
graphroot = "$ENG_TMP/graph"
EOF
  export CONTAINERS_CONF=$ENG_TMP/containers.conf CONTAINERS_STORAGE_CONF=$ENG_TMP/storage.conf
  eng_setup_jail
  # podman calls the runtime without --root: capsa's default state root, private to the suite
  eng_overlay_dir /run
  eng_busybox_tar
  podman import "$ENG_TMP/rootfs.tar" "$IMG" >/dev/null
}

teardown_file () {
  if [ -z "${ENG_TMP:-}" ]; then return 0; fi
  if [ -n "${ENG_JAIL:-}" ]; then
    rootless_cleanup
    podman rm -a -f -t 0 >/dev/null 2>&1 || true
    podman system reset -f >/dev/null 2>&1 || true
    in_jail sh -c "grep -o ' $ENG_TMP/[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l" || true
    eng_cgroup_cleanup "${PODMAN_CGROUP_PARENT#/}"
    # conmon of commands without --cgroup-parent (start, exec) goes to podman's default parent
    eng_cgroup_cleanup libpod_parent
    eng_teardown_jail || true
  fi
  rm -rf "$ENG_TMP"
}

# podman ARGS...: podman in the jail with the suite's configuration and capsa as its runtime;
# containers made by run/create go below the suite's cgroup parent.
podman () {
  local sub=$1
  shift
  case $sub in
  run | create) set -- "$sub" --cgroup-parent "$PODMAN_CGROUP_PARENT" "$@" ;;
  *) set -- "$sub" "$@" ;;
  esac
  in_jail podman --runtime "$CAPSA" "$@"
}

# jail_etc: the jail sees a private, writable copy of /etc (an overlay): users and /etc/subuid
# ranges the tests add never reach the host's /etc.
jail_etc () {
  nsenter -t "$ENG_JAIL" -m awk '$2 == "/etc" && $3 == "overlay" { f = 1 } END { exit !f }' /proc/self/mounts \
    || eng_overlay_dir /etc
}

ROOTLESS_USER=capsa-userns-rl
# a uid of its own, so that cleanup can end every process of the user
ROOTLESS_UID=64123

# rootless_setup: an unprivileged user (in the jail's /etc) with subordinate uid and gid ranges,
# a home, an XDG_RUNTIME_DIR and podman configuration of its own, all under $ENG_TMP/rootless.
rootless_setup () {
  local home=$ENG_TMP/rootless
  jail_etc
  if in_jail getent passwd "$ROOTLESS_UID" >/dev/null; then
    skip "uid $ROOTLESS_UID is taken on this machine"
  fi
  in_jail useradd --no-create-home --uid "$ROOTLESS_UID" --home-dir "$home" --shell /bin/sh "$ROOTLESS_USER"
  touch "$ENG_TMP/rootless.user"
  in_jail usermod --add-subuids 600000-665535 --add-subgids 600000-665535 "$ROOTLESS_USER"
  export RL_UID RL_GID
  RL_UID=$(in_jail id -u "$ROOTLESS_USER")
  RL_GID=$(in_jail id -g "$ROOTLESS_USER")
  chmod 711 "$ENG_TMP"
  mkdir -p "$home/run" "$home/graph" "$home/runroot"
  # the suite's containers.conf, with the user's own directories
  sed -e "s|$ENG_TMP/|$home/|g" -e '/^conmon_env_vars/,/^$/d' "$ENG_TMP/containers.conf" >"$home/containers.conf"
  printf '[storage]\ndriver = "overlay"\nrunroot = "%s/runroot"\ngraphroot = "%s/graph"\n' \
    "$home" "$home" >"$home/storage.conf"
  cp "$ENG_TMP/rootfs.tar" "$home/rootfs.tar"
  # the binary under test and the working directory may sit in directories only root can reach
  # (a CI checkout below root's home): the user gets a copy and works in its own home
  cp "$CAPSA" "$home/capsa"
  chown -R "$RL_UID:$RL_GID" "$home"
  chmod 700 "$home/run"
}

# rootless_podman ARGS...: podman as the unprivileged user, with capsa as its runtime.
rootless_podman () {
  local home=$ENG_TMP/rootless
  in_jail setpriv --reuid "$RL_UID" --regid "$RL_GID" --init-groups --reset-env \
    env -C "$home" HOME="$home" XDG_RUNTIME_DIR="$home/run" CONTAINERS_CONF="$home/containers.conf" \
    CONTAINERS_STORAGE_CONF="$home/storage.conf" podman --runtime "$home/capsa" "$@"
}

# rootless_cleanup: the user's containers, storage, processes (its podman pause process lives
# in a user and mount namespace of its own, outside the jail's) and the user itself.
rootless_cleanup () {
  local p
  [ -f "$ENG_TMP/rootless.user" ] || return 0
  RL_UID=$(in_jail id -u "$ROOTLESS_USER") || return 0
  RL_GID=$(in_jail id -g "$ROOTLESS_USER")
  rootless_podman rm -a -f -t 0 >/dev/null 2>&1 || true
  rootless_podman system reset -f >/dev/null 2>&1 || true
  for p in $(pgrep -u "$RL_UID"); do kill -9 "$p" 2>/dev/null; done
  in_jail userdel -r "$ROOTLESS_USER" >/dev/null 2>&1 || true
  rm -f "$ENG_TMP/rootless.user"
}

# podman_d NAME ARGS...: a detached container named NAME running ARGS (default: sleep 1000).
podman_d () {
  local name=$1
  shift
  [ $# -gt 0 ] || set -- sleep 1000
  podman run -d --name "$name" "$IMG" "$@" </dev/null
}

# state_is NAME STATUS: podman reports the container's status as STATUS.
state_is () {
  [ "$(podman inspect --format '{{.State.Status}}' "$1")" = "$2" ]
}

@test "podman: run --rm prints the output and exits with the container's status" {
  run podman run --rm "$IMG" sh -c 'echo hello from capsa; exit 7' </dev/null
  assert_failure 7
  assert_output "hello from capsa"
  run podman ps -a -q
  assert_output ""
}

@test "podman: run maps a missing program to 127 and a non-executable one to 126" {
  run -127 podman run --rm "$IMG" /no/such/program </dev/null
  assert_output --partial "no such file or directory"
  run -126 podman run --rm "$IMG" /etc/passwd </dev/null
  assert_output --partial "permission denied"
  run podman ps -a -q
  assert_output ""
}

@test "podman: info reports capsa and its version as the OCI runtime" {
  run podman info --format '{{.Host.OCIRuntime.Path}} {{.Host.OCIRuntime.Version}}'
  assert_success
  assert_output --regexp "^$CAPSA capsa version"
}

@test "podman: run -i passes piped stdin" {
  run bash -c 'printf "line one\nline two\n" | "$@"' _ podman run -i --rm "$IMG" sh -c 'wc -l; cat /dev/null'
  assert_success
  assert_output --regexp '^ *2$'
}

@test "podman: run -e -w -u set env, cwd and user" {
  run podman run --rm -e FOO=bar -w /tmp -u 1000:1000 "$IMG" sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"' </dev/null
  assert_success
  assert_output "bar /tmp 1000:1000"
}

@test "podman: run --read-only keeps the rootfs read-only" {
  run podman run --rm --read-only "$IMG" sh -c 'touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-ok' </dev/null
  assert_success
  assert_line --partial "Read-only file system"
  assert_line "rc=1"
  assert_line "tmp-ok"
}

@test "podman: a tmpfs with tmpcopyup starts with the directory's content" {
  run podman run --rm --read-only --mount type=tmpfs,destination=/etc,tmpcopyup "$IMG" sh -c 'grep "^user:" /etc/passwd && echo x >/etc/new && grep -c " /etc tmpfs " /proc/mounts' </dev/null
  assert_success
  assert_line --partial "user:x:1000:1000"
  assert_line "1"
}

@test "podman: run -v bind-mounts a host directory" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  echo from-host >"$BATS_TEST_TMPDIR/vol/in"
  run podman run --rm -v "$BATS_TEST_TMPDIR/vol:/data" "$IMG" sh -c 'cat /data/in; echo from-container >/data/out' </dev/null
  assert_success
  assert_output "from-host"
  [ "$(cat "$BATS_TEST_TMPDIR/vol/out")" = from-container ]
}

@test "podman: run --hostname sets the UTS hostname" {
  run podman run --rm --hostname capsa-box "$IMG" hostname </dev/null
  assert_success
  assert_output "capsa-box"
}

@test "podman: run --network none has only loopback" {
  run podman run --rm --network none "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "' </dev/null
  assert_success
  assert_output "lo"
}

@test "podman: run --network host shares the host's network namespace" {
  local host_ns
  host_ns=$(in_jail readlink /proc/self/ns/net)
  run podman run --rm --network host "$IMG" readlink /proc/self/ns/net </dev/null
  assert_success
  assert_output "$host_ns"
}

# podman_net NETNS ARGS...: podman as above, in the network namespace NETNS (a path).
podman_net () {
  local ns=$1 sub=$2
  shift 2
  case $sub in
  run | create) set -- "$sub" --cgroup-parent "$PODMAN_CGROUP_PARENT" "$@" ;;
  *) set -- "$sub" "$@" ;;
  esac
  timeout --foreground -k 5 "$ENG_TIMEOUT" nsenter -t "$ENG_JAIL" -m -C --net="$ns" --wd="$PWD" \
    podman --runtime "$CAPSA" "$@" 3>&-
}

@test "podman: a VM-mode container on a bridge network is reached through its published port" {
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/portmap ] ||
    skip "CNI plugins missing (apt-get install containernetworking-plugins)"
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing"
  [ -n "$PODMAN_VM_ASSETS" ] || skip "guest kernel/initramfs missing (make vm-assets)"
  # podman, its bridge, veths and firewall rules in a network namespace of the test's own.
  local ns=netpodman$$ got= i
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  run podman_net "/run/netns/$ns" run -d --name vmweb --network bridge -p 18080:8080 \
    --annotation run.oci.handler=vm --annotation run.oci.vm.accel=tcg "$IMG" \
    sh -c 'mkdir /w && echo hello-from-the-vm >/w/index.html && exec httpd -f -p 8080 -h /w' </dev/null
  if [ "$status" -ne 0 ]; then
    ip netns del "$ns"
    fail "podman run: $output"
  fi
  for ((i = 0; i < 150; i++)); do
    got=$(nsenter --net="/run/netns/$ns" timeout 3 busybox wget -q -O - http://127.0.0.1:18080/ 2>/dev/null || true)
    [ -z "$got" ] || break
    sleep 0.2
  done
  run podman_net "/run/netns/$ns" inspect --format '{{.NetworkSettings.IPAddress}}' vmweb
  local ip=$output
  local guest
  guest=$(podman_net "/run/netns/$ns" exec vmweb ip -o -4 addr show dev eth0 </dev/null || true)
  podman_net "/run/netns/$ns" rm -f -t 0 vmweb >/dev/null 2>&1 || true
  ip netns del "$ns"
  assert_equal "$got" hello-from-the-vm
  [[ "$guest" == *"inet $ip/"* ]] || fail "the guest's eth0 ($guest) lacks the container's address $ip"
}

@test "podman: run --cap-drop/--cap-add set the capability sets" {
  run podman run --rm --cap-drop all --cap-add NET_RAW "$IMG" grep CapEff /proc/self/status </dev/null
  assert_success
  assert_output --regexp 'CapEff:[[:space:]]+0000000000002000'
  run podman run --rm --cap-drop CHOWN "$IMG" sh -c 'touch /tmp/f; chown 1000 /tmp/f' </dev/null
  assert_failure
}

@test "podman: run --init runs the workload under an init process" {
  run podman run --rm --init "$IMG" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo "sh pid $$"' </dev/null
  assert_success
  assert_line --regexp '(catatonit|init)'
  refute_line "sh pid 1"
}

@test "podman: run --memory/--pids-limit/--cpus reach the container's cgroup" {
  run podman run --rm --memory 64m --pids-limit 77 --cpus 0.5 "$IMG" sh -c '
    if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/memory ]; then
      cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max
    else
      cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max \
        /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us
    fi' </dev/null
  assert_success
  assert_line "67108864"
  assert_line "77"
  assert_line --regexp '^50000( 100000)?$'
}

@test "podman: run -it works through a pty" {
  eng_require script
  # the workload lingers a moment before it exits: podman's attach can miss the pty output of a
  # process that exits at once (a known podman/conmon race; seen once here, under ASan)
  run script -qec "$(declare -f in_jail); ENG_JAIL=$ENG_JAIL ENG_TIMEOUT=$ENG_TIMEOUT in_jail podman --runtime $CAPSA run -it --rm --cgroup-parent $PODMAN_CGROUP_PARENT $IMG sh -c 'tty; test -t 0 && echo stdin-is-tty; sleep 0.5; exit 3'" /dev/null </dev/null
  assert_failure 3
  assert_output --partial "/dev/pts/0"
  assert_output --partial "stdin-is-tty"
}

@test "podman: update changes a running container's limits" {
  podman_d t-update >/dev/null
  run podman update --memory 96m --cpus 0.25 t-update
  assert_success
  run podman exec t-update sh -c '
    if [ -d /sys/fs/cgroup/memory ]; then
      cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us
    else
      cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max
    fi' </dev/null
  assert_success
  assert_line "100663296"
  assert_line --regexp "^25000( 100000)?$"
  podman rm -f -t 0 t-update >/dev/null
}

@test "podman: run -d, ps and inspect" {
  local id
  id=$(podman_d t-ps)
  run podman ps --format '{{.Names}} {{.Status}}'
  assert_success
  assert_line --regexp '^t-ps Up'
  run podman inspect --format '{{.State.Running}} {{.State.Pid}} {{.Id}}' t-ps
  assert_success
  assert_output --regexp "^true [1-9][0-9]* $id$"
  podman rm -f -t 0 t-ps >/dev/null
}

@test "podman: exec returns the exit code, runs as a user, with a tty and detached" {
  podman_d t-exec >/dev/null
  run podman exec t-exec sh -c 'echo in-exec; exit 5' </dev/null
  assert_failure 5
  assert_output "in-exec"
  run podman exec -u 1000 t-exec id -u </dev/null
  assert_success
  assert_output "1000"
  run script -qec "$(declare -f in_jail); ENG_JAIL=$ENG_JAIL ENG_TIMEOUT=$ENG_TIMEOUT in_jail podman --runtime $CAPSA exec -it t-exec tty" /dev/null </dev/null
  assert_success
  assert_output --partial "/dev/pts/"
  run podman exec -d t-exec sh -c 'echo detached >/tmp/marker'
  assert_success
  retry_until 100 podman exec t-exec test -e /tmp/marker </dev/null
  run podman exec t-exec cat /tmp/marker </dev/null
  assert_output "detached"
  run -127 podman exec t-exec /no/such/binary </dev/null
  assert_failure 127
  podman rm -f -t 0 t-exec >/dev/null
}

@test "podman: top lists the container's processes" {
  podman_d t-top >/dev/null
  run podman top t-top
  assert_success
  assert_output --partial "sleep 1000"
  podman rm -f -t 0 t-top >/dev/null
}

@test "podman: stats reads the container's cgroup" {
  podman_d t-stats >/dev/null
  run podman stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' t-stats
  assert_success
  assert_output --regexp '^t-stats [0-9.]+[kKMG]?i?B / .* 1$'
  podman rm -f -t 0 t-stats >/dev/null
}

@test "podman: pause and unpause" {
  podman_d t-pause >/dev/null
  run podman pause t-pause
  assert_success
  state_is t-pause paused
  run podman unpause t-pause
  assert_success
  state_is t-pause running
  run podman exec t-pause echo alive </dev/null
  assert_output "alive"
  podman rm -f -t 0 t-pause >/dev/null
}

@test "podman: cp into and out of a container" {
  podman_d t-cp >/dev/null
  echo copied-in >"$BATS_TEST_TMPDIR/in.txt"
  run podman cp "$BATS_TEST_TMPDIR/in.txt" t-cp:/tmp/in.txt
  assert_success
  run podman exec t-cp cat /tmp/in.txt </dev/null
  assert_output "copied-in"
  podman exec t-cp sh -c 'echo copied-out >/tmp/out.txt' </dev/null
  run podman cp t-cp:/tmp/out.txt "$BATS_TEST_TMPDIR/out.txt"
  assert_success
  [ "$(cat "$BATS_TEST_TMPDIR/out.txt")" = copied-out ]
  podman rm -f -t 0 t-cp >/dev/null
}

@test "podman: kill then wait reports 128+signal" {
  podman_d t-kill >/dev/null
  run podman kill -s KILL t-kill
  assert_success
  run podman wait t-kill
  assert_success
  assert_output "137"
  podman rm t-kill >/dev/null
}

@test "podman: stop escalates to SIGKILL when SIGTERM is ignored" {
  podman_d t-stop sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
  run podman stop -t 1 t-stop
  assert_success
  run podman inspect --format '{{.State.ExitCode}}' t-stop
  assert_output "137"
  podman rm t-stop >/dev/null
}

@test "podman: restart runs the container again" {
  podman_d t-restart sh -c 'echo started; exec sleep 1000' >/dev/null
  local pid1 pid2
  pid1=$(podman inspect --format '{{.State.Pid}}' t-restart)
  run podman restart -t 0 t-restart
  assert_success
  state_is t-restart running
  pid2=$(podman inspect --format '{{.State.Pid}}' t-restart)
  [ "$pid1" != "$pid2" ]
  retry_until 100 bash -c '[ "$(podman logs t-restart 2>&1 | grep -c started)" = 2 ]' 2>/dev/null \
    || [ "$(podman logs t-restart | grep -c started)" = 2 ]
  podman rm -f -t 0 t-restart >/dev/null
}

@test "podman: rm -f removes a running container" {
  podman_d t-rm >/dev/null
  run podman rm -f -t 0 t-rm
  assert_success
  run podman ps -a -q --filter name=t-rm
  assert_output ""
}

@test "podman: logs returns the container's output" {
  podman run --name t-logs "$IMG" sh -c 'echo out-line; echo err-line >&2' </dev/null >/dev/null 2>&1
  run podman logs t-logs
  assert_success
  assert_line "out-line"
  assert_line "err-line"
  podman rm t-logs >/dev/null
}

@test "podman: create, start and wait" {
  run podman create --name t-csw "$IMG" sh -c 'exit 9'
  assert_success
  state_is t-csw created
  run podman start t-csw
  assert_success
  run podman wait t-csw
  assert_success
  assert_output "9"
  podman rm t-csw >/dev/null
}

# last_count NAME: the last number the counter container NAME logged (0 before any).
last_count () {
  local n
  n=$(podman logs "$1" 2>/dev/null | tail -n 1)
  echo "${n:-0}"
}

# Debian 12's CRIU 3.17 runs on Debian's own kernel, not on newer ones: this test runs in the
# Debian host lane (make check-debian-vm DEBIAN_VM_SUITES=podman DEBIAN_VM_FILTER=checkpoint).
@test "podman: container checkpoint and restore (CRIU), also --export and --import" {
  command -v criu >/dev/null || skip "CRIU not installed (apt-get install criu)"
  local out
  out=$(criu check 2>&1) \
    || skip "CRIU cannot checkpoint on this kernel ($(uname -r)): $(echo "$out" | grep -m1 Error)"
  # (a log file, which the lane's systemd without journald needs too)
  podman run -d --log-driver k8s-file --name t-ckpt "$IMG" \
    sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done' </dev/null >/dev/null
  retry_until 200 bash -c "[ \$(podman logs t-ckpt | tail -n 1) -gt 3 ]" 2>/dev/null
  run podman container checkpoint t-ckpt
  assert_success
  state_is t-ckpt exited
  local saved
  saved=$(last_count t-ckpt)
  run podman container restore t-ckpt
  assert_success
  state_is t-ckpt running
  # the counter goes on from where it was, into the same log: no number twice, none restarted
  retry_until 200 bash -c "[ \$(podman logs t-ckpt | tail -n 1) -gt $((saved + 2)) ]" 2>/dev/null
  [ "$(podman logs t-ckpt | grep -c -x 1)" = 1 ]
  [ "$(podman logs t-ckpt | grep -c -x "$((saved + 1))")" = 1 ]

  # to a tarball, and restored from it as a new container
  run podman container checkpoint --export "$ENG_TMP/t-ckpt.tar.gz" t-ckpt
  assert_success
  saved=$(last_count t-ckpt)
  podman rm -f -t 0 t-ckpt >/dev/null
  run podman container restore --import "$ENG_TMP/t-ckpt.tar.gz" --name t-ckpt2
  assert_success
  state_is t-ckpt2 running
  retry_until 200 bash -c "[ \$(podman logs t-ckpt2 | tail -n 1) -gt $((saved + 2)) ]" 2>/dev/null
  # (whether the log came along in the tarball or not) no number twice, none restarted
  [ "$(podman logs t-ckpt2 | grep -c -x 1)" -le 1 ]
  [ "$(podman logs t-ckpt2 | grep -c -x "$((saved + 2))")" = 1 ]
  [ "$(podman logs t-ckpt2 | head -n 1)" -le $((saved + 1)) ]
  podman rm -f -t 0 t-ckpt2 >/dev/null
}

@test "capsa: NOTIFY_SOCKET passthrough (podman --sdnotify=container, systemd units) reaches the caller" {
  eng_require python3
  local b=$BATS_TEST_TMPDIR/bundle
  mkdir -p "$b"
  cp -a "$CAPSA_TEST_CACHE/rootfs" "$b/rootfs"
  (cd "$b" && "$CAPSA" spec)
  # busybox has no sd_notify tool: its logger sends one datagram to /dev/log, pointed at the socket
  jq '.process.terminal = false | del(.linux.resources) | .linux.cgroupsPath = "capsa-notify-" + $m
      | .process.args = ["sh", "-c", "test -S \"$NOTIFY_SOCKET\" && ln -s \"$NOTIFY_SOCKET\" /dev/log && logger READY=1"]' \
    --arg m "${BATS_TEST_TMPDIR##*/}" "$b/config.json" >"$b/c.json"
  mv "$b/c.json" "$b/config.json"
  run timeout 30 python3 -c '
import os, socket, subprocess, sys
capsa, d = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(d + "/notify.sock")
s.settimeout(10)
env = dict(os.environ, NOTIFY_SOCKET=d + "/notify.sock")
r = subprocess.run([capsa, "--root", d + "/state", "run", "--bundle", d + "/bundle", "notify"],
                   env=env, stdin=subprocess.DEVNULL)
print("status", r.returncode)
print(s.recv(4096).decode())' "$CAPSA" "$BATS_TEST_TMPDIR"
  assert_success
  assert_line "status 0"
  assert_output --regexp 'READY=1$'
}

@test "podman: run --uidmap/--gidmap runs the workload as root of a user namespace" {
  run podman run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map' </dev/null
  assert_success
  assert_line --regexp '^uid=0\(root\) gid=0\(root\)'
  assert_line --regexp '^ *0 +100000 +65536$'
  # a detached one: exec joins its user namespace
  run podman run -d --name userns-d --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sleep 1000 </dev/null
  assert_success
  run podman exec userns-d sh -c 'id -u; cat /proc/self/uid_map' </dev/null
  assert_success
  assert_line 0
  assert_line --regexp '^ *0 +100000 +65536$'
  # removed unchecked: podman 4.3 itself fails stop+rm or rm -f of a user namespace container
  # here now and then, with runc as well (measured: runc 4 of 15 stop+rm, capsa 5 of 15 rm -f):
  # "unlinkat .../userdata/shm: device or resource busy"; the suite's teardown removes the rest
  podman rm -f -t 0 userns-d >/dev/null 2>&1 || true
}

@test "podman: run --userns=auto runs the workload in a user namespace from the subuid ranges" {
  # podman takes auto user namespaces from the "containers" user's /etc/subuid and /etc/subgid
  # ranges; the jail sees a private copy of /etc (an overlay), the host's /etc is never written
  jail_etc
  in_jail sh -c 'echo containers:300000:200000 >>/etc/subuid && echo containers:300000:200000 >>/etc/subgid'
  run podman run --rm --userns=auto "$IMG" sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map' </dev/null
  in_jail sed -i '/^containers:300000:200000$/d' /etc/subuid /etc/subgid
  assert_success
  assert_line --regexp '^uid=0\(root\) gid=0\(root\)'
  # the uid and gid maps: container 0 is a host id from the range, none maps the host's root
  assert_line --regexp '^ *0 +[3-4][0-9]{5} +[0-9]+$'
  refute_line --regexp '^ *0 +0 '
}

@test "podman: a volume with :idmap under --userns=auto shows the host's owners; new files are the host's root's" {
  jail_etc
  in_jail sh -c 'echo containers:300000:200000 >>/etc/subuid && echo containers:300000:200000 >>/etc/subgid'
  # (a directory the user namespace's root can reach: the test's tmpdir is 0700)
  local vol
  vol=$(mktemp -d /tmp/capsa-idmap.XXXXXX)
  chmod 755 "$vol"
  echo data >"$vol/f"
  chown 1000:1000 "$vol/f"
  # capsa mounts the volume idmapped with the container's mappings (mounts[].options idmap)
  run podman run --rm --userns=auto -v "$vol:/data:idmap" "$IMG" \
    sh -c 'stat -c "%u %g" /data/f; cat /proc/self/uid_map; echo new >/data/g' </dev/null
  local idmapped=("${lines[@]}") st=$status
  # without idmap the same file is nobody's in the container (host 1000 is not in its range)
  run podman run --rm --userns=auto -v "$vol:/data" "$IMG" stat -c "%u %g" /data/f </dev/null
  in_jail sed -i '/^containers:300000:200000$/d' /etc/subuid /etc/subgid
  local g
  g=$(stat -c '%u %g' "$vol/g" 2>&1 || true)
  rm -rf "$vol"
  [ "$st" = 0 ] || fail "idmap run: status $st: ${idmapped[*]}"
  assert_success
  assert_output "65534 65534"
  [ "${idmapped[0]}" = "1000 1000" ] || fail "owner through the idmapped volume: ${idmapped[*]}"
  [[ "${idmapped[1]}" =~ ^\ *0\ +[3-4][0-9]{5}\ + ]] || fail "not in an auto user namespace: ${idmapped[*]}"
  [ "$g" = "0 0" ] || fail "new file's owner on the host: $g"
}

@test "podman: run --group-add keep-groups keeps the caller's supplementary groups" {
  # podman (and conmon, and capsa) run with supplementary groups 4242 and 4343; the annotation
  # run.oci.keep_original_groups=1 that keep-groups sets makes the workload keep them
  run in_jail setpriv --groups 4242,4343 podman --runtime "$CAPSA" run --rm --cgroup-parent "$PODMAN_CGROUP_PARENT" \
    --group-add keep-groups "$IMG" sh -c 'id -G; grep ^Groups: /proc/self/status' </dev/null
  assert_success
  assert_line --regexp '^Groups:[[:space:]]+4242 4343 ?$'
  # without it the caller's groups are dropped
  run in_jail setpriv --groups 4242,4343 podman --runtime "$CAPSA" run --rm --cgroup-parent "$PODMAN_CGROUP_PARENT" \
    "$IMG" grep ^Groups: /proc/self/status </dev/null
  assert_success
  refute_output --partial 4242
}

@test "podman rootless: run, exec, stop and rm as an unprivileged user" {
  eng_require newuidmap newgidmap useradd setpriv
  rootless_setup
  run rootless_podman import "$ENG_TMP/rootless/rootfs.tar" "$IMG"
  assert_success
  run rootless_podman run --rm "$IMG" sh -c 'id; cat /proc/self/uid_map' </dev/null
  assert_success
  assert_line --regexp '^uid=0\(root\) gid=0\(root\)'
  assert_line --regexp "^ *0 +$RL_UID +1\$"
  run rootless_podman run -d --name rl "$IMG" sleep 1000 </dev/null
  assert_success
  run rootless_podman exec rl sh -c 'echo exec as $(id -u)' </dev/null
  assert_success
  assert_output "exec as 0"
  run rootless_podman stop -t 1 rl
  assert_success
  run rootless_podman inspect --format '{{.State.Status}}' rl
  assert_output exited
  run rootless_podman rm rl
  assert_success
  run rootless_podman ps -a -q
  assert_output ""
  # capsa kept its state under the user's XDG_RUNTIME_DIR
  [ -d "$ENG_TMP/rootless/run/capsa" ]
}
