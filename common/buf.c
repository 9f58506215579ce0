#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void
buf_init(struct buf *b, size_t size)
{
    b->data = size ? xmalloc(size) : NULL;
    b->size = 0;
    b->allocated = size;
    b->on_heap = size != 0;
}

void
buf_use_stub(struct buf *b, void *stub, size_t stub_size)
{
    b->data = stub;
    b->size = 0;
    b->allocated = stub_size;
    b->on_heap = false;
}

void
buf_uninit(struct buf *b)
{
    if (b->on_heap) {
        free(b->data);
    }
    b->data = NULL;
    b->size = b->allocated = 0;
    b->on_heap = false;
}

void
buf_clear(struct buf *b)
{
    b->size = 0;
}

void
buf_reserve(struct buf *b, size_t n)
{
    if (b->data && b->allocated - b->size >= n) {
        return;
    }
    size_t want = MAX(b->size + n, b->allocated * 2);
    want = MAX(want, (size_t) 64);
    if (b->on_heap) {
        b->data = xrealloc(b->data, want);
    } else {
        uint8_t *p = xmalloc(want);
        if (b->size) {
            memcpy(p, b->data, b->size);
        }
        b->data = p;
        b->on_heap = true;
    }
    b->allocated = want;
}

void *
buf_put_uninit(struct buf *b, size_t n)
{
    buf_reserve(b, n);
    void *p = b->data + b->size;
    b->size += n;
    return p;
}

void *
buf_put_zeros(struct buf *b, size_t n)
{
    void *p = buf_put_uninit(b, n);
    if (n) {
        memset(p, 0, n);
    }
    return p;
}

void *
buf_put(struct buf *b, const void *data, size_t n)
{
    void *p = buf_put_uninit(b, n);
    if (n) {
        memcpy(p, data, n);
    }
    return p;
}

void *
buf_steal_data(struct buf *b)
{
    void *p = b->on_heap ? b->data : xmemdup(b->data, b->size);
    if (!p) {
        p = xmalloc(1);
    }
    b->data = NULL;
    b->size = b->allocated = 0;
    b->on_heap = false;
    return p;
}
