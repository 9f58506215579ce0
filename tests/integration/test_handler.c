/*
 * test_handler — real dpif-handlerd processes, started by the real spawner,
 * serving a dummy datapath of an in-process privd (supervisor, policy
 * feed, datapath in this process; the same modules privd/main.c runs).
 *
 * What the real dpifd cannot be made to do from outside yet stays here:
 *
 *   - tp_dst_rule_widens_mask_of_flows_it_rejects: a rule table replaced
 *     at run time (policy_feed_set_rules(); dpifctl rules/replace is not
 *     served yet) reaches the running handler, and a higher-priority rule
 *     on tp_dst puts tp_dst into the mask of a flow it did not match; a
 *     bad table is refused with its line and the previous one stays.
 *
 * Everything else of the [handler] tests runs against the real dpifd in
 * test_handler_dpifd.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ds.h"
#include "common/flow.h"
#include "common/odp-format.h"
#include "common/packet.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/timeval.h"
#include "privd/dpif.h"
#include "privd/policy-feed.h"
#include "privd/privd.h"
#include "privd/spawner.h"
#include "privd/supervisor.h"

#include "../unit/helpers/proc_status.h"

#define N_PORTS 4

/* One in-process privd. */
struct fixture {
    struct privd privd;
    struct privd_dp dp;
    struct supervisor *sup;
    struct policy_feed *feed;
    uint32_t ports[N_PORTS];    /* p1..p4 */
};

static struct fixture fx_;

static void
fixture_start(struct fixture *fx, unsigned int n_handlers)
{
    struct spawner_config scfg = {
        .handler_path = TEST_HANDLERD,
        .revalidator_path = TEST_REVALD,
        .max_worker_id = IPC_MAX_WORKERS,
    };
    struct errbuf eb = { "" };

    memset(fx, 0, sizeof *fx);
    config_init_defaults(&fx->privd.cfg);
    fx->privd.cfg.n_handlers = n_handlers;
    fx->privd.cfg.n_revalidators = 1;
    /* Fresh names per test: a failed test leaves its datapath behind. */
    static int n_started;
    char dp_name[16];
    n_started++;
    snprintf(dp_name, sizeof dp_name, "hd%d", n_started);
    assert_int_equal(dpif_create_and_open(dp_name, "dummy", &fx->dp.dpif),
                     0);
    for (int i = 0; i < N_PORTS; i++) {
        char name[16];
        snprintf(name, sizeof name, "hd%dp%d", n_started, i + 1);
        fx->ports[i] = UINT32_MAX;
        assert_int_equal(dpif_port_add(fx->dp.dpif, name, "dummy",
                                       &fx->ports[i]), 0);
    }
    fx->privd.dps = &fx->dp;
    fx->privd.n_dps = 1;
    if (spawner_start(&scfg, &fx->privd.spawner, &eb)) {
        fail_msg("spawner_start: %s", eb.msg);
    }
    assert_int_equal(supervisor_create(&fx->privd, &fx->sup), 0);
    if (policy_feed_create(&fx->privd, fx->sup, &fx->feed, &eb)) {
        fail_msg("policy_feed_create: %s", eb.msg);
    }
}

static void
fixture_stop(struct fixture *fx)
{
    policy_feed_destroy(fx->feed);
    supervisor_destroy(fx->sup);
    spawner_destroy(fx->privd.spawner);
    dpif_delete(fx->dp.dpif);
    dpif_close(fx->dp.dpif);
    config_destroy(&fx->privd.cfg);
}

/* One iteration of privd's loop, waking at least every 10 ms. */
static void
fixture_step(struct fixture *fx)
{
    struct poller p;

    dpif_run(fx->dp.dpif);
    supervisor_run(fx->sup);
    policy_feed_run(fx->feed);
    poller_clear(&p);
    supervisor_wait(fx->sup, &p);
    policy_feed_wait(fx->feed, &p);
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
step_for(struct fixture *fx, long long msec)
{
    long long end = time_msec() + msec;
    while (time_msec() < end) {
        fixture_step(fx);
    }
}

static struct dpif_dp_stats
dp_stats(struct fixture *fx)
{
    struct dpif_dp_stats stats;
    assert_int_equal(dpif_get_dp_stats(fx->dp.dpif, &stats), 0);
    return stats;
}

/* Waits until every worker is up and has its policy. */
static void
wait_ready(struct fixture *fx)
{
    unsigned int n = fx->privd.cfg.n_handlers + 1;
    assert_true(STEP_UNTIL(fx, 10000, supervisor_n_ready(fx->sup) == n));
    step_for(fx, 50);
}

/* Text dump of the datapath's flows, one "key actions:..." per line,
 * sorted by nothing in particular.  The caller frees it. */
static char *
dump_flows(struct fixture *fx)
{
    struct dpif_flow_dump *dump = dpif_flow_dump_create(fx->dp.dpif, false);
    struct dpif_flow_dump_thread *t = dpif_flow_dump_thread_create(dump);
    struct dpif_flow flows[16];
    struct ds s;
    int n;

    ds_init(&s);
    while ((n = dpif_flow_dump_next(t, flows, 16)) > 0) {
        for (int i = 0; i < n; i++) {
            odp_format_key(&s, flows[i].key, flows[i].key_len,
                           flows[i].mask, flows[i].mask_len, false);
            ds_put_cstr(&s, " actions:");
            odp_format_actions(&s, flows[i].actions, flows[i].actions_len);
            ds_put_char(&s, '\n');
        }
    }
    dpif_flow_dump_thread_destroy(t);
    dpif_flow_dump_destroy(dump);
    return ds_steal_cstr(&s);
}

/* The line of 'dump' that contains 'needle', as a new string, or NULL. */
static char *
dump_line(const char *dump, const char *needle)
{
    const char *p = strstr(dump, needle);
    if (!p) {
        return NULL;
    }
    const char *start = p;
    while (start > dump && start[-1] != '\n') {
        start--;
    }
    const char *end = strchr(p, '\n');
    return strndup(start, end ? (size_t) (end - start) : strlen(start));
}

static void
assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle)) {
        fail_msg("\"%s\" not in:\n%s", needle, haystack ? haystack : "");
    }
}

static const struct eth_addr mac_a = { { 0x02, 0, 0, 0, 0, 0x0a } };
static const struct eth_addr mac_b = { { 0x02, 0, 0, 0, 0, 0x0b } };

/* Injects a UDP frame from 'src' to 'dst' with 'tp_dst' on port 'port'. */
static void
inject(struct fixture *fx, uint32_t port, struct eth_addr src,
       struct eth_addr dst, uint16_t tp_src, uint16_t tp_dst)
{
    struct errbuf eb = { "" };
    struct flow f;
    struct buf pkt;

    memset(&f, 0, sizeof f);
    f.dl_src = src;
    f.dl_dst = dst;
    f.dl_type = htons(ETH_P_IP);
    f.nw_src = htonl(0x0a000000 | src.ea[5]);
    f.nw_dst = htonl(0x0a000000 | dst.ea[5]);
    f.nw_proto = IPPROTO_UDP;
    f.nw_ttl = 64;
    f.tp_src = htons(tp_src);
    f.tp_dst = htons(tp_dst);
    buf_init(&pkt, 0);
    assert_int_equal(packet_compose(&pkt, &f, 18, &eb), 0);
    assert_int_equal(dpif_packet_inject(fx->dp.dpif, port, pkt.data,
                                        pkt.size), 0);
    buf_uninit(&pkt);
}

static int
setup(void **state)
{
    struct errbuf eb = { "" };

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
    *state = &fx_;
    return 0;
}

/* ----- tests ------------------------------------------------------------------ */

static void
tp_dst_rule_widens_mask_of_flows_it_rejects(void **state)
{
    struct fixture *fx = *state;
    struct errbuf eb = { "" };
    const char *rules = "priority=100,udp,tp_dst=80,actions=drop\n";

    fixture_start(fx, 1);
    wait_ready(fx);
    assert_int_equal(policy_feed_set_rules(fx->feed, 0, rules, strlen(rules),
                                           "test", &eb), 0);
    step_for(fx, 100);

    inject(fx, fx->ports[0], mac_a, mac_b, 1000, 22);
    inject(fx, fx->ports[0], mac_a, mac_b, 1000, 80);
    assert_true(STEP_UNTIL(fx, 5000, dp_stats(fx).n_flows == 2));

    char *dump = dump_flows(fx);
    char *line = dump_line(dump, "dst=22");
    assert_contains(line, "udp(dst=22)");
    assert_true(!strstr(line, "actions:drop"));
    free(line);
    line = dump_line(dump, "dst=80");
    assert_contains(line, "udp(dst=80)");
    assert_contains(line, "actions:drop");
    free(line);
    free(dump);

    /* A bad table is refused; the previous one stays. */
    assert_int_equal(policy_feed_set_rules(fx->feed, 0, "priority=x\n", 11,
                                           "test", &eb), EINVAL);
    assert_contains(eb.msg, "test:1:");
    fixture_stop(fx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tp_dst_rule_widens_mask_of_flows_it_rejects),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, NULL);
}
