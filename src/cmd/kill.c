/* capsa kill: send a signal to a container's process (or all its processes). */
#include <config.h>

#include <signal.h>
#include <stdio.h>

#include "cmd.h"

static const struct option kill_options[] = {
  { "all", no_argument, NULL, 'a' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_kill (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  bool all = false;
  int c, sig = SIGTERM;

  while ((c = capsa_cmd_getopt ("kill", argc, argv, "ah", kill_options, err)) != -1)
    {
      switch (c)
        {
        case 'a':
          all = true;
          break;
        case 'h':
          fputs ("Usage: capsa kill [OPTIONS] CONTAINER [SIGNAL]\n"
                 "\n"
                 "Send SIGNAL (default SIGTERM) to the process of CONTAINER.  SIGNAL is a name\n"
                 "with or without the SIG prefix in any case (KILL, SIGKILL, kill, RTMIN+3) or a\n"
                 "number (9).\n"
                 "\n"
                 "Options:\n"
                 "  -a, --all               signal every process of the container\n"
                 "  -h, --help              show this help\n",
                 stdout);
          return 0;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args ("kill", argc - optind, 1, 2, "CONTAINER [SIGNAL]", err) < 0)
    return -1;
  if (argc - optind == 2)
    {
      sig = capsa_parse_signal (argv[optind + 1], err);
      if (sig < 0)
        return capsa_error_prefix (err, "kill");
    }
  return capsa_container_kill (g, argv[optind], sig, all, err) < 0 ? -1 : 0;
}
