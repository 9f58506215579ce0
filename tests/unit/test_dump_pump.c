/* Unit tests for privd's revalidation cycle (privd/dump-pump.c) through a
 * fake sink (struct dump_pump_sink) on a "dummy" datapath: each dumped
 * flow goes to the revalidator that owns its ufid, every shard gets an
 * end_of_dump, the cycle completes on the acks; a full ring holds the
 * shard back until it drains; a revalidator that dies or is down counts
 * as done. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/flow.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/ufid.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/privd.h"
#include "privd/status-page.h"

#define N_SHARDS 3
#define N_FLOWS 40

/* What the fake sink saw of one revalidator, and how it answers. */
struct fake_shard {
    pid_t pid;                  /* Its "process"; 0: down. */
    bool full;                  /* Its dump ring is full: ENOBUFS. */
    size_t n_msgs;              /* DumpShards delivered. */
    size_t n_flows;             /* Flows in them. */
    size_t n_misrouted;         /* Flows whose ufid another shard owns. */
    bool ended;                 /* An end_of_dump arrived. */
    uint64_t dump_seq;          /* Of the last DumpShard. */
    unsigned int kills;         /* kill_revalidator() calls. */
};

/* The fixture: a dummy datapath with N_FLOWS flows, its pump, the sink. */
struct fixture {
    struct privd_dp dp;         /* dp.dpif owned. */
    struct status_page *status; /* Owned. */
    struct dump_pump *pump;     /* Owned. */
    struct fake_shard shards[N_SHARDS];
    unsigned int n_done;        /* Waiter completions. */
    struct dump_pump_cycle last; /* The last completed cycle. */
};

static int
fake_send_shard(void *fx_, unsigned int shard, const Dpif__DumpShard *msg)
{
    struct fixture *fx = fx_;
    struct fake_shard *s = &fx->shards[shard];

    assert_true(shard < N_SHARDS);
    if (!s->pid) {
        return ENOTCONN;
    }
    if (s->full) {
        return ENOBUFS;
    }
    s->n_msgs++;
    s->dump_seq = msg->dump_seq;
    for (size_t i = 0; i < msg->n_flows; i++) {
        union ufid ufid;
        assert_int_equal(msg->flows[i]->ufid.len, sizeof ufid);
        memcpy(&ufid, msg->flows[i]->ufid.data, sizeof ufid);
        s->n_misrouted += ufid_shard(&ufid, N_SHARDS) != shard;
    }
    s->n_flows += msg->n_flows;
    s->ended |= msg->has_end_of_dump && msg->end_of_dump;
    return 0;
}

static pid_t
fake_revalidator_pid(void *fx_, unsigned int shard)
{
    struct fixture *fx = fx_;
    return fx->shards[shard].pid;
}

static uint64_t
fake_revalidator_progress(void *fx_, unsigned int shard)
{
    struct fixture *fx = fx_;
    return fx->shards[shard].n_msgs;
}

static void
fake_kill_revalidator(void *fx_, unsigned int shard, const char *reason)
{
    struct fixture *fx = fx_;
    assert_non_null(reason);
    fx->shards[shard].kills++;
}

static void
cycle_done(const struct dump_pump_cycle *cycle, void *fx_)
{
    struct fixture *fx = fx_;
    fx->n_done++;
    fx->last = *cycle;
}

/* Installs flow number 'i': UDP to 10.0.1.'i', exact match, output 2. */
static void
put_flow(struct dpif *dpif, unsigned int i)
{
    struct flow f;
    struct buf key, actions;
    union ufid ufid;

    memset(&f, 0, sizeof f);
    f.in_port = 1;
    f.dl_type = htons(0x0800);
    f.nw_src = htonl(0x0a000001);
    f.nw_dst = htonl(0x0a000100 | i);
    f.nw_proto = 17;
    buf_init(&key, 0);
    buf_init(&actions, 0);
    assert_int_equal(odp_key_from_flow(&key, &f, NULL), 0);
    odp_put_output(&actions, 2);
    ufid_from_key(key.data, key.size, NULL, 0, &ufid);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE,
        .key = key.data,
        .key_len = key.size,
        .actions = actions.data,
        .actions_len = actions.size,
        .ufid = &ufid,
    };
    assert_int_equal(dpif_flow_put(dpif, &put), 0);
    buf_uninit(&key);
    buf_uninit(&actions);
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct status_page_values v = { .flow_limit = 10000, .megaflows = true };
    struct errbuf eb = { "" };
    uint32_t port_no = UINT32_MAX;

    assert_int_equal(dpif_create_and_open("tpump0", "dummy", &fx->dp.dpif),
                     0);
    assert_int_equal(dpif_port_add(fx->dp.dpif, "tpp1", "dummy", &port_no),
                     0);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dp.dpif, "tpp2", "dummy", &port_no),
                     0);
    for (unsigned int i = 0; i < N_FLOWS; i++) {
        put_flow(fx->dp.dpif, i);
    }
    assert_int_equal(status_page_create(&v, &fx->status, &eb), 0);
    for (unsigned int i = 0; i < N_SHARDS; i++) {
        fx->shards[i].pid = 100 + (pid_t) i;
    }
    struct dump_pump_sink sink = {
        .send_shard = fake_send_shard,
        .revalidator_pid = fake_revalidator_pid,
        .revalidator_progress = fake_revalidator_progress,
        .kill_revalidator = fake_kill_revalidator,
        .ctx = fx,
    };
    fx->pump = dump_pump_create(&sink, &fx->dp, fx->status, N_SHARDS, 10000,
                                10000);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    dump_pump_destroy(fx->pump);
    status_page_destroy(fx->status);
    assert_int_equal(dpif_delete(fx->dp.dpif), 0);
    dpif_close(fx->dp.dpif);
    free(fx);
    return 0;
}

/* Runs the pump until every shard that is up got its end_of_dump. */
static void
run_until_ended(struct fixture *fx)
{
    for (int n = 0; n < 100; n++) {
        bool all = true;
        dump_pump_run(fx->pump);
        for (unsigned int i = 0; i < N_SHARDS; i++) {
            all &= !fx->shards[i].pid || fx->shards[i].ended;
        }
        if (all) {
            return;
        }
    }
    fail_msg("the dump never ended");
}

static void
ack(struct fixture *fx, unsigned int shard, uint64_t n_deleted)
{
    Dpif__DumpAck a = DPIF__DUMP_ACK__INIT;

    a.dump_seq = fx->shards[shard].dump_seq;
    a.has_n_deleted = true;
    a.n_deleted = n_deleted;
    dump_pump_handle_ack(fx->pump, shard, fx->shards[shard].pid, &a);
}

static void
test_cycle_routes_flows_and_completes(void **state)
{
    struct fixture *fx = *state;
    size_t total = 0;

    dump_pump_request(fx->pump, true, cycle_done, fx);
    run_until_ended(fx);
    for (unsigned int i = 0; i < N_SHARDS; i++) {
        assert_int_equal(fx->shards[i].n_misrouted, 0);
        assert_true(fx->shards[i].dump_seq > 0);
        total += fx->shards[i].n_flows;
    }
    assert_int_equal(total, N_FLOWS);

    ack(fx, 0, 1);
    ack(fx, 1, 2);
    dump_pump_run(fx->pump);
    assert_int_equal(fx->n_done, 0);        /* Shard 2 has not acked. */
    ack(fx, 2, 3);
    dump_pump_run(fx->pump);
    assert_int_equal(fx->n_done, 1);
    assert_true(fx->last.purge);
    assert_int_equal(fx->last.n_flows, N_FLOWS);
    assert_int_equal(fx->last.n_deleted, 6);
    for (unsigned int i = 0; i < N_SHARDS; i++) {
        assert_int_equal(fx->shards[i].kills, 0);
    }
}

static void
test_full_ring_holds_shard_back(void **state)
{
    struct fixture *fx = *state;

    fx->shards[1].full = true;
    dump_pump_request(fx->pump, true, cycle_done, fx);
    for (int n = 0; n < 20; n++) {
        dump_pump_run(fx->pump);
    }
    assert_int_equal(fx->shards[1].n_msgs, 0);
    assert_false(fx->shards[1].ended);
    assert_false(fx->shards[0].ended && fx->shards[2].ended
                 && fx->shards[1].ended);

    fx->shards[1].full = false;         /* The ring drained. */
    run_until_ended(fx);
    size_t total = 0;
    for (unsigned int i = 0; i < N_SHARDS; i++) {
        total += fx->shards[i].n_flows;
        ack(fx, i, 0);
    }
    assert_int_equal(total, N_FLOWS);
    dump_pump_run(fx->pump);
    assert_int_equal(fx->n_done, 1);
}

static void
test_lost_or_down_revalidator_counts_as_done(void **state)
{
    struct fixture *fx = *state;

    fx->shards[2].pid = 0;              /* Down for the whole cycle. */
    dump_pump_request(fx->pump, true, cycle_done, fx);
    run_until_ended(fx);
    assert_int_equal(fx->shards[2].n_msgs, 0);

    ack(fx, 0, 0);
    fx->shards[1].pid = 999;            /* Respawned before acking. */
    uint64_t lost = counter_get("dump_pump_worker_lost");
    dump_pump_run(fx->pump);
    assert_int_equal(fx->n_done, 1);
    assert_int_equal(counter_get("dump_pump_worker_lost"), lost + 1);
    for (unsigned int i = 0; i < N_SHARDS; i++) {
        assert_int_equal(fx->shards[i].kills, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cycle_routes_flows_and_completes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_holds_shard_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_lost_or_down_revalidator_counts_as_done, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
