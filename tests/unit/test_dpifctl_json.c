/* test_dpifctl_json.c — cli/json.c, the JSON writer of dpifctl, and the
 * strict checker the other dpifctl tests validate output with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/json.h"
#include "json_check.h"

static void
assert_valid(const char *s)
{
    char why[128] = "";
    if (!json_check(s, strlen(s), why, sizeof why)) {
        fail_msg("invalid JSON (%s):\n%s", why, s);
    }
}

static void
json_writer_nests_and_indents(void **state)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    struct json_writer jw;

    json_init(&jw, &out);
    json_begin_object(&jw);
    json_member_string(&jw, "name", "dp0");
    json_member_uint(&jw, "big", UINT64_MAX);
    json_member_int(&jw, "neg", INT64_MIN);
    json_member_bool(&jw, "yes", true);
    json_member_null(&jw, "none");
    json_key(&jw, "empty");
    json_begin_array(&jw);
    json_end_array(&jw);
    json_key(&jw, "list");
    json_begin_array(&jw);
    json_uint(&jw, 1);
    json_begin_object(&jw);
    json_end_object(&jw);
    json_hex(&jw, "\x01\xab", 2);
    json_end_array(&jw);
    json_end_object(&jw);
    assert_string_equal(ds_cstr(&out),
        "{\n"
        "  \"name\": \"dp0\",\n"
        "  \"big\": 18446744073709551615,\n"
        "  \"neg\": -9223372036854775808,\n"
        "  \"yes\": true,\n"
        "  \"none\": null,\n"
        "  \"empty\": [],\n"
        "  \"list\": [\n"
        "    1,\n"
        "    {},\n"
        "    \"01ab\"\n"
        "  ]\n"
        "}\n");
    assert_valid(ds_cstr(&out));
    ds_destroy(&out);
}

static void
json_writer_escapes_controls_quotes_and_backslashes(void **state)
{
    struct ds out = DS_EMPTY_INITIALIZER;

    json_put_string(&out, "a\"b\\c\n\t\r\b\f\x01\x1b\x7f/", 14);
    assert_string_equal(ds_cstr(&out),
                        "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001b\\u007f/\"");
    assert_valid(ds_cstr(&out));
    ds_destroy(&out);
}

static void
json_writer_keeps_nul_inside_counted_strings(void **state)
{
    struct ds out = DS_EMPTY_INITIALIZER;

    json_put_string(&out, "a\0b", 3);
    assert_string_equal(ds_cstr(&out), "\"a\\u0000b\"");
    ds_destroy(&out);
}

static void
json_writer_passes_valid_utf8(void **state)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    /* é, €, U+1F600, U+10FFFF */
    const char *s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";

    json_put_string(&out, s, strlen(s));
    assert_int_equal(out.length, strlen(s) + 2);
    assert_memory_equal(ds_cstr(&out) + 1, s, strlen(s));
    assert_valid(ds_cstr(&out));
    ds_destroy(&out);
}

static void
json_writer_replaces_invalid_utf8(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "\xff", "\"\\ufffd\"" },                 /* Never valid. */
        { "\x80x", "\"\\ufffdx\"" },               /* Stray continuation. */
        { "\xc0\xaf", "\"\\ufffd\\ufffd\"" },      /* Overlong '/'. */
        { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" }, /* Surrogate. */
        { "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
        { "\xe2\x82", "\"\\ufffd\\ufffd\"" },      /* Cut short. */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ds out = DS_EMPTY_INITIALIZER;
        json_put_string(&out, cases[i].in, strlen(cases[i].in));
        assert_string_equal(ds_cstr(&out), cases[i].out);
        assert_valid(ds_cstr(&out));
        ds_destroy(&out);
    }
}

static void
json_writer_streams_across_flushes(void **state)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    struct ds all = DS_EMPTY_INITIALIZER;
    struct json_writer jw;

    json_init(&jw, &out);
    json_begin_object(&jw);
    json_key(&jw, "flows");
    json_begin_array(&jw);
    json_uint(&jw, 1);
    ds_put_cstr(&all, ds_cstr(&out));
    ds_clear(&out);
    json_uint(&jw, 2);
    json_end_array(&jw);
    json_end_object(&jw);
    ds_put_cstr(&all, ds_cstr(&out));
    assert_string_equal(ds_cstr(&all),
                        "{\n  \"flows\": [\n    1,\n    2\n  ]\n}\n");
    ds_destroy(&out);
    ds_destroy(&all);
}

static void
json_check_rejects_what_rfc8259_forbids(void **state)
{
    static const char *const bad[] = {
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "+1", "1e",
        "\"\x01\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "tru",
        "{\"a\":1,\"a\":2}", "[1] x", "\"\xff\"", "{a:1}", "'a'", "NaN",
    };
    static const char *const good[] = {
        "0", "-0.5e+10", "\"\\ud83d\\ude00\"", "{\"a\":[true,false,null]}",
        " [ ] ", "\"\xc3\xa9\"",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(json_check(bad[i], strlen(bad[i]), NULL, 0));
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_valid(good[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_writer_nests_and_indents),
        cmocka_unit_test(json_writer_escapes_controls_quotes_and_backslashes),
        cmocka_unit_test(json_writer_keeps_nul_inside_counted_strings),
        cmocka_unit_test(json_writer_passes_valid_utf8),
        cmocka_unit_test(json_writer_replaces_invalid_utf8),
        cmocka_unit_test(json_writer_streams_across_flushes),
        cmocka_unit_test(json_check_rejects_what_rfc8259_forbids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
