/* capsa: deterministic fault injection for the reliability tests (CAPSA_FAULT=<point>). */
#ifndef CAPSA_FAULT_H
#define CAPSA_FAULT_H

/* When the environment variable CAPSA_FAULT names `point` (or lists it, comma-separated), print
 * one line to stderr and SIGKILL the calling process there, as an engine's kill -9 would.  The
 * variable is read once per process; unset, a call is one load and one compare. */
void capsa_fault_point (const char *point);

#endif
