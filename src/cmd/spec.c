/* capsa spec: write a default config.json into a bundle directory. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

enum
{
  OPT_ROOTLESS = 1000,
};

static const struct option spec_options[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "file", required_argument, NULL, 'f' },
  { "rootless", no_argument, NULL, OPT_ROOTLESS },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static int write_new_file (const char *path, const char *text, capsa_error_t *err)
{
  size_t len = strlen (text), off = 0;
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

  if (fd < 0 && errno == EEXIST)
    return capsa_make_error (err, 0, "spec: \"%s\" already exists: remove it first", path);
  if (fd < 0)
    return capsa_make_error (err, errno, "spec: create \"%s\"", path);
  while (off < len)
    {
      ssize_t w = write (fd, text + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        {
          int saved = errno;
          close (fd);
          unlink (path);
          return capsa_make_error (err, saved, "spec: write \"%s\"", path);
        }
      off += (size_t)w;
    }
  if (close (fd) < 0)
    return capsa_make_error (err, errno, "spec: close \"%s\"", path);
  return 0;
}

int capsa_cmd_spec (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  const char *bundle = NULL, *file = "config.json";
  char *path = NULL, *text;
  bool rootless = false;
  int c, ret;

  while ((c = capsa_cmd_getopt ("spec", argc, argv, "b:f:h", spec_options, err)) != -1)
    {
      switch (c)
        {
        case 'b':
          bundle = optarg;
          break;
        case 'f':
          file = optarg;
          break;
        case OPT_ROOTLESS:
          rootless = true;
          break;
        case 'h':
          fputs (
            "Usage: capsa spec [OPTIONS]\n"
            "\n"
            "Write a default config.json (runs `sh` in ./rootfs with a terminal) into the\n"
            "bundle directory.  An existing file is never overwritten.\n"
            "\n"
            "Options:\n"
            "  -b, --bundle DIR        bundle directory (default: the current directory)\n"
            "  -f, --file PATH         file name, relative to the bundle (default config.json)\n"
            "      --rootless          configuration for an unprivileged user: a user\n"
            "                          namespace mapping root to the caller, no network\n"
            "                          namespace, /sys bind-mounted\n"
            "  -h, --help              show this help\n",
            stdout);
          return 0;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args ("spec", argc - optind, 0, 0, "", err) < 0)
    return -1;

  if (bundle != NULL && file[0] != '/')
    {
      if (asprintf (&path, "%s/%s", bundle, file) < 0)
        abort ();
    }
  else if ((path = strdup (file)) == NULL)
    abort ();

  text = capsa_spec_default (rootless);
  if (text == NULL)
    {
      free (path);
      return capsa_make_error (err, 0, "spec: cannot generate the default configuration");
    }
  ret = write_new_file (path, text, err);
  free (text);
  free (path);
  return ret;
}
