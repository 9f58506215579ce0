/* Tests for common/crc32c.c: the published check value, the RFC 3720
 * section B.4 vectors, incremental use, and the SCTP byte order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/crc32c.h"

/* The catalogue check value of CRC-32C. */
static void
crc32c_check_value(void **state)
{
    (void) state;
    assert_int_equal(crc32c("123456789", 9), 0xe3069283);
}

static void
crc32c_empty_is_zero(void **state)
{
    (void) state;
    assert_int_equal(crc32c("", 0), 0);
    assert_int_equal(crc32c_continue(0x12345678, "", 0), 0x12345678);
}

/* RFC 3720 B.4: 32 bytes of zeros, of ones, incrementing, decrementing. */
static void
crc32c_rfc3720_vectors(void **state)
{
    (void) state;
    uint8_t b[32];

    memset(b, 0, sizeof b);
    assert_int_equal(crc32c(b, sizeof b), 0x8a9136aa);
    memset(b, 0xff, sizeof b);
    assert_int_equal(crc32c(b, sizeof b), 0x62a8ab43);
    for (int i = 0; i < 32; i++) {
        b[i] = i;
    }
    assert_int_equal(crc32c(b, sizeof b), 0x46dd794e);
    for (int i = 0; i < 32; i++) {
        b[i] = 31 - i;
    }
    assert_int_equal(crc32c(b, sizeof b), 0x113fdb5c);
}

/* Splitting the input anywhere gives the same CRC. */
static void
crc32c_continue_matches_whole(void **state)
{
    (void) state;
    uint8_t b[97];
    uint32_t seed = 7;

    for (size_t i = 0; i < sizeof b; i++) {
        seed = seed * 1103515245 + 12345;
        b[i] = seed >> 16;
    }
    uint32_t whole = crc32c(b, sizeof b);
    for (size_t cut = 0; cut <= sizeof b; cut++) {
        uint32_t crc = crc32c_continue(0, b, cut);
        crc = crc32c_continue(crc, b + cut, sizeof b - cut);
        assert_int_equal(crc, whole);
    }
}

/* RFC 3720 lists the zeros vector as transmitted: aa 36 91 8a. */
static void
crc32c_put_le_byte_order(void **state)
{
    (void) state;
    uint8_t zeros[32] = { 0 };
    uint8_t out[4];

    crc32c_put_le(out, crc32c(zeros, sizeof zeros));
    assert_int_equal(out[0], 0xaa);
    assert_int_equal(out[1], 0x36);
    assert_int_equal(out[2], 0x91);
    assert_int_equal(out[3], 0x8a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_check_value),
        cmocka_unit_test(crc32c_empty_is_zero),
        cmocka_unit_test(crc32c_rfc3720_vectors),
        cmocka_unit_test(crc32c_continue_matches_whole),
        cmocka_unit_test(crc32c_put_le_byte_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
