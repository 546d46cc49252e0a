/* capsa: cgroup v2 device rules as a BPF_PROG_TYPE_CGROUP_DEVICE program, built and attached with
 * bpf(2). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-private.h"

#define WHAT ".linux.resources.devices"

/* The name every program capsa attaches carries: BPF_PROG_QUERY finds them by it. */
#define PROG_NAME "capsa_devices"

/* Registers: r1 the context, r2 the requested access bits, r3 the device type, r4 the major,
 * r5 the minor, r0 the verdict. */
enum
{
  R0,
  R1,
  R2,
  R3,
  R4,
  R5
};

struct prog
{
  struct bpf_insn *insn;
  size_t n, cap;
  bool failed;
  bool too_long; /* a jump beyond the 16-bit offset */
};

static size_t emit (struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
                    int32_t imm)
{
  if (p->n == p->cap && !p->failed)
    {
      size_t cap = p->cap ? p->cap * 2 : 64;
      struct bpf_insn *n = realloc (p->insn, cap * sizeof (*n));
      if (n == NULL)
        p->failed = true;
      else
        {
          p->insn = n;
          p->cap = cap;
        }
    }
  if (p->failed)
    return 0;
  memset (&p->insn[p->n], 0, sizeof (p->insn[p->n]));
  p->insn[p->n].code = code;
  p->insn[p->n].dst_reg = dst;
  p->insn[p->n].src_reg = src;
  p->insn[p->n].off = off;
  p->insn[p->n].imm = imm;
  return p->n++;
}

/* Point the jump at `at` to the next instruction to be emitted. */
static void land (struct prog *p, size_t at)
{
  long off = (long)p->n - (long)at - 1;
  if (p->failed)
    return;
  if (off > INT16_MAX)
    p->failed = p->too_long = true;
  else
    p->insn[at].off = (int16_t)off;
}

static void verdict (struct prog *p, int v)
{
  emit (p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, v);
  emit (p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* One chain per access bit: the last rule that matches the device and covers the bit decides
 * (the order the runtime-spec applies the rules in); no rule: denied. */
static void chain (struct prog *p, const struct cg_dev_rule *r, size_t n, unsigned bit)
{
  size_t skip_bit, *allow = calloc (n + 1, sizeof (*allow)), na = 0, i;
  bool decided = false;

  if (allow == NULL)
    {
      p->failed = true;
      return;
    }
  /* Each chain loads the context afresh: the paths that reach it then look the same to the
   * verifier (what the previous chain learnt about the registers is dead), which prunes them
   * instead of walking the next chain once per path (exponential in the rules). */
  emit (p, BPF_LDX | BPF_MEM | BPF_W, R2, R1, offsetof (struct bpf_cgroup_dev_ctx, access_type), 0);
  emit (p, BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
  emit (p, BPF_ALU64 | BPF_AND | BPF_K, R3, 0, 0, 0xffff);
  emit (p, BPF_ALU64 | BPF_RSH | BPF_K, R2, 0, 0, 16);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, R4, R1, offsetof (struct bpf_cgroup_dev_ctx, major), 0);
  emit (p, BPF_LDX | BPF_MEM | BPF_W, R5, R1, offsetof (struct bpf_cgroup_dev_ctx, minor), 0);
  emit (p, BPF_ALU64 | BPF_MOV | BPF_X, R0, R2, 0, 0);
  emit (p, BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, (int32_t)bit);
  skip_bit = emit (p, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, 0);
  for (i = n; i-- > 0 && !decided;)
    {
      size_t miss[3];
      int nm = 0, k;
      bool any = r[i].type == 'a';

      if (!any && !(r[i].access & bit))
        continue;
      if (!any)
        {
          miss[nm++] = emit (p, BPF_JMP | BPF_JNE | BPF_K, R3, 0, 0,
                             r[i].type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
          if (r[i].major >= 0)
            miss[nm++]
              = emit (p, BPF_JMP32 | BPF_JNE | BPF_K, R4, 0, 0, (int32_t)(uint32_t)r[i].major);
          if (r[i].minor >= 0)
            miss[nm++]
              = emit (p, BPF_JMP32 | BPF_JNE | BPF_K, R5, 0, 0, (int32_t)(uint32_t)r[i].minor);
        }
      if (r[i].allow)
        allow[na++] = emit (p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
      else
        verdict (p, 0);
      /* A rule matching everything decides: the earlier ones are never reached. */
      decided = nm == 0;
      for (k = 0; k < nm; k++)
        land (p, miss[k]);
    }
  if (!decided)
    verdict (p, 0);
  land (p, skip_bit);
  for (i = 0; i < na; i++)
    land (p, allow[i]);
  free (allow);
}

static int build (struct prog *p, const struct cg_dev_rule *r, size_t n)
{
  chain (p, r, n, BPF_DEVCG_ACC_MKNOD);
  chain (p, r, n, BPF_DEVCG_ACC_READ);
  chain (p, r, n, BPF_DEVCG_ACC_WRITE);
  verdict (p, 1);
  return p->failed ? -1 : 0;
}

static int sys_bpf (int cmd, union bpf_attr *a)
{
  return (int)syscall (__NR_bpf, cmd, a, sizeof (*a));
}

static int load (struct prog *p, char *log, size_t loglen)
{
  union bpf_attr a;

  memset (&a, 0, sizeof (a));
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.expected_attach_type = BPF_CGROUP_DEVICE;
  a.insns = (uintptr_t)p->insn;
  a.insn_cnt = (uint32_t)p->n;
  a.license = (uintptr_t) "GPL";
  if (log)
    {
      log[0] = '\0';
      a.log_buf = (uintptr_t)log;
      a.log_size = (uint32_t)loglen;
      a.log_level = 1;
    }
  memcpy (a.prog_name, PROG_NAME, sizeof (PROG_NAME));
  return sys_bpf (BPF_PROG_LOAD, &a);
}

/* The ids of the CGROUP_DEVICE programs attached to the cgroup itself, malloc'd. */
static int query (int cgfd, uint32_t **ids, uint32_t *n)
{
  uint32_t cap = 16;

  for (;;)
    {
      union bpf_attr a;
      uint32_t *v = calloc (cap, sizeof (*v));
      if (v == NULL)
        return -1;
      memset (&a, 0, sizeof (a));
      a.query.target_fd = cgfd;
      a.query.attach_type = BPF_CGROUP_DEVICE;
      a.query.prog_ids = (uintptr_t)v;
      a.query.prog_cnt = cap;
      if (sys_bpf (BPF_PROG_QUERY, &a) == 0)
        {
          *ids = v;
          *n = a.query.prog_cnt;
          return 0;
        }
      free (v);
      if (errno != ENOSPC || cap >= 65536)
        return -1;
      cap *= 4;
    }
}

/* Fds of the programs capsa attached to the cgroup (by name and type). */
static int ours (int cgfd, int **fds, size_t *n)
{
  uint32_t *ids = NULL, cnt = 0, i;

  *fds = NULL;
  *n = 0;
  if (query (cgfd, &ids, &cnt) < 0)
    return -1;
  if (cnt && (*fds = calloc (cnt, sizeof (**fds))) == NULL)
    {
      free (ids);
      return -1;
    }
  for (i = 0; i < cnt; i++)
    {
      union bpf_attr a;
      struct bpf_prog_info info;
      int fd;

      memset (&a, 0, sizeof (a));
      a.prog_id = ids[i];
      if ((fd = sys_bpf (BPF_PROG_GET_FD_BY_ID, &a)) < 0)
        continue; /* detached meanwhile */
      memset (&info, 0, sizeof (info));
      memset (&a, 0, sizeof (a));
      a.info.bpf_fd = fd;
      a.info.info_len = sizeof (info);
      a.info.info = (uintptr_t)&info;
      if (sys_bpf (BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && info.type == BPF_PROG_TYPE_CGROUP_DEVICE
          && strcmp (info.name, PROG_NAME) == 0)
        (*fds)[(*n)++] = fd;
      else
        close (fd);
    }
  free (ids);
  return 0;
}

static int detach (int cgfd, int progfd)
{
  union bpf_attr a;

  memset (&a, 0, sizeof (a));
  a.target_fd = cgfd;
  a.attach_bpf_fd = progfd;
  a.attach_type = BPF_CGROUP_DEVICE;
  return sys_bpf (BPF_PROG_DETACH, &a);
}

static void close_all (int *fds, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    close (fds[i]);
  free (fds);
}

/* The last non-empty line of the verifier's log. */
static const char *last_line (char *log)
{
  char *end = log + strlen (log), *p;

  while (end > log && (end[-1] == '\n' || end[-1] == ' '))
    *--end = '\0';
  p = strrchr (log, '\n');
  return p ? p + 1 : log;
}

int cg_bpf_devices_apply (const char *dir, const struct cg_dev_rule *rules, size_t n,
                          capsa_error_t *err)
{
  struct prog p = { 0 };
  int cgfd = -1, progfd = -1, *old = NULL, ret = -1;
  size_t nold = 0, i;
  union bpf_attr a;

  if (build (&p, rules, n) < 0)
    {
      if (p.too_long)
        capsa_make_error (err, 0, WHAT ": %zu rules are too many for one device program", n);
      else
        capsa_make_error (err, ENOMEM, WHAT ": build the device program");
      goto out;
    }
  if ((cgfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      capsa_make_error (err, errno, WHAT ": open cgroup `%s`", dir);
      goto out;
    }
  if ((progfd = load (&p, NULL, 0)) < 0)
    {
      int e = errno;
      char *log = e == EPERM || e == ENOSYS ? NULL : calloc (1, 65536);
      if (log && load (&p, log, 65536) >= 0)
        log[0] = '\0'; /* loads with a log: not the program's fault */
      capsa_make_error (err, e,
                        WHAT ": the kernel rejected the device program (%zu rules, %zu "
                             "instructions)%s%s",
                        n, p.n, log && *log ? ": " : "", log ? last_line (log) : "");
      free (log);
      progfd = -1;
      goto out;
    }
  if (ours (cgfd, &old, &nold) < 0)
    {
      capsa_make_error (err, errno, WHAT ": query the device programs of cgroup `%s`", dir);
      goto out;
    }
  /* Attach the new program before detaching the old ones: in between both apply (a device
   * needs both to allow it), never neither. */
  memset (&a, 0, sizeof (a));
  a.target_fd = cgfd;
  a.attach_bpf_fd = progfd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf (BPF_PROG_ATTACH, &a) < 0)
    {
      capsa_make_error (err, errno, WHAT ": attach the device program to cgroup `%s`", dir);
      goto out;
    }
  for (i = 0; i < nold; i++)
    if (detach (cgfd, old[i]) < 0 && errno != ENOENT)
      {
        capsa_make_error (err, errno, WHAT ": detach the previous device program from cgroup `%s`",
                          dir);
        detach (cgfd, progfd);
        goto out;
      }
  ret = 0;
out:
  close_all (old, nold);
  if (progfd >= 0)
    close (progfd);
  if (cgfd >= 0)
    close (cgfd);
  free (p.insn);
  return ret;
}

int cg_bpf_devices_remove (const char *dir, capsa_error_t *err)
{
  int cgfd, *old = NULL, ret = 0;
  size_t nold = 0, i;

  if ((cgfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return errno == ENOENT ? 0 : capsa_make_error (err, errno, WHAT ": open cgroup `%s`", dir);
  if (ours (cgfd, &old, &nold) < 0)
    ret = capsa_make_error (err, errno, WHAT ": query the device programs of cgroup `%s`", dir);
  for (i = 0; ret == 0 && i < nold; i++)
    if (detach (cgfd, old[i]) < 0 && errno != ENOENT)
      ret = capsa_make_error (err, errno, WHAT ": detach the device program from cgroup `%s`", dir);
  close_all (old, nold);
  close (cgfd);
  return ret;
}
