#!/bin/bash
# run.sh: the cgroup v2 lane: boot a QEMU VM (TCG) with Debian's packaged kernel (extracted, not
# installed), the host's root shared read-only over virtio-9p under a tmpfs overlay, cgroup v2
# only and systemd as PID 1, run tests/cgroups.bats inside once per cgroup manager (cgroupfs,
# systemd), and report the counts. Exits non-zero when a test fails or the lane does not finish.
#
# Environment: CAPSA (binary under test; default ./capsa), CAPSA_VM_LANE_CACHE (kernel package
# cache, default /var/cache/capsa-vm-lane), CAPSA_VM_LANE_RESULTS (results dir, default
# ./cgroupv2-vm-results; emptied first), CAPSA_VM_LANE_MANAGERS (default "cgroupfs systemd"),
# CAPSA_VM_LANE_SUITES (default "cgroups"), CAPSA_VM_LANE_FILTER (a bats --filter regex; the
# default picks the tests that depend on the cgroup version or manager; empty: all tests),
# CAPSA_VM_LANE_TIMEOUT (seconds for the whole VM run, default 1200), CAPSA_VM_LANE_SMP (2),
# CAPSA_VM_LANE_MEM (2G), CAPSA_VM_LANE_LSM (the guest's major LSM: apparmor, the kernel's
# default, or selinux; see below), CAPSA_VM_LANE_SELINUX_MODE (permissive, the default, or
# enforcing: an experiment, see below), CAPSA_VM_LANE_APPEND (more kernel arguments).
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
capsa=$(realpath "${CAPSA:-./capsa}")
cache=${CAPSA_VM_LANE_CACHE:-/var/cache/capsa-vm-lane}
results=${CAPSA_VM_LANE_RESULTS:-$PWD/cgroupv2-vm-results}
managers=${CAPSA_VM_LANE_MANAGERS:-cgroupfs systemd}
suites=${CAPSA_VM_LANE_SUITES:-cgroups}
# The tests whose outcome depends on the host's cgroup version or on the manager (the others, e.g.
# argument validation, behave the same everywhere and cost the lane minutes under TCG). Set
# CAPSA_VM_LANE_FILTER= (empty) to run every test.
filter=${CAPSA_VM_LANE_FILTER-'^(pause freezes|kill --all|linux\.resources land|blockIO|devices:|update changes|update is seen|events --stats|OOM|a 512 KiB|a memory limit too low|no cgroup is left|systemd:)'}
timeout_s=${CAPSA_VM_LANE_TIMEOUT:-1200}
lsm=${CAPSA_VM_LANE_LSM:-apparmor}

die () {
  echo "cgroupv2-vm: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (the guest sees the host's root with its owners)"
[ -x "$capsa" ] || die "capsa binary not found at $capsa (set CAPSA)"
for t in qemu-system-x86_64 dpkg-deb apt-get cpio modinfo depmod xz bats jq; do
  command -v "$t" >/dev/null || die "$t missing (contrib/install-deps.sh installs it)"
done
[[ "$(ldd /bin/busybox 2>&1 || true)" == *"not a dynamic"* ]] || die "/bin/busybox is not static (apt-get install busybox-static)"
[ -x /lib/systemd/systemd ] || die "no /lib/systemd/systemd on this host (apt-get install systemd)"
# The guest's LSM.  Debian 6.1's CONFIG_LSM lists apparmor before selinux and both are "major"
# LSMs, of which the kernel enables only the first: `security=selinux` picks SELinux instead
# (`selinux=1` is not needed: SECURITY_SELINUX_BOOTPARAM is off in that build, so the kernel
# would not know the argument and hand it to systemd as an environment variable).  systemd
# loads the policy from /etc/selinux/<SELINUXTYPE> of the host's root (selinux-policy-default).
# The host's files carry no SELinux labels (its kernel runs no LSM, and the lane does not
# relabel a filesystem it shares read-only), so the guest runs permissive: `enforcing=0`
# overrides whatever /etc/selinux/config says (libselinux honours the kernel argument when
# systemd loads the policy).  Everything is labelled and every label is checked; denials are
# logged, not enforced.
lsm_args=
case $lsm in
apparmor) ;;
selinux)
  [ -s /etc/selinux/config ] && [ -n "$(ls /etc/selinux/default/policy/policy.* 2>/dev/null)" ] \
    || die "no SELinux policy on this host (apt-get install selinux-policy-default)"
  case ${CAPSA_VM_LANE_SELINUX_MODE:-permissive} in
  permissive) lsm_args="security=selinux enforcing=0" ;;
  enforcing) lsm_args="security=selinux enforcing=1" ;;
  *) die "CAPSA_VM_LANE_SELINUX_MODE: permissive or enforcing" ;;
  esac
  ;;
*) die "CAPSA_VM_LANE_LSM: apparmor or selinux, not '$lsm'" ;;
esac

# --- the kernel: Debian's generic linux-image-6.1.*-amd64, downloaded once, extracted ----------
mkdir -p "$cache"
deb=$(ls "$cache"/linux-image-6.1.*-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\./ {print $2; exit}')
  [ -n "$pkg" ] || die "apt-cache knows no linux-image-6.1.*-amd64 behind linux-image-amd64 (apt-get update?)"
  echo "cgroupv2-vm: downloading $pkg into $cache"
  (cd "$cache" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed') || true
  deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | tail -n 1 || true)
  [ -n "$deb" ] || die "apt-get download $pkg failed"
fi
kdir=$cache/$(basename "$deb" .deb)
if [ ! -e "$kdir/.done" ]; then
  rm -rf "$kdir"
  mkdir -p "$kdir"
  dpkg-deb -x "$deb" "$kdir/x"
  vmlinuz=$(ls "$kdir"/x/boot/vmlinuz-*)
  # The uncompressed ELF boots through PVH, skipping the decompressor (seconds under TCG): find
  # the XZ payload by its magic and unpack it (xz complains about the bytes after it).
  for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$kdir/vmlinux" 2>/dev/null || true
    [ "$(head -c 4 "$kdir/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] && break
    rm -f "$kdir/vmlinux"
  done
  [ -s "$kdir/vmlinux" ] || die "no XZ-compressed ELF kernel found in $vmlinuz"
  # modules.dep for modprobe in the guest (the package leaves it to its postinst).
  depmod -b "$kdir/x" "$(basename "$(ls -d "$kdir"/x/lib/modules/*)")"
  touch "$kdir/.done"
fi
kver=$(basename "$(ls -d "$kdir"/x/lib/modules/*)")
moddir=$kdir/x/lib/modules/$kver

# --- results dir and the initramfs ---------------------------------------------------------------
mkdir -p "$results"
if [ -n "$(ls -A "$results")" ]; then
  [ -e "$results/.capsa-vm-lane" ] || die "$results is not empty and holds no earlier lane results: not emptying it"
  rm -rf "${results:?}"/* "$results/.work"
fi
touch "$results/.capsa-vm-lane"
work=$results/.work
mkdir -p "$work/stage"
stage=$work/stage
mkdir -p "$stage"/{bin,dev,proc,sys,modules}
cp /bin/busybox "$stage/bin/busybox"
for a in sh mount umount insmod mkdir cat ln switch_root poweroff sleep echo; do
  ln -s busybox "$stage/bin/$a"
done
cp "$srcdir/tests/cgroupv2-vm/init" "$stage/init"
chmod 755 "$stage/init"
# Modules in dependency order (modinfo on the extracted tree), each once.
add_mod () {
  local f d
  grep -qx "$1" "$stage/modules/load" 2>/dev/null && return 0
  f=$(find "$moddir/kernel" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" | head -n 1)
  [ -n "$f" ] || die "module $1 not found under $moddir"
  for d in $(modinfo -F depends "$f" | tr ',' ' '); do
    add_mod "$d"
  done
  cp "$f" "$stage/modules/$1.ko"
  echo "$1" >>"$stage/modules/load"
}
for m in virtio_mmio 9pnet_virtio 9p overlay; do
  add_mod "$m"
done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$work/initramfs"

# The suites' busybox rootfs fixture, built here with helpers.bash's own build_rootfs (hundreds of
# execs: minutes under TCG); the guest copies it into its scratch tmpfs.
(
  bats_require_minimum_version () { :; }
  load () { :; }
  CAPSA_TEST_CACHE=$results/cache BUSYBOX=/bin/busybox BATS_TEST_DIRNAME=$srcdir/tests
  . "$srcdir/tests/helpers.bash"
  build_rootfs
) || die "building the rootfs fixture failed"

# Units the lane has no use for (the target pulls only sysinit.target and dbus.socket).
mask="systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service
  systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-networkd.service
  systemd-timesyncd.service systemd-random-seed.service systemd-journal-flush.service
  systemd-update-utmp.service systemd-firstboot.service systemd-machine-id-commit.service
  systemd-binfmt.service systemd-pstore.service systemd-tmpfiles-setup.service
  systemd-tmpfiles-clean.timer apparmor.service e2scrub_reap.service
  ldconfig.service cryptsetup.target remote-fs.target swap.target"
cat >"$results/lane.env" <<EOF
LANE_SRC='$srcdir'
LANE_CAPSA='$capsa'
LANE_MANAGERS='$managers'
LANE_SUITES='$suites'
LANE_FILTER='$filter'
LANE_SCRIPT='${CAPSA_VM_LANE_SCRIPT:+$(realpath "${CAPSA_VM_LANE_SCRIPT:-}")}'
LANE_MASK='$(echo $mask)'
LANE_MODULES='$moddir'
EOF

# Under TCG the guest clock is the host's: telling the kernel its TSC rate avoids a rare hang
# in its calibration (VM-NOTES.md).
khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)
cmdline="console=ttyS0 panic=-1 rdinit=/init cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1
  systemd.unit=capsa-lane.target systemd.show_status=1 systemd.log_level=info
  systemd.log_target=console cryptomgr.notests rodata=off
  ${khz:+tsc_early_khz=$khz} $lsm_args ${CAPSA_VM_LANE_APPEND:-}"

echo "cgroupv2-vm: kernel $kver ($lsm), $managers x $suites, results in $results"
start=$(date +%s)
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 -M microvm -accel tcg -cpu "${CAPSA_VM_LANE_CPU:-max}" \
  -smp "${CAPSA_VM_LANE_SMP:-2}" -m "${CAPSA_VM_LANE_MEM:-2G}" \
  -nodefaults -no-user-config -display none -monitor none -no-reboot \
  -kernel "$kdir/vmlinux" -initrd "$work/initramfs" -append "$(echo $cmdline)" \
  -serial "file:$results/console.log" \
  -fsdev local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap \
  -device virtio-9p-device,fsdev=hostroot,mount_tag=hostroot \
  -fsdev local,id=results,path="$results",security_model=passthrough,multidevs=remap \
  -device virtio-9p-device,fsdev=results,mount_tag=results \
  </dev/null >"$results/qemu.log" 2>&1
qrc=$?
set -e
elapsed=$(($(date +%s) - start))
rm -rf "$work" "$results/cache"

# --- report --------------------------------------------------------------------------------------
status=0
problems=()
[ "$qrc" -ne 124 ] || problems+=("the VM did not finish within ${timeout_s} s")
[ -e "$results/done" ] || problems+=("the guest did not finish its run (QEMU exit status $qrc)")
tp=0 tf=0 ts=0
for mgr in $managers; do
  for suite in $suites; do
    tap=$results/$mgr-$suite.tap
    if [ ! -e "$tap" ]; then
      problems+=("no results for $suite with the $mgr manager")
      continue
    fi
    grep -q -E '^1\.\.[0-9]+' "$tap" || problems+=("$suite with the $mgr manager: bats did not run")
    p=$(grep -E '^ok ' "$tap" | grep -c -v -E '# (skip|SKIP)' || true)
    s=$(grep -c -E '^ok .*# (skip|SKIP)' "$tap" || true)
    f=$(grep -c -E '^not ok ' "$tap" || true)
    plan=$(grep -m1 -o -E '^1\.\.[0-9]+' "$tap" | cut -d. -f3 || true)
    [ -z "$plan" ] || [ $((p + s + f)) -eq "$plan" ] \
      || problems+=("$suite with the $mgr manager: $((p + s + f)) results for a plan of $plan")
    printf 'cgroupv2-vm: %s (%s manager): %d passed, %d failed, %d skipped\n' "$suite" "$mgr" "$p" "$f" "$s"
    grep -E '^(not ok |ok .*# (skip|SKIP))' "$tap" | sed 's/^/  /' || true
    tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
  done
done
if [ -s "$results/scopes-left" ]; then
  problems+=("systemd units left after the suites: $(tr '\n' ' ' <"$results/scopes-left")")
fi
if [ "$tf" -gt 0 ] || [ ${#problems[@]} -gt 0 ]; then
  status=1
  for p in "${problems[@]}"; do echo "cgroupv2-vm: $p"; done
  echo "cgroupv2-vm: last lines of the console ($results/console.log):"
  tail -n 40 "$results/console.log" 2>/dev/null | sed 's/^/  /'
fi
echo "cgroupv2-vm: $tp passed, $tf failed, $ts skipped in ${elapsed} s (VM wall time)"
exit $status
