/* capsa exec: run a new process inside a running container. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

enum
{
  OPT_CONSOLE_SOCKET = 1000,
  OPT_CWD,
  OPT_NO_NEW_PRIVS,
  OPT_PROCESS_LABEL,
  OPT_APPARMOR,
  OPT_PID_FILE,
  OPT_PRESERVE_FDS,
  OPT_CGROUP,
  OPT_IGNORE_PAUSED,
};

static const struct option exec_options[] = {
  { "process", required_argument, NULL, 'p' },
  { "tty", no_argument, NULL, 't' },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "env", required_argument, NULL, 'e' },
  { "user", required_argument, NULL, 'u' },
  { "additional-gids", required_argument, NULL, 'g' },
  { "cap", required_argument, NULL, 'c' },
  { "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
  { "process-label", required_argument, NULL, OPT_PROCESS_LABEL },
  { "apparmor", required_argument, NULL, OPT_APPARMOR },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "cgroup", required_argument, NULL, OPT_CGROUP },
  { "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static void usage (void)
{
  fputs (
    "Usage: capsa exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
    "       capsa exec [OPTIONS] -p process.json CONTAINER\n"
    "\n"
    "Run a new process inside CONTAINER: in its namespaces and cgroup, with the user,\n"
    "capabilities, rlimits, noNewPrivileges, labels and seccomp filter of its config.json\n"
    "process unless overridden.  In the foreground capsa waits for the process and exits\n"
    "with its status (128+N when killed by signal N); on an error it exits with 255.\n"
    "\n"
    "Options:\n"
    "  -p, --process FILE      the process to run, as a runtime-spec process.json (used as\n"
    "                          it is: the flags below that describe the process do not apply)\n"
    "  -t, --tty               allocate a pseudo-terminal\n"
    "      --console-socket PATH\n"
    "                          AF_UNIX socket receiving the terminal's master fd\n"
    "      --cwd DIR           working directory inside the container\n"
    "  -e, --env NAME=VALUE    add an environment variable (repeatable)\n"
    "  -u, --user UID[:GID]    run as this user (GID defaults to 0)\n"
    "  -g, --additional-gids GID\n"
    "                          add a supplementary group (repeatable)\n"
    "  -c, --cap CAP           add a capability to the bounding, effective and permitted\n"
    "                          sets (repeatable)\n"
    "      --no-new-privs      set noNewPrivileges\n"
    "      --process-label LABEL\n"
    "                          SELinux label of the process\n"
    "      --apparmor PROFILE  AppArmor profile of the process\n"
    "  -d, --detach            return once the process runs\n"
    "      --pid-file FILE     write the process's pid to FILE\n"
    "      --preserve-fds N    pass N more fds (from fd 3 on) to the process\n"
    "      --cgroup [CONTROLLERS:]PATH\n"
    "                          run in an existing sub-cgroup of the container (repeatable)\n"
    "      --ignore-paused     allow exec in a paused container\n"
    "  -h, --help              show this help\n",
    stdout);
}

/* Append a repeatable option's value (argv strings live as long as the command). */
static void push (char ***v, size_t *n, char *s)
{
  char **nv = realloc (*v, (*n + 2) * sizeof (char *));
  if (nv == NULL)
    abort ();
  nv[(*n)++] = s;
  nv[*n] = NULL;
  *v = nv;
}

int capsa_cmd_exec (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_exec_opts o;
  int c, nargs, ret;

  memset (&o, 0, sizeof (o));
  optind = 0;
  /* '+': options end at CONTAINER, so the command keeps its own options. */
  while ((c = capsa_cmd_getopt ("exec", argc, argv, "+p:te:u:g:c:dh", exec_options, err)) != -1)
    {
      switch (c)
        {
        case 'p':
          o.process_file = optarg;
          break;
        case 't':
          o.tty = true;
          break;
        case OPT_CONSOLE_SOCKET:
          o.console_socket = optarg;
          break;
        case OPT_CWD:
          o.cwd = optarg;
          break;
        case 'e':
          push (&o.env, &o.env_len, optarg);
          break;
        case 'u':
          o.user = optarg;
          break;
        case 'g':
          push (&o.additional_gids, &o.additional_gids_len, optarg);
          break;
        case 'c':
          push (&o.caps, &o.caps_len, optarg);
          break;
        case OPT_NO_NEW_PRIVS:
          o.no_new_privs = true;
          break;
        case OPT_PROCESS_LABEL:
          o.process_label = optarg;
          break;
        case OPT_APPARMOR:
          o.apparmor = optarg;
          break;
        case 'd':
          o.detach = true;
          break;
        case OPT_PID_FILE:
          o.pid_file = optarg;
          break;
        case OPT_PRESERVE_FDS:
          if (capsa_cmd_parse_uint ("exec", "--preserve-fds", optarg, &o.preserve_fds, err) < 0)
            goto fail;
          break;
        case OPT_CGROUP:
          push (&o.cgroups, &o.cgroups_len, optarg);
          break;
        case OPT_IGNORE_PAUSED:
          o.ignore_paused = true;
          break;
        case 'h':
          usage ();
          ret = 0;
          goto out;
        default:
          goto fail;
        }
    }
  nargs = argc - optind;
  if (capsa_cmd_check_args ("exec", nargs, 1, -1, "CONTAINER COMMAND [ARG...]", err) < 0)
    goto fail;
  o.id = argv[optind];
  o.args = argv + optind + 1;
  o.args_len = (size_t)(nargs - 1);
  if (o.process_file == NULL && o.args_len == 0)
    {
      capsa_make_error (err, 0, "exec: expected CONTAINER COMMAND [ARG...] or -p process.json");
      goto fail;
    }
  ret = capsa_container_exec (g, &o, err);
  if (ret < 0)
    {
      /* As runc: a failed exec exits with 255, so callers can tell it from the process's own
       * status. */
      capsa_log_fatal (*err);
      capsa_error_release (err);
      ret = 255;
    }
  goto out;
fail:
  ret = -1;
out:
  free (o.env);
  free (o.additional_gids);
  free (o.caps);
  free (o.cgroups);
  return ret;
}
