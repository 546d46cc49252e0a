/* capsa: VM isolation mode: networking, the host's half.  The guest is the container's network
 * endpoint: each ethernet-like interface of the container's network namespace (a veth from the
 * engine's network plugin, a macvlan...) gets a virtio-net device in the guest, with that
 * interface's name, MAC address, MTU, addresses and routes.  On the host a tap device in the same
 * namespace carries the NIC's frames, and tc ingress redirects (u32 match-all + mirred) pass
 * every frame arriving on the interface to the tap and every frame from the tap out of the
 * interface: the interface stays where the engine put it and the guest answers for it.
 *
 * All of it is done here, by the container's init in the container's network namespace, before
 * the hypervisor runs: QEMU only gets the taps as open descriptors and needs no network
 * capability (nor /dev/net/tun in its view).
 *
 * Shape and settings, as for boot snapshots (snapshot.c): the hypervisor's argv holds only the
 * number of NICs and a MAC address fixed by their position; the container's MACs, names, MTUs,
 * addresses and routes go to the agent as records with the process settings, and the agent
 * applies them (src/agent/net.c).  A VM restored from a snapshot of that shape thus gets this
 * container's network, not the saved one's.
 *
 * Without a network namespace of the container's own (the host's network), the guest gets
 * QEMU's user-mode networking (slirp): outbound connections only, from 10.0.2.15 through the
 * gateway 10.0.2.2 (which also stands for the host's 127.0.0.1).
 *
 * netlink through libmnl: the host side reads three dumps (links, addresses, routes) and makes
 * qdiscs, filters with nested actions and link changes; libmnl gives the message building,
 * attribute parsing and ack handling without libnl-3's object caches, which this one-shot reader
 * does not need (libnl-route would also pull three shared libraries into every capsa start). */
#include <config.h>
#include "vm.h"
#include "../../agent/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* The tc filter priority of our redirects: a stale one (left by an init that was killed) is
 * replaced at the next start in the same namespace. */
#define REDIRECT_PRIO 0xca95
#define NET_MAX_LINKS 64

struct link
{
  int index;
  unsigned flags, type, mtu;
  char name[IFNAMSIZ], kind[32];
  unsigned char mac[6];
  bool has_mac;
};

static struct capsa_vm_net *cur; /* for capsa_vm_net_send and the teardown */
static struct mnl_socket *nl;
static unsigned seq;

/* ---- records for the agent ---- */

static void add_rec (struct capsa_vm_net *net, char tag, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static void add_rec (struct capsa_vm_net *net, char tag, const char *fmt, ...)
{
  va_list ap;
  char *s;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  net->recs = realloc (net->recs, (net->nrecs + 1) * sizeof (*net->recs));
  if (net->recs == NULL)
    abort ();
  net->recs[net->nrecs].tag = tag;
  net->recs[net->nrecs].data = s;
  net->nrecs++;
}

int capsa_vm_net_send (int fd)
{
  size_t i;
  int r = 0;
  if (cur == NULL)
    return 0;
  for (i = 0; i < cur->nrecs; i++)
    r |= capsa_vm_send_rec (fd, cur->recs[i].tag, cur->recs[i].data, strlen (cur->recs[i].data));
  return r;
}

/* ---- netlink ---- */

/* A dump of `type` for `family`; `cb` sees each message. */
static int nl_dump (int type, int family, size_t hdrlen, mnl_cb_t cb, void *data)
{
  char buf[MNL_SOCKET_BUFFER_SIZE * 4];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  unsigned char *hdr;
  unsigned portid = mnl_socket_get_portid (nl);
  ssize_t n;
  int r;

  nlh->nlmsg_type = (uint16_t)type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++seq;
  hdr = mnl_nlmsg_put_extra_header (nlh, hdrlen);
  hdr[0] = (unsigned char)family; /* ifinfomsg, ifaddrmsg, rtmsg: the family comes first */
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    return -1;
  while ((n = mnl_socket_recvfrom (nl, buf, sizeof (buf))) > 0)
    {
      r = mnl_cb_run (buf, (size_t)n, seq, portid, cb, data);
      if (r <= MNL_CB_STOP)
        return r < 0 ? -1 : 0;
    }
  return n < 0 ? -1 : 0;
}

/* Send one request and wait for its ack; -1 with errno from the kernel. */
static int nl_talk (struct nlmsghdr *nlh)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  unsigned portid = mnl_socket_get_portid (nl);
  ssize_t n;

  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++seq;
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    return -1;
  n = mnl_socket_recvfrom (nl, buf, sizeof (buf));
  if (n < 0)
    return -1;
  return mnl_cb_run (buf, (size_t)n, seq, portid, NULL, NULL) < 0 ? -1 : 0;
}

static int attr_cb (const struct nlattr *a, void *data)
{
  const struct nlattr **tb = data;
  int t = mnl_attr_get_type (a);
  /* Every table below is sized for the largest of IFLA_MAX, IFA_MAX, RTA_MAX. */
  if (t >= 0 && t <= IFLA_MAX)
    tb[t] = a;
  return MNL_CB_OK;
}

struct links
{
  struct link v[NET_MAX_LINKS];
  size_t n;
};

static int link_cb (const struct nlmsghdr *nlh, void *data)
{
  struct links *ls = data;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
  const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
  struct link *l;

  if (ls->n == NET_MAX_LINKS)
    return MNL_CB_OK;
  l = &ls->v[ls->n++];
  memset (l, 0, sizeof (*l));
  l->index = ifi->ifi_index;
  l->flags = ifi->ifi_flags;
  l->type = ifi->ifi_type;
  mnl_attr_parse (nlh, sizeof (*ifi), attr_cb, tb);
  if (tb[IFLA_IFNAME])
    snprintf (l->name, sizeof (l->name), "%s", mnl_attr_get_str (tb[IFLA_IFNAME]));
  if (tb[IFLA_MTU])
    l->mtu = mnl_attr_get_u32 (tb[IFLA_MTU]);
  if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len (tb[IFLA_ADDRESS]) == 6)
    {
      memcpy (l->mac, mnl_attr_get_payload (tb[IFLA_ADDRESS]), 6);
      l->has_mac = true;
    }
  if (tb[IFLA_LINKINFO])
    {
      const struct nlattr *a;
      mnl_attr_for_each_nested (a, tb[IFLA_LINKINFO]) if (mnl_attr_get_type (a) == IFLA_INFO_KIND)
        snprintf (l->kind, sizeof (l->kind), "%s", mnl_attr_get_str (a));
    }
  return MNL_CB_OK;
}

static int nic_of (const struct capsa_vm_net *net, int index)
{
  size_t i;
  for (i = 0; i < net->n; i++)
    if (net->nics[i].ifindex == index)
      return (int)i;
  return -1;
}

static int addr_cb (const struct nlmsghdr *nlh, void *data)
{
  struct capsa_vm_net *net = data;
  const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload (nlh);
  const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
  const struct nlattr *a;
  char text[INET6_ADDRSTRLEN];
  int i = nic_of (net, (int)ifa->ifa_index);

  if (i < 0 || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
    return MNL_CB_OK;
  /* IPv6 link-local addresses: the guest makes its own from the same MAC. */
  if (ifa->ifa_family == AF_INET6 && ifa->ifa_scope == RT_SCOPE_LINK)
    return MNL_CB_OK;
  mnl_attr_parse (nlh, sizeof (*ifa), attr_cb, tb);
  a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (a == NULL
      || inet_ntop (ifa->ifa_family, mnl_attr_get_payload (a), text, sizeof (text)) == NULL)
    return MNL_CB_OK;
  add_rec (net, REC_NET_ADDR, "%s %s %u", net->nics[i].name, text, ifa->ifa_prefixlen);
  return MNL_CB_OK;
}

static int route_cb (const struct nlmsghdr *nlh, void *data)
{
  struct capsa_vm_net *net = data;
  const struct rtmsg *rt = mnl_nlmsg_get_payload (nlh);
  const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
  char dst[INET6_ADDRSTRLEN] = "", gw[INET6_ADDRSTRLEN] = "-";
  unsigned table = rt->rtm_table;
  int i;

  if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6)
    return MNL_CB_OK;
  mnl_attr_parse (nlh, sizeof (*rt), attr_cb, tb);
  if (tb[RTA_TABLE])
    table = mnl_attr_get_u32 (tb[RTA_TABLE]);
  /* The kernel's own routes (the prefixes of the addresses, IPv6's fe80::/64) come back in the
     guest with the addresses. */
  if (table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST || rt->rtm_protocol == RTPROT_KERNEL
      || tb[RTA_OIF] == NULL)
    return MNL_CB_OK;
  i = nic_of (net, (int)mnl_attr_get_u32 (tb[RTA_OIF]));
  if (i < 0)
    return MNL_CB_OK;
  if (tb[RTA_DST])
    inet_ntop (rt->rtm_family, mnl_attr_get_payload (tb[RTA_DST]), dst, sizeof (dst));
  else
    snprintf (dst, sizeof (dst), "%s", rt->rtm_family == AF_INET ? "0.0.0.0" : "::");
  if (tb[RTA_GATEWAY])
    inet_ntop (rt->rtm_family, mnl_attr_get_payload (tb[RTA_GATEWAY]), gw, sizeof (gw));
  add_rec (net, REC_NET_ROUTE, "%s %u %s %s %u", dst, rt->rtm_dst_len, gw, net->nics[i].name,
           tb[RTA_PRIORITY] ? mnl_attr_get_u32 (tb[RTA_PRIORITY]) : 0);
  return MNL_CB_OK;
}

/* ---- the taps and the redirects ---- */

/* The tap device of `nic`, made on the descriptor of /dev/net/tun opened at create. */
static int make_tap (struct capsa_vm_nic *nic, capsa_error_t *err)
{
  struct ifreq ifr = { 0 };
  /* With a virtio-net header: QEMU passes the guest's checksum and segmentation offloads on. */
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "capsatap%%d");
  if (ioctl (nic->tap_fd, TUNSETIFF, &ifr) < 0)
    return capsa_make_error (err, errno, "VM networking: create a tap device for \"%s\"",
                             nic->name);
  nic->tap_ifindex = (int)if_nametoindex (ifr.ifr_name);
  if (nic->tap_ifindex == 0)
    return capsa_make_error (err, errno, "VM networking: tap device \"%s\"", ifr.ifr_name);
  return 0;
}

/* The tap up, with the interface's MTU. */
static int tap_up (const struct capsa_vm_nic *nic)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifi;

  nlh->nlmsg_type = RTM_NEWLINK;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof (*ifi));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = nic->tap_ifindex;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_u32 (nlh, IFLA_MTU, nic->mtu);
  return nl_talk (nlh);
}

/* An ingress qdisc on `ifindex` (RTM_NEWQDISC) or its removal (RTM_DELQDISC).  Adding sets
 * *made when it was not there before (then it is ours to remove). */
static int ingress_qdisc (int type, int ifindex, bool *made)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct tcmsg *t;

  nlh->nlmsg_type = (uint16_t)type;
  if (type == RTM_NEWQDISC)
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  t = mnl_nlmsg_put_extra_header (nlh, sizeof (*t));
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = ifindex;
  t->tcm_handle = TC_H_MAKE (TC_H_INGRESS, 0);
  t->tcm_parent = TC_H_INGRESS;
  mnl_attr_put_strz (nlh, TCA_KIND, "ingress");
  if (nl_talk (nlh) == 0)
    {
      if (made)
        *made = true;
      return 0;
    }
  return type == RTM_NEWQDISC && errno == EEXIST ? 0 : -1;
}

/* Remove our redirect from `ifindex`'s ingress (missing: fine). */
static void redirect_remove (int ifindex)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct tcmsg *t;

  nlh->nlmsg_type = RTM_DELTFILTER;
  t = mnl_nlmsg_put_extra_header (nlh, sizeof (*t));
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = ifindex;
  t->tcm_parent = TC_H_MAKE (TC_H_INGRESS, 0);
  t->tcm_info = TC_H_MAKE ((uint32_t)REDIRECT_PRIO << 16, htons (ETH_P_ALL));
  nl_talk (nlh);
}

/* Every frame arriving on `from` leaves through `to`: a u32 filter that matches all (one key,
 * mask 0) with a mirred egress redirect. */
static int redirect (int from, int to)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct tcmsg *t;
  struct nlattr *opts, *acts, *act, *aopts;
  struct
  {
    struct tc_u32_sel sel;
    struct tc_u32_key key;
  } sel;
  struct tc_mirred m;

  memset (&sel, 0, sizeof (sel));
  sel.sel.flags = TC_U32_TERMINAL;
  sel.sel.nkeys = 1;
  memset (&m, 0, sizeof (m));
  m.action = TC_ACT_STOLEN;
  m.eaction = TCA_EGRESS_REDIR;
  m.ifindex = (uint32_t)to;

  nlh->nlmsg_type = RTM_NEWTFILTER;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  t = mnl_nlmsg_put_extra_header (nlh, sizeof (*t));
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = from;
  t->tcm_parent = TC_H_MAKE (TC_H_INGRESS, 0);
  t->tcm_info = TC_H_MAKE ((uint32_t)REDIRECT_PRIO << 16, htons (ETH_P_ALL));
  mnl_attr_put_strz (nlh, TCA_KIND, "u32");
  opts = mnl_attr_nest_start (nlh, TCA_OPTIONS);
  mnl_attr_put (nlh, TCA_U32_SEL, sizeof (sel), &sel);
  acts = mnl_attr_nest_start (nlh, TCA_U32_ACT);
  act = mnl_attr_nest_start (nlh, 1);
  mnl_attr_put_strz (nlh, TCA_ACT_KIND, "mirred");
  aopts = mnl_attr_nest_start (nlh, TCA_ACT_OPTIONS);
  mnl_attr_put (nlh, TCA_MIRRED_PARMS, sizeof (m), &m);
  mnl_attr_nest_end (nlh, aopts);
  mnl_attr_nest_end (nlh, act);
  mnl_attr_nest_end (nlh, acts);
  mnl_attr_nest_end (nlh, opts);
  return nl_talk (nlh);
}

/* ---- the steps ---- */

static bool has_netns (const struct oci_config *c)
{
  size_t i;
  if (c->linux_ == NULL)
    return false;
  for (i = 0; i < c->linux_->namespaces_len; i++)
    if (c->linux_->namespaces[i].type && strcmp (c->linux_->namespaces[i].type, "network") == 0)
      return true;
  return false;
}

/* The interfaces to connect: those up, but `lo`.  Anything else than an ethernet device with a
 * MAC address (or a tap of another program's) cannot be. */
static int choose_nics (struct capsa_vm_net *net, const struct links *ls, capsa_error_t *err)
{
  size_t i;
  for (i = 0; i < ls->n; i++)
    {
      const struct link *l = &ls->v[i];
      struct capsa_vm_nic *nic;
      if ((l->flags & IFF_LOOPBACK) || !(l->flags & IFF_UP))
        continue;
      if (l->type != ARPHRD_ETHER || !l->has_mac || strcmp (l->kind, "tun") == 0)
        {
          char what[48];
          if (l->kind[0])
            snprintf (what, sizeof (what), "%s", l->kind);
          else
            snprintf (what, sizeof (what), "link type %u", l->type);
          return capsa_make_error (
            err, 0,
            "VM networking: interface \"%s\" (%s) of the container's network "
            "namespace cannot be connected to the VM: only ethernet-like "
            "interfaces (veth, macvlan...) can",
            l->name, what);
        }
      if (net->n == VM_NET_MAX_NICS)
        return capsa_make_error (err, 0,
                                 "VM networking: more than %d interfaces in the container's "
                                 "network namespace",
                                 VM_NET_MAX_NICS);
      nic = &net->nics[net->n++];
      memset (nic, 0, sizeof (*nic));
      nic->ifindex = l->index;
      nic->mtu = l->mtu;
      nic->tap_fd = -1;
      memcpy (nic->mac, l->mac, 6);
      snprintf (nic->name, sizeof (nic->name), "%s", l->name);
    }
  return 0;
}

static int connect_nic (struct capsa_vm_nic *nic, capsa_error_t *err)
{
  if (make_tap (nic, err) < 0)
    return -1;
  if (tap_up (nic) < 0)
    return capsa_make_error (err, errno, "VM networking: bring up the tap for \"%s\"", nic->name);
  redirect_remove (nic->ifindex);
  if (ingress_qdisc (RTM_NEWQDISC, nic->ifindex, &nic->made_qdisc) < 0
      || ingress_qdisc (RTM_NEWQDISC, nic->tap_ifindex, NULL) < 0)
    return capsa_make_error (err, errno, "VM networking: add an ingress qdisc for \"%s\"",
                             nic->name);
  nic->redirected = true;
  if (redirect (nic->ifindex, nic->tap_ifindex) < 0
      || redirect (nic->tap_ifindex, nic->ifindex) < 0)
    return capsa_make_error (
      err, errno, "VM networking: redirect \"%s\" to its tap (tc u32 mirred)", nic->name);
  return 0;
}

int capsa_vm_net_connect (struct capsa_vm_net *net, capsa_error_t *err)
{
  size_t i;
  if (net->connected)
    return 0;
  for (i = 0; i < net->n; i++)
    if (connect_nic (&net->nics[i], err) < 0)
      {
        capsa_vm_net_teardown (net);
        return -1;
      }
  net->connected = true;
  return 0;
}

/* The interface as it was: our filter (or the qdisc we added) removed; the taps go with their
 * descriptors. */
void capsa_vm_net_teardown (struct capsa_vm_net *net)
{
  size_t i;
  for (i = 0; i < net->n; i++)
    {
      struct capsa_vm_nic *nic = &net->nics[i];
      if (nl && nic->made_qdisc)
        ingress_qdisc (RTM_DELQDISC, nic->ifindex, NULL);
      else if (nl && nic->redirected)
        redirect_remove (nic->ifindex);
      nic->made_qdisc = nic->redirected = false;
      if (nic->tap_fd >= 0)
        close (nic->tap_fd);
      nic->tap_fd = -1;
    }
}

int capsa_vm_net_prepare (const struct oci_config *c, struct capsa_vm_net *net, capsa_error_t *err)
{
  struct links *ls = NULL;
  size_t i;
  char mac[18];

  memset (net, 0, sizeof (*net));
  net->nl_fd = -1;
  cur = net;
  if (!has_netns (c))
    {
      /* The host's network: QEMU's user-mode stack, as slirp's defaults have it. */
      net->user = true;
      add_rec (net, REC_NET_LINK, "0 eth0 52:54:00:12:34:56 1500");
      add_rec (net, REC_NET_ADDR, "eth0 10.0.2.15 24");
      add_rec (net, REC_NET_ROUTE, "0.0.0.0 0 10.0.2.2 eth0 0");
      return 0;
    }
  nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == NULL || mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return capsa_make_error (err, errno, "VM networking: netlink socket");
  net->nl_fd = mnl_socket_get_fd (nl);
  ls = calloc (1, sizeof (*ls));
  if (ls == NULL)
    return capsa_make_error (err, errno, "VM networking");
  if (nl_dump (RTM_GETLINK, AF_UNSPEC, sizeof (struct ifinfomsg), link_cb, ls) < 0)
    {
      free (ls);
      return capsa_make_error (err, errno, "VM networking: list the network interfaces");
    }
  if (choose_nics (net, ls, err) < 0)
    {
      free (ls);
      return -1;
    }
  free (ls);
  for (i = 0; i < net->n; i++)
    {
      const unsigned char *m = net->nics[i].mac;
      snprintf (mac, sizeof (mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
      add_rec (net, REC_NET_LINK, "%zu %s %s %u", i, net->nics[i].name, mac, net->nics[i].mtu);
    }
  if (net->n == 0)
    return 0;
  if (nl_dump (RTM_GETADDR, AF_UNSPEC, sizeof (struct ifaddrmsg), addr_cb, net) < 0
      || nl_dump (RTM_GETROUTE, AF_UNSPEC, sizeof (struct rtmsg), route_cb, net) < 0)
    return capsa_make_error (err, errno, "VM networking: read the addresses and routes");
  /* The taps are made at start (capsa_vm_net_connect), where the hypervisor runs: a container
     that is never started leaves nothing behind.  /dev/net/tun is opened now, before the VMM's
     view hides the host's /dev. */
  for (i = 0; i < net->n; i++)
    {
      net->nics[i].tap_fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
      if (net->nics[i].tap_fd < 0)
        return capsa_make_error (err, errno, "VM networking: open /dev/net/tun");
    }
  return 0;
}
