/* Fuzzes odp_actions_validate() with arbitrary bytes.
 *
 * Each input is validated under a permissive policy (every supported type,
 * the deepest nesting allowed, any port and pid) and under a strict one
 * (default depth, few ports, one pid, a short cookie bound).  Invariants:
 *
 *   - whatever the strict policy accepts, the permissive one accepts;
 *   - an accepted stream iterates in whole, canonically padded steps that
 *     add up to its length, using only supported types;
 *   - decoding an accepted stream and rebuilding it with the odp_put_*()
 *     builders gives a stream of the same length that validates again and
 *     has the same action types at every depth. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/odp-actions.h"

static bool
port_small(uint32_t port, void *aux)
{
    (void) aux;
    return port < 4;
}

static bool
pid_one(uint32_t pid, void *aux)
{
    (void) aux;
    return pid == 1;
}

static const struct odp_actions_policy permissive = {
    .allowed = ODP_ACTIONS_SUPPORTED,
    .max_depth = ODP_ACTIONS_DEPTH_LIMIT,
    .max_len = 65536,
    .max_userdata = 65536,
    .port_ok = odp_accept_any,
    .pid_ok = odp_accept_any,
};

static const struct odp_actions_policy strict = {
    .allowed = ODP_ACTIONS_SUPPORTED,
    .max_userdata = 16,
    .port_ok = port_small,
    .pid_ok = pid_one,
};

/* Rebuilds the valid stream 'actions'/'len' into 'out' with the builders. */
static void
rebuild(const void *actions, size_t len, struct buf *out)
{
    const struct nlattr *a;
    size_t left;

    ODP_ACTIONS_FOR_EACH (a, left, actions, len) {
        struct odp_userspace us;
        struct odp_sample sample;
        struct odp_set set;
        struct ovs_action_push_vlan vlan;
        struct ovs_action_hash hash;
        struct ovs_action_trunc trunc;
        size_t token;

        switch (odp_action_type(a)) {
        case OVS_ACTION_ATTR_OUTPUT:
            odp_put_output(out, nl_attr_get_u32(a));
            break;
        case OVS_ACTION_ATTR_USERSPACE:
            odp_action_get_userspace(a, &us);
            odp_put_userspace(out, us.pid, us.userdata, us.userdata_len,
                              us.egress_tun_port, us.include_actions);
            break;
        case OVS_ACTION_ATTR_SET:
            odp_action_get_set(a, &set);
            odp_put_set(out, set.key_type, set.value, set.len);
            break;
        case OVS_ACTION_ATTR_SET_MASKED:
            odp_action_get_set(a, &set);
            odp_put_set_masked(out, set.key_type, set.value, set.mask,
                               set.len);
            break;
        case OVS_ACTION_ATTR_PUSH_VLAN:
            memcpy(&vlan, nl_attr_get(a), sizeof vlan);
            odp_put_push_vlan(out, vlan.vlan_tpid, vlan.vlan_tci);
            break;
        case OVS_ACTION_ATTR_POP_VLAN:
            odp_put_pop_vlan(out);
            break;
        case OVS_ACTION_ATTR_SAMPLE:
            odp_action_get_sample(a, &sample);
            token = odp_put_sample_start(out, sample.probability);
            rebuild(sample.actions, sample.actions_len, out);
            odp_put_sample_end(out, token);
            break;
        case OVS_ACTION_ATTR_RECIRC:
            odp_put_recirc(out, nl_attr_get_u32(a));
            break;
        case OVS_ACTION_ATTR_HASH:
            memcpy(&hash, nl_attr_get(a), sizeof hash);
            odp_put_hash(out, hash.hash_alg, hash.hash_basis);
            break;
        case OVS_ACTION_ATTR_TRUNC:
            memcpy(&trunc, nl_attr_get(a), sizeof trunc);
            odp_put_trunc(out, trunc.max_len);
            break;
        case OVS_ACTION_ATTR_CLONE:
            token = odp_put_clone_start(out);
            rebuild(nl_attr_get(a), nl_attr_get_size(a), out);
            odp_put_clone_end(out, token);
            break;
        default:
            abort();            /* The validator let through a type. */
        }
    }
}

static void
check_valid(const uint8_t *actions, size_t len)
{
    const struct nlattr *a;
    size_t left, sum = 0;

    ODP_ACTIONS_FOR_EACH (a, left, actions, len) {
        if (!(ODP_ACTIONS_SUPPORTED & ODP_ACTION_BIT(odp_action_type(a)))
            || (size_t) NLA_ALIGN(a->nla_len) > left) {
            abort();
        }
        sum += NLA_ALIGN(a->nla_len);
    }
    if (left || sum != len || !odp_actions_equal(actions, len, actions, len)) {
        abort();
    }

    uint64_t stub[1024 / 8];
    struct buf out;
    buf_use_stub(&out, stub, sizeof stub);
    rebuild(actions, len, &out);
    if (out.size != len
        || odp_actions_validate(out.data, out.size, &permissive, NULL)) {
        abort();
    }
    for (uint16_t type = 0; type <= OVS_ACTION_ATTR_MAX; type++) {
        if (odp_actions_has_type(actions, len, type)
            != odp_actions_has_type(out.data, out.size, type)) {
            abort();
        }
    }
    buf_uninit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Streams must be 4-byte aligned: copy into a heap block (and so give
     * ASan exact bounds). */
    uint8_t *actions = xmemdup(data, size);
    struct errbuf eb;

    int strict_error = odp_actions_validate(actions, size, &strict, &eb);
    int error = odp_actions_validate(actions, size, &permissive, &eb);
    if (!strict_error && error) {
        abort();
    }
    if (!error) {
        check_valid(actions, size);
    }
    free(actions);
    return 0;
}
