/* Tests for common/policy.c: every match field and action in good rules
 * (each checked against its canonical text and round-tripped through
 * format and parse), every kind of error with its line and column, table
 * order, ids, counters, and the all-or-nothing rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/policy.h"

/* A good rule and its canonical form. */
struct good_case {
    const char *text;           /* As an operator might write it. */
    const char *canonical;      /* policy_rule_format() of the result. */
};

static const struct good_case good_cases[] = {
    { "priority=100,ip,nw_dst=10.0.0.0/24,actions=output:2",
      "priority=100,ip,nw_dst=10.0.0.0/24,actions=output:2" },
    { "in_port=1,actions=drop", "priority=32768,in_port=1,actions=drop" },
    { "dl_src=00:11:22:33:44:55,actions=normal",
      "priority=32768,dl_src=00:11:22:33:44:55,actions=normal" },
    { "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=flood",
      "priority=32768,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,"
      "actions=flood" },
    { "dl_dst=AA:BB:CC:DD:EE:FF/ff:ff:ff:00:00:00,actions=flood",
      "priority=32768,dl_dst=aa:bb:cc:00:00:00/ff:ff:ff:00:00:00,"
      "actions=flood" },
    { "dl_vlan=10,actions=strip_vlan,output:3",
      "priority=32768,dl_vlan=10,actions=strip_vlan,output:3" },
    { "dl_vlan=0xffff,actions=mod_vlan_vid:20,output:1",
      "priority=32768,dl_vlan=0xffff,actions=mod_vlan_vid:20,output:1" },
    { "dl_vlan_pcp=5,actions=normal",
      "priority=32768,dl_vlan_pcp=5,actions=normal" },
    { "dl_vlan_pcp=3,dl_vlan=7,actions=normal",
      "priority=32768,dl_vlan=7,dl_vlan_pcp=3,actions=normal" },
    { "dl_type=0x88cc,actions=drop",
      "priority=32768,dl_type=0x88cc,actions=drop" },
    { "dl_type=2048,actions=drop", "priority=32768,ip,actions=drop" },
    { "ipv6,actions=normal", "priority=32768,ipv6,actions=normal" },
    { "arp,arp_op=1,actions=flood",
      "priority=32768,arp,arp_op=1,actions=flood" },
    { "arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,actions=normal",
      "priority=32768,arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,"
      "actions=normal" },
    { "arp,nw_src=10.0.0.1,actions=normal",
      "priority=32768,arp,arp_spa=10.0.0.1,actions=normal" },
    { "arp,arp_sha=00:11:22:33:44:55,"
      "arp_tha=00:00:5e:00:00:00/ff:ff:ff:00:00:00,actions=normal",
      "priority=32768,arp,arp_sha=00:11:22:33:44:55,"
      "arp_tha=00:00:5e:00:00:00/ff:ff:ff:00:00:00,actions=normal" },
    { "tcp,tp_dst=80,actions=output:1",
      "priority=32768,tcp,tp_dst=80,actions=output:1" },
    { "udp,tp_src=53,tp_dst=0x400/0xfc00,actions=output:1",
      "priority=32768,udp,tp_src=53,tp_dst=0x400/0xfc00,actions=output:1" },
    { "udp,tp_dst=1027/0xfc00,actions=output:1",
      "priority=32768,udp,tp_dst=0x400/0xfc00,actions=output:1" },
    { "sctp,tp_dst=9,actions=drop",
      "priority=32768,sctp,tp_dst=9,actions=drop" },
    { "icmp,icmp_type=8,icmp_code=0,actions=controller",
      "priority=32768,icmp,icmp_type=8,icmp_code=0,actions=controller" },
    { "icmp6,icmp_type=135,actions=normal",
      "priority=32768,icmp6,icmp_type=135,actions=normal" },
    { "tcp6,tp_dst=22,actions=output:4",
      "priority=32768,tcp6,tp_dst=22,actions=output:4" },
    { "udp6,actions=normal", "priority=32768,udp6,actions=normal" },
    { "sctp6,actions=normal", "priority=32768,sctp6,actions=normal" },
    { "ip,nw_proto=47,actions=drop",
      "priority=32768,ip,nw_proto=47,actions=drop" },
    { "ip,nw_proto=6,actions=drop", "priority=32768,tcp,actions=drop" },
    { "ipv6,nw_proto=58,actions=drop", "priority=32768,icmp6,actions=drop" },
    { "ip,nw_tos=184,actions=normal",
      "priority=32768,ip,nw_tos=184,actions=normal" },
    { "ip,nw_src=192.168.1.7/255.255.0.255,actions=normal",
      "priority=32768,ip,nw_src=192.168.0.7/255.255.0.255,actions=normal" },
    { "ip,nw_src=10.1.2.3/16,nw_dst=10.9.9.9/32,actions=normal",
      "priority=32768,ip,nw_src=10.1.0.0/16,nw_dst=10.9.9.9,"
      "actions=normal" },
    { "tcp,actions=mod_tp_src:1000,mod_tp_dst:2000,output:1",
      "priority=32768,tcp,actions=mod_tp_src:1000,mod_tp_dst:2000,"
      "output:1" },
    { "ip,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,output:2",
      "priority=32768,ip,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,"
      "output:2" },
    { "actions=mod_dl_src:02:00:00:00:00:01,mod_dl_dst:02:00:00:00:00:02,"
      "output:2",
      "priority=32768,actions=mod_dl_src:02:00:00:00:00:01,"
      "mod_dl_dst:02:00:00:00:00:02,output:2" },
    { "actions=sample(probability=65535),normal",
      "priority=32768,actions=sample(probability=65535),normal" },
    { "actions=CONTROLLER", "priority=32768,actions=controller" },
    { "actions=NORMAL,FLOOD", "priority=32768,actions=normal,flood" },
    { "actions=3", "priority=32768,actions=output:3" },
    { "priority=0 in_port=2 actions=flood",
      "priority=0,in_port=2,actions=flood" },
    { "  priority=7 , tcp ,tp_dst=0x50 ,actions= output:1 , output:2 ",
      "priority=7,tcp,tp_dst=80,actions=output:1,output:2" },
    { "tcp,nw_dst=10.0.0.1,tp_src=0/0,actions=drop",
      "priority=32768,tcp,nw_dst=10.0.0.1,actions=drop" },
    { "udp,actions=output:1,mod_vlan_vid:5,output:2,strip_vlan,output:3",
      "priority=32768,udp,actions=output:1,mod_vlan_vid:5,output:2,"
      "strip_vlan,output:3" },
    { "dl_dst=ff:ff:ff:ff:ff:ff,actions=flood # broadcast",
      "priority=32768,dl_dst=ff:ff:ff:ff:ff:ff,actions=flood" },
    { "in_port=4294967294,actions=output:4294967294",
      "priority=32768,in_port=4294967294,actions=output:4294967294" },
    { "priority=65535,actions=drop", "priority=65535,actions=drop" },
    { "tcp,in_port=3,dl_vlan=100,dl_src=02:00:00:00:00:0a,"
      "dl_dst=02:00:00:00:00:0b,nw_src=10.0.0.0/8,nw_dst=192.168.0.1,"
      "nw_tos=8,tp_src=1024/0xfc00,tp_dst=443,"
      "actions=mod_dl_dst:02:00:00:00:00:0c,sample(probability=1),"
      "controller,output:7",
      "priority=32768,tcp,in_port=3,dl_vlan=100,dl_src=02:00:00:00:00:0a,"
      "dl_dst=02:00:00:00:00:0b,nw_src=10.0.0.0/8,nw_dst=192.168.0.1,"
      "nw_tos=8,tp_src=0x400/0xfc00,tp_dst=443,"
      "actions=mod_dl_dst:02:00:00:00:00:0c,sample(probability=1),"
      "controller,output:7" },
};

/* A bad rule text and the exact reason. */
struct bad_case {
    const char *text;           /* Whole text (may be several lines). */
    const char *reason;         /* errbuf contents. */
};

static const struct bad_case bad_cases[] = {
    { "# the web rules\n\npriority=100,ip,nw_dest=10.0.0.1,actions=drop\n",
      "rules:3:17: unknown field 'nw_dest'" },
    { "nw_src=10.0.0.1,actions=drop",
      "rules:1:1: nw_src requires ip or arp (dl_type=0x0800 or 0x0806)" },
    { "ipv6,nw_dst=10.0.0.1,actions=drop",
      "rules:1:6: nw_dst requires ip or arp (dl_type=0x0800 or 0x0806)" },
    { "ip,tp_dst=80,actions=drop",
      "rules:1:4: tp_dst requires tcp, udp or sctp" },
    { "icmp,tp_src=80,actions=drop",
      "rules:1:6: tp_src requires tcp, udp or sctp" },
    { "tcp,icmp_type=3,actions=drop",
      "rules:1:5: icmp_type requires icmp or icmp6" },
    { "ip,arp_op=1,actions=drop", "rules:1:4: arp_op requires arp" },
    { "ip,arp_sha=00:00:00:00:00:01,actions=drop",
      "rules:1:4: arp_sha requires arp" },
    { "arp,nw_proto=1,actions=drop",
      "rules:1:5: nw_proto requires ip or ipv6" },
    { "nw_tos=4,actions=drop", "rules:1:1: nw_tos requires ip or ipv6" },
    { "ip,nw_tos=5,actions=drop",
      "rules:1:4: nw_tos 5 has ECN bits set (use a multiple of 4)" },
    { "in_port=1", "rules:1:10: rule has no actions" },
    { "actions=", "rules:1:9: empty action list (use 'drop' to drop)" },
    { "actions=normal,", "rules:1:16: action list ends with ','" },
    { "actions=normal,,output:1", "rules:1:16: expected an action name" },
    { "actions=output:1 output:2",
      "rules:1:18: expected ',' between actions" },
    { "actions=drop,output:1", "rules:1:9: 'drop' must be the only action" },
    { "actions=output:x", "rules:1:9: bad output port 'x'" },
    { "actions=output", "rules:1:9: action 'output' needs an argument "
      "(output:...)" },
    { "actions=strip_vlan:1",
      "rules:1:9: action 'strip_vlan' takes no argument" },
    { "actions=STRIP_VLAN", "rules:1:9: unknown action 'STRIP_VLAN'" },
    { "actions=mod_vlan_vid:4096",
      "rules:1:9: bad VLAN id '4096' (0..4095)" },
    { "actions=mod_nw_src:1.2.3.4",
      "rules:1:9: mod_nw_src requires a rule that matches ip" },
    { "ip,actions=mod_tp_dst:80",
      "rules:1:12: mod_tp_dst requires a rule that matches tcp, udp or sctp" },
    { "actions=mod_dl_src:1.2.3.4",
      "rules:1:9: bad Ethernet address '1.2.3.4'" },
    { "actions=sample(probability=0)",
      "rules:1:9: bad sample argument 'probability=0' (expected "
      "probability=1..65535)" },
    { "actions=sample(probability=5", "rules:1:9: missing ')'" },
    { "actions=sample", "rules:1:9: sample needs (probability=N)" },
    { "actions=frobnicate", "rules:1:9: unknown action 'frobnicate'" },
    { "dl_src=00:11:22:33:44,actions=drop",
      "rules:1:1: bad Ethernet address '00:11:22:33:44'" },
    { "dl_src=00:11:22:33:44:55/ff,actions=drop",
      "rules:1:1: bad Ethernet mask 'ff'" },
    { "ip,nw_dst=10.0.0.0/33,actions=drop",
      "rules:1:4: bad prefix length '33' (0..32)" },
    { "ip,nw_dst=10.0.0.256,actions=drop",
      "rules:1:4: bad IPv4 address '10.0.0.256'" },
    { "dl_vlan=4096,actions=drop",
      "rules:1:1: bad VLAN id '4096' (0..4095, or 0xffff for untagged)" },
    { "dl_vlan_pcp=8,actions=drop",
      "rules:1:1: bad value '8' for dl_vlan_pcp (0..7)" },
    { "ip,arp,actions=drop",
      "rules:1:4: 'arp' sets dl_type again (already set by 'ip')" },
    { "tcp,nw_proto=17,actions=drop",
      "rules:1:5: 'nw_proto' sets nw_proto again (already set by 'tcp')" },
    { "priority=70000,actions=drop",
      "rules:1:1: bad priority '70000' (0..65535)" },
    { "priority=1,priority=2,actions=drop",
      "rules:1:12: priority given twice" },
    { "tcp,tp_dst=65536,actions=drop",
      "rules:1:5: bad value '65536' for tp_dst (0..65535)" },
    { "tcp,tp_dst=80/0x10000,actions=drop",
      "rules:1:5: bad mask '0x10000' for tp_dst" },
    { "icmp,icmp_type=256,actions=drop",
      "rules:1:6: bad value '256' for icmp_type (0..255)" },
    { "dl_vlan=0xffff,dl_vlan_pcp=1,actions=drop",
      "rules:1:16: dl_vlan_pcp contradicts dl_vlan=0xffff (untagged)" },
    { "ip=1,actions=drop", "rules:1:1: 'ip' takes no value" },
    { "in_port=01,actions=drop", "rules:1:1: bad port number '01'" },
    { "in_port=,actions=drop", "rules:1:1: missing value for 'in_port'" },
    { "in_port,actions=drop", "rules:1:1: missing value for 'in_port'" },
    { "actions:drop", "rules:1:8: unexpected character ':'" },
    { "tcp;actions=drop", "rules:1:4: unexpected character ';'" },
    { "tcp\n", "rules:1:4: rule has no actions" },
    { "in_port=1,actions=drop\nin_port=2,actions=drop\n"
      "in_port=3,actions=dorp\n",
      "rules:3:19: unknown action 'dorp'" },
};

static void
test_good_rules_and_round_trip(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
        const struct good_case *c = &good_cases[i];
        struct policy_table *t = NULL, *t2 = NULL;
        struct errbuf eb = { "" };
        int error;

        error = policy_parse(c->text, strlen(c->text), "rules", 1, &t, &eb);
        if (error) {
            fail_msg("case %zu '%s': %s", i, c->text, eb.msg);
        }
        assert_int_equal(t->n_rules, 1);

        char *s = policy_rule_format(&t->rules[0]);
        if (strcmp(s, c->canonical)) {
            fail_msg("case %zu: got '%s', want '%s'", i, s, c->canonical);
        }
        error = policy_parse(s, strlen(s), "rules", 1, &t2, &eb);
        if (error) {
            fail_msg("case %zu reparse '%s': %s", i, s, eb.msg);
        }
        assert_true(policy_rule_equal(&t->rules[0], &t2->rules[0]));
        free(s);
        policy_table_destroy(t);
        policy_table_destroy(t2);
    }
    assert_true(ARRAY_SIZE(good_cases) >= 40);
}

static void
test_bad_rules_give_line_column_reason(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct policy_table *t = (struct policy_table *) state;
        struct errbuf eb = { "" };
        int error;

        error = policy_parse(c->text, strlen(c->text), "rules", 1, &t, &eb);
        if (error != EINVAL) {
            fail_msg("case %zu '%s': error %d", i, c->text, error);
        }
        if (strcmp(eb.msg, c->reason)) {
            fail_msg("case %zu: got '%s', want '%s'", i, eb.msg, c->reason);
        }
        assert_ptr_equal(t, (struct policy_table *) state);
    }
    assert_true(counter_get("policy_parse_rejected") >= ARRAY_SIZE(bad_cases));
}

static void
test_nul_byte_rejected(void **state)
{
    static const char text[] = "in_port=1,actions=drop\nin_port=2\0,x";
    struct policy_table *t = NULL;
    struct errbuf eb;

    (void) state;
    assert_int_equal(policy_parse(text, sizeof text - 1, "f", 1, &t, &eb),
                     EINVAL);
    assert_string_equal(eb.msg, "f:2:10: NUL byte in rule text");
    assert_null(t);
}

static void
test_nul_in_comment_accepted(void **state)
{
    static const char text[] = "actions=drop # a\0b\n";
    struct policy_table *t = NULL;
    struct errbuf eb;

    (void) state;
    /* A NUL after '#' is inside a comment: harmless, accepted. */
    assert_int_equal(policy_parse(text, sizeof text - 1, "f", 1, &t, &eb), 0);
    assert_int_equal(t->n_rules, 1);
    policy_table_destroy(t);
}

static void
test_empty_and_comment_only_texts(void **state)
{
    static const char text[] = "\n# nothing here\n   \n\t# indented\n,\n";
    struct policy_table *t = NULL;
    struct errbuf eb;

    (void) state;
    assert_int_equal(policy_parse(text, strlen(text), "f", 9, &t, &eb), 0);
    assert_int_equal(t->n_rules, 0);
    assert_int_equal(t->generation, 9);
    policy_table_destroy(t);

    assert_int_equal(policy_parse("", 0, "f", 1, &t, &eb), 0);
    assert_int_equal(t->n_rules, 0);
    policy_table_destroy(t);
}

static void
test_lookup_order_ids_and_lines(void **state)
{
    static const char text[] =
        "priority=10,actions=output:1\n"
        "priority=200,tcp,actions=output:2\n"
        "\n"
        "priority=10,actions=output:3\n"
        "actions=output:4\n";
    struct policy_table *t = NULL;
    struct errbuf eb;

    (void) state;
    assert_int_equal(policy_parse(text, strlen(text), "f", 3, &t, &eb), 0);
    assert_int_equal(t->n_rules, 4);
    /* 200, 32768 (default), then the two 10s in text order. */
    assert_int_equal(t->rules[0].priority, 32768);
    assert_int_equal(t->rules[0].line, 5);
    assert_int_equal(t->rules[1].priority, 200);
    assert_int_equal(t->rules[1].line, 2);
    assert_int_equal(t->rules[2].actions[0].port, 1);
    assert_int_equal(t->rules[3].actions[0].port, 3);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(t->rules[i].id, i + 1);
        assert_ptr_equal(policy_table_get_rule(t, i + 1), &t->rules[i]);
    }
    assert_null(policy_table_get_rule(t, POLICY_RULE_DEFAULT));
    assert_null(policy_table_get_rule(t, 5));
    policy_table_destroy(t);
}

static void
test_credit_and_stats_format(void **state)
{
    static const char text[] = "priority=5,udp,actions=drop\n"
                               "tcp,tp_dst=80,actions=output:1\n";
    struct policy_table *t = NULL;
    struct errbuf eb;
    uint64_t bad = counter_get("policy_credit_bad_rule");

    (void) state;
    assert_int_equal(policy_parse(text, strlen(text), "f", 3, &t, &eb), 0);
    policy_table_credit(t, 1, 3, 300);
    policy_table_credit(t, 1, 1, 100);
    policy_table_credit(t, POLICY_RULE_DEFAULT, 2, 128);
    policy_table_credit(t, 99, 1, 1);
    assert_int_equal(counter_get("policy_credit_bad_rule"), bad + 1);

    char *s = policy_table_format(t, true);
    assert_string_equal(s,
        "n_packets=4,n_bytes=400,priority=32768,tcp,tp_dst=80,"
        "actions=output:1\n"
        "n_packets=0,n_bytes=0,priority=5,udp,actions=drop\n"
        "n_packets=2,n_bytes=128,(default),actions=normal\n");
    free(s);

    /* Without stats the whole table round-trips. */
    s = policy_table_format(t, false);
    struct policy_table *t2 = NULL;
    assert_int_equal(policy_parse(s, strlen(s), "f", 4, &t2, &eb), 0);
    assert_int_equal(t2->n_rules, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(policy_rule_equal(&t->rules[i], &t2->rules[i]));
    }
    free(s);
    policy_table_destroy(t);
    policy_table_destroy(t2);
}

static void
test_match_semantics(void **state)
{
    static const char text[] =
        "tcp,nw_dst=10.0.0.0/24,tp_dst=0x50/0xfff0,actions=drop\n";
    struct policy_table *t = NULL;
    struct errbuf eb;
    struct flow f;

    (void) state;
    assert_int_equal(policy_parse(text, strlen(text), "f", 1, &t, &eb), 0);
    memset(&f, 0, sizeof f);
    f.dl_type = htons(0x0800);
    f.nw_proto = 6;
    f.nw_dst = htonl(0x0a000063);
    f.tp_dst = htons(0x5f);
    assert_true(policy_rule_matches(&t->rules[0], &f));
    f.tp_dst = htons(0x60);
    assert_false(policy_rule_matches(&t->rules[0], &f));
    f.tp_dst = htons(0x50);
    f.nw_dst = htonl(0x0a000163);
    assert_false(policy_rule_matches(&t->rules[0], &f));
    f.nw_dst = htonl(0x0a000001);
    f.nw_proto = 17;
    assert_false(policy_rule_matches(&t->rules[0], &f));
    policy_table_destroy(t);
}

static void
test_vlan_match_representation(void **state)
{
    static const char text[] = "dl_vlan=10,actions=drop\n"
                               "dl_vlan=0xffff,actions=drop\n";
    struct policy_table *t = NULL;
    struct errbuf eb;

    (void) state;
    assert_int_equal(policy_parse(text, strlen(text), "f", 1, &t, &eb), 0);
    assert_int_equal(ntohs(t->rules[0].match.vlan_tci), VLAN_CFI | 10);
    assert_int_equal(ntohs(t->rules[0].mask.vlan_tci),
                     VLAN_CFI | VLAN_VID_MASK);
    assert_int_equal(t->rules[1].match.vlan_tci, 0);
    assert_int_equal(ntohs(t->rules[1].mask.vlan_tci), 0xffff);
    policy_table_destroy(t);
}

static void
test_too_many_actions(void **state)
{
    char text[2048];
    size_t n = 0;
    struct policy_table *t = NULL;
    struct errbuf eb;

    (void) state;
    n += (size_t) snprintf(text + n, sizeof text - n, "actions=");
    for (int i = 0; i <= POLICY_MAX_ACTIONS; i++) {
        n += (size_t) snprintf(text + n, sizeof text - n, "%s%d",
                               i ? "," : "", i % 9 + 1);
    }
    assert_int_equal(policy_parse(text, n, "f", 1, &t, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "more than 64 actions"));
}

static void
test_empty_table(void **state)
{
    struct policy_table *t = policy_table_create_empty(5);

    (void) state;
    assert_int_equal(t->generation, 5);
    assert_int_equal(t->n_rules, 0);
    char *s = policy_table_format(t, false);
    assert_string_equal(s, "");
    free(s);
    policy_table_destroy(t);
    policy_table_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_rules_and_round_trip),
        cmocka_unit_test(test_bad_rules_give_line_column_reason),
        cmocka_unit_test(test_nul_byte_rejected),
        cmocka_unit_test(test_nul_in_comment_accepted),
        cmocka_unit_test(test_empty_and_comment_only_texts),
        cmocka_unit_test(test_lookup_order_ids_and_lines),
        cmocka_unit_test(test_credit_and_stats_format),
        cmocka_unit_test(test_match_semantics),
        cmocka_unit_test(test_vlan_match_representation),
        cmocka_unit_test(test_too_many_actions),
        cmocka_unit_test(test_empty_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
