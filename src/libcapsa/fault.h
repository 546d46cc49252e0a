/* capsa: deterministic fault injection for the reliability tests (CAPSA_FAULT=<point>). */
#ifndef CAPSA_FAULT_H
#define CAPSA_FAULT_H

/* When the environment variable CAPSA_FAULT names `point` (or lists it, comma-separated), print
 * one line to stderr and SIGKILL the calling process there, as an engine's kill -9 would.  The
 * variable is read once per process; unset, a call is one load and one compare. */
void capsa_fault_point (const char *point);

/* The lifecycle trace for tests/model-trace.bats: when CAPSA_TRACE_FILE names a file, every
 * state transition the runtime makes is appended to it as one line "FROM TO COMMAND ID" (one
 * write(2), O_APPEND, so concurrent runtimes do not interleave), with the statuses `state`
 * reports and "none" for no container.  capsa_trace_command names the command and reads the
 * variable, once per process (before the environment is scrubbed); unset, capsa_trace is one load
 * and one compare.  The transitions are those of tests/model/transitions.txt. */
void capsa_trace_command (const char *command);
void capsa_trace (const char *id, const char *from, const char *to);

#endif
