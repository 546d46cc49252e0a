/* capsa: VM isolation mode: the channel to the guest agent (records over virtio-serial ports
 * backed by socketpairs) and the container init's supervisor loop around the VMM. */
#include <config.h>
#include "vm.h"
#include "../../agent/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <termios.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_CAP
#include <sys/capability.h>
#endif

static bool vm_terminal; /* the workload has a terminal: SIGWINCH resizes the guest's pty */

/* Records go over sockets (a peer that has gone away is EPIPE, not a SIGPIPE that kills the
 * sender: e.g. an exec's proxy sending a size after its process already exited) and pipes. */
static int write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  bool sock = true;
  while (len > 0)
    {
      ssize_t n = sock ? send (fd, p, len, MSG_NOSIGNAL) : write (fd, p, len);
      if (n < 0 && errno == ENOTSOCK && sock)
        {
          sock = false;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLOUT };
          poll (&pfd, 1, -1);
          continue;
        }
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

static int read_all (int fd, void *buf, size_t len)
{
  char *p = buf;
  while (len > 0)
    {
      ssize_t n = read (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLIN };
          if (poll (&pfd, 1, 5000) <= 0)
            return -1;
          continue;
        }
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

int capsa_vm_send_rec (int fd, char tag, const void *data, size_t len)
{
  unsigned char hdr[5]
    = { (unsigned char)tag, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >> 24) & 0xff };
  if (write_all (fd, hdr, 5) < 0 || write_all (fd, data, len) < 0)
    return -1;
  return 0;
}

int capsa_vm_recv_rec (int fd, char *tag, char **data, size_t *len)
{
  unsigned char hdr[5];
  if (read_all (fd, hdr, 5) < 0)
    return -1;
  *tag = (char)hdr[0];
  *len = hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | ((size_t)hdr[4] << 24);
  if (*len > (1u << 20))
    return -1;
  *data = malloc (*len + 1);
  if (*data == NULL || read_all (fd, *data, *len) < 0)
    {
      free (*data);
      return -1;
    }
  (*data)[*len] = '\0';
  return 0;
}

static int send_str (int fd, char tag, const char *s)
{
  return capsa_vm_send_rec (fd, tag, s, strlen (s));
}

static int send_num (int fd, char tag, unsigned long long v, bool octal)
{
  char buf[32];
  snprintf (buf, sizeof (buf), octal ? "%llo" : "%llu", v);
  return send_str (fd, tag, buf);
}

static int rlimit_resource (const char *name)
{
  static const struct
  {
    const char *name;
    int res;
  } t[] = { { "RLIMIT_AS", RLIMIT_AS },
            { "RLIMIT_CORE", RLIMIT_CORE },
            { "RLIMIT_CPU", RLIMIT_CPU },
            { "RLIMIT_DATA", RLIMIT_DATA },
            { "RLIMIT_FSIZE", RLIMIT_FSIZE },
            { "RLIMIT_LOCKS", RLIMIT_LOCKS },
            { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
            { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
            { "RLIMIT_NICE", RLIMIT_NICE },
            { "RLIMIT_NOFILE", RLIMIT_NOFILE },
            { "RLIMIT_NPROC", RLIMIT_NPROC },
            { "RLIMIT_RSS", RLIMIT_RSS },
            { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
            { "RLIMIT_RTTIME", RLIMIT_RTTIME },
            { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
            { "RLIMIT_STACK", RLIMIT_STACK } };
  size_t i;
  for (i = 0; i < sizeof (t) / sizeof (t[0]); i++)
    if (strcmp (t[i].name, name) == 0)
      return t[i].res;
  return -1;
}

/* The container's seccomp filter, exported once (capsa_vm_seccomp_prepare). */
static char *seccomp_rec;
static size_t seccomp_rec_len;

int capsa_vm_seccomp_prepare (const struct oci_config *c, capsa_error_t *err)
{
  char *prog = NULL;
  size_t len = 0;
  unsigned flags = 0;
  if (capsa_seccomp_export (c->linux_ ? c->linux_->seccomp : NULL, &prog, &len, &flags, err) < 0)
    return capsa_error_prefix (err, "config.json (VM isolation mode)");
  if (prog == NULL)
    return 0;
  seccomp_rec = malloc (len + 4);
  if (seccomp_rec == NULL)
    abort ();
  seccomp_rec[0] = (char)(flags & 0xff);
  seccomp_rec[1] = (char)((flags >> 8) & 0xff);
  seccomp_rec[2] = (char)((flags >> 16) & 0xff);
  seccomp_rec[3] = (char)((flags >> 24) & 0xff);
  memcpy (seccomp_rec + 4, prog, len);
  seccomp_rec_len = len + 4;
  free (prog);
  return 0;
}

#ifdef HAVE_CAP
/* Capability names to a mask (names were validated at create; one this libcap or kernel does not
 * know is left out, as in container mode). */
static uint64_t cap_mask (char **names, size_t n)
{
  cap_value_t max = cap_max_bits ();
  uint64_t mask = 0;
  size_t i;
  for (i = 0; i < n; i++)
    {
      cap_value_t v;
      if (cap_from_name (names[i], &v) == 0 && v < max && v < 64)
        mask |= 1ULL << v;
    }
  return mask;
}

/* The five sets for the agent, limited to what we hold ourselves, as in container mode (the
 * guest must not grant what the same bundle would not get without VM mode). */
static int send_caps (int fd, const struct oci_capabilities *c)
{
  uint64_t held = 0, m[5] = { 0 };
  cap_value_t v, max = cap_max_bits ();
  cap_t cur = cap_get_proc ();
  char buf[128];
  int i;
  for (v = 0; cur && v < max && v < 64; v++)
    {
      cap_flag_value_t f = CAP_CLEAR;
      if (cap_get_flag (cur, v, CAP_PERMITTED, &f) == 0 && f == CAP_SET)
        held |= 1ULL << v;
    }
  if (cur)
    cap_free (cur);
  if (c)
    {
      m[0] = cap_mask (c->bounding, c->bounding_len);
      m[1] = cap_mask (c->effective, c->effective_len);
      m[2] = cap_mask (c->permitted, c->permitted_len);
      m[3] = cap_mask (c->inheritable, c->inheritable_len);
      m[4] = cap_mask (c->ambient, c->ambient_len);
    }
  for (i = 0; i < 5; i++)
    m[i] &= held;
  snprintf (buf, sizeof (buf), "%llx %llx %llx %llx %llx", (unsigned long long)m[0],
            (unsigned long long)m[1], (unsigned long long)m[2], (unsigned long long)m[3],
            (unsigned long long)m[4]);
  return send_str (fd, REC_CAPS, buf);
}
#else
/* Without libcap the process keeps the agent's capabilities: none of the spec's sets can be
 * computed (container mode refuses such a config at start). */
static int send_caps (int fd, const struct oci_capabilities *c)
{
  (void)fd;
  (void)c;
  return 0;
}
#endif

int capsa_vm_send_process (int fd, const struct oci_process *p)
{
  size_t i;
  int r = 0;

  for (i = 0; i < p->args_len && p->args[i]; i++)
    r |= send_str (fd, REC_ARG, p->args[i]);
  for (i = 0; i < p->env_len && p->env[i]; i++)
    r |= send_str (fd, REC_ENV, p->env[i]);
  r |= send_str (fd, REC_CWD, p->cwd ? p->cwd : "/");
  r |= send_num (fd, REC_UID, p->user.uid, false);
  r |= send_num (fd, REC_GID, p->user.gid, false);
  for (i = 0; i < p->user.additional_gids_len; i++)
    r |= send_num (fd, REC_XGID, p->user.additional_gids[i], false);
  r |= send_num (fd, REC_UMASK, p->user.umask_present ? p->user.umask : 022, true);
  for (i = 0; i < p->rlimits_len; i++)
    {
      char buf[96];
      int res = rlimit_resource (p->rlimits[i].type);
      if (res < 0)
        continue;
      snprintf (buf, sizeof (buf), "%d %llu %llu", res, (unsigned long long)p->rlimits[i].soft,
                (unsigned long long)p->rlimits[i].hard);
      r |= send_str (fd, REC_RLIMIT, buf);
    }
  r |= send_caps (fd, p->capabilities);
  if (p->no_new_privileges)
    r |= send_str (fd, REC_NNP, "1");
  return r ? -1 : 0;
}

/* stdio is the host pty's slave (the console): raw, so that the guest's pty alone cooks and
 * echoes; its size goes to the guest's pty. */
static int send_terminal (int fd)
{
  struct winsize ws = { 0 };
  struct termios t;
  char buf[32];
  ioctl (0, TIOCGWINSZ, &ws);
  if (tcgetattr (0, &t) == 0)
    {
      cfmakeraw (&t);
      tcsetattr (0, TCSANOW, &t);
    }
  snprintf (buf, sizeof (buf), "%u %u", ws.ws_row, ws.ws_col);
  return send_str (fd, REC_TERMINAL, buf);
}

/* The pid namespace, the mounts and the seccomp filter of the container. */
static int send_namespaces_mounts (int fd, const struct oci_config *c)
{
  size_t i;
  int r = 0;

  /* A new pid namespace makes the workload PID 1 in container mode; the guest gives it one too.
     A "pid" entry with a path joins a host namespace where the workload is not the init: the
     workload then stays in the guest's first pid namespace, a child of the agent (PID 1). */
  for (i = 0; c->linux_ && i < c->linux_->namespaces_len; i++)
    if (c->linux_->namespaces[i].type && strcmp (c->linux_->namespaces[i].type, "pid") == 0
        && c->linux_->namespaces[i].path == NULL)
      {
        r |= send_str (fd, REC_PIDNS, "1");
        break;
      }
  for (i = 0; i < c->mounts_len; i++)
    {
      const struct oci_mount *m = &c->mounts[i];
      char buf[8192];
      size_t len = 0, j;
      len += (size_t)snprintf (buf + len, sizeof (buf) - len, "%s", m->type ? m->type : "") + 1;
      len += (size_t)snprintf (buf + len, sizeof (buf) - len, "%s", m->source ? m->source : "") + 1;
      len += (size_t)snprintf (buf + len, sizeof (buf) - len, "%s", m->destination) + 1;
      for (j = 0; j < m->options_len && len < sizeof (buf) - 1; j++)
        len
          += (size_t)snprintf (buf + len, sizeof (buf) - len, "%s%s", j ? "," : "", m->options[j]);
      if (len >= sizeof (buf))
        continue;
      r |= capsa_vm_send_rec (fd, REC_MOUNT, buf, len + 1);
    }
  r |= capsa_vm_send_seccomp (fd);
  return r;
}

int capsa_vm_send_seccomp (int fd)
{
  if (seccomp_rec)
    return capsa_vm_send_rec (fd, REC_SECCOMP, seccomp_rec, seccomp_rec_len);
  return 0;
}

int capsa_vm_send_spec (int fd, const struct oci_config *c)
{
  int r = 0;

  /* First a fresh seed and the time: a guest restored from a snapshot has the saved ones. */
  {
    unsigned char seed[64];
    struct timespec now;
    char buf[64];
    if (getrandom (seed, sizeof (seed), 0) != (ssize_t)sizeof (seed))
      return -1;
    r |= capsa_vm_send_rec (fd, REC_SEED, seed, sizeof (seed));
    explicit_bzero (seed, sizeof (seed));
    clock_gettime (CLOCK_REALTIME, &now);
    snprintf (buf, sizeof (buf), "%lld %ld", (long long)now.tv_sec, now.tv_nsec);
    r |= send_str (fd, REC_TIME, buf);
  }
  r |= capsa_vm_send_process (fd, c->process);
  r |= capsa_vm_net_send (fd);

  if (c->process->terminal)
    {
      r |= send_terminal (fd);
      vm_terminal = true;
    }

  if (c->hostname)
    r |= send_str (fd, REC_HOSTNAME, c->hostname);
  /* A pod's sandbox: the guest mounts the pod share, where its members' rootfs appear. */
  if (capsa_vm_pod_role (c->annotations, c->annotations_len, NULL, NULL) == VM_POD_SANDBOX)
    r |= send_str (fd, REC_POD, "1");
  r |= send_namespaces_mounts (fd, c);
  r |= capsa_vm_send_rec (fd, REC_END, "", 0);
  return r ? -1 : 0;
}

/* A pod member's limits, for its cgroup in the guest (the VM holds the pod's memory; the host
 * cgroup of the member holds only its host process). */
int capsa_vm_send_guest_cgroup (int fd, const struct oci_resources *r, const char *prefix)
{
  char buf[160];
  int ret = 0;
  if (r == NULL)
    return 0;
  if (r->memory && r->memory->limit_present)
    {
      if (r->memory->limit < 0)
        snprintf (buf, sizeof (buf), "%smemory.max max", prefix);
      else
        snprintf (buf, sizeof (buf), "%smemory.max %lld", prefix, (long long)r->memory->limit);
      ret |= send_str (fd, REC_CGROUP, buf);
    }
  if (r->memory && r->memory->reservation_present && r->memory->reservation > 0)
    {
      snprintf (buf, sizeof (buf), "%smemory.low %lld", prefix, (long long)r->memory->reservation);
      ret |= send_str (fd, REC_CGROUP, buf);
    }
  if (r->pids)
    {
      if (r->pids->limit <= 0)
        snprintf (buf, sizeof (buf), "%spids.max max", prefix);
      else
        snprintf (buf, sizeof (buf), "%spids.max %lld", prefix, (long long)r->pids->limit);
      ret |= send_str (fd, REC_CGROUP, buf);
    }
  return ret;
}

int capsa_vm_send_container (int fd, const struct oci_config *c)
{
  int r = capsa_vm_send_process (fd, c->process);
  r |= capsa_vm_send_guest_cgroup (fd, c->linux_ ? c->linux_->resources : NULL, "");
  if (c->process->terminal)
    r |= send_terminal (fd);
  r |= send_namespaces_mounts (fd, c);
  r |= capsa_vm_send_rec (fd, REC_END, "", 0);
  return r ? -1 : 0;
}

/* ---- the supervisor ------------------------------------------------------------------- */

#define CONSOLE_KEEP 4096

struct console_tail
{
  char buf[CONSOLE_KEEP];
  size_t len;
};

static void console_add (struct console_tail *t, const char *d, size_t n)
{
  if (n >= CONSOLE_KEEP)
    {
      memcpy (t->buf, d + n - CONSOLE_KEEP, CONSOLE_KEEP);
      t->len = CONSOLE_KEEP;
      return;
    }
  if (t->len + n > CONSOLE_KEEP)
    {
      size_t drop = t->len + n - CONSOLE_KEEP;
      memmove (t->buf, t->buf + drop, t->len - drop);
      t->len -= drop;
    }
  memcpy (t->buf + t->len, d, n);
  t->len += n;
}

static void report (const char *fmt, const char *arg, const struct console_tail *t)
{
  char msg[512];
  snprintf (msg, sizeof (msg), fmt, arg);
  dprintf (2, "capsa: %s\n", msg);
  if (t && t->len)
    {
      dprintf (2, "capsa: guest console (last %zu bytes):\n", t->len);
      write_all (2, t->buf, t->len);
      dprintf (2, "\n");
    }
}

/* Copies what is readable on `from` to `to`; returns -1 at EOF. */
static int relay (int from, int to, struct console_tail *t)
{
  char buf[65536];
  ssize_t n = read (from, buf, sizeof (buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return 0;
  if (n <= 0)
    return -1;
  if (t)
    console_add (t, buf, (size_t)n);
  else if (write_all (to, buf, (size_t)n) < 0)
    return 0; /* the reader went away: keep draining */
  return 0;
}

/* ---- signals for the workload ---- */

static bool workload_started, killed_before_start;
static pid_t vmm_pid = -1;
static int pending[16];
static size_t npending;

/* Signals that arrive before the agent started the workload wait for it; SIGKILL stops the VM
 * at once, as it would stop a container that has not run its process yet. */
static int deliver (int ctl, int sig)
{
  char buf[16];
  if (!workload_started)
    {
      if (sig == SIGKILL)
        {
          killed_before_start = true;
          return kill (vmm_pid, SIGKILL);
        }
      if (npending < sizeof (pending) / sizeof (pending[0]))
        pending[npending++] = sig;
      return 0;
    }
  if (ctl < 0)
    return -1;
  snprintf (buf, sizeof (buf), "%d", sig);
  return capsa_vm_send_rec (ctl, REC_KILL, buf, strlen (buf));
}

static void send_winsize (int ctl)
{
  struct winsize ws = { 0 };
  char buf[32];
  if (ctl < 0 || ioctl (0, TIOCGWINSZ, &ws) < 0)
    return;
  snprintf (buf, sizeof (buf), "%u %u", ws.ws_row, ws.ws_col);
  capsa_vm_send_rec (ctl, REC_TERMINAL, buf, strlen (buf));
}

/* ---- capsa exec requests ---- */

#define MAX_EXECS 16

struct exec_req
{
  bool used;
  uint32_t id;
  int conn;   /* the `capsa exec` client (REC_STARTED, REC_EXIT), -1 once it went away */
  int fds[3]; /* its stdin, stdout, stderr */
};

static struct exec_req execs[MAX_EXECS];
static uint32_t next_exec_id = 1;

static void exec_close (struct exec_req *e)
{
  int i;
  for (i = 0; i < 3; i++)
    if (e->fds[i] >= 0)
      close (e->fds[i]);
  if (e->conn >= 0)
    close (e->conn);
  e->used = false;
}

static struct exec_req *exec_by_id (uint32_t id)
{
  size_t i;
  for (i = 0; i < MAX_EXECS; i++)
    if (execs[i].used && execs[i].id == id)
      return &execs[i];
  return NULL;
}

/* A record from a running exec's client: a signal or a terminal size for its process; EOF (the
 * client died) kills the process, which nothing on the host could reach any more. */
static void exec_client (struct exec_req *e, int ctl)
{
  char tag, *d = NULL, buf[64];
  size_t len;
  if (capsa_vm_recv_rec (e->conn, &tag, &d, &len) < 0)
    {
      close (e->conn);
      e->conn = -1;
      snprintf (buf, sizeof (buf), "%u %d", e->id, SIGKILL);
      if (ctl >= 0)
        capsa_vm_send_rec (ctl, REC_EXEC_KILL, buf, strlen (buf));
      return;
    }
  if (tag == REC_KILL)
    {
      snprintf (buf, sizeof (buf), "%u %d", e->id, atoi (d));
      if (ctl >= 0)
        capsa_vm_send_rec (ctl, REC_EXEC_KILL, buf, strlen (buf));
    }
  else if (tag == REC_TERMINAL)
    {
      unsigned r = 0, c = 0;
      if (sscanf (d, "%u %u", &r, &c) == 2 && ctl >= 0)
        {
          snprintf (buf, sizeof (buf), "%u %u %u", e->id, r, c);
          capsa_vm_send_rec (ctl, REC_EXEC_WINSZ, buf, strlen (buf));
        }
    }
  free (d);
}

static struct exec_req *exec_find (const char *d, size_t len)
{
  uint32_t id;
  size_t i;
  if (len < 4)
    return NULL;
  id = (uint32_t)(unsigned char)d[0] | (uint32_t)(unsigned char)d[1] << 8
       | (uint32_t)(unsigned char)d[2] << 16 | (uint32_t)(unsigned char)d[3] << 24;
  for (i = 0; i < MAX_EXECS; i++)
    if (execs[i].used && execs[i].id == id)
      return &execs[i];
  return NULL;
}

static void exec_request (int c, int ctl, int fds[3]);

/* Exec requests that came before the workload started wait for it: until then the agent reads
 * the container's settings on the control port, where a request's records cannot go yet. */
static struct
{
  int conn, fds[3];
} early[MAX_EXECS];
static size_t nearly;

/* A client connected to the control socket: a REC_KILL record, or an exec request (the byte
 * REC_EXEC carrying its three stdio fds, then process records up to REC_END). */
static void handle_client (int c, int ctl)
{
  char first, ccmsg[CMSG_SPACE (3 * sizeof (int))];
  struct iovec iov = { .iov_base = &first, .iov_len = 1 };
  struct msghdr mh
    = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ccmsg, .msg_controllen = sizeof (ccmsg) };
  struct cmsghdr *cm;
  int fds[3] = { -1, -1, -1 };
  struct pollfd pfd = { .fd = c, .events = POLLIN };
  size_t i;

  if (poll (&pfd, 1, 5000) <= 0 || recvmsg (c, &mh, MSG_CMSG_CLOEXEC) != 1)
    goto drop;
  for (cm = CMSG_FIRSTHDR (&mh); cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
        && cm->cmsg_len == CMSG_LEN (3 * sizeof (int)))
      memcpy (fds, CMSG_DATA (cm), sizeof (fds));
  if (first == REC_KILL)
    {
      unsigned char hdr[4];
      char *d;
      size_t len;
      int ok;
      if (read_all (c, hdr, 4) < 0)
        goto drop;
      len = hdr[0] | (hdr[1] << 8) | (hdr[2] << 16) | ((size_t)hdr[3] << 24);
      if (len > 64 || (d = calloc (1, len + 1)) == NULL)
        goto drop;
      ok = read_all (c, d, len) == 0 && deliver (ctl, atoi (d)) == 0;
      capsa_vm_send_rec (c, ok ? 'k' : 'f', "", 0);
      free (d);
      goto drop;
    }
  if (first == REC_CGROUP)
    {
      /* `capsa update` of a pod member: its limits go to the agent as they are. */
      bool ok = workload_started && ctl >= 0;
      for (;;)
        {
          char tag, *d;
          size_t len;
          if (capsa_vm_recv_rec (c, &tag, &d, &len) < 0)
            goto drop;
          if (tag == REC_CGROUP && ok && capsa_vm_send_rec (ctl, tag, d, len) < 0)
            ok = false;
          free (d);
          if (tag == REC_END)
            break;
        }
      capsa_vm_send_rec (c, ok ? 'k' : 'f', "", 0);
      goto drop;
    }
  if (first == REC_EXEC && fds[0] >= 0 && ctl >= 0 && !workload_started
      && nearly < sizeof (early) / sizeof (early[0]))
    {
      early[nearly].conn = c;
      memcpy (early[nearly++].fds, fds, sizeof (fds));
      return;
    }
  if (first == REC_EXEC && fds[0] >= 0 && ctl >= 0)
    {
      exec_request (c, ctl, fds);
      return;
    }
drop:
  for (i = 0; i < 3; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  close (c);
}

/* An exec request (its first byte and stdio read): the process records go to the agent. */
static void exec_request (int c, int ctl, int fds[3])
{
  struct exec_req *e = NULL;
  char idbuf[16];
  bool own = false; /* a pod member's request: its own mounts, namespaces and filter */
  size_t i;

  for (i = 0; i < MAX_EXECS; i++)
    if (!execs[i].used)
      {
        e = &execs[i];
        break;
      }
  if (e == NULL)
    goto drop;
  snprintf (idbuf, sizeof (idbuf), "%u", next_exec_id);
  if (capsa_vm_send_rec (ctl, REC_EXEC, idbuf, strlen (idbuf)) < 0)
    goto drop;
  /* Forward the process records as they are. */
  for (;;)
    {
      char tag, *d;
      size_t len;
      if (capsa_vm_recv_rec (c, &tag, &d, &len) < 0)
        {
          capsa_vm_send_rec (ctl, REC_END, "", 0);
          goto drop;
        }
      if (tag == REC_CONTAINER || tag == REC_JOIN)
        own = true;
      /* The container's seccomp filter applies to exec'd processes too. */
      if (tag == REC_END && seccomp_rec && !own)
        capsa_vm_send_rec (ctl, REC_SECCOMP, seccomp_rec, seccomp_rec_len);
      if (own
          || (tag != REC_MOUNT && tag != REC_HOSTNAME && tag != REC_SECCOMP && tag != REC_PIDNS))
        capsa_vm_send_rec (ctl, tag, d, len);
      free (d);
      if (tag == REC_END)
        break;
    }
  e->used = true;
  e->id = next_exec_id++;
  e->conn = c;
  memcpy (e->fds, fds, 3 * sizeof (int));
  return;

drop:
  for (i = 0; i < 3; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  close (c);
}

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static void ignore_handler (int sig)
{
  (void)sig;
}

/* How long a VM that saves its boot waits for the agent's REC_READY before it gives up saving
 * (a boot takes 0.5-5 s here under TCG). */
#define SAVE_READY_MS 20000

static int boot_timeout_ms (void)
{
  const char *s = getenv ("CAPSA_VM_BOOT_TIMEOUT");
  int v = s ? atoi (s) : 0;
  return (v > 0 ? v : 60) * 1000;
}

int capsa_vm_supervise (pid_t vmm, int listen_fd, int ctl, int in, int out, int errfd, int console,
                        const struct oci_config *c, struct capsa_vm_snapshot *snap)
{
  bool heard = false;             /* any record from the agent */
  int ready_wait = SAVE_READY_MS; /* when saving: for the agent's REC_READY */
  static struct console_tail tail;
  sigset_t mask;
  int sfd, code = -1, vmm_status = 0, timeout = boot_timeout_ms ();
  bool started = false, vmm_done = false, in_open = true;
  size_t i;

  vmm_pid = vmm;
  /* A reader that went away (an exec client, the container's stdout) is an EPIPE to handle. */
  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  for (i = 0; i < sizeof (forwarded) / sizeof (forwarded[0]); i++)
    {
      /* A pid namespace's init only receives the signals it handles. */
      signal (forwarded[i], ignore_handler);
      sigaddset (&mask, forwarded[i]);
    }
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  fcntl (out, F_SETFL, O_NONBLOCK);
  fcntl (errfd, F_SETFL, O_NONBLOCK);
  fcntl (console, F_SETFL, O_NONBLOCK);

  /* The control port is read to its end too: it can still hold records (one is read per round)
   * when the VMM's exit and the end of the output arrive, e.g. the exit status queued behind
   * REC_STARTED when this process was slow to run.  Only the VMM holds its other end, so its
   * exit ends it. */
  while (!vmm_done || out >= 0 || errfd >= 0 || ctl >= 0)
    {
      struct pollfd pfd[7 + 2 * MAX_EXECS];
      int exec_idx[MAX_EXECS], conn_idx[MAX_EXECS];
      int nfds = 0, r, wait_ms;
      struct timespec t0, t1;
      enum
      {
        P_SIG,
        P_CTL,
        P_OUT,
        P_ERR,
        P_CON,
        P_LISTEN,
        P_IN
      };
      int idx[7];

#define WATCH(which, fd_)                                                                          \
  do                                                                                               \
    {                                                                                              \
      idx[which] = -1;                                                                             \
      if ((fd_) >= 0)                                                                              \
        {                                                                                          \
          idx[which] = nfds;                                                                       \
          pfd[nfds].fd = (fd_);                                                                    \
          pfd[nfds].events = POLLIN;                                                               \
          pfd[nfds++].revents = 0;                                                                 \
        }                                                                                          \
    }                                                                                              \
  while (0)
      WATCH (P_SIG, sfd);
      WATCH (P_CTL, ctl);
      WATCH (P_OUT, out);
      WATCH (P_ERR, errfd);
      WATCH (P_CON, console);
      WATCH (P_LISTEN, listen_fd);
      /* stdin flows once the agent has opened its port (data sent earlier could be lost with
         an early EOF). */
      WATCH (P_IN, started && in_open && in >= 0 ? 0 : -1);
#undef WATCH
      for (i = 0; i < MAX_EXECS; i++)
        {
          exec_idx[i] = conn_idx[i] = -1;
          if (execs[i].used && execs[i].fds[0] >= 0)
            {
              exec_idx[i] = nfds;
              pfd[nfds].fd = execs[i].fds[0];
              pfd[nfds].events = POLLIN;
              pfd[nfds++].revents = 0;
            }
          if (execs[i].used && execs[i].conn >= 0)
            {
              conn_idx[i] = nfds;
              pfd[nfds].fd = execs[i].conn;
              pfd[nfds].events = POLLIN;
              pfd[nfds++].revents = 0;
            }
        }
      wait_ms = started || vmm_done ? -1 : timeout;
      if (snap->mode == VM_SNAP_SAVE && !vmm_done && (wait_ms < 0 || wait_ms > ready_wait))
        wait_ms = ready_wait > 0 ? ready_wait : 0;
      clock_gettime (CLOCK_MONOTONIC, &t0);
      r = poll (pfd, (nfds_t)nfds, vmm_done ? 2000 : wait_ms);
      if (r < 0 && errno == EINTR)
        continue;
      clock_gettime (CLOCK_MONOTONIC, &t1);
      ready_wait -= (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
      if (r == 0 && snap->mode == VM_SNAP_SAVE && !vmm_done && ready_wait <= 0)
        {
          /* An agent that never says it is ready (an initramfs from before snapshots) waits
             for its settings: boot without saving. */
          capsa_warn ("VM isolation mode: the guest agent did not report ready within %d s; "
                      "not saving a boot snapshot",
                      SAVE_READY_MS / 1000);
          capsa_vm_snapshot_failed (snap);
          if (capsa_vm_send_spec (ctl, c) < 0)
            report ("send the process settings to the VM: %s", strerror (errno), NULL);
          if (!started)
            timeout -= (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
          continue;
        }
      if (r == 0)
        {
          if (vmm_done)
            break; /* output still open after the VMM exit: a stray holder */
          report ("the VM did not start the workload within %s seconds; stopping it",
                  getenv ("CAPSA_VM_BOOT_TIMEOUT") ? getenv ("CAPSA_VM_BOOT_TIMEOUT") : "60",
                  &tail);
          if (c->linux_ && c->linux_->seccomp)
            dprintf (2, "capsa: config.json: .linux.seccomp applies to the hypervisor too: a "
                        "filter that denies a system call QEMU needs (e.g. ppoll) stops the VM\n");
          kill (vmm, SIGKILL);
          started = true;
          continue;
        }
      if (!started)
        timeout -= (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
#define READY(which) (idx[which] >= 0 && pfd[idx[which]].revents)
      if (READY (P_OUT) && relay (out, 1, NULL) < 0)
        {
          close (out);
          out = -1;
        }
      if (READY (P_ERR) && relay (errfd, 2, NULL) < 0)
        {
          close (errfd);
          errfd = -1;
        }
      if (READY (P_CON) && relay (console, -1, &tail) < 0)
        {
          close (console);
          console = -1;
        }
      if (READY (P_IN))
        {
          char buf[65536];
          ssize_t n = read (0, buf, sizeof (buf));
          if (n < 0 && (errno == EAGAIN || errno == EINTR))
            n = 1, buf[0] = 0, n = -2;
          if (n == -2)
            ;
          else if (n <= 0 || write_all (in, buf, (size_t)n) < 0)
            {
              /* EOF reaches the guest as the port's host side closing. */
              in_open = false;
              shutdown (in, SHUT_WR);
            }
        }
      if (READY (P_CTL))
        {
          char tag, *d;
          size_t len;
          if (capsa_vm_recv_rec (ctl, &tag, &d, &len) < 0)
            {
              close (ctl);
              ctl = -1;
            }
          else
            {
              heard = true;
              if (tag == REC_READY && snap->mode == VM_SNAP_SAVE)
                {
                  capsa_vm_snapshot_save (snap);
                  if (capsa_vm_send_spec (ctl, c) < 0)
                    report ("send the process settings to the VM: %s", strerror (errno), NULL);
                }
              else if (tag == REC_STARTED)
                {
                  started = workload_started = true;
                  for (i = 0; i < npending; i++)
                    deliver (ctl, pending[i]);
                  npending = 0;
                  for (i = 0; i < nearly; i++)
                    exec_request (early[i].conn, ctl, early[i].fds);
                  nearly = 0;
                }
              else if (tag == REC_ERROR)
                report ("%s", d, NULL);
              else if (tag == REC_EXIT)
                {
                  code = atoi (d);
                  started = true;
                }
              else if (tag == REC_EXEC_OUT || tag == REC_EXEC_ERR)
                {
                  struct exec_req *e = exec_find (d, len);
                  int fd = e ? e->fds[tag == REC_EXEC_OUT ? 1 : 2] : -1;
                  if (fd >= 0)
                    write_all (fd, d + 4, len - 4);
                }
              else if (tag == REC_EXEC_STARTED)
                {
                  struct exec_req *e = exec_by_id ((uint32_t)strtoul (d, NULL, 10));
                  if (e && e->conn >= 0)
                    capsa_vm_send_rec (e->conn, REC_STARTED, "", 0);
                }
              else if (tag == REC_EXEC_EXIT)
                {
                  unsigned id = 0;
                  int ecode = 1;
                  struct exec_req *e;
                  sscanf (d, "%u %d", &id, &ecode);
                  if ((e = exec_by_id (id)) != NULL)
                    {
                      char cb[16];
                      snprintf (cb, sizeof (cb), "%d", ecode);
                      if (e->conn >= 0)
                        capsa_vm_send_rec (e->conn, REC_EXIT, cb, strlen (cb));
                      exec_close (e);
                    }
                }
              free (d);
            }
        }
      if (READY (P_LISTEN))
        {
          int c = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
          if (c >= 0)
            handle_client (c, ctl);
        }
      for (i = 0; i < MAX_EXECS; i++)
        if (conn_idx[i] >= 0 && pfd[conn_idx[i]].revents && execs[i].used && execs[i].conn >= 0)
          exec_client (&execs[i], ctl);
      for (i = 0; i < MAX_EXECS; i++)
        if (exec_idx[i] >= 0 && pfd[exec_idx[i]].revents && execs[i].used && execs[i].fds[0] >= 0)
          {
            struct exec_req *e = &execs[i];
            char buf[16384 + 4];
            ssize_t n = read (e->fds[0], buf + 4, sizeof (buf) - 4);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
              continue;
            buf[0] = (char)(e->id & 0xff);
            buf[1] = (char)((e->id >> 8) & 0xff);
            buf[2] = (char)((e->id >> 16) & 0xff);
            buf[3] = (char)((e->id >> 24) & 0xff);
            if (n <= 0)
              {
                close (e->fds[0]);
                e->fds[0] = -1;
                n = 0;
              }
            if (ctl >= 0)
              capsa_vm_send_rec (ctl, REC_EXEC_IN, buf, (size_t)n + 4);
          }
      if (READY (P_SIG))
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof (si)) == sizeof (si))
            {
              if (si.ssi_signo == SIGCHLD)
                {
                  int st;
                  if (waitpid (vmm, &st, WNOHANG) == vmm)
                    {
                      vmm_done = true;
                      vmm_status = st;
                    }
                }
              else if (si.ssi_signo == SIGWINCH && vm_terminal)
                send_winsize (ctl);
              else
                deliver (ctl, (int)si.ssi_signo);
            }
        }
#undef READY
    }
  for (i = 0; i < MAX_EXECS; i++)
    if (execs[i].used)
      exec_close (&execs[i]);
  for (i = 0; i < nearly; i++)
    {
      struct exec_req dropped = { .conn = early[i].conn };
      memcpy (dropped.fds, early[i].fds, sizeof (dropped.fds));
      exec_close (&dropped);
    }
  nearly = 0;
  {
    int *fds[] = { &sfd, &ctl, &in, &out, &errfd, &console };
    for (i = 0; i < sizeof (fds) / sizeof (fds[0]); i++)
      if (*fds[i] >= 0)
        {
          close (*fds[i]);
          *fds[i] = -1;
        }
  }
  /* Never saved (the VM ended before its agent was ready). */
  if (snap->mode == VM_SNAP_SAVE)
    capsa_vm_snapshot_failed (snap);
  /* Could not be started from the snapshot (QEMU failed to load it): the caller boots. */
  if (snap->mode == VM_SNAP_RESTORE && !heard && !killed_before_start && WIFEXITED (vmm_status)
      && WEXITSTATUS (vmm_status) != 0)
    {
      capsa_vm_snapshot_failed (snap);
      return VM_SUPERVISE_BOOT;
    }
  if (code < 0 && killed_before_start)
    return 128 + SIGKILL;
  if (code < 0)
    {
      char st[64];
      if (WIFEXITED (vmm_status))
        snprintf (st, sizeof (st), "exit status %d", WEXITSTATUS (vmm_status));
      else
        snprintf (st, sizeof (st), "signal %d", WTERMSIG (vmm_status));
      report ("the VM stopped without reporting the workload's exit status (hypervisor: %s)", st,
              &tail);
      /* A VMM killed (e.g. by the cgroup's OOM killer) reads like a killed container. */
      return WIFSIGNALED (vmm_status) ? 128 + WTERMSIG (vmm_status) : 1;
    }
  return code;
}
