/* capsa: parse config.json, process.json and state.json (yajl_tree) into the oci_spec.h types. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h> /* the yajl_val layout and accessors */

#include "oci_json.h"

/* Deeper nesting than this is refused (a config is a few levels deep). */
#define MAX_JSON_DEPTH 512

/* Parser state: the file name and the JSON path of the value being read, for messages. */
struct pctx
{
  const char *name;
  char *err;
  char *path;
  size_t len;
  size_t cap;
};

typedef int (*parse_fn) (struct pctx *c, yajl_val v, void *out);

static int fail (struct pctx *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Messages are one line: control characters from the document (in keys and values quoted in
 * a message) become C escapes ("\n", "\x1b").  Takes ownership of s; NULL stays NULL. */
static char *one_line (char *s)
{
  const unsigned char *p;
  char *out, *q;
  size_t n = 0;

  if (s == NULL)
    return NULL;
  for (p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      n++;
  if (n == 0)
    return s;
  out = malloc (strlen (s) + 3 * n + 1);
  if (out == NULL)
    {
      free (s);
      return NULL;
    }
  for (p = (const unsigned char *)s, q = out; *p; p++)
    {
      if (*p == '\n' || *p == '\t' || *p == '\r')
        {
          *q++ = '\\';
          *q++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        }
      else if (*p < 0x20 || *p == 0x7f)
        q += sprintf (q, "\\x%02x", *p);
      else
        *q++ = (char)*p;
    }
  *q = '\0';
  free (s);
  return out;
}

static int fail (struct pctx *c, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;
  int r;

  if (c->err != NULL)
    return -1;
  va_start (ap, fmt);
  r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    msg = NULL;
  if (c->len > 0)
    r = asprintf (&c->err, "%s: %s: %s", c->name, c->path, msg ? msg : "out of memory");
  else
    r = asprintf (&c->err, "%s: %s", c->name, msg ? msg : "out of memory");
  if (r < 0)
    c->err = NULL;
  c->err = one_line (c->err);
  free (msg);
  return -1;
}

static int oom (struct pctx *c)
{
  return fail (c, "out of memory");
}

static bool path_reserve (struct pctx *c, size_t more)
{
  char *p;
  size_t cap;

  if (c->len + more + 1 <= c->cap)
    return true;
  cap = c->cap ? c->cap : 128;
  while (cap < c->len + more + 1)
    cap *= 2;
  p = realloc (c->path, cap);
  if (p == NULL)
    return false;
  c->path = p;
  c->cap = cap;
  return true;
}

static bool is_identifier (const char *s)
{
  if (*s == '\0' || (*s >= '0' && *s <= '9'))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
          || *s == '_'))
      return false;
  return true;
}

/* Append `s` as a JSON string literal (quotes, escapes, no newlines) of at most `max` input
 * bytes to `out` (capacity at least 6 * max + 8). */
static size_t quote_into (char *out, const char *s, size_t max)
{
  size_t n = 0, i;

  out[n++] = '"';
  for (i = 0; s[i] && i < max; i++)
    {
      unsigned char ch = (unsigned char)s[i];
      if (ch == '"' || ch == '\\')
        {
          out[n++] = '\\';
          out[n++] = (char)ch;
        }
      else if (ch < 0x20 || ch == 0x7f)
        n += (size_t)sprintf (out + n, "\\u%04x", ch);
      else
        out[n++] = (char)ch;
    }
  if (s[i])
    {
      memcpy (out + n, "...", 3);
      n += 3;
    }
  out[n++] = '"';
  out[n] = '\0';
  return n;
}

/* A short quoted copy of a user string for messages. */
struct quoted
{
  char s[6 * 64 + 8];
};

static const char *quote (struct quoted *q, const char *s)
{
  quote_into (q->s, s, 64);
  return q->s;
}

/* Append `.key` (or `["key"]` for keys that are not identifiers); returns the mark to pop. */
static size_t path_key (struct pctx *c, const char *key)
{
  size_t mark = c->len, klen = strlen (key);

  if (is_identifier (key))
    {
      if (!path_reserve (c, klen + 1))
        return mark;
      c->path[c->len++] = '.';
      memcpy (c->path + c->len, key, klen + 1);
      c->len += klen;
    }
  else
    {
      if (!path_reserve (c, 6 * klen + 16))
        return mark;
      c->path[c->len++] = '[';
      c->len += quote_into (c->path + c->len, key, klen);
      c->path[c->len++] = ']';
      c->path[c->len] = '\0';
    }
  return mark;
}

static size_t path_index (struct pctx *c, size_t i)
{
  size_t mark = c->len;

  if (path_reserve (c, 24))
    c->len += (size_t)sprintf (c->path + c->len, "[%zu]", i);
  return mark;
}

static void path_pop (struct pctx *c, size_t mark)
{
  c->len = mark;
  if (c->path)
    c->path[mark] = '\0';
}

static const char *json_type (yajl_val v)
{
  if (YAJL_IS_STRING (v))
    return "a string";
  if (YAJL_IS_NUMBER (v))
    return "a number";
  if (YAJL_IS_OBJECT (v))
    return "an object";
  if (YAJL_IS_ARRAY (v))
    return "an array";
  if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    return "a boolean";
  return "null";
}

static int expect_object (struct pctx *c, yajl_val v)
{
  if (!YAJL_IS_OBJECT (v))
    return fail (c, "expected an object, got %s", json_type (v));
  return 0;
}

static int require (struct pctx *c, bool ok, const char *key)
{
  if (ok)
    return 0;
  path_key (c, key);
  return fail (c, "missing required field");
}

/* Walk the members of an object; `null` members count as absent.  Unknown keys are ignored. */
#define FIELDS_BEGIN(c, v)                                                                         \
  if (expect_object ((c), (v)) < 0)                                                                \
    return -1;                                                                                     \
  for (size_t i_ = 0; i_ < (v)->u.object.len; i_++)                                                \
    {                                                                                              \
      const char *k_ = (v)->u.object.keys[i_];                                                     \
      yajl_val x = (v)->u.object.values[i_];                                                       \
      size_t mark_;                                                                                \
      int ret = 0;                                                                                 \
      if (YAJL_IS_NULL (x))                                                                        \
        continue;                                                                                  \
      mark_ = path_key ((c), k_);                                                                  \
      if (0)                                                                                       \
        ;
#define FIELD(name) else if (strcmp (k_, name) == 0)
#define FIELDS_END(c)                                                                              \
  if (ret < 0)                                                                                     \
    return -1;                                                                                     \
  path_pop ((c), mark_);                                                                           \
  }

/* Scalars.  */

static int get_string (struct pctx *c, yajl_val v, char **dst)
{
  char *s;

  if (!YAJL_IS_STRING (v))
    return fail (c, "expected a string, got %s", json_type (v));
  s = strdup (v->u.string);
  if (s == NULL)
    return oom (c);
  free (*dst);
  *dst = s;
  return 0;
}

static int get_bool (struct pctx *c, yajl_val v, bool *dst, bool *present)
{
  if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
    return fail (c, "expected a boolean, got %s", json_type (v));
  *dst = YAJL_IS_TRUE (v);
  if (present)
    *present = true;
  return 0;
}

/* The number's text: yajl keeps it, so values above INT64_MAX are not lost. */
static int integer_text (struct pctx *c, yajl_val v, const char *tname, const char **out)
{
  const char *r;

  if (!YAJL_IS_NUMBER (v))
    return fail (c, "expected %s, got %s", tname, json_type (v));
  r = v->u.number.r;
  if (r == NULL || strpbrk (r, ".eE") != NULL)
    return fail (c, "expected %s, got %.40s", tname, r ? r : "a number");
  *out = r;
  return 0;
}

static int get_unsigned (struct pctx *c, yajl_val v, const char *tname, uint64_t max, uint64_t *out)
{
  unsigned long long x;
  const char *r;
  char *end;

  if (integer_text (c, v, tname, &r) < 0)
    return -1;
  if (r[0] == '-')
    return fail (c, "expected %s, got %.40s (negative)", tname, r);
  errno = 0;
  x = strtoull (r, &end, 10);
  if (errno != 0 || *end != '\0' || x > max)
    return fail (c, "expected %s, got %.40s (out of range)", tname, r);
  *out = x;
  return 0;
}

static int get_signed (struct pctx *c, yajl_val v, const char *tname, int64_t min, int64_t max,
                       int64_t *out)
{
  long long x;
  const char *r;
  char *end;

  if (integer_text (c, v, tname, &r) < 0)
    return -1;
  errno = 0;
  x = strtoll (r, &end, 10);
  if (errno != 0 || *end != '\0' || x < min || x > max)
    return fail (c, "expected %s, got %.40s (out of range)", tname, r);
  *out = x;
  return 0;
}

static int get_u64 (struct pctx *c, yajl_val v, uint64_t *dst, bool *present)
{
  if (get_unsigned (c, v, "a uint64", UINT64_MAX, dst) < 0)
    return -1;
  if (present)
    *present = true;
  return 0;
}

static int get_u32 (struct pctx *c, yajl_val v, uint32_t *dst, bool *present)
{
  uint64_t x;

  if (get_unsigned (c, v, "a uint32", UINT32_MAX, &x) < 0)
    return -1;
  *dst = (uint32_t)x;
  if (present)
    *present = true;
  return 0;
}

static int get_u16 (struct pctx *c, yajl_val v, uint16_t *dst, bool *present)
{
  uint64_t x;

  if (get_unsigned (c, v, "a uint16", UINT16_MAX, &x) < 0)
    return -1;
  *dst = (uint16_t)x;
  if (present)
    *present = true;
  return 0;
}

static int get_i64 (struct pctx *c, yajl_val v, int64_t *dst, bool *present)
{
  if (get_signed (c, v, "an int64", INT64_MIN, INT64_MAX, dst) < 0)
    return -1;
  if (present)
    *present = true;
  return 0;
}

static int get_i32 (struct pctx *c, yajl_val v, int32_t *dst, bool *present)
{
  int64_t x;

  if (get_signed (c, v, "an int32", INT32_MIN, INT32_MAX, &x) < 0)
    return -1;
  *dst = (int32_t)x;
  if (present)
    *present = true;
  return 0;
}

/* A string that must be one of `allowed` (NULL-terminated). */
static int get_enum (struct pctx *c, yajl_val v, char **dst, const char *what,
                     const char *const *allowed)
{
  char list[512];
  size_t n = 0, i;
  struct quoted q;

  if (get_string (c, v, dst) < 0)
    return -1;
  for (i = 0; allowed[i]; i++)
    if (strcmp (*dst, allowed[i]) == 0)
      return 0;
  list[0] = '\0';
  for (i = 0; allowed[i] && n < sizeof (list) - 64; i++)
    n += (size_t)snprintf (list + n, sizeof (list) - n, "%s%s", i ? ", " : "", allowed[i]);
  return fail (c, "unknown %s %s (expected one of: %s)", what, quote (&q, *dst), list);
}

/* Arrays.  */

static int get_strings (struct pctx *c, yajl_val v, char ***dst, size_t *len)
{
  char **a;
  size_t n, i;

  if (!YAJL_IS_ARRAY (v))
    return fail (c, "expected an array of strings, got %s", json_type (v));
  n = v->u.array.len;
  /* One more slot: string arrays are NULL-terminated (args and env go to execve as they are). */
  a = oci_json_alloc_array (n + 1, sizeof (char *));
  if (a == NULL)
    return oom (c);
  oci_json_free_strings (*dst, *len);
  *dst = a;
  *len = n;
  for (i = 0; i < n; i++)
    {
      yajl_val e = v->u.array.values[i];
      if (!YAJL_IS_STRING (e))
        {
          path_index (c, i);
          return fail (c, "expected a string, got %s", json_type (e));
        }
      a[i] = strdup (e->u.string);
      if (a[i] == NULL)
        return oom (c);
    }
  return 0;
}

static int get_u32s (struct pctx *c, yajl_val v, uint32_t **dst, size_t *len)
{
  uint32_t *a;
  size_t n, i;

  if (!YAJL_IS_ARRAY (v))
    return fail (c, "expected an array of uint32, got %s", json_type (v));
  n = v->u.array.len;
  a = oci_json_alloc_array (n, sizeof (uint32_t));
  if (a == NULL)
    return oom (c);
  free (*dst);
  *dst = a;
  *len = n;
  for (i = 0; i < n; i++)
    {
      size_t mark = path_index (c, i);
      if (get_u32 (c, v->u.array.values[i], &a[i], NULL) < 0)
        return -1;
      path_pop (c, mark);
    }
  return 0;
}

static int get_objects (struct pctx *c, yajl_val v, void **dst, size_t *len, size_t size,
                        parse_fn fn, void (*clear) (void *))
{
  char *a;
  size_t n, i;

  if (!YAJL_IS_ARRAY (v))
    return fail (c, "expected an array, got %s", json_type (v));
  n = v->u.array.len;
  a = oci_json_alloc_array (n, size);
  if (a == NULL)
    return oom (c);
  oci_json_free_array (*dst, *len, size, clear);
  *dst = a;
  *len = n;
  for (i = 0; i < n; i++)
    {
      size_t mark = path_index (c, i);
      if (fn (c, v->u.array.values[i], a + i * size) < 0)
        return -1;
      path_pop (c, mark);
    }
  return 0;
}

static int get_object (struct pctx *c, yajl_val v, void **dst, size_t size, parse_fn fn,
                       void (*clear) (void *))
{
  void *o = calloc (1, size);

  if (o == NULL)
    return oom (c);
  oci_json_free_object (*dst, clear);
  *dst = o;
  return fn (c, v, o);
}

/* Maps.  A repeated key keeps its last value (as Go's encoding/json does); the order of the
 * kept keys is the order of their last occurrence.  Returns the indexes to read. */
struct key_index
{
  const char *key;
  size_t i;
};

static int key_index_cmp (const void *a, const void *b)
{
  const struct key_index *x = a, *y = b;
  int r = strcmp (x->key, y->key);
  if (r)
    return r;
  return x->i < y->i ? -1 : x->i > y->i;
}

static size_t *map_order (yajl_val v, size_t *count)
{
  size_t n = v->u.object.len, i, j, k = 0;
  size_t *idx = malloc ((n ? n : 1) * sizeof (size_t));
  bool *drop;

  if (idx == NULL)
    return NULL;
  drop = calloc (n ? n : 1, sizeof (bool));
  if (drop == NULL)
    {
      free (idx);
      return NULL;
    }
  if (n <= 16)
    {
      for (i = 0; i < n; i++)
        for (j = i + 1; j < n && !drop[i]; j++)
          if (strcmp (v->u.object.keys[i], v->u.object.keys[j]) == 0)
            drop[i] = true;
    }
  else
    {
      struct key_index *s = malloc (n * sizeof (*s));
      if (s == NULL)
        {
          free (idx);
          free (drop);
          return NULL;
        }
      for (i = 0; i < n; i++)
        {
          s[i].key = v->u.object.keys[i];
          s[i].i = i;
        }
      qsort (s, n, sizeof (*s), key_index_cmp);
      for (i = 0; i + 1 < n; i++)
        if (strcmp (s[i].key, s[i + 1].key) == 0)
          drop[s[i].i] = true;
      free (s);
    }
  for (i = 0; i < n; i++)
    if (!drop[i])
      idx[k++] = i;
  free (drop);
  *count = k;
  return idx;
}

static int get_map (struct pctx *c, yajl_val v, struct oci_kv **dst, size_t *len)
{
  struct oci_kv *a;
  size_t *idx, n, i;

  if (!YAJL_IS_OBJECT (v))
    return fail (c, "expected an object of strings, got %s", json_type (v));
  idx = map_order (v, &n);
  if (idx == NULL)
    return oom (c);
  a = oci_json_alloc_array (n, sizeof (*a));
  if (a == NULL)
    {
      free (idx);
      return oom (c);
    }
  oci_json_free_array (*dst, *len, sizeof (*a), oci_json_clear_kv);
  *dst = a;
  *len = n;
  for (i = 0; i < n; i++)
    {
      const char *key = v->u.object.keys[idx[i]];
      yajl_val e = v->u.object.values[idx[i]];
      if (!YAJL_IS_STRING (e))
        {
          free (idx);
          path_key (c, key);
          return fail (c, "expected a string, got %s", json_type (e));
        }
      a[i].key = strdup (key);
      a[i].value = strdup (e->u.string);
      if (a[i].key == NULL || a[i].value == NULL)
        {
          free (idx);
          return oom (c);
        }
    }
  free (idx);
  return 0;
}

/* A map whose values are objects: an array of `size`-byte structs whose `char *` member at
 * `key_offset` receives the key. */
static int get_object_map (struct pctx *c, yajl_val v, void **dst, size_t *len, size_t size,
                           size_t key_offset, parse_fn fn, void (*clear) (void *))
{
  char *a;
  size_t *idx, n, i;

  if (!YAJL_IS_OBJECT (v))
    return fail (c, "expected an object, got %s", json_type (v));
  idx = map_order (v, &n);
  if (idx == NULL)
    return oom (c);
  a = oci_json_alloc_array (n, size);
  if (a == NULL)
    {
      free (idx);
      return oom (c);
    }
  oci_json_free_array (*dst, *len, size, clear);
  *dst = a;
  *len = n;
  for (i = 0; i < n; i++)
    {
      const char *key = v->u.object.keys[idx[i]];
      char **keyp = (char **)(a + i * size + key_offset);
      size_t mark;

      *keyp = strdup (key);
      if (*keyp == NULL)
        {
          free (idx);
          return oom (c);
        }
      mark = path_key (c, key);
      if (fn (c, v->u.object.values[idx[i]], a + i * size) < 0)
        {
          free (idx);
          return -1;
        }
      path_pop (c, mark);
    }
  free (idx);
  return 0;
}

/* Typed wrappers around the generic helpers (no casts of struct pointers to void **). */
#define GET_OBJECT(c, v, field, type)                                                              \
  __extension__({                                                                                  \
    void *tmp_ = (field);                                                                          \
    int r_ = get_object ((c), (v), &tmp_, sizeof (struct oci_##type), parse_##type,                \
                         oci_json_clear_##type);                                                   \
    (field) = tmp_;                                                                                \
    r_;                                                                                            \
  })
#define GET_OBJECTS(c, v, field, type)                                                             \
  __extension__({                                                                                  \
    void *tmp_ = (field);                                                                          \
    int r_ = get_objects ((c), (v), &tmp_, &field##_len, sizeof (struct oci_##type), parse_##type, \
                          oci_json_clear_##type);                                                  \
    (field) = tmp_;                                                                                \
    r_;                                                                                            \
  })
#define GET_OBJECT_MAP(c, v, field, type, keyfield)                                                \
  __extension__({                                                                                  \
    void *tmp_ = (field);                                                                          \
    int r_ = get_object_map ((c), (v), &tmp_, &field##_len, sizeof (struct oci_##type),            \
                             offsetof (struct oci_##type, keyfield), parse_##type,                 \
                             oci_json_clear_##type);                                               \
    (field) = tmp_;                                                                                \
    r_;                                                                                            \
  })

/* Patterns from the schema.  */

static bool match_rlimit_type (const char *s)
{
  /* ^RLIMIT_[A-Z]+$ */
  if (strncmp (s, "RLIMIT_", 7) != 0 || s[7] == '\0')
    return false;
  for (s += 7; *s; s++)
    if (*s < 'A' || *s > 'Z')
      return false;
  return true;
}

static bool match_page_size (const char *s)
{
  /* ^[1-9][0-9]*[KMG]B$ */
  if (*s < '1' || *s > '9')
    return false;
  while (*s >= '0' && *s <= '9')
    s++;
  return (s[0] == 'K' || s[0] == 'M' || s[0] == 'G') && s[1] == 'B' && s[2] == '\0';
}

static bool match_cpu_list (const char *s)
{
  /* ^[0-9, -]*$ */
  return s[strspn (s, "0123456789, -")] == '\0';
}

static int get_patterned (struct pctx *c, yajl_val v, char **dst, bool (*match) (const char *),
                          const char *what, const char *hint)
{
  struct quoted q;

  if (get_string (c, v, dst) < 0)
    return -1;
  if (!match (*dst))
    return fail (c, "invalid %s %s (%s)", what, quote (&q, *dst), hint);
  return 0;
}

/* Enumerations from the schema.  */

static const char *const namespace_types[]
  = { "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time", NULL };
/* The schema's four values plus the recursive spellings runc and crun also accept. */
static const char *const propagations[]
  = { "private", "shared", "slave",       "unbindable", "rprivate",
      "rshared", "rslave", "runbindable", NULL };
static const char *const device_types[] = { "c", "b", "u", "p", NULL };
static const char *const sched_policies[]
  = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
      "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE", NULL };
static const char *const ioprio_classes[]
  = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL };
static const char *const mpol_modes[]
  = { "MPOL_DEFAULT",   "MPOL_BIND",           "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
      "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",      NULL };
static const char *const personality_domains[] = { "LINUX", "LINUX32", NULL };
static const char *const image_formats[] = { "raw", "qcow2", "vdi", "vmdk", "vhd", NULL };
static const char *const state_statuses[] = { "creating", "created", "running", "stopped", NULL };

/* Objects common to several places.  */

static int parse_id_mapping (struct pctx *c, yajl_val v, void *p)
{
  struct oci_id_mapping *m = p;
  bool has_c = false, has_h = false, has_s = false;

  FIELDS_BEGIN (c, v)
  FIELD ("containerID") ret = get_u32 (c, x, &m->container_id, &has_c);
  FIELD ("hostID") ret = get_u32 (c, x, &m->host_id, &has_h);
  FIELD ("size") ret = get_u32 (c, x, &m->size, &has_s);
  FIELDS_END (c)
  if (require (c, has_c, "containerID") < 0 || require (c, has_h, "hostID") < 0)
    return -1;
  return require (c, has_s, "size");
}

/* config.json top level.  */

static int parse_root (struct pctx *c, yajl_val v, void *p)
{
  struct oci_root *r = p;

  FIELDS_BEGIN (c, v)
  FIELD ("path") ret = get_string (c, x, &r->path);
  FIELD ("readonly") ret = get_bool (c, x, &r->readonly, NULL);
  FIELDS_END (c)
  return require (c, r->path != NULL, "path");
}

static int parse_mount (struct pctx *c, yajl_val v, void *p)
{
  struct oci_mount *m = p;

  FIELDS_BEGIN (c, v)
  FIELD ("destination") ret = get_string (c, x, &m->destination);
  FIELD ("type") ret = get_string (c, x, &m->type);
  FIELD ("source") ret = get_string (c, x, &m->source);
  FIELD ("options") ret = get_strings (c, x, &m->options, &m->options_len);
  FIELD ("uidMappings") ret = GET_OBJECTS (c, x, m->uid_mappings, id_mapping);
  FIELD ("gidMappings") ret = GET_OBJECTS (c, x, m->gid_mappings, id_mapping);
  FIELDS_END (c)
  return require (c, m->destination != NULL, "destination");
}

static int parse_hook (struct pctx *c, yajl_val v, void *p)
{
  struct oci_hook *h = p;

  FIELDS_BEGIN (c, v)
  FIELD ("path") ret = get_string (c, x, &h->path);
  FIELD ("args") ret = get_strings (c, x, &h->args, &h->args_len);
  FIELD ("env") ret = get_strings (c, x, &h->env, &h->env_len);
  FIELD ("timeout")
  {
    ret = get_i64 (c, x, &h->timeout, &h->timeout_present);
    if (ret == 0 && h->timeout < 1)
      ret = fail (c, "expected a positive number of seconds, got %lld", (long long)h->timeout);
  }
  FIELDS_END (c)
  return require (c, h->path != NULL, "path");
}

static int parse_hooks (struct pctx *c, yajl_val v, void *p)
{
  struct oci_hooks *h = p;

  FIELDS_BEGIN (c, v)
  FIELD ("prestart") ret = GET_OBJECTS (c, x, h->prestart, hook);
  FIELD ("createRuntime") ret = GET_OBJECTS (c, x, h->create_runtime, hook);
  FIELD ("createContainer") ret = GET_OBJECTS (c, x, h->create_container, hook);
  FIELD ("startContainer") ret = GET_OBJECTS (c, x, h->start_container, hook);
  FIELD ("poststart") ret = GET_OBJECTS (c, x, h->poststart, hook);
  FIELD ("poststop") ret = GET_OBJECTS (c, x, h->poststop, hook);
  FIELDS_END (c)
  return 0;
}

/* process.  */

static int parse_console_size (struct pctx *c, yajl_val v, void *p)
{
  struct oci_console_size *cs = p;
  bool has_h = false, has_w = false;

  FIELDS_BEGIN (c, v)
  FIELD ("height") ret = get_u32 (c, x, &cs->height, &has_h);
  FIELD ("width") ret = get_u32 (c, x, &cs->width, &has_w);
  FIELDS_END (c)
  if (require (c, has_h, "height") < 0)
    return -1;
  return require (c, has_w, "width");
}

static int parse_user (struct pctx *c, yajl_val v, void *p)
{
  struct oci_user *u = p;

  FIELDS_BEGIN (c, v)
  FIELD ("uid") ret = get_u32 (c, x, &u->uid, NULL);
  FIELD ("gid") ret = get_u32 (c, x, &u->gid, NULL);
  FIELD ("umask") ret = get_u32 (c, x, &u->umask, &u->umask_present);
  FIELD ("additionalGids") ret = get_u32s (c, x, &u->additional_gids, &u->additional_gids_len);
  FIELD ("username") ret = get_string (c, x, &u->username);
  FIELDS_END (c)
  return 0;
}

static int parse_capabilities (struct pctx *c, yajl_val v, void *p)
{
  struct oci_capabilities *cap = p;

  FIELDS_BEGIN (c, v)
  FIELD ("bounding") ret = get_strings (c, x, &cap->bounding, &cap->bounding_len);
  FIELD ("effective") ret = get_strings (c, x, &cap->effective, &cap->effective_len);
  FIELD ("inheritable") ret = get_strings (c, x, &cap->inheritable, &cap->inheritable_len);
  FIELD ("permitted") ret = get_strings (c, x, &cap->permitted, &cap->permitted_len);
  FIELD ("ambient") ret = get_strings (c, x, &cap->ambient, &cap->ambient_len);
  FIELDS_END (c)
  return 0;
}

static int parse_rlimit (struct pctx *c, yajl_val v, void *p)
{
  struct oci_rlimit *r = p;
  bool has_soft = false, has_hard = false;

  FIELDS_BEGIN (c, v)
  FIELD ("type")
  ret = get_patterned (c, x, &r->type, match_rlimit_type, "rlimit type",
                       "expected RLIMIT_ and capital letters, e.g. RLIMIT_NOFILE");
  FIELD ("soft") ret = get_u64 (c, x, &r->soft, &has_soft);
  FIELD ("hard") ret = get_u64 (c, x, &r->hard, &has_hard);
  FIELDS_END (c)
  if (require (c, r->type != NULL, "type") < 0 || require (c, has_soft, "soft") < 0)
    return -1;
  return require (c, has_hard, "hard");
}

static int parse_scheduler (struct pctx *c, yajl_val v, void *p)
{
  struct oci_scheduler *s = p;

  FIELDS_BEGIN (c, v)
  FIELD ("policy") ret = get_enum (c, x, &s->policy, "scheduler policy", sched_policies);
  FIELD ("nice") ret = get_i32 (c, x, &s->nice, &s->nice_present);
  FIELD ("priority") ret = get_i32 (c, x, &s->priority, &s->priority_present);
  FIELD ("flags") ret = get_strings (c, x, &s->flags, &s->flags_len);
  FIELD ("runtime") ret = get_u64 (c, x, &s->runtime, &s->runtime_present);
  FIELD ("deadline") ret = get_u64 (c, x, &s->deadline, &s->deadline_present);
  FIELD ("period") ret = get_u64 (c, x, &s->period, &s->period_present);
  FIELDS_END (c)
  return require (c, s->policy != NULL, "policy");
}

static int parse_io_priority (struct pctx *c, yajl_val v, void *p)
{
  struct oci_io_priority *io = p;

  FIELDS_BEGIN (c, v)
  FIELD ("class") ret = get_enum (c, x, &io->class_, "I/O priority class", ioprio_classes);
  FIELD ("priority") ret = get_i32 (c, x, &io->priority, &io->priority_present);
  FIELDS_END (c)
  return require (c, io->class_ != NULL, "class");
}

static int parse_exec_cpu_affinity (struct pctx *c, yajl_val v, void *p)
{
  struct oci_exec_cpu_affinity *a = p;
  static const char hint[] = "expected a CPU list such as 0-3,7";

  FIELDS_BEGIN (c, v)
  FIELD ("initial") ret = get_patterned (c, x, &a->initial, match_cpu_list, "CPU list", hint);
  FIELD ("final") ret = get_patterned (c, x, &a->final, match_cpu_list, "CPU list", hint);
  FIELDS_END (c)
  return 0;
}

static int parse_process (struct pctx *c, yajl_val v, void *p)
{
  struct oci_process *pr = p;

  FIELDS_BEGIN (c, v)
  FIELD ("terminal") ret = get_bool (c, x, &pr->terminal, NULL);
  FIELD ("consoleSize") ret = GET_OBJECT (c, x, pr->console_size, console_size);
  FIELD ("user")
  {
    oci_json_clear_user (&pr->user);
    memset (&pr->user, 0, sizeof (pr->user));
    ret = parse_user (c, x, &pr->user);
  }
  FIELD ("args") ret = get_strings (c, x, &pr->args, &pr->args_len);
  FIELD ("commandLine") ret = get_string (c, x, &pr->command_line);
  FIELD ("env") ret = get_strings (c, x, &pr->env, &pr->env_len);
  FIELD ("cwd") ret = get_string (c, x, &pr->cwd);
  FIELD ("capabilities") ret = GET_OBJECT (c, x, pr->capabilities, capabilities);
  FIELD ("rlimits") ret = GET_OBJECTS (c, x, pr->rlimits, rlimit);
  FIELD ("noNewPrivileges") ret = get_bool (c, x, &pr->no_new_privileges, NULL);
  FIELD ("apparmorProfile") ret = get_string (c, x, &pr->apparmor_profile);
  FIELD ("oomScoreAdj") ret = get_i32 (c, x, &pr->oom_score_adj, &pr->oom_score_adj_present);
  FIELD ("scheduler") ret = GET_OBJECT (c, x, pr->scheduler, scheduler);
  FIELD ("selinuxLabel") ret = get_string (c, x, &pr->selinux_label);
  FIELD ("ioPriority") ret = GET_OBJECT (c, x, pr->io_priority, io_priority);
  FIELD ("execCPUAffinity") ret = GET_OBJECT (c, x, pr->exec_cpu_affinity, exec_cpu_affinity);
  FIELDS_END (c)
  return require (c, pr->cwd != NULL, "cwd");
}

/* linux.  */

static int parse_namespace (struct pctx *c, yajl_val v, void *p)
{
  struct oci_namespace *ns = p;

  FIELDS_BEGIN (c, v)
  FIELD ("type") ret = get_enum (c, x, &ns->type, "namespace type", namespace_types);
  FIELD ("path") ret = get_string (c, x, &ns->path);
  FIELDS_END (c)
  return require (c, ns->type != NULL, "type");
}

static int parse_device (struct pctx *c, yajl_val v, void *p)
{
  struct oci_device *d = p;

  FIELDS_BEGIN (c, v)
  FIELD ("type") ret = get_enum (c, x, &d->type, "device type", device_types);
  FIELD ("path") ret = get_string (c, x, &d->path);
  FIELD ("major") ret = get_i64 (c, x, &d->major, &d->major_present);
  FIELD ("minor") ret = get_i64 (c, x, &d->minor, &d->minor_present);
  FIELD ("fileMode") ret = get_u32 (c, x, &d->file_mode, &d->file_mode_present);
  FIELD ("uid") ret = get_u32 (c, x, &d->uid, &d->uid_present);
  FIELD ("gid") ret = get_u32 (c, x, &d->gid, &d->gid_present);
  FIELDS_END (c)
  if (require (c, d->type != NULL, "type") < 0)
    return -1;
  return require (c, d->path != NULL, "path");
}

static int parse_device_cgroup (struct pctx *c, yajl_val v, void *p)
{
  struct oci_device_cgroup *d = p;
  bool has_allow = false;

  FIELDS_BEGIN (c, v)
  FIELD ("allow") ret = get_bool (c, x, &d->allow, &has_allow);
  FIELD ("type") ret = get_string (c, x, &d->type);
  FIELD ("major") ret = get_i64 (c, x, &d->major, &d->major_present);
  FIELD ("minor") ret = get_i64 (c, x, &d->minor, &d->minor_present);
  FIELD ("access") ret = get_string (c, x, &d->access);
  FIELDS_END (c)
  return require (c, has_allow, "allow");
}

static int parse_memory (struct pctx *c, yajl_val v, void *p)
{
  struct oci_memory *m = p;

  FIELDS_BEGIN (c, v)
  FIELD ("limit") ret = get_i64 (c, x, &m->limit, &m->limit_present);
  FIELD ("reservation") ret = get_i64 (c, x, &m->reservation, &m->reservation_present);
  FIELD ("swap") ret = get_i64 (c, x, &m->swap, &m->swap_present);
  FIELD ("kernel") ret = get_i64 (c, x, &m->kernel, &m->kernel_present);
  FIELD ("kernelTCP") ret = get_i64 (c, x, &m->kernel_tcp, &m->kernel_tcp_present);
  FIELD ("swappiness") ret = get_u64 (c, x, &m->swappiness, &m->swappiness_present);
  FIELD ("disableOOMKiller")
  ret = get_bool (c, x, &m->disable_oom_killer, &m->disable_oom_killer_present);
  FIELD ("useHierarchy") ret = get_bool (c, x, &m->use_hierarchy, &m->use_hierarchy_present);
  FIELD ("checkBeforeUpdate")
  ret = get_bool (c, x, &m->check_before_update, &m->check_before_update_present);
  FIELDS_END (c)
  return 0;
}

static int parse_cpu (struct pctx *c, yajl_val v, void *p)
{
  struct oci_cpu *cpu = p;

  FIELDS_BEGIN (c, v)
  FIELD ("shares") ret = get_u64 (c, x, &cpu->shares, &cpu->shares_present);
  FIELD ("quota") ret = get_i64 (c, x, &cpu->quota, &cpu->quota_present);
  FIELD ("burst") ret = get_u64 (c, x, &cpu->burst, &cpu->burst_present);
  FIELD ("period") ret = get_u64 (c, x, &cpu->period, &cpu->period_present);
  FIELD ("realtimeRuntime")
  ret = get_i64 (c, x, &cpu->realtime_runtime, &cpu->realtime_runtime_present);
  FIELD ("realtimePeriod")
  ret = get_u64 (c, x, &cpu->realtime_period, &cpu->realtime_period_present);
  FIELD ("cpus") ret = get_string (c, x, &cpu->cpus);
  FIELD ("mems") ret = get_string (c, x, &cpu->mems);
  FIELD ("idle") ret = get_i64 (c, x, &cpu->idle, &cpu->idle_present);
  FIELDS_END (c)
  return 0;
}

static int parse_pids (struct pctx *c, yajl_val v, void *p)
{
  struct oci_pids *pids = p;
  bool has_limit = false;

  FIELDS_BEGIN (c, v)
  FIELD ("limit") ret = get_i64 (c, x, &pids->limit, &has_limit);
  FIELDS_END (c)
  return require (c, has_limit, "limit");
}

static int parse_block_io_device_weight (struct pctx *c, yajl_val v, void *p)
{
  struct oci_block_io_device_weight *w = p;
  bool has_major = false, has_minor = false;

  FIELDS_BEGIN (c, v)
  FIELD ("major") ret = get_i64 (c, x, &w->major, &has_major);
  FIELD ("minor") ret = get_i64 (c, x, &w->minor, &has_minor);
  FIELD ("weight") ret = get_u16 (c, x, &w->weight, &w->weight_present);
  FIELD ("leafWeight") ret = get_u16 (c, x, &w->leaf_weight, &w->leaf_weight_present);
  FIELDS_END (c)
  if (require (c, has_major, "major") < 0)
    return -1;
  return require (c, has_minor, "minor");
}

static int parse_block_io_device_throttle (struct pctx *c, yajl_val v, void *p)
{
  struct oci_block_io_device_throttle *t = p;
  bool has_major = false, has_minor = false;

  FIELDS_BEGIN (c, v)
  FIELD ("major") ret = get_i64 (c, x, &t->major, &has_major);
  FIELD ("minor") ret = get_i64 (c, x, &t->minor, &has_minor);
  FIELD ("rate") ret = get_u64 (c, x, &t->rate, &t->rate_present);
  FIELDS_END (c)
  if (require (c, has_major, "major") < 0)
    return -1;
  return require (c, has_minor, "minor");
}

static int parse_block_io (struct pctx *c, yajl_val v, void *p)
{
  struct oci_block_io *b = p;

  FIELDS_BEGIN (c, v)
  FIELD ("weight") ret = get_u16 (c, x, &b->weight, &b->weight_present);
  FIELD ("leafWeight") ret = get_u16 (c, x, &b->leaf_weight, &b->leaf_weight_present);
  FIELD ("weightDevice") ret = GET_OBJECTS (c, x, b->weight_device, block_io_device_weight);
  FIELD ("throttleReadBpsDevice")
  ret = GET_OBJECTS (c, x, b->throttle_read_bps_device, block_io_device_throttle);
  FIELD ("throttleWriteBpsDevice")
  ret = GET_OBJECTS (c, x, b->throttle_write_bps_device, block_io_device_throttle);
  FIELD ("throttleReadIOPSDevice")
  ret = GET_OBJECTS (c, x, b->throttle_read_iops_device, block_io_device_throttle);
  FIELD ("throttleWriteIOPSDevice")
  ret = GET_OBJECTS (c, x, b->throttle_write_iops_device, block_io_device_throttle);
  FIELDS_END (c)
  return 0;
}

static int parse_hugepage_limit (struct pctx *c, yajl_val v, void *p)
{
  struct oci_hugepage_limit *h = p;
  bool has_limit = false;

  FIELDS_BEGIN (c, v)
  FIELD ("pageSize")
  ret = get_patterned (c, x, &h->page_size, match_page_size, "page size", "expected e.g. 2MB");
  FIELD ("limit") ret = get_u64 (c, x, &h->limit, &has_limit);
  FIELDS_END (c)
  if (require (c, h->page_size != NULL, "pageSize") < 0)
    return -1;
  return require (c, has_limit, "limit");
}

static int parse_network_priority (struct pctx *c, yajl_val v, void *p)
{
  struct oci_network_priority *n = p;
  bool has_prio = false;

  FIELDS_BEGIN (c, v)
  FIELD ("name") ret = get_string (c, x, &n->name);
  FIELD ("priority") ret = get_u32 (c, x, &n->priority, &has_prio);
  FIELDS_END (c)
  if (require (c, n->name != NULL, "name") < 0)
    return -1;
  return require (c, has_prio, "priority");
}

static int parse_network (struct pctx *c, yajl_val v, void *p)
{
  struct oci_network *n = p;

  FIELDS_BEGIN (c, v)
  FIELD ("classID") ret = get_u32 (c, x, &n->class_id, &n->class_id_present);
  FIELD ("priorities") ret = GET_OBJECTS (c, x, n->priorities, network_priority);
  FIELDS_END (c)
  return 0;
}

static int parse_rdma_entry (struct pctx *c, yajl_val v, void *p)
{
  struct oci_rdma_entry *r = p;

  FIELDS_BEGIN (c, v)
  FIELD ("hcaHandles") ret = get_u32 (c, x, &r->hca_handles, &r->hca_handles_present);
  FIELD ("hcaObjects") ret = get_u32 (c, x, &r->hca_objects, &r->hca_objects_present);
  FIELDS_END (c)
  return 0;
}

static int parse_resources (struct pctx *c, yajl_val v, void *p)
{
  struct oci_resources *r = p;

  FIELDS_BEGIN (c, v)
  FIELD ("devices") ret = GET_OBJECTS (c, x, r->devices, device_cgroup);
  FIELD ("memory") ret = GET_OBJECT (c, x, r->memory, memory);
  FIELD ("cpu") ret = GET_OBJECT (c, x, r->cpu, cpu);
  FIELD ("pids") ret = GET_OBJECT (c, x, r->pids, pids);
  FIELD ("blockIO") ret = GET_OBJECT (c, x, r->block_io, block_io);
  FIELD ("hugepageLimits") ret = GET_OBJECTS (c, x, r->hugepage_limits, hugepage_limit);
  FIELD ("network") ret = GET_OBJECT (c, x, r->network, network);
  FIELD ("rdma") ret = GET_OBJECT_MAP (c, x, r->rdma, rdma_entry, name);
  FIELD ("unified") ret = get_map (c, x, &r->unified, &r->unified_len);
  FIELDS_END (c)
  return 0;
}

static int parse_seccomp_arg (struct pctx *c, yajl_val v, void *p)
{
  struct oci_seccomp_arg *a = p;
  bool has_index = false, has_value = false;

  FIELDS_BEGIN (c, v)
  FIELD ("index") ret = get_u32 (c, x, &a->index, &has_index);
  FIELD ("value") ret = get_u64 (c, x, &a->value, &has_value);
  FIELD ("valueTwo") ret = get_u64 (c, x, &a->value_two, &a->value_two_present);
  FIELD ("op") ret = get_string (c, x, &a->op);
  FIELDS_END (c)
  if (require (c, has_index, "index") < 0 || require (c, has_value, "value") < 0)
    return -1;
  return require (c, a->op != NULL, "op");
}

static int parse_seccomp_syscall (struct pctx *c, yajl_val v, void *p)
{
  struct oci_seccomp_syscall *s = p;

  FIELDS_BEGIN (c, v)
  FIELD ("names")
  {
    ret = get_strings (c, x, &s->names, &s->names_len);
    if (ret == 0 && s->names_len == 0)
      ret = fail (c, "expected at least one syscall name");
  }
  FIELD ("action") ret = get_string (c, x, &s->action);
  FIELD ("errnoRet") ret = get_u32 (c, x, &s->errno_ret, &s->errno_ret_present);
  FIELD ("args") ret = GET_OBJECTS (c, x, s->args, seccomp_arg);
  FIELDS_END (c)
  if (require (c, s->names != NULL, "names") < 0)
    return -1;
  return require (c, s->action != NULL, "action");
}

static int parse_seccomp (struct pctx *c, yajl_val v, void *p)
{
  struct oci_seccomp *s = p;

  FIELDS_BEGIN (c, v)
  FIELD ("defaultAction") ret = get_string (c, x, &s->default_action);
  FIELD ("defaultErrnoRet")
  ret = get_u32 (c, x, &s->default_errno_ret, &s->default_errno_ret_present);
  FIELD ("architectures") ret = get_strings (c, x, &s->architectures, &s->architectures_len);
  FIELD ("flags") ret = get_strings (c, x, &s->flags, &s->flags_len);
  FIELD ("listenerPath") ret = get_string (c, x, &s->listener_path);
  FIELD ("listenerMetadata") ret = get_string (c, x, &s->listener_metadata);
  FIELD ("syscalls") ret = GET_OBJECTS (c, x, s->syscalls, seccomp_syscall);
  FIELDS_END (c)
  return require (c, s->default_action != NULL, "defaultAction");
}

static bool match_mem_bw_schema (const char *s)
{
  /* ^MB:[^\n]*$ */
  return strncmp (s, "MB:", 3) == 0 && strchr (s, '\n') == NULL;
}

static int parse_intel_rdt (struct pctx *c, yajl_val v, void *p)
{
  struct oci_intel_rdt *r = p;

  FIELDS_BEGIN (c, v)
  FIELD ("closID") ret = get_string (c, x, &r->clos_id);
  FIELD ("l3CacheSchema") ret = get_string (c, x, &r->l3_cache_schema);
  FIELD ("memBwSchema")
  ret = get_patterned (c, x, &r->mem_bw_schema, match_mem_bw_schema, "memory bandwidth schema",
                       "expected one line starting with MB:");
  FIELD ("schemata") ret = get_strings (c, x, &r->schemata, &r->schemata_len);
  FIELD ("enableMonitoring") ret = get_bool (c, x, &r->enable_monitoring, NULL);
  FIELDS_END (c)
  return 0;
}

static int parse_memory_policy (struct pctx *c, yajl_val v, void *p)
{
  struct oci_memory_policy *m = p;

  FIELDS_BEGIN (c, v)
  FIELD ("mode") ret = get_enum (c, x, &m->mode, "memory policy mode", mpol_modes);
  FIELD ("nodes") ret = get_string (c, x, &m->nodes);
  FIELD ("flags") ret = get_strings (c, x, &m->flags, &m->flags_len);
  FIELDS_END (c)
  return require (c, m->mode != NULL, "mode");
}

static int parse_time_offset (struct pctx *c, yajl_val v, void *p)
{
  struct oci_time_offset *t = p;

  FIELDS_BEGIN (c, v)
  FIELD ("secs") ret = get_i64 (c, x, &t->secs, NULL);
  FIELD ("nanosecs") ret = get_u32 (c, x, &t->nanosecs, NULL);
  FIELDS_END (c)
  return 0;
}

static int parse_net_device (struct pctx *c, yajl_val v, void *p)
{
  struct oci_net_device *n = p;

  FIELDS_BEGIN (c, v)
  FIELD ("name") ret = get_string (c, x, &n->name);
  FIELDS_END (c)
  return 0;
}

static int parse_personality (struct pctx *c, yajl_val v, void *p)
{
  struct oci_personality *pe = p;

  FIELDS_BEGIN (c, v)
  FIELD ("domain") ret = get_enum (c, x, &pe->domain, "personality domain", personality_domains);
  FIELD ("flags") ret = get_strings (c, x, &pe->flags, &pe->flags_len);
  FIELDS_END (c)
  return require (c, pe->domain != NULL, "domain");
}

static int parse_linux (struct pctx *c, yajl_val v, void *p)
{
  struct oci_linux *l = p;

  FIELDS_BEGIN (c, v)
  FIELD ("uidMappings") ret = GET_OBJECTS (c, x, l->uid_mappings, id_mapping);
  FIELD ("gidMappings") ret = GET_OBJECTS (c, x, l->gid_mappings, id_mapping);
  FIELD ("sysctl") ret = get_map (c, x, &l->sysctl, &l->sysctl_len);
  FIELD ("resources") ret = GET_OBJECT (c, x, l->resources, resources);
  FIELD ("cgroupsPath") ret = get_string (c, x, &l->cgroups_path);
  FIELD ("namespaces") ret = GET_OBJECTS (c, x, l->namespaces, namespace);
  FIELD ("devices") ret = GET_OBJECTS (c, x, l->devices, device);
  FIELD ("seccomp") ret = GET_OBJECT (c, x, l->seccomp, seccomp);
  FIELD ("rootfsPropagation")
  ret = get_enum (c, x, &l->rootfs_propagation, "rootfs propagation", propagations);
  FIELD ("maskedPaths") ret = get_strings (c, x, &l->masked_paths, &l->masked_paths_len);
  FIELD ("readonlyPaths") ret = get_strings (c, x, &l->readonly_paths, &l->readonly_paths_len);
  FIELD ("mountLabel") ret = get_string (c, x, &l->mount_label);
  FIELD ("intelRdt") ret = GET_OBJECT (c, x, l->intel_rdt, intel_rdt);
  FIELD ("memoryPolicy") ret = GET_OBJECT (c, x, l->memory_policy, memory_policy);
  FIELD ("timeOffsets") ret = GET_OBJECT_MAP (c, x, l->time_offsets, time_offset, clock);
  FIELD ("netDevices") ret = GET_OBJECT_MAP (c, x, l->net_devices, net_device, host_name);
  FIELD ("personality") ret = GET_OBJECT (c, x, l->personality, personality);
  FIELDS_END (c)
  return 0;
}

/* vm.  */

static int parse_vm_hypervisor (struct pctx *c, yajl_val v, void *p)
{
  struct oci_vm_hypervisor *h = p;

  FIELDS_BEGIN (c, v)
  FIELD ("path") ret = get_string (c, x, &h->path);
  FIELD ("parameters") ret = get_strings (c, x, &h->parameters, &h->parameters_len);
  FIELDS_END (c)
  return require (c, h->path != NULL, "path");
}

static int parse_vm_kernel (struct pctx *c, yajl_val v, void *p)
{
  struct oci_vm_kernel *k = p;

  FIELDS_BEGIN (c, v)
  FIELD ("path") ret = get_string (c, x, &k->path);
  FIELD ("parameters") ret = get_strings (c, x, &k->parameters, &k->parameters_len);
  FIELD ("initrd") ret = get_string (c, x, &k->initrd);
  FIELDS_END (c)
  return require (c, k->path != NULL, "path");
}

static int parse_vm_image (struct pctx *c, yajl_val v, void *p)
{
  struct oci_vm_image *i = p;

  FIELDS_BEGIN (c, v)
  FIELD ("path") ret = get_string (c, x, &i->path);
  FIELD ("format") ret = get_enum (c, x, &i->format, "image format", image_formats);
  FIELDS_END (c)
  if (require (c, i->path != NULL, "path") < 0)
    return -1;
  return require (c, i->format != NULL, "format");
}

static int parse_vm_iomem (struct pctx *c, yajl_val v, void *p)
{
  struct oci_vm_iomem *m = p;
  bool has_mfn = false, has_nr = false;

  FIELDS_BEGIN (c, v)
  FIELD ("firstGFN") ret = get_u64 (c, x, &m->first_gfn, &m->first_gfn_present);
  FIELD ("firstMFN") ret = get_u64 (c, x, &m->first_mfn, &has_mfn);
  FIELD ("nrMFNs") ret = get_u64 (c, x, &m->nr_mfns, &has_nr);
  FIELDS_END (c)
  if (require (c, has_mfn, "firstMFN") < 0)
    return -1;
  return require (c, has_nr, "nrMFNs");
}

static int parse_vm_hw_config (struct pctx *c, yajl_val v, void *p)
{
  struct oci_vm_hw_config *h = p;

  FIELDS_BEGIN (c, v)
  FIELD ("deviceTree") ret = get_string (c, x, &h->device_tree);
  FIELD ("vcpus") ret = get_u32 (c, x, &h->vcpus, &h->vcpus_present);
  FIELD ("memory") ret = get_u64 (c, x, &h->memory, &h->memory_present);
  FIELD ("dtdevs") ret = get_strings (c, x, &h->dtdevs, &h->dtdevs_len);
  FIELD ("iomems") ret = GET_OBJECTS (c, x, h->iomems, vm_iomem);
  FIELD ("irqs") ret = get_u32s (c, x, &h->irqs, &h->irqs_len);
  FIELDS_END (c)
  return 0;
}

static int parse_vm (struct pctx *c, yajl_val v, void *p)
{
  struct oci_vm *vm = p;

  FIELDS_BEGIN (c, v)
  FIELD ("hypervisor") ret = GET_OBJECT (c, x, vm->hypervisor, vm_hypervisor);
  FIELD ("kernel") ret = GET_OBJECT (c, x, vm->kernel, vm_kernel);
  FIELD ("image") ret = GET_OBJECT (c, x, vm->image, vm_image);
  FIELD ("hwConfig") ret = GET_OBJECT (c, x, vm->hw_config, vm_hw_config);
  FIELDS_END (c)
  return require (c, vm->kernel != NULL, "kernel");
}

/* Documents.  */

static int parse_config (struct pctx *c, yajl_val v, void *p)
{
  struct oci_config *cf = p;

  FIELDS_BEGIN (c, v)
  FIELD ("ociVersion") ret = get_string (c, x, &cf->oci_version);
  FIELD ("root") ret = GET_OBJECT (c, x, cf->root, root);
  FIELD ("mounts") ret = GET_OBJECTS (c, x, cf->mounts, mount);
  FIELD ("process") ret = GET_OBJECT (c, x, cf->process, process);
  FIELD ("hostname") ret = get_string (c, x, &cf->hostname);
  FIELD ("domainname") ret = get_string (c, x, &cf->domainname);
  FIELD ("hooks") ret = GET_OBJECT (c, x, cf->hooks, hooks);
  FIELD ("annotations") ret = get_map (c, x, &cf->annotations, &cf->annotations_len);
  FIELD ("linux") ret = GET_OBJECT (c, x, cf->linux_, linux);
  FIELD ("vm") ret = GET_OBJECT (c, x, cf->vm, vm);
  /* Other platforms' sections: only noted (capsa refuses them at create). */
  FIELD ("solaris") cf->other_platform = "solaris";
  FIELD ("windows") cf->other_platform = "windows";
  FIELD ("zos") cf->other_platform = "zos";
  FIELD ("freebsd") cf->other_platform = "freebsd";
  FIELDS_END (c)
  return require (c, cf->oci_version != NULL, "ociVersion");
}

static int parse_state (struct pctx *c, yajl_val v, void *p)
{
  struct oci_state *s = p;
  int64_t pid = 0;

  FIELDS_BEGIN (c, v)
  FIELD ("ociVersion") ret = get_string (c, x, &s->oci_version);
  FIELD ("id") ret = get_string (c, x, &s->id);
  FIELD ("status") ret = get_enum (c, x, &s->status, "status", state_statuses);
  FIELD ("pid")
  {
    ret = get_signed (c, x, "a process ID (0 to 2147483647)", 0, INT_MAX, &pid);
    s->pid = (int)pid;
    s->pid_present = ret == 0;
  }
  FIELD ("bundle") ret = get_string (c, x, &s->bundle);
  FIELD ("annotations") ret = get_map (c, x, &s->annotations, &s->annotations_len);
  FIELDS_END (c)
  if (require (c, s->oci_version != NULL, "ociVersion") < 0 || require (c, s->id != NULL, "id") < 0
      || require (c, s->status != NULL, "status") < 0)
    return -1;
  return require (c, s->bundle != NULL, "bundle");
}

/* JSON text.  */

/* JSON text into a yajl_val tree.  The nodes, keys and strings live in one arena (a few large
 * blocks) built straight from yajl's callbacks: no per-node malloc, no number conversions the
 * walker does not need (it reads the number text), and the whole tree is freed at once.  The
 * tree has the layout of <yajl/yajl_tree.h>, so the walker above uses yajl's own accessors. */

struct arena_block
{
  struct arena_block *next;
  size_t used, size;
  max_align_t data[];
};

struct arena
{
  struct arena_block *head;
};

static void *arena_alloc (struct arena *a, size_t n)
{
  struct arena_block *b = a->head;
  size_t align = sizeof (max_align_t);
  void *p;

  n = (n + align - 1) / align * align;
  if (b == NULL || b->size - b->used < n)
    {
      size_t size = n > 16384 ? n : 16384;
      b = malloc (sizeof (*b) + size);
      if (b == NULL)
        return NULL;
      b->size = size;
      b->used = 0;
      b->next = a->head;
      a->head = b;
    }
  p = (char *)b->data + b->used;
  b->used += n;
  return p;
}

static void arena_free (struct arena *a)
{
  while (a->head)
    {
      struct arena_block *next = a->head->next;
      free (a->head);
      a->head = next;
    }
}

/* A member of an open container: its key (objects only) and value. */
struct item
{
  const char *key;
  yajl_val value;
};

struct builder
{
  struct arena arena;
  struct item *items; /* members of all open containers, innermost last */
  size_t n_items, cap_items;
  size_t *starts; /* for each open container, its first item */
  yajl_val *open; /* the open containers */
  size_t depth, cap_depth;
  const char *key; /* the key of the next value inside an object */
  yajl_val root;
  const char *why; /* why a callback stopped the parse */
};

static char *builder_string (struct builder *b, const unsigned char *s, size_t len)
{
  char *p;

  if (memchr (s, '\0', len) != NULL)
    {
      b->why = "string with a NUL character (\\u0000)";
      return NULL;
    }
  p = arena_alloc (&b->arena, len + 1);
  if (p == NULL)
    {
      b->why = "out of memory";
      return NULL;
    }
  memcpy (p, s, len);
  p[len] = '\0';
  return p;
}

static yajl_val builder_node (struct builder *b, yajl_type type)
{
  yajl_val v = arena_alloc (&b->arena, sizeof (*v));

  if (v == NULL)
    {
      b->why = "out of memory";
      return NULL;
    }
  memset (v, 0, sizeof (*v));
  v->type = type;
  return v;
}

/* Attach `v` to the innermost open container (or make it the root). */
static int builder_add (struct builder *b, yajl_val v)
{
  if (v == NULL)
    return 0;
  if (b->depth == 0)
    {
      b->root = v;
      return 1;
    }
  if (b->n_items == b->cap_items)
    {
      size_t cap = b->cap_items ? b->cap_items * 2 : 64;
      struct item *items = realloc (b->items, cap * sizeof (*items));
      if (items == NULL)
        {
          b->why = "out of memory";
          return 0;
        }
      b->items = items;
      b->cap_items = cap;
    }
  b->items[b->n_items].key = b->key;
  b->items[b->n_items].value = v;
  b->n_items++;
  b->key = NULL;
  return 1;
}

static int cb_null (void *ctx)
{
  struct builder *b = ctx;
  return builder_add (b, builder_node (b, yajl_t_null));
}

static int cb_boolean (void *ctx, int value)
{
  struct builder *b = ctx;
  return builder_add (b, builder_node (b, value ? yajl_t_true : yajl_t_false));
}

static int cb_number (void *ctx, const char *s, size_t len)
{
  struct builder *b = ctx;
  yajl_val v = builder_node (b, yajl_t_number);

  if (v == NULL)
    return 0;
  v->u.number.r = builder_string (b, (const unsigned char *)s, len);
  if (v->u.number.r == NULL)
    return 0;
  return builder_add (b, v);
}

static int cb_string (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  yajl_val v = builder_node (b, yajl_t_string);

  if (v == NULL)
    return 0;
  v->u.string = builder_string (b, s, len);
  if (v->u.string == NULL)
    return 0;
  return builder_add (b, v);
}

static int cb_map_key (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;

  b->key = builder_string (b, s, len);
  return b->key != NULL;
}

static int builder_open (struct builder *b, yajl_type type)
{
  yajl_val v = builder_node (b, type);

  if (v == NULL || !builder_add (b, v))
    return 0;
  if (b->depth == MAX_JSON_DEPTH)
    {
      b->why = "nested too deeply";
      return 0;
    }
  if (b->depth == b->cap_depth)
    {
      size_t cap = b->cap_depth ? b->cap_depth * 2 : 16;
      size_t *starts = realloc (b->starts, cap * sizeof (*starts));
      yajl_val *open;
      if (starts == NULL)
        goto oom;
      b->starts = starts;
      open = realloc (b->open, cap * sizeof (*open));
      if (open == NULL)
        goto oom;
      b->open = open;
      b->cap_depth = cap;
    }
  b->starts[b->depth] = b->n_items;
  b->open[b->depth] = v;
  b->depth++;
  return 1;
oom:
  b->why = "out of memory";
  return 0;
}

static int builder_close (struct builder *b)
{
  yajl_val v = b->open[--b->depth];
  size_t start = b->starts[b->depth], n = b->n_items - start, i;
  yajl_val *values = arena_alloc (&b->arena, (n ? n : 1) * sizeof (yajl_val));

  if (values == NULL)
    goto oom;
  for (i = 0; i < n; i++)
    values[i] = b->items[start + i].value;
  if (v->type == yajl_t_object)
    {
      const char **keys = arena_alloc (&b->arena, (n ? n : 1) * sizeof (char *));
      if (keys == NULL)
        goto oom;
      for (i = 0; i < n; i++)
        keys[i] = b->items[start + i].key;
      v->u.object.keys = keys;
      v->u.object.values = values;
      v->u.object.len = n;
    }
  else
    {
      v->u.array.values = values;
      v->u.array.len = n;
    }
  b->n_items = start;
  return 1;
oom:
  b->why = "out of memory";
  return 0;
}

static int cb_start_map (void *ctx)
{
  return builder_open (ctx, yajl_t_object);
}

static int cb_start_array (void *ctx)
{
  return builder_open (ctx, yajl_t_array);
}

static int cb_end (void *ctx)
{
  return builder_close (ctx);
}

static const yajl_callbacks builder_callbacks = {
  .yajl_null = cb_null,
  .yajl_boolean = cb_boolean,
  .yajl_number = cb_number,
  .yajl_string = cb_string,
  .yajl_start_map = cb_start_map,
  .yajl_map_key = cb_map_key,
  .yajl_end_map = cb_end,
  .yajl_start_array = cb_start_array,
  .yajl_end_array = cb_end,
};

/* "<name>: invalid JSON: <why> (line L, column C)" for the byte at `off`. */
static void json_error (const char *text, size_t len, size_t off, const char *name, const char *why,
                        char **err)
{
  size_t line = 1, col = 1, i;
  char *one = strdup (why), *q;

  if (one != NULL)
    {
      /* yajl's message, first line only, no trailing blanks. */
      q = strchr (one, '\n');
      if (q)
        *q = '\0';
      for (q = one + strlen (one); q > one && (q[-1] == ' ' || q[-1] == '\t'); q--)
        q[-1] = '\0';
    }
  if (off > len)
    off = len;
  for (i = 0; i < off; i++)
    {
      if (text[i] == '\n')
        {
          line++;
          col = 1;
        }
      else
        col++;
    }
  if (asprintf (err, "%s: invalid JSON: %s (line %zu, column %zu)", name, one ? one : "parse error",
                line, col)
      < 0)
    *err = NULL;
  *err = one_line (*err);
  free (one);
}

/* Parse `text` (`len` bytes, not necessarily NUL-terminated) as one document of the given kind. */
static void *parse_document_at (const char *text, size_t len, const char *name, const char *prefix,
                                size_t size, parse_fn fn, void (*clear) (void *), char **err);

static void *parse_document (const char *text, size_t len, const char *name, size_t size,
                             parse_fn fn, void (*clear) (void *), char **err)
{
  return parse_document_at (text, len, name, NULL, size, fn, clear, err);
}

/* As parse_document, for a document that sits at JSON path `prefix` (e.g. ".linux.resources")
 * of a config: messages name the full path. */
static void *parse_document_at (const char *text, size_t len, const char *name, const char *prefix,
                                size_t size, parse_fn fn, void (*clear) (void *), char **err)
{
  struct pctx c = { .name = name };
  struct builder b = { 0 };
  yajl_handle h;
  yajl_status st;
  bool at_end;
  void *out = NULL;

  *err = NULL;
  h = yajl_alloc (&builder_callbacks, NULL, &b);
  if (h == NULL)
    {
      *err = strdup ("out of memory");
      return NULL;
    }
  /* As yajl_tree_parse: comments allowed, strings must be valid UTF-8, one value. */
  yajl_config (h, yajl_allow_comments, 1);
  st = yajl_parse (h, (const unsigned char *)text, len);
  at_end = st == yajl_status_ok;
  if (st == yajl_status_ok)
    st = yajl_complete_parse (h);
  if (st != yajl_status_ok)
    {
      /* yajl reports the offset just past the offending token: point at its last byte.  An
       * error at completion (premature EOF) is at the end of the text. */
      size_t off = at_end ? len : yajl_get_bytes_consumed (h);
      unsigned char *msg = NULL;
      if (off > 0 && !at_end)
        off--;
      if (st == yajl_status_client_canceled && b.why != NULL)
        json_error (text, len, off, name, b.why, err);
      else
        {
          msg = yajl_get_error (h, 0, (const unsigned char *)text, len);
          json_error (text, len, off, name, msg ? (const char *)msg : "parse error", err);
          if (msg)
            yajl_free_error (h, msg);
        }
      goto out;
    }
  if (b.root == NULL || b.depth != 0)
    {
      json_error (text, len, len, name, "no value", err);
      goto out;
    }
  out = calloc (1, size);
  if (out == NULL)
    {
      *err = strdup ("out of memory");
      goto out;
    }
  if (prefix && *prefix)
    {
      size_t plen = strlen (prefix);
      if (!path_reserve (&c, plen))
        {
          free (out);
          out = NULL;
          *err = strdup ("out of memory");
          goto out;
        }
      memcpy (c.path, prefix, plen + 1);
      c.len = plen;
    }
  if (fn (&c, b.root, out) < 0)
    {
      oci_json_free_object (out, clear);
      out = NULL;
      *err = c.err ? c.err : strdup ("out of memory");
      c.err = NULL;
    }
out:
  free (c.path);
  yajl_free (h);
  arena_free (&b.arena);
  free (b.items);
  free (b.starts);
  free (b.open);
  return out;
}

static void *parse_data (const char *data, size_t len, const char *name, size_t size, parse_fn fn,
                         void (*clear) (void *), char **err)
{
  return parse_document (data, len, name, size, fn, clear, err);
}

static char *read_file (const char *path, size_t *lenp, char **err)
{
  size_t len = 0, cap;
  struct stat st;
  char *buf, *nbuf;
  ssize_t n;
  int fd, saved;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    goto fail_errno_open;
  cap = (fstat (fd, &st) == 0 && st.st_size > 0) ? (size_t)st.st_size + 1 : 4096;
  buf = malloc (cap);
  if (buf == NULL)
    goto fail_errno_read;
  for (;;)
    {
      if (len + 1 >= cap)
        {
          nbuf = realloc (buf, cap * 2);
          if (nbuf == NULL)
            {
              saved = errno;
              free (buf);
              errno = saved;
              goto fail_errno_read;
            }
          buf = nbuf;
          cap *= 2;
        }
      n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved = errno;
          free (buf);
          errno = saved;
          goto fail_errno_read;
        }
      if (n == 0)
        break;
      len += (size_t)n;
    }
  close (fd);
  buf[len] = '\0';
  *lenp = len;
  return buf;

fail_errno_open:
  if (asprintf (err, "open %s: %s", path, strerror (errno)) < 0)
    *err = NULL;
  return NULL;
fail_errno_read:
  saved = errno;
  close (fd);
  if (asprintf (err, "read %s: %s", path, strerror (saved)) < 0)
    *err = NULL;
  return NULL;
}

static void *parse_file (const char *path, const char *name, size_t size, parse_fn fn,
                         void (*clear) (void *), char **err)
{
  size_t len;
  char *text;
  void *out;

  *err = NULL;
  text = read_file (path, &len, err);
  if (text == NULL)
    return NULL;
  out = parse_document (text, len, name ? name : path, size, fn, clear, err);
  free (text);
  return out;
}

struct oci_config *oci_config_parse_file (const char *path, const char *name, char **err)
{
  return parse_file (path, name, sizeof (struct oci_config), parse_config, oci_json_clear_config,
                     err);
}

struct oci_config *oci_config_parse_data (const char *data, size_t len, const char *name,
                                          char **err)
{
  return parse_data (data, len, name ? name : "config.json", sizeof (struct oci_config),
                     parse_config, oci_json_clear_config, err);
}

struct oci_process *oci_process_parse_file (const char *path, const char *name, char **err)
{
  return parse_file (path, name, sizeof (struct oci_process), parse_process, oci_json_clear_process,
                     err);
}

struct oci_process *oci_process_parse_data (const char *data, size_t len, const char *name,
                                            char **err)
{
  return parse_data (data, len, name ? name : "process.json", sizeof (struct oci_process),
                     parse_process, oci_json_clear_process, err);
}

struct oci_state *oci_state_parse_file (const char *path, const char *name, char **err)
{
  return parse_file (path, name, sizeof (struct oci_state), parse_state, oci_json_clear_state, err);
}

struct oci_state *oci_state_parse_data (const char *data, size_t len, const char *name, char **err)
{
  return parse_data (data, len, name ? name : "state.json", sizeof (struct oci_state), parse_state,
                     oci_json_clear_state, err);
}

struct oci_resources *oci_resources_parse_data (const char *data, size_t len, const char *name,
                                                char **err)
{
  return parse_document_at (data, len, name ? name : "resources.json", ".linux.resources",
                            sizeof (struct oci_resources), parse_resources,
                            oci_json_clear_resources, err);
}

const char *oci_kv_get (const struct oci_kv *kv, size_t len, const char *key)
{
  size_t i;

  if (kv == NULL || key == NULL)
    return NULL;
  for (i = 0; i < len; i++)
    if (kv[i].key && strcmp (kv[i].key, key) == 0)
      return kv[i].value;
  return NULL;
}
