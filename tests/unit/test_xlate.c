/* Tests for common/xlate.c: the learning switch (flood, then unicast after
 * learning, same-port drop), VLAN push/pop/rewrite, header rewrites,
 * controller slow path and sample cookies, megaflow mask contents, and the
 * megaflow property: for random rule tables and packets (fixed seed), every
 * packet that matches a translation's megaflow translates identically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/mac-table.h"
#include "common/odp-actions.h"
#include "common/policy.h"
#include "common/xlate.h"

#define PID 4242
#define NOW 5000000LL

static const uint32_t ports[] = { 0, 1, 2, 3 };

static const struct eth_addr mac_a = { { 0x02, 0, 0, 0, 0, 0x0a } };
static const struct eth_addr mac_b = { { 0x02, 0, 0, 0, 0, 0x0b } };
static const struct eth_addr mac_bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff } };

struct fixture {
    int fd;                     /* MAC table region. */
    struct mac_table *macs;     /* Writable mapping. */
    struct policy_table *table; /* Current rules (NULL: none). */
    struct xlate_out out;       /* Last translation. */
    struct buf want;            /* Expected actions. */
    struct flow flow;           /* Packet under test. */
};

static int
setup(void **state)
{
    struct fixture *f = xzalloc(sizeof *f);
    struct errbuf eb;

    struct mac_table *owner;
    assert_int_equal(mac_table_create(64, 0, &f->fd, &owner, &eb), 0);
    mac_table_close(owner);     /* privd's read-only view: a handler's. */
    assert_int_equal(mac_table_attach(f->fd, true, &f->macs, &eb), 0);
    xlate_out_init(&f->out);
    buf_init(&f->want, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    buf_uninit(&f->want);
    xlate_out_uninit(&f->out);
    policy_table_destroy(f->table);
    mac_table_close(f->macs);
    close(f->fd);
    free(f);
    return 0;
}

static void
load_rules(struct fixture *f, const char *text)
{
    struct errbuf eb;

    policy_table_destroy(f->table);
    f->table = NULL;
    if (policy_parse(text, strlen(text), "rules", 1, &f->table, &eb)) {
        fail_msg("%s", eb.msg);
    }
}

static void
l2_flow(struct flow *flow, uint32_t in_port, struct eth_addr src,
        struct eth_addr dst)
{
    memset(flow, 0, sizeof *flow);
    flow->in_port = in_port;
    flow->dl_src = src;
    flow->dl_dst = dst;
    flow->dl_type = htons(0x0800);
    flow->nw_proto = 6;
    flow->nw_src = htonl(0x0a000001);
    flow->nw_dst = htonl(0x0a000002);
    flow->tp_src = htons(33000);
    flow->tp_dst = htons(22);
}

static void
translate(struct fixture *f)
{
    struct xlate_in in = {
        .flow = &f->flow, .table = f->table, .ports = ports,
        .n_ports = ARRAY_SIZE(ports), .macs = f->macs, .upcall_pid = PID,
        .now_msec = NOW,
    };
    struct errbuf eb;

    if (xlate_translate(&in, &f->out, &eb)) {
        fail_msg("%s", eb.msg);
    }
}

/* Asserts that the last translation's actions equal f->want (and are
 * valid), then clears f->want. */
static void
assert_actions(struct fixture *f)
{
    struct odp_actions_policy policy = {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .port_ok = odp_accept_any, .pid_ok = odp_accept_any,
    };
    struct errbuf eb;

    if (odp_actions_validate(f->out.actions.data, f->out.actions.size,
                             &policy, &eb)) {
        fail_msg("invalid actions: %s", eb.msg);
    }
    assert_true(odp_actions_equal(f->out.actions.data, f->out.actions.size,
                                  f->want.data, f->want.size));
    if (!f->out.slow) {
        assert_true(odp_actions_equal(f->out.flow_actions.data,
                                      f->out.flow_actions.size,
                                      f->want.data, f->want.size));
    }
    buf_clear(&f->want);
}

static void
learn(struct fixture *f)
{
    const struct xlate_learn *l = &f->out.learn;

    assert_true(l->valid);
    assert_int_equal(mac_table_learn(f->macs, l->mac, l->vlan, l->port, NOW,
                                     NULL), 0);
}

static void
test_l2_flood_then_unicast_after_learning(void **state)
{
    struct fixture *f = *state;
    struct flow want_mask;

    /* A -> B, B unknown: flood to all but port 1, learn A on 1. */
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);
    odp_put_output(&f->want, 0);
    odp_put_output(&f->want, 2);
    odp_put_output(&f->want, 3);
    assert_actions(f);
    assert_int_equal(f->out.rule_id, POLICY_RULE_DEFAULT);
    assert_true(eth_addr_equals(f->out.learn.mac, mac_a));
    assert_int_equal(f->out.learn.port, 1);
    assert_int_equal(f->out.learn.vlan, 0);
    learn(f);

    /* Exactly in_port, dl_src, dl_dst and VLAN id + CFI were consulted. */
    memset(&want_mask, 0, sizeof want_mask);
    want_mask.in_port = UINT32_MAX;
    memset(&want_mask.dl_src, 0xff, sizeof want_mask.dl_src);
    memset(&want_mask.dl_dst, 0xff, sizeof want_mask.dl_dst);
    want_mask.vlan_tci = htons(VLAN_CFI | VLAN_VID_MASK);
    assert_memory_equal(&f->out.mask, &want_mask, sizeof want_mask);

    /* B -> A: unicast to port 1. */
    l2_flow(&f->flow, 2, mac_b, mac_a);
    translate(f);
    odp_put_output(&f->want, 1);
    assert_actions(f);
    learn(f);

    /* A -> B again: unicast now. */
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);
    odp_put_output(&f->want, 2);
    assert_actions(f);
}

static void
test_l2_destination_on_input_port_drops(void **state)
{
    struct fixture *f = *state;
    uint64_t n = counter_get("xlate_normal_same_port");

    assert_int_equal(mac_table_learn(f->macs, mac_b, 0, 1, NOW, NULL), 0);
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);
    assert_actions(f);          /* Empty: drop. */
    assert_int_equal(counter_get("xlate_normal_same_port"), n + 1);
}

static void
test_l2_broadcast_floods_and_vlans_separate(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(mac_table_learn(f->macs, mac_b, 10, 3, NOW, NULL), 0);
    l2_flow(&f->flow, 0, mac_a, mac_bcast);
    translate(f);
    odp_put_output(&f->want, 1);
    odp_put_output(&f->want, 2);
    odp_put_output(&f->want, 3);
    assert_actions(f);

    /* B is known on VLAN 10 only: untagged traffic to it floods. */
    l2_flow(&f->flow, 0, mac_a, mac_b);
    translate(f);
    odp_put_output(&f->want, 1);
    odp_put_output(&f->want, 2);
    odp_put_output(&f->want, 3);
    assert_actions(f);

    f->flow.vlan_tci = htons(VLAN_CFI | 10 | (5 << VLAN_PCP_SHIFT));
    translate(f);
    odp_put_output(&f->want, 3);
    assert_actions(f);
    assert_int_equal(f->out.learn.vlan, 10);
}

static void
test_l2_stale_port_floods(void **state)
{
    struct fixture *f = *state;

    /* The table says port 9, which the datapath does not have. */
    assert_int_equal(mac_table_learn(f->macs, mac_b, 0, 9, NOW, NULL), 0);
    l2_flow(&f->flow, 0, mac_a, mac_b);
    translate(f);
    odp_put_output(&f->want, 1);
    odp_put_output(&f->want, 2);
    odp_put_output(&f->want, 3);
    assert_actions(f);
}

static void
test_vlan_tag_untagged_packet(void **state)
{
    struct fixture *f = *state;

    load_rules(f, "in_port=1,actions=mod_vlan_vid:10,output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);
    odp_put_push_vlan(&f->want, htons(ETH_P_8021Q), htons(VLAN_CFI | 10));
    odp_put_output(&f->want, 2);
    assert_actions(f);
    assert_int_equal(f->out.rule_id, 1);
    assert_int_equal(ntohs(f->out.mask.vlan_tci), VLAN_CFI | VLAN_PCP_MASK);
    assert_false(f->out.learn.valid);
}

static void
test_vlan_retag_keeps_priority(void **state)
{
    struct fixture *f = *state;

    load_rules(f, "in_port=1,actions=mod_vlan_vid:10,output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    f->flow.vlan_tci = htons(VLAN_CFI | 5 | (3 << VLAN_PCP_SHIFT));
    translate(f);
    odp_put_pop_vlan(&f->want);
    odp_put_push_vlan(&f->want, htons(ETH_P_8021Q),
                      htons(VLAN_CFI | 10 | (3 << VLAN_PCP_SHIFT)));
    odp_put_output(&f->want, 2);
    assert_actions(f);
}

static void
test_vlan_strip(void **state)
{
    struct fixture *f = *state;

    load_rules(f, "actions=strip_vlan,output:3,mod_vlan_vid:7,output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    f->flow.vlan_tci = htons(VLAN_CFI | 5);
    translate(f);
    odp_put_pop_vlan(&f->want);
    odp_put_output(&f->want, 3);
    odp_put_push_vlan(&f->want, htons(ETH_P_8021Q), htons(VLAN_CFI | 7));
    odp_put_output(&f->want, 2);
    assert_actions(f);

    /* Untagged: nothing to strip. */
    f->flow.vlan_tci = 0;
    translate(f);
    odp_put_output(&f->want, 3);
    odp_put_push_vlan(&f->want, htons(ETH_P_8021Q), htons(VLAN_CFI | 7));
    odp_put_output(&f->want, 2);
    assert_actions(f);
}

static void
test_rewrites_in_order(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_ethernet ev, em;
    struct ovs_key_ipv4 iv, im;
    struct ovs_key_tcp tv, tm;

    load_rules(f, "tcp,actions=output:3,mod_dl_src:02:00:00:00:00:99,"
                  "mod_nw_dst:192.168.0.1,mod_tp_dst:8080,output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);

    memset(&ev, 0, sizeof ev);
    memset(&em, 0, sizeof em);
    memset(&iv, 0, sizeof iv);
    memset(&im, 0, sizeof im);
    memset(&tv, 0, sizeof tv);
    memset(&tm, 0, sizeof tm);
    memcpy(ev.eth_src, (uint8_t[]) { 2, 0, 0, 0, 0, 0x99 }, 6);
    memset(em.eth_src, 0xff, 6);
    iv.ipv4_dst = htonl(0xc0a80001);
    im.ipv4_dst = UINT32_MAX;
    tv.tcp_dst = htons(8080);
    tm.tcp_dst = UINT16_MAX;
    odp_put_output(&f->want, 3);
    odp_put_set_masked(&f->want, OVS_KEY_ATTR_ETHERNET, &ev, &em, sizeof ev);
    odp_put_set_masked(&f->want, OVS_KEY_ATTR_IPV4, &iv, &im, sizeof iv);
    odp_put_set_masked(&f->want, OVS_KEY_ATTR_TCP, &tv, &tm, sizeof tv);
    odp_put_output(&f->want, 2);
    assert_actions(f);
}

static void
test_udp_port_rewrite_uses_udp_key(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_udp v = { 0 }, m = { 0 };

    load_rules(f, "udp,actions=mod_tp_src:53,output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    f->flow.nw_proto = 17;
    translate(f);
    v.udp_src = htons(53);
    m.udp_src = UINT16_MAX;
    odp_put_set_masked(&f->want, OVS_KEY_ATTR_UDP, &v, &m, sizeof v);
    odp_put_output(&f->want, 2);
    assert_actions(f);
}

static void
test_output_to_input_or_missing_port_skipped(void **state)
{
    struct fixture *f = *state;
    uint64_t in = counter_get("xlate_output_in_port");
    uint64_t missing = counter_get("xlate_output_no_port");

    load_rules(f, "actions=output:1,output:7,output:2,flood\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);
    odp_put_output(&f->want, 2);
    odp_put_output(&f->want, 0);
    odp_put_output(&f->want, 2);
    odp_put_output(&f->want, 3);
    assert_actions(f);
    assert_int_equal(counter_get("xlate_output_in_port"), in + 1);
    assert_int_equal(counter_get("xlate_output_no_port"), missing + 1);
    assert_int_equal(f->out.mask.in_port, UINT32_MAX);
}

static void
test_drop_rule_consults_only_its_match(void **state)
{
    struct fixture *f = *state;

    load_rules(f, "arp,actions=drop\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    f->flow.dl_type = htons(0x0806);
    translate(f);
    assert_actions(f);
    assert_int_equal(f->out.mask.dl_type, htons(0xffff));
    f->out.mask.dl_type = 0;
    assert_true(flow_mask_is_empty(&f->out.mask));
}

static void
test_controller_is_slow_pathed(void **state)
{
    struct fixture *f = *state;
    const struct nlattr *a;
    struct odp_userspace u;
    struct xlate_cookie c;
    struct errbuf eb;

    load_rules(f, "icmp,actions=controller,output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    f->flow.nw_proto = 1;
    translate(f);
    assert_int_equal(f->out.slow, XLATE_SLOW_CONTROLLER);
    odp_put_output(&f->want, 2);
    assert_actions(f);

    a = (const struct nlattr *) (const void *) f->out.flow_actions.data;
    assert_int_equal(f->out.flow_actions.size, NLA_ALIGN(a->nla_len));
    assert_int_equal(odp_action_type(a), OVS_ACTION_ATTR_USERSPACE);
    odp_action_get_userspace(a, &u);
    assert_int_equal(u.pid, PID);
    assert_int_equal(xlate_cookie_parse(u.userdata, u.userdata_len, &c, &eb),
                     0);
    assert_int_equal(c.type, XLATE_COOKIE_SLOW_PATH);
    assert_int_equal(c.reason, XLATE_SLOW_CONTROLLER);
    assert_int_equal(c.rule_id, 1);
    assert_int_equal(c.generation, 1);
}

static void
test_sample_cookie(void **state)
{
    struct fixture *f = *state;
    const struct nlattr *a;
    struct odp_sample s;
    struct odp_userspace u;
    struct xlate_cookie c;
    struct errbuf eb;
    size_t left;

    load_rules(f, "actions=sample(probability=32768),output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);
    translate(f);
    assert_int_equal(f->out.slow, 0);
    a = (const struct nlattr *) (const void *) f->out.actions.data;
    assert_int_equal(odp_action_type(a), OVS_ACTION_ATTR_SAMPLE);
    odp_action_get_sample(a, &s);
    assert_int_equal(s.probability, 32768u * 65537u);
    ODP_ACTIONS_FOR_EACH (a, left, s.actions, s.actions_len) {
        assert_int_equal(odp_action_type(a), OVS_ACTION_ATTR_USERSPACE);
        odp_action_get_userspace(a, &u);
        assert_int_equal(u.pid, PID);
        assert_int_equal(xlate_cookie_parse(u.userdata, u.userdata_len, &c,
                                            &eb), 0);
        assert_int_equal(c.type, XLATE_COOKIE_SAMPLE);
        assert_int_equal(c.probability, 32768);
        assert_int_equal(c.rule_id, 1);
    }
}

static void
test_cookie_parse_rejects(void **state)
{
    struct xlate_cookie c = { .type = XLATE_COOKIE_SAMPLE };
    struct xlate_cookie out;
    struct errbuf eb;
    uint64_t bad = counter_get("xlate_bad_cookie");

    (void) state;
    assert_int_equal(xlate_cookie_parse(&c, sizeof c - 1, &out, &eb), EINVAL);
    assert_string_equal(eb.msg, "cookie: 15 bytes, expected 16");
    assert_int_equal(xlate_cookie_parse(NULL, 0, &out, &eb), EINVAL);
    /* Sample with probability 0. */
    assert_int_equal(xlate_cookie_parse(&c, sizeof c, &out, &eb), EINVAL);
    c.type = 9;
    assert_int_equal(xlate_cookie_parse(&c, sizeof c, &out, &eb), EINVAL);
    assert_string_equal(eb.msg, "cookie: unknown type 9");
    c.type = XLATE_COOKIE_SLOW_PATH;
    c.reason = 0x80;
    assert_int_equal(xlate_cookie_parse(&c, sizeof c, &out, &eb), EINVAL);
    c.reason = 0;
    assert_int_equal(xlate_cookie_parse(&c, sizeof c, &out, &eb), EINVAL);
    c.type = XLATE_COOKIE_CONTROLLER;
    assert_int_equal(xlate_cookie_parse(&c, sizeof c, &out, &eb), 0);
    assert_int_equal(counter_get("xlate_bad_cookie"), bad + 6);
}

/* The example: a higher-priority rule on tp_dst puts tp_dst into
 * the mask of flows it did not match. */
static void
test_mask_has_tp_dst_of_unmatched_higher_rule(void **state)
{
    struct fixture *f = *state;

    load_rules(f, "priority=100,tcp,tp_dst=80,actions=output:3\n"
                  "priority=10,ip,actions=output:2\n");
    l2_flow(&f->flow, 1, mac_a, mac_b);          /* TCP to port 22. */
    translate(f);
    odp_put_output(&f->want, 2);
    assert_actions(f);
    assert_int_equal(f->out.rule_id, 2);
    assert_int_equal(f->out.mask.tp_dst, htons(0xffff));
    assert_int_equal(f->out.mask.nw_proto, 0xff);
    assert_int_equal(f->out.mask.dl_type, htons(0xffff));
    assert_int_equal(f->out.mask.tp_src, 0);
    assert_int_equal(f->out.mask.nw_src, 0);
    assert_true(eth_addr_is_zero(f->out.mask.dl_src));

    /* A UDP flow fails the rule on nw_proto already: no tp_dst. */
    f->flow.nw_proto = 17;
    translate(f);
    assert_int_equal(f->out.rule_id, 2);
    assert_int_equal(f->out.mask.tp_dst, 0);
    assert_int_equal(f->out.mask.nw_proto, 0xff);

    /* The TCP flow to port 80 matches rule 1. */
    f->flow.nw_proto = 6;
    f->flow.tp_dst = htons(80);
    translate(f);
    assert_int_equal(f->out.rule_id, 1);
    odp_put_output(&f->want, 3);
    assert_actions(f);
}

static void
test_too_large_is_refused(void **state)
{
    struct fixture *f = *state;
    static uint32_t many[5000];
    struct xlate_in in = {
        .flow = &f->flow, .ports = many, .n_ports = ARRAY_SIZE(many),
        .upcall_pid = PID, .now_msec = NOW,
    };
    struct errbuf eb;

    for (uint32_t i = 0; i < ARRAY_SIZE(many); i++) {
        many[i] = i;
    }
    l2_flow(&f->flow, 1, mac_a, mac_bcast);
    assert_int_equal(xlate_translate(&in, &f->out, &eb), E2BIG);
    assert_int_equal(f->out.actions.size, 0);
}

/*
 * The megaflow property.
 */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 16);
}

static uint32_t
pick(uint32_t n)
{
    return rnd() % n;
}

static const char *const macs_text[] = {
    "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03",
    "ff:ff:ff:ff:ff:ff",
};

static struct eth_addr
mac_of(uint32_t i)
{
    struct eth_addr m = { { 2, 0, 0, 0, 0, (uint8_t) (i + 1) } };

    if (i == 3) {
        memset(&m, 0xff, sizeof m);
    }
    return m;
}

static const uint32_t ips[] = { 0x0a000001, 0x0a000101, 0x0a0001ff,
                                0xc0a80001 };
static const char *const ip_text[] = {
    "10.0.0.1", "10.0.1.0/24", "10.0.0.0/8", "192.168.0.1",
    "10.0.0.0/255.0.0.255",
};
static const uint16_t tps[] = { 22, 80, 81, 443, 0x55 };

/* Appends one random rule to 'text'. */
static void
random_rule(char *text, size_t size)
{
    /* 0 any, 1 ip, 2 tcp, 3 udp, 4 icmp, 5 arp, 6 ipv6, 7 tcp6. */
    static const char *const protos[] = { "", "ip,", "tcp,", "udp,",
                                          "icmp,", "arp,", "ipv6,",
                                          "tcp6," };
    uint32_t proto = pick(ARRAY_SIZE(protos));
    size_t n = strlen(text);

#define PUT(...) (n += (size_t) snprintf(text + n, size - n, __VA_ARGS__))
    PUT("priority=%u,%s", pick(4) * 10, protos[proto]);
    if (!pick(3)) {
        PUT("in_port=%u,", 1 + pick(3));
    }
    if (!pick(4)) {
        PUT("dl_src=%s,", macs_text[pick(4)]);
    }
    if (!pick(4)) {
        PUT("dl_dst=%s%s,", macs_text[pick(4)],
            pick(2) ? "" : "/01:00:00:00:00:00");
    }
    if (!pick(4)) {
        static const char *const vlans[] = { "dl_vlan=10", "dl_vlan=20",
                                             "dl_vlan=0xffff",
                                             "dl_vlan_pcp=3" };
        PUT("%s,", vlans[pick(4)]);
    }
    if ((proto >= 1 && proto <= 5) && !pick(2)) {
        PUT("%s=%s,", proto == 5 ? "arp_spa" : "nw_src",
            ip_text[pick(ARRAY_SIZE(ip_text))]);
    }
    if ((proto >= 1 && proto <= 5) && !pick(2)) {
        PUT("nw_dst=%s,", ip_text[pick(ARRAY_SIZE(ip_text))]);
    }
    if ((proto == 1 || proto == 6) && !pick(3)) {
        PUT("nw_proto=%u,", pick(2) ? 6 : 17);
    }
    if ((proto == 1 || proto == 2) && !pick(4)) {
        PUT("nw_tos=%u,", pick(2) * 8);
    }
    if ((proto == 2 || proto == 3 || proto == 7) && !pick(2)) {
        PUT("tp_dst=%u%s,", tps[pick(ARRAY_SIZE(tps))],
            pick(3) ? "" : "/0xfff0");
    }
    if ((proto == 2 || proto == 3) && !pick(3)) {
        PUT("tp_src=%u,", tps[pick(ARRAY_SIZE(tps))]);
    }
    if (proto == 4 && !pick(2)) {
        PUT("icmp_type=%u,", pick(2) ? 8 : 0);
    }
    if (proto == 5 && !pick(2)) {
        PUT("arp_op=%u,", 1 + pick(2));
    }

    PUT("actions=");
    uint32_t n_actions = 1 + pick(3);
    for (uint32_t i = 0; i < n_actions; i++) {
        const char *sep = i ? "," : "";

        switch (pick(12)) {
        case 0: PUT("%soutput:%u", sep, pick(6)); break;
        case 1: PUT("%snormal", sep); break;
        case 2: PUT("%sflood", sep); break;
        case 3: PUT("%smod_vlan_vid:%u", sep, 10 + pick(2) * 10); break;
        case 4: PUT("%sstrip_vlan", sep); break;
        case 5: PUT("%smod_dl_dst:%s", sep, macs_text[pick(4)]); break;
        case 6:
            if (proto == 1 || proto == 2 || proto == 3 || proto == 4) {
                PUT("%smod_nw_dst:10.0.0.%u", sep, pick(3));
            } else {
                PUT("%snormal", sep);
            }
            break;
        case 7:
            if (proto == 2 || proto == 3 || proto == 7) {
                PUT("%smod_tp_dst:%u", sep, tps[pick(ARRAY_SIZE(tps))]);
            } else {
                PUT("%soutput:2", sep);
            }
            break;
        case 8: PUT("%scontroller", sep); break;
        case 9: PUT("%ssample(probability=%u)", sep, 1 + pick(65535)); break;
        case 10: PUT("%smod_dl_src:%s", sep, macs_text[pick(3)]); break;
        default: PUT("%snormal", sep); break;
        }
    }
    PUT("\n");
#undef PUT
}

static void
random_flow(struct flow *flow)
{
    static const uint16_t types[] = { 0x0800, 0x0806, 0x86dd, 0x88cc };
    static const uint8_t protos[] = { 6, 17, 1, 58, 1, 2 };

    memset(flow, 0, sizeof *flow);
    flow->in_port = pick(5);
    flow->dl_src = mac_of(pick(4));
    flow->dl_dst = mac_of(pick(4));
    switch (pick(4)) {
    case 0: flow->vlan_tci = 0; break;
    case 1: flow->vlan_tci = htons(VLAN_CFI | 10); break;
    case 2: flow->vlan_tci = htons(VLAN_CFI | 20 | (3 << VLAN_PCP_SHIFT));
        break;
    default: flow->vlan_tci = htons(VLAN_CFI | 10 | (3 << VLAN_PCP_SHIFT));
        break;
    }
    flow->dl_type = htons(types[pick(ARRAY_SIZE(types))]);
    flow->nw_proto = protos[pick(ARRAY_SIZE(protos))];
    flow->nw_src = htonl(ips[pick(ARRAY_SIZE(ips))]);
    flow->nw_dst = htonl(ips[pick(ARRAY_SIZE(ips))]);
    flow->nw_tos = (uint8_t) (pick(3) * 8);
    flow->tp_src = htons(tps[pick(ARRAY_SIZE(tps))]);
    flow->tp_dst = htons(tps[pick(ARRAY_SIZE(tps))]);
}

/* 'q' = the bits of 'p' under 'mask', the bits of 'r' elsewhere. */
static void
blend(struct flow *q, const struct flow *p, const struct flow *r,
      const struct flow *mask)
{
    const uint8_t *pb = (const uint8_t *) p, *rb = (const uint8_t *) r;
    const uint8_t *mb = (const uint8_t *) mask;
    uint8_t *qb = (uint8_t *) q;

    for (size_t i = 0; i < sizeof *q; i++) {
        qb[i] = (uint8_t) ((pb[i] & mb[i]) | (rb[i] & ~mb[i]));
    }
}

static void
test_megaflow_property(void **state)
{
    struct fixture *f = *state;
    struct xlate_out qo;
    size_t n_checked = 0, n_rules_hit = 0;

    /* A fixed MAC table: MAC 1 on port 2, MAC 2 on VLAN 10 port 3, MAC 3
     * on port 1 (same-port drops), MAC 1 on VLAN 20 on a stale port. */
    assert_int_equal(mac_table_learn(f->macs, mac_of(0), 0, 2, NOW, NULL), 0);
    assert_int_equal(mac_table_learn(f->macs, mac_of(1), 10, 3, NOW, NULL),
                     0);
    assert_int_equal(mac_table_learn(f->macs, mac_of(2), 0, 1, NOW, NULL), 0);
    assert_int_equal(mac_table_learn(f->macs, mac_of(0), 20, 9, NOW, NULL),
                     0);

    xlate_out_init(&qo);
    for (int table = 0; table < 60; table++) {
        char text[8192] = "";
        uint32_t n_rules = pick(12);

        for (uint32_t i = 0; i < n_rules; i++) {
            random_rule(text, sizeof text);
        }
        load_rules(f, text);

        for (int pi = 0; pi < 40; pi++) {
            struct flow p = { 0 };

            random_flow(&p);
            f->flow = p;
            translate(f);
            n_rules_hit += f->out.rule_id != 0;

            for (int qi = 0; qi < 40; qi++) {
                struct flow r, q;
                struct xlate_in in = {
                    .flow = &q, .table = f->table, .ports = ports,
                    .n_ports = ARRAY_SIZE(ports), .macs = f->macs,
                    .upcall_pid = PID, .now_msec = NOW,
                };
                struct errbuf eb;

                if (qi & 1) {
                    random_flow(&r);
                } else {
                    /* Junk everywhere, even in fields no rule names. */
                    uint8_t *rb = (uint8_t *) &r;
                    for (size_t i = 0; i < sizeof r; i++) {
                        rb[i] = (uint8_t) rnd();
                    }
                }
                blend(&q, &p, &r, &f->out.mask);
                assert_int_equal(xlate_translate(&in, &qo, &eb), 0);

                bool same = qo.rule_id == f->out.rule_id
                            && qo.slow == f->out.slow
                            && odp_actions_equal(qo.actions.data,
                                                 qo.actions.size,
                                                 f->out.actions.data,
                                                 f->out.actions.size)
                            && odp_actions_equal(qo.flow_actions.data,
                                                 qo.flow_actions.size,
                                                 f->out.flow_actions.data,
                                                 f->out.flow_actions.size)
                            && !memcmp(&qo.learn, &f->out.learn,
                                       sizeof qo.learn);
                if (!same) {
                    fail_msg("table %d packet %d probe %d: rule %u vs %u, "
                             "rules:\n%s", table, pi, qi, f->out.rule_id,
                             qo.rule_id, text);
                }
                n_checked++;
            }
        }
    }
    xlate_out_uninit(&qo);
    assert_int_equal(n_checked, 60 * 40 * 40);
    assert_true(n_rules_hit > 200);   /* The tables were not all misses. */
}

int
main(void)
{
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_l2_flood_then_unicast_after_learning),
        T(test_l2_destination_on_input_port_drops),
        T(test_l2_broadcast_floods_and_vlans_separate),
        T(test_l2_stale_port_floods),
        T(test_vlan_tag_untagged_packet),
        T(test_vlan_retag_keeps_priority),
        T(test_vlan_strip),
        T(test_rewrites_in_order),
        T(test_udp_port_rewrite_uses_udp_key),
        T(test_output_to_input_or_missing_port_skipped),
        T(test_drop_rule_consults_only_its_match),
        T(test_controller_is_slow_pathed),
        T(test_sample_cookie),
        T(test_cookie_parse_rejects),
        T(test_mask_has_tp_dst_of_unmatched_higher_rule),
        T(test_too_large_is_refused),
        T(test_megaflow_property),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
