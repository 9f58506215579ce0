/* ctl-reply.c — the memory a control reply points to (ctl-command.h). */
#include "privd/ctl-command.h"

#include <stdlib.h>
#include <string.h>

void *
ctx_keep(struct control_ctx *ctx, void *p)
{
    if (ctx->n_allocs >= ctx->allocated) {
        ctx->allocated = ctx->allocated ? 2 * ctx->allocated : 32;
        ctx->allocs = xrealloc(ctx->allocs,
                               ctx->allocated * sizeof *ctx->allocs);
    }
    ctx->allocs[ctx->n_allocs++] = p;
    return p;
}

void *
ctx_alloc(struct control_ctx *ctx, size_t size)
{
    return ctx_keep(ctx, xzalloc(size ? size : 1));
}

char *
ctx_strdup(struct control_ctx *ctx, const char *s)
{
    return ctx_keep(ctx, xstrdup(s));
}

/* A heap copy of 'n' bytes: aligned for any type, so that netlink streams
 * that arrived at an arbitrary offset can be parsed in place. */
void *
ctx_memdup(struct control_ctx *ctx, const void *p, size_t n)
{
    void *copy = ctx_alloc(ctx, n);
    if (n) {
        memcpy(copy, p, n);
    }
    return copy;
}

ProtobufCBinaryData
ctx_bytes(struct control_ctx *ctx, const void *p, size_t n)
{
    return (ProtobufCBinaryData) { n, ctx_memdup(ctx, p, n) };
}

void
ctx_free(struct control_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_allocs; i++) {
        free(ctx->allocs[i]);
    }
    free(ctx->allocs);
    ctx->allocs = NULL;
    ctx->n_allocs = ctx->allocated = 0;
}

/* Appends 'item' to a repeated field ('*itemsp', '*np'), growing by
 * doubling in CTX's memory. */
void
ctx_append(struct control_ctx *ctx, void ***itemsp, size_t *np, void *item)
{
    size_t n = *np;
    if (!(n & (n - 1))) {       /* 0, 1, 2, 4...: grow to the next power. */
        void **items = ctx_alloc(ctx, (n ? 2 * n : 1) * sizeof *items);
        if (n) {
            memcpy(items, *itemsp, n * sizeof *items);
        }
        *itemsp = items;
    }
    (*itemsp)[n] = item;
    *np = n + 1;
}
