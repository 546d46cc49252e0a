#!/usr/bin/env bats
# isolation.bats: isolation as properties of real containers. Random sets of 2-4 containers
# (tests/isolation-gen.py: each namespace new, inherited, joined from another container or from a
# namespace file; rootfs and bind-mount propagation; cgroup paths) for CAPSA_PROP_ROUNDS rounds
# (default 3), from a seed printed with every run (CAPSA_PROP_SEED=N replays it), checked against
# what the kernel shows of the running containers:
#   namespaces  two containers' /proc/PID/ns/* links (and the host's) are equal exactly when the
#               configs say so; a new user namespace has the configured id maps
#   cgroups     every container is in cgroups of its own, below the runtime's, disjoint subtrees
#   mounts      a mount made in a container reaches another or the host only through a bind
#               mount whose propagation (and the rootfs propagation) says so; one made on the
#               host reaches a container only that way
#   processes   a process in a container sees (in /proc), signals or ptraces another container's
#               process only when its pid namespace is the other's, or the host's
#   VM mode     two VM-mode containers: separate QEMU processes in their own cgroups, sharing no
#               file, memory backend, socket or pipe beyond read-only files (maps and fds)
# Each container property fails against a capsa without its protection: the iso-* mutants of
# tests/escape-mutants (make check-escapes). The VM check fails for two VM-mode containers given
# one rootfs whose guests hold a file open for writing (the shared file shows in both QEMUs' fds).

load helpers

PROGS=$BATS_TEST_DIRNAME/progs

# One seed for the file: every property test draws the same container sets (CAPSA_PROP_SEED
# replays a run; each property test prints it).
setup_file () {
  if [ -z "${CAPSA_PROP_SEED:-}" ]; then
    CAPSA_PROP_SEED=$(($(od -An -N4 -tu4 /dev/urandom) % 1000000000))
  fi
  export CAPSA_PROP_SEED
}

setup () {
  capsa_setup_env
  build_rootfs
  command -v python3 >/dev/null || skip "python3 missing"
  command -v nsenter >/dev/null && command -v unshare >/dev/null || skip "util-linux nsenter/unshare missing"
  SEED=$CAPSA_PROP_SEED
  ROUNDS=${CAPSA_PROP_ROUNDS:-3}
  # the bundles are searched by the mapped uids of user namespaces
  local d=$BATS_TEST_TMPDIR
  while [ "$d" != / ]; do
    case $d in "$BATS_RUN_TMPDIR"*) chmod o+x "$d" ;; esac
    d=$(dirname "$d")
  done
  chmod o+x "$BATS_TEST_TMPDIR"
}

# make_plan: the random rounds of this test (plan.json), every container's config.json written.
make_plan () {
  local timens=time
  [ -e /proc/self/ns/time ] || timens=notime
  PLAN=$BATS_TEST_TMPDIR/plan.json
  BASE=$BATS_TEST_TMPDIR/spec.json
  (cd "$BATS_TEST_TMPDIR" && "$CAPSA" spec && mv config.json "$BASE") || fail "capsa spec"
  TOK=$$
  python3 "$BATS_TEST_DIRNAME/isolation-gen.py" bundles "$SEED" "$ROUNDS" "$timens" "$BASE" \
    "$BATS_TEST_TMPDIR" "$MARK" "$TOK" || fail "the generator failed"
}

# ctr_pid ID: the container's pid from `capsa state` (without a jq per container: each start
# of a tool costs here).
ctr_pid () {
  local st
  st=$(capsa state "$1") && [[ "$st" =~ \"pid\":\ *([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

teardown () {
  capsa_teardown
}

# Namespace types as config and /proc/PID/ns names.
declare -gA PROCNS=([user]=user [pid]=pid [network]=net [ipc]=ipc [uts]=uts [mount]=mnt [cgroup]=cgroup [time]=time)

# ctr_plan R I: container I of round R in the plan.
ctr_plan () {
  jq -c --argjson r "$1" --argjson i "$2" '.rounds[$r].containers[$i]' "$PLAN"
}

# prop_fail R MESSAGE I...: fail with the seed, the round, the message and the plan (and
# namespaces as written to config.json) of the containers I involved.
prop_fail () {
  local r=$1 msg=$2 i
  shift 2
  {
    echo "isolation property violated: $msg"
    echo "  seed $SEED round $r (replay: CAPSA_PROP_SEED=$SEED CAPSA_PROP_ROUNDS=$ROUNDS)"
    for i in "$@"; do
      [ "$i" = host ] && continue
      echo "  c$i plan:   $(ctr_plan "$r" "$i" | jq -c '{ns, label: .label, rootfsPropagation, bind, bindState, cgroup}')"
      echo "  c$i config: $(jq -c '{namespaces: .linux.namespaces, cgroupsPath: .linux.cgroupsPath, rootfsPropagation: .linux.rootfsPropagation, mounts: [(.mounts // [])[] | select(.destination == "/shared")]}' "$BATS_TEST_TMPDIR/r$r/c$i/config.json")"
    done
  } >&2
  return 1
}

# round_start R: make the round's namespace files, the shared host directory $H (a shared
# tmpfs) and its containers; sets N, ID[], PID[] and what vars.sh of the round says (LABEL[i,type],
# NEWMOUNT[], SENDS[], RECEIVES[], BIND[], UIDMAP[], GIDMAP[], TIMEOFF[]).
round_start () {
  local r=$1 i k
  local dir=$BATS_TEST_TMPDIR/r$r
  H=$dir/hostdir
  mkdir "$H"
  mount -t tmpfs "iso$MARK-hostdir" "$H"
  defer "umount -R -l $H"
  mount --make-shared "$H"
  mkdir "$H/from-host"
  unset LABEL
  declare -gA LABEL
  ID=() PID=() NEWMOUNT=() SENDS=() RECEIVES=() BIND=() UIDMAP=() GIDMAP=() TIMEOFF=() FILES=()
  # shellcheck source=/dev/null
  . "$dir/vars.sh"
  # namespaces bind-mounted on files, made before anything is mounted on $H
  for ((k = 0; k < ${#FILES[@]}; k++)); do
    touch "$dir/ns-f$k"
    case ${FILES[k]} in
    network) unshare --net="$dir/ns-f$k" true ;;
    mount) unshare --mount="$dir/ns-f$k" --propagation private true ;;
    *) unshare --"${FILES[k]}"="$dir/ns-f$k" true ;;
    esac || fail "unshare --${FILES[k]}=$dir/ns-f$k failed"
    defer "umount $dir/ns-f$k"
  done
  local probe
  probe=$(build_prog iso-probe -static)
  defer "find /sys/fs/cgroup -maxdepth 6 -type d -name capsa-test-$MARK-pod$r -delete"
  for ((i = 0; i < N; i++)); do
    local b=$dir/c$i
    ID[i]=iso-$MARK-r$r-c$i
    mkdir -p "$H/from-c$i"
    # hard links: the containers write nothing of the fixture's files (only their own dirs)
    cp -al "$CAPSA_TEST_CACHE/rootfs" "$b/rootfs" 2>/dev/null || cp -a "$CAPSA_TEST_CACHE/rootfs" "$b/rootfs"
    cp "$probe" "$b/rootfs/bin/iso-probe"
    mkdir -p "$b/rootfs/shared" "$b/rootfs/mnt/rt"
    # the earlier containers' pids in the paths of their namespaces
    for ((k = 0; k < i; k++)); do sed -i "s|/proc/@PID$k@/|/proc/${PID[k]}/|g" "$b/config.json"; done
    capsa run -d -b "$b" "${ID[i]}" </dev/null >"$dir/c$i.out" 2>"$dir/c$i.err" ||
      prop_fail "$r" "container c$i did not start: $(cat "$dir/c$i.err")" "$i" || return 1
    PID[i]=$(ctr_pid "${ID[i]}")
  done
}

# round_end R: delete the round's containers, the last first (they may hold pid namespaces of
# earlier ones).
round_end () {
  local i
  for ((i = N - 1; i >= 0; i--)); do
    capsa delete -f "${ID[i]}" || fail "delete ${ID[i]}"
  done
}


# for_rounds CHECK: round_start, CHECK R, round_end for every round.
for_rounds () {
  local r
  echo "# ${BATS_TEST_DESCRIPTION#isolation: }: seed $SEED, $ROUNDS rounds (replay: CAPSA_PROP_SEED=$SEED)" >&3
  make_plan
  for ((r = 0; r < ROUNDS; r++)); do
    round_start "$r" || return 1
    "$1" "$r" || return 1
    round_end "$r"
  done
}

# nm I: "host" or "cI", for messages.
nm () {
  if [ "$1" = host ]; then echo host; else echo "c$1"; fi
}

# ---------------------------------------------------------------- namespaces ---------------

check_namespaces () {
  local r=$1 i a b t
  declare -A LINK
  # every link at once (one readlink: each start of a tool costs here)
  local files=() types=() links
  for t in user pid network ipc uts mount cgroup time; do
    [ -e "/proc/self/ns/${PROCNS[$t]}" ] || continue
    types+=("$t")
    files+=("/proc/self/ns/${PROCNS[$t]}")
    for ((i = 0; i < N; i++)); do files+=("/proc/${PID[i]}/ns/${PROCNS[$t]}"); done
  done
  mapfile -t links < <(readlink "${files[@]}")
  [ "${#links[@]}" -eq "${#files[@]}" ] || prop_fail "$r" "cannot read the namespace links: ${links[*]}" || return 1
  local k=0
  for t in "${types[@]}"; do
    LINK[host,$t]=${links[k++]}
    LABEL[host,$t]=host
    for ((i = 0; i < N; i++)); do LINK[$i,$t]=${links[k++]}; done
    for ((a = -1; a < N; a++)); do
      local an=$a
      [ "$a" -ge 0 ] || an=host
      for ((b = a + 1; b < N; b++)); do
        [ "$b" -ge 0 ] || continue
        local want=different got=different
        [ "${LABEL[$an,$t]}" = "${LABEL[$b,$t]}" ] && want=equal
        [ "${LINK[$an,$t]}" = "${LINK[$b,$t]}" ] && got=equal
        [ "$want" = "$got" ] || prop_fail "$r" "$t namespaces of $(nm "$an") and c$b: config says $want (${LABEL[$an,$t]} vs ${LABEL[$b,$t]}), kernel says $got (${LINK[$an,$t]} vs ${LINK[$b,$t]})" "$an" "$b" || return 1
      done
    done
  done
  # a new user namespace has the configured maps; time offsets are the configured ones
  local m
  for ((i = 0; i < N; i++)); do
    if [ -n "${UIDMAP[i]}" ]; then
      m=$(awk '{print $1, $2, $3}' "/proc/${PID[i]}/uid_map")
      [ "$m" = "${UIDMAP[i]}" ] || prop_fail "$r" "uid_map of c$i is '$m', config says '${UIDMAP[i]}'" "$i" || return 1
      m=$(awk '{print $1, $2, $3}' "/proc/${PID[i]}/gid_map")
      [ "$m" = "${GIDMAP[i]}" ] || prop_fail "$r" "gid_map of c$i is '$m', config says '${GIDMAP[i]}'" "$i" || return 1
    fi
    if [ -n "${TIMEOFF[i]}" ]; then
      m=$(awk '{printf "%s %s %s;", $1, $2, $3}' "/proc/${PID[i]}/timens_offsets")
      [ "$m" = "${TIMEOFF[i]}" ] || prop_fail "$r" "timens_offsets of c$i: '$m', config says '${TIMEOFF[i]}'" "$i" || return 1
    fi
  done
}

@test "isolation: namespaces of random containers are equal exactly when their configs say so" {
  for_rounds check_namespaces
}

# ---------------------------------------------------------------- cgroups ------------------

# cgroup_paths PID: "HIERARCHY-ID:CONTROLLERS PATH" lines of /proc/PID/cgroup (host view).
cgroup_paths () {
  local line rest
  while IFS= read -r line; do
    rest=${line#*:}
    echo "${line%%:*}:${rest%%:*} ${rest#*:}"
  done <"/proc/$1/cgroup"
}

# check_cgroups_disjoint R PID... : each process's cgroup in every hierarchy lies strictly below
# the runtime's own, and no two are equal or nested. The pids are the containers' (or their
# VMMs') in round order; names in messages are c0, c1, ...
check_cgroups_disjoint () {
  local r=$1
  shift
  local pids=("$@") i j h own
  declare -A OWN CG
  while read -r h own; do OWN[$h]=$own; done < <(cgroup_paths self)
  for ((i = 0; i < ${#pids[@]}; i++)); do
    while read -r h p; do
      CG[$i,$h]=$p
      own=${OWN[$h]%/}
      [[ "$p" == "$own"/?* ]] || prop_fail "$r" "cgroup $h of c$i is $p, not strictly below the runtime's $own" "$i" || return 1
    done < <(cgroup_paths "${pids[i]}")
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    for ((j = i + 1; j < ${#pids[@]}; j++)); do
      for h in "${!OWN[@]}"; do
        local a=${CG[$i,$h]} b=${CG[$j,$h]}
        if [ "$a" = "$b" ] || [[ "$a" == "$b"/* ]] || [[ "$b" == "$a"/* ]]; then
          prop_fail "$r" "cgroups $h of c$i ($a) and c$j ($b) are not disjoint subtrees" "$i" "$j" || return 1
        fi
      done
    done
  done
  # and the kernel agrees: a container's cgroup (pids hierarchy) lists none of the others
  local pidsdir
  pidsdir=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ {print $2; exit}' /proc/self/mounts)
  [ -n "$pidsdir" ] || return 0 # no v1 pids hierarchy (cgroup v2: the paths above are all)
  for ((i = 0; i < ${#pids[@]}; i++)); do
    local path="" procs
    for h in "${!OWN[@]}"; do [[ "$h" =~ :(.*,)?pids(,.*)?$ ]] && path=${CG[$i,$h]}; done
    procs=$'\n'$(<"$pidsdir$path/cgroup.procs")$'\n'
    [[ "$procs" == *$'\n'"${pids[i]}"$'\n'* ]] || prop_fail "$r" "c$i (${pids[i]}) not in its cgroup $path" "$i" || return 1
    for ((j = 0; j < ${#pids[@]}; j++)); do
      [ "$i" != "$j" ] || continue
      [[ "$procs" != *$'\n'"${pids[j]}"$'\n'* ]] || prop_fail "$r" "c$j (${pids[j]}) is in c$i's cgroup $path" "$i" "$j" || return 1
    done
  done
}

check_cgroups () {
  check_cgroups_disjoint "$1" "${PID[@]}"
}

@test "isolation: random containers' cgroups are disjoint subtrees below the runtime's own" {
  for_rounds check_cgroups
  # nothing of the rounds' cgroups remains (ids, own and pod paths all carry the test's mark)
  local left
  left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "*$MARK*" ! -name "capsa-test-$MARK-pod*" 2>/dev/null)
  [ -z "$left" ] || fail "cgroups left behind: $left"
}

# ---------------------------------------------------------------- mounts -------------------

# mount_seen SOURCE: the mount table in $MI (an observer's mountinfo) has a tmpfs of SOURCE.
mount_seen () {
  [[ "$MI" == *" - tmpfs $1 "* ]]
}

check_mounts () {
  local r=$1 i o src want got
  # the host mounts on its shared directory; each container with a mount namespace of its own
  # mounts on the directory bind-mounted from it (when it has one) and on a directory of its
  # rootfs, through nsenter (a process of the container with CAP_SYS_ADMIN)
  mount -t tmpfs "iso$MARK-r$r-host" "$H/from-host"
  for ((i = 0; i < N; i++)); do
    [ "${NEWMOUNT[i]}" = true ] || continue
    if [ "${BIND[i]}" != none ]; then
      nsenter -t "${PID[i]}" -m /bin/busybox mount -t tmpfs "iso$MARK-r$r-c$i-sh" "/shared/from-c$i" ||
        prop_fail "$r" "c$i cannot mount on /shared/from-c$i" "$i" || return 1
    fi
    nsenter -t "${PID[i]}" -m /bin/busybox mount -t tmpfs "iso$MARK-r$r-c$i-rt" /mnt/rt ||
      prop_fail "$r" "c$i cannot mount on /mnt/rt" "$i" || return 1
  done
  # every observer (the host, every container) against every mount made
  local obs=(host)
  for ((i = 0; i < N; i++)); do obs+=("$i"); done
  for o in "${obs[@]}"; do
    local opid=self olabel=host orecv=true
    if [ "$o" != host ]; then
      # a chroot (no mount namespace of its own) lists only the mounts below its root: that
      # view says nothing of its namespace (the namespaces test compares those)
      [ "${NEWMOUNT[o]}" = true ] || continue
      opid=${PID[o]} olabel=${LABEL[$o,mount]} orecv=${RECEIVES[o]}
    fi
    MI=$(<"/proc/$opid/mountinfo")
    # the host's mount: in the host's namespace, and wherever it propagates to
    want=false
    { [ "$olabel" = host ] || [ "$orecv" = true ]; } && want=true
    got=false
    mount_seen "iso$MARK-r$r-host" && got=true
    [ "$want" = "$got" ] || prop_fail "$r" "the host's mount on the shared directory: $(nm "$o") sees it: $got, expected $want" "$o" || return 1
    for ((i = 0; i < N; i++)); do
      [ "${NEWMOUNT[i]}" = true ] || continue
      [ "$o" != "$i" ] || continue
      # the mount on the shared bind mount reaches the host's peer group only from a peer, and
      # from there whoever receives from it (the host included)
      if [ "${BIND[i]}" != none ]; then
        want=false
        [ "${SENDS[i]}" = true ] && { [ "$olabel" = host ] || [ "$orecv" = true ]; } && want=true
        got=false
        mount_seen "iso$MARK-r$r-c$i-sh" && got=true
        [ "$want" = "$got" ] || prop_fail "$r" "c$i's mount on /shared: $(nm "$o") sees it: $got, expected $want" "$i" "$o" || return 1
      fi
      # a mount elsewhere in the container stays there
      ! mount_seen "iso$MARK-r$r-c$i-rt" || prop_fail "$r" "c$i's mount on /mnt/rt is visible to $(nm "$o")" "$i" "$o" || return 1
    done
    # and each container sees its own mounts
    if [ "$o" != host ] && [ "${NEWMOUNT[o]}" = true ]; then
      mount_seen "iso$MARK-r$r-c$o-rt" || prop_fail "$r" "c$o does not see its own mount" "$o" || return 1
    fi
  done
}

@test "isolation: a mount reaches another container or the host only as propagation says" {
  for_rounds check_mounts
}

# ---------------------------------------------------------------- processes ----------------

check_processes () {
  local r=$1 a b toks=() out
  local -a hostpids
  for ((b = 0; b < N; b++)); do toks+=("$TOK$r$b"); done
  for ((a = 0; a < N; a++)); do
    # without a mount namespace of its own the container has no /proc to look in
    [ "${NEWMOUNT[a]}" = true ] || continue
    hostpids=()
    for ((b = 0; b < N; b++)); do [ "$a" = "$b" ] || hostpids+=("${PID[b]}"); done
    out=$(capsa exec "${ID[a]}" /bin/iso-probe "${toks[@]}" -- "${hostpids[@]}" </dev/null 2>&1) ||
      prop_fail "$r" "iso-probe in c$a failed: $out" "$a" || return 1
    for ((b = 0; b < N; b++)); do
      local pa=${LABEL[$a,pid]} pb=${LABEL[$b,pid]} want=false got=false
      { [ "$pa" = "$pb" ] || [ "$pa" = host ]; } && want=true
      grep -q "^see $TOK$r$b " <<<"$out" && got=true
      [ "$want" = "$got" ] || prop_fail "$r" "c$a sees c$b's process in its /proc: $got, expected $want" "$a" "$b" || return 1
      [ "$a" != "$b" ] || continue
      if [ "$want" = false ]; then
        # not visible: its host pid must not reach it either
        grep -qx "kill ${PID[b]} ESRCH" <<<"$out" || prop_fail "$r" "c$a signals c$b (pid ${PID[b]}): $(grep "^kill ${PID[b]} " <<<"$out")" "$a" "$b" || return 1
        grep -qx "ptrace ${PID[b]} ESRCH" <<<"$out" || prop_fail "$r" "c$a ptraces c$b (pid ${PID[b]}): $(grep "^ptrace ${PID[b]} " <<<"$out")" "$a" "$b" || return 1
      fi
    done
  done
}

@test "isolation: a container's process sees, signals and ptraces another's only in a shared pid namespace" {
  for_rounds check_processes
}

# ---------------------------------------------------------------- VM mode ------------------

# vm_assets: find the guest kernel and initramfs (as vm-confine.bats does), or skip.
vm_assets () {
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
  if [ -z "${CAPSA_VM_ASSETS:-}" ]; then
    local d
    for d in "${TESTS_BUILDDIR:-}/vm" "$(dirname "$CAPSA")/vm" /usr/local/lib/capsa /usr/lib/capsa; do
      if [ -f "$d/vmlinux" ] && [ -f "$d/initramfs" ]; then
        CAPSA_VM_ASSETS=$d
        break
      fi
    done
  fi
  [ -n "${CAPSA_VM_ASSETS:-}" ] && [ -f "$CAPSA_VM_ASSETS/vmlinux" ] && [ -f "$CAPSA_VM_ASSETS/initramfs" ] ||
    skip "guest kernel/initramfs missing (make vm-assets, or set CAPSA_VM_ASSETS)"
  export CAPSA_VM_ASSETS
  export CAPSA_VM_SNAPSHOT_DIR=$CAPSA_TEST_CACHE/vm-snapshots
  CAPSA_TEST_TIMEOUT=${CAPSA_VM_TEST_TIMEOUT:-90}
}

# shared_objects PID1 PID2: the file-like objects both processes map or hold open, one line each:
# "DEV:INO W1 W2 NAME", W 1 when that process may write it (a shared writable mapping, an fd
# open for writing, or any socket or pipe). Character devices and anonymous inodes (one inode
# for every eventfd, ...) are left out: they are not objects shared through a path. Then a
# line "exe DEV:INO" for PID1's executable, so the caller can check the comparison saw it.
shared_objects () {
  python3 - "$1" "$2" <<'PY'
import os, stat, sys

def objects(pid):
    objs = {}
    def add(key, w, name):
        old = objs.get(key, (0, name))
        objs[key] = (max(old[0], w), old[1])
    for line in open("/proc/%s/maps" % pid):
        f = line.split(None, 5)
        if len(f) < 6 or f[4] == "0":
            continue
        perms, dev, ino, name = f[1], f[3], f[4], f[5].strip()
        ma, mi = dev.split(":")
        add("%d:%d:%s" % (int(ma, 16), int(mi, 16), ino), 1 if ("w" in perms and perms[3] == "s") else 0, name)
    for fd in os.listdir("/proc/%s/fd" % pid):
        p = "/proc/%s/fd/%s" % (pid, fd)
        try:
            st = os.stat(p)
            link = os.readlink(p)
            flags = 0
            for l in open("/proc/%s/fdinfo/%s" % (pid, fd)):
                if l.startswith("flags:"):
                    flags = int(l.split()[1], 8)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) or link.startswith("anon_inode:"):
            continue
        w = 0 if (flags & 3) == os.O_RDONLY and not (stat.S_ISSOCK(st.st_mode) or stat.S_ISFIFO(st.st_mode)) else 1
        add("%d:%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino), w, link)
    return objs

a, b = objects(sys.argv[1]), objects(sys.argv[2])
for k in sorted(set(a) & set(b)):
    print(k, a[k][0], b[k][0], a[k][1].replace(" ", "_"))
st = os.stat("/proc/%s/exe" % sys.argv[1])
print("exe %d:%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
PY
}

@test "isolation: two VM-mode containers: separate QEMUs and cgroups, nothing shared but read-only files" {
  vm_assets
  local r=vm i dir=$BATS_TEST_TMPDIR/rvm
  mkdir -p "$dir"
  N=2 ID=() PID=()
  local -a QEMU
  for ((i = 0; i < N; i++)); do
    make_bundle "$dir/c$i" sh -c 'echo ready; exec sleep 1000'
    BUNDLE=$dir/c$i cfg '.annotations["run.oci.handler"] = "vm" | .linux.cgroupsPath = $p' --arg p "capsa-test-$MARK-vm$i"
    ID[i]=iso-$MARK-vm$i
    capsa run -d -b "$dir/c$i" "${ID[i]}" </dev/null >"$dir/c$i.out" 2>"$dir/c$i.err" || fail "vm c$i: $(cat "$dir/c$i.err")"
    defer "find /sys/fs/cgroup -maxdepth 6 -type d -name capsa-test-$MARK-vm$i -delete"
  done
  for ((i = 0; i < N; i++)); do
    wait_for grep -q ready "$dir/c$i.out" || fail "vm c$i did not boot: $(cat "$dir/c$i.err")"
    PID[i]=$(pid_of "${ID[i]}")
    QEMU[i]=$(awk '{print $1}' "/proc/${PID[i]}/task/${PID[i]}/children")
    [ -n "${QEMU[i]}" ] || fail "vm c$i: no hypervisor process under its init ${PID[i]}"
    grep -qa qemu "/proc/${QEMU[i]}/cmdline" || fail "vm c$i: child ${QEMU[i]} is not QEMU"
  done
  [ "${QEMU[0]}" != "${QEMU[1]}" ] || fail "one QEMU for both"
  # each QEMU in its container's cgroups; the two disjoint
  for ((i = 0; i < N; i++)); do
    [ "$(cat "/proc/${QEMU[i]}/cgroup")" = "$(cat "/proc/${PID[i]}/cgroup")" ] ||
      fail "vm c$i: QEMU's cgroups differ from its container's: $(cat "/proc/${QEMU[i]}/cgroup")"
  done
  check_cgroups_disjoint vm "${QEMU[@]}"
  # maps and open files: an object both hold must be a read-only one for both
  local out shared bad exe
  out=$(shared_objects "${QEMU[0]}" "${QEMU[1]}") || fail "cannot read the QEMUs' maps and fds"
  exe=$(sed -n 's/^exe //p' <<<"$out")
  shared=$(grep -v '^exe ' <<<"$out")
  bad=$(awk '$2 == 1 || $3 == 1' <<<"$shared")
  [ -z "$bad" ] || fail "objects both QEMUs hold, writable by one (DEV:INO W0 W1 NAME): $bad"
  # the comparison sees real objects: the QEMU binary is mapped by both
  grep -q "^$exe " <<<"$shared" || fail "the QEMU binary ($exe) is not among the shared objects: $shared"
  echo "# vm: $(wc -l <<<"$shared") read-only objects shared by the two QEMUs" >&3
  [ -z "${CAPSA_PROP_DEBUG:-}" ] || sed "s/^/# /" <<<"$shared" >&3
  for ((i = N - 1; i >= 0; i--)); do
    capsa kill "${ID[i]}" KILL
    wait_status "${ID[i]}" stopped
    capsa delete "${ID[i]}"
  done
}
