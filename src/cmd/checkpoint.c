/* capsa checkpoint and capsa restore: save a running container with CRIU, and bring it back. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

enum
{
  OPT_IMAGE_PATH = 1000,
  OPT_WORK_PATH,
  OPT_PARENT_PATH,
  OPT_LEAVE_RUNNING,
  OPT_TCP_ESTABLISHED,
  OPT_EXT_UNIX_SK,
  OPT_SHELL_JOB,
  OPT_FILE_LOCKS,
  OPT_PRE_DUMP,
  OPT_MANAGE_CGROUPS_MODE,
  OPT_EMPTY_NS,
  OPT_AUTO_DEDUP,
  OPT_LAZY_PAGES,
  OPT_STATUS_FD,
  OPT_PID_FILE,
  OPT_CONSOLE_SOCKET,
  OPT_NO_PIVOT,
  OPT_NO_SUBREAPER,
};

/* The options checkpoint and restore share, with their meaning. */
#define COMMON_OPTIONS                                                                             \
  { "image-path", required_argument, NULL, OPT_IMAGE_PATH },                                       \
    { "work-path", required_argument, NULL, OPT_WORK_PATH },                                       \
    { "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },                                 \
    { "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },                                         \
    { "shell-job", no_argument, NULL, OPT_SHELL_JOB },                                             \
    { "file-locks", no_argument, NULL, OPT_FILE_LOCKS },                                           \
    { "manage-cgroups-mode", required_argument, NULL, OPT_MANAGE_CGROUPS_MODE },                   \
    { "empty-ns", required_argument, NULL, OPT_EMPTY_NS },                                         \
    { "auto-dedup", no_argument, NULL, OPT_AUTO_DEDUP },                                           \
    { "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },                                           \
  {                                                                                                \
    "help", no_argument, NULL, 'h'                                                                 \
  }

#define COMMON_HELP                                                                                \
  "  --image-path DIR        the checkpoint's image directory (default ./checkpoint)\n"            \
  "  --work-path DIR         where CRIU writes its log (default: the image directory)\n"           \
  "  --tcp-established       established TCP connections are saved/restored\n"                     \
  "  --ext-unix-sk           unix sockets connected outside the container are allowed\n"           \
  "  --shell-job             the process tree is a shell job (its terminal is outside)\n"          \
  "  --file-locks            file locks are saved/restored\n"                                      \
  "  --manage-cgroups-mode M soft (default), full, strict or ignore\n"                             \
  "  --empty-ns network      the network namespace is made but left empty\n"                       \
  "  --auto-dedup            deduplicate the memory images\n"                                      \
  "  --lazy-pages            (not supported: capsa runs no lazy-pages daemon)\n"                   \
  "  -h, --help              show this help\n"

static const struct option checkpoint_options[] = {
  { "parent-path", required_argument, NULL, OPT_PARENT_PATH },
  { "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING },
  { "pre-dump", no_argument, NULL, OPT_PRE_DUMP },
  { "status-fd", required_argument, NULL, OPT_STATUS_FD },
  COMMON_OPTIONS,
  { NULL, 0, NULL, 0 },
};

static const struct option restore_options[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
  { "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
  COMMON_OPTIONS,
  { NULL, 0, NULL, 0 },
};

/* The shared options into the fields both option structs have; 1 when c was one of them. */
struct common
{
  const char **image_path, **work_path, **mode;
  bool *tcp, *ext_unix_sk, *shell_job, *file_locks, *auto_dedup, *lazy_pages;
  char ***empty_ns;
  size_t *empty_ns_len;
};

static int parse_common (const struct common *c, int opt, const char *arg)
{
  switch (opt)
    {
    case OPT_IMAGE_PATH:
      *c->image_path = arg;
      return 1;
    case OPT_WORK_PATH:
      *c->work_path = arg;
      return 1;
    case OPT_MANAGE_CGROUPS_MODE:
      *c->mode = arg;
      return 1;
    case OPT_TCP_ESTABLISHED:
      *c->tcp = true;
      return 1;
    case OPT_EXT_UNIX_SK:
      *c->ext_unix_sk = true;
      return 1;
    case OPT_SHELL_JOB:
      *c->shell_job = true;
      return 1;
    case OPT_FILE_LOCKS:
      *c->file_locks = true;
      return 1;
    case OPT_AUTO_DEDUP:
      *c->auto_dedup = true;
      return 1;
    case OPT_LAZY_PAGES:
      *c->lazy_pages = true;
      return 1;
    case OPT_EMPTY_NS:
      {
        char **v = realloc (*c->empty_ns, (*c->empty_ns_len + 1) * sizeof (*v));
        if (v == NULL)
          return -1;
        v[(*c->empty_ns_len)++] = (char *)arg;
        *c->empty_ns = v;
        return 1;
      }
    default:
      return 0;
    }
}

int capsa_cmd_checkpoint (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_checkpoint_opts o = { 0 };
  struct common cm = { &o.image_path,  &o.work_path, &o.manage_cgroups_mode, &o.tcp_established,
                       &o.ext_unix_sk, &o.shell_job, &o.file_locks,          &o.auto_dedup,
                       &o.lazy_pages,  &o.empty_ns,  &o.empty_ns_len };
  int c, ret;

  o.status_fd = -1;
  while ((c = capsa_cmd_getopt ("checkpoint", argc, argv, "h", checkpoint_options, err)) != -1)
    {
      if (parse_common (&cm, c, optarg) > 0)
        continue;
      switch (c)
        {
        case OPT_PARENT_PATH:
          o.parent_path = optarg;
          break;
        case OPT_LEAVE_RUNNING:
          o.leave_running = true;
          break;
        case OPT_PRE_DUMP:
          o.pre_dump = true;
          break;
        case OPT_STATUS_FD:
          if (capsa_cmd_parse_uint ("checkpoint", "--status-fd", optarg, &o.status_fd, err) < 0)
            goto fail;
          break;
        case 'h':
          fputs (
            "Usage: capsa checkpoint [OPTIONS] CONTAINER\n"
            "\n"
            "Save the running container CONTAINER to disk with CRIU (see --criu).  Without\n"
            "--leave-running (or --pre-dump) the container is stopped and deleted once saved.\n"
            "\n"
            "Options:\n"
            "  --leave-running         keep the container running after the checkpoint\n"
            "  --pre-dump              save the memory only, for a later dump with\n"
            "                          --parent-path (the container keeps running)\n"
            "  --parent-path DIR       the pre-dump's images, relative to the image path\n"
            "  --status-fd FD          (with --lazy-pages only)\n" COMMON_HELP,
            stdout);
          free (o.empty_ns);
          return 0;
        default:
          goto fail;
        }
    }
  if (capsa_cmd_check_args ("checkpoint", argc - optind, 1, 1, "CONTAINER", err) < 0)
    goto fail;
  o.id = argv[optind];
  ret = capsa_container_checkpoint (g, &o, err);
  free (o.empty_ns);
  return ret < 0 ? -1 : 0;
fail:
  free (o.empty_ns);
  return -1;
}

int capsa_cmd_restore (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_restore_opts o = { 0 };
  struct common cm = { &o.image_path,  &o.work_path, &o.manage_cgroups_mode, &o.tcp_established,
                       &o.ext_unix_sk, &o.shell_job, &o.file_locks,          &o.auto_dedup,
                       &o.lazy_pages,  &o.empty_ns,  &o.empty_ns_len };
  int c, ret;

  while ((c = capsa_cmd_getopt ("restore", argc, argv, "b:dh", restore_options, err)) != -1)
    {
      if (parse_common (&cm, c, optarg) > 0)
        continue;
      switch (c)
        {
        case 'b':
          o.bundle = optarg;
          break;
        case 'd':
          o.detach = true;
          break;
        case OPT_PID_FILE:
          o.pid_file = optarg;
          break;
        case OPT_CONSOLE_SOCKET:
          o.console_socket = optarg;
          break;
        case OPT_NO_PIVOT:
          o.no_pivot = true;
          break;
        case OPT_NO_SUBREAPER:
          o.no_subreaper = true;
          break;
        case 'h':
          fputs ("Usage: capsa restore [OPTIONS] CONTAINER\n"
                 "\n"
                 "Restore a container from a checkpoint made by `capsa checkpoint`, as CONTAINER\n"
                 "(the same id or a new one), from the bundle's config.json and rootfs.  In the\n"
                 "foreground capsa waits for it and deletes it when it exits (as `run`).\n"
                 "\n"
                 "Options:\n"
                 "  -b, --bundle DIR        the bundle (default: the current directory)\n"
                 "  -d, --detach            return once the container runs\n"
                 "  --pid-file FILE         write the restored process's pid to FILE\n"
                 "  --console-socket PATH   send the new terminal's master to this socket\n"
                 "  --no-pivot              accepted: CRIU restores the mount namespace itself\n"
                 "  --no-subreaper          in the foreground, do not adopt the orphans of the\n"
                 "                          container\n" COMMON_HELP,
                 stdout);
          free (o.empty_ns);
          return 0;
        default:
          free (o.empty_ns);
          return -1;
        }
    }
  if (capsa_cmd_check_args ("restore", argc - optind, 1, 1, "CONTAINER", err) < 0)
    {
      free (o.empty_ns);
      return -1;
    }
  o.id = argv[optind];
  ret = capsa_container_restore (g, &o, err);
  free (o.empty_ns);
  return ret;
}
