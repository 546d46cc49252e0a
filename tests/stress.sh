#!/bin/bash
# stress.sh: concurrent lifecycles and racing commands against one capsa state root; counts what
# is left behind (cgroups, mounts, processes, state dirs) and fails on any leak, hang or corrupt
# state file.  `make check-stress` runs it; CI runs a short version.
#
# Environment: CAPSA (binary under test; default ./capsa), STRESS_PARALLEL (concurrent workers,
# default 50), STRESS_CYCLES (create/start/kill/delete cycles in all, default 1000),
# STRESS_RACES (rounds of each same-id race, default 20), STRESS_TIMEOUT (seconds one command may
# take before it counts as a hang, default 60), BUSYBOX (default /bin/busybox), STRESS_KEEP_LOGS
# (keep the per-worker logs).
# Needs root, busybox-static and jq.
set -uo pipefail

CAPSA=${CAPSA:-$PWD/capsa}
parallel=${STRESS_PARALLEL:-50}
cycles=${STRESS_CYCLES:-1000}
races=${STRESS_RACES:-20}
cmd_timeout=${STRESS_TIMEOUT:-60}
busybox=${BUSYBOX:-/bin/busybox}

skip () {
  echo "stress.sh: skipped: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$CAPSA" ] || {
  echo "stress.sh: no capsa binary at $CAPSA (set CAPSA)" >&2
  exit 1
}
[ -x "$busybox" ] || skip "$busybox missing (apt-get install busybox-static)"
command -v jq >/dev/null || skip "jq missing"

work=$(mktemp -d /tmp/capsa-stress.XXXXXX)
root=$work/state
bundle=$work/bundle
logs=$work/logs
# ids (and so default cgroup names) and the processes' environment carry this mark
mark=stress$$
mkdir -p "$root" "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" \
  "$bundle/rootfs/sys" "$bundle/rootfs/tmp" "$logs"

cleanup () {
  local d
  for d in "$root"/*/; do
    [ -d "$d" ] && timeout -k 5 30 "$CAPSA" --root "$root" delete --force "$(basename "$d")" >/dev/null 2>&1
  done
  awk -v d="$work" 'index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r \
    | while read -r m; do umount -l "$m" 2>/dev/null; done
  if [ -n "${STRESS_KEEP_LOGS:-}" ]; then
    rm -rf "$bundle" "$root"
    echo "stress: logs kept in $logs"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# --- the bundle: a read-only busybox rootfs shared by every container, `sleep` as the process ---
cp "$busybox" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sh"
ln -s busybox "$bundle/rootfs/bin/sleep"
(cd "$bundle" && "$CAPSA" spec) || exit 1
jq --arg m "$mark" 'del(.linux.resources) | .root.readonly = true | .process.terminal = false
  | .process.args = ["/bin/sleep", "600"] | .process.env += ["CAPSA_STRESS_MARK=" + $m]' \
  "$bundle/config.json" >"$bundle/config.json.new" && mv "$bundle/config.json.new" "$bundle/config.json"

# capsa ARGS...: the binary under test on our state root, bounded in time; a timeout (124/137)
# is logged as a hang.
capsa () {
  local rc
  timeout -k 5 "$cmd_timeout" "$CAPSA" --root "$root" "$@" </dev/null >>"$mylog" 2>&1
  rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "HANG: capsa $*" >>"$mylog"
  fi
  return $rc
}

# wait_stopped ID: poll the state until the container is stopped (at most 10 s).
wait_stopped () {
  local i st
  for ((i = 0; i < 200; i++)); do
    st=$(timeout 10 "$CAPSA" --root "$root" state "$1" 2>>"$mylog" </dev/null | jq -r .status 2>/dev/null)
    [ "$st" = stopped ] && return 0
    sleep 0.05
  done
  echo "STUCK: $1 not stopped after kill (status '$st')" >>"$mylog"
  return 1
}

# --- what exists now: cgroups (below our own cgroup in every hierarchy), mounts, processes ---
own_cgroup_dirs () {
  local id ctrls path mnt opts
  while IFS=: read -r id ctrls path; do
    while read -r mnt opts; do
      echo "$mnt$path"
    done < <(awk -v c="$ctrls" '$0 ~ / - cgroup2? / {
        split($0, parts, " - "); split(parts[2], f, " "); n = split(f[3], o, ",");
        if (c == "" && f[1] == "cgroup2") { print $5, "v2"; next }
        if (c == "" || f[1] != "cgroup") next
        k = split(c, want, ","); hit = 0
        for (i = 1; i <= k; i++) for (j = 1; j <= n; j++) if (o[j] == want[i]) hit++
        if (hit == k && $4 == "/") print $5, f[3] }' /proc/self/mountinfo)
  done </proc/self/cgroup | sort -u
}
count_cgroups () {
  local d n=0
  for d in $(own_cgroup_dirs); do
    [ -d "$d" ] || continue
    n=$((n + $(find "$d" -mindepth 1 -maxdepth 3 -type d -name "$mark*" 2>/dev/null | wc -l)))
  done
  echo $n
}
count_mounts () {
  awk -v d="$work" 'index($5, d "/") == 1' /proc/self/mountinfo | wc -l
}
marked_pids () {
  local p
  for p in $(grep -lsa -- "CAPSA_STRESS_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && echo "$p"
  done
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -F -- "--root $root " && echo "${p#/proc/}"
  done
  return 0
}
count_procs () {
  marked_pids | sort -u | wc -l
}
count_states () {
  find "$root" -mindepth 1 -maxdepth 1 | wc -l
}

before_cg=$(count_cgroups) before_mnt=$(count_mounts) before_proc=$(count_procs) before_st=$(count_states)

# --- 1: concurrent lifecycles of distinct ids ----------------------------------------------------
# worker N COUNT: COUNT cycles of create, start, kill, wait for stopped, delete.
worker () {
  local w=$1 n=$2 c id ok=0 bad=0
  mylog=$logs/worker-$w.log
  for ((c = 0; c < n; c++)); do
    id=$mark-w$w-c$c
    if capsa create --bundle "$bundle" "$id" && capsa start "$id" && capsa kill "$id" KILL \
      && wait_stopped "$id" && capsa delete "$id"; then
      ok=$((ok + 1))
    else
      bad=$((bad + 1))
      echo "FAILED cycle $id" >>"$mylog"
      capsa delete --force "$id"
    fi
  done
  echo "$ok $bad" >"$logs/worker-$w.result"
}

# reader: `list` and `state` while the workers run; a state file that does not parse shows as
# "corrupt" in capsa's message or as JSON jq cannot read.
reader () {
  local id
  mylog=$logs/reader.log
  while [ ! -e "$logs/stop-reader" ]; do
    timeout 30 "$CAPSA" --root "$root" list --format json </dev/null 2>>"$mylog" >"$logs/list.json"
    if [ -s "$logs/list.json" ] && ! jq -e . "$logs/list.json" >/dev/null 2>&1; then
      echo "CORRUPT: list output is not JSON" >>"$mylog"
    fi
    for id in $(jq -r '.[]?.id' "$logs/list.json" 2>/dev/null | head -5); do
      out=$(timeout 30 "$CAPSA" --root "$root" state "$id" </dev/null 2>>"$mylog") || continue
      jq -e .status >/dev/null 2>&1 <<<"$out" || echo "CORRUPT: state $id: $out" >>"$mylog"
    done
  done
}

per=$(((cycles + parallel - 1) / parallel))
[ "$per" -gt 0 ] || per=1
echo "stress: $parallel workers x $per cycles (create/start/kill/delete), $races rounds of each race; capsa $CAPSA"
t0=$(date +%s)
reader &
reader_pid=$!
pids=()
for ((w = 0; w < parallel; w++)); do
  worker "$w" "$per" &
  pids+=($!)
done
wait "${pids[@]}"
touch "$logs/stop-reader"
wait "$reader_pid"
t1=$(date +%s)
cycles_ok=0 cycles_bad=0
for f in "$logs"/worker-*.result; do
  read -r a b <"$f"
  cycles_ok=$((cycles_ok + a)) cycles_bad=$((cycles_bad + b))
done
echo "lifecycles: $cycles_ok ok, $cycles_bad failed in $((t1 - t0)) s"
leftover_after_cycles=$(count_states)

# --- 2: racing commands on the same id -----------------------------------------------------------
# Each race may make a command fail (cleanly); afterwards one `delete --force` must remove
# everything and nothing may hang.
race () {
  local kind=$1 r=$2 id=$mark-$1-$2
  mylog=$logs/race-$kind-$r.log
  case $kind in
  delete2) # two deletes of one stopped container
    capsa create --bundle "$bundle" "$id" && capsa start "$id" && capsa kill "$id" KILL && wait_stopped "$id"
    capsa delete "$id" &
    capsa delete "$id" &
    wait
    ;;
  forcedelete2) # two forced deletes of one running container
    capsa create --bundle "$bundle" "$id" && capsa start "$id"
    capsa delete --force "$id" &
    capsa delete --force "$id" &
    wait
    ;;
  killstart) # kill while start runs
    capsa create --bundle "$bundle" "$id"
    capsa start "$id" &
    capsa kill "$id" KILL &
    wait
    ;;
  deletecreate) # delete --force while create runs
    capsa create --bundle "$bundle" "$id" &
    sleep "0.0$((RANDOM % 10))"
    capsa delete --force "$id" &
    wait
    ;;
  esac
  capsa delete --force "$id" || grep -q -E 'does not exist|not found|No such' "$mylog" \
    || echo "FAILED final delete --force $id" >>"$mylog"
  [ ! -e "$root/$id" ] || echo "LEFT state dir of $id" >>"$mylog"
}

t0=$(date +%s)
for kind in delete2 forcedelete2 killstart deletecreate; do
  pids=()
  for ((r = 0; r < races; r++)); do
    race "$kind" "$r" &
    pids+=($!)
    # at most $parallel races at once
    if [ ${#pids[@]} -ge "$parallel" ]; then
      wait "${pids[@]}"
      pids=()
    fi
  done
  wait "${pids[@]}"
done
t1=$(date +%s)
echo "races: $((4 * races)) (two deletes, two forced deletes, kill during start, delete during create) in $((t1 - t0)) s"

# --- figures ----------------------------------------------------------------------------------
sleep 0.5 # a killed process may need a moment to be reaped
after_cg=$(count_cgroups) after_mnt=$(count_mounts) after_proc=$(count_procs) after_st=$(count_states)
hangs=$(cat "$logs"/*.log 2>/dev/null | grep -c -E '^(HANG|STUCK)')
corrupt=$(cat "$logs"/*.log 2>/dev/null | grep -c -i -E 'corrupt')
race_fail=$(cat "$logs"/race-*.log 2>/dev/null | grep -c -E '^(FAILED|LEFT)')
printf '%-22s %8s %8s\n' "" before after
printf '%-22s %8s %8s\n' "cgroups ($mark*)" "$before_cg" "$after_cg" "mounts under $work" \
  "$before_mnt" "$after_mnt" "processes" "$before_proc" "$after_proc" "state dirs" "$before_st" "$after_st"
echo "state dirs left after the lifecycles: $leftover_after_cycles; hangs: $hangs; corrupt state: $corrupt; failed races: $race_fail"

status=0
if [ "$cycles_bad" -gt 0 ] || [ "$hangs" -gt 0 ] || [ "$corrupt" -gt 0 ] || [ "$race_fail" -gt 0 ] \
  || [ "$leftover_after_cycles" -gt 0 ] || [ "$after_cg" -gt "$before_cg" ] \
  || [ "$after_mnt" -gt "$before_mnt" ] || [ "$after_proc" -gt "$before_proc" ] \
  || [ "$after_st" -gt "$before_st" ]; then
  status=1
  echo "stress: FAILED; first problems:"
  grep -h -E '^(HANG|STUCK|FAILED|LEFT|CORRUPT)|capsa:' "$logs"/*.log | sort | uniq -c | sort -rn | head -15 | sed 's/^/  /'
  find "$root" -mindepth 1 -maxdepth 1 | head -5 | sed 's/^/  left: /'
  marked_pids | sort -u | head -5 | while read -r p; do echo "  process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done
  for d in $(own_cgroup_dirs); do find "$d" -mindepth 1 -maxdepth 3 -type d -name "$mark*" 2>/dev/null; done | head -5 | sed 's/^/  cgroup: /'
else
  echo "stress: ok"
fi
# leaked processes would keep the cleanup's mounts busy: kill ours
marked_pids | sort -u | xargs -r kill -9 2>/dev/null
exit $status
