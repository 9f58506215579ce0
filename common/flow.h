/*
 * flow.h — the flow: a summary of a packet's headers in host form.
 *
 * Overview
 * ========
 *
 * A "flow" is what the datapath extracts from a packet to look it up in its
 * flow table, and what a megaflow matches against.  On the wire between
 * dpifd and a datapath a flow is a sequence of OVS_KEY_ATTR_* netlink
 * attributes (see common/odp-key.h and linux/openvswitch.h); inside our
 * processes it is a "struct flow", a fixed-size structure that is cheap to
 * hash, compare and mask.
 *
 * A megaflow's mask uses the same structure: a 1 bit in the mask means "this
 * bit of the flow is matched", a 0 bit means "wildcarded".  So masking is a
 * word-by-word AND over the structure (flow_apply_mask()), and two flows
 * match under a mask when their masked images are equal (flow_equal_masked()).
 *
 * Representation rules (they keep masking and hashing well defined):
 *
 *   - Every multi-byte header field is in network byte order (ovs_be*), as
 *     it appears in the packet and in the OVS_KEY_ATTR_* structures.
 *     Metadata that the kernel ABI carries in host order (in_port, priority,
 *     skb_mark, recirc_id, dp_hash) is host order here too.
 *   - Fields that do not apply to a packet are zero: an IPv4 packet has zero
 *     IPv6 fields, a non-TCP packet has zero tcp_flags.
 *   - The structure has no implicit padding (static_assert'ed in flow.c), so
 *     memcmp() and hashing over it are meaningful.
 *   - VLAN: 'vlan_tci' holds the 802.1Q TCI with VLAN_CFI set when the packet
 *     has a tag; zero means untagged.  'dl_type' is then the inner ethertype.
 *   - ARP: nw_src/nw_dst hold the sender/target protocol addresses, nw_proto
 *     the low 8 bits of the opcode, arp_sha/arp_tha the hardware addresses.
 *   - ICMP and ICMPv6: tp_src holds htons(type), tp_dst htons(code).
 *   - IPv6 neighbour discovery: nd_target, and arp_sha/arp_tha hold the
 *     source/target link-layer address options.
 *   - Fragments: nw_frag has FLOW_NW_FRAG_ANY for any fragment and
 *     FLOW_NW_FRAG_LATER for a non-first one.  Later fragments have no L4
 *     fields.
 *   - Frames shorter than an Ethernet header have dl_type FLOW_DL_TYPE_NONE
 *     (0x05ff, as Open vSwitch does) and no other header fields.
 *
 * Thread and process safety: plain data; no hidden state.
 */
#ifndef DPIF_FLOW_H
#define DPIF_FLOW_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

#define ETH_ADDR_LEN 6
struct eth_addr {
    uint8_t ea[ETH_ADDR_LEN];
};

#define VLAN_CFI 0x1000         /* In host order; use htons(VLAN_CFI). */
#define VLAN_VID_MASK 0x0fff
#define VLAN_PCP_MASK 0xe000
#define VLAN_PCP_SHIFT 13

/* A datapath port number that is no port (no input port, no egress
 * tunnel port). */
#define ODP_PORT_NONE UINT32_MAX

#define FLOW_DL_TYPE_NONE 0x5ff /* Host order: frame too short for Ethernet. */

#define FLOW_NW_FRAG_ANY   (1 << 0) /* Any fragment. */
#define FLOW_NW_FRAG_LATER (1 << 1) /* Not the first fragment. */
#define FLOW_NW_FRAG_MASK  (FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER)

/* Tunnel flags (flow_tnl.flags). */
#define FLOW_TNL_F_DONT_FRAGMENT (1 << 0)
#define FLOW_TNL_F_CSUM          (1 << 1)
#define FLOW_TNL_F_KEY           (1 << 2)
#define FLOW_TNL_F_OAM           (1 << 3)
#define FLOW_TNL_F_MASK          0x0f

/* Tunnel metadata.  A flow has tunnel metadata when ip_dst is nonzero. */
struct flow_tnl {
    ovs_be64 tun_id;            /* Tunnel key (VNI/GRE key), network order. */
    ovs_be32 ip_src;            /* Outer IPv4 source. */
    ovs_be32 ip_dst;            /* Outer IPv4 destination. */
    uint16_t flags;             /* FLOW_TNL_F_*. */
    uint8_t ip_tos;             /* Outer TOS. */
    uint8_t ip_ttl;             /* Outer TTL. */
    uint8_t pad[4];             /* Zero. */
};

struct flow {
    /* Metadata (not from the packet bytes). */
    struct flow_tnl tunnel;     /* Tunnel metadata. */
    uint32_t in_port;           /* Datapath input port number. */
    uint32_t priority;          /* skb priority. */
    uint32_t skb_mark;          /* skb mark. */
    uint32_t recirc_id;         /* Recirculation id; 0 for first pass. */
    uint32_t dp_hash;           /* Datapath-computed hash (after HASH). */

    /* L2. */
    struct eth_addr dl_dst;     /* Ethernet destination. */
    struct eth_addr dl_src;     /* Ethernet source. */
    ovs_be16 vlan_tci;          /* 802.1Q TCI | VLAN_CFI, or 0. */
    ovs_be16 dl_type;           /* Ethertype (inner, after a VLAN tag). */

    /* L3. */
    ovs_be32 nw_src;            /* IPv4 source or ARP SPA. */
    ovs_be32 nw_dst;            /* IPv4 destination or ARP TPA. */
    struct in6_addr ipv6_src;   /* IPv6 source. */
    struct in6_addr ipv6_dst;   /* IPv6 destination. */
    struct in6_addr nd_target;  /* IPv6 ND target address. */
    ovs_be32 ipv6_label;        /* IPv6 flow label (low 20 bits). */
    uint8_t nw_proto;           /* IP protocol, or low 8 bits of ARP op. */
    uint8_t nw_tos;             /* IPv4 TOS / IPv6 traffic class (DSCP+ECN). */
    uint8_t nw_ttl;             /* IPv4 TTL / IPv6 hop limit. */
    uint8_t nw_frag;            /* FLOW_NW_FRAG_*. */
    struct eth_addr arp_sha;    /* ARP sender HW address / ND source LLA. */
    struct eth_addr arp_tha;    /* ARP target HW address / ND target LLA. */

    /* L4. */
    ovs_be16 tp_src;            /* TCP/UDP/SCTP source port; ICMP type. */
    ovs_be16 tp_dst;            /* TCP/UDP/SCTP dest port; ICMP code. */
    ovs_be16 tcp_flags;         /* TCP flags (low 12 bits). */
    uint8_t pad[2];             /* Zero; keeps the size a multiple of 8. */
};

/* Number of 64-bit words in a struct flow (masking and hashing unit). */
#define FLOW_U64S (sizeof(struct flow) / sizeof(uint64_t))

/* Writes the masked image of 'flow' under 'mask' into 'dst'
 * (dst = flow & mask).  'dst' may be 'flow'. */
void flow_apply_mask(struct flow *dst, const struct flow *flow,
                     const struct flow *mask);

/* True when 'a' and 'b' are equal in every bit that 'mask' has set. */
bool flow_equal_masked(const struct flow *a, const struct flow *b,
                       const struct flow *mask);

/* Sets every bit of 'mask' (an exact-match mask). */
void flow_mask_exact(struct flow *mask);

/* True when 'a' is at least as specific as 'b': every bit set in 'b' is also
 * set in 'a'.  (The revalidator's rule for keeping an installed megaflow.) */
bool flow_mask_covers(const struct flow *a, const struct flow *b);

/* True if every bit of 'mask' is clear. */
bool flow_mask_is_empty(const struct flow *mask);

/* Hashes 'flow' (all of it) with 'basis'. */
uint32_t flow_hash(const struct flow *flow, uint32_t basis);

/* Hashes the image of 'flow' under 'mask' with 'basis' without writing it out;
 * equal to flow_hash() of flow_apply_mask()'s result. */
uint32_t flow_hash_masked(const struct flow *flow, const struct flow *mask,
                          uint32_t basis);

/* Symmetric 5-tuple hash (addresses, protocol, ports): the same value for
 * both directions of a connection.  Non-IP flows hash their MAC addresses and
 * ethertype. */
uint32_t flow_hash_5tuple(const struct flow *flow, uint32_t basis);

/* True for IPv4 and IPv6 dl_types. */
bool flow_is_ip(const struct flow *flow);

/* Helpers for the byte-order conventions above. */
static inline bool
eth_addr_is_zero(struct eth_addr a)
{
    return !(a.ea[0] | a.ea[1] | a.ea[2] | a.ea[3] | a.ea[4] | a.ea[5]);
}

static inline bool
eth_addr_is_multicast(struct eth_addr a)
{
    return a.ea[0] & 1;
}

static inline bool
eth_addr_equals(struct eth_addr a, struct eth_addr b)
{
    return !__builtin_memcmp(a.ea, b.ea, ETH_ADDR_LEN);
}

#endif /* flow.h */
