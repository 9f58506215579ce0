/*
 * dump-pump.h — privd drives the revalidation cycle of one datapath.
 *
 * Overview
 * ========
 *
 * privd owns the datapath (and, for the kernel, the netlink socket), so it
 * is privd that dumps the flow table; the revalidators (dpif-revald) do the
 * thinking.  One dump pump per datapath runs the cycle of the seeds'
 * udpif_revalidator() leader:
 *
 *   1. start a dump every min(max_idle, 500 ms) after the previous one
 *      started, or at once when the policy generation or the MAC table
 *      changed, or when a purge was asked for;
 *   2. read the dump in chunks of DUMP_PUMP_CHUNK flows and route each flow
 *      to the revalidator owning ufid_shard(ufid, M), one DumpShard per
 *      shard per chunk, through the supervisor's dump rings; a full ring
 *      stops the pump until it drains (the chunk stays valid: the dump is
 *      not advanced);
 *      A shard's flows of one chunk go in DumpShards of at most
 *      DUMP_PUMP_SHARD_BYTES, so big flows split it into several (counted)
 *      instead of exceeding the frame limit; a message the ring still
 *      refuses as too big is halved, never taken for a lost worker, and a
 *      single flow that cannot fit a frame is skipped (counted);
 *   3. send each revalidator an end_of_dump DumpShard, then wait for every
 *      DumpAck.  A revalidator that dies (or was down) during the cycle
 *      counts as done: its successor rebuilds the shard from the next dump.
 *      One that the pump waits on (full dump ring, missing DumpAck) and
 *      that makes no progress for DUMP_PUMP_STALL_MSEC, or any shard that
 *      has not acked DUMP_PUMP_ACK_MAX_MSEC after the end of the dump, is
 *      given up: its revalidator is killed (and respawned) and the cycle
 *      finishes without it;
 *   4. add the acks' rule credits to the per-rule counters, apply the
 *      dynamic flow limit (privd/flow-limit.h) to the cycle's duration and
 *      flow count, publish flow count, average and maximum, duration, limit
 *      and dump sequence on the status page, and complete the waiters
 *      (revalidator/wait, revalidator/purge).
 *
 * Purge cycles (dump_pump_request()): every DumpShard carries purge, so
 * the revalidators delete every flow and ukey with final stats pushed.
 * Used by revalidator/purge, upcall/disable-megaflows and
 * upcall/enable-megaflows (flows of the other kind go, as in Open
 * vSwitch), flush, and a clean shutdown with keep-flows-on-exit off.
 *
 * Test knob: with DPIFD_TEST_DUMP_DELAY_MS in privd's environment, each
 * dump is stretched by that many milliseconds (the pump starts waiting for
 * acks no earlier than start + delay), to drive the flow limit down in
 * tests.  "MS,N" stretches only the first N dumps (then the limit can
 * grow back).  Read once at creation; also settable with
 * dump_pump_set_test_delay() (every dump).
 *
 * Counters: dump_pump_dumps, dump_pump_flows, dump_pump_ring_full,
 * dump_pump_shard_down, dump_pump_worker_lost, dump_pump_bad_ack,
 * dump_pump_purges, dump_pump_shard_split, dump_pump_flow_too_big,
 * dump_pump_shard_timeout, dump_pump_ack_timeout, dump_pump_mac_changes
 * (MAC table changes seen; they start a cycle after an idle time at
 * least as long as the last cycle, DUMP_PUMP_MAC_MIN_INTERVAL_MSEC).
 *
 * The revalidators are reached through a sink (struct dump_pump_sink): a
 * table of functions and their context that the pump's owner provides, so
 * the pump knows nothing of how workers are run (the supervisor's sink
 * delivers into the dump rings; the unit test's records what it gets).
 *
 * Ownership: the pump belongs to the supervisor (one per datapath), which
 * creates, runs, waits on and destroys it and hands it the DumpAcks.  It
 * borrows the datapath (its privd_dp), the status page, the MAC table
 * mapping and the sink's context.
 * Single-threaded.
 */
#ifndef PRIVD_DUMP_PUMP_H
#define PRIVD_DUMP_PUMP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "privd/flow-limit.h"
#include "proto/worker.pb-c.h"

struct mac_table;
struct poller;
struct privd_dp;
struct status_page;

#define DUMP_PUMP_CHUNK 128             /* Flows per dpif_flow_dump_next(). */
#define DUMP_PUMP_CHUNKS_PER_RUN 64     /* Chunks per dump_pump_run(). */
#define DUMP_PUMP_MAX_INTERVAL_MSEC 500 /* Dump at least this often. */
#define DUMP_PUMP_MAX_CREDITS 65536     /* Distinct (generation, rule). */
/* Most bytes of flows (estimated generously) in one DumpShard: a chunk's
 * flows for one shard are split into as many DumpShards as this needs, so
 * that big flows never make a shard exceed the frame limit. */
#define DUMP_PUMP_SHARD_BYTES (256 * 1024)
/* A shard the pump waits on that makes no progress for this long is
 * given up, its revalidator killed (see dump_pump_run()). */
#define DUMP_PUMP_STALL_MSEC 5000
/* Every shard that has not acked this long after the end of the dump is
 * given up, even one that keeps making progress. */
#define DUMP_PUMP_ACK_MAX_MSEC 60000
/* A change of the MAC table starts a cycle only once the pump has idled
 * for as long as the last cycle took, and at least this long: the table's
 * change count lives in memory handlers write, so a handler (hostile, or
 * learning a storm of addresses) could otherwise keep privd dumping back
 * to back.  Policy changes and purges are not held back. */
#define DUMP_PUMP_MAC_MIN_INTERVAL_MSEC 100

/* What a completed cycle did. */
struct dump_pump_cycle {
    uint64_t dump_seq;
    bool purge;                 /* It was a purge. */
    uint64_t n_flows;           /* Flows dumped. */
    uint64_t n_deleted;         /* Deleted by the revalidators. */
    uint64_t n_modified;        /* Modified by the revalidators. */
    long long duration_msec;    /* Start to last ack. */
};

/* Called when the cycle a waiter waited for is complete. */
typedef void dump_pump_done_func(const struct dump_pump_cycle *, void *aux);

/* Summary for upcall/show. */
struct dump_pump_show {
    uint64_t flow_count;
    uint64_t avg_flows;
    uint64_t max_flows;
    uint32_t flow_limit;
    long long dump_duration_msec;
    bool megaflows;
    uint64_t dump_seq;
};

/* Where the pump's shards go: revalidator 'shard' (0 <= shard < the
 * pump's n_shards) of the datapath, as its owner runs them.  Every
 * function is required; 'ctx' is passed to each. */
struct dump_pump_sink {
    /* Delivers 'msg' to revalidator 'shard': 0, ENOBUFS if its dump ring
     * is full now (retry later), EMSGSIZE if 'msg' is too big for one
     * frame, ENOTCONN if that revalidator is not up. */
    int (*send_shard)(void *ctx, unsigned int shard,
                      const Dpif__DumpShard *msg);
    /* The revalidator's process while it is up, else 0 (a change means
     * the shard lost its ukeys). */
    pid_t (*revalidator_pid)(void *ctx, unsigned int shard);
    /* A number that grows whenever the revalidator takes a record from its
     * dump ring or submits an op batch (0 while it is not up). */
    uint64_t (*revalidator_progress)(void *ctx, unsigned int shard);
    /* Kills the revalidator, which the pump gave up on ('reason' is logged
     * and shown in "procs"); it is respawned. */
    void (*kill_revalidator)(void *ctx, unsigned int shard,
                             const char *reason);
    void *ctx;                  /* Borrowed: outlives the pump. */
};

struct dump_pump;

/* Creates the pump of datapath 'pdp' (borrowed: destroy the pump before
 * privd closes it), whose revalidators (n_shards of them) 'sink' reaches
 * (copied; its context is borrowed) and whose status page is 'status'.
 * 'flow_limit' and 'max_idle_msec' come from the configuration. */
struct dump_pump *dump_pump_create(const struct dump_pump_sink *sink,
                                   const struct privd_dp *pdp,
                                   struct status_page *status,
                                   unsigned int n_shards,
                                   uint32_t flow_limit,
                                   uint32_t max_idle_msec);
void dump_pump_destroy(struct dump_pump *);

/* Does the pending work without blocking. */
void dump_pump_run(struct dump_pump *);
void dump_pump_wait(struct dump_pump *, struct poller *);

/* A DumpAck from revalidator 'shard' (process 'pid'). */
void dump_pump_handle_ack(struct dump_pump *, unsigned int shard, pid_t pid,
                          const Dpif__DumpAck *);

/* Watches 'macs' (borrowed; NULL for none): a change of
 * mac_table_changes() starts a dump at once. */
void dump_pump_set_mac_table(struct dump_pump *, const struct mac_table *);

/* Registers 'cb' to be called after the first full cycle that starts after
 * this call; with 'purge' that cycle is a purge and starts at once.
 * 'aux' identifies the waiter for dump_pump_cancel(). */
void dump_pump_request(struct dump_pump *, bool purge,
                       dump_pump_done_func *cb, void *aux);

/* Forgets every waiter whose aux is 'aux' (its client went away). */
void dump_pump_cancel(struct dump_pump *, void *aux);

/* upcall/set-flow-limit. */
void dump_pump_set_flow_limit(struct dump_pump *, uint32_t flow_limit);

/* upcall/enable-megaflows and disable-megaflows: publishes the flag and,
 * if it changed, purges (calling 'cb' when done, if nonnull). */
void dump_pump_set_megaflows(struct dump_pump *, bool megaflows,
                             dump_pump_done_func *cb, void *aux);

/* For upcall/show. */
void dump_pump_get_show(const struct dump_pump *, struct dump_pump_show *);

/* Packets and bytes credited to rule 'rule_id' of policy 'generation'
 * (POLICY_RULE_DEFAULT: no rule matched) since privd started.  Returns
 * false if the rule never got any. */
bool dump_pump_get_rule_stats(const struct dump_pump *, uint64_t generation,
                              uint32_t rule_id, uint64_t *packets,
                              uint64_t *bytes);

/* Calls 'cb' with the id of every rule of policy 'generation' that got
 * credits (dump_pump_get_rule_stats() has them), in no particular order. */
void dump_pump_for_each_rule(const struct dump_pump *, uint64_t generation,
                             void (*cb)(uint32_t rule_id, void *aux),
                             void *aux);

/* Test knob (see Overview). */
void dump_pump_set_test_delay(struct dump_pump *, long long msec);

#endif /* dump-pump.h */
