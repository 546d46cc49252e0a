/* capsa: the subcommands and the small option-parsing helpers they share (src/capsa.c). */
#ifndef CAPSA_CMD_H
#define CAPSA_CMD_H

#include <getopt.h>
#include "container.h"
#include "error.h"

/* Every subcommand: argv[0] is the command name, the rest its options and arguments.
 * Returns 0 (or, for run, the container's exit status) or a negative value with *err set. */
typedef int (*capsa_cmd_fn) (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);

int capsa_cmd_create (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_start (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_run (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_exec (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_state (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_kill (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_delete (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_list (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_spec (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_features (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_ps (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_pause (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_resume (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_update (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_events (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_checkpoint (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);
int capsa_cmd_restore (struct capsa_global *g, int argc, char **argv, capsa_error_t *err);

/* The option value returned for --help / -h by capsa_cmd_getopt. */
#define CAPSA_OPT_HELP 'h'
/* Returned by capsa_cmd_getopt on a bad option (*err is set). */
#define CAPSA_OPT_ERROR (-2)

/* The next option of a subcommand.  Long options are also accepted with a single dash
 * (`-bundle`, as runc spells them), short options keep working (`-b`, `-d`), options may follow
 * the arguments (crun) unless `shortopts` starts with '+'.  `shortopts` must not start with ':'
 * (added here).  Returns the option value, -1 after the last option (optind then indexes the
 * first argument), or CAPSA_OPT_ERROR with *err naming the option (`cmd` NULL: global options). Set
 * optind = 0 before the first call so getopt starts afresh on this argv. */
int capsa_cmd_getopt (const char *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, capsa_error_t *err);

/* Check the number of arguments left after the options: between min and max (max < 0: no
 * limit).  `synopsis` names them for the error ("CONTAINER [SIGNAL]"). */
int capsa_cmd_check_args (const char *cmd, int nargs, int min, int max, const char *synopsis,
                          capsa_error_t *err);

/* create.c: the options create and run share (run adds -d/--detach and --keep).  Returns 0 with
 * `o` filled (o->id set), 1 when --help was printed, or a negative value with *err set. */
int capsa_cmd_parse_create (const char *cmd, int argc, char **argv, bool run,
                            struct capsa_create_opts *o, capsa_error_t *err);

/* Parse a non-negative decimal integer option value. */
int capsa_cmd_parse_uint (const char *cmd, const char *opt, const char *value, int *out,
                          capsa_error_t *err);

#endif
