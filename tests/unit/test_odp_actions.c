/* Tests for common/odp-actions.c: builders against hand-checked byte images
 * (little-endian host: OVS_ACTION_ATTR_* integers are host order), the
 * validator against good streams and against each way a stream can be
 * malformed or forbidden, and the inspection helpers. */
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

#include "common/counters.h"
#include "common/flow.h"
#include "common/odp-actions.h"

#define GOOD_PID 0x1234

/* Ports 0..9 exist. */
static bool
port_exists(uint32_t port, void *aux)
{
    (void) aux;
    return port < 10;
}

static bool
pid_is_handler(uint32_t pid, void *aux)
{
    (void) aux;
    return pid == GOOD_PID;
}

struct fixture {
    struct buf b;                   /* The stream under test. */
    uint64_t stub[512 / 8];         /* Its initial storage. */
    struct odp_actions_policy policy; /* Everything supported, default
                                       * bounds, the callbacks above. */
    struct errbuf eb;               /* Last reason. */
};

static int
setup(void **state)
{
    struct fixture *f = xzalloc(sizeof *f);

    buf_use_stub(&f->b, f->stub, sizeof f->stub);
    f->policy = (struct odp_actions_policy) {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .port_ok = port_exists,
        .pid_ok = pid_is_handler,
    };
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    buf_uninit(&f->b);
    free(f);
    return 0;
}

static int
validate(struct fixture *f)
{
    memset(&f->eb, 0, sizeof f->eb);
    return odp_actions_validate(f->b.data, f->b.size, &f->policy, &f->eb);
}

/* Asserts that the stream in 'f' is rejected with 'error' and a reason that
 * contains 'reason'. */
#define assert_rejected(F, ERROR, REASON)                                   \
    do {                                                                    \
        int error_ = validate(F);                                           \
        if (error_ != (ERROR) || !strstr((F)->eb.msg, REASON)) {            \
            fail_msg("got error %d \"%s\", expected %d \"...%s...\"",       \
                     error_, (F)->eb.msg, (ERROR), REASON);                 \
        }                                                                   \
        assert_true(!strncmp((F)->eb.msg, "actions: ", 9));                 \
    } while (0)

#define assert_valid(F)                                                     \
    do {                                                                    \
        int error_ = validate(F);                                           \
        if (error_) {                                                       \
            fail_msg("rejected (%d): %s", error_, (F)->eb.msg);             \
        }                                                                   \
    } while (0)

#define assert_bytes(F, EXPECTED)                                           \
    do {                                                                    \
        assert_int_equal((F)->b.size, sizeof (EXPECTED));                   \
        assert_memory_equal((F)->b.data, (EXPECTED), sizeof (EXPECTED));    \
    } while (0)

static bool
host_is_little_endian(void)
{
    return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}

/* Appends raw bytes (for hand-made malformed streams). */
static void
put_raw(struct fixture *f, const void *p, size_t n)
{
    buf_put(&f->b, p, n);
}

/*
 * Builders: hand-checked images.
 */

static void
build_output(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x08, 0x00, 0x01, 0x00,         /* len 8, OUTPUT */
        0x05, 0x00, 0x00, 0x00,         /* port 5 */
    };
    if (!host_is_little_endian()) {
        skip();
    }
    odp_put_output(&f->b, 5);
    assert_bytes(f, expected);
    assert_valid(f);
}

static void
build_push_vlan(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x08, 0x00, 0x04, 0x00,         /* len 8, PUSH_VLAN */
        0x81, 0x00,                     /* tpid 0x8100, network order */
        0x30, 0x0a,                     /* tci: pcp 1, CFI, vid 10 */
    };
    if (!host_is_little_endian()) {
        skip();
    }
    odp_put_push_vlan(&f->b, htons(ETH_P_8021Q),
                      htons(1 << VLAN_PCP_SHIFT | VLAN_CFI | 10));
    assert_bytes(f, expected);
    assert_valid(f);
}

static void
build_set_ipv4(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x14, 0x00, 0x03, 0x00,         /* len 20, SET */
        0x10, 0x00, 0x07, 0x00,         /* len 16, OVS_KEY_ATTR_IPV4 */
        0x0a, 0x00, 0x00, 0x01,         /* src 10.0.0.1 */
        0x0a, 0x00, 0x00, 0x02,         /* dst 10.0.0.2 */
        0x06, 0x10, 0x40, 0x00,         /* proto 6, tos 0x10, ttl 64, frag 0 */
    };
    struct ovs_key_ipv4 ip = {
        .ipv4_src = htonl(0x0a000001), .ipv4_dst = htonl(0x0a000002),
        .ipv4_proto = 6, .ipv4_tos = 0x10, .ipv4_ttl = 64,
    };
    if (!host_is_little_endian()) {
        skip();
    }
    odp_put_set(&f->b, OVS_KEY_ATTR_IPV4, &ip, sizeof ip);
    assert_bytes(f, expected);
    assert_valid(f);
}

/* The builder clears value bits outside the mask (here the whole
 * destination), as the ABI requires. */
static void
build_set_masked_ethernet(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x20, 0x00, 0x0b, 0x00,             /* len 32, SET_MASKED */
        0x1c, 0x00, 0x04, 0x00,             /* len 28, KEY_ATTR_ETHERNET */
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, /* value: eth_src */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* value: eth_dst (masked out) */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* mask: eth_src */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* mask: eth_dst */
    };
    struct ovs_key_ethernet value = {
        .eth_src = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 },
        .eth_dst = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
    };
    struct ovs_key_ethernet mask = {
        .eth_src = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
    };
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_ETHERNET, &value, &mask,
                       sizeof value);
    assert_bytes(f, expected);
    assert_valid(f);
}

static void
build_sample_with_output(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x18, 0x00, 0x06, 0x00,         /* len 24, SAMPLE */
        0x08, 0x00, 0x01, 0x00,         /* len 8, PROBABILITY */
        0x00, 0x00, 0x00, 0x80,         /* 0x80000000: half */
        0x0c, 0x00, 0x02, 0x00,         /* len 12, ACTIONS */
        0x08, 0x00, 0x01, 0x00,         /*   len 8, OUTPUT */
        0x03, 0x00, 0x00, 0x00,         /*   port 3 */
    };
    if (!host_is_little_endian()) {
        skip();
    }
    size_t sample = odp_put_sample_start(&f->b, 0x80000000);
    odp_put_output(&f->b, 3);
    odp_put_sample_end(&f->b, sample);
    assert_bytes(f, expected);
    assert_valid(f);
}

static void
build_userspace_with_userdata(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x18, 0x00, 0x02, 0x00,         /* len 24, USERSPACE */
        0x08, 0x00, 0x01, 0x00,         /* len 8, PID */
        0x34, 0x12, 0x00, 0x00,         /* 0x1234 */
        0x07, 0x00, 0x02, 0x00,         /* len 7, USERDATA */
        'a', 'b', 'c', 0x00,            /* "abc", one byte of padding */
        0x04, 0x00, 0x04, 0x00,         /* len 4, ACTIONS flag */
    };
    if (!host_is_little_endian()) {
        skip();
    }
    size_t ofs = odp_put_userspace(&f->b, GOOD_PID, "abc", 3, ODP_PORT_NONE,
                                   true);
    assert_bytes(f, expected);
    assert_int_equal(ofs, 16);
    assert_memory_equal(buf_at(&f->b, ofs), "abc", 3);
    assert_valid(f);
}

static void
build_userspace_minimal_and_tunnel(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x0c, 0x00, 0x02, 0x00,         /* len 12, USERSPACE */
        0x08, 0x00, 0x01, 0x00,         /* len 8, PID */
        0x34, 0x12, 0x00, 0x00,         /* 0x1234 */
        0x14, 0x00, 0x02, 0x00,         /* len 20, USERSPACE */
        0x08, 0x00, 0x01, 0x00,         /* len 8, PID */
        0x34, 0x12, 0x00, 0x00,         /* 0x1234 */
        0x08, 0x00, 0x03, 0x00,         /* len 8, EGRESS_TUN_PORT */
        0x04, 0x00, 0x00, 0x00,         /* port 4 */
    };
    if (!host_is_little_endian()) {
        skip();
    }
    assert_int_equal(odp_put_userspace(&f->b, GOOD_PID, NULL, 0,
                                       ODP_PORT_NONE, false), 0);
    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, 4, false);
    assert_bytes(f, expected);
    assert_valid(f);
}

static void
build_small_actions(void **state)
{
    struct fixture *f = *state;
    static const uint8_t expected[] = {
        0x04, 0x00, 0x05, 0x00,         /* len 4, POP_VLAN */
        0x0c, 0x00, 0x08, 0x00,         /* len 12, HASH */
        0x00, 0x00, 0x00, 0x00,         /* OVS_HASH_ALG_L4 */
        0x78, 0x56, 0x34, 0x12,         /* basis 0x12345678 */
        0x08, 0x00, 0x0d, 0x00,         /* len 8, TRUNC */
        0x40, 0x00, 0x00, 0x00,         /* max_len 64 */
        0x08, 0x00, 0x07, 0x00,         /* len 8, RECIRC */
        0x2a, 0x00, 0x00, 0x00,         /* id 42 */
        0x10, 0x00, 0x14, 0x00,         /* len 16, CLONE */
        0x04, 0x00, 0x05, 0x00,         /*   POP_VLAN */
        0x08, 0x00, 0x01, 0x00,         /*   len 8, OUTPUT */
        0x09, 0x00, 0x00, 0x00,         /*   port 9 */
    };
    if (!host_is_little_endian()) {
        skip();
    }
    odp_put_pop_vlan(&f->b);
    odp_put_hash(&f->b, OVS_HASH_ALG_L4, 0x12345678);
    odp_put_trunc(&f->b, 64);
    odp_put_recirc(&f->b, 42);
    size_t clone = odp_put_clone_start(&f->b);
    odp_put_pop_vlan(&f->b);
    odp_put_output(&f->b, 9);
    odp_put_clone_end(&f->b, clone);
    assert_bytes(f, expected);
    assert_valid(f);
}

static void
build_set_metadata_and_l4(void **state)
{
    struct fixture *f = *state;
    uint32_t mark = 7, mark_mask = 0xff;
    struct ovs_key_tcp tcp = { htons(80), htons(8080) };
    struct ovs_key_udp udp = { htons(53), 0 };
    struct ovs_key_udp udp_mask = { htons(0xffff), 0 };
    struct ovs_key_sctp sctp = { htons(1), htons(2) };
    struct ovs_key_ipv6 ip6 = { .ipv6_label = htonl(0xfffff),
                                .ipv6_hlimit = 9 };

    odp_put_set(&f->b, OVS_KEY_ATTR_PRIORITY, &mark, sizeof mark);
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_SKB_MARK, &mark, &mark_mask,
                       sizeof mark);
    odp_put_set(&f->b, OVS_KEY_ATTR_TCP, &tcp, sizeof tcp);
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_UDP, &udp, &udp_mask, sizeof udp);
    odp_put_set(&f->b, OVS_KEY_ATTR_SCTP, &sctp, sizeof sctp);
    odp_put_set(&f->b, OVS_KEY_ATTR_IPV6, &ip6, sizeof ip6);
    assert_valid(f);
}

/*
 * Validation: accepted streams.
 */

static void
validate_empty_stream(void **state)
{
    struct fixture *f = *state;
    assert_valid(f);
    assert_int_equal(odp_actions_validate(NULL, 0, &f->policy, NULL), 0);
}

/* A stream using every supported action, nested, under the default
 * depth. */
static void
validate_everything(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_ipv4 ip = { .ipv4_ttl = 3 }, ip_mask = { .ipv4_ttl = 0xff };

    odp_put_push_vlan(&f->b, htons(ETH_P_8021AD), htons(VLAN_CFI));
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_IPV4, &ip, &ip_mask, sizeof ip);
    size_t sample = odp_put_sample_start(&f->b, UINT32_MAX);
    size_t clone = odp_put_clone_start(&f->b);
    odp_put_userspace(&f->b, GOOD_PID, "cookie", 6, 1, true);
    odp_put_trunc(&f->b, ETH_HLEN);
    odp_put_output(&f->b, 0);
    odp_put_clone_end(&f->b, clone);
    odp_put_sample_end(&f->b, sample);
    odp_put_pop_vlan(&f->b);
    odp_put_hash(&f->b, OVS_HASH_ALG_L4, 1);
    odp_put_recirc(&f->b, 1);
    assert_valid(f);
}

/* Empty nested action lists do nothing, which is allowed. */
static void
validate_empty_nests(void **state)
{
    struct fixture *f = *state;

    odp_put_sample_end(&f->b, odp_put_sample_start(&f->b, 0));
    odp_put_clone_end(&f->b, odp_put_clone_start(&f->b));
    odp_put_userspace(&f->b, GOOD_PID, "", 0, ODP_PORT_NONE, false);
    assert_valid(f);
}

/* Nests exactly as deep as the default policy allows: four of them, the
 * innermost a userspace action (it counts too). */
static void
validate_depth_at_limit(void **state)
{
    struct fixture *f = *state;
    size_t t1 = odp_put_sample_start(&f->b, 1);
    size_t t2 = odp_put_clone_start(&f->b);
    size_t t3 = odp_put_sample_start(&f->b, 1);

    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, ODP_PORT_NONE, false);
    odp_put_sample_end(&f->b, t3);
    odp_put_clone_end(&f->b, t2);
    odp_put_sample_end(&f->b, t1);
    assert_valid(f);
}

/*
 * Validation: rejections, one per way to be wrong.
 */

static void
reject_output_wrong_size(void **state)
{
    struct fixture *f = *state;
    nl_put_u16(&f->b, OVS_ACTION_ATTR_OUTPUT, 1);
    assert_rejected(f, EINVAL, "output: attribute type 1 (u32) has 2 bytes");
}

static void
reject_push_vlan_wrong_size(void **state)
{
    struct fixture *f = *state;
    nl_put_u64(&f->b, OVS_ACTION_ATTR_PUSH_VLAN, 0);
    assert_rejected(f, EINVAL, "push_vlan: attribute type 4 has 8 bytes, "
                    "expected 4");
}

static void
reject_hash_wrong_size(void **state)
{
    struct fixture *f = *state;
    nl_put_u32(&f->b, OVS_ACTION_ATTR_HASH, OVS_HASH_ALG_L4);
    assert_rejected(f, EINVAL, "hash: attribute type 8 has 4 bytes, "
                    "expected 8");
}

static void
reject_pop_vlan_with_payload(void **state)
{
    struct fixture *f = *state;
    nl_put_u32(&f->b, OVS_ACTION_ATTR_POP_VLAN, 0);
    assert_rejected(f, EINVAL, "pop_vlan: attribute type 5 (flag) has 4 bytes");
}

static void
reject_unknown_type(void **state)
{
    struct fixture *f = *state;
    odp_put_output(&f->b, 1);
    nl_put_u32(&f->b, 99, 0);
    assert_rejected(f, EINVAL, "unknown action type 99");
}

static void
reject_unsupported_type(void **state)
{
    struct fixture *f = *state;
    nl_put_u32(&f->b, OVS_ACTION_ATTR_METER, 1);
    assert_rejected(f, EINVAL, "action type meter (19) is not supported");
}

/* Type 0 is no action at all. */
static void
reject_unspec_type(void **state)
{
    struct fixture *f = *state;
    nl_put_flag(&f->b, OVS_ACTION_ATTR_UNSPEC);
    assert_rejected(f, EINVAL, "action type unspec (0) is not supported");
}

/* Every type the ABI defines is either in ODP_ACTIONS_SUPPORTED and gets
 * past the support check, or is refused as unsupported: the header's mask
 * and the validator's table agree. */
static void
supported_mask_matches_validator(void **state)
{
    struct fixture *f = *state;

    for (uint16_t type = 0; type <= OVS_ACTION_ATTR_MAX; type++) {
        buf_clear(&f->b);
        nl_put_attr(&f->b, type, "\xff\xff\xff", 3);
        int error = validate(f);
        bool unsupported = strstr(f->eb.msg, "is not supported") != NULL;

        assert_int_not_equal(error, 0);
        assert_int_equal(unsupported,
                         !(ODP_ACTIONS_SUPPORTED & ODP_ACTION_BIT(type)));
        assert_string_not_equal(odp_action_type_name(type), "unknown");
    }
    assert_string_equal(odp_action_type_name(OVS_ACTION_ATTR_MAX + 1),
                        "unknown");
    assert_string_equal(odp_action_type_name(UINT16_MAX), "unknown");
}

static void
reject_type_not_allowed_by_policy(void **state)
{
    struct fixture *f = *state;

    f->policy.allowed &= ~ODP_ACTION_BIT(OVS_ACTION_ATTR_RECIRC);
    odp_put_output(&f->b, 1);
    odp_put_recirc(&f->b, 5);
    assert_rejected(f, EPERM, "recirc is not allowed here");
}

static void
reject_nested_type_not_allowed_by_policy(void **state)
{
    struct fixture *f = *state;

    f->policy.allowed &= ~ODP_ACTION_BIT(OVS_ACTION_ATTR_USERSPACE);
    size_t clone = odp_put_clone_start(&f->b);
    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, ODP_PORT_NONE, false);
    odp_put_clone_end(&f->b, clone);
    assert_rejected(f, EPERM, "actions: in clone: userspace is not allowed "
                    "here");
}

static void
reject_nonexistent_port(void **state)
{
    struct fixture *f = *state;
    odp_put_output(&f->b, 1);
    odp_put_output(&f->b, 17);
    assert_rejected(f, ENODEV, "actions: output port 17 does not exist");
}

static void
reject_nonexistent_port_in_sample(void **state)
{
    struct fixture *f = *state;
    size_t sample = odp_put_sample_start(&f->b, 5);
    odp_put_output(&f->b, 10);
    odp_put_sample_end(&f->b, sample);
    assert_rejected(f, ENODEV, "actions: in sample: output port 10 does not "
                    "exist");
}

static void
reject_nonexistent_egress_tun_port(void **state)
{
    struct fixture *f = *state;
    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, 12, false);
    assert_rejected(f, ENODEV, "userspace egress_tun_port port 12 does not "
                    "exist");
}

/* UINT32_MAX means "no port" to the builders, so it can be no port in a
 * stream either. */
static void
reject_port_none(void **state)
{
    struct fixture *f = *state;

    f->policy.port_ok = odp_accept_any;
    odp_put_output(&f->b, ODP_PORT_NONE);
    assert_rejected(f, EINVAL, "output port 4294967295 is the \"no port\" "
                    "value");

    buf_clear(&f->b);
    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_PID, GOOD_PID);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, ODP_PORT_NONE);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "egress_tun_port port 4294967295 is the");
}

static void
reject_foreign_pid(void **state)
{
    struct fixture *f = *state;
    odp_put_userspace(&f->b, 4321, "x", 1, ODP_PORT_NONE, false);
    assert_rejected(f, EPERM, "actions: userspace pid 4321 is not allowed");
}

/* A policy without callbacks fails closed. */
static void
reject_everything_without_callbacks(void **state)
{
    struct fixture *f = *state;

    f->policy.port_ok = NULL;
    odp_put_output(&f->b, 0);
    assert_rejected(f, ENODEV, "output port 0 does not exist");

    buf_clear(&f->b);
    f->policy.pid_ok = NULL;
    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, ODP_PORT_NONE, false);
    assert_rejected(f, EPERM, "userspace pid 4660 is not allowed");

    f->policy.port_ok = odp_accept_any;
    f->policy.pid_ok = odp_accept_any;
    assert_valid(f);
}

/* Builds 'n' nested clones with an output inside the innermost. */
static void
put_nested_clones(struct buf *b, int n)
{
    if (n) {
        size_t clone = odp_put_clone_start(b);
        put_nested_clones(b, n - 1);
        odp_put_clone_end(b, clone);
    } else {
        odp_put_output(b, 1);
    }
}

static void
reject_nesting_too_deep(void **state)
{
    struct fixture *f = *state;

    put_nested_clones(&f->b, ODP_ACTIONS_DEFAULT_MAX_DEPTH);
    assert_valid(f);

    buf_clear(&f->b);
    put_nested_clones(&f->b, ODP_ACTIONS_DEFAULT_MAX_DEPTH + 1);
    assert_rejected(f, EINVAL, "clone: nesting deeper than 4");

    /* A policy may allow more, but never more than the hard limit. */
    f->policy.max_depth = 5;
    assert_valid(f);
    buf_clear(&f->b);
    f->policy.max_depth = 1000;
    put_nested_clones(&f->b, ODP_ACTIONS_DEPTH_LIMIT);
    assert_valid(f);
    buf_clear(&f->b);
    put_nested_clones(&f->b, ODP_ACTIONS_DEPTH_LIMIT + 1);
    assert_rejected(f, EINVAL, "nesting deeper than 16");
}

/* USERSPACE's attributes count as a level of nesting. */
static void
reject_userspace_too_deep(void **state)
{
    struct fixture *f = *state;
    size_t tokens[4];

    for (int i = 0; i < 4; i++) {
        tokens[i] = odp_put_sample_start(&f->b, 1);
    }
    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, ODP_PORT_NONE, false);
    for (int i = 3; i >= 0; i--) {
        odp_put_sample_end(&f->b, tokens[i]);
    }
    assert_rejected(f, EINVAL, "in sample: in sample: in sample: in sample: "
                    "userspace: nesting deeper than 4");
}

static void
reject_trailing_bytes(void **state)
{
    struct fixture *f = *state;
    static const uint8_t junk[] = { 0, 0 };

    odp_put_output(&f->b, 1);
    put_raw(f, junk, sizeof junk);
    assert_rejected(f, EINVAL, "2 trailing bytes after the last attribute");
}

static void
reject_truncated_action(void **state)
{
    struct fixture *f = *state;

    odp_put_output(&f->b, 1);
    f->b.size -= 2;
    assert_rejected(f, EINVAL, "attribute type 1 has length 8 but 6 bytes "
                    "remain");
}

/* A sample whose nested output claims more bytes than the nest holds. */
static void
reject_truncated_nested(void **state)
{
    struct fixture *f = *state;

    size_t sample = odp_put_sample_start(&f->b, 1);
    odp_put_output(&f->b, 1);
    odp_put_sample_end(&f->b, sample);
    /* The output's nla_len, 16 bytes into the sample, from 8 to 12. */
    uint8_t *len = buf_at(&f->b, 16);
    assert_int_equal(*len, 8);
    *len = 12;
    assert_rejected(f, EINVAL, "actions: in sample: stream: attribute type 1 "
                    "has length 12 but 8 bytes remain");
}

static void
reject_missing_padding(void **state)
{
    struct fixture *f = *state;

    odp_put_userspace(&f->b, GOOD_PID, "abc", 3, ODP_PORT_NONE, false);
    /* Drop the USERDATA padding from the stream and both lengths. */
    f->b.size -= 1;
    f->b.data[0] -= 1;
    assert_rejected(f, EINVAL, "stream: attribute type 2 lacks its padding");
}

static void
reject_nonzero_padding(void **state)
{
    struct fixture *f = *state;

    odp_put_userspace(&f->b, GOOD_PID, "abc", 3, ODP_PORT_NONE, false);
    f->b.data[f->b.size - 1] = 0x5a;
    assert_rejected(f, EINVAL, "userspace: attribute type 2 has nonzero "
                    "padding");
}

static void
reject_attribute_flag_bits(void **state)
{
    struct fixture *f = *state;

    nl_put_u32(&f->b, OVS_ACTION_ATTR_OUTPUT | NLA_F_NET_BYTEORDER, 1);
    assert_rejected(f, EINVAL, "attribute type 1 has flag bits 0x4000");
}

static void
reject_misaligned_stream(void **state)
{
    struct fixture *f = *state;
    uint32_t words[4];
    uint8_t *p = (uint8_t *) words + 1;

    odp_put_output(&f->b, 1);
    memcpy(p, f->b.data, f->b.size);
    assert_int_equal(odp_actions_validate(p, f->b.size, &f->policy, &f->eb),
                     EINVAL);
    assert_non_null(strstr(f->eb.msg, "misaligned"));
}

static void
reject_too_long(void **state)
{
    struct fixture *f = *state;

    f->policy.max_len = 16;
    odp_put_output(&f->b, 1);
    odp_put_output(&f->b, 2);
    assert_valid(f);
    odp_put_output(&f->b, 3);
    assert_rejected(f, EMSGSIZE, "actions: 24 bytes, more than 16");

    f->policy.max_len = 0;
    buf_clear(&f->b);
    while (f->b.size <= ODP_ACTIONS_DEFAULT_MAX_LEN) {
        odp_put_output(&f->b, 1);
    }
    assert_rejected(f, EMSGSIZE, "more than 32768");
}

static void
reject_set_two_keys(void **state)
{
    struct fixture *f = *state;
    uint32_t v = 1;

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_SET);
    nl_put_attr(&f->b, OVS_KEY_ATTR_PRIORITY, &v, sizeof v);
    nl_put_attr(&f->b, OVS_KEY_ATTR_SKB_MARK, &v, sizeof v);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "actions: set has 2 key attributes, expected "
                    "exactly one");
}

static void
reject_set_no_key(void **state)
{
    struct fixture *f = *state;
    nl_nest_end(&f->b, nl_nest_start(&f->b, OVS_ACTION_ATTR_SET_MASKED));
    assert_rejected(f, EINVAL, "set_masked has 0 key attributes");
}

static void
reject_set_unsettable_key(void **state)
{
    struct fixture *f = *state;
    uint32_t port = 3;

    odp_put_set(&f->b, OVS_KEY_ATTR_IN_PORT, &port, sizeof port);
    assert_rejected(f, EINVAL, "actions: set of key type 3 is not supported");

    buf_clear(&f->b);
    odp_put_set(&f->b, 200, &port, sizeof port);
    assert_rejected(f, EINVAL, "set of key type 200 is not supported");
}

static void
reject_set_wrong_key_size(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_ipv4 ip = { 0 };

    odp_put_set(&f->b, OVS_KEY_ATTR_IPV4, &ip, sizeof ip - 1);
    assert_rejected(f, EINVAL, "set(ipv4): attribute type 7 has 11 bytes, "
                    "expected 12");
}

/* SET_MASKED needs value and mask: a SET-sized payload is wrong. */
static void
reject_set_masked_single_size(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_tcp tcp = { htons(1), htons(2) };

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_SET_MASKED);
    nl_put_attr(&f->b, OVS_KEY_ATTR_TCP, &tcp, sizeof tcp);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "set_masked(tcp): attribute type 9 has 4 "
                    "bytes, expected 8");
}

static void
reject_set_masked_value_outside_mask(void **state)
{
    struct fixture *f = *state;
    static const uint8_t tcp[] = { 0x00, 0x50, 0x00, 0x01,   /* value */
                                   0xff, 0xff, 0x00, 0x00 }; /* mask */

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_SET_MASKED);
    nl_put_attr(&f->b, OVS_KEY_ATTR_TCP, tcp, sizeof tcp);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "set_masked(tcp): value has bits outside the "
                    "mask");
}

static void
reject_set_masked_ip_proto(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_ipv4 ip = { .ipv4_proto = 17 };
    struct ovs_key_ipv4 ip_mask = { .ipv4_proto = 0xff };
    struct ovs_key_ipv6 ip6 = { .ipv6_frag = 1 };
    struct ovs_key_ipv6 ip6_mask = { .ipv6_frag = 0xff };

    odp_put_set_masked(&f->b, OVS_KEY_ATTR_IPV4, &ip, &ip_mask, sizeof ip);
    assert_rejected(f, EINVAL, "set_masked(ipv4) may not change the protocol "
                    "or fragment type");

    buf_clear(&f->b);
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_IPV6, &ip6, &ip6_mask, sizeof ip6);
    assert_rejected(f, EINVAL, "set_masked(ipv6) may not change the protocol "
                    "or fragment type");
}

static void
reject_ipv6_label_too_wide(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_ipv6 ip6 = { .ipv6_label = htonl(0x100000) };
    struct ovs_key_ipv6 mask = { .ipv6_label = htonl(0xffffffff) };

    odp_put_set(&f->b, OVS_KEY_ATTR_IPV6, &ip6, sizeof ip6);
    assert_rejected(f, EINVAL, "set(ipv6) label 0x00100000 is wider than 20 "
                    "bits");

    buf_clear(&f->b);
    ip6.ipv6_label = 0;
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_IPV6, &ip6, &mask, sizeof ip6);
    assert_rejected(f, EINVAL, "set_masked(ipv6) label mask 0xffffffff is "
                    "wider than 20 bits");
}

static void
reject_bad_tpid(void **state)
{
    struct fixture *f = *state;
    odp_put_push_vlan(&f->b, htons(0x9100), htons(VLAN_CFI | 1));
    assert_rejected(f, EINVAL, "push_vlan tpid 0x9100 is neither 802.1Q "
                    "(0x8100) nor 802.1ad (0x88a8)");
}

static void
reject_tci_without_cfi(void **state)
{
    struct fixture *f = *state;
    odp_put_push_vlan(&f->b, htons(ETH_P_8021Q), htons(10));
    assert_rejected(f, EINVAL, "push_vlan tci 0x000a lacks the VLAN_CFI");
}

static void
reject_trunc_too_short(void **state)
{
    struct fixture *f = *state;
    odp_put_trunc(&f->b, ETH_HLEN - 1);
    assert_rejected(f, EINVAL, "trunc max_len 13 is shorter than an Ethernet "
                    "header (14)");
}

static void
reject_unknown_hash_alg(void **state)
{
    struct fixture *f = *state;
    odp_put_hash(&f->b, OVS_HASH_ALG_L4 + 1, 0);
    assert_rejected(f, EINVAL, "hash algorithm 1 is unknown");
}

static void
reject_recirc_zero(void **state)
{
    struct fixture *f = *state;
    odp_put_recirc(&f->b, 0);
    assert_rejected(f, EINVAL, "recirc to id 0");
}

static void
reject_userspace_missing_pid(void **state)
{
    struct fixture *f = *state;

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_attr(&f->b, OVS_USERSPACE_ATTR_USERDATA, "ab", 2);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "userspace: required attribute type 1 is "
                    "missing");
}

static void
reject_userspace_duplicate_pid(void **state)
{
    struct fixture *f = *state;

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_PID, GOOD_PID);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_PID, GOOD_PID);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "userspace: duplicate attribute type 1");
}

static void
reject_userspace_unknown_attr(void **state)
{
    struct fixture *f = *state;

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_PID, GOOD_PID);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_MAX + 1, 0);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "userspace: unknown attribute type 5");
}

static void
reject_userspace_actions_flag_with_payload(void **state)
{
    struct fixture *f = *state;

    size_t nest = nl_nest_start(&f->b, OVS_ACTION_ATTR_USERSPACE);
    nl_put_u32(&f->b, OVS_USERSPACE_ATTR_PID, GOOD_PID);
    nl_put_u8(&f->b, OVS_USERSPACE_ATTR_ACTIONS, 1);
    nl_nest_end(&f->b, nest);
    assert_rejected(f, EINVAL, "userspace: attribute type 4 (flag) has 1 "
                    "bytes, expected 0");
}

static void
reject_userdata_too_long(void **state)
{
    struct fixture *f = *state;
    uint8_t cookie[ODP_ACTIONS_DEFAULT_MAX_USERDATA + 1] = { 0 };

    odp_put_userspace(&f->b, GOOD_PID, cookie, sizeof cookie - 1,
                      ODP_PORT_NONE, false);
    assert_valid(f);
    buf_clear(&f->b);
    odp_put_userspace(&f->b, GOOD_PID, cookie, sizeof cookie, ODP_PORT_NONE,
                      false);
    assert_rejected(f, EINVAL, "userspace userdata has 257 bytes, more than "
                    "256");

    f->policy.max_userdata = 8;
    buf_clear(&f->b);
    odp_put_userspace(&f->b, GOOD_PID, cookie, 9, ODP_PORT_NONE, false);
    assert_rejected(f, EINVAL, "userdata has 9 bytes, more than 8");
}

static void
reject_sample_missing_probability(void **state)
{
    struct fixture *f = *state;

    size_t sample = nl_nest_start(&f->b, OVS_ACTION_ATTR_SAMPLE);
    size_t actions = nl_nest_start(&f->b, OVS_SAMPLE_ATTR_ACTIONS);
    odp_put_output(&f->b, 1);
    nl_nest_end(&f->b, actions);
    nl_nest_end(&f->b, sample);
    assert_rejected(f, EINVAL, "sample: required attribute type 1 is missing");
}

static void
reject_sample_missing_actions(void **state)
{
    struct fixture *f = *state;

    size_t sample = nl_nest_start(&f->b, OVS_ACTION_ATTR_SAMPLE);
    nl_put_u32(&f->b, OVS_SAMPLE_ATTR_PROBABILITY, 1);
    nl_nest_end(&f->b, sample);
    assert_rejected(f, EINVAL, "sample: required attribute type 2 is missing");
}

/* Every rejection counts, and a NULL errbuf is fine. */
static void
rejections_are_counted(void **state)
{
    struct fixture *f = *state;
    uint64_t before = counter_get("odp_actions_rejected");

    odp_put_output(&f->b, 99);
    assert_int_equal(odp_actions_validate(f->b.data, f->b.size, &f->policy,
                                          NULL), ENODEV);
    assert_int_equal(counter_get("odp_actions_rejected"), before + 1);
}

/*
 * Inspection.
 */

static void
equal_is_bytewise(void **state)
{
    (void) state;
    struct buf a, b;

    buf_init(&a, 0);
    buf_init(&b, 0);
    assert_true(odp_actions_equal(NULL, 0, NULL, 0));
    odp_put_output(&a, 1);
    assert_false(odp_actions_equal(a.data, a.size, NULL, 0));
    odp_put_output(&b, 1);
    assert_true(odp_actions_equal(a.data, a.size, b.data, b.size));
    odp_put_output(&a, 2);
    odp_put_output(&b, 3);
    assert_false(odp_actions_equal(a.data, a.size, b.data, b.size));
    buf_uninit(&a);
    buf_uninit(&b);
}

/* Builds output, sample { clone { pop_vlan [, userspace] } }. */
static void
put_nested_userspace(struct buf *b, bool with_userspace)
{
    odp_put_output(b, 1);
    size_t sample = odp_put_sample_start(b, 1);
    size_t clone = odp_put_clone_start(b);
    odp_put_pop_vlan(b);
    if (with_userspace) {
        odp_put_userspace(b, GOOD_PID, NULL, 0, ODP_PORT_NONE, false);
    }
    odp_put_clone_end(b, clone);
    odp_put_sample_end(b, sample);
}

static void
has_userspace_at_any_depth(void **state)
{
    struct fixture *f = *state;

    assert_false(odp_actions_has_userspace(NULL, 0));
    put_nested_userspace(&f->b, false);
    assert_valid(f);
    assert_false(odp_actions_has_userspace(f->b.data, f->b.size));

    buf_clear(&f->b);
    put_nested_userspace(&f->b, true);
    assert_valid(f);
    assert_true(odp_actions_has_userspace(f->b.data, f->b.size));
    assert_true(odp_actions_has_type(f->b.data, f->b.size,
                                     OVS_ACTION_ATTR_POP_VLAN));
    assert_false(odp_actions_has_type(f->b.data, f->b.size,
                                      OVS_ACTION_ATTR_RECIRC));
}

static void
for_each_and_decoders(void **state)
{
    struct fixture *f = *state;
    struct ovs_key_udp udp = { htons(1), htons(2) };
    struct ovs_key_udp udp_mask = { htons(0xffff), 0 };
    const struct nlattr *a;
    size_t left, total = 0;
    int n = 0;

    odp_put_userspace(&f->b, GOOD_PID, "xyz", 3, 7, true);
    size_t sample = odp_put_sample_start(&f->b, 1234);
    odp_put_output(&f->b, 2);
    odp_put_sample_end(&f->b, sample);
    odp_put_set(&f->b, OVS_KEY_ATTR_UDP, &udp, sizeof udp);
    odp_put_set_masked(&f->b, OVS_KEY_ATTR_UDP, &udp, &udp_mask, sizeof udp);
    odp_put_userspace(&f->b, GOOD_PID, NULL, 0, ODP_PORT_NONE, false);
    assert_valid(f);

    ODP_ACTIONS_FOR_EACH (a, left, f->b.data, f->b.size) {
        struct odp_userspace us;
        struct odp_sample s;
        struct odp_set set;

        total += NLA_ALIGN(a->nla_len);
        switch (n++) {
        case 0:
            assert_int_equal(odp_action_type(a), OVS_ACTION_ATTR_USERSPACE);
            odp_action_get_userspace(a, &us);
            assert_int_equal(us.pid, GOOD_PID);
            assert_int_equal(us.userdata_len, 3);
            assert_memory_equal(us.userdata, "xyz", 3);
            assert_int_equal(us.egress_tun_port, 7);
            assert_true(us.include_actions);
            break;
        case 1:
            odp_action_get_sample(a, &s);
            assert_int_equal(s.probability, 1234);
            assert_int_equal(s.actions_len, 8);
            assert_int_equal(odp_action_type(s.actions),
                             OVS_ACTION_ATTR_OUTPUT);
            break;
        case 2:
            odp_action_get_set(a, &set);
            assert_int_equal(set.key_type, OVS_KEY_ATTR_UDP);
            assert_int_equal(set.len, sizeof udp);
            assert_memory_equal(set.value, &udp, sizeof udp);
            assert_null(set.mask);
            break;
        case 3:
            odp_action_get_set(a, &set);
            assert_int_equal(set.key_type, OVS_KEY_ATTR_UDP);
            assert_int_equal(set.len, sizeof udp);
            assert_memory_equal(set.mask, &udp_mask, sizeof udp);
            assert_memory_equal(set.value, "\x00\x01\x00\x00", 4);
            break;
        case 4:
            odp_action_get_userspace(a, &us);
            assert_null(us.userdata);
            assert_int_equal(us.egress_tun_port, ODP_PORT_NONE);
            assert_false(us.include_actions);
            break;
        }
    }
    assert_int_equal(n, 5);
    assert_int_equal(left, 0);
    assert_int_equal(total, f->b.size);
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(build_output),
        T(build_push_vlan),
        T(build_set_ipv4),
        T(build_set_masked_ethernet),
        T(build_sample_with_output),
        T(build_userspace_with_userdata),
        T(build_userspace_minimal_and_tunnel),
        T(build_small_actions),
        T(build_set_metadata_and_l4),
        T(validate_empty_stream),
        T(validate_everything),
        T(validate_empty_nests),
        T(validate_depth_at_limit),
        T(reject_output_wrong_size),
        T(reject_push_vlan_wrong_size),
        T(reject_hash_wrong_size),
        T(reject_pop_vlan_with_payload),
        T(reject_unknown_type),
        T(reject_unsupported_type),
        T(reject_unspec_type),
        T(supported_mask_matches_validator),
        T(reject_type_not_allowed_by_policy),
        T(reject_nested_type_not_allowed_by_policy),
        T(reject_nonexistent_port),
        T(reject_nonexistent_port_in_sample),
        T(reject_nonexistent_egress_tun_port),
        T(reject_port_none),
        T(reject_foreign_pid),
        T(reject_everything_without_callbacks),
        T(reject_nesting_too_deep),
        T(reject_userspace_too_deep),
        T(reject_trailing_bytes),
        T(reject_truncated_action),
        T(reject_truncated_nested),
        T(reject_missing_padding),
        T(reject_nonzero_padding),
        T(reject_attribute_flag_bits),
        T(reject_misaligned_stream),
        T(reject_too_long),
        T(reject_set_two_keys),
        T(reject_set_no_key),
        T(reject_set_unsettable_key),
        T(reject_set_wrong_key_size),
        T(reject_set_masked_single_size),
        T(reject_set_masked_value_outside_mask),
        T(reject_set_masked_ip_proto),
        T(reject_ipv6_label_too_wide),
        T(reject_bad_tpid),
        T(reject_tci_without_cfi),
        T(reject_trunc_too_short),
        T(reject_unknown_hash_alg),
        T(reject_recirc_zero),
        T(reject_userspace_missing_pid),
        T(reject_userspace_duplicate_pid),
        T(reject_userspace_unknown_attr),
        T(reject_userspace_actions_flag_with_payload),
        T(reject_userdata_too_long),
        T(reject_sample_missing_probability),
        T(reject_sample_missing_actions),
        T(rejections_are_counted),
        T(equal_is_bytewise),
        T(has_userspace_at_any_depth),
        T(for_each_and_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
