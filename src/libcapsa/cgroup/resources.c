/* capsa: linux.resources validation, v1 -> v2 conversions, and routing to the v1/v2 writers. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-private.h"

#define R ".linux.resources"

/* The devices every container may use whatever its rules say (runtime-spec default devices:
 * null, zero, full, random, urandom, tty, console, ptmx, pts), and mknod of any device; as with
 * runc, /dev/net/tun too (making a tap still needs CAP_NET_ADMIN): a VM-mode container's init
 * opens it for the VM's NICs (sandbox/net.c). */
const struct oci_device_cgroup cg_default_devices[] = {
  { true, (char *)"c", 0, false, 0, false, (char *)"m" },
  { true, (char *)"b", 0, false, 0, false, (char *)"m" },
  { true, (char *)"c", 1, true, 3, true, (char *)"rwm" },
  { true, (char *)"c", 1, true, 5, true, (char *)"rwm" },
  { true, (char *)"c", 1, true, 7, true, (char *)"rwm" },
  { true, (char *)"c", 1, true, 8, true, (char *)"rwm" },
  { true, (char *)"c", 1, true, 9, true, (char *)"rwm" },
  { true, (char *)"c", 5, true, 0, true, (char *)"rwm" },
  { true, (char *)"c", 5, true, 1, true, (char *)"rwm" },
  { true, (char *)"c", 5, true, 2, true, (char *)"rwm" },
  { true, (char *)"c", 136, true, 0, false, (char *)"rwm" },
  { true, (char *)"c", 10, true, 200, true, (char *)"rwm" },
};
const size_t cg_default_devices_len = sizeof (cg_default_devices) / sizeof (cg_default_devices[0]);

/* cpu.shares [2, 262144] -> cpu.weight [1, 10000], the linear mapping runc uses
 * (crun >= 1.x uses a quadratic fit through the default 1024 -> 100; capsa keeps runc's so that
 * both runtimes give a container the same weight: 1024 -> 39). */
uint64_t cg_shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

/* blkio.weight [10, 1000] -> io.weight [1, 10000]. */
uint64_t cg_blkio_to_io_weight (uint64_t weight)
{
  if (weight == 0)
    return 0;
  return 1 + ((weight - 10) * 9999) / 990;
}

void cg_limit_str (int64_t v, bool v2, char *buf, size_t len)
{
  if (v < 0)
    snprintf (buf, len, "%s", v2 ? "max" : "-1");
  else
    snprintf (buf, len, "%" PRId64, v);
}

/* OCI memory.swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone. */
int cg_swap_v2 (const struct oci_memory *m, char *buf, size_t len, capsa_error_t *err)
{
  int64_t limit = m->limit_present ? m->limit : 0;

  if (m->swap == -1)
    {
      snprintf (buf, len, "max");
      return 0;
    }
  if (limit == 0)
    return capsa_make_error (
      err, 0, R ".memory.swap: cgroup v2 needs " R ".memory.limit to derive the swap limit");
  if (limit == -1)
    return capsa_make_error (err, 0,
                             R ".memory.swap: %" PRId64 " is not possible with an unlimited " R
                               ".memory.limit (use -1)",
                             m->swap);
  if (m->swap < limit)
    return capsa_make_error (
      err, 0, R ".memory.swap: %" PRId64 " must be at least " R ".memory.limit (%" PRId64 ")",
      m->swap, limit);
  snprintf (buf, len, "%" PRId64, m->swap - limit);
  return 0;
}

static int validate_cpu (const struct oci_cpu *c, capsa_error_t *err)
{
  if (c->shares_present && c->shares != 0 && (c->shares < 2 || c->shares > 262144))
    return capsa_make_error (err, 0, R ".cpu.shares: %" PRIu64 " is out of range [2, 262144]",
                             c->shares);
  if (c->period_present && c->period != 0 && (c->period < 1000 || c->period > 1000000))
    return capsa_make_error (err, 0, R ".cpu.period: %" PRIu64 " is out of range [1000, 1000000]",
                             c->period);
  if (c->quota_present && c->quota != 0 && c->quota != -1 && c->quota < 1000)
    return capsa_make_error (
      err, 0, R ".cpu.quota: %" PRId64 " is out of range (-1, or at least 1000)", c->quota);
  if (c->idle_present && c->idle != 0 && c->idle != 1)
    return capsa_make_error (err, 0, R ".cpu.idle: %" PRId64 " is out of range [0, 1]", c->idle);
  return 0;
}

static int validate_memory (const struct oci_memory *m, capsa_error_t *err)
{
  static const struct
  {
    const char *name;
    size_t off, present;
  } f[] = {
    { "limit", offsetof (struct oci_memory, limit), offsetof (struct oci_memory, limit_present) },
    { "reservation", offsetof (struct oci_memory, reservation),
      offsetof (struct oci_memory, reservation_present) },
    { "swap", offsetof (struct oci_memory, swap), offsetof (struct oci_memory, swap_present) },
    { "kernel", offsetof (struct oci_memory, kernel),
      offsetof (struct oci_memory, kernel_present) },
    { "kernelTCP", offsetof (struct oci_memory, kernel_tcp),
      offsetof (struct oci_memory, kernel_tcp_present) },
  };
  size_t i;

  for (i = 0; i < sizeof (f) / sizeof (f[0]); i++)
    {
      int64_t v = *(const int64_t *)((const char *)m + f[i].off);
      bool present = *(const bool *)((const char *)m + f[i].present);
      if (present && v < -1)
        return capsa_make_error (
          err, 0, R ".memory.%s: %" PRId64 " is out of range (-1 or a byte count)", f[i].name, v);
    }
  if (m->swappiness_present && m->swappiness > 100)
    return capsa_make_error (err, 0, R ".memory.swappiness: %" PRIu64 " is out of range [0, 100]",
                             m->swappiness);
  if (m->limit_present && m->swap_present && m->limit > 0 && m->swap > 0 && m->swap < m->limit)
    return capsa_make_error (
      err, 0, R ".memory.swap: %" PRId64 " must be at least " R ".memory.limit (%" PRId64 ")",
      m->swap, m->limit);
  return 0;
}

static int validate_blkio (const struct oci_block_io *b, capsa_error_t *err)
{
  size_t i;
  if (b->weight_present && b->weight != 0 && (b->weight < 10 || b->weight > 1000))
    return capsa_make_error (err, 0, R ".blockIO.weight: %u is out of range [10, 1000]", b->weight);
  if (b->leaf_weight_present && b->leaf_weight != 0
      && (b->leaf_weight < 10 || b->leaf_weight > 1000))
    return capsa_make_error (err, 0, R ".blockIO.leafWeight: %u is out of range [10, 1000]",
                             b->leaf_weight);
  for (i = 0; i < b->weight_device_len; i++)
    {
      const struct oci_block_io_device_weight *w = &b->weight_device[i];
      if (w->weight_present && w->weight != 0 && (w->weight < 10 || w->weight > 1000))
        return capsa_make_error (
          err, 0, R ".blockIO.weightDevice[%zu].weight: %u is out of range [10, 1000]", i,
          w->weight);
      if (w->leaf_weight_present && w->leaf_weight != 0
          && (w->leaf_weight < 10 || w->leaf_weight > 1000))
        return capsa_make_error (
          err, 0, R ".blockIO.weightDevice[%zu].leafWeight: %u is out of range [10, 1000]", i,
          w->leaf_weight);
    }
  return 0;
}

/* ^[1-9][0-9]*[KMG]B$ */
static bool page_size_ok (const char *s)
{
  size_t l = s ? strlen (s) : 0, i;
  if (l < 3 || s[0] < '1' || s[0] > '9' || s[l - 1] != 'B' || !strchr ("KMG", s[l - 2]))
    return false;
  for (i = 1; i < l - 2; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static int no_controller (const char *what, const char *ctrl, capsa_error_t *err)
{
  return capsa_make_error (err, 0, "%s: the %s cgroup controller is not available on this host",
                           what, ctrl);
}

static int apply_cpu (struct cg_set *s, struct cg_dir *v2, const struct oci_cpu *c,
                      capsa_error_t *err)
{
  bool want_cpu = (c->shares_present && c->shares) || (c->quota_present && c->quota)
                  || (c->period_present && c->period) || c->burst_present
                  || c->realtime_runtime_present || c->realtime_period_present || c->idle_present;
  bool want_cpuset = (c->cpus && *c->cpus) || (c->mems && *c->mems);
  struct cg_dir *cpu = cg_set_v1 (s, "cpu"), *cpuset = cg_set_v1 (s, "cpuset");

  if (validate_cpu (c, err) < 0)
    return -1;
  if ((want_cpu && !cpu && !v2) || (want_cpuset && !cpuset && !v2))
    return no_controller (R ".cpu", want_cpu && !cpu ? "cpu" : "cpuset", err);
  if ((want_cpu && cpu) || (want_cpuset && cpuset))
    {
      if (cg_v1_cpu (want_cpu ? cpu : NULL, want_cpuset ? cpuset : NULL, c, err) < 0)
        return -1;
    }
  if ((want_cpu && !cpu) || (want_cpuset && !cpuset))
    return cg_v2_cpu (v2, c, want_cpu && !cpu, want_cpuset && !cpuset, err);
  return 0;
}

static int apply_pids (struct cg_set *s, struct cg_dir *v2, const struct oci_pids *p,
                       capsa_error_t *err)
{
  struct cg_dir *d = cg_set_v1 (s, "pids");
  char buf[32];

  if (p->limit == 0) /* unset, as runc treats it */
    return 0;
  if (!d)
    d = v2;
  if (!d)
    return no_controller (R ".pids.limit", "pids", err);
  cg_limit_str (p->limit, true, buf, sizeof (buf));
  return cg_write_err (d->dir, "pids.max", buf, R ".pids.limit", err);
}

static int apply_hugetlb (struct cg_set *s, struct cg_dir *v2, const struct oci_resources *r,
                          capsa_error_t *err)
{
  struct cg_dir *d = cg_set_v1 (s, "hugetlb");
  size_t i;

  for (i = 0; i < r->hugepage_limits_len; i++)
    {
      const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
      char what[64], file[64], val[32];

      snprintf (what, sizeof (what), R ".hugepageLimits[%zu]", i);
      if (!page_size_ok (h->page_size))
        return capsa_make_error (err, 0, "%s.pageSize: `%s` is not a page size like 2MB", what,
                                 h->page_size ? h->page_size : "");
      if (!d && !v2)
        return no_controller (what, "hugetlb", err);
      snprintf (file, sizeof (file), "hugetlb.%s.%s", h->page_size, d ? "limit_in_bytes" : "max");
      snprintf (val, sizeof (val), "%" PRIu64, h->limit);
      if (cg_write (d ? d->dir : v2->dir, file, val) < 0)
        {
          if (errno == ENOENT)
            return capsa_make_error (err, 0,
                                     "%s: no `%s` in `%s` (hugetlb controller not enabled there, "
                                     "or no %s pages on this host)",
                                     what, file, d ? d->dir : v2->dir, h->page_size);
          return capsa_make_error (err, errno, "%s: write `%s` to `%s/%s`", what, val,
                                   d ? d->dir : v2->dir, file);
        }
    }
  return 0;
}

static int apply_network (struct cg_set *s, const struct oci_network *n, capsa_error_t *err)
{
  size_t i;
  if (n->class_id_present)
    {
      struct cg_dir *d = cg_set_v1 (s, "net_cls");
      char val[16];
      if (!d)
        return no_controller (R ".network.classID", "net_cls", err);
      snprintf (val, sizeof (val), "%u", n->class_id);
      if (cg_write_err (d->dir, "net_cls.classid", val, R ".network.classID", err) < 0)
        return -1;
    }
  for (i = 0; i < n->priorities_len; i++)
    {
      struct cg_dir *d = cg_set_v1 (s, "net_prio");
      char val[128], what[64];
      snprintf (what, sizeof (what), R ".network.priorities[%zu]", i);
      if (!d)
        return no_controller (what, "net_prio", err);
      snprintf (val, sizeof (val), "%s %u", n->priorities[i].name ? n->priorities[i].name : "",
                n->priorities[i].priority);
      if (cg_write_err (d->dir, "net_prio.ifpriomap", val, what, err) < 0)
        return -1;
    }
  return 0;
}

static int apply_rdma (struct cg_set *s, struct cg_dir *v2, const struct oci_resources *r,
                       capsa_error_t *err)
{
  struct cg_dir *d = cg_set_v1 (s, "rdma");
  size_t i;

  if (!d)
    d = v2;
  for (i = 0; i < r->rdma_len; i++)
    {
      const struct oci_rdma_entry *e = &r->rdma[i];
      char val[256], h[16] = "max", o[16] = "max", what[300];

      snprintf (what, sizeof (what), R ".rdma[\"%s\"]", e->name ? e->name : "");
      if (!d)
        return no_controller (what, "rdma", err);
      if (e->hca_handles_present)
        snprintf (h, sizeof (h), "%u", e->hca_handles);
      if (e->hca_objects_present)
        snprintf (o, sizeof (o), "%u", e->hca_objects);
      snprintf (val, sizeof (val), "%s hca_handle=%s hca_object=%s", e->name ? e->name : "", h, o);
      if (cg_write_err (d->dir, "rdma.max", val, what, err) < 0)
        return -1;
    }
  return 0;
}

int cg_apply_resources (struct cg_set *s, const struct oci_resources *r, bool update,
                        bool no_devices, capsa_error_t *err)
{
  struct cg_dir *v2 = cg_set_v2 (s), *d;

  if (r && r->cpu && apply_cpu (s, v2, r->cpu, err) < 0)
    return -1;
  if (r && r->memory)
    {
      if (validate_memory (r->memory, err) < 0)
        return -1;
      if ((d = cg_set_v1 (s, "memory")))
        {
          if (cg_v1_memory (d, r->memory, update, err) < 0)
            return -1;
        }
      else if (v2)
        {
          if (cg_v2_memory (v2, r->memory, update, err) < 0)
            return -1;
        }
      else
        return no_controller (R ".memory", "memory", err);
    }
  if (r && r->pids && apply_pids (s, v2, r->pids, err) < 0)
    return -1;
  if (r && r->block_io)
    {
      if (validate_blkio (r->block_io, err) < 0)
        return -1;
      if ((d = cg_set_v1 (s, "blkio")))
        {
          if (cg_v1_blkio (d, r->block_io, err) < 0)
            return -1;
        }
      else if (v2)
        {
          if (cg_v2_io (v2, r->block_io, err) < 0)
            return -1;
        }
      else
        return no_controller (R ".blockIO", "blkio", err);
    }
  if (r && r->hugepage_limits_len && apply_hugetlb (s, v2, r, err) < 0)
    return -1;
  if (r && r->network && apply_network (s, r->network, err) < 0)
    return -1;
  if (r && r->rdma_len && apply_rdma (s, v2, r, err) < 0)
    return -1;
  if (!no_devices && (!update || (r && r->devices_len)))
    {
      const struct oci_device_cgroup *dev = r ? r->devices : NULL;
      size_t n = r ? r->devices_len : 0;
      if ((d = cg_set_v1 (s, "devices")))
        {
          if (cg_v1_devices (d, dev, n, !update, err) < 0)
            return -1;
        }
      else if (v2)
        {
          if (cg_v2_devices (v2, dev, n, !update, err) < 0)
            return -1;
        }
      else if (n)
        return no_controller (R ".devices", "devices", err);
    }
  if (r && r->unified_len)
    {
      if (!v2)
        return capsa_make_error (err, 0, R ".unified[\"%s\"]: this host has no cgroup v2 hierarchy",
                                 r->unified[0].key);
      if (cg_v2_unified (v2, r->unified, r->unified_len, err) < 0)
        return -1;
    }
  return 0;
}
