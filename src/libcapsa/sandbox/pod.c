/* capsa: VM isolation mode: a pod as one VM.  The pod's sandbox container (annotated so by
 * containerd's CRI plugin or CRI-O) starts the VM, whose agent stands in for the pause process;
 * every later VM-mode container of that pod is a guest container of that VM: its rootfs is
 * mounted into the sandbox VMM's /pod (a tmpfs exported to the guest once, over virtio-9p), and
 * the agent runs its process in a mount (and pid) namespace of its own on that rootfs.  On the
 * host, the member's container init stands for it: it sends the container to the sandbox's
 * supervisor at `start`, relays signals, and exits with the guest process's status. */
#include <config.h>
#include "sandbox.h"
#include "vm.h"
#include "../../agent/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

struct capsa_vm_pod
{
  char *sandbox_id;
  char *sandbox_dir; /* its state dir: its control socket is there */
  int mntns;         /* the sandbox VMM's mount namespace (where /pod is) */
};

static const char *annotation (const struct oci_kv *kv, size_t n, const char *containerd,
                               const char *crio, const char **key)
{
  const char *v = oci_kv_get (kv, n, containerd);
  if (v)
    {
      if (key)
        *key = containerd;
      return v;
    }
  if (key)
    *key = crio;
  return oci_kv_get (kv, n, crio);
}

int capsa_vm_pod_role (const struct oci_kv *kv, size_t n, const char **sandbox_id, const char **key)
{
  const char *type = annotation (kv, n, "io.kubernetes.cri.container-type",
                                 "io.kubernetes.cri-o.ContainerType", NULL);
  const char *sb
    = annotation (kv, n, "io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID", key);
  if (sandbox_id)
    *sandbox_id = sb;
  if (type == NULL)
    return VM_POD_NONE;
  if (strcmp (type, "sandbox") == 0)
    return VM_POD_SANDBOX;
  if (strcmp (type, "container") == 0 && sb && sb[0])
    return VM_POD_MEMBER;
  return VM_POD_NONE;
}

/* The sandbox's state, when it is a running VM-mode pod sandbox (else *why says why not). */
static int sandbox_state (const char *sdir, struct capsa_state_file *st, const char **why)
{
  capsa_error_t e = NULL;
  const char *status;

  if (capsa_state_read (sdir, st, &e) < 0)
    {
      capsa_error_release (&e);
      *why = "does not exist";
      return -1;
    }
  if (!st->vm
      || capsa_vm_pod_role (st->annotations, st->annotations_len, NULL, NULL) != VM_POD_SANDBOX)
    {
      *why = "is not a VM-mode pod sandbox";
      goto fail;
    }
  status = capsa_state_status (sdir, st);
  if (strcmp (status, "running") != 0)
    {
      *why = strcmp (status, "stopped") == 0 ? "is stopped" : "is not running";
      goto fail;
    }
  return 0;
fail:
  capsa_state_file_free (st);
  return -1;
}

/* The VMM's mount namespace of a running sandbox (its init pivoted into the VMM's view). */
static int sandbox_mntns (const struct capsa_state_file *st)
{
  char p[64];
  int fd;
  snprintf (p, sizeof (p), "/proc/%d/ns/mnt", (int)st->pid);
  fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && capsa_process_start_time (st->pid) != st->start_time)
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

int capsa_sandbox_pod_join (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_config *c = ctx->config;
  const char *sb = NULL, *key = NULL, *why = NULL;
  struct capsa_state_file st;
  struct capsa_vm_pod *pod;
  capsa_error_t e = NULL;
  char *sdir = NULL;
  int fd;

  if (!ctx->vm
      || capsa_vm_pod_role (c->annotations, c->annotations_len, &sb, &key) != VM_POD_MEMBER)
    return 0;
  if (capsa_validate_id (sb, &e) < 0)
    {
      capsa_error_release (&e);
      return capsa_make_error (
        err, 0, "config.json: .annotations[\"%s\"]: invalid sandbox id \"%s\"", key, sb);
    }
  if (strcmp (sb, ctx->id) == 0)
    return capsa_make_error (err, 0,
                             "config.json: .annotations[\"%s\"]: a container cannot be its own "
                             "pod sandbox",
                             key);
  if (asprintf (&sdir, "%s/%s", capsa_state_root (ctx->g), sb) < 0)
    abort ();
  if (sandbox_state (sdir, &st, &why) < 0)
    {
      capsa_make_error (err, 0, "config.json: .annotations[\"%s\"]: pod sandbox \"%s\" %s", key, sb,
                        why);
      free (sdir);
      return -1;
    }
  fd = sandbox_mntns (&st);
  capsa_state_file_free (&st);
  if (fd < 0)
    {
      capsa_make_error (err, errno, "config.json: .annotations[\"%s\"]: pod sandbox \"%s\"", key,
                        sb);
      free (sdir);
      return -1;
    }
  pod = calloc (1, sizeof (*pod));
  if (pod == NULL)
    abort ();
  pod->sandbox_id = strdup (sb);
  pod->sandbox_dir = sdir;
  pod->mntns = fd;
  ctx->vm_pod = pod;
  return 0;
}

/* In a child that joins the VMM's mount namespace `mntns`: mount `tree` (a detached mount) on
 * /pod/ID, or (tree < 0) take it away.  Returns 0, or -1 with errno and *step. */
static int pod_mount (int mntns, int tree, const char *id, const char **step)
{
  char target[PATH_MAX];
  int pfd[2], st = 0;
  pid_t pid;
  struct
  {
    int err, step;
  } res = { 0, 0 };
  static const char *const steps[]
    = { "", "join the VMM's mount namespace", "create the mount point", "mount the rootfs" };

  snprintf (target, sizeof (target), "%s/%s", VM_VIEW_POD, id);
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return -1;
  pid = fork ();
  if (pid < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return -1;
    }
  if (pid == 0)
    {
      close (pfd[0]);
      if (setns (mntns, CLONE_NEWNS) < 0)
        res.step = 1;
      else if (tree < 0)
        {
          umount2 (target, MNT_DETACH);
          rmdir (target);
        }
      else if (mkdir (target, 0755) < 0 && errno != EEXIST)
        res.step = 2;
      else if (move_mount (tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        res.step = 3;
      res.err = res.step ? errno : 0;
      if (write (pfd[1], &res, sizeof (res)) != sizeof (res))
        _exit (1);
      _exit (0);
    }
  close (pfd[1]);
  if (read (pfd[0], &res, sizeof (res)) != sizeof (res))
    res.step = 1, res.err = EIO;
  close (pfd[0]);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (res.step)
    {
      *step = steps[res.step];
      errno = res.err;
      return -1;
    }
  return 0;
}

/* The member's rootfs, shared into the running VM: a clone of its mount (read-only with
 * root.readonly) on /pod/ID in the VMM's mount namespace, which the guest sees at its pod share. */
static int share_rootfs (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const char *step = "";
  int tree;

  tree = open_tree (AT_FDCWD, ctx->rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0)
    return capsa_make_error (err, errno, "VM pod: clone the rootfs mount \"%s\"", ctx->rootfs);
  if (ctx->config->root->readonly)
    {
      struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
      if (mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof (a)) < 0)
        {
          close (tree);
          return capsa_make_error (err, errno, "VM pod: make the rootfs read-only");
        }
    }
  if (pod_mount (ctx->vm_pod->mntns, tree, ctx->id, &step) < 0)
    {
      int e = errno;
      close (tree);
      return capsa_make_error (err, e, "VM pod: share the rootfs with sandbox `%s`: %s",
                               ctx->vm_pod->sandbox_id, step);
    }
  close (tree);
  return 0;
}

static void ignore_signal (int sig)
{
  (void)sig;
}

/* In the member's init at start: share its rootfs, send it to the sandbox's supervisor as a
 * guest container, and stand for it until it exits.  Returns only on error. */
int capsa_vm_pod_exec (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_config *c = ctx->config;
  struct capsa_vm_pod *pod = ctx->vm_pod;
  int stdio[3] = { 0, 1, 2 }, fd, code;
  char tag = 0, *d = NULL;
  size_t len, i;
  static const int relayed[]
    = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH };

  /* The init may be PID 1 of a pid namespace, which only receives the signals it handles. */
  for (i = 0; i < sizeof (relayed) / sizeof (relayed[0]); i++)
    signal (relayed[i], ignore_signal);
  if (share_rootfs (ctx, err) < 0)
    return -1;
  fd = capsa_vm_request_open (pod->sandbox_dir, stdio, err);
  if (fd < 0)
    return -1;
  if (capsa_vm_send_rec (fd, REC_CONTAINER, ctx->id, strlen (ctx->id)) < 0
      || capsa_vm_send_container (fd, c) < 0)
    {
      close (fd);
      return capsa_make_error (err, errno, "send the container to sandbox `%s`", pod->sandbox_id);
    }
  if (capsa_vm_recv_rec (fd, &tag, &d, &len) < 0 || (tag != REC_STARTED && tag != REC_EXIT))
    {
      close (fd);
      return capsa_make_error (err, 0, "sandbox `%s`: the VM stopped before the container started",
                               pod->sandbox_id);
    }
  if (tag == REC_EXIT)
    {
      capsa_make_error (err, 0,
                        "sandbox `%s`: the container's process could not be started in the VM "
                        "(status %s)",
                        pod->sandbox_id, d);
      free (d);
      close (fd);
      return -1;
    }
  free (d);
  /* Running: the exec fifo (and everything else) closes, which tells `start` it ran. */
  capsa_close_fds_from (3, &fd, 1);
  code = capsa_vm_exec_wait (fd, c->process->terminal ? 0 : -1, err);
  /* The sandbox's VM went away: the container was killed with it. */
  _exit (code < 0 ? 128 + SIGKILL : code);
}

int capsa_vm_pod_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  return capsa_vm_seccomp_prepare (ctx->config, err);
}

/* The sandbox dir of a member container whose state dir is `dir` (malloc'd), or NULL. */
static char *member_sandbox_dir (const char *dir, const struct capsa_state_file *st,
                                 const char **sb)
{
  const char *slash = strrchr (dir, '/');
  char *sdir;
  if (!st->vm || capsa_vm_pod_role (st->annotations, st->annotations_len, sb, NULL) != VM_POD_MEMBER
      || slash == NULL)
    return NULL;
  if (asprintf (&sdir, "%.*s/%s", (int)(slash - dir), dir, *sb) < 0)
    abort ();
  return sdir;
}

bool capsa_vm_pod_member (const struct capsa_state_file *st)
{
  return st->vm
         && capsa_vm_pod_role (st->annotations, st->annotations_len, NULL, NULL) == VM_POD_MEMBER;
}

void capsa_sandbox_delete (const char *dir, const struct capsa_state_file *st)
{
  const char *sb = NULL, *why, *step = "";
  struct capsa_state_file sst;
  char *sdir = member_sandbox_dir (dir, st, &sb);
  int ns;

  if (sdir == NULL)
    return;
  /* A sandbox that is gone took its VMM's mount namespace (and the share) with it. */
  if (sandbox_state (sdir, &sst, &why) == 0)
    {
      ns = sandbox_mntns (&sst);
      if (ns >= 0)
        {
          if (pod_mount (ns, -1, st->id, &step) < 0)
            capsa_warn ("delete container `%s`: unshare its rootfs from sandbox `%s`: %s: %s",
                        st->id, sb, step, strerror (errno));
          close (ns);
        }
      capsa_state_file_free (&sst);
    }
  free (sdir);
}

int capsa_sandbox_update (const char *dir, const struct capsa_state_file *st,
                          const struct oci_resources *r, capsa_error_t *err)
{
  const char *sb = NULL;
  char *sdir = member_sandbox_dir (dir, st, &sb), prefix[80], first = REC_CGROUP, tag = 0,
       *d = NULL;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len;
  int fd, ret = -1;

  if (sdir == NULL)
    return 0;
  if ((size_t)snprintf (sa.sun_path, sizeof (sa.sun_path), "%s/%s", sdir, VM_CONTROL_SOCKET)
      >= sizeof (sa.sun_path))
    {
      capsa_make_error (err, ENAMETOOLONG, "VM control socket of sandbox `%s`", sb);
      goto out;
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof (sa)) < 0)
    {
      capsa_make_error (err, errno, "connect to the VM control socket \"%s\"", sa.sun_path);
      if (fd >= 0)
        close (fd);
      goto out;
    }
  snprintf (prefix, sizeof (prefix), "%s ", st->id);
  if (write (fd, &first, 1) != 1 || capsa_vm_send_guest_cgroup (fd, r, prefix) < 0
      || capsa_vm_send_rec (fd, REC_END, "", 0) < 0 || capsa_vm_recv_rec (fd, &tag, &d, &len) < 0
      || tag != 'k')
    capsa_make_error (err, 0, "sandbox `%s`: the VM did not take the container's limits", sb);
  else
    ret = 0;
  free (d);
  close (fd);
out:
  free (sdir);
  return ret;
}

char *capsa_sandbox_of_member (const char *dir, const struct capsa_state_file *st)
{
  const char *sb = NULL;
  return member_sandbox_dir (dir, st, &sb);
}

/* The agent's answer to REC_STATS ("@@ FILE\n" and its text, for each file): one file each in
 * `outdir`. */
static int write_stats_files (const char *text, const char *outdir, capsa_error_t *err)
{
  const char *p = text;
  while ((p = strstr (p, "@@ ")) != NULL)
    {
      const char *name = p + 3, *nl = strchr (name, '\n'), *end;
      char path[PATH_MAX];
      int fd;
      if (nl == NULL || nl - name >= 32 || memchr (name, '/', (size_t)(nl - name)))
        break;
      end = strstr (nl + 1, "\n@@ ");
      end = end ? end + 1 : nl + 1 + strlen (nl + 1);
      snprintf (path, sizeof (path), "%s/%.*s", outdir, (int)(nl - name), name);
      fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 || write (fd, nl + 1, (size_t)(end - nl - 1)) < 0)
        {
          int e = errno;
          if (fd >= 0)
            close (fd);
          return capsa_make_error (err, e, "write \"%s\"", path);
        }
      close (fd);
      p = end;
    }
  return 0;
}

int capsa_sandbox_member_stats (const char *sandbox_dir, const char *member, const char *outdir,
                                capsa_error_t *err)
{
  int p[2] = { -1, -1 }, nul = -1, fd = -1, ret = -1, status = -1;
  char tag = 0, *d = NULL, *text = NULL;
  size_t len, tlen = 0;
  ssize_t n;

  if (pipe2 (p, O_CLOEXEC) < 0 || (nul = open ("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    {
      capsa_make_error (err, errno, "stats of the VM's container `%s`", member);
      goto out;
    }
  fd = capsa_vm_request_open (sandbox_dir, (const int[3]){ nul, p[1], p[1] }, err);
  if (fd < 0)
    goto out;
  close (p[1]);
  p[1] = -1;
  if (capsa_vm_send_rec (fd, REC_STATS, member, strlen (member)) < 0
      || capsa_vm_send_rec (fd, REC_END, "", 0) < 0 || capsa_vm_recv_rec (fd, &tag, &d, &len) < 0
      || (tag != REC_STARTED && tag != REC_EXIT))
    {
      capsa_make_error (err, 0, "stats of container `%s`: the VM did not answer", member);
      goto out;
    }
  status = tag == REC_EXIT ? atoi (d) : capsa_vm_exec_wait (fd, -1, err);
  if (status < 0)
    goto out;
  /* The output came before the exit; the supervisor closes its end after it. */
  text = malloc (16384);
  if (text == NULL)
    abort ();
  while (tlen < 16383 && (n = read (p[0], text + tlen, 16383 - tlen)) > 0)
    tlen += (size_t)n;
  text[tlen] = '\0';
  if (status != 0)
    {
      capsa_make_error (err, 0, "stats of container `%s`: %.*s", member, (int)strcspn (text, "\n"),
                        text);
      goto out;
    }
  ret = write_stats_files (text, outdir, err);
out:
  free (d);
  free (text);
  if (fd >= 0)
    close (fd);
  if (nul >= 0)
    close (nul);
  if (p[0] >= 0)
    close (p[0]);
  if (p[1] >= 0)
    close (p[1]);
  return ret;
}

int capsa_vm_pod_exec_target (const char *dir, char **sandbox_dir, char **member_id,
                              capsa_error_t *err)
{
  struct capsa_state_file st;
  const char *sb = NULL;
  char path[PATH_MAX], *msg = NULL;
  struct oci_config *cfg;
  int r;

  *sandbox_dir = *member_id = NULL;
  if (capsa_state_read (dir, &st, err) < 0)
    return -1;
  *sandbox_dir = member_sandbox_dir (dir, &st, &sb);
  if (*sandbox_dir == NULL)
    {
      capsa_state_file_free (&st);
      return 0;
    }
  *member_id = strdup (st.id);
  capsa_state_file_free (&st);
  /* The member's own seccomp filter applies to its exec'd processes. */
  snprintf (path, sizeof (path), "%s/config.json", dir);
  cfg = oci_config_parse_file (path, "config.json", &msg);
  free (msg);
  if (cfg == NULL)
    return capsa_make_error (err, 0, "config.json of container `%s`: cannot parse", *member_id);
  r = capsa_vm_seccomp_prepare (cfg, err);
  oci_config_free (cfg);
  return r;
}
