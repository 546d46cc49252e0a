/* capsa: libFuzzer target for the config.json parser (parse, generate, parse again: stable). */
#include <config.h>

#include "fuzz-common.h"
#include "oci_spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oci_config *c, *c2;
  char *err = NULL, *err2 = NULL, *text, *text2;

  c = oci_config_parse_data ((const char *)data, size, "config.json", &err);
  if (c == NULL)
    {
      fuzz_check_message (err);
      free (err);
      return 0;
    }
  FUZZ_ASSERT (err == NULL, "success with a message: %s", err);
  text = oci_config_generate (c, false);
  FUZZ_ASSERT (text != NULL, "generate failed");
  c2 = oci_config_parse_data (text, strlen (text), "config.json", &err2);
  FUZZ_ASSERT (c2 != NULL, "generated config does not parse: %s\n%s", err2, text);
  text2 = oci_config_generate (c2, false);
  FUZZ_ASSERT (text2 != NULL && strcmp (text, text2) == 0, "parse/generate not stable:\n%s\n%s",
               text, text2 ? text2 : "(null)");
  free (text2);
  free (text);
  oci_config_free (c2);
  oci_config_free (c);
  return 0;
}
