#!/bin/sh
# scenarios.sh: the benchmark scenarios; run.sh starts it inside the private mount + cgroup namespace.
#
# Environment (set by run.sh): CAPSA CRUN RUNC BENCH_WORK BENCH_OUT BENCH_QUICK.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=$BENCH_WORK
out=$BENCH_OUT
samples=$out/samples.tsv
notes=$work/notes.txt
runtimes="capsa crun runc"
: >"$samples"
: >"$notes"

if [ "$BENCH_QUICK" = 1 ]; then
  n_run=15 n_ver=15 n_lc=8 n_exec=8 n_par=2
else
  n_run=100 n_ver=100 n_lc=50 n_exec=50 n_par=5
fi
par=50

note() { echo "$*" | tee -a "$notes"; }
progress() { printf '%s\n' "$*" >&2; }

rtbin() {
  case $1 in
    capsa) echo "$CAPSA" ;;
    crun) echo "$CRUN" ;;
    runc) echo "$RUNC" ;;
  esac
}

# rt RUNTIME ARGS...: run a runtime with its private state root, quietly.
rt() {
  local rr=$1
  shift
  "$(rtbin "$rr")" --root "$work/root-$rr" "$@" </dev/null >/dev/null 2>>"$work/err-$rr.log"
}

# be TAG COMMAND...: one measured run; TAG is "scenario<TAB>runtime<TAB>iteration".  Each run
# starts after a pause (BENCH_SETTLE seconds): moving a process into a cgroup v1 hierarchy takes
# a global lock whose first writer waits for an RCU grace period (about 10 ms here), while a
# writer that comes within a grace period of the previous one does not.  Back to back, whichever
# runtime follows another's cgroup write would inherit a warm lock; after the pause every run
# starts from the same idle kernel state.  warm=1 skips the pause for one call (run-warm).
settle=${BENCH_SETTLE:-0.05}
warm=0
be() {
  local tag=$1
  shift
  [ "$warm" = 1 ] || sleep "$settle"
  warm=0
  "$work/benchexec" -o "$samples" -t "$tag" -- "$@" </dev/null >/dev/null 2>>"$work/err-bench.log"
}

# measure SCENARIO RUNTIME ITERATION ARGS...: a measured runtime command.
measure() {
  local ms=$1 mr=$2 mi=$3
  shift 3
  be "$ms	$mr	$mi" "$(rtbin "$mr")" --root "$work/root-$mr" "$@"
}

# bundle NAME JQ-FILTER: a bundle directory whose config.json is base.json through the filter.
bundle() {
  mkdir -p "$work/b-$1"
  jq "$2" "$work/base.json" >"$work/b-$1/config.json"
}

wait_stopped() {
  local n=0 st
  while [ $n -lt 500 ]; do
    st=$("$(rtbin "$1")" --root "$work/root-$1" state "$2" 2>/dev/null | jq -r .status 2>/dev/null || true)
    case $st in stopped | "") return 0 ;; esac
    sleep 0.01
    n=$((n + 1))
  done
}

cleanup() {
  for r in $runtimes; do
    [ -d "$work/root-$r" ] || continue
    for id in $("$(rtbin "$r")" --root "$work/root-$r" list -q 2>/dev/null || true); do
      rt "$r" delete -f "$id" || true
    done
  done
  # The runtimes' default cgroups of our containers ("cb-*"), if any were left behind.
  for d in /sys/fs/cgroup/*/cb-* /sys/fs/cgroup/*/*/cb-*; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}
trap cleanup EXIT

bundle true '.'
bundle nonet '.linux.namespaces |= map(select(.type != "network"))'
bundle sleep '.process.args = ["/bin/sleep", "100000"]'

{
  echo "capsa benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs"
  echo "capsa: $CAPSA ($("$CAPSA" --version 2>&1 | head -n 1))"
  echo "crun:  $CRUN ($("$CRUN" --version 2>&1 | head -n 1))"
  echo "runc:  $RUNC ($("$RUNC" --version 2>&1 | head -n 1))"
  echo "All runtimes ran in a private mount + cgroup namespace with /sys/fs/cgroup/unified"
  echo "unmounted (crun 1.8.1 refuses hybrid cgroups) and the v1 hierarchies rooted at our own"
  echo "cgroups; each runtime has its own --root on a tmpfs.  Bundle: static busybox, \`runc spec\` config"
  echo "with terminal off, no ambient capabilities, args /bin/true, default cgroupsPath."
  echo "Runs are interleaved (capsa crun runc capsa ...).  CPU = user+sys of the runtime's whole"
  echo "process tree (getrusage RUSAGE_CHILDREN); RSS = peak RSS of the largest single process."
} >"$notes"

# 1. Process start cost.
progress "--version x$n_ver"
i=1
while [ $i -le $n_ver ]; do
  for r in $runtimes; do
    be "version	$r	$i" "$(rtbin "$r")" --version || true
  done
  i=$((i + 1))
done

# 2. run /bin/true, with and without a new network namespace, and the no-runtime floors.
progress "run /bin/true x$n_run (settled, warm, without netns, floors)"
i=1
while [ $i -le $n_run ]; do
  for r in $runtimes; do
    measure run "$r" $i run --bundle "$work/b-true" "cb-$r-r$i" || rt "$r" delete -f "cb-$r-r$i" || true
    # the same at once after it: the cgroup lock is still warm from the run above, as in a
    # tight loop of one runtime, so this is the runtime's own cost without the grace period
    warm=1
    measure run-warm "$r" $i run --bundle "$work/b-true" "cb-$r-w$i" || rt "$r" delete -f "cb-$r-w$i" || true
  done
  for r in $runtimes; do
    measure run-no-netns "$r" $i run --bundle "$work/b-nonet" "cb-$r-n$i" \
      || rt "$r" delete -f "cb-$r-n$i" || true
  done
  be "floor	clone+chroot	$i" "$work/benchexec" --floor "$work/rootfs" || true
  be "floor	unshare(1)	$i" unshare -m -p -f -n -i -u --mount-proc chroot "$work/rootfs" /bin/true \
    || true
  i=$((i + 1))
done

# 3. create / start / delete, each phase timed; the container runs /bin/true.
progress "create+start+delete x$n_lc"
i=1
while [ $i -le $n_lc ]; do
  for r in $runtimes; do
    id=cb-$r-l$i
    if measure create "$r" $i create --bundle "$work/b-true" "$id" \
      && measure start "$r" $i start "$id"; then
      wait_stopped "$r" "$id"
      measure delete "$r" $i delete "$id" || rt "$r" delete -f "$id" || true
      tail -n 3 "$samples" | awk -F '\t' -v r="$r" -v i=$i 'BEGIN { OFS = "\t" }
        { w += $4; u += $5; s += $6; if ($7 > m) m = $7; if ($8 != 0) st = $8 }
        END { print "create+start+delete", r, i, w, u, s, m, st + 0 }' >>"$samples"
    else
      rt "$r" delete -f "$id" || true
    fi
  done
  i=$((i + 1))
done

# 4. exec /bin/true into a running container.
progress "exec x$n_exec"
exec_rts=
for r in $runtimes; do
  if ! "$(rtbin "$r")" exec --help >/dev/null 2>&1; then
    note "exec: $r skipped: \`$r exec --help\` fails (no exec command)"
    continue
  fi
  if rt "$r" run -d --bundle "$work/b-sleep" "cb-$r-x"; then
    exec_rts="$exec_rts $r"
  else
    note "exec: $r skipped: could not start the sleeping container"
  fi
done
i=1
while [ $i -le $n_exec ]; do
  for r in $exec_rts; do
    measure exec "$r" $i exec "cb-$r-x" /bin/true || true
  done
  i=$((i + 1))
done
for r in $exec_rts; do rt "$r" delete -f "cb-$r-x" || true; done

# 5. $par containers created in parallel: the wall time until all creates have returned.
progress "$par parallel creates x$n_par"
cat >"$work/par.sh" <<'EOF'
#!/bin/sh
# par.sh BIN ROOT BUNDLE PREFIX N: N concurrent creates; exit status = number that failed.
bin=$1 root=$2 bundle=$3 prefix=$4 n=$5 i=1 pids=
while [ $i -le $n ]; do
  "$bin" --root "$root" create --bundle "$bundle" "$prefix$i" </dev/null >/dev/null 2>&1 &
  pids="$pids $!"
  i=$((i + 1))
done
fail=0
for p in $pids; do wait "$p" || fail=$((fail + 1)); done
exit $fail
EOF
chmod +x "$work/par.sh"
i=1
while [ $i -le $n_par ]; do
  for r in $runtimes; do
    be "create-$par-parallel	$r	$i" "$work/par.sh" "$(rtbin "$r")" "$work/root-$r" "$work/b-true" \
      "cb-$r-p$i-" $par || true
    j=1
    while [ $j -le $par ]; do
      rt "$r" delete -f "cb-$r-p$i-$j" || true
      j=$((j + 1))
    done
  done
  i=$((i + 1))
done

# 6. The smallest linux.resources.memory.limit under which `run /bin/true` succeeds, by
# bisection in 16 KiB steps between 16 KiB and 64 MiB.
progress "memory limit bisection"
memtry=0
mem_ok() {
  memtry=$((memtry + 1))
  jq --argjson l $(($2 * 16384)) '.linux.resources.memory.limit = $l' "$work/base.json" \
    >"$work/b-mem/config.json"
  if timeout 60 "$(rtbin "$1")" --root "$work/root-$1" run --bundle "$work/b-mem" "cb-$1-m$memtry" \
    </dev/null >/dev/null 2>"$work/mem-err"; then
    return 0
  fi
  rt "$1" delete -f "cb-$1-m$memtry" || true
  return 1
}
mkdir -p "$work/b-mem"
: >"$work/memlimit.tsv"
for r in $runtimes; do
  lo=1 hi=4096
  if ! mem_ok "$r" $hi; then
    res=">65536" why=$(tail -n 1 "$work/mem-err")
  elif mem_ok "$r" $lo; then
    res="<=16" why=
  else
    why=$(tail -n 1 "$work/mem-err")
    while [ $((hi - lo)) -gt 1 ]; do
      mid=$(((lo + hi) / 2))
      if mem_ok "$r" $mid; then hi=$mid; else lo=$mid why=$(tail -n 1 "$work/mem-err"); fi
    done
    res=$((hi * 16))
  fi
  printf '%s\t%s\t%s\n' "$r" "$res" "$why" >>"$work/memlimit.tsv"
done

# 7. VM mode: the same bundle with the annotation run.oci.handler=vm against container mode,
# interleaved (capsa only: Debian's crun and runc have no VM mode).
if [ "$BENCH_QUICK" = 1 ]; then n_vm=3; else n_vm=10; fi
bundle vm '.annotations["run.oci.handler"] = "vm"'
if rt capsa run --bundle "$work/b-vm" cb-capsa-vm0; then
  progress "VM mode run /bin/true x$n_vm"
  i=1
  while [ $i -le $n_vm ]; do
    be "run-vm	capsa-vm	$i" "$CAPSA" --root "$work/root-capsa" run --bundle "$work/b-vm" \
      "cb-capsa-v$i" || rt capsa delete -f "cb-capsa-v$i" || true
    be "run-vm	capsa	$i" "$CAPSA" --root "$work/root-capsa" run --bundle "$work/b-true" \
      "cb-capsa-c$i" || rt capsa delete -f "cb-capsa-c$i" || true
    i=$((i + 1))
  done
  note "vm: run-vm is \`run /bin/true\` of the same bundle in VM mode (capsa-vm) and container mode (capsa)"
else
  rt capsa delete -f cb-capsa-vm0 || true
  note "vm: skipped: a VM-mode run failed ($(tail -n 1 "$work/err-capsa.log" 2>/dev/null)); install the guest assets (make install-vm)"
fi

# Statistics: per scenario and runtime, over the successful samples.
awk -F '\t' -v OFS='\t' '
  function sort(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  }
  function pct(a, n, q) { return a[int(q * (n - 1) + 0.5) + 1] }
  function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  {
    k = $1 SUBSEP $2
    if (!($1 in sseen)) { sseen[$1] = 1; sorder[++ns] = $1 }
    if (!($2 in rseen)) { rseen[$2] = 1; rorder[++nr] = $2 }
    seen[k] = 1
    if ($8 != 0) { fails[k]++; next }
    j = ++cnt[k]; wall[k, j] = $4 / 1000; cpu[k, j] = ($5 + $6) / 1000; rss[k, j] = $7
  }
  END {
    print "scenario", "runtime", "n", "fails", "wall_med_ms", "wall_p10_ms", "wall_p90_ms",
          "cpu_med_ms", "cpu_p10_ms", "cpu_p90_ms", "maxrss_med_kib"
    for (o = 1; o <= ns * nr; o++) {
      k = sorder[int((o - 1) / nr) + 1] SUBSEP rorder[(o - 1) % nr + 1]
      if (!(k in seen)) continue
      split(k, kk, SUBSEP); n = cnt[k] + 0
      if (n == 0) { print kk[1], kk[2], 0, fails[k] + 0, "", "", "", "", "", "", ""; continue }
      for (i = 1; i <= n; i++) { w[i] = wall[k, i]; c[i] = cpu[k, i]; m[i] = rss[k, i] }
      sort(w, n); sort(c, n); sort(m, n)
      printf "%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\n", kk[1], kk[2], n,
             fails[k] + 0, med(w, n), pct(w, n, 0.1), pct(w, n, 0.9), med(c, n), pct(c, n, 0.1),
             pct(c, n, 0.9), med(m, n)
    }
  }' "$samples" >"$out/summary.tsv"
awk -F '\t' -v OFS='\t' '{ print "memlimit-min-kib", $1, $2, $3 }' "$work/memlimit.tsv" \
  >>"$out/summary.tsv"

# The readable table: ratios are capsa / crun of the medians.
{
  cat "$notes"
  echo
  awk -F '\t' '
    NR == 1 || $1 == "memlimit-min-kib" { next }
    { row[NR] = $0; if ($2 == "crun") { cw[$1] = $5; cc[$1] = $8 } }
    END {
      printf "%-22s %-13s %4s %4s %9s %9s %9s %9s %7s %11s\n", "scenario", "runtime", "n", "fail",
             "wall med", "p10", "p90", "cpu med", "rss KiB", "capsa/crun"
      printf "%-22s %-13s %4s %4s %9s %9s %9s %9s %7s %11s\n", "", "", "", "", "ms", "ms", "ms",
             "ms", "(max)", "wall  cpu"
      for (i = 2; i in row; i++) {
        split(row[i], f, "\t")
        ratio = ""
        if (f[2] == "capsa" && cw[f[1]] > 0 && f[5] != "")
          ratio = sprintf("%5.2f %4.2f", f[5] / cw[f[1]], cc[f[1]] > 0 ? f[8] / cc[f[1]] : 0)
        if (f[1] != last && i > 2) print ""
        last = f[1]
        if (f[3] == 0) { printf "%-22s %-13s %4d %4d   (all runs failed)\n", f[1], f[2], 0, f[4]; continue }
        printf "%-22s %-13s %4d %4d %9.2f %9.2f %9.2f %9.2f %7d %11s\n", f[1], f[2], f[3], f[4],
               f[5], f[6], f[7], f[8], f[11], ratio
      }
    }' "$out/summary.tsv"
  echo
  echo "smallest memory limit under which \`run /bin/true\` succeeds (16 KiB steps, 16 KiB..64 MiB):"
  awk -F '\t' '{ printf "  %-6s %s KiB%s\n", $1, $2, $3 == "" ? "" : "   (just below: " $3 ")" }' \
    "$work/memlimit.tsv"
  awk -F '\t' '$1 == "run-vm" { w[$2] = $5 }
    END { if (w["capsa"] > 0 && w["capsa-vm"] > 0)
            printf "\nVM mode / container mode, run /bin/true (wall medians): %.1f (%.0f ms / %.1f ms)\n",
                   w["capsa-vm"] / w["capsa"], w["capsa-vm"], w["capsa"] }' "$out/summary.tsv"
  echo
  echo "errors logged by the runtimes: $(cat "$work"/err-*.log 2>/dev/null | wc -l) lines"
  for r in $runtimes; do
    [ -s "$work/err-$r.log" ] || continue
    echo "  $r (first 3 distinct):"
    sort "$work/err-$r.log" | uniq -c | sort -rn | head -n 3 | sed 's/^/    /'
  done
} >"$out/results.txt"
cat "$out/results.txt"
echo
echo "table: $out/results.txt  statistics: $out/summary.tsv  raw samples: $samples"
