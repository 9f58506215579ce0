/*
 * odp-key.h — the datapath flow key codec: struct flow <-> OVS_KEY_ATTR_*.
 *
 * Overview
 * ========
 *
 * The datapath interface ("ODP", after Open vSwitch's name for it) describes
 * a flow as a stream of OVS_KEY_ATTR_* netlink attributes (see
 * <linux/openvswitch.h>), both in upcalls (the key of the packet that missed)
 * and in flow operations (the key and mask of a megaflow).  Inside dpifd a
 * flow is a "struct flow" (common/flow.h).  This module converts between the
 * two, strictly, and is the only place that knows the attribute layout.
 *
 *   - odp_key_from_flow() encodes a flow as a key.
 *   - odp_mask_from_flow() encodes a megaflow mask for a flow as a mask.
 *   - odp_key_to_flow() and odp_mask_to_flow() decode, and grade how well
 *     the attributes fit a struct flow (enum odp_key_fitness).
 *   - odp_mask_normalize() tells what a mask becomes once the datapath's
 *     rules (below) have been applied to it; odp_mask_exact() what the
 *     datapath uses when a flow comes without a mask.
 *
 * Typical use, a handler installing a megaflow for an upcall:
 *
 *     struct flow flow, mask;
 *     if (odp_key_to_flow(key, key_len, &flow, &eb) != ODP_FIT_PERFECT) {
 *         ... count it, log eb.msg rate-limited, slow-path the packet ...
 *     }
 *     ... translate, filling 'mask' ...
 *     uint64_t key_stub[512 / 8], mask_stub[512 / 8];
 *     struct buf kb, mb;
 *     buf_use_stub(&kb, key_stub, sizeof key_stub);
 *     buf_use_stub(&mb, mask_stub, sizeof mask_stub);
 *     if (!odp_key_from_flow(&kb, &flow, &eb)
 *         && !odp_mask_from_flow(&mb, &mask, &flow, &eb)) {
 *         ... ufid_from_key(kb.data, kb.size, mb.data, mb.size, &ufid),
 *             install the flow ...
 *     }
 *     buf_uninit(&kb);
 *     buf_uninit(&mb);
 *
 * Key layout
 * ==========
 *
 * odp_key_from_flow() emits attributes in the order Open vSwitch uses, and
 * only those the kernel expects for the flow:
 *
 *     PRIORITY                      always
 *     TUNNEL { ... }                when tunnel.ip_dst != 0, holding
 *         ID                        when FLOW_TNL_F_KEY is set
 *         IPV4_SRC                  when nonzero
 *         IPV4_DST                  always
 *         TOS                       when nonzero
 *         TTL                       always (the kernel requires it)
 *         DONT_FRAGMENT, CSUM, OAM  flags, when set
 *     SKB_MARK                      always
 *     RECIRC_ID                     always
 *     DP_HASH                       when nonzero
 *     IN_PORT                       unless in_port is ODP_PORT_NONE
 *     ETHERNET                      always
 *     then for a tagged frame (vlan_tci != 0):
 *         ETHERTYPE(0x8100) VLAN(vlan_tci) ENCAP { the rest below }
 *     and for a frame whose 802.1Q header was truncated (dl_type 0x8100,
 *     vlan_tci 0): ETHERTYPE(0x8100) VLAN(0) ENCAP { } and nothing more;
 *     ETHERTYPE                     unless dl_type is FLOW_DL_TYPE_NONE
 *                                   (802.2 and runt frames: the kernel
 *                                   represents them by omitting it)
 *     IPV4 | IPV6 | ARP             for 0x0800 | 0x86dd | 0x0806 and 0x8035
 *     and for IPv4/IPv6 that is not a later fragment, by nw_proto:
 *         TCP TCP_FLAGS | UDP | SCTP | ICMP (IPv4) | ICMPV6 (IPv6)
 *         ICMPV6 of type 135 or 136 is followed by ND.
 *
 * ND follows every neighbour solicitation/advertisement, whatever its code:
 * that is what the kernel's match validation requires ("Missing key"
 * otherwise) and what it emits in upcalls; for a nonzero code the flow's ND
 * fields are simply zero.
 *
 * Fragments: nw_frag 0, ANY and ANY|LATER become OVS_FRAG_TYPE_NONE, FIRST
 * and LATER.  ICMP type and code travel in tp_src/tp_dst as htons(value).
 *
 * Decoding and fitness
 * ====================
 *
 * odp_key_to_flow() parses with a declarative policy table (every
 * OVS_KEY_ATTR_* the ABI defines, with its exact length) and grades the
 * result, as Open vSwitch's odp-util does:
 *
 *   ODP_FIT_PERFECT     the key is what odp_key_from_flow() would produce
 *                       for the resulting flow, in any order, give or take
 *                       attributes that carry only their default value
 *                       (DP_HASH 0, zero conntrack attributes: the kernel
 *                       writes those in every key).
 *   ODP_FIT_TOO_MUCH    the key holds something struct flow cannot
 *                       represent: MPLS, NSH, 802.1ad or stacked VLANs,
 *                       IPv6 or option-carrying tunnels, nonzero conntrack
 *                       attributes, tunnel ports, IPv6 extension headers,
 *                       or an attribute the flow's protocols do not call for
 *                       (a UDP attribute on a TCP flow).  The flow holds
 *                       everything that could be represented.
 *   ODP_FIT_TOO_LITTLE  an attribute the flow's protocols call for is
 *                       missing (ETHERNET; IPV4 for 0x0800; TCP or
 *                       TCP_FLAGS for a TCP flow; ND for a solicitation...).
 *                       The missing fields are zero.
 *   ODP_FIT_ERROR       the key is malformed: unknown, duplicate, wrongly
 *                       sized or truncated attributes, trailing bytes, a
 *                       misaligned stream, an ethertype below 0x0600, a
 *                       VLAN TCI without the CFI bit, VLAN or ENCAP without
 *                       ethertype 0x8100, a truncated-tag key with a
 *                       non-empty ENCAP, attributes on the wrong side of
 *                       ENCAP, a fragment type above OVS_FRAG_TYPE_LATER, a
 *                       flow label over 20 bits, an ARP opcode over 255, an
 *                       input port at or above ODP_MAX_PORTS, a tunnel
 *                       without IPv4 destination or TTL, or mixed IPv4/IPv6
 *                       tunnel addresses.
 *
 * A key with several defects gets the worst grade; the reason in the errbuf
 * describes the first defect of that grade.  Userspace-only attributes
 * (PACKET_TYPE, ND_EXTENSIONS) and the kernel-internal TUNNEL_INFO are not
 * accepted at all: they must never cross the datapath interface.
 *
 * Masks
 * =====
 *
 * A mask stream has the attributes of the key, with mask bits as values.  The
 * kernel (net/openvswitch/flow_netlink.c) interprets it with rules that this
 * module reproduces on both sides, so that what we encode, what the kernel
 * installs and what we decode from a flow dump all agree:
 *
 *   - No mask attribute at all means an exact match of every field the key
 *     carries (odp_mask_exact()).  An empty mask stream means everything is
 *     wildcarded, except as below.
 *   - An absent attribute, and one whose payload is all zeros, wildcards its
 *     fields.  So the encoder leaves out all-zero mask attributes.
 *   - IN_PORT and ETHERTYPE masks are exact whenever present, whatever their
 *     value; the encoder writes all-ones.
 *   - The VLAN TCI is always matched exactly unless the mask carries ENCAP;
 *     with ENCAP, the outer ETHERTYPE mask must be 0xffff and the VLAN mask
 *     must include VLAN_CFI.  The encoder emits ETHERTYPE/VLAN/ENCAP for a
 *     tagged flow only when something inside the tag is matched, and then
 *     also matches the inner ethertype exactly.
 *   - Prerequisites: an IPV4/IPV6/ARP mask needs an exact ethertype, an L4
 *     mask an exact nw_proto, an ND mask an exact ICMPv6 type; a mask
 *     attribute the key lacks is refused (except TUNNEL, IN_PORT and
 *     ETHERTYPE).  The encoder tightens prerequisites: matching any L3 field
 *     makes the ethertype exact, any L4 field the IP protocol, any ND field
 *     the ICMPv6 type.  Tightening only narrows a megaflow, never widens it.
 *   - Fragments: the kernel's frag type is a value (0, 1, 2) while the flow's
 *     nw_frag is two flag bits, so a mask on FLOW_NW_FRAG_ANY alone cannot be
 *     expressed; it is tightened to both bits.  LATER alone is kept.
 *   - Tunnel: the flags mask is the set of flag attributes present (ID
 *     counts as FLOW_TNL_F_KEY), so a tun_id mask implies the KEY flag.
 *   - Matching dp_hash needs the key to carry DP_HASH, i.e. a nonzero
 *     flow dp_hash; odp_mask_from_flow() refuses otherwise.
 *   - Fields that do not apply to the flow (IPv6 addresses of an IPv4 flow,
 *     L4 ports of a later fragment...) are dropped.
 *
 * odp_mask_normalize() applies these rules to a struct flow mask;
 * odp_mask_to_flow() of odp_mask_from_flow()'s output returns exactly
 * odp_mask_normalize()'s result.  odp_mask_to_flow() refuses (ODP_FIT_ERROR)
 * any mask the kernel would refuse, and any that the rules above could not
 * have produced (a mask that the kernel would interpret differently from any
 * struct flow mask, such as frag mask 0x01).
 *
 * Thread and process safety: no state; all functions are reentrant.
 *
 * Ownership: decoders never keep pointers into the input; encoders append to
 * the caller's buffer.
 */
#ifndef DPIF_ODP_KEY_H
#define DPIF_ODP_KEY_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/util.h"

/* A flow's in_port is ODP_PORT_NONE (common/flow.h) when the key has no
 * IN_PORT attribute. */

/* Ports are numbered below this (the kernel's DP_MAX_PORTS). */
#define ODP_MAX_PORTS 65536u

/* How well a key (or mask) fits a struct flow; ordered from best to worst,
 * so that the grade of a whole key is the maximum of its parts. */
enum odp_key_fitness {
    ODP_FIT_PERFECT,            /* Exactly representable. */
    ODP_FIT_TOO_MUCH,           /* Has fields the flow cannot represent. */
    ODP_FIT_TOO_LITTLE,         /* Lacks attributes the flow calls for. */
    ODP_FIT_ERROR,              /* Malformed. */
};

/* "perfect", "too_much", "too_little", "error" (a static string). */
const char *odp_key_fitness_to_string(enum odp_key_fitness);

/* Appends the key attributes for 'flow' to 'b' (see "Key layout").  Returns 0,
 * or EINVAL with the reason in 'eb' if 'flow' breaks the representation rules
 * of flow.h in a way the key cannot express (a VLAN TCI without VLAN_CFI, an
 * ethertype below 0x0600 other than FLOW_DL_TYPE_NONE, stacked VLANs, an
 * MPLS or NSH ethertype (the kernel requires the MPLS or NSH attribute, and
 * a flow does not hold those headers), a fragment flag LATER without ANY,
 * a flow label over 20 bits, in_port at or above ODP_MAX_PORTS, tunnel
 * fields without a tunnel destination, a tunnel ID without FLOW_TNL_F_KEY).
 * On error 'b' is left as it was. */
int odp_key_from_flow(struct buf *b, const struct flow *flow,
                      struct errbuf *eb);

/* Appends the mask attributes for the megaflow 'mask' of 'flow' to 'b' (see
 * "Masks"): the attributes of odp_key_from_flow(flow), carrying the bits of
 * odp_mask_normalize(flow, mask), without all-zero attributes.  Returns 0 or
 * EINVAL (as odp_key_from_flow(), or a dp_hash mask for a flow whose dp_hash
 * is zero).  On error 'b' is left as it was. */
int odp_mask_from_flow(struct buf *b, const struct flow *mask,
                       const struct flow *flow, struct errbuf *eb);

/* Stores in '*out' the mask that the datapath enforces when given
 * odp_mask_from_flow(mask, flow): 'mask' restricted to the fields the key of
 * 'flow' carries, with the prerequisites tightened and the kernel's implicit
 * exact matches (VLAN TCI, in_port, ethertype) made explicit.  'out' may be
 * 'mask'. */
void odp_mask_normalize(const struct flow *flow, const struct flow *mask,
                        struct flow *out);

/* Decodes the key stream 'key'/'len' (4-byte aligned) into '*flow'.  Unless
 * the result is ODP_FIT_ERROR, '*flow' holds every field that could be
 * decoded and the rest zero; on ODP_FIT_ERROR '*flow' is not written.  The
 * reason for any grade other than ODP_FIT_PERFECT goes to 'eb'. */
enum odp_key_fitness odp_key_to_flow(const void *key, size_t len,
                                     struct flow *flow, struct errbuf *eb);

/* Decodes the mask stream 'mask'/'len' of a megaflow whose key decoded to
 * 'flow' into '*mask_out'.  An empty stream ('len' 0, whatever 'mask' is)
 * wildcards everything the kernel lets it wildcard; a flow operation with no
 * mask attribute at all is odp_mask_exact()'s business.  Written and graded
 * as odp_key_to_flow(); ODP_FIT_TOO_LITTLE does not occur for masks (absence
 * is wildcarding). */
enum odp_key_fitness odp_mask_to_flow(const void *mask, size_t len,
                                      const struct flow *flow,
                                      struct flow *mask_out,
                                      struct errbuf *eb);

/* Stores in '*mask' the mask the kernel applies to a flow operation whose key
 * is odp_key_from_flow(flow) and that carries no mask attribute: every field
 * of an attribute the key has is exact (so dp_hash is wildcarded when the key
 * omits DP_HASH), as odp_mask_normalize() sees it. */
void odp_mask_exact(const struct flow *flow, struct flow *mask);

#endif /* odp-key.h */
