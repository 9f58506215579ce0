/* libFuzzer harness: the consumer of a shared-memory ring over an arbitrary
 * image of what a hostile producer can write (the head index and the data
 * area), written through a second mapping of the memfd exactly as a worker
 * would.  The consumer must return records within the limit or EPROTO,
 * never read outside the ring (the mapping has guard pages and ASan checks
 * the private copies).
 *
 * Input: head (8 bytes), the data area (CAP bytes, zero-padded if the input
 * is shorter), then any number of further head values (8 bytes each), each
 * published before draining the ring again. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/shm-ring.h"

#define CAP 4096
#define MAX_REC SHM_RING_MAX_RECORD(CAP)
#define OFF_HEAD 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pops until the ring is empty or broken.  Returns false once broken. */
static bool
drain(struct shm_ring *ring, struct buf *out)
{
    for (;;) {
        struct errbuf eb;
        int error = shm_ring_pop(ring, out, &eb);
        if (error == EAGAIN) {
            return true;
        } else if (error == EPROTO) {
            return false;
        } else if (error || out->size > MAX_REC) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct shm_ring *ring;
    struct errbuf eb;
    int memfd, defd, sefd;
    size_t cap;

    if (size < 8) {
        return 0;
    }
    if (shm_ring_create(SHM_RING_CONSUMER, CAP, MAX_REC, &ring, &eb)) {
        abort();
    }
    shm_ring_export(ring, &memfd, &defd, &sefd, &cap);
    uint8_t *raw = mmap(NULL, SHM_RING_HEADER_SIZE + CAP,
                        PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (raw == MAP_FAILED) {
        abort();
    }

    size_t n = MIN(size - 8, (size_t) CAP);
    memcpy(raw + SHM_RING_HEADER_SIZE, data + 8, n);
    memcpy(raw + OFF_HEAD, data, 8);

    struct buf out;
    buf_init(&out, 0);
    bool ok = drain(ring, &out);
    for (size_t off = 8 + CAP; ok && off + 8 <= size; off += 8) {
        memcpy(raw + OFF_HEAD, data + off, 8);
        ok = drain(ring, &out);
    }
    buf_uninit(&out);
    munmap(raw, SHM_RING_HEADER_SIZE + CAP);
    shm_ring_destroy(ring);
    return 0;
}
