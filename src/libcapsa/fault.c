/* capsa: deterministic fault injection: CAPSA_FAULT=<point> makes the runtime SIGKILL itself. */
#include <config.h>
#include "fault.h"

#include <fcntl.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* NULL until read; "" when the variable is unset or empty.  A child process created by fork or
 * clone inherits the value already read. */
static const char *fault_spec;

static bool spec_lists (const char *spec, const char *point)
{
  size_t n = strlen (point);
  const char *p = spec;

  while ((p = strstr (p, point)) != NULL)
    {
      if ((p == spec || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
        return true;
      p += n;
    }
  return false;
}

void capsa_fault_point (const char *point)
{
  const char *spec = fault_spec;

  if (spec == NULL)
    {
      spec = getenv ("CAPSA_FAULT");
      if (spec == NULL)
        spec = "";
      fault_spec = spec;
    }
  if (spec[0] == '\0' || !spec_lists (spec, point))
    return;
  /* One line, unbuffered, so a test can tell the point was reached (and not merely missed). */
  dprintf (STDERR_FILENO, "capsa: fault injected at `%s` (pid %d): SIGKILL\n", point,
           (int)getpid ());
  kill (getpid (), SIGKILL);
  /* A pid namespace's init ignores its own SIGKILL: it ends the same way, without cleanup. */
  _exit (128 + SIGKILL);
}

static const char *trace_file, *trace_cmd;

void capsa_trace_command (const char *command)
{
  const char *f = getenv ("CAPSA_TRACE_FILE");

  trace_cmd = command;
  /* a copy: capsa_scrub_environment zeroes the block the variable is in */
  trace_file = f != NULL && f[0] != '\0' ? strdup (f) : NULL;
}

void capsa_trace (const char *id, const char *from, const char *to)
{
  char line[512];
  int fd, n;

  if (trace_file == NULL || strcmp (from, to) == 0)
    return;
  n = snprintf (line, sizeof (line), "%s %s %s %s\n", from, to, trace_cmd ? trace_cmd : "?",
                id ? id : "?");
  if (n <= 0 || (size_t)n >= sizeof (line))
    return;
  fd = open (trace_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  if (write (fd, line, (size_t)n) != n)
    dprintf (STDERR_FILENO, "capsa: CAPSA_TRACE_FILE: short write\n");
  close (fd);
}
