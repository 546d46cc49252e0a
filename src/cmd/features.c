/* capsa features: print the OCI features document. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const struct option features_options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int capsa_cmd_features (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  char *json;
  int c;

  while ((c = capsa_cmd_getopt ("features", argc, argv, "h", features_options, err)) != -1)
    {
      if (c != 'h')
        return -1;
      fputs ("Usage: capsa features\n"
             "\n"
             "Print the runtime-spec features document: the spec versions, hooks, mount\n"
             "options, namespaces, capabilities, cgroup, seccomp and LSM support of capsa.\n"
             "\n"
             "Options:\n"
             "  -h, --help              show this help\n",
             stdout);
      return 0;
    }
  if (capsa_cmd_check_args ("features", argc - optind, 0, 0, "", err) < 0)
    return -1;
  json = capsa_features_json (g->criu);
  if (json == NULL)
    return capsa_make_error (err, 0, "features: cannot generate the features document");
  puts (json);
  free (json);
  return 0;
}
