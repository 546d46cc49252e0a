/* seccomp-agent: a minimal seccomp notify supervisor for the tests: accepts one connection on
 * a unix socket, receives the notify fd and the container process state (written to a file),
 * then answers every notification with the errno given on the command line.  With COUNT,
 * COUNT connections are served, each by its own process (state files STATE-FILE, .1, .2...). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main (int argc, char **argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char buf[65536], cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { buf, sizeof (buf) - 1 };
  struct msghdr mh = { 0 };
  struct cmsghdr *cm;
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  int ls, c, nfd = -1, answer;
  size_t got = 0;
  ssize_t n;
  FILE *f;

  int i, count = argc > 4 ? atoi (argv[4]) : 1;
  char state[4096];

  if (argc != 4 && argc != 5)
    {
      fprintf (stderr, "usage: seccomp-agent SOCKET STATE-FILE ERRNO [COUNT]\n");
      return 2;
    }
  answer = atoi (argv[3]);
  snprintf (addr.sun_path, sizeof (addr.sun_path), "%s", argv[1]);
  ls = socket (AF_UNIX, SOCK_STREAM, 0);
  if (ls < 0 || bind (ls, (struct sockaddr *)&addr, sizeof (addr)) < 0 || listen (ls, 1) < 0)
    return perror ("listen"), 1;
  for (i = 0; i < count; i++)
    {
      c = accept (ls, NULL, NULL);
      if (c < 0)
        return perror ("accept"), 1;
      if (fork () == 0)
        break;
      close (c);
    }
  if (i == count)
    {
      while (wait (NULL) > 0)
        ;
      return 0;
    }
  close (ls);
  if (i > 0)
    snprintf (state, sizeof (state), "%s.%d", argv[2], i);
  else
    snprintf (state, sizeof (state), "%s", argv[2]);
  argv[2] = state;
  for (;;)
    {
      iov.iov_base = buf + got;
      iov.iov_len = sizeof (buf) - 1 - got;
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof (cbuf);
      n = recvmsg (c, &mh, 0);
      if (n <= 0)
        break;
      for (cm = CMSG_FIRSTHDR (&mh); cm; cm = CMSG_NXTHDR (&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
          memcpy (&nfd, CMSG_DATA (cm), sizeof (int));
      got += (size_t)n;
    }
  buf[got] = '\0';
  f = fopen (argv[2], "w");
  fprintf (f, "%s\n", buf);
  fclose (f);
  if (nfd < 0)
    return fprintf (stderr, "no fd received\n"), 1;
  if (seccomp_notify_alloc (&req, &resp) < 0)
    return 1;
  for (;;)
    {
      memset (req, 0, sizeof (*req));
      if (seccomp_notify_receive (nfd, req) < 0)
        break; /* the filter's processes are gone */
      memset (resp, 0, sizeof (*resp));
      resp->id = req->id;
      resp->error = -answer;
      seccomp_notify_respond (nfd, resp);
      f = fopen (argv[2], "a");
      fprintf (f, "notified syscall %d\n", req->data.nr);
      fclose (f);
    }
  return 0;
}
