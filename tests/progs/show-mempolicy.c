/* show-mempolicy: print the calling process's NUMA memory policy as get_mempolicy(2) reports
 * it: "mode=MPOL_X flags=F1,F2 nodes=0,1" (flags and nodes "-" when none).  Used inside
 * containers by tests/specfields.bats. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main (void)
{
  static const char *const modes[] = {
    "MPOL_DEFAULT",        "MPOL_PREFERRED",          "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL",
    "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"
  };
  static const struct
  {
    int bit;
    const char *name;
  } flags[] = { { 1 << 15, "MPOL_F_STATIC_NODES" },
                { 1 << 14, "MPOL_F_RELATIVE_NODES" },
                { 1 << 13, "MPOL_F_NUMA_BALANCING" } };
  unsigned long mask[16] = { 0 };
  int mode = -1, m, n, first = 1;
  unsigned i;

  if (syscall (SYS_get_mempolicy, &mode, mask, (unsigned long)(sizeof (mask) * 8), NULL, 0UL) < 0)
    {
      perror ("get_mempolicy");
      return 1;
    }
  m = mode & ~(7 << 13);
  if (m >= 0 && m < (int)(sizeof (modes) / sizeof (modes[0])))
    printf ("mode=%s flags=", modes[m]);
  else
    printf ("mode=%d flags=", m);
  for (i = 0; i < sizeof (flags) / sizeof (flags[0]); i++)
    if (mode & flags[i].bit)
      {
        printf ("%s%s", first ? "" : ",", flags[i].name);
        first = 0;
      }
  printf ("%s nodes=", first ? "-" : "");
  first = 1;
  for (n = 0; n < (int)(sizeof (mask) * 8); n++)
    if (mask[n / (8 * sizeof (long))] & (1UL << (n % (8 * sizeof (long)))))
      {
        printf ("%s%d", first ? "" : ",", n);
        first = 0;
      }
  printf ("%s\n", first ? "-" : "");
  return 0;
}
