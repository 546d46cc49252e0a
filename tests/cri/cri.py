#!/usr/bin/python3
"""cri.py: a small CRI (runtime.v1) client for tests/cri.bats and contrib/bench/cri-podstart.sh.

Usage: cri.py SOCKET COMMAND ARGS...   (CRI_GEN names the directory holding api_pb2*.py, compiled
from tests/cri/api.proto by `python3 -m grpc_tools.protoc`).

Requests are given as JSON files in the CRI's JSON mapping (the field names of api.proto in
lowerCamelCase, as protobuf's json_format reads them); replies are printed as JSON the same way.

  version                             RuntimeService.Version
  runp POD.json [HANDLER]             RunPodSandbox; prints the pod id
  podstatus POD_ID                    PodSandboxStatus
  stopp POD_ID | rmp POD_ID           StopPodSandbox | RemovePodSandbox
  create POD_ID CTR.json POD.json     CreateContainer; prints the container id. Like the kubelet,
                                      creates the container's log directory first.
  start ID                            StartContainer
  status ID                           ContainerStatus
  wait ID STATE SECONDS               poll ContainerStatus until the state is STATE (e.g.
                                      CONTAINER_EXITED); prints the status
  stop ID TIMEOUT                     StopContainer with a grace period of TIMEOUT seconds
  rm ID                               RemoveContainer
  ps [POD_ID]                         ListContainers (of one pod)
  update ID RESOURCES.json            UpdateContainerResources (LinuxContainerResources)
  stats ID                            ContainerStats
  exec ID TIMEOUT CMD...              ExecSync: the command's stdout and stderr on ours, its exit
                                      code as ours; exit 124 when the runtime reports a timeout
  podstart POD.json CTR.json HANDLER  RunPodSandbox, CreateContainer, StartContainer, then wait
                                      until the container's log has a line; prints the seconds from
                                      RunPodSandbox to that line, then removes the pod
"""

import json
import os
import sys
import time

sys.path.insert(0, os.environ.get("CRI_GEN", os.path.join(os.path.dirname(__file__), "gen")))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

import api_pb2 as pb  # noqa: E402
import api_pb2_grpc as pbg  # noqa: E402

TIMEOUT = float(os.environ.get("CRI_TIMEOUT", "60"))


def load(path, cls):
    with open(path) as f:
        return json_format.ParseDict(json.load(f), cls())


def show(msg):
    print(json_format.MessageToJson(msg, including_default_value_fields=True, indent=1))


def create(rt, pod_id, ctr_path, pod_path):
    ctr = load(ctr_path, pb.ContainerConfig)
    pod = load(pod_path, pb.PodSandboxConfig)
    # the kubelet makes <log_directory>/<container name>/ before it asks for the container
    if pod.log_directory and ctr.log_path:
        os.makedirs(os.path.dirname(os.path.join(pod.log_directory, ctr.log_path)), exist_ok=True)
    req = pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=ctr, sandbox_config=pod)
    return rt.CreateContainer(req, timeout=TIMEOUT).container_id


def wait_state(rt, cid, state, seconds):
    want = pb.ContainerState.Value(state)
    deadline = time.monotonic() + seconds
    while True:
        st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=TIMEOUT).status
        if st.state == want or time.monotonic() > deadline:
            return st
        time.sleep(0.05)


def podstart(rt, pod_path, ctr_path, handler):
    pod = load(pod_path, pb.PodSandboxConfig)
    ctr = load(ctr_path, pb.ContainerConfig)
    log = os.path.join(pod.log_directory, ctr.log_path)
    t0 = time.monotonic()
    pod_id = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod, runtime_handler=handler),
                              timeout=TIMEOUT).pod_sandbox_id
    cid = create(rt, pod_id, ctr_path, pod_path)
    rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=TIMEOUT)
    while not (os.path.exists(log) and os.path.getsize(log) > 0):
        if time.monotonic() - t0 > TIMEOUT:
            raise SystemExit("cri.py: podstart: no output in %s after %.0f s" % (log, TIMEOUT))
        time.sleep(0.002)
    took = time.monotonic() - t0
    wait_state(rt, cid, "CONTAINER_EXITED", TIMEOUT)
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=TIMEOUT)
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=TIMEOUT)
    print("%.4f" % took)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    sock, cmd, args = argv[1], argv[2], argv[3:]
    channel = grpc.insecure_channel("unix://" + os.path.abspath(sock))
    rt = pbg.RuntimeServiceStub(channel)
    if cmd == "version":
        show(rt.Version(pb.VersionRequest(), timeout=TIMEOUT))
    elif cmd == "runp":
        req = pb.RunPodSandboxRequest(config=load(args[0], pb.PodSandboxConfig),
                                      runtime_handler=args[1] if len(args) > 1 else "")
        print(rt.RunPodSandbox(req, timeout=TIMEOUT).pod_sandbox_id)
    elif cmd == "podstatus":
        show(rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=args[0]), timeout=TIMEOUT))
    elif cmd == "stopp":
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=args[0]), timeout=TIMEOUT)
    elif cmd == "rmp":
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]), timeout=TIMEOUT)
    elif cmd == "create":
        print(create(rt, args[0], args[1], args[2]))
    elif cmd == "start":
        rt.StartContainer(pb.StartContainerRequest(container_id=args[0]), timeout=TIMEOUT)
    elif cmd == "status":
        show(rt.ContainerStatus(pb.ContainerStatusRequest(container_id=args[0]), timeout=TIMEOUT))
    elif cmd == "wait":
        show(wait_state(rt, args[0], args[1], float(args[2])))
    elif cmd == "stop":
        rt.StopContainer(pb.StopContainerRequest(container_id=args[0], timeout=int(args[1])),
                         timeout=TIMEOUT + int(args[1]))
    elif cmd == "rm":
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=args[0]), timeout=TIMEOUT)
    elif cmd == "ps":
        flt = pb.ContainerFilter(pod_sandbox_id=args[0] if args else "")
        show(rt.ListContainers(pb.ListContainersRequest(filter=flt), timeout=TIMEOUT))
    elif cmd == "update":
        req = pb.UpdateContainerResourcesRequest(container_id=args[0],
                                                 linux=load(args[1], pb.LinuxContainerResources))
        rt.UpdateContainerResources(req, timeout=TIMEOUT)
    elif cmd == "stats":
        show(rt.ContainerStats(pb.ContainerStatsRequest(container_id=args[0]), timeout=TIMEOUT))
    elif cmd == "exec":
        req = pb.ExecSyncRequest(container_id=args[0], timeout=int(args[1]), cmd=args[2:])
        try:
            rep = rt.ExecSync(req, timeout=TIMEOUT + int(args[1]))
        except grpc.RpcError as e:
            if int(args[1]) > 0 and "timeout" in (e.details() or ""):
                print("cri.py: exec: %s" % e.details(), file=sys.stderr)
                return 124
            raise
        sys.stdout.buffer.write(rep.stdout)
        sys.stderr.buffer.write(rep.stderr)
        return rep.exit_code
    elif cmd == "podstart":
        podstart(rt, args[0], args[1], args[2])
    else:
        sys.exit("cri.py: unknown command %r" % cmd)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except grpc.RpcError as e:
        sys.exit("cri.py: %s: %s: %s" % (sys.argv[2], e.code().name, e.details()))
