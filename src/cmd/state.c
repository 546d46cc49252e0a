/* capsa state: print the OCI state of a container as JSON. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct option state_options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_state (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  char *out = NULL;
  size_t len;
  int c;

  while ((c = capsa_cmd_getopt ("state", argc, argv, "h", state_options, err)) != -1)
    {
      if (c != 'h')
        return -1;
      fputs ("Usage: capsa state CONTAINER\n"
             "\n"
             "Print the state of CONTAINER as the runtime-spec state JSON: ociVersion, id,\n"
             "status (creating, created, running, stopped), pid, bundle and annotations.\n"
             "\n"
             "Options:\n"
             "  -h, --help              show this help\n",
             stdout);
      return 0;
    }
  if (capsa_cmd_check_args ("state", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  if (capsa_container_state (g, argv[optind], &out, err) < 0)
    return -1;
  len = strlen (out);
  fputs (out, stdout);
  if (len == 0 || out[len - 1] != '\n')
    putchar ('\n');
  free (out);
  return 0;
}
