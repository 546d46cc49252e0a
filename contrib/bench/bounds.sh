#!/bin/bash
# bounds.sh: what VM isolation mode costs against container mode, as two ratios measured on one
# bundle in one interleaved run (not part of the test suite):
#   beta  = container-mode start / VM-mode start        (launch to exit of `run /bin/true`; VM
#           mode from the boot snapshot, and booting each time too)
#   alpha = speed in VM mode / speed in container mode  (= container time / VM time) of
#           a CPU-bound loop (alpha_cpu) and of a system-call loop (alpha_syscall), each timed
#           by the workload itself (bounds-work.c), so no start or boot time is in alpha.
# Both are <= 1 when the VM costs something; 1 means no cost.
#
# Usage: bounds.sh CAPSA ASSETS_DIR [N [OUT_DIR]]    (root; `make bench-bounds` runs it)
#   ASSETS_DIR   the guest kernel and initramfs (`make vm-assets` puts them in vm/)
#   N            rounds (default 5); each round runs every measurement once per mode, in the
#                order container, VM, container, VM ...
#   OUT_DIR      when given, keeps samples.tsv (every measurement) and summary.txt there
#   BOUNDS_WORK_MS  how long each workload runs in container mode (default 1000): the loop
#                counts are calibrated on this host before the rounds and printed
#
# VM mode is selected as contrib/vm/bench.sh does: the same config.json with the annotation
# run.oci.handler=vm, boot snapshots of this run only (CAPSA_VM_SNAPSHOT_DIR), the first VM run
# saving its boot (a warm-up, not measured), run.oci.vm.snapshot=false for "booting".
# Launch-to-exit times and CPU time (QEMU's included) come from benchexec.c of this directory.
# The workloads print a start line, then their own CLOCK_MONOTONIC time of the loop: that is
# what alpha uses.  The host also timestamps those two lines as they arrive; the ratio of the
# workload's own time to the host's view of it is printed as a check on the guest's clock (a
# VM whose clock ran slow would make alpha look better than it is).
# Load average is recorded with every sample: TCG is CPU-bound and this is a 2-CPU machine
# shared with other work, so quote the load with the numbers.
set -euo pipefail
export LC_ALL=C
usage="usage: bounds.sh CAPSA ASSETS_DIR [N [OUT_DIR]]"
capsa=${1:?$usage}
assets=${2:?$usage}
n=${3:-5}
out=${4:-}
work_ms=${BOUNDS_WORK_MS:-1000}
here=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || { echo "bounds.sh: run as root" >&2; exit 1; }
[ -x "$capsa" ] || { echo "bounds.sh: no capsa binary at \"$capsa\"" >&2; exit 1; }
[ -f "$assets/vmlinux" ] && [ -f "$assets/initramfs" ] \
  || { echo "bounds.sh: no vmlinux and initramfs in \"$assets\" (make vm-assets)" >&2; exit 1; }
for t in jq cc awk; do
  command -v $t >/dev/null || { echo "bounds.sh: $t is needed" >&2; exit 1; }
done
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  echo "bounds.sh: a static /bin/busybox is needed (apt-get install busybox-static)" >&2
  exit 1
fi
capsa=$(cd "$(dirname "$capsa")" && pwd)/$(basename "$capsa")
assets=$(cd "$assets" && pwd)

work=$(mktemp -d /tmp/capsa-bounds.XXXXXX)
state=$work/state
cleanup () {
  local id
  for id in $("$capsa" --root "$state" list -q 2>/dev/null || true); do
    "$capsa" --root "$state" delete -f "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -Wall -o "$work/benchexec" "$here/benchexec.c"
cc -static -O2 -Wall -o "$work/bounds-work" "$here/bounds-work.c"

# One bundle: static busybox + the workload; config.json from `capsa spec`.  The modes and the
# workloads differ only in their config.json (the annotation, process.args), swapped in per run.
b=$work/bundle
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp"
cp /bin/busybox "$work/bounds-work" "$b/rootfs/bin/"
ln -s busybox "$b/rootfs/bin/true"
(cd "$b" && "$capsa" spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | del(.linux.resources)
    | .linux.cgroupsPath = "capsa-bounds"' "$b/config.json" >"$work/ctr.json"
jq '.annotations["run.oci.handler"] = "vm"' "$work/ctr.json" >"$work/vm.json"
jq '.annotations["run.oci.vm.snapshot"] = "false"' "$work/vm.json" >"$work/vmboot.json"
export CAPSA_VM_ASSETS=$assets
export CAPSA_VM_SNAPSHOT_DIR=$work/snapshots

# Loop counts: double until the loop takes 200 ms here (the host, outside any container: the
# same CPU and kernel as container mode), then scale the fastest of 3 runs of that count to
# BOUNDS_WORK_MS (on a loaded machine one run can be stretched by 2-5x).
calibrate () {
  local count=1000 ns best i
  loop_ns () { "$work/bounds-work" "$1" "$2" | sed -n 's/.* ns=\([0-9]*\) .*/\1/p'; }
  while :; do
    ns=$(loop_ns "$1" $count)
    [ "$ns" -ge 200000000 ] && break
    count=$((count * 2))
  done
  best=$ns
  for i in 1 2; do
    ns=$(loop_ns "$1" $count)
    [ "$ns" -ge "$best" ] || best=$ns
  done
  echo $((count * work_ms * 1000000 / best))
}
n_cpu=$(calibrate cpu)
n_sys=$(calibrate sys)

samples=$work/samples.tsv
printf 'round\tmeasure\tmode\twall_us\tcpu_us\tstatus\twork_ns\thost_ns\tcheck\tload1\n' >"$samples"
load1 () { cut -d' ' -f1 /proc/loadavg; }
# The last line capsa wrote to stderr other than its TCG warning (printed on every VM run).
last_error () { grep -v 'using software emulation (TCG)' "$work/err.log" 2>/dev/null | tail -n 1; }

# run_one ROUND MEASURE MODE CONFIG [ARGS...]: one `capsa run` of the bundle under benchexec
# (launch to exit, CPU time of the whole tree), with ARGS as process.args when given; its
# output lines are timestamped on arrival (microseconds).  Appends one line to samples.tsv.
seq_id=0
run_one () {
  local round=$1 measure=$2 mode=$3 config=$4 id status=0 w u s t0 t1 ns check host
  shift 4
  if [ $# -gt 0 ]; then
    jq '.process.args = $ARGS.positional' "$config" --args "$@" >"$b/config.json"
  else
    cp "$config" "$b/config.json"
  fi
  seq_id=$((seq_id + 1))
  id=bounds-$$-$seq_id
  : >"$work/be.out"
  timeout 900 "$work/benchexec" -o "$work/be.out" -- "$capsa" --root "$state" run -b "$b" "$id" \
    </dev/null 2>>"$work/err.log" | while IFS= read -r line; do
    printf '%s\t%s\n' "${EPOCHREALTIME/./}" "$line"
  done >"$work/lines" || status=$?
  "$capsa" --root "$state" delete -f "$id" >/dev/null 2>&1 || true
  if [ -s "$work/be.out" ]; then
    IFS=$'\t' read -r _ w u s _ status <"$work/be.out"
  else
    w=0 u=0 s=0
    [ "$status" != 0 ] || status=124
  fi
  ns=- check=- host=-
  if [ $# -gt 0 ]; then
    t0=$(awk -F '\t' '$2 == "bounds-work: start" {print $1; exit}' "$work/lines")
    t1=$(awk -F '\t' '$2 ~ /^bounds-work: .* ns=/ {print $1; exit}' "$work/lines")
    ns=$(sed -n 's/.* ns=\([0-9]*\) .*/\1/p' "$work/lines")
    check=$(sed -n 's/.* check=\([0-9a-f]*\)$/\1/p' "$work/lines")
    if [ -n "$t0" ] && [ -n "$t1" ] && [ -n "$ns" ]; then
      host=$(((t1 - t0) * 1000))
    else
      ns=-
      [ "$status" != 0 ] || status=99 # exited 0 without the workload's lines
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$measure" "$mode" "$w" $((u + s)) \
    "$status" "${ns:--}" "$host" "${check:--}" "$(load1)" >>"$samples"
  [ "$status" = 0 ] || echo "bounds.sh: $measure in $mode mode failed (status $status): $(last_error)" >&2
  return 0
}

echo "bounds.sh: $n rounds; loop counts for ~${work_ms} ms in container mode: cpu $n_cpu, sys $n_sys; load $(load1)" >&2
# Warm-up (not measured): the first VM run saves the boot snapshot; one container run too, so
# that neither mode's first round pays for cold caches.
run_one 0 warmup vm "$work/vm.json"
run_one 0 warmup container "$work/ctr.json"
[ -n "$(ls "$CAPSA_VM_SNAPSHOT_DIR" 2>/dev/null)" ] \
  || { echo "bounds.sh: the warm-up VM run saved no boot snapshot ($(last_error))" >&2; exit 1; }
# What ran the guest: capsa warns when it falls back to software emulation.
accel=$(sed -n 's/.*VM isolation mode: \(.*\); using software emulation (TCG).*/TCG (software emulation: \1)/p' \
  "$work/err.log" | head -n 1)
[ -n "$accel" ] || accel="KVM presumably (capsa gave no TCG warning)"

for ((i = 1; i <= n; i++)); do
  echo "bounds.sh: round $i of $n (load $(load1))" >&2
  run_one $i start container "$work/ctr.json"
  run_one $i start vm "$work/vm.json"
  run_one $i start-booting container "$work/ctr.json"
  run_one $i start-booting vm "$work/vmboot.json"
  run_one $i cpu container "$work/ctr.json" /bin/bounds-work cpu "$n_cpu"
  run_one $i cpu vm "$work/vm.json" /bin/bounds-work cpu "$n_cpu"
  run_one $i syscall container "$work/ctr.json" /bin/bounds-work sys "$n_sys"
  run_one $i syscall vm "$work/vm.json" /bin/bounds-work sys "$n_sys"
done

# Medians over the successful samples of the rounds; a workload whose check value differs
# between the modes did not do the same work, and the run fails.
summary=$work/summary.txt
awk -F '\t' -v n="$n" -v n_cpu="$n_cpu" -v n_sys="$n_sys" -v cpus="$(nproc)" \
  -v qemu="$(qemu-system-x86_64 --version 2>/dev/null | head -n 1)" \
  -v kern="$(uname -r)" -v accel="$accel" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" '
  function med(key,   m, i, j, t, a) {
    m = cnt[key]
    if (m == 0) return -1
    for (i = 1; i <= m; i++) a[i] = v[key, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function add(key, x) { v[key, ++cnt[key]] = x }
  # rat(A, B): "A/B (1/(B/A))", or why there is none (med() gives -1 without samples).
  function rat(a, b) { return (a > 0 && b > 0) ? sprintf("%.4f (1/%.1f)", a / b, b / a) : "none: no successful samples" }
  # ratio(NAME, A, B): A / B of the same round, for every round where both succeeded; prints the
  # median and the range of those (a pair run back to back shares the load of its moment).
  function ratio(name, a, b,   i, x, lo, hi) {
    for (i = 1; i <= n; i++)
      if ((a, i) in round && (b, i) in round && round[b, i] > 0) {
        add(name, round[a, i] / round[b, i]); x = round[a, i] / round[b, i]
        if (lo == "" || x < lo) lo = x
        if (x > hi) hi = x
      }
    if (cnt[name] == 0) return "no pair"
    return sprintf("per-round %.4f, range %.4f-%.4f", med(name), lo, hi)
  }
  NR == 1 || $2 == "warmup" { next }
  {
    if (lmin == "" || $10 < lmin) lmin = $10
    if ($10 > lmax) lmax = $10
    lsum += $10; ln++
    if ($6 != 0) { fails[$2 " " $3]++; nfail++; next }
    k = $2 " " $3
    add(k " wall", $4 / 1000); add(k " cpu", $5 / 1000)
    round[k, $1] = ($7 != "-") ? $7 : $4
    if ($7 != "-") {
      add(k " work", $7 / 1e6); add(k " host", $8 / 1e6)
      if ($8 > 0) add(k " clock", $7 / $8)
      if (!(($2) in chk)) chk[$2] = $9
      else if (chk[$2] != $9) bad = bad " " $2
    }
  }
  END {
    printf "capsa VM-mode bounds, %s, host kernel %s, %d CPUs, %s\n", date, kern, cpus, qemu
    printf "guest: 1 vCPU, 256 MiB (the default size), accelerator %s\n", accel
    printf "median of %d interleaved rounds; load average (1 min) during the samples: %.2f-%.2f, mean %.2f\n",
           n, lmin, lmax, lsum / ln
    printf "\nstart, launch to exit of run /bin/true (ms, wall / CPU of the whole tree):\n"
    cw = med("start container wall"); vw = med("start vm wall"); bw = med("start-booting vm wall")
    printf "  container mode              %8.1f / %.1f\n", cw, med("start container cpu")
    printf "  VM mode, from the snapshot  %8.1f / %.1f\n", vw, med("start vm cpu")
    printf "  VM mode, booting            %8.1f / %.1f   (container mode in the same slots: %.1f)\n",
           bw, med("start-booting vm cpu"), med("start-booting container wall")
    printf "\nworkloads, their own time of the loop (ms; host view of the same interval; launch to exit):\n"
    printf "  cpu, %d rounds of integer work:\n", n_cpu
    printf "    container mode  %9.1f  (host %.1f; run %.1f)\n", med("cpu container work"), med("cpu container host"), med("cpu container wall")
    printf "    VM mode         %9.1f  (host %.1f; run %.1f)\n", med("cpu vm work"), med("cpu vm host"), med("cpu vm wall")
    printf "  syscall, %d x (getppid + pipe write + read):\n", n_sys
    printf "    container mode  %9.1f  (host %.1f; run %.1f)  %.0f ns per call\n", med("syscall container work"),
           med("syscall container host"), med("syscall container wall"), med("syscall container work") * 1e6 / (3 * n_sys)
    printf "    VM mode         %9.1f  (host %.1f; run %.1f)  %.0f ns per call\n", med("syscall vm work"),
           med("syscall vm host"), med("syscall vm wall"), med("syscall vm work") * 1e6 / (3 * n_sys)
    printf "  guest clock check (workload time / host view, VM mode): cpu %.3f, syscall %.3f\n",
           med("cpu vm clock"), med("syscall vm clock")
    printf "\nratios of the medians (and the median and range of the same ratio taken per round):\n"
    printf "beta  = container start / VM start:\n"
    printf "  from the snapshot  %s  (%s)\n", rat(cw, vw), ratio("b1", "start container", "start vm")
    cb = med("start-booting container wall")
    printf "  booting            %s  (%s)\n", rat(cb, bw), ratio("b2", "start-booting container", "start-booting vm")
    printf "alpha = VM speed / container speed (container loop time / VM loop time):\n"
    printf "  alpha_cpu          %s  (%s)\n", rat(med("cpu container work"), med("cpu vm work")),
           ratio("a1", "cpu container", "cpu vm")
    printf "  alpha_syscall      %s  (%s)\n", rat(med("syscall container work"), med("syscall vm work")),
           ratio("a2", "syscall container", "syscall vm")
    # Cross-check from the host side, less stretched by a loaded machine than any wall clock:
    # CPU time of the workload run minus that of a run of /bin/true, per mode (QEMU included).
    cc = med("cpu container cpu") - med("start container cpu"); cv = med("cpu vm cpu") - med("start vm cpu")
    sc = med("syscall container cpu") - med("start container cpu"); sv = med("syscall vm cpu") - med("start vm cpu")
    if (cc > 0 && sc > 0 && cv > med("start vm cpu") && sv > med("start vm cpu"))
      printf "  cross-check from host CPU time (workload run - /bin/true run): alpha_cpu %.4f, alpha_syscall %.4f\n",
             cc / cv, sc / sv
    else
      printf "  (no cross-check from host CPU time: the VM workloads took less CPU than a VM start)\n"
    if (nfail) { printf "\nFAILED samples (left out of the medians):"; for (f in fails) printf " %s x%d;", f, fails[f]; printf "\n" }
    if (bad != "") { printf "\nCHECK MISMATCH between the modes:%s (not the same work)\n", bad; exit 1 }
    if (nfail) exit 1
  }' "$samples" >"$summary" || status=$?
cat "$summary"
if [ -n "$out" ]; then
  mkdir -p "$out"
  cp "$samples" "$summary" "$out/"
  echo "samples: $out/samples.tsv"
fi
exit "${status:-0}"
