/* capsa: the fields of the runtime spec capsa cannot apply.  Each is refused at create with an
 * error naming its JSON path, so no field of config.json is silently ignored;
 * tests/spec-coverage.tsv lists every field of the spec's schema as applied (with the test
 * that shows it) or refused (with this error), and tests/spec-coverage.bats checks both. */
#include <config.h>
#include "internal.h"

#include <string.h>

int capsa_process_refuse_unapplied (const struct oci_process *p, const char *where,
                                    capsa_error_t *err)
{
  if (p->command_line)
    return capsa_make_error (err, 0, "%s.commandLine: a Windows field (use .args)", where);
  if (p->user.username)
    return capsa_make_error (err, 0, "%s.user.username: a Windows field (use .user.uid and gid)",
                             where);
  if (p->exec_cpu_affinity)
    return capsa_make_error (err, 0,
                             "%s.execCPUAffinity: not supported by capsa (set CPUs with "
                             ".linux.resources.cpu.cpus)",
                             where);
  return 0;
}

int capsa_spec_refuse_unapplied (const struct oci_config *c, capsa_error_t *err)
{
  const struct oci_process *p = c->process;
  const struct oci_linux *l = c->linux_;
  const struct oci_vm *vm = c->vm;

  /* Step 0: the spec's major version (SemVer: "1.x.y", with any pre-release or build suffix);
   * another major version may mean fields this parser reads differently. */
  if (c->oci_version && strncmp (c->oci_version, "1.", 2) != 0 && strcmp (c->oci_version, "1") != 0)
    return capsa_make_error (err, 0,
                             "config.json: .ociVersion: \"%s\" is not a version 1 runtime spec "
                             "(capsa implements %s)",
                             c->oci_version, CAPSA_OCI_VERSION);
  /* Step 1: sections of other platforms. */
  if (c->other_platform)
    return capsa_make_error (err, 0,
                             "config.json: .%s: a configuration for another platform (capsa "
                             "runs Linux containers)",
                             c->other_platform);
  /* Step 2: process fields. */
  if (p && capsa_process_refuse_unapplied (p, "config.json: .process", err) < 0)
    return -1;
  /* Step 3: Linux fields. */
  if (l && l->intel_rdt)
    return capsa_make_error (err, 0,
                             "config.json: .linux.intelRdt: not supported by capsa (Intel RDT, "
                             "resctrl)");
  /* Step 4: VM fields (VM isolation mode boots its own kernel on the bundle's rootfs). */
  if (vm && vm->image)
    return capsa_make_error (err, 0,
                             "config.json: .vm.image: not supported by capsa (the guest's root "
                             "is .root.path)");
  if (vm && vm->hw_config && vm->hw_config->device_tree)
    return capsa_make_error (err, 0,
                             "config.json: .vm.hwConfig.deviceTree: not supported by capsa");
  if (vm && vm->hw_config && vm->hw_config->dtdevs_len)
    return capsa_make_error (err, 0,
                             "config.json: .vm.hwConfig.dtdevs: not supported by capsa (no "
                             "device passthrough)");
  if (vm && vm->hw_config && vm->hw_config->iomems_len)
    return capsa_make_error (err, 0,
                             "config.json: .vm.hwConfig.iomems: not supported by capsa (no "
                             "device passthrough)");
  if (vm && vm->hw_config && vm->hw_config->irqs_len)
    return capsa_make_error (err, 0,
                             "config.json: .vm.hwConfig.irqs: not supported by capsa (no device "
                             "passthrough)");
  return 0;
}
