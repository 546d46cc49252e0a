/* capsa resume: resume the processes of a paused container. */
#include <config.h>

#include <stdio.h>

#include "cmd.h"

static const struct option resume_options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_resume (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  int c;

  while ((c = capsa_cmd_getopt ("resume", argc, argv, "h", resume_options, err)) != -1)
    {
      if (c != 'h')
        return -1;
      fputs ("Usage: capsa resume CONTAINER\n"
             "\n"
             "Resume the processes of CONTAINER, paused by `capsa pause`.\n"
             "\n"
             "Options:\n"
             "  -h, --help              show this help\n",
             stdout);
      return 0;
    }
  if (capsa_cmd_check_args ("resume", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  return capsa_container_resume (g, argv[optind], err) < 0 ? -1 : 0;
}
