/* capsa: namespaces: config to clone flags, joining by path, id mappings, time offsets. */
#include <config.h>
#include "internal.h"
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct
{
  const char *name;
  int flag;
  const char *proc; /* name under /proc/self/ns */
} ns_types[] = {
  { "user", CLONE_NEWUSER, "user" },       { "pid", CLONE_NEWPID, "pid" },
  { "network", CLONE_NEWNET, "net" },      { "mount", CLONE_NEWNS, "mnt" },
  { "ipc", CLONE_NEWIPC, "ipc" },          { "uts", CLONE_NEWUTS, "uts" },
  { "cgroup", CLONE_NEWCGROUP, "cgroup" }, { "time", CLONE_NEWTIME, "time" },
};

int capsa_ns_flag (const char *type)
{
  size_t i;
  for (i = 0; i < sizeof (ns_types) / sizeof (ns_types[0]); i++)
    if (strcmp (type, ns_types[i].name) == 0)
      return ns_types[i].flag;
  return -1;
}

/* Without a mount namespace of its own (the runtime's is inherited, or one is joined by path)
 * the container is a chroot into root.path: nothing is mounted, since every mount would
 * change a namespace shared with others (the host's, or the joined one).  What needs mounts
 * is refused by name rather than silently skipped. */
static int check_without_mountns (const struct oci_config *c, capsa_error_t *err)
{
  const struct oci_linux *l = c->linux_;
  const char *field = NULL;

  if (c->mounts_len)
    field = ".mounts";
  else if (c->root && c->root->readonly)
    field = ".root.readonly";
  else if (l && l->masked_paths_len)
    field = ".linux.maskedPaths";
  else if (l && l->readonly_paths_len)
    field = ".linux.readonlyPaths";
  else if (l && l->rootfs_propagation && l->rootfs_propagation[0])
    field = ".linux.rootfsPropagation";
  else if (l && l->devices_len)
    field = ".linux.devices";
  if (field == NULL)
    return 0;
  return capsa_make_error (err, 0,
                           "config.json: %s: needs a new mount namespace (.linux.namespaces has "
                           "none without a path: the container would change a shared one)",
                           field);
}

int capsa_ns_plan (struct capsa_ctx *ctx, struct capsa_ns_plan *plan, capsa_error_t *err)
{
  const struct oci_linux *l = ctx->config->linux_;
  size_t i;
  int seen = 0;

  memset (plan, 0, sizeof (*plan));
  for (i = 0; l && i < l->namespaces_len; i++)
    {
      const struct oci_namespace *ns = &l->namespaces[i];
      int flag = capsa_ns_flag (ns->type);
      if (flag < 0)
        return capsa_make_error (
          err, 0, "config.json: .linux.namespaces[%zu].type: unknown namespace \"%s\"", i,
          ns->type);
      if (seen & flag)
        return capsa_make_error (
          err, 0, "config.json: .linux.namespaces[%zu].type: duplicate namespace \"%s\"", i,
          ns->type);
      seen |= flag;
      if (ns->path && ns->path[0])
        {
          int fd = open (ns->path, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            return capsa_make_error (
              err, errno, "config.json: .linux.namespaces[%zu].path: open `%s`", i, ns->path);
          plan->join[plan->njoin].fd = fd;
          plan->join[plan->njoin].flag = flag;
          plan->join[plan->njoin].index = i;
          plan->njoin++;
          plan->joined |= flag;
        }
      else
        plan->new_flags |= flag;
    }
  ctx->new_userns = plan->new_flags & CLONE_NEWUSER;
  ctx->new_pidns = plan->new_flags & CLONE_NEWPID;
  ctx->new_netns = plan->new_flags & CLONE_NEWNET;
  ctx->new_mountns = plan->new_flags & CLONE_NEWNS;
  ctx->new_ipcns = plan->new_flags & CLONE_NEWIPC;
  ctx->new_utsns = plan->new_flags & CLONE_NEWUTS;
  ctx->new_cgroupns = plan->new_flags & CLONE_NEWCGROUP;
  ctx->new_timens = plan->new_flags & CLONE_NEWTIME;
  /* Also when the runtime itself is root only in a user namespace (rootless podman): the
   * container is in it, with the same limits (no mknod, locked mount flags). */
  ctx->userns = (seen & CLONE_NEWUSER) != 0 || capsa_unprivileged ();

  ctx->joined_ns = plan->joined;
  if (!ctx->new_mountns && check_without_mountns (ctx->config, err) < 0)
    return -1;
  if (ctx->new_userns && (l->uid_mappings_len == 0 || l->gid_mappings_len == 0))
    return capsa_make_error (
      err, 0,
      "config.json: .linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  if (!(seen & CLONE_NEWUSER) && (l && (l->uid_mappings_len || l->gid_mappings_len)))
    return capsa_make_error (
      err, 0, "config.json: .linux.uidMappings: mappings given without a user namespace");
  /* In a uts namespace joined by path, they set that namespace's names. */
  if (ctx->config->hostname && ctx->config->hostname[0] && !(seen & CLONE_NEWUTS))
    return capsa_make_error (err, 0,
                             "config.json: .hostname: setting the hostname needs a uts namespace");
  if (ctx->config->domainname && ctx->config->domainname[0] && !(seen & CLONE_NEWUTS))
    return capsa_make_error (
      err, 0, "config.json: .domainname: setting the domainname needs a uts namespace");
  if (l && l->time_offsets_len && !ctx->new_timens)
    return capsa_make_error (
      err, 0, "config.json: .linux.timeOffsets: time offsets need a new time namespace");
  return 0;
}

void capsa_ns_plan_release (struct capsa_ns_plan *plan)
{
  size_t i;
  for (i = 0; i < plan->njoin; i++)
    if (plan->join[i].fd >= 0)
      close (plan->join[i].fd);
  plan->njoin = 0;
}

int capsa_ns_join (struct capsa_ns_plan *plan, bool user, capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < plan->njoin; i++)
    {
      if ((plan->join[i].flag == CLONE_NEWUSER) != user)
        continue;
      if (setns (plan->join[i].fd, plan->join[i].flag) < 0)
        return capsa_make_error (err, errno, "config.json: .linux.namespaces[%zu]: join namespace",
                                 plan->join[i].index);
    }
  return 0;
}

int capsa_write_id_map (pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                        capsa_error_t *err)
{
  char path[64], buf[4096];
  size_t i, len = 0;
  int fd;

  for (i = 0; i < n && len < sizeof (buf) - 64; i++)
    len += (size_t)snprintf (buf + len, sizeof (buf) - len, "%u %u %u\n", m[i].container_id,
                             m[i].host_id, m[i].size);
  snprintf (path, sizeof (path), "/proc/%d/%s", pid, file);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return capsa_make_error (err, errno, "open `%s`", path);
  if (write (fd, buf, len) != (ssize_t)len)
    {
      int e = errno;
      close (fd);
      return capsa_make_error (err, e, "write %s", file);
    }
  close (fd);
  return 0;
}

int capsa_ns_write_id_maps (struct capsa_ctx *ctx, pid_t pid, capsa_error_t *err)
{
  const struct oci_linux *l = ctx->config->linux_;

  if (geteuid () != 0)
    {
      /* Unprivileged callers may only map their own gid after denying setgroups. */
      char path[64];
      int fd;
      snprintf (path, sizeof (path), "/proc/%d/setgroups", pid);
      fd = open (path, O_WRONLY | O_CLOEXEC);
      if (fd >= 0)
        {
          if (write (fd, "deny", 4) < 0)
            {
              close (fd);
              return capsa_make_error (err, errno, "write setgroups");
            }
          close (fd);
        }
    }
  if (capsa_write_id_map (pid, "uid_map", l->uid_mappings, l->uid_mappings_len, err) < 0)
    return capsa_error_prefix (err, "config.json: .linux.uidMappings");
  if (capsa_write_id_map (pid, "gid_map", l->gid_mappings, l->gid_mappings_len, err) < 0)
    return capsa_error_prefix (err, "config.json: .linux.gidMappings");
  return 0;
}

/* In the init, right after unshare(CLONE_NEWTIME): set the offsets, then enter the namespace
 * (a process's own time namespace only changes by setns to its time_for_children). */
int capsa_ns_enter_time (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_linux *l = ctx->config->linux_;
  char buf[256];
  size_t i, len = 0;
  int fd;

  if (unshare (CLONE_NEWTIME) < 0)
    return capsa_make_error (err, errno, "unshare time namespace");
  for (i = 0; l && i < l->time_offsets_len; i++)
    {
      const struct oci_time_offset *o = &l->time_offsets[i];
      const char *clock = o->clock;
      if (strcmp (clock, "monotonic") != 0 && strcmp (clock, "boottime") != 0)
        return capsa_make_error (err, 0, "config.json: .linux.timeOffsets: unknown clock \"%s\"",
                                 clock);
      len += (size_t)snprintf (buf + len, sizeof (buf) - len, "%s %lld %u\n", clock,
                               (long long)o->secs, o->nanosecs);
    }
  if (len)
    {
      fd = open ("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        return capsa_make_error (err, errno, "open /proc/self/timens_offsets");
      if (write (fd, buf, len) != (ssize_t)len)
        {
          int e = errno;
          close (fd);
          return capsa_make_error (err, e, "config.json: .linux.timeOffsets: write timens_offsets");
        }
      close (fd);
    }
  fd = open ("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return capsa_make_error (err, errno, "open /proc/self/ns/time_for_children");
  if (setns (fd, CLONE_NEWTIME) < 0)
    {
      int e = errno;
      close (fd);
      return capsa_make_error (err, e, "enter time namespace");
    }
  close (fd);
  return 0;
}
