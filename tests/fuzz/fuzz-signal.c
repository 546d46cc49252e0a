/* capsa: libFuzzer target for signal parsing (`capsa kill ID SIGNAL`).  An accepted signal is a
 * real one, and its number parses back to itself. */
#include <config.h>

#include <signal.h>

#include "container.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = fuzz_strndup (data, size), num[16];
  capsa_error_t err = NULL;
  int sig;

  sig = capsa_parse_signal (s, &err);
  if (sig < 0)
    {
      FUZZ_ASSERT (err != NULL, "failure without an error");
      fuzz_check_message (err->msg);
      capsa_error_release (&err);
    }
  else
    {
      FUZZ_ASSERT (err == NULL, "success with an error");
      FUZZ_ASSERT (sig >= 1 && sig <= SIGRTMAX, "\"%s\" gave signal %d", s, sig);
      snprintf (num, sizeof (num), "%d", sig);
      FUZZ_ASSERT (capsa_parse_signal (num, &err) == sig, "%s does not parse back", num);
    }
  free (s);
  return 0;
}
