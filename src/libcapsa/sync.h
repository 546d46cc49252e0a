/* capsa: messages between the runtime and the container init over a SOCK_SEQPACKET pair. */
#ifndef CAPSA_SYNC_H
#define CAPSA_SYNC_H

#include <stddef.h>
#include "error.h"

enum capsa_sync_type
{
  SYNC_READY = 1, /* runtime -> init: placed in the cgroup (and id maps written): go on */
  SYNC_PID,       /* init -> runtime: pid of the init (two-stage spawn) */
  SYNC_MAPS,      /* init -> runtime: please write my uid/gid maps; runtime -> init: done */
  SYNC_PREPARED,  /* init -> runtime: mounts done, waiting for prestart/createRuntime hooks */
  SYNC_GO,        /* runtime -> init: hooks done; payload: the state JSON */
  SYNC_CREATED,   /* init -> runtime: ready, waiting for start */
  SYNC_START,     /* runtime -> init (run only): start now */
  SYNC_ERROR,     /* init -> runtime: payload is the error text, `status` its errno */
};

struct capsa_sync_msg
{
  int type;
  int status;
  long long value;
  char *payload; /* NUL-terminated, malloc'd by capsa_sync_recv */
};

int capsa_sync_send (int fd, int type, int status, long long value, const char *payload,
                     capsa_error_t *err);
/* Receive one message; EOF is an error saying the container init exited. A SYNC_ERROR message
 * becomes *err (and -1).  When `want` is non-zero any other type is an error. */
int capsa_sync_recv (int fd, int want, struct capsa_sync_msg *msg, capsa_error_t *err);
void capsa_sync_msg_free (struct capsa_sync_msg *msg);

#endif
