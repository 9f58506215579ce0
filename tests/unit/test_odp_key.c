/* Unit tests for common/odp-key.c: flow <-> OVS_KEY_ATTR_* round trips,
 * masks, hand-checked byte images, and fitness grading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/openvswitch.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/nl.h"
#include "common/odp-key.h"

/* ------------------------------------------------------------------ */
/* Flow builders.                                                      */

static const struct eth_addr mac_a = { { 0x00, 0x11, 0x22,
                                         0x33, 0x44, 0x55 } };
static const struct eth_addr mac_b = { { 0x66, 0x77, 0x88,
                                         0x99, 0xaa, 0xbb } };

static struct in6_addr
in6(uint8_t last)
{
    struct in6_addr a;
    memset(&a, 0, sizeof a);
    a.s6_addr[0] = 0xfe;
    a.s6_addr[1] = 0x80;
    a.s6_addr[15] = last;
    return a;
}

static struct flow
flow_l2(void)
{
    struct flow f;
    memset(&f, 0, sizeof f);
    f.in_port = 1;
    f.priority = 3;
    f.skb_mark = 0x55;
    f.dl_src = mac_a;
    f.dl_dst = mac_b;
    f.dl_type = htons(0x88cc);  /* LLDP: no L3 attribute. */
    return f;
}

static struct flow
flow_8022(void)
{
    struct flow f = flow_l2();
    f.dl_type = htons(FLOW_DL_TYPE_NONE);
    return f;
}

static struct flow
flow_ipv4(uint8_t proto)
{
    struct flow f = flow_l2();
    f.dl_type = htons(0x0800);
    f.nw_src = htonl(0x0a000001);
    f.nw_dst = htonl(0x0a000002);
    f.nw_proto = proto;
    f.nw_tos = 0x28;
    f.nw_ttl = 64;
    if (proto == IPPROTO_ICMP) {
        f.tp_src = htons(8);
        f.tp_dst = htons(0);
    } else if (proto == IPPROTO_TCP || proto == IPPROTO_UDP
               || proto == IPPROTO_SCTP) {
        f.tp_src = htons(1234);
        f.tp_dst = htons(80);
    }
    if (proto == IPPROTO_TCP) {
        f.tcp_flags = htons(0x012);
    }
    return f;
}

static struct flow
flow_ipv6(uint8_t proto)
{
    struct flow f = flow_l2();
    f.dl_type = htons(0x86dd);
    f.ipv6_src = in6(1);
    f.ipv6_dst = in6(2);
    f.ipv6_label = htonl(0xabcde);
    f.nw_proto = proto;
    f.nw_tos = 0x10;
    f.nw_ttl = 255;
    if (proto == IPPROTO_ICMPV6) {
        f.tp_src = htons(128);
    } else {
        f.tp_src = htons(5353);
        f.tp_dst = htons(5354);
    }
    if (proto == IPPROTO_TCP) {
        f.tcp_flags = htons(0x002);
    }
    return f;
}

static struct flow
flow_nd(uint8_t type)
{
    struct flow f = flow_ipv6(IPPROTO_ICMPV6);
    f.tp_src = htons(type);
    f.nd_target = in6(9);
    if (type == 135) {
        f.arp_sha = mac_a;
    } else {
        f.arp_tha = mac_b;
    }
    return f;
}

static struct flow
flow_arp(void)
{
    struct flow f = flow_l2();
    f.dl_type = htons(0x0806);
    f.nw_src = htonl(0x0a000001);
    f.nw_dst = htonl(0x0a000002);
    f.nw_proto = 1;
    f.arp_sha = mac_a;
    return f;
}

static struct flow
flow_vlan(void)
{
    struct flow f = flow_ipv4(IPPROTO_UDP);
    f.vlan_tci = htons(VLAN_CFI | (1 << VLAN_PCP_SHIFT) | 5);
    return f;
}

static struct flow
flow_tunnel(void)
{
    struct flow f = flow_ipv4(IPPROTO_TCP);
    f.tunnel.tun_id = htobe64(0x123456789aULL);
    f.tunnel.ip_src = htonl(0xc0a80001);
    f.tunnel.ip_dst = htonl(0xc0a80002);
    f.tunnel.ip_tos = 0x10;
    f.tunnel.ip_ttl = 63;
    f.tunnel.flags = FLOW_TNL_F_MASK;
    return f;
}

static struct flow
flow_recirc(void)
{
    struct flow f = flow_ipv4(IPPROTO_UDP);
    f.recirc_id = 7;
    f.dp_hash = 0xdeadbeef;
    return f;
}

/* ------------------------------------------------------------------ */
/* Fixture and helpers.                                                */

struct fixture {
    struct buf key;             /* Encoded key. */
    struct buf mask;            /* Encoded mask. */
    struct buf tmp;             /* Scratch stream. */
    struct errbuf eb;           /* Reason of the last grade. */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    buf_init(&f->key, 0);
    buf_init(&f->mask, 0);
    buf_init(&f->tmp, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    buf_uninit(&f->key);
    buf_uninit(&f->mask);
    buf_uninit(&f->tmp);
    free(f);
    return 0;
}

static void
encode(struct buf *b, const struct flow *flow)
{
    buf_clear(b);
    assert_int_equal(odp_key_from_flow(b, flow, NULL), 0);
}

static enum odp_key_fitness
decode(struct fixture *f, const struct buf *b, struct flow *flow)
{
    memset(&f->eb, 0, sizeof f->eb);
    return odp_key_to_flow(b->data, b->size, flow, &f->eb);
}

/* flow -> key -> flow is the identity, and key -> flow -> key too. */
static void
check_round_trip(struct fixture *f, const struct flow *flow)
{
    struct flow out;

    encode(&f->key, flow);
    assert_int_equal(decode(f, &f->key, &out), ODP_FIT_PERFECT);
    assert_memory_equal(&out, flow, sizeof out);

    encode(&f->tmp, &out);
    assert_int_equal(f->tmp.size, f->key.size);
    assert_memory_equal(f->tmp.data, f->key.data, f->key.size);
}

/* The mask comes back as odp_mask_normalize() says, which is idempotent. */
static void
check_mask_round_trip(struct fixture *f, const struct flow *flow,
                      const struct flow *mask)
{
    struct flow norm, norm2, out;

    odp_mask_normalize(flow, mask, &norm);
    odp_mask_normalize(flow, &norm, &norm2);
    assert_memory_equal(&norm, &norm2, sizeof norm);

    buf_clear(&f->mask);
    assert_int_equal(odp_mask_from_flow(&f->mask, mask, flow, &f->eb), 0);
    memset(&f->eb, 0, sizeof f->eb);
    assert_int_equal(odp_mask_to_flow(f->mask.data, f->mask.size, flow, &out,
                                      &f->eb), ODP_FIT_PERFECT);
    assert_memory_equal(&out, &norm, sizeof out);

    buf_clear(&f->tmp);
    assert_int_equal(odp_mask_from_flow(&f->tmp, &out, flow, NULL), 0);
    assert_int_equal(f->tmp.size, f->mask.size);
    assert_memory_equal(f->tmp.data, f->mask.data, f->mask.size);
}

/* Copies the top-level attributes of 'src' except those of 'type' to 'dst'. */
static void
copy_without(struct buf *dst, const struct buf *src, uint16_t type)
{
    const struct nlattr *a;
    size_t left;

    buf_clear(dst);
    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) (void *) src->data,
                      src->size) {
        if (nl_attr_type(a) != type) {
            buf_put(dst, a, NLA_ALIGN(a->nla_len));
        }
    }
}

/* Rewrites the payload of the first top-level attribute of 'type' in 'b'. */
static void
patch_attr(struct buf *b, uint16_t type, size_t offset, const void *data,
           size_t n)
{
    const struct nlattr *a = nl_find_attr(b->data, b->size, type);
    assert_non_null(a);
    memcpy((uint8_t *) nl_attr_get(a) + offset, data, n);
}

static void
expect_key(struct fixture *f, const struct buf *b, enum odp_key_fitness fit,
           const char *reason)
{
    struct flow out;
    assert_int_equal(decode(f, b, &out), fit);
    assert_string_equal(f->eb.msg, reason);
}

static void
expect_mask(struct fixture *f, const struct buf *b, const struct flow *flow,
            enum odp_key_fitness fit, const char *reason)
{
    struct flow out;
    memset(&f->eb, 0, sizeof f->eb);
    assert_int_equal(odp_mask_to_flow(b->data, b->size, flow, &out, &f->eb),
                     fit);
    assert_string_equal(f->eb.msg, reason);
}

/* ------------------------------------------------------------------ */
/* Round trips.                                                        */

static void
round_trip_l2(void **state)
{
    struct flow flow = flow_l2();
    check_round_trip(*state, &flow);
}

static void
round_trip_8022_has_no_ethertype(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_8022();

    check_round_trip(f, &flow);
    assert_null(nl_find_attr(f->key.data, f->key.size,
                             OVS_KEY_ATTR_ETHERTYPE));
}

static void
round_trip_vlan(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_vlan();

    check_round_trip(f, &flow);
    const struct nlattr *encap = nl_find_attr(f->key.data, f->key.size,
                                              OVS_KEY_ATTR_ENCAP);
    assert_non_null(encap);
    assert_non_null(nl_find_attr(nl_attr_get(encap), nl_attr_get_size(encap),
                                 OVS_KEY_ATTR_UDP));
    assert_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_IPV4));

    flow = flow_8022();
    flow.vlan_tci = htons(VLAN_CFI | 7);
    check_round_trip(f, &flow);
}

static void
round_trip_truncated_vlan_header(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_l2();

    flow.dl_type = htons(0x8100);
    check_round_trip(f, &flow);
    const struct nlattr *encap = nl_find_attr(f->key.data, f->key.size,
                                              OVS_KEY_ATTR_ENCAP);
    assert_non_null(encap);
    assert_int_equal(nl_attr_get_size(encap), 0);
}

static void
round_trip_arp(void **state)
{
    struct flow flow = flow_arp();
    check_round_trip(*state, &flow);
    flow.dl_type = htons(0x8035);
    flow.nw_proto = 3;
    check_round_trip(*state, &flow);
}

static void
round_trip_ipv4_l4(void **state)
{
    static const uint8_t protos[] = {
        IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_GRE,
    };
    for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
        struct flow flow = flow_ipv4(protos[i]);
        check_round_trip(*state, &flow);
    }
}

static void
round_trip_ipv4_fragments(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP);

    flow.nw_frag = FLOW_NW_FRAG_ANY;
    check_round_trip(f, &flow);
    assert_non_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_UDP));

    flow.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    flow.tp_src = flow.tp_dst = 0;
    check_round_trip(f, &flow);
    assert_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_UDP));
}

static void
round_trip_ipv6_l4(void **state)
{
    static const uint8_t protos[] = {
        IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMPV6,
    };
    for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
        struct flow flow = flow_ipv6(protos[i]);
        check_round_trip(*state, &flow);
    }
    struct flow later = flow_ipv6(IPPROTO_TCP);
    later.nw_frag = FLOW_NW_FRAG_MASK;
    later.tp_src = later.tp_dst = later.tcp_flags = 0;
    check_round_trip(*state, &later);
}

static void
round_trip_nd(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_nd(135);

    check_round_trip(f, &flow);
    assert_non_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_ND));
    flow = flow_nd(136);
    check_round_trip(f, &flow);

    /* A nonzero code still carries ND, as the kernel requires. */
    flow.tp_dst = htons(1);
    memset(&flow.nd_target, 0, sizeof flow.nd_target);
    memset(&flow.arp_tha, 0, sizeof flow.arp_tha);
    check_round_trip(f, &flow);
    assert_non_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_ND));

    /* Other ICMPv6 types do not. */
    flow = flow_ipv6(IPPROTO_ICMPV6);
    check_round_trip(f, &flow);
    assert_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_ND));
}

static void
round_trip_tunnel(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_tunnel();

    check_round_trip(f, &flow);

    /* Minimal tunnel: no key, no source, no TOS, no flags. */
    memset(&flow.tunnel, 0, sizeof flow.tunnel);
    flow.tunnel.ip_dst = htonl(0x01020304);
    check_round_trip(f, &flow);
    const struct nlattr *tun = nl_find_attr(f->key.data, f->key.size,
                                            OVS_KEY_ATTR_TUNNEL);
    assert_non_null(tun);
    assert_int_equal(nl_attr_get_size(tun), 8 + 8);   /* IPV4_DST, TTL. */
}

static void
round_trip_recirc_and_dp_hash(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_recirc();

    check_round_trip(f, &flow);
    flow.dp_hash = 0;
    check_round_trip(f, &flow);
    assert_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_DP_HASH));
    assert_non_null(nl_find_attr(f->key.data, f->key.size,
                                 OVS_KEY_ATTR_RECIRC_ID));
}

static void
round_trip_no_in_port(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_TCP);

    flow.in_port = ODP_PORT_NONE;
    check_round_trip(f, &flow);
    assert_null(nl_find_attr(f->key.data, f->key.size, OVS_KEY_ATTR_IN_PORT));
}

/* Keys as the kernel writes them: another order, DP_HASH 0 and zero
 * conntrack attributes, all of which decode perfectly. */
static void
kernel_order_key_decodes_perfectly(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP), out;
    struct buf *b = &f->tmp;
    struct ovs_key_ethernet eth;
    struct ovs_key_ipv4 ipv4 = {
        .ipv4_src = flow.nw_src, .ipv4_dst = flow.nw_dst,
        .ipv4_proto = flow.nw_proto, .ipv4_tos = flow.nw_tos,
        .ipv4_ttl = flow.nw_ttl, .ipv4_frag = OVS_FRAG_TYPE_NONE,
    };
    struct ovs_key_udp udp = { flow.tp_src, flow.tp_dst };
    struct ovs_key_ct_labels labels;

    memcpy(eth.eth_src, flow.dl_src.ea, 6);
    memcpy(eth.eth_dst, flow.dl_dst.ea, 6);
    memset(&labels, 0, sizeof labels);
    buf_clear(b);
    nl_put_u32(b, OVS_KEY_ATTR_RECIRC_ID, 0);
    nl_put_u32(b, OVS_KEY_ATTR_DP_HASH, 0);
    nl_put_u32(b, OVS_KEY_ATTR_PRIORITY, flow.priority);
    nl_put_u32(b, OVS_KEY_ATTR_IN_PORT, flow.in_port);
    nl_put_u32(b, OVS_KEY_ATTR_SKB_MARK, flow.skb_mark);
    nl_put_u32(b, OVS_KEY_ATTR_CT_STATE, 0);
    nl_put_u16(b, OVS_KEY_ATTR_CT_ZONE, 0);
    nl_put_u32(b, OVS_KEY_ATTR_CT_MARK, 0);
    nl_put_attr(b, OVS_KEY_ATTR_CT_LABELS, &labels, sizeof labels);
    nl_put_attr(b, OVS_KEY_ATTR_ETHERNET, &eth, sizeof eth);
    nl_put_be16(b, OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
    nl_put_attr(b, OVS_KEY_ATTR_IPV4, &ipv4, sizeof ipv4);
    nl_put_attr(b, OVS_KEY_ATTR_UDP, &udp, sizeof udp);

    assert_int_equal(decode(f, b, &out), ODP_FIT_PERFECT);
    assert_memory_equal(&out, &flow, sizeof out);
}

/* ------------------------------------------------------------------ */
/* Hand-checked byte images (little-endian host for host-order u32s).  */

static void
image_ipv4_udp_key(void **state)
{
    static const uint8_t expected[] = {
        0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, /* PRIORITY 0 */
        0x08, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, /* SKB_MARK 0 */
        0x08, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, /* RECIRC_ID 0 */
        0x08, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, /* IN_PORT 1 */
        0x10, 0x00, 0x04, 0x00,                         /* ETHERNET */
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55,             /*   src */
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,             /*   dst */
        0x06, 0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00, /* ETHERTYPE IP */
        0x10, 0x00, 0x07, 0x00,                         /* IPV4 */
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, /*   10.0.0.1>.2 */
        0x11, 0x00, 0x40, 0x00,                         /*   UDP tos ttl */
        0x08, 0x00, 0x0a, 0x00, 0x04, 0xd2, 0x00, 0x35, /* UDP 1234>53 */
    };
    struct fixture *f = *state;
    struct flow flow, out;

    memset(&flow, 0, sizeof flow);
    flow.in_port = 1;
    flow.dl_src = mac_a;
    flow.dl_dst = mac_b;
    flow.dl_type = htons(0x0800);
    flow.nw_src = htonl(0x0a000001);
    flow.nw_dst = htonl(0x0a000002);
    flow.nw_proto = IPPROTO_UDP;
    flow.nw_ttl = 64;
    flow.tp_src = htons(1234);
    flow.tp_dst = htons(53);

    encode(&f->key, &flow);
    assert_int_equal(f->key.size, sizeof expected);
    assert_memory_equal(f->key.data, expected, sizeof expected);

    buf_clear(&f->tmp);
    buf_put(&f->tmp, expected, sizeof expected);
    assert_int_equal(decode(f, &f->tmp, &out), ODP_FIT_PERFECT);
    assert_memory_equal(&out, &flow, sizeof out);
}

static void
image_tunnel_vlan_arp_key(void **state)
{
    static const uint8_t expected[] = {
        0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, /* PRIORITY 0 */
        0x2c, 0x00, 0x10, 0x00,                         /* TUNNEL, 40 */
        0x0c, 0x00, 0x00, 0x00,                         /*   ID */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
        0x08, 0x00, 0x01, 0x00, 0xc0, 0xa8, 0x00, 0x01, /*   IPV4_SRC */
        0x08, 0x00, 0x02, 0x00, 0xc0, 0xa8, 0x00, 0x02, /*   IPV4_DST */
        0x05, 0x00, 0x04, 0x00, 0x40, 0x00, 0x00, 0x00, /*   TTL 64 */
        0x04, 0x00, 0x05, 0x00,                         /*   DONT_FRAG */
        0x08, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, /* SKB_MARK 0 */
        0x08, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, /* RECIRC_ID 0 */
        0x08, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, /* IN_PORT 2 */
        0x10, 0x00, 0x04, 0x00,                         /* ETHERNET */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x06, 0x00, 0x06, 0x00, 0x81, 0x00, 0x00, 0x00, /* ETHERTYPE 8100 */
        0x06, 0x00, 0x05, 0x00, 0x10, 0x0a, 0x00, 0x00, /* VLAN CFI|10 */
        0x28, 0x00, 0x01, 0x00,                         /* ENCAP, 36 */
        0x06, 0x00, 0x06, 0x00, 0x08, 0x06, 0x00, 0x00, /*   ETHERTYPE ARP */
        0x1c, 0x00, 0x0d, 0x00,                         /*   ARP */
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, /*     sip tip */
        0x00, 0x01,                                     /*     request */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,             /*     sha */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /*     tha */
        0x00, 0x00,                                     /*     padding */
    };
    static const struct eth_addr host = { { 2, 0, 0, 0, 0, 1 } };
    static const struct eth_addr bcast = { { 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff } };
    struct fixture *f = *state;
    struct flow flow, out;

    memset(&flow, 0, sizeof flow);
    flow.tunnel.tun_id = htobe64(42);
    flow.tunnel.ip_src = htonl(0xc0a80001);
    flow.tunnel.ip_dst = htonl(0xc0a80002);
    flow.tunnel.ip_ttl = 64;
    flow.tunnel.flags = FLOW_TNL_F_KEY | FLOW_TNL_F_DONT_FRAGMENT;
    flow.in_port = 2;
    flow.dl_src = host;
    flow.dl_dst = bcast;
    flow.vlan_tci = htons(VLAN_CFI | 10);
    flow.dl_type = htons(0x0806);
    flow.nw_src = htonl(0x0a000001);
    flow.nw_dst = htonl(0x0a000002);
    flow.nw_proto = 1;
    flow.arp_sha = host;

    encode(&f->key, &flow);
    assert_int_equal(f->key.size, sizeof expected);
    assert_memory_equal(f->key.data, expected, sizeof expected);

    buf_clear(&f->tmp);
    buf_put(&f->tmp, expected, sizeof expected);
    assert_int_equal(decode(f, &f->tmp, &out), ODP_FIT_PERFECT);
    assert_memory_equal(&out, &flow, sizeof out);
}

static void
image_ipv4_tcp_mask(void **state)
{
    static const uint8_t expected[] = {
        0x08, 0x00, 0x14, 0x00, 0xff, 0xff, 0xff, 0xff, /* RECIRC_ID */
        0x08, 0x00, 0x03, 0x00, 0xff, 0xff, 0xff, 0xff, /* IN_PORT */
        0x10, 0x00, 0x04, 0x00,                         /* ETHERNET */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /*   src wild */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,             /*   dst exact */
        0x06, 0x00, 0x06, 0x00, 0xff, 0xff, 0x00, 0x00, /* ETHERTYPE */
        0x10, 0x00, 0x07, 0x00,                         /* IPV4 */
        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, /*   dst /24 */
        0xff, 0x00, 0x00, 0xff,                         /*   proto, frag */
        0x08, 0x00, 0x09, 0x00, 0x00, 0x00, 0xff, 0xff, /* TCP dst port */
    };
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_TCP), mask, out;

    /* Only tp_dst, nw_dst/24, frag, dl_dst, in_port and recirc_id are
     * asked for; the encoder adds the exact ethertype and protocol. */
    memset(&mask, 0, sizeof mask);
    mask.recirc_id = UINT32_MAX;
    mask.in_port = UINT32_MAX;
    memset(&mask.dl_dst, 0xff, sizeof mask.dl_dst);
    mask.nw_dst = htonl(0xffffff00);
    mask.nw_frag = FLOW_NW_FRAG_MASK;
    mask.tp_dst = htons(0xffff);

    buf_clear(&f->mask);
    assert_int_equal(odp_mask_from_flow(&f->mask, &mask, &flow, NULL), 0);
    assert_int_equal(f->mask.size, sizeof expected);
    assert_memory_equal(f->mask.data, expected, sizeof expected);

    assert_int_equal(odp_mask_to_flow(expected, sizeof expected, &flow, &out,
                                      NULL), ODP_FIT_PERFECT);
    mask.dl_type = htons(0xffff);
    mask.nw_proto = 0xff;
    mask.vlan_tci = htons(0xffff);
    assert_memory_equal(&out, &mask, sizeof out);
}

/* ------------------------------------------------------------------ */
/* Masks.                                                              */

static const struct flow *
all_flows(size_t *n)
{
    static struct flow flows[16];
    size_t i = 0;
    flows[i++] = flow_l2();
    flows[i++] = flow_8022();
    flows[i++] = flow_vlan();
    flows[i++] = flow_arp();
    flows[i++] = flow_ipv4(IPPROTO_TCP);
    flows[i++] = flow_ipv4(IPPROTO_UDP);
    flows[i++] = flow_ipv4(IPPROTO_SCTP);
    flows[i++] = flow_ipv4(IPPROTO_ICMP);
    flows[i++] = flow_ipv6(IPPROTO_TCP);
    flows[i++] = flow_ipv6(IPPROTO_UDP);
    flows[i++] = flow_ipv6(IPPROTO_ICMPV6);
    flows[i++] = flow_nd(135);
    flows[i++] = flow_nd(136);
    flows[i++] = flow_tunnel();
    flows[i++] = flow_recirc();
    flows[i] = flow_l2();
    flows[i++].dl_type = htons(0x8100);
    *n = i;
    return flows;
}

static void
mask_exact_round_trips(void **state)
{
    size_t n;
    const struct flow *flows = all_flows(&n);

    for (size_t i = 0; i < n; i++) {
        struct flow mask;
        flow_mask_exact(&mask);
        if (!flows[i].dp_hash) {
            mask.dp_hash = 0;
        }
        check_mask_round_trip(*state, &flows[i], &mask);
    }
}

static void
mask_random_round_trips(void **state)
{
    size_t n;
    const struct flow *flows = all_flows(&n);
    uint32_t seed = 12345;

    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < n; i++) {
            struct flow mask;
            uint8_t *p = (uint8_t *) &mask;
            for (size_t j = 0; j < sizeof mask; j++) {
                seed = seed * 1103515245 + 12345;
                /* Mostly zero or all-ones bytes, some random. */
                uint8_t r = (uint8_t) (seed >> 16);
                p[j] = r < 128 ? 0 : r < 200 ? 0xff : r;
            }
            if (!flows[i].dp_hash) {
                mask.dp_hash = 0;
            }
            check_mask_round_trip(*state, &flows[i], &mask);
        }
    }
}

static void
mask_tightens_prerequisites(void **state)
{
    struct flow flow = flow_nd(135), mask, norm;

    memset(&mask, 0, sizeof mask);
    mask.nd_target.s6_addr[0] = 0xff;
    odp_mask_normalize(&flow, &mask, &norm);
    assert_int_equal(norm.tp_src, htons(0xff));
    assert_int_equal(norm.nw_proto, 0xff);
    assert_int_equal(norm.dl_type, htons(0xffff));
    assert_int_equal(norm.vlan_tci, htons(0xffff));
    check_mask_round_trip(*state, &flow, &mask);

    /* A mask on "is a fragment" alone becomes exact. */
    flow = flow_ipv4(IPPROTO_UDP);
    memset(&mask, 0, sizeof mask);
    mask.nw_frag = FLOW_NW_FRAG_ANY;
    odp_mask_normalize(&flow, &mask, &norm);
    assert_int_equal(norm.nw_frag, FLOW_NW_FRAG_MASK);
    mask.nw_frag = FLOW_NW_FRAG_LATER;
    odp_mask_normalize(&flow, &mask, &norm);
    assert_int_equal(norm.nw_frag, FLOW_NW_FRAG_LATER);

    /* A partial TCI mask keeps ENCAP alive with the inner ethertype. */
    flow = flow_vlan();
    memset(&mask, 0, sizeof mask);
    mask.vlan_tci = htons(VLAN_VID_MASK);
    odp_mask_normalize(&flow, &mask, &norm);
    assert_int_equal(norm.vlan_tci, htons(VLAN_VID_MASK | VLAN_CFI));
    assert_int_equal(norm.dl_type, htons(0xffff));
    check_mask_round_trip(*state, &flow, &mask);
}

static void
mask_absent_means_exact(void **state)
{
    size_t n;
    const struct flow *flows = all_flows(&n);

    for (size_t i = 0; i < n; i++) {
        struct flow exact, out;
        flow_mask_exact(&exact);
        if (!flows[i].dp_hash) {
            exact.dp_hash = 0;
        }
        if (!flows[i].tunnel.ip_dst) {
            memset(&exact.tunnel, 0, sizeof exact.tunnel);
        }
        odp_mask_normalize(&flows[i], &exact, &exact);
        odp_mask_exact(&flows[i], &out);
        assert_memory_equal(&out, &exact, sizeof out);
        check_mask_round_trip(*state, &flows[i], &out);
    }
}

static void
mask_empty_means_wildcard(void **state)
{
    struct flow flow = flow_ipv4(IPPROTO_TCP), out, expected;
    uint32_t empty = 0;

    assert_int_equal(odp_mask_to_flow(&empty, 0, &flow, &out, NULL),
                     ODP_FIT_PERFECT);
    assert_int_equal(odp_mask_to_flow(NULL, 0, &flow, &out, NULL),
                     ODP_FIT_PERFECT);
    memset(&expected, 0, sizeof expected);
    expected.vlan_tci = htons(0xffff);  /* Always matched by the kernel. */
    assert_memory_equal(&out, &expected, sizeof out);

    struct flow zero;
    memset(&zero, 0, sizeof zero);
    check_mask_round_trip(*state, &flow, &zero);
}

static void
mask_zero_attributes_are_absent(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_TCP), out;
    struct ovs_key_tcp tcp = { 0, 0 };

    /* An all-zero TCP mask attribute with a wildcarded protocol is ignored,
     * as the kernel ignores it, instead of being refused. */
    buf_clear(&f->tmp);
    nl_put_u32(&f->tmp, OVS_KEY_ATTR_IN_PORT, 0);
    nl_put_attr(&f->tmp, OVS_KEY_ATTR_TCP, &tcp, sizeof tcp);
    assert_int_equal(odp_mask_to_flow(f->tmp.data, f->tmp.size, &flow, &out,
                                      NULL), ODP_FIT_PERFECT);
    assert_int_equal(out.in_port, 0);
}

static void
mask_errors(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_TCP);
    struct ovs_key_ipv4 ipv4 = { .ipv4_dst = htonl(0xffffffff) };
    struct ovs_key_tcp tcp = { 0, htons(0xffff) };

    buf_clear(&f->tmp);
    nl_put_attr(&f->tmp, OVS_KEY_ATTR_IPV4, &ipv4, sizeof ipv4);
    expect_mask(f, &f->tmp, &flow, ODP_FIT_ERROR,
                "mask attribute type 7 needs an IPv4 flow and an exact "
                "ethertype");

    buf_clear(&f->tmp);
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_ETHERTYPE, htons(0xffff));
    nl_put_attr(&f->tmp, OVS_KEY_ATTR_IPV4, &ipv4, sizeof ipv4);
    nl_put_attr(&f->tmp, OVS_KEY_ATTR_TCP, &tcp, sizeof tcp);
    expect_mask(f, &f->tmp, &flow, ODP_FIT_ERROR,
                "mask attribute type 9 needs a flow of that protocol and an "
                "exact IP protocol");

    buf_clear(&f->tmp);
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_ETHERTYPE, htons(0xffff));
    ipv4.ipv4_frag = 1;
    nl_put_attr(&f->tmp, OVS_KEY_ATTR_IPV4, &ipv4, sizeof ipv4);
    expect_mask(f, &f->tmp, &flow, ODP_FIT_ERROR,
                "fragment mask 0x01 matches first fragments only");

    buf_clear(&f->tmp);
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_VLAN, htons(0xffff));
    expect_mask(f, &f->tmp, &flow, ODP_FIT_ERROR,
                "VLAN or ENCAP in the mask of an untagged flow");

    buf_clear(&f->tmp);
    nl_put_u32(&f->tmp, OVS_KEY_ATTR_DP_HASH, 1);
    expect_mask(f, &f->tmp, &flow, ODP_FIT_ERROR,
                "mask matches dp_hash but the key has no DP_HASH");

    struct flow vflow = flow_vlan();
    buf_clear(&f->tmp);
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_ETHERTYPE, htons(0xffff));
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_VLAN, htons(0x0fff));
    size_t ofs = nl_nest_start(&f->tmp, OVS_KEY_ATTR_ENCAP);
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_ETHERTYPE, htons(0xffff));
    nl_nest_end(&f->tmp, ofs);
    expect_mask(f, &f->tmp, &vflow, ODP_FIT_ERROR,
                "VLAN TCI mask does not match the CFI bit");

    buf_clear(&f->tmp);
    nl_put_be16(&f->tmp, OVS_KEY_ATTR_ETHERTYPE, htons(0xffff));
    expect_mask(f, &f->tmp, &vflow, ODP_FIT_ERROR,
                "mask of a VLAN flow has attribute type 6 but no ENCAP");

    buf_clear(&f->tmp);
    nl_put_u32(&f->tmp, OVS_KEY_ATTR_CT_STATE, 0x20);
    expect_mask(f, &f->tmp, &flow, ODP_FIT_TOO_MUCH,
                "mask matches conntrack attribute type 22");
}

/* Puts ETHERNET, ETHERTYPE 'dl_type' and the attribute 'type' into 'b'. */
static void
put_l3_stream(struct buf *b, ovs_be16 dl_type, uint16_t type,
              const void *attr, size_t size)
{
    struct ovs_key_ethernet eth;

    memset(&eth, 0, sizeof eth);
    buf_clear(b);
    nl_put_attr(b, OVS_KEY_ATTR_ETHERNET, &eth, sizeof eth);
    nl_put_be16(b, OVS_KEY_ATTR_ETHERTYPE, dl_type);
    nl_put_attr(b, type, attr, size);
}

/* The key and the mask decoders are one, with a mask mode: the same
 * attribute bytes that no key may hold are a legal mask, and decode into
 * the same fields. */
static void
same_bytes_as_key_and_mask(void **state)
{
    struct fixture *f = *state;
    struct flow out;

    /* A tunnel with only an ID: a key needs a destination and a TTL. */
    buf_clear(&f->tmp);
    size_t ofs = nl_nest_start(&f->tmp, OVS_KEY_ATTR_TUNNEL);
    nl_put_be64(&f->tmp, OVS_TUNNEL_KEY_ATTR_ID, htobe64(0xabc));
    nl_nest_end(&f->tmp, ofs);
    buf_clear(&f->key);
    buf_put(&f->key, f->tmp.data, f->tmp.size);
    struct flow l2 = flow_l2();
    encode(&f->mask, &l2);
    buf_put(&f->key, f->mask.data, f->mask.size);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "tunnel key has no IPv4 destination");
    struct flow tflow = flow_tunnel();
    expect_mask(f, &f->tmp, &tflow, ODP_FIT_PERFECT, "");
    assert_int_equal(odp_mask_to_flow(f->tmp.data, f->tmp.size, &tflow, &out,
                                      NULL), ODP_FIT_PERFECT);
    assert_true(out.tunnel.tun_id == htobe64(0xabc));
    assert_int_equal(out.tunnel.flags, FLOW_TNL_F_KEY);
    assert_int_equal(out.tunnel.ip_dst, 0);
    assert_int_equal(out.tunnel.ip_ttl, 0);

    /* An IPv4 fragment type of 0xff: the exact fragment mask. */
    struct flow v4 = flow_ipv4(IPPROTO_TCP);
    struct ovs_key_ipv4 ipv4 = { .ipv4_src = htonl(0xffffff00),
                                 .ipv4_frag = 0xff };
    put_l3_stream(&f->key, htons(0x0800), OVS_KEY_ATTR_IPV4, &ipv4,
                  sizeof ipv4);
    expect_key(f, &f->key, ODP_FIT_ERROR, "IPv4 fragment type 255 is above 2");
    put_l3_stream(&f->mask, htons(0xffff), OVS_KEY_ATTR_IPV4, &ipv4,
                  sizeof ipv4);
    assert_int_equal(odp_mask_to_flow(f->mask.data, f->mask.size, &v4, &out,
                                      NULL), ODP_FIT_PERFECT);
    assert_int_equal(out.nw_src, htonl(0xffffff00));
    assert_int_equal(out.nw_frag, FLOW_NW_FRAG_MASK);

    /* An IPv6 label of all ones: 32 bits are a mask, not a label. */
    struct flow v6 = flow_ipv6(IPPROTO_UDP);
    struct ovs_key_ipv6 ipv6;
    memset(&ipv6, 0, sizeof ipv6);
    ipv6.ipv6_label = htonl(0xffffffff);
    put_l3_stream(&f->key, htons(0x86dd), OVS_KEY_ATTR_IPV6, &ipv6,
                  sizeof ipv6);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "IPv6 flow label 0xffffffff exceeds 20 bits");
    put_l3_stream(&f->mask, htons(0xffff), OVS_KEY_ATTR_IPV6, &ipv6,
                  sizeof ipv6);
    assert_int_equal(odp_mask_to_flow(f->mask.data, f->mask.size, &v6, &out,
                                      NULL), ODP_FIT_PERFECT);
    assert_int_equal(out.ipv6_label, htonl(0xffffffff));

    /* An ARP opcode of 0xffff: the exact opcode mask. */
    struct flow arp_flow = flow_arp();
    struct ovs_key_arp arp;
    memset(&arp, 0, sizeof arp);
    arp.arp_op = htons(0xffff);
    put_l3_stream(&f->key, htons(0x0806), OVS_KEY_ATTR_ARP, &arp,
                  sizeof arp);
    expect_key(f, &f->key, ODP_FIT_ERROR, "ARP opcode 65535 is above 255");
    put_l3_stream(&f->mask, htons(0xffff), OVS_KEY_ATTR_ARP, &arp,
                  sizeof arp);
    assert_int_equal(odp_mask_to_flow(f->mask.data, f->mask.size, &arp_flow,
                                      &out, NULL), ODP_FIT_PERFECT);
    assert_int_equal(out.nw_proto, UINT8_MAX);
}

static void
mask_encoder_refuses_dp_hash_without_key(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP), mask;

    memset(&mask, 0, sizeof mask);
    mask.dp_hash = 0xff;
    buf_clear(&f->mask);
    assert_int_equal(odp_mask_from_flow(&f->mask, &mask, &flow, &f->eb),
                     EINVAL);
    assert_int_equal(f->mask.size, 0);
}

/* ------------------------------------------------------------------ */
/* Fitness.                                                            */

static void
fitness_strings(void **state)
{
    assert_string_equal(odp_key_fitness_to_string(ODP_FIT_PERFECT),
                        "perfect");
    assert_string_equal(odp_key_fitness_to_string(ODP_FIT_TOO_MUCH),
                        "too_much");
    assert_string_equal(odp_key_fitness_to_string(ODP_FIT_TOO_LITTLE),
                        "too_little");
    assert_string_equal(odp_key_fitness_to_string(ODP_FIT_ERROR), "error");
}

static void
too_much_ct_state(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP), out;

    encode(&f->key, &flow);
    nl_put_u32(&f->key, OVS_KEY_ATTR_CT_STATE, 0x21);
    assert_int_equal(decode(f, &f->key, &out), ODP_FIT_TOO_MUCH);
    assert_string_equal(f->eb.msg, "key has conntrack attribute type 22");
    assert_memory_equal(&out, &flow, sizeof out);
}

static void
too_much_mpls(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_l2(), out;
    struct ovs_key_mpls lse = { htonl(0x00064140) };

    flow.dl_type = htons(0x0800);
    encode(&f->key, &flow);
    ovs_be16 mpls_type = htons(0x8847);
    patch_attr(&f->key, OVS_KEY_ATTR_ETHERTYPE, 0, &mpls_type,
               sizeof mpls_type);
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_IPV4);
    buf_clear(&f->key);
    buf_put(&f->key, f->tmp.data, f->tmp.size);
    nl_put_attr(&f->key, OVS_KEY_ATTR_MPLS, &lse, sizeof lse);
    assert_int_equal(decode(f, &f->key, &out), ODP_FIT_TOO_MUCH);
    assert_string_equal(f->eb.msg, "key has MPLS");
    assert_int_equal(out.dl_type, htons(0x8847));

    /* Without the MPLS attribute it is too little instead. */
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_MPLS);
    expect_key(f, &f->tmp, ODP_FIT_TOO_LITTLE,
               "key for ethertype 0x8847 has no attribute type 21");
}

static void
too_much_unexpected_l4(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_TCP);
    struct ovs_key_udp udp = { 1, 2 };

    encode(&f->key, &flow);
    nl_put_attr(&f->key, OVS_KEY_ATTR_UDP, &udp, sizeof udp);
    expect_key(f, &f->key, ODP_FIT_TOO_MUCH,
               "key has attribute type 10, which its protocols do not call "
               "for");
}

static void
too_much_tunnel_ports(void **state)
{
    struct fixture *f = *state;
    struct flow out;

    buf_clear(&f->key);
    size_t ofs = nl_nest_start(&f->key, OVS_KEY_ATTR_TUNNEL);
    nl_put_be32(&f->key, OVS_TUNNEL_KEY_ATTR_IPV4_DST, htonl(1));
    nl_put_u8(&f->key, OVS_TUNNEL_KEY_ATTR_TTL, 64);
    nl_put_be16(&f->key, OVS_TUNNEL_KEY_ATTR_TP_DST, htons(4789));
    nl_nest_end(&f->key, ofs);
    struct flow l2 = flow_l2();
    encode(&f->tmp, &l2);
    buf_put(&f->key, f->tmp.data, f->tmp.size);
    assert_int_equal(decode(f, &f->key, &out), ODP_FIT_TOO_MUCH);
    assert_string_equal(f->eb.msg, "tunnel key has transport ports");
    assert_int_equal(out.tunnel.ip_dst, htonl(1));
}

static void
too_little_missing_ethernet(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP);

    encode(&f->key, &flow);
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_ETHERNET);
    expect_key(f, &f->tmp, ODP_FIT_TOO_LITTLE,
               "key has no ETHERNET attribute");
}

static void
too_little_missing_l4(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_TCP), out;

    encode(&f->key, &flow);
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_TCP);
    expect_key(f, &f->tmp, ODP_FIT_TOO_LITTLE,
               "key for IP protocol 6 has no attribute type 9");

    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_TCP_FLAGS);
    assert_int_equal(decode(f, &f->tmp, &out), ODP_FIT_TOO_LITTLE);
    assert_string_equal(f->eb.msg, "TCP key has no TCP_FLAGS attribute");
    assert_int_equal(out.tp_dst, flow.tp_dst);
    assert_int_equal(out.tcp_flags, 0);

    flow = flow_nd(135);
    encode(&f->key, &flow);
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_ND);
    expect_key(f, &f->tmp, ODP_FIT_TOO_LITTLE,
               "neighbour discovery key has no ND attribute");

    flow = flow_ipv6(IPPROTO_UDP);
    encode(&f->key, &flow);
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_IPV6);
    expect_key(f, &f->tmp, ODP_FIT_TOO_LITTLE,
               "key for ethertype 0x86dd has no attribute type 8");
}

static void
error_duplicate(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP);

    encode(&f->key, &flow);
    nl_put_u32(&f->key, OVS_KEY_ATTR_IN_PORT, 4);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: duplicate attribute type 3");
}

static void
error_bad_length(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_l2();
    uint8_t eight[8] = { 0 };

    encode(&f->key, &flow);
    nl_put_attr(&f->key, OVS_KEY_ATTR_IPV4, eight, sizeof eight);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: attribute type 7 has 8 bytes, expected 12");

    encode(&f->key, &flow);
    nl_put_u16(&f->key, OVS_KEY_ATTR_SKB_MARK + 0, 1);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: duplicate attribute type 15");

    buf_clear(&f->key);
    nl_put_u16(&f->key, OVS_KEY_ATTR_PRIORITY, 1);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: attribute type 2 (u32) has 2 bytes, expected 4");
}

static void
error_truncated_and_trailing(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP);

    encode(&f->key, &flow);
    f->key.size -= 2;
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: attribute type 10 has length 8 but 6 bytes remain");

    encode(&f->key, &flow);
    buf_put_zeros(&f->key, 2);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: 2 trailing bytes after the last attribute");
}

static void
error_unknown_and_forbidden_types(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_l2();

    encode(&f->key, &flow);
    nl_put_u32(&f->key, OVS_KEY_ATTR_MAX + 1, 0);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: unknown attribute type 33");

    encode(&f->key, &flow);
    nl_put_u32(&f->key, OVS_KEY_ATTR_PACKET_TYPE, 0);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: unknown attribute type 29");
}

static void
error_bad_values(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_ipv4(IPPROTO_UDP);
    uint8_t frag = 3;
    ovs_be32 label = htonl(0x100000);
    ovs_be16 op = htons(0x100);
    uint32_t port = ODP_MAX_PORTS;

    encode(&f->key, &flow);
    patch_attr(&f->key, OVS_KEY_ATTR_IPV4,
               offsetof(struct ovs_key_ipv4, ipv4_frag), &frag, 1);
    expect_key(f, &f->key, ODP_FIT_ERROR, "IPv4 fragment type 3 is above 2");

    encode(&f->key, &flow);
    patch_attr(&f->key, OVS_KEY_ATTR_IN_PORT, 0, &port, sizeof port);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "input port 65536 is not below 65536");

    flow = flow_ipv6(IPPROTO_UDP);
    encode(&f->key, &flow);
    patch_attr(&f->key, OVS_KEY_ATTR_IPV6,
               offsetof(struct ovs_key_ipv6, ipv6_label), &label,
               sizeof label);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "IPv6 flow label 0x100000 exceeds 20 bits");

    flow = flow_arp();
    encode(&f->key, &flow);
    patch_attr(&f->key, OVS_KEY_ATTR_ARP, offsetof(struct ovs_key_arp, arp_op),
               &op, sizeof op);
    expect_key(f, &f->key, ODP_FIT_ERROR, "ARP opcode 256 is above 255");

    flow = flow_l2();
    encode(&f->key, &flow);
    ovs_be16 small = htons(0x05ff);
    patch_attr(&f->key, OVS_KEY_ATTR_ETHERTYPE, 0, &small, sizeof small);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "ethertype 0x05ff is below 0x0600");
}

static void
error_vlan_structure(void **state)
{
    struct fixture *f = *state;
    struct flow flow = flow_vlan();
    ovs_be16 no_cfi = htons(5);

    encode(&f->key, &flow);
    patch_attr(&f->key, OVS_KEY_ATTR_VLAN, 0, &no_cfi, sizeof no_cfi);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "VLAN TCI 0x0005 lacks the CFI bit");

    /* ENCAP (and VLAN) without ethertype 0x8100. */
    struct flow l2 = flow_l2();
    encode(&f->key, &l2);
    nl_nest_end(&f->key, nl_nest_start(&f->key, OVS_KEY_ATTR_ENCAP));
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "VLAN or ENCAP attribute without ethertype 0x8100");

    /* 0x8100 without ENCAP. */
    encode(&f->key, &flow);
    copy_without(&f->tmp, &f->key, OVS_KEY_ATTR_ENCAP);
    expect_key(f, &f->tmp, ODP_FIT_ERROR,
               "ethertype 0x8100 without VLAN and ENCAP");

    /* Truncated tag with something inside ENCAP. */
    encode(&f->key, &flow);
    ovs_be16 zero = 0;
    patch_attr(&f->key, OVS_KEY_ATTR_VLAN, 0, &zero, sizeof zero);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "truncated VLAN header with a non-empty ENCAP");

    /* L3 outside ENCAP, metadata inside. */
    encode(&f->key, &flow);
    struct ovs_key_ipv4 ipv4;
    memset(&ipv4, 0, sizeof ipv4);
    nl_put_attr(&f->key, OVS_KEY_ATTR_IPV4, &ipv4, sizeof ipv4);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "attribute type 7 outside ENCAP in a VLAN key");

    buf_clear(&f->key);
    struct ovs_key_ethernet eth;
    memset(&eth, 0, sizeof eth);
    nl_put_attr(&f->key, OVS_KEY_ATTR_ETHERNET, &eth, sizeof eth);
    nl_put_be16(&f->key, OVS_KEY_ATTR_ETHERTYPE, htons(0x8100));
    nl_put_be16(&f->key, OVS_KEY_ATTR_VLAN, htons(VLAN_CFI));
    size_t ofs = nl_nest_start(&f->key, OVS_KEY_ATTR_ENCAP);
    nl_put_u32(&f->key, OVS_KEY_ATTR_IN_PORT, 1);
    nl_nest_end(&f->key, ofs);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "attribute type 3 not allowed inside ENCAP");
}

static void
error_tunnel(void **state)
{
    struct fixture *f = *state;

    buf_clear(&f->key);
    size_t ofs = nl_nest_start(&f->key, OVS_KEY_ATTR_TUNNEL);
    nl_put_u8(&f->key, OVS_TUNNEL_KEY_ATTR_TTL, 64);
    nl_nest_end(&f->key, ofs);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "tunnel key has no IPv4 destination");

    buf_clear(&f->key);
    ofs = nl_nest_start(&f->key, OVS_KEY_ATTR_TUNNEL);
    nl_put_be32(&f->key, OVS_TUNNEL_KEY_ATTR_IPV4_DST, htonl(1));
    nl_nest_end(&f->key, ofs);
    expect_key(f, &f->key, ODP_FIT_ERROR, "tunnel key has no TTL");

    buf_clear(&f->key);
    ofs = nl_nest_start(&f->key, OVS_KEY_ATTR_TUNNEL);
    nl_put_be32(&f->key, OVS_TUNNEL_KEY_ATTR_IPV4_DST, htonl(1));
    nl_put_u16(&f->key, OVS_TUNNEL_KEY_ATTR_TTL, 64);
    nl_nest_end(&f->key, ofs);
    expect_key(f, &f->key, ODP_FIT_ERROR,
               "flow key: in nested attribute type 16: attribute type 4 "
               "(u8) has 2 bytes, expected 1");
}

static void
encoder_refuses_bad_flows(void **state)
{
    struct fixture *f = *state;
    struct flow flow;

    buf_clear(&f->key);
    nl_put_u32(&f->key, OVS_KEY_ATTR_PRIORITY, 0);

    flow = flow_l2();
    flow.vlan_tci = htons(5);
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "VLAN TCI 0x0005 lacks VLAN_CFI");

    flow = flow_l2();
    flow.dl_type = htons(0x0100);
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "ethertype 0x0100 is below 0x0600");

    flow = flow_ipv4(IPPROTO_UDP);
    flow.nw_frag = FLOW_NW_FRAG_LATER;
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "invalid fragment flags 0x2");

    flow = flow_l2();
    flow.in_port = ODP_MAX_PORTS;
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "input port 65536 is not below 65536");

    flow = flow_vlan();
    flow.dl_type = htons(0x8100);
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "stacked VLAN tags (inner ethertype "
                        "0x8100) are not supported");

    flow = flow_l2();
    flow.dl_type = htons(0x8847);
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "ethertype 0x8847 needs headers a flow "
                        "does not hold");

    flow = flow_tunnel();
    flow.tunnel.flags &= ~FLOW_TNL_F_KEY;
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg, "tunnel ID set without FLOW_TNL_F_KEY");

    flow = flow_l2();
    flow.tunnel.ip_ttl = 5;
    assert_int_equal(odp_key_from_flow(&f->key, &flow, &f->eb), EINVAL);
    assert_string_equal(f->eb.msg,
                        "tunnel fields set without a tunnel destination");

    /* Nothing was appended. */
    assert_int_equal(f->key.size, 8);
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(round_trip_l2),
        T(round_trip_8022_has_no_ethertype),
        T(round_trip_vlan),
        T(round_trip_truncated_vlan_header),
        T(round_trip_arp),
        T(round_trip_ipv4_l4),
        T(round_trip_ipv4_fragments),
        T(round_trip_ipv6_l4),
        T(round_trip_nd),
        T(round_trip_tunnel),
        T(round_trip_recirc_and_dp_hash),
        T(round_trip_no_in_port),
        T(kernel_order_key_decodes_perfectly),
        T(image_ipv4_udp_key),
        T(image_tunnel_vlan_arp_key),
        T(image_ipv4_tcp_mask),
        T(mask_exact_round_trips),
        T(mask_random_round_trips),
        T(mask_tightens_prerequisites),
        T(mask_absent_means_exact),
        T(mask_empty_means_wildcard),
        T(mask_zero_attributes_are_absent),
        T(mask_errors),
        T(mask_encoder_refuses_dp_hash_without_key),
        T(same_bytes_as_key_and_mask),
        T(fitness_strings),
        T(too_much_ct_state),
        T(too_much_mpls),
        T(too_much_unexpected_l4),
        T(too_much_tunnel_ports),
        T(too_little_missing_ethernet),
        T(too_little_missing_l4),
        T(error_duplicate),
        T(error_bad_length),
        T(error_truncated_and_trailing),
        T(error_unknown_and_forbidden_types),
        T(error_bad_values),
        T(error_vlan_structure),
        T(error_tunnel),
        T(encoder_refuses_bad_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
