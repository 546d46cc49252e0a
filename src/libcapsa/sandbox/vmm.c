/* capsa: VM isolation mode: the lifecycle hooks.  The container init builds the VMM's view of the
 * host, then forks the hypervisor and stays as its supervisor: it feeds the agent the process
 * settings, relays stdio, forwards signals and `kill` requests, and exits with the workload's
 * status as the agent reports it (QEMU's own exit status cannot carry it). */
#include <config.h>
#include "sandbox.h"
#include "vm.h"
#include "../../agent/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct capsa_vm_plan plan;
static int listen_fd = -1;

static int socket_addr (const char *dir, struct sockaddr_un *sa, capsa_error_t *err)
{
  memset (sa, 0, sizeof (*sa));
  sa->sun_family = AF_UNIX;
  if ((size_t)snprintf (sa->sun_path, sizeof (sa->sun_path), "%s/%s", dir, VM_CONTROL_SOCKET)
      >= sizeof (sa->sun_path))
    return capsa_make_error (err, ENAMETOOLONG, "VM control socket \"%s/%s\"", dir,
                             VM_CONTROL_SOCKET);
  return 0;
}

/* A connection to the VM's control socket in the state dir DIR. */
static int control_connect (const char *dir, capsa_error_t *err)
{
  struct sockaddr_un sa;
  int fd;

  if (socket_addr (dir, &sa, err) < 0)
    return -1;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof (sa)) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return capsa_make_error (err, e, "connect to the VM control socket \"%s\"", sa.sun_path);
    }
  return fd;
}

int capsa_sandbox_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  struct sockaddr_un sa;

  if (ctx->vm_pod)
    return capsa_vm_pod_prepare (ctx, err);
  if (capsa_vm_plan_build (ctx, &plan, err) < 0 || capsa_vm_seccomp_prepare (ctx->config, err) < 0
      || capsa_vm_confine_prepare (ctx, err) < 0
      || capsa_vm_net_prepare (ctx->config, &plan.net, err) < 0)
    return -1;
  plan.pod = capsa_vm_pod_role (ctx->config->annotations, ctx->config->annotations_len, NULL, NULL)
             == VM_POD_SANDBOX;
  if (socket_addr (ctx->state_dir, &sa, err) < 0)
    return -1;
  unlink (sa.sun_path);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0 || bind (listen_fd, (struct sockaddr *)&sa, sizeof (sa)) < 0
      || listen (listen_fd, 8) < 0)
    return capsa_make_error (err, errno, "VM control socket \"%s\"", sa.sun_path);
  chmod (sa.sun_path, 0600);
  capsa_vm_snapshot_choose (&plan);
  return capsa_vm_view_prepare (ctx, &plan, err);
}

static bool is_exec (int fd)
{
  struct stat st;
  return fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 0111) != 0;
}

/* The workload's executable is looked up in the rootfs on the host, with the same rules and
 * texts as a container's, so that a missing or non-executable program fails `create` exactly
 * as without VM mode (the agent checks again in the guest). */
static int check_executable (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_process *p = ctx->config->process;
  const char *file = p->args[0], *path = DEFAULT_PATH;
  capsa_error_t e = NULL;
  size_t i;
  int fd;

  for (i = 0; i < p->env_len && p->env[i]; i++)
    if (strncmp (p->env[i], "PATH=", 5) == 0)
      path = p->env[i] + 5;
  if (strchr (file, '/'))
    {
      char abs[4200];
      snprintf (abs, sizeof (abs), "%s%s%s", file[0] == '/' ? "" : p->cwd,
                file[0] == '/' || (p->cwd && p->cwd[strlen (p->cwd) - 1] == '/') ? "" : "/", file);
      fd = capsa_open_in_root (ctx->rootfs_fd, abs, false, false, &e);
      if (fd < 0)
        {
          int st = e ? e->status : ENOENT;
          char eb[128];
          capsa_error_release (&e);
          snprintf (eb, sizeof (eb), "%s", strerror (st));
          if (eb[0] >= 'A' && eb[0] <= 'Z')
            eb[0] = (char)(eb[0] - 'A' + 'a');
          return capsa_make_error (err, 0, "exec: \"%s\": stat %s: %s", file, file, eb);
        }
      if (!is_exec (fd))
        {
          close (fd);
          return capsa_make_error (err, 0, "exec: \"%s\": permission denied", file);
        }
      close (fd);
      return 0;
    }
  while (file[0])
    {
      size_t n = strcspn (path, ":");
      char cand[4200];
      snprintf (cand, sizeof (cand), "%.*s/%s", (int)(n ? n : 1), n ? path : ".", file);
      if (cand[0] == '/' && (fd = capsa_open_in_root (ctx->rootfs_fd, cand, false, false, &e)) >= 0)
        {
          bool ok = is_exec (fd);
          close (fd);
          if (ok)
            return 0;
        }
      capsa_error_release (&e);
      e = NULL;
      if (path[n] == '\0')
        break;
      path += n + 1;
    }
  return capsa_make_error (err, 0, "exec: \"%s\": executable file not found in $PATH", file);
}

/* Without a pid namespace of the container's own, the VMM view has no /proc (a new one would
 * show the host's processes to the VMM), yet the init of `create` still has to reopen its exec
 * fifo there: it keeps the procfs it was cloned with, opened before the view hides it. */
static int init_proc_fd = -1;

int capsa_sandbox_reopen (int fd, int flags)
{
  char p[32];

  if (init_proc_fd < 0)
    return open (capsa_fd_path (fd, p), flags);
  snprintf (p, sizeof (p), "self/fd/%d", fd);
  return openat (init_proc_fd, p, flags);
}

/* The rootfs stays reachable through ctx->rootfs_fd after the pivot. */
int capsa_sandbox_finalize (struct capsa_ctx *ctx, capsa_error_t *err)
{
  /* Before `created`, where a container's program is looked up too, with the same text. */
  if (check_executable (ctx, err) < 0)
    return -1;
  /* A pod member has no VMM of its own: its init stays in the host's view until start. */
  if (ctx->vm_pod)
    return 0;
  if (!ctx->new_pidns && ctx->exec_fifo_fd >= 0)
    {
      init_proc_fd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (init_proc_fd < 0)
        return capsa_make_error (err, errno, "open /proc");
    }
  return capsa_vm_view_enter (err);
}

static int start_vmm (struct capsa_ctx *ctx, capsa_error_t *err);

/* In the hypervisor's process: the taps (net.c) go to VM_FD_NIC + i, in two steps: copies above
 * every final number first (`high`, before the other descriptors are placed, since a tap may have
 * one of their numbers), then to their places (after them).  Returns the first number past them. */
static int nic_fds (int *high, bool place)
{
  size_t i, n = plan.net.n;

  for (i = 0; i < n; i++)
    if (place
          ? dup2 (high[i], VM_FD_NIC + (int)i) < 0
          : (high[i] = fcntl (plan.net.nics[i].tap_fd, F_DUPFD_CLOEXEC, VM_FD_NIC + (int)n)) < 0)
      _exit (127);
  return VM_FD_NIC + (int)n;
}

int capsa_sandbox_exec (struct capsa_ctx *ctx, capsa_error_t *err)
{
  int code;

  if (ctx->vm_pod)
    return capsa_vm_pod_exec (ctx, err);
  /* Once more, booting, when the VM could not start from its snapshot. */
  while ((code = start_vmm (ctx, err)) == VM_SUPERVISE_BOOT)
    ;
  if (code < 0)
    return -1;
  _exit (code);
}

/* Fork the hypervisor and supervise it; returns the container's exit status, or
 * VM_SUPERVISE_BOOT, or -1 with `err` set. */
static int start_vmm (struct capsa_ctx *ctx, capsa_error_t *err)
{
  int pairs[VM_FD_COUNT][2], qmp[2] = { -1, -1 }, extra = -1;
  char **argv = capsa_vm_qemu_argv (&plan);
  pid_t pid;
  int i, code, nic_end, nic_high[VM_NET_MAX_NICS];

  if (capsa_vm_net_connect (&plan.net, err) < 0)
    return -1;
  for (i = 0; i < VM_FD_COUNT; i++)
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i]) < 0)
      return capsa_make_error (err, errno, "socketpair");
  if (plan.snap.mode == VM_SNAP_SAVE)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
        return capsa_make_error (err, errno, "socketpair");
      plan.snap.qmp = qmp[0];
      extra = qmp[1];
    }
  else if (plan.snap.mode == VM_SNAP_RESTORE)
    extra = plan.snap.fd;
  /* SIGCHLD stays blocked from here so the supervisor's signalfd sees the VMM's exit. */
  {
    sigset_t m;
    sigemptyset (&m);
    sigaddset (&m, SIGCHLD);
    sigprocmask (SIG_BLOCK, &m, NULL);
  }
  pid = fork ();
  if (pid < 0)
    return capsa_make_error (err, errno, "fork the hypervisor");
  if (pid == 0)
    {
      static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
      sigset_t none;
      int nul = open ("/dev/null", O_RDWR | O_CLOEXEC);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      /* The extra descriptor first: it may have a number in VM_FD_CTL.. itself. */
      if (extra >= 0 && (extra = fcntl (extra, F_DUPFD_CLOEXEC, VM_FD_NIC + (int)plan.net.n)) < 0)
        _exit (127);
      nic_fds (nic_high, false);
      for (i = 0; i < VM_FD_COUNT; i++)
        if (dup2 (pairs[i][1], VM_FD_CTL + i) < 0)
          _exit (127);
      if (extra >= 0 && dup2 (extra, VM_FD_EXTRA) < 0)
        _exit (127);
      nic_end = nic_fds (nic_high, true);
      if (nul >= 0)
        dup2 (nul, 0);
      dup2 (2, 1);
      if (extra < 0)
        close (VM_FD_EXTRA);
      capsa_close_fds_from (nic_end, NULL, 0);
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      {
        const char *step = "";
        if (capsa_vm_confine (&step) < 0)
          {
            dprintf (2, "capsa: %s: %s\n", step, strerror (errno));
            _exit (127);
          }
      }
      execve (argv[0], argv, envp);
      dprintf (2, "capsa: execute the hypervisor \"%s\": %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  for (i = 0; i < VM_FD_COUNT; i++)
    close (pairs[i][1]);
  if (qmp[1] >= 0)
    close (qmp[1]);
  if (plan.snap.mode == VM_SNAP_RESTORE)
    {
      close (plan.snap.fd);
      plan.snap.fd = -1;
    }
  /* Where a container's init would have called execve: its close-on-exec descriptors (the sync
   * socket, the exec fifo) close now, which tells the runtime that the workload started. */
  {
    int keep[VM_FD_COUNT + 5 + VM_NET_MAX_NICS];
    size_t k;
    for (i = 0; i < VM_FD_COUNT; i++)
      keep[i] = pairs[i][0];
    keep[VM_FD_COUNT] = listen_fd;
    keep[VM_FD_COUNT + 1] = plan.snap.fd;
    keep[VM_FD_COUNT + 2] = plan.snap.dirfd;
    keep[VM_FD_COUNT + 3] = plan.snap.qmp;
    /* The network: the taps for a VM booted again (VM_SUPERVISE_BOOT), netlink to undo it. */
    keep[VM_FD_COUNT + 4] = plan.net.nl_fd;
    for (k = 0; k < plan.net.n; k++)
      keep[VM_FD_COUNT + 5 + k] = plan.net.nics[k].tap_fd;
    capsa_close_fds_from (3, keep, VM_FD_COUNT + 5 + (int)plan.net.n);
  }
  /* A VM that saves its boot gets its settings after that (nothing of the container may be in
     the snapshot); the others get them now, to read as soon as their agent runs. */
  if (plan.snap.mode != VM_SNAP_SAVE && capsa_vm_send_spec (pairs[0][0], ctx->config) < 0)
    dprintf (2, "capsa: send the process settings to the VM: %s\n", strerror (errno));
  code = capsa_vm_supervise (pid, listen_fd, pairs[0][0], pairs[1][0], pairs[2][0], pairs[3][0],
                             pairs[4][0], ctx->config, &plan.snap);
  if (code != VM_SUPERVISE_BOOT)
    capsa_vm_net_teardown (&plan.net);
  for (i = 0; argv[i]; i++)
    free (argv[i]);
  free (argv);
  return code;
}

int capsa_sandbox_kill (const char *dir, const struct capsa_state_file *st, int sig,
                        capsa_error_t *err)
{
  char buf[16], tag = 0, *d = NULL;
  size_t len;
  int fd;

  /* A pod member's init stands for its guest process and relays the signal to it. */
  if (capsa_vm_pod_member (st))
    {
      if (capsa_process_start_time (st->pid) != st->start_time)
        return capsa_make_error (err, 0, "container not running");
      if (kill (st->pid, sig) < 0)
        return capsa_make_error (err, errno, "send signal %d", sig);
      return 0;
    }
  fd = control_connect (dir, err);
  if (fd < 0)
    return -1;
  snprintf (buf, sizeof (buf), "%d", sig);
  if (capsa_vm_send_rec (fd, REC_KILL, buf, strlen (buf)) < 0
      || capsa_vm_recv_rec (fd, &tag, &d, &len) < 0 || tag != 'k')
    {
      free (d);
      close (fd);
      return capsa_make_error (err, 0, "the VM did not accept signal %d (is the guest running?)",
                               sig);
    }
  free (d);
  close (fd);
  return 0;
}

/* The signals an exec relays to its process (SIGWINCH: the terminal's size instead). */
static const int relayed[]
  = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH };

/* Block the relayed signals (and SIGCHLD when `child`) and return a signalfd for them; the
 * previous mask goes to `old`. */
static int relay_signalfd (bool child, sigset_t *old)
{
  sigset_t mask;
  size_t i;

  sigemptyset (&mask);
  for (i = 0; i < sizeof (relayed) / sizeof (relayed[0]); i++)
    sigaddset (&mask, relayed[i]);
  if (child)
    sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, old);
  return signalfd (-1, &mask, SFD_CLOEXEC);
}

/* The exec's side of its connection once the process runs: forwards our signals (and, on
 * SIGWINCH, the size of the terminal `winch_fd` when it is >= 0) and returns the status in
 * REC_EXIT. */
int capsa_vm_exec_wait (int fd, int winch_fd, capsa_error_t *err)
{
  sigset_t old;
  int sfd, status = -1;

  sfd = relay_signalfd (false, &old);
  if (winch_fd >= 0)
    {
      /* A resize before SIGWINCH could reach us (the process may already be running): send
         the size once now; an unchanged size changes nothing in the guest. */
      struct winsize ws = { 0 };
      char buf[32];
      if (ioctl (winch_fd, TIOCGWINSZ, &ws) == 0)
        {
          snprintf (buf, sizeof (buf), "%u %u", ws.ws_row, ws.ws_col);
          capsa_vm_send_rec (fd, REC_TERMINAL, buf, strlen (buf));
        }
    }
  for (;;)
    {
      struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
      char tag = 0, *d = NULL, buf[32];
      size_t len;
      if (poll (pfd, sfd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (sfd >= 0 && pfd[1].revents)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof (si)) == sizeof (si))
            {
              struct winsize ws = { 0 };
              if (si.ssi_signo != SIGWINCH)
                {
                  snprintf (buf, sizeof (buf), "%u", si.ssi_signo);
                  capsa_vm_send_rec (fd, REC_KILL, buf, strlen (buf));
                }
              else if (winch_fd >= 0 && ioctl (winch_fd, TIOCGWINSZ, &ws) == 0)
                {
                  snprintf (buf, sizeof (buf), "%u %u", ws.ws_row, ws.ws_col);
                  capsa_vm_send_rec (fd, REC_TERMINAL, buf, strlen (buf));
                }
              break;
            }
        }
      if (!pfd[0].revents)
        continue;
      if (capsa_vm_recv_rec (fd, &tag, &d, &len) < 0)
        break;
      if (tag == REC_EXIT)
        status = atoi (d);
      free (d);
      if (tag == REC_EXIT)
        break;
    }
  if (sfd >= 0)
    close (sfd);
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (status < 0)
    return capsa_make_error (err, 0, "the VM stopped before the process exited");
  return status;
}

/* A foreground exec's wait for its proxy (exec -t --console-socket): our signals go to the
 * proxy, which relays them to the process; returns the process's status, which the proxy exits
 * with. */
static int wait_proxy (pid_t proxy)
{
  sigset_t old;
  int sfd, st = 0;

  sfd = relay_signalfd (true, &old);
  for (;;)
    {
      struct signalfd_siginfo si;
      pid_t w = waitpid (proxy, &st, WNOHANG);
      if (w == proxy || (w < 0 && errno != EINTR))
        break;
      if (sfd < 0 || read (sfd, &si, sizeof (si)) != sizeof (si))
        continue;
      /* (the console's resizes reach the proxy itself) */
      if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
        kill (proxy, (int)si.ssi_signo);
    }
  if (sfd >= 0)
    close (sfd);
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return WIFEXITED (st) ? WEXITSTATUS (st) : 255;
}

/* A pty of the host for `exec -t --console-socket`: its master goes to the socket, its slave,
 * raw (the guest's pty alone cooks and echoes), becomes the process's stdio on the host side. */
static int host_pty (const char *console_socket, const struct oci_process *p, capsa_error_t *err)
{
  struct termios t;
  int master, slave = -1, sock;

  sock = capsa_console_socket_open (console_socket, err);
  if (sock < 0)
    return -1;
  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0
      || (slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
    {
      capsa_make_error (err, errno, "open a pty for the console");
      goto out;
    }
  if (tcgetattr (slave, &t) == 0)
    {
      cfmakeraw (&t);
      tcsetattr (slave, TCSANOW, &t);
    }
  if (p->console_size)
    {
      struct winsize ws = { .ws_row = (unsigned short)p->console_size->height,
                            .ws_col = (unsigned short)p->console_size->width };
      ioctl (master, TIOCSWINSZ, &ws);
    }
  if (capsa_send_fd (sock, master, err) < 0)
    {
      close (slave);
      slave = -1;
    }
out:
  if (master >= 0)
    close (master);
  close (sock);
  return slave;
}

int capsa_vm_request_open (const char *dir, const int stdio[3], capsa_error_t *err)
{
  char first = REC_EXEC, ccmsg[CMSG_SPACE (3 * sizeof (int))];
  struct iovec iov = { .iov_base = &first, .iov_len = 1 };
  struct msghdr mh
    = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ccmsg, .msg_controllen = sizeof (ccmsg) };
  struct cmsghdr *cm;
  int fd;

  fd = control_connect (dir, err);
  if (fd < 0)
    return -1;
  memset (ccmsg, 0, sizeof (ccmsg));
  cm = CMSG_FIRSTHDR (&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (3 * sizeof (int));
  memcpy (CMSG_DATA (cm), stdio, 3 * sizeof (int));
  if (sendmsg (fd, &mh, MSG_NOSIGNAL) != 1)
    {
      int e = errno;
      close (fd);
      return capsa_make_error (err, e, "send the process to the VM");
    }
  return fd;
}

int capsa_sandbox_exec_process (const char *dir, const struct oci_process *p,
                                const char *console_socket, bool detach, const char *pid_file,
                                capsa_error_t *err)
{
  char tag = 0, *d = NULL, buf[32], *pod_dir = NULL, *member = NULL;
  struct termios saved;
  struct winsize ws = { 0 };
  bool restore = false;
  int stdio[3] = { 0, 1, 2 }, slave = -1, fd = -1, ret = -1;
  size_t len;
  pid_t proxy, parent;

  if (p->args_len == 0 || p->args[0] == NULL)
    return capsa_make_error (err, 0, ".process.args: must not be empty");
  if (p->terminal && detach && console_socket == NULL)
    return capsa_make_error (
      err, 0, "cannot allocate tty if capsa will detach without setting console socket");
  if (!p->terminal && console_socket)
    return capsa_make_error (err, 0,
                             "cannot use console socket if capsa will not detach or allocate tty");
  /* A pod member's processes run in its sandbox's VM, in the member's namespaces. */
  if (capsa_vm_pod_exec_target (dir, &pod_dir, &member, err) < 0)
    goto out;
  if (pod_dir)
    dir = pod_dir;
  if (p->terminal && console_socket)
    {
      if ((slave = host_pty (console_socket, p, err)) < 0)
        goto out;
      stdio[0] = stdio[1] = stdio[2] = slave;
      ioctl (slave, TIOCGWINSZ, &ws);
    }
  else if (p->terminal && isatty (0))
    {
      /* Our own terminal, raw while the process runs. */
      struct termios t;
      ioctl (0, TIOCGWINSZ, &ws);
      if (tcgetattr (0, &saved) == 0)
        {
          t = saved;
          cfmakeraw (&t);
          restore = tcsetattr (0, TCSANOW, &t) == 0;
        }
    }
  else if (p->terminal && p->console_size)
    {
      ws.ws_row = (unsigned short)p->console_size->height;
      ws.ws_col = (unsigned short)p->console_size->width;
    }
  fd = capsa_vm_request_open (dir, stdio, err);
  if (fd < 0)
    goto out;
  snprintf (buf, sizeof (buf), "%u %u", ws.ws_row, ws.ws_col);
  if ((member && capsa_vm_send_rec (fd, REC_JOIN, member, strlen (member)) < 0)
      || capsa_vm_send_process (fd, p) < 0 || (member && capsa_vm_send_seccomp (fd) < 0)
      || (p->terminal && capsa_vm_send_rec (fd, REC_TERMINAL, buf, strlen (buf)) < 0)
      || capsa_vm_send_rec (fd, REC_END, "", 0) < 0)
    {
      capsa_make_error (err, errno, "send the process to the VM");
      goto out;
    }
  /* The supervisor holds the slave now; the exec's proxy keeps it too, as its controlling
     terminal, to learn of resizes of the console (SIGWINCH). */
  /* REC_STARTED once it runs, or REC_EXIT when it could not be executed. */
  if (capsa_vm_recv_rec (fd, &tag, &d, &len) < 0 || (tag != REC_STARTED && tag != REC_EXIT))
    {
      capsa_make_error (err, 0, "the VM stopped before the process started");
      goto out;
    }
  if (tag == REC_EXIT)
    {
      ret = atoi (d);
      goto out;
    }
  if (!detach)
    {
      /* The pid file names this process: it relays signals and exits with the process. */
      snprintf (buf, sizeof (buf), "%d", (int)getpid ());
      if (pid_file && capsa_write_file_atomic (pid_file, buf, strlen (buf), err) < 0)
        {
          capsa_vm_send_rec (fd, REC_KILL, "9", 1);
          capsa_error_prefix (err, "pid file");
          goto out;
        }
      if (slave < 0)
        {
          ret = capsa_vm_exec_wait (fd, restore ? 0 : -1, err);
          goto out;
        }
    }
  /* A host process stands for the guest process: it exits with the process's status, relays
   * the signals it gets to it, and its death (SIGKILL) kills it.  Detached, it is what the pid
   * file names (e.g. for containerd's shim, which reaps it as a subreaper).  With a console
   * socket it is also a session leader whose controlling terminal is the console's slave: a
   * resize of the console reaches it as SIGWINCH (a foreground exec stays in its caller's
   * session and waits for it). */
  parent = getpid ();
  proxy = fork ();
  if (proxy < 0)
    {
      capsa_make_error (err, errno, "fork the exec's proxy");
      goto out;
    }
  if (proxy == 0)
    {
      int nul = open ("/dev/null", O_RDWR | O_CLOEXEC), st;
      capsa_error_t e = NULL;
      /* A foreground exec's proxy dies with it (a killed capsa exec then kills the process, as
       * its closed connection did before it had a proxy). */
      if (!detach && (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent))
        _exit (255);
      setsid ();
      if (nul >= 0)
        {
          dup2 (nul, 0);
          dup2 (nul, 1);
          dup2 (nul, 2);
        }
      if (slave >= 0 && ioctl (slave, TIOCSCTTY, 0) < 0)
        {
          close (slave);
          slave = -1;
        }
      {
        int keep[2] = { fd, slave };
        capsa_close_fds_from (3, keep, slave >= 0 ? 2 : 1);
      }
      st = capsa_vm_exec_wait (fd, slave, &e);
      _exit (st < 0 ? 255 : st);
    }
  if (!detach)
    {
      close (fd);
      fd = -1;
      ret = wait_proxy (proxy);
      goto out;
    }
  snprintf (buf, sizeof (buf), "%d", (int)proxy);
  if (pid_file && capsa_write_file_atomic (pid_file, buf, strlen (buf), err) < 0)
    {
      kill (proxy, SIGKILL);
      capsa_error_prefix (err, "pid file");
      goto out;
    }
  ret = 0;
out:
  free (d);
  free (pod_dir);
  free (member);
  if (restore)
    tcsetattr (0, TCSANOW, &saved);
  if (slave >= 0)
    close (slave);
  if (fd >= 0)
    close (fd);
  return ret;
}
