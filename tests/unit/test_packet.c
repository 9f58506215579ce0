/* Tests for common/packet.c: frames crafted byte by byte for every protocol
 * with their expected flows and offsets; every truncation of several frames
 * (run under ASan, each parse reads an exactly-sized heap copy, so any
 * over-read is caught); padding; malformed headers; compose's checksums and
 * refusals; and compose -> parse round trips over many random flows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/csum.h"
#include "common/packet.h"
#include "tests/packet_invariants.h"

#define IN_PORT 7
#define NONE PACKET_OFS_NONE

/* ---- Frames. ---------------------------------------------------------- */

/* IPv4 (IHL 6: one word of options, TOS 0xb8, DF) carrying TCP (data offset
 * 6: an MSS option; NS|ACK|SYN) and 4 bytes of payload.  66 bytes. */
static const uint8_t frame_ipv4_tcp[] = {
    /* Ethernet */
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0x08, 0x00,
    /* IPv4 @14: version 4, IHL 6, TOS, total length 52, id, DF, TTL 64,
     * TCP, checksum, 192.168.1.2 -> 10.0.0.1, options NOP NOP NOP EOL. */
    0x46, 0xb8, 0x00, 0x34, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
    0xc0, 0xa8, 0x01, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00,
    /* TCP @38: 12345 -> 80, seq 1, ack 0, offset 6 | flags 0x112, window,
     * checksum, urgent, MSS 1460. */
    0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x61, 0x12, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
    /* Payload @62. */
    0xde, 0xad, 0xbe, 0xef,
};

/* 802.1Q (PCP 5, VID 100) IPv4 UDP 1234 -> 5678 with 4 bytes of payload.
 * 50 bytes. */
static const uint8_t frame_vlan_udp[] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    /* Tag @12. */
    0x81, 0x00, 0xa0, 0x64,
    0x08, 0x00,
    /* IPv4 @18: total length 32, TTL 64, UDP, 10.0.0.1 -> 10.0.0.2. */
    0x45, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
    /* UDP @38. */
    0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0x00, 0x00,
    0x01, 0x02, 0x03, 0x04,
};

/* IPv6 (traffic class 0xa5, label 0x12345, hop limit 63) with hop-by-hop,
 * destination options, routing and AH headers, then UDP 53 -> 50000 and 4
 * bytes of payload.  122 bytes. */
static const uint8_t frame_ipv6_ext_udp[] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0x86, 0xdd,
    /* IPv6 @14: payload length 68, next header hop-by-hop. */
    0x6a, 0x51, 0x23, 0x45, 0x00, 0x44, 0x00, 0x3f,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    /* Hop-by-hop @54 (8 bytes, PadN) -> destination options. */
    0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
    /* Destination options @62 (16 bytes) -> routing. */
    0x2b, 0x01, 0x01, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* Routing @78 (8 bytes) -> AH. */
    0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* AH @86 (length 4: 24 bytes) -> UDP. */
    0x11, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* UDP @110. */
    0x00, 0x35, 0xc3, 0x50, 0x00, 0x0c, 0x00, 0x00,
    0xaa, 0xbb, 0xcc, 0xdd,
};

/* ARP request: who has 10.0.0.2, tell 10.0.0.1.  42 bytes. */
static const uint8_t frame_arp[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0x08, 0x06,
    /* ARP @14. */
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x0a, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
};

/* Neighbour solicitation for fe80::2 with a source link-layer address
 * option and an unknown option (type 14, 8 bytes) that is skipped.
 * 94 bytes. */
static const uint8_t frame_nd_ns[] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x02, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0x86, 0xdd,
    /* IPv6 @14: payload length 40, ICMPv6, hop limit 255, fe80::1 ->
     * ff02::1:ff00:2. */
    0x60, 0x00, 0x00, 0x00, 0x00, 0x28, 0x3a, 0xff,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x02,
    /* ICMPv6 @54: type 135, code 0, checksum, reserved. */
    0x87, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* Target @62. */
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    /* Options @78: SLL, then type 14. */
    0x01, 0x01, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0x0e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* ---- Helpers. --------------------------------------------------------- */

/* Parses the first 'n' bytes of 'bytes' from an exactly-sized heap copy, so
 * that ASan reports any read past 'n', and checks the invariants. */
static void
parse_exact(const void *bytes, size_t n, struct flow *flow,
            struct packet_layout *l)
{
    uint8_t *copy = malloc(n ? n : 1);
    const char *broken;

    assert_non_null(copy);
    memcpy(copy, bytes, n);
    packet_parse(n ? copy : copy + 1, n, IN_PORT, flow, l);
    free(copy);

    broken = packet_check_invariants(n, IN_PORT, flow, l);
    if (broken) {
        fail_msg("invariant broken at %zu bytes: %s", n, broken);
    }
}

static struct eth_addr
mac(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f)
{
    return (struct eth_addr) { { a, b, c, d, e, f } };
}

static struct in6_addr
in6(const char *s)
{
    struct in6_addr a;

    assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
    return a;
}

static ovs_be32
in4(const char *s)
{
    struct in_addr a;

    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static void
assert_flow_equal(const struct flow *a, const struct flow *b)
{
    if (memcmp(a, b, sizeof *a)) {
        const uint8_t *pa = (const uint8_t *) a, *pb = (const uint8_t *) b;

        for (size_t i = 0; i < sizeof *a; i++) {
            if (pa[i] != pb[i]) {
                fail_msg("flows differ at byte %zu: %#x != %#x", i, pa[i],
                         pb[i]);
            }
        }
    }
}

static void
assert_layout(const struct packet_layout *l, uint16_t l2_5, uint16_t l3,
              uint16_t l4, uint16_t l7, uint16_t l3_end, uint32_t flags)
{
    assert_int_equal(l->l2, 0);
    assert_int_equal(l->l2_5, l2_5);
    assert_int_equal(l->l3, l3);
    assert_int_equal(l->l4, l4);
    assert_int_equal(l->l7, l7);
    assert_int_equal(l->l3_end, l3_end);
    assert_int_equal(l->parse_flags, flags);
}

/* A writable copy of a frame for malformed variants. */
struct frame {
    uint8_t b[256];             /* Bytes. */
    size_t n;                   /* Length. */
};

static struct frame
frame_copy(const uint8_t *bytes, size_t n)
{
    struct frame f;

    assert_true(n <= sizeof f.b);
    memset(&f, 0, sizeof f);
    memcpy(f.b, bytes, n);
    f.n = n;
    return f;
}

static void
wr16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

/* ---- Crafted frames. -------------------------------------------------- */

static void
parse_ipv4_tcp_with_options(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    parse_exact(frame_ipv4_tcp, sizeof frame_ipv4_tcp, &f, &l);
    assert_layout(&l, NONE, 14, 38, 62, 66, 0);
    assert_true(eth_addr_equals(f.dl_dst, mac(0, 0x11, 0x22, 0x33, 0x44,
                                              0x55)));
    assert_true(eth_addr_equals(f.dl_src, mac(0x66, 0x77, 0x88, 0x99, 0xaa,
                                              0xbb)));
    assert_int_equal(f.vlan_tci, 0);
    assert_int_equal(ntohs(f.dl_type), 0x0800);
    assert_int_equal(f.nw_src, in4("192.168.1.2"));
    assert_int_equal(f.nw_dst, in4("10.0.0.1"));
    assert_int_equal(f.nw_proto, 6);
    assert_int_equal(f.nw_tos, 0xb8);
    assert_int_equal(f.nw_ttl, 64);
    assert_int_equal(f.nw_frag, 0);
    assert_int_equal(ntohs(f.tp_src), 12345);
    assert_int_equal(ntohs(f.tp_dst), 80);
    assert_int_equal(ntohs(f.tcp_flags), 0x112);
    assert_int_equal(f.in_port, IN_PORT);
}

static void
parse_vlan_ipv4_udp(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    parse_exact(frame_vlan_udp, sizeof frame_vlan_udp, &f, &l);
    assert_layout(&l, 12, 18, 38, 46, 50, 0);
    assert_int_equal(ntohs(f.vlan_tci), 0xa064 | VLAN_CFI);
    assert_int_equal(ntohs(f.dl_type), 0x0800);
    assert_int_equal(f.nw_proto, 17);
    assert_int_equal(ntohs(f.tp_src), 1234);
    assert_int_equal(ntohs(f.tp_dst), 5678);
    assert_int_equal(f.tcp_flags, 0);
}

/* The DEI bit of the tag does not matter: VLAN_CFI is always set. */
static void
parse_vlan_dei_and_vid0(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_vlan_udp, sizeof frame_vlan_udp);
    struct packet_layout l;
    struct flow f;

    wr16(fr.b + 14, 0x1000);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(ntohs(f.vlan_tci), VLAN_CFI);
    wr16(fr.b + 14, 0x0000);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(ntohs(f.vlan_tci), VLAN_CFI);
    assert_int_equal(l.l2_5, 12);
}

/* 802.1ad is an ordinary ethertype here (see packet.h). */
static void
parse_8021ad_is_not_a_tag(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_vlan_udp, sizeof frame_vlan_udp);
    struct packet_layout l;
    struct flow f;

    wr16(fr.b + 12, 0x88a8);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, NONE, NONE, NONE, 50, 0);
    assert_int_equal(ntohs(f.dl_type), 0x88a8);
    assert_int_equal(f.vlan_tci, 0);
    assert_int_equal(f.nw_proto, 0);
}

static void
parse_ipv6_ext_headers_udp(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    parse_exact(frame_ipv6_ext_udp, sizeof frame_ipv6_ext_udp, &f, &l);
    assert_layout(&l, NONE, 14, 110, 118, 122, 0);
    assert_int_equal(ntohs(f.dl_type), 0x86dd);
    struct in6_addr src = in6("2001:db8::1"), dst = in6("2001:db8::2");
    assert_memory_equal(&f.ipv6_src, &src, 16);
    assert_memory_equal(&f.ipv6_dst, &dst, 16);
    assert_int_equal(ntohl(f.ipv6_label), 0x12345);
    assert_int_equal(f.nw_tos, 0xa5);
    assert_int_equal(f.nw_ttl, 63);
    assert_int_equal(f.nw_proto, 17);
    assert_int_equal(f.nw_frag, 0);
    assert_int_equal(ntohs(f.tp_src), 53);
    assert_int_equal(ntohs(f.tp_dst), 50000);
    assert_int_equal(f.nw_src, 0);
}

/* Replaces the routing header of frame_ipv6_ext_udp by a fragment header
 * with 'offlg' (offset | M), keeping the length. */
static struct frame
ipv6_with_fragment(uint16_t offlg)
{
    struct frame fr = frame_copy(frame_ipv6_ext_udp,
                                 sizeof frame_ipv6_ext_udp);

    fr.b[62] = 44;              /* Destination options -> fragment. */
    fr.b[78] = 51;              /* Fragment -> AH. */
    wr16(fr.b + 80, offlg);
    return fr;
}

static void
parse_ipv6_fragments(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    /* First fragment: M set, offset 0: L4 parsed. */
    struct frame fr = ipv6_with_fragment(0x0001);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, 110, 118, 122, 0);
    assert_int_equal(f.nw_frag, FLOW_NW_FRAG_ANY);
    assert_int_equal(f.nw_proto, 17);
    assert_int_equal(ntohs(f.tp_src), 53);

    /* Atomic fragment (no M, offset 0) is still a fragment. */
    fr = ipv6_with_fragment(0x0000);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(f.nw_frag, FLOW_NW_FRAG_ANY);
    assert_int_equal(l.l7, 118);

    /* Later fragment: stops at the fragment header, nw_proto is its next
     * header (AH), no L4. */
    fr = ipv6_with_fragment(0x05c8);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, NONE, NONE, 122, 0);
    assert_int_equal(f.nw_frag, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER);
    assert_int_equal(f.nw_proto, 51);
    assert_int_equal(f.tp_src, 0);
    assert_int_equal(f.tp_dst, 0);
}

static void
parse_ipv4_fragments(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);
    struct packet_layout l;
    struct flow f;

    /* MF, offset 0: first fragment, L4 present. */
    wr16(fr.b + 20, 0x2000);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, 38, 62, 66, 0);
    assert_int_equal(f.nw_frag, FLOW_NW_FRAG_ANY);
    assert_int_equal(ntohs(f.tp_dst), 80);

    /* Offset 185 (1480 bytes), last fragment: no L4. */
    wr16(fr.b + 20, 185);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, NONE, NONE, 66, 0);
    assert_int_equal(f.nw_frag, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER);
    assert_int_equal(f.nw_proto, 6);
    assert_int_equal(f.tp_src, 0);
    assert_int_equal(f.tcp_flags, 0);

    /* DF alone is not a fragment. */
    wr16(fr.b + 20, 0x4000);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(f.nw_frag, 0);
}

static void
parse_arp_request(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    parse_exact(frame_arp, sizeof frame_arp, &f, &l);
    assert_layout(&l, NONE, 14, NONE, NONE, 42, 0);
    assert_int_equal(ntohs(f.dl_type), 0x0806);
    assert_int_equal(f.nw_proto, 1);
    assert_int_equal(f.nw_src, in4("10.0.0.1"));
    assert_int_equal(f.nw_dst, in4("10.0.0.2"));
    assert_true(eth_addr_equals(f.arp_sha, mac(0x66, 0x77, 0x88, 0x99, 0xaa,
                                               0xbb)));
    assert_true(eth_addr_is_zero(f.arp_tha));
    assert_int_equal(f.nw_ttl, 0);
}

static void
parse_rarp_and_large_opcode(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_arp, sizeof frame_arp);
    struct packet_layout l;
    struct flow f;

    wr16(fr.b + 12, 0x8035);
    wr16(fr.b + 20, 3);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(ntohs(f.dl_type), 0x8035);
    assert_int_equal(f.nw_proto, 3);

    /* An opcode above 0xff does not fit nw_proto: 0, the rest parsed. */
    wr16(fr.b + 20, 0x0102);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(f.nw_proto, 0);
    assert_int_equal(f.nw_src, in4("10.0.0.1"));
    assert_int_equal(l.parse_flags, 0);
}

static void
parse_icmpv4(void **state)
{
    (void) state;
    static const uint8_t frame[] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00,
        0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
        /* ICMP @34: destination unreachable (3), port unreachable (3). */
        0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    struct packet_layout l;
    struct flow f;

    parse_exact(frame, sizeof frame, &f, &l);
    assert_layout(&l, NONE, 14, 34, 42, 42, 0);
    assert_int_equal(f.nw_proto, 1);
    assert_int_equal(f.tp_src, htons(3));
    assert_int_equal(f.tp_dst, htons(3));
}

static void
parse_sctp(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_vlan_udp, sizeof frame_vlan_udp);
    struct packet_layout l;
    struct flow f;

    fr.b[27] = 132;             /* Protocol SCTP; 12 bytes of L4. */
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, 12, 18, 38, 50, 50, 0);
    assert_int_equal(f.nw_proto, 132);
    assert_int_equal(ntohs(f.tp_src), 1234);
    assert_int_equal(ntohs(f.tp_dst), 5678);
}

/* A protocol without an L4 parser: l4 marks the IP payload, no l7. */
static void
parse_ipv4_other_protocol(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_vlan_udp, sizeof frame_vlan_udp);
    struct packet_layout l;
    struct flow f;

    fr.b[27] = 47;              /* GRE. */
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, 12, 18, 38, NONE, 50, 0);
    assert_int_equal(f.nw_proto, 47);
    assert_int_equal(f.tp_src, 0);
}

/* ICMPv6 over IPv4 and ICMP over IPv6 are not ICMP. */
static void
parse_icmp_wrong_ip_version(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_vlan_udp, sizeof frame_vlan_udp);
    struct packet_layout l;
    struct flow f;

    fr.b[27] = 58;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(l.l7, NONE);
    assert_int_equal(f.tp_src, 0);

    fr = frame_copy(frame_ipv6_ext_udp, sizeof frame_ipv6_ext_udp);
    fr.b[86] = 1;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(f.nw_proto, 1);
    assert_int_equal(l.l7, NONE);
    assert_int_equal(f.tp_src, 0);
}

static void
parse_nd_solicitation(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    parse_exact(frame_nd_ns, sizeof frame_nd_ns, &f, &l);
    assert_layout(&l, NONE, 14, 54, 62, 94, 0);
    assert_int_equal(f.nw_proto, 58);
    assert_int_equal(f.nw_ttl, 255);
    assert_int_equal(f.tp_src, htons(135));
    assert_int_equal(f.tp_dst, 0);
    struct in6_addr target = in6("fe80::2");
    assert_memory_equal(&f.nd_target, &target, 16);
    assert_true(eth_addr_equals(f.arp_sha, mac(0x66, 0x77, 0x88, 0x99, 0xaa,
                                               0xbb)));
    assert_true(eth_addr_is_zero(f.arp_tha));
}

static void
parse_nd_advertisement_tll(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);
    struct packet_layout l;
    struct flow f;

    fr.b[54] = 136;
    fr.b[58] = 0x60;            /* Solicited, override. */
    fr.b[78] = 2;               /* TLL. */
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(l.parse_flags, 0);
    assert_int_equal(f.tp_src, htons(136));
    assert_true(eth_addr_is_zero(f.arp_sha));
    assert_true(eth_addr_equals(f.arp_tha, mac(0x66, 0x77, 0x88, 0x99, 0xaa,
                                               0xbb)));
    struct in6_addr target = in6("fe80::2");
    assert_memory_equal(&f.nd_target, &target, 16);
}

/* ND fields only for code 0 and types 135/136. */
static void
parse_nd_nonzero_code_is_plain_icmpv6(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);
    struct packet_layout l;
    struct flow f;

    fr.b[55] = 1;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(l.parse_flags, 0);
    assert_int_equal(f.tp_dst, htons(1));
    assert_true(packet_inv_zero(&f.nd_target, 16));
    assert_true(eth_addr_is_zero(f.arp_sha));

    fr.b[55] = 0;
    fr.b[54] = 128;             /* Echo request. */
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(f.tp_src, htons(128));
    assert_true(packet_inv_zero(&f.nd_target, 16));
}

/* Bad options clear every ND field but keep type and code. */
static void
assert_nd_malformed(const struct frame *fr)
{
    struct packet_layout l;
    struct flow f;

    parse_exact(fr->b, fr->n, &f, &l);
    assert_int_equal(l.parse_flags, PKT_BAD_L4);
    assert_int_equal(f.tp_src, htons(135));
    assert_int_equal(l.l7, 62);
    assert_true(packet_inv_zero(&f.nd_target, 16));
    assert_true(eth_addr_is_zero(f.arp_sha));
    assert_true(eth_addr_is_zero(f.arp_tha));
}

static void
parse_nd_option_length_zero(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);

    fr.b[87] = 0;               /* Second option, after the SLL. */
    assert_nd_malformed(&fr);
    fr.b[79] = 0;
    assert_nd_malformed(&fr);
}

static void
parse_nd_option_overrun(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);

    fr.b[87] = 2;               /* 16 bytes where 8 remain. */
    assert_nd_malformed(&fr);
}

static void
parse_nd_duplicate_sll(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);

    fr.b[86] = 1;               /* The type-14 option becomes an SLL. */
    fr.b[88] = 0x02;
    assert_nd_malformed(&fr);
}

/* An SLL option of length 2 is not an Ethernet address: skipped. */
static void
parse_nd_long_lla_option_ignored(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);
    struct packet_layout l;
    struct flow f;

    fr.b[79] = 2;               /* SLL spans both options. */
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(l.parse_flags, 0);
    assert_true(eth_addr_is_zero(f.arp_sha));
    assert_false(packet_inv_zero(&f.nd_target, 16));
}

/* The payload length cuts the target short. */
static void
parse_nd_target_truncated(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);
    struct packet_layout l;
    struct flow f;

    wr16(fr.b + 18, 8 + 15);
    fr.n = 54 + 8 + 15;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(l.parse_flags, PKT_TRUNC_L4);
    assert_int_equal(f.tp_src, htons(135));
    assert_true(packet_inv_zero(&f.nd_target, 16));
    assert_true(eth_addr_is_zero(f.arp_sha));
}

/* Padding after an ND message must not be read as options: zero padding
 * would be an option of length 0. */
static void
parse_nd_padding_is_not_options(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_nd_ns, sizeof frame_nd_ns);
    struct packet_layout l;
    struct flow f, unpadded;

    wr16(fr.b + 18, 32);        /* Drop the type-14 option... */
    fr.n = 86;
    parse_exact(fr.b, fr.n, &unpadded, &l);
    assert_int_equal(l.parse_flags, 0);
    memset(fr.b + 86, 0, 16);   /* ...and pad with zeros instead. */
    fr.n = 102;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(l.parse_flags, PKT_PADDED);
    assert_int_equal(l.l3_end, 86);
    assert_flow_equal(&f, &unpadded);
}

static void
parse_llc_and_snap(void **state)
{
    (void) state;
    static const uint8_t stp[] = {
        0x01, 0x80, 0xc2, 0x00, 0x00, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0x00, 0x26, 0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x00,
    };
    struct packet_layout l;
    struct flow f;

    parse_exact(stp, sizeof stp, &f, &l);
    assert_layout(&l, NONE, NONE, NONE, NONE, sizeof stp, 0);
    assert_int_equal(ntohs(f.dl_type), FLOW_DL_TYPE_NONE);
    assert_true(eth_addr_equals(f.dl_dst, mac(0x01, 0x80, 0xc2, 0, 0, 0)));

    /* LLC/SNAP with a zero OUI carrying IPv4: parsed as IPv4. */
    struct frame fr;
    memset(&fr, 0, sizeof fr);
    memcpy(fr.b, frame_vlan_udp, 12);
    static const uint8_t snap[] = { 0x00, 0x2a, 0xaa, 0xaa, 0x03, 0x00,
                                    0x00, 0x00, 0x08, 0x00 };
    memcpy(fr.b + 12, snap, sizeof snap);
    memcpy(fr.b + 22, frame_vlan_udp + 18, 32);
    fr.n = 54;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 22, 42, 50, 54, 0);
    assert_int_equal(ntohs(f.dl_type), 0x0800);
    assert_int_equal(ntohs(f.tp_dst), 5678);

    /* A nonzero OUI is not an ethertype. */
    fr.b[17] = 0x01;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(ntohs(f.dl_type), FLOW_DL_TYPE_NONE);
    assert_int_equal(l.l3, NONE);

    /* Nor is a SNAP type below 0x600. */
    fr.b[17] = 0x00;
    wr16(fr.b + 20, 0x05dc);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_int_equal(ntohs(f.dl_type), FLOW_DL_TYPE_NONE);
}

/* ---- Malformed headers. ---------------------------------------------- */

/* Only L2 fields, and exactly 'flags'. */
static void
assert_l2_only(const struct frame *fr, uint32_t flags)
{
    struct packet_layout l;
    struct flow f, expect;

    parse_exact(fr->b, fr->n, &f, &l);
    assert_int_equal(l.parse_flags, flags);
    assert_int_equal(l.l3, NONE);
    memset(&expect, 0, sizeof expect);
    expect.in_port = IN_PORT;
    memcpy(expect.dl_dst.ea, fr->b, 6);
    memcpy(expect.dl_src.ea, fr->b + 6, 6);
    expect.dl_type = f.dl_type;
    assert_flow_equal(&f, &expect);
}

static void
parse_ipv4_ihl_3(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);

    fr.b[14] = 0x43;
    assert_l2_only(&fr, PKT_BAD_L3);
}

static void
parse_ipv4_total_length_below_ihl(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);

    wr16(fr.b + 16, 23);        /* IHL is 24. */
    assert_l2_only(&fr, PKT_BAD_L3);
}

static void
parse_ipv4_wrong_version(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);

    fr.b[14] = 0x66;
    assert_l2_only(&fr, PKT_BAD_L3);
}

/* An IHL larger than the frame is truncation, not malformation. */
static void
parse_ipv4_ihl_beyond_frame(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);

    fr.n = 14 + 22;
    assert_l2_only(&fr, PKT_TRUNC_L3);
}

static void
parse_ipv6_wrong_version(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv6_ext_udp,
                                 sizeof frame_ipv6_ext_udp);

    fr.b[14] = 0x4a;
    assert_l2_only(&fr, PKT_BAD_L3);
}

static void
parse_arp_hlen_8(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_arp, sizeof frame_arp);

    fr.b[18] = 8;
    assert_l2_only(&fr, PKT_BAD_L3);
    fr = frame_copy(frame_arp, sizeof frame_arp);
    wr16(fr.b + 14, 6);         /* IEEE 802 hardware type. */
    assert_l2_only(&fr, PKT_BAD_L3);
    fr = frame_copy(frame_arp, sizeof frame_arp);
    fr.b[19] = 16;
    assert_l2_only(&fr, PKT_BAD_L3);
}

static void
parse_tcp_data_offset_4(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);
    struct packet_layout l;
    struct flow f;

    fr.b[50] = 0x41;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, 38, NONE, 66, PKT_BAD_L4);
    assert_int_equal(f.nw_proto, 6);
    assert_int_equal(f.tp_src, 0);
    assert_int_equal(f.tp_dst, 0);
    assert_int_equal(f.tcp_flags, 0);

    /* Data offset 15 (60 bytes) runs past the 28 bytes there are. */
    fr.b[50] = 0xf1;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, 38, NONE, 66, PKT_TRUNC_L4);
    assert_int_equal(f.tp_src, 0);
}

/* IPv4 total length beyond the frame: L3 fields, no L4. */
static void
parse_ipv4_total_length_beyond_frame(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv4_tcp, sizeof frame_ipv4_tcp);
    struct packet_layout l;
    struct flow f;

    wr16(fr.b + 16, 1500);
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, NONE, NONE, 66, PKT_TRUNC_IP);
    assert_int_equal(f.nw_src, in4("192.168.1.2"));
    assert_int_equal(f.nw_proto, 6);
    assert_int_equal(f.tp_src, 0);
}

/* An IPv6 payload length that ends inside the extension headers. */
static void
parse_ipv6_payload_length_inside_ext(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_ipv6_ext_udp,
                                 sizeof frame_ipv6_ext_udp);
    struct packet_layout l;
    struct flow f;

    wr16(fr.b + 18, 30);        /* Ends inside the routing header. */
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, NONE, NONE, 84, PKT_TRUNC_EXT | PKT_PADDED);
    assert_int_equal(ntohl(f.ipv6_label), 0x12345);
    assert_int_equal(f.nw_ttl, 63);
    assert_int_equal(f.nw_proto, 0);
    assert_int_equal(f.nw_frag, 0);
}

/* ---- Padding. -------------------------------------------------------- */

static void
parse_padded_ipv4_udp(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_vlan_udp, sizeof frame_vlan_udp);
    struct packet_layout l, lp;
    struct flow f, fp;

    /* Untag it: 46 bytes, of which IPv4 is 32. */
    memmove(fr.b + 12, fr.b + 16, 34);
    fr.n = 46;
    parse_exact(fr.b, fr.n, &f, &l);
    assert_layout(&l, NONE, 14, 34, 42, 46, 0);

    /* Padded to Ethernet's 60 bytes with nonzero junk. */
    memset(fr.b + 46, 0xee, 14);
    fr.n = 60;
    parse_exact(fr.b, fr.n, &fp, &lp);
    assert_layout(&lp, NONE, 14, 34, 42, 46, PKT_PADDED);
    assert_flow_equal(&fp, &f);
}

static void
parse_padded_arp(void **state)
{
    (void) state;
    struct frame fr = frame_copy(frame_arp, sizeof frame_arp);
    struct packet_layout l;
    struct flow f, fp;

    parse_exact(fr.b, fr.n, &f, &l);
    fr.n = 60;
    parse_exact(fr.b, fr.n, &fp, &l);
    assert_layout(&l, NONE, 14, NONE, NONE, 42, PKT_PADDED);
    assert_flow_equal(&fp, &f);
}

/* ---- Short frames and every truncation. ------------------------------- */

static void
parse_short_frames(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f;

    for (size_t n = 0; n < ETH_HEADER_LEN; n++) {
        parse_exact(frame_ipv4_tcp, n, &f, &l);
        assert_layout(&l, NONE, NONE, NONE, NONE, n, PKT_TRUNC_L2);
        assert_int_equal(ntohs(f.dl_type), FLOW_DL_TYPE_NONE);
        assert_true(eth_addr_is_zero(f.dl_src));
    }
}

/* Expected flags for every prefix length below 'upto'. */
struct trunc_step {
    size_t upto;                /* Exclusive bound of prefix lengths. */
    uint32_t flags;             /* Expected parse_flags. */
};

/* A frame and the flags of each of its truncations. */
struct trunc_case {
    const char *name;           /* For failure messages. */
    const uint8_t *frame;       /* The complete frame. */
    size_t len;                 /* Its length. */
    struct trunc_step steps[6]; /* Ascending; the last 'upto' is 'len'. */
};

static const struct trunc_case trunc_cases[] = {
    { "ipv4-tcp", frame_ipv4_tcp, sizeof frame_ipv4_tcp,
      { { 14, PKT_TRUNC_L2 }, { 38, PKT_TRUNC_L3 },
        { 66, PKT_TRUNC_IP } } },
    { "vlan-udp", frame_vlan_udp, sizeof frame_vlan_udp,
      { { 14, PKT_TRUNC_L2 }, { 18, PKT_TRUNC_VLAN }, { 38, PKT_TRUNC_L3 },
        { 50, PKT_TRUNC_IP } } },
    { "ipv6-ext-udp", frame_ipv6_ext_udp, sizeof frame_ipv6_ext_udp,
      { { 14, PKT_TRUNC_L2 }, { 54, PKT_TRUNC_L3 },
        { 110, PKT_TRUNC_IP | PKT_TRUNC_EXT }, { 122, PKT_TRUNC_IP } } },
    { "arp", frame_arp, sizeof frame_arp,
      { { 14, PKT_TRUNC_L2 }, { 42, PKT_TRUNC_L3 } } },
    { "nd-ns", frame_nd_ns, sizeof frame_nd_ns,
      { { 14, PKT_TRUNC_L2 }, { 54, PKT_TRUNC_L3 },
        { 94, PKT_TRUNC_IP } } },
};

/* Every field of 'part' is either zero or the same as in 'full'. */
static void
assert_fields_subset(const struct flow *part, const struct flow *full,
                     const char *name, size_t n)
{
    const uint8_t *p = (const uint8_t *) part, *q = (const uint8_t *) full;

    for (size_t i = 0; i < sizeof *part; i++) {
        if (p[i] && p[i] != q[i]) {
            fail_msg("%s cut at %zu: flow byte %zu is %#x, not %#x", name, n,
                     i, p[i], q[i]);
        }
    }
}

static void
parse_every_truncation(void **state)
{
    (void) state;

    for (size_t c = 0; c < ARRAY_SIZE(trunc_cases); c++) {
        const struct trunc_case *tc = &trunc_cases[c];
        struct packet_layout full_l, l;
        struct flow full, f;

        parse_exact(tc->frame, tc->len, &full, &full_l);
        assert_int_equal(full_l.parse_flags, 0);

        size_t step = 0;
        for (size_t n = 0; n < tc->len; n++) {
            while (n >= tc->steps[step].upto) {
                step++;
            }
            parse_exact(tc->frame, n, &f, &l);
            if (l.parse_flags != tc->steps[step].flags) {
                fail_msg("%s cut at %zu: flags %#x, expected %#x", tc->name,
                         n, l.parse_flags, tc->steps[step].flags);
            }
            if (n >= ETH_HEADER_LEN) {
                /* A cut tag leaves dl_type 0x8100, which is not invented
                 * either: it is the outer ethertype. */
                struct flow fc = f;
                if (l.parse_flags & PKT_TRUNC_VLAN) {
                    assert_int_equal(ntohs(f.dl_type), 0x8100);
                    fc.dl_type = full.dl_type;
                }
                assert_fields_subset(&fc, &full, tc->name, n);
            }
            if (l.parse_flags & PKT_TRUNC_IP) {
                /* L3 complete: its fields and offset are all there. */
                assert_int_equal(l.l3, full_l.l3);
                assert_int_equal(f.nw_src, full.nw_src);
                assert_memory_equal(&f.ipv6_dst, &full.ipv6_dst, 16);
                assert_int_equal(f.nw_ttl, full.nw_ttl);
                assert_int_equal(f.tp_src, 0);
                assert_int_equal(l.l7, NONE);
            }
        }
        assert_int_equal(tc->steps[step].upto, tc->len);
    }
}

/* Shrinks the IP length field together with the frame, so that truncation
 * hits L4 (and ND) rather than the IP length. */
static void
parse_every_ip_length(void **state)
{
    (void) state;
    struct packet_layout l;
    struct flow f, full;

    /* IPv4/TCP: the TCP header (with options) is bytes 38..62. */
    parse_exact(frame_ipv4_tcp, sizeof frame_ipv4_tcp, &full, &l);
    for (size_t tot = 24; tot <= 52; tot++) {
        struct frame fr = frame_copy(frame_ipv4_tcp, 14 + tot);

        wr16(fr.b + 16, tot);
        parse_exact(fr.b, fr.n, &f, &l);
        uint32_t expect = 14 + tot < 62 ? PKT_TRUNC_L4 : 0;
        assert_int_equal(l.parse_flags, expect);
        assert_int_equal(l.l4, 38);
        assert_int_equal(f.tp_src, expect ? 0 : full.tp_src);
        assert_int_equal(f.tcp_flags, expect ? 0 : full.tcp_flags);
        assert_int_equal(f.nw_src, full.nw_src);
    }

    /* ND: ICMPv6 @54, target @62, SLL @78, type-14 option @86. */
    parse_exact(frame_nd_ns, sizeof frame_nd_ns, &full, &l);
    for (size_t plen = 0; plen <= 40; plen++) {
        struct frame fr = frame_copy(frame_nd_ns, 54 + plen);
        size_t end = 54 + plen;

        wr16(fr.b + 18, plen);
        parse_exact(fr.b, fr.n, &f, &l);
        uint32_t expect = end < 78 ? PKT_TRUNC_L4 : 0;
        assert_int_equal(l.parse_flags, expect);
        if (end < 62) {
            assert_int_equal(f.tp_src, 0);
            assert_int_equal(l.l7, NONE);
        } else {
            assert_int_equal(f.tp_src, htons(135));
        }
        if (end < 78) {
            assert_true(packet_inv_zero(&f.nd_target, 16));
        } else {
            assert_memory_equal(&f.nd_target, &full.nd_target, 16);
        }
        /* An option needs all its 8 bytes. */
        if (end < 86) {
            assert_true(eth_addr_is_zero(f.arp_sha));
        } else {
            assert_true(eth_addr_equals(f.arp_sha, full.arp_sha));
        }
    }
}

/* A frame longer than PACKET_PARSE_MAX is parsed as far as that. */
static void
parse_huge_frame(void **state)
{
    (void) state;
    size_t n = 70000;
    uint8_t *big = calloc(1, n);
    struct packet_layout l;
    struct flow f;

    assert_non_null(big);
    memcpy(big, frame_ipv4_tcp, sizeof frame_ipv4_tcp);
    wr16(big + 16, 65535);
    parse_exact(big, n, &f, &l);
    assert_int_equal(l.parse_flags, PKT_TRUNC_IP);
    assert_int_equal(l.l3_end, PACKET_PARSE_MAX);

    wr16(big + 16, 65000);
    parse_exact(big, n, &f, &l);
    assert_int_equal(l.parse_flags, PKT_PADDED);
    assert_int_equal(l.l3_end, 14 + 65000);
    assert_int_equal(ntohs(f.tp_dst), 80);
    free(big);
}

/* ---- Compose. -------------------------------------------------------- */

static struct flow
flow_ipv4(uint8_t proto)
{
    struct flow f;

    memset(&f, 0, sizeof f);
    f.dl_dst = mac(0x00, 0x11, 0x22, 0x33, 0x44, 0x55);
    f.dl_src = mac(0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb);
    f.dl_type = htons(0x0800);
    f.nw_src = in4("192.0.2.1");
    f.nw_dst = in4("198.51.100.7");
    f.nw_proto = proto;
    f.nw_ttl = 64;
    f.tp_src = htons(1000);
    f.tp_dst = htons(2000);
    return f;
}

static struct flow
flow_ipv6(uint8_t proto)
{
    struct flow f = flow_ipv4(proto);

    f.dl_type = htons(0x86dd);
    f.nw_src = f.nw_dst = 0;
    f.ipv6_src = in6("2001:db8::10");
    f.ipv6_dst = in6("2001:db8::20");
    f.ipv6_label = htonl(0xabcde);
    return f;
}

/* Composes 'flow' and parses the result back. */
static void
compose_parse(const struct flow *flow, size_t payload, struct buf *b,
              struct flow *out, struct packet_layout *l)
{
    struct errbuf eb = { "" };

    buf_clear(b);
    int error = packet_compose(b, flow, payload, &eb);
    if (error) {
        fail_msg("compose failed: %s", eb.msg);
    }
    parse_exact(b->data, b->size, out, l);
}

static void
compose_ipv4_tcp_checksums(void **state)
{
    (void) state;
    struct flow in = flow_ipv4(6), out;
    struct packet_layout l;
    struct buf b;

    in.tcp_flags = htons(0x018);
    in.nw_tos = 0x2e;
    buf_init(&b, 0);
    compose_parse(&in, 33, &b, &out, &l);
    in.in_port = IN_PORT;
    assert_flow_equal(&out, &in);
    assert_int_equal(b.size, 14 + 20 + 20 + 33);
    assert_layout(&l, NONE, 14, 34, 54, 87, 0);

    /* IPv4 header checksum, and TCP's over the pseudo-header. */
    assert_int_equal(csum(b.data + 14, 20), 0);
    uint32_t p = csum_pseudo_ipv4(in.nw_src, in.nw_dst, 6, 53);
    assert_int_equal(csum_finish(csum_continue(p, b.data + 34, 53)), 0);
    buf_uninit(&b);
}

static void
compose_udp_icmp_checksums(void **state)
{
    (void) state;
    struct flow in = flow_ipv6(17), out;
    struct packet_layout l;
    struct buf b;

    buf_init(&b, 0);
    compose_parse(&in, 10, &b, &out, &l);
    uint32_t p = csum_pseudo_ipv6(&in.ipv6_src, &in.ipv6_dst, 17, 18);
    assert_int_equal(csum_finish(csum_continue(p, b.data + 54, 18)), 0);
    assert_int_equal(b.data[54 + 4], 0);
    assert_int_equal(b.data[54 + 5], 18);

    in = flow_ipv4(1);
    in.tp_src = htons(8);
    in.tp_dst = htons(0);
    compose_parse(&in, 5, &b, &out, &l);
    assert_int_equal(csum(b.data + 34, 13), 0);

    in = flow_ipv6(58);
    in.tp_src = htons(128);
    in.tp_dst = 0;
    compose_parse(&in, 5, &b, &out, &l);
    p = csum_pseudo_ipv6(&in.ipv6_src, &in.ipv6_dst, 58, 13);
    assert_int_equal(csum_finish(csum_continue(p, b.data + 54, 13)), 0);
    buf_uninit(&b);
}

static void
compose_sctp_crc32c(void **state)
{
    (void) state;
    struct flow in = flow_ipv4(132), out;
    struct packet_layout l;
    uint8_t stored[4], zeroed[12 + 9];
    struct buf b;

    buf_init(&b, 0);
    compose_parse(&in, 9, &b, &out, &l);
    assert_int_equal(l.l7, 34 + 12);
    memcpy(stored, b.data + 34 + 8, 4);
    memcpy(zeroed, b.data + 34, sizeof zeroed);
    memset(zeroed + 8, 0, 4);
    uint8_t expect[4];
    crc32c_put_le(expect, crc32c(zeroed, sizeof zeroed));
    assert_memory_equal(stored, expect, 4);
    buf_uninit(&b);
}

static void
compose_nd_with_options(void **state)
{
    (void) state;
    struct flow in = flow_ipv6(58), out;
    struct packet_layout l;
    struct buf b;

    in.tp_src = htons(136);
    in.tp_dst = 0;
    in.nw_ttl = 255;
    in.nd_target = in6("fe80::99");
    in.arp_sha = mac(2, 0, 0, 0, 0, 1);
    in.arp_tha = mac(2, 0, 0, 0, 0, 2);
    buf_init(&b, 0);
    compose_parse(&in, 100, &b, &out, &l);
    in.in_port = IN_PORT;
    assert_flow_equal(&out, &in);
    /* Header, target, two options; the payload is ignored. */
    assert_int_equal(b.size, 14 + 40 + 8 + 16 + 16);
    assert_int_equal(b.data[78], 1);
    assert_int_equal(b.data[86], 2);
    uint32_t p = csum_pseudo_ipv6(&in.ipv6_src, &in.ipv6_dst, 58, 40);
    assert_int_equal(csum_finish(csum_continue(p, b.data + 54, 40)), 0);
    buf_uninit(&b);
}

static void
compose_fragments(void **state)
{
    (void) state;
    struct flow in = flow_ipv4(17), out;
    struct packet_layout l;
    struct buf b;

    buf_init(&b, 0);
    in.nw_frag = FLOW_NW_FRAG_ANY;
    compose_parse(&in, 8, &b, &out, &l);
    assert_int_equal(b.data[20] & 0x20, 0x20);
    assert_int_equal(out.nw_frag, FLOW_NW_FRAG_ANY);
    assert_int_equal(l.l7, 42);

    in.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    in.tp_src = in.tp_dst = 0;
    compose_parse(&in, 8, &b, &out, &l);
    assert_int_equal(out.nw_frag, in.nw_frag);
    assert_int_equal(l.l4, NONE);
    assert_int_equal(b.size, 14 + 20 + 8);

    in = flow_ipv6(6);
    in.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    in.tp_src = in.tp_dst = 0;
    compose_parse(&in, 8, &b, &out, &l);
    assert_int_equal(b.size, 14 + 40 + 8 + 8);
    assert_int_equal(b.data[20], 44);
    in.in_port = IN_PORT;
    assert_flow_equal(&out, &in);
    buf_uninit(&b);
}

/* Each refused flow gives EINVAL, a reason, and appends nothing. */
static void
assert_compose_einval(const struct flow *flow, size_t payload,
                      const char *reason_part)
{
    struct errbuf eb = { "" };
    struct buf b;

    buf_init(&b, 0);
    buf_put(&b, "x", 1);
    assert_int_equal(packet_compose(&b, flow, payload, &eb), EINVAL);
    assert_int_equal(b.size, 1);
    if (!strstr(eb.msg, reason_part)) {
        fail_msg("reason \"%s\" lacks \"%s\"", eb.msg, reason_part);
    }
    buf_uninit(&b);
}

static void
compose_refuses_impossible_flows(void **state)
{
    (void) state;
    struct flow f;

    f = flow_ipv4(6);
    f.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    assert_compose_einval(&f, 0, "tp_src");

    f = flow_ipv4(6);
    f.nw_frag = FLOW_NW_FRAG_LATER;
    assert_compose_einval(&f, 0, "nw_frag");

    f = flow_ipv4(6);
    f.vlan_tci = htons(100);
    assert_compose_einval(&f, 0, "VLAN_CFI");

    f = flow_ipv4(1);
    f.tp_src = htons(256);
    assert_compose_einval(&f, 0, "tp_src");

    f = flow_ipv4(17);
    f.tcp_flags = htons(2);
    assert_compose_einval(&f, 0, "tcp_flags");

    f = flow_ipv4(6);
    f.tcp_flags = htons(0x1000);
    assert_compose_einval(&f, 0, "tcp_flags");

    f = flow_ipv4(47);
    assert_compose_einval(&f, 0, "tp_src");

    f = flow_ipv6(17);
    f.ipv6_label = htonl(0x100000);
    assert_compose_einval(&f, 0, "ipv6_label");

    f = flow_ipv6(0);
    f.tp_src = f.tp_dst = 0;
    assert_compose_einval(&f, 0, "extension header");

    f = flow_ipv6(58);
    f.tp_src = htons(128);
    f.tp_dst = 0;
    f.nd_target = in6("fe80::1");
    assert_compose_einval(&f, 0, "nd_target");

    f = flow_ipv4(6);
    f.ipv6_src = in6("::1");
    assert_compose_einval(&f, 0, "ipv6_src");

    f = flow_ipv4(6);
    f.dl_type = htons(0x0100);
    assert_compose_einval(&f, 0, "802.3");

    f = flow_ipv4(6);
    f.dl_type = htons(0x88cc);
    assert_compose_einval(&f, 0, "nw_src");

    f = flow_ipv4(6);
    f.dl_type = htons(0x0806);
    assert_compose_einval(&f, 0, "nw_ttl");

    f = flow_ipv4(6);
    f.priority = 5;             /* Metadata is ignored... */
    f.pad[1] = 1;               /* ...padding is not. */
    assert_compose_einval(&f, 0, "pad");

    f = flow_ipv4(6);
    assert_compose_einval(&f, 65535 - 40 + 1, "total length");

    f = flow_ipv6(17);
    assert_compose_einval(&f, 65535 - 8 + 1, "payload length");
    assert_compose_einval(&f, 65500, "-byte frame");

    memset(&f, 0, sizeof f);
    f.dl_type = htons(FLOW_DL_TYPE_NONE);
    assert_compose_einval(&f, 1498, "802.3");
}

/* ---- Compose -> parse round trips. ------------------------------------ */

static uint32_t rng_state = 0x5eed1234;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void
rng_bytes(void *p_, size_t n)
{
    uint8_t *p = p_;

    for (size_t i = 0; i < n; i++) {
        p[i] = rng();
    }
}

static struct eth_addr
rng_mac_or_zero(void)
{
    struct eth_addr ea = { { 0 } };

    if (rng() % 3) {
        rng_bytes(&ea, sizeof ea);
    }
    return ea;
}

static void
rng_l4(struct flow *f, bool ipv6)
{
    static const uint8_t protos[] = { 6, 17, 132, 1, 58, 47, 50, 59, 89 };
    uint8_t proto = protos[rng() % ARRAY_SIZE(protos)];
    bool icmp = (proto == 1 && !ipv6) || (proto == 58 && ipv6);

    f->nw_proto = proto;
    if (f->nw_frag & FLOW_NW_FRAG_LATER) {
        if (ipv6 && rng() % 4 == 0) {
            /* A later fragment may end on any next header. */
            f->nw_proto = rng() % 2 ? 0 : 44;
        }
        return;
    }
    if (proto == 6 || proto == 17 || proto == 132) {
        f->tp_src = rng();
        f->tp_dst = rng();
        if (proto == 6) {
            f->tcp_flags = htons(rng() & 0xfff);
        }
    } else if (icmp) {
        f->tp_src = htons(rng() & 0xff);
        f->tp_dst = htons(rng() % 4 ? 0 : rng() & 0xff);
        if (ipv6 && rng() % 2) {
            f->tp_src = htons(rng() % 2 ? 135 : 136);
        }
        if (ipv6 && !f->tp_dst
            && (f->tp_src == htons(135) || f->tp_src == htons(136))) {
            rng_bytes(&f->nd_target, sizeof f->nd_target);
            f->arp_sha = rng_mac_or_zero();
            f->arp_tha = rng_mac_or_zero();
        }
    }
}

static struct flow
rng_flow(void)
{
    static const uint16_t other_types[] = { 0x88cc, 0x8847, 0x88a8, 0x9000,
                                            0x8100, 0x0600 };
    static const uint8_t frags[] = {
        0, 0, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
    };
    struct flow f;

    memset(&f, 0, sizeof f);
    rng_bytes(&f.dl_dst, sizeof f.dl_dst);
    rng_bytes(&f.dl_src, sizeof f.dl_src);
    if (rng() % 2) {
        f.vlan_tci = htons((rng() & 0xffff) | VLAN_CFI);
    }

    switch (rng() % 8) {
    case 0: case 1: case 2:
        f.dl_type = htons(0x0800);
        rng_bytes(&f.nw_src, 4);
        rng_bytes(&f.nw_dst, 4);
        f.nw_tos = rng();
        f.nw_ttl = rng();
        f.nw_frag = frags[rng() % ARRAY_SIZE(frags)];
        rng_l4(&f, false);
        break;
    case 3: case 4: case 5:
        f.dl_type = htons(0x86dd);
        rng_bytes(&f.ipv6_src, 16);
        rng_bytes(&f.ipv6_dst, 16);
        f.ipv6_label = htonl(rng() & 0xfffff);
        f.nw_tos = rng();
        f.nw_ttl = rng();
        f.nw_frag = frags[rng() % ARRAY_SIZE(frags)];
        rng_l4(&f, true);
        break;
    case 6:
        f.dl_type = htons(rng() % 2 ? 0x0806 : 0x8035);
        rng_bytes(&f.nw_src, 4);
        rng_bytes(&f.nw_dst, 4);
        f.nw_proto = rng();
        f.arp_sha = rng_mac_or_zero();
        f.arp_tha = rng_mac_or_zero();
        break;
    default:
        f.dl_type = (rng() % 3 == 0
                     ? htons(FLOW_DL_TYPE_NONE)
                     : htons(other_types[rng() % ARRAY_SIZE(other_types)]));
        break;
    }
    return f;
}

static void
compose_parse_round_trip(void **state)
{
    (void) state;
    unsigned int kinds[4] = { 0 };
    struct buf b;

    buf_init(&b, 0);
    for (int i = 0; i < 20000; i++) {
        struct flow in = rng_flow(), out;
        size_t payload = rng() % 4 ? rng() % 80 : 0;
        struct packet_layout l;

        compose_parse(&in, payload, &b, &out, &l);
        in.in_port = IN_PORT;
        if (memcmp(&in, &out, sizeof in)) {
            fail_msg("round trip %d (dl_type %#x, nw_proto %u) differs", i,
                     ntohs(in.dl_type), in.nw_proto);
        }
        uint16_t type = ntohs(in.dl_type);
        bool arp = type == 0x0806 || type == 0x8035;
        assert_int_equal(l.parse_flags, arp && payload ? PKT_PADDED : 0);
        kinds[type == 0x0800 ? 0 : type == 0x86dd ? 1 : arp ? 2 : 3]++;
    }
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        assert_true(kinds[k] > 1000);
    }
    buf_uninit(&b);
}

/* Parse -> compose -> parse over the crafted frames and their variants:
 * the flow survives (options, extension headers and padding do not). */
static void
parse_compose_parse_crafted(void **state)
{
    (void) state;
    const struct { const uint8_t *p; size_t n; } frames[] = {
        { frame_ipv4_tcp, sizeof frame_ipv4_tcp },
        { frame_vlan_udp, sizeof frame_vlan_udp },
        { frame_ipv6_ext_udp, sizeof frame_ipv6_ext_udp },
        { frame_arp, sizeof frame_arp },
        { frame_nd_ns, sizeof frame_nd_ns },
    };
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
        struct packet_layout l;
        struct flow f, g;

        parse_exact(frames[i].p, frames[i].n, &f, &l);
        compose_parse(&f, 4, &b, &g, &l);
        assert_flow_equal(&g, &f);
    }
    buf_uninit(&b);
}

/* ---- Flag descriptions. ----------------------------------------------- */

static void
flags_to_string(void **state)
{
    (void) state;
    char buf[128];

    assert_string_equal(packet_parse_flags_to_string(0, buf, sizeof buf),
                        "none");
    assert_string_equal(packet_parse_flags_to_string(PKT_TRUNC_L4
                                                     | PKT_PADDED,
                                                     buf, sizeof buf),
                        "truncated L4, padded");
    assert_string_equal(packet_parse_flags_to_string(PKT_BAD_L3 | (1u << 20),
                                                     buf, sizeof buf),
                        "bad L3, 0x100000");
    assert_string_equal(packet_parse_flags_to_string(PKT_TRUNC_IP, buf,
                                                     sizeof buf),
                        "truncated IP payload");

    /* Cut short, but always terminated. */
    char small[8];
    memset(small, 'x', sizeof small);
    packet_parse_flags_to_string(PKT_TRUNC_L2 | PKT_TRUNC_EXT | PKT_BAD_L4,
                                 small, sizeof small);
    assert_string_equal(small, "truncat");
    assert_ptr_equal(packet_parse_flags_to_string(PKT_BAD_L4, small, 0),
                     small);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_ipv4_tcp_with_options),
        cmocka_unit_test(parse_vlan_ipv4_udp),
        cmocka_unit_test(parse_vlan_dei_and_vid0),
        cmocka_unit_test(parse_8021ad_is_not_a_tag),
        cmocka_unit_test(parse_ipv6_ext_headers_udp),
        cmocka_unit_test(parse_ipv6_fragments),
        cmocka_unit_test(parse_ipv4_fragments),
        cmocka_unit_test(parse_arp_request),
        cmocka_unit_test(parse_rarp_and_large_opcode),
        cmocka_unit_test(parse_icmpv4),
        cmocka_unit_test(parse_sctp),
        cmocka_unit_test(parse_ipv4_other_protocol),
        cmocka_unit_test(parse_icmp_wrong_ip_version),
        cmocka_unit_test(parse_nd_solicitation),
        cmocka_unit_test(parse_nd_advertisement_tll),
        cmocka_unit_test(parse_nd_nonzero_code_is_plain_icmpv6),
        cmocka_unit_test(parse_nd_option_length_zero),
        cmocka_unit_test(parse_nd_option_overrun),
        cmocka_unit_test(parse_nd_duplicate_sll),
        cmocka_unit_test(parse_nd_long_lla_option_ignored),
        cmocka_unit_test(parse_nd_target_truncated),
        cmocka_unit_test(parse_nd_padding_is_not_options),
        cmocka_unit_test(parse_llc_and_snap),
        cmocka_unit_test(parse_ipv4_ihl_3),
        cmocka_unit_test(parse_ipv4_total_length_below_ihl),
        cmocka_unit_test(parse_ipv4_wrong_version),
        cmocka_unit_test(parse_ipv4_ihl_beyond_frame),
        cmocka_unit_test(parse_ipv6_wrong_version),
        cmocka_unit_test(parse_arp_hlen_8),
        cmocka_unit_test(parse_tcp_data_offset_4),
        cmocka_unit_test(parse_ipv4_total_length_beyond_frame),
        cmocka_unit_test(parse_ipv6_payload_length_inside_ext),
        cmocka_unit_test(parse_padded_ipv4_udp),
        cmocka_unit_test(parse_padded_arp),
        cmocka_unit_test(parse_short_frames),
        cmocka_unit_test(parse_every_truncation),
        cmocka_unit_test(parse_every_ip_length),
        cmocka_unit_test(parse_huge_frame),
        cmocka_unit_test(compose_ipv4_tcp_checksums),
        cmocka_unit_test(compose_udp_icmp_checksums),
        cmocka_unit_test(compose_sctp_crc32c),
        cmocka_unit_test(compose_nd_with_options),
        cmocka_unit_test(compose_fragments),
        cmocka_unit_test(compose_refuses_impossible_flows),
        cmocka_unit_test(compose_parse_round_trip),
        cmocka_unit_test(parse_compose_parse_crafted),
        cmocka_unit_test(flags_to_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
