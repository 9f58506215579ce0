/* ctl-flow.c — privd's flow commands: dump-flows, add-flow, mod-flow,
 * get-flow, del-flow, del-flows (dpifctl's cli/cmd-flow.c), the checks of
 * the keys, masks, UFIDs and actions a client sends, and the paged flow
 * dump of a connection.  Run by privd for authorized control clients;
 * every field is checked here before it reaches the datapath. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/flow.h"
#include "common/ipc.h"
#include "common/nl.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/ufid.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/flow-limit.h"
#include "privd/privd.h"

COUNTER_DEFINE(control_bad_key);

/* A flow dump in progress for one connection (dump-flows pages). */
struct control_dump {
    const struct dpif *dpif;    /* Datapath dumped (borrowed; see
                                 * control_server_forget_dp()). */
    struct dpif_flow_dump *dump;        /* Owned. */
    struct dpif_flow_dump_thread *thread;   /* Owned. */
    uint64_t cursor;            /* Token the next page must present. */
    struct buf filter_key;      /* Filter key, empty for none. */
    struct buf filter_mask;     /* Filter mask, empty for exact. */
    bool held;                  /* 'held_flow' is the next flow to send. */
    struct dpif_flow held_flow; /* A flow that did not fit in the last
                                 * page; key, mask and actions point into
                                 * 'held_data'. */
    struct buf held_data;       /* Storage of the held flow's streams. */
};

/* Checks the size and netlink structure of a key, mask or filter from a
 * client and returns an aligned copy in '*copyp'.  Flow keys and masks get
 * the key codec's checks on top (ctl_check_flow_key()); dump filters are
 * partial keys and get only these. */
static int
ctl_check_key(struct control_ctx *ctx, const char *what,
              const ProtobufCBinaryData *data, bool required, void **copyp)
{
    struct errbuf eb;

    if (data->len > IPC_MAX_KEY || (required && !data->len)) {
        return ctl_invalid(ctx, EINVAL, "%s: expected %d to %d bytes, "
                          "got %zu", what, required ? 4 : 0, IPC_MAX_KEY,
                          data->len);
    }
    void *copy = ctx_memdup(ctx, data->data, data->len);
    if (nl_check_stream(copy, data->len, &eb)) {
        return ctl_invalid(ctx, EINVAL, "%s: %s", what, eb.msg);
    }
    *copyp = copy;
    return 0;
}

/* Checks a flow key (and its mask, unless 'mask' is NULL) with the key
 * codec: malformed keys and masks (ODP_FIT_ERROR) are refused.  Keys that
 * hold more or less than a struct flow represents are the datapath's to
 * accept or refuse. */
static int
ctl_check_flow_key(struct control_ctx *ctx, const void *key, size_t key_len,
                   const void *mask, size_t mask_len)
{
    struct flow flow, flow_mask;
    struct errbuf eb;

    if (odp_key_to_flow(key, key_len, &flow, &eb) == ODP_FIT_ERROR) {
        COUNTER_INC(control_bad_key);
        return errbuf_set(&ctx->eb, EINVAL, "key: %s", eb.msg);
    }
    if (mask && odp_mask_to_flow(mask, mask_len, &flow, &flow_mask, &eb)
                == ODP_FIT_ERROR) {
        COUNTER_INC(control_bad_key);
        return errbuf_set(&ctx->eb, EINVAL, "mask: %s", eb.msg);
    }
    return 0;
}

static int
ctl_check_ufid(struct control_ctx *ctx, const ProtobufCBinaryData *data,
               union ufid *ufid)
{
    if (data->len != IPC_UFID_LEN) {
        return ctl_invalid(ctx, EINVAL, "ufid: expected %d bytes, got "
                          "%zu", IPC_UFID_LEN, data->len);
    }
    memcpy(ufid, data->data, sizeof *ufid);
    return 0;
}

/* odp_actions_validate() callbacks: the datapath's own ports and upcall
 * channels. */
bool
ctl_port_ok(uint32_t port, void *dp_)
{
    const struct privd_dp *dp = dp_;
    struct dpif_port p;

    if (dpif_port_query_by_number(dp->dpif, port, &p)) {
        return false;
    }
    dpif_port_destroy(&p);
    return true;
}

struct ctl_pid_search {
    const struct dpif *dpif;    /* Datapath searched. */
    uint32_t pid;               /* Channel looked for. */
    bool found;                 /* Result. */
};

static void
ctl_pid_search_cb(const struct dpif_port *port, void *aux)
{
    struct ctl_pid_search *s = aux;
    if (dpif_port_get_pid(s->dpif, port->port_no) == s->pid) {
        s->found = true;
    }
}

static bool
ctl_pid_ok(uint32_t pid, void *dp_)
{
    const struct privd_dp *dp = dp_;
    struct ctl_pid_search s = { dp->dpif, pid, false };

    if (dpif_port_get_pid(dp->dpif, DPIF_SPECIAL_PORT_PID) == pid) {
        return true;
    }
    dpif_port_dump(dp->dpif, ctl_pid_search_cb, &s);
    return s.found;
}

static int
ctl_check_actions(struct control_ctx *ctx, struct privd_dp *dp,
                  const ProtobufCBinaryData *data, void **copyp)
{
    struct odp_actions_policy policy = {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .max_len = IPC_MAX_ACTIONS,
        .port_ok = ctl_port_ok,
        .pid_ok = ctl_pid_ok,
        .aux = dp,
    };
    struct errbuf eb;

    if (data->len > IPC_MAX_ACTIONS) {
        return ctl_invalid(ctx, EINVAL, "actions: more than %d bytes",
                          IPC_MAX_ACTIONS);
    }
    void *copy = ctx_memdup(ctx, data->data, data->len);
    int error = odp_actions_validate(copy, data->len, &policy, &eb);
    if (error) {
        return ctl_invalid(ctx, error, "actions: %s", eb.msg);
    }
    *copyp = copy;
    return 0;
}

/* ----- conversions -------------------------------------------------------- */

static Dpif__FlowStats *
ctl_flow_stats(struct control_ctx *ctx, const struct dpif_flow_stats *s)
{
    Dpif__FlowStats *fs;
    CTX_NEW(ctx, fs, dpif__flow_stats__init);
    fs->has_packets = fs->has_bytes = fs->has_tcp_flags = true;
    fs->packets = s->n_packets;
    fs->bytes = s->n_bytes;
    fs->tcp_flags = s->tcp_flags;
    if (s->used) {
        fs->has_used_msec = true;
        fs->used_msec = s->used;
    }
    return fs;
}

static Dpif__Flow *
ctl_flow(struct control_ctx *ctx, const struct dpif_flow *f)
{
    Dpif__Flow *flow;
    CTX_NEW(ctx, flow, dpif__flow__init);
    flow->has_ufid = flow->has_key = flow->has_actions = true;
    flow->ufid = ctx_bytes(ctx, &f->ufid, sizeof f->ufid);
    flow->key = ctx_bytes(ctx, f->key, f->key_len);
    if (f->mask_len) {
        flow->has_mask = true;
        flow->mask = ctx_bytes(ctx, f->mask, f->mask_len);
    }
    flow->actions = ctx_bytes(ctx, f->actions, f->actions_len);
    flow->stats = ctl_flow_stats(ctx, &f->stats);
    return flow;
}

/* Bytes a flow takes in a reply, generously. */
static size_t
ctl_flow_size(const struct dpif_flow *f)
{
    return f->key_len + f->mask_len + f->actions_len + sizeof f->ufid + 96;
}

/* ----- flows ---------------------------------------------------------------- */

static void
control_dump_destroy(struct control_dump *d)
{
    if (d) {
        dpif_flow_dump_thread_destroy(d->thread);
        dpif_flow_dump_destroy(d->dump);
        buf_uninit(&d->filter_key);
        buf_uninit(&d->filter_mask);
        buf_uninit(&d->held_data);
        free(d);
    }
}

/* True if 'key' matches the dump's filter: every attribute of the filter
 * key is present in 'key' with the same length, and equal in the bits that
 * the filter mask's attribute of the same type sets (all bits when the
 * mask has none). */
static bool
control_dump_matches(const struct control_dump *d, const void *key,
                     size_t key_len)
{
    const struct nlattr *fa;
    size_t left;

    const void *filter = d->filter_key.data;
    NL_ATTR_FOR_EACH (fa, left, filter, d->filter_key.size) {
        uint16_t type = nl_attr_type(fa);
        const struct nlattr *ka = nl_find_attr(key, key_len, type);
        const struct nlattr *ma = (d->filter_mask.size
                                   ? nl_find_attr(d->filter_mask.data,
                                                  d->filter_mask.size, type)
                                   : NULL);
        size_t n = nl_attr_get_size(fa);
        if (!ka || nl_attr_get_size(ka) != n) {
            return false;
        }
        if (ma && nl_attr_get_size(ma) != n) {
            ma = NULL;
        }
        const uint8_t *f = nl_attr_get(fa);
        const uint8_t *k = nl_attr_get(ka);
        const uint8_t *m = ma ? nl_attr_get(ma) : NULL;
        for (size_t i = 0; i < n; i++) {
            if ((f[i] ^ k[i]) & (m ? m[i] : 0xff)) {
                return false;
            }
        }
    }
    return true;
}

/* Copies 'f' into the dump's held slot. */
static void
control_dump_hold(struct control_dump *d, const struct dpif_flow *f)
{
    buf_clear(&d->held_data);
    size_t k = ROUND_UP(f->key_len, 8), m = ROUND_UP(f->mask_len, 8);
    uint8_t *p = buf_put_zeros(&d->held_data, k + m + f->actions_len + 8);
    memcpy(p, f->key, f->key_len);
    if (f->mask_len) {
        memcpy(p + k, f->mask, f->mask_len);
    }
    if (f->actions_len) {
        memcpy(p + k + m, f->actions, f->actions_len);
    }
    d->held_flow = *f;
    d->held_flow.key = p;
    d->held_flow.mask = p + k;
    d->held_flow.actions = p + k + m;
    d->held = true;
}

/* Starts a dump of 'dp' for the connection, replacing any earlier one. */
static int
control_dump_start(struct control_ctx *ctx, struct privd_dp *dp,
                   const Dpif__DumpFlowsRequest *r)
{
    struct ctl_paging *pg = ctx->paging;
    void *fkey = NULL, *fmask = NULL;

    if (r->has_filter_key) {
        int error = ctl_check_key(ctx, "filter_key", &r->filter_key, false,
                                  &fkey);
        if (error) {
            return error;
        }
    }
    if (r->has_filter_mask) {
        int error = ctl_check_key(ctx, "filter_mask", &r->filter_mask, false,
                                  &fmask);
        if (error) {
            return error;
        }
    }

    control_dump_destroy(pg->dump);
    pg->dump = NULL;

    struct dpif_flow_dump *dump = dpif_flow_dump_create(dp->dpif, false);
    if (!dump) {
        return errbuf_set(&ctx->eb, ENOMEM, "cannot start a flow dump");
    }
    struct control_dump *d = xzalloc(sizeof *d);
    d->dpif = dp->dpif;
    d->dump = dump;
    d->thread = dpif_flow_dump_thread_create(dump);
    buf_init(&d->filter_key, 0);
    buf_init(&d->filter_mask, 0);
    buf_init(&d->held_data, 0);
    if (fkey) {
        buf_put(&d->filter_key, fkey, r->filter_key.len);
    }
    if (fmask) {
        buf_put(&d->filter_mask, fmask, r->filter_mask.len);
    }
    pg->dump = d;
    return 0;
}

/* Takes the next flow of the dump that passes its filter: the held one
 * first.  Returns false at the end.  '*f' is valid until the next call. */
static bool
control_dump_next(struct control_dump *d, struct dpif_flow *f)
{
    if (d->held) {
        d->held = false;
        *f = d->held_flow;
        return true;
    }
    while (dpif_flow_dump_next(d->thread, f, 1) > 0) {
        if (control_dump_matches(d, f->key, f->key_len)) {
            return true;
        }
    }
    return false;
}

static int
ctl_dump_flows(struct control_ctx *ctx, const Dpif__Request *rq,
               Dpif__Reply *rp)
{
    const Dpif__DumpFlowsRequest *r = rq->dump_flows;
    struct ctl_paging *pg = ctx->paging;
    struct privd_dp *dp;
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (error) {
        return error;
    }

    size_t max_flows = IPC_MAX_DUMP_FLOWS;
    if (r->has_max_flows) {
        if (!r->max_flows || r->max_flows > IPC_MAX_DUMP_FLOWS) {
            return ctl_invalid(ctx, EINVAL, "max_flows: expected 1 to "
                              "%d", IPC_MAX_DUMP_FLOWS);
        }
        max_flows = r->max_flows;
    }

    if (r->has_cursor) {
        uint64_t cursor;
        if (r->cursor.len != sizeof cursor) {
            return ctl_invalid(ctx, EINVAL, "cursor: expected %zu "
                              "bytes", sizeof cursor);
        }
        memcpy(&cursor, r->cursor.data, sizeof cursor);
        if (!pg->dump || pg->dump->cursor != cursor
            || pg->dump->dpif != dp->dpif) {
            return ctl_invalid(ctx, EINVAL, "cursor: not the one of the "
                              "dump in progress on %s (start again without "
                              "a cursor)", r->dp);
        }
    } else {
        error = control_dump_start(ctx, dp, r);
        if (error) {
            return error;
        }
    }

    struct control_dump *d = pg->dump;
    Dpif__DumpFlowsReply *out;
    size_t used = 0;
    struct dpif_flow f;

    CTX_NEW(ctx, out, dpif__dump_flows_reply__init);
    while (control_dump_next(d, &f)) {
        size_t size = ctl_flow_size(&f);
        if (out->n_flows >= max_flows
            || (out->n_flows && used + size > ctx->budget)) {
            control_dump_hold(d, &f);
            break;
        }
        used += size;
        CTX_APPEND(ctx, out->flows, out->n_flows, ctl_flow(ctx, &f));
    }
    out->more = d->held;
    if (d->held) {
        d->cursor = ++pg->next_cursor;
        out->has_cursor = true;
        out->cursor = ctx_bytes(ctx, &d->cursor, sizeof d->cursor);
    } else {
        control_dump_destroy(d);
        pg->dump = NULL;
    }
    rp->result_case = DPIF__REPLY__RESULT_DUMP_FLOWS;
    rp->dump_flows = out;
    return 0;
}

/* Checks and converts the common fields of add-flow and mod-flow. */
static int
ctl_flow_put_args(struct control_ctx *ctx, struct privd_dp *dp,
                  const ProtobufCBinaryData *key, protobuf_c_boolean has_mask,
                  const ProtobufCBinaryData *mask,
                  const ProtobufCBinaryData *actions,
                  protobuf_c_boolean has_ufid,
                  const ProtobufCBinaryData *ufid_data, union ufid *ufid,
                  struct dpif_flow_put *put)
{
    void *k, *m = NULL, *a;
    int error = ctl_check_key(ctx, "key", key, true, &k);
    if (!error && has_mask) {
        error = ctl_check_key(ctx, "mask", mask, false, &m);
    }
    if (!error) {
        error = ctl_check_actions(ctx, dp, actions, &a);
    }
    if (!error && has_ufid) {
        error = ctl_check_ufid(ctx, ufid_data, ufid);
    }
    if (!error) {
        error = ctl_check_flow_key(ctx, k, key->len,
                                   m && mask->len ? m : NULL,
                                   m ? mask->len : 0);
    }
    if (error) {
        return error;
    }
    size_t mask_len = m ? mask->len : 0;
    if (!has_ufid) {
        ufid_from_key(k, key->len, m, mask_len, ufid);
    }
    memset(put, 0, sizeof *put);
    put->key = k;
    put->key_len = key->len;
    put->mask = mask_len ? m : NULL;
    put->mask_len = mask_len;
    put->actions = a;
    put->actions_len = actions->len;
    put->ufid = ufid;
    return 0;
}

static int
ctl_add_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__AddFlowRequest *r = rq->add_flow;
    struct dpif_flow_put put;
    struct privd_dp *dp;
    union ufid ufid;

    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_put_args(ctx, dp, &r->key, r->has_mask, &r->mask,
                                  &r->actions, r->has_ufid, &r->ufid, &ufid,
                                  &put);
    }
    if (error) {
        return error;
    }
    put.flags = DPIF_FP_CREATE;
    error = dpif_flow_put(dp->dpif, &put);
    if (error) {
        return errbuf_set(&ctx->eb, error, "%s",
                          error == EEXIST ? "the flow exists already"
                          : strerror(error));
    }
    Dpif__AddFlowReply *out;
    CTX_NEW(ctx, out, dpif__add_flow_reply__init);
    out->ufid = ctx_bytes(ctx, &ufid, sizeof ufid);
    rp->result_case = DPIF__REPLY__RESULT_ADD_FLOW;
    rp->add_flow = out;
    return 0;
}

static int
ctl_mod_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__ModFlowRequest *r = rq->mod_flow;
    struct dpif_flow_stats stats;
    struct dpif_flow_put put;
    struct privd_dp *dp;
    union ufid ufid;

    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_put_args(ctx, dp, &r->key, r->has_mask, &r->mask,
                                  &r->actions, r->has_ufid, &r->ufid, &ufid,
                                  &put);
    }
    if (error) {
        return error;
    }
    memset(&stats, 0, sizeof stats);
    put.flags = (DPIF_FP_MODIFY
                 | (r->has_may_create && r->may_create ? DPIF_FP_CREATE : 0)
                 | (r->has_zero_stats && r->zero_stats
                    ? DPIF_FP_ZERO_STATS : 0));
    put.stats = &stats;
    error = dpif_flow_put(dp->dpif, &put);
    if (error) {
        return errbuf_set(&ctx->eb, error, "%s",
                          error == ENOENT ? "no such flow" : strerror(error));
    }
    Dpif__ModFlowReply *out;
    CTX_NEW(ctx, out, dpif__mod_flow_reply__init);
    out->stats = ctl_flow_stats(ctx, &stats);
    rp->result_case = DPIF__REPLY__RESULT_MOD_FLOW;
    rp->mod_flow = out;
    return 0;
}

/* The flow identity of get-flow and del-flow: a key or a UFID. */
static int
ctl_flow_id(struct control_ctx *ctx, bool by_key, bool by_ufid,
            const ProtobufCBinaryData *key, const ProtobufCBinaryData *ufid_data,
            const void **keyp, size_t *key_lenp, union ufid *ufid,
            const union ufid **ufidp)
{
    void *k;
    int error;

    if (by_key) {
        error = ctl_check_key(ctx, "key", key, true, &k);
        if (!error) {
            error = ctl_check_flow_key(ctx, k, key->len, NULL, 0);
        }
        if (!error) {
            *keyp = k;
            *key_lenp = key->len;
            *ufidp = NULL;
        }
    } else if (by_ufid) {
        error = ctl_check_ufid(ctx, ufid_data, ufid);
        if (!error) {
            *keyp = NULL;
            *key_lenp = 0;
            *ufidp = ufid;
        }
    } else {
        error = ctl_invalid(ctx, EINVAL, "give a flow key or a ufid");
    }
    return error;
}

static int
ctl_get_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__GetFlowRequest *r = rq->get_flow;
    struct dpif_flow_get get;
    struct dpif_flow flow;
    struct privd_dp *dp;
    union ufid ufid;
    struct buf buffer;

    memset(&get, 0, sizeof get);
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_id(ctx, r->id_case == DPIF__GET_FLOW_REQUEST__ID_KEY,
                            r->id_case == DPIF__GET_FLOW_REQUEST__ID_UFID,
                            &r->key, &r->ufid, &get.key, &get.key_len, &ufid,
                            &get.ufid);
    }
    if (error) {
        return error;
    }
    buf_init(&buffer, 0);
    get.buffer = &buffer;
    get.flow = &flow;
    error = dpif_flow_get(dp->dpif, &get);
    if (error) {
        buf_uninit(&buffer);
        return errbuf_set(&ctx->eb, error, "%s",
                          error == ENOENT ? "no such flow" : strerror(error));
    }
    Dpif__GetFlowReply *out;
    CTX_NEW(ctx, out, dpif__get_flow_reply__init);
    out->flow = ctl_flow(ctx, &flow);
    buf_uninit(&buffer);
    rp->result_case = DPIF__REPLY__RESULT_GET_FLOW;
    rp->get_flow = out;
    return 0;
}

static int
ctl_del_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__DelFlowRequest *r = rq->del_flow;
    struct dpif_flow_stats stats;
    struct dpif_flow_del del;
    struct privd_dp *dp;
    union ufid ufid;

    memset(&del, 0, sizeof del);
    memset(&stats, 0, sizeof stats);
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_id(ctx, r->id_case == DPIF__DEL_FLOW_REQUEST__ID_KEY,
                            r->id_case == DPIF__DEL_FLOW_REQUEST__ID_UFID,
                            &r->key, &r->ufid, &del.key, &del.key_len, &ufid,
                            &del.ufid);
    }
    if (error) {
        return error;
    }
    del.stats = &stats;
    error = dpif_flow_del(dp->dpif, &del);
    if (error) {
        return errbuf_set(&ctx->eb, error, "%s",
                          error == ENOENT ? "no such flow" : strerror(error));
    }
    Dpif__DelFlowReply *out;
    CTX_NEW(ctx, out, dpif__del_flow_reply__init);
    out->stats = ctl_flow_stats(ctx, &stats);
    rp->result_case = DPIF__REPLY__RESULT_DEL_FLOW;
    rp->del_flow = out;
    return 0;
}

static int
ctl_del_flows(struct control_ctx *ctx, const Dpif__Request *rq,
              Dpif__Reply *rp)
{
    struct dpif_dp_stats stats;
    struct privd_dp *dp;
    int error = ctl_find_dp(ctx, rq->del_flows->dp, &dp);
    if (error) {
        return error;
    }
    bool counted = !dpif_get_dp_stats(dp->dpif, &stats);
    error = dpif_flow_flush(dp->dpif);
    if (error) {
        return errbuf_set(&ctx->eb, error, "flushing flows: %s",
                          strerror(error));
    }
    /* The ukeys of the flushed flows go too (the next cycle is a purge),
     * so that none is left stale. */
    struct dump_pump *pump = ctl_pump_of(ctx->privd, dp->dpif);
    if (pump) {
        dump_pump_request(pump, true, NULL, NULL);
    }
    Dpif__DelFlowsReply *out;
    CTX_NEW(ctx, out, dpif__del_flows_reply__init);
    out->has_n_deleted = counted;
    out->n_deleted = counted ? stats.n_flows : 0;
    rp->result_case = DPIF__REPLY__RESULT_DEL_FLOWS;
    rp->del_flows = out;
    return 0;
}

void
ctl_paging_forget_dp(struct ctl_paging *pg, const struct dpif *dpif)
{
    if (pg->dump && pg->dump->dpif == dpif) {
        ctl_paging_end(pg);
    }
}

void
ctl_paging_end(struct ctl_paging *pg)
{
    control_dump_destroy(pg->dump);
    pg->dump = NULL;
}

static const struct control_command ctl_flow_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(DUMP_FLOWS, "dump-flows", READ, ctl_dump_flows),
    CMD(ADD_FLOW, "add-flow", WRITE, ctl_add_flow),
    CMD(MOD_FLOW, "mod-flow", WRITE, ctl_mod_flow),
    CMD(GET_FLOW, "get-flow", READ, ctl_get_flow),
    CMD(DEL_FLOW, "del-flow", WRITE, ctl_del_flow),
    CMD(DEL_FLOWS, "del-flows", WRITE, ctl_del_flows),
#undef CMD
};

const struct ctl_command_group ctl_flow_group = {
    ctl_flow_commands, ARRAY_SIZE(ctl_flow_commands),
};
