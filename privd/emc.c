#include "privd/emc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

static_assert((EMC_ENTRIES & (EMC_ENTRIES - 1)) == 0,
              "EMC_ENTRIES must be a power of 2");
static_assert(EMC_ENTRIES <= (1u << 15),
              "the ways use hash bits 0-14 and 16-30, the victim bit 31");

struct emc_entry {
    uintptr_t rule;             /* Address of the rule that matched 'flow'
                                   (not owned; possibly freed since), or 0
                                   for an empty entry. */
    uint64_t generation;        /* classifier_generation() when filled or
                                   last found valid. */
    uint32_t hash;              /* Hash of 'flow' under the EMC's basis. */
    uint8_t pad[4];             /* Unused. */
    struct flow flow;           /* The packet flow, unmasked. */
};

struct emc {
    struct classifier *cls;     /* The classifier behind the cache.  Not
                                   owned; outlives the EMC. */
    uint32_t basis;             /* Hash basis, secret like the classifier's. */
    struct emc_stats stats;     /* Counters. */
    struct emc_entry entries[EMC_ENTRIES]; /* The cache. */
};

struct emc *
emc_create(struct classifier *cls)
{
    struct emc *emc = xzalloc(sizeof *emc);

    emc->cls = cls;
    emc->basis = hash_int(0x454d43, cls->secret);
    return emc;
}

void
emc_destroy(struct emc *emc)
{
    free(emc);
}

/* True if 'e' holds a rule that is still inserted in 'emc''s classifier,
 * whose generation is 'generation'; re-stamps 'e' if so. */
static inline bool
emc_entry_is_valid(const struct emc *emc, struct emc_entry *e,
                   uint64_t generation)
{
    if (!e->rule) {
        return false;
    }
    if (e->generation != generation) {
        if (classifier_rule_may_be_gone(emc->cls, e->rule, e->generation)) {
            e->rule = 0;
            return false;
        }
        e->generation = generation;
    }
    return true;
}

struct cls_rule *
emc_lookup(struct emc *emc, const struct flow *pkt, unsigned int *n_searchedp)
{
    uint64_t generation = classifier_generation(emc->cls);
    uint32_t hash = flow_hash(pkt, emc->basis);
    struct emc_entry *way[2] = {
        &emc->entries[hash & (EMC_ENTRIES - 1)],
        &emc->entries[(hash >> 16) & (EMC_ENTRIES - 1)],
    };

    for (int i = 0; i < 2; i++) {
        struct emc_entry *e = way[i];

        if (e->hash == hash && emc_entry_is_valid(emc, e, generation)
            && !memcmp(&e->flow, pkt, sizeof *pkt)) {
            emc->stats.n_hit++;
            if (n_searchedp) {
                *n_searchedp = 0;
            }
            return (struct cls_rule *) e->rule;
        }
    }
    emc->stats.n_miss++;

    struct cls_rule *rule = classifier_lookup(emc->cls, pkt, n_searchedp);
    if (rule) {
        struct emc_entry *victim;

        if (!emc_entry_is_valid(emc, way[0], generation)) {
            victim = way[0];
        } else if (!emc_entry_is_valid(emc, way[1], generation)) {
            victim = way[1];
        } else {
            /* Both busy: a hash bit neither way index uses picks one. */
            victim = way[(hash >> 31) & 1];
            emc->stats.n_evict++;
        }
        victim->rule = (uintptr_t) rule;
        victim->generation = generation;
        victim->hash = hash;
        victim->flow = *pkt;
        emc->stats.n_insert++;
    }
    return rule;
}

void
emc_flush(struct emc *emc)
{
    for (size_t i = 0; i < EMC_ENTRIES; i++) {
        emc->entries[i].rule = 0;
    }
}

void
emc_get_stats(const struct emc *emc, struct emc_stats *stats)
{
    *stats = emc->stats;
}
