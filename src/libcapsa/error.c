/* capsa: errors and logging. */
#include <config.h>
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Errors are one line: control characters (from ids, paths or values a user gave) become C
 * escapes ("\n", "\x1b").  Takes ownership of s; aborts on ENOMEM like the callers. */
static char *one_line (char *s)
{
  const unsigned char *p;
  char *out, *q;
  size_t n = 0;

  for (p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      n++;
  if (n == 0)
    return s;
  out = malloc (strlen (s) + 3 * n + 1);
  if (out == NULL)
    abort ();
  for (p = (const unsigned char *)s, q = out; *p; p++)
    {
      if (*p == '\n' || *p == '\t' || *p == '\r')
        {
          *q++ = '\\';
          *q++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        }
      else if (*p < 0x20 || *p == 0x7f)
        q += sprintf (q, "\\x%02x", *p);
      else
        *q++ = (char)*p;
    }
  *q = '\0';
  free (s);
  return out;
}

int capsa_make_error (capsa_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  struct capsa_error_s *e;

  if (err == NULL || *err != NULL)
    return -1;
  e = calloc (1, sizeof (*e));
  if (e == NULL)
    abort ();
  e->status = status;
  va_start (ap, fmt);
  if (vasprintf (&e->msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  e->msg = one_line (e->msg);
  *err = e;
  return -1;
}

int capsa_error_prefix (capsa_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx, *msg;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    abort ();
  va_end (ap);
  ctx = one_line (ctx);
  if (asprintf (&msg, "%s: %s", ctx, (*err)->msg) < 0)
    abort ();
  free (ctx);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

void capsa_error_release (capsa_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

char *capsa_error_text (capsa_error_t err)
{
  char *s;
  if (err == NULL)
    return strdup ("unknown error");
  if (err->status == 0)
    return strdup (err->msg);
  if (asprintf (&s, "%s: %s", err->msg, strerror (err->status)) < 0)
    abort ();
  return s;
}

static int log_fd = -1;
static bool log_json;
static enum capsa_log_level log_level = CAPSA_LOG_WARNING;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int capsa_log_init (const char *file, const char *format, const char *level, capsa_error_t *err)
{
  if (format != NULL)
    {
      if (strcmp (format, "json") == 0)
        log_json = true;
      else if (strcmp (format, "text") == 0)
        log_json = false;
      else
        return capsa_make_error (err, 0, "unknown log format `%s` (expected text or json)", format);
    }
  if (level != NULL)
    {
      size_t i;
      for (i = 0; i < sizeof (level_names) / sizeof (level_names[0]); i++)
        if (strcmp (level, level_names[i]) == 0)
          break;
      if (i == sizeof (level_names) / sizeof (level_names[0]))
        {
          if (strcmp (level, "warn") == 0)
            i = CAPSA_LOG_WARNING;
          else if (strcmp (level, "fatal") == 0 || strcmp (level, "panic") == 0)
            i = CAPSA_LOG_ERROR;
          else
            return capsa_make_error (err, 0, "unknown log level `%s`", level);
        }
      log_level = (enum capsa_log_level)i;
    }
  if (file != NULL && file[0] != '\0')
    {
      const char *path = file;
      if (strncmp (path, "file:", 5) == 0)
        path += 5;
      log_fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (log_fd < 0)
        return capsa_make_error (err, errno, "open log file `%s`", path);
    }
  return 0;
}

void capsa_log_set_level (enum capsa_log_level level)
{
  log_level = level;
}

bool capsa_log_enabled (enum capsa_log_level level)
{
  return level <= log_level;
}

int capsa_log_fd (void)
{
  return log_fd;
}

static void json_escape (FILE *f, const char *s)
{
  for (; *s; s++)
    {
      unsigned char c = (unsigned char)*s;
      if (c == '"' || c == '\\')
        fprintf (f, "\\%c", c);
      else if (c == '\n')
        fputs ("\\n", f);
      else if (c == '\t')
        fputs ("\\t", f);
      else if (c < 0x20)
        fprintf (f, "\\u%04x", c);
      else
        fputc (c, f);
    }
}

static void log_write (enum capsa_log_level level, const char *msg)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;

  f = open_memstream (&buf, &len);
  if (f == NULL)
    return;
  if (log_json && log_fd >= 0)
    {
      struct timespec ts;
      struct tm tm;
      char tbuf[64];
      clock_gettime (CLOCK_REALTIME, &ts);
      gmtime_r (&ts.tv_sec, &tm);
      strftime (tbuf, sizeof (tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
      fprintf (f, "{\"level\":\"%s\",\"msg\":\"", level_names[level]);
      json_escape (f, msg);
      fprintf (f, "\",\"time\":\"%s.%09ldZ\"}\n", tbuf, ts.tv_nsec);
    }
  else if (log_fd >= 0)
    {
      time_t t = time (NULL);
      struct tm tm;
      char tbuf[64];
      gmtime_r (&t, &tm);
      strftime (tbuf, sizeof (tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
      fprintf (f, "%s %s: %s\n", tbuf, level_names[level], msg);
    }
  else
    fprintf (f, "capsa: %s%s\n",
             level == CAPSA_LOG_ERROR     ? ""
             : level == CAPSA_LOG_WARNING ? "warning: "
                                          : "",
             msg);
  fclose (f);
  if (buf)
    {
      ssize_t r = write (fd, buf, len);
      (void)r;
    }
  free (buf);
}

void capsa_log (enum capsa_log_level level, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  if (!capsa_log_enabled (level))
    return;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    {
      va_end (ap);
      return;
    }
  va_end (ap);
  log_write (level, msg);
  free (msg);
}

void capsa_log_fatal (capsa_error_t err)
{
  char *text = capsa_error_text (err);
  if (log_fd >= 0)
    log_write (CAPSA_LOG_ERROR, text);
  fprintf (stderr, "capsa: %s\n", text);
  free (text);
}
