/* capsa: VM isolation mode: boot snapshots.  Under TCG most of a VM's start is the guest kernel's
 * boot, translated afresh each time, and everything up to the agent's REC_READY is the same for
 * every container with the same hypervisor, kernel, initramfs, kernel parameters and VM shape.
 * The first VM of such a shape is saved at that point (QEMU's migration stream, written through
 * QMP into a cache file) and goes on to run its workload; later VMs of the same shape start with
 * `-incoming` from that file instead of booting.  The agent then gets a fresh RNG seed and the
 * time as the first records (channel.c), and mounts the container's rootfs only after that
 * (virtio-9p cannot be saved once attached), so nothing of a container is in a snapshot. */
#include <config.h>
#include "vm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define SNAPSHOT_SUFFIX ".vmstate"
/* A partial file is taken for one left by a dead run when no one holds its lock and it is
 * older than this. */
#define STALE_TMP_SECONDS 2
/* Snapshots unused for this long are removed when another is saved. */
#define EVICT_DAYS 14
/* Saving takes tens of milliseconds here (16 MiB for a 256 MiB guest). */
#define SAVE_TIMEOUT_MS 30000

static uint64_t fnv (uint64_t h, const void *p, size_t n)
{
  const unsigned char *c = p;
  while (n--)
    {
      h ^= *c++;
      h *= 1099511628211ULL;
    }
  return h;
}

static uint64_t fnv_str (uint64_t h, const char *s)
{
  return fnv (h, s, strlen (s) + 1);
}

/* The file's identity: a kernel, initramfs or QEMU replaced in place changes the key. */
static uint64_t fnv_file (uint64_t h, const char *path)
{
  struct stat st;
  memset (&st, 0, sizeof (st));
  stat (path, &st);
  h = fnv (h, &st.st_dev, sizeof (st.st_dev));
  h = fnv (h, &st.st_ino, sizeof (st.st_ino));
  h = fnv (h, &st.st_size, sizeof (st.st_size));
  h = fnv (h, &st.st_mtim, sizeof (st.st_mtim));
  return fnv (h, &st.st_ctim, sizeof (st.st_ctim));
}

/* What the saved state depends on: the hypervisor's argv (but the VM's name, and the guest's
 * TSC hint, which only spares a calibration the saved kernel already did) and the files. */
static uint64_t snapshot_key (const struct capsa_vm_plan *plan)
{
  char **argv = capsa_vm_qemu_argv (plan);
  uint64_t h = 14695981039346656037ULL;
  size_t i;

  for (i = 0; argv[i]; i++)
    {
      if (i > 0 && strcmp (argv[i - 1], "-name") == 0)
        ;
      else if (i > 0 && strcmp (argv[i - 1], "-append") == 0)
        {
          char *tok, *save = NULL, *copy = strdup (argv[i]);
          if (copy == NULL)
            abort ();
          for (tok = strtok_r (copy, " ", &save); tok; tok = strtok_r (NULL, " ", &save))
            if (strncmp (tok, "tsc_early_khz=", 14) != 0)
              h = fnv_str (h, tok);
          free (copy);
        }
      else
        h = fnv_str (h, argv[i]);
    }
  for (i = 0; argv[i]; i++)
    free (argv[i]);
  free (argv);
  h = fnv_file (h, plan->hypervisor);
  h = fnv_file (h, plan->kernel);
  return fnv_file (h, plan->initrd);
}

static const char *snapshot_dir (char *buf, size_t len)
{
  const char *d = getenv ("CAPSA_VM_SNAPSHOT_DIR"), *home;
  if (d && d[0])
    return d[0] == '/' ? d : NULL;
  if (geteuid () == 0)
    return "/var/cache/capsa/vm-snapshots";
  if ((d = getenv ("XDG_CACHE_HOME")) && d[0] == '/')
    snprintf (buf, len, "%s/capsa/vm-snapshots", d);
  else if ((home = getenv ("HOME")) && home[0] == '/')
    snprintf (buf, len, "%s/.cache/capsa/vm-snapshots", home);
  else
    return NULL;
  return buf;
}

void capsa_vm_snapshot_choose (struct capsa_vm_plan *plan)
{
  struct capsa_vm_snapshot *s = &plan->snap;
  char buf[4096];
  const char *dir;
  uint64_t key;
  int tries;

  s->mode = VM_SNAP_NONE;
  s->fd = s->dirfd = -1;
  if (!plan->snapshots || plan->kvm)
    return;
  if ((dir = snapshot_dir (buf, sizeof (buf))) == NULL)
    return;
  s->dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0)
    {
      /* Its parents as usual, itself for this user alone. */
      char parent[4096];
      capsa_error_t e = NULL;
      snprintf (parent, sizeof (parent), "%s", dir);
      *strrchr (parent, '/') = '\0';
      if (parent[0] && capsa_mkdir_p (parent, 0755, &e) < 0)
        capsa_error_release (&e);
      mkdir (dir, 0700);
      s->dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (s->dirfd < 0)
        {
          capsa_debug ("VM snapshots: cannot use \"%s\": %s", dir, strerror (errno));
          return;
        }
    }
  /* A snapshot is the guest's code and memory: only files nobody else can write are used. */
  {
    struct stat st;
    if (fstat (s->dirfd, &st) < 0 || st.st_uid != geteuid () || (st.st_mode & 022) != 0)
      {
        capsa_debug ("VM snapshots: \"%s\" is not private to this user: not used", dir);
        close (s->dirfd);
        s->dirfd = -1;
        return;
      }
  }
  key = snapshot_key (plan);
  snprintf (s->name, sizeof (s->name), "%016llx" SNAPSHOT_SUFFIX, (unsigned long long)key);
  snprintf (s->tmp, sizeof (s->tmp), "%016llx" SNAPSHOT_SUFFIX ".tmp", (unsigned long long)key);
  s->fd = openat (s->dirfd, s->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (s->fd >= 0)
    {
      struct stat st;
      if (fstat (s->fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
          || (st.st_mode & 022) != 0)
        {
          capsa_debug ("VM snapshots: %s/%s is not private to this user: not used", dir, s->name);
          close (s->fd);
          close (s->dirfd);
          s->fd = s->dirfd = -1;
          return;
        }
      /* Its time of last use, for the eviction of unused ones (evict below). */
      futimens (s->fd, NULL);
      s->mode = VM_SNAP_RESTORE;
      capsa_debug ("VM snapshots: starting from %s/%s", dir, s->name);
      return;
    }
  for (tries = 0; tries < 2; tries++)
    {
      struct stat st;
      int other;
      s->fd = openat (s->dirfd, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (s->fd >= 0)
        {
          /* Held as long as this container's init lives (a created container may wait long
             for its start): the partial file of an init that died is free. */
          flock (s->fd, LOCK_EX | LOCK_NB);
          s->mode = VM_SNAP_SAVE;
          capsa_debug ("VM snapshots: saving this VM's boot as %s/%s", dir, s->name);
          return;
        }
      if (errno != EEXIST)
        break;
      /* Another VM of this shape is saving it now: boot without.  A file no one holds (older
         than a moment: its maker locks it right after making it) is left from a dead run. */
      other = openat (s->dirfd, s->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (other < 0)
        continue;
      if (fstat (other, &st) < 0 || st.st_mtime > time (NULL) - STALE_TMP_SECONDS
          || flock (other, LOCK_EX | LOCK_NB) < 0)
        {
          close (other);
          break;
        }
      close (other);
      unlinkat (s->dirfd, s->tmp, 0);
    }
  close (s->dirfd);
  s->dirfd = -1;
}

/* ---- saving, through the VMM's QMP monitor ---- */

struct qmp
{
  int fd;
  char buf[65536];
  size_t len;
  int deadline_ms;
};

static int qmp_line (struct qmp *q, char *line, size_t max)
{
  for (;;)
    {
      char *nl = memchr (q->buf, '\n', q->len);
      struct pollfd p = { .fd = q->fd, .events = POLLIN };
      ssize_t n;
      if (nl)
        {
          size_t l = (size_t)(nl - q->buf) + 1;
          snprintf (line, max, "%.*s", (int)(l - 1), q->buf);
          memmove (q->buf, q->buf + l, q->len - l);
          q->len -= l;
          return 0;
        }
      if (q->len == sizeof (q->buf) || poll (&p, 1, q->deadline_ms) <= 0)
        return -1;
      n = read (q->fd, q->buf + q->len, sizeof (q->buf) - q->len);
      if (n <= 0)
        return -1;
      q->len += (size_t)n;
    }
}

/* Send `cmd` (with `fd` attached when >= 0) and parse the reply, skipping events.  Returns the
 * tree (the caller frees it) whose "return" member exists, or NULL with the error in `why`. */
static yajl_val qmp_call (struct qmp *q, const char *cmd, int fd, char *why, size_t whylen)
{
  char line[65536];
  capsa_error_t e = NULL;

  if (fd >= 0 ? capsa_send_fd_msg (q->fd, fd, cmd, &e) < 0
              : write (q->fd, cmd, strlen (cmd)) != (ssize_t)strlen (cmd))
    {
      snprintf (why, whylen, "write to the QMP monitor: %s", e ? e->msg : strerror (errno));
      capsa_error_release (&e);
      return NULL;
    }
  for (;;)
    {
      const char *ret_path[] = { "return", NULL }, *err_path[] = { "error", "desc", NULL },
                 *ev_path[] = { "event", NULL };
      yajl_val v, e;
      if (qmp_line (q, line, sizeof (line)) < 0)
        {
          snprintf (why, whylen, "no reply from the QMP monitor to %.40s", cmd);
          return NULL;
        }
      v = yajl_tree_parse (line, NULL, 0);
      if (v == NULL)
        {
          snprintf (why, whylen, "unreadable QMP reply: %.80s", line);
          return NULL;
        }
      if (yajl_tree_get (v, ev_path, yajl_t_any))
        {
          yajl_tree_free (v);
          continue;
        }
      if (yajl_tree_get (v, ret_path, yajl_t_any))
        return v;
      e = yajl_tree_get (v, err_path, yajl_t_string);
      snprintf (why, whylen, "%.40s: %.400s", cmd,
                e && YAJL_GET_STRING (e) ? YAJL_GET_STRING (e) : line);
      yajl_tree_free (v);
      return NULL;
    }
}

static int qmp_simple (struct qmp *q, const char *cmd, int fd, char *why, size_t whylen)
{
  yajl_val v = qmp_call (q, cmd, fd, why, whylen);
  if (v == NULL)
    return -1;
  yajl_tree_free (v);
  return 0;
}

static int save (struct capsa_vm_snapshot *s, char *why, size_t whylen)
{
  static struct qmp q;
  char greeting[4096], scratch[512];
  struct timespec t0, t1;

  q.fd = s->qmp;
  q.len = 0;
  q.deadline_ms = SAVE_TIMEOUT_MS;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  if (qmp_line (&q, greeting, sizeof (greeting)) < 0)
    {
      snprintf (why, whylen, "no greeting from the QMP monitor");
      return -1;
    }
  /* The VM is saved running: it waits for its settings, idle, and the stream ends with it
     paused here and marked running, so that a VM started from it runs at once.  QEMU's default
     bandwidth limit (32 MiB/s) would make this take half a second. */
  if (qmp_simple (&q, "{\"execute\":\"qmp_capabilities\"}\n", -1, why, whylen) < 0
      || qmp_simple (&q,
                     "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
                     "{\"max-bandwidth\":1099511627776}}\n",
                     -1, why, whylen)
           < 0
      || qmp_simple (&q, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"snapshot\"}}\n", s->fd,
                     why, whylen)
           < 0
      || qmp_simple (&q, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:snapshot\"}}\n", -1,
                     why, whylen)
           < 0)
    return -1;
  for (;;)
    {
      const char *st_path[] = { "return", "status", NULL },
                 *desc_path[] = { "return", "error-desc", NULL };
      yajl_val v = qmp_call (&q, "{\"execute\":\"query-migrate\"}\n", -1, why, whylen), st, d;
      bool done = false, failed = false;
      const char *status;
      if (v == NULL)
        return -1;
      st = yajl_tree_get (v, st_path, yajl_t_string);
      status = st && YAJL_GET_STRING (st) ? YAJL_GET_STRING (st) : "";
      if (strcmp (status, "completed") == 0)
        done = true;
      else if (strcmp (status, "failed") == 0 || strcmp (status, "cancelled") == 0)
        {
          d = yajl_tree_get (v, desc_path, yajl_t_string);
          snprintf (why, whylen, "%s",
                    d && YAJL_GET_STRING (d) ? YAJL_GET_STRING (d) : "migration failed");
          failed = true;
        }
      yajl_tree_free (v);
      if (done)
        break;
      if (failed)
        {
          /* The VM may be paused; it has to run its workload all the same. */
          qmp_simple (&q, "{\"execute\":\"cont\"}\n", -1, scratch, sizeof (scratch));
          return -1;
        }
      clock_gettime (CLOCK_MONOTONIC, &t1);
      if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > SAVE_TIMEOUT_MS)
        {
          snprintf (why, whylen, "saving took longer than %d s", SAVE_TIMEOUT_MS / 1000);
          qmp_simple (&q, "{\"execute\":\"migrate_cancel\"}\n", -1, scratch, sizeof (scratch));
          qmp_simple (&q, "{\"execute\":\"cont\"}\n", -1, scratch, sizeof (scratch));
          return -1;
        }
      nanosleep (&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
    }
  /* Saved: the VM stopped at the end of the stream; it goes on to run this container. */
  if (qmp_simple (&q, "{\"execute\":\"cont\"}\n", -1, why, whylen) < 0)
    return -1;
  return 0;
}

/* After a save: snapshots not used for EVICT_DAYS go (other kernels, initramfs builds, QEMU
 * versions, VM sizes); a start from one marks it used. */
static void evict (int dirfd, const char *keep)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t sl = strlen (SNAPSHOT_SUFFIX);
  time_t old = time (NULL) - EVICT_DAYS * 24 * 3600;
  struct dirent *de;
  DIR *d;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)) != NULL)
    {
      size_t l = strlen (de->d_name);
      struct stat st;
      if (l <= sl || strcmp (de->d_name + l - sl, SNAPSHOT_SUFFIX) != 0
          || strcmp (de->d_name, keep) == 0
          || fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode)
          || st.st_mtime >= old)
        continue;
      if (unlinkat (dirfd, de->d_name, 0) == 0)
        capsa_debug ("VM snapshots: removed %s, unused for %d days", de->d_name, EVICT_DAYS);
    }
  closedir (d);
}

void capsa_vm_snapshot_save (struct capsa_vm_snapshot *s)
{
  char why[512] = "";

  if (s->mode != VM_SNAP_SAVE)
    return;
  if (save (s, why, sizeof (why)) < 0 || fsync (s->fd) < 0
      || renameat (s->dirfd, s->tmp, s->dirfd, s->name) < 0)
    {
      if (why[0] == '\0')
        snprintf (why, sizeof (why), "%s", strerror (errno));
      capsa_warn ("VM isolation mode: could not save the boot snapshot %s: %s", s->name, why);
      unlinkat (s->dirfd, s->tmp, 0);
    }
  else
    evict (s->dirfd, s->name);
  close (s->fd);
  close (s->qmp);
  s->fd = s->qmp = -1;
  s->mode = VM_SNAP_NONE;
}

void capsa_vm_snapshot_failed (struct capsa_vm_snapshot *s)
{
  if (s->mode == VM_SNAP_SAVE)
    {
      unlinkat (s->dirfd, s->tmp, 0);
      close (s->fd);
      close (s->qmp);
      s->fd = s->qmp = -1;
      s->mode = VM_SNAP_NONE;
    }
  else if (s->mode == VM_SNAP_RESTORE)
    {
      /* A snapshot that did not bring a VM to its workload goes; the next VM boots and saves a
         new one. */
      capsa_warn ("VM isolation mode: the VM did not start from the boot snapshot %s; removed "
                  "it, booting instead",
                  s->name);
      unlinkat (s->dirfd, s->name, 0);
      s->mode = VM_SNAP_NONE;
    }
}
