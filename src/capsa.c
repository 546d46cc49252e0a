/* capsa: main(): global options, the command table, error printing and exit codes. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "container.h"
#include "error.h"
#include "fault.h"
#include "git-commit.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan+UBSan builds (--enable-sanitizers): the defaults for runs the test's ASAN_OPTIONS and
 * UBSAN_OPTIONS do not reach (conmon and the containerd shim start capsa with an environment of
 * their own).  LeakSanitizer cannot stop a process that joined a container's pid namespace (capsa
 * exec spins at exit), so it is off unless the environment turns it on; UBSan stops at its first
 * report so that a test fails. */
const char *__asan_default_options (void);
const char *__asan_default_options (void)
{
  return "detect_leaks=0";
}
const char *__ubsan_default_options (void);
const char *__ubsan_default_options (void)
{
  return "halt_on_error=1:print_stacktrace=1";
}
#endif

struct capsa_command
{
  const char *name;
  capsa_cmd_fn fn;
  const char *help;
};

static const struct capsa_command commands[] = {
  { "create", capsa_cmd_create, "create a container (its process waits for `start`)" },
  { "start", capsa_cmd_start, "start the process of a created container" },
  { "run", capsa_cmd_run, "create and start a container, wait for it unless detached" },
  { "exec", capsa_cmd_exec, "run a new process inside a running container" },
  { "state", capsa_cmd_state, "print the OCI state of a container as JSON" },
  { "kill", capsa_cmd_kill, "send a signal (default SIGTERM) to the container's process" },
  { "delete", capsa_cmd_delete, "remove a stopped container (-f: kill it first)" },
  { "list", capsa_cmd_list, "list the containers under the state root" },
  { "spec", capsa_cmd_spec, "write a default config.json into a bundle" },
  { "features", capsa_cmd_features, "print the OCI features document as JSON" },
  { "ps", capsa_cmd_ps, "list the processes of a container" },
  { "pause", capsa_cmd_pause, "suspend every process of a container (cgroup freezer)" },
  { "resume", capsa_cmd_resume, "resume a paused container" },
  { "update", capsa_cmd_update, "change the resource limits of a running container" },
  { "events", capsa_cmd_events, "print a container's resource stats and OOM events as JSON" },
  { "checkpoint", capsa_cmd_checkpoint, "save a running container to disk with CRIU" },
  { "restore", capsa_cmd_restore, "restore a container from a checkpoint" },
};

#define N_COMMANDS (sizeof (commands) / sizeof (commands[0]))

static void print_help (FILE *f)
{
  size_t i;

  fputs ("Usage: capsa [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n"
         "\n"
         "capsa runs containers from OCI bundles: a directory holding config.json and a root\n"
         "filesystem.  `capsa COMMAND --help` describes each command.\n"
         "\n"
         "Commands:\n",
         f);
  for (i = 0; i < N_COMMANDS; i++)
    fprintf (f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf (f, "  %-10s %s\n", "help", "show this help, or `help COMMAND` for a command");
  fputs ("\n"
         "Global options:\n"
         "  --root DIR              state directory (default /run/capsa, or\n"
         "                          $XDG_RUNTIME_DIR/capsa when not run as root, or as\n"
         "                          root of a user namespace only)\n"
         "  --log FILE              write the log to FILE (default: stderr)\n"
         "  --log-format FORMAT     text (default) or json\n"
         "  --log-level LEVEL       error, warning (default), info or debug\n"
         "  --debug                 log at the debug level\n"
         "  --cgroup-manager MGR    cgroupfs (default), systemd or disabled\n"
         "  --systemd-cgroup        same as --cgroup-manager systemd\n"
         "  --rootless[=VALUE]      true, false or auto (default auto; alone: true)\n"
         "  --criu PATH             the CRIU binary for checkpoint and restore (default criu)\n"
         "  -v, --version           print the version and the compiled-in features\n"
         "  -h, --help              show this help\n",
         f);
}

static void print_version (const char *criu)
{
  char *vm = capsa_vm_description ();
  char *criu_version = NULL, *criu_reason = NULL;
  int criu_ok = capsa_criu_available (criu, &criu_version, &criu_reason);
  printf ("capsa version %s\n"
          "commit: %s\n"
          "spec: %s\n"
          "%s\n"
          "%s\n",
          PACKAGE_VERSION, CAPSA_GIT_COMMIT, CAPSA_OCI_VERSION, capsa_feature_line (),
          vm ? vm : "vm: unknown");
  if (criu_ok == 1)
    printf ("checkpoint: criu %s\n", criu_version ? criu_version : "(unknown version)");
  else
    printf ("checkpoint: unavailable (%s)\n", criu_reason ? criu_reason : "unknown");
  free (criu_version);
  free (criu_reason);
  free (vm);
}

int capsa_cmd_getopt (const char *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, capsa_error_t *err)
{
  char spec[64];
  int c;
  bool in_order = shortopts[0] == '+';

  /* A leading ':' makes getopt report a missing argument as ':' instead of '?'. */
  snprintf (spec, sizeof (spec), "%s:%s", in_order ? "+" : "", shortopts + (in_order ? 1 : 0));
  opterr = 0;
  c = getopt_long_only (argc, argv, spec, longopts, NULL);
  if (c == '?')
    {
      char shortname[3] = { '-', (char)optopt, '\0' };
      const char *name = optopt > 0 && optopt < 128 ? shortname : argv[optind - 1];
      if (cmd == NULL)
        capsa_make_error (err, 0, "unknown global option \"%s\"", name);
      else
        capsa_make_error (err, 0, "%s: unknown option \"%s\"", cmd, name);
      return CAPSA_OPT_ERROR;
    }
  if (c == ':')
    {
      /* The option missing its value is always the last word ("-b", "--bundle", "-bundle"). */
      capsa_make_error (err, 0, "%s%soption \"%s\" requires an argument", cmd ? cmd : "",
                        cmd ? ": " : "", argv[optind - 1]);
      return CAPSA_OPT_ERROR;
    }
  return c;
}

int capsa_cmd_check_args (const char *cmd, int nargs, int min, int max, const char *synopsis,
                          capsa_error_t *err)
{
  if (nargs >= min && (max < 0 || nargs <= max))
    return 0;
  if (max == 0)
    return capsa_make_error (err, 0, "%s: takes no arguments, got %d", cmd, nargs);
  return capsa_make_error (err, 0, "%s: expected %s, got %d argument%s", cmd, synopsis, nargs,
                           nargs == 1 ? "" : "s");
}

int capsa_cmd_parse_uint (const char *cmd, const char *opt, const char *value, int *out,
                          capsa_error_t *err)
{
  char *end = NULL;
  long v;

  errno = 0;
  v = strtol (value, &end, 10);
  if (value[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > INT_MAX)
    return capsa_make_error (err, 0, "%s: %s: invalid number \"%s\"", cmd, opt, value);
  *out = (int)v;
  return 0;
}

static const struct capsa_command *find_command (const char *name)
{
  size_t i;
  for (i = 0; i < N_COMMANDS; i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

enum
{
  OPT_ROOT = 1000,
  OPT_LOG,
  OPT_LOG_FORMAT,
  OPT_LOG_LEVEL,
  OPT_DEBUG,
  OPT_SYSTEMD_CGROUP,
  OPT_CGROUP_MANAGER,
  OPT_ROOTLESS,
  OPT_CRIU,
};

static const struct option global_options[] = {
  { "root", required_argument, NULL, OPT_ROOT },
  { "log", required_argument, NULL, OPT_LOG },
  { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
  { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
  { "debug", no_argument, NULL, OPT_DEBUG },
  { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
  { "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
  { "rootless", optional_argument, NULL, OPT_ROOTLESS },
  { "criu", required_argument, NULL, OPT_CRIU },
  { "version", no_argument, NULL, 'v' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static bool is_rootless_value (const char *s)
{
  return s != NULL
         && (strcmp (s, "true") == 0 || strcmp (s, "false") == 0 || strcmp (s, "auto") == 0);
}

static int fail (capsa_error_t *err)
{
  capsa_log_fatal (*err);
  capsa_error_release (err);
  return 1;
}

int main (int argc, char **argv)
{
  struct capsa_global g = { 0 };
  capsa_error_t err = NULL;
  const char *log_file = NULL, *log_format = NULL, *log_level = NULL, *rootless = "auto";
  const struct capsa_command *cmd;
  /* Not on the heap: main returns by many early error paths, and none has to free it. */
  static char default_root[PATH_MAX];
  bool debug = false;
  char **orig_argv = argv;
  int c, ret;

  g.argv0 = argv[0];
  g.cgroup_manager = "cgroupfs";
  g.criu = "criu";

  optind = 0;
  for (;;)
    {
      c = capsa_cmd_getopt (NULL, argc, argv, "+vVh", global_options, &err);
      if (c == -1)
        break;
      switch (c)
        {
        case OPT_ROOT:
          g.root = optarg;
          break;
        case OPT_LOG:
          log_file = optarg;
          break;
        case OPT_LOG_FORMAT:
          log_format = optarg;
          break;
        case OPT_LOG_LEVEL:
          log_level = optarg;
          break;
        case OPT_DEBUG:
          debug = true;
          break;
        case OPT_SYSTEMD_CGROUP:
          g.cgroup_manager = "systemd";
          break;
        case OPT_CGROUP_MANAGER:
          if (strcmp (optarg, "cgroupfs") != 0 && strcmp (optarg, "systemd") != 0
              && strcmp (optarg, "disabled") != 0)
            {
              capsa_make_error (&err, 0,
                                "--cgroup-manager: unknown manager \"%s\" (expected cgroupfs, "
                                "systemd or disabled)",
                                optarg);
              return fail (&err);
            }
          g.cgroup_manager = optarg;
          break;
        case OPT_ROOTLESS:
          /* runc: `--rootless VALUE`; crun: `--rootless=VALUE`; alone it means true. */
          if (optarg == NULL && optind < argc && is_rootless_value (argv[optind]))
            optarg = argv[optind++];
          rootless = optarg != NULL ? optarg : "true";
          if (!is_rootless_value (rootless))
            {
              capsa_make_error (&err, 0,
                                "--rootless: invalid value \"%s\" (expected true, false or auto)",
                                rootless);
              return fail (&err);
            }
          break;
        case OPT_CRIU:
          g.criu = optarg;
          break;
        case 'v':
        case 'V':
          print_version (g.criu);
          return 0;
        case 'h':
          print_help (stdout);
          return 0;
        default:
          return fail (&err);
        }
    }

  if (capsa_log_init (log_file, log_format, log_level, &err) < 0)
    return fail (&err);
  if (debug)
    {
      capsa_log_set_level (CAPSA_LOG_DEBUG);
      g.debug = true;
    }

  if (strcmp (rootless, "auto") == 0)
    g.rootless = capsa_unprivileged ();
  else
    g.rootless = strcmp (rootless, "true") == 0;

  if (g.root == NULL)
    {
      const char *xdg = getenv ("XDG_RUNTIME_DIR");
      if (capsa_unprivileged () && xdg != NULL && xdg[0] != '\0')
        {
          if ((size_t)snprintf (default_root, sizeof (default_root), "%s/capsa", xdg)
              >= sizeof (default_root))
            {
              capsa_make_error (&err, ENAMETOOLONG, "state root `%s/capsa`", xdg);
              return fail (&err);
            }
          g.root = default_root;
        }
      else
        g.root = "/run/capsa";
    }

  if (optind >= argc)
    {
      capsa_make_error (&err, 0, "no command given (see `capsa --help`)");
      return fail (&err);
    }

  if (strcmp (argv[optind], "help") == 0 || strcmp (argv[optind], "h") == 0)
    {
      if (optind + 1 < argc)
        {
          char *help_argv[] = { argv[optind + 1], (char *)"--help", NULL };
          cmd = find_command (argv[optind + 1]);
          if (cmd == NULL)
            {
              capsa_make_error (&err, 0, "unknown command \"%s\" (see `capsa --help`)",
                                argv[optind + 1]);
              return fail (&err);
            }
          optind = 0;
          ret = cmd->fn (&g, 2, help_argv, &err);
          return ret < 0 ? fail (&err) : 0;
        }
      print_help (stdout);
      return 0;
    }

  cmd = find_command (argv[optind]);
  if (cmd == NULL)
    {
      capsa_make_error (&err, 0, "unknown command \"%s\" (see `capsa --help`)", argv[optind]);
      return fail (&err);
    }

  capsa_trace_command (cmd->name);

  /* The commands that execve container programs run from a sealed copy of capsa, and keep the
   * caller's environment out of the container's view (see cloned-binary.c). */
  if (cmd->fn == capsa_cmd_create || cmd->fn == capsa_cmd_run || cmd->fn == capsa_cmd_exec)
    {
#ifndef CAPSA_NO_CLONED_BINARY
      if (capsa_ensure_cloned_binary (orig_argv, &err) < 0)
        return fail (&err);
#else
      /* (a build for checking that the CVE-2019-5736 test catches the attack) */
      (void)orig_argv;
#endif
      if (capsa_scrub_environment (&err) < 0)
        return fail (&err);
    }

  argc -= optind;
  argv += optind;
  optind = 0;
  ret = cmd->fn (&g, argc, argv, &err);
  if (ret < 0)
    {
      if (err == NULL)
        capsa_make_error (&err, 0, "%s: failed", cmd->name);
      return fail (&err);
    }
  fflush (stdout);
  return ret > 255 ? 255 : ret;
}
