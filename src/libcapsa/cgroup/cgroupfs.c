/* capsa: the cgroupfs manager: writes the cgroup filesystems directly (v1, hybrid and v2 hosts). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-private.h"

#define DESTROY_TIMEOUT_MS 5000

static struct cg_set *set_of (struct capsa_cgroup *cg)
{
  return cg->priv;
}

/* Remove what create made: the leaf (with children) and the parents it had to create. */
/* Remove the directories we created.  Processes that cannot die (frozen by a v1 freezer the
 * container does not own) keep every hierarchy busy alike: after one hierarchy has waited
 * `timeout_ms` in vain the others get one try each, so that the wait is bounded once, not once
 * per hierarchy (a dozen on hybrid hosts: it was a minute). */
static int remove_created (struct cg_set *s, int timeout_ms, capsa_error_t *err)
{
  int ret = 0;
  size_t i;

  for (i = 0; i < s->n; i++)
    {
      char cur[PATH_MAX];
      int l;
      if (s->d[i].levels == 0)
        continue;
      if (cg_rmdir_tree (s->d[i].dir, timeout_ms, ret < 0 ? NULL : err) < 0)
        {
          ret = -1;
          timeout_ms = 0;
          continue;
        }
      /* Parents we created may be shared with other containers by now: only if empty. */
      snprintf (cur, sizeof (cur), "%s", s->d[i].dir);
      for (l = 1; l < s->d[i].levels; l++)
        {
          char *slash = strrchr (cur, '/');
          if (slash == NULL)
            break;
          *slash = '\0';
          if (rmdir (cur) < 0)
            break;
        }
    }
  return ret;
}

static int fs_plan (struct capsa_cgroup *cg, const char *id, const char *cgroups_path,
                    bool rootless, capsa_error_t *err)
{
  struct cg_set *s = calloc (1, sizeof (*s));
  size_t i;

  if (s == NULL)
    return capsa_make_error (err, ENOMEM, "cgroup");
  if (cg_set_plan (s, id, cgroups_path, rootless, &cg->path, err) < 0)
    {
      free (s);
      return -1;
    }
  cg->created = false;
  for (i = 0; i < s->n; i++)
    if (s->d[i].levels > 0)
      cg->created = true;
  cg->priv = s;
  return 0;
}

static int fs_create (struct capsa_cgroup *cg, const struct oci_resources *res, bool rootless,
                      capsa_error_t *err)
{
  struct cg_set *s = set_of (cg);
  size_t i;

  if (s == NULL)
    return capsa_make_error (err, EINVAL, "cgroup: create without a plan");
  if (cg_set_make (s, rootless, err) < 0)
    {
      free (s);
      cg->priv = NULL;
      free (cg->path);
      cg->path = NULL;
      return -1;
    }
  cg->created = false;
  for (i = 0; i < s->n; i++)
    if (s->d[i].levels > 0)
      cg->created = true;
  if (cg_apply_resources (s, res, false, rootless, err) < 0)
    {
      cg_v2_devices_release (cg_set_v2 (s), NULL); /* a joined cgroup keeps no device program */
      remove_created (s, DESTROY_TIMEOUT_MS, NULL);
      cg_set_free (s);
      free (s);
      cg->priv = NULL;
      free (cg->path);
      cg->path = NULL;
      return -1;
    }
  return 0;
}

int cg_fs_enter (struct capsa_cgroup *cg, pid_t pid, capsa_error_t *err)
{
  struct cg_set *s = set_of (cg);
  char buf[24];
  size_t i;

  snprintf (buf, sizeof (buf), "%d", (int)pid);
  for (i = 0; i < s->n; i++)
    if (cg_write (s->d[i].dir, "cgroup.procs", buf) < 0)
      return capsa_make_error (err, errno, "cgroup: move process %d into `%s`", (int)pid,
                               s->d[i].dir);
  return 0;
}

int cg_fs_v2_fd (struct capsa_cgroup *cg)
{
  struct cg_set *s = set_of (cg);
  struct cg_dir *d;

  /* CLONE_INTO_CGROUP only places the child in the unified hierarchy: on v1 and hybrid hosts
   * the v1 hierarchies still need `enter`. */
  if (s == NULL || capsa_cgroup_mode () != CAPSA_CGROUP_V2 || (d = cg_set_v2 (s)) == NULL)
    return -1;
  return open (d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int cg_fs_update (struct capsa_cgroup *cg, const struct oci_resources *res, capsa_error_t *err)
{
  return cg_apply_resources (set_of (cg), res, true, false, err);
}

/* The v1 freezer when mounted, else the unified hierarchy's cgroup.freeze. */
int cg_fs_freeze (struct capsa_cgroup *cg, bool frozen, capsa_error_t *err)
{
  struct cg_set *s = set_of (cg);
  struct cg_dir *d = cg_set_v1 (s, "freezer");

  if (d)
    return cg_v1_freeze (d, frozen, err);
  if ((d = cg_set_v2 (s)))
    return cg_v2_freeze (d, frozen, err);
  return capsa_make_error (err, ENOTSUP, "cgroup: no freezer (neither a v1 freezer nor cgroup v2)");
}

int cg_fs_is_frozen (struct capsa_cgroup *cg, bool *frozen, capsa_error_t *err)
{
  struct cg_set *s = set_of (cg);
  struct cg_dir *d = cg_set_v1 (s, "freezer");

  *frozen = false;
  if (d)
    return cg_v1_is_frozen (d, frozen, err);
  if ((d = cg_set_v2 (s)))
    return cg_v2_is_frozen (d, frozen, err);
  return 0;
}

int cg_fs_pids (struct capsa_cgroup *cg, pid_t **pids, size_t *n, capsa_error_t *err)
{
  struct cg_dir *d = cg_set_primary (set_of (cg));
  *pids = NULL;
  *n = 0;
  if (d == NULL)
    return 0;
  return cg_read_pids (d->dir, pids, n, err);
}

int cg_fs_kill (struct capsa_cgroup *cg, int sig, capsa_error_t *err)
{
  struct cg_set *s = set_of (cg);
  struct cg_dir *v2 = cg_set_v2 (s);
  bool was_frozen = false, froze = false;
  pid_t *pids = NULL;
  size_t n = 0, i;
  int ret = 0;

  /* cgroup.kill (Linux 5.14) kills the whole subtree atomically, frozen or not. */
  if (sig == SIGKILL && v2 && cg_write (v2->dir, "cgroup.kill", "1") == 0)
    {
      /* A v1 freezer (hybrid hosts) keeps killed tasks in the refrigerator: thaw them. */
      struct cg_dir *fz = cg_set_v1 (s, "freezer");
      if (fz && cg_v1_is_frozen (fz, &was_frozen, NULL) == 0 && was_frozen)
        return cg_v1_freeze (fz, false, err);
      return 0;
    }
  /* Otherwise freeze so that no process forks behind our back while we signal the list; a
   * signal sent to frozen tasks is delivered when they are thawed. */
  if (cg_fs_is_frozen (cg, &was_frozen, NULL) < 0)
    was_frozen = false;
  if (!was_frozen)
    {
      capsa_error_t ferr = NULL;
      froze = cg_fs_freeze (cg, true, &ferr) == 0;
      capsa_error_release (&ferr);
    }
  if (cg_fs_pids (cg, &pids, &n, err) < 0)
    ret = -1;
  for (i = 0; ret == 0 && i < n; i++)
    if (kill (pids[i], sig) < 0 && errno != ESRCH)
      ret = capsa_make_error (err, errno, "cgroup: kill process %d with signal %d", (int)pids[i],
                              sig);
  free (pids);
  /* Thaw what we froze, and a paused container being killed so that its tasks can die. */
  if (froze || (was_frozen && sig == SIGKILL))
    {
      capsa_error_t terr = NULL;
      if (cg_fs_freeze (cg, false, &terr) < 0 && ret == 0)
        {
          *err = terr;
          return -1;
        }
      capsa_error_release (&terr);
    }
  return ret;
}

int cg_fs_destroy (struct capsa_cgroup *cg, capsa_error_t *err)
{
  struct cg_set *s = set_of (cg);
  struct cg_dir *v2, *prim;
  pid_t *pids = NULL;
  size_t n = 0, i;
  bool any = false;
  int timeout_ms = DESTROY_TIMEOUT_MS;

  if (s == NULL)
    return 0;
  for (i = 0; i < s->n; i++)
    if (s->d[i].levels > 0)
      any = true;
  if (!any) /* joined an existing cgroup: not ours to empty or remove, only our device program */
    return cg_v2_devices_release (cg_set_v2 (s), err);
  prim = cg_set_primary (s);
  if (prim && cg_read_pids (prim->dir, &pids, &n, NULL) == 0 && n > 0)
    {
      if (cg_fs_kill (cg, SIGKILL, err) < 0)
        {
          free (pids);
          return -1;
        }
      if ((v2 = cg_set_v2 (s)) && v2->levels > 0 && cg_v2_wait_empty (v2, timeout_ms) < 0)
        timeout_ms = 0; /* still populated: the removal below gets one try */
    }
  free (pids);
  return remove_created (s, timeout_ms, err);
}

/* "<created>;<path>;<kind>|<ctrls>|<levels>|<dir>;..." with kind 1 (v1) or 2 (unified); none
 * of the fields can hold ';' or '|' (cgroupsPath refuses them). */
char *cg_fs_serialize_set (struct cg_set *s, const char *path, bool created)
{
  size_t len = strlen (path ? path : "") + 8, i, o;
  char *out;

  for (i = 0; i < s->n; i++)
    len += strlen (s->d[i].ctrls) + strlen (s->d[i].dir) + 32;
  out = malloc (len);
  if (out == NULL)
    return NULL;
  o = snprintf (out, len, "%d;%s", created ? 1 : 0, path ? path : "");
  for (i = 0; i < s->n; i++)
    o += snprintf (out + o, len - o, ";%d|%s|%d|%s", s->d[i].v2 ? 2 : 1, s->d[i].ctrls,
                   s->d[i].levels, s->d[i].dir);
  return out;
}

int cg_fs_load_set (struct cg_set *s, char **path, bool *created, const char *data,
                    capsa_error_t *err)
{
  char *copy = strdup (data ? data : ""), *p, *save = NULL;
  int field = 0;

  s->d = NULL;
  s->n = 0;
  if (copy == NULL)
    return capsa_make_error (err, ENOMEM, "cgroup");
  for (p = strtok_r (copy, ";", &save); p; p = strtok_r (NULL, ";", &save), field++)
    {
      if (field == 0)
        *created = p[0] == '1';
      else if (field == 1)
        {
          free (*path);
          *path = strdup (p);
        }
      else
        {
          char *f[4], *s2 = NULL, *q;
          int k = 0;
          struct cg_dir *nd;
          /* strtok_r would merge the empty ctrls of the unified entry: split by hand. */
          for (q = p; k < 4; k++)
            {
              f[k] = q;
              if (k < 3)
                {
                  q = strchr (q, '|');
                  if (q == NULL)
                    break;
                  *q++ = '\0';
                }
            }
          (void)s2;
          if (k < 4 || f[3][0] != '/')
            {
              free (copy);
              cg_set_free (s);
              return capsa_make_error (err, EINVAL, "cgroup: invalid saved state `%s`", data);
            }
          nd = realloc (s->d, (s->n + 1) * sizeof (*nd));
          if (nd == NULL)
            {
              free (copy);
              cg_set_free (s);
              return capsa_make_error (err, ENOMEM, "cgroup");
            }
          s->d = nd;
          nd[s->n].v2 = f[0][0] == '2';
          nd[s->n].ctrls = strdup (f[1]);
          nd[s->n].levels = atoi (f[2]);
          nd[s->n].dir = strdup (f[3]);
          s->n++;
        }
    }
  free (copy);
  if (field < 2)
    return capsa_make_error (err, EINVAL, "cgroup: invalid saved state `%s`", data ? data : "");
  return 0;
}

static char *fs_serialize (struct capsa_cgroup *cg)
{
  if (cg->priv == NULL)
    return strdup ("");
  return cg_fs_serialize_set (set_of (cg), cg->path, cg->created);
}

static int fs_load (struct capsa_cgroup *cg, const char *data, capsa_error_t *err)
{
  struct cg_set *s = calloc (1, sizeof (*s));
  if (s == NULL)
    return capsa_make_error (err, ENOMEM, "cgroup");
  cg->mgr = &capsa_cgroup_manager_cgroupfs;
  if (cg_fs_load_set (s, &cg->path, &cg->created, data, err) < 0)
    {
      free (s);
      return -1;
    }
  cg->priv = s;
  return 0;
}

static void fs_release (struct capsa_cgroup *cg)
{
  if (cg->priv)
    {
      cg_set_free (cg->priv);
      free (cg->priv);
      cg->priv = NULL;
    }
  free (cg->path);
  cg->path = NULL;
  free (cg->scope);
  cg->scope = NULL;
}

const struct capsa_cgroup_manager capsa_cgroup_manager_cgroupfs = {
  .name = "cgroupfs",
  .plan = fs_plan,
  .create = fs_create,
  .enter = cg_fs_enter,
  .v2_fd = cg_fs_v2_fd,
  .update = cg_fs_update,
  .freeze = cg_fs_freeze,
  .is_frozen = cg_fs_is_frozen,
  .pids = cg_fs_pids,
  .kill = cg_fs_kill,
  .destroy = cg_fs_destroy,
  .serialize = fs_serialize,
  .load = fs_load,
  .release = fs_release,
};

/* See cgroup.h.  Only the cgroupfs manager: systemd moves the process into its scope itself. */
int capsa_cgroup_self_join_open (struct capsa_cgroup *cg, struct capsa_cgroup_self_join *sj)
{
  struct cg_set *s;
  size_t i;

  memset (sj, 0, sizeof (*sj));
  sj->v2_fd = -1;
  if (cg->mgr != &capsa_cgroup_manager_cgroupfs || (s = set_of (cg)) == NULL
      || s->n > CAPSA_CGROUP_SELF_JOIN_MAX)
    return 0;
  for (i = 0; i < s->n; i++)
    {
      char p[PATH_MAX];
      int fd;
      if (s->d[i].v2)
        {
          fd = open (s->d[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (fd < 0)
            break;
          sj->v2_fd = fd;
          continue;
        }
      snprintf (p, sizeof (p), "%s/tasks", s->d[i].dir);
      fd = open (p, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        break;
      sj->tasks_fd[sj->n] = fd;
      sj->tasks_dir[sj->n++] = s->d[i].dir;
    }
  if (i < s->n)
    {
      capsa_cgroup_self_join_close (sj);
      return 0;
    }
  return 1;
}

int capsa_cgroup_self_join (struct capsa_cgroup_self_join *sj, capsa_error_t *err)
{
  for (size_t i = 0; i < sj->n; i++)
    if (write (sj->tasks_fd[i], "0", 1) != 1)
      return capsa_make_error (err, errno, "cgroup: join `%s`", sj->tasks_dir[i]);
  capsa_cgroup_self_join_close (sj);
  return 0;
}

void capsa_cgroup_self_join_close (struct capsa_cgroup_self_join *sj)
{
  for (size_t i = 0; i < sj->n; i++)
    close (sj->tasks_fd[i]);
  sj->n = 0;
  if (sj->v2_fd >= 0)
    close (sj->v2_fd);
  sj->v2_fd = -1;
}
