// The C surface of lvsctl: libnl-3, libnl-genl-3 and the kernel's IPVS UAPI header.
// Only the LVSNetlink target imports this module.
#ifndef LVSCTL_CNETLINK_SHIM_H
#define LVSCTL_CNETLINK_SHIM_H

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/errno.h>
#include <netlink/socket.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>

#endif
