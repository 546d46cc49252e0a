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
#define REC_END 'E'
/* host -> agent, while the workload runs */
#define REC_KILL 'K' /* decimal signal number */
/* host -> agent: `capsa exec`: REC_EXEC (payload: decimal exec id), the process records as
 * above (no mounts), REC_END; then REC_EXEC_IN records (4-byte LE id + data; empty = EOF). */
#define REC_EXEC 'x'
#define REC_EXEC_IN 'i'
/* agent -> host, for an exec: output (4-byte LE id + data) and the exit ("id code"), sent after
 * the process's output reached EOF. */
#define REC_EXEC_OUT 'o'
#define REC_EXEC_ERR 'r'
#define REC_EXEC_EXIT 'y'
/* agent -> host */
#define REC_STARTED 'S' /* the workload was executed */
#define REC_ERROR 'F'   /* one-line error text, before REC_EXIT */
#define REC_EXIT 'X'    /* decimal exit status for the container: code, or 128+signal */

#define CAPSA_PORT_CTL "capsa.ctl"
#define CAPSA_PORT_OUT "capsa.stdout"
#define CAPSA_PORT_ERR "capsa.stderr"
#define CAPSA_PORT_IN "capsa.stdin"

#endif
