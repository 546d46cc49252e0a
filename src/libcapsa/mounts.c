/* capsa: mount options parsing and the config.json "mounts" performed inside the rootfs. */
#include <config.h>
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

enum opt_kind
{
  OPT_FLAG,   /* set `flag` in flags */
  OPT_CLEAR,  /* clear `flag` */
  OPT_PROP,   /* propagation */
  OPT_RSET,   /* recursive attribute set (mount_setattr AT_RECURSIVE) */
  OPT_RCLR,   /* recursive attribute clear */
  OPT_RATIME, /* recursive atime mode: clear MOUNT_ATTR__ATIME, set `flag` */
  OPT_IGNORE, /* accepted, no effect */
  OPT_UNSUPP, /* accepted by the spec, not implemented */
  OPT_COPYUP, /* "tmpcopyup" (podman's --read-only tmpfs mounts) */
};

struct opt_def
{
  const char *name;
  enum opt_kind kind;
  unsigned long long flag;
};

static const struct opt_def opt_defs[] = {
  { "defaults", OPT_IGNORE, 0 },
  { "ro", OPT_FLAG, MS_RDONLY },
  { "rw", OPT_CLEAR, MS_RDONLY },
  { "suid", OPT_CLEAR, MS_NOSUID },
  { "nosuid", OPT_FLAG, MS_NOSUID },
  { "dev", OPT_CLEAR, MS_NODEV },
  { "nodev", OPT_FLAG, MS_NODEV },
  { "exec", OPT_CLEAR, MS_NOEXEC },
  { "noexec", OPT_FLAG, MS_NOEXEC },
  { "sync", OPT_FLAG, MS_SYNCHRONOUS },
  { "async", OPT_CLEAR, MS_SYNCHRONOUS },
  { "dirsync", OPT_FLAG, MS_DIRSYNC },
  { "remount", OPT_FLAG, MS_REMOUNT },
  { "mand", OPT_FLAG, MS_MANDLOCK },
  { "nomand", OPT_CLEAR, MS_MANDLOCK },
  { "atime", OPT_CLEAR, MS_NOATIME },
  { "noatime", OPT_FLAG, MS_NOATIME },
  { "diratime", OPT_CLEAR, MS_NODIRATIME },
  { "nodiratime", OPT_FLAG, MS_NODIRATIME },
  { "relatime", OPT_FLAG, MS_RELATIME },
  { "norelatime", OPT_CLEAR, MS_RELATIME },
  { "strictatime", OPT_FLAG, MS_STRICTATIME },
  { "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
  { "lazytime", OPT_FLAG, MS_LAZYTIME },
  { "nolazytime", OPT_CLEAR, MS_LAZYTIME },
  { "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
  { "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW },
  { "silent", OPT_FLAG, MS_SILENT },
  { "loud", OPT_CLEAR, MS_SILENT },
  { "bind", OPT_FLAG, MS_BIND },
  { "rbind", OPT_FLAG, MS_BIND | MS_REC },
  { "private", OPT_PROP, MS_PRIVATE },
  { "rprivate", OPT_PROP, MS_PRIVATE | MS_REC },
  { "shared", OPT_PROP, MS_SHARED },
  { "rshared", OPT_PROP, MS_SHARED | MS_REC },
  { "slave", OPT_PROP, MS_SLAVE },
  { "rslave", OPT_PROP, MS_SLAVE | MS_REC },
  { "unbindable", OPT_PROP, MS_UNBINDABLE },
  { "runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC },
  { "rro", OPT_RSET, MOUNT_ATTR_RDONLY },
  { "rrw", OPT_RCLR, MOUNT_ATTR_RDONLY },
  { "rnosuid", OPT_RSET, MOUNT_ATTR_NOSUID },
  { "rsuid", OPT_RCLR, MOUNT_ATTR_NOSUID },
  { "rnodev", OPT_RSET, MOUNT_ATTR_NODEV },
  { "rdev", OPT_RCLR, MOUNT_ATTR_NODEV },
  { "rnoexec", OPT_RSET, MOUNT_ATTR_NOEXEC },
  { "rexec", OPT_RCLR, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", OPT_RSET, MOUNT_ATTR_NODIRATIME },
  { "rdiratime", OPT_RCLR, MOUNT_ATTR_NODIRATIME },
  { "rnosymfollow", OPT_RSET, MOUNT_ATTR_NOSYMFOLLOW },
  { "rsymfollow", OPT_RCLR, MOUNT_ATTR_NOSYMFOLLOW },
  /* The atime mode is one field: each option replaces it.  "ratime"/"rnostrictatime" go back
   * to the kernel default (relatime); "rnorelatime" means "always update" (strictatime). */
  { "rnoatime", OPT_RATIME, MOUNT_ATTR_NOATIME },
  { "ratime", OPT_RATIME, MOUNT_ATTR_RELATIME },
  { "rrelatime", OPT_RATIME, MOUNT_ATTR_RELATIME },
  { "rnorelatime", OPT_RATIME, MOUNT_ATTR_STRICTATIME },
  { "rstrictatime", OPT_RATIME, MOUNT_ATTR_STRICTATIME },
  { "rnostrictatime", OPT_RATIME, MOUNT_ATTR_RELATIME },
  { "tmpcopyup", OPT_COPYUP, 0 },
  { "idmap", OPT_IGNORE, 0 }, /* idmap.c: the runtime made the tree before the init ran */
  { "ridmap", OPT_IGNORE, 0 },
};

static int append_data (char **data, const char *opt)
{
  char *n;

  if (*data == NULL)
    n = strdup (opt);
  else if (asprintf (&n, "%s,%s", *data, opt) < 0)
    n = NULL;
  if (n == NULL)
    return -1;
  free (*data);
  *data = n;
  return 0;
}

int capsa_parse_mount_options (char **options, size_t n, struct capsa_mount_opts *out,
                               capsa_error_t *err)
{
  size_t i, j;

  memset (out, 0, sizeof (*out));
  for (i = 0; i < n; i++)
    {
      const char *o = options[i];
      const struct opt_def *d = NULL;

      for (j = 0; j < sizeof (opt_defs) / sizeof (opt_defs[0]); j++)
        if (strcmp (opt_defs[j].name, o) == 0)
          {
            d = &opt_defs[j];
            break;
          }
      if (d == NULL)
        {
          /* "x-*" options are hints for userspace tools (mount(8) drops them too); an empty
           * option would put an empty item in the mount data (",size=1"). */
          if (strncmp (o, "x-", 2) == 0 || o[0] == '\0')
            continue;
          if (append_data (&out->data, o) < 0)
            {
              capsa_mount_opts_free (out);
              return capsa_make_error (err, ENOMEM, "mount option \"%s\"", o);
            }
          continue;
        }
      switch (d->kind)
        {
        case OPT_FLAG:
          out->flags |= d->flag;
          out->clear_flags &= ~d->flag;
          if (d->flag & MS_BIND)
            {
              out->bind = true;
              if (d->flag & MS_REC)
                out->rbind = true;
            }
          break;
        case OPT_CLEAR:
          out->flags &= ~d->flag;
          out->clear_flags |= d->flag;
          break;
        case OPT_PROP:
          out->propagation = d->flag;
          break;
        case OPT_RSET:
          out->attr_set |= d->flag;
          out->attr_clr &= ~d->flag;
          out->recursive_attr = true;
          break;
        case OPT_RCLR:
          out->attr_clr |= d->flag;
          out->attr_set &= ~d->flag;
          out->recursive_attr = true;
          break;
        case OPT_RATIME:
          out->attr_set = (out->attr_set & ~(unsigned long long)MOUNT_ATTR__ATIME) | d->flag;
          out->attr_clr |= MOUNT_ATTR__ATIME;
          out->recursive_attr = true;
          break;
        case OPT_IGNORE:
          break;
        case OPT_COPYUP:
          out->tmpcopyup = true;
          break;
        case OPT_UNSUPP:
          capsa_mount_opts_free (out);
          return capsa_make_error (err, 0, "mount option \"%s\" is not supported yet", o);
        }
    }
  return 0;
}

void capsa_mount_opts_free (struct capsa_mount_opts *o)
{
  if (o == NULL)
    return;
  free (o->data);
  o->data = NULL;
}

/* Per-mount flags of mount(2) expressed as mount_setattr attributes. */
static void flags_to_attr (unsigned long set, unsigned long clr, unsigned long long *aset,
                           unsigned long long *aclr)
{
  *aset = *aclr = 0;
  if (set & MS_RDONLY)
    *aset |= MOUNT_ATTR_RDONLY;
  if (clr & MS_RDONLY)
    *aclr |= MOUNT_ATTR_RDONLY;
  if (set & MS_NOSUID)
    *aset |= MOUNT_ATTR_NOSUID;
  if (clr & MS_NOSUID)
    *aclr |= MOUNT_ATTR_NOSUID;
  if (set & MS_NODEV)
    *aset |= MOUNT_ATTR_NODEV;
  if (clr & MS_NODEV)
    *aclr |= MOUNT_ATTR_NODEV;
  if (set & MS_NOEXEC)
    *aset |= MOUNT_ATTR_NOEXEC;
  if (clr & MS_NOEXEC)
    *aclr |= MOUNT_ATTR_NOEXEC;
  if (set & MS_NODIRATIME)
    *aset |= MOUNT_ATTR_NODIRATIME;
  if (clr & MS_NODIRATIME)
    *aclr |= MOUNT_ATTR_NODIRATIME;
  if (set & MS_NOSYMFOLLOW)
    *aset |= MOUNT_ATTR_NOSYMFOLLOW;
  if (clr & MS_NOSYMFOLLOW)
    *aclr |= MOUNT_ATTR_NOSYMFOLLOW;
  if (set & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
    {
      *aclr |= MOUNT_ATTR__ATIME;
      *aset |= (set & MS_NOATIME)       ? MOUNT_ATTR_NOATIME
               : (set & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME
                                        : MOUNT_ATTR_RELATIME;
    }
  else if (clr & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
    {
      *aclr |= MOUNT_ATTR__ATIME;
      *aset |= (clr & MS_RELATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
    }
}

/* The flags the kernel keeps on a mount (needed by MS_REMOUNT|MS_BIND, which otherwise clears
 * them and fails with EPERM on flags locked by a user namespace). */
static unsigned long current_mount_flags (int fd)
{
  struct statvfs sv;
  unsigned long f = 0;

  if (fstatvfs (fd, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_RDONLY)
    f |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    f |= MS_RELATIME;
  return f;
}

int capsa_mount_setattr (int mntfd, bool recursive, unsigned long long set, unsigned long long clr,
                         unsigned long propagation, const char *what, capsa_error_t *err)
{
  struct mount_attr attr = { 0 };
  unsigned int flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  char fdp[32];

  if (set == 0 && clr == 0 && propagation == 0)
    return 0;
  attr.attr_set = set;
  attr.attr_clr = clr;
  attr.propagation = propagation & ~MS_REC;
  if (mount_setattr (mntfd, "", flags, &attr, sizeof (attr)) == 0)
    return 0;
  if (errno != ENOSYS)
    return capsa_make_error (err, errno, "set attributes of mount \"%s\"", what);

  /* Kernel older than 5.12: one remount (not recursive) and one propagation change. */
  capsa_fd_path (mntfd, fdp);
  if (set || clr)
    {
      unsigned long f = current_mount_flags (mntfd);

      if (recursive)
        return capsa_make_error (err, ENOSYS, "recursive attributes on mount \"%s\"", what);
      if (set & MOUNT_ATTR_RDONLY)
        f |= MS_RDONLY;
      if (clr & MOUNT_ATTR_RDONLY)
        f &= ~MS_RDONLY;
      if (set & MOUNT_ATTR_NOSUID)
        f |= MS_NOSUID;
      if (clr & MOUNT_ATTR_NOSUID)
        f &= ~MS_NOSUID;
      if (set & MOUNT_ATTR_NODEV)
        f |= MS_NODEV;
      if (clr & MOUNT_ATTR_NODEV)
        f &= ~MS_NODEV;
      if (set & MOUNT_ATTR_NOEXEC)
        f |= MS_NOEXEC;
      if (clr & MOUNT_ATTR_NOEXEC)
        f &= ~MS_NOEXEC;
      if (mount (NULL, fdp, NULL, MS_REMOUNT | MS_BIND | f, NULL) < 0)
        return capsa_make_error (err, errno, "remount \"%s\"", what);
    }
  if (propagation && mount (NULL, fdp, NULL, propagation, NULL) < 0)
    return capsa_make_error (err, errno, "set propagation of mount \"%s\"", what);
  return 0;
}

int capsa_bind_mount_at (const char *source, int srcfd, int rootfd, const char *dest, int targetfd,
                         bool recursive, capsa_error_t *err)
{
  int tree;
  char fdp[32];

  if (srcfd >= 0)
    tree = open_tree (srcfd, "",
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH
                        | (recursive ? AT_RECURSIVE : 0));
  else
    tree = open_tree (AT_FDCWD, source,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree >= 0)
    {
      if (move_mount (tree, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
          < 0)
        {
          int saved = errno;
          close (tree);
          return capsa_make_error (err, saved, "mount \"%s\" on \"%s\"", source, dest);
        }
      return tree;
    }
  if (errno != ENOSYS)
    return capsa_make_error (err, errno, "mount \"%s\" on \"%s\"", source, dest);

  /* No new mount API: classic bind onto the magic link, then reopen to reach the new mount. */
  if (srcfd >= 0)
    {
      char sp[32];
      capsa_fd_path (srcfd, sp);
      if (mount (sp, capsa_fd_path (targetfd, fdp), NULL, MS_BIND | (recursive ? MS_REC : 0), NULL)
          < 0)
        return capsa_make_error (err, errno, "mount \"%s\" on \"%s\"", source, dest);
    }
  else if (mount (source, capsa_fd_path (targetfd, fdp), NULL, MS_BIND | (recursive ? MS_REC : 0),
                  NULL)
           < 0)
    return capsa_make_error (err, errno, "mount \"%s\" on \"%s\"", source, dest);
  return capsa_open_in_root (rootfd, dest, false, false, err);
}

/* Attach the idmapped tree the runtime made for `m` (idmap.c) on `target`; its mount fd. */
static int attach_idmapped (struct capsa_ctx *ctx, const struct oci_mount *m, int target,
                            capsa_error_t *err)
{
  int tree = capsa_idmap_take (ctx, m);

  if (tree < 0)
    return capsa_make_error (err, 0, "mount \"%s\": idmapped mounts are not supported here",
                             m->destination);
  if (move_mount (tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    {
      int saved = errno;
      close (tree);
      return capsa_make_error (err, saved, "mount \"%s\" on \"%s\" (idmapped)", m->source,
                               m->destination);
    }
  return tree;
}

/* Is the last component of `dest` (inside the root) a symlink? */
static int dest_is_symlink (int rootfd, const char *dest)
{
  char *copy = strdup (dest), *slash, *base;
  int parent, r = 0;
  struct stat st;

  if (copy == NULL)
    return 0;
  while (strlen (copy) > 1 && copy[strlen (copy) - 1] == '/')
    copy[strlen (copy) - 1] = '\0';
  slash = strrchr (copy, '/');
  if (slash == NULL)
    base = copy, parent = capsa_open_in_root (rootfd, "/", false, false, NULL);
  else
    {
      *slash = '\0';
      base = slash + 1;
      parent = capsa_open_in_root (rootfd, *copy ? copy : "/", false, false, NULL);
    }
  if (parent >= 0)
    {
      if (*base && fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        r = 1;
      close (parent);
    }
  free (copy);
  return r;
}

static bool path_is (const char *p, const char *want)
{
  /* Compare ignoring duplicate and trailing slashes. */
  while (*p && *want)
    {
      if (*p == '/' && p[1] == '/')
        {
          p++;
          continue;
        }
      if (*p != *want)
        return false;
      p++, want++;
    }
  while (*p == '/')
    p++;
  return *p == '\0' && *want == '\0';
}

/* Mount a filesystem (not a bind) on the already-resolved target fd, then return an fd on the
 * new mount (reopened through the root). */
static int mount_fs_at (int rootfd, const char *source, const char *type, const char *dest,
                        int targetfd, unsigned long flags, const char *data, capsa_error_t *err)
{
  char fdp[32];

  if (mount (source, capsa_fd_path (targetfd, fdp), type, flags, data) < 0)
    return capsa_make_error (err, errno, "mount \"%s\" on \"%s\"", type, dest);
  return capsa_open_in_root (rootfd, dest, false, false, err);
}

/* Copy the tree of directory fd `src` into directory fd `dst` (both are consumed): regular files,
 * directories, symlinks, fifos and device nodes, with their owner and mode. */
static int copy_tree (int src, int dst, const char *dest, capsa_error_t *err)
{
  DIR *d = fdopendir (src);
  struct dirent *de;
  int ret = -1;

  if (d == NULL)
    {
      capsa_make_error (err, errno, "tmpcopyup \"%s\": read directory", dest);
      close (src);
      close (dst);
      return -1;
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      const char *n = de->d_name;
      struct stat st;
      int r = 0;

      if (strcmp (n, ".") == 0 || strcmp (n, "..") == 0)
        continue;
      if (fstatat (src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        goto fail;
      if (S_ISDIR (st.st_mode))
        {
          int s2, d2;
          if (mkdirat (dst, n, st.st_mode & 07777) < 0 && errno != EEXIST)
            goto fail;
          s2 = openat (src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          d2 = s2 < 0 ? -1 : openat (dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (d2 < 0)
            {
              if (s2 >= 0)
                close (s2);
              goto fail;
            }
          if (copy_tree (s2, d2, dest, err) < 0)
            goto out;
        }
      else if (S_ISREG (st.st_mode))
        {
          int in = openat (src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), o;
          ssize_t k;
          char buf[65536];

          if (in < 0)
            goto fail;
          o = openat (dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
          if (o < 0)
            {
              close (in);
              goto fail;
            }
          while ((k = read (in, buf, sizeof buf)) > 0)
            if (write (o, buf, k) != k)
              {
                k = -1;
                break;
              }
          close (in);
          if (k < 0)
            {
              close (o);
              goto fail;
            }
          close (o);
        }
      else if (S_ISLNK (st.st_mode))
        {
          char link[PATH_MAX];
          ssize_t k = readlinkat (src, n, link, sizeof link - 1);
          if (k < 0)
            goto fail;
          link[k] = '\0';
          r = symlinkat (link, dst, n);
        }
      else
        r = mknodat (dst, n, st.st_mode, st.st_rdev);
      if (r < 0 || fchownat (dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        goto fail;
      if (!S_ISLNK (st.st_mode) && fchmodat (dst, n, st.st_mode & 07777, 0) < 0)
        goto fail;
      continue;
    fail:
      capsa_make_error (err, errno, "tmpcopyup \"%s\": copy \"%s\"", dest, n);
      goto out;
    }
  if (errno != 0)
    capsa_make_error (err, errno, "tmpcopyup \"%s\": read directory", dest);
  else
    ret = 0;
out:
  closedir (d);
  close (dst);
  return ret;
}

/* /proc/self/cgroup or /proc/cgroups, read once per process: each hierarchy of the container's
 * cgroup tmpfs asks, and they do not change while the init builds its mounts.  NULL when the
 * file cannot be read. */
static const char *proc_file_once (const char *path, char **cache, bool *done)
{
  size_t len;

  if (!*done)
    {
      *done = true;
      if (capsa_read_file (path, cache, &len, NULL) < 0)
        *cache = NULL;
    }
  return *cache;
}

/* Where the cgroup hierarchy with these super options is mounted on the host, and our cgroup
 * path in it, from /proc/self/cgroup. */
static char *own_cgroup_path (const char *controllers)
{
  static char *cache;
  static bool done;
  const char *p = proc_file_once ("/proc/self/cgroup", &cache, &done);
  size_t clen = strlen (controllers);

  /* lines are "id:controllers:path" */
  for (; p != NULL && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : p + strlen (p))
    {
      const char *a = strchr (p, ':'), *eol = p + strcspn (p, "\n");
      if (a == NULL || a > eol || strncmp (a + 1, controllers, clen) != 0 || a[1 + clen] != ':')
        continue;
      return strndup (a + 2 + clen, (size_t)(eol - (a + 2 + clen)));
    }
  return NULL;
}

/* Is `name` a cgroup v1 controller known to the kernel (/proc/cgroups)? */
static bool is_controller (const char *name)
{
  static char *cache;
  static bool done;
  const char *p = proc_file_once ("/proc/cgroups", &cache, &done);
  size_t len = strlen (name);

  /* lines are "name\thierarchy\tcgroups\tenabled", after a '#' header */
  for (; p != NULL && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : p + strlen (p))
    if (p[0] != '#' && strncmp (p, name, len) == 0 && (p[len] == '\t' || p[len] == ' '))
      return true;
  return false;
}

/* One v1 (or the hybrid unified) hierarchy under the container's cgroup tmpfs. */
static int mount_cgroup_hierarchy (struct capsa_ctx *ctx, int rootfd, const char *dest,
                                   const char *name, const char *fstype, const char *super,
                                   const char *host_mp, const char *host_root, unsigned long flags,
                                   capsa_error_t *err)
{
  char *sub = NULL, *opts = NULL, *o, *save = NULL, *tok;
  int target, mnt = -1, ret = -1;
  unsigned long long aset, aclr;

  if (asprintf (&sub, "%s/%s", dest, name) < 0)
    return capsa_make_error (err, ENOMEM, "mount cgroup");
  target = capsa_open_in_root (rootfd, sub, true, false, err);
  if (target < 0)
    goto out;

  /* Keep the hierarchy-defining options (controllers, name=), drop rw/ro. */
  o = strdup (super);
  if (o == NULL)
    {
      capsa_make_error (err, ENOMEM, "mount cgroup");
      goto out;
    }
  if (strcmp (fstype, "cgroup") == 0)
    for (tok = strtok_r (o, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
      if (strncmp (tok, "name=", 5) == 0 || is_controller (tok))
        append_data (&opts, tok);
  free (o);

  /* In a cgroup namespace of the container's (new or joined), a fresh mount shows it. */
  if (ctx->new_cgroupns || (ctx->joined_ns & CLONE_NEWCGROUP))
    {
      mnt = mount_fs_at (rootfd, fstype, fstype, sub, target, flags, opts, err);
      if (mnt < 0 && (*err)->status != EPERM && (*err)->status != EBUSY)
        goto out;
      capsa_error_release (err);
    }
  if (mnt < 0)
    {
      /* Without a cgroup namespace (or when the kernel refuses): bind our own cgroup. */
      char *key = NULL, *own, *src = NULL;
      const char *rel;

      if (strcmp (fstype, "cgroup2") == 0)
        key = strdup ("");
      else
        key = opts ? strdup (opts) : strdup ("");
      own = key ? own_cgroup_path (key) : NULL;
      free (key);
      if (own == NULL)
        own = strdup ("/");
      rel = own;
      if (strcmp (host_root, "/") != 0 && strncmp (own, host_root, strlen (host_root)) == 0)
        rel = own + strlen (host_root);
      if (asprintf (&src, "%s%s", host_mp, rel) < 0)
        src = NULL;
      free (own);
      if (src == NULL)
        goto out;
      mnt = capsa_bind_mount_at (src, -1, rootfd, sub, target, false, err);
      free (src);
      if (mnt < 0)
        goto out;
      flags_to_attr (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), 0, &aset, &aclr);
      if (capsa_mount_setattr (mnt, false, aset, aclr, 0, sub, err) < 0)
        goto out;
    }

  /* Co-mounted controllers ("cpu,cpuacct") get one symlink per controller, like a host. */
  if (strchr (name, ',') && strncmp (name, "name=", 5) != 0)
    {
      int dfd = capsa_open_in_root (rootfd, dest, false, false, NULL);
      char *n2 = strdup (name), *s2 = NULL, *c;
      if (dfd >= 0 && n2)
        for (c = strtok_r (n2, ",", &s2); c; c = strtok_r (NULL, ",", &s2))
          if (strcmp (c, name) != 0)
            symlinkat (name, dfd, c);
      free (n2);
      if (dfd >= 0)
        close (dfd);
    }
  ret = 0;
out:
  if (target >= 0)
    close (target);
  if (mnt >= 0)
    close (mnt);
  free (opts);
  free (sub);
  return ret;
}

/* type "cgroup": on a cgroup2 host mount cgroup2; on a v1/hybrid host build a tmpfs holding one
 * mount per host hierarchy (each at the container's own cgroup), like the host layout. */
static int mount_cgroup_v1 (struct capsa_ctx *ctx, int rootfd, const struct oci_mount *m,
                            int targetfd, const struct capsa_mount_opts *o, capsa_error_t *err)
{
  unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  const char *snap;
  FILE *f;
  char *line = NULL;
  size_t cap = 0;
  int tmp, ret = 0;
  unsigned long long aset, aclr;

  tmp = mount_fs_at (rootfd, "tmpfs", "tmpfs", m->destination, targetfd,
                     (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", err);
  if (tmp < 0)
    return -1;
  /* The host's cgroup mounts, as the runtime read them for its cgroup manager before this
   * process was forked (the fresh mount namespace has them unchanged; its cgroup namespace
   * would change their roots, so a new one reads them again). */
  snap = ctx->new_cgroupns ? NULL : capsa_mountinfo_cached ();
  f = snap ? fmemopen ((void *)snap, strlen (snap), "r") : fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    {
      close (tmp);
      return capsa_make_error (err, errno, "open /proc/self/mountinfo");
    }
  while (ret == 0 && getline (&line, &cap, f) > 0)
    {
      /* id parent maj:min root mountpoint opts [optional...] - fstype source super */
      char *fields[6] = { 0 }, *sep, *save = NULL, *tok, *after, *fstype, *super, *name;
      int i = 0;

      line[strcspn (line, "\n")] = '\0';
      sep = strstr (line, " - ");
      if (sep == NULL)
        continue;
      *sep = '\0';
      after = sep + 3;
      for (tok = strtok_r (line, " ", &save); tok && i < 6; tok = strtok_r (NULL, " ", &save))
        fields[i++] = tok;
      if (i < 5)
        continue;
      fstype = strtok_r (after, " ", &save);
      strtok_r (NULL, " ", &save);
      super = strtok_r (NULL, " ", &save);
      if (fstype == NULL || super == NULL)
        continue;
      if (strcmp (fstype, "cgroup") != 0 && strcmp (fstype, "cgroup2") != 0)
        continue;
      if (strncmp (fields[4], "/sys/fs/cgroup/", 15) != 0)
        continue;
      name = fields[4] + 15;
      if (*name == '\0' || strchr (name, '/'))
        continue;
      ret = mount_cgroup_hierarchy (ctx, rootfd, m->destination, name, fstype, super, fields[4],
                                    fields[3], flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
    }
  free (line);
  fclose (f);
  if (ret == 0 && (flags & MS_RDONLY))
    {
      flags_to_attr (MS_RDONLY, 0, &aset, &aclr);
      ret = capsa_mount_setattr (tmp, false, aset, aclr, 0, m->destination, err);
    }
  close (tmp);
  return ret;
}

static bool host_is_cgroup2 (void)
{
  struct statfs sf;
  return statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int capsa_mount_one (struct capsa_ctx *ctx, int rootfd, const struct oci_mount *m,
                     capsa_error_t *err)
{
  struct capsa_mount_opts o;
  const char *type = m->type;
  const char *dest = m->destination;
  int target = -1, mnt = -1, ret = -1;
  bool bind;
  unsigned long flags;
  unsigned long long aset, aclr;

  if (dest == NULL || dest[0] != '/')
    return capsa_make_error (err, 0, "mount destination \"%s\" is not an absolute path",
                             dest ? dest : "");
  if (capsa_parse_mount_options (m->options, m->options_len, &o, err) < 0)
    return capsa_error_prefix (err, "mount \"%s\"", dest);
  bind = o.bind || (type && (strcmp (type, "bind") == 0 || strcmp (type, "rbind") == 0));
  if (type && strcmp (type, "rbind") == 0)
    o.rbind = true;
  flags = o.flags & ~(MS_BIND | MS_REC);

  /* The kernel's own filesystems and their usual places must not be reached through a
   * symlink planted in the rootfs (CVE-2019-19921 class). */
  if ((type && (strcmp (type, "proc") == 0 || strcmp (type, "sysfs") == 0))
      || path_is (dest, "/proc") || path_is (dest, "/sys") || path_is (dest, "/dev"))
    if (dest_is_symlink (rootfd, dest))
      {
        capsa_make_error (err, 0, "mount destination \"%s\" is a symlink", dest);
        goto out;
      }

  if (bind)
    {
      struct stat st;
      char *src = NULL;

      if (m->source == NULL)
        {
          capsa_make_error (err, 0, "mount \"%s\": bind mount without a source", dest);
          goto out;
        }
      if (m->source[0] != '/' && ctx->bundle)
        {
          if (asprintf (&src, "%s/%s", ctx->bundle, m->source) < 0)
            src = NULL;
        }
      else
        src = strdup (m->source);
      if (src == NULL)
        {
          capsa_make_error (err, ENOMEM, "mount \"%s\"", dest);
          goto out;
        }
      if (stat (src, &st) < 0)
        {
          capsa_make_error (err, errno, "mount \"%s\" on \"%s\": stat source", m->source, dest);
          free (src);
          goto out;
        }
      target = capsa_open_in_root (rootfd, dest, true, !S_ISDIR (st.st_mode), err);
      if (target < 0)
        {
          free (src);
          capsa_error_prefix (err, "mount \"%s\" on \"%s\"", m->source, dest);
          goto out;
        }
      if (capsa_mount_is_idmapped (m))
        mnt = attach_idmapped (ctx, m, target, err);
      else
        mnt = capsa_bind_mount_at (src, -1, rootfd, dest, target, o.rbind, err);
      free (src);
      if (mnt < 0)
        goto out;
      /* A bind ignores per-mount flags: apply them now, to the top mount only.  Only the
       * attributes asked for change, so flags locked by a user namespace stay as they are. */
      flags_to_attr (flags, o.clear_flags, &aset, &aclr);
      if (capsa_mount_setattr (mnt, false, aset, aclr, 0, dest, err) < 0)
        {
          /* "rw"/"suid"/"dev"/"exec" on a mount whose flag a user namespace locked: keep the
           * lock, as the kernel requires, and still apply what was set. */
          if (!ctx->userns || (*err)->status != EPERM || aclr == 0)
            goto out;
          capsa_error_release (err);
          if (capsa_mount_setattr (mnt, false, aset, aclr & MOUNT_ATTR__ATIME, 0, dest, err) < 0)
            goto out;
        }
    }
  else
    {
      const char *t = type ? type : "none";

      target = capsa_open_in_root (rootfd, dest, true, false, err);
      if (target < 0)
        {
          capsa_error_prefix (err, "mount \"%s\" on \"%s\"", t, dest);
          goto out;
        }
      if (strcmp (t, "cgroup") == 0 && !host_is_cgroup2 ())
        {
          ret = mount_cgroup_v1 (ctx, rootfd, m, target, &o, err);
          goto out;
        }
      if (strcmp (t, "cgroup") == 0)
        t = "cgroup2";
      {
        const char *label = ctx->config->linux_ ? ctx->config->linux_->mount_label : NULL;
        char *labelled = capsa_mount_label_data (t, o.data, label);
        mnt = mount_fs_at (rootfd, m->source ? m->source : t, t, dest, target, flags,
                           labelled ? labelled : o.data, err);
        free (labelled);
        if (mnt >= 0 && capsa_mount_label_apply (t, mnt, label, dest, err) < 0)
          goto out;
      }
      if (mnt >= 0 && o.tmpcopyup && strcmp (t, "tmpfs") == 0)
        {
          /* `target` was opened before the mount: it still reaches the directory below. */
          int s = openat (target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          int d = s < 0 ? -1 : openat (mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (d < 0)
            {
              capsa_make_error (err, errno, "tmpcopyup \"%s\": open", dest);
              if (s >= 0)
                close (s);
              goto out;
            }
          if (copy_tree (s, d, dest, err) < 0)
            goto out;
        }
      if (mnt < 0 && strcmp (t, "sysfs") == 0 && ctx->userns && (*err)->status == EPERM)
        {
          /* sysfs needs a network namespace owned by our user namespace: without one, show
           * the host's /sys read through a recursive bind, with the asked flags everywhere. */
          capsa_error_release (err);
          mnt = capsa_bind_mount_at ("/sys", -1, rootfd, dest, target, true, err);
          if (mnt < 0)
            goto out;
          flags_to_attr (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), 0, &aset, &aclr);
          if (capsa_mount_setattr (mnt, true, aset, aclr, 0, dest, err) < 0)
            goto out;
        }
      else if (mnt < 0 && strcmp (t, "cgroup2") == 0 && (*err)->status != ENOENT)
        {
          /* Not allowed to mount a cgroup2 superblock here (no cgroup namespace, or a user
           * namespace): bind our own cgroup2 directory instead. */
          char *own = own_cgroup_path (""), *src = NULL;
          const char *base = host_is_cgroup2 () ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";

          if (own && asprintf (&src, "%s%s", base, own) < 0)
            src = NULL;
          free (own);
          if (src)
            {
              capsa_error_release (err);
              mnt = capsa_bind_mount_at (src, -1, rootfd, dest, target, false, err);
              free (src);
              if (mnt < 0)
                goto out;
              flags_to_attr (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), 0, &aset,
                             &aclr);
              if (capsa_mount_setattr (mnt, false, aset, aclr, 0, dest, err) < 0)
                goto out;
            }
        }
      if (mnt < 0)
        goto out;
    }

  if (o.recursive_attr && capsa_mount_setattr (mnt, true, o.attr_set, o.attr_clr, 0, dest, err) < 0)
    goto out;
  if (o.propagation
      && capsa_mount_setattr (mnt, (o.propagation & MS_REC) != 0, 0, 0, o.propagation, dest, err)
           < 0)
    goto out;
  ret = 0;
out:
  if (target >= 0)
    close (target);
  if (mnt >= 0)
    close (mnt);
  capsa_mount_opts_free (&o);
  return ret;
}
