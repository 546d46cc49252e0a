/* capsa: private helpers shared by the cgroup managers (not part of the cgroup.h contract). */
#ifndef CAPSA_CGROUP_PRIVATE_H
#define CAPSA_CGROUP_PRIVATE_H

#include "cgroup.h"

/* One mounted cgroup hierarchy, as seen in /proc/self/mountinfo and /proc/self/cgroup. */
struct cg_hier
{
  char *mnt;   /* mount point, e.g. "/sys/fs/cgroup/memory" */
  char *root;  /* mount root (relative to our cgroup namespace), e.g. "/" */
  char *ctrls; /* "cpu", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
  char *own;   /* our own cgroup path in this hierarchy (from /proc/self/cgroup) */
  bool v2;
};

struct cg_host
{
  enum capsa_cgroup_mode mode;
  struct cg_hier *h;
  size_t n;
};

/* Parsed once per process; NULL with *err set when no cgroup hierarchy is usable. */
const struct cg_host *cg_host (capsa_error_t *err);

/* The container's directory in one hierarchy. */
struct cg_dir
{
  char *ctrls; /* as in struct cg_hier; "" for the unified (v2) hierarchy */
  char *dir;   /* absolute filesystem path */
  int levels;  /* trailing path components we created (0: joined an existing cgroup) */
  bool v2;
};

/* The cgroupfs manager's priv: one cg_dir per hierarchy. */
struct cg_set
{
  struct cg_dir *d;
  size_t n;
};

/* Does comma-separated `list` hold `name`? */
bool cg_list_has (const char *list, const char *name);
/* The v1 dir holding controller `ctrl`, or NULL. */
struct cg_dir *cg_set_v1 (struct cg_set *s, const char *ctrl);
/* The unified (v2) dir, or NULL. */
struct cg_dir *cg_set_v2 (struct cg_set *s);
/* The dir whose cgroup.procs lists the container's processes best (v2, else a v1 controller). */
struct cg_dir *cg_set_primary (struct cg_set *s);
void cg_set_free (struct cg_set *s);

/* Resolve `cgroups_path` (absolute, relative to our own cgroup, or the default <id>) per
 * hierarchy, touching no cgroup: each dir's `levels` is how many trailing components are missing
 * now.  *path_out gets a representative cgroup path. */
int cg_set_plan (struct cg_set *s, const char *id, const char *cgroups_path, bool rootless,
                 char **path_out, capsa_error_t *err);
/* Make the planned directories; `levels` becomes what this call made (rootless: a hierarchy
 * that refuses the mkdir is dropped).  On failure it removes what it made and frees the set. */
int cg_set_make (struct cg_set *s, bool rootless, capsa_error_t *err);
/* Open the cgroup at cgroup path `path` in every hierarchy, creating it where missing
 * (the systemd manager uses this once systemd made the unit's cgroup). */
int cg_set_create_at (struct cg_set *s, const char *path, bool rootless, capsa_error_t *err);

/* Small file helpers: return -1 with errno set on failure. */
int cg_write (const char *dir, const char *file, const char *val);
/* Read up to len-1 bytes, NUL-terminated, trailing newline stripped; returns the length. */
ssize_t cg_read (const char *dir, const char *file, char *buf, size_t len);
/* Write and turn a failure into an error naming `what` (a JSON path or a description). */
int cg_write_err (const char *dir, const char *file, const char *val, const char *what,
                  capsa_error_t *err);

/* Resources (resources.c routes each field to v1.c or v2.c). */
/* `update`: only the fields present are touched (checkBeforeUpdate applies); on create the
 * device rules are always written (deny all, the rules, the default devices) unless
 * `no_devices` (rootless). */
int cg_apply_resources (struct cg_set *s, const struct oci_resources *r, bool update,
                        bool no_devices, capsa_error_t *err);
int cg_v1_cpu (struct cg_dir *cpu, struct cg_dir *cpuset, const struct oci_cpu *c,
               capsa_error_t *err);
int cg_v1_memory (struct cg_dir *d, const struct oci_memory *m, bool update, capsa_error_t *err);
int cg_v1_blkio (struct cg_dir *d, const struct oci_block_io *b, capsa_error_t *err);
/* The rules as given, then (when `defaults`) the devices every container may use. */
int cg_v1_devices (struct cg_dir *d, const struct oci_device_cgroup *dev, size_t n, bool defaults,
                   capsa_error_t *err);
int cg_v2_cpu (struct cg_dir *d, const struct oci_cpu *c, bool want_cpu, bool want_cpuset,
               capsa_error_t *err);
int cg_v2_memory (struct cg_dir *d, const struct oci_memory *m, bool update, capsa_error_t *err);
int cg_v2_io (struct cg_dir *d, const struct oci_block_io *b, capsa_error_t *err);
int cg_v2_devices (struct cg_dir *d, const struct oci_device_cgroup *dev, size_t n, bool defaults,
                   capsa_error_t *err);
/* Undo what cg_v2_devices did to a cgroup capsa joined (its device program and saved rules);
 * a no-op elsewhere.  For delete and failed creates: a created cgroup goes with its programs. */
int cg_v2_devices_release (struct cg_dir *d, capsa_error_t *err);
/* One device rule, normalized: type 'a' (every device, every access, as v1 reads it), 'c' or
 * 'b'; major/minor -1 for any; access the BPF_DEVCG_ACC_* bits. */
struct cg_dev_rule
{
  bool allow;
  char type;
  int64_t major, minor;
  unsigned access;
};
/* bpf-devices.c: compile the rules (in order, the last match wins) into a cgroup device program
 * and attach it to the v2 cgroup `dir`, replacing the ones capsa attached before; remove them. */
int cg_bpf_devices_apply (const char *dir, const struct cg_dev_rule *rules, size_t n,
                          capsa_error_t *err);
int cg_bpf_devices_remove (const char *dir, capsa_error_t *err);
/* The default device rules (runtime-spec default devices, mknod of anything). */
extern const struct oci_device_cgroup cg_default_devices[];
extern const size_t cg_default_devices_len;
int cg_v2_unified (struct cg_dir *d, const struct oci_kv *kv, size_t n, capsa_error_t *err);

/* Conversions (resources.c). */
uint64_t cg_shares_to_weight (uint64_t shares);
uint64_t cg_blkio_to_io_weight (uint64_t weight);
/* memory.swap.max from the OCI (memory+swap) value; writes "max" or a number into buf. */
int cg_swap_v2 (const struct oci_memory *m, char *buf, size_t len, capsa_error_t *err);
/* "-1" style limit (v1) or "max" (v2) for negative values. */
void cg_limit_str (int64_t v, bool v2, char *buf, size_t len);

/* Freezer, processes, removal (v1.c / v2.c / common.c). */
int cg_v1_freeze (struct cg_dir *d, bool frozen, capsa_error_t *err);
int cg_v1_is_frozen (struct cg_dir *d, bool *frozen, capsa_error_t *err);
int cg_v2_freeze (struct cg_dir *d, bool frozen, capsa_error_t *err);
int cg_v2_is_frozen (struct cg_dir *d, bool *frozen, capsa_error_t *err);
/* Wait (bounded) until the v2 cgroup has no process left; 0 when empty. */
int cg_v2_wait_empty (struct cg_dir *d, int timeout_ms);
int cg_read_pids (const char *dir, pid_t **pids, size_t *n, capsa_error_t *err);
/* Remove `dir` and its child cgroups depth-first, retrying on EBUSY for up to timeout_ms. */
int cg_rmdir_tree (const char *dir, int timeout_ms, capsa_error_t *err);

/* The cgroupfs vtable functions, reused by the systemd manager. */
int cg_fs_enter (struct capsa_cgroup *cg, pid_t pid, capsa_error_t *err);
int cg_fs_v2_fd (struct capsa_cgroup *cg);
int cg_fs_update (struct capsa_cgroup *cg, const struct oci_resources *res, capsa_error_t *err);
int cg_fs_freeze (struct capsa_cgroup *cg, bool frozen, capsa_error_t *err);
int cg_fs_is_frozen (struct capsa_cgroup *cg, bool *frozen, capsa_error_t *err);
int cg_fs_pids (struct capsa_cgroup *cg, pid_t **pids, size_t *n, capsa_error_t *err);
int cg_fs_kill (struct capsa_cgroup *cg, int sig, capsa_error_t *err);
int cg_fs_destroy (struct capsa_cgroup *cg, capsa_error_t *err);
char *cg_fs_serialize_set (struct cg_set *s, const char *path, bool created);
int cg_fs_load_set (struct cg_set *s, char **path, bool *created, const char *data,
                    capsa_error_t *err);

extern const struct capsa_cgroup_manager capsa_cgroup_manager_cgroupfs;
extern const struct capsa_cgroup_manager capsa_cgroup_manager_disabled;
#ifdef HAVE_SYSTEMD
extern const struct capsa_cgroup_manager capsa_cgroup_manager_systemd;
#endif

#endif
