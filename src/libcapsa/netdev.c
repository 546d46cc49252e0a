/* capsa: linux.netDevices: move host network devices into the container's network namespace
 * (config-linux.md "Network Devices"), with rtnetlink through libmnl.
 *
 * Checked before anything is created (names, a network namespace of the container's own, each
 * device present in the runtime's namespace); moved by the runtime once the container init has
 * its namespaces, before the prestart hooks: each device keeps its permanent global addresses
 * (re-added in the container's namespace: the kernel drops them on a move), is renamed to
 * `name` in the same request when given (a name ending in "%d" is a template the kernel
 * completes), and is set up.  As the spec says, nothing moves the devices back when the
 * container is deleted: when its namespace goes, the kernel returns physical devices to the
 * initial namespace and destroys virtual ones. */
#include <config.h>
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#define PFX "config.json: .linux.netDevices"

/* The JSON path of entry `key` as the config parser writes it: .netDevices.eth0 for an
 * identifier, .netDevices["veth-a"] otherwise. */
static const char *entry_path (const char *key, char *buf, size_t len)
{
  bool ident = key[0] != '\0' && !(key[0] >= '0' && key[0] <= '9');
  const char *p;
  for (p = key; *p && ident; p++)
    ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || *p == '_';
  snprintf (buf, len, ident ? PFX ".%s" : PFX "[\"%s\"]", key);
  return buf;
}

/* A name the kernel accepts for an interface (dev_valid_name); `template` allows one "%d". */
static bool valid_ifname (const char *s, bool template)
{
  size_t n = strlen (s);
  const char *pct = strchr (s, '%');
  if (n == 0 || n >= IFNAMSIZ || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  if (pct && (!template || strncmp (pct, "%d", 2) != 0 || strchr (pct + 1, '%')))
    return false;
  for (; *s; s++)
    if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t' || *s == '\n')
      return false;
  return true;
}

/* The name a device gets in the container. */
static const char *target_name (const struct oci_net_device *d)
{
  return d->name && d->name[0] ? d->name : d->host_name;
}

struct nl
{
  struct mnl_socket *sock;
  unsigned portid;
  unsigned seq;
};

static int nl_open (struct nl *nl, capsa_error_t *err)
{
  nl->sock = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl->sock == NULL)
    return capsa_make_error (err, errno, "open a netlink socket");
  if (mnl_socket_bind (nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int e = errno;
      mnl_socket_close (nl->sock);
      nl->sock = NULL;
      return capsa_make_error (err, e, "bind a netlink socket");
    }
  nl->portid = mnl_socket_get_portid (nl->sock);
  nl->seq = 1;
  return 0;
}

static void nl_close (struct nl *nl)
{
  if (nl->sock)
    mnl_socket_close (nl->sock);
  nl->sock = NULL;
}

/* Send nlh (an ack is asked for) and read until the ack or the end of the dump, giving each
 * message to cb.  Returns 0, or -errno from the kernel's answer. */
static int nl_talk (struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  ssize_t n;
  int r;

  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto (nl->sock, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  do
    {
      n = mnl_socket_recvfrom (nl->sock, buf, sizeof (buf));
      if (n < 0)
        return -errno;
      r = mnl_cb_run (buf, (size_t)n, nl->seq, nl->portid, cb, data);
    }
  while (r > 0);
  return r < 0 ? -errno : 0;
}

/* ---- links ------------------------------------------------------------------------------ */

struct link_set
{
  int *idx;
  size_t n;
};

static int link_cb (const struct nlmsghdr *nlh, void *data)
{
  struct link_set *s = data;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
  int *p;
  if (nlh->nlmsg_type != RTM_NEWLINK)
    return MNL_CB_OK;
  p = realloc (s->idx, (s->n + 1) * sizeof (*p));
  if (p == NULL)
    return MNL_CB_ERROR;
  s->idx = p;
  s->idx[s->n++] = ifi->ifi_index;
  return MNL_CB_OK;
}

/* The ifindex of `name` (0 when there is none, -errno on other errors). */
static int link_index (struct nl *nl, const char *name)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifi;
  struct link_set s = { NULL, 0 };
  int r;

  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifi));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  r = nl_talk (nl, nlh, link_cb, &s);
  if (r == 0 && s.n > 0)
    r = s.idx[0];
  else if (r == -ENODEV || r == 0)
    r = 0;
  free (s.idx);
  return r;
}

/* Every ifindex of the namespace of nl. */
static int link_dump (struct nl *nl, struct link_set *s)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifi;

  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifi));
  ifi->ifi_family = AF_UNSPEC;
  return nl_talk (nl, nlh, link_cb, s);
}

static bool link_set_has (const struct link_set *s, int idx)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->idx[i] == idx)
      return true;
  return false;
}

/* RTM_NEWLINK on ifindex: to the namespace netns_fd (when >= 0) under `name` (when given),
 * or set up. */
static int link_change (struct nl *nl, int index, int netns_fd, const char *name, bool up)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifi;

  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifi));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  if (up)
    ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  if (netns_fd >= 0)
    mnl_attr_put_u32 (nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
  if (name)
    mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  return nl_talk (nl, nlh, NULL, NULL);
}

/* ---- addresses ---------------------------------------------------------------------------- */

struct addr
{
  unsigned char family, prefixlen;
  uint32_t flags;
  unsigned char local[16], address[16], broadcast[16];
  size_t alen;
  bool has_local, has_address, has_broadcast;
};

struct addr_list
{
  int index;
  struct addr *v;
  size_t n;
};

static int addr_attr_cb (const struct nlattr *a, void *data)
{
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type (a);
  if (mnl_attr_type_valid (a, IFA_MAX) >= 0)
    tb[type] = a;
  return MNL_CB_OK;
}

static void addr_copy (const struct nlattr *a, unsigned char *dst, size_t alen, bool *has)
{
  if (a && mnl_attr_get_payload_len (a) == alen)
    {
      memcpy (dst, mnl_attr_get_payload (a), alen);
      *has = true;
    }
}

/* Keep the device's permanent addresses of global scope (the spec's RFC 3549 rule). */
static int addr_cb (const struct nlmsghdr *nlh, void *data)
{
  struct addr_list *l = data;
  const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload (nlh);
  const struct nlattr *tb[IFA_MAX + 1] = { 0 };
  struct addr a = { 0 }, *p;

  if (nlh->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != l->index
      || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
    return MNL_CB_OK;
  mnl_attr_parse (nlh, sizeof (*ifa), addr_attr_cb, tb);
  a.flags = tb[IFA_FLAGS] ? mnl_attr_get_u32 (tb[IFA_FLAGS]) : ifa->ifa_flags;
  if (!(a.flags & IFA_F_PERMANENT))
    return MNL_CB_OK;
  a.family = ifa->ifa_family;
  a.prefixlen = ifa->ifa_prefixlen;
  a.alen = a.family == AF_INET ? 4 : a.family == AF_INET6 ? 16 : 0;
  if (a.alen == 0)
    return MNL_CB_OK;
  addr_copy (tb[IFA_LOCAL], a.local, a.alen, &a.has_local);
  addr_copy (tb[IFA_ADDRESS], a.address, a.alen, &a.has_address);
  addr_copy (tb[IFA_BROADCAST], a.broadcast, a.alen, &a.has_broadcast);
  p = realloc (l->v, (l->n + 1) * sizeof (*p));
  if (p == NULL)
    return MNL_CB_ERROR;
  l->v = p;
  l->v[l->n++] = a;
  return MNL_CB_OK;
}

static int addr_dump (struct nl *nl, struct addr_list *l)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifaddrmsg *ifa;

  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifa));
  ifa->ifa_family = AF_UNSPEC;
  ifa->ifa_index = (unsigned)l->index;
  return nl_talk (nl, nlh, addr_cb, l);
}

static int addr_add (struct nl *nl, int index, const struct addr *a)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifaddrmsg *ifa;
  int r;

  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifa));
  ifa->ifa_family = a->family;
  ifa->ifa_prefixlen = a->prefixlen;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)index;
  ifa->ifa_flags = (unsigned char)(a->flags & 0xff);
  if (a->has_local)
    mnl_attr_put (nlh, IFA_LOCAL, a->alen, a->local);
  if (a->has_address)
    mnl_attr_put (nlh, IFA_ADDRESS, a->alen, a->address);
  if (a->has_broadcast)
    mnl_attr_put (nlh, IFA_BROADCAST, a->alen, a->broadcast);
  mnl_attr_put_u32 (nlh, IFA_FLAGS, a->flags);
  r = nl_talk (nl, nlh, NULL, NULL);
  return r == -EEXIST ? 0 : r;
}

/* ---- the move ------------------------------------------------------------------------------ */

/* A netlink socket in the network namespace of ns_fd (`self_fd`: our own, to come back to). */
static int nl_open_in (struct nl *nl, int ns_fd, int self_fd, capsa_error_t *err)
{
  int r;
  if (setns (ns_fd, CLONE_NEWNET) < 0)
    return capsa_make_error (err, errno, "join the container's network namespace");
  r = nl_open (nl, err);
  if (setns (self_fd, CLONE_NEWNET) < 0)
    {
      /* Unreachable in practice; the runtime must not go on in the container's namespace. */
      nl_close (nl);
      capsa_error_release (err);
      return capsa_make_error (err, errno, "return to the runtime's network namespace");
    }
  return r;
}

/* Move one device: `from`/`to` are sockets in the namespaces, to_fd the target namespace. */
static int move_one (struct nl *from, struct nl *to, int to_fd, const char *name,
                     const char *new_name, const char *what, capsa_error_t *err)
{
  struct addr_list addrs = { 0 };
  struct link_set before = { NULL, 0 }, after = { NULL, 0 };
  int index, new_index = 0, r;
  size_t i;

  index = link_index (from, name);
  if (index <= 0)
    return capsa_make_error (err, index < 0 ? -index : 0, "%s: no network device \"%s\"%s", what,
                             name, index < 0 ? "" : " in the runtime's network namespace");
  if (strchr (new_name, '%') == NULL && (r = link_index (to, new_name)) != 0)
    return capsa_make_error (err, r < 0 ? -r : 0,
                             "%s: a network device \"%s\" already exists in the container's "
                             "network namespace",
                             what, new_name);
  addrs.index = index;
  r = addr_dump (from, &addrs);
  if (r == 0)
    r = link_dump (to, &before);
  if (r < 0)
    {
      capsa_make_error (err, -r, "%s: read the addresses of \"%s\"", what, name);
      goto out;
    }
  r = link_change (from, index, to_fd, strcmp (name, new_name) ? new_name : NULL, false);
  if (r < 0)
    {
      capsa_make_error (err, -r, "%s: move \"%s\" into the container's network namespace%s", what,
                        name, r == -EEXIST ? " (name taken there)" : "");
      goto out;
    }
  /* Its index there: the one that was not there before (nothing else runs in the container's
   * namespace yet). */
  r = link_dump (to, &after);
  for (i = 0; r == 0 && i < after.n && new_index == 0; i++)
    if (!link_set_has (&before, after.idx[i]))
      new_index = after.idx[i];
  if (new_index == 0)
    {
      capsa_make_error (err, r < 0 ? -r : 0, "%s: \"%s\" not found after the move", what, name);
      r = -1;
      goto out;
    }
  for (i = 0; i < addrs.n; i++)
    if ((r = addr_add (to, new_index, &addrs.v[i])) < 0)
      {
        capsa_make_error (err, -r, "%s: restore an address of \"%s\"", what, name);
        goto out;
      }
  r = link_change (to, new_index, -1, NULL, true);
  if (r < 0)
    capsa_make_error (err, -r, "%s: set \"%s\" up", what, new_name);
out:
  free (addrs.v);
  free (before.idx);
  free (after.idx);
  return r < 0 ? -1 : 0;
}

int capsa_netdev_move (const struct oci_linux *l, pid_t init, capsa_error_t *err)
{
  struct nl host = { 0 }, ctr = { 0 };
  char path[64], what[IFNAMSIZ + 64];
  int self_fd = -1, ns_fd = -1, ret = -1;
  size_t i, moved = 0;

  if (l == NULL || l->net_devices_len == 0)
    return 0;
  snprintf (path, sizeof (path), "/proc/%d/ns/net", (int)init);
  self_fd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  ns_fd = open (path, O_RDONLY | O_CLOEXEC);
  if (self_fd < 0 || ns_fd < 0)
    {
      capsa_make_error (err, errno, PFX ": open the network namespaces");
      goto out;
    }
  if (nl_open (&host, err) < 0 || nl_open_in (&ctr, ns_fd, self_fd, err) < 0)
    goto out;
  for (moved = 0; moved < l->net_devices_len; moved++)
    {
      const struct oci_net_device *d = &l->net_devices[moved];
      entry_path (d->host_name, what, sizeof (what));
      if (move_one (&host, &ctr, ns_fd, d->host_name, target_name (d), what, err) < 0)
        break;
    }
  if (moved == l->net_devices_len)
    ret = 0;
  else
    /* create fails: give the devices moved so far back, under their own names (the init and
     * its namespace are about to go, which would destroy a virtual device). */
    for (i = 0; i < moved; i++)
      {
        const struct oci_net_device *d = &l->net_devices[i];
        capsa_error_t tmp = NULL;
        if (strchr (target_name (d), '%') != NULL
            || move_one (&ctr, &host, self_fd, target_name (d), d->host_name, "", &tmp) < 0)
          capsa_warn ("%s: could not move \"%s\" back to the runtime's network namespace",
                      entry_path (d->host_name, what, sizeof (what)), target_name (d));
        capsa_error_release (&tmp);
      }
out:
  nl_close (&host);
  nl_close (&ctr);
  if (self_fd >= 0)
    close (self_fd);
  if (ns_fd >= 0)
    close (ns_fd);
  return ret;
}

int capsa_netdev_validate (const struct oci_linux *l, bool own_netns, bool vm, capsa_error_t *err)
{
  char what[IFNAMSIZ + 64];
  size_t i, k;

  if (l == NULL || l->net_devices_len == 0)
    return 0;
  if (vm)
    return capsa_make_error (err, 0,
                             PFX ": not supported in VM isolation mode (the guest would not "
                                 "see the devices)");
  if (!own_netns)
    return capsa_make_error (err, 0,
                             PFX ": needs a network namespace for the container (a \"network\" "
                                 "entry in .linux.namespaces)");
  for (i = 0; i < l->net_devices_len; i++)
    {
      const struct oci_net_device *d = &l->net_devices[i];
      entry_path (d->host_name, what, sizeof (what));
      if (!valid_ifname (d->host_name, false))
        return capsa_make_error (err, 0, "%s: not a valid network device name", what);
      if (d->name && !valid_ifname (d->name, true))
        return capsa_make_error (err, 0, "%s.name: \"%s\" is not a valid network device name", what,
                                 d->name);
      for (k = 0; k < i; k++)
        if (strchr (target_name (d), '%') == NULL
            && strcmp (target_name (d), target_name (&l->net_devices[k])) == 0)
          return capsa_make_error (err, 0, "%s: two devices would be named \"%s\" in the container",
                                   what, target_name (d));
    }
  {
    struct nl nl = { 0 };
    int r = 0;
    if (nl_open (&nl, err) < 0)
      return -1;
    for (i = 0; i < l->net_devices_len && r >= 0; i++)
      {
        r = link_index (&nl, l->net_devices[i].host_name);
        if (r <= 0)
          capsa_make_error (err, r < 0 ? -r : 0, "%s: no network device \"%s\"%s",
                            entry_path (l->net_devices[i].host_name, what, sizeof (what)),
                            l->net_devices[i].host_name,
                            r < 0 ? "" : " in the runtime's network namespace");
        r = r <= 0 ? -1 : 0;
      }
    nl_close (&nl);
    if (r < 0)
      return -1;
  }
  return 0;
}
