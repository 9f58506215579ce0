/*
 * upcall-nl.h — parsing the openvswitch kernel module's upcall messages.
 *
 * Overview
 * ========
 *
 * The kernel datapath sends a packet to userspace as a generic netlink
 * message of the "ovs_packet" family on the netlink socket whose port id
 * the datapath chose for it (per CPU or per vport, privd/dpif-netlink.h):
 *
 *     nlmsghdr (type = family id) | genlmsghdr (cmd) | ovs_header |
 *     OVS_PACKET_ATTR_* stream
 *
 * with cmd OVS_PACKET_CMD_MISS (no flow matched) or OVS_PACKET_CMD_ACTION
 * (a USERSPACE action).  privd creates those sockets, but the messages are
 * untrusted packet data: dpif-handlerd reads and parses them itself with
 * upcall_nl_parse(), so privd never parses a packet from the kernel path.
 *
 * The parse is strict, as every netlink parse in dpifd (common/nl.h): the
 * message must fill its nlmsg_len exactly with whole attributes, be of the
 * given family and an upcall command; every attribute type the kernel may
 * send has a policy (PACKET: at least an Ethernet header; KEY: a nested
 * stream that is well formed, with a 4-byte OVS_KEY_ATTR_IN_PORT;
 * USERDATA, ACTIONS, EGRESS_TUN_KEY, MRU, LEN, HASH: optional, of their
 * sizes); anything else, a duplicate, or trailing garbage is refused with
 * a reason.  The key's contents are left to the flow-key codec
 * (common/odp-key.h) of the consumer.
 *
 * Ownership: nothing is copied; the pointers in struct upcall_nl point
 * into the caller's message, which must be 4-byte aligned and outlive them.
 * Thread-safe (no state).
 */
#ifndef DPIF_UPCALL_NL_H
#define DPIF_UPCALL_NL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* The kind of an upcall: the values of enum dpif_upcall_type and of the
 * UpcallType protobuf enum. */
enum upcall_nl_type {
    UPCALL_NL_MISS = 1,         /* OVS_PACKET_CMD_MISS. */
    UPCALL_NL_ACTION = 2,       /* OVS_PACKET_CMD_ACTION. */
};

/* One parsed upcall; every pointer borrows from the message. */
struct upcall_nl {
    enum upcall_nl_type type;
    int dp_ifindex;             /* Datapath, from the ovs_header. */
    uint32_t in_port;           /* From the key's OVS_KEY_ATTR_IN_PORT. */
    const void *packet;         /* OVS_PACKET_ATTR_PACKET: the frame. */
    size_t packet_len;
    const void *key;            /* OVS_PACKET_ATTR_KEY: OVS_KEY_ATTR_*. */
    size_t key_len;
    const void *userdata;       /* OVS_PACKET_ATTR_USERDATA, or NULL. */
    size_t userdata_len;
    bool has_userdata;          /* USERDATA present (may be empty). */
    uint32_t orig_len;          /* OVS_PACKET_ATTR_LEN (the frame's length
                                 * before truncation), or 0. */
};

/* Parses the netlink message 'msg'/'len' (as read from an upcall socket:
 * one whole message, 4-byte aligned; 'len' may exceed its nlmsg_len) of
 * the "ovs_packet" family 'packet_family' into '*up'.  Returns 0, or
 * EINVAL with the reason in 'eb'. */
int upcall_nl_parse(const void *msg, size_t len, uint16_t packet_family,
                    struct upcall_nl *up, struct errbuf *eb);

#endif /* upcall-nl.h */
