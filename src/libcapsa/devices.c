/* capsa: device nodes and /dev symlinks inside the container's rootfs. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct dev_spec
{
  const char *path;
  char type;
  unsigned int major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

static const struct dev_spec default_devices[] = {
  { "/dev/null", 'c', 1, 3, 0666, 0, 0 },    { "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
  { "/dev/full", 'c', 1, 7, 0666, 0, 0 },    { "/dev/random", 'c', 1, 8, 0666, 0, 0 },
  { "/dev/urandom", 'c', 1, 9, 0666, 0, 0 }, { "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

static const struct
{
  const char *name, *target;
} default_links[] = {
  { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
  { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },         { "core", "/proc/kcore" },
};

/* Split "/a/b/c" into a parent fd (resolved and created inside the root) and "c". */
static int open_parent (int rootfd, const char *path, char **base, capsa_error_t *err)
{
  char *copy = strdup (path), *slash;
  int fd;

  if (copy == NULL)
    return capsa_make_error (err, ENOMEM, "device \"%s\"", path);
  while (strlen (copy) > 1 && copy[strlen (copy) - 1] == '/')
    copy[strlen (copy) - 1] = '\0';
  slash = strrchr (copy, '/');
  if (slash == NULL || slash[1] == '\0' || strcmp (slash + 1, "..") == 0
      || strcmp (slash + 1, ".") == 0)
    {
      free (copy);
      return capsa_make_error (err, 0, "device \"%s\": invalid path", path);
    }
  *base = strdup (slash + 1);
  *slash = '\0';
  fd = capsa_open_in_root (rootfd, *copy ? copy : "/", true, false, err);
  free (copy);
  if (fd < 0)
    {
      free (*base);
      *base = NULL;
    }
  return fd;
}

static int create_device (struct capsa_ctx *ctx, int rootfd, const struct dev_spec *d,
                          capsa_error_t *err)
{
  char *base = NULL;
  int parent, ret = -1;
  mode_t type;

  switch (d->type)
    {
    case 'c':
    case 'u':
      type = S_IFCHR;
      break;
    case 'b':
      type = S_IFBLK;
      break;
    case 'p':
      type = S_IFIFO;
      break;
    default:
      return capsa_make_error (err, 0, "device \"%s\": unknown type \"%c\"", d->path, d->type);
    }

  parent = open_parent (rootfd, d->path, &base, err);
  if (parent < 0)
    return -1;

  if (ctx->userns)
    {
      /* mknod is not allowed in a user namespace: bind the host's node onto an empty file. */
      int fd, target, mnt;

      fd = openat (parent, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
      if (fd < 0 && errno == ELOOP && unlinkat (parent, base, 0) == 0)
        fd = openat (parent, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
      if (fd < 0)
        {
          capsa_make_error (err, errno, "create device \"%s\"", d->path);
          goto out;
        }
      close (fd);
      target = openat (parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (target < 0)
        {
          capsa_make_error (err, errno, "create device \"%s\"", d->path);
          goto out;
        }
      mnt = capsa_bind_mount_at (d->path, -1, rootfd, d->path, target, false, err);
      close (target);
      if (mnt < 0)
        goto out;
      close (mnt);
      ret = 0;
      goto out;
    }

  /* Whatever the rootfs has at that name is replaced (usually nothing: /dev is a fresh tmpfs,
   * so try the mknod first). */
  if (mknodat (parent, base, type | (d->mode & 07777), makedev (d->major, d->minor)) < 0
      && (errno != EEXIST || unlinkat (parent, base, 0) < 0
          || mknodat (parent, base, type | (d->mode & 07777), makedev (d->major, d->minor)) < 0))
    {
      capsa_make_error (err, errno, "mknod device \"%s\"", d->path);
      goto out;
    }
  /* Nothing else runs in the container yet, so the name still is the node just made. */
  if (fchmodat (parent, base, d->mode & 07777, 0) < 0
      || fchownat (parent, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
    {
      capsa_make_error (err, errno, "set owner and mode of device \"%s\"", d->path);
      goto out;
    }
  ret = 0;
out:
  close (parent);
  free (base);
  return ret;
}

static bool path_equal (const char *a, const char *b)
{
  while (*a == '/' && a[1] == '/')
    a++;
  while (*b == '/' && b[1] == '/')
    b++;
  return strcmp (a, b) == 0;
}

int capsa_create_devices (struct capsa_ctx *ctx, int rootfd, bool defaults, capsa_error_t *err)
{
  struct oci_linux *lx = ctx->config ? ctx->config->linux_ : NULL;
  size_t i, j;
  int devfd;

  if (defaults)
    {
      for (i = 0; i < sizeof (default_devices) / sizeof (default_devices[0]); i++)
        {
          bool overridden = false;
          for (j = 0; lx && j < lx->devices_len; j++)
            if (lx->devices[j].path && path_equal (lx->devices[j].path, default_devices[i].path))
              overridden = true;
          if (!overridden && create_device (ctx, rootfd, &default_devices[i], err) < 0)
            return -1;
        }
    }

  for (i = 0; lx && i < lx->devices_len; i++)
    {
      const struct oci_device *od = &lx->devices[i];
      struct dev_spec d;

      if (od->type == NULL || od->path == NULL || strlen (od->type) != 1)
        return capsa_make_error (err, 0, "config.json: .linux.devices[%zu]: invalid device", i);
      if (od->path[0] != '/')
        return capsa_make_error (err, 0, "device \"%s\": not an absolute path", od->path);
      if (od->type[0] != 'p' && (!od->major_present || !od->minor_present))
        return capsa_make_error (err, 0, "device \"%s\": major and minor are required", od->path);
      d.path = od->path;
      d.type = od->type[0];
      d.major = od->major_present ? od->major : 0;
      d.minor = od->minor_present ? od->minor : 0;
      d.mode = od->file_mode_present ? od->file_mode : 0666;
      d.uid = od->uid_present ? od->uid : 0;
      d.gid = od->gid_present ? od->gid : 0;
      if (create_device (ctx, rootfd, &d, err) < 0)
        return -1;
    }

  if (!defaults)
    return 0;

  devfd = capsa_open_in_root (rootfd, "/dev", true, false, err);
  if (devfd < 0)
    return -1;
  for (i = 0; i < sizeof (default_links) / sizeof (default_links[0]); i++)
    {
      bool skip = false;

      if (strcmp (default_links[i].name, "core") == 0 && access ("/proc/kcore", F_OK) < 0)
        continue;
      for (j = 0; lx && j < lx->devices_len; j++)
        if (lx->devices[j].path && strncmp (lx->devices[j].path, "/dev/", 5) == 0
            && strcmp (lx->devices[j].path + 5, default_links[i].name) == 0)
          skip = true;
      if (skip)
        continue;
      if (symlinkat (default_links[i].target, devfd, default_links[i].name) < 0 && errno != EEXIST)
        {
          capsa_make_error (err, errno, "symlink \"/dev/%s\"", default_links[i].name);
          close (devfd);
          return -1;
        }
    }
  close (devfd);
  return 0;
}

int capsa_create_console_placeholder (int rootfd, capsa_error_t *err)
{
  int fd = capsa_open_in_root (rootfd, "/dev/console", true, true, err);

  if (fd < 0)
    return capsa_error_prefix (err, "create \"/dev/console\"");
  close (fd);
  return 0;
}
