#!/bin/bash
# capsa: VM networking benchmark: TCP throughput and round-trip time between a peer network
# namespace and the workload, over the same veth, for VM mode (guest NIC: tap + tc redirects to
# the veth) against container mode, interleaved, median of N rounds.
# Usage: bench-net.sh CAPSA ASSETS_DIR [N [MBYTES]]   (run as root)
# Each round runs, per mode, one container whose workload is a busybox `nc -l` that swallows what
# it gets: the peer (python3) sends MBYTES MiB and waits for the workload to close (throughput),
# after ICMP round trips measured with busybox ping from the peer (the guest's or the
# container's kernel answers). Namespaces "netbn<pid>a/b" are this script's own.
set -euo pipefail
capsa=${1:?usage: bench-net.sh CAPSA ASSETS_DIR [N [MBYTES]]}
assets=${2:?usage: bench-net.sh CAPSA ASSETS_DIR [N [MBYTES]]}
n=${3:-5}
mbytes=${4:-32}
capsa=$(realpath "$capsa")
work=$(mktemp -d)
nsa=netbn$$a nsb=netbn$$b
trap 'rm -rf "$work"; ip netns del "$nsa" 2>/dev/null || true; ip netns del "$nsb" 2>/dev/null || true' EXIT

mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/tmp"
cp /bin/busybox "$work/bundle/rootfs/bin/"
for a in sh nc ip; do ln -s busybox "$work/bundle/rootfs/bin/$a"; done
(cd "$work/bundle" && "$capsa" spec)
ip netns add "$nsa"
ip netns add "$nsb"
ip link add nbn$$ netns "$nsa" type veth peer name nbnp$$ netns "$nsb"
ip -n "$nsa" addr add 10.98.0.2/24 dev nbn$$
ip -n "$nsa" link set nbn$$ up
ip -n "$nsa" link set lo up
ip -n "$nsb" addr add 10.98.0.1/24 dev nbnp$$
ip -n "$nsb" link set nbnp$$ up
jq --arg p "/run/netns/$nsa" '.process.terminal = false | del(.linux.resources)
    | .process.args = ["/bin/nc", "-l", "-p", "5001"]
    | .linux.cgroupsPath = "capsa-bench-net"
    | .linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
  "$work/bundle/config.json" >"$work/ctr.json"
jq '.annotations["run.oci.handler"] = "vm"' "$work/ctr.json" >"$work/vm.json"
export CAPSA_VM_SNAPSHOT_DIR=$work/snapshots CAPSA_VM_ASSETS=$assets

# The peer's side: connect (retrying while the workload starts), send, wait for the close; print
# MiB/s of the transfer from the first byte accepted to the workload's close.
cat >"$work/send.py" <<'PY'
import socket, sys, time
mb = int(sys.argv[1])
deadline = time.time() + 60
while True:
    try:
        s = socket.create_connection(("10.98.0.2", 5001), timeout=5)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
buf = b"\0" * (1 << 20)
t0 = time.time()
for _ in range(mb):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.settimeout(120)
while s.recv(65536):
    pass
print("%.1f" % (mb / (time.time() - t0)))
PY

# round MODE: one container of MODE; appends MiB/s to $work/MODE.mbs and the mean RTT (ms) to
# $work/MODE.rtt.
round () {
  local mode=$1 id=bn$RANDOM pid
  cp "$work/$mode.json" "$work/bundle/config.json"
  "$capsa" --root "$work/state" run -b "$work/bundle" "$id" >/dev/null 2>&1 </dev/null &
  pid=$!
  # the workload listens once the ping answers and the port is open (the sender retries)
  local i
  for ((i = 0; i < 600; i++)); do
    ip netns exec "$nsb" busybox ping -c 1 -W 1 10.98.0.2 >/dev/null 2>&1 && break
    sleep 0.05
  done
  ip netns exec "$nsb" busybox ping -c 20 -i 0.05 10.98.0.2 2>/dev/null \
    | awk -F/ '/min\/avg\/max/ {print $4}' >>"$work/$mode.rtt"
  ip netns exec "$nsb" python3 "$work/send.py" "$mbytes" >>"$work/$mode.mbs"
  wait "$pid" || true
  "$capsa" --root "$work/state" delete -f "$id" >/dev/null 2>&1 || true
}

median () { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

round vm # the first VM run saves the boot snapshot: not counted
: >"$work/vm.mbs" && : >"$work/vm.rtt" && : >"$work/ctr.mbs" && : >"$work/ctr.rtt"
for ((r = 0; r < n; r++)); do
  round vm
  round ctr
done
printf 'median of %d, %d MiB per transfer: VM mode %s MiB/s, RTT %s ms; container mode %s MiB/s, RTT %s ms\n' \
  "$n" "$mbytes" "$(median <"$work/vm.mbs")" "$(median <"$work/vm.rtt")" \
  "$(median <"$work/ctr.mbs")" "$(median <"$work/ctr.rtt")"
