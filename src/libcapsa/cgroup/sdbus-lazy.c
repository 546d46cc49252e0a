/* capsa: libsystemd is loaded only when the systemd cgroup manager is used.
 *
 * Linking libsystemd pulls libgcrypt, liblzma, libzstd, liblz4 and libgpg-error into every
 * capsa process: about half of the instructions of `capsa --version` went to the dynamic
 * loader.  These definitions of the few sd-bus calls systemd.c makes resolve the real ones with
 * dlopen/dlsym on first use; without libsystemd at run time they fail with -ENOSYS. */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <systemd/sd-bus.h>

static void *lazy_sym (const char *name)
{
  static void *lib;
  if (lib == NULL)
    lib = dlopen ("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  return lib ? dlsym (lib, name) : NULL;
}

/* LAZY(ret, name, (params), (args), fallback): a forwarder for one function. */
#define LAZY(ret, name, params, args, fallback)                                                    \
  ret name params                                                                                  \
  {                                                                                                \
    static ret (*fn) params;                                                                       \
    if (fn == NULL)                                                                                \
      fn = (ret (*) params)lazy_sym (#name);                                                       \
    if (fn == NULL)                                                                                \
      return fallback;                                                                             \
    return fn args;                                                                                \
  }

LAZY (int, sd_bus_open_system, (sd_bus * *ret), (ret), -ENOSYS)
LAZY (int, sd_bus_open_user, (sd_bus * *ret), (ret), -ENOSYS)
LAZY (sd_bus *, sd_bus_flush_close_unref, (sd_bus * bus), (bus), NULL)
LAZY (int, sd_bus_call,
      (sd_bus * bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
       sd_bus_message **reply),
      (bus, m, usec, ret_error, reply), -ENOSYS)
LAZY (int, sd_bus_process, (sd_bus * bus, sd_bus_message **r), (bus, r), -ENOSYS)
LAZY (int, sd_bus_wait, (sd_bus * bus, uint64_t timeout_usec), (bus, timeout_usec), -ENOSYS)
LAZY (sd_bus_slot *, sd_bus_slot_unref, (sd_bus_slot * slot), (slot), NULL)
LAZY (int, sd_bus_message_new_method_call,
      (sd_bus * bus, sd_bus_message **m, const char *destination, const char *path,
       const char *interface, const char *member),
      (bus, m, destination, path, interface, member), -ENOSYS)
LAZY (sd_bus_message *, sd_bus_message_unref, (sd_bus_message * m), (m), NULL)
LAZY (int, sd_bus_message_is_signal,
      (sd_bus_message * m, const char *interface, const char *member), (m, interface, member),
      -ENOSYS)
LAZY (int, sd_bus_message_open_container, (sd_bus_message * m, char type, const char *contents),
      (m, type, contents), -ENOSYS)
LAZY (int, sd_bus_message_close_container, (sd_bus_message * m), (m), -ENOSYS)
LAZY (int, sd_bus_message_appendv, (sd_bus_message * m, const char *types, va_list ap),
      (m, types, ap), -ENOSYS)
LAZY (int, sd_bus_message_readv, (sd_bus_message * m, const char *types, va_list ap),
      (m, types, ap), -ENOSYS)
LAZY (int, sd_bus_call_methodv,
      (sd_bus * bus, const char *destination, const char *path, const char *interface,
       const char *member, sd_bus_error *ret_error, sd_bus_message **reply, const char *types,
       va_list ap),
      (bus, destination, path, interface, member, ret_error, reply, types, ap), -ENOSYS)
LAZY (int, sd_bus_match_signal,
      (sd_bus * bus, sd_bus_slot **ret, const char *sender, const char *path, const char *interface,
       const char *member, sd_bus_message_handler_t callback, void *userdata),
      (bus, ret, sender, path, interface, member, callback, userdata), -ENOSYS)
LAZY (int, sd_bus_error_has_name, (const sd_bus_error *e, const char *name), (e, name), 0)

void sd_bus_error_free (sd_bus_error *e)
{
  static void (*fn) (sd_bus_error *);
  if (fn == NULL)
    fn = (void (*) (sd_bus_error *))lazy_sym ("sd_bus_error_free");
  if (fn)
    fn (e);
}

/* The variadic calls go through their va_list twins. */
int sd_bus_message_append (sd_bus_message *m, const char *types, ...)
{
  va_list ap;
  int r;
  va_start (ap, types);
  r = sd_bus_message_appendv (m, types, ap);
  va_end (ap);
  return r;
}

int sd_bus_message_read (sd_bus_message *m, const char *types, ...)
{
  va_list ap;
  int r;
  va_start (ap, types);
  r = sd_bus_message_readv (m, types, ap);
  va_end (ap);
  return r;
}

int sd_bus_call_method (sd_bus *bus, const char *destination, const char *path,
                        const char *interface, const char *member, sd_bus_error *ret_error,
                        sd_bus_message **reply, const char *types, ...)
{
  va_list ap;
  int r;
  va_start (ap, types);
  r = sd_bus_call_methodv (bus, destination, path, interface, member, ret_error, reply, types, ap);
  va_end (ap);
  return r;
}
