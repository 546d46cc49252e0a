/* capsa delete: remove a container and everything it holds. */
#include <config.h>

#include <stdio.h>

#include "cmd.h"

static const struct option delete_options[] = {
  { "force", no_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_delete (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  bool force = false;
  int c;

  while ((c = capsa_cmd_getopt ("delete", argc, argv, "fh", delete_options, err)) != -1)
    {
      switch (c)
        {
        case 'f':
          force = true;
          break;
        case 'h':
          fputs ("Usage: capsa delete [OPTIONS] CONTAINER\n"
                 "\n"
                 "Delete the stopped (or created) container CONTAINER: its processes, cgroup and\n"
                 "state directory; the poststop hooks run.\n"
                 "\n"
                 "Options:\n"
                 "  -f, --force             kill a running container (SIGKILL) and delete it\n"
                 "  -h, --help              show this help\n",
                 stdout);
          return 0;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args ("delete", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  return capsa_container_delete (g, argv[optind], force, err) < 0 ? -1 : 0;
}
