/*
 * shm-ring.h — single-producer, single-consumer message rings in shared
 * memory, between privd and one worker.
 *
 *
 * Concepts
 * ========
 *
 * A ring is a memfd mapped by exactly two processes: one "producer" appends
 * records, one "consumer" removes them in order.  privd creates every ring
 * (shm_ring_create()), sends its descriptors to the worker with the
 * HelloReply (shm_ring_export(), SCM_RIGHTS), and the worker maps it
 * (shm_ring_attach()).  Which end privd is depends on the ring: it produces
 * upcalls, op results and dump shards and consumes op batches.  A ring is
 * used by one pair for its whole life: when a worker is respawned, privd
 * creates new rings, because the old worker may have corrupted them.
 *
 * Layout of the memfd (SHM_RING_HEADER_SIZE + capacity bytes):
 *
 *     header    magic, version and capacity (written once by the creator),
 *               then on separate cache lines:
 *                 head  bytes ever produced (written by the producer only)
 *                 tail  bytes ever consumed (written by the consumer only)
 *                 and one "waiting" flag for each side (doorbells, below)
 *     data      'capacity' bytes, a power of two
 *
 * head and tail are free-running 64-bit byte counts; a position in the data
 * area is the count modulo capacity, so head - tail is the number of bytes
 * in use.  Each record is an 8-byte length header followed by the payload,
 * padded to a multiple of 8 bytes, and always contiguous: when a record
 * does not fit before the end of the data area, the producer writes a skip
 * marker (a length of SHM_RING_SKIP) and starts the record at offset 0.  A
 * record is therefore copied out with one memcpy, and a producer can encode
 * a message in place (shm_ring_reserve(), then shm_ring_commit()).  To
 * guarantee that an empty ring can always take a record, a record
 * (header + payload, padded) may use at most half of the capacity.
 *
 * Ordering: the producer writes the record, then publishes head with a
 * release store; the consumer loads head with acquire, copies the record,
 * then publishes tail with a release store, which lets the producer reuse
 * the space.  The indices are C11 atomics, lock-free on every platform
 * dpifd supports (checked at compile time).
 *
 *
 * Doorbells
 * =========
 *
 * Two pipes go with a ring: "data" (rung by the producer when it added
 * records) and "space" (rung by the consumer when it freed space).  A side
 * that wants to sleep calls shm_ring_prepare_wait(), which announces it in
 * the shared header and re-checks the ring; if that returns true it polls
 * shm_ring_wait_fd() and then calls shm_ring_ack_wait().  The other side
 * rings (writes one byte) only when the flag was set, so a busy ring costs
 * no system calls.
 *
 * The creator keeps its own end of each pipe (one page: a wake-up is one
 * byte) and exports the other.  The
 * two ends of a pipe are distinct open file descriptions, so nothing the
 * peer does to its descriptors (clearing O_NONBLOCK with fcntl(), closing
 * them, filling or never emptying the pipe) changes the creator's: its
 * ends stay non-blocking, a ring on a full pipe returns EAGAIN (the peer
 * has a wake-up pending already; counted), and shm_ring_ack_wait() reads at
 * most a bounded number of times and takes EAGAIN as "nothing to reset".
 * The creator also keeps the peer's ends open (never using them), so a
 * peer that closes its end cannot make a ring raise SIGPIPE.  (With an
 * eventfd shared by both sides, a worker that cleared O_NONBLOCK on it
 * made privd block in read() or write() forever.)
 *
 *
 * Trust
 * =====
 *
 * Each side treats everything the other side can write as hostile: the
 * shared header (the peer's index, the waiting flags) and the data area
 * (record lengths).  Each side keeps its own index, and its own copy of the
 * capacity and the record limit, in private memory and never reads them
 * back from the shared page.  The consumer validates the producer's head
 * (ahead of the tail by at most the capacity, 8-byte aligned) and each
 * record's length (at most the record limit, within the bytes published,
 * contiguous inside the data area), reading each length exactly once, and
 * copies the record into private memory before returning it, so the peer
 * cannot change it after validation.  The producer likewise validates the
 * consumer's tail.  A violation returns EPROTO with a reason, and the ring
 * stays broken (every later call returns EPROTO): privd then kills the
 * worker.  The worst a peer can do through the waiting flags is cause
 * useless or missing wake-ups of its own side.
 *
 * The mapping is surrounded by inaccessible guard pages, so that a bug in
 * this code that read or wrote past the ring would fault at once instead
 * of touching other memory.  The memfd is sealed against shrinking and
 * growing (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL), so a worker cannot make
 * privd's mapping fault with SIGBUS; attach checks the seals.  (A peer can
 * still punch holes with fallocate(); the pages then read as zeros, which is
 * just more data to validate.)
 *
 *
 * Typical use
 * ===========
 *
 * privd, for an ops ring that the worker produces into:
 *
 *     struct shm_ring *ring;
 *     error = shm_ring_create(SHM_RING_CONSUMER, SHM_RING_DEFAULT_CAPACITY,
 *                             IPC_MAX_FRAME, &ring, &eb);
 *     shm_ring_export(ring, &memfd, &data_fd, &space_fd, &capacity);
 *     ...send them in the HelloReply...
 *     for (;;) {
 *         error = shm_ring_pop(ring, &b, &eb);
 *         if (error == EAGAIN) {
 *             if (shm_ring_prepare_wait(ring)) {
 *                 ...poll shm_ring_wait_fd(ring), then shm_ring_ack_wait()...
 *             }
 *         } else if (error) {
 *             ...EPROTO: kill the worker, log eb.msg...
 *         } else {
 *             ...ipc_frame_decode(b.data, b.size, ...)...
 *         }
 *     }
 *
 * The worker, after taking the descriptors out of the HelloReply:
 *
 *     error = shm_ring_attach(SHM_RING_PRODUCER, memfd, data_fd, space_fd,
 *                             desc->capacity, IPC_MAX_FRAME, &ring, &eb);
 *     error = shm_ring_push(ring, frame, size, &eb);    -- or ENOBUFS: full
 *
 *
 * Ownership and threads
 * =====================
 *
 * struct shm_ring owns its mapping and its three descriptors.  Each handle
 * is one end: producer calls on a consumer handle (and vice versa) abort.
 * A handle is used by one thread; dpifd processes are single-threaded.
 */
#ifndef DPIF_SHM_RING_H
#define DPIF_SHM_RING_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct buf;

/* Bytes of the shared header that precedes the data area. */
#define SHM_RING_HEADER_SIZE 4096
/* Limits of the data area's size (powers of two). */
#define SHM_RING_MIN_CAPACITY 4096
#define SHM_RING_MAX_CAPACITY (64 * 1024 * 1024)
/* Data area size that holds records of up to IPC_MAX_FRAME bytes. */
#define SHM_RING_DEFAULT_CAPACITY (4 * 1024 * 1024)
/* Size of a record's length header, and the alignment of every record. */
#define SHM_RING_RECORD_HEADER 8
/* Record length meaning "nothing more before the end of the data area". */
#define SHM_RING_SKIP UINT64_MAX

/* Largest 'max_record' that a ring of 'capacity' bytes allows. */
#define SHM_RING_MAX_RECORD(CAPACITY) ((CAPACITY) / 2 - SHM_RING_RECORD_HEADER)

/* Which end of a ring a handle is. */
enum shm_ring_role {
    SHM_RING_PRODUCER,
    SHM_RING_CONSUMER,
};

struct shm_ring;

/* Creates a ring with a data area of 'capacity' bytes (a power of two
 * between SHM_RING_MIN_CAPACITY and SHM_RING_MAX_CAPACITY) for records of
 * at most 'max_record' bytes (at most SHM_RING_MAX_RECORD(capacity)), and
 * returns the handle for end 'role' in '*ringp'.  Returns 0, EINVAL for bad
 * sizes, or the errno of memfd_create(), ftruncate(), mmap() or pipe2(). */
int shm_ring_create(enum shm_ring_role role, size_t capacity,
                    size_t max_record, struct shm_ring **ringp,
                    struct errbuf *);

/* The descriptors for the peer (the memfd and the peer's ends of the two
 * doorbell pipes) and the capacity, to send to it.  They stay owned by
 * 'ring' (SCM_RIGHTS duplicates them into the receiver); only a ring from
 * shm_ring_create() has them (-1 otherwise). */
void shm_ring_export(const struct shm_ring *ring, int *memfdp,
                     int *data_fdp, int *space_fdp, size_t *capacityp);

/* Maps the ring in 'memfd' as end 'role', with this end's doorbells
 * 'data_fd' and 'space_fd' (as shm_ring_export() gave them).  'capacity'
 * and 'max_record' are what this side expects (from its configuration,
 * not from the ring): the memfd must be exactly
 * SHM_RING_HEADER_SIZE + capacity bytes, sealed against shrinking and
 * growing, and its header must agree.  Takes ownership of the three
 * descriptors in every case (they are closed on failure).  Returns 0,
 * EINVAL for bad sizes or seals, EPROTO for a header that does not match,
 * or the errno of fstat(), fcntl() or mmap(). */
int shm_ring_attach(enum shm_ring_role role, int memfd, int data_fd,
                    int space_fd, size_t capacity, size_t max_record,
                    struct shm_ring **ringp, struct errbuf *);

/* Unmaps the ring and closes its descriptors.  NULL is fine. */
void shm_ring_destroy(struct shm_ring *);

/* ----- producer ---------------------------------------------------------- */

/* Reserves room for a record of 'len' bytes and stores where to write it in
 * '*datap' (8-byte aligned).  Nothing is visible to the consumer until
 * shm_ring_commit().  Returns 0, ENOBUFS if the ring is full now, EMSGSIZE
 * if 'len' exceeds the ring's record limit, EPROTO if the consumer wrote an
 * impossible tail.  Never blocks. */
int shm_ring_reserve(struct shm_ring *, size_t len, void **datap,
                     struct errbuf *);

/* Publishes the record reserved last, with its final length 'len' (at most
 * the reserved length), and rings the data doorbell if the consumer
 * sleeps. */
void shm_ring_commit(struct shm_ring *, size_t len);

/* Copies 'len' bytes at 'data' into the ring as one record: reserve, copy,
 * commit.  Same returns as shm_ring_reserve(). */
int shm_ring_push(struct shm_ring *, const void *data, size_t len,
                  struct errbuf *);

/* Bytes ever produced into 'ring': the end of the last committed record,
 * as a free-running byte count (see "Concepts"). */
uint64_t shm_ring_produced(const struct shm_ring *);

/* Stores in '*tailp' the bytes the consumer has consumed so far, read from
 * the shared header and validated as every producer call does: records
 * that end after '*tailp' (compare with shm_ring_produced() after their
 * commit) were not taken yet.  Returns 0, or EPROTO (the ring is then
 * broken) if the consumer wrote an impossible tail. */
int shm_ring_consumed(struct shm_ring *, uint64_t *tailp, struct errbuf *);

/* ----- consumer ---------------------------------------------------------- */

/* Removes the oldest record, copying its bytes into 'out' (cleared first).
 * Returns 0, EAGAIN if the ring is empty, or EPROTO (with a reason) if the
 * producer broke the ring's rules; then the ring stays broken.  Rings the
 * space doorbell if the producer sleeps. */
int shm_ring_pop(struct shm_ring *, struct buf *out, struct errbuf *);

/* ----- both ends ---------------------------------------------------------- */

/* Announces that this end is about to sleep: the consumer until a record
 * arrives, the producer until 'len' bytes of record fit.  Returns true if
 * the caller should now poll shm_ring_wait_fd() for POLLIN (the condition
 * still holds after the announcement), false if there is no need to sleep
 * (the announcement is withdrawn). */
bool shm_ring_prepare_wait(struct shm_ring *, size_t len);

/* The doorbell (a pipe's read end) this end sleeps on: "data" for the
 * consumer, "space" for the producer. */
int shm_ring_wait_fd(const struct shm_ring *);

/* After waking up: empties the doorbell (non-blocking, bounded; EAGAIN is
 * normal) and withdraws the announcement. */
void shm_ring_ack_wait(struct shm_ring *);

/* True once the ring is broken (a call returned EPROTO). */
bool shm_ring_is_broken(const struct shm_ring *);

#endif /* shm-ring.h */
