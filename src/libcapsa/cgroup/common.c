/* capsa: cgroup mode detection, manager lookup and helpers shared by the cgroup managers. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup-private.h"
#include "fault.h"
#include "internal.h"

static struct cg_host host;
static bool host_done;

bool cg_list_has (const char *list, const char *name)
{
  size_t len = strlen (name);
  const char *p = list;

  while (p && *p)
    {
      const char *end = strchr (p, ',');
      size_t l = end ? (size_t)(end - p) : strlen (p);
      if (l == len && memcmp (p, name, len) == 0)
        return true;
      p = end ? end + 1 : NULL;
    }
  return false;
}

/* Decode mountinfo's octal escapes (\040 for a space) in place. */
static void unescape (char *s)
{
  char *w = s;
  for (; *s; s++)
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0'
          && s[3] <= '7')
        {
          *w++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
          s += 3;
        }
      else
        *w++ = *s;
    }
  *w = '\0';
}

/* Every controller of the /proc/self/cgroup list `ctrls` is among the super options. */
static bool super_matches (const char *super, const char *ctrls)
{
  const char *p = ctrls;
  while (*p)
    {
      const char *end = strchr (p, ',');
      size_t l = end ? (size_t)(end - p) : strlen (p);
      char name[64];
      if (l == 0 || l >= sizeof (name))
        return false;
      memcpy (name, p, l);
      name[l] = '\0';
      if (!cg_list_has (super, name))
        return false;
      if (!end)
        break;
      p = end + 1;
    }
  return *ctrls != '\0';
}

/* Is `path` at or below `root`? */
static bool path_under (const char *path, const char *root)
{
  size_t l = strlen (root);
  if (strcmp (root, "/") == 0)
    return true;
  return strncmp (path, root, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

struct self_line
{
  char *ctrls;
  char *path;
};

static int host_parse (capsa_error_t *err)
{
  struct self_line lines[32];
  size_t nlines = 0, i;
  const char *text;
  char *line = NULL;
  size_t cap = 0;
  FILE *f;
  int ret = -1;

  f = fopen ("/proc/self/cgroup", "re");
  if (f == NULL)
    return capsa_make_error (err, errno, "cgroup: open `/proc/self/cgroup`");
  while (getline (&line, &cap, f) > 0 && nlines < 32)
    {
      char *c1 = strchr (line, ':'), *c2, *nl;
      if (!c1 || !(c2 = strchr (c1 + 1, ':')))
        continue;
      if ((nl = strchr (c2, '\n')))
        *nl = '\0';
      *c2 = '\0';
      lines[nlines].ctrls = strdup (c1 + 1);
      lines[nlines].path = strdup (c2 + 1);
      nlines++;
    }
  fclose (f);

  /* (the snapshot the container init reuses for its cgroup mounts: mounts.c) */
  text = capsa_mountinfo (err);
  if (text == NULL)
    {
      capsa_error_prefix (err, "cgroup");
      goto out;
    }
  f = fmemopen ((void *)text, strlen (text), "r");
  if (f == NULL)
    {
      capsa_make_error (err, errno, "cgroup: read `/proc/self/mountinfo`");
      goto out;
    }
  while (getline (&line, &cap, f) > 0)
    {
      char *fields[6], *sep, *fstype, *super, *save = NULL, *p;
      int k;
      bool v2;

      sep = strstr (line, " - ");
      if (sep == NULL)
        continue;
      *sep = '\0';
      fstype = strtok_r (sep + 3, " \n", &save);
      if (fstype == NULL)
        continue;
      if (strcmp (fstype, "cgroup2") == 0)
        v2 = true;
      else if (strcmp (fstype, "cgroup") == 0)
        v2 = false;
      else
        continue;
      strtok_r (NULL, " \n", &save); /* source */
      super = strtok_r (NULL, " \n", &save);
      if (super == NULL)
        super = (char *)"";
      save = NULL;
      for (k = 0, p = strtok_r (line, " ", &save); p && k < 6; p = strtok_r (NULL, " ", &save))
        fields[k++] = p;
      if (k < 5)
        continue;
      unescape (fields[3]);
      unescape (fields[4]);
      for (i = 0; i < nlines; i++)
        {
          bool match = v2 ? lines[i].ctrls[0] == '\0' : super_matches (super, lines[i].ctrls);
          size_t j;
          bool dup = false;

          if (!match || !path_under (lines[i].path, fields[3]))
            continue;
          for (j = 0; j < host.n; j++)
            if (strcmp (host.h[j].ctrls, lines[i].ctrls) == 0 && host.h[j].v2 == v2)
              {
                /* Prefer the mount under /sys/fs/cgroup when a hierarchy is mounted twice. */
                dup = true;
                if (strncmp (host.h[j].mnt, "/sys/fs/cgroup", 14) != 0
                    && strncmp (fields[4], "/sys/fs/cgroup", 14) == 0)
                  {
                    free (host.h[j].mnt);
                    free (host.h[j].root);
                    host.h[j].mnt = strdup (fields[4]);
                    host.h[j].root = strdup (fields[3]);
                  }
              }
          if (dup)
            break;
          {
            struct cg_hier *nh = realloc (host.h, (host.n + 1) * sizeof (*nh));
            if (nh == NULL)
              {
                fclose (f);
                capsa_make_error (err, ENOMEM, "cgroup: parse mountinfo");
                goto out;
              }
            host.h = nh;
            host.h[host.n].mnt = strdup (fields[4]);
            host.h[host.n].root = strdup (fields[3]);
            host.h[host.n].ctrls = strdup (lines[i].ctrls);
            host.h[host.n].own = strdup (lines[i].path);
            host.h[host.n].v2 = v2;
            host.n++;
          }
          break;
        }
    }
  fclose (f);

  {
    struct statfs sf;
    bool has_v1 = false, has_v2 = false;
    for (i = 0; i < host.n; i++)
      {
        if (host.h[i].v2)
          has_v2 = true;
        else if (strncmp (host.h[i].ctrls, "name=", 5) != 0)
          has_v1 = true;
      }
    if (statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
      host.mode = CAPSA_CGROUP_V2;
    else if (has_v1 && has_v2)
      host.mode = CAPSA_CGROUP_HYBRID;
    else if (has_v1)
      host.mode = CAPSA_CGROUP_V1;
    else
      host.mode = has_v2 ? CAPSA_CGROUP_V2 : CAPSA_CGROUP_V1;
    /* A pure v2 host only uses the unified hierarchy. */
    if (host.mode == CAPSA_CGROUP_V2)
      {
        size_t w = 0;
        for (i = 0; i < host.n; i++)
          if (host.h[i].v2)
            host.h[w++] = host.h[i];
          else
            {
              free (host.h[i].mnt);
              free (host.h[i].root);
              free (host.h[i].ctrls);
              free (host.h[i].own);
            }
        host.n = w;
      }
  }
  ret = 0;
out:
  free (line);
  for (i = 0; i < nlines; i++)
    {
      free (lines[i].ctrls);
      free (lines[i].path);
    }
  return ret;
}

const struct cg_host *cg_host (capsa_error_t *err)
{
  if (!host_done)
    {
      if (host_parse (err) < 0)
        return NULL;
      host_done = true;
    }
  if (host.n == 0)
    {
      capsa_make_error (err, ENOENT, "cgroup: no cgroup hierarchy is mounted");
      return NULL;
    }
  return &host;
}

enum capsa_cgroup_mode capsa_cgroup_mode (void)
{
  capsa_error_t err = NULL;
  if (cg_host (&err) == NULL)
    {
      capsa_error_release (&err);
      return CAPSA_CGROUP_V1;
    }
  return host.mode;
}

const struct capsa_cgroup_manager *capsa_cgroup_manager_get (const char *name, capsa_error_t *err)
{
  if (name == NULL || *name == '\0' || strcmp (name, "cgroupfs") == 0)
    return &capsa_cgroup_manager_cgroupfs;
  if (strcmp (name, "disabled") == 0)
    return &capsa_cgroup_manager_disabled;
  if (strcmp (name, "systemd") == 0)
    {
#ifdef HAVE_SYSTEMD
      return &capsa_cgroup_manager_systemd;
#else
      capsa_make_error (err, ENOTSUP,
                        "cgroup manager `systemd`: not compiled in (built without libsystemd)");
      return NULL;
#endif
    }
  capsa_make_error (err, 0, "unknown cgroup manager `%s` (expected cgroupfs, systemd or disabled)",
                    name);
  return NULL;
}

/* ---- file helpers ---- */

int cg_write (const char *dir, const char *file, const char *val)
{
  char path[PATH_MAX];
  size_t len = strlen (val);
  ssize_t w;
  int fd, saved;

  if ((size_t)snprintf (path, sizeof (path), "%s/%s", dir, file) >= sizeof (path))
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  w = write (fd, val, len);
  saved = errno;
  close (fd);
  if (w < 0)
    {
      errno = saved;
      return -1;
    }
  if ((size_t)w != len)
    {
      errno = EIO;
      return -1;
    }
  return 0;
}

ssize_t cg_read (const char *dir, const char *file, char *buf, size_t len)
{
  char path[PATH_MAX];
  ssize_t r, total = 0;
  int fd, saved;

  if ((size_t)snprintf (path, sizeof (path), "%s/%s", dir, file) >= sizeof (path))
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  while ((size_t)total < len - 1)
    {
      r = read (fd, buf + total, len - 1 - total);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          saved = errno;
          close (fd);
          errno = saved;
          return -1;
        }
      if (r == 0)
        break;
      total += r;
    }
  close (fd);
  buf[total] = '\0';
  while (total > 0 && buf[total - 1] == '\n')
    buf[--total] = '\0';
  return total;
}

int cg_write_err (const char *dir, const char *file, const char *val, const char *what,
                  capsa_error_t *err)
{
  if (cg_write (dir, file, val) == 0)
    return 0;
  if (errno == ENOENT)
    {
      /* The file is missing: the controller is absent (or, on v2, not enabled for us). */
      char ctrl[32];
      size_t l = strcspn (file, ".");
      snprintf (ctrl, sizeof (ctrl), "%.*s", (int)l, file);
      return capsa_make_error (err, 0,
                               "%s: the %s cgroup controller is not available in `%s` (no %s)",
                               what, ctrl, dir, file);
    }
  return capsa_make_error (err, errno, "%s: write `%s` to `%s/%s`", what, val, dir, file);
}

/* ---- the set of directories ---- */

struct cg_dir *cg_set_v1 (struct cg_set *s, const char *ctrl)
{
  size_t i;
  for (i = 0; i < s->n; i++)
    if (!s->d[i].v2 && cg_list_has (s->d[i].ctrls, ctrl))
      return &s->d[i];
  return NULL;
}

struct cg_dir *cg_set_v2 (struct cg_set *s)
{
  size_t i;
  for (i = 0; i < s->n; i++)
    if (s->d[i].v2)
      return &s->d[i];
  return NULL;
}

struct cg_dir *cg_set_primary (struct cg_set *s)
{
  static const char *const prefer[] = { "pids", "freezer", "memory", "cpu", "devices" };
  struct cg_dir *d = cg_set_v2 (s);
  size_t i;

  if (d)
    return d;
  for (i = 0; i < sizeof (prefer) / sizeof (prefer[0]); i++)
    if ((d = cg_set_v1 (s, prefer[i])))
      return d;
  return s->n ? &s->d[0] : NULL;
}

void cg_set_free (struct cg_set *s)
{
  size_t i;
  for (i = 0; i < s->n; i++)
    {
      free (s->d[i].ctrls);
      free (s->d[i].dir);
    }
  free (s->d);
  s->d = NULL;
  s->n = 0;
}

/* Normalize a cgroup path onto `out` (which already holds a prefix): drop empty and "."
 * components; ".." and characters the state string uses as separators are refused. */
static int append_clean (char *out, size_t len, const char *in, capsa_error_t *err)
{
  const char *p = in;
  size_t o = strlen (out);

  if (strpbrk (in, ";|\n"))
    return capsa_make_error (err, 0, ".linux.cgroupsPath: `%s`: invalid character", in);
  while (*p)
    {
      const char *end = strchr (p, '/');
      size_t l = end ? (size_t)(end - p) : strlen (p);
      if (l == 2 && p[0] == '.' && p[1] == '.')
        return capsa_make_error (err, 0, ".linux.cgroupsPath: `%s`: `..` is not allowed", in);
      if (l > 0 && !(l == 1 && p[0] == '.'))
        {
          if (o + l + 2 >= len)
            return capsa_make_error (err, ENAMETOOLONG, ".linux.cgroupsPath: `%s`", in);
          if (o == 0 || out[o - 1] != '/')
            out[o++] = '/';
          memcpy (out + o, p, l);
          o += l;
          out[o] = '\0';
        }
      if (!end)
        break;
      p = end + 1;
    }
  if (o == 0)
    {
      out[0] = '/';
      out[1] = '\0';
    }
  return 0;
}

/* mkdir `dir`, creating missing parents (never above `stop`, the mount point); returns how
 * many levels were created, or -1 with errno. */
static int mkdir_levels (char *dir, size_t stop)
{
  char *slash;
  int n;

  if (mkdir (dir, 0755) == 0)
    return 1;
  if (errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return -1;
  slash = strrchr (dir, '/');
  if (slash == NULL || (size_t)(slash - dir) <= stop)
    return -1;
  *slash = '\0';
  n = mkdir_levels (dir, stop);
  *slash = '/';
  if (n < 0)
    return -1;
  if (mkdir (dir, 0755) < 0 && errno != EEXIST)
    return -1;
  return n + 1;
}

/* The ancestor of `dir` `up` levels above it (up >= 1), into buf. */
static void ancestor (const char *dir, int up, char *buf, size_t len)
{
  snprintf (buf, len, "%s", dir);
  while (up-- > 0)
    {
      char *s = strrchr (buf, '/');
      if (s)
        *s = '\0';
    }
}

/* New v1 cpuset cgroups start with empty cpus/mems: copy them from the parent, top-down. */
static int cpuset_fill (const char *dir, int levels, capsa_error_t *err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  char cur[PATH_MAX], parent[PATH_MAX], val[4096];
  int l;
  size_t i;

  for (l = levels - 1; l >= 0; l--)
    {
      ancestor (dir, l, cur, sizeof (cur));
      ancestor (dir, l + 1, parent, sizeof (parent));
      for (i = 0; i < 2; i++)
        {
          if (cg_read (parent, files[i], val, sizeof (val)) < 0)
            return capsa_make_error (err, errno, "cgroup: read `%s/%s`", parent, files[i]);
          if (val[0] && cg_write (cur, files[i], val) < 0)
            return capsa_make_error (err, errno, "cgroup: write `%s/%s`", cur, files[i]);
        }
    }
  return 0;
}

/* v2: enable in every parent we created the controllers available to the topmost one. */
static int v2_enable (const char *dir, int levels, capsa_error_t *err)
{
  char cur[PATH_MAX], ctrls[512], req[600];
  char *p, *save = NULL;
  size_t o = 0;
  int l;

  if (levels < 2)
    return 0;
  ancestor (dir, levels - 1, cur, sizeof (cur));
  if (cg_read (cur, "cgroup.controllers", ctrls, sizeof (ctrls)) < 0)
    return capsa_make_error (err, errno, "cgroup: read `%s/cgroup.controllers`", cur);
  for (p = strtok_r (ctrls, " ", &save); p; p = strtok_r (NULL, " ", &save))
    o += snprintf (req + o, sizeof (req) - o, "%s+%s", o ? " " : "", p);
  if (o == 0)
    return 0;
  for (l = levels - 1; l >= 1; l--)
    {
      ancestor (dir, l, cur, sizeof (cur));
      if (cg_write (cur, "cgroup.subtree_control", req) < 0)
        {
          /* Enable what can be enabled, one by one (e.g. cpu refuses with RT tasks around). */
          char one[600], *q, *s2 = NULL;
          snprintf (one, sizeof (one), "%s", req);
          for (q = strtok_r (one, " ", &s2); q; q = strtok_r (NULL, " ", &s2))
            if (cg_write (cur, "cgroup.subtree_control", q) < 0)
              capsa_debug ("cgroup: enable `%s` in `%s`: %s", q, cur, strerror (errno));
        }
    }
  return 0;
}

static void undo_created (struct cg_set *s)
{
  size_t i;
  for (i = 0; i < s->n; i++)
    {
      char cur[PATH_MAX];
      int l;
      for (l = 0; l < s->d[i].levels; l++)
        {
          ancestor (s->d[i].dir, l, cur, sizeof (cur));
          rmdir (cur);
        }
    }
}

/* Only the real controllers and name=systemd (other named hierarchies are someone else's). */
static bool hier_wanted (const struct cg_hier *h)
{
  return h->v2 || strncmp (h->ctrls, "name=", 5) != 0 || strcmp (h->ctrls, "name=systemd") == 0;
}

/* How many trailing components of `dir` are missing now (what mkdir_levels would create), never
 * looking at or above the mount point (the first `stop` bytes); `exist` gets the deepest existing
 * ancestor.  -1 with errno when that cannot be told. */
static int missing_levels (const char *dir, size_t stop, const char *known, char *exist, size_t len)
{
  struct stat st;
  int n = 0;

  if ((size_t)snprintf (exist, len, "%s", dir) >= len)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  for (;;)
    {
      char *slash;
      /* `known` exists: no stat (the walk through the cgroup mount is the cost) */
      if ((known != NULL && strcmp (exist, known) == 0) || stat (exist, &st) == 0)
        return n;
      if (errno != ENOENT)
        return -1;
      if (strlen (exist) <= stop || (slash = strrchr (exist, '/')) == NULL)
        return -1; /* the mount point itself is missing */
      *slash = '\0';
      n++;
    }
}

/* Resolve the container's directory in every hierarchy without creating anything; `levels` is
 * how many trailing components are missing now.  Rootless, a hierarchy whose nearest existing
 * ancestor we may not write is left out (its mkdir would be refused). */
static int set_plan (struct cg_set *s, const struct cg_host *hs, const char *id,
                     const char *cgroups_path, const char *abs_path, bool rootless, char **path_out,
                     capsa_error_t *err)
{
  size_t i;

  s->d = calloc (hs->n, sizeof (*s->d));
  s->n = 0;
  if (s->d == NULL)
    return capsa_make_error (err, ENOMEM, "cgroup");
  for (i = 0; i < hs->n; i++)
    {
      const struct cg_hier *h = &hs->h[i];
      char path[PATH_MAX], dir[PATH_MAX], exist[PATH_MAX], own_dir[PATH_MAX];
      struct cg_dir *d;
      size_t rl;
      int n;

      if (!hier_wanted (h))
        continue;
      path[0] = '\0';
      if (abs_path)
        {
          if (append_clean (path, sizeof (path), abs_path, err) < 0)
            goto fail;
        }
      else if (cgroups_path && cgroups_path[0] == '/')
        {
          if (append_clean (path, sizeof (path), cgroups_path, err) < 0)
            goto fail;
        }
      else
        {
          snprintf (path, sizeof (path), "%s", h->own);
          if (append_clean (path, sizeof (path), cgroups_path && *cgroups_path ? cgroups_path : id,
                            err)
              < 0)
            goto fail;
        }
      if (!path_under (path, h->root))
        {
          capsa_make_error (
            err, 0, "cgroup `%s`: not visible in the `%s` hierarchy mounted at `%s` (root `%s`)",
            path, h->v2 ? "unified" : h->ctrls, h->mnt, h->root);
          goto fail;
        }
      rl = strcmp (h->root, "/") == 0 ? 0 : strlen (h->root);
      if ((size_t)snprintf (dir, sizeof (dir), "%s%s", h->mnt,
                            strcmp (path + rl, "/") == 0 ? "" : path + rl)
          >= sizeof (dir))
        {
          capsa_make_error (err, ENAMETOOLONG, "cgroup `%s`", path);
          goto fail;
        }
      /* Our own cgroup exists while we are in it: the usual parent needs no lookup. */
      if (!path_under (h->own, h->root)
          || (size_t)snprintf (own_dir, sizeof (own_dir), "%s%s", h->mnt,
                               strcmp (h->own + rl, "/") == 0 || h->own[rl] == '\0' ? ""
                                                                                    : h->own + rl)
               >= sizeof (own_dir))
        own_dir[0] = '\0';
      n = missing_levels (dir, strlen (h->mnt), own_dir[0] ? own_dir : NULL, exist, sizeof (exist));
      if (n < 0 && rootless && (errno == EACCES || errno == EPERM))
        {
          capsa_debug ("cgroup: skip `%s` (rootless): %s", dir, strerror (errno));
          continue;
        }
      if (n < 0)
        {
          capsa_make_error (err, errno, "cgroup: look up `%s`", dir);
          goto fail;
        }
      if (n > 0 && rootless && access (exist, W_OK) < 0)
        {
          capsa_debug ("cgroup: skip `%s` (rootless): `%s`: %s", dir, exist, strerror (errno));
          continue;
        }
      d = &s->d[s->n++];
      d->ctrls = strdup (h->ctrls);
      d->dir = strdup (dir);
      d->levels = n;
      d->v2 = h->v2;
      if (d->ctrls == NULL || d->dir == NULL)
        {
          capsa_make_error (err, ENOMEM, "cgroup");
          goto fail;
        }
      if (path_out && (*path_out == NULL || h->v2 || cg_list_has (h->ctrls, "memory")))
        {
          free (*path_out);
          *path_out = strdup (path);
        }
    }
  if (s->n == 0)
    {
      capsa_make_error (err, ENOENT, "cgroup: no usable cgroup hierarchy");
      goto fail;
    }
  return 0;
fail:
  cg_set_free (s);
  if (path_out)
    {
      free (*path_out);
      *path_out = NULL;
    }
  return -1;
}

int cg_set_plan (struct cg_set *s, const char *id, const char *cgroups_path, bool rootless,
                 char **path_out, capsa_error_t *err)
{
  const struct cg_host *hs = cg_host (err);
  if (hs == NULL)
    return -1;
  return set_plan (s, hs, id, cgroups_path, NULL, rootless, path_out, err);
}

/* The length of the mount point of the hierarchy `d` belongs to (mkdir never goes above it). */
static int mount_len (const struct cg_dir *d, size_t *len)
{
  const struct cg_host *hs = cg_host (NULL);
  size_t i;

  for (i = 0; hs && i < hs->n; i++)
    if (hs->h[i].v2 == d->v2 && strcmp (hs->h[i].ctrls, d->ctrls) == 0
        && strncmp (d->dir, hs->h[i].mnt, strlen (hs->h[i].mnt)) == 0)
      {
        *len = strlen (hs->h[i].mnt);
        return 0;
      }
  return -1;
}

int cg_set_make (struct cg_set *s, bool rootless, capsa_error_t *err)
{
  size_t i, w;
  bool made_one = false;

  /* From here `levels` counts what this call made: a failure undoes exactly that. */
  for (i = 0; i < s->n; i++)
    s->d[i].levels = 0;
  for (i = 0; i < s->n; i++)
    {
      struct cg_dir *d = &s->d[i];
      size_t stop;
      int n;

      if (mount_len (d, &stop) < 0)
        {
          capsa_make_error (err, ENOENT, "cgroup: `%s`: its hierarchy is not mounted", d->dir);
          goto fail;
        }
      n = mkdir_levels (d->dir, stop);
      if (n < 0)
        {
          if (rootless && (errno == EACCES || errno == EPERM || errno == EROFS))
            {
              capsa_debug ("cgroup: skip `%s` (rootless): %s", d->dir, strerror (errno));
              d->levels = -1; /* dropped below */
              continue;
            }
          capsa_make_error (err, errno, "cgroup: create `%s`", d->dir);
          goto fail;
        }
      d->levels = n;
      if (!made_one)
        {
          made_one = true;
          /* (v1 and hybrid hosts: the other hierarchies are not made yet) */
          capsa_fault_point ("cgroup:after-mkdir-one");
        }
      if (n > 0 && !d->v2 && cg_list_has (d->ctrls, "cpuset") && cpuset_fill (d->dir, n, err) < 0)
        goto fail;
      if (n > 0 && d->v2 && v2_enable (d->dir, n, err) < 0)
        goto fail;
    }
  for (i = w = 0; i < s->n; i++)
    if (s->d[i].levels < 0)
      {
        free (s->d[i].ctrls);
        free (s->d[i].dir);
      }
    else
      s->d[w++] = s->d[i];
  s->n = w;
  if (s->n == 0)
    {
      capsa_make_error (err, ENOENT, "cgroup: no usable cgroup hierarchy");
      goto fail;
    }
  capsa_fault_point ("cgroup:after-mkdir");
  return 0;
fail:
  for (i = 0; i < s->n; i++)
    if (s->d[i].levels < 0)
      s->d[i].levels = 0;
  undo_created (s);
  cg_set_free (s);
  return -1;
}

int cg_set_create_at (struct cg_set *s, const char *path, bool rootless, capsa_error_t *err)
{
  const struct cg_host *hs = cg_host (err);
  if (hs == NULL)
    return -1;
  if (set_plan (s, hs, NULL, NULL, path, rootless, NULL, err) < 0)
    return -1;
  return cg_set_make (s, rootless, err);
}

/* ---- processes and removal ---- */

static int read_pids_at (int dfd, pid_t **pids, size_t *n, size_t *cap, int depth)
{
  int fd = openat (dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
  char buf[8192], *p;
  ssize_t r;
  size_t keep = 0;
  DIR *d;
  struct dirent *de;

  if (fd < 0)
    return -1;
  for (;;)
    {
      r = read (fd, buf + keep, sizeof (buf) - 1 - keep);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          close (fd);
          errno = e;
          return -1;
        }
      if (r == 0 && keep == 0)
        break;
      buf[keep + r] = '\0';
      p = buf;
      for (;;)
        {
          char *nl = strchr (p, '\n');
          if (nl == NULL && r > 0)
            break;
          if (nl)
            *nl = '\0';
          if (*p)
            {
              if (*n == *cap)
                {
                  size_t nc = *cap ? *cap * 2 : 32;
                  pid_t *np = realloc (*pids, nc * sizeof (pid_t));
                  if (np == NULL)
                    {
                      close (fd);
                      errno = ENOMEM;
                      return -1;
                    }
                  *pids = np;
                  *cap = nc;
                }
              (*pids)[(*n)++] = (pid_t)strtol (p, NULL, 10);
            }
          if (!nl)
            {
              p += strlen (p);
              break;
            }
          p = nl + 1;
        }
      keep = strlen (p);
      memmove (buf, p, keep);
      if (r == 0)
        break;
    }
  close (fd);
  if (depth > 64)
    return 0;
  fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  while ((de = readdir (d)))
    {
      int sub;
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sub < 0)
        continue;
      if (read_pids_at (sub, pids, n, cap, depth + 1) < 0 && errno != ENOENT)
        {
          int e = errno;
          close (sub);
          closedir (d);
          errno = e;
          return -1;
        }
      close (sub);
    }
  closedir (d);
  return 0;
}

int cg_read_pids (const char *dir, pid_t **pids, size_t *n, capsa_error_t *err)
{
  size_t cap = 0;
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  *pids = NULL;
  *n = 0;
  if (dfd < 0)
    return capsa_make_error (err, errno, "cgroup: open `%s`", dir);
  if (read_pids_at (dfd, pids, n, &cap, 0) < 0)
    {
      int e = errno;
      close (dfd);
      free (*pids);
      *pids = NULL;
      *n = 0;
      return capsa_make_error (err, e, "cgroup: read processes of `%s`", dir);
    }
  close (dfd);
  return 0;
}

static void sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

static long now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Remove the child cgroups of `dir` depth-first, then `dir`. */
static int rmdir_tree_once (const char *dir, int depth)
{
  DIR *d;
  struct dirent *de;

  if (rmdir (dir) == 0 || errno == ENOENT)
    return 0;
  if ((errno != EBUSY && errno != ENOTEMPTY) || depth > 64)
    return -1;
  d = opendir (dir);
  if (d == NULL)
    return -1;
  while ((de = readdir (d)))
    {
      char sub[PATH_MAX];
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      if ((size_t)snprintf (sub, sizeof (sub), "%s/%s", dir, de->d_name) >= sizeof (sub))
        continue;
      if (rmdir_tree_once (sub, depth + 1) < 0)
        {
          int e = errno;
          closedir (d);
          errno = e;
          return -1;
        }
    }
  closedir (d);
  if (rmdir (dir) == 0 || errno == ENOENT)
    return 0;
  return -1;
}

int cg_rmdir_tree (const char *dir, int timeout_ms, capsa_error_t *err)
{
  long deadline = now_ms () + timeout_ms, step = 1;

  for (;;)
    {
      if (rmdir_tree_once (dir, 0) == 0)
        return 0;
      if (errno != EBUSY && errno != ENOTEMPTY)
        break;
      if (now_ms () >= deadline)
        break;
      /* Processes may still be exiting: back off 1, 2, 4 .. 64 ms. */
      sleep_ms (step);
      if (step < 64)
        step *= 2;
    }
  return capsa_make_error (err, errno, "cgroup: remove `%s`", dir);
}
