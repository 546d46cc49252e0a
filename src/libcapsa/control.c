/* capsa: commands on a live container's cgroup: ps, pause, resume, update, events. */
#include <config.h>
#include "internal.h"
#include "cgroup/cgroup-private.h"
#include "state.h"
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

/* An open container: its locked state dir (released before long waits), state and cgroup. */
struct live
{
  char *dir;
  int dfd;
  struct capsa_state_file st;
  struct capsa_cgroup cg;
  const char *status;
};

static void live_release (struct live *l)
{
  if (l->cg.mgr)
    l->cg.mgr->release (&l->cg);
  l->cg.mgr = NULL;
  if (l->dfd >= 0)
    {
      capsa_state_file_free (&l->st);
      close (l->dfd);
    }
  l->dfd = -1;
  free (l->dir);
  l->dir = NULL;
}

/* Open container `id` and its cgroup; error when it has none (--cgroup-manager disabled). */
static int live_open (struct capsa_global *g, const char *id, struct live *l, capsa_error_t *err)
{
  memset (l, 0, sizeof (*l));
  l->dfd = capsa_state_open_locked (g, id, &l->dir, err);
  if (l->dfd < 0)
    return -1;
  if (capsa_state_read (l->dir, &l->st, err) < 0)
    {
      close (l->dfd);
      l->dfd = -1;
      free (l->dir);
      l->dir = NULL;
      return -1;
    }
  l->status = capsa_state_status (l->dir, &l->st);
  if (capsa_state_cgroup (&l->st, &l->cg, err) < 0)
    {
      live_release (l);
      return -1;
    }
  if (l->cg.mgr == NULL)
    {
      live_release (l);
      return capsa_make_error (err, 0, "container has no cgroup of its own");
    }
  return 0;
}

static bool is_live (const char *status)
{
  return strcmp (status, "created") == 0 || strcmp (status, "running") == 0
         || strcmp (status, "paused") == 0;
}

/* ---------------------------------------------------------------------------- ps --- */

static int cmp_pid (const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return x < y ? -1 : x > y;
}

static bool has_pid (const pid_t *pids, size_t n, pid_t p)
{
  return bsearch (&p, pids, n, sizeof (*pids), cmp_pid) != NULL;
}

/* Run `ps ARGS...` (no shell) and return its stdout. */
static int run_ps (char *const *args, size_t nargs, char **out, size_t *len, capsa_error_t *err)
{
  char **argv = calloc (nargs + 2, sizeof (char *));
  int p[2], status;
  pid_t pid;
  size_t cap = 8192, n = 0;
  char *buf;

  if (argv == NULL || pipe2 (p, O_CLOEXEC) < 0)
    {
      free (argv);
      return capsa_make_error (err, errno, "ps");
    }
  argv[0] = (char *)"ps";
  for (size_t i = 0; i < nargs; i++)
    argv[i + 1] = args[i];
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      free (argv);
      return capsa_make_error (err, errno, "fork ps");
    }
  if (pid == 0)
    {
      dup2 (p[1], 1);
      execvp ("ps", argv);
      fprintf (stderr, "capsa: exec ps: %s\n", strerror (errno));
      _exit (127);
    }
  free (argv);
  close (p[1]);
  buf = malloc (cap);
  for (;;)
    {
      ssize_t r;
      if (n + 1 >= cap)
        {
          char *nb = realloc (buf, cap * 2);
          if (nb == NULL)
            break;
          buf = nb;
          cap *= 2;
        }
      r = read (p[0], buf + n, cap - n - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      n += (size_t)r;
    }
  close (p[0]);
  buf[n] = '\0';
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      free (buf);
      return capsa_make_error (err, 0, "ps failed (status %d)",
                               WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
    }
  *out = buf;
  *len = n;
  return 0;
}

/* Keep the header and the lines whose PID column is one of `pids`. */
static int filter_ps (char *text, const pid_t *pids, size_t npids, char **out, capsa_error_t *err)
{
  char *nl = strchr (text, '\n'), *line, *save = NULL, *res;
  int col = -1, k = 0;
  size_t o = 0;

  if (nl == NULL)
    return capsa_make_error (err, 0, "ps: no header line in its output");
  *nl = '\0';
  {
    char *hdr = strdup (text), *tok, *s2 = NULL;
    for (tok = strtok_r (hdr, " \t", &s2); tok; tok = strtok_r (NULL, " \t", &s2), k++)
      if (strcmp (tok, "PID") == 0)
        {
          col = k;
          break;
        }
    free (hdr);
  }
  if (col < 0)
    return capsa_make_error (err, 0, "ps: no PID column in its output (add -o pid)");
  res = malloc (strlen (text) + strlen (nl + 1) + 3);
  if (res == NULL)
    return capsa_make_error (err, ENOMEM, "ps");
  o = (size_t)sprintf (res, "%s\n", text);
  for (line = strtok_r (nl + 1, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      const char *f = line;
      int i;
      for (i = 0; i <= col; i++)
        {
          while (*f == ' ' || *f == '\t')
            f++;
          if (i == col)
            break;
          while (*f && *f != ' ' && *f != '\t')
            f++;
        }
      if (*f && has_pid (pids, npids, (pid_t)strtol (f, NULL, 10)))
        o += (size_t)sprintf (res + o, "%s\n", line);
    }
  *out = res;
  return 0;
}

int capsa_container_ps (struct capsa_global *g, const char *id, bool json, char *const *ps_args,
                        size_t nargs, char **out, capsa_error_t *err)
{
  struct live l;
  pid_t *pids = NULL;
  size_t n = 0;
  int ret = -1;

  *out = NULL;
  if (live_open (g, id, &l, err) < 0)
    return capsa_error_prefix (err, "ps container `%s`", id);
  if (l.cg.mgr->pids (&l.cg, &pids, &n, err) < 0)
    goto out;
  qsort (pids, n, sizeof (*pids), cmp_pid);
  if (json)
    {
      size_t cap = 2 + n * 12, o = 0;
      char *s = malloc (cap + 2);
      if (s == NULL)
        {
          capsa_make_error (err, ENOMEM, "ps");
          goto out;
        }
      s[o++] = '[';
      for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf (s + o, cap - o, "%s%d", i ? "," : "", (int)pids[i]);
      s[o++] = ']';
      s[o++] = '\n';
      s[o] = '\0';
      *out = s;
      ret = 0;
    }
  else
    {
      static char *const def[] = { (char *)"-ef" };
      char *text = NULL;
      size_t len;
      /* ps runs as it is: the lock would only make other commands wait. */
      if (run_ps (nargs ? ps_args : def, nargs ? nargs : 1, &text, &len, err) < 0)
        goto out;
      ret = filter_ps (text, pids, n, out, err);
      free (text);
    }
out:
  free (pids);
  live_release (&l);
  if (ret < 0)
    capsa_error_prefix (err, "ps container `%s`", id);
  return ret;
}

/* ------------------------------------------------------------------ pause/resume --- */

static int set_frozen (struct capsa_global *g, const char *id, bool frozen, capsa_error_t *err)
{
  struct live l;
  int ret = -1;

  if (live_open (g, id, &l, err) < 0)
    return capsa_error_prefix (err, "%s container `%s`", frozen ? "pause" : "resume", id);
  if (frozen && strcmp (l.status, "running") != 0 && strcmp (l.status, "created") != 0)
    capsa_make_error (err, 0, "container not running (it is %s)", l.status);
  else if (!frozen && strcmp (l.status, "paused") != 0)
    capsa_make_error (err, 0, "container not paused (it is %s)", l.status);
  else
    ret = l.cg.mgr->freeze (&l.cg, frozen, err);
  if (ret == 0)
    capsa_trace (id, l.status, capsa_state_status (l.dir, &l.st));
  live_release (&l);
  if (ret < 0)
    capsa_error_prefix (err, "%s container `%s`", frozen ? "pause" : "resume", id);
  return ret;
}

int capsa_container_pause (struct capsa_global *g, const char *id, capsa_error_t *err)
{
  return set_frozen (g, id, true, err);
}

int capsa_container_resume (struct capsa_global *g, const char *id, capsa_error_t *err)
{
  return set_frozen (g, id, false, err);
}

/* ------------------------------------------------------------------------ update --- */

/* A byte count as `capsa update` takes it: "-1", or a number with an optional binary unit
 * (k, m, g, t, p; "kb", "KiB", "1.5g" and "10 m" too). */
int capsa_parse_bytes (const char *s, int64_t *out)
{
  const char *p = s;
  char *end;
  double v, mult = 1;

  if (strcmp (s, "-1") == 0)
    {
      *out = -1;
      return 0;
    }
  if (*p < '0' || *p > '9')
    return -1;
  errno = 0;
  v = strtod (p, &end);
  if (errno || end == p)
    return -1;
  /* strtod also takes exponents and hex: only digits and one dot. */
  for (const char *q = p; q < end; q++)
    if (!((*q >= '0' && *q <= '9') || *q == '.'))
      return -1;
  p = end;
  if (*p == ' ')
    p++;
  if (*p && strchr ("kKmMgGtTpP", *p))
    {
      static const char units[] = "kmgtp";
      const char *u = strchr (units, *p | 0x20);
      for (int i = 0; i <= u - units; i++)
        mult *= 1024;
      p++;
      if (*p == 'i' || *p == 'I')
        p++;
    }
  if (*p == 'b' || *p == 'B')
    p++;
  if (*p != '\0')
    return -1;
  v *= mult;
  if (v >= 9.2e18)
    return -1;
  *out = (int64_t)v;
  return 0;
}

static int flag_u64 (const char *flag, const char *v, uint64_t *out, capsa_error_t *err)
{
  char *end;
  errno = 0;
  if (v[0] < '0' || v[0] > '9')
    return capsa_make_error (err, 0, "--%s: invalid value \"%s\" (expected a number >= 0)", flag,
                             v);
  *out = strtoull (v, &end, 10);
  if (errno || *end)
    return capsa_make_error (err, 0, "--%s: invalid value \"%s\" (expected a number >= 0)", flag,
                             v);
  return 0;
}

static int flag_i64 (const char *flag, const char *v, int64_t *out, capsa_error_t *err)
{
  char *end;
  errno = 0;
  *out = strtoll (v, &end, 10);
  if (v[0] == '\0' || errno || *end)
    return capsa_make_error (err, 0, "--%s: invalid value \"%s\" (expected a number)", flag, v);
  return 0;
}

static int flag_bytes (const char *flag, const char *v, int64_t *out, capsa_error_t *err)
{
  if (capsa_parse_bytes (v, out) < 0)
    return capsa_make_error (err, 0,
                             "--%s: invalid value \"%s\" (expected -1 or a size such as 512k, "
                             "10m, 1g)",
                             flag, v);
  return 0;
}

static void *zalloc (void **slot, size_t size)
{
  if (*slot == NULL)
    *slot = calloc (1, size);
  return *slot;
}

/* The flags on top of the resources read with -r (the flags win). */
static int apply_flags (struct oci_resources *r, const struct capsa_update_opts *o,
                        capsa_error_t *err)
{
  struct oci_cpu *c;
  struct oci_memory *m;

  if (o->l3_cache_schema || o->mem_bw_schema)
    return capsa_make_error (err, ENOTSUP, "--%s: Intel RDT (resctrl) is not supported by capsa",
                             o->l3_cache_schema ? "l3-cache-schema" : "mem-bw-schema");
  if (o->blkio_weight)
    {
      uint64_t w;
      if (flag_u64 ("blkio-weight", o->blkio_weight, &w, err) < 0)
        return -1;
      if (w > 65535)
        return capsa_make_error (err, 0, "--blkio-weight: %" PRIu64 " is out of range [10, 1000]",
                                 w);
      if (!zalloc ((void **)&r->block_io, sizeof (*r->block_io)))
        return capsa_make_error (err, ENOMEM, "update");
      r->block_io->weight = (uint16_t)w;
      r->block_io->weight_present = true;
    }
  if (o->cpu_period || o->cpu_quota || o->cpu_shares || o->cpu_rt_period || o->cpu_rt_runtime
      || o->cpuset_cpus || o->cpuset_mems)
    {
      c = zalloc ((void **)&r->cpu, sizeof (*r->cpu));
      if (c == NULL)
        return capsa_make_error (err, ENOMEM, "update");
      if (o->cpu_period && flag_u64 ("cpu-period", o->cpu_period, &c->period, err) < 0)
        return -1;
      c->period_present |= o->cpu_period != NULL;
      if (o->cpu_quota && flag_i64 ("cpu-quota", o->cpu_quota, &c->quota, err) < 0)
        return -1;
      c->quota_present |= o->cpu_quota != NULL;
      if (o->cpu_shares && flag_u64 ("cpu-share", o->cpu_shares, &c->shares, err) < 0)
        return -1;
      c->shares_present |= o->cpu_shares != NULL;
      if (o->cpu_rt_period
          && flag_u64 ("cpu-rt-period", o->cpu_rt_period, &c->realtime_period, err) < 0)
        return -1;
      c->realtime_period_present |= o->cpu_rt_period != NULL;
      if (o->cpu_rt_runtime
          && flag_i64 ("cpu-rt-runtime", o->cpu_rt_runtime, &c->realtime_runtime, err) < 0)
        return -1;
      c->realtime_runtime_present |= o->cpu_rt_runtime != NULL;
      if (o->cpuset_cpus)
        {
          free (c->cpus);
          c->cpus = strdup (o->cpuset_cpus);
        }
      if (o->cpuset_mems)
        {
          free (c->mems);
          c->mems = strdup (o->cpuset_mems);
        }
    }
  if (o->memory || o->memory_reservation || o->memory_swap || o->kernel_memory
      || o->kernel_memory_tcp)
    {
      m = zalloc ((void **)&r->memory, sizeof (*r->memory));
      if (m == NULL)
        return capsa_make_error (err, ENOMEM, "update");
      if (o->memory && flag_bytes ("memory", o->memory, &m->limit, err) < 0)
        return -1;
      m->limit_present |= o->memory != NULL;
      if (o->memory_reservation
          && flag_bytes ("memory-reservation", o->memory_reservation, &m->reservation, err) < 0)
        return -1;
      m->reservation_present |= o->memory_reservation != NULL;
      if (o->memory_swap && flag_bytes ("memory-swap", o->memory_swap, &m->swap, err) < 0)
        return -1;
      m->swap_present |= o->memory_swap != NULL;
      if (o->kernel_memory && flag_bytes ("kernel-memory", o->kernel_memory, &m->kernel, err) < 0)
        return -1;
      m->kernel_present |= o->kernel_memory != NULL;
      if (o->kernel_memory_tcp
          && flag_bytes ("kernel-memory-tcp", o->kernel_memory_tcp, &m->kernel_tcp, err) < 0)
        return -1;
      m->kernel_tcp_present |= o->kernel_memory_tcp != NULL;
    }
  if (o->pids_limit)
    {
      if (!zalloc ((void **)&r->pids, sizeof (*r->pids)))
        return capsa_make_error (err, ENOMEM, "update");
      if (flag_i64 ("pids-limit", o->pids_limit, &r->pids->limit, err) < 0)
        return -1;
      if (r->pids->limit < -1)
        return capsa_make_error (err, 0, "--pids-limit: %" PRId64 " is out of range (-1 or > 0)",
                                 r->pids->limit);
    }
  return 0;
}

static int read_resources (const char *file, struct oci_resources **out, capsa_error_t *err)
{
  char *text = NULL, *msg = NULL;
  size_t len = 0;
  const char *name = strcmp (file, "-") == 0 ? "<stdin>" : file;

  if (capsa_read_file (strcmp (file, "-") == 0 ? "/dev/stdin" : file, &text, &len, err) < 0)
    return capsa_error_prefix (err, "--resources `%s`", name);
  *out = oci_resources_parse_data (text, len, name, &msg);
  free (text);
  if (*out == NULL)
    {
      capsa_make_error (err, 0, "%s", msg ? msg : "cannot parse resources");
      free (msg);
      return -1;
    }
  return 0;
}

int capsa_container_update (struct capsa_global *g, const char *id,
                            const struct capsa_update_opts *o, capsa_error_t *err)
{
  struct oci_resources *r = NULL;
  struct live l = { .dfd = -1 };
  int ret = -1;

  if (o->resources_file && read_resources (o->resources_file, &r, err) < 0)
    goto out;
  if (r == NULL && (r = calloc (1, sizeof (*r))) == NULL)
    {
      capsa_make_error (err, ENOMEM, "update");
      goto out;
    }
  if (apply_flags (r, o, err) < 0)
    goto out;
  if (live_open (g, id, &l, err) < 0)
    goto out;
  if (!is_live (l.status))
    {
      capsa_make_error (err, 0, "container not running (it is %s)", l.status);
      goto out;
    }
  ret = l.cg.mgr->update (&l.cg, r, err);
  if (ret == 0 && l.st.vm)
    ret = capsa_sandbox_update (l.dir, &l.st, r, err);
out:
  live_release (&l);
  if (r)
    oci_resources_free (r);
  if (ret < 0)
    capsa_error_prefix (err, "update container `%s`", id);
  return ret;
}

/* ------------------------------------------------------------------------ events --- */

static struct cg_set *set_of (struct capsa_cgroup *cg)
{
  /* cgroupfs keeps a cg_set, systemd a struct beginning with one. */
  return cg->priv;
}

static bool read_u64 (const char *dir, const char *file, uint64_t *v)
{
  char buf[64];
  if (dir == NULL || cg_read (dir, file, buf, sizeof (buf)) < 0)
    return false;
  if (strcmp (buf, "max") == 0)
    *v = UINT64_MAX;
  else
    *v = strtoull (buf, NULL, 10);
  return true;
}

static char *read_text (const char *dir, const char *file)
{
  char path[PATH_MAX], *text = NULL;
  size_t len;
  capsa_error_t tmp = NULL;
  if (dir == NULL)
    return NULL;
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (capsa_read_file (path, &text, &len, &tmp) < 0)
    {
      capsa_error_release (&tmp);
      return NULL;
    }
  return text;
}

/* The value of `key` in a "key value" per line file (memory.stat, cpu.stat, memory.events). */
static bool kv_get (const char *text, const char *key, uint64_t *v)
{
  size_t kl = strlen (key);
  for (const char *p = text; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, key, kl) == 0 && p[kl] == ' ')
      {
        *v = strtoull (p + kl + 1, NULL, 10);
        return true;
      }
  return false;
}

static void gen_key (yajl_gen gen, const char *k)
{
  yajl_gen_string (gen, (const unsigned char *)k, strlen (k));
}

static void gen_u64 (yajl_gen gen, const char *k, uint64_t v)
{
  char buf[32];
  gen_key (gen, k);
  snprintf (buf, sizeof (buf), "%" PRIu64, v);
  yajl_gen_number (gen, buf, strlen (buf));
}

/* Every "key value" line of `text` as members of the current map. */
static void gen_kv_lines (yajl_gen gen, const char *text)
{
  char key[128];
  for (const char *p = text; p && *p;)
    {
      const char *sp = strchr (p, ' '), *nl = strchr (p, '\n');
      if (sp && (nl == NULL || sp < nl) && (size_t)(sp - p) < sizeof (key))
        {
          memcpy (key, p, (size_t)(sp - p));
          key[sp - p] = '\0';
          gen_u64 (gen, key, strtoull (sp + 1, NULL, 10));
        }
      p = nl ? nl + 1 : NULL;
    }
}

static void gen_numbers (yajl_gen gen, const char *k, const char *text)
{
  char *end;
  gen_key (gen, k);
  yajl_gen_array_open (gen);
  for (const char *p = text; p && *p; p = end)
    {
      char buf[32];
      uint64_t v;
      while (*p == ' ' || *p == '\n')
        p++;
      if (*p == '\0')
        break;
      v = strtoull (p, &end, 10);
      if (end == p)
        break;
      snprintf (buf, sizeof (buf), "%" PRIu64, v);
      yajl_gen_number (gen, buf, strlen (buf));
    }
  yajl_gen_array_close (gen);
}

static void gen_cpu (yajl_gen gen, struct cg_set *s)
{
  struct cg_dir *acct = cg_set_v1 (s, "cpuacct"), *cpu = cg_set_v1 (s, "cpu"), *v2 = cg_set_v2 (s);
  char *stat = NULL, *text;
  uint64_t v;
  long hz = sysconf (_SC_CLK_TCK);

  gen_key (gen, "cpu");
  yajl_gen_map_open (gen);
  gen_key (gen, "usage");
  yajl_gen_map_open (gen);
  if (acct)
    {
      if (read_u64 (acct->dir, "cpuacct.usage", &v))
        gen_u64 (gen, "total", v);
      if ((text = read_text (acct->dir, "cpuacct.usage_percpu")))
        {
          gen_numbers (gen, "percpu", text);
          free (text);
        }
      /* cpuacct.stat is in clock ticks: nanoseconds like cpuacct.usage. */
      if ((text = read_text (acct->dir, "cpuacct.stat")))
        {
          if (kv_get (text, "system", &v))
            gen_u64 (gen, "kernel", v * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100)));
          if (kv_get (text, "user", &v))
            gen_u64 (gen, "user", v * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100)));
          free (text);
        }
    }
  else if (v2 && (stat = read_text (v2->dir, "cpu.stat")))
    {
      if (kv_get (stat, "usage_usec", &v))
        gen_u64 (gen, "total", v * 1000);
      if (kv_get (stat, "system_usec", &v))
        gen_u64 (gen, "kernel", v * 1000);
      if (kv_get (stat, "user_usec", &v))
        gen_u64 (gen, "user", v * 1000);
    }
  yajl_gen_map_close (gen);
  if (cpu && !stat)
    stat = read_text (cpu->dir, "cpu.stat");
  gen_key (gen, "throttling");
  yajl_gen_map_open (gen);
  if (stat)
    {
      if (kv_get (stat, "nr_periods", &v))
        gen_u64 (gen, "periods", v);
      if (kv_get (stat, "nr_throttled", &v))
        gen_u64 (gen, "throttledPeriods", v);
      if (kv_get (stat, "throttled_time", &v))
        gen_u64 (gen, "throttledTime", v);
      else if (kv_get (stat, "throttled_usec", &v))
        gen_u64 (gen, "throttledTime", v * 1000);
    }
  yajl_gen_map_close (gen);
  yajl_gen_map_close (gen);
  free (stat);
}

/* {"limit","usage","max","failcnt"} from <prefix>.{limit_in_bytes,usage_in_bytes,...} (v1). */
static void gen_mem_entry (yajl_gen gen, const char *k, const char *dir, const char *prefix)
{
  static const struct
  {
    const char *key, *file;
  } f[] = { { "limit", "limit_in_bytes" },
            { "usage", "usage_in_bytes" },
            { "max", "max_usage_in_bytes" },
            { "failcnt", "failcnt" } };
  char file[96];
  uint64_t v;

  gen_key (gen, k);
  yajl_gen_map_open (gen);
  for (size_t i = 0; i < sizeof (f) / sizeof (f[0]); i++)
    {
      snprintf (file, sizeof (file), "%s%s", prefix, f[i].file);
      if (read_u64 (dir, file, &v))
        gen_u64 (gen, f[i].key, v);
    }
  yajl_gen_map_close (gen);
}

static void gen_memory (yajl_gen gen, struct cg_set *s)
{
  struct cg_dir *m = cg_set_v1 (s, "memory"), *v2 = cg_set_v2 (s);
  char *text;
  uint64_t v;

  gen_key (gen, "memory");
  yajl_gen_map_open (gen);
  if (m)
    {
      gen_mem_entry (gen, "usage", m->dir, "memory.");
      gen_mem_entry (gen, "swap", m->dir, "memory.memsw.");
      gen_mem_entry (gen, "kernel", m->dir, "memory.kmem.");
      gen_mem_entry (gen, "kernelTCP", m->dir, "memory.kmem.tcp.");
      text = read_text (m->dir, "memory.stat");
    }
  else if (v2 && (text = read_text (v2->dir, "memory.stat")) != NULL)
    {
      uint64_t lim = 0;
      gen_key (gen, "usage");
      yajl_gen_map_open (gen);
      if (read_u64 (v2->dir, "memory.max", &lim))
        gen_u64 (gen, "limit", lim);
      if (read_u64 (v2->dir, "memory.current", &v))
        gen_u64 (gen, "usage", v);
      if (read_u64 (v2->dir, "memory.peak", &v))
        gen_u64 (gen, "max", v);
      yajl_gen_map_close (gen);
      gen_key (gen, "swap");
      yajl_gen_map_open (gen);
      if (read_u64 (v2->dir, "memory.swap.max", &v))
        gen_u64 (gen, "limit", v);
      if (read_u64 (v2->dir, "memory.swap.current", &v))
        gen_u64 (gen, "usage", v);
      yajl_gen_map_close (gen);
    }
  else
    text = NULL;
  if (text)
    {
      gen_key (gen, "raw");
      yajl_gen_map_open (gen);
      gen_kv_lines (gen, text);
      yajl_gen_map_close (gen);
      free (text);
    }
  yajl_gen_map_close (gen);
}

static void gen_pids (yajl_gen gen, struct cg_set *s)
{
  struct cg_dir *p = cg_set_v1 (s, "pids");
  uint64_t v;

  if (p == NULL)
    p = cg_set_v2 (s);
  gen_key (gen, "pids");
  yajl_gen_map_open (gen);
  if (p && read_u64 (p->dir, "pids.current", &v))
    gen_u64 (gen, "current", v);
  /* "max" is no limit: 0, as runc reports it. */
  if (p && read_u64 (p->dir, "pids.max", &v))
    gen_u64 (gen, "limit", v == UINT64_MAX ? 0 : v);
  yajl_gen_map_close (gen);
}

/* blkio "MAJ:MIN Op value" lines as [{"major","minor","op","value"}]. */
static void gen_blkio_entries (yajl_gen gen, const char *k, const char *text)
{
  gen_key (gen, k);
  yajl_gen_array_open (gen);
  for (const char *p = text; p && *p;)
    {
      unsigned maj, min;
      char op[32];
      unsigned long long val;
      const char *nl = strchr (p, '\n');
      if (sscanf (p, "%u:%u %31s %llu", &maj, &min, op, &val) == 4)
        {
          yajl_gen_map_open (gen);
          gen_u64 (gen, "major", maj);
          gen_u64 (gen, "minor", min);
          gen_key (gen, "op");
          yajl_gen_string (gen, (const unsigned char *)op, strlen (op));
          gen_u64 (gen, "value", val);
          yajl_gen_map_close (gen);
        }
      p = nl ? nl + 1 : NULL;
    }
  yajl_gen_array_close (gen);
}

static void gen_blkio (yajl_gen gen, struct cg_set *s)
{
  static const struct
  {
    const char *key, *file, *alt;
  } f[] = {
    { "ioServiceBytesRecursive", "blkio.throttle.io_service_bytes_recursive",
      "blkio.io_service_bytes_recursive" },
    { "ioServicedRecursive", "blkio.throttle.io_serviced_recursive",
      "blkio.io_serviced_recursive" },
    { "ioQueuedRecursive", "blkio.io_queued_recursive", NULL },
    { "ioServiceTimeRecursive", "blkio.io_service_time_recursive", NULL },
    { "ioWaitTimeRecursive", "blkio.io_wait_time_recursive", NULL },
    { "ioMergedRecursive", "blkio.io_merged_recursive", NULL },
    { "ioTimeRecursive", "blkio.time_recursive", NULL },
    { "sectorsRecursive", "blkio.sectors_recursive", NULL },
  };
  struct cg_dir *b = cg_set_v1 (s, "blkio");

  gen_key (gen, "blkio");
  yajl_gen_map_open (gen);
  for (size_t i = 0; b && i < sizeof (f) / sizeof (f[0]); i++)
    {
      char *text = read_text (b->dir, f[i].file);
      if (text == NULL && f[i].alt)
        text = read_text (b->dir, f[i].alt);
      if (text)
        {
          gen_blkio_entries (gen, f[i].key, text);
          free (text);
        }
    }
  yajl_gen_map_close (gen);
}

static void gen_event_head (yajl_gen gen, const char *type, const char *id)
{
  yajl_gen_map_open (gen);
  gen_key (gen, "type");
  yajl_gen_string (gen, (const unsigned char *)type, strlen (type));
  gen_key (gen, "id");
  yajl_gen_string (gen, (const unsigned char *)id, strlen (id));
}

static int emit (yajl_gen gen, FILE *out)
{
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf (gen, &buf, &len);
  fwrite (buf, 1, len, out);
  fputc ('\n', out);
  fflush (out);
  yajl_gen_clear (gen);
  yajl_gen_reset (gen, NULL);
  return ferror (out) ? -1 : 0;
}

static int emit_stats_set (struct cg_set *s, const char *id, FILE *out)
{
  yajl_gen gen = yajl_gen_alloc (NULL);
  int r;

  if (gen == NULL)
    return -1;
  gen_event_head (gen, "stats", id);
  gen_key (gen, "data");
  yajl_gen_map_open (gen);
  gen_cpu (gen, s);
  gen_memory (gen, s);
  gen_pids (gen, s);
  gen_blkio (gen, s);
  yajl_gen_map_close (gen);
  yajl_gen_map_close (gen);
  r = emit (gen, out);
  yajl_gen_free (gen);
  return r;
}

/* A VM pod member's stats: those of its cgroup in the guest (`guest_sb`, its sandbox's state
 * dir), read through a copy of its files in a temporary directory below `dir`; else of `cg`. */
static int emit_stats (struct capsa_cgroup *cg, const char *id, const char *guest_sb,
                       const char *dir, FILE *out, capsa_error_t *err)
{
  char tmp[PATH_MAX];
  struct cg_dir d = { .ctrls = (char *)"", .dir = tmp, .v2 = true };
  struct cg_set s = { .d = &d, .n = 1 };
  DIR *dd;
  int r;

  if (guest_sb == NULL)
    r = emit_stats_set (set_of (cg), id, out);
  else
    {
      snprintf (tmp, sizeof (tmp), "%s/guest-stats.XXXXXX", dir);
      if (mkdtemp (tmp) == NULL)
        return capsa_make_error (err, errno, "mkdtemp \"%s\"", tmp);
      r = capsa_sandbox_member_stats (guest_sb, id, tmp, err);
      if (r == 0 && (r = emit_stats_set (&s, id, out)) < 0)
        capsa_make_error (err, errno, "write stats");
      if ((dd = opendir (tmp)) != NULL)
        {
          struct dirent *de;
          while ((de = readdir (dd)) != NULL)
            if (de->d_name[0] != '.')
              unlinkat (dirfd (dd), de->d_name, 0);
          closedir (dd);
        }
      rmdir (tmp);
      return r;
    }
  if (r < 0)
    capsa_make_error (err, errno, "write stats");
  return r;
}

static int emit_simple (const char *type, const char *id, FILE *out)
{
  yajl_gen gen = yajl_gen_alloc (NULL);
  int r;
  if (gen == NULL)
    return -1;
  gen_event_head (gen, type, id);
  yajl_gen_map_close (gen);
  r = emit (gen, out);
  yajl_gen_free (gen);
  return r;
}

/* OOM notification: v1 eventfd through cgroup.event_control, else inotify on v2 memory.events.
 * Returns the fd to poll, or -1 when there is no way to watch (stats still work). */
static int oom_watch (struct cg_set *s, bool *v1, uint64_t *count)
{
  struct cg_dir *m = cg_set_v1 (s, "memory"), *v2 = cg_set_v2 (s);
  char path[PATH_MAX], buf[64];
  int efd, cfd;

  *count = 0;
  if (m)
    {
      *v1 = true;
      snprintf (path, sizeof (path), "%s/memory.oom_control", m->dir);
      cfd = open (path, O_RDONLY | O_CLOEXEC);
      if (cfd < 0)
        return -1;
      efd = eventfd (0, EFD_CLOEXEC);
      if (efd < 0)
        {
          close (cfd);
          return -1;
        }
      snprintf (buf, sizeof (buf), "%d %d", efd, cfd);
      if (cg_write (m->dir, "cgroup.event_control", buf) < 0)
        {
          close (efd);
          close (cfd);
          return -1;
        }
      /* The eventfd holds its own reference; cfd can go. */
      close (cfd);
      return efd;
    }
  if (v2)
    {
      char *text;
      *v1 = false;
      snprintf (path, sizeof (path), "%s/memory.events", v2->dir);
      efd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
      if (efd < 0)
        return -1;
      if (inotify_add_watch (efd, path, IN_MODIFY) < 0)
        {
          close (efd);
          return -1;
        }
      if ((text = read_text (v2->dir, "memory.events")))
        {
          kv_get (text, "oom_kill", count);
          free (text);
        }
      return efd;
    }
  return -1;
}

/* Count the OOM events behind a wake-up of the watch fd; 0 for a spurious one.  For v1 an
 * eventfd also fires when the cgroup goes away: *gone is set then. */
static uint64_t oom_drain (struct cg_set *s, int fd, bool v1, uint64_t *count, bool *gone)
{
  char buf[4096];
  *gone = false;
  if (v1)
    {
      uint64_t n = 0;
      struct cg_dir *m = cg_set_v1 (s, "memory");
      if (read (fd, &n, sizeof (n)) != sizeof (n))
        return 0;
      if (m == NULL || access (m->dir, F_OK) < 0)
        {
          *gone = true;
          return 0;
        }
      return n;
    }
  while (read (fd, buf, sizeof (buf)) > 0)
    ;
  {
    struct cg_dir *v2 = cg_set_v2 (s);
    char *text = v2 ? read_text (v2->dir, "memory.events") : NULL;
    uint64_t now = 0, d;
    if (text == NULL)
      {
        *gone = true;
        return 0;
      }
    kv_get (text, "oom_kill", &now);
    free (text);
    d = now > *count ? now - *count : 0;
    *count = now;
    return d;
  }
}

static int pidfd_open_ (pid_t pid)
{
  return (int)syscall (SYS_pidfd_open, pid, 0);
}

static int64_t now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int capsa_container_events (struct capsa_global *g, const char *id, bool stats_once,
                            int interval_ms, FILE *out, capsa_error_t *err)
{
  struct live l;
  int pidfd = -1, oomfd = -1, ret = -1;
  bool v1 = false;
  uint64_t count = 0;
  int64_t next;
  char *guest_sb = NULL;

  if (live_open (g, id, &l, err) < 0)
    return capsa_error_prefix (err, "events container `%s`", id);
  if (!is_live (l.status))
    {
      capsa_make_error (err, 0, "container not running (it is %s)", l.status);
      goto out;
    }
  guest_sb = capsa_sandbox_of_member (l.dir, &l.st);
  if (stats_once)
    {
      if (emit_stats (&l.cg, id, guest_sb, l.dir, out, err) == 0)
        ret = 0;
      goto out;
    }
  pidfd = pidfd_open_ (l.st.pid);
  if (pidfd < 0 || capsa_process_start_time (l.st.pid) != l.st.start_time)
    {
      capsa_make_error (err, 0, "container not running");
      goto out;
    }
  oomfd = oom_watch (set_of (&l.cg), &v1, &count);
  /* The state lock is not held while watching: other commands (kill, delete) go on. */
  close (l.dfd);
  l.dfd = -1;
  capsa_state_file_free (&l.st);
  if (interval_ms <= 0)
    interval_ms = 5000;
  if (emit_stats (&l.cg, id, guest_sb, l.dir, out, err) < 0)
    goto out;
  next = now_ms () + interval_ms;
  for (;;)
    {
      struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { oomfd, POLLIN, 0 } };
      int64_t wait = next - now_ms ();
      int r = poll (p, oomfd >= 0 ? 2 : 1, wait < 0 ? 0 : (int)wait);
      if (r < 0 && errno != EINTR)
        {
          capsa_make_error (err, errno, "poll");
          goto out;
        }
      if (r > 0 && oomfd >= 0 && (p[1].revents & POLLIN))
        {
          bool gone;
          uint64_t n = oom_drain (set_of (&l.cg), oomfd, v1, &count, &gone);
          for (uint64_t i = 0; i < n; i++)
            if (emit_simple ("oom", id, out) < 0)
              {
                capsa_make_error (err, errno, "write event");
                goto out;
              }
          if (gone)
            {
              close (oomfd);
              oomfd = -1;
            }
        }
      if (r > 0 && (p[0].revents & POLLIN))
        {
          /* The container stopped: report an OOM that raced with the exit, then end. */
          if (oomfd >= 0 && !v1)
            {
              bool gone;
              uint64_t n = oom_drain (set_of (&l.cg), oomfd, v1, &count, &gone);
              for (uint64_t i = 0; i < n; i++)
                emit_simple ("oom", id, out);
            }
          else if (oomfd >= 0)
            {
              struct pollfd q = { oomfd, POLLIN, 0 };
              bool gone;
              if (poll (&q, 1, 0) > 0)
                for (uint64_t i = 0, n = oom_drain (set_of (&l.cg), oomfd, v1, &count, &gone);
                     i < n; i++)
                  emit_simple ("oom", id, out);
            }
          ret = 0;
          goto out;
        }
      if (now_ms () >= next)
        {
          if (emit_stats (&l.cg, id, guest_sb, l.dir, out, err) < 0)
            goto out;
          next += interval_ms;
        }
    }
out:
  if (pidfd >= 0)
    close (pidfd);
  if (oomfd >= 0)
    close (oomfd);
  free (guest_sb);
  live_release (&l);
  if (ret < 0)
    capsa_error_prefix (err, "events container `%s`", id);
  return ret;
}

/* ------------------------------------------------------------- create diagnostics --- */

/* After the init died during create: when the memory cgroup recorded an OOM kill (or hit its
 * limit), replace *err with a clear "memory limit too low" error.  Returns 1 when it did. */
int capsa_cgroup_explain_init_death (struct capsa_cgroup *cg, capsa_error_t *err)
{
  struct cg_set *s;
  struct cg_dir *m, *v2;
  uint64_t kills = 0, limit = 0, failcnt = 0;
  char *text = NULL;
  char lim[32] = "";

  if (cg == NULL || cg->mgr == NULL || cg->priv == NULL || strcmp (cg->mgr->name, "disabled") == 0)
    return 0;
  s = set_of (cg);
  m = cg_set_v1 (s, "memory");
  v2 = cg_set_v2 (s);
  if (m)
    {
      if ((text = read_text (m->dir, "memory.oom_control")))
        kv_get (text, "oom_kill", &kills);
      read_u64 (m->dir, "memory.failcnt", &failcnt);
      read_u64 (m->dir, "memory.limit_in_bytes", &limit);
    }
  else if (v2 && (text = read_text (v2->dir, "memory.events")))
    {
      kv_get (text, "oom_kill", &kills);
      kv_get (text, "max", &failcnt);
      read_u64 (v2->dir, "memory.max", &limit);
    }
  free (text);
  if (kills == 0 && failcnt == 0)
    return 0;
  if (limit && limit != UINT64_MAX && limit < (1ULL << 62))
    snprintf (lim, sizeof (lim), " (%" PRIu64 " bytes)", limit);
  capsa_error_release (err);
  capsa_make_error (err, 0,
                    "memory limit too low: the container init was killed by the OOM killer while "
                    "setting up the container; raise .linux.resources.memory.limit%s",
                    lim);
  return 1;
}
