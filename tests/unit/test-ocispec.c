/* capsa: unit tests for libocispec (parse, generate, free) against the runtime-spec examples. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci_spec.h"

static int n_pass, n_fail;

static void ok (bool cond, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void ok (bool cond, const char *fmt, ...)
{
  va_list ap;

  printf ("%s %d - ", cond ? "ok" : "not ok", n_pass + n_fail + 1);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  putchar ('\n');
  if (cond)
    n_pass++;
  else
    n_fail++;
}

static void diag (const char *what, const char *text)
{
  printf ("# %s: %s\n", what, text ? text : "(null)");
}

static char *read_all (const char *path)
{
  FILE *f = fopen (path, "re");
  char *buf = NULL;
  size_t len = 0;

  if (f == NULL)
    return NULL;
  if (getdelim (&buf, &len, '\0', f) < 0)
    {
      free (buf);
      buf = NULL;
    }
  fclose (f);
  return buf;
}

enum kind
{
  CONFIG,
  PROCESS,
  STATE
};

static const char *kind_name (enum kind k)
{
  return k == CONFIG ? "config.json" : k == PROCESS ? "process.json" : "state.json";
}

/* Parse `json` as `k`, then generate it; returns the generated text (NULL on error, *err set). */
static char *parse_generate (enum kind k, const char *json, bool pretty, char **err)
{
  char *out = NULL;

  *err = NULL;
  if (k == CONFIG)
    {
      struct oci_config *c = oci_config_parse_data (json, strlen (json), "config.json", err);
      if (c)
        out = oci_config_generate (c, pretty);
      oci_config_free (c);
    }
  else if (k == PROCESS)
    {
      struct oci_process *p = oci_process_parse_data (json, strlen (json), "process.json", err);
      if (p)
        out = oci_process_generate (p, pretty);
      oci_process_free (p);
    }
  else
    {
      struct oci_state *s = oci_state_parse_data (json, strlen (json), "state.json", err);
      if (s)
        out = oci_state_generate (s, pretty);
      oci_state_free (s);
    }
  return out;
}

/* parse(json) must fail with exactly `expected` (or, when `prefix`, a message starting so). */
static void expect_error_ex (enum kind k, const char *json, const char *expected, bool prefix)
{
  char *err = NULL, *out = parse_generate (k, json, false, &err);
  bool good
    = out == NULL && err != NULL
      && (prefix ? strncmp (err, expected, strlen (expected)) == 0 : strcmp (err, expected) == 0);

  ok (good, "error %s%s", prefix ? "starting with " : "", expected);
  if (!good)
    {
      diag ("input", json);
      diag ("got error", err);
      diag ("got output", out);
    }
  free (err);
  free (out);
}

static void expect_error (enum kind k, const char *json, const char *expected)
{
  expect_error_ex (k, json, expected, false);
}

/* parse(json) must succeed and generate exactly `expected` (compact); NULL = json itself. */
static void expect_output (enum kind k, const char *what, const char *json, const char *expected)
{
  char *err = NULL, *out = parse_generate (k, json, false, &err);
  bool good = out != NULL && strcmp (out, expected ? expected : json) == 0;

  ok (good, "%s", what);
  if (!good)
    {
      diag ("input", json);
      diag ("expected", expected ? expected : json);
      diag ("got", out);
      diag ("error", err);
    }
  free (err);
  free (out);
}

/* Text round trip: generate(parse(generate(parse(text)))) == generate(parse(text)). */
static void round_trip (enum kind k, const char *what, const char *text, bool pretty)
{
  char *err = NULL, *err2 = NULL;
  char *once = parse_generate (k, text, pretty, &err);
  char *twice = once ? parse_generate (k, once, pretty, &err2) : NULL;
  bool good = once && twice && strcmp (once, twice) == 0;

  ok (good, "round trip%s: %s", pretty ? " (pretty)" : "", what);
  if (!good)
    {
      diag ("error", err ? err : err2);
      diag ("first", once);
      diag ("second", twice);
    }
  free (err);
  free (err2);
  free (once);
  free (twice);
}

static int cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* The .json files of a directory, sorted; NULL-terminated. */
static char **list_json (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0;

  if (d == NULL)
    return NULL;
  while ((de = readdir (d)) != NULL)
    {
      size_t l = strlen (de->d_name);
      if (l < 6 || strcmp (de->d_name + l - 5, ".json") != 0)
        continue;
      names = realloc (names, (n + 2) * sizeof (char *));
      if (asprintf (&names[n], "%s/%s", dir, de->d_name) < 0)
        abort ();
      n++;
    }
  closedir (d);
  if (names == NULL)
    return NULL;
  names[n] = NULL;
  qsort (names, n, sizeof (char *), cmp_names);
  return names;
}

static void free_list (char **l)
{
  size_t i;

  for (i = 0; l && l[i]; i++)
    free (l[i]);
  free (l);
}

static const char *base (const char *p)
{
  const char *s = strrchr (p, '/');
  return s ? s + 1 : p;
}

/* Every file of schema/test/<sub>/good parses; every one of .../bad fails with a message that
 * names the file and a JSON path or says "invalid JSON". */
static void test_examples (const char *spec, const char *sub, enum kind k)
{
  char dir[4096];
  char **files;
  size_t i;

  snprintf (dir, sizeof (dir), "%s/schema/test/%s/good", spec, sub);
  files = list_json (dir);
  ok (files != NULL, "%s/good examples found in %s", sub, dir);
  for (i = 0; files && files[i]; i++)
    {
      char *err = NULL;
      bool parsed;
      if (k == CONFIG)
        {
          struct oci_config *c = oci_config_parse_file (files[i], "config.json", &err);
          parsed = c != NULL;
          oci_config_free (c);
        }
      else
        {
          struct oci_state *s = oci_state_parse_file (files[i], "state.json", &err);
          parsed = s != NULL;
          oci_state_free (s);
        }
      ok (parsed && err == NULL, "%s/good/%s parses", sub, base (files[i]));
      if (!parsed)
        diag ("error", err);
      free (err);

      char *text = read_all (files[i]);
      round_trip (k, base (files[i]), text ? text : "", false);
      round_trip (k, base (files[i]), text ? text : "", true);
      free (text);
    }
  free_list (files);

  snprintf (dir, sizeof (dir), "%s/schema/test/%s/bad", spec, sub);
  files = list_json (dir);
  ok (files != NULL, "%s/bad examples found in %s", sub, dir);
  for (i = 0; files && files[i]; i++)
    {
      const char *name = kind_name (k);
      char *err = NULL;
      bool parsed;
      if (k == CONFIG)
        {
          struct oci_config *c = oci_config_parse_file (files[i], name, &err);
          parsed = c != NULL;
          oci_config_free (c);
        }
      else
        {
          struct oci_state *s = oci_state_parse_file (files[i], name, &err);
          parsed = s != NULL;
          oci_state_free (s);
        }
      bool good = !parsed && err != NULL && strncmp (err, name, strlen (name)) == 0
                  && (strstr (err, ": .") != NULL || strstr (err, ": invalid JSON: ") != NULL)
                  && strchr (err, '\n') == NULL;
      ok (good, "%s/bad/%s fails with a located message", sub, base (files[i]));
      diag (good ? "message" : "bad message", err);
      free (err);
    }
  free_list (files);
}

static void test_bad_example_texts (const char *spec)
{
  char path[4096];
  char *err = NULL;
  struct oci_config *c;

  snprintf (path, sizeof (path), "%s/schema/test/config/bad/linux-hugepage.json", spec);
  c = oci_config_parse_file (path, "config.json", &err);
  ok (c == NULL && err
        && strcmp (err, "config.json: .linux.resources.hugepageLimits[0].pageSize: invalid page "
                        "size \"64kB\" (expected e.g. 2MB)")
             == 0,
      "bad hugepage example: exact message");
  diag ("message", err);
  free (err);

  snprintf (path, sizeof (path), "%s/schema/test/config/bad/linux-netdevice.json", spec);
  c = oci_config_parse_file (path, "config.json", &err);
  ok (c == NULL && err
        && strcmp (err, "config.json: .linux.netDevices.eth0.name: expected a string, got a number")
             == 0,
      "bad netdevice example: exact message");
  diag ("message", err);
  free (err);

  snprintf (path, sizeof (path), "%s/schema/test/config/bad/linux-rdma.json", spec);
  c = oci_config_parse_file (path, "config.json", &err);
  ok (c == NULL && err
        && strcmp (err, "config.json: .linux.resources.rdma.mlx5_1.hcaHandles: expected a uint32, "
                        "got a string")
             == 0,
      "bad rdma example: exact message");
  diag ("message", err);
  free (err);

  snprintf (path, sizeof (path), "%s/schema/test/config/bad/invalid-json.json", spec);
  c = oci_config_parse_file (path, "config.json", &err);
  ok (c == NULL && err && strncmp (err, "config.json: invalid JSON: ", 27) == 0
        && strstr (err, "(line 1, column 2)") != NULL,
      "bad invalid-json example: message with position");
  diag ("message", err);
  free (err);

  /* Without a name, the path names the file. */
  c = oci_config_parse_file (path, NULL, &err);
  ok (c == NULL && err && strncmp (err, path, strlen (path)) == 0, "file path used as name");
  free (err);
}

static void test_spec_example (const char *spec)
{
  char path[4096], *err = NULL;
  struct oci_config *c;
  size_t i;

  snprintf (path, sizeof (path), "%s/schema/test/config/good/spec-example.json", spec);
  c = oci_config_parse_file (path, "config.json", &err);
  ok (c != NULL, "spec-example.json parses");
  if (c == NULL)
    {
      diag ("error", err);
      free (err);
      return;
    }
  ok (strcmp (c->oci_version, "0.5.0-dev") == 0, "ociVersion");
  ok (c->root && strcmp (c->root->path, "rootfs") == 0 && c->root->readonly, "root");
  ok (c->process && c->process->terminal && c->process->user.uid == 1
        && c->process->user.additional_gids_len == 2 && c->process->user.additional_gids[1] == 6,
      "process.user");
  ok (c->process->args_len == 1 && strcmp (c->process->args[0], "sh") == 0, "process.args");
  ok (c->process->capabilities && c->process->capabilities->ambient_len == 1
        && strcmp (c->process->capabilities->ambient[0], "CAP_NET_BIND_SERVICE") == 0,
      "process.capabilities");
  ok (c->process->rlimits_len == 2 && strcmp (c->process->rlimits[1].type, "RLIMIT_NOFILE") == 0
        && c->process->rlimits[1].hard == 1024,
      "process.rlimits");
  ok (c->mounts_len == 7 && strcmp (c->mounts[6].destination, "/sys/fs/cgroup") == 0
        && c->mounts[6].options_len == 5,
      "mounts");
  ok (c->hooks && c->hooks->prestart_len == 2 && c->hooks->poststart_len == 1
        && c->hooks->poststart[0].timeout_present && c->hooks->poststart[0].timeout == 5
        && !c->hooks->prestart[0].timeout_present,
      "hooks");
  ok (c->linux_ && c->linux_->namespaces_len == 8
        && strcmp (c->linux_->namespaces[7].type, "time") == 0,
      "linux.namespaces");
  ok (c->linux_->resources && c->linux_->resources->hugepage_limits_len == 2
        && c->linux_->resources->hugepage_limits[0].limit == 9223372036854772000ULL,
      "linux.resources.hugepageLimits");
  ok (c->linux_->resources->memory && c->linux_->resources->memory->kernel == -1
        && c->linux_->resources->memory->disable_oom_killer_present
        && !c->linux_->resources->memory->disable_oom_killer,
      "linux.resources.memory");
  ok (c->linux_->resources->block_io && c->linux_->resources->block_io->weight_device_len == 2
        && c->linux_->resources->block_io->weight_device[0].leaf_weight == 300
        && !c->linux_->resources->block_io->weight_device[1].leaf_weight_present,
      "linux.resources.blockIO");
  ok (c->linux_->time_offsets_len == 2
        && strcmp (c->linux_->time_offsets[0].clock, "monotonic") == 0
        && c->linux_->time_offsets[1].secs == 604800,
      "linux.timeOffsets");
  ok (c->linux_->seccomp && strcmp (c->linux_->seccomp->default_action, "SCMP_ACT_ALLOW") == 0
        && c->linux_->seccomp->syscalls_len == 1 && c->linux_->seccomp->syscalls[0].names_len == 2,
      "linux.seccomp");
  ok (c->linux_->devices_len == 2 && c->linux_->devices[0].file_mode == 438
        && c->linux_->devices[0].major == 10,
      "linux.devices");
  ok (strcmp (oci_kv_get (c->linux_->sysctl, c->linux_->sysctl_len, "net.core.somaxconn"), "256")
          == 0
        && oci_kv_get (c->linux_->sysctl, c->linux_->sysctl_len, "nope") == NULL,
      "linux.sysctl and oci_kv_get");
  ok (c->annotations_len == 2 && strcmp (c->annotations[1].value, "value2") == 0, "annotations");
  for (i = 0; i < 2; i++)
    {
      char *a = oci_config_generate (c, i == 1);
      char *err2 = NULL;
      struct oci_config *c2
        = a ? oci_config_parse_data (a, strlen (a), "config.json", &err2) : NULL;
      char *b = c2 ? oci_config_generate (c2, i == 1) : NULL;
      ok (a && b && strcmp (a, b) == 0, "spec-example: generate, parse, generate is identical%s",
          i ? " (pretty)" : "");
      if (i == 1)
        ok (a && strstr (a, "\n    \"ociVersion\": \"0.5.0-dev\"") != NULL,
            "pretty output is indented");
      else
        ok (a && strchr (a, '\n') == NULL, "compact output is one line");
      free (err2);
      free (a);
      free (b);
      oci_config_free (c2);
    }
  oci_config_free (c);
}

/* Every field the parser knows, in the generator's order, compact. */
static const char everything[]
  = "{\"ociVersion\":\"1.3.0\","
    "\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
    "\"user\":{\"uid\":1000,\"gid\":1000,\"umask\":18,\"additionalGids\":[4294967295,0],"
    "\"username\":\"me\"},\"args\":[\"sh\",\"-c\",\"true\"],\"commandLine\":\"sh -c true\","
    "\"env\":[\"A=1\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"],"
    "\"effective\":[],\"inheritable\":[],\"permitted\":[\"CAP_KILL\"],\"ambient\":[]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,"
    "\"soft\":9223372036854775808}],\"noNewPrivileges\":true,\"apparmorProfile\":\"p\","
    "\"oomScoreAdj\":-1000,\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"nice\":-20,"
    "\"priority\":2147483647,\"flags\":[\"SCHED_FLAG_RECLAIM\"],\"runtime\":1,\"deadline\":2,"
    "\"period\":3},\"selinuxLabel\":\"l\",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\","
    "\"priority\":0},\"execCPUAffinity\":{\"initial\":\"0-3, 7\",\"final\":\"1\"}},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h\",\"domainname\":\"d\","
    "\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/src\","
    "\"options\":[\"rbind\",\"idmap\"],\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,"
    "\"size\":65536}],\"gidMappings\":[]}],"
    "\"hooks\":{\"prestart\":[],\"createRuntime\":[{\"path\":\"/bin/hook\",\"args\":[\"hook\"],"
    "\"env\":[\"X=1\"],\"timeout\":9223372036854775807}],\"createContainer\":[{\"path\":\"/a\"}],"
    "\"startContainer\":[{\"path\":\"/b\"}],\"poststart\":[{\"path\":\"/c\"}],"
    "\"poststop\":[{\"path\":\"/d\"}]},"
    "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
    "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
    "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
    "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}],\"memory\":{\"limit\":-1,"
    "\"reservation\":-9223372036854775808,\"swap\":9223372036854775807,\"kernel\":0,"
    "\"kernelTCP\":0,\"swappiness\":18446744073709551615,\"disableOOMKiller\":true,"
    "\"useHierarchy\":false,\"checkBeforeUpdate\":true},\"cpu\":{\"shares\":2,\"quota\":-1,"
    "\"burst\":0,\"period\":100000,\"realtimeRuntime\":-1,\"realtimePeriod\":1,\"cpus\":\"0-1\","
    "\"mems\":\"0\",\"idle\":1},\"pids\":{\"limit\":-1},\"blockIO\":{\"weight\":65535,"
    "\"leafWeight\":0,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":10,"
    "\"leafWeight\":20}],\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1}],"
    "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0}],\"throttleReadIOPSDevice\":[],"
    "\"throttleWriteIOPSDevice\":[{\"major\":-1,\"minor\":-1,\"rate\":18446744073709551615}]},"
    "\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":18446744073709551615}],"
    "\"network\":{\"classID\":4294967295,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]},"
    "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":4},\"rxe\":{}},"
    "\"unified\":{\"memory.high\":\"max\",\"io.weight\":\"default 100\"}},"
    "\"cgroupsPath\":\"a/b\",\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\","
    "\"path\":\"/run/netns/x\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
    "{\"type\":\"user\"},{\"type\":\"cgroup\"},{\"type\":\"time\"}],"
    "\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3,"
    "\"fileMode\":8630,\"uid\":0,\"gid\":4294967295},{\"path\":\"/dev/fifo\",\"type\":\"p\"},"
    "{\"path\":\"/dev/sda\",\"type\":\"b\",\"major\":8,\"minor\":0},{\"path\":\"/dev/u\","
    "\"type\":\"u\",\"major\":4,\"minor\":64}],"
    "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
    "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
    "\"listenerPath\":\"/run/l.sock\",\"listenerMetadata\":\"m\",\"syscalls\":[{\"names\":"
    "[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"personality\"],"
    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":0,"
    "\"value\":18446744073709551615,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"},{\"index\":1,"
    "\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]},"
    "\"rootfsPropagation\":\"rslave\",\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[],"
    "\"mountLabel\":\"ml\",\"intelRdt\":{\"closID\":\"c\",\"schemata\":[\"L3:0=ff\"],"
    "\"l3CacheSchema\":\"L3:0=f\",\"memBwSchema\":\"MB:0=70\",\"enableMonitoring\":true},"
    "\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":\"0-1\",\"flags\":"
    "[\"MPOL_F_STATIC_NODES\"]},\"timeOffsets\":{\"boottime\":{\"secs\":-9223372036854775808,"
    "\"nanosecs\":4294967295},\"monotonic\":{\"secs\":1,\"nanosecs\":0}},"
    "\"netDevices\":{\"eth0\":{\"name\":\"ceth0\"},\"ens4\":{}},"
    "\"personality\":{\"domain\":\"LINUX32\",\"flags\":[]}},"
    "\"vm\":{\"hypervisor\":{\"path\":\"/usr/bin/qemu\",\"parameters\":[\"-m\",\"128\"]},"
    "\"kernel\":{\"path\":\"/vmlinux\",\"parameters\":[\"console=hvc0\"],\"initrd\":\"/initrd\"},"
    "\"image\":{\"path\":\"/img\",\"format\":\"qcow2\"},\"hwConfig\":{\"deviceTree\":\"/dt\","
    "\"vcpus\":2,\"memory\":18446744073709551615,\"dtdevs\":[\"/soc\"],\"iomems\":"
    "[{\"firstGFN\":1,\"firstMFN\":2,\"nrMFNs\":3},{\"firstMFN\":4,\"nrMFNs\":5}],"
    "\"irqs\":[1,4294967295]}},"
    "\"annotations\":{\"a\":\"\",\"run.oci.handler\":\"vm\"}}";

static void test_everything (void)
{
  char *err = NULL;
  struct oci_config *c = oci_config_parse_data (everything, strlen (everything), NULL, &err);
  const struct oci_linux *l;

  expect_output (CONFIG, "every field survives parse+generate unchanged", everything, NULL);
  round_trip (CONFIG, "every field", everything, true);
  ok (c != NULL, "every field parses");
  if (c == NULL)
    {
      diag ("error", err);
      free (err);
      return;
    }
  l = c->linux_;
  ok (c->process->rlimits[0].hard == UINT64_MAX && c->process->rlimits[0].soft == 1ULL << 63,
      "uint64 above INT64_MAX (rlimits)");
  ok (c->process->user.additional_gids[0] == UINT32_MAX, "uint32 max (additionalGids)");
  ok (c->process->oom_score_adj_present && c->process->oom_score_adj == -1000, "oomScoreAdj");
  ok (c->process->scheduler && c->process->scheduler->priority == INT32_MAX
        && c->process->scheduler->nice == -20 && c->process->scheduler->period_present,
      "process.scheduler");
  ok (c->process->io_priority && strcmp (c->process->io_priority->class_, "IOPRIO_CLASS_RT") == 0
        && c->process->io_priority->priority_present,
      "process.ioPriority");
  ok (c->process->exec_cpu_affinity
        && strcmp (c->process->exec_cpu_affinity->initial, "0-3, 7") == 0,
      "process.execCPUAffinity");
  ok (c->process->capabilities->effective != NULL && c->process->capabilities->effective_len == 0,
      "empty array is present with length 0");
  ok (c->hooks->prestart != NULL && c->hooks->prestart_len == 0, "empty hooks array kept");
  ok (c->hooks->create_runtime[0].timeout == INT64_MAX, "int64 max (hook timeout)");
  ok (l->resources->memory->reservation == INT64_MIN, "int64 min (memory.reservation)");
  ok (l->resources->memory->swappiness == UINT64_MAX, "uint64 max (memory.swappiness)");
  ok (l->resources->block_io->weight == 65535 && l->resources->block_io->leaf_weight_present
        && l->resources->block_io->leaf_weight == 0,
      "blockIO weights (uint16)");
  ok (l->resources->block_io->throttle_read_iops_device != NULL
        && l->resources->block_io->throttle_read_iops_device_len == 0
        && !l->resources->block_io->throttle_write_bps_device[0].rate_present,
      "blockIO throttles");
  ok (l->resources->rdma_len == 2 && strcmp (l->resources->rdma[0].name, "mlx5_1") == 0
        && l->resources->rdma[0].hca_objects == 4 && !l->resources->rdma[1].hca_handles_present,
      "resources.rdma map");
  ok (l->resources->unified_len == 2
        && strcmp (oci_kv_get (l->resources->unified, l->resources->unified_len, "io.weight"),
                   "default 100")
             == 0,
      "resources.unified map");
  ok (l->resources->network->class_id == UINT32_MAX
        && strcmp (l->resources->network->priorities[0].name, "eth0") == 0,
      "resources.network");
  ok (l->devices_len == 4 && !l->devices[1].major_present && l->devices[0].file_mode == 8630
        && l->devices[0].gid == UINT32_MAX,
      "linux.devices");
  ok (l->seccomp->syscalls[1].args_len == 2 && l->seccomp->syscalls[1].args[0].value == UINT64_MAX
        && l->seccomp->syscalls[1].args[0].value_two_present
        && !l->seccomp->syscalls[1].args[1].value_two_present
        && l->seccomp->default_errno_ret == 38,
      "linux.seccomp args");
  ok (l->intel_rdt && l->intel_rdt->enable_monitoring && l->intel_rdt->schemata_len == 1,
      "linux.intelRdt");
  ok (l->memory_policy && strcmp (l->memory_policy->mode, "MPOL_BIND") == 0
        && strcmp (l->memory_policy->nodes, "0-1") == 0,
      "linux.memoryPolicy");
  ok (l->time_offsets_len == 2 && strcmp (l->time_offsets[0].clock, "boottime") == 0
        && l->time_offsets[0].secs == INT64_MIN && l->time_offsets[0].nanosecs == UINT32_MAX,
      "linux.timeOffsets");
  ok (l->net_devices_len == 2 && strcmp (l->net_devices[0].host_name, "eth0") == 0
        && strcmp (l->net_devices[0].name, "ceth0") == 0 && l->net_devices[1].name == NULL,
      "linux.netDevices");
  ok (l->personality && strcmp (l->personality->domain, "LINUX32") == 0
        && l->personality->flags != NULL && l->personality->flags_len == 0,
      "linux.personality");
  ok (c->vm && c->vm->kernel && strcmp (c->vm->kernel->initrd, "/initrd") == 0
        && c->vm->hw_config->memory == UINT64_MAX && c->vm->hw_config->irqs_len == 2
        && c->vm->hw_config->iomems[0].first_gfn_present
        && !c->vm->hw_config->iomems[1].first_gfn_present && c->vm->hypervisor->parameters_len == 2
        && strcmp (c->vm->image->format, "qcow2") == 0,
      "vm");
  ok (strcmp (oci_kv_get (c->annotations, c->annotations_len, "a"), "") == 0,
      "empty annotation value");
  oci_config_free (c);
}

static void test_errors (void)
{
  /* Types. */
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"args\":\"sh\"}}",
                "config.json: .process.args: expected an array of strings, got a string");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\",1]}}",
                "config.json: .process.args[1]: expected a string, got a number");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"hostname\":5}",
                "config.json: .hostname: expected a string, got a number");
  expect_error (CONFIG, "{\"ociVersion\":1}",
                "config.json: .ociVersion: expected a string, got a number");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":-1}}}",
                "config.json: .process.user.uid: expected a uint32, got -1 (negative)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"user\":{\"gid\":4294967296}}}",
                "config.json: .process.user.gid: expected a uint32, got 4294967296 (out of range)");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":1.5}}}",
                "config.json: .process.user.uid: expected a uint32, got 1.5");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":1e3}}}",
                "config.json: .process.user.uid: expected a uint32, got 1e3");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":\"0\"}}}",
                "config.json: .process.user.uid: expected a uint32, got a string");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"user\":{\"additionalGids\":[1,"
                "-5]}}}",
                "config.json: .process.user.additionalGids[1]: expected a uint32, got -5 "
                "(negative)");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\",\"readonly\":\"true\"}}",
                "config.json: .root.readonly: expected a boolean, got a string");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\",\"readonly\":1}}",
                "config.json: .root.readonly: expected a boolean, got a number");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"root\":[]}",
                "config.json: .root: expected an object, got an array");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"mounts\":{}}",
                "config.json: .mounts: expected an array, got an object");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":"
                "\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":18446744073709551616}]}}",
                "config.json: .process.rlimits[0].hard: expected a uint64, got "
                "18446744073709551616 (out of range)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":"
                "\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":1}]}}",
                "config.json: .process.rlimits[0].soft: expected a uint64, got -1 (negative)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"memory\":{\"limit\":"
                "-9223372036854775809}}}}",
                "config.json: .linux.resources.memory.limit: expected an int64, got "
                "-9223372036854775809 (out of range)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"memory\":{\"limit\":"
                "9223372036854775808}}}}",
                "config.json: .linux.resources.memory.limit: expected an int64, got "
                "9223372036854775808 (out of range)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"oomScoreAdj\":2147483648}}",
                "config.json: .process.oomScoreAdj: expected an int32, got 2147483648 (out of "
                "range)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"blockIO\":{\"weight\":65536}}}}",
                "config.json: .linux.resources.blockIO.weight: expected a uint16, got 65536 (out "
                "of range)");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"annotations\":{\"com.example\":1}}",
                "config.json: .annotations[\"com.example\"]: expected a string, got a number");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"annotations\":[]}",
                "config.json: .annotations: expected an object of strings, got an array");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"sysctl\":{\"a\\\"b\\n\":true}}}",
                "config.json: .linux.sysctl[\"a\\\"b\\u000a\"]: expected a string, got a boolean");
  expect_error (CONFIG, "[]", "config.json: expected an object, got an array");
  expect_error (CONFIG, "\"x\"", "config.json: expected an object, got a string");

  /* Required fields. */
  expect_error (CONFIG, "{}", "config.json: .ociVersion: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":null}",
                "config.json: .ociVersion: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"root\":{}}",
                "config.json: .root.path: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"args\":[\"sh\"]}}",
                "config.json: .process.cwd: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"mounts\":[{\"destination\":\"/a\"},{}]}",
                "config.json: .mounts[1].destination: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"hooks\":{\"poststop\":[{\"args\":[]}]}}",
                "config.json: .hooks.poststop[0].path: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":"
                "\"mount\"},{\"path\":\"/proc/1/ns/net\"}]}}",
                "config.json: .linux.namespaces[2].type: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"devices\":[{\"path\":\"/dev/x\"}]}}",
                "config.json: .linux.devices[0].type: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"devices\":[{\"type\":\"c\"}]}}",
                "config.json: .linux.devices[0].path: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"devices\":[{\"access\":\"r\"}]}"
                "}}",
                "config.json: .linux.resources.devices[0].allow: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"uidMappings\":[{\"containerID\":0,"
                "\"hostID\":0}]}}",
                "config.json: .linux.uidMappings[0].size: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"pids\":{}}}}",
                "config.json: .linux.resources.pids.limit: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"hugepageLimits\":[{\"pageSize\":"
                "\"2MB\"}]}}}",
                "config.json: .linux.resources.hugepageLimits[0].limit: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"seccomp\":{}}}",
                "config.json: .linux.seccomp.defaultAction: missing required field");
  expect_error (
    CONFIG,
    "{\"ociVersion\":\"1\",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
    "\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_ERRNO\"}]}}}",
    "config.json: .linux.seccomp.syscalls[0].names: expected at least one syscall name");
  expect_error (
    CONFIG,
    "{\"ociVersion\":\"1\",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
    "\"syscalls\":[{\"names\":[\"a\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{"
    "\"index\":0,\"value\":1}]}]}}}",
    "config.json: .linux.seccomp.syscalls[0].args[0].op: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"vm\":{}}",
                "config.json: .vm.kernel: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"vm\":{\"kernel\":{\"path\":\"/k\"},\"image\":{"
                "\"path\":\"/i\"}}}",
                "config.json: .vm.image.format: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"vm\":{\"kernel\":{\"path\":\"/k\"},\"hwConfig\":{"
                "\"iomems\":[{\"firstMFN\":1}]}}}",
                "config.json: .vm.hwConfig.iomems[0].nrMFNs: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"memoryPolicy\":{\"nodes\":\"0\"}}}",
                "config.json: .linux.memoryPolicy.mode: missing required field");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"personality\":{}}}",
                "config.json: .linux.personality.domain: missing required field");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"consoleSize\":{"
                "\"height\":1}}}",
                "config.json: .process.consoleSize.width: missing required field");

  /* Enumerations and patterns. */
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"namespaces\":[{\"type\":\"foo\"}]}}",
                "config.json: .linux.namespaces[0].type: unknown namespace type \"foo\" (expected "
                "one of: mount, pid, network, uts, ipc, user, cgroup, time)");
  expect_error_ex (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"rootfsPropagation\":\"bogus\"}}",
                   "config.json: .linux.rootfsPropagation: unknown rootfs propagation \"bogus\"",
                   true);
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"linux\":{\"devices\":[{\"type\":\"x\",\"path\":\"/d\"}]"
                   "}}",
                   "config.json: .linux.devices[0].type: unknown device type \"x\"", true);
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":"
                "\"NOFILE\",\"soft\":1,\"hard\":1}]}}",
                "config.json: .process.rlimits[0].type: invalid rlimit type \"NOFILE\" (expected "
                "RLIMIT_ and capital letters, e.g. RLIMIT_NOFILE)");
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"type\":"
                   "\"RLIMIT_nofile\",\"soft\":1,\"hard\":1}]}}",
                   "config.json: .process.rlimits[0].type: invalid rlimit type", true);
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"rlimits\":[{\"soft\":1,"
                   "\"hard\":1}]}}",
                   "config.json: .process.rlimits[0].type: missing required field", false);
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"hugepageLimits\":[{\"pageSize\":"
                "\"02MB\",\"limit\":1}]}}}",
                "config.json: .linux.resources.hugepageLimits[0].pageSize: invalid page size "
                "\"02MB\" (expected e.g. 2MB)");
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"ioPriority\":{\"class\":"
                   "\"IOPRIO_CLASS_NONE\"}}}",
                   "config.json: .process.ioPriority.class: unknown I/O priority class "
                   "\"IOPRIO_CLASS_NONE\"",
                   true);
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"ioPriority\":{}}}",
                "config.json: .process.ioPriority.class: missing required field");
  expect_error_ex (
    CONFIG,
    "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"scheduler\":{\"policy\":"
    "\"SCHED_FAST\"}}}",
    "config.json: .process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\"", true);
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"scheduler\":{}}}",
                "config.json: .process.scheduler.policy: missing required field");
  expect_error_ex (
    CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"memoryPolicy\":{\"mode\":\"MPOL_ANY\"}}}",
    "config.json: .linux.memoryPolicy.mode: unknown memory policy mode \"MPOL_ANY\"", true);
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"linux\":{\"personality\":{\"domain\":\"LINUX64\"}}}",
                   "config.json: .linux.personality.domain: unknown personality domain "
                   "\"LINUX64\"",
                   true);
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"vm\":{\"kernel\":{\"path\":\"/k\"},\"image\":{"
                   "\"path\":\"/i\",\"format\":\"iso\"}}}",
                   "config.json: .vm.image.format: unknown image format \"iso\"", true);
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"process\":{\"cwd\":\"/\",\"execCPUAffinity\":{\"initial\":"
                "\"all\"}}}",
                "config.json: .process.execCPUAffinity.initial: invalid CPU list \"all\" "
                "(expected a CPU list such as 0-3,7)");
  expect_error_ex (
    CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"intelRdt\":{\"memBwSchema\":\"L3:0\"}}}",
    "config.json: .linux.intelRdt.memBwSchema: invalid memory bandwidth schema", true);
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"hooks\":{\"prestart\":[{\"path\":\"/h\","
                "\"timeout\":0}]}}",
                "config.json: .hooks.prestart[0].timeout: expected a positive number of seconds, "
                "got 0");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"resources\":{\"rdma\":{\"mlx\":{\"hcaObjects\":"
                "-1}}}}}",
                "config.json: .linux.resources.rdma.mlx.hcaObjects: expected a uint32, got -1 "
                "(negative)");
  expect_error (CONFIG,
                "{\"ociVersion\":\"1\",\"linux\":{\"timeOffsets\":{\"monotonic\":{"
                "\"secs\":\"1\"}}}}",
                "config.json: .linux.timeOffsets.monotonic.secs: expected an int64, got a string");
  expect_error (CONFIG, "{\"ociVersion\":\"1\",\"linux\":{\"netDevices\":{\"eth0\":[]}}}",
                "config.json: .linux.netDevices.eth0: expected an object, got an array");
  /* A long value is shortened in the message. */
  expect_error_ex (CONFIG,
                   "{\"ociVersion\":\"1\",\"linux\":{\"namespaces\":[{\"type\":"
                   "\"0123456789012345678901234567890123456789012345678901234567890123456789\"}]}}",
                   "config.json: .linux.namespaces[0].type: unknown namespace type "
                   "\"0123456789012345678901234567890123456789012345678901234567890123...\"",
                   true);

  /* Invalid JSON. */
  expect_error_ex (CONFIG, "{]", "config.json: invalid JSON: ", true);
  expect_error_ex (CONFIG, "", "config.json: invalid JSON: ", true);
  expect_error_ex (CONFIG, "{\"ociVersion\":\"1\"} x", "config.json: invalid JSON: ", true);
  expect_error_ex (CONFIG, "{\"ociVersion\":\"1\",", "config.json: invalid JSON: ", true);
  expect_error_ex (CONFIG, "{\n  \"ociVersion\": \"1\",\n  \"root\": {\"path\": }\n}",
                   "config.json: invalid JSON: ", true);
  {
    char *err = NULL;
    const char *text = "{\n  \"ociVersion\": \"1\",\n  \"root\": {\"path\": }\n}";
    struct oci_config *c = oci_config_parse_data (text, strlen (text), "config.json", &err);
    ok (c == NULL && err && strstr (err, "(line 3, column") != NULL && strchr (err, '\n') == NULL,
        "invalid JSON message is one line with the line number");
    diag ("message", err);
    free (err);
    oci_config_free (c);

    text = "{\"ociVersion\":\"1\"}\0{\"x\":1}";
    c = oci_config_parse_data (text, 26, "config.json", &err);
    ok (c == NULL && err
          && strcmp (err, "config.json: invalid JSON: parse error: trailing garbage (line 1, "
                          "column 19)")
               == 0,
        "NUL byte after the document is refused");
    diag ("message", err);
    free (err);
    oci_config_free (c);

    text = "{\"ociVersion\":\"1\",\"hostname\":\"a\\u0000b\"}";
    c = oci_config_parse_data (text, strlen (text), "config.json", &err);
    ok (c == NULL && err
          && strstr (err, "config.json: invalid JSON: string with a NUL character") == err,
        "\\u0000 inside a string is refused (it would truncate the C string)");
    diag ("message", err);
    free (err);
    oci_config_free (c);

    text = "{\"ociVersion\":\"1\",\n";
    c = oci_config_parse_data (text, strlen (text), "config.json", &err);
    ok (
      c == NULL && err
        && strcmp (err, "config.json: invalid JSON: parse error: premature EOF (line 2, column 1)")
             == 0,
      "premature EOF is reported at the end of the text");
    diag ("message", err);
    free (err);
    oci_config_free (c);

    text = "{\"ociVersion\":\"1\",\"x\":\"\xff\xfe\"}";
    c = oci_config_parse_data (text, strlen (text), "config.json", &err);
    ok (c == NULL && err && strstr (err, "config.json: invalid JSON: ") == err,
        "invalid UTF-8 is refused");
    diag ("message", err);
    free (err);
    oci_config_free (c);
  }
  {
    size_t depth = 100000, i, n;
    char *deep = malloc (2 * depth + 64), *err = NULL;
    struct oci_config *c;

    strcpy (deep, "{\"ociVersion\":\"1\",\"x\":");
    n = strlen (deep);
    for (i = 0; i < depth; i++)
      deep[n++] = '[';
    for (i = 0; i < depth; i++)
      deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    c = oci_config_parse_data (deep, n, "config.json", &err);
    ok (c == NULL && err
          && strstr (err, "config.json: invalid JSON: nested too deeply (line 1, column ") == err,
        "deep nesting is refused");
    free (err);
    oci_config_free (c);
    free (deep);
  }

  /* Missing file. */
  {
    char *err = NULL;
    struct oci_config *c
      = oci_config_parse_file ("/nonexistent-capsa/config.json", "config.json", &err);
    ok (c == NULL && err
          && strcmp (err, "open /nonexistent-capsa/config.json: No such file or directory") == 0,
        "missing file: open error names the path");
    diag ("message", err);
    free (err);
  }
}

static void test_lenient (void)
{
  /* Unknown fields at every level are ignored (forward compatibility), as are solaris & co. */
  expect_output (CONFIG, "unknown fields are ignored",
                 "{\"ociVersion\":\"1\",\"future\":{\"a\":[1,{\"b\":null}]},\"process\":{\"cwd\":"
                 "\"/\",\"newThing\":1,\"user\":{\"uid\":0,\"extra\":\"x\"}},\"linux\":{\"nope\":"
                 "true,\"resources\":{\"oomScoreAdj\":100}},\"windows\":{\"layerFolders\":[]},"
                 "\"solaris\":{},\"zos\":1,\"freebsd\":[]}",
                 "{\"ociVersion\":\"1\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\"},"
                 "\"linux\":{\"resources\":{}}}");
  /* null is the same as absent. */
  expect_output (
    CONFIG, "null members are absent",
    "{\"ociVersion\":\"1\",\"root\":null,\"hostname\":null,\"annotations\":null,"
    "\"process\":{\"cwd\":\"/\",\"args\":null,\"oomScoreAdj\":null}}",
    "{\"ociVersion\":\"1\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\"}}");
  /* Repeated keys: the last one wins, without leaks. */
  expect_output (CONFIG, "repeated keys: the last wins",
                 "{\"ociVersion\":\"1\",\"ociVersion\":\"2\",\"root\":{\"path\":\"a\"},\"root\":{"
                 "\"path\":\"b\"},\"mounts\":[{\"destination\":\"/x\"}],\"mounts\":[],"
                 "\"annotations\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"},\"process\":{\"cwd\":\"/\","
                 "\"args\":[\"a\"],\"args\":[\"b\"],\"user\":{\"uid\":1,\"additionalGids\":[1]},"
                 "\"user\":{\"uid\":2}}}",
                 "{\"ociVersion\":\"2\",\"process\":{\"user\":{\"uid\":2,\"gid\":0},\"args\":["
                 "\"b\"],\"cwd\":\"/\"},\"root\":{\"path\":\"b\"},\"mounts\":[],\"annotations\":{"
                 "\"j\":\"2\",\"k\":\"3\"}}");
  {
    /* Many repeated keys in a large map (the sorted path of the de-duplication). */
    char *json = malloc (64 * 1024), *expected = malloc (64 * 1024);
    size_t n = 0, m = 0;
    int i;
    n += (size_t)sprintf (json + n, "{\"ociVersion\":\"1\",\"annotations\":{");
    m += (size_t)sprintf (expected + m, "{\"ociVersion\":\"1\",\"annotations\":{");
    for (i = 0; i < 200; i++)
      n += (size_t)sprintf (json + n, "%s\"k%d\":\"v%d\"", i ? "," : "", i % 50, i);
    for (i = 150; i < 200; i++)
      m += (size_t)sprintf (expected + m, "%s\"k%d\":\"v%d\"", i > 150 ? "," : "", i % 50, i);
    strcpy (json + n, "}}");
    strcpy (expected + m, "}}");
    expect_output (CONFIG, "large map with repeated keys keeps the last values", json, expected);
    free (json);
    free (expected);
  }
  expect_output (CONFIG, "empty arrays and maps are kept",
                 "{\"ociVersion\":\"1\",\"process\":{\"user\":{\"uid\":0,\"gid\":0,"
                 "\"additionalGids\":[]},\"args\":[],\"env\":[],\"cwd\":\"\",\"capabilities\":{},"
                 "\"rlimits\":[]},\"mounts\":[],\"hooks\":{},\"linux\":{\"uidMappings\":[],"
                 "\"sysctl\":{},\"resources\":{\"devices\":[],\"rdma\":{},\"unified\":{}},"
                 "\"namespaces\":[],\"devices\":[],\"maskedPaths\":[],\"timeOffsets\":{},"
                 "\"netDevices\":{}},\"annotations\":{}}",
                 NULL);
  expect_output (CONFIG, "minimal config generates only ociVersion", "{\"ociVersion\":\"\"}", NULL);
  expect_output (CONFIG, "comments are accepted (as yajl_tree does)",
                 "/* hello */ {\"ociVersion\":\"1\" // x\n}", "{\"ociVersion\":\"1\"}");
  expect_output (CONFIG, "unicode escapes and special characters",
                 "{\"ociVersion\":\"1\",\"hostname\":\"\\u00e9t\\u00e9 \\\"q\\\" \\\\ \\t\"}",
                 "{\"ociVersion\":\"1\",\"hostname\":\"\xc3\xa9t\xc3\xa9 \\\"q\\\" \\\\ \\t\"}");
  expect_output (CONFIG, "fileMode and -0 style numbers",
                 "{\"ociVersion\":\"1\",\"linux\":{\"devices\":[{\"path\":\"/d\",\"type\":\"c\","
                 "\"major\":-0,\"fileMode\":0}]}}",
                 "{\"ociVersion\":\"1\",\"linux\":{\"devices\":[{\"path\":\"/d\",\"type\":\"c\","
                 "\"major\":0,\"fileMode\":0}]}}");
}

static void test_process_json (void)
{
  char *err = NULL;
  const char *text = "{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"/bin/sh\","
                     "\"-c\",\"echo hi\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/tmp\","
                     "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"]},\"noNewPrivileges\":true}";
  struct oci_process *p = oci_process_parse_data (text, strlen (text), "process.json", &err);

  ok (p != NULL && p->args_len == 3 && strcmp (p->args[2], "echo hi") == 0
        && strcmp (p->cwd, "/tmp") == 0 && p->no_new_privileges && !p->terminal && p->capabilities
        && p->capabilities->bounding_len == 1,
      "process.json parses");
  if (p == NULL)
    diag ("error", err);
  free (err);
  oci_process_free (p);
  expect_output (PROCESS, "process.json round trip",
                 "{\"terminal\":true,\"user\":{\"uid\":5,\"gid\":6,\"umask\":63},\"args\":[\"a\"],"
                 "\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0}],"
                 "\"apparmorProfile\":\"unconfined\"}",
                 NULL);
  expect_error (PROCESS, "{\"cwd\":\"/\",\"args\":\"sh\"}",
                "process.json: .args: expected an array of strings, got a string");
  expect_error (PROCESS, "{\"args\":[\"sh\"]}", "process.json: .cwd: missing required field");
  expect_error (PROCESS, "{\"cwd\":\"/\",\"user\":{\"uid\":-1}}",
                "process.json: .user.uid: expected a uint32, got -1 (negative)");
  expect_error_ex (PROCESS, "[", "process.json: invalid JSON: ", true);
  expect_error (PROCESS, "[]", "process.json: expected an object, got an array");

  /* From a file, with the default name. */
  {
    char path[] = "/tmp/capsa-test-ocispec-XXXXXX";
    int fd = mkstemp (path);
    FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;
    if (f)
      {
        fputs ("{\"cwd\":\"/\",\"env\":[1]}", f);
        fclose (f);
      }
    p = oci_process_parse_file (path, "process.json", &err);
    ok (p == NULL && err
          && strcmp (err, "process.json: .env[0]: expected a string, got a number") == 0,
        "process.json from a file: error names the file and path");
    diag ("message", err);
    free (err);
    oci_process_free (p);
    unlink (path);
  }
}

static void test_state (void)
{
  struct oci_state s = { 0 };
  struct oci_kv ann[] = { { (char *)"k", (char *)"v" } };
  char *err = NULL, *text;
  struct oci_state *back;

  s.oci_version = (char *)"1.3.0";
  s.id = (char *)"ctr";
  s.status = (char *)"running";
  s.pid = 4242;
  s.pid_present = true;
  s.bundle = (char *)"/b";
  s.annotations = ann;
  s.annotations_len = 1;
  text = oci_state_generate (&s, false);
  ok (text
        && strcmp (text, "{\"ociVersion\":\"1.3.0\",\"id\":\"ctr\",\"status\":\"running\","
                         "\"pid\":4242,\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\"}}")
             == 0,
      "state generate");
  back = text ? oci_state_parse_data (text, strlen (text), NULL, &err) : NULL;
  ok (back && back->pid_present && back->pid == 4242 && strcmp (back->status, "running") == 0
        && strcmp (back->bundle, "/b") == 0 && back->annotations_len == 1,
      "state parse of generated text");
  free (err);
  free (text);
  oci_state_free (back);

  s.pid_present = false;
  s.annotations = NULL;
  s.annotations_len = 0;
  text = oci_state_generate (&s, true);
  ok (text && strstr (text, "pid") == NULL && strstr (text, "annotations") == NULL,
      "state without pid and annotations omits them");
  free (text);

  expect_error (STATE, "{\"ociVersion\":\"1\",\"id\":\"x\",\"status\":\"running\"}",
                "state.json: .bundle: missing required field");
  expect_error (STATE, "{\"ociVersion\":\"1\",\"status\":\"running\",\"bundle\":\"/b\"}",
                "state.json: .id: missing required field");
  expect_error_ex (STATE,
                   "{\"ociVersion\":\"1\",\"id\":\"x\",\"status\":\"paused\",\"bundle\":\"/\"}",
                   "state.json: .status: unknown status \"paused\"", true);
  expect_error (STATE,
                "{\"ociVersion\":\"1\",\"id\":\"x\",\"status\":\"running\",\"bundle\":\"/\","
                "\"pid\":-1}",
                "state.json: .pid: expected a process ID (0 to 2147483647), got -1 (out of range)");
  expect_output (STATE, "state with pid 0",
                 "{\"ociVersion\":\"1\",\"id\":\"x\",\"status\":\"stopped\",\"pid\":0,\"bundle\":"
                 "\"/\"}",
                 NULL);
}

static void test_generate_from_scratch (void)
{
  /* A config built in C (as `capsa spec` does) generates valid, re-parseable JSON. */
  char *args[] = { (char *)"sh" };
  struct oci_namespace ns[] = { { (char *)"pid", NULL }, { (char *)"mount", NULL } };
  struct oci_rlimit rl[] = { { (char *)"RLIMIT_NOFILE", UINT64_MAX, 1024 } };
  struct oci_process proc = { 0 };
  struct oci_root root = { (char *)"rootfs", true };
  struct oci_linux lx = { 0 };
  struct oci_config c = { 0 };
  char *err = NULL, *text;
  struct oci_config *back;

  proc.args = args;
  proc.args_len = 1;
  proc.cwd = (char *)"/";
  proc.rlimits = rl;
  proc.rlimits_len = 1;
  lx.namespaces = ns;
  lx.namespaces_len = 2;
  c.oci_version = (char *)"1.3.0";
  c.root = &root;
  c.process = &proc;
  c.linux_ = &lx;
  text = oci_config_generate (&c, false);
  ok (text
        && strcmp (text, "{\"ociVersion\":\"1.3.0\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
                         "\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":"
                         "\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":18446744073709551615}]},"
                         "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"linux\":{"
                         "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}")
             == 0,
      "generate from a C struct");
  diag ("generated", text);
  back = text ? oci_config_parse_data (text, strlen (text), NULL, &err) : NULL;
  ok (back && back->process->rlimits[0].soft == UINT64_MAX && back->linux_->namespaces_len == 2,
      "generated config parses back");
  free (err);
  free (text);
  oci_config_free (back);
}

int main (int argc, char **argv)
{
  const char *spec = argc > 1 ? argv[1] : NULL;

  if (spec == NULL)
    {
      fprintf (stderr, "usage: %s RUNTIME-SPEC-DIR\n", argv[0]);
      return 2;
    }
  test_examples (spec, "config", CONFIG);
  test_examples (spec, "state", STATE);
  test_bad_example_texts (spec);
  test_spec_example (spec);
  test_everything ();
  test_errors ();
  test_lenient ();
  test_process_json ();
  test_state ();
  test_generate_from_scratch ();
  printf ("%d passed, %d failed, 0 skipped\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
