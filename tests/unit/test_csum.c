/* Tests for common/csum.c: known checksums and incremental updates that
 * must agree with a full recomputation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "common/csum.h"

/* RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (before ~). */
static void
csum_rfc1071_example(void **state)
{
    (void) state;
    static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03,
                                    0xf4, 0xf5, 0xf6, 0xf7 };
    assert_int_equal(ntohs(csum(data, sizeof data)), (uint16_t) ~0xddf2);
}

/* A real IPv4 header (checksum field zero) and its known checksum. */
static void
csum_ipv4_header(void **state)
{
    (void) state;
    uint8_t hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
                        0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
                        0xc0, 0xa8, 0x00, 0xc7 };
    assert_int_equal(ntohs(csum(hdr, sizeof hdr)), 0xb861);
    /* A header with its checksum in place sums to zero. */
    hdr[10] = 0xb8;
    hdr[11] = 0x61;
    assert_int_equal(csum(hdr, sizeof hdr), 0);
}

static void
csum_odd_length(void **state)
{
    (void) state;
    static const uint8_t data[] = { 0x01, 0x02, 0x03 };
    /* 0x0102 + 0x0300 = 0x0402 */
    assert_int_equal(ntohs(csum(data, sizeof data)), (uint16_t) ~0x0402);
}

static void
csum_incremental_matches_full(void **state)
{
    (void) state;
    uint8_t hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
                        0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
                        0xc0, 0xa8, 0x00, 0xc7 };
    uint32_t seed = 12345;

    for (int i = 0; i < 1000; i++) {
        memset(hdr + 10, 0, 2);
        ovs_be16 c = csum(hdr, sizeof hdr);

        ovs_be32 old_addr, new_addr;
        memcpy(&old_addr, hdr + 12, 4);
        seed = seed * 1103515245 + 12345;
        new_addr = seed;
        memcpy(hdr + 12, &new_addr, 4);
        ovs_be16 updated = csum_update32(c, old_addr, new_addr);

        ovs_be16 old16, new16;
        memcpy(&old16, hdr + 8, 2);
        new16 = (ovs_be16) (seed >> 16);
        memcpy(hdr + 8, &new16, 2);
        updated = csum_update16(updated, old16, new16);

        memset(hdr + 10, 0, 2);
        ovs_be16 full = csum(hdr, sizeof hdr);
        /* 0x0000 and 0xffff are the same value in one's complement. */
        if (full == 0xffff || full == 0) {
            assert_true(updated == 0xffff || updated == 0);
        } else {
            assert_int_equal(updated, full);
        }
    }
}

static void
csum_update128_matches_full(void **state)
{
    (void) state;
    uint8_t block[40];
    for (size_t i = 0; i < sizeof block; i++) {
        block[i] = (uint8_t) (i * 7 + 3);
    }
    ovs_be16 c = csum(block, sizeof block);
    uint8_t old[16], new_val[16];
    memcpy(old, block + 8, 16);
    for (int i = 0; i < 16; i++) {
        new_val[i] = (uint8_t) (0xa5 ^ i);
    }
    memcpy(block + 8, new_val, 16);
    assert_int_equal(csum_update128(c, old, new_val), csum(block, sizeof block));
}

static void
csum_pseudo_headers(void **state)
{
    (void) state;
    /* UDP over IPv4: pseudo + segment with its checksum sums to zero. */
    uint8_t udp[12] = { 0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0c, 0x00, 0x00,
                        'a', 'b', 'c', 'd' };
    ovs_be32 src = htonl(0x0a000001), dst = htonl(0x0a000002);
    uint32_t p = csum_pseudo_ipv4(src, dst, 17, sizeof udp);
    ovs_be16 c = csum_finish(csum_continue(p, udp, sizeof udp));
    memcpy(udp + 6, &c, 2);
    assert_int_equal(csum_finish(csum_continue(p, udp, sizeof udp)), 0);

    uint8_t s6[16] = { 0xfe, 0x80 }, d6[16] = { 0xfe, 0x80, [15] = 1 };
    memset(udp + 6, 0, 2);
    p = csum_pseudo_ipv6(s6, d6, 17, sizeof udp);
    c = csum_finish(csum_continue(p, udp, sizeof udp));
    memcpy(udp + 6, &c, 2);
    assert_int_equal(csum_finish(csum_continue(p, udp, sizeof udp)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csum_rfc1071_example),
        cmocka_unit_test(csum_ipv4_header),
        cmocka_unit_test(csum_odd_length),
        cmocka_unit_test(csum_incremental_matches_full),
        cmocka_unit_test(csum_update128_matches_full),
        cmocka_unit_test(csum_pseudo_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
