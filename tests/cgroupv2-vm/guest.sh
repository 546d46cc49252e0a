#!/bin/bash
# guest.sh: inside the cgroup v2 lane's VM (systemd as PID 1, capsa-lane.service): run the cgroup
# suites once per cgroup manager and leave one TAP file per run in the results share (/lane).
set -u
exec </dev/null
. /lane/lane.env

echo "lane: kernel $(uname -r), /sys/fs/cgroup is $(stat -f -c %T /sys/fs/cgroup), PID 1 is $(cat /proc/1/comm)"
echo "lane: own cgroup $(cat /proc/self/cgroup)"
{
  echo "kernel=$(uname -r)"
  echo "cgroupfs=$(stat -f -c %T /sys/fs/cgroup)"
  echo "pid1=$(cat /proc/1/comm)"
  echo "systemd=$(systemctl --version | head -n 1)"
  echo "system_state=$(systemctl is-system-running 2>&1)"
  echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
  echo "lsm=$(cat /sys/kernel/security/lsm 2>&1)"
  echo "selinux=$(getenforce 2>&1) $(cat /proc/self/attr/current 2>&1 | tr -d '\0')"
} >/lane/guest-facts
# What one exec costs here (TCG, binaries over 9p): the suites' run time follows from it.
for c in /bin/true /bin/true "jq -n 1" "jq -n 1" "$LANE_CAPSA --version" "/bin/busybox true" "/bin/busybox true"; do
  t0=$(date +%s%N)
  $c >/dev/null 2>&1
  echo "exec: $c: $((($(date +%s%N) - t0) / 1000000)) ms"
done | tee -a /lane/guest-facts

# capsa resolves a relative cgroupsPath (the suites' form) under the caller's own cgroup. On a pure
# v2 host that cgroup holds the caller itself, so no controller can be enabled below it (no
# internal processes) and every resource write fails: the suites run from the root cgroup, which
# is exempt from that rule. (runc resolves relative paths under the parent of its own cgroup.)
echo $$ >/sys/fs/cgroup/cgroup.procs

# The suites' scratch space: a tmpfs of its own (the root is an overlay over 9p).
mkdir -p /var/tmp/capsa-lane
mount -t tmpfs -o mode=1777 capsa-lane /var/tmp/capsa-lane
export TMPDIR=/var/tmp/capsa-lane
cp -a /lane/cache "$TMPDIR/cache"
export CAPSA=$LANE_CAPSA
# Suites may leave to `make check` the tests that behave the same on the host (TCG is slow).
export CAPSA_IN_VM_LANE=1
export BATS_TEST_TIMEOUT=${LANE_TEST_TIMEOUT:-300}
export CAPSA_TEST_TIMEOUT=${LANE_CAPSA_TIMEOUT:-60}

# CAPSA_VM_LANE_SCRIPT (debugging): a script of the host's to run here first.
if [ -n "${LANE_SCRIPT:-}" ]; then
  echo "lane: == $LANE_SCRIPT"
  (cd "$TMPDIR" && bash -x "$LANE_SCRIPT") 2>&1 | tee /lane/script.out
fi

for mgr in $LANE_MANAGERS; do
  for suite in $LANE_SUITES; do
    start=$(date +%s)
    echo "lane: == $suite with the $mgr manager"
    CAPSA_TEST_CGROUP_MANAGER=$mgr CAPSA_TEST_CACHE=$TMPDIR/cache \
      bats --tap --timing ${LANE_FILTER:+--filter "$LANE_FILTER"} "$LANE_SRC/tests/$suite.bats" 2>&1 \
      | tee "/lane/$mgr-$suite.tap.part"
    mv "/lane/$mgr-$suite.tap.part" "/lane/$mgr-$suite.tap"
    echo "lane: $suite with the $mgr manager took $(($(date +%s) - start)) s"
  done
done
# What systemd still holds after the suites: transient scopes of the tests must all be gone.
systemctl list-units --all --no-legend --plain 'capsa*.scope' >/lane/scopes-left 2>&1
echo "lane: done"
echo done >/lane/done
