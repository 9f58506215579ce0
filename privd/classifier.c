#include "privd/classifier.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/hash.h"

COUNTER_DEFINE(classifier_long_probe);
COUNTER_DEFINE(classifier_rekey);

/* Smallest table size (slots, a power of 2). */
#define CLS_MIN_SLOTS 8

static_assert(FLOW_U64S <= UINT8_MAX, "word indexes must fit in uint8_t");

/* All the rules that share one mask.  Hot members first: a lookup reads
 * 'n_words' .. 'rules' and nothing else unless a slot's hash matches. */
struct cls_subtable {
    unsigned int n_words;         /* Nonzero 64-bit words in the mask. */
    uint32_t basis;               /* Secret basis of the rule hashes. */
    uint8_t idx[FLOW_U64S];       /* Indexes of those words in struct flow. */
    uint64_t words[FLOW_U64S];    /* Their values ('n_words' used). */
    struct cls_htable rules;      /* Rules (struct cls_rule *, not owned) by
                                     subtable_hash() of their key. */
    uint64_t window_hits;         /* Hits since the last ranking, plus half
                                     of the previous window's. */
    uint32_t mask_hash;           /* flow_hash() of 'mask' in 'by_mask'. */
    struct flow mask;             /* The mask of every rule here. */
};

static inline const uint64_t *
flow_words(const struct flow *flow)
{
    return (const uint64_t *) (const void *) flow;
}

/* Open-addressing hash table. */

static void
htable_init(struct cls_htable *t, size_t n_slots)
{
    t->slots = xcalloc(n_slots, sizeof *t->slots);
    t->mask = n_slots - 1;
    t->n = 0;
    t->rekeyed = false;
}

static void
htable_destroy(struct cls_htable *t)
{
    free(t->slots);
    t->slots = NULL;
}

/* Stores 'elem' in the first free slot of the probe sequence of 'hash' and
 * returns how many slots it skipped.  The table must have a free slot. */
static size_t
htable_place(struct cls_htable *t, uint32_t hash, void *elem)
{
    size_t i = hash & t->mask;
    size_t dist = 0;

    while (t->slots[i].elem) {
        i = (i + 1) & t->mask;
        dist++;
    }
    t->slots[i].hash = hash;
    t->slots[i].elem = elem;
    t->n++;
    return dist;
}

static void
htable_resize(struct cls_htable *t, size_t n_slots)
{
    struct cls_htable old = *t;

    htable_init(t, n_slots);
    for (size_t i = 0; i <= old.mask; i++) {
        if (old.slots[i].elem) {
            htable_place(t, old.slots[i].hash, old.slots[i].elem);
        }
    }
    free(old.slots);
}

/* Inserts 'elem' (no duplicate check), growing the table to keep its load
 * at most 3/4.  Returns the probe distance of the new element. */
static size_t
htable_insert(struct cls_htable *t, uint32_t hash, void *elem)
{
    if ((t->n + 1) * 4 > (t->mask + 1) * 3) {
        htable_resize(t, (t->mask + 1) * 2);
    }
    return htable_place(t, hash, elem);
}

/* Removes 'elem', which must be in 't' under 'hash', by shifting the rest of
 * its cluster back (no tombstones, so probe sequences stay short), then
 * halves the table if its load fell below 1/8. */
static void
htable_remove(struct cls_htable *t, uint32_t hash, const void *elem)
{
    size_t i = hash & t->mask;

    while (t->slots[i].elem != elem) {
        assert(t->slots[i].elem);
        i = (i + 1) & t->mask;
    }

    size_t hole = i;
    for (size_t j = (i + 1) & t->mask; t->slots[j].elem;
         j = (j + 1) & t->mask) {
        size_t home = t->slots[j].hash & t->mask;

        /* The element at 'j' may fill the hole unless its home slot lies
         * after the hole, i.e. in (hole, j]. */
        if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole].elem = NULL;
    t->n--;

    if (t->mask + 1 > CLS_MIN_SLOTS && t->n * 8 < t->mask + 1) {
        htable_resize(t, (t->mask + 1) / 2);
    }
}

/* Subtables. */

/* Hash of 'flow' (given as words) under the mask of 'st'.  Equal for every
 * packet that the same rule of 'st' matches. */
static inline uint32_t
subtable_hash(const struct cls_subtable *st, const uint64_t *flow)
{
    uint32_t hash = st->basis;

    for (unsigned int k = 0; k < st->n_words; k++) {
        hash = hash_add64(hash, flow[st->idx[k]] & st->words[k]);
    }
    return hash_finish(hash, st->n_words * 8);
}

/* True if 'flow' & mask of 'st' equals the key of 'rule' (a rule of 'st',
 * whose key is zero outside the mask). */
static inline bool
subtable_match(const struct cls_subtable *st, const uint64_t *flow,
               const struct cls_rule *rule)
{
    const uint64_t *key = flow_words(&rule->key);

    for (unsigned int k = 0; k < st->n_words; k++) {
        unsigned int i = st->idx[k];

        if ((flow[i] & st->words[k]) != key[i]) {
            return false;
        }
    }
    return true;
}

static inline struct cls_rule *
subtable_find(const struct cls_subtable *st, const uint64_t *flow,
              uint32_t hash)
{
    const struct cls_slot *slots = st->rules.slots;
    size_t mask = st->rules.mask;

    /* The load factor is at most 3/4, so an empty slot ends every probe. */
    for (size_t i = hash & mask; slots[i].elem; i = (i + 1) & mask) {
        if (slots[i].hash == hash && subtable_match(st, flow, slots[i].elem)) {
            return slots[i].elem;
        }
    }
    return NULL;
}

/* A fresh secret basis for a subtable. */
static uint32_t
classifier_next_basis(struct classifier *cls)
{
    return hash_int(cls->n_bases++, cls->secret);
}

static struct cls_subtable *
classifier_find_subtable(const struct classifier *cls,
                         const struct flow *mask, uint32_t mask_hash)
{
    const struct cls_htable *t = &cls->by_mask;

    for (size_t i = mask_hash & t->mask; t->slots[i].elem;
         i = (i + 1) & t->mask) {
        struct cls_subtable *st = t->slots[i].elem;

        if (t->slots[i].hash == mask_hash
            && !memcmp(&st->mask, mask, sizeof *mask)) {
            return st;
        }
    }
    return NULL;
}

static struct cls_subtable *
classifier_create_subtable(struct classifier *cls, const struct flow *mask,
                           uint32_t mask_hash)
{
    struct cls_subtable *st = xzalloc(sizeof *st);
    const uint64_t *m = flow_words(mask);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i]) {
            st->idx[st->n_words] = (uint8_t) i;
            st->words[st->n_words] = m[i];
            st->n_words++;
        }
    }
    st->basis = classifier_next_basis(cls);
    htable_init(&st->rules, CLS_MIN_SLOTS);
    st->mask_hash = mask_hash;
    st->mask = *mask;

    htable_insert(&cls->by_mask, mask_hash, st);
    if (cls->n_subtables == cls->allocated) {
        cls->allocated = cls->allocated ? cls->allocated * 2 : 8;
        cls->ranked = xrealloc(cls->ranked,
                               cls->allocated * sizeof *cls->ranked);
    }
    cls->ranked[cls->n_subtables++] = st;
    return st;
}

static void
classifier_destroy_subtable(struct classifier *cls, struct cls_subtable *st)
{
    size_t i;

    for (i = 0; cls->ranked[i] != st; i++) {
        assert(i + 1 < cls->n_subtables);
    }
    memmove(&cls->ranked[i], &cls->ranked[i + 1],
            (cls->n_subtables - i - 1) * sizeof *cls->ranked);
    cls->n_subtables--;

    htable_remove(&cls->by_mask, st->mask_hash, st);
    htable_destroy(&st->rules);
    free(st);
}

/* Gives 'st' a fresh basis and rehashes its rules: called when an insertion
 * probed suspiciously far, which a basis that leaked would explain. */
static void
classifier_rekey_subtable(struct classifier *cls, struct cls_subtable *st)
{
    struct cls_htable old = st->rules;

    st->basis = classifier_next_basis(cls);
    htable_init(&st->rules, old.mask + 1);
    for (size_t i = 0; i <= old.mask; i++) {
        struct cls_rule *rule = old.slots[i].elem;

        if (rule) {
            rule->hash = subtable_hash(st, flow_words(&rule->key));
            htable_place(&st->rules, rule->hash, rule);
        }
    }
    free(old.slots);
    st->rules.rekeyed = true;
    COUNTER_INC(classifier_rekey);
}

/* Public interface. */

void
classifier_init_seeded(struct classifier *cls, uint32_t secret)
{
    memset(cls, 0, sizeof *cls);
    htable_init(&cls->by_mask, CLS_MIN_SLOTS);
    cls->secret = secret;
    cls->until_rank = CLS_RANK_INTERVAL;
}

void
classifier_init(struct classifier *cls)
{
    uint32_t secret;

    if (getrandom(&secret, sizeof secret, GRND_NONBLOCK) != sizeof secret) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        secret = hash_int((uint32_t) ts.tv_nsec,
                          hash_int((uint32_t) getpid(),
                                   (uint32_t) ts.tv_sec));
    }
    classifier_init_seeded(cls, secret);
}

void
classifier_destroy(struct classifier *cls)
{
    struct cls_rule *rule, *next;

    CLASSIFIER_FOR_EACH_SAFE (rule, next, cls) {
        rule->subtable = NULL;
        rule->prev = rule->next = NULL;
    }
    for (size_t i = 0; i < cls->n_subtables; i++) {
        htable_destroy(&cls->ranked[i]->rules);
        free(cls->ranked[i]);
    }
    free(cls->ranked);
    htable_destroy(&cls->by_mask);
    memset(cls, 0, sizeof *cls);
}

int
classifier_insert(struct classifier *cls, struct cls_rule *rule,
                  const struct flow *key, const struct flow *mask)
{
    uint32_t mask_hash = flow_hash(mask, cls->secret);
    struct cls_subtable *st = classifier_find_subtable(cls, mask, mask_hash);
    struct flow masked;
    uint32_t hash;

    flow_apply_mask(&masked, key, mask);
    if (st) {
        hash = subtable_hash(st, flow_words(&masked));
        if (subtable_find(st, flow_words(&masked), hash)) {
            return EEXIST;
        }
    } else {
        st = classifier_create_subtable(cls, mask, mask_hash);
        hash = subtable_hash(st, flow_words(&masked));
    }

    rule->key = masked;
    rule->subtable = st;
    rule->hash = hash;
    if (htable_insert(&st->rules, hash, rule) > CLS_PROBE_LIMIT) {
        COUNTER_INC(classifier_long_probe);
        if (!st->rules.rekeyed) {
            classifier_rekey_subtable(cls, st);
        }
    }

    rule->prev = cls->tail;
    rule->next = NULL;
    if (cls->tail) {
        cls->tail->next = rule;
    } else {
        cls->head = rule;
    }
    cls->tail = rule;
    cls->n_rules++;
    return 0;
}

void
classifier_remove(struct classifier *cls, struct cls_rule *rule)
{
    struct cls_subtable *st = rule->subtable;

    assert(st);
    htable_remove(&st->rules, rule->hash, rule);

    if (rule->prev) {
        rule->prev->next = rule->next;
    } else {
        cls->head = rule->next;
    }
    if (rule->next) {
        rule->next->prev = rule->prev;
    } else {
        cls->tail = rule->prev;
    }
    rule->prev = rule->next = NULL;
    rule->subtable = NULL;
    cls->n_rules--;
    cls->removed[cls->generation % CLS_REMOVED_LOG] = (uintptr_t) rule;
    cls->generation++;

    if (!st->rules.n) {
        classifier_destroy_subtable(cls, st);
    }
}

struct cls_rule *
classifier_find_exact(const struct classifier *cls, const struct flow *key,
                      const struct flow *mask)
{
    const struct cls_subtable *st
        = classifier_find_subtable(cls, mask, flow_hash(mask, cls->secret));
    const uint64_t *k = flow_words(key);

    return st ? subtable_find(st, k, subtable_hash(st, k)) : NULL;
}

struct cls_rule *
classifier_lookup(struct classifier *cls, const struct flow *pkt,
                  unsigned int *n_searchedp)
{
    const uint64_t *f = flow_words(pkt);
    struct cls_rule *rule = NULL;
    size_t n_searched = 0;

    while (n_searched < cls->n_subtables) {
        struct cls_subtable *st = cls->ranked[n_searched++];

        rule = subtable_find(st, f, subtable_hash(st, f));
        if (rule) {
            st->window_hits++;
            break;
        }
    }

    cls->stats.n_mask_hit += n_searched;
    if (rule) {
        cls->stats.n_hit++;
        cls->stats.n_mask_hit_on_hit += n_searched;
    } else {
        cls->stats.n_missed++;
    }
    if (--cls->until_rank == 0) {
        classifier_rank_subtables(cls);
    }
    if (n_searchedp) {
        *n_searchedp = (unsigned int) n_searched;
    }
    return rule;
}

void
classifier_rank_subtables(struct classifier *cls)
{
    struct cls_subtable **v = cls->ranked;

    /* Insertion sort: stable, so ties keep their order, and linear on the
     * nearly sorted vector that successive windows usually produce. */
    for (size_t i = 1; i < cls->n_subtables; i++) {
        struct cls_subtable *st = v[i];
        size_t j = i;

        while (j > 0 && v[j - 1]->window_hits < st->window_hits) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = st;
    }
    for (size_t i = 0; i < cls->n_subtables; i++) {
        v[i]->window_hits /= 2;
    }
    cls->until_rank = CLS_RANK_INTERVAL;
}

size_t
classifier_count(const struct classifier *cls)
{
    return cls->n_rules;
}

size_t
classifier_n_subtables(const struct classifier *cls)
{
    return cls->n_subtables;
}

bool
classifier_is_empty(const struct classifier *cls)
{
    return !cls->n_rules;
}

void
classifier_get_stats(const struct classifier *cls,
                     struct classifier_stats *stats)
{
    *stats = cls->stats;
    stats->n_masks = cls->n_subtables;
    stats->n_rules = cls->n_rules;
}

const struct flow *
cls_rule_mask(const struct cls_rule *rule)
{
    assert(rule->subtable);
    return &rule->subtable->mask;
}

bool
cls_rule_matches(const struct cls_rule *rule, const struct flow *pkt)
{
    assert(rule->subtable);
    return subtable_match(rule->subtable, flow_words(pkt), rule);
}

bool
classifier_rule_may_be_gone(const struct classifier *cls, uintptr_t rule,
                            uint64_t generation)
{
    if (cls->generation - generation > CLS_REMOVED_LOG) {
        return true;
    }
    for (uint64_t g = generation; g < cls->generation; g++) {
        if (cls->removed[g % CLS_REMOVED_LOG] == rule) {
            return true;
        }
    }
    return false;
}
