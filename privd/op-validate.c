/*
 * op-validate.c — the request table and the per-op checks (op-validate.h).
 */
#include "privd/op-validate.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/openvswitch.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/nl.h"
#include "common/odp-key.h"
#include "common/timeval.h"

LOG_MODULE(op_validate);

COUNTER_DEFINE(op_rejected_batch_empty);
COUNTER_DEFINE(op_rejected_batch_too_long);
COUNTER_DEFINE(op_rejected_no_op);
COUNTER_DEFINE(op_rejected_role);
COUNTER_DEFINE(op_rejected_flags);
COUNTER_DEFINE(op_rejected_shard);
COUNTER_DEFINE(op_rejected_ufid);
COUNTER_DEFINE(op_rejected_key);
COUNTER_DEFINE(op_rejected_mask);
COUNTER_DEFINE(op_rejected_actions);
COUNTER_DEFINE(op_rejected_port);
COUNTER_DEFINE(op_rejected_pid);
COUNTER_DEFINE(op_rejected_packet);
COUNTER_DEFINE(op_rejected_copies);
COUNTER_DEFINE(op_rejected_outputs);
COUNTER_DEFINE(op_rejected_flow_actions);
COUNTER_DEFINE(op_rejected_batch_work);
COUNTER_DEFINE(op_refused_work_budget);
COUNTER_DEFINE(op_refused_flow_limit);
COUNTER_DEFINE(op_refused_flow_bytes);
COUNTER_DEFINE(op_executed);
COUNTER_DEFINE(op_failed);

/* The request table: which op kinds each role may send. */
struct op_rule {
    Dpif__Op__OpCase op;        /* The op kind. */
    bool handler;               /* Handlers may send it. */
    bool revalidator;           /* Revalidators may send it. */
    const char *name;           /* For reasons. */
};

static const struct op_rule op_rules[] = {
    { DPIF__OP__OP_FLOW_PUT, true, true, "flow_put" },
    { DPIF__OP__OP_FLOW_DEL, false, true, "flow_del" },
    { DPIF__OP__OP_EXECUTE, true, false, "execute" },
    { DPIF__OP__OP_FLOW_GET, true, true, "flow_get" },
};

static const struct op_rule *
op_rule_find(Dpif__Op__OpCase op)
{
    for (size_t i = 0; i < ARRAY_SIZE(op_rules); i++) {
        if (op_rules[i].op == op) {
            return &op_rules[i];
        }
    }
    return NULL;
}

struct op_batch *
op_batch_create(void)
{
    struct op_batch *b = xzalloc(sizeof *b);
    for (size_t i = 0; i < IPC_MAX_BATCH; i++) {
        buf_init(&b->slots[i].get_buffer, 0);
    }
    return b;
}

void
op_batch_destroy(struct op_batch *b)
{
    if (b) {
        for (size_t i = 0; i < IPC_MAX_BATCH; i++) {
            buf_uninit(&b->slots[i].get_buffer);
        }
        free(b);
    }
}

void
op_batch_clear(struct op_batch *b)
{
    b->batch_id = 0;
    b->flow_limit = 0;
    b->ledger = NULL;
    b->owner = 0;
    b->error = 0;
    b->reason.msg[0] = '\0';
    b->n_ops = 0;
    b->work = 0;
    b->n_rejected = 0;
    b->n_throttled = 0;
}

/* Zeroes 'slot' except its reusable get buffer. */
static void
op_slot_reset(struct op_slot *slot)
{
    struct buf keep = slot->get_buffer;
    memset(slot, 0, sizeof *slot);
    slot->get_buffer = keep;
    buf_clear(&slot->get_buffer);
}

/* ----- field checks ------------------------------------------------------ */

static int
op_check_ufid(const ProtobufCBinaryData *ufid, union ufid *out,
              struct errbuf *eb)
{
    if (ufid->len != IPC_UFID_LEN) {
        COUNTER_INC(op_rejected_ufid);
        return errbuf_set(eb, EINVAL, "ufid is %zu bytes, not %d",
                          ufid->len, IPC_UFID_LEN);
    }
    memcpy(out, ufid->data, IPC_UFID_LEN);
    return 0;
}

/* Checks the key 'key' and stores its decoded form in '*flow'. */
static int
op_check_key(const ProtobufCBinaryData *key, struct flow *flow,
             struct errbuf *eb)
{
    struct errbuf why;

    if (!key->len || key->len > IPC_MAX_KEY) {
        COUNTER_INC(op_rejected_key);
        return errbuf_set(eb, EINVAL, "key is %zu bytes, not 1..%d",
                          key->len, IPC_MAX_KEY);
    }
    if ((uintptr_t) key->data % NLA_ALIGNTO) {
        COUNTER_INC(op_rejected_key);
        return errbuf_set(eb, EINVAL, "key is not 4-byte aligned");
    }
    why.msg[0] = '\0';
    if (odp_key_to_flow(key->data, key->len, flow, &why) == ODP_FIT_ERROR) {
        COUNTER_INC(op_rejected_key);
        return errbuf_set(eb, EINVAL, "malformed key: %s", why.msg);
    }
    return 0;
}

static int
op_check_mask(const ProtobufCBinaryData *mask, const struct flow *flow,
              struct errbuf *eb)
{
    struct errbuf why;
    struct flow mask_flow;

    if (mask->len > IPC_MAX_KEY) {
        COUNTER_INC(op_rejected_mask);
        return errbuf_set(eb, EINVAL, "mask is %zu bytes, more than %d",
                          mask->len, IPC_MAX_KEY);
    }
    if ((uintptr_t) mask->data % NLA_ALIGNTO) {
        COUNTER_INC(op_rejected_mask);
        return errbuf_set(eb, EINVAL, "mask is not 4-byte aligned");
    }
    why.msg[0] = '\0';
    if (odp_mask_to_flow(mask->data, mask->len, flow, &mask_flow, &why)
        == ODP_FIT_ERROR) {
        COUNTER_INC(op_rejected_mask);
        return errbuf_set(eb, EINVAL, "malformed mask: %s", why.msg);
    }
    return 0;
}

/* What the odp_actions_policy callbacks see, and what they found. */
struct op_policy_aux {
    const struct dpif *dpif;    /* The worker's datapath. */
    bool bad_port;              /* Out: a port was refused. */
    bool bad_pid;               /* Out: a USERSPACE pid was refused. */
};

/* True if 'port' is a port of 'dpif'. */
static bool
op_port_exists(const struct dpif *dpif, uint32_t port)
{
    return !dpif_port_query_by_number(dpif, port, NULL);
}

static bool
op_port_ok(uint32_t port, void *aux_)
{
    struct op_policy_aux *aux = aux_;
    bool ok = op_port_exists(aux->dpif, port);
    aux->bad_port |= !ok;
    return ok;
}

/* State of a search for a pid among the datapath's handler channels. */
struct op_pid_search {
    const struct dpif *dpif;    /* The datapath. */
    uint32_t pid;               /* The pid looked for. */
    bool found;                 /* Out: some port's channel has it. */
};

static void
op_pid_search_port(const struct dpif_port *port, void *search_)
{
    struct op_pid_search *search = search_;
    if (!search->found
        && dpif_port_get_pid(search->dpif, port->port_no) == search->pid) {
        search->found = true;
    }
}

/* True if 'pid' is the channel of one of the datapath's ports or its
 * special channel.  0 means "upcalls disabled" and is no channel. */
static bool
op_pid_ok(uint32_t pid, void *aux_)
{
    struct op_policy_aux *aux = aux_;
    struct op_pid_search search = { aux->dpif, pid, false };

    if (pid) {
        if (dpif_port_get_pid(aux->dpif, DPIF_SPECIAL_PORT_PID) == pid) {
            return true;
        }
        dpif_port_dump(aux->dpif, op_pid_search_port, &search);
    }
    aux->bad_pid |= !search.found;
    return search.found;
}

static void
op_count_port(const struct dpif_port *port, void *n_)
{
    size_t *n = n_;
    (void) port;
    (*n)++;
}

/* Ports of 'dpif'. */
static size_t
op_count_ports(const struct dpif *dpif)
{
    size_t n = 0;
    dpif_port_dump(dpif, op_count_port, &n);
    return n;
}

size_t
op_validate_flow_actions_max(size_t n_ports)
{
    size_t max = (OP_VALIDATE_FLOW_ACTIONS_BASE
                  + OP_VALIDATE_FLOW_ACTIONS_PER_PORT * MIN(n_ports,
                                                            IPC_MAX_PORTS));
    return MIN(max, (size_t) IPC_MAX_ACTIONS);
}

size_t
op_validate_outputs_max(size_t n_ports)
{
    return OP_VALIDATE_OUTPUTS_PER_PORT * MAX(n_ports, (size_t) 1);
}

/* What running an action list costs: packet copies and outputs, at every
 * depth. */
struct op_census {
    size_t copies;              /* CLONE and SAMPLE actions. */
    size_t outputs;             /* OUTPUT and USERSPACE actions. */
};

/* Adds the actions of the validated list 'actions'/'len' to 'c'.  The
 * validator bounded the nesting; 'depth' bounds the recursion anyway. */
static void
op_census_list(const void *actions, size_t len, unsigned int depth,
               struct op_census *c)
{
    const struct nlattr *a;
    size_t left;

    NL_ATTR_FOR_EACH (a, left, actions, len) {
        switch (nl_attr_type(a)) {
        case OVS_ACTION_ATTR_OUTPUT:
        case OVS_ACTION_ATTR_USERSPACE:
            c->outputs++;
            break;
        case OVS_ACTION_ATTR_CLONE:
            c->copies++;
            if (depth < ODP_ACTIONS_DEPTH_LIMIT) {
                op_census_list(nl_attr_get(a), nl_attr_get_size(a),
                               depth + 1, c);
            }
            break;
        case OVS_ACTION_ATTR_SAMPLE: {
            struct odp_sample sample;
            c->copies++;
            odp_action_get_sample(a, &sample);
            if (depth < ODP_ACTIONS_DEPTH_LIMIT) {
                op_census_list(sample.actions, sample.actions_len, depth + 1,
                               c);
            }
            break;
        }
        default:
            break;
        }
    }
}

/* Checks what the valid list 'actions' would cost against the caps (see
 * op-validate.h) and stores the census in '*c'. */
static int
op_check_cost(const struct op_context *ctx,
              const ProtobufCBinaryData *actions, bool flow,
              struct op_census *c, struct errbuf *eb)
{
    size_t n_ports = op_count_ports(ctx->dpif);
    size_t max_outputs = op_validate_outputs_max(n_ports);

    memset(c, 0, sizeof *c);
    op_census_list(actions->len ? actions->data : NULL, actions->len, 0, c);
    if (c->copies > OP_VALIDATE_MAX_COPIES) {
        COUNTER_INC(op_rejected_copies);
        return errbuf_set(eb, E2BIG, "actions copy the packet %zu times, "
                          "more than %d", c->copies, OP_VALIDATE_MAX_COPIES);
    }
    if (c->outputs > max_outputs) {
        COUNTER_INC(op_rejected_outputs);
        return errbuf_set(eb, E2BIG, "actions have %zu outputs, more than "
                          "%zu (%d per port, %zu ports)", c->outputs,
                          max_outputs, OP_VALIDATE_OUTPUTS_PER_PORT, n_ports);
    }
    if (flow && actions->len > op_validate_flow_actions_max(n_ports)) {
        COUNTER_INC(op_rejected_flow_actions);
        return errbuf_set(eb, EMSGSIZE, "flow actions are %zu bytes, more "
                          "than %zu for %zu ports", actions->len,
                          op_validate_flow_actions_max(n_ports), n_ports);
    }
    return 0;
}

static int
op_check_actions(const struct op_context *ctx,
                 const ProtobufCBinaryData *actions, struct errbuf *eb)
{
    struct op_policy_aux aux = { .dpif = ctx->dpif };
    struct odp_actions_policy policy = {
        .allowed = OP_VALIDATE_ALLOWED_ACTIONS,
        .max_depth = OP_VALIDATE_MAX_DEPTH,
        .max_len = IPC_MAX_ACTIONS,
        .max_userdata = IPC_MAX_USERDATA,
        .port_ok = op_port_ok,
        .pid_ok = op_pid_ok,
        .aux = &aux,
    };
    struct errbuf why;

    if (actions->len > IPC_MAX_ACTIONS) {
        COUNTER_INC(op_rejected_actions);
        return errbuf_set(eb, EMSGSIZE, "actions are %zu bytes, more than %d",
                          actions->len, IPC_MAX_ACTIONS);
    }
    if (actions->len && (uintptr_t) actions->data % NLA_ALIGNTO) {
        COUNTER_INC(op_rejected_actions);
        return errbuf_set(eb, EINVAL, "actions are not 4-byte aligned");
    }
    why.msg[0] = '\0';
    int error = odp_actions_validate(actions->len ? actions->data : NULL,
                                     actions->len, &policy, &why);
    if (!error) {
        return 0;
    }
    if (error == ENODEV && aux.bad_port) {
        COUNTER_INC(op_rejected_port);
    } else if (error == EPERM && aux.bad_pid) {
        COUNTER_INC(op_rejected_pid);
    } else {
        COUNTER_INC(op_rejected_actions);
    }
    return errbuf_set(eb, error, "%s", why.msg);
}

/* Revalidators act only on the flows of their own shard. */
static int
op_check_shard(const struct op_context *ctx, const union ufid *ufid,
               struct errbuf *eb)
{
    unsigned int n = ctx->n_revalidators ? ctx->n_revalidators : 1;
    unsigned int shard = ufid_shard(ufid, n);

    if (ctx->role == WORKER_ROLE_REVALIDATOR && shard != ctx->worker_index) {
        COUNTER_INC(op_rejected_shard);
        return errbuf_set(eb, EPERM, "ufid belongs to shard %u, not to "
                          "revalidator %u", shard, ctx->worker_index);
    }
    return 0;
}

/* ----- per-op checks ------------------------------------------------------ */

static int
op_check_flow_put(const struct op_context *ctx, const Dpif__FlowPut *put,
                  struct op_slot *slot, struct errbuf *eb)
{
    bool create = put->has_create && put->create;
    bool modify = put->has_modify && put->modify;
    bool zero_stats = put->has_zero_stats && put->zero_stats;
    struct flow flow;
    int error;

    if (ctx->role == WORKER_ROLE_HANDLER && (!create || modify || zero_stats)) {
        COUNTER_INC(op_rejected_flags);
        return errbuf_set(eb, EPERM, "handlers may only create flows "
                          "(create without modify or zero_stats)");
    }
    if (ctx->role == WORKER_ROLE_REVALIDATOR && (create || !modify)) {
        COUNTER_INC(op_rejected_flags);
        return errbuf_set(eb, EPERM, "revalidators may only modify flows "
                          "(modify without create)");
    }
    error = op_check_ufid(&put->ufid, &slot->ufid, eb);
    if (!error) {
        error = op_check_shard(ctx, &slot->ufid, eb);
    }
    if (!error) {
        error = op_check_key(&put->key, &flow, eb);
    }
    if (!error && put->has_mask) {
        error = op_check_mask(&put->mask, &flow, eb);
    }
    if (!error) {
        error = op_check_actions(ctx, &put->actions, eb);
    }
    struct op_census census;
    if (!error) {
        error = op_check_cost(ctx, &put->actions, true, &census, eb);
    }
    if (error) {
        return error;
    }

    struct dpif_flow_put *dp = &slot->op.flow_put;
    slot->op.type = DPIF_OP_FLOW_PUT;
    dp->flags = ((create ? DPIF_FP_CREATE : 0) | (modify ? DPIF_FP_MODIFY : 0)
                 | (zero_stats ? DPIF_FP_ZERO_STATS : 0));
    dp->key = put->key.data;
    dp->key_len = put->key.len;
    dp->mask = put->has_mask ? put->mask.data : NULL;
    dp->mask_len = put->has_mask ? put->mask.len : 0;
    dp->actions = put->actions.data;
    dp->actions_len = put->actions.len;
    dp->ufid = &slot->ufid;
    dp->stats = &slot->stats;
    slot->want_stats = put->has_want_stats && put->want_stats;
    return 0;
}

static int
op_check_flow_del(const struct op_context *ctx, const Dpif__FlowDel *del,
                  struct op_slot *slot, struct errbuf *eb)
{
    int error;

    if (del->id_case != DPIF__FLOW_DEL__ID_UFID) {
        COUNTER_INC(op_rejected_ufid);
        return errbuf_set(eb, EPERM, "revalidators delete flows by ufid");
    }
    error = op_check_ufid(&del->ufid, &slot->ufid, eb);
    if (!error) {
        error = op_check_shard(ctx, &slot->ufid, eb);
    }
    if (error) {
        return error;
    }
    slot->op.type = DPIF_OP_FLOW_DEL;
    slot->op.flow_del.ufid = &slot->ufid;
    slot->op.flow_del.stats = &slot->stats;
    slot->want_stats = del->has_want_stats && del->want_stats;
    return 0;
}

static int
op_check_execute(const struct op_context *ctx, const Dpif__Execute *exec,
                 struct op_slot *slot, struct errbuf *eb)
{
    struct flow flow;
    int error;

    error = op_check_key(&exec->key, &flow, eb);
    if (error) {
        return error;
    }
    if (!nl_find_attr(exec->key.data, exec->key.len, OVS_KEY_ATTR_IN_PORT)) {
        COUNTER_INC(op_rejected_key);
        return errbuf_set(eb, EINVAL, "execute key has no in_port");
    }
    if (!op_port_exists(ctx->dpif, flow.in_port)) {
        COUNTER_INC(op_rejected_port);
        return errbuf_set(eb, ENODEV, "execute: in_port %"PRIu32" does not "
                          "exist", flow.in_port);
    }
    if (exec->packet.len < OP_VALIDATE_MIN_PACKET
        || exec->packet.len > IPC_MAX_PACKET) {
        COUNTER_INC(op_rejected_packet);
        return errbuf_set(eb, EINVAL, "packet is %zu bytes, not %d..%d",
                          exec->packet.len, OP_VALIDATE_MIN_PACKET,
                          IPC_MAX_PACKET);
    }
    error = op_check_actions(ctx, &exec->actions, eb);
    struct op_census census;
    if (!error) {
        error = op_check_cost(ctx, &exec->actions, false, &census, eb);
    }
    if (error) {
        return error;
    }
    slot->work = (uint64_t) exec->packet.len * (1 + census.copies
                                                 + census.outputs);
    slot->op.type = DPIF_OP_EXECUTE;
    slot->op.execute.key = exec->key.data;
    slot->op.execute.key_len = exec->key.len;
    slot->op.execute.packet = exec->packet.data;
    slot->op.execute.packet_len = exec->packet.len;
    slot->op.execute.actions = exec->actions.data;
    slot->op.execute.actions_len = exec->actions.len;
    return 0;
}

static int
op_check_flow_get(const Dpif__FlowGet *get, struct op_slot *slot,
                  struct errbuf *eb)
{
    struct flow flow;
    int error;

    slot->op.type = DPIF_OP_FLOW_GET;
    slot->op.flow_get.buffer = &slot->get_buffer;
    slot->op.flow_get.flow = &slot->get_flow;
    switch (get->id_case) {
    case DPIF__FLOW_GET__ID_UFID:
        error = op_check_ufid(&get->ufid, &slot->ufid, eb);
        slot->op.flow_get.ufid = &slot->ufid;
        return error;
    case DPIF__FLOW_GET__ID_KEY:
        error = op_check_key(&get->key, &flow, eb);
        slot->op.flow_get.key = get->key.data;
        slot->op.flow_get.key_len = get->key.len;
        return error;
    case DPIF__FLOW_GET__ID__NOT_SET:
    default:
        COUNTER_INC(op_rejected_no_op);
        return errbuf_set(eb, EINVAL, "flow_get names no flow");
    }
}

int
op_validate_one(const struct op_context *ctx, const Dpif__Op *op,
                struct op_slot *slot)
{
    struct errbuf *eb = &slot->reason;
    const struct op_rule *rule;
    int error;

    op_slot_reset(slot);
    rule = op_rule_find(op->op_case);
    if (!rule) {
        COUNTER_INC(op_rejected_no_op);
        error = errbuf_set(eb, EINVAL, "op has no operation set");
    } else if (!(ctx->role == WORKER_ROLE_HANDLER ? rule->handler
                 : ctx->role == WORKER_ROLE_REVALIDATOR ? rule->revalidator
                 : false)) {
        COUNTER_INC(op_rejected_role);
        error = errbuf_set(eb, EPERM, "%s is not allowed for %ss", rule->name,
                           worker_role_to_string(ctx->role));
    } else {
        switch (op->op_case) {
        case DPIF__OP__OP_FLOW_PUT:
            error = op_check_flow_put(ctx, op->flow_put, slot, eb);
            break;
        case DPIF__OP__OP_FLOW_DEL:
            error = op_check_flow_del(ctx, op->flow_del, slot, eb);
            break;
        case DPIF__OP__OP_EXECUTE:
            error = op_check_execute(ctx, op->execute, slot, eb);
            break;
        case DPIF__OP__OP_FLOW_GET:
            error = op_check_flow_get(op->flow_get, slot, eb);
            break;
        case DPIF__OP__OP__NOT_SET:
        default:
            error = errbuf_set(eb, EINVAL, "op has no operation set");
            break;
        }
        if (error && rule) {
            errbuf_prefix(eb, "%s: ", rule->name);
        }
    }
    slot->error = error;
    slot->rejected = error != 0;
    return error;
}

/* ----- batches ------------------------------------------------------------- */

void
op_work_budget_init(struct op_work_budget *budget)
{
    budget->tokens = OP_VALIDATE_WORK_BURST;
    budget->refilled_msec = time_msec();
}

/* Adds to 'budget' the work its rate earned since the last refill. */
static void
op_work_budget_refill(struct op_work_budget *budget)
{
    long long now = time_msec();
    long long elapsed = now - budget->refilled_msec;

    if (elapsed <= 0) {
        return;
    }
    uint64_t earned = (elapsed >= 1000 ? OP_VALIDATE_WORK_BURST
                       : OP_VALIDATE_WORK_RATE / 1000 * (uint64_t) elapsed);
    budget->tokens = MIN(budget->tokens + earned,
                         (uint64_t) OP_VALIDATE_WORK_BURST);
    budget->refilled_msec = now;
}

/* Charges the valid Execute in 'slot' to the batch's and the worker's
 * budgets ('work' may be NULL); refuses it if either is exhausted. */
static int
op_charge_work(struct op_batch *b, struct op_work_budget *work,
               struct op_slot *slot)
{
    int error = 0;

    if (b->work + slot->work > OP_VALIDATE_MAX_BATCH_WORK) {
        COUNTER_INC(op_rejected_batch_work);
        error = errbuf_set(&slot->reason, EDQUOT, "execute: batch work "
                           "%"PRIu64" bytes would exceed %llu", b->work
                           + slot->work, OP_VALIDATE_MAX_BATCH_WORK);
    } else if (work && work->tokens < slot->work) {
        COUNTER_INC(op_refused_work_budget);
        error = errbuf_set(&slot->reason, ENOBUFS, "execute: work budget "
                           "exhausted (%"PRIu64" of %"PRIu64" bytes left)",
                           work->tokens, slot->work);
    }
    if (error) {
        /* Nothing later in the batch may use what this one did not: a
         * smaller Execute behind a refused one is refused too. */
        if (error == EDQUOT) {
            b->work = OP_VALIDATE_MAX_BATCH_WORK;
        } else {
            work->tokens = 0;
        }
        slot->error = error;
        slot->limited = true;
        b->n_throttled++;
        return error;
    }
    b->work += slot->work;
    if (work) {
        work->tokens -= slot->work;
    }
    return 0;
}

void
op_batch_check(struct op_batch *b, const struct op_context *ctx,
               const Dpif__OpBatch *msg)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    size_t limit = MIN(ctx->batch_size ? ctx->batch_size : IPC_DEFAULT_BATCH,
                       IPC_MAX_BATCH);

    op_batch_clear(b);
    b->batch_id = msg->batch_id;
    b->flow_limit = ctx->role == WORKER_ROLE_HANDLER ? ctx->flow_limit : 0;
    b->ledger = ctx->ledger;
    b->owner = ctx->worker_index;
    if (!msg->n_ops) {
        COUNTER_INC(op_rejected_batch_empty);
        b->error = errbuf_set(&b->reason, EINVAL, "batch has no ops");
        b->n_rejected = 1;
    } else if (msg->n_ops > limit) {
        COUNTER_INC(op_rejected_batch_too_long);
        b->error = errbuf_set(&b->reason, E2BIG, "batch has %zu ops, more "
                              "than %zu", msg->n_ops, limit);
        b->n_rejected = 1;
    }
    if (b->error) {
        LOG_WARN_RL(&rl, "%s %u: batch %"PRIu64" refused: %s",
                    worker_role_to_string(ctx->role), ctx->worker_index,
                    msg->batch_id, b->reason.msg);
        return;
    }

    if (ctx->work) {
        op_work_budget_refill(ctx->work);
    }
    b->n_ops = msg->n_ops;
    for (size_t i = 0; i < msg->n_ops; i++) {
        struct op_slot *slot = &b->slots[i];
        int error = op_validate_one(ctx, msg->ops[i], slot);
        if (!error && slot->work && op_charge_work(b, ctx->work, slot)) {
            /* Throttled, not malformed: n_throttled. */
            continue;
        }
        if (error && error != ENODEV) {
            b->n_rejected++;
        }
        if (error) {
            LOG_WARN_RL(&rl, "%s %u: batch %"PRIu64" op %zu refused: %s",
                        worker_role_to_string(ctx->role), ctx->worker_index,
                        msg->batch_id, i, slot->reason.msg);
        }
    }
}

/* Refuses the creates of 'b' that would take 'dpif' to more than
 * b->flow_limit flows.  The handlers estimate the flow count from the
 * status page and stop creating at the limit; this makes the limit hold
 * whatever they estimate (a burst of batches in flight, a hostile
 * handler). */
static void
op_batch_apply_flow_limit(struct op_batch *b, struct dpif *dpif)
{
    struct dpif_dp_stats stats;
    uint64_t n_flows;

    if (!b->flow_limit || dpif_get_dp_stats(dpif, &stats)) {
        return;
    }
    n_flows = stats.n_flows;
    for (size_t i = 0; i < b->n_ops; i++) {
        struct op_slot *slot = &b->slots[i];
        if (slot->rejected || slot->op.type != DPIF_OP_FLOW_PUT
            || !(slot->op.flow_put.flags & DPIF_FP_CREATE)) {
            continue;
        }
        if (n_flows >= b->flow_limit) {
            slot->limited = true;
            slot->error = ENOSPC;
            errbuf_set(&slot->reason, ENOSPC, "flow limit %"PRIu64
                       " reached", b->flow_limit);
            COUNTER_INC(op_refused_flow_limit);
        } else {
            n_flows++;
        }
    }
}

/* Key + mask + actions bytes of 'put'. */
static uint64_t
op_put_bytes(const struct dpif_flow_put *put)
{
    return (uint64_t) put->key_len + put->mask_len + put->actions_len;
}

/* What flow_ledger_reconcile() asks: does the datapath still have it? */
struct op_exists_aux {
    struct dpif *dpif;          /* The datapath. */
    struct buf buffer;          /* Scratch for dpif_flow_get(). */
};

static bool
op_flow_exists(const union ufid *ufid, void *aux_)
{
    struct op_exists_aux *aux = aux_;
    struct dpif_flow flow;
    struct dpif_flow_get get = {
        .ufid = ufid, .buffer = &aux->buffer, .flow = &flow,
    };

    buf_clear(&aux->buffer);
    return dpif_flow_get(aux->dpif, &get) != ENOENT;
}

/* Refuses the creates of 'b' that would exceed a byte budget of the
 * ledger, reconciling it first when one would. */
static void
op_batch_apply_flow_bytes(struct op_batch *b, struct dpif *dpif)
{
    uint64_t pending = 0;
    bool reconciled = false;

    if (!b->ledger) {
        return;
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        struct op_slot *slot = &b->slots[i];
        if (slot->rejected || slot->limited
            || slot->op.type != DPIF_OP_FLOW_PUT
            || !(slot->op.flow_put.flags & DPIF_FP_CREATE)) {
            continue;
        }
        uint64_t bytes = op_put_bytes(&slot->op.flow_put);
        int error = flow_ledger_check(b->ledger, b->owner, bytes, pending,
                                      &slot->reason);
        if (error && !reconciled) {
            struct op_exists_aux aux = { .dpif = dpif };
            struct dpif_dp_stats stats;

            reconciled = true;
            buf_init(&aux.buffer, 0);
            flow_ledger_reconcile(b->ledger,
                                  (dpif_get_dp_stats(dpif, &stats)
                                   ? 0 : stats.n_flows),
                                  op_flow_exists, &aux);
            buf_uninit(&aux.buffer);
            error = flow_ledger_check(b->ledger, b->owner, bytes, pending,
                                      &slot->reason);
        }
        if (error) {
            slot->limited = true;
            slot->error = error;
            COUNTER_INC(op_refused_flow_bytes);
        } else {
            pending += bytes;
        }
    }
}

/* Enters what 'b' changed in the ledger. */
static void
op_batch_account_flows(const struct op_batch *b)
{
    if (!b->ledger) {
        return;
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        const struct op_slot *slot = &b->slots[i];
        if (slot->rejected || slot->limited || slot->error) {
            continue;
        }
        if (slot->op.type == DPIF_OP_FLOW_PUT) {
            const struct dpif_flow_put *put = &slot->op.flow_put;
            if (put->flags & DPIF_FP_CREATE) {
                flow_ledger_charge(b->ledger, &slot->ufid, b->owner,
                                   op_put_bytes(put));
            } else {
                flow_ledger_resize(b->ledger, &slot->ufid,
                                   op_put_bytes(put));
            }
        } else if (slot->op.type == DPIF_OP_FLOW_DEL) {
            flow_ledger_release(b->ledger, &slot->ufid);
        }
    }
}

void
op_batch_execute(struct op_batch *b, struct dpif *dpif)
{
    struct dpif_op *ops[IPC_MAX_BATCH];
    size_t n = 0;

    op_batch_apply_flow_limit(b, dpif);
    op_batch_apply_flow_bytes(b, dpif);
    for (size_t i = 0; i < b->n_ops; i++) {
        if (!b->slots[i].rejected && !b->slots[i].limited) {
            ops[n++] = &b->slots[i].op;
        }
    }
    if (!n) {
        return;
    }
    dpif_operate(dpif, ops, n);
    for (size_t i = 0; i < b->n_ops; i++) {
        struct op_slot *slot = &b->slots[i];
        if (slot->rejected || slot->limited) {
            continue;
        }
        slot->error = slot->op.error;
        if (slot->error) {
            COUNTER_INC(op_failed);
            errbuf_set(&slot->reason, slot->error, "datapath: %s",
                       strerror(slot->error));
        } else {
            COUNTER_INC(op_executed);
        }
    }
    op_batch_account_flows(b);
}

static void
op_stats_to_proto(const struct dpif_flow_stats *s, Dpif__FlowStats *out)
{
    dpif__flow_stats__init(out);
    out->has_packets = out->has_bytes = out->has_used_msec = true;
    out->has_tcp_flags = true;
    out->packets = s->n_packets;
    out->bytes = s->n_bytes;
    out->used_msec = s->used;
    out->tcp_flags = s->tcp_flags;
}

void
op_batch_to_results(struct op_batch *b, Dpif__OpResults *out)
{
    dpif__op_results__init(out);
    out->batch_id = b->batch_id;
    if (b->error) {
        Dpif__OpResult *r = &b->results[0];
        dpif__op_result__init(r);
        r->error = (uint32_t) b->error;
        r->reason = b->reason.msg;
        b->result_ptrs[0] = r;
        out->results = b->result_ptrs;
        out->n_results = 1;
        return;
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        struct op_slot *slot = &b->slots[i];
        Dpif__OpResult *r = &b->results[i];

        dpif__op_result__init(r);
        r->error = (uint32_t) slot->error;
        r->reason = slot->error ? slot->reason.msg : NULL;
        if (!slot->error && slot->op.type == DPIF_OP_FLOW_GET) {
            const struct dpif_flow *f = &slot->get_flow;
            Dpif__Flow *pf = &b->flows[i];

            dpif__flow__init(pf);
            pf->has_ufid = pf->has_key = pf->has_mask = true;
            pf->has_actions = true;
            pf->ufid.data = (uint8_t *) &f->ufid;
            pf->ufid.len = IPC_UFID_LEN;
            pf->key.data = (uint8_t *) f->key;
            pf->key.len = f->key_len;
            pf->mask.data = (uint8_t *) f->mask;
            pf->mask.len = f->mask_len;
            pf->actions.data = (uint8_t *) f->actions;
            pf->actions.len = f->actions_len;
            op_stats_to_proto(&f->stats, &b->stats[i]);
            pf->stats = &b->stats[i];
            r->flow = pf;
            r->stats = &b->stats[i];
        } else if (!slot->error && slot->want_stats) {
            op_stats_to_proto(&slot->stats, &b->stats[i]);
            r->stats = &b->stats[i];
        }
        b->result_ptrs[i] = r;
    }
    out->results = b->result_ptrs;
    out->n_results = b->n_ops;
}

void
op_batch_for_each_created(const struct op_batch *b,
                          void (*cb)(const struct dpif_flow_put *,
                                     const union ufid *, void *aux),
                          void *aux)
{
    for (size_t i = 0; i < b->n_ops; i++) {
        const struct op_slot *slot = &b->slots[i];
        if (!slot->error && slot->op.type == DPIF_OP_FLOW_PUT
            && slot->op.flow_put.flags & DPIF_FP_CREATE) {
            cb(&slot->op.flow_put, &slot->ufid, aux);
        }
    }
}
