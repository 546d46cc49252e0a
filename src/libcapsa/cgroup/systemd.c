/* capsa: the systemd cgroup manager: a transient scope unit per container, over sd-bus. */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "cgroup-private.h"
#include "fault.h"

#define JOB_TIMEOUT_USEC (10 * 1000000ULL)

/* The scope is started by the first `enter` (systemd wants the scope's pid at creation), so the
 * resources given to `create` must stay valid until then: they are the container's config. */
struct sd_priv
{
  struct cg_set set;
  char *slice;
  const struct oci_resources *res;
  bool rootless;
  bool started;
};

static int bus_error (capsa_error_t *err, int r, sd_bus_error *e, const char *what,
                      const char *unit)
{
  int ret = capsa_make_error (err, -r, "systemd: %s `%s`%s%s", what, unit,
                              e && e->message ? ": " : "", e && e->message ? e->message : "");
  sd_bus_error_free (e);
  return ret;
}

static int open_bus (sd_bus **bus, bool rootless, capsa_error_t *err)
{
  int r;
  if (access ("/run/systemd/system", F_OK) < 0)
    return capsa_make_error (err, 0, "systemd is not running (no /run/systemd/system)");
  r = rootless ? sd_bus_open_user (bus) : sd_bus_open_system (bus);
  if (r < 0)
    return capsa_make_error (err, -r, "systemd: connect to the %s bus",
                             rootless ? "user" : "system");
  return 0;
}

/* Names the scope (nothing exists before `enter` starts it with the init in it). */
static int sd_plan (struct capsa_cgroup *cg, const char *id, const char *cgroups_path,
                    bool rootless, capsa_error_t *err)
{
  const char *slice = "", *prefix = "capsa", *name = id;
  char *copy = NULL, *c1, *c2;
  struct sd_priv *p;

  if (access ("/run/systemd/system", F_OK) < 0)
    return capsa_make_error (err, 0, "systemd is not running (no /run/systemd/system)");
  if (cgroups_path && *cgroups_path)
    {
      copy = strdup (cgroups_path);
      if (copy == NULL)
        return capsa_make_error (err, ENOMEM, "cgroup");
      c1 = strchr (copy, ':');
      c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL || strchr (c2 + 1, ':'))
        {
          free (copy);
          return capsa_make_error (err, 0,
                                   ".linux.cgroupsPath: `%s`: expected \"slice:prefix:name\" with "
                                   "the systemd cgroup manager",
                                   cgroups_path);
        }
      *c1 = *c2 = '\0';
      slice = copy;
      prefix = c1 + 1;
      name = c2 + 1;
    }
  if (*slice
      && (strlen (slice) < 7 || strcmp (slice + strlen (slice) - 6, ".slice") != 0
          || strchr (slice, '/')))
    {
      int ret
        = capsa_make_error (err, 0, ".linux.cgroupsPath: slice `%s` must end in .slice", slice);
      free (copy);
      return ret;
    }
  if (*name == '\0' || strchr (name, '/') || strchr (prefix, '/') || strpbrk (name, ";|")
      || strpbrk (prefix, ";|"))
    {
      int ret
        = capsa_make_error (err, 0, ".linux.cgroupsPath: invalid unit name `%s-%s`", prefix, name);
      free (copy);
      return ret;
    }
  p = calloc (1, sizeof (*p));
  if (p == NULL)
    {
      free (copy);
      return capsa_make_error (err, ENOMEM, "cgroup");
    }
  if (strlen (name) > 6 && strcmp (name + strlen (name) - 6, ".scope") == 0)
    cg->scope = strdup (name);
  else if (*prefix)
    {
      if (asprintf (&cg->scope, "%s-%s.scope", prefix, name) < 0)
        cg->scope = NULL;
    }
  else if (asprintf (&cg->scope, "%s.scope", name) < 0)
    cg->scope = NULL;
  p->slice = strdup (*slice ? slice : (rootless ? "user.slice" : "system.slice"));
  free (copy);
  if (cg->scope == NULL || p->slice == NULL)
    {
      free (p->slice);
      free (p);
      return capsa_make_error (err, ENOMEM, "cgroup");
    }
  p->rootless = rootless;
  cg->priv = p;
  cg->created = true;
  return 0;
}

static int sd_create (struct capsa_cgroup *cg, const struct oci_resources *res, bool rootless,
                      capsa_error_t *err)
{
  struct sd_priv *p = cg->priv;
  p->res = res;
  return 0;
}

/* Appending (name, value) properties to an a(sv) container: the first failure sticks in rc. */
struct props
{
  sd_bus_message *m;
  int rc, n;
};

static void prop_u64 (struct props *p, const char *name, uint64_t val)
{
  if (p->rc >= 0)
    p->rc = sd_bus_message_append (p->m, "(sv)", name, "t", val);
  p->n++;
}

static void prop_str (struct props *p, const char *name, const char *val)
{
  if (p->rc >= 0)
    p->rc = sd_bus_message_append (p->m, "(sv)", name, "s", val);
  p->n++;
}

static void prop_bytes (struct props *p, const char *name, const uint8_t *b, size_t len)
{
  if (p->rc >= 0)
    p->rc = sd_bus_message_open_container (p->m, 'r', "sv");
  if (p->rc >= 0)
    p->rc = sd_bus_message_append (p->m, "s", name);
  if (p->rc >= 0)
    p->rc = sd_bus_message_open_container (p->m, 'v', "ay");
  if (p->rc >= 0)
    p->rc = sd_bus_message_open_container (p->m, 'a', "y");
  for (size_t i = 0; i < len && p->rc >= 0; i++)
    p->rc = sd_bus_message_append (p->m, "y", b[i]);
  if (p->rc >= 0)
    p->rc = sd_bus_message_close_container (p->m);
  if (p->rc >= 0)
    p->rc = sd_bus_message_close_container (p->m);
  if (p->rc >= 0)
    p->rc = sd_bus_message_close_container (p->m);
  p->n++;
}

/* A cpuset list ("0-3,8") as systemd's AllowedCPUs/AllowedMemoryNodes bitmask (bit i of byte
 * i/8 is CPU or node i); false when it is not a list (the file write reports that). */
#define CPUSET_MAX 8192
static bool cpuset_mask (const char *list, uint8_t *mask, size_t *len)
{
  const char *s = list;

  *len = 0;
  memset (mask, 0, CPUSET_MAX / 8);
  while (*s == ' ')
    s++;
  if (*s == '\0' || *s == '\n')
    return false;
  for (;;)
    {
      char *end;
      unsigned long a, b;
      if (*s < '0' || *s > '9')
        return false;
      a = b = strtoul (s, &end, 10);
      if (*end == '-')
        {
          if (end[1] < '0' || end[1] > '9')
            return false;
          b = strtoul (end + 1, &end, 10);
        }
      if (a > b || b >= CPUSET_MAX)
        return false;
      for (; a <= b; a++)
        mask[a / 8] |= 1u << (a % 8);
      if (b / 8 + 1 > *len)
        *len = b / 8 + 1;
      s = end;
      if (*s == ',')
        {
          s++;
          continue;
        }
      while (*s == ' ' || *s == '\n')
        s++;
      return *s == '\0';
    }
}

static void prop_cpuset (struct props *p, const char *name, const char *list)
{
  uint8_t mask[CPUSET_MAX / 8];
  size_t len;
  if (list && cpuset_mask (list, mask, &len))
    prop_bytes (p, name, mask, len);
}

/* A number as the kernel reads a cgroup file: "max" (with `max_ok`) is UINT64_MAX; with `suffix`
 * a K, M, G, T, P or E multiplier (powers of 1024) as memory files take. */
static bool parse_value (const char *v, bool max_ok, bool suffix, uint64_t *out)
{
  static const char units[] = "KMGTPE";
  unsigned long long n;
  const char *u;
  char *end;
  size_t len = strlen (v);

  while (len && (v[len - 1] == '\n' || v[len - 1] == ' '))
    len--;
  if (max_ok && len == 3 && strncmp (v, "max", 3) == 0)
    {
      *out = UINT64_MAX;
      return true;
    }
  if (len == 0 || *v < '0' || *v > '9')
    return false;
  errno = 0;
  n = strtoull (v, &end, 10);
  if (errno)
    return false;
  if (suffix && end < v + len && *end && (u = strchr (units, *end & ~0x20)))
    {
      int shift = 10 * (int)(u - units + 1);
      if (n > (UINT64_MAX >> shift))
        return false;
      n <<= shift;
      end++;
    }
  if (end != v + len)
    return false;
  *out = n;
  return true;
}

/* CPUQuotaPerSecUSec (quota -1: none) and, when known, CPUQuotaPeriodUSec (period 0: the
 * kernel's default, 100 ms). */
static void prop_cpu_quota (struct props *p, int64_t quota, uint64_t period)
{
  if (quota > 0)
    {
      uint64_t per = period ? period : 100000;
      /* systemd keeps the quota in 10 ms steps per second (a percentage): round up, never
       * below the request. */
      uint64_t per_sec = (uint64_t)quota <= UINT64_MAX / 2000000ULL
                           ? ((uint64_t)quota * 1000000ULL + per - 1) / per
                           : (uint64_t)quota / per * 1000000ULL;
      per_sec = (per_sec + 9999) / 10000 * 10000;
      prop_u64 (p, "CPUQuotaPerSecUSec", per_sec);
    }
  else
    prop_u64 (p, "CPUQuotaPerSecUSec", UINT64_MAX);
  if (period)
    prop_u64 (p, "CPUQuotaPeriodUSec", period);
}

/* "QUOTA PERIOD" of cpu.max, either half optional ("max", "50000", "max 20000"). */
static bool parse_cpu_max (const char *v, int64_t *quota, uint64_t *period)
{
  char q[32], extra;
  unsigned long long per = 0;
  uint64_t n;
  int k = sscanf (v, "%31s %llu %c", q, &per, &extra);

  if (k < 1 || k > 2 || (k == 2 && per == 0))
    return false;
  if (!parse_value (q, true, false, &n) || n == 0 || (n != UINT64_MAX && n > INT64_MAX))
    return false;
  *quota = n == UINT64_MAX ? -1 : (int64_t)n;
  if (k == 2)
    *period = per;
  return true;
}

/* The CFS quota (-1: none) and period the cgroup has now (v1 cpu files, or v2 cpu.max). */
static bool cgroup_cfs (struct cg_set *s, int64_t *quota, uint64_t *period)
{
  struct cg_dir *d = cg_set_v1 (s, "cpu");
  char q[32], per[32];
  uint64_t v;

  if (d)
    {
      if (cg_read (d->dir, "cpu.cfs_quota_us", q, sizeof (q)) < 0
          || cg_read (d->dir, "cpu.cfs_period_us", per, sizeof (per)) < 0
          || !parse_value (per, false, false, period))
        return false;
      *quota = strtoll (q, NULL, 10);
      if (*quota <= 0)
        *quota = -1;
      return true;
    }
  d = cg_set_v2 (s);
  if (d == NULL || cg_read (d->dir, "cpu.max", per, sizeof (per)) < 0)
    return false;
  v = 0;
  return parse_cpu_max (per, quota, &v) && (*period = v) > 0;
}

/* cpu.idle: systemd writes it from CPUWeight (0 is "idle", systemd >= 252), so the weight must
 * say it.  Leaving idle gives the unit the cgroup's weight (an update wrote it already) or, when
 * the cgroup has none to give, systemd's default. */
static void prop_cpu_idle (struct props *p, bool idle, struct cg_set *now)
{
  struct cg_dir *d = now ? cg_set_v2 (now) : NULL;
  char buf[32];
  uint64_t w;

  if (idle)
    prop_u64 (p, "CPUWeight", 0);
  else if (now == NULL)
    return; /* a new scope is not idle */
  else if (d && cg_read (d->dir, "cpu.weight", buf, sizeof (buf)) >= 0
           && parse_value (buf, false, false, &w) && w >= 1 && w <= 10000)
    prop_u64 (p, "CPUWeight", w);
  else
    prop_u64 (p, "CPUWeight", UINT64_MAX);
}

/* A linux.resources.unified key systemd has a property for (cgroup v2 only): systemd re-applies
 * its properties to the cgroup (at a daemon-reload, or when it realizes a sibling), so these keys
 * must be properties too; the others are written into the delegated scope only, and systemd
 * leaves them alone.  cpu.max and cpu.idle are the caller's (they combine with .cpu fields). */
static void prop_unified (struct props *p, const char *k, const char *v, struct cg_set *now)
{
  static const struct
  {
    const char *key, *prop;
  } mem[] = {
    { "memory.min", "MemoryMin" },          { "memory.low", "MemoryLow" },
    { "memory.high", "MemoryHigh" },        { "memory.max", "MemoryMax" },
    { "memory.swap.max", "MemorySwapMax" },
  };
  uint64_t n;
  size_t i;

  for (i = 0; i < sizeof (mem) / sizeof (mem[0]); i++)
    if (strcmp (k, mem[i].key) == 0)
      {
        if (parse_value (v, true, true, &n))
          prop_u64 (p, mem[i].prop, n);
        return;
      }
  if (strcmp (k, "pids.max") == 0 && parse_value (v, true, false, &n))
    prop_u64 (p, "TasksMax", n);
  else if (strcmp (k, "cpu.weight") == 0 && parse_value (v, false, false, &n) && n >= 1
           && n <= 10000)
    prop_u64 (p, "CPUWeight", n);
  else if (strcmp (k, "io.weight") == 0)
    {
      /* only the default weight ("N" or "default N"); per-device lines stay in the file */
      const char *w = strncmp (v, "default ", 8) == 0 ? v + 8 : v;
      if (parse_value (w, false, false, &n) && n >= 1 && n <= 10000)
        prop_u64 (p, "IOWeight", n);
    }
  else if (strcmp (k, "cpuset.cpus") == 0)
    prop_cpuset (p, "AllowedCPUs", v);
  else if (strcmp (k, "cpuset.mems") == 0)
    prop_cpuset (p, "AllowedMemoryNodes", v);
  else if (strcmp (k, "memory.oom.group") == 0 && now == NULL && parse_value (v, false, false, &n)
           && n <= 1)
    /* systemd writes memory.oom.group from the scope's OOMPolicy (kill: 1, else 0), which it
     * takes only when it creates the unit: an update's value lasts until a daemon-reload. */
    prop_str (p, "OOMPolicy", n ? "kill" : "continue");
}

/* Resource properties systemd knows, so that systemd re-applying the unit's cgroup settings (at a
 * daemon-reload, or when it realizes a sibling's) writes the container's values, not its
 * defaults.  `now` is the container's cgroup set once the values are written (update): the CPU
 * quota and period then come from the cgroup, so that the half an update did not give keeps its
 * value.  Returns how many properties it appended. */
static int append_resources (sd_bus_message *m, const struct oci_resources *r, struct cg_set *now)
{
  struct props p = { m, 0, 0 };
  bool v2 = capsa_cgroup_mode () == CAPSA_CGROUP_V2;
  const char *cpu_max = NULL;
  int idle = -1; /* cpu.idle to give: -1 none */
  size_t i;

  if (r == NULL)
    return 0;
  for (i = 0; v2 && i < r->unified_len; i++)
    if (r->unified[i].key && strcmp (r->unified[i].key, "cpu.max") == 0 && r->unified[i].value)
      cpu_max = r->unified[i].value;
  /* Only values valid for their field: cg_apply_resources rejects the others with an error
   * naming the field, where systemd would refuse the whole unit with its own wording. */
  if (r->memory && r->memory->limit_present && (r->memory->limit > 0 || r->memory->limit == -1))
    prop_u64 (&p, "MemoryMax", r->memory->limit < 0 ? UINT64_MAX : (uint64_t)r->memory->limit);
  if (r->memory && r->memory->reservation_present && r->memory->reservation > 0)
    prop_u64 (&p, "MemoryLow", r->memory->reservation);
  if (r->memory && r->memory->swap_present && v2)
    {
      char buf[32];
      capsa_error_t e = NULL;
      if (cg_swap_v2 (r->memory, buf, sizeof (buf), &e) == 0)
        prop_u64 (&p, "MemorySwapMax",
                  strcmp (buf, "max") == 0 ? UINT64_MAX : strtoull (buf, NULL, 10));
      capsa_error_release (&e); /* cg_apply_resources reports a bad swap value */
    }
  if (r->cpu && r->cpu->shares_present && r->cpu->shares >= 2 && r->cpu->shares <= 262144)
    prop_u64 (&p, "CPUWeight", cg_shares_to_weight (r->cpu->shares));
  if ((r->cpu
       && ((r->cpu->quota_present && (r->cpu->quota >= 1000 || r->cpu->quota == -1))
           || (r->cpu->period_present && r->cpu->period >= 1000 && r->cpu->period <= 1000000)))
      || cpu_max)
    {
      int64_t quota = -1; /* a new cgroup's: none */
      uint64_t period = 0;
      if (now == NULL || !cgroup_cfs (now, &quota, &period))
        {
          if (r->cpu && r->cpu->quota_present && r->cpu->quota)
            quota = r->cpu->quota;
          if (r->cpu && r->cpu->period_present && r->cpu->period)
            period = r->cpu->period;
          if (cpu_max) /* one cg_v2_unified refuses when it is no cpu.max value */
            parse_cpu_max (cpu_max, &quota, &period);
        }
      prop_cpu_quota (&p, quota, period);
    }
  if (v2 && r->cpu && r->cpu->idle_present && (r->cpu->idle == 0 || r->cpu->idle == 1))
    idle = (int)r->cpu->idle;
  if (r->pids && (r->pids->limit > 0 || r->pids->limit == -1))
    prop_u64 (&p, "TasksMax", r->pids->limit < 0 ? UINT64_MAX : (uint64_t)r->pids->limit);
  if (r->block_io && r->block_io->weight_present && r->block_io->weight >= 10
      && r->block_io->weight <= 1000)
    prop_u64 (&p, "IOWeight", cg_blkio_to_io_weight (r->block_io->weight));
  /* systemd applies cpuset properties on cgroup v2 only */
  if (v2 && r->cpu && r->cpu->cpus && *r->cpu->cpus)
    prop_cpuset (&p, "AllowedCPUs", r->cpu->cpus);
  if (v2 && r->cpu && r->cpu->mems && *r->cpu->mems)
    prop_cpuset (&p, "AllowedMemoryNodes", r->cpu->mems);
  /* after the fields they override, as cg_apply_resources writes them */
  for (i = 0; v2 && i < r->unified_len; i++)
    if (r->unified[i].key && r->unified[i].value)
      {
        uint64_t n;
        if (strcmp (r->unified[i].key, "cpu.idle") != 0)
          prop_unified (&p, r->unified[i].key, r->unified[i].value, now);
        else if (parse_value (r->unified[i].value, false, false, &n) && n <= 1)
          idle = (int)n;
      }
  /* last: an idle cgroup's CPUWeight is "idle", whatever weight came before */
  if (idle >= 0)
    prop_cpu_idle (&p, idle == 1, now);
  return p.rc < 0 ? p.rc : p.n;
}

static uint64_t now_usec (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* Wait (bounded) for systemd's JobRemoved signal of job `job` (the caller subscribed with
 * sd_bus_match_signal before queueing it); a result other than "done" is an error. */
static int wait_job (sd_bus *bus, const char *job, const char *what, const char *unit,
                     capsa_error_t *err)
{
  uint64_t deadline = now_usec () + JOB_TIMEOUT_USEC, now;
  int r;

  for (;;)
    {
      sd_bus_message *sig = NULL;
      r = sd_bus_process (bus, &sig);
      if (r < 0)
        return bus_error (err, r, NULL, "wait for", unit);
      if (sig && sd_bus_message_is_signal (sig, "org.freedesktop.systemd1.Manager", "JobRemoved"))
        {
          uint32_t id;
          const char *path, *u, *result;
          if (sd_bus_message_read (sig, "uoss", &id, &path, &u, &result) >= 0
              && strcmp (path, job) == 0)
            {
              int ret = 0;
              if (strcmp (result, "done") != 0)
                ret = capsa_make_error (err, 0, "systemd: %s `%s`: job %s", what, unit, result);
              sd_bus_message_unref (sig);
              return ret;
            }
        }
      sd_bus_message_unref (sig);
      if (r > 0)
        continue;
      now = now_usec ();
      if (now >= deadline)
        return capsa_make_error (err, ETIMEDOUT, "systemd: %s `%s`", what, unit);
      r = sd_bus_wait (bus, deadline - now);
      if (r < 0)
        return bus_error (err, r, NULL, "wait for", unit);
    }
}

/* Start the scope holding `pid` and wait for its job to finish. */
static int start_scope (sd_bus *bus, struct capsa_cgroup *cg, struct sd_priv *p, pid_t pid,
                        capsa_error_t *err)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_slot *slot = NULL;
  const char *job = NULL;
  int r, ret = -1;

  r = sd_bus_match_signal (bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "JobRemoved", NULL, NULL);
  if (r < 0)
    return bus_error (err, r, NULL, "subscribe to jobs for", cg->scope);
  r = sd_bus_message_new_method_call (bus, &m, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append (m, "ss", cg->scope, "fail");
  if (r >= 0)
    r = sd_bus_message_open_container (m, 'a', "(sv)");
  if (r >= 0)
    r = sd_bus_message_append (m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s", "capsa container",
                               "Slice", "s", p->slice, "Delegate", "b", 1, "DefaultDependencies",
                               "b", 0, "PIDs", "au", 1, (uint32_t)pid);
  if (r >= 0)
    r = append_resources (m, p->res, NULL);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sa(sv))", 0);
  if (r < 0)
    {
      bus_error (err, r, NULL, "build the request for", cg->scope);
      goto out;
    }
  r = sd_bus_call (bus, m, 0, &e, &reply);
  if (r < 0)
    {
      bus_error (err, r, &e, "start transient unit", cg->scope);
      goto out;
    }
  r = sd_bus_message_read (reply, "o", &job);
  if (r < 0)
    {
      bus_error (err, r, NULL, "read the job of", cg->scope);
      goto out;
    }
  if (wait_job (bus, job, "start", cg->scope, err) < 0)
    goto out;
  ret = 0;
out:
  sd_bus_message_unref (m);
  sd_bus_message_unref (reply);
  sd_bus_slot_unref (slot);
  return ret;
}

/* The cgroup systemd put `pid` in (unified, else name=systemd), from /proc/<pid>/cgroup. */
static char *pid_cgroup (pid_t pid)
{
  char file[64], *line = NULL, *found = NULL;
  size_t cap = 0;
  FILE *f;

  snprintf (file, sizeof (file), "/proc/%d/cgroup", (int)pid);
  f = fopen (file, "re");
  if (f == NULL)
    return NULL;
  while (getline (&line, &cap, f) > 0)
    {
      char *nl = strchr (line, '\n'), *p;
      if (nl)
        *nl = '\0';
      if (strncmp (line, "0::", 3) == 0 && capsa_cgroup_mode () != CAPSA_CGROUP_V1)
        p = line + 3;
      else if ((p = strstr (line, ":name=systemd:")))
        p += 14;
      else
        continue;
      free (found);
      found = strdup (p);
      if (strncmp (line, "0::", 3) == 0)
        break;
    }
  fclose (f);
  free (line);
  return found;
}

static int sd_enter (struct capsa_cgroup *cg, pid_t pid, capsa_error_t *err)
{
  struct sd_priv *p = cg->priv;
  sd_bus *bus = NULL;
  char *path;
  int ret;

  if (p->started)
    return cg_fs_enter (cg, pid, err);
  if (open_bus (&bus, p->rootless, err) < 0)
    return -1;
  ret = start_scope (bus, cg, p, pid, err);
  sd_bus_flush_close_unref (bus);
  if (ret < 0)
    return -1;
  capsa_fault_point ("systemd:after-scope-start");
  p->started = true;
  path = pid_cgroup (pid);
  if (path == NULL)
    return capsa_make_error (err, errno, "systemd: find the cgroup of `%s`", cg->scope);
  free (cg->path);
  cg->path = path;
  /* The v1 hierarchies systemd does not manage get the same path; all get the pid and the
   * full resources (Delegate=yes makes the scope ours to write). */
  cg->priv = &p->set; /* cg_fs_* take the cg_set at the start of priv */
  ret = cg_set_create_at (&p->set, path, p->rootless, err);
  if (ret == 0)
    ret = cg_fs_enter (cg, pid, err);
  if (ret == 0)
    ret = cg_apply_resources (&p->set, p->res, false, p->rootless, err);
  cg->priv = p;
  return ret;
}

#define WITH_SET(cg, call)                                                                         \
  ({                                                                                               \
    struct sd_priv *p_ = (cg)->priv;                                                               \
    __typeof__ (call) r_;                                                                          \
    (cg)->priv = &p_->set;                                                                         \
    r_ = (call);                                                                                   \
    (cg)->priv = p_;                                                                               \
    r_;                                                                                            \
  })

static int sd_v2_fd (struct capsa_cgroup *cg)
{
  return -1; /* the scope does not exist before its first process */
}

/* The unit's resource properties at run time (SetUnitProperties, runtime), so that systemd keeps
 * what `update` wrote when it re-applies the unit's cgroup settings. */
static int set_properties (struct capsa_cgroup *cg, struct sd_priv *p,
                           const struct oci_resources *res, capsa_error_t *err)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message *m = NULL;
  sd_bus *bus = NULL;
  int r, n = 0, ret = 0;

  if (open_bus (&bus, p->rootless, err) < 0)
    return -1;
  r = sd_bus_message_new_method_call (bus, &m, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "SetUnitProperties");
  if (r >= 0)
    r = sd_bus_message_append (m, "sb", cg->scope, 1);
  if (r >= 0)
    r = sd_bus_message_open_container (m, 'a', "(sv)");
  if (r >= 0)
    r = n = append_resources (m, res, &p->set);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r < 0)
    ret = bus_error (err, r, NULL, "build the request for", cg->scope);
  else if (n > 0 && (r = sd_bus_call (bus, m, 0, &e, NULL)) < 0)
    ret = bus_error (err, r, &e, "set the properties of", cg->scope);
  sd_bus_message_unref (m);
  sd_bus_flush_close_unref (bus);
  return ret;
}

static int sd_update (struct capsa_cgroup *cg, const struct oci_resources *res, capsa_error_t *err)
{
  struct sd_priv *p = cg->priv;
  if (WITH_SET (cg, cg_fs_update (cg, res, err)) < 0)
    return -1;
  return p->started ? set_properties (cg, p, res, err) : 0;
}

static int sd_freeze (struct capsa_cgroup *cg, bool frozen, capsa_error_t *err)
{
  return WITH_SET (cg, cg_fs_freeze (cg, frozen, err));
}

static int sd_is_frozen (struct capsa_cgroup *cg, bool *frozen, capsa_error_t *err)
{
  return WITH_SET (cg, cg_fs_is_frozen (cg, frozen, err));
}

static int sd_pids (struct capsa_cgroup *cg, pid_t **pids, size_t *n, capsa_error_t *err)
{
  return WITH_SET (cg, cg_fs_pids (cg, pids, n, err));
}

static int sd_kill (struct capsa_cgroup *cg, int sig, capsa_error_t *err)
{
  return WITH_SET (cg, cg_fs_kill (cg, sig, err));
}

/* Stop the scope, wait for the stop job, and drop a failed state (an OOM kill leaves the scope
 * "failed", and systemd keeps failed units until they are reset). */
static int stop_scope (sd_bus *bus, struct capsa_cgroup *cg, capsa_error_t *err)
{
  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message *reply = NULL;
  sd_bus_slot *slot = NULL;
  const char *job;
  int r, ret = 0;

  r = sd_bus_match_signal (bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "JobRemoved", NULL, NULL);
  if (r < 0)
    return bus_error (err, r, NULL, "subscribe to jobs for", cg->scope);
  r = sd_bus_call_method (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "StopUnit", &e, &reply, "ss",
                          cg->scope, "replace");
  if (r < 0 && !sd_bus_error_has_name (&e, "org.freedesktop.systemd1.NoSuchUnit"))
    ret = bus_error (err, r, &e, "stop", cg->scope);
  else if (r >= 0)
    {
      r = sd_bus_message_read (reply, "o", &job);
      if (r < 0)
        ret = bus_error (err, r, NULL, "read the job of", cg->scope);
      else
        ret = wait_job (bus, job, "stop", cg->scope, err);
    }
  sd_bus_error_free (&e);
  sd_bus_message_unref (reply);
  sd_bus_slot_unref (slot);
  if (ret < 0)
    return ret;
  r = sd_bus_call_method (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "ResetFailedUnit", &e, NULL, "s",
                          cg->scope);
  if (r < 0 && !sd_bus_error_has_name (&e, "org.freedesktop.systemd1.NoSuchUnit"))
    return bus_error (err, r, &e, "reset the failed state of", cg->scope);
  sd_bus_error_free (&e);
  return 0;
}

static int sd_destroy (struct capsa_cgroup *cg, capsa_error_t *err)
{
  struct sd_priv *p = cg->priv;
  struct cg_dir *v2;
  sd_bus *bus = NULL;
  int ret;

  if (p == NULL)
    return 0;
  if (!p->started)
    {
      /* The scope may exist without capsa knowing its cgroup (a create killed in between). */
      if (open_bus (&bus, p->rootless, err) < 0)
        return -1;
      ret = stop_scope (bus, cg, err);
      sd_bus_flush_close_unref (bus);
      return ret;
    }
  /* systemd made the scope's cgroup, so cg_fs_destroy leaves it alone: kill what is left in it
   * first (stopping the unit would send SIGTERM and wait up to its stop timeout). */
  v2 = cg_set_v2 (&p->set);
  if (v2 && access (v2->dir, F_OK) == 0)
    {
      if (WITH_SET (cg, cg_fs_kill (cg, SIGKILL, err)) < 0)
        return -1;
      cg_v2_wait_empty (v2, 5000);
    }
  /* the v1 hierarchies' directories capsa made itself */
  if (WITH_SET (cg, cg_fs_destroy (cg, err)) < 0)
    return -1;
  if (open_bus (&bus, p->rootless, err) < 0)
    return -1;
  ret = stop_scope (bus, cg, err);
  sd_bus_flush_close_unref (bus);
  return ret;
}

/* "systemd;<unit>;<slice>;<rootless>;<started>;" then the cgroupfs form. */
static char *sd_serialize (struct capsa_cgroup *cg)
{
  struct sd_priv *p = cg->priv;
  char *fs, *out = NULL;

  if (p == NULL)
    return strdup ("");
  fs = cg_fs_serialize_set (&p->set, cg->path, cg->created);
  if (fs == NULL)
    return NULL;
  if (asprintf (&out, "systemd;%s;%s;%d;%d;%s", cg->scope ? cg->scope : "", p->slice,
                p->rootless ? 1 : 0, p->started ? 1 : 0, fs)
      < 0)
    out = NULL;
  free (fs);
  return out;
}

static int sd_load (struct capsa_cgroup *cg, const char *data, capsa_error_t *err)
{
  char unit[256], slice[256];
  int rootless, started, n = 0;
  struct sd_priv *p;

  if (data == NULL
      || sscanf (data, "systemd;%255[^;];%255[^;];%d;%d;%n", unit, slice, &rootless, &started, &n)
           < 4
      || n == 0)
    return capsa_make_error (err, EINVAL, "cgroup: invalid saved systemd state `%s`",
                             data ? data : "");
  p = calloc (1, sizeof (*p));
  if (p == NULL)
    return capsa_make_error (err, ENOMEM, "cgroup");
  /* Saved before the scope started (a create that died before its init was in the scope): no
   * cgroup yet, but destroy still stops and resets the unit if systemd has it. */
  if (!started)
    cg->created = true;
  else if (cg_fs_load_set (&p->set, &cg->path, &cg->created, data + n, err) < 0)
    {
      free (p);
      return -1;
    }
  p->slice = strdup (slice);
  p->rootless = rootless;
  p->started = started;
  free (cg->scope);
  cg->scope = strdup (unit);
  cg->mgr = &capsa_cgroup_manager_systemd;
  cg->priv = p;
  return 0;
}

static void sd_release (struct capsa_cgroup *cg)
{
  struct sd_priv *p = cg->priv;
  if (p)
    {
      cg_set_free (&p->set);
      free (p->slice);
      free (p);
      cg->priv = NULL;
    }
  free (cg->path);
  cg->path = NULL;
  free (cg->scope);
  cg->scope = NULL;
}

const struct capsa_cgroup_manager capsa_cgroup_manager_systemd = {
  .name = "systemd",
  .plan = sd_plan,
  .create = sd_create,
  .enter = sd_enter,
  .v2_fd = sd_v2_fd,
  .update = sd_update,
  .freeze = sd_freeze,
  .is_frozen = sd_is_frozen,
  .pids = sd_pids,
  .kill = sd_kill,
  .destroy = sd_destroy,
  .serialize = sd_serialize,
  .load = sd_load,
  .release = sd_release,
};
