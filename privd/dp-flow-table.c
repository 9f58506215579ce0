/* The userspace datapath's flow table: flow records indexed by UFID, by
 * unmasked key and (through the classifier and the EMC) by masked key.  See
 * dp-flow-table.h. */
#include "privd/dp-flow-table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/util.h"
#include "privd/emc.h"

/* Buckets of an index at first; it doubles when it holds more flows than
 * buckets and never shrinks below this. */
#define INDEX_MIN_BUCKETS 64

static void
index_init(struct dp_flow_index *idx)
{
    idx->mask = INDEX_MIN_BUCKETS - 1;
    idx->buckets = xcalloc(INDEX_MIN_BUCKETS, sizeof *idx->buckets);
}

/* The chain link of 'f' in the index whose links are at 'link_ofs'. */
static struct dp_flow **
flow_link(struct dp_flow *f, size_t link_ofs)
{
    return (struct dp_flow **) (void *) ((char *) f + link_ofs);
}

static uint32_t
flow_index_hash(const struct dp_flow *f, size_t link_ofs)
{
    return (link_ofs == offsetof(struct dp_flow, ufid_next)
            ? f->ufid_hash : f->key_hash);
}

static void
index_insert(struct dp_flow_index *idx, struct dp_flow *f, size_t link_ofs,
             size_t n_flows)
{
    if (n_flows > idx->mask + 1) {
        size_t n_buckets = 2 * (idx->mask + 1);
        struct dp_flow **buckets = xcalloc(n_buckets, sizeof *buckets);
        for (size_t i = 0; i <= idx->mask; i++) {
            struct dp_flow *g = idx->buckets[i];
            while (g) {
                struct dp_flow *next = *flow_link(g, link_ofs);
                size_t b = flow_index_hash(g, link_ofs) & (n_buckets - 1);
                *flow_link(g, link_ofs) = buckets[b];
                buckets[b] = g;
                g = next;
            }
        }
        free(idx->buckets);
        idx->buckets = buckets;
        idx->mask = n_buckets - 1;
    }
    size_t b = flow_index_hash(f, link_ofs) & idx->mask;
    *flow_link(f, link_ofs) = idx->buckets[b];
    idx->buckets[b] = f;
}

static void
index_remove(struct dp_flow_index *idx, struct dp_flow *f, size_t link_ofs)
{
    struct dp_flow **p = &idx->buckets[flow_index_hash(f, link_ofs)
                                       & idx->mask];
    while (*p != f) {
        p = flow_link(*p, link_ofs);
    }
    *p = *flow_link(f, link_ofs);
}

void
dp_flow_table_init(struct dp_flow_table *t)
{
    uint32_t basis;

    if (getrandom(&basis, sizeof basis, GRND_NONBLOCK) != sizeof basis) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        basis = hash_int((uint32_t) ts.tv_nsec, (uint32_t) getpid());
    }
    t->basis = basis;
    classifier_init(&t->cls);
    t->emc = emc_create(&t->cls);
    index_init(&t->by_ufid);
    index_init(&t->by_key);
    t->n_flows = 0;
}

static void
dp_flow_free(struct dp_flow *f)
{
    free(f->key_attrs);
    free(f->actions);
    free(f);
}

void
dp_flow_table_flush(struct dp_flow_table *t)
{
    struct cls_rule *rule, *next;

    CLASSIFIER_FOR_EACH_SAFE (rule, next, &t->cls) {
        struct dp_flow *f = CONTAINER_OF(rule, struct dp_flow, cr);
        classifier_remove(&t->cls, rule);
        dp_flow_free(f);
    }
    memset(t->by_ufid.buckets, 0,
           (t->by_ufid.mask + 1) * sizeof *t->by_ufid.buckets);
    memset(t->by_key.buckets, 0,
           (t->by_key.mask + 1) * sizeof *t->by_key.buckets);
    emc_flush(t->emc);
    t->n_flows = 0;
}

void
dp_flow_table_destroy(struct dp_flow_table *t)
{
    dp_flow_table_flush(t);
    emc_destroy(t->emc);
    classifier_destroy(&t->cls);
    free(t->by_ufid.buckets);
    free(t->by_key.buckets);
}

static uint32_t
ufid_hash(const struct dp_flow_table *t, const union ufid *ufid)
{
    return hash_bytes(ufid, sizeof *ufid, t->basis);
}

static uint32_t
key_hash(const struct dp_flow_table *t, const struct flow *key)
{
    return flow_hash(key, t->basis);
}

struct dp_flow *
dp_flow_table_find_ufid(const struct dp_flow_table *t, const union ufid *ufid)
{
    uint32_t hash = ufid_hash(t, ufid);

    for (struct dp_flow *f = t->by_ufid.buckets[hash & t->by_ufid.mask]; f;
         f = f->ufid_next) {
        if (f->ufid_hash == hash && ufid_equals(&f->ufid, ufid)) {
            return f;
        }
    }
    return NULL;
}

struct dp_flow *
dp_flow_table_find_key(const struct dp_flow_table *t, const struct flow *key)
{
    uint32_t hash = key_hash(t, key);

    for (struct dp_flow *f = t->by_key.buckets[hash & t->by_key.mask]; f;
         f = f->key_next) {
        if (f->key_hash == hash && !memcmp(&f->key, key, sizeof *key)) {
            return f;
        }
    }
    return NULL;
}

struct dp_flow *
dp_flow_table_find_exact(const struct dp_flow_table *t,
                         const struct flow *key, const struct flow *mask)
{
    struct cls_rule *rule = classifier_find_exact(&t->cls, key, mask);
    return rule ? CONTAINER_OF(rule, struct dp_flow, cr) : NULL;
}

int
dp_flow_table_insert(struct dp_flow_table *t, const struct dp_flow_spec *spec,
                     struct dp_flow **flowp)
{
    if (dp_flow_table_find_ufid(t, spec->ufid)) {
        return EEXIST;
    }

    struct dp_flow *f = xzalloc(sizeof *f);
    if (classifier_insert(&t->cls, &f->cr, spec->key, spec->mask)) {
        free(f);
        return EEXIST;
    }
    f->ufid = *spec->ufid;
    f->ufid_hash = ufid_hash(t, &f->ufid);
    f->key = *spec->key;
    f->key_hash = key_hash(t, &f->key);
    f->mask = *spec->mask;
    f->key_attrs = xmalloc(spec->key_len + spec->mask_len + 1);
    memcpy(f->key_attrs, spec->key_attrs, spec->key_len);
    f->key_len = spec->key_len;
    f->mask_attrs = f->key_attrs + spec->key_len;
    if (spec->mask_len) {
        memcpy(f->mask_attrs, spec->mask_attrs, spec->mask_len);
    }
    f->mask_len = spec->mask_len;
    dp_flow_table_set_actions(f, spec->actions, spec->actions_len);

    t->n_flows++;
    index_insert(&t->by_ufid, f, offsetof(struct dp_flow, ufid_next),
                 t->n_flows);
    index_insert(&t->by_key, f, offsetof(struct dp_flow, key_next),
                 t->n_flows);
    *flowp = f;
    return 0;
}

void
dp_flow_table_set_actions(struct dp_flow *flow, const void *actions,
                          size_t actions_len)
{
    free(flow->actions);
    flow->actions = actions_len ? xmemdup(actions, actions_len) : NULL;
    flow->actions_len = actions_len;
}

void
dp_flow_table_remove(struct dp_flow_table *t, struct dp_flow *flow)
{
    index_remove(&t->by_ufid, flow, offsetof(struct dp_flow, ufid_next));
    index_remove(&t->by_key, flow, offsetof(struct dp_flow, key_next));
    classifier_remove(&t->cls, &flow->cr);
    t->n_flows--;
    dp_flow_free(flow);
}

struct dp_flow *
dp_flow_table_lookup(struct dp_flow_table *t, const struct flow *pkt,
                     unsigned int *n_searchedp)
{
    struct cls_rule *rule = emc_lookup(t->emc, pkt, n_searchedp);
    return rule ? CONTAINER_OF(rule, struct dp_flow, cr) : NULL;
}

size_t
dp_flow_table_count(const struct dp_flow_table *t)
{
    return t->n_flows;
}

size_t
dp_flow_table_n_masks(const struct dp_flow_table *t)
{
    return classifier_n_subtables(&t->cls);
}

union ufid *
dp_flow_table_snapshot(const struct dp_flow_table *t, size_t *n)
{
    union ufid *ufids = xmalloc((t->n_flows ? t->n_flows : 1)
                                * sizeof *ufids);
    size_t i = 0;

    for (const struct cls_rule *rule = classifier_first(&t->cls); rule;
         rule = classifier_next(rule)) {
        ufids[i++] = CONTAINER_OF(rule, struct dp_flow, cr)->ufid;
    }
    *n = i;
    return ufids;
}
