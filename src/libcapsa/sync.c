/* capsa: messages between the runtime and the container init. */
#include <config.h>
#include "sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct header
{
  int type;
  int status;
  long long value;
};

int capsa_sync_send (int fd, int type, int status, long long value, const char *payload,
                     capsa_error_t *err)
{
  struct header h = { type, status, value };
  struct iovec iov[2] = { { &h, sizeof (h) }, { (void *)payload, payload ? strlen (payload) : 0 } };
  struct msghdr m = { .msg_iov = iov, .msg_iovlen = payload ? 2 : 1 };
  ssize_t r;

  do
    r = sendmsg (fd, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      /* The init is gone: what it said before dying is the better error. */
      if (errno == EPIPE || errno == ECONNRESET)
        {
          struct capsa_sync_msg msg;
          if (capsa_sync_recv (fd, 0, &msg, err) == 0)
            {
              capsa_sync_msg_free (&msg);
              return capsa_make_error (err, EPIPE, "send to container init");
            }
          return -1;
        }
      return capsa_make_error (err, errno, "send to container init");
    }
  return 0;
}

int capsa_sync_recv (int fd, int want, struct capsa_sync_msg *msg, capsa_error_t *err)
{
  struct header h;
  size_t cap = 1 << 20;
  char *buf = malloc (cap);
  struct iovec iov[2] = { { &h, sizeof (h) }, { buf, cap - 1 } };
  struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
  ssize_t r;

  memset (msg, 0, sizeof (*msg));
  if (buf == NULL)
    abort ();
  do
    r = recvmsg (fd, &m, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      int e = errno;
      free (buf);
      return capsa_make_error (err, e, "receive from container init");
    }
  if (r < (ssize_t)sizeof (h))
    {
      free (buf);
      return capsa_make_error (err, 0, "container init exited unexpectedly");
    }
  buf[r - sizeof (h)] = '\0';
  if (h.type == SYNC_ERROR)
    {
      capsa_make_error (err, h.status, "%s", buf);
      free (buf);
      return -1;
    }
  if (want && h.type != want)
    {
      free (buf);
      return capsa_make_error (err, 0, "unexpected message %d from container init (wanted %d)",
                               h.type, want);
    }
  msg->type = h.type;
  msg->status = h.status;
  msg->value = h.value;
  msg->payload = buf;
  return 0;
}

void capsa_sync_msg_free (struct capsa_sync_msg *msg)
{
  free (msg->payload);
  msg->payload = NULL;
}
