/* Unit tests for common/odp-format.c: a corpus of flows and action lists
 * (tests/unit/data/odp-corpus.txt) checked for both round-trip directions
 * and for the reasons of rejections, plus streams built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/openvswitch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ds.h"
#include "common/nl.h"
#include "common/odp-format.h"

/* Formats 'key'/'mask' into a malloc'ed string. */
static char *
format_key(const struct buf *key, const struct buf *mask, bool verbose)
{
    struct ds s;

    ds_init(&s);
    odp_format_key(&s, key->data, key->size, mask ? mask->data : NULL,
                   mask ? mask->size : 0, verbose);
    return ds_steal_cstr(&s);
}

static char *
format_actions(const struct buf *actions)
{
    struct ds s;

    ds_init(&s);
    odp_format_actions(&s, actions->data, actions->size);
    return ds_steal_cstr(&s);
}

static void
assert_same_bytes(const struct buf *a, const struct buf *b, const char *what)
{
    if (a->size != b->size || (a->size && memcmp(a->data, b->data, a->size))) {
        fail_msg("%s: streams differ (%zu vs %zu bytes)", what, a->size,
                 b->size);
    }
}

/* Checks one "key:" or "verbose:" line. */
static void
check_key(const char *text, bool verbose)
{
    struct buf key, mask, key2, mask2;
    struct errbuf eb = { "" };

    buf_init(&key, 0);
    buf_init(&mask, 0);
    buf_init(&key2, 0);
    buf_init(&mask2, 0);
    if (odp_parse_key(text, &key, &mask, &eb)) {
        fail_msg("parse of \"%s\" failed: %s", text, eb.msg);
    }

    char *out = format_key(&key, &mask, verbose);
    if (strcmp(out, text)) {
        fail_msg("format(parse(s)) != s\n  s:   %s\n  got: %s", text, out);
    }
    free(out);

    /* The verbose form keeps every byte. */
    out = format_key(&key, &mask, true);
    if (odp_parse_key(out, &key2, &mask2, &eb)) {
        fail_msg("re-parse of \"%s\" failed: %s", out, eb.msg);
    }
    assert_same_bytes(&key, &key2, out);
    assert_same_bytes(&mask, &mask2, out);
    free(out);

    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&key2);
    buf_uninit(&mask2);
}

static void
check_keyonly(const char *text)
{
    struct buf key, key2;
    struct errbuf eb = { "" };

    buf_init(&key, 0);
    buf_init(&key2, 0);
    if (odp_parse_key(text, &key, NULL, &eb)) {
        fail_msg("parse of \"%s\" failed: %s", text, eb.msg);
    }
    char *out = format_key(&key, NULL, false);
    if (strcmp(out, text)) {
        fail_msg("format(parse(s)) != s\n  s:   %s\n  got: %s", text, out);
    }
    assert_int_equal(odp_parse_key(out, &key2, NULL, &eb), 0);
    assert_same_bytes(&key, &key2, out);
    free(out);
    buf_uninit(&key);
    buf_uninit(&key2);
}

static void
check_actions(const char *text)
{
    struct buf actions, actions2;
    struct errbuf eb = { "" };

    buf_init(&actions, 0);
    buf_init(&actions2, 0);
    if (odp_parse_actions(text, &actions, &eb)) {
        fail_msg("parse of \"%s\" failed: %s", text, eb.msg);
    }
    char *out = format_actions(&actions);
    if (strcmp(out, text)) {
        fail_msg("format(parse(s)) != s\n  s:   %s\n  got: %s", text, out);
    }
    assert_int_equal(odp_parse_actions(out, &actions2, &eb), 0);
    assert_same_bytes(&actions, &actions2, out);
    free(out);
    buf_uninit(&actions);
    buf_uninit(&actions2);
}

/* Checks a rejection: "TEXT => SUBSTRING". */
static void
check_bad(const char *line, int kind)
{
    const char *sep = strstr(line, " => ");
    if (!sep) {
        fail_msg("corpus line without \" => \": %s", line);
    }
    char *text = strndup(line, (size_t) (sep - line));
    const char *want = sep + 4;
    uint8_t stub[4] = { 1, 2, 3, 4 };
    struct buf a, b;
    struct errbuf eb = { "" };
    int error;

    /* Pre-existing contents must survive a failed parse. */
    buf_init(&a, 0);
    buf_init(&b, 0);
    buf_put(&a, stub, sizeof stub);
    buf_put(&b, stub, sizeof stub);
    error = (kind == 0 ? odp_parse_key(text, &a, &b, &eb)
             : kind == 1 ? odp_parse_key(text, &a, NULL, &eb)
             : odp_parse_actions(text, &a, &eb));
    if (!error) {
        fail_msg("\"%s\" was accepted", text);
    }
    if (!strstr(eb.msg, want)) {
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", text, eb.msg, want);
    }
    if (strncmp(eb.msg, "column ", 7)) {
        fail_msg("\"%s\": reason \"%s\" has no column", text, eb.msg);
    }
    assert_int_equal(a.size, sizeof stub);
    assert_int_equal(b.size, sizeof stub);
    buf_uninit(&a);
    buf_uninit(&b);
    free(text);
}

static void
corpus_round_trips(void **state)
{
    (void) state;
    FILE *f = fopen(TEST_DATA_DIR "/odp-corpus.txt", "r");
    char line[1024];
    int n_good = 0, n_bad = 0;

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#') {
            continue;
        }
        char *colon = strstr(line, ": ");
        assert_non_null(colon);
        *colon = '\0';
        const char *kind = line, *text = colon + 2;

        if (!strcmp(kind, "key")) {
            check_key(text, false);
            n_good++;
        } else if (!strcmp(kind, "verbose")) {
            check_key(text, true);
            n_good++;
        } else if (!strcmp(kind, "keyonly")) {
            check_keyonly(text);
            n_good++;
        } else if (!strcmp(kind, "actions")) {
            check_actions(text);
            n_good++;
        } else if (!strcmp(kind, "bad-key")) {
            check_bad(text, 0);
            n_bad++;
        } else if (!strcmp(kind, "bad-keyonly")) {
            check_bad(text, 1);
            n_bad++;
        } else if (!strcmp(kind, "bad-actions")) {
            check_bad(text, 2);
            n_bad++;
        } else {
            fail_msg("unknown corpus kind \"%s\"", kind);
        }
    }
    fclose(f);
    assert_true(n_good >= 100);
    assert_true(n_bad >= 30);
}

/* A stream built attribute by attribute, as the kernel would send it,
 * prints as ovs-dpctl prints it and parses back to the same bytes. */
static void
kernel_stream_round_trips(void **state)
{
    (void) state;
    struct buf key, mask, key2, mask2;
    struct ovs_key_ethernet eth = {
        .eth_src = { 0, 0, 0, 0, 0, 1 }, .eth_dst = { 0, 0, 0, 0, 0, 2 } };
    struct ovs_key_ethernet eth_mask;
    struct ovs_key_ipv4 ip = { .ipv4_src = htonl(0x0a000001),
                               .ipv4_dst = htonl(0x0a000002),
                               .ipv4_proto = 6, .ipv4_ttl = 64 };
    struct ovs_key_ipv4 ip_mask = { .ipv4_src = htonl(0xffffff00),
                                    .ipv4_proto = 0xff, .ipv4_frag = 0xff };
    struct errbuf eb;

    memset(&eth_mask, 0xff, sizeof eth_mask);
    buf_init(&key, 0);
    buf_init(&mask, 0);
    nl_put_u32(&key, OVS_KEY_ATTR_RECIRC_ID, 0);
    nl_put_u32(&mask, OVS_KEY_ATTR_RECIRC_ID, UINT32_MAX);
    nl_put_u32(&key, OVS_KEY_ATTR_IN_PORT, 2);
    nl_put_u32(&mask, OVS_KEY_ATTR_IN_PORT, UINT32_MAX);
    nl_put_attr(&key, OVS_KEY_ATTR_ETHERNET, &eth, sizeof eth);
    nl_put_attr(&mask, OVS_KEY_ATTR_ETHERNET, &eth_mask, sizeof eth_mask);
    nl_put_be16(&key, OVS_KEY_ATTR_ETHERTYPE, htons(0x0800));
    nl_put_be16(&mask, OVS_KEY_ATTR_ETHERTYPE, 0xffff);
    nl_put_attr(&key, OVS_KEY_ATTR_IPV4, &ip, sizeof ip);
    nl_put_attr(&mask, OVS_KEY_ATTR_IPV4, &ip_mask, sizeof ip_mask);

    char *s = format_key(&key, &mask, false);
    assert_string_equal(s, "recirc_id(0),in_port(2),"
                        "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),"
                        "eth_type(0x0800),ipv4(src=10.0.0.1/255.255.255.0,"
                        "proto=6,frag=no)");
    free(s);

    /* Non-verbose drops the wildcarded dst/ttl values; verbose keeps them. */
    s = format_key(&key, &mask, true);
    buf_init(&key2, 0);
    buf_init(&mask2, 0);
    assert_int_equal(odp_parse_key(s, &key2, &mask2, &eb), 0);
    assert_same_bytes(&key, &key2, s);
    assert_same_bytes(&mask, &mask2, s);
    free(s);

    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&key2);
    buf_uninit(&mask2);
}

/* Attributes missing from the mask are wildcards: left out, except eth(). */
static void
absent_mask_attribute_is_wildcard(void **state)
{
    (void) state;
    struct buf key, mask;
    struct ovs_key_ethernet eth = { .eth_src = { 1 } };

    buf_init(&key, 0);
    buf_init(&mask, 0);
    nl_put_u32(&key, OVS_KEY_ATTR_PRIORITY, 7);
    nl_put_attr(&key, OVS_KEY_ATTR_ETHERNET, &eth, sizeof eth);
    nl_put_u32(&key, OVS_KEY_ATTR_IN_PORT, 1);
    nl_put_u32(&mask, OVS_KEY_ATTR_IN_PORT, UINT32_MAX);

    char *s = format_key(&key, &mask, false);
    assert_string_equal(s, "eth(),in_port(1)");
    free(s);
    s = format_key(&key, &mask, true);
    assert_string_equal(s, "skb_priority(0x7/0),"
                        "eth(src=01:00:00:00:00:00/00:00:00:00:00:00,"
                        "dst=00:00:00:00:00:00/00:00:00:00:00:00),in_port(1)");
    free(s);
    buf_uninit(&key);
    buf_uninit(&mask);
}

/* Malformed streams print as far as they go, never crash. */
static void
malformed_streams_are_printed(void **state)
{
    (void) state;
    struct buf key;
    uint8_t junk[3] = { 0xde, 0xad, 0xbe };

    buf_init(&key, 0);
    nl_put_u32(&key, OVS_KEY_ATTR_IN_PORT, 1);
    nl_put_u16(&key, OVS_KEY_ATTR_PRIORITY, 2);         /* Wrong length. */
    buf_put(&key, junk, sizeof junk);                    /* Truncated. */

    char *s = format_key(&key, NULL, false);
    assert_string_equal(s, "in_port(1),key2(0200),"
                        "***3 leftover bytes*** (deadbe)");
    free(s);

    struct buf actions;
    buf_init(&actions, 0);
    nl_put_u16(&actions, OVS_ACTION_ATTR_OUTPUT, 1);   /* Wrong length. */
    size_t ofs = nl_nest_start(&actions, OVS_ACTION_ATTR_SAMPLE);
    nl_put_u32(&actions, OVS_SAMPLE_ATTR_PROBABILITY, 1);  /* No actions. */
    nl_nest_end(&actions, ofs);
    s = format_actions(&actions);
    assert_string_equal(s, "action1(0100),action6(0800010001000000)");
    free(s);

    buf_uninit(&key);
    buf_uninit(&actions);
}

/* A masked set whose mask covers everything prints like a plain set, and a
 * plain set of an attribute prints every field. */
static void
set_actions_choose_masked_form(void **state)
{
    (void) state;
    struct buf actions;
    struct errbuf eb;

    buf_init(&actions, 0);
    assert_int_equal(odp_parse_actions("set(ipv4(ttl=63))", &actions, &eb),
                     0);
    const struct nlattr *a = (const void *) actions.data;
    assert_int_equal(nl_attr_type(a), OVS_ACTION_ATTR_SET_MASKED);
    const struct nlattr *inner = nl_attr_get(a);
    assert_int_equal(nl_attr_type(inner), OVS_KEY_ATTR_IPV4);
    assert_int_equal(nl_attr_get_size(inner),
                     2 * sizeof(struct ovs_key_ipv4));

    buf_clear(&actions);
    assert_int_equal(odp_parse_actions("set(tcp(src=1,dst=2))", &actions,
                                       &eb), 0);
    a = (const void *) actions.data;
    assert_int_equal(nl_attr_type(a), OVS_ACTION_ATTR_SET);
    buf_uninit(&actions);
}

/* Input forms the parser accepts beyond the canonical one. */
static void
alternative_spellings_parse_alike(void **state)
{
    (void) state;
    static const char *const pairs[][2] = {
        { "in_port(1), eth_type(0x0800)", "in_port(1),eth_type(0x0800)" },
        { "in_port(0x1)", "in_port(1)" },
        { "ipv4(src=10.0.0.0/24)", "ipv4(src=10.0.0.0/255.255.255.0)" },
        { "ipv6(src=2001:db8::/32)", "ipv6(src=2001:db8::/ffff:ffff::)" },
        { "tcp_flags(0x12)", "tcp_flags(syn|ack)" },
        { "tcp_flags(0x12/0x12)", "tcp_flags(+syn+ack)" },
        { "eth(dst=00:00:00:00:00:02,src=00:00:00:00:00:01)",
          "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)" },
        { "tunnel(flags(df),tun_id=0x5)", "tunnel(tun_id=0x5,flags(df))" },
        { "<empty>", "" },
        { "  ", "" },
    };

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct buf k1, m1, k2, m2;
        struct errbuf eb = { "" };

        buf_init(&k1, 0);
        buf_init(&m1, 0);
        buf_init(&k2, 0);
        buf_init(&m2, 0);
        if (odp_parse_key(pairs[i][0], &k1, &m1, &eb)
            || odp_parse_key(pairs[i][1], &k2, &m2, &eb)) {
            fail_msg("\"%s\": %s", pairs[i][0], eb.msg);
        }
        assert_same_bytes(&k1, &k2, pairs[i][0]);
        assert_same_bytes(&m1, &m2, pairs[i][0]);
        buf_uninit(&k1);
        buf_uninit(&m1);
        buf_uninit(&k2);
        buf_uninit(&m2);
    }
}

/* Nesting is bounded on both sides. */
static void
nesting_depth_is_bounded(void **state)
{
    (void) state;
    struct ds s;
    struct buf actions;
    struct errbuf eb;

    ds_init(&s);
    for (int i = 0; i < ODP_MAX_DEPTH + 1; i++) {
        ds_put_cstr(&s, "clone(");
    }
    ds_put_char(&s, '1');
    for (int i = 0; i < ODP_MAX_DEPTH + 1; i++) {
        ds_put_char(&s, ')');
    }
    buf_init(&actions, 0);
    assert_int_equal(odp_parse_actions(ds_cstr(&s), &actions, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "nested deeper"));
    assert_int_equal(actions.size, 0);

    /* One level less is fine and survives the round trip. */
    ds_clear(&s);
    for (int i = 0; i < ODP_MAX_DEPTH; i++) {
        ds_put_cstr(&s, "clone(");
    }
    ds_put_char(&s, '1');
    for (int i = 0; i < ODP_MAX_DEPTH; i++) {
        ds_put_char(&s, ')');
    }
    check_actions(ds_cstr(&s));
    ds_destroy(&s);
    buf_uninit(&actions);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_round_trips),
        cmocka_unit_test(kernel_stream_round_trips),
        cmocka_unit_test(absent_mask_attribute_is_wildcard),
        cmocka_unit_test(malformed_streams_are_printed),
        cmocka_unit_test(set_actions_choose_masked_form),
        cmocka_unit_test(alternative_spellings_parse_alike),
        cmocka_unit_test(nesting_depth_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
