/* capsa: cgroup v1 resource files and the v1 freezer. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-private.h"

#define R ".linux.resources"

int cg_v1_cpu (struct cg_dir *cpu, struct cg_dir *cpuset, const struct oci_cpu *c,
               capsa_error_t *err)
{
  char buf[64];

  if (cpu)
    {
      if (c->shares_present && c->shares)
        {
          snprintf (buf, sizeof (buf), "%" PRIu64, c->shares);
          if (cg_write_err (cpu->dir, "cpu.shares", buf, R ".cpu.shares", err) < 0)
            return -1;
        }
      if (c->period_present && c->period)
        {
          snprintf (buf, sizeof (buf), "%" PRIu64, c->period);
          if (cg_write_err (cpu->dir, "cpu.cfs_period_us", buf, R ".cpu.period", err) < 0)
            return -1;
        }
      if (c->quota_present && c->quota)
        {
          snprintf (buf, sizeof (buf), "%" PRId64, c->quota);
          if (cg_write_err (cpu->dir, "cpu.cfs_quota_us", buf, R ".cpu.quota", err) < 0)
            return -1;
        }
      if (c->burst_present)
        {
          snprintf (buf, sizeof (buf), "%" PRIu64, c->burst);
          if (cg_write_err (cpu->dir, "cpu.cfs_burst_us", buf, R ".cpu.burst", err) < 0)
            return -1;
        }
      /* The period first: the runtime is checked against it. */
      if (c->realtime_period_present && c->realtime_period)
        {
          snprintf (buf, sizeof (buf), "%" PRIu64, c->realtime_period);
          if (cg_write_err (cpu->dir, "cpu.rt_period_us", buf, R ".cpu.realtimePeriod", err) < 0)
            return -1;
        }
      if (c->realtime_runtime_present)
        {
          snprintf (buf, sizeof (buf), "%" PRId64, c->realtime_runtime);
          if (cg_write_err (cpu->dir, "cpu.rt_runtime_us", buf, R ".cpu.realtimeRuntime", err) < 0)
            return -1;
        }
      if (c->idle_present)
        {
          snprintf (buf, sizeof (buf), "%" PRId64, c->idle);
          if (cg_write_err (cpu->dir, "cpu.idle", buf, R ".cpu.idle", err) < 0)
            return -1;
        }
    }
  if (cpuset)
    {
      if (c->cpus && *c->cpus
          && cg_write_err (cpuset->dir, "cpuset.cpus", c->cpus, R ".cpu.cpus", err) < 0)
        return -1;
      if (c->mems && *c->mems
          && cg_write_err (cpuset->dir, "cpuset.mems", c->mems, R ".cpu.mems", err) < 0)
        return -1;
    }
  return 0;
}

/* Write a memory file the kernel may have dropped (kmem): warn instead of failing. */
static int write_optional (struct cg_dir *d, const char *file, const char *val, const char *what,
                           capsa_error_t *err)
{
  if (cg_write (d->dir, file, val) == 0)
    return 0;
  if (errno == ENOENT || errno == EOPNOTSUPP || errno == ENOTSUP)
    {
      capsa_warn ("%s: ignored, `%s` is not supported by this kernel", what, file);
      return 0;
    }
  return capsa_make_error (err, errno, "%s: write `%s` to `%s/%s`", what, val, d->dir, file);
}

int cg_v1_memory (struct cg_dir *d, const struct oci_memory *m, bool update, capsa_error_t *err)
{
  bool limit = m->limit_present && m->limit != 0, swap = m->swap_present && m->swap != 0;
  char lim[32], sw[32], buf[64];

  cg_limit_str (m->limit, false, lim, sizeof (lim));
  cg_limit_str (m->swap, false, sw, sizeof (sw));
  if (update && limit && m->limit > 0 && m->check_before_update_present && m->check_before_update)
    {
      if (cg_read (d->dir, "memory.usage_in_bytes", buf, sizeof (buf)) < 0)
        return capsa_make_error (
          err, errno, R ".memory.checkBeforeUpdate: read `%s/memory.usage_in_bytes`", d->dir);
      if (strtoll (buf, NULL, 10) > m->limit)
        return capsa_make_error (
          err, 0, R ".memory.limit: %" PRId64 " is below the current usage %s (checkBeforeUpdate)",
          m->limit, buf);
    }
  if (limit)
    {
      /* memsw must stay >= limit: raising both needs memsw first, lowering needs limit first. */
      if (cg_write (d->dir, "memory.limit_in_bytes", lim) < 0)
        {
          if (!(errno == EINVAL && swap))
            return capsa_make_error (
              err, errno, R ".memory.limit: write `%s` to `%s/memory.limit_in_bytes`", lim, d->dir);
          if (cg_write_err (d->dir, "memory.memsw.limit_in_bytes", sw, R ".memory.swap", err) < 0)
            return -1;
          if (cg_write_err (d->dir, "memory.limit_in_bytes", lim, R ".memory.limit", err) < 0)
            return -1;
          swap = false;
        }
    }
  if (swap && cg_write (d->dir, "memory.memsw.limit_in_bytes", sw) < 0)
    {
      if (errno == ENOENT)
        capsa_warn (R ".memory.swap: ignored, swap accounting is off on this host (no "
                      "memory.memsw.limit_in_bytes)");
      else
        return capsa_make_error (
          err, errno, R ".memory.swap: write `%s` to `%s/memory.memsw.limit_in_bytes`", sw, d->dir);
    }
  if (m->reservation_present && m->reservation)
    {
      cg_limit_str (m->reservation, false, buf, sizeof (buf));
      if (cg_write_err (d->dir, "memory.soft_limit_in_bytes", buf, R ".memory.reservation", err)
          < 0)
        return -1;
    }
  if (m->kernel_present && m->kernel)
    {
      cg_limit_str (m->kernel, false, buf, sizeof (buf));
      if (write_optional (d, "memory.kmem.limit_in_bytes", buf, R ".memory.kernel", err) < 0)
        return -1;
    }
  if (m->kernel_tcp_present && m->kernel_tcp)
    {
      cg_limit_str (m->kernel_tcp, false, buf, sizeof (buf));
      if (write_optional (d, "memory.kmem.tcp.limit_in_bytes", buf, R ".memory.kernelTCP", err) < 0)
        return -1;
    }
  if (m->swappiness_present)
    {
      snprintf (buf, sizeof (buf), "%" PRIu64, m->swappiness);
      if (cg_write_err (d->dir, "memory.swappiness", buf, R ".memory.swappiness", err) < 0)
        return -1;
    }
  if (m->disable_oom_killer_present
      && cg_write_err (d->dir, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
                       R ".memory.disableOOMKiller", err)
           < 0)
    return -1;
  if (m->use_hierarchy_present
      && cg_write (d->dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0") < 0)
    capsa_warn (R ".memory.useHierarchy: ignored: %s", strerror (errno));
  return 0;
}

static int write_devs (struct cg_dir *d, const char *file,
                       const struct oci_block_io_device_weight *w, size_t n, bool leaf,
                       const char *alt, capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      char val[64], what[96];
      unsigned v = leaf ? w[i].leaf_weight : w[i].weight;
      if (leaf ? !w[i].leaf_weight_present : !w[i].weight_present)
        continue;
      snprintf (what, sizeof (what), R ".blockIO.weightDevice[%zu].%s", i,
                leaf ? "leafWeight" : "weight");
      snprintf (val, sizeof (val), "%" PRId64 ":%" PRId64 " %u", w[i].major, w[i].minor, v);
      if (cg_write (d->dir, file, val) == 0)
        continue;
      if (errno == ENOENT && alt && cg_write (d->dir, alt, val) == 0)
        continue;
      if (errno == ENOENT && leaf)
        {
          capsa_warn ("%s: ignored, `%s` is not supported by this kernel", what, file);
          continue;
        }
      return cg_write_err (d->dir, file, val, what, err);
    }
  return 0;
}

static int write_throttle (struct cg_dir *d, const char *file, const char *what,
                           const struct oci_block_io_device_throttle *t, size_t n,
                           capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      char val[96], w[96];
      snprintf (w, sizeof (w), R ".blockIO.%s[%zu]", what, i);
      snprintf (val, sizeof (val), "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major, t[i].minor,
                t[i].rate_present ? t[i].rate : 0);
      if (cg_write_err (d->dir, file, val, w, err) < 0)
        return -1;
    }
  return 0;
}

int cg_v1_blkio (struct cg_dir *d, const struct oci_block_io *b, capsa_error_t *err)
{
  char buf[32];

  if (b->weight_present && b->weight)
    {
      snprintf (buf, sizeof (buf), "%u", b->weight);
      /* Kernels without CFQ only have BFQ's file. */
      if (cg_write (d->dir, "blkio.weight", buf) < 0
          && (errno != ENOENT || cg_write (d->dir, "blkio.bfq.weight", buf) < 0))
        return cg_write_err (d->dir, "blkio.weight", buf, R ".blockIO.weight", err);
    }
  if (b->leaf_weight_present && b->leaf_weight)
    {
      snprintf (buf, sizeof (buf), "%u", b->leaf_weight);
      if (cg_write (d->dir, "blkio.leaf_weight", buf) < 0)
        {
          if (errno != ENOENT)
            return cg_write_err (d->dir, "blkio.leaf_weight", buf, R ".blockIO.leafWeight", err);
          capsa_warn (R ".blockIO.leafWeight: ignored, not supported by this kernel");
        }
    }
  if (write_devs (d, "blkio.weight_device", b->weight_device, b->weight_device_len, false,
                  "blkio.bfq.weight_device", err)
        < 0
      || write_devs (d, "blkio.leaf_weight_device", b->weight_device, b->weight_device_len, true,
                     NULL, err)
           < 0)
    return -1;
  if (write_throttle (d, "blkio.throttle.read_bps_device", "throttleReadBpsDevice",
                      b->throttle_read_bps_device, b->throttle_read_bps_device_len, err)
        < 0
      || write_throttle (d, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice",
                         b->throttle_write_bps_device, b->throttle_write_bps_device_len, err)
           < 0
      || write_throttle (d, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice",
                         b->throttle_read_iops_device, b->throttle_read_iops_device_len, err)
           < 0
      || write_throttle (d, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice",
                         b->throttle_write_iops_device, b->throttle_write_iops_device_len, err)
           < 0)
    return -1;
  return 0;
}

/* devices.allow and devices.deny, each opened once for all the rules of one call (a default
 * config writes eleven rules: opening the file for each was two thirds of their cost). */
struct dev_files
{
  const char *dir;
  int allow, deny;
};

static int dev_write (struct dev_files *f, bool allow, const char *val, const char *what,
                      capsa_error_t *err)
{
  const char *file = allow ? "devices.allow" : "devices.deny";
  int *fd = allow ? &f->allow : &f->deny;
  size_t len = strlen (val);
  char path[PATH_MAX];
  ssize_t w;

  if (*fd < 0)
    {
      snprintf (path, sizeof (path), "%s/%s", f->dir, file);
      *fd = open (path, O_WRONLY | O_CLOEXEC);
      if (*fd < 0) /* (the message says why, a missing controller included) */
        return cg_write_err (f->dir, file, val, what, err);
    }
  w = write (*fd, val, len);
  if (w == (ssize_t)len)
    return 0;
  if (w >= 0)
    errno = EIO;
  return capsa_make_error (err, errno, "%s: write `%s` to `%s/%s`", what, val, f->dir, file);
}

static int device_rule (struct dev_files *f, const struct oci_device_cgroup *r, const char *what,
                        capsa_error_t *err)
{
  char val[96], maj[24] = "*", min[24] = "*";
  const char *type = r->type && *r->type ? r->type : "a";
  const char *access = r->access && *r->access ? r->access : "rwm";

  if (strlen (type) != 1 || !strchr ("acbu", type[0]))
    return capsa_make_error (err, 0, "%s.type: `%s` is not one of a, c, b", what, type);
  if (strspn (access, "rwm") != strlen (access))
    return capsa_make_error (err, 0, "%s.access: `%s` is not a combination of r, w, m", what,
                             access);
  if (r->major_present && r->major >= 0)
    snprintf (maj, sizeof (maj), "%" PRId64, r->major);
  if (r->minor_present && r->minor >= 0)
    snprintf (min, sizeof (min), "%" PRId64, r->minor);
  /* v1 has no "u": it is a character device there too. */
  snprintf (val, sizeof (val), "%c %s:%s %s", type[0] == 'u' ? 'c' : type[0], maj, min, access);
  return dev_write (f, r->allow, val, what, err);
}

int cg_v1_devices (struct cg_dir *d, const struct oci_device_cgroup *dev, size_t n, bool defaults,
                   capsa_error_t *err)
{
  struct dev_files f = { d->dir, -1, -1 };
  size_t i;
  char what[64];
  int ret = -1;

  if (defaults && dev_write (&f, false, "a", R ".devices", err) < 0)
    goto out;
  for (i = 0; i < n; i++)
    {
      snprintf (what, sizeof (what), R ".devices[%zu]", i);
      /* The deny-all every engine puts first was just written. */
      if (defaults && i == 0 && !dev[i].allow && (!dev[i].type || strcmp (dev[i].type, "a") == 0)
          && (!dev[i].access || strcmp (dev[i].access, "rwm") == 0))
        continue;
      if (device_rule (&f, &dev[i], what, err) < 0)
        goto out;
    }
  if (defaults)
    for (i = 0; i < cg_default_devices_len; i++)
      if (device_rule (&f, &cg_default_devices[i], "default device rule", err) < 0)
        goto out;
  ret = 0;
out:
  if (f.allow >= 0)
    close (f.allow);
  if (f.deny >= 0)
    close (f.deny);
  return ret;
}

static void sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

int cg_v1_freeze (struct cg_dir *d, bool frozen, capsa_error_t *err)
{
  const char *want = frozen ? "FROZEN" : "THAWED";
  char buf[32];
  long waited = 0, step = 1;

  /* FREEZING can last while tasks are in uninterruptible sleep: re-request and wait, bounded
   * (about 5 s, in steps growing from 1 to 50 ms). */
  for (;;)
    {
      if (cg_write (d->dir, "freezer.state", want) < 0)
        return capsa_make_error (err, errno, "cgroup: write `%s` to `%s/freezer.state`", want,
                                 d->dir);
      if (cg_read (d->dir, "freezer.state", buf, sizeof (buf)) < 0)
        return capsa_make_error (err, errno, "cgroup: read `%s/freezer.state`", d->dir);
      if (strcmp (buf, want) == 0)
        return 0;
      if (waited >= 5000)
        break;
      sleep_ms (step);
      waited += step;
      if (step < 50)
        step *= 2;
    }
  if (frozen)
    cg_write (d->dir, "freezer.state", "THAWED");
  return capsa_make_error (err, EBUSY, "cgroup: `%s` did not become %s (state %s)", d->dir, want,
                           buf);
}

int cg_v1_is_frozen (struct cg_dir *d, bool *frozen, capsa_error_t *err)
{
  char buf[32];
  if (cg_read (d->dir, "freezer.state", buf, sizeof (buf)) < 0)
    return capsa_make_error (err, errno, "cgroup: read `%s/freezer.state`", d->dir);
  *frozen = strcmp (buf, "FROZEN") == 0;
  return 0;
}
