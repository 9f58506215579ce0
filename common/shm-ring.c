#include "common/shm-ring.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ipc-limits.h"

COUNTER_DEFINE(shm_ring_bad_head);
COUNTER_DEFINE(shm_ring_bad_tail);
COUNTER_DEFINE(shm_ring_bad_record);
COUNTER_DEFINE(shm_ring_full);
COUNTER_DEFINE(shm_ring_doorbell_full);
COUNTER_DEFINE(shm_ring_doorbell_error);

#define SHM_RING_MAGIC 0x52494e47u       /* "RING" */
#define SHM_RING_VERSION 1
#define SHM_RING_CACHE_LINE 64
#define SHM_RING_DOORBELL_SIZE 4096     /* Bytes a doorbell pipe holds. */

/* The shared header.  Only 'head', 'tail' and the flags change after
 * creation; which side writes each is stated per member.  Nobody trusts
 * a value written by the other side. */
struct shm_ring_shared {
    uint32_t magic;             /* SHM_RING_MAGIC (creator). */
    uint32_t version;           /* SHM_RING_VERSION (creator). */
    uint64_t capacity;          /* Data area bytes (creator). */

    /* Bytes ever produced (producer). */
    _Alignas(SHM_RING_CACHE_LINE) _Atomic uint64_t head;
    /* Producer sleeps until there is space (set by the producer, cleared
     * by whichever side wakes it). */
    _Atomic uint32_t producer_waiting;

    /* Bytes ever consumed (consumer). */
    _Alignas(SHM_RING_CACHE_LINE) _Atomic uint64_t tail;
    /* Consumer sleeps until there is data (set by the consumer, cleared
     * by whichever side wakes it). */
    _Atomic uint32_t consumer_waiting;
};

static_assert(sizeof(struct shm_ring_shared) <= SHM_RING_HEADER_SIZE,
              "shared header fits its page");
/* The layout is shared by two processes; tests that play the hostile peer
 * write these offsets directly. */
static_assert(offsetof(struct shm_ring_shared, head) == 64
              && offsetof(struct shm_ring_shared, tail) == 128,
              "shared header layout");
/* Atomics in memory shared between processes must be lock-free: a lock
 * would live in the process, not in the mapping. */
static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2
              && ATOMIC_INT_LOCK_FREE == 2, "lock-free atomics required");
static_assert(SHM_RING_MAX_RECORD(SHM_RING_DEFAULT_CAPACITY)
              >= IPC_MAX_FRAME, "default ring holds IPC_MAX_FRAME");

struct shm_ring {
    enum shm_ring_role role;    /* Which end this handle is. */
    struct shm_ring_shared *shared; /* Shared header, in the mapping. */
    uint8_t *data;              /* Data area, 'capacity' bytes. */
    void *map_base;             /* Start of the mapping incl. guard page. */
    size_t map_size;            /* Size of the mapping incl. guard pages. */
    uint64_t capacity;          /* Private copy: data area bytes. */
    uint64_t max_record;        /* Private copy: largest record payload. */
    int memfd;                  /* Owned: the ring's memfd. */
    int data_fd;                /* Owned: this end of the "data" doorbell
                                 * pipe (write end for the producer, read
                                 * end for the consumer). */
    int space_fd;               /* Owned: this end of the "space" doorbell
                                 * pipe (read end for the producer, write
                                 * end for the consumer). */
    int peer_data_fd;           /* Owned, creator only (else -1): the
                                 * peer's ends, kept for export and never
                                 * read or written here. */
    int peer_space_fd;
    uint64_t head;              /* Producer: bytes produced, published. */
    uint64_t reserve_at;        /* Producer: where the reserved record's
                                 * header goes (a byte count like head). */
    uint64_t reserve_len;       /* Producer: reserved payload bytes. */
    bool reserved;              /* Producer: a reservation is open. */
    uint64_t tail;              /* Consumer: bytes consumed, published. */
    bool broken;                /* A peer violation was seen. */
};

static uint64_t
shm_ring_record_size(uint64_t len)
{
    return ROUND_UP(SHM_RING_RECORD_HEADER + len, SHM_RING_RECORD_HEADER);
}

static void
shm_ring_check_role(const struct shm_ring *ring, enum shm_ring_role role)
{
    if (ring->role != role) {
        fprintf(stderr, "shm_ring: %s call on a %s handle\n",
                role == SHM_RING_PRODUCER ? "producer" : "consumer",
                ring->role == SHM_RING_PRODUCER ? "producer" : "consumer");
        abort();
    }
}

static int
shm_ring_check_sizes(size_t capacity, size_t max_record, struct errbuf *eb)
{
    if (capacity < SHM_RING_MIN_CAPACITY || capacity > SHM_RING_MAX_CAPACITY
        || (capacity & (capacity - 1))) {
        return errbuf_set(eb, EINVAL, "ring capacity %zu is not a power of "
                          "two between %d and %d", capacity,
                          SHM_RING_MIN_CAPACITY, SHM_RING_MAX_CAPACITY);
    }
    if (max_record > SHM_RING_MAX_RECORD(capacity)) {
        return errbuf_set(eb, EINVAL, "records of %zu bytes need a ring of "
                          "more than %zu bytes", max_record, capacity);
    }
    return 0;
}

/* Maps 'memfd' between two guard pages. */
static int
shm_ring_map(struct shm_ring *ring, struct errbuf *eb)
{
    size_t page = sysconf(_SC_PAGESIZE);
    size_t total = SHM_RING_HEADER_SIZE + ring->capacity;
    size_t span = ROUND_UP(total, page);

    ring->map_size = page + span + page;
    ring->map_base = mmap(NULL, ring->map_size, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ring->map_base == MAP_FAILED) {
        ring->map_base = NULL;
        return errbuf_set(eb, errno, "mmap of %zu bytes: %s", ring->map_size,
                          strerror(errno));
    }
    uint8_t *p = (uint8_t *) ring->map_base + page;
    if (mmap(p, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
             ring->memfd, 0) == MAP_FAILED) {
        return errbuf_set(eb, errno, "mmap of ring memfd: %s",
                          strerror(errno));
    }
    ring->shared = (struct shm_ring_shared *) (void *) p;
    ring->data = p + SHM_RING_HEADER_SIZE;
    return 0;
}

static struct shm_ring *
shm_ring_alloc(enum shm_ring_role role, size_t capacity, size_t max_record)
{
    struct shm_ring *ring = xzalloc(sizeof *ring);
    ring->role = role;
    ring->capacity = capacity;
    ring->max_record = max_record;
    ring->memfd = ring->data_fd = ring->space_fd = -1;
    ring->peer_data_fd = ring->peer_space_fd = -1;
    return ring;
}

void
shm_ring_destroy(struct shm_ring *ring)
{
    if (!ring) {
        return;
    }
    if (ring->map_base) {
        munmap(ring->map_base, ring->map_size);
    }
    int fds[] = { ring->memfd, ring->data_fd, ring->space_fd,
                  ring->peer_data_fd, ring->peer_space_fd };
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    free(ring);
}

int
shm_ring_create(enum shm_ring_role role, size_t capacity, size_t max_record,
                struct shm_ring **ringp, struct errbuf *eb)
{
    int error = shm_ring_check_sizes(capacity, max_record, eb);
    if (error) {
        return error;
    }

    struct shm_ring *ring = shm_ring_alloc(role, capacity, max_record);
    ring->memfd = memfd_create("dpifd-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (ring->memfd < 0) {
        error = errbuf_set(eb, errno, "memfd_create: %s", strerror(errno));
        goto fail;
    }
    if (ftruncate(ring->memfd, SHM_RING_HEADER_SIZE + capacity)) {
        error = errbuf_set(eb, errno, "ftruncate: %s", strerror(errno));
        goto fail;
    }
    if (fcntl(ring->memfd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
        error = errbuf_set(eb, errno, "sealing the ring: %s",
                           strerror(errno));
        goto fail;
    }
    /* Each pipe end is its own open file description: the peer's flags
     * (O_NONBLOCK) are not ours.  pipe[0] reads, pipe[1] writes. */
    int data[2], space[2];
    if (pipe2(data, O_CLOEXEC | O_NONBLOCK)) {
        error = errbuf_set(eb, errno, "pipe2: %s", strerror(errno));
        goto fail;
    }
    if (pipe2(space, O_CLOEXEC | O_NONBLOCK)) {
        error = errbuf_set(eb, errno, "pipe2: %s", strerror(errno));
        close(data[0]);
        close(data[1]);
        goto fail;
    }
    /* A wake-up is one byte: one page per pipe is plenty (advisory: the
     * default size serves as well). */
    fcntl(data[0], F_SETPIPE_SZ, SHM_RING_DOORBELL_SIZE);
    fcntl(space[0], F_SETPIPE_SZ, SHM_RING_DOORBELL_SIZE);
    bool producer = role == SHM_RING_PRODUCER;
    ring->data_fd = data[producer];
    ring->peer_data_fd = data[!producer];
    ring->space_fd = space[!producer];
    ring->peer_space_fd = space[producer];
    error = shm_ring_map(ring, eb);
    if (error) {
        goto fail;
    }
    ring->shared->magic = SHM_RING_MAGIC;
    ring->shared->version = SHM_RING_VERSION;
    ring->shared->capacity = capacity;
    *ringp = ring;
    return 0;

fail:
    shm_ring_destroy(ring);
    return error;
}

void
shm_ring_export(const struct shm_ring *ring, int *memfdp, int *data_fdp,
                int *space_fdp, size_t *capacityp)
{
    *memfdp = ring->memfd;
    *data_fdp = ring->peer_data_fd;
    *space_fdp = ring->peer_space_fd;
    *capacityp = ring->capacity;
}

/* Checks the relation of the two indices: the producer is at most
 * 'capacity' bytes ahead of the consumer, and both are record aligned. */
static bool
shm_ring_indices_ok(const struct shm_ring *ring, uint64_t head, uint64_t tail)
{
    return head - tail <= ring->capacity
           && !(head % SHM_RING_RECORD_HEADER)
           && !(tail % SHM_RING_RECORD_HEADER);
}

int
shm_ring_attach(enum shm_ring_role role, int memfd, int data_fd,
                int space_fd, size_t capacity, size_t max_record,
                struct shm_ring **ringp, struct errbuf *eb)
{
    struct shm_ring *ring = shm_ring_alloc(role, capacity, max_record);
    ring->memfd = memfd;
    ring->data_fd = data_fd;
    ring->space_fd = space_fd;

    int error = shm_ring_check_sizes(capacity, max_record, eb);
    if (error) {
        goto fail;
    }

    struct stat st;
    if (fstat(memfd, &st)) {
        error = errbuf_set(eb, errno, "fstat of ring memfd: %s",
                           strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)
        || (uint64_t) st.st_size != SHM_RING_HEADER_SIZE + capacity) {
        error = errbuf_set(eb, EINVAL, "ring memfd has %jd bytes, expected "
                           "%zu", (intmax_t) st.st_size,
                           SHM_RING_HEADER_SIZE + capacity);
        goto fail;
    }
    int seals = fcntl(memfd, F_GET_SEALS);
    int need = F_SEAL_SHRINK | F_SEAL_GROW;
    if (seals < 0 || (seals & need) != need) {
        error = errbuf_set(eb, EINVAL, "ring memfd is not sealed against "
                           "shrinking and growing");
        goto fail;
    }

    error = shm_ring_map(ring, eb);
    if (error) {
        goto fail;
    }
    const struct shm_ring_shared *sh = ring->shared;
    if (sh->magic != SHM_RING_MAGIC || sh->version != SHM_RING_VERSION
        || sh->capacity != capacity) {
        error = errbuf_set(eb, EPROTO, "ring header (magic 0x%08"PRIx32", "
                           "version %"PRIu32", capacity %"PRIu64") does not "
                           "match", sh->magic, sh->version, sh->capacity);
        goto fail;
    }
    uint64_t head = atomic_load_explicit(&ring->shared->head,
                                         memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&ring->shared->tail,
                                         memory_order_acquire);
    if (!shm_ring_indices_ok(ring, head, tail)) {
        error = errbuf_set(eb, EPROTO, "ring indices head %"PRIu64" tail "
                           "%"PRIu64" are inconsistent", head, tail);
        goto fail;
    }
    ring->head = head;
    ring->tail = tail;
    *ringp = ring;
    return 0;

fail:
    shm_ring_destroy(ring);
    return error;
}

/* Marks the ring broken and formats the reason. */
static int PRINTF_FORMAT(3, 4)
shm_ring_break(struct shm_ring *ring, struct errbuf *eb, const char *fmt, ...)
{
    ring->broken = true;
    if (eb) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, args);
        va_end(args);
    }
    return EPROTO;
}

/* Rings doorbell 'fd' (this end's write end).  It is non-blocking and
 * not shared with the peer, so this never blocks: a full pipe (EAGAIN)
 * already holds a wake-up the peer has not taken. */
static void
shm_ring_kick(int fd)
{
    static const char bell = 'x';
    ssize_t n = write(fd, &bell, 1);

    if (n < 0 && errno == EAGAIN) {
        COUNTER_INC(shm_ring_doorbell_full);
    } else if (n < 0 && errno != EINTR) {
        COUNTER_INC(shm_ring_doorbell_error);
    }
}

/* ----- producer ---------------------------------------------------------- */

/* Loads and checks the consumer's tail.  Returns 0 or EPROTO. */
static int
shm_ring_load_tail(struct shm_ring *ring, uint64_t *tailp, struct errbuf *eb)
{
    uint64_t tail = atomic_load_explicit(&ring->shared->tail,
                                         memory_order_acquire);
    if (!shm_ring_indices_ok(ring, ring->head, tail)) {
        COUNTER_INC(shm_ring_bad_tail);
        return shm_ring_break(ring, eb, "consumer tail %"PRIu64" impossible "
                              "with head %"PRIu64" and capacity %"PRIu64,
                              tail, ring->head, ring->capacity);
    }
    *tailp = tail;
    return 0;
}

/* Bytes a record of 'len' payload bytes takes at the current head,
 * including the skipped end of the data area if it must wrap. */
static uint64_t
shm_ring_space_needed(const struct shm_ring *ring, uint64_t len)
{
    uint64_t rec = shm_ring_record_size(len);
    uint64_t to_end = ring->capacity - (ring->head & (ring->capacity - 1));
    return rec <= to_end ? rec : to_end + rec;
}

int
shm_ring_reserve(struct shm_ring *ring, size_t len, void **datap,
                 struct errbuf *eb)
{
    shm_ring_check_role(ring, SHM_RING_PRODUCER);
    if (ring->broken) {
        return errbuf_set(eb, EPROTO, "ring is broken");
    }
    if (len > ring->max_record) {
        return errbuf_set(eb, EMSGSIZE, "record of %zu bytes exceeds the "
                          "ring's limit of %"PRIu64, len, ring->max_record);
    }
    uint64_t tail = 0;
    int error = shm_ring_load_tail(ring, &tail, eb);
    if (error) {
        return error;
    }
    uint64_t need = shm_ring_space_needed(ring, len);
    if (need > ring->capacity - (ring->head - tail)) {
        COUNTER_INC(shm_ring_full);
        return errbuf_set(eb, ENOBUFS, "ring full");
    }

    uint64_t mask = ring->capacity - 1;
    uint64_t at = ring->head;
    if (need != shm_ring_record_size(len)) {
        /* Wrap: mark the rest of the data area as skipped.  It becomes
         * visible together with the record, at commit. */
        uint64_t skip = SHM_RING_SKIP;
        memcpy(ring->data + (at & mask), &skip, sizeof skip);
        at += ring->capacity - (at & mask);
    }
    ring->reserve_at = at;
    ring->reserve_len = len;
    ring->reserved = true;
    *datap = ring->data + (at & mask) + SHM_RING_RECORD_HEADER;
    return 0;
}

uint64_t
shm_ring_produced(const struct shm_ring *ring)
{
    shm_ring_check_role(ring, SHM_RING_PRODUCER);
    return ring->head;
}

int
shm_ring_consumed(struct shm_ring *ring, uint64_t *tailp, struct errbuf *eb)
{
    shm_ring_check_role(ring, SHM_RING_PRODUCER);
    if (ring->broken) {
        return errbuf_set(eb, EPROTO, "ring is broken");
    }
    return shm_ring_load_tail(ring, tailp, eb);
}

void
shm_ring_commit(struct shm_ring *ring, size_t len)
{
    shm_ring_check_role(ring, SHM_RING_PRODUCER);
    if (!ring->reserved || len > ring->reserve_len) {
        fprintf(stderr, "shm_ring: commit of %zu bytes without a matching "
                "reservation\n", len);
        abort();
    }
    uint64_t mask = ring->capacity - 1;
    uint64_t len64 = len;
    memcpy(ring->data + (ring->reserve_at & mask), &len64, sizeof len64);
    ring->head = ring->reserve_at + shm_ring_record_size(len);
    ring->reserved = false;
    atomic_store_explicit(&ring->shared->head, ring->head,
                          memory_order_release);

    /* Pairs with the fence in shm_ring_prepare_wait(): either the consumer
     * sees the new head, or we see its flag. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ring->shared->consumer_waiting,
                             memory_order_relaxed)
        && atomic_exchange(&ring->shared->consumer_waiting, 0)) {
        shm_ring_kick(ring->data_fd);
    }
}

int
shm_ring_push(struct shm_ring *ring, const void *data, size_t len,
              struct errbuf *eb)
{
    void *p;
    int error = shm_ring_reserve(ring, len, &p, eb);
    if (!error) {
        if (len) {
            memcpy(p, data, len);
        }
        shm_ring_commit(ring, len);
    }
    return error;
}

/* ----- consumer ---------------------------------------------------------- */

int
shm_ring_pop(struct shm_ring *ring, struct buf *out, struct errbuf *eb)
{
    shm_ring_check_role(ring, SHM_RING_CONSUMER);
    if (ring->broken) {
        return errbuf_set(eb, EPROTO, "ring is broken");
    }

    uint64_t head = atomic_load_explicit(&ring->shared->head,
                                         memory_order_acquire);
    uint64_t tail = ring->tail;
    if (!shm_ring_indices_ok(ring, head, tail)) {
        COUNTER_INC(shm_ring_bad_head);
        return shm_ring_break(ring, eb, "producer head %"PRIu64" impossible "
                              "with tail %"PRIu64" and capacity %"PRIu64,
                              head, tail, ring->capacity);
    }
    if (head == tail) {
        return errbuf_set(eb, EAGAIN, "ring empty");
    }

    /* Every length is read exactly once, into private memory, and only
     * that copy is checked and used. */
    uint64_t mask = ring->capacity - 1;
    uint64_t pos = tail & mask;
    uint64_t avail = head - tail;
    uint64_t len;
    memcpy(&len, ring->data + pos, sizeof len);
    if (len == SHM_RING_SKIP) {
        uint64_t to_end = ring->capacity - pos;
        if (pos == 0 || to_end + SHM_RING_RECORD_HEADER > avail) {
            COUNTER_INC(shm_ring_bad_record);
            return shm_ring_break(ring, eb, "skip marker at offset %"PRIu64
                                  " with %"PRIu64" bytes published", pos,
                                  avail);
        }
        tail += to_end;
        avail -= to_end;
        pos = 0;
        memcpy(&len, ring->data, sizeof len);
    }
    if (len > ring->max_record) {
        COUNTER_INC(shm_ring_bad_record);
        return shm_ring_break(ring, eb, "record length %"PRIu64" at offset "
                              "%"PRIu64" exceeds the limit of %"PRIu64, len,
                              pos, ring->max_record);
    }
    uint64_t rec = shm_ring_record_size(len);
    if (rec > avail || rec > ring->capacity - pos) {
        COUNTER_INC(shm_ring_bad_record);
        return shm_ring_break(ring, eb, "record of %"PRIu64" bytes at offset "
                              "%"PRIu64" exceeds the %"PRIu64" bytes "
                              "published or the end of the ring", len, pos,
                              avail);
    }

    buf_clear(out);
    if (len) {
        buf_put(out, ring->data + pos + SHM_RING_RECORD_HEADER, len);
    }

    ring->tail = tail + rec;
    atomic_store_explicit(&ring->shared->tail, ring->tail,
                          memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ring->shared->producer_waiting,
                             memory_order_relaxed)
        && atomic_exchange(&ring->shared->producer_waiting, 0)) {
        shm_ring_kick(ring->space_fd);
    }
    return 0;
}

/* ----- both ends ---------------------------------------------------------- */

bool
shm_ring_prepare_wait(struct shm_ring *ring, size_t len)
{
    _Atomic uint32_t *flag = (ring->role == SHM_RING_CONSUMER
                              ? &ring->shared->consumer_waiting
                              : &ring->shared->producer_waiting);
    bool sleep;

    atomic_store(flag, 1);
    atomic_thread_fence(memory_order_seq_cst);
    if (ring->broken) {
        sleep = false;
    } else if (ring->role == SHM_RING_CONSUMER) {
        sleep = atomic_load_explicit(&ring->shared->head,
                                     memory_order_acquire) == ring->tail;
    } else {
        /* An impossible tail means "do not sleep": the next reserve
         * reports it. */
        uint64_t tail = atomic_load_explicit(&ring->shared->tail,
                                             memory_order_acquire);
        sleep = (shm_ring_indices_ok(ring, ring->head, tail)
                 && len <= ring->max_record
                 && shm_ring_space_needed(ring, len)
                    > ring->capacity - (ring->head - tail));
    }
    if (!sleep) {
        atomic_store(flag, 0);
    }
    return sleep;
}

int
shm_ring_wait_fd(const struct shm_ring *ring)
{
    return ring->role == SHM_RING_CONSUMER ? ring->data_fd : ring->space_fd;
}

/* Empties doorbell 'fd' (this end's read end, non-blocking and not shared
 * with the peer): at most SHM_RING_DRAIN_READS reads, so a peer that keeps
 * ringing cannot hold this side here; what is left wakes the next poll. */
#define SHM_RING_DRAIN_READS 16
static void
shm_ring_drain(int fd)
{
    char bells[4096];

    for (int i = 0; i < SHM_RING_DRAIN_READS; i++) {
        ssize_t n = read(fd, bells, sizeof bells);
        if (n < (ssize_t) sizeof bells) {
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                COUNTER_INC(shm_ring_doorbell_error);
            }
            return;
        }
    }
}

void
shm_ring_ack_wait(struct shm_ring *ring)
{
    shm_ring_drain(shm_ring_wait_fd(ring));
    atomic_store(ring->role == SHM_RING_CONSUMER
                 ? &ring->shared->consumer_waiting
                 : &ring->shared->producer_waiting, 0);
}

bool
shm_ring_is_broken(const struct shm_ring *ring)
{
    return ring->broken;
}
