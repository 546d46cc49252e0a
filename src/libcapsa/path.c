/* capsa: resolve and create paths inside a root directory without escaping it. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#define MAX_SYMLINKS 40

static bool have_openat2 = true;

/* Open `path` below `rootfd`, treating rootfd as "/" for absolute symlinks and "..".  Uses
 * openat2(RESOLVE_IN_ROOT); where the kernel lacks it, walks the path one component at a time
 * with O_NOFOLLOW and expands symlinks by hand, clamping ".." at the root.  Sets errno and
 * returns -1 on failure. */
static int resolve_in_root (int rootfd, const char *path, int flags)
{
  char buf[PATH_MAX * 2];
  int links = 0;
  int cur = -1;
  char *p, *comp;
  int *stack = NULL;
  size_t depth = 0, cap = 0;

  if (have_openat2)
    {
      struct open_how how = { 0 };
      int fd;

      how.flags = flags | O_CLOEXEC;
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
      fd = syscall (SYS_openat2, rootfd, path, &how, sizeof (how));
      if (fd >= 0 || errno != ENOSYS)
        return fd;
      have_openat2 = false;
    }

  /* Manual walk.  `stack` keeps one O_PATH fd per directory entered so ".." can go back up
   * without leaving the root. */
  if (strlen (path) >= sizeof (buf) / 2)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (buf, path);
  p = buf;
  for (;;)
    {
      int next;
      struct stat st;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      comp = p;
      p = strchr (p, '/');
      if (p)
        *p++ = '\0';
      else
        p = comp + strlen (comp);
      if (strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          if (depth > 0)
            close (stack[--depth]);
          continue;
        }
      cur = depth ? stack[depth - 1] : rootfd;
      next = openat (cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        goto fail;
      if (fstat (next, &st) < 0)
        {
          close (next);
          goto fail;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n;
          size_t rest = strlen (p);

          close (next);
          if (++links > MAX_SYMLINKS)
            {
              errno = ELOOP;
              goto fail;
            }
          n = readlinkat (cur, comp, target, sizeof (target) - 1);
          if (n < 0)
            goto fail;
          target[n] = '\0';
          if ((size_t)n + rest + 2 >= sizeof (buf))
            {
              errno = ENAMETOOLONG;
              goto fail;
            }
          /* New remaining path: target + "/" + rest. */
          memmove (buf + n + 1, p, rest + 1);
          memcpy (buf, target, n);
          buf[n] = '/';
          p = buf;
          if (target[0] == '/')
            while (depth > 0)
              close (stack[--depth]);
          continue;
        }
      if (depth == cap)
        {
          int *s = realloc (stack, (cap = cap ? cap * 2 : 16) * sizeof (int));
          if (s == NULL)
            {
              close (next);
              errno = ENOMEM;
              goto fail;
            }
          stack = s;
        }
      stack[depth++] = next;
    }

  {
    /* The last fd on the stack is the final component (the root itself when empty). */
    int fd;
    struct stat st;

    if (depth == 0)
      fd = openat (rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    else
      fd = stack[--depth];
    while (depth > 0)
      close (stack[--depth]);
    free (stack);
    if (fd < 0)
      return -1;
    if ((flags & O_DIRECTORY) && (fstat (fd, &st) < 0 || !S_ISDIR (st.st_mode)))
      {
        close (fd);
        errno = ENOTDIR;
        return -1;
      }
    if ((flags & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW)) != 0 || !(flags & O_PATH))
      {
        char fdp[32];
        int r;

        snprintf (fdp, sizeof (fdp), "/proc/self/fd/%d", fd);
        r = open (fdp, flags | O_CLOEXEC);
        close (fd);
        return r;
      }
    return fd;
  }

fail:
  {
    int saved = errno;
    while (depth > 0)
      close (stack[--depth]);
    free (stack);
    errno = saved;
    return -1;
  }
}

/* Split a relative path into components, dropping empty ones and "."; returns their count. */
static size_t split_path (char *s, char **comps, size_t max)
{
  size_t n = 0;
  char *save = NULL, *c;

  for (c = strtok_r (s, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (n < max)
        comps[n] = c;
      n++;
    }
  return n;
}

int capsa_open_in_root (int rootfd, const char *path, bool create_dirs, bool last_is_file,
                        capsa_error_t *err)
{
  char *work = NULL;
  int fd, links = 0;

  fd = resolve_in_root (rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT || !create_dirs)
    {
      if (fd < 0)
        return capsa_make_error (err, errno, "open \"%s\" in the rootfs", path);
      return fd;
    }

  /* Create the missing components one by one.  Each prefix is resolved inside the root again,
   * so a symlink anywhere in the path is followed (but kept inside the root), and each new
   * entry is created with mkdirat/openat relative to its resolved parent, never by name. */
  work = strdup (path);
  if (work == NULL)
    return capsa_make_error (err, ENOMEM, "open \"%s\" in the rootfs", path);
restart:
  {
    char *copy = strdup (work);
    char *comps[512];
    size_t n, i, start;
    int parent;
    char prefix[PATH_MAX];
    size_t plen = 0;

    if (copy == NULL)
      {
        free (work);
        return capsa_make_error (err, ENOMEM, "open \"%s\" in the rootfs", path);
      }
    n = split_path (copy, comps, 512);
    if (n > 512)
      {
        free (copy);
        free (work);
        return capsa_make_error (err, ENAMETOOLONG, "open \"%s\" in the rootfs", path);
      }
    /* Start from the deepest prefix that resolves: usually only the last component is missing
     * (a mount point in /dev or /sys/fs/cgroup), so search from the end instead of resolving
     * every prefix from the root. */
    parent = -1;
    for (start = n > 0 ? n - 1 : 0; start > 0; start--)
      {
        for (plen = 0, i = 0; i < start; i++)
          {
            if (plen + strlen (comps[i]) + 2 >= sizeof (prefix))
              {
                errno = ENAMETOOLONG;
                goto fail_errno;
              }
            plen += sprintf (prefix + plen, "/%s", comps[i]);
          }
        parent = resolve_in_root (rootfd, prefix, O_PATH);
        if (parent >= 0)
          break;
        if (errno != ENOENT)
          goto fail_errno;
      }
    if (parent < 0)
      {
        start = 0;
        plen = 0;
        prefix[0] = '\0';
        parent = resolve_in_root (rootfd, "/", O_PATH | O_DIRECTORY);
        if (parent < 0)
          goto fail_errno;
      }
    for (i = start; i < n; i++)
      {
        bool last = i + 1 == n;
        int next, r;

        if (plen + strlen (comps[i]) + 2 >= sizeof (prefix))
          {
            errno = ENAMETOOLONG;
            goto fail_errno_parent;
          }
        plen += sprintf (prefix + plen, "/%s", comps[i]);
        /* The first missing component was just looked up (the whole path, or the prefix one
         * longer than `parent`, failed with ENOENT): go straight to creating it. */
        next = i == start ? (errno = ENOENT, -1) : resolve_in_root (rootfd, prefix, O_PATH);
        if (next >= 0)
          {
            close (parent);
            parent = next;
            continue;
          }
        if (errno != ENOENT || strcmp (comps[i], "..") == 0)
          goto fail_errno_parent;

        if (last && last_is_file)
          {
            r = openat (parent, comps[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                        0644);
            if (r >= 0)
              close (r);
          }
        else
          r = mkdirat (parent, comps[i], 0755);
        if (r < 0 && errno == EEXIST)
          {
            /* Something is there yet does not resolve: a dangling symlink.  Create what it
             * points to instead, still inside the root. */
            char target[PATH_MAX];
            ssize_t len = readlinkat (parent, comps[i], target, sizeof (target) - 1);
            char *rest, *nw;
            size_t j;

            if (len < 0 && errno == EINVAL)
              {
                /* not a symlink: made by someone else since it was looked up */
                next = resolve_in_root (rootfd, prefix, O_PATH);
                if (next < 0)
                  goto fail_errno_parent;
                close (parent);
                parent = next;
                continue;
              }
            if (len < 0)
              goto fail_errno_parent;
            target[len] = '\0';
            if (++links > MAX_SYMLINKS)
              {
                errno = ELOOP;
                goto fail_errno_parent;
              }
            /* New path: (target absolute ? "" : prefix-without-last) / target / rest. */
            prefix[plen - strlen (comps[i]) - 1] = '\0';
            rest = strdup ("");
            for (j = i + 1; j < n && rest; j++)
              {
                char *t;
                if (asprintf (&t, "%s/%s", rest, comps[j]) < 0)
                  t = NULL;
                free (rest);
                rest = t;
              }
            if (rest == NULL
                || asprintf (&nw, "%s/%s%s", target[0] == '/' ? "" : prefix, target, rest) < 0)
              {
                free (rest);
                errno = ENOMEM;
                goto fail_errno_parent;
              }
            free (rest);
            free (work);
            work = nw;
            close (parent);
            free (copy);
            goto restart;
          }
        if (r < 0)
          goto fail_errno_parent;
        next = resolve_in_root (rootfd, prefix, O_PATH);
        if (next < 0)
          goto fail_errno_parent;
        close (parent);
        parent = next;
      }
    free (copy);
    free (work);
    return parent;

  fail_errno_parent:
    {
      int saved = errno;
      close (parent);
      errno = saved;
    }
  fail_errno:
    {
      int saved = errno;
      free (copy);
      free (work);
      return capsa_make_error (err, saved, "create \"%s\" in the rootfs", path);
    }
  }
}

int capsa_mkdir_p (const char *path, mode_t mode, capsa_error_t *err)
{
  char *p, *s;

  if (path == NULL || *path == '\0')
    return capsa_make_error (err, EINVAL, "mkdir: empty path");
  s = strdup (path);
  if (s == NULL)
    return capsa_make_error (err, ENOMEM, "mkdir \"%s\"", path);
  for (p = s + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (s, mode) < 0 && errno != EEXIST)
        {
          int saved = errno;
          capsa_make_error (err, saved, "mkdir \"%s\"", s);
          free (s);
          return -1;
        }
      *p = '/';
    }
  if (mkdir (s, mode) < 0 && errno != EEXIST)
    {
      capsa_make_error (err, errno, "mkdir \"%s\"", path);
      free (s);
      return -1;
    }
  free (s);
  {
    struct stat st;
    if (stat (path, &st) < 0)
      return capsa_make_error (err, errno, "mkdir \"%s\"", path);
    if (!S_ISDIR (st.st_mode))
      return capsa_make_error (err, ENOTDIR, "mkdir \"%s\"", path);
  }
  return 0;
}
