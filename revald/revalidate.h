/*
 * revalidate.h — the revalidator's decisions: one shard, one dump cycle.
 *
 * Overview
 * ========
 *
 * privd dumps the datapath every min(max_idle, 500 ms), or at once when the
 * policy or the MAC table changed, and sends each revalidator the flows of
 * its shard in DumpShards (privd/dump-pump.h).  This module is what a
 * revalidator does with them; it follows the seeds' revalidate(),
 * revalidate_ukey(), should_revalidate(), push_dump_ops() and
 * revalidator_sweep__() (ofproto-dpif-upcall.c), adapted to a process that
 * owns its shard and reaches the datapath only through privd's op batches.
 *
 * For each dumped flow (reval_flow_dumped()):
 *
 *   1. Find its ukey, or adopt the flow (ukey.h: its stats so far count as
 *      pushed).  A ukey with an op in flight is skipped: the op's result
 *      decides its fate.  Mark the ukey with the dump's sequence number.
 *   2. Delete it if it has been idle longer than max_idle (100 ms instead
 *      when the datapath holds more flows than the flow limit), or if the
 *      datapath holds more than twice the limit.  "used" is the flow's
 *      last hit, or the ukey's creation for a flow never hit.
 *   3. Otherwise revalidate_ukey(): with the delta between the dumped stats
 *      and the ukey's baseline —
 *        - when the policy or MAC table changed since the last cycle
 *          ("need_revalidate") and the last dump was slow, the seeds'
 *          should_revalidate() heuristic: a flow that saw fewer than ~5
 *          packets/s since its last use is deleted rather than
 *          re-translated;
 *        - the baseline becomes the dumped stats and the delta is pushed to
 *          the side effects: the per-rule counters (policy_table_credit()
 *          on the shard's copy, and credits that privd sums from the
 *          DumpAcks), and a MAC learning refresh when packets passed;
 *        - with need_revalidate, or for a ukey never checked against the
 *          current policy (adopted flows), re-translate (not before the
 *          first PolicyUpdate: until then flows are kept as they are) (common/xlate.h) and keep the
 *          flow only if the actions are byte-identical
 *          (odp_actions_equal()) and the installed mask covers the new
 *          one (flow_mask_covers() over the datapath-normalized masks); if
 *          the mask still covers but the actions differ, modify the flow in
 *          place (FLOW_PUT modify); otherwise delete it.
 *
 * Deletes, modifies and FLOW_GETs are queued as struct reval_op and leave
 * in batches of at most the configured batch size (50 by default)
 * (reval_take_batch()).  A delete's result carries the flow's final stats;
 * only the part beyond the baseline is pushed (the seeds' push_dump_ops__):
 * every packet reaches the counters exactly once.  A modify's result
 * carries the stats before the modify, handled the same way.
 *
 * At the end of the dump (reval_dump_end()), mark and sweep: each ukey the
 * dump did not show is checked with a FLOW_GET (handle_missed_revalidation,
 * counter "revalidate_missed_dp_flow"): a flow that is gone loses its ukey;
 * one that exists (installed after the dump passed its place) is handled as
 * if dumped.  The cycle is complete (reval_cycle_done()) when no op is
 * queued or in flight; the revalidator then sends its DumpAck with the
 * cycle's rule credits (reval_take_credits()).
 *
 * A purge cycle (DumpShard.purge: revalidator/purge, disable-megaflows,
 * flush) deletes every dumped flow and every ukey, pushing final stats.
 *
 * Counters: ukey_created_announced, ukey_created_adopted, ukey_dp_change
 * (a dumped flow's actions or mask differ from what the ukey recorded),
 * reval_idle_deleted, reval_limit_deleted, reval_should_not_revalidate,
 * reval_xlate_failed, reval_mask_wider (mask no longer covers),
 * reval_actions_changed, reval_modified, reval_deleted,
 * reval_dump_busy_skipped, revalidate_missed_dp_flow, reval_missed_gone,
 * reval_op_failed, reval_modify_failed (a refused modify becomes a delete),
 * reval_purged, reval_mac_refreshed.
 *
 * Ownership: a struct revalidator owns its ukeys, its policy table and its
 * queues; it borrows the MAC table mapping.  Single-threaded.
 */
#ifndef REVALD_REVALIDATE_H
#define REVALD_REVALIDATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ufid.h"
#include "common/util.h"
#include "revald/ukey.h"

struct mac_table;
struct policy_table;

/* The seeds' idle time when the datapath is over the flow limit. */
#define REVAL_OVER_LIMIT_IDLE_MSEC 100

/* A dumped (or FLOW_GET) flow.  Buffers borrowed for the call. */
struct reval_flow {
    union ufid ufid;
    const void *key;
    size_t key_len;
    const void *mask;           /* Empty: exact match. */
    size_t mask_len;
    const void *actions;        /* Empty: drop. */
    size_t actions_len;
    struct ukey_stats stats;
};

/* Datapath-wide values for the cycle: from the status page and the
 * DumpShard. */
struct reval_params {
    uint64_t dump_seq;          /* The dump being processed. */
    uint64_t n_flows;           /* Flows in the datapath. */
    uint64_t flow_limit;        /* Current dynamic flow limit. */
    long long dump_duration_msec; /* Duration of the previous dump. */
    uint32_t max_idle_msec;     /* Configured idle time. */
    bool purge;                 /* Purge cycle: delete everything. */
};

enum reval_op_type {
    REVAL_OP_DEL,               /* FlowDel by UFID, want_stats. */
    REVAL_OP_MODIFY,            /* FlowPut modify, want_stats. */
    REVAL_OP_GET,               /* FlowGet by UFID. */
};

/* One op for privd.  MODIFY owns copies of the key, installed mask and new
 * actions. */
struct reval_op {
    enum reval_op_type type;
    union ufid ufid;
    void *key;                  /* MODIFY only, owned. */
    size_t key_len;
    void *mask;                 /* MODIFY only, owned. */
    size_t mask_len;
    void *actions;              /* MODIFY only, owned. */
    size_t actions_len;
};

/* privd's answer to one op. */
struct reval_result {
    int error;                  /* 0 or a positive errno. */
    bool has_stats;             /* 'stats' valid (DEL, MODIFY, GET). */
    struct ukey_stats stats;
    const struct reval_flow *flow; /* GET on success, else NULL. */
};

/* Ops in one OpBatch: taken together, answered together. */
struct reval_batch {
    struct reval_op *ops;       /* Owned. */
    size_t n_ops;
};

/* Statistics credited to one rule during a cycle. */
struct reval_credit {
    uint64_t generation;        /* Policy generation of 'rule_id'. */
    uint32_t rule_id;           /* POLICY_RULE_DEFAULT for no rule. */
    uint64_t packets;
    uint64_t bytes;
};

/* What one cycle did (for the DumpAck). */
struct reval_cycle_stats {
    uint64_t n_deleted;         /* Flows deleted. */
    uint64_t n_modified;        /* Flows modified. */
};

struct revalidator {
    struct ukey_table ukeys;    /* The shard. */
    unsigned int shard;         /* Our index. */
    unsigned int n_shards;      /* Revalidators of the datapath. */
    unsigned int batch_size;    /* Ops per batch. */

    struct policy_table *policy; /* Owned; NULL until the first update. */
    uint32_t *ports;            /* Datapath ports, owned. */
    size_t n_ports;
    struct mac_table *macs;     /* Borrowed; NULL if none.  Written only
                                 * by the MAC refresh (mac_table_learn()). */
    uint64_t xlate_generation;  /* Bumped whenever a translation input
                                 * (policy, ports) changes. */
    uint64_t mac_changes;       /* mac_table_changes() at the last cycle. */
    uint64_t reval_generation;  /* xlate_generation at the last cycle. */

    /* The cycle in progress. */
    struct reval_params params;
    bool need_revalidate;       /* Inputs changed since the last cycle. */
    bool in_cycle;              /* Between first shard and DumpAck. */
    struct reval_cycle_stats cycle;

    /* Op queue (FIFO) and in-flight accounting. */
    struct reval_op *queue;
    size_t n_queued, queue_head, queue_cap;
    size_t n_in_flight;         /* Ops taken but not completed. */

    /* Credits since the last DumpAck. */
    struct reval_credit *credits;
    size_t n_credits, credits_cap;
};

void revalidator_init(struct revalidator *, unsigned int shard,
                      unsigned int n_shards, unsigned int batch_size);
void revalidator_destroy(struct revalidator *);

/* Installs a new policy table (taking ownership) and port list (copied);
 * the next cycle re-checks every flow. */
void revalidator_set_policy(struct revalidator *, struct policy_table *,
                            const uint32_t *ports, size_t n_ports);

/* Sets the MAC table mapping (borrowed; NULL for none). */
void revalidator_set_mac_table(struct revalidator *, struct mac_table *);

/* Creates the ukey of a flow a handler announced, unless one exists.
 * Announced flows are new: their baseline is zero.  A flow translated
 * with the current policy ('generation') counts as checked; others are
 * checked at their first dump. */
void reval_flow_announced(struct revalidator *, const struct reval_flow *,
                          uint64_t generation, long long now);

/* Starts cycle 'params->dump_seq' if it is not the current one (decides
 * need_revalidate); idempotent for further shards of the same dump. */
void reval_dump_begin(struct revalidator *, const struct reval_params *);

/* Handles one dumped flow of the current cycle (see Overview). */
void reval_flow_dumped(struct revalidator *, const struct reval_flow *,
                       long long now);

/* The last shard of the dump arrived: sweep (queue FLOW_GETs for ukeys the
 * dump missed, or DELs in a purge cycle). */
void reval_dump_end(struct revalidator *, long long now);

/* Ops waiting to be sent. */
size_t reval_n_queued(const struct revalidator *);

/* Moves up to 'max' queued ops (at most the batch size) into '*batch'.
 * Returns false if none is queued. */
bool reval_take_batch(struct revalidator *, size_t max,
                      struct reval_batch *batch);

/* Applies privd's results for 'batch' ('n_results' of them; missing ones
 * count as failed) and frees the batch's ops. */
void reval_batch_done(struct revalidator *, struct reval_batch *batch,
                      const struct reval_result *results, size_t n_results,
                      long long now);

/* Frees a batch without results (privd is gone).  Its ukeys stay. */
void reval_batch_abandon(struct revalidator *, struct reval_batch *batch);

/* True when the current cycle's work is complete: the DumpAck may go. */
bool reval_cycle_done(const struct revalidator *);

/* Ends the cycle: returns its stats and clears them. */
struct reval_cycle_stats reval_cycle_finish(struct revalidator *);

/* Moves up to 'max' credits into 'out' (the rest stay for the next
 * DumpAck).  Returns how many. */
size_t reval_take_credits(struct revalidator *, struct reval_credit *out,
                          size_t max);

/* The seeds' should_revalidate(): false if re-translating this flow is not
 * worth it after a slow dump ('dump_duration_msec' >= 200) because it saw
 * fewer than ~5 packets/s ('packets' since 'used', at 'now'). */
bool reval_should_revalidate(long long dump_duration_msec, uint64_t packets,
                             long long used, long long now);

/* What revalidate_ukey() concluded. */
enum reval_verdict {
    REVAL_KEEP,
    REVAL_MODIFY,               /* Same mask, new actions. */
    REVAL_DELETE,
};

/* Exposed for tests: decides about 'ukey' given the dumped 'flow' at 'now'
 * within the current cycle, pushing its stats delta.  With REVAL_MODIFY
 * the new actions are appended to 'new_actions'. */
enum reval_verdict revalidate_ukey(struct revalidator *, struct ukey *,
                                   const struct reval_flow *, long long now,
                                   struct buf *new_actions);

#endif /* revalidate.h */
