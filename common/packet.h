/*
 * packet.h — parsing Ethernet frames into flows, and composing frames.
 *
 * Overview
 * ========
 *
 * packet_parse() is the one place where dpifd turns untrusted bytes from a
 * port (or a frame in an upcall) into a "struct flow" (common/flow.h).  It
 * extracts L2 (Ethernet, one 802.1Q tag), L3 (IPv4 with options and
 * fragments, IPv6 with extension headers and fragments, ARP) and L4 (TCP,
 * UDP, SCTP, ICMP, ICMPv6 with neighbour discovery) fields, and records the
 * offsets of each layer so that actions can rewrite headers in place.
 *
 * Safety rules, the reasons this module exists:
 *
 *   - It never reads past 'size'.  It trusts no length field inside the
 *     frame: IPv4 total length and IHL, IPv6 payload length and extension
 *     header lengths are checked against what is really there.
 *   - Padded frames (Ethernet minimum size padding after a short IP packet)
 *     are parsed by the IP length, not the frame length: the padding is not
 *     L4 payload and does not change the flow.  (Open vSwitch once derived
 *     a too-wide megaflow from padded packets.)
 *   - A truncated header stops parsing at the last complete layer: the
 *     fields of the layers that were complete are set, the rest stay zero,
 *     and 'parse_flags' says what could not be parsed and why.  A truncated
 *     packet therefore never yields fields it does not have.
 *
 * packet_compose() does the reverse for tests and "dpifctl inject --flow":
 * it builds a well-formed frame (valid lengths and checksums) whose
 * packet_parse() gives back the same flow.
 *
 * Ownership: no allocation in packet_parse(); packet_compose() appends to
 * the caller's struct buf.
 */
#ifndef DPIF_PACKET_H
#define DPIF_PACKET_H 1

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/flow.h"

#define ETH_HEADER_LEN 14
#define VLAN_HEADER_LEN 4

/* What packet_parse() could not parse (packet_layout.parse_flags). */
enum packet_parse_flag {
    PKT_TRUNC_L2 = 1 << 0,      /* Shorter than an Ethernet header. */
    PKT_TRUNC_VLAN = 1 << 1,    /* 802.1Q tag cut short. */
    PKT_TRUNC_L3 = 1 << 2,      /* IPv4/IPv6/ARP header cut short. */
    PKT_BAD_L3 = 1 << 3,        /* Inconsistent L3 (IHL < 5, version, total
                                 * length < header, bad ARP sizes...). */
    PKT_TRUNC_L4 = 1 << 4,      /* L4 header cut short. */
    PKT_BAD_L4 = 1 << 5,        /* Inconsistent L4 (TCP data offset < 5,
                                 * bad ND options...). */
    PKT_TRUNC_EXT = 1 << 6,     /* IPv6 extension header cut short. */
    PKT_PADDED = 1 << 7,        /* Frame longer than its L3 length (not an
                                 * error: the padding was ignored). */
};

/* Where each layer starts in the frame.  UINT16_MAX marks an absent layer. */
struct packet_layout {
    uint16_t l2;                /* Ethernet header: always 0. */
    uint16_t l2_5;              /* 802.1Q tag, or UINT16_MAX. */
    uint16_t l3;                /* IPv4/IPv6/ARP header, or UINT16_MAX. */
    uint16_t l4;                /* TCP/UDP/SCTP/ICMP header, or UINT16_MAX. */
    uint16_t l7;                /* L4 payload, or UINT16_MAX. */
    uint16_t l3_end;            /* End of the IP packet (its own length),
                                 * which is the frame size unless padded. */
    uint32_t parse_flags;       /* PKT_* flags. */
};

#define PACKET_OFS_NONE UINT16_MAX

/* Parses the frame 'data'/'size' received on 'in_port' into 'flow' (which is
 * fully overwritten; metadata other than in_port is zero) and, if 'layout'
 * is nonnull, the layer offsets.  Frames larger than 65535 bytes are parsed
 * as far as 65535.  Never fails: what could not be parsed is reported in
 * layout->parse_flags. */
void packet_parse(const void *data, size_t size, uint32_t in_port,
                  struct flow *flow, struct packet_layout *layout);

/* Appends to 'out' a frame for 'flow' with 'payload_len' bytes of L4 payload
 * (a fixed pattern), valid IPv4/L4 checksums and lengths.  Metadata fields
 * are ignored.  Returns EINVAL (with a reason) when the flow cannot be a real
 * packet, e.g. a later fragment with L4 ports or an unknown combination. */
int packet_compose(struct buf *out, const struct flow *flow,
                   size_t payload_len, struct errbuf *eb);

/* Describes 'flags' as text ("truncated L4, padded") into 'buf'. */
const char *packet_parse_flags_to_string(uint32_t flags, char *buf,
                                         size_t size);

#endif /* packet.h */
