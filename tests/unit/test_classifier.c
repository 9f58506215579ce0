/* Unit tests for privd/classifier.c: insertion, identity, lookup semantics,
 * mask collapse, iteration, statistics, ranking, and randomised comparison
 * against a linear reference (fixed seeds). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/flow.h"
#include "common/util.h"
#include "privd/classifier.h"

/* A caller's flow record: the classifier rule embedded, plus what a
 * datapath would keep (here the original key and an id). */
struct test_flow {
    struct cls_rule cr;         /* In the classifier while 'inserted'. */
    struct flow key;            /* Original key, unmasked. */
    struct flow mask;           /* Mask it was inserted with. */
    size_t id;                  /* Index in the fixture's array. */
    bool inserted;              /* True while in the classifier. */
};

/* Deterministic xorshift64* generator: every random test has a fixed seed. */
static uint64_t
rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rng_range(uint64_t *state, uint32_t n)
{
    return (uint32_t) ((rng_next(state) >> 32) % n);
}

static ovs_be32
prefix_mask(unsigned int plen)
{
    return plen ? htonl(~0u << (32 - plen)) : 0;
}

/* The palette of realistic megaflow masks. */
enum {
    MASK_L2_DST,        /* in_port, dl_dst: L2 learning. */
    MASK_L2_FULL,       /* in_port, dl_src, dl_dst, dl_type. */
    MASK_NW_DST24,      /* dl_type, nw_dst/24: routing. */
    MASK_NW_DST16,      /* dl_type, nw_dst/16. */
    MASK_NW_SRC8_DST32, /* dl_type, nw_src/8, nw_dst/32. */
    MASK_L4_DST,        /* dl_type, nw_proto, nw_dst/32, tp_dst. */
    MASK_5TUPLE,        /* dl_type, nw_src, nw_dst, nw_proto, tp_src/dst. */
    MASK_PORT_PROTO,    /* in_port, dl_type, nw_proto. */
    MASK_RECIRC,        /* recirc_id, in_port, dl_type, nw_dst/24, tp_dst. */
    MASK_DL_TYPE,       /* dl_type. */
    MASK_IN_PORT,       /* in_port. */
    MASK_EXACT,         /* Every bit. */
    N_MASKS
};

static void
palette_mask(unsigned int which, struct flow *m)
{
    memset(m, 0, sizeof *m);
    switch (which) {
    case MASK_L2_DST:
        m->in_port = UINT32_MAX;
        memset(&m->dl_dst, 0xff, sizeof m->dl_dst);
        break;
    case MASK_L2_FULL:
        m->in_port = UINT32_MAX;
        memset(&m->dl_src, 0xff, sizeof m->dl_src);
        memset(&m->dl_dst, 0xff, sizeof m->dl_dst);
        m->dl_type = UINT16_MAX;
        break;
    case MASK_NW_DST24:
        m->dl_type = UINT16_MAX;
        m->nw_dst = prefix_mask(24);
        break;
    case MASK_NW_DST16:
        m->dl_type = UINT16_MAX;
        m->nw_dst = prefix_mask(16);
        break;
    case MASK_NW_SRC8_DST32:
        m->dl_type = UINT16_MAX;
        m->nw_src = prefix_mask(8);
        m->nw_dst = prefix_mask(32);
        break;
    case MASK_L4_DST:
        m->dl_type = UINT16_MAX;
        m->nw_proto = UINT8_MAX;
        m->nw_dst = prefix_mask(32);
        m->tp_dst = UINT16_MAX;
        break;
    case MASK_5TUPLE:
        m->dl_type = UINT16_MAX;
        m->nw_src = m->nw_dst = prefix_mask(32);
        m->nw_proto = UINT8_MAX;
        m->tp_src = m->tp_dst = UINT16_MAX;
        break;
    case MASK_PORT_PROTO:
        m->in_port = UINT32_MAX;
        m->dl_type = UINT16_MAX;
        m->nw_proto = UINT8_MAX;
        break;
    case MASK_RECIRC:
        m->recirc_id = UINT32_MAX;
        m->in_port = UINT32_MAX;
        m->dl_type = UINT16_MAX;
        m->nw_dst = prefix_mask(24);
        m->tp_dst = UINT16_MAX;
        break;
    case MASK_DL_TYPE:
        m->dl_type = UINT16_MAX;
        break;
    case MASK_IN_PORT:
        m->in_port = UINT32_MAX;
        break;
    default:
        flow_mask_exact(m);
        break;
    }
}

/* A random flow from small value domains, so that random rules and random
 * packets meet often.  Every field a palette mask reads is set, and so are a
 * few that none reads (nw_ttl, skb_mark).  Rule keys come from the narrow
 * domains; 'wide' packets may also have in_port, recirc_id and dl_type
 * values that no rule has, so that lookups miss often enough too. */
static void
random_flow_in(uint64_t *rng, struct flow *f, bool wide)
{
    static const uint16_t dl_types[] = { 0x0800, 0x0806, 0x86dd, 0x88cc };
    static const uint8_t protos[] = { 1, 6, 17 };
    static const uint16_t ports[] = { 22, 53, 80, 443 };

    memset(f, 0, sizeof *f);
    f->in_port = 1 + rng_range(rng, wide ? 8 : 4);
    f->recirc_id = rng_range(rng, wide ? 4 : 2);
    f->skb_mark = (uint32_t) rng_next(rng);
    f->dl_src.ea[5] = (uint8_t) rng_range(rng, 8);
    f->dl_dst.ea[5] = (uint8_t) rng_range(rng, 8);
    f->dl_type = htons(dl_types[rng_range(rng, wide ? 4 : 3)]);
    f->nw_src = htonl(0x0a000000u | rng_range(rng, 4) << 8 | rng_range(rng, 8));
    f->nw_dst = htonl(0x0a000000u | rng_range(rng, 4) << 8 | rng_range(rng, 8));
    f->nw_proto = protos[rng_range(rng, ARRAY_SIZE(protos))];
    f->nw_ttl = (uint8_t) rng_next(rng);
    f->tp_src = htons(ports[rng_range(rng, ARRAY_SIZE(ports))]);
    f->tp_dst = htons(ports[rng_range(rng, ARRAY_SIZE(ports))]);
}

static void
random_flow(uint64_t *rng, struct flow *f)
{
    random_flow_in(rng, f, false);
}

static void
random_packet(uint64_t *rng, struct flow *f)
{
    random_flow_in(rng, f, true);
}

/* Linear reference: does megaflow (key, mask) match 'pkt'? */
static bool
ref_matches(const struct test_flow *tf, const struct flow *pkt)
{
    return flow_equal_masked(&tf->key, pkt, &tf->mask);
}

/* Do two megaflows overlap, i.e. does some packet match both?  Only if they
 * agree on every bit that both masks match. */
static bool
ref_overlap(const struct test_flow *a, const struct test_flow *b)
{
    struct flow both;

    flow_apply_mask(&both, &a->mask, &b->mask);
    return flow_equal_masked(&a->key, &b->key, &both);
}

/* Fixture: a classifier and an array of flow records. */
struct fixture {
    struct classifier cls;      /* Under test. */
    struct test_flow *flows;    /* Records; owned. */
    size_t n_flows;             /* Elements in 'flows'. */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    classifier_init_seeded(&fx->cls, 0x5eed);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    classifier_destroy(&fx->cls);
    free(fx->flows);
    free(fx);
    return 0;
}

static void
fixture_alloc(struct fixture *fx, size_t n)
{
    fx->flows = xcalloc(n, sizeof *fx->flows);
    fx->n_flows = n;
    for (size_t i = 0; i < n; i++) {
        fx->flows[i].id = i;
    }
}

static int
tf_insert(struct fixture *fx, struct test_flow *tf)
{
    int error = classifier_insert(&fx->cls, &tf->cr, &tf->key, &tf->mask);

    if (!error) {
        tf->inserted = true;
    }
    return error;
}

static void
tf_remove(struct fixture *fx, struct test_flow *tf)
{
    classifier_remove(&fx->cls, &tf->cr);
    tf->inserted = false;
}

static struct test_flow *
tf_from_rule(struct cls_rule *cr)
{
    return cr ? CONTAINER_OF(cr, struct test_flow, cr) : NULL;
}

static void
classifier_empty_lookup_misses(void **state)
{
    struct fixture *fx = *state;
    struct classifier_stats stats;
    unsigned int n_searched = 99;
    struct flow pkt;
    uint64_t rng = 1;

    random_flow(&rng, &pkt);
    assert_null(classifier_lookup(&fx->cls, &pkt, &n_searched));
    assert_int_equal(n_searched, 0);
    assert_true(classifier_is_empty(&fx->cls));
    assert_int_equal(classifier_count(&fx->cls), 0);
    assert_int_equal(classifier_n_subtables(&fx->cls), 0);
    assert_null(classifier_first(&fx->cls));

    classifier_get_stats(&fx->cls, &stats);
    assert_int_equal(stats.n_missed, 1);
    assert_int_equal(stats.n_hit, 0);
    assert_int_equal(stats.n_mask_hit, 0);
}

static void
classifier_insert_stores_masked_key(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *tf;
    struct flow masked;
    uint64_t rng = 2;

    fixture_alloc(fx, 1);
    tf = &fx->flows[0];
    random_flow(&rng, &tf->key);
    palette_mask(MASK_NW_DST24, &tf->mask);
    assert_int_equal(tf_insert(fx, tf), 0);

    flow_apply_mask(&masked, &tf->key, &tf->mask);
    assert_memory_equal(&tf->cr.key, &masked, sizeof masked);
    assert_memory_equal(cls_rule_mask(&tf->cr), &tf->mask, sizeof tf->mask);
    assert_true(cls_rule_is_inserted(&tf->cr));
    assert_int_equal(classifier_count(&fx->cls), 1);
    assert_int_equal(classifier_n_subtables(&fx->cls), 1);
}

static void
classifier_find_exact_ignores_wildcarded_bits(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *tf;
    struct flow probe, other_mask;
    uint64_t rng = 3;

    fixture_alloc(fx, 1);
    tf = &fx->flows[0];
    random_flow(&rng, &tf->key);
    palette_mask(MASK_L4_DST, &tf->mask);
    assert_int_equal(tf_insert(fx, tf), 0);

    assert_ptr_equal(classifier_find_exact(&fx->cls, &tf->key, &tf->mask),
                     &tf->cr);

    /* Change only wildcarded bits: same identity. */
    probe = tf->key;
    probe.tp_src ^= htons(1);
    probe.nw_src ^= htonl(0xff);
    probe.in_port += 7;
    assert_ptr_equal(classifier_find_exact(&fx->cls, &probe, &tf->mask),
                     &tf->cr);

    /* Change a matched bit: no such flow. */
    probe = tf->key;
    probe.tp_dst ^= htons(1);
    assert_null(classifier_find_exact(&fx->cls, &probe, &tf->mask));

    /* Same key, another mask (even a wider one): no such flow. */
    palette_mask(MASK_5TUPLE, &other_mask);
    assert_null(classifier_find_exact(&fx->cls, &tf->key, &other_mask));
    palette_mask(MASK_DL_TYPE, &other_mask);
    assert_null(classifier_find_exact(&fx->cls, &tf->key, &other_mask));
}

static void
classifier_insert_duplicate_is_eexist(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *a, *b;
    uint64_t rng = 4;

    fixture_alloc(fx, 2);
    a = &fx->flows[0];
    b = &fx->flows[1];
    random_flow(&rng, &a->key);
    palette_mask(MASK_NW_DST16, &a->mask);
    assert_int_equal(tf_insert(fx, a), 0);

    /* Differs from 'a' only outside the mask: the same megaflow. */
    b->key = a->key;
    b->key.nw_dst ^= htonl(0xffff);
    b->key.tp_dst ^= htons(0xffff);
    b->mask = a->mask;
    assert_int_equal(tf_insert(fx, b), EEXIST);
    assert_false(cls_rule_is_inserted(&b->cr));
    assert_int_equal(classifier_count(&fx->cls), 1);
    assert_int_equal(classifier_n_subtables(&fx->cls), 1);

    /* After removal the slot is free again. */
    tf_remove(fx, a);
    assert_int_equal(tf_insert(fx, b), 0);
    assert_ptr_equal(classifier_find_exact(&fx->cls, &a->key, &a->mask),
                     &b->cr);
}

static void
classifier_same_key_new_mask_is_new_subtable(void **state)
{
    struct fixture *fx = *state;
    uint64_t rng = 5;

    fixture_alloc(fx, 3);
    random_flow(&rng, &fx->flows[0].key);
    for (size_t i = 0; i < 3; i++) {
        fx->flows[i].key = fx->flows[0].key;
    }
    palette_mask(MASK_NW_DST24, &fx->flows[0].mask);
    palette_mask(MASK_NW_DST16, &fx->flows[1].mask);
    palette_mask(MASK_NW_DST24, &fx->flows[2].mask);
    fx->flows[2].key.dl_type ^= htons(0x0001);

    assert_int_equal(tf_insert(fx, &fx->flows[0]), 0);
    assert_int_equal(tf_insert(fx, &fx->flows[1]), 0);
    assert_int_equal(tf_insert(fx, &fx->flows[2]), 0);
    assert_int_equal(classifier_count(&fx->cls), 3);
    assert_int_equal(classifier_n_subtables(&fx->cls), 2);
    for (size_t i = 0; i < 3; i++) {
        assert_ptr_equal(classifier_find_exact(&fx->cls, &fx->flows[i].key,
                                               &fx->flows[i].mask),
                         &fx->flows[i].cr);
    }
}

static void
classifier_lookup_ignores_wildcarded_bits(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *tf;
    struct flow pkt;
    unsigned int n_searched;
    uint64_t rng = 6;

    fixture_alloc(fx, 1);
    tf = &fx->flows[0];
    random_flow(&rng, &tf->key);
    palette_mask(MASK_NW_DST24, &tf->mask);
    assert_int_equal(tf_insert(fx, tf), 0);

    pkt = tf->key;
    pkt.nw_dst ^= htonl(0xff);      /* Host part: wildcarded. */
    pkt.in_port ^= 0xffff;
    memset(&pkt.dl_src, 0xaa, sizeof pkt.dl_src);
    assert_ptr_equal(classifier_lookup(&fx->cls, &pkt, &n_searched), &tf->cr);
    assert_int_equal(n_searched, 1);

    pkt.nw_dst ^= htonl(0x100);     /* Network part: matched. */
    assert_null(classifier_lookup(&fx->cls, &pkt, &n_searched));
    assert_int_equal(n_searched, 1);
}

static void
classifier_empty_mask_matches_everything(void **state)
{
    struct fixture *fx = *state;
    struct test_flow *tf;
    struct flow pkt;
    uint64_t rng = 7;

    fixture_alloc(fx, 2);
    tf = &fx->flows[0];
    random_flow(&rng, &tf->key);
    assert_int_equal(tf_insert(fx, tf), 0);     /* Mask all zero. */

    /* Any other key under the empty mask is the same megaflow. */
    random_flow(&rng, &fx->flows[1].key);
    assert_int_equal(tf_insert(fx, &fx->flows[1]), EEXIST);

    for (int i = 0; i < 100; i++) {
        random_flow(&rng, &pkt);
        assert_ptr_equal(classifier_lookup(&fx->cls, &pkt, NULL), &tf->cr);
    }
}

static void
classifier_mask_collapse_frees_subtables(void **state)
{
    struct fixture *fx = *state;
    const size_t per_mask = 50;
    uint64_t rng = 8;

    fixture_alloc(fx, per_mask * N_MASKS);
    for (size_t m = 0; m < N_MASKS; m++) {
        for (size_t i = 0; i < per_mask; i++) {
            struct test_flow *tf = &fx->flows[m * per_mask + i];

            /* Matching skb_mark too keeps keys unique in any subtable. */
            palette_mask((unsigned int) m, &tf->mask);
            tf->mask.skb_mark = UINT32_MAX;
            random_flow(&rng, &tf->key);
            tf->key.skb_mark = (uint32_t) i;
            assert_int_equal(tf_insert(fx, tf), 0);
        }
    }
    assert_int_equal(classifier_n_subtables(&fx->cls), N_MASKS);

    /* Remove mask by mask: each subtable goes with its last rule. */
    for (size_t m = 0; m < N_MASKS; m++) {
        for (size_t i = 0; i < per_mask; i++) {
            tf_remove(fx, &fx->flows[m * per_mask + i]);
            assert_int_equal(classifier_n_subtables(&fx->cls),
                             N_MASKS - m - (i == per_mask - 1));
        }
    }
    assert_int_equal(classifier_n_subtables(&fx->cls), 0);
    assert_true(classifier_is_empty(&fx->cls));
    assert_null(classifier_first(&fx->cls));

    /* The classifier still works after collapsing to nothing. */
    assert_int_equal(tf_insert(fx, &fx->flows[0]), 0);
    assert_int_equal(classifier_n_subtables(&fx->cls), 1);
}

static void
classifier_iteration_survives_removal_of_current(void **state)
{
    struct fixture *fx = *state;
    struct cls_rule *rule, *next;
    const size_t n = 300;
    size_t seen = 0, expect_id = 0;
    uint64_t rng = 9;

    fixture_alloc(fx, n);
    for (size_t i = 0; i < n; i++) {
        struct test_flow *tf = &fx->flows[i];

        random_flow(&rng, &tf->key);
        tf->key.skb_mark = (uint32_t) i;
        palette_mask(i % 2 ? MASK_EXACT : MASK_5TUPLE, &tf->mask);
        tf->mask.skb_mark = UINT32_MAX;
        assert_int_equal(tf_insert(fx, tf), 0);
    }

    /* Insertion order; remove every other rule while visiting it. */
    CLASSIFIER_FOR_EACH_SAFE (rule, next, &fx->cls) {
        struct test_flow *tf = tf_from_rule(rule);

        assert_int_equal(tf->id, expect_id);
        expect_id++;
        seen++;
        if (tf->id % 2 == 0) {
            tf_remove(fx, tf);
            memset(&tf->cr, 0xa5, sizeof tf->cr);   /* As if freed. */
        }
    }
    assert_int_equal(seen, n);
    assert_int_equal(classifier_count(&fx->cls), n / 2);

    /* The odd ones remain, in order; then remove all. */
    expect_id = 1;
    seen = 0;
    CLASSIFIER_FOR_EACH_SAFE (rule, next, &fx->cls) {
        struct test_flow *tf = tf_from_rule(rule);

        assert_int_equal(tf->id, expect_id);
        expect_id += 2;
        seen++;
        tf_remove(fx, tf);
    }
    assert_int_equal(seen, n / 2);
    assert_true(classifier_is_empty(&fx->cls));
    assert_int_equal(classifier_n_subtables(&fx->cls), 0);
}

static void
classifier_stats_count_masks_searched(void **state)
{
    struct fixture *fx = *state;
    struct classifier_stats stats;
    unsigned int n_searched;
    struct flow pkt;
    uint64_t rng = 10;

    fixture_alloc(fx, 3);
    /* Three disjoint megaflows: distinct dl_type, three masks. */
    for (size_t i = 0; i < 3; i++) {
        random_flow(&rng, &fx->flows[i].key);
        fx->flows[i].key.dl_type = htons((uint16_t) (0x1000 + i));
    }
    palette_mask(MASK_DL_TYPE, &fx->flows[0].mask);
    palette_mask(MASK_PORT_PROTO, &fx->flows[1].mask);
    palette_mask(MASK_5TUPLE, &fx->flows[2].mask);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(tf_insert(fx, &fx->flows[i]), 0);
    }

    pkt = fx->flows[0].key;
    pkt.dl_type = htons(0x2000);
    assert_null(classifier_lookup(&fx->cls, &pkt, &n_searched));
    assert_int_equal(n_searched, 3);

    /* No lookups have ranked anything yet: insertion order. */
    assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[0].key,
                                       &n_searched), &fx->flows[0].cr);
    assert_int_equal(n_searched, 1);
    assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[2].key,
                                       &n_searched), &fx->flows[2].cr);
    assert_int_equal(n_searched, 3);

    classifier_get_stats(&fx->cls, &stats);
    assert_int_equal(stats.n_hit, 2);
    assert_int_equal(stats.n_missed, 1);
    assert_int_equal(stats.n_mask_hit, 3 + 1 + 3);
    assert_int_equal(stats.n_mask_hit_on_hit, 1 + 3);
    assert_int_equal(stats.n_masks, 3);
    assert_int_equal(stats.n_rules, 3);
}

static void
classifier_ranking_moves_hot_subtable_first(void **state)
{
    struct fixture *fx = *state;
    unsigned int n_searched;
    uint64_t rng = 11;

    fixture_alloc(fx, 4);
    for (size_t i = 0; i < 4; i++) {
        random_flow(&rng, &fx->flows[i].key);
        fx->flows[i].key.dl_type = htons((uint16_t) (0x1000 + i));
        palette_mask(i == 0 ? MASK_DL_TYPE
                     : i == 1 ? MASK_PORT_PROTO
                     : i == 2 ? MASK_L4_DST : MASK_5TUPLE,
                     &fx->flows[i].mask);
        assert_int_equal(tf_insert(fx, &fx->flows[i]), 0);
    }

    for (int i = 0; i < 10; i++) {
        assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[3].key,
                                           &n_searched), &fx->flows[3].cr);
        assert_int_equal(n_searched, 4);
    }
    assert_non_null(classifier_lookup(&fx->cls, &fx->flows[2].key, NULL));
    classifier_rank_subtables(&fx->cls);

    assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[3].key,
                                       &n_searched), &fx->flows[3].cr);
    assert_int_equal(n_searched, 1);
    assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[2].key,
                                       &n_searched), &fx->flows[2].cr);
    assert_int_equal(n_searched, 2);
    /* Ties keep their previous order. */
    assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[0].key,
                                       &n_searched), &fx->flows[0].cr);
    assert_int_equal(n_searched, 3);

    /* Automatic ranking happens without being asked. */
    for (int i = 0; i < 2 * CLS_RANK_INTERVAL; i++) {
        classifier_lookup(&fx->cls, &fx->flows[1].key, NULL);
    }
    assert_ptr_equal(classifier_lookup(&fx->cls, &fx->flows[1].key,
                                       &n_searched), &fx->flows[1].cr);
    assert_int_equal(n_searched, 1);
}

/* A packet that matches 'tf': its key with random wildcarded bits. */
static void
packet_for_rule(uint64_t *rng, const struct test_flow *tf, struct flow *pkt)
{
    struct flow noise;
    uint64_t *p = (uint64_t *) (void *) pkt;
    const uint64_t *n = (const uint64_t *) (const void *) &noise;
    const uint64_t *k = (const uint64_t *) (const void *) &tf->key;
    const uint64_t *m = (const uint64_t *) (const void *) &tf->mask;

    random_flow(rng, &noise);
    for (size_t i = 0; i < FLOW_U64S; i++) {
        p[i] = (k[i] & m[i]) | (n[i] & ~m[i]);
    }
}

/* Random rules with random palette masks (overlaps allowed) under churn;
 * random packets.  Property: a returned rule matches the packet and is
 * inserted; NULL only when no inserted rule matches. */
static void
classifier_lookup_property_random_masks(void **state)
{
    struct fixture *fx = *state;
    const size_t n = 400;
    const int n_lookups = 100000;
    uint64_t rng = 0xc1a551f1e5ULL;
    int n_hits = 0, n_misses = 0;

    fixture_alloc(fx, n);
    for (int iter = 0; iter < n_lookups; iter++) {
        struct test_flow *tf = &fx->flows[rng_range(&rng, (uint32_t) n)];
        struct flow pkt;

        /* Churn: about one insertion or removal per 10 lookups. */
        if (rng_range(&rng, 10) == 0) {
            if (tf->inserted) {
                tf_remove(fx, tf);
            } else {
                random_flow(&rng, &tf->key);
                palette_mask(rng_range(&rng, N_MASKS), &tf->mask);
                int error = tf_insert(fx, tf);
                assert_true(error == 0 || error == EEXIST);
            }
        }

        if (rng_range(&rng, 2) && tf->inserted) {
            packet_for_rule(&rng, tf, &pkt);
        } else {
            random_packet(&rng, &pkt);
        }

        struct test_flow *got = tf_from_rule(
            classifier_lookup(&fx->cls, &pkt, NULL));
        if (got) {
            assert_true(got->inserted);
            assert_true(ref_matches(got, &pkt));
            assert_true(cls_rule_matches(&got->cr, &pkt));
            n_hits++;
        } else {
            for (size_t i = 0; i < n; i++) {
                assert_false(fx->flows[i].inserted
                             && ref_matches(&fx->flows[i], &pkt));
            }
            n_misses++;
        }
    }
    /* Both outcomes were exercised substantially. */
    assert_true(n_hits > n_lookups / 4);
    assert_true(n_misses > n_lookups / 20);
}

/* Non-overlapping rule sets (a candidate that overlaps an inserted rule is
 * skipped, as a datapath client must), under churn and re-ranking: the
 * classifier's answer is exactly the reference's unique match. */
static void
classifier_lookup_nonoverlapping_equals_reference(void **state)
{
    struct fixture *fx = *state;
    const size_t n = 300;
    const int n_lookups = 100000;
    uint64_t rng = 0xfeedfaceULL;
    int n_hits = 0;

    fixture_alloc(fx, n);
    for (int iter = 0; iter < n_lookups; iter++) {
        struct test_flow *tf = &fx->flows[rng_range(&rng, (uint32_t) n)];
        struct flow pkt;

        if (rng_range(&rng, 8) == 0) {
            if (tf->inserted) {
                tf_remove(fx, tf);
            } else {
                bool overlaps = false;

                random_flow(&rng, &tf->key);
                palette_mask(rng_range(&rng, N_MASKS), &tf->mask);
                for (size_t i = 0; i < n && !overlaps; i++) {
                    overlaps = fx->flows[i].inserted
                               && ref_overlap(&fx->flows[i], tf);
                }
                if (!overlaps) {
                    assert_int_equal(tf_insert(fx, tf), 0);
                }
            }
        }
        if (iter % 5000 == 0) {
            classifier_rank_subtables(&fx->cls);
        }

        if (rng_range(&rng, 2) && tf->inserted) {
            packet_for_rule(&rng, tf, &pkt);
        } else {
            random_packet(&rng, &pkt);
        }

        struct test_flow *expect = NULL;
        for (size_t i = 0; i < n; i++) {
            if (fx->flows[i].inserted && ref_matches(&fx->flows[i], &pkt)) {
                assert_null(expect);    /* The set really is disjoint. */
                expect = &fx->flows[i];
            }
        }
        assert_ptr_equal(tf_from_rule(classifier_lookup(&fx->cls, &pkt, NULL)),
                         expect);
        n_hits += expect != NULL;
    }
    assert_true(n_hits > n_lookups / 10);
    assert_true(classifier_n_subtables(&fx->cls) > 1);
}

/* Many rules in few subtables, inserted and removed at random: the tables
 * grow and shrink many times.  Every inserted rule stays findable, every
 * removed one disappears; the sanitizer build checks the memory. */
static void
classifier_churn_keeps_tables_consistent(void **state)
{
    struct fixture *fx = *state;
    const size_t n = 20000;
    const int n_ops = 200000;
    size_t n_inserted = 0;
    uint64_t rng = 0xc4u;

    fixture_alloc(fx, n);
    for (int op = 0; op < n_ops; op++) {
        /* Phases: fill up, drain, fill again, so sizes sweep both ways. */
        bool filling = (op / 50000) % 2 == 0;
        struct test_flow *tf = &fx->flows[rng_range(&rng, (uint32_t) n)];

        if (tf->inserted) {
            if (!filling || rng_range(&rng, 4) == 0) {
                tf_remove(fx, tf);
                n_inserted--;
                assert_null(classifier_find_exact(&fx->cls, &tf->key,
                                                  &tf->mask));
            }
        } else if (filling || rng_range(&rng, 4) == 0) {
            random_flow(&rng, &tf->key);
            tf->key.skb_mark = (uint32_t) tf->id;  /* Unique keys. */
            tf->key.nw_ttl = (uint8_t) rng_range(&rng, 3);
            palette_mask(rng_range(&rng, 3) == 0 ? MASK_EXACT : MASK_5TUPLE,
                         &tf->mask);
            tf->mask.skb_mark = UINT32_MAX;
            assert_int_equal(tf_insert(fx, tf), 0);
            n_inserted++;
            assert_ptr_equal(classifier_find_exact(&fx->cls, &tf->key,
                                                   &tf->mask), &tf->cr);
        }
        assert_int_equal(classifier_count(&fx->cls), n_inserted);
    }

    for (size_t i = 0; i < n; i++) {
        struct test_flow *tf = &fx->flows[i];
        struct cls_rule *cr = classifier_find_exact(&fx->cls, &tf->key,
                                                    &tf->mask);

        assert_ptr_equal(cr, tf->inserted ? &tf->cr : NULL);
        if (tf->inserted) {
            assert_ptr_equal(classifier_lookup(&fx->cls, &tf->key, NULL),
                             &tf->cr);
            tf_remove(fx, tf);
        }
    }
    assert_true(classifier_is_empty(&fx->cls));
    assert_int_equal(classifier_n_subtables(&fx->cls), 0);
}

/* Inverse of the odd 'c' modulo 2**32 (Newton's iteration). */
static uint32_t
inverse_u32(uint32_t c)
{
    uint32_t x = c;

    for (int i = 0; i < 5; i++) {
        x *= 2 - c * x;
    }
    return x;
}

/* The per-word scrambling of hash_add() (common/hash.h) and its inverse. */
static uint32_t
scramble(uint32_t w)
{
    w *= 0xcc9e2d51;
    w = (w << 15) | (w >> 17);
    return w * 0x1b873593;
}

static uint32_t
unscramble(uint32_t k)
{
    k *= inverse_u32(0x1b873593);
    k = (k >> 15) | (k << 17);
    return k * inverse_u32(0xcc9e2d51);
}

/* A 64-bit word that hash_add64() folds into any state exactly as it folds
 * 'w': flipping bit 18 of the scrambled low half flips bit 31 of the state
 * after one round (rotl 13, *5 and + keep a lone top-bit difference), and
 * flipping bit 31 of the scrambled high half cancels it.  Independent of the
 * hash basis, so of the classifier's secret. */
static uint64_t
colliding_word(uint64_t w)
{
    uint32_t lo = unscramble(scramble((uint32_t) w) ^ 0x00040000u);
    uint32_t hi = unscramble(scramble((uint32_t) (w >> 32)) ^ 0x80000000u);

    return (uint64_t) hi << 32 | lo;
}

/* 128 exact-match keys with one and the same hash whatever the basis: the
 * attack the header's essay admits.  The classifier stays correct, counts
 * the long probe sequences and tries a re-key (which cannot help here). */
static void
classifier_seed_independent_collisions_stay_correct(void **state)
{
    /* Words of struct flow that an exact mask covers entirely. */
    static const unsigned int words[] = { 0, 1, 3, 4, 5, 6, 7 };
    const size_t n = (size_t) 1 << ARRAY_SIZE(words);
    struct fixture *fx = *state;
    uint64_t long_probes = counter_get("classifier_long_probe");
    uint64_t rekeys = counter_get("classifier_rekey");
    struct flow base;
    uint64_t rng = 13;

    random_flow(&rng, &base);
    fixture_alloc(fx, n);
    for (size_t i = 0; i < n; i++) {
        struct test_flow *tf = &fx->flows[i];
        uint64_t *k = (uint64_t *) (void *) &tf->key;

        tf->key = base;
        for (size_t b = 0; b < ARRAY_SIZE(words); b++) {
            if (i & ((size_t) 1 << b)) {
                k[words[b]] = colliding_word(k[words[b]]);
            }
        }
        flow_mask_exact(&tf->mask);
        assert_int_equal(tf_insert(fx, tf), 0);
    }
    assert_int_equal(classifier_count(&fx->cls), n);
    assert_int_equal(flow_hash(&fx->flows[0].key, 1),
                     flow_hash(&fx->flows[n - 1].key, 1));
    assert_int_equal(flow_hash(&fx->flows[0].key, 2),
                     flow_hash(&fx->flows[n - 1].key, 2));

    for (size_t i = 0; i < n; i++) {
        struct test_flow *tf = &fx->flows[i];

        assert_ptr_equal(classifier_lookup(&fx->cls, &tf->key, NULL),
                         &tf->cr);
    }
    assert_true(counter_get("classifier_long_probe") > long_probes);
    assert_true(counter_get("classifier_rekey") > rekeys);

    for (size_t i = 0; i < n; i += 2) {
        tf_remove(fx, &fx->flows[i]);
    }
    for (size_t i = 0; i < n; i++) {
        struct test_flow *tf = &fx->flows[i];

        assert_ptr_equal(classifier_lookup(&fx->cls, &tf->key, NULL),
                         i % 2 ? &tf->cr : NULL);
    }
}

static void
classifier_destroy_detaches_rules(void **state)
{
    struct fixture *fx = *state;
    uint64_t rng = 12;

    fixture_alloc(fx, 10);
    for (size_t i = 0; i < 10; i++) {
        random_flow(&rng, &fx->flows[i].key);
        fx->flows[i].key.skb_mark = (uint32_t) i;
        flow_mask_exact(&fx->flows[i].mask);
        assert_int_equal(tf_insert(fx, &fx->flows[i]), 0);
    }
    classifier_destroy(&fx->cls);
    for (size_t i = 0; i < 10; i++) {
        assert_false(cls_rule_is_inserted(&fx->flows[i].cr));
    }
    /* The teardown destroys again: destroy must leave a destroyable,
     * empty classifier, so re-initialise as a caller would. */
    classifier_init(&fx->cls);
    assert_true(classifier_is_empty(&fx->cls));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(classifier_empty_lookup_misses),
        T(classifier_insert_stores_masked_key),
        T(classifier_find_exact_ignores_wildcarded_bits),
        T(classifier_insert_duplicate_is_eexist),
        T(classifier_same_key_new_mask_is_new_subtable),
        T(classifier_lookup_ignores_wildcarded_bits),
        T(classifier_empty_mask_matches_everything),
        T(classifier_mask_collapse_frees_subtables),
        T(classifier_iteration_survives_removal_of_current),
        T(classifier_stats_count_masks_searched),
        T(classifier_ranking_moves_hot_subtable_first),
        T(classifier_lookup_property_random_masks),
        T(classifier_lookup_nonoverlapping_equals_reference),
        T(classifier_churn_keeps_tables_consistent),
        T(classifier_seed_independent_collisions_stay_correct),
        T(classifier_destroy_detaches_rules),
#undef T
    };
    return cmocka_run_group_tests_name("classifier", tests, NULL, NULL);
}
