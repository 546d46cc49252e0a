# cri-env.bash: a private containerd with its CRI plugin, for tests/cri.bats and
# contrib/bench/cri-podstart.sh. Needs engines-helpers.bash loaded, ENG_TMP (an empty directory
# under /tmp) and CAPSA (absolute path) set.
#
# containerd runs inside the engines jail (private mount and cgroup namespaces, see
# engines-helpers.bash) and in a network namespace of its own whose `lo` is up (the CRI streaming
# server listens on 127.0.0.1; the CNI bridge and every pod's network live below it). In the jail,
# /run is a private tmpfs (the runc shim always puts its sockets under /run/containerd/s, the CRI
# plugin its network namespaces under /run/netns) and /var/lib an overlay (CNI results in
# /var/lib/cni). Its runtime handlers are those of contrib/containerd/config.toml, with
# /usr/local/bin/capsa{,-vm} replaced by links to $CAPSA, plus `runc` (Debian's) to compare
# against. The pause and busybox images are built here and imported into the k8s.io namespace.
#
# Variables set: CRI_SOCK (containerd's gRPC socket), CRI_GEN (the compiled CRI client modules),
# CRI_PID (the nsenter that runs containerd), CRI_CG (the pods' cgroup parent, below the suite's
# own cgroups), CRI_IMG (busybox image), CRI_PAUSE (the sandbox image).

CRI_DIR=${CRI_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
CRI_PY=${CRI_PY:-/usr/bin/python3}
CRI_IMG=capsa.test/busybox:cri
CRI_PAUSE=capsa.test/pause:cri

# cri_missing: the reason the CRI suite cannot run here (empty when it can).
cri_missing () {
  local m
  m=$(eng_missing containerd ctr containerd-shim-runc-v2 nsenter unshare ip cc jq)
  [ -n "$m" ] && { echo "$m"; return 0; }
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
    || { echo "the CNI plugins are not installed (containernetworking-plugins)"; return 0; }
  "$CRI_PY" -c 'import grpc, grpc_tools' 2>/dev/null \
    || { echo "$CRI_PY lacks grpc (python3-grpcio, python3-grpc-tools)"; return 0; }
  echo 'int main(void){return 0;}' | cc -static -x c -o /dev/null - 2>/dev/null \
    || echo "cc cannot link a static program (libc6-dev)"
}

# cri ARGS...: the CRI client against the suite's containerd.
cri () {
  CRI_GEN=$CRI_GEN timeout -k 5 "${ENG_TIMEOUT:-60}" "$CRI_PY" "$CRI_DIR/cri.py" "$CRI_SOCK" "$@" 3>&-
}

# cri_ctr ARGS...: ctr in the CRI plugin's namespace (k8s.io).
cri_ctr () {
  in_jail ctr --address "$CRI_SOCK" --namespace k8s.io "$@"
}

# cri_image_tar REF TAR ROOTFS_TAR ENTRYPOINT_JSON: an OCI archive holding one image REF.
cri_image_tar () {
  local ref=$1 tar=$2 rootfs=$3 entry=$4 d=$ENG_TMP/layout.$$
  rm -rf "$d"
  ENG_LAYER=$rootfs ENG_ENTRYPOINT=$entry eng_oci_layout "$d" "$ref"
  tar -C "$d" -cf "$tar" oci-layout index.json blobs
  rm -rf "$d"
}

# cri_images: the pause image (tests/cri/pause.c, static) and the busybox image, imported.
cri_images () {
  local p=$ENG_TMP/pause-root
  mkdir -p "$p"
  cc -static -O2 -o "$p/pause" "$CRI_DIR/pause.c" || return 1
  tar -C "$p" -cf "$ENG_TMP/pause-rootfs.tar" pause
  cri_image_tar "$CRI_PAUSE" "$ENG_TMP/pause.tar" "$ENG_TMP/pause-rootfs.tar" '["/pause"]'
  eng_busybox_tar
  cri_image_tar "$CRI_IMG" "$ENG_TMP/busybox.tar" "$ENG_TMP/rootfs.tar" null
  cri_ctr images import "$ENG_TMP/pause.tar" >/dev/null || return 1
  cri_ctr images import "$ENG_TMP/busybox.tar" >/dev/null || return 1
  cri_ctr images ls -q | grep -qx "$CRI_PAUSE" && cri_ctr images ls -q | grep -qx "$CRI_IMG"
}

# cri_config: containerd's config.toml: contrib/containerd/config.toml with the binaries at
# $ENG_TMP/bin, then what this machine needs (see ../shared/ENVIRONMENT.md).
cri_config () {
  local contrib=$CRI_DIR/../../contrib/containerd/config.toml
  mkdir -p "$ENG_TMP/bin" "$ENG_TMP/cni/net.d" "$ENG_TMP/cni/ipam" "$ENG_TMP/logs"
  ln -sf "$CAPSA" "$ENG_TMP/bin/capsa"
  ln -sf "$CAPSA" "$ENG_TMP/bin/capsa-vm"
  cat >"$ENG_TMP/cni/net.d/10-capsa-cri.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "capsa-cri",
  "plugins": [
    { "type": "bridge", "bridge": "capsacri0", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "$ENG_TMP/cni/ipam",
                "ranges": [[{ "subnet": "10.217.0.0/24" }]] } },
    { "type": "loopback" }
  ]
}
EOF
  {
    # top-level keys first: after a [table] header a key belongs to that table
    cat <<EOF
# --- tests/cri/cri-env.bash: a private containerd ---
version = 2
root = "$ENG_TMP/root"
state = "$ENG_TMP/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

# --- contrib/containerd/config.toml ---
EOF
    sed -e "s|/usr/local/bin/|$ENG_TMP/bin/|" -e '/^version *=/d' "$contrib"
    cat <<EOF

# --- tests/cri/cri-env.bash ---
[grpc]
  address = "$CRI_SOCK"

[ttrpc]
  address = "$ENG_TMP/containerd-ttrpc.sock"

[debug]
  address = "$ENG_TMP/debug.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_PAUSE"
  # this root lacks CAP_SYS_RESOURCE: never lower a container's oom_score_adj below containerd's
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ENG_TMP/cni/net.d"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    BinaryName = "$(command -v runc || echo /usr/sbin/runc)"
    Root = "/run/containerd/runc"
EOF
  } >"$ENG_TMP/config.toml"
}

# cri_start: the jail, containerd in it, and the images. The caller runs cri_stop afterwards.
cri_start () {
  export CRI_SOCK=$ENG_TMP/containerd.sock CRI_GEN=$ENG_TMP/gen
  export CRI_CG=/capsa-cri-${ENG_TMP##*.}
  mkdir -p "$CRI_GEN"
  sed 's/ *\[debug_redact = true\]//' "$CRI_DIR/api.proto" >"$CRI_GEN/api.proto"
  (cd "$CRI_GEN" && "$CRI_PY" -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. api.proto) \
    || return 1
  cri_config
  eng_setup_jail || return 1
  nsenter -t "$ENG_JAIL" -m mount -t tmpfs -o mode=755 tmpfs /run || return 1
  # containerd in a network namespace of its own, lo up; not under in_jail's time bound
  nsenter -t "$ENG_JAIL" -m -C unshare --net sh -c 'ip link set lo up && exec containerd --config "$1"' \
    sh "$ENG_TMP/config.toml" </dev/null >"$ENG_TMP/containerd.log" 2>&1 3>&- &
  export CRI_PID=$!
  echo "$CRI_PID" >"$ENG_TMP/containerd.pid"
  retry_until 300 cri version >/dev/null || { tail -20 "$ENG_TMP/containerd.log" >&2; return 1; }
  cri_images || { tail -20 "$ENG_TMP/containerd.log" >&2; return 1; }
}

# cri_stop: remove every pod, stop containerd by its PID, drop the jail and the pods' cgroups.
cri_stop () {
  [ -n "${ENG_TMP:-}" ] || return 0
  if [ -n "${CRI_PID:-}" ] && kill -0 "$CRI_PID" 2>/dev/null; then
    local p d
    for p in $(cri ps 2>/dev/null | jq -r '.containers[]?.podSandboxId' | sort -u); do
      cri stopp "$p" >/dev/null 2>&1
      cri rmp "$p" >/dev/null 2>&1
    done
    # nsenter execs unshare, which execs sh, which execs containerd: all one PID
    kill "$CRI_PID" 2>/dev/null
    for d in $(seq 100); do kill -0 "$CRI_PID" 2>/dev/null || break; sleep 0.05; done
    wait "$CRI_PID" 2>/dev/null || true
  fi
  if [ -n "${ENG_JAIL:-}" ]; then
    in_jail sh -c "grep -o ' $ENG_TMP/[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l" || true
    eng_cgroup_cleanup "${CRI_CG#/}"
    eng_teardown_jail || true
  fi
  rm -rf "$ENG_TMP"
}
