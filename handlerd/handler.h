/*
 * handler.h — the state of one dpif-handlerd and its message handling.
 *
 * Overview
 * ========
 *
 * handlerd/main.c runs the worker loop of common/worker.h; every message
 * worker_recv() returns goes to handler_handle_msg(), which owns it from
 * then on:
 *
 *   UpcallBatch    upcalls of this handler's channel (userspace
 *                  datapaths: privd's dpif_recv() for channel i, batched
 *                  into the handler's upcall ring).  Each batch is
 *                  processed by handlerd/upcall.h into OpBatches that go
 *                  to privd at once with worker_submit_ops().  While the
 *                  ops ring is full (ENOBUFS) the batch waits, later
 *                  batches queue behind it (at most HANDLER_MAX_DEFERRED),
 *                  and beyond that upcalls are dropped and counted
 *                  (handler_upcalls_dropped_backpressure): never an
 *                  unbounded queue, never a blocked privd.
 *   (kernel)       on a system datapath, upcalls do not come from privd:
 *                  the HelloReply carries this handler's netlink upcall
 *                  socket (privd created it and registered it with the
 *                  datapath; common/worker.h) and the "ovs_packet" family
 *                  id.  handler_run() reads it with recvmmsg() in batches
 *                  of the configured size, parses each message with
 *                  common/upcall-nl.h and processes the batch exactly as
 *                  an UpcallBatch.  The socket is read only when the
 *                  previous batch's ops are all submitted, so a full ops
 *                  ring leaves upcalls in the kernel's socket queue, which
 *                  overflows rather than the handler: ENOBUFS is counted
 *                  (handler_upcalls_lost_enobufs; the datapath's own
 *                  "lost" statistic has the exact number) and reading
 *                  goes on.  Messages that fail the parse
 *                  (handler_upcalls_bad_netlink) or did not fit
 *                  HANDLER_NL_BUF_SIZE (handler_upcalls_truncated) are
 *                  dropped.  USERSPACE actions carry the pid privd gave.
 *   OpResults      one result per op, in the order the batches were
 *                  sent; EEXIST for a put is a lost race, not an error
 *                  (upcall.h).
 *   PolicyUpdate   a new rule table (text inline or in a sealed memfd)
 *                  and port list, with a strictly larger generation; a
 *                  table that fails to parse keeps the previous one
 *                  (handler_policy_rejected: privd checked it, so this is
 *                  a bug worth a log line).
 *
 * The MAC learning table is the region privd attached to the HelloReply
 * (common/mac-table.h), mapped writable: handlers are its writers.  Handler
 * 0 also ages it every HANDLER_MAC_AGE_MSEC.  The flow count and limit and
 * the megaflows switch come from the status page (worker_get_status()); the
 * flow count there is refreshed by privd about once a second, so the
 * handler adds the flows it installed since the page last changed.
 *
 * Counters: handler_upcall_batches, handler_upcalls_received,
 * handler_upcalls_lost (privd's queue
 * overflowed before the upcalls reached the ring: UpcallBatch.n_lost),
 * handler_upcalls_dropped_backpressure, handler_op_batches,
 * handler_op_results, handler_results_unexpected, handler_policy_updates,
 * handler_policy_rejected, handler_mac_aged, handler_upcalls_lost_enobufs,
 * handler_upcalls_bad_netlink, handler_upcalls_truncated,
 * handler_upcall_socket_errors; and upcall.h's upcall_*.
 *
 * Ownership: struct handler borrows the worker (which must outlive it) and
 * owns the rule table, the port list, the MAC table mapping and the
 * queued messages.  Single-threaded.
 */
#ifndef HANDLERD_HANDLER_H
#define HANDLERD_HANDLER_H 1

#include <stdint.h>

#include "common/ipc-limits.h"

struct ipc_msg;
struct poller;
struct worker;

/* UpcallBatches kept while the ops ring is full. */
#define HANDLER_MAX_DEFERRED 16

/* Receive buffer of one kernel upcall: the largest packet an EXECUTE may
 * carry plus room for the key and the headers. */
#define HANDLER_NL_BUF_SIZE (IPC_MAX_PACKET + 4096)

/* Kernel upcall batches read per handler_run() before privd's messages
 * get their turn again. */
#define HANDLER_NL_MAX_BATCHES 4

/* How often handler 0 ages the MAC table. */
#define HANDLER_MAC_AGE_MSEC 1000

struct handler;

/* Creates the handler logic for worker 'w' (started, handshake done):
 * maps the MAC table if privd attached one.  Returns 0 or a positive
 * errno. */
int handler_create(struct worker *w, struct handler **handlerp);

void handler_destroy(struct handler *);

/* Handles 'm' from worker_recv(), taking it over (the caller must not
 * destroy it). */
void handler_handle_msg(struct handler *, struct ipc_msg *m);

/* Does pending work: submits queued OpBatches, processes queued
 * UpcallBatches, ages the MAC table. */
void handler_run(struct handler *);

/* Registers the timer of handler_run()'s periodic work.  (The ops ring's
 * space is registered by worker_wait().) */
void handler_wait(struct handler *, struct poller *);

#endif /* handlerd/handler.h */
