/*
 * worker-channel.h — privd's end of one worker's protocol (privd only).
 *
 * The supervisor's life-cycle code (supervisor.c) hands each serving
 * worker slot (struct sup_worker, supervisor-internal.h) to these
 * functions from supervisor_run(): they read its control socket and ops
 * ring, answer its op batches, send it policies, dump shards and flow
 * announcements, feed upcalls into a handler's ring and account for the
 * upcalls in flight there, and watch that it keeps up.  Everything they
 * read comes from the untrusted worker; malformed data earns the worker a
 * strike (sup_worker_strike()), a broken ring or handshake a kill.  They
 * own nothing beyond what struct sup_worker owns.
 *
 * Counters: supervisor_hello_rejected, supervisor_ring_corrupt,
 * supervisor_unexpected_msg, supervisor_bad_report,
 * supervisor_results_backlog, supervisor_announce_dropped,
 * supervisor_upcalls_sent, supervisor_upcalls_dropped,
 * supervisor_upcalls_lost_in_flight (upcalls committed to a ring whose
 * handler died before taking them), supervisor_worker_stuck,
 * supervisor_watchdog_kill (the liveness watchdog: SUPERVISOR_STUCK_MSEC),
 * supervisor_policy_deferred (a policy update found a worker's socket
 * full; it is sent again until it goes through, never dropped).
 */
#ifndef PRIVD_WORKER_CHANNEL_H
#define PRIVD_WORKER_CHANNEL_H 1

#include "privd/supervisor-internal.h"

/* The handler's upcall ring is about to go with its process: counts what
 * is still in it as lost in flight. */
void sup_count_lost_upcalls(struct sup_worker *);

/* Sends 'msg' (with 'n_fds' descriptors) on the worker's socket. */
int sup_send(struct sup_worker *, enum ipc_type,
             const ProtobufCMessage *, const int *fds, size_t n_fds);

/* Sends the datapath's latest policy, or owes it if the socket is full. */
void sup_send_policy(struct sup_worker *);

/* Delivers a bulk message into ring 'ring' (a SUP_RING index) or, in
 * socket-only mode, on the socket.  Returns 0 or ENOBUFS. */
int sup_deliver(struct sup_worker *, size_t ring, enum ipc_type,
                const ProtobufCMessage *);

/* Reads what the worker's socket holds (the Hello while SUP_HELLO). */
void sup_run_socket(struct sup_worker *);

/* Takes op batches out of the worker's ops ring. */
void sup_run_ops_ring(struct sup_worker *);

/* Userspace datapaths: moves queued upcalls into a handler's ring. */
void sup_pump_upcalls(struct sup_worker *);

/* The liveness watchdog; returns false if it killed the worker. */
bool sup_run_watchdog(struct sup_worker *, long long now);

#endif /* worker-channel.h */
