/* Unit tests for privd/emc.c: caching of classifier hits, invalidation on
 * removal (with the removed rules really freed, for the sanitizer build),
 * flush, and agreement with the classifier under churn (fixed seed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/flow.h"
#include "common/util.h"
#include "privd/classifier.h"
#include "privd/emc.h"

/* A caller's flow record, heap-allocated one by one as a datapath does. */
struct test_flow {
    struct cls_rule cr;         /* In the classifier. */
    unsigned int id;            /* Caller's identity for the flow. */
};

/* Fixture: a classifier and an EMC in front of it. */
struct fixture {
    struct classifier cls;      /* Behind the cache. */
    struct emc *emc;            /* Under test; owned. */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    classifier_init_seeded(&fx->cls, 0xe3c);
    fx->emc = emc_create(&fx->cls);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    struct cls_rule *rule, *next;

    emc_destroy(fx->emc);
    CLASSIFIER_FOR_EACH_SAFE (rule, next, &fx->cls) {
        classifier_remove(&fx->cls, rule);
        free(CONTAINER_OF(rule, struct test_flow, cr));
    }
    classifier_destroy(&fx->cls);
    free(fx);
    return 0;
}

/* The flow of a TCP packet of connection 'conn' from port 'in_port'. */
static void
make_packet(struct flow *f, uint32_t in_port, uint32_t conn)
{
    memset(f, 0, sizeof *f);
    f->in_port = in_port;
    f->dl_type = htons(0x0800);
    f->nw_src = htonl(0x0a000000u | (conn >> 8));
    f->nw_dst = htonl(0x0a010000u | (conn & 0xff));
    f->nw_proto = 6;
    f->nw_ttl = 64;
    f->tp_src = htons((uint16_t) (1024 + conn % 1000));
    f->tp_dst = htons(80);
}

/* A megaflow matching in_port and nw_dst/24: every connection of a port. */
static struct test_flow *
add_port_flow(struct fixture *fx, uint32_t in_port, unsigned int id)
{
    struct test_flow *tf = xzalloc(sizeof *tf);
    struct flow key, mask;

    make_packet(&key, in_port, 0);
    memset(&mask, 0, sizeof mask);
    mask.in_port = UINT32_MAX;
    mask.dl_type = UINT16_MAX;
    mask.nw_dst = htonl(0xffffff00u);
    tf->id = id;
    assert_int_equal(classifier_insert(&fx->cls, &tf->cr, &key, &mask), 0);
    return tf;
}

static void
remove_flow(struct fixture *fx, struct test_flow *tf)
{
    classifier_remove(&fx->cls, &tf->cr);
    free(tf);
}

static void
emc_second_lookup_hits_cache(void **state)
{
    struct fixture *fx = *state;
    struct emc_stats stats;
    unsigned int n_searched;
    struct test_flow *tf;
    struct flow pkt;

    add_port_flow(fx, 1, 1);
    add_port_flow(fx, 2, 2);
    tf = add_port_flow(fx, 3, 3);
    make_packet(&pkt, 3, 42);

    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 1);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 0);

    emc_get_stats(fx->emc, &stats);
    assert_int_equal(stats.n_hit, 1);
    assert_int_equal(stats.n_miss, 1);
    assert_int_equal(stats.n_insert, 1);
}

static void
emc_classifier_miss_is_not_cached(void **state)
{
    struct fixture *fx = *state;
    struct emc_stats stats;
    unsigned int n_searched;
    struct flow pkt;

    add_port_flow(fx, 1, 1);
    make_packet(&pkt, 9, 42);
    for (int i = 0; i < 2; i++) {
        assert_null(emc_lookup(fx->emc, &pkt, &n_searched));
        assert_int_equal(n_searched, 1);
    }
    emc_get_stats(fx->emc, &stats);
    assert_int_equal(stats.n_hit, 0);
    assert_int_equal(stats.n_miss, 2);
    assert_int_equal(stats.n_insert, 0);
}

static void
emc_removal_invalidates_freed_rule(void **state)
{
    struct fixture *fx = *state;
    unsigned int n_searched;
    struct test_flow *tf;
    struct flow pkt;

    tf = add_port_flow(fx, 5, 5);
    make_packet(&pkt, 5, 7);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, NULL), &tf->cr);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 0);

    /* Freed: a stale entry that dereferenced it would trip ASan. */
    remove_flow(fx, tf);
    assert_null(emc_lookup(fx->emc, &pkt, &n_searched));
    assert_int_equal(n_searched, 0);    /* No subtable left. */

    /* A new flow for the same packet is found, not the old pointer. */
    tf = add_port_flow(fx, 5, 6);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 1);
}

static void
emc_removal_of_other_flows_keeps_entry(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *keep, *other[CLS_REMOVED_LOG + 1];
    unsigned int n_searched;
    struct flow pkt;

    keep = add_port_flow(fx, 1000, 1000);
    for (unsigned int i = 0; i < ARRAY_SIZE(other); i++) {
        other[i] = add_port_flow(fx, i, i);
    }
    make_packet(&pkt, 1000, 1);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, NULL), &keep->cr);

    /* Up to CLS_REMOVED_LOG removals of other flows: still cached. */
    for (unsigned int i = 0; i < CLS_REMOVED_LOG; i++) {
        remove_flow(fx, other[i]);
    }
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &keep->cr);
    assert_int_equal(n_searched, 0);

    /* The hit re-stamped the entry: one more removal is within the log. */
    remove_flow(fx, other[CLS_REMOVED_LOG]);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &keep->cr);
    assert_int_equal(n_searched, 0);
}

static void
emc_entry_older_than_removal_log_is_stale(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *keep;
    unsigned int n_searched;
    struct flow pkt;

    keep = add_port_flow(fx, 1000, 1000);
    make_packet(&pkt, 1000, 1);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, NULL), &keep->cr);

    for (unsigned int i = 0; i <= CLS_REMOVED_LOG; i++) {
        remove_flow(fx, add_port_flow(fx, i, i));
    }
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &keep->cr);
    assert_int_equal(n_searched, 1);
}

static void
emc_insertion_keeps_cache_valid(void **state)
{
    struct fixture *fx = *state;
    unsigned int n_searched;
    struct test_flow *tf;
    struct flow pkt;

    tf = add_port_flow(fx, 1, 1);
    make_packet(&pkt, 1, 3);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, NULL), &tf->cr);

    add_port_flow(fx, 2, 2);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 0);
}

static void
emc_flush_empties_cache(void **state)
{
    struct fixture *fx = *state;
    unsigned int n_searched;
    struct test_flow *tf;
    struct flow pkt;

    tf = add_port_flow(fx, 1, 1);
    make_packet(&pkt, 1, 3);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, NULL), &tf->cr);
    emc_flush(fx->emc);
    assert_ptr_equal(emc_lookup(fx->emc, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 1);
}

/* More connections than entries, megaflows added and removed (and freed) at
 * random: the EMC always answers what the classifier answers. */
static void
emc_agrees_with_classifier_under_churn(void **state)
{
    enum { N_PORTS = 64 };
    struct fixture *fx = *state;
    struct test_flow *flows[N_PORTS] = { NULL };
    struct emc_stats stats;
    uint64_t rng = 0x1234567u;
    unsigned int next_id = 1;

    for (int iter = 0; iter < 100000; iter++) {
        uint32_t port, conn;
        struct flow pkt;

        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        port = (uint32_t) (rng >> 58);              /* 0..63 */
        conn = (uint32_t) (rng >> 20) % (4 * EMC_ENTRIES);
        if ((rng >> 40) % 200 == 0) {
            if (flows[port]) {
                remove_flow(fx, flows[port]);
                flows[port] = NULL;
            } else {
                flows[port] = add_port_flow(fx, port, next_id++);
            }
        }
        /* Skewed traffic: most packets from 2048 connections. */
        if ((rng >> 30) % 4) {
            conn %= 32;
        }
        make_packet(&pkt, port, conn);

        struct cls_rule *got = emc_lookup(fx->emc, &pkt, NULL);
        assert_ptr_equal(got, flows[port] ? &flows[port]->cr : NULL);
        assert_ptr_equal(got, classifier_lookup(&fx->cls, &pkt, NULL));
    }
    emc_get_stats(fx->emc, &stats);
    assert_true(stats.n_hit > 10000);
    assert_true(stats.n_evict > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(emc_second_lookup_hits_cache),
        T(emc_classifier_miss_is_not_cached),
        T(emc_removal_invalidates_freed_rule),
        T(emc_removal_of_other_flows_keeps_entry),
        T(emc_entry_older_than_removal_log_is_stale),
        T(emc_insertion_keeps_cache_valid),
        T(emc_flush_empties_cache),
        T(emc_agrees_with_classifier_under_churn),
#undef T
    };
    return cmocka_run_group_tests_name("emc", tests, NULL, NULL);
}
