/*
 * flow-ledger.h — the bytes of flows that workers installed, per datapath
 * and per worker, against byte budgets.
 *
 * Why
 * ===
 *
 * The flow limit bounds how many flows a datapath holds, not how big they
 * are: a hostile handler that creates flows with maximal keys, masks and
 * actions makes every flow cost privd (userspace datapath) or the kernel
 * tens of kilobytes.  The ledger bounds the bytes: each flow a worker
 * creates is entered with its key + mask + actions bytes and the handler
 * that created it; a create that would take the datapath past its budget,
 * or its handler past the worker budget, is refused (ENOSPC).
 *
 * Entries and their end
 * =====================
 *
 * Entries are keyed by UFID.  privd's request table (privd/op-validate.h)
 * enters a create that succeeded (flow_ledger_charge()), resizes an entry
 * when a revalidator's modify changes the flow's size
 * (flow_ledger_resize()) and removes it when a revalidator deletes the
 * flow (flow_ledger_release()).  Flows also end where the ledger does not
 * see it: "dpifctl del-flows", a reload's flush, a flow the kernel
 * dropped.  So a create that would exceed a budget first reconciles
 * (flow_ledger_reconcile()): every entry whose flow the datapath no longer
 * has is removed.  That walk costs a lookup per entry, so it runs only
 * when a budget is reached, and at most once per FLOW_LEDGER_RECONCILE_MSEC
 * unless the datapath holds fewer flows than the ledger has entries
 * (certain proof of stale entries).
 *
 * Hashing: UFIDs are chosen by workers, so the table hashes them with a
 * secret basis drawn at creation; a worker cannot aim its UFIDs at one
 * chain.  Open addressing with linear probing and backward-shift deletion;
 * the table grows at half load.
 *
 * Counters: flow_ledger_stale (entries reconciliation removed),
 * flow_ledger_reconciliations.
 *
 * Ownership and threads: a ledger belongs to one datapath's record in the
 * supervisor and is used from privd's single thread.
 */
#ifndef PRIVD_FLOW_LEDGER_H
#define PRIVD_FLOW_LEDGER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ufid.h"
#include "common/util.h"

/* Budget bytes per flow of the flow limit: a datapath's budget is
 * flow_limit x this (a typical translated flow has 300-600 bytes of key,
 * mask and actions). */
#define FLOW_LEDGER_BYTES_PER_FLOW 1024

/* Most owners (handlers) a ledger tracks. */
#define FLOW_LEDGER_MAX_OWNERS 64

/* Least time between two reconciliations that no certain proof asks for. */
#define FLOW_LEDGER_RECONCILE_MSEC 1000

struct flow_ledger;

/* Creates an empty ledger for a datapath: budget 'dp_budget' bytes in all,
 * and each of 'n_owners' (1..FLOW_LEDGER_MAX_OWNERS) owners at most
 * 'worker_budget' bytes. */
struct flow_ledger *flow_ledger_create(uint64_t dp_budget,
                                       uint64_t worker_budget,
                                       unsigned int n_owners);

/* Frees 'l' (NULL is fine). */
void flow_ledger_destroy(struct flow_ledger *l);

/* The budgets for a datapath whose flow limit is 'flow_limit' and whose
 * flows are created by 'n_handlers' handlers: flow_limit x
 * FLOW_LEDGER_BYTES_PER_FLOW, and for each handler twice its even share,
 * at most all of it. */
void flow_ledger_budgets(uint64_t flow_limit, unsigned int n_handlers,
                         uint64_t *dp_budget, uint64_t *worker_budget);

/* Returns 0 if 'owner' may add 'bytes' beyond 'pending' (bytes of its
 * creates not entered yet) without exceeding a budget, else ENOSPC with
 * the reason in 'eb'. */
int flow_ledger_check(const struct flow_ledger *l, unsigned int owner,
                      uint64_t bytes, uint64_t pending, struct errbuf *eb);

/* True if 'ufid' has an entry. */
bool flow_ledger_contains(const struct flow_ledger *l, const union ufid *);

/* Enters flow 'ufid' of 'bytes' for 'owner', replacing an entry it has. */
void flow_ledger_charge(struct flow_ledger *l, const union ufid *ufid,
                        unsigned int owner, uint64_t bytes);

/* Sets the size of the entry of 'ufid', if it has one, to 'bytes'. */
void flow_ledger_resize(struct flow_ledger *l, const union ufid *ufid,
                        uint64_t bytes);

/* Removes the entry of 'ufid', if it has one. */
void flow_ledger_release(struct flow_ledger *l, const union ufid *ufid);

/* Removes every entry for which 'exists' returns false; returns how many.
 * Does nothing (returns 0) if 'n_flows', the datapath's flow count, is at
 * least the number of entries and the last reconciliation was less than
 * FLOW_LEDGER_RECONCILE_MSEC ago. */
size_t flow_ledger_reconcile(struct flow_ledger *l, uint64_t n_flows,
                             bool (*exists)(const union ufid *, void *aux),
                             void *aux);

/* Bytes entered in all, and for 'owner'; entries. */
uint64_t flow_ledger_bytes(const struct flow_ledger *l);
uint64_t flow_ledger_owner_bytes(const struct flow_ledger *l,
                                 unsigned int owner);
size_t flow_ledger_count(const struct flow_ledger *l);

#endif /* flow-ledger.h */
