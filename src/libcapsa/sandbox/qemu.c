/* capsa: VM isolation mode: the QEMU microvm command line. */
#include <config.h>
#include "vm.h"
#include "../../agent/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct argv_buf
{
  char **v;
  size_t n, cap;
};

static void add (struct argv_buf *a, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void add (struct argv_buf *a, const char *fmt, ...)
{
  va_list ap;
  char *s;
  if (a->n + 2 > a->cap)
    {
      a->cap = a->cap ? a->cap * 2 : 64;
      a->v = realloc (a->v, a->cap * sizeof (char *));
      if (a->v == NULL)
        abort ();
    }
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

/* Host TSC frequency in kHz: under TCG the guest clock is the host's, and giving it to the
 * guest avoids a calibration that can hang (VM-NOTES.md). */
static unsigned long host_khz (void)
{
  char line[256];
  double mhz = 0;
  FILE *f = fopen ("/proc/cpuinfo", "re");
  while (f && fgets (line, sizeof (line), f))
    if (strncmp (line, "cpu MHz", 7) == 0 && sscanf (strchr (line, ':') + 1, "%lf", &mhz) == 1)
      break;
  if (f)
    fclose (f);
  return (unsigned long)(mhz * 1000);
}

static void port (struct argv_buf *a, const char *id, int fd, const char *name)
{
  add (a, "-chardev");
  add (a, "socket,id=%s,fd=%d", id, fd);
  add (a, "-device");
  add (a, "virtserialport,chardev=%s,name=%s", id, name);
}

/* The NICs (net.c): only their count and kind, and a MAC fixed by their position, so that the
 * argv, and with it a boot snapshot's key, is the same for every container with as many NICs;
 * the agent gives each its container's MAC. */
static void nics (struct argv_buf *a, const struct capsa_vm_net *net)
{
  size_t i;
  if (net->user)
    {
      add (a, "-netdev");
      add (a, "user,id=nic0");
    }
  for (i = 0; i < net->n; i++)
    {
      add (a, "-netdev");
      add (a, "tap,id=nic%zu,fd=%d", i, VM_FD_NIC + (int)i);
    }
  for (i = 0; i < (net->user ? 1 : net->n); i++)
    {
      add (a, "-device");
      add (a, "virtio-net-device,netdev=nic%zu,mac=" VM_NIC_SHAPE_MAC, i, (unsigned)i);
    }
}

char **capsa_vm_qemu_argv (const struct capsa_vm_plan *plan)
{
  struct argv_buf a = { 0 };
  char cmdline[4096];
  unsigned long khz = host_khz ();
  size_t i;

  add (&a, "%s", plan->hypervisor);
  add (&a, "-name");
  add (&a, "%s", plan->name);
  add (&a, "-M");
  /* The project's kernel has no ACPI: QEMU then lists the virtio-mmio devices on the kernel
   * command line.  A packaged kernel (modules in its initramfs) finds them through ACPI. */
  add (&a, plan->modular ? "microvm,memory-backend=ram" : "microvm,acpi=off");
  add (&a, "-accel");
  add (&a, plan->kvm ? "kvm" : "tcg,tb-size=64");
  add (&a, "-cpu");
  /* Under TCG, a CPU without ERMS, and a K8 revision whose string instructions the kernel does
   * not trust (no REP_GOOD): the kernel then copies and clears memory with unrolled loops, and
   * glibc's memcpy/memset in the guest (agent, workload) avoid rep-prefixed moves too.  TCG runs
   * every iteration of a rep-prefixed instruction as a separate block.  A packaged kernel
   * clears and copies much memory at boot and when it loads its modules; with the project's
   * kernel, a `run` of /bin/true takes about 0.15 s less CPU time. */
  add (&a, plan->kvm ? "host" : "max,erms=off,model=1");
  add (&a, "-smp");
  add (&a, "%u", plan->vcpus);
  add (&a, "-m");
  add (&a, "%lluM", (unsigned long long)plan->mem_mib);
  if (plan->modular)
    {
      /* A packaged kernel's RAM in a memfd: QEMU asks for transparent huge pages on its
       * anonymous RAM, and here the host's first touch of each (compaction, zeroing 2 MiB) cost
       * that larger kernel, which touches more memory, about 0.3 s of CPU time per boot; shmem
       * gets 4 KiB pages, faulted in as the guest uses them. */
      add (&a, "-object");
      add (&a, "memory-backend-memfd,id=ram,size=%lluM", (unsigned long long)plan->mem_mib);
    }
  /* QEMU's own seccomp filter (beside what confine.c does before executing it): no obsolete
   * system calls, no new privileges, processes or scheduling changes. */
  add (&a, "-sandbox");
  add (&a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  add (&a, "-nodefaults");
  add (&a, "-no-user-config");
  add (&a, "-nographic");
  add (&a, "-no-reboot");
  add (&a, "-monitor");
  add (&a, "none");
  add (&a, "-chardev");
  add (&a, "socket,id=con,fd=%d", VM_FD_CONSOLE);
  add (&a, "-serial");
  add (&a, "chardev:con");
  add (&a, "-device");
  add (&a, "isa-debug-exit,iobase=0xf4,iosize=0x04");
  add (&a, "-kernel");
  add (&a, VM_VIEW_KERNEL);
  add (&a, "-initrd");
  add (&a, VM_VIEW_INITRD);
  /* noapictimer saves 0.2 s of boot under TCG, but only the project's kernel keeps a clock
   * without it (on microvm with ACPI, Debian's kernel is then left with no timer at all).
   * noreplace-smp keeps the kernel from rewriting every lock prefix of its text for a single
   * CPU: 0.19 s of a 0.8 s boot under TCG, where each patched page costs a retranslation. */
  snprintf (cmdline, sizeof (cmdline),
            "console=ttyS0 quiet panic=-1 reboot=t%s noreplace-smp cryptomgr.notests rodata=off "
            "tsc=reliable no_timer_check",
            plan->modular ? "" : " noapictimer");
  /* Debian's kernel zeroes every page it allocates (INIT_ON_ALLOC_DEFAULT_ON; the project's
   * kernel does not): a cost at boot and for each module it loads. */
  if (plan->modular)
    snprintf (cmdline + strlen (cmdline), sizeof (cmdline) - strlen (cmdline), " init_on_alloc=0");
  if (khz)
    snprintf (cmdline + strlen (cmdline), sizeof (cmdline) - strlen (cmdline), " tsc_early_khz=%lu",
              khz);
  for (i = 0; i < plan->kernel_params_len; i++)
    snprintf (cmdline + strlen (cmdline), sizeof (cmdline) - strlen (cmdline), " %s",
              plan->kernel_params[i]);
  snprintf (cmdline + strlen (cmdline), sizeof (cmdline) - strlen (cmdline), " rdinit=/init");
  add (&a, "-append");
  add (&a, "%s", cmdline);
  add (&a, "-fsdev");
  add (&a, "local,id=rootfs,path=" VM_VIEW_ROOTFS ",security_model=passthrough");
  add (&a, "-device");
  add (&a, "virtio-9p-device,fsdev=rootfs,mount_tag=capsa-rootfs");
  if (plan->pod)
    {
      /* The pod share: its members' rootfs are mounts of their own there (remap: their inode
         numbers must not collide in the guest). */
      add (&a, "-fsdev");
      add (&a, "local,id=pod,path=" VM_VIEW_POD ",security_model=passthrough,multidevs=remap");
      add (&a, "-device");
      add (&a, "virtio-9p-device,fsdev=pod,mount_tag=capsa-pod");
    }
  add (&a, "-device");
  /* Port 0 (reserved for a console) and our four: every port allowed costs the guest two
     virtqueues to set up at boot. */
  add (&a, "virtio-serial-device,max_ports=5");
  port (&a, "ctl", VM_FD_CTL, "capsa.ctl");
  port (&a, "stdin", VM_FD_IN, "capsa.stdin");
  port (&a, "stdout", VM_FD_OUT, "capsa.stdout");
  port (&a, "stderr", VM_FD_ERR, "capsa.stderr");
  nics (&a, &plan->net);
  for (i = 0; i < plan->hyp_params_len; i++)
    add (&a, "%s", plan->hyp_params[i]);
  if (plan->snap.mode == VM_SNAP_RESTORE)
    {
      add (&a, "-incoming");
      add (&a, "fd:%d", VM_FD_EXTRA);
    }
  else if (plan->snap.mode == VM_SNAP_SAVE)
    {
      add (&a, "-chardev");
      add (&a, "socket,id=qmp,fd=%d", VM_FD_EXTRA);
      add (&a, "-mon");
      add (&a, "chardev=qmp,mode=control");
    }
  return a.v;
}
