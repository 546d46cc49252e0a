/* capsa: run OCI hooks (state JSON on stdin, timeout, exit status checked). */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open_ (pid_t pid)
{
  return (int)syscall (SYS_pidfd_open, pid, 0);
}

static long long now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the forked child: stdin from the pipe, nothing else inherited but stdout/stderr, default
 * signal state, then execve.  On failure the errno goes back through errfd (close-on-exec). */
static void __attribute__ ((noreturn)) hook_child (const struct oci_hook *h, int infd, int errfd)
{
  char **argv;
  sigset_t none;
  size_t i;
  int e;

  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  if (dup2 (infd, 0) < 0)
    goto fail;
  if (h->args_len > 0)
    {
      argv = calloc (h->args_len + 1, sizeof (char *));
      if (argv == NULL)
        goto fail;
      for (i = 0; i < h->args_len; i++)
        argv[i] = h->args[i];
    }
  else
    {
      argv = calloc (2, sizeof (char *));
      if (argv == NULL)
        goto fail;
      argv[0] = h->path;
    }
  /* Everything but 0-2 (and errfd, already close-on-exec) stays out of the hook. */
  if (syscall (SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    {
      int fd;
      for (fd = 3; fd < 1024; fd++)
        if (fd != errfd)
          close (fd);
    }
  /* No `env` (absent or null): the hook inherits the runtime's environment, as with runc and
   * crun; `"env": []` is an empty one. */
  execve (h->path, argv, h->env ? h->env : environ);
fail:
  e = errno;
  if (write (errfd, &e, sizeof (e)) < 0)
    _exit (127);
  _exit (127);
}

static int run_one (const char *kind, const struct oci_hook *h, const char *state,
                    capsa_error_t *err)
{
  int inpipe[2] = { -1, -1 }, errpipe[2] = { -1, -1 }, pidfd = -1, status = 0, ret = -1;
  size_t off = 0, len = state ? strlen (state) : 0;
  long long deadline = h->timeout_present && h->timeout > 0 ? now_ms () + h->timeout * 1000 : -1;
  bool timed_out = false, exited = false;
  pid_t pid;
  int child_errno = 0;
  sigset_t pipeset, oldmask;
  struct timespec zero = { 0, 0 };

  /* A hook need not read its stdin: writes then fail with EPIPE, and the SIGPIPE they raise is
   * held blocked and discarded below instead of killing capsa. */
  sigemptyset (&pipeset);
  sigaddset (&pipeset, SIGPIPE);
  sigprocmask (SIG_BLOCK, &pipeset, &oldmask);

  if (pipe2 (inpipe, O_CLOEXEC) < 0 || pipe2 (errpipe, O_CLOEXEC) < 0)
    {
      capsa_make_error (err, errno, "%s hook \"%s\": pipe", kind, h->path);
      goto out;
    }
  pid = fork ();
  if (pid < 0)
    {
      capsa_make_error (err, errno, "%s hook \"%s\": fork", kind, h->path);
      goto out;
    }
  if (pid == 0)
    hook_child (h, inpipe[0], errpipe[1]);
  close (inpipe[0]);
  close (errpipe[1]);
  inpipe[0] = errpipe[1] = -1;
  /* Non-blocking writes, so a hook that never reads its stdin cannot stall us past the
   * timeout; EPIPE (it exited or closed stdin) just ends the writing. */
  fcntl (inpipe[1], F_SETFL, O_NONBLOCK);
  if (len == 0)
    {
      close (inpipe[1]);
      inpipe[1] = -1;
    }

  pidfd = pidfd_open_ (pid);
  if (pidfd < 0)
    {
      /* No pidfd (kernel < 5.3): blocking wait, timeout not enforced. */
      if (inpipe[1] >= 0)
        {
          fcntl (inpipe[1], F_SETFL, 0);
          while (off < len)
            {
              ssize_t n = write (inpipe[1], state + off, len - off);
              if (n < 0 && errno == EINTR)
                continue;
              if (n <= 0)
                break;
              off += (size_t)n;
            }
        }
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
      exited = true;
    }
  while (!exited)
    {
      struct pollfd pfd[2];
      int nfds = 1, timeout = -1, r;

      pfd[0].fd = pidfd;
      pfd[0].events = POLLIN;
      if (inpipe[1] >= 0)
        {
          pfd[1].fd = inpipe[1];
          pfd[1].events = POLLOUT;
          nfds = 2;
        }
      if (deadline >= 0)
        {
          long long left = deadline - now_ms ();
          timeout = left > 0 ? (int)left : 0;
        }
      r = poll (pfd, nfds, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          capsa_make_error (err, errno, "%s hook \"%s\": poll", kind, h->path);
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          waitpid (pid, &status, 0);
          goto out;
        }
      if (r == 0)
        {
          timed_out = true;
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
          break;
        }
      if (nfds == 2 && pfd[1].revents)
        {
          ssize_t n = write (inpipe[1], state + off, len - off);
          if (n > 0)
            off += (size_t)n;
          if ((n < 0 && errno != EAGAIN && errno != EINTR) || off >= len)
            {
              close (inpipe[1]); /* EPIPE included: the hook need not read its stdin */
              inpipe[1] = -1;
            }
        }
      if (pfd[0].revents)
        {
          while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
          exited = true;
        }
    }

  if (read (errpipe[0], &child_errno, sizeof (child_errno)) == (ssize_t)sizeof (child_errno))
    {
      capsa_make_error (err, child_errno, "%s hook \"%s\": exec", kind, h->path);
      goto out;
    }
  if (timed_out)
    capsa_make_error (err, 0, "%s hook \"%s\": timed out after %llds", kind, h->path,
                      (long long)h->timeout);
  else if (WIFEXITED (status) && WEXITSTATUS (status) != 0)
    capsa_make_error (err, 0, "%s hook \"%s\": exit status %d", kind, h->path,
                      WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    capsa_make_error (err, 0, "%s hook \"%s\": killed by signal %d (%s)", kind, h->path,
                      WTERMSIG (status), strsignal (WTERMSIG (status)));
  else
    ret = 0;
out:
  if (inpipe[0] >= 0)
    close (inpipe[0]);
  if (inpipe[1] >= 0)
    close (inpipe[1]);
  if (errpipe[0] >= 0)
    close (errpipe[0]);
  if (errpipe[1] >= 0)
    close (errpipe[1]);
  if (pidfd >= 0)
    close (pidfd);
  if (!sigismember (&oldmask, SIGPIPE))
    while (sigtimedwait (&pipeset, NULL, &zero) > 0)
      ;
  sigprocmask (SIG_SETMASK, &oldmask, NULL);
  return ret;
}

int capsa_run_hooks (const char *kind, const struct oci_hook *hooks, size_t n,
                     const char *state_json, capsa_error_t *err)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      capsa_debug ("running %s hook \"%s\"", kind, hooks[i].path);
      if (run_one (kind, &hooks[i], state_json, err) < 0)
        return -1;
    }
  return 0;
}
