/* capsa list: list the containers under the state root, as a table or JSON. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "cmd.h"

static const struct option list_options[] = {
  { "format", required_argument, NULL, 'f' },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

#define N_COLUMNS 6
#define MIN_WIDTH 12
#define PADDING 3

static void print_row (const char *cells[N_COLUMNS], const size_t width[N_COLUMNS])
{
  int i;
  for (i = 0; i < N_COLUMNS; i++)
    {
      if (i == N_COLUMNS - 1)
        printf ("%s\n", cells[i]);
      else
        printf ("%-*s", (int)width[i], cells[i]);
    }
}

static void fill_cells (const struct capsa_container_info *c, char *pid, size_t pidlen,
                        const char *cells[N_COLUMNS])
{
  snprintf (pid, pidlen, "%d", (int)c->pid);
  cells[0] = c->id ? c->id : "";
  cells[1] = pid;
  cells[2] = c->status ? c->status : "";
  cells[3] = c->bundle ? c->bundle : "";
  cells[4] = c->created ? c->created : "";
  cells[5] = c->owner ? c->owner : "";
}

/* Columns as wide as their widest cell plus padding, at least MIN_WIDTH. */
static void print_table (const struct capsa_container_info *list, size_t n)
{
  const char *header[N_COLUMNS] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
  const char *cells[N_COLUMNS];
  size_t width[N_COLUMNS], i;
  char pid[24];
  int j;

  for (j = 0; j < N_COLUMNS; j++)
    width[j] = strlen (header[j]);
  for (i = 0; i < n; i++)
    {
      fill_cells (&list[i], pid, sizeof (pid), cells);
      for (j = 0; j < N_COLUMNS; j++)
        if (strlen (cells[j]) > width[j])
          width[j] = strlen (cells[j]);
    }
  for (j = 0; j < N_COLUMNS; j++)
    {
      width[j] += PADDING;
      if (width[j] < MIN_WIDTH)
        width[j] = MIN_WIDTH;
    }
  print_row (header, width);
  for (i = 0; i < n; i++)
    {
      fill_cells (&list[i], pid, sizeof (pid), cells);
      print_row (cells, width);
    }
}

static void gen_string (yajl_gen g, const char *key, const char *value)
{
  yajl_gen_string (g, (const unsigned char *)key, strlen (key));
  if (value == NULL)
    value = "";
  yajl_gen_string (g, (const unsigned char *)value, strlen (value));
}

static int print_json (const struct capsa_container_info *list, size_t n, capsa_error_t *err)
{
  const unsigned char *buf;
  yajl_gen g;
  size_t len, i;

  if (n == 0)
    {
      puts ("[]");
      return 0;
    }
  g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return capsa_make_error (err, 0, "list: cannot allocate the JSON generator");
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    {
      yajl_gen_map_open (g);
      gen_string (g, "id", list[i].id);
      yajl_gen_string (g, (const unsigned char *)"pid", 3);
      yajl_gen_integer (g, list[i].pid);
      gen_string (g, "status", list[i].status);
      gen_string (g, "bundle", list[i].bundle);
      gen_string (g, "created", list[i].created);
      gen_string (g, "owner", list[i].owner);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  if (yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    {
      yajl_gen_free (g);
      return capsa_make_error (err, 0, "list: cannot generate the JSON output");
    }
  fwrite (buf, 1, len, stdout);
  if (len == 0 || buf[len - 1] != '\n')
    putchar ('\n');
  yajl_gen_free (g);
  return 0;
}

int capsa_cmd_list (struct capsa_global *g, int argc, char **argv, capsa_error_t *err)
{
  struct capsa_container_info *list = NULL;
  const char *format = "table";
  bool quiet = false;
  size_t n = 0, i;
  int c, ret = 0;

  while ((c = capsa_cmd_getopt ("list", argc, argv, "f:qh", list_options, err)) != -1)
    {
      switch (c)
        {
        case 'f':
          if (strcmp (optarg, "table") != 0 && strcmp (optarg, "json") != 0)
            return capsa_make_error (err, 0, "list: unknown format \"%s\" (expected table or json)",
                                     optarg);
          format = optarg;
          break;
        case 'q':
          quiet = true;
          break;
        case 'h':
          fputs ("Usage: capsa list [OPTIONS]\n"
                 "\n"
                 "List the containers whose state is under the state root (--root).\n"
                 "\n"
                 "Options:\n"
                 "  -f, --format FORMAT     table (default) or json\n"
                 "  -q, --quiet             print only the container ids\n"
                 "  -h, --help              show this help\n",
                 stdout);
          return 0;
        default:
          return -1;
        }
    }
  if (capsa_cmd_check_args ("list", argc - optind, 0, 0, "", err) < 0)
    return -1;
  if (capsa_container_list (g, &list, &n, err) < 0)
    return -1;
  if (quiet)
    for (i = 0; i < n; i++)
      puts (list[i].id);
  else if (strcmp (format, "json") == 0)
    ret = print_json (list, n, err);
  else
    print_table (list, n);
  capsa_container_info_free (list, n);
  return ret;
}
