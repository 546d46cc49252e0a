/* capsa events: print a container's resource stats and OOM events as JSON lines. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct option events_options[] = {
  { "stats", no_argument, NULL, 's' },
  { "interval", required_argument, NULL, 'i' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

/* A duration as runc takes it: "5s", "500ms", "1m", "1m30s", or plain seconds. */
static int parse_interval (const char *s, int *ms)
{
  double total = 0;
  const char *p = s;
  char *end;

  if (*p == '\0')
    return -1;
  while (*p)
    {
      double v;
      errno = 0;
      v = strtod (p, &end);
      if (end == p || errno || v < 0)
        return -1;
      p = end;
      if (strncmp (p, "ms", 2) == 0)
        total += v, p += 2;
      else if (*p == 's')
        total += v * 1000, p++;
      else if (*p == 'm')
        total += v * 60000, p++;
      else if (*p == 'h')
        total += v * 3600000, p++;
      else if (*p == '\0' && p == end && total == 0)
        total += v * 1000;
      else
        return -1;
    }
  if (total < 1 || total > 86400000.0)
    return -1;
  *ms = (int)total;
  return 0;
}

int capsa_cmd_events (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  bool stats = false;
  int c, interval = 5000;

  while ((c = capsa_cmd_getopt ("events", argc, argv, "h", events_options, err)) != -1)
    {
      switch (c)
        {
        case 's':
          stats = true;
          break;
        case 'i':
          if (parse_interval (optarg, &interval) < 0)
            return capsa_make_error (err, 0,
                                     "events: --interval: invalid duration \"%s\" (e.g. 5s, "
                                     "500ms)",
                                     optarg);
          break;
        case 'h':
          fputs (
            "Usage: capsa events [OPTIONS] CONTAINER\n"
            "\n"
            "Print the resource usage of CONTAINER as JSON lines\n"
            "({\"type\":\"stats\",\"id\":...,\"data\":{...}}) every interval, and\n"
            "{\"type\":\"oom\",\"id\":...} when the kernel's OOM killer acts in the container.\n"
            "Ends when the container stops.\n"
            "\n"
            "Options:\n"
            "  --stats                 print the stats once and exit\n"
            "  --interval DURATION     time between stats (default 5s; 500ms, 1m, ...)\n"
            "  -h, --help              show this help\n",
            stdout);
          return 0;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args ("events", argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  return capsa_container_events (g, argv[optind], stats, interval, stdout, err) < 0 ? -1 : 0;
}
