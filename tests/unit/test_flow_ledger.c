/* Unit tests for privd/flow-ledger.c: budgets per datapath and owner,
 * entries charged, resized and released, reconciliation against the flows
 * that still exist, and a table that stays correct through growth and
 * backward-shift deletion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/counters.h"
#include "privd/flow-ledger.h"

static union ufid
make_ufid(uint32_t i)
{
    union ufid u;
    memset(&u, 0, sizeof u);
    memcpy(&u, &i, sizeof i);
    return u;
}

static void
budgets_from_flow_limit(void **state)
{
    uint64_t dp, worker;

    (void) state;
    flow_ledger_budgets(1000, 1, &dp, &worker);
    assert_int_equal(dp, 1000 * FLOW_LEDGER_BYTES_PER_FLOW);
    assert_int_equal(worker, dp);
    flow_ledger_budgets(1000, 4, &dp, &worker);
    assert_int_equal(worker, dp / 2);
}

static void
charge_check_release(void **state)
{
    struct flow_ledger *l = flow_ledger_create(1000, 600, 2);
    struct errbuf eb = { "" };
    union ufid a = make_ufid(1), b = make_ufid(2), c = make_ufid(3);

    (void) state;
    assert_int_equal(flow_ledger_check(l, 0, 500, 0, &eb), 0);
    flow_ledger_charge(l, &a, 0, 500);
    /* Owner 0 may not pass its 600, the datapath not its 1000. */
    assert_int_equal(flow_ledger_check(l, 0, 101, 0, &eb), ENOSPC);
    assert_non_null(strstr(eb.msg, "handler 0"));
    assert_int_equal(flow_ledger_check(l, 0, 100, 0, &eb), 0);
    assert_int_equal(flow_ledger_check(l, 1, 500, 0, &eb), 0);
    assert_int_equal(flow_ledger_check(l, 1, 400, 200, &eb), ENOSPC);
    flow_ledger_charge(l, &b, 1, 500);
    assert_int_equal(flow_ledger_check(l, 1, 1, 0, &eb), ENOSPC);
    assert_non_null(strstr(eb.msg, "of the datapath"));
    assert_int_equal(flow_ledger_bytes(l), 1000);
    assert_int_equal(flow_ledger_owner_bytes(l, 1), 500);

    /* Charging a UFID again replaces its entry. */
    flow_ledger_charge(l, &b, 1, 300);
    assert_int_equal(flow_ledger_bytes(l), 800);
    assert_int_equal(flow_ledger_count(l), 2);
    flow_ledger_resize(l, &a, 100);
    flow_ledger_resize(l, &c, 999);       /* No entry: nothing. */
    assert_int_equal(flow_ledger_owner_bytes(l, 0), 100);
    assert_int_equal(flow_ledger_bytes(l), 400);
    flow_ledger_release(l, &a);
    flow_ledger_release(l, &c);
    assert_int_equal(flow_ledger_bytes(l), 300);
    assert_int_equal(flow_ledger_owner_bytes(l, 0), 0);
    assert_false(flow_ledger_contains(l, &a));
    assert_true(flow_ledger_contains(l, &b));
    flow_ledger_destroy(l);
}

/* Entries with even numbers exist. */
static bool
even_exists(const union ufid *u, void *aux)
{
    uint32_t i;
    (void) aux;
    memcpy(&i, u, sizeof i);
    return i % 2 == 0;
}

static void
many_entries_and_reconcile(void **state)
{
    struct flow_ledger *l = flow_ledger_create(UINT64_MAX, UINT64_MAX, 1);
    uint64_t stale = counter_get("flow_ledger_stale");

    (void) state;
    for (uint32_t i = 0; i < 5000; i++) {
        union ufid u = make_ufid(i);
        flow_ledger_charge(l, &u, 0, 10);
    }
    assert_int_equal(flow_ledger_count(l), 5000);
    assert_int_equal(flow_ledger_bytes(l), 50000);
    /* The datapath holds as many flows as entries, and the last
     * reconciliation is recent: not walked. */
    assert_int_equal(flow_ledger_reconcile(l, 5000, even_exists, NULL), 2500);
    assert_int_equal(flow_ledger_reconcile(l, 5000, even_exists, NULL), 0);
    /* Fewer flows than entries: walked at once. */
    assert_int_equal(flow_ledger_reconcile(l, 0, even_exists, NULL), 0);
    assert_int_equal(counter_get("flow_ledger_stale"), stale + 2500);
    assert_int_equal(flow_ledger_count(l), 2500);
    for (uint32_t i = 0; i < 5000; i++) {
        union ufid u = make_ufid(i);
        assert_int_equal(flow_ledger_contains(l, &u), i % 2 == 0);
    }
    for (uint32_t i = 0; i < 5000; i += 4) {
        union ufid u = make_ufid(i);
        flow_ledger_release(l, &u);
    }
    for (uint32_t i = 0; i < 5000; i++) {
        union ufid u = make_ufid(i);
        assert_int_equal(flow_ledger_contains(l, &u), i % 4 == 2);
    }
    assert_int_equal(flow_ledger_bytes(l), 1250 * 10);
    flow_ledger_destroy(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(budgets_from_flow_limit),
        cmocka_unit_test(charge_check_release),
        cmocka_unit_test(many_entries_and_reconcile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
