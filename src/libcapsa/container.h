/* capsa: the runtime's public surface, called by src/cmd/. */
#ifndef CAPSA_CONTAINER_H
#define CAPSA_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

/* The runtime-spec version capsa implements: `capsa --version`, `capsa spec`, features. */
#define CAPSA_OCI_VERSION "1.3.0"

/* Global options (runc and crun spellings both map here). */
struct capsa_global
{
  const char *root;           /* state root; default /run/capsa or $XDG_RUNTIME_DIR/capsa */
  const char *cgroup_manager; /* "cgroupfs" (default), "systemd", "disabled" */
  bool rootless;
  bool debug;
  const char *argv0;
};

struct capsa_create_opts
{
  const char *id;
  const char *bundle;      /* default: cwd */
  const char *config_file; /* default: <bundle>/config.json */
  const char *pid_file;
  const char *console_socket;
  int preserve_fds; /* fds 3 .. 3+N-1 are passed to the container process */
  bool no_pivot;
  bool no_new_keyring;
  bool detach; /* run: return after start */
  bool keep;   /* run: do not delete the container after it exits */
};

/* create: the container process waits for `start`. */
int capsa_container_create (struct capsa_global *g, const struct capsa_create_opts *o,
                            capsa_error_t *err);
/* run: create + start; in the foreground returns the exit status (>= 0) of the container process
 * (128+N when killed by signal N). */
int capsa_container_run (struct capsa_global *g, const struct capsa_create_opts *o,
                         capsa_error_t *err);
int capsa_container_start (struct capsa_global *g, const char *id, capsa_error_t *err);
/* The OCI state JSON, malloc'd, in *out. */
int capsa_container_state (struct capsa_global *g, const char *id, char **out, capsa_error_t *err);
int capsa_container_kill (struct capsa_global *g, const char *id, int sig, bool all,
                          capsa_error_t *err);
int capsa_container_delete (struct capsa_global *g, const char *id, bool force, capsa_error_t *err);

struct capsa_container_info
{
  char *id;
  pid_t pid; /* 0 when stopped */
  char *status;
  char *bundle;
  char *created; /* RFC 3339 */
  char *owner;
};
int capsa_container_list (struct capsa_global *g, struct capsa_container_info **out, size_t *n,
                          capsa_error_t *err);
void capsa_container_info_free (struct capsa_container_info *list, size_t n);

/* Validate a container id: [A-Za-z0-9][A-Za-z0-9_+.-]*, at most 1024 bytes, no "." or "..". */
int capsa_validate_id (const char *id, capsa_error_t *err);
/* Signal by name ("KILL", "SIGKILL", "kill") or number. */
int capsa_parse_signal (const char *s, capsa_error_t *err);

/* `capsa spec`: the default config.json text (rootless variant when asked), malloc'd. */
char *capsa_spec_default (bool rootless);
/* `capsa features`: the features document, malloc'd JSON text. */
char *capsa_features_json (void);
/* The "+FEATURE ..." line of --version (without the newline). */
const char *capsa_feature_line (void);

#endif
