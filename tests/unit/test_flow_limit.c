/* Tests for privd/flow-limit.c: the seeds' dynamic flow limit rule with
 * exact numbers at every boundary (2000 ms, 1300 ms, 1000 ms, 2000 flows,
 * the n_flows * 1000 / duration growth condition, the [1000, configured]
 * clamp) and the "unreasonably long" counter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/counters.h"
#include "privd/flow-limit.h"

static struct flow_limit
fl_at(uint32_t configured, uint32_t limit)
{
    struct flow_limit fl;
    flow_limit_init(&fl, configured);
    fl.limit = limit;
    return fl;
}

static void
start_is_min_of_configured_and_10000(void **state)
{
    struct flow_limit fl;

    (void) state;
    flow_limit_init(&fl, 200000);
    assert_int_equal(fl.limit, 10000);
    assert_int_equal(fl.configured, 200000);
    flow_limit_init(&fl, 5000);
    assert_int_equal(fl.limit, 5000);
    flow_limit_init(&fl, 0);
    assert_int_equal(fl.configured, 200000);
    assert_int_equal(fl.limit, 10000);
}

static void
over_2000ms_divides_by_whole_seconds(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 2500), 5000);
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 3999), 3333);
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 2001), 5000);
}

static void
over_1300ms_takes_three_quarters(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 1301), 7500);
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 2000), 7500);
    fl = fl_at(200000, 10001);
    assert_int_equal(flow_limit_update(&fl, 50000, 1500), 7500);
}

static void
between_1000_and_1300ms_keeps(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 1300), 10000);
    assert_int_equal(flow_limit_update(&fl, 50000, 1000), 10000);
}

static void
fast_dump_grows_by_1000_only_when_needed(void **state)
{
    (void) state;
    /* 10000 < 10000 * 1000 / 500 = 20000: grow. */
    struct flow_limit fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 10000, 500), 11000);
    /* Exactly 2000 flows is not "more than 2000". */
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 2000, 1), 10000);
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 2001, 1), 11000);
    /* 3000 * 1000 / 999 = 3003 <= 10000: no need to grow. */
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 3000, 999), 10000);
    /* limit == n_flows * 1000 / duration: not below, no growth. */
    fl = fl_at(200000, 6000);
    assert_int_equal(flow_limit_update(&fl, 3000, 500), 6000);
    fl = fl_at(200000, 5999);
    assert_int_equal(flow_limit_update(&fl, 3000, 500), 6999);
}

static void
zero_duration_counts_as_one_ms(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 3000, 0), 11000);
    fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 3000, -5), 11000);
}

static void
clamped_to_1000_and_configured(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 1000);
    assert_int_equal(flow_limit_update(&fl, 100000, 10000), 1000);
    fl = fl_at(200000, 1500);
    assert_int_equal(flow_limit_update(&fl, 100000, 1400), 1125);
    assert_int_equal(flow_limit_update(&fl, 100000, 1400), 1000);
    fl = fl_at(10500, 10000);
    assert_int_equal(flow_limit_update(&fl, 100000, 100), 10500);
    assert_int_equal(flow_limit_update(&fl, 100000, 100), 10500);
}

static void
set_configured_clamps_at_once(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    flow_limit_set_configured(&fl, 5000);
    assert_int_equal(fl.limit, 5000);
    flow_limit_set_configured(&fl, 50000);
    assert_int_equal(fl.limit, 5000);
    assert_int_equal(flow_limit_update(&fl, 40000, 100), 6000);
}

static void
shrinks_then_grows_back(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    assert_int_equal(flow_limit_update(&fl, 8000, 3000), 3333);
    assert_int_equal(flow_limit_update(&fl, 8000, 1500), 2499);
    for (uint32_t want = 3499; want <= 8499; want += 1000) {
        assert_int_equal(flow_limit_update(&fl, 8000, 200), want);
    }
    /* 8499 < 8000 * 1000 / 200 = 40000: still growing, one step a dump. */
    assert_int_equal(flow_limit_update(&fl, 8000, 200), 9499);
}

static void
unreasonably_long_counted_above_2000ms(void **state)
{
    (void) state;
    struct flow_limit fl = fl_at(200000, 10000);
    uint64_t before = counter_get("dump_unreasonably_long");
    flow_limit_update(&fl, 100, 2000);
    assert_int_equal(counter_get("dump_unreasonably_long"), before);
    flow_limit_update(&fl, 100, 2001);
    assert_int_equal(counter_get("dump_unreasonably_long"), before + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_is_min_of_configured_and_10000),
        cmocka_unit_test(over_2000ms_divides_by_whole_seconds),
        cmocka_unit_test(over_1300ms_takes_three_quarters),
        cmocka_unit_test(between_1000_and_1300ms_keeps),
        cmocka_unit_test(fast_dump_grows_by_1000_only_when_needed),
        cmocka_unit_test(zero_duration_counts_as_one_ms),
        cmocka_unit_test(clamped_to_1000_and_configured),
        cmocka_unit_test(set_configured_clamps_at_once),
        cmocka_unit_test(shrinks_then_grows_back),
        cmocka_unit_test(unreasonably_long_counted_above_2000ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
