/* capsa: OCI runtime-spec types.  Parsed from and generated to JSON with yajl.
 *
 * Conventions (every type below follows them):
 *  - JSON camelCase names become snake_case fields.
 *  - An optional JSON string is a `char *` that is NULL when absent.
 *  - An optional JSON number is the value plus a `bool <name>_present`.
 *  - An optional JSON object is a pointer that is NULL when absent.
 *  - A JSON array of T is `T *name; size_t name_len;` (T is `char *` for strings; string
 *    arrays are also NULL-terminated, so args/env can go to execve as they are).
 *  - A JSON object used as a string map is `struct oci_kv *name; size_t name_len;`.
 *  - An array or map present but empty in the JSON has a non-NULL pointer and length 0; an
 *    absent one is NULL (so generate(parse(x)) keeps the difference).  JSON null = absent.
 *  - Every parser returns NULL and sets *err to an allocated one-line message naming the
 *    file and JSON path ("config.json: .process.args: expected an array of strings").
 */
#ifndef OCI_SPEC_H
#define OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oci_kv
{
  char *key;
  char *value;
};

struct oci_id_mapping
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct oci_mount
{
  char *destination; /* required */
  char *type;
  char *source;
  char **options;
  size_t options_len;
  struct oci_id_mapping *uid_mappings;
  size_t uid_mappings_len;
  struct oci_id_mapping *gid_mappings;
  size_t gid_mappings_len;
};

struct oci_hook
{
  char *path; /* required */
  char **args;
  size_t args_len;
  char **env;
  size_t env_len;
  int64_t timeout; /* seconds, > 0 */
  bool timeout_present;
};

struct oci_hooks
{
  struct oci_hook *prestart;
  size_t prestart_len;
  struct oci_hook *create_runtime;
  size_t create_runtime_len;
  struct oci_hook *create_container;
  size_t create_container_len;
  struct oci_hook *start_container;
  size_t start_container_len;
  struct oci_hook *poststart;
  size_t poststart_len;
  struct oci_hook *poststop;
  size_t poststop_len;
};

struct oci_root
{
  char *path; /* required */
  bool readonly;
};

struct oci_console_size
{
  uint32_t height;
  uint32_t width;
};

struct oci_user
{
  uint32_t uid;
  uint32_t gid;
  uint32_t umask;
  bool umask_present;
  uint32_t *additional_gids;
  size_t additional_gids_len;
  char *username;
};

struct oci_capabilities
{
  char **bounding;
  size_t bounding_len;
  char **effective;
  size_t effective_len;
  char **inheritable;
  size_t inheritable_len;
  char **permitted;
  size_t permitted_len;
  char **ambient;
  size_t ambient_len;
};

struct oci_rlimit
{
  char *type; /* "RLIMIT_NOFILE" */
  uint64_t soft;
  uint64_t hard;
};

struct oci_scheduler
{
  char *policy; /* required: SCHED_OTHER, SCHED_FIFO, ... */
  int32_t nice;
  bool nice_present;
  int32_t priority;
  bool priority_present;
  char **flags;
  size_t flags_len;
  uint64_t runtime;
  bool runtime_present;
  uint64_t deadline;
  bool deadline_present;
  uint64_t period;
  bool period_present;
};

struct oci_io_priority
{
  char *class_; /* required: IOPRIO_CLASS_RT|BE|IDLE */
  int32_t priority;
  bool priority_present;
};

struct oci_exec_cpu_affinity
{
  char *initial;
  char *final;
};

/* Used both as config.json's .process and as exec's process.json (the root object). */
struct oci_process
{
  bool terminal;
  struct oci_console_size *console_size;
  struct oci_user user;
  char **args;
  size_t args_len;
  char *command_line;
  char **env;
  size_t env_len;
  char *cwd; /* required */
  struct oci_capabilities *capabilities;
  struct oci_rlimit *rlimits;
  size_t rlimits_len;
  bool no_new_privileges;
  char *apparmor_profile;
  int32_t oom_score_adj;
  bool oom_score_adj_present;
  struct oci_scheduler *scheduler;
  char *selinux_label;
  struct oci_io_priority *io_priority;
  struct oci_exec_cpu_affinity *exec_cpu_affinity;
};

struct oci_namespace
{
  char *type; /* required: pid network mount ipc uts user cgroup time */
  char *path;
};

struct oci_device
{
  char *type; /* required: c b u p */
  char *path; /* required */
  int64_t major;
  bool major_present;
  int64_t minor;
  bool minor_present;
  uint32_t file_mode;
  bool file_mode_present;
  uint32_t uid;
  bool uid_present;
  uint32_t gid;
  bool gid_present;
};

struct oci_device_cgroup
{
  bool allow; /* required */
  char *type;
  int64_t major;
  bool major_present;
  int64_t minor;
  bool minor_present;
  char *access;
};

struct oci_memory
{
  int64_t limit;
  bool limit_present;
  int64_t reservation;
  bool reservation_present;
  int64_t swap;
  bool swap_present;
  int64_t kernel;
  bool kernel_present;
  int64_t kernel_tcp;
  bool kernel_tcp_present;
  uint64_t swappiness;
  bool swappiness_present;
  bool disable_oom_killer;
  bool disable_oom_killer_present;
  bool use_hierarchy;
  bool use_hierarchy_present;
  bool check_before_update;
  bool check_before_update_present;
};

struct oci_cpu
{
  uint64_t shares;
  bool shares_present;
  int64_t quota;
  bool quota_present;
  uint64_t burst;
  bool burst_present;
  uint64_t period;
  bool period_present;
  int64_t realtime_runtime;
  bool realtime_runtime_present;
  uint64_t realtime_period;
  bool realtime_period_present;
  char *cpus;
  char *mems;
  int64_t idle;
  bool idle_present;
};

struct oci_pids
{
  int64_t limit; /* required */
};

struct oci_block_io_device_weight
{
  int64_t major;
  int64_t minor;
  uint16_t weight;
  bool weight_present;
  uint16_t leaf_weight;
  bool leaf_weight_present;
};

struct oci_block_io_device_throttle
{
  int64_t major;
  int64_t minor;
  uint64_t rate;
  bool rate_present;
};

struct oci_block_io
{
  uint16_t weight;
  bool weight_present;
  uint16_t leaf_weight;
  bool leaf_weight_present;
  struct oci_block_io_device_weight *weight_device;
  size_t weight_device_len;
  struct oci_block_io_device_throttle *throttle_read_bps_device;
  size_t throttle_read_bps_device_len;
  struct oci_block_io_device_throttle *throttle_write_bps_device;
  size_t throttle_write_bps_device_len;
  struct oci_block_io_device_throttle *throttle_read_iops_device;
  size_t throttle_read_iops_device_len;
  struct oci_block_io_device_throttle *throttle_write_iops_device;
  size_t throttle_write_iops_device_len;
};

struct oci_hugepage_limit
{
  char *page_size; /* required, ^[1-9][0-9]*[KMG]B$ */
  uint64_t limit;  /* required */
};

struct oci_network_priority
{
  char *name;
  uint32_t priority;
};

struct oci_network
{
  uint32_t class_id;
  bool class_id_present;
  struct oci_network_priority *priorities;
  size_t priorities_len;
};

struct oci_rdma_entry
{
  char *name; /* the map key */
  uint32_t hca_handles;
  bool hca_handles_present;
  uint32_t hca_objects;
  bool hca_objects_present;
};

struct oci_resources
{
  struct oci_device_cgroup *devices;
  size_t devices_len;
  struct oci_memory *memory;
  struct oci_cpu *cpu;
  struct oci_pids *pids;
  struct oci_block_io *block_io;
  struct oci_hugepage_limit *hugepage_limits;
  size_t hugepage_limits_len;
  struct oci_network *network;
  struct oci_rdma_entry *rdma;
  size_t rdma_len;
  struct oci_kv *unified;
  size_t unified_len;
};

struct oci_seccomp_arg
{
  uint32_t index; /* required */
  uint64_t value; /* required */
  uint64_t value_two;
  bool value_two_present;
  char *op; /* required: SCMP_CMP_* */
};

struct oci_seccomp_syscall
{
  char **names; /* required, non-empty */
  size_t names_len;
  char *action; /* required: SCMP_ACT_* */
  uint32_t errno_ret;
  bool errno_ret_present;
  struct oci_seccomp_arg *args;
  size_t args_len;
};

struct oci_seccomp
{
  char *default_action; /* required */
  uint32_t default_errno_ret;
  bool default_errno_ret_present;
  char **architectures;
  size_t architectures_len;
  char **flags;
  size_t flags_len;
  char *listener_path;
  char *listener_metadata;
  struct oci_seccomp_syscall *syscalls;
  size_t syscalls_len;
};

struct oci_intel_rdt
{
  char *clos_id;
  char *l3_cache_schema;
  char *mem_bw_schema;
  char **schemata;
  size_t schemata_len;
  bool enable_monitoring;
};

struct oci_memory_policy
{
  char *mode;  /* required: MPOL_* */
  char *nodes; /* optional (config-linux.md) */
  char **flags;
  size_t flags_len;
};

struct oci_time_offset
{
  char *clock; /* the map key: "monotonic" or "boottime" */
  int64_t secs;
  uint32_t nanosecs;
};

struct oci_net_device
{
  char *host_name; /* the map key */
  char *name;
};

struct oci_personality
{
  char *domain; /* required: LINUX or LINUX32 */
  char **flags;
  size_t flags_len;
};

struct oci_linux
{
  struct oci_id_mapping *uid_mappings;
  size_t uid_mappings_len;
  struct oci_id_mapping *gid_mappings;
  size_t gid_mappings_len;
  struct oci_kv *sysctl;
  size_t sysctl_len;
  struct oci_resources *resources;
  char *cgroups_path;
  struct oci_namespace *namespaces;
  size_t namespaces_len;
  struct oci_device *devices;
  size_t devices_len;
  struct oci_seccomp *seccomp;
  char *rootfs_propagation;
  char **masked_paths;
  size_t masked_paths_len;
  char **readonly_paths;
  size_t readonly_paths_len;
  char *mount_label;
  struct oci_intel_rdt *intel_rdt;
  struct oci_memory_policy *memory_policy;
  struct oci_time_offset *time_offsets;
  size_t time_offsets_len;
  struct oci_net_device *net_devices;
  size_t net_devices_len;
  struct oci_personality *personality;
};

struct oci_vm_hypervisor
{
  char *path; /* required */
  char **parameters;
  size_t parameters_len;
};

struct oci_vm_kernel
{
  char *path; /* required */
  char **parameters;
  size_t parameters_len;
  char *initrd;
};

struct oci_vm_image
{
  char *path;   /* required */
  char *format; /* required: raw qcow2 vdi vmdk vhd */
};

struct oci_vm_iomem
{
  uint64_t first_gfn;
  bool first_gfn_present;
  uint64_t first_mfn;
  uint64_t nr_mfns;
};

struct oci_vm_hw_config
{
  char *device_tree;
  uint32_t vcpus;
  bool vcpus_present;
  uint64_t memory;
  bool memory_present;
  char **dtdevs;
  size_t dtdevs_len;
  struct oci_vm_iomem *iomems;
  size_t iomems_len;
  uint32_t *irqs;
  size_t irqs_len;
};

struct oci_vm
{
  struct oci_vm_hypervisor *hypervisor;
  struct oci_vm_kernel *kernel; /* required */
  struct oci_vm_image *image;
  struct oci_vm_hw_config *hw_config;
};

struct oci_config
{
  char *oci_version; /* required */
  struct oci_root *root;
  struct oci_mount *mounts;
  size_t mounts_len;
  struct oci_process *process;
  char *hostname;
  char *domainname;
  struct oci_hooks *hooks;
  struct oci_kv *annotations;
  size_t annotations_len;
  struct oci_linux *linux_; /* "linux" (a macro in C) */
  struct oci_vm *vm;
  const char *other_platform; /* "solaris", "windows", "zos" or "freebsd" when that section is
                                 present (not parsed further; a static string) */
};

/* The OCI state document (`capsa state`, and what hooks get on stdin). */
struct oci_state
{
  char *oci_version; /* required */
  char *id;          /* required */
  char *status;      /* required: creating created running stopped */
  int pid;
  bool pid_present;
  char *bundle; /* required */
  struct oci_kv *annotations;
  size_t annotations_len;
};

/* Parsers.  `name` is the file name used in messages (e.g. "config.json").  On failure they
 * return NULL and set *err (free it with free()). */
struct oci_config *oci_config_parse_file (const char *path, const char *name, char **err);
struct oci_config *oci_config_parse_data (const char *data, size_t len, const char *name,
                                          char **err);
struct oci_process *oci_process_parse_file (const char *path, const char *name, char **err);
struct oci_process *oci_process_parse_data (const char *data, size_t len, const char *name,
                                            char **err);
struct oci_state *oci_state_parse_file (const char *path, const char *name, char **err);
struct oci_state *oci_state_parse_data (const char *data, size_t len, const char *name, char **err);
/* A linux.resources object alone (`capsa update --resources`); messages name the path as in a
 * config (".linux.resources.cpu.shares"). */
struct oci_resources *oci_resources_parse_data (const char *data, size_t len, const char *name,
                                                char **err);

/* Generators: return a malloc'd NUL-terminated JSON text (pretty when `pretty`), NULL on ENOMEM. */
char *oci_config_generate (const struct oci_config *c, bool pretty);
char *oci_process_generate (const struct oci_process *p, bool pretty);
char *oci_state_generate (const struct oci_state *s, bool pretty);

void oci_config_free (struct oci_config *c);
void oci_process_free (struct oci_process *p);
void oci_state_free (struct oci_state *s);
void oci_resources_free (struct oci_resources *r);

/* Lookup helper for string maps: the value for `key` or NULL. */
const char *oci_kv_get (const struct oci_kv *kv, size_t len, const char *key);

#endif
