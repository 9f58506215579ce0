/* Tests for revald/revalidate.c: the decisions of one revalidator shard,
 * driven directly (no process): idle expiry and its 100 ms variant over the
 * flow limit, the 2x limit cut, should_revalidate(), keep/modify/delete
 * after a policy change (actions byte-identical, installed mask covering
 * the new one), stats deltas reaching the rule counters exactly once
 * (announced, adopted, deleted, modified), the sweep with FLOW_GET,
 * purge, batches of at most the batch size, and busy ukeys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/odp-key.h"
#include "common/policy.h"
#include "common/xlate.h"
#include "revald/revalidate.h"

#define NOW 10000000LL
#define MAX_IDLE 10000
#define N_FLOWS 8

static const uint32_t ports[] = { 0, 1, 2, 3 };

/* One installed flow: what a handler would have put. */
struct tflow {
    struct flow flow;
    struct buf key, mask, actions;
    union ufid ufid;
    struct ukey_stats stats;    /* What the datapath counts. */
};

struct fixture {
    struct revalidator r;
    struct tflow flows[N_FLOWS];
    uint64_t generation;
    uint64_t dump_seq;
};

static struct policy_table *
parse(const char *text, uint64_t generation)
{
    struct policy_table *t;
    struct errbuf eb = { "" };
    if (policy_parse(text, strlen(text), "rules", generation, &t, &eb)) {
        fail_msg("%s", eb.msg);
    }
    return t;
}

static void
set_policy(struct fixture *fx, const char *text)
{
    revalidator_set_policy(&fx->r, parse(text, ++fx->generation), ports,
                           sizeof ports / sizeof ports[0]);
}

/* UDP 10.0.0.1:(1000+i) -> 10.0.0.(2+i%2):53 from port 1. */
static void
make_flow(struct fixture *fx, int i)
{
    struct tflow *t = &fx->flows[i];
    struct flow *f = &t->flow;
    struct errbuf eb = { "" };

    memset(f, 0, sizeof *f);
    f->in_port = 1;
    f->dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
    f->dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
    f->dl_type = htons(0x0800);
    f->nw_proto = 17;
    f->nw_ttl = 64;
    f->nw_src = htonl(0x0a000001);
    f->nw_dst = htonl(0x0a000002 + (uint32_t) (i % 2));
    f->tp_src = htons((uint16_t) (1000 + i));
    f->tp_dst = htons(53);

    /* Translate as a handler would, with the current policy. */
    struct xlate_out xout;
    xlate_out_init(&xout);
    struct xlate_in xin = {
        .flow = f, .table = fx->r.policy, .ports = ports, .n_ports = 4,
        .now_msec = NOW,
    };
    assert_int_equal(xlate_translate(&xin, &xout, &eb), 0);
    buf_init(&t->key, 0);
    buf_init(&t->mask, 0);
    buf_init(&t->actions, 0);
    assert_int_equal(odp_key_from_flow(&t->key, f, &eb), 0);
    assert_int_equal(odp_mask_from_flow(&t->mask, &xout.mask, f, &eb), 0);
    buf_put(&t->actions, xout.flow_actions.data, xout.flow_actions.size);
    ufid_from_key(t->key.data, t->key.size, t->mask.data, t->mask.size,
                  &t->ufid);
    memset(&t->stats, 0, sizeof t->stats);
    xlate_out_uninit(&xout);
}

static struct reval_flow
rflow(const struct tflow *t)
{
    return (struct reval_flow) {
        .ufid = t->ufid,
        .key = t->key.data, .key_len = t->key.size,
        .mask = t->mask.data, .mask_len = t->mask.size,
        .actions = t->actions.data, .actions_len = t->actions.size,
        .stats = t->stats,
    };
}

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    revalidator_init(&fx->r, 0, 1, 50);
    set_policy(fx, "priority=100,udp,nw_dst=10.0.0.2,actions=output:2\n"
                   "priority=90,udp,nw_dst=10.0.0.3,actions=output:3\n");
    for (int i = 0; i < N_FLOWS; i++) {
        make_flow(fx, i);
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    for (int i = 0; i < N_FLOWS; i++) {
        buf_uninit(&fx->flows[i].key);
        buf_uninit(&fx->flows[i].mask);
        buf_uninit(&fx->flows[i].actions);
    }
    revalidator_destroy(&fx->r);
    free(fx);
    return 0;
}

/* Starts a cycle with 'n_flows' in a datapath of limit 'limit'. */
static void
begin(struct fixture *fx, uint64_t n_flows, uint64_t limit, long long dur)
{
    struct reval_params p = {
        .dump_seq = ++fx->dump_seq,
        .n_flows = n_flows,
        .flow_limit = limit,
        .dump_duration_msec = dur,
        .max_idle_msec = MAX_IDLE,
    };
    reval_dump_begin(&fx->r, &p);
}

static void
dump(struct fixture *fx, int i, long long now)
{
    struct reval_flow f = rflow(&fx->flows[i]);
    reval_flow_dumped(&fx->r, &f, now);
}

static void
announce(struct fixture *fx, int i)
{
    struct reval_flow f = rflow(&fx->flows[i]);
    reval_flow_announced(&fx->r, &f, fx->generation, NOW);
}

/* Answers every queued op as the datapath would: DEL and MODIFY with the
 * flow's stats, GET with the flow (or ENOENT if 'gone'). */
static size_t
answer_all(struct fixture *fx, bool gone, size_t *n_batches,
           enum reval_op_type *last_type)
{
    struct reval_batch b;
    size_t n_ops = 0;

    while (reval_take_batch(&fx->r, 64, &b)) {
        struct reval_result *res = xcalloc(b.n_ops, sizeof *res);
        struct reval_flow *flows = xcalloc(b.n_ops, sizeof *flows);

        assert_true(b.n_ops <= 50);
        for (size_t i = 0; i < b.n_ops; i++) {
            const struct tflow *t = NULL;
            for (int j = 0; j < N_FLOWS; j++) {
                if (ufid_equals(&fx->flows[j].ufid, &b.ops[i].ufid)) {
                    t = &fx->flows[j];
                }
            }
            assert_non_null(t);
            if (last_type) {
                *last_type = b.ops[i].type;
            }
            if (gone) {
                res[i].error = ENOENT;
                continue;
            }
            res[i].has_stats = true;
            res[i].stats = t->stats;
            if (b.ops[i].type == REVAL_OP_GET) {
                flows[i] = rflow(t);
                res[i].flow = &flows[i];
            }
        }
        n_ops += b.n_ops;
        if (n_batches) {
            (*n_batches)++;
        }
        reval_batch_done(&fx->r, &b, res, b.n_ops, NOW);
        free(res);
        free(flows);
    }
    return n_ops;
}

/* Sum of credited packets for (generation, rule) taken from the shard. */
static uint64_t
credited(struct fixture *fx, uint64_t generation, uint32_t rule)
{
    struct reval_credit c[64];
    size_t n = reval_take_credits(&fx->r, c, 64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].generation == generation && c[i].rule_id == rule) {
            sum += c[i].packets;
        }
    }
    return sum;
}

/* ----- idle and limits ----------------------------------------------------- */

static void
idle_flow_deleted_active_kept(void **state)
{
    struct fixture *fx = *state;

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats = (struct ukey_stats) { 1, 100, NOW - MAX_IDLE - 1, 0 };
    fx->flows[1].stats = (struct ukey_stats) { 1, 100, NOW - MAX_IDLE + 1, 0 };
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 1);
    assert_int_equal(answer_all(fx, false, NULL, NULL), 1);
    assert_null(ukey_table_find(&fx->r.ukeys, &fx->flows[0].ufid));
    assert_non_null(ukey_table_find(&fx->r.ukeys, &fx->flows[1].ufid));
    assert_int_equal(reval_cycle_finish(&fx->r).n_deleted, 1);
}

static void
never_used_flow_ages_from_creation(void **state)
{
    struct fixture *fx = *state;

    announce(fx, 0);            /* Created at NOW, never used. */
    begin(fx, 1, 10000, 10);
    dump(fx, 0, NOW + MAX_IDLE);
    assert_int_equal(reval_n_queued(&fx->r), 0);
    dump(fx, 0, NOW + MAX_IDLE + 1);
    assert_int_equal(reval_n_queued(&fx->r), 1);
}

static void
over_limit_idle_is_100ms(void **state)
{
    struct fixture *fx = *state;

    announce(fx, 0);
    fx->flows[0].stats = (struct ukey_stats) { 1, 100, NOW - 101, 0 };
    begin(fx, 1001, 1000, 10);
    dump(fx, 0, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 1);
    answer_all(fx, false, NULL, NULL);

    announce(fx, 1);
    fx->flows[1].stats = (struct ukey_stats) { 1, 100, NOW - 99, 0 };
    begin(fx, 1001, 1000, 10);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 0);
    /* At the limit exactly, the normal idle time applies. */
    fx->flows[1].stats.used = NOW - 101;
    begin(fx, 1000, 1000, 10);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 0);
}

static void
over_twice_limit_deletes_active_flows(void **state)
{
    struct fixture *fx = *state;

    announce(fx, 0);
    fx->flows[0].stats = (struct ukey_stats) { 5, 500, NOW, 0 };
    begin(fx, 2000, 1000, 10);
    dump(fx, 0, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 0);
    begin(fx, 2001, 1000, 10);
    dump(fx, 0, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 1);
    /* The delete pushes the 5 packets once. */
    answer_all(fx, false, NULL, NULL);
    assert_int_equal(credited(fx, fx->generation, 1), 5);
}

/* ----- stats exactly once -------------------------------------------------- */

static void
stats_delta_pushed_exactly_once(void **state)
{
    struct fixture *fx = *state;
    struct tflow *t = &fx->flows[0];    /* Matches rule 1 (output:2). */
    uint64_t total = 0;

    announce(fx, 0);
    for (int round = 0; round < 4; round++) {
        t->stats.n_packets += (uint64_t) round * 3;
        t->stats.n_bytes += (uint64_t) round * 300;
        t->stats.used = NOW;
        begin(fx, 1, 10000, 10);
        dump(fx, 0, NOW);
        dump(fx, 0, NOW);       /* A flow dumped twice: no double push. */
        total += credited(fx, fx->generation, 1);
    }
    assert_int_equal(total, 18);
    /* Final stats at deletion: only the rest. */
    t->stats.n_packets = 25;
    t->stats.used = NOW - MAX_IDLE - 5;
    begin(fx, 1, 10000, 10);
    dump(fx, 0, NOW);
    answer_all(fx, false, NULL, NULL);
    assert_int_equal(credited(fx, fx->generation, 1), 7);
    const struct policy_rule *rule = policy_table_get_rule(fx->r.policy, 1);
    assert_int_equal(rule->n_packets, 25);
}

static void
adopted_flow_pushes_only_new_packets(void **state)
{
    struct fixture *fx = *state;
    struct tflow *t = &fx->flows[1];    /* Matches rule 2 (output:3). */

    t->stats = (struct ukey_stats) { 1000, 64000, NOW, 0 };
    begin(fx, 1, 10000, 10);
    dump(fx, 1, NOW);           /* Unknown: adopted. */
    assert_int_equal(credited(fx, fx->generation, 2), 0);
    t->stats.n_packets = 1010;
    begin(fx, 1, 10000, 10);
    dump(fx, 1, NOW);
    assert_int_equal(credited(fx, fx->generation, 2), 10);
}

static void
credits_survive_until_taken(void **state)
{
    struct fixture *fx = *state;
    struct reval_credit c[1];

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats = (struct ukey_stats) { 2, 200, NOW, 0 };
    fx->flows[1].stats = (struct ukey_stats) { 3, 300, NOW, 0 };
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    /* Taken one at a time (a DumpAck with room for one): none lost. */
    assert_int_equal(reval_take_credits(&fx->r, c, 1), 1);
    assert_int_equal(c[0].packets, 2);
    assert_int_equal(reval_take_credits(&fx->r, c, 1), 1);
    assert_int_equal(c[0].packets, 3);
    assert_int_equal(reval_take_credits(&fx->r, c, 1), 0);
}

/* ----- policy changes ------------------------------------------------------ */

static void
unchanged_translation_keeps_flow(void **state)
{
    struct fixture *fx = *state;

    announce(fx, 0);
    announce(fx, 1);
    /* An unrelated rule (TCP) that adds no bits to these UDP flows' masks
     * beyond what they have. */
    set_policy(fx, "priority=100,udp,nw_dst=10.0.0.2,actions=output:2\n"
                   "priority=90,udp,nw_dst=10.0.0.3,actions=output:3\n"
                   "priority=80,arp,actions=flood\n");
    fx->flows[0].stats.used = fx->flows[1].stats.used = NOW;
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 0);
}

static void
actions_changed_same_mask_modifies(void **state)
{
    struct fixture *fx = *state;
    enum reval_op_type type = REVAL_OP_GET;

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats = (struct ukey_stats) { 4, 400, NOW, 0 };
    fx->flows[1].stats = (struct ukey_stats) { 4, 400, NOW, 0 };
    /* Only the 10.0.0.2 rule's output changes. */
    set_policy(fx, "priority=100,udp,nw_dst=10.0.0.2,actions=output:1\n"
                   "priority=90,udp,nw_dst=10.0.0.3,actions=output:3\n");
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 1);
    fx->flows[0].stats.n_packets = 6;   /* 2 more before the modify. */
    assert_int_equal(answer_all(fx, false, NULL, &type), 1);
    assert_int_equal(type, REVAL_OP_MODIFY);
    struct ukey *u = ukey_table_find(&fx->r.ukeys, &fx->flows[0].ufid);
    assert_non_null(u);
    assert_int_equal(reval_cycle_finish(&fx->r).n_modified, 1);
    /* Credits: the 4 packets dumped go to the rules of the generation
     * they passed under; the 2 counted by the modify to the rule of the
     * new translation (as the seeds push after a modify through the new
     * xlate cache). */
    struct reval_credit c[8];
    size_t n = reval_take_credits(&fx->r, c, 8);
    uint64_t old1 = 0, old2 = 0, new1 = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].generation == fx->generation - 1 && c[i].rule_id == 1) {
            old1 += c[i].packets;
        } else if (c[i].generation == fx->generation - 1
                   && c[i].rule_id == 2) {
            old2 += c[i].packets;
        } else if (c[i].generation == fx->generation && c[i].rule_id == 1) {
            new1 += c[i].packets;
        }
    }
    assert_int_equal(old1, 4);
    assert_int_equal(old2, 4);
    assert_int_equal(new1, 2);
    /* The ukey now records the new actions: the next check keeps it. */
    buf_clear(&fx->flows[0].actions);
    buf_put(&fx->flows[0].actions, u->actions, u->actions_len);
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 0);
}

static void
wider_mask_deletes(void **state)
{
    struct fixture *fx = *state;
    enum reval_op_type type = REVAL_OP_GET;

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats.used = fx->flows[1].stats.used = NOW;
    /* A new higher-priority rule on the UDP source port: the translation
     * of every UDP flow now consults tp_src, which the installed masks
     * wildcard. */
    set_policy(fx, "priority=200,udp,tp_src=9,actions=drop\n"
                   "priority=100,udp,nw_dst=10.0.0.2,actions=output:2\n"
                   "priority=90,udp,nw_dst=10.0.0.3,actions=output:3\n");
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 2);
    answer_all(fx, false, NULL, &type);
    assert_int_equal(type, REVAL_OP_DEL);
    assert_int_equal(fx->r.ukeys.n, 0);
}

static void
only_affected_flows_change(void **state)
{
    struct fixture *fx = *state;

    for (int i = 0; i < N_FLOWS; i++) {
        announce(fx, i);
        fx->flows[i].stats.used = NOW;
    }
    /* Drop traffic to 10.0.0.3 now: only the odd flows are affected. */
    set_policy(fx, "priority=100,udp,nw_dst=10.0.0.2,actions=output:2\n"
                   "priority=90,udp,nw_dst=10.0.0.3,actions=drop\n");
    begin(fx, N_FLOWS, 10000, 10);
    for (int i = 0; i < N_FLOWS; i++) {
        dump(fx, i, NOW);
    }
    assert_int_equal(reval_n_queued(&fx->r), N_FLOWS / 2);
    for (size_t i = fx->r.queue_head; i < fx->r.n_queued; i++) {
        assert_true(ufid_equals(&fx->r.queue[i].ufid,
                                &fx->flows[2 * (i - fx->r.queue_head) + 1]
                                .ufid));
    }
}

static void
should_revalidate_heuristic(void **state)
{
    (void) state;
    /* Fast dumps: always. */
    assert_true(reval_should_revalidate(199, 0, NOW - 100000, NOW));
    /* Slow dump: 10 packets in the 1999 ms since last use: 199 ms each. */
    assert_true(reval_should_revalidate(200, 10, NOW - 1999, NOW));
    assert_false(reval_should_revalidate(200, 10, NOW - 2000, NOW));
    /* No packets counts as one. */
    assert_false(reval_should_revalidate(1000, 0, NOW - 200, NOW));
    assert_true(reval_should_revalidate(1000, 0, NOW - 199, NOW));
    /* 'used' in the future: zero interval. */
    assert_true(reval_should_revalidate(1000, 0, NOW + 50, NOW));
}

static void
slow_dump_deletes_quiet_flows_instead_of_retranslating(void **state)
{
    struct fixture *fx = *state;

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats = (struct ukey_stats) { 1, 100, NOW - 1000, 0 };
    fx->flows[1].stats = (struct ukey_stats) { 1, 100, NOW - 1000, 0 };
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW - 1000);
    dump(fx, 1, NOW - 1000);
    /* Policy changes; the last dump took 1.5 s.  Flow 0 got 100 packets
     * since its last use (10 ms each), flow 1 got none. */
    set_policy(fx, "priority=100,udp,nw_dst=10.0.0.2,actions=output:2\n"
                   "priority=90,udp,nw_dst=10.0.0.3,actions=output:3\n"
                   "priority=80,arp,actions=flood\n");
    fx->flows[0].stats.n_packets = 101;
    fx->flows[0].stats.used = NOW;
    begin(fx, 2, 10000, 1500);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 1);
    assert_true(ufid_equals(&fx->r.queue[fx->r.queue_head].ufid,
                            &fx->flows[1].ufid));
}

/* ----- sweep, purge, batches ----------------------------------------------- */

static void
missed_flow_checked_with_get(void **state)
{
    struct fixture *fx = *state;
    enum reval_op_type type = REVAL_OP_DEL;

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats.used = fx->flows[1].stats.used = NOW;
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    reval_dump_end(&fx->r, NOW);
    /* Flow 1 was not dumped: a FLOW_GET.  It exists: kept. */
    assert_int_equal(reval_n_queued(&fx->r), 1);
    assert_int_equal(answer_all(fx, false, NULL, &type), 1);
    assert_int_equal(type, REVAL_OP_GET);
    assert_int_equal(fx->r.ukeys.n, 2);
    assert_true(reval_cycle_done(&fx->r));
    /* Next cycle it is missed again and is gone: the ukey goes. */
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    reval_dump_end(&fx->r, NOW);
    answer_all(fx, true, NULL, NULL);
    assert_int_equal(fx->r.ukeys.n, 1);
    assert_non_null(ukey_table_find(&fx->r.ukeys, &fx->flows[0].ufid));
}

static void
purge_deletes_everything_with_final_stats(void **state)
{
    struct fixture *fx = *state;

    for (int i = 0; i < N_FLOWS; i++) {
        announce(fx, i);
        fx->flows[i].stats = (struct ukey_stats) { 1, 10, NOW, 0 };
    }
    struct reval_params p = {
        .dump_seq = ++fx->dump_seq, .n_flows = N_FLOWS, .flow_limit = 10000,
        .max_idle_msec = MAX_IDLE, .purge = true,
    };
    reval_dump_begin(&fx->r, &p);
    for (int i = 0; i < N_FLOWS / 2; i++) {
        dump(fx, i, NOW);
    }
    reval_dump_end(&fx->r, NOW);    /* The other half: not dumped. */
    assert_int_equal(reval_n_queued(&fx->r), N_FLOWS);
    answer_all(fx, false, NULL, NULL);
    assert_int_equal(fx->r.ukeys.n, 0);
    /* Every flow's final packet reaches its rule, once. */
    struct reval_credit c[8];
    size_t n = reval_take_credits(&fx->r, c, 8);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += c[i].packets;
    }
    assert_int_equal(sum, N_FLOWS);
}

static void
deletes_leave_in_batches_of_50(void **state)
{
    struct fixture *fx = *state;
    struct reval_batch b;
    size_t sizes[8], n = 0;

    /* 120 announced ukeys that privd no longer has: 120 GETs. */
    for (int i = 0; i < 120; i++) {
        struct reval_flow f = rflow(&fx->flows[0]);
        f.ufid.u32[3] = (uint32_t) i + 1;
        reval_flow_announced(&fx->r, &f, fx->generation, NOW);
    }
    begin(fx, 120, 10000, 10);
    reval_dump_end(&fx->r, NOW);
    while (reval_take_batch(&fx->r, 64, &b)) {
        sizes[n++] = b.n_ops;
        struct reval_result res[64];
        for (size_t i = 0; i < b.n_ops; i++) {
            res[i] = (struct reval_result) { .error = ENOENT };
        }
        assert_false(reval_cycle_done(&fx->r));
        reval_batch_done(&fx->r, &b, res, b.n_ops, NOW);
    }
    assert_int_equal(n, 3);
    assert_int_equal(sizes[0], 50);
    assert_int_equal(sizes[1], 50);
    assert_int_equal(sizes[2], 20);
    assert_int_equal(fx->r.ukeys.n, 0);
    assert_true(reval_cycle_done(&fx->r));
}

static void
busy_ukey_skipped_until_result(void **state)
{
    struct fixture *fx = *state;
    struct reval_batch b;

    announce(fx, 0);
    fx->flows[0].stats = (struct ukey_stats) { 1, 10, NOW - MAX_IDLE - 1, 0 };
    begin(fx, 1, 10000, 10);
    dump(fx, 0, NOW);
    assert_true(reval_take_batch(&fx->r, 64, &b));
    /* Dumped again while the delete is in flight: nothing new queued. */
    dump(fx, 0, NOW);
    reval_dump_end(&fx->r, NOW);
    assert_int_equal(reval_n_queued(&fx->r), 0);
    /* privd went away: the ukey stays for the successor's... own run. */
    reval_batch_abandon(&fx->r, &b);
    assert_int_equal(fx->r.ukeys.n, 1);
    assert_true(reval_cycle_done(&fx->r));
}

static void
batch_refused_as_whole_keeps_ukeys(void **state)
{
    struct fixture *fx = *state;
    struct reval_batch b;
    struct reval_result refused = { .error = EPERM };

    announce(fx, 0);
    announce(fx, 1);
    fx->flows[0].stats.used = fx->flows[1].stats.used = NOW - MAX_IDLE - 1;
    begin(fx, 2, 10000, 10);
    dump(fx, 0, NOW);
    dump(fx, 1, NOW);
    assert_true(reval_take_batch(&fx->r, 64, &b));
    assert_int_equal(b.n_ops, 2);
    reval_batch_done(&fx->r, &b, &refused, 1, NOW);
    assert_int_equal(fx->r.ukeys.n, 2);
    assert_true(reval_cycle_done(&fx->r));
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(idle_flow_deleted_active_kept),
        T(never_used_flow_ages_from_creation),
        T(over_limit_idle_is_100ms),
        T(over_twice_limit_deletes_active_flows),
        T(stats_delta_pushed_exactly_once),
        T(adopted_flow_pushes_only_new_packets),
        T(credits_survive_until_taken),
        T(unchanged_translation_keeps_flow),
        T(actions_changed_same_mask_modifies),
        T(wider_mask_deletes),
        T(only_affected_flows_change),
        T(should_revalidate_heuristic),
        T(slow_dump_deletes_quiet_flows_instead_of_retranslating),
        T(missed_flow_checked_with_get),
        T(purge_deletes_everything_with_final_stats),
        T(deletes_leave_in_batches_of_50),
        T(busy_ukey_skipped_until_result),
        T(batch_refused_as_whole_keeps_ukeys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
