/* Tests for privd/dp-execute.c: every action on crafted frames, compared
 * byte for byte with expected frames that a test-local builder composes with
 * full checksum computation (never the executor's incremental updates), and
 * checked again by recomputing every checksum of the result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/openvswitch.h>
#include <netinet/in.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/csum.h"
#include "common/flow.h"
#include "common/nl.h"
#include "common/odp-actions.h"
#include "common/packet.h"
#include "privd/dp-execute.h"
#include "privd/dp-packet.h"

#define MAX_FRAME 256
#define MAX_EVENTS 64

/* Frame builder.  One description covers every frame the tests use. */
struct frame_spec {
    uint8_t dl_dst[6];          /* Ethernet destination. */
    uint8_t dl_src[6];          /* Ethernet source. */
    bool vlan;                  /* Add an 802.1Q tag with 'tci'. */
    uint16_t tci;               /* The tag's TCI (host order). */
    bool ipv6;                  /* IPv6 instead of IPv4. */
    bool arp;                   /* An ARP request instead of IP. */
    uint32_t nw_src;            /* IPv4 source (host order). */
    uint32_t nw_dst;            /* IPv4 destination (host order). */
    uint8_t ipv6_src[16];       /* IPv6 source. */
    uint8_t ipv6_dst[16];       /* IPv6 destination. */
    uint8_t tos;                /* IPv4 TOS / IPv6 traffic class. */
    uint8_t ttl;                /* IPv4 TTL / IPv6 hop limit. */
    uint32_t label;             /* IPv6 flow label. */
    uint8_t proto;              /* TCP, UDP, SCTP or ICMPv6. */
    uint16_t tp_src;            /* L4 source port (host order). */
    uint16_t tp_dst;            /* L4 destination port (host order). */
    bool udp_no_csum;           /* UDP with checksum 0 ("none"). */
    size_t payload_len;         /* Bytes of L4 payload. */
};

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t) (v >> 16));
    put16(p + 2, (uint16_t) v);
}

/* Bitwise CRC32c, independent of the executor's table-driven one. */
static uint32_t
test_crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffff;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
        }
    }
    return ~crc;
}

/* SCTP checksum of 'sctp'/'len', computed with the field zeroed. */
static uint32_t
sctp_correct_crc(const uint8_t *sctp, size_t len)
{
    uint8_t copy[MAX_FRAME];
    memcpy(copy, sctp, len);
    memset(copy + 8, 0, 4);
    return test_crc32c(copy, len);
}

static void
sctp_store_crc(uint8_t *field, uint32_t crc)
{
    /* Stored little-endian, as Linux does. */
    field[0] = (uint8_t) crc;
    field[1] = (uint8_t) (crc >> 8);
    field[2] = (uint8_t) (crc >> 16);
    field[3] = (uint8_t) (crc >> 24);
}

static uint32_t
sctp_load_crc(const uint8_t *field)
{
    return field[0] | (uint32_t) field[1] << 8 | (uint32_t) field[2] << 16
           | (uint32_t) field[3] << 24;
}

/* Writes the frame 's' into 'out' with all checksums computed in full;
 * returns its length. */
static size_t
build_frame(uint8_t *out, const struct frame_spec *s)
{
    size_t n = 0;

    memset(out, 0, MAX_FRAME);
    memcpy(out, s->dl_dst, 6);
    memcpy(out + 6, s->dl_src, 6);
    n = 12;
    if (s->vlan) {
        put16(out + n, 0x8100);
        put16(out + n + 2, s->tci);
        n += 4;
    }
    if (s->arp) {
        put16(out + n, 0x0806);
        n += 2;
        uint8_t *a = out + n;
        put16(a, 1);
        put16(a + 2, 0x0800);
        a[4] = 6;
        a[5] = 4;
        put16(a + 6, 1);
        memcpy(a + 8, s->dl_src, 6);
        put32(a + 14, s->nw_src);
        put32(a + 24, s->nw_dst);
        return n + 28;
    }
    put16(out + n, s->ipv6 ? 0x86dd : 0x0800);
    n += 2;

    uint8_t *l3 = out + n;
    size_t l3_len = s->ipv6 ? 40 : 20;
    uint8_t *l4 = l3 + l3_len;
    size_t l4_hdr = s->proto == IPPROTO_TCP ? 20
                    : s->proto == IPPROTO_SCTP ? 12 : 8;
    size_t l4_len = l4_hdr + s->payload_len;

    for (size_t i = 0; i < s->payload_len; i++) {
        l4[l4_hdr + i] = (uint8_t) (i * 7 + 3);
    }
    switch (s->proto) {
    case IPPROTO_TCP:
        put16(l4, s->tp_src);
        put16(l4 + 2, s->tp_dst);
        put32(l4 + 4, 0x01020304);
        put32(l4 + 8, 0x05060708);
        l4[12] = 0x50;
        l4[13] = 0x18;
        put16(l4 + 14, 0xffff);
        break;
    case IPPROTO_UDP:
        put16(l4, s->tp_src);
        put16(l4 + 2, s->tp_dst);
        put16(l4 + 4, (uint16_t) l4_len);
        break;
    case IPPROTO_SCTP:
        put16(l4, s->tp_src);
        put16(l4 + 2, s->tp_dst);
        put32(l4 + 4, 0xdeadbeef);
        break;
    case IPPROTO_ICMPV6:
        l4[0] = 128;
        put16(l4 + 4, 0x0102);
        put16(l4 + 6, 0x0304);
        break;
    }

    uint32_t pseudo;
    if (s->ipv6) {
        put32(l3, 0x60000000 | (uint32_t) s->tos << 20 | (s->label & 0xfffff));
        put16(l3 + 4, (uint16_t) l4_len);
        l3[6] = s->proto;
        l3[7] = s->ttl;
        memcpy(l3 + 8, s->ipv6_src, 16);
        memcpy(l3 + 24, s->ipv6_dst, 16);
        pseudo = csum_pseudo_ipv6(s->ipv6_src, s->ipv6_dst, s->proto,
                                  (uint32_t) l4_len);
    } else {
        l3[0] = 0x45;
        l3[1] = s->tos;
        put16(l3 + 2, (uint16_t) (20 + l4_len));
        put16(l3 + 4, 0x1234);
        put16(l3 + 6, 0x4000);
        l3[8] = s->ttl;
        l3[9] = s->proto;
        put32(l3 + 12, s->nw_src);
        put32(l3 + 16, s->nw_dst);
        ovs_be16 c = csum(l3, 20);
        memcpy(l3 + 10, &c, 2);
        pseudo = csum_pseudo_ipv4(htonl(s->nw_src), htonl(s->nw_dst),
                                  s->proto, (uint16_t) l4_len);
    }

    size_t csum_ofs = s->proto == IPPROTO_TCP ? 16
                      : s->proto == IPPROTO_UDP ? 6 : 2;
    if (s->proto == IPPROTO_SCTP) {
        sctp_store_crc(l4 + 8, sctp_correct_crc(l4, l4_len));
    } else if (!(s->proto == IPPROTO_UDP && s->udp_no_csum)) {
        ovs_be16 c = csum_finish(csum_continue(pseudo, l4, l4_len));
        if (s->proto == IPPROTO_UDP && !c) {
            c = htons(0xffff);
        }
        memcpy(l4 + csum_ofs, &c, 2);
    }
    return n + l3_len + l4_len;
}

/* Recomputes every checksum of a frame the builder could have made and
 * asserts that each is right (a UDP zero checksum counts as right). */
static void
assert_checksums_valid(const uint8_t *f, size_t len)
{
    size_t n = 12;
    uint16_t type = (uint16_t) (f[n] << 8 | f[n + 1]);

    if (type == 0x8100) {
        n += 4;
        type = (uint16_t) (f[n] << 8 | f[n + 1]);
    }
    n += 2;
    if (type != 0x0800 && type != 0x86dd) {
        return;
    }
    const uint8_t *l3 = f + n;
    const uint8_t *l4;
    uint8_t proto;
    size_t l4_len;
    uint32_t pseudo;
    if (type == 0x0800) {
        assert_int_equal(csum(l3, 20), 0);
        proto = l3[9];
        l4 = l3 + 20;
        l4_len = (size_t) (l3[2] << 8 | l3[3]) - 20;
        ovs_be32 src, dst;
        memcpy(&src, l3 + 12, 4);
        memcpy(&dst, l3 + 16, 4);
        pseudo = csum_pseudo_ipv4(src, dst, proto, (uint16_t) l4_len);
    } else {
        proto = l3[6];
        l4 = l3 + 40;
        l4_len = (size_t) (l3[4] << 8 | l3[5]);
        pseudo = csum_pseudo_ipv6(l3 + 8, l3 + 24, proto, (uint32_t) l4_len);
    }
    assert_true(l4 + l4_len <= f + len);
    if (proto == IPPROTO_SCTP) {
        assert_int_equal(sctp_load_crc(l4 + 8), sctp_correct_crc(l4, l4_len));
    } else if (proto == IPPROTO_UDP && !l4[6] && !l4[7]) {
        return;
    } else {
        assert_int_equal(csum_finish(csum_continue(pseudo, l4, l4_len)), 0);
    }
}

/* What the callbacks saw. */
enum event_kind { EV_OUTPUT, EV_USERSPACE, EV_RECIRC };

struct event {
    enum event_kind kind;       /* Which callback. */
    uint32_t port;              /* OUTPUT: the port. */
    uint8_t frame[MAX_FRAME];   /* Copy of the packet's bytes. */
    size_t size;                /* Its length. */
    struct flow flow;           /* The packet's flow key. */
    uint32_t recirc_depth;      /* The packet's recirculation depth. */
    struct dp_userspace_args args; /* USERSPACE: the arguments. */
    uint8_t userdata[64];       /* USERSPACE: copy of the userdata. */
};

/* Per-test state. */
struct fixture {
    struct dp_executor ex;      /* The executor under test. */
    struct event events[MAX_EVENTS]; /* Callback invocations, in order. */
    size_t n_events;            /* Number of 'events'. */
    const void *recirc_actions; /* RECIRC callback: actions to run again. */
    size_t recirc_actions_len;  /* Their length. */
    int recirc_error;           /* Last error of a recirculated run. */
};

static struct event *
record(struct fixture *fx, enum event_kind kind, const struct dp_packet *pkt)
{
    assert_true(fx->n_events < MAX_EVENTS);
    struct event *ev = &fx->events[fx->n_events++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    assert_true(pkt->buf.size <= MAX_FRAME);
    memcpy(ev->frame, pkt->buf.data, pkt->buf.size);
    ev->size = pkt->buf.size;
    ev->flow = pkt->flow;
    ev->recirc_depth = pkt->recirc_depth;
    return ev;
}

static void
cb_output(void *aux, uint32_t port, const struct dp_packet *pkt)
{
    record(aux, EV_OUTPUT, pkt)->port = port;
}

static void
cb_userspace(void *aux, const struct dp_packet *pkt,
             const struct dp_userspace_args *args)
{
    struct event *ev = record(aux, EV_USERSPACE, pkt);
    ev->args = *args;
    assert_true(args->userdata_len <= sizeof ev->userdata);
    if (args->userdata_len) {
        memcpy(ev->userdata, args->userdata, args->userdata_len);
    }
}

static void
cb_recirc(void *aux, struct dp_packet *pkt)
{
    struct fixture *fx = aux;
    record(fx, EV_RECIRC, pkt);
    if (fx->recirc_actions) {
        fx->recirc_error = dp_execute_actions(&fx->ex, pkt, fx->recirc_actions,
                                              fx->recirc_actions_len);
    }
}

static const struct dp_execute_cbs test_cbs = {
    .output = cb_output,
    .userspace = cb_userspace,
    .recirc = cb_recirc,
};

static int
setup(void **state)
{
    struct fixture *fx = test_calloc(1, sizeof *fx);
    dp_executor_init(&fx->ex, &test_cbs, fx, 42);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    test_free(*state);
    return 0;
}

/* Frames. */
static const struct frame_spec base_udp4 = {
    .dl_dst = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 },
    .dl_src = { 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa },
    .nw_src = 0x0a000001, .nw_dst = 0x0a000002,
    .tos = 0x10, .ttl = 64, .proto = IPPROTO_UDP,
    .tp_src = 1234, .tp_dst = 53, .payload_len = 13,
};

static struct frame_spec
spec_tcp4(void)
{
    struct frame_spec s = base_udp4;
    s.proto = IPPROTO_TCP;
    s.tp_dst = 80;
    s.payload_len = 11;
    return s;
}

static struct frame_spec
spec_ipv6(uint8_t proto)
{
    struct frame_spec s = base_udp4;
    static const uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    static const uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
    s.ipv6 = true;
    memcpy(s.ipv6_src, src, 16);
    memcpy(s.ipv6_dst, dst, 16);
    s.label = 0x12345;
    s.tos = 0x28;
    s.proto = proto;
    return s;
}

/* Loads the frame 's' into 'pkt' (fresh, heap-backed). */
static size_t
load(struct dp_packet *pkt, const struct frame_spec *s, uint8_t *frame)
{
    size_t len = build_frame(frame, s);
    dp_packet_init(pkt, NULL, 0);
    assert_int_equal(dp_packet_set_frame(pkt, frame, len, 5), 0);
    return len;
}

/* Asserts that 'pkt' holds exactly 'len' bytes equal to 'frame', with valid
 * checksums, and that its flow is what parsing its bytes gives (plus its
 * metadata). */
static void
assert_packet_is(const struct dp_packet *pkt, const uint8_t *frame,
                 size_t len)
{
    assert_int_equal(pkt->buf.size, len);
    assert_memory_equal(pkt->buf.data, frame, len);
    assert_checksums_valid(pkt->buf.data, pkt->buf.size);

    struct flow parsed;
    struct packet_layout layout;
    packet_parse(pkt->buf.data, pkt->buf.size, pkt->flow.in_port, &parsed,
                 &layout);
    parsed.tunnel = pkt->flow.tunnel;
    parsed.priority = pkt->flow.priority;
    parsed.skb_mark = pkt->flow.skb_mark;
    parsed.recirc_id = pkt->flow.recirc_id;
    parsed.dp_hash = pkt->flow.dp_hash;
    assert_memory_equal(&parsed, &pkt->flow, sizeof parsed);
    assert_memory_equal(&layout, &pkt->layout, sizeof layout);
}

/* Action building. */
struct actions {
    uint64_t stub[512 / 8];     /* Storage for 'b'. */
    struct buf b;               /* The action list. */
};

static void
actions_init(struct actions *a)
{
    buf_use_stub(&a->b, a->stub, sizeof a->stub);
}

static void
put_set(struct buf *b, uint16_t key_type, const void *key, size_t size)
{
    size_t ofs = nl_nest_start(b, OVS_ACTION_ATTR_SET);
    nl_put_attr(b, key_type, key, size);
    nl_nest_end(b, ofs);
}

static void
put_set_masked(struct buf *b, uint16_t key_type, const void *key,
               const void *mask, size_t size)
{
    size_t ofs = nl_nest_start(b, OVS_ACTION_ATTR_SET_MASKED);
    uint8_t *p = nl_put_uninit(b, key_type, 2 * size);
    memcpy(p, key, size);
    memcpy(p + size, mask, size);
    nl_nest_end(b, ofs);
}

/* Runs 'a' on 'pkt' and returns the result. */
static int
run(struct fixture *fx, struct dp_packet *pkt, struct actions *a)
{
    return dp_execute_actions(&fx->ex, pkt, a->b.data, a->b.size);
}

static void
assert_event_frame(const struct event *ev, const uint8_t *frame, size_t len)
{
    assert_int_equal(ev->size, len);
    assert_memory_equal(ev->frame, frame, len);
}

/* SET_MASKED ipv4 src on UDP: IPv4 header and UDP pseudo-header
 * checksums follow. */
static void
set_ipv4_src_udp(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    load(&pkt, &base_udp4, in);
    struct frame_spec s = base_udp4;
    s.nw_src = 0xc0a80a63;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ipv4 key = { .ipv4_src = htonl(0xc0a80a63) };
    struct ovs_key_ipv4 mask = { .ipv4_src = htonl(0xffffffff) };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key, &mask, sizeof key);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 2);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_packet_is(&pkt, want, want_len);
    assert_int_equal(pkt.flow.nw_src, htonl(0xc0a80a63));
    assert_int_equal(fx->n_events, 1);
    assert_event_frame(&fx->events[0], want, want_len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* SET (unmasked) ipv4 on TCP: src, dst, tos and ttl all change. */
static void
set_ipv4_all_tcp(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    load(&pkt, &s, in);
    s.nw_src = 0x01020304;
    s.nw_dst = 0xfedcba98;
    s.tos = 0xb8;
    s.ttl = 3;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ipv4 key = {
        .ipv4_src = htonl(0x01020304), .ipv4_dst = htonl(0xfedcba98),
        .ipv4_proto = IPPROTO_TCP, .ipv4_tos = 0xb8, .ipv4_ttl = 3,
    };
    actions_init(&a);
    put_set(&a.b, OVS_KEY_ATTR_IPV4, &key, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    assert_int_equal(pkt.flow.nw_ttl, 3);
    assert_int_equal(pkt.flow.nw_tos, 0xb8);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A partial mask changes only the masked bits (DSCP, not ECN; half of the
 * destination). */
static void
set_ipv4_partial_mask(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    s.tos = 0x13;               /* DSCP 4, ECN 3. */
    load(&pkt, &s, in);
    s.tos = 0xbb;               /* DSCP 46, ECN kept. */
    s.nw_dst = 0xac100002;      /* 172.16.0.2: top half rewritten. */
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ipv4 key = { .ipv4_dst = htonl(0xac100000),
                                .ipv4_tos = 0xb8 };
    struct ovs_key_ipv4 mask = { .ipv4_dst = htonl(0xffff0000),
                                 .ipv4_tos = 0xfc };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key, &mask, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A UDP packet without checksum keeps checksum zero across rewrites. */
static void
set_ipv4_udp_zero_csum_stays_zero(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    s.udp_no_csum = true;
    load(&pkt, &s, in);
    s.nw_src = 0x0b0b0b0b;
    s.tp_dst = 5353;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ipv4 key = { .ipv4_src = htonl(0x0b0b0b0b) };
    struct ovs_key_ipv4 mask = { .ipv4_src = htonl(0xffffffff) };
    struct ovs_key_udp ukey = { .udp_dst = htons(5353) };
    struct ovs_key_udp umask = { .udp_dst = htons(0xffff) };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key, &mask, sizeof key);
    put_set_masked(&a.b, OVS_KEY_ATTR_UDP, &ukey, &umask, sizeof ukey);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    assert_int_equal(pkt.buf.data[14 + 20 + 6], 0);
    assert_int_equal(pkt.buf.data[14 + 20 + 7], 0);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* SET_MASKED ethernet: a whole new destination and one nibble of the
 * source. */
static void
set_masked_eth_dst(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    load(&pkt, &s, in);
    static const uint8_t new_dst[6] = { 0x02, 0xde, 0xad, 0xbe, 0xef, 0x01 };
    memcpy(s.dl_dst, new_dst, 6);
    s.dl_src[5] = 0xa5;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ethernet key = { .eth_src = { [5] = 0x05 } };
    struct ovs_key_ethernet mask = { .eth_src = { [5] = 0x0f } };
    memcpy(key.eth_dst, new_dst, 6);
    memset(mask.eth_dst, 0xff, 6);
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_ETHERNET, &key, &mask, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    assert_memory_equal(pkt.flow.dl_dst.ea, new_dst, 6);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* SET tcp: new destination port, TCP checksum updated. */
static void
set_tcp_dst(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    load(&pkt, &s, in);
    struct ovs_key_tcp key = { .tcp_src = htons(s.tp_src),
                               .tcp_dst = htons(8443) };
    s.tp_dst = 8443;
    size_t want_len = build_frame(want, &s);

    actions_init(&a);
    put_set(&a.b, OVS_KEY_ATTR_TCP, &key, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    assert_int_equal(pkt.flow.tp_dst, htons(8443));
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* SET_MASKED udp source port with a partial mask. */
static void
set_udp_src_masked(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    load(&pkt, &s, in);
    s.tp_src = (uint16_t) ((s.tp_src & 0x00ff) | 0xab00);
    size_t want_len = build_frame(want, &s);

    struct ovs_key_udp key = { .udp_src = htons(0xab00) };
    struct ovs_key_udp mask = { .udp_src = htons(0xff00) };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_UDP, &key, &mask, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* SET sctp: the CRC32c is recomputed. */
static void
set_sctp_ports(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    s.proto = IPPROTO_SCTP;
    s.payload_len = 16;
    load(&pkt, &s, in);
    s.tp_src = 3868;
    s.tp_dst = 2905;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_sctp key = { .sctp_src = htons(3868),
                                .sctp_dst = htons(2905) };
    actions_init(&a);
    put_set(&a.b, OVS_KEY_ATTR_SCTP, &key, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A wrong SCTP checksum stays exactly as wrong: the datapath does not
 * launder corrupted packets. */
static void
set_sctp_keeps_bad_crc(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    s.proto = IPPROTO_SCTP;
    s.payload_len = 16;
    size_t len = build_frame(in, &s);
    uint8_t *l4 = in + 14 + 20;
    l4[8] ^= 0x5a;
    uint32_t error_before = sctp_load_crc(l4 + 8)
                            ^ sctp_correct_crc(l4, len - 34);
    dp_packet_init(&pkt, NULL, 0);
    assert_int_equal(dp_packet_set_frame(&pkt, in, len, 1), 0);

    struct ovs_key_sctp key = { .sctp_dst = htons(9) };
    struct ovs_key_sctp mask = { .sctp_dst = htons(0xffff) };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_SCTP, &key, &mask, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    uint8_t *out4 = pkt.buf.data + 14 + 20;
    assert_int_equal(out4[2], 0);
    assert_int_equal(out4[3], 9);
    assert_int_equal(sctp_load_crc(out4 + 8)
                     ^ sctp_correct_crc(out4, len - 34), error_before);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* SET ipv6 src and dst on TCP, UDP and ICMPv6: L4 checksums follow. */
static void
set_ipv6_addrs(void **state)
{
    static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
                                      IPPROTO_ICMPV6 };
    struct fixture *fx = *state;

    for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
        uint8_t in[MAX_FRAME], want[MAX_FRAME];
        struct dp_packet pkt;
        struct actions a;
        struct frame_spec s = spec_ipv6(protos[i]);

        load(&pkt, &s, in);
        struct ovs_key_ipv6 key = { .ipv6_proto = protos[i],
                                    .ipv6_tclass = s.tos,
                                    .ipv6_label = htonl(s.label),
                                    .ipv6_hlimit = s.ttl };
        s.ipv6_src[0] = 0xfd;
        s.ipv6_src[9] = 0x77;
        s.ipv6_dst[15] = 0x99;
        memcpy(key.ipv6_src, s.ipv6_src, 16);
        memcpy(key.ipv6_dst, s.ipv6_dst, 16);
        size_t want_len = build_frame(want, &s);

        actions_init(&a);
        put_set(&a.b, OVS_KEY_ATTR_IPV6, &key, sizeof key);
        assert_int_equal(run(fx, &pkt, &a), 0);
        assert_packet_is(&pkt, want, want_len);
        assert_memory_equal(&pkt.flow.ipv6_src, s.ipv6_src, 16);
        dp_packet_uninit(&pkt);
        buf_uninit(&a.b);
    }
}

/* SET_MASKED ipv6 traffic class, flow label and hop limit. */
static void
set_ipv6_tclass_label_hlimit(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_ipv6(IPPROTO_UDP);

    s.tos = 0x29;               /* DSCP 10, ECN 1. */
    load(&pkt, &s, in);
    s.tos = 0xb9;               /* DSCP 46, ECN 1 kept. */
    s.label = 0xabcde;
    s.ttl = 1;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ipv6 key = { .ipv6_tclass = 0xb8,
                                .ipv6_label = htonl(0xabcde),
                                .ipv6_hlimit = 1 };
    struct ovs_key_ipv6 mask = { .ipv6_tclass = 0xfc,
                                 .ipv6_label = htonl(0xfffff),
                                 .ipv6_hlimit = 0xff };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV6, &key, &mask, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    assert_int_equal(pkt.flow.ipv6_label, htonl(0xabcde));
    assert_int_equal(pkt.flow.nw_tos, 0xb9);
    assert_int_equal(pkt.flow.nw_ttl, 1);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* PRIORITY and SKB_MARK change metadata only. */
static void
set_priority_skb_mark(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    size_t len = load(&pkt, &base_udp4, in);
    uint32_t prio = 7, mark = 0x1234, mark_mask = 0xff00;
    actions_init(&a);
    put_set(&a.b, OVS_KEY_ATTR_PRIORITY, &prio, sizeof prio);
    put_set(&a.b, OVS_KEY_ATTR_SKB_MARK, &mark, sizeof mark);
    mark = 0xab00;
    put_set_masked(&a.b, OVS_KEY_ATTR_SKB_MARK, &mark, &mark_mask,
                   sizeof mark);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, in, len);
    assert_int_equal(pkt.flow.priority, 7);
    assert_int_equal(pkt.flow.skb_mark, 0xab34);
    assert_int_equal(fx->events[0].flow.skb_mark, 0xab34);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A SET on a header the packet lacks is skipped and counted; the rest of
 * the list still runs. */
static void
set_missing_header_skipped_counted(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec arp = base_udp4;

    arp.arp = true;
    size_t len = load(&pkt, &arp, in);
    uint64_t before = counter_get("dp_execute_set_missing_header");

    struct ovs_key_ipv4 key4 = { .ipv4_src = htonl(1) };
    struct ovs_key_ipv4 mask4 = { .ipv4_src = htonl(0xffffffff) };
    struct ovs_key_tcp tkey = { .tcp_dst = htons(1) };
    struct ovs_key_ipv6 key6 = { .ipv6_hlimit = 1 };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key4, &mask4, sizeof key4);
    put_set(&a.b, OVS_KEY_ATTR_TCP, &tkey, sizeof tkey);
    put_set(&a.b, OVS_KEY_ATTR_IPV6, &key6, sizeof key6);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 4);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, in, len);
    assert_int_equal(counter_get("dp_execute_set_missing_header"),
                     before + 3);
    assert_int_equal(fx->n_events, 1);
    assert_event_frame(&fx->events[0], in, len);
    dp_packet_uninit(&pkt);

    /* SET tcp on UDP, SET udp on TCP. */
    struct frame_spec tcp = spec_tcp4();
    len = load(&pkt, &tcp, in);
    struct ovs_key_udp ukey = { .udp_dst = htons(1) };
    buf_clear(&a.b);
    put_set(&a.b, OVS_KEY_ATTR_UDP, &ukey, sizeof ukey);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, in, len);
    assert_int_equal(counter_get("dp_execute_set_missing_header"),
                     before + 4);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* Marks the IPv4 frame 'f' as a later fragment (offset 8, more fragments)
 * and recomputes its header checksum in full. */
static void
make_later_fragment(uint8_t *f)
{
    uint8_t *l3 = f + ETH_HEADER_LEN;
    put16(l3 + 6, 0x2001);
    memset(l3 + 10, 0, 2);
    ovs_be16 c = csum(l3, 20);
    memcpy(l3 + 10, &c, 2);
}

/* On a later fragment, what follows the IP header is payload: an address
 * rewrite touches only the IPv4 header checksum, and a port rewrite finds
 * no L4 header. */
static void
set_on_later_fragment(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    size_t len = build_frame(in, &s);
    make_later_fragment(in);
    s.nw_src = 0x0a0000fe;
    build_frame(want, &s);
    memcpy(want + 34, in + 34, len - 34);     /* Payload bytes unchanged. */
    make_later_fragment(want);
    dp_packet_init(&pkt, NULL, 0);
    assert_int_equal(dp_packet_set_frame(&pkt, in, len, 1), 0);
    uint64_t before = counter_get("dp_execute_set_missing_header");

    struct ovs_key_ipv4 key = { .ipv4_src = htonl(0x0a0000fe) };
    struct ovs_key_ipv4 mask = { .ipv4_src = htonl(0xffffffff) };
    struct ovs_key_udp ukey = { .udp_dst = htons(7) };
    struct ovs_key_udp umask = { .udp_dst = htons(0xffff) };
    actions_init(&a);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key, &mask, sizeof key);
    put_set_masked(&a.b, OVS_KEY_ATTR_UDP, &ukey, &umask, sizeof ukey);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_int_equal(pkt.buf.size, len);
    assert_memory_equal(pkt.buf.data, want, len);
    assert_int_equal(csum(pkt.buf.data + ETH_HEADER_LEN, 20), 0);
    assert_int_equal(counter_get("dp_execute_set_missing_header"),
                     before + 1);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A TCP header cut short by the end of the frame is a missing header: the
 * SET is skipped and nothing is written past the frame. */
static void
set_tcp_truncated_header_skipped(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    s.payload_len = 0;
    size_t len = build_frame(in, &s) - 4;     /* 16 of 20 TCP bytes. */
    put16(in + ETH_HEADER_LEN + 2, 36);       /* IP total length agrees. */
    memset(in + ETH_HEADER_LEN + 10, 0, 2);
    ovs_be16 c = csum(in + ETH_HEADER_LEN, 20);
    memcpy(in + ETH_HEADER_LEN + 10, &c, 2);
    dp_packet_init(&pkt, NULL, 0);
    assert_int_equal(dp_packet_set_frame(&pkt, in, len, 1), 0);
    uint64_t before = counter_get("dp_execute_set_missing_header");

    struct ovs_key_tcp key = { .tcp_dst = htons(1) };
    actions_init(&a);
    put_set(&a.b, OVS_KEY_ATTR_TCP, &key, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_int_equal(pkt.buf.size, len);
    assert_memory_equal(pkt.buf.data, in, len);
    assert_int_equal(counter_get("dp_execute_set_missing_header"),
                     before + 1);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* PUSH_VLAN gives the tagged frame; POP_VLAN gives the original back. */
static void
push_vlan_then_pop_vlan(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], tagged[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    size_t len = load(&pkt, &s, in);
    s.vlan = true;
    s.tci = 0x6064;             /* PCP 3, VID 100; CFI clear on the wire. */
    size_t tagged_len = build_frame(tagged, &s);

    struct ovs_action_push_vlan vlan = {
        .vlan_tpid = htons(0x8100), .vlan_tci = htons(0x6064 | VLAN_CFI),
    };
    actions_init(&a);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_PUSH_VLAN, &vlan, sizeof vlan);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    nl_put_flag(&a.b, OVS_ACTION_ATTR_POP_VLAN);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 2);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 2);
    assert_event_frame(&fx->events[0], tagged, tagged_len);
    assert_int_equal(fx->events[0].flow.vlan_tci, htons(0x6064 | VLAN_CFI));
    assert_int_equal(fx->events[0].flow.dl_type, htons(0x0800));
    assert_event_frame(&fx->events[1], in, len);
    assert_int_equal(fx->events[1].flow.vlan_tci, 0);
    assert_packet_is(&pkt, in, len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* Sets after a push act on the moved headers. */
static void
push_vlan_then_set_ipv4(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    load(&pkt, &s, in);
    s.vlan = true;
    s.tci = 0x0005;
    s.ttl = 9;
    size_t want_len = build_frame(want, &s);

    struct ovs_action_push_vlan vlan = {
        .vlan_tpid = htons(0x8100), .vlan_tci = htons(0x0005 | VLAN_CFI),
    };
    struct ovs_key_ipv4 key = { .ipv4_ttl = 9 };
    struct ovs_key_ipv4 mask = { .ipv4_ttl = 0xff };
    actions_init(&a);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_PUSH_VLAN, &vlan, sizeof vlan);
    put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key, &mask, sizeof key);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, want, want_len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* POP_VLAN on an untagged frame is a counted no-op. */
static void
pop_vlan_untagged_counted(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    size_t len = load(&pkt, &base_udp4, in);
    uint64_t before = counter_get("dp_execute_pop_vlan_untagged");
    actions_init(&a);
    nl_put_flag(&a.b, OVS_ACTION_ATTR_POP_VLAN);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_packet_is(&pkt, in, len);
    assert_int_equal(counter_get("dp_execute_pop_vlan_untagged"), before + 1);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* TRUNC limits the next OUTPUT only; the one after is whole.  It applies to
 * USERSPACE the same way, and a limit above the length changes nothing. */
static void
trunc_applies_to_next_output_only(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    size_t len = load(&pkt, &base_udp4, in);
    struct ovs_action_trunc t = { .max_len = 20 };
    struct ovs_action_trunc big = { .max_len = 1000 };
    actions_init(&a);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_TRUNC, &t, sizeof t);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 2);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_TRUNC, &t, sizeof t);
    size_t ofs = nl_nest_start(&a.b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&a.b, OVS_USERSPACE_ATTR_PID, 99);
    nl_nest_end(&a.b, ofs);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_TRUNC, &big, sizeof big);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 3);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 4);
    assert_int_equal(fx->events[0].port, 1);
    assert_event_frame(&fx->events[0], in, 20);
    assert_int_equal(fx->events[1].port, 2);
    assert_event_frame(&fx->events[1], in, len);
    assert_int_equal(fx->events[2].kind, EV_USERSPACE);
    assert_event_frame(&fx->events[2], in, 20);
    assert_event_frame(&fx->events[3], in, len);
    assert_packet_is(&pkt, in, len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

static void
put_sample(struct buf *b, uint32_t probability, uint32_t port)
{
    size_t ofs = nl_nest_start(b, OVS_ACTION_ATTR_SAMPLE);
    nl_put_u32(b, OVS_SAMPLE_ATTR_PROBABILITY, probability);
    size_t inner = nl_nest_start(b, OVS_SAMPLE_ATTR_ACTIONS);
    struct ovs_key_ethernet key = { .eth_dst = { 0xff, 0xff, 0xff, 0xff,
                                                 0xff, 0xff } };
    struct ovs_key_ethernet mask = { .eth_dst = { 0xff, 0xff, 0xff, 0xff,
                                                  0xff, 0xff } };
    put_set_masked(b, OVS_KEY_ATTR_ETHERNET, &key, &mask, sizeof key);
    nl_put_u32(b, OVS_ACTION_ATTR_OUTPUT, port);
    nl_nest_end(b, inner);
    nl_nest_end(b, ofs);
}

/* SAMPLE with probability 0 never runs its actions; UINT32_MAX always does,
 * on a copy. */
static void
sample_probability_bounds(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    size_t len = load(&pkt, &base_udp4, in);
    actions_init(&a);
    put_sample(&a.b, 0, 1);
    put_sample(&a.b, UINT32_MAX, 2);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 3);
    for (int i = 0; i < 100; i++) {
        fx->n_events = 0;
        assert_int_equal(run(fx, &pkt, &a), 0);
        assert_int_equal(fx->n_events, 2);
        assert_int_equal(fx->events[0].port, 2);
        assert_memory_equal(fx->events[0].frame, "\xff\xff\xff\xff\xff\xff",
                            6);
        assert_int_equal(fx->events[1].port, 3);
        assert_event_frame(&fx->events[1], in, len);
    }
    assert_packet_is(&pkt, in, len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A middle probability samples about that fraction, reproducibly for a
 * given seed. */
static void
sample_probability_seeded(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    size_t counts[2];

    load(&pkt, &base_udp4, in);
    actions_init(&a);
    put_sample(&a.b, UINT32_MAX / 4, 1);
    for (int round = 0; round < 2; round++) {
        dp_executor_init(&fx->ex, &test_cbs, fx, 7);
        counts[round] = 0;
        for (int i = 0; i < 2000; i++) {
            fx->n_events = 0;
            assert_int_equal(run(fx, &pkt, &a), 0);
            counts[round] += fx->n_events;
        }
    }
    assert_int_equal(counts[0], counts[1]);
    assert_in_range(counts[0], 400, 600);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* CLONE's actions see a copy: the original and later outputs are
 * unchanged. */
static void
clone_isolation(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    size_t len = load(&pkt, &s, in);
    s.tp_dst = 22;
    s.vlan = true;
    s.tci = 0x0007;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_tcp key = { .tcp_dst = htons(22) };
    struct ovs_key_tcp mask = { .tcp_dst = htons(0xffff) };
    struct ovs_action_push_vlan vlan = {
        .vlan_tpid = htons(0x8100), .vlan_tci = htons(0x0007 | VLAN_CFI),
    };
    actions_init(&a);
    size_t ofs = nl_nest_start(&a.b, OVS_ACTION_ATTR_CLONE);
    put_set_masked(&a.b, OVS_KEY_ATTR_TCP, &key, &mask, sizeof key);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_PUSH_VLAN, &vlan, sizeof vlan);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    nl_nest_end(&a.b, ofs);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 2);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 2);
    assert_event_frame(&fx->events[0], want, want_len);
    assert_event_frame(&fx->events[1], in, len);
    assert_packet_is(&pkt, in, len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* Outputs happen in list order, each with the packet as it was then. */
static void
output_order(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = base_udp4;

    size_t len = load(&pkt, &s, in);
    s.tp_src = 1;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_udp key = { .udp_src = htons(1), .udp_dst = htons(53) };
    actions_init(&a);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 30);
    put_set(&a.b, OVS_KEY_ATTR_UDP, &key, sizeof key);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 10);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 20);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 3);
    assert_int_equal(fx->events[0].port, 30);
    assert_event_frame(&fx->events[0], in, len);
    assert_int_equal(fx->events[1].port, 10);
    assert_event_frame(&fx->events[1], want, want_len);
    assert_int_equal(fx->events[2].port, 20);
    assert_event_frame(&fx->events[2], want, want_len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* USERSPACE passes pid, userdata, egress tunnel port and (on request) the
 * action list. */
static void
userspace_args(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    static const uint8_t cookie[] = { 1, 2, 3, 4, 5, 6, 7 };

    size_t len = load(&pkt, &base_udp4, in);
    actions_init(&a);
    size_t ofs = nl_nest_start(&a.b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&a.b, OVS_USERSPACE_ATTR_PID, 4242);
    nl_put_attr(&a.b, OVS_USERSPACE_ATTR_USERDATA, cookie, sizeof cookie);
    nl_put_u32(&a.b, OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, 17);
    nl_put_flag(&a.b, OVS_USERSPACE_ATTR_ACTIONS);
    nl_nest_end(&a.b, ofs);
    ofs = nl_nest_start(&a.b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&a.b, OVS_USERSPACE_ATTR_PID, 1);
    nl_nest_end(&a.b, ofs);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 2);
    const struct event *ev = &fx->events[0];
    assert_int_equal(ev->kind, EV_USERSPACE);
    assert_int_equal(ev->args.pid, 4242);
    assert_int_equal(ev->args.userdata_len, sizeof cookie);
    assert_memory_equal(ev->userdata, cookie, sizeof cookie);
    assert_true(ev->args.has_egress_tun_port);
    assert_int_equal(ev->args.egress_tun_port, 17);
    assert_ptr_equal(ev->args.actions, a.b.data);
    assert_int_equal(ev->args.actions_len, a.b.size);
    assert_event_frame(ev, in, len);
    assert_int_equal(ev->flow.in_port, 5);

    ev = &fx->events[1];
    assert_int_equal(ev->args.pid, 1);
    assert_null(ev->args.userdata);
    assert_false(ev->args.has_egress_tun_port);
    assert_null(ev->args.actions);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* RECIRC hands the datapath a copy with the new recirc_id. */
static void
recirc_callback(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    size_t len = load(&pkt, &base_udp4, in);
    uint32_t mark = 77;
    actions_init(&a);
    put_set(&a.b, OVS_KEY_ATTR_SKB_MARK, &mark, sizeof mark);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_RECIRC, 0x2a);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 2);
    assert_int_equal(fx->events[0].kind, EV_RECIRC);
    assert_int_equal(fx->events[0].flow.recirc_id, 0x2a);
    assert_int_equal(fx->events[0].flow.skb_mark, 77);
    assert_int_equal(fx->events[0].recirc_depth, 1);
    assert_event_frame(&fx->events[0], in, len);
    assert_int_equal(fx->events[1].kind, EV_OUTPUT);
    assert_int_equal(fx->events[1].flow.recirc_id, 0);
    assert_int_equal(pkt.flow.recirc_id, 0);
    assert_int_equal(pkt.recirc_depth, 0);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A flow that recirculates to itself stops after DP_EXECUTE_MAX_RECIRC
 * rounds, with one counted drop. */
static void
recirc_depth_limit(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    load(&pkt, &base_udp4, in);
    uint64_t before = counter_get("dp_execute_recirc_too_deep");
    actions_init(&a);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_RECIRC, 1);
    fx->recirc_actions = a.b.data;
    fx->recirc_actions_len = a.b.size;
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_int_equal(fx->recirc_error, 0);

    assert_int_equal(fx->n_events, DP_EXECUTE_MAX_RECIRC);
    for (size_t i = 0; i < fx->n_events; i++) {
        assert_int_equal(fx->events[i].recirc_depth, i + 1);
    }
    assert_int_equal(counter_get("dp_execute_recirc_too_deep"), before + 1);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* HASH stores the symmetric 5-tuple hash (never 0) in dp_hash. */
static void
hash_sets_dp_hash(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt, rev;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    load(&pkt, &s, in);
    s.nw_src = base_udp4.nw_dst;
    s.nw_dst = base_udp4.nw_src;
    s.tp_src = 80;
    s.tp_dst = 1234;
    load(&rev, &s, in);

    struct ovs_action_hash h = { .hash_alg = OVS_HASH_ALG_L4,
                                 .hash_basis = 99 };
    actions_init(&a);
    nl_put_attr(&a.b, OVS_ACTION_ATTR_HASH, &h, sizeof h);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_int_equal(run(fx, &rev, &a), 0);

    uint32_t want = flow_hash_5tuple(&pkt.flow, 99);
    assert_int_equal(pkt.flow.dp_hash, want ? want : 1);
    assert_int_not_equal(pkt.flow.dp_hash, 0);
    assert_int_equal(rev.flow.dp_hash, pkt.flow.dp_hash);
    assert_int_equal(fx->events[0].flow.dp_hash, pkt.flow.dp_hash);
    dp_packet_uninit(&pkt);
    dp_packet_uninit(&rev);
    buf_uninit(&a.b);
}

/* A list made by the odp_put_*() builders and accepted by the validator
 * runs as its parts do alone. */
static void
validated_builder_list(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME], want[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    struct frame_spec s = spec_tcp4();

    size_t len = load(&pkt, &s, in);
    s.nw_dst = 0x0a0000c8;
    s.tp_dst = 443;
    size_t want_len = build_frame(want, &s);

    struct ovs_key_ipv4 key = { .ipv4_dst = htonl(0x0a0000c8) };
    struct ovs_key_ipv4 mask = { .ipv4_dst = htonl(0xffffffff) };
    struct ovs_key_tcp tkey = { .tcp_dst = htons(443) };
    struct ovs_key_tcp tmask = { .tcp_dst = htons(0xffff) };
    actions_init(&a);
    odp_put_trunc(&a.b, 14);
    odp_put_output(&a.b, 9);
    size_t clone = odp_put_clone_start(&a.b);
    odp_put_set_masked(&a.b, OVS_KEY_ATTR_IPV4, &key, &mask, sizeof key);
    odp_put_set_masked(&a.b, OVS_KEY_ATTR_TCP, &tkey, &tmask, sizeof tkey);
    odp_put_output(&a.b, 1);
    odp_put_clone_end(&a.b, clone);
    odp_put_userspace(&a.b, 3, "ck", 2, ODP_PORT_NONE, false);
    odp_put_output(&a.b, 2);

    struct odp_actions_policy policy = {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .port_ok = odp_accept_any,
        .pid_ok = odp_accept_any,
    };
    assert_int_equal(odp_actions_validate(a.b.data, a.b.size, &policy, NULL),
                     0);
    assert_int_equal(run(fx, &pkt, &a), 0);

    assert_int_equal(fx->n_events, 4);
    assert_int_equal(fx->events[0].port, 9);
    assert_event_frame(&fx->events[0], in, ETH_HEADER_LEN);
    assert_int_equal(fx->events[1].port, 1);
    assert_event_frame(&fx->events[1], want, want_len);
    assert_int_equal(fx->events[2].kind, EV_USERSPACE);
    assert_int_equal(fx->events[2].args.pid, 3);
    assert_memory_equal(fx->events[2].userdata, "ck", 2);
    assert_event_frame(&fx->events[2], in, len);
    assert_int_equal(fx->events[3].port, 2);
    assert_packet_is(&pkt, in, len);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A malformed list stops with EINVAL; what was output before stands. */
static void
malformed_list_stops(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    load(&pkt, &base_udp4, in);
    uint64_t before = counter_get("dp_execute_malformed");
    actions_init(&a);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 2);
    /* Claim more bytes than there are. */
    struct nlattr *last = (struct nlattr *) (void *) (a.b.data + 8);
    last->nla_len = 64;
    assert_int_equal(run(fx, &pkt, &a), EINVAL);
    assert_int_equal(fx->n_events, 1);
    assert_int_equal(counter_get("dp_execute_malformed"), before + 1);

    /* Wrong payload sizes. */
    buf_clear(&a.b);
    nl_put_u16(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    assert_int_equal(run(fx, &pkt, &a), EINVAL);
    buf_clear(&a.b);
    uint32_t short_key = 0;
    put_set(&a.b, OVS_KEY_ATTR_IPV4, &short_key, sizeof short_key);
    assert_int_equal(run(fx, &pkt, &a), EINVAL);

    /* Trailing bytes and a misaligned list. */
    buf_clear(&a.b);
    nl_put_flag(&a.b, OVS_ACTION_ATTR_POP_VLAN);
    buf_put_zeros(&a.b, 3);
    assert_int_equal(run(fx, &pkt, &a), EINVAL);
    assert_int_equal(dp_execute_actions(&fx->ex, &pkt, a.b.data + 1, 4),
                     EINVAL);

    /* A sample without probability. */
    buf_clear(&a.b);
    size_t ofs = nl_nest_start(&a.b, OVS_ACTION_ATTR_SAMPLE);
    size_t inner = nl_nest_start(&a.b, OVS_SAMPLE_ATTR_ACTIONS);
    nl_nest_end(&a.b, inner);
    nl_nest_end(&a.b, ofs);
    assert_int_equal(run(fx, &pkt, &a), EINVAL);
    assert_int_equal(counter_get("dp_execute_malformed"), before + 6);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* Actions and SET keys the executor does not implement stop it. */
static void
unsupported_action_stops(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    load(&pkt, &base_udp4, in);
    uint64_t before = counter_get("dp_execute_unsupported");
    actions_init(&a);
    nl_put_be16(&a.b, OVS_ACTION_ATTR_POP_MPLS, htons(0x0800));
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    assert_int_equal(run(fx, &pkt, &a), EOPNOTSUPP);
    assert_int_equal(fx->n_events, 0);

    buf_clear(&a.b);
    ovs_be16 ethertype = htons(0x0800);
    put_set(&a.b, OVS_KEY_ATTR_ETHERTYPE, &ethertype, sizeof ethertype);
    assert_int_equal(run(fx, &pkt, &a), EOPNOTSUPP);
    assert_int_equal(counter_get("dp_execute_unsupported"), before + 2);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* CLONE nested past DP_EXECUTE_MAX_NEST stops with ELOOP. */
static void
nesting_too_deep(void **state)
{
    struct fixture *fx = *state;
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;
    size_t ofs[DP_EXECUTE_MAX_NEST + 1];

    load(&pkt, &base_udp4, in);
    uint64_t before = counter_get("dp_execute_nest_too_deep");
    for (int depth = DP_EXECUTE_MAX_NEST; depth <= DP_EXECUTE_MAX_NEST + 1;
         depth++) {
        actions_init(&a);
        for (int i = 0; i < depth; i++) {
            ofs[i] = nl_nest_start(&a.b, OVS_ACTION_ATTR_CLONE);
        }
        nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
        for (int i = depth - 1; i >= 0; i--) {
            nl_nest_end(&a.b, ofs[i]);
        }
        fx->n_events = 0;
        int error = run(fx, &pkt, &a);
        if (depth <= DP_EXECUTE_MAX_NEST) {
            assert_int_equal(error, 0);
            assert_int_equal(fx->n_events, 1);
        } else {
            assert_int_equal(error, ELOOP);
            assert_int_equal(fx->n_events, 0);
        }
        buf_uninit(&a.b);
    }
    assert_int_equal(counter_get("dp_execute_nest_too_deep"), before + 1);
    dp_packet_uninit(&pkt);
}

/* Missing callbacks drop what they would have received, counted. */
static void
missing_callbacks_counted(void **state)
{
    struct fixture *fx = *state;
    static const struct dp_execute_cbs no_cbs = { 0 };
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt;
    struct actions a;

    load(&pkt, &base_udp4, in);
    dp_executor_init(&fx->ex, &no_cbs, fx, 1);
    uint64_t out = counter_get("dp_execute_no_output_cb");
    uint64_t up = counter_get("dp_execute_no_userspace_cb");
    uint64_t rc = counter_get("dp_execute_no_recirc_cb");
    actions_init(&a);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_OUTPUT, 1);
    size_t ofs = nl_nest_start(&a.b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&a.b, OVS_USERSPACE_ATTR_PID, 1);
    nl_nest_end(&a.b, ofs);
    nl_put_u32(&a.b, OVS_ACTION_ATTR_RECIRC, 1);
    assert_int_equal(run(fx, &pkt, &a), 0);
    assert_int_equal(counter_get("dp_execute_no_output_cb"), out + 1);
    assert_int_equal(counter_get("dp_execute_no_userspace_cb"), up + 1);
    assert_int_equal(counter_get("dp_execute_no_recirc_cb"), rc + 1);
    dp_packet_uninit(&pkt);
    buf_uninit(&a.b);
}

/* A packet bigger than the stub moves to the heap and clones stay
 * independent. */
static void
packet_stub_and_clone(void **state)
{
    (void) state;
    uint64_t stub[32 / 8], stub2[32 / 8];
    uint8_t in[MAX_FRAME];
    struct dp_packet pkt, copy;

    size_t len = build_frame(in, &base_udp4);
    dp_packet_init(&pkt, stub, sizeof stub);
    assert_int_equal(dp_packet_size(&pkt), 0);
    assert_int_equal(dp_packet_set_frame(&pkt, in, len, 3), 0);
    assert_true(len > sizeof stub);
    assert_memory_equal(dp_packet_data(&pkt), in, len);
    assert_int_equal(pkt.flow.in_port, 3);

    dp_packet_clone(&copy, &pkt, stub2, sizeof stub2);
    copy.buf.data[0] ^= 1;
    assert_memory_equal(dp_packet_data(&pkt), in, len);
    assert_memory_equal(&copy.flow, &pkt.flow, sizeof pkt.flow);
    assert_int_equal(dp_packet_set_frame(&pkt, in, DP_PACKET_MAX_SIZE + 1, 3),
                     EMSGSIZE);
    dp_packet_uninit(&copy);
    dp_packet_uninit(&pkt);
}

int
main(void)
{
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(set_ipv4_src_udp),
        T(set_ipv4_all_tcp),
        T(set_ipv4_partial_mask),
        T(set_ipv4_udp_zero_csum_stays_zero),
        T(set_masked_eth_dst),
        T(set_tcp_dst),
        T(set_udp_src_masked),
        T(set_sctp_ports),
        T(set_sctp_keeps_bad_crc),
        T(set_ipv6_addrs),
        T(set_ipv6_tclass_label_hlimit),
        T(set_priority_skb_mark),
        T(set_missing_header_skipped_counted),
        T(set_on_later_fragment),
        T(set_tcp_truncated_header_skipped),
        T(push_vlan_then_pop_vlan),
        T(push_vlan_then_set_ipv4),
        T(pop_vlan_untagged_counted),
        T(trunc_applies_to_next_output_only),
        T(sample_probability_bounds),
        T(sample_probability_seeded),
        T(clone_isolation),
        T(output_order),
        T(userspace_args),
        T(recirc_callback),
        T(recirc_depth_limit),
        T(hash_sets_dp_hash),
        T(validated_builder_list),
        T(malformed_list_stops),
        T(unsupported_action_stops),
        T(nesting_too_deep),
        T(missing_callbacks_counted),
        T(packet_stub_and_clone),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
