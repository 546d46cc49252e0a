/* capsa: cgroup v2 (unified) resource files, freezer and emptiness wait. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/xattr.h>

#include "cgroup-private.h"

#define R ".linux.resources"

/* The quota ("max" or a number) and the period of cpu.max. */
static int read_cpu_max (struct cg_dir *d, char *quota, size_t len, uint64_t *period)
{
  char buf[64], q[32];
  uint64_t p;

  if (cg_read (d->dir, "cpu.max", buf, sizeof (buf)) < 0)
    return -1;
  if (sscanf (buf, "%31s %" SCNu64, q, &p) != 2 || p == 0)
    {
      errno = EINVAL;
      return -1;
    }
  snprintf (quota, len, "%s", q);
  *period = p;
  return 0;
}

int cg_v2_cpu (struct cg_dir *d, const struct oci_cpu *c, bool want_cpu, bool want_cpuset,
               capsa_error_t *err)
{
  char buf[64];

  if (want_cpu)
    {
      if (c->realtime_runtime_present && c->realtime_runtime)
        return capsa_make_error (err, 0, R ".cpu.realtimeRuntime: not supported on cgroup v2");
      if (c->realtime_period_present && c->realtime_period)
        return capsa_make_error (err, 0, R ".cpu.realtimePeriod: not supported on cgroup v2");
      if (c->shares_present && c->shares)
        {
          snprintf (buf, sizeof (buf), "%" PRIu64, cg_shares_to_weight (c->shares));
          if (cg_write_err (d->dir, "cpu.weight", buf, R ".cpu.shares", err) < 0)
            return -1;
        }
      /* cpu.max is "$QUOTA $PERIOD": the half not given keeps the cgroup's current value (a
       * quota alone keeps a non-default period, as v1's separate files do). */
      if ((c->quota_present && c->quota) || (c->period_present && c->period))
        {
          char q[32] = "max";
          uint64_t period = 0;
          if (read_cpu_max (d, q, sizeof (q), &period) < 0)
            period = 0; /* unreadable: the kernel keeps the period when none is written */
          if (c->quota_present && c->quota > 0)
            snprintf (q, sizeof (q), "%" PRId64, c->quota);
          else if (c->quota_present && c->quota < 0)
            snprintf (q, sizeof (q), "max");
          if (c->period_present && c->period)
            period = c->period;
          if (period)
            snprintf (buf, sizeof (buf), "%s %" PRIu64, q, period);
          else
            snprintf (buf, sizeof (buf), "%s", q);
          if (cg_write_err (d->dir, "cpu.max", buf, R ".cpu.quota", err) < 0)
            return -1;
        }
      if (c->burst_present)
        {
          snprintf (buf, sizeof (buf), "%" PRIu64, c->burst);
          if (cg_write_err (d->dir, "cpu.max.burst", buf, R ".cpu.burst", err) < 0)
            return -1;
        }
      if (c->idle_present)
        {
          snprintf (buf, sizeof (buf), "%" PRId64, c->idle);
          if (cg_write_err (d->dir, "cpu.idle", buf, R ".cpu.idle", err) < 0)
            return -1;
        }
    }
  if (want_cpuset)
    {
      if (c->cpus && *c->cpus
          && cg_write_err (d->dir, "cpuset.cpus", c->cpus, R ".cpu.cpus", err) < 0)
        return -1;
      if (c->mems && *c->mems
          && cg_write_err (d->dir, "cpuset.mems", c->mems, R ".cpu.mems", err) < 0)
        return -1;
    }
  return 0;
}

int cg_v2_memory (struct cg_dir *d, const struct oci_memory *m, bool update, capsa_error_t *err)
{
  char buf[64];

  if (update && m->limit_present && m->limit > 0 && m->check_before_update_present
      && m->check_before_update)
    {
      if (cg_read (d->dir, "memory.current", buf, sizeof (buf)) < 0)
        return capsa_make_error (err, errno,
                                 R ".memory.checkBeforeUpdate: read `%s/memory.current`", d->dir);
      if (strtoll (buf, NULL, 10) > m->limit)
        return capsa_make_error (
          err, 0, R ".memory.limit: %" PRId64 " is below the current usage %s (checkBeforeUpdate)",
          m->limit, buf);
    }
  if (m->limit_present && m->limit)
    {
      cg_limit_str (m->limit, true, buf, sizeof (buf));
      if (cg_write_err (d->dir, "memory.max", buf, R ".memory.limit", err) < 0)
        return -1;
    }
  if (m->swap_present && m->swap)
    {
      if (cg_swap_v2 (m, buf, sizeof (buf), err) < 0)
        return -1;
      if (cg_write_err (d->dir, "memory.swap.max", buf, R ".memory.swap", err) < 0)
        return -1;
    }
  if (m->reservation_present && m->reservation)
    {
      cg_limit_str (m->reservation, true, buf, sizeof (buf));
      if (cg_write_err (d->dir, "memory.low", buf, R ".memory.reservation", err) < 0)
        return -1;
    }
  if (m->kernel_present && m->kernel)
    capsa_warn (R ".memory.kernel: ignored, cgroup v2 has no kernel memory limit");
  if (m->kernel_tcp_present && m->kernel_tcp)
    capsa_warn (R ".memory.kernelTCP: ignored, cgroup v2 has no kernel TCP memory limit");
  if (m->swappiness_present)
    capsa_warn (R ".memory.swappiness: ignored, cgroup v2 has no per-cgroup swappiness");
  if (m->disable_oom_killer_present && m->disable_oom_killer)
    capsa_warn (R ".memory.disableOOMKiller: ignored, cgroup v2 cannot disable the OOM killer");
  return 0;
}

/* io.weight (iocost, converted) or, without it, io.bfq.weight (BFQ, the blkio value as is). */
static int io_weight (struct cg_dir *d, const char *dev, uint64_t blkio, const char *what,
                      capsa_error_t *err)
{
  char val[64];

  snprintf (val, sizeof (val), "%s %" PRIu64, dev, cg_blkio_to_io_weight (blkio));
  if (cg_write (d->dir, "io.weight", val) == 0)
    return 0;
  if (errno != ENOENT)
    return capsa_make_error (err, errno, "%s: write `%s` to `%s/io.weight`", what, val, d->dir);
  snprintf (val, sizeof (val), "%s %" PRIu64, dev, blkio);
  return cg_write_err (d->dir, "io.bfq.weight", val, what, err);
}

static int io_max (struct cg_dir *d, const char *key, const char *json,
                   const struct oci_block_io_device_throttle *t, size_t n, capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      char val[96], what[96];
      snprintf (what, sizeof (what), R ".blockIO.%s[%zu]", json, i);
      if (t[i].rate_present && t[i].rate)
        snprintf (val, sizeof (val), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t[i].major, t[i].minor,
                  key, t[i].rate);
      else
        snprintf (val, sizeof (val), "%" PRId64 ":%" PRId64 " %s=max", t[i].major, t[i].minor, key);
      if (cg_write_err (d->dir, "io.max", val, what, err) < 0)
        return -1;
    }
  return 0;
}

int cg_v2_io (struct cg_dir *d, const struct oci_block_io *b, capsa_error_t *err)
{
  size_t i;

  if (b->weight_present && b->weight
      && io_weight (d, "default", b->weight, R ".blockIO.weight", err) < 0)
    return -1;
  if (b->leaf_weight_present && b->leaf_weight)
    capsa_warn (R ".blockIO.leafWeight: ignored, cgroup v2 has no leaf weight");
  for (i = 0; i < b->weight_device_len; i++)
    {
      const struct oci_block_io_device_weight *w = &b->weight_device[i];
      char dev[48], what[96];
      snprintf (dev, sizeof (dev), "%" PRId64 ":%" PRId64, w->major, w->minor);
      snprintf (what, sizeof (what), R ".blockIO.weightDevice[%zu].weight", i);
      if (w->weight_present && w->weight && io_weight (d, dev, w->weight, what, err) < 0)
        return -1;
    }
  if (io_max (d, "rbps", "throttleReadBpsDevice", b->throttle_read_bps_device,
              b->throttle_read_bps_device_len, err)
        < 0
      || io_max (d, "wbps", "throttleWriteBpsDevice", b->throttle_write_bps_device,
                 b->throttle_write_bps_device_len, err)
           < 0
      || io_max (d, "riops", "throttleReadIOPSDevice", b->throttle_read_iops_device,
                 b->throttle_read_iops_device_len, err)
           < 0
      || io_max (d, "wiops", "throttleWriteIOPSDevice", b->throttle_write_iops_device,
                 b->throttle_write_iops_device_len, err)
           < 0)
    return -1;
  return 0;
}

int cg_v2_unified (struct cg_dir *d, const struct oci_kv *kv, size_t n, capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      const char *k = kv[i].key ? kv[i].key : "";
      const char *v = kv[i].value ? kv[i].value : "";
      if (*k == '\0' || *k == '.' || strchr (k, '/') || !strchr (k, '.'))
        return capsa_make_error (err, 0, R ".unified[\"%s\"]: not a cgroup v2 file name", k);
      if (strncmp (k, "cgroup.", 7) == 0 && strcmp (k, "cgroup.max.depth") != 0
          && strcmp (k, "cgroup.max.descendants") != 0)
        return capsa_make_error (err, 0, R ".unified[\"%s\"]: a cgroup core file is not a resource",
                                 k);
      if (cg_write (d->dir, k, v) < 0)
        {
          if (errno == ENOENT)
            return capsa_make_error (err, 0,
                                     R ".unified[\"%s\"]: no such file in `%s` (unknown key, or "
                                       "its controller is not enabled)",
                                     k, d->dir);
          return capsa_make_error (err, errno, R ".unified[\"%s\"]: write `%s` to `%s/%s`", k, v,
                                   d->dir, k);
        }
    }
  return 0;
}

static long now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until cgroup.events has "<key> <want>", woken by the kernel's notifications. */
static int events_wait (struct cg_dir *d, const char *key, char want, int timeout_ms)
{
  char path[PATH_MAX], buf[256];
  long deadline = now_ms () + timeout_ms;
  size_t kl = strlen (key);
  int fd, ret = -1;

  snprintf (path, sizeof (path), "%s/cgroup.events", d->dir);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  for (;;)
    {
      ssize_t r = pread (fd, buf, sizeof (buf) - 1, 0);
      char *p;
      struct pollfd pfd = { fd, POLLPRI, 0 };
      long left;

      if (r < 0)
        break;
      buf[r] = '\0';
      for (p = buf; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
        if (strncmp (p, key, kl) == 0 && p[kl] == ' ')
          {
            if (p[kl + 1] == want)
              ret = 0;
            break;
          }
      if (ret == 0)
        break;
      left = deadline - now_ms ();
      if (left <= 0)
        {
          errno = ETIMEDOUT;
          break;
        }
      if (poll (&pfd, 1, (int)left) < 0 && errno != EINTR)
        break;
    }
  close (fd);
  return ret;
}

int cg_v2_freeze (struct cg_dir *d, bool frozen, capsa_error_t *err)
{
  if (cg_write (d->dir, "cgroup.freeze", frozen ? "1" : "0") < 0)
    return capsa_make_error (err, errno, "cgroup: write `%s/cgroup.freeze`", d->dir);
  if (events_wait (d, "frozen", frozen ? '1' : '0', 5000) < 0)
    {
      int e = errno;
      if (frozen)
        cg_write (d->dir, "cgroup.freeze", "0");
      return capsa_make_error (err, e, "cgroup: `%s` did not become %s", d->dir,
                               frozen ? "frozen" : "thawed");
    }
  return 0;
}

int cg_v2_is_frozen (struct cg_dir *d, bool *frozen, capsa_error_t *err)
{
  char buf[16];
  if (cg_read (d->dir, "cgroup.freeze", buf, sizeof (buf)) < 0)
    return capsa_make_error (err, errno, "cgroup: read `%s/cgroup.freeze`", d->dir);
  *frozen = buf[0] == '1';
  return 0;
}

int cg_v2_wait_empty (struct cg_dir *d, int timeout_ms)
{
  return events_wait (d, "populated", '0', timeout_ms);
}

/* The rules the attached device program enforces, kept on the cgroup for `update` (v1 adds an
 * update's rules to the kernel's list; v2 rebuilds the program from the whole list). */
#define DEV_XATTR "trusted.capsa.devices"

/* Validated and normalized as v1.c writes it: "u" is a character device, "a" is every device
 * with every access (v1 ignores the rest of an "a" rule). */
static int dev_rule (const struct oci_device_cgroup *o, const char *what, struct cg_dev_rule *r,
                     capsa_error_t *err)
{
  const char *type = o->type && *o->type ? o->type : "a";
  const char *access = o->access && *o->access ? o->access : "rwm";

  if (strlen (type) != 1 || !strchr ("acbu", type[0]))
    return capsa_make_error (err, 0, "%s.type: `%s` is not one of a, c, b", what, type);
  if (strspn (access, "rwm") != strlen (access))
    return capsa_make_error (err, 0, "%s.access: `%s` is not a combination of r, w, m", what,
                             access);
  if (o->major_present && o->major > (int64_t)UINT32_MAX)
    return capsa_make_error (err, 0, "%s.major: %" PRId64 " is out of range", what, o->major);
  if (o->minor_present && o->minor > (int64_t)UINT32_MAX)
    return capsa_make_error (err, 0, "%s.minor: %" PRId64 " is out of range", what, o->minor);
  r->allow = o->allow;
  r->type = type[0] == 'u' ? 'c' : type[0];
  r->major = o->major_present && o->major >= 0 ? o->major : -1;
  r->minor = o->minor_present && o->minor >= 0 ? o->minor : -1;
  r->access = (strchr (access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0)
              | (strchr (access, 'r') ? BPF_DEVCG_ACC_READ : 0)
              | (strchr (access, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
  return 0;
}

static bool dev_push (struct cg_dev_rule **v, size_t *n, const struct cg_dev_rule *r)
{
  struct cg_dev_rule *nv = realloc (*v, (*n + 1) * sizeof (**v));
  if (nv == NULL)
    return false;
  *v = nv;
  nv[(*n)++] = *r;
  return true;
}

/* The saved list ("A|D type major minor access" per line); false when there is none. */
static bool dev_load (const char *dir, struct cg_dev_rule **v, size_t *n)
{
  char *buf = NULL, *line, *save = NULL;
  ssize_t len = getxattr (dir, DEV_XATTR, NULL, 0);
  bool ok = true;

  if (len <= 0 || (buf = malloc (len + 1)) == NULL)
    return false;
  if ((len = getxattr (dir, DEV_XATTR, buf, len)) < 0)
    {
      free (buf);
      return false;
    }
  buf[len] = '\0';
  for (line = strtok_r (buf, "\n", &save); ok && line; line = strtok_r (NULL, "\n", &save))
    {
      struct cg_dev_rule r;
      char a, t;
      long long maj, min;
      if (sscanf (line, "%c %c %lld %lld %u", &a, &t, &maj, &min, &r.access) != 5
          || !strchr ("AD", a) || !strchr ("acb", t))
        ok = false;
      else
        {
          r.allow = a == 'A';
          r.type = t;
          r.major = maj;
          r.minor = min;
          ok = dev_push (v, n, &r);
        }
    }
  free (buf);
  return ok;
}

static void dev_save (const char *dir, const struct cg_dev_rule *v, size_t n)
{
  size_t i, o = 0, len = n * 64 + 1;
  char *buf = malloc (len);

  if (buf == NULL)
    return;
  for (i = 0; i < n; i++)
    o += snprintf (buf + o, len - o, "%c %c %lld %lld %u\n", v[i].allow ? 'A' : 'D', v[i].type,
                   (long long)v[i].major, (long long)v[i].minor, v[i].access);
  if (setxattr (dir, DEV_XATTR, buf, o, 0) < 0)
    capsa_warn (R ".devices: cannot keep the rules on `%s` (%s): a later update starts from the "
                  "default devices",
                dir, strerror (errno));
  free (buf);
}

/* Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program (bpf-devices.c) compiled from
 * the same list v1 writes: deny all, the rules, the default devices on create; on update the
 * list so far plus the update's rules. */
int cg_v2_devices (struct cg_dir *d, const struct oci_device_cgroup *dev, size_t n, bool defaults,
                   capsa_error_t *err)
{
  static const struct cg_dev_rule deny_all = { false, 'a', -1, -1, 7 };
  struct cg_dev_rule *v = NULL, r;
  size_t nv = 0, i, first = 0;
  char what[64];
  int ret = -1;

  if (capsa_cgroup_mode () != CAPSA_CGROUP_V2)
    {
      /* A hybrid host without a v1 devices hierarchy: its unified one does not hold the
       * container's device policy. */
      static bool warned;
      if (!warned && n > 0)
        capsa_warn (R ".devices: not enforced (no v1 devices controller on this hybrid host)");
      warned = true;
      return 0;
    }
  for (i = 0; i < n; i++)
    {
      snprintf (what, sizeof (what), R ".devices[%zu]", i);
      if (dev_rule (&dev[i], what, &r, err) < 0)
        goto out;
    }
  if (defaults || !dev_load (d->dir, &v, &nv))
    {
      nv = 0;
      if (!dev_push (&v, &nv, &deny_all))
        goto oom;
      for (i = 0; !defaults && i < cg_default_devices_len; i++)
        if (dev_rule (&cg_default_devices[i], "default device rule", &r, err) < 0
            || !dev_push (&v, &nv, &r))
          goto oom;
    }
  for (i = 0; i < n; i++)
    if (dev_rule (&dev[i], R ".devices", &r, err) < 0 || !dev_push (&v, &nv, &r))
      goto oom;
  for (i = 0; defaults && i < cg_default_devices_len; i++)
    if (dev_rule (&cg_default_devices[i], "default device rule", &r, err) < 0
        || !dev_push (&v, &nv, &r))
      goto oom;
  /* An "a" rule resets v1's list: what came before it never decides. */
  for (i = 0; i < nv; i++)
    if (v[i].type == 'a')
      first = i;
  if (cg_bpf_devices_apply (d->dir, v + first, nv - first, err) < 0)
    goto out;
  dev_save (d->dir, v + first, nv - first);
  ret = 0;
  goto out;
oom:
  capsa_make_error (err, ENOMEM, R ".devices");
out:
  free (v);
  return ret;
}

int cg_v2_devices_release (struct cg_dir *d, capsa_error_t *err)
{
  if (d == NULL || d->levels > 0 || capsa_cgroup_mode () != CAPSA_CGROUP_V2)
    return 0;
  if (removexattr (d->dir, DEV_XATTR) < 0 && errno != ENODATA && errno != ENOENT
      && errno != ENOTSUP)
    return capsa_make_error (err, errno, R ".devices: remove the saved rules from `%s`", d->dir);
  return cg_bpf_devices_remove (d->dir, err);
}
