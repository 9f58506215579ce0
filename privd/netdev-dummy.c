/* "dummy" ports: no device; transmitted frames go to a bounded capture ring.
 * See netdev-port.h. */
#include "privd/netdev-port.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/timeval.h"
#include "common/util.h"

COUNTER_DEFINE(netdev_dummy_capture_overflow);

/* One captured frame.  Slots keep their buffers when emptied, so a busy
 * ring stops allocating once every slot has held a frame as big as the
 * ones flowing. */
struct capture_slot {
    struct buf frame;           /* The frame's bytes. */
    long long wall_msec;        /* time_wall_msec() at transmission. */
};

/* A dummy port's state. */
struct netdev_dummy {
    struct capture_slot slots[NETDEV_CAPTURE_LEN]; /* The ring. */
    size_t head;                /* Index of the oldest frame. */
    size_t n;                   /* Frames in the ring. */
};

static int
netdev_dummy_open(struct netdev_port *port)
{
    struct netdev_dummy *d = xzalloc(sizeof *d);
    for (size_t i = 0; i < NETDEV_CAPTURE_LEN; i++) {
        buf_init(&d->slots[i].frame, 0);
    }
    port->impl = d;
    return 0;
}

static void
netdev_dummy_close(struct netdev_port *port)
{
    struct netdev_dummy *d = port->impl;
    for (size_t i = 0; i < NETDEV_CAPTURE_LEN; i++) {
        buf_uninit(&d->slots[i].frame);
    }
    free(d);
}

static void
netdev_dummy_send(struct netdev_port *port, const void *frame, size_t len)
{
    struct netdev_dummy *d = port->impl;
    struct capture_slot *slot;

    if (d->n == NETDEV_CAPTURE_LEN) {
        /* Overwrite the oldest. */
        slot = &d->slots[d->head];
        d->head = (d->head + 1) % NETDEV_CAPTURE_LEN;
        COUNTER_INC(netdev_dummy_capture_overflow);
        port->stats.tx_dropped++;
    } else {
        slot = &d->slots[(d->head + d->n) % NETDEV_CAPTURE_LEN];
        d->n++;
    }
    buf_clear(&slot->frame);
    buf_put(&slot->frame, frame, len);
    slot->wall_msec = time_wall_msec();
    port->stats.tx_packets++;
    port->stats.tx_bytes += len;
}

int
netdev_dummy_capture_read(struct netdev_port *port, bool clear,
                          void (*cb)(const void *frame, size_t len,
                                     long long wall_msec, void *aux),
                          void *aux)
{
    struct netdev_dummy *d = port->impl;

    for (size_t i = 0; i < d->n; i++) {
        const struct capture_slot *slot
            = &d->slots[(d->head + i) % NETDEV_CAPTURE_LEN];
        if (cb) {
            cb(slot->frame.data, slot->frame.size, slot->wall_msec, aux);
        }
    }
    if (clear) {
        d->head = 0;
        d->n = 0;
    }
    return 0;
}

const struct netdev_port_class netdev_dummy_class = {
    .type = "dummy",
    .open = netdev_dummy_open,
    .close = netdev_dummy_close,
    .recv = NULL,
    .send = netdev_dummy_send,
    .flush = NULL,
    .get_fd = NULL,
};
