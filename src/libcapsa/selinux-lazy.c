/* selinux-lazy.c: libselinux is loaded only when a config or `capsa exec` asks for a label.
 *
 * Linked normally, libselinux and libpcre2 were mapped and relocated into every capsa process
 * (twice per create/run/exec, with the sealed-copy re-exec), and libselinux's constructor probed
 * selinuxfs and read /proc/filesystems each time: about half of the instructions of
 * `capsa --version`.  These definitions of the four calls capsa makes resolve the real ones
 * from libselinux.so.1 on first use.
 *
 * Only the runtime's first process may load the library: the container init and the exec child
 * run in the container's mount namespace (before or after pivot_root), where a dlopen would map
 * whatever the container put at that path into a privileged process.  There the library is used
 * only if the runtime loaded it before the fork (RTLD_NOLOAD: no file is opened); otherwise
 * SELinux counts as not enabled, which is an error for any label that asks for confinement.
 * The runtime loads it while it validates a config or an exec request that carries a label. */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <unistd.h>
#include <selinux/selinux.h>

#define CAPSA_LIBSELINUX "libselinux.so.1"

static pid_t runtime_pid;

__attribute__ ((constructor)) static void record_runtime_pid (void)
{
  runtime_pid = getpid ();
}

static struct
{
  int (*is_selinux_enabled) (void);
  int (*setexeccon) (const char *con);
  int (*setfilecon) (const char *path, const char *con);
  int (*security_check_context) (const char *con);
} fn;

/* 0 once every function is resolved, -1 (errno ENOSYS) when the library is missing or may not
 * be loaded in this process. */
static int load (void)
{
  void *lib;

  if (fn.is_selinux_enabled != NULL)
    return 0;
  lib = dlopen (CAPSA_LIBSELINUX,
                RTLD_NOW | RTLD_LOCAL | (getpid () == runtime_pid ? 0 : RTLD_NOLOAD));
  if (lib == NULL)
    return (errno = ENOSYS, -1);
  *(void **)&fn.setexeccon = dlsym (lib, "setexeccon");
  *(void **)&fn.setfilecon = dlsym (lib, "setfilecon");
  *(void **)&fn.security_check_context = dlsym (lib, "security_check_context");
  if (fn.setexeccon == NULL || fn.setfilecon == NULL || fn.security_check_context == NULL)
    return (errno = ENOSYS, -1);
  *(void **)&fn.is_selinux_enabled = dlsym (lib, "is_selinux_enabled");
  return fn.is_selinux_enabled != NULL ? 0 : (errno = ENOSYS, -1);
}

int is_selinux_enabled (void)
{
  return load () == 0 ? fn.is_selinux_enabled () : 0;
}

int setexeccon (const char *con)
{
  return load () == 0 ? fn.setexeccon (con) : -1;
}

int setfilecon (const char *path, const char *con)
{
  return load () == 0 ? fn.setfilecon (path, con) : -1;
}

int security_check_context (const char *con)
{
  return load () == 0 ? fn.security_check_context (con) : -1;
}
