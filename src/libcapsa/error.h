/* capsa: errors and logging.
 *
 * Functions return 0 (or a pointer) on success.  On failure they return a negative value and
 * fill a capsa_error_t: {errno, message}.  Callers add context on the way up with
 * capsa_error_prefix(); the CLI prints "capsa: <message>: <strerror>" and exits 1.
 */
#ifndef CAPSA_ERROR_H
#define CAPSA_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

struct capsa_error_s
{
  int status; /* an errno value, 0 when strerror should not be appended */
  char *msg;
};
typedef struct capsa_error_s *capsa_error_t;

/* Set *err (if not already set) and return -1. */
int capsa_make_error (capsa_error_t *err, int status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
/* Prepend "<context>: " to the message of *err and return -1. */
int capsa_error_prefix (capsa_error_t *err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
void capsa_error_release (capsa_error_t *err);
/* The full one-line text ("msg: strerror"), malloc'd. */
char *capsa_error_text (capsa_error_t err);

enum capsa_log_level
{
  CAPSA_LOG_ERROR = 0,
  CAPSA_LOG_WARNING,
  CAPSA_LOG_INFO,
  CAPSA_LOG_DEBUG,
};

/* --log FILE / --log-format text|json / --log-level.  Without a file, warnings and errors go to
 * stderr as text. */
int capsa_log_init (const char *file, const char *format, const char *level, capsa_error_t *err);
void capsa_log (enum capsa_log_level level, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
void capsa_log_set_level (enum capsa_log_level level);
bool capsa_log_enabled (enum capsa_log_level level);
/* The fd of the log file (-1 when logging to stderr), so children can inherit it. */
int capsa_log_fd (void);
/* Report a fatal error to the log (JSON when asked) and to stderr. */
void capsa_log_fatal (capsa_error_t err);

#define capsa_warn(...) capsa_log (CAPSA_LOG_WARNING, __VA_ARGS__)
#define capsa_debug(...)                                                                           \
  do                                                                                               \
    {                                                                                              \
      if (capsa_log_enabled (CAPSA_LOG_DEBUG))                                                     \
        capsa_log (CAPSA_LOG_DEBUG, __VA_ARGS__);                                                  \
    }                                                                                              \
  while (0)

#endif
