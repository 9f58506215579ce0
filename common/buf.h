/*
 * buf.h — a growable byte buffer with an optional stack stub.
 *
 * The building block of every message we compose: netlink attribute streams
 * (flow keys, masks, actions), protobuf payloads, frames.  On hot paths the
 * caller gives a stack "stub" so that the common case does not allocate:
 *
 *     uint64_t stub[1024 / 8];
 *     struct buf b;
 *     buf_use_stub(&b, stub, sizeof stub);
 *     ...
 *     buf_uninit(&b);          -- frees only if it outgrew the stub
 *
 * Ownership: the buffer owns its heap memory; buf_steal_data() hands it to
 * the caller (copying out of a stub if needed).  Pointers into 'data' are
 * invalidated by any call that may grow the buffer.
 */
#ifndef DPIF_BUF_H
#define DPIF_BUF_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data;              /* Start of the contents. */
    size_t size;                /* Bytes in use. */
    size_t allocated;           /* Bytes available at 'data'. */
    bool on_heap;               /* True if 'data' is ours to free. */
};

/* An empty buffer with 'size' bytes preallocated on the heap (0 is fine). */
void buf_init(struct buf *, size_t size);
/* An empty buffer that uses the caller's 'stub' until it needs more room.
 * 'stub' must outlive the buffer's use of it. */
void buf_use_stub(struct buf *, void *stub, size_t stub_size);
void buf_uninit(struct buf *);
void buf_clear(struct buf *);

/* Makes room for 'n' more bytes. */
void buf_reserve(struct buf *, size_t n);
/* Appends 'n' bytes and returns a pointer to them (uninitialized / zeroed /
 * copied from 'data'). */
void *buf_put_uninit(struct buf *, size_t n);
void *buf_put_zeros(struct buf *, size_t n);
void *buf_put(struct buf *, const void *data, size_t n);

/* Returns the contents as a malloc'ed block the caller owns and leaves the
 * buffer empty and uninitialized. */
void *buf_steal_data(struct buf *);

static inline void *
buf_at(const struct buf *b, size_t offset)
{
    return b->data + offset;
}

#endif /* buf.h */
