/* capsa: VM isolation mode internals shared by the sandbox/ files (not used outside). */
#ifndef CAPSA_SANDBOX_VM_H
#define CAPSA_SANDBOX_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "internal.h"

/* Inside the VMM's mount view (view.c builds it). */
#define VM_VIEW_KERNEL "/capsa/kernel"
#define VM_VIEW_INITRD "/capsa/initrd"
#define VM_VIEW_ROOTFS "/rootfs"
/* A pod sandbox's VM: a tmpfs exported to the guest as the pod share; each member container's
 * rootfs is mounted on /pod/<id> (pod.c). */
#define VM_VIEW_POD "/pod"
/* The control socket in the container's state dir: `kill` (and `exec`) connect to it. */
#define VM_CONTROL_SOCKET "vm.sock"

/* snapshot.c: a VM started from a saved boot, or saving its boot for later ones. */
enum
{
  VM_SNAP_NONE,
  VM_SNAP_RESTORE, /* fd: the saved state, given to QEMU as -incoming fd:VM_FD_EXTRA */
  VM_SNAP_SAVE     /* fd: the partial file `tmp`; qmp: the VMM's QMP monitor (VM_FD_EXTRA) */
};
struct capsa_vm_snapshot
{
  int mode;
  int fd, dirfd, qmp;
  char name[64], tmp[72]; /* in dirfd */
};

/* net.c: the VM's NICs.  Their count (and `user`) is the VM's shape; the rest are the
 * container's settings, sent to the agent as records (capsa_vm_net_send). */
#define VM_NET_MAX_NICS 8
struct capsa_vm_nic
{
  char name[16]; /* the interface's name in the container's network namespace, and the guest's */
  unsigned char mac[6];
  unsigned mtu;
  int ifindex;
  int tap_fd; /* /dev/net/tun, then the tap; QEMU's descriptor VM_FD_NIC (n) */
  int tap_ifindex;
  bool made_qdisc, redirected;
};
struct capsa_vm_net
{
  bool user; /* no network namespace of the container's own: QEMU's user-mode network */
  size_t n;
  struct capsa_vm_nic nics[VM_NET_MAX_NICS];
  bool connected;
  int nl_fd; /* the netlink socket, kept by the supervisor to undo the redirects */
  struct
  {
    char tag;
    char *data;
  } * recs;
  size_t nrecs;
};

struct capsa_vm_plan
{
  char *hypervisor; /* host path of the VMM binary */
  char **hyp_params;
  size_t hyp_params_len;
  char *kernel, *initrd; /* host paths */
  char **kernel_params;
  size_t kernel_params_len;
  bool kvm;       /* KVM acceleration, else TCG */
  bool modular;   /* a packaged kernel whose initramfs carries its modules (see assets.c) */
  bool snapshots; /* boot snapshots may be used (see assets.c), when not under KVM */
  unsigned vcpus;
  uint64_t mem_mib;
  char *name; /* "capsa:<state dir>": names the VMM process for ps and leak checks */
  bool pod;   /* a pod sandbox: the pod share is a device of the VM's shape */
  struct capsa_vm_snapshot snap;
  struct capsa_vm_net net;
};

/* assets.c: fill `plan` from config.json's vm section, annotations, resources and the installed
 * defaults; checks that every file exists. */
int capsa_vm_plan_build (struct capsa_ctx *ctx, struct capsa_vm_plan *plan, capsa_error_t *err);
/* snapshot.c: decide, before the VMM's view hides the host, whether this VM starts from a
 * saved boot (plan->snap.mode RESTORE), saves its own (SAVE), or neither; opens the files. */
void capsa_vm_snapshot_choose (struct capsa_vm_plan *plan);
/* snapshot.c: at the agent's REC_READY, when saving: save the VM through QMP, let it go on,
 * and put the file in place (a warning if it cannot be saved; the VM runs on either way). */
void capsa_vm_snapshot_save (struct capsa_vm_snapshot *s);
/* snapshot.c: the VM ended before its agent reported anything: drop a partial file, or the
 * saved state it was started from. */
void capsa_vm_snapshot_failed (struct capsa_vm_snapshot *s);
/* net.c, in the container's init at create (before the VMM's view): read the container's
 * network namespace (interfaces, addresses, routes) into `net`; fails for an interface that
 * cannot be connected.  Without a network namespace of the container's own: user-mode
 * networking. */
int capsa_vm_net_prepare (const struct oci_config *c, struct capsa_vm_net *net, capsa_error_t *err);
/* net.c, at start, before the VMM runs: the taps and the tc redirects (once). */
int capsa_vm_net_connect (struct capsa_vm_net *net, capsa_error_t *err);
/* net.c: after the VM: remove the redirects, close the taps. */
void capsa_vm_net_teardown (struct capsa_vm_net *net);
/* net.c: the network settings, as records for the agent (channel.c sends them with the
 * process settings). */
int capsa_vm_net_send (int fd);
/* qemu.c: the hypervisor's argv (malloc'd, NULL-terminated); fds 3.. carry the channels. */
char **capsa_vm_qemu_argv (const struct capsa_vm_plan *plan);
/* Fixed descriptor numbers in the hypervisor process. */
enum
{
  VM_FD_CTL = 3,
  VM_FD_IN,
  VM_FD_OUT,
  VM_FD_ERR,
  VM_FD_CONSOLE,
  VM_FD_COUNT = 5,
  VM_FD_EXTRA = VM_FD_CTL + VM_FD_COUNT, /* the snapshot to start from, or the QMP monitor */
  VM_FD_NIC = VM_FD_EXTRA + 1            /* the taps, VM_FD_NIC + i for NIC i */
};
/* view.c: in the init's new mount namespace, a read-only tree holding only what the VMM
 * needs; finalize pivots into it. */
int capsa_vm_view_prepare (struct capsa_ctx *ctx, const struct capsa_vm_plan *plan,
                           capsa_error_t *err);
int capsa_vm_view_enter (capsa_error_t *err);
/* channel.c: records (see src/agent/proto.h). */
int capsa_vm_send_rec (int fd, char tag, const void *data, size_t len);
int capsa_vm_recv_rec (int fd, char *tag, char **data, size_t *len);
/* channel.c: the container's seccomp filter as a BPF program for the agent (which applies it
 * to the workload and every exec'd process), built before the container counts as created so
 * that errors come at create. */
int capsa_vm_seccomp_prepare (const struct oci_config *c, capsa_error_t *err);
/* channel.c: a process's settings, as records for the agent (without REC_END). */
int capsa_vm_send_process (int fd, const struct oci_process *p);
/* channel.c: the container's process settings, as records for the agent. */
int capsa_vm_send_spec (int fd, const struct oci_config *c);
/* channel.c: the init's supervisor loop around the running VMM; returns the exit status.  When
 * the VM saves its boot (snap->mode SAVE), the container's settings `c` are sent after that, at
 * the agent's REC_READY; else they were sent before. */
int capsa_vm_supervise (pid_t vmm, int listen_fd, int ctl, int in, int out, int errfd, int console,
                        const struct oci_config *c, struct capsa_vm_snapshot *snap);
/* confine.c: the hypervisor's identity, capabilities and seccomp filter from the container's
 * process settings (at create: errors come there). */
int capsa_vm_confine_prepare (struct capsa_ctx *ctx, capsa_error_t *err);
/* confine.c: in the forked VMM right before execve: apply them; -1 with errno and *step naming
 * what failed. */
int capsa_vm_confine (const char **step);
/* pod.c: what the CRI annotations (containerd's or CRI-O's) make a container: a pod's sandbox,
 * a member of the pod whose sandbox is *sandbox_id (*key: the annotation naming it), or none. */
enum
{
  VM_POD_NONE,
  VM_POD_SANDBOX,
  VM_POD_MEMBER
};
int capsa_vm_pod_role (const struct oci_kv *kv, size_t n, const char **sandbox_id,
                       const char **key);
/* pod.c, in a member's init: in place of the VM's prepare (its seccomp filter for the guest),
 * and at start in place of running a VMM (returns only on error). */
int capsa_vm_pod_prepare (struct capsa_ctx *ctx, capsa_error_t *err);
int capsa_vm_pod_exec (struct capsa_ctx *ctx, capsa_error_t *err);
/* pod.c, for `capsa exec` into the container whose state dir is `dir`: for a pod member, the
 * sandbox's state dir and the member's id (malloc'd; both NULL otherwise), and its seccomp
 * filter prepared for capsa_vm_send_seccomp. */
int capsa_vm_pod_exec_target (const char *dir, char **sandbox_dir, char **member_id,
                              capsa_error_t *err);
struct capsa_state_file;
bool capsa_vm_pod_member (const struct capsa_state_file *st);
/* vmm.c: connect to the control socket in `dir` and open an exec request carrying `stdio`
 * (the first byte, REC_EXEC); the caller sends the process records and REC_END. */
int capsa_vm_request_open (const char *dir, const int stdio[3], capsa_error_t *err);
/* vmm.c: an exec's wait on its connection once the process runs: relays our signals (and the
 * size of the terminal winch_fd, when >= 0), returns the process's status or -1. */
int capsa_vm_exec_wait (int fd, int winch_fd, capsa_error_t *err);
/* channel.c: a guest container's settings (process, terminal, pid namespace, mounts, its
 * seccomp filter) and REC_END; the container's seccomp filter alone. */
int capsa_vm_send_container (int fd, const struct oci_config *c);
int capsa_vm_send_seccomp (int fd);
/* channel.c: REC_CGROUP records ("PREFIXFILE VALUE") for the memory and pids limits of `r`. */
int capsa_vm_send_guest_cgroup (int fd, const struct oci_resources *r, const char *prefix);
/* capsa_vm_supervise's result when the VM could not start from its snapshot (removed): boot
 * one instead.  Its descriptors are closed. */
#define VM_SUPERVISE_BOOT (-2)

#endif
