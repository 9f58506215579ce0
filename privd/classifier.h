/*
 * classifier.h — the megaflow classifier of the userspace datapath.
 *
 * Overview
 * ========
 *
 * The userspace datapath (the "netdev" and "dummy" providers inside privd)
 * keeps a table of megaflows: a "key" and a "mask", both struct flow, where a
 * 1 bit in the mask means "this bit of the key is matched" (common/flow.h).
 * For every received packet it extracts a struct flow and asks the
 * classifier for the megaflow that matches it.  This module answers that
 * question; it knows nothing of actions, statistics or UFIDs, which live in
 * the caller's flow record.
 *
 *
 * Tuple space search
 * ==================
 *
 * Megaflows that share a mask are grouped in a "subtable": a hash table of
 * their masked keys.  Looking a packet up in one subtable is one hash of the
 * packet under the subtable's mask and one probe sequence, whatever the
 * number of flows in it.  A lookup tries the subtables one after another, so
 * its cost is O(number of distinct masks), not O(number of flows).  Open
 * vSwitch's kernel module and its dpif-netdev do the same; the kernel calls
 * a subtable a "mask" and reports how many it visits (n_mask_hit, n_masks in
 * struct classifier_stats and the seeds' struct dpif_dp_stats).
 *
 * Subtables are created on the first insertion of a flow with a new mask and
 * freed when their last flow is removed, so the number of subtables always
 * equals the number of distinct masks in use ("masks collapse").
 *
 * Inside a subtable only the 64-bit words of struct flow that the mask
 * touches are hashed and compared (a typical megaflow matches 2 to 5 of the
 * 18 words), with a per-subtable secret hash basis.  The basis derives from a
 * secret the classifier draws from getrandom(2) at init, so an outsider who
 * chooses packet headers cannot predict which keys share a probe sequence.
 * That is a mitigation, not a guarantee: the Murmur-style mix of common/hash.h
 * is no keyed PRF, and keys that collide whatever the basis are easy to build
 * (tests/unit/test_classifier.c builds 128 of them).  Probe sequences are bounded in practice by a 3/4 maximum
 * load factor; an insertion that nevertheless probes more than
 * CLS_PROBE_LIMIT slots counts "classifier_long_probe" and re-keys the
 * subtable with a fresh basis once per table size (counter
 * "classifier_rekey").  The datapath's flow limit bounds the rest.
 *
 *
 * Lookup semantics: no priorities, first match wins
 * =================================================
 *
 * A datapath flow table has no priorities (see "Flow Table" in the seeds'
 * dpif.h): it is the client's job never to install two megaflows that
 * overlap, i.e. that both match some packet.  Given that rule, at most one
 * megaflow matches any packet and the order in which the subtables are
 * searched cannot change the answer, only its cost.  So classifier_lookup()
 * returns the first match it finds, and searches the subtables in "rank"
 * order: most hits first.  Hits are counted per subtable; every
 * CLS_RANK_INTERVAL lookups (or on classifier_rank_subtables()) the subtables
 * are re-sorted by hits in the elapsed window, and the window counts are
 * halved so that the ranking follows the traffic.  A new subtable starts at
 * the end of the ranking.
 *
 * The classifier does not detect overlap (that would cost O(flows) per
 * insertion).  If a client breaks the rule anyway, classifier_lookup()
 * still returns a rule that matches the packet, but which one of the
 * overlapping rules is unspecified and may change as the ranking changes.
 * Exact duplicates (same mask and same masked key) are refused with EEXIST:
 * they are the FLOW_PUT collisions that the dpif reports to its client.
 *
 *
 * Rules and ownership
 * ===================
 *
 * The classifier is intrusive: the caller embeds a struct cls_rule in its own
 * flow record and gets the record back with CONTAINER_OF() from the rule that
 * classifier_lookup() returns:
 *
 *     struct dp_flow {
 *         struct cls_rule cr;        -- in the classifier
 *         ...actions, stats, ufid...
 *     };
 *
 *     error = classifier_insert(&cls, &f->cr, &key, &mask);  -- 0 or EEXIST
 *     ...
 *     struct cls_rule *cr = classifier_lookup(&cls, &pkt_flow, NULL);
 *     if (cr) {
 *         struct dp_flow *f = CONTAINER_OF(cr, struct dp_flow, cr);
 *         ...
 *     }
 *     ...
 *     classifier_remove(&cls, &f->cr);
 *     free(f);
 *
 * The caller owns every rule's memory; the classifier never allocates or
 * frees a rule, and never allocates on the lookup path.  A rule must stay
 * valid, and must not move, from classifier_insert() until
 * classifier_remove() (or classifier_destroy()) returns.  The classifier
 * owns its subtables; a rule's mask (cls_rule_mask()) is the subtable's copy
 * and is valid only while the rule is inserted.
 *
 * The key is stored pre-masked (key & mask).  The datapath is required to
 * return the key the client supplied, unmasked (seeds' dpif.h); the caller's
 * flow record keeps that original.
 *
 *
 * Iteration
 * =========
 *
 * CLASSIFIER_FOR_EACH_SAFE() visits every rule, in insertion order, and
 * tolerates the removal (and freeing) of the rule being visited; it must not
 * be used to remove any other rule, nor to insert.  Iteration is O(rules).
 *
 *
 * Complexity
 * ==========
 *
 *   classifier_lookup()        O(masks): one sparse hash + one probe each
 *   classifier_find_exact()    O(1) expected (hash of the mask, then of key)
 *   classifier_insert()        O(1) amortised (tables double at 3/4 load)
 *   classifier_remove()        O(1) amortised (tables halve at 1/8 load);
 *                              O(masks) when it frees a subtable
 *   iteration                  O(rules)
 *
 *
 * Thread safety
 * =============
 *
 * None.  dpifd processes are single-threaded (design.md); a struct
 * classifier belongs to the one thread of privd that runs the userspace
 * datapath.  classifier_lookup() writes statistics and the ranking, so even
 * concurrent lookups are not allowed.
 */
#ifndef DPIF_CLASSIFIER_H
#define DPIF_CLASSIFIER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"

struct cls_subtable;

/* A slot of the classifier's open-addressing hash tables (private). */
struct cls_slot {
    uint32_t hash;              /* Hash of the element; meaningless if empty. */
    void *elem;                 /* Element (a rule or a subtable, not owned),
                                   or NULL for an empty slot. */
};

/* An open-addressing hash table with linear probing and backward-shift
 * deletion (private to classifier.c; here only to embed it). */
struct cls_htable {
    struct cls_slot *slots;     /* Owned array of 'mask' + 1 slots. */
    size_t mask;                /* Number of slots minus one (power of 2). */
    size_t n;                   /* Nonempty slots. */
    bool rekeyed;               /* Re-keyed since the last resize. */
};

/* Lookups between two automatic re-rankings of the subtables. */
#define CLS_RANK_INTERVAL 8192

/* Probe length past which an insertion counts as suspicious (see above). */
#define CLS_PROBE_LIMIT 64

/* Removals remembered for caches of rule pointers (classifier_rule_may_be_gone()). */
#define CLS_REMOVED_LOG 32

/* A megaflow in the classifier.  Embedded by the caller in its own record;
 * the members are the classifier's, read-only for the caller while the rule
 * is inserted. */
struct cls_rule {
    struct flow key;                /* Key & mask (pre-masked). */
    struct cls_subtable *subtable;  /* Subtable holding this rule while it is
                                       inserted, NULL otherwise.  Owned by
                                       the classifier. */
    struct cls_rule *prev;          /* Previous rule in insertion order, NULL
                                       for the first.  Not owned. */
    struct cls_rule *next;          /* Next rule in insertion order, NULL for
                                       the last.  Not owned. */
    uint32_t hash;                  /* Hash of 'key' in its subtable. */
};

/* Counters of a classifier (classifier_get_stats()). */
struct classifier_stats {
    uint64_t n_hit;             /* Lookups that found a rule. */
    uint64_t n_missed;          /* Lookups that found none. */
    uint64_t n_mask_hit;        /* Subtables searched, summed over every
                                   lookup (hit or miss), as the Linux kernel
                                   counts OVS_DP_ATTR_MEGAFLOW_STATS: the
                                   average masks per packet is
                                   n_mask_hit / (n_hit + n_missed). */
    uint64_t n_mask_hit_on_hit; /* Subtables searched, summed over the lookups
                                   that hit only: a measure of the ranking
                                   (1.0 per hit is ideal). */
    size_t n_masks;             /* Subtables (distinct masks) now. */
    size_t n_rules;             /* Rules now. */
};

/* A set of megaflows.  The members are private to classifier.c. */
struct classifier {
    struct cls_subtable **ranked;   /* Subtables, most hits first.  Owned:
                                       the array and every subtable. */
    size_t n_subtables;             /* Elements in 'ranked'. */
    size_t allocated;               /* Capacity of 'ranked'. */
    struct cls_htable by_mask;      /* Subtables by hash of their mask; the
                                       elements are those of 'ranked'. */
    struct cls_rule *head;          /* First rule in insertion order. */
    struct cls_rule *tail;          /* Last rule in insertion order. */
    size_t n_rules;                 /* Rules inserted. */
    uint32_t secret;                /* Hash secret drawn at init. */
    uint32_t n_bases;               /* Bases derived from 'secret' so far. */
    uint64_t generation;            /* Removals so far; never wraps. */
    uintptr_t removed[CLS_REMOVED_LOG]; /* Addresses of the latest removed
                                       rules: removed[g % CLS_REMOVED_LOG]
                                       is the rule whose removal made the
                                       generation g + 1.  Never dereferenced. */
    unsigned int until_rank;        /* Lookups left before the next ranking. */
    struct classifier_stats stats;  /* n_hit ... n_mask_hit_on_hit; the two
                                       sizes are filled in on demand. */
};

/* Initialises 'cls' as an empty classifier with a hash secret from
 * getrandom(2) (falling back to the clock and the pid if that fails). */
void classifier_init(struct classifier *cls);

/* Same with a caller-chosen secret: for tests and benchmarks that must be
 * reproducible.  Never use a predictable secret in the datapath. */
void classifier_init_seeded(struct classifier *cls, uint32_t secret);

/* Frees everything 'cls' owns.  Rules still inserted are detached (their
 * 'subtable' becomes NULL) but not freed: their memory is the caller's. */
void classifier_destroy(struct classifier *cls);

/* Inserts 'rule' (whose current contents are ignored) matching 'key' under
 * 'mask'.  Returns 0, or EEXIST (and leaves 'rule' out of 'cls') if a rule
 * with the same mask and the same masked key is already inserted.  'key' and
 * 'mask' are copied; 'rule' must remain valid until it is removed. */
int classifier_insert(struct classifier *cls, struct cls_rule *rule,
                      const struct flow *key, const struct flow *mask)
    WARN_UNUSED;

/* Removes 'rule', which must be inserted in 'cls', and frees its subtable if
 * it was the last rule with its mask.  The caller may free 'rule' as soon as
 * this returns. */
void classifier_remove(struct classifier *cls, struct cls_rule *rule);

/* Returns the rule inserted with exactly 'mask' whose key equals 'key' under
 * that mask (bits of 'key' outside 'mask' are ignored), or NULL.  This is
 * identity, not matching: a rule with another mask is never returned. */
struct cls_rule *classifier_find_exact(const struct classifier *cls,
                                       const struct flow *key,
                                       const struct flow *mask);

/* Returns a rule that matches 'pkt' (the first one found in rank order; see
 * "Lookup semantics" above), or NULL.  If 'n_searchedp' is nonnull, stores in
 * it the number of subtables searched, on a hit or a miss.  Updates the
 * statistics and, every CLS_RANK_INTERVAL calls, the ranking.  The returned
 * rule is the caller's, valid until the caller removes it. */
struct cls_rule *classifier_lookup(struct classifier *cls,
                                   const struct flow *pkt,
                                   unsigned int *n_searchedp);

/* Re-sorts the subtables by hits since the previous ranking, now. */
void classifier_rank_subtables(struct classifier *cls);

/* Number of rules. */
size_t classifier_count(const struct classifier *cls);

/* Number of subtables, i.e. of distinct masks. */
size_t classifier_n_subtables(const struct classifier *cls);

bool classifier_is_empty(const struct classifier *cls);

/* Stores the counters of 'cls' in '*stats'. */
void classifier_get_stats(const struct classifier *cls,
                          struct classifier_stats *stats);

/* The mask of 'rule', owned by the classifier and valid while 'rule' is
 * inserted.  'rule' must be inserted. */
const struct flow *cls_rule_mask(const struct cls_rule *rule);

/* True if 'rule' is inserted in a classifier. */
static inline bool
cls_rule_is_inserted(const struct cls_rule *rule)
{
    return rule->subtable != NULL;
}

/* True if 'pkt' matches 'rule', which must be inserted. */
bool cls_rule_matches(const struct cls_rule *rule, const struct flow *pkt);

/* Caches of rule pointers (the EMC)
 * ==================================
 *
 * A cache that keeps rule pointers across calls must not use one after the
 * caller removed and freed its rule.  Such a cache records
 * classifier_generation(), a count of removals, with every pointer it
 * stores; before it trusts a pointer again it asks
 * classifier_rule_may_be_gone() whether that rule could have been removed
 * since.  The classifier remembers the addresses of the last
 * CLS_REMOVED_LOG removed rules, so the answer is exact for entries at most
 * that many removals old and a conservative "yes" beyond.  A rule that was
 * removed and inserted again (or a new rule at a recycled address) also
 * reads as gone: a false alarm costs one classifier lookup, never a wrong
 * answer.  Neither function dereferences the rule. */
static inline uint64_t
classifier_generation(const struct classifier *cls)
{
    return cls->generation;
}

/* True if the rule at address 'rule', inserted when the generation was
 * 'generation' (or found by a lookup then), may have been removed since. */
bool classifier_rule_may_be_gone(const struct classifier *cls,
                                 uintptr_t rule, uint64_t generation);

/* First and next rule in insertion order, NULL at the end. */
static inline struct cls_rule *
classifier_first(const struct classifier *cls)
{
    return cls->head;
}

static inline struct cls_rule *
classifier_next(const struct cls_rule *rule)
{
    return rule->next;
}

/* Iterates RULE (a struct cls_rule *) over every rule of CLS, with NEXT (a
 * struct cls_rule *) as scratch, so that the body may remove RULE. */
#define CLASSIFIER_FOR_EACH_SAFE(RULE, NEXT, CLS)                         \
    for ((RULE) = classifier_first(CLS);                                  \
         (RULE) != NULL && ((NEXT) = classifier_next(RULE), true);        \
         (RULE) = (NEXT))

#endif /* classifier.h */
