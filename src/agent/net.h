/* capsa-agent: the guest's network (net.c). */
#ifndef CAPSA_AGENT_NET_H
#define CAPSA_AGENT_NET_H

#include <stdbool.h>
#include <stddef.h>

/* At boot, for every VM (part of a boot snapshot): `lo` up. */
int agent_net_lo_up (void);
/* A REC_NET_LINK, REC_NET_ADDR or REC_NET_ROUTE payload (kept: freed never, the agent lives as
 * long as the VM). */
void agent_net_record (char tag, char *d);
/* Once the settings are in: the NICs named, addressed and up, the routes added; -1 with a
 * message in `msg`. */
int agent_net_apply (char *msg, size_t msglen);

#endif
