/* capsa: the default config.json written by `capsa spec` (and its rootless variant). */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "container.h"

#define ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

static const char *const default_caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };

/* Paths of the host kernel the container must not read (masked) or write (read-only). */
static const char *const masked_paths[] = {
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* Which flavour of the configuration a default mount belongs to. */
enum
{
  BOTH,
  ROOTFUL,
  ROOTLESS,
};

struct default_mount
{
  int when;
  const char *destination, *type, *source;
  const char *options[8]; /* NULL-terminated */
};

/* Without privileges over the host's user namespace, a rootless container can mount neither
 * sysfs nor cgroup: /sys is bind-mounted read-only instead (it includes /sys/fs/cgroup), and
 * devpts cannot be given the host's tty group. */
static const struct default_mount default_mounts[] = {
  { BOTH, "/proc", "proc", "proc", { NULL } },
  { BOTH, "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
  { ROOTFUL,
    "/dev/pts",
    "devpts",
    "devpts",
    { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
  { ROOTLESS,
    "/dev/pts",
    "devpts",
    "devpts",
    { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" } },
  { BOTH, "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
  { BOTH, "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
  { ROOTFUL, "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
  { ROOTLESS, "/sys", "bind", "/sys", { "rbind", "nosuid", "noexec", "nodev", "ro" } },
  { ROOTFUL,
    "/sys/fs/cgroup",
    "cgroup",
    "cgroup",
    { "nosuid", "noexec", "nodev", "relatime", "ro" } },
};

static void str (yajl_gen g, const char *s)
{
  yajl_gen_string (g, (const unsigned char *)s, strlen (s));
}

static void kv (yajl_gen g, const char *key, const char *value)
{
  str (g, key);
  str (g, value);
}

static void str_array (yajl_gen g, const char *key, const char *const *v, size_t n)
{
  size_t i;
  str (g, key);
  yajl_gen_array_open (g);
  for (i = 0; i < n && v[i] != NULL; i++)
    str (g, v[i]);
  yajl_gen_array_close (g);
}

static void gen_process (yajl_gen g)
{
  static const char *const args[] = { "sh" };
  static const char *const env[]
    = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" };

  str (g, "process");
  yajl_gen_map_open (g);
  str (g, "terminal");
  yajl_gen_bool (g, 1);
  str (g, "user");
  yajl_gen_map_open (g);
  str (g, "uid");
  yajl_gen_integer (g, 0);
  str (g, "gid");
  yajl_gen_integer (g, 0);
  yajl_gen_map_close (g);
  str_array (g, "args", args, ARRAY_LEN (args));
  str_array (g, "env", env, ARRAY_LEN (env));
  kv (g, "cwd", "/");
  str (g, "capabilities");
  yajl_gen_map_open (g);
  str_array (g, "bounding", default_caps, ARRAY_LEN (default_caps));
  str_array (g, "effective", default_caps, ARRAY_LEN (default_caps));
  str_array (g, "permitted", default_caps, ARRAY_LEN (default_caps));
  yajl_gen_map_close (g);
  str (g, "rlimits");
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  kv (g, "type", "RLIMIT_NOFILE");
  str (g, "hard");
  yajl_gen_integer (g, 1024);
  str (g, "soft");
  yajl_gen_integer (g, 1024);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  str (g, "noNewPrivileges");
  yajl_gen_bool (g, 1);
  yajl_gen_map_close (g);
}

static void gen_mounts (yajl_gen g, bool rootless)
{
  size_t i;

  str (g, "mounts");
  yajl_gen_array_open (g);
  for (i = 0; i < ARRAY_LEN (default_mounts); i++)
    {
      const struct default_mount *m = &default_mounts[i];
      if (m->when != BOTH && (m->when == ROOTLESS) != rootless)
        continue;
      yajl_gen_map_open (g);
      kv (g, "destination", m->destination);
      kv (g, "type", m->type);
      kv (g, "source", m->source);
      if (m->options[0] != NULL)
        str_array (g, "options", m->options, ARRAY_LEN (m->options));
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

static void gen_id_mapping (yajl_gen g, const char *key, unsigned long host_id)
{
  str (g, key);
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  str (g, "containerID");
  yajl_gen_integer (g, 0);
  str (g, "hostID");
  yajl_gen_integer (g, (long long)host_id);
  str (g, "size");
  yajl_gen_integer (g, 1);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
}

static void gen_linux (yajl_gen g, bool rootless)
{
  static const char *const namespaces[] = { "pid", "network", "ipc", "uts", "mount", "cgroup" };
  size_t i;

  str (g, "linux");
  yajl_gen_map_open (g);
  if (rootless)
    {
      gen_id_mapping (g, "uidMappings", (unsigned long)getuid ());
      gen_id_mapping (g, "gidMappings", (unsigned long)getgid ());
    }
  else
    {
      /* Deny every device by default; the runtime allows the standard ones itself. */
      str (g, "resources");
      yajl_gen_map_open (g);
      str (g, "devices");
      yajl_gen_array_open (g);
      yajl_gen_map_open (g);
      str (g, "allow");
      yajl_gen_bool (g, 0);
      kv (g, "access", "rwm");
      yajl_gen_map_close (g);
      yajl_gen_array_close (g);
      yajl_gen_map_close (g);
    }
  str (g, "namespaces");
  yajl_gen_array_open (g);
  for (i = 0; i < ARRAY_LEN (namespaces); i++)
    {
      /* A rootless container cannot configure a network namespace of its own usefully: it
       * keeps the caller's. */
      if (rootless && strcmp (namespaces[i], "network") == 0)
        continue;
      yajl_gen_map_open (g);
      kv (g, "type", namespaces[i]);
      yajl_gen_map_close (g);
    }
  if (rootless)
    {
      yajl_gen_map_open (g);
      kv (g, "type", "user");
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  str_array (g, "maskedPaths", masked_paths, ARRAY_LEN (masked_paths));
  str_array (g, "readonlyPaths", readonly_paths, ARRAY_LEN (readonly_paths));
  yajl_gen_map_close (g);
}

char *capsa_spec_default (bool rootless)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  const unsigned char *buf;
  size_t len;
  char *out = NULL;

  if (g == NULL)
    return NULL;
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_map_open (g);
  kv (g, "ociVersion", CAPSA_OCI_VERSION);
  gen_process (g);
  str (g, "root");
  yajl_gen_map_open (g);
  kv (g, "path", "rootfs");
  str (g, "readonly");
  yajl_gen_bool (g, 1);
  yajl_gen_map_close (g);
  kv (g, "hostname", "capsa");
  gen_mounts (g, rootless);
  gen_linux (g, rootless);
  yajl_gen_map_close (g);

  if (yajl_gen_get_buf (g, &buf, &len) == yajl_gen_status_ok)
    {
      out = malloc (len + 1);
      if (out != NULL)
        {
          memcpy (out, buf, len);
          out[len] = '\0';
        }
    }
  yajl_gen_free (g);
  return out;
}
