/* capsa pause: suspend every process of a container. */
#include <config.h>

#include <stdio.h>

#include "cmd.h"

static const struct option pause_options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_pause (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  int c;

  while ((c = capsa_cmd_getopt ("pause", argc, argv, "h", pause_options, err)) != -1)
    {
      if (c != 'h')
        return -1;
      fputs ("Usage: capsa pause CONTAINER\n"
             "\n"
             "Suspend every process of CONTAINER with the cgroup freezer; `capsa state`\n"
             "shows it as \"paused\" until `capsa resume`.\n"
             "\n"
             "Options:\n"
             "  -h, --help              show this help\n",
             stdout);
      return 0;
    }
  if (capsa_cmd_check_args ("pause", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  return capsa_container_pause (g, argv[optind], err) < 0 ? -1 : 0;
}
