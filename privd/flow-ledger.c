/*
 * flow-ledger.c — bytes of worker-installed flows against budgets
 * (flow-ledger.h).
 */
#include "privd/flow-ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/counters.h"
#include "common/hash.h"
#include "common/timeval.h"

COUNTER_DEFINE(flow_ledger_stale);
COUNTER_DEFINE(flow_ledger_reconciliations);

/* One flow. */
struct flow_ledger_entry {
    union ufid ufid;            /* The flow's UFID. */
    uint64_t bytes;             /* Its key + mask + actions bytes. */
    uint16_t owner;             /* The handler that created it. */
    bool used;                  /* Slot holds an entry. */
};

struct flow_ledger {
    struct flow_ledger_entry *slots; /* 'mask' + 1 slots, power of 2. */
    size_t mask;                /* Number of slots - 1. */
    size_t n;                   /* Entries. */
    uint32_t basis;             /* Secret hash basis. */
    uint64_t dp_budget;         /* Bytes for all entries. */
    uint64_t worker_budget;     /* Bytes for one owner's entries. */
    uint64_t bytes;             /* Bytes entered. */
    unsigned int n_owners;      /* Owners tracked. */
    uint64_t owner_bytes[FLOW_LEDGER_MAX_OWNERS]; /* Bytes per owner. */
    long long reconciled_msec;  /* time_msec() of the last reconcile. */
};

#define FLOW_LEDGER_MIN_SLOTS 64

struct flow_ledger *
flow_ledger_create(uint64_t dp_budget, uint64_t worker_budget,
                   unsigned int n_owners)
{
    struct flow_ledger *l = xzalloc(sizeof *l);

    l->mask = FLOW_LEDGER_MIN_SLOTS - 1;
    l->slots = xcalloc(l->mask + 1, sizeof *l->slots);
    if (getrandom(&l->basis, sizeof l->basis, GRND_NONBLOCK)
        != sizeof l->basis) {
        l->basis = (uint32_t) time_msec() ^ (uint32_t) (uintptr_t) l;
    }
    l->dp_budget = dp_budget;
    l->worker_budget = worker_budget;
    l->n_owners = MAX(1u, MIN(n_owners, (unsigned int) FLOW_LEDGER_MAX_OWNERS));
    return l;
}

void
flow_ledger_destroy(struct flow_ledger *l)
{
    if (l) {
        free(l->slots);
        free(l);
    }
}

void
flow_ledger_budgets(uint64_t flow_limit, unsigned int n_handlers,
                    uint64_t *dp_budget, uint64_t *worker_budget)
{
    *dp_budget = flow_limit * FLOW_LEDGER_BYTES_PER_FLOW;
    *worker_budget = MIN(*dp_budget, 2 * *dp_budget / MAX(n_handlers, 1u));
}

/* The owner index 'owner' is accounted under. */
static unsigned int
flow_ledger_owner(const struct flow_ledger *l, unsigned int owner)
{
    return owner < l->n_owners ? owner : l->n_owners - 1;
}

int
flow_ledger_check(const struct flow_ledger *l, unsigned int owner,
                  uint64_t bytes, uint64_t pending, struct errbuf *eb)
{
    uint64_t mine = l->owner_bytes[flow_ledger_owner(l, owner)];

    if (l->bytes + pending + bytes > l->dp_budget) {
        return errbuf_set(eb, ENOSPC, "flow byte budget %"PRIu64" of the "
                          "datapath reached (%"PRIu64" in use)", l->dp_budget,
                          l->bytes + pending);
    }
    if (mine + pending + bytes > l->worker_budget) {
        return errbuf_set(eb, ENOSPC, "flow byte budget %"PRIu64" of "
                          "handler %u reached (%"PRIu64" in use)",
                          l->worker_budget, owner, mine + pending);
    }
    return 0;
}

/* The slot of 'ufid', or of the free slot where it would go. */
static size_t
flow_ledger_find(const struct flow_ledger *l, const union ufid *ufid)
{
    size_t i = hash_bytes(ufid, sizeof *ufid, l->basis) & l->mask;

    while (l->slots[i].used && memcmp(&l->slots[i].ufid, ufid, sizeof *ufid)) {
        i = (i + 1) & l->mask;
    }
    return i;
}

bool
flow_ledger_contains(const struct flow_ledger *l, const union ufid *ufid)
{
    return l->slots[flow_ledger_find(l, ufid)].used;
}

/* Doubles the table. */
static void
flow_ledger_grow(struct flow_ledger *l)
{
    struct flow_ledger_entry *old = l->slots;
    size_t n_old = l->mask + 1;

    l->mask = 2 * n_old - 1;
    l->slots = xcalloc(l->mask + 1, sizeof *l->slots);
    for (size_t i = 0; i < n_old; i++) {
        if (old[i].used) {
            l->slots[flow_ledger_find(l, &old[i].ufid)] = old[i];
        }
    }
    free(old);
}

/* Removes the entry in slot 'i' and closes the gap (backward shift). */
static void
flow_ledger_remove_slot(struct flow_ledger *l, size_t i)
{
    struct flow_ledger_entry *e = &l->slots[i];

    l->bytes -= e->bytes;
    l->owner_bytes[e->owner] -= e->bytes;
    l->n--;
    e->used = false;
    for (size_t j = (i + 1) & l->mask; l->slots[j].used;
         j = (j + 1) & l->mask) {
        size_t home = (hash_bytes(&l->slots[j].ufid, sizeof l->slots[j].ufid,
                                  l->basis) & l->mask);
        /* Move j into the hole at i unless its home lies in (i, j]. */
        bool stays = (i <= j ? (home > i && home <= j)
                      : (home > i || home <= j));
        if (!stays) {
            l->slots[i] = l->slots[j];
            l->slots[j].used = false;
            i = j;
        }
    }
}

void
flow_ledger_charge(struct flow_ledger *l, const union ufid *ufid,
                   unsigned int owner, uint64_t bytes)
{
    size_t i = flow_ledger_find(l, ufid);

    if (l->slots[i].used) {
        flow_ledger_remove_slot(l, i);
    }
    if (2 * (l->n + 1) > l->mask + 1) {
        flow_ledger_grow(l);
    }
    i = flow_ledger_find(l, ufid);
    l->slots[i] = (struct flow_ledger_entry) {
        .ufid = *ufid, .bytes = bytes,
        .owner = (uint16_t) flow_ledger_owner(l, owner), .used = true,
    };
    l->n++;
    l->bytes += bytes;
    l->owner_bytes[l->slots[i].owner] += bytes;
}

void
flow_ledger_resize(struct flow_ledger *l, const union ufid *ufid,
                   uint64_t bytes)
{
    struct flow_ledger_entry *e = &l->slots[flow_ledger_find(l, ufid)];

    if (e->used) {
        l->bytes = l->bytes - e->bytes + bytes;
        l->owner_bytes[e->owner] = l->owner_bytes[e->owner] - e->bytes
                                   + bytes;
        e->bytes = bytes;
    }
}

void
flow_ledger_release(struct flow_ledger *l, const union ufid *ufid)
{
    size_t i = flow_ledger_find(l, ufid);

    if (l->slots[i].used) {
        flow_ledger_remove_slot(l, i);
    }
}

size_t
flow_ledger_reconcile(struct flow_ledger *l, uint64_t n_flows,
                      bool (*exists)(const union ufid *, void *aux),
                      void *aux)
{
    long long now = time_msec();
    size_t removed = 0;

    if (n_flows >= l->n
        && now - l->reconciled_msec < FLOW_LEDGER_RECONCILE_MSEC) {
        return 0;
    }
    l->reconciled_msec = now;
    COUNTER_INC(flow_ledger_reconciliations);
    for (size_t i = 0; i <= l->mask; ) {
        if (l->slots[i].used && !exists(&l->slots[i].ufid, aux)) {
            /* The backward shift may move an unchecked entry into 'i'. */
            flow_ledger_remove_slot(l, i);
            removed++;
            COUNTER_INC(flow_ledger_stale);
        } else {
            i++;
        }
    }
    return removed;
}

uint64_t
flow_ledger_bytes(const struct flow_ledger *l)
{
    return l->bytes;
}

uint64_t
flow_ledger_owner_bytes(const struct flow_ledger *l, unsigned int owner)
{
    return l->owner_bytes[flow_ledger_owner(l, owner)];
}

size_t
flow_ledger_count(const struct flow_ledger *l)
{
    return l->n;
}
