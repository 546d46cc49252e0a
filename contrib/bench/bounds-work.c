/* bounds-work.c: the two workloads of bounds.sh, each timed by itself (benchmark helper).  */

/* Usage: bounds-work cpu|sys N

   Prints "bounds-work: start" when the work begins, then one line

     bounds-work: KIND n=N ns=ELAPSED check=VALUE

   ELAPSED is CLOCK_MONOTONIC nanoseconds around the loop only, so whatever it takes to get the
   program running (a container's setup, a VM's boot) is not in it.  VALUE depends only on KIND
   and N: the caller compares it between runs to see that the same work was done everywhere.

   cpu: N rounds of integer work with no system call: a xorshift64 step, a read-modify-write of
   a 16 KiB table at a pseudo-random index and a data-dependent branch (ALU, L1 loads and
   stores, branches; no floating point).
   sys: N rounds of three system calls that stay in the kernel's own memory: getppid(), then a
   one-byte write() into a pipe and its read() back.  No file system, no device: in a VM these
   are guest-kernel calls, never a round trip to the host.

   Output goes through write(2) at once (no stdio buffering), so the caller can timestamp the
   start line as it arrives.  */

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_work (uint64_t n)
{
  static uint32_t table[4096];
  uint64_t x = 0x9e3779b97f4a7c15u, check = 0, i;

  for (i = 0; i < n; i++)
    {
      uint32_t *slot;

      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      slot = &table[x & 4095];
      *slot += (uint32_t)(x >> 32);
      if (*slot & 1)
        check += *slot;
      else
        check ^= x;
    }
  return check;
}

static int sys_work (uint64_t n, uint64_t *check)
{
  int fds[2];
  uint64_t i;
  char c = 'x';

  if (pipe (fds) < 0)
    return -1;
  *check = 0;
  for (i = 0; i < n; i++)
    {
      /* getppid's value differs between a container and a VM: only its call counts.  */
      (void)getppid ();
      if (write (fds[1], &c, 1) != 1 || read (fds[0], &c, 1) != 1)
        return -1;
      *check += (unsigned char)c;
    }
  close (fds[0]);
  close (fds[1]);
  return 0;
}

int main (int argc, char **argv)
{
  uint64_t n, t0, t1, check = 0;
  char *end;

  if (argc != 3 || (strcmp (argv[1], "cpu") != 0 && strcmp (argv[1], "sys") != 0))
    {
      fprintf (stderr, "usage: bounds-work cpu|sys N\n");
      return 2;
    }
  errno = 0;
  n = strtoull (argv[2], &end, 10);
  if (errno != 0 || *end != '\0' || n == 0)
    {
      fprintf (stderr, "bounds-work: bad count \"%s\"\n", argv[2]);
      return 2;
    }

  dprintf (STDOUT_FILENO, "bounds-work: start\n");
  t0 = now_ns ();
  if (argv[1][0] == 'c')
    check = cpu_work (n);
  else if (sys_work (n, &check) < 0)
    {
      fprintf (stderr, "bounds-work: sys: %s\n", strerror (errno));
      return 1;
    }
  t1 = now_ns ();
  dprintf (STDOUT_FILENO, "bounds-work: %s n=%" PRIu64 " ns=%" PRIu64 " check=%" PRIx64 "\n",
           argv[1], n, t1 - t0, check);
  return 0;
}
