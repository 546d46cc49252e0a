/* capsa: the "disabled" cgroup manager: no cgroup is created, joined or limited. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-private.h"

static int dis_plan (struct capsa_cgroup *cg, const char *id, const char *cgroups_path,
                     bool rootless, capsa_error_t *err)
{
  cg->created = false;
  return 0;
}

static int dis_create (struct capsa_cgroup *cg, const struct oci_resources *res, bool rootless,
                       capsa_error_t *err)
{
  if (res)
    capsa_warn (".linux.resources: ignored, the cgroup manager is disabled");
  return 0;
}

static int dis_enter (struct capsa_cgroup *cg, pid_t pid, capsa_error_t *err)
{
  return 0;
}

static int dis_v2_fd (struct capsa_cgroup *cg)
{
  return -1;
}

static int dis_update (struct capsa_cgroup *cg, const struct oci_resources *res, capsa_error_t *err)
{
  return capsa_make_error (err, ENOTSUP,
                           "cgroup: cannot update resources: the cgroup manager is disabled");
}

static int dis_freeze (struct capsa_cgroup *cg, bool frozen, capsa_error_t *err)
{
  return capsa_make_error (err, ENOTSUP, "cgroup: cannot %s: the cgroup manager is disabled",
                           frozen ? "freeze" : "thaw");
}

static int dis_is_frozen (struct capsa_cgroup *cg, bool *frozen, capsa_error_t *err)
{
  *frozen = false;
  return 0;
}

static int dis_pids (struct capsa_cgroup *cg, pid_t **pids, size_t *n, capsa_error_t *err)
{
  *pids = NULL;
  *n = 0;
  return 0;
}

static int dis_kill (struct capsa_cgroup *cg, int sig, capsa_error_t *err)
{
  return 0;
}

static int dis_destroy (struct capsa_cgroup *cg, capsa_error_t *err)
{
  return 0;
}

static char *dis_serialize (struct capsa_cgroup *cg)
{
  return strdup ("");
}

static int dis_load (struct capsa_cgroup *cg, const char *data, capsa_error_t *err)
{
  cg->mgr = &capsa_cgroup_manager_disabled;
  cg->created = false;
  return 0;
}

static void dis_release (struct capsa_cgroup *cg)
{
  free (cg->path);
  cg->path = NULL;
  free (cg->scope);
  cg->scope = NULL;
}

const struct capsa_cgroup_manager capsa_cgroup_manager_disabled = {
  .name = "disabled",
  .plan = dis_plan,
  .create = dis_create,
  .enter = dis_enter,
  .v2_fd = dis_v2_fd,
  .update = dis_update,
  .freeze = dis_freeze,
  .is_frozen = dis_is_frozen,
  .pids = dis_pids,
  .kill = dis_kill,
  .destroy = dis_destroy,
  .serialize = dis_serialize,
  .load = dis_load,
  .release = dis_release,
};
