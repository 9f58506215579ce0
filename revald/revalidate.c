/*
 * revalidate.c — the revalidator's decisions (revalidate.h).
 */
#include "revald/revalidate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/flow.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/policy.h"
#include "common/xlate.h"

LOG_MODULE(revalidate);

COUNTER_DEFINE(ukey_created_announced);
COUNTER_DEFINE(ukey_created_adopted);
COUNTER_DEFINE(ukey_dp_change);
COUNTER_DEFINE(reval_idle_deleted);
COUNTER_DEFINE(reval_limit_deleted);
COUNTER_DEFINE(reval_should_not_revalidate);
COUNTER_DEFINE(reval_xlate_failed);
COUNTER_DEFINE(reval_mask_wider);
COUNTER_DEFINE(reval_actions_changed);
COUNTER_DEFINE(reval_modified);
COUNTER_DEFINE(reval_deleted);
COUNTER_DEFINE(reval_dump_busy_skipped);
COUNTER_DEFINE(revalidate_missed_dp_flow);
COUNTER_DEFINE(reval_missed_gone);
COUNTER_DEFINE(reval_op_failed);
COUNTER_DEFINE(reval_modify_failed);
COUNTER_DEFINE(reval_purged);
COUNTER_DEFINE(reval_mac_refreshed);

void
revalidator_init(struct revalidator *r, unsigned int shard,
                 unsigned int n_shards, unsigned int batch_size)
{
    memset(r, 0, sizeof *r);
    ukey_table_init(&r->ukeys);
    r->shard = shard;
    r->n_shards = n_shards ? n_shards : 1;
    r->batch_size = batch_size ? batch_size : 50;
    /* The first cycle translates everything (no ukey has a cache yet, and
     * adopted flows may come from another policy). */
    r->xlate_generation = 1;
}

static void
reval_op_free(struct reval_op *op)
{
    free(op->key);
    free(op->mask);
    free(op->actions);
}

void
revalidator_destroy(struct revalidator *r)
{
    for (size_t i = r->queue_head; i < r->n_queued; i++) {
        reval_op_free(&r->queue[i]);
    }
    free(r->queue);
    free(r->credits);
    free(r->ports);
    policy_table_destroy(r->policy);
    ukey_table_destroy(&r->ukeys);
}

void
revalidator_set_policy(struct revalidator *r, struct policy_table *table,
                       const uint32_t *ports, size_t n_ports)
{
    policy_table_destroy(r->policy);
    r->policy = table;
    free(r->ports);
    r->ports = n_ports ? xmemdup(ports, n_ports * sizeof *ports) : NULL;
    r->n_ports = n_ports;
    r->xlate_generation++;
}

void
revalidator_set_mac_table(struct revalidator *r, struct mac_table *macs)
{
    r->macs = macs;
    r->mac_changes = macs ? mac_table_changes(macs) : 0;
}

/* ----- op queue ------------------------------------------------------------ */

static struct reval_op *
reval_queue_op(struct revalidator *r, enum reval_op_type type,
               struct ukey *u)
{
    if (r->queue_head && r->queue_head == r->n_queued) {
        r->queue_head = r->n_queued = 0;
    }
    if (r->n_queued == r->queue_cap) {
        r->queue_cap = r->queue_cap ? r->queue_cap * 2 : 64;
        r->queue = xrealloc(r->queue, r->queue_cap * sizeof *r->queue);
    }
    struct reval_op *op = &r->queue[r->n_queued++];
    memset(op, 0, sizeof *op);
    op->type = type;
    op->ufid = u->ufid;
    u->busy = true;
    return op;
}

size_t
reval_n_queued(const struct revalidator *r)
{
    return r->n_queued - r->queue_head;
}

bool
reval_take_batch(struct revalidator *r, size_t max, struct reval_batch *b)
{
    size_t n = MIN(MIN(max, (size_t) r->batch_size), reval_n_queued(r));

    if (!n) {
        return false;
    }
    b->ops = xmemdup(&r->queue[r->queue_head], n * sizeof *b->ops);
    b->n_ops = n;
    r->queue_head += n;
    r->n_in_flight += n;
    return true;
}

/* ----- side effects -------------------------------------------------------- */

static void
reval_credit(struct revalidator *r, uint64_t generation, uint32_t rule_id,
             uint64_t packets, uint64_t bytes)
{
    if (!packets && !bytes) {
        return;
    }
    if (r->policy && r->policy->generation == generation) {
        policy_table_credit(r->policy, rule_id, packets, bytes);
    }
    /* Few distinct rules see traffic in one cycle: a linear scan over the
     * cycle's credits is cheaper than hashing. */
    for (size_t i = 0; i < r->n_credits; i++) {
        struct reval_credit *c = &r->credits[i];
        if (c->rule_id == rule_id && c->generation == generation) {
            c->packets += packets;
            c->bytes += bytes;
            return;
        }
    }
    if (r->n_credits == r->credits_cap) {
        r->credits_cap = r->credits_cap ? r->credits_cap * 2 : 16;
        r->credits = xrealloc(r->credits,
                              r->credits_cap * sizeof *r->credits);
    }
    r->credits[r->n_credits++] = (struct reval_credit) {
        generation, rule_id, packets, bytes,
    };
}

size_t
reval_take_credits(struct revalidator *r, struct reval_credit *out,
                   size_t max)
{
    size_t n = MIN(max, r->n_credits);

    if (!n) {
        return 0;
    }
    memcpy(out, r->credits, n * sizeof *out);
    memmove(r->credits, r->credits + n,
            (r->n_credits - n) * sizeof *r->credits);
    r->n_credits -= n;
    return n;
}

/* The installed actions' first USERSPACE pid: a slow-pathed flow's
 * re-translation must name the same handler channel to compare equal. */
static uint32_t
reval_upcall_pid(const void *actions, size_t len)
{
    const struct nlattr *a;
    size_t left;

    ODP_ACTIONS_FOR_EACH (a, left, actions, len) {
        if (odp_action_type(a) == OVS_ACTION_ATTR_USERSPACE) {
            struct odp_userspace us;
            odp_action_get_userspace(a, &us);
            return us.pid;
        }
    }
    return 0;
}

/* Translates the flow of 'u' (installed 'actions') into 'xout' and refreshes
 * the ukey's cache.  Returns 0 or an errno (the key does not decode, or the
 * translation failed). */
static int
reval_translate(struct revalidator *r, struct ukey *u, const void *actions,
                size_t actions_len, long long now, struct flow *flow,
                struct xlate_out *xout)
{
    struct errbuf eb = { "" };

    if (odp_key_to_flow(u->key, u->key_len, flow, &eb) == ODP_FIT_ERROR) {
        return EINVAL;
    }
    struct xlate_in xin = {
        .flow = flow,
        .table = r->policy,
        .ports = r->ports,
        .n_ports = r->n_ports,
        .macs = r->macs,
        .upcall_pid = reval_upcall_pid(actions, actions_len),
        .now_msec = now,
    };
    int error = xlate_translate(&xin, xout, &eb);
    if (error) {
        return error;
    }
    u->xc.valid = true;
    u->xc.generation = r->policy ? r->policy->generation : 0;
    u->xc.rule_id = xout->rule_id;
    u->xc.learn = xout->learn;
    return 0;
}

/* Pushes 'packets'/'bytes' of 'u' to the side effects: the rule counters,
 * and a MAC learning refresh if packets passed (the seeds' may_learn). */
static void
reval_push_stats(struct revalidator *r, struct ukey *u, uint64_t packets,
                 uint64_t bytes, long long now)
{
    if (!packets && !bytes) {
        return;
    }
    if (!u->xc.valid && r->policy) {
        struct xlate_out xout;
        struct flow flow;

        xlate_out_init(&xout);
        if (reval_translate(r, u, u->actions, u->actions_len, now, &flow,
                            &xout)) {
            COUNTER_INC(reval_xlate_failed);
        }
        xlate_out_uninit(&xout);
    }
    if (!u->xc.valid) {
        reval_credit(r, 0, POLICY_RULE_DEFAULT, packets, bytes);
        return;
    }
    reval_credit(r, u->xc.generation, u->xc.rule_id, packets, bytes);
    if (packets && u->xc.learn.valid && r->macs
        && !mac_table_learn(r->macs, u->xc.learn.mac, u->xc.learn.vlan,
                            u->xc.learn.port, now, NULL)) {
        COUNTER_INC(reval_mac_refreshed);
    }
}

static uint64_t
reval_delta(uint64_t now, uint64_t base)
{
    return now > base ? now - base : 0;
}

/* Pushes the part of 'stats' beyond the ukey's baseline and makes 'stats'
 * the new baseline. */
static void
reval_push_delta(struct revalidator *r, struct ukey *u,
                 const struct ukey_stats *stats, long long now)
{
    uint64_t packets = reval_delta(stats->n_packets, u->stats.n_packets);
    uint64_t bytes = reval_delta(stats->n_bytes, u->stats.n_bytes);

    reval_push_stats(r, u, packets, bytes, now);
    u->stats.n_packets = MAX(u->stats.n_packets, stats->n_packets);
    u->stats.n_bytes = MAX(u->stats.n_bytes, stats->n_bytes);
    u->stats.used = MAX(u->stats.used, stats->used);
    u->stats.tcp_flags |= stats->tcp_flags;
}

/* ----- decisions ----------------------------------------------------------- */

bool
reval_should_revalidate(long long dump_duration_msec, uint64_t packets,
                        long long used, long long now)
{
    if (dump_duration_msec < 200) {
        /* Full revalidation is affordable. */
        return true;
    }
    /* Mean time between packets since the flow was last used: above 200 ms
     * (under ~5 packets/s) deleting is cheaper than re-translating. */
    packets = MAX(packets, 1);
    now = MAX(used, now);
    long long metric = (long long) ((uint64_t) (now - used) / packets);
    return metric < 200;
}

enum reval_verdict
revalidate_ukey(struct revalidator *r, struct ukey *u,
                const struct reval_flow *f, long long now,
                struct buf *new_actions)
{
    long long last_used = u->stats.used;
    uint64_t packets = reval_delta(f->stats.n_packets, u->stats.n_packets);
    /* Before the first PolicyUpdate there is nothing to check against:
     * flows are kept and only their stats are pushed. */
    bool need = r->policy
                && (r->need_revalidate
                    || u->checked_generation != r->xlate_generation);

    if (need && last_used
        && !reval_should_revalidate(r->params.dump_duration_msec, packets,
                                    last_used, now)) {
        COUNTER_INC(reval_should_not_revalidate);
        return REVAL_DELETE;
    }

    /* The packets passed under the old translation: push them to the rule
     * of the ukey's cache before re-translating. */
    reval_push_delta(r, u, &f->stats, now);
    if (!need) {
        return REVAL_KEEP;
    }

    struct xlate_out xout;
    struct flow flow, dp_mask, want;
    struct errbuf eb = { "" };
    enum reval_verdict verdict = REVAL_DELETE;

    xlate_out_init(&xout);
    if (reval_translate(r, u, f->actions, f->actions_len, now, &flow,
                        &xout)) {
        COUNTER_INC(reval_xlate_failed);
        goto out;
    }
    if (!f->mask_len) {
        odp_mask_exact(&flow, &dp_mask);
    } else if (odp_mask_to_flow(f->mask, f->mask_len, &flow, &dp_mask, &eb)
               == ODP_FIT_ERROR) {
        COUNTER_INC(reval_xlate_failed);
        goto out;
    }
    /* The datapath ignores wildcarded bits it cannot wildcard and tightens
     * prerequisites: compare with the mask it would have enforced for the
     * new translation, and keep the flow only if the installed one is at
     * least as specific (it then catches no packet it should not). */
    odp_mask_normalize(&flow, &xout.mask, &want);
    if (!flow_mask_covers(&dp_mask, &want)) {
        COUNTER_INC(reval_mask_wider);
        goto out;
    }
    u->checked_generation = r->xlate_generation;
    if (odp_actions_equal(f->actions, f->actions_len,
                          xout.flow_actions.data, xout.flow_actions.size)) {
        verdict = REVAL_KEEP;
    } else {
        COUNTER_INC(reval_actions_changed);
        buf_put(new_actions, xout.flow_actions.data, xout.flow_actions.size);
        verdict = REVAL_MODIFY;
    }
out:
    xlate_out_uninit(&xout);
    return verdict;
}

static void
reval_queue_modify(struct revalidator *r, struct ukey *u,
                   const struct reval_flow *f, const struct buf *actions)
{
    struct reval_op *op = reval_queue_op(r, REVAL_OP_MODIFY, u);

    op->key = xmemdup(u->key, u->key_len);
    op->key_len = u->key_len;
    op->mask = f->mask_len ? xmemdup(f->mask, f->mask_len) : NULL;
    op->mask_len = f->mask_len;
    op->actions = actions->size ? xmemdup(actions->data, actions->size)
                                : NULL;
    op->actions_len = actions->size;
}

/* Decides about a dumped (or fetched) flow 'f' whose ukey is 'u'. */
static void
reval_handle_flow(struct revalidator *r, struct ukey *u,
                  const struct reval_flow *f, long long now)
{
    const struct reval_params *p = &r->params;

    if (p->purge) {
        COUNTER_INC(reval_purged);
        reval_queue_op(r, REVAL_OP_DEL, u);
        return;
    }
    if ((f->mask_len != u->mask_len
         || (f->mask_len && memcmp(f->mask, u->mask, f->mask_len)))
        || (f->actions_len != u->actions_len
            || (f->actions_len
                && memcmp(f->actions, u->actions, f->actions_len)))) {
        /* Changed behind our back (by hand, or by a previous incarnation's
         * modify): what the datapath has is what counts. */
        if (u->mask_len || u->actions_len) {
            COUNTER_INC(ukey_dp_change);
        }
        ukey_set_installed(u, f->mask, f->mask_len, f->actions,
                           f->actions_len);
        u->xc.valid = false;
        u->checked_generation = 0;
    }

    long long used = f->stats.used ? f->stats.used : u->created;
    long long max_idle = p->max_idle_msec;
    if (p->n_flows > p->flow_limit) {
        max_idle = REVAL_OVER_LIMIT_IDLE_MSEC;
    }
    if (p->n_flows > 2 * p->flow_limit) {
        COUNTER_INC(reval_limit_deleted);
        reval_queue_op(r, REVAL_OP_DEL, u);
        return;
    }
    if (used && used < now - max_idle) {
        COUNTER_INC(reval_idle_deleted);
        reval_queue_op(r, REVAL_OP_DEL, u);
        return;
    }

    struct buf actions;
    uint64_t stub[512 / 8];
    buf_use_stub(&actions, stub, sizeof stub);
    switch (revalidate_ukey(r, u, f, now, &actions)) {
    case REVAL_KEEP:
        break;
    case REVAL_MODIFY:
        reval_queue_modify(r, u, f, &actions);
        break;
    case REVAL_DELETE:
        reval_queue_op(r, REVAL_OP_DEL, u);
        break;
    }
    buf_uninit(&actions);
}

void
reval_flow_announced(struct revalidator *r, const struct reval_flow *f,
                     uint64_t generation, long long now)
{
    if (ukey_table_find(&r->ukeys, &f->ufid)) {
        return;
    }
    struct ukey *u = ukey_table_insert(&r->ukeys, &f->ufid, f->key,
                                       f->key_len, f->mask, f->mask_len,
                                       f->actions, f->actions_len,
                                       UKEY_FROM_ANNOUNCEMENT, now);
    /* Announced during a cycle: counts as seen by it, so that the sweep
     * does not fetch a flow that is milliseconds old. */
    u->dump_seq = r->params.dump_seq;
    if (r->policy && r->policy->generation == generation) {
        /* Translate now, with the handler's policy: the stats it will
         * count belong to the rule it matches under that policy, even if
         * a new one arrives before the first dump. */
        struct xlate_out xout;
        struct flow flow;

        xlate_out_init(&xout);
        if (!reval_translate(r, u, f->actions, f->actions_len, now, &flow,
                             &xout)) {
            u->checked_generation = r->xlate_generation;
        }
        xlate_out_uninit(&xout);
    }
    COUNTER_INC(ukey_created_announced);
}

void
reval_dump_begin(struct revalidator *r, const struct reval_params *p)
{
    if (r->in_cycle && p->dump_seq == r->params.dump_seq) {
        return;
    }
    r->params = *p;
    r->in_cycle = true;
    memset(&r->cycle, 0, sizeof r->cycle);

    uint64_t mac_changes = r->macs ? mac_table_changes(r->macs) : 0;
    r->need_revalidate = r->xlate_generation != r->reval_generation
                         || mac_changes != r->mac_changes;
    r->reval_generation = r->xlate_generation;
    r->mac_changes = mac_changes;
}

void
reval_flow_dumped(struct revalidator *r, const struct reval_flow *f,
                  long long now)
{
    struct ukey *u = ukey_table_find(&r->ukeys, &f->ufid);

    if (!u) {
        u = ukey_table_insert(&r->ukeys, &f->ufid, f->key, f->key_len,
                              f->mask, f->mask_len, f->actions,
                              f->actions_len, UKEY_FROM_DUMP, now);
        /* Adopted: what it counted so far is not ours to push again. */
        u->stats = f->stats;
        COUNTER_INC(ukey_created_adopted);
    } else if (u->busy) {
        COUNTER_INC(reval_dump_busy_skipped);
        u->dump_seq = r->params.dump_seq;
        return;
    }
    u->dump_seq = r->params.dump_seq;
    reval_handle_flow(r, u, f, now);
}

void
reval_dump_end(struct revalidator *r, long long now)
{
    UKEY_TABLE_FOR_EACH_SAFE (u, next, &r->ukeys) {
        if (u->busy || u->dump_seq == r->params.dump_seq) {
            continue;
        }
        if (r->params.purge) {
            COUNTER_INC(reval_purged);
            reval_queue_op(r, REVAL_OP_DEL, u);
        } else {
            COUNTER_INC(revalidate_missed_dp_flow);
            reval_queue_op(r, REVAL_OP_GET, u);
        }
    }
    (void) now;
}

/* ----- results ------------------------------------------------------------- */

static void
reval_op_done(struct revalidator *r, const struct reval_op *op,
              const struct reval_result *res, long long now)
{
    struct ukey *u = ukey_table_find(&r->ukeys, &op->ufid);

    if (!u) {
        return;
    }
    u->busy = false;
    switch (op->type) {
    case REVAL_OP_DEL:
        if (!res->error || res->error == ENOENT) {
            /* Final stats beyond the baseline, pushed once. */
            if (!res->error && res->has_stats) {
                reval_push_delta(r, u, &res->stats, now);
            }
            if (!res->error) {
                r->cycle.n_deleted++;
                COUNTER_INC(reval_deleted);
            }
            ukey_table_remove(&r->ukeys, u);
        } else {
            COUNTER_INC(reval_op_failed);
        }
        break;
    case REVAL_OP_MODIFY:
        if (!res->error) {
            if (res->has_stats) {
                reval_push_delta(r, u, &res->stats, now);
            }
            ukey_set_installed(u, op->mask, op->mask_len, op->actions,
                               op->actions_len);
            r->cycle.n_modified++;
            COUNTER_INC(reval_modified);
        } else {
            /* The datapath would not modify it (gone, or it names the
             * flow differently): delete it instead, as the seeds always
             * do; a flow that is gone answers ENOENT and loses its ukey. */
            COUNTER_INC(reval_modify_failed);
            reval_queue_op(r, REVAL_OP_DEL, u);
        }
        break;
    case REVAL_OP_GET:
        if (res->error == ENOENT) {
            COUNTER_INC(reval_missed_gone);
            ukey_table_remove(&r->ukeys, u);
        } else if (res->error || !res->flow) {
            COUNTER_INC(reval_op_failed);
        } else {
            u->dump_seq = r->params.dump_seq;
            reval_handle_flow(r, u, res->flow, now);
        }
        break;
    }
}

void
reval_batch_done(struct revalidator *r, struct reval_batch *b,
                 const struct reval_result *results, size_t n_results,
                 long long now)
{
    static const struct reval_result failed = { .error = EIO };

    for (size_t i = 0; i < b->n_ops; i++) {
        reval_op_done(r, &b->ops[i], i < n_results ? &results[i] : &failed,
                      now);
        reval_op_free(&b->ops[i]);
    }
    r->n_in_flight -= b->n_ops;
    free(b->ops);
    b->ops = NULL;
    b->n_ops = 0;
}

void
reval_batch_abandon(struct revalidator *r, struct reval_batch *b)
{
    for (size_t i = 0; i < b->n_ops; i++) {
        struct ukey *u = ukey_table_find(&r->ukeys, &b->ops[i].ufid);
        if (u) {
            u->busy = false;
        }
        reval_op_free(&b->ops[i]);
    }
    r->n_in_flight -= b->n_ops;
    free(b->ops);
    b->ops = NULL;
    b->n_ops = 0;
}

bool
reval_cycle_done(const struct revalidator *r)
{
    return !reval_n_queued(r) && !r->n_in_flight;
}

struct reval_cycle_stats
reval_cycle_finish(struct revalidator *r)
{
    struct reval_cycle_stats s = r->cycle;

    memset(&r->cycle, 0, sizeof r->cycle);
    r->in_cycle = false;
    return s;
}
