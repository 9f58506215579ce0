/*
 * revalidator.h — the state of one dpif-revald and its message handling.
 *
 * Overview
 * ========
 *
 * revald/main.c runs the worker loop of common/worker.h; every message
 * worker_recv() returns goes to revald_handle_msg(), which owns it from
 * then on.  The process runs unprivileged in the sandbox (common/sandbox.h)
 * and its only peer is privd.  It trusts privd, its privileged parent, but
 * not the flows privd relays: they were dumped from a datapath that hostile
 * traffic fills, so their keys, masks and actions are parsed as untrusted
 * input (revald/revalidate.h).  privd trusts nothing this process sends.
 *
 * The process owns one shard of the ukeys (revald/ukey.h) and applies the
 * revalidation logic of revald/revalidate.h to what privd sends it:
 *
 *   PolicyUpdate       parse the rules (common/policy.h) and take the port
 *                      list: the next cycle re-checks every flow;
 *   FlowAnnouncement   create the ukeys of flows handlers just installed;
 *   DumpShard          revalidate each flow; at end_of_dump, sweep;
 *   OpResults          results of our deletes, modifies and gets.
 *
 * Ops leave in OpBatches of at most the configured batch size, at most
 * REVALD_MAX_IN_FLIGHT batches awaiting results at a time.  When the cycle's
 * last op is answered, the DumpAck goes back with the cycle's counts and
 * rule credits (worker.proto RuleCredit), which privd adds to its per-rule
 * counters: the stats of every packet are reported exactly once.
 *
 * The MAC table.  The design maps it read-only in revalidators, but the
 * seeds' stats push refreshes the MAC learning entry of every flow that saw
 * packets (xlate_push_stats() -> XC_NORMAL -> mac learning update): without
 * it, a host that only receives unicast through an installed flow ages out
 * of the table after 300 s although its traffic flows, and every flow
 * toward it falls back to flooding.  So the revalidator maps the table
 * writable and calls mac_table_learn() for exactly the (MAC, VLAN, port)
 * that its last translation of the flow learned — what a handler would
 * have learned from the same packets.  The cost in isolation is small: the
 * handlers, which parse the same untrusted traffic in the same sandbox,
 * already write the table; its slots are lock-free, so a killed or
 * hostile writer blocks nobody; privd and every reader validate entries.
 * If the writable mapping is refused, the revalidator falls back to
 * read-only and skips refreshes (mac_table_learn() returns EROFS).
 *
 * Counters: reval_dump_shards, reval_dumped_flows, reval_announced_flows,
 * reval_dumps_acked, reval_policy_updates, reval_policy_rejected,
 * reval_bad_flow (a Flow without UFID or key), reval_stray_results
 * (OpResults for no batch in flight); and revalidate.h's ukey_*, reval_*.
 *
 * Ownership: struct revald borrows the worker (which must outlive it) and
 * owns the ukeys, the rule table, the MAC table mapping and the batches in
 * flight.  Single-threaded.
 */
#ifndef REVALD_REVALIDATOR_H
#define REVALD_REVALIDATOR_H 1

struct errbuf;
struct ipc_msg;
struct worker;

/* OpBatches awaiting results at once. */
#define REVALD_MAX_IN_FLIGHT 8

struct revald;

/* Creates the revalidator logic for worker 'w' (started, handshake done):
 * takes its shard of the ukeys, maps the MAC table if privd attached one
 * and registers the ukey gauges.  Returns 0 or a positive errno. */
int revald_create(struct worker *w, struct revald **rdp);

/* Abandons the batches in flight and frees 'rd'.  NULL is a no-op. */
void revald_destroy(struct revald *rd);

/* Handles 'm' from worker_recv(), taking it over (the caller must not
 * destroy it), then sends what became ready.  Returns 0 or a positive
 * errno that ends the process ('eb' says why). */
int revald_handle_msg(struct revald *, struct ipc_msg *m, struct errbuf *eb);

/* Sends the OpBatches and the DumpAck that are ready; a full socket is
 * retried on the next call.  Returns 0 or a positive errno that ends the
 * process ('eb' says why). */
int revald_run(struct revald *, struct errbuf *eb);

#endif /* revald/revalidator.h */
