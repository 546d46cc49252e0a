/* capsa: VM isolation mode ("sandbox"): the container's init runs a hypervisor whose guest runs
 * the workload under capsa's agent.  container.c calls these at fixed points of the lifecycle
 * when ctx->vm is set (chosen by capsa_sandbox_wanted at create). */
#ifndef CAPSA_SANDBOX_H
#define CAPSA_SANDBOX_H

#include <stdbool.h>
#include "internal.h"
#include "state.h"

/* Runtime side, before clone: is VM mode requested for this config (annotation
 * run.oci.handler=vm, a `vm` section, or capsa invoked as capsa-vm)?  Errors for an invalid
 * request (e.g. run.oci.handler with an unknown value). Returns 1 (VM), 0 (container), -1. */
int capsa_sandbox_wanted (const struct oci_config *c, const char *argv0, capsa_error_t *err);

/* Runtime side, at create of a VM-mode container, after capsa_sandbox_wanted: a container that
 * the CRI annotations make a member of a pod whose sandbox is a running VM-mode container (same
 * state root) becomes a guest container of that VM (ctx->vm_pod); errors name the annotation.
 * The sandbox itself (container-type "sandbox") starts the VM that its members join. */
int capsa_sandbox_pod_join (struct capsa_ctx *ctx, capsa_error_t *err);
/* Runtime side, at delete of a VM-mode container: a pod member's rootfs leaves its sandbox's VM. */
void capsa_sandbox_delete (const char *dir, const struct capsa_state_file *st);
/* Runtime side, at `update` of a running VM-mode container (after its host cgroup): a pod
 * member's memory and pids limits go to its cgroup in the guest. */
int capsa_sandbox_update (const char *dir, const struct capsa_state_file *st,
                          const struct oci_resources *r, capsa_error_t *err);

/* Runtime side, for `events --stats`: the state dir of the sandbox of the pod member whose state
 * dir is `dir` (malloc'd), or NULL when it is no VM pod member.  The member's cgroup files in the
 * guest (cpu.stat, memory.*, pids.*), copied into `outdir`, an empty directory. */
char *capsa_sandbox_of_member (const char *dir, const struct capsa_state_file *st);
int capsa_sandbox_member_stats (const char *sandbox_dir, const char *member, const char *outdir,
                                capsa_error_t *err);

/* In the container init, in place of capsa_rootfs_prepare: the VMM's mount namespace view. */
int capsa_sandbox_prepare (struct capsa_ctx *ctx, capsa_error_t *err);
/* In the container init, in place of capsa_rootfs_finalize (after createContainer hooks). */
int capsa_sandbox_finalize (struct capsa_ctx *ctx, capsa_error_t *err);
/* In the VM-mode init after capsa_sandbox_finalize: open `fd` (an O_PATH fd) again with
 * `flags`, as open("/proc/self/fd/N") does where the process has a /proc. */
int capsa_sandbox_reopen (int fd, int flags);
/* In the container init, in place of capsa_process_exec: execve the hypervisor.  Returns only on
 * error. */
int capsa_sandbox_exec (struct capsa_ctx *ctx, capsa_error_t *err);

/* Runtime side, for a VM-mode container (state->vm): deliver `sig` to the workload in the guest
 * (dir is the container's state dir). */
int capsa_sandbox_kill (const char *dir, const struct capsa_state_file *st, int sig,
                        capsa_error_t *err);

/* For `features` and `--version`: the default hypervisor's path (malloc'd; NULL when none is
 * installed) and, in *accel, the acceleration a VM gets here ("kvm" or "tcg"). */
char *capsa_sandbox_hypervisor (const char **accel);

/* Runtime side, for `capsa exec` into a running VM-mode container (dir: its state dir; the
 * caller holds no lock on it): runs process `p` in the guest (args, env, cwd, user, groups, umask,
 * rlimits) with our stdin/stdout/stderr relayed through the VM's control channel.
 * - p->terminal: the process gets a pty of the guest; with `console_socket`, the master of a
 *   host pty whose raw slave relays to the guest's goes to that socket; else our own terminal
 *   (raw meanwhile) is relayed.
 * - foreground: forwards our signals (and terminal size) to the process and returns its exit
 *   status (code, 128+signal, 126/127 when it cannot be executed, with the reason on its
 *   stderr); `pid_file` gets our pid.
 * - `detach`: returns 0 once the process runs.  A proxy process of the host stands for it and
 *   is what `pid_file` names: it exits with the process's status, forwards the signals it gets,
 *   and killing it (SIGKILL) kills the process in the guest. */
int capsa_sandbox_exec_process (const char *dir, const struct oci_process *p,
                                const char *console_socket, bool detach, const char *pid_file,
                                capsa_error_t *err);

#endif
