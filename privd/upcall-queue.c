/* Per-port bounded upcall FIFOs served round robin per handler channel; see
 * upcall-queue.h. */
#include "privd/upcall-queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"

/* One queued upcall: header and, after it, packet, key and userdata. */
struct upcall_entry {
    struct upcall_entry *next;  /* Next in its sub-queue, NULL for the last. */
    enum dpif_upcall_type type; /* MISS or ACTION. */
    uint32_t in_port;           /* Input port. */
    uint32_t pid;               /* Channel it was queued on. */
    size_t packet_len;          /* Bytes of frame at data[0]. */
    size_t key_len;             /* Bytes of key after the frame. */
    size_t userdata_len;        /* Bytes of userdata after the key. */
    uint8_t data[];             /* Frame, key, userdata. */
};

/* The FIFO of one source (input port or special) within a channel. */
struct upcall_subqueue {
    uint32_t id;                /* Input port, or UPCALL_SUBQUEUE_SPECIAL. */
    size_t n;                   /* Upcalls queued (>= 1 while it exists). */
    struct upcall_entry *head;  /* Oldest (owned, with the whole list). */
    struct upcall_entry *tail;  /* Newest. */
};

static void
upcall_channel_purge(struct upcall_channel *ch)
{
    for (size_t i = 0; i < ch->n_subs; i++) {
        struct upcall_subqueue *sq = ch->subs[i];
        struct upcall_entry *e = sq->head;
        while (e) {
            struct upcall_entry *next = e->next;
            free(e);
            e = next;
        }
        free(sq);
    }
    ch->n_subs = 0;
    ch->next = 0;
    ch->n_queued = 0;
}

static void
upcall_channels_alloc(struct upcall_queues *uq, uint32_t n_handlers)
{
    uq->n_handlers = n_handlers;
    uq->channels = xcalloc(n_handlers, sizeof *uq->channels);
}

void
upcall_queues_init(struct upcall_queues *uq, uint32_t n_handlers,
                   size_t queue_len)
{
    upcall_channels_alloc(uq, n_handlers ? n_handlers : 1);
    uq->queue_len = queue_len ? queue_len : 1;
}

size_t
upcall_queues_purge(struct upcall_queues *uq)
{
    size_t n = 0;

    for (uint32_t i = 0; i < uq->n_handlers; i++) {
        n += uq->channels[i].n_queued;
        upcall_channel_purge(&uq->channels[i]);
    }
    return n;
}

void
upcall_queues_destroy(struct upcall_queues *uq)
{
    upcall_queues_purge(uq);
    for (uint32_t i = 0; i < uq->n_handlers; i++) {
        free(uq->channels[i].subs);
    }
    free(uq->channels);
    uq->channels = NULL;
    uq->n_handlers = 0;
}

size_t
upcall_queues_set_handlers(struct upcall_queues *uq, uint32_t n_handlers)
{
    size_t queue_len = uq->queue_len;
    size_t n = upcall_queues_purge(uq);

    upcall_queues_destroy(uq);
    upcall_queues_init(uq, n_handlers, queue_len);
    return n;
}

bool
upcall_queues_pid_is_valid(const struct upcall_queues *uq, uint32_t pid)
{
    return pid == UPCALL_SPECIAL_PID || (pid >= 1 && pid <= uq->n_handlers);
}

int
upcall_queues_push(struct upcall_queues *uq, uint32_t pid,
                   const struct upcall_request *req)
{
    struct upcall_channel *ch;
    uint32_t id;

    if (pid == UPCALL_SPECIAL_PID) {
        ch = &uq->channels[0];
        id = UPCALL_SUBQUEUE_SPECIAL;
    } else if (pid >= 1 && pid <= uq->n_handlers) {
        ch = &uq->channels[pid - 1];
        id = req->in_port;
    } else {
        return ENOENT;
    }

    struct upcall_subqueue *sq = NULL;
    for (size_t i = 0; i < ch->n_subs; i++) {
        if (ch->subs[i]->id == id) {
            sq = ch->subs[i];
            break;
        }
    }
    if (sq && sq->n >= uq->queue_len) {
        return ENOBUFS;
    }
    if (!sq) {
        if (ch->n_subs >= ch->allocated) {
            ch->allocated = ch->allocated ? 2 * ch->allocated : 8;
            ch->subs = xrealloc(ch->subs, ch->allocated * sizeof *ch->subs);
        }
        sq = xzalloc(sizeof *sq);
        sq->id = id;
        /* Appended at the end: a newcomer waits for one full round. */
        ch->subs[ch->n_subs++] = sq;
    }

    size_t ud_len = req->userdata ? req->userdata_len : 0;
    struct upcall_entry *e = xmalloc(sizeof *e + req->packet_len
                                     + req->key_len + ud_len);
    e->next = NULL;
    e->type = req->type;
    e->in_port = req->in_port;
    e->pid = pid;
    e->packet_len = req->packet_len;
    e->key_len = req->key_len;
    e->userdata_len = ud_len;
    if (req->packet_len) {
        memcpy(e->data, req->packet, req->packet_len);
    }
    if (req->key_len) {
        memcpy(e->data + req->packet_len, req->key, req->key_len);
    }
    if (ud_len) {
        memcpy(e->data + req->packet_len + req->key_len, req->userdata,
               ud_len);
    }
    if (sq->tail) {
        sq->tail->next = e;
    } else {
        sq->head = e;
    }
    sq->tail = e;
    sq->n++;
    ch->n_queued++;
    return 0;
}

int
upcall_queues_pop(struct upcall_queues *uq, uint32_t handler_id,
                  struct dpif_upcall *upcall)
{
    if (handler_id >= uq->n_handlers) {
        return EINVAL;
    }
    struct upcall_channel *ch = &uq->channels[handler_id];
    if (!ch->n_subs) {
        return EAGAIN;
    }
    if (ch->next >= ch->n_subs) {
        ch->next = 0;
    }

    struct upcall_subqueue *sq = ch->subs[ch->next];
    struct upcall_entry *e = sq->head;
    sq->head = e->next;
    if (!sq->head) {
        sq->tail = NULL;
    }
    sq->n--;
    ch->n_queued--;
    if (!sq->n) {
        /* Unlink, keeping the order; 'next' now indexes its successor. */
        memmove(&ch->subs[ch->next], &ch->subs[ch->next + 1],
                (ch->n_subs - ch->next - 1) * sizeof *ch->subs);
        ch->n_subs--;
        free(sq);
    } else {
        ch->next++;
    }

    upcall->type = e->type;
    upcall->in_port = e->in_port;
    upcall->pid = e->pid;
    buf_clear(&upcall->packet);
    buf_put(&upcall->packet, e->data, e->packet_len);
    buf_clear(&upcall->key);
    buf_put(&upcall->key, e->data + e->packet_len, e->key_len);
    buf_clear(&upcall->userdata);
    if (e->userdata_len) {
        buf_put(&upcall->userdata, e->data + e->packet_len + e->key_len,
                e->userdata_len);
    }
    free(e);
    return 0;
}

size_t
upcall_queues_n_queued(const struct upcall_queues *uq, uint32_t handler_id)
{
    return handler_id < uq->n_handlers ? uq->channels[handler_id].n_queued
                                       : 0;
}
