/* capsa: small file and fd helpers shared by the runtime's modules. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_all (int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t r = write (fd, p, len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      p += r;
      len -= (size_t)r;
    }
  return 0;
}

int capsa_write_file_at (int dirfd, const char *name, const void *data, size_t len,
                         capsa_error_t *err)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return capsa_make_error (err, errno, "open `%s`", name);
  if (write_all (fd, data, len) < 0)
    {
      int e = errno;
      close (fd);
      return capsa_make_error (err, e, "write `%s`", name);
    }
  if (close (fd) < 0)
    return capsa_make_error (err, errno, "close `%s`", name);
  return 0;
}

int capsa_write_file (const char *path, const void *data, size_t len, capsa_error_t *err)
{
  return capsa_write_file_at (AT_FDCWD, path, data, len, err);
}

int capsa_write_file_atomic (const char *path, const void *data, size_t len, capsa_error_t *err)
{
  char tmp[PATH_MAX];
  if ((size_t)snprintf (tmp, sizeof (tmp), "%s.tmp", path) >= sizeof (tmp))
    return capsa_make_error (err, ENAMETOOLONG, "write `%s`", path);
  if (capsa_write_file (tmp, data, len, err) < 0)
    {
      unlink (tmp);
      return -1;
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return capsa_make_error (err, e, "rename `%s`", path);
    }
  return 0;
}

int capsa_read_file (const char *path, char **out, size_t *len, capsa_error_t *err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  size_t cap = 4096, n = 0;
  char *buf;

  if (fd < 0)
    return capsa_make_error (err, errno, "open `%s`", path);
  buf = malloc (cap + 1);
  if (buf == NULL)
    abort ();
  for (;;)
    {
      ssize_t r;
      if (n == cap)
        {
          cap *= 2;
          buf = realloc (buf, cap + 1);
          if (buf == NULL)
            abort ();
        }
      r = read (fd, buf + n, cap - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          free (buf);
          close (fd);
          return capsa_make_error (err, e, "read `%s`", path);
        }
      if (r == 0)
        break;
      n += (size_t)r;
    }
  close (fd);
  buf[n] = '\0';
  *out = buf;
  if (len)
    *len = n;
  return 0;
}

/* The text of /proc/self/mountinfo, read at most once per process: generating it costs the
 * kernel a path walk per mount.  A process forked after the first read (the container init)
 * keeps the copy: capsa_mountinfo_cached() gives it there, for views of the parent's mounts
 * that the init's fresh copy of the mount namespace still has unchanged. */
static char *mountinfo_text;

const char *capsa_mountinfo (capsa_error_t *err)
{
  if (mountinfo_text == NULL
      && capsa_read_file ("/proc/self/mountinfo", &mountinfo_text, NULL, err) < 0)
    return NULL;
  return mountinfo_text;
}

const char *capsa_mountinfo_cached (void)
{
  return mountinfo_text;
}

const char *capsa_fd_path (int fd, char *buf)
{
  snprintf (buf, 32, "/proc/self/fd/%d", fd);
  return buf;
}

int capsa_close_fds_from (int first, const int *keep, size_t nkeep)
{
  int fd, max = first;
  size_t i;

  for (i = 0; i < nkeep; i++)
    if (keep[i] >= max)
      max = keep[i] + 1;
  /* Close the gaps between kept fds, then everything above them in one call. */
  for (fd = first; fd < max; fd++)
    {
      bool kept = false;
      for (i = 0; i < nkeep; i++)
        if (keep[i] == fd)
          kept = true;
      if (!kept)
        close (fd);
    }
  if (syscall (SYS_close_range, (unsigned)max, ~0U, 0) < 0)
    {
      long lim = sysconf (_SC_OPEN_MAX);
      for (fd = max; fd < lim; fd++)
        close (fd);
    }
  return 0;
}

void capsa_now_rfc3339 (char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  char t[48];
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (t, sizeof (t), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, len, "%s.%09ldZ", t, ts.tv_nsec);
}

int capsa_exit_status (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}
