/*
 * worker.h — the worker runtime: what both worker mains are built on.
 *
 * What a worker is told at exec time (file descriptors, command line,
 * environment, credentials, the empty root) is the exec contract of
 * common/worker-exec.h, which this header includes.
 *
 * The worker runtime
 * ==================
 *
 * Below the exec contract, this header is the library both worker mains
 * are built on (handlerd/main.c, revald/main.c), and on which the handler
 * and revalidator logic builds.  It owns everything that is the same for
 * both roles:
 *
 *   worker_start()   parse the command line, enter the sandbox
 *                    (sandbox_enter_worker(): first, before anything is
 *                    read), then the handshake on DPIF_WORKER_CONTROL_FD:
 *                    send Hello, receive HelloReply with its descriptors,
 *                    attach the shared-memory rings, map the status page;
 *   worker_wait()    register the control socket and every ring this
 *                    worker consumes in the poll loop;
 *   worker_recv()    the next message from privd, from whichever carrier
 *                    (control socket first, then results, dump and
 *                    upcall rings); ReportRequest, Status and Shutdown are
 *                    answered or applied here and never returned;
 *   worker_submit_ops()  send an OpBatch (ops ring, or the socket in
 *                    socket-only mode);
 *   worker_send()    send a DumpAck or CounterReport on the socket;
 *   worker_get_status()  the status page (or the last Status message).
 *
 * A worker's loop is therefore:
 *
 *     struct worker *w;
 *     if (worker_start(argc, argv, WORKER_ROLE_HANDLER, &w, &eb)) {
 *         LOG_FATAL("%s", eb.msg);
 *     }
 *     for (;;) {
 *         struct ipc_msg m;
 *         int error;
 *         while (!(error = worker_recv(w, &m, &eb))) {
 *             ...IPC_UPCALL_BATCH: translate, worker_submit_ops()...
 *             ...IPC_OP_RESULTS, IPC_POLICY_UPDATE, IPC_DUMP_SHARD...
 *             ipc_msg_destroy(&m);
 *         }
 *         if (error != EAGAIN) {
 *             break;      -- EPIPE: privd is gone; ESHUTDOWN: told to stop
 *         }
 *         poller_clear(&p);
 *         worker_wait(w, &p);
 *         poller_block(&p);
 *     }
 *     worker_destroy(w);
 *
 * Losing privd is fatal, as in bgpd: EOF on the control socket makes
 * worker_recv() return EPIPE and the worker exits; the sandbox's
 * PR_SET_PDEATHSIG(SIGKILL) covers a worker stuck elsewhere.
 *
 * What the runtime deliberately does not do: translate upcalls, keep
 * ukeys, parse policies.  That is the [handler] and [revalidator] work,
 * which consumes IPC_UPCALL_BATCH / IPC_DUMP_SHARD / IPC_FLOW_ANNOUNCEMENT
 * / IPC_POLICY_UPDATE from worker_recv() and produces OpBatches.
 *
 * Ownership: struct worker owns the control socket, the rings and the
 * mappings; messages returned by worker_recv() belong to the caller.
 * Single-threaded.
 */

#ifndef DPIF_WORKER_H
#define DPIF_WORKER_H 1

#include <stdbool.h>
#include <stdint.h>

#include "common/ipc.h"
#include "common/status-page.h"
#include "common/util.h"
#include "common/worker-exec.h"
#include "proto/worker.pb-c.h"

struct poller;

/* How long a worker waits for privd's HelloReply. */
#define WORKER_HELLO_TIMEOUT_MSEC 10000

/* The configuration privd sent in the HelloReply, checked. */
struct worker_config {
    char datapath_name[IPC_MAX_NAME + 1]; /* Datapath served. */
    char datapath_type[IPC_MAX_NAME + 1]; /* Its provider type. */
    unsigned int n_handlers;    /* Handlers of the datapath. */
    unsigned int n_revalidators; /* Revalidators = ukey shards. */
    unsigned int batch_size;    /* Ops per OpBatch, 1..IPC_MAX_BATCH. */
    uint32_t max_idle_msec;     /* Idle expiry. */
    bool socket_only;           /* Bulk messages on the socket. */
    uint64_t policy_generation; /* Generation of the first PolicyUpdate. */
    uint16_t upcall_family;     /* Kernel datapath with upcall sockets:
                                 * the "ovs_packet" family id; else 0. */
    bool has_upcall_pid;        /* Kernel datapath: 'upcall_pid' is set. */
    uint32_t upcall_pid;        /* Pid for USERSPACE actions. */
};

struct worker;

/* Starts a worker of role 'role' (the binary's own): parses 'argv', whose
 * role must be 'role', enters the sandbox and completes the handshake, as
 * described above.  Returns 0 and the worker in '*workerp', or a positive
 * errno with the reason in 'eb'; the caller then exits non-zero. */
int worker_start(int argc, char *argv[], enum worker_role role,
                 struct worker **workerp, struct errbuf *eb) WARN_UNUSED;

/* Closes everything.  NULL is fine. */
void worker_destroy(struct worker *);

/* The worker's identity and configuration. */
enum worker_role worker_get_role(const struct worker *);
unsigned int worker_get_id(const struct worker *);
const struct worker_config *worker_get_config(const struct worker *);

/* The current status values: a consistent snapshot of the status page, or
 * the last Status message in socket-only mode (the HelloReply's values
 * until one arrives). */
void worker_get_status(const struct worker *, struct status_page_values *);

/* Receives the next message from privd into '*m' (the caller destroys it
 * with ipc_msg_destroy()).  Returns 0, EAGAIN when nothing is pending,
 * EPIPE when privd is gone, ESHUTDOWN after privd's Shutdown (the final
 * CounterReport was sent), or EPROTO when privd broke the protocol (the
 * worker then exits too). */
int worker_recv(struct worker *, struct ipc_msg *m, struct errbuf *eb);

/* Sends 'batch' to privd.  Returns 0, ENOBUFS if the ops ring (or the
 * socket buffer) is full right now (retry after worker_wait()), EMSGSIZE
 * for a batch too large for one frame, EINVAL for more ops than the
 * configured batch size, or EPIPE if privd is gone. */
int worker_submit_ops(struct worker *, const Dpif__OpBatch *batch,
                      struct errbuf *eb);

/* Sends 'msg' of 'type' (IPC_DUMP_ACK or IPC_COUNTER_REPORT) on the
 * control socket. */
int worker_send(struct worker *, enum ipc_type type,
                const ProtobufCMessage *msg, struct errbuf *eb);

/* Registers what would make worker_recv() return something, or
 * worker_submit_ops() succeed after ENOBUFS. */
void worker_wait(struct worker *, struct poller *);

/* Gauges for the CounterReport's "memory" part (ukeys, mac_entries...):
 * 'cb' is called once per report and calls 'add' for each gauge. */
typedef void worker_gauge_add_func(const char *name, uint64_t value,
                                   void *report);
void worker_set_gauges(struct worker *,
                       void (*cb)(worker_gauge_add_func *add, void *report,
                                  void *aux),
                       void *aux);

/* Kernel datapaths, handlers only: the netlink upcall sockets privd passed
 * (owned by the worker), 'n' of them. */
const int *worker_get_upcall_sockets(const struct worker *, size_t *n);

/* The MAC table region's memfd and size privd passed, or -1 if none.
 * Owned by the worker. */
int worker_get_mac_table(const struct worker *, uint64_t *sizep);

#endif /* worker.h */
