/* capsa: private helpers shared by the libocispec parser, generator and destructors. */
#ifndef OCI_JSON_H
#define OCI_JSON_H

#include "oci_spec.h"

/* Destructors for one element of an array (or one owned object): they free the members, not
 * the element itself.  They take `void *` so they can be passed around as callbacks without
 * casting function pointers. */
void oci_json_clear_kv (void *p);
void oci_json_clear_id_mapping (void *p);
void oci_json_clear_mount (void *p);
void oci_json_clear_hook (void *p);
void oci_json_clear_hooks (void *p);
void oci_json_clear_root (void *p);
void oci_json_clear_console_size (void *p);
void oci_json_clear_user (void *p);
void oci_json_clear_capabilities (void *p);
void oci_json_clear_rlimit (void *p);
void oci_json_clear_scheduler (void *p);
void oci_json_clear_io_priority (void *p);
void oci_json_clear_exec_cpu_affinity (void *p);
void oci_json_clear_process (void *p);
void oci_json_clear_namespace (void *p);
void oci_json_clear_device (void *p);
void oci_json_clear_device_cgroup (void *p);
void oci_json_clear_memory (void *p);
void oci_json_clear_cpu (void *p);
void oci_json_clear_pids (void *p);
void oci_json_clear_block_io_device_weight (void *p);
void oci_json_clear_block_io_device_throttle (void *p);
void oci_json_clear_block_io (void *p);
void oci_json_clear_hugepage_limit (void *p);
void oci_json_clear_network_priority (void *p);
void oci_json_clear_network (void *p);
void oci_json_clear_rdma_entry (void *p);
void oci_json_clear_resources (void *p);
void oci_json_clear_seccomp_arg (void *p);
void oci_json_clear_seccomp_syscall (void *p);
void oci_json_clear_seccomp (void *p);
void oci_json_clear_intel_rdt (void *p);
void oci_json_clear_memory_policy (void *p);
void oci_json_clear_time_offset (void *p);
void oci_json_clear_net_device (void *p);
void oci_json_clear_personality (void *p);
void oci_json_clear_linux (void *p);
void oci_json_clear_vm_hypervisor (void *p);
void oci_json_clear_vm_kernel (void *p);
void oci_json_clear_vm_image (void *p);
void oci_json_clear_vm_iomem (void *p);
void oci_json_clear_vm_hw_config (void *p);
void oci_json_clear_vm (void *p);
void oci_json_clear_config (void *p);
void oci_json_clear_state (void *p);

/* Free an owned object: clear it, then free the pointer.  NULL-safe. */
void oci_json_free_object (void *p, void (*clear) (void *));
/* Free an array of `len` elements of `size` bytes, clearing each one.  NULL-safe. */
void oci_json_free_array (void *array, size_t len, size_t size, void (*clear) (void *));
/* Free an array of `len` strings.  NULL-safe. */
void oci_json_free_strings (char **strings, size_t len);

/* An empty JSON array or object that was present in the input is stored as a non-NULL pointer
 * with length 0, so that generate(parse(x)) keeps it; an absent one is NULL. */
void *oci_json_alloc_array (size_t len, size_t size);

#endif
