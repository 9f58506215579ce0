/*
 * handler.c — one dpif-handlerd's state and message handling (handler.h).
 */
#include "handlerd/handler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/policy.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/sort.h"
#include "common/timeval.h"
#include "common/upcall-nl.h"
#include "common/worker.h"
#include "handlerd/upcall.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(handler);

COUNTER_DEFINE(handler_upcall_batches);
COUNTER_DEFINE(handler_upcalls_received);
COUNTER_DEFINE(handler_upcalls_lost);
COUNTER_DEFINE(handler_upcalls_dropped_backpressure);
COUNTER_DEFINE(handler_op_batches);
COUNTER_DEFINE(handler_op_results);
COUNTER_DEFINE(handler_results_unexpected);
COUNTER_DEFINE(handler_policy_updates);
COUNTER_DEFINE(handler_policy_rejected);
COUNTER_DEFINE(handler_mac_aged);
COUNTER_DEFINE(handler_upcalls_lost_enobufs);
COUNTER_DEFINE(handler_upcalls_bad_netlink);
COUNTER_DEFINE(handler_upcalls_truncated);
COUNTER_DEFINE(handler_upcall_socket_errors);

/* An OpBatch sent and not yet answered. */
struct handler_inflight {
    uint64_t batch_id;          /* As sent. */
    size_t n_ops;               /* Ops in it. */
    uint8_t kinds[IPC_MAX_BATCH]; /* enum upcall_op_kind of each. */
};

struct handler {
    struct worker *worker;      /* Borrowed. */
    unsigned int index;         /* Index among the datapath's handlers. */
    struct upcall_batch *ub;    /* Scratch of upcall processing. */

    /* Translation inputs. */
    struct policy_table *table; /* Current rules, owned; never NULL. */
    uint32_t *ports;            /* Sorted port numbers, owned. */
    size_t n_ports;
    struct mac_table *macs;     /* Writable mapping, or NULL. */
    long long next_mac_age;     /* Handler 0: time_msec() to age next. */

    /* Flow count estimate (see handler.h). */
    uint64_t page_flow_count;   /* Flow count last read from the page. */
    uint64_t page_dump_seq;     /* Dump sequence last read. */
    uint64_t puts_since;        /* Puts composed since they changed. */

    /* The UpcallBatch being sent: its ops point into it. */
    struct ipc_msg cur;
    bool has_cur;
    Dpif__OpBatch *batches;     /* Into 'ub'. */
    size_t n_batches;
    size_t next_batch;          /* First not yet submitted. */
    const uint8_t *kinds;       /* Kind of every op of 'batches'. */
    size_t kinds_ofs;           /* Kinds of batches already submitted. */

    /* Kernel datapaths: the netlink upcall sockets (the worker's) and
     * one receive buffer per upcall of a batch.  While 'cur_nl' the ops
     * of 'batches' point into 'nl_bufs', which are not refilled until
     * every op is submitted. */
    const int *nl_fds;
    size_t n_nl_fds;
    size_t next_nl_fd;          /* Socket to read first next time. */
    uint16_t nl_family;         /* "ovs_packet" family id. */
    void *nl_bufs[IPC_MAX_BATCH]; /* HANDLER_NL_BUF_SIZE bytes each. */
    bool cur_nl;

    /* UpcallBatches waiting behind 'cur' (a FIFO). */
    struct ipc_msg deferred[HANDLER_MAX_DEFERRED];
    size_t deferred_head, n_deferred;

    /* Sent OpBatches awaiting results (a FIFO that grows). */
    struct handler_inflight *inflight;
    size_t inflight_cap, inflight_head, n_inflight;
    uint64_t next_batch_id;
};

static int
handler_map_mac_table(struct handler *h)
{
    struct errbuf eb = { "" };
    uint64_t size;
    int fd = worker_get_mac_table(h->worker, &size);

    if (fd < 0) {
        LOG_INFO("no MAC learning table: \"normal\" floods everything");
        return 0;
    }
    int error = mac_table_attach(fd, true, &h->macs, &eb);
    if (error) {
        LOG_ERR("MAC table: %s", eb.msg);
    }
    return error;
}

/* The pid of USERSPACE actions to this handler: privd's choice on a kernel
 * datapath, the channel id (index + 1) on a userspace one. */
static uint32_t
handler_upcall_pid(const struct handler *h)
{
    const struct worker_config *cfg = worker_get_config(h->worker);

    return cfg->has_upcall_pid ? cfg->upcall_pid : h->index + 1;
}

int
handler_create(struct worker *w, struct handler **handlerp)
{
    struct handler *h = xzalloc(sizeof *h);
    const struct worker_config *cfg = worker_get_config(w);

    h->worker = w;
    h->index = worker_get_id(w) % IPC_MAX_WORKERS;
    h->ub = upcall_batch_create();
    h->table = policy_table_create_empty(0);
    h->next_batch_id = 1;
    h->next_mac_age = time_msec() + HANDLER_MAC_AGE_MSEC;
    int error = handler_map_mac_table(h);
    if (error) {
        handler_destroy(h);
        return error;
    }
    h->nl_fds = worker_get_upcall_sockets(w, &h->n_nl_fds);
    h->nl_family = cfg->upcall_family;
    /* The upcall sockets are for reading: no generic-netlink request to
     * the kernel from a handler. */
    struct errbuf eb = { "" };
    if (h->n_nl_fds && sandbox_forbid_send(h->nl_fds, h->n_nl_fds, &eb)) {
        LOG_ERR("%s", eb.msg);
        handler_destroy(h);
        return EPERM;
    }
    for (size_t i = 0; h->n_nl_fds && i < cfg->batch_size; i++) {
        h->nl_bufs[i] = xmalloc(HANDLER_NL_BUF_SIZE);
    }
    LOG_INFO("handler %u of %s (%s): batches of %u, upcall pid %u, "
             "%zu netlink upcall socket(s)", h->index, cfg->datapath_name,
             cfg->datapath_type, cfg->batch_size, handler_upcall_pid(h),
             h->n_nl_fds);
    *handlerp = h;
    return 0;
}

static void
handler_clear_cur(struct handler *h)
{
    if (h->has_cur) {
        ipc_msg_destroy(&h->cur);
        h->has_cur = false;
    }
    h->cur_nl = false;
    h->n_batches = h->next_batch = h->kinds_ofs = 0;
}

void
handler_destroy(struct handler *h)
{
    if (!h) {
        return;
    }
    handler_clear_cur(h);
    while (h->n_deferred) {
        ipc_msg_destroy(&h->deferred[h->deferred_head]);
        h->deferred_head = (h->deferred_head + 1) % HANDLER_MAX_DEFERRED;
        h->n_deferred--;
    }
    for (size_t i = 0; i < ARRAY_SIZE(h->nl_bufs); i++) {
        free(h->nl_bufs[i]);
    }
    upcall_batch_destroy(h->ub);
    policy_table_destroy(h->table);
    free(h->ports);
    mac_table_close(h->macs);
    free(h->inflight);
    free(h);
}

/* ----- op batches ------------------------------------------------------------ */

static struct handler_inflight *
handler_inflight_push(struct handler *h)
{
    if (h->n_inflight == h->inflight_cap) {
        size_t cap = h->inflight_cap ? 2 * h->inflight_cap : 16;
        struct handler_inflight *q = xcalloc(cap, sizeof *q);
        for (size_t i = 0; i < h->n_inflight; i++) {
            q[i] = h->inflight[(h->inflight_head + i) % h->inflight_cap];
        }
        free(h->inflight);
        h->inflight = q;
        h->inflight_cap = cap;
        h->inflight_head = 0;
    }
    return &h->inflight[(h->inflight_head + h->n_inflight++)
                        % h->inflight_cap];
}

/* Submits the OpBatches of 'cur' that are left.  Returns true when all are
 * gone (or dropped: privd is gone or refuses them). */
static bool
handler_submit(struct handler *h)
{
    while (h->next_batch < h->n_batches) {
        Dpif__OpBatch *ob = &h->batches[h->next_batch];
        struct errbuf eb = { "" };

        ob->batch_id = h->next_batch_id;
        int error = worker_submit_ops(h->worker, ob, &eb);
        if (error == ENOBUFS) {
            return false;
        } else if (error) {
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            LOG_ERR_RL(&rl, "cannot submit %zu ops: %s", ob->n_ops, eb.msg);
        } else {
            struct handler_inflight *f = handler_inflight_push(h);
            f->batch_id = h->next_batch_id++;
            f->n_ops = ob->n_ops;
            memcpy(f->kinds, &h->kinds[h->kinds_ofs], ob->n_ops);
            COUNTER_INC(handler_op_batches);
        }
        h->kinds_ofs += ob->n_ops;
        h->next_batch++;
    }
    return true;
}

static void
handler_handle_results(struct handler *h, const Dpif__OpResults *r)
{
    static struct log_rl rl = LOG_RL_INIT(1, 5);

    COUNTER_INC(handler_op_results);
    if (!h->n_inflight
        || h->inflight[h->inflight_head].batch_id != r->batch_id) {
        COUNTER_INC(handler_results_unexpected);
        LOG_WARN_RL(&rl, "results for batch %"PRIu64", which is not the "
                    "oldest one in flight", r->batch_id);
        return;
    }
    const struct handler_inflight *f = &h->inflight[h->inflight_head];
    if (r->n_results == f->n_ops) {
        for (size_t i = 0; i < r->n_results; i++) {
            upcall_note_result(f->kinds[i], r->results[i]->error,
                               r->results[i]->reason);
        }
    } else {
        /* The batch was refused as a whole: one result for all. */
        const Dpif__OpResult *res = r->n_results ? r->results[0] : NULL;
        for (size_t i = 0; i < f->n_ops; i++) {
            upcall_note_result(f->kinds[i], res ? res->error : EPROTO,
                               res ? res->reason : "no result");
        }
    }
    h->inflight_head = (h->inflight_head + 1) % h->inflight_cap;
    h->n_inflight--;
}

/* ----- upcalls --------------------------------------------------------------- */

/* The translation inputs of this moment. */
static void
handler_get_env(struct handler *h, struct upcall_env *env)
{
    const struct worker_config *cfg = worker_get_config(h->worker);
    struct status_page_values v;

    worker_get_status(h->worker, &v);
    if (v.flow_count != h->page_flow_count
        || v.dump_seq != h->page_dump_seq) {
        h->page_flow_count = v.flow_count;
        h->page_dump_seq = v.dump_seq;
        h->puts_since = 0;
    }
    *env = (struct upcall_env) {
        .table = h->table,
        .macs = h->macs,
        .ports = h->ports,
        .n_ports = h->n_ports,
        .upcall_pid = handler_upcall_pid(h),
        .megaflows = v.megaflows,
        .flow_count = v.flow_count + h->puts_since,
        .flow_limit = v.flow_limit,
        .batch_size = cfg->batch_size,
        .now_msec = time_msec(),
    };
}

/* Composes the ops of the 'n' upcalls 'ins', whose memory is the current
 * batch's ('cur' or 'nl_bufs'). */
static void
handler_compose(struct handler *h, const struct upcall_in *ins, size_t n)
{
    struct upcall_summary s;
    struct upcall_env env;

    handler_get_env(h, &env);
    upcall_batch_process(h->ub, &env, ins, n, &h->batches, &h->n_batches,
                         &h->kinds, &s);
    h->puts_since += s.n_puts;
    h->next_batch = h->kinds_ofs = 0;
}

/* Takes 'm' (an UpcallBatch) as the current batch and composes its ops. */
static void
handler_process(struct handler *h, struct ipc_msg *m)
{
    const Dpif__UpcallBatch *b = (const Dpif__UpcallBatch *) m->msg;
    struct upcall_in ins[IPC_MAX_BATCH];
    size_t n = MIN(b->n_upcalls, (size_t) IPC_MAX_BATCH);

    COUNTER_INC(handler_upcall_batches);
    COUNTER_ADD(handler_upcalls_received, b->n_upcalls);
    if (b->has_n_lost) {
        COUNTER_ADD(handler_upcalls_lost, b->n_lost);
    }
    for (size_t i = 0; i < n; i++) {
        upcall_in_from_proto(b->upcalls[i], &ins[i]);
    }
    h->cur = *m;
    h->has_cur = true;
    handler_compose(h, ins, n);
}

/* Reads up to one batch of upcalls from the netlink socket 'fd' into
 * 'ins' (pointing into 'nl_bufs').  Returns how many were read and parsed;
 * '*more' is false once the socket is drained (or broken). */
static size_t
handler_read_netlink(struct handler *h, int fd, struct upcall_in *ins,
                     bool *more)
{
    static struct log_rl rl = LOG_RL_INIT(1, 5);
    const struct worker_config *cfg = worker_get_config(h->worker);
    unsigned int max = MIN(cfg->batch_size, (unsigned int) IPC_MAX_BATCH);
    struct mmsghdr msgs[IPC_MAX_BATCH];
    struct iovec iovs[IPC_MAX_BATCH];
    int got = -1;

    for (unsigned int i = 0; i < max; i++) {
        iovs[i] = (struct iovec) { h->nl_bufs[i], HANDLER_NL_BUF_SIZE };
        msgs[i] = (struct mmsghdr) {
            .msg_hdr = { .msg_iov = &iovs[i], .msg_iovlen = 1 },
        };
    }
    /* An overflowed socket reports ENOBUFS once and then delivers what it
     * kept: count the loss and read on, a bounded number of times. */
    for (int tries = 0; got < 0 && tries < 4; tries++) {
        got = recvmmsg(fd, msgs, max, MSG_DONTWAIT, NULL);
        if (got < 0 && errno == ENOBUFS) {
            COUNTER_INC(handler_upcalls_lost_enobufs);
        } else if (got < 0 && errno != EINTR) {
            break;
        }
    }
    if (got < 0) {
        if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
            COUNTER_INC(handler_upcall_socket_errors);
            LOG_ERR_RL(&rl, "upcall socket: %s", strerror(errno));
        }
        *more = false;
        return 0;
    }
    *more = (unsigned int) got == max;

    size_t n = 0;
    for (int i = 0; i < got; i++) {
        struct upcall_nl up;
        struct errbuf eb = { "" };

        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
            COUNTER_INC(handler_upcalls_truncated);
            LOG_WARN_RL(&rl, "upcall larger than %d bytes dropped",
                        HANDLER_NL_BUF_SIZE);
            continue;
        }
        if (upcall_nl_parse(h->nl_bufs[i], msgs[i].msg_len, h->nl_family,
                            &up, &eb)) {
            COUNTER_INC(handler_upcalls_bad_netlink);
            LOG_WARN_RL(&rl, "bad upcall from the kernel: %s", eb.msg);
            continue;
        }
        /* Slots keep their buffers: compact by swapping. */
        if ((size_t) i != n) {
            void *tmp = h->nl_bufs[n];
            h->nl_bufs[n] = h->nl_bufs[i];
            h->nl_bufs[i] = tmp;
        }
        upcall_in_from_nl(&up, &ins[n++]);
    }
    return n;
}

/* Kernel datapaths: reads upcall batches from the netlink sockets while
 * the previous batch's ops went out whole, at most HANDLER_NL_MAX_BATCHES
 * batches per call so that privd's messages are not starved. */
static void
handler_run_netlink(struct handler *h)
{
    for (int i = 0; i < HANDLER_NL_MAX_BATCHES && h->n_nl_fds; i++) {
        struct upcall_in ins[IPC_MAX_BATCH];
        bool more = false;
        size_t n = 0;

        for (size_t j = 0; !n && j < h->n_nl_fds; j++) {
            int fd = h->nl_fds[h->next_nl_fd];
            n = handler_read_netlink(h, fd, ins, &more);
            if (!more) {
                h->next_nl_fd = (h->next_nl_fd + 1) % h->n_nl_fds;
            }
        }
        if (!n) {
            return;
        }
        COUNTER_INC(handler_upcall_batches);
        COUNTER_ADD(handler_upcalls_received, n);
        h->cur_nl = true;
        handler_compose(h, ins, n);
        if (!handler_submit(h)) {
            return;             /* Ops ring full: wait for space. */
        }
        handler_clear_cur(h);
    }
}

void
handler_run(struct handler *h)
{
    for (;;) {
        if (h->next_batch < h->n_batches && !handler_submit(h)) {
            return;             /* Ops ring full: wait for space. */
        }
        handler_clear_cur(h);
        if (!h->n_deferred) {
            break;
        }
        struct ipc_msg m = h->deferred[h->deferred_head];
        h->deferred_head = (h->deferred_head + 1) % HANDLER_MAX_DEFERRED;
        h->n_deferred--;
        handler_process(h, &m);
    }
    handler_run_netlink(h);

    if (h->index == 0 && h->macs && time_msec() >= h->next_mac_age) {
        COUNTER_ADD(handler_mac_aged, mac_table_age(h->macs, time_msec()));
        h->next_mac_age = time_msec() + HANDLER_MAC_AGE_MSEC;
    }
}

void
handler_wait(struct handler *h, struct poller *p)
{
    if (h->index == 0 && h->macs) {
        poller_timer_wait(p, h->next_mac_age);
    }
    /* While ops are pending, the ops ring's space wakes us (worker_wait());
     * the sockets are read only when they can be taken in. */
    if (h->next_batch >= h->n_batches && !h->n_deferred) {
        for (size_t i = 0; i < h->n_nl_fds; i++) {
            poller_fd_wait(p, h->nl_fds[i], POLLIN);
        }
    }
}

static void
handler_defer(struct handler *h, struct ipc_msg *m)
{
    if (h->n_deferred == HANDLER_MAX_DEFERRED) {
        static struct log_rl rl = LOG_RL_INIT(1, 5);
        const Dpif__UpcallBatch *b = (const Dpif__UpcallBatch *) m->msg;

        COUNTER_ADD(handler_upcalls_dropped_backpressure, b->n_upcalls);
        LOG_WARN_RL(&rl, "privd is not taking ops: dropping %zu upcalls",
                    b->n_upcalls);
        ipc_msg_destroy(m);
        return;
    }
    h->deferred[(h->deferred_head + h->n_deferred++)
                % HANDLER_MAX_DEFERRED] = *m;
}

/* ----- policy ---------------------------------------------------------------- */

/* Parses the rules of 'u' (inline or in its memfd) into '*tablep'. */
static int
handler_parse_rules(const Dpif__PolicyUpdate *u, struct ipc_msg *m,
                    struct policy_table **tablep, struct errbuf *eb)
{
    if (u->rules_text) {
        return policy_parse(u->rules_text, strlen(u->rules_text), "rules",
                            u->generation, tablep, eb);
    }
    if (!u->has_rules_memfd || !u->has_rules_size
        || u->rules_size > IPC_MAX_RULES_MEMFD) {
        return errbuf_set(eb, EPROTO, "policy update without rules");
    }
    if (!u->rules_size) {
        *tablep = policy_table_create_empty(u->generation);
        return 0;
    }
    int fd;
    int error = ipc_msg_take_fd(m, u->rules_memfd, &fd, eb);
    if (error) {
        return error;
    }
    struct stat st;
    if (fstat(fd, &st) || (uint64_t) st.st_size < u->rules_size) {
        close(fd);
        return errbuf_set(eb, EPROTO, "rules memfd smaller than %"PRIu64
                          " bytes", u->rules_size);
    }
    void *text = mmap(NULL, u->rules_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (text == MAP_FAILED) {
        return errbuf_set(eb, errno, "mmap rules: %s", strerror(errno));
    }
    error = policy_parse(text, u->rules_size, "rules", u->generation, tablep,
                         eb);
    munmap(text, u->rules_size);
    return error;
}

static int
handler_cmp_port(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return a < b ? -1 : a > b;
}

static void
handler_handle_policy(struct handler *h, struct ipc_msg *m)
{
    const Dpif__PolicyUpdate *u = (const Dpif__PolicyUpdate *) m->msg;
    struct policy_table *table;
    struct errbuf eb = { "" };

    COUNTER_INC(handler_policy_updates);
    if (h->table->generation && u->generation <= h->table->generation) {
        errbuf_set(&eb, EPROTO, "generation %"PRIu64" is not newer than "
                   "%"PRIu64, u->generation, h->table->generation);
    } else if (u->n_ports > IPC_MAX_PORTS) {
        errbuf_set(&eb, EPROTO, "%zu ports", u->n_ports);
    } else {
        handler_parse_rules(u, m, &table, &eb);
    }
    if (eb.msg[0]) {
        COUNTER_INC(handler_policy_rejected);
        LOG_ERR("policy update refused, keeping generation %"PRIu64": %s",
                h->table->generation, eb.msg);
        return;
    }
    policy_table_destroy(h->table);
    h->table = table;

    free(h->ports);
    h->ports = xcalloc(u->n_ports ? u->n_ports : 1, sizeof *h->ports);
    if (u->n_ports) {
        memcpy(h->ports, u->ports, u->n_ports * sizeof *h->ports);
    }
    h->n_ports = u->n_ports;
    sort_array(h->ports, h->n_ports, sizeof *h->ports, handler_cmp_port);
    LOG_INFO("policy generation %"PRIu64": %zu rules, %zu ports",
             table->generation, table->n_rules, h->n_ports);
}

void
handler_handle_msg(struct handler *h, struct ipc_msg *m)
{
    switch (m->hdr.type) {
    case IPC_UPCALL_BATCH:
        if (h->has_cur || h->cur_nl || h->n_deferred) {
            handler_defer(h, m);
        } else {
            handler_process(h, m);
        }
        handler_run(h);
        return;
    case IPC_OP_RESULTS:
        handler_handle_results(h, (const Dpif__OpResults *) m->msg);
        break;
    case IPC_POLICY_UPDATE:
        handler_handle_policy(h, m);
        break;
    default:
        LOG_DBG("ignoring %s", ipc_type_name(m->hdr.type));
        break;
    }
    ipc_msg_destroy(m);
}
