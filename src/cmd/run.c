/* capsa run: create and start a container; exits with the container's status. */
#include <config.h>

#include "cmd.h"

int capsa_cmd_run (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_create_opts o;
  int r = capsa_cmd_parse_create ("run", argc, argv, true, &o, err);

  if (r != 0)
    return r < 0 ? r : 0;
  /* In the foreground: the container's exit status; detached: 0. */
  return capsa_container_run (g, &o, err);
}
