# engines-helpers.bash: shared setup of the podman and containerd suites: a private jail for the
# engines, a busybox image, and cleanup that leaves no container, cgroup, mount or process behind.
#
# Everything an engine creates lives under $ENG_TMP (a directory under /tmp made per suite). The
# engines run inside one long-lived "jail" (ENG_JAIL_SCRIPT), a process in private mount and
# cgroup namespaces whose cgroup mounts are rooted at the suite's own cgroups; every engine command
# enters it with nsenter. So the engines' cgroups land below the suite's cgroups, their overlay
# mounts never reach the host's mount table, and stopping the jail drops any mount that remains.

load helpers

# The suites manage their own state; helpers.bash's per-test capsa leak checks do not apply.
# setup_file cannot skip a whole file with this bats: it sets ENG_SKIP and every test skips.
setup () {
  if [ -n "${ENG_SKIP:-}" ]; then skip "$ENG_SKIP"; fi
}
teardown () { :; }

# Seconds any single engine command may take before the test calls it hung.
ENG_TIMEOUT=${ENG_TIMEOUT:-60}

# eng_missing CMD...: the reason to skip when a command is not installed (empty when all are).
eng_missing () {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || {
      echo "$c is not installed (contrib/install-deps.sh installs it)"
      return 0
    }
  done
  [ -x "$CAPSA" ] || echo "CAPSA=$CAPSA is not an executable"
}

# eng_require CMD...: skip the test unless every command is installed (with the reason).
eng_require () {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || skip "$c is not installed (contrib/install-deps.sh installs it)"
  done
}

# ENG_JAIL_SCRIPT: the jail holder: in new mount and cgroup namespaces (mounts private to them),
# mount each cgroup hierarchy afresh over its old mount point; a mount made inside a cgroup
# namespace is rooted at the namespace's cgroup, i.e. at this suite's own cgroup. Then sleep.
ENG_JAIL_SCRIPT='
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
  [ -d "$d" ] || continue
  set -- $(awk -v m="$d" "\$2 == m { print \$3, \$4 }" /proc/self/mounts)
  [ $# -eq 2 ] || continue
  case $1 in
  cgroup)
    opts=$(echo "$2" | tr , "\n" | grep -v -x -E "rw|ro|relatime|nosuid|nodev|noexec" | paste -sd, -)
    umount -l "$d" && mount -t cgroup -o "$opts" cgroup "$d" ;;
  cgroup2) umount -l "$d" && mount -t cgroup2 cgroup2 "$d" ;;
  esac
done
exec sleep infinity'

# eng_setup_jail: start the jail holder ($ENG_JAIL is its PID), with a private view of /var/lib.
eng_setup_jail () {
  local i
  unshare -C -m --propagation private sh -c "$ENG_JAIL_SCRIPT" </dev/null >/dev/null 2>&1 3>&- &
  ENG_JAIL=$!
  echo "$ENG_JAIL" >"$ENG_TMP/jail.pid"
  # wait until the holder runs in its own mount namespace
  for ((i = 0; i < 200; i++)); do
    [ "$(readlink "/proc/$ENG_JAIL/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] \
      && [ "$(cat "/proc/$ENG_JAIL/comm" 2>/dev/null)" = sleep ] && break
    sleep 0.02
  done
  [ "$(cat "/proc/$ENG_JAIL/comm" 2>/dev/null)" = sleep ] || return 1
  export ENG_JAIL
  # containers/image keeps a blob cache in /var/lib/containers whatever the configuration says
  eng_overlay_dir /var/lib
}

# eng_overlay_dir DIR: inside the jail, DIR shows the host's content but every change to it goes to
# an upper directory under $ENG_TMP (overlayfs). The host's DIR is never written, and no mount
# point has to be created on the host (which concurrent runs could remove under each other).
eng_overlay_dir () {
  local dir=$1 priv
  priv=$ENG_TMP/overlay$(echo "$dir" | tr / _)
  mkdir -p "$priv/upper" "$priv/work"
  nsenter -t "$ENG_JAIL" -m mount -t overlay overlay \
    -o "lowerdir=$dir,upperdir=$priv/upper,workdir=$priv/work" "$dir"
}

# in_jail CMD...: run CMD inside the jail (same working directory), bounded in time, with bats'
# TAP descriptor closed so nothing a daemon leaves running can hold the suite's output open.
in_jail () {
  timeout --foreground -k 5 "$ENG_TIMEOUT" nsenter -t "$ENG_JAIL" -m -C --wd="$PWD" "$@" 3>&-
}

# eng_cgroup_cleanup NAME: remove the cgroup NAME (and everything below it) from every hierarchy
# as the jail sees them, i.e. below the suite's own cgroups. Paused (v1 frozen) groups are thawed.
eng_cgroup_cleanup () {
  local name=$1
  [ -n "$name" ] || return 0
  nsenter -t "$ENG_JAIL" -m sh -c '
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
      d=$h$1
      [ -d "$d" ] || continue
      find "$d" -depth -type d 2>/dev/null | while read -r c; do
        [ -f "$c/freezer.state" ] && echo THAWED >"$c/freezer.state" 2>/dev/null
        [ -f "$c/cgroup.procs" ] && for p in $(cat "$c/cgroup.procs"); do kill -9 "$p" 2>/dev/null; done
        rmdir "$c" 2>/dev/null || { sleep 0.1; rmdir "$c" 2>/dev/null; }
      done
    done' sh "$name" || true
}

# eng_teardown_jail: stop the jail holder and whatever still runs in its mount namespace, then
# check no mount under $ENG_TMP is left in the host's mount table.
eng_teardown_jail () {
  [ -n "${ENG_JAIL:-}" ] || return 0
  local ns p i
  ns=$(readlink "/proc/$ENG_JAIL/ns/mnt" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] || continue
    [ "${p#/proc/}" = "$ENG_JAIL" ] && continue
    echo "# engines: process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-80)) left in the jail" >&3
    kill -9 "${p#/proc/}" 2>/dev/null
  done
  kill "$ENG_JAIL" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$ENG_JAIL" 2>/dev/null || break
    sleep 0.02
  done
  wait "$ENG_JAIL" 2>/dev/null || true
  if grep -q " $ENG_TMP" /proc/self/mounts; then
    echo "# engines: mounts left under $ENG_TMP" >&3
    return 1
  fi
}

# eng_busybox_rootfs: the shared busybox rootfs (helpers.bash) as a tar at $ENG_TMP/rootfs.tar.
eng_busybox_tar () {
  build_rootfs
  tar -C "$CAPSA_TEST_CACHE/rootfs" -cf "$ENG_TMP/rootfs.tar" .
}

# retry_until N CMD...: run CMD up to N times, 0.05 s apart, until it succeeds.
retry_until () {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do
    "$@" 2>/dev/null && return 0
    sleep 0.05
  done
  "$@"
}

# eng_oci_layout DIR REF: an OCI image layout at DIR holding $ENG_TMP/rootfs.tar (or $ENG_LAYER)
# as its one layer, tagged REF (org.opencontainers.image.ref.name); command `sh`, or the
# Entrypoint given as a JSON array in $ENG_ENTRYPOINT.
eng_oci_layout () {
  local dir=$1 ref=$2 tar=${ENG_LAYER:-$ENG_TMP/rootfs.tar} layer diffid config manifest
  mkdir -p "$dir/blobs/sha256"
  diffid=$(sha256sum "$tar" | cut -d' ' -f1)
  gzip -n -c "$tar" >"$dir/layer.tgz"
  layer=$(sha256sum "$dir/layer.tgz" | cut -d' ' -f1)
  mv "$dir/layer.tgz" "$dir/blobs/sha256/$layer"
  jq -cn --arg d "sha256:$diffid" --argjson e "${ENG_ENTRYPOINT:-null}" '{architecture: "amd64",
    os: "linux", config: ((if $e then {Entrypoint: $e} else {Cmd: ["sh"]} end)
      + {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}),
    rootfs: {type: "layers", diff_ids: [$d]}}' >"$dir/config.json"
  config=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/blobs/sha256/$config"
  jq -cn --arg c "sha256:$config" --argjson cs "$(stat -c %s "$dir/blobs/sha256/$config")" \
    --arg l "sha256:$layer" --argjson ls "$(stat -c %s "$dir/blobs/sha256/$layer")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]}' \
    >"$dir/manifest.json"
  manifest=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
  jq -cn --arg m "sha256:$manifest" --argjson ms "$(stat -c %s "$dir/manifest.json")" --arg r "$ref" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: $m, size: $ms, annotations: {"org.opencontainers.image.ref.name": $r},
      platform: {architecture: "amd64", os: "linux"}}]}' >"$dir/index.json"
  mv "$dir/manifest.json" "$dir/blobs/sha256/$manifest"
  echo '{"imageLayoutVersion": "1.0.0"}' >"$dir/oci-layout"
}
