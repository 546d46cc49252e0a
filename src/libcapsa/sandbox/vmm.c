/* capsa: VM isolation mode: the hypervisor side (being built; selection refuses VM mode until
 * this lands, so these are not reached). */
#include <config.h>
#include "sandbox.h"

int capsa_sandbox_prepare (struct capsa_ctx *ctx, capsa_error_t *err)
{
  return capsa_make_error (err, 0, "VM isolation mode is not built");
}

int capsa_sandbox_finalize (struct capsa_ctx *ctx, capsa_error_t *err)
{
  return capsa_make_error (err, 0, "VM isolation mode is not built");
}

int capsa_sandbox_exec (struct capsa_ctx *ctx, capsa_error_t *err)
{
  return capsa_make_error (err, 0, "VM isolation mode is not built");
}

int capsa_sandbox_kill (const char *dir, const struct capsa_state_file *st, int sig,
                        capsa_error_t *err)
{
  return capsa_make_error (err, 0, "VM isolation mode is not built");
}
