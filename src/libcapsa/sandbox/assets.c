/* capsa: VM isolation mode: hypervisor, guest kernel and initramfs lookup, acceleration choice
 * and the VM's size. */
#include <config.h>
#include "sandbox.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CAPSA_VM_ASSETS_DIR
#define CAPSA_VM_ASSETS_DIR "/usr/local/lib/capsa"
#endif
#define VM_KERNEL_NAME "vmlinux"
#define VM_INITRD_NAME "initramfs"
#define VM_DEFAULT_MEM_MIB 256
/* What QEMU itself needs besides guest RAM under TCG (code cache bounded by tb-size=64). */
#define VM_OVERHEAD_MIB 96
#define VM_MIN_MEM_MIB 48

static char *xstrdup (const char *s)
{
  char *r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

static bool is_file (const char *p)
{
  struct stat st;
  return stat (p, &st) == 0 && S_ISREG (st.st_mode);
}

/* KVM is usable only with hardware virtualization: this kind of host has a software PVM
 * /dev/kvm (module kvm_pvm) that cannot run a stock guest kernel. */
static bool kvm_usable (const char **why)
{
  char line[4096];
  bool hw = false;
  FILE *f;
  if (access ("/sys/module/kvm_pvm", F_OK) == 0)
    {
      *why = "/dev/kvm is the software PVM hypervisor (kvm_pvm), which cannot boot a stock guest "
             "kernel";
      return false;
    }
  if (access ("/dev/kvm", R_OK | W_OK) < 0)
    {
      *why = "/dev/kvm is not available";
      return false;
    }
  f = fopen ("/proc/cpuinfo", "re");
  while (f && !hw && fgets (line, sizeof (line), f))
    if (strncmp (line, "flags", 5) == 0 && (strstr (line, " vmx") || strstr (line, " svm")))
      hw = true;
  if (f)
    fclose (f);
  if (!hw)
    *why = "the CPU has no hardware virtualization (vmx/svm)";
  return hw;
}

static char *find_qemu (void)
{
  static const char *const dirs[] = { "/usr/bin", "/usr/local/bin", "/usr/libexec" };
  const char *path = getenv ("PATH");
  char buf[4096];
  size_t i;
  for (i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
    {
      snprintf (buf, sizeof (buf), "%s/qemu-system-x86_64", dirs[i]);
      if (access (buf, X_OK) == 0)
        return xstrdup (buf);
    }
  while (path && *path)
    {
      size_t n = strcspn (path, ":");
      snprintf (buf, sizeof (buf), "%.*s/qemu-system-x86_64", (int)n, path);
      if (n && access (buf, X_OK) == 0)
        return xstrdup (buf);
      path += n + (path[n] == ':');
    }
  return NULL;
}

/* The default guest assets: $CAPSA_VM_ASSETS (the build tree, for tests), then the installed
 * directory. */
static char *default_asset (const char *name)
{
  const char *dirs[2] = { getenv ("CAPSA_VM_ASSETS"), CAPSA_VM_ASSETS_DIR };
  char buf[4096];
  size_t i;
  for (i = 0; i < 2; i++)
    {
      if (dirs[i] == NULL || dirs[i][0] == '\0')
        continue;
      snprintf (buf, sizeof (buf), "%s/%s", dirs[i], name);
      if (is_file (buf))
        return xstrdup (buf);
    }
  return NULL;
}

/* Whether the initramfs carries kernel modules (/modules/load, written by
 * contrib/vm/build-initramfs.sh --modules-from): then the kernel is a packaged one (Debian's),
 * which finds the virtio-mmio devices only through ACPI and keeps time only with its APIC timer;
 * the project's kernel (everything built in, no ACPI) takes the devices from the command line.
 * Reads the headers of an uncompressed newc cpio; any other format counts as modular. */
static bool initrd_has_modules (const char *path)
{
  char hdr[110 + 256];
  off_t off = 0;
  bool found = false;
  int fd = open (path, O_RDONLY | O_CLOEXEC), i;

  if (fd < 0)
    return false;
  for (i = 0; i < 4096; i++)
    {
      unsigned long fsize, nsize;
      char num[9];
      ssize_t n = pread (fd, hdr, sizeof (hdr) - 1, off);
      if (n < 110 || memcmp (hdr, "070701", 6) != 0)
        {
          found = i == 0; /* not a plain newc cpio (e.g. compressed): a packaged kernel's */
          break;
        }
      hdr[n] = '\0';
      memcpy (num, hdr + 54, 8);
      num[8] = '\0';
      fsize = strtoul (num, NULL, 16);
      memcpy (num, hdr + 94, 8);
      nsize = strtoul (num, NULL, 16);
      if (nsize > 0 && 110 + nsize <= (unsigned long)n)
        {
          const char *name = hdr + 110;
          if (strcmp (name, "TRAILER!!!") == 0)
            break;
          if (strcmp (name, "modules/load") == 0 || strcmp (name, "./modules/load") == 0)
            {
              found = true;
              break;
            }
        }
      off += (off_t)((110 + nsize + 3) & ~3UL);
      off += (off_t)((fsize + 3) & ~3UL);
    }
  close (fd);
  return found;
}

/* Resource rule: vm.hwConfig wins; else vCPUs = ceil(cpu quota / period) and memory = the memory
 * limit minus the VMM's overhead (at least 48 MiB); else 1 vCPU and 256 MiB. */
static void size_vm (const struct oci_config *c, struct capsa_vm_plan *plan)
{
  const struct oci_vm_hw_config *hw = c->vm ? c->vm->hw_config : NULL;
  const struct oci_resources *r = c->linux_ ? c->linux_->resources : NULL;

  plan->vcpus = 1;
  plan->mem_mib = VM_DEFAULT_MEM_MIB;
  if (r && r->cpu && r->cpu->quota_present && r->cpu->quota > 0)
    {
      uint64_t period = r->cpu->period_present && r->cpu->period ? r->cpu->period : 100000;
      plan->vcpus = (unsigned)(((uint64_t)r->cpu->quota + period - 1) / period);
    }
  if (r && r->memory && r->memory->limit_present && r->memory->limit > 0)
    {
      int64_t mib = r->memory->limit / (1024 * 1024) - VM_OVERHEAD_MIB;
      plan->mem_mib = mib < VM_MIN_MEM_MIB ? VM_MIN_MEM_MIB : (uint64_t)mib;
    }
  if (hw && hw->vcpus_present && hw->vcpus > 0)
    plan->vcpus = hw->vcpus;
  if (hw && hw->memory_present && hw->memory > 0)
    plan->mem_mib = hw->memory / (1024 * 1024) ? hw->memory / (1024 * 1024) : 1;
  if (plan->vcpus < 1)
    plan->vcpus = 1;
  if (plan->vcpus > 64)
    plan->vcpus = 64;
}

int capsa_vm_plan_build (struct capsa_ctx *ctx, struct capsa_vm_plan *plan, capsa_error_t *err)
{
  const struct oci_config *c = ctx->config;
  const struct oci_vm *vm = c->vm;
  const char *accel = oci_kv_get (c->annotations, c->annotations_len, "run.oci.vm.accel");
  const char *why = NULL;

  memset (plan, 0, sizeof (*plan));
  if (vm && vm->hypervisor && vm->hypervisor->path)
    {
      if (access (vm->hypervisor->path, X_OK) < 0)
        return capsa_make_error (err, errno, "config.json: .vm.hypervisor.path: \"%s\"",
                                 vm->hypervisor->path);
      plan->hypervisor = xstrdup (vm->hypervisor->path);
      plan->hyp_params = vm->hypervisor->parameters;
      plan->hyp_params_len = vm->hypervisor->parameters_len;
    }
  else if ((plan->hypervisor = find_qemu ()) == NULL)
    return capsa_make_error (err, 0,
                             "VM isolation mode: qemu-system-x86_64 not found (install QEMU, "
                             "e.g. the qemu-system-x86 package, or set .vm.hypervisor.path)");

  if (vm && vm->kernel && vm->kernel->path)
    {
      if (!is_file (vm->kernel->path))
        return capsa_make_error (err, errno ? errno : ENOENT,
                                 "config.json: .vm.kernel.path: guest kernel \"%s\"",
                                 vm->kernel->path);
      plan->kernel = xstrdup (vm->kernel->path);
      plan->kernel_params = vm->kernel->parameters;
      plan->kernel_params_len = vm->kernel->parameters_len;
      if (vm->kernel->initrd)
        {
          if (!is_file (vm->kernel->initrd))
            return capsa_make_error (err, errno ? errno : ENOENT,
                                     "config.json: .vm.kernel.initrd: \"%s\"", vm->kernel->initrd);
          plan->initrd = xstrdup (vm->kernel->initrd);
        }
    }
  else if ((plan->kernel = default_asset (VM_KERNEL_NAME)) == NULL)
    return capsa_make_error (err, 0,
                             "VM isolation mode: no guest kernel: none in config.json "
                             "(.vm.kernel.path) and no %s in $CAPSA_VM_ASSETS or %s (run `make "
                             "vm-assets install-vm`)",
                             VM_KERNEL_NAME, CAPSA_VM_ASSETS_DIR);
  if (plan->initrd == NULL && (plan->initrd = default_asset (VM_INITRD_NAME)) == NULL)
    return capsa_make_error (err, 0,
                             "VM isolation mode: no guest initramfs with capsa's agent "
                             "(%s in $CAPSA_VM_ASSETS or %s; run `make vm-assets install-vm`)",
                             VM_INITRD_NAME, CAPSA_VM_ASSETS_DIR);

  plan->modular = initrd_has_modules (plan->initrd);

  if (accel && strcmp (accel, "kvm") != 0 && strcmp (accel, "tcg") != 0
      && strcmp (accel, "auto") != 0)
    return capsa_make_error (
      err, 0,
      "config.json: .annotations[\"run.oci.vm.accel\"]: unknown value \"%s\" (kvm, tcg, auto)",
      accel);
  {
    /* Boot snapshots (snapshot.c): on unless the annotation says no; only for QEMU as capsa
       starts it, without parameters of the config's own (they may add devices that cannot be
       saved, or change the machine), and under TCG (decided below: KVM boots fast anyway). */
    const char *snap = oci_kv_get (c->annotations, c->annotations_len, "run.oci.vm.snapshot");
    if (snap == NULL || strcmp (snap, "true") == 0 || strcmp (snap, "on") == 0
        || strcmp (snap, "1") == 0)
      plan->snapshots
        = !(vm && vm->hypervisor && vm->hypervisor->path) && plan->hyp_params_len == 0;
    else if (strcmp (snap, "false") != 0 && strcmp (snap, "off") != 0 && strcmp (snap, "0") != 0)
      return capsa_make_error (
        err, 0,
        "config.json: .annotations[\"run.oci.vm.snapshot\"]: unknown value \"%s\" (true, false)",
        snap);
  }
  if (accel && strcmp (accel, "tcg") == 0)
    plan->kvm = false;
  else if (kvm_usable (&why))
    plan->kvm = true;
  else if (accel && strcmp (accel, "kvm") == 0)
    return capsa_make_error (err, 0,
                             "config.json: .annotations[\"run.oci.vm.accel\"] is \"kvm\" but KVM "
                             "is unusable here: %s",
                             why);
  else
    capsa_warn ("VM isolation mode: %s; using software emulation (TCG), which is slower", why);
  size_vm (c, plan);
  {
    /* QEMU option values double a literal comma. */
    const char *q;
    char *w = malloc (2 * strlen (ctx->state_dir) + 8);
    if (w == NULL)
      abort ();
    plan->name = w;
    w += sprintf (w, "capsa:");
    for (q = ctx->state_dir; *q; q++)
      {
        *w++ = *q;
        if (*q == ',')
          *w++ = ',';
      }
    *w = '\0';
  }
  return 0;
}

char *capsa_sandbox_hypervisor (const char **accel)
{
  const char *why;
  *accel = kvm_usable (&why) ? "kvm" : "tcg";
  return find_qemu ();
}
