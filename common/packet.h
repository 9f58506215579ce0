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
 * What is parsed, layer by layer
 * ==============================
 *
 * L2.  A frame shorter than 14 bytes has dl_type FLOW_DL_TYPE_NONE and no
 * other header field (PKT_TRUNC_L2).  One 802.1Q tag (TPID 0x8100) is
 * parsed into vlan_tci; an 802.1ad TPID (0x88a8) is deliberately *not* a
 * tag here: the flow has room for one TCI and no TPID, so 0x88a8 stays an
 * ordinary ethertype with no L3, which keeps parse and compose exact
 * inverses.  A 0x8100 ethertype with fewer than 4 bytes after it leaves
 * dl_type 0x8100 and vlan_tci 0 (PKT_TRUNC_VLAN), as Open vSwitch does.  An
 * ethertype below 0x600 is an 802.3 length: the frame is 802.2 LLC and gets
 * dl_type FLOW_DL_TYPE_NONE, unless it is LLC/SNAP (aa aa 03, OUI 00 00 00)
 * whose SNAP type is at least 0x600, which then is the dl_type and is
 * parsed like an Ethernet II frame.  Other ethertypes get no L3 fields.
 *
 * IPv4.  Version 4, IHL of at least 5 and total length of at least the
 * header are required (else PKT_BAD_L3 and no L3 fields); a header cut short
 * gives PKT_TRUNC_L3 and no L3 fields.  Options are skipped.  When the frame
 * holds less than the total length, the L3 fields are set but nothing after
 * the IP header is parsed (PKT_TRUNC_IP): a packet known to be cut short
 * has no trustworthy L4, the choice Open vSwitch makes too.  Bytes beyond
 * the total length are padding (PKT_PADDED).  MF or a nonzero offset sets
 * FLOW_NW_FRAG_ANY; a nonzero offset also FLOW_NW_FRAG_LATER, and such a
 * fragment has no L4.
 *
 * IPv6.  The payload length bounds the packet as IPv4's total length does
 * (PKT_TRUNC_IP, PKT_PADDED).  Hop-by-hop, routing and destination options
 * headers (8-byte units) and AH (4-byte units) are skipped; any fragment
 * header sets FLOW_NW_FRAG_ANY and, with a nonzero offset, also
 * FLOW_NW_FRAG_LATER, after which parsing stops with nw_proto the fragment
 * header's next header.  ESP, "no next header" and anything else end the
 * chain and become nw_proto.  An extension header cut short (by the frame
 * or by the payload length) gives PKT_TRUNC_EXT: the fixed header's fields
 * (addresses, label, traffic class, hop limit) are set, nw_proto and
 * nw_frag are not, since the chain was not followed to its end.
 *
 * ARP and RARP.  Only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6,
 * plen 4) is parsed; other sizes give PKT_BAD_L3 and no ARP fields.
 * nw_proto is the opcode when it is at most 0xff, else 0.  Ethernet pads
 * ARP to 60 bytes, so PKT_PADDED is common and harmless here.
 *
 * L4.  TCP (data offset at least 5 and within the packet, else PKT_BAD_L4
 * or PKT_TRUNC_L4), UDP, SCTP, ICMP (IPv4 protocol 1) and ICMPv6 (IPv6 next
 * header 58) need their fixed header (20, 8, 12, 8, 8 bytes) within the IP
 * packet, else PKT_TRUNC_L4 and no L4 fields.  tcp_flags is the low 12 bits
 * of the flags word.  ICMP type and code go into tp_src and tp_dst.
 * Neighbour solicitations (135) and advertisements (136) with code 0 also
 * give nd_target and, from source/target link-layer address options of
 * length 1, arp_sha/arp_tha.  An option of length 0, an option overrunning
 * the packet or a repeated address option makes the ND message malformed:
 * PKT_BAD_L4, ND fields zero, type and code kept (Open vSwitch's rule).  A
 * target cut short gives PKT_TRUNC_L4 and no ND fields.  Fewer than 8
 * trailing bytes after the options are ignored.
 *
 * packet_compose() does the reverse for tests and "dpifctl inject --flow":
 * it builds a well-formed frame (valid lengths and checksums) whose
 * packet_parse() gives back the same flow.  Every flow that packet_parse()
 * returns with no flag other than PKT_PADDED can be composed again.
 *
 * Ownership and thread safety: no allocation in packet_parse();
 * packet_compose() appends to the caller's struct buf.  Both are reentrant;
 * the only shared state are the anomaly counters packet_parse_truncated and
 * packet_parse_malformed (common/counters.h).
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
    PKT_TRUNC_L4 = 1 << 4,      /* L4 header (or ND target) cut short. */
    PKT_BAD_L4 = 1 << 5,        /* Inconsistent L4 (TCP data offset < 5,
                                 * bad ND options...). */
    PKT_TRUNC_EXT = 1 << 6,     /* IPv6 extension header cut short. */
    PKT_PADDED = 1 << 7,        /* Frame longer than its L3 length (not an
                                 * error: the padding was ignored). */
    PKT_TRUNC_IP = 1 << 8,      /* IP packet shorter than its total/payload
                                 * length: L3 fields set, L4 not parsed. */
};

/* Where each layer starts in the frame.  PACKET_OFS_NONE marks an absent
 * layer, and a layer is present exactly when its fields were extracted. */
struct packet_layout {
    uint16_t l2;                /* Ethernet header: always 0. */
    uint16_t l2_5;              /* 802.1Q tag (its TPID), or NONE. */
    uint16_t l3;                /* IPv4/IPv6/ARP header, or NONE. */
    uint16_t l4;                /* IP payload after the IPv6 extension
                                 * headers, whatever its protocol; NONE for
                                 * a later fragment or when L3 stopped
                                 * short (PKT_TRUNC_IP/EXT). */
    uint16_t l7;                /* After a parsed TCP/UDP/SCTP/ICMP/ICMPv6
                                 * header (the ND body counts as payload),
                                 * or NONE. */
    uint16_t l3_end;            /* End of the IP packet or ARP message (its
                                 * own length), which is the frame size
                                 * unless padded; the frame size for other
                                 * frames and when L3 was not parsed. */
    uint32_t parse_flags;       /* PKT_* flags. */
};

#define PACKET_OFS_NONE UINT16_MAX

/* packet_parse() looks at no more than this many bytes of a frame, so that
 * every offset, even an empty payload at the very end, differs from
 * PACKET_OFS_NONE. */
#define PACKET_PARSE_MAX (UINT16_MAX - 1)

/* Parses the frame 'data'/'size' received on 'in_port' into 'flow' (which is
 * fully overwritten; metadata other than in_port is zero) and, if 'layout'
 * is nonnull, the layer offsets.  Frames larger than PACKET_PARSE_MAX bytes
 * are parsed as far as PACKET_PARSE_MAX.  Never fails: what could not be
 * parsed is reported in layout->parse_flags. */
void packet_parse(const void *data, size_t size, uint32_t in_port,
                  struct flow *flow, struct packet_layout *layout);

/* Appends to 'out' a frame for 'flow' with 'payload_len' bytes of L4 payload
 * (a fixed pattern), valid IPv4/L4 checksums (SCTP: CRC-32C) and lengths.
 * Metadata fields are ignored.  The frame is not padded to Ethernet's
 * 60-byte minimum.
 *
 * Layout: Ethernet, the 802.1Q tag when vlan_tci is nonzero, then by
 * dl_type:
 *   - IPv4: a 20-byte header; a first fragment (FLOW_NW_FRAG_ANY) has MF
 *     set, a later one (also FLOW_NW_FRAG_LATER) offset 1480 and no L4.
 *   - IPv6: the fixed header, a fragment header for fragments (M set for a
 *     first fragment, offset 1480 for a later one), then L4.
 *   - L4 for TCP (no options), UDP, SCTP (no chunks), ICMP, ICMPv6: the
 *     fixed header then the payload; an ND message carries its target and
 *     one SLL/TLL option per nonzero arp_sha/arp_tha instead of a payload.
 *     Other IP protocols and later fragments: the payload right after L3.
 *   - ARP/RARP: the 28-byte Ethernet/IPv4 message, then 'payload_len' bytes
 *     that packet_parse() will see as padding.
 *   - FLOW_DL_TYPE_NONE: an 802.3 length and an LLC header (42 42 03), then
 *     the payload.  An untagged flow with dl_type 0x8100 (which only LLC/SNAP
 *     yields) is composed as LLC/SNAP; any other dl_type as Ethernet II
 *     followed by the payload.
 *
 * Returns EINVAL (with a reason in 'eb'), appending nothing, when the flow
 * cannot be a real packet: a field set that its protocol does not carry
 * (e.g. L4 ports on a later fragment, nd_target outside ND), a value out of
 * its field's range (vlan_tci without VLAN_CFI, a flow label over 20 bits,
 * an ICMP type over 255), an ethertype below 0x600 other than
 * FLOW_DL_TYPE_NONE, or a frame longer than PACKET_PARSE_MAX. */
int packet_compose(struct buf *out, const struct flow *flow,
                   size_t payload_len, struct errbuf *eb);

/* Describes 'flags' as text ("truncated L4, padded"; "none" for 0) into
 * 'buf' of 'size' bytes, cut short if needed, and returns 'buf'. */
const char *packet_parse_flags_to_string(uint32_t flags, char *buf,
                                         size_t size);

#endif /* packet.h */
