#include "privd/dp-execute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/openvswitch.h>
#include <netinet/in.h>
#include <string.h>

#include "common/bytes.h"
#include "common/counters.h"
#include "common/crc32c.h"
#include "common/csum.h"
#include "common/log.h"
#include "common/nl.h"

LOG_MODULE(dp_execute);

COUNTER_DEFINE(dp_execute_malformed);
COUNTER_DEFINE(dp_execute_unsupported);
COUNTER_DEFINE(dp_execute_nest_too_deep);
COUNTER_DEFINE(dp_execute_set_missing_header);
COUNTER_DEFINE(dp_execute_sctp_frag_csum_kept);
COUNTER_DEFINE(dp_execute_push_vlan_no_room);
COUNTER_DEFINE(dp_execute_pop_vlan_untagged);
COUNTER_DEFINE(dp_execute_recirc_too_deep);
COUNTER_DEFINE(dp_execute_no_output_cb);
COUNTER_DEFINE(dp_execute_no_userspace_cb);
COUNTER_DEFINE(dp_execute_no_recirc_cb);

static struct log_rl bad_rl = LOG_RL_INIT(5, 20);

#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_VLAN_8021AD 0x88a8

#define IPV4_HEADER_LEN 20
#define IPV6_HEADER_LEN 40
#define TCP_HEADER_LEN 20
#define UDP_HEADER_LEN 8
#define SCTP_HEADER_LEN 12
#define ICMP6_HEADER_LEN 4

/* One invocation of an action list: the packet and the length limit that a
 * TRUNC set for the next OUTPUT or USERSPACE (UINT32_MAX: none). */
struct exec_frame {
    struct dp_executor *ex;     /* Callbacks and PRNG. */
    struct dp_packet *pkt;      /* The packet the actions modify. */
    const void *actions;        /* The list being run (for USERSPACE). */
    size_t actions_len;         /* Its length. */
    uint32_t cutlen;            /* Max length of the next output copy. */
    int depth;                  /* Nesting of SAMPLE/CLONE lists. */
};

static int execute_list(struct dp_executor *, struct dp_packet *,
                        const void *actions, size_t len, uint32_t cutlen,
                        int depth);

/* Counts and logs an action that this executor cannot run, and returns
 * 'error' (EINVAL: malformed, EOPNOTSUPP: a type this executor does not
 * support). */
static int
action_error(int error, uint16_t type)
{
    if (error == EOPNOTSUPP) {
        COUNTER_INC(dp_execute_unsupported);
        LOG_WARN_RL(&bad_rl, "action type %u (or its key) is not supported",
                    type);
    } else {
        COUNTER_INC(dp_execute_malformed);
        LOG_WARN_RL(&bad_rl, "malformed action type %u", type);
    }
    return error;
}





/* Bits of 'old' outside 'mask' with bits of 'val' inside it. */
static uint32_t
masked32(uint32_t old, uint32_t val, uint32_t mask)
{
    return (old & ~mask) | (val & mask);
}

static uint8_t
masked8(uint8_t old, uint8_t val, uint8_t mask)
{
    return (uint8_t) ((old & ~mask) | (val & mask));
}

/* The SCTP checksum of the packet at 'sctp'/'len' as it would be stored
 * (little-endian CRC32c of the packet with its checksum field zero), in the
 * byte order of the field. */
static ovs_be32
sctp_crc(const uint8_t *sctp, size_t len)
{
    static const uint8_t zeros[4];
    uint32_t crc = crc32c(sctp, 8);

    crc = crc32c_continue(crc, zeros, 4);
    crc = crc32c_continue(crc, sctp + 12, len - 12);

    uint8_t le[4];
    crc32c_put_le(le, crc);
    return get_unaligned_be32(le);
}

/* Header presence.  The parser's offsets are trusted only as far as the
 * frame's real length confirms them. */

/* True when 'pkt' has a complete Ethernet header. */
static bool
has_eth(const struct dp_packet *pkt)
{
    return pkt->buf.size >= ETH_HEADER_LEN
           && !(pkt->layout.parse_flags & PKT_TRUNC_L2);
}

/* Returns the start of the L3 header of 'pkt' if it is of 'dl_type' and
 * 'len' bytes of it are present, else NULL. */
static uint8_t *
l3_header(const struct dp_packet *pkt, uint16_t dl_type, size_t len)
{
    const struct packet_layout *l = &pkt->layout;

    if (pkt->flow.dl_type != htons(dl_type) || l->l3 == PACKET_OFS_NONE
        || l->parse_flags & (PKT_TRUNC_L3 | PKT_BAD_L3)
        || (size_t) l->l3 + len > pkt->buf.size) {
        return NULL;
    }
    return pkt->buf.data + l->l3;
}

/* Returns the start of the L4 header of 'pkt' if it is protocol 'proto', not
 * a later fragment, and 'len' bytes of it are present; else NULL. */
static uint8_t *
l4_header(const struct dp_packet *pkt, uint8_t proto, size_t len)
{
    const struct packet_layout *l = &pkt->layout;

    if (!flow_is_ip(&pkt->flow) || pkt->flow.nw_proto != proto
        || pkt->flow.nw_frag & FLOW_NW_FRAG_LATER
        || l->l3 == PACKET_OFS_NONE || l->l4 == PACKET_OFS_NONE
        || l->parse_flags & (PKT_TRUNC_L3 | PKT_BAD_L3
                             | PKT_TRUNC_L4 | PKT_BAD_L4)
        || (size_t) l->l4 + len > pkt->buf.size) {
        return NULL;
    }
    return pkt->buf.data + l->l4;
}

/* The L4 checksum field covering an IP pseudo-header, if 'pkt' has one:
 * TCP, UDP, and ICMPv6 for IPv6.  '*udpp' tells whether it is UDP's, for
 * which zero means "no checksum". */
static uint8_t *
l4_csum_field(const struct dp_packet *pkt, bool *udpp)
{
    uint8_t *l4;

    *udpp = false;
    if ((l4 = l4_header(pkt, IPPROTO_TCP, TCP_HEADER_LEN))) {
        return l4 + 16;
    }
    if ((l4 = l4_header(pkt, IPPROTO_UDP, UDP_HEADER_LEN))) {
        *udpp = true;
        return l4 + 6;
    }
    if (pkt->flow.dl_type == htons(ETH_TYPE_IPV6)
        && (l4 = l4_header(pkt, IPPROTO_ICMPV6, ICMP6_HEADER_LEN))) {
        return l4 + 2;
    }
    return NULL;
}

/* Stores 'csum' into an L4 checksum field; UDP's zero would mean "none",
 * and one's complement has a second zero to use instead. */
static void
l4_csum_store(uint8_t *field, ovs_be16 csum, bool udp)
{
    put_unaligned_be16(field, udp && !csum ? htons(0xffff) : csum);
}

/* Fixes the L4 checksum of 'pkt' for a pseudo-header address changing from
 * 'old' to 'new' ('n' = 4 or 16 bytes). */
static void
l4_csum_update_addr(struct dp_packet *pkt, const void *old, const void *new,
                    size_t n)
{
    bool udp;
    uint8_t *field = l4_csum_field(pkt, &udp);

    if (!field) {
        return;
    }
    ovs_be16 c = get_unaligned_be16(field);
    if (udp && !c) {
        return;
    }
    if (n == 4) {
        ovs_be32 o, v;
        memcpy(&o, old, 4);
        memcpy(&v, new, 4);
        c = csum_update32(c, o, v);
    } else {
        c = csum_update128(c, old, new);
    }
    l4_csum_store(field, c, udp);
}

/* Sets the byte at 'ofs' of the IPv4 header 'nh' to 'v', fixing the header
 * checksum over the 16-bit word that holds it. */
static void
ipv4_set_byte(uint8_t *nh, size_t ofs, uint8_t v)
{
    uint8_t *word = nh + (ofs & ~(size_t) 1);
    ovs_be16 old = get_unaligned_be16(word);

    nh[ofs] = v;
    put_unaligned_be16(nh + 10, csum_update16(get_unaligned_be16(nh + 10), old, get_unaligned_be16(word)));
}

/* Sets the IPv4 address at 'field' (source or destination of 'nh') to
 * 'addr', fixing the header and L4 checksums. */
static void
ipv4_set_addr(struct dp_packet *pkt, uint8_t *nh, uint8_t *field,
              ovs_be32 addr)
{
    ovs_be32 old = get_unaligned_be32(field);

    if (old == addr) {
        return;
    }
    put_unaligned_be16(nh + 10, csum_update32(get_unaligned_be16(nh + 10), old, addr));
    l4_csum_update_addr(pkt, &old, &addr, 4);
    put_unaligned_be32(field, addr);
}

/* True if the IPv6 packet 'pkt' carries a routing header, with which the
 * pseudo-header's destination is the final one, not the header's. */
static bool
ipv6_has_routing_header(const struct dp_packet *pkt, const uint8_t *nh)
{
    const uint8_t *data = pkt->buf.data;
    size_t end = pkt->layout.l3_end <= pkt->buf.size
                 ? pkt->layout.l3_end : pkt->buf.size;
    size_t ofs = (size_t) (nh - data) + IPV6_HEADER_LEN;
    uint8_t next = nh[6];

    /* Each extension header is at least 8 bytes, so this ends. */
    while (ofs + 2 <= end) {
        size_t len;

        switch (next) {
        case IPPROTO_ROUTING:
            return true;
        case IPPROTO_HOPOPTS:
        case IPPROTO_DSTOPTS:
            len = ((size_t) data[ofs + 1] + 1) * 8;
            break;
        case IPPROTO_FRAGMENT:
            len = 8;
            break;
        case IPPROTO_AH:
            len = ((size_t) data[ofs + 1] + 2) * 4;
            break;
        default:
            return false;
        }
        next = data[ofs];
        ofs += len;
    }
    return false;
}

/* SET and SET_MASKED.  A key value and its mask, one of these. */
union set_key {
    struct ovs_key_ethernet eth;   /* OVS_KEY_ATTR_ETHERNET. */
    struct ovs_key_ipv4 ipv4;      /* OVS_KEY_ATTR_IPV4. */
    struct ovs_key_ipv6 ipv6;      /* OVS_KEY_ATTR_IPV6. */
    struct ovs_key_tcp tcp;        /* OVS_KEY_ATTR_TCP. */
    struct ovs_key_udp udp;        /* OVS_KEY_ATTR_UDP. */
    struct ovs_key_sctp sctp;      /* OVS_KEY_ATTR_SCTP. */
    uint32_t u32;                  /* OVS_KEY_ATTR_PRIORITY, _SKB_MARK. */
};

/* Size of the value of the settable key attribute 'type', or 0 if SET does
 * not implement it. */
static size_t
set_key_size(uint16_t type)
{
    switch (type) {
    case OVS_KEY_ATTR_ETHERNET: return sizeof(struct ovs_key_ethernet);
    case OVS_KEY_ATTR_IPV4: return sizeof(struct ovs_key_ipv4);
    case OVS_KEY_ATTR_IPV6: return sizeof(struct ovs_key_ipv6);
    case OVS_KEY_ATTR_TCP: return sizeof(struct ovs_key_tcp);
    case OVS_KEY_ATTR_UDP: return sizeof(struct ovs_key_udp);
    case OVS_KEY_ATTR_SCTP: return sizeof(struct ovs_key_sctp);
    case OVS_KEY_ATTR_PRIORITY: return sizeof(uint32_t);
    case OVS_KEY_ATTR_SKB_MARK: return sizeof(uint32_t);
    default: return 0;
    }
}

static void
set_ethernet(struct dp_packet *pkt, const struct ovs_key_ethernet *v,
             const struct ovs_key_ethernet *m)
{
    uint8_t *eth = pkt->buf.data;

    if (!has_eth(pkt)) {
        COUNTER_INC(dp_execute_set_missing_header);
        return;
    }
    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        eth[i] = masked8(eth[i], v->eth_dst[i], m->eth_dst[i]);
        eth[ETH_ADDR_LEN + i] = masked8(eth[ETH_ADDR_LEN + i], v->eth_src[i],
                                        m->eth_src[i]);
    }
    memcpy(pkt->flow.dl_dst.ea, eth, ETH_ADDR_LEN);
    memcpy(pkt->flow.dl_src.ea, eth + ETH_ADDR_LEN, ETH_ADDR_LEN);
}

static void
set_ipv4(struct dp_packet *pkt, const struct ovs_key_ipv4 *v,
         const struct ovs_key_ipv4 *m)
{
    uint8_t *nh = l3_header(pkt, ETH_TYPE_IP, IPV4_HEADER_LEN);

    if (!nh) {
        COUNTER_INC(dp_execute_set_missing_header);
        return;
    }
    if (m->ipv4_src) {
        ipv4_set_addr(pkt, nh, nh + 12,
                      masked32(get_unaligned_be32(nh + 12), v->ipv4_src, m->ipv4_src));
        pkt->flow.nw_src = get_unaligned_be32(nh + 12);
    }
    if (m->ipv4_dst) {
        ipv4_set_addr(pkt, nh, nh + 16,
                      masked32(get_unaligned_be32(nh + 16), v->ipv4_dst, m->ipv4_dst));
        pkt->flow.nw_dst = get_unaligned_be32(nh + 16);
    }
    if (m->ipv4_tos) {
        ipv4_set_byte(nh, 1, masked8(nh[1], v->ipv4_tos, m->ipv4_tos));
        pkt->flow.nw_tos = nh[1];
    }
    if (m->ipv4_ttl) {
        ipv4_set_byte(nh, 8, masked8(nh[8], v->ipv4_ttl, m->ipv4_ttl));
        pkt->flow.nw_ttl = nh[8];
    }
}

/* Sets the IPv6 address at 'field' under a mask, fixing the L4 checksum
 * unless 'fix_l4' is false. */
static void
ipv6_set_addr(struct dp_packet *pkt, uint8_t *field, const uint32_t v[4],
              const uint32_t m[4], bool fix_l4)
{
    uint8_t old[16], new[16];

    memcpy(old, field, 16);
    for (int i = 0; i < 4; i++) {
        uint32_t word = masked32(get_unaligned_be32(old + 4 * i), v[i], m[i]);
        memcpy(new + 4 * i, &word, 4);
    }
    if (!memcmp(old, new, 16)) {
        return;
    }
    if (fix_l4) {
        l4_csum_update_addr(pkt, old, new, 16);
    }
    memcpy(field, new, 16);
}

static void
set_ipv6(struct dp_packet *pkt, const struct ovs_key_ipv6 *v,
         const struct ovs_key_ipv6 *m)
{
    uint8_t *nh = l3_header(pkt, ETH_TYPE_IPV6, IPV6_HEADER_LEN);

    if (!nh) {
        COUNTER_INC(dp_execute_set_missing_header);
        return;
    }
    ipv6_set_addr(pkt, nh + 8, v->ipv6_src, m->ipv6_src, true);
    memcpy(&pkt->flow.ipv6_src, nh + 8, 16);
    ipv6_set_addr(pkt, nh + 24, v->ipv6_dst, m->ipv6_dst,
                  !ipv6_has_routing_header(pkt, nh));
    memcpy(&pkt->flow.ipv6_dst, nh + 24, 16);

    /* First word: version (4 bits), traffic class (8), flow label (20). */
    uint32_t word = ntohl(get_unaligned_be32(nh));
    uint32_t tc_mask = (uint32_t) m->ipv6_tclass << 20;
    uint32_t label_mask = ntohl(m->ipv6_label) & 0xfffff;
    word = masked32(word, (uint32_t) v->ipv6_tclass << 20, tc_mask);
    word = masked32(word, ntohl(v->ipv6_label), label_mask);
    put_unaligned_be32(nh, htonl(word));
    pkt->flow.nw_tos = (uint8_t) (word >> 20);
    pkt->flow.ipv6_label = htonl(word & 0xfffff);

    nh[7] = masked8(nh[7], v->ipv6_hlimit, m->ipv6_hlimit);
    pkt->flow.nw_ttl = nh[7];
}

/* Sets the TCP or UDP ports at 'l4' under a mask, fixing the checksum at
 * 'csum_ofs' within it; 'udp' keeps a zero checksum zero. */
static void
set_ports(struct dp_packet *pkt, uint8_t *l4, size_t csum_ofs, bool udp,
          ovs_be16 src, ovs_be16 src_mask, ovs_be16 dst, ovs_be16 dst_mask)
{
    ovs_be16 old_src = get_unaligned_be16(l4), old_dst = get_unaligned_be16(l4 + 2);
    ovs_be16 new_src = (ovs_be16) ((old_src & ~src_mask) | (src & src_mask));
    ovs_be16 new_dst = (ovs_be16) ((old_dst & ~dst_mask) | (dst & dst_mask));
    ovs_be16 c = get_unaligned_be16(l4 + csum_ofs);

    if (!udp || c) {
        c = csum_update16(c, old_src, new_src);
        c = csum_update16(c, old_dst, new_dst);
        l4_csum_store(l4 + csum_ofs, c, udp);
    }
    put_unaligned_be16(l4, new_src);
    put_unaligned_be16(l4 + 2, new_dst);
    pkt->flow.tp_src = new_src;
    pkt->flow.tp_dst = new_dst;
}

static void
set_tcp(struct dp_packet *pkt, const struct ovs_key_tcp *v,
        const struct ovs_key_tcp *m)
{
    uint8_t *l4 = l4_header(pkt, IPPROTO_TCP, TCP_HEADER_LEN);

    if (!l4) {
        COUNTER_INC(dp_execute_set_missing_header);
        return;
    }
    set_ports(pkt, l4, 16, false, v->tcp_src, m->tcp_src, v->tcp_dst,
              m->tcp_dst);
}

static void
set_udp(struct dp_packet *pkt, const struct ovs_key_udp *v,
        const struct ovs_key_udp *m)
{
    uint8_t *l4 = l4_header(pkt, IPPROTO_UDP, UDP_HEADER_LEN);

    if (!l4) {
        COUNTER_INC(dp_execute_set_missing_header);
        return;
    }
    set_ports(pkt, l4, 6, true, v->udp_src, m->udp_src, v->udp_dst,
              m->udp_dst);
}

static void
set_sctp(struct dp_packet *pkt, const struct ovs_key_sctp *v,
         const struct ovs_key_sctp *m)
{
    uint8_t *l4 = l4_header(pkt, IPPROTO_SCTP, SCTP_HEADER_LEN);
    size_t end = pkt->layout.l3_end;

    if (!l4 || end > pkt->buf.size
        || end < (size_t) (l4 - pkt->buf.data) + SCTP_HEADER_LEN) {
        COUNTER_INC(dp_execute_set_missing_header);
        return;
    }
    size_t len = end - (size_t) (l4 - pkt->buf.data);
    ovs_be16 src = (ovs_be16) ((get_unaligned_be16(l4) & ~m->sctp_src)
                               | (v->sctp_src & m->sctp_src));
    ovs_be16 dst = (ovs_be16) ((get_unaligned_be16(l4 + 2) & ~m->sctp_dst)
                               | (v->sctp_dst & m->sctp_dst));

    if (pkt->flow.nw_frag & FLOW_NW_FRAG_ANY) {
        /* The CRC covers the whole datagram, which we do not have. */
        COUNTER_INC(dp_execute_sctp_frag_csum_kept);
        put_unaligned_be16(l4, src);
        put_unaligned_be16(l4 + 2, dst);
    } else {
        /* Recompute, carrying over any error the old checksum had. */
        ovs_be32 old_correct = sctp_crc(l4, len);
        put_unaligned_be16(l4, src);
        put_unaligned_be16(l4 + 2, dst);
        put_unaligned_be32(l4 + 8, get_unaligned_be32(l4 + 8) ^ old_correct ^ sctp_crc(l4, len));
    }
    pkt->flow.tp_src = src;
    pkt->flow.tp_dst = dst;
}

static void
set_u32(uint32_t *field, uint32_t v, uint32_t m)
{
    *field = masked32(*field, v, m);
}

/* Executes SET ('masked' false) or SET_MASKED 'a'. */
static int
execute_set(struct dp_packet *pkt, const struct nlattr *a, bool masked)
{
    const uint8_t *payload = nl_attr_get(a);
    size_t payload_len = nl_attr_get_size(a);
    struct nlattr key;

    /* The payload is exactly one key attribute. */
    if (payload_len < NLA_HDRLEN) {
        return EINVAL;
    }
    memcpy(&key, payload, sizeof key);
    size_t key_len = key.nla_len;
    if (key_len < NLA_HDRLEN || key_len > payload_len
        || ROUND_UP(key_len, NLA_ALIGNTO) < payload_len) {
        return EINVAL;
    }
    uint16_t type = key.nla_type & NLA_TYPE_MASK;
    size_t size = set_key_size(type);
    if (!size) {
        return EOPNOTSUPP;
    }
    if (key_len - NLA_HDRLEN != (masked ? 2 * size : size)) {
        return EINVAL;
    }

    union set_key v, m;
    memcpy(&v, payload + NLA_HDRLEN, size);
    if (masked) {
        memcpy(&m, payload + NLA_HDRLEN + size, size);
    } else {
        memset(&m, 0xff, sizeof m);
        m.ipv6.ipv6_label = htonl(0xfffff);
    }

    switch (type) {
    case OVS_KEY_ATTR_ETHERNET:
        set_ethernet(pkt, &v.eth, &m.eth);
        break;
    case OVS_KEY_ATTR_IPV4:
        set_ipv4(pkt, &v.ipv4, &m.ipv4);
        break;
    case OVS_KEY_ATTR_IPV6:
        set_ipv6(pkt, &v.ipv6, &m.ipv6);
        break;
    case OVS_KEY_ATTR_TCP:
        set_tcp(pkt, &v.tcp, &m.tcp);
        break;
    case OVS_KEY_ATTR_UDP:
        set_udp(pkt, &v.udp, &m.udp);
        break;
    case OVS_KEY_ATTR_SCTP:
        set_sctp(pkt, &v.sctp, &m.sctp);
        break;
    case OVS_KEY_ATTR_PRIORITY:
        set_u32(&pkt->flow.priority, v.u32, m.u32);
        break;
    case OVS_KEY_ATTR_SKB_MARK:
        set_u32(&pkt->flow.skb_mark, v.u32, m.u32);
        break;
    default:
        return EOPNOTSUPP;
    }
    return 0;
}

static void
execute_push_vlan(struct dp_packet *pkt,
                  const struct ovs_action_push_vlan *vlan)
{
    if (!has_eth(pkt)
        || pkt->buf.size + VLAN_HEADER_LEN > DP_PACKET_MAX_SIZE) {
        COUNTER_INC(dp_execute_push_vlan_no_room);
        return;
    }
    size_t size = pkt->buf.size;
    buf_put_uninit(&pkt->buf, VLAN_HEADER_LEN);
    uint8_t *data = pkt->buf.data;
    memmove(data + 2 * ETH_ADDR_LEN + VLAN_HEADER_LEN,
            data + 2 * ETH_ADDR_LEN, size - 2 * ETH_ADDR_LEN);
    put_unaligned_be16(data + 2 * ETH_ADDR_LEN, vlan->vlan_tpid);
    put_unaligned_be16(data + 2 * ETH_ADDR_LEN + 2,
             (ovs_be16) (vlan->vlan_tci & ~htons(VLAN_CFI)));
    dp_packet_reparse(pkt);
}

static void
execute_pop_vlan(struct dp_packet *pkt)
{
    uint8_t *data = pkt->buf.data;
    size_t size = pkt->buf.size;
    ovs_be16 tpid;

    if (size < ETH_HEADER_LEN + VLAN_HEADER_LEN
        || ((tpid = get_unaligned_be16(data + 2 * ETH_ADDR_LEN)) != htons(ETH_TYPE_VLAN)
            && tpid != htons(ETH_TYPE_VLAN_8021AD))) {
        COUNTER_INC(dp_execute_pop_vlan_untagged);
        return;
    }
    memmove(data + 2 * ETH_ADDR_LEN,
            data + 2 * ETH_ADDR_LEN + VLAN_HEADER_LEN,
            size - 2 * ETH_ADDR_LEN - VLAN_HEADER_LEN);
    pkt->buf.size -= VLAN_HEADER_LEN;
    dp_packet_reparse(pkt);
}

/* Hands 'pkt', cut to the frame's pending length limit, to the output or
 * userspace callback; clears the limit. */
static struct dp_packet
truncated_view(struct exec_frame *f)
{
    struct dp_packet view = *f->pkt;

    if (view.buf.size > f->cutlen) {
        view.buf.size = f->cutlen;
        view.buf.allocated = f->cutlen;
    }
    view.buf.on_heap = false;
    f->cutlen = UINT32_MAX;
    return view;
}

static void
execute_output(struct exec_frame *f, uint32_t port)
{
    const struct dp_execute_cbs *cbs = f->ex->cbs;
    struct dp_packet view = truncated_view(f);

    if (!cbs->output) {
        COUNTER_INC(dp_execute_no_output_cb);
        return;
    }
    cbs->output(f->ex->aux, port, &view);
}

static const struct nl_policy userspace_policy[] = {
    [OVS_USERSPACE_ATTR_PID] = { .type = NL_A_U32 },
    [OVS_USERSPACE_ATTR_USERDATA] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_USERSPACE_ATTR_EGRESS_TUN_PORT] = { .type = NL_A_U32,
                                             .optional = true },
    [OVS_USERSPACE_ATTR_ACTIONS] = { .type = NL_A_FLAG, .optional = true },
};

static int
execute_userspace(struct exec_frame *f, const struct nlattr *a)
{
    const struct nlattr *attrs[ARRAY_SIZE(userspace_policy)];
    struct errbuf eb;

    if (nl_parse_nested(a, userspace_policy, ARRAY_SIZE(userspace_policy),
                        attrs, &eb)) {
        LOG_WARN_RL(&bad_rl, "userspace action: %s", eb.msg);
        return action_error(EINVAL, OVS_ACTION_ATTR_USERSPACE);
    }

    struct dp_userspace_args args = {
        .pid = nl_attr_get_u32(attrs[OVS_USERSPACE_ATTR_PID]),
    };
    const struct nlattr *ud = attrs[OVS_USERSPACE_ATTR_USERDATA];
    if (ud) {
        args.userdata = nl_attr_get(ud);
        args.userdata_len = nl_attr_get_size(ud);
    }
    const struct nlattr *tun = attrs[OVS_USERSPACE_ATTR_EGRESS_TUN_PORT];
    if (tun) {
        args.has_egress_tun_port = true;
        args.egress_tun_port = nl_attr_get_u32(tun);
    }
    if (attrs[OVS_USERSPACE_ATTR_ACTIONS]) {
        args.actions = f->actions;
        args.actions_len = f->actions_len;
    }

    struct dp_packet view = truncated_view(f);
    if (!f->ex->cbs->userspace) {
        COUNTER_INC(dp_execute_no_userspace_cb);
        return 0;
    }
    f->ex->cbs->userspace(f->ex->aux, &view, &args);
    return 0;
}

/* Runs the list 'actions'/'len' on a copy of the frame's packet, one level
 * deeper. */
static int
execute_on_copy(struct exec_frame *f, const void *actions, size_t len)
{
    uint64_t stub[DP_PACKET_STUB_SIZE / 8];
    struct dp_packet copy;

    if (f->depth + 1 > DP_EXECUTE_MAX_NEST) {
        COUNTER_INC(dp_execute_nest_too_deep);
        LOG_WARN_RL(&bad_rl, "actions nested deeper than %d",
                    DP_EXECUTE_MAX_NEST);
        return ELOOP;
    }
    if (!len) {
        /* Nothing would see the copy: do not make it. */
        return 0;
    }
    dp_packet_clone(&copy, f->pkt, stub, sizeof stub);
    int error = execute_list(f->ex, &copy, actions, len, f->cutlen,
                             f->depth + 1);
    dp_packet_uninit(&copy);
    return error;
}

static const struct nl_policy sample_policy[] = {
    [OVS_SAMPLE_ATTR_PROBABILITY] = { .type = NL_A_U32 },
    [OVS_SAMPLE_ATTR_ACTIONS] = { .type = NL_A_NESTED },
};

/* The next 32 bits of SAMPLE's generator (SplitMix64). */
static uint32_t
executor_random(struct dp_executor *ex)
{
    uint64_t z = (ex->prng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t) ((z ^ (z >> 31)) >> 32);
}

static int
execute_sample(struct exec_frame *f, const struct nlattr *a)
{
    const struct nlattr *attrs[ARRAY_SIZE(sample_policy)];
    struct errbuf eb;

    if (nl_parse_nested(a, sample_policy, ARRAY_SIZE(sample_policy), attrs,
                        &eb)) {
        LOG_WARN_RL(&bad_rl, "sample action: %s", eb.msg);
        return action_error(EINVAL, OVS_ACTION_ATTR_SAMPLE);
    }
    uint32_t probability = nl_attr_get_u32(attrs[OVS_SAMPLE_ATTR_PROBABILITY]);
    if (probability != UINT32_MAX
        && (!probability || executor_random(f->ex) > probability)) {
        return 0;
    }
    const struct nlattr *list = attrs[OVS_SAMPLE_ATTR_ACTIONS];
    return execute_on_copy(f, nl_attr_get(list), nl_attr_get_size(list));
}

static void
execute_recirc(struct exec_frame *f, uint32_t recirc_id)
{
    uint64_t stub[DP_PACKET_STUB_SIZE / 8];
    struct dp_packet copy;

    if (!f->ex->cbs->recirc) {
        COUNTER_INC(dp_execute_no_recirc_cb);
        return;
    }
    if (f->pkt->recirc_depth >= DP_EXECUTE_MAX_RECIRC) {
        COUNTER_INC(dp_execute_recirc_too_deep);
        LOG_WARN_RL(&bad_rl, "packet recirculated %d times, dropping copy "
                    "for recirc_id %"PRIu32, DP_EXECUTE_MAX_RECIRC,
                    recirc_id);
        return;
    }
    dp_packet_clone(&copy, f->pkt, stub, sizeof stub);
    copy.flow.recirc_id = recirc_id;
    copy.recirc_depth++;
    f->ex->cbs->recirc(f->ex->aux, &copy);
    dp_packet_uninit(&copy);
}

/* Checks the payload length 'len' of an action of 'type': 0, EINVAL for a
 * wrong length, EOPNOTSUPP for an action not implemented here.  Nested
 * actions are checked as they are parsed. */
static int
action_check_len(uint16_t type, size_t len)
{
    size_t expected;

    switch (type) {
    case OVS_ACTION_ATTR_OUTPUT:
    case OVS_ACTION_ATTR_RECIRC:
        expected = sizeof(uint32_t);
        break;
    case OVS_ACTION_ATTR_TRUNC:
        expected = sizeof(struct ovs_action_trunc);
        break;
    case OVS_ACTION_ATTR_PUSH_VLAN:
        expected = sizeof(struct ovs_action_push_vlan);
        break;
    case OVS_ACTION_ATTR_HASH:
        expected = sizeof(struct ovs_action_hash);
        break;
    case OVS_ACTION_ATTR_POP_VLAN:
        expected = 0;
        break;
    case OVS_ACTION_ATTR_USERSPACE:
    case OVS_ACTION_ATTR_SET:
    case OVS_ACTION_ATTR_SET_MASKED:
    case OVS_ACTION_ATTR_SAMPLE:
    case OVS_ACTION_ATTR_CLONE:
        return 0;
    default:
        return EOPNOTSUPP;
    }
    return len == expected ? 0 : EINVAL;
}

/* Executes one action 'a' whose framing is already checked. */
static int
execute_action(struct exec_frame *f, const struct nlattr *a)
{
    uint16_t type = nl_attr_type(a);
    size_t len = nl_attr_get_size(a);
    int error = action_check_len(type, len);

    if (error) {
        return action_error(error, type);
    }

    switch ((enum ovs_action_attr) type) {
    case OVS_ACTION_ATTR_OUTPUT:
        execute_output(f, nl_attr_get_u32(a));
        return 0;

    case OVS_ACTION_ATTR_TRUNC: {
        struct ovs_action_trunc trunc;
        memcpy(&trunc, nl_attr_get(a), sizeof trunc);
        f->cutlen = trunc.max_len;
        return 0;
    }

    case OVS_ACTION_ATTR_USERSPACE:
        return execute_userspace(f, a);

    case OVS_ACTION_ATTR_SET:
    case OVS_ACTION_ATTR_SET_MASKED:
        error = execute_set(f->pkt, a, type == OVS_ACTION_ATTR_SET_MASKED);
        return error ? action_error(error, type) : 0;

    case OVS_ACTION_ATTR_PUSH_VLAN: {
        struct ovs_action_push_vlan vlan;
        memcpy(&vlan, nl_attr_get(a), sizeof vlan);
        execute_push_vlan(f->pkt, &vlan);
        return 0;
    }

    case OVS_ACTION_ATTR_POP_VLAN:
        execute_pop_vlan(f->pkt);
        return 0;

    case OVS_ACTION_ATTR_HASH: {
        struct ovs_action_hash hash;
        memcpy(&hash, nl_attr_get(a), sizeof hash);
        if (hash.hash_alg != OVS_HASH_ALG_L4) {
            return action_error(EOPNOTSUPP, type);
        }
        uint32_t h = flow_hash_5tuple(&f->pkt->flow, hash.hash_basis);
        f->pkt->flow.dp_hash = h ? h : 1;
        return 0;
    }

    case OVS_ACTION_ATTR_SAMPLE:
        return execute_sample(f, a);

    case OVS_ACTION_ATTR_CLONE:
        return execute_on_copy(f, nl_attr_get(a), len);

    case OVS_ACTION_ATTR_RECIRC:
        execute_recirc(f, nl_attr_get_u32(a));
        return 0;

    default:
        return action_error(EOPNOTSUPP, type);
    }
}

static int
execute_list(struct dp_executor *ex, struct dp_packet *pkt,
             const void *actions, size_t len, uint32_t cutlen, int depth)
{
    struct exec_frame f = {
        .ex = ex,
        .pkt = pkt,
        .actions = actions,
        .actions_len = len,
        .cutlen = cutlen,
        .depth = depth,
    };
    const uint8_t *p = actions;
    size_t left = len;

    if ((uintptr_t) actions % NLA_ALIGNTO) {
        COUNTER_INC(dp_execute_malformed);
        LOG_WARN_RL(&bad_rl, "misaligned action list");
        return EINVAL;
    }
    while (left) {
        struct nlattr hdr;

        if (left < NLA_HDRLEN) {
            COUNTER_INC(dp_execute_malformed);
            LOG_WARN_RL(&bad_rl, "%zu trailing bytes in action list", left);
            return EINVAL;
        }
        memcpy(&hdr, p, sizeof hdr);
        if (hdr.nla_len < NLA_HDRLEN || hdr.nla_len > left) {
            COUNTER_INC(dp_execute_malformed);
            LOG_WARN_RL(&bad_rl, "action type %u has length %u with %zu bytes "
                        "left", hdr.nla_type & NLA_TYPE_MASK, hdr.nla_len,
                        left);
            return EINVAL;
        }

        /* 'p' is 4-byte aligned: the list is, and every step is a multiple
         * of 4 but the last.  An error was counted where it was found (in a
         * nested list, perhaps) and stops every enclosing list too. */
        int error = execute_action(&f,
                                   (const struct nlattr *) (const void *) p);
        if (error) {
            return error;
        }

        size_t step = NLA_ALIGN(hdr.nla_len);
        step = step > left ? left : step;
        p += step;
        left -= step;
    }
    return 0;
}

void
dp_executor_init(struct dp_executor *ex, const struct dp_execute_cbs *cbs,
                 void *aux, uint64_t seed)
{
    ex->cbs = cbs;
    ex->aux = aux;
    ex->prng = seed;
}

int
dp_execute_actions(struct dp_executor *ex, struct dp_packet *pkt,
                   const void *actions, size_t actions_len)
{
    return execute_list(ex, pkt, actions, actions_len, UINT32_MAX, 0);
}
