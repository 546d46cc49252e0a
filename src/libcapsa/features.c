/* capsa: the OCI features document (`capsa features`) and the feature line of --version. */
#include <config.h>
#include "sandbox/sandbox.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#ifdef HAVE_CAP
#include <sys/capability.h>
#endif
#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "container.h"
#include "internal.h"
#include "git-commit.h"

#define ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

const char *capsa_feature_line (void)
{
  return ""
#ifdef HAVE_SECCOMP
         "+SECCOMP "
#endif
#ifdef HAVE_CAP
         "+CAP "
#endif
#ifdef HAVE_SELINUX
         "+SELINUX "
#endif
#ifdef HAVE_SYSTEMD
         "+SYSTEMD "
#endif
         "+YAJL";
}

static const char *const hooks[] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

/* The runtime-spec's filesystem-independent mount options; the document lists those the mount
 * option parser (mounts.c) implements, so it never claims more than capsa does. */
static const char *const standard_mount_options[] = {
  "acl",          "async",       "atime",          "bind",
  "defaults",     "dev",         "diratime",       "dirsync",
  "exec",         "iversion",    "lazytime",       "loud",
  "mand",         "noacl",       "noatime",        "nodev",
  "nodiratime",   "noexec",      "noiversion",     "nolazytime",
  "nomand",       "norelatime",  "nostrictatime",  "nosuid",
  "nosymfollow",  "private",     "ratime",         "rbind",
  "rdev",         "rdiratime",   "relatime",       "remount",
  "rexec",        "rnoatime",    "rnodev",         "rnodiratime",
  "rnoexec",      "rnorelatime", "rnostrictatime", "rnosuid",
  "rnosymfollow", "ro",          "rprivate",       "rrelatime",
  "rro",          "rrw",         "rshared",        "rslave",
  "rstrictatime", "rsuid",       "rsymfollow",     "runbindable",
  "rw",           "shared",      "silent",         "slave",
  "strictatime",  "suid",        "symfollow",      "sync",
  "tmpcopyup",    "unbindable",  "idmap",          "ridmap",
};

static const char *const namespaces[] = {
  "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
};

#ifdef HAVE_SECCOMP
static const char *const seccomp_actions[] = {
  "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",       "SCMP_ACT_TRACE",       "SCMP_ACT_TRAP",
};
static const char *const seccomp_operators[] = {
  "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
  "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
};
/* Every architecture name of the spec; listed when libseccomp knows it. */
static const char *const seccomp_archs[] = {
  "SCMP_ARCH_AARCH64",  "SCMP_ARCH_ARM",         "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
  "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",       "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",
  "SCMP_ARCH_X32",      "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",
};
/* The seccomp filter flags and the libseccomp API level (seccomp_api_get) each needs. */
static const struct
{
  const char *name;
  unsigned int api;
  bool libseccomp_has_it;
} seccomp_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", 2, true },
  { "SECCOMP_FILTER_FLAG_LOG", 3, true },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4, true },
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 7,
    SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6) },
};
#endif

static void str (yajl_gen g, const char *s)
{
  yajl_gen_string (g, (const unsigned char *)s, strlen (s));
}

static void kv (yajl_gen g, const char *key, const char *value)
{
  str (g, key);
  str (g, value);
}

static void kbool (yajl_gen g, const char *key, bool value)
{
  str (g, key);
  yajl_gen_bool (g, value);
}

static void str_array (yajl_gen g, const char *key, const char *const *v, size_t n)
{
  size_t i;
  str (g, key);
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    str (g, v[i]);
  yajl_gen_array_close (g);
}

/* {"enabled": value} under key. */
static void enabled_object (yajl_gen g, const char *key, bool value)
{
  str (g, key);
  yajl_gen_map_open (g);
  kbool (g, "enabled", value);
  yajl_gen_map_close (g);
}

/* Whether the mount option parser knows `option` itself: unknown options are passed to mount(2)
 * as filesystem data, and the features document must not list those. */
static bool mount_option_known (const char *option)
{
  struct capsa_mount_opts opts;
  capsa_error_t err = NULL;
  char *v[1] = { (char *)option };
  bool known;

  memset (&opts, 0, sizeof (opts));
  if (capsa_parse_mount_options (v, 1, &opts, &err) < 0)
    {
      capsa_error_release (&err);
      return false;
    }
  known = opts.data == NULL;
  capsa_mount_opts_free (&opts);
  return known;
}

static void gen_mount_options (yajl_gen g)
{
  size_t i;

  str (g, "mountOptions");
  yajl_gen_array_open (g);
  for (i = 0; i < ARRAY_LEN (standard_mount_options); i++)
    if (mount_option_known (standard_mount_options[i]))
      str (g, standard_mount_options[i]);
  yajl_gen_array_close (g);
}

#ifdef HAVE_CAP
/* Every capability of the running kernel, by its libcap name in upper case. */
static void gen_capabilities (yajl_gen g)
{
  cap_value_t i, max = cap_max_bits ();

  str (g, "capabilities");
  yajl_gen_array_open (g);
  for (i = 0; i < max; i++)
    {
      char *name = cap_to_name (i), *p;
      if (name == NULL)
        continue;
      /* libcap names unknown capabilities by number: those do not fit the spec's CAP_ names. */
      if (strncmp (name, "cap_", 4) == 0)
        {
          for (p = name; *p; p++)
            *p = (char)toupper ((unsigned char)*p);
          str (g, name);
        }
      cap_free (name);
    }
  yajl_gen_array_close (g);
}
#endif

#ifdef HAVE_SECCOMP
static void gen_seccomp (yajl_gen g)
{
  unsigned int api = seccomp_api_get ();
  size_t i;

  str (g, "seccomp");
  yajl_gen_map_open (g);
  kbool (g, "enabled", true);
  str_array (g, "actions", seccomp_actions, ARRAY_LEN (seccomp_actions));
  str_array (g, "operators", seccomp_operators, ARRAY_LEN (seccomp_operators));
  str (g, "archs");
  yajl_gen_array_open (g);
  for (i = 0; i < ARRAY_LEN (seccomp_archs); i++)
    {
      char lower[32];
      const char *s = seccomp_archs[i] + strlen ("SCMP_ARCH_");
      size_t j;
      for (j = 0; s[j] && j < sizeof (lower) - 1; j++)
        lower[j] = (char)tolower ((unsigned char)s[j]);
      lower[j] = '\0';
      if (seccomp_arch_resolve_name (lower) != 0)
        str (g, seccomp_archs[i]);
    }
  yajl_gen_array_close (g);
  str (g, "knownFlags");
  yajl_gen_array_open (g);
  for (i = 0; i < ARRAY_LEN (seccomp_flags); i++)
    str (g, seccomp_flags[i].name);
  yajl_gen_array_close (g);
  str (g, "supportedFlags");
  yajl_gen_array_open (g);
  for (i = 0; i < ARRAY_LEN (seccomp_flags); i++)
    if (seccomp_flags[i].libseccomp_has_it && api >= seccomp_flags[i].api)
      str (g, seccomp_flags[i].name);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
}
#endif

/* linux.memoryPolicy (mempolicy.c): every mode and flag of the spec is recognized. */
static void gen_memory_policy (yajl_gen g)
{
  static const char *const modes[]
    = { "MPOL_DEFAULT",   "MPOL_BIND",           "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
        "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL" };
  static const char *const flags[]
    = { "MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES" };
  str (g, "memoryPolicy");
  yajl_gen_map_open (g);
  str_array (g, "modes", modes, ARRAY_LEN (modes));
  str_array (g, "flags", flags, ARRAY_LEN (flags));
  yajl_gen_map_close (g);
}

static void gen_linux (yajl_gen g)
{
  str (g, "linux");
  yajl_gen_map_open (g);
  str_array (g, "namespaces", namespaces, ARRAY_LEN (namespaces));
#ifdef HAVE_CAP
  gen_capabilities (g);
#endif
  str (g, "cgroup");
  yajl_gen_map_open (g);
  kbool (g, "v1", true);
  kbool (g, "v2", true);
#ifdef HAVE_SYSTEMD
  kbool (g, "systemd", true);
  kbool (g, "systemdUser", true);
#else
  kbool (g, "systemd", false);
  kbool (g, "systemdUser", false);
#endif
  kbool (g, "rdma", false);
  yajl_gen_map_close (g);
#ifdef HAVE_SECCOMP
  gen_seccomp (g);
#else
  enabled_object (g, "seccomp", false);
#endif
  /* capsa applies process.apparmorProfile itself (no libapparmor needed): supported. */
  enabled_object (g, "apparmor", true);
  /* Whether capsa can apply SELinux labels, not whether this host enforces SELinux (the spec
   * makes the features document independent of the host). */
#ifdef HAVE_SELINUX
  enabled_object (g, "selinux", true);
#else
  enabled_object (g, "selinux", false);
#endif
  enabled_object (g, "intelRdt", false);
  str (g, "mountExtensions");
  yajl_gen_map_open (g);
  enabled_object (g, "idmap", true);
  yajl_gen_map_close (g);
  enabled_object (g, "netDevices", true);
  gen_memory_policy (g);
  yajl_gen_map_close (g);
}

char *capsa_vm_description (void)
{
  const char *accel = NULL;
  char *hv = capsa_sandbox_hypervisor (&accel), *out;
  if (hv == NULL)
    return strdup ("vm: no hypervisor found (VM isolation mode unavailable)");
  if (asprintf (&out, "vm: %s (%s)", hv, accel ? accel : "tcg") < 0)
    out = NULL;
  free (hv);
  return out;
}

static void gen_annotations (yajl_gen g, const char *criu)
{
  str (g, "annotations");
  yajl_gen_map_open (g);
#ifdef HAVE_SECCOMP
  {
    const struct scmp_version *v = seccomp_version ();
    char buf[64];
    snprintf (buf, sizeof (buf), "%u.%u.%u", v->major, v->minor, v->micro);
    kv (g, "io.github.seccomp.libseccomp.version", buf);
  }
#endif
  {
    /* checkpoint/restore: CRIU found and `criu check` passing on this host. */
    char *version = NULL, *reason = NULL;
    int ok = capsa_criu_available (criu, &version, &reason);
    kv (g, "org.opencontainers.runc.checkpoint.enabled", ok == 1 ? "true" : "false");
    kv (g, "run.oci.capsa.criu.version", version ? version : "none");
    if (ok != 1)
      kv (g, "run.oci.capsa.criu.unavailable", reason ? reason : "unknown");
    free (version);
    free (reason);
  }
  kv (g, "run.oci.capsa.commit", CAPSA_GIT_COMMIT);
  kv (g, "run.oci.capsa.version", PACKAGE_VERSION);
  {
    /* VM isolation mode (run.oci.handler=vm): the hypervisor this host would use. */
    const char *accel = NULL;
    char *hv = capsa_sandbox_hypervisor (&accel);
    kv (g, "run.oci.capsa.vm.hypervisor", hv ? hv : "none");
    kv (g, "run.oci.capsa.vm.accel", hv && accel ? accel : "none");
    free (hv);
  }
  yajl_gen_map_close (g);
}

char *capsa_features_json (const char *criu)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  const unsigned char *buf;
  size_t len;
  char *out = NULL;

  if (g == NULL)
    return NULL;
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_map_open (g);
  kv (g, "ociVersionMin", "1.0.0");
  kv (g, "ociVersionMax", CAPSA_OCI_VERSION);
  str_array (g, "hooks", hooks, ARRAY_LEN (hooks));
  gen_mount_options (g);
  gen_linux (g);
  gen_annotations (g, criu);
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
