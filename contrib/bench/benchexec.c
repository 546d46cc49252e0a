/* benchexec.c: run one command and print its wall time, CPU time and peak RSS (benchmark helper).
 */

/* Usage: benchexec [-o FILE] [-t TAG] -- COMMAND [ARGS...]

   Forks COMMAND, waits for it, then reaps any orphaned descendants that have already exited
   (benchexec is a child subreaper, so processes the command double-forks are counted too), and
   appends one line to FILE (default stdout):

     TAG <TAB> wall_us <TAB> user_us <TAB> sys_us <TAB> maxrss_kib <TAB> status

   user/sys come from getrusage (RUSAGE_CHILDREN): the whole reaped process tree.  maxrss is the
   largest resident set of any single process in that tree (as /usr/bin/time reports it), not
   their sum.  status is the exit code, or 128+signal.  Descendants still alive when the command
   exits (a created container's init) are not waited for and not counted.

   benchexec --floor ROOTFS runs the "no runtime" floor instead: clone() into new mount, PID,
   network, IPC and UTS namespaces, make / private, chroot ROOTFS and execve /bin/true.  Combine
   both: benchexec -- benchexec --floor ROOTFS.  */

#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int floor_child (const char *rootfs)
{
  char *const argv[] = { (char *)"/bin/true", NULL };
  char *const envp[] = { (char *)"PATH=/bin", NULL };

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      fprintf (stderr, "benchexec: make / private: %s\n", strerror (errno));
      return 127;
    }
  if (chroot (rootfs) < 0 || chdir ("/") < 0)
    {
      fprintf (stderr, "benchexec: chroot \"%s\": %s\n", rootfs, strerror (errno));
      return 127;
    }
  execve (argv[0], argv, envp);
  fprintf (stderr, "benchexec: execve \"/bin/true\" in \"%s\": %s\n", rootfs, strerror (errno));
  return 127;
}

static int run_floor (const char *rootfs)
{
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  pid_t pid;
  int status;

  /* A raw clone with fork semantics: the child starts as PID 1 of the new PID namespace.  */
  pid = (pid_t)syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      fprintf (stderr, "benchexec: clone namespaces: %s\n", strerror (errno));
      return 127;
    }
  if (pid == 0)
    _exit (floor_child (rootfs));
  if (waitpid (pid, &status, 0) < 0)
    return 127;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static long long usec (const struct timeval *tv)
{
  return (long long)tv->tv_sec * 1000000LL + tv->tv_usec;
}

int main (int argc, char **argv)
{
  const char *out = NULL, *tag = "-";
  struct timespec t0, t1;
  struct rusage ru;
  int status, code, i = 1;
  pid_t pid;
  FILE *f;

  if (argc == 3 && strcmp (argv[1], "--floor") == 0)
    return run_floor (argv[2]);

  while (i < argc && argv[i][0] == '-')
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (argv[i], "-o") == 0 && i + 1 < argc)
        out = argv[i + 1];
      else if (strcmp (argv[i], "-t") == 0 && i + 1 < argc)
        tag = argv[i + 1];
      else
        {
          fprintf (stderr, "usage: benchexec [-o FILE] [-t TAG] -- COMMAND [ARGS...]\n"
                           "       benchexec --floor ROOTFS\n");
          return 2;
        }
      i += 2;
    }
  if (i >= argc)
    {
      fprintf (stderr, "benchexec: no command\n");
      return 2;
    }

  if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    fprintf (stderr, "benchexec: PR_SET_CHILD_SUBREAPER: %s\n", strerror (errno));

  clock_gettime (CLOCK_MONOTONIC, &t0);
  pid = fork ();
  if (pid < 0)
    {
      fprintf (stderr, "benchexec: fork: %s\n", strerror (errno));
      return 2;
    }
  if (pid == 0)
    {
      execvp (argv[i], argv + i);
      fprintf (stderr, "benchexec: exec \"%s\": %s\n", argv[i], strerror (errno));
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        fprintf (stderr, "benchexec: waitpid: %s\n", strerror (errno));
        return 2;
      }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  /* Orphans the command left behind that have exited already: count their CPU time too.  */
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  getrusage (RUSAGE_CHILDREN, &ru);

  code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  f = out ? fopen (out, "a") : stdout;
  if (f == NULL)
    {
      fprintf (stderr, "benchexec: open \"%s\": %s\n", out, strerror (errno));
      return 2;
    }
  fprintf (f, "%s\t%lld\t%lld\t%lld\t%ld\t%d\n", tag,
           ((long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)) / 1000,
           usec (&ru.ru_utime), usec (&ru.ru_stime), ru.ru_maxrss, code);
  if (f != stdout)
    fclose (f);
  return code;
}
