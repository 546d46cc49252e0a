/* capsa: records exchanged between the host (sandbox/) and the guest agent over the control port.
 * A record is a one-byte tag, a 4-byte little-endian length and that many bytes. */
#ifndef CAPSA_AGENT_PROTO_H
#define CAPSA_AGENT_PROTO_H

/* host -> agent: the process and guest settings, then REC_END */
#define REC_ARG 'a' /* one argv element */
#define REC_ENV 'e' /* one "K=V" */
#define REC_CWD 'c'
#define REC_UID 'u'    /* decimal */
#define REC_GID 'g'    /* decimal */
#define REC_XGID 'G'   /* one additional gid, decimal */
#define REC_UMASK 'm'  /* octal */
#define REC_RLIMIT 'r' /* "RESOURCE SOFT HARD" (numbers) */
#define REC_HOSTNAME 'h'
#define REC_TERMINAL 'T' /* "ROWS COLS": the workload gets a pty in the guest */
#define REC_MOUNT 'M'    /* "type\0source\0destination\0options" */
#define REC_CAPS 'C'     /* "BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT": 64-bit hex masks */
#define REC_NNP 'N'      /* noNewPrivileges */
#define REC_SECCOMP 'Z'  /* 4-byte LE SECCOMP_FILTER_FLAG_* bits + struct sock_filter array */
/* REC_PIDNS: config.json has a new "pid" namespace: the workload is PID 1 of a pid namespace of
 * the guest (its proc mounts show that namespace) and exec'd processes join it. */
#define REC_PIDNS 'P'
#define REC_SEED 'R' /* random bytes from the host: the guest reseeds its RNG (first record) */
#define REC_TIME 't' /* the host's CLOCK_REALTIME, "SECONDS NANOSECONDS" (second record) */
/* The guest's network (sandbox/net.c, agent net.c), applied in this order before the workload:
 * REC_NET_LINK "SLOT NAME MAC MTU": the NIC at position SLOT (its MAC in the VM's shape is
 *   VM_NIC_SHAPE_MAC with SLOT as last byte) gets this name, MAC and MTU and is brought up;
 * REC_NET_ADDR "NAME ADDRESS PREFIXLEN" (IPv4 or IPv6);
 * REC_NET_ROUTE "DESTINATION PREFIXLEN GATEWAY|- NAME METRIC". */
#define REC_NET_LINK 'L'
#define REC_NET_ADDR 'A'
#define REC_NET_ROUTE 'W'
#define VM_NIC_SHAPE_MAC "02:ca:95:00:00:%02x"
/* REC_POD: this VM is a pod's sandbox: the guest mounts the pod share (9p tag capsa-pod),
 * where each member container's rootfs appears as a directory named by its id. */
#define REC_POD 'p'
#define REC_END 'E'
/* host -> agent, while the workload runs */
#define REC_KILL 'K' /* decimal signal number */
/* host -> agent: `capsa exec`: REC_EXEC (payload: decimal exec id), the process records as
 * above (no mounts; REC_TERMINAL gives it a pty of the guest), REC_END; then REC_EXEC_IN records
 * (4-byte LE id + data; empty = EOF), REC_EXEC_KILL ("id signal") and REC_EXEC_WINSZ ("id rows
 * cols"). */
#define REC_EXEC 'x'
#define REC_EXEC_IN 'i'
#define REC_EXEC_KILL 'q'
#define REC_EXEC_WINSZ 'w'
/* First record of an exec request (sandbox/pod.c):
 * REC_CONTAINER "ID": the process is a pod member's, a guest container: its root is the pod
 *   share's directory ID, its mounts, REC_PIDNS, REC_TERMINAL and REC_SECCOMP are its own
 *   (made in a mount namespace of its own), and it is known by ID for REC_JOIN;
 * REC_JOIN "ID": the process runs in guest container ID's mount and pid namespaces and root,
 *   with the REC_SECCOMP of the request.
 * Both are answered as an exec (REC_EXEC_STARTED, output, REC_EXEC_EXIT). */
#define REC_CONTAINER 'n'
/* REC_CGROUP "FILE VALUE" (in a REC_CONTAINER request): a limit of the member's own cgroup in
 * the guest (cgroup v2: memory.max, memory.low, pids.max), which its processes and the ones
 * exec'd into it (REC_JOIN) join. */
#define REC_CGROUP 'l'
/* REC_CGROUP "ID FILE VALUE" on its own, while the workload runs: `capsa update` of pod member ID
 * (the control socket's client sends the byte REC_CGROUP, these records and REC_END, and gets
 * 'k' once they were passed on). */
#define REC_JOIN 'j'
/* REC_STATS "ID" (in place of a process in a REC_EXEC request): `capsa events --stats` of pod
 * member ID. Answered as an exec whose output is, for each of the member's cgroup files the
 * agent reads (cpu.stat, memory.*, pids.*), "@@ FILE\n" and the file's text; exit 0. */
#define REC_STATS 'I'
/* agent -> host, for an exec: output (4-byte LE id + data) and the exit ("id code"), sent after
 * the process's output reached EOF. */
#define REC_EXEC_OUT 'o'
#define REC_EXEC_ERR 'r'
#define REC_EXEC_EXIT 'y'
#define REC_EXEC_STARTED 's' /* decimal id: the process was executed */
/* agent -> host */
/* REC_READY: booted, ports open, nothing of the container touched yet (the rootfs is mounted
 * after the first settings arrive): the point where the host may save the VM as a snapshot. */
#define REC_READY 'Y'
#define REC_STARTED 'S' /* the workload was executed */
#define REC_ERROR 'F'   /* one-line error text, before REC_EXIT */
#define REC_EXIT 'X'    /* decimal exit status for the container: code, or 128+signal */

/* `capsa exec` <-> the container's supervisor (the VM control socket in the state dir): the byte
 * REC_EXEC with the process's three stdio fds (SCM_RIGHTS), its records up to REC_END; then the
 * client may send REC_KILL (a signal for the process) and REC_TERMINAL (its new size), and gets
 * REC_STARTED once it runs and REC_EXIT with its status.  A client that goes away kills the
 * process (SIGKILL): that connection is the process's only handle on the host. */

#define CAPSA_PORT_CTL "capsa.ctl"
#define CAPSA_PORT_OUT "capsa.stdout"
#define CAPSA_PORT_ERR "capsa.stderr"
#define CAPSA_PORT_IN "capsa.stdin"

#endif
