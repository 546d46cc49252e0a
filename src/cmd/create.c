/* capsa create: create a container from a bundle; its process waits for `capsa start`. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cmd.h"

enum
{
  OPT_PID_FILE = 1000,
  OPT_CONSOLE_SOCKET,
  OPT_PRESERVE_FDS,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_NO_SUBREAPER,
  OPT_KEEP,
};

static const struct option create_options[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "config", required_argument, NULL, 'f' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
  { "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
  { "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
  { "help", no_argument, NULL, 'h' },
  /* run only (rejected by create below) */
  { "detach", no_argument, NULL, 'd' },
  { "keep", no_argument, NULL, OPT_KEEP },
  { NULL, 0, NULL, 0 },
};

static void usage (bool run)
{
  if (run)
    fputs (
      "Usage: capsa run [OPTIONS] CONTAINER\n"
      "\n"
      "Create and start the container CONTAINER from a bundle.  In the foreground capsa waits\n"
      "for the container's process and exits with its status (128+N when killed by signal\n"
      "N), then deletes the container unless --keep is given.\n",
      stdout);
  else
    fputs ("Usage: capsa create [OPTIONS] CONTAINER\n"
           "\n"
           "Create the container CONTAINER from a bundle: namespaces, mounts and cgroup are set\n"
           "up and the process of config.json waits until `capsa start CONTAINER`.\n",
           stdout);
  fputs ("\n"
         "Options:\n"
         "  -b, --bundle DIR        bundle directory (default: the current directory)\n"
         "  -f, --config FILE       configuration file (default: BUNDLE/config.json)\n"
         "      --pid-file FILE     write the container process's pid to FILE\n"
         "      --console-socket PATH\n"
         "                          AF_UNIX socket receiving the terminal's master fd\n"
         "      --preserve-fds N    pass N more fds (from fd 3 on) to the container\n"
         "      --no-pivot          use MS_MOVE and chroot instead of pivot_root\n"
         "      --no-new-keyring    keep the caller's session keyring\n"
         "      --no-subreaper      run: do not adopt and reap the container's orphans\n",
         stdout);
  if (run)
    fputs ("  -d, --detach            return once the container has started\n"
           "      --keep              do not delete the container after it exits\n",
           stdout);
  fputs ("  -h, --help              show this help\n", stdout);
}

int capsa_cmd_parse_create (const char *cmd, int argc, char **argv, bool run,
                            struct capsa_create_opts *o, capsa_error_t *err)
{
  int c;

  memset (o, 0, sizeof (*o));
  optind = 0;
  while ((c = capsa_cmd_getopt (cmd, argc, argv, run ? "b:f:dh" : "b:f:h", create_options, err))
         != -1)
    {
      switch (c)
        {
        case 'b':
          o->bundle = optarg;
          break;
        case 'f':
          o->config_file = optarg;
          break;
        case OPT_PID_FILE:
          o->pid_file = optarg;
          break;
        case OPT_CONSOLE_SOCKET:
          o->console_socket = optarg;
          break;
        case OPT_PRESERVE_FDS:
          if (capsa_cmd_parse_uint (cmd, "--preserve-fds", optarg, &o->preserve_fds, err) < 0)
            return -1;
          break;
        case OPT_NO_PIVOT:
          o->no_pivot = true;
          break;
        case OPT_NO_NEW_KEYRING:
          o->no_new_keyring = true;
          break;
        case OPT_NO_SUBREAPER:
          o->no_subreaper = true;
          break;
        case 'd':
        case OPT_KEEP:
          if (!run)
            return capsa_make_error (err, 0, "%s: unknown option \"%s\"", cmd, argv[optind - 1]);
          if (c == 'd')
            o->detach = true;
          else
            o->keep = true;
          break;
        case 'h':
          usage (run);
          return 1;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args (cmd, argc - optind, 1, 1, "CONTAINER", err) < 0)
    return -1;
  o->id = argv[optind];
  return 0;
}

int capsa_cmd_create (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_create_opts o;
  int r = capsa_cmd_parse_create ("create", argc, argv, false, &o, err);

  if (r != 0)
    return r < 0 ? r : 0;
  return capsa_container_create (g, &o, err) < 0 ? -1 : 0;
}
