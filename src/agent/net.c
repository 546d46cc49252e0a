/* capsa-agent: the guest's network.  `lo` comes up at boot; the container's interfaces, addresses
 * and routes come from the host (sandbox/net.c) as REC_NET_* records and are applied once all
 * settings arrived, before the workload starts.  Each virtio-net NIC boots with a MAC fixed by
 * its position (the VM's shape, the same in a boot snapshot for every container): the agent finds
 * it by that MAC and gives it the container's name, MAC and MTU.
 *
 * Plain ioctls (SIOCSIF*, SIOCADDRT on AF_INET and AF_INET6 sockets) do all of it: the agent is
 * static and Debian has no static netlink library (libmnl-dev and libnl-3-dev ship none). */
#include "net.h"
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RECS 128

/* linux/ipv6.h's struct in6_ifreq (that header clashes with netinet/in.h) */
struct agent_in6_ifreq
{
  struct in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

static char *links[MAX_RECS], *addrs[MAX_RECS], *routes[MAX_RECS];
static size_t nlinks, naddrs, nroutes;

static int set_flags (int fd, const char *name, short on)
{
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", name);
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return -1;
  ifr.ifr_flags |= on;
  return ioctl (fd, SIOCSIFFLAGS, &ifr);
}

int agent_net_lo_up (void)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;
  if (fd < 0)
    return -1;
  r = set_flags (fd, "lo", IFF_UP);
  close (fd);
  return r;
}

void agent_net_record (char tag, char *d)
{
  char **v = tag == REC_NET_LINK ? links : tag == REC_NET_ADDR ? addrs : routes;
  size_t *n = tag == REC_NET_LINK ? &nlinks : tag == REC_NET_ADDR ? &naddrs : &nroutes;
  if (*n < MAX_RECS)
    v[(*n)++] = d;
  else
    free (d);
}

static int parse_mac (const char *s, unsigned char *m)
{
  unsigned b[6];
  int i;
  if (sscanf (s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    return -1;
  for (i = 0; i < 6; i++)
    m[i] = (unsigned char)b[i];
  return 0;
}

/* The NIC whose MAC is `mac` (the shape MAC of its slot): its name, in `name`. */
static int find_by_mac (int fd, const unsigned char *mac, char *name)
{
  struct if_nameindex *ifs = if_nameindex (), *i;
  int found = -1;
  for (i = ifs; i && i->if_index; i++)
    {
      struct ifreq ifr = { 0 };
      snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", i->if_name);
      if (ioctl (fd, SIOCGIFHWADDR, &ifr) == 0 && memcmp (ifr.ifr_hwaddr.sa_data, mac, 6) == 0)
        {
          snprintf (name, IFNAMSIZ, "%s", i->if_name);
          found = 0;
          break;
        }
    }
  if (ifs)
    if_freenameindex (ifs);
  return found;
}

static void write_sysctl (const char *fmt, const char *name, const char *value)
{
  char path[128];
  int fd;
  snprintf (path, sizeof (path), fmt, name);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      /* (without IPv6 in the guest's kernel there is no such file) */
      if (write (fd, value, strlen (value)) < 0)
        {
        }
      close (fd);
    }
}

/* REC_NET_LINK "SLOT NAME MAC MTU", in two passes: every NIC under a temporary name first, so
 * that the container's names may be the guest's in another order (eth1 <-> eth0). */
static int apply_links (int fd, char *msg, size_t msglen)
{
  size_t i;
  for (i = 0; i < nlinks; i++)
    {
      unsigned slot, mtu;
      char name[IFNAMSIZ], macs[32], cur[IFNAMSIZ], shape[32];
      unsigned char mac[6], smac[6];
      struct ifreq ifr = { 0 };
      if (sscanf (links[i], "%u %15s %31s %u", &slot, name, macs, &mtu) != 4
          || parse_mac (macs, mac) < 0)
        return snprintf (msg, msglen, "bad network record \"%s\"", links[i]), -1;
      snprintf (shape, sizeof (shape), VM_NIC_SHAPE_MAC, slot);
      parse_mac (shape, smac);
      if (find_by_mac (fd, smac, cur) < 0)
        return snprintf (msg, msglen, "network interface \"%s\": no NIC %u (%s) in the VM", name,
                         slot, shape),
               -1;
      snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", cur);
      snprintf (ifr.ifr_newname, sizeof (ifr.ifr_newname), "capsanic%u", slot);
      if (ioctl (fd, SIOCSIFNAME, &ifr) < 0)
        return snprintf (msg, msglen, "rename NIC %u: %s", slot, strerror (errno)), -1;
      memset (&ifr, 0, sizeof (ifr));
      snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "capsanic%u", slot);
      ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
      memcpy (ifr.ifr_hwaddr.sa_data, mac, 6);
      if (ioctl (fd, SIOCSIFHWADDR, &ifr) < 0)
        return snprintf (msg, msglen, "network interface \"%s\": set MAC %s: %s", name, macs,
                         strerror (errno)),
               -1;
      ifr.ifr_mtu = (int)mtu;
      if (ioctl (fd, SIOCSIFMTU, &ifr) < 0)
        return snprintf (msg, msglen, "network interface \"%s\": set MTU %u: %s", name, mtu,
                         strerror (errno)),
               -1;
    }
  for (i = 0; i < nlinks; i++)
    {
      unsigned slot;
      char name[IFNAMSIZ];
      struct ifreq ifr = { 0 };
      sscanf (links[i], "%u %15s", &slot, name);
      snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "capsanic%u", slot);
      snprintf (ifr.ifr_newname, sizeof (ifr.ifr_newname), "%s", name);
      if (ioctl (fd, SIOCSIFNAME, &ifr) < 0)
        return snprintf (msg, msglen, "name network interface \"%s\": %s", name, strerror (errno)),
               -1;
      /* The host checked its addresses already: no duplicate detection, which would leave an
         IPv6 address unusable for a second after the workload starts. */
      write_sysctl ("/proc/sys/net/ipv6/conf/%s/accept_dad", name, "0");
      if (set_flags (fd, name, IFF_UP) < 0)
        return snprintf (msg, msglen, "bring up network interface \"%s\": %s", name,
                         strerror (errno)),
               -1;
    }
  return 0;
}

static void prefix_mask (unsigned prefix, struct sockaddr_in *sin)
{
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl (prefix ? ~0u << (32 - prefix) : 0);
}

/* REC_NET_ADDR "NAME ADDRESS PREFIXLEN"; a second IPv4 address of an interface gets a label. */
static int apply_addr (int fd4, int fd6, const char *rec, char *msg, size_t msglen)
{
  static unsigned labels;
  char name[IFNAMSIZ], text[64];
  unsigned prefix;
  struct in_addr a4;
  struct in6_addr a6;

  if (sscanf (rec, "%15s %63s %u", name, text, &prefix) != 3)
    return snprintf (msg, msglen, "bad network record \"%s\"", rec), -1;
  if (inet_pton (AF_INET6, text, &a6) == 1)
    {
      struct agent_in6_ifreq r = { .addr = a6, .prefixlen = prefix };
      r.ifindex = (int)if_nametoindex (name);
      if (ioctl (fd6, SIOCSIFADDR, &r) < 0 && errno != EEXIST)
        return snprintf (msg, msglen, "network interface \"%s\": add %s/%u: %s", name, text, prefix,
                         strerror (errno)),
               -1;
      return 0;
    }
  if (inet_pton (AF_INET, text, &a4) == 1)
    {
      struct ifreq ifr = { 0 };
      struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
      /* The first IPv4 address of the interface, else an alias. */
      snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", name);
      if (ioctl (fd4, SIOCGIFADDR, &ifr) == 0)
        snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%.10s:%u", name, labels++);
      memset (&ifr.ifr_addr, 0, sizeof (ifr.ifr_addr));
      sin->sin_family = AF_INET;
      sin->sin_addr = a4;
      if (ioctl (fd4, SIOCSIFADDR, &ifr) < 0)
        goto fail;
      prefix_mask (prefix, (struct sockaddr_in *)&ifr.ifr_netmask);
      if (ioctl (fd4, SIOCSIFNETMASK, &ifr) < 0)
        goto fail;
      if (prefix < 31)
        {
          sin = (struct sockaddr_in *)&ifr.ifr_broadaddr;
          sin->sin_family = AF_INET;
          sin->sin_addr.s_addr = a4.s_addr | ~htonl (~0u << (32 - prefix));
          ioctl (fd4, SIOCSIFBRDADDR, &ifr);
        }
      return 0;
    fail:
      return snprintf (msg, msglen, "network interface \"%s\": add %s/%u: %s", name, text, prefix,
                       strerror (errno)),
             -1;
    }
  return snprintf (msg, msglen, "bad address in network record \"%s\"", rec), -1;
}

/* REC_NET_ROUTE "DESTINATION PREFIXLEN GATEWAY|- NAME METRIC" */
static int apply_route (int fd4, int fd6, const char *rec, char *msg, size_t msglen)
{
  char dst[64], gw[64], name[IFNAMSIZ + 1];
  unsigned prefix, metric;
  bool via;

  if (sscanf (rec, "%63s %u %63s %15s %u", dst, &prefix, gw, name, &metric) != 5)
    return snprintf (msg, msglen, "bad network record \"%s\"", rec), -1;
  via = strcmp (gw, "-") != 0;
  if (strchr (dst, ':'))
    {
      struct in6_rtmsg rt = { 0 };
      if (inet_pton (AF_INET6, dst, &rt.rtmsg_dst) != 1
          || (via && inet_pton (AF_INET6, gw, &rt.rtmsg_gateway) != 1))
        return snprintf (msg, msglen, "bad network record \"%s\"", rec), -1;
      rt.rtmsg_dst_len = (unsigned short)prefix;
      rt.rtmsg_metric = metric;
      rt.rtmsg_flags = RTF_UP | (via ? RTF_GATEWAY : 0) | (prefix == 128 ? RTF_HOST : 0);
      rt.rtmsg_ifindex = (int)if_nametoindex (name);
      if (ioctl (fd6, SIOCADDRT, &rt) < 0 && errno != EEXIST)
        goto fail;
      return 0;
    }
  {
    struct rtentry rt;
    struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst,
                       *g = (struct sockaddr_in *)&rt.rt_gateway;
    memset (&rt, 0, sizeof (rt));
    d->sin_family = AF_INET;
    g->sin_family = AF_INET;
    if (inet_pton (AF_INET, dst, &d->sin_addr) != 1
        || (via && inet_pton (AF_INET, gw, &g->sin_addr) != 1))
      return snprintf (msg, msglen, "bad network record \"%s\"", rec), -1;
    prefix_mask (prefix, (struct sockaddr_in *)&rt.rt_genmask);
    rt.rt_flags = RTF_UP | (via ? RTF_GATEWAY : 0) | (prefix == 32 ? RTF_HOST : 0);
    rt.rt_metric = (short)(metric + 1); /* the ioctl's metric is one more than the route's */
    rt.rt_dev = name;
    if (ioctl (fd4, SIOCADDRT, &rt) < 0 && errno != EEXIST)
      goto fail;
    return 0;
  }
fail:
  return snprintf (msg, msglen, "add the route to %s/%u%s%s on \"%s\": %s", dst, prefix,
                   via ? " via " : "", via ? gw : "", name, strerror (errno)),
         -1;
}

int agent_net_apply (char *msg, size_t msglen)
{
  int fd4 = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int fd6 = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  size_t i;
  int r = -1;

  if (nlinks == 0)
    r = 0;
  else if (fd4 < 0)
    snprintf (msg, msglen, "socket: %s", strerror (errno));
  else if (apply_links (fd4, msg, msglen) == 0)
    {
      r = 0;
      for (i = 0; r == 0 && i < naddrs; i++)
        r = apply_addr (fd4, fd6, addrs[i], msg, msglen);
      for (i = 0; r == 0 && i < nroutes; i++)
        r = apply_route (fd4, fd6, routes[i], msg, msglen);
    }
  if (fd4 >= 0)
    close (fd4);
  if (fd6 >= 0)
    close (fd6);
  return r;
}
