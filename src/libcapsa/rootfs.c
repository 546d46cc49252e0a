/* capsa: prepare the container's root filesystem, pivot into it, and lock it down. */
#include <config.h>
#include "internal.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux.rootfsPropagation as MS_* flags (always recursive); 0 when unset. */
static int parse_propagation (const char *s, unsigned long *out, capsa_error_t *err)
{
  static const struct
  {
    const char *name;
    unsigned long flag;
  } props[] = {
    { "shared", MS_SHARED },         { "rshared", MS_SHARED },         { "slave", MS_SLAVE },
    { "rslave", MS_SLAVE },          { "private", MS_PRIVATE },        { "rprivate", MS_PRIVATE },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE },
  };
  size_t i;

  *out = 0;
  if (s == NULL || *s == '\0')
    return 0;
  for (i = 0; i < sizeof (props) / sizeof (props[0]); i++)
    if (strcmp (props[i].name, s) == 0)
      {
        *out = props[i].flag | MS_REC;
        return 0;
      }
  return capsa_make_error (err, 0, "config.json: .linux.rootfsPropagation: unknown value \"%s\"",
                           s);
}

/* The mount point of the mount holding `path` (a symlink-free absolute path). */
static char *mount_point_of (const char *path)
{
  char *p = strdup (path);

  while (p && strcmp (p, "/") != 0)
    {
      struct statx stx;
      char *slash;

      if (statx (AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, 0, &stx) == 0
          && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
          && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return p;
      slash = strrchr (p, '/');
      if (slash == p)
        slash[1] = '\0';
      else
        *slash = '\0';
    }
  return p;
}

static bool bind_on_dev (const struct oci_config *c)
{
  size_t i, j;

  for (i = 0; c && i < c->mounts_len; i++)
    {
      const struct oci_mount *m = &c->mounts[i];
      const char *d = m->destination;
      bool bind = m->type && strcmp (m->type, "bind") == 0;

      for (j = 0; j < m->options_len; j++)
        if (strcmp (m->options[j], "bind") == 0 || strcmp (m->options[j], "rbind") == 0)
          bind = true;
      if (!bind || d == NULL)
        continue;
      while (d[0] == '/' && d[1] == '/')
        d++;
      if (strncmp (d, "/dev", 4) == 0 && (d[4] == '\0' || strspn (d + 4, "/") == strlen (d + 4)))
        return true;
    }
  return false;
}

/* Mount propagation.  Like runc, "/" is first made recursively slave (or takes the configured
 * rootfsPropagation) so nothing done in here reaches the host, except on purpose with "shared"
 * (which Kubernetes' bidirectional mounts rely on); the mount holding the rootfs is then made
 * private so the rootfs bind below does not propagate anywhere and pivot_root accepts it.
 * After the pivot the configured value is applied again to the new "/" (see finalize): the
 * spec defines rootfsPropagation as the propagation of the container's rootfs. */
int capsa_rootfs_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  struct oci_config *c = ctx->config;
  unsigned long prop;
  char *mp;
  int tree, newfd, cur;
  size_t i;
  struct stat a, b;

  if (!ctx->new_mountns)
    return 0;
  if (parse_propagation (c->linux_ ? c->linux_->rootfs_propagation : NULL, &prop, err) < 0)
    return -1;
  if (mount (NULL, "/", NULL, prop ? prop : MS_SLAVE | MS_REC, NULL) < 0)
    return capsa_make_error (err, errno, "set propagation of \"/\"");
  mp = mount_point_of (ctx->rootfs);
  if (mp == NULL)
    return capsa_make_error (err, ENOMEM, "rootfs");
  if (mount (NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
    {
      capsa_make_error (err, errno, "make the mount \"%s\" holding the rootfs private", mp);
      free (mp);
      return -1;
    }
  free (mp);

  /* ctx->rootfs_fd was opened before the mount namespace was created: its mount is the
   * host's, which mount calls refuse.  Reopen the (symlink-free) path here and check that it
   * still is the same directory. */
  cur = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cur < 0)
    return capsa_make_error (err, errno, "open the rootfs \"%s\"", ctx->rootfs);
  if (fstat (cur, &a) < 0 || fstat (ctx->rootfs_fd, &b) < 0 || a.st_dev != b.st_dev
      || a.st_ino != b.st_ino)
    {
      close (cur);
      return capsa_make_error (err, 0, "rootfs \"%s\" changed while being mounted", ctx->rootfs);
    }

  /* Bind the rootfs onto itself so it is a mount point, and keep an fd on the new mount: paths
   * resolved from the old fd would land below it, on the hidden directory. */
  tree = open_tree (cur, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree >= 0)
    {
      if (move_mount (tree, "", cur, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        {
          int saved = errno;
          close (tree);
          close (cur);
          return capsa_make_error (err, saved, "bind mount the rootfs \"%s\"", ctx->rootfs);
        }
      newfd = tree;
    }
  else if (errno == ENOSYS)
    {
      if (mount (ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return close (cur),
               capsa_make_error (err, errno, "bind mount the rootfs \"%s\"", ctx->rootfs);
      newfd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (newfd < 0)
        return close (cur), capsa_make_error (err, errno, "open the rootfs \"%s\"", ctx->rootfs);
    }
  else
    {
      int saved = errno;
      close (cur);
      return capsa_make_error (err, saved, "bind mount the rootfs \"%s\"", ctx->rootfs);
    }
  close (cur);
  if (fstat (newfd, &a) < 0 || fstat (ctx->rootfs_fd, &b) < 0 || a.st_dev != b.st_dev
      || a.st_ino != b.st_ino)
    {
      close (newfd);
      return capsa_make_error (err, 0, "rootfs \"%s\" changed while being mounted", ctx->rootfs);
    }
  close (ctx->rootfs_fd);
  ctx->rootfs_fd = newfd;

  for (i = 0; i < c->mounts_len; i++)
    if (capsa_mount_one (ctx, ctx->rootfs_fd, &c->mounts[i], err) < 0)
      return -1;
  if (capsa_notify_mount (ctx->rootfs_fd, err) < 0)
    return -1;

  if (!bind_on_dev (c) && capsa_create_devices (ctx, ctx->rootfs_fd, true, err) < 0)
    return -1;

  if (c->process && c->process->terminal
      && capsa_create_console_placeholder (ctx->rootfs_fd, err) < 0)
    return -1;
  return 0;
}

static bool has_namespace (const struct oci_config *c, const char *type)
{
  size_t i;

  for (i = 0; c->linux_ && i < c->linux_->namespaces_len; i++)
    if (c->linux_->namespaces[i].type && strcmp (c->linux_->namespaces[i].type, type) == 0)
      return true;
  return false;
}

/* Only sysctls that belong to a namespace the container has of its own may be set. */
static int check_sysctl (const struct oci_config *c, const char *name, capsa_error_t *err)
{
  static const char *const ipc[]
    = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
  size_t i;

  for (i = 0; i < sizeof (ipc) / sizeof (ipc[0]); i++)
    if (strcmp (name, ipc[i]) == 0 && has_namespace (c, "ipc"))
      return 0;
  if (strncmp (name, "fs.mqueue.", 10) == 0 && has_namespace (c, "ipc"))
    return 0;
  if (strncmp (name, "net.", 4) == 0 && has_namespace (c, "network"))
    return 0;
  if ((strcmp (name, "kernel.hostname") == 0 || strcmp (name, "kernel.domainname") == 0)
      && has_namespace (c, "uts"))
    return 0;
  return capsa_make_error (err, 0, "sysctl \"%s\" is not in a separate kernel namespace", name);
}

static int write_sysctl (int procfd, const char *key, const char *value, capsa_error_t *err)
{
  char *path, *name, *p;
  bool slashes = strchr (key, '/') != NULL;
  struct open_how how = { 0 };
  struct statfs sf;
  int fd;
  size_t len = value ? strlen (value) : 0;
  ssize_t w;

  /* Keys use dots ("net.ipv4.ip_forward") or slashes ("net/ipv4/conf/eth0.1/forwarding"). */
  if (asprintf (&path, "sys/%s", key) < 0 || (name = strdup (key)) == NULL)
    return capsa_make_error (err, ENOMEM, "sysctl \"%s\"", key);
  for (p = path + 4; *p; p++)
    if (!slashes && *p == '.')
      *p = '/';
  for (p = name; *p; p++)
    if (*p == '/')
      *p = '.';
  if (strstr (path, "..") || key[0] == '/' || key[0] == '.')
    {
      capsa_make_error (err, 0, "sysctl \"%s\": invalid name", key);
      goto fail;
    }

  /* No O_TRUNC (a procfs write at offset 0 replaces the value): without openat2 only the
   * fstatfs check below tells a file bound over the sysctl, and the open must not truncate it
   * before that. */
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  fd = syscall (SYS_openat2, procfd, path, &how, sizeof (how));
  if (fd < 0 && errno == ENOSYS)
    fd = openat (procfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      capsa_make_error (err, errno, "open sysctl \"%s\"", name);
      goto fail;
    }
  if (fstatfs (fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
    {
      close (fd);
      capsa_make_error (err, 0, "sysctl \"%s\": not on procfs", name);
      goto fail;
    }
  w = write (fd, value ? value : "", len);
  if (w < 0 || (size_t)w != len)
    {
      capsa_make_error (err, w < 0 ? errno : EIO, "write sysctl \"%s\"", name);
      close (fd);
      goto fail;
    }
  close (fd);
  free (path);
  free (name);
  return 0;
fail:
  free (path);
  free (name);
  return -1;
}

/* Before anything is made: kernel.hostname and kernel.domainname in a new uts namespace would
 * race with (and silently override) .hostname and .domainname; refused as runc and crun do.
 * In a uts namespace joined by path they stay allowed (they set the joined names). */
int capsa_sysctl_validate (struct capsa_ctx *ctx, capsa_error_t *err)
{
  struct oci_linux *lx = ctx->config->linux_;
  size_t i;

  for (i = 0; lx && ctx->new_utsns && i < lx->sysctl_len; i++)
    {
      const char *k = lx->sysctl[i].key;
      const char *field = NULL;

      if (strcmp (k, "kernel.hostname") == 0 || strcmp (k, "kernel/hostname") == 0)
        field = "hostname";
      else if (strcmp (k, "kernel.domainname") == 0 || strcmp (k, "kernel/domainname") == 0)
        field = "domainname";
      if (field)
        return capsa_make_error (err, 0,
                                 "config.json: .linux.sysctl[\"%s\"]: not allowed with a new uts "
                                 "namespace, set .%s instead",
                                 k, field);
    }
  return 0;
}

static int apply_sysctls (struct capsa_ctx *ctx, capsa_error_t *err)
{
  struct oci_linux *lx = ctx->config->linux_;
  struct statfs sf;
  size_t i;
  int procfd, ret = 0;

  if (lx == NULL || lx->sysctl_len == 0)
    return 0;
  for (i = 0; i < lx->sysctl_len; i++)
    {
      char *name = strdup (lx->sysctl[i].key), *p;
      int r;

      if (name == NULL)
        return capsa_make_error (err, ENOMEM, "sysctl");
      for (p = name; *p; p++)
        if (*p == '/')
          *p = '.';
      r = check_sysctl (ctx->config, name, err);
      free (name);
      if (r < 0)
        return -1;
    }
  procfd = open ("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (procfd < 0)
    return capsa_make_error (err, errno, "sysctl: open /proc");
  if (fstatfs (procfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
    {
      close (procfd);
      return capsa_make_error (err, 0, "sysctl: /proc in the container is not a procfs mount");
    }
  for (i = 0; ret == 0 && i < lx->sysctl_len; i++)
    ret = write_sysctl (procfd, lx->sysctl[i].key, lx->sysctl[i].value, err);
  close (procfd);
  return ret;
}

/* An empty read-only tmpfs (directories) or /dev/null (files) over each masked path. */
static int mask_paths (struct capsa_ctx *ctx, int rootfd, capsa_error_t *err)
{
  struct oci_linux *lx = ctx->config->linux_;
  size_t i;

  for (i = 0; lx && i < lx->masked_paths_len; i++)
    {
      const char *p = lx->masked_paths[i];
      struct stat st;
      int target, mnt = -1;

      target = capsa_open_in_root (rootfd, p, false, false, err);
      if (target < 0)
        {
          if ((*err)->status == ENOENT || (*err)->status == ENOTDIR)
            {
              capsa_error_release (err);
              continue;
            }
          return capsa_error_prefix (err, "masked path");
        }
      if (fstat (target, &st) < 0)
        {
          close (target);
          return capsa_make_error (err, errno, "masked path \"%s\"", p);
        }
      if (S_ISDIR (st.st_mode))
        {
          int fs = fsopen ("tmpfs", FSOPEN_CLOEXEC);

          if (fs >= 0)
            {
              fsconfig (fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0);
              if (fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
                mnt = fsmount (fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
              close (fs);
              if (mnt >= 0
                  && move_mount (mnt, "", target, "",
                                 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
                       < 0)
                {
                  close (mnt);
                  mnt = -1;
                }
              if (mnt < 0)
                {
                  close (target);
                  return capsa_make_error (err, errno, "mount \"tmpfs\" on masked path \"%s\"", p);
                }
            }
          else
            {
              char fdp[32];
              if (mount ("tmpfs", capsa_fd_path (target, fdp), "tmpfs", MS_RDONLY, NULL) < 0)
                {
                  close (target);
                  return capsa_make_error (err, errno, "mount \"tmpfs\" on masked path \"%s\"", p);
                }
            }
        }
      else
        {
          int null = capsa_open_in_root (rootfd, "/dev/null", false, false, err);
          struct stat ns;

          if (null < 0)
            {
              close (target);
              return capsa_error_prefix (err, "masked path \"%s\"", p);
            }
          /* The mask must be the null device itself.  A /dev/null that is a symlink (a bind
           * mount on /dev, a volume shared with another container) would bind its target, e.g.
           * a procfs file that readonlyPaths protects, writable over the masked path
           * (CVE-2025-31133). */
          if (fstat (null, &ns) < 0 || !S_ISCHR (ns.st_mode) || ns.st_rdev != makedev (1, 3))
            {
              close (null);
              close (target);
              return capsa_make_error (err, 0,
                                       "masked path \"%s\": \"/dev/null\" in the container is "
                                       "not the null device",
                                       p);
            }
          mnt = capsa_bind_mount_at ("/dev/null", null, rootfd, p, target, false, err);
          close (null);
          if (mnt < 0)
            {
              close (target);
              return capsa_error_prefix (err, "masked path");
            }
        }
      if (mnt >= 0)
        close (mnt);
      close (target);
    }
  return 0;
}

/* Each readonly path is bound onto itself and the bind made read-only (the top mount, as
 * runc does; only the read-only attribute changes, other locked flags stay). */
static int readonly_paths (struct capsa_ctx *ctx, int rootfd, capsa_error_t *err)
{
  struct oci_linux *lx = ctx->config->linux_;
  size_t i;

  for (i = 0; lx && i < lx->readonly_paths_len; i++)
    {
      const char *p = lx->readonly_paths[i];
      int target, mnt;

      target = capsa_open_in_root (rootfd, p, false, false, err);
      if (target < 0)
        {
          if ((*err)->status == ENOENT || (*err)->status == ENOTDIR)
            {
              capsa_error_release (err);
              continue;
            }
          return capsa_error_prefix (err, "readonly path");
        }
      mnt = capsa_bind_mount_at (p, target, rootfd, p, target, true, err);
      close (target);
      if (mnt < 0)
        return capsa_error_prefix (err, "readonly path");
      if (capsa_mount_setattr (mnt, false, MOUNT_ATTR_RDONLY, 0, 0, p, err) < 0)
        {
          close (mnt);
          return capsa_error_prefix (err, "readonly path");
        }
      close (mnt);
    }
  return 0;
}

int capsa_rootfs_finalize (struct capsa_ctx *ctx, capsa_error_t *err)
{
  struct oci_config *c = ctx->config;
  unsigned long prop;
  int rootfd, ret = -1;

  if (parse_propagation (c->linux_ ? c->linux_->rootfs_propagation : NULL, &prop, err) < 0)
    return -1;
  if (fchdir (ctx->rootfs_fd) < 0)
    return capsa_make_error (err, errno, "chdir to the rootfs \"%s\"", ctx->rootfs);

  if (!ctx->new_mountns)
    {
      if (chroot (".") < 0)
        return capsa_make_error (err, errno, "chroot to \"%s\"", ctx->rootfs);
    }
  else if (ctx->opts && ctx->opts->no_pivot)
    {
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
        return capsa_make_error (err, errno, "move the rootfs \"%s\" to \"/\"", ctx->rootfs);
      if (chroot (".") < 0)
        return capsa_make_error (err, errno, "chroot to \"%s\"", ctx->rootfs);
    }
  else
    {
      /* pivot_root(".", ".") stacks the old root on top of the new one; detach it.  Make it a
       * slave first so the detach does not propagate to the host's mounts. */
      int oldroot = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (oldroot < 0)
        return capsa_make_error (err, errno, "open the old root");
      if (syscall (SYS_pivot_root, ".", ".") < 0)
        {
          close (oldroot);
          return capsa_make_error (err, errno, "pivot_root to \"%s\"", ctx->rootfs);
        }
      /* Through an fd of the old root: a path such as "." can resolve to the new root, and
       * making that recursively slave would undo the propagation of the container's mounts.
       * Not needed when prepare made the whole tree rslave or rprivate (the default): a walk
       * over every mount of the host's copy. */
      bool tree_unshared
        = prop == 0 || prop == (MS_SLAVE | MS_REC) || prop == (MS_PRIVATE | MS_REC);
      if (!tree_unshared
          && capsa_mount_setattr (oldroot, true, 0, 0, MS_SLAVE, "the old root", err) < 0)
        {
          close (oldroot);
          return -1;
        }
      close (oldroot);
      if (umount2 (".", MNT_DETACH) < 0)
        return capsa_make_error (err, errno, "detach the old root");
    }
  if (chdir ("/") < 0)
    return capsa_make_error (err, errno, "chdir to \"/\"");

  if (ctx->new_mountns && prop && mount (NULL, "/", NULL, prop, NULL) < 0)
    return capsa_make_error (err, errno, "set rootfs propagation \"%s\"",
                             c->linux_->rootfs_propagation);

  if (apply_sysctls (ctx, err) < 0)
    return -1;

  if (!ctx->new_mountns)
    return 0;

  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return capsa_make_error (err, errno, "open \"/\"");
  if (mask_paths (ctx, rootfd, err) < 0 || readonly_paths (ctx, rootfd, err) < 0)
    goto out;

  if (c->root && c->root->readonly)
    {
      int r = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

      if (r < 0)
        {
          capsa_make_error (err, errno, "open \"/\"");
          goto out;
        }
      ret = capsa_mount_setattr (r, false, MOUNT_ATTR_RDONLY, 0, 0, "/", err);
      close (r);
      if (ret < 0)
        goto out;
    }
  ret = 0;
out:
  close (rootfd);
  return ret;
}
