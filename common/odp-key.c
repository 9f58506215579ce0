#include "common/odp-key.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/openvswitch.h>
#include <netinet/icmp6.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/nl.h"

/* ---------------------------------------------------------------------
 * Policies.
 *
 * Every attribute type the ABI defines for keys has an entry, with its exact
 * size, so that nl_parse_attrs() rejects unknown types, duplicates and wrong
 * lengths before any field is looked at.  The tables are sized from the
 * enums, so a kernel header that adds a type breaks the build here instead of
 * silently rejecting (or accepting) it.
 * --------------------------------------------------------------------- */

#define FIXED(TYPE) \
    { .type = NL_A_UNSPEC, .min_len = sizeof(TYPE), .max_len = sizeof(TYPE), \
      .optional = true }
#define SIMPLE(NL_TYPE) { .type = (NL_TYPE), .optional = true }

static const struct nl_policy vxlan_ext_policy[] = {
    [OVS_VXLAN_EXT_GBP] = SIMPLE(NL_A_U32),
};
static_assert(ARRAY_SIZE(vxlan_ext_policy) == OVS_VXLAN_EXT_MAX + 1,
              "vxlan_ext_policy must cover every OVS_VXLAN_EXT_*");

/* Longest tunnel option block the kernel stores (IP_TUNNEL_OPTS_MAX), and
 * the longest Geneve block, which must be a multiple of 4. */
#define TUN_OPTS_MAX 255
#define GENEVE_OPTS_MAX 252

static const struct nl_policy tunnel_policy[] = {
    [OVS_TUNNEL_KEY_ATTR_ID] = SIMPLE(NL_A_BE64),
    [OVS_TUNNEL_KEY_ATTR_IPV4_SRC] = SIMPLE(NL_A_BE32),
    [OVS_TUNNEL_KEY_ATTR_IPV4_DST] = SIMPLE(NL_A_BE32),
    [OVS_TUNNEL_KEY_ATTR_TOS] = SIMPLE(NL_A_U8),
    [OVS_TUNNEL_KEY_ATTR_TTL] = SIMPLE(NL_A_U8),
    [OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT] = SIMPLE(NL_A_FLAG),
    [OVS_TUNNEL_KEY_ATTR_CSUM] = SIMPLE(NL_A_FLAG),
    [OVS_TUNNEL_KEY_ATTR_OAM] = SIMPLE(NL_A_FLAG),
    [OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS] = { .type = NL_A_UNSPEC, .min_len = 0,
                                          .max_len = GENEVE_OPTS_MAX,
                                          .optional = true },
    [OVS_TUNNEL_KEY_ATTR_TP_SRC] = SIMPLE(NL_A_BE16),
    [OVS_TUNNEL_KEY_ATTR_TP_DST] = SIMPLE(NL_A_BE16),
    [OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS] = {
        .type = NL_A_NESTED, .optional = true,
        .nested = vxlan_ext_policy, .n_nested = ARRAY_SIZE(vxlan_ext_policy),
    },
    [OVS_TUNNEL_KEY_ATTR_IPV6_SRC] = FIXED(struct in6_addr),
    [OVS_TUNNEL_KEY_ATTR_IPV6_DST] = FIXED(struct in6_addr),
    [OVS_TUNNEL_KEY_ATTR_PAD] = SIMPLE(NL_A_FLAG),
    [OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS] = { .type = NL_A_UNSPEC, .min_len = 0,
                                          .max_len = TUN_OPTS_MAX,
                                          .optional = true },
    [OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE] = SIMPLE(NL_A_FLAG),
};
static_assert(ARRAY_SIZE(tunnel_policy) == __OVS_TUNNEL_KEY_ATTR_MAX,
              "tunnel_policy must cover every OVS_TUNNEL_KEY_ATTR_*");

/* Longest MD type 2 context the kernel accepts (NSH_CTX_HDRS_MAX_LEN). */
#define NSH_MD2_MAX 248

static const struct nl_policy nsh_policy[] = {
    [OVS_NSH_KEY_ATTR_BASE] = FIXED(struct ovs_nsh_key_base),
    [OVS_NSH_KEY_ATTR_MD1] = FIXED(struct ovs_nsh_key_md1),
    [OVS_NSH_KEY_ATTR_MD2] = { .type = NL_A_UNSPEC, .min_len = 1,
                               .max_len = NSH_MD2_MAX, .optional = true },
};
static_assert(ARRAY_SIZE(nsh_policy) == __OVS_NSH_KEY_ATTR_MAX,
              "nsh_policy must cover every OVS_NSH_KEY_ATTR_*");

/* MPLS label stacks the kernel accepts: 1 to 3 entries. */
#define MPLS_MAX_LSES 3

/* Every key attribute is optional at the netlink level: which ones a key
 * needs depends on its ethertype and protocol, and a missing one is graded
 * ODP_FIT_TOO_LITTLE, not refused.  PACKET_TYPE and ND_EXTENSIONS (squatted
 * by userspace) and TUNNEL_INFO (kernel-internal) have no entry: they never
 * cross the datapath interface. */
static const struct nl_policy key_policy[] = {
    [OVS_KEY_ATTR_ENCAP] = SIMPLE(NL_A_NESTED),
    [OVS_KEY_ATTR_PRIORITY] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_IN_PORT] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_ETHERNET] = FIXED(struct ovs_key_ethernet),
    [OVS_KEY_ATTR_VLAN] = SIMPLE(NL_A_BE16),
    [OVS_KEY_ATTR_ETHERTYPE] = SIMPLE(NL_A_BE16),
    [OVS_KEY_ATTR_IPV4] = FIXED(struct ovs_key_ipv4),
    [OVS_KEY_ATTR_IPV6] = FIXED(struct ovs_key_ipv6),
    [OVS_KEY_ATTR_TCP] = FIXED(struct ovs_key_tcp),
    [OVS_KEY_ATTR_UDP] = FIXED(struct ovs_key_udp),
    [OVS_KEY_ATTR_ICMP] = FIXED(struct ovs_key_icmp),
    [OVS_KEY_ATTR_ICMPV6] = FIXED(struct ovs_key_icmpv6),
    [OVS_KEY_ATTR_ARP] = FIXED(struct ovs_key_arp),
    [OVS_KEY_ATTR_ND] = FIXED(struct ovs_key_nd),
    [OVS_KEY_ATTR_SKB_MARK] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_TUNNEL] = {
        .type = NL_A_NESTED, .optional = true,
        .nested = tunnel_policy, .n_nested = ARRAY_SIZE(tunnel_policy),
    },
    [OVS_KEY_ATTR_SCTP] = FIXED(struct ovs_key_sctp),
    [OVS_KEY_ATTR_TCP_FLAGS] = SIMPLE(NL_A_BE16),
    [OVS_KEY_ATTR_DP_HASH] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_RECIRC_ID] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_MPLS] = {
        .type = NL_A_UNSPEC, .min_len = sizeof(struct ovs_key_mpls),
        .max_len = MPLS_MAX_LSES * sizeof(struct ovs_key_mpls),
        .optional = true,
    },
    [OVS_KEY_ATTR_CT_STATE] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_CT_ZONE] = SIMPLE(NL_A_U16),
    [OVS_KEY_ATTR_CT_MARK] = SIMPLE(NL_A_U32),
    [OVS_KEY_ATTR_CT_LABELS] = FIXED(struct ovs_key_ct_labels),
    [OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4] = FIXED(struct ovs_key_ct_tuple_ipv4),
    [OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6] = FIXED(struct ovs_key_ct_tuple_ipv6),
    [OVS_KEY_ATTR_NSH] = {
        .type = NL_A_NESTED, .optional = true,
        .nested = nsh_policy, .n_nested = ARRAY_SIZE(nsh_policy),
    },
    [OVS_KEY_ATTR_PACKET_TYPE] = { .type = NL_A_NO_ATTR },
    [OVS_KEY_ATTR_ND_EXTENSIONS] = { .type = NL_A_NO_ATTR },
    [OVS_KEY_ATTR_TUNNEL_INFO] = { .type = NL_A_NO_ATTR },
    [OVS_KEY_ATTR_IPV6_EXTHDRS] = FIXED(struct ovs_key_ipv6_exthdrs),
};
static_assert(ARRAY_SIZE(key_policy) == __OVS_KEY_ATTR_MAX,
              "key_policy must cover every OVS_KEY_ATTR_*");
static_assert(OVS_KEY_ATTR_MAX < 64, "attribute sets are 64-bit masks");

#define N_KEY_ATTRS ARRAY_SIZE(key_policy)
#define N_TUNNEL_ATTRS ARRAY_SIZE(tunnel_policy)
#define BIT(TYPE) (UINT64_C(1) << (TYPE))

/* Attributes that describe the packet from the ethertype on: inside ENCAP
 * for a tagged frame.  All others (metadata, ETHERNET) belong outside. */
#define PACKET_ATTRS                                                       \
    (BIT(OVS_KEY_ATTR_ETHERTYPE) | BIT(OVS_KEY_ATTR_VLAN)                  \
     | BIT(OVS_KEY_ATTR_ENCAP) | BIT(OVS_KEY_ATTR_IPV4)                    \
     | BIT(OVS_KEY_ATTR_IPV6) | BIT(OVS_KEY_ATTR_TCP)                      \
     | BIT(OVS_KEY_ATTR_UDP) | BIT(OVS_KEY_ATTR_ICMP)                      \
     | BIT(OVS_KEY_ATTR_ICMPV6) | BIT(OVS_KEY_ATTR_ARP)                    \
     | BIT(OVS_KEY_ATTR_ND) | BIT(OVS_KEY_ATTR_SCTP)                       \
     | BIT(OVS_KEY_ATTR_TCP_FLAGS) | BIT(OVS_KEY_ATTR_MPLS)                \
     | BIT(OVS_KEY_ATTR_NSH) | BIT(OVS_KEY_ATTR_IPV6_EXTHDRS))
#define VLAN_ATTRS                                                         \
    (BIT(OVS_KEY_ATTR_ETHERTYPE) | BIT(OVS_KEY_ATTR_VLAN)                  \
     | BIT(OVS_KEY_ATTR_ENCAP))

/* Conntrack attributes: not modelled by struct flow; the kernel reports them
 * in every key, zero when the packet has not been through conntrack. */
static const uint16_t ct_attrs[] = {
    OVS_KEY_ATTR_CT_STATE, OVS_KEY_ATTR_CT_ZONE, OVS_KEY_ATTR_CT_MARK,
    OVS_KEY_ATTR_CT_LABELS, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4,
    OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6,
};

/* ---------------------------------------------------------------------
 * Shared helpers.
 * --------------------------------------------------------------------- */

const char *
odp_key_fitness_to_string(enum odp_key_fitness fitness)
{
    switch (fitness) {
    case ODP_FIT_PERFECT: return "perfect";
    case ODP_FIT_TOO_MUCH: return "too_much";
    case ODP_FIT_TOO_LITTLE: return "too_little";
    case ODP_FIT_ERROR: return "error";
    }
    return "<unknown>";
}

static bool
is_zero(const void *p_, size_t n)
{
    const uint8_t *p = p_;
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static bool
attr_is_zero(const struct nlattr *a)
{
    return is_zero(nl_attr_get(a), nl_attr_get_size(a));
}

static bool
in6_is_zero(const struct in6_addr *a)
{
    return is_zero(a, sizeof *a);
}

static bool
is_ipv4(const struct flow *flow)
{
    return flow->dl_type == htons(ETH_P_IP);
}

static bool
is_ipv6(const struct flow *flow)
{
    return flow->dl_type == htons(ETH_P_IPV6);
}

static bool
is_arp(const struct flow *flow)
{
    return flow->dl_type == htons(ETH_P_ARP)
           || flow->dl_type == htons(ETH_P_RARP);
}

/* The L4 attribute that the key of 'flow' carries, or 0 for none. */
static uint16_t
flow_l4_attr(const struct flow *flow)
{
    if ((!is_ipv4(flow) && !is_ipv6(flow))
        || flow->nw_frag & FLOW_NW_FRAG_LATER) {
        return 0;
    }
    switch (flow->nw_proto) {
    case IPPROTO_TCP: return OVS_KEY_ATTR_TCP;
    case IPPROTO_UDP: return OVS_KEY_ATTR_UDP;
    case IPPROTO_SCTP: return OVS_KEY_ATTR_SCTP;
    case IPPROTO_ICMP: return is_ipv4(flow) ? OVS_KEY_ATTR_ICMP : 0;
    case IPPROTO_ICMPV6: return is_ipv6(flow) ? OVS_KEY_ATTR_ICMPV6 : 0;
    default: return 0;
    }
}

/* True if the key of 'flow' carries ND: a neighbour solicitation or
 * advertisement, whatever its code (see the header). */
static bool
flow_is_nd(const struct flow *flow)
{
    return flow_l4_attr(flow) == OVS_KEY_ATTR_ICMPV6
           && (flow->tp_src == htons(ND_NEIGHBOR_SOLICIT)
               || flow->tp_src == htons(ND_NEIGHBOR_ADVERT));
}

/* Fragment type of the key for nw_frag 0, ANY and ANY|LATER. */
static uint8_t
frag_to_odp(uint8_t nw_frag)
{
    return (!(nw_frag & FLOW_NW_FRAG_ANY) ? OVS_FRAG_TYPE_NONE
            : nw_frag & FLOW_NW_FRAG_LATER ? OVS_FRAG_TYPE_LATER
            : OVS_FRAG_TYPE_FIRST);
}

static uint8_t
frag_from_odp(uint8_t frag)
{
    return (frag == OVS_FRAG_TYPE_NONE ? 0
            : frag == OVS_FRAG_TYPE_FIRST ? FLOW_NW_FRAG_ANY
            : FLOW_NW_FRAG_MASK);
}

/* The kernel masks the frag type value (0, 1, 2) bitwise: bit 1 alone tells
 * later fragments from the rest, which is the flow's LATER bit; telling
 * fragments from non-fragments needs both bits.  'nw_frag_mask' is
 * normalized (0, LATER or both). */
static uint8_t
frag_mask_to_odp(uint8_t nw_frag_mask)
{
    return (nw_frag_mask & FLOW_NW_FRAG_ANY ? 0xff
            : nw_frag_mask & FLOW_NW_FRAG_LATER ? OVS_FRAG_TYPE_LATER
            : 0);
}

/* Tracks the grade of a key being decoded and the reason for it. */
struct fit {
    enum odp_key_fitness grade; /* Worst grade so far. */
    struct errbuf *eb;          /* Reason for 'grade' (may be NULL). */
};

static void fit_note(struct fit *, enum odp_key_fitness, const char *fmt, ...)
    PRINTF_FORMAT(3, 4);

/* Lowers the grade to 'grade' if that is worse, with the reason 'fmt'. */
static void
fit_note(struct fit *fit, enum odp_key_fitness grade, const char *fmt, ...)
{
    if (grade <= fit->grade) {
        return;
    }
    fit->grade = grade;
    if (fit->eb) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(fit->eb->msg, sizeof fit->eb->msg, fmt, args);
        va_end(args);
    }
}

#define FIT_ERROR(FIT, ...) \
    (fit_note(FIT, ODP_FIT_ERROR, __VA_ARGS__), false)

/* Records an nl_parse_attrs() failure, whose reason is already in the
 * errbuf, prefixed with 'what'. */
static bool
fit_parse_error(struct fit *fit, const char *what)
{
    fit->grade = ODP_FIT_ERROR;
    errbuf_prefix(fit->eb, "%s: ", what);
    return false;
}

/* Index of the first attribute type set in 'set' (nonzero). */
static unsigned int
first_type(uint64_t set)
{
    return (unsigned int) __builtin_ctzll(set);
}

/* Set of the attribute types present in 'a'. */
static uint64_t
present_set(const struct nlattr *a[])
{
    uint64_t set = 0;
    for (size_t i = 0; i < N_KEY_ATTRS; i++) {
        if (a[i]) {
            set |= BIT(i);
        }
    }
    return set;
}

/* ---------------------------------------------------------------------
 * Encoding.
 * --------------------------------------------------------------------- */

/* Checks that 'flow' can be expressed as a key. */
static int
flow_check(const struct flow *flow, struct errbuf *eb)
{
    const struct flow_tnl *tnl = &flow->tunnel;
    uint16_t dl_type = ntohs(flow->dl_type);

    if (flow->in_port >= ODP_MAX_PORTS && flow->in_port != ODP_PORT_NONE) {
        return errbuf_set(eb, EINVAL, "input port %"PRIu32" is not below %u",
                          flow->in_port, ODP_MAX_PORTS);
    }
    if (tnl->flags & ~FLOW_TNL_F_MASK) {
        return errbuf_set(eb, EINVAL, "unknown tunnel flags 0x%x",
                          tnl->flags);
    }
    if (!tnl->ip_dst && (tnl->tun_id || tnl->ip_src || tnl->flags
                         || tnl->ip_tos || tnl->ip_ttl)) {
        return errbuf_set(eb, EINVAL,
                          "tunnel fields set without a tunnel destination");
    }
    if (tnl->tun_id && !(tnl->flags & FLOW_TNL_F_KEY)) {
        return errbuf_set(eb, EINVAL,
                          "tunnel ID set without FLOW_TNL_F_KEY");
    }
    if (flow->vlan_tci && !(flow->vlan_tci & htons(VLAN_CFI))) {
        return errbuf_set(eb, EINVAL, "VLAN TCI 0x%04"PRIx16" lacks VLAN_CFI",
                          ntohs(flow->vlan_tci));
    }
    if (dl_type < ETH_P_802_3_MIN && dl_type != FLOW_DL_TYPE_NONE) {
        return errbuf_set(eb, EINVAL, "ethertype 0x%04"PRIx16" is below "
                          "0x0600", dl_type);
    }
    if (dl_type == ETH_P_8021AD
        || (dl_type == ETH_P_8021Q && flow->vlan_tci)) {
        return errbuf_set(eb, EINVAL, "stacked VLAN tags (inner ethertype "
                          "0x%04"PRIx16") are not supported", dl_type);
    }
    if (dl_type == ETH_P_MPLS_UC || dl_type == ETH_P_MPLS_MC
        || dl_type == ETH_P_NSH) {
        return errbuf_set(eb, EINVAL, "ethertype 0x%04"PRIx16" needs "
                          "headers a flow does not hold", dl_type);
    }
    if (flow->nw_frag & ~FLOW_NW_FRAG_MASK
        || flow->nw_frag == FLOW_NW_FRAG_LATER) {
        return errbuf_set(eb, EINVAL, "invalid fragment flags 0x%x",
                          flow->nw_frag);
    }
    if (flow->ipv6_label & ~htonl(0xfffff)) {
        return errbuf_set(eb, EINVAL, "IPv6 flow label 0x%"PRIx32" exceeds "
                          "20 bits", ntohl(flow->ipv6_label));
    }
    return 0;
}

/* Appends a fixed-size attribute; in a mask, only if it matches anything. */
static void
put_struct(struct buf *b, uint16_t type, const void *data, size_t size,
           bool is_mask)
{
    if (!is_mask || !is_zero(data, size)) {
        nl_put_attr(b, type, data, size);
    }
}

static void
put_u32(struct buf *b, uint16_t type, uint32_t value, bool is_mask)
{
    put_struct(b, type, &value, sizeof value, is_mask);
}

static void
put_be16(struct buf *b, uint16_t type, ovs_be16 value, bool is_mask)
{
    put_struct(b, type, &value, sizeof value, is_mask);
}

/* Appends the TUNNEL nest for the key (or normalized mask) 'tnl'. */
static void
put_tunnel(struct buf *b, const struct flow_tnl *tnl, bool is_mask)
{
    size_t ofs = nl_nest_start(b, OVS_KEY_ATTR_TUNNEL);

    if (tnl->flags & FLOW_TNL_F_KEY) {
        nl_put_be64(b, OVS_TUNNEL_KEY_ATTR_ID, tnl->tun_id);
    }
    if (tnl->ip_src) {
        nl_put_be32(b, OVS_TUNNEL_KEY_ATTR_IPV4_SRC, tnl->ip_src);
    }
    if (tnl->ip_dst) {
        nl_put_be32(b, OVS_TUNNEL_KEY_ATTR_IPV4_DST, tnl->ip_dst);
    }
    if (tnl->ip_tos) {
        nl_put_u8(b, OVS_TUNNEL_KEY_ATTR_TOS, tnl->ip_tos);
    }
    if (!is_mask || tnl->ip_ttl) {
        nl_put_u8(b, OVS_TUNNEL_KEY_ATTR_TTL, tnl->ip_ttl);
    }
    if (tnl->flags & FLOW_TNL_F_DONT_FRAGMENT) {
        nl_put_flag(b, OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT);
    }
    if (tnl->flags & FLOW_TNL_F_CSUM) {
        nl_put_flag(b, OVS_TUNNEL_KEY_ATTR_CSUM);
    }
    if (tnl->flags & FLOW_TNL_F_OAM) {
        nl_put_flag(b, OVS_TUNNEL_KEY_ATTR_OAM);
    }
    nl_nest_end(b, ofs);
}

static void
put_ports(struct buf *b, uint16_t type, const struct flow *data, bool is_mask)
{
    /* struct ovs_key_tcp, _udp and _sctp share this layout. */
    struct ovs_key_tcp ports = { .tcp_src = data->tp_src,
                                 .tcp_dst = data->tp_dst };
    put_struct(b, type, &ports, sizeof ports, is_mask);
}

/* Appends the ethertype and what follows it: L3, then L4.  'flow' decides
 * which attributes the key has; 'data' holds the values (the flow itself, or
 * the normalized mask). */
static void
put_l3_onward(struct buf *b, const struct flow *flow,
              const struct flow *data, bool is_mask)
{
    if (is_mask ? !data->dl_type
                : flow->dl_type == htons(FLOW_DL_TYPE_NONE)) {
        return;
    }
    nl_put_be16(b, OVS_KEY_ATTR_ETHERTYPE, data->dl_type);
    if (flow->dl_type == htons(FLOW_DL_TYPE_NONE)) {
        return;
    }

    uint8_t frag = (is_mask ? frag_mask_to_odp(data->nw_frag)
                    : frag_to_odp(data->nw_frag));
    if (is_ipv4(flow)) {
        struct ovs_key_ipv4 ipv4 = {
            .ipv4_src = data->nw_src, .ipv4_dst = data->nw_dst,
            .ipv4_proto = data->nw_proto, .ipv4_tos = data->nw_tos,
            .ipv4_ttl = data->nw_ttl, .ipv4_frag = frag,
        };
        put_struct(b, OVS_KEY_ATTR_IPV4, &ipv4, sizeof ipv4, is_mask);
    } else if (is_ipv6(flow)) {
        struct ovs_key_ipv6 ipv6 = {
            .ipv6_label = data->ipv6_label, .ipv6_proto = data->nw_proto,
            .ipv6_tclass = data->nw_tos, .ipv6_hlimit = data->nw_ttl,
            .ipv6_frag = frag,
        };
        memcpy(ipv6.ipv6_src, &data->ipv6_src, sizeof ipv6.ipv6_src);
        memcpy(ipv6.ipv6_dst, &data->ipv6_dst, sizeof ipv6.ipv6_dst);
        put_struct(b, OVS_KEY_ATTR_IPV6, &ipv6, sizeof ipv6, is_mask);
    } else if (is_arp(flow)) {
        struct ovs_key_arp arp;
        /* 22 bytes of fields, 2 of padding: clear them, keys are hashed. */
        memset(&arp, 0, sizeof arp);
        arp.arp_sip = data->nw_src;
        arp.arp_tip = data->nw_dst;
        arp.arp_op = htons(data->nw_proto);
        memcpy(arp.arp_sha, data->arp_sha.ea, ETH_ALEN);
        memcpy(arp.arp_tha, data->arp_tha.ea, ETH_ALEN);
        put_struct(b, OVS_KEY_ATTR_ARP, &arp, sizeof arp, is_mask);
    }

    uint16_t l4 = flow_l4_attr(flow);
    if (!l4 || (is_mask && data->nw_proto != UINT8_MAX)) {
        return;
    }
    switch (l4) {
    case OVS_KEY_ATTR_TCP:
        put_ports(b, OVS_KEY_ATTR_TCP, data, is_mask);
        put_be16(b, OVS_KEY_ATTR_TCP_FLAGS, data->tcp_flags, is_mask);
        break;
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP:
        put_ports(b, l4, data, is_mask);
        break;
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6: {
        /* struct ovs_key_icmp and _icmpv6 share this layout. */
        struct ovs_key_icmp icmp = {
            .icmp_type = (uint8_t) ntohs(data->tp_src),
            .icmp_code = (uint8_t) ntohs(data->tp_dst),
        };
        put_struct(b, l4, &icmp, sizeof icmp, is_mask);
        if (flow_is_nd(flow)
            && (!is_mask || data->tp_src == htons(UINT8_MAX))) {
            struct ovs_key_nd nd;
            memcpy(nd.nd_target, &data->nd_target, sizeof nd.nd_target);
            memcpy(nd.nd_sll, data->arp_sha.ea, ETH_ALEN);
            memcpy(nd.nd_tll, data->arp_tha.ea, ETH_ALEN);
            put_struct(b, OVS_KEY_ATTR_ND, &nd, sizeof nd, is_mask);
        }
        break;
    }
    }
}

/* Appends everything from ETHERNET on. */
static void
put_l2_onward(struct buf *b, const struct flow *flow,
              const struct flow *data, bool is_mask)
{
    struct ovs_key_ethernet eth;
    memcpy(eth.eth_src, data->dl_src.ea, ETH_ALEN);
    memcpy(eth.eth_dst, data->dl_dst.ea, ETH_ALEN);
    put_struct(b, OVS_KEY_ATTR_ETHERNET, &eth, sizeof eth, is_mask);

    if (flow->vlan_tci) {
        if (is_mask && !data->dl_type) {
            /* Nothing inside the tag is matched: leave ENCAP out, and the
             * kernel matches the whole TCI (normalized to all-ones). */
            return;
        }
        nl_put_be16(b, OVS_KEY_ATTR_ETHERTYPE,
                    is_mask ? htons(UINT16_MAX) : htons(ETH_P_8021Q));
        nl_put_be16(b, OVS_KEY_ATTR_VLAN, data->vlan_tci);
        size_t ofs = nl_nest_start(b, OVS_KEY_ATTR_ENCAP);
        put_l3_onward(b, flow, data, is_mask);
        nl_nest_end(b, ofs);
    } else if (flow->dl_type == htons(ETH_P_8021Q)) {
        /* Truncated 802.1Q header: the kernel refuses VLAN and ENCAP in the
         * mask of such a key. */
        if (is_mask) {
            if (data->dl_type) {
                nl_put_be16(b, OVS_KEY_ATTR_ETHERTYPE, htons(UINT16_MAX));
            }
        } else {
            nl_put_be16(b, OVS_KEY_ATTR_ETHERTYPE, htons(ETH_P_8021Q));
            nl_put_be16(b, OVS_KEY_ATTR_VLAN, 0);
            nl_nest_end(b, nl_nest_start(b, OVS_KEY_ATTR_ENCAP));
        }
    } else {
        put_l3_onward(b, flow, data, is_mask);
    }
}

static void
put_key_or_mask(struct buf *b, const struct flow *flow,
                const struct flow *data, bool is_mask)
{
    put_u32(b, OVS_KEY_ATTR_PRIORITY, data->priority, is_mask);
    if (is_mask ? !is_zero(&data->tunnel, sizeof data->tunnel)
                : flow->tunnel.ip_dst != 0) {
        put_tunnel(b, &data->tunnel, is_mask);
    }
    put_u32(b, OVS_KEY_ATTR_SKB_MARK, data->skb_mark, is_mask);
    put_u32(b, OVS_KEY_ATTR_RECIRC_ID, data->recirc_id, is_mask);
    if (data->dp_hash) {
        nl_put_u32(b, OVS_KEY_ATTR_DP_HASH, data->dp_hash);
    }
    if (is_mask ? data->in_port != 0 : flow->in_port != ODP_PORT_NONE) {
        nl_put_u32(b, OVS_KEY_ATTR_IN_PORT, data->in_port);
    }
    put_l2_onward(b, flow, data, is_mask);
}

int
odp_key_from_flow(struct buf *b, const struct flow *flow, struct errbuf *eb)
{
    int error = flow_check(flow, eb);
    if (error) {
        return error;
    }
    put_key_or_mask(b, flow, flow, false);
    return 0;
}

void
odp_mask_normalize(const struct flow *flow, const struct flow *mask,
                   struct flow *out)
{
    struct flow e;

    memset(&e, 0, sizeof e);
    e.priority = mask->priority;
    e.skb_mark = mask->skb_mark;
    e.recirc_id = mask->recirc_id;
    e.dp_hash = mask->dp_hash;
    e.in_port = mask->in_port ? UINT32_MAX : 0;

    e.tunnel.tun_id = mask->tunnel.tun_id;
    e.tunnel.ip_src = mask->tunnel.ip_src;
    e.tunnel.ip_dst = mask->tunnel.ip_dst;
    e.tunnel.ip_tos = mask->tunnel.ip_tos;
    e.tunnel.ip_ttl = mask->tunnel.ip_ttl;
    e.tunnel.flags = mask->tunnel.flags & FLOW_TNL_F_MASK;
    if (e.tunnel.tun_id) {
        /* ID presence is what matches the KEY flag. */
        e.tunnel.flags |= FLOW_TNL_F_KEY;
    }

    e.dl_dst = mask->dl_dst;
    e.dl_src = mask->dl_src;

    uint8_t frag = (mask->nw_frag & FLOW_NW_FRAG_ANY ? FLOW_NW_FRAG_MASK
                    : mask->nw_frag & FLOW_NW_FRAG_LATER);
    if (is_ipv4(flow)) {
        e.nw_src = mask->nw_src;
        e.nw_dst = mask->nw_dst;
        e.nw_proto = mask->nw_proto;
        e.nw_tos = mask->nw_tos;
        e.nw_ttl = mask->nw_ttl;
        e.nw_frag = frag;
    } else if (is_ipv6(flow)) {
        e.ipv6_src = mask->ipv6_src;
        e.ipv6_dst = mask->ipv6_dst;
        e.ipv6_label = mask->ipv6_label;
        e.nw_proto = mask->nw_proto;
        e.nw_tos = mask->nw_tos;
        e.nw_ttl = mask->nw_ttl;
        e.nw_frag = frag;
    } else if (is_arp(flow)) {
        e.nw_src = mask->nw_src;
        e.nw_dst = mask->nw_dst;
        /* The opcode travels as 16 bits; the flow keeps the low 8. */
        e.nw_proto = mask->nw_proto;
        e.arp_sha = mask->arp_sha;
        e.arp_tha = mask->arp_tha;
    }

    bool l4_matched = false;
    switch (flow_l4_attr(flow)) {
    case OVS_KEY_ATTR_TCP:
        e.tcp_flags = mask->tcp_flags;
        /* fall through */
    case OVS_KEY_ATTR_UDP:
    case OVS_KEY_ATTR_SCTP:
        e.tp_src = mask->tp_src;
        e.tp_dst = mask->tp_dst;
        l4_matched = e.tp_src || e.tp_dst || e.tcp_flags;
        break;
    case OVS_KEY_ATTR_ICMP:
    case OVS_KEY_ATTR_ICMPV6:
        e.tp_src = mask->tp_src & htons(UINT8_MAX);
        e.tp_dst = mask->tp_dst & htons(UINT8_MAX);
        if (flow_is_nd(flow)) {
            e.nd_target = mask->nd_target;
            e.arp_sha = mask->arp_sha;
            e.arp_tha = mask->arp_tha;
            if (!in6_is_zero(&e.nd_target) || !eth_addr_is_zero(e.arp_sha)
                || !eth_addr_is_zero(e.arp_tha)) {
                e.tp_src = htons(UINT8_MAX);
            }
        }
        l4_matched = e.tp_src || e.tp_dst;
        break;
    }
    if (l4_matched) {
        e.nw_proto = UINT8_MAX;
    }

    size_t l3_ofs = offsetof(struct flow, nw_src);
    bool l3_matched = !is_zero((const uint8_t *) &e + l3_ofs,
                               offsetof(struct flow, pad) - l3_ofs);
    e.dl_type = l3_matched || mask->dl_type ? htons(UINT16_MAX) : 0;

    if (flow->vlan_tci) {
        e.vlan_tci = mask->vlan_tci | htons(VLAN_CFI);
        if (e.vlan_tci != htons(UINT16_MAX)) {
            /* A partial TCI mask needs ENCAP, and the kernel ignores an
             * empty ENCAP: match the inner ethertype to keep it. */
            e.dl_type = htons(UINT16_MAX);
        }
    } else {
        /* The kernel always matches the TCI of an untagged flow. */
        e.vlan_tci = htons(UINT16_MAX);
    }
    *out = e;
}

int
odp_mask_from_flow(struct buf *b, const struct flow *mask,
                   const struct flow *flow, struct errbuf *eb)
{
    struct flow e;

    int error = flow_check(flow, eb);
    if (error) {
        return error;
    }
    odp_mask_normalize(flow, mask, &e);
    if (e.dp_hash && !flow->dp_hash) {
        return errbuf_set(eb, EINVAL, "cannot match dp_hash: the key of a "
                          "flow with dp_hash 0 has no DP_HASH attribute");
    }
    put_key_or_mask(b, flow, &e, true);
    return 0;
}

/* ---------------------------------------------------------------------
 * Decoding keys.
 * --------------------------------------------------------------------- */

/* Checks a tunnel key's attributes 't' as the kernel would and grades what
 * struct flow_tnl does not model.  Returns false on error; '*modelledp'
 * tells whether the fields are to be decoded (no bridge-mode or IPv6
 * tunnel). */
static bool
check_tunnel_key(const struct nlattr *t[], bool *modelledp, struct fit *fit)
{
    bool v4 = (t[OVS_TUNNEL_KEY_ATTR_IPV4_SRC]
               || t[OVS_TUNNEL_KEY_ATTR_IPV4_DST]);
    bool v6 = (t[OVS_TUNNEL_KEY_ATTR_IPV6_SRC]
               || t[OVS_TUNNEL_KEY_ATTR_IPV6_DST]);
    bool bridge = t[OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE] != NULL;
    const struct nlattr *geneve = t[OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS];
    int n_opts = ((geneve != NULL)
                  + (t[OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS] != NULL)
                  + (t[OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS] != NULL));

    *modelledp = false;
    if (v4 && v6) {
        return FIT_ERROR(fit, "tunnel key mixes IPv4 and IPv6 addresses");
    }
    if (n_opts > 1) {
        return FIT_ERROR(fit, "tunnel key has several option blocks");
    }
    if (geneve && nl_attr_get_size(geneve) % 4) {
        return FIT_ERROR(fit, "Geneve options length %zu is not a multiple "
                         "of 4", nl_attr_get_size(geneve));
    }
    if (!bridge) {
        const struct nlattr *dst = t[v6 ? OVS_TUNNEL_KEY_ATTR_IPV6_DST
                                        : OVS_TUNNEL_KEY_ATTR_IPV4_DST];
        if (!dst || attr_is_zero(dst)) {
            return FIT_ERROR(fit, "tunnel key has no %s destination",
                             v6 ? "IPv6" : "IPv4");
        }
        if (!t[OVS_TUNNEL_KEY_ATTR_TTL]) {
            return FIT_ERROR(fit, "tunnel key has no TTL");
        }
    }
    if (n_opts) {
        fit_note(fit, ODP_FIT_TOO_MUCH, "tunnel key has tunnel options");
    }
    if ((t[OVS_TUNNEL_KEY_ATTR_TP_SRC]
         && !attr_is_zero(t[OVS_TUNNEL_KEY_ATTR_TP_SRC]))
        || (t[OVS_TUNNEL_KEY_ATTR_TP_DST]
            && !attr_is_zero(t[OVS_TUNNEL_KEY_ATTR_TP_DST]))) {
        fit_note(fit, ODP_FIT_TOO_MUCH, "tunnel key has transport ports");
    }
    if (bridge || v6) {
        fit_note(fit, ODP_FIT_TOO_MUCH, "%s tunnel key",
                 bridge ? "bridge-mode" : "IPv6");
        return true;
    }
    *modelledp = true;
    return true;
}

/* Grades the tunnel mask attributes 't' that match what struct flow_tnl
 * does not model.  A mask needs no destination or TTL: all its attributes
 * are optional. */
static void
check_tunnel_mask(const struct nlattr *t[], struct fit *fit)
{
    static const uint16_t unmodelled[] = {
        OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS, OVS_TUNNEL_KEY_ATTR_TP_SRC,
        OVS_TUNNEL_KEY_ATTR_TP_DST, OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS,
        OVS_TUNNEL_KEY_ATTR_IPV6_SRC, OVS_TUNNEL_KEY_ATTR_IPV6_DST,
        OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS, OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE,
    };
    for (size_t i = 0; i < ARRAY_SIZE(unmodelled); i++) {
        const struct nlattr *u = t[unmodelled[i]];
        if (u && (!nl_attr_get_size(u) || !attr_is_zero(u))) {
            fit_note(fit, ODP_FIT_TOO_MUCH, "tunnel mask matches tunnel "
                     "attribute type %u", unmodelled[i]);
        }
    }
}

/* Decodes the TUNNEL nest 'nest' of a key, or with 'is_mask' of a mask,
 * into 'tnl'.  The two differ only in what they check: a key's
 * destination and TTL are mandatory (check_tunnel_key() makes sure they
 * are there), a mask's attributes are all optional. */
static bool
decode_tunnel(const struct nlattr *nest, struct flow_tnl *tnl, bool is_mask,
              struct fit *fit)
{
    const struct nlattr *t[N_TUNNEL_ATTRS];
    bool modelled = true;

    if (nl_parse_nested(nest, tunnel_policy, N_TUNNEL_ATTRS, t, fit->eb)) {
        return fit_parse_error(fit, is_mask ? "tunnel mask" : "tunnel key");
    }
    if (is_mask) {
        check_tunnel_mask(t, fit);
    } else if (!check_tunnel_key(t, &modelled, fit)) {
        return false;
    }
    if (!modelled) {
        return true;
    }
    if (t[OVS_TUNNEL_KEY_ATTR_ID]) {
        tnl->tun_id = nl_attr_get_be64(t[OVS_TUNNEL_KEY_ATTR_ID]);
        tnl->flags |= FLOW_TNL_F_KEY;
    }
    if (t[OVS_TUNNEL_KEY_ATTR_IPV4_SRC]) {
        tnl->ip_src = nl_attr_get_be32(t[OVS_TUNNEL_KEY_ATTR_IPV4_SRC]);
    }
    if (t[OVS_TUNNEL_KEY_ATTR_IPV4_DST]) {
        tnl->ip_dst = nl_attr_get_be32(t[OVS_TUNNEL_KEY_ATTR_IPV4_DST]);
    }
    if (t[OVS_TUNNEL_KEY_ATTR_TOS]) {
        tnl->ip_tos = nl_attr_get_u8(t[OVS_TUNNEL_KEY_ATTR_TOS]);
    }
    if (t[OVS_TUNNEL_KEY_ATTR_TTL]) {
        tnl->ip_ttl = nl_attr_get_u8(t[OVS_TUNNEL_KEY_ATTR_TTL]);
    }
    if (t[OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT]) {
        tnl->flags |= FLOW_TNL_F_DONT_FRAGMENT;
    }
    if (t[OVS_TUNNEL_KEY_ATTR_CSUM]) {
        tnl->flags |= FLOW_TNL_F_CSUM;
    }
    if (t[OVS_TUNNEL_KEY_ATTR_OAM]) {
        tnl->flags |= FLOW_TNL_F_OAM;
    }
    return true;
}

/* Metadata: everything outside the packet attributes, except ETHERNET. */
static bool
decode_metadata(const struct nlattr *a[], struct flow *flow, struct fit *fit)
{
    if (a[OVS_KEY_ATTR_PRIORITY]) {
        flow->priority = nl_attr_get_u32(a[OVS_KEY_ATTR_PRIORITY]);
    }
    if (a[OVS_KEY_ATTR_SKB_MARK]) {
        flow->skb_mark = nl_attr_get_u32(a[OVS_KEY_ATTR_SKB_MARK]);
    }
    if (a[OVS_KEY_ATTR_RECIRC_ID]) {
        flow->recirc_id = nl_attr_get_u32(a[OVS_KEY_ATTR_RECIRC_ID]);
    }
    if (a[OVS_KEY_ATTR_DP_HASH]) {
        flow->dp_hash = nl_attr_get_u32(a[OVS_KEY_ATTR_DP_HASH]);
    }
    flow->in_port = ODP_PORT_NONE;
    if (a[OVS_KEY_ATTR_IN_PORT]) {
        uint32_t port = nl_attr_get_u32(a[OVS_KEY_ATTR_IN_PORT]);
        if (port >= ODP_MAX_PORTS) {
            return FIT_ERROR(fit, "input port %"PRIu32" is not below %u",
                             port, ODP_MAX_PORTS);
        }
        flow->in_port = port;
    }
    if (a[OVS_KEY_ATTR_TUNNEL]
        && !decode_tunnel(a[OVS_KEY_ATTR_TUNNEL], &flow->tunnel, false,
                          fit)) {
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(ct_attrs); i++) {
        const struct nlattr *ct = a[ct_attrs[i]];
        if (ct && !attr_is_zero(ct)) {
            fit_note(fit, ODP_FIT_TOO_MUCH,
                     "key has conntrack attribute type %u", ct_attrs[i]);
        }
    }
    return true;
}

/* The L3 and L4 attribute decoders below fill the fields of a key's
 * struct flow or, with 'is_mask', of a mask's.  They differ only where a
 * value that no key may hold is a legal mask (an IPv4 fragment mask of 0xff,
 * an IPv6 label mask of all ones, an ARP opcode mask of 0xffff): a key is
 * checked, a mask's fragment bits are kept raw for the caller to map. */
static bool
decode_ipv4(const struct nlattr *attr, struct flow *flow, bool is_mask,
            struct fit *fit)
{
    struct ovs_key_ipv4 ipv4;

    memcpy(&ipv4, nl_attr_get(attr), sizeof ipv4);
    if (!is_mask && ipv4.ipv4_frag > OVS_FRAG_TYPE_MAX) {
        return FIT_ERROR(fit, "IPv4 fragment type %u is above %u",
                         ipv4.ipv4_frag, OVS_FRAG_TYPE_MAX);
    }
    flow->nw_src = ipv4.ipv4_src;
    flow->nw_dst = ipv4.ipv4_dst;
    flow->nw_proto = ipv4.ipv4_proto;
    flow->nw_tos = ipv4.ipv4_tos;
    flow->nw_ttl = ipv4.ipv4_ttl;
    flow->nw_frag = is_mask ? ipv4.ipv4_frag : frag_from_odp(ipv4.ipv4_frag);
    return true;
}

static bool
decode_ipv6(const struct nlattr *attr, struct flow *flow, bool is_mask,
            struct fit *fit)
{
    struct ovs_key_ipv6 ipv6;

    memcpy(&ipv6, nl_attr_get(attr), sizeof ipv6);
    if (!is_mask && ipv6.ipv6_frag > OVS_FRAG_TYPE_MAX) {
        return FIT_ERROR(fit, "IPv6 fragment type %u is above %u",
                         ipv6.ipv6_frag, OVS_FRAG_TYPE_MAX);
    }
    if (!is_mask && ipv6.ipv6_label & ~htonl(0xfffff)) {
        return FIT_ERROR(fit, "IPv6 flow label 0x%"PRIx32" exceeds 20 bits",
                         ntohl(ipv6.ipv6_label));
    }
    memcpy(&flow->ipv6_src, ipv6.ipv6_src, sizeof flow->ipv6_src);
    memcpy(&flow->ipv6_dst, ipv6.ipv6_dst, sizeof flow->ipv6_dst);
    flow->ipv6_label = ipv6.ipv6_label;
    flow->nw_proto = ipv6.ipv6_proto;
    flow->nw_tos = ipv6.ipv6_tclass;
    flow->nw_ttl = ipv6.ipv6_hlimit;
    flow->nw_frag = is_mask ? ipv6.ipv6_frag : frag_from_odp(ipv6.ipv6_frag);
    return true;
}

static bool
decode_arp(const struct nlattr *attr, struct flow *flow, bool is_mask,
           struct fit *fit)
{
    struct ovs_key_arp arp;

    memcpy(&arp, nl_attr_get(attr), sizeof arp);
    if (!is_mask && arp.arp_op & htons(0xff00)) {
        return FIT_ERROR(fit, "ARP opcode %"PRIu16" is above 255",
                         ntohs(arp.arp_op));
    }
    flow->nw_src = arp.arp_sip;
    flow->nw_dst = arp.arp_tip;
    flow->nw_proto = (uint8_t) ntohs(arp.arp_op);
    memcpy(flow->arp_sha.ea, arp.arp_sha, ETH_ALEN);
    memcpy(flow->arp_tha.ea, arp.arp_tha, ETH_ALEN);
    return true;
}

/* Decodes the L4 attribute 'attr' of type 'l4' (flow_l4_attr()): ICMP type
 * and code, or transport ports.  Keys and masks alike. */
static void
decode_l4_ports(uint16_t l4, const struct nlattr *attr, struct flow *flow)
{
    if (l4 == OVS_KEY_ATTR_ICMP || l4 == OVS_KEY_ATTR_ICMPV6) {
        struct ovs_key_icmp icmp;
        memcpy(&icmp, nl_attr_get(attr), sizeof icmp);
        flow->tp_src = htons(icmp.icmp_type);
        flow->tp_dst = htons(icmp.icmp_code);
    } else {
        struct ovs_key_tcp ports;
        memcpy(&ports, nl_attr_get(attr), sizeof ports);
        flow->tp_src = ports.tcp_src;
        flow->tp_dst = ports.tcp_dst;
    }
}

/* Decodes an ND attribute.  Keys and masks alike. */
static void
decode_nd(const struct nlattr *attr, struct flow *flow)
{
    struct ovs_key_nd nd;

    memcpy(&nd, nl_attr_get(attr), sizeof nd);
    memcpy(&flow->nd_target, nd.nd_target, sizeof flow->nd_target);
    memcpy(flow->arp_sha.ea, nd.nd_sll, ETH_ALEN);
    memcpy(flow->arp_tha.ea, nd.nd_tll, ETH_ALEN);
}

/* Decodes the L4 attributes that 'flow' calls for.  Returns the set of
 * attribute types it used. */
static uint64_t
decode_l4(const struct nlattr *a[], struct flow *flow, struct fit *fit)
{
    uint16_t l4 = flow_l4_attr(flow);
    uint64_t used = 0;

    if (!l4) {
        return 0;
    }
    used |= BIT(l4);
    if (!a[l4]) {
        fit_note(fit, ODP_FIT_TOO_LITTLE, "key for IP protocol %u has no "
                 "attribute type %u", flow->nw_proto, l4);
        return used;
    }
    decode_l4_ports(l4, a[l4], flow);
    if (flow_is_nd(flow)) {
        used |= BIT(OVS_KEY_ATTR_ND);
        if (!a[OVS_KEY_ATTR_ND]) {
            fit_note(fit, ODP_FIT_TOO_LITTLE, "neighbour discovery key "
                     "has no ND attribute");
        } else {
            decode_nd(a[OVS_KEY_ATTR_ND], flow);
        }
    } else if (l4 == OVS_KEY_ATTR_TCP) {
        used |= BIT(OVS_KEY_ATTR_TCP_FLAGS);
        if (!a[OVS_KEY_ATTR_TCP_FLAGS]) {
            fit_note(fit, ODP_FIT_TOO_LITTLE, "TCP key has no TCP_FLAGS "
                     "attribute");
        } else {
            flow->tcp_flags = nl_attr_get_be16(a[OVS_KEY_ATTR_TCP_FLAGS]);
        }
    }
    return used;
}

/* Decodes the packet attributes from the ethertype on, at the top level of
 * an untagged key or inside the ENCAP of a tagged one. */
static bool
decode_l3_onward(const struct nlattr *a[], struct flow *flow, struct fit *fit)
{
    uint64_t used = 0;

    if (!a[OVS_KEY_ATTR_ETHERTYPE]) {
        flow->dl_type = htons(FLOW_DL_TYPE_NONE);
    } else {
        ovs_be16 dl_type = nl_attr_get_be16(a[OVS_KEY_ATTR_ETHERTYPE]);
        used |= BIT(OVS_KEY_ATTR_ETHERTYPE);
        if (ntohs(dl_type) < ETH_P_802_3_MIN) {
            return FIT_ERROR(fit, "ethertype 0x%04"PRIx16" is below 0x0600",
                             ntohs(dl_type));
        }
        flow->dl_type = dl_type;
    }

    switch (ntohs(flow->dl_type)) {
    case ETH_P_8021Q:
    case ETH_P_8021AD:
        /* Only seen inside ENCAP: decode_l2_5() takes the outer tag. */
        used |= BIT(OVS_KEY_ATTR_VLAN) | BIT(OVS_KEY_ATTR_ENCAP);
        fit_note(fit, ODP_FIT_TOO_MUCH, "key has stacked VLAN tags");
        break;
    case ETH_P_IP:
    case ETH_P_IPV6:
    case ETH_P_ARP:
    case ETH_P_RARP: {
        uint16_t l3 = (is_ipv4(flow) ? OVS_KEY_ATTR_IPV4
                       : is_ipv6(flow) ? OVS_KEY_ATTR_IPV6
                       : OVS_KEY_ATTR_ARP);
        used |= BIT(l3);
        if (!a[l3]) {
            fit_note(fit, ODP_FIT_TOO_LITTLE, "key for ethertype "
                     "0x%04"PRIx16" has no attribute type %u",
                     ntohs(flow->dl_type), l3);
            break;
        }
        bool ok = (l3 == OVS_KEY_ATTR_IPV4
                   ? decode_ipv4(a[l3], flow, false, fit)
                   : l3 == OVS_KEY_ATTR_IPV6
                   ? decode_ipv6(a[l3], flow, false, fit)
                   : decode_arp(a[l3], flow, false, fit));
        if (!ok) {
            return false;
        }
        used |= decode_l4(a, flow, fit);
        if (l3 == OVS_KEY_ATTR_IPV6) {
            const struct nlattr *ext = a[OVS_KEY_ATTR_IPV6_EXTHDRS];
            used |= BIT(OVS_KEY_ATTR_IPV6_EXTHDRS);
            if (ext && !attr_is_zero(ext)) {
                fit_note(fit, ODP_FIT_TOO_MUCH, "key has IPv6 extension "
                         "headers");
            }
        }
        break;
    }
    case ETH_P_MPLS_UC:
    case ETH_P_MPLS_MC:
    case ETH_P_NSH: {
        uint16_t type = (flow->dl_type == htons(ETH_P_NSH)
                         ? OVS_KEY_ATTR_NSH : OVS_KEY_ATTR_MPLS);
        used |= BIT(type);
        if (!a[type]) {
            fit_note(fit, ODP_FIT_TOO_LITTLE, "key for ethertype "
                     "0x%04"PRIx16" has no attribute type %u",
                     ntohs(flow->dl_type), type);
        }
        break;
    }
    }

    const struct nlattr *mpls = a[OVS_KEY_ATTR_MPLS];
    if (mpls && nl_attr_get_size(mpls) % sizeof(struct ovs_key_mpls)) {
        return FIT_ERROR(fit, "MPLS attribute of %zu bytes is not a whole "
                         "number of label stack entries",
                         nl_attr_get_size(mpls));
    }
    if (a[OVS_KEY_ATTR_MPLS] || a[OVS_KEY_ATTR_NSH]) {
        fit_note(fit, ODP_FIT_TOO_MUCH, "key has %s",
                 a[OVS_KEY_ATTR_MPLS] ? "MPLS" : "NSH");
    }
    if (!(used & BIT(OVS_KEY_ATTR_VLAN))
        && (a[OVS_KEY_ATTR_VLAN] || a[OVS_KEY_ATTR_ENCAP])) {
        return FIT_ERROR(fit, "VLAN or ENCAP attribute without ethertype "
                         "0x8100");
    }

    uint64_t extra = present_set(a) & PACKET_ATTRS & ~used;
    extra &= ~(BIT(OVS_KEY_ATTR_MPLS) | BIT(OVS_KEY_ATTR_NSH));
    if (extra) {
        fit_note(fit, ODP_FIT_TOO_MUCH, "key has attribute type %u, which "
                 "its protocols do not call for", first_type(extra));
    }
    return true;
}

/* Decodes from the outer ethertype on: the VLAN tag if any, then the rest. */
static bool
decode_l2_5(const struct nlattr *a[], struct flow *flow, struct fit *fit)
{
    const struct nlattr *et = a[OVS_KEY_ATTR_ETHERTYPE];
    ovs_be16 dl_type = et ? nl_attr_get_be16(et) : 0;

    if (dl_type == htons(ETH_P_8021AD)) {
        flow->dl_type = dl_type;
        fit_note(fit, ODP_FIT_TOO_MUCH, "key has an 802.1ad tag");
        return true;
    }
    if (dl_type != htons(ETH_P_8021Q)) {
        return decode_l3_onward(a, flow, fit);
    }

    const struct nlattr *vlan = a[OVS_KEY_ATTR_VLAN];
    const struct nlattr *encap = a[OVS_KEY_ATTR_ENCAP];
    if (!vlan || !encap) {
        return FIT_ERROR(fit, "ethertype 0x8100 without VLAN and ENCAP");
    }
    uint64_t outside = present_set(a) & PACKET_ATTRS & ~VLAN_ATTRS;
    if (outside) {
        return FIT_ERROR(fit, "attribute type %u outside ENCAP in a VLAN key",
                         first_type(outside));
    }

    ovs_be16 tci = nl_attr_get_be16(vlan);
    if (!(tci & htons(VLAN_CFI))) {
        if (tci) {
            return FIT_ERROR(fit, "VLAN TCI 0x%04"PRIx16" lacks the CFI bit",
                             ntohs(tci));
        }
        if (nl_attr_get_size(encap)) {
            return FIT_ERROR(fit, "truncated VLAN header with a non-empty "
                             "ENCAP");
        }
        flow->dl_type = dl_type;
        return true;
    }
    flow->vlan_tci = tci;

    const struct nlattr *in[N_KEY_ATTRS];
    if (nl_parse_nested(encap, key_policy, N_KEY_ATTRS, in, fit->eb)) {
        return fit_parse_error(fit, "in ENCAP");
    }
    uint64_t misplaced = present_set(in) & ~PACKET_ATTRS;
    if (misplaced) {
        return FIT_ERROR(fit, "attribute type %u not allowed inside ENCAP",
                         first_type(misplaced));
    }
    return decode_l3_onward(in, flow, fit);
}

enum odp_key_fitness
odp_key_to_flow(const void *key, size_t len, struct flow *flowp,
                struct errbuf *eb)
{
    const struct nlattr *a[N_KEY_ATTRS];
    struct fit fit = { ODP_FIT_PERFECT, eb };
    struct flow flow;

    memset(&flow, 0, sizeof flow);
    if (nl_parse_attrs(key, len, key_policy, N_KEY_ATTRS, a, eb)) {
        errbuf_prefix(eb, "flow key: ");
        return ODP_FIT_ERROR;
    }
    if (!decode_metadata(a, &flow, &fit)) {
        return ODP_FIT_ERROR;
    }
    if (a[OVS_KEY_ATTR_ETHERNET]) {
        struct ovs_key_ethernet eth;
        memcpy(&eth, nl_attr_get(a[OVS_KEY_ATTR_ETHERNET]), sizeof eth);
        memcpy(flow.dl_src.ea, eth.eth_src, ETH_ALEN);
        memcpy(flow.dl_dst.ea, eth.eth_dst, ETH_ALEN);
    } else {
        fit_note(&fit, ODP_FIT_TOO_LITTLE, "key has no ETHERNET attribute");
    }
    if (!decode_l2_5(a, &flow, &fit)) {
        return ODP_FIT_ERROR;
    }
    *flowp = flow;
    return fit.grade;
}

/* ---------------------------------------------------------------------
 * Decoding masks.
 * --------------------------------------------------------------------- */

/* Parses a mask stream and forgets all-zero attributes, which the kernel
 * treats as absent. */
static bool
parse_mask_attrs(const void *attrs, size_t len, const struct nlattr *a[],
                 const char *what, struct fit *fit)
{
    if (nl_parse_attrs(attrs, len, key_policy, N_KEY_ATTRS, a, fit->eb)) {
        return fit_parse_error(fit, what);
    }
    for (size_t i = 0; i < N_KEY_ATTRS; i++) {
        if (a[i] && attr_is_zero(a[i])) {
            a[i] = NULL;
        }
    }
    return true;
}

/* Refuses the mask attribute 'type' unless 'allowed', i.e. unless the key
 * has it and its prerequisite ('prereq', for the reason) is matched exactly,
 * as the kernel's match validation requires. */
static bool
check_mask_prereq(uint16_t type, bool allowed, const char *prereq,
                  struct fit *fit)
{
    if (!allowed) {
        return FIT_ERROR(fit, "mask attribute type %u needs %s", type,
                         prereq);
    }
    return true;
}

static bool
decode_mask_l3_onward(const struct nlattr *a[], const struct flow *flow,
                      struct flow *m, struct fit *fit)
{
    bool exact_type = a[OVS_KEY_ATTR_ETHERTYPE] != NULL;
    if (exact_type) {
        m->dl_type = htons(UINT16_MAX);
    }

    if (a[OVS_KEY_ATTR_IPV4]) {
        if (!check_mask_prereq(OVS_KEY_ATTR_IPV4, is_ipv4(flow) && exact_type,
                               "an IPv4 flow and an exact ethertype", fit)) {
            return false;
        }
        decode_ipv4(a[OVS_KEY_ATTR_IPV4], m, true, fit);
    } else if (a[OVS_KEY_ATTR_IPV6]) {
        if (!check_mask_prereq(OVS_KEY_ATTR_IPV6, is_ipv6(flow) && exact_type,
                               "an IPv6 flow and an exact ethertype", fit)) {
            return false;
        }
        decode_ipv6(a[OVS_KEY_ATTR_IPV6], m, true, fit);
    }
    if (a[OVS_KEY_ATTR_IPV4] && a[OVS_KEY_ATTR_IPV6]) {
        return FIT_ERROR(fit, "mask has both IPV4 and IPV6");
    }
    if (a[OVS_KEY_ATTR_IPV4] || a[OVS_KEY_ATTR_IPV6]) {
        /* Only 0, LATER and exact have a struct flow equivalent. */
        switch (m->nw_frag & 3) {
        case 0: m->nw_frag = 0; break;
        case OVS_FRAG_TYPE_LATER: m->nw_frag = FLOW_NW_FRAG_LATER; break;
        case 3: m->nw_frag = FLOW_NW_FRAG_MASK; break;
        default:
            return FIT_ERROR(fit, "fragment mask 0x%02x matches first "
                             "fragments only", m->nw_frag);
        }
    }
    if (a[OVS_KEY_ATTR_ARP]) {
        if (!check_mask_prereq(OVS_KEY_ATTR_ARP, is_arp(flow) && exact_type,
                               "an ARP flow and an exact ethertype", fit)) {
            return false;
        }
        if (a[OVS_KEY_ATTR_IPV4] || a[OVS_KEY_ATTR_IPV6]) {
            return FIT_ERROR(fit, "mask has both ARP and IP attributes");
        }
        decode_arp(a[OVS_KEY_ATTR_ARP], m, true, fit);
    }

    uint16_t l4 = flow_l4_attr(flow);
    bool exact_proto = m->nw_proto == UINT8_MAX;
    static const uint16_t l4_types[] = {
        OVS_KEY_ATTR_TCP, OVS_KEY_ATTR_UDP, OVS_KEY_ATTR_SCTP,
        OVS_KEY_ATTR_ICMP, OVS_KEY_ATTR_ICMPV6, OVS_KEY_ATTR_TCP_FLAGS,
    };
    for (size_t i = 0; i < ARRAY_SIZE(l4_types); i++) {
        uint16_t type = l4_types[i];
        uint16_t want = (type == OVS_KEY_ATTR_TCP_FLAGS ? OVS_KEY_ATTR_TCP
                         : type);
        if (a[type]
            && !check_mask_prereq(type, l4 == want && exact_proto,
                                  "a flow of that protocol and an exact "
                                  "IP protocol", fit)) {
            return false;
        }
    }
    if (l4 && a[l4]) {
        decode_l4_ports(l4, a[l4], m);
    }
    if (a[OVS_KEY_ATTR_TCP_FLAGS]) {
        m->tcp_flags = nl_attr_get_be16(a[OVS_KEY_ATTR_TCP_FLAGS]);
    }
    if (a[OVS_KEY_ATTR_ND]) {
        if (!check_mask_prereq(OVS_KEY_ATTR_ND, flow_is_nd(flow)
                               && m->tp_src == htons(UINT8_MAX),
                               "a neighbour discovery flow and an exact "
                               "ICMPv6 type", fit)) {
            return false;
        }
        decode_nd(a[OVS_KEY_ATTR_ND], m);
    }

    static const uint16_t unmodelled[] = {
        OVS_KEY_ATTR_MPLS, OVS_KEY_ATTR_NSH, OVS_KEY_ATTR_IPV6_EXTHDRS,
    };
    for (size_t i = 0; i < ARRAY_SIZE(unmodelled); i++) {
        if (a[unmodelled[i]]) {
            fit_note(fit, ODP_FIT_TOO_MUCH, "mask matches attribute type %u",
                     unmodelled[i]);
        }
    }
    return true;
}

static bool
decode_mask(const struct nlattr *a[], const struct flow *flow,
            struct flow *m, struct fit *fit)
{
    if (a[OVS_KEY_ATTR_PRIORITY]) {
        m->priority = nl_attr_get_u32(a[OVS_KEY_ATTR_PRIORITY]);
    }
    if (a[OVS_KEY_ATTR_SKB_MARK]) {
        m->skb_mark = nl_attr_get_u32(a[OVS_KEY_ATTR_SKB_MARK]);
    }
    if (a[OVS_KEY_ATTR_RECIRC_ID]) {
        m->recirc_id = nl_attr_get_u32(a[OVS_KEY_ATTR_RECIRC_ID]);
    }
    if (a[OVS_KEY_ATTR_DP_HASH]) {
        if (!flow->dp_hash) {
            return FIT_ERROR(fit, "mask matches dp_hash but the key has no "
                             "DP_HASH");
        }
        m->dp_hash = nl_attr_get_u32(a[OVS_KEY_ATTR_DP_HASH]);
    }
    if (a[OVS_KEY_ATTR_IN_PORT]) {
        /* The kernel matches in_port exactly whatever the mask says. */
        m->in_port = UINT32_MAX;
    }
    if (a[OVS_KEY_ATTR_TUNNEL]
        && !decode_tunnel(a[OVS_KEY_ATTR_TUNNEL], &m->tunnel, true, fit)) {
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(ct_attrs); i++) {
        if (a[ct_attrs[i]]) {
            fit_note(fit, ODP_FIT_TOO_MUCH, "mask matches conntrack "
                     "attribute type %u", ct_attrs[i]);
        }
    }
    if (a[OVS_KEY_ATTR_ETHERNET]) {
        struct ovs_key_ethernet eth;
        memcpy(&eth, nl_attr_get(a[OVS_KEY_ATTR_ETHERNET]), sizeof eth);
        memcpy(m->dl_src.ea, eth.eth_src, ETH_ALEN);
        memcpy(m->dl_dst.ea, eth.eth_dst, ETH_ALEN);
    }

    m->vlan_tci = htons(UINT16_MAX);
    if (!flow->vlan_tci) {
        if (a[OVS_KEY_ATTR_VLAN] || a[OVS_KEY_ATTR_ENCAP]) {
            return FIT_ERROR(fit, "VLAN or ENCAP in the mask of an untagged "
                             "flow");
        }
        return decode_mask_l3_onward(a, flow, m, fit);
    }

    uint64_t packet = present_set(a) & PACKET_ATTRS;
    if (!a[OVS_KEY_ATTR_ENCAP]) {
        if (packet) {
            return FIT_ERROR(fit, "mask of a VLAN flow has attribute type %u "
                             "but no ENCAP", first_type(packet));
        }
        return true;
    }
    if (packet & ~VLAN_ATTRS) {
        return FIT_ERROR(fit, "attribute type %u outside ENCAP in a VLAN mask",
                         first_type(packet & ~VLAN_ATTRS));
    }
    if (!a[OVS_KEY_ATTR_ETHERTYPE]
        || nl_attr_get_be16(a[OVS_KEY_ATTR_ETHERTYPE]) != htons(UINT16_MAX)) {
        return FIT_ERROR(fit, "VLAN mask does not match the TPID exactly");
    }
    if (!a[OVS_KEY_ATTR_VLAN]
        || !(nl_attr_get_be16(a[OVS_KEY_ATTR_VLAN]) & htons(VLAN_CFI))) {
        return FIT_ERROR(fit, "VLAN TCI mask does not match the CFI bit");
    }
    m->vlan_tci = nl_attr_get_be16(a[OVS_KEY_ATTR_VLAN]);

    const struct nlattr *in[N_KEY_ATTRS];
    if (!parse_mask_attrs(nl_attr_get(a[OVS_KEY_ATTR_ENCAP]),
                          nl_attr_get_size(a[OVS_KEY_ATTR_ENCAP]), in,
                          "in mask ENCAP", fit)) {
        return false;
    }
    uint64_t misplaced = present_set(in) & ~(PACKET_ATTRS & ~VLAN_ATTRS);
    misplaced &= ~BIT(OVS_KEY_ATTR_ETHERTYPE);
    if (misplaced) {
        return FIT_ERROR(fit, "attribute type %u not allowed inside mask "
                         "ENCAP", first_type(misplaced));
    }
    if (!decode_mask_l3_onward(in, flow, m, fit)) {
        return false;
    }
    if (m->vlan_tci != htons(UINT16_MAX) && !m->dl_type) {
        return FIT_ERROR(fit, "partial VLAN TCI mask without an exact inner "
                         "ethertype");
    }
    return true;
}

void
odp_mask_exact(const struct flow *flow, struct flow *mask)
{
    struct flow m;

    /* Every field whose attribute the key carries is exact. */
    flow_mask_exact(&m);
    if (!flow->dp_hash) {
        m.dp_hash = 0;
    }
    if (flow->in_port == ODP_PORT_NONE) {
        m.in_port = 0;
    }
    if (!flow->tunnel.ip_dst) {
        memset(&m.tunnel, 0, sizeof m.tunnel);
    }
    odp_mask_normalize(flow, &m, mask);
}

enum odp_key_fitness
odp_mask_to_flow(const void *mask, size_t len, const struct flow *flow,
                 struct flow *mask_out, struct errbuf *eb)
{
    struct fit fit = { ODP_FIT_PERFECT, eb };
    struct flow m;

    const struct nlattr *a[N_KEY_ATTRS];
    memset(&m, 0, sizeof m);
    if (!parse_mask_attrs(mask, len, a, "flow mask", &fit)
        || !decode_mask(a, flow, &m, &fit)) {
        return ODP_FIT_ERROR;
    }
    *mask_out = m;
    return fit.grade;
}
