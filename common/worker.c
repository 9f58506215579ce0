#include "common/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/shm-ring.h"
#include "common/timeval.h"

/* ----- the worker runtime ------------------------------------------------- */

LOG_MODULE(worker);

COUNTER_DEFINE(worker_ops_ring_full);
COUNTER_DEFINE(worker_reports_sent);

/* One ring the worker was given. */
struct worker_ring {
    struct shm_ring *ring;      /* The handle, owned; NULL if absent. */
    bool waiting;               /* prepare_wait() announced a sleep. */
    size_t wait_len;            /* Producer: bytes it waits for. */
};

/* Index of each ring in struct worker's 'rings', by RingUse - 1. */
#define WORKER_N_RINGS 4

struct worker {
    enum worker_role role;      /* From argv, checked against the binary. */
    unsigned int id;            /* From argv. */
    struct ipc_conn conn;       /* Control socket, DPIF_WORKER_CONTROL_FD. */
    uint32_t seq;               /* Next sequence number we send. */
    struct worker_config cfg;   /* From the HelloReply. */
    struct worker_ring rings[WORKER_N_RINGS]; /* By RingUse - 1. */
    struct status_page_reader status; /* Mapped status page, or none. */
    struct status_page_values socket_status; /* Socket-only values. */
    int upcall_socks[IPC_MAX_FDS]; /* Kernel upcall sockets, owned. */
    size_t n_upcall_socks;
    int mac_table_fd;           /* MAC table memfd, owned, or -1. */
    uint64_t mac_table_size;    /* Its size. */
    struct buf rx;              /* Record copied out of a ring. */
    struct buf tx;              /* Frame being sent on the socket. */
    void (*gauges)(worker_gauge_add_func *, void *, void *); /* Or NULL. */
    void *gauges_aux;           /* For 'gauges'. */
};

/* Which end of each ring the worker is, and which message types the ring
 * may carry to it. */
static const struct {
    enum shm_ring_role role;    /* The worker's end. */
    uint64_t accept;            /* Types accepted (consumer rings). */
    bool handler, revalidator;  /* Which roles get it. */
} worker_ring_info[WORKER_N_RINGS] = {
    [DPIF__RING_USE__RING_USE_UPCALLS - 1] = {
        SHM_RING_CONSUMER, IPC_TYPE_BIT(IPC_UPCALL_BATCH), true, false },
    [DPIF__RING_USE__RING_USE_OPS - 1] = {
        SHM_RING_PRODUCER, 0, true, true },
    [DPIF__RING_USE__RING_USE_RESULTS - 1] = {
        SHM_RING_CONSUMER, IPC_TYPE_BIT(IPC_OP_RESULTS), true, true },
    [DPIF__RING_USE__RING_USE_DUMP - 1] = {
        SHM_RING_CONSUMER, IPC_TYPE_BIT(IPC_DUMP_SHARD)
        | IPC_TYPE_BIT(IPC_FLOW_ANNOUNCEMENT), false, true },
};

static int
worker_enter_sandbox(struct worker *w, struct errbuf *eb)
{
    const int keep[] = { DPIF_WORKER_CONTROL_FD };

    /* The empty root is the directory the spawner started us in. */
    struct sandbox_config cfg = {
        .user = DPIFD_WORKER_USER,
        .root_dir = ".",
        .role = w->role,
        .expect_root = geteuid() == 0,
        .keep_fds = keep,
        .n_keep_fds = ARRAY_SIZE(keep),
    };
    struct sandbox_report report;
    char steps[128];

    int error = sandbox_enter_worker(&cfg, &report, eb);
    if (error) {
        errbuf_prefix(eb, "sandbox: ");
        return error;
    }
    sandbox_format_steps(report.skipped, steps, sizeof steps);
    if (report.skipped) {
        LOG_WARN("unprivileged: sandbox steps not applied: %s", steps);
    }
    return 0;
}

static int
worker_send_hello(struct worker *w, struct errbuf *eb)
{
    Dpif__Hello hello = DPIF__HELLO__INIT;

    hello.protocol_version = IPC_VERSION;
    hello.role = (Dpif__WorkerRole) w->role;
    hello.worker_id = w->id;
    hello.pid = (uint32_t) getpid();
    hello.software_version = (char *) DPIFD_VERSION;
    return ipc_send(&w->conn, IPC_HELLO, w->seq++, &hello.base, NULL, 0, eb);
}

/* Copies a string field of the HelloReply, checking its length. */
static int
worker_copy_name(char dst[IPC_MAX_NAME + 1], const char *src,
                 const char *what, struct errbuf *eb)
{
    size_t len = strlen(src);
    if (!len || len > IPC_MAX_NAME) {
        return errbuf_set(eb, EPROTO, "HelloReply: %s has %zu bytes", what,
                          len);
    }
    memcpy(dst, src, len + 1);
    return 0;
}

static int
worker_attach_ring(struct worker *w, struct ipc_msg *m, const Dpif__RingDesc *d,
                   struct errbuf *eb)
{
    unsigned int idx = (unsigned int) d->use - 1;
    int memfd, data_efd, space_efd, error;

    if (idx >= WORKER_N_RINGS || w->rings[idx].ring) {
        return errbuf_set(eb, EPROTO, "HelloReply: ring use %d twice or "
                          "unknown", d->use);
    }
    if (!(w->role == WORKER_ROLE_HANDLER ? worker_ring_info[idx].handler
          : worker_ring_info[idx].revalidator)) {
        return errbuf_set(eb, EPROTO, "HelloReply: ring use %d is not for "
                          "a %s", d->use, worker_role_to_string(w->role));
    }
    if (d->capacity < SHM_RING_MIN_CAPACITY
        || d->capacity > SHM_RING_MAX_CAPACITY
        || d->capacity & (d->capacity - 1)) {
        return errbuf_set(eb, EPROTO, "HelloReply: ring capacity %"PRIu64,
                          d->capacity);
    }
    error = ipc_msg_take_fd(m, d->memfd, &memfd, eb);
    if (error) {
        return error;
    }
    error = ipc_msg_take_fd(m, d->data_eventfd, &data_efd, eb);
    if (error) {
        close(memfd);
        return error;
    }
    error = ipc_msg_take_fd(m, d->space_eventfd, &space_efd, eb);
    if (error) {
        close(memfd);
        close(data_efd);
        return error;
    }
    return shm_ring_attach(worker_ring_info[idx].role, memfd, data_efd,
                           space_efd, d->capacity, IPC_MAX_FRAME,
                           &w->rings[idx].ring, eb);
}

static int
worker_take_region(struct worker *w, struct ipc_msg *m,
                   const Dpif__RegionDesc *d, struct errbuf *eb)
{
    int fd, error;

    error = ipc_msg_take_fd(m, d->memfd, &fd, eb);
    if (error) {
        return error;
    }
    if (d->use == DPIF__REGION_USE__REGION_USE_STATUS_PAGE) {
        if (w->status.page || d->size != STATUS_PAGE_SIZE) {
            close(fd);
            return errbuf_set(eb, EPROTO, "HelloReply: bad status page");
        }
        return status_page_map(fd, &w->status, eb);
    }
    if (w->mac_table_fd >= 0) {
        close(fd);
        return errbuf_set(eb, EPROTO, "HelloReply: two MAC tables");
    }
    w->mac_table_fd = fd;
    w->mac_table_size = d->size;
    return 0;
}

static int
worker_apply_reply(struct worker *w, struct ipc_msg *m, struct errbuf *eb)
{
    const Dpif__HelloReply *r = (const Dpif__HelloReply *) m->msg;
    struct worker_config *cfg = &w->cfg;
    int error;

    if (r->protocol_version != IPC_VERSION) {
        return errbuf_set(eb, EPROTO, "privd speaks protocol %"PRIu32", "
                          "not %d", r->protocol_version, IPC_VERSION);
    }
    if (!r->n_handlers || r->n_handlers > IPC_MAX_WORKERS
        || !r->n_revalidators || r->n_revalidators > IPC_MAX_WORKERS
        || !r->batch_size || r->batch_size > IPC_MAX_BATCH) {
        return errbuf_set(eb, EPROTO, "HelloReply: worker or batch counts "
                          "out of range");
    }
    error = worker_copy_name(cfg->datapath_name, r->datapath_name,
                             "datapath_name", eb);
    if (!error) {
        error = worker_copy_name(cfg->datapath_type, r->datapath_type,
                                 "datapath_type", eb);
    }
    if (error) {
        return error;
    }
    cfg->n_handlers = r->n_handlers;
    cfg->n_revalidators = r->n_revalidators;
    cfg->batch_size = r->batch_size;
    cfg->max_idle_msec = r->max_idle_msec;
    cfg->socket_only = r->socket_only;
    cfg->policy_generation = r->policy_generation;
    w->socket_status.flow_limit = r->flow_limit;
    w->socket_status.megaflows = r->megaflows;
    w->socket_status.policy_generation = r->policy_generation;

    if (r->socket_only != !r->n_rings) {
        return errbuf_set(eb, EPROTO, "HelloReply: socket_only %d with %zu "
                          "rings", r->socket_only, r->n_rings);
    }
    for (size_t i = 0; !error && i < r->n_rings; i++) {
        error = worker_attach_ring(w, m, r->rings[i], eb);
    }
    for (size_t i = 0; !error && i < r->n_regions; i++) {
        error = worker_take_region(w, m, r->regions[i], eb);
    }
    if (!error && r->n_upcall_sockets && w->role != WORKER_ROLE_HANDLER) {
        error = errbuf_set(eb, EPROTO, "HelloReply: upcall sockets for a "
                           "revalidator");
    }
    if (!error && r->n_upcall_sockets
        && (r->n_upcall_sockets > ARRAY_SIZE(w->upcall_socks)
            || !r->has_upcall_family || !r->upcall_family
            || r->upcall_family > UINT16_MAX)) {
        error = errbuf_set(eb, EPROTO, "HelloReply: %zu upcall sockets, "
                           "upcall family %"PRIu32, r->n_upcall_sockets,
                           r->upcall_family);
    }
    cfg->upcall_family = (uint16_t) r->upcall_family;
    cfg->has_upcall_pid = r->has_upcall_pid;
    cfg->upcall_pid = r->upcall_pid;
    for (size_t i = 0; !error && i < r->n_upcall_sockets; i++) {
        error = ipc_msg_take_fd(m, r->upcall_sockets[i],
                                &w->upcall_socks[w->n_upcall_socks], eb);
        if (!error) {
            w->n_upcall_socks++;
        }
    }
    if (!error && !r->socket_only) {
        for (size_t i = 0; i < WORKER_N_RINGS; i++) {
            bool want = (w->role == WORKER_ROLE_HANDLER
                         ? worker_ring_info[i].handler
                         : worker_ring_info[i].revalidator);
            if (want && !w->rings[i].ring
                && i != DPIF__RING_USE__RING_USE_UPCALLS - 1) {
                return errbuf_set(eb, EPROTO, "HelloReply: ring use %zu "
                                  "missing", i + 1);
            }
        }
    }
    return error;
}

/* Blocks until the HelloReply arrives, at most WORKER_HELLO_TIMEOUT_MSEC. */
static int
worker_recv_reply(struct worker *w, struct errbuf *eb)
{
    long long deadline = time_msec() + WORKER_HELLO_TIMEOUT_MSEC;
    struct ipc_msg m;
    int error;

    for (;;) {
        error = ipc_recv(&w->conn, &m, eb);
        if (error != EAGAIN) {
            break;
        }
        long long now = time_msec();
        if (now >= deadline) {
            return errbuf_set(eb, ETIMEDOUT, "no HelloReply from privd");
        }
        struct pollfd pfd = { .fd = w->conn.fd, .events = POLLIN };
        poll(&pfd, 1, (int) (deadline - now));
    }
    if (error) {
        errbuf_prefix(eb, "waiting for HelloReply: ");
        return error;
    }
    if (m.hdr.type != IPC_HELLO_REPLY) {
        ipc_msg_destroy(&m);
        return errbuf_set(eb, EPROTO, "privd sent %s before HelloReply",
                          ipc_type_name(m.hdr.type));
    }
    error = worker_apply_reply(w, &m, eb);
    ipc_msg_destroy(&m);
    return error;
}

int
worker_start(int argc, char *argv[], enum worker_role role,
             struct worker **workerp, struct errbuf *eb)
{
    struct worker *w = xzalloc(sizeof *w);
    int error;

    w->mac_table_fd = -1;
    w->seq = 1;
    buf_init(&w->rx, 0);
    buf_init(&w->tx, 0);
    ipc_conn_init(&w->conn, DPIF_WORKER_CONTROL_FD, IPC_ACCEPT_FROM_PRIVD);

    error = worker_parse_args(argc, argv, &w->role, &w->id, eb);
    if (!error && w->role != role) {
        error = errbuf_set(eb, EINVAL, "this binary is a %s, not a %s",
                           worker_role_to_string(role),
                           worker_role_to_string(w->role));
    }
    /* Before the sandbox, which does not allow F_SETFL. */
    if (!error) {
        int flags = fcntl(w->conn.fd, F_GETFL);
        if (flags < 0 || fcntl(w->conn.fd, F_SETFL, flags | O_NONBLOCK)) {
            error = errbuf_set(eb, errno, "control socket: %s",
                               strerror(errno));
        }
    }
    if (!error) {
        error = worker_enter_sandbox(w, eb);
    }
    if (!error) {
        error = worker_send_hello(w, eb);
    }
    if (!error) {
        error = worker_recv_reply(w, eb);
    }
    if (error) {
        worker_destroy(w);
        return error;
    }
    LOG_INFO("%s %u serving %s@%s (%u handlers, %u revalidators, %s)",
             worker_role_to_string(w->role), w->id, w->cfg.datapath_type,
             w->cfg.datapath_name, w->cfg.n_handlers, w->cfg.n_revalidators,
             w->cfg.socket_only ? "socket-only" : "shared-memory rings");
    *workerp = w;
    return 0;
}

void
worker_destroy(struct worker *w)
{
    if (!w) {
        return;
    }
    for (size_t i = 0; i < WORKER_N_RINGS; i++) {
        shm_ring_destroy(w->rings[i].ring);
    }
    status_page_unmap(&w->status);
    for (size_t i = 0; i < w->n_upcall_socks; i++) {
        close(w->upcall_socks[i]);
    }
    if (w->mac_table_fd >= 0) {
        close(w->mac_table_fd);
    }
    ipc_conn_close(&w->conn);
    buf_uninit(&w->rx);
    buf_uninit(&w->tx);
    free(w);
}

enum worker_role
worker_get_role(const struct worker *w)
{
    return w->role;
}

unsigned int
worker_get_id(const struct worker *w)
{
    return w->id;
}

const struct worker_config *
worker_get_config(const struct worker *w)
{
    return &w->cfg;
}

void
worker_get_status(const struct worker *w, struct status_page_values *values)
{
    if (!w->status.page || status_page_read(&w->status, values)) {
        *values = w->socket_status;
    }
}

/* ----- counter reports ---------------------------------------------------- */

/* A CounterReport being built. */
struct worker_report {
    Dpif__NamedValue counters[IPC_MAX_COUNTERS]; /* Storage. */
    Dpif__NamedValue *counter_ptrs[IPC_MAX_COUNTERS];
    size_t n_counters;
    Dpif__NamedValue memory[IPC_MAX_COUNTERS];
    Dpif__NamedValue *memory_ptrs[IPC_MAX_COUNTERS];
    size_t n_memory;
};

static void
worker_report_add_counter(const char *name, uint64_t value, void *r_)
{
    struct worker_report *r = r_;
    if (r->n_counters < IPC_MAX_COUNTERS) {
        Dpif__NamedValue *nv = &r->counters[r->n_counters];
        dpif__named_value__init(nv);
        nv->name = (char *) name;
        nv->value = value;
        r->counter_ptrs[r->n_counters++] = nv;
    }
}

static void
worker_report_add_gauge(const char *name, uint64_t value, void *r_)
{
    struct worker_report *r = r_;
    if (r->n_memory < IPC_MAX_COUNTERS) {
        Dpif__NamedValue *nv = &r->memory[r->n_memory];
        dpif__named_value__init(nv);
        nv->name = (char *) name;
        nv->value = value;
        r->memory_ptrs[r->n_memory++] = nv;
    }
}

static int
worker_send_report(struct worker *w, uint64_t request_id, struct errbuf *eb)
{
    struct worker_report *r = xmalloc(sizeof *r);
    Dpif__CounterReport report = DPIF__COUNTER_REPORT__INIT;

    r->n_counters = r->n_memory = 0;
    counters_for_each(worker_report_add_counter, r);
    if (w->gauges) {
        w->gauges(worker_report_add_gauge, r, w->gauges_aux);
    }
    report.request_id = request_id;
    report.counters = r->counter_ptrs;
    report.n_counters = r->n_counters;
    report.memory = r->memory_ptrs;
    report.n_memory = r->n_memory;
    COUNTER_INC(worker_reports_sent);
    int error = worker_send(w, IPC_COUNTER_REPORT, &report.base, eb);
    free(r);
    return error;
}

void
worker_set_gauges(struct worker *w,
                  void (*cb)(worker_gauge_add_func *, void *, void *),
                  void *aux)
{
    w->gauges = cb;
    w->gauges_aux = aux;
}

/* ----- receiving ------------------------------------------------------------ */

static void
worker_apply_status(struct worker *w, const Dpif__Status *s)
{
    struct status_page_values *v = &w->socket_status;

    v->flow_count = s->flow_count;
    v->flow_limit = s->flow_limit;
    v->megaflows = s->megaflows;
    v->dump_duration_msec = s->has_dump_duration_msec
                            ? s->dump_duration_msec : 0;
    v->dump_seq = s->has_dump_seq ? s->dump_seq : 0;
    v->policy_generation = s->has_policy_generation
                           ? s->policy_generation : 0;
    v->mac_table_generation = s->has_mac_table_generation
                              ? s->mac_table_generation : 0;
    v->avg_flows = s->has_avg_flows ? s->avg_flows : 0;
    v->max_flows = s->has_max_flows ? s->max_flows : 0;
}

/* Handles the messages the runtime answers itself.  Returns 0 if 'm' is
 * for the caller, EAGAIN if it was consumed, ESHUTDOWN for Shutdown. */
static int
worker_dispatch_internal(struct worker *w, struct ipc_msg *m,
                         struct errbuf *eb)
{
    switch (m->hdr.type) {
    case IPC_REPORT_REQUEST: {
        const Dpif__ReportRequest *req = (const void *) m->msg;
        int error = worker_send_report(w, req->request_id, eb);
        ipc_msg_destroy(m);
        return error ? error : EAGAIN;
    }
    case IPC_STATUS:
        worker_apply_status(w, (const Dpif__Status *) m->msg);
        ipc_msg_destroy(m);
        return EAGAIN;
    case IPC_SHUTDOWN: {
        const Dpif__Shutdown *s = (const Dpif__Shutdown *) m->msg;
        LOG_INFO("privd asks to shut down: %s",
                 s->reason ? s->reason : "no reason given");
        ipc_msg_destroy(m);
        worker_send_report(w, 0, NULL);
        return ESHUTDOWN;
    }
    case IPC_HELLO_REPLY:
        ipc_msg_destroy(m);
        return errbuf_set(eb, EPROTO, "second HelloReply");
    default:
        return 0;
    }
}

/* Pops one record of ring 'idx' into '*m'.  Returns 0, EAGAIN or EPROTO. */
static int
worker_pop_ring(struct worker *w, size_t idx, struct ipc_msg *m,
                struct errbuf *eb)
{
    struct worker_ring *r = &w->rings[idx];
    int error;

    if (!r->ring || worker_ring_info[idx].role != SHM_RING_CONSUMER) {
        return EAGAIN;
    }
    if (r->waiting) {
        shm_ring_ack_wait(r->ring);
        r->waiting = false;
    }
    error = shm_ring_pop(r->ring, &w->rx, eb);
    if (!error) {
        error = ipc_frame_decode(w->rx.data, w->rx.size,
                                 worker_ring_info[idx].accept, m, eb);
    }
    return error;
}

int
worker_recv(struct worker *w, struct ipc_msg *m, struct errbuf *eb)
{
    /* The control socket first: Shutdown and PolicyUpdate must not wait
     * behind a full ring. */
    for (;;) {
        int error = ipc_recv(&w->conn, m, eb);
        if (error == EAGAIN) {
            break;
        } else if (error) {
            return error;
        }
        error = worker_dispatch_internal(w, m, eb);
        if (error != EAGAIN) {
            return error;
        }
    }
    static const size_t order[] = {
        DPIF__RING_USE__RING_USE_RESULTS - 1,
        DPIF__RING_USE__RING_USE_DUMP - 1,
        DPIF__RING_USE__RING_USE_UPCALLS - 1,
    };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        int error = worker_pop_ring(w, order[i], m, eb);
        if (error != EAGAIN) {
            return error;
        }
    }
    return EAGAIN;
}

/* ----- sending ---------------------------------------------------------------- */

int
worker_send(struct worker *w, enum ipc_type type,
            const ProtobufCMessage *msg, struct errbuf *eb)
{
    int error = ipc_send(&w->conn, type, w->seq++, msg, NULL, 0, eb);
    return error == EAGAIN ? ENOBUFS : error;
}

int
worker_submit_ops(struct worker *w, const Dpif__OpBatch *batch,
                  struct errbuf *eb)
{
    struct worker_ring *r = &w->rings[DPIF__RING_USE__RING_USE_OPS - 1];
    size_t size;
    void *dst;
    int error;

    if (!batch->n_ops || batch->n_ops > w->cfg.batch_size) {
        return errbuf_set(eb, EINVAL, "batch of %zu ops (1..%u allowed)",
                          batch->n_ops, w->cfg.batch_size);
    }
    if (!r->ring) {
        return worker_send(w, IPC_OP_BATCH, &batch->base, eb);
    }
    if (r->waiting) {
        shm_ring_ack_wait(r->ring);
        r->waiting = false;
    }
    size = ipc_frame_size(&batch->base);
    if (size > IPC_MAX_FRAME) {
        return errbuf_set(eb, EMSGSIZE, "batch of %zu bytes", size);
    }
    error = shm_ring_reserve(r->ring, size, &dst, eb);
    if (error == ENOBUFS) {
        COUNTER_INC(worker_ops_ring_full);
        r->wait_len = size;
        return error;
    } else if (error) {
        return error;
    }
    error = ipc_frame_pack_into(IPC_OP_BATCH, w->seq++, &batch->base, dst,
                                size, &size, eb);
    if (error) {
        return error;
    }
    r->wait_len = 0;
    shm_ring_commit(r->ring, size);
    return 0;
}

void
worker_wait(struct worker *w, struct poller *p)
{
    poller_fd_wait(p, w->conn.fd, POLLIN);
    for (size_t i = 0; i < WORKER_N_RINGS; i++) {
        struct worker_ring *r = &w->rings[i];
        bool consumer = worker_ring_info[i].role == SHM_RING_CONSUMER;

        if (!r->ring || (!consumer && !r->wait_len)) {
            continue;
        }
        if (r->waiting) {
            shm_ring_ack_wait(r->ring);
            r->waiting = false;
        }
        if (shm_ring_prepare_wait(r->ring, consumer ? 0 : r->wait_len)) {
            r->waiting = true;
            poller_fd_wait(p, shm_ring_wait_fd(r->ring), POLLIN);
        } else {
            poller_immediate_wake(p);
        }
    }
}

const int *
worker_get_upcall_sockets(const struct worker *w, size_t *n)
{
    *n = w->n_upcall_socks;
    return w->upcall_socks;
}

int
worker_get_mac_table(const struct worker *w, uint64_t *sizep)
{
    *sizep = w->mac_table_size;
    return w->mac_table_fd;
}
