/* capsa: the container lifecycle: create, start, run, kill, delete. */
#include <config.h>
#include "internal.h"
#include "cgroup/cgroup.h"
#include "namespaces.h"
#include "notify.h"
#include "sandbox/sandbox.h"
#include "state.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int pidfd_open_ (pid_t pid)
{
  return (int)syscall (SYS_pidfd_open, pid, 0);
}

static int pidfd_signal_ (int pidfd, int sig)
{
  return (int)syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* ---------------------------------------------------------------- the container init --- */

static void __attribute__ ((noreturn)) init_fail (int sync, capsa_error_t *err)
{
  capsa_error_t tmp = NULL;
  capsa_sync_send (sync, SYNC_ERROR, (*err)->status, 0, (*err)->msg, &tmp);
  _exit (1);
}

static int init_wait_start (struct capsa_ctx *ctx, int sync, capsa_error_t *err)
{
  char buf[32];
  struct capsa_sync_msg msg;
  int fd;

  if (ctx->exec_fifo_fd < 0)
    {
      /* run: the runtime is still there and says when. */
      if (capsa_sync_recv (sync, SYNC_START, &msg, err) < 0)
        return -1;
      capsa_sync_msg_free (&msg);
      return sync;
    }
  /* create: block until `capsa start` opens the fifo for reading.  The fifo stays open
   * (close-on-exec) so that start sees EOF on a successful execve, or an error text. */
  close (sync);
  fd = ctx->vm ? capsa_sandbox_reopen (ctx->exec_fifo_fd, O_WRONLY | O_CLOEXEC)
               : open (capsa_fd_path (ctx->exec_fifo_fd, buf), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return capsa_make_error (err, errno, "open exec fifo");
  close (ctx->exec_fifo_fd);
  ctx->exec_fifo_fd = -1;
  if (write (fd, "0", 1) != 1)
    return capsa_make_error (err, errno, "write exec fifo");
  return fd;
}

/* Between `create` and `start` nobody listens on the sync socket: an init that fails there
 * leaves its reason in <state>/init.error, which `start` reports. */
static void __attribute__ ((noreturn))
init_fail_before_start (struct capsa_ctx *ctx, capsa_error_t *err)
{
  if (ctx->init_error_fd >= 0 && *err)
    {
      char *text = capsa_error_text (*err);
      ssize_t r = write (ctx->init_error_fd, text, strlen (text));
      (void)r;
      free (text);
    }
  _exit (1);
}

static void __attribute__ ((noreturn))
init_fail_after_start (int fd, bool is_fifo, capsa_error_t *err)
{
  capsa_error_t tmp = NULL;
  if (is_fifo)
    {
      char *text = capsa_error_text (*err);
      ssize_t r = write (fd, text, strlen (text));
      (void)r;
      free (text);
    }
  else
    capsa_sync_send (fd, SYNC_ERROR, (*err)->status, 0, (*err)->msg, &tmp);
  _exit (127);
}

/* A new network namespace starts with `lo` down; runc and crun bring it up. */
static int loopback_up (capsa_error_t *err)
{
  struct ifreq ifr = { 0 };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return capsa_make_error (err, errno, "socket");
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0
      || (ifr.ifr_flags |= IFF_UP, ioctl (fd, SIOCSIFFLAGS, &ifr)) < 0)
    {
      int e = errno;
      close (fd);
      return capsa_make_error (err, e, "bring up the loopback interface");
    }
  close (fd);
  return 0;
}

/* The process's cwd is created inside the rootfs when missing, as runc does. */
static int make_cwd (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const char *cwd = ctx->config->process->cwd;
  int fd;
  if (cwd == NULL || strcmp (cwd, "/") == 0)
    return 0;
  fd = capsa_open_in_root (ctx->rootfs_fd, cwd, true, false, err);
  if (fd < 0)
    return capsa_error_prefix (err, "config.json: .process.cwd");
  close (fd);
  return 0;
}

/* The container's processes are a session and process group of their own, with or without a
 * terminal: the caller's terminal signals (^C, ^Z, SIGHUP on hangup) are not theirs. */
static int new_session (capsa_error_t *err)
{
  if (setsid () < 0 && getsid (0) != getpid ())
    return capsa_make_error (err, errno, "setsid");
  return 0;
}

/* root.path was opened in the runtime's mount namespace; in a joined one it is looked up
 * again there (what is mounted in that namespace is what the container sees). */
static int reopen_rootfs_in_joined_ns (struct capsa_ctx *ctx, capsa_error_t *err)
{
  int fd;
  if (!(ctx->joined_ns & CLONE_NEWNS))
    return 0;
  fd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return capsa_make_error (err, errno,
                             "config.json: .root.path: rootfs `%s` in the joined mount namespace",
                             ctx->rootfs);
  close (ctx->rootfs_fd);
  ctx->rootfs_fd = fd;
  return 0;
}

/* `sj`: the cgroup files to join ourselves (NULL: the runtime moves us, see do_create). */
static void __attribute__ ((noreturn))
container_init (struct capsa_ctx *ctx, struct capsa_ns_plan *plan, int sync, bool two_stage,
                struct capsa_cgroup_self_join *sj)
{
  capsa_error_t err = NULL;
  const struct oci_config *c = ctx->config;
  struct capsa_sync_msg msg;
  char *state_json;
  int start_fd;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* Nothing runs before we are in the container's cgroup: joining it is the first thing we do
   * (or the runtime has done it before READY). */
  if (sj && capsa_cgroup_self_join (sj, &err) < 0)
    init_fail (sync, &err);
  if (capsa_sync_recv (sync, SYNC_READY, &msg, &err) < 0)
    init_fail (sync, &err);
  capsa_sync_msg_free (&msg);
  if (two_stage)
    {
      int rest;
      if (capsa_ns_join (plan, true, &err) < 0 || capsa_ns_join (plan, false, &err) < 0)
        init_fail (sync, &err);
      if (ctx->new_userns)
        {
          if (unshare (CLONE_NEWUSER) < 0)
            {
              capsa_make_error (&err, errno, "unshare user namespace");
              init_fail (sync, &err);
            }
          if (capsa_sync_send (sync, SYNC_MAPS, 0, 0, NULL, &err) < 0
              || capsa_sync_recv (sync, SYNC_MAPS, &msg, &err) < 0)
            init_fail (sync, &err);
          capsa_sync_msg_free (&msg);
        }
      rest = plan->new_flags & ~(CLONE_NEWUSER | CLONE_NEWTIME);
      if (rest && unshare (rest) < 0)
        {
          capsa_make_error (&err, errno, "unshare namespaces");
          init_fail (sync, &err);
        }
      if ((plan->new_flags | plan->joined) & CLONE_NEWPID)
        {
          /* A new or joined pid namespace applies to children only: the init is a sibling. */
          pid_t pid = (pid_t)syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
          if (pid < 0)
            {
              capsa_make_error (&err, errno, "clone");
              init_fail (sync, &err);
            }
          if (pid > 0)
            {
              capsa_sync_send (sync, SYNC_PID, 0, pid, NULL, &err);
              _exit (0);
            }
          prctl (PR_SET_PDEATHSIG, SIGKILL);
        }
      else if (capsa_sync_send (sync, SYNC_PID, 0, getpid (), NULL, &err) < 0)
        _exit (1);
    }
  capsa_ns_plan_release (plan);
  if (new_session (&err) < 0 || reopen_rootfs_in_joined_ns (ctx, &err) < 0)
    init_fail (sync, &err);
  if (!two_stage && ctx->new_cgroupns && unshare (CLONE_NEWCGROUP) < 0)
    {
      capsa_make_error (&err, errno, "unshare cgroup namespace");
      init_fail (sync, &err);
    }

  /* Before the uid changes below: they make the init non-dumpable, which gives its /proc
   * files to the host's root, and a new user namespace cannot then open timens_offsets for
   * writing (EACCES for every user namespace container with timeOffsets). */
  if (ctx->new_timens && capsa_ns_enter_time (ctx, &err) < 0)
    init_fail (sync, &err);
  if (ctx->userns)
    {
      /* Become root of the user namespace (where 0 is mapped). */
      if (setresgid (0, 0, 0) < 0 && errno != EINVAL)
        {
          capsa_make_error (&err, errno, "setresgid(0)");
          init_fail (sync, &err);
        }
      if (setresuid (0, 0, 0) < 0 && errno != EINVAL)
        {
          capsa_make_error (&err, errno, "setresuid(0)");
          init_fail (sync, &err);
        }
    }
  if (!ctx->opts->no_new_keyring
      && capsa_join_session_keyring (ctx->id, c->process->selinux_label, ctx->userns, &err) < 0)
    init_fail (sync, &err);
  if (c->hostname && c->hostname[0] && sethostname (c->hostname, strlen (c->hostname)) < 0)
    {
      capsa_make_error (&err, errno, "sethostname `%s`", c->hostname);
      init_fail (sync, &err);
    }
  if (c->domainname && c->domainname[0]
      && setdomainname (c->domainname, strlen (c->domainname)) < 0)
    {
      capsa_make_error (&err, errno, "setdomainname `%s`", c->domainname);
      init_fail (sync, &err);
    }
  if (capsa_set_oom_score_adj (c->process, &err) < 0)
    init_fail (sync, &err);
  if (ctx->new_netns && loopback_up (&err) < 0)
    init_fail (sync, &err);
  if ((ctx->vm ? capsa_sandbox_prepare (ctx, &err) : capsa_rootfs_prepare (ctx, &err)) < 0)
    init_fail (sync, &err);
  capsa_fault_point ("init:after-mounts");

  /* The runtime runs prestart and createRuntime hooks in its own namespaces now. */
  if (capsa_sync_send (sync, SYNC_PREPARED, 0, 0, NULL, &err) < 0
      || capsa_sync_recv (sync, SYNC_GO, &msg, &err) < 0)
    init_fail (sync, &err);
  state_json = msg.payload;
  ctx->state_json = state_json;

  if (c->hooks
      && capsa_run_hooks ("createContainer", c->hooks->create_container,
                          c->hooks->create_container_len, state_json, &err)
           < 0)
    init_fail (sync, &err);
  if (ctx->vm ? capsa_sandbox_finalize (ctx, &err) < 0
              : (make_cwd (ctx, &err) < 0 || capsa_rootfs_finalize (ctx, &err) < 0))
    init_fail (sync, &err);
  if (c->process->terminal)
    {
      int master = capsa_terminal_setup (c->process, &err);
      if (master < 0 || capsa_send_fd (ctx->console_socket_fd, master, &err) < 0)
        init_fail (sync, &err);
      close (master);
    }
  else
    /* A session of its own, as with runc, whose container init always leads one: CRIU cannot
     * checkpoint a process whose session leader is outside the container's pid namespace. */
    (void)setsid ();
  if (ctx->console_socket_fd >= 0)
    {
      close (ctx->console_socket_fd);
      ctx->console_socket_fd = -1;
    }
  /* A missing program fails `create`, as with runc (engines map its text to 127/126). */
  if (!ctx->vm && capsa_process_check_executable (c->process, &err) < 0)
    init_fail (sync, &err);
  if (capsa_mempolicy_apply (c->linux_, &err) < 0)
    init_fail (sync, &err);
  /* From here on the container outlives the command that created it, and processes of the
   * container (capsa exec) may see it: no ptrace, no /proc/<pid>/exe|mem|environ until execve. */
  prctl (PR_SET_DUMPABLE, 0);
  prctl (PR_SET_PDEATHSIG, 0);
  if (capsa_sync_send (sync, SYNC_CREATED, 0, 0, NULL, &err) < 0)
    _exit (1);

  start_fd = init_wait_start (ctx, sync, &err);
  if (start_fd < 0)
    init_fail_before_start (ctx, &err);
  if (ctx->init_error_fd >= 0)
    {
      /* From now on failures go to `start` through the fifo. */
      close (ctx->init_error_fd);
      ctx->init_error_fd = -1;
    }
  capsa_fault_point ("init:after-start");
  if (c->hooks
      && capsa_run_hooks ("startContainer", c->hooks->start_container,
                          c->hooks->start_container_len, state_json, &err)
           < 0)
    init_fail_after_start (start_fd, start_fd != sync, &err);
  if (ctx->vm)
    capsa_sandbox_exec (ctx, &err);
  else
    capsa_process_exec (ctx, c->process, &err);
  init_fail_after_start (start_fd, start_fd != sync, &err);
}

/* ---------------------------------------------------------------- the runtime side --- */

struct created
{
  struct capsa_cgroup cg;
  pid_t pid;
  int sync;          /* runtime end of the sync socket (run keeps it for start) */
  int console_proxy; /* run in the foreground with a terminal: our end of the console socket */
  char *dir;
  int dirfd;
  struct capsa_state_file st;
};

int capsa_ctx_load_bundle (struct capsa_ctx *ctx, const struct capsa_create_opts *o,
                           capsa_error_t *err)
{
  char path[PATH_MAX];
  const char *bundle = o->bundle ? o->bundle : ".";
  char *cfg_msg = NULL;
  const char *cfg_path;
  const char *root_path;

  ctx->bundle = realpath (bundle, NULL);
  if (ctx->bundle == NULL)
    return capsa_make_error (err, errno, "bundle `%s`", bundle);
  if (o->config_file)
    cfg_path = o->config_file;
  else
    {
      snprintf (path, sizeof (path), "%s/config.json", ctx->bundle);
      cfg_path = path;
    }
  /* Read once: parsed here, and the same bytes are kept in the state dir for later commands
   * (exec, hooks of start and delete). */
  if (capsa_read_file (cfg_path, &ctx->config_text, &ctx->config_len, err) < 0)
    return capsa_error_prefix (err, "config.json");
  ctx->config = oci_config_parse_data (ctx->config_text, ctx->config_len,
                                       o->config_file ? o->config_file : "config.json", &cfg_msg);
  if (ctx->config == NULL)
    {
      capsa_make_error (err, 0, "%s", cfg_msg ? cfg_msg : "config.json: cannot parse");
      free (cfg_msg);
      return -1;
    }
  if (ctx->config->process == NULL)
    return capsa_make_error (err, 0,
                             "config.json: .process: missing (a container needs a process)");
  if (ctx->config->process->args_len == 0)
    return capsa_make_error (err, 0, "config.json: .process.args: must not be empty");
  if (ctx->config->root == NULL || ctx->config->root->path == NULL)
    return capsa_make_error (err, 0, "config.json: .root.path: missing");
  if (ctx->config->linux_ == NULL)
    return capsa_make_error (err, 0, "config.json: .linux: missing (capsa runs Linux containers)");
  if (capsa_spec_refuse_unapplied (ctx->config, err) < 0
      || capsa_process_validate (ctx->config->process, err) < 0)
    return -1;
  /* libselinux is loaded here, before the fork, or never (selinux-lazy.c) */
  if (ctx->config->linux_->mount_label != NULL && ctx->config->linux_->mount_label[0] != '\0'
      && capsa_selinux_label_check (ctx->config->linux_->mount_label,
                                    "config.json: .linux.mountLabel", err)
           < 0)
    return -1;
  {
    int vm = capsa_sandbox_wanted (ctx->config, ctx->g->argv0, err);
    if (vm < 0)
      return -1;
    ctx->vm = vm > 0;
  }
  if (capsa_sandbox_pod_join (ctx, err) < 0)
    return -1;
  root_path = ctx->config->root->path;
  if (root_path[0] == '/')
    snprintf (path, sizeof (path), "%s", root_path);
  else
    snprintf (path, sizeof (path), "%s/%s", ctx->bundle, root_path);
  ctx->rootfs = realpath (path, NULL);
  if (ctx->rootfs == NULL)
    return capsa_make_error (err, errno, "config.json: .root.path: rootfs `%s`", path);
  ctx->rootfs_fd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfs_fd < 0)
    return capsa_make_error (err, errno, "config.json: .root.path: rootfs `%s`", ctx->rootfs);
  return 0;
}

void capsa_ctx_release (struct capsa_ctx *ctx)
{
  free (ctx->config_text);
  free (ctx->bundle);
  free (ctx->rootfs);
  if (ctx->config)
    oci_config_free (ctx->config);
  if (ctx->rootfs_fd >= 0)
    close (ctx->rootfs_fd);
  if (ctx->console_socket_fd >= 0)
    close (ctx->console_socket_fd);
  if (ctx->exec_fifo_fd >= 0)
    close (ctx->exec_fifo_fd);
  capsa_idmap_release (ctx);
  if (ctx->init_error_fd >= 0)
    close (ctx->init_error_fd);
  capsa_devices_release (ctx);
  capsa_seccomp_release ();
}

static int write_pid_file (const char *path, pid_t pid, capsa_error_t *err)
{
  char buf[32];
  int n = snprintf (buf, sizeof (buf), "%d", pid);
  if (capsa_write_file_atomic (path, buf, (size_t)n, err) < 0)
    return capsa_error_prefix (err, "pid file");
  return 0;
}

static int run_hooks_with_state (const char *kind, const struct oci_hook *hooks, size_t n,
                                 struct capsa_state_file *st, const char *status,
                                 capsa_error_t *err)
{
  char *json;
  int ret;
  if (n == 0)
    return 0;
  json = capsa_state_oci_json (st, status, false);
  ret = capsa_run_hooks (kind, hooks, n, json, err);
  free (json);
  return ret;
}

/* Step 13 of the lifecycle: poststop hooks, after the container is destroyed (by delete, or
 * after a failed create or start).  The spec: a failing poststop hook is a warning; the
 * remaining hooks still run. */
static void run_poststop (const struct oci_hooks *h, struct capsa_state_file *st)
{
  for (size_t i = 0; h && i < h->poststop_len; i++)
    {
      capsa_error_t tmp = NULL;
      if (run_hooks_with_state ("poststop", &h->poststop[i], 1, st, "stopped", &tmp) < 0)
        {
          char *t = capsa_error_text (tmp);
          capsa_warn ("%s", t);
          free (t);
          capsa_error_release (&tmp);
        }
    }
}

static void kill_and_reap (pid_t pid)
{
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
}

/* linux.resources asks for nothing (absent, or an empty object as rootless podman writes). */
static bool resources_empty (const struct oci_resources *r)
{
  return r == NULL
         || (r->devices_len == 0 && r->memory == NULL && r->cpu == NULL && r->pids == NULL
             && r->block_io == NULL && r->hugepage_limits_len == 0 && r->network == NULL
             && r->rdma_len == 0 && r->unified_len == 0);
}

/* Rootless without a delegated cgroup (every hierarchy refused: EACCES, or none left: ENOENT):
 * fine as long as nothing asks for limits, as with runc.  0: the container runs without a cgroup
 * of its own; else *err (set by the manager) explains. */
static int rootless_without_cgroup (struct capsa_global *g, const struct oci_linux *l,
                                    capsa_error_t *err)
{
  char *t;

  if (!(g->rootless || capsa_unprivileged ())
      || ((*err)->status != EACCES && (*err)->status != ENOENT))
    return capsa_error_prefix (err, "config.json: cgroup");
  t = capsa_error_text (*err);
  if (!resources_empty (l->resources))
    {
      capsa_error_release (err);
      capsa_make_error (err, 0,
                        "config.json: .linux.resources: cannot be applied rootless "
                        "without a delegated cgroup (%s); remove .linux.resources",
                        t);
      free (t);
      return -1;
    }
  capsa_debug ("rootless: running without a cgroup of its own: %s", t);
  free (t);
  capsa_error_release (err);
  return 0;
}

/* The container's cgroup, resolved but not made yet: the first state.json names it, so that
 * delete --force finds what a runtime killed while making it left. */
int capsa_ctx_plan_cgroup (struct capsa_global *g, struct capsa_ctx *ctx, struct capsa_cgroup *cg,
                           capsa_error_t *err)
{
  const struct oci_linux *l = ctx->config->linux_;
  const struct capsa_cgroup_manager *mgr = capsa_cgroup_manager_get (g->cgroup_manager, err);

  memset (cg, 0, sizeof (*cg));
  if (mgr == NULL)
    return -1;
  if (strcmp (mgr->name, "disabled") == 0)
    {
      if (l->resources)
        capsa_warn ("config.json: .linux.resources: not applied (--cgroup-manager disabled)");
      return 0;
    }
  cg->mgr = mgr;
  if (mgr->plan (cg, ctx->id, l->cgroups_path, g->rootless || capsa_unprivileged (), err) < 0)
    {
      mgr->release (cg);
      cg->mgr = NULL;
      return rootless_without_cgroup (g, l, err);
    }
  return 0;
}

/* Make the planned cgroup, before the init runs any code of the container's. */
int capsa_ctx_create_cgroup (struct capsa_global *g, struct capsa_ctx *ctx, struct capsa_cgroup *cg,
                             capsa_error_t *err)
{
  const struct oci_linux *l = ctx->config->linux_;

  if (cg->mgr == NULL)
    return 0;
  if (cg->mgr->create (cg, l->resources, g->rootless || capsa_unprivileged (), err) < 0)
    {
      cg->mgr->release (cg);
      cg->mgr = NULL;
      return rootless_without_cgroup (g, l, err);
    }
  return 0;
}

/* Point the state at the cgroup as it is now; true when that changed what the state said. */
bool capsa_state_set_cgroup (struct capsa_state_file *st, struct capsa_cgroup *cg)
{
  char *mgr = cg->mgr ? strdup (cg->mgr->name) : NULL;
  char *data = cg->mgr ? cg->mgr->serialize (cg) : NULL;
  bool changed = (mgr == NULL) != (st->cgroup_manager == NULL)
                 || (mgr && strcmp (mgr, st->cgroup_manager) != 0)
                 || (data == NULL) != (st->cgroup == NULL)
                 || (data && strcmp (data, st->cgroup) != 0);

  free (st->cgroup_manager);
  free (st->cgroup);
  st->cgroup_manager = mgr;
  st->cgroup = data;
  return changed;
}

void capsa_cgroup_destroy_quiet (struct capsa_cgroup *cg)
{
  capsa_error_t tmp = NULL;
  if (cg->mgr == NULL)
    return;
  if (cg->mgr->destroy (cg, &tmp) < 0)
    {
      char *t = capsa_error_text (tmp);
      capsa_warn ("%s", t);
      free (t);
      capsa_error_release (&tmp);
    }
  cg->mgr->release (cg);
  cg->mgr = NULL;
}

static int signal_init (const struct capsa_state_file *st, int sig, int *pidfd_out,
                        capsa_error_t *err);

/* The host id that id 0 of process `pid`'s user namespace maps to ("uid_map" or "gid_map"),
 * or -1 when 0 is not mapped. */
static long long container_root_host_id (pid_t pid, const char *file)
{
  char path[64];
  long long inside, outside, count, host = -1;
  FILE *f;

  snprintf (path, sizeof (path), "/proc/%d/%s", (int)pid, file);
  f = fopen (path, "re");
  if (f == NULL)
    return -1;
  while (fscanf (f, "%lld %lld %lld", &inside, &outside, &count) == 3)
    if (inside <= 0 && 0 < inside + count)
      {
        host = outside - inside;
        break;
      }
  fclose (f);
  return host;
}

/* The init opens the exec fifo as root of its user namespace after `create` returned: the fifo
 * belongs to the host ids that root maps to (a fifo owned by an unmapped host root would be out
 * of its reach). */
static int chown_to_container_root (int fd, pid_t init, capsa_error_t *err)
{
  long long uid = container_root_host_id (init, "uid_map");
  long long gid = container_root_host_id (init, "gid_map");

  if (uid < 0 && gid < 0)
    return 0;
  if (fchownat (fd, "", uid < 0 ? (uid_t)-1 : (uid_t)uid, gid < 0 ? (gid_t)-1 : (gid_t)gid,
                AT_EMPTY_PATH)
      < 0)
    return capsa_make_error (err, errno, "chown exec fifo to the container's root (%lld:%lld)", uid,
                             gid);
  return 0;
}

/* Everything up to the `created` state.  With `for_run` the init waits on the sync socket for
 * the start message instead of the exec fifo. */
static int do_create (struct capsa_global *g, const struct capsa_create_opts *o, bool for_run,
                      struct created *out, capsa_error_t *err)
{
  struct capsa_ctx ctx = { 0 };
  struct capsa_ns_plan plan = { 0 };
  int sp[2] = { -1, -1 }, cons[2] = { -1, -1 };
  pid_t child = -1, init = -1;
  bool two_stage, self_join;
  struct capsa_cgroup_self_join sj = { .n = 0, .v2_fd = -1 };
  char created[64], path[PATH_MAX];
  struct capsa_sync_msg msg;
  const struct oci_process *proc;
  struct capsa_state_file *st = &out->st;

  memset (out, 0, sizeof (*out));
  out->sync = out->console_proxy = out->dirfd = -1;
  ctx.rootfs_fd = ctx.console_socket_fd = ctx.exec_fifo_fd = ctx.init_error_fd = -1;
  ctx.g = g;
  ctx.opts = o;
  ctx.id = o->id;

  if (capsa_validate_id (o->id, err) < 0 || capsa_fds_reserve (o->preserve_fds, err) < 0)
    return -1;
  if (capsa_ctx_load_bundle (&ctx, o, err) < 0 || capsa_ns_plan (&ctx, &plan, err) < 0
      || capsa_sysctl_validate (&ctx, err) < 0
      || capsa_mempolicy_validate (ctx.config->linux_, err) < 0
      || capsa_netdev_validate (ctx.config->linux_, ctx.new_netns || (plan.joined & CLONE_NEWNET),
                                ctx.vm, err)
           < 0
      || capsa_seccomp_prepare (ctx.config->linux_->seccomp, 3 + o->preserve_fds, err) < 0)
    goto fail_early;
  proc = ctx.config->process;
  if (proc->terminal && o->console_socket == NULL && (!for_run || o->detach))
    {
      capsa_make_error (err, 0,
                        "cannot allocate tty if capsa will detach without setting console socket");
      goto fail_early;
    }
  if (!proc->terminal && o->console_socket)
    {
      capsa_make_error (err, 0,
                        "cannot use console socket if capsa will not detach or allocate tty");
      goto fail_early;
    }
  if (proc->terminal)
    {
      if (o->console_socket)
        {
          ctx.console_socket_fd = capsa_console_socket_open (o->console_socket, err);
          if (ctx.console_socket_fd < 0)
            goto fail_early;
        }
      else
        {
          if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cons) < 0)
            {
              capsa_make_error (err, errno, "socketpair");
              goto fail_early;
            }
          ctx.console_socket_fd = cons[1];
          out->console_proxy = cons[0];
        }
    }

  out->dirfd = capsa_state_create_dir (g, o->id, &out->dir, err);
  if (out->dirfd < 0)
    goto fail_early;
  ctx.state_dir = out->dir;
  capsa_fault_point ("create:after-state-dir");

  capsa_now_rfc3339 (created, sizeof (created));
  st->id = strdup (o->id);
  st->bundle = strdup (ctx.bundle);
  st->rootfs = strdup (ctx.rootfs);
  st->created = strdup (created);
  st->annotations = ctx.config->annotations;
  st->annotations_len = ctx.config->annotations_len;

  if (capsa_write_file_at (out->dirfd, "config.json", ctx.config_text, ctx.config_len, err) < 0
      || capsa_notify_setup (&ctx, out->dirfd, err) < 0)
    goto fail;
  if (capsa_ctx_plan_cgroup (g, &ctx, &out->cg, err) < 0)
    goto fail;
  capsa_state_set_cgroup (st, &out->cg);
  /* The first state.json names the cgroup before it exists: delete --force removes whatever a
   * kill -9 while making it left (a cgroup in some hierarchies, or none). */
  if (capsa_state_write (out->dir, st, err) < 0)
    goto fail;
  capsa_trace (o->id, "none", "creating");
  capsa_fault_point ("create:after-cgroup-plan");
  if (capsa_ctx_create_cgroup (g, &ctx, &out->cg, err) < 0)
    goto fail;
  /* What was made can differ from the plan (rootless: a hierarchy refused, or no cgroup at all;
   * a parent made or removed meanwhile): the state names what there is to remove. */
  if (capsa_state_set_cgroup (st, &out->cg) && capsa_state_write (out->dir, st, err) < 0)
    goto fail;
  capsa_fault_point ("create:after-cgroup");

  if (!for_run)
    {
      snprintf (path, sizeof (path), "%s/exec.fifo", out->dir);
      if (mkfifo (path, 0600) < 0)
        {
          capsa_make_error (err, errno, "create exec fifo");
          goto fail;
        }
      ctx.exec_fifo_fd = open (path, O_PATH | O_CLOEXEC);
      if (ctx.exec_fifo_fd < 0)
        {
          capsa_make_error (err, errno, "open exec fifo");
          goto fail;
        }
      ctx.init_error_fd
        = openat (out->dirfd, "init.error", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (ctx.init_error_fd < 0)
        {
          capsa_make_error (err, errno, "create init.error");
          goto fail;
        }
      capsa_fault_point ("create:after-exec-fifo");
    }

  if (!ctx.vm && capsa_devices_prepare_userns (&ctx, err) < 0)
    goto fail;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    {
      capsa_make_error (err, errno, "socketpair");
      goto fail;
    }
  /* Idmapped mounts need the host's privileges: their trees are made before the clone. */
  if (capsa_idmap_prepare (&ctx, err) < 0)
    goto fail;

  /* Fast path: one clone() creates every namespace.  Joining namespaces by path needs them
   * joined before new ones are made (a new user namespace would own the rest), so that case
   * spawns in two stages. */
  two_stage = plan.njoin > 0;
  /* The init joins its cgroup itself where it can (see capsa_cgroup_self_join_open): the
   * runtime moving it would wait for an RCU grace period, most of a `run`'s wall time. */
  self_join = out->cg.mgr && capsa_cgroup_self_join_open (&out->cg, &sj) == 1;
  {
    unsigned long flags = 0;
    /* The cgroup namespace is unshared by the init once it sits in its cgroup, so that
     * cgroup is the namespace's root; the time namespace needs its offsets first. */
    if (!two_stage)
      flags |= (unsigned long)(plan.new_flags & ~(CLONE_NEWTIME | CLONE_NEWCGROUP));
    child = -1;
    if (self_join && sj.v2_fd >= 0)
      {
        struct clone_args a = { 0 };
        a.flags = flags | CLONE_INTO_CGROUP;
        a.exit_signal = SIGCHLD;
        a.cgroup = (uint64_t)sj.v2_fd;
        child = (pid_t)syscall (SYS_clone3, &a, sizeof (a));
        if (child < 0)
          {
            /* No clone3 or CLONE_INTO_CGROUP (before Linux 5.7), or the kernel refuses the
             * target: the runtime moves the init (and `enter` reports what is wrong). */
            capsa_debug ("clone3 into the cgroup: %s; moving the init instead", strerror (errno));
            capsa_cgroup_self_join_close (&sj);
            self_join = false;
          }
      }
    if (child < 0)
      child = (pid_t)syscall (SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  }
  if (child < 0)
    {
      capsa_make_error (err, errno, "clone container init");
      capsa_cgroup_self_join_close (&sj);
      goto fail;
    }
  if (child == 0)
    {
      /* The state dir lock belongs to this command, not to the container. */
      close (out->dirfd);
      close (sp[0]);
      if (cons[0] >= 0)
        close (cons[0]);
      container_init (&ctx, &plan, sp[1], two_stage, self_join ? &sj : NULL);
    }
  capsa_cgroup_self_join_close (&sj);
  capsa_idmap_release (&ctx); /* the init has its copies */
  close (sp[1]);
  sp[1] = -1;
  if (cons[1] >= 0)
    {
      close (cons[1]);
      cons[1] = ctx.console_socket_fd = -1;
    }
  init = child;
  capsa_fault_point ("create:after-clone");
  if (!self_join && out->cg.mgr && out->cg.mgr->enter (&out->cg, child, err) < 0)
    goto fail;
  /* The systemd manager knows its scope's cgroup only once `enter` started the scope. */
  if (out->cg.mgr)
    {
      free (st->cgroup);
      st->cgroup = out->cg.mgr->serialize (&out->cg);
    }
  if (!two_stage && ctx.new_userns && capsa_ns_write_id_maps (&ctx, child, err) < 0)
    goto fail;
  if (capsa_sync_send (sp[0], SYNC_READY, 0, 0, NULL, err) < 0)
    goto fail;

  /* Two-stage, the init's pid comes in SYNC_PID; with a pid namespace it is sent by the process
   * that cloned the init, its sibling, so the init's SYNC_PREPARED can arrive first. */
  bool want_pid = two_stage, prepared = false;
  for (;;)
    {
      if (capsa_sync_recv (sp[0], 0, &msg, err) < 0)
        goto fail;
      if (msg.type == SYNC_MAPS)
        {
          capsa_sync_msg_free (&msg);
          if (capsa_ns_write_id_maps (&ctx, child, err) < 0
              || capsa_sync_send (sp[0], SYNC_MAPS, 0, 0, NULL, err) < 0)
            goto fail;
          continue;
        }
      if (msg.type == SYNC_PID)
        {
          init = (pid_t)msg.value;
          capsa_sync_msg_free (&msg);
          if (init != child)
            waitpid (child, NULL, 0);
          child = -1;
          want_pid = false;
          if (prepared)
            break;
          continue;
        }
      if (msg.type == SYNC_PREPARED)
        {
          capsa_sync_msg_free (&msg);
          prepared = true;
          if (want_pid)
            continue;
          break;
        }
      capsa_sync_msg_free (&msg);
      capsa_make_error (err, 0, "unexpected message from container init");
      goto fail;
    }

  capsa_fault_point ("create:after-mounts");
  if (ctx.userns && ctx.exec_fifo_fd >= 0
      && chown_to_container_root (ctx.exec_fifo_fd, init, err) < 0)
    goto fail;
  if (capsa_netdev_move (ctx.config->linux_, init, err) < 0)
    goto fail;
  st->pid = init;
  st->start_time = capsa_process_start_time (init);
  st->pidns = ((plan.new_flags | plan.joined) & CLONE_NEWPID) != 0;
  st->vm = ctx.vm;
  st->no_new_keyring = o->no_new_keyring;
  /* `run` has no exec fifo, so `started` changes no status it reports: written now, it saves
   * run a third state.json write (an open, a write and a rename). */
  st->started = for_run;
  if (ctx.config->hooks)
    {
      st->poststart_hooks = ctx.config->hooks->poststart_len > 0;
      st->poststop_hooks = ctx.config->hooks->poststop_len > 0;
    }
  if (capsa_state_write (out->dir, st, err) < 0)
    goto fail;
  capsa_trace (o->id, "creating", capsa_state_status (out->dir, st));
  capsa_fault_point ("create:after-state-pid");
  if (ctx.config->hooks)
    {
      const struct oci_hooks *h = ctx.config->hooks;
      if (run_hooks_with_state ("prestart", h->prestart, h->prestart_len, st, "created", err) < 0
          || run_hooks_with_state ("createRuntime", h->create_runtime, h->create_runtime_len, st,
                                   "created", err)
               < 0)
        goto fail;
    }
  {
    char *json = capsa_state_oci_json (st, "created", false);
    int r = capsa_sync_send (sp[0], SYNC_GO, 0, 0, json, err);
    free (json);
    if (r < 0)
      goto fail;
  }
  if (capsa_sync_recv (sp[0], SYNC_CREATED, &msg, err) < 0)
    goto fail;
  capsa_sync_msg_free (&msg);
  capsa_fault_point ("create:after-created");
  if (o->pid_file && write_pid_file (o->pid_file, init, err) < 0)
    goto fail;

  out->pid = init;
  if (for_run)
    out->sync = sp[0];
  else
    close (sp[0]);
  st->annotations = NULL;
  st->annotations_len = 0;
  /* The state keeps its own copy of the annotations; the config stays for poststart. */
  st->annotations = calloc (ctx.config->annotations_len + 1, sizeof (*st->annotations));
  for (size_t i = 0; i < ctx.config->annotations_len; i++)
    {
      st->annotations[i].key = strdup (ctx.config->annotations[i].key);
      st->annotations[i].value = strdup (ctx.config->annotations[i].value);
    }
  st->annotations_len = ctx.config->annotations_len;
  capsa_ctx_release (&ctx);
  return 0;

fail:
  if (child > 0)
    kill_and_reap (child);
  if (init > 0 && init != child)
    kill_and_reap (init);
  /* An init that vanished during setup may have been OOM-killed in its own cgroup: the runtime
   * then sees its end of the sync socket closed, or reset when it died with a message unread. */
  if (*err
      && (strstr ((*err)->msg, "exited unexpectedly") || (*err)->status == ECONNRESET
          || (*err)->status == EPIPE))
    capsa_cgroup_explain_init_death (&out->cg, err);
  capsa_cgroup_destroy_quiet (&out->cg);
  /* A failed create continues the lifecycle at step 12 (destroy) and 13 (poststop hooks). */
  if (ctx.config && ctx.config->hooks && ctx.config->hooks->poststop_len > 0)
    run_poststop (ctx.config->hooks, st);
  if (sp[0] >= 0)
    close (sp[0]);
  if (sp[1] >= 0)
    close (sp[1]);
  if (out->console_proxy >= 0)
    close (out->console_proxy);
  out->console_proxy = -1;
  {
    capsa_error_t tmp = NULL;
    if (st->pid > 0)
      capsa_trace (o->id, capsa_state_status (out->dir, st), "none");
    capsa_state_remove_dir (out->dir, &tmp);
    capsa_error_release (&tmp);
  }
fail_early:
  if (cons[1] >= 0 && cons[1] != ctx.console_socket_fd)
    close (cons[1]);
  if (cons[0] >= 0 && cons[0] != out->console_proxy)
    close (cons[0]);
  capsa_ns_plan_release (&plan);
  st->annotations = NULL;
  st->annotations_len = 0;
  capsa_state_file_free (st);
  if (out->dirfd >= 0)
    close (out->dirfd);
  free (out->dir);
  out->dir = NULL;
  out->dirfd = -1;
  capsa_ctx_release (&ctx);
  return capsa_error_prefix (err, "create container `%s`", o->id);
}

static void created_release (struct created *c)
{
  if (c->cg.mgr)
    c->cg.mgr->release (&c->cg);
  if (c->sync >= 0)
    close (c->sync);
  if (c->console_proxy >= 0)
    close (c->console_proxy);
  if (c->dirfd >= 0)
    close (c->dirfd);
  free (c->dir);
  capsa_state_file_free (&c->st);
}

int capsa_container_create (struct capsa_global *g, const struct capsa_create_opts *o,
                            capsa_error_t *err)
{
  struct created c;
  if (do_create (g, o, false, &c, err) < 0)
    return -1;
  created_release (&c);
  return 0;
}

static struct oci_config *load_saved_config (const char *dir)
{
  char path[PATH_MAX], *msg = NULL;
  struct oci_config *cfg;
  snprintf (path, sizeof (path), "%s/config.json", dir);
  cfg = oci_config_parse_file (path, "config.json", &msg);
  free (msg);
  return cfg;
}

/* The spec: a failing poststart hook is an error and the container is stopped (the caller
 * destroys it: destroy_after_failed_start). */
static int run_poststart (const char *dir, struct capsa_state_file *st, capsa_error_t *err)
{
  struct oci_config *cfg = st->poststart_hooks ? load_saved_config (dir) : NULL;
  int ret = 0;

  if (cfg && cfg->hooks && cfg->hooks->poststart_len
      && run_hooks_with_state ("poststart", cfg->hooks->poststart, cfg->hooks->poststart_len, st,
                               "running", err)
           < 0)
    ret = -1;
  if (cfg)
    oci_config_free (cfg);
  return ret;
}

static int delete_locked (const char *dir, struct capsa_state_file *st, bool force,
                          capsa_error_t *err);

/* A failed startContainer or poststart hook: stop the container and go on with the lifecycle
 * (runtime.md steps 12-13: destroy, then poststop hooks), as delete --force does. */
static void destroy_after_failed_start (const char *dir, struct capsa_state_file *st)
{
  capsa_error_t tmp = NULL;
  if (delete_locked (dir, st, true, &tmp) < 0)
    {
      char *t = capsa_error_text (tmp);
      capsa_warn ("%s", t);
      free (t);
      capsa_error_release (&tmp);
    }
}

/* An init that failed between `create` and `start` left why in init.error: -1 with that
 * reason as the error, 0 when it left none. */
static int init_failed (const char *dir, capsa_error_t *err)
{
  char path[PATH_MAX], buf[1024];
  ssize_t n;
  int fd;

  snprintf (path, sizeof (path), "%s/init.error", dir);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  return capsa_make_error (err, 0, "container init failed after create: %s", buf);
}

int capsa_container_start (struct capsa_global *g, const char *id, capsa_error_t *err)
{
  char *dir = NULL, path[PATH_MAX], taken[PATH_MAX + 8], buf[4096];
  struct capsa_state_file st;
  struct capsa_notify notify = { .fd = -1 };
  const char *status;
  int dfd, fd, ret = -1;
  size_t got = 0;

  dfd = capsa_state_open_locked (g, id, &dir, err);
  if (dfd < 0)
    return -1;
  if (capsa_state_read (dir, &st, err) < 0)
    goto out;
  status = capsa_state_status (dir, &st);
  if (strcmp (status, "created") != 0)
    {
      if (strcmp (status, "stopped") != 0 || st.started || init_failed (dir, err) == 0)
        capsa_make_error (err, 0, "cannot start a container that is %s", status);
      goto out_st;
    }
  /* The container's notify socket is there before its process runs. */
  if (capsa_notify_bind (dir, &notify, err) < 0)
    goto out_st;
  /* The fifo is renamed away before its read end is opened: the init may exec as soon as it is
   * open, and `state` must not say `created` by then (the init reopens its end through an O_PATH
   * fd, not by name).  A kill -9 after the rename leaves a container `state` reports running, its
   * init waiting: delete --force removes it. */
  snprintf (path, sizeof (path), "%s/exec.fifo", dir);
  snprintf (taken, sizeof (taken), "%s/exec.fifo.taken", dir);
  if (rename (path, taken) < 0)
    {
      capsa_make_error (err, errno, "rename exec fifo");
      goto out_st;
    }
  capsa_trace (id, "created", "running");
  capsa_fault_point ("start:after-fifo-rename");
  fd = open (taken, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  unlink (taken);
  if (fd < 0)
    {
      capsa_make_error (err, errno, "open exec fifo");
      goto out_st;
    }
  {
    /* Wait for the init to open its end, or to die. */
    struct pollfd p[2] = { { fd, POLLIN, 0 }, { pidfd_open_ (st.pid), POLLIN, 0 } };
    int r;
    do
      r = poll (p, p[1].fd >= 0 ? 2 : 1, -1);
    while (r < 0 && errno == EINTR);
    if (p[1].fd >= 0)
      close (p[1].fd);
    if (!(p[0].revents & POLLIN))
      {
        close (fd);
        if (init_failed (dir, err) == 0)
          capsa_make_error (err, 0, "container init exited before start");
        goto out_st;
      }
    fcntl (fd, F_SETFL, 0);
  }
  capsa_fault_point ("start:after-fifo-open");
  st.started = true;
  if (capsa_state_write (dir, &st, err) < 0)
    {
      close (fd);
      goto out_st;
    }
  capsa_fault_point ("start:after-state-write");
  for (;;)
    {
      ssize_t r = read (fd, buf + got, sizeof (buf) - 1 - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t)r;
      if (got >= sizeof (buf) - 1)
        break;
    }
  close (fd);
  buf[got] = '\0';
  if (got == 0)
    {
      if (init_failed (dir, err) == 0)
        capsa_make_error (err, 0, "container init exited before start");
      goto out_st;
    }
  if (got > 1)
    {
      /* The init wrote why it could not exec after the start byte (a startContainer hook
       * failed, or the exec). */
      capsa_make_error (err, 0, "%s", buf + 1);
      destroy_after_failed_start (dir, &st);
      goto out_st;
    }
  if (run_poststart (dir, &st, err) < 0)
    {
      destroy_after_failed_start (dir, &st);
      goto out_st;
    }
  ret = 0;
  if (notify.fd >= 0)
    {
      /* As with runc, start returns once the workload said READY=1 (or exited); other
       * commands may work on the container meanwhile. */
      close (dfd);
      dfd = -1;
      capsa_notify_forward (&notify, st.pid, true);
    }
out_st:
  capsa_notify_release (&notify);
  capsa_state_file_free (&st);
out:
  if (dfd >= 0)
    close (dfd);
  free (dir);
  if (ret < 0)
    capsa_error_prefix (err, "start container `%s`", id);
  return ret;
}

/* Foreground run: forward signals to the container process; those that come before it is
 * known wait in `forward_pending`. */
static volatile pid_t forward_pid;
static volatile sig_atomic_t forward_pending[NSIG];

static void forward_signal (int sig)
{
  if (forward_pid > 0)
    kill (forward_pid, sig);
  else
    forward_pending[sig] = 1;
}

/* Foreground run: a child forwards the container's notify messages until the container
 * exits (the parent waits for the container and proxies its terminal meanwhile). */
static pid_t start_notify_proxy (struct capsa_notify *n, pid_t init)
{
  pid_t pid;
  if (n->fd < 0)
    return -1;
  pid = fork ();
  if (pid < 0)
    {
      capsa_warn ("notify socket: fork: %s", strerror (errno));
      return -1;
    }
  if (pid == 0)
    {
      static const int sigs[] = { SIGINT,  SIGTERM,  SIGHUP,  SIGQUIT, SIGUSR1,
                                  SIGUSR2, SIGWINCH, SIGPIPE, SIGALRM, SIGCONT };
      for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
        signal (sigs[i], SIG_IGN); /* signals are for the container; it ends with it or us */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () == 1)
        _exit (0);
      capsa_notify_forward (n, init, false);
      _exit (0);
    }
  /* The socket file stays until the parent's release; the parent needs no fd. */
  close (n->fd);
  n->fd = -1;
  return pid;
}

int capsa_container_run (struct capsa_global *g, const struct capsa_create_opts *o,
                         capsa_error_t *err)
{
  struct created c;
  struct capsa_sync_msg msg;
  struct capsa_notify notify = { .fd = -1 };
  pid_t notify_proxy = -1;
  static const int fwd[]
    = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE, SIGALRM, SIGCONT };
  struct sigaction sa = { 0 };
  int status = 0, ret;
  size_t i;

  if (!o->detach)
    {
      sa.sa_handler = forward_signal;
      sa.sa_flags = SA_RESTART;
      for (i = 0; i < sizeof (fwd) / sizeof (fwd[0]); i++)
        sigaction (fwd[i], &sa, NULL);
      /* Orphans of a container without its own pid namespace become our children: reaped in
       * the wait below. */
      if (!o->no_subreaper)
        prctl (PR_SET_CHILD_SUBREAPER, 1);
    }
  if (do_create (g, o, true, &c, err) < 0)
    return -1;
  capsa_fault_point ("run:after-create");
  if (capsa_notify_bind (c.dir, &notify, err) < 0
      || capsa_sync_send (c.sync, SYNC_START, 0, 0, NULL, err) < 0)
    goto fail;
  /* EOF means execve succeeded (the socket is close-on-exec); a message is an error. */
  if (capsa_sync_recv (c.sync, 0, &msg, err) < 0)
    {
      if (strcmp ((*err)->msg, "container init exited unexpectedly") != 0)
        goto fail;
      capsa_error_release (err);
    }
  else
    capsa_sync_msg_free (&msg);
  close (c.sync);
  c.sync = -1;
  capsa_fault_point ("run:after-start");
  if (run_poststart (c.dir, &c.st, err) < 0)
    goto fail;

  if (o->detach)
    {
      pid_t pid = c.pid;
      created_release (&c);
      /* As with runc, run --detach returns once the workload said READY=1 (or exited). */
      capsa_notify_forward (&notify, pid, true);
      capsa_notify_release (&notify);
      return 0;
    }
  notify_proxy = start_notify_proxy (&notify, c.pid);

  /* Let other commands (kill, state) work on the container while we wait. */
  close (c.dirfd);
  c.dirfd = -1;
  forward_pid = c.pid;
  for (i = 0; i < sizeof (fwd) / sizeof (fwd[0]); i++)
    if (fwd[i] == SIGWINCH && c.console_proxy >= 0)
      signal (SIGWINCH, SIG_DFL);
    else if (forward_pending[fwd[i]])
      {
        forward_pending[fwd[i]] = 0;
        kill (c.pid, fwd[i]);
      }
  if (c.console_proxy >= 0)
    {
      int master = capsa_recv_fd (c.console_proxy, err);
      if (master < 0)
        goto fail;
      capsa_terminal_proxy (master, err);
      capsa_error_release (err);
      close (master);
    }
  for (;;)
    {
      int st;
      pid_t r = waitpid (-1, &st, 0);
      if (r == c.pid)
        {
          status = st;
          break;
        }
      if (r == notify_proxy)
        notify_proxy = -1;
      if (r < 0 && errno != EINTR)
        {
          capsa_make_error (err, errno, "wait for container `%s`", o->id);
          goto fail;
        }
    }
  forward_pid = 0;
  ret = capsa_exit_status (status);
  capsa_fault_point ("run:after-exit");
  /* The proxy ends by itself once the init is gone (after forwarding what is left). */
  if (notify_proxy > 0)
    while (waitpid (notify_proxy, NULL, 0) < 0 && errno == EINTR)
      ;
  capsa_notify_release (&notify);

  if (!o->keep)
    {
      char *dir = NULL;
      int dfd = capsa_state_open_locked (g, o->id, &dir, err);
      if (dfd >= 0)
        {
          struct capsa_state_file st;
          if (capsa_state_read (dir, &st, err) == 0)
            {
              /* Only this run's container: the id may name another one by now (this one was
               * deleted meanwhile and the id reused; tests/model: the mutant run-deletes-any). */
              if (st.pid == c.st.pid && st.start_time == c.st.start_time)
                delete_locked (dir, &st, true, err);
              capsa_state_file_free (&st);
            }
          close (dfd);
          free (dir);
        }
      if (*err)
        {
          char *t = capsa_error_text (*err);
          capsa_warn ("%s", t);
          free (t);
          capsa_error_release (err);
        }
    }
  created_release (&c);
  return ret;

fail:
  /* After create, a failure (startContainer or poststart hook) goes on with the lifecycle:
   * destroy, then poststop hooks. */
  kill_and_reap (c.pid);
  if (notify_proxy > 0)
    kill_and_reap (notify_proxy);
  capsa_notify_release (&notify);
  destroy_after_failed_start (c.dir, &c.st);
  created_release (&c);
  return capsa_error_prefix (err, "run container `%s`", o->id);
}

/* Signal the init through a pidfd, after checking it is still the process we started. */
static int signal_init (const struct capsa_state_file *st, int sig, int *pidfd_out,
                        capsa_error_t *err)
{
  int pidfd = pidfd_open_ (st->pid);
  if (pidfd < 0 && errno == ENOSYS)
    {
      /* No pidfd (kernel < 5.3, or valgrind): kill() after the same start-time check. */
      if (capsa_process_start_time (st->pid) != st->start_time)
        return capsa_make_error (err, 0, "container not running");
      if (kill (st->pid, sig) < 0)
        return capsa_make_error (err, errno, "send signal %d", sig);
      if (pidfd_out)
        *pidfd_out = -1;
      return 0;
    }
  if (pidfd < 0)
    {
      if (errno == ESRCH)
        return capsa_make_error (err, 0, "container not running");
      return capsa_make_error (err, errno, "pidfd_open %d", st->pid);
    }
  if (capsa_process_start_time (st->pid) != st->start_time)
    {
      close (pidfd);
      return capsa_make_error (err, 0, "container not running");
    }
  if (pidfd_signal_ (pidfd, sig) < 0)
    {
      int e = errno;
      close (pidfd);
      return capsa_make_error (err, e, "send signal %d", sig);
    }
  if (pidfd_out)
    *pidfd_out = pidfd;
  else
    close (pidfd);
  return 0;
}

/* Signal every process of a container without its own pid namespace.  Until cgroups land
 * the init's descendants are what we can find: walk /proc for them. */
static void signal_descendants (pid_t root, int sig)
{
  pid_t pids[4096];
  size_t n = 1, i;
  pids[0] = root;
  for (i = 0; i < n && n < 4096; i++)
    {
      char path[64], buf[8192];
      int fd;
      ssize_t r;
      snprintf (path, sizeof (path), "/proc/%d/task/%d/children", pids[i], pids[i]);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      r = read (fd, buf, sizeof (buf) - 1);
      close (fd);
      if (r <= 0)
        continue;
      buf[r] = '\0';
      for (char *p = buf; *p && n < 4096;)
        {
          char *end;
          long v = strtol (p, &end, 10);
          if (end == p)
            break;
          pids[n++] = (pid_t)v;
          p = end;
          while (*p == ' ')
            p++;
        }
    }
  for (i = n; i > 1; i--)
    kill (pids[i - 1], sig);
}

/* Signal every process left in the cgroup of a stopped container, as `kill --all` does (runc
 * succeeds there: containerd's shim sends it after each exit and records the exit only when it
 * succeeds or its error says "container not running").  A cgroup already gone is no error. */
static int kill_all_stopped (const struct capsa_state_file *st, int sig, capsa_error_t *err)
{
  struct capsa_cgroup cg;
  int r;

  if (capsa_state_cgroup (st, &cg, err) < 0)
    return -1;
  if (cg.mgr == NULL)
    return 0;
  r = cg.mgr->kill (&cg, sig, err);
  cg.mgr->release (&cg);
  if (r < 0 && (*err)->status == ENOENT)
    {
      capsa_error_release (err);
      r = 0;
    }
  return r;
}

int capsa_container_kill (struct capsa_global *g, const char *id, int sig, bool all,
                          capsa_error_t *err)
{
  char *dir = NULL;
  struct capsa_state_file st;
  const char *status;
  int dfd, ret = -1;

  dfd = capsa_state_open_locked (g, id, &dir, err);
  if (dfd < 0)
    return -1;
  if (capsa_state_read (dir, &st, err) < 0)
    goto out;
  status = capsa_state_status (dir, &st);
  if (strcmp (status, "stopped") == 0 || strcmp (status, "creating") == 0)
    {
      if (all && strcmp (status, "stopped") == 0)
        {
          if (kill_all_stopped (&st, sig, err) == 0)
            ret = 0;
          else
            capsa_error_prefix (err, "kill container `%s`", id);
          goto out_st;
        }
      /* The text engines match (containerd's shim, podman): "container not running". */
      capsa_make_error (err, 0, "kill container `%s`: container not running", id);
      goto out_st;
    }
  if (all)
    {
      struct capsa_cgroup cg;
      if (capsa_state_cgroup (&st, &cg, err) < 0)
        goto out_st;
      if (cg.mgr)
        {
          int r = cg.mgr->kill (&cg, sig, err);
          cg.mgr->release (&cg);
          if (r < 0)
            {
              capsa_error_prefix (err, "kill container `%s`", id);
              goto out_st;
            }
          ret = 0;
          goto out_st;
        }
      if (!st.pidns)
        signal_descendants (st.pid, sig);
    }
  if (st.vm && strcmp (status, "running") == 0)
    {
      if (capsa_sandbox_kill (dir, &st, sig, err) < 0)
        capsa_error_prefix (err, "kill container `%s`", id);
      else
        ret = 0;
      goto out_st;
    }
  if (signal_init (&st, sig, NULL, err) < 0)
    {
      capsa_error_prefix (err, "kill container `%s`", id);
      goto out_st;
    }
  ret = 0;
out_st:
  if (ret == 0)
    capsa_trace (id, status, capsa_state_status (dir, &st));
  capsa_state_file_free (&st);
out:
  close (dfd);
  free (dir);
  return ret;
}

/* How long `delete` waits for a SIGKILLed init to go. */
#define DELETE_KILL_TIMEOUT_MS 5000

/* A paused container's processes cannot die of the SIGKILL just sent until its freezer thaws
 * them (cgroup v1; v2 kills frozen tasks): thaw it, they die before they run again. */
static void thaw_to_die (const struct capsa_state_file *st)
{
  struct capsa_cgroup cg;
  capsa_error_t tmp = NULL;

  if (capsa_state_cgroup (st, &cg, &tmp) == 0 && cg.mgr)
    {
      cg.mgr->freeze (&cg, false, &tmp);
      cg.mgr->release (&cg);
    }
  capsa_error_release (&tmp);
}

static int delete_locked (const char *dir, struct capsa_state_file *st, bool force,
                          capsa_error_t *err)
{
  const char *status = capsa_state_status (dir, st);
  struct oci_config *cfg;

  if (strcmp (status, "running") == 0 && !force)
    return capsa_make_error (err, 0, "cannot delete container `%s` that is not stopped: running",
                             st->id);
  if (strcmp (status, "stopped") != 0 && st->pid > 0)
    {
      int pidfd = -1;
      capsa_error_t tmp = NULL;
      if (!st->pidns)
        signal_descendants (st->pid, SIGKILL);
      if (signal_init (st, SIGKILL, &pidfd, &tmp) == 0 && strcmp (status, "paused") == 0)
        thaw_to_die (st);
      if (pidfd >= 0)
        {
          /* Bounded: an init frozen by a v1 freezer the container does not own cannot die
           * until that cgroup is thawed; then its process and cgroup are left, with a warning. */
          struct pollfd p = { pidfd, POLLIN, 0 };
          int r;
          while ((r = poll (&p, 1, DELETE_KILL_TIMEOUT_MS)) < 0 && errno == EINTR)
            ;
          if (r == 0)
            capsa_warn ("delete container `%s`: init %d did not die within %d s of SIGKILL "
                        "(frozen by a cgroup freezer the container does not own?)",
                        st->id, (int)st->pid, DELETE_KILL_TIMEOUT_MS / 1000);
          close (pidfd);
        }
      else
        {
          /* Without a pidfd: wait (bounded) until the init is gone or a zombie. */
          for (int i = 0; i < 1000 && capsa_process_start_time (st->pid) == st->start_time; i++)
            usleep (10000);
        }
      capsa_error_release (&tmp);
      capsa_trace (st->id, status, capsa_state_status (dir, st));
    }
  capsa_fault_point ("delete:after-kill");
  {
    struct capsa_cgroup cg;
    capsa_error_t tmp = NULL;
    if (capsa_state_cgroup (st, &cg, &tmp) < 0)
      {
        char *t = capsa_error_text (tmp);
        capsa_warn ("delete container `%s`: %s", st->id, t);
        free (t);
        capsa_error_release (&tmp);
      }
    capsa_cgroup_destroy_quiet (&cg);
  }
  capsa_fault_point ("delete:after-cgroup");
  if (st->vm)
    capsa_sandbox_delete (dir, st);
  cfg = st->poststop_hooks ? load_saved_config (dir) : NULL;
  if (cfg)
    {
      run_poststop (cfg->hooks, st);
      oci_config_free (cfg);
    }
  if (st->pid > 0)
    capsa_trace (st->id, capsa_state_status (dir, st), "none");
  return capsa_state_remove_dir (dir, err);
}

int capsa_container_delete_own (struct capsa_global *g, const char *id, pid_t pid,
                                unsigned long long start_time, capsa_error_t *err)
{
  char *dir = NULL;
  struct capsa_state_file st;
  int dfd, ret = 0;

  dfd = capsa_state_open_locked (g, id, &dir, err);
  if (dfd < 0)
    {
      if (*err && strstr ((*err)->msg, "does not exist"))
        {
          capsa_error_release (err);
          return 0;
        }
      return capsa_error_prefix (err, "delete container `%s`", id);
    }
  if (capsa_state_read (dir, &st, err) == 0)
    {
      /* tests/model: the mutants run-deletes-any, restore-deletes-any, checkpoint-deletes-any */
      if (st.pid == pid && st.start_time == start_time)
        ret = delete_locked (dir, &st, true, err);
      capsa_state_file_free (&st);
    }
  else
    capsa_error_release (err); /* a create's state dir, not ours */
  close (dfd);
  free (dir);
  return ret < 0 ? capsa_error_prefix (err, "delete container `%s`", id) : 0;
}

int capsa_container_delete (struct capsa_global *g, const char *id, bool force, capsa_error_t *err)
{
  char *dir = NULL;
  struct capsa_state_file st;
  int dfd, ret;

  dfd = capsa_state_open_locked (g, id, &dir, err);
  if (dfd < 0)
    {
      /* runc: deleting a container that is already gone succeeds with --force. */
      if (force && *err && strstr ((*err)->msg, "does not exist"))
        {
          capsa_error_release (err);
          return 0;
        }
      return -1;
    }
  if (capsa_state_read (dir, &st, err) < 0)
    {
      /* A state dir without a readable state file (a create killed early): remove it. */
      capsa_error_release (err);
      ret = capsa_state_remove_dir (dir, err);
    }
  else
    {
      ret = delete_locked (dir, &st, force, err);
      capsa_state_file_free (&st);
    }
  close (dfd);
  free (dir);
  if (ret < 0)
    capsa_error_prefix (err, "delete container `%s`", id);
  return ret;
}
