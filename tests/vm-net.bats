#!/usr/bin/env bats
# vm-net.bats: VM mode networking (sandbox/net.c, src/agent/net.c): real VMs, real network
# namespaces the test makes: a "pod" namespace (the container's) and a "peer" one, joined by a
# veth pair with addresses only inside them.  Every name starts with "net" and carries a number of
# the test's own (other suites run at the same time).

load helpers

setup () {
  capsa_setup
  command -v ip >/dev/null || skip "ip missing (apt-get install iproute2)"
  require_vm
  export CAPSA_VM_SNAPSHOT_DIR=$CAPSA_TEST_CACHE/vm-net-snapshots
  CAPSA_TEST_TIMEOUT=${CAPSA_VM_TEST_TIMEOUT:-90}
  # names of this test: netns, veths
  N=$((RANDOM % 90000 + 10000))
  POD=netpod$N
  PEER=netpeer$N
  cfg '.annotations["run.oci.handler"] = "vm" | .annotations["run.oci.vm.accel"] = "tcg"
    | .process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
}

teardown () {
  capsa_teardown
  ip netns del "$POD" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
}

# pod_net: the pod and peer namespaces with the veth pair net${N}a (pod, 10.77.N.2, fd77::2,
# MAC 02:00:00:77:00:02) and net${N}b (peer, 10.77.N.1, fd77::1); the pod's default routes go
# to the peer; the container joins the pod namespace.
pod_net () {
  ip netns add "$POD"
  ip netns add "$PEER"
  ip -n "$PEER" link set lo up
  ip link add "net${N}a" netns "$POD" address 02:00:00:77:00:02 type veth peer name "net${N}b" netns "$PEER"
  ip -n "$POD" addr add 10.77.7.2/24 dev "net${N}a"
  ip -n "$POD" addr add fd77::2/64 dev "net${N}a" nodad
  ip -n "$POD" link set "net${N}a" up
  ip -n "$POD" route add default via 10.77.7.1
  ip -n "$POD" -6 route add default via fd77::1
  ip -n "$PEER" addr add 10.77.7.1/24 dev "net${N}b"
  ip -n "$PEER" addr add fd77::1/64 dev "net${N}b" nodad
  ip -n "$PEER" link set "net${N}b" up
  cfg '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
    --arg p "/run/netns/$POD"
}

@test "vm-net: the guest has the veth's name, MAC, addresses and routes; TCP (v4, v6) and ping both ways" {
  pod_net
  # A server in the peer namespace for the guest's client, one answer per connection.
  ip netns exec "$PEER" timeout 60 busybox nc -l -p 9000 >"$BATS_TEST_TMPDIR/v4" </dev/null &
  ip netns exec "$PEER" timeout 60 busybox nc -l -p 9006 >"$BATS_TEST_TMPDIR/v6" </dev/null &
  sleep 0.2
  cfg '.process.args = ["sh", "-c", $s]' --arg s '
    ip addr show dev net'$N'a; ip route; ip -6 route show default
    ping -c 1 -W 5 10.77.7.1 >/dev/null && echo ping4 ok
    ping -c 1 -W 5 fd77::1 >/dev/null && echo ping6 ok
    echo from-guest-v4 | nc -w 5 10.77.7.1 9000
    echo from-guest-v6 | nc -w 5 fd77::1 9006
    echo from-guest-server | nc -l -p 8080'
  capsa_bg run -d -b "$BUNDLE" ctr
  # The guest answers ping from the peer (retried while it boots; asked before its server below
  # answers, after which its workload ends and the VM stops).
  local got= i pinged=
  for i in $(seq 60); do
    ip netns exec "$PEER" busybox ping -c 1 -W 1 10.77.7.2 >/dev/null 2>&1 && { pinged=1; break; }
    sleep 0.2
  done
  [ -n "$pinged" ] || fail "the guest does not answer ping from the peer"
  # The guest's server, from the peer: retried until the guest listens.
  for i in $(seq 100); do
    got=$(echo from-peer | ip netns exec "$PEER" timeout 3 busybox nc 10.77.7.2 8080 2>/dev/null || true)
    [ -z "$got" ] || break
    sleep 0.2
  done
  assert_equal "$got" from-guest-server
  wait_status ctr stopped
  output=$(cat "$OUT")
  grep -q "link/ether 02:00:00:77:00:02" <<<"$output" || fail "no veth MAC in: $output"
  grep -q "inet 10.77.7.2/24" <<<"$output" || fail "no IPv4 address in: $output"
  grep -q "inet6 fd77::2/64" <<<"$output" || fail "no IPv6 address in: $output"
  grep -q "default via 10.77.7.1 dev net${N}a" <<<"$output" || fail "no IPv4 default route in: $output"
  grep -q "default via fd77::1 dev net${N}a" <<<"$output" || fail "no IPv6 default route in: $output"
  grep -qx "ping4 ok" <<<"$output" || fail "ping from the guest (IPv4) failed: $output"
  grep -qx "ping6 ok" <<<"$output" || fail "ping from the guest (IPv6) failed: $output"
  grep -qx "from-peer" <<<"$output" || fail "the guest's server did not get the peer's data: $output"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/v4")" from-guest-v4
  assert_equal "$(cat "$BATS_TEST_TMPDIR/v6")" from-guest-v6
  capsa delete ctr
  # The redirects went with the VM: the veth is as the test made it.
  ! tc -n "$POD" qdisc show dev "net${N}a" | grep -q ingress || fail "ingress qdisc left: $(tc -n "$POD" qdisc show dev "net${N}a")"
  ! ip -n "$POD" link show | grep -q capsatap || fail "tap left: $(ip -n "$POD" link show)"
  assert_no_leftovers ctr
}

@test "vm-net: two NICs, one with MTU 1400; names kept" {
  pod_net
  ip link add "net${N}c" netns "$POD" mtu 1400 address 02:00:00:77:01:02 type veth peer name "net${N}d" netns "$PEER"
  ip -n "$POD" addr add 10.78.7.2/24 dev "net${N}c"
  ip -n "$POD" link set "net${N}c" up
  ip -n "$PEER" link set "net${N}d" mtu 1400
  ip -n "$PEER" addr add 10.78.7.1/24 dev "net${N}d"
  ip -n "$PEER" link set "net${N}d" up
  ip netns exec "$PEER" timeout 60 busybox nc -l -p 9001 >"$BATS_TEST_TMPDIR/second" </dev/null &
  sleep 0.2
  cfg '.process.args = ["sh", "-c", $s]' --arg s '
    ip -o link show dev net'$N'a; ip -o link show dev net'$N'c
    echo via-second | nc -w 5 10.78.7.1 9001'
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "status $status: $stderr"
  grep -q "net${N}a: .* mtu 1500 .*link/ether 02:00:00:77:00:02" <<<"$output" || fail "first NIC: $output"
  grep -q "net${N}c: .* mtu 1400 .*link/ether 02:00:00:77:01:02" <<<"$output" || fail "second NIC: $output"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/second")" via-second
}

@test "vm-net: a VM started from a boot snapshot gets its own container's MAC and address" {
  export CAPSA_VM_SNAPSHOT_DIR=$BATS_TEST_TMPDIR/snapshots
  pod_net
  cfg '.process.args = ["ip", "addr", "show", "dev", $d]' --arg d "net${N}a"
  run_bg --debug run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "status $status: $stderr"
  [[ "$stderr" == *"saving this VM's boot"* ]] || fail "the first run did not save its boot: $stderr"
  grep -q "link/ether 02:00:00:77:00:02" <<<"$output" || fail "first run: $output"
  # Another MAC and address in the same namespace: the restored VM's NIC takes them.
  ip -n "$POD" link set "net${N}a" down
  ip -n "$POD" link set "net${N}a" address 02:00:00:77:00:42
  ip -n "$POD" addr flush dev "net${N}a"
  ip -n "$POD" addr add 10.77.7.42/24 dev "net${N}a"
  ip -n "$POD" link set "net${N}a" up
  ip netns exec "$PEER" timeout 60 busybox nc -l -p 9002 >"$BATS_TEST_TMPDIR/restored" </dev/null &
  sleep 0.2
  cfg '.process.args = ["sh", "-c", $s]' --arg s 'ip addr show dev net'$N'a; echo restored | nc -w 5 10.77.7.1 9002'
  run_bg --debug run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "status $status: $stderr"
  [[ "$stderr" == *"starting from"* ]] || fail "the second run did not start from the snapshot: $stderr"
  grep -q "link/ether 02:00:00:77:00:42" <<<"$output" || fail "restored VM's MAC: $output"
  grep -q "inet 10.77.7.42/24" <<<"$output" || fail "restored VM's address: $output"
  # The peer learnt the new MAC: frames with it reach the guest (QEMU filters by the NIC's MAC).
  assert_equal "$(cat "$BATS_TEST_TMPDIR/restored")" restored
}

@test "vm-net: without a network namespace, lo is up and user-mode networking reaches the host's 127.0.0.1" {
  command -v python3 >/dev/null || skip "python3 missing"
  cfg '.linux.namespaces |= map(select(.type != "network"))'
  # A server on the host's loopback (a port of this test's own): slirp's gateway 10.0.2.2 is it.
  local port=$((20000 + N % 20000))
  python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
c.settimeout(10)
data = c.recv(100)
c.sendall(b"host-answer\n")
open(sys.argv[2], "wb").write(data)
' "$port" "$BATS_TEST_TMPDIR/host" &
  local srv=$!
  sleep 0.3
  cfg '.process.args = ["sh", "-c", $s]' --arg s '
    ip -o link show dev lo | grep -q "UP" && echo lo up
    ip -o addr show dev lo | grep -q "127.0.0.1/8" && echo lo addr
    echo from-slirp-guest | nc -w 5 10.0.2.2 '$port
  run_bg run -b "$BUNDLE" ctr
  wait "$srv" || true
  [ "$status" -eq 0 ] || fail "status $status: $stderr"
  grep -qx "lo up" <<<"$output" || fail "lo is not up: $output"
  grep -qx "lo addr" <<<"$output" || fail "lo has no 127.0.0.1: $output"
  grep -qx "host-answer" <<<"$output" || fail "no answer from the host's server: $output"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/host")" from-slirp-guest
}

@test "vm-net: lo is up in a VM whose namespace has no other interface" {
  # the server in the foreground (its output is the workload's), the client retried until it listens
  cfg '.process.args = ["sh", "-c", "ip -o link; (for i in $(seq 50); do echo on-lo | nc -w 3 127.0.0.1 7000 && exit 0; sleep 0.1; done) & nc -l -p 7000; wait"]'
  run_bg run -b "$BUNDLE" ctr
  [ "$status" -eq 0 ] || fail "status $status: $stderr"
  grep -q "lo: <LOOPBACK,UP" <<<"$output" || fail "lo is not up: $output"
  ! grep -q "eth0" <<<"$output" || fail "a NIC without an interface: $output"
  grep -qx "on-lo" <<<"$output" || fail "nothing over lo: $output"
}

@test "vm-net: an interface that cannot be connected (tun) fails create, naming it; nothing left" {
  pod_net
  ip -n "$POD" tuntap add mode tun name "net${N}t"
  ip -n "$POD" link set "net${N}t" up
  run_bg create -b "$BUNDLE" ctr
  [ "$status" -eq 1 ] || fail "status $status: $stderr"
  assert_error_line "$stderr"
  [[ "$stderr" == *"interface \"net${N}t\" (tun)"* ]] || fail "error: $stderr"
  ! tc -n "$POD" qdisc show dev "net${N}a" | grep -q ingress || fail "ingress qdisc left"
  ! ip -n "$POD" link show | grep -q capsatap || fail "tap left: $(ip -n "$POD" link show)"
  assert_no_leftovers ctr
}
