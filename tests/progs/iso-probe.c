/* iso-probe: what a process inside a container can see and reach of other processes
 * (tests/isolation.bats).
 *
 * Usage: iso-probe TOKEN... -- PID...
 * Prints "see TOKEN PID" for every process in this /proc whose command line is
 * `sleep TOKEN` (the test's containers run such a process each), then for each PID (a host pid
 * of another container's process) "kill PID RESULT" and "ptrace PID RESULT", where RESULT is
 * "ok" or the errno name of kill(PID, 0) and of PTRACE_SEIZE (detached again at once). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

static const char *errname (int e)
{
  switch (e)
    {
    case ESRCH:
      return "ESRCH";
    case EPERM:
      return "EPERM";
    case EACCES:
      return "EACCES";
    default:
      return "other";
    }
}

int main (int argc, char **argv)
{
  int i, sep = argc;
  DIR *d;
  struct dirent *e;

  for (i = 1; i < argc; i++)
    if (strcmp (argv[i], "--") == 0)
      {
        sep = i;
        break;
      }
  d = opendir ("/proc");
  if (d == NULL)
    {
      perror ("opendir /proc");
      return 1;
    }
  while ((e = readdir (d)) != NULL)
    {
      char path[300], buf[256];
      ssize_t n;
      int fd, t;
      if (e->d_name[0] < '0' || e->d_name[0] > '9')
        continue;
      snprintf (path, sizeof (path), "/proc/%s/cmdline", e->d_name);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      n = read (fd, buf, sizeof (buf) - 1);
      close (fd);
      if (n <= 0)
        continue;
      buf[n] = '\0';
      /* "sleep\0TOKEN\0" */
      if (strcmp (buf, "sleep") != 0 || (size_t)n <= strlen ("sleep") + 1)
        continue;
      for (t = 1; t < sep; t++)
        if (strcmp (buf + strlen ("sleep") + 1, argv[t]) == 0)
          printf ("see %s %s\n", argv[t], e->d_name);
    }
  closedir (d);
  for (i = sep + 1; i < argc; i++)
    {
      pid_t pid = (pid_t)atoi (argv[i]);
      int r = kill (pid, 0);
      printf ("kill %d %s\n", pid, r == 0 ? "ok" : errname (errno));
      r = (int)ptrace (PTRACE_SEIZE, pid, NULL, NULL);
      printf ("ptrace %d %s\n", pid, r == 0 ? "ok" : errname (errno));
      if (r == 0)
        ptrace (PTRACE_DETACH, pid, NULL, NULL);
    }
  return 0;
}
