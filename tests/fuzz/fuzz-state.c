/* capsa: libFuzzer target for the state.json parser (state dir, hooks' stdin); round trip. */
#include <config.h>

#include "fuzz-common.h"
#include "oci_spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oci_state *s, *s2;
  char *err = NULL, *err2 = NULL, *text, *text2;

  s = oci_state_parse_data ((const char *)data, size, "state.json", &err);
  if (s == NULL)
    {
      fuzz_check_message (err);
      free (err);
      return 0;
    }
  FUZZ_ASSERT (err == NULL, "success with a message: %s", err);
  FUZZ_ASSERT (s->oci_version && s->id && s->status && s->bundle, "required field missing");
  text = oci_state_generate (s, false);
  FUZZ_ASSERT (text != NULL, "generate failed");
  s2 = oci_state_parse_data (text, strlen (text), "state.json", &err2);
  FUZZ_ASSERT (s2 != NULL, "generated state does not parse: %s\n%s", err2, text);
  text2 = oci_state_generate (s2, false);
  FUZZ_ASSERT (text2 != NULL && strcmp (text, text2) == 0, "parse/generate not stable:\n%s\n%s",
               text, text2 ? text2 : "(null)");
  free (text2);
  free (text);
  oci_state_free (s2);
  oci_state_free (s);
  return 0;
}
