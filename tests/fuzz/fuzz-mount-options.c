/* capsa: libFuzzer target for mount option parsing (config.json .mounts[].options).  The input
 * is one option per line. */
#include <config.h>

#include "fuzz-common.h"
#include "internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_strndup (data, size), *p, **opts;
  size_t n = 1, i = 0;
  struct capsa_mount_opts o;
  capsa_error_t err = NULL;

  for (p = text; *p; p++)
    n += *p == '\n';
  opts = calloc (n, sizeof (*opts));
  if (opts == NULL)
    abort ();
  for (p = text; i < n; i++)
    {
      opts[i] = p;
      p += strcspn (p, "\n");
      if (*p)
        *p++ = '\0';
    }
  if (capsa_parse_mount_options (opts, n, &o, &err) < 0)
    {
      FUZZ_ASSERT (err != NULL, "failure without an error");
      fuzz_check_message (err->msg);
      capsa_error_release (&err);
    }
  else
    {
      FUZZ_ASSERT (err == NULL, "success with an error");
      /* Options are passed on one by one: no empty item, unless an option held commas. */
      FUZZ_ASSERT (o.data == NULL || memchr (data, ',', size) != NULL
                     || (o.data[0] != '\0' && o.data[0] != ',' && strstr (o.data, ",,") == NULL
                         && o.data[strlen (o.data) - 1] != ','),
                   "empty item in mount data \"%s\"", o.data);
      capsa_mount_opts_free (&o);
    }
  free (opts);
  free (text);
  return 0;
}
