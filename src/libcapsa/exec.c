/* capsa: exec: a new process in a container's namespaces, cgroup, limits and seccomp filter. */
#include <config.h>
#include "internal.h"
#include "cgroup/cgroup.h"
#include "cgroup/cgroup-private.h"
#include "state.h"
#include "sandbox/sandbox.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sched.h>
#include <sys/syscall.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The container's namespaces, in the order the new process joins them: the user namespace
 * first (it owns the others), the mount namespace last.  pid and time apply to children only:
 * the runtime joins those itself right before it forks the process. */
static const struct
{
  const char *name;
  int flag;
  bool for_children;
} ns_kinds[] = {
  { "user", CLONE_NEWUSER, false }, { "cgroup", CLONE_NEWCGROUP, false },
  { "ipc", CLONE_NEWIPC, false },   { "uts", CLONE_NEWUTS, false },
  { "net", CLONE_NEWNET, false },   { "mnt", CLONE_NEWNS, false },
  { "pid", CLONE_NEWPID, true },    { "time", CLONE_NEWTIME, true },
};
#define N_NS (sizeof (ns_kinds) / sizeof (ns_kinds[0]))

/* Everything the new process needs, prepared by the runtime before the fork. */
struct exec_job
{
  const struct capsa_exec_opts *o;
  struct oci_config *config;
  struct oci_process p;          /* the process to run (shallow: see the owned fields) */
  struct oci_process *from_file; /* -p: the parsed process.json */
  char **args, **env;            /* owned arrays (the strings are borrowed) */
  struct oci_capabilities caps;  /* owned arrays when --cap was given */
  bool caps_owned;
  uint32_t *gids;
  int ns_fd[N_NS]; /* -1: already shared with the runtime */
  int root_fd;     /* the init's root to chroot into (no mount namespace of its own), or -1 */
  int sync[2];
  int cons[2];    /* foreground terminal without --console-socket: our end, its end */
  int console_fd; /* the --console-socket connection (the process's end) */
  int fd_floor;   /* internal fds stay at or above this (above the preserved fds) */
  char *state_json;
  struct capsa_cgroup_self_join *sj; /* the cgroup files the child joins itself, or NULL */
  bool keep_keyring;                 /* created with --no-new-keyring */
};

/* Move `fd` to the floor or above, close-on-exec. */
static int fd_above (int fd, int floor)
{
  int n;
  if (fd < 0 || fd >= floor)
    return fd;
  n = fcntl (fd, F_DUPFD_CLOEXEC, floor);
  close (fd);
  return n;
}

static void close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* ---------------------------------------------------------------- the process ----------- */

static char **append_strv (char **a, size_t na, char **b, size_t nb)
{
  char **v = calloc (na + nb + 1, sizeof (char *));
  if (v == NULL)
    abort ();
  if (na)
    memcpy (v, a, na * sizeof (char *));
  if (nb)
    memcpy (v + na, b, nb * sizeof (char *));
  return v;
}

/* A ".." path component (not merely ".." inside a name such as "a..b"). */
static bool has_dotdot_component (const char *path)
{
  const char *p = path;
  while (*p)
    {
      size_t n = strcspn (p, "/");
      if (n == 2 && p[0] == '.' && p[1] == '.')
        return true;
      p += n;
      p += strspn (p, "/");
    }
  return false;
}

static int parse_id (const char *s, const char *what, uint32_t *out, capsa_error_t *err)
{
  char *end;
  unsigned long long v;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno || v > UINT32_MAX)
    return capsa_make_error (err, 0, "%s: invalid id \"%s\"", what, s);
  *out = (uint32_t)v;
  return 0;
}

/* runc's reading of the flags: the container's process with args, env (appended), cwd, user,
 * additional groups, capabilities (added to bounding, effective and permitted; to ambient too
 * when the process has inheritable capabilities), noNewPrivileges and labels overridden.  A
 * process.json is used as it is. */
static int build_process (struct exec_job *j, capsa_error_t *err)
{
  const struct capsa_exec_opts *o = j->o;
  struct oci_process *p = &j->p;
  size_t i;

  if (o->process_file)
    {
      char *msg = NULL;
      j->from_file = oci_process_parse_file (o->process_file, "process.json", &msg);
      if (j->from_file == NULL)
        {
          capsa_make_error (err, 0, "%s", msg ? msg : "process.json: cannot parse");
          free (msg);
          return -1;
        }
      *p = *j->from_file;
      if (capsa_process_refuse_unapplied (p, "process.json: ", err) < 0)
        return -1;
    }
  else
    {
      const struct oci_process *cp = j->config->process;
      if (cp == NULL)
        return capsa_make_error (err, 0, "config.json: .process: missing");
      *p = *cp;
      j->args = append_strv (o->args, o->args_len, NULL, 0);
      p->args = j->args;
      p->args_len = o->args_len;
      p->command_line = NULL;
      j->env = append_strv (cp->env, cp->env_len, o->env, o->env_len);
      p->env = j->env;
      p->env_len = cp->env_len + o->env_len;
      p->terminal = o->tty;
      p->console_size = NULL;
      if (o->cwd)
        p->cwd = (char *)o->cwd;
      if (o->user && o->user[0])
        {
          char *copy = strdup (o->user), *colon;
          int r;
          if (copy == NULL)
            abort ();
          colon = strchr (copy, ':');
          if (colon)
            *colon++ = '\0';
          p->user.gid = 0;
          p->user.username = NULL;
          r = parse_id (copy, "--user", &p->user.uid, err);
          if (r == 0 && colon)
            r = parse_id (colon, "--user", &p->user.gid, err);
          free (copy);
          if (r < 0)
            return -1;
        }
      if (o->additional_gids_len)
        {
          j->gids
            = calloc (cp->user.additional_gids_len + o->additional_gids_len + 1, sizeof (uint32_t));
          if (j->gids == NULL)
            abort ();
          if (cp->user.additional_gids_len)
            memcpy (j->gids, cp->user.additional_gids,
                    cp->user.additional_gids_len * sizeof (uint32_t));
          for (i = 0; i < o->additional_gids_len; i++)
            if (parse_id (o->additional_gids[i], "--additional-gids",
                          &j->gids[cp->user.additional_gids_len + i], err)
                < 0)
              return -1;
          p->user.additional_gids = j->gids;
          p->user.additional_gids_len = cp->user.additional_gids_len + o->additional_gids_len;
        }
      for (i = 0; i < o->caps_len; i++)
        if (!capsa_cap_name_known (o->caps[i]))
          return capsa_make_error (err, 0, "--cap: unknown capability \"%s\"", o->caps[i]);
      if (o->caps_len)
        {
          struct oci_capabilities *c = &j->caps, *old = cp->capabilities;
          struct oci_capabilities none = { 0 };
          if (old == NULL)
            old = &none;
          *c = *old;
          c->bounding = append_strv (old->bounding, old->bounding_len, o->caps, o->caps_len);
          c->bounding_len = old->bounding_len + o->caps_len;
          c->effective = append_strv (old->effective, old->effective_len, o->caps, o->caps_len);
          c->effective_len = old->effective_len + o->caps_len;
          c->permitted = append_strv (old->permitted, old->permitted_len, o->caps, o->caps_len);
          c->permitted_len = old->permitted_len + o->caps_len;
          c->ambient = append_strv (old->ambient, old->ambient_len, o->caps,
                                    old->inheritable ? o->caps_len : 0);
          c->ambient_len = old->ambient_len + (old->inheritable ? o->caps_len : 0);
          j->caps_owned = true;
          p->capabilities = c;
        }
      if (o->no_new_privs)
        p->no_new_privileges = true;
      if (o->apparmor)
        p->apparmor_profile = (char *)o->apparmor;
      if (o->process_label)
        p->selinux_label = (char *)o->process_label;
    }
  /* libselinux is loaded here, before the fork, or never (selinux-lazy.c) */
  if (p->selinux_label != NULL && p->selinux_label[0] != '\0'
      && capsa_selinux_label_check (p->selinux_label,
                                    o->process_file    ? "process.json: .selinuxLabel"
                                    : o->process_label ? "--process-label"
                                                       : "config.json: .process.selinuxLabel",
                                    err)
           < 0)
    return -1;
  if (p->args_len == 0 || p->args == NULL || p->args[0] == NULL)
    return capsa_make_error (err, 0, "process args cannot be empty");
  if (p->cwd == NULL || p->cwd[0] != '/')
    return capsa_make_error (err, 0, "cwd \"%s\" must be an absolute path", p->cwd ? p->cwd : "");
  return 0;
}

static void job_release (struct exec_job *j)
{
  size_t i;
  if (j->root_fd >= 0)
    close (j->root_fd);
  free (j->args);
  free (j->env);
  free (j->gids);
  if (j->caps_owned)
    {
      free (j->caps.bounding);
      free (j->caps.effective);
      free (j->caps.permitted);
      free (j->caps.ambient);
    }
  if (j->from_file)
    oci_process_free (j->from_file);
  if (j->config)
    oci_config_free (j->config);
  for (i = 0; i < N_NS; i++)
    close_fd (&j->ns_fd[i]);
  close_fd (&j->sync[0]);
  close_fd (&j->sync[1]);
  close_fd (&j->cons[0]);
  close_fd (&j->cons[1]);
  close_fd (&j->console_fd);
  free (j->state_json);
}

/* ---------------------------------------------------------------- the new process -------- */

/* A new pty of the container's devpts as the controlling terminal on 0-2; returns the master.
 * (Unlike the init's terminal, /dev/console stays as it is.) */
static int exec_pty (const struct oci_process *p, capsa_error_t *err)
{
  int master, slave, i;
  char name[64];

  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return capsa_make_error (err, errno, "open \"/dev/ptmx\"");
  master = fd_above (master, 3);
  if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0
      || ptsname_r (master, name, sizeof (name)) != 0)
    {
      capsa_make_error (err, errno, "set up the pty");
      goto fail;
    }
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    {
      capsa_make_error (err, errno, "open pty \"%s\"", name);
      goto fail;
    }
  if (fchown (slave, p->user.uid, (gid_t)-1) < 0 && errno != EINVAL)
    {
      capsa_make_error (err, errno, "chown pty \"%s\" to %u", name, (unsigned)p->user.uid);
      goto fail_slave;
    }
  if (setsid () < 0 || ioctl (slave, TIOCSCTTY, 0) < 0)
    {
      capsa_make_error (err, errno, "make \"%s\" the controlling terminal", name);
      goto fail_slave;
    }
  if (p->console_size)
    {
      struct winsize ws = { .ws_row = (unsigned short)p->console_size->height,
                            .ws_col = (unsigned short)p->console_size->width };
      ioctl (slave, TIOCSWINSZ, &ws);
    }
  for (i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      {
        capsa_make_error (err, errno, "dup2 pty to fd %d", i);
        goto fail_slave;
      }
  if (slave > 2)
    close (slave);
  return master;
fail_slave:
  if (slave > 2)
    close (slave);
fail:
  if (master >= 0)
    close (master);
  return -1;
}

static void __attribute__ ((noreturn)) child_fail (int sync, capsa_error_t *err)
{
  capsa_error_t tmp = NULL;
  capsa_sync_send (sync, SYNC_ERROR, (*err)->status, 0, (*err)->msg, &tmp);
  _exit (127);
}

static bool has_userns (const struct oci_config *c)
{
  size_t i;
  for (i = 0; c->linux_ && i < c->linux_->namespaces_len; i++)
    if (c->linux_->namespaces[i].type && strcmp (c->linux_->namespaces[i].type, "user") == 0)
      return true;
  return false;
}

static void __attribute__ ((noreturn)) exec_child (struct exec_job *j)
{
  capsa_error_t err = NULL;
  struct capsa_create_opts copts = { 0 };
  struct capsa_ctx ctx = { 0 };
  struct capsa_sync_msg msg;
  int sync = j->sync[1];
  size_t i;

  close_fd (&j->sync[0]);
  close_fd (&j->cons[0]);
  /* Nothing of the container's runs before we are in its cgroup: joining it ourselves is the
   * first thing we do, or the runtime has done it before READY. */
  if (j->sj && capsa_cgroup_self_join (j->sj, &err) < 0)
    child_fail (sync, &err);
  if (capsa_sync_recv (sync, SYNC_READY, &msg, &err) < 0)
    _exit (127);
  capsa_sync_msg_free (&msg);
  /* The user namespace last (ns_kinds[0], at k == N_NS): a container may sit in namespaces its
   * own user namespace does not own (the host's, or another's joined by path at create), which
   * only the runtime's privileges can enter.  (Rootless, the runtime is in it already.) */
  for (i = 1; i <= N_NS; i++)
    {
      size_t k = i % N_NS;
      if (ns_kinds[k].for_children || j->ns_fd[k] < 0)
        continue;
      if (setns (j->ns_fd[k], ns_kinds[k].flag) < 0)
        {
          capsa_make_error (&err, errno, "join the container's %s namespace", ns_kinds[k].name);
          child_fail (sync, &err);
        }
      close_fd (&j->ns_fd[k]);
    }
  if (j->root_fd >= 0 && (fchdir (j->root_fd) < 0 || chroot (".") < 0))
    {
      capsa_make_error (&err, errno, "enter the container's root");
      child_fail (sync, &err);
    }
  close_fd (&j->root_fd);
  /* In the container's user namespace, where the keyring belongs to its root. */
  if (!j->keep_keyring
      && capsa_join_session_keyring (j->o->id, j->p.selinux_label, has_userns (j->config), &err)
           < 0)
    child_fail (sync, &err);
  capsa_fault_point ("exec:child-after-join");
  /* A session and process group of its own (exec_pty makes one with the terminal). */
  if (!j->p.terminal && setsid () < 0)
    {
      capsa_make_error (&err, errno, "setsid");
      child_fail (sync, &err);
    }
  if (j->p.terminal)
    {
      int sock = j->console_fd >= 0 ? j->console_fd : j->cons[1];
      int master = exec_pty (&j->p, &err);
      if (master < 0 || capsa_send_fd (sock, master, &err) < 0)
        child_fail (sync, &err);
      close (master);
    }
  close_fd (&j->console_fd);
  close_fd (&j->cons[1]);

  copts.id = j->o->id;
  copts.preserve_fds = j->o->preserve_fds;
  ctx.opts = &copts;
  ctx.id = j->o->id;
  ctx.config = j->config;
  ctx.rootfs_fd = ctx.exec_fifo_fd = ctx.console_socket_fd = ctx.init_error_fd = -1;
  ctx.state_json = j->state_json;
  if (capsa_mempolicy_apply (j->config->linux_, &err) < 0)
    child_fail (sync, &err);
  capsa_process_exec (&ctx, &j->p, &err);
  child_fail (sync, &err);
}

/* ---------------------------------------------------------------- the runtime side ------- */

/* A container without a new mount namespace (inherited, or joined by path) is a chroot of its
 * init: the new process enters the same root after joining the namespaces. */
static bool has_new_mountns (const struct oci_config *c)
{
  size_t i;
  for (i = 0; c->linux_ && i < c->linux_->namespaces_len; i++)
    {
      const struct oci_namespace *ns = &c->linux_->namespaces[i];
      if (ns->type && strcmp (ns->type, "mount") == 0)
        return ns->path == NULL || ns->path[0] == '\0';
    }
  return false;
}

static int open_init_root (struct exec_job *j, pid_t pid, capsa_error_t *err)
{
  char path[64];
  if (has_new_mountns (j->config))
    return 0;
  snprintf (path, sizeof (path), "/proc/%d/root", (int)pid);
  j->root_fd = fd_above (open (path, O_PATH | O_DIRECTORY | O_CLOEXEC), j->fd_floor);
  if (j->root_fd < 0)
    return capsa_make_error (err, errno, "open \"%s\"", path);
  return 0;
}

/* Open the container's namespaces that differ from ours (joining one's own user namespace is
 * an error, and nothing needs doing for the others). */
static int open_namespaces (struct exec_job *j, pid_t pid, capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < N_NS; i++)
    {
      char path[64], self[64];
      struct stat a, b;
      snprintf (path, sizeof (path), "/proc/%d/ns/%s", (int)pid, ns_kinds[i].name);
      snprintf (self, sizeof (self), "/proc/self/ns/%s", ns_kinds[i].name);
      if (stat (path, &a) < 0)
        {
          if (errno == ENOENT && stat (self, &b) < 0)
            continue; /* a namespace kind this kernel lacks */
          return capsa_make_error (err, errno, "open \"%s\"", path);
        }
      if (stat (self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        continue;
      j->ns_fd[i] = fd_above (open (path, O_RDONLY | O_CLOEXEC), j->fd_floor);
      if (j->ns_fd[i] < 0)
        return capsa_make_error (err, errno, "open \"%s\"", path);
    }
  return open_init_root (j, pid, err);
}

/* --cgroup [CONTROLLERS:]SUBPATH: move `pid` into SUBPATH below the container's cgroup, in every
 * hierarchy (or in those of CONTROLLERS).  The sub-cgroup must exist.  Plain values first, so a
 * value naming controllers wins for those. */
static int enter_sub_cgroups (const struct capsa_exec_opts *o, pid_t init, pid_t pid,
                              capsa_error_t *err)
{
  const struct cg_host *hs;
  char path[64], *data = NULL;
  size_t len, pass, i, k;
  char buf[24];

  if (o->cgroups_len == 0)
    return 0;
  hs = cg_host (err);
  if (hs == NULL)
    return -1;
  snprintf (path, sizeof (path), "/proc/%d/cgroup", (int)init);
  if (capsa_read_file (path, &data, &len, err) < 0)
    return -1;
  snprintf (buf, sizeof (buf), "%d", (int)pid);
  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < o->cgroups_len; i++)
      {
        const char *v = o->cgroups[i], *colon = strchr (v, ':'), *sub = colon ? colon + 1 : v;
        char *ctrls = colon ? strndup (v, (size_t)(colon - v)) : NULL;
        bool matched = false;

        if ((pass == 0) != (colon == NULL))
          {
            free (ctrls);
            continue;
          }
        while (*sub == '/')
          sub++;
        if (sub[0] == '\0' || has_dotdot_component (sub))
          {
            free (ctrls);
            free (data);
            return capsa_make_error (err, 0, "--cgroup: invalid sub-cgroup \"%s\"", v);
          }
        for (k = 0; k < hs->n; k++)
          {
            const struct cg_hier *h = &hs->h[k];
            char *line, *save = NULL, *copy = strdup (data), *cgpath = NULL, dir[PATH_MAX];
            size_t rl;
            if (copy == NULL)
              abort ();
            /* This hierarchy's line of /proc/<init>/cgroup: "ID:CONTROLLERS:PATH". */
            for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
              {
                char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
                if (c2 == NULL)
                  continue;
                *c2 = '\0';
                if (strcmp (c1 + 1, h->ctrls) == 0)
                  {
                    cgpath = c2 + 1;
                    break;
                  }
              }
            /* Skip hierarchies where the container has no cgroup of its own. */
            if (cgpath == NULL || (h->own && strcmp (cgpath, h->own) == 0))
              {
                free (copy);
                continue;
              }
            if (ctrls)
              {
                bool all = true;
                char *c, *s2 = NULL, *cc = strdup (ctrls);
                for (c = strtok_r (cc, ",", &s2); c; c = strtok_r (NULL, ",", &s2))
                  if (!cg_list_has (h->ctrls, c))
                    all = false;
                free (cc);
                if (!all || h->v2)
                  {
                    free (copy);
                    continue;
                  }
              }
            rl = strcmp (h->root, "/") == 0 ? 0 : strlen (h->root);
            snprintf (dir, sizeof (dir), "%s%s/%s", h->mnt,
                      strlen (cgpath) >= rl ? cgpath + rl : "", sub);
            free (copy);
            matched = true;
            if (cg_write (dir, "cgroup.procs", buf) < 0)
              {
                int e = errno;
                free (ctrls);
                free (data);
                return capsa_make_error (err, e, "--cgroup: move process %d into `%s`", (int)pid,
                                         dir);
              }
          }
        if (!matched)
          {
            int r = capsa_make_error (err, 0, "--cgroup \"%s\": no cgroup of the container in %s%s",
                                      v, ctrls ? "a hierarchy with " : "any hierarchy",
                                      ctrls ? ctrls : "");
            free (ctrls);
            free (data);
            return r;
          }
        free (ctrls);
      }
  free (data);
  return 0;
}

static int write_pid_file (const char *path, pid_t pid, capsa_error_t *err)
{
  char buf[32];
  int n = snprintf (buf, sizeof (buf), "%d", pid);
  if (capsa_write_file_atomic (path, buf, (size_t)n, err) < 0)
    return capsa_error_prefix (err, "pid file");
  return 0;
}

static volatile pid_t forward_pid;

static void forward_signal (int sig)
{
  if (forward_pid > 0)
    kill (forward_pid, sig);
}

/* Foreground: forward signals, copy the terminal, wait; returns the exit status. */
static int wait_foreground (pid_t pid, int proxy, capsa_error_t *err)
{
  static const int fwd[]
    = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE, SIGALRM, SIGCONT };
  struct sigaction sa = { 0 };
  int status = 0;
  size_t i;

  forward_pid = pid;
  sa.sa_handler = forward_signal;
  sa.sa_flags = SA_RESTART;
  for (i = 0; i < sizeof (fwd) / sizeof (fwd[0]); i++)
    if (!(fwd[i] == SIGWINCH && proxy >= 0))
      sigaction (fwd[i], &sa, NULL);
  if (proxy >= 0)
    {
      int master = capsa_recv_fd (proxy, err);
      if (master >= 0)
        {
          capsa_terminal_proxy (master, err);
          close (master);
        }
      capsa_error_release (err);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return capsa_make_error (err, errno, "wait for process %d", (int)pid);
  forward_pid = 0;
  return capsa_exit_status (status);
}

static int lookup_container (struct exec_job *j, const char *dir, struct capsa_state_file *st,
                             capsa_error_t *err)
{
  const char *status = capsa_state_status (dir, st);
  char path[PATH_MAX], *msg = NULL;

  if (strcmp (status, "stopped") == 0)
    return capsa_make_error (err, 0, "cannot exec in a stopped container");
  if (strcmp (status, "paused") == 0 && !j->o->ignore_paused)
    return capsa_make_error (err, 0,
                             "cannot exec in a paused container (use --ignore-paused to override)");
  if (strcmp (status, "creating") == 0)
    return capsa_make_error (err, 0, "cannot exec in a container that is being created");
  snprintf (path, sizeof (path), "%s/config.json", dir);
  j->config = oci_config_parse_file (path, "config.json", &msg);
  if (j->config == NULL)
    {
      capsa_make_error (err, 0, "%s", msg ? msg : "config.json: cannot parse");
      free (msg);
      return -1;
    }
  return 0;
}

int capsa_container_exec (struct capsa_global *g, const struct capsa_exec_opts *o,
                          capsa_error_t *err)
{
  struct exec_job j;
  struct capsa_state_file st = { 0 };
  struct capsa_cgroup cg = { 0 };
  struct capsa_sync_msg msg;
  char *dir = NULL;
  const char *lfds = getenv ("LISTEN_FDS");
  int dfd, ret = -1;
  pid_t pid = -1;
  size_t i;
  bool self_join = false;
  struct capsa_cgroup_self_join sj = { .n = 0, .v2_fd = -1 };

  memset (&j, 0, sizeof (j));
  j.o = o;
  for (i = 0; i < N_NS; i++)
    j.ns_fd[i] = -1;
  j.root_fd = -1;
  j.sync[0] = j.sync[1] = j.cons[0] = j.cons[1] = j.console_fd = -1;
  /* Internal fds must not land on the fds handed to the process (3.. LISTEN_FDS + N). */
  j.fd_floor = 3 + (o->preserve_fds > 0 ? o->preserve_fds : 0) + (lfds ? atoi (lfds) : 0) + 1;
  if (j.fd_floor < 4 || j.fd_floor > 65536)
    j.fd_floor = 4;

  if (capsa_fds_reserve (o->preserve_fds, err) < 0)
    return capsa_error_prefix (err, "exec in container `%s`", o->id);
  dfd = capsa_state_open_locked (g, o->id, &dir, err);
  if (dfd < 0)
    return capsa_error_prefix (err, "exec in container `%s`", o->id);
  if (capsa_state_read (dir, &st, err) < 0)
    goto out;
  if (lookup_container (&j, dir, &st, err) < 0 || build_process (&j, err) < 0)
    goto out;
  j.keep_keyring = st.no_new_keyring;
  if (st.vm)
    {
      /* VM mode: the process runs in the guest, through the VM's control channel; other
       * commands (kill, delete) may work on the container meanwhile. */
      close (dfd);
      dfd = -1;
      ret = capsa_sandbox_exec_process (dir, &j.p, o->console_socket, o->detach, o->pid_file, err);
      goto out;
    }
  if (j.p.terminal && o->detach && o->console_socket == NULL)
    {
      capsa_make_error (err, 0,
                        "cannot allocate tty if capsa will detach without setting console socket");
      goto out;
    }
  if (!j.p.terminal && o->console_socket)
    {
      capsa_make_error (err, 0,
                        "cannot use console socket if capsa will not detach or allocate tty");
      goto out;
    }
  if (o->console_socket)
    {
      j.console_fd = fd_above (capsa_console_socket_open (o->console_socket, err), j.fd_floor);
      if (j.console_fd < 0)
        goto out;
    }
  else if (j.p.terminal)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, j.cons) < 0)
        {
          capsa_make_error (err, errno, "socketpair");
          goto out;
        }
      j.cons[0] = fd_above (j.cons[0], j.fd_floor);
      j.cons[1] = fd_above (j.cons[1], j.fd_floor);
    }
  if (open_namespaces (&j, st.pid, err) < 0)
    goto out;
  /* The namespaces are those of the init we recorded, not of a process that reused its pid. */
  if (capsa_process_start_time (st.pid) != st.start_time)
    {
      capsa_make_error (err, 0, "cannot exec in a stopped container");
      goto out;
    }
  if (capsa_state_cgroup (&st, &cg, err) < 0)
    goto out;
  j.state_json = capsa_state_oci_json (&st, "running", false);
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, j.sync) < 0)
    {
      capsa_make_error (err, errno, "socketpair");
      goto out;
    }
  j.sync[0] = fd_above (j.sync[0], j.fd_floor);
  j.sync[1] = fd_above (j.sync[1], j.fd_floor);

  /* Rootless: the container's pid and time namespaces belong to its user namespace, where only
   * its members hold capabilities: join it first (unprivileged, we lose nothing on the host). */
  if (geteuid () != 0 && j.ns_fd[0] >= 0)
    {
      if (setns (j.ns_fd[0], CLONE_NEWUSER) < 0)
        {
          capsa_make_error (err, errno, "join the container's user namespace");
          goto out;
        }
      close_fd (&j.ns_fd[0]);
    }
  /* pid and time namespaces apply to the children of the process that joins them: join them
   * here, so the new process is our own child (we wait for it) without an intermediate. */
  for (i = 0; i < N_NS; i++)
    if (ns_kinds[i].for_children && j.ns_fd[i] >= 0)
      {
        if (setns (j.ns_fd[i], ns_kinds[i].flag) < 0)
          {
            capsa_make_error (err, errno, "join the container's %s namespace", ns_kinds[i].name);
            goto out;
          }
        close_fd (&j.ns_fd[i]);
      }

  if (capsa_seccomp_prepare (j.config->linux_ ? j.config->linux_->seccomp : NULL, j.fd_floor, err)
      < 0)
    goto out;
  /* The child is a capsa image inside the container's pid namespace until its execve: no
   * ptrace and no /proc/<pid>/exe|mem|environ for the container's processes. */
  prctl (PR_SET_DUMPABLE, 0);
  /* As for the init (container.c): the child joins the container's cgroup itself, without the
   * grace period that moving it from here costs; not with --cgroup (sub-cgroups of the init's). */
  self_join = o->cgroups_len == 0 && cg.mgr && capsa_cgroup_self_join_open (&cg, &sj) == 1;
  pid = -1;
  if (self_join && sj.v2_fd >= 0)
    {
      struct clone_args a = { 0 };
      a.flags = CLONE_INTO_CGROUP;
      a.exit_signal = SIGCHLD;
      a.cgroup = (uint64_t)sj.v2_fd;
      pid = (pid_t)syscall (SYS_clone3, &a, sizeof (a));
      if (pid < 0)
        {
          capsa_cgroup_self_join_close (&sj);
          self_join = false;
        }
    }
  if (pid < 0)
    pid = fork ();
  if (pid < 0)
    {
      capsa_make_error (err, errno, "fork");
      capsa_cgroup_self_join_close (&sj);
      goto out;
    }
  if (pid == 0)
    {
      close (dfd);
      j.sj = self_join ? &sj : NULL;
      exec_child (&j);
    }
  capsa_cgroup_self_join_close (&sj);
  capsa_seccomp_release ();
  close_fd (&j.sync[1]);
  close_fd (&j.cons[1]);
  close_fd (&j.console_fd);
  for (i = 0; i < N_NS; i++)
    close_fd (&j.ns_fd[i]);
  capsa_fault_point ("exec:after-fork");

  if (!self_join && cg.mgr && cg.mgr->enter (&cg, pid, err) < 0)
    goto fail;
  capsa_fault_point ("exec:after-cgroup");
  if (enter_sub_cgroups (o, st.pid, pid, err) < 0)
    goto fail;
  if (capsa_sync_send (j.sync[0], SYNC_READY, 0, 0, NULL, err) < 0)
    goto fail;
  /* EOF: execve succeeded (the socket is close-on-exec); a message is the error. */
  if (capsa_sync_recv (j.sync[0], 0, &msg, err) < 0)
    {
      if ((*err)->status != 0 || strcmp ((*err)->msg, "container init exited unexpectedly") != 0)
        {
          waitpid (pid, NULL, 0);
          pid = -1;
          goto out;
        }
      capsa_error_release (err);
    }
  else
    {
      capsa_sync_msg_free (&msg);
      capsa_make_error (err, 0, "unexpected message from the exec process");
      goto fail;
    }
  close_fd (&j.sync[0]);
  capsa_fault_point ("exec:after-start");
  if (o->pid_file && write_pid_file (o->pid_file, pid, err) < 0)
    goto fail;
  /* Other commands (kill, delete) may work on the container while the process runs. */
  close (dfd);
  dfd = -1;
  if (o->detach)
    ret = 0;
  else
    ret = wait_foreground (pid, j.cons[0], err);
  goto out;

fail:
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
out:
  capsa_seccomp_release ();
  if (cg.mgr)
    cg.mgr->release (&cg);
  job_release (&j);
  capsa_state_file_free (&st);
  if (dfd >= 0)
    close (dfd);
  free (dir);
  if (ret < 0)
    capsa_error_prefix (err, "exec in container `%s`", o->id);
  return ret;
}
