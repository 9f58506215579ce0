/*
 * test_handler_upcall — handlerd/upcall.c: classification, deduplication,
 * translation and composition of one batch of upcalls, without processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/mac-table.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/policy.h"
#include "common/ufid.h"
#include "common/xlate.h"
#include "handlerd/upcall.h"

static const uint32_t ports[] = { 0, 1, 2, 3 };
static const struct eth_addr mac_a = { { 0x02, 0, 0, 0, 0, 0x0a } };
static const struct eth_addr mac_b = { { 0x02, 0, 0, 0, 0, 0x0b } };

/* At most this many upcalls per test batch. */
#define MAX_UPS 64

/* Fixture: the batch scratch, a MAC table, and storage for upcalls. */
struct fixture {
    struct upcall_batch *ub;
    struct mac_table *macs;
    int mac_fd;
    struct policy_table *table;
    struct upcall_env env;
    struct upcall_in ins[MAX_UPS];
    struct buf keys[MAX_UPS];
    struct buf packets[MAX_UPS];
    size_t n;

    Dpif__OpBatch *batches;
    size_t n_batches;
    const uint8_t *kinds;
    struct upcall_summary s;
};

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct errbuf eb = { "" };

    fx->ub = upcall_batch_create();
    struct mac_table *owner;
    if (mac_table_create(64, 0, &fx->mac_fd, &owner, &eb)) {
        return -1;
    }
    mac_table_close(owner);     /* privd's read-only view: a handler's. */
    if (mac_table_attach(fx->mac_fd, true, &fx->macs, &eb)) {
        return -1;
    }
    fx->table = policy_table_create_empty(1);
    fx->env = (struct upcall_env) {
        .table = fx->table,
        .macs = fx->macs,
        .ports = ports,
        .n_ports = ARRAY_SIZE(ports),
        .upcall_pid = 1,
        .megaflows = true,
        .flow_count = 0,
        .flow_limit = 1000,
        .batch_size = IPC_MAX_BATCH,
        .now_msec = 1000,
    };
    for (size_t i = 0; i < MAX_UPS; i++) {
        buf_init(&fx->keys[i], 0);
        buf_init(&fx->packets[i], 0);
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    for (size_t i = 0; i < MAX_UPS; i++) {
        buf_uninit(&fx->keys[i]);
        buf_uninit(&fx->packets[i]);
    }
    policy_table_destroy(fx->table);
    mac_table_close(fx->macs);
    close(fx->mac_fd);
    upcall_batch_destroy(fx->ub);
    free(fx);
    return 0;
}

/* Replaces the rules. */
static void
set_rules(struct fixture *fx, const char *text)
{
    struct errbuf eb = { "" };

    policy_table_destroy(fx->table);
    if (policy_parse(text, strlen(text), "test", 2, &fx->table, &eb)) {
        fail_msg("%s", eb.msg);
    }
    fx->env.table = fx->table;
}

/* A TCP flow from 'src' to 'dst' on 'in_port' to 'tp_dst'. */
static struct flow
tcp_flow(uint32_t in_port, struct eth_addr src, struct eth_addr dst,
         uint16_t tp_dst)
{
    struct flow f;

    memset(&f, 0, sizeof f);
    f.in_port = in_port;
    f.dl_src = src;
    f.dl_dst = dst;
    f.dl_type = htons(ETH_P_IP);
    f.nw_src = htonl(0x0a000001);
    f.nw_dst = htonl(0x0a000002);
    f.nw_proto = IPPROTO_TCP;
    f.nw_ttl = 64;
    f.tp_src = htons(40000);
    f.tp_dst = htons(tp_dst);
    return f;
}

/* Appends an upcall of 'type' for 'flow' with 'userdata' (NULL: none). */
static void
add_upcall(struct fixture *fx, uint32_t type, const struct flow *flow,
           const void *userdata, size_t userdata_len)
{
    struct errbuf eb = { "" };
    struct upcall_in *in = &fx->ins[fx->n];
    struct buf *key = &fx->keys[fx->n];
    struct buf *pkt = &fx->packets[fx->n];
    struct flow parsed;

    assert_true(fx->n < MAX_UPS);
    buf_clear(key);
    buf_clear(pkt);
    assert_int_equal(packet_compose(pkt, flow, 10, &eb), 0);
    /* The datapath's key is that of the parsed frame. */
    packet_parse(pkt->data, pkt->size, flow->in_port, &parsed, NULL);
    assert_int_equal(odp_key_from_flow(key, &parsed, &eb), 0);
    *in = (struct upcall_in) {
        .type = type,
        .key = key->data,
        .key_len = key->size,
        .packet = pkt->data,
        .packet_len = pkt->size,
        .userdata = userdata,
        .userdata_len = userdata_len,
        .has_userdata = userdata != NULL,
        .in_port = flow->in_port,
    };
    fx->n++;
}

static void
process(struct fixture *fx)
{
    upcall_batch_process(fx->ub, &fx->env, fx->ins, fx->n, &fx->batches,
                         &fx->n_batches, &fx->kinds, &fx->s);
}

/* The 'i'th op over all batches. */
static const Dpif__Op *
op_at(const struct fixture *fx, size_t i)
{
    for (size_t b = 0; b < fx->n_batches; b++) {
        if (i < fx->batches[b].n_ops) {
            return fx->batches[b].ops[i];
        }
        i -= fx->batches[b].n_ops;
    }
    fail_msg("no op %zu", i);
    return NULL;
}

static size_t
n_ops(const struct fixture *fx)
{
    size_t n = 0;
    for (size_t b = 0; b < fx->n_batches; b++) {
        n += fx->batches[b].n_ops;
    }
    return n;
}

/* The first put's mask, decoded. */
static void
put_mask(const Dpif__FlowPut *put, struct flow *flow, struct flow *mask)
{
    struct errbuf eb = { "" };

    assert_int_equal(odp_key_to_flow(put->key.data, put->key.len, flow,
                                     &eb), ODP_FIT_PERFECT);
    assert_int_not_equal(odp_mask_to_flow(put->mask.data, put->mask.len,
                                          flow, mask, &eb), ODP_FIT_ERROR);
}

static struct xlate_cookie
cookie(uint8_t type, uint8_t reason, uint16_t probability)
{
    struct xlate_cookie c;

    memset(&c, 0, sizeof c);
    c.type = type;
    c.reason = reason;
    c.probability = probability;
    c.rule_id = 1;
    c.generation = 2;
    return c;
}

/* ----- classification ------------------------------------------------------- */

static void
classify_by_type_and_cookie(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    struct xlate_cookie slow = cookie(XLATE_COOKIE_SLOW_PATH,
                                      XLATE_SLOW_CONTROLLER, 0);
    struct xlate_cookie sample = cookie(XLATE_COOKIE_SAMPLE, 0, 100);
    struct xlate_cookie ctl = cookie(XLATE_COOKIE_CONTROLLER, 0, 0);
    struct xlate_cookie c;
    struct errbuf eb = { "" };

    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &slow, sizeof slow);
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &sample, sizeof sample);
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &ctl, sizeof ctl);
    assert_int_equal(upcall_classify(&fx->ins[0], &c, &eb),
                     UPCALL_CLASS_MISS);
    assert_int_equal(upcall_classify(&fx->ins[1], &c, &eb),
                     UPCALL_CLASS_SLOW_PATH);
    assert_int_equal(c.reason, XLATE_SLOW_CONTROLLER);
    assert_int_equal(upcall_classify(&fx->ins[2], &c, &eb),
                     UPCALL_CLASS_SAMPLE);
    assert_int_equal(upcall_classify(&fx->ins[3], &c, &eb),
                     UPCALL_CLASS_CONTROLLER);
}

static void
classify_rejects_bad_type_and_cookies(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    struct xlate_cookie slow = cookie(XLATE_COOKIE_SLOW_PATH, 1, 0);
    struct xlate_cookie unknown = cookie(9, 0, 0);
    uint8_t short_cookie[3] = { 1, 0, 0 };
    struct xlate_cookie c;
    struct errbuf eb = { "" };

    add_upcall(fx, 7, &f, NULL, 0);                     /* Bad type. */
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, NULL, 0);    /* No cookie. */
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, short_cookie, sizeof short_cookie);
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &unknown, sizeof unknown);
    add_upcall(fx, UPCALL_TYPE_MISS, &f, &slow, sizeof slow);
    for (size_t i = 0; i < fx->n; i++) {
        eb.msg[0] = '\0';
        assert_int_equal(upcall_classify(&fx->ins[i], &c, &eb),
                         UPCALL_CLASS_BAD);
        assert_true(eb.msg[0] != '\0');
    }

    uint64_t bad_type = counter_get("upcall_bad_type");
    uint64_t bad_cookie = counter_get("upcall_bad_cookie");
    process(fx);
    assert_int_equal(counter_get("upcall_bad_type"), bad_type + 1);
    assert_int_equal(counter_get("upcall_bad_cookie"), bad_cookie + 4);
    assert_int_equal(n_ops(fx), 0);
    assert_int_equal(fx->s.n_dropped, 5);
}

static void
sample_and_controller_cookies_are_counted_only(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    struct xlate_cookie sample = cookie(XLATE_COOKIE_SAMPLE, 0, 100);
    struct xlate_cookie ctl = cookie(XLATE_COOKIE_CONTROLLER, 0, 0);
    uint64_t n_sample = counter_get("upcall_sample");
    uint64_t n_ctl = counter_get("upcall_controller");

    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &sample, sizeof sample);
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &ctl, sizeof ctl);
    process(fx);
    assert_int_equal(n_ops(fx), 0);
    assert_int_equal(counter_get("upcall_sample"), n_sample + 1);
    assert_int_equal(counter_get("upcall_controller"), n_ctl + 1);
}

static void
malformed_key_is_dropped(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    uint8_t junk[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint64_t bad_key = counter_get("upcall_bad_key");

    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    fx->ins[0].key = junk;
    fx->ins[0].key_len = sizeof junk;
    process(fx);
    assert_int_equal(n_ops(fx), 0);
    assert_int_equal(counter_get("upcall_bad_key"), bad_key + 1);
}

/* ----- deduplication and composition ---------------------------------------- */

static void
same_flow_is_translated_and_installed_once(void **state)
{
    struct fixture *fx = *state;
    struct flow f1 = tcp_flow(1, mac_a, mac_b, 80);
    struct flow f2 = tcp_flow(1, mac_a, mac_b, 81);
    uint64_t dups = counter_get("upcall_duplicate");

    add_upcall(fx, UPCALL_TYPE_MISS, &f1, NULL, 0);
    add_upcall(fx, UPCALL_TYPE_MISS, &f2, NULL, 0);
    add_upcall(fx, UPCALL_TYPE_MISS, &f1, NULL, 0);
    add_upcall(fx, UPCALL_TYPE_MISS, &f1, NULL, 0);
    process(fx);

    assert_int_equal(fx->s.n_misses, 2);
    assert_int_equal(fx->s.n_puts, 2);
    assert_int_equal(fx->s.n_executes, 4);
    assert_int_equal(counter_get("upcall_duplicate"), dups + 2);
    assert_int_equal(fx->n_batches, 1);
    /* Per flow: its put, then its packets' executes, in upcall order. */
    static const uint8_t want[] = { UPCALL_OP_PUT, UPCALL_OP_EXECUTE,
                                    UPCALL_OP_EXECUTE, UPCALL_OP_EXECUTE,
                                    UPCALL_OP_PUT, UPCALL_OP_EXECUTE };
    assert_memory_equal(fx->kinds, want, sizeof want);
    assert_ptr_equal(op_at(fx, 1)->execute->packet.data, fx->ins[0].packet);
    assert_ptr_equal(op_at(fx, 3)->execute->packet.data, fx->ins[3].packet);

    /* The default rule got the three packets of flow 1 and one of 2. */
    assert_int_equal(fx->table->default_packets, 4);
}

static void
put_has_create_ufid_and_flood_actions(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    union ufid ufid;

    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    process(fx);
    assert_int_equal(n_ops(fx), 2);

    const Dpif__FlowPut *put = op_at(fx, 0)->flow_put;
    assert_true(put->has_create && put->create);
    assert_false(put->has_modify && put->modify);
    assert_int_equal(put->ufid.len, sizeof ufid);
    ufid_from_key(put->key.data, put->key.len, put->mask.data, put->mask.len,
                  &ufid);
    assert_memory_equal(put->ufid.data, &ufid, sizeof ufid);

    /* Unknown destination: "normal" floods to 0, 2, 3. */
    struct buf want;
    buf_init(&want, 0);
    odp_put_output(&want, 0);
    odp_put_output(&want, 2);
    odp_put_output(&want, 3);
    assert_int_equal(put->actions.len, want.size);
    assert_memory_equal(put->actions.data, want.data, want.size);
    const Dpif__Execute *ex = op_at(fx, 1)->execute;
    assert_int_equal(ex->actions.len, want.size);
    assert_memory_equal(ex->actions.data, want.data, want.size);
    assert_ptr_equal(ex->key.data, fx->ins[0].key);
    buf_uninit(&want);
}

static void
mac_is_learned_and_reply_is_unicast(void **state)
{
    struct fixture *fx = *state;
    struct flow req = tcp_flow(1, mac_a, mac_b, 80);
    struct flow reply = tcp_flow(2, mac_b, mac_a, 80);
    uint32_t port;

    add_upcall(fx, UPCALL_TYPE_MISS, &req, NULL, 0);
    process(fx);
    assert_int_equal(mac_table_lookup(fx->macs, mac_a, 0, fx->env.now_msec,
                                      &port), 0);
    assert_int_equal(port, 1);

    fx->n = 0;
    add_upcall(fx, UPCALL_TYPE_MISS, &reply, NULL, 0);
    process(fx);
    const Dpif__FlowPut *put = op_at(fx, 0)->flow_put;
    struct buf want;
    buf_init(&want, 0);
    odp_put_output(&want, 1);
    assert_int_equal(put->actions.len, want.size);
    assert_memory_equal(put->actions.data, want.data, want.size);
    buf_uninit(&want);

    /* "normal" consulted in_port, dl_src, dl_dst, VLAN: not the IP
     * addresses. */
    struct flow key, mask;
    put_mask(put, &key, &mask);
    assert_int_equal(mask.in_port, UINT32_MAX);
    assert_memory_equal(&mask.dl_src, "\xff\xff\xff\xff\xff\xff", 6);
    assert_int_equal(mask.nw_src, 0);
    assert_int_equal(mask.tp_dst, 0);
}

static void
megaflows_disabled_gives_exact_masks(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    struct flow key, mask, exact;

    fx->env.megaflows = false;
    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    process(fx);
    put_mask(op_at(fx, 0)->flow_put, &key, &mask);
    odp_mask_exact(&key, &exact);
    assert_memory_equal(&mask, &exact, sizeof mask);
    assert_int_equal(mask.nw_src, UINT32_MAX);
    assert_int_equal(mask.tp_dst, 0xffff);
}

static void
tp_dst_rule_unwildcards_tp_dst_of_other_flows(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 22);
    struct flow key, mask;

    set_rules(fx, "priority=100,tcp,tp_dst=80,actions=drop\n");
    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    process(fx);
    put_mask(op_at(fx, 0)->flow_put, &key, &mask);
    assert_int_equal(mask.tp_dst, 0xffff);
    assert_int_equal(mask.nw_proto, 0xff);
}

static void
drop_rule_installs_but_executes_nothing(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);

    set_rules(fx, "priority=100,tcp,tp_dst=80,actions=drop\n");
    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    process(fx);
    assert_int_equal(fx->s.n_puts, 1);
    assert_int_equal(fx->s.n_executes, 0);
    assert_int_equal(op_at(fx, 0)->flow_put->actions.len, 0);
}

static void
unknown_port_gets_exact_drop_flow(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(9, mac_a, mac_b, 80);
    uint64_t unknown = counter_get("upcall_unknown_port");
    struct flow key, mask, exact;

    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    process(fx);
    assert_int_equal(counter_get("upcall_unknown_port"), unknown + 1);
    assert_int_equal(n_ops(fx), 1);
    const Dpif__FlowPut *put = op_at(fx, 0)->flow_put;
    assert_int_equal(put->actions.len, 0);
    put_mask(put, &key, &mask);
    odp_mask_exact(&key, &exact);
    assert_memory_equal(&mask, &exact, sizeof mask);
    assert_int_equal(key.in_port, 9);
    /* Nothing learned from a port we do not know. */
    uint32_t port;
    assert_int_equal(mac_table_lookup(fx->macs, mac_a, 0, fx->env.now_msec,
                                      &port), ENOENT);
}

static void
flow_limit_stops_puts_not_executes(void **state)
{
    struct fixture *fx = *state;
    uint64_t hits = counter_get("upcall_flow_limit_hit");

    fx->env.flow_count = 9;
    fx->env.flow_limit = 10;
    for (uint16_t i = 0; i < 3; i++) {
        struct flow f = tcp_flow(1, mac_a, mac_b, 80 + i);
        add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    }
    process(fx);
    assert_int_equal(fx->s.n_puts, 1);
    assert_int_equal(fx->s.n_executes, 3);
    assert_int_equal(fx->env.flow_count, 10);
    assert_int_equal(counter_get("upcall_flow_limit_hit"), hits + 2);
}

static void
ops_beyond_batch_size_are_split(void **state)
{
    struct fixture *fx = *state;

    fx->env.batch_size = 4;
    for (uint16_t i = 0; i < 3; i++) {
        struct flow f = tcp_flow(1, mac_a, mac_b, 80 + i);
        add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    }
    process(fx);
    assert_int_equal(fx->n_batches, 2);
    assert_int_equal(fx->batches[0].n_ops, 4);
    assert_int_equal(fx->batches[1].n_ops, 2);
    assert_int_equal(op_at(fx, 4)->op_case, DPIF__OP__OP_FLOW_PUT);
    assert_int_equal(op_at(fx, 5)->op_case, DPIF__OP__OP_EXECUTE);
}

static void
slow_path_installs_userspace_then_executes_only(void **state)
{
    struct fixture *fx = *state;
    struct flow f = tcp_flow(1, mac_a, mac_b, 80);
    uint64_t ctl = counter_get("upcall_controller_packets");

    set_rules(fx, "priority=100,tcp,tp_dst=80,actions=controller\n");
    add_upcall(fx, UPCALL_TYPE_MISS, &f, NULL, 0);
    process(fx);
    assert_int_equal(fx->s.n_puts, 1);
    const Dpif__FlowPut *put = op_at(fx, 0)->flow_put;
    assert_true(odp_actions_has_userspace(put->actions.data,
                                          put->actions.len));
    assert_int_equal(counter_get("upcall_controller_packets"), ctl + 1);

    /* The packet comes back as an ACTION upcall with the slow-path
     * cookie: translated, counted, not installed again. */
    struct xlate_cookie c = cookie(XLATE_COOKIE_SLOW_PATH,
                                   XLATE_SLOW_CONTROLLER, 0);
    fx->n = 0;
    add_upcall(fx, UPCALL_TYPE_ACTION, &f, &c, sizeof c);
    process(fx);
    assert_int_equal(fx->s.n_puts, 0);
    assert_int_equal(counter_get("upcall_controller_packets"), ctl + 2);
}

static void
results_eexist_is_not_an_error(void **state)
{
    uint64_t exists = counter_get("upcall_put_exists");
    uint64_t failed = counter_get("upcall_put_failed");
    uint64_t xfailed = counter_get("upcall_execute_failed");

    (void) state;
    assert_true(upcall_note_result(UPCALL_OP_PUT, 0, NULL));
    assert_true(upcall_note_result(UPCALL_OP_PUT, EEXIST, "exists"));
    assert_false(upcall_note_result(UPCALL_OP_PUT, EPERM, "refused"));
    assert_false(upcall_note_result(UPCALL_OP_EXECUTE, EINVAL, NULL));
    assert_int_equal(counter_get("upcall_put_exists"), exists + 1);
    assert_int_equal(counter_get("upcall_put_failed"), failed + 1);
    assert_int_equal(counter_get("upcall_execute_failed"), xfailed + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(classify_by_type_and_cookie),
        T(classify_rejects_bad_type_and_cookies),
        T(sample_and_controller_cookies_are_counted_only),
        T(malformed_key_is_dropped),
        T(same_flow_is_translated_and_installed_once),
        T(put_has_create_ufid_and_flood_actions),
        T(mac_is_learned_and_reply_is_unicast),
        T(megaflows_disabled_gives_exact_masks),
        T(tp_dst_rule_unwildcards_tp_dst_of_other_flows),
        T(drop_rule_installs_but_executes_nothing),
        T(unknown_port_gets_exact_drop_flow),
        T(flow_limit_stops_puts_not_executes),
        T(ops_beyond_batch_size_are_split),
        T(slow_path_installs_userspace_then_executes_only),
        T(results_eexist_is_not_an_error),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
