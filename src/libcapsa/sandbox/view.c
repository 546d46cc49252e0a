/* capsa: VM isolation mode: the VMM process's mount view of the host: a tmpfs root holding
 * read-only binds of /usr (QEMU, its libraries and firmware), the guest kernel and initramfs,
 * the needed device nodes, and the container rootfs read-write for virtio-9p. */
#include <config.h>
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The new root is built on a tmpfs mounted here (in the init's private mount namespace). */
#define VIEW_DIR "/tmp"

static char view_root[64];

/* Binds the host path `src` (reached through the O_PATH fd `srcfd`, opened before the view's
 * tmpfs could hide it) on `dst`, read-only unless `rw`. */
static int bind_ro (const char *src, int srcfd, const char *dst, bool rw, capsa_error_t *err)
{
  char fdpath[64];
  snprintf (fdpath, sizeof (fdpath), "/proc/self/fd/%d", srcfd);
  if (mount (fdpath, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
    return capsa_make_error (err, errno, "VMM view: bind \"%s\" on \"%s\"", src, dst);
  if (mount (NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (rw ? 0 : MS_RDONLY),
             NULL)
      < 0)
    return capsa_make_error (err, errno, "VMM view: remount \"%s\" read-only", dst);
  return 0;
}

static int touch (const char *p, capsa_error_t *err)
{
  int fd = open (p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return capsa_make_error (err, errno, "VMM view: create \"%s\"", p);
  close (fd);
  return 0;
}

enum
{
  SRC_USR,
  SRC_KERNEL,
  SRC_INITRD,
  SRC_ROOTFS,
  SRC_DEV0,
  SRC_KVM = SRC_DEV0 + 4,
  SRC_COUNT
};

static int build (struct capsa_ctx *ctx, const struct capsa_vm_plan *plan, const char **srcs,
                  const int *fds, capsa_error_t *err)
{
  char p[4200];
  size_t i;

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return capsa_make_error (err, errno, "make / private");
  snprintf (view_root, sizeof (view_root), "%s", VIEW_DIR);
  if (mount ("capsa-vmm", view_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
    return capsa_make_error (err, errno, "VMM view: mount tmpfs on \"%s\"", view_root);
  for (i = 0; i < 6; i++)
    {
      static const char *const dirs[] = { "usr", "dev", "capsa", "rootfs", "tmp", "proc" };
      snprintf (p, sizeof (p), "%s/%s", view_root, dirs[i]);
      if (mkdir (p, 0755) < 0)
        return capsa_make_error (err, errno, "VMM view: mkdir \"%s\"", p);
    }
  /* Debian's merged /usr: the loader and libraries are reached through these links. */
  for (i = 0; i < 4; i++)
    {
      static const char *const links[] = { "bin", "lib", "lib64", "sbin" };
      char target[32];
      snprintf (p, sizeof (p), "%s/%s", view_root, links[i]);
      snprintf (target, sizeof (target), "usr/%s", links[i]);
      if (symlink (target, p) < 0)
        return capsa_make_error (err, errno, "VMM view: symlink \"%s\"", p);
    }
  snprintf (p, sizeof (p), "%s/usr", view_root);
  if (bind_ro (srcs[SRC_USR], fds[SRC_USR], p, false, err) < 0)
    return -1;
  snprintf (p, sizeof (p), "%s%s", view_root, VM_VIEW_KERNEL);
  if (touch (p, err) < 0 || bind_ro (srcs[SRC_KERNEL], fds[SRC_KERNEL], p, false, err) < 0)
    return -1;
  snprintf (p, sizeof (p), "%s%s", view_root, VM_VIEW_INITRD);
  if (touch (p, err) < 0 || bind_ro (srcs[SRC_INITRD], fds[SRC_INITRD], p, false, err) < 0)
    return -1;
  for (i = SRC_DEV0; i < SRC_COUNT; i++)
    {
      if (fds[i] < 0)
        continue;
      snprintf (p, sizeof (p), "%s%s", view_root, srcs[i]);
      if (touch (p, err) < 0 || bind_ro (srcs[i], fds[i], p, true, err) < 0)
        return -1;
    }
  /* A console (process.terminal) is a pty of a devpts of the VMM's own. */
  if (ctx->config->process->terminal)
    {
      snprintf (p, sizeof (p), "%s/dev/pts", view_root);
      if (mkdir (p, 0755) < 0
          || mount ("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
                    "newinstance,ptmxmode=0666,mode=0620")
               < 0)
        return capsa_make_error (err, errno, "VMM view: mount devpts");
      snprintf (p, sizeof (p), "%s/dev/ptmx", view_root);
      if (symlink ("pts/ptmx", p) < 0)
        return capsa_make_error (err, errno, "VMM view: symlink \"%s\"", p);
      /* The console's mount point (the view's root is read-only by then). */
      snprintf (p, sizeof (p), "%s/dev/console", view_root);
      if (touch (p, err) < 0)
        return -1;
    }
  /* The container rootfs, exported read-write to the guest. */
  snprintf (p, sizeof (p), "%s%s", view_root, VM_VIEW_ROOTFS);
  if (bind_ro (srcs[SRC_ROOTFS], fds[SRC_ROOTFS], p, true, err) < 0)
    return -1;
  /* A pod sandbox: the pod share, where its members' rootfs will be mounted (pod.c); a tmpfs of
     its own, writable after the view's root becomes read-only. */
  if (plan->pod)
    {
      snprintf (p, sizeof (p), "%s%s", view_root, VM_VIEW_POD);
      if (mkdir (p, 0755) < 0
          || mount ("capsa-pod", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
        return capsa_make_error (err, errno, "VMM view: the pod share \"%s\"", p);
    }
  if (ctx->new_pidns)
    {
      snprintf (p, sizeof (p), "%s/proc", view_root);
      if (mount ("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return capsa_make_error (err, errno, "VMM view: mount proc");
    }
  return 0;
}

int capsa_vm_view_prepare (struct capsa_ctx *ctx, const struct capsa_vm_plan *plan,
                           capsa_error_t *err)
{
  /* Everything the view binds is opened first: the view's tmpfs may hide some of these. */
  const char *srcs[SRC_COUNT]
    = { "/usr",      plan->kernel,   plan->initrd,  ctx->rootfs, "/dev/null",
        "/dev/zero", "/dev/urandom", "/dev/random", "/dev/kvm" };
  int fds[SRC_COUNT], ret = -1;
  size_t i;

  if (!ctx->new_mountns)
    return capsa_make_error (err, 0,
                             "VM isolation mode needs a mount namespace (.linux.namespaces)");
  for (i = 0; i < SRC_COUNT; i++)
    fds[i] = -1;
  for (i = 0; i < SRC_COUNT; i++)
    if ((i != SRC_KVM || plan->kvm) && (fds[i] = open (srcs[i], O_PATH | O_CLOEXEC)) < 0)
      {
        capsa_make_error (err, errno, "VMM view: open \"%s\"", srcs[i]);
        goto out;
      }
  ret = build (ctx, plan, srcs, fds, err);
out:
  for (i = 0; i < SRC_COUNT; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return ret;
}

int capsa_vm_view_enter (capsa_error_t *err)
{
  int oldroot = open ("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0)
    return capsa_make_error (err, errno, "open /");
  if (chdir (view_root) < 0 || syscall (SYS_pivot_root, ".", ".") < 0)
    {
      close (oldroot);
      return capsa_make_error (err, errno, "VMM view: pivot_root");
    }
  if (umount2 (".", MNT_DETACH) < 0)
    {
      close (oldroot);
      return capsa_make_error (err, errno, "VMM view: detach the host's root");
    }
  close (oldroot);
  if (chdir ("/") < 0)
    return capsa_make_error (err, errno, "chdir /");
  /* Read-only root: QEMU writes nothing but the 9p share. */
  if (mount (NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    return capsa_make_error (err, errno, "VMM view: remount / read-only");
  return 0;
}
