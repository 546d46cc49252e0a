/* idmap.c: idmapped bind mounts (mounts[].uidMappings/gidMappings, options "idmap"/"ridmap").
 *
 * A mount is idmapped with mount_setattr(MOUNT_ATTR_IDMAP) on a detached tree, which needs
 * CAP_SYS_ADMIN in the user namespace the filesystem belongs to (the host's): the container
 * init may already sit in the container's user namespace when it mounts.  So the runtime makes
 * the trees before it clones the init (capsa_idmap_prepare), the init inherits their
 * descriptors and attaches each one in place of its bind mount (capsa_idmap_take), and the
 * runtime closes its copies after the clone.
 *
 * The mapping of a mount is that of a user namespace made for it (a child cloned into a new user
 * namespace holds it while its maps are written and its descriptor opened): the mount's own
 * uidMappings/gidMappings, else the container's user namespace mappings (the spec allows
 * either; with neither it is an error).  As in a user namespace, a file owned by `containerID`
 * on the filesystem shows as `hostID` through the mount. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "namespaces.h"

/* Which option asks for an idmapped mount: 0 none, 1 "idmap", 2 "ridmap" (recursive). */
static int idmap_kind (const struct oci_mount *m)
{
  int kind = 0;
  size_t i;

  for (i = 0; i < m->options_len; i++)
    if (strcmp (m->options[i], "ridmap") == 0)
      kind = 2;
    else if (strcmp (m->options[i], "idmap") == 0 && kind == 0)
      kind = 1;
  /* Mappings without the option: applied all the same (never silently ignored). */
  if (kind == 0 && (m->uid_mappings_len || m->gid_mappings_len))
    kind = 1;
  return kind;
}

bool capsa_mount_is_idmapped (const struct oci_mount *m)
{
  return idmap_kind (m) != 0;
}

/* A user namespace with these maps, as a descriptor. */
static int mapped_userns (const struct oci_id_mapping *u, size_t nu, const struct oci_id_mapping *g,
                          size_t ng, capsa_error_t *err)
{
  int p[2], fd = -1;
  pid_t pid;
  char path[64];
  char c;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return capsa_make_error (err, errno, "pipe");
  pid = (pid_t)syscall (SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    {
      capsa_make_error (err, errno, "clone a user namespace for the mapping");
      close (p[0]);
      close (p[1]);
      return -1;
    }
  if (pid == 0)
    {
      /* Hold the namespace until the runtime has opened it (EOF on the pipe). */
      close (p[1]);
      while (read (p[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  close (p[0]);
  if (capsa_write_id_map (pid, "uid_map", u, nu, err) == 0
      && capsa_write_id_map (pid, "gid_map", g, ng, err) == 0)
    {
      snprintf (path, sizeof (path), "/proc/%d/ns/user", pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        capsa_make_error (err, errno, "open %s", path);
    }
  close (p[1]);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return fd;
}

/* The detached, idmapped tree for mount `i`. `ns_fd` caches the user namespace of the
 * container's mappings across mounts (-1 until made). */
static int idmapped_tree (struct capsa_ctx *ctx, size_t i, int kind, int *ns_fd, capsa_error_t *err)
{
  const struct oci_mount *m = &ctx->config->mounts[i];
  const struct oci_linux *l = ctx->config->linux_;
  struct mount_attr attr = { 0 };
  char *src = NULL;
  bool rbind = false, own_maps = m->uid_mappings_len || m->gid_mappings_len;
  int tree, userns;
  size_t j;

  if (own_maps && (m->uid_mappings_len == 0 || m->gid_mappings_len == 0))
    return capsa_make_error (err, 0,
                             "config.json: .mounts[%zu]: uidMappings and gidMappings "
                             "go together (mount \"%s\")",
                             i, m->destination);
  if (!own_maps && !ctx->new_userns)
    return capsa_make_error (err, 0,
                             "config.json: .mounts[%zu]: an idmapped mount needs "
                             "uidMappings and gidMappings, or a new user namespace whose "
                             "mappings it takes (mount \"%s\")",
                             i, m->destination);
  for (j = 0; j < m->options_len; j++)
    if (strcmp (m->options[j], "rbind") == 0)
      rbind = true;
  if (!(m->type && (strcmp (m->type, "bind") == 0 || strcmp (m->type, "rbind") == 0)))
    {
      bool bind = rbind;
      for (j = 0; j < m->options_len; j++)
        if (strcmp (m->options[j], "bind") == 0)
          bind = true;
      if (!bind)
        return capsa_make_error (err, 0,
                                 "config.json: .mounts[%zu]: only bind mounts can be "
                                 "idmapped (mount \"%s\", type \"%s\")",
                                 i, m->destination, m->type ? m->type : "");
    }
  rbind = rbind || (m->type && strcmp (m->type, "rbind") == 0);
  if (m->source == NULL)
    return capsa_make_error (err, 0, "config.json: .mounts[%zu]: bind mount without a source", i);
  if (m->source[0] != '/' && ctx->bundle)
    {
      if (asprintf (&src, "%s/%s", ctx->bundle, m->source) < 0)
        src = NULL;
    }
  else
    src = strdup (m->source);
  if (src == NULL)
    return capsa_make_error (err, ENOMEM, "config.json: .mounts[%zu]", i);

  if (own_maps)
    userns = mapped_userns (m->uid_mappings, m->uid_mappings_len, m->gid_mappings,
                            m->gid_mappings_len, err);
  else
    {
      if (*ns_fd < 0)
        *ns_fd = mapped_userns (l->uid_mappings, l->uid_mappings_len, l->gid_mappings,
                                l->gid_mappings_len, err);
      userns = *ns_fd;
    }
  if (userns < 0)
    {
      free (src);
      return capsa_error_prefix (err, "config.json: .mounts[%zu].uidMappings", i);
    }
  tree
    = open_tree (AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rbind ? AT_RECURSIVE : 0));
  if (tree < 0)
    capsa_make_error (err, errno, "config.json: .mounts[%zu]: open \"%s\"", i, src);
  else
    {
      attr.attr_set = MOUNT_ATTR_IDMAP;
      attr.userns_fd = (uint64_t)userns;
      if (mount_setattr (tree, "", AT_EMPTY_PATH | (kind == 2 ? AT_RECURSIVE : 0), &attr,
                         sizeof (attr))
          < 0)
        {
          int e = errno;
          close (tree);
          tree = -1;
          capsa_make_error (err, e, "config.json: .mounts[%zu]: idmap \"%s\"%s", i, src,
                            e == EINVAL ? " (its filesystem cannot be idmapped, or a mount "
                                          "below it cannot)"
                                        : "");
        }
    }
  if (own_maps)
    close (userns);
  free (src);
  return tree;
}

int capsa_idmap_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_config *c = ctx->config;
  int ns_fd = -1, kind;
  size_t i;

  for (i = 0; i < c->mounts_len; i++)
    {
      if ((kind = idmap_kind (&c->mounts[i])) == 0)
        continue;
      if (ctx->vm)
        return capsa_make_error (err, 0,
                                 "config.json: .mounts[%zu]: idmapped mounts are not "
                                 "supported in VM mode (mount \"%s\")",
                                 i, c->mounts[i].destination);
      if (ctx->idmap_fds == NULL)
        {
          ctx->idmap_fds = malloc (c->mounts_len * sizeof (int));
          if (ctx->idmap_fds == NULL)
            return capsa_make_error (err, ENOMEM, "idmapped mounts");
          ctx->idmap_n = c->mounts_len;
          memset (ctx->idmap_fds, 0xff, c->mounts_len * sizeof (int));
        }
      ctx->idmap_fds[i] = idmapped_tree (ctx, i, kind, &ns_fd, err);
      if (ctx->idmap_fds[i] < 0)
        {
          if (ns_fd >= 0)
            close (ns_fd);
          capsa_idmap_release (ctx);
          return -1;
        }
    }
  if (ns_fd >= 0)
    close (ns_fd);
  return 0;
}

int capsa_idmap_take (struct capsa_ctx *ctx, const struct oci_mount *m)
{
  size_t i;
  int fd;

  if (ctx->idmap_fds == NULL || m < ctx->config->mounts || m >= ctx->config->mounts + ctx->idmap_n)
    return -1;
  i = (size_t)(m - ctx->config->mounts);
  fd = ctx->idmap_fds[i];
  ctx->idmap_fds[i] = -1;
  return fd;
}

void capsa_idmap_release (struct capsa_ctx *ctx)
{
  size_t i;

  for (i = 0; ctx->idmap_fds && i < ctx->idmap_n; i++)
    if (ctx->idmap_fds[i] >= 0)
      close (ctx->idmap_fds[i]);
  free (ctx->idmap_fds);
  ctx->idmap_fds = NULL;
  ctx->idmap_n = 0;
}
