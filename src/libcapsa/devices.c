/* capsa: device nodes and /dev symlinks inside the container's rootfs. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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

static int device_type (const struct dev_spec *d, mode_t *type, capsa_error_t *err)
{
  switch (d->type)
    {
    case 'c':
    case 'u':
      *type = S_IFCHR;
      return 0;
    case 'b':
      *type = S_IFBLK;
      return 0;
    case 'p':
      *type = S_IFIFO;
      return 0;
    default:
      return capsa_make_error (err, 0, "device \"%s\": unknown type \"%c\"", d->path, d->type);
    }
}

/* linux.devices[i] as a dev_spec, checked. */
static int device_spec (const struct oci_linux *lx, size_t i, struct dev_spec *d,
                        capsa_error_t *err)
{
  const struct oci_device *od = &lx->devices[i];

  if (od->type == NULL || od->path == NULL || strlen (od->type) != 1)
    return capsa_make_error (err, 0, "config.json: .linux.devices[%zu]: invalid device", i);
  if (od->path[0] != '/')
    return capsa_make_error (err, 0, "device \"%s\": not an absolute path", od->path);
  if (od->type[0] != 'p' && (!od->major_present || !od->minor_present))
    return capsa_make_error (err, 0, "device \"%s\": major and minor are required", od->path);
  d->path = od->path;
  d->type = od->type[0];
  d->major = od->major_present ? od->major : 0;
  d->minor = od->minor_present ? od->minor : 0;
  d->mode = od->file_mode_present ? od->file_mode : 0666;
  d->uid = od->uid_present ? od->uid : 0;
  d->gid = od->gid_present ? od->gid : 0;
  return 0;
}

/* The host id that container id `id` maps to, -1 when unmapped. */
static long long map_to_host (const struct oci_id_mapping *m, size_t n, uint32_t id)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (id >= m[i].container_id && (uint64_t)id < (uint64_t)m[i].container_id + m[i].size)
      return (long long)m[i].host_id + (id - m[i].container_id);
  return -1;
}

static void close_device_nodes (struct capsa_ctx *ctx)
{
  size_t i;
  for (i = 0; i < ctx->ndevice_nodes; i++)
    if (ctx->device_nodes[i] >= 0)
      close (ctx->device_nodes[i]);
  free (ctx->device_nodes);
  ctx->device_nodes = NULL;
  ctx->ndevice_nodes = 0;
}

void capsa_devices_release (struct capsa_ctx *ctx)
{
  close_device_nodes (ctx);
}

/* Host side, before the init is cloned into a new user namespace, where mknod is not allowed:
 * each linux.devices node is made with its type, numbers, fileMode and owner (the host ids its
 * uid and gid map to) on a private tmpfs that is never attached anywhere, and kept as a
 * detached bind mount of that one node, which the init moves onto the device's path.  When the
 * runtime itself may not mount a tmpfs (it runs in a user namespace), the init binds the host's
 * node at the same path instead, if it has the same type and numbers. */
int capsa_devices_prepare_userns (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_linux *lx = ctx->config->linux_;
  int fs = -1, mnt = -1, ret = -1;
  size_t i;

  if (!ctx->new_userns || lx == NULL || lx->devices_len == 0)
    return 0;
  ctx->device_nodes = malloc (lx->devices_len * sizeof (int));
  if (ctx->device_nodes == NULL)
    return capsa_make_error (err, ENOMEM, "config.json: .linux.devices");
  ctx->ndevice_nodes = lx->devices_len;
  for (i = 0; i < lx->devices_len; i++)
    ctx->device_nodes[i] = -1;

  fs = fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0 || fsconfig (fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0
      || fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0
      || (mnt = fsmount (fs, FSMOUNT_CLOEXEC, 0)) < 0)
    {
      capsa_debug ("devices: no private tmpfs (%s): the init binds the host's nodes",
                   strerror (errno));
      ret = 0;
      goto out;
    }
  for (i = 0; i < lx->devices_len; i++)
    {
      struct dev_spec d;
      mode_t type;
      long long uid, gid;
      char name[32];

      if (device_spec (lx, i, &d, err) < 0 || device_type (&d, &type, err) < 0)
        goto out;
      uid = map_to_host (lx->uid_mappings, lx->uid_mappings_len, d.uid);
      gid = map_to_host (lx->gid_mappings, lx->gid_mappings_len, d.gid);
      if (uid < 0 || gid < 0)
        {
          capsa_make_error (err, 0,
                            "config.json: .linux.devices[%zu]: %s %u is not mapped in the user "
                            "namespace",
                            i, uid < 0 ? "uid" : "gid", uid < 0 ? d.uid : d.gid);
          goto out;
        }
      snprintf (name, sizeof (name), "%zu", i);
      if (mknodat (mnt, name, type | 0600, makedev (d.major, d.minor)) < 0
          || fchmodat (mnt, name, d.mode & 07777, 0) < 0
          || fchownat (mnt, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
        {
          capsa_make_error (err, errno, "device \"%s\": make the node on the host", d.path);
          goto out;
        }
      ctx->device_nodes[i] = open_tree (mnt, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (ctx->device_nodes[i] < 0)
        {
          capsa_make_error (err, errno, "device \"%s\": detach the node", d.path);
          goto out;
        }
    }
  ret = 0;
out:
  if (mnt >= 0)
    close (mnt);
  if (fs >= 0)
    close (fs);
  if (ret < 0)
    close_device_nodes (ctx);
  return ret;
}

/* The host's node at `path` has the type and numbers of `d`. */
static bool host_node_matches (const struct dev_spec *d, mode_t type)
{
  struct stat st;
  if (stat (d->path, &st) < 0 || (st.st_mode & S_IFMT) != type)
    return false;
  return type == S_IFIFO || st.st_rdev == makedev (d->major, d->minor);
}

/* `node`: a detached mount of the node made by capsa_devices_prepare_userns, or -1. */
static int create_device (struct capsa_ctx *ctx, int rootfd, const struct dev_spec *d, int node,
                          capsa_error_t *err)
{
  char *base = NULL;
  int parent, ret = -1;
  mode_t type;

  if (device_type (d, &type, err) < 0)
    return -1;

  parent = open_parent (rootfd, d->path, &base, err);
  if (parent < 0)
    return -1;

  if (ctx->userns)
    {
      /* mknod is not allowed in a user namespace: mount the node made on the host side, or
       * bind the host's own node, onto an empty file. */
      int fd, target, mnt;

      if (node < 0 && !host_node_matches (d, type))
        {
          capsa_make_error (err, 0,
                            "device \"%s\": cannot be made in a user namespace and the host has "
                            "no %c %u:%u node at that path",
                            d->path, d->type, d->major, d->minor);
          goto out;
        }

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
      if (node >= 0)
        {
          int r
            = move_mount (node, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
          int e = errno;
          close (target);
          if (r < 0)
            {
              capsa_make_error (err, e, "mount device \"%s\"", d->path);
              goto out;
            }
          ret = 0;
          goto out;
        }
      mnt = capsa_bind_mount_at (d->path, -1, rootfd, d->path, target, false, err);
      close (target);
      if (mnt < 0)
        goto out;
      if (mnt >= 0)
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
          if (!overridden && create_device (ctx, rootfd, &default_devices[i], -1, err) < 0)
            return -1;
        }
    }

  for (i = 0; lx && i < lx->devices_len; i++)
    {
      struct dev_spec d;
      int node = i < ctx->ndevice_nodes ? ctx->device_nodes[i] : -1;

      if (device_spec (lx, i, &d, err) < 0 || create_device (ctx, rootfd, &d, node, err) < 0)
        return -1;
    }
  close_device_nodes (ctx);

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
