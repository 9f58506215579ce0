/*
 * ukey.h — one revalidator's shard of flow records ("ukeys").
 *
 * Overview
 * ========
 *
 * A ukey is what the revalidator knows about one datapath flow it owns
 * (ufid_shard(ufid, M) == its index): the flow's key, the statistics it last
 * pushed to the policy's side effects, when it was created, which dump last
 * saw it (mark and sweep), and a cache of what translation said about it
 * (installed actions, megaflow mask, matched rule, MAC learning side effect,
 * and the policy generation all that came from).  It is the seeds'
 * "struct udpif_key" without the locks: a revalidator process owns its
 * shard outright, so nothing here is shared.
 *
 * Ukeys are created from three sources:
 *
 *   - a handler's FlowAnnouncement (the flow was just installed; its stats
 *     start from zero, so every packet it ever counts is pushed);
 *   - a dumped flow that has no ukey (a revalidator restart, a privd
 *     restart that kept the flows, or a flow added by hand): "adoption".
 *     The adopted flow's stats so far are taken as already pushed: either
 *     a previous incarnation pushed them (and reported them to privd), or
 *     they predate this dpifd; pushing them again would count them twice;
 *   - nothing else.
 *
 * The table is a chained hash table keyed by UFID (already a hash: its
 * first word picks the bucket), doubled when its load passes 1.
 *
 * Ownership: the table owns every ukey and every ukey owns its buffers.
 * Pointers to ukeys stay valid until the ukey is removed
 * (ukey_table_remove()) or the table destroyed.  Single-threaded.
 */
#ifndef REVALD_UKEY_H
#define REVALD_UKEY_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ufid.h"
#include "common/xlate.h"

/* Statistics as the revalidator tracks them (dpif_flow_stats in privd). */
struct ukey_stats {
    uint64_t n_packets;
    uint64_t n_bytes;
    long long used;             /* time_msec() of the last hit; 0: never. */
    uint16_t tcp_flags;         /* Union of TCP flags seen. */
};

/* Where a ukey came from (for counters and upcall/show). */
enum ukey_origin {
    UKEY_FROM_ANNOUNCEMENT,     /* A handler installed the flow. */
    UKEY_FROM_DUMP,             /* Adopted from a dump. */
};

/* What the last translation of the flow said. */
struct ukey_xcache {
    bool valid;                 /* False: translate before using. */
    uint64_t generation;        /* Policy generation translated with. */
    uint32_t rule_id;           /* Rule credited with the stats. */
    struct xlate_learn learn;   /* MAC refresh on stats push. */
};

struct ukey {
    struct ukey *next;          /* In its hash bucket. */
    union ufid ufid;            /* Identity (and hash). */
    void *key;                  /* Netlink flow key, owned. */
    size_t key_len;
    void *mask;                 /* Installed mask, owned (may be NULL). */
    size_t mask_len;
    void *actions;              /* Installed actions, owned (may be NULL). */
    size_t actions_len;
    enum ukey_origin origin;
    long long created;          /* time_msec() of creation. */
    struct ukey_stats stats;    /* Last stats pushed (the baseline). */
    uint64_t dump_seq;          /* Last dump that saw it (mark). */
    bool busy;                  /* An op on its flow is in flight: the
                                 * result, not the dump, decides next. */
    struct ukey_xcache xc;      /* Translation cache. */
    uint64_t checked_generation; /* revalidator xlate_generation of its
                                 * last full check; 0: never checked (an
                                 * adopted flow is checked at once). */
};

struct ukey_table {
    struct ukey **buckets;      /* 'mask' + 1 of them. */
    size_t mask;
    size_t n;                   /* Ukeys in the table. */
};

void ukey_table_init(struct ukey_table *);
/* Frees every ukey and the buckets. */
void ukey_table_destroy(struct ukey_table *);

/* The ukey for 'ufid', or NULL. */
struct ukey *ukey_table_find(const struct ukey_table *, const union ufid *);

/* Creates a ukey for 'ufid' with copies of key, mask and actions (any may
 * be empty), created at 'now', and inserts it.  The caller has checked that
 * there is none yet.  Returns the new ukey (owned by the table). */
struct ukey *ukey_table_insert(struct ukey_table *, const union ufid *,
                               const void *key, size_t key_len,
                               const void *mask, size_t mask_len,
                               const void *actions, size_t actions_len,
                               enum ukey_origin, long long now);

/* Replaces the ukey's installed mask and actions with copies (after a
 * modify, or when a dump shows the flow changed behind our back). */
void ukey_set_installed(struct ukey *, const void *mask, size_t mask_len,
                        const void *actions, size_t actions_len);

/* Unlinks and frees 'ukey'. */
void ukey_table_remove(struct ukey_table *, struct ukey *);

/* Calls the statement that follows for every ukey U of table T; U may be
 * removed inside (the next pointer is read first). */
#define UKEY_TABLE_FOR_EACH_SAFE(U, NEXT, T)                                \
    for (size_t ub_ = 0; ub_ <= (T)->mask; ub_++)                           \
        for (struct ukey *U = (T)->buckets[ub_], *NEXT = U ? U->next : NULL;\
             U; U = NEXT, NEXT = U ? U->next : NULL)

/* Approximate heap bytes one ukey costs besides its key, mask and actions
 * (for the benchmark's memory figure). */
size_t ukey_overhead_bytes(void);

#endif /* ukey.h */
