/* mac-table.c — the shared MAC learning table, lock-free.  See mac-table.h. */
#include "common/mac-table.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/hash.h"

COUNTER_DEFINE(mac_table_busy);
COUNTER_DEFINE(mac_table_evicted);
COUNTER_DEFINE(mac_table_header_invalid);
COUNTER_DEFINE(mac_table_moved);
COUNTER_DEFINE(mac_table_slot_invalid);
COUNTER_DEFINE(mac_table_slot_stolen);
COUNTER_DEFINE(mac_table_write_lost);

#define MAC_TABLE_MAGIC 0x4d414354u     /* "MACT". */
#define MAC_TABLE_VERSION 2

/* The header has a page of its own, so that privd's flush (a hole punched
 * over the slots) never touches it. */
#define HEADER_SIZE 4096

/* How often a reader retries one slot that is being written or changed
 * under it before it calls the slot busy. */
#define SLOT_READ_TRIES 16

/* How often mac_table_learn() starts over when another writer got to its
 * slot first. */
#define LEARN_TRIES 8

/* A slot claimed for longer than this is taken to be abandoned (its writer
 * died, or never meant to finish) and may be claimed again. */
#define CLAIM_STALE_MSEC 1000

/* Entry key word: valid bit, VLAN, MAC.  Bits 60..62 are always zero. */
#define KEY_VALID (UINT64_C(1) << 63)
#define KEY_VLAN_SHIFT 48
#define KEY_USED_BITS (KEY_VALID | ((uint64_t) VLAN_VID_MASK << KEY_VLAN_SHIFT) \
                       | UINT64_C(0xffffffffffff))

/* Sequence word of a slot: the low 32 bits are the version, odd while a
 * writer is inside; the high 32 bits are the check of the contents when the
 * version is even, and the claiming writer's clock (msec, truncated) while
 * it is odd. */
#define SEQ_BUSY UINT64_C(1)
#define SEQ_VERSION(SEQ) ((uint32_t) (SEQ))
#define SEQ_HIGH(SEQ) ((uint32_t) ((SEQ) >> 32))
#define SEQ_MAKE(VERSION, HIGH) ((uint64_t) (uint32_t) (VERSION) \
                                 | (uint64_t) (uint32_t) (HIGH) << 32)

/* The region's header.  Written once by mac_table_create(), except for the
 * generation counters.  Workers can write it too: every process validates
 * it once, at attach, and keeps a private copy of what it needs. */
struct mac_header {
    uint32_t magic;             /* MAC_TABLE_MAGIC. */
    uint32_t version;           /* MAC_TABLE_VERSION. */
    uint32_t n_buckets;         /* Power of two. */
    uint32_t ways;              /* MAC_TABLE_WAYS. */
    uint64_t size;              /* Bytes in the region. */
    int64_t aging_msec;         /* Entry lifetime. */
    uint32_t basis;             /* Hash basis. */
    uint32_t slot_size;         /* sizeof(struct mac_slot). */
    _Atomic uint64_t moves;     /* MAC moves (writers). */
    _Atomic uint64_t changes;   /* Translation-relevant changes (writers). */
    _Atomic uint64_t flushes;   /* privd's flushes (written with pwrite()). */
};
static_assert(sizeof(struct mac_header) <= HEADER_SIZE, "header fits");

/* One entry, with its own sequence word (see SEQ_*).  A slot is free when
 * 'key' lacks KEY_VALID; all zeros (a fresh or flushed page) is free. */
struct mac_slot {
    _Atomic uint64_t seq;       /* Version and check, or claim time. */
    _Atomic uint64_t key;       /* KEY_VALID | vlan << 48 | mac. */
    _Atomic uint64_t port;      /* Port number (low 32 bits). */
    _Atomic int64_t seen;       /* Last seen, monotonic msec. */
};
static_assert(sizeof(struct mac_slot) == 32, "slot is 32 bytes");

/* A process's mapping.  The geometry is a private copy of the header's,
 * validated at attach. */
struct mac_table {
    void *base;                 /* Start of the mapping. */
    size_t size;                /* Bytes mapped. */
    bool writable;              /* Mapped read-write (a worker). */
    int fd;                     /* privd's own: memfd for flushes (owned
                                 * dup), or -1. */
    uint64_t flushes;           /* privd's own: flushes so far. */
    struct mac_header *hdr;     /* At 'base'. */
    struct mac_slot *slots;     /* n_buckets * MAC_TABLE_WAYS, after the
                                 * header page. */
    uint32_t n_buckets;         /* Power of two. */
    uint32_t basis;             /* Hash basis. */
    long long aging_msec;       /* Entry lifetime. */
};

/* What a reader found in a slot. */
enum slot_state {
    SLOT_EMPTY,                 /* Free. */
    SLOT_VALID,                 /* A well-formed entry. */
    SLOT_GARBAGE,               /* Torn or scribbled: treated as free. */
    SLOT_BUSY,                  /* Being written (or claimed and left). */
};

/* A reader's copy of one slot. */
struct slot_copy {
    enum slot_state state;      /* What it is. */
    uint64_t seq;               /* Sequence word the copy was taken at. */
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

/* The check stored with a slot's contents: catches a copy assembled from
 * two writers' stores (or a scribble).  Not a secret: any writer may store
 * any valid entry anyway. */
static uint32_t
slot_check(uint32_t version, uint64_t key, uint32_t port, long long seen)
{
    uint32_t h = hash_add(MAC_TABLE_MAGIC, version);

    h = hash_add64(h, key);
    h = hash_add(h, port);
    h = hash_add64(h, (uint64_t) seen);
    return hash_finish(h, 24);
}

static struct mac_slot *
bucket_for(const struct mac_table *t, uint64_t key)
{
    uint32_t h = hash_finish(hash_add64(t->basis, key), 8);

    return &t->slots[(size_t) (h & (t->n_buckets - 1)) * MAC_TABLE_WAYS];
}

static size_t
region_size(uint32_t n_buckets)
{
    return HEADER_SIZE
           + (size_t) n_buckets * MAC_TABLE_WAYS * sizeof(struct mac_slot);
}

static bool
expired(const struct mac_table *t, long long seen, long long now)
{
    return now - seen >= t->aging_msec;
}

/* Copies slot 's' consistently into '*c', with at most SLOT_READ_TRIES
 * attempts, and classifies it.  Never writes. */
static void
slot_read(const struct mac_slot *s_, struct slot_copy *c)
{
    struct mac_slot *s = (struct mac_slot *) s_;
    uint64_t s1 = 0;

    for (int tries = 0; tries < SLOT_READ_TRIES; tries++) {
        s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (s1 & SEQ_BUSY) {
            continue;
        }
        uint64_t key = atomic_load_explicit(&s->key, memory_order_relaxed);
        uint64_t port = atomic_load_explicit(&s->port, memory_order_relaxed);
        long long seen = atomic_load_explicit(&s->seen,
                                              memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1) {
            continue;
        }
        *c = (struct slot_copy) {
            .seq = s1, .key = key, .port = (uint32_t) port, .seen = seen,
        };
        if (!(key & KEY_VALID)) {
            c->state = SLOT_EMPTY;
        } else if ((key & ~KEY_USED_BITS) || port > UINT32_MAX
                   || slot_check(SEQ_VERSION(s1), key, (uint32_t) port, seen)
                      != SEQ_HIGH(s1)) {
            COUNTER_INC(mac_table_slot_invalid);
            c->state = SLOT_GARBAGE;
        } else {
            c->state = SLOT_VALID;
        }
        return;
    }
    *c = (struct slot_copy) { .state = SLOT_BUSY, .seq = s1 };
}

/* True if a writer may claim slot copy 'c' at 'now': not busy, or claimed
 * so long ago that its writer is taken to be gone. */
static bool
slot_claimable(const struct slot_copy *c, long long now)
{
    if (c->state != SLOT_BUSY) {
        return true;
    }
    if (!(c->seq & SEQ_BUSY)) {
        return false;           /* Changing under us: a live writer. */
    }
    uint32_t age = (uint32_t) now - SEQ_HIGH(c->seq);
    return age > CLAIM_STALE_MSEC;
}

/* Claims slot 's', which the caller saw with sequence word 'seen_seq'.
 * Returns the claimed (odd) sequence word, or 0 if another writer changed
 * it first. */
static uint64_t
slot_claim(struct mac_slot *s, uint64_t seen_seq, long long now)
{
    uint32_t version = SEQ_VERSION(seen_seq);
    uint64_t claimed = SEQ_MAKE(version + (version & 1 ? 2 : 1),
                                (uint32_t) now);

    if (!atomic_compare_exchange_strong_explicit(&s->seq, &seen_seq, claimed,
                                                 memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        return 0;
    }
    if (version & 1) {
        COUNTER_INC(mac_table_slot_stolen);
    }
    return claimed;
}

/* Stores the contents of claimed slot 's' and publishes them.  Returns
 * false if another writer took the slot over meanwhile (its stores win). */
static bool
slot_publish(struct mac_slot *s, uint64_t claimed, uint64_t key,
             uint32_t port, long long seen)
{
    uint32_t version = SEQ_VERSION(claimed) + 1;

    atomic_store_explicit(&s->key, key, memory_order_relaxed);
    if (test_hook) {
        test_hook();
    }
    atomic_store_explicit(&s->port, port, memory_order_relaxed);
    atomic_store_explicit(&s->seen, seen, memory_order_relaxed);

    uint64_t done = SEQ_MAKE(version, key & KEY_VALID
                                      ? slot_check(version, key, port, seen)
                                      : 0);
    if (!atomic_compare_exchange_strong_explicit(&s->seq, &claimed, done,
                                                 memory_order_release,
                                                 memory_order_relaxed)) {
        COUNTER_INC(mac_table_write_lost);
        return false;
    }
    return true;
}

/* Empties slot 's' if it still is as copied in 'c'.  Returns true if it
 * did. */
static bool
slot_clear(struct mac_slot *s, const struct slot_copy *c, long long now)
{
    uint64_t claimed = slot_claim(s, c->seq, now);

    return claimed && slot_publish(s, claimed, 0, 0, 0);
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
    /* The header goes in with pwrite(): privd never maps the region
     * writable. */
    struct mac_header hdr = {
        .magic = MAC_TABLE_MAGIC, .version = MAC_TABLE_VERSION,
        .n_buckets = n_buckets, .ways = MAC_TABLE_WAYS, .size = size,
        .aging_msec = aging_msec, .basis = basis,
        .slot_size = sizeof(struct mac_slot),
    };
    if (ftruncate(fd, (off_t) size) < 0
        || pwrite(fd, &hdr, sizeof hdr, 0) != (ssize_t) sizeof hdr
        || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW
                                  | F_SEAL_SEAL) < 0) {
        error = errno ? errno : EIO;
        close(fd);
        return errbuf_set(eb, error, "mac table: sizing memfd: %s",
                          strerror(error));
    }
    error = mac_table_attach(fd, false, tablep, eb);
    if (!error) {
        (*tablep)->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if ((*tablep)->fd < 0) {
            error = errbuf_set(eb, errno, "mac table: dup: %s",
                               strerror(errno));
            mac_table_close(*tablep);
        }
    }
    if (error) {
        close(fd);
        return error;
    }
    *fdp = fd;
    return 0;
}

/* Derives the number of buckets from a region size, or returns 0 if no
 * table has that size. */
static uint32_t
buckets_for_size(uint64_t size)
{
    for (uint32_t n = 1; (uint64_t) n * MAC_TABLE_WAYS
                         <= 2 * (uint64_t) MAC_TABLE_MAX_CAPACITY; n *= 2) {
        if (region_size(n) == size) {
            return n;
        }
    }
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
    uint32_t n = st.st_size > 0 ? buckets_for_size((uint64_t) st.st_size) : 0;
    if (!n) {
        return errbuf_set(eb, EINVAL, "mac table: bad header (region size "
                          "%lld fits no table)", (long long) st.st_size);
    }
    size_t size = (size_t) st.st_size;
    void *base = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0),
                      MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        error = errno;
        return errbuf_set(eb, error, "mac table: mmap: %s", strerror(error));
    }

    /* The geometry comes from the size, which nobody can change (sealed).
     * The header can have been scribbled by any writer: then the entry
     * lifetime is the default and the hash basis whatever it says (a
     * different basis only makes this process miss others' entries). */
    const volatile struct mac_header *hdr = base;
    long long aging = hdr->aging_msec;
    uint32_t basis = hdr->basis;
    if (hdr->magic != MAC_TABLE_MAGIC || hdr->version != MAC_TABLE_VERSION
        || hdr->ways != MAC_TABLE_WAYS || hdr->n_buckets != n
        || hdr->slot_size != sizeof(struct mac_slot) || hdr->size != size
        || aging <= 0 || aging > MAC_TABLE_MAX_AGING_MSEC) {
        COUNTER_INC(mac_table_header_invalid);
        aging = MAC_TABLE_DEFAULT_AGING_MSEC;
    }

    struct mac_table *t = xzalloc(sizeof *t);
    *t = (struct mac_table) {
        .base = base, .size = size, .writable = writable, .fd = -1,
        .hdr = base,
        .slots = (struct mac_slot *) (void *) ((char *) base + HEADER_SIZE),
        .n_buckets = n, .basis = basis, .aging_msec = aging,
    };
    *tablep = t;
    return 0;
}

void
mac_table_close(struct mac_table *t)
{
    if (t) {
        munmap(t->base, t->size);
        if (t->fd >= 0) {
            close(t->fd);
        }
        free(t);
    }
}

int
mac_table_learn(struct mac_table *t, struct eth_addr mac, uint16_t vlan,
                uint32_t port, long long now_msec,
                enum mac_learn_result *resultp)
{
    if (!t->writable) {
        return EROFS;
    }
    if (eth_addr_is_multicast(mac) || vlan > VLAN_VID_MASK) {
        return EINVAL;
    }

    uint64_t key = make_key(mac, vlan);
    struct mac_slot *b = bucket_for(t, key);
    for (int attempt = 0; attempt < LEARN_TRIES; attempt++) {
        struct slot_copy c[MAC_TABLE_WAYS];
        int match = -1, free_i = -1, old_i = -1;
        bool busy = false;

        for (int i = 0; i < MAC_TABLE_WAYS; i++) {
            slot_read(&b[i], &c[i]);
            busy |= c[i].state == SLOT_BUSY && !slot_claimable(&c[i],
                                                               now_msec);
            if (c[i].state == SLOT_VALID && c[i].key == key
                && (match < 0 || c[i].seen > c[match].seen)) {
                match = i;      /* Of two copies, the newer counts. */
            } else if (c[i].state == SLOT_VALID
                       && !expired(t, c[i].seen, now_msec)) {
                if (old_i < 0 || c[i].seen < c[old_i].seen) {
                    old_i = i;
                }
            } else if (free_i < 0 && c[i].state != SLOT_VALID
                       && slot_claimable(&c[i], now_msec)) {
                free_i = i;
            } else if (free_i < 0 && c[i].state == SLOT_VALID) {
                free_i = i;     /* Expired: free. */
            }
        }

        enum mac_learn_result result = MAC_LEARN_NEW;
        int target;
        if (match >= 0) {
            target = match;
            if (c[match].port == port
                && !expired(t, c[match].seen, now_msec)) {
                result = MAC_LEARN_REFRESHED;
            } else if (c[match].port != port) {
                result = MAC_LEARN_MOVED;
            }
        } else if (busy && attempt < LEARN_TRIES / 2) {
            /* It may be in the slot being written: a new copy would be a
             * duplicate (removed by the next learn that sees both). */
            continue;
        } else if (free_i >= 0) {
            target = free_i;
        } else if (old_i >= 0) {
            target = old_i;     /* Full: the least recently seen goes. */
        } else {
            break;              /* Every slot busy. */
        }

        uint64_t claimed = slot_claim(&b[target], c[target].seq, now_msec);
        if (!claimed) {
            continue;
        }
        if (!slot_publish(&b[target], claimed, key, port, now_msec)) {
            continue;
        }
        if (match < 0 && free_i < 0) {
            COUNTER_INC(mac_table_evicted);
        }
        if (result == MAC_LEARN_MOVED) {
            COUNTER_INC(mac_table_moved);
        }
        if (result != MAC_LEARN_REFRESHED) {
            note_change(t, result == MAC_LEARN_MOVED);
        }
        /* Two writers that learned the same new address at once leave two
         * copies: drop the others, so that an eviction cannot bring back a
         * stale port. */
        for (int i = 0; match >= 0 && i < MAC_TABLE_WAYS; i++) {
            if (i != match && c[i].state == SLOT_VALID && c[i].key == key) {
                slot_clear(&b[i], &c[i], now_msec);
            }
        }
        if (resultp) {
            *resultp = result;
        }
        return 0;
    }
    COUNTER_INC(mac_table_busy);
    return EAGAIN;
}

int
mac_table_lookup(const struct mac_table *t, struct eth_addr mac,
                 uint16_t vlan, long long now_msec, uint32_t *portp)
{
    bool busy = false;

    if (vlan > VLAN_VID_MASK) {
        return ENOENT;
    }
    uint64_t key = make_key(mac, vlan);
    const struct mac_slot *b = bucket_for(t, key);
    struct slot_copy best = { .state = SLOT_EMPTY };
    for (int i = 0; i < MAC_TABLE_WAYS; i++) {
        struct slot_copy c;

        slot_read(&b[i], &c);
        if (c.state == SLOT_VALID && c.key == key
            && (best.state != SLOT_VALID || c.seen > best.seen)) {
            best = c;           /* Of two copies, the newer counts. */
        }
        busy |= c.state == SLOT_BUSY;
    }
    if (best.state == SLOT_VALID) {
        if (expired(t, best.seen, now_msec)) {
            return ENOENT;
        }
        *portp = best.port;
        return 0;
    }
    if (busy) {
        COUNTER_INC(mac_table_busy);
        return EAGAIN;
    }
    return ENOENT;
}

/* Empties, in a writable mapping, the valid slots for which 'doomed' says
 * so and the garbage slots, and with 'take_abandoned' the slots claimed
 * longer than CLAIM_STALE_MSEC before 'now'. */
static size_t
remove_entries(struct mac_table *t, long long now, bool take_abandoned,
               bool (*doomed)(const struct mac_table *,
                              const struct slot_copy *, const void *aux),
               const void *aux)
{
    size_t n = 0;

    if (!t->writable) {
        return 0;
    }
    for (size_t i = 0; i < (size_t) t->n_buckets * MAC_TABLE_WAYS; i++) {
        struct slot_copy c;

        slot_read(&t->slots[i], &c);
        if (c.state == SLOT_VALID ? doomed(t, &c, aux)
            : c.state == SLOT_GARBAGE || (take_abandoned
                                          && c.state == SLOT_BUSY
                                          && slot_claimable(&c, now))) {
            n += slot_clear(&t->slots[i], &c, now) && c.state == SLOT_VALID;
        }
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
    return remove_entries(t, now_msec, true, is_expired, &now_msec);
}

/* privd's flush: counts the live entries (reading only), then drops the
 * pages behind every slot, which all mappings see as zeros (free slots)
 * from then on, and counts the flush in the header with pwrite().  A
 * writer in the middle of an update may finish into the fresh page; its
 * slot is then one entry, or garbage that readers skip. */
static size_t
mac_table_flush_owner(struct mac_table *t)
{
    size_t n = 0;

    for (size_t i = 0; i < (size_t) t->n_buckets * MAC_TABLE_WAYS; i++) {
        struct slot_copy c;

        slot_read(&t->slots[i], &c);
        n += c.state == SLOT_VALID;
    }
    if (fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  HEADER_SIZE, (off_t) (t->size - HEADER_SIZE))) {
        return 0;
    }
    t->flushes++;
    if (pwrite(t->fd, &t->flushes, sizeof t->flushes,
               offsetof(struct mac_header, flushes))
        != (ssize_t) sizeof t->flushes) {
        COUNTER_INC(mac_table_write_lost);
    }
    return n;
}

size_t
mac_table_flush(struct mac_table *t, uint32_t port)
{
    if (!t->writable) {
        return t->fd >= 0 && port == UINT32_MAX ? mac_table_flush_owner(t)
                                                : 0;
    }
    /* Without a clock, slots claimed by a writer are left alone: aging
     * takes over the abandoned ones. */
    return remove_entries(t, 0, false, is_on_port, &port);
}

/* True if bucket copy 'c' holds another copy of entry 'i' that counts
 * instead of it (newer, or as new and earlier). */
static bool
slot_has_newer_copy(const struct slot_copy c[], int i)
{
    for (int j = 0; j < MAC_TABLE_WAYS; j++) {
        if (j != i && c[j].state == SLOT_VALID && c[j].key == c[i].key
            && (c[j].seen > c[i].seen || (c[j].seen == c[i].seen && j < i))) {
            return true;
        }
    }
    return false;
}

size_t
mac_table_dump(const struct mac_table *t, long long now_msec,
               struct mac_table_entry *entries, size_t max)
{
    size_t n = 0;

    for (uint32_t b = 0; b < t->n_buckets && n < max; b++) {
        struct slot_copy c[MAC_TABLE_WAYS];

        for (int i = 0; i < MAC_TABLE_WAYS; i++) {
            slot_read(&t->slots[(size_t) b * MAC_TABLE_WAYS + i], &c[i]);
        }
        for (int i = 0; i < MAC_TABLE_WAYS && n < max; i++) {
            struct mac_table_entry *e = &entries[n];

            if (c[i].state != SLOT_VALID || expired(t, c[i].seen, now_msec)
                || slot_has_newer_copy(c, i)) {
                continue;
            }
            split_key(c[i].key, &e->mac, &e->vlan);
            e->port = c[i].port;
            e->age_msec = now_msec - c[i].seen;
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
    return atomic_load_explicit(&t->hdr->changes, memory_order_relaxed)
           + atomic_load_explicit(&t->hdr->flushes, memory_order_relaxed);
}

size_t
mac_table_capacity(const struct mac_table *t)
{
    return (size_t) t->n_buckets * MAC_TABLE_WAYS;
}
