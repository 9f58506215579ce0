/* Unit tests for common/ds.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/ds.h"

static void
empty_string_is_valid(void **state)
{
    (void) state;
    struct ds s;

    ds_init(&s);
    assert_string_equal(ds_cstr(&s), "");
    char *p = ds_steal_cstr(&s);
    assert_string_equal(p, "");
    free(p);
    assert_false(ds_chomp(&s, 'x'));
    ds_destroy(&s);
}

static void
appends_grow_past_initial_size(void **state)
{
    (void) state;
    struct ds s;
    static const uint8_t bytes[] = { 0x00, 0xab, 0xff };

    ds_init(&s);
    for (int i = 0; i < 1000; i++) {
        ds_put_format(&s, "%d,", i);
    }
    assert_true(ds_chomp(&s, ','));
    assert_int_equal(strncmp(ds_cstr(&s), "0,1,2,", 6), 0);
    assert_string_equal(ds_cstr(&s) + s.length - 4, ",999");

    ds_clear(&s);
    ds_put_cstr(&s, "x=");
    ds_put_hex(&s, bytes, sizeof bytes);
    ds_put_char(&s, '!');
    ds_put_buffer(&s, "abc", 2);
    assert_string_equal(ds_cstr(&s), "x=00abff!ab");
    ds_truncate(&s, 2);
    assert_string_equal(ds_cstr(&s), "x=");

    char big[300];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ds_put_format(&s, "%s", big);
    assert_int_equal(s.length, 2 + sizeof big - 1);
    char *p = ds_steal_cstr(&s);
    assert_int_equal(strlen(p), 2 + sizeof big - 1);
    free(p);
    assert_int_equal(s.length, 0);
    ds_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_string_is_valid),
        cmocka_unit_test(appends_grow_past_initial_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
