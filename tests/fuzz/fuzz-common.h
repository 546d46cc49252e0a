/* capsa: helpers shared by the libFuzzer targets in tests/fuzz (invariant checks, input copies). */
#ifndef CAPSA_FUZZ_COMMON_H
#define CAPSA_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop the run (libFuzzer records the input) when an invariant does not hold. */
#define FUZZ_ASSERT(cond, ...)                                                                     \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          fprintf (stderr, "invariant failed: %s: ", #cond);                                       \
          fprintf (stderr, __VA_ARGS__);                                                           \
          fputc ('\n', stderr);                                                                    \
          abort ();                                                                                \
        }                                                                                          \
    }                                                                                              \
  while (0)

/* Error messages are one line: no newline, no other control character, not empty. */
static inline void fuzz_check_message (const char *msg)
{
  const unsigned char *p;

  FUZZ_ASSERT (msg != NULL, "failure without a message");
  FUZZ_ASSERT (msg[0] != '\0', "empty message");
  for (p = (const unsigned char *)msg; *p; p++)
    FUZZ_ASSERT (*p >= 0x20 && *p != 0x7f, "control character 0x%02x in message \"%s\"", *p, msg);
}

/* A NUL-terminated copy of the input (the parsers under test take C strings). */
static inline char *fuzz_strndup (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (s == NULL)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

#endif
