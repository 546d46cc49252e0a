/* capsa: linux.seccomp to a libseccomp filter, loaded in the container process. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <yajl/yajl_gen.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

/* The container process state (config-linux.md) sent with the notify fd to listenerPath. */
static char *listener_message (const struct oci_seccomp *s, const char *state_json)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  const unsigned char *buf;
  size_t len;
  char *out = NULL, *perr = NULL;
  long long pid = getpid ();
  struct oci_state *st = NULL;

  /* The pid "as seen by the runtime" is the state's (getpid() is 1 in a new pid namespace). */
  if (state_json)
    st = oci_state_parse_data (state_json, strlen (state_json), "state", &perr);
  if (st && st->pid_present)
    pid = st->pid;
  if (st)
    oci_state_free (st);
  free (perr);
  if (g == NULL)
    return NULL;
#define GSTR(x) yajl_gen_string (g, (const unsigned char *)(x), strlen (x))
  yajl_gen_map_open (g);
  GSTR ("ociVersion");
  GSTR (CAPSA_OCI_VERSION);
  GSTR ("fds");
  yajl_gen_array_open (g);
  GSTR ("seccompFd");
  yajl_gen_array_close (g);
  GSTR ("pid");
  yajl_gen_integer (g, pid);
  if (s->listener_metadata)
    {
      GSTR ("metadata");
      GSTR (s->listener_metadata);
    }
  yajl_gen_map_close (g);
#undef GSTR
  if (yajl_gen_get_buf (g, &buf, &len) == yajl_gen_status_ok && len > 0 && buf[len - 1] == '}')
    {
      /* Splice the (already valid JSON) state in as the last member. */
      if (asprintf (&out, "%.*s,\"state\":%s}", (int)len - 1, (const char *)buf,
                    state_json && *state_json ? state_json : "{}")
          < 0)
        out = NULL;
    }
  yajl_gen_free (g);
  return out;
}

/* Connect to s->listener_path (a host path: called by the runtime before the container init
 * is cloned, or by capsa exec before it joins the container's mount namespace). */
static int listener_connect (const struct oci_seccomp *s, capsa_error_t *err)
{
  struct sockaddr_un addr;
  int sock;

  if (s->listener_path == NULL || s->listener_path[0] == '\0')
    return capsa_make_error (err, 0, ".linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
  if (s->listener_path[0] != '/')
    return capsa_make_error (err, 0, ".linux.seccomp.listenerPath: \"%s\" is not an absolute path",
                             s->listener_path);
  if (strlen (s->listener_path) >= sizeof (addr.sun_path))
    return capsa_make_error (err, ENAMETOOLONG, ".linux.seccomp.listenerPath: \"%s\"",
                             s->listener_path);
  sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return capsa_make_error (err, errno, "socket");
  memset (&addr, 0, sizeof (addr));
  addr.sun_family = AF_UNIX;
  strcpy (addr.sun_path, s->listener_path);
  if (connect (sock, (struct sockaddr *)&addr, sizeof (addr)) < 0)
    {
      int e = errno;
      close (sock);
      return capsa_make_error (err, e, ".linux.seccomp.listenerPath: connect to \"%s\"",
                               s->listener_path);
    }
  return sock;
}

/* Send the container process state with notify_fd on a connected socket, then close it. */
static int listener_send (int sock, const struct oci_seccomp *s, int notify_fd,
                          const char *state_json, capsa_error_t *err)
{
  char *msg;
  int ret;
  struct msghdr mh;
  struct iovec iov;
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct cmsghdr *cm;
  size_t off = 0, len;

  msg = listener_message (s, state_json);
  if (msg == NULL)
    {
      close (sock);
      return capsa_make_error (err, ENOMEM, "seccomp listener message");
    }
  /* The fd travels with the first chunk only (the spec allows several sendmsg calls). */
  len = strlen (msg);
  while (off < len)
    {
      ssize_t n;
      memset (&mh, 0, sizeof (mh));
      iov.iov_base = msg + off;
      iov.iov_len = len - off;
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      if (off == 0)
        {
          memset (&u, 0, sizeof (u));
          mh.msg_control = u.buf;
          mh.msg_controllen = sizeof (u.buf);
          cm = CMSG_FIRSTHDR (&mh);
          cm->cmsg_level = SOL_SOCKET;
          cm->cmsg_type = SCM_RIGHTS;
          cm->cmsg_len = CMSG_LEN (sizeof (int));
          memcpy (CMSG_DATA (cm), &notify_fd, sizeof (int));
        }
      n = sendmsg (sock, &mh, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          ret = capsa_make_error (err, n < 0 ? errno : EIO, "send to seccomp listener \"%s\"",
                                  s->listener_path);
          goto out;
        }
      off += (size_t)n;
    }
  ret = 0;
out:
  close (sock);
  free (msg);
  return ret;
}

int capsa_seccomp_send_listener (const struct oci_seccomp *s, int notify_fd, const char *state_json,
                                 capsa_error_t *err)
{
  int sock = listener_connect (s, err);
  if (sock < 0)
    return -1;
  return listener_send (sock, s, notify_fd, state_json, err);
}

#ifndef HAVE_SECCOMP

int capsa_seccomp_prepare (const struct oci_seccomp *s, int fd_floor, capsa_error_t *err)
{
  if (s == NULL)
    return 0;
  return capsa_make_error (err, 0, "config.json: .linux.seccomp: seccomp support not compiled in");
}

void capsa_seccomp_release (void)
{
}

int capsa_seccomp_apply (struct capsa_ctx *ctx, const struct oci_seccomp *s, capsa_error_t *err)
{
  if (s == NULL)
    return 0;
  return capsa_make_error (err, 0, ".linux.seccomp: seccomp support not compiled in");
}

int capsa_seccomp_export (const struct oci_seccomp *s, char **prog, size_t *len, unsigned *flags,
                          capsa_error_t *err)
{
  (void)prog;
  (void)len;
  (void)flags;
  if (s == NULL)
    return 0;
  return capsa_make_error (err, 0, ".linux.seccomp: seccomp support not compiled in");
}

#else

/* Parse "SCMP_ACT_*" at `where`; errno_ret applies to ERRNO and TRACE only (the spec requires
 * an error when errnoRet is given for an action that has none). */
static int parse_action (const char *name, bool has_errno, uint32_t errno_ret, const char *where,
                         uint32_t *out, capsa_error_t *err)
{
  uint32_t e = has_errno ? errno_ret : EPERM;
  bool takes_errno = false;

  if (name == NULL)
    return capsa_make_error (err, 0, "%s: missing action", where);
  if (strcmp (name, "SCMP_ACT_KILL") == 0)
    *out = SCMP_ACT_KILL;
  else if (strcmp (name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp (name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (name, "SCMP_ACT_ERRNO") == 0)
    {
      *out = SCMP_ACT_ERRNO (e);
      takes_errno = true;
    }
  else if (strcmp (name, "SCMP_ACT_TRACE") == 0)
    {
      *out = SCMP_ACT_TRACE (e);
      takes_errno = true;
    }
  else if (strcmp (name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp (name, "SCMP_ACT_NOTIFY") == 0)
    *out = SCMP_ACT_NOTIFY;
  else
    return capsa_make_error (err, 0, "%s: unknown action \"%s\"", where, name);
  if (has_errno && !takes_errno)
    return capsa_make_error (err, 0, "%s: errnoRet is not valid with action \"%s\"", where, name);
  return 0;
}

static int parse_op (const char *name, enum scmp_compare *out)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = { { "SCMP_CMP_NE", SCMP_CMP_NE },
              { "SCMP_CMP_LT", SCMP_CMP_LT },
              { "SCMP_CMP_LE", SCMP_CMP_LE },
              { "SCMP_CMP_EQ", SCMP_CMP_EQ },
              { "SCMP_CMP_GE", SCMP_CMP_GE },
              { "SCMP_CMP_GT", SCMP_CMP_GT },
              { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ } };
  size_t i;

  for (i = 0; name && i < sizeof (ops) / sizeof (ops[0]); i++)
    if (strcmp (name, ops[i].name) == 0)
      {
        *out = ops[i].op;
        return 0;
      }
  return -1;
}

static int set_flags (scmp_filter_ctx f, const struct oci_seccomp *s, capsa_error_t *err)
{
  size_t i;
  int r;

  for (i = 0; i < s->flags_len; i++)
    {
      const char *fl = s->flags[i];
      enum scmp_filter_attr attr;

      if (strcmp (fl, "SECCOMP_FILTER_FLAG_LOG") == 0)
        attr = SCMP_FLTATR_CTL_LOG;
      else if (strcmp (fl, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
        attr = SCMP_FLTATR_CTL_SSB;
      else if (strcmp (fl, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
        attr = SCMP_FLTATR_CTL_TSYNC;
      else if (strcmp (fl, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
        {
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
          attr = SCMP_FLTATR_CTL_WAITKILL;
#else
          return capsa_make_error (err, 0,
                                   ".linux.seccomp.flags[%zu]: \"%s\" needs libseccomp >= 2.6 "
                                   "(built with %d.%d)",
                                   i, fl, SCMP_VER_MAJOR, SCMP_VER_MINOR);
#endif
        }
      else
        return capsa_make_error (err, 0, ".linux.seccomp.flags[%zu]: unknown flag \"%s\"", i, fl);
      r = seccomp_attr_set (f, attr, 1);
      if (r < 0)
        return capsa_make_error (err, -r, ".linux.seccomp.flags[%zu]: \"%s\"", i, fl);
    }
  return 0;
}

static int add_arches (scmp_filter_ctx f, const struct oci_seccomp *s, capsa_error_t *err)
{
  size_t i, j;

  for (i = 0; i < s->architectures_len; i++)
    {
      const char *a = s->architectures[i];
      char lower[64];
      uint32_t token;
      int r;

      if (strncmp (a, "SCMP_ARCH_", 10) != 0 || strlen (a + 10) >= sizeof (lower))
        return capsa_make_error (err, 0,
                                 ".linux.seccomp.architectures[%zu]: unknown architecture "
                                 "\"%s\"",
                                 i, a);
      for (j = 0; a[10 + j]; j++)
        lower[j] = (a[10 + j] >= 'A' && a[10 + j] <= 'Z') ? a[10 + j] - 'A' + 'a' : a[10 + j];
      lower[j] = '\0';
      token = seccomp_arch_resolve_name (lower);
      if (token == 0)
        return capsa_make_error (err, 0,
                                 ".linux.seccomp.architectures[%zu]: unknown architecture "
                                 "\"%s\"",
                                 i, a);
      r = seccomp_arch_add (f, token);
      if (r < 0 && r != -EEXIST)
        return capsa_make_error (err, -r, ".linux.seccomp.architectures[%zu]: add \"%s\"", i, a);
    }
  return 0;
}

static int add_rules (scmp_filter_ctx f, const struct oci_seccomp *s, uint32_t default_action,
                      bool *uses_notify, capsa_error_t *err)
{
  size_t i, j, k;

  for (i = 0; i < s->syscalls_len; i++)
    {
      const struct oci_seccomp_syscall *sc = &s->syscalls[i];
      struct scmp_arg_cmp *cmps = NULL;
      bool repeated = false;
      uint32_t action;
      char where[64];

      snprintf (where, sizeof (where), ".linux.seccomp.syscalls[%zu].action", i);
      if (parse_action (sc->action, sc->errno_ret_present, sc->errno_ret, where, &action, err) < 0)
        return -1;
      if (action == SCMP_ACT_NOTIFY)
        *uses_notify = true;
      /* A rule with the default action is a no-op, and libseccomp refuses it. */
      if (action == default_action)
        continue;
      if (sc->args_len > 0)
        {
          cmps = calloc (sc->args_len, sizeof (*cmps));
          if (cmps == NULL)
            return capsa_make_error (err, ENOMEM, "seccomp rules");
        }
      for (j = 0; j < sc->args_len; j++)
        {
          const struct oci_seccomp_arg *a = &sc->args[j];
          enum scmp_compare op;

          if (parse_op (a->op, &op) < 0)
            {
              free (cmps);
              return capsa_make_error (
                err, 0,
                ".linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator "
                "\"%s\"",
                i, j, a->op ? a->op : "");
            }
          if (a->index > 5)
            {
              free (cmps);
              return capsa_make_error (err, 0,
                                       ".linux.seccomp.syscalls[%zu].args[%zu].index: %u is not in "
                                       "0..5",
                                       i, j, (unsigned)a->index);
            }
          cmps[j].arg = a->index;
          cmps[j].op = op;
          cmps[j].datum_a = a->value;
          cmps[j].datum_b = a->value_two_present ? a->value_two : 0;
          for (k = 0; k < j; k++)
            if (cmps[k].arg == cmps[j].arg)
              repeated = true;
        }
      for (j = 0; j < sc->names_len; j++)
        {
          const char *name = sc->names[j];
          int nr = seccomp_syscall_resolve_name (name), r = 0;

          if (nr == __NR_SCMP_ERROR)
            {
              /* Profiles list syscalls newer than this libseccomp or of other arches. */
              capsa_debug ("seccomp: syscall \"%s\" unknown to libseccomp, skipped", name);
              continue;
            }
          /* libseccomp ANDs the comparisons of one rule but refuses two on the same argument:
           * those become one rule per comparison (OR), as other runtimes do. */
          if (!repeated)
            r = seccomp_rule_add_array (f, action, nr, (unsigned)sc->args_len, cmps);
          else
            for (k = 0; k < sc->args_len && r >= 0; k++)
              r = seccomp_rule_add_array (f, action, nr, 1, &cmps[k]);
          if (r < 0)
            {
              free (cmps);
              return capsa_make_error (err, -r, ".linux.seccomp.syscalls[%zu]: add rule for \"%s\"",
                                       i, name);
            }
        }
      free (cmps);
    }
  return 0;
}

/* Build (without loading) the filter for s; *notify tells whether a rule uses SCMP_ACT_NOTIFY. */
static scmp_filter_ctx build_filter (const struct oci_seccomp *s, bool *notify, capsa_error_t *err)
{
  scmp_filter_ctx f;
  uint32_t def;
  int r;

  *notify = false;
  if (parse_action (s->default_action, s->default_errno_ret_present, s->default_errno_ret,
                    ".linux.seccomp.defaultAction", &def, err)
      < 0)
    return NULL;
  if (def == SCMP_ACT_NOTIFY)
    {
      capsa_make_error (err, 0,
                        ".linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
                        "action");
      return NULL;
    }
  f = seccomp_init (def);
  if (f == NULL)
    {
      capsa_make_error (err, EINVAL, "seccomp_init");
      return NULL;
    }
  /* noNewPrivileges is process.c's decision, not libseccomp's (it sets NNP by default). */
  r = seccomp_attr_set (f, SCMP_FLTATR_CTL_NNP, 0);
  if (r < 0)
    {
      capsa_make_error (err, -r, "seccomp: clear the NNP attribute");
      goto fail;
    }
  if (add_arches (f, s, err) < 0 || set_flags (f, s, err) < 0
      || add_rules (f, s, def, notify, err) < 0)
    goto fail;
  if (*notify && (s->listener_path == NULL || s->listener_path[0] == '\0'))
    {
      capsa_make_error (err, 0, ".linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
      goto fail;
    }
  if (s->listener_metadata && (s->listener_path == NULL || s->listener_path[0] == '\0'))
    {
      capsa_make_error (err, 0, ".linux.seccomp.listenerMetadata: set without listenerPath");
      goto fail;
    }
  return f;
fail:
  seccomp_release (f);
  return NULL;
}

/* What capsa_seccomp_prepare made in the runtime; the container process inherits it with its
 * copy of the runtime's memory and fds. */
static struct
{
  const struct oci_seccomp *for_s;
  scmp_filter_ctx filter;
  bool notify;
  int listener; /* connected to listenerPath, -1 when none */
} prepared = { NULL, NULL, false, -1 };

int capsa_seccomp_prepare (const struct oci_seccomp *s, int fd_floor, capsa_error_t *err)
{
  capsa_seccomp_release ();
  if (s == NULL)
    return 0;
  prepared.filter = build_filter (s, &prepared.notify, err);
  if (prepared.filter == NULL)
    return capsa_error_prefix (err, "config.json");
  prepared.for_s = s;
  if (getenv ("LISTEN_FDS"))
    fd_floor += atoi (getenv ("LISTEN_FDS"));
  if (prepared.notify)
    {
      int sock = listener_connect (s, err);
      if (sock < 0)
        {
          capsa_seccomp_release ();
          return capsa_error_prefix (err, "config.json");
        }
      /* Above the fds the container process keeps (--preserve-fds, LISTEN_FDS). */
      if (sock < fd_floor)
        {
          int n = fcntl (sock, F_DUPFD_CLOEXEC, fd_floor);
          close (sock);
          if (n < 0)
            {
              capsa_seccomp_release ();
              return capsa_make_error (err, errno, "seccomp listener socket");
            }
          sock = n;
        }
      prepared.listener = sock;
    }
  return 0;
}

void capsa_seccomp_release (void)
{
  if (prepared.filter)
    seccomp_release (prepared.filter);
  if (prepared.listener >= 0)
    close (prepared.listener);
  prepared.filter = NULL;
  prepared.for_s = NULL;
  prepared.notify = false;
  prepared.listener = -1;
}

int capsa_seccomp_apply (struct capsa_ctx *ctx, const struct oci_seccomp *s, capsa_error_t *err)
{
  scmp_filter_ctx f;
  bool notify = false, own = false;
  int r, ret = -1;

  if (s == NULL)
    return 0;
  if (prepared.for_s == s && prepared.filter)
    {
      f = prepared.filter;
      notify = prepared.notify;
    }
  else
    {
      f = build_filter (s, &notify, err);
      if (f == NULL)
        return -1;
      own = true;
    }
  r = seccomp_load (f);
  if (r < 0)
    {
      capsa_make_error (err, -r, "load the seccomp filter");
      goto out;
    }
  if (notify)
    {
      int nfd = seccomp_notify_fd (f);
      if (nfd < 0)
        {
          capsa_make_error (err, -nfd, "seccomp notify fd");
          goto out;
        }
      if (ctx && ctx->seccomp_notify)
        r = ctx->seccomp_notify (ctx, nfd, err);
      else if (!own && prepared.listener >= 0)
        {
          /* The connection the runtime made on the host side (listenerPath is a host path,
           * not reachable from inside the container). */
          r = listener_send (prepared.listener, s, nfd, ctx ? ctx->state_json : NULL, err);
          prepared.listener = -1;
        }
      else
        r = capsa_seccomp_send_listener (s, nfd, ctx ? ctx->state_json : NULL, err);
      /* The filter's notify fd must not reach the container process. */
      close (nfd);
      if (r < 0)
        goto out;
    }
  ret = 0;
out:
  if (own)
    seccomp_release (f);
  return ret;
}

int capsa_seccomp_export (const struct oci_seccomp *s, char **prog, size_t *len, unsigned *flags,
                          capsa_error_t *err)
{
  scmp_filter_ctx f;
  bool notify = false;
  struct stat st;
  size_t i;
  int fd = -1, r, ret = -1;

  *prog = NULL;
  *len = 0;
  *flags = 0;
  if (s == NULL)
    return 0;
  f = build_filter (s, &notify, err);
  if (f == NULL)
    return -1;
  if (notify)
    {
      capsa_make_error (err, 0,
                        ".linux.seccomp: SCMP_ACT_NOTIFY (a listener) is not supported here");
      goto out;
    }
  for (i = 0; i < s->flags_len; i++)
    if (strcmp (s->flags[i], "SECCOMP_FILTER_FLAG_LOG") == 0)
      *flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (strcmp (s->flags[i], "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
      *flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (strcmp (s->flags[i], "SECCOMP_FILTER_FLAG_TSYNC") == 0)
      *flags |= SECCOMP_FILTER_FLAG_TSYNC;
  fd = memfd_create ("capsa-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    {
      capsa_make_error (err, errno, "seccomp: memfd_create");
      goto out;
    }
  r = seccomp_export_bpf (f, fd);
  if (r < 0)
    {
      capsa_make_error (err, -r, "seccomp: export the filter");
      goto out;
    }
  if (fstat (fd, &st) < 0 || (*prog = malloc ((size_t)st.st_size + 1)) == NULL
      || pread (fd, *prog, (size_t)st.st_size, 0) != st.st_size)
    {
      capsa_make_error (err, errno ? errno : EIO, "seccomp: read the exported filter");
      free (*prog);
      *prog = NULL;
      goto out;
    }
  *len = (size_t)st.st_size;
  ret = 0;
out:
  if (fd >= 0)
    close (fd);
  seccomp_release (f);
  return ret;
}

#endif
