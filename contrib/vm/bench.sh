#!/bin/bash
# capsa: VM isolation mode launch-to-exit benchmark: `capsa run` of /bin/true in VM mode, against
# a bare QEMU microvm boot of the same kernel to an init that powers off at once (the floor) and
# against container mode, interleaved, median of N runs (wall clock, and CPU time: TCG is
# CPU-bound, and on a loaded machine the CPU time is the steadier of the two).
# Usage: bench.sh CAPSA ASSETS_DIR [N [DEBIAN_DIR]]   (run as root)
# ASSETS_DIR holds the project's vmlinux and initramfs; DEBIAN_DIR, when given, holds Debian's
# packaged kernel as contrib/vm/debian-kernel.sh prepares it (vmlinux, initramfs with modules),
# measured too (through .vm.kernel.path/.initrd), with its own floor.
# VM mode is measured twice: started from the boot snapshot (the default: the first run of a VM
# shape saves its boot, the others start from it; that first run is timed once, apart) and
# booting every time (annotation run.oci.vm.snapshot=false).
# VM networking: VM mode with one NIC (the container's network namespace holds a veth, made by
# this script in namespaces of its own, "netbench<pid>") against none (a namespace with only lo),
# both from the boot snapshot and booting.
set -euo pipefail
capsa=${1:?usage: bench.sh CAPSA ASSETS_DIR [N [DEBIAN_DIR]]}
assets=${2:?usage: bench.sh CAPSA ASSETS_DIR [N [DEBIAN_DIR]]}
n=${3:-10}
debian=${4:-}
work=$(mktemp -d)
nsa=netbench$$a nsb=netbench$$b
trap 'rm -rf "$work"; ip netns del "$nsa" 2>/dev/null || true; ip netns del "$nsb" 2>/dev/null || true' EXIT

# The floor: an initramfs whose /init leaves QEMU through isa-debug-exit at once.
cat >"$work/init.c" <<'C'
#include <sys/io.h>
int main (void) { ioperm (0xf4, 1, 1); outb (0, 0xf4); return 0; }
C
cc -static -O2 -o "$work/init" "$work/init.c"
(cd "$work" && mkdir -p floor && cp init floor/init && cd floor && echo init | cpio --quiet -o -H newc) >"$work/floor.cpio"
khz=$(awk -F: '/cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)
floor () {
  qemu-system-x86_64 -M microvm,acpi=off -accel tcg,tb-size=64 -cpu max -m 256M -nodefaults \
    -no-user-config -nographic -no-reboot -monitor none -serial none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$assets/vmlinux" -initrd "$work/floor.cpio" \
    -append "console=ttyS0 quiet panic=-1 noapictimer noreplace-smp cryptomgr.notests rodata=off tsc_early_khz=$khz rdinit=/init" \
    >/dev/null 2>&1 || true
}
# Debian's kernel as capsa boots it: ACPI on (it finds virtio-mmio devices only there) and its
# APIC timer (no noapictimer), a CPU without rep string copies, no zeroing of every allocation,
# its RAM in a memfd (no transparent huge pages); the floor loads no modules.
floor_debian () {
  qemu-system-x86_64 -M microvm,memory-backend=ram -object memory-backend-memfd,id=ram,size=256M \
    -accel tcg,tb-size=64 -cpu max,erms=off,model=1 -m 256M -nodefaults \
    -no-user-config -nographic -no-reboot -monitor none -serial none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$debian/vmlinux" -initrd "$work/floor.cpio" \
    -append "console=ttyS0 quiet panic=-1 noreplace-smp cryptomgr.notests rodata=off init_on_alloc=0 tsc_early_khz=$khz rdinit=/init" \
    >/dev/null 2>&1 || true
}

# A busybox bundle.
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev" \
  "$work/bundle/rootfs/sys" "$work/bundle/rootfs/tmp"
cp /bin/busybox "$work/bundle/rootfs/bin/"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && "$capsa" spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | del(.linux.resources)
    | .linux.cgroupsPath = "capsa-bench"' "$work/bundle/config.json" >"$work/c" && mv "$work/c" "$work/bundle/config.json"
jq '.annotations["run.oci.handler"] = "vm"' "$work/bundle/config.json" >"$work/vm.json"
cp "$work/bundle/config.json" "$work/ctr.json"
if [ -n "$debian" ]; then
  jq --arg k "$debian/vmlinux" --arg i "$debian/initramfs" '.vm = {kernel: {path: $k, initrd: $i}}' \
    "$work/vm.json" >"$work/deb.json"
  jq '.annotations["run.oci.vm.snapshot"] = "false"' "$work/deb.json" >"$work/debcold.json"
fi
jq '.annotations["run.oci.vm.snapshot"] = "false"' "$work/vm.json" >"$work/cold.json"
# One NIC: a veth pair between two namespaces of this script.
ip netns add "$nsa"
ip netns add "$nsb"
ip link add nbench$$ netns "$nsa" type veth peer name nbenchp$$ netns "$nsb"
ip -n "$nsa" addr add 10.99.0.2/24 dev nbench$$
ip -n "$nsa" link set nbench$$ up
ip -n "$nsb" link set nbenchp$$ up
jq --arg p "/run/netns/$nsa" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
  "$work/vm.json" >"$work/nic.json"
jq '.annotations["run.oci.vm.snapshot"] = "false"' "$work/nic.json" >"$work/niccold.json"
# Snapshots of this run only: the first VM run of each kernel saves its boot.
export CAPSA_VM_SNAPSHOT_DIR=$work/snapshots

run_mode () {
  cp "$work/$1.json" "$work/bundle/config.json"
  CAPSA_VM_ASSETS=$assets "$capsa" --root "$work/state" run -b "$work/bundle" bench$RANDOM >/dev/null 2>&1 </dev/null
}

# Launch to the workload's first output line, as the host sees it.
to_workload_ms () {
  local t0 t1
  jq '.process.args = ["/bin/busybox", "echo", "up"]' "$work/vm.json" >"$work/bundle/config.json"
  t0=$(date +%s%N)
  CAPSA_VM_ASSETS=$assets "$capsa" --root "$work/state" run -b "$work/bundle" bench$RANDOM 2>/dev/null </dev/null | {
    read -r _
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
    cat >/dev/null
  }
}

# Wall-clock ms; with the CPU time (ms) of the waited-for processes it started (QEMU's included:
# each level waits for its child) appended to $work/cpu.$1.t, a measure that a loaded machine
# (TCG is CPU-bound) stretches much less than the wall clock.
cpu_ms () { awk '{print ($14 + $15 + $16 + $17) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
time_ms () {
  local t0 t1 c0 c1 me=$BASHPID
  c0=$(cpu_ms "$me")
  t0=$(date +%s%N)
  "$@"
  t1=$(date +%s%N)
  c1=$(cpu_ms "$me")
  echo $((c1 - c0)) >>"$work/cpu.$1${2:-}.t"
  echo $(((t1 - t0) / 1000000))
}

median () { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

: >"$work/floor.t" && : >"$work/vm.t" && : >"$work/cold.t" && : >"$work/ctr.t" && : >"$work/up.t"
: >"$work/dfloor.t" && : >"$work/deb.t" && : >"$work/debcold.t"
: >"$work/nic.t" && : >"$work/niccold.t"
first=$(time_ms run_mode vm)
time_ms run_mode nic >/dev/null
[ -n "$debian" ] && dfirst=$(time_ms run_mode deb)
[ "$(ls "$CAPSA_VM_SNAPSHOT_DIR" | wc -l)" -ge 1 ] || { echo "bench.sh: no boot snapshot was saved" >&2; exit 1; }
for ((i = 0; i < n; i++)); do
  time_ms floor >>"$work/floor.t"
  time_ms run_mode vm >>"$work/vm.t"
  time_ms run_mode cold >>"$work/cold.t"
  time_ms run_mode ctr >>"$work/ctr.t"
  to_workload_ms >>"$work/up.t"
  time_ms run_mode nic >>"$work/nic.t"
  time_ms run_mode niccold >>"$work/niccold.t"
  if [ -n "$debian" ]; then
    time_ms floor_debian >>"$work/dfloor.t"
    time_ms run_mode deb >>"$work/deb.t"
    time_ms run_mode debcold >>"$work/debcold.t"
  fi
done
f=$(median <"$work/floor.t") v=$(median <"$work/vm.t") c=$(median <"$work/ctr.t") u=$(median <"$work/up.t")
printf 'median of %d (ms): qemu floor %d; VM mode from the boot snapshot: launch to workload %d, launch to exit %d; container mode %d; VM/container %.1fx\n' \
  "$n" "$f" "$u" "$v" "$c" "$(echo "$v / $c" | bc -l)"
printf '  VM mode booting each time: launch to exit %d; the first run (boots, saves the snapshot): %d\n' \
  "$(median <"$work/cold.t")" "$first"
printf '  CPU time (ms): qemu floor %d; VM mode from the snapshot %d, booting %d; container mode %d\n' \
  "$(median <"$work/cpu.floor.t")" "$(median <"$work/cpu.run_modevm.t")" "$(median <"$work/cpu.run_modecold.t")" \
  "$(median <"$work/cpu.run_modectr.t")"
printf '  one NIC (veth -> tap + tc redirects) against none: from the snapshot %d vs %d, booting %d vs %d (CPU time: %d vs %d, %d vs %d)\n' \
  "$(median <"$work/nic.t")" "$v" "$(median <"$work/niccold.t")" "$(median <"$work/cold.t")" \
  "$(median <"$work/cpu.run_modenic.t")" "$(median <"$work/cpu.run_modevm.t")" \
  "$(median <"$work/cpu.run_modeniccold.t")" "$(median <"$work/cpu.run_modecold.t")"
if [ -n "$debian" ]; then
  printf "Debian's kernel (%s): qemu floor %d; VM mode launch to exit from the snapshot %d, booting %d, first run %d (CPU time: floor %d, snapshot %d, booting %d)\n" \
    "$(cat "$debian/release" 2>/dev/null || echo packaged)" "$(median <"$work/dfloor.t")" "$(median <"$work/deb.t")" \
    "$(median <"$work/debcold.t")" "$dfirst" \
    "$(median <"$work/cpu.floor_debian.t")" "$(median <"$work/cpu.run_modedeb.t")" "$(median <"$work/cpu.run_modedebcold.t")"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (TCG is CPU-bound: measure on an idle machine)"
