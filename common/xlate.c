/* xlate.c — flow translation through the policy.  See xlate.h. */
#include "common/xlate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/openvswitch.h>
#include <string.h>

#include "common/counters.h"
#include "common/mac-table.h"
#include "common/odp-actions.h"
#include "common/policy.h"

COUNTER_DEFINE(xlate_output_in_port);
COUNTER_DEFINE(xlate_output_no_port);
COUNTER_DEFINE(xlate_normal_same_port);
COUNTER_DEFINE(xlate_normal_stale_port);
COUNTER_DEFINE(xlate_too_large);
COUNTER_DEFINE(xlate_bad_cookie);

static_assert(sizeof(struct xlate_cookie) == 16, "cookie has no padding");

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

/* Lookup stages: byte ranges of struct flow (see xlate.h). */
static const struct {
    size_t start, end;          /* [start, end) in struct flow. */
} stages[] = {
    { 0, offsetof(struct flow, nw_src) },
    { offsetof(struct flow, nw_src), offsetof(struct flow, tp_src) },
    { offsetof(struct flow, tp_src), sizeof(struct flow) },
};

int
xlate_cookie_parse(const void *data, size_t len, struct xlate_cookie *cookie,
                   struct errbuf *eb)
{
    struct xlate_cookie c;
    bool ok;

    if (len != sizeof c) {
        COUNTER_INC(xlate_bad_cookie);
        return errbuf_set(eb, EINVAL, "cookie: %zu bytes, expected %zu",
                          len, sizeof c);
    }
    memcpy(&c, data, sizeof c);
    switch (c.type) {
    case XLATE_COOKIE_SLOW_PATH:
        ok = c.reason && !(c.reason & ~XLATE_SLOW_CONTROLLER)
             && !c.probability;
        break;
    case XLATE_COOKIE_SAMPLE:
        ok = !c.reason && c.probability;
        break;
    case XLATE_COOKIE_CONTROLLER:
        ok = !c.reason && !c.probability;
        break;
    default:
        COUNTER_INC(xlate_bad_cookie);
        return errbuf_set(eb, EINVAL, "cookie: unknown type %u", c.type);
    }
    if (!ok) {
        COUNTER_INC(xlate_bad_cookie);
        return errbuf_set(eb, EINVAL, "cookie: fields out of range for type "
                          "%u (reason %#x, probability %u)", c.type,
                          c.reason, c.probability);
    }
    *cookie = c;
    return 0;
}

void
xlate_out_init(struct xlate_out *out)
{
    memset(&out->mask, 0, sizeof out->mask);
    buf_use_stub(&out->actions, out->actions_stub, sizeof out->actions_stub);
    buf_use_stub(&out->flow_actions, out->flow_actions_stub,
                 sizeof out->flow_actions_stub);
    out->rule_id = 0;
    out->slow = 0;
    memset(&out->learn, 0, sizeof out->learn);
}

void
xlate_out_uninit(struct xlate_out *out)
{
    buf_uninit(&out->actions);
    buf_uninit(&out->flow_actions);
}

/* Translation state. */
struct xctx {
    const struct xlate_in *in;  /* Input. */
    struct xlate_out *out;      /* Output. */
    const struct flow *flow;    /* The packet as it came in. */
    struct flow cur;            /* The packet as modified by actions. */
    uint32_t rule_id;           /* Rule being applied. */
    uint64_t generation;        /* Its table's generation. */
};

/* Compares 'flow' with 'rule' stage by stage, unwildcarding in 'wc' the
 * rule's mask bits of every stage it compares.  Returns true on a match. */
static bool
rule_lookup_staged(const struct policy_rule *rule, const struct flow *flow,
                   struct flow *wc)
{
    const uint8_t *f = (const uint8_t *) flow;
    const uint8_t *v = (const uint8_t *) &rule->match;
    const uint8_t *m = (const uint8_t *) &rule->mask;
    uint8_t *w = (uint8_t *) wc;

    for (size_t s = 0; s < ARRAY_SIZE(stages); s++) {
        bool differ = false;

        for (size_t i = stages[s].start; i < stages[s].end; i++) {
            w[i] |= m[i];
            differ |= (f[i] & m[i]) != v[i];
        }
        if (differ) {
            return false;
        }
    }
    return true;
}

static bool
port_exists(const struct xlate_in *in, uint32_t port)
{
    for (size_t i = 0; i < in->n_ports; i++) {
        if (in->ports[i] == port) {
            return true;
        }
    }
    return false;
}

static void
put_output(struct xctx *x, uint32_t port)
{
    x->out->mask.in_port = UINT32_MAX;
    if (port == x->flow->in_port) {
        COUNTER_INC(xlate_output_in_port);
    } else if (!port_exists(x->in, port)) {
        COUNTER_INC(xlate_output_no_port);
    } else {
        odp_put_output(&x->out->actions, port);
    }
}

static void
put_flood(struct xctx *x)
{
    x->out->mask.in_port = UINT32_MAX;
    for (size_t i = 0; i < x->in->n_ports; i++) {
        if (x->in->ports[i] != x->flow->in_port) {
            odp_put_output(&x->out->actions, x->in->ports[i]);
        }
    }
}

static uint16_t
cur_vlan(const struct xctx *x)
{
    return x->cur.vlan_tci & htons(VLAN_CFI)
           ? ntohs(x->cur.vlan_tci) & VLAN_VID_MASK : 0;
}

static void
xlate_normal(struct xctx *x)
{
    struct flow *wc = &x->out->mask;
    uint16_t vlan = cur_vlan(x);
    uint32_t port;

    wc->in_port = UINT32_MAX;
    memset(&wc->dl_src, 0xff, sizeof wc->dl_src);
    memset(&wc->dl_dst, 0xff, sizeof wc->dl_dst);
    wc->vlan_tci |= htons(VLAN_CFI | VLAN_VID_MASK);

    if (!eth_addr_is_multicast(x->cur.dl_src)) {
        x->out->learn = (struct xlate_learn) {
            .valid = true, .mac = x->cur.dl_src, .vlan = vlan,
            .port = x->flow->in_port,
        };
    }

    if (eth_addr_is_multicast(x->cur.dl_dst) || !x->in->macs
        || mac_table_lookup(x->in->macs, x->cur.dl_dst, vlan,
                            x->in->now_msec, &port)) {
        put_flood(x);
    } else if (port == x->flow->in_port) {
        COUNTER_INC(xlate_normal_same_port);
    } else if (!port_exists(x->in, port)) {
        COUNTER_INC(xlate_normal_stale_port);
        put_flood(x);
    } else {
        odp_put_output(&x->out->actions, port);
    }
}

static void
xlate_mod_vlan_vid(struct xctx *x, uint16_t vid)
{
    uint16_t tci = ntohs(x->cur.vlan_tci);

    x->out->mask.vlan_tci |= htons(VLAN_CFI | VLAN_PCP_MASK);
    if (tci & VLAN_CFI) {
        odp_put_pop_vlan(&x->out->actions);
    }
    tci = (uint16_t) ((tci & VLAN_PCP_MASK) | VLAN_CFI | vid);
    odp_put_push_vlan(&x->out->actions, htons(ETH_P_8021Q), htons(tci));
    x->cur.vlan_tci = htons(tci);
}

static void
xlate_strip_vlan(struct xctx *x)
{
    x->out->mask.vlan_tci |= htons(VLAN_CFI);
    if (x->cur.vlan_tci & htons(VLAN_CFI)) {
        odp_put_pop_vlan(&x->out->actions);
    }
    x->cur.vlan_tci = 0;
}

static void
xlate_mod_dl(struct xctx *x, struct eth_addr mac, bool src)
{
    struct ovs_key_ethernet value, mask;

    memset(&value, 0, sizeof value);
    memset(&mask, 0, sizeof mask);
    if (src) {
        memcpy(value.eth_src, mac.ea, ETH_ADDR_LEN);
        memset(mask.eth_src, 0xff, ETH_ADDR_LEN);
        x->cur.dl_src = mac;
    } else {
        memcpy(value.eth_dst, mac.ea, ETH_ADDR_LEN);
        memset(mask.eth_dst, 0xff, ETH_ADDR_LEN);
        x->cur.dl_dst = mac;
    }
    odp_put_set_masked(&x->out->actions, OVS_KEY_ATTR_ETHERNET, &value, &mask,
                       sizeof value);
}

static void
xlate_mod_nw(struct xctx *x, ovs_be32 ip, bool src)
{
    struct ovs_key_ipv4 value, mask;

    memset(&value, 0, sizeof value);
    memset(&mask, 0, sizeof mask);
    if (src) {
        value.ipv4_src = ip;
        mask.ipv4_src = UINT32_MAX;
        x->cur.nw_src = ip;
    } else {
        value.ipv4_dst = ip;
        mask.ipv4_dst = UINT32_MAX;
        x->cur.nw_dst = ip;
    }
    odp_put_set_masked(&x->out->actions, OVS_KEY_ATTR_IPV4, &value, &mask,
                       sizeof value);
}

/* The rule's prerequisites guarantee nw_proto is TCP, UDP or SCTP. */
static void
xlate_mod_tp(struct xctx *x, uint16_t port, bool src)
{
    /* ovs_key_tcp, ovs_key_udp and ovs_key_sctp share this layout. */
    struct ovs_key_tcp value, mask;
    uint16_t key_type = (x->cur.nw_proto == IPPROTO_TCP_ ? OVS_KEY_ATTR_TCP
                         : x->cur.nw_proto == IPPROTO_UDP_ ? OVS_KEY_ATTR_UDP
                         : OVS_KEY_ATTR_SCTP);

    static_assert(sizeof(struct ovs_key_tcp) == sizeof(struct ovs_key_udp)
                  && sizeof(struct ovs_key_tcp)
                     == sizeof(struct ovs_key_sctp),
                  "L4 keys share a layout");
    memset(&value, 0, sizeof value);
    memset(&mask, 0, sizeof mask);
    if (src) {
        value.tcp_src = htons(port);
        mask.tcp_src = UINT16_MAX;
        x->cur.tp_src = htons(port);
    } else {
        value.tcp_dst = htons(port);
        mask.tcp_dst = UINT16_MAX;
        x->cur.tp_dst = htons(port);
    }
    odp_put_set_masked(&x->out->actions, key_type, &value, &mask,
                       sizeof value);
}

static void
xlate_sample(struct xctx *x, uint16_t probability)
{
    struct xlate_cookie cookie = {
        .type = XLATE_COOKIE_SAMPLE,
        .probability = probability,
        .rule_id = x->rule_id,
        .generation = x->generation,
    };
    /* N/65535 of UINT32_MAX, exactly: UINT32_MAX == 65535 * 65537. */
    size_t token = odp_put_sample_start(&x->out->actions,
                                        (uint32_t) probability * 65537u);

    odp_put_userspace(&x->out->actions, x->in->upcall_pid, &cookie,
                      sizeof cookie, ODP_PORT_NONE, false);
    odp_put_sample_end(&x->out->actions, token);
}

static void
xlate_action(struct xctx *x, const struct policy_action *a)
{
    switch (a->type) {
    case POLICY_ACT_OUTPUT:
        put_output(x, a->port);
        break;
    case POLICY_ACT_NORMAL:
        xlate_normal(x);
        break;
    case POLICY_ACT_FLOOD:
        put_flood(x);
        break;
    case POLICY_ACT_DROP:
        break;
    case POLICY_ACT_MOD_VLAN_VID:
        xlate_mod_vlan_vid(x, a->vid);
        break;
    case POLICY_ACT_STRIP_VLAN:
        xlate_strip_vlan(x);
        break;
    case POLICY_ACT_MOD_DL_SRC:
    case POLICY_ACT_MOD_DL_DST:
        xlate_mod_dl(x, a->mac, a->type == POLICY_ACT_MOD_DL_SRC);
        break;
    case POLICY_ACT_MOD_NW_SRC:
    case POLICY_ACT_MOD_NW_DST:
        xlate_mod_nw(x, a->ip, a->type == POLICY_ACT_MOD_NW_SRC);
        break;
    case POLICY_ACT_MOD_TP_SRC:
    case POLICY_ACT_MOD_TP_DST:
        xlate_mod_tp(x, a->tp_port, a->type == POLICY_ACT_MOD_TP_SRC);
        break;
    case POLICY_ACT_CONTROLLER:
        x->out->slow |= XLATE_SLOW_CONTROLLER;
        break;
    case POLICY_ACT_SAMPLE:
        xlate_sample(x, a->probability);
        break;
    }
}

int
xlate_translate(const struct xlate_in *in, struct xlate_out *out,
                struct errbuf *eb)
{
    static const struct policy_action normal = { .type = POLICY_ACT_NORMAL };
    const struct policy_rule *rule = NULL;
    const struct policy_action *actions = &normal;
    size_t n_actions = 1;
    struct xctx x = {
        .in = in, .out = out, .flow = in->flow, .cur = *in->flow,
        .generation = in->table ? in->table->generation : 0,
    };

    buf_clear(&out->actions);
    buf_clear(&out->flow_actions);
    memset(&out->mask, 0, sizeof out->mask);
    memset(&out->learn, 0, sizeof out->learn);
    out->slow = 0;

    for (size_t i = 0; in->table && i < in->table->n_rules; i++) {
        if (rule_lookup_staged(&in->table->rules[i], in->flow, &out->mask)) {
            rule = &in->table->rules[i];
            actions = rule->actions;
            n_actions = rule->n_actions;
            break;
        }
    }
    x.rule_id = out->rule_id = rule ? rule->id : POLICY_RULE_DEFAULT;

    for (size_t i = 0; i < n_actions; i++) {
        xlate_action(&x, &actions[i]);
        if (out->actions.size > ODP_ACTIONS_DEFAULT_MAX_LEN) {
            buf_clear(&out->actions);
            COUNTER_INC(xlate_too_large);
            return errbuf_set(eb, E2BIG, "xlate: actions of rule %u exceed "
                              "%d bytes", x.rule_id,
                              ODP_ACTIONS_DEFAULT_MAX_LEN);
        }
    }

    if (out->slow) {
        struct xlate_cookie cookie = {
            .type = XLATE_COOKIE_SLOW_PATH,
            .reason = out->slow,
            .rule_id = x.rule_id,
            .generation = x.generation,
        };
        odp_put_userspace(&out->flow_actions, in->upcall_pid, &cookie,
                          sizeof cookie, ODP_PORT_NONE, false);
    } else {
        buf_put(&out->flow_actions, out->actions.data, out->actions.size);
    }
    return 0;
}
