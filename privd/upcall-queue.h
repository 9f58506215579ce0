/*
 * upcall-queue.h — the upcall queues of the userspace datapath.
 *
 * Overview
 * ========
 *
 * A packet that misses the userspace datapath's flow table, or that meets a
 * USERSPACE action, becomes an upcall waiting for a handler.  This module
 * keeps those upcalls as the seeds' dpif.h asks ("Upcall Queuing and
 * Ordering"):
 *
 *   - Upcalls are delivered through "channels".  There is one channel per
 *     handler (handler 0 .. n_handlers - 1) and one special channel.  A
 *     channel is named on the wire by its "pid" (the userspace datapath's
 *     stand-in for a Netlink PID): handler i has pid i + 1 (0 means "no
 *     upcalls"), the special channel has UPCALL_SPECIAL_PID.  USERSPACE
 *     actions carry such a pid.
 *
 *   - Inside a channel every source has its own bounded FIFO ("sub-queue"):
 *     the upcalls of one input port, or, for the special channel, one queue
 *     for everything addressed to it.  A full sub-queue refuses the upcall
 *     (the datapath counts it as lost); other sub-queues are not affected.
 *
 *   - upcall_queues_pop() serves the non-empty sub-queues of a channel round
 *     robin, one upcall each in turn, so that a port flooding its queue
 *     delays another port's upcall by at most one upcall per busy port.
 *     Within a sub-queue upcalls come out in arrival order.
 *
 *   - The special channel is read by handler 0: its sub-queue takes its turn
 *     in handler 0's round robin like a port's, so userspace actions sent to
 *     it cannot be lost behind a busy port's full queue.
 *
 *
 * Memory and complexity
 * =====================
 *
 * A queued upcall is one allocation holding the frame, its key and its
 * userdata (the miss path is not the hot path; hits never come here).
 * Sub-queues exist only while they hold upcalls.  Pushing costs
 * O(non-empty sub-queues of the channel) to find the port's sub-queue;
 * popping O(1) except when a sub-queue empties (O(sub-queues) to unlink it
 * while keeping the round-robin order).  Total memory is bounded by
 * queue_len upcalls per (channel, port) pair.
 *
 *
 * Ownership and thread safety
 * ===========================
 *
 * The queues own every queued upcall; upcall_queues_pop() copies one into
 * the caller's struct dpif_upcall and frees it.  Single-threaded, like the
 * datapath that owns it.
 */
#ifndef PRIVD_UPCALL_QUEUE_H
#define PRIVD_UPCALL_QUEUE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privd/dpif.h"

/* The pid of the special channel (served by handler 0). */
#define UPCALL_SPECIAL_PID 0xfffffffeu

/* Sub-queue id of the special channel's single queue (no port has it). */
#define UPCALL_SUBQUEUE_SPECIAL UINT32_MAX

struct upcall_entry;
struct upcall_subqueue;

/* One channel: its non-empty sub-queues in round-robin order. */
struct upcall_channel {
    struct upcall_subqueue **subs; /* Non-empty sub-queues (owned), in
                                    * round-robin order. */
    size_t n_subs;                 /* Elements in 'subs'. */
    size_t allocated;              /* Capacity of 'subs'. */
    size_t next;                   /* Index in 'subs' served next. */
    size_t n_queued;               /* Upcalls in all sub-queues. */
};

/* The upcall queues of one datapath. */
struct upcall_queues {
    struct upcall_channel *channels; /* 'n_handlers' handler channels
                                      * (owned); the special channel is the
                                      * sub-queue UPCALL_SUBQUEUE_SPECIAL of
                                      * channel 0. */
    uint32_t n_handlers;           /* Handler channels (>= 1). */
    size_t queue_len;              /* Capacity of each sub-queue. */
};

/* What upcall_queues_push() queues; every pointer is borrowed for the call. */
struct upcall_request {
    enum dpif_upcall_type type;    /* MISS or ACTION. */
    uint32_t in_port;              /* Input port of the packet. */
    const void *packet;            /* The frame. */
    size_t packet_len;
    const void *key;               /* Its OVS_KEY_ATTR_* key. */
    size_t key_len;
    const void *userdata;          /* USERSPACE userdata, may be NULL. */
    size_t userdata_len;
};

/* Initializes 'uq' with 'n_handlers' (>= 1) handler channels plus the
 * special one, each sub-queue holding at most 'queue_len' (>= 1) upcalls. */
void upcall_queues_init(struct upcall_queues *uq, uint32_t n_handlers,
                        size_t queue_len);

/* Frees every queued upcall and the channels. */
void upcall_queues_destroy(struct upcall_queues *uq);

/* Changes the number of handler channels to 'n_handlers' (>= 1).  Queued
 * upcalls are dropped (returns how many), as a kernel datapath drops what
 * was queued on the sockets it closes. */
size_t upcall_queues_set_handlers(struct upcall_queues *uq,
                                  uint32_t n_handlers);

/* Drops every queued upcall; returns how many were dropped. */
size_t upcall_queues_purge(struct upcall_queues *uq);

/* The pid of handler channel 'handler_id' (< n_handlers). */
static inline uint32_t
upcall_queues_handler_pid(uint32_t handler_id)
{
    return handler_id + 1;
}

/* True if 'pid' names a channel of 'uq' (a handler's or the special one). */
bool upcall_queues_pid_is_valid(const struct upcall_queues *uq, uint32_t pid);

/* Queues 'req' on the channel 'pid', in the sub-queue of its input port (or
 * in the special queue when 'pid' is UPCALL_SPECIAL_PID).  Returns 0, ENOENT
 * if 'pid' names no channel, or ENOBUFS if that sub-queue is full: the
 * caller counts the upcall as lost. */
int upcall_queues_push(struct upcall_queues *uq, uint32_t pid,
                       const struct upcall_request *req);

/* Moves the next upcall of handler 'handler_id' (round robin over its
 * sub-queues) into 'upcall', whose buffers are reused.  Returns 0, or EAGAIN
 * if none is queued, or EINVAL if 'handler_id' is out of range. */
int upcall_queues_pop(struct upcall_queues *uq, uint32_t handler_id,
                      struct dpif_upcall *upcall);

/* Upcalls waiting for handler 'handler_id' (0 if out of range). */
size_t upcall_queues_n_queued(const struct upcall_queues *uq,
                              uint32_t handler_id);

#endif /* upcall-queue.h */
