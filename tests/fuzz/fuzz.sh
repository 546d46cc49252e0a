#!/bin/bash
# fuzz.sh: build capsa's libFuzzer targets (clang, ASan+UBSan) and run or replay them.
#
# Usage: fuzz.sh build           compile the targets into $FUZZ_OUT
#        fuzz.sh run [TARGET...] build, then fuzz each target for $FUZZ_SECONDS (default 60),
#                                starting from tests/fuzz/corpus/TARGET; fails on a crash
#        fuzz.sh replay [TARGET...]  build, then run each target once over its seed corpus and
#                                tests/fuzz/regressions/TARGET (the regression test)
# Environment: FUZZ_BUILDDIR (a configured build dir holding config.h; default: the current
# directory when it has config.h), FUZZ_OUT (default $FUZZ_BUILDDIR/tests/fuzz), FUZZ_CC
# (default clang), FUZZ_SECONDS, FUZZ_JOBS (parallel compiles, default 2).
# Exit status 77 means "cannot fuzz here" (no clang or no libFuzzer runtime), with the reason.
set -uo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fuzzdir=$srcdir/tests/fuzz
builddir=${FUZZ_BUILDDIR:-$PWD}
out=${FUZZ_OUT:-$builddir/tests/fuzz}
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
all_targets=(config process state resources mount-options id signal)

die () {
  echo "fuzz.sh: $*" >&2
  exit 1
}
skip () {
  echo "fuzz.sh: skipped: $*" >&2
  exit 77
}

[ -f "$builddir/config.h" ] || die "no config.h in $builddir (set FUZZ_BUILDDIR to a configured build dir)"

san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
# $builddir/src: generated headers (git-commit.h) of an out-of-tree build
cflags=(-g -O1 -D_GNU_SOURCE -Wall -Wno-unused-parameter "${san[@]}" -I"$builddir"
  -I"$builddir/src" -I"$srcdir/libocispec" -I"$srcdir/src/libcapsa" -I"$srcdir/src" -I"$fuzzdir")
pkgs=(yajl libseccomp libcap libselinux)
grep -q '^#define HAVE_SYSTEMD 1' "$builddir/config.h" && pkgs+=(libsystemd)

build () {
  local probe lib srcs s o objs=() pc_cflags libs t newest
  command -v "$cc" >/dev/null || skip "$cc not found (apt-get install clang libclang-rt-14-dev)"
  mkdir -p "$out/obj" || die "cannot create $out"
  probe=$out/probe.c
  echo 'int LLVMFuzzerTestOneInput (const char *d, unsigned long n) { return 0; }' >"$probe"
  "$cc" -fsanitize=fuzzer,address,undefined -o "$out/probe" "$probe" >/dev/null 2>&1 \
    || skip "$cc cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"
  rm -f "$out/probe" "$probe"
  # shellcheck disable=SC2207
  pc_cflags=($(pkg-config --cflags "${pkgs[@]}" 2>/dev/null))
  # shellcheck disable=SC2207
  libs=($(pkg-config --libs "${pkgs[@]}" 2>/dev/null || echo -lyajl -lseccomp -lcap -lselinux) -ldl)

  # The library sources, as the Makefile builds them (minus the systemd driver when configured
  # without it); the archive lets each target pull in only what it uses.
  srcs=("$srcdir"/libocispec/*.c "$srcdir"/src/libcapsa/*.c "$srcdir"/src/libcapsa/cgroup/*.c
    "$srcdir"/src/libcapsa/sandbox/*.c)
  lib=$out/libfuzz.a
  newest=$(find "$srcdir/libocispec" "$srcdir/src" "$builddir/config.h" -name '*.h' -newer "$lib" 2>/dev/null | head -1)
  [ -f "$lib" ] || newest=yes
  local running=0 failed=0
  for s in "${srcs[@]}"; do
    case $s in
    */systemd.c | */sdbus-lazy.c) [[ " ${pkgs[*]} " == *" libsystemd "* ]] || continue ;;
    esac
    o=$out/obj/$(echo "${s#"$srcdir"/}" | tr / _).o
    objs+=("$o")
    [ -f "$o" ] && [ "$o" -nt "$s" ] && [ -z "$newest" ] && continue
    "$cc" "${cflags[@]}" "${pc_cflags[@]}" -fsanitize=fuzzer-no-link \
      -DCAPSA_VM_ASSETS_DIR='"/usr/local/lib/capsa"' -c "$s" -o "$o" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
      wait -n || failed=1
      running=$((running - 1))
    fi
  done
  while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
  done
  [ "$failed" -eq 0 ] || die "compiling the library failed"
  rm -f "$lib.tmp"
  ar rcs "$lib.tmp" "${objs[@]}" && mv "$lib.tmp" "$lib" || die "ar failed"
  for t in "${all_targets[@]}"; do
    if [ ! -x "$out/fuzz-$t" ] || [ "$lib" -nt "$out/fuzz-$t" ] || [ "$fuzzdir/fuzz-$t.c" -nt "$out/fuzz-$t" ] \
      || [ "$fuzzdir/fuzz-common.h" -nt "$out/fuzz-$t" ]; then
      "$cc" "${cflags[@]}" "${pc_cflags[@]}" -fsanitize=fuzzer -o "$out/fuzz-$t" \
        "$fuzzdir/fuzz-$t.c" "$lib" "${libs[@]}" || die "linking fuzz-$t failed"
    fi
  done
}

# targets ARGS...: the targets named on the command line, or all of them.
targets () {
  local t
  if [ $# -eq 0 ]; then
    printf '%s\n' "${all_targets[@]}"
    return
  fi
  for t in "$@"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || die "unknown target $t (one of: ${all_targets[*]})"
    echo "$t"
  done
}

# run TARGET...: fuzz each target for $seconds; new inputs go to $out/corpus-TARGET (not the
# source tree), crashes to $out/crash-TARGET-*.
run () {
  local t log runs status=0 artifacts
  for t in $(targets "$@"); do
    mkdir -p "$out/corpus-$t"
    log=$out/fuzz-$t.log
    # seed dirs that exist (git keeps no empty regressions/TARGET dir; libFuzzer stops on a
    # missing one)
    local seeds=()
    for d in "$fuzzdir/corpus/$t" "$fuzzdir/regressions/$t"; do
      [ -d "$d" ] && seeds+=("$d")
    done
    "$out/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/crash-$t-" "$out/corpus-$t" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
      printf 'fuzz %-14s ok: %s executions in %ss, corpus %s inputs\n' "$t" "${runs:-?}" \
        "$seconds" "$(find "$out/corpus-$t" -type f | wc -l)"
    else
      status=1
      artifacts=$(ls "$out/crash-$t-"* 2>/dev/null | tr '\n' ' ')
      printf 'fuzz %-14s FAILED (status %d) after %s executions: %s\n' "$t" "$rc" "${runs:-?}" \
        "${artifacts:-see $log}"
      grep -a -E '^(==[0-9]+==ERROR|SUMMARY|invariant failed|.*runtime error)' "$log" | head -5 | sed 's/^/  /'
      echo "  reproduce: $out/fuzz-$t FILE; keep it as a test: cp FILE $fuzzdir/regressions/$t/"
    fi
  done
  return $status
}

# replay TARGET...: run each target once over its seeds and regression inputs.
replay () {
  local t files n status=0
  for t in $(targets "$@"); do
    mapfile -t files < <(find "$fuzzdir/corpus/$t" "$fuzzdir/regressions/$t" -type f ! -name '*.md' 2>/dev/null | sort)
    n=${#files[@]}
    if [ "$n" -eq 0 ]; then
      printf 'replay %-14s no inputs\n' "$t"
      continue
    fi
    if "$out/fuzz-$t" -runs=1 "${files[@]}" >"$out/replay-$t.log" 2>&1; then
      printf 'replay %-14s ok: %d inputs\n' "$t" "$n"
    else
      status=1
      printf 'replay %-14s FAILED (see %s)\n' "$t" "$out/replay-$t.log"
      grep -a -E '^(Running:|==[0-9]+==ERROR|SUMMARY|invariant failed|.*runtime error)' "$out/replay-$t.log" | tail -5 | sed 's/^/  /'
    fi
  done
  return $status
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
case $cmd in
build) build ;;
run) build && run "$@" ;;
replay) build && replay "$@" ;;
*) die "unknown command $cmd (build, run or replay)" ;;
esac
