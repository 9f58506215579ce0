/*
 * test_revalidator — the revalidation cycle end to end: privd's supervisor
 * and dump pump in this process, real dpif-revald processes started by the
 * real spawner, a dummy datapath:
 *
 *   - hand_added_flow_adopted_then_expires: a flow put through the dpif
 *     API (as "dpifctl add-flow" does) is adopted by its revalidator and,
 *     never hit, is deleted within max_idle plus one cycle — not before
 *     max_idle;
 *   - active_flow_stays_stats_counted_once_across_kill: a flow that keeps
 *     getting packets stays; its packets reach the rule counters exactly
 *     once, also when its revalidator is SIGKILLed and respawned (the new
 *     incarnation adopts the flow, nothing is lost, nothing counted twice);
 *   - flow_limit_shrinks_on_slow_dumps_and_grows_back: the test knob
 *     (dump_pump_set_test_delay(), env DPIFD_TEST_DUMP_DELAY_MS for a real
 *     dpifd) stretches dumps to 2.5 s: the limit halves; fast dumps of more
 *     than 2000 flows then grow it 1000 per dump;
 *   - above_twice_the_limit_every_flow_goes: with 2500 flows and the limit
 *     set to 1000, every flow is deleted;
 *   - purge_deletes_all_flows: revalidator/purge's privd side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/helpers/proc_status.h"
#include "common/buf.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/privd.h"
#include "privd/spawner.h"
#include "privd/supervisor.h"

struct fixture {
    struct privd privd;
    struct privd_dp dp;
    struct privd_dp *dps[1];    /* privd.dps: 'dp'. */
    struct supervisor *sup;
    struct dump_pump *pump;
};

static void
fixture_start(struct fixture *fx, const char *name, uint32_t max_idle)
{
    struct spawner_config scfg = {
        .handler_path = TEST_HANDLERD,
        .revalidator_path = TEST_REVALD,
        .max_worker_id = IPC_MAX_WORKERS,
    };
    struct errbuf eb = { "" };
    char port[32];

    memset(fx, 0, sizeof *fx);
    config_init_defaults(&fx->privd.cfg);
    fx->privd.cfg.n_handlers = 1;
    fx->privd.cfg.n_revalidators = 2;
    fx->privd.cfg.max_idle_ms = max_idle;
    assert_int_equal(dpif_create_and_open(name, "dummy", &fx->dp.dpif), 0);
    for (uint32_t i = 1; i <= 2; i++) {
        uint32_t port_no = i;
        snprintf(port, sizeof port, "%sp%u", name, i);
        assert_int_equal(dpif_port_add(fx->dp.dpif, port, "dummy", &port_no),
                         0);
    }
    fx->dps[0] = &fx->dp;
    fx->privd.dps = fx->dps;
    fx->privd.n_dps = 1;
    if (spawner_start(&scfg, &fx->privd.spawner, &eb)) {
        fail_msg("spawner_start: %s", eb.msg);
    }
    assert_int_equal(supervisor_create(&fx->privd, &fx->sup), 0);
    fx->pump = supervisor_get_dump_pump(fx->sup, &fx->dp);
    assert_non_null(fx->pump);
}

static void
fixture_stop(struct fixture *fx)
{
    supervisor_destroy(fx->sup);
    spawner_destroy(fx->privd.spawner);
    dpif_delete(fx->dp.dpif);
    dpif_close(fx->dp.dpif);
    config_destroy(&fx->privd.cfg);
}

static void
fixture_step(struct fixture *fx)
{
    struct poller p;

    dpif_run(fx->dp.dpif);
    supervisor_run(fx->sup);
    poller_clear(&p);
    supervisor_wait(fx->sup, &p);
    dpif_wait(fx->dp.dpif, &p);
    poller_timer_wait(&p, time_msec() + 10);
    poller_block(&p);
}

#define STEP_UNTIL(FX, MSEC, COND)                                        \
    ({                                                                    \
        long long deadline_ = time_msec() + (MSEC);                       \
        while (!(COND) && time_msec() < deadline_) {                      \
            fixture_step(FX);                                             \
        }                                                                 \
        (COND);                                                           \
    })

static void
cycle_done(const struct dump_pump_cycle *c, void *done_)
{
    struct dump_pump_cycle *done = done_;
    *done = *c;
    done->dump_seq = c->dump_seq ? c->dump_seq : 1;
}

/* Waits for one full cycle that starts after now (revalidator/wait). */
static struct dump_pump_cycle
wait_cycle(struct fixture *fx, bool purge)
{
    struct dump_pump_cycle done = { .dump_seq = 0 };
    dump_pump_request(fx->pump, purge, cycle_done, &done);
    assert_true(STEP_UNTIL(fx, 15000, done.dump_seq != 0));
    return done;
}

static void
print_counter(const char *name, uint64_t value, void *aux)
{
    (void) aux;
    if (value && (!strncmp(name, "reval", 5) || !strncmp(name, "ukey", 4)
                  || !strncmp(name, "op_", 3) || !strncmp(name, "worker", 6))) {
        fprintf(stderr, "  %s = %llu\n", name, (unsigned long long) value);
    }
}

/* Prints the revalidators' counters (for a failing test's log). */
static void
dump_counters(struct fixture *fx)
{
    supervisor_request_reports(fx->sup);
    long long until = time_msec() + 300;
    while (time_msec() < until) {
        fixture_step(fx);
    }
    supervisor_for_each_counter(fx->sup, print_counter, NULL);
}

static uint64_t
n_flows(struct fixture *fx)
{
    struct dpif_dp_stats s;
    assert_int_equal(dpif_get_dp_stats(fx->dp.dpif, &s), 0);
    return s.n_flows;
}

/* An ARP frame from 02:..:01 to 02:..:02 with sender address 'spa'. */
static void
make_frame(uint8_t frame[60], uint32_t spa)
{
    memset(frame, 0, 60);
    memcpy(frame, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x06"
           "\x00\x01\x08\x00\x06\x04\x00\x01", 22);
    frame[28] = (uint8_t) (spa >> 24);
    frame[29] = (uint8_t) (spa >> 16);
    frame[30] = (uint8_t) (spa >> 8);
    frame[31] = (uint8_t) spa;
}

/* Puts the exact-match flow of 'frame' from port 1 with output:2, by hand
 * (no handler involved). */
static void
put_flow_for_frame(struct fixture *fx, const uint8_t frame[60])
{
    struct errbuf eb = { "" };
    struct flow f;
    struct buf key, actions;

    packet_parse(frame, 60, 1, &f, NULL);
    buf_init(&key, 0);
    buf_init(&actions, 0);
    assert_int_equal(odp_key_from_flow(&key, &f, &eb), 0);
    odp_put_output(&actions, 2);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE,
        .key = key.data, .key_len = key.size,
        .actions = actions.data, .actions_len = actions.size,
    };
    assert_int_equal(dpif_flow_put(fx->dp.dpif, &put), 0);
    buf_uninit(&key);
    buf_uninit(&actions);
}

static void
inject(struct fixture *fx, const uint8_t frame[60], int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(dpif_packet_inject(fx->dp.dpif, 1, frame, 60), 0);
    }
}

/* Packets credited to "no rule" (the revalidators got no policy in this
 * test: translation is the default "normal") of generation 0. */
static uint64_t
credited(struct fixture *fx)
{
    uint64_t packets = 0, bytes = 0;
    dump_pump_get_rule_stats(fx->pump, 0, 0, &packets, &bytes);
    return packets;
}

static void
hand_added_flow_adopted_then_expires(void **state)
{
    struct fixture fx;
    uint8_t frame[60];

    (void) state;
    fixture_start(&fx, "rvdp1", 1000);
    assert_true(STEP_UNTIL(&fx, 10000, supervisor_n_ready(fx.sup) == 3));
    make_frame(frame, 0x0a000001);
    put_flow_for_frame(&fx, frame);
    long long put_at = time_msec();
    assert_int_equal(n_flows(&fx), 1);

    /* Not before max_idle... */
    while (time_msec() < put_at + 900) {
        fixture_step(&fx);
        assert_int_equal(n_flows(&fx), 1);
    }
    /* ...and within max_idle plus one cycle (500 ms), with slack for the
     * cycle in progress. */
    if (!STEP_UNTIL(&fx, 1000 + 500 + 600, n_flows(&fx) == 0)) {
        dump_counters(&fx);
        fail_msg("flow not expired");
    }
    assert_true(time_msec() - put_at >= 1000);
    fixture_stop(&fx);
}

static void
active_flow_stays_stats_counted_once_across_kill(void **state)
{
    struct fixture fx;
    uint8_t frame[60];

    (void) state;
    fixture_start(&fx, "rvdp2", 5000);
    assert_true(STEP_UNTIL(&fx, 10000, supervisor_n_ready(fx.sup) == 3));
    make_frame(frame, 0x0a000002);
    put_flow_for_frame(&fx, frame);
    /* Adopted with zero packets. */
    wait_cycle(&fx, false);
    wait_cycle(&fx, false);

    uint64_t sent = 0;
    for (int round = 0; round < 6; round++) {
        inject(&fx, frame, 10);
        sent += 10;
        wait_cycle(&fx, false);
        assert_int_equal(n_flows(&fx), 1);
    }
    wait_cycle(&fx, false);
    assert_int_equal(credited(&fx), sent);

    /* Kill both revalidators (whichever owns the flow). */
    for (unsigned int i = 0; i < 2; i++) {
        pid_t pid = supervisor_revalidator_pid(fx.sup, &fx.dp, i);
        assert_true(pid > 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
    }
    assert_true(STEP_UNTIL(&fx, 10000,
                           supervisor_revalidator_pid(fx.sup, &fx.dp, 0) > 0
                           && supervisor_revalidator_pid(fx.sup, &fx.dp,
                                                         1) > 0));
    wait_cycle(&fx, false);
    wait_cycle(&fx, false);
    assert_int_equal(n_flows(&fx), 1);
    assert_int_equal(credited(&fx), sent);   /* Nothing counted twice. */
    for (int round = 0; round < 3; round++) {
        inject(&fx, frame, 7);
        sent += 7;
        wait_cycle(&fx, false);
    }
    wait_cycle(&fx, false);
    assert_int_equal(credited(&fx), sent);   /* Nothing lost since. */
    assert_int_equal(n_flows(&fx), 1);
    fixture_stop(&fx);
}

/* Puts 'n' exact-match flows by hand. */
static void
put_many(struct fixture *fx, unsigned int n)
{
    uint8_t frame[60];
    for (unsigned int i = 0; i < n; i++) {
        make_frame(frame, 0x0b000000 + i);
        put_flow_for_frame(fx, frame);
    }
}

static void
flow_limit_shrinks_on_slow_dumps_and_grows_back(void **state)
{
    struct fixture fx;
    struct dump_pump_show show;

    (void) state;
    fixture_start(&fx, "rvdp3", 60000);
    assert_true(STEP_UNTIL(&fx, 10000, supervisor_n_ready(fx.sup) == 3));
    put_many(&fx, 3000);
    wait_cycle(&fx, false);
    dump_pump_get_show(fx.pump, &show);
    uint32_t start = show.flow_limit;
    assert_true(start >= 10000);

    dump_pump_set_test_delay(fx.pump, 2500);
    struct dump_pump_cycle c = wait_cycle(&fx, false);
    assert_true(c.duration_msec > 2000);
    dump_pump_get_show(fx.pump, &show);
    assert_int_equal(show.flow_limit,
                     start / (uint32_t) (c.duration_msec / 1000));
    uint32_t low = show.flow_limit;

    dump_pump_set_test_delay(fx.pump, 0);
    c = wait_cycle(&fx, false);
    if (c.duration_msec < 1000) {
        dump_pump_get_show(fx.pump, &show);
        assert_int_equal(show.flow_limit, low + 1000);
    }
    c = wait_cycle(&fx, false);
    dump_pump_get_show(fx.pump, &show);
    assert_true(show.flow_limit > low);
    assert_int_equal(n_flows(&fx), 3000);
    fixture_stop(&fx);
}

static void
above_twice_the_limit_every_flow_goes(void **state)
{
    struct fixture fx;

    (void) state;
    fixture_start(&fx, "rvdp4", 60000);
    assert_true(STEP_UNTIL(&fx, 10000, supervisor_n_ready(fx.sup) == 3));
    put_many(&fx, 2500);
    wait_cycle(&fx, false);
    assert_int_equal(n_flows(&fx), 2500);
    dump_pump_set_flow_limit(fx.pump, 1000);
    /* The status page's flow count is refreshed every second. */
    assert_true(STEP_UNTIL(&fx, 10000, n_flows(&fx) == 0));
    fixture_stop(&fx);
}

static void
purge_deletes_all_flows(void **state)
{
    struct fixture fx;

    (void) state;
    fixture_start(&fx, "rvdp5", 60000);
    assert_true(STEP_UNTIL(&fx, 10000, supervisor_n_ready(fx.sup) == 3));
    put_many(&fx, 300);
    wait_cycle(&fx, false);
    struct dump_pump_cycle c = wait_cycle(&fx, true);
    assert_true(c.purge);
    assert_int_equal(c.n_deleted, 300);
    assert_int_equal(n_flows(&fx), 0);
    fixture_stop(&fx);
}

static int
setup(void **state)
{
    struct errbuf eb = { "" };

    /* Workers started as root chroot into their working directory. */
    if (geteuid() == 0) {
        if (!test_ensure_user(DPIFD_WORKER_USER)
            || sandbox_prepare_root(TEST_EMPTY_ROOT, &eb)) {
            fprintf(stderr, "setup: %s\n", eb.msg);
            return -1;
        }
        if (chdir(TEST_EMPTY_ROOT)) {
            return -1;
        }
    }
    *state = NULL;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_added_flow_adopted_then_expires),
        cmocka_unit_test(active_flow_stays_stats_counted_once_across_kill),
        cmocka_unit_test(flow_limit_shrinks_on_slow_dumps_and_grows_back),
        cmocka_unit_test(above_twice_the_limit_every_flow_goes),
        cmocka_unit_test(purge_deletes_all_flows),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
