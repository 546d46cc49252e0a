/* capsa: signal names and numbers for `capsa kill` ("KILL", "SIGKILL", "kill", "9", "RTMIN+2"). */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container.h"

/* Older names glibc's sigabbrev_np() does not return. */
static const struct
{
  const char *name;
  int sig;
} aliases[] = {
  { "IOT", SIGABRT },
  { "CLD", SIGCHLD },
  { "POLL", SIGIO },
#ifdef SIGPWR
  { "PWR", SIGPWR },
#endif
};

/* A decimal number in [min, max] filling all of s; -1 otherwise. */
static int parse_number (const char *s, int min, int max)
{
  char *end = NULL;
  long v;

  if (!isdigit ((unsigned char)s[0]))
    return -1;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return -1;
  return (int)v;
}

/* RTMIN, RTMIN+N, RTMAX, RTMAX-N (name without the SIG prefix). */
static int parse_realtime (const char *name)
{
  int base, n = 0, sig;

  if (strncasecmp (name, "RTMIN", 5) == 0)
    base = SIGRTMIN;
  else if (strncasecmp (name, "RTMAX", 5) == 0)
    base = SIGRTMAX;
  else
    return -1;
  name += 5;
  if (*name != '\0')
    {
      if ((base == SIGRTMIN && *name != '+') || (base == SIGRTMAX && *name != '-'))
        return -1;
      n = parse_number (name + 1, 0, SIGRTMAX - SIGRTMIN);
      if (n < 0)
        return -1;
    }
  sig = base == SIGRTMIN ? base + n : base - n;
  return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
}

int capsa_parse_signal (const char *s, capsa_error_t *err)
{
  const char *name = s;
  size_t i;
  int sig;

  if (s == NULL || s[0] == '\0')
    return capsa_make_error (err, 0, "unknown signal \"%s\"", s ? s : "");

  if (isdigit ((unsigned char)s[0]))
    {
      sig = parse_number (s, 1, SIGRTMAX);
      if (sig < 0)
        return capsa_make_error (err, 0, "unknown signal \"%s\"", s);
      return sig;
    }

  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;

  for (sig = 1; sig < SIGRTMIN; sig++)
    {
      const char *abbrev = sigabbrev_np (sig);
      if (abbrev != NULL && strcasecmp (abbrev, name) == 0)
        return sig;
    }
  for (i = 0; i < sizeof (aliases) / sizeof (aliases[0]); i++)
    if (strcasecmp (aliases[i].name, name) == 0)
      return aliases[i].sig;
  sig = parse_realtime (name);
  if (sig > 0)
    return sig;
  return capsa_make_error (err, 0, "unknown signal \"%s\"", s);
}
