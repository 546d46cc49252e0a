/* capsa: libFuzzer target for the linux.resources parser (`capsa update --resources`).  A parsed
 * object is generated inside a minimal config and must come back the same. */
#include <config.h>

#include "fuzz-common.h"
#include "oci_spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oci_resources *r;
  struct oci_linux l = { 0 };
  struct oci_config c = { 0 }, *c2;
  char *err = NULL, *err2 = NULL, *text, *text2;

  r = oci_resources_parse_data ((const char *)data, size, "resources.json", &err);
  if (r == NULL)
    {
      fuzz_check_message (err);
      FUZZ_ASSERT (strstr (err, ".linux.resources") != NULL || strstr (err, "invalid JSON") != NULL
                     || strstr (err, "out of memory") != NULL,
                   "message does not name the path: %s", err);
      free (err);
      return 0;
    }
  FUZZ_ASSERT (err == NULL, "success with a message: %s", err);
  c.oci_version = (char *)"1.0.0";
  c.linux_ = &l;
  l.resources = r;
  text = oci_config_generate (&c, false);
  FUZZ_ASSERT (text != NULL, "generate failed");
  c2 = oci_config_parse_data (text, strlen (text), "config.json", &err2);
  FUZZ_ASSERT (c2 != NULL, "generated resources do not parse: %s\n%s", err2, text);
  text2 = oci_config_generate (c2, false);
  FUZZ_ASSERT (text2 != NULL && strcmp (text, text2) == 0, "parse/generate not stable:\n%s\n%s",
               text, text2 ? text2 : "(null)");
  free (text2);
  free (text);
  oci_config_free (c2);
  oci_resources_free (r);
  return 0;
}
