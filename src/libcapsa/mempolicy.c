/* capsa: linux.memoryPolicy: checked in the runtime before anything is created, applied with
 * set_mempolicy(2) in the container init (and in each exec'd process) before execve.  The
 * policy is kept across execve and inherited by children, so the workload and what it starts
 * allocate under it. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

/* The kernel's values (linux/mempolicy.h); older headers lack the newest modes. */
static const struct
{
  const char *name;
  int mode;
  int needs_nodes; /* 1: at least one node, 0: none allowed, -1: either */
} mpol_modes[] = {
  { "MPOL_DEFAULT", 0, 0 },
  { "MPOL_PREFERRED", 1, -1 },
  { "MPOL_BIND", 2, 1 },
  { "MPOL_INTERLEAVE", 3, 1 },
  { "MPOL_LOCAL", 4, 0 },
  { "MPOL_PREFERRED_MANY", 5, 1 },
  { "MPOL_WEIGHTED_INTERLEAVE", 6, 1 },
};

#define F_STATIC_NODES (1 << 15)
#define F_RELATIVE_NODES (1 << 14)
#define F_NUMA_BALANCING (1 << 13)

static const struct
{
  const char *name;
  int flag;
} mpol_flags[] = {
  { "MPOL_F_NUMA_BALANCING", F_NUMA_BALANCING },
  { "MPOL_F_RELATIVE_NODES", F_RELATIVE_NODES },
  { "MPOL_F_STATIC_NODES", F_STATIC_NODES },
};

/* Relative node numbers (MPOL_F_RELATIVE_NODES) and static ones are not host node numbers;
 * this bounds them by the kernel's own limit (MAX_NUMNODES of a 10-bit NODES_SHIFT). */
#define MAX_NODES 1024
#define MASK_WORDS (MAX_NODES / (8 * sizeof (unsigned long)))

#define PFX "config.json: .linux.memoryPolicy"

struct mpol
{
  int mode;
  int flags;
  unsigned long mask[MASK_WORDS];
  int max_node; /* highest node in mask, -1 when empty */
};

/* The highest node number this host may ever have (/sys/devices/system/node/possible, e.g.
 * "0" or "0-3"); 0 without NUMA support. */
static int host_max_node (void)
{
  FILE *f = fopen ("/sys/devices/system/node/possible", "re");
  char buf[256];
  const char *p;
  int max = 0;

  if (f == NULL)
    return 0;
  if (fgets (buf, sizeof (buf), f) == NULL)
    buf[0] = '\0';
  fclose (f);
  for (p = buf; *p;)
    {
      char *end;
      long n = strtol (p, &end, 10);
      if (end == p)
        {
          p++;
          continue;
        }
      if (n > max && n < MAX_NODES)
        max = (int)n;
      p = end;
    }
  return max;
}

static int parse_node (const char **s, long *out)
{
  char *end;
  if (**s < '0' || **s > '9')
    return -1;
  errno = 0;
  *out = strtol (*s, &end, 10);
  if (errno != 0)
    *out = MAX_NODES;
  *s = end;
  return 0;
}

/* "0-3,7" into m->mask; a node above `limit` is out of range. */
static int parse_nodes (const char *nodes, int limit, bool host_nodes, struct mpol *m,
                        capsa_error_t *err)
{
  const char *s = nodes;

  m->max_node = -1;
  if (*s == '\0')
    return 0;
  for (;;)
    {
      long a, b;
      if (parse_node (&s, &a) < 0)
        goto bad;
      b = a;
      if (*s == '-')
        {
          s++;
          if (parse_node (&s, &b) < 0)
            goto bad;
          if (b < a)
            return capsa_make_error (err, 0, PFX ".nodes: range %ld-%ld ends before it starts", a,
                                     b);
        }
      if (b > limit)
        return capsa_make_error (
          err, 0, PFX ".nodes: node %ld is out of range (%s %d)", b,
          host_nodes ? "this host's highest possible NUMA node is" : "the highest node is", limit);
      for (long n = a; n <= b; n++)
        m->mask[n / (8 * sizeof (unsigned long))] |= 1UL << (n % (8 * sizeof (unsigned long)));
      if (b > m->max_node)
        m->max_node = (int)b;
      if (*s == '\0')
        return 0;
      if (*s != ',')
        goto bad;
      s++;
    }
bad:
  return capsa_make_error (
    err, 0, PFX ".nodes: malformed node list \"%s\" (expected e.g. \"0-3,7\")", nodes);
}

static int mpol_build (const struct oci_memory_policy *p, struct mpol *m, capsa_error_t *err)
{
  size_t i, k;
  int needs = 0;
  const char *mode_name = p->mode ? p->mode : "";

  memset (m, 0, sizeof (*m));
  for (i = 0; i < ARRAY_LEN (mpol_modes); i++)
    if (strcmp (mode_name, mpol_modes[i].name) == 0)
      break;
  if (i == ARRAY_LEN (mpol_modes))
    return capsa_make_error (err, 0, PFX ".mode: unknown mode \"%s\"", mode_name);
  m->mode = mpol_modes[i].mode;
  needs = mpol_modes[i].needs_nodes;

  for (i = 0; i < p->flags_len; i++)
    {
      for (k = 0; k < ARRAY_LEN (mpol_flags); k++)
        if (strcmp (p->flags[i], mpol_flags[k].name) == 0)
          break;
      if (k == ARRAY_LEN (mpol_flags))
        return capsa_make_error (err, 0,
                                 PFX ".flags[%zu]: unknown flag \"%s\" (expected one of: "
                                     "MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, "
                                     "MPOL_F_STATIC_NODES)",
                                 i, p->flags[i]);
      m->flags |= mpol_flags[k].flag;
    }
  if ((m->flags & F_STATIC_NODES) && (m->flags & F_RELATIVE_NODES))
    return capsa_make_error (
      err, 0, PFX ".flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other");
  if ((m->flags & F_NUMA_BALANCING) && m->mode != 2 && m->mode != 5)
    return capsa_make_error (
      err, 0, PFX ".flags: MPOL_F_NUMA_BALANCING needs mode MPOL_BIND or MPOL_PREFERRED_MANY");

  {
    /* Host node numbers must exist on this host; static and relative ones need not. */
    bool host_nodes = !(m->flags & (F_STATIC_NODES | F_RELATIVE_NODES));
    if (parse_nodes (p->nodes ? p->nodes : "", host_nodes ? host_max_node () : MAX_NODES - 1,
                     host_nodes, m, err)
        < 0)
      return -1;
  }
  if (needs == 1 && m->max_node < 0)
    return capsa_make_error (err, 0, PFX ".nodes: %s needs at least one node", mode_name);
  if (needs == 0 && m->max_node >= 0)
    return capsa_make_error (err, 0, PFX ".nodes: %s takes no nodes", mode_name);
  if ((m->flags & (F_STATIC_NODES | F_RELATIVE_NODES)) && m->max_node < 0 && m->mode != 0)
    return capsa_make_error (err, 0, PFX ".flags: %s needs nodes",
                             (m->flags & F_STATIC_NODES) ? "MPOL_F_STATIC_NODES"
                                                         : "MPOL_F_RELATIVE_NODES");
  return 0;
}

int capsa_mempolicy_validate (const struct oci_linux *l, capsa_error_t *err)
{
  struct mpol m;
  if (l == NULL || l->memory_policy == NULL)
    return 0;
  return mpol_build (l->memory_policy, &m, err);
}

int capsa_mempolicy_apply (const struct oci_linux *l, capsa_error_t *err)
{
  const struct oci_memory_policy *p = l ? l->memory_policy : NULL;
  struct mpol m;

  if (p == NULL)
    return 0;
  if (mpol_build (p, &m, err) < 0)
    return -1;
  /* maxnode counts bits and the kernel reads one less than given (set_mempolicy(2)). */
  if (syscall (SYS_set_mempolicy, m.mode | m.flags, m.max_node >= 0 ? m.mask : NULL,
               m.max_node >= 0 ? (unsigned long)m.max_node + 2 : 0UL)
      < 0)
    return capsa_make_error (err, errno, PFX ": set_mempolicy %s%s%s", p->mode,
                             p->nodes && p->nodes[0] ? " nodes " : "",
                             p->nodes && p->nodes[0] ? p->nodes : "");
  return 0;
}
