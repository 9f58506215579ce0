#include "common/bytes.h"
#include "common/odp-format.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/openvswitch.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "common/nl.h"

/* The largest payload one attribute (and so one nested stream) can hold. */
#define ODP_MAX_LEN (UINT16_MAX - NLA_HDRLEN)

/* Largest fixed-size key payload (struct ovs_key_ipv6). */
#define ODP_MAX_FIXED 64

/* OVS_HASH_ALG_SYM_L4 is newer than some kernel headers. */
#define ODP_HASH_ALG_SYM_L4 1

/* VLAN TCI layout. */
#define VLAN_VID_MASK 0x0fff
#define VLAN_CFI 0x1000
#define VLAN_PCP_SHIFT 13

#define IPV6_LABEL_MASK 0x000fffff
#define TCP_FLAGS_MASK 0x0fff

/* ==== Catalogue of key attributes ==== */

/* How one field of a structure-shaped key attribute is written. */
enum field_kind {
    FIELD_U8,                   /* Decimal byte ("ttl=64"). */
    FIELD_U8X,                  /* Hex byte ("tos=0x3"). */
    FIELD_BE16,                 /* Decimal 16-bit ("src=80"). */
    FIELD_BE64,                 /* Hex 64-bit ("tun_id=0x5"). */
    FIELD_IPV4,                 /* Dotted quad. */
    FIELD_IPV6,                 /* inet_ntop() form. */
    FIELD_ETH,                  /* Colon-separated MAC. */
    FIELD_LABEL,                /* IPv6 flow label, 20 bits, hex. */
    FIELD_FRAG,                 /* "no", "first", "later". */
};

/* One named field at a byte offset of a key payload. */
struct key_field {
    const char *name;           /* Name before '='. */
    enum field_kind kind;       /* Syntax and size. */
    size_t offset;              /* Byte offset in the payload. */
};

#define FIELD(NAME, KIND, STRUCT, MEMBER) \
    { NAME, KIND, offsetof(struct STRUCT, MEMBER) }

static const struct key_field eth_fields[] = {
    FIELD("src", FIELD_ETH, ovs_key_ethernet, eth_src),
    FIELD("dst", FIELD_ETH, ovs_key_ethernet, eth_dst),
};
static const struct key_field ipv4_fields[] = {
    FIELD("src", FIELD_IPV4, ovs_key_ipv4, ipv4_src),
    FIELD("dst", FIELD_IPV4, ovs_key_ipv4, ipv4_dst),
    FIELD("proto", FIELD_U8, ovs_key_ipv4, ipv4_proto),
    FIELD("tos", FIELD_U8X, ovs_key_ipv4, ipv4_tos),
    FIELD("ttl", FIELD_U8, ovs_key_ipv4, ipv4_ttl),
    FIELD("frag", FIELD_FRAG, ovs_key_ipv4, ipv4_frag),
};
static const struct key_field ipv6_fields[] = {
    FIELD("src", FIELD_IPV6, ovs_key_ipv6, ipv6_src),
    FIELD("dst", FIELD_IPV6, ovs_key_ipv6, ipv6_dst),
    FIELD("label", FIELD_LABEL, ovs_key_ipv6, ipv6_label),
    FIELD("proto", FIELD_U8, ovs_key_ipv6, ipv6_proto),
    FIELD("tclass", FIELD_U8X, ovs_key_ipv6, ipv6_tclass),
    FIELD("hlimit", FIELD_U8, ovs_key_ipv6, ipv6_hlimit),
    FIELD("frag", FIELD_FRAG, ovs_key_ipv6, ipv6_frag),
};
static const struct key_field tcp_fields[] = {
    FIELD("src", FIELD_BE16, ovs_key_tcp, tcp_src),
    FIELD("dst", FIELD_BE16, ovs_key_tcp, tcp_dst),
};
static const struct key_field udp_fields[] = {
    FIELD("src", FIELD_BE16, ovs_key_udp, udp_src),
    FIELD("dst", FIELD_BE16, ovs_key_udp, udp_dst),
};
static const struct key_field sctp_fields[] = {
    FIELD("src", FIELD_BE16, ovs_key_sctp, sctp_src),
    FIELD("dst", FIELD_BE16, ovs_key_sctp, sctp_dst),
};
static const struct key_field icmp_fields[] = {
    FIELD("type", FIELD_U8, ovs_key_icmp, icmp_type),
    FIELD("code", FIELD_U8, ovs_key_icmp, icmp_code),
};
static const struct key_field icmpv6_fields[] = {
    FIELD("type", FIELD_U8, ovs_key_icmpv6, icmpv6_type),
    FIELD("code", FIELD_U8, ovs_key_icmpv6, icmpv6_code),
};
static const struct key_field arp_fields[] = {
    FIELD("sip", FIELD_IPV4, ovs_key_arp, arp_sip),
    FIELD("tip", FIELD_IPV4, ovs_key_arp, arp_tip),
    FIELD("op", FIELD_BE16, ovs_key_arp, arp_op),
    FIELD("sha", FIELD_ETH, ovs_key_arp, arp_sha),
    FIELD("tha", FIELD_ETH, ovs_key_arp, arp_tha),
};
static const struct key_field nd_fields[] = {
    FIELD("target", FIELD_IPV6, ovs_key_nd, nd_target),
    FIELD("sll", FIELD_ETH, ovs_key_nd, nd_sll),
    FIELD("tll", FIELD_ETH, ovs_key_nd, nd_tll),
};

/* How a key attribute is written. */
enum attr_shape {
    SHAPE_NONE,                 /* No name here: "keyN(hex)". */
    SHAPE_U32,                  /* "%#x" with "/%#x" mask. */
    SHAPE_IN_PORT,              /* Decimal; "/%#x" mask. */
    SHAPE_ETHERTYPE,            /* "0x%04x". */
    SHAPE_VLAN,                 /* vid=,pcp=,cfi= of a TCI. */
    SHAPE_TCP_FLAGS,            /* Flag names. */
    SHAPE_STRUCT,               /* "field=value" list. */
    SHAPE_ENCAP,                /* Nested key attributes. */
    SHAPE_TUNNEL,               /* Nested OVS_TUNNEL_KEY_ATTR_*. */
};

/* Everything the formatter and parser need to know of one key type. */
struct key_attr {
    const char *name;           /* Text name, NULL for SHAPE_NONE. */
    enum attr_shape shape;      /* Syntax. */
    size_t len;                 /* Payload size; 0 for nested shapes. */
    const struct key_field *fields;     /* SHAPE_STRUCT: the fields. */
    size_t n_fields;                    /* SHAPE_STRUCT: how many. */
};

#define STRUCT_ATTR(NAME, STRUCT, FIELDS) \
    { NAME, SHAPE_STRUCT, sizeof(struct STRUCT), FIELDS, ARRAY_SIZE(FIELDS) }

static const struct key_attr key_attrs[] = {
    [OVS_KEY_ATTR_ENCAP] = { "encap", SHAPE_ENCAP, 0, NULL, 0 },
    [OVS_KEY_ATTR_PRIORITY] = { "skb_priority", SHAPE_U32, 4, NULL, 0 },
    [OVS_KEY_ATTR_IN_PORT] = { "in_port", SHAPE_IN_PORT, 4, NULL, 0 },
    [OVS_KEY_ATTR_ETHERNET] = STRUCT_ATTR("eth", ovs_key_ethernet,
                                          eth_fields),
    [OVS_KEY_ATTR_VLAN] = { "vlan", SHAPE_VLAN, 2, NULL, 0 },
    [OVS_KEY_ATTR_ETHERTYPE] = { "eth_type", SHAPE_ETHERTYPE, 2, NULL, 0 },
    [OVS_KEY_ATTR_IPV4] = STRUCT_ATTR("ipv4", ovs_key_ipv4, ipv4_fields),
    [OVS_KEY_ATTR_IPV6] = STRUCT_ATTR("ipv6", ovs_key_ipv6, ipv6_fields),
    [OVS_KEY_ATTR_TCP] = STRUCT_ATTR("tcp", ovs_key_tcp, tcp_fields),
    [OVS_KEY_ATTR_UDP] = STRUCT_ATTR("udp", ovs_key_udp, udp_fields),
    [OVS_KEY_ATTR_ICMP] = STRUCT_ATTR("icmp", ovs_key_icmp, icmp_fields),
    [OVS_KEY_ATTR_ICMPV6] = STRUCT_ATTR("icmpv6", ovs_key_icmpv6,
                                        icmpv6_fields),
    [OVS_KEY_ATTR_ARP] = STRUCT_ATTR("arp", ovs_key_arp, arp_fields),
    [OVS_KEY_ATTR_ND] = STRUCT_ATTR("nd", ovs_key_nd, nd_fields),
    [OVS_KEY_ATTR_SKB_MARK] = { "skb_mark", SHAPE_U32, 4, NULL, 0 },
    [OVS_KEY_ATTR_TUNNEL] = { "tunnel", SHAPE_TUNNEL, 0, NULL, 0 },
    [OVS_KEY_ATTR_SCTP] = STRUCT_ATTR("sctp", ovs_key_sctp, sctp_fields),
    [OVS_KEY_ATTR_TCP_FLAGS] = { "tcp_flags", SHAPE_TCP_FLAGS, 2, NULL, 0 },
    [OVS_KEY_ATTR_DP_HASH] = { "dp_hash", SHAPE_U32, 4, NULL, 0 },
    [OVS_KEY_ATTR_RECIRC_ID] = { "recirc_id", SHAPE_U32, 4, NULL, 0 },
};

static const struct key_attr *
key_attr_get(uint16_t type)
{
    static const struct key_attr none = { NULL, SHAPE_NONE, 0, NULL, 0 };

    return (type < ARRAY_SIZE(key_attrs) && key_attrs[type].name
            ? &key_attrs[type] : &none);
}

/* Tunnel members with a "name=value" syntax. */
struct tun_field {
    const char *name;           /* Name before '='. */
    uint16_t type;              /* OVS_TUNNEL_KEY_ATTR_*. */
    enum field_kind kind;       /* Syntax and size. */
};

static const struct tun_field tun_fields[] = {
    { "tun_id", OVS_TUNNEL_KEY_ATTR_ID, FIELD_BE64 },
    { "src", OVS_TUNNEL_KEY_ATTR_IPV4_SRC, FIELD_IPV4 },
    { "dst", OVS_TUNNEL_KEY_ATTR_IPV4_DST, FIELD_IPV4 },
    { "ipv6_src", OVS_TUNNEL_KEY_ATTR_IPV6_SRC, FIELD_IPV6 },
    { "ipv6_dst", OVS_TUNNEL_KEY_ATTR_IPV6_DST, FIELD_IPV6 },
    { "tos", OVS_TUNNEL_KEY_ATTR_TOS, FIELD_U8X },
    { "ttl", OVS_TUNNEL_KEY_ATTR_TTL, FIELD_U8 },
    { "tp_src", OVS_TUNNEL_KEY_ATTR_TP_SRC, FIELD_BE16 },
    { "tp_dst", OVS_TUNNEL_KEY_ATTR_TP_DST, FIELD_BE16 },
};

/* Tunnel flags, in the bit order they print ("-df-csum+key"). */
enum {
    TUN_F_OAM = 1 << 0,
    TUN_F_DF = 1 << 1,
    TUN_F_CSUM = 1 << 2,
    TUN_F_KEY = 1 << 3,
    TUN_F_ALL = (1 << 4) - 1,
};

/* A named bit of a flags field. */
struct flag_name {
    uint32_t bit;               /* The bit. */
    const char *name;           /* Its name. */
};

static const struct flag_name tun_flag_names[] = {
    { TUN_F_OAM, "oam" }, { TUN_F_DF, "df" }, { TUN_F_CSUM, "csum" },
    { TUN_F_KEY, "key" },
};

static const struct flag_name tcp_flag_names[] = {
    { 0x001, "fin" }, { 0x002, "syn" }, { 0x004, "rst" }, { 0x008, "psh" },
    { 0x010, "ack" }, { 0x020, "urg" }, { 0x040, "ece" }, { 0x080, "cwr" },
    { 0x100, "ns" }, { 0x200, "[200]" }, { 0x400, "[400]" },
    { 0x800, "[800]" },
};

/* Where each tunnel flag lives in the stream. */
static uint16_t
tun_flag_attr(uint32_t bit)
{
    return (bit == TUN_F_OAM ? OVS_TUNNEL_KEY_ATTR_OAM
            : bit == TUN_F_DF ? OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT
            : OVS_TUNNEL_KEY_ATTR_CSUM);
}

static const struct tun_field *
tun_field_by_type(uint16_t type)
{
    for (size_t i = 0; i < ARRAY_SIZE(tun_fields); i++) {
        if (tun_fields[i].type == type) {
            return &tun_fields[i];
        }
    }
    return NULL;
}

/* ==== Field helpers shared by formatting and parsing ==== */

static size_t
field_size(enum field_kind kind)
{
    switch (kind) {
    case FIELD_U8: case FIELD_U8X: case FIELD_FRAG: return 1;
    case FIELD_BE16: return 2;
    case FIELD_IPV4: case FIELD_LABEL: return 4;
    case FIELD_BE64: return 8;
    case FIELD_ETH: return ADDR_ETH_LEN;
    case FIELD_IPV6: return 16;
    }
    return 0;
}

/* Writes the mask that a field gets when it is given without "/mask": all
 * ones, except the 20 bits of an IPv6 label. */
static void
field_exact_mask(enum field_kind kind, uint8_t *mask)
{
    if (kind == FIELD_LABEL) {
        ovs_be32 m = htonl(IPV6_LABEL_MASK);
        memcpy(mask, &m, sizeof m);
    } else {
        memset(mask, 0xff, field_size(kind));
    }
}

static bool
is_all(const uint8_t *p, size_t n, uint8_t byte)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != byte) {
            return false;
        }
    }
    return true;
}





static const char *
frag_name(uint8_t frag)
{
    return (frag == OVS_FRAG_TYPE_NONE ? "no"
            : frag == OVS_FRAG_TYPE_FIRST ? "first"
            : frag == OVS_FRAG_TYPE_LATER ? "later"
            : "<error>");
}

/* ==== Formatting ==== */

static void format_key_stream(struct ds *, const uint8_t *key, size_t key_len,
                              const uint8_t *mask, size_t mask_len,
                              bool has_mask, bool verbose, int depth);
static void format_action_list(struct ds *, const uint8_t *actions,
                               size_t len, int depth);

/* Prints one field value (or mask) of 'kind' at 'p'. */
static void
format_field_bytes(struct ds *out, enum field_kind kind, const uint8_t *p,
                   bool is_mask)
{
    switch (kind) {
    case FIELD_U8:
        ds_put_format(out, is_mask ? "%#"PRIx8 : "%"PRIu8, p[0]);
        break;
    case FIELD_U8X:
    case FIELD_FRAG:
        ds_put_format(out, "%#"PRIx8, p[0]);
        break;
    case FIELD_BE16:
        ds_put_format(out, is_mask ? "%#"PRIx16 : "%"PRIu16, ntoh16_at(p));
        break;
    case FIELD_BE64:
        ds_put_format(out, is_mask ? "%#"PRIx64 : "0x%"PRIx64, ntoh64_at(p));
        break;
    case FIELD_IPV4: {
        ovs_be32 ip;
        memcpy(&ip, p, sizeof ip);
        addr_format_ipv4(out, ip);
        break;
    }
    case FIELD_IPV6: {
        struct in6_addr ip;
        memcpy(&ip, p, sizeof ip);
        addr_format_ipv6(out, &ip);
        break;
    }
    case FIELD_ETH:
        addr_format_eth(out, p);
        break;
    case FIELD_LABEL:
        ds_put_format(out, "%#"PRIx32, ntoh32_at(p));
        break;
    }
}

/* Prints "name=value[/mask]," for one field, or nothing if it is wildcarded
 * and not 'verbose'.  'mask' is NULL for an exact match. */
static void
format_field(struct ds *out, const char *name, enum field_kind kind,
             const uint8_t *key, const uint8_t *mask, bool verbose)
{
    size_t size = field_size(kind);
    uint8_t exact[16];
    bool empty = mask && is_all(mask, size, 0);
    bool full = true;

    field_exact_mask(kind, exact);
    for (size_t i = 0; mask && i < size; i++) {
        if ((mask[i] & exact[i]) != exact[i]) {
            full = false;
        }
    }

    if (kind == FIELD_FRAG) {
        /* An enumeration: a partial mask has no meaning. */
        if (!empty && !full) {
            ds_put_format(out, "error: partial mask not supported for frag "
                          "(%#"PRIx8"),", mask[0]);
        } else if (!empty) {
            ds_put_format(out, "%s=%s,", name, frag_name(key[0]));
        }
        return;
    }
    if (empty && !verbose) {
        return;
    }
    ds_put_format(out, "%s=", name);
    format_field_bytes(out, kind, key, false);
    if (!full) {
        ds_put_char(out, '/');
        format_field_bytes(out, kind, mask, true);
    }
    ds_put_char(out, ',');
}

/* Prints the flags in 'flags' as "a|b|c", or "0" if none. */
static void
format_flags(struct ds *out, const struct flag_name *names, size_t n_names,
             uint32_t flags)
{
    uint32_t unnamed = flags;

    if (!flags) {
        ds_put_char(out, '0');
        return;
    }
    for (size_t i = 0; i < n_names; i++) {
        if (flags & names[i].bit) {
            ds_put_format(out, "%s|", names[i].name);
            unnamed &= ~names[i].bit;
        }
    }
    if (unnamed) {
        ds_put_format(out, "0x%"PRIx32"|", unnamed);
    }
    ds_chomp(out, '|');
}

/* Prints 'flags' under 'mask': plain if 'mask' is 'all', "0/0" if it is
 * empty, else "+a-b" for each masked bit. */
static void
format_flags_masked(struct ds *out, const struct flag_name *names,
                    size_t n_names, uint32_t flags, uint32_t mask,
                    uint32_t all)
{
    if (mask == all) {
        format_flags(out, names, n_names, flags);
    } else if (!mask) {
        ds_put_cstr(out, "0/0");
    } else {
        for (size_t i = 0; i < n_names; i++) {
            if (mask & names[i].bit) {
                ds_put_format(out, "%c%s", flags & names[i].bit ? '+' : '-',
                              names[i].name);
            }
        }
    }
}

/* Prints a VLAN TCI as ovs-dpctl does, for keys and for push_vlan. */
static void
format_vlan_tci(struct ds *out, uint16_t tci, uint16_t mask, bool verbose)
{
    unsigned int vid = tci & VLAN_VID_MASK, vid_mask = mask & VLAN_VID_MASK;
    unsigned int pcp = tci >> VLAN_PCP_SHIFT;
    unsigned int pcp_mask = mask >> VLAN_PCP_SHIFT;

    if (verbose || vid || vid_mask) {
        ds_put_format(out, "vid=%u", vid);
        if (vid_mask != VLAN_VID_MASK) {
            ds_put_format(out, "/0x%x", vid_mask);
        }
        ds_put_char(out, ',');
    }
    if (verbose || pcp || pcp_mask) {
        ds_put_format(out, "pcp=%u", pcp);
        if (pcp_mask != 7) {
            ds_put_format(out, "/0x%x", pcp_mask);
        }
        ds_put_char(out, ',');
    }
    if (!(tci & VLAN_CFI)) {
        ds_put_cstr(out, "cfi=0,");
    }
    ds_chomp(out, ',');
}

/* Prints an attribute this module has no syntax for (or a malformed one) as
 * "<prefix>N(hex[/hex])". */
static void
format_generic(struct ds *out, const char *prefix, uint16_t type,
               const uint8_t *key, size_t key_len,
               const uint8_t *mask, size_t mask_len)
{
    ds_put_format(out, "%s%u(", prefix, type);
    ds_put_hex(out, key, key_len);
    if (mask && !(mask_len == key_len && is_all(mask, mask_len, 0xff))) {
        ds_put_char(out, '/');
        ds_put_hex(out, mask, mask_len);
    }
    ds_put_char(out, ')');
}

/* Finds attribute 'type' in a stream, as its payload; NULL if absent. */
static const uint8_t *
find_payload(const uint8_t *stream, size_t len, uint16_t type, size_t *sizep)
{
    const struct nlattr *a = len ? nl_find_attr(stream, len, type) : NULL;

    if (!a) {
        *sizep = 0;
        return NULL;
    }
    *sizep = nl_attr_get_size(a);
    return nl_attr_get(a);
}

static void
format_tunnel(struct ds *out, const uint8_t *key, size_t key_len,
              const uint8_t *mask, size_t mask_len, bool has_mask,
              bool verbose)
{
    static const uint8_t zeros[16];
    uint32_t flags = 0, mask_flags = 0;
    const struct nlattr *a;
    size_t left;

    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) (const void *) key,
                      key_len) {
        uint16_t type = nl_attr_type(a);
        const uint8_t *k = nl_attr_get(a);
        size_t k_len = nl_attr_get_size(a);
        size_t m_len = 0;
        const uint8_t *m = (has_mask
                            ? find_payload(mask, mask_len, type, &m_len)
                            : NULL);
        const struct tun_field *tf = tun_field_by_type(type);

        if (tf && k_len == field_size(tf->kind)
            && (!m || m_len == k_len)) {
            if (has_mask && !m) {
                m = zeros;
            }
            format_field(out, tf->name, tf->kind, k, m, verbose);
            if (type == OVS_TUNNEL_KEY_ATTR_ID) {
                flags |= TUN_F_KEY;
                mask_flags |= has_mask ? TUN_F_KEY : 0;
            }
        } else if (type == OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT && !k_len) {
            flags |= TUN_F_DF;
        } else if (type == OVS_TUNNEL_KEY_ATTR_CSUM && !k_len) {
            flags |= TUN_F_CSUM;
        } else if (type == OVS_TUNNEL_KEY_ATTR_OAM && !k_len) {
            flags |= TUN_F_OAM;
        } else if (!has_mask || verbose || !m || !is_all(m, m_len, 0)) {
            format_generic(out, "key", type, k, k_len,
                           has_mask ? (m ? m : zeros) : NULL,
                           has_mask ? (m ? m_len : k_len) : 0);
            ds_put_char(out, ',');
        }
    }
    if (has_mask) {
        NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) (const void *) mask,
                          mask_len) {
            uint16_t type = nl_attr_type(a);
            mask_flags |= (type == OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT ? TUN_F_DF
                           : type == OVS_TUNNEL_KEY_ATTR_CSUM ? TUN_F_CSUM
                           : type == OVS_TUNNEL_KEY_ATTR_OAM ? TUN_F_OAM
                           : 0);
        }
    }
    if (!has_mask) {
        ds_put_cstr(out, "flags(");
        format_flags(out, tun_flag_names, ARRAY_SIZE(tun_flag_names), flags);
        ds_put_cstr(out, ")");
    } else if (verbose || mask_flags) {
        ds_put_cstr(out, "flags(");
        format_flags_masked(out, tun_flag_names, ARRAY_SIZE(tun_flag_names),
                            flags, mask_flags, TUN_F_ALL);
        ds_put_cstr(out, ")");
    }
    ds_chomp(out, ',');
}

/* Formats one key attribute of 'type' with payload 'key'.  With 'has_mask',
 * 'mask' is the matching mask payload, or NULL if the mask has none (a
 * wildcard); without, the key is exact. */
static void
format_key_attr(struct ds *out, uint16_t type, const uint8_t *key,
                size_t key_len, const uint8_t *mask, size_t mask_len,
                bool has_mask, bool verbose, int depth)
{
    static const uint8_t zeros[ODP_MAX_FIXED];
    const struct key_attr *ka = key_attr_get(type);
    bool nested = ka->shape == SHAPE_ENCAP || ka->shape == SHAPE_TUNNEL;

    if (ka->shape == SHAPE_NONE
        || (nested && depth >= ODP_MAX_DEPTH)
        || (!nested && (key_len != ka->len
                        || (mask && mask_len != ka->len)))) {
        format_generic(out, "key", type, key, key_len,
                       has_mask ? (mask ? mask : zeros) : NULL,
                       has_mask ? (mask ? mask_len : MIN(key_len,
                                                         sizeof zeros)) : 0);
        return;
    }
    if (has_mask && !mask) {
        mask = zeros;
        mask_len = nested ? 0 : key_len;
    }

    bool exact = !mask || is_all(mask, mask_len, 0xff);
    ds_put_format(out, "%s(", ka->name);
    switch (ka->shape) {
    case SHAPE_U32:
        ds_put_format(out, "%#"PRIx32, get_unaligned_u32(key));
        if (!exact) {
            ds_put_format(out, "/%#"PRIx32, get_unaligned_u32(mask));
        }
        break;
    case SHAPE_IN_PORT:
        ds_put_format(out, "%"PRIu32, get_unaligned_u32(key));
        if (!exact) {
            ds_put_format(out, "/%#"PRIx32, get_unaligned_u32(mask));
        }
        break;
    case SHAPE_ETHERTYPE:
        ds_put_format(out, "0x%04"PRIx16, ntoh16_at(key));
        if (!exact) {
            ds_put_format(out, "/0x%04"PRIx16, ntoh16_at(mask));
        }
        break;
    case SHAPE_VLAN:
        format_vlan_tci(out, ntoh16_at(key), mask ? ntoh16_at(mask) : 0xffff,
                        verbose);
        break;
    case SHAPE_TCP_FLAGS:
        if (mask) {
            format_flags_masked(out, tcp_flag_names,
                                ARRAY_SIZE(tcp_flag_names), ntoh16_at(key),
                                ntoh16_at(mask) & TCP_FLAGS_MASK,
                                TCP_FLAGS_MASK);
        } else {
            format_flags(out, tcp_flag_names, ARRAY_SIZE(tcp_flag_names),
                         ntoh16_at(key));
        }
        break;
    case SHAPE_STRUCT:
        for (size_t i = 0; i < ka->n_fields; i++) {
            const struct key_field *f = &ka->fields[i];
            format_field(out, f->name, f->kind, key + f->offset,
                         mask ? mask + f->offset : NULL, verbose);
        }
        ds_chomp(out, ',');
        break;
    case SHAPE_ENCAP:
        format_key_stream(out, key, key_len, mask, mask_len, has_mask,
                          verbose, depth + 1);
        break;
    case SHAPE_TUNNEL:
        format_tunnel(out, key, key_len, mask, mask_len, has_mask, verbose);
        break;
    case SHAPE_NONE:
        break;
    }
    ds_put_char(out, ')');
}

static void
format_leftover(struct ds *out, const uint8_t *p, size_t left)
{
    ds_put_format(out, ",***%zu leftover bytes*** (", left);
    ds_put_hex(out, p, left);
    ds_put_char(out, ')');
}

static void
format_key_stream(struct ds *out, const uint8_t *key, size_t key_len,
                  const uint8_t *mask, size_t mask_len, bool has_mask,
                  bool verbose, int depth)
{
    const struct nlattr *a;
    bool first = true;
    size_t left;

    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) (const void *) key,
                      key_len) {
        uint16_t type = nl_attr_type(a);
        enum attr_shape shape = key_attr_get(type)->shape;
        size_t m_len = 0;
        const uint8_t *m = (has_mask
                            ? find_payload(mask, mask_len, type, &m_len)
                            : NULL);
        bool wildcard = has_mask && (!m || is_all(m, m_len, 0));

        if (wildcard && !verbose
            && shape != SHAPE_ENCAP && shape != SHAPE_TUNNEL) {
            /* A present eth() says "this is an Ethernet packet", so it is
             * printed even when it matches nothing else. */
            if (type == OVS_KEY_ATTR_ETHERNET) {
                ds_put_cstr(out, first ? "eth()" : ",eth()");
                first = false;
            }
            continue;
        }
        if (!first) {
            ds_put_char(out, ',');
        }
        first = false;
        format_key_attr(out, type, nl_attr_get(a), nl_attr_get_size(a),
                        m, m_len, has_mask, verbose, depth);
    }
    if (left) {
        format_leftover(out, (const uint8_t *) a, left);
    }
}

void
odp_format_key(struct ds *out, const void *key, size_t key_len,
               const void *mask, size_t mask_len, bool verbose)
{
    if (!key_len) {
        ds_put_cstr(out, "<empty>");
        return;
    }
    format_key_stream(out, key, key_len, mask, mask ? mask_len : 0,
                      mask != NULL, verbose, 0);
}

static void
format_userspace(struct ds *out, const struct nlattr *attr)
{
    static const struct nl_policy policy[] = {
        [OVS_USERSPACE_ATTR_PID] = { .type = NL_A_U32 },
        [OVS_USERSPACE_ATTR_USERDATA] = { .type = NL_A_UNSPEC,
                                          .optional = true },
        [OVS_USERSPACE_ATTR_EGRESS_TUN_PORT] = { .type = NL_A_U32,
                                                 .optional = true },
        [OVS_USERSPACE_ATTR_ACTIONS] = { .type = NL_A_FLAG,
                                         .optional = true },
    };
    const struct nlattr *a[ARRAY_SIZE(policy)];

    if (nl_parse_nested(attr, policy, ARRAY_SIZE(policy), a, NULL)) {
        format_generic(out, "action", nl_attr_type(attr), nl_attr_get(attr),
                       nl_attr_get_size(attr), NULL, 0);
        return;
    }
    ds_put_format(out, "userspace(pid=%"PRIu32,
                  nl_attr_get_u32(a[OVS_USERSPACE_ATTR_PID]));
    if (a[OVS_USERSPACE_ATTR_USERDATA]) {
        ds_put_cstr(out, ",userdata(");
        ds_put_hex(out, nl_attr_get(a[OVS_USERSPACE_ATTR_USERDATA]),
                   nl_attr_get_size(a[OVS_USERSPACE_ATTR_USERDATA]));
        ds_put_char(out, ')');
    }
    if (a[OVS_USERSPACE_ATTR_ACTIONS]) {
        ds_put_cstr(out, ",actions");
    }
    if (a[OVS_USERSPACE_ATTR_EGRESS_TUN_PORT]) {
        ds_put_format(out, ",tunnel_out_port=%"PRIu32,
                      nl_attr_get_u32(a[OVS_USERSPACE_ATTR_EGRESS_TUN_PORT]));
    }
    ds_put_char(out, ')');
}

static void
format_sample(struct ds *out, const struct nlattr *attr, int depth)
{
    static const struct nl_policy policy[] = {
        [OVS_SAMPLE_ATTR_PROBABILITY] = { .type = NL_A_U32 },
        [OVS_SAMPLE_ATTR_ACTIONS] = { .type = NL_A_NESTED },
    };
    const struct nlattr *a[ARRAY_SIZE(policy)];

    if (depth >= ODP_MAX_DEPTH
        || nl_parse_nested(attr, policy, ARRAY_SIZE(policy), a, NULL)) {
        format_generic(out, "action", nl_attr_type(attr), nl_attr_get(attr),
                       nl_attr_get_size(attr), NULL, 0);
        return;
    }
    double pct = 100.0 * nl_attr_get_u32(a[OVS_SAMPLE_ATTR_PROBABILITY])
                 / UINT32_MAX;
    ds_put_format(out, "sample(sample=%.1f%%,actions(", pct);
    format_action_list(out, nl_attr_get(a[OVS_SAMPLE_ATTR_ACTIONS]),
                       nl_attr_get_size(a[OVS_SAMPLE_ATTR_ACTIONS]),
                       depth + 1);
    ds_put_cstr(out, "))");
}

/* Formats set() and set-masked: 'masked' payloads hold the value then the
 * mask of one key attribute. */
static void
format_set(struct ds *out, const struct nlattr *attr, bool masked)
{
    const uint8_t *payload = nl_attr_get(attr);
    size_t len = nl_attr_get_size(attr);
    const struct nlattr *inner = (const void *) payload;

    if (nl_check_stream(payload, len, NULL) || len < NLA_HDRLEN
        || (size_t) NLA_ALIGN(inner->nla_len) < len) {
        format_generic(out, "action", nl_attr_type(attr), payload, len,
                       NULL, 0);
        return;
    }

    uint16_t type = nl_attr_type(inner);
    const struct key_attr *ka = key_attr_get(type);
    const uint8_t *value = nl_attr_get(inner);
    size_t size = nl_attr_get_size(inner);

    if (!masked) {
        ds_put_cstr(out, "set(");
        format_key_attr(out, type, value, size, NULL, 0, false, true, 0);
        ds_put_char(out, ')');
        return;
    }

    size_t half = size / 2;
    bool nested = ka->shape == SHAPE_ENCAP || ka->shape == SHAPE_TUNNEL;
    if (size % 2 || nested || half > ODP_MAX_FIXED
        || (ka->shape != SHAPE_NONE && half != ka->len)) {
        format_generic(out, "action", nl_attr_type(attr), payload, len,
                       NULL, 0);
        return;
    }
    ds_put_cstr(out, "set(");
    format_key_attr(out, type, value, half, value + half, half, true, false,
                    0);
    ds_put_char(out, ')');
}

static void
format_action(struct ds *out, const struct nlattr *a, int depth)
{
    uint16_t type = nl_attr_type(a);
    const uint8_t *p = nl_attr_get(a);
    size_t len = nl_attr_get_size(a);

    switch (type) {
    case OVS_ACTION_ATTR_OUTPUT:
        if (len == 4) {
            ds_put_format(out, "%"PRIu32, get_unaligned_u32(p));
            return;
        }
        break;
    case OVS_ACTION_ATTR_USERSPACE:
        format_userspace(out, a);
        return;
    case OVS_ACTION_ATTR_SET:
    case OVS_ACTION_ATTR_SET_MASKED:
        format_set(out, a, type == OVS_ACTION_ATTR_SET_MASKED);
        return;
    case OVS_ACTION_ATTR_PUSH_VLAN:
        if (len == sizeof(struct ovs_action_push_vlan)) {
            uint16_t tpid = ntoh16_at(p);
            ds_put_cstr(out, "push_vlan(");
            if (tpid != 0x8100) {
                ds_put_format(out, "tpid=0x%04"PRIx16",", tpid);
            }
            format_vlan_tci(out, ntoh16_at(p + 2), 0xffff, false);
            ds_put_char(out, ')');
            return;
        }
        break;
    case OVS_ACTION_ATTR_POP_VLAN:
        if (!len) {
            ds_put_cstr(out, "pop_vlan");
            return;
        }
        break;
    case OVS_ACTION_ATTR_SAMPLE:
        format_sample(out, a, depth);
        return;
    case OVS_ACTION_ATTR_RECIRC:
        if (len == 4) {
            ds_put_format(out, "recirc(%#"PRIx32")", get_unaligned_u32(p));
            return;
        }
        break;
    case OVS_ACTION_ATTR_HASH:
        if (len == sizeof(struct ovs_action_hash)) {
            uint32_t alg = get_unaligned_u32(p), basis = get_unaligned_u32(p + 4);
            if (alg == OVS_HASH_ALG_L4) {
                ds_put_format(out, "hash(l4(%"PRIu32"))", basis);
                return;
            } else if (alg == ODP_HASH_ALG_SYM_L4) {
                ds_put_format(out, "hash(sym_l4(%"PRIu32"))", basis);
                return;
            }
        }
        break;
    case OVS_ACTION_ATTR_TRUNC:
        if (len == sizeof(struct ovs_action_trunc)) {
            ds_put_format(out, "trunc(%"PRIu32")", get_unaligned_u32(p));
            return;
        }
        break;
    case OVS_ACTION_ATTR_METER:
        if (len == 4) {
            ds_put_format(out, "meter(%"PRIu32")", get_unaligned_u32(p));
            return;
        }
        break;
    case OVS_ACTION_ATTR_CLONE:
        if (depth < ODP_MAX_DEPTH && !nl_check_stream(p, len, NULL)) {
            ds_put_cstr(out, "clone(");
            format_action_list(out, p, len, depth + 1);
            ds_put_char(out, ')');
            return;
        }
        break;
    default:
        break;
    }
    format_generic(out, "action", type, p, len, NULL, 0);
}

static void
format_action_list(struct ds *out, const uint8_t *actions, size_t len,
                   int depth)
{
    const struct nlattr *a;
    size_t left;

    if (!len) {
        ds_put_cstr(out, "drop");
        return;
    }
    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) (const void *) actions,
                      len) {
        if ((const uint8_t *) a != actions) {
            ds_put_char(out, ',');
        }
        format_action(out, a, depth);
    }
    if (left) {
        format_leftover(out, (const uint8_t *) a, left);
    }
}

void
odp_format_actions(struct ds *out, const void *actions, size_t len)
{
    format_action_list(out, actions, len, 0);
}

/* ==== Parsing ==== */

/* Parser state: the whole input (for columns) and the next character. */
struct parser {
    const char *input;          /* Start of the text, for column numbers. */
    const char *p;              /* Next character to consume. */
    struct errbuf *eb;          /* Where reasons go; may be NULL. */
    int depth;                  /* Current nesting of encap/clone/sample. */
};

static int parse_error(struct parser *, const char *at, int error,
                       const char *fmt, ...) PRINTF_FORMAT(4, 5);

/* Reports 'fmt' as the reason, prefixed by the column of 'at'.  Returns
 * 'error'. */
static int
parse_error(struct parser *ps, const char *at, int error, const char *fmt,
            ...)
{
    if (ps->eb) {
        char msg[sizeof ps->eb->msg];
        va_list args;

        va_start(args, fmt);
        vsnprintf(msg, sizeof msg, fmt, args);
        va_end(args);
        errbuf_set(ps->eb, error, "column %d: %s",
                   (int) MIN(at - ps->input + 1, INT32_MAX), msg);
    }
    return error;
}

static void
skip_space(struct parser *ps)
{
    ps->p += strspn(ps->p, " \t\r\n");
}

/* Length of the identifier ([a-z0-9_]) at 's'. */
static size_t
ident_len(const char *s)
{
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
}

static bool
ident_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && !memcmp(s, name, len);
}

/* Describes the character at 'p' for error messages. */
static const char *
describe_char(const char *p, char *buf, size_t size)
{
    if (!*p) {
        return "end of input";
    }
    snprintf(buf, size, "'%c'", *p);
    return buf;
}

static int
expect_char(struct parser *ps, char c, const char *what)
{
    char buf[8];

    if (*ps->p != c) {
        return parse_error(ps, ps->p, EINVAL, "expected '%c' %s, found %s",
                           c, what, describe_char(ps->p, buf, sizeof buf));
    }
    ps->p++;
    return 0;
}

/* Copies the value token at the cursor (up to ',', ')', '(', whitespace or
 * the end) into 'tok' and advances past it. */
static int
take_token(struct parser *ps, char *tok, size_t size, const char *what)
{
    size_t len = strcspn(ps->p, ",()| \t\r\n");

    if (!len) {
        return parse_error(ps, ps->p, EINVAL, "missing value for %s", what);
    }
    if (len >= size) {
        return parse_error(ps, ps->p, EINVAL, "value for %s is too long",
                           what);
    }
    memcpy(tok, ps->p, len);
    tok[len] = '\0';
    ps->p += len;
    return 0;
}

/* Parses the unsigned number 's' (decimal, or hex with "0x"), at most
 * 'max'. */
static int
parse_number(struct parser *ps, const char *at, const char *s, uint64_t max,
             const char *what, uint64_t *valuep)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;

    if (!*digits || strspn(digits, hex ? "0123456789abcdefABCDEF"
                                       : "0123456789") != strlen(digits)) {
        return parse_error(ps, at, EINVAL, "invalid number \"%s\" for %s",
                           s, what);
    }
    int error = str_to_uint(s, hex ? 16 : 10, max, valuep);
    if (error) {
        return parse_error(ps, at, ERANGE,
                           "value %s for %s is out of range (maximum %#"
                           PRIx64")", s, what, max);
    }
    return 0;
}

/* Parses "N" or "N/M" at the cursor into '*valuep' and '*maskp' ('max' if
 * no mask is given).  'allow_mask' false rejects the "/M" form. */
static int
parse_masked_number(struct parser *ps, uint64_t max, bool allow_mask,
                    const char *what, uint64_t *valuep, uint64_t *maskp)
{
    const char *at = ps->p;
    char tok[64];
    int error = take_token(ps, tok, sizeof tok, what);
    if (error) {
        return error;
    }

    char *slash = strchr(tok, '/');
    if (slash) {
        if (!allow_mask) {
            return parse_error(ps, at, EINVAL, "%s does not take a mask "
                               "here", what);
        }
        *slash = '\0';
        error = parse_number(ps, at + (slash - tok) + 1, slash + 1, max, what,
                             maskp);
    } else {
        *maskp = max;
    }
    return error ? error : parse_number(ps, at, tok, max, what, valuep);
}

/* Parses one "name=value[/mask]" value of 'kind' at the cursor into 'key'
 * and, if nonnull, 'mask'. */
static int
parse_field_value(struct parser *ps, const char *name, enum field_kind kind,
                  uint8_t *key, uint8_t *mask)
{
    const char *at = ps->p;
    uint64_t v, m;
    int error;

    if (kind == FIELD_U8 || kind == FIELD_U8X || kind == FIELD_BE16
        || kind == FIELD_BE64 || kind == FIELD_LABEL) {
        uint64_t max = (kind == FIELD_BE16 ? UINT16_MAX
                        : kind == FIELD_BE64 ? UINT64_MAX
                        : kind == FIELD_LABEL ? IPV6_LABEL_MASK
                        : UINT8_MAX);
        error = parse_masked_number(ps, max, mask != NULL, name, &v, &m);
        if (error) {
            return error;
        }
        size_t size = field_size(kind);
        for (size_t i = 0; i < size; i++) {
            unsigned int shift = 8 * (unsigned int) (size - 1 - i);
            key[i] = (uint8_t) (v >> shift);
            if (mask) {
                mask[i] = (uint8_t) (m >> shift);
            }
        }
        return 0;
    }

    char tok[INET6_ADDRSTRLEN * 2 + 2];
    error = take_token(ps, tok, sizeof tok, name);
    if (error) {
        return error;
    }
    if (!mask && strchr(tok, '/')) {
        return parse_error(ps, at, EINVAL, "%s does not take a mask here",
                           name);
    }

    struct errbuf eb;
    uint8_t mbuf[16];
    switch (kind) {
    case FIELD_IPV4: {
        ovs_be32 ip, ipm;
        error = addr_parse_ipv4_masked(tok, &ip, &ipm, &eb);
        if (!error) {
            memcpy(key, &ip, sizeof ip);
            memcpy(mbuf, &ipm, sizeof ipm);
        }
        break;
    }
    case FIELD_IPV6: {
        struct in6_addr ip, ipm;
        error = addr_parse_ipv6_masked(tok, &ip, &ipm, &eb);
        if (!error) {
            memcpy(key, &ip, sizeof ip);
            memcpy(mbuf, &ipm, sizeof ipm);
        }
        break;
    }
    case FIELD_ETH:
        error = addr_parse_eth_masked(tok, key, mbuf, &eb);
        break;
    case FIELD_FRAG:
        if (!strcmp(tok, "no")) {
            key[0] = OVS_FRAG_TYPE_NONE;
        } else if (!strcmp(tok, "first")) {
            key[0] = OVS_FRAG_TYPE_FIRST;
        } else if (!strcmp(tok, "later")) {
            key[0] = OVS_FRAG_TYPE_LATER;
        } else {
            return parse_error(ps, at, EINVAL, "invalid frag \"%s\" (expected "
                               "no, first or later)", tok);
        }
        mbuf[0] = 0xff;
        break;
    case FIELD_U8: case FIELD_U8X: case FIELD_BE16: case FIELD_BE64:
    case FIELD_LABEL:
        break;
    }
    if (error) {
        return parse_error(ps, at, error, "%s: %s", name, eb.msg);
    }
    if (mask) {
        memcpy(mask, mbuf, field_size(kind));
    }
    return 0;
}

/* Steps through a "name=...,name=..." list inside parentheses.  Returns 0
 * with the next name in '*namep'/'*lenp' (cursor after it), ENOENT at the
 * closing ')' (not consumed), or an error. */
static int
next_field(struct parser *ps, bool first, const char **namep, size_t *lenp)
{
    char buf[8];

    if (*ps->p == ')') {
        return ENOENT;
    }
    if (!first) {
        if (*ps->p != ',') {
            return parse_error(ps, ps->p, EINVAL,
                               "expected ',' or ')', found %s",
                               describe_char(ps->p, buf, sizeof buf));
        }
        ps->p++;
    }
    *namep = ps->p;
    *lenp = ident_len(ps->p);
    if (!*lenp) {
        return parse_error(ps, ps->p, EINVAL, "expected a field name, "
                           "found %s", describe_char(ps->p, buf, sizeof buf));
    }
    ps->p += *lenp;
    return 0;
}

/* Parses the fields of a structure-shaped attribute into 'key' and 'mask'
 * (zeroed by the caller; 'mask' may be NULL). */
static int
parse_struct_fields(struct parser *ps, const struct key_attr *ka,
                    uint8_t *key, uint8_t *mask)
{
    uint32_t seen = 0;

    for (bool first = true; ; first = false) {
        const char *name;
        size_t len;
        int error = next_field(ps, first, &name, &len);
        if (error) {
            return error == ENOENT ? 0 : error;
        }

        size_t i;
        for (i = 0; i < ka->n_fields; i++) {
            if (ident_is(name, len, ka->fields[i].name)) {
                break;
            }
        }
        if (i == ka->n_fields) {
            return parse_error(ps, name, EINVAL, "unknown field \"%.*s\" in "
                               "%s()", (int) len, name, ka->name);
        }
        if (seen & (1u << i)) {
            return parse_error(ps, name, EINVAL, "duplicate field \"%s\" in "
                               "%s()", ka->fields[i].name, ka->name);
        }
        seen |= 1u << i;

        const struct key_field *f = &ka->fields[i];
        error = expect_char(ps, '=', "after the field name");
        if (!error) {
            error = parse_field_value(ps, f->name, f->kind, key + f->offset,
                                      mask ? mask + f->offset : NULL);
        }
        if (error) {
            return error;
        }
    }
}

static int
parse_vlan(struct parser *ps, uint16_t *tcip, uint16_t *maskp, bool has_mask)
{
    uint16_t tci = VLAN_CFI, mask = VLAN_CFI;
    unsigned int seen = 0;

    for (bool first = true; ; first = false) {
        const char *name;
        size_t len;
        int error = next_field(ps, first, &name, &len);
        if (error == ENOENT) {
            *tcip = tci;
            *maskp = mask;
            return 0;
        } else if (error) {
            return error;
        }

        unsigned int which = (ident_is(name, len, "vid") ? 1
                              : ident_is(name, len, "pcp") ? 2
                              : ident_is(name, len, "cfi") ? 4 : 0);
        if (!which) {
            return parse_error(ps, name, EINVAL, "unknown field \"%.*s\" in "
                               "vlan()", (int) len, name);
        }
        if (seen & which) {
            return parse_error(ps, name, EINVAL, "duplicate field \"%.*s\" "
                               "in vlan()", (int) len, name);
        }
        seen |= which;

        uint64_t v, m;
        error = expect_char(ps, '=', "after the field name");
        if (!error) {
            error = parse_masked_number(ps, which == 1 ? VLAN_VID_MASK
                                        : which == 2 ? 7 : 1,
                                        has_mask && which != 4,
                                        which == 1 ? "vid" : which == 2
                                        ? "pcp" : "cfi", &v, &m);
        }
        if (error) {
            return error;
        }
        if (which == 1) {
            tci |= (uint16_t) v;
            mask |= (uint16_t) m;
        } else if (which == 2) {
            tci |= (uint16_t) (v << VLAN_PCP_SHIFT);
            mask |= (uint16_t) (m << VLAN_PCP_SHIFT);
        } else if (!v) {
            tci &= (uint16_t) ~VLAN_CFI;
        }
    }
}

/* Parses a flags field up to (not including) the closing ')': "0", "0/0",
 * "a|b|c" (mask 'all') or "+a-b" (mask the named bits).  Without
 * 'allow_mask' only the first and third forms are accepted. */
static int
parse_flags(struct parser *ps, const struct flag_name *names, size_t n_names,
            uint32_t all, bool allow_mask, const char *what,
            uint32_t *flagsp, uint32_t *maskp)
{
    uint32_t flags = 0, mask = 0;
    const char *start = ps->p;

    if (*ps->p >= '0' && *ps->p <= '9') {
        uint64_t v, m;
        int error = parse_masked_number(ps, all, allow_mask, what, &v, &m);
        if (error) {
            return error;
        }
        if (v & ~m) {
            return parse_error(ps, start, EINVAL, "%s value %#"PRIx64" has "
                               "bits outside its mask %#"PRIx64, what, v, m);
        }
        *flagsp = (uint32_t) v;
        *maskp = (uint32_t) m;
        return 0;
    }

    bool masked = *ps->p == '+' || *ps->p == '-';
    if (masked && !allow_mask) {
        return parse_error(ps, ps->p, EINVAL, "%s does not take a mask here",
                           what);
    }
    for (bool first = true; ; first = false) {
        char sign = '+';
        const char *at = ps->p;

        if (masked) {
            if (*ps->p != '+' && *ps->p != '-') {
                break;
            }
            sign = *ps->p++;
        } else if (!first) {
            if (*ps->p != '|') {
                break;
            }
            ps->p++;
        }

        size_t len = strcspn(ps->p, "|+-),");
        size_t i;
        for (i = 0; i < n_names; i++) {
            if (names[i].bit & all && ident_is(ps->p, len, names[i].name)) {
                break;
            }
        }
        if (i == n_names) {
            return parse_error(ps, ps->p, EINVAL, "unknown %s flag \"%.*s\"",
                               what, (int) MIN(len, 32), ps->p);
        }
        if ((mask | flags) & names[i].bit) {
            return parse_error(ps, at, EINVAL, "duplicate %s flag \"%s\"",
                               what, names[i].name);
        }
        mask |= names[i].bit;
        flags |= sign == '+' ? names[i].bit : 0;
        ps->p += len;
    }
    *flagsp = flags;
    *maskp = masked ? mask : all;
    return 0;
}

/* Parses "HEX[/HEX]" up to the closing ')' and appends the value and, with
 * 'with_mask', then the mask (all ones if none is given) to 'out'. */
static int
parse_hex_payload(struct parser *ps, struct buf *out, bool with_mask,
                  const char *what)
{
    size_t len = 0, mask_len = 0;
    bool in_mask = false;

    for (;;) {
        const char *at = ps->p;
        if (*ps->p == ')') {
            break;
        } else if (*ps->p == '/' && !in_mask && with_mask) {
            in_mask = true;
            ps->p++;
            continue;
        }

        int digit[2];
        for (int i = 0; i < 2; i++) {
            char d = ps->p[i];
            digit[i] = (d >= '0' && d <= '9' ? d - '0'
                        : d >= 'a' && d <= 'f' ? d - 'a' + 10
                        : d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1);
            if (digit[i] < 0) {
                char buf[8];
                return parse_error(ps, ps->p + i, EINVAL, "expected a hex "
                                   "digit in %s, found %s", what,
                                   describe_char(ps->p + i, buf, sizeof buf));
            }
        }
        if (in_mask) {
            if (mask_len >= len) {
                return parse_error(ps, at, EINVAL, "mask of %s is longer "
                                   "than its value", what);
            }
            mask_len++;
        } else if (++len > ODP_MAX_LEN / 2) {
            return parse_error(ps, at, E2BIG, "%s is too long", what);
        }
        uint8_t byte = (uint8_t) (digit[0] << 4 | digit[1]);
        buf_put(out, &byte, 1);
        ps->p += 2;
    }
    if (in_mask && mask_len != len) {
        return parse_error(ps, ps->p, EINVAL, "mask of %s is shorter than its "
                           "value", what);
    }
    if (with_mask && !in_mask && len) {
        memset(buf_put_uninit(out, len), 0xff, len);
    }
    return 0;
}

/* If 'name' ('len' bytes) is 'prefix' followed by a decimal attribute type,
 * stores the type in '*typep' and returns 0; returns ENOENT if it has not
 * that form, or an error if the number is out of range. */
static int
parse_generic_name(struct parser *ps, const char *name, size_t len,
                   const char *prefix, uint16_t *typep)
{
    size_t plen = strlen(prefix);
    char num[8];
    uint64_t type;

    if (len <= plen || len - plen >= sizeof num || memcmp(name, prefix, plen)
        || strspn(name + plen, "0123456789") < len - plen) {
        return ENOENT;
    }
    memcpy(num, name + plen, len - plen);
    num[len - plen] = '\0';
    int error = parse_number(ps, name + plen, num,
                             (uint16_t) NLA_TYPE_MASK, "attribute type",
                             &type);
    if (!error) {
        *typep = (uint16_t) type;
    }
    return error;
}

/* Parses "(HEX[/HEX])" of a generic attribute of 'type' and appends it to
 * 'key' and, if nonnull, 'mask'. */
static int
parse_generic_attr(struct parser *ps, uint16_t type, struct buf *key,
                   struct buf *mask, const char *what)
{
    struct buf value;
    int error = expect_char(ps, '(', "after the attribute name");

    buf_init(&value, 16);
    if (!error) {
        error = parse_hex_payload(ps, &value, mask != NULL, what);
    }
    if (!error) {
        size_t vlen = mask ? value.size / 2 : value.size;
        nl_put_attr(key, type, value.data, vlen);
        if (mask) {
            nl_put_attr(mask, type, value.data + vlen, vlen);
        }
        error = expect_char(ps, ')', "after the attribute value");
    }
    buf_uninit(&value);
    return error;
}

static int parse_key_list(struct parser *, struct buf *key, struct buf *mask,
                          char end);

/* Parses the inside of tunnel(...) into nested attributes of 'key' and
 * 'mask' (which may be NULL). */
static int
parse_tunnel(struct parser *ps, struct buf *key, struct buf *mask)
{
    uint8_t vals[ARRAY_SIZE(tun_fields)][16];
    uint8_t masks[ARRAY_SIZE(tun_fields)][16];
    bool have[ARRAY_SIZE(tun_fields)] = { false };
    uint32_t flags = 0, flags_mask = 0;
    bool have_flags = false;
    const char *flags_at = NULL;
    struct buf generic_key, generic_mask;
    int error = 0;

    buf_init(&generic_key, 0);
    buf_init(&generic_mask, 0);
    for (bool first = true; !error; first = false) {
        const char *name;
        size_t len;
        error = next_field(ps, first, &name, &len);
        if (error) {
            break;
        }

        if (ident_is(name, len, "flags")) {
            if (have_flags) {
                error = parse_error(ps, name, EINVAL, "duplicate field "
                                    "\"flags\" in tunnel()");
                break;
            }
            have_flags = true;
            flags_at = name;
            error = expect_char(ps, '(', "after \"flags\"");
            if (!error) {
                error = parse_flags(ps, tun_flag_names,
                                    ARRAY_SIZE(tun_flag_names), TUN_F_ALL,
                                    mask != NULL, "tunnel", &flags,
                                    &flags_mask);
            }
            if (!error) {
                error = expect_char(ps, ')', "after the tunnel flags");
            }
            continue;
        }

        size_t i;
        for (i = 0; i < ARRAY_SIZE(tun_fields); i++) {
            if (ident_is(name, len, tun_fields[i].name)) {
                break;
            }
        }
        if (i < ARRAY_SIZE(tun_fields)) {
            if (have[i]) {
                error = parse_error(ps, name, EINVAL, "duplicate field "
                                    "\"%s\" in tunnel()", tun_fields[i].name);
                break;
            }
            have[i] = true;
            error = expect_char(ps, '=', "after the field name");
            if (!error) {
                error = parse_field_value(ps, tun_fields[i].name,
                                          tun_fields[i].kind, vals[i],
                                          mask ? masks[i] : NULL);
            }
            continue;
        }

        /* "keyN(hex)" for tunnel members without a name here. */
        uint16_t type;
        error = parse_generic_name(ps, name, len, "key", &type);
        if (error == ENOENT) {
            error = parse_error(ps, name, EINVAL, "unknown field \"%.*s\" in "
                                "tunnel()", (int) MIN(len, 32), name);
        } else if (!error && (tun_field_by_type(type)
                              || type == OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT
                              || type == OVS_TUNNEL_KEY_ATTR_CSUM
                              || type == OVS_TUNNEL_KEY_ATTR_OAM)) {
            error = parse_error(ps, name, EINVAL, "tunnel attribute %u has a "
                                "name here; use it", type);
        } else if (!error) {
            if (nl_find_attr(generic_key.data, generic_key.size, type)) {
                error = parse_error(ps, name, EINVAL, "duplicate tunnel "
                                    "attribute %u", type);
            } else {
                error = parse_generic_attr(ps, type, &generic_key,
                                           mask ? &generic_mask : NULL,
                                           "tunnel attribute");
            }
        }
    }
    if (error != ENOENT) {
        buf_uninit(&generic_key);
        buf_uninit(&generic_mask);
        return error;
    }

    bool has_id = have[0];
    if (have_flags && (flags & TUN_F_KEY) && !has_id) {
        buf_uninit(&generic_key);
        buf_uninit(&generic_mask);
        return parse_error(ps, flags_at, EINVAL, "tunnel flag \"key\" needs "
                           "tun_id");
    }
    if (have_flags && has_id && (flags_mask & TUN_F_KEY)
        && !(flags & TUN_F_KEY)) {
        /* The plain form "flags(df)" leaves "key" to tun_id; only an
         * explicit "-key" contradicts it.  ("flags(" is 6 bytes.) */
        if (flags_at[6] == '+' || flags_at[6] == '-') {
            buf_uninit(&generic_key);
            buf_uninit(&generic_mask);
            return parse_error(ps, flags_at, EINVAL, "tunnel flag \"-key\" "
                               "contradicts tun_id");
        }
        flags |= TUN_F_KEY;
    }

    /* Emit in the kernel's order: ID, addresses, TOS, TTL, DF, CSUM, ports,
     * OAM, then members without a name here. */
    static const uint16_t order[] = {
        OVS_TUNNEL_KEY_ATTR_ID, OVS_TUNNEL_KEY_ATTR_IPV4_SRC,
        OVS_TUNNEL_KEY_ATTR_IPV4_DST, OVS_TUNNEL_KEY_ATTR_IPV6_SRC,
        OVS_TUNNEL_KEY_ATTR_IPV6_DST, OVS_TUNNEL_KEY_ATTR_TOS,
        OVS_TUNNEL_KEY_ATTR_TTL, OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT,
        OVS_TUNNEL_KEY_ATTR_CSUM, OVS_TUNNEL_KEY_ATTR_TP_SRC,
        OVS_TUNNEL_KEY_ATTR_TP_DST, OVS_TUNNEL_KEY_ATTR_OAM,
    };
    for (size_t j = 0; j < ARRAY_SIZE(order); j++) {
        uint16_t type = order[j];
        uint32_t bit = (type == OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT ? TUN_F_DF
                        : type == OVS_TUNNEL_KEY_ATTR_CSUM ? TUN_F_CSUM
                        : type == OVS_TUNNEL_KEY_ATTR_OAM ? TUN_F_OAM : 0);
        if (bit) {
            if (flags & bit) {
                nl_put_flag(key, tun_flag_attr(bit));
            }
            if (mask && (flags_mask & bit)) {
                nl_put_flag(mask, tun_flag_attr(bit));
            }
            continue;
        }
        const struct tun_field *tf = tun_field_by_type(type);
        size_t i = (size_t) (tf - tun_fields);
        if (have[i]) {
            nl_put_attr(key, type, vals[i], field_size(tf->kind));
            if (mask) {
                nl_put_attr(mask, type, masks[i], field_size(tf->kind));
            }
        }
    }

    if (generic_key.size) {
        buf_put(key, generic_key.data, generic_key.size);
    }
    if (mask && generic_mask.size) {
        buf_put(mask, generic_mask.data, generic_mask.size);
    }
    buf_uninit(&generic_key);
    buf_uninit(&generic_mask);
    return 0;
}

/* Is attribute 'type' already in the stream that starts at 'ofs' of 'b'? */
static bool
stream_has(const struct buf *b, size_t ofs, uint16_t type)
{
    return b->size > ofs && nl_find_attr(b->data + ofs, b->size - ofs, type);
}

/* Parses one key attribute "name(...)" at the cursor, appending it to 'key'
 * and, if nonnull, 'mask'.  'level_ofs' is where the attribute list being
 * parsed starts in 'key', for the duplicate check. */
static int
parse_key_attr(struct parser *ps, struct buf *key, struct buf *mask,
               size_t level_ofs)
{
    const char *name = ps->p;
    size_t len = ident_len(name);
    char buf[8];
    uint16_t type;
    int error;

    if (!len) {
        return parse_error(ps, name, EINVAL, "expected a flow key attribute, "
                           "found %s", describe_char(name, buf, sizeof buf));
    }
    for (type = 0; type < ARRAY_SIZE(key_attrs); type++) {
        const char *attr_name = key_attrs[type].name;
        if (attr_name && ident_is(name, len, attr_name)) {
            break;
        }
    }
    if (type == ARRAY_SIZE(key_attrs)) {
        error = parse_generic_name(ps, name, len, "key", &type);
        if (error == ENOENT) {
            return parse_error(ps, name, EINVAL, "unknown flow key attribute "
                               "\"%.*s\"", (int) MIN(len, 32), name);
        } else if (error) {
            return error;
        } else if (key_attr_get(type)->shape != SHAPE_NONE) {
            return parse_error(ps, name, EINVAL, "key attribute %u is "
                               "written %s(...)", type,
                               key_attr_get(type)->name);
        }
    }
    ps->p += len;
    if (stream_has(key, level_ofs, type)) {
        return parse_error(ps, name, EINVAL, "duplicate attribute \"%.*s\"",
                           (int) MIN(len, 32), name);
    }

    const struct key_attr *ka = key_attr_get(type);
    if (ka->shape == SHAPE_NONE) {
        return parse_generic_attr(ps, type, key, mask, "key attribute");
    }
    error = expect_char(ps, '(', "after the attribute name");
    if (error) {
        return error;
    }

    uint64_t v, m;
    switch (ka->shape) {
    case SHAPE_U32:
    case SHAPE_IN_PORT:
        error = parse_masked_number(ps, UINT32_MAX, mask != NULL, ka->name,
                                    &v, &m);
        if (!error) {
            nl_put_u32(key, type, (uint32_t) v);
            if (mask) {
                nl_put_u32(mask, type, (uint32_t) m);
            }
        }
        break;
    case SHAPE_ETHERTYPE:
        error = parse_masked_number(ps, UINT16_MAX, mask != NULL, ka->name,
                                    &v, &m);
        if (!error) {
            nl_put_be16(key, type, htons((uint16_t) v));
            if (mask) {
                nl_put_be16(mask, type, htons((uint16_t) m));
            }
        }
        break;
    case SHAPE_VLAN: {
        uint16_t tci, tci_mask;
        error = parse_vlan(ps, &tci, &tci_mask, mask != NULL);
        if (!error) {
            nl_put_be16(key, type, htons(tci));
            if (mask) {
                nl_put_be16(mask, type, htons(tci_mask));
            }
        }
        break;
    }
    case SHAPE_TCP_FLAGS: {
        uint32_t flags = 0, flags_mask = 0;
        error = parse_flags(ps, tcp_flag_names, ARRAY_SIZE(tcp_flag_names),
                            TCP_FLAGS_MASK, mask != NULL, "tcp", &flags,
                            &flags_mask);
        if (!error) {
            nl_put_be16(key, type, htons((uint16_t) flags));
            if (mask) {
                nl_put_be16(mask, type, htons((uint16_t) flags_mask));
            }
        }
        break;
    }
    case SHAPE_STRUCT: {
        uint8_t k[ODP_MAX_FIXED] = { 0 }, mk[ODP_MAX_FIXED] = { 0 };
        error = parse_struct_fields(ps, ka, k, mask ? mk : NULL);
        if (!error) {
            nl_put_attr(key, type, k, ka->len);
            if (mask) {
                nl_put_attr(mask, type, mk, ka->len);
            }
        }
        break;
    }
    case SHAPE_ENCAP:
    case SHAPE_TUNNEL: {
        if (ps->depth >= ODP_MAX_DEPTH) {
            return parse_error(ps, name, EINVAL, "attributes nested deeper "
                               "than %d", ODP_MAX_DEPTH);
        }
        size_t key_ofs = nl_nest_start(key, type);
        size_t mask_ofs = mask ? nl_nest_start(mask, type) : 0;
        ps->depth++;
        error = (ka->shape == SHAPE_ENCAP
                 ? parse_key_list(ps, key, mask, ')')
                 : parse_tunnel(ps, key, mask));
        ps->depth--;
        if (!error && (key->size - key_ofs > UINT16_MAX
                       || (mask && mask->size - mask_ofs > UINT16_MAX))) {
            error = parse_error(ps, name, E2BIG, "%s() is too long",
                                ka->name);
        }
        if (!error) {
            nl_nest_end(key, key_ofs);
            if (mask) {
                nl_nest_end(mask, mask_ofs);
            }
        }
        break;
    }
    case SHAPE_NONE:
        break;
    }
    return error ? error : expect_char(ps, ')', "to close the attribute");
}

/* Parses a comma-separated list of key attributes that ends at 'end' (')'
 * inside encap(), '\0' at the top), leaving the cursor on 'end'. */
static int
parse_key_list(struct parser *ps, struct buf *key, struct buf *mask, char end)
{
    size_t level_ofs = key->size;
    char buf[8];

    skip_space(ps);
    if (*ps->p == end) {
        return 0;
    }
    for (;;) {
        int error = parse_key_attr(ps, key, mask, level_ofs);
        if (error) {
            return error;
        }
        if (key->size - level_ofs > ODP_MAX_LEN) {
            return parse_error(ps, ps->p, E2BIG, "flow key is too long");
        }
        skip_space(ps);
        if (*ps->p == end) {
            return 0;
        } else if (*ps->p != ',') {
            return parse_error(ps, ps->p, EINVAL, "%s %s after an attribute",
                               end ? "expected ',' or ')', found"
                               : "trailing garbage:",
                               describe_char(ps->p, buf, sizeof buf));
        }
        ps->p++;
        skip_space(ps);
    }
}

int
odp_parse_key(const char *s, struct buf *key, struct buf *mask,
              struct errbuf *eb)
{
    struct parser ps = { s, s, eb, 0 };
    size_t key_size = key->size, mask_size = mask ? mask->size : 0;
    const char *p = s + strspn(s, " \t\r\n");

    if (key->size % NLA_ALIGNTO || (mask && mask->size % NLA_ALIGNTO)) {
        return errbuf_set(eb, EINVAL, "output buffer is not 4-byte aligned");
    }
    if (!strncmp(p, "<empty>", 7) && !p[7 + strspn(p + 7, " \t\r\n")]) {
        return 0;
    }
    int error = parse_key_list(&ps, key, mask, '\0');
    if (error) {
        key->size = key_size;
        if (mask) {
            mask->size = mask_size;
        }
    }
    return error;
}

static int parse_action_list(struct parser *, struct buf *actions, char end);

/* Parses a number in parentheses: "(N)" at the cursor. */
static int
parse_paren_number(struct parser *ps, uint64_t max, const char *what,
                   uint64_t *valuep)
{
    uint64_t mask;
    int error = expect_char(ps, '(', "after the action name");

    if (!error) {
        error = parse_masked_number(ps, max, false, what, valuep, &mask);
    }
    return error ? error : expect_char(ps, ')', "to close the action");
}

static int
parse_userspace(struct parser *ps, struct buf *actions)
{
    uint64_t pid, port = 0;
    bool have_port = false, have_actions = false, have_data = false;
    struct buf data;
    int error;

    error = expect_char(ps, '(', "after \"userspace\"");
    if (!error && strncmp(ps->p, "pid=", 4)) {
        error = parse_error(ps, ps->p, EINVAL, "userspace() must start with "
                            "pid=");
    }
    if (error) {
        return error;
    }
    ps->p += 4;
    error = parse_masked_number(ps, UINT32_MAX, false, "pid", &pid, &port);
    if (error) {
        return error;
    }

    buf_init(&data, 16);
    for (;;) {
        const char *name;
        size_t len;
        error = next_field(ps, false, &name, &len);
        if (error) {
            break;
        }
        if (ident_is(name, len, "userdata") && !have_data) {
            have_data = true;
            error = expect_char(ps, '(', "after \"userdata\"");
            if (!error) {
                error = parse_hex_payload(ps, &data, false, "userdata");
            }
            if (!error) {
                error = expect_char(ps, ')', "to close userdata");
            }
        } else if (ident_is(name, len, "actions") && !have_actions) {
            have_actions = true;
        } else if (ident_is(name, len, "tunnel_out_port") && !have_port) {
            uint64_t unused;
            have_port = true;
            error = expect_char(ps, '=', "after \"tunnel_out_port\"");
            if (!error) {
                error = parse_masked_number(ps, UINT32_MAX, false,
                                            "tunnel_out_port", &port,
                                            &unused);
            }
        } else {
            error = parse_error(ps, name, EINVAL, "unknown or duplicate "
                                "field \"%.*s\" in userspace()",
                                (int) MIN(len, 32), name);
        }
        if (error) {
            break;
        }
    }
    if (error == ENOENT) {
        size_t ofs = nl_nest_start(actions, OVS_ACTION_ATTR_USERSPACE);
        nl_put_u32(actions, OVS_USERSPACE_ATTR_PID, (uint32_t) pid);
        if (have_data) {
            nl_put_attr(actions, OVS_USERSPACE_ATTR_USERDATA, data.data,
                        data.size);
        }
        if (have_port) {
            nl_put_u32(actions, OVS_USERSPACE_ATTR_EGRESS_TUN_PORT,
                       (uint32_t) port);
        }
        if (have_actions) {
            nl_put_flag(actions, OVS_USERSPACE_ATTR_ACTIONS);
        }
        nl_nest_end(actions, ofs);
        error = expect_char(ps, ')', "to close userspace()");
    }
    buf_uninit(&data);
    return error;
}

/* Writes the mask that makes every field of key attribute 'ka' exact, the
 * mask a set() without "/mask" gets. */
static void
key_attr_exact_mask(const struct key_attr *ka, uint8_t *mask, size_t len)
{
    if (ka->shape == SHAPE_STRUCT) {
        memset(mask, 0, len);
        for (size_t i = 0; i < ka->n_fields; i++) {
            field_exact_mask(ka->fields[i].kind, mask + ka->fields[i].offset);
        }
    } else if (ka->shape == SHAPE_TCP_FLAGS) {
        ovs_be16 m = htons(TCP_FLAGS_MASK);
        memcpy(mask, &m, sizeof m);
    } else {
        memset(mask, 0xff, len);
    }
}

static int
parse_set(struct parser *ps, struct buf *actions)
{
    const char *at;
    uint64_t key_stub[32], mask_stub[32];
    struct buf key, mask;
    int error = expect_char(ps, '(', "after \"set\"");

    if (error) {
        return error;
    }
    at = ps->p;
    size_t len = ident_len(at);
    bool tunnel = ident_is(at, len, "tunnel");
    if (ident_is(at, len, "encap")) {
        return parse_error(ps, at, EINVAL, "set() cannot take encap()");
    }

    buf_use_stub(&key, key_stub, sizeof key_stub);
    buf_use_stub(&mask, mask_stub, sizeof mask_stub);
    error = parse_key_attr(ps, &key, tunnel ? NULL : &mask, 0);
    if (!error) {
        error = expect_char(ps, ')', "to close set()");
    }
    if (error) {
        goto out;
    }

    const struct nlattr *k = (const struct nlattr *) (const void *) key.data;
    uint16_t type = nl_attr_type(k);
    size_t size = nl_attr_get_size(k);
    const struct key_attr *ka = key_attr_get(type);
    const uint8_t *kv = nl_attr_get(k);
    if (tunnel) {
        size_t ofs = nl_nest_start(actions, OVS_ACTION_ATTR_SET);
        buf_put(actions, key.data, key.size);
        nl_nest_end(actions, ofs);
        goto out;
    }

    const uint8_t *mv = nl_attr_get((const struct nlattr *) (const void *)
                                    mask.data);
    uint8_t exact[ODP_MAX_LEN / 2 + 1];
    key_attr_exact_mask(ka, exact, size);
    if (!memcmp(mv, exact, size)) {
        size_t ofs = nl_nest_start(actions, OVS_ACTION_ATTR_SET);
        buf_put(actions, key.data, key.size);
        nl_nest_end(actions, ofs);
        goto out;
    }
    for (size_t i = 0; i < size; i++) {
        if (kv[i] & ~mv[i]) {
            error = parse_error(ps, at, EINVAL, "masked set: the value has "
                                "bits outside the mask");
            goto out;
        }
    }
    size_t ofs = nl_nest_start(actions, OVS_ACTION_ATTR_SET_MASKED);
    uint8_t *p = nl_put_uninit(actions, type, 2 * size);
    memcpy(p, kv, size);
    memcpy(p + size, mv, size);
    nl_nest_end(actions, ofs);

out:
    buf_uninit(&key);
    buf_uninit(&mask);
    return error;
}

static int
parse_push_vlan(struct parser *ps, struct buf *actions)
{
    uint64_t vals[4] = { 0x8100, 0, 0, 1 };     /* tpid, vid, pcp, cfi. */
    static const char *const names[4] = { "tpid", "vid", "pcp", "cfi" };
    static const uint64_t max[4] = { UINT16_MAX, VLAN_VID_MASK, 7, 1 };
    unsigned int seen = 0;
    int error = expect_char(ps, '(', "after \"push_vlan\"");

    for (bool first = true; !error; first = false) {
        const char *name;
        size_t len;
        error = next_field(ps, first, &name, &len);
        if (error) {
            break;
        }

        int i;
        for (i = 0; i < 4 && !ident_is(name, len, names[i]); i++) {
            continue;
        }
        if (i == 4 || seen & (1u << i)) {
            error = parse_error(ps, name, EINVAL, "unknown or duplicate "
                                "field \"%.*s\" in push_vlan()",
                                (int) MIN(len, 32), name);
            break;
        }
        seen |= 1u << i;

        uint64_t unused;
        error = expect_char(ps, '=', "after the field name");
        if (!error) {
            error = parse_masked_number(ps, max[i], false, names[i], &vals[i],
                                        &unused);
        }
    }
    if (error != ENOENT) {
        return error;
    }
    if ((seen & 6) != 6) {
        return parse_error(ps, ps->p, EINVAL, "push_vlan() needs vid and "
                           "pcp");
    }

    struct ovs_action_push_vlan push;
    push.vlan_tpid = htons((uint16_t) vals[0]);
    push.vlan_tci = htons((uint16_t) (vals[1] | vals[2] << VLAN_PCP_SHIFT
                                      | (vals[3] ? VLAN_CFI : 0)));
    nl_put_attr(actions, OVS_ACTION_ATTR_PUSH_VLAN, &push, sizeof push);
    return expect_char(ps, ')', "to close push_vlan()");
}

/* Parses the percentage of sample(): up to three digits, optionally a point
 * and one decimal, at most 100. */
static int
parse_percentage(struct parser *ps, double *pctp)
{
    const char *at = ps->p;
    size_t int_len = strspn(ps->p, "0123456789");
    size_t frac_len = 0;
    double pct = 0;

    if (!int_len || int_len > 3) {
        return parse_error(ps, at, EINVAL, "invalid sample percentage");
    }
    for (size_t i = 0; i < int_len; i++) {
        pct = pct * 10 + (ps->p[i] - '0');
    }
    ps->p += int_len;
    if (*ps->p == '.') {
        ps->p++;
        frac_len = strspn(ps->p, "0123456789");
        if (frac_len != 1) {
            /* The formatter prints one decimal: more would not survive a
             * round trip. */
            return parse_error(ps, at, EINVAL, "sample percentage takes one "
                               "decimal (\"12.5\")");
        }
        double scale = 1;
        for (size_t i = 0; i < frac_len; i++) {
            scale /= 10;
            pct += (ps->p[i] - '0') * scale;
        }
        ps->p += frac_len;
    }
    if (pct > 100) {
        return parse_error(ps, at, ERANGE, "sample percentage above 100");
    }
    *pctp = pct;
    return 0;
}

static int
parse_nested_actions(struct parser *ps, struct buf *actions, uint16_t type)
{
    if (ps->depth >= ODP_MAX_DEPTH) {
        return parse_error(ps, ps->p, EINVAL, "actions nested deeper than %d",
                           ODP_MAX_DEPTH);
    }
    size_t ofs = nl_nest_start(actions, type);
    ps->depth++;
    int error = parse_action_list(ps, actions, ')');
    ps->depth--;
    if (!error && actions->size - ofs > UINT16_MAX) {
        error = parse_error(ps, ps->p, E2BIG, "nested actions are too long");
    }
    if (!error) {
        nl_nest_end(actions, ofs);
    }
    return error;
}

static int
parse_sample(struct parser *ps, struct buf *actions)
{
    double pct = 0;
    int error = expect_char(ps, '(', "after \"sample\"");

    if (!error && strncmp(ps->p, "sample=", 7)) {
        error = parse_error(ps, ps->p, EINVAL, "expected \"sample=\"");
    }
    if (error) {
        return error;
    }
    ps->p += 7;
    error = parse_percentage(ps, &pct);
    if (!error) {
        error = expect_char(ps, '%', "after the percentage");
    }
    if (!error && strncmp(ps->p, ",actions", 8)) {
        error = parse_error(ps, ps->p, EINVAL, "expected \",actions(\"");
    }
    if (error) {
        return error;
    }
    ps->p += 8;
    error = expect_char(ps, '(', "after \"actions\"");
    if (error) {
        return error;
    }

    double prob = floor(UINT32_MAX * (pct / 100.0) + 0.5);
    size_t ofs = nl_nest_start(actions, OVS_ACTION_ATTR_SAMPLE);
    nl_put_u32(actions, OVS_SAMPLE_ATTR_PROBABILITY,
               prob >= UINT32_MAX ? UINT32_MAX : (uint32_t) prob);
    error = parse_nested_actions(ps, actions, OVS_SAMPLE_ATTR_ACTIONS);
    if (!error) {
        error = expect_char(ps, ')', "to close actions()");
    }
    if (!error && actions->size - ofs > UINT16_MAX) {
        error = parse_error(ps, ps->p, E2BIG, "sample() is too long");
    }
    if (!error) {
        nl_nest_end(actions, ofs);
        error = expect_char(ps, ')', "to close sample()");
    }
    return error;
}

static int
parse_hash(struct parser *ps, struct buf *actions)
{
    struct ovs_action_hash hash;
    uint64_t basis;
    int error = expect_char(ps, '(', "after \"hash\"");

    if (error) {
        return error;
    }
    if (!strncmp(ps->p, "l4", 2)) {
        hash.hash_alg = OVS_HASH_ALG_L4;
        ps->p += 2;
    } else if (!strncmp(ps->p, "sym_l4", 6)) {
        hash.hash_alg = ODP_HASH_ALG_SYM_L4;
        ps->p += 6;
    } else {
        return parse_error(ps, ps->p, EINVAL, "unknown hash algorithm "
                           "(expected l4 or sym_l4)");
    }
    error = parse_paren_number(ps, UINT32_MAX, "hash basis", &basis);
    if (!error) {
        hash.hash_basis = (uint32_t) basis;
        nl_put_attr(actions, OVS_ACTION_ATTR_HASH, &hash, sizeof hash);
        error = expect_char(ps, ')', "to close hash()");
    }
    return error;
}

/* Action types that have a name here, so "actionN(...)" may not be used
 * for them. */
static bool
action_has_name(uint16_t type)
{
    switch (type) {
    case OVS_ACTION_ATTR_OUTPUT: case OVS_ACTION_ATTR_USERSPACE:
    case OVS_ACTION_ATTR_SET: case OVS_ACTION_ATTR_SET_MASKED:
    case OVS_ACTION_ATTR_PUSH_VLAN: case OVS_ACTION_ATTR_POP_VLAN:
    case OVS_ACTION_ATTR_SAMPLE: case OVS_ACTION_ATTR_RECIRC:
    case OVS_ACTION_ATTR_HASH: case OVS_ACTION_ATTR_TRUNC:
    case OVS_ACTION_ATTR_METER: case OVS_ACTION_ATTR_CLONE:
        return true;
    default:
        return false;
    }
}

static int
parse_action(struct parser *ps, struct buf *actions)
{
    const char *name = ps->p;
    size_t len = ident_len(name);
    uint64_t v;
    char buf[8];
    int error;

    if (*name >= '0' && *name <= '9') {
        uint64_t unused;
        error = parse_masked_number(ps, UINT32_MAX, false, "output port", &v,
                                    &unused);
        if (!error) {
            nl_put_u32(actions, OVS_ACTION_ATTR_OUTPUT, (uint32_t) v);
        }
        return error;
    }
    if (!len) {
        return parse_error(ps, name, EINVAL, "expected an action, found %s",
                           describe_char(name, buf, sizeof buf));
    }
    ps->p += len;
    if (ident_is(name, len, "pop_vlan")) {
        nl_put_flag(actions, OVS_ACTION_ATTR_POP_VLAN);
        return 0;
    } else if (ident_is(name, len, "userspace")) {
        return parse_userspace(ps, actions);
    } else if (ident_is(name, len, "set")) {
        return parse_set(ps, actions);
    } else if (ident_is(name, len, "push_vlan")) {
        return parse_push_vlan(ps, actions);
    } else if (ident_is(name, len, "sample")) {
        return parse_sample(ps, actions);
    } else if (ident_is(name, len, "hash")) {
        return parse_hash(ps, actions);
    } else if (ident_is(name, len, "clone")) {
        error = expect_char(ps, '(', "after \"clone\"");
        if (!error) {
            error = parse_nested_actions(ps, actions, OVS_ACTION_ATTR_CLONE);
        }
        return error ? error : expect_char(ps, ')', "to close clone()");
    } else if (ident_is(name, len, "recirc") || ident_is(name, len, "trunc")
               || ident_is(name, len, "meter")) {
        uint16_t type = (name[0] == 'r' ? OVS_ACTION_ATTR_RECIRC
                         : name[0] == 't' ? OVS_ACTION_ATTR_TRUNC
                         : OVS_ACTION_ATTR_METER);
        error = parse_paren_number(ps, UINT32_MAX, name[0] == 'r'
                                   ? "recirc id" : name[0] == 't'
                                   ? "truncation length" : "meter id", &v);
        if (!error) {
            nl_put_u32(actions, type, (uint32_t) v);
        }
        return error;
    }

    uint16_t type;
    error = parse_generic_name(ps, name, len, "action", &type);
    if (error == ENOENT) {
        return parse_error(ps, name, EINVAL, "unknown action \"%.*s\"",
                           (int) MIN(len, 32), name);
    } else if (!error && action_has_name(type)) {
        return parse_error(ps, name, EINVAL, "action %u has a name here; use "
                           "it", type);
    }
    return error ? error : parse_generic_attr(ps, type, actions, NULL,
                                              "action");
}

/* Parses a comma-separated action list that ends at 'end', leaving the
 * cursor on 'end'.  "drop" alone stands for the empty list. */
static int
parse_action_list(struct parser *ps, struct buf *actions, char end)
{
    size_t start = actions->size;
    char buf[8];

    skip_space(ps);
    if (!strncmp(ps->p, "drop", 4)) {
        const char *after = ps->p + 4 + strspn(ps->p + 4, " \t\r\n");
        if (*after == end) {
            ps->p = after;
            return 0;
        }
    }
    if (*ps->p == end) {
        return 0;
    }
    for (;;) {
        int error = parse_action(ps, actions);
        if (error) {
            return error;
        }
        if (actions->size - start > ODP_MAX_LEN) {
            return parse_error(ps, ps->p, E2BIG, "action list is too long");
        }
        skip_space(ps);
        if (*ps->p == end) {
            return 0;
        } else if (*ps->p != ',') {
            return parse_error(ps, ps->p, EINVAL, "%s %s after an action",
                               end ? "expected ',' or ')', found"
                               : "trailing garbage:",
                               describe_char(ps->p, buf, sizeof buf));
        }
        ps->p++;
        skip_space(ps);
    }
}

int
odp_parse_actions(const char *s, struct buf *actions, struct errbuf *eb)
{
    struct parser ps = { s, s, eb, 0 };
    size_t size = actions->size;

    if (size % NLA_ALIGNTO) {
        return errbuf_set(eb, EINVAL, "output buffer is not 4-byte aligned");
    }
    int error = parse_action_list(&ps, actions, '\0');
    if (error) {
        actions->size = size;
    }
    return error;
}
