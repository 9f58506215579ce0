/*
 * dump-pump.c — privd's side of the revalidation cycle (dump-pump.h).
 */
#include "privd/dump-pump.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ipc-limits.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "common/util.h"
#include "privd/dpif.h"
#include "privd/privd.h"
#include "privd/status-page.h"

LOG_MODULE(dump_pump);

COUNTER_DEFINE(dump_pump_dumps);
COUNTER_DEFINE(dump_pump_flows);
COUNTER_DEFINE(dump_pump_ring_full);
COUNTER_DEFINE(dump_pump_shard_down);
COUNTER_DEFINE(dump_pump_worker_lost);
COUNTER_DEFINE(dump_pump_bad_ack);
COUNTER_DEFINE(dump_pump_purges);
COUNTER_DEFINE(dump_pump_shard_split);
COUNTER_DEFINE(dump_pump_flow_too_big);
COUNTER_DEFINE(dump_pump_shard_timeout);
COUNTER_DEFINE(dump_pump_ack_timeout);
COUNTER_DEFINE(dump_pump_mac_changes);

enum pump_state {
    PUMP_IDLE,                  /* Between cycles. */
    PUMP_DUMPING,               /* Reading the dump, sending shards. */
    PUMP_ENDING,                /* Sending end_of_dump shards. */
    PUMP_ACKING,                /* Waiting for DumpAcks. */
};

/* One revalidator's part of the current cycle. */
struct pump_shard {
    pid_t pid;                  /* Process it was sent to; 0: down. */
    bool sent;                  /* This chunk's (or the end) was sent. */
    bool acked;                 /* Done with the cycle. */
    int next;                   /* First flow of the chunk not sent yet:
                                 * where a split shard resumes. */
    bool blocked;               /* Its ring was full: the pump waits. */
    uint64_t progress;          /* sink.revalidator_progress() seen
                                 * last. */
    long long progress_msec;    /* When it last made progress (or the
                                 * pump started waiting on it). */
};

struct pump_waiter {
    uint64_t target_seq;        /* Complete when this dump completes. */
    bool purge;                 /* Wants a purge cycle. */
    dump_pump_done_func *cb;
    void *aux;
};

struct pump_credit {
    uint64_t generation;
    uint32_t rule_id;
    uint64_t packets;
    uint64_t bytes;
};

struct dump_pump {
    struct dump_pump_sink sink; /* The revalidators (context borrowed). */
    const struct privd_dp *pdp; /* The datapath (borrowed: its pump is
                                 * destroyed before privd closes it). */
    struct dpif *dpif;          /* pdp->dpif. */
    struct status_page *status; /* Borrowed. */
    const struct mac_table *macs; /* Borrowed; NULL for none. */
    unsigned int n_shards;
    uint32_t max_idle_msec;
    struct flow_limit fl;
    long long test_delay_msec;
    uint64_t test_delay_cycles; /* Dumps the delay still applies to; 0:
                                 * every dump. */

    enum pump_state state;
    uint64_t dump_seq;          /* Current (or last) dump. */
    bool purging;               /* Current dump is a purge. */
    bool purge_requested;       /* Next dump is a purge, at once. */
    long long start_msec;       /* Current dump's start. */
    long long end_msec;         /* When the current dump ended (the
                                 * pump started waiting for acks). */
    long long next_dump_msec;   /* When the next dump is due. */
    uint64_t seen_policy_generation;
    uint64_t seen_mac_changes;
    bool mac_change_pending;    /* The MAC table changed; a cycle is due
                                 * at 'mac_cycle_at'. */
    long long mac_cycle_at;     /* Earliest start of a cycle for MAC
                                 * changes (see pump_inputs_changed()). */
    uint64_t n_flows_start;     /* Datapath flows at the cycle's start. */

    struct dpif_flow_dump *dump;
    struct dpif_flow_dump_thread *thread;
    struct dpif_flow chunk[DUMP_PUMP_CHUNK];
    int n_chunk;                /* Flows in 'chunk' not yet all sent. */
    struct pump_shard *shards;  /* n_shards. */
    struct dump_pump_cycle cycle; /* Being accumulated. */

    struct pump_waiter *waiters;
    size_t n_waiters, waiters_cap;

    struct pump_credit *credits;
    size_t n_credits, credits_cap;
};

struct dump_pump *
dump_pump_create(const struct dump_pump_sink *sink,
                 const struct privd_dp *pdp,
                 struct status_page *status,
                 unsigned int n_shards, uint32_t flow_limit,
                 uint32_t max_idle_msec)
{
    struct dump_pump *p = xzalloc(sizeof *p);
    const char *delay = getenv("DPIFD_TEST_DUMP_DELAY_MS");

    p->sink = *sink;
    p->pdp = pdp;
    p->dpif = pdp->dpif;
    p->status = status;
    p->n_shards = n_shards ? n_shards : 1;
    p->max_idle_msec = max_idle_msec ? max_idle_msec : 10000;
    flow_limit_init(&p->fl, flow_limit);
    p->shards = xcalloc(p->n_shards, sizeof *p->shards);
    p->seen_policy_generation = pdp->policy_generation;
    if (delay) {
        /* "MS" or "MS,CYCLES". */
        char *copy = xstrdup(delay);
        char *comma = strchr(copy, ',');
        uint64_t v, n = 0;
        if (comma) {
            *comma = '\0';
        }
        if (!str_to_uint(copy, 10, 600000, &v)
            && (!comma || !str_to_uint(comma + 1, 10, UINT32_MAX, &n))) {
            p->test_delay_msec = (long long) v;
            p->test_delay_cycles = n;
            LOG_WARN("test knob: dumps stretched by %lld ms (%s)",
                     p->test_delay_msec, n ? comma + 1 : "every dump");
        }
        free(copy);
    }
    p->next_dump_msec = time_msec();

    struct status_page_values v = *status_page_get(status);
    v.flow_limit = p->fl.limit;
    status_page_publish(status, &v);
    return p;
}

static void
pump_end_dump(struct dump_pump *p)
{
    if (p->thread) {
        dpif_flow_dump_thread_destroy(p->thread);
        p->thread = NULL;
    }
    if (p->dump) {
        dpif_flow_dump_destroy(p->dump);
        p->dump = NULL;
    }
    p->n_chunk = 0;
}

void
dump_pump_destroy(struct dump_pump *p)
{
    if (p) {
        pump_end_dump(p);
        free(p->shards);
        free(p->waiters);
        free(p->credits);
        free(p);
    }
}

void
dump_pump_set_mac_table(struct dump_pump *p, const struct mac_table *macs)
{
    p->macs = macs;
    p->seen_mac_changes = macs ? mac_table_changes(macs) : 0;
}

void
dump_pump_set_test_delay(struct dump_pump *p, long long msec)
{
    p->test_delay_msec = MAX(msec, 0);
    p->test_delay_cycles = 0;
}

/* ----- starting a cycle ---------------------------------------------------- */

static bool
pump_inputs_changed(struct dump_pump *p, long long now)
{
    bool changed = false;

    if (p->pdp->policy_generation != p->seen_policy_generation) {
        p->seen_policy_generation = p->pdp->policy_generation;
        changed = true;
    }
    if (p->macs) {
        uint64_t c = mac_table_changes(p->macs);
        if (c != p->seen_mac_changes) {
            p->seen_mac_changes = c;
            if (!p->mac_change_pending) {
                COUNTER_INC(dump_pump_mac_changes);
            }
            p->mac_change_pending = true;
        }
    }
    if (p->mac_change_pending && now >= p->mac_cycle_at) {
        changed = true;
    }
    return changed;
}

static void
pump_start(struct dump_pump *p, long long now)
{
    struct dpif_dp_stats stats;

    p->dump_seq++;
    p->purging = p->purge_requested;
    p->purge_requested = false;
    p->start_msec = now;
    p->next_dump_msec = now + MIN((long long) p->max_idle_msec,
                                  DUMP_PUMP_MAX_INTERVAL_MSEC);
    p->n_flows_start = dpif_get_dp_stats(p->dpif, &stats)
                       ? 0 : stats.n_flows;
    memset(&p->cycle, 0, sizeof p->cycle);
    p->cycle.dump_seq = p->dump_seq;
    p->cycle.purge = p->purging;
    for (unsigned int i = 0; i < p->n_shards; i++) {
        struct pump_shard *sh = &p->shards[i];
        sh->pid = p->sink.revalidator_pid(p->sink.ctx, i);
        sh->acked = !sh->pid;
        sh->sent = false;
        sh->next = 0;
        sh->blocked = false;
        sh->progress = p->sink.revalidator_progress(p->sink.ctx, i);
        sh->progress_msec = now;
        if (!sh->pid) {
            COUNTER_INC(dump_pump_shard_down);
        }
    }
    p->dump = dpif_flow_dump_create(p->dpif, false);
    p->thread = p->dump ? dpif_flow_dump_thread_create(p->dump) : NULL;
    p->n_chunk = 0;
    p->state = PUMP_DUMPING;
    COUNTER_INC(dump_pump_dumps);
    if (p->purging) {
        COUNTER_INC(dump_pump_purges);
    }
}

/* ----- sending ------------------------------------------------------------- */

static void
pump_flow_to_msg(const struct dpif_flow *f, Dpif__Flow *m,
                 Dpif__FlowStats *s)
{
    dpif__flow__init(m);
    dpif__flow_stats__init(s);
    m->has_ufid = true;
    m->ufid.data = (uint8_t *) &f->ufid;
    m->ufid.len = sizeof f->ufid;
    m->has_key = true;
    m->key.data = (uint8_t *) f->key;
    m->key.len = f->key_len;
    m->has_mask = true;
    m->mask.data = (uint8_t *) f->mask;
    m->mask.len = f->mask_len;
    m->has_actions = true;
    m->actions.data = (uint8_t *) f->actions;
    m->actions.len = f->actions_len;
    s->has_packets = s->has_bytes = s->has_used_msec = s->has_tcp_flags
        = true;
    s->packets = f->stats.n_packets;
    s->bytes = f->stats.n_bytes;
    s->used_msec = f->stats.used;
    s->tcp_flags = f->stats.tcp_flags & 0xfff;
    m->stats = s;
}

/* Sends 'msg' to shard 'i'.  Returns 0, ENOBUFS if the ring is full
 * (retry), or EMSGSIZE if 'msg' is too big for one frame (the caller
 * splits it: never a lost worker).  A shard that is down or died counts
 * as done (0). */
static int
pump_send(struct dump_pump *p, unsigned int i, const Dpif__DumpShard *msg)
{
    struct pump_shard *sh = &p->shards[i];

    if (sh->acked) {
        return 0;
    }
    if (p->sink.revalidator_pid(p->sink.ctx, i) != sh->pid) {
        COUNTER_INC(dump_pump_worker_lost);
        sh->acked = true;
        return 0;
    }
    int error = p->sink.send_shard(p->sink.ctx, i, msg);
    if (error == ENOBUFS) {
        COUNTER_INC(dump_pump_ring_full);
        if (!sh->blocked) {
            sh->blocked = true;
            sh->progress_msec = time_msec();
        }
        return ENOBUFS;
    } else if (error == EMSGSIZE) {
        return EMSGSIZE;
    } else if (error) {
        COUNTER_INC(dump_pump_worker_lost);
        sh->acked = true;
    }
    sh->blocked = false;
    return 0;
}

/* What flow 'f' adds to a DumpShard, generously (field tags, lengths and
 * stats included), so that DUMP_PUMP_SHARD_BYTES of estimate stays well
 * inside one frame. */
static size_t
pump_flow_bytes(const struct dpif_flow *f)
{
    return f->key_len + f->mask_len + f->actions_len + sizeof f->ufid + 96;
}

/* Sends shard 'i' the flows of the current chunk that belong to it, from
 * sh->next on, in DumpShards of at most DUMP_PUMP_SHARD_BYTES (estimated)
 * and, whatever the estimate, of one frame: a message the ring refuses as
 * too big is halved.  A flow too big for a frame on its own is skipped and
 * counted.  Returns false if the ring was full (sh->next says where to
 * resume). */
static bool
pump_send_shard(struct dump_pump *p, unsigned int i, Dpif__Flow *msgs,
                Dpif__FlowStats *stats, Dpif__Flow **ptrs, int *idx)
{
    struct pump_shard *sh = &p->shards[i];
    unsigned int pieces = 0;

    if (sh->acked) {
        return true;
    }
    while (sh->next < p->n_chunk) {
        Dpif__DumpShard msg = DPIF__DUMP_SHARD__INIT;
        size_t n = 0, bytes = 0;
        int j;

        for (j = sh->next; j < p->n_chunk; j++) {
            const struct dpif_flow *f = &p->chunk[j];
            if (ufid_shard(&f->ufid, p->n_shards) != i) {
                continue;
            }
            size_t fb = pump_flow_bytes(f);
            if (n && bytes + fb > DUMP_PUMP_SHARD_BYTES) {
                break;
            }
            pump_flow_to_msg(f, &msgs[n], &stats[n]);
            ptrs[n] = &msgs[n];
            idx[n] = j;
            bytes += fb;
            n++;
        }
        if (!n) {
            break;
        }
        msg.dump_seq = p->dump_seq;
        msg.flows = ptrs;
        msg.n_flows = n;
        msg.has_purge = p->purging;
        msg.purge = p->purging;

        int error;
        while ((error = pump_send(p, i, &msg)) == EMSGSIZE
               && msg.n_flows > 1) {
            msg.n_flows /= 2;
        }
        if (error == ENOBUFS) {
            return false;
        } else if (error == EMSGSIZE) {
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            COUNTER_INC(dump_pump_flow_too_big);
            LOG_WARN_RL(&rl, "a flow of %zu bytes does not fit a dump "
                        "shard: skipped this cycle",
                        pump_flow_bytes(&p->chunk[idx[0]]));
        }
        /* Sent (or skipped) up to and including flow idx[n_flows - 1]. */
        sh->next = idx[msg.n_flows - 1] + 1;
        if (pieces++) {
            COUNTER_INC(dump_pump_shard_split);
        }
        if (sh->acked) {
            break;              /* Lost meanwhile: nothing more to send. */
        }
    }
    return true;
}

/* Sends the flows of the current chunk that belong to each shard not yet
 * served.  Returns false if a ring was full. */
static bool
pump_send_chunk(struct dump_pump *p)
{
    Dpif__Flow *msgs = xcalloc(p->n_chunk, sizeof *msgs);
    Dpif__FlowStats *stats = xcalloc(p->n_chunk, sizeof *stats);
    Dpif__Flow **ptrs = xcalloc(p->n_chunk, sizeof *ptrs);
    int *idx = xcalloc(p->n_chunk, sizeof *idx);
    bool ok = true;

    for (unsigned int i = 0; i < p->n_shards; i++) {
        struct pump_shard *sh = &p->shards[i];

        if (sh->sent) {
            continue;
        }
        if (!pump_send_shard(p, i, msgs, stats, ptrs, idx)) {
            ok = false;
            break;
        }
        sh->sent = true;
    }
    free(idx);
    free(ptrs);
    free(stats);
    free(msgs);
    return ok;
}

static void
pump_run_dump(struct dump_pump *p)
{
    for (int c = 0; c < DUMP_PUMP_CHUNKS_PER_RUN; c++) {
        if (p->n_chunk) {
            if (!pump_send_chunk(p)) {
                return;
            }
            p->n_chunk = 0;
        }
        p->n_chunk = p->thread ? dpif_flow_dump_next(p->thread, p->chunk,
                                                     DUMP_PUMP_CHUNK)
                               : 0;
        if (p->n_chunk <= 0) {
            p->n_chunk = 0;
            pump_end_dump(p);
            for (unsigned int i = 0; i < p->n_shards; i++) {
                p->shards[i].sent = false;
            }
            p->state = PUMP_ENDING;
            return;
        }
        p->cycle.n_flows += (uint64_t) p->n_chunk;
        COUNTER_ADD(dump_pump_flows, p->n_chunk);
        for (unsigned int i = 0; i < p->n_shards; i++) {
            p->shards[i].sent = false;
            p->shards[i].next = 0;
        }
    }
}

static void
pump_run_ending(struct dump_pump *p, long long now)
{
    for (unsigned int i = 0; i < p->n_shards; i++) {
        struct pump_shard *sh = &p->shards[i];
        Dpif__DumpShard msg = DPIF__DUMP_SHARD__INIT;

        if (sh->sent) {
            continue;
        }
        msg.dump_seq = p->dump_seq;
        msg.has_end_of_dump = msg.end_of_dump = true;
        msg.has_duration_msec = true;
        msg.duration_msec = (uint64_t) MAX(now - p->start_msec, 0);
        msg.has_purge = p->purging;
        msg.purge = p->purging;
        if (pump_send(p, i, &msg) == ENOBUFS) {
            return;
        }
        sh->sent = true;
    }
    p->state = PUMP_ACKING;
    p->end_msec = now;
    for (unsigned int i = 0; i < p->n_shards; i++) {
        /* The ack deadlines count from the end of the dump. */
        p->shards[i].progress_msec = now;
    }
}

/* Kills the revalidator of shard 'i', which the pump has waited on for
 * too long, and finishes the cycle without it. */
static void
pump_give_up(struct dump_pump *p, unsigned int i, const char *why)
{
    char reason[128];

    snprintf(reason, sizeof reason, "dump shard %u of cycle %"PRIu64": %s",
             i, p->dump_seq, why);
    LOG_WARN("%s", reason);
    p->sink.kill_revalidator(p->sink.ctx, i, reason);
    p->shards[i].acked = true;
    p->shards[i].blocked = false;
}

/* Deadlines of a cycle: a shard the pump waits on (a full ring while
 * dumping, a missing DumpAck after the end) that makes no progress
 * (sink.revalidator_progress()) for DUMP_PUMP_STALL_MSEC, and every
 * shard that has not acked DUMP_PUMP_ACK_MAX_MSEC after the end of the
 * dump, progress or not, are given up: their revalidators are killed (and
 * respawned: their successors rebuild the shard from the next dump), and
 * the cycle goes on without them.  So no revalidator can freeze the pump
 * of the others.  (A dump that is merely long, privd's own work, is no
 * revalidator's fault: it has no deadline.) */
static void
pump_check_deadlines(struct dump_pump *p, long long now)
{
    bool over = (p->state == PUMP_ACKING
                 && now - p->end_msec >= DUMP_PUMP_ACK_MAX_MSEC);

    for (unsigned int i = 0; i < p->n_shards; i++) {
        struct pump_shard *sh = &p->shards[i];
        bool waiting = p->state == PUMP_ACKING ? !sh->acked : sh->blocked;

        if (sh->acked) {
            continue;
        }
        uint64_t progress = p->sink.revalidator_progress(p->sink.ctx, i);
        if (progress != sh->progress) {
            sh->progress = progress;
            sh->progress_msec = now;
        }
        char why[96];
        if (over) {
            COUNTER_INC(dump_pump_ack_timeout);
            snprintf(why, sizeof why, "no DumpAck within %d ms of the end "
                     "of the dump", DUMP_PUMP_ACK_MAX_MSEC);
            pump_give_up(p, i, why);
        } else if (waiting
                   && now - sh->progress_msec >= DUMP_PUMP_STALL_MSEC) {
            COUNTER_INC(dump_pump_shard_timeout);
            snprintf(why, sizeof why, "%s for %d ms",
                     p->state == PUMP_ACKING
                     ? "no DumpAck and no progress"
                     : "dump ring full and not drained",
                     DUMP_PUMP_STALL_MSEC);
            pump_give_up(p, i, why);
        }
    }
}

/* ----- completing a cycle -------------------------------------------------- */

static void
pump_credit(struct dump_pump *p, const Dpif__RuleCredit *c)
{
    for (size_t i = 0; i < p->n_credits; i++) {
        struct pump_credit *pc = &p->credits[i];
        if (pc->generation == c->generation && pc->rule_id == c->rule_id) {
            pc->packets += c->packets;
            pc->bytes += c->bytes;
            return;
        }
    }
    if (p->n_credits >= DUMP_PUMP_MAX_CREDITS) {
        /* Rules of long-gone generations: forget the oldest half. */
        size_t half = p->n_credits / 2;
        memmove(p->credits, p->credits + half,
                (p->n_credits - half) * sizeof *p->credits);
        p->n_credits -= half;
    }
    if (p->n_credits == p->credits_cap) {
        p->credits_cap = p->credits_cap ? p->credits_cap * 2 : 64;
        p->credits = xrealloc(p->credits, p->credits_cap * sizeof *p->credits);
    }
    p->credits[p->n_credits++] = (struct pump_credit) {
        c->generation, c->rule_id, c->packets, c->bytes,
    };
}

void
dump_pump_handle_ack(struct dump_pump *p, unsigned int shard, pid_t pid,
                     const Dpif__DumpAck *ack)
{
    if (shard >= p->n_shards || ack->n_credits > IPC_MAX_COUNTERS) {
        COUNTER_INC(dump_pump_bad_ack);
        return;
    }
    /* Credits are deltas each reported once, whichever cycle they close:
     * take them even from a late ack. */
    for (size_t i = 0; i < ack->n_credits; i++) {
        pump_credit(p, ack->credits[i]);
    }
    struct pump_shard *sh = &p->shards[shard];
    if (p->state != PUMP_ACKING || ack->dump_seq != p->dump_seq
        || sh->pid != pid || sh->acked) {
        return;
    }
    sh->acked = true;
    p->cycle.n_deleted += ack->n_deleted;
    p->cycle.n_modified += ack->n_modified;
}

static void
pump_finish(struct dump_pump *p, long long now)
{
    long long duration = MAX(now - p->start_msec, 1);
    struct status_page_values v = *status_page_get(p->status);
    struct dpif_dp_stats stats;

    p->cycle.duration_msec = duration;
    flow_limit_update(&p->fl, p->n_flows_start, duration);

    v.flow_count = dpif_get_dp_stats(p->dpif, &stats)
                   ? p->n_flows_start : stats.n_flows;
    v.max_flows = MAX(v.max_flows, p->n_flows_start);
    v.avg_flows = (v.avg_flows + p->n_flows_start) / 2;
    v.flow_limit = p->fl.limit;
    v.dump_duration_msec = (uint64_t) duration;
    v.dump_seq = p->dump_seq;
    status_page_publish(p->status, &v);

    p->state = PUMP_IDLE;
    /* MAC changes may start the next cycle once the pump has idled as long
     * as this cycle took (and DUMP_PUMP_MAC_MIN_INTERVAL_MSEC at least):
     * dumping for them takes at most half of privd's time. */
    p->mac_cycle_at = time_msec() + MAX((long long) duration,
                                        DUMP_PUMP_MAC_MIN_INTERVAL_MSEC);
    /* Waiters may register new requests from their callbacks: work on a
     * snapshot of the list. */
    size_t n = p->n_waiters;
    if (!n) {
        return;
    }
    struct pump_waiter *done = xmemdup(p->waiters, n * sizeof *done);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (p->waiters[i].target_seq > p->dump_seq) {
            p->waiters[kept++] = p->waiters[i];
        }
    }
    memmove(p->waiters + kept, p->waiters + n,
            (p->n_waiters - n) * sizeof *p->waiters);
    p->n_waiters -= n - kept;
    for (size_t i = 0; i < n; i++) {
        if (done[i].target_seq <= p->dump_seq && done[i].cb) {
            done[i].cb(&p->cycle, done[i].aux);
        }
    }
    free(done);
}

static void
pump_run_acking(struct dump_pump *p, long long now)
{
    for (unsigned int i = 0; i < p->n_shards; i++) {
        struct pump_shard *sh = &p->shards[i];
        if (!sh->acked
            && p->sink.revalidator_pid(p->sink.ctx, i) != sh->pid) {
            COUNTER_INC(dump_pump_worker_lost);
            sh->acked = true;
        }
        if (!sh->acked) {
            return;
        }
    }
    if (now < p->start_msec + p->test_delay_msec) {
        return;
    }
    if (p->test_delay_cycles && !--p->test_delay_cycles) {
        p->test_delay_msec = 0;
    }
    pump_finish(p, now);
}

void
dump_pump_run(struct dump_pump *p)
{
    long long now = time_msec();

    if (p->state == PUMP_IDLE) {
        bool changed = pump_inputs_changed(p, now);
        if (changed || p->purge_requested || now >= p->next_dump_msec) {
            p->mac_change_pending = false;  /* This cycle sees them. */
            pump_start(p, now);
        }
    }
    if (p->state != PUMP_IDLE) {
        pump_check_deadlines(p, now);
    }
    if (p->state == PUMP_DUMPING) {
        pump_run_dump(p);
    }
    if (p->state == PUMP_ENDING) {
        pump_run_ending(p, time_msec());
    }
    if (p->state == PUMP_ACKING) {
        pump_run_acking(p, time_msec());
    }
}

void
dump_pump_wait(struct dump_pump *p, struct poller *poller)
{
    switch (p->state) {
    case PUMP_IDLE:
        if (p->purge_requested) {
            poller_immediate_wake(poller);
        } else {
            poller_timer_wait(poller, p->next_dump_msec);
        }
        if (p->mac_change_pending) {
            poller_timer_wait(poller, p->mac_cycle_at);
        }
        break;
    case PUMP_DUMPING:
    case PUMP_ENDING:
        /* More to read, or a full ring to retry. */
        poller_timer_wait(poller, time_msec() + (p->n_chunk ? 2 : 0));
        break;
    case PUMP_ACKING:
        /* Acks arrive on the workers' sockets, which the supervisor
         * waits on; the timer covers the test delay, dead workers and
         * the deadlines (checked at least every 50 ms). */
        poller_timer_wait(poller, MAX(p->start_msec + p->test_delay_msec,
                                      time_msec() + 50));
        break;
    }
}

/* ----- requests ------------------------------------------------------------ */

void
dump_pump_request(struct dump_pump *p, bool purge, dump_pump_done_func *cb,
                  void *aux)
{
    /* The first cycle that starts after now: the next one. */
    uint64_t target = p->dump_seq + 1;

    if (purge) {
        /* At once, or right after the cycle in progress. */
        p->purge_requested = true;
    }
    if (p->n_waiters == p->waiters_cap) {
        p->waiters_cap = p->waiters_cap ? p->waiters_cap * 2 : 4;
        p->waiters = xrealloc(p->waiters, p->waiters_cap * sizeof *p->waiters);
    }
    p->waiters[p->n_waiters++] = (struct pump_waiter) {
        target, purge, cb, aux,
    };
}

void
dump_pump_cancel(struct dump_pump *p, void *aux)
{
    size_t kept = 0;

    for (size_t i = 0; i < p->n_waiters; i++) {
        if (p->waiters[i].aux != aux) {
            p->waiters[kept++] = p->waiters[i];
        }
    }
    p->n_waiters = kept;
}

static void
pump_publish_limit(struct dump_pump *p)
{
    struct status_page_values v = *status_page_get(p->status);
    v.flow_limit = p->fl.limit;
    status_page_publish(p->status, &v);
}

void
dump_pump_set_flow_limit(struct dump_pump *p, uint32_t flow_limit)
{
    flow_limit_set_configured(&p->fl, flow_limit);
    pump_publish_limit(p);
}

void
dump_pump_set_megaflows(struct dump_pump *p, bool megaflows,
                        dump_pump_done_func *cb, void *aux)
{
    struct status_page_values v = *status_page_get(p->status);

    if (v.megaflows != megaflows) {
        v.megaflows = megaflows;
        status_page_publish(p->status, &v);
        dump_pump_request(p, true, cb, aux);
    } else if (cb) {
        struct dump_pump_cycle none = { .dump_seq = p->dump_seq };
        cb(&none, aux);
    }
}

void
dump_pump_get_show(const struct dump_pump *p, struct dump_pump_show *s)
{
    const struct status_page_values *v = status_page_get(p->status);

    s->flow_count = v->flow_count;
    s->avg_flows = v->avg_flows;
    s->max_flows = v->max_flows;
    s->flow_limit = p->fl.limit;
    s->dump_duration_msec = (long long) v->dump_duration_msec;
    s->megaflows = v->megaflows;
    s->dump_seq = v->dump_seq;
}

bool
dump_pump_get_rule_stats(const struct dump_pump *p, uint64_t generation,
                         uint32_t rule_id, uint64_t *packets,
                         uint64_t *bytes)
{
    for (size_t i = 0; i < p->n_credits; i++) {
        const struct pump_credit *c = &p->credits[i];
        if (c->generation == generation && c->rule_id == rule_id) {
            *packets = c->packets;
            *bytes = c->bytes;
            return true;
        }
    }
    return false;
}

void
dump_pump_for_each_rule(const struct dump_pump *p, uint64_t generation,
                        void (*cb)(uint32_t rule_id, void *aux), void *aux)
{
    for (size_t i = 0; i < p->n_credits; i++) {
        if (p->credits[i].generation == generation) {
            cb(p->credits[i].rule_id, aux);
        }
    }
}
