#include "common/odp-actions.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <string.h>

#include "common/counters.h"
#include "common/flow.h"

COUNTER_DEFINE(odp_actions_rejected);

bool
odp_accept_any(uint32_t value, void *aux)
{
    (void) value;
    (void) aux;
    return true;
}

/*
 * Builders.
 */

void
odp_put_output(struct buf *b, uint32_t port)
{
    nl_put_u32(b, OVS_ACTION_ATTR_OUTPUT, port);
}

size_t
odp_put_userspace(struct buf *b, uint32_t pid,
                  const void *userdata, size_t userdata_len,
                  uint32_t egress_tun_port, bool include_actions)
{
    size_t userdata_ofs = 0;
    size_t nest = nl_nest_start(b, OVS_ACTION_ATTR_USERSPACE);

    nl_put_u32(b, OVS_USERSPACE_ATTR_PID, pid);
    if (userdata) {
        userdata_ofs = b->size + NLA_HDRLEN;
        nl_put_attr(b, OVS_USERSPACE_ATTR_USERDATA, userdata, userdata_len);
    }
    if (egress_tun_port != ODP_PORT_NONE) {
        nl_put_u32(b, OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, egress_tun_port);
    }
    if (include_actions) {
        nl_put_flag(b, OVS_USERSPACE_ATTR_ACTIONS);
    }
    nl_nest_end(b, nest);
    return userdata_ofs;
}

void
odp_put_set(struct buf *b, uint16_t key_type, const void *value, size_t len)
{
    size_t nest = nl_nest_start(b, OVS_ACTION_ATTR_SET);
    nl_put_attr(b, key_type, value, len);
    nl_nest_end(b, nest);
}

void
odp_put_set_masked(struct buf *b, uint16_t key_type,
                   const void *value, const void *mask, size_t len)
{
    size_t nest = nl_nest_start(b, OVS_ACTION_ATTR_SET_MASKED);
    uint8_t *p = nl_put_uninit(b, key_type, 2 * len);
    const uint8_t *v = value;
    const uint8_t *m = mask;

    for (size_t i = 0; i < len; i++) {
        p[i] = v[i] & m[i];
        p[len + i] = m[i];
    }
    nl_nest_end(b, nest);
}

void
odp_put_push_vlan(struct buf *b, ovs_be16 tpid, ovs_be16 tci)
{
    struct ovs_action_push_vlan vlan = { .vlan_tpid = tpid,
                                         .vlan_tci = tci };
    nl_put_attr(b, OVS_ACTION_ATTR_PUSH_VLAN, &vlan, sizeof vlan);
}

void
odp_put_pop_vlan(struct buf *b)
{
    nl_put_flag(b, OVS_ACTION_ATTR_POP_VLAN);
}

/* A sample is SAMPLE { PROBABILITY, ACTIONS { ... } }: the token is the
 * offset of the outer nest, and the inner one starts at a fixed distance
 * after it. */
#define SAMPLE_ACTIONS_OFS (NLA_HDRLEN + NLA_ALIGN(NLA_HDRLEN + sizeof(uint32_t)))

size_t
odp_put_sample_start(struct buf *b, uint32_t probability)
{
    size_t outer = nl_nest_start(b, OVS_ACTION_ATTR_SAMPLE);
    nl_put_u32(b, OVS_SAMPLE_ATTR_PROBABILITY, probability);
    nl_nest_start(b, OVS_SAMPLE_ATTR_ACTIONS);
    return outer;
}

void
odp_put_sample_end(struct buf *b, size_t token)
{
    nl_nest_end(b, token + SAMPLE_ACTIONS_OFS);
    nl_nest_end(b, token);
}

size_t
odp_put_clone_start(struct buf *b)
{
    return nl_nest_start(b, OVS_ACTION_ATTR_CLONE);
}

void
odp_put_clone_end(struct buf *b, size_t token)
{
    nl_nest_end(b, token);
}

void
odp_put_recirc(struct buf *b, uint32_t id)
{
    nl_put_u32(b, OVS_ACTION_ATTR_RECIRC, id);
}

void
odp_put_hash(struct buf *b, uint32_t alg, uint32_t basis)
{
    struct ovs_action_hash hash = { .hash_alg = alg, .hash_basis = basis };
    nl_put_attr(b, OVS_ACTION_ATTR_HASH, &hash, sizeof hash);
}

void
odp_put_trunc(struct buf *b, uint32_t max_len)
{
    struct ovs_action_trunc trunc = { .max_len = max_len };
    nl_put_attr(b, OVS_ACTION_ATTR_TRUNC, &trunc, sizeof trunc);
}

/*
 * Names.
 */

const char *
odp_action_type_name(uint16_t type)
{
    static const char *const names[] = {
        [OVS_ACTION_ATTR_UNSPEC] = "unspec",
        [OVS_ACTION_ATTR_OUTPUT] = "output",
        [OVS_ACTION_ATTR_USERSPACE] = "userspace",
        [OVS_ACTION_ATTR_SET] = "set",
        [OVS_ACTION_ATTR_PUSH_VLAN] = "push_vlan",
        [OVS_ACTION_ATTR_POP_VLAN] = "pop_vlan",
        [OVS_ACTION_ATTR_SAMPLE] = "sample",
        [OVS_ACTION_ATTR_RECIRC] = "recirc",
        [OVS_ACTION_ATTR_HASH] = "hash",
        [OVS_ACTION_ATTR_PUSH_MPLS] = "push_mpls",
        [OVS_ACTION_ATTR_POP_MPLS] = "pop_mpls",
        [OVS_ACTION_ATTR_SET_MASKED] = "set_masked",
        [OVS_ACTION_ATTR_CT] = "ct",
        [OVS_ACTION_ATTR_TRUNC] = "trunc",
        [OVS_ACTION_ATTR_PUSH_ETH] = "push_eth",
        [OVS_ACTION_ATTR_POP_ETH] = "pop_eth",
        [OVS_ACTION_ATTR_CT_CLEAR] = "ct_clear",
        [OVS_ACTION_ATTR_PUSH_NSH] = "push_nsh",
        [OVS_ACTION_ATTR_POP_NSH] = "pop_nsh",
        [OVS_ACTION_ATTR_METER] = "meter",
        [OVS_ACTION_ATTR_CLONE] = "clone",
        [OVS_ACTION_ATTR_CHECK_PKT_LEN] = "check_pkt_len",
        [OVS_ACTION_ATTR_ADD_MPLS] = "add_mpls",
        [OVS_ACTION_ATTR_DEC_TTL] = "dec_ttl",
    };
    return type < ARRAY_SIZE(names) && names[type] ? names[type] : "unknown";
}

/* Names of the settable keys, for messages. */
static const char *
odp_key_type_name(uint16_t type)
{
    switch (type) {
    case OVS_KEY_ATTR_PRIORITY: return "priority";
    case OVS_KEY_ATTR_SKB_MARK: return "skb_mark";
    case OVS_KEY_ATTR_ETHERNET: return "eth";
    case OVS_KEY_ATTR_IPV4: return "ipv4";
    case OVS_KEY_ATTR_IPV6: return "ipv6";
    case OVS_KEY_ATTR_TCP: return "tcp";
    case OVS_KEY_ATTR_UDP: return "udp";
    case OVS_KEY_ATTR_SCTP: return "sctp";
    default: return "key";
    }
}

/*
 * Validation.
 */

#define PAYLOAD_EXACT(SIZE) \
    { .type = NL_A_UNSPEC, .min_len = (SIZE), .max_len = (SIZE) }
#define EXACT(T, SIZE) [T] = PAYLOAD_EXACT(SIZE)

static const struct nl_policy odp_userspace_policy[] = {
    [OVS_USERSPACE_ATTR_PID] = { .type = NL_A_U32 },
    [OVS_USERSPACE_ATTR_USERDATA] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_USERSPACE_ATTR_EGRESS_TUN_PORT] = { .type = NL_A_U32,
                                             .optional = true },
    [OVS_USERSPACE_ATTR_ACTIONS] = { .type = NL_A_FLAG, .optional = true },
};
static_assert(ARRAY_SIZE(odp_userspace_policy) == OVS_USERSPACE_ATTR_MAX + 1,
              "userspace policy must cover every OVS_USERSPACE_ATTR_*");

static const struct nl_policy odp_sample_policy[] = {
    [OVS_SAMPLE_ATTR_PROBABILITY] = { .type = NL_A_U32 },
    [OVS_SAMPLE_ATTR_ACTIONS] = { .type = NL_A_NESTED },
};
static_assert(ARRAY_SIZE(odp_sample_policy) == OVS_SAMPLE_ATTR_MAX + 1,
              "sample policy must cover every OVS_SAMPLE_ATTR_*");

/* The settable keys and their payload for SET; SET_MASKED doubles it. */
static const struct nl_policy odp_set_key_policy[] = {
    EXACT(OVS_KEY_ATTR_PRIORITY, sizeof(uint32_t)),
    EXACT(OVS_KEY_ATTR_SKB_MARK, sizeof(uint32_t)),
    EXACT(OVS_KEY_ATTR_ETHERNET, sizeof(struct ovs_key_ethernet)),
    EXACT(OVS_KEY_ATTR_IPV4, sizeof(struct ovs_key_ipv4)),
    EXACT(OVS_KEY_ATTR_IPV6, sizeof(struct ovs_key_ipv6)),
    EXACT(OVS_KEY_ATTR_TCP, sizeof(struct ovs_key_tcp)),
    EXACT(OVS_KEY_ATTR_UDP, sizeof(struct ovs_key_udp)),
    EXACT(OVS_KEY_ATTR_SCTP, sizeof(struct ovs_key_sctp)),
};
static const struct nl_policy odp_set_masked_key_policy[] = {
    EXACT(OVS_KEY_ATTR_PRIORITY, 2 * sizeof(uint32_t)),
    EXACT(OVS_KEY_ATTR_SKB_MARK, 2 * sizeof(uint32_t)),
    EXACT(OVS_KEY_ATTR_ETHERNET, 2 * sizeof(struct ovs_key_ethernet)),
    EXACT(OVS_KEY_ATTR_IPV4, 2 * sizeof(struct ovs_key_ipv4)),
    EXACT(OVS_KEY_ATTR_IPV6, 2 * sizeof(struct ovs_key_ipv6)),
    EXACT(OVS_KEY_ATTR_TCP, 2 * sizeof(struct ovs_key_tcp)),
    EXACT(OVS_KEY_ATTR_UDP, 2 * sizeof(struct ovs_key_udp)),
    EXACT(OVS_KEY_ATTR_SCTP, 2 * sizeof(struct ovs_key_sctp)),
};
static_assert(ARRAY_SIZE(odp_set_key_policy)
              == ARRAY_SIZE(odp_set_masked_key_policy),
              "SET and SET_MASKED must allow the same keys");

/* The IPv6 flow label is 20 bits of a be32. */
#define IPV6_LABEL_MASK 0x000fffff

/* One validation: the policy with its defaults resolved. */
struct validate_ctx {
    const struct odp_actions_policy *policy;
    unsigned int max_depth;     /* Effective policy->max_depth. */
    size_t max_userdata;        /* Effective policy->max_userdata. */
    struct errbuf *eb;          /* Where reasons go; may be NULL. */
};

/* Checks the framing of the stream 'attrs'/'len' and that it is canonical:
 * every attribute has its padding and the padding is zero, and no type
 * carries NLA_F_NESTED or NLA_F_NET_BYTEORDER.  'what' names the stream in
 * messages. */
static int
check_canonical(const void *attrs, size_t len, const char *what,
                struct errbuf *eb)
{
    const struct nlattr *a;
    size_t left;

    int error = nl_check_stream(attrs, len, eb);
    if (error) {
        errbuf_prefix(eb, "%s: ", what);
        return error;
    }
    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) attrs, len) {
        size_t padded = NLA_ALIGN(a->nla_len);

        if (a->nla_type & ~NLA_TYPE_MASK) {
            return errbuf_set(eb, EINVAL, "%s: attribute type %u has flag "
                              "bits 0x%04x", what, nl_attr_type(a),
                              a->nla_type & ~NLA_TYPE_MASK);
        }
        if (padded > left) {
            return errbuf_set(eb, EINVAL, "%s: attribute type %u lacks its "
                              "padding", what, nl_attr_type(a));
        }
        const uint8_t *pad = (const uint8_t *) a + a->nla_len;
        for (size_t i = 0; i < padded - a->nla_len; i++) {
            if (pad[i]) {
                return errbuf_set(eb, EINVAL, "%s: attribute type %u has "
                                  "nonzero padding", what, nl_attr_type(a));
            }
        }
    }
    return 0;
}

static int validate_list(const void *actions, size_t len, unsigned int depth,
                         const struct validate_ctx *ctx);

/* Checks entry into the contents of a nesting action 'name' whose own list
 * sits at 'depth'. */
static int
check_depth(const char *name, unsigned int depth,
            const struct validate_ctx *ctx)
{
    if (depth + 1 > ctx->max_depth) {
        return errbuf_set(ctx->eb, EINVAL, "%s: nesting deeper than %u",
                          name, ctx->max_depth);
    }
    return 0;
}

/* Checks an OUTPUT-like 'port' with port_ok; 'what' names it in messages.
 * ODP_PORT_NONE is never a port: allowing it would also make an
 * EGRESS_TUN_PORT of that value indistinguishable from none. */
static int
check_port(const char *what, uint32_t port, const struct validate_ctx *ctx)
{
    const struct odp_actions_policy *p = ctx->policy;

    if (port == ODP_PORT_NONE) {
        return errbuf_set(ctx->eb, EINVAL, "%s port %"PRIu32" is the "
                          "\"no port\" value", what, port);
    }
    if (!p->port_ok || !p->port_ok(port, p->aux)) {
        return errbuf_set(ctx->eb, ENODEV, "%s port %"PRIu32" does not exist",
                          what, port);
    }
    return 0;
}

static int
validate_userspace(const struct nlattr *a, unsigned int depth,
                   const struct validate_ctx *ctx)
{
    const struct nlattr *attrs[ARRAY_SIZE(odp_userspace_policy)];
    const struct odp_actions_policy *p = ctx->policy;
    int error;

    error = check_depth("userspace", depth, ctx);
    if (error) {
        return error;
    }
    error = check_canonical(nl_attr_get(a), nl_attr_get_size(a), "userspace",
                            ctx->eb);
    if (error) {
        return error;
    }
    error = nl_parse_nested(a, odp_userspace_policy,
                            ARRAY_SIZE(odp_userspace_policy), attrs, ctx->eb);
    if (error) {
        errbuf_prefix(ctx->eb, "userspace: ");
        return error;
    }

    uint32_t pid = nl_attr_get_u32(attrs[OVS_USERSPACE_ATTR_PID]);
    if (!p->pid_ok || !p->pid_ok(pid, p->aux)) {
        return errbuf_set(ctx->eb, EPERM, "userspace pid %"PRIu32" is not "
                          "allowed", pid);
    }
    const struct nlattr *ud = attrs[OVS_USERSPACE_ATTR_USERDATA];
    if (ud && nl_attr_get_size(ud) > ctx->max_userdata) {
        return errbuf_set(ctx->eb, EINVAL, "userspace userdata has %zu bytes, "
                          "more than %zu", nl_attr_get_size(ud),
                          ctx->max_userdata);
    }
    const struct nlattr *tun = attrs[OVS_USERSPACE_ATTR_EGRESS_TUN_PORT];
    if (tun) {
        return check_port("userspace egress_tun_port", nl_attr_get_u32(tun),
                          ctx);
    }
    return 0;
}

static int
validate_sample(const struct nlattr *a, unsigned int depth,
                const struct validate_ctx *ctx)
{
    const struct nlattr *attrs[ARRAY_SIZE(odp_sample_policy)];
    int error;

    error = check_depth("sample", depth, ctx);
    if (error) {
        return error;
    }
    error = check_canonical(nl_attr_get(a), nl_attr_get_size(a), "sample",
                            ctx->eb);
    if (error) {
        return error;
    }
    error = nl_parse_nested(a, odp_sample_policy,
                            ARRAY_SIZE(odp_sample_policy), attrs, ctx->eb);
    if (error) {
        errbuf_prefix(ctx->eb, "sample: ");
        return error;
    }
    const struct nlattr *actions = attrs[OVS_SAMPLE_ATTR_ACTIONS];
    error = validate_list(nl_attr_get(actions), nl_attr_get_size(actions),
                          depth + 1, ctx);
    if (error) {
        errbuf_prefix(ctx->eb, "in sample: ");
    }
    return error;
}

static int
validate_clone(const struct nlattr *a, unsigned int depth,
               const struct validate_ctx *ctx)
{
    int error = check_depth("clone", depth, ctx);
    if (error) {
        return error;
    }
    error = validate_list(nl_attr_get(a), nl_attr_get_size(a), depth + 1,
                          ctx);
    if (error) {
        errbuf_prefix(ctx->eb, "in clone: ");
    }
    return error;
}

/* Checks the IP-specific rules of a SET ('mask' NULL) or SET_MASKED: like
 * the kernel, a masked set may not rewrite the protocol or the fragment
 * type, and an IPv6 flow label (value or mask) has only 20 bits. */
static int
validate_set_ip(const char *name, uint16_t key_type, const uint8_t *value,
                const uint8_t *mask, struct errbuf *eb)
{
    if (key_type == OVS_KEY_ATTR_IPV4 && mask) {
        struct ovs_key_ipv4 m;
        memcpy(&m, mask, sizeof m);
        if (m.ipv4_proto || m.ipv4_frag) {
            return errbuf_set(eb, EINVAL, "%s(ipv4) may not change the "
                              "protocol or fragment type", name);
        }
    } else if (key_type == OVS_KEY_ATTR_IPV6) {
        struct ovs_key_ipv6 v, m;
        memcpy(&v, value, sizeof v);
        if (ntohl(v.ipv6_label) & ~IPV6_LABEL_MASK) {
            return errbuf_set(eb, EINVAL, "%s(ipv6) label 0x%08"PRIx32" is "
                              "wider than 20 bits", name, ntohl(v.ipv6_label));
        }
        if (mask) {
            memcpy(&m, mask, sizeof m);
            if (ntohl(m.ipv6_label) & ~IPV6_LABEL_MASK) {
                return errbuf_set(eb, EINVAL, "%s(ipv6) label mask "
                                  "0x%08"PRIx32" is wider than 20 bits", name,
                                  ntohl(m.ipv6_label));
            }
            if (m.ipv6_proto || m.ipv6_frag) {
                return errbuf_set(eb, EINVAL, "%s(ipv6) may not change the "
                                  "protocol or fragment type", name);
            }
        }
    }
    return 0;
}

/* SET (masked false) or SET_MASKED (masked true). */
static int
validate_set__(const struct nlattr *a, bool masked,
               const struct validate_ctx *ctx)
{
    const char *name = masked ? "set_masked" : "set";
    const struct nl_policy *policy = (masked ? odp_set_masked_key_policy
                                      : odp_set_key_policy);
    const struct nlattr *key, *iter;
    size_t left;
    int n_keys = 0;

    int error = check_canonical(nl_attr_get(a), nl_attr_get_size(a), name,
                                ctx->eb);
    if (error) {
        return error;
    }
    key = NULL;
    NL_ATTR_FOR_EACH (iter, left, (const struct nlattr *) nl_attr_get(a),
                      nl_attr_get_size(a)) {
        key = iter;
        n_keys++;
    }
    if (n_keys != 1) {
        return errbuf_set(ctx->eb, EINVAL, "%s has %d key attributes, "
                          "expected exactly one", name, n_keys);
    }

    uint16_t type = nl_attr_type(key);
    if (type >= ARRAY_SIZE(odp_set_key_policy)
        || policy[type].type == NL_A_NO_ATTR) {
        return errbuf_set(ctx->eb, EINVAL, "%s of key type %u is not "
                          "supported", name, type);
    }
    error = nl_attr_check(key, &policy[type], 0, ctx->eb);
    if (error) {
        errbuf_prefix(ctx->eb, "%s(%s): ", name, odp_key_type_name(type));
        return error;
    }

    const uint8_t *value = nl_attr_get(key);
    const uint8_t *mask = NULL;
    if (masked) {
        size_t len = nl_attr_get_size(key) / 2;
        mask = value + len;
        for (size_t i = 0; i < len; i++) {
            if (value[i] & ~mask[i]) {
                return errbuf_set(ctx->eb, EINVAL, "%s(%s): value has bits "
                                  "outside the mask", name,
                                  odp_key_type_name(type));
            }
        }
    }
    return validate_set_ip(name, type, value, mask, ctx->eb);
}

static int
validate_set(const struct nlattr *a, unsigned int depth,
             const struct validate_ctx *ctx)
{
    return validate_set__(a, false, ctx);
}

static int
validate_set_masked(const struct nlattr *a, unsigned int depth,
                    const struct validate_ctx *ctx)
{
    return validate_set__(a, true, ctx);
}

static int
validate_output(const struct nlattr *a, unsigned int depth,
                const struct validate_ctx *ctx)
{
    return check_port("output", nl_attr_get_u32(a), ctx);
}

static int
validate_push_vlan(const struct nlattr *a, unsigned int depth,
                   const struct validate_ctx *ctx)
{
    struct ovs_action_push_vlan vlan;

    memcpy(&vlan, nl_attr_get(a), sizeof vlan);
    uint16_t tpid = ntohs(vlan.vlan_tpid);
    uint16_t tci = ntohs(vlan.vlan_tci);
    if (tpid != ETH_P_8021Q && tpid != ETH_P_8021AD) {
        return errbuf_set(ctx->eb, EINVAL, "push_vlan tpid 0x%04"PRIx16" is "
                          "neither 802.1Q (0x%04x) nor 802.1ad (0x%04x)",
                          tpid, ETH_P_8021Q, ETH_P_8021AD);
    }
    if (!(tci & VLAN_CFI)) {
        return errbuf_set(ctx->eb, EINVAL, "push_vlan tci 0x%04"PRIx16" "
                          "lacks the VLAN_CFI (tag present) bit", tci);
    }
    return 0;
}

/* For actions whose payload policy says everything (POP_VLAN). */
static int
validate_nothing(const struct nlattr *a, unsigned int depth,
                 const struct validate_ctx *ctx)
{
    return 0;
}

static int
validate_recirc(const struct nlattr *a, unsigned int depth,
                const struct validate_ctx *ctx)
{
    if (!nl_attr_get_u32(a)) {
        return errbuf_set(ctx->eb, EINVAL, "recirc to id 0 (the first pass) "
                          "would loop");
    }
    return 0;
}

static int
validate_hash(const struct nlattr *a, unsigned int depth,
              const struct validate_ctx *ctx)
{
    struct ovs_action_hash hash;

    memcpy(&hash, nl_attr_get(a), sizeof hash);
    if (hash.hash_alg != OVS_HASH_ALG_L4) {
        return errbuf_set(ctx->eb, EINVAL, "hash algorithm %"PRIu32" is "
                          "unknown", hash.hash_alg);
    }
    return 0;
}

static int
validate_trunc(const struct nlattr *a, unsigned int depth,
               const struct validate_ctx *ctx)
{
    struct ovs_action_trunc trunc;

    memcpy(&trunc, nl_attr_get(a), sizeof trunc);
    if (trunc.max_len < ETH_HLEN) {
        return errbuf_set(ctx->eb, EINVAL, "trunc max_len %"PRIu32" is "
                          "shorter than an Ethernet header (%d)",
                          trunc.max_len, ETH_HLEN);
    }
    return 0;
}

/* What each supported action type is: the policy for its payload, checked
 * first with nl_attr_check(), then a function for everything a length
 * cannot say.  Nested payloads have no 'nested' policy here: their
 * validators parse them, because they need the values and because action
 * streams recurse under the policy's depth rule.  A type without a
 * validator is not supported. */
struct odp_action_class {
    struct nl_policy payload;   /* Payload type and size. */
    int (*validate)(const struct nlattr *, unsigned int depth,
                    const struct validate_ctx *);  /* Semantic checks. */
};

static const struct odp_action_class odp_action_classes[] = {
    [OVS_ACTION_ATTR_OUTPUT] = { { .type = NL_A_U32 }, validate_output },
    [OVS_ACTION_ATTR_USERSPACE] = { { .type = NL_A_NESTED },
                                    validate_userspace },
    [OVS_ACTION_ATTR_SET] = { { .type = NL_A_NESTED }, validate_set },
    [OVS_ACTION_ATTR_SET_MASKED] = { { .type = NL_A_NESTED },
                                     validate_set_masked },
    [OVS_ACTION_ATTR_PUSH_VLAN] = {
        PAYLOAD_EXACT(sizeof(struct ovs_action_push_vlan)), validate_push_vlan },
    [OVS_ACTION_ATTR_POP_VLAN] = { { .type = NL_A_FLAG }, validate_nothing },
    [OVS_ACTION_ATTR_SAMPLE] = { { .type = NL_A_NESTED }, validate_sample },
    [OVS_ACTION_ATTR_RECIRC] = { { .type = NL_A_U32 }, validate_recirc },
    [OVS_ACTION_ATTR_HASH] = {
        PAYLOAD_EXACT(sizeof(struct ovs_action_hash)), validate_hash },
    [OVS_ACTION_ATTR_TRUNC] = {
        PAYLOAD_EXACT(sizeof(struct ovs_action_trunc)), validate_trunc },
    [OVS_ACTION_ATTR_CLONE] = { { .type = NL_A_NESTED }, validate_clone },
};
#undef EXACT
#undef PAYLOAD_EXACT

/* Checks one action 'a' in a list at nesting 'depth'.  Its framing and
 * canonical form are already checked. */
static int
validate_action(const struct nlattr *a, unsigned int depth,
                const struct validate_ctx *ctx)
{
    uint16_t type = nl_attr_type(a);
    const char *name = odp_action_type_name(type);
    struct errbuf *eb = ctx->eb;

    if (type > OVS_ACTION_ATTR_MAX) {
        return errbuf_set(eb, EINVAL, "unknown action type %u", type);
    }
    if (type >= ARRAY_SIZE(odp_action_classes)
        || !odp_action_classes[type].validate) {
        return errbuf_set(eb, EINVAL, "action type %s (%u) is not supported",
                          name, type);
    }
    if (!(ctx->policy->allowed & ODP_ACTION_BIT(type))) {
        return errbuf_set(eb, EPERM, "%s is not allowed here", name);
    }

    const struct odp_action_class *cls = &odp_action_classes[type];
    int error = nl_attr_check(a, &cls->payload, 0, eb);
    if (error) {
        errbuf_prefix(eb, "%s: ", name);
        return error;
    }
    return cls->validate(a, depth, ctx);
}

static int
validate_list(const void *actions, size_t len, unsigned int depth,
              const struct validate_ctx *ctx)
{
    const struct nlattr *a;
    size_t left;

    int error = check_canonical(actions, len, "stream", ctx->eb);
    if (error) {
        return error;
    }
    ODP_ACTIONS_FOR_EACH (a, left, actions, len) {
        error = validate_action(a, depth, ctx);
        if (error) {
            return error;
        }
    }
    return 0;
}

int
odp_actions_validate(const void *actions, size_t len,
                     const struct odp_actions_policy *policy,
                     struct errbuf *eb)
{
    struct validate_ctx ctx = {
        .policy = policy,
        .max_depth = (!policy->max_depth ? ODP_ACTIONS_DEFAULT_MAX_DEPTH
                      : MIN(policy->max_depth, ODP_ACTIONS_DEPTH_LIMIT)),
        .max_userdata = (policy->max_userdata ? policy->max_userdata
                         : ODP_ACTIONS_DEFAULT_MAX_USERDATA),
        .eb = eb,
    };
    size_t max_len = policy->max_len ? policy->max_len
                                     : ODP_ACTIONS_DEFAULT_MAX_LEN;
    int error;

    if (len > max_len) {
        error = errbuf_set(eb, EMSGSIZE, "%zu bytes, more than %zu", len,
                           max_len);
    } else {
        error = validate_list(actions, len, 0, &ctx);
    }
    if (error) {
        COUNTER_INC(odp_actions_rejected);
        errbuf_prefix(eb, "actions: ");
    }
    return error;
}

/*
 * Inspection.
 */

bool
odp_actions_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (!a_len || !memcmp(a, b, a_len));
}

/* The nested action stream of a SAMPLE or CLONE action 'a', in '*actionsp'
 * and '*lenp'.  Returns false for other actions. */
static bool
odp_action_nested_actions(const struct nlattr *a, const void **actionsp,
                          size_t *lenp)
{
    switch (nl_attr_type(a)) {
    case OVS_ACTION_ATTR_CLONE:
        *actionsp = nl_attr_get(a);
        *lenp = nl_attr_get_size(a);
        return true;

    case OVS_ACTION_ATTR_SAMPLE: {
        struct odp_sample sample;
        odp_action_get_sample(a, &sample);
        *actionsp = sample.actions;
        *lenp = sample.actions_len;
        return true;
    }

    default:
        return false;
    }
}

/* odp_actions_has_type() with a bound on recursion, so that even a stream
 * that was never validated cannot exhaust the stack. */
static bool
odp_actions_has_type__(const void *actions, size_t len, uint16_t type,
                       unsigned int depth)
{
    const struct nlattr *a;
    size_t left;

    ODP_ACTIONS_FOR_EACH (a, left, actions, len) {
        const void *nested;
        size_t nested_len;

        if (nl_attr_type(a) == type) {
            return true;
        }
        if (depth < ODP_ACTIONS_DEPTH_LIMIT
            && odp_action_nested_actions(a, &nested, &nested_len)
            && odp_actions_has_type__(nested, nested_len, type, depth + 1)) {
            return true;
        }
    }
    return false;
}

bool
odp_actions_has_type(const void *actions, size_t len, uint16_t type)
{
    return odp_actions_has_type__(actions, len, type, 0);
}

bool
odp_actions_has_userspace(const void *actions, size_t len)
{
    return odp_actions_has_type(actions, len, OVS_ACTION_ATTR_USERSPACE);
}

void
odp_action_get_userspace(const struct nlattr *action,
                         struct odp_userspace *us)
{
    const struct nlattr *a;
    size_t left;

    memset(us, 0, sizeof *us);
    us->egress_tun_port = ODP_PORT_NONE;
    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) nl_attr_get(action),
                      nl_attr_get_size(action)) {
        switch (nl_attr_type(a)) {
        case OVS_USERSPACE_ATTR_PID:
            if (nl_attr_get_size(a) == sizeof(uint32_t)) {
                us->pid = nl_attr_get_u32(a);
            }
            break;
        case OVS_USERSPACE_ATTR_USERDATA:
            us->userdata = nl_attr_get(a);
            us->userdata_len = nl_attr_get_size(a);
            break;
        case OVS_USERSPACE_ATTR_EGRESS_TUN_PORT:
            if (nl_attr_get_size(a) == sizeof(uint32_t)) {
                us->egress_tun_port = nl_attr_get_u32(a);
            }
            break;
        case OVS_USERSPACE_ATTR_ACTIONS:
            us->include_actions = true;
            break;
        default:
            break;
        }
    }
}

void
odp_action_get_sample(const struct nlattr *action, struct odp_sample *sample)
{
    const struct nlattr *a;
    size_t left;

    memset(sample, 0, sizeof *sample);
    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) nl_attr_get(action),
                      nl_attr_get_size(action)) {
        switch (nl_attr_type(a)) {
        case OVS_SAMPLE_ATTR_PROBABILITY:
            if (nl_attr_get_size(a) == sizeof(uint32_t)) {
                sample->probability = nl_attr_get_u32(a);
            }
            break;
        case OVS_SAMPLE_ATTR_ACTIONS:
            sample->actions = nl_attr_get(a);
            sample->actions_len = nl_attr_get_size(a);
            break;
        default:
            break;
        }
    }
}

void
odp_action_get_set(const struct nlattr *action, struct odp_set *set)
{
    const struct nlattr *key;
    size_t left;

    memset(set, 0, sizeof *set);
    NL_ATTR_FOR_EACH (key, left, (const struct nlattr *) nl_attr_get(action),
                      nl_attr_get_size(action)) {
        set->key_type = nl_attr_type(key);
        set->value = nl_attr_get(key);
        set->len = nl_attr_get_size(key);
        if (nl_attr_type(action) == OVS_ACTION_ATTR_SET_MASKED) {
            set->len /= 2;
            set->mask = (const uint8_t *) set->value + set->len;
        }
        break;
    }
}
