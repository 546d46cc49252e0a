/* capsa: VM isolation mode: whether a container asks for it. */
#include <config.h>
#include "sandbox.h"

#include <string.h>

int capsa_sandbox_wanted (const struct oci_config *c, const char *argv0, capsa_error_t *err)
{
  const char *handler = oci_kv_get (c->annotations, c->annotations_len, "run.oci.handler");
  const char *base = argv0 ? strrchr (argv0, '/') : NULL;
  bool want = c->vm != NULL;

  base = base ? base + 1 : argv0;
  if (base && strcmp (base, "capsa-vm") == 0)
    want = true;
  if (handler)
    {
      if (strcmp (handler, "vm") == 0)
        want = true;
      else
        return capsa_make_error (
          err, 0, "config.json: .annotations[\"run.oci.handler\"]: unknown handler \"%s\"",
          handler);
    }
  return want ? 1 : 0;
}
