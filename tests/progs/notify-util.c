/* notify-util: both ends of the sd_notify protocol, for tests/notify.bats.
 *
 *   notify-util send MSG...   each MSG as one datagram to $NOTIFY_SOCKET ("@x" is abstract)
 *   notify-util listen PATH   bind a datagram socket at PATH and print each message received
 *                             on one line (newlines inside shown as '|'), flushed at once; a
 *                             message with file descriptors (BARRIER=1) has them closed, which
 *                             is the barrier's answer.  Runs until killed.
 * Built static, so the send side runs in the busybox test rootfs. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t addr_of (const char *path, struct sockaddr_un *a)
{
  size_t n = strlen (path);
  memset (a, 0, sizeof (*a));
  a->sun_family = AF_UNIX;
  if (n >= sizeof (a->sun_path))
    {
      fprintf (stderr, "notify-util: path too long: %s\n", path);
      exit (2);
    }
  memcpy (a->sun_path, path, n);
  if (path[0] == '@')
    {
      a->sun_path[0] = '\0';
      return (socklen_t)(offsetof (struct sockaddr_un, sun_path) + n);
    }
  return (socklen_t)(offsetof (struct sockaddr_un, sun_path) + n + 1);
}

static int do_send (int argc, char **argv)
{
  const char *path = getenv ("NOTIFY_SOCKET");
  struct sockaddr_un a;
  socklen_t len;
  int fd, i;

  if (path == NULL || path[0] == '\0')
    {
      fprintf (stderr, "notify-util: NOTIFY_SOCKET is not set\n");
      return 1;
    }
  len = addr_of (path, &a);
  fd = socket (AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0)
    {
      perror ("notify-util: socket");
      return 1;
    }
  for (i = 0; i < argc; i++)
    if (sendto (fd, argv[i], strlen (argv[i]), 0, (struct sockaddr *)&a, len) < 0)
      {
        fprintf (stderr, "notify-util: send to %s: ", path);
        perror (NULL);
        return 1;
      }
  return 0;
}

static int do_listen (const char *path)
{
  static char buf[65536];
  struct sockaddr_un a;
  socklen_t len = addr_of (path, &a);
  int fd = socket (AF_UNIX, SOCK_DGRAM, 0);

  if (fd < 0 || bind (fd, (struct sockaddr *)&a, len) < 0)
    {
      perror ("notify-util: bind");
      return 1;
    }
  for (;;)
    {
      char cbuf[CMSG_SPACE (16 * sizeof (int))];
      struct iovec iov = { buf, sizeof (buf) - 1 };
      struct msghdr mh = { 0 };
      struct cmsghdr *c;
      ssize_t n;

      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof (cbuf);
      n = recvmsg (fd, &mh, 0);
      if (n < 0)
        {
          perror ("notify-util: recvmsg");
          return 1;
        }
      for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n')
          buf[i] = '|';
      buf[n] = '\0';
      printf ("%s\n", buf);
      fflush (stdout);
      for (c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          {
            size_t k = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
            int *fds = (int *)CMSG_DATA (c);
            for (size_t j = 0; j < k; j++)
              close (fds[j]);
          }
    }
}

int main (int argc, char **argv)
{
  if (argc >= 3 && strcmp (argv[1], "send") == 0)
    return do_send (argc - 2, argv + 2);
  if (argc == 3 && strcmp (argv[1], "listen") == 0)
    return do_listen (argv[2]);
  fprintf (stderr, "usage: notify-util send MSG... | notify-util listen PATH\n");
  return 2;
}
