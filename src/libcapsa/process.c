/* capsa: the last steps of a container process: limits, user, capabilities, env, fds, execve. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef HAVE_SELINUX
#include <selinux/selinux.h>
#endif
#ifdef HAVE_CAP
#include <sys/capability.h>
#endif

#define CAPSA_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* strerror in the lower-case spelling Go uses ("no such file or directory"), so that engines
 * matching runc's texts (podman maps them to exit codes 126/127) recognise ours. */
static const char *lower_strerror (int e, char *buf, size_t len)
{
  snprintf (buf, len, "%s", strerror (e));
  if (buf[0] >= 'A' && buf[0] <= 'Z')
    buf[0] = buf[0] - 'A' + 'a';
  return buf;
}

/* ---- rlimits ---------------------------------------------------------------------------- */

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
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
  { "RLIMIT_STACK", RLIMIT_STACK },
};

static int rlimit_resource (const char *name);
static int check_labels (const struct oci_process *p, const char *where, capsa_error_t *err);

int capsa_set_rlimits (const struct oci_process *p, capsa_error_t *err)
{
  size_t i;

  for (i = 0; i < p->rlimits_len; i++)
    {
      const struct oci_rlimit *r = &p->rlimits[i];
      struct rlimit lim, old;
      int res = rlimit_resource (r->type);

      if (res < 0)
        return capsa_make_error (err, 0, ".process.rlimits[%zu].type: unknown rlimit \"%s\"", i,
                                 r->type ? r->type : "");
      if (r->soft > r->hard)
        return capsa_make_error (err, 0,
                                 ".process.rlimits[%zu]: %s soft limit %llu is above the hard "
                                 "limit %llu",
                                 i, r->type, (unsigned long long)r->soft,
                                 (unsigned long long)r->hard);
      /* JSON's uint64 max is RLIM_INFINITY (~0) on 64-bit, as in the spec's examples. */
      lim.rlim_cur = (rlim_t)r->soft;
      lim.rlim_max = (rlim_t)r->hard;
      if (prlimit (0, res, &lim, &old) < 0)
        {
          int e = errno;
          if (e == EPERM && getrlimit (res, &old) == 0 && lim.rlim_max > old.rlim_max)
            return capsa_make_error (err, e,
                                     "setrlimit %s (soft %llu, hard %llu): raising the hard "
                                     "limit above %llu needs CAP_SYS_RESOURCE",
                                     r->type, (unsigned long long)r->soft,
                                     (unsigned long long)r->hard, (unsigned long long)old.rlim_max);
          return capsa_make_error (err, e, "setrlimit %s (soft %llu, hard %llu)", r->type,
                                   (unsigned long long)r->soft, (unsigned long long)r->hard);
        }
    }
  return 0;
}

static int rlimit_resource (const char *name)
{
  size_t j;
  for (j = 0; name && j < sizeof (rlimit_names) / sizeof (rlimit_names[0]); j++)
    if (strcmp (name, rlimit_names[j].name) == 0)
      return rlimit_names[j].resource;
  return -1;
}

/* A name libcap knows, spelled with its CAP_ prefix (as the spec writes them). */
bool capsa_cap_name_known (const char *name)
{
#ifdef HAVE_CAP
  cap_value_t v;
  return strncasecmp (name, "CAP_", 4) == 0 && cap_from_name (name, &v) == 0;
#else
  (void)name;
  return true;
#endif
}

static int validate_caps (char **names, size_t n, const char *set, capsa_error_t *err)
{
#ifdef HAVE_CAP
  size_t i;
  for (i = 0; i < n; i++)
    {
      if (!capsa_cap_name_known (names[i]))
        return capsa_make_error (
          err, 0, "config.json: .process.capabilities.%s[%zu]: unknown capability \"%s\"", set, i,
          names[i]);
    }
#endif
  return 0;
}

int capsa_process_validate (const struct oci_process *p, capsa_error_t *err)
{
  const struct oci_capabilities *c = p->capabilities;
  size_t i;

  for (i = 0; i < p->rlimits_len; i++)
    {
      const struct oci_rlimit *r = &p->rlimits[i];
      if (rlimit_resource (r->type) < 0)
        return capsa_make_error (err, 0,
                                 "config.json: .process.rlimits[%zu].type: unknown rlimit \"%s\"",
                                 i, r->type ? r->type : "");
      if (r->soft > r->hard)
        return capsa_make_error (
          err, 0,
          "config.json: .process.rlimits[%zu]: soft limit %llu is above the hard limit %llu", i,
          (unsigned long long)r->soft, (unsigned long long)r->hard);
    }
  if (c
      && (validate_caps (c->bounding, c->bounding_len, "bounding", err) < 0
          || validate_caps (c->effective, c->effective_len, "effective", err) < 0
          || validate_caps (c->permitted, c->permitted_len, "permitted", err) < 0
          || validate_caps (c->inheritable, c->inheritable_len, "inheritable", err) < 0
          || validate_caps (c->ambient, c->ambient_len, "ambient", err) < 0))
    return -1;
  if (check_labels (p, "config.json: ", err) < 0)
    return -1;
  return capsa_selinux_label_check (p->selinux_label, "config.json: .process.selinuxLabel", err);
}

/* ---- LSM labels: process.apparmorProfile, process.selinuxLabel, linux.mountLabel --------- */

bool capsa_apparmor_enabled (void)
{
  char c = 0;
  int fd = open ("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  if (read (fd, &c, 1) != 1)
    c = 0;
  close (fd);
  return c == 'Y';
}

bool capsa_selinux_enabled (void)
{
#ifdef HAVE_SELINUX
  return is_selinux_enabled () > 0;
#else
  return false;
#endif
}

int capsa_selinux_label_check (const char *label, const char *what, capsa_error_t *err)
{
#ifdef HAVE_SELINUX
  if (label == NULL || label[0] == '\0' || !capsa_selinux_enabled ())
    return 0;
  if (security_check_context (label) < 0)
    {
      if (errno == EINVAL)
        return capsa_make_error (
          err, 0, "%s: SELinux label \"%s\" is not valid in the loaded policy", what, label);
      return capsa_make_error (err, errno, "%s: check SELinux label \"%s\"", what, label);
    }
#else
  (void)label;
  (void)what;
  (void)err;
#endif
  return 0;
}

/* Is the AppArmor profile NAME loaded?  Read from securityfs where the caller sees it (the
 * runtime on the host); true when it cannot tell (not mounted there): the kernel then refuses
 * an unknown profile at exec. */
static bool apparmor_profile_loaded (const char *name)
{
  FILE *f = fopen ("/sys/kernel/security/apparmor/profiles", "re");
  char *line = NULL;
  size_t cap = 0, n = strlen (name);
  bool found = false;

  if (f == NULL)
    return true;
  while (!found && getline (&line, &cap, f) > 0)
    found = strncmp (line, name, n) == 0 && strncmp (line + n, " (", 2) == 0;
  free (line);
  fclose (f);
  return found;
}

/* As runc: a process label the host cannot apply is an error (the container would otherwise
 * run unconfined while its config asks for confinement). */
static int check_labels (const struct oci_process *p, const char *where, capsa_error_t *err)
{
  if (p->selinux_label && p->selinux_label[0] && !capsa_selinux_enabled ())
    return capsa_make_error (err, 0, "%s.process.selinuxLabel: SELinux is not enabled on this host",
                             where);
  if (p->apparmor_profile && p->apparmor_profile[0] && !capsa_apparmor_enabled ())
    return capsa_make_error (
      err, 0, "%s.process.apparmorProfile: AppArmor is not enabled on this host", where);
  if (p->apparmor_profile && p->apparmor_profile[0] && strcmp (p->apparmor_profile, "unconfined")
      && !apparmor_profile_loaded (p->apparmor_profile))
    return capsa_make_error (err, 0,
                             "%s.process.apparmorProfile: AppArmor profile \"%s\" is not loaded",
                             where, p->apparmor_profile);
  return 0;
}

/* Open PATH (relative, e.g. "self/oom_score_adj") in the real procfs: the container's /proc is
 * opened without following a symlink and checked, and the walk below it crosses no mount, so
 * a bind mount over the file (or a fake /proc) in the rootfs cannot take a write meant for
 * procfs (CVE-2025-52881 class).  -1 with errno EXDEV when /proc or the file is not procfs. */
static int open_real_proc (const char *path, int flags)
{
  struct open_how how = { 0 };
  struct statfs sf;
  int procfd, fd, e;

  procfd = open ("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (procfd < 0)
    return -1;
  if (fstatfs (procfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
    {
      close (procfd);
      errno = EXDEV;
      return -1;
    }
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  fd = (int)syscall (SYS_openat2, procfd, path, &how, sizeof (how));
  if (fd < 0 && errno == ENOSYS)
    {
      fd = openat (procfd, path, flags | O_CLOEXEC | O_NOFOLLOW);
      if (fd >= 0 && (fstatfs (fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC))
        {
          close (fd);
          fd = -1;
          errno = EXDEV;
        }
    }
  e = errno;
  close (procfd);
  errno = e;
  return fd;
}

/* Write VALUE to /proc/thread-self/attr/NAME of the real procfs. */
static int write_proc_attr (const char *name, const char *value)
{
  char path[64];
  size_t len = strlen (value);
  ssize_t w;
  int fd, e;

  snprintf (path, sizeof (path), "thread-self/attr/%s", name);
  fd = open_real_proc (path, O_WRONLY);
  if (fd < 0)
    return -1;
  w = write (fd, value, len);
  e = errno;
  close (fd);
  if (w != (ssize_t)len)
    {
      errno = w < 0 ? e : EIO;
      return -1;
    }
  return 0;
}

/* The SELinux label of the keys the calling thread creates next ("" resets it). */
static int selinux_keycreate (const char *label)
{
  return write_proc_attr ("keycreate", label);
}

int capsa_join_session_keyring (const char *id, const char *label, bool userns, capsa_error_t *err)
{
  char name[64];
  /* As runc: the keyring is created with the process's SELinux label (keycreate applies to the
   * keys this thread creates; reset after, though the coming execve would). */
  bool labelled = label != NULL && label[0] != '\0' && capsa_selinux_enabled ();

  if (labelled && selinux_keycreate (label) < 0)
    return capsa_make_error (err, errno, "set selinux keyring label \"%s\"", label);
  snprintf (name, sizeof (name), "_ses.%.48s", id);
  if (syscall (SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name) < 0 && errno != ENOSYS
      && !userns)
    return capsa_make_error (err, errno, "create session keyring");
  if (labelled && selinux_keycreate ("") < 0)
    return capsa_make_error (err, errno, "reset selinux keyring label");
  return 0;
}

int capsa_apparmor_exec (const char *profile)
{
  char v[4096];

  if ((size_t)snprintf (v, sizeof (v), "exec %s", profile) >= sizeof (v))
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  /* attr/apparmor/exec where the kernel stacks LSMs, attr/exec before */
  if (write_proc_attr ("apparmor/exec", v) < 0
      && (errno != ENOENT || write_proc_attr ("exec", v) < 0))
    return -1;
  return 0;
}

/* Both labels take effect at the coming execve. */
static int apply_labels (const struct oci_process *p, capsa_error_t *err)
{
  if (check_labels (p, "", err) < 0)
    return -1;
  if (p->apparmor_profile && p->apparmor_profile[0]
      && capsa_apparmor_exec (p->apparmor_profile) < 0)
    return capsa_make_error (err, errno, "apply apparmor profile \"%s\"", p->apparmor_profile);
#ifdef HAVE_SELINUX
  if (p->selinux_label && p->selinux_label[0] && setexeccon (p->selinux_label) < 0)
    return capsa_make_error (err, errno, "set selinux exec label \"%s\"", p->selinux_label);
#endif
  return 0;
}

char *capsa_mount_label_data (const char *type, const char *data, const char *label)
{
  char *out = NULL;

  /* Without SELinux the label means nothing, and context= would fail the mount: ignored, as
   * crun does.  tmpfs and devpts take it as a mount option; mqueue is relabelled by the
   * caller (capsa_mount_label_apply). */
  if (label == NULL || label[0] == '\0' || !capsa_selinux_enabled () || type == NULL
      || (strcmp (type, "tmpfs") != 0 && strcmp (type, "devpts") != 0))
    return NULL;
  if (asprintf (&out, "%s%scontext=\"%s\"", data && data[0] ? data : "", data && data[0] ? "," : "",
                label)
      < 0)
    return NULL;
  return out;
}

int capsa_mount_label_apply (const char *type, int mntfd, const char *label, const char *dest,
                             capsa_error_t *err)
{
#ifdef HAVE_SELINUX
  char fdp[32];
  if (label == NULL || label[0] == '\0' || !capsa_selinux_enabled () || type == NULL
      || strcmp (type, "mqueue") != 0)
    return 0;
  if (setfilecon (capsa_fd_path (mntfd, fdp), label) < 0)
    return capsa_make_error (err, errno, "mount \"%s\" on \"%s\": set selinux label \"%s\"", type,
                             dest, label);
#endif
  return 0;
}

/* ---- oomScoreAdj, ioPriority, scheduler, personality ------------------------------------ */

int capsa_set_oom_score_adj (const struct oci_process *p, capsa_error_t *err)
{
  char buf[32];
  int fd, len, ret;

  if (!p->oom_score_adj_present)
    return 0;
  len = snprintf (buf, sizeof (buf), "%d", (int)p->oom_score_adj);
  /* Already set (the init sets it early, process_exec again): nothing to do.  This matters
   * once the process is non-dumpable: in a user namespace its /proc files then belong to the
   * host's root. */
  fd = open_real_proc ("self/oom_score_adj", O_RDONLY);
  if (fd >= 0)
    {
      char cur[32];
      ssize_t n = read (fd, cur, sizeof (cur) - 1);
      close (fd);
      if (n > 0 && (cur[n] = '\0', strtol (cur, NULL, 10) == p->oom_score_adj))
        return 0;
    }
  fd = open_real_proc ("self/oom_score_adj", O_WRONLY);
  if (fd < 0 && errno == EACCES && prctl (PR_GET_DUMPABLE) == 0)
    {
      /* Non-dumpable in a user namespace: dumpable just for this open. */
      prctl (PR_SET_DUMPABLE, 1);
      fd = open_real_proc ("self/oom_score_adj", O_WRONLY);
      prctl (PR_SET_DUMPABLE, 0);
    }
  if (fd < 0)
    return capsa_make_error (err, errno, "open \"/proc/self/oom_score_adj\"");
  ret = write (fd, buf, len);
  if (ret != len)
    {
      int e = ret < 0 ? errno : EIO;
      close (fd);
      return capsa_make_error (err, e, "set oomScoreAdj %d", (int)p->oom_score_adj);
    }
  close (fd);
  return 0;
}

static int set_io_priority (const struct oci_io_priority *io, capsa_error_t *err)
{
  int cls;

  if (io == NULL)
    return 0;
  if (strcmp (io->class_, "IOPRIO_CLASS_RT") == 0)
    cls = IOPRIO_CLASS_RT;
  else if (strcmp (io->class_, "IOPRIO_CLASS_BE") == 0)
    cls = IOPRIO_CLASS_BE;
  else if (strcmp (io->class_, "IOPRIO_CLASS_IDLE") == 0)
    cls = IOPRIO_CLASS_IDLE;
  else
    return capsa_make_error (err, 0, ".process.ioPriority.class: unknown class \"%s\"", io->class_);
  if (io->priority < 0 || io->priority > 7)
    return capsa_make_error (err, 0, ".process.ioPriority.priority: %d is not in 0..7",
                             (int)io->priority);
  if (syscall (SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE (cls, io->priority)) < 0)
    return capsa_make_error (err, errno, "ioprio_set %s %d", io->class_, (int)io->priority);
  return 0;
}

/* sched_setattr(2)'s argument (the uapi header clashes with glibc's sched.h). */
struct capsa_sched_attr
{
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

static int set_scheduler (const struct oci_scheduler *s, capsa_error_t *err)
{
  static const struct
  {
    const char *name;
    unsigned value;
  } policies[] = { { "SCHED_OTHER", SCHED_OTHER },
                   { "SCHED_FIFO", SCHED_FIFO },
                   { "SCHED_RR", SCHED_RR },
                   { "SCHED_BATCH", SCHED_BATCH },
                   { "SCHED_ISO", 4 },
                   { "SCHED_IDLE", SCHED_IDLE },
                   { "SCHED_DEADLINE", SCHED_DEADLINE } },
    flags[] = { { "SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK },
                { "SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM },
                { "SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN },
                { "SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY },
                { "SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS },
                { "SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN },
                { "SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX } };
  struct capsa_sched_attr attr;
  size_t i, j;
  bool found = false;

  if (s == NULL)
    return 0;
  memset (&attr, 0, sizeof (attr));
  attr.size = sizeof (attr);
  for (i = 0; i < sizeof (policies) / sizeof (policies[0]); i++)
    if (strcmp (s->policy, policies[i].name) == 0)
      {
        attr.sched_policy = policies[i].value;
        found = true;
      }
  if (!found)
    return capsa_make_error (err, 0, ".process.scheduler.policy: unknown policy \"%s\"", s->policy);
  for (i = 0; i < s->flags_len; i++)
    {
      found = false;
      for (j = 0; j < sizeof (flags) / sizeof (flags[0]); j++)
        if (strcmp (s->flags[i], flags[j].name) == 0)
          {
            attr.sched_flags |= flags[j].value;
            found = true;
          }
      if (!found)
        return capsa_make_error (err, 0, ".process.scheduler.flags[%zu]: unknown flag \"%s\"", i,
                                 s->flags[i]);
    }
  attr.sched_nice = s->nice_present ? s->nice : 0;
  attr.sched_priority = s->priority_present ? (unsigned)s->priority : 0;
  attr.sched_runtime = s->runtime_present ? s->runtime : 0;
  attr.sched_deadline = s->deadline_present ? s->deadline : 0;
  attr.sched_period = s->period_present ? s->period : 0;
  if (syscall (SYS_sched_setattr, 0, &attr, 0) < 0)
    return capsa_make_error (err, errno, "sched_setattr %s", s->policy);
  return 0;
}

static int set_personality (const struct oci_personality *per, capsa_error_t *err)
{
  unsigned long domain;

  if (per == NULL)
    return 0;
  if (strcmp (per->domain, "LINUX") == 0)
    domain = PER_LINUX;
  else if (strcmp (per->domain, "LINUX32") == 0)
    domain = PER_LINUX32;
  else
    return capsa_make_error (err, 0, ".linux.personality.domain: unknown domain \"%s\"",
                             per->domain);
  /* The spec defines no personality flags yet. */
  if (per->flags_len > 0)
    return capsa_make_error (err, 0, ".linux.personality.flags[0]: unsupported flag \"%s\"",
                             per->flags[0]);
  if (personality (domain) < 0)
    return capsa_make_error (err, errno, "personality %s", per->domain);
  return 0;
}

/* ---- capabilities ----------------------------------------------------------------------- */

#ifdef HAVE_CAP
/* Capabilities by set, as bit masks over cap values (the kernel has fewer than 64). */
struct cap_sets
{
  uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* Names the running kernel cannot map (unknown to libcap, or newer than the kernel) are
 * skipped with a warning, as the spec asks ("Any value which cannot be mapped to a relevant
 * kernel interface ... MUST be logged as a warning"; runtimes SHOULD NOT fail on them). */
static uint64_t cap_names_to_mask (char **names, size_t n, const char *set)
{
  cap_value_t max = cap_max_bits ();
  uint64_t mask = 0;
  size_t i;

  for (i = 0; i < n; i++)
    {
      cap_value_t v;
      if (strncasecmp (names[i], "CAP_", 4) != 0 || cap_from_name (names[i], &v) < 0)
        {
          capsa_warn (".process.capabilities.%s[%zu]: unknown capability \"%s\", ignored", set, i,
                      names[i]);
          continue;
        }
      if (v >= max || v >= 64)
        {
          capsa_warn (".process.capabilities.%s[%zu]: capability \"%s\" is not supported by the "
                      "running kernel, ignored",
                      set, i, names[i]);
          continue;
        }
      mask |= 1ULL << v;
    }
  return mask;
}

/* Absent process.capabilities means an empty set everywhere (runc does the same: the process
 * gets no capabilities at all), which is the safe reading of an OPTIONAL field. */
static void parse_caps (const struct oci_capabilities *c, struct cap_sets *out)
{
  memset (out, 0, sizeof (*out));
  if (c == NULL)
    return;
  out->bounding = cap_names_to_mask (c->bounding, c->bounding_len, "bounding");
  out->effective = cap_names_to_mask (c->effective, c->effective_len, "effective");
  out->permitted = cap_names_to_mask (c->permitted, c->permitted_len, "permitted");
  out->inheritable = cap_names_to_mask (c->inheritable, c->inheritable_len, "inheritable");
  out->ambient = cap_names_to_mask (c->ambient, c->ambient_len, "ambient");
}

static const char *cap_display_name (cap_value_t v, char *buf, size_t len)
{
  char *n = cap_to_name (v);
  size_t i;

  snprintf (buf, len, "%s", n ? n : "?");
  cap_free (n);
  for (i = 0; buf[i]; i++)
    if (buf[i] >= 'a' && buf[i] <= 'z')
      buf[i] -= 'a' - 'A';
  return buf;
}

/* Requested caps the runtime itself does not hold cannot be granted: warn, and leave them out
 * (e.g. CAP_SYS_RESOURCE on a host whose bounding set lacks it). */
static void restrict_to_held (struct cap_sets *s)
{
  cap_value_t v, max = cap_max_bits ();
  cap_t cur = cap_get_proc ();
  uint64_t held = 0, all;
  char name[64];

  if (cur == NULL)
    return;
  for (v = 0; v < max && v < 64; v++)
    {
      cap_flag_value_t f = CAP_CLEAR;
      if (cap_get_flag (cur, v, CAP_PERMITTED, &f) == 0 && f == CAP_SET)
        held |= 1ULL << v;
    }
  cap_free (cur);
  all = s->bounding | s->effective | s->permitted | s->inheritable | s->ambient;
  for (v = 0; v < max && v < 64; v++)
    if ((all & (1ULL << v)) && !(held & (1ULL << v)))
      capsa_warn ("capability %s cannot be granted (the runtime does not hold it), ignored",
                  cap_display_name (v, name, sizeof (name)));
  s->bounding &= held;
  s->effective &= held;
  s->permitted &= held;
  s->ambient &= held;
  s->inheritable &= held;
}

static int drop_bounding (uint64_t keep, capsa_error_t *err)
{
  cap_value_t v, max = cap_max_bits ();
  char name[64];

  /* Dropping a capability that is already out of the set succeeds, so the set is not read
   * first (two prctl calls per capability saved); it is read only to tell a real failure from
   * a capability this kernel does not have or that is already gone. */
  for (v = 0; v < max; v++)
    {
      if (v < 64 && (keep & (1ULL << v)))
        continue;
      if (cap_drop_bound (v) < 0)
        {
          int e = errno;
          if (cap_get_bound (v) > 0)
            return capsa_make_error (err, e, "drop %s from the bounding set",
                                     cap_display_name (v, name, sizeof (name)));
        }
    }
  return 0;
}

static int apply_caps (const struct cap_sets *s, capsa_error_t *err)
{
  cap_value_t v, max = cap_max_bits ();
  cap_t c = cap_init ();
  char name[64];
  size_t i;
  static const struct
  {
    cap_flag_t flag;
    size_t off;
  } sets[] = { { CAP_EFFECTIVE, offsetof (struct cap_sets, effective) },
               { CAP_PERMITTED, offsetof (struct cap_sets, permitted) },
               { CAP_INHERITABLE, offsetof (struct cap_sets, inheritable) } };

  if (c == NULL)
    return capsa_make_error (err, errno, "cap_init");
  for (i = 0; i < 3; i++)
    {
      uint64_t mask = *(const uint64_t *)((const char *)s + sets[i].off);
      for (v = 0; v < max && v < 64; v++)
        if (mask & (1ULL << v))
          cap_set_flag (c, sets[i].flag, 1, &v, CAP_SET);
    }
  if (cap_set_proc (c) < 0)
    {
      int e = errno;
      char *txt = cap_to_text (c, NULL);
      capsa_make_error (err, e, "set capabilities \"%s\"", txt ? txt : "");
      cap_free (txt);
      cap_free (c);
      return -1;
    }
  cap_free (c);

  /* one prctl: libcap's cap_reset_ambient first reads every ambient capability */
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return capsa_make_error (err, errno, "clear the ambient capabilities");
  for (v = 0; v < max && v < 64; v++)
    if ((s->ambient & (1ULL << v)) && cap_set_ambient (v, CAP_SET) < 0)
      /* Ambient needs the cap in both permitted and inheritable: the spec asks for a warning
       * when a capability cannot be granted. */
      capsa_warn ("cannot raise ambient capability %s: %s",
                  cap_display_name (v, name, sizeof (name)), strerror (errno));
  return 0;
}
#else
/* Without libcap the capability sets cannot be applied: refuse to start the process rather than
 * run it with the runtime's own capabilities. */
struct cap_sets
{
  uint64_t bounding;
};

static void parse_caps (const struct oci_capabilities *c, struct cap_sets *out)
{
  out->bounding = 0;
}

static void restrict_to_held (struct cap_sets *s)
{
}

static int drop_bounding (uint64_t keep, capsa_error_t *err)
{
  return capsa_make_error (err, 0, "capabilities support (libcap) not compiled in");
}

static int apply_caps (const struct cap_sets *s, capsa_error_t *err)
{
  return capsa_make_error (err, 0, "capabilities support (libcap) not compiled in");
}
#endif

/* ---- user ------------------------------------------------------------------------------- */

static bool setgroups_denied (void)
{
  char buf[16] = "";
  int fd = open ("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return false;
  n = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  return n > 0 && strncmp (buf, "deny", 4) == 0;
}

/* The annotation run.oci.keep_original_groups=1 (podman --group-add keep-groups): the process
 * keeps the supplementary groups of the runtime's caller instead of additionalGids.  1 when
 * set, 0 when not, -1 for a value that means neither. */
static int keep_original_groups (const struct capsa_ctx *ctx, capsa_error_t *err)
{
  const char *v = ctx->config ? oci_kv_get (ctx->config->annotations, ctx->config->annotations_len,
                                            "run.oci.keep_original_groups")
                              : NULL;
  if (v == NULL || strcmp (v, "0") == 0 || strcmp (v, "false") == 0)
    return 0;
  if (strcmp (v, "1") == 0 || strcmp (v, "true") == 0)
    return 1;
  return capsa_make_error (err, 0,
                           "config.json: .annotations[\"run.oci.keep_original_groups\"]: "
                           "unknown value \"%s\" (1, 0, true, false)",
                           v);
}

/* A process that runs as a non-root user owns its stdio (pipes, terminals, files; not
 * /dev/null), so that it can reopen /dev/stdout and friends.  Done while still root; a
 * descriptor whose owner this user namespace cannot change is left as it is. */
static void chown_stdio (const struct oci_user *u)
{
  int fd;

  if (u->uid == 0)
    return;
  for (fd = 0; fd < 3; fd++)
    {
      struct stat st;
      if (fstat (fd, &st) < 0 || st.st_uid == u->uid)
        continue;
      if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3))
        continue;
      if (fchown (fd, u->uid, u->gid) < 0)
        capsa_debug ("chown stdio fd %d to %u:%u: %s", fd, (unsigned)u->uid, (unsigned)u->gid,
                     strerror (errno));
    }
}

static int set_user (const struct oci_user *u, bool keep_groups, capsa_error_t *err)
{
  if (!keep_groups && setgroups (u->additional_gids_len, (const gid_t *)u->additional_gids) < 0)
    {
      int e = errno;
      /* A user namespace whose setgroups is "deny" cannot change the list; that is fine only
       * when the config asks for no additional groups. */
      if (!(e == EPERM && u->additional_gids_len == 0 && setgroups_denied ()))
        return capsa_make_error (err, e, "setgroups (.process.user.additionalGids, %zu groups)",
                                 u->additional_gids_len);
    }
  if (setresgid (u->gid, u->gid, u->gid) < 0)
    return capsa_make_error (err, errno, "setresgid %u", (unsigned)u->gid);
  if (setresuid (u->uid, u->uid, u->uid) < 0)
    return capsa_make_error (err, errno, "setresuid %u", (unsigned)u->uid);
  return 0;
}

/* ---- environment ------------------------------------------------------------------------ */

struct envbuf
{
  char **v;
  size_t n, cap;
};

/* Set NAME=VALUE (an owned string), replacing an earlier entry of the same name. */
static void env_put (struct envbuf *e, char *entry)
{
  size_t i, klen = strcspn (entry, "=");

  for (i = 0; i < e->n; i++)
    if (strncmp (e->v[i], entry, klen) == 0 && e->v[i][klen] == '=')
      {
        free (e->v[i]);
        e->v[i] = entry;
        return;
      }
  if (e->n + 2 > e->cap)
    {
      e->cap = e->cap ? e->cap * 2 : 32;
      e->v = realloc (e->v, e->cap * sizeof (char *));
      if (e->v == NULL)
        abort ();
    }
  e->v[e->n++] = entry;
  e->v[e->n] = NULL;
}

static const char *env_get (const struct envbuf *e, const char *name)
{
  size_t i, klen = strlen (name);

  for (i = 0; i < e->n; i++)
    if (strncmp (e->v[i], name, klen) == 0 && e->v[i][klen] == '=')
      return e->v[i] + klen + 1;
  return NULL;
}

static void env_free (struct envbuf *e)
{
  size_t i;
  for (i = 0; i < e->n; i++)
    free (e->v[i]);
  free (e->v);
}

static char *xstrdup (const char *s)
{
  char *r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

/* HOME for uid from the container's /etc/passwd (parsed with fgetpwent: no NSS modules are
 * loaded from the container), else "/". */
static char *home_for_uid (uid_t uid)
{
  FILE *f = fopen ("/etc/passwd", "re");
  struct passwd *pw;
  char *home = NULL;

  if (f != NULL)
    {
      while ((pw = fgetpwent (f)) != NULL)
        if (pw->pw_uid == uid && pw->pw_dir && pw->pw_dir[0])
          {
            home = xstrdup (pw->pw_dir);
            break;
          }
      fclose (f);
    }
  return home ? home : xstrdup ("/");
}

static int build_env (const struct oci_process *p, size_t nlisten, struct envbuf *e,
                      capsa_error_t *err)
{
  size_t i;
  char *s;

  memset (e, 0, sizeof (*e));
  for (i = 0; i < p->env_len; i++)
    {
      if (strchr (p->env[i], '=') == NULL || p->env[i][0] == '=')
        {
          env_free (e);
          return capsa_make_error (err, 0, ".process.env[%zu]: invalid environment variable \"%s\"",
                                   i, p->env[i]);
        }
      env_put (e, xstrdup (p->env[i]));
    }
  if (env_get (e, "HOME") == NULL)
    {
      char *home = home_for_uid (p->user.uid);
      if (asprintf (&s, "HOME=%s", home) < 0)
        abort ();
      free (home);
      env_put (e, s);
    }
  if (nlisten > 0)
    {
      if (asprintf (&s, "LISTEN_FDS=%zu", nlisten) < 0)
        abort ();
      env_put (e, s);
      if (asprintf (&s, "LISTEN_PID=%d", (int)getpid ()) < 0)
        abort ();
      env_put (e, s);
    }
  if (e->v == NULL)
    {
      e->v = calloc (1, sizeof (char *));
      if (e->v == NULL)
        abort ();
    }
  return 0;
}

/* ---- executable lookup ------------------------------------------------------------------ */

static bool is_executable (const struct stat *st)
{
  return !S_ISDIR (st->st_mode) && (st->st_mode & 0111) != 0;
}

/* Resolve args[0] the way runc does (Go's exec.LookPath), with the same error texts. */
static int find_executable (const char *file, const char *path, char **out, capsa_error_t *err)
{
  struct stat st;
  char eb[128];

  if (strchr (file, '/') != NULL)
    {
      if (stat (file, &st) < 0)
        return capsa_make_error (err, 0, "exec: \"%s\": stat %s: %s", file, file,
                                 lower_strerror (errno, eb, sizeof (eb)));
      if (!is_executable (&st))
        return capsa_make_error (err, 0, "exec: \"%s\": permission denied", file);
      *out = xstrdup (file);
      return 0;
    }
  if (file[0] != '\0')
    {
      const char *p = path;
      for (;;)
        {
          size_t len = strcspn (p, ":");
          char *cand;

          if (asprintf (&cand, "%.*s/%s", (int)(len ? len : 1), len ? p : ".", file) < 0)
            abort ();
          if (stat (cand, &st) == 0 && is_executable (&st))
            {
              *out = cand;
              return 0;
            }
          free (cand);
          if (p[len] == '\0')
            break;
          p += len + 1;
        }
    }
  return capsa_make_error (err, 0, "exec: \"%s\": executable file not found in $PATH", file);
}

int capsa_process_check_executable (const struct oci_process *p, capsa_error_t *err)
{
  const char *path = CAPSA_DEFAULT_PATH;
  char *exe = NULL;
  size_t i;

  /* A path relative to the cwd is only resolved at exec time (the cwd is entered then). */
  if (p->args_len == 0 || (p->args[0][0] != '/' && strchr (p->args[0], '/') != NULL))
    return 0;
  for (i = 0; i < p->env_len; i++)
    if (strncmp (p->env[i], "PATH=", 5) == 0)
      path = p->env[i] + 5;
  if (find_executable (p->args[0], path, &exe, err) < 0)
    return -1;
  free (exe);
  return 0;
}

/* ---- file descriptors ------------------------------------------------------------------- */

/* --preserve-fds: the caller's fds 3..3+N-1 (after the LISTEN_FDS ones) go to the process.
 * The numbers in that range the caller left closed are filled, before capsa opens anything of
 * its own, with close-on-exec placeholders (one memfd, dup'ed): capsa's own fds then always
 * land above the range, and the process sees the holes closed, as the caller had them. */
static dev_t placeholder_dev;
static ino_t placeholder_ino;
static bool placeholder_set;

static bool is_placeholder (int fd)
{
  struct stat st;
  return placeholder_set && fstat (fd, &st) == 0 && st.st_dev == placeholder_dev
         && st.st_ino == placeholder_ino;
}

static size_t listen_fds (void);

int capsa_fds_reserve (unsigned npreserve, capsa_error_t *err)
{
  unsigned end, fd;
  int template = -1;

  if (npreserve == 0)
    return 0;
  end = 3 + (unsigned)listen_fds () + npreserve;
  for (fd = 3; fd < end; fd++)
    {
      struct stat st;
      if (fcntl ((int)fd, F_GETFD) >= 0 || errno != EBADF)
        continue;
      if (template <0)
        {
          /* Every lower number is open: the memfd lands on this one. */
          template = memfd_create ("capsa-fd-placeholder", MFD_CLOEXEC);
          if (template <0 || fstat (template, &st) < 0)
            return capsa_make_error (err, errno, "--preserve-fds: reserve fd %u", fd);
          placeholder_dev = st.st_dev;
          placeholder_ino = st.st_ino;
          placeholder_set = true;
          if ((unsigned)template == fd)
            continue;
        }
      if (dup3 (template, (int)fd, O_CLOEXEC) < 0)
        return capsa_make_error (err, errno, "--preserve-fds: reserve fd %u", fd);
    }
  return 0;
}

/* Number of socket-activation fds handed to capsa (LISTEN_FDS).  The caller of capsa checked
 * LISTEN_PID against its own pid before cloning (see the report in this module's commit);
 * here the variable is only trusted when LISTEN_PID is present and every fd is open. */
static size_t listen_fds (void)
{
  const char *s = getenv ("LISTEN_FDS"), *pid = getenv ("LISTEN_PID");
  char *end;
  long n, i;

  if (s == NULL || pid == NULL || *s == '\0')
    return 0;
  errno = 0;
  n = strtol (s, &end, 10);
  if (errno || *end || n <= 0 || n > 4096)
    return 0;
  for (i = 0; i < n; i++)
    if (fcntl (3 + i, F_GETFD) < 0 || is_placeholder (3 + i))
      return 0;
  return (size_t)n;
}

/* Keep 0..2 and 3..3+nkeep-1 across execve; everything else gets FD_CLOEXEC (so fds still
 * needed until execve, like the exec fifo or the sync socket, stay usable until then). */
static int prepare_fds (struct capsa_ctx *ctx, size_t nkeep, capsa_error_t *err)
{
  unsigned first = 3 + nkeep, fd;
  int internal[3] = { ctx->rootfs_fd, ctx->exec_fifo_fd, ctx->console_socket_fd };
  size_t i;

  for (i = 0; i < 3; i++)
    if (internal[i] > 2 && (unsigned)internal[i] < first)
      return capsa_make_error (err, 0,
                               "internal fd %d would be inherited by the container process "
                               "(preserved fds 3..%u)",
                               internal[i], first - 1);
  for (fd = 0; fd < first; fd++)
    {
      int flags = fcntl (fd, F_GETFD);
      if (flags >= 0 && is_placeholder ((int)fd))
        continue;
      if (flags >= 0 && (flags & FD_CLOEXEC) && fcntl (fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
        return capsa_make_error (err, errno, "fcntl fd %u", fd);
    }
  if (syscall (SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  /* Kernels before 5.11: walk /proc/self/fd. */
  {
    DIR *d = opendir ("/proc/self/fd");
    struct dirent *de;
    if (d == NULL)
      return capsa_make_error (err, errno, "open \"/proc/self/fd\"");
    while ((de = readdir (d)) != NULL)
      {
        long n = strtol (de->d_name, NULL, 10);
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || n < (long)first || n == dirfd (d))
          continue;
        fcntl ((int)n, F_SETFD, FD_CLOEXEC);
      }
    closedir (d);
  }
  return 0;
}

/* ---- the sequence ----------------------------------------------------------------------- */

int capsa_process_exec (struct capsa_ctx *ctx, const struct oci_process *p, capsa_error_t *err)
{
  const struct oci_linux *lx = ctx->config ? ctx->config->linux_ : NULL;
  const struct oci_seccomp *sc = lx ? lx->seccomp : NULL;
  size_t nlisten, npreserve = 0;
  struct envbuf env;
  const char *path;
  char *exe = NULL, eb[128];
  bool cwd_done = false;
  int e, keep_groups;
  struct cap_sets caps;

  if (p->args_len == 0 || p->args[0] == NULL)
    return capsa_make_error (err, 0, ".process.args: must not be empty");
  if (p->cwd == NULL || p->cwd[0] != '/')
    return capsa_make_error (err, 0, ".process.cwd: must be an absolute path");
  if (ctx->opts && ctx->opts->preserve_fds > 0)
    npreserve = (size_t)ctx->opts->preserve_fds;
  nlisten = listen_fds ();
  /* Limits and priorities first, while the process is still root with every capability
   * (raising a hard limit or lowering oom_score_adj need CAP_SYS_RESOURCE). */
  if (capsa_set_rlimits (p, err) < 0 || capsa_set_oom_score_adj (p, err) < 0
      || set_io_priority (p->io_priority, err) < 0 || set_scheduler (p->scheduler, err) < 0
      || set_personality (lx ? lx->personality : NULL, err) < 0)
    return -1;

  parse_caps (p->capabilities, &caps);
  restrict_to_held (&caps);

  /* Without noNewPrivileges, loading a filter needs CAP_SYS_ADMIN: do it before anything is
   * dropped.  The profile then also covers setresuid/capset below (runc does the same). */
  if (sc && !p->no_new_privileges && capsa_seccomp_apply (ctx, sc, err) < 0)
    return -1;

  /* Dropping from the bounding set needs CAP_SETPCAP: before the uid changes. */
  if (drop_bounding (caps.bounding, err) < 0)
    return -1;

  /* The cwd is entered as root first when possible (it may be unreadable to the user only
   * through a path component), then again as the user if that failed. */
  if (chdir (p->cwd) == 0)
    cwd_done = true;
  else if (errno != EACCES && errno != EPERM)
    return capsa_make_error (err, errno, "chdir to cwd (\"%s\") set in config.json failed", p->cwd);

  keep_groups = keep_original_groups (ctx, err);
  if (keep_groups < 0)
    return -1;
  chown_stdio (&p->user);
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return capsa_make_error (err, errno, "prctl PR_SET_KEEPCAPS");
  if (set_user (&p->user, keep_groups == 1, err) < 0)
    return -1;
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return capsa_make_error (err, errno, "prctl PR_SET_KEEPCAPS");
  if (apply_caps (&caps, err) < 0)
    return -1;
  umask (p->user.umask_present ? (mode_t)p->user.umask : 0022);

  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return capsa_make_error (err, errno, "prctl PR_SET_NO_NEW_PRIVS");

  if (!cwd_done && chdir (p->cwd) < 0)
    return capsa_make_error (err, errno, "chdir to cwd (\"%s\") set in config.json failed", p->cwd);

  if (build_env (p, nlisten, &env, err) < 0)
    return -1;
  path = env_get (&env, "PATH");
  /* Looked up before the caller's before_exec (the exec fifo wait): a missing binary is a
   * create-time error, as with runc. */
  if (find_executable (p->args[0], path ? path : CAPSA_DEFAULT_PATH, &exe, err) < 0)
    goto fail;
  if (prepare_fds (ctx, nlisten + npreserve, err) < 0)
    goto fail;
  if (ctx->before_exec && ctx->before_exec (ctx, err) < 0)
    goto fail;
  /* The LSM labels last: nothing of the runtime runs confined by them. */
  if (apply_labels (p, err) < 0)
    goto fail;
  /* With noNewPrivileges the filter comes last, so it constrains as few runtime syscalls as
   * possible. */
  if (sc && p->no_new_privileges && capsa_seccomp_apply (ctx, sc, err) < 0)
    goto fail;

  execve (exe, p->args, env.v);
  e = errno;
  capsa_make_error (err, 0, "exec: \"%s\": %s", p->args[0], lower_strerror (e, eb, sizeof (eb)));
fail:
  free (exe);
  env_free (&env);
  return -1;
}
