/*
 * revalidator.c — the state of one dpif-revald and its message handling
 * (revald/revalidator.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/policy.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "common/worker.h"
#include "proto/worker.pb-c.h"
#include "revald/revalidate.h"
#include "revald/revalidator.h"

LOG_MODULE(revald);

COUNTER_DEFINE(reval_dump_shards);
COUNTER_DEFINE(reval_dumped_flows);
COUNTER_DEFINE(reval_announced_flows);
COUNTER_DEFINE(reval_dumps_acked);
COUNTER_DEFINE(reval_policy_updates);
COUNTER_DEFINE(reval_policy_rejected);
COUNTER_DEFINE(reval_bad_flow);
COUNTER_DEFINE(reval_stray_results);

/* A batch sent (or waiting to be sent) to privd. */
struct revald_slot {
    bool used;                  /* Slot holds a batch. */
    bool sent;                  /* Submitted; waiting for results. */
    uint64_t batch_id;          /* Its id. */
    struct reval_batch batch;   /* The ops. */
};

struct revald {
    struct worker *w;           /* Borrowed: the process skeleton. */
    struct revalidator r;       /* The ukeys and revalidation logic. */
    struct mac_table *macs;     /* Owned mapping, or NULL. */
    uint64_t next_batch_id;     /* Id of the last OpBatch taken. */
    struct revald_slot slots[REVALD_MAX_IN_FLIGHT]; /* Batches in flight. */
    bool ack_pending;           /* end_of_dump seen, DumpAck not sent. */
    uint64_t ack_seq;           /* Its dump_seq. */
};

static void
revald_gauges(worker_gauge_add_func *add, void *report, void *aux)
{
    const struct revald *rd = aux;
    add("ukeys", rd->r.ukeys.n, report);
    add("ukey_bytes", rd->r.ukeys.n * ukey_overhead_bytes(), report);
}

/* Converts a Flow from privd into 'f'.  Returns false if it lacks a UFID
 * or key. */
static bool
revald_flow_from_msg(const Dpif__Flow *m, struct reval_flow *f)
{
    memset(f, 0, sizeof *f);
    if (!m->has_ufid || m->ufid.len != sizeof f->ufid || !m->has_key
        || !m->key.len) {
        COUNTER_INC(reval_bad_flow);
        return false;
    }
    memcpy(&f->ufid, m->ufid.data, sizeof f->ufid);
    f->key = m->key.data;
    f->key_len = m->key.len;
    if (m->has_mask) {
        f->mask = m->mask.data;
        f->mask_len = m->mask.len;
    }
    if (m->has_actions) {
        f->actions = m->actions.data;
        f->actions_len = m->actions.len;
    }
    if (m->stats) {
        f->stats.n_packets = m->stats->packets;
        f->stats.n_bytes = m->stats->bytes;
        f->stats.used = m->stats->used_msec;
        f->stats.tcp_flags = (uint16_t) m->stats->tcp_flags;
    }
    return true;
}

static void
revald_handle_policy(struct revald *rd, const struct ipc_msg *m)
{
    const Dpif__PolicyUpdate *u = (const Dpif__PolicyUpdate *) m->msg;
    struct errbuf eb = { "" };
    struct policy_table *table;
    const char *text = u->rules_text;
    size_t len = text ? strlen(text) : 0;
    void *map = NULL;

    COUNTER_INC(reval_policy_updates);
    if (!text && u->has_rules_memfd && u->has_rules_size
        && u->rules_memfd < m->n_fds && u->rules_size <= IPC_MAX_RULES_MEMFD
        && u->rules_size) {
        map = mmap(NULL, u->rules_size, PROT_READ, MAP_SHARED,
                   m->fds[u->rules_memfd], 0);
        if (map == MAP_FAILED) {
            map = NULL;
        } else {
            text = map;
            len = u->rules_size;
        }
    }
    int error = text ? policy_parse(text, len, "rules", u->generation,
                                    &table, &eb)
                     : (table = policy_table_create_empty(u->generation), 0);
    if (map) {
        munmap(map, u->rules_size);
    }
    if (error) {
        COUNTER_INC(reval_policy_rejected);
        LOG_ERR("policy generation %llu rejected: %s",
                (unsigned long long) u->generation, eb.msg);
        return;
    }
    revalidator_set_policy(&rd->r, table, u->ports, u->n_ports);
}

static void
revald_handle_shard(struct revald *rd, const Dpif__DumpShard *s)
{
    const struct worker_config *cfg = worker_get_config(rd->w);
    struct status_page_values st;
    long long now = time_msec();

    COUNTER_INC(reval_dump_shards);
    worker_get_status(rd->w, &st);
    struct reval_params p = {
        .dump_seq = s->dump_seq,
        .n_flows = st.flow_count,
        .flow_limit = st.flow_limit,
        .dump_duration_msec = (long long) st.dump_duration_msec,
        .max_idle_msec = cfg->max_idle_msec,
        .purge = s->has_purge && s->purge,
    };
    reval_dump_begin(&rd->r, &p);
    for (size_t i = 0; i < s->n_flows; i++) {
        struct reval_flow f;
        if (revald_flow_from_msg(s->flows[i], &f)) {
            reval_flow_dumped(&rd->r, &f, now);
        }
    }
    COUNTER_ADD(reval_dumped_flows, s->n_flows);
    if (s->has_end_of_dump && s->end_of_dump) {
        reval_dump_end(&rd->r, now);
        rd->ack_pending = true;
        rd->ack_seq = s->dump_seq;
    }
}

static void
revald_handle_announcement(struct revald *rd,
                           const Dpif__FlowAnnouncement *a)
{
    long long now = time_msec();

    COUNTER_ADD(reval_announced_flows, a->n_flows);
    for (size_t i = 0; i < a->n_flows; i++) {
        struct reval_flow f;
        if (revald_flow_from_msg(a->flows[i], &f)) {
            reval_flow_announced(&rd->r, &f, a->policy_generation, now);
        }
    }
}

static void
revald_handle_results(struct revald *rd, const Dpif__OpResults *res)
{
    struct revald_slot *slot = NULL;

    for (size_t i = 0; i < REVALD_MAX_IN_FLIGHT; i++) {
        if (rd->slots[i].used && rd->slots[i].sent
            && rd->slots[i].batch_id == res->batch_id) {
            slot = &rd->slots[i];
        }
    }
    if (!slot) {
        COUNTER_INC(reval_stray_results);
        return;
    }

    size_t n = MIN(res->n_results, slot->batch.n_ops);
    struct reval_result *results = xcalloc(n ? n : 1, sizeof *results);
    struct reval_flow *flows = xcalloc(n ? n : 1, sizeof *flows);
    for (size_t i = 0; i < n; i++) {
        const Dpif__OpResult *r = res->results[i];
        results[i].error = (int) r->error;
        if (r->stats) {
            results[i].has_stats = true;
            results[i].stats.n_packets = r->stats->packets;
            results[i].stats.n_bytes = r->stats->bytes;
            results[i].stats.used = r->stats->used_msec;
            results[i].stats.tcp_flags = (uint16_t) r->stats->tcp_flags;
        }
        if (!r->error && r->flow && revald_flow_from_msg(r->flow, &flows[i])) {
            results[i].flow = &flows[i];
        }
    }
    /* A batch refused as a whole has one result: it applies to every op. */
    if (res->n_results == 1 && slot->batch.n_ops > 1 && results[0].error) {
        n = 1;
    }
    reval_batch_done(&rd->r, &slot->batch, results, n, time_msec());
    free(results);
    free(flows);
    slot->used = slot->sent = false;
}

/* Builds and submits the OpBatch of 'slot'.  Returns 0, ENOBUFS (retry
 * later) or another error. */
static int
revald_submit(struct revald *rd, struct revald_slot *slot,
              struct errbuf *eb)
{
    size_t n = slot->batch.n_ops;
    Dpif__Op *ops = xcalloc(n, sizeof *ops);
    Dpif__Op **opp = xcalloc(n, sizeof *opp);
    Dpif__FlowDel *dels = xcalloc(n, sizeof *dels);
    Dpif__FlowPut *puts = xcalloc(n, sizeof *puts);
    Dpif__FlowGet *gets = xcalloc(n, sizeof *gets);
    Dpif__OpBatch b = DPIF__OP_BATCH__INIT;

    for (size_t i = 0; i < n; i++) {
        struct reval_op *op = &slot->batch.ops[i];
        ProtobufCBinaryData ufid = { sizeof op->ufid, (uint8_t *) &op->ufid };

        dpif__op__init(&ops[i]);
        opp[i] = &ops[i];
        switch (op->type) {
        case REVAL_OP_DEL:
            dpif__flow_del__init(&dels[i]);
            dels[i].id_case = DPIF__FLOW_DEL__ID_UFID;
            dels[i].ufid = ufid;
            dels[i].has_want_stats = dels[i].want_stats = true;
            ops[i].op_case = DPIF__OP__OP_FLOW_DEL;
            ops[i].flow_del = &dels[i];
            break;
        case REVAL_OP_MODIFY:
            dpif__flow_put__init(&puts[i]);
            puts[i].key.data = op->key;
            puts[i].key.len = op->key_len;
            puts[i].has_mask = op->mask_len > 0;
            puts[i].mask.data = op->mask;
            puts[i].mask.len = op->mask_len;
            puts[i].actions.data = op->actions;
            puts[i].actions.len = op->actions_len;
            puts[i].ufid = ufid;
            puts[i].has_modify = puts[i].modify = true;
            puts[i].has_want_stats = puts[i].want_stats = true;
            ops[i].op_case = DPIF__OP__OP_FLOW_PUT;
            ops[i].flow_put = &puts[i];
            break;
        case REVAL_OP_GET:
            dpif__flow_get__init(&gets[i]);
            gets[i].id_case = DPIF__FLOW_GET__ID_UFID;
            gets[i].ufid = ufid;
            ops[i].op_case = DPIF__OP__OP_FLOW_GET;
            ops[i].flow_get = &gets[i];
            break;
        }
    }
    b.batch_id = slot->batch_id;
    b.ops = opp;
    b.n_ops = n;
    int error = worker_submit_ops(rd->w, &b, eb);
    free(ops);
    free(opp);
    free(dels);
    free(puts);
    free(gets);
    return error;
}

/* Sends what can be sent: unsent batches first, then new ones. */
static int
revald_flush(struct revald *rd, struct errbuf *eb)
{
    const struct worker_config *cfg = worker_get_config(rd->w);

    for (size_t i = 0; i < REVALD_MAX_IN_FLIGHT; i++) {
        struct revald_slot *slot = &rd->slots[i];

        if (!slot->used) {
            if (!reval_take_batch(&rd->r, cfg->batch_size, &slot->batch)) {
                continue;
            }
            slot->used = true;
            slot->sent = false;
            slot->batch_id = ++rd->next_batch_id;
        }
        if (!slot->sent) {
            int error = revald_submit(rd, slot, eb);
            if (error == ENOBUFS) {
                return 0;
            } else if (error) {
                return error;
            }
            slot->sent = true;
        }
    }
    return 0;
}

/* Sends the DumpAck once the cycle's ops are all answered. */
static int
revald_maybe_ack(struct revald *rd, struct errbuf *eb)
{
    if (!rd->ack_pending || !reval_cycle_done(&rd->r)) {
        return 0;
    }

    struct reval_cycle_stats cs = reval_cycle_finish(&rd->r);
    struct reval_credit *cr = xcalloc(IPC_MAX_COUNTERS, sizeof *cr);
    size_t n = reval_take_credits(&rd->r, cr, IPC_MAX_COUNTERS);
    Dpif__RuleCredit *msgs = xcalloc(n ? n : 1, sizeof *msgs);
    Dpif__RuleCredit **ptrs = xcalloc(n ? n : 1, sizeof *ptrs);
    Dpif__DumpAck ack = DPIF__DUMP_ACK__INIT;

    for (size_t i = 0; i < n; i++) {
        dpif__rule_credit__init(&msgs[i]);
        msgs[i].generation = cr[i].generation;
        msgs[i].rule_id = cr[i].rule_id;
        msgs[i].packets = cr[i].packets;
        msgs[i].bytes = cr[i].bytes;
        ptrs[i] = &msgs[i];
    }
    ack.dump_seq = rd->ack_seq;
    ack.has_n_flows = ack.has_n_deleted = ack.has_n_modified = true;
    ack.n_flows = rd->r.ukeys.n;
    ack.n_deleted = cs.n_deleted;
    ack.n_modified = cs.n_modified;
    ack.credits = ptrs;
    ack.n_credits = n;
    int error = worker_send(rd->w, IPC_DUMP_ACK, &ack.base, eb);
    free(ptrs);
    free(msgs);
    free(cr);
    rd->ack_pending = false;
    COUNTER_INC(reval_dumps_acked);
    return error;
}

static void
revald_dispatch(struct revald *rd, struct ipc_msg *m)
{
    switch (m->hdr.type) {
    case IPC_DUMP_SHARD:
        revald_handle_shard(rd, (const Dpif__DumpShard *) m->msg);
        break;
    case IPC_FLOW_ANNOUNCEMENT:
        revald_handle_announcement(rd, (const void *) m->msg);
        break;
    case IPC_POLICY_UPDATE:
        revald_handle_policy(rd, m);
        break;
    case IPC_OP_RESULTS:
        revald_handle_results(rd, (const Dpif__OpResults *) m->msg);
        break;
    default:
        break;
    }
}

/* Maps the MAC table privd passed, writable for the stats push's refresh
 * (see the file comment), read-only if that is refused. */
static void
revald_attach_mac_table(struct revald *rd)
{
    struct errbuf eb = { "" };
    uint64_t size;
    int fd = worker_get_mac_table(rd->w, &size);

    if (fd < 0) {
        return;
    }
    if (mac_table_attach(fd, true, &rd->macs, &eb)) {
        LOG_WARN("MAC table not writable (%s): no MAC refresh on stats "
                 "push", eb.msg);
        if (mac_table_attach(fd, false, &rd->macs, &eb)) {
            LOG_ERR("MAC table: %s", eb.msg);
            rd->macs = NULL;
        }
    }
    revalidator_set_mac_table(&rd->r, rd->macs);
}

int
revald_create(struct worker *w, struct revald **rdp)
{
    const struct worker_config *cfg = worker_get_config(w);
    struct revald *rd = xcalloc(1, sizeof *rd);

    rd->w = w;
    revalidator_init(&rd->r, worker_get_id(w), cfg->n_revalidators,
                     cfg->batch_size);
    revald_attach_mac_table(rd);
    worker_set_gauges(w, revald_gauges, rd);
    *rdp = rd;
    return 0;
}

void
revald_destroy(struct revald *rd)
{
    if (!rd) {
        return;
    }
    for (size_t i = 0; i < REVALD_MAX_IN_FLIGHT; i++) {
        if (rd->slots[i].used) {
            reval_batch_abandon(&rd->r, &rd->slots[i].batch);
        }
    }
    revalidator_destroy(&rd->r);
    mac_table_close(rd->macs);
    free(rd);
}

/* Sends what is ready: OpBatches, then the DumpAck. */
static int
revald_send(struct revald *rd, struct errbuf *eb)
{
    int error = revald_flush(rd, eb);
    return error ? error : revald_maybe_ack(rd, eb);
}

int
revald_handle_msg(struct revald *rd, struct ipc_msg *m, struct errbuf *eb)
{
    revald_dispatch(rd, m);
    ipc_msg_destroy(m);
    return revald_send(rd, eb);
}

int
revald_run(struct revald *rd, struct errbuf *eb)
{
    int error = revald_send(rd, eb);

    /* ENOBUFS: the DumpAck did not fit the socket: retry after wait. */
    return error == ENOBUFS || error == EAGAIN ? 0 : error;
}
