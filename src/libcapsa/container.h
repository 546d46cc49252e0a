/* capsa: the runtime's public surface, called by src/cmd/. */
#ifndef CAPSA_CONTAINER_H
#define CAPSA_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "error.h"

/* The runtime-spec version capsa implements: `capsa --version`, `capsa spec`, features. */
#define CAPSA_OCI_VERSION "1.3.0"

/* Global options (runc and crun spellings both map here). */
struct capsa_global
{
  const char *root; /* state root; default /run/capsa, or $XDG_RUNTIME_DIR/capsa unprivileged */
  const char *cgroup_manager; /* "cgroupfs" (default), "systemd", "disabled" */
  bool rootless;
  bool debug;
  const char *argv0;
  const char *criu; /* --criu: the CRIU binary for checkpoint/restore (default "criu") */
};

struct capsa_create_opts
{
  const char *id;
  const char *bundle;      /* default: cwd */
  const char *config_file; /* default: <bundle>/config.json */
  const char *pid_file;
  const char *console_socket;
  int preserve_fds; /* fds 3 .. 3+N-1 are passed to the container process */
  bool no_pivot;
  bool no_new_keyring;
  bool detach;       /* run: return after start */
  bool keep;         /* run: do not delete the container after it exits */
  bool no_subreaper; /* run: orphans of the container are not reparented to capsa */
};

/* True when the runtime is unprivileged on the host: its euid is not 0, or it is root only in a
 * user namespace whose uid map is not the identity over the whole id range (rootless podman runs
 * the runtime so).  Such a runtime keeps its state under $XDG_RUNTIME_DIR and may lack cgroups. */
bool capsa_unprivileged (void);

/* create: the container process waits for `start`. */
int capsa_container_create (struct capsa_global *g, const struct capsa_create_opts *o,
                            capsa_error_t *err);
/* run: create + start; in the foreground returns the exit status (>= 0) of the container process
 * (128+N when killed by signal N). */
int capsa_container_run (struct capsa_global *g, const struct capsa_create_opts *o,
                         capsa_error_t *err);
int capsa_container_start (struct capsa_global *g, const char *id, capsa_error_t *err);
/* exec: a new process in a running (or created) container. */
struct capsa_exec_opts
{
  const char *id;
  const char *process_file; /* -p process.json: used as it is, the flags below do not apply */
  char **args;              /* the command (when no process file) */
  size_t args_len;
  bool tty;
  const char *console_socket;
  const char *cwd;
  char **env; /* NAME=VALUE, appended to the container's env */
  size_t env_len;
  const char *user; /* "UID[:GID]" */
  char **additional_gids;
  size_t additional_gids_len;
  char **caps; /* added to the bounding, effective and permitted sets */
  size_t caps_len;
  bool no_new_privs;
  const char *process_label;
  const char *apparmor;
  bool detach;
  const char *pid_file;
  int preserve_fds;
  char **cgroups; /* --cgroup [CONTROLLERS:]SUBPATH */
  size_t cgroups_len;
  bool ignore_paused;
};
/* In the foreground returns the exit status (>= 0) of the process (128+N when killed by signal
 * N); detached returns 0 once the process runs. */
int capsa_container_exec (struct capsa_global *g, const struct capsa_exec_opts *o,
                          capsa_error_t *err);

/* The OCI state JSON, malloc'd, in *out. */
int capsa_container_state (struct capsa_global *g, const char *id, char **out, capsa_error_t *err);
int capsa_container_kill (struct capsa_global *g, const char *id, int sig, bool all,
                          capsa_error_t *err);
int capsa_container_delete (struct capsa_global *g, const char *id, bool force, capsa_error_t *err);
/* Delete (forced) container `id` only if it is still the one whose init is `pid` started at
 * `start_time`: the delete after a workload ended (restore in the foreground, checkpoint), when
 * the id may name another container by now.  Gone or another's: nothing to do, success. */
int capsa_container_delete_own (struct capsa_global *g, const char *id, pid_t pid,
                                unsigned long long start_time, capsa_error_t *err);

/* ps: the host pids of the container's processes as a JSON array ("[1,2]\n") when `json`, else
 * the output of `ps PS_ARGS` (default -ef) restricted to those pids; malloc'd in *out. */
int capsa_container_ps (struct capsa_global *g, const char *id, bool json, char *const *ps_args,
                        size_t nargs, char **out, capsa_error_t *err);
/* pause/resume: freeze and thaw the container's cgroup. */
int capsa_container_pause (struct capsa_global *g, const char *id, capsa_error_t *err);
int capsa_container_resume (struct capsa_global *g, const char *id, capsa_error_t *err);

/* update: linux.resources from `resources_file` ("-": stdin), then the flags (as typed, NULL
 * when not given) on top. */
struct capsa_update_opts
{
  const char *resources_file;
  const char *blkio_weight;
  const char *cpu_period;
  const char *cpu_quota;
  const char *cpu_shares;
  const char *cpu_rt_period;
  const char *cpu_rt_runtime;
  const char *cpuset_cpus;
  const char *cpuset_mems;
  const char *memory;
  const char *memory_reservation;
  const char *memory_swap;
  const char *kernel_memory;
  const char *kernel_memory_tcp;
  const char *pids_limit;
  const char *l3_cache_schema;
  const char *mem_bw_schema;
};
int capsa_container_update (struct capsa_global *g, const char *id,
                            const struct capsa_update_opts *o, capsa_error_t *err);
/* events: one stats JSON line (`stats_once`), or stats every `interval_ms` plus
 * {"type":"oom"} events until the container stops. */
int capsa_container_events (struct capsa_global *g, const char *id, bool stats_once,
                            int interval_ms, FILE *out, capsa_error_t *err);
/* A byte count: "-1" or a number with an optional binary unit (512k, 10m, 1.5g, 1GiB). */
int capsa_parse_bytes (const char *s, int64_t *out);

struct capsa_container_info
{
  char *id;
  pid_t pid; /* 0 when stopped */
  char *status;
  char *bundle;
  char *created; /* RFC 3339 */
  char *owner;
};
int capsa_container_list (struct capsa_global *g, struct capsa_container_info **out, size_t *n,
                          capsa_error_t *err);
void capsa_container_info_free (struct capsa_container_info *list, size_t n);

/* Validate a container id: [A-Za-z0-9][A-Za-z0-9_+.-]*, at most 1024 bytes, no "." or "..". */
int capsa_validate_id (const char *id, capsa_error_t *err);
/* Signal by name ("KILL", "SIGKILL", "kill") or number. */
int capsa_parse_signal (const char *s, capsa_error_t *err);

/* `capsa spec`: the default config.json text (rootless variant when asked), malloc'd. */
char *capsa_spec_default (bool rootless);

/* checkpoint/restore with CRIU (checkpoint.c), runc's options and meaning. */
struct capsa_checkpoint_opts
{
  const char *id;
  const char *image_path;          /* default: ./checkpoint */
  const char *work_path;           /* CRIU's logs; default: the image path */
  const char *parent_path;         /* pre-dump images, relative to the image path */
  const char *manage_cgroups_mode; /* soft (default), full, strict, ignore */
  char **empty_ns;                 /* namespace types made empty at restore ("network") */
  size_t empty_ns_len;
  bool leave_running;
  bool tcp_established;
  bool ext_unix_sk;
  bool shell_job;
  bool file_locks;
  bool pre_dump;
  bool auto_dedup;
  bool lazy_pages;
  int status_fd; /* -1: none */
};
int capsa_container_checkpoint (struct capsa_global *g, const struct capsa_checkpoint_opts *o,
                                capsa_error_t *err);
struct capsa_restore_opts
{
  const char *id;
  const char *bundle; /* default: cwd */
  const char *image_path;
  const char *work_path;
  const char *pid_file;
  const char *console_socket;
  const char *manage_cgroups_mode;
  char **empty_ns;
  size_t empty_ns_len;
  bool detach;
  bool no_pivot;
  bool no_subreaper;
  bool tcp_established;
  bool ext_unix_sk;
  bool shell_job;
  bool file_locks;
  bool auto_dedup;
  bool lazy_pages;
};
/* Detached: 0 once the restored container runs.  In the foreground: its exit status, after
 * which the container is deleted (as `run` does). */
int capsa_container_restore (struct capsa_global *g, const struct capsa_restore_opts *o,
                             capsa_error_t *err);
/* Whether CRIU (`criu`: a path or a name in PATH) can checkpoint on this host: 1 with
 * *version ("3.17.1"), 0 with *reason (why not: not found, `criu check`'s first error), both
 * malloc'd (either may be NULL on 1/0). */
int capsa_criu_available (const char *criu, char **version, char **reason);
/* `capsa features`: the features document, malloc'd JSON text; `criu` as --criu gave it. */
char *capsa_features_json (const char *criu);
/* The "vm: <hypervisor> (<kvm|tcg>)" line of --version, malloc'd. */
char *capsa_vm_description (void);
/* The "+FEATURE ..." line of --version (without the newline). */
const char *capsa_feature_line (void);

/* cloned-binary.c, for the commands that execve container programs (create, run, exec).
 * Re-execute capsa through a read-only bind mount of its binary in no mount namespace (else from
 * a sealed memfd copy) unless already running from one (returns 0 then; on success of the
 * re-exec it does not return).  Protects the host binary from being rewritten through
 * /proc/<pid>/exe by a container that makes capsa run inside it. */
int capsa_ensure_cloned_binary (char **argv, capsa_error_t *err);
/* Move the environment to the heap and zero the original block, which /proc/<pid>/environ of
 * this process and of its clones (the container init, the exec child) would show. */
int capsa_scrub_environment (capsa_error_t *err);

#endif
