/* capsa: VM isolation mode: the hypervisor's confinement.  A guest that breaks out of QEMU (a
 * device emulation or virtio-9p bug) must land with no more power than the container's own
 * process would have had.  Right before QEMU is executed, its process (forked by the container
 * init, inside the container's namespaces, cgroup and the VMM's mount view) takes:
 * - the identity of the container's process (process.user: uid, gid, additionalGids), so that
 *   files the virtio-9p server creates for the workload are the workload's, as in a container;
 * - capabilities: each set is the container's set (process.capabilities) cut to VMM_CAPS, what
 *   QEMU's virtio-9p server can use to serve a guest root (see below); the bounding set the
 *   same, inheritable and ambient empty.  QEMU needs none of them to run a guest (its devices
 *   are descriptors passed in, its files readable by anyone), so no capability list is too
 *   short and none is ever widened;
 * - no_new_privs, then the container's linux.seccomp filter (QEMU adds its own `-sandbox`
 *   filter on top, see qemu.c).
 *
 * VMM_CAPS, each found needed by experiment (with the container holding them all and the VMM
 * all but one, the guest operation named fails, where the same process in a container or with
 * the VMM holding it succeeds; tests/vm-confine.bats checks each):
 * - CAP_CHOWN: the 9p server creates every file as itself, then gives it to the guest
 *   process's uid/gid (a non-root guest process of a root container; chown in the guest);
 * - CAP_DAC_OVERRIDE: guest root reading, writing or searching files of other owners;
 * - CAP_FOWNER: the server sets the mode of a file it has just given to another owner, and
 *   guest root's chmod/utimes on files of other owners;
 * - CAP_FSETID: guest root's chmod g+s of a file whose group is not the VMM's (else the bit
 *   is silently cleared).
 * Not kept: CAP_MKNOD (mknod and mkfifo over virtio-9p fail in this guest even with QEMU
 * unconfined), CAP_SETUID/CAP_SETGID (nothing changed without them: the local 9p backend
 * never switches ids, and QEMU's `-sandbox elevateprivileges=deny` forbids it anyway), and
 * everything else (QEMU opens no host device by path but /dev/kvm, /dev/urandom and
 * /dev/null, which need no capability). */
#include <config.h>
#include "vm.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#ifdef HAVE_CAP
#include <sys/capability.h>
#endif

#ifdef HAVE_CAP
#define BIT(c) (1ULL << (c))
#define VMM_CAPS (BIT (CAP_CHOWN) | BIT (CAP_DAC_OVERRIDE) | BIT (CAP_FOWNER) | BIT (CAP_FSETID))
#endif

static struct
{
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  uint64_t bounding, permitted, effective;
  char *prog; /* the container's seccomp filter (BPF), or NULL */
  size_t prog_len;
  unsigned prog_flags;
  const char *apparmor; /* process.apparmorProfile, or NULL */
} vmm;

#ifdef HAVE_CAP
/* The set's capabilities that VMM_CAPS holds (names libcap does not know cannot be in it). */
static uint64_t cut (char **names, size_t n)
{
  uint64_t m = 0;
  size_t i;

  for (i = 0; i < n; i++)
    {
      cap_value_t v;
      if (cap_from_name (names[i], &v) == 0 && v < 64 && (VMM_CAPS & BIT (v)))
        m |= BIT (v);
    }
  return m;
}
#endif

int capsa_vm_confine_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  const struct oci_process *p = ctx->config->process;
  const struct oci_seccomp *s = ctx->config->linux_ ? ctx->config->linux_->seccomp : NULL;
  size_t i;

  memset (&vmm, 0, sizeof (vmm));
  vmm.uid = (uid_t)p->user.uid;
  vmm.gid = (gid_t)p->user.gid;
  vmm.ngroups = p->user.additional_gids_len;
  vmm.groups = calloc (vmm.ngroups + 1, sizeof (gid_t));
  if (vmm.groups == NULL)
    return capsa_make_error (err, ENOMEM, "VMM confinement");
  for (i = 0; i < vmm.ngroups; i++)
    vmm.groups[i] = (gid_t)p->user.additional_gids[i];
  /* The profile confines the VMM: the host-side process a guest escape would land in. */
  if (p->apparmor_profile && p->apparmor_profile[0])
    vmm.apparmor = p->apparmor_profile;
#ifdef HAVE_CAP
  if (p->capabilities)
    {
      const struct oci_capabilities *c = p->capabilities;
      vmm.bounding = cut (c->bounding, c->bounding_len);
      vmm.permitted = cut (c->permitted, c->permitted_len) & vmm.bounding;
      vmm.effective = cut (c->effective, c->effective_len) & vmm.permitted;
    }
#endif
  return capsa_seccomp_export (s, &vmm.prog, &vmm.prog_len, &vmm.prog_flags, err);
}

#ifdef HAVE_CAP
/* The bounding set, while CAP_SETPCAP is still effective (before set_ids). */
static int cut_bounding (void)
{
  cap_value_t v, max = cap_max_bits ();

  for (v = 0; v < max && v < 64; v++)
    if (!(vmm.bounding & BIT (v)) && cap_drop_bound (v) < 0 && errno != EINVAL)
      return -1;
  return 0;
}

/* Permitted and effective (inheritable empty), then ambient cleared. */
static int set_caps (void)
{
  cap_value_t v, max = cap_max_bits ();
  cap_t c;
  int r;

  c = cap_init ();
  if (c == NULL)
    return -1;
  for (v = 0; v < max && v < 64; v++)
    {
      if (vmm.permitted & BIT (v))
        cap_set_flag (c, CAP_PERMITTED, 1, &v, CAP_SET);
      if (vmm.effective & BIT (v))
        cap_set_flag (c, CAP_EFFECTIVE, 1, &v, CAP_SET);
    }
  r = cap_set_proc (c);
  cap_free (c);
  if (r < 0)
    return -1;
  /* (a kernel without ambient capabilities has none to clear) */
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    return -1;
  return 0;
}
#endif

/* Switch to the container process's identity, keeping the capabilities we drop to next. */
static int set_ids (void)
{
  if (prctl (PR_SET_KEEPCAPS, 1) < 0)
    return -1;
  if (setgroups (vmm.ngroups, vmm.groups) < 0 && !(errno == EPERM && vmm.ngroups == 0))
    return -1;
  if (setresgid (vmm.gid, vmm.gid, vmm.gid) < 0 || setresuid (vmm.uid, vmm.uid, vmm.uid) < 0)
    return -1;
  return prctl (PR_SET_KEEPCAPS, 0);
}

int capsa_vm_confine (const char **step)
{
  *step = "set the VMM's AppArmor profile";
  if (vmm.apparmor && capsa_apparmor_exec (vmm.apparmor) < 0)
    return -1;
#ifdef HAVE_CAP
  *step = "cut the VMM's bounding capability set";
  if (cut_bounding () < 0)
    return -1;
#endif
  *step = "set the VMM's uid/gid";
  if (set_ids () < 0)
    return -1;
#ifdef HAVE_CAP
  *step = "drop the VMM's capabilities";
  if (set_caps () < 0)
    return -1;
#endif
  *step = "set no_new_privs for the VMM";
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  if (vmm.prog)
    {
      struct sock_fprog f = { .len = (unsigned short)(vmm.prog_len / sizeof (struct sock_filter)),
                              .filter = (struct sock_filter *)vmm.prog };
      *step = "load the container's seccomp filter in the VMM";
      if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, vmm.prog_flags, &f) < 0)
        return -1;
    }
  return 0;
}
