#!/usr/bin/env python3
"""isolation-gen.py SEED ROUNDS [notime]: random container sets for tests/isolation.bats, as JSON.

Each round is 2-4 containers; for each container and namespace type the generator picks one of
  new   a namespace of its own ("ns": {"type": ...} without a path)
  host  inherited from the runtime (the type is left out of .linux.namespaces)
  ctr   another (earlier) container's, joined by path /proc/PID/ns/TYPE
  file  a namespace the test made beforehand and bind-mounted on a file (unshare --TYPE=FILE)
and derives what the kernel must then show: "label" names the namespace each container ends
up in (two containers' /proc/PID/ns/X links are equal exactly when their labels are), "owner"
the user namespace that owns it. Only configs a runtime must accept are generated: a container
in a user namespace other than the host's gets a new mount namespace, a pid namespace owned by
its user namespace (it mounts /proc), and joins only namespaces its user namespace owns.

For the mount property it also picks the rootfs propagation and how the shared host directory
(a shared tmpfs the test mounts) is bind-mounted at /shared, and derives that bind mount's
state in the container: "peer" (in the host mount's peer group: sends and receives), "slave"
or "slaveshared" (receives only), "private"/"alone"/"none" (neither).

isolation-gen.py bundles SEED ROUNDS time|notime BASE TESTDIR MARK TOKEN writes the plan
(TESTDIR/plan.json), every round's configs (TESTDIR/rR/cI/config.json) and what the test reads
of them, as shell assignments (TESTDIR/rR/vars.sh).
"""
import json
import os
import random
import sys

TYPES = ["user", "pid", "network", "ipc", "uts", "mount", "cgroup", "time"]
FILE_TYPES = ["network", "ipc", "uts", "cgroup", "time", "mount"]
# shared twice as often: the only way a container's mount reaches the host
ROOT_PROPS = [None, "private", "rprivate", "slave", "rslave", "shared", "rshared", "shared", "rshared"]
BIND_PROPS = ["none", "default", "private", "rprivate", "slave", "rslave", "shared", "rshared"]


def copy_state(root_prop, userns):
    """The container's copy of the host's shared mount after "/" got its propagation."""
    # a mount namespace owned by another user namespace gets the host's shared mounts as slaves
    base = "slave" if userns != "host" else "peer"
    kind = (root_prop or "rslave").lstrip("r")
    if kind == "private":
        return "private"
    if kind == "slave":
        return "slave"
    return "peer" if base == "peer" else "slaveshared"  # shared


def bind_state(src, opt):
    """A bind mount of a mount in state src, then the propagation option opt applied."""
    if opt in ("none",):
        return "none"
    if opt == "default":
        return src
    kind = opt.lstrip("r")
    if kind == "private":
        return "private"
    if kind == "slave":
        return "private" if src == "private" else "slave"
    # shared
    return {"peer": "peer", "slave": "slaveshared", "slaveshared": "slaveshared", "private": "alone"}[src]


def gen_round(rng, r, timens):
    n = rng.randint(2, 4)
    ctrs = []
    files = []
    for i in range(n):
        c = {"index": i, "ns": {}, "label": {}, "owner": {}}
        earlier = ctrs[:]
        # user namespace first: it decides what the others may be
        choices = ["host", "host", "new", "new"]
        joinable = [e for e in earlier if e["label"]["user"] != "host"]
        if joinable:
            choices.append("ctr")
        how = rng.choice(choices)
        if how == "new":
            c["ns"]["user"] = {"how": "new", "uid": rng.choice([100000, 165536, 231072]),
                               "gid": rng.choice([100000, 165536, 231072]),
                               "size": rng.choice([65536, 1000])}
            c["label"]["user"] = "r%d-c%d" % (r, i)
        elif how == "ctr":
            e = rng.choice(joinable)
            c["ns"]["user"] = {"how": "ctr", "ref": e["index"]}
            c["label"]["user"] = e["label"]["user"]
        else:
            c["ns"]["user"] = {"how": "host"}
            c["label"]["user"] = "host"
        c["owner"]["user"] = "host"
        u = c["label"]["user"]
        user_how = c["ns"]["user"]["how"]
        for t in TYPES[1:]:
            if t == "time" and not timens:
                continue
            opts = ["new", "new"] + (["new", "new"] if t == "mount" else [])
            # inherited: needs no privilege over the host's namespace, except where the
            # container mounts something that belongs to it (/proc, and the whole mount tree)
            if not (u != "host" and t in ("pid", "mount")):
                opts.append("host")
            # joined by path: joins happen before a new user namespace is made, after a
            # joined one; the latter can only enter what its user namespace owns
            cands = []
            if t != "mount":
                for e in earlier:
                    if user_how == "ctr" and e["owner"][t] != u:
                        continue
                    if u != "host" and t == "pid" and e["owner"][t] != u:
                        continue  # /proc of a pid namespace another user namespace owns
                    cands.append(e)
            if cands:
                opts.append("ctr")
            if t in FILE_TYPES and user_how != "ctr" and not (t == "mount" and u != "host"):
                opts.append("file")
            how = rng.choice(opts)
            if how == "new":
                c["ns"][t] = {"how": "new"}
                c["label"][t] = "r%d-c%d" % (r, i)
                c["owner"][t] = u
            elif how == "host":
                c["ns"][t] = {"how": "host"}
                c["label"][t] = "host"
                c["owner"][t] = "host"
            elif how == "ctr":
                e = rng.choice(cands)
                c["ns"][t] = {"how": "ctr", "ref": e["index"]}
                c["label"][t] = e["label"][t]
                c["owner"][t] = e["owner"][t]
            else:
                k = len(files)
                files.append({"type": t, "index": k})
                c["ns"][t] = {"how": "file", "file": k}
                c["label"][t] = "r%d-f%d" % (r, k)
                c["owner"][t] = "host"
        if c["ns"].get("time", {}).get("how") == "new" and rng.random() < 0.5:
            c["timeOffsets"] = {"monotonic": {"secs": rng.randint(1, 10**6), "nanosecs": 0},
                                "boottime": {"secs": rng.randint(1, 10**6), "nanosecs": 7}}
        c["newmount"] = c["ns"]["mount"]["how"] == "new"
        if c["newmount"]:
            c["rootfsPropagation"] = rng.choice(ROOT_PROPS)
            c["bind"] = rng.choice(BIND_PROPS)
            c["bindState"] = bind_state(copy_state(c["rootfsPropagation"], u), c["bind"])
        else:
            c["rootfsPropagation"] = None
            c["bind"] = "none"
            c["bindState"] = "none"
        # what the test expects of the shared directory's mounts
        c["sends"] = c["bindState"] == "peer"
        c["receives"] = c["bindState"] in ("peer", "slave", "slaveshared")
        # cgroups: the default (the id under the caller's cgroup), a path of its own, or a
        # sibling under a pod-like parent shared by the round
        c["cgroup"] = rng.choice(["default", "own", "pod"])
        ctrs.append(c)
    return {"round": r, "containers": ctrs, "files": files}


PROCNS = {"user": "user", "pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts",
          "mount": "mnt", "cgroup": "cgroup", "time": "time"}


def config(plan, r, i, base, d, hostdir, mark, token):
    """Container i of round r as d/config.json, made from base (the output of `capsa spec`,
    edited as helpers.bash's make_bundle does); another container's namespace is the path
    /proc/@PIDj@/ns/TYPE, for the test to fill in. Returns the shell assignments the test
    reads of it."""
    c = plan["rounds"][r]["containers"][i]
    cfg = json.load(open(base))
    cfg.pop("hostname", None)
    cfg.pop("domainname", None)
    lx = cfg["linux"]
    lx.pop("resources", None)
    cfg["root"]["readonly"] = False
    p = cfg["process"]
    p["terminal"] = False
    p["args"] = ["sleep", token]
    p["env"] = p.get("env", []) + ["CAPSA_TEST_MARK=" + mark]
    # the probe's ptrace is refused by isolation, not for want of the capability
    for k in list(p.get("capabilities", {})):
        p["capabilities"][k] = sorted(set(p["capabilities"][k] + ["CAP_SYS_PTRACE"]))
    nss = []
    for t in TYPES:
        ns = c["ns"].get(t, {"how": "host"})
        if ns["how"] == "new":
            nss.append({"type": t})
        elif ns["how"] == "ctr":
            nss.append({"type": t, "path": "/proc/@PID%d@/ns/%s" % (ns["ref"], PROCNS[t])})
        elif ns["how"] == "file":
            nss.append({"type": t, "path": "%s/ns-f%d" % (os.path.dirname(d), ns["file"])})
    lx["namespaces"] = nss
    u = c["ns"]["user"]
    if u["how"] == "new":
        lx["uidMappings"] = [{"containerID": 0, "hostID": u["uid"], "size": u["size"]}]
        lx["gidMappings"] = [{"containerID": 0, "hostID": u["gid"], "size": u["size"]}]
    if c["label"]["user"] != "host":
        # what only the owner of the host's network, ipc and cgroup namespaces may mount
        cfg["mounts"] = [m for m in cfg["mounts"] if m["type"] not in ("sysfs", "cgroup", "mqueue")]
    if "timeOffsets" in c:
        lx["timeOffsets"] = c["timeOffsets"]
    if c["cgroup"] == "default":
        lx.pop("cgroupsPath", None)
    elif c["cgroup"] == "own":
        lx["cgroupsPath"] = "capsa-test-%s-r%d-c%d" % (mark, r, i)
    else:
        lx["cgroupsPath"] = "capsa-test-%s-pod%d/c%d" % (mark, r, i)
    if c["newmount"]:
        if c["rootfsPropagation"]:
            lx["rootfsPropagation"] = c["rootfsPropagation"]
        if c["bind"] != "none":
            opts = ["rbind"] + ([c["bind"]] if c["bind"] != "default" else [])
            cfg["mounts"].append({"destination": "/shared", "type": "bind", "source": hostdir,
                                  "options": opts})
    else:
        for k in ("maskedPaths", "readonlyPaths", "rootfsPropagation", "devices"):
            lx.pop(k, None)
        cfg.pop("mounts", None)
    os.makedirs(d, exist_ok=True)
    with open(d + "/config.json", "w") as f:
        json.dump(cfg, f, indent=1)
    sh = lambda v: str(v).lower() if isinstance(v, bool) else str(v)
    out = ["LABEL[%d,%s]=%s" % (i, t, c["label"].get(t, "host")) for t in TYPES]
    for k, v in (("NEWMOUNT", c["newmount"]), ("SENDS", c["sends"]), ("RECEIVES", c["receives"]),
                 ("BIND", c["bind"])):
        out.append("%s[%d]=%s" % (k, i, sh(v)))
    # what /proc/PID/{uid_map,gid_map,timens_offsets} must say ("": not checked)
    um = gm = to = ""
    if u["how"] == "new":
        um = "0 %d %d" % (u["uid"], u["size"])
        gm = "0 %d %d" % (u["gid"], u["size"])
    if "timeOffsets" in c:
        o = c["timeOffsets"]
        to = "monotonic %d %d;boottime %d %d;" % (o["monotonic"]["secs"], o["monotonic"]["nanosecs"],
                                                  o["boottime"]["secs"], o["boottime"]["nanosecs"])
    out += ["UIDMAP[%d]='%s'" % (i, um), "GIDMAP[%d]='%s'" % (i, gm), "TIMEOFF[%d]='%s'" % (i, to)]
    return out


def bundles(plan, base, testdir, mark, tok):
    """Every round's configs: testdir/rR/cI/config.json, and testdir/rR/vars.sh with N, the
    namespace files to make (FILES: TYPE...) and each container's fields."""
    for r, rnd in enumerate(plan["rounds"]):
        rd = "%s/r%d" % (testdir, r)
        lines = ["N=%d" % len(rnd["containers"]),
                 "FILES=(%s)" % " ".join(f["type"] for f in rnd["files"])]
        for i in range(len(rnd["containers"])):
            lines += config(plan, r, i, base, "%s/c%d" % (rd, i), rd + "/hostdir", mark,
                            "%s%d%d" % (tok, r, i))
        with open(rd + "/vars.sh", "w") as f:
            f.write("\n".join(lines) + "\n")


def main():
    if sys.argv[1] == "bundles":
        # bundles SEED ROUNDS time|notime BASE TESTDIR MARK TOKEN: the plan (TESTDIR/plan.json)
        # and its bundles' configs, in one start of python (a second costs much here)
        seed, rounds, timens = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "time"
        rng = random.Random(seed)
        plan = {"seed": seed, "rounds": [gen_round(rng, r, timens) for r in range(rounds)]}
        with open(sys.argv[6] + "/plan.json", "w") as f:
            json.dump(plan, f)
        bundles(plan, sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8])
        return
    seed = int(sys.argv[1])
    rounds = int(sys.argv[2])
    timens = len(sys.argv) < 4 or sys.argv[3] != "notime"
    rng = random.Random(seed)
    out = {"seed": seed, "rounds": [gen_round(rng, r, timens) for r in range(rounds)]}
    json.dump(out, sys.stdout, indent=None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
