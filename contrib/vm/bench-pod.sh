#!/bin/bash
# capsa: a pod as one VM: what a container added to a running VM pod costs, against a VM-mode
# container of its own, interleaved, median of N (wall clock, launch to exit of /bin/true):
# - member: `create` + `start` of a pod member (CRI annotations) in a running sandbox VM, until
#   the process its pid file names (the member's host process) exits;
# - vm: `capsa run` of the same bundle as a VM-mode container of its own (from the boot snapshot,
#   the default, and booting: run.oci.vm.snapshot=false);
# - container: `capsa run` in container mode, for scale.
# Usage: bench-pod.sh CAPSA ASSETS_DIR [N]   (run as root; busybox-static, jq and python3 needed)
set -euo pipefail
capsa=${1:?usage: bench-pod.sh CAPSA ASSETS_DIR [N]}
assets=${2:?usage: bench-pod.sh CAPSA ASSETS_DIR [N]}
n=${3:-11}
work=$(mktemp -d)
root=$work/state
export CAPSA_VM_ASSETS=$assets
trap '"$capsa" --root "$root" delete --force benchpod-sb >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh true sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
# bundle NAME JQ-FILTER: a bundle sharing the rootfs, config.json from `capsa spec` + the filter.
bundle () {
  mkdir -p "$work/$1"
  ln -s ../rootfs "$work/$1/rootfs"
  (cd "$work/$1" && "$capsa" spec)
  jq "del(.linux.resources) | .root.readonly = false | .process.terminal = false
    | .annotations[\"run.oci.vm.accel\"] = \"tcg\" | $2" "$work/$1/config.json" >"$work/$1/c"
  mv "$work/$1/c" "$work/$1/config.json"
}
bundle sb '.process.args = ["sleep", "1000000"] | .annotations["run.oci.handler"] = "vm"
  | .annotations["io.kubernetes.cri.container-type"] = "sandbox"'
bundle member '.process.args = ["true"] | .annotations["run.oci.handler"] = "vm"
  | .annotations["io.kubernetes.cri.container-type"] = "container"
  | .annotations["io.kubernetes.cri.sandbox-id"] = "benchpod-sb"'
bundle vm '.process.args = ["true"] | .annotations["run.oci.handler"] = "vm"'
bundle vmboot '.process.args = ["true"] | .annotations["run.oci.handler"] = "vm"
  | .annotations["run.oci.vm.snapshot"] = "false"'
bundle ctr '.process.args = ["true"]'

"$capsa" --root "$root" create -b "$work/sb" benchpod-sb </dev/null >/dev/null
"$capsa" --root "$root" start benchpod-sb
# One of each first: the snapshot of each shape is saved, caches are warm.
python3 - "$capsa" "$root" "$work" "$n" <<'PY'
import ctypes, os, statistics, subprocess, sys, time
capsa, root, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
null = subprocess.DEVNULL
def member(i):
    cid = "benchpod-m%d" % i
    pf = work + "/m.pid"
    t0 = time.monotonic()
    subprocess.check_call([capsa, "--root", root, "create", "-b", work + "/member", "--pid-file",
                           pf, cid], stdin=null, stdout=null)
    pid = int(open(pf).read())
    subprocess.check_call([capsa, "--root", root, "start", cid])
    while os.waitpid(-1, 0)[0] != pid:
        pass
    t = time.monotonic() - t0
    subprocess.check_call([capsa, "--root", root, "delete", cid])
    return t
def run(name, i):
    t0 = time.monotonic()
    subprocess.check_call([capsa, "--root", root, "run", "-b", work + "/" + name,
                           "benchpod-%s%d" % (name, i)], stdin=null, stdout=null)
    return time.monotonic() - t0
kinds = {"member": member, "vm": lambda i: run("vm", i), "vmboot": lambda i: run("vmboot", i),
         "ctr": lambda i: run("ctr", i)}
for k, f in kinds.items():
    f(1000)
res = {k: [] for k in kinds}
for i in range(n):
    for k, f in kinds.items():
        res[k].append(f(i))
labels = {"member": "member added to a running VM pod (create+start to exit)",
          "vm": "VM-mode container of its own, from the boot snapshot (run)",
          "vmboot": "VM-mode container of its own, booting (run)",
          "ctr": "container mode (run)"}
print("median of %d, interleaved; load %s" % (n, open("/proc/loadavg").read().split()[0]))
for k in kinds:
    v = sorted(res[k])
    print("%-62s %6.0f ms  (min %.0f, max %.0f)" % (labels[k], statistics.median(v) * 1000,
                                                  v[0] * 1000, v[-1] * 1000))
PY
