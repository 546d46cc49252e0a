/* capsa start: run the user process of a created container. */
#include <config.h>

#include <stdio.h>

#include "cmd.h"

static const struct option start_options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_start (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  int c;

  while ((c = capsa_cmd_getopt ("start", argc, argv, "h", start_options, err)) != -1)
    {
      if (c != 'h')
        return -1;
      fputs ("Usage: capsa start CONTAINER\n"
             "\n"
             "Start the process of the created container CONTAINER (runs the startContainer\n"
             "and poststart hooks).\n"
             "\n"
             "Options:\n"
             "  -h, --help              show this help\n",
             stdout);
      return 0;
    }
  if (capsa_cmd_check_args ("start", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  return capsa_container_start (g, argv[optind], err) < 0 ? -1 : 0;
}
