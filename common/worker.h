/*
 * worker.h — what every worker process is told at exec time.
 *
 * Workers (dpif-handlerd, dpif-revald) are started by the spawner, a tiny
 * process that privd forks before it drops root (see privd/spawner.h).  The
 * contract between the spawner and a worker binary is fixed and small, so
 * that it can be stated here once and checked on both sides:
 *
 *   - File descriptors: 0 is /dev/null, 1 and 2 are the spawner's (privd's)
 *     stdout and stderr, and DPIF_WORKER_CONTROL_FD is the worker's end of
 *     its control socketpair with privd (AF_UNIX, SOCK_SEQPACKET).  Nothing
 *     else is open.
 *
 *   - Command line: exactly
 *
 *         <binary name> --role handler|revalidator --id N
 *
 *     with N in [0, DPIF_WORKER_MAX_ID).  worker_parse_args() checks it.
 *
 *   - Environment: empty (sanitizer builds pass their *SAN_OPTIONS on).
 *
 *   - Credentials: as started by privd's spawner: uid 0 with only the
 *     capabilities the drop itself needs, or, when dpifd runs unprivileged,
 *     the invoking user.  The worker's first act is sandbox_enter_worker()
 *     (common/sandbox.h); nothing read from outside is parsed before it.
 *
 * Trust: the command line comes from the spawner, which builds it from a
 * validated request, but a worker still parses it strictly: a worker binary
 * run by hand with odd arguments must refuse, not guess.
  *
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
 * The empty root.  The exec contract gives a worker no way to learn the
 * configured empty root (argv is fixed, the environment empty), so a worker
 * started as root chroots into its working directory at exec: privd
 * chdir()s into its configured empty root before it forks the spawner,
 * whose children inherit it.  The sandbox checks the directory (root-owned,
 * not writable by others, empty), so any other working directory fails
 * closed.  The worker user is the compiled-in DPIFD_WORKER_USER.
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
#include "proto/worker.pb-c.h"

struct poller;

/* The fd on which a worker finds its control socket. */
#define DPIF_WORKER_CONTROL_FD 3

/* Worker ids are small: one per handler or revalidator. */
#define DPIF_WORKER_MAX_ID 1024

/* What a worker does.  The numeric values appear on the spawner's wire
 * (privd/spawner.h): never renumber. */
enum worker_role {
    WORKER_ROLE_HANDLER = 1,      /* dpif-handlerd: upcalls, translation. */
    WORKER_ROLE_REVALIDATOR = 2,  /* dpif-revald: one shard of the ukeys. */
};

/* True if 'role' is one of the values above. */
bool worker_role_is_valid(unsigned int role);

/* "handler" or "revalidator"; "?" for an invalid role. */
const char *worker_role_to_string(enum worker_role);

/* Parses "handler" or "revalidator".  Returns 0 or EINVAL. */
int worker_role_from_string(const char *, enum worker_role *rolep);

/* Parses a worker's command line (see above) into '*rolep' and '*idp'.
 * Returns 0, or EINVAL with a reason in 'eb'. */
int worker_parse_args(int argc, char *argv[], enum worker_role *rolep,
                      unsigned int *idp, struct errbuf *eb);

/* The user a worker started as root becomes (see "The empty root"). */
#ifndef DPIFD_WORKER_USER
#define DPIFD_WORKER_USER "dpifd-worker"
#endif

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
