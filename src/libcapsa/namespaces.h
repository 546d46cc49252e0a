/* capsa: namespaces (namespaces.c). */
#ifndef CAPSA_NAMESPACES_H
#define CAPSA_NAMESPACES_H

#include "internal.h"

struct capsa_ns_plan
{
  int new_flags; /* CLONE_NEW* to create */
  int joined;    /* CLONE_NEW* joined by path */
  struct
  {
    int fd;
    int flag;
    size_t index;
  } join[8];
  size_t njoin;
};

int capsa_ns_flag (const char *type);
/* Validate linux.namespaces, open the paths to join, fill ctx->new_* flags. */
int capsa_ns_plan (struct capsa_ctx *ctx, struct capsa_ns_plan *plan, capsa_error_t *err);
void capsa_ns_plan_release (struct capsa_ns_plan *plan);
/* setns into the joined user namespace (user=true) or every other joined one. */
int capsa_ns_join (struct capsa_ns_plan *plan, bool user, capsa_error_t *err);
/* From the parent: uid_map/gid_map of the child `pid`. */
int capsa_ns_write_id_maps (struct capsa_ctx *ctx, pid_t pid, capsa_error_t *err);
/* Write FILE ("uid_map"/"gid_map") of process PID from the N mappings M. */
int capsa_write_id_map (pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                        capsa_error_t *err);
int capsa_ns_enter_time (struct capsa_ctx *ctx, capsa_error_t *err);

#endif
