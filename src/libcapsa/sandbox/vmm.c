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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

int capsa_sandbox_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  struct sockaddr_un sa;

  if (capsa_vm_plan_build (ctx, &plan, err) < 0)
    return -1;
  if (socket_addr (ctx->state_dir, &sa, err) < 0)
    return -1;
  unlink (sa.sun_path);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0 || bind (listen_fd, (struct sockaddr *)&sa, sizeof (sa)) < 0
      || listen (listen_fd, 8) < 0)
    return capsa_make_error (err, errno, "VM control socket \"%s\"", sa.sun_path);
  chmod (sa.sun_path, 0600);
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

/* The rootfs stays reachable through ctx->rootfs_fd after the pivot. */
int capsa_sandbox_finalize (struct capsa_ctx *ctx, capsa_error_t *err)
{
  /* Before `created`, where a container's program is looked up too, with the same text. */
  if (check_executable (ctx, err) < 0)
    return -1;
  return capsa_vm_view_enter (err);
}

int capsa_sandbox_exec (struct capsa_ctx *ctx, capsa_error_t *err)
{
  int pairs[VM_FD_COUNT][2];
  char **argv = capsa_vm_qemu_argv (&plan);
  pid_t pid;
  int i, code;

  for (i = 0; i < VM_FD_COUNT; i++)
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i]) < 0)
      return capsa_make_error (err, errno, "socketpair");
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
      for (i = 0; i < VM_FD_COUNT; i++)
        if (dup2 (pairs[i][1], VM_FD_CTL + i) < 0)
          _exit (127);
      if (nul >= 0)
        dup2 (nul, 0);
      dup2 (2, 1);
      capsa_close_fds_from (VM_FD_CTL + VM_FD_COUNT, NULL, 0);
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      execve (argv[0], argv, envp);
      dprintf (2, "capsa: execute the hypervisor \"%s\": %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  for (i = 0; i < VM_FD_COUNT; i++)
    close (pairs[i][1]);
  /* Where a container's init would have called execve: its close-on-exec descriptors (the sync
   * socket, the exec fifo) close now, which tells the runtime that the workload started. */
  {
    int keep[VM_FD_COUNT + 1];
    for (i = 0; i < VM_FD_COUNT; i++)
      keep[i] = pairs[i][0];
    keep[VM_FD_COUNT] = listen_fd;
    capsa_close_fds_from (3, keep, VM_FD_COUNT + 1);
  }
  if (capsa_vm_send_spec (pairs[0][0], ctx->config) < 0)
    dprintf (2, "capsa: send the process settings to the VM: %s\n", strerror (errno));
  code = capsa_vm_supervise (pid, listen_fd, pairs[0][0], pairs[1][0], pairs[2][0], pairs[3][0],
                             pairs[4][0]);
  _exit (code);
}

int capsa_sandbox_kill (const char *dir, const struct capsa_state_file *st, int sig,
                        capsa_error_t *err)
{
  struct sockaddr_un sa;
  char buf[16], tag = 0, *d = NULL;
  size_t len;
  int fd;

  (void)st;
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

int capsa_sandbox_exec_process (const char *dir, const struct oci_process *p, const int stdio[3],
                                int *exit_status, capsa_error_t *err)
{
  struct sockaddr_un sa;
  char first = REC_EXEC, ccmsg[CMSG_SPACE (3 * sizeof (int))], tag = 0, *d = NULL;
  struct iovec iov = { .iov_base = &first, .iov_len = 1 };
  struct msghdr mh
    = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ccmsg, .msg_controllen = sizeof (ccmsg) };
  struct cmsghdr *cm;
  size_t len;
  int fd;

  if (p->args_len == 0 || p->args[0] == NULL)
    return capsa_make_error (err, 0, ".process.args: must not be empty");
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
  memset (ccmsg, 0, sizeof (ccmsg));
  cm = CMSG_FIRSTHDR (&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (3 * sizeof (int));
  memcpy (CMSG_DATA (cm), stdio, 3 * sizeof (int));
  if (sendmsg (fd, &mh, MSG_NOSIGNAL) != 1 || capsa_vm_send_process (fd, p) < 0
      || capsa_vm_send_rec (fd, REC_END, "", 0) < 0)
    {
      int e = errno;
      close (fd);
      return capsa_make_error (err, e, "send the process to the VM");
    }
  /* No timeout: the process runs as long as it runs. */
  for (;;)
    {
      unsigned char hdr[5];
      ssize_t n = recv (fd, hdr, 5, MSG_WAITALL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n != 5)
        break;
      len = hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | ((size_t)hdr[4] << 24);
      d = calloc (1, len + 1);
      if (d == NULL || (len && recv (fd, d, len, MSG_WAITALL) != (ssize_t)len))
        break;
      tag = (char)hdr[0];
      break;
    }
  close (fd);
  if (tag != REC_EXIT)
    {
      free (d);
      return capsa_make_error (err, 0, "the VM stopped before the process exited");
    }
  *exit_status = atoi (d);
  free (d);
  return 0;
}
