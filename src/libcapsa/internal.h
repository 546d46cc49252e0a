/* capsa: state shared by the runtime's modules while a container is built.
 * Not part of the public surface (container.h). */
#ifndef CAPSA_INTERNAL_H
#define CAPSA_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include "container.h"
#include "error.h"
#include "fault.h"
#include "oci_spec.h"

struct capsa_ctx
{
  struct capsa_global *g;
  const struct capsa_create_opts *opts;
  const char *id;
  char *bundle;    /* absolute bundle path */
  char *rootfs;    /* absolute, symlink-resolved rootfs path on the host */
  char *state_dir; /* <root>/<id> */
  struct oci_config *config;
  char *config_text; /* the bytes config was parsed from (kept in the state dir) */
  size_t config_len;
  int rootfs_fd; /* O_PATH fd of rootfs, opened by the parent before clone */
  bool userns;   /* a new or joined user namespace, or the runtime's own is not the host's */
  bool vm;       /* VM isolation mode: the init runs the hypervisor (sandbox/) */
  /* VM mode, a member of a pod: a guest container of its sandbox's VM (sandbox/pod.c) */
  struct capsa_vm_pod *vm_pod;
  bool new_mountns, new_pidns, new_netns, new_utsns, new_ipcns, new_cgroupns, new_timens,
    new_userns;
  int joined_ns;         /* CLONE_NEW* of the namespaces joined by path */
  int console_socket_fd; /* -1 when none */
  int exec_fifo_fd;      /* O_PATH fd of <state>/exec.fifo in the child, -1 for run */
  int *device_nodes;     /* create in a new user namespace: per linux.devices entry, a detached
                            mount of the node made on the host side, or -1 */
  size_t ndevice_nodes;
  int init_error_fd; /* create: <state>/init.error, where an init that fails between
                        `create` and `start` writes why (-1 for run and exec) */
  /* Optional, for process.c/seccomp.c (NULL = unused).  state_json: the OCI state (status
   * "creating", pid as the runtime sees it) sent to a seccomp listenerPath.  before_exec: called
   * by capsa_process_exec after the user, capabilities and path lookup, right before execve
   * (exec fifo wait, startContainer hooks).  seccomp_notify: receives the SCMP_ACT_NOTIFY fd
   * (e.g. to forward it to the host side, which calls capsa_seccomp_send_listener); without
   * it capsa_seccomp_apply connects to listenerPath itself. */
  const char *state_json;
  int (*before_exec) (struct capsa_ctx *ctx, capsa_error_t *err);
  int (*seccomp_notify) (struct capsa_ctx *ctx, int notify_fd, capsa_error_t *err);
  /* idmap.c: per config mount, the detached idmapped tree the runtime made (-1: none) */
  int *idmap_fds;
  size_t idmap_n;
};

/* container.c, shared with checkpoint.c (restore builds a container as create does):
 * read and check the bundle's config.json and rootfs into ctx (ctx->g, ->id set by the caller;
 * rootfs_fd, console_socket_fd, exec_fifo_fd preset to -1); release what ctx holds; resolve,
 * then make, the container's cgroup (cg->mgr stays NULL without one); point the state at the
 * cgroup (true when that changed it); remove a cgroup, warning on failure. */
struct capsa_cgroup;
struct capsa_state_file;
int capsa_ctx_load_bundle (struct capsa_ctx *ctx, const struct capsa_create_opts *o,
                           capsa_error_t *err);
void capsa_ctx_release (struct capsa_ctx *ctx);
int capsa_ctx_plan_cgroup (struct capsa_global *g, struct capsa_ctx *ctx, struct capsa_cgroup *cg,
                           capsa_error_t *err);
int capsa_ctx_create_cgroup (struct capsa_global *g, struct capsa_ctx *ctx, struct capsa_cgroup *cg,
                             capsa_error_t *err);
bool capsa_state_set_cgroup (struct capsa_state_file *st, struct capsa_cgroup *cg);
void capsa_cgroup_destroy_quiet (struct capsa_cgroup *cg);

/* idmap.c: idmapped bind mounts.  prepare (runtime, before the init's clone, host privileges):
 * one detached idmapped tree per mount asking for it; take (init): that mount's tree (-1: none;
 * the caller owns it); release: close what is left. */
bool capsa_mount_is_idmapped (const struct oci_mount *m);
int capsa_idmap_prepare (struct capsa_ctx *ctx, capsa_error_t *err);
int capsa_idmap_take (struct capsa_ctx *ctx, const struct oci_mount *m);
void capsa_idmap_release (struct capsa_ctx *ctx);

/* rootfs.c / mounts.c / devices.c — called in the container init, in its new mount namespace,
 * before pivot: make / private (or slave), bind the rootfs, perform config mounts in order,
 * create default devices and linux.devices, /dev symlinks, /dev/console placeholder.
 * Every destination is resolved inside the rootfs without following symlinks out of it. */
int capsa_rootfs_prepare (struct capsa_ctx *ctx, capsa_error_t *err);
/* After createContainer hooks: pivot_root (or MS_MOVE+chroot with --no-pivot) into the rootfs,
 * apply rootfsPropagation, maskedPaths, readonlyPaths, root.readonly, sysctl. cwd becomes "/". */
int capsa_rootfs_finalize (struct capsa_ctx *ctx, capsa_error_t *err);
int capsa_sysctl_validate (struct capsa_ctx *ctx, capsa_error_t *err);
/* Parse mount options ("ro,nosuid,rbind,rprivate,size=64k,...") into flags, propagation flags,
 * recursive mount_setattr attributes and leftover data string. */
struct capsa_mount_opts
{
  unsigned long flags;                   /* MS_* for mount(2) */
  unsigned long clear_flags;             /* flags explicitly cleared ("rw", "suid", "dev", ...) */
  unsigned long propagation;             /* MS_PRIVATE|MS_REC etc., 0 when none */
  unsigned long long attr_set, attr_clr; /* MOUNT_ATTR_* for recursive r* options */
  bool recursive_attr;
  bool bind, rbind;
  bool tmpcopyup; /* "tmpcopyup": fill a new tmpfs with what the directory under it held */
  char *data;     /* comma-separated leftovers passed as mount data, malloc'd (may be NULL) */
};
/* In the container init before it reports "created": args[0] exists and is executable (found
 * through the process's PATH), so that `create` fails on a missing program, as with runc. */
int capsa_process_check_executable (const struct oci_process *p, capsa_error_t *err);
int capsa_parse_mount_options (char **options, size_t n, struct capsa_mount_opts *out,
                               capsa_error_t *err);
void capsa_mount_opts_free (struct capsa_mount_opts *o);

/* Helpers shared by rootfs.c, mounts.c and devices.c (all run in the container init). */
/* Perform one config.json mount with its destination resolved inside rootfd. */
int capsa_mount_one (struct capsa_ctx *ctx, int rootfd, const struct oci_mount *m,
                     capsa_error_t *err);
/* Bind `source` (or the fd srcfd when >= 0; `source` then only names it in messages) onto the
 * resolved target fd; `dest` is the target's path inside rootfd, for messages and for the
 * fallback without open_tree/move_mount.  Returns an fd on the new mount. */
int capsa_bind_mount_at (const char *source, int srcfd, int rootfd, const char *dest, int targetfd,
                         bool recursive, capsa_error_t *err);
/* mount_setattr() on the mount of mntfd (MOUNT_ATTR_* set/clear, MS_* propagation); falls back to
 * MS_REMOUNT|MS_BIND keeping the current flags where the syscall is missing. */
int capsa_mount_setattr (int mntfd, bool recursive, unsigned long long set, unsigned long long clr,
                         unsigned long propagation, const char *what, capsa_error_t *err);
/* Default devices and /dev symlinks (when `defaults`) and linux.devices: mknod, or a bind of the
 * host node in a user namespace. */
int capsa_create_devices (struct capsa_ctx *ctx, int rootfd, bool defaults, capsa_error_t *err);
/* Runtime side, before the clone: the linux.devices nodes of a new user namespace (see
 * ctx->device_nodes); released by capsa_devices_release. */
int capsa_devices_prepare_userns (struct capsa_ctx *ctx, capsa_error_t *err);
void capsa_devices_release (struct capsa_ctx *ctx);
/* An empty /dev/console file for the terminal's bind mount. */
int capsa_create_console_placeholder (int rootfd, capsa_error_t *err);
/* Bind the pty slave (a path, e.g. "/dev/pts/0") onto /dev/console below rootfd (the rootfs fd
 * before the pivot, or an fd of "/" after it). */

/* process.c — in the container init after pivot, right before execve: rlimits, oomScoreAdj,
 * user (uid/gid/additionalGids/umask), capabilities (5 sets), noNewPrivileges, cwd, env,
 * --preserve-fds/LISTEN_FDS, close every other fd, execve (PATH lookup in the container's env).
 * Returns only on error; the message names the executable as runc does
 * (`exec: "foo": executable file not found in $PATH`). */
int capsa_process_exec (struct capsa_ctx *ctx, const struct oci_process *p, capsa_error_t *err);
int capsa_set_rlimits (const struct oci_process *p, capsa_error_t *err);
/* Checks that need no container: rlimit types and limits, capability names (runc refuses
 * unknown ones at create; names the kernel lacks only warn at exec). */
int capsa_process_validate (const struct oci_process *p, capsa_error_t *err);
bool capsa_cap_name_known (const char *name);
/* Fill the closed numbers of the preserved range with placeholders (before opening anything). */
int capsa_fds_reserve (unsigned npreserve, capsa_error_t *err);
int capsa_set_oom_score_adj (const struct oci_process *p, capsa_error_t *err);
/* LSM labels (process.c): whether the host enforces AppArmor / SELinux; linux.mountLabel for
 * a new mount of TYPE: the mount data with context= added (malloc'd; NULL when nothing is to
 * add: no SELinux, no label, or a type labelled after mounting), and that labelling of the new
 * mount (fd MNTFD) for the other types (mqueue). */
bool capsa_apparmor_enabled (void);
/* Run the next execve of the calling thread under AppArmor profile PROFILE (-1, errno). */
int capsa_apparmor_exec (const char *profile);
bool capsa_selinux_enabled (void);
/* In the runtime (it needs selinuxfs): an error naming WHAT when SELinux is enabled and the
 * loaded policy does not know LABEL (the kernel would refuse it only at the workload's execve,
 * after start).  0 without SELinux or a label. */
int capsa_selinux_label_check (const char *label, const char *what, capsa_error_t *err);
/* Join (or make) the session keyring "_ses.ID", as runc does for a container's init and for
 * each exec, so that no process of the container shares the caller's session keyring; a new
 * keyring gets the SELinux label LABEL (may be NULL).  In a user namespace (USERNS) a refusal
 * is not an error. */
int capsa_join_session_keyring (const char *id, const char *label, bool userns, capsa_error_t *err);
char *capsa_mount_label_data (const char *type, const char *data, const char *label);
int capsa_mount_label_apply (const char *type, int mntfd, const char *label, const char *dest,
                             capsa_error_t *err);

/* terminal.c */
/* A new pty from /dev/ptmx (or from the devpts mounted at PTS_DIR) owned by the process user:
 * the master fd, *slave_out its peer (both close-on-exec), NAME the peer's path. */
int capsa_pty_new (const struct oci_process *p, const char *pts_dir, int *slave_out, char *name,
                   size_t name_len, capsa_error_t *err);
/* In the container (after pivot): open a new pty from /dev/ptmx, make the slave the controlling
 * terminal on fds 0-2, return the master fd (caller sends it, then closes it). */
int capsa_terminal_setup (const struct oci_process *p, capsa_error_t *err);
/* Send a fd over a unix socket with SCM_RIGHTS. */
int capsa_send_fd (int sock, int fd, capsa_error_t *err);
/* the same with `payload` (a string) as the message that carries fd */
int capsa_send_fd_msg (int sock, int fd, const char *payload, capsa_error_t *err);
int capsa_recv_fd (int sock, capsa_error_t *err);
/* Connect to the --console-socket path; returns the socket fd. */
int capsa_console_socket_open (const char *path, capsa_error_t *err);
/* Foreground run without --console-socket: copy stdin->master and master->stdout until the
 * master hangs up (stdin put in raw mode when it is a tty; SIGWINCH resizes). */
int capsa_terminal_proxy (int master, capsa_error_t *err);

/* hooks.c — run one list of hooks with the state JSON on stdin.  Each hook gets its args and
 * env (nothing else), its timeout (killed when exceeded), and a non-zero exit is an error naming
 * the hook kind and path. */
int capsa_run_hooks (const char *kind, const struct oci_hook *hooks, size_t n,
                     const char *state_json, capsa_error_t *err);

/* seccomp.c — build the filter with libseccomp and load it.  Called by process.c as late as
 * possible: right before execve when noNewPrivileges is set, otherwise just before the
 * capabilities are dropped (loading needs CAP_SYS_ADMIN without NNP).  Without libseccomp
 * compiled in, a config with linux.seccomp is an error. */
int capsa_seccomp_apply (struct capsa_ctx *ctx, const struct oci_seccomp *s, capsa_error_t *err);
/* In the runtime before the container process is cloned/forked: check and build the filter
 * (errors name the JSON path, before anything is created in the container) and, with
 * SCMP_ACT_NOTIFY, connect to listenerPath on the host side (the socket lands at fd_floor or
 * above).  capsa_seccomp_apply in the child then loads that filter and sends the notify fd on
 * that connection.  The runtime calls capsa_seccomp_release once the child exists. */
int capsa_seccomp_prepare (const struct oci_seccomp *s, int fd_floor, capsa_error_t *err);
void capsa_seccomp_release (void);
/* Connect to s->listener_path and send notify_fd (SCM_RIGHTS) with the container process state
 * JSON (ociVersion, fds ["seccompFd"], pid, metadata, state). */
int capsa_seccomp_send_listener (const struct oci_seccomp *s, int notify_fd, const char *state_json,
                                 capsa_error_t *err);
/* The filter for s as a classic BPF program (struct sock_filter array, *len bytes, malloc'd in
 * *prog; NULL when s is NULL) and its SECCOMP_FILTER_FLAG_* bits in *flags, for a loader
 * elsewhere (the VM mode's guest agent).  SCMP_ACT_NOTIFY is an error. */
int capsa_seccomp_export (const struct oci_seccomp *s, char **prog, size_t *len, unsigned *flags,
                          capsa_error_t *err);

/* mempolicy.c — linux.memoryPolicy: _validate in the runtime before anything is created (one
 * error naming the JSON path), _apply with set_mempolicy(2) in the container init and in each
 * exec'd process before execve. */
int capsa_mempolicy_validate (const struct oci_linux *l, capsa_error_t *err);
int capsa_mempolicy_apply (const struct oci_linux *l, capsa_error_t *err);

/* netdev.c — linux.netDevices: _validate before anything is created (names, a network
 * namespace of the container's own, each device present in the runtime's namespace); _move by
 * the runtime once the init (pid `init`) has its namespaces: each device goes into the init's
 * network namespace (renamed, addresses kept, set up). */
int capsa_netdev_validate (const struct oci_linux *l, bool own_netns, bool vm, capsa_error_t *err);
int capsa_netdev_move (const struct oci_linux *l, pid_t init, capsa_error_t *err);

/* unapplied.c — fields of the spec capsa cannot apply: an error naming the first one present. */
int capsa_spec_refuse_unapplied (const struct oci_config *c, capsa_error_t *err);
/* The same for a process (config.json's, or exec's process.json): `where` is the JSON path's
 * start, e.g. "process.json: " (the process is its root object) or "config.json: .process". */
int capsa_process_refuse_unapplied (const struct oci_process *p, const char *where,
                                    capsa_error_t *err);

/* utils.c */
int capsa_write_file (const char *path, const void *data, size_t len, capsa_error_t *err);
int capsa_write_file_at (int dirfd, const char *name, const void *data, size_t len,
                         capsa_error_t *err);
/* Write atomically (temp file + rename). */
int capsa_write_file_atomic (const char *path, const void *data, size_t len, capsa_error_t *err);
int capsa_read_file (const char *path, char **out, size_t *len, capsa_error_t *err);
/* The current time as RFC 3339 with nanoseconds, UTC (state.json's "created"). */
void capsa_now_rfc3339 (char *buf, size_t len);
/* A wait status as a shell would report it: the exit code, or 128 + the signal. */
int capsa_exit_status (int status);
/* /proc/self/mountinfo, read once per process (utils.c); _cached: what this process or the
 * process it was forked from read, or NULL. */
const char *capsa_mountinfo (capsa_error_t *err);
const char *capsa_mountinfo_cached (void);
/* mkdir -p below dirfd, relative path, without following symlinks out of dirfd. */
int capsa_mkdir_p (const char *path, mode_t mode, capsa_error_t *err);
/* Resolve `path` inside the directory `rootfd` (openat2 RESOLVE_IN_ROOT, with an equivalent
 * manual walk where openat2 is missing); returns an O_PATH fd. With create_dirs, missing
 * components are created as directories (the last one as a file when `last_is_file`). */
int capsa_open_in_root (int rootfd, const char *path, bool create_dirs, bool last_is_file,
                        capsa_error_t *err);
/* The "/proc/self/fd/N" name of an fd, in a caller buffer of at least 32 bytes. */
const char *capsa_fd_path (int fd, char *buf);
int capsa_close_fds_from (int first, const int *keep, size_t nkeep);

/* control.c: after the container init died during create (killed by SIGKILL), replace *err
 * with "memory limit too low: ..." when the container's memory cgroup recorded an OOM kill or
 * a limit hit; returns 1 then, 0 (err untouched) otherwise. */
struct capsa_cgroup;
int capsa_cgroup_explain_init_death (struct capsa_cgroup *cg, capsa_error_t *err);

#endif
