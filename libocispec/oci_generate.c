/* capsa: generate config.json, process.json and state.json text (yajl_gen) from oci_spec.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "oci_json.h"

/* Members are written in the order of the spec's documents; absent optional members are
 * omitted; empty-but-present arrays and maps are written as [] and {}. */

static void gkey (yajl_gen g, const char *key)
{
  yajl_gen_string (g, (const unsigned char *)key, strlen (key));
}

static void gstrval (yajl_gen g, const char *s)
{
  yajl_gen_string (g, (const unsigned char *)s, strlen (s));
}

static void gstr (yajl_gen g, const char *key, const char *s)
{
  if (s == NULL)
    return;
  gkey (g, key);
  gstrval (g, s);
}

static void gu64val (yajl_gen g, uint64_t v)
{
  char buf[32];
  int n = snprintf (buf, sizeof (buf), "%" PRIu64, v);
  yajl_gen_number (g, buf, (size_t)n);
}

static void gu64 (yajl_gen g, const char *key, uint64_t v, bool present)
{
  if (!present)
    return;
  gkey (g, key);
  gu64val (g, v);
}

static void gi64 (yajl_gen g, const char *key, int64_t v, bool present)
{
  if (!present)
    return;
  gkey (g, key);
  yajl_gen_integer (g, (long long)v);
}

static void gbool (yajl_gen g, const char *key, bool v, bool present)
{
  if (!present)
    return;
  gkey (g, key);
  yajl_gen_bool (g, v);
}

static void gstrings (yajl_gen g, const char *key, char *const *a, size_t n)
{
  size_t i;

  if (a == NULL && n == 0)
    return;
  gkey (g, key);
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    gstrval (g, a[i] ? a[i] : "");
  yajl_gen_array_close (g);
}

static void gmap (yajl_gen g, const char *key, const struct oci_kv *kv, size_t n)
{
  size_t i;

  if (kv == NULL && n == 0)
    return;
  gkey (g, key);
  yajl_gen_map_open (g);
  for (i = 0; i < n; i++)
    {
      gstrval (g, kv[i].key ? kv[i].key : "");
      gstrval (g, kv[i].value ? kv[i].value : "");
    }
  yajl_gen_map_close (g);
}

static void gen_id_mappings (yajl_gen g, const char *key, const struct oci_id_mapping *m, size_t n)
{
  size_t i;

  if (m == NULL && n == 0)
    return;
  gkey (g, key);
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    {
      yajl_gen_map_open (g);
      gu64 (g, "containerID", m[i].container_id, true);
      gu64 (g, "hostID", m[i].host_id, true);
      gu64 (g, "size", m[i].size, true);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

/* Open `"key": [` for an array of objects, or return false when it is absent. */
static bool gen_array_open (yajl_gen g, const char *key, const void *a, size_t n)
{
  if (a == NULL && n == 0)
    return false;
  gkey (g, key);
  yajl_gen_array_open (g);
  return true;
}

static void gen_hooks_array (yajl_gen g, const char *key, const struct oci_hook *h, size_t n)
{
  size_t i;

  if (!gen_array_open (g, key, h, n))
    return;
  for (i = 0; i < n; i++)
    {
      yajl_gen_map_open (g);
      gstr (g, "path", h[i].path);
      gstrings (g, "args", h[i].args, h[i].args_len);
      gstrings (g, "env", h[i].env, h[i].env_len);
      gi64 (g, "timeout", h[i].timeout, h[i].timeout_present);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

static void gen_process (yajl_gen g, const struct oci_process *p)
{
  size_t i;

  yajl_gen_map_open (g);
  gbool (g, "terminal", true, p->terminal);
  if (p->console_size)
    {
      gkey (g, "consoleSize");
      yajl_gen_map_open (g);
      gu64 (g, "height", p->console_size->height, true);
      gu64 (g, "width", p->console_size->width, true);
      yajl_gen_map_close (g);
    }
  gkey (g, "user");
  yajl_gen_map_open (g);
  gu64 (g, "uid", p->user.uid, true);
  gu64 (g, "gid", p->user.gid, true);
  gu64 (g, "umask", p->user.umask, p->user.umask_present);
  if (p->user.additional_gids || p->user.additional_gids_len)
    {
      gkey (g, "additionalGids");
      yajl_gen_array_open (g);
      for (i = 0; i < p->user.additional_gids_len; i++)
        gu64val (g, p->user.additional_gids[i]);
      yajl_gen_array_close (g);
    }
  gstr (g, "username", p->user.username);
  yajl_gen_map_close (g);
  gstrings (g, "args", p->args, p->args_len);
  gstr (g, "commandLine", p->command_line);
  gstrings (g, "env", p->env, p->env_len);
  gstr (g, "cwd", p->cwd);
  if (p->capabilities)
    {
      const struct oci_capabilities *c = p->capabilities;
      gkey (g, "capabilities");
      yajl_gen_map_open (g);
      gstrings (g, "bounding", c->bounding, c->bounding_len);
      gstrings (g, "effective", c->effective, c->effective_len);
      gstrings (g, "inheritable", c->inheritable, c->inheritable_len);
      gstrings (g, "permitted", c->permitted, c->permitted_len);
      gstrings (g, "ambient", c->ambient, c->ambient_len);
      yajl_gen_map_close (g);
    }
  if (gen_array_open (g, "rlimits", p->rlimits, p->rlimits_len))
    {
      for (i = 0; i < p->rlimits_len; i++)
        {
          yajl_gen_map_open (g);
          gstr (g, "type", p->rlimits[i].type);
          gu64 (g, "hard", p->rlimits[i].hard, true);
          gu64 (g, "soft", p->rlimits[i].soft, true);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  gbool (g, "noNewPrivileges", true, p->no_new_privileges);
  gstr (g, "apparmorProfile", p->apparmor_profile);
  gi64 (g, "oomScoreAdj", p->oom_score_adj, p->oom_score_adj_present);
  if (p->scheduler)
    {
      const struct oci_scheduler *s = p->scheduler;
      gkey (g, "scheduler");
      yajl_gen_map_open (g);
      gstr (g, "policy", s->policy);
      gi64 (g, "nice", s->nice, s->nice_present);
      gi64 (g, "priority", s->priority, s->priority_present);
      gstrings (g, "flags", s->flags, s->flags_len);
      gu64 (g, "runtime", s->runtime, s->runtime_present);
      gu64 (g, "deadline", s->deadline, s->deadline_present);
      gu64 (g, "period", s->period, s->period_present);
      yajl_gen_map_close (g);
    }
  gstr (g, "selinuxLabel", p->selinux_label);
  if (p->io_priority)
    {
      gkey (g, "ioPriority");
      yajl_gen_map_open (g);
      gstr (g, "class", p->io_priority->class_);
      gi64 (g, "priority", p->io_priority->priority, p->io_priority->priority_present);
      yajl_gen_map_close (g);
    }
  if (p->exec_cpu_affinity)
    {
      gkey (g, "execCPUAffinity");
      yajl_gen_map_open (g);
      gstr (g, "initial", p->exec_cpu_affinity->initial);
      gstr (g, "final", p->exec_cpu_affinity->final);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
}

static void gen_throttle (yajl_gen g, const char *key, const struct oci_block_io_device_throttle *t,
                          size_t n)
{
  size_t i;

  if (!gen_array_open (g, key, t, n))
    return;
  for (i = 0; i < n; i++)
    {
      yajl_gen_map_open (g);
      gi64 (g, "major", t[i].major, true);
      gi64 (g, "minor", t[i].minor, true);
      gu64 (g, "rate", t[i].rate, t[i].rate_present);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

static void gen_resources (yajl_gen g, const struct oci_resources *r)
{
  size_t i;

  gkey (g, "resources");
  yajl_gen_map_open (g);
  if (gen_array_open (g, "devices", r->devices, r->devices_len))
    {
      for (i = 0; i < r->devices_len; i++)
        {
          const struct oci_device_cgroup *d = &r->devices[i];
          yajl_gen_map_open (g);
          gbool (g, "allow", d->allow, true);
          gstr (g, "type", d->type);
          gi64 (g, "major", d->major, d->major_present);
          gi64 (g, "minor", d->minor, d->minor_present);
          gstr (g, "access", d->access);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  if (r->memory)
    {
      const struct oci_memory *m = r->memory;
      gkey (g, "memory");
      yajl_gen_map_open (g);
      gi64 (g, "limit", m->limit, m->limit_present);
      gi64 (g, "reservation", m->reservation, m->reservation_present);
      gi64 (g, "swap", m->swap, m->swap_present);
      gi64 (g, "kernel", m->kernel, m->kernel_present);
      gi64 (g, "kernelTCP", m->kernel_tcp, m->kernel_tcp_present);
      gu64 (g, "swappiness", m->swappiness, m->swappiness_present);
      gbool (g, "disableOOMKiller", m->disable_oom_killer, m->disable_oom_killer_present);
      gbool (g, "useHierarchy", m->use_hierarchy, m->use_hierarchy_present);
      gbool (g, "checkBeforeUpdate", m->check_before_update, m->check_before_update_present);
      yajl_gen_map_close (g);
    }
  if (r->cpu)
    {
      const struct oci_cpu *c = r->cpu;
      gkey (g, "cpu");
      yajl_gen_map_open (g);
      gu64 (g, "shares", c->shares, c->shares_present);
      gi64 (g, "quota", c->quota, c->quota_present);
      gu64 (g, "burst", c->burst, c->burst_present);
      gu64 (g, "period", c->period, c->period_present);
      gi64 (g, "realtimeRuntime", c->realtime_runtime, c->realtime_runtime_present);
      gu64 (g, "realtimePeriod", c->realtime_period, c->realtime_period_present);
      gstr (g, "cpus", c->cpus);
      gstr (g, "mems", c->mems);
      gi64 (g, "idle", c->idle, c->idle_present);
      yajl_gen_map_close (g);
    }
  if (r->pids)
    {
      gkey (g, "pids");
      yajl_gen_map_open (g);
      gi64 (g, "limit", r->pids->limit, true);
      yajl_gen_map_close (g);
    }
  if (r->block_io)
    {
      const struct oci_block_io *b = r->block_io;
      gkey (g, "blockIO");
      yajl_gen_map_open (g);
      gu64 (g, "weight", b->weight, b->weight_present);
      gu64 (g, "leafWeight", b->leaf_weight, b->leaf_weight_present);
      if (gen_array_open (g, "weightDevice", b->weight_device, b->weight_device_len))
        {
          for (i = 0; i < b->weight_device_len; i++)
            {
              const struct oci_block_io_device_weight *w = &b->weight_device[i];
              yajl_gen_map_open (g);
              gi64 (g, "major", w->major, true);
              gi64 (g, "minor", w->minor, true);
              gu64 (g, "weight", w->weight, w->weight_present);
              gu64 (g, "leafWeight", w->leaf_weight, w->leaf_weight_present);
              yajl_gen_map_close (g);
            }
          yajl_gen_array_close (g);
        }
      gen_throttle (g, "throttleReadBpsDevice", b->throttle_read_bps_device,
                    b->throttle_read_bps_device_len);
      gen_throttle (g, "throttleWriteBpsDevice", b->throttle_write_bps_device,
                    b->throttle_write_bps_device_len);
      gen_throttle (g, "throttleReadIOPSDevice", b->throttle_read_iops_device,
                    b->throttle_read_iops_device_len);
      gen_throttle (g, "throttleWriteIOPSDevice", b->throttle_write_iops_device,
                    b->throttle_write_iops_device_len);
      yajl_gen_map_close (g);
    }
  if (gen_array_open (g, "hugepageLimits", r->hugepage_limits, r->hugepage_limits_len))
    {
      for (i = 0; i < r->hugepage_limits_len; i++)
        {
          yajl_gen_map_open (g);
          gstr (g, "pageSize", r->hugepage_limits[i].page_size);
          gu64 (g, "limit", r->hugepage_limits[i].limit, true);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  if (r->network)
    {
      const struct oci_network *n = r->network;
      gkey (g, "network");
      yajl_gen_map_open (g);
      gu64 (g, "classID", n->class_id, n->class_id_present);
      if (gen_array_open (g, "priorities", n->priorities, n->priorities_len))
        {
          for (i = 0; i < n->priorities_len; i++)
            {
              yajl_gen_map_open (g);
              gstr (g, "name", n->priorities[i].name);
              gu64 (g, "priority", n->priorities[i].priority, true);
              yajl_gen_map_close (g);
            }
          yajl_gen_array_close (g);
        }
      yajl_gen_map_close (g);
    }
  if (r->rdma || r->rdma_len)
    {
      gkey (g, "rdma");
      yajl_gen_map_open (g);
      for (i = 0; i < r->rdma_len; i++)
        {
          const struct oci_rdma_entry *e = &r->rdma[i];
          gstrval (g, e->name ? e->name : "");
          yajl_gen_map_open (g);
          gu64 (g, "hcaHandles", e->hca_handles, e->hca_handles_present);
          gu64 (g, "hcaObjects", e->hca_objects, e->hca_objects_present);
          yajl_gen_map_close (g);
        }
      yajl_gen_map_close (g);
    }
  gmap (g, "unified", r->unified, r->unified_len);
  yajl_gen_map_close (g);
}

static void gen_seccomp (yajl_gen g, const struct oci_seccomp *s)
{
  size_t i, j;

  gkey (g, "seccomp");
  yajl_gen_map_open (g);
  gstr (g, "defaultAction", s->default_action);
  gu64 (g, "defaultErrnoRet", s->default_errno_ret, s->default_errno_ret_present);
  gstrings (g, "architectures", s->architectures, s->architectures_len);
  gstrings (g, "flags", s->flags, s->flags_len);
  gstr (g, "listenerPath", s->listener_path);
  gstr (g, "listenerMetadata", s->listener_metadata);
  if (gen_array_open (g, "syscalls", s->syscalls, s->syscalls_len))
    {
      for (i = 0; i < s->syscalls_len; i++)
        {
          const struct oci_seccomp_syscall *sc = &s->syscalls[i];
          yajl_gen_map_open (g);
          gstrings (g, "names", sc->names, sc->names_len);
          gstr (g, "action", sc->action);
          gu64 (g, "errnoRet", sc->errno_ret, sc->errno_ret_present);
          if (gen_array_open (g, "args", sc->args, sc->args_len))
            {
              for (j = 0; j < sc->args_len; j++)
                {
                  const struct oci_seccomp_arg *a = &sc->args[j];
                  yajl_gen_map_open (g);
                  gu64 (g, "index", a->index, true);
                  gu64 (g, "value", a->value, true);
                  gu64 (g, "valueTwo", a->value_two, a->value_two_present);
                  gstr (g, "op", a->op);
                  yajl_gen_map_close (g);
                }
              yajl_gen_array_close (g);
            }
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  yajl_gen_map_close (g);
}

static void gen_linux (yajl_gen g, const struct oci_linux *l)
{
  size_t i;

  gkey (g, "linux");
  yajl_gen_map_open (g);
  gen_id_mappings (g, "uidMappings", l->uid_mappings, l->uid_mappings_len);
  gen_id_mappings (g, "gidMappings", l->gid_mappings, l->gid_mappings_len);
  gmap (g, "sysctl", l->sysctl, l->sysctl_len);
  if (l->resources)
    gen_resources (g, l->resources);
  gstr (g, "cgroupsPath", l->cgroups_path);
  if (gen_array_open (g, "namespaces", l->namespaces, l->namespaces_len))
    {
      for (i = 0; i < l->namespaces_len; i++)
        {
          yajl_gen_map_open (g);
          gstr (g, "type", l->namespaces[i].type);
          gstr (g, "path", l->namespaces[i].path);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  if (gen_array_open (g, "devices", l->devices, l->devices_len))
    {
      for (i = 0; i < l->devices_len; i++)
        {
          const struct oci_device *d = &l->devices[i];
          yajl_gen_map_open (g);
          gstr (g, "path", d->path);
          gstr (g, "type", d->type);
          gi64 (g, "major", d->major, d->major_present);
          gi64 (g, "minor", d->minor, d->minor_present);
          gu64 (g, "fileMode", d->file_mode, d->file_mode_present);
          gu64 (g, "uid", d->uid, d->uid_present);
          gu64 (g, "gid", d->gid, d->gid_present);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  if (l->seccomp)
    gen_seccomp (g, l->seccomp);
  gstr (g, "rootfsPropagation", l->rootfs_propagation);
  gstrings (g, "maskedPaths", l->masked_paths, l->masked_paths_len);
  gstrings (g, "readonlyPaths", l->readonly_paths, l->readonly_paths_len);
  gstr (g, "mountLabel", l->mount_label);
  if (l->intel_rdt)
    {
      const struct oci_intel_rdt *r = l->intel_rdt;
      gkey (g, "intelRdt");
      yajl_gen_map_open (g);
      gstr (g, "closID", r->clos_id);
      gstrings (g, "schemata", r->schemata, r->schemata_len);
      gstr (g, "l3CacheSchema", r->l3_cache_schema);
      gstr (g, "memBwSchema", r->mem_bw_schema);
      gbool (g, "enableMonitoring", true, r->enable_monitoring);
      yajl_gen_map_close (g);
    }
  if (l->memory_policy)
    {
      gkey (g, "memoryPolicy");
      yajl_gen_map_open (g);
      gstr (g, "mode", l->memory_policy->mode);
      gstr (g, "nodes", l->memory_policy->nodes);
      gstrings (g, "flags", l->memory_policy->flags, l->memory_policy->flags_len);
      yajl_gen_map_close (g);
    }
  if (l->time_offsets || l->time_offsets_len)
    {
      gkey (g, "timeOffsets");
      yajl_gen_map_open (g);
      for (i = 0; i < l->time_offsets_len; i++)
        {
          const struct oci_time_offset *t = &l->time_offsets[i];
          gstrval (g, t->clock ? t->clock : "");
          yajl_gen_map_open (g);
          gi64 (g, "secs", t->secs, true);
          gu64 (g, "nanosecs", t->nanosecs, true);
          yajl_gen_map_close (g);
        }
      yajl_gen_map_close (g);
    }
  if (l->net_devices || l->net_devices_len)
    {
      gkey (g, "netDevices");
      yajl_gen_map_open (g);
      for (i = 0; i < l->net_devices_len; i++)
        {
          const struct oci_net_device *n = &l->net_devices[i];
          gstrval (g, n->host_name ? n->host_name : "");
          yajl_gen_map_open (g);
          gstr (g, "name", n->name);
          yajl_gen_map_close (g);
        }
      yajl_gen_map_close (g);
    }
  if (l->personality)
    {
      gkey (g, "personality");
      yajl_gen_map_open (g);
      gstr (g, "domain", l->personality->domain);
      gstrings (g, "flags", l->personality->flags, l->personality->flags_len);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
}

static void gen_vm (yajl_gen g, const struct oci_vm *vm)
{
  size_t i;

  gkey (g, "vm");
  yajl_gen_map_open (g);
  if (vm->hypervisor)
    {
      gkey (g, "hypervisor");
      yajl_gen_map_open (g);
      gstr (g, "path", vm->hypervisor->path);
      gstrings (g, "parameters", vm->hypervisor->parameters, vm->hypervisor->parameters_len);
      yajl_gen_map_close (g);
    }
  if (vm->kernel)
    {
      gkey (g, "kernel");
      yajl_gen_map_open (g);
      gstr (g, "path", vm->kernel->path);
      gstrings (g, "parameters", vm->kernel->parameters, vm->kernel->parameters_len);
      gstr (g, "initrd", vm->kernel->initrd);
      yajl_gen_map_close (g);
    }
  if (vm->image)
    {
      gkey (g, "image");
      yajl_gen_map_open (g);
      gstr (g, "path", vm->image->path);
      gstr (g, "format", vm->image->format);
      yajl_gen_map_close (g);
    }
  if (vm->hw_config)
    {
      const struct oci_vm_hw_config *h = vm->hw_config;
      gkey (g, "hwConfig");
      yajl_gen_map_open (g);
      gstr (g, "deviceTree", h->device_tree);
      gu64 (g, "vcpus", h->vcpus, h->vcpus_present);
      gu64 (g, "memory", h->memory, h->memory_present);
      gstrings (g, "dtdevs", h->dtdevs, h->dtdevs_len);
      if (gen_array_open (g, "iomems", h->iomems, h->iomems_len))
        {
          for (i = 0; i < h->iomems_len; i++)
            {
              yajl_gen_map_open (g);
              gu64 (g, "firstGFN", h->iomems[i].first_gfn, h->iomems[i].first_gfn_present);
              gu64 (g, "firstMFN", h->iomems[i].first_mfn, true);
              gu64 (g, "nrMFNs", h->iomems[i].nr_mfns, true);
              yajl_gen_map_close (g);
            }
          yajl_gen_array_close (g);
        }
      if (gen_array_open (g, "irqs", h->irqs, h->irqs_len))
        {
          for (i = 0; i < h->irqs_len; i++)
            gu64val (g, h->irqs[i]);
          yajl_gen_array_close (g);
        }
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
}

static void gen_config (yajl_gen g, const struct oci_config *c)
{
  size_t i;

  yajl_gen_map_open (g);
  gstr (g, "ociVersion", c->oci_version);
  if (c->process)
    {
      gkey (g, "process");
      gen_process (g, c->process);
    }
  if (c->root)
    {
      gkey (g, "root");
      yajl_gen_map_open (g);
      gstr (g, "path", c->root->path);
      gbool (g, "readonly", true, c->root->readonly);
      yajl_gen_map_close (g);
    }
  gstr (g, "hostname", c->hostname);
  gstr (g, "domainname", c->domainname);
  if (gen_array_open (g, "mounts", c->mounts, c->mounts_len))
    {
      for (i = 0; i < c->mounts_len; i++)
        {
          const struct oci_mount *m = &c->mounts[i];
          yajl_gen_map_open (g);
          gstr (g, "destination", m->destination);
          gstr (g, "type", m->type);
          gstr (g, "source", m->source);
          gstrings (g, "options", m->options, m->options_len);
          gen_id_mappings (g, "uidMappings", m->uid_mappings, m->uid_mappings_len);
          gen_id_mappings (g, "gidMappings", m->gid_mappings, m->gid_mappings_len);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  if (c->hooks)
    {
      const struct oci_hooks *h = c->hooks;
      gkey (g, "hooks");
      yajl_gen_map_open (g);
      gen_hooks_array (g, "prestart", h->prestart, h->prestart_len);
      gen_hooks_array (g, "createRuntime", h->create_runtime, h->create_runtime_len);
      gen_hooks_array (g, "createContainer", h->create_container, h->create_container_len);
      gen_hooks_array (g, "startContainer", h->start_container, h->start_container_len);
      gen_hooks_array (g, "poststart", h->poststart, h->poststart_len);
      gen_hooks_array (g, "poststop", h->poststop, h->poststop_len);
      yajl_gen_map_close (g);
    }
  if (c->linux_)
    gen_linux (g, c->linux_);
  if (c->vm)
    gen_vm (g, c->vm);
  gmap (g, "annotations", c->annotations, c->annotations_len);
  yajl_gen_map_close (g);
}

static void gen_state (yajl_gen g, const struct oci_state *s)
{
  yajl_gen_map_open (g);
  gstr (g, "ociVersion", s->oci_version);
  gstr (g, "id", s->id);
  gstr (g, "status", s->status);
  gi64 (g, "pid", s->pid, s->pid_present);
  gstr (g, "bundle", s->bundle);
  gmap (g, "annotations", s->annotations, s->annotations_len);
  yajl_gen_map_close (g);
}

static yajl_gen gen_new (bool pretty)
{
  yajl_gen g = yajl_gen_alloc (NULL);

  if (g == NULL)
    return NULL;
  if (pretty)
    {
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_indent_string, "    ");
    }
  return g;
}

static char *gen_finish (yajl_gen g)
{
  const unsigned char *buf = NULL;
  size_t len = 0;
  char *out = NULL;

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

char *oci_config_generate (const struct oci_config *c, bool pretty)
{
  yajl_gen g = gen_new (pretty);

  if (g == NULL)
    return NULL;
  gen_config (g, c);
  return gen_finish (g);
}

char *oci_process_generate (const struct oci_process *p, bool pretty)
{
  yajl_gen g = gen_new (pretty);

  if (g == NULL)
    return NULL;
  gen_process (g, p);
  return gen_finish (g);
}

char *oci_state_generate (const struct oci_state *s, bool pretty)
{
  yajl_gen g = gen_new (pretty);

  if (g == NULL)
    return NULL;
  gen_state (g, s);
  return gen_finish (g);
}
