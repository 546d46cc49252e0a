/* capsa-agent: PID 1 of a capsa guest: mounts the container rootfs shared over virtio-9p, applies
 * the process settings received on the control port, runs the workload with its stdio on the
 * stdio ports, relays signals to it and reports its exit status before powering the VM off. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <linux/filter.h>
#include <linux/random.h>
#include <linux/seccomp.h>

#include "proto.h"
#include "net.h"

#define NEWROOT "/newroot"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ITEMS 4096

struct spec
{
  char *args[MAX_ITEMS + 1];
  size_t nargs;
  char *env[MAX_ITEMS + 1];
  size_t nenv;
  char *cwd, *hostname;
  uid_t uid;
  gid_t gid;
  gid_t xgids[256];
  size_t nxgids;
  mode_t umask;
  bool terminal;
  unsigned short rows, cols;
  struct
  {
    int res;
    struct rlimit lim;
  } rlimits[32];
  size_t nrlimits;
  bool have_caps, nnp;
  uint64_t caps[5]; /* bounding, effective, permitted, inheritable, ambient */
  char *seccomp;    /* REC_SECCOMP's payload: flags + BPF program */
  size_t seccomp_len;
  bool pidns; /* REC_PIDNS: the workload is PID 1 of a new pid namespace */
  struct
  {
    char *dest;
    unsigned long flags;
    char *data;
  } procs[8]; /* the config's proc mounts, mounted again by the workload for its namespace */
  size_t nprocs;
  /* An exec request for a pod member (pod.c): REC_CONTAINER (its id; its mounts wait in
   * `mounts` for its own mount namespace) or REC_JOIN (the member it runs in). */
  char *ctr_id, *join_id, *stats_id;
  struct
  {
    char *rec;
    size_t len;
  } mounts[64];
  size_t nmounts;
  char *cgroup[16]; /* REC_CGROUP "FILE VALUE" */
  size_t ncgroup;
};

static int ctl_fd = -1;
/* The pod share (REC_POD) and the guest's first /proc, both hidden once the agent entered the
 * sandbox's rootfs: kept as descriptors. */
static int pod_fd = -1, proc_fd = -1;
/* A pod's cgroup v2 hierarchy (members' limits), mounted with the pod share; -1 without. */
static int cgroup_fd = -1;
/* Where do_mount's destinations are: the sandbox's rootfs before the agent enters it, "" in a
 * pod member's own mount namespace. */
static const char *mount_root = NEWROOT;

/* Messages go to the kernel log, which the host keeps for its error reports. */
static void logmsg (const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  int fd, n;
  va_start (ap, fmt);
  memcpy (buf, "<3>", 3);
  n = vsnprintf (buf + 3, sizeof (buf) - 4, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  n += 3;
  if (n > (int)sizeof (buf) - 2)
    n = sizeof (buf) - 2;
  buf[n++] = '\n';
  fd = open ("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      ssize_t r = write (fd, buf, n);
      (void)r;
      close (fd);
    }
}

static void __attribute__ ((noreturn)) power_off (void)
{
  sync ();
  /* isa-debug-exit (QEMU exits at once); a triple-fault reboot with -no-reboot otherwise. */
  if (ioperm (0xf4, 1, 1) == 0)
    outb (0, 0xf4);
  reboot (RB_AUTOBOOT);
  for (;;)
    pause ();
}

static int write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
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
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

static void send_rec_len (char tag, const void *data, size_t len)
{
  unsigned char hdr[5]
    = { (unsigned char)tag, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >> 24) & 0xff };
  if (ctl_fd < 0 || write_all (ctl_fd, hdr, 5) < 0 || write_all (ctl_fd, data, len) < 0)
    logmsg ("capsa-agent: write to the control port failed: %m");
}

static void send_rec (char tag, const char *data)
{
  send_rec_len (tag, data, strlen (data));
}

/* Reads one record; the returned payload is NUL-terminated and malloc'd. */
static int recv_rec (int fd, char *tag, char **data, size_t *len)
{
  unsigned char hdr[5];
  if (read_all (fd, hdr, 5) < 0)
    return -1;
  *tag = (char)hdr[0];
  *len = hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | ((size_t)hdr[4] << 24);
  if (*len > (1u << 24))
    return -1;
  *data = malloc (*len + 1);
  if (*data == NULL || read_all (fd, *data, *len) < 0)
    return -1;
  (*data)[*len] = '\0';
  return 0;
}

static void __attribute__ ((noreturn)) fatal (const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof (buf), fmt, ap);
  va_end (ap);
  logmsg ("capsa-agent: %s", buf);
  send_rec (REC_ERROR, buf);
  send_rec (REC_EXIT, "1");
  power_off ();
}

/* The /dev path of the virtio port called `name` (the host names its ports). */
static int find_port (const char *name, char *out, size_t outlen)
{
  int tries;
  for (tries = 0; tries < 2000; tries++)
    {
      DIR *d = opendir ("/sys/class/virtio-ports");
      struct dirent *de;
      while (d && (de = readdir (d)) != NULL)
        {
          char p[300], buf[128];
          int fd;
          ssize_t n;
          if (de->d_name[0] == '.')
            continue;
          snprintf (p, sizeof (p), "/sys/class/virtio-ports/%s/name", de->d_name);
          fd = open (p, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            continue;
          n = read (fd, buf, sizeof (buf) - 1);
          close (fd);
          if (n <= 0)
            continue;
          buf[n] = '\0';
          buf[strcspn (buf, "\n")] = '\0';
          if (strcmp (buf, name) == 0)
            {
              snprintf (out, outlen, "/dev/%s", de->d_name);
              closedir (d);
              return 0;
            }
        }
      if (d)
        closedir (d);
      usleep (1000);
    }
  return -1;
}

static int open_port (const char *name, int flags)
{
  char path[300];
  if (find_port (name, path, sizeof (path)) < 0)
    return -1;
  return open (path, flags | O_CLOEXEC);
}

static unsigned long parse_ul (const char *s, int base)
{
  return strtoul (s, NULL, base);
}

/* Creates the directories of `path` (absolute, under NEWROOT). */
static void mkdir_p (const char *path)
{
  char buf[PATH_MAX];
  char *p;
  snprintf (buf, sizeof (buf), "%s", path);
  for (p = buf + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        mkdir (buf, 0755);
        *p = '/';
      }
  mkdir (buf, 0755);
}

static const struct
{
  const char *name;
  unsigned long flag;
  bool clear;
} mount_flags[] = {
  { "ro", MS_RDONLY, false },         { "rw", MS_RDONLY, true },
  { "nosuid", MS_NOSUID, false },     { "suid", MS_NOSUID, true },
  { "nodev", MS_NODEV, false },       { "dev", MS_NODEV, true },
  { "noexec", MS_NOEXEC, false },     { "exec", MS_NOEXEC, true },
  { "relatime", MS_RELATIME, false }, { "strictatime", MS_STRICTATIME, false },
  { "noatime", MS_NOATIME, false },   { "sync", MS_SYNCHRONOUS, false },
};

/* One config.json mount, inside the guest: kernel filesystems only (a bind of a host path has no
 * meaning in the guest and is skipped, as is a mount whose type this kernel lacks). */
static void do_mount (struct spec *s, char *rec, size_t len)
{
  char *type = rec, *source, *dest, *opts, *tok, *save = NULL;
  char target[PATH_MAX], data[1024] = "";
  unsigned long flags = 0;
  size_t i;

  source = type + strlen (type) + 1;
  dest = source + strlen (source) + 1;
  opts = dest + strlen (dest) + 1;
  if (opts > rec + len)
    return;
  if (strcmp (type, "proc") != 0 && strcmp (type, "sysfs") != 0 && strcmp (type, "tmpfs") != 0
      && strcmp (type, "devpts") != 0 && strcmp (type, "mqueue") != 0
      && strcmp (type, "cgroup2") != 0 && strcmp (type, "cgroup") != 0)
    {
      logmsg ("capsa-agent: mount %s (type %s): skipped in the guest", dest, type);
      return;
    }
  for (tok = strtok_r (opts, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      bool known = false;
      for (i = 0; i < sizeof (mount_flags) / sizeof (mount_flags[0]); i++)
        if (strcmp (tok, mount_flags[i].name) == 0)
          {
            if (mount_flags[i].clear)
              flags &= ~mount_flags[i].flag;
            else
              flags |= mount_flags[i].flag;
            known = true;
          }
      if (!known && strchr (tok, '=') != NULL)
        {
          if (data[0])
            strncat (data, ",", sizeof (data) - strlen (data) - 1);
          strncat (data, tok, sizeof (data) - strlen (data) - 1);
        }
    }
  snprintf (target, sizeof (target), "%s%s", mount_root, dest);
  mkdir_p (target);
  /* The guest's own device nodes: /dev is the guest kernel's devtmpfs. */
  if (strcmp (dest, "/dev") == 0 && strcmp (type, "tmpfs") == 0)
    {
      if (mount ("devtmpfs", target, "devtmpfs", flags & ~MS_NODEV, NULL) < 0)
        logmsg ("capsa-agent: mount devtmpfs on %s: %m", dest);
      return;
    }
  if (strcmp (type, "cgroup") == 0)
    type = "cgroup2";
  if (strcmp (type, "cgroup2") == 0)
    data[0] = '\0';
  if (mount (source, target, type, flags, data[0] ? data : NULL) < 0)
    logmsg ("capsa-agent: mount %s on %s: %m", type, dest);
  else if (strcmp (type, "proc") == 0 && s->nprocs < sizeof (s->procs) / sizeof (s->procs[0]))
    {
      s->procs[s->nprocs].dest = strdup (dest);
      s->procs[s->nprocs].flags = flags;
      s->procs[s->nprocs].data = data[0] ? strdup (data) : NULL;
      if (s->procs[s->nprocs].dest)
        s->nprocs++;
    }
}

/* The workload as PID 1 of the guest pid namespace: the config's proc mounts, made by the agent
 * outside that namespace, are replaced with ones showing it (a proc mount shows the pid namespace
 * of the process that mounts it), so that ps, /proc/self and /proc/1 are the container's. */
static int remount_proc (const struct spec *s, char *msg, size_t msglen)
{
  size_t i;
  for (i = 0; i < s->nprocs; i++)
    {
      umount2 (s->procs[i].dest, MNT_DETACH);
      if (mount ("proc", s->procs[i].dest, "proc", s->procs[i].flags, s->procs[i].data) < 0)
        {
          snprintf (msg, msglen, "mount proc on %s in the guest pid namespace: %s",
                    s->procs[i].dest, strerror (errno));
          return -1;
        }
    }
  return 0;
}

static bool is_exec (const struct stat *st)
{
  return S_ISREG (st->st_mode) && (st->st_mode & 0111) != 0;
}

/* The workload's executable, looked up as the host side does (same error texts). */
static char *lookup (const char *file, const char *path, int *code, char *msg, size_t msglen)
{
  struct stat st;
  if (strchr (file, '/'))
    {
      if (stat (file, &st) < 0)
        {
          int e = errno;
          char eb[128];
          snprintf (eb, sizeof (eb), "%s", strerror (e));
          eb[0] = (char)(eb[0] >= 'A' && eb[0] <= 'Z' ? eb[0] - 'A' + 'a' : eb[0]);
          snprintf (msg, msglen, "exec: \"%s\": stat %s: %s", file, file, eb);
          *code = 127;
          return NULL;
        }
      if (!is_exec (&st))
        {
          snprintf (msg, msglen, "exec: \"%s\": permission denied", file);
          *code = 126;
          return NULL;
        }
      return strdup (file);
    }
  for (const char *p = path; file[0];)
    {
      size_t n = strcspn (p, ":");
      char *cand;
      if (asprintf (&cand, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", file) < 0)
        break;
      if (stat (cand, &st) == 0 && is_exec (&st))
        return cand;
      free (cand);
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
  snprintf (msg, msglen, "exec: \"%s\": executable file not found in $PATH", file);
  *code = 127;
  return NULL;
}

static int load_seccomp (const struct spec *s)
{
  struct sock_fprog prog;
  unsigned flags;
  if (s->seccomp == NULL || s->seccomp_len < 4)
    return 0;
  flags = (unsigned char)s->seccomp[0] | (unsigned char)s->seccomp[1] << 8
          | (unsigned char)s->seccomp[2] << 16 | (unsigned)(unsigned char)s->seccomp[3] << 24;
  prog.len = (unsigned short)((s->seccomp_len - 4) / sizeof (struct sock_filter));
  prog.filter = (struct sock_filter *)(s->seccomp + 4);
  return (int)syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Everything but `keep` leaves the bounding set (needs CAP_SETPCAP: before the uid changes). */
static int drop_bounding (uint64_t keep)
{
  cap_value_t v, max = cap_max_bits ();
  for (v = 0; v < max; v++)
    if (!(v < 64 && (keep & (1ULL << v))) && cap_drop_bound (v) < 0 && cap_get_bound (v) > 0)
      return -1;
  return 0;
}

/* The effective, permitted and inheritable sets, then the ambient one. */
static int apply_caps (const uint64_t *m)
{
  static const cap_flag_t flags[3] = { CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE };
  cap_value_t v, max = cap_max_bits ();
  cap_t c = cap_init ();
  int i, r;
  if (c == NULL)
    return -1;
  for (i = 0; i < 3; i++)
    for (v = 0; v < max && v < 64; v++)
      if (m[1 + i] & (1ULL << v))
        cap_set_flag (c, flags[i], 1, &v, CAP_SET);
  r = cap_set_proc (c);
  cap_free (c);
  if (r < 0)
    return -1;
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (v = 0; v < max && v < 64; v++)
    if ((m[4] & (1ULL << v)) && cap_set_ambient (v, CAP_SET) < 0)
      logmsg ("capsa-agent: cannot raise ambient capability %d: %m", (int)v);
  return 0;
}

/* The workload's child side: never returns. */
static void __attribute__ ((noreturn))
child (struct spec *s, int in, int out, int errfd, int report)
{
  const char *path = DEFAULT_PATH;
  char msg[600], *exe;
  int code = 127;
  size_t i;
  sigset_t all;

  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  setsid ();
  if (dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || dup2 (errfd, 2) < 0)
    _exit (127);
  if (s->terminal)
    ioctl (0, TIOCSCTTY, 0);
  if (s->pidns && remount_proc (s, msg, sizeof (msg)) < 0)
    goto fail;
  for (i = 0; i < s->nrlimits; i++)
    if (setrlimit (s->rlimits[i].res, &s->rlimits[i].lim) < 0)
      {
        snprintf (msg, sizeof (msg), "setrlimit %d: %s", s->rlimits[i].res, strerror (errno));
        goto fail;
      }
  /* As in container mode: without noNewPrivileges the filter goes first (loading it needs
   * CAP_SYS_ADMIN), and then also covers the steps below. */
  if (!s->nnp && load_seccomp (s) < 0)
    {
      snprintf (msg, sizeof (msg), "load the seccomp filter: %s", strerror (errno));
      goto fail;
    }
  if (s->have_caps && drop_bounding (s->caps[0]) < 0)
    {
      snprintf (msg, sizeof (msg), "drop capabilities from the bounding set: %s", strerror (errno));
      goto fail;
    }
  if (chdir (s->cwd ? s->cwd : "/") < 0)
    {
      snprintf (msg, sizeof (msg), "chdir to cwd (\"%s\") set in config.json failed: %s", s->cwd,
                strerror (errno));
      goto fail;
    }
  prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (setgroups (s->nxgids, s->xgids) < 0 || setresgid (s->gid, s->gid, s->gid) < 0
      || setresuid (s->uid, s->uid, s->uid) < 0)
    {
      snprintf (msg, sizeof (msg), "set user %u:%u: %s", s->uid, s->gid, strerror (errno));
      goto fail;
    }
  prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (s->have_caps && apply_caps (s->caps) < 0)
    {
      snprintf (msg, sizeof (msg), "set capabilities: %s", strerror (errno));
      goto fail;
    }
  umask (s->umask);
  if (s->nnp && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      snprintf (msg, sizeof (msg), "prctl PR_SET_NO_NEW_PRIVS: %s", strerror (errno));
      goto fail;
    }
  for (i = 0; i < s->nenv; i++)
    if (strncmp (s->env[i], "PATH=", 5) == 0)
      path = s->env[i] + 5;
  exe = lookup (s->args[0], path, &code, msg, sizeof (msg));
  if (exe == NULL)
    goto fail;
  /* With noNewPrivileges the filter comes last (it constrains as little of the agent as
   * possible). */
  if (s->nnp && load_seccomp (s) < 0)
    {
      snprintf (msg, sizeof (msg), "load the seccomp filter: %s", strerror (errno));
      goto fail;
    }
  execve (exe, s->args, s->env);
  code = (errno == ENOENT) ? 127 : 126;
  snprintf (msg, sizeof (msg), "exec: \"%s\": %s", s->args[0], strerror (errno));
fail:
  {
    char buf[620];
    int n = snprintf (buf, sizeof (buf), "%d %s", code, msg);
    write_all (report, buf, (size_t)n);
  }
  _exit (code);
}

/* The container rootfs, mounted once the host sent the first setting that needs it: a VM
 * restored from a snapshot (see sandbox/snapshot.c) was saved before this, and virtio-9p
 * cannot be saved once the guest has attached to it. */
static void mount_rootfs (void)
{
  static bool done;
  if (done)
    return;
  done = true;
  mkdir (NEWROOT, 0755);
  /* cache=mmap: reads and writes still go straight to the host, as with cache=none, but page
     faults (executables, libraries) read ahead by msize instead of one 4 KiB request each, and
     shared writable mappings work. */
  if (mount ("capsa-rootfs", NEWROOT, "9p", 0,
             "trans=virtio,version=9p2000.L,msize=262144,cache=mmap")
      < 0)
    fatal ("mount the container rootfs (virtio-9p): %s", strerror (errno));
}

/* REC_POD: the pod share, mounted once, before the agent enters the sandbox's rootfs (after the
 * boot snapshot's point, as the rootfs). */
static void mount_pod (void)
{
  if (pod_fd >= 0)
    return;
  mkdir ("/capsa-pod", 0755);
  if (mount ("capsa-pod", "/capsa-pod", "9p", 0,
             "trans=virtio,version=9p2000.L,msize=262144,cache=mmap")
      < 0)
    fatal ("mount the pod share (virtio-9p): %s", strerror (errno));
  pod_fd = open ("/capsa-pod", O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* The members' cgroups, with the memory and pids controllers for their limits. */
  mkdir ("/capsa-cgroup", 0755);
  if (mount ("cgroup2", "/capsa-cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
    {
      int fd = open ("/capsa-cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, "+memory +pids", 13) != 13)
        logmsg ("capsa-agent: enable the memory and pids controllers: %m");
      if (fd >= 0)
        close (fd);
      cgroup_fd = open ("/capsa-cgroup", O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  else
    logmsg ("capsa-agent: mount cgroup2 for the pod: %m");
}

/* REC_SEED: the host's random bytes go into the kernel's pool and the kernel reseeds at once,
 * so that guests restored from one snapshot do not share their random numbers from here on. */
static void reseed (const char *d, size_t len)
{
  struct
  {
    struct rand_pool_info info;
    char buf[256];
  } r;
  int fd = open ("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (len > sizeof (r.buf))
    len = sizeof (r.buf);
  r.info.entropy_count = (int)len * 8;
  r.info.buf_size = (int)len;
  memcpy (r.buf, d, len);
  if (fd < 0 || ioctl (fd, RNDADDENTROPY, &r.info) < 0 || ioctl (fd, RNDRESEEDCRNG) < 0)
    fatal ("reseed the guest's random number generator: %s", strerror (errno));
  close (fd);
}

/* REC_TIME: the host's CLOCK_REALTIME ("SECONDS NANOSECONDS"); a restored guest's clock would
 * otherwise run on from when its snapshot was taken. */
static void set_time (const char *d)
{
  struct timespec ts = { 0 };
  long long sec = 0;
  long nsec = 0;
  if (sscanf (d, "%lld %ld", &sec, &nsec) == 2)
    {
      ts.tv_sec = (time_t)sec;
      ts.tv_nsec = nsec;
      if (clock_settime (CLOCK_REALTIME, &ts) < 0)
        logmsg ("capsa-agent: set the clock: %m");
    }
}

static void receive_spec (struct spec *s)
{
  for (;;)
    {
      char tag, *d;
      size_t len;
      if (recv_rec (ctl_fd, &tag, &d, &len) < 0)
        fatal ("read the container settings from the control port: %s", strerror (errno));
      switch (tag)
        {
        case REC_END:
          free (d);
          mount_rootfs ();
          return;
        case REC_SEED:
          reseed (d, len);
          free (d);
          break;
        case REC_TIME:
          set_time (d);
          free (d);
          break;
        case REC_ARG:
          if (s->nargs < MAX_ITEMS)
            s->args[s->nargs++] = d;
          break;
        case REC_ENV:
          if (s->nenv < MAX_ITEMS)
            s->env[s->nenv++] = d;
          break;
        case REC_CWD:
          s->cwd = d;
          break;
        case REC_HOSTNAME:
          s->hostname = d;
          break;
        case REC_UID:
          s->uid = (uid_t)parse_ul (d, 10);
          break;
        case REC_GID:
          s->gid = (gid_t)parse_ul (d, 10);
          break;
        case REC_XGID:
          if (s->nxgids < 256)
            s->xgids[s->nxgids++] = (gid_t)parse_ul (d, 10);
          break;
        case REC_UMASK:
          s->umask = (mode_t)parse_ul (d, 8);
          break;
        case REC_RLIMIT:
          if (s->nrlimits < 32)
            {
              unsigned long long soft, hard;
              int res;
              if (sscanf (d, "%d %llu %llu", &res, &soft, &hard) == 3)
                {
                  s->rlimits[s->nrlimits].res = res;
                  s->rlimits[s->nrlimits].lim.rlim_cur = soft;
                  s->rlimits[s->nrlimits].lim.rlim_max = hard;
                  s->nrlimits++;
                }
            }
          break;
        case REC_TERMINAL:
          {
            unsigned r = 0, c = 0;
            s->terminal = true;
            if (sscanf (d, "%u %u", &r, &c) == 2)
              {
                s->rows = (unsigned short)r;
                s->cols = (unsigned short)c;
              }
            free (d);
          }
          break;
        case REC_MOUNT:
          if (s->ctr_id)
            {
              if (s->nmounts < sizeof (s->mounts) / sizeof (s->mounts[0]))
                {
                  s->mounts[s->nmounts].rec = d;
                  s->mounts[s->nmounts++].len = len;
                }
              else
                free (d);
              break;
            }
          mount_rootfs ();
          do_mount (s, d, len);
          free (d);
          break;
        case REC_POD:
          mount_pod ();
          free (d);
          break;
        case REC_CONTAINER:
          s->ctr_id = d;
          break;
        case REC_JOIN:
          s->join_id = d;
          break;
        case REC_STATS:
          s->stats_id = d;
          break;
        case REC_CGROUP:
          if (s->ncgroup < sizeof (s->cgroup) / sizeof (s->cgroup[0]))
            s->cgroup[s->ncgroup++] = d;
          else
            free (d);
          break;
        case REC_CAPS:
          {
            unsigned long long m[5];
            int k;
            if (sscanf (d, "%llx %llx %llx %llx %llx", &m[0], &m[1], &m[2], &m[3], &m[4]) == 5)
              {
                for (k = 0; k < 5; k++)
                  s->caps[k] = m[k];
                s->have_caps = true;
              }
            free (d);
          }
          break;
        case REC_NNP:
          s->nnp = true;
          free (d);
          break;
        case REC_PIDNS:
          s->pidns = true;
          free (d);
          break;
        case REC_NET_LINK:
        case REC_NET_ADDR:
        case REC_NET_ROUTE:
          agent_net_record (tag, d);
          break;
        case REC_SECCOMP:
          free (s->seccomp);
          s->seccomp = d;
          s->seccomp_len = len;
          break;
        default:
          free (d);
          break;
        }
    }
}

/* ---- capsa exec: processes whose stdio is relayed as records on the control port ---- */

#define MAX_EXECS 16

static struct exec_proc
{
  bool used, exited;
  uint32_t id;
  pid_t pid;
  int in, out, err; /* our ends of the pipes (or of the pty), -1 when closed */
  int master;       /* the pty master (a terminal), else -1; `out` reads it */
  int code;
  char ctr[72]; /* a pod member's id (REC_CONTAINER), else "" */
} execs[MAX_EXECS];

/* A running pod member by id. */
static struct exec_proc *ctr_by_id (const char *id)
{
  size_t i;
  for (i = 0; i < MAX_EXECS; i++)
    if (execs[i].used && !execs[i].exited && execs[i].ctr[0] && strcmp (execs[i].ctr, id) == 0)
      return &execs[i];
  return NULL;
}

/* In the child of a pod member (REC_CONTAINER), in its new mount namespace: its rootfs (`tree`,
 * the pod share's directory cloned by the agent) becomes its root, then its mounts are made. */
static int enter_container (struct spec *s, int tree, char *msg, size_t msglen)
{
  size_t i;
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || fchdir (tree) < 0
      || syscall (SYS_move_mount, tree, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0
      || chroot (".") < 0 || chdir ("/") < 0)
    {
      snprintf (msg, msglen, "enter the container rootfs: %s", strerror (errno));
      return -1;
    }
  close (tree);
  mount_root = "";
  for (i = 0; i < s->nmounts; i++)
    do_mount (s, s->mounts[i].rec, s->mounts[i].len);
  /* Made in its own pid namespace already: nothing to mount again. */
  s->nprocs = 0;
  s->pidns = false;
  return 0;
}

/* In the child of an exec into a pod member (REC_JOIN): its mount namespace and root. */
static int join_container (int mntns, int root, char *msg, size_t msglen)
{
  if (setns (mntns, CLONE_NEWNS) < 0 || fchdir (root) < 0 || chroot (".") < 0)
    {
      snprintf (msg, msglen, "enter the container's namespaces: %s", strerror (errno));
      return -1;
    }
  close (mntns);
  close (root);
  return 0;
}

/* An exec's child failed before child(): report as child() does. */
static void __attribute__ ((noreturn)) child_fail (int report, const char *msg)
{
  char buf[620];
  int n = snprintf (buf, sizeof (buf), "127 %s", msg);
  write_all (report, buf, (size_t)n);
  _exit (127);
}

static struct exec_proc *exec_by_id (uint32_t id)
{
  size_t i;
  for (i = 0; i < MAX_EXECS; i++)
    if (execs[i].used && execs[i].id == id)
      return &execs[i];
  return NULL;
}

/* A pty of the container's devpts for a process with a terminal: *master and *slave. */
static int open_pty (unsigned short rows, unsigned short cols, int *master, int *slave)
{
  struct winsize ws = { .ws_row = rows, .ws_col = cols };
  *slave = -1;
  *master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0 || grantpt (*master) < 0 || unlockpt (*master) < 0)
    goto fail;
  *slave = ioctl (*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0)
    goto fail;
  if (rows && cols)
    ioctl (*master, TIOCSWINSZ, &ws);
  return 0;
fail:
  if (*master >= 0)
    close (*master);
  *master = -1;
  return -1;
}

static void exec_data (char tag, struct exec_proc *e, const char *buf, size_t n)
{
  char rec[4 + 16384];
  rec[0] = (char)(e->id & 0xff);
  rec[1] = (char)((e->id >> 8) & 0xff);
  rec[2] = (char)((e->id >> 16) & 0xff);
  rec[3] = (char)((e->id >> 24) & 0xff);
  memcpy (rec + 4, buf, n);
  send_rec_len (tag, rec, n + 4);
}

static void exec_maybe_done (struct exec_proc *e)
{
  char buf[64];
  if (!e->used || !e->exited || e->out >= 0 || e->err >= 0)
    return;
  snprintf (buf, sizeof (buf), "%u %d", e->id, e->code);
  send_rec (REC_EXEC_EXIT, buf);
  /* A member's cgroup goes with it (still busy with processes exec'd into it: left). */
  if (e->ctr[0] && cgroup_fd >= 0)
    unlinkat (cgroup_fd, e->ctr, AT_REMOVEDIR);
  if (e->in >= 0)
    close (e->in);
  if (e->master >= 0)
    close (e->master);
  e->used = false;
}

/* A pod member's cgroup in the guest: made (with its REC_CGROUP limits) for REC_CONTAINER,
 * found for REC_JOIN; returns its cgroup.procs opened for writing, or -1 without cgroups. */
static int member_cgroup (const struct spec *s, const char *id, bool make, char *msg, size_t msglen)
{
  char p[160];
  size_t i;
  int fd;
  if (cgroup_fd < 0)
    return -1;
  if (make && mkdirat (cgroup_fd, id, 0755) < 0 && errno != EEXIST)
    {
      snprintf (msg, msglen, "create the container's cgroup: %s", strerror (errno));
      return -2;
    }
  for (i = 0; make && i < s->ncgroup; i++)
    {
      const char *v = strchr (s->cgroup[i], ' ');
      if (v == NULL || strchr (s->cgroup[i], '/'))
        continue;
      snprintf (p, sizeof (p), "%s/%.*s", id, (int)(v - s->cgroup[i]), s->cgroup[i]);
      fd = openat (cgroup_fd, p, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, v + 1, strlen (v + 1)) < 0)
        {
          snprintf (msg, msglen, "set %.*s of the container's cgroup to %s: %s",
                    (int)(v - s->cgroup[i]), s->cgroup[i], v + 1, strerror (errno));
          if (fd >= 0)
            close (fd);
          return -2;
        }
      close (fd);
    }
  snprintf (p, sizeof (p), "%s/cgroup.procs", id);
  fd = openat (cgroup_fd, p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    {
      snprintf (msg, msglen, "the container's cgroup: %s", strerror (errno));
      return -2;
    }
  return fd;
}

/* REC_CGROUP "ID FILE VALUE" (`capsa update` of member ID): one limit of its cgroup (only the
 * files the host sends: memory.max, memory.low, pids.max). */
static void cgroup_update (const char *d)
{
  char id[72], file[32], val[32], p[120];
  int fd;
  if (cgroup_fd < 0 || sscanf (d, "%71s %31s %31s", id, file, val) != 3 || strchr (id, '/')
      || id[0] == '.'
      || (strcmp (file, "memory.max") && strcmp (file, "memory.low") && strcmp (file, "pids.max")))
    {
      logmsg ("capsa-agent: bad limit update \"%s\"", d);
      return;
    }
  snprintf (p, sizeof (p), "%s/%s", id, file);
  fd = openat (cgroup_fd, p, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, val, strlen (val)) < 0)
    logmsg ("capsa-agent: update %s of container %s: %m", file, id);
  if (fd >= 0)
    close (fd);
}

/* In a member's (or its exec's) child: join its cgroup ("0": the writer). */
static int join_cgroup (int procs, char *msg, size_t msglen)
{
  if (procs < 0)
    return 0;
  if (write (procs, "0", 1) != 1)
    {
      snprintf (msg, msglen, "join the container's cgroup: %s", strerror (errno));
      return -1;
    }
  close (procs);
  return 0;
}

/* fork() for an exec; for a pod member, the agent's side of entering its namespaces (a new
 * mount namespace, and pid namespace with REC_PIDNS; or the joined member's), the child's
 * side in the child before it returns 0. */
static pid_t member_fork (struct spec *s, struct exec_proc *e, int report)
{
  char p[64], msg[600] = "";
  int tree = -1, mntns = -1, pidns = -1, root = -1, own_pidns = -1, procs = -1;
  pid_t pid;

  if (s->ctr_id == NULL && s->join_id == NULL)
    return fork ();
  if (s->ctr_id)
    {
      snprintf (e->ctr, sizeof (e->ctr), "%s", s->ctr_id);
      /* Cloned here, in the agent's mount namespace, where the pod share is mounted. */
      if (pod_fd < 0)
        snprintf (msg, sizeof (msg), "this VM is not a pod sandbox");
      else if (strchr (s->ctr_id, '/') || s->ctr_id[0] == '.'
               || (tree = (int)syscall (SYS_open_tree, pod_fd, s->ctr_id,
                                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC))
                    < 0)
        snprintf (msg, sizeof (msg), "the container's rootfs in the pod share: %s",
                  strerror (errno));
      if (msg[0])
        goto fail;
      if ((procs = member_cgroup (s, s->ctr_id, true, msg, sizeof (msg))) == -2)
        goto fail;
      /* A new pid namespace can only be made from the active one: the agent's children may be
         in the sandbox's (unshared for its workload), so the agent steps back for this clone. */
      if (s->pidns)
        {
          own_pidns = openat (proc_fd, "self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
          pidns = openat (proc_fd, "self/ns/pid", O_RDONLY | O_CLOEXEC);
          if (own_pidns < 0 || pidns < 0 || setns (pidns, CLONE_NEWPID) < 0)
            {
              snprintf (msg, sizeof (msg), "the guest's pid namespace: %s", strerror (errno));
              goto fail;
            }
        }
      pid = (pid_t)syscall (SYS_clone, CLONE_NEWNS | (s->pidns ? CLONE_NEWPID : 0) | SIGCHLD, 0, 0,
                            0, 0);
      if (pid == 0
          && (join_cgroup (procs, msg, sizeof (msg)) < 0
              || enter_container (s, tree, msg, sizeof (msg)) < 0))
        child_fail (report, msg);
      if (procs >= 0)
        close (procs);
      if (own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) < 0)
        logmsg ("capsa-agent: restore the pid namespace for children: %m");
      if (own_pidns >= 0)
        close (own_pidns);
      if (pidns >= 0)
        close (pidns);
      close (tree);
      return pid;
    }
  {
    struct exec_proc *t = ctr_by_id (s->join_id);
    if (t == NULL || proc_fd < 0)
      {
        snprintf (msg, sizeof (msg), "no container \"%s\" runs in this VM", s->join_id);
        goto fail;
      }
    snprintf (p, sizeof (p), "%d/ns/mnt", (int)t->pid);
    mntns = openat (proc_fd, p, O_RDONLY | O_CLOEXEC);
    snprintf (p, sizeof (p), "%d/ns/pid", (int)t->pid);
    pidns = openat (proc_fd, p, O_RDONLY | O_CLOEXEC);
    snprintf (p, sizeof (p), "%d/root", (int)t->pid);
    root = openat (proc_fd, p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    own_pidns = openat (proc_fd, "self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    if ((procs = member_cgroup (s, t->ctr, false, msg, sizeof (msg))) == -2)
      goto fail;
    if (mntns < 0 || pidns < 0 || root < 0 || own_pidns < 0 || setns (pidns, CLONE_NEWPID) < 0)
      {
        snprintf (msg, sizeof (msg), "the namespaces of container \"%s\": %s", s->join_id,
                  strerror (errno));
        goto fail;
      }
    /* A pid namespace applies to children: ours is restored right after. */
    pid = fork ();
    if (pid == 0
        && (join_cgroup (procs, msg, sizeof (msg)) < 0
            || join_container (mntns, root, msg, sizeof (msg)) < 0))
      child_fail (report, msg);
    if (procs >= 0)
      close (procs);
    if (setns (own_pidns, CLONE_NEWPID) < 0)
      logmsg ("capsa-agent: restore the pid namespace for children: %m");
    close (mntns);
    close (pidns);
    close (root);
    close (own_pidns);
    return pid;
  }
fail:
  {
    int fds[] = { tree, mntns, pidns, root, own_pidns, procs };
    size_t i;
    for (i = 0; i < sizeof (fds) / sizeof (fds[0]); i++)
      if (fds[i] >= 0)
        close (fds[i]);
  }
  /* A child that reports the error, as one that could not execute its program does. */
  pid = fork ();
  if (pid == 0)
    child_fail (report, msg);
  return pid;
}

/* REC_STATS: pod member `id`'s cgroup files, as the output of exec `idtext` (see proto.h). */
static void guest_stats (const char *idtext, const char *id)
{
  static const char *const files[] = { "cpu.stat",        "memory.current", "memory.max",
                                       "memory.peak",     "memory.stat",    "memory.swap.current",
                                       "memory.swap.max", "pids.current",   "pids.max" };
  struct exec_proc tmp = { .id = (uint32_t)strtoul (idtext, NULL, 10) };
  char out[12000], p[120], buf[64];
  size_t n = 0, i;
  int code = 1;
  bool ok = cgroup_fd >= 0 && id[0] != '.' && strchr (id, '/') == NULL && strlen (id) < 72;

  send_rec (REC_EXEC_STARTED, idtext);
  for (i = 0; ok && i < sizeof (files) / sizeof (files[0]); i++)
    {
      ssize_t r;
      int fd;
      snprintf (p, sizeof (p), "%s/%s", id, files[i]);
      fd = openat (cgroup_fd, p, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      if (sizeof (out) - n > 64)
        {
          n += (size_t)snprintf (out + n, sizeof (out) - n, "@@ %s\n", files[i]);
          r = read (fd, out + n, sizeof (out) - n);
          if (r > 0)
            n += (size_t)r;
          code = 0;
        }
      close (fd);
    }
  if (code)
    n = (size_t)snprintf (out, sizeof (out), "capsa: no cgroup of container %s in the guest\n", id);
  exec_data (code ? REC_EXEC_ERR : REC_EXEC_OUT, &tmp, out, n);
  snprintf (buf, sizeof (buf), "%s %d", idtext, code);
  send_rec (REC_EXEC_EXIT, buf);
}

static void exec_start (const char *idtext)
{
  static struct spec s;
  struct exec_proc *e = NULL;
  int pin[2], pout[2], perr[2], rep[2];
  size_t i;
  char buf[700];
  ssize_t n;

  for (i = 0; i < s.nargs; i++)
    free (s.args[i]);
  for (i = 0; i < s.nenv; i++)
    free (s.env[i]);
  for (i = 0; i < s.nmounts; i++)
    free (s.mounts[i].rec);
  for (i = 0; i < s.ncgroup; i++)
    free (s.cgroup[i]);
  free (s.seccomp);
  free (s.ctr_id);
  free (s.join_id);
  free (s.stats_id);
  memset (&s, 0, sizeof (s));
  s.umask = 022;
  receive_spec (&s);
  if (s.stats_id)
    {
      guest_stats (idtext, s.stats_id);
      return;
    }
  s.args[s.nargs] = NULL;
  s.env[s.nenv] = NULL;
  for (i = 0; i < MAX_EXECS; i++)
    if (!execs[i].used)
      {
        e = &execs[i];
        break;
      }
  if (e == NULL || s.nargs == 0 || pipe2 (rep, O_CLOEXEC) < 0)
    goto fail;
  if (s.terminal)
    {
      /* One pty: the process's stdio is its slave; the master carries input and output. */
      int master, slave;
      if (open_pty (s.rows, s.cols, &master, &slave) < 0)
        {
          logmsg ("capsa-agent: exec: open a pty: %m");
          goto fail_rep;
        }
      pin[0] = pout[1] = perr[1] = slave;
      pin[1] = fcntl (master, F_DUPFD_CLOEXEC, 3);
      pout[0] = master;
      perr[0] = -1;
    }
  else if (pipe2 (pin, O_CLOEXEC) < 0 || pipe2 (pout, O_CLOEXEC) < 0 || pipe2 (perr, O_CLOEXEC) < 0)
    goto fail_rep;
  memset (e, 0, sizeof (*e));
  e->used = true;
  e->id = (uint32_t)strtoul (idtext, NULL, 10);
  e->master = s.terminal ? pout[0] : -1;
  e->pid = member_fork (&s, e, rep[1]);
  if (e->pid == 0)
    child (&s, pin[0], pout[1], perr[1], rep[1]);
  if (e->pid < 0)
    {
      /* e.g. the workload, the pid namespace's init, has just exited (ENOMEM) */
      logmsg ("capsa-agent: exec: fork: %m");
      close (pin[0]);
      close (pin[1]);
      close (pout[0]);
      if (!s.terminal)
        {
          close (pout[1]);
          close (perr[0]);
          close (perr[1]);
        }
      e->used = false;
      goto fail_rep;
    }
  close (pin[0]);
  if (!s.terminal)
    {
      close (pout[1]);
      close (perr[1]);
    }
  close (rep[1]);
  e->in = pin[1];
  e->out = pout[0];
  e->err = perr[0];
  if (e->master >= 0)
    {
      /* Our master stays open (input, size) after EIO: read through a duplicate. */
      e->out = fcntl (e->master, F_DUPFD_CLOEXEC, 3);
      fcntl (e->out, F_SETFL, O_NONBLOCK);
    }
  n = read (rep[0], buf, sizeof (buf) - 1);
  close (rep[0]);
  if (n <= 0)
    {
      snprintf (buf, sizeof (buf), "%u", e->id);
      send_rec (REC_EXEC_STARTED, buf);
    }
  if (n > 0)
    {
      char *msg;
      buf[n] = '\0';
      msg = strchr (buf, ' ');
      if (msg)
        {
          char line[720];
          int len = snprintf (line, sizeof (line), "capsa: %s\n", msg + 1);
          exec_data (e->master >= 0 ? REC_EXEC_OUT : REC_EXEC_ERR, e, line, (size_t)len);
        }
    }
  return;
fail_rep:
  close (rep[0]);
  close (rep[1]);
fail:
  {
    /* Why, on the process's stderr, as for one that could not be executed. */
    int en = errno;
    struct exec_proc tmp = { .id = (uint32_t)strtoul (idtext, NULL, 10) };
    int len = snprintf (buf, sizeof (buf), "capsa: exec: %s\n",
                        e == NULL ? "too many processes" : strerror (en));
    exec_data (REC_EXEC_ERR, &tmp, buf, (size_t)len);
  }
  snprintf (buf, sizeof (buf), "%s 1", idtext);
  send_rec (REC_EXEC_EXIT, buf);
}

/* REC_EXEC_KILL "id signal", REC_EXEC_WINSZ "id rows cols". */
static void exec_control (char tag, const char *d)
{
  unsigned id = 0, a = 0, b = 0;
  int n = sscanf (d, "%u %u %u", &id, &a, &b);
  struct exec_proc *e = exec_by_id (id);
  if (e == NULL || e->exited)
    return;
  if (tag == REC_EXEC_KILL && n >= 2)
    kill (e->pid, (int)a);
  else if (tag == REC_EXEC_WINSZ && n == 3 && e->master >= 0)
    {
      struct winsize ws = { .ws_row = (unsigned short)a, .ws_col = (unsigned short)b };
      ioctl (e->master, TIOCSWINSZ, &ws);
    }
}

static void exec_input (const char *d, size_t len)
{
  uint32_t id;
  size_t i;
  if (len < 4)
    return;
  id = (uint32_t)(unsigned char)d[0] | (uint32_t)(unsigned char)d[1] << 8
       | (uint32_t)(unsigned char)d[2] << 16 | (uint32_t)(unsigned char)d[3] << 24;
  for (i = 0; i < MAX_EXECS; i++)
    if (execs[i].used && execs[i].id == id && execs[i].in >= 0)
      {
        if (len == 4 || write_all (execs[i].in, d + 4, len - 4) < 0)
          {
            close (execs[i].in);
            execs[i].in = -1;
          }
      }
}

/* A packaged kernel's modules (build-initramfs.sh --modules-from): /modules/load names them in
 * load order.  The project's kernel has everything built in and its initramfs has no /modules. */
static void load_modules (void)
{
  char line[256];
  FILE *f = fopen ("/modules/load", "re");
  while (f && fgets (line, sizeof (line), f))
    {
      char path[300];
      int fd;
      line[strcspn (line, "\n")] = '\0';
      if (line[0] == '\0')
        continue;
      snprintf (path, sizeof (path), "/modules/%s.ko", line);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || (syscall (SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
        logmsg ("capsa-agent: load module %s: %m", line);
      if (fd >= 0)
        close (fd);
    }
  if (f)
    fclose (f);
}

int main (void)
{
  static struct spec s = { .umask = 022 };
  int in, out, errfd, sfd, rep[2], master = -1, slave = -1, tty_in = -1, tty_out = -1;
  char buf[700];
  pid_t pid;
  sigset_t mask;
  ssize_t n;

  mount ("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
  mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount ("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  proc_fd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  load_modules ();

  ctl_fd = open_port (CAPSA_PORT_CTL, O_RDWR);
  if (ctl_fd < 0)
    {
      logmsg ("capsa-agent: the control port " CAPSA_PORT_CTL " is missing");
      power_off ();
    }
  in = open_port (CAPSA_PORT_IN, O_RDONLY);
  out = open_port (CAPSA_PORT_OUT, O_WRONLY);
  errfd = open_port (CAPSA_PORT_ERR, O_WRONLY);
  if (in < 0 || out < 0 || errfd < 0)
    fatal ("the stdio ports are missing");

  if (agent_net_lo_up () < 0)
    logmsg ("capsa-agent: bring up lo: %m");

  /* Everything before this point is the same for every container booted with this kernel,
     initramfs and VM shape: the host may save the VM here (a snapshot) and start later ones
     from it. */
  send_rec (REC_READY, "");
  receive_spec (&s);
  if (s.nargs == 0)
    fatal ("config.json: .process.args: must not be empty");
  s.args[s.nargs] = NULL;
  s.env[s.nenv] = NULL;
  if (agent_net_apply (buf, sizeof (buf)) < 0)
    fatal ("VM networking: %s", buf);
  if (s.hostname && sethostname (s.hostname, strlen (s.hostname)) < 0)
    fatal ("sethostname \"%s\": %s", s.hostname, strerror (errno));
  if (chdir (NEWROOT) < 0 || mount (NEWROOT, "/", NULL, MS_MOVE, NULL) < 0 || chroot (".") < 0
      || chdir ("/") < 0)
    fatal ("enter the container rootfs: %s", strerror (errno));

  if (s.terminal)
    {
      /* The container's own /dev/ptmx (its devpts), so that ttyname works in there. */
      struct winsize ws = { .ws_row = s.rows, .ws_col = s.cols };
      master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0)
        fatal ("open the guest pty: %s", strerror (errno));
      slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (slave < 0)
        fatal ("open the guest pty peer: %s", strerror (errno));
      if (ws.ws_row && ws.ws_col)
        ioctl (master, TIOCSWINSZ, &ws);
    }

  /* The agent stays PID 1 of the guest, reaping and reporting; its children from here on (the
     workload first, which becomes that namespace's PID 1, then every exec'd process) are in the
     new namespace, as a container's processes are. */
  if (s.pidns && unshare (CLONE_NEWPID) < 0)
    fatal ("create the guest pid namespace: %s", strerror (errno));
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (pipe2 (rep, O_CLOEXEC) < 0)
    fatal ("pipe: %s", strerror (errno));
  pid = fork ();
  if (pid < 0)
    fatal ("fork: %s", strerror (errno));
  if (pid == 0)
    {
      if (s.terminal)
        child (&s, slave, slave, slave, rep[1]);
      child (&s, in, out, errfd, rep[1]);
    }
  close (rep[1]);
  if (s.terminal)
    {
      /* The agent relays between the stdio ports and the pty master. */
      close (slave);
      close (errfd);
      tty_in = in;
      tty_out = out;
      fcntl (master, F_SETFL, O_NONBLOCK);
    }
  else
    {
      close (in);
      close (out);
      close (errfd);
    }
  n = read (rep[0], buf, sizeof (buf) - 1);
  close (rep[0]);
  if (n > 0)
    {
      /* "CODE message": the workload could not be executed. */
      char *msg;
      buf[n] = '\0';
      msg = strchr (buf, ' ');
      send_rec (REC_ERROR, msg ? msg + 1 : buf);
      buf[strcspn (buf, " ")] = '\0';
      waitpid (pid, NULL, 0);
      send_rec (REC_EXIT, buf);
      power_off ();
    }
  send_rec (REC_STARTED, "");

  for (;;)
    {
      struct pollfd pfd[4 + 2 * MAX_EXECS];
      int map[4 + 2 * MAX_EXECS];
      nfds_t np = 0;
      size_t i;

      pfd[np].fd = sfd;
      pfd[np++].events = POLLIN;
      pfd[np].fd = ctl_fd;
      pfd[np++].events = POLLIN;
      pfd[np].fd = master;
      pfd[np++].events = POLLIN;
      pfd[np].fd = tty_in;
      pfd[np++].events = POLLIN;
      for (i = 0; i < MAX_EXECS; i++)
        {
          if (!execs[i].used)
            continue;
          if (execs[i].out >= 0)
            {
              map[np] = (int)i;
              pfd[np].fd = execs[i].out;
              pfd[np++].events = POLLIN;
            }
          if (execs[i].err >= 0)
            {
              map[np] = (int)(i + MAX_EXECS);
              pfd[np].fd = execs[i].err;
              pfd[np++].events = POLLIN;
            }
        }
      if (poll (pfd, np, -1) < 0)
        continue;
      if (master >= 0 && pfd[2].revents)
        {
          char data[16384];
          n = read (master, data, sizeof (data));
          if (n > 0)
            write_all (tty_out, data, (size_t)n);
          else if (n == 0 || errno != EAGAIN)
            {
              close (master);
              master = -1;
            }
        }
      if (tty_in >= 0 && pfd[3].revents)
        {
          char data[16384];
          n = read (tty_in, data, sizeof (data));
          if (n > 0 && master >= 0)
            write_all (master, data, (size_t)n);
          else if (n <= 0)
            {
              close (tty_in);
              tty_in = -1;
            }
        }
      for (i = 4; i < np; i++)
        if (pfd[i].revents)
          {
            struct exec_proc *e = &execs[map[i] % MAX_EXECS];
            bool is_err = map[i] >= MAX_EXECS;
            int *fdp = is_err ? &e->err : &e->out;
            char data[16384];
            n = read (*fdp, data, sizeof (data));
            if (n > 0)
              exec_data (is_err ? REC_EXEC_ERR : REC_EXEC_OUT, e, data, (size_t)n);
            else if (n < 0 && (errno == EAGAIN || errno == EINTR))
              continue;
            else
              {
                close (*fdp);
                *fdp = -1;
                exec_maybe_done (e);
              }
          }
      if (pfd[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          int st;
          pid_t w;
          n = read (sfd, &si, sizeof (si));
          (void)n;
          while ((w = waitpid (-1, &st, WNOHANG)) > 0)
            {
              int code = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
              if (w == pid)
                {
                  /* What the workload wrote to its tty comes before its exit status. */
                  while (master >= 0)
                    {
                      char data[16384];
                      n = read (master, data, sizeof (data));
                      if (n <= 0)
                        break;
                      write_all (tty_out, data, (size_t)n);
                    }
                  snprintf (buf, sizeof (buf), "%d", code);
                  send_rec (REC_EXIT, buf);
                  power_off ();
                }
              for (i = 0; i < MAX_EXECS; i++)
                if (execs[i].used && execs[i].pid == w)
                  {
                    execs[i].exited = true;
                    execs[i].code = code;
                    exec_maybe_done (&execs[i]);
                  }
            }
        }
      if (ctl_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
        {
          char tag, *d;
          size_t len;
          if (recv_rec (ctl_fd, &tag, &d, &len) < 0)
            {
              /* The host went away: nothing can be reported any more. */
              kill (pid, SIGKILL);
              close (ctl_fd);
              ctl_fd = -1;
              continue;
            }
          if (tag == REC_KILL)
            kill (pid, (int)parse_ul (d, 10));
          else if (tag == REC_TERMINAL && master >= 0)
            {
              unsigned r = 0, c = 0;
              if (sscanf (d, "%u %u", &r, &c) == 2)
                {
                  struct winsize ws = { .ws_row = (unsigned short)r, .ws_col = (unsigned short)c };
                  ioctl (master, TIOCSWINSZ, &ws);
                }
            }
          else if (tag == REC_EXEC)
            exec_start (d);
          else if (tag == REC_EXEC_IN)
            exec_input (d, len);
          else if (tag == REC_EXEC_KILL || tag == REC_EXEC_WINSZ)
            exec_control (tag, d);
          else if (tag == REC_CGROUP)
            cgroup_update (d);
          free (d);
        }
    }
}
