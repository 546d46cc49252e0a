/* capsa: the sd_notify proxy (NOTIFY_SOCKET), see notify.c. */
#ifndef CAPSA_NOTIFY_H
#define CAPSA_NOTIFY_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct capsa_ctx;

struct capsa_notify
{
  int fd;          /* the container's socket, bound; -1 when there is none */
  char *sock_path; /* its path on the host, removed by capsa_notify_release */
  char *host;      /* the caller's NOTIFY_SOCKET */
};

/* create/run, before the init is cloned: with NOTIFY_SOCKET set, give the container its own
 * socket directory (bind mount, process env) and keep the caller's path in the state dir. */
int capsa_notify_setup (struct capsa_ctx *ctx, int state_dirfd, capsa_error_t *err);
/* In the container init, after the config mounts: the user namespace case of the above. */
int capsa_notify_mount (int rootfd, capsa_error_t *err);
/* start/run, before the process may run: bind the container's socket if create set one up
 * (n->fd stays -1 otherwise). */
int capsa_notify_bind (const char *state_dir, struct capsa_notify *n, capsa_error_t *err);
/* Forward the container's messages to the caller's socket until READY=1 is forwarded
 * (until_ready) or the init exits. */
int capsa_notify_forward (struct capsa_notify *n, pid_t init, bool until_ready);
void capsa_notify_release (struct capsa_notify *n);

#endif
