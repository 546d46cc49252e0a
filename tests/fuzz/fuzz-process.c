/* capsa: libFuzzer target for the process.json parser (`capsa exec --process`); round trip. */
#include <config.h>

#include "fuzz-common.h"
#include "oci_spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oci_process *p, *p2;
  char *err = NULL, *err2 = NULL, *text, *text2;

  p = oci_process_parse_data ((const char *)data, size, "process.json", &err);
  if (p == NULL)
    {
      fuzz_check_message (err);
      free (err);
      return 0;
    }
  FUZZ_ASSERT (err == NULL, "success with a message: %s", err);
  text = oci_process_generate (p, false);
  FUZZ_ASSERT (text != NULL, "generate failed");
  p2 = oci_process_parse_data (text, strlen (text), "process.json", &err2);
  FUZZ_ASSERT (p2 != NULL, "generated process does not parse: %s\n%s", err2, text);
  text2 = oci_process_generate (p2, false);
  FUZZ_ASSERT (text2 != NULL && strcmp (text, text2) == 0, "parse/generate not stable:\n%s\n%s",
               text, text2 ? text2 : "(null)");
  free (text2);
  free (text);
  oci_process_free (p2);
  oci_process_free (p);
  return 0;
}
