/* cloned-binary.c: create, run and exec run from a read-only view of capsa's binary (or a sealed
 * memfd copy of it) (CVE-2019-5736), and drop the caller's environment block so container
 * processes cannot read it. */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/auxv.h>
#include <sys/xattr.h>
#include <linux/capability.h>
#include <unistd.h>
#if defined __has_include
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "container.h"
#include "error.h"

extern char **environ;

#define CAPSA_CLONE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A container process can make capsa run again inside the container (an entrypoint
 * `#!/proc/self/exe`, an ELF interpreter or a symlink pointing there), and then reopen that
 * process's /proc/<pid>/exe for writing once it exits.  Every capsa that execs container
 * programs therefore runs its binary through a path that cannot be written:
 *
 * - first choice, a read-only bind mount of the binary file alone that belongs to no mount
 *   namespace (open_tree OPEN_TREE_CLONE, then mount_setattr MOUNT_ATTR_RDONLY), executed
 *   through its fd.  /proc/<pid>/exe then names that mount, so a reopen for writing fails with
 *   EROFS; changing the flags of a mount in no namespace takes CAP_SYS_ADMIN over the host's
 *   mounts (host root, or a privileged container, which can reach the host's disks anyway).
 *   No byte is copied: the process maps the same page cache as the file, where a copy cost
 *   a third of the first stage's CPU time and its pages in every runtime process.
 * - else (kernels before 5.12, a caller not allowed to clone mounts, sanitizer builds), a
 *   sealed anonymous copy in a memfd: the reopen reaches only the copy, immutable by its seals.
 *
 * Each is recognised without a marker to forge: the seals (a regular file has none, and
 * nothing in a container can add seals to the host binary), or a read-only mount whose root is
 * the executable itself outside any path this process can see (/proc/self/exe then reads "/":
 * a mounted file, while "/" of a path in view is always a directory). */
static int is_cloned (int exe_fd)
{
  int seals = fcntl (exe_fd, F_GET_SEALS);
  return seals >= 0 && (seals & CAPSA_CLONE_SEALS) == CAPSA_CLONE_SEALS;
}

static bool is_detached_readonly (int exe_fd)
{
  struct statvfs sv;
  char link[2];

  if (fstatvfs (exe_fd, &sv) < 0 || (sv.f_flag & ST_RDONLY) == 0)
    return false;
  return readlink ("/proc/self/exe", link, sizeof (link)) == 1 && link[0] == '/';
}

/* Execute this binary again through a read-only bind mount of it in no namespace.  Returns only
 * on failure (-1, errno set), when the memfd copy is the way left. */
static int exec_readonly_view (int exe_fd, char **argv)
{
#if defined(__SANITIZE_ADDRESS__)
  /* Sanitizer builds run from the sealed copy, so that `make check-sanitizers` puts the
   * fallback (kernels before 5.12, callers that may not clone mounts) through the same attack
   * tests as the view gets in `make check`. */
  (void)exe_fd;
  (void)argv;
  return (errno = ENOTSUP, -1);
#else
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
  int mnt, saved;

  mnt = open_tree (exe_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (mnt < 0)
    return -1;
  if (mount_setattr (mnt, "", AT_EMPTY_PATH, &attr, sizeof (attr)) == 0)
    fexecve (mnt, argv, environ);
  saved = errno;
  close (mnt);
  errno = saved;
  return -1;
#endif
}

static int copy_all (int dst, int src, off_t size)
{
  off_t done = 0;
  char buf[65536];

  while (done < size)
    {
      ssize_t n = sendfile (dst, src, NULL, (size_t)(size - done));
      if (n < 0 && (errno == EINVAL || errno == ENOSYS) && done == 0)
        break; /* no sendfile between these files: plain copy below */
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -1 : (errno = EIO, -1);
      done += n;
    }
  while (done < size)
    {
      ssize_t n = read (src, buf, sizeof (buf)), w = 0;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -1 : (errno = EIO, -1);
      while (w < n)
        {
          ssize_t k = write (dst, buf + w, (size_t)(n - w));
          if (k < 0 && errno == EINTR)
            continue;
          if (k < 0)
            return -1;
          w += k;
        }
      done += n;
    }
  return 0;
}

/* How many leading bytes of the binary the kernel and the dynamic loader need to run it: up to
 * the end of the furthest segment the program headers describe (read from this process's own
 * mapped headers, which come from the same file).  Debug sections and the section header table
 * lie beyond it, usually three quarters of the file, and copying them into the memfd was the
 * largest single cost of the copy.  0 when the headers cannot be read: copy everything. */
static off_t image_size (off_t file_size)
{
#if defined(__SANITIZE_ADDRESS__)
  /* sanitizer builds: the reports' symbols come from the running file, so keep all of it */
  (void)file_size;
  return 0;
#else
  const ElfW (Phdr) *ph = (const ElfW (Phdr) *)getauxval (AT_PHDR);
  unsigned long n = getauxval (AT_PHNUM), i;
  off_t end = (off_t)sizeof (ElfW (Ehdr));

  if (ph == NULL || n == 0)
    return 0;
  for (i = 0; i < n; i++)
    if (ph[i].p_filesz > 0 && (off_t)(ph[i].p_offset + ph[i].p_filesz) > end)
      end = (off_t)(ph[i].p_offset + ph[i].p_filesz);
  return end <= file_size ? end : 0;
#endif
}

/* The copy keeps the ELF header but says it has no section headers, as a stripped file would:
 * they are not in the copy. */
static int drop_section_headers (int mfd)
{
  ElfW (Ehdr) eh;

  if (pread (mfd, &eh, sizeof (eh), 0) != (ssize_t)sizeof (eh))
    return -1;
  if (memcmp (eh.e_ident, ELFMAG, SELFMAG) != 0)
    return (errno = ENOEXEC, -1);
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = SHN_UNDEF;
  return pwrite (mfd, &eh, sizeof (eh), 0) == (ssize_t)sizeof (eh) ? 0 : -1;
}

/* Under valgrind the running executable, the one /proc/<pid>/exe names and the one a container
 * could reopen, is valgrind's tool (memcheck-amd64-linux...), never capsa's file: a copy of capsa
 * would protect nothing.  Nor could it be checked: valgrind execs a new program itself, by the
 * name of its file, and fails the memfd's execveat (AT_EMPTY_PATH) with ENOENT, as the name it
 * finds for the fd ("/memfd:capsa (deleted)") is no file; and with --trace-children=no whatever
 * capsa executed would run out of valgrind's sight.  The client request is a no-op instruction
 * sequence on a real CPU, so nothing but running capsa under valgrind makes it true. */
static bool under_valgrind (void)
{
#ifdef RUNNING_ON_VALGRIND
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

/* An unprivileged caller without capabilities (rootless) needs no copy when it cannot write the
 * binary itself: its containers hold no more host privileges than it does (their user namespace
 * maps at most its own and its subordinate ids, never host root).  Writable means here: not
 * owned by root, group- or world-writable, or with an ACL (which could grant more). */
static bool caller_cannot_write (int exe_fd, const struct stat *st)
{
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = { { 0 } };

  if (geteuid () == 0 || st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return false;
  if (syscall (SYS_capget, &h, d) < 0 || d[0].effective != 0 || d[1].effective != 0
      || d[0].permitted != 0 || d[1].permitted != 0)
    return false;
  return fgetxattr (exe_fd, "system.posix_acl_access", NULL, 0) < 0 && errno == ENODATA;
}

int capsa_ensure_cloned_binary (char **argv, capsa_error_t *err)
{
  struct stat st;
  off_t size;
  int exe, mfd;

  exe = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0)
    return capsa_make_error (err, errno, "open `/proc/self/exe` to copy the runtime binary");
  if (is_cloned (exe) || is_detached_readonly (exe))
    {
      close (exe);
      return 0;
    }
  if (fstat (exe, &st) < 0)
    {
      capsa_make_error (err, errno, "stat `/proc/self/exe`");
      goto fail_exe;
    }
  if (caller_cannot_write (exe, &st))
    {
      close (exe);
      return 0;
    }
  if (under_valgrind ())
    {
      capsa_debug ("running under valgrind: no sealed copy of the runtime binary (the process "
                   "executes valgrind's tool, not capsa's file)");
      close (exe);
      return 0;
    }
  if (exec_readonly_view (exe, argv) < 0)
    capsa_debug ("no read-only view of the runtime binary (%s): running from a sealed copy",
                 strerror (errno));
  mfd = memfd_create ("capsa", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    {
      capsa_make_error (err, errno, "memfd_create for the runtime binary copy");
      goto fail_exe;
    }
  size = image_size (st.st_size);
  if (copy_all (mfd, exe, size > 0 ? size : st.st_size) < 0
      || (size > 0 && size < st.st_size && drop_section_headers (mfd) < 0))
    {
      capsa_make_error (err, errno, "copy `/proc/self/exe` into a memfd");
      goto fail_mfd;
    }
  close (exe);
  exe = -1;
  if (fcntl (mfd, F_ADD_SEALS, CAPSA_CLONE_SEALS) < 0)
    {
      capsa_make_error (err, errno, "seal the runtime binary copy");
      goto fail_mfd;
    }
  /* fexecve keeps argv[0] and the environment; the copy is close-on-exec, so nothing but the
   * kernel's reference to the new executable keeps it. */
  fexecve (mfd, argv, environ);
  capsa_make_error (err, errno, "execute the runtime binary copy");
fail_mfd:
  close (mfd);
fail_exe:
  if (exe >= 0)
    close (exe);
  return -1;
}

/* The environment's heap copy, also held here: glibc's exit-time cleanup (which valgrind runs)
 * sets `environ` to NULL, and the copy would then look lost. */
static char **scrubbed_environ __attribute__ ((used));

/* /proc/<pid>/environ shows the bytes between the process's env_start and env_end (fields 50
 * and 51 of /proc/self/stat), whatever `environ` points to later, and on recent kernels even
 * for non-dumpable processes.  The container init and the exec child are copies of this
 * process, so the caller's environment is moved to the heap and the original block zeroed
 * before they exist. */
int capsa_scrub_environment (capsa_error_t *err)
{
  char buf[4096], *p;
  unsigned long start = 0, end = 0;
  size_t n = 0, i;
  char **copy;
  ssize_t len;
  int fd, field;

  fd = open ("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return capsa_make_error (err, errno, "open `/proc/self/stat`");
  len = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  if (len <= 0)
    return capsa_make_error (err, len < 0 ? errno : EIO, "read `/proc/self/stat`");
  buf[len] = '\0';
  /* the command name (field 2) may hold spaces and parentheses: count from the last ')' */
  p = strrchr (buf, ')');
  for (field = 2; p != NULL && field < 51; field++)
    {
      p = strchr (p + 1, ' ');
      if (p != NULL && field + 1 == 50)
        start = strtoul (p + 1, NULL, 10);
      if (p != NULL && field + 1 == 51)
        end = strtoul (p + 1, NULL, 10);
    }
  if (start == 0 || end <= start)
    return capsa_make_error (err, 0, "`/proc/self/stat`: no environment bounds");

  while (environ != NULL && environ[n] != NULL)
    n++;
  copy = calloc (n + 1, sizeof (*copy));
  if (copy == NULL)
    return capsa_make_error (err, ENOMEM, "copy the environment");
  for (i = 0; i < n; i++)
    {
      copy[i] = strdup (environ[i]);
      if (copy[i] == NULL)
        {
          while (i > 0)
            free (copy[--i]);
          free (copy);
          return capsa_make_error (err, ENOMEM, "copy the environment");
        }
    }
  environ = scrubbed_environ = copy;
#ifdef VALGRIND_DISABLE_ERROR_REPORTING
  /* Under valgrind the block is valgrind's own (the client's environment is the copy valgrind
   * made on the stack it built for capsa): memcheck calls it unaddressable, but it is what
   * /proc/<pid>/environ shows, so it is zeroed all the same. */
  VALGRIND_DISABLE_ERROR_REPORTING;
#endif
  memset ((void *)start, 0, end - start);
#ifdef VALGRIND_ENABLE_ERROR_REPORTING
  VALGRIND_ENABLE_ERROR_REPORTING;
#endif
  return 0;
}
