/* Unit tests for common/nl.c: building attribute streams, nesting, and strict
 * policy parsing, each rejection checked with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/nl.h"

enum {
    T_U8 = 1, T_U16, T_U32, T_U64, T_BE32, T_FLAG, T_STR, T_BIN, T_NEST,
    T_BIN_MIN, N_T
};

static const struct nl_policy inner_policy[] = {
    [1] = { .type = NL_A_U32 },
    [2] = { .type = NL_A_U8, .optional = true },
};

static const struct nl_policy test_policy[N_T] = {
    [T_U8] = { .type = NL_A_U8, .optional = true },
    [T_U16] = { .type = NL_A_U16, .optional = true },
    [T_U32] = { .type = NL_A_U32 },
    [T_U64] = { .type = NL_A_U64, .optional = true },
    [T_BE32] = { .type = NL_A_BE32, .optional = true },
    [T_FLAG] = { .type = NL_A_FLAG, .optional = true },
    [T_STR] = { .type = NL_A_STRING, .max_len = 8, .optional = true },
    [T_BIN] = { .type = NL_A_UNSPEC, .min_len = 2, .max_len = 4,
                .optional = true },
    [T_NEST] = { .type = NL_A_NESTED, .nested = inner_policy,
                 .n_nested = ARRAY_SIZE(inner_policy), .optional = true },
    [T_BIN_MIN] = { .type = NL_A_UNSPEC, .min_len = 3, .optional = true },
};

/* A fixture: a buffer to build streams in and an errbuf. */
struct fixture {
    struct buf b;               /* Stream under construction. */
    struct errbuf eb;           /* Reason of the last failure. */
    const struct nlattr *out[N_T]; /* Parse results. */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    buf_init(&f->b, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    buf_uninit(&f->b);
    free(f);
    return 0;
}

static int
parse(struct fixture *f)
{
    memset(&f->eb, 0, sizeof f->eb);
    return nl_parse_attrs(f->b.data, f->b.size, test_policy, N_T, f->out,
                          &f->eb);
}

/* Appends a raw attribute header claiming 'nla_len' bytes, then 'n' payload
 * bytes of 'fill'. */
static void
put_raw(struct buf *b, uint16_t type, uint16_t nla_len, size_t n, int fill)
{
    struct nlattr a = { .nla_len = nla_len, .nla_type = type };
    buf_put(b, &a, sizeof a);
    memset(buf_put_uninit(b, n), fill, n);
}

static void
build_layout_and_padding(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        5, 0, T_U8, 0, 0xab, 0, 0, 0,           /* u8, padded to 8 */
        6, 0, T_U16, 0, 0x34, 0x12, 0, 0,       /* u16 host order (LE) */
        8, 0, T_U32, 0, 0x78, 0x56, 0x34, 0x12,
        8, 0, T_BE32, 0, 0x0a, 0x00, 0x00, 0x01, /* 10.0.0.1 */
        4, 0, T_FLAG, 0,
        7, 0, T_STR, 0, 'a', 'b', 0, 0,         /* "ab" + NUL, padded */
    };

    uint8_t *p = nl_put_uninit(&f->b, T_U8, 1);
    *p = 0xab;
    nl_put_u16(&f->b, T_U16, 0x1234);
    nl_put_u32(&f->b, T_U32, 0x12345678);
    nl_put_be32(&f->b, T_BE32, htonl(0x0a000001));
    nl_put_flag(&f->b, T_FLAG);
    nl_put_string(&f->b, T_STR, "ab");
    assert_int_equal(f->b.size, sizeof expected);
    assert_memory_equal(f->b.data, expected, sizeof expected);
    assert_int_equal(nl_check_stream(f->b.data, f->b.size, NULL), 0);
}

static void
build_u64_and_getters(void **state)
{
    struct fixture *f = *state;

    nl_put_u64(&f->b, T_U64, UINT64_C(0x0102030405060708));
    nl_put_u8(&f->b, T_U8, 7);
    nl_put_u16(&f->b, T_U16, 513);
    nl_put_u32(&f->b, T_U32, 70000);
    nl_put_string(&f->b, T_STR, "eth0");
    assert_int_equal(f->b.size, 12 + 8 + 8 + 8 + 12);
    assert_int_equal(parse(f), 0);
    assert_true(nl_attr_get_u64(f->out[T_U64])
                == UINT64_C(0x0102030405060708));
    assert_int_equal(nl_attr_get_u8(f->out[T_U8]), 7);
    assert_int_equal(nl_attr_get_u16(f->out[T_U16]), 513);
    assert_int_equal(nl_attr_get_u32(f->out[T_U32]), 70000);
    assert_string_equal(nl_attr_get_string(f->out[T_STR]), "eth0");
    assert_null(f->out[T_FLAG]);
}

static void
build_nest(void **state)
{
    struct fixture *f = *state;

    size_t ofs = nl_nest_start(&f->b, T_NEST);
    nl_put_u32(&f->b, 1, 42);
    nl_put_u8(&f->b, 2, 9);
    nl_nest_end(&f->b, ofs);
    nl_put_u32(&f->b, T_U32, 1);

    const struct nlattr *nest = nl_find_attr(f->b.data, f->b.size, T_NEST);
    assert_non_null(nest);
    assert_int_equal(nest->nla_len, 4 + 8 + 8);
    assert_int_equal(parse(f), 0);
    assert_ptr_equal(f->out[T_NEST], nest);

    const struct nlattr *in[ARRAY_SIZE(inner_policy)];
    assert_int_equal(nl_parse_nested(nest, inner_policy,
                                     ARRAY_SIZE(inner_policy), in, NULL), 0);
    assert_int_equal(nl_attr_get_u32(in[1]), 42);
    assert_int_equal(nl_attr_get_u8(in[2]), 9);
    assert_null(nl_find_attr(f->b.data, f->b.size, T_FLAG));
}

static void
build_nest_drop_empty(void **state)
{
    struct fixture *f = *state;

    nl_put_flag(&f->b, T_FLAG);
    size_t ofs = nl_nest_start(&f->b, T_NEST);
    nl_nest_end_or_drop_empty(&f->b, ofs);
    assert_int_equal(f->b.size, 4);

    ofs = nl_nest_start(&f->b, T_NEST);
    nl_put_u32(&f->b, 1, 5);
    nl_nest_end_or_drop_empty(&f->b, ofs);
    assert_int_equal(f->b.size, 4 + 12);

    ofs = nl_nest_start(&f->b, T_BIN);
    nl_nest_end(&f->b, ofs);
    assert_int_equal(f->b.size, 4 + 12 + 4);
}

static void
iterate_stream(void **state)
{
    struct fixture *f = *state;
    const struct nlattr *a;
    size_t left;
    int n = 0;
    uint16_t types[4];

    nl_put_u8(&f->b, T_U8, 1);
    nl_put_flag(&f->b, T_FLAG);
    nl_put_u64(&f->b, T_U64, 3);
    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) (void *) f->b.data,
                      f->b.size) {
        types[n++] = nl_attr_type(a);
    }
    assert_int_equal(n, 3);
    assert_int_equal(types[0], T_U8);
    assert_int_equal(types[1], T_FLAG);
    assert_int_equal(types[2], T_U64);
    assert_int_equal(left, 0);
}

static void
parse_empty_stream_missing_required(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg, "required attribute type 3 is missing");
}

static void
parse_unknown_type(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    nl_put_u32(&f->b, N_T, 1);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg, "unknown attribute type 11");
}

static void
parse_unused_slot_is_unknown(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, 0, 1);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg, "unknown attribute type 0");
}

static void
parse_duplicate(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    nl_put_u8(&f->b, T_U8, 1);
    nl_put_u32(&f->b, T_U32, 2);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg, "duplicate attribute type 3");
}

static void
parse_wrong_fixed_length(void **state)
{
    struct fixture *f = *state;

    nl_put_u16(&f->b, T_U32, 1);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 3 (u32) has 2 bytes, expected 4");
}

static void
parse_flag_with_payload(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    nl_put_u8(&f->b, T_FLAG, 1);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 6 (flag) has 1 bytes, expected 0");
}

static void
parse_binary_length_bounds(void **state)
{
    struct fixture *f = *state;
    static const uint8_t five[5] = { 0 };

    nl_put_u32(&f->b, T_U32, 1);
    size_t base = f->b.size;
    nl_put_attr(&f->b, T_BIN, five, 1);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 8 has 1 bytes, outside [2, 4]");

    f->b.size = base;
    nl_put_attr(&f->b, T_BIN, five, 5);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 8 has 5 bytes, outside [2, 4]");

    f->b.size = base;
    nl_put_attr(&f->b, T_BIN, five, 4);
    assert_int_equal(parse(f), 0);
    assert_int_equal(nl_attr_get_size(f->out[T_BIN]), 4);

    f->b.size = base;
    nl_put_attr(&f->b, T_BIN_MIN, five, 2);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 10 has 2 bytes, at least 3 expected");
}

static void
parse_string_without_nul(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    size_t base = f->b.size;
    nl_put_attr(&f->b, T_STR, "abc", 3);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 7 is not a NUL-terminated string");

    f->b.size = base;
    nl_put_attr(&f->b, T_STR, "a\0c", 4);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 7 is not a NUL-terminated string");

    f->b.size = base;
    nl_put_attr(&f->b, T_STR, "", 0);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 7 is not a NUL-terminated string");
}

static void
parse_string_too_long(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    nl_put_string(&f->b, T_STR, "12345678");
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 7 has 9 bytes, outside [0, 8]");
}

static void
parse_truncated_attribute(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    put_raw(&f->b, T_U64, 12, 4, 0);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 4 has length 12 but 8 bytes remain");
}

static void
parse_length_shorter_than_header(void **state)
{
    struct fixture *f = *state;

    put_raw(&f->b, T_U32, 3, 4, 0);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 3 has length 3, shorter than its "
                        "header");
}

static void
parse_trailing_bytes(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    buf_put_zeros(&f->b, 2);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "2 trailing bytes after the last attribute");
    assert_int_equal(nl_check_stream(f->b.data, f->b.size, NULL), EINVAL);
}

static void
parse_last_attribute_without_padding(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    nl_put_u8(&f->b, T_U8, 0x5a);
    f->b.size -= 3;             /* Drop the final padding. */
    assert_int_equal(parse(f), 0);
    assert_int_equal(nl_attr_get_u8(f->out[T_U8]), 0x5a);
}

static void
parse_misaligned_stream(void **state)
{
    struct fixture *f = *state;

    buf_put_zeros(&f->b, 1);
    nl_put_u32(&f->b, T_U32, 1);
    memset(&f->eb, 0, sizeof f->eb);
    assert_int_equal(nl_parse_attrs(f->b.data + 1, f->b.size - 1,
                                    test_policy, N_T, f->out, &f->eb),
                     EINVAL);
    assert_string_equal(f->eb.msg, "misaligned attribute stream");
}

static void
parse_nested_errors_are_prefixed(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, T_U32, 1);
    size_t base = f->b.size;
    size_t ofs = nl_nest_start(&f->b, T_NEST);
    nl_put_u32(&f->b, 1, 1);
    nl_put_u8(&f->b, 2, 1);
    nl_put_u8(&f->b, 2, 2);
    nl_nest_end(&f->b, ofs);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "in nested attribute type 9: duplicate attribute "
                        "type 2");

    f->b.size = base;
    ofs = nl_nest_start(&f->b, T_NEST);
    nl_put_u8(&f->b, 2, 1);
    nl_nest_end(&f->b, ofs);
    assert_int_equal(parse(f), EINVAL);
    assert_string_equal(f->eb.msg,
                        "in nested attribute type 9: required attribute "
                        "type 1 is missing");
}

/* A policy that nests into itself, to probe the depth limit. */
static const struct nl_policy recursive_policy[2];
static const struct nl_policy recursive_policy[2] = {
    [1] = { .type = NL_A_NESTED, .nested = recursive_policy,
            .n_nested = 2, .optional = true },
};

static void
build_deep_nest(struct buf *b, int levels)
{
    size_t ofs[NL_MAX_DEPTH + 2];
    for (int i = 0; i < levels; i++) {
        ofs[i] = nl_nest_start(b, 1);
    }
    for (int i = levels - 1; i >= 0; i--) {
        nl_nest_end(b, ofs[i]);
    }
}

static void
parse_nesting_depth_limit(void **state)
{
    struct fixture *f = *state;
    const struct nlattr *out[2];

    build_deep_nest(&f->b, NL_MAX_DEPTH);
    assert_int_equal(nl_parse_attrs(f->b.data, f->b.size, recursive_policy,
                                    2, out, &f->eb), 0);

    buf_clear(&f->b);
    build_deep_nest(&f->b, NL_MAX_DEPTH + 1);
    assert_int_equal(nl_parse_attrs(f->b.data, f->b.size, recursive_policy,
                                    2, out, &f->eb), EINVAL);
    assert_non_null(strstr(f->eb.msg, "in nested attribute type 1: "));
    assert_non_null(strstr(f->eb.msg, "attributes nested deeper than 8"));
}

static void
parse_nested_without_policy_checks_length_only(void **state)
{
    static const struct nl_policy opaque[] = {
        [1] = { .type = NL_A_NESTED, .min_len = 4 },
    };
    struct fixture *f = *state;
    const struct nlattr *out[1 + 1];

    nl_put_attr(&f->b, 1, "\xff\xff\xff\xff", 4);
    assert_int_equal(nl_parse_attrs(f->b.data, f->b.size, opaque, 2, out,
                                    &f->eb), 0);
    buf_clear(&f->b);
    nl_nest_end(&f->b, nl_nest_start(&f->b, 1));
    assert_int_equal(nl_parse_attrs(f->b.data, f->b.size, opaque, 2, out,
                                    &f->eb), EINVAL);
    assert_string_equal(f->eb.msg,
                        "attribute type 1 has 0 bytes, at least 4 expected");
}

static void
parse_null_errbuf(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, N_T + 5, 1);
    assert_int_equal(nl_parse_attrs(f->b.data, f->b.size, test_policy, N_T,
                                    f->out, NULL), EINVAL);
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(build_layout_and_padding),
        T(build_u64_and_getters),
        T(build_nest),
        T(build_nest_drop_empty),
        T(iterate_stream),
        T(parse_empty_stream_missing_required),
        T(parse_unknown_type),
        T(parse_unused_slot_is_unknown),
        T(parse_duplicate),
        T(parse_wrong_fixed_length),
        T(parse_flag_with_payload),
        T(parse_binary_length_bounds),
        T(parse_string_without_nul),
        T(parse_string_too_long),
        T(parse_truncated_attribute),
        T(parse_length_shorter_than_header),
        T(parse_trailing_bytes),
        T(parse_last_attribute_without_padding),
        T(parse_misaligned_stream),
        T(parse_nested_errors_are_prefixed),
        T(parse_nesting_depth_limit),
        T(parse_nested_without_policy_checks_length_only),
        T(parse_null_errbuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
