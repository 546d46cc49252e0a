/* capsa: the per-container state directory <root>/<id>/ (state.json, lock, exec.fifo). */
#ifndef CAPSA_STATE_H
#define CAPSA_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "container.h"
#include "oci_spec.h"

struct capsa_state_file
{
  char *id;
  pid_t pid;                     /* host pid of the container init, 0 while creating */
  unsigned long long start_time; /* /proc/<pid>/stat starttime, guards against pid reuse */
  char *bundle;
  char *rootfs;
  char *created; /* RFC 3339 */
  char *owner;
  bool pidns; /* the container has its own pid namespace */
  bool started;
  bool vm;              /* VM isolation mode */
  bool no_new_keyring;  /* created with --no-new-keyring: exec keeps the caller's keyring too */
  bool poststart_hooks; /* config.json has poststart hooks (start/run must parse it again) */
  bool poststop_hooks;  /* config.json has poststop hooks (delete must parse it again) */
  char *cgroup_manager; /* manager name, NULL when the container has no cgroup of its own */
  char *cgroup;         /* the manager's serialized cgroup */
  struct oci_kv *annotations;
  size_t annotations_len;
};

/* The state root: --root, else /run/capsa (root) or $XDG_RUNTIME_DIR/capsa. */
const char *capsa_state_root (struct capsa_global *g);
/* Create <root>/<id> (error if it exists); returns an open, locked fd of the directory. */
int capsa_state_create_dir (struct capsa_global *g, const char *id, char **dir_out,
                            capsa_error_t *err);
/* Open and lock (exclusive) an existing container's directory; error if there is no such container.
 */
int capsa_state_open_locked (struct capsa_global *g, const char *id, char **dir_out,
                             capsa_error_t *err);
int capsa_state_write (const char *dir, const struct capsa_state_file *s, capsa_error_t *err);
int capsa_state_read (const char *dir, struct capsa_state_file *s, capsa_error_t *err);
void capsa_state_file_free (struct capsa_state_file *s);
/* Remove the directory and everything in it. */
int capsa_state_remove_dir (const char *dir, capsa_error_t *err);
/* "created", "running", "stopped" or "creating", computed from the process and the exec fifo. */
const char *capsa_state_status (const char *dir, const struct capsa_state_file *s);
struct capsa_cgroup;
/* Reopen the cgroup recorded in a container's state; cg->mgr stays NULL when it has none. */
int capsa_state_cgroup (const struct capsa_state_file *s, struct capsa_cgroup *cg,
                        capsa_error_t *err);
/* The OCI state document for `state` and for hooks. */
char *capsa_state_oci_json (const struct capsa_state_file *s, const char *status, bool pretty);
/* starttime of a process (field 22 of /proc/<pid>/stat); 0 when it is gone or a zombie. */
unsigned long long capsa_process_start_time (pid_t pid);

#endif
