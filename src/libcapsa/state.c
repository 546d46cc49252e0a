/* capsa: the per-container state directory and its state.json. */
#include <config.h>
#include "state.h"
#include "internal.h"
#include "cgroup/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

int capsa_validate_id (const char *id, capsa_error_t *err)
{
  size_t i, n;

  if (id == NULL || id[0] == '\0')
    return capsa_make_error (err, 0, "container id cannot be empty");
  n = strlen (id);
  if (n > 1024)
    return capsa_make_error (err, 0, "invalid container id `%.32s...`: longer than 1024 bytes", id);
  if (strcmp (id, ".") == 0 || strcmp (id, "..") == 0 || !isalnum ((unsigned char)id[0]))
    return capsa_make_error (err, 0, "invalid container id `%s`", id);
  for (i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char)id[i];
      if (!isalnum (c) && c != '_' && c != '+' && c != '-' && c != '.')
        return capsa_make_error (err, 0, "invalid container id `%s`", id);
    }
  return 0;
}

/* The uid map of the initial user namespace: every id maps to itself. */
static bool identity_uid_map (void)
{
  unsigned long long inside, outside, count;
  int n, extra;
  FILE *f = fopen ("/proc/self/uid_map", "re");

  if (f == NULL)
    return true; /* no user namespaces in this kernel */
  n = fscanf (f, "%llu %llu %llu", &inside, &outside, &count);
  extra = n == 3 ? fscanf (f, "%llu", &inside) : 0;
  fclose (f);
  return n == 3 && extra != 1 && inside == 0 && outside == 0 && count == 4294967295ULL;
}

bool capsa_unprivileged (void)
{
  static int cached = -1;

  if (cached < 0)
    cached = geteuid () != 0 || !identity_uid_map ();
  return cached == 1;
}

const char *capsa_state_root (struct capsa_global *g)
{
  static char buf[PATH_MAX];
  const char *xdg;

  if (g->root)
    return g->root;
  if (!capsa_unprivileged ())
    return "/run/capsa";
  xdg = getenv ("XDG_RUNTIME_DIR");
  if (xdg && xdg[0])
    {
      snprintf (buf, sizeof (buf), "%s/capsa", xdg);
      return buf;
    }
  snprintf (buf, sizeof (buf), "/tmp/capsa-%u", (unsigned)geteuid ());
  return buf;
}

static int mkdir_parents (const char *path, mode_t mode)
{
  char tmp[PATH_MAX];
  char *p;

  if (strlen (path) >= sizeof (tmp))
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (tmp, path);
  for (p = tmp + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (tmp, mode) < 0 && errno != EEXIST)
          return -1;
        *p = '/';
      }
  if (mkdir (tmp, mode) < 0 && errno != EEXIST)
    return -1;
  return 0;
}

static char *state_dir_path (struct capsa_global *g, const char *id)
{
  char *dir;
  if (asprintf (&dir, "%s/%s", capsa_state_root (g), id) < 0)
    abort ();
  return dir;
}

int capsa_state_create_dir (struct capsa_global *g, const char *id, char **dir_out,
                            capsa_error_t *err)
{
  const char *root = capsa_state_root (g);
  char *dir;
  int fd;

  if (mkdir_parents (root, 0700) < 0)
    return capsa_make_error (err, errno, "create state root `%s`", root);
  dir = state_dir_path (g, id);
  if (mkdir (dir, 0700) < 0)
    {
      int e = errno;
      free (dir);
      if (e == EEXIST)
        return capsa_make_error (err, 0, "container `%s` already exists", id);
      return capsa_make_error (err, e, "create state directory for `%s`", id);
    }
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || flock (fd, LOCK_EX) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      rmdir (dir);
      free (dir);
      return capsa_make_error (err, e, "lock state directory for `%s`", id);
    }
  /* A delete that locked the new directory first has removed it, and another create may have made
   * the path again: this create lost, and must remove nothing by path (tests/model: the mutant
   * create-no-recheck). */
  {
    struct stat a, b;
    if (fstat (fd, &a) < 0 || stat (dir, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
      {
        close (fd);
        free (dir);
        return capsa_make_error (err, 0, "container `%s` was deleted while being created", id);
      }
  }
  *dir_out = dir;
  return fd;
}

int capsa_state_open_locked (struct capsa_global *g, const char *id, char **dir_out,
                             capsa_error_t *err)
{
  char *dir;
  int fd;
  struct stat st;

  if (capsa_validate_id (id, err) < 0)
    return -1;
  dir = state_dir_path (g, id);
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      free (dir);
      if (e == ENOENT)
        return capsa_make_error (err, 0, "container `%s` does not exist", id);
      return capsa_make_error (err, e, "open state of container `%s`", id);
    }
  if (flock (fd, LOCK_EX) < 0)
    {
      int e = errno;
      close (fd);
      free (dir);
      return capsa_make_error (err, e, "lock container `%s`", id);
    }
  /* A concurrent delete may have removed the directory while we waited for the lock. */
  if (fstat (fd, &st) < 0 || st.st_nlink == 0)
    {
      close (fd);
      free (dir);
      return capsa_make_error (err, 0, "container `%s` does not exist", id);
    }
  *dir_out = dir;
  return fd;
}

static void gen_str (yajl_gen gen, const char *key, const char *val)
{
  yajl_gen_string (gen, (const unsigned char *)key, strlen (key));
  if (val)
    yajl_gen_string (gen, (const unsigned char *)val, strlen (val));
  else
    yajl_gen_null (gen);
}

static void gen_annotations (yajl_gen gen, const struct oci_kv *kv, size_t n)
{
  size_t i;
  yajl_gen_string (gen, (const unsigned char *)"annotations", 11);
  yajl_gen_map_open (gen);
  for (i = 0; i < n; i++)
    gen_str (gen, kv[i].key, kv[i].value);
  yajl_gen_map_close (gen);
}

/* A boolean written only when true: state.json stays small. */
static void gen_flag (yajl_gen gen, const char *key, bool val)
{
  if (!val)
    return;
  yajl_gen_string (gen, (const unsigned char *)key, strlen (key));
  yajl_gen_bool (gen, true);
}

static char *gen_finish (yajl_gen gen)
{
  const unsigned char *buf;
  size_t len;
  char *out;

  yajl_gen_get_buf (gen, &buf, &len);
  out = malloc (len + 2);
  if (out == NULL)
    abort ();
  memcpy (out, buf, len);
  out[len] = '\0';
  yajl_gen_free (gen);
  return out;
}

int capsa_state_write (const char *dir, const struct capsa_state_file *s, capsa_error_t *err)
{
  yajl_gen gen = yajl_gen_alloc (NULL);
  char path[PATH_MAX];
  char *text;
  int ret;

  yajl_gen_map_open (gen);
  gen_str (gen, "id", s->id);
  yajl_gen_string (gen, (const unsigned char *)"pid", 3);
  yajl_gen_integer (gen, s->pid);
  yajl_gen_string (gen, (const unsigned char *)"startTime", 9);
  yajl_gen_integer (gen, (long long)s->start_time);
  gen_str (gen, "bundle", s->bundle);
  gen_str (gen, "rootfs", s->rootfs);
  gen_str (gen, "created", s->created);
  if (s->owner)
    gen_str (gen, "owner", s->owner);
  yajl_gen_string (gen, (const unsigned char *)"pidns", 5);
  yajl_gen_bool (gen, s->pidns);
  yajl_gen_string (gen, (const unsigned char *)"started", 7);
  yajl_gen_bool (gen, s->started);
  gen_flag (gen, "vm", s->vm);
  gen_flag (gen, "noNewKeyring", s->no_new_keyring);
  gen_flag (gen, "poststartHooks", s->poststart_hooks);
  gen_flag (gen, "poststopHooks", s->poststop_hooks);
  if (s->cgroup_manager)
    {
      gen_str (gen, "cgroupManager", s->cgroup_manager);
      gen_str (gen, "cgroup", s->cgroup);
    }
  gen_annotations (gen, s->annotations, s->annotations_len);
  yajl_gen_map_close (gen);
  text = gen_finish (gen);
  snprintf (path, sizeof (path), "%s/state.json", dir);
  ret = capsa_write_file_atomic (path, text, strlen (text), err);
  free (text);
  return ret;
}

static char *tree_str (yajl_val root, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (root, path, yajl_t_string);
  const char *str = v ? YAJL_GET_STRING (v) : NULL;
  return str ? strdup (str) : NULL;
}

static long long tree_int (yajl_val root, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (root, path, yajl_t_number);
  return v && YAJL_IS_INTEGER (v) ? YAJL_GET_INTEGER (v) : 0;
}

static bool tree_bool (yajl_val root, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (root, path, yajl_t_any);
  return v && YAJL_IS_TRUE (v);
}

int capsa_state_read (const char *dir, struct capsa_state_file *s, capsa_error_t *err)
{
  char path[PATH_MAX];
  char *text, errbuf[256];
  yajl_val root, ann;
  const char *ann_path[] = { "annotations", NULL };

  memset (s, 0, sizeof (*s));
  snprintf (path, sizeof (path), "%s/state.json", dir);
  if (capsa_read_file (path, &text, NULL, err) < 0)
    return -1;
  root = yajl_tree_parse (text, errbuf, sizeof (errbuf));
  free (text);
  if (root == NULL || !YAJL_IS_OBJECT (root))
    {
      yajl_tree_free (root);
      return capsa_make_error (err, 0, "%s: corrupt state file", path);
    }
  s->id = tree_str (root, "id");
  s->pid = (pid_t)tree_int (root, "pid");
  s->start_time = (unsigned long long)tree_int (root, "startTime");
  s->bundle = tree_str (root, "bundle");
  s->rootfs = tree_str (root, "rootfs");
  s->created = tree_str (root, "created");
  s->owner = tree_str (root, "owner");
  s->pidns = tree_bool (root, "pidns");
  s->started = tree_bool (root, "started");
  s->vm = tree_bool (root, "vm");
  s->no_new_keyring = tree_bool (root, "noNewKeyring");
  s->poststart_hooks = tree_bool (root, "poststartHooks");
  s->poststop_hooks = tree_bool (root, "poststopHooks");
  s->poststart_hooks = tree_bool (root, "poststartHooks");
  s->poststop_hooks = tree_bool (root, "poststopHooks");
  s->cgroup_manager = tree_str (root, "cgroupManager");
  s->cgroup = tree_str (root, "cgroup");
  ann = yajl_tree_get (root, ann_path, yajl_t_object);
  if (ann && ann->u.object.len > 0)
    {
      size_t i;
      s->annotations = calloc (ann->u.object.len, sizeof (*s->annotations));
      for (i = 0; i < ann->u.object.len; i++)
        {
          yajl_val v = ann->u.object.values[i];
          s->annotations[s->annotations_len].key = strdup (ann->u.object.keys[i]);
          s->annotations[s->annotations_len].value
            = strdup (YAJL_IS_STRING (v) ? YAJL_GET_STRING (v) : "");
          s->annotations_len++;
        }
    }
  yajl_tree_free (root);
  if (s->id == NULL)
    return capsa_make_error (err, 0, "%s: corrupt state file", path);
  return 0;
}

void capsa_state_file_free (struct capsa_state_file *s)
{
  size_t i;
  free (s->id);
  free (s->bundle);
  free (s->rootfs);
  free (s->created);
  free (s->owner);
  free (s->cgroup_manager);
  free (s->cgroup);
  for (i = 0; i < s->annotations_len; i++)
    {
      free (s->annotations[i].key);
      free (s->annotations[i].value);
    }
  free (s->annotations);
  memset (s, 0, sizeof (*s));
}

int capsa_state_remove_dir (const char *dir, capsa_error_t *err)
{
  DIR *d = opendir (dir);
  struct dirent *de;

  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return capsa_make_error (err, errno, "open `%s`", dir);
    }
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      int r = unlinkat (dirfd (d), de->d_name, 0);
      if (r < 0 && errno == EISDIR)
        {
          /* A subdirectory (notify/, the container's notify socket): emptied the same way. */
          char sub[PATH_MAX];
          snprintf (sub, sizeof (sub), "%s/%s", dir, de->d_name);
          if (capsa_state_remove_dir (sub, err) < 0)
            {
              closedir (d);
              return -1;
            }
          continue;
        }
      if (r < 0 && errno != ENOENT)
        {
          int e = errno;
          closedir (d);
          return capsa_make_error (err, e, "remove `%s/%s`", dir, de->d_name);
        }
    }
  closedir (d);
  capsa_fault_point ("state:before-rmdir");
  if (rmdir (dir) < 0 && errno != ENOENT)
    return capsa_make_error (err, errno, "remove `%s`", dir);
  return 0;
}

unsigned long long capsa_process_start_time (pid_t pid)
{
  char path[64], buf[1024], *p;
  int fd, field;
  ssize_t n;
  char state;

  if (pid <= 0)
    return 0;
  snprintf (path, sizeof (path), "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  p = strrchr (buf, ')');
  if (p == NULL || p[1] == '\0')
    return 0;
  p += 2; /* field 3: state */
  state = *p;
  if (state == 'Z' || state == 'X' || state == 'x')
    return 0;
  for (field = 3; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  return p ? strtoull (p, NULL, 10) : 0;
}

/* Reopen the cgroup recorded in a container's state; cg->mgr stays NULL when it has none. */
int capsa_state_cgroup (const struct capsa_state_file *st, struct capsa_cgroup *cg,
                        capsa_error_t *err)
{
  const struct capsa_cgroup_manager *mgr;
  memset (cg, 0, sizeof (*cg));
  if (st->cgroup_manager == NULL || st->cgroup == NULL)
    return 0;
  mgr = capsa_cgroup_manager_get (st->cgroup_manager, err);
  if (mgr == NULL)
    return -1;
  if (mgr->load (cg, st->cgroup, err) < 0)
    return -1;
  cg->mgr = mgr;
  return 0;
}

static bool is_paused (const struct capsa_state_file *s)
{
  struct capsa_cgroup cg;
  capsa_error_t err = NULL;
  bool frozen = false;
  if (s->cgroup_manager == NULL || capsa_state_cgroup (s, &cg, &err) < 0 || cg.mgr == NULL)
    {
      capsa_error_release (&err);
      return false;
    }
  if (cg.mgr->is_frozen && cg.mgr->is_frozen (&cg, &frozen, &err) < 0)
    frozen = false;
  capsa_error_release (&err);
  cg.mgr->release (&cg);
  return frozen;
}

const char *capsa_state_status (const char *dir, const struct capsa_state_file *s)
{
  char path[PATH_MAX + 16];

  if (s->pid <= 0)
    return "creating";
  if (capsa_process_start_time (s->pid) != s->start_time)
    return "stopped";
  if (!s->started)
    {
      snprintf (path, sizeof (path), "%s/exec.fifo", dir);
      if (access (path, F_OK) == 0)
        return is_paused (s) ? "paused" : "created";
    }
  return is_paused (s) ? "paused" : "running";
}

char *capsa_state_oci_json (const struct capsa_state_file *s, const char *status, bool pretty)
{
  yajl_gen gen = yajl_gen_alloc (NULL);

  yajl_gen_config (gen, yajl_gen_beautify, pretty ? 1 : 0);
  yajl_gen_map_open (gen);
  gen_str (gen, "ociVersion", CAPSA_OCI_VERSION);
  gen_str (gen, "id", s->id);
  gen_str (gen, "status", status);
  yajl_gen_string (gen, (const unsigned char *)"pid", 3);
  yajl_gen_integer (gen, strcmp (status, "stopped") == 0 ? 0 : s->pid);
  gen_str (gen, "bundle", s->bundle);
  gen_str (gen, "rootfs", s->rootfs);
  gen_str (gen, "created", s->created);
  if (s->owner)
    gen_str (gen, "owner", s->owner);
  gen_annotations (gen, s->annotations, s->annotations_len);
  yajl_gen_map_close (gen);
  return gen_finish (gen);
}

/* The user owning the state dir, as `state` and `list` show it (looked up when shown, not at
 * create: the user database lookup, NSS and all, was a dozen syscalls on every create). */
static void fill_owner (struct capsa_state_file *s, const char *dir)
{
  struct stat st;
  struct passwd *pw;

  if (s->owner != NULL || stat (dir, &st) < 0)
    return;
  pw = getpwuid (st.st_uid);
  if (pw != NULL)
    s->owner = strdup (pw->pw_name);
  else if (asprintf (&s->owner, "#%u", (unsigned)st.st_uid) < 0)
    s->owner = NULL;
}

/* For readers that do not hold the state dir's lock (state, list): a container still
 * `creating` whose state dir nobody locks lost its create command (killed): it is stopped. */
static const char *status_unlocked (const char *dir, const struct capsa_state_file *s)
{
  const char *status = capsa_state_status (dir, s);
  int fd;

  if (strcmp (status, "creating") != 0)
    return status;
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0 && flock (fd, LOCK_SH | LOCK_NB) == 0)
    status = "stopped";
  if (fd >= 0)
    close (fd);
  return status;
}

static void info_from_state (struct capsa_container_info *ci, const char *dir,
                             struct capsa_state_file *s)
{
  const char *status = status_unlocked (dir, s);
  fill_owner (s, dir);
  ci->id = s->id;
  s->id = NULL;
  ci->pid = strcmp (status, "stopped") == 0 ? 0 : s->pid;
  ci->status = strdup (status);
  ci->bundle = s->bundle;
  s->bundle = NULL;
  ci->created = s->created;
  s->created = NULL;
  ci->owner = s->owner;
  s->owner = NULL;
}

int capsa_container_list (struct capsa_global *g, struct capsa_container_info **out, size_t *n,
                          capsa_error_t *err)
{
  const char *root = capsa_state_root (g);
  DIR *d = opendir (root);
  struct dirent *de;
  struct capsa_container_info *list = NULL;
  size_t count = 0;

  *out = NULL;
  *n = 0;
  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return capsa_make_error (err, errno, "open state root `%s`", root);
    }
  while ((de = readdir (d)))
    {
      char dir[PATH_MAX];
      struct capsa_state_file s;
      capsa_error_t tmp = NULL;

      if (de->d_name[0] == '.')
        continue;
      snprintf (dir, sizeof (dir), "%s/%s", root, de->d_name);
      if (capsa_state_read (dir, &s, &tmp) < 0)
        {
          capsa_error_release (&tmp);
          continue;
        }
      list = realloc (list, (count + 1) * sizeof (*list));
      if (list == NULL)
        abort ();
      memset (&list[count], 0, sizeof (*list));
      info_from_state (&list[count], dir, &s);
      count++;
      capsa_state_file_free (&s);
    }
  closedir (d);
  *out = list;
  *n = count;
  return 0;
}

void capsa_container_info_free (struct capsa_container_info *list, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      free (list[i].id);
      free (list[i].status);
      free (list[i].bundle);
      free (list[i].created);
      free (list[i].owner);
    }
  free (list);
}

int capsa_container_state (struct capsa_global *g, const char *id, char **out, capsa_error_t *err)
{
  char *dir;
  struct capsa_state_file s;
  struct stat st;

  if (capsa_validate_id (id, err) < 0)
    return -1;
  if (asprintf (&dir, "%s/%s", capsa_state_root (g), id) < 0)
    abort ();
  if (stat (dir, &st) < 0)
    {
      free (dir);
      return capsa_make_error (err, 0, "container `%s` does not exist", id);
    }
  if (capsa_state_read (dir, &s, err) < 0)
    {
      free (dir);
      if ((*err)->status != ENOENT)
        return -1;
      capsa_error_release (err);
      return capsa_make_error (err, 0,
                               "container `%s`: no state file: its create was interrupted "
                               "(delete removes it)",
                               id);
    }
  fill_owner (&s, dir);
  *out = capsa_state_oci_json (&s, status_unlocked (dir, &s), true);
  capsa_state_file_free (&s);
  free (dir);
  return 0;
}
