/* capsa: container terminals: the pty, fd passing over unix sockets, the foreground proxy. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* A new pty of /dev/ptmx (or of the devpts mounted at PTS_DIR), owned by the process user: its
 * master (off fds 0-2), *slave_out its peer (both O_CLOEXEC), NAME its path. */
int capsa_pty_new (const struct oci_process *p, const char *pts_dir, int *slave_out, char *name,
                   size_t name_len, capsa_error_t *err)
{
  char ptmx[PATH_MAX];
  int master, slave = -1;

  snprintf (ptmx, sizeof (ptmx), "%s/ptmx", pts_dir ? pts_dir : "/dev");
  master = open (ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return capsa_make_error (err, errno, "open \"%s\"", ptmx);
  if (master < 3)
    {
      /* Keep the master off 0-2, which become the slave below. */
      int m = fcntl (master, F_DUPFD_CLOEXEC, 3);
      int e = errno;
      close (master);
      if (m < 0)
        return capsa_make_error (err, e, "dup the pty master");
      master = m;
    }
  if (pts_dir != NULL)
    {
      /* Not ptsname, which names (and checks) the pty under /dev/pts. */
      unsigned int n;
      int unlock = 0;
      if (ioctl (master, TIOCSPTLCK, &unlock) < 0 || ioctl (master, TIOCGPTN, &n) < 0)
        {
          capsa_make_error (err, errno, "unlock the pty of \"%s\"", ptmx);
          goto fail;
        }
      snprintf (name, name_len, "%s/%u", pts_dir, n);
    }
  else if (grantpt (master) < 0 || unlockpt (master) < 0)
    {
      capsa_make_error (err, errno, "unlock the pty");
      goto fail;
    }
  else if (ptsname_r (master, name, name_len) != 0)
    {
      capsa_make_error (err, errno, "ptsname");
      goto fail;
    }
  /* Open the peer through the master (no path lookup that a symlink could redirect); fall
   * back to the name on kernels without TIOCGPTPEER. */
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    {
      capsa_make_error (err, errno, "open pty \"%s\"", name);
      goto fail;
    }
  /* The process user owns its terminal (a uid unmapped in the user namespace is skipped). */
  if (fchown (slave, p->user.uid, (gid_t)-1) < 0 && errno != EINVAL)
    {
      capsa_make_error (err, errno, "chown pty \"%s\" to %u", name, (unsigned)p->user.uid);
      goto fail;
    }
  *slave_out = slave;
  return master;

fail:
  if (slave >= 0)
    close (slave);
  close (master);
  return -1;
}

int capsa_terminal_setup (const struct oci_process *p, capsa_error_t *err)
{
  char name[64];
  int master, slave = -1, console, i;
  struct stat st;

  master = capsa_pty_new (p, NULL, &slave, name, sizeof (name), err);
  if (master < 0)
    return -1;
  if (setsid () < 0 && getsid (0) != getpid ())
    {
      capsa_make_error (err, errno, "setsid");
      goto fail;
    }
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    {
      capsa_make_error (err, errno, "make \"%s\" the controlling terminal", name);
      goto fail;
    }
  if (p->console_size)
    {
      struct winsize ws = { .ws_row = (unsigned short)p->console_size->height,
                            .ws_col = (unsigned short)p->console_size->width };
      if (ioctl (slave, TIOCSWINSZ, &ws) < 0)
        {
          capsa_make_error (err, errno, "set the console size of \"%s\"", name);
          goto fail;
        }
    }
  for (i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      {
        capsa_make_error (err, errno, "dup2 pty to fd %d", i);
        goto fail;
      }
  /* /dev/console is the pty as well: bound over it through an fd opened without following a
   * symlink (with a /dev shared with other containers, a check by path and then a mount by
   * path could meet a different entry), creating the mount point if needed. */
  console = open ("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (console < 0 && errno == ENOENT)
    {
      int fd = open ("/dev/console", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0 && errno != ENOENT)
        {
          capsa_make_error (err, errno, "create \"/dev/console\"");
          goto fail;
        }
      if (fd >= 0)
        close (fd);
      console = open ("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
  if (console >= 0)
    {
      int root, mnt;
      if (fstat (console, &st) < 0 || S_ISLNK (st.st_mode))
        {
          capsa_make_error (err, 0, "\"/dev/console\" is a symlink");
          close (console);
          goto fail;
        }
      root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      mnt = capsa_bind_mount_at (name, slave, root, "/dev/console", console, false, err);
      close (console);
      if (root >= 0)
        close (root);
      if (mnt < 0)
        goto fail;
      close (mnt);
    }
  if (slave > 2)
    close (slave);
  return master;

fail:
  if (slave > 2)
    close (slave);
  close (master);
  return -1;
}

int capsa_send_fd_msg (int sock, int fd, const char *payload, capsa_error_t *err)
{
  struct msghdr mh;
  struct iovec iov;
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct cmsghdr *cm;
  ssize_t n;

  memset (&mh, 0, sizeof (mh));
  memset (&u, 0, sizeof (u));
  iov.iov_base = (void *)payload;
  iov.iov_len = strlen (payload);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof (u.buf);
  cm = CMSG_FIRSTHDR (&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cm), &fd, sizeof (int));
  do
    n = sendmsg (sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return capsa_make_error (err, errno, "send fd %d", fd);
  if ((size_t)n != iov.iov_len)
    return capsa_make_error (err, EIO, "send fd %d: short write", fd);
  return 0;
}

int capsa_send_fd (int sock, int fd, capsa_error_t *err)
{
  char payload[64];
  unsigned int ptn;

  /* The payload names what is sent: the pty for a terminal master (receivers such as conmon
   * only look at the fd). */
  if (ioctl (fd, TIOCGPTN, &ptn) == 0)
    snprintf (payload, sizeof (payload), "/dev/pts/%u", ptn);
  else
    snprintf (payload, sizeof (payload), "fd");
  return capsa_send_fd_msg (sock, fd, payload, err);
}

int capsa_recv_fd (int sock, capsa_error_t *err)
{
  char payload[256];
  struct msghdr mh;
  struct iovec iov;
  union
  {
    char buf[CMSG_SPACE (sizeof (int) * 4)];
    struct cmsghdr align;
  } u;
  struct cmsghdr *cm;
  ssize_t n;
  int fd = -1;

  memset (&mh, 0, sizeof (mh));
  iov.iov_base = payload;
  iov.iov_len = sizeof (payload);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof (u.buf);
  do
    n = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return capsa_make_error (err, errno, "receive fd");
  for (cm = CMSG_FIRSTHDR (&mh); cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      {
        size_t k, nfds = (cm->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        for (k = 0; k < nfds; k++)
          {
            int f;
            memcpy (&f, CMSG_DATA (cm) + k * sizeof (int), sizeof (int));
            if (fd < 0)
              fd = f;
            else
              close (f); /* only one was expected */
          }
      }
  if (fd < 0)
    return capsa_make_error (err, 0, "receive fd: %s",
                             n == 0 ? "the peer closed the socket" : "no fd in the message");
  if (mh.msg_flags & MSG_CTRUNC)
    capsa_warn ("receive fd: control data truncated");
  return fd;
}

int capsa_console_socket_open (const char *path, capsa_error_t *err)
{
  struct sockaddr_un addr;
  int sock, dirfd = -1, r;

  memset (&addr, 0, sizeof (addr));
  addr.sun_family = AF_UNIX;
  if (strlen (path) < sizeof (addr.sun_path))
    strcpy (addr.sun_path, path);
  else
    {
      /* Too long for sun_path: go through an O_PATH fd of its directory. */
      char *d = strdup (path), *b = strdup (path);
      if (d == NULL || b == NULL)
        abort ();
      dirfd = open (dirname (d), O_PATH | O_DIRECTORY | O_CLOEXEC);
      r = dirfd < 0 ? -1
                    : snprintf (addr.sun_path, sizeof (addr.sun_path), "/proc/self/fd/%d/%s", dirfd,
                                basename (b));
      free (d);
      free (b);
      if (dirfd < 0 || r >= (int)sizeof (addr.sun_path))
        {
          int e = dirfd < 0 ? errno : ENAMETOOLONG;
          if (dirfd >= 0)
            close (dirfd);
          return capsa_make_error (err, e, "console socket \"%s\"", path);
        }
    }
  sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    {
      r = capsa_make_error (err, errno, "console socket \"%s\": socket", path);
      goto out;
    }
  if (connect (sock, (struct sockaddr *)&addr, sizeof (addr)) < 0)
    {
      r = capsa_make_error (err, errno, "connect to console socket \"%s\"", path);
      close (sock);
      goto out;
    }
  r = sock;
out:
  if (dirfd >= 0)
    close (dirfd);
  return r;
}

/* ---- foreground proxy ------------------------------------------------------------------- */

static void copy_winsize (int master)
{
  struct winsize ws;
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

static int write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= (size_t)n;
    }
  return 0;
}

int capsa_terminal_proxy (int master, capsa_error_t *err)
{
  struct termios saved, raw;
  bool restore = false, stdin_open = true, stdin_tty = isatty (STDIN_FILENO);
  char inbuf[4096], outbuf[16384];
  size_t inlen = 0, inoff = 0;
  sigset_t winch, oldmask;
  int sfd, ret = 0, mflags;

  if (stdin_tty && tcgetattr (STDIN_FILENO, &saved) == 0)
    {
      raw = saved;
      cfmakeraw (&raw); /* output too: the container's pty already did the processing */
      if (tcsetattr (STDIN_FILENO, TCSANOW, &raw) == 0)
        restore = true;
    }
  sigemptyset (&winch);
  sigaddset (&winch, SIGWINCH);
  sigprocmask (SIG_BLOCK, &winch, &oldmask);
  sfd = signalfd (-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
  copy_winsize (master);
  /* The master is non-blocking so a container that does not read its input cannot block the
   * output direction (pending input is kept and retried on POLLOUT). */
  mflags = fcntl (master, F_GETFL);
  fcntl (master, F_SETFL, mflags | O_NONBLOCK);

  for (;;)
    {
      struct pollfd pfd[3];
      int n = 0, r, im = -1, ii = -1, is = -1;

      pfd[n].fd = master;
      pfd[n].events = POLLIN | (inlen > inoff ? POLLOUT : 0);
      im = n++;
      if (stdin_open && inlen == inoff)
        {
          pfd[n].fd = STDIN_FILENO;
          pfd[n].events = POLLIN;
          ii = n++;
        }
      if (sfd >= 0)
        {
          pfd[n].fd = sfd;
          pfd[n].events = POLLIN;
          is = n++;
        }
      r = poll (pfd, n, -1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          ret = capsa_make_error (err, errno, "terminal: poll");
          break;
        }
      if (is >= 0 && pfd[is].revents)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof (si)) > 0)
            ;
          copy_winsize (master);
        }
      if (pfd[im].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t k = read (master, outbuf, sizeof (outbuf));
          if (k > 0)
            {
              if (write_all (STDOUT_FILENO, outbuf, (size_t)k) < 0 && errno != EPIPE)
                {
                  ret = capsa_make_error (err, errno, "terminal: write to stdout");
                  break;
                }
            }
          else if (k == 0 || (errno != EAGAIN && errno != EINTR))
            break; /* EIO: every slave fd is closed, the container is gone */
        }
      if ((pfd[im].revents & POLLOUT) && inlen > inoff)
        {
          ssize_t k = write (master, inbuf + inoff, inlen - inoff);
          if (k > 0)
            inoff += (size_t)k;
          else if (k < 0 && errno != EAGAIN && errno != EINTR)
            inlen = inoff = 0; /* the container side is gone; output decides the end */
          if (inoff >= inlen)
            inlen = inoff = 0;
        }
      if (ii >= 0 && pfd[ii].revents)
        {
          ssize_t k = read (STDIN_FILENO, inbuf, sizeof (inbuf));
          if (k > 0)
            {
              inlen = (size_t)k;
              inoff = 0;
            }
          else if (k == 0 || (errno != EAGAIN && errno != EINTR))
            {
              struct termios t;
              stdin_open = false;
              /* Input from a pipe or file ended: pass the end on as the terminal's EOF
               * character when the container reads in canonical mode. */
              if (!stdin_tty && tcgetattr (master, &t) == 0 && (t.c_lflag & ICANON))
                {
                  inbuf[0] = (char)t.c_cc[VEOF];
                  inlen = 1;
                  inoff = 0;
                }
            }
        }
    }

  fcntl (master, F_SETFL, mflags);
  if (sfd >= 0)
    close (sfd);
  sigprocmask (SIG_SETMASK, &oldmask, NULL);
  if (restore)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved);
  return ret;
}
