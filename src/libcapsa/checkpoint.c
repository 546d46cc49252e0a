/* capsa: checkpoint and restore with CRIU, through its command line.
 *
 * Why the command line and not libcriu: Debian's libcriu (3.17) cannot express two things runc's
 * options need, `--empty-ns network` (no setter for the RPC's empty_ns) and the lazy-pages
 * status fd, so a libcriu backend would need the command line beside it anyway; `--criu PATH`
 * names a binary, which the command line runs as it is; and one exec per checkpoint or restore
 * costs `run` nothing (nothing is linked or loaded).  Everything CRIU is told is assembled here,
 * in one argument vector per operation, and CRIU's own log names its reason when it fails.
 *
 * What a container needs beyond the process tree, as runc does it:
 * - mounts whose source lies outside the container (bind mounts, masked files bound from
 *   /dev/null, device nodes bound from the host) are external: at dump each is named by its
 *   mount point (`--external mnt[DEST]:DEST`); at restore the bundle's config maps each to its
 *   source (`--ext-mount-map DEST:SOURCE`);
 * - a network namespace joined by path is external (`net[INODE]:extRootNetNS`) and given back
 *   at restore as an inherited fd of that path; `--empty-ns network` makes CRIU leave it empty;
 * - the process's stdio (pipes of an engine's monitor) are recorded in descriptors.json in the
 *   image directory and, at restore, the pipes capsa itself was given take their place;
 * - the cgroup: restore makes the container's cgroup (with its resources) as create does, CRIU
 *   runs inside it, and `--cgroup-root` points CRIU's cgroup paths there;
 * - the terminal (process.terminal): runc has CRIU make a new pty and send back its master over
 *   RPC (orphan-pts-master), which the command line cannot do.  Here the pty, whose master the
 *   engine holds, is an external tty at dump (`--external tty[RDEV:DEV]`), and so are the
 *   container's /dev/pts and /dev/console mounts; at restore capsa mounts a new devpts as the
 *   config does, opens its pty 0 and gives CRIU the slave (`--inherit-fd`) and the devpts
 *   (`--ext-mount-map`), then sends the master to --console-socket as create does. */
#include <config.h>
#include "internal.h"
#include "cgroup/cgroup.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define DESCRIPTORS_JSON "descriptors.json"
#define EXTERNAL_STDIO "capsa-external-stdio"
/* The majors of Unix98 pty slaves (/dev/pts/N). */
#define PTY_SLAVE_MAJOR_FIRST 136
#define PTY_SLAVE_MAJOR_LAST 143

/* --- an argument vector -------------------------------------------------------------------- */

struct args
{
  char **v;
  size_t n, cap;
  bool oom;
};

static void __attribute__ ((format (printf, 2, 3))) add (struct args *a, const char *fmt, ...)
{
  va_list ap;
  char *s;

  if (a->oom)
    return;
  if (a->n + 2 > a->cap)
    {
      size_t cap = a->cap ? a->cap * 2 : 32;
      char **v = realloc (a->v, cap * sizeof (*v));
      if (v == NULL)
        {
          a->oom = true;
          return;
        }
      a->v = v;
      a->cap = cap;
    }
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    {
      a->oom = true;
      va_end (ap);
      return;
    }
  va_end (ap);
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

static void args_free (struct args *a)
{
  for (size_t i = 0; i < a->n; i++)
    free (a->v[i]);
  free (a->v);
  memset (a, 0, sizeof (*a));
}

/* --- CRIU's reason -------------------------------------------------------------------------- */

/* The first "Error (file:line): reason" line of CRIU's output, as "reason" (malloc'd), or NULL. */
static char *first_criu_error (const char *text)
{
  const char *p = text, *e, *r;

  while (p != NULL && *p != '\0')
    {
      e = strchr (p, '\n');
      r = strstr (p, "Error (");
      if (r != NULL && (e == NULL || r < e))
        {
          const char *q = strstr (r, "): ");
          size_t len;
          r = (q != NULL && (e == NULL || q < e)) ? q + 3 : r;
          len = e ? (size_t)(e - r) : strlen (r);
          return strndup (r, len);
        }
      p = e ? e + 1 : NULL;
    }
  return NULL;
}

/* The error of a failed CRIU run: its reason from the log, and the log's path. */
static int criu_failed (capsa_error_t *err, const char *what, int status, const char *log)
{
  char *text = NULL, *reason = NULL;
  size_t len;
  capsa_error_t tmp = NULL;
  int ret;

  if (capsa_read_file (log, &text, &len, &tmp) == 0)
    reason = first_criu_error (text);
  capsa_error_release (&tmp);
  if (WIFEXITED (status))
    ret = capsa_make_error (err, 0, "criu %s failed: %s (log: %s)", what,
                            reason ? reason : "exit status without a reason in its log", log);
  else
    ret = capsa_make_error (err, 0, "criu %s killed by signal %d (log: %s)", what,
                            WIFSIGNALED (status) ? WTERMSIG (status) : 0, log);
  free (text);
  free (reason);
  return ret;
}

/* Run CRIU with `a` (a->v[0] the binary); *status its wait status.  Its stdout and stderr go to
 * the log (CRIU writes its own with -o; this catches what it prints before that). */
static int run_criu (char **argv, int out_fd, int *status, capsa_error_t *err)
{
  pid_t pid = fork ();

  if (pid < 0)
    return capsa_make_error (err, errno, "fork");
  if (pid == 0)
    {
      if (out_fd >= 0)
        {
          dup2 (out_fd, 1);
          dup2 (out_fd, 2);
        }
      execvp (argv[0], argv);
      _exit (127);
    }
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return capsa_make_error (err, errno, "wait for criu");
  if (WIFEXITED (*status) && WEXITSTATUS (*status) == 127)
    return capsa_make_error (err, ENOENT, "criu `%s`", argv[0]);
  return 0;
}

/* CRIU's output of `criu ARGS...` (stdout and stderr), malloc'd; its exit status, -1 when it
 * could not run (ENOENT from execvp is exit 127). */
static int criu_capture (const char *criu, const char *arg1, const char *arg2, char **out)
{
  int p[2], status;
  pid_t pid;
  size_t len = 0, cap = 4096;
  char *buf = malloc (cap);

  *out = NULL;
  if (buf == NULL || pipe2 (p, O_CLOEXEC) < 0)
    {
      free (buf);
      return -1;
    }
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      free (buf);
      return -1;
    }
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY);
      if (null >= 0)
        dup2 (null, 0);
      dup2 (p[1], 1);
      dup2 (p[1], 2);
      execlp (criu, criu, arg1, arg2, (char *)NULL);
      _exit (127);
    }
  close (p[1]);
  for (;;)
    {
      ssize_t r;
      if (len + 1 >= cap)
        {
          char *nb = cap < (1 << 20) ? realloc (buf, cap * 2) : NULL;
          if (nb == NULL)
            break;
          buf = nb;
          cap *= 2;
        }
      r = read (p[0], buf + len, cap - len - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      len += (size_t)r;
    }
  close (p[0]);
  buf[len] = '\0';
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        free (buf);
        return -1;
      }
  *out = buf;
  if (!WIFEXITED (status))
    return 255;
  return WEXITSTATUS (status) == 127 ? -1 : WEXITSTATUS (status);
}

int capsa_criu_available (const char *criu, char **version, char **reason)
{
  char *out = NULL, *v;
  int rc;

  *version = *reason = NULL;
  if (criu == NULL)
    criu = "criu";
  rc = criu_capture (criu, "--version", NULL, &out);
  if (rc != 0)
    {
      free (out);
      if (asprintf (reason, "criu `%s` not found", criu) < 0)
        *reason = NULL;
      return 0;
    }
  v = strstr (out, "Version: ");
  if (v != NULL)
    *version = strndup (v + 9, strcspn (v + 9, "\n"));
  free (out);
  rc = criu_capture (criu, "check", NULL, &out);
  if (rc == 0)
    {
      free (out);
      return 1;
    }
  {
    char *why = out ? first_criu_error (out) : NULL;
    if (asprintf (reason, "`%s check` failed: %s", criu, why ? why : "no reason given") < 0)
      *reason = NULL;
    free (why);
  }
  free (out);
  return 0;
}

/* --- options shared by checkpoint and restore ----------------------------------------------- */

static int check_common (const char *mode, char **empty_ns, size_t n, bool lazy_pages,
                         capsa_error_t *err)
{
  static const char *const modes[] = { "soft", "full", "strict", "ignore" };
  bool ok = mode == NULL;

  for (size_t i = 0; !ok && i < sizeof (modes) / sizeof (modes[0]); i++)
    ok = strcmp (mode, modes[i]) == 0;
  if (!ok)
    return capsa_make_error (err, 0,
                             "--manage-cgroups-mode: unknown mode \"%s\" (expected soft, full, "
                             "strict or ignore)",
                             mode);
  for (size_t i = 0; i < n; i++)
    if (strcmp (empty_ns[i], "network") != 0)
      return capsa_make_error (err, 0,
                               "--empty-ns: \"%s\" is not supported (only the network namespace "
                               "can be left empty)",
                               empty_ns[i]);
  if (lazy_pages)
    return capsa_make_error (err, 0,
                             "--lazy-pages: not supported: capsa does not run CRIU's lazy-pages "
                             "daemon and page server");
  return 0;
}

static void add_common (struct args *a, const char *mode, size_t empty_ns, bool tcp,
                        bool ext_unix_sk, bool shell_job, bool file_locks, bool auto_dedup)
{
  add (a, "--manage-cgroups=%s", mode ? mode : "soft");
  if (empty_ns > 0)
    {
      add (a, "--empty-ns");
      add (a, "net");
    }
  if (tcp)
    add (a, "--tcp-established");
  if (ext_unix_sk)
    add (a, "--ext-unix-sk");
  if (shell_job)
    add (a, "--shell-job");
  if (file_locks)
    add (a, "--file-locks");
  if (auto_dedup)
    add (a, "--auto-dedup");
}

/* mkdir -p DIR (0700) and its absolute path. */
static char *make_dir (const char *dir, const char *what, capsa_error_t *err)
{
  char *abs;
  if (capsa_mkdir_p (dir, 0700, err) < 0)
    {
      capsa_error_prefix (err, "%s `%s`", what, dir);
      return NULL;
    }
  abs = realpath (dir, NULL);
  if (abs == NULL)
    capsa_make_error (err, errno, "%s `%s`", what, dir);
  return abs;
}

/* The path of the network namespace the config joins, NULL when it makes its own or shares the
 * runtime's. */
static const char *joined_netns (const struct oci_config *cfg)
{
  const struct oci_linux *l = cfg->linux_;
  for (size_t i = 0; l && i < l->namespaces_len; i++)
    if (l->namespaces[i].type && strcmp (l->namespaces[i].type, "network") == 0)
      return l->namespaces[i].path && l->namespaces[i].path[0] ? l->namespaces[i].path : NULL;
  return NULL;
}

/* --- checkpoint ----------------------------------------------------------------------------- */

/* descriptors.json: what fds 0-2 of the container process are ("pipe:[1234]", "/dev/null"). */
static int write_descriptors (pid_t pid, const char *images, capsa_error_t *err)
{
  yajl_gen gen = yajl_gen_alloc (NULL);
  const unsigned char *buf;
  size_t len;
  char path[PATH_MAX], link[PATH_MAX];
  int ret;

  if (gen == NULL)
    return capsa_make_error (err, ENOMEM, "descriptors.json");
  yajl_gen_array_open (gen);
  for (int fd = 0; fd < 3; fd++)
    {
      ssize_t n;
      snprintf (path, sizeof (path), "/proc/%d/fd/%d", pid, fd);
      n = readlink (path, link, sizeof (link) - 1);
      if (n < 0)
        n = 0;
      link[n] = '\0';
      yajl_gen_string (gen, (const unsigned char *)link, (size_t)n);
    }
  yajl_gen_array_close (gen);
  yajl_gen_get_buf (gen, &buf, &len);
  snprintf (path, sizeof (path), "%s/" DESCRIPTORS_JSON, images);
  ret = capsa_write_file (path, buf, len, err);
  yajl_gen_free (gen);
  return ret;
}

static bool is_pty_slave (const struct stat *sb)
{
  return S_ISCHR (sb->st_mode) && major (sb->st_rdev) >= PTY_SLAVE_MAJOR_FIRST
         && major (sb->st_rdev) <= PTY_SLAVE_MAJOR_LAST;
}

/* Whether the process's stdio is a terminal. */
static bool stdio_has_pty (pid_t pid)
{
  char path[64];
  struct stat sb;

  for (int fd = 0; fd < 3; fd++)
    {
      snprintf (path, sizeof (path), "/proc/%d/fd/%d", pid, fd);
      if (stat (path, &sb) == 0 && is_pty_slave (&sb))
        return true;
    }
  return false;
}

/* Whether mount MNT_ID is one of the container's (a line of its /proc/PID/mountinfo starts with
 * it). */
static bool container_has_mount (pid_t pid, int mnt_id)
{
  char path[64], line[4096];
  bool found = false;
  FILE *f;

  snprintf (path, sizeof (path), "/proc/%d/mountinfo", pid);
  f = fopen (path, "re");
  if (f == NULL)
    return true;
  while (!found && fgets (line, sizeof (line), f))
    found = atoi (line) == mnt_id;
  fclose (f);
  return found;
}

/* The stdio of the container's process that CRIU cannot reach through the container's mounts:
 * files the engine opened on the host (conmon's /dev/null for stdin) are external files,
 * `file[MNT_ID:INODE]` at dump (--external) and given back at restore as the fd of the same number
 * capsa was given (--inherit-fd).  Their keys are kept in the image directory, one "FD KEY"
 * line each, since descriptors.json (as runc writes it) names only paths. */
static int add_external_stdio (struct args *a, pid_t pid, const char *images, bool record,
                               capsa_error_t *err)
{
  char path[PATH_MAX + 32], keys[512] = "";
  size_t used = 0;

  for (int fd = 0; fd < 3; fd++)
    {
      char line[256];
      struct stat sb;
      int mnt_id = -1;
      FILE *f;

      snprintf (path, sizeof (path), "/proc/%d/fd/%d", pid, fd);
      if (stat (path, &sb) < 0 || !(S_ISREG (sb.st_mode) || S_ISCHR (sb.st_mode)))
        continue;
      if (is_pty_slave (&sb))
        {
          /* The terminal (process.terminal): its master is the engine's, outside the dump, so
           * the pty is external, and a restore gives the process a new one (--inherit-fd). */
          char key[80];
          snprintf (key, sizeof (key), "tty[%llx:%llx]", (unsigned long long)sb.st_rdev,
                    (unsigned long long)sb.st_dev);
          if (strstr (keys, key) == NULL)
            {
              add (a, "--external");
              add (a, "%s", key);
            }
          used += (size_t)snprintf (keys + used, sizeof (keys) - used, "%d %s\n", fd, key);
          continue;
        }
      snprintf (path, sizeof (path), "/proc/%d/fdinfo/%d", pid, fd);
      f = fopen (path, "re");
      if (f == NULL)
        continue;
      while (fgets (line, sizeof (line), f))
        if (sscanf (line, "mnt_id: %d", &mnt_id) == 1)
          break;
      fclose (f);
      if (mnt_id < 0 || container_has_mount (pid, mnt_id))
        continue;
      add (a, "--external");
      add (a, "file[%x:%lx]", (unsigned)mnt_id, (unsigned long)sb.st_ino);
      used += (size_t)snprintf (keys + used, sizeof (keys) - used, "%d file[%x:%lx]\n", fd,
                                (unsigned)mnt_id, (unsigned long)sb.st_ino);
    }
  if (!record)
    return 0;
  snprintf (path, sizeof (path), "%s/" EXTERNAL_STDIO, images);
  if (used == 0)
    return unlink (path) < 0 && errno != ENOENT ? capsa_make_error (err, errno, "remove `%s`", path)
                                                : 0;
  return capsa_write_file (path, keys, used, err);
}

/* At restore: each external stdio file of the checkpoint is the fd of that number capsa has; its
 * terminal is the new pty TTY_FD (once: CRIU takes each key once). */
static int add_inherited_external_stdio (struct args *a, const char *images, int tty_fd,
                                         capsa_error_t *err)
{
  char path[PATH_MAX + 32], *text = NULL, *line, *save = NULL, done[256] = "";
  size_t len;

  snprintf (path, sizeof (path), "%s/" EXTERNAL_STDIO, images);
  if (access (path, F_OK) < 0)
    return 0;
  if (capsa_read_file (path, &text, &len, err) < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      int fd;
      char key[128];
      if (sscanf (line, "%d %127s", &fd, key) != 2 || fd < 0 || fd > 2
          || (strncmp (key, "file[", 5) != 0 && strncmp (key, "tty[", 4) != 0))
        {
          free (text);
          return capsa_make_error (err, 0, "%s: bad line \"%s\"", path, line);
        }
      if (key[0] == 't')
        {
          if (tty_fd < 0)
            {
              free (text);
              return capsa_make_error (err, 0,
                                       "the checkpoint's process has a terminal: config.json's "
                                       ".process.terminal must be true");
            }
          if (strstr (done, key) != NULL || strlen (done) + strlen (key) + 1 >= sizeof (done))
            continue;
          strcat (done, key);
          fd = tty_fd;
        }
      add (a, "--inherit-fd");
      add (a, "fd[%d]:%s", fd, key);
    }
  free (text);
  return 0;
}

static bool fs_criu_makes (const char *type)
{
  static const char *const types[]
    = { "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "binfmt_misc" };
  for (size_t i = 0; i < sizeof (types) / sizeof (types[0]); i++)
    if (strcmp (type, types[i]) == 0)
      return true;
  return false;
}

struct mnt
{
  char *dev, *root, *point, *type;
};

/* The mounts of the container (its /proc/PID/mountinfo) whose source CRIU cannot find inside it
 * become external mounts, named by their mount point: every mount of a filesystem CRIU does not
 * make itself (binds of host directories and files), and the binds of part of a filesystem
 * (e.g. /dev/null of the host onto a masked file) of which no whole mount is in the container.
 * With a terminal (TTY), /dev/pts and /dev/console too: the restore gives the container a new
 * devpts with the new terminal in it. */
static int add_external_mounts (struct args *a, pid_t pid, bool tty, capsa_error_t *err)
{
  char path[64], *text = NULL, *line, *save = NULL;
  size_t len, n = 0;
  struct mnt *m = NULL;

  snprintf (path, sizeof (path), "/proc/%d/mountinfo", pid);
  if (capsa_read_file (path, &text, &len, err) < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[10] = { 0 }, *s2 = NULL, *tok;
      size_t k = 0;
      bool after_dash = false;
      struct mnt *nm;
      for (tok = strtok_r (line, " ", &s2); tok && k < 10; tok = strtok_r (NULL, " ", &s2))
        {
          if (strcmp (tok, "-") == 0)
            {
              after_dash = true;
              k = 5;
              f[k++] = NULL;
              continue;
            }
          if (!after_dash && k >= 5)
            continue; /* optional fields */
          f[k++] = tok;
        }
      if (k < 7 || f[6] == NULL)
        continue;
      nm = realloc (m, (n + 1) * sizeof (*m));
      if (nm == NULL)
        break;
      m = nm;
      m[n].dev = f[2];
      m[n].root = f[3];
      m[n].point = f[4];
      m[n].type = f[6];
      n++;
    }
  for (size_t i = 0; i < n; i++)
    {
      bool external;
      if (strcmp (m[i].point, "/") == 0)
        continue; /* the rootfs: --root at restore */
      external = !fs_criu_makes (m[i].type);
      /* A cgroup mount's root reads relative to the reader's cgroup namespace (capsa's), not the
       * container's: CRIU restores those mounts with the cgroup namespace. */
      if (!external && strcmp (m[i].root, "/") != 0 && strncmp (m[i].type, "cgroup", 6) != 0)
        {
          external = true;
          for (size_t j = 0; j < n; j++)
            if (strcmp (m[j].dev, m[i].dev) == 0 && strcmp (m[j].root, "/") == 0)
              external = false;
        }
      if (tty && strcmp (m[i].type, "devpts") == 0
          && (strcmp (m[i].point, "/dev/pts") == 0 || strcmp (m[i].point, "/dev/console") == 0))
        external = true;
      if (external)
        {
          add (a, "--external");
          add (a, "mnt[%s]:%s", m[i].point, m[i].point);
        }
    }
  free (m);
  free (text);
  return 0;
}

static int checkpoint_args (struct args *a, struct capsa_global *g,
                            const struct capsa_checkpoint_opts *o, const struct oci_config *cfg,
                            pid_t pid, const char *images, const char *work, capsa_error_t *err)
{
  const char *netns = joined_netns (cfg);
  bool track = o->pre_dump || o->parent_path != NULL;

  add (a, "%s", g->criu ? g->criu : "criu");
  add (a, "%s", o->pre_dump ? "pre-dump" : "dump");
  add (a, "--tree");
  add (a, "%d", pid);
  add (a, "--images-dir");
  add (a, "%s", images);
  add (a, "--work-dir");
  add (a, "%s", work);
  add (a, "--log-file");
  add (a, "%s", o->pre_dump ? "pre-dump.log" : "dump.log");
  add (a, "-v4");
  if (track)
    add (a, "--track-mem");
  if (o->parent_path)
    {
      add (a, "--prev-images-dir");
      add (a, "%s", o->parent_path);
    }
  if (o->leave_running && !o->pre_dump)
    add (a, "--leave-running");
  add_common (a, o->manage_cgroups_mode, o->empty_ns_len, o->tcp_established, o->ext_unix_sk,
              o->shell_job, o->file_locks, o->auto_dedup);
  if (add_external_mounts (a, pid, stdio_has_pty (pid), err) < 0
      || add_external_stdio (a, pid, images, !o->pre_dump, err) < 0)
    return -1;
  if (netns != NULL && o->empty_ns_len == 0)
    {
      struct stat sb;
      if (stat (netns, &sb) < 0)
        return capsa_make_error (err, errno, "config.json: .linux.namespaces: network `%s`", netns);
      add (a, "--external");
      add (a, "net[%lu]:extRootNetNS", (unsigned long)sb.st_ino);
    }
  if (a->oom)
    return capsa_make_error (err, ENOMEM, "criu arguments");
  return 0;
}

int capsa_container_checkpoint (struct capsa_global *g, const struct capsa_checkpoint_opts *o,
                                capsa_error_t *err)
{
  char *dir = NULL, *images = NULL, *work = NULL, path[PATH_MAX + 32], *msg = NULL;
  struct capsa_state_file st;
  struct oci_config *cfg = NULL;
  struct args a = { 0 };
  const char *status;
  int dfd, ret = -1, wstatus, logfd = -1;
  bool have_state = false;

  if (check_common (o->manage_cgroups_mode, o->empty_ns, o->empty_ns_len, o->lazy_pages, err) < 0)
    goto out;
  if (o->status_fd >= 0)
    {
      capsa_make_error (err, 0,
                        "--status-fd: only used with --lazy-pages, which capsa does not "
                        "support");
      goto out;
    }
  dfd = capsa_state_open_locked (g, o->id, &dir, err);
  if (dfd < 0)
    goto out;
  if (capsa_state_read (dir, &st, err) < 0)
    goto out_dir;
  have_state = true;
  if (st.vm)
    {
      capsa_make_error (err, 0,
                        "not possible in VM isolation mode: CRIU cannot save a VM, and "
                        "QEMU's migration is blocked by the VM's mounted virtio-9p rootfs");
      goto out_dir;
    }
  status = capsa_state_status (dir, &st);
  if (strcmp (status, "running") != 0)
    {
      capsa_make_error (err, 0, "cannot checkpoint a container that is %s", status);
      goto out_dir;
    }
  snprintf (path, sizeof (path), "%s/config.json", dir);
  cfg = oci_config_parse_file (path, "config.json", &msg);
  if (cfg == NULL)
    {
      capsa_make_error (err, 0, "%s", msg ? msg : "config.json: cannot parse");
      goto out_dir;
    }
  images = make_dir (o->image_path ? o->image_path : "checkpoint", "image path", err);
  if (images == NULL)
    goto out_dir;
  work = make_dir (o->work_path ? o->work_path : images, "work path", err);
  if (work == NULL)
    goto out_dir;
  if (!o->pre_dump && write_descriptors (st.pid, images, err) < 0)
    goto out_dir;
  if (checkpoint_args (&a, g, o, cfg, st.pid, images, work, err) < 0)
    goto out_dir;
  snprintf (path, sizeof (path), "%s/%s", work, o->pre_dump ? "pre-dump.log" : "dump.log");
  if (run_criu (a.v, logfd, &wstatus, err) < 0)
    goto out_dir;
  if (!WIFEXITED (wstatus) || WEXITSTATUS (wstatus) != 0)
    {
      criu_failed (err, o->pre_dump ? "pre-dump" : "dump", wstatus, path);
      goto out_dir;
    }
  ret = 0;
  capsa_trace (o->id, status, capsa_state_status (dir, &st));
  capsa_fault_point ("checkpoint:after-dump");
out_dir:
  close (dfd);
  /* Without --leave-running CRIU ended the container's processes once they were saved: the
   * container is gone, as with runc (delete runs its poststop hooks and removes its cgroup).
   * Only this one: the id may name another container once the lock is closed. */
  if (ret == 0 && !o->leave_running && !o->pre_dump)
    ret = capsa_container_delete_own (g, o->id, st.pid, st.start_time, err);
out:
  if (have_state)
    capsa_state_file_free (&st);
  if (cfg)
    oci_config_free (cfg);
  args_free (&a);
  free (msg);
  free (dir);
  free (images);
  free (work);
  return ret < 0 ? capsa_error_prefix (err, "checkpoint container `%s`", o->id) : 0;
}

/* --- restore -------------------------------------------------------------------------------- */

/* descriptors.json of the checkpoint: its pipes, each replaced by the fd of the same number
 * capsa was given (`--inherit-fd fd[N]:pipe:[INODE]`). */
static int add_inherited_stdio (struct args *a, const char *images, capsa_error_t *err)
{
  char path[PATH_MAX + 32], *text = NULL, errbuf[256];
  size_t len;
  yajl_val tree;
  int ret = 0;

  snprintf (path, sizeof (path), "%s/" DESCRIPTORS_JSON, images);
  if (access (path, F_OK) < 0)
    return 0;
  if (capsa_read_file (path, &text, &len, err) < 0)
    return -1;
  tree = yajl_tree_parse (text, errbuf, sizeof (errbuf));
  if (tree == NULL || !YAJL_IS_ARRAY (tree))
    ret = capsa_make_error (err, 0, "%s: not a JSON array of strings", path);
  for (size_t i = 0; ret == 0 && i < tree->u.array.len && i < 3; i++)
    {
      const char *s
        = YAJL_IS_STRING (tree->u.array.values[i]) ? tree->u.array.values[i]->u.string : "";
      bool seen = false;
      /* stdout and stderr are often one pipe: CRIU takes each key once */
      for (size_t j = 0; j < i; j++)
        seen = seen
               || (YAJL_IS_STRING (tree->u.array.values[j])
                   && strcmp (tree->u.array.values[j]->u.string, s) == 0);
      if (!seen && strncmp (s, "pipe:", 5) == 0)
        {
          add (a, "--inherit-fd");
          add (a, "fd[%zu]:%s", i, s);
        }
    }
  if (tree)
    yajl_tree_free (tree);
  free (text);
  return ret;
}

/* Where each external mount of the checkpoint comes from on this host, from the bundle's config:
 * bind mounts (destination -> source), masked paths (-> /dev/null) and device nodes (-> the
 * host's node).  Extra entries are harmless: CRIU looks up only the mounts it has. */
static void add_mount_map (struct args *a, const struct capsa_ctx *ctx)
{
  const struct oci_config *c = ctx->config;
  const struct oci_linux *l = c->linux_;

  for (size_t i = 0; i < c->mounts_len; i++)
    {
      const struct oci_mount *m = &c->mounts[i];
      bool bind = m->type && strcmp (m->type, "bind") == 0;
      char src[PATH_MAX];
      for (size_t k = 0; !bind && k < m->options_len; k++)
        bind = strcmp (m->options[k], "bind") == 0 || strcmp (m->options[k], "rbind") == 0;
      if (!bind || m->source == NULL || m->destination == NULL)
        continue;
      if (m->source[0] == '/')
        snprintf (src, sizeof (src), "%s", m->source);
      else
        snprintf (src, sizeof (src), "%s/%s", ctx->bundle, m->source);
      add (a, "--ext-mount-map");
      add (a, "%s:%s", m->destination, src);
    }
  for (size_t i = 0; l && i < l->masked_paths_len; i++)
    {
      add (a, "--ext-mount-map");
      add (a, "%s:/dev/null", l->masked_paths[i]);
    }
  for (size_t i = 0; l && i < l->devices_len; i++)
    if (l->devices[i].path)
      {
        add (a, "--ext-mount-map");
        add (a, "%s:%s", l->devices[i].path, l->devices[i].path);
      }
  {
    static const char *const devs[]
      = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty" };
    for (size_t i = 0; i < sizeof (devs) / sizeof (devs[0]); i++)
      {
        add (a, "--ext-mount-map");
        add (a, "%s:%s", devs[i], devs[i]);
      }
  }
}

/* The mount points of the config's bind mounts, made in the rootfs where missing (as create
 * makes them): CRIU mounts onto them and fails on one that is not there, e.g. the /etc/hosts of an
 * engine in a container restored from an exported checkpoint onto a fresh rootfs.  Those below
 * /dev, /proc and /sys lie on filesystems CRIU mounts itself. */
static int make_bind_mount_points (const struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_config *c = ctx->config;
  int rootfd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (rootfd < 0)
    return capsa_make_error (err, errno, "rootfs `%s`", ctx->rootfs);
  for (size_t i = 0; i < c->mounts_len; i++)
    {
      const struct oci_mount *m = &c->mounts[i];
      bool bind = m->type && strcmp (m->type, "bind") == 0;
      char src[PATH_MAX];
      struct stat sb;
      int fd;

      for (size_t k = 0; !bind && k < m->options_len; k++)
        bind = strcmp (m->options[k], "bind") == 0 || strcmp (m->options[k], "rbind") == 0;
      if (!bind || m->source == NULL || m->destination == NULL
          || strncmp (m->destination, "/dev/", 5) == 0 || strncmp (m->destination, "/proc/", 6) == 0
          || strncmp (m->destination, "/sys/", 5) == 0)
        continue;
      snprintf (src, sizeof (src), "%s%s%s", m->source[0] == '/' ? "" : ctx->bundle,
                m->source[0] == '/' ? "" : "/", m->source);
      if (stat (src, &sb) < 0)
        {
          close (rootfd);
          return capsa_make_error (err, errno, "config.json: .mounts[%zu].source: `%s`", i, src);
        }
      fd = capsa_open_in_root (rootfd, m->destination, true, !S_ISDIR (sb.st_mode), err);
      if (fd < 0)
        {
          close (rootfd);
          return capsa_error_prefix (err, "config.json: .mounts[%zu].destination", i);
        }
      close (fd);
    }
  close (rootfd);
  return 0;
}

static bool config_has_ns (const struct oci_config *cfg, const char *type)
{
  const struct oci_linux *l = cfg->linux_;
  for (size_t i = 0; l && i < l->namespaces_len; i++)
    if (l->namespaces[i].type && strcmp (l->namespaces[i].type, type) == 0)
      return true;
  return false;
}

/* The restore's own mount namespace, so that what it mounts for CRIU vanishes with it: the
 * rootfs bound at <state>/criu-root (CRIU's --root must be a mount point). */
static int prepare_criu_root (const char *rootfs, const char *root, capsa_error_t *err)
{
  if (unshare (CLONE_NEWNS) < 0)
    return capsa_make_error (err, errno, "unshare the mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return capsa_make_error (err, errno, "make / private");
  if (mkdir (root, 0755) < 0 && errno != EEXIST)
    return capsa_make_error (err, errno, "mkdir `%s`", root);
  if (mount (rootfs, root, NULL, MS_BIND | MS_REC, NULL) < 0)
    return capsa_make_error (err, errno, "bind the rootfs `%s` on `%s`", rootfs, root);
  return 0;
}

/* In CRIU's process before exec: its cgroup (the container's, where the runtime just put it) is
 * the root CRIU restores the container's cgroups under. */
static void add_cgroup_root (struct args *a)
{
  char *text = NULL, *line, *save = NULL, *path = NULL;
  size_t len;
  capsa_error_t tmp = NULL;

  if (capsa_read_file ("/proc/self/cgroup", &text, &len, &tmp) < 0)
    {
      capsa_error_release (&tmp);
      return;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *p = strchr (line, ':');
      p = p ? strchr (p + 1, ':') : NULL;
      if (p == NULL)
        continue;
      if (strncmp (line, "0::", 3) == 0 || path == NULL)
        path = p + 1;
      if (strncmp (line, "0::", 3) == 0)
        break;
    }
  if (path != NULL && strcmp (path, "/") != 0)
    {
      add (a, "--cgroup-root");
      add (a, "%s", path);
    }
  free (text);
}

/* Run CRIU's restore inside the container's cgroup: the child waits until the runtime moved it
 * there, then execs CRIU, whose restored tasks (its siblings: --restore-sibling) stay in it. */
static int spawn_restore (struct args *a, struct capsa_cgroup *cg, int *status, capsa_error_t *err)
{
  int go[2];
  pid_t pid;
  char c = 0;

  if (pipe2 (go, O_CLOEXEC) < 0)
    return capsa_make_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (go[0]);
      close (go[1]);
      return capsa_make_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      close (go[1]);
      if (read (go[0], &c, 1) != 1)
        _exit (126);
      add_cgroup_root (a);
      if (a->oom)
        _exit (126);
      execvp (a->v[0], a->v);
      _exit (127);
    }
  close (go[0]);
  if (cg->mgr && cg->mgr->enter (cg, pid, err) < 0)
    {
      close (go[1]);
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      return -1;
    }
  if (write (go[1], &c, 1) != 1)
    c = 1;
  close (go[1]);
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return capsa_make_error (err, errno, "wait for criu");
  if (WIFEXITED (*status) && WEXITSTATUS (*status) == 127)
    return capsa_make_error (err, ENOENT, "criu `%s`", a->v[0]);
  return 0;
}

/* The container's new terminal, in the restore's mount namespace: a new devpts as the config's
 * /dev/pts mount makes it, mounted at PTS (*pts_mounted), so that the pty is /dev/pts/0 of the
 * container as at create (without such a mount, a pty of the host's /dev/ptmx).  Returns the
 * master; *slave the peer, left open across exec for CRIU (--inherit-fd), PATH its path. */
static int new_terminal (const struct capsa_ctx *ctx, const char *pts, bool *pts_mounted,
                         int *slave, char *path, size_t path_len, capsa_error_t *err)
{
  const struct oci_config *c = ctx->config;
  const struct oci_mount *m = NULL;
  int master;

  for (size_t i = 0; i < c->mounts_len; i++)
    if (c->mounts[i].destination && strcmp (c->mounts[i].destination, "/dev/pts") == 0
        && c->mounts[i].type && strcmp (c->mounts[i].type, "devpts") == 0)
      m = &c->mounts[i];
  if (m != NULL)
    {
      struct capsa_mount_opts mo = { 0 };
      int r;
      if (capsa_parse_mount_options (m->options, m->options_len, &mo, err) < 0)
        return -1;
      if (mkdir (pts, 0755) < 0 && errno != EEXIST)
        {
          capsa_mount_opts_free (&mo);
          return capsa_make_error (err, errno, "mkdir `%s`", pts);
        }
      r = mount ("devpts", pts, "devpts", mo.flags, mo.data);
      capsa_mount_opts_free (&mo);
      if (r < 0)
        return capsa_make_error (err, errno, "mount devpts on `%s`", pts);
      *pts_mounted = true;
    }
  master = capsa_pty_new (c->process, m ? pts : NULL, slave, path, path_len, err);
  if (master < 0)
    return -1;
  if (fcntl (*slave, F_SETFD, 0) < 0)
    {
      close (master);
      close (*slave);
      *slave = -1;
      return capsa_make_error (err, errno, "pty `%s`", path);
    }
  return master;
}

static int restore_args (struct args *a, struct capsa_global *g, const struct capsa_restore_opts *o,
                         struct capsa_ctx *ctx, const char *images, const char *work,
                         const char *root, const char *pidfile, int tty_fd, const char *tty_path,
                         const char *pts, int *netns_fd, capsa_error_t *err)
{
  const char *netns = joined_netns (ctx->config);

  add (a, "%s", g->criu ? g->criu : "criu");
  add (a, "restore");
  add (a, "--images-dir");
  add (a, "%s", images);
  add (a, "--work-dir");
  add (a, "%s", work);
  add (a, "--log-file");
  add (a, "restore.log");
  add (a, "-v4");
  add (a, "--root");
  add (a, "%s", root);
  add (a, "--restore-detached");
  add (a, "--restore-sibling");
  add (a, "--pidfile");
  add (a, "%s", pidfile);
  add_common (a, o->manage_cgroups_mode, o->empty_ns_len, o->tcp_established, o->ext_unix_sk,
              o->shell_job, o->file_locks, o->auto_dedup);
  add_mount_map (a, ctx);
  if (pts != NULL)
    {
      add (a, "--ext-mount-map");
      add (a, "/dev/pts:%s", pts);
    }
  if (tty_path != NULL)
    {
      add (a, "--ext-mount-map");
      add (a, "/dev/console:%s", tty_path);
    }
  if (add_inherited_stdio (a, images, err) < 0
      || add_inherited_external_stdio (a, images, tty_fd, err) < 0)
    return -1;
  if (netns != NULL && o->empty_ns_len == 0)
    {
      /* Not O_CLOEXEC: CRIU inherits it. */
      *netns_fd = open (netns, O_RDONLY);
      if (*netns_fd < 0)
        return capsa_make_error (err, errno, "config.json: .linux.namespaces: network `%s`", netns);
      add (a, "--inherit-fd");
      add (a, "fd[%d]:extRootNetNS", *netns_fd);
    }
  if (a->oom)
    return capsa_make_error (err, ENOMEM, "criu arguments");
  return 0;
}

static pid_t read_pid_file (const char *path, capsa_error_t *err)
{
  char *text = NULL;
  size_t len;
  long v;

  if (capsa_read_file (path, &text, &len, err) < 0)
    return -1;
  v = strtol (text, NULL, 10);
  free (text);
  if (v <= 0)
    return capsa_make_error (err, 0, "criu wrote no pid to `%s`", path);
  return (pid_t)v;
}

int capsa_container_restore (struct capsa_global *g, const struct capsa_restore_opts *o,
                             capsa_error_t *err)
{
  struct capsa_ctx ctx = { 0 };
  struct capsa_create_opts co = { 0 };
  struct capsa_state_file st = { 0 };
  struct capsa_cgroup cg = { 0 };
  struct args a = { 0 };
  char *dir = NULL, *images = NULL, *work = NULL, created[64];
  char root[PATH_MAX + 16], pidfile[PATH_MAX + 16], log[PATH_MAX + 16], tty_path[PATH_MAX + 32];
  char pts[PATH_MAX + 16];
  int dirfd = -1, netns_fd = -1, wstatus, ret = -1, tty_master = -1, tty_slave = -1;
  pid_t pid = -1;
  bool mounted = false, pts_mounted = false;

  ctx.rootfs_fd = ctx.console_socket_fd = ctx.exec_fifo_fd = -1;
  ctx.g = g;
  ctx.id = o->id;
  co.id = o->id;
  co.bundle = o->bundle;
  co.no_pivot = o->no_pivot;

  if (capsa_validate_id (o->id, err) < 0
      || check_common (o->manage_cgroups_mode, o->empty_ns, o->empty_ns_len, o->lazy_pages, err) < 0
      || capsa_ctx_load_bundle (&ctx, &co, err) < 0)
    goto out;
  if (ctx.vm)
    {
      capsa_make_error (err, 0, "not possible in VM isolation mode: CRIU cannot restore a VM");
      goto out;
    }
  if (ctx.config->process->terminal)
    {
      /* A new pty: CRIU gives its slave to the process (the checkpoint's terminal was external)
       * and binds it onto /dev/console; its master goes to --console-socket, as at create. */
      if (o->console_socket == NULL && o->detach)
        {
          capsa_make_error (err, 0,
                            "cannot allocate tty if capsa will detach without setting console "
                            "socket");
          goto out;
        }
      if (o->console_socket)
        {
          ctx.console_socket_fd = capsa_console_socket_open (o->console_socket, err);
          if (ctx.console_socket_fd < 0)
            goto out;
        }
    }
  else if (o->console_socket)
    {
      capsa_make_error (err, 0, "--console-socket: the container has no terminal");
      goto out;
    }
  images = realpath (o->image_path ? o->image_path : "checkpoint", NULL);
  if (images == NULL)
    {
      capsa_make_error (err, errno, "image path `%s`",
                        o->image_path ? o->image_path : "checkpoint");
      goto out;
    }
  work = make_dir (o->work_path ? o->work_path : images, "work path", err);
  if (work == NULL)
    goto out;

  /* The container as create makes it, up to its process: state dir, config, cgroup. */
  dirfd = capsa_state_create_dir (g, o->id, &dir, err);
  if (dirfd < 0)
    goto out;
  capsa_fault_point ("restore:after-state-dir");
  capsa_now_rfc3339 (created, sizeof (created));
  st.id = strdup (o->id);
  st.bundle = strdup (ctx.bundle);
  st.rootfs = strdup (ctx.rootfs);
  st.created = strdup (created);
  if (capsa_write_file_at (dirfd, "config.json", ctx.config_text, ctx.config_len, err) < 0
      || capsa_ctx_plan_cgroup (g, &ctx, &cg, err) < 0)
    goto fail;
  capsa_state_set_cgroup (&st, &cg);
  if (capsa_state_write (dir, &st, err) < 0 || capsa_ctx_create_cgroup (g, &ctx, &cg, err) < 0)
    goto fail;
  if (capsa_state_set_cgroup (&st, &cg) && capsa_state_write (dir, &st, err) < 0)
    goto fail;
  capsa_trace (o->id, "none", "creating");

  /* CRIU restores the process tree into it. */
  snprintf (root, sizeof (root), "%s/criu-root", dir);
  snprintf (pidfile, sizeof (pidfile), "%s/criu.pid", dir);
  snprintf (log, sizeof (log), "%s/restore.log", work);
  if (make_bind_mount_points (&ctx, err) < 0 || prepare_criu_root (ctx.rootfs, root, err) < 0)
    goto fail;
  mounted = true;
  snprintf (pts, sizeof (pts), "%s/criu-pts", dir);
  if (ctx.config->process->terminal)
    {
      tty_master
        = new_terminal (&ctx, pts, &pts_mounted, &tty_slave, tty_path, sizeof (tty_path), err);
      if (tty_master < 0)
        goto fail;
    }
  if (restore_args (&a, g, o, &ctx, images, work, root, pidfile, tty_slave,
                    tty_master >= 0 ? tty_path : NULL, pts_mounted ? pts : NULL, &netns_fd, err)
        < 0
      || spawn_restore (&a, &cg, &wstatus, err) < 0)
    goto fail;
  if (!WIFEXITED (wstatus) || WEXITSTATUS (wstatus) != 0)
    {
      criu_failed (err, "restore", wstatus, log);
      goto fail;
    }
  pid = read_pid_file (pidfile, err);
  if (pid < 0)
    goto fail;
  capsa_fault_point ("restore:after-criu");
  unlink (pidfile);
  if (pts_mounted)
    {
      umount2 (pts, MNT_DETACH);
      rmdir (pts);
      pts_mounted = false;
    }
  if (tty_slave >= 0)
    {
      close (tty_slave);
      tty_slave = -1;
    }
  if (tty_master >= 0 && ctx.console_socket_fd >= 0)
    {
      if (capsa_send_fd (ctx.console_socket_fd, tty_master, err) < 0)
        {
          capsa_error_prefix (err, "--console-socket");
          goto fail;
        }
      close (tty_master);
      tty_master = -1;
    }
  umount2 (root, MNT_DETACH);
  rmdir (root);
  mounted = false;

  /* The systemd manager knows its scope's cgroup once `enter` started it. */
  capsa_state_set_cgroup (&st, &cg);
  st.pid = pid;
  st.start_time = capsa_process_start_time (pid);
  st.pidns = config_has_ns (ctx.config, "pid");
  st.started = true;
  st.vm = false;
  if (ctx.config->hooks)
    st.poststop_hooks = ctx.config->hooks->poststop_len > 0;
  if (capsa_state_write (dir, &st, err) < 0)
    goto fail;
  capsa_trace (o->id, "creating", capsa_state_status (dir, &st));
  if (o->pid_file)
    {
      char buf[32];
      int n = snprintf (buf, sizeof (buf), "%d", pid);
      if (capsa_write_file_atomic (o->pid_file, buf, (size_t)n, err) < 0)
        {
          capsa_error_prefix (err, "pid file");
          goto fail;
        }
    }
  ret = 0;
  if (!o->detach)
    {
      /* As `run` in the foreground: wait for the container's process, then delete it. */
      int status = 0;
      capsa_error_t tmp = NULL;
      close (dirfd);
      dirfd = -1;
      if (!o->no_subreaper)
        prctl (PR_SET_CHILD_SUBREAPER, 1);
      /* A terminal without --console-socket: proxied to capsa's stdio, as `run` does. */
      if (tty_master >= 0 && capsa_terminal_proxy (tty_master, &tmp) < 0)
        capsa_error_release (&tmp);
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
      ret = capsa_exit_status (status);
      if (capsa_container_delete_own (g, o->id, pid, st.start_time, &tmp) < 0)
        capsa_error_release (&tmp);
    }
  goto out;

fail:
  if (pts_mounted)
    {
      umount2 (pts, MNT_DETACH);
      rmdir (pts);
    }
  if (mounted)
    {
      umount2 (root, MNT_DETACH);
      rmdir (root);
    }
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
  capsa_cgroup_destroy_quiet (&cg);
  {
    capsa_error_t tmp = NULL;
    if (dir && st.pid > 0)
      capsa_trace (o->id, capsa_state_status (dir, &st), "none");
    if (dir)
      capsa_state_remove_dir (dir, &tmp);
    capsa_error_release (&tmp);
  }
out:
  if (cg.mgr)
    cg.mgr->release (&cg);
  if (netns_fd >= 0)
    close (netns_fd);
  if (tty_slave >= 0)
    close (tty_slave);
  if (tty_master >= 0)
    close (tty_master);
  if (dirfd >= 0)
    close (dirfd);
  capsa_state_file_free (&st);
  capsa_ctx_release (&ctx);
  args_free (&a);
  free (dir);
  free (images);
  free (work);
  return ret < 0 ? capsa_error_prefix (err, "restore container `%s`", o->id) : ret;
}
