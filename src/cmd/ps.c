/* capsa ps: list the processes of a container (ps output filtered to them, or JSON pids). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct option ps_options[] = {
  { "format", required_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_ps (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  const char *format = "table";
  char *out = NULL;
  int c;

  /* '+': everything after CONTAINER belongs to ps (`capsa ps ctr -o pid,comm`). */
  while ((c = capsa_cmd_getopt ("ps", argc, argv, "+f:h", ps_options, err)) != -1)
    {
      switch (c)
        {
        case 'f':
          format = optarg;
          break;
        case 'h':
          fputs ("Usage: capsa ps [OPTIONS] CONTAINER [PS OPTIONS...]\n"
                 "\n"
                 "List the processes running in CONTAINER (its cgroup).  The table is the\n"
                 "output of `ps PS OPTIONS` (default -ef) restricted to the container's\n"
                 "processes; the JSON format is an array of their (host) pids.\n"
                 "\n"
                 "Options:\n"
                 "  -f, --format FORMAT     table (default) or json\n"
                 "  -h, --help              show this help\n",
                 stdout);
          return 0;
        default:
          return -1;
        }
    }
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
    return capsa_make_error (err, 0, "ps: --format: invalid format \"%s\" (table or json)", format);
  if (capsa_cmd_check_args ("ps", argc - optind, 1, -1, "CONTAINER [PS OPTIONS...]", err) < 0)
    return -1;
  if (strcmp (format, "json") == 0 && argc - optind > 1)
    return capsa_make_error (err, 0, "ps: ps options cannot be used with --format json");
  if (capsa_container_ps (g, argv[optind], strcmp (format, "json") == 0, argv + optind + 1,
                          (size_t)(argc - optind - 1), &out, err)
      < 0)
    return -1;
  fputs (out, stdout);
  free (out);
  return 0;
}
