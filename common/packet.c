#include "common/bytes.h"
#include "common/packet.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/counters.h"
#include "common/crc32c.h"
#include "common/csum.h"

COUNTER_DEFINE(packet_parse_truncated);
COUNTER_DEFINE(packet_parse_malformed);

#define ETH_TYPE_MIN 0x0600     /* Smaller "ethertypes" are 802.3 lengths. */
#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_RARP 0x8035
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_IPV6 0x86dd

#define LLC_SNAP_LEN 8          /* aa aa 03, OUI (3 bytes), type. */
#define LLC_LEN 3               /* DSAP, SSAP, control. */
#define ETH_PAYLOAD_MAX 1500    /* Largest 802.3 length. */

#define IPV4_HEADER_LEN 20
#define IPV4_MF 0x2000          /* More fragments (host order). */
#define IPV4_OFFSET_MASK 0x1fff /* Fragment offset, 8-byte units. */
#define IPV6_HEADER_LEN 40
#define IPV6_FRAG_LEN 8
#define IPV6_FRAG_OFFSET_MASK 0xfff8
#define IPV6_FRAG_M 0x0001
#define ARP_ETH_IPV4_LEN 28

#define TCP_HEADER_LEN 20
#define UDP_HEADER_LEN 8
#define SCTP_HEADER_LEN 12
#define ICMP_HEADER_LEN 8
#define ND_TARGET_LEN 16
#define ND_OPT_LEN_UNIT 8
#define ND_OPT_SLL 1
#define ND_OPT_TLL 2
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT 136

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_SCTP_ 132

/* The offset of a later fragment that packet_compose() builds: 1480 bytes,
 * the second fragment of a datagram on a 1500-byte MTU. */
#define COMPOSE_LATER_OFFSET 1480

/* The start of an LLC/SNAP header whose SNAP type is an ethertype: DSAP and
 * SSAP 0xaa, control 0x03 (unnumbered information), OUI 00-00-00. */
static const uint8_t llc_snap_ethertype[6] = { 0xaa, 0xaa, 0x03, 0, 0, 0 };

/* Frame parsing state: the bytes, and where the parse stands. */
struct packet_parser {
    const uint8_t *p;           /* Frame start. */
    size_t size;                /* Bytes that may be read at 'p'. */
    struct flow *flow;          /* Output flow. */
    struct packet_layout *l;    /* Output layout. */
};





static bool
packet_ipv6_is_ext_header(uint8_t nh)
{
    return (nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_
            || nh == IPPROTO_DSTOPTS_ || nh == IPPROTO_AH_
            || nh == IPPROTO_FRAGMENT_);
}

/* Parses the ND body of the ICMPv6 message whose fixed header ends at 'ofs'
 * and whose IP packet ends at 'end'. */
static void
packet_parse_nd(struct packet_parser *ps, size_t ofs, size_t end)
{
    struct flow *flow = ps->flow;

    if (end - ofs < ND_TARGET_LEN) {
        ps->l->parse_flags |= PKT_TRUNC_L4;
        return;
    }
    memcpy(&flow->nd_target, ps->p + ofs, ND_TARGET_LEN);
    ofs += ND_TARGET_LEN;

    while (end - ofs >= ND_OPT_LEN_UNIT) {
        uint8_t type = ps->p[ofs];
        size_t len = (size_t) ps->p[ofs + 1] * ND_OPT_LEN_UNIT;

        if (!len || len > end - ofs) {
            goto malformed;
        }
        if (len == ND_OPT_LEN_UNIT
            && (type == ND_OPT_SLL || type == ND_OPT_TLL)) {
            struct eth_addr *ea = (type == ND_OPT_SLL
                                   ? &flow->arp_sha : &flow->arp_tha);
            if (!eth_addr_is_zero(*ea)) {
                goto malformed;
            }
            memcpy(ea->ea, ps->p + ofs + 2, ETH_ADDR_LEN);
        }
        ofs += len;
    }
    return;

malformed:
    ps->l->parse_flags |= PKT_BAD_L4;
    memset(&flow->nd_target, 0, sizeof flow->nd_target);
    memset(&flow->arp_sha, 0, sizeof flow->arp_sha);
    memset(&flow->arp_tha, 0, sizeof flow->arp_tha);
}

/* Parses the L4 header of protocol 'proto' at 'ofs' in an IP packet that
 * ends at 'end'. */
static void
packet_parse_l4(struct packet_parser *ps, size_t ofs, size_t end,
                uint8_t proto, bool ipv6)
{
    const uint8_t *p = ps->p + ofs;
    size_t avail = end - ofs;
    struct flow *flow = ps->flow;
    bool icmp = ((proto == IPPROTO_ICMP_ && !ipv6)
                 || (proto == IPPROTO_ICMPV6_ && ipv6));
    size_t hlen;

    ps->l->l4 = ofs;
    if (proto == IPPROTO_TCP_) {
        hlen = TCP_HEADER_LEN;
    } else if (proto == IPPROTO_UDP_) {
        hlen = UDP_HEADER_LEN;
    } else if (proto == IPPROTO_SCTP_) {
        hlen = SCTP_HEADER_LEN;
    } else if (icmp) {
        hlen = ICMP_HEADER_LEN;
    } else {
        return;
    }
    if (avail < hlen) {
        ps->l->parse_flags |= PKT_TRUNC_L4;
        return;
    }

    if (proto == IPPROTO_TCP_) {
        size_t doff = (size_t) (p[12] >> 4) * 4;

        if (doff < TCP_HEADER_LEN) {
            ps->l->parse_flags |= PKT_BAD_L4;
            return;
        }
        if (doff > avail) {
            ps->l->parse_flags |= PKT_TRUNC_L4;
            return;
        }
        flow->tcp_flags = htons(ntoh16_at(p + 12) & 0x0fff);
        hlen = doff;
    }

    if (icmp) {
        flow->tp_src = htons(p[0]);
        flow->tp_dst = htons(p[1]);
    } else {
        flow->tp_src = get_unaligned_be16(p);
        flow->tp_dst = get_unaligned_be16(p + 2);
    }
    ps->l->l7 = ofs + hlen;

    if (icmp && ipv6 && p[1] == 0
        && (p[0] == ND_NEIGHBOR_SOLICIT || p[0] == ND_NEIGHBOR_ADVERT)) {
        packet_parse_nd(ps, ofs + hlen, end);
    }
}

/* Sets l3_end to the IP packet's own end 'ip_end' (computed by the caller
 * from its length field) and notes truncation or padding.  Returns the end
 * of what may be parsed. */
static size_t
packet_parse_ip_end(struct packet_parser *ps, size_t ip_end)
{
    if (ip_end > ps->size) {
        ps->l->parse_flags |= PKT_TRUNC_IP;
        ps->l->l3_end = ps->size;
        return ps->size;
    }
    if (ip_end < ps->size) {
        ps->l->parse_flags |= PKT_PADDED;
    }
    ps->l->l3_end = ip_end;
    return ip_end;
}

static void
packet_parse_ipv4(struct packet_parser *ps, size_t ofs)
{
    const uint8_t *p = ps->p + ofs;
    size_t avail = ps->size - ofs;
    struct flow *flow = ps->flow;

    if (avail < IPV4_HEADER_LEN) {
        ps->l->parse_flags |= PKT_TRUNC_L3;
        return;
    }
    size_t ihl = (size_t) (p[0] & 0x0f) * 4;
    size_t tot_len = ntoh16_at(p + 2);
    if (p[0] >> 4 != 4 || ihl < IPV4_HEADER_LEN) {
        ps->l->parse_flags |= PKT_BAD_L3;
        return;
    }
    if (ihl > avail) {
        ps->l->parse_flags |= PKT_TRUNC_L3;
        return;
    }
    if (tot_len < ihl) {
        ps->l->parse_flags |= PKT_BAD_L3;
        return;
    }

    ps->l->l3 = ofs;
    flow->nw_tos = p[1];
    flow->nw_ttl = p[8];
    flow->nw_proto = p[9];
    memcpy(&flow->nw_src, p + 12, 4);
    memcpy(&flow->nw_dst, p + 16, 4);

    uint16_t frag = ntoh16_at(p + 6);
    if (frag & (IPV4_MF | IPV4_OFFSET_MASK)) {
        flow->nw_frag = FLOW_NW_FRAG_ANY;
        if (frag & IPV4_OFFSET_MASK) {
            flow->nw_frag |= FLOW_NW_FRAG_LATER;
        }
    }

    size_t end = packet_parse_ip_end(ps, ofs + tot_len);
    if (ps->l->parse_flags & PKT_TRUNC_IP
        || flow->nw_frag & FLOW_NW_FRAG_LATER) {
        return;
    }
    packet_parse_l4(ps, ofs + ihl, end, flow->nw_proto, false);
}

static void
packet_parse_ipv6(struct packet_parser *ps, size_t ofs)
{
    const uint8_t *p = ps->p + ofs;
    struct flow *flow = ps->flow;

    if (ps->size - ofs < IPV6_HEADER_LEN) {
        ps->l->parse_flags |= PKT_TRUNC_L3;
        return;
    }
    uint32_t vtcfl = (uint32_t) ntoh16_at(p) << 16 | ntoh16_at(p + 2);
    if (vtcfl >> 28 != 6) {
        ps->l->parse_flags |= PKT_BAD_L3;
        return;
    }

    ps->l->l3 = ofs;
    flow->ipv6_label = htonl(vtcfl & 0x000fffff);
    flow->nw_tos = (vtcfl >> 20) & 0xff;
    flow->nw_ttl = p[7];
    memcpy(&flow->ipv6_src, p + 8, 16);
    memcpy(&flow->ipv6_dst, p + 24, 16);

    size_t end = packet_parse_ip_end(ps, ofs + IPV6_HEADER_LEN + ntoh16_at(p + 4));
    size_t pos = ofs + IPV6_HEADER_LEN;
    uint8_t nh = p[6];
    uint8_t frag = 0;

    /* Every extension header is at least 8 bytes long, so this ends. */
    while (packet_ipv6_is_ext_header(nh)) {
        const uint8_t *h = ps->p + pos;
        size_t hlen;

        if (end - pos < 2) {
            goto truncated;
        }
        if (nh == IPPROTO_FRAGMENT_) {
            hlen = IPV6_FRAG_LEN;
        } else if (nh == IPPROTO_AH_) {
            hlen = ((size_t) h[1] + 2) * 4;
        } else {
            hlen = ((size_t) h[1] + 1) * 8;
        }
        if (end - pos < hlen) {
            goto truncated;
        }
        if (nh == IPPROTO_FRAGMENT_) {
            frag |= FLOW_NW_FRAG_ANY;
            if (ntoh16_at(h + 2) & IPV6_FRAG_OFFSET_MASK) {
                frag |= FLOW_NW_FRAG_LATER;
            }
        }
        nh = h[0];
        pos += hlen;
        if (frag & FLOW_NW_FRAG_LATER) {
            break;
        }
    }
    flow->nw_proto = nh;
    flow->nw_frag = frag;
    if (!(ps->l->parse_flags & PKT_TRUNC_IP)
        && !(frag & FLOW_NW_FRAG_LATER)) {
        packet_parse_l4(ps, pos, end, nh, true);
    }
    return;

truncated:
    ps->l->parse_flags |= PKT_TRUNC_EXT;
}

static void
packet_parse_arp(struct packet_parser *ps, size_t ofs)
{
    const uint8_t *p = ps->p + ofs;
    size_t avail = ps->size - ofs;
    struct flow *flow = ps->flow;

    if (avail < 8) {
        ps->l->parse_flags |= PKT_TRUNC_L3;
        return;
    }
    if (ntoh16_at(p) != 1 || ntoh16_at(p + 2) != ETH_TYPE_IP
        || p[4] != ETH_ADDR_LEN || p[5] != 4) {
        ps->l->parse_flags |= PKT_BAD_L3;
        return;
    }
    if (avail < ARP_ETH_IPV4_LEN) {
        ps->l->parse_flags |= PKT_TRUNC_L3;
        return;
    }

    ps->l->l3 = ofs;
    uint16_t op = ntoh16_at(p + 6);
    flow->nw_proto = op <= 0xff ? op : 0;
    memcpy(flow->arp_sha.ea, p + 8, ETH_ADDR_LEN);
    memcpy(&flow->nw_src, p + 14, 4);
    memcpy(flow->arp_tha.ea, p + 18, ETH_ADDR_LEN);
    memcpy(&flow->nw_dst, p + 24, 4);
    packet_parse_ip_end(ps, ofs + ARP_ETH_IPV4_LEN);
}

/* Returns the ethertype of the 802.2 LLC frame at 'ofs' that follows an
 * 802.3 length: the SNAP type of LLC/SNAP with a zero OUI, else
 * FLOW_DL_TYPE_NONE.  Advances '*ofs' past a recognised SNAP header. */
static uint16_t
packet_parse_llc(const struct packet_parser *ps, size_t *ofs)
{
    const uint8_t *p = ps->p + *ofs;

    if (ps->size - *ofs >= LLC_SNAP_LEN
        && !memcmp(p, llc_snap_ethertype, sizeof llc_snap_ethertype)
        && ntoh16_at(p + 6) >= ETH_TYPE_MIN) {
        *ofs += LLC_SNAP_LEN;
        return ntoh16_at(p + 6);
    }
    return FLOW_DL_TYPE_NONE;
}

static void
packet_parse_frame(struct packet_parser *ps)
{
    struct flow *flow = ps->flow;
    const uint8_t *p = ps->p;

    if (ps->size < ETH_HEADER_LEN) {
        flow->dl_type = htons(FLOW_DL_TYPE_NONE);
        ps->l->parse_flags |= PKT_TRUNC_L2;
        return;
    }
    memcpy(flow->dl_dst.ea, p, ETH_ADDR_LEN);
    memcpy(flow->dl_src.ea, p + ETH_ADDR_LEN, ETH_ADDR_LEN);
    uint16_t type = ntoh16_at(p + 12);
    size_t ofs = ETH_HEADER_LEN;

    if (type == ETH_TYPE_VLAN) {
        if (ps->size - ofs < VLAN_HEADER_LEN) {
            flow->dl_type = htons(type);
            ps->l->parse_flags |= PKT_TRUNC_VLAN;
            return;
        }
        ps->l->l2_5 = ETH_HEADER_LEN - 2;
        flow->vlan_tci = htons(ntoh16_at(p + ofs) | VLAN_CFI);
        type = ntoh16_at(p + ofs + 2);
        ofs += VLAN_HEADER_LEN;
    }
    if (type < ETH_TYPE_MIN) {
        type = packet_parse_llc(ps, &ofs);
    }
    flow->dl_type = htons(type);

    switch (type) {
    case ETH_TYPE_IP:
        packet_parse_ipv4(ps, ofs);
        break;
    case ETH_TYPE_IPV6:
        packet_parse_ipv6(ps, ofs);
        break;
    case ETH_TYPE_ARP:
    case ETH_TYPE_RARP:
        packet_parse_arp(ps, ofs);
        break;
    default:
        break;
    }
}

void
packet_parse(const void *data, size_t size, uint32_t in_port,
             struct flow *flow, struct packet_layout *layout)
{
    struct packet_layout l = {
        .l2 = 0,
        .l2_5 = PACKET_OFS_NONE,
        .l3 = PACKET_OFS_NONE,
        .l4 = PACKET_OFS_NONE,
        .l7 = PACKET_OFS_NONE,
        .l3_end = 0,
        .parse_flags = 0,
    };
    struct packet_parser ps = {
        .p = data,
        .size = MIN(size, (size_t) PACKET_PARSE_MAX),
        .flow = flow,
        .l = &l,
    };

    memset(flow, 0, sizeof *flow);
    flow->in_port = in_port;
    l.l3_end = ps.size;
    packet_parse_frame(&ps);

    if (l.parse_flags & (PKT_TRUNC_L2 | PKT_TRUNC_VLAN | PKT_TRUNC_L3
                         | PKT_TRUNC_L4 | PKT_TRUNC_EXT | PKT_TRUNC_IP)) {
        COUNTER_INC(packet_parse_truncated);
    }
    if (l.parse_flags & (PKT_BAD_L3 | PKT_BAD_L4)) {
        COUNTER_INC(packet_parse_malformed);
    }
    if (layout) {
        *layout = l;
    }
}

/* A packet field of struct flow, named for packet_compose()'s reasons. */
struct packet_flow_field {
    const char *name;           /* Member name. */
    size_t ofs;                 /* offsetof(struct flow, member). */
    size_t len;                 /* Member size. */
};

#define PACKET_FLOW_FIELD(NAME) \
    { #NAME, offsetof(struct flow, NAME), sizeof ((struct flow *) 0)->NAME }

/* The members after the metadata.  packet_plan_check_carried() checks every
 * byte from dl_dst on, so a member missing here still gets checked, only
 * without its name. */
static const struct packet_flow_field packet_flow_fields[] = {
    PACKET_FLOW_FIELD(dl_dst), PACKET_FLOW_FIELD(dl_src),
    PACKET_FLOW_FIELD(vlan_tci), PACKET_FLOW_FIELD(dl_type),
    PACKET_FLOW_FIELD(nw_src), PACKET_FLOW_FIELD(nw_dst),
    PACKET_FLOW_FIELD(ipv6_src), PACKET_FLOW_FIELD(ipv6_dst),
    PACKET_FLOW_FIELD(nd_target), PACKET_FLOW_FIELD(ipv6_label),
    PACKET_FLOW_FIELD(nw_proto), PACKET_FLOW_FIELD(nw_tos),
    PACKET_FLOW_FIELD(nw_ttl), PACKET_FLOW_FIELD(nw_frag),
    PACKET_FLOW_FIELD(arp_sha), PACKET_FLOW_FIELD(arp_tha),
    PACKET_FLOW_FIELD(tp_src), PACKET_FLOW_FIELD(tp_dst),
    PACKET_FLOW_FIELD(tcp_flags), PACKET_FLOW_FIELD(pad),
};

/* The network layer packet_compose() builds. */
enum packet_plan_l3 {
    PLAN_L3_NONE,               /* Payload right after L2. */
    PLAN_L3_IPV4,               /* IPv4 header. */
    PLAN_L3_IPV6,               /* IPv6 header (and fragment header). */
    PLAN_L3_ARP,                /* Ethernet/IPv4 ARP message. */
};

/* The transport layer packet_compose() builds. */
enum packet_plan_l4 {
    PLAN_L4_NONE,               /* Payload right after L3. */
    PLAN_L4_TCP,                /* TCP header without options. */
    PLAN_L4_UDP,                /* UDP header. */
    PLAN_L4_SCTP,               /* SCTP common header. */
    PLAN_L4_ICMP,               /* ICMP header. */
    PLAN_L4_ICMPV6,             /* ICMPv6 header, maybe with an ND body. */
};

/* What packet_compose() will build for a flow, and how big each part is. */
struct packet_plan {
    enum packet_plan_l3 l3;     /* Network layer. */
    enum packet_plan_l4 l4;     /* Transport layer. */
    bool llc;                   /* 802.3 length + LLC header (dl_type NONE). */
    bool snap;                  /* 802.3 length + LLC/SNAP header. */
    bool nd;                    /* ICMPv6 carries an ND target and options. */
    size_t l2_len;              /* Ethernet, tag, LLC or SNAP. */
    size_t l3_len;              /* L3 header, with an IPv6 fragment header. */
    size_t l4_len;              /* L4 header, with an ND body. */
    size_t payload_len;         /* Pattern bytes after the headers. */
    struct flow carried;        /* 1-bits: what the packet can represent. */
    char what[64];              /* The packet's kind, for reasons. */
};

/* Refuses a flow with a bit set in a packet field (anything from dl_dst on)
 * that pl->carried does not have. */
static int
packet_plan_check_carried(const struct flow *flow,
                          const struct packet_plan *pl, struct errbuf *eb)
{
    const uint8_t *f = (const uint8_t *) flow;
    const uint8_t *m = (const uint8_t *) &pl->carried;

    for (size_t j = offsetof(struct flow, dl_dst); j < sizeof *flow; j++) {
        if (!(f[j] & ~m[j])) {
            continue;
        }
        const char *name = "(unnamed)";
        for (size_t i = 0; i < ARRAY_SIZE(packet_flow_fields); i++) {
            const struct packet_flow_field *ff = &packet_flow_fields[i];

            if (j >= ff->ofs && j < ff->ofs + ff->len) {
                name = ff->name;
            }
        }
        return errbuf_set(eb, EINVAL, "flow field %s has bits set that %s "
                          "cannot carry", name, pl->what);
    }
    return 0;
}

/* Chooses the transport layer of an IP flow and marks its fields. */
static int
packet_plan_l4(const struct flow *flow, bool ipv6, struct packet_plan *pl,
               struct errbuf *eb)
{
    struct flow *c = &pl->carried;
    uint8_t proto = flow->nw_proto;

    if (flow->nw_frag & FLOW_NW_FRAG_LATER) {
        pl->l4 = PLAN_L4_NONE;
        snprintf(pl->what, sizeof pl->what, "a later fragment");
        return 0;
    }
    if (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_
        || proto == IPPROTO_SCTP_) {
        c->tp_src = c->tp_dst = 0xffff;
        if (proto == IPPROTO_TCP_) {
            pl->l4 = PLAN_L4_TCP;
            pl->l4_len = TCP_HEADER_LEN;
            c->tcp_flags = htons(0x0fff);
        } else if (proto == IPPROTO_UDP_) {
            pl->l4 = PLAN_L4_UDP;
            pl->l4_len = UDP_HEADER_LEN;
        } else {
            pl->l4 = PLAN_L4_SCTP;
            pl->l4_len = SCTP_HEADER_LEN;
        }
    } else if ((!ipv6 && proto == IPPROTO_ICMP_)
               || (ipv6 && proto == IPPROTO_ICMPV6_)) {
        c->tp_src = c->tp_dst = htons(0x00ff);
        pl->l4 = ipv6 ? PLAN_L4_ICMPV6 : PLAN_L4_ICMP;
        pl->l4_len = ICMP_HEADER_LEN;
        if (ipv6 && !flow->tp_dst
            && (flow->tp_src == htons(ND_NEIGHBOR_SOLICIT)
                || flow->tp_src == htons(ND_NEIGHBOR_ADVERT))) {
            pl->nd = true;
            memset(&c->nd_target, 0xff, sizeof c->nd_target);
            memset(&c->arp_sha, 0xff, sizeof c->arp_sha);
            memset(&c->arp_tha, 0xff, sizeof c->arp_tha);
            pl->l4_len += ND_TARGET_LEN;
            if (!eth_addr_is_zero(flow->arp_sha)) {
                pl->l4_len += ND_OPT_LEN_UNIT;
            }
            if (!eth_addr_is_zero(flow->arp_tha)) {
                pl->l4_len += ND_OPT_LEN_UNIT;
            }
            pl->payload_len = 0;
        }
    } else if (ipv6 && packet_ipv6_is_ext_header(proto)) {
        return errbuf_set(eb, EINVAL, "IPv6 nw_proto %u is an extension "
                          "header, which only a later fragment can end on",
                          proto);
    } else {
        pl->l4 = PLAN_L4_NONE;
    }
    snprintf(pl->what, sizeof pl->what, "%s protocol %u",
             ipv6 ? "IPv6" : "IPv4", proto);
    return 0;
}

static int
packet_plan_l3(const struct flow *flow, uint16_t type,
               struct packet_plan *pl, struct errbuf *eb)
{
    struct flow *c = &pl->carried;

    if (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6) {
        bool ipv6 = type == ETH_TYPE_IPV6;

        if (flow->nw_frag & ~FLOW_NW_FRAG_MASK
            || flow->nw_frag == FLOW_NW_FRAG_LATER) {
            return errbuf_set(eb, EINVAL, "nw_frag %#x is not a fragment "
                              "state", flow->nw_frag);
        }
        c->nw_proto = c->nw_tos = c->nw_ttl = 0xff;
        c->nw_frag = FLOW_NW_FRAG_MASK;
        if (ipv6) {
            pl->l3 = PLAN_L3_IPV6;
            pl->l3_len = IPV6_HEADER_LEN
                         + (flow->nw_frag ? IPV6_FRAG_LEN : 0);
            memset(&c->ipv6_src, 0xff, sizeof c->ipv6_src);
            memset(&c->ipv6_dst, 0xff, sizeof c->ipv6_dst);
            c->ipv6_label = htonl(0x000fffff);
        } else {
            pl->l3 = PLAN_L3_IPV4;
            pl->l3_len = IPV4_HEADER_LEN;
            c->nw_src = c->nw_dst = 0xffffffff;
        }
        return packet_plan_l4(flow, ipv6, pl, eb);
    } else if (type == ETH_TYPE_ARP || type == ETH_TYPE_RARP) {
        pl->l3 = PLAN_L3_ARP;
        pl->l3_len = ARP_ETH_IPV4_LEN;
        c->nw_src = c->nw_dst = 0xffffffff;
        c->nw_proto = 0xff;
        memset(&c->arp_sha, 0xff, sizeof c->arp_sha);
        memset(&c->arp_tha, 0xff, sizeof c->arp_tha);
        snprintf(pl->what, sizeof pl->what, "ARP");
    } else {
        pl->l3 = PLAN_L3_NONE;
        snprintf(pl->what, sizeof pl->what, "dl_type %#06x", type);
    }
    return 0;
}

static int
packet_plan(const struct flow *flow, size_t payload_len,
            struct packet_plan *pl, struct errbuf *eb)
{
    uint16_t type = ntohs(flow->dl_type);
    struct flow *c = &pl->carried;
    int error;

    memset(pl, 0, sizeof *pl);
    pl->payload_len = payload_len;
    memset(&c->dl_dst, 0xff, sizeof c->dl_dst);
    memset(&c->dl_src, 0xff, sizeof c->dl_src);
    c->vlan_tci = c->dl_type = 0xffff;

    if (flow->vlan_tci && !(flow->vlan_tci & htons(VLAN_CFI))) {
        return errbuf_set(eb, EINVAL, "vlan_tci %#06x lacks VLAN_CFI",
                          ntohs(flow->vlan_tci));
    }
    pl->l2_len = ETH_HEADER_LEN + (flow->vlan_tci ? VLAN_HEADER_LEN : 0);
    if (type == FLOW_DL_TYPE_NONE) {
        pl->llc = true;
        pl->l2_len += LLC_LEN;
    } else if (type < ETH_TYPE_MIN) {
        return errbuf_set(eb, EINVAL, "dl_type %#06x is an 802.3 length, "
                          "not an ethertype", type);
    } else if (type == ETH_TYPE_VLAN && !flow->vlan_tci) {
        pl->snap = true;
        pl->l2_len += LLC_SNAP_LEN;
    }

    error = packet_plan_l3(flow, type, pl, eb);
    if (!error) {
        error = packet_plan_check_carried(flow, pl, eb);
    }
    if (error) {
        return error;
    }
    size_t llc_len = pl->llc ? LLC_LEN : pl->snap ? LLC_SNAP_LEN : 0;
    if (llc_len && pl->payload_len > ETH_PAYLOAD_MAX - llc_len) {
        return errbuf_set(eb, EINVAL, "an 802.3 frame carries at most %zu "
                          "bytes after its LLC header",
                          ETH_PAYLOAD_MAX - llc_len);
    }
    if (pl->payload_len > PACKET_PARSE_MAX) {
        return errbuf_set(eb, EINVAL, "payload of %zu bytes is too long",
                          pl->payload_len);
    }
    size_t l3_size = pl->l3_len + pl->l4_len + pl->payload_len;
    if (pl->l3 == PLAN_L3_IPV4 && l3_size > UINT16_MAX) {
        return errbuf_set(eb, EINVAL, "IPv4 total length %zu exceeds 65535",
                          l3_size);
    }
    if (pl->l3 == PLAN_L3_IPV6 && l3_size - IPV6_HEADER_LEN > UINT16_MAX) {
        return errbuf_set(eb, EINVAL, "IPv6 payload length %zu exceeds "
                          "65535", l3_size - IPV6_HEADER_LEN);
    }
    if (pl->l2_len + l3_size > PACKET_PARSE_MAX) {
        return errbuf_set(eb, EINVAL, "a %zu-byte frame exceeds %d bytes",
                          pl->l2_len + l3_size, PACKET_PARSE_MAX);
    }
    return 0;
}

/* Writes the L2 header (and LLC) of 'flow' at 'p'. */
static void
packet_compose_l2(uint8_t *p, const struct flow *flow,
                  const struct packet_plan *pl)
{
    memcpy(p, flow->dl_dst.ea, ETH_ADDR_LEN);
    memcpy(p + ETH_ADDR_LEN, flow->dl_src.ea, ETH_ADDR_LEN);
    p += 2 * ETH_ADDR_LEN;
    if (flow->vlan_tci) {
        hton16_at(p, ETH_TYPE_VLAN);
        hton16_at(p + 2, ntohs(flow->vlan_tci) & ~VLAN_CFI);
        p += VLAN_HEADER_LEN;
    }
    if (pl->llc) {
        static const uint8_t llc[LLC_LEN] = { 0x42, 0x42, 0x03 };

        hton16_at(p, LLC_LEN + pl->payload_len);
        memcpy(p + 2, llc, LLC_LEN);
    } else if (pl->snap) {
        hton16_at(p, LLC_SNAP_LEN + pl->payload_len);
        memcpy(p + 2, llc_snap_ethertype, sizeof llc_snap_ethertype);
        hton16_at(p + 2 + sizeof llc_snap_ethertype, ntohs(flow->dl_type));
    } else {
        hton16_at(p, ntohs(flow->dl_type));
    }
}

/* Writes the L3 header of 'flow' at 'p'; 'l3_size' covers L3 to the end. */
static void
packet_compose_l3(uint8_t *p, const struct flow *flow,
                  const struct packet_plan *pl, size_t l3_size)
{
    bool later = flow->nw_frag & FLOW_NW_FRAG_LATER;

    switch (pl->l3) {
    case PLAN_L3_IPV4: {
        uint16_t frag = (later ? COMPOSE_LATER_OFFSET / 8
                         : flow->nw_frag ? IPV4_MF : 0);

        p[0] = 0x45;
        p[1] = flow->nw_tos;
        hton16_at(p + 2, l3_size);
        hton16_at(p + 6, frag);
        p[8] = flow->nw_ttl;
        p[9] = flow->nw_proto;
        memcpy(p + 12, &flow->nw_src, 4);
        memcpy(p + 16, &flow->nw_dst, 4);
        ovs_be16 sum = csum(p, IPV4_HEADER_LEN);
        memcpy(p + 10, &sum, 2);
        break;
    }
    case PLAN_L3_IPV6:
        hton32_at(p, 6u << 28 | (uint32_t) flow->nw_tos << 20
                | ntohl(flow->ipv6_label));
        hton16_at(p + 4, l3_size - IPV6_HEADER_LEN);
        p[6] = flow->nw_frag ? IPPROTO_FRAGMENT_ : flow->nw_proto;
        p[7] = flow->nw_ttl;
        memcpy(p + 8, &flow->ipv6_src, 16);
        memcpy(p + 24, &flow->ipv6_dst, 16);
        if (flow->nw_frag) {
            uint8_t *fh = p + IPV6_HEADER_LEN;

            fh[0] = flow->nw_proto;
            hton16_at(fh + 2, later ? COMPOSE_LATER_OFFSET : IPV6_FRAG_M);
            hton32_at(fh + 4, 1);
        }
        break;
    case PLAN_L3_ARP:
        hton16_at(p, 1);
        hton16_at(p + 2, ETH_TYPE_IP);
        p[4] = ETH_ADDR_LEN;
        p[5] = 4;
        hton16_at(p + 6, flow->nw_proto);
        memcpy(p + 8, flow->arp_sha.ea, ETH_ADDR_LEN);
        memcpy(p + 14, &flow->nw_src, 4);
        memcpy(p + 18, flow->arp_tha.ea, ETH_ADDR_LEN);
        memcpy(p + 24, &flow->nw_dst, 4);
        break;
    case PLAN_L3_NONE:
        break;
    }
}

/* Writes the L4 header of 'flow' at 'p' and, since the payload is already
 * in place, its checksum; 'l4_size' covers L4 to the end. */
static void
packet_compose_l4(uint8_t *p, const struct flow *flow,
                  const struct packet_plan *pl, size_t l4_size)
{
    bool ipv6 = pl->l3 == PLAN_L3_IPV6;
    uint32_t pseudo = (ipv6
                       ? csum_pseudo_ipv6(&flow->ipv6_src, &flow->ipv6_dst,
                                          flow->nw_proto, l4_size)
                       : csum_pseudo_ipv4(flow->nw_src, flow->nw_dst,
                                          flow->nw_proto, l4_size));
    ovs_be16 sum;

    switch (pl->l4) {
    case PLAN_L4_TCP:
        memcpy(p, &flow->tp_src, 2);
        memcpy(p + 2, &flow->tp_dst, 2);
        hton16_at(p + 12, (TCP_HEADER_LEN / 4) << 12 | ntohs(flow->tcp_flags));
        hton16_at(p + 14, 0xffff);
        sum = csum_finish(csum_continue(pseudo, p, l4_size));
        memcpy(p + 16, &sum, 2);
        break;
    case PLAN_L4_UDP:
        memcpy(p, &flow->tp_src, 2);
        memcpy(p + 2, &flow->tp_dst, 2);
        hton16_at(p + 4, l4_size);
        sum = csum_finish(csum_continue(pseudo, p, l4_size));
        /* Zero means "no checksum"; its one's complement twin is sent. */
        sum = sum ? sum : 0xffff;
        memcpy(p + 6, &sum, 2);
        break;
    case PLAN_L4_SCTP:
        memcpy(p, &flow->tp_src, 2);
        memcpy(p + 2, &flow->tp_dst, 2);
        crc32c_put_le(p + 8, crc32c(p, l4_size));
        break;
    case PLAN_L4_ICMP:
    case PLAN_L4_ICMPV6:
        p[0] = ntohs(flow->tp_src);
        p[1] = ntohs(flow->tp_dst);
        if (pl->nd) {
            uint8_t *opt = p + ICMP_HEADER_LEN + ND_TARGET_LEN;

            memcpy(p + ICMP_HEADER_LEN, &flow->nd_target, ND_TARGET_LEN);
            if (!eth_addr_is_zero(flow->arp_sha)) {
                opt[0] = ND_OPT_SLL;
                opt[1] = 1;
                memcpy(opt + 2, flow->arp_sha.ea, ETH_ADDR_LEN);
                opt += ND_OPT_LEN_UNIT;
            }
            if (!eth_addr_is_zero(flow->arp_tha)) {
                opt[0] = ND_OPT_TLL;
                opt[1] = 1;
                memcpy(opt + 2, flow->arp_tha.ea, ETH_ADDR_LEN);
            }
        }
        sum = csum_finish(csum_continue(pl->l4 == PLAN_L4_ICMPV6
                                        ? pseudo : 0, p, l4_size));
        memcpy(p + 2, &sum, 2);
        break;
    case PLAN_L4_NONE:
        break;
    }
}

int
packet_compose(struct buf *out, const struct flow *flow, size_t payload_len,
               struct errbuf *eb)
{
    struct packet_plan pl;
    int error = packet_plan(flow, payload_len, &pl, eb);
    if (error) {
        return error;
    }

    size_t l4_size = pl.l4_len + pl.payload_len;
    size_t l3_size = pl.l3_len + l4_size;
    uint8_t *frame = buf_put_zeros(out, pl.l2_len + l3_size);
    uint8_t *l3 = frame + pl.l2_len;
    uint8_t *l4 = l3 + pl.l3_len;
    uint8_t *payload = l4 + pl.l4_len;

    for (size_t i = 0; i < pl.payload_len; i++) {
        payload[i] = (uint8_t) (i * 7 + 0x11);
    }
    packet_compose_l2(frame, flow, &pl);
    packet_compose_l3(l3, flow, &pl, l3_size);
    packet_compose_l4(l4, flow, &pl, l4_size);
    return 0;
}

/* Names of the PKT_* flags, by bit number. */
static const char *const packet_flag_names[] = {
    "truncated L2", "truncated VLAN tag", "truncated L3", "bad L3",
    "truncated L4", "bad L4", "truncated IPv6 extension header", "padded",
    "truncated IP payload",
};
static_assert(ARRAY_SIZE(packet_flag_names) == 9 && PKT_TRUNC_IP == 1 << 8,
              "a PKT_* flag without a name");

const char *
packet_parse_flags_to_string(uint32_t flags, char *buf, size_t size)
{
    size_t n = 0;

    if (!size) {
        return buf;
    }
    buf[0] = '\0';
    if (!flags) {
        snprintf(buf, size, "none");
        return buf;
    }
    for (unsigned int bit = 0; bit < 32 && n < size; bit++) {
        if (!(flags & (UINT32_C(1) << bit))) {
            continue;
        }
        const char *sep = n ? ", " : "";
        int w = (bit < ARRAY_SIZE(packet_flag_names)
                 ? snprintf(buf + n, size - n, "%s%s", sep,
                            packet_flag_names[bit])
                 : snprintf(buf + n, size - n, "%s%#" PRIx32, sep,
                            UINT32_C(1) << bit));
        n += w > 0 ? (size_t) w : 0;
    }
    return buf;
}
