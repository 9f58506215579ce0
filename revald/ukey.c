/*
 * ukey.c — the shard's ukey table (ukey.h).
 */
#include "revald/ukey.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define UKEY_TABLE_MIN_BUCKETS 64

static size_t
ukey_bucket(const struct ukey_table *t, const union ufid *ufid)
{
    /* A UFID is a MurmurHash3 output: any word is a good hash.  Word 0 also
     * picks the shard (ufid_shard()), so use word 1 for the bucket to keep
     * the buckets of one shard evenly used. */
    return ufid->u32[1] & t->mask;
}

void
ukey_table_init(struct ukey_table *t)
{
    t->mask = UKEY_TABLE_MIN_BUCKETS - 1;
    t->buckets = xcalloc(UKEY_TABLE_MIN_BUCKETS, sizeof *t->buckets);
    t->n = 0;
}

static void
ukey_free(struct ukey *u)
{
    free(u->key);
    free(u->mask);
    free(u->actions);
    free(u);
}

void
ukey_table_destroy(struct ukey_table *t)
{
    UKEY_TABLE_FOR_EACH_SAFE (u, next, t) {
        ukey_free(u);
    }
    free(t->buckets);
    t->buckets = NULL;
    t->n = 0;
}

struct ukey *
ukey_table_find(const struct ukey_table *t, const union ufid *ufid)
{
    for (struct ukey *u = t->buckets[ukey_bucket(t, ufid)]; u; u = u->next) {
        if (ufid_equals(&u->ufid, ufid)) {
            return u;
        }
    }
    return NULL;
}

static void
ukey_table_expand(struct ukey_table *t)
{
    size_t n_old = t->mask + 1;
    struct ukey **old = t->buckets;

    t->mask = n_old * 2 - 1;
    t->buckets = xcalloc(n_old * 2, sizeof *t->buckets);
    for (size_t i = 0; i < n_old; i++) {
        struct ukey *next;
        for (struct ukey *u = old[i]; u; u = next) {
            size_t b = ukey_bucket(t, &u->ufid);
            next = u->next;
            u->next = t->buckets[b];
            t->buckets[b] = u;
        }
    }
    free(old);
}

static void *
ukey_copy(const void *p, size_t n)
{
    return n ? xmemdup(p, n) : NULL;
}

struct ukey *
ukey_table_insert(struct ukey_table *t, const union ufid *ufid,
                  const void *key, size_t key_len,
                  const void *mask, size_t mask_len,
                  const void *actions, size_t actions_len,
                  enum ukey_origin origin, long long now)
{
    struct ukey *u = xzalloc(sizeof *u);

    u->ufid = *ufid;
    u->key = ukey_copy(key, key_len);
    u->key_len = key_len;
    u->mask = ukey_copy(mask, mask_len);
    u->mask_len = mask_len;
    u->actions = ukey_copy(actions, actions_len);
    u->actions_len = actions_len;
    u->origin = origin;
    u->created = now;

    if (t->n >= t->mask + 1) {
        ukey_table_expand(t);
    }
    size_t b = ukey_bucket(t, ufid);
    u->next = t->buckets[b];
    t->buckets[b] = u;
    t->n++;
    return u;
}

void
ukey_set_installed(struct ukey *u, const void *mask, size_t mask_len,
                   const void *actions, size_t actions_len)
{
    if (mask_len != u->mask_len || (mask_len && memcmp(mask, u->mask,
                                                       mask_len))) {
        free(u->mask);
        u->mask = ukey_copy(mask, mask_len);
        u->mask_len = mask_len;
    }
    if (actions_len != u->actions_len
        || (actions_len && memcmp(actions, u->actions, actions_len))) {
        free(u->actions);
        u->actions = ukey_copy(actions, actions_len);
        u->actions_len = actions_len;
    }
}

void
ukey_table_remove(struct ukey_table *t, struct ukey *u)
{
    for (struct ukey **p = &t->buckets[ukey_bucket(t, &u->ufid)]; *p;
         p = &(*p)->next) {
        if (*p == u) {
            *p = u->next;
            t->n--;
            ukey_free(u);
            return;
        }
    }
}

size_t
ukey_overhead_bytes(void)
{
    /* The struct plus one bucket pointer at load 1. */
    return sizeof(struct ukey) + sizeof(struct ukey *);
}
