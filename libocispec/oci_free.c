/* capsa: destructors for the runtime-spec types of oci_spec.h. */
#include <stdlib.h>

#include "oci_json.h"

#define FREE_ARRAY(arr, len, type)                                                                 \
  oci_json_free_array ((arr), (len), sizeof (*(arr)), oci_json_clear_##type)
#define FREE_OBJECT(ptr, type) oci_json_free_object ((ptr), oci_json_clear_##type)

void *oci_json_alloc_array (size_t len, size_t size)
{
  /* Never zero bytes: a present empty array must be non-NULL. */
  return calloc (len ? len : 1, size);
}

void oci_json_free_object (void *p, void (*clear) (void *))
{
  if (p == NULL)
    return;
  clear (p);
  free (p);
}

void oci_json_free_array (void *array, size_t len, size_t size, void (*clear) (void *))
{
  char *a = array;
  size_t i;

  if (a == NULL)
    return;
  for (i = 0; i < len; i++)
    clear (a + i * size);
  free (a);
}

void oci_json_free_strings (char **strings, size_t len)
{
  size_t i;

  if (strings == NULL)
    return;
  for (i = 0; i < len; i++)
    free (strings[i]);
  free (strings);
}

void oci_json_clear_kv (void *p)
{
  struct oci_kv *kv = p;
  free (kv->key);
  free (kv->value);
}

void oci_json_clear_id_mapping (void *p)
{
}

void oci_json_clear_mount (void *p)
{
  struct oci_mount *m = p;
  free (m->destination);
  free (m->type);
  free (m->source);
  oci_json_free_strings (m->options, m->options_len);
  FREE_ARRAY (m->uid_mappings, m->uid_mappings_len, id_mapping);
  FREE_ARRAY (m->gid_mappings, m->gid_mappings_len, id_mapping);
}

void oci_json_clear_hook (void *p)
{
  struct oci_hook *h = p;
  free (h->path);
  oci_json_free_strings (h->args, h->args_len);
  oci_json_free_strings (h->env, h->env_len);
}

void oci_json_clear_hooks (void *p)
{
  struct oci_hooks *h = p;
  FREE_ARRAY (h->prestart, h->prestart_len, hook);
  FREE_ARRAY (h->create_runtime, h->create_runtime_len, hook);
  FREE_ARRAY (h->create_container, h->create_container_len, hook);
  FREE_ARRAY (h->start_container, h->start_container_len, hook);
  FREE_ARRAY (h->poststart, h->poststart_len, hook);
  FREE_ARRAY (h->poststop, h->poststop_len, hook);
}

void oci_json_clear_root (void *p)
{
  struct oci_root *r = p;
  free (r->path);
}

void oci_json_clear_console_size (void *p)
{
}

void oci_json_clear_user (void *p)
{
  struct oci_user *u = p;
  free (u->additional_gids);
  free (u->username);
}

void oci_json_clear_capabilities (void *p)
{
  struct oci_capabilities *c = p;
  oci_json_free_strings (c->bounding, c->bounding_len);
  oci_json_free_strings (c->effective, c->effective_len);
  oci_json_free_strings (c->inheritable, c->inheritable_len);
  oci_json_free_strings (c->permitted, c->permitted_len);
  oci_json_free_strings (c->ambient, c->ambient_len);
}

void oci_json_clear_rlimit (void *p)
{
  struct oci_rlimit *r = p;
  free (r->type);
}

void oci_json_clear_scheduler (void *p)
{
  struct oci_scheduler *s = p;
  free (s->policy);
  oci_json_free_strings (s->flags, s->flags_len);
}

void oci_json_clear_io_priority (void *p)
{
  struct oci_io_priority *io = p;
  free (io->class_);
}

void oci_json_clear_exec_cpu_affinity (void *p)
{
  struct oci_exec_cpu_affinity *a = p;
  free (a->initial);
  free (a->final);
}

void oci_json_clear_process (void *p)
{
  struct oci_process *pr = p;
  free (pr->console_size);
  oci_json_clear_user (&pr->user);
  oci_json_free_strings (pr->args, pr->args_len);
  free (pr->command_line);
  oci_json_free_strings (pr->env, pr->env_len);
  free (pr->cwd);
  FREE_OBJECT (pr->capabilities, capabilities);
  FREE_ARRAY (pr->rlimits, pr->rlimits_len, rlimit);
  free (pr->apparmor_profile);
  FREE_OBJECT (pr->scheduler, scheduler);
  free (pr->selinux_label);
  FREE_OBJECT (pr->io_priority, io_priority);
  FREE_OBJECT (pr->exec_cpu_affinity, exec_cpu_affinity);
}

void oci_json_clear_namespace (void *p)
{
  struct oci_namespace *ns = p;
  free (ns->type);
  free (ns->path);
}

void oci_json_clear_device (void *p)
{
  struct oci_device *d = p;
  free (d->type);
  free (d->path);
}

void oci_json_clear_device_cgroup (void *p)
{
  struct oci_device_cgroup *d = p;
  free (d->type);
  free (d->access);
}

void oci_json_clear_memory (void *p)
{
}

void oci_json_clear_cpu (void *p)
{
  struct oci_cpu *c = p;
  free (c->cpus);
  free (c->mems);
}

void oci_json_clear_pids (void *p)
{
}

void oci_json_clear_block_io_device_weight (void *p)
{
}

void oci_json_clear_block_io_device_throttle (void *p)
{
}

void oci_json_clear_block_io (void *p)
{
  struct oci_block_io *b = p;
  FREE_ARRAY (b->weight_device, b->weight_device_len, block_io_device_weight);
  FREE_ARRAY (b->throttle_read_bps_device, b->throttle_read_bps_device_len,
              block_io_device_throttle);
  FREE_ARRAY (b->throttle_write_bps_device, b->throttle_write_bps_device_len,
              block_io_device_throttle);
  FREE_ARRAY (b->throttle_read_iops_device, b->throttle_read_iops_device_len,
              block_io_device_throttle);
  FREE_ARRAY (b->throttle_write_iops_device, b->throttle_write_iops_device_len,
              block_io_device_throttle);
}

void oci_json_clear_hugepage_limit (void *p)
{
  struct oci_hugepage_limit *h = p;
  free (h->page_size);
}

void oci_json_clear_network_priority (void *p)
{
  struct oci_network_priority *n = p;
  free (n->name);
}

void oci_json_clear_network (void *p)
{
  struct oci_network *n = p;
  FREE_ARRAY (n->priorities, n->priorities_len, network_priority);
}

void oci_json_clear_rdma_entry (void *p)
{
  struct oci_rdma_entry *r = p;
  free (r->name);
}

void oci_json_clear_resources (void *p)
{
  struct oci_resources *r = p;
  FREE_ARRAY (r->devices, r->devices_len, device_cgroup);
  FREE_OBJECT (r->memory, memory);
  FREE_OBJECT (r->cpu, cpu);
  FREE_OBJECT (r->pids, pids);
  FREE_OBJECT (r->block_io, block_io);
  FREE_ARRAY (r->hugepage_limits, r->hugepage_limits_len, hugepage_limit);
  FREE_OBJECT (r->network, network);
  FREE_ARRAY (r->rdma, r->rdma_len, rdma_entry);
  FREE_ARRAY (r->unified, r->unified_len, kv);
}

void oci_json_clear_seccomp_arg (void *p)
{
  struct oci_seccomp_arg *a = p;
  free (a->op);
}

void oci_json_clear_seccomp_syscall (void *p)
{
  struct oci_seccomp_syscall *s = p;
  oci_json_free_strings (s->names, s->names_len);
  free (s->action);
  FREE_ARRAY (s->args, s->args_len, seccomp_arg);
}

void oci_json_clear_seccomp (void *p)
{
  struct oci_seccomp *s = p;
  free (s->default_action);
  oci_json_free_strings (s->architectures, s->architectures_len);
  oci_json_free_strings (s->flags, s->flags_len);
  free (s->listener_path);
  free (s->listener_metadata);
  FREE_ARRAY (s->syscalls, s->syscalls_len, seccomp_syscall);
}

void oci_json_clear_intel_rdt (void *p)
{
  struct oci_intel_rdt *r = p;
  free (r->clos_id);
  free (r->l3_cache_schema);
  free (r->mem_bw_schema);
  oci_json_free_strings (r->schemata, r->schemata_len);
}

void oci_json_clear_memory_policy (void *p)
{
  struct oci_memory_policy *m = p;
  free (m->mode);
  free (m->nodes);
  oci_json_free_strings (m->flags, m->flags_len);
}

void oci_json_clear_time_offset (void *p)
{
  struct oci_time_offset *t = p;
  free (t->clock);
}

void oci_json_clear_net_device (void *p)
{
  struct oci_net_device *n = p;
  free (n->host_name);
  free (n->name);
}

void oci_json_clear_personality (void *p)
{
  struct oci_personality *pe = p;
  free (pe->domain);
  oci_json_free_strings (pe->flags, pe->flags_len);
}

void oci_json_clear_linux (void *p)
{
  struct oci_linux *l = p;
  FREE_ARRAY (l->uid_mappings, l->uid_mappings_len, id_mapping);
  FREE_ARRAY (l->gid_mappings, l->gid_mappings_len, id_mapping);
  FREE_ARRAY (l->sysctl, l->sysctl_len, kv);
  FREE_OBJECT (l->resources, resources);
  free (l->cgroups_path);
  FREE_ARRAY (l->namespaces, l->namespaces_len, namespace);
  FREE_ARRAY (l->devices, l->devices_len, device);
  FREE_OBJECT (l->seccomp, seccomp);
  free (l->rootfs_propagation);
  oci_json_free_strings (l->masked_paths, l->masked_paths_len);
  oci_json_free_strings (l->readonly_paths, l->readonly_paths_len);
  free (l->mount_label);
  FREE_OBJECT (l->intel_rdt, intel_rdt);
  FREE_OBJECT (l->memory_policy, memory_policy);
  FREE_ARRAY (l->time_offsets, l->time_offsets_len, time_offset);
  FREE_ARRAY (l->net_devices, l->net_devices_len, net_device);
  FREE_OBJECT (l->personality, personality);
}

void oci_json_clear_vm_hypervisor (void *p)
{
  struct oci_vm_hypervisor *h = p;
  free (h->path);
  oci_json_free_strings (h->parameters, h->parameters_len);
}

void oci_json_clear_vm_kernel (void *p)
{
  struct oci_vm_kernel *k = p;
  free (k->path);
  oci_json_free_strings (k->parameters, k->parameters_len);
  free (k->initrd);
}

void oci_json_clear_vm_image (void *p)
{
  struct oci_vm_image *i = p;
  free (i->path);
  free (i->format);
}

void oci_json_clear_vm_iomem (void *p)
{
}

void oci_json_clear_vm_hw_config (void *p)
{
  struct oci_vm_hw_config *h = p;
  free (h->device_tree);
  oci_json_free_strings (h->dtdevs, h->dtdevs_len);
  FREE_ARRAY (h->iomems, h->iomems_len, vm_iomem);
  free (h->irqs);
}

void oci_json_clear_vm (void *p)
{
  struct oci_vm *vm = p;
  FREE_OBJECT (vm->hypervisor, vm_hypervisor);
  FREE_OBJECT (vm->kernel, vm_kernel);
  FREE_OBJECT (vm->image, vm_image);
  FREE_OBJECT (vm->hw_config, vm_hw_config);
}

void oci_json_clear_config (void *p)
{
  struct oci_config *c = p;
  free (c->oci_version);
  FREE_OBJECT (c->root, root);
  FREE_ARRAY (c->mounts, c->mounts_len, mount);
  FREE_OBJECT (c->process, process);
  free (c->hostname);
  free (c->domainname);
  FREE_OBJECT (c->hooks, hooks);
  FREE_ARRAY (c->annotations, c->annotations_len, kv);
  FREE_OBJECT (c->linux_, linux);
  FREE_OBJECT (c->vm, vm);
}

void oci_json_clear_state (void *p)
{
  struct oci_state *s = p;
  free (s->oci_version);
  free (s->id);
  free (s->status);
  free (s->bundle);
  FREE_ARRAY (s->annotations, s->annotations_len, kv);
}

void oci_config_free (struct oci_config *c)
{
  oci_json_free_object (c, oci_json_clear_config);
}

void oci_process_free (struct oci_process *p)
{
  oci_json_free_object (p, oci_json_clear_process);
}

void oci_state_free (struct oci_state *s)
{
  oci_json_free_object (s, oci_json_clear_state);
}

void oci_resources_free (struct oci_resources *r)
{
  oci_json_free_object (r, oci_json_clear_resources);
}
