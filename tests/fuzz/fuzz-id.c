/* capsa: libFuzzer target for container id validation.  An accepted id must be a safe single
 * path component: [A-Za-z0-9][A-Za-z0-9_+.-]*, at most 1024 bytes, not "." or "..". */
#include <config.h>

#include <ctype.h>

#include "container.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *id = fuzz_strndup (data, size);
  capsa_error_t err = NULL;
  size_t i, n = strlen (id);

  if (capsa_validate_id (id, &err) < 0)
    {
      FUZZ_ASSERT (err != NULL, "failure without an error");
      fuzz_check_message (err->msg);
      capsa_error_release (&err);
    }
  else
    {
      FUZZ_ASSERT (err == NULL, "success with an error");
      FUZZ_ASSERT (n > 0 && n <= 1024, "accepted id of %zu bytes", n);
      FUZZ_ASSERT (strcmp (id, ".") != 0 && strcmp (id, "..") != 0, "accepted \"%s\"", id);
      FUZZ_ASSERT (isalnum ((unsigned char)id[0]), "accepted id \"%s\"", id);
      for (i = 0; i < n; i++)
        FUZZ_ASSERT (isalnum ((unsigned char)id[i]) || strchr ("_+.-", id[i]) != NULL,
                     "accepted id with byte 0x%02x", (unsigned char)id[i]);
    }
  free (id);
  return 0;
}
