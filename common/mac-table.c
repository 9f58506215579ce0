/* mac-table.c — the shared MAC learning table.  See mac-table.h. */
#include "common/mac-table.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/hash.h"

COUNTER_DEFINE(mac_table_lock_recovered);
COUNTER_DEFINE(mac_table_evicted);
COUNTER_DEFINE(mac_table_moved);
COUNTER_DEFINE(mac_table_busy);
COUNTER_DEFINE(mac_table_lock_failed);

#define MAC_TABLE_MAGIC 0x4d414354u     /* "MACT". */
#define MAC_TABLE_VERSION 1

/* Readers give up after this many attempts at a consistent bucket copy. */
#define READ_TRIES 64

/* Entry key word: valid bit, VLAN, MAC. */
#define KEY_VALID (UINT64_C(1) << 63)
#define KEY_VLAN_SHIFT 48

/* The region's header.  Written once by mac_table_create(), except for the
 * two generation counters. */
struct mac_header {
    uint32_t magic;             /* MAC_TABLE_MAGIC. */
    uint32_t version;           /* MAC_TABLE_VERSION. */
    uint32_t n_buckets;         /* Power of two. */
    uint32_t ways;              /* MAC_TABLE_WAYS. */
    uint64_t size;              /* Bytes in the region. */
    int64_t aging_msec;         /* Entry lifetime. */
    uint32_t basis;             /* Hash basis. */
    uint32_t bucket_size;       /* sizeof(struct mac_bucket). */
    _Atomic uint64_t moves;     /* MAC moves. */
    _Atomic uint64_t changes;   /* All translation-relevant changes. */
    uint8_t pad[8];             /* Zero; size is 64. */
};
static_assert(sizeof(struct mac_header) == 64, "mac_header is one line");

/* One entry.  An entry is free when 'key' lacks KEY_VALID. */
struct mac_slot {
    _Atomic uint64_t key;       /* KEY_VALID | vlan << 48 | mac. */
    _Atomic uint64_t port;      /* Port number (low 32 bits). */
    _Atomic int64_t seen;       /* Last seen, monotonic msec. */
};

struct mac_bucket {
    pthread_mutex_t mutex;      /* Robust, process-shared: writers. */
    _Atomic uint32_t seq;       /* Odd while a writer is inside. */
    uint32_t pad;               /* Zero. */
    struct mac_slot slots[MAC_TABLE_WAYS]; /* Entries. */
};

/* A process's mapping.  The geometry is a private copy of the header's,
 * validated at attach. */
struct mac_table {
    void *base;                 /* Start of the mapping. */
    size_t size;                /* Bytes mapped. */
    bool writable;              /* Mapped read-write. */
    struct mac_header *hdr;     /* At 'base'. */
    struct mac_bucket *buckets; /* 'n_buckets' of them after the header. */
    uint32_t n_buckets;         /* Power of two. */
    uint32_t basis;             /* Hash basis. */
    long long aging_msec;       /* Entry lifetime. */
};

/* A reader's copy of one slot. */
struct slot_copy {
    uint64_t key;               /* As in struct mac_slot. */
    uint32_t port;              /* Port. */
    long long seen;             /* Last seen. */
};

static void (*test_hook)(void);

void
mac_table_set_test_hook(void (*hook)(void))
{
    test_hook = hook;
}

static uint64_t
make_key(struct eth_addr mac, uint16_t vlan)
{
    uint64_t key = KEY_VALID | ((uint64_t) (vlan & VLAN_VID_MASK)
                                << KEY_VLAN_SHIFT);

    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        key |= (uint64_t) mac.ea[i] << (8 * (ETH_ADDR_LEN - 1 - i));
    }
    return key;
}

static void
split_key(uint64_t key, struct eth_addr *mac, uint16_t *vlan)
{
    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        mac->ea[i] = (uint8_t) (key >> (8 * (ETH_ADDR_LEN - 1 - i)));
    }
    *vlan = (uint16_t) ((key >> KEY_VLAN_SHIFT) & VLAN_VID_MASK);
}

static struct mac_bucket *
bucket_for(const struct mac_table *t, uint64_t key)
{
    uint32_t h = hash_finish(hash_add64(t->basis, key), 8);

    return &t->buckets[h & (t->n_buckets - 1)];
}

static size_t
region_size(uint32_t n_buckets)
{
    return sizeof(struct mac_header)
           + (size_t) n_buckets * sizeof(struct mac_bucket);
}

static bool
expired(const struct mac_table *t, long long seen, long long now)
{
    return now - seen >= t->aging_msec;
}

/* Copies bucket 'b' consistently into 'copy'.  Returns false if the bucket
 * stayed busy. */
static bool
bucket_read(const struct mac_bucket *b_, struct slot_copy copy[])
{
    struct mac_bucket *b = (struct mac_bucket *) b_;

    for (int tries = 0; tries < READ_TRIES; tries++) {
        uint32_t s1 = atomic_load_explicit(&b->seq, memory_order_acquire);

        if (s1 & 1) {
            continue;
        }
        for (int i = 0; i < MAC_TABLE_WAYS; i++) {
            struct mac_slot *s = &b->slots[i];

            copy[i].key = atomic_load_explicit(&s->key, memory_order_relaxed);
            copy[i].port = (uint32_t) atomic_load_explicit(
                &s->port, memory_order_relaxed);
            copy[i].seen = atomic_load_explicit(&s->seen,
                                                memory_order_relaxed);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&b->seq, memory_order_relaxed) == s1) {
            return true;
        }
    }
    COUNTER_INC(mac_table_busy);
    return false;
}

static void
slot_clear(struct mac_slot *s)
{
    atomic_store_explicit(&s->key, 0, memory_order_relaxed);
    atomic_store_explicit(&s->port, 0, memory_order_relaxed);
    atomic_store_explicit(&s->seen, 0, memory_order_relaxed);
}

/* Takes the writer lock of 'b' and opens its sequence.  A bucket whose last
 * writer died inside is wiped (its entries may be half written) and its
 * mutex made consistent. */
static int
bucket_write_begin(struct mac_table *t, struct mac_bucket *b)
{
    int error = pthread_mutex_lock(&b->mutex);

    if (error == EOWNERDEAD) {
        for (int i = 0; i < MAC_TABLE_WAYS; i++) {
            slot_clear(&b->slots[i]);
        }
        atomic_fetch_add_explicit(&t->hdr->changes, 1, memory_order_relaxed);
        pthread_mutex_consistent(&b->mutex);
        COUNTER_INC(mac_table_lock_recovered);
        /* The dead writer may have left the sequence odd: the increment
         * below must make it odd whatever it was. */
        uint32_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);
        atomic_store_explicit(&b->seq, (s | 1) + 1, memory_order_relaxed);
    } else if (error) {
        COUNTER_INC(mac_table_lock_failed);
        return error;
    }
    uint32_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);
    atomic_store_explicit(&b->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    return 0;
}

static void
bucket_write_end(struct mac_bucket *b)
{
    uint32_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);

    atomic_store_explicit(&b->seq, s + 1, memory_order_release);
    pthread_mutex_unlock(&b->mutex);
}

static void
note_change(struct mac_table *t, bool move)
{
    if (move) {
        atomic_fetch_add_explicit(&t->hdr->moves, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&t->hdr->changes, 1, memory_order_relaxed);
}

int
mac_table_create(size_t capacity, long long aging_msec, int *fdp,
                 struct mac_table **tablep, struct errbuf *eb)
{
    uint32_t n_buckets = 1;
    size_t size;
    uint32_t basis;
    int fd, error;

    if (!capacity) {
        capacity = MAC_TABLE_DEFAULT_CAPACITY;
    }
    if (capacity > MAC_TABLE_MAX_CAPACITY) {
        return errbuf_set(eb, EINVAL, "mac table: capacity %zu exceeds %u",
                          capacity, MAC_TABLE_MAX_CAPACITY);
    }
    if (aging_msec <= 0) {
        aging_msec = MAC_TABLE_DEFAULT_AGING_MSEC;
    }
    while ((size_t) n_buckets * MAC_TABLE_WAYS < capacity) {
        n_buckets *= 2;
    }
    size = region_size(n_buckets);
    if (getrandom(&basis, sizeof basis, 0) != sizeof basis) {
        return errbuf_set(eb, errno ? errno : EIO,
                          "mac table: getrandom failed");
    }

    fd = memfd_create("dpifd-mac-table", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return errbuf_set(eb, errno, "mac table: memfd_create: %s",
                          strerror(errno));
    }
    if (ftruncate(fd, (off_t) size) < 0
        || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW
                                  | F_SEAL_SEAL) < 0) {
        error = errno;
        close(fd);
        return errbuf_set(eb, error, "mac table: sizing memfd: %s",
                          strerror(error));
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        error = errno;
        close(fd);
        return errbuf_set(eb, error, "mac table: mmap: %s", strerror(error));
    }

    struct mac_header *hdr = base;
    struct mac_bucket *buckets = (struct mac_bucket *) (hdr + 1);
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    for (uint32_t i = 0; i < n_buckets; i++) {
        pthread_mutex_init(&buckets[i].mutex, &attr);
    }
    pthread_mutexattr_destroy(&attr);

    hdr->n_buckets = n_buckets;
    hdr->ways = MAC_TABLE_WAYS;
    hdr->size = size;
    hdr->aging_msec = aging_msec;
    hdr->basis = basis;
    hdr->bucket_size = sizeof(struct mac_bucket);
    hdr->version = MAC_TABLE_VERSION;
    atomic_thread_fence(memory_order_release);
    hdr->magic = MAC_TABLE_MAGIC;

    struct mac_table *t = xzalloc(sizeof *t);
    *t = (struct mac_table) {
        .base = base, .size = size, .writable = true, .hdr = hdr,
        .buckets = buckets, .n_buckets = n_buckets, .basis = basis,
        .aging_msec = aging_msec,
    };
    *fdp = fd;
    *tablep = t;
    return 0;
}

int
mac_table_attach(int fd, bool writable, struct mac_table **tablep,
                 struct errbuf *eb)
{
    struct stat st;
    int seals, error;

    if (fstat(fd, &st) < 0) {
        return errbuf_set(eb, errno, "mac table: fstat: %s", strerror(errno));
    }
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        return errbuf_set(eb, EINVAL, "mac table: region is not sealed "
                          "against shrinking");
    }
    if (st.st_size < (off_t) sizeof(struct mac_header)
        || (uint64_t) st.st_size > region_size(MAC_TABLE_MAX_CAPACITY)) {
        return errbuf_set(eb, EINVAL, "mac table: region size %lld is "
                          "impossible", (long long) st.st_size);
    }
    size_t size = (size_t) st.st_size;
    void *base = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0),
                      MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        error = errno;
        return errbuf_set(eb, error, "mac table: mmap: %s", strerror(error));
    }

    const struct mac_header *hdr = base;
    uint32_t n = hdr->n_buckets;
    if (hdr->magic != MAC_TABLE_MAGIC || hdr->version != MAC_TABLE_VERSION
        || hdr->ways != MAC_TABLE_WAYS
        || hdr->bucket_size != sizeof(struct mac_bucket)
        || !n || (n & (n - 1))
        || (uint64_t) n * MAC_TABLE_WAYS > 2 * (uint64_t)
                                           MAC_TABLE_MAX_CAPACITY
        || hdr->size != size || region_size(n) != size
        || hdr->aging_msec <= 0) {
        munmap(base, size);
        return errbuf_set(eb, EINVAL, "mac table: bad header");
    }

    struct mac_table *t = xzalloc(sizeof *t);
    *t = (struct mac_table) {
        .base = base, .size = size, .writable = writable,
        .hdr = base, .buckets = (struct mac_bucket *) (void *) (
                                    (char *) base + sizeof *hdr),
        .n_buckets = n, .basis = hdr->basis, .aging_msec = hdr->aging_msec,
    };
    *tablep = t;
    return 0;
}

void
mac_table_close(struct mac_table *t)
{
    if (t) {
        munmap(t->base, t->size);
        free(t);
    }
}

int
mac_table_learn(struct mac_table *t, struct eth_addr mac, uint16_t vlan,
                uint32_t port, long long now_msec,
                enum mac_learn_result *resultp)
{
    enum mac_learn_result result;
    struct mac_bucket *b;
    struct mac_slot *victim;
    uint64_t key;
    int error;

    if (!t->writable) {
        return EROFS;
    }
    if (eth_addr_is_multicast(mac) || vlan > VLAN_VID_MASK) {
        return EINVAL;
    }
    key = make_key(mac, vlan);
    b = bucket_for(t, key);
    error = bucket_write_begin(t, b);
    if (error) {
        return error;
    }

    int free_i = -1, old_i = -1;
    long long old_seen = 0;
    for (int i = 0; i < MAC_TABLE_WAYS; i++) {
        struct mac_slot *s = &b->slots[i];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
        long long seen = atomic_load_explicit(&s->seen, memory_order_relaxed);

        if (k == key) {
            uint32_t old = (uint32_t) atomic_load_explicit(
                &s->port, memory_order_relaxed);
            if (old == port && !expired(t, seen, now_msec)) {
                result = MAC_LEARN_REFRESHED;
            } else {
                atomic_store_explicit(&s->port, port, memory_order_relaxed);
                result = old == port ? MAC_LEARN_NEW : MAC_LEARN_MOVED;
                note_change(t, result == MAC_LEARN_MOVED);
                if (result == MAC_LEARN_MOVED) {
                    COUNTER_INC(mac_table_moved);
                }
            }
            atomic_store_explicit(&s->seen, now_msec, memory_order_relaxed);
            goto out;
        }
        if (!(k & KEY_VALID) || expired(t, seen, now_msec)) {
            if (free_i < 0) {
                free_i = i;
            }
        } else if (old_i < 0 || seen < old_seen) {
            old_i = i;
            old_seen = seen;
        }
    }

    if (free_i < 0) {
        /* Full: the least recently seen entry of the bucket goes. */
        COUNTER_INC(mac_table_evicted);
        free_i = old_i;
    }
    victim = &b->slots[free_i];
    atomic_store_explicit(&victim->key, key, memory_order_relaxed);
    if (test_hook) {
        test_hook();
    }
    atomic_store_explicit(&victim->port, port, memory_order_relaxed);
    atomic_store_explicit(&victim->seen, now_msec, memory_order_relaxed);
    note_change(t, false);
    result = MAC_LEARN_NEW;

out:
    bucket_write_end(b);
    if (resultp) {
        *resultp = result;
    }
    return 0;
}

int
mac_table_lookup(const struct mac_table *t, struct eth_addr mac,
                 uint16_t vlan, long long now_msec, uint32_t *portp)
{
    struct slot_copy copy[MAC_TABLE_WAYS];
    uint64_t key;

    if (vlan > VLAN_VID_MASK) {
        return ENOENT;
    }
    key = make_key(mac, vlan);
    if (!bucket_read(bucket_for(t, key), copy)) {
        return EAGAIN;
    }
    for (int i = 0; i < MAC_TABLE_WAYS; i++) {
        if (copy[i].key == key && !expired(t, copy[i].seen, now_msec)) {
            *portp = copy[i].port;
            return 0;
        }
    }
    return ENOENT;
}

/* Removes, in every bucket, the valid entries for which 'doomed' says so. */
static size_t
remove_entries(struct mac_table *t,
               bool (*doomed)(const struct mac_table *,
                              const struct slot_copy *, const void *aux),
               const void *aux)
{
    size_t n = 0;

    if (!t->writable) {
        return 0;
    }
    for (uint32_t i = 0; i < t->n_buckets; i++) {
        struct mac_bucket *b = &t->buckets[i];
        struct slot_copy copy[MAC_TABLE_WAYS];
        bool any = false;

        /* Look first without the lock: most buckets need nothing. */
        if (bucket_read(b, copy)) {
            for (int j = 0; j < MAC_TABLE_WAYS; j++) {
                any |= (copy[j].key & KEY_VALID) && doomed(t, &copy[j], aux);
            }
            if (!any) {
                continue;
            }
        }
        if (bucket_write_begin(t, b)) {
            continue;
        }
        for (int j = 0; j < MAC_TABLE_WAYS; j++) {
            struct mac_slot *s = &b->slots[j];
            struct slot_copy c = {
                .key = atomic_load_explicit(&s->key, memory_order_relaxed),
                .port = (uint32_t) atomic_load_explicit(&s->port,
                                                        memory_order_relaxed),
                .seen = atomic_load_explicit(&s->seen, memory_order_relaxed),
            };
            if ((c.key & KEY_VALID) && doomed(t, &c, aux)) {
                slot_clear(s);
                n++;
            }
        }
        bucket_write_end(b);
    }
    if (n) {
        note_change(t, false);
    }
    return n;
}

static bool
is_expired(const struct mac_table *t, const struct slot_copy *c,
           const void *now_)
{
    return expired(t, c->seen, *(const long long *) now_);
}

static bool
is_on_port(const struct mac_table *t, const struct slot_copy *c,
           const void *port_)
{
    uint32_t port = *(const uint32_t *) port_;

    (void) t;
    return port == UINT32_MAX || c->port == port;
}

size_t
mac_table_age(struct mac_table *t, long long now_msec)
{
    return remove_entries(t, is_expired, &now_msec);
}

size_t
mac_table_flush(struct mac_table *t, uint32_t port)
{
    return remove_entries(t, is_on_port, &port);
}

size_t
mac_table_dump(const struct mac_table *t, long long now_msec,
               struct mac_table_entry *entries, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i < t->n_buckets && n < max; i++) {
        struct slot_copy copy[MAC_TABLE_WAYS];

        if (!bucket_read(&t->buckets[i], copy)) {
            continue;
        }
        for (int j = 0; j < MAC_TABLE_WAYS && n < max; j++) {
            struct mac_table_entry *e = &entries[n];

            if (!(copy[j].key & KEY_VALID)
                || expired(t, copy[j].seen, now_msec)) {
                continue;
            }
            split_key(copy[j].key, &e->mac, &e->vlan);
            e->port = copy[j].port;
            e->age_msec = now_msec - copy[j].seen;
            n++;
        }
    }
    return n;
}

uint64_t
mac_table_moves(const struct mac_table *t)
{
    return atomic_load_explicit(&t->hdr->moves, memory_order_relaxed);
}

uint64_t
mac_table_changes(const struct mac_table *t)
{
    return atomic_load_explicit(&t->hdr->changes, memory_order_relaxed);
}

size_t
mac_table_capacity(const struct mac_table *t)
{
    return (size_t) t->n_buckets * MAC_TABLE_WAYS;
}
