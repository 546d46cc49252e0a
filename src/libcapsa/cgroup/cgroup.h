/* capsa: cgroup managers behind one small interface (cgroupfs v1/v2/hybrid, systemd, disabled). */
#ifndef CAPSA_CGROUP_H
#define CAPSA_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "oci_spec.h"

enum capsa_cgroup_mode
{
  CAPSA_CGROUP_V1,     /* legacy: v1 controllers only */
  CAPSA_CGROUP_HYBRID, /* v1 controllers plus cgroup2 at /sys/fs/cgroup/unified */
  CAPSA_CGROUP_V2,     /* unified */
};

/* Detected once per process (mountinfo + /proc/self/cgroup). */
enum capsa_cgroup_mode capsa_cgroup_mode (void);

/* A container's cgroup.  `path` is the resolved cgroup path (as in /proc/<pid>/cgroup, i.e.
 * relative to each hierarchy's root); the manager keeps whatever else it needs in `priv`.
 * Persisted in the container's state (capsa_cgroup_serialize) so later commands (delete, pause,
 * ps, kill --all, update, events) can reopen it with capsa_cgroup_load. */
struct capsa_cgroup
{
  const struct capsa_cgroup_manager *mgr;
  char *path;   /* e.g. "/process_api/abcd/ctr1" (may differ per v1 hierarchy: see priv) */
  char *scope;  /* systemd: the unit name, else NULL */
  bool created; /* we created it (delete removes it); false when joining an existing one */
  void *priv;
};

struct capsa_cgroup_manager
{
  const char *name; /* "cgroupfs", "systemd", "disabled" */
  /* Resolve the cgroup for container `id` with linux.cgroupsPath `cgroups_path` (may be
   * NULL/empty) without creating anything.  `serialize` then names everything `create` may make,
   * so that the state written before `create` lets `destroy` remove what a runtime killed
   * during `create` left (destroy tolerates a cgroup never or only partly created). */
  int (*plan) (struct capsa_cgroup *cg, const char *id, const char *cgroups_path, bool rootless,
               capsa_error_t *err);
  /* Create (or join) the planned cgroup and apply `res` (may be NULL; the systemd manager keeps
   * the pointer until `enter`).  On failure nothing is left behind and the plan is released. */
  int (*create) (struct capsa_cgroup *cg, const struct oci_resources *res, bool rootless,
                 capsa_error_t *err);
  /* Move `pid` into every hierarchy of the cgroup. */
  int (*enter) (struct capsa_cgroup *cg, pid_t pid, capsa_error_t *err);
  /* An O_DIRECTORY fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP), or -1 when not usable
   * (v1/hybrid hosts, where `enter` must be used).  A new O_CLOEXEC fd: the caller closes it. */
  int (*v2_fd) (struct capsa_cgroup *cg);
  int (*update) (struct capsa_cgroup *cg, const struct oci_resources *res, capsa_error_t *err);
  int (*freeze) (struct capsa_cgroup *cg, bool frozen, capsa_error_t *err);
  int (*is_frozen) (struct capsa_cgroup *cg, bool *frozen, capsa_error_t *err);
  /* Every pid in the cgroup (recursively), malloc'd. */
  int (*pids) (struct capsa_cgroup *cg, pid_t **pids, size_t *n, capsa_error_t *err);
  /* Signal every process (thaws first for SIGKILL so frozen tasks die). */
  int (*kill) (struct capsa_cgroup *cg, int sig, capsa_error_t *err);
  /* Remove the cgroup (and its children) after killing what is left in it. */
  int (*destroy) (struct capsa_cgroup *cg, capsa_error_t *err);
  /* Serialize to / restore from a single JSON-safe string stored in state.json. */
  char *(*serialize) (struct capsa_cgroup *cg);
  int (*load) (struct capsa_cgroup *cg, const char *data, capsa_error_t *err);
  void (*release) (struct capsa_cgroup *cg);
};

/* By --cgroup-manager name ("cgroupfs", "systemd", "disabled"); error for an unknown name or
 * a manager not compiled in. */
const struct capsa_cgroup_manager *capsa_cgroup_manager_get (const char *name, capsa_error_t *err);

/* Joining without the global migration lock.  Moving another process into a cgroup (its pid
 * written to cgroup.procs) takes a global lock whose first writer waits for an RCU grace period
 * (10-20 ms on the test machine); a thread that moves itself (writing "0" to a v1 `tasks` file)
 * does not take it, nor does clone3(CLONE_INTO_CGROUP) into a cgroup2 directory.  For the
 * cgroupfs manager, self_join_open opens the `tasks` file of every v1 hierarchy and the unified
 * directory (v2_fd, -1 if none): the new process, single-threaded, calls self_join as its very
 * first action and the runtime clones it into v2_fd.  Returns 1 when that covers every
 * hierarchy, 0 when `enter` must do it (other managers, a file that cannot be opened). */
#define CAPSA_CGROUP_SELF_JOIN_MAX 16
struct capsa_cgroup_self_join
{
  int tasks_fd[CAPSA_CGROUP_SELF_JOIN_MAX];
  const char *tasks_dir[CAPSA_CGROUP_SELF_JOIN_MAX];
  size_t n;
  int v2_fd;
};
int capsa_cgroup_self_join_open (struct capsa_cgroup *cg, struct capsa_cgroup_self_join *sj);
/* In the new process: write "0" to every `tasks` file, then close them. */
int capsa_cgroup_self_join (struct capsa_cgroup_self_join *sj, capsa_error_t *err);
void capsa_cgroup_self_join_close (struct capsa_cgroup_self_join *sj);

#endif
