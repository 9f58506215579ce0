/*
 * test_handler — real dpif-handlerd processes, started by the real spawner,
 * serving a dummy datapath of an in-process privd (supervisor, policy
 * feed, datapath in this process; the same modules privd/main.c runs):
 *
 *   - l2_flood_then_unicast_flows_and_hits: the first packet between two
 *     hosts floods, the reply is unicast; both directions get flows whose
 *     keys and masks are asserted on the text dump; repeated packets hit
 *     the datapath (hit counter rises, missed does not);
 *   - tp_dst_rule_widens_mask_of_flows_it_rejects: a higher-priority rule
 *     on tp_dst puts tp_dst into the mask of a flow it did not match;
 *   - vlan_tag_and_strip_at_the_capture_ring: mod_vlan_vid and strip_vlan
 *     rules produce tagged and untagged frames at the capture ring;
 *   - flow_limit_is_respected: with flow-limit 8, 40 distinct flows leave
 *     at most 8 in the datapath, the rest counted (upcall_flow_limit_hit),
 *     while every packet is still forwarded;
 *   - bad_upcalls_are_counted: a flow added by hand whose USERSPACE action
 *     carries a malformed cookie sends its packets up as bad upcalls;
 *   - two_handlers_share_and_survive_a_kill: upcalls from four ports are
 *     served by both handlers; after kill -9 of one, the other keeps
 *     installing flows and the killed one is restarted and serves again.
 *
 * Until privd/main.c runs the supervisor, this in-process privd is the
 * harness; the checks are on what a dpifctl user would see (dump text,
 * datapath stats, worker counters, captured frames).
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
    struct privd_dp *dps[1];    /* privd.dps: 'dp'. */
    struct supervisor *sup;
    struct policy_feed *feed;
    uint32_t ports[N_PORTS];    /* p1..p4 */
};

static struct fixture fx_;

static void
fixture_start(struct fixture *fx, unsigned int n_handlers,
              uint32_t flow_limit)
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
    if (flow_limit) {
        fx->privd.cfg.flow_limit = flow_limit;
    }
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
    fx->dps[0] = &fx->dp;
    fx->privd.dps = fx->dps;
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

/* Sums a worker counter, after asking every worker for a report. */
struct counter_find {
    const char *name;
    uint64_t value;
};

static void
counter_find_cb(const char *name, uint64_t value, void *cf_)
{
    struct counter_find *cf = cf_;
    if (!strcmp(name, cf->name)) {
        cf->value = value;
    }
}

static uint64_t
worker_counter(struct fixture *fx, const char *name)
{
    struct counter_find cf = { name, 0 };

    supervisor_request_reports(fx->sup);
    step_for(fx, 100);
    supervisor_for_each_counter(fx->sup, counter_find_cb, &cf);
    return cf.value;
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
       struct eth_addr dst, uint16_t vlan, uint16_t tp_src, uint16_t tp_dst)
{
    struct errbuf eb = { "" };
    struct flow f;
    struct buf pkt;

    memset(&f, 0, sizeof f);
    f.dl_src = src;
    f.dl_dst = dst;
    f.vlan_tci = vlan ? htons(VLAN_CFI | vlan) : 0;
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

/* Captured frames of one port. */
struct capture {
    size_t n;
    struct flow last;           /* Parsed last frame. */
};

static void
capture_cb(const void *frame, size_t len, long long wall_msec, void *c_)
{
    struct capture *c = c_;
    (void) wall_msec;
    c->n++;
    packet_parse(frame, len, 0, &c->last, NULL);
}

static struct capture
capture(struct fixture *fx, uint32_t port)
{
    struct capture c;
    memset(&c, 0, sizeof c);
    assert_int_equal(dpif_capture_read(fx->dp.dpif, port, true, capture_cb,
                                       &c), 0);
    return c;
}

static void
clear_captures(struct fixture *fx)
{
    for (int i = 0; i < N_PORTS; i++) {
        capture(fx, fx->ports[i]);
    }
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
l2_flood_then_unicast_flows_and_hits(void **state)
{
    struct fixture *fx = *state;
    char *dump, *line;

    fixture_start(fx, 1, 0);
    wait_ready(fx);
    uint32_t p1 = fx->ports[0], p2 = fx->ports[1];

    /* A -> B on p1: B is unknown, flood to every other port. */
    inject(fx, p1, mac_a, mac_b, 0, 1000, 2000);
    assert_true(STEP_UNTIL(fx, 5000, dp_stats(fx).n_flows == 1));
    step_for(fx, 50);
    assert_int_equal(capture(fx, p1).n, 0);
    for (int i = 1; i < N_PORTS; i++) {
        assert_int_equal(capture(fx, fx->ports[i]).n, 1);
    }

    /* B -> A on p2: A was learned on p1, unicast. */
    inject(fx, p2, mac_b, mac_a, 0, 2000, 1000);
    assert_true(STEP_UNTIL(fx, 5000, dp_stats(fx).n_flows == 2));
    step_for(fx, 50);
    assert_int_equal(capture(fx, p1).n, 1);
    for (int i = 1; i < N_PORTS; i++) {
        assert_int_equal(capture(fx, fx->ports[i]).n, 0);
    }

    /* Keys and masks: "normal" consulted in_port, the addresses, the VLAN
     * (exact, implicitly) and nothing of L3/L4. */
    dump = dump_flows(fx);
    line = dump_line(dump, "eth(src=02:00:00:00:00:0a");
    assert_contains(line, "in_port(1)");
    assert_contains(line, "eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b)");
    assert_contains(line, "actions:");
    assert_true(!strstr(line, "ipv4(src="));
    assert_true(!strstr(line, "udp(src="));
    free(line);
    line = dump_line(dump, "eth(src=02:00:00:00:00:0b");
    assert_contains(line, "in_port(2)");
    assert_contains(line, "eth(src=02:00:00:00:00:0b,dst=02:00:00:00:00:0a)");
    assert_contains(line, "actions:1");
    assert_true(!strstr(line, "udp(src="));
    free(line);
    free(dump);

    /* Repeats, even of other L4 ports, hit the installed megaflows. */
    struct dpif_dp_stats before = dp_stats(fx);
    for (int i = 0; i < 10; i++) {
        inject(fx, p1, mac_a, mac_b, 0, 1000 + i, 2000);
        inject(fx, p2, mac_b, mac_a, 0, 2000, 1000 + i);
    }
    step_for(fx, 100);
    struct dpif_dp_stats after = dp_stats(fx);
    assert_int_equal(after.n_hit, before.n_hit + 20);
    assert_int_equal(after.n_missed, before.n_missed);
    assert_int_equal(after.n_flows, 2);
    assert_int_equal(capture(fx, p1).n, 10);
    assert_true(worker_counter(fx, "upcall_put_ok") >= 2);
    fixture_stop(fx);
}

static void
tp_dst_rule_widens_mask_of_flows_it_rejects(void **state)
{
    struct fixture *fx = *state;
    struct errbuf eb = { "" };
    const char *rules = "priority=100,udp,tp_dst=80,actions=drop\n";

    fixture_start(fx, 1, 0);
    wait_ready(fx);
    assert_int_equal(policy_feed_set_rules(fx->feed, &fx->dp, rules,
                                           strlen(rules), "test", &eb), 0);
    step_for(fx, 100);

    inject(fx, fx->ports[0], mac_a, mac_b, 0, 1000, 22);
    inject(fx, fx->ports[0], mac_a, mac_b, 0, 1000, 80);
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
    assert_int_equal(policy_feed_set_rules(fx->feed, &fx->dp, "priority=x\n",
                                           11, "test", &eb), EINVAL);
    assert_contains(eb.msg, "test:1:");
    fixture_stop(fx);
}

static void
vlan_tag_and_strip_at_the_capture_ring(void **state)
{
    struct fixture *fx = *state;
    struct errbuf eb = { "" };
    char rules[256];

    fixture_start(fx, 1, 0);
    wait_ready(fx);
    snprintf(rules, sizeof rules,
             "priority=10,in_port=%u,actions=mod_vlan_vid:10,output:%u\n"
             "priority=10,in_port=%u,actions=strip_vlan,output:%u\n",
             fx->ports[0], fx->ports[1], fx->ports[2], fx->ports[3]);
    assert_int_equal(policy_feed_set_rules(fx->feed, &fx->dp, rules,
                                           strlen(rules), "test", &eb), 0);
    step_for(fx, 100);
    clear_captures(fx);

    inject(fx, fx->ports[0], mac_a, mac_b, 0, 1, 2);
    inject(fx, fx->ports[2], mac_a, mac_b, 20, 1, 2);
    assert_true(STEP_UNTIL(fx, 5000, dp_stats(fx).n_flows == 2));
    step_for(fx, 50);

    struct capture tagged = capture(fx, fx->ports[1]);
    assert_int_equal(tagged.n, 1);
    assert_int_equal(ntohs(tagged.last.vlan_tci), VLAN_CFI | 10);
    assert_int_equal(ntohs(tagged.last.dl_type), ETH_P_IP);
    struct capture stripped = capture(fx, fx->ports[3]);
    assert_int_equal(stripped.n, 1);
    assert_int_equal(stripped.last.vlan_tci, 0);
    assert_int_equal(ntohs(stripped.last.dl_type), ETH_P_IP);
    fixture_stop(fx);
}

static void
flow_limit_is_respected(void **state)
{
    struct fixture *fx = *state;
    const uint32_t limit = 8;

    fixture_start(fx, 1, limit);
    wait_ready(fx);
    clear_captures(fx);
    for (int i = 0; i < 40; i++) {
        struct eth_addr src = mac_a;
        src.ea[4] = (uint8_t) i;
        inject(fx, fx->ports[0], src, mac_b, 0, 1, 2);
        fixture_step(fx);
    }
    step_for(fx, 500);
    assert_true(dp_stats(fx).n_flows <= limit);
    assert_true(dp_stats(fx).n_flows >= 1);
    assert_true(worker_counter(fx, "upcall_flow_limit_hit") >= 40 - limit);
    /* Every packet was still forwarded (flooded to the 3 other ports). */
    assert_int_equal(capture(fx, fx->ports[1]).n, 40);
    fixture_stop(fx);
}

static void
bad_upcalls_are_counted(void **state)
{
    struct fixture *fx = *state;
    struct errbuf eb = { "" };
    struct buf key, mask, actions;

    fixture_start(fx, 1, 0);
    wait_ready(fx);

    /* A flow whose USERSPACE action sends its packets to handler 0 (pid 1)
     * with a cookie of the wrong size. */
    buf_init(&key, 0);
    buf_init(&mask, 0);
    buf_init(&actions, 0);
    char spec[128];
    snprintf(spec, sizeof spec, "in_port(%u),eth_type(0x0800)",
             fx->ports[0]);
    assert_int_equal(odp_parse_key(spec, &key, &mask, &eb), 0);
    assert_int_equal(odp_parse_actions("userspace(pid=1,userdata(01020304))",
                                       &actions, &eb), 0);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE,
        .key = key.data, .key_len = key.size,
        .mask = mask.data, .mask_len = mask.size,
        .actions = actions.data, .actions_len = actions.size,
    };
    assert_int_equal(dpif_flow_put(fx->dp.dpif, &put), 0);

    for (int i = 0; i < 5; i++) {
        inject(fx, fx->ports[0], mac_a, mac_b, 0, 1, 2);
    }
    assert_true(STEP_UNTIL(fx, 5000,
                           worker_counter(fx, "upcall_bad_cookie") == 5));
    assert_int_equal(dp_stats(fx).n_flows, 1);
    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&actions);
    fixture_stop(fx);
}

/* Pids of the handlers. */
struct handler_pids {
    pid_t pids[2];
    size_t n;
};

static void
handler_pids_cb(const struct proc_info *info, void *hp_)
{
    struct handler_pids *hp = hp_;
    if (!strcmp(info->role, "handler") && hp->n < 2) {
        hp->pids[hp->n++] = info->pid;
    }
}

static struct handler_pids
handler_pids(struct fixture *fx)
{
    struct handler_pids hp = { { 0, 0 }, 0 };
    supervisor_for_each_proc(fx->sup, handler_pids_cb, &hp);
    return hp;
}

static void
two_handlers_share_and_survive_a_kill(void **state)
{
    struct fixture *fx = *state;
    struct errbuf eb = { "" };

    fixture_start(fx, 2, 0);
    wait_ready(fx);

    /* Ports alternate between the handlers (port_no % 2). */
    for (int i = 0; i < 40; i++) {
        struct eth_addr src = mac_a;
        src.ea[4] = (uint8_t) i;
        inject(fx, fx->ports[i % N_PORTS], src, mac_b, 0, 1, 2);
    }
    assert_true(STEP_UNTIL(fx, 5000, dp_stats(fx).n_flows == 40));
    assert_int_equal(worker_counter(fx, "handler_upcall_batches") >= 2, 1);

    /* Kill handler 1 mid-stream; handler 0 keeps working, and handler 1
     * comes back and serves its ports again. */
    struct handler_pids hp = handler_pids(fx);
    assert_int_equal(hp.n, 2);
    for (int i = 0; i < 20; i++) {
        struct eth_addr src = mac_b;
        src.ea[4] = (uint8_t) i;
        inject(fx, fx->ports[i % N_PORTS], src, mac_a, 0, 3, 4);
    }
    assert_int_equal(spawner_kill(fx->privd.spawner, hp.pids[1], &eb), 0);
    assert_true(STEP_UNTIL(fx, 10000, handler_pids(fx).pids[1] != hp.pids[1]
                           && handler_pids(fx).pids[1] != 0
                           && supervisor_n_ready(fx->sup) == 3));
    /* The new handler 1 may still install flows for upcalls queued while
     * it was down: let it drain them before counting. */
    step_for(fx, 500);
    uint64_t before = dp_stats(fx).n_flows;
    assert_true(before >= 40 + 10); /* Handler 0's ten at least. */
    for (int i = 0; i < 20; i++) {
        struct eth_addr src = mac_b;
        src.ea[3] = 1;
        src.ea[4] = (uint8_t) i;
        inject(fx, fx->ports[i % N_PORTS], src, mac_a, 0, 3, 4);
    }
    assert_true(STEP_UNTIL(fx, 5000, dp_stats(fx).n_flows == before + 20));
    fixture_stop(fx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(l2_flood_then_unicast_flows_and_hits),
        cmocka_unit_test(tp_dst_rule_widens_mask_of_flows_it_rejects),
        cmocka_unit_test(vlan_tag_and_strip_at_the_capture_ring),
        cmocka_unit_test(flow_limit_is_respected),
        cmocka_unit_test(bad_upcalls_are_counted),
        cmocka_unit_test(two_handlers_share_and_survive_a_kill),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, NULL);
}
