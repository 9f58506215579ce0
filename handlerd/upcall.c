/*
 * upcall.c — classify, deduplicate, translate and compose (upcall.h).
 */
#include "handlerd/upcall.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/odp-key.h"
#include "common/policy.h"
#include "common/ufid.h"
#include "common/upcall-nl.h"

LOG_MODULE(upcall);

COUNTER_DEFINE(upcall_miss);
COUNTER_DEFINE(upcall_slow_path);
COUNTER_DEFINE(upcall_sample);
COUNTER_DEFINE(upcall_controller);
COUNTER_DEFINE(upcall_controller_packets);
COUNTER_DEFINE(upcall_bad_type);
COUNTER_DEFINE(upcall_bad_cookie);
COUNTER_DEFINE(upcall_bad_key);
COUNTER_DEFINE(upcall_key_imperfect);
COUNTER_DEFINE(upcall_unknown_port);
COUNTER_DEFINE(upcall_xlate_failed);
COUNTER_DEFINE(upcall_encode_failed);
COUNTER_DEFINE(upcall_flow_limit_hit);
COUNTER_DEFINE(upcall_duplicate);
COUNTER_DEFINE(upcall_mac_learned);
COUNTER_DEFINE(upcall_mac_moved);
COUNTER_DEFINE(upcall_flow_put);
COUNTER_DEFINE(upcall_execute);
COUNTER_DEFINE(upcall_put_ok);
COUNTER_DEFINE(upcall_put_exists);
COUNTER_DEFINE(upcall_put_failed);
COUNTER_DEFINE(upcall_execute_ok);
COUNTER_DEFINE(upcall_execute_failed);

/* One distinct flow of a batch (the seeds' struct flow_miss). */
struct flow_miss {
    struct flow flow;           /* Decoded from the datapath's key. */
    enum upcall_class cls;      /* UPCALL_CLASS_MISS or _SLOW_PATH. */
    uint32_t hash;              /* flow_hash(flow) ^ cls. */
    bool key_perfect;           /* The key decoded with ODP_FIT_PERFECT. */
    uint64_t packets;           /* Upcalls (packets) of this flow. */
    uint64_t bytes;             /* Their bytes. */
    uint16_t tcp_flags;         /* OR of their TCP flags (host order). */
};

/* Where the variable parts of a put live in the scratch buffer. */
struct put_ofs {
    size_t key, key_len;
    size_t mask, mask_len;
    size_t actions, actions_len;
};

/* Where an execute's actions live in the scratch buffer. */
struct exec_ofs {
    size_t actions, actions_len;
};

struct upcall_batch {
    struct flow_miss misses[IPC_MAX_BATCH];
    size_t n_misses;
    size_t up_miss[IPC_MAX_BATCH];      /* Upcall -> miss, SIZE_MAX: none. */
    struct xlate_out xout;              /* Reused translation output. */
    struct buf data;                    /* Keys, masks, actions. */

    /* The composed ops. */
    Dpif__Op ops[UPCALL_MAX_OPS];
    Dpif__Op *op_ptrs[UPCALL_MAX_OPS];
    uint8_t kinds[UPCALL_MAX_OPS];
    size_t n_ops;
    Dpif__FlowPut puts[IPC_MAX_BATCH];
    struct put_ofs put_ofs[IPC_MAX_BATCH];
    union ufid ufids[IPC_MAX_BATCH];
    size_t n_puts;
    Dpif__Execute execs[IPC_MAX_BATCH];
    struct exec_ofs exec_ofs[IPC_MAX_BATCH];
    size_t n_execs;
    Dpif__OpBatch batches[UPCALL_MAX_OPS];
};

const char *
upcall_class_to_string(enum upcall_class cls)
{
    switch (cls) {
    case UPCALL_CLASS_MISS: return "miss";
    case UPCALL_CLASS_SLOW_PATH: return "slow_path";
    case UPCALL_CLASS_SAMPLE: return "sample";
    case UPCALL_CLASS_CONTROLLER: return "controller";
    case UPCALL_CLASS_BAD: return "bad";
    }
    return "?";
}

enum upcall_class
upcall_classify(const struct upcall_in *in, struct xlate_cookie *cookie,
                struct errbuf *eb)
{
    memset(cookie, 0, sizeof *cookie);
    switch (in->type) {
    case UPCALL_TYPE_MISS:
        if (in->has_userdata) {
            errbuf_set(eb, EINVAL, "miss upcall with userdata");
            return UPCALL_CLASS_BAD;
        }
        return UPCALL_CLASS_MISS;

    case UPCALL_TYPE_ACTION:
        if (!in->has_userdata) {
            errbuf_set(eb, EINVAL, "action upcall without a cookie");
            return UPCALL_CLASS_BAD;
        }
        if (xlate_cookie_parse(in->userdata, in->userdata_len, cookie, eb)) {
            errbuf_prefix(eb, "action upcall: ");
            return UPCALL_CLASS_BAD;
        }
        switch ((enum xlate_cookie_type) cookie->type) {
        case XLATE_COOKIE_SLOW_PATH:
            return UPCALL_CLASS_SLOW_PATH;
        case XLATE_COOKIE_SAMPLE:
            return UPCALL_CLASS_SAMPLE;
        case XLATE_COOKIE_CONTROLLER:
            return UPCALL_CLASS_CONTROLLER;
        }
        /* xlate_cookie_parse() refuses other types. */
        errbuf_set(eb, EINVAL, "cookie type %u", cookie->type);
        return UPCALL_CLASS_BAD;

    default:
        errbuf_set(eb, EINVAL, "upcall type %"PRIu32, in->type);
        return UPCALL_CLASS_BAD;
    }
}

void
upcall_in_from_proto(const Dpif__Upcall *up, struct upcall_in *in)
{
    in->type = (uint32_t) up->type;
    in->key = up->key.data;
    in->key_len = up->key.len;
    in->packet = up->packet.data;
    in->packet_len = up->packet.len;
    in->has_userdata = up->has_userdata;
    in->userdata = up->has_userdata ? up->userdata.data : NULL;
    in->userdata_len = up->has_userdata ? up->userdata.len : 0;
    in->in_port = up->in_port;
}

void
upcall_in_from_nl(const struct upcall_nl *up, struct upcall_in *in)
{
    in->type = (uint32_t) up->type;
    in->key = up->key;
    in->key_len = up->key_len;
    in->packet = up->packet;
    in->packet_len = up->packet_len;
    in->has_userdata = up->has_userdata;
    in->userdata = up->userdata;
    in->userdata_len = up->userdata_len;
    in->in_port = up->in_port;
}

struct upcall_batch *
upcall_batch_create(void)
{
    struct upcall_batch *b = xzalloc(sizeof *b);

    xlate_out_init(&b->xout);
    buf_init(&b->data, 64 * 1024);
    return b;
}

void
upcall_batch_destroy(struct upcall_batch *b)
{
    if (b) {
        xlate_out_uninit(&b->xout);
        buf_uninit(&b->data);
        free(b);
    }
}

static bool
port_is_known(const struct upcall_env *env, uint32_t port)
{
    size_t lo = 0, hi = env->n_ports;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (env->ports[mid] == port) {
            return true;
        } else if (env->ports[mid] < port) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/* Logs a dropped upcall at a limited rate. */
static void
upcall_log_drop(const struct upcall_in *in, const char *why)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    LOG_WARN_RL(&rl, "dropping upcall from port %"PRIu32" (%zu bytes): %s",
                in->in_port, in->packet_len, why);
}

/* Finds or adds the flow miss of 'flow' of class 'cls'.  Returns its
 * index. */
static size_t
upcall_batch_find_miss(struct upcall_batch *b, const struct flow *flow,
                       enum upcall_class cls, bool key_perfect)
{
    uint32_t hash = flow_hash(flow, 0) ^ (uint32_t) cls;

    for (size_t i = 0; i < b->n_misses; i++) {
        struct flow_miss *m = &b->misses[i];
        if (m->hash == hash && m->cls == cls
            && !memcmp(&m->flow, flow, sizeof *flow)) {
            COUNTER_INC(upcall_duplicate);
            return i;
        }
    }
    struct flow_miss *m = &b->misses[b->n_misses];
    m->flow = *flow;
    m->cls = cls;
    m->hash = hash;
    m->key_perfect = key_perfect;
    m->packets = m->bytes = 0;
    m->tcp_flags = 0;
    return b->n_misses++;
}

/* Step 1 and 2: classify, decode and deduplicate every upcall. */
static void
upcall_batch_classify(struct upcall_batch *b, const struct upcall_in *ins,
                      size_t n, struct upcall_summary *s)
{
    for (size_t i = 0; i < n; i++) {
        const struct upcall_in *in = &ins[i];
        struct errbuf eb = { "" };
        struct xlate_cookie cookie;
        struct flow flow;

        b->up_miss[i] = SIZE_MAX;
        enum upcall_class cls = upcall_classify(in, &cookie, &eb);
        switch (cls) {
        case UPCALL_CLASS_BAD:
            if (in->type != UPCALL_TYPE_MISS
                && in->type != UPCALL_TYPE_ACTION) {
                COUNTER_INC(upcall_bad_type);
            } else {
                COUNTER_INC(upcall_bad_cookie);
            }
            upcall_log_drop(in, eb.msg);
            s->n_dropped++;
            continue;
        case UPCALL_CLASS_SAMPLE:
            COUNTER_INC(upcall_sample);
            continue;
        case UPCALL_CLASS_CONTROLLER: {
            static struct log_rl rl = LOG_RL_INIT(5, 20);
            COUNTER_INC(upcall_controller);
            LOG_INFO_RL(&rl, "packet to controller: port %"PRIu32", %zu "
                        "bytes, rule %"PRIu32, in->in_port, in->packet_len,
                        cookie.rule_id);
            continue;
        }
        case UPCALL_CLASS_MISS:
            COUNTER_INC(upcall_miss);
            break;
        case UPCALL_CLASS_SLOW_PATH:
            COUNTER_INC(upcall_slow_path);
            break;
        }

        enum odp_key_fitness fit = odp_key_to_flow(in->key, in->key_len,
                                                   &flow, &eb);
        if (fit == ODP_FIT_ERROR) {
            COUNTER_INC(upcall_bad_key);
            upcall_log_drop(in, eb.msg);
            s->n_dropped++;
            continue;
        }
        if (flow.in_port == ODP_PORT_NONE) {
            flow.in_port = in->in_port;
        }
        size_t mi = upcall_batch_find_miss(b, &flow, cls,
                                           fit == ODP_FIT_PERFECT);
        struct flow_miss *m = &b->misses[mi];
        m->packets++;
        m->bytes += in->packet_len;
        m->tcp_flags |= ntohs(flow.tcp_flags);
        b->up_miss[i] = mi;
    }
}

static Dpif__Op *
upcall_batch_add_op(struct upcall_batch *b, enum upcall_op_kind kind)
{
    Dpif__Op *op = &b->ops[b->n_ops];

    dpif__op__init(op);
    b->kinds[b->n_ops] = (uint8_t) kind;
    b->op_ptrs[b->n_ops++] = op;
    return op;
}

/* Composes the FLOW_PUT of 'm' with 'mask' and the installed 'actions'.
 * Returns false (counted) if the flow could not be encoded. */
static bool
upcall_batch_add_put(struct upcall_batch *b, const struct flow_miss *m,
                     const struct flow *mask, const void *actions,
                     size_t actions_len)
{
    struct put_ofs *po = &b->put_ofs[b->n_puts];
    struct errbuf eb = { "" };
    size_t start = b->data.size;

    po->key = b->data.size;
    int error = odp_key_from_flow(&b->data, &m->flow, &eb);
    po->key_len = b->data.size - po->key;
    if (!error) {
        po->mask = b->data.size;
        error = odp_mask_from_flow(&b->data, mask, &m->flow, &eb);
        po->mask_len = b->data.size - po->mask;
    }
    if (error) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);
        COUNTER_INC(upcall_encode_failed);
        LOG_WARN_RL(&rl, "cannot encode flow from port %"PRIu32": %s",
                    m->flow.in_port, eb.msg);
        b->data.size = start;
        return false;
    }
    po->actions = b->data.size;
    if (actions_len) {
        buf_put(&b->data, actions, actions_len);
    }
    po->actions_len = actions_len;
    ufid_from_key(buf_at(&b->data, po->key), po->key_len,
                  buf_at(&b->data, po->mask), po->mask_len,
                  &b->ufids[b->n_puts]);

    Dpif__FlowPut *put = &b->puts[b->n_puts++];
    dpif__flow_put__init(put);
    put->has_create = true;
    put->create = true;
    put->has_mask = true;

    Dpif__Op *op = upcall_batch_add_op(b, UPCALL_OP_PUT);
    op->op_case = DPIF__OP__OP_FLOW_PUT;
    op->flow_put = put;
    COUNTER_INC(upcall_flow_put);
    return true;
}

/* Composes an EXECUTE of upcall 'in' with the actions at 'ofs'. */
static void
upcall_batch_add_execute(struct upcall_batch *b, const struct upcall_in *in,
                         const struct exec_ofs *ofs)
{
    Dpif__Execute *ex = &b->execs[b->n_execs];

    dpif__execute__init(ex);
    ex->key.data = (uint8_t *) in->key;
    ex->key.len = in->key_len;
    ex->packet.data = (uint8_t *) in->packet;
    ex->packet.len = in->packet_len;
    b->exec_ofs[b->n_execs++] = *ofs;

    Dpif__Op *op = upcall_batch_add_op(b, UPCALL_OP_EXECUTE);
    op->op_case = DPIF__OP__OP_EXECUTE;
    op->execute = ex;
    COUNTER_INC(upcall_execute);
}

/* True if another flow may be installed; counts the refusal. */
static bool
upcall_flow_limit_ok(struct upcall_env *env)
{
    if (env->flow_count >= env->flow_limit) {
        COUNTER_INC(upcall_flow_limit_hit);
        return false;
    }
    return true;
}

/* Applies the MAC learning side effect of a translation. */
static void
upcall_learn(struct upcall_env *env, const struct xlate_learn *learn)
{
    enum mac_learn_result result;

    if (!learn->valid || !env->macs
        || mac_table_learn(env->macs, learn->mac, learn->vlan, learn->port,
                           env->now_msec, &result)) {
        return;
    }
    if (result == MAC_LEARN_NEW) {
        COUNTER_INC(upcall_mac_learned);
    } else if (result == MAC_LEARN_MOVED) {
        COUNTER_INC(upcall_mac_moved);
    }
}

/* Step 3 and 4 for miss 'mi': translate, learn, compose the put and the
 * executes of its upcalls. */
static void
upcall_batch_handle_miss(struct upcall_batch *b, struct upcall_env *env,
                         const struct upcall_in *ins, size_t n, size_t mi,
                         struct upcall_summary *s)
{
    struct flow_miss *m = &b->misses[mi];
    struct exec_ofs ofs = { 0, 0 };
    bool install = m->cls == UPCALL_CLASS_MISS;

    if (!port_is_known(env, m->flow.in_port)) {
        static struct log_rl rl = LOG_RL_INIT(1, 5);
        struct flow exact;

        COUNTER_INC(upcall_unknown_port);
        LOG_INFO_RL(&rl, "packet from port %"PRIu32", which is not in this "
                    "datapath's port list: installing a drop flow",
                    m->flow.in_port);
        if (install && upcall_flow_limit_ok(env)) {
            odp_mask_exact(&m->flow, &exact);
            if (upcall_batch_add_put(b, m, &exact, NULL, 0)) {
                env->flow_count++;
            }
        }
        s->n_dropped += m->packets;
        return;
    }

    struct xlate_in xin = {
        .flow = &m->flow,
        .table = env->table,
        .ports = env->ports,
        .n_ports = env->n_ports,
        .macs = env->macs,
        .upcall_pid = env->upcall_pid,
        .now_msec = env->now_msec,
    };
    struct errbuf eb = { "" };
    if (xlate_translate(&xin, &b->xout, &eb)) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);
        COUNTER_INC(upcall_xlate_failed);
        LOG_WARN_RL(&rl, "translation of a flow from port %"PRIu32" failed:"
                    " %s", m->flow.in_port, eb.msg);
        s->n_dropped += m->packets;
        return;
    }
    s->n_misses++;
    upcall_learn(env, &b->xout.learn);
    if (env->table) {
        policy_table_credit(env->table, b->xout.rule_id, m->packets,
                            m->bytes);
    }
    if (b->xout.slow & XLATE_SLOW_CONTROLLER) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);
        COUNTER_ADD(upcall_controller_packets, m->packets);
        LOG_INFO_RL(&rl, "%"PRIu64" packet(s) to controller: port %"PRIu32
                    ", rule %"PRIu32, m->packets, m->flow.in_port,
                    b->xout.rule_id);
    }

    if (install && !m->key_perfect) {
        COUNTER_INC(upcall_key_imperfect);
    } else if (install && upcall_flow_limit_ok(env)) {
        struct flow mask;

        if (env->megaflows) {
            mask = b->xout.mask;
        } else {
            odp_mask_exact(&m->flow, &mask);
        }
        if (upcall_batch_add_put(b, m, &mask, b->xout.flow_actions.data,
                                 b->xout.flow_actions.size)) {
            env->flow_count++;
        }
    }

    if (!b->xout.actions.size) {
        return;                 /* Dropped: nothing to execute. */
    }
    ofs.actions = b->data.size;
    ofs.actions_len = b->xout.actions.size;
    buf_put(&b->data, b->xout.actions.data, b->xout.actions.size);
    for (size_t i = 0; i < n; i++) {
        if (b->up_miss[i] == mi) {
            upcall_batch_add_execute(b, &ins[i], &ofs);
        }
    }
}

/* Points the ops at the scratch buffer, which no longer moves, and cuts
 * them into OpBatches. */
static void
upcall_batch_finish(struct upcall_batch *b, unsigned int batch_size,
                    size_t *n_batchesp)
{
    size_t n_batches = 0;

    for (size_t i = 0; i < b->n_puts; i++) {
        Dpif__FlowPut *put = &b->puts[i];
        const struct put_ofs *po = &b->put_ofs[i];

        put->key.data = buf_at(&b->data, po->key);
        put->key.len = po->key_len;
        put->mask.data = buf_at(&b->data, po->mask);
        put->mask.len = po->mask_len;
        put->actions.data = buf_at(&b->data, po->actions);
        put->actions.len = po->actions_len;
        put->ufid.data = (uint8_t *) &b->ufids[i];
        put->ufid.len = sizeof b->ufids[i];
    }
    for (size_t i = 0; i < b->n_execs; i++) {
        b->execs[i].actions.data = buf_at(&b->data, b->exec_ofs[i].actions);
        b->execs[i].actions.len = b->exec_ofs[i].actions_len;
    }
    batch_size = MAX(1u, MIN(batch_size, (unsigned int) IPC_MAX_BATCH));
    for (size_t i = 0; i < b->n_ops; i += batch_size) {
        Dpif__OpBatch *ob = &b->batches[n_batches++];
        dpif__op_batch__init(ob);
        ob->ops = &b->op_ptrs[i];
        ob->n_ops = MIN(batch_size, b->n_ops - i);
    }
    *n_batchesp = n_batches;
}

void
upcall_batch_process(struct upcall_batch *b, struct upcall_env *env,
                     const struct upcall_in *ins, size_t n,
                     Dpif__OpBatch **batchesp, size_t *n_batchesp,
                     const uint8_t **kindsp, struct upcall_summary *s)
{
    memset(s, 0, sizeof *s);
    n = MIN(n, (size_t) IPC_MAX_BATCH);
    s->n_upcalls = n;

    b->n_misses = b->n_ops = b->n_puts = b->n_execs = 0;
    buf_clear(&b->data);

    upcall_batch_classify(b, ins, n, s);
    for (size_t mi = 0; mi < b->n_misses; mi++) {
        upcall_batch_handle_miss(b, env, ins, n, mi, s);
    }
    upcall_batch_finish(b, env->batch_size, n_batchesp);
    s->n_puts = b->n_puts;
    s->n_executes = b->n_execs;
    *batchesp = b->batches;
    *kindsp = b->kinds;
}

bool
upcall_note_result(enum upcall_op_kind kind, uint32_t error,
                   const char *reason)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);

    if (kind == UPCALL_OP_PUT) {
        if (!error) {
            COUNTER_INC(upcall_put_ok);
            return true;
        } else if (error == EEXIST) {
            /* Another handler (or this one, in an earlier batch) won the
             * race for the same flow: the flow is there. */
            COUNTER_INC(upcall_put_exists);
            return true;
        } else if (error == ENOSPC) {
            /* privd refused it at the flow limit, which this handler's
             * estimate had not reached yet. */
            COUNTER_INC(upcall_flow_limit_hit);
            return true;
        }
        COUNTER_INC(upcall_put_failed);
        LOG_WARN_RL(&rl, "flow put failed: %s%s%s", strerror((int) error),
                    reason ? ": " : "", reason ? reason : "");
        return false;
    }
    if (!error) {
        COUNTER_INC(upcall_execute_ok);
        return true;
    }
    COUNTER_INC(upcall_execute_failed);
    LOG_WARN_RL(&rl, "execute failed: %s%s%s", strerror((int) error),
                reason ? ": " : "", reason ? reason : "");
    return false;
}
