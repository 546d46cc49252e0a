/* capsa: the sd_notify proxy (NOTIFY_SOCKET).
 *
 * When the caller (systemd, podman, conmon) sets NOTIFY_SOCKET for create or run, the
 * container gets a socket of its own instead of the caller's (which is outside its rootfs and
 * may not exist yet):
 *  - create: <state>/notify/ is made and bound read-only at /run/notify in the container (by
 *    path, or in a user namespace as a detached mount the runtime made), whose process env
 *    gets NOTIFY_SOCKET=/run/notify/notify.sock; the caller's socket path is kept in
 *    <state>/notify-host.
 *  - start (and run): <state>/notify/notify.sock is bound before the process runs.  Each
 *    datagram the workload sends is forwarded to the caller's socket (held back and retried
 *    while that socket does not exist).  `start` and `run --detach` return once READY=1 has been
 *    forwarded, followed by MAINPID=<the container's init> and a BARRIER=1 wait (so the caller
 *    has read them before we exit), or once the init has exited.  A foreground `run` forwards
 *    everything until the container exits, from a child process.
 * The socket file is removed when forwarding ends; the rest goes with the state dir. */
#include <config.h>
#include "internal.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_DIR "notify"
#define NOTIFY_HOST_FILE "notify-host"
#define NOTIFY_SOCK_NAME "notify.sock"
#define NOTIFY_CTR_DIR "/run/notify"
#define NOTIFY_CTR_PATH NOTIFY_CTR_DIR "/" NOTIFY_SOCK_NAME
/* How long a READY=1 waits for the caller's socket to appear, and for its BARRIER=1 answer. */
#define NOTIFY_HOST_WAIT_MS 30000
#define NOTIFY_BARRIER_MS 10000
#define NOTIFY_RETRY_MS 100
#define NOTIFY_MAX_PENDING 256

/* --------------------------------------------------------------------- create side --- */

static char **strv_append (char **v, size_t *len, const char *s)
{
  char **n = realloc (v, (*len + 2) * sizeof (char *));
  if (n == NULL)
    return NULL;
  n[*len] = strdup (s);
  if (n[*len] == NULL)
    return NULL;
  (*len)++;
  n[*len] = NULL;
  return n;
}

/* The container's process env: NOTIFY_SOCKET names the container's socket (replacing one the
 * config may set). */
static int set_process_env (struct oci_process *p, capsa_error_t *err)
{
  const char *entry = "NOTIFY_SOCKET=" NOTIFY_CTR_PATH;
  size_t i;
  char **n;

  for (i = 0; i < p->env_len; i++)
    if (strncmp (p->env[i], "NOTIFY_SOCKET=", 14) == 0)
      {
        char *s = strdup (entry);
        if (s == NULL)
          return capsa_make_error (err, errno, "notify socket: env");
        free (p->env[i]);
        p->env[i] = s;
        return 0;
      }
  n = strv_append (p->env, &p->env_len, entry);
  if (n == NULL)
    return capsa_make_error (err, errno, "notify socket: env");
  p->env = n;
  return 0;
}

/* A read-only bind of <state>/notify at /run/notify, after the config's own mounts. */
static int add_mount (struct oci_config *c, const char *source, capsa_error_t *err)
{
  static const char *const opts[] = { "bind", "nosuid", "noexec", "nodev", "ro" };
  struct oci_mount *n = realloc (c->mounts, (c->mounts_len + 1) * sizeof (*n)), *m;
  size_t i;

  if (n == NULL)
    return capsa_make_error (err, errno, "notify socket: mount");
  c->mounts = n;
  m = &n[c->mounts_len];
  memset (m, 0, sizeof (*m));
  c->mounts_len++;
  m->destination = strdup (NOTIFY_CTR_DIR);
  m->type = strdup ("bind");
  m->source = strdup (source);
  for (i = 0; i < sizeof (opts) / sizeof (opts[0]); i++)
    {
      char **o = strv_append (m->options, &m->options_len, opts[i]);
      if (o == NULL)
        return capsa_make_error (err, errno, "notify socket: mount");
      m->options = o;
    }
  if (m->destination == NULL || m->type == NULL || m->source == NULL)
    return capsa_make_error (err, errno, "notify socket: mount");
  return 0;
}

/* Whether every directory above the state dir lets others through: the container's init binds
 * <state>/notify by path, and in a user namespace it is no longer the host's root. */
static bool reachable_by_others (const char *state_dir)
{
  char p[PATH_MAX], *slash;
  struct stat sb;

  snprintf (p, sizeof (p), "%s", state_dir);
  while ((slash = strrchr (p, '/')) != NULL && slash != p)
    {
      *slash = '\0';
      if (stat (p, &sb) < 0 || !(sb.st_mode & S_IXOTH))
        return false;
    }
  return stat (state_dir, &sb) == 0 && (sb.st_mode & S_IXOTH);
}

/* In a user namespace the init cannot reach <state>/notify by path (the state dirs are 0700,
 * owned by the host's root): the runtime clones it as a detached mount, read-only, before the
 * init exists, and the init moves that into its rootfs (capsa_notify_mount).  -1 when the
 * directory is bound by path, as a config mount. */
static int notify_tree = -1;

static int detach_notify_dir (int state_dirfd)
{
  struct mount_attr a
    = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
  int tree = open_tree (state_dirfd, NOTIFY_DIR, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

  if (tree < 0)
    return -1;
  if (mount_setattr (tree, "", AT_EMPTY_PATH, &a, sizeof (a)) < 0)
    {
      close (tree);
      return -1;
    }
  return tree;
}

int capsa_notify_setup (struct capsa_ctx *ctx, int state_dirfd, capsa_error_t *err)
{
  const char *host = getenv ("NOTIFY_SOCKET");
  char source[PATH_MAX];

  if (host == NULL || host[0] == '\0')
    return 0;
  if (ctx->vm)
    {
      /* The VM's guest has no path to a host socket: the caller's socket stays unused. */
      capsa_debug ("NOTIFY_SOCKET is not proxied into a VM container");
      return 0;
    }
  if (ctx->config->process == NULL)
    return 0;
  if (mkdirat (state_dirfd, NOTIFY_DIR, 0755) < 0)
    return capsa_make_error (err, errno, "notify socket: mkdir %s/%s", ctx->state_dir, NOTIFY_DIR);
  /* The container's root (maybe a mapped uid) only needs to reach the socket. */
  fchmodat (state_dirfd, NOTIFY_DIR, 0755, 0);
  if (ctx->userns)
    {
      notify_tree = detach_notify_dir (state_dirfd);
      if (notify_tree < 0 && !reachable_by_others (ctx->state_dir))
        {
          /* No detached mounts here (an unprivileged capsa, or before Linux 5.12). */
          unlinkat (state_dirfd, NOTIFY_DIR, AT_REMOVEDIR);
          capsa_warn ("NOTIFY_SOCKET is not proxied: %s is out of reach of the container's user "
                      "namespace",
                      ctx->state_dir);
          return 0;
        }
    }
  if (capsa_write_file_at (state_dirfd, NOTIFY_HOST_FILE, host, strlen (host), err) < 0)
    return capsa_error_prefix (err, "notify socket");
  snprintf (source, sizeof (source), "%s/%s", ctx->state_dir, NOTIFY_DIR);
  if ((notify_tree < 0 && add_mount (ctx->config, source, err) < 0)
      || set_process_env (ctx->config->process, err) < 0)
    return -1;
  return 0;
}

int capsa_notify_mount (int rootfd, capsa_error_t *err)
{
  int target, r;

  if (notify_tree < 0)
    return 0;
  target = capsa_open_in_root (rootfd, NOTIFY_CTR_DIR, true, false, err);
  if (target < 0)
    return capsa_error_prefix (err, "notify socket");
  r = move_mount (notify_tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  if (r < 0)
    capsa_make_error (err, errno, "notify socket: mount on %s", NOTIFY_CTR_DIR);
  close (target);
  close (notify_tree);
  notify_tree = -1;
  return r < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------------- addresses --- */

/* A sockaddr_un for PATH ("@name" is abstract).  A path too long for sun_path is reached
 * through an O_PATH fd on its directory (*dirfd, closed by the caller). */
static int make_addr (const char *path, struct sockaddr_un *a, socklen_t *len, int *dirfd)
{
  size_t n = strlen (path);

  *dirfd = -1;
  memset (a, 0, sizeof (*a));
  a->sun_family = AF_UNIX;
  if (path[0] == '@')
    {
      if (n > sizeof (a->sun_path))
        return -1;
      memcpy (a->sun_path + 1, path + 1, n - 1);
      *len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + n);
      return 0;
    }
  if (n >= sizeof (a->sun_path))
    {
      char dir[PATH_MAX];
      const char *slash = strrchr (path, '/');
      if (slash == NULL || (size_t)(slash - path) >= sizeof (dir))
        return -1;
      memcpy (dir, path, (size_t)(slash - path));
      dir[slash - path] = '\0';
      *dirfd = open (dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (*dirfd < 0)
        return -1;
      if (snprintf (a->sun_path, sizeof (a->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1)
          >= (int)sizeof (a->sun_path))
        {
          close (*dirfd);
          *dirfd = -1;
          errno = ENAMETOOLONG;
          return -1;
        }
    }
  else
    memcpy (a->sun_path, path, n);
  *len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + strlen (a->sun_path) + 1);
  return 0;
}

/* ----------------------------------------------------------------------- start side --- */

void capsa_notify_release (struct capsa_notify *n)
{
  if (n->fd >= 0)
    {
      close (n->fd);
      n->fd = -1;
    }
  if (n->sock_path)
    unlink (n->sock_path);
  free (n->sock_path);
  free (n->host);
  n->sock_path = n->host = NULL;
}

int capsa_notify_bind (const char *state_dir, struct capsa_notify *n, capsa_error_t *err)
{
  char path[PATH_MAX], *saved = NULL;
  const char *env = getenv ("NOTIFY_SOCKET");
  struct sockaddr_un a;
  socklen_t alen;
  size_t len;
  int dirfd, r;
  struct stat sb;

  n->fd = -1;
  n->sock_path = n->host = NULL;
  snprintf (path, sizeof (path), "%s/%s", state_dir, NOTIFY_DIR);
  if (stat (path, &sb) < 0)
    return 0; /* created without NOTIFY_SOCKET */
  /* The caller of start may name its own socket (as with runc); else the one of create. */
  snprintf (path, sizeof (path), "%s/%s", state_dir, NOTIFY_HOST_FILE);
  if (env && env[0])
    n->host = strdup (env);
  else if (capsa_read_file (path, &saved, &len, err) == 0)
    n->host = saved;
  else
    return capsa_error_prefix (err, "notify socket");
  if (n->host == NULL)
    return capsa_make_error (err, errno, "notify socket");

  snprintf (path, sizeof (path), "%s/%s/%s", state_dir, NOTIFY_DIR, NOTIFY_SOCK_NAME);
  n->sock_path = strdup (path);
  if (n->sock_path == NULL)
    return capsa_make_error (err, errno, "notify socket");
  unlink (path); /* a stale one from an earlier start attempt */
  n->fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (n->fd < 0)
    return capsa_make_error (err, errno, "notify socket: socket");
  if (make_addr (path, &a, &alen, &dirfd) < 0)
    return capsa_make_error (err, errno, "notify socket: %s", path);
  r = bind (n->fd, (struct sockaddr *)&a, alen);
  if (r == 0)
    r = chmod (a.sun_path, 0777); /* any uid in the container may notify */
  if (dirfd >= 0)
    close (dirfd);
  if (r < 0)
    return capsa_make_error (err, errno, "notify socket: bind %s", path);
  return 0;
}

static long long now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pending
{
  char *msg[NOTIFY_MAX_PENDING];
  size_t len[NOTIFY_MAX_PENDING];
  size_t n;
};

static void pending_push (struct pending *q, const char *buf, size_t len)
{
  char *m;
  if (q->n == NOTIFY_MAX_PENDING || (m = malloc (len ? len : 1)) == NULL)
    {
      capsa_warn ("notify socket: message dropped (too many waiting for the caller's socket)");
      return;
    }
  memcpy (m, buf, len);
  q->msg[q->n] = m;
  q->len[q->n] = len;
  q->n++;
}

static void pending_pop (struct pending *q)
{
  free (q->msg[0]);
  memmove (q->msg, q->msg + 1, (q->n - 1) * sizeof (q->msg[0]));
  memmove (q->len, q->len + 1, (q->n - 1) * sizeof (q->len[0]));
  q->n--;
}

/* Send what waits to the caller's socket, in order.  Returns false while that socket is not
 * there (yet); other errors drop the message with a warning. */
static bool flush (int out, const char *host, struct pending *q)
{
  while (q->n > 0)
    {
      struct sockaddr_un a;
      socklen_t alen;
      int dirfd;
      ssize_t r;

      if (make_addr (host, &a, &alen, &dirfd) < 0)
        {
          if (errno == ENOENT)
            return false;
          capsa_warn ("notify socket: cannot reach %s: %s", host, strerror (errno));
          pending_pop (q);
          continue;
        }
      r = sendto (out, q->msg[0], q->len[0], MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&a,
                  alen);
      if (dirfd >= 0)
        close (dirfd);
      if (r < 0 && (errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN))
        return false;
      if (r < 0)
        capsa_warn ("notify socket: send to %s: %s", host, strerror (errno));
      pending_pop (q);
    }
  return true;
}

static bool has_ready (const char *buf, size_t len)
{
  const char *p = buf, *end = buf + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
      if (l == 7 && memcmp (p, "READY=1", 7) == 0)
        return true;
      p += l + 1;
    }
  return false;
}

/* sd_notify_barrier: BARRIER=1 with the write end of a pipe; the caller closes it once it has
 * read everything before.  Bounded: a caller that does not know the protocol never answers. */
static void barrier (int out, const char *host)
{
  int p[2], dirfd;
  struct sockaddr_un a;
  socklen_t alen;
  char cbuf[CMSG_SPACE (sizeof (int))] = { 0 }, msg[] = "BARRIER=1";
  struct iovec iov = { msg, sizeof (msg) - 1 };
  struct msghdr mh = { 0 };
  struct cmsghdr *c;
  struct pollfd pf;
  ssize_t r;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return;
  if (make_addr (host, &a, &alen, &dirfd) < 0)
    goto out;
  mh.msg_name = &a;
  mh.msg_namelen = alen;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof (cbuf);
  c = CMSG_FIRSTHDR (&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &p[1], sizeof (int));
  r = sendmsg (out, &mh, MSG_NOSIGNAL);
  if (dirfd >= 0)
    close (dirfd);
  if (r < 0)
    goto out;
  close (p[1]);
  p[1] = -1;
  pf.fd = p[0];
  pf.events = POLLIN;
  while ((r = poll (&pf, 1, NOTIFY_BARRIER_MS)) < 0 && errno == EINTR)
    ;
  if (r == 0)
    capsa_debug ("notify socket: no answer to BARRIER=1 within %d s", NOTIFY_BARRIER_MS / 1000);
out:
  close (p[0]);
  if (p[1] >= 0)
    close (p[1]);
}

int capsa_notify_forward (struct capsa_notify *n, pid_t init, bool until_ready)
{
  static char buf[65536];
  struct pending q = { .n = 0 };
  int out, pidfd;
  bool ready = false, done = false;
  long long ready_at = 0;

  if (n->fd < 0)
    return 0;
  out = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (out < 0)
    return -1;
  pidfd = (int)syscall (SYS_pidfd_open, init, 0);
  while (!done)
    {
      struct pollfd pf[2] = { { n->fd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
      bool exited = false, sent;
      int r, timeout = q.n > 0 ? NOTIFY_RETRY_MS : -1;

      if (pidfd < 0 && timeout < 0)
        timeout = NOTIFY_RETRY_MS; /* no pidfd: watch the init by polling */
      r = poll (pf, pidfd >= 0 ? 2 : 1, timeout);
      if (r < 0 && errno != EINTR)
        break;
      if (pidfd >= 0 ? (r > 0 && (pf[1].revents & POLLIN)) : kill (init, 0) < 0)
        exited = true;
      /* Drain what is there (all of it once the init is gone). */
      for (;;)
        {
          ssize_t len = recv (n->fd, buf, sizeof (buf), MSG_DONTWAIT);
          if (len < 0)
            break;
          pending_push (&q, buf, (size_t)len);
          if (!ready && has_ready (buf, (size_t)len))
            {
              ready = true;
              ready_at = now_ms ();
              if (until_ready)
                {
                  /* The caller now watches the container's init, not capsa. */
                  char m[64];
                  int l = snprintf (m, sizeof (m), "MAINPID=%d", (int)init);
                  pending_push (&q, m, (size_t)l);
                }
            }
        }
      sent = flush (out, n->host, &q);
      if (exited)
        done = true;
      else if (until_ready && ready && sent)
        {
          barrier (out, n->host);
          done = true;
        }
      else if (until_ready && ready && now_ms () - ready_at > NOTIFY_HOST_WAIT_MS)
        {
          capsa_warn ("notify socket: %s did not appear within %d s; READY=1 not forwarded",
                      n->host, NOTIFY_HOST_WAIT_MS / 1000);
          done = true;
        }
    }
  if (q.n > 0)
    capsa_warn ("notify socket: %zu message(s) not forwarded: %s not there", q.n, n->host);
  while (q.n > 0)
    pending_pop (&q);
  if (pidfd >= 0)
    close (pidfd);
  close (out);
  return 0;
}
