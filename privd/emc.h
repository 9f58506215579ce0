/*
 * emc.h — exact-match cache in front of the megaflow classifier.
 *
 * Overview
 * ========
 *
 * classifier_lookup() costs one hash and one probe per mask, and a datapath
 * routinely holds dozens of masks.  Most traffic, though, belongs to a small
 * number of long-lived connections whose packets all extract to the same
 * struct flow.  The exact-match cache (EMC, as in Open vSwitch's
 * dpif-netdev) remembers, for recently seen packet flows, which rule matched
 * them: a hit costs one full hash of the packet's flow and one memcmp(),
 * whatever the number of masks.
 *
 * The cache has EMC_ENTRIES entries in 2-way sets: a flow may live in one of
 * two entries chosen by two halves of its hash.  Only hits of the classifier
 * are cached (a miss goes to userspace anyway).  A newcomer takes a free or
 * stale entry of its set if there is one, otherwise evicts one of the two.
 *
 *
 * Validity
 * ========
 *
 * An entry stores the address of a rule that the caller may free as soon as
 * classifier_remove() returns, so an entry must never be trusted once its
 * rule could have gone.  Every entry records classifier_generation() (the
 * number of removals so far) when it is filled or last confirmed; when the
 * generation has moved on, the entry is trusted only if
 * classifier_rule_may_be_gone() says its rule was not among the removals
 * since (the classifier remembers the last CLS_REMOVED_LOG of them), and is
 * then re-stamped.  So removing one flow costs the cache only that flow's
 * entries, unless more than CLS_REMOVED_LOG removals pass between two hits
 * of an entry, which makes it stale (a flush of a big table empties the
 * cache in effect, in O(1)).  The rule is dereferenced by nobody but the
 * caller, and only once the entry has been found valid.  Insertions do not
 * invalidate: megaflows do not overlap (classifier.h), so a packet's match
 * cannot change when another megaflow arrives.
 *
 *
 * Ownership and thread safety
 * ===========================
 *
 * An EMC is bound to one classifier at emc_create() and must be destroyed
 * before that classifier.  emc_create() allocates about EMC_ENTRIES * 170
 * bytes; nothing else allocates.  Not thread-safe: like the classifier, it
 * belongs to the one thread that runs the userspace datapath.
 */
#ifndef DPIF_EMC_H
#define DPIF_EMC_H 1

#include <stdint.h>

#include "common/flow.h"
#include "privd/classifier.h"

/* Entries in an EMC (a power of 2). */
#define EMC_ENTRIES 8192

/* Counters of an EMC (emc_get_stats()). */
struct emc_stats {
    uint64_t n_hit;             /* Packets answered by the cache. */
    uint64_t n_miss;            /* Packets passed on to the classifier. */
    uint64_t n_insert;          /* Entries filled after a classifier hit. */
    uint64_t n_evict;           /* Valid entries overwritten by a newcomer. */
};

struct emc;

/* Returns a new, empty EMC in front of 'cls', which must outlive it.  The
 * caller owns the EMC and frees it with emc_destroy(). */
struct emc *emc_create(struct classifier *cls);

/* Frees 'emc' (NULL is allowed).  The rules it pointed to are untouched. */
void emc_destroy(struct emc *emc);

/* Returns the rule that matches 'pkt', or NULL: from the cache if it holds a
 * valid entry for 'pkt', otherwise from classifier_lookup(), whose hit is
 * then cached.  If 'n_searchedp' is nonnull, stores the number of classifier
 * subtables searched (0 on a cache hit).  The returned rule is the caller's,
 * valid until the caller removes it. */
struct cls_rule *emc_lookup(struct emc *emc, const struct flow *pkt,
                            unsigned int *n_searchedp);

/* Empties the cache. */
void emc_flush(struct emc *emc);

/* Stores the counters of 'emc' in '*stats'. */
void emc_get_stats(const struct emc *emc, struct emc_stats *stats);

#endif /* emc.h */
