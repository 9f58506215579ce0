/*
 * worker-channel.c — privd's end of one worker's protocol (supervisor.h,
 * supervisor-internal.h): the handshake, the dispatch of what the worker
 * sends (op batches, dump acks, counter reports), results, flow
 * announcements to revalidators, feeding upcalls into handlers' rings and
 * accounting for the upcalls in flight, and the liveness watchdog.
 * Everything read here comes from an untrusted worker.
 */
#include "privd/worker-channel.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/shm-ring.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "common/worker.h"
#include "privd/dpif-netlink.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/flow-ledger.h"
#include "privd/op-validate.h"
#include "privd/privd.h"
#include "privd/spawner.h"
#include "privd/status-page.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(supervisor);

COUNTER_DEFINE(supervisor_hello_rejected);
COUNTER_DEFINE(supervisor_ring_corrupt);
COUNTER_DEFINE(supervisor_unexpected_msg);
COUNTER_DEFINE(supervisor_bad_report);
COUNTER_DEFINE(supervisor_results_backlog);
COUNTER_DEFINE(supervisor_announce_dropped);
COUNTER_DEFINE(supervisor_upcalls_sent);
COUNTER_DEFINE(supervisor_upcalls_dropped);
COUNTER_DEFINE(supervisor_upcalls_lost_in_flight);
COUNTER_DEFINE(supervisor_worker_stuck);
COUNTER_DEFINE(supervisor_watchdog_kill);
COUNTER_DEFINE(supervisor_policy_deferred);

/* ----- in-flight upcall accounting ------------------------------------------ */

/* Forgets the in-flight batches that the handler has taken out of its
 * upcall ring (all of them if the ring is broken: nothing is known then,
 * and sup_count_lost_upcalls() counts what is left). */
static void
sup_prune_inflight(struct sup_worker *w)
{
    struct shm_ring *r = w->rings[SUP_RING(UPCALLS)];
    uint64_t tail;

    if (!r || shm_ring_consumed(r, &tail, NULL)) {
        return;
    }
    while (w->n_inflight && w->inflight[w->inflight_first].end <= tail) {
        w->inflight_first++;
        w->n_inflight--;
    }
    if (!w->n_inflight) {
        w->inflight_first = 0;
    }
}

/* Remembers that an UpcallBatch of 'n' upcalls was just committed to 'w''s
 * upcall ring. */
static void
sup_note_inflight(struct sup_worker *w, uint32_t n)
{
    sup_prune_inflight(w);
    if (w->inflight_first + w->n_inflight == w->inflight_allocated) {
        if (w->inflight_first) {
            memmove(w->inflight, &w->inflight[w->inflight_first],
                    w->n_inflight * sizeof *w->inflight);
            w->inflight_first = 0;
        } else {
            w->inflight_allocated = (w->inflight_allocated
                                     ? 2 * w->inflight_allocated : 64);
            w->inflight = xrealloc(w->inflight, w->inflight_allocated
                                   * sizeof *w->inflight);
        }
    }
    w->inflight[w->inflight_first + w->n_inflight++] = (struct sup_inflight) {
        shm_ring_produced(w->rings[SUP_RING(UPCALLS)]), n,
    };
}

/* The handler's upcall ring is about to go with its process: counts the
 * upcalls still in it, which nobody will handle, as lost in flight.  A
 * batch the handler had already taken out of the ring when it died is
 * not counted (the ring cannot tell), nor, in socket-only mode, the
 * batches still queued on the socket (the kernel discards them). */
void
sup_count_lost_upcalls(struct sup_worker *w)
{
    uint64_t lost = 0;

    sup_prune_inflight(w);
    for (size_t i = 0; i < w->n_inflight; i++) {
        lost += w->inflight[w->inflight_first + i].n_upcalls;
    }
    if (lost) {
        COUNTER_ADD(supervisor_upcalls_lost_in_flight, lost);
        LOG_WARN("%s %u (pid %ld): %"PRIu64" upcalls were still in its "
                 "ring: lost", sup_role_name(w), w->index, (long) w->pid,
                 lost);
    }
    w->inflight_first = w->n_inflight = 0;
}

/* ----- sending --------------------------------------------------------------- */

/* Sends 'msg' on the socket.  A full socket buffer loses the message (it is
 * rate-limited and periodic); a dead peer is noticed on receive. */
int
sup_send(struct sup_worker *w, enum ipc_type type,
         const ProtobufCMessage *msg, const int *fds, size_t n_fds)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    struct errbuf eb = { "" };

    int error = ipc_send(&w->conn, type, w->seq++, msg, fds, n_fds, &eb);
    if (error && error != EPIPE) {
        LOG_WARN_RL(&rl, "%s %u: sending %s: %s", sup_role_name(w), w->index,
                    ipc_type_name(type), eb.msg);
    }
    return error;
}

/* Sends the datapath's latest policy to 'w'.  A policy is state, not an
 * event: one that finds the socket full is owed ('policy_owed') and sent
 * again from supervisor_run() until it goes through, so that no worker is
 * left on an old policy.  A newer policy replaces the owed one (the
 * datapath keeps only the latest).  A worker that never drains its socket
 * stops answering ReportRequests too, and the watchdog replaces it; the
 * new process gets the policy in its handshake. */
void
sup_send_policy(struct sup_worker *w)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    struct errbuf eb = { "" };

    if (!w->dp->policy) {
        w->policy_owed = false;
        return;
    }
    int error = ipc_send(&w->conn, IPC_POLICY_UPDATE, w->seq++,
                         &w->dp->policy->base, NULL, 0, &eb);
    if (error == EAGAIN) {
        if (!w->policy_owed) {
            COUNTER_INC(supervisor_policy_deferred);
        }
        w->policy_owed = true;
        return;
    }
    w->policy_owed = false;
    if (error && error != EPIPE) {
        LOG_WARN_RL(&rl, "%s %u: sending its policy: %s", sup_role_name(w),
                    w->index, eb.msg);
    }
}

/* Delivers a bulk message: into ring 'ring' (a SUP_RING index) or, in
 * socket-only mode, on the socket.  Returns 0 or ENOBUFS. */
int
sup_deliver(struct sup_worker *w, size_t ring, enum ipc_type type,
            const ProtobufCMessage *msg)
{
    struct errbuf eb = { "" };
    struct shm_ring *r = w->rings[ring];

    if (!r) {
        int error = sup_send(w, type, msg, NULL, 0);
        return error == EAGAIN ? ENOBUFS : error;
    }
    size_t size = ipc_frame_size(msg);
    void *dst;
    int error = shm_ring_reserve(r, size, &dst, &eb);
    if (!error) {
        error = ipc_frame_pack_into(type, w->seq++, msg, dst, size, &size,
                                    &eb);
        if (!error) {
            shm_ring_commit(r, size);
        }
    } else if (error == EPROTO) {
        COUNTER_INC(supervisor_ring_corrupt);
        sup_worker_kill(w, "%s", eb.msg);
    }
    return error;
}

/* ----- handshake ------------------------------------------------------------- */

/* A RingDesc and its three descriptors, for the HelloReply. */
struct sup_reply {
    Dpif__HelloReply msg;
    Dpif__RingDesc ring_descs[SUP_N_RINGS];
    Dpif__RingDesc *ring_ptrs[SUP_N_RINGS];
    Dpif__RegionDesc region;
    Dpif__RegionDesc mac_region;
    Dpif__RegionDesc *region_ptrs[2];
    int fds[IPC_MAX_FDS];
    size_t n_fds;
};

static int
sup_add_ring(struct sup_worker *w, struct sup_reply *r, size_t idx,
             enum shm_ring_role privd_end, struct errbuf *eb)
{
    int error = shm_ring_create(privd_end, SHM_RING_DEFAULT_CAPACITY,
                                IPC_MAX_FRAME, &w->rings[idx], eb);
    if (error) {
        return error;
    }
    Dpif__RingDesc *d = &r->ring_descs[r->msg.n_rings];
    int memfd, data_efd, space_efd;
    size_t capacity;

    dpif__ring_desc__init(d);
    shm_ring_export(w->rings[idx], &memfd, &data_efd, &space_efd, &capacity);
    d->use = (Dpif__RingUse) (idx + 1);
    d->capacity = capacity;
    d->memfd = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = memfd;
    d->data_eventfd = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = data_efd;
    d->space_eventfd = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = space_efd;
    r->ring_ptrs[r->msg.n_rings++] = d;
    return 0;
}

/* Kernel datapaths: attaches handler 'w''s netlink upcall socket (privd
 * keeps owning it, so that a respawned handler gets the same socket and
 * the upcalls queued on it), with the "ovs_packet" family id that its
 * messages carry and the pid for the USERSPACE actions the handler
 * installs.  The socket's index among the attached fds goes to
 * '*indexp'. */
static int
sup_add_upcall_socket(struct sup_worker *w, struct sup_reply *r,
                      uint32_t *indexp, struct errbuf *eb)
{
    struct dpif *dpif = w->dp->pdp->dpif;
    struct dpif_netlink_families families;
    int fd = dpif_netlink_handler_fd(dpif, w->index);

    if (fd < 0) {
        return errbuf_set(eb, ENOENT, "%s has no upcall socket for handler "
                          "%u", dpif_name(dpif), w->index);
    }
    int error = dpif_netlink_families_get(&families);
    if (error) {
        return errbuf_set(eb, error, "openvswitch families: %s",
                          strerror(error));
    }
    *indexp = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = fd;
    r->msg.upcall_sockets = indexp;
    r->msg.n_upcall_sockets = 1;
    r->msg.has_upcall_family = true;
    r->msg.upcall_family = families.packet;
    r->msg.has_upcall_pid = true;
    r->msg.upcall_pid = dpif_port_get_pid(dpif, DPIF_SPECIAL_PORT_PID);
    return 0;
}

static int
sup_send_reply(struct sup_worker *w, struct errbuf *eb)
{
    struct supervisor *sup = w->sup;
    const struct config *cfg = &sup->privd->cfg;
    struct sup_reply r;
    int error = 0;

    memset(&r, 0, sizeof r);
    dpif__hello_reply__init(&r.msg);
    r.msg.protocol_version = IPC_VERSION;
    r.msg.datapath_name = (char *) dpif_name(w->dp->pdp->dpif);
    r.msg.datapath_type = (char *) dpif_type(w->dp->pdp->dpif);
    r.msg.n_handlers = sup->n_handlers;
    r.msg.n_revalidators = sup->n_revalidators;
    r.msg.batch_size = cfg->batch_size;
    r.msg.flow_limit = (uint32_t) status_page_get(w->dp->status)->flow_limit;
    r.msg.max_idle_msec = cfg->max_idle_ms;
    r.msg.megaflows = status_page_get(w->dp->status)->megaflows;
    r.msg.socket_only = cfg->worker_socket_only;
    r.msg.policy_generation = w->dp->pdp->policy_generation;
    r.msg.rings = r.ring_ptrs;

    if (!cfg->worker_socket_only) {
        if (w->role == WORKER_ROLE_HANDLER && w->dp->userspace) {
            error = sup_add_ring(w, &r, SUP_RING(UPCALLS), SHM_RING_PRODUCER,
                                 eb);
        }
        if (!error) {
            error = sup_add_ring(w, &r, SUP_RING(OPS), SHM_RING_CONSUMER, eb);
        }
        if (!error) {
            error = sup_add_ring(w, &r, SUP_RING(RESULTS), SHM_RING_PRODUCER,
                                 eb);
        }
        if (!error && w->role == WORKER_ROLE_REVALIDATOR) {
            error = sup_add_ring(w, &r, SUP_RING(DUMP), SHM_RING_PRODUCER,
                                 eb);
        }
        if (error) {
            return error;
        }
    }
    dpif__region_desc__init(&r.region);
    r.region.use = DPIF__REGION_USE__REGION_USE_STATUS_PAGE;
    r.region.memfd = (uint32_t) r.n_fds;
    r.region.size = STATUS_PAGE_SIZE;
    r.fds[r.n_fds++] = status_page_fd(w->dp->status);
    r.region_ptrs[r.msg.n_regions++] = &r.region;
    if (w->dp->mac_table_fd >= 0) {
        dpif__region_desc__init(&r.mac_region);
        r.mac_region.use = DPIF__REGION_USE__REGION_USE_MAC_TABLE;
        r.mac_region.memfd = (uint32_t) r.n_fds;
        r.mac_region.size = w->dp->mac_table_size;
        r.fds[r.n_fds++] = w->dp->mac_table_fd;
        r.region_ptrs[r.msg.n_regions++] = &r.mac_region;
    }
    r.msg.regions = r.region_ptrs;

    uint32_t upcall_index;
    if (w->role == WORKER_ROLE_HANDLER && !w->dp->userspace) {
        error = sup_add_upcall_socket(w, &r, &upcall_index, eb);
        if (error) {
            return error;
        }
    }

    error = ipc_send(&w->conn, IPC_HELLO_REPLY, w->seq++, &r.msg.base, r.fds,
                     r.n_fds, eb);
    return error;
}

/* Receives the Hello with the sender's credentials, which the kernel
 * stamps on each datagram (SO_PASSCRED): SO_PEERCRED would name privd
 * itself, the creator of the socketpair, not the worker holding the other
 * end.  Returns 0, EAGAIN, EPIPE or EPROTO (with 'eb'). */
static int
sup_recv_hello(struct sup_worker *w, struct ipc_msg *m, struct ucred *cred,
               struct errbuf *eb)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))
                 + CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    uint8_t frame[4096];
    struct iovec iov = { .iov_base = frame, .iov_len = sizeof frame };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    bool have_cred = false, have_fds = false;

    ssize_t n = recvmsg(w->conn.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return errno == EAGAIN ? EAGAIN : EPIPE;
    } else if (!n) {
        return EPIPE;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS
            && c->cmsg_len == CMSG_LEN(sizeof *cred)) {
            memcpy(cred, CMSG_DATA(c), sizeof *cred);
            have_cred = true;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n_fds; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
                close(fd);
            }
            have_fds = true;
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || have_fds || !have_cred) {
        return errbuf_set(eb, EPROTO, "Hello datagram truncated, with "
                          "descriptors or without credentials");
    }
    return ipc_frame_decode(frame, (size_t) n, IPC_TYPE_BIT(IPC_HELLO), m,
                            eb);
}

static void
sup_handle_hello(struct sup_worker *w, const struct ipc_msg *m,
                 const struct ucred *credp)
{
    const Dpif__Hello *h = (const Dpif__Hello *) m->msg;
    struct errbuf eb = { "" };
    struct ucred cred = *credp;
    int off = 0;

    if (h->protocol_version != IPC_VERSION) {
        errbuf_set(&eb, EPROTO, "protocol version %"PRIu32", not %d",
                   h->protocol_version, IPC_VERSION);
    } else if ((unsigned int) h->role != (unsigned int) w->role) {
        errbuf_set(&eb, EPROTO, "claims role %d, spawned as %s", h->role,
                   sup_role_name(w));
    } else if (h->worker_id != w->id) {
        errbuf_set(&eb, EPROTO, "claims id %"PRIu32", spawned as %u",
                   h->worker_id, w->id);
    } else if (cred.pid != w->pid) {
        errbuf_set(&eb, EPROTO, "peer pid %ld is not the spawned pid %ld",
                   (long) cred.pid, (long) w->pid);
    }
    if (eb.msg[0]) {
        COUNTER_INC(supervisor_hello_rejected);
        sup_worker_kill(w, "bad Hello: %s", eb.msg);
        return;
    }
    if (h->pid != (uint32_t) cred.pid) {
        LOG_INFO("%s %u: Hello says pid %"PRIu32", SO_PEERCRED %ld (pid "
                 "namespace?)", sup_role_name(w), w->index, h->pid,
                 (long) cred.pid);
    }
    int error = sup_send_reply(w, &eb);
    if (error) {
        sup_worker_kill(w, "cannot send HelloReply: %s", eb.msg);
        return;
    }
    setsockopt(w->conn.fd, SOL_SOCKET, SO_PASSCRED, &off, sizeof off);
    w->conn.accept = (IPC_TYPE_BIT(IPC_OP_BATCH)
                      | IPC_TYPE_BIT(IPC_DUMP_ACK)
                      | IPC_TYPE_BIT(IPC_COUNTER_REPORT)
                      | IPC_TYPE_BIT(IPC_HELLO));
    w->state = SUP_UP;
    LOG_INFO("%s %u (pid %ld, uid %ld): ready", sup_role_name(w), w->index,
             (long) w->pid, (long) cred.uid);
    sup_send_policy(w);
}

/* ----- worker messages -------------------------------------------------------- */

static bool
sup_counter_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (!len || len > IPC_MAX_NAME) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p)
            && *p != '_') {
            return false;
        }
    }
    return true;
}

static void
sup_handle_report(struct sup_worker *w, const Dpif__CounterReport *r)
{
    if (!r->n_counters && r->n_memory == 1
        && !strcmp(r->memory[0]->name, SANDBOX_DENIED_SYSCALL_NOTE)) {
        /* Worker-written: used only to describe a death by SIGSYS. */
        w->denied_syscall = r->memory[0]->value < 4096
                            ? (unsigned int) r->memory[0]->value + 1 : 0;
        return;
    }
    w->report_due = 0;          /* Answered, even if badly. */
    for (size_t i = 0; i < r->n_memory; i++) {
        if (!sup_counter_name_ok(r->memory[i]->name)) {
            COUNTER_INC(supervisor_bad_report);
            sup_worker_strike(w, "gauge report with a bad name");
            return;
        }
    }
    for (size_t i = 0; i < r->n_counters; i++) {
        if (!sup_counter_name_ok(r->counters[i]->name)) {
            COUNTER_INC(supervisor_bad_report);
            sup_worker_strike(w, "counter report with a bad name");
            return;
        }
    }
    if (r->n_counters > SUPERVISOR_MAX_WORKER_COUNTERS
        || r->n_memory > SUPERVISOR_MAX_WORKER_COUNTERS) {
        COUNTER_INC(supervisor_bad_report);
        sup_worker_strike(w, "counter report too long");
        return;
    }
    sup_worker_clear_counters(w);
    w->counters = xcalloc(r->n_counters ? r->n_counters : 1,
                          sizeof *w->counters);
    for (size_t i = 0; i < r->n_counters; i++) {
        w->counters[i].name = xstrdup(r->counters[i]->name);
        w->counters[i].value = r->counters[i]->value;
    }
    w->n_counters = r->n_counters;
    w->gauges = xcalloc(r->n_memory ? r->n_memory : 1, sizeof *w->gauges);
    for (size_t i = 0; i < r->n_memory; i++) {
        w->gauges[i].name = xstrdup(r->memory[i]->name);
        w->gauges[i].value = r->memory[i]->value;
    }
    w->n_gauges = r->n_memory;
}

/* Announces to the owning revalidator each flow a handler created. */
struct sup_announce {
    struct sup_dp *dp;          /* The datapath. */
    struct supervisor *sup;     /* The supervisor. */
    uint64_t generation;        /* Policy generation to announce. */
};

static void
sup_announce_flow(const struct dpif_flow_put *put, const union ufid *ufid,
                  void *a_)
{
    struct sup_announce *a = a_;
    unsigned int shard = ufid_shard(ufid, a->sup->n_revalidators);
    struct sup_worker *rv = &a->dp->revalidators[shard];
    Dpif__FlowAnnouncement ann = DPIF__FLOW_ANNOUNCEMENT__INIT;
    Dpif__Flow flow = DPIF__FLOW__INIT;
    Dpif__Flow *flows[1] = { &flow };

    if (rv->state != SUP_UP) {
        COUNTER_INC(supervisor_announce_dropped);
        return;
    }
    flow.has_ufid = flow.has_key = flow.has_mask = flow.has_actions = true;
    flow.ufid.data = (uint8_t *) ufid;
    flow.ufid.len = IPC_UFID_LEN;
    flow.key.data = (uint8_t *) put->key;
    flow.key.len = put->key_len;
    flow.mask.data = (uint8_t *) put->mask;
    flow.mask.len = put->mask_len;
    flow.actions.data = (uint8_t *) put->actions;
    flow.actions.len = put->actions_len;
    ann.flows = flows;
    ann.n_flows = 1;
    ann.policy_generation = a->generation;
    if (sup_deliver(rv, SUP_RING(DUMP), IPC_FLOW_ANNOUNCEMENT, &ann.base)) {
        COUNTER_INC(supervisor_announce_dropped);
    }
}

/* Delivers the pending results frame, if any.  Returns true if none is
 * left pending. */
static bool
sup_flush_pending(struct sup_worker *w)
{
    struct errbuf eb = { "" };

    if (!w->pending.size) {
        return true;
    }
    int error;
    if (w->rings[SUP_RING(RESULTS)]) {
        error = shm_ring_push(w->rings[SUP_RING(RESULTS)], w->pending.data,
                              w->pending.size, &eb);
    } else {
        error = ipc_send_frame(w->conn.fd, w->pending.data, w->pending.size,
                               NULL, 0, &eb);
        if (error == EAGAIN) {
            error = ENOBUFS;
        }
    }
    if (error == ENOBUFS) {
        return false;
    } else if (error == EPROTO) {
        COUNTER_INC(supervisor_ring_corrupt);
        sup_worker_kill(w, "%s", eb.msg);
        return false;
    }
    buf_clear(&w->pending);
    return true;
}

static void
sup_handle_op_batch(struct sup_worker *w, const struct ipc_msg *m)
{
    struct supervisor *sup = w->sup;
    struct op_batch *b = sup->batch;
    struct op_context ctx = {
        .dpif = w->dp->pdp->dpif,
        .role = w->role,
        .worker_index = w->index,
        .n_revalidators = sup->n_revalidators,
        .batch_size = sup->privd->cfg.batch_size,
        .flow_limit = status_page_get(w->dp->status)->flow_limit,
        .work = &w->work,
        .ledger = w->dp->ledger,
    };
    Dpif__OpResults results;
    struct errbuf eb = { "" };

    w->n_batches++;
    op_batch_check(b, &ctx, (const Dpif__OpBatch *) m->msg);
    op_batch_execute(b, ctx.dpif);
    op_batch_to_results(b, &results);

    buf_clear(&w->pending);
    if (ipc_frame_pack(IPC_OP_RESULTS, m->hdr.seq, &results.base,
                       &w->pending, &eb)) {
        LOG_ERR("%s %u: cannot pack results: %s", sup_role_name(w),
                w->index, eb.msg);
        buf_clear(&w->pending);
    } else if (!sup_flush_pending(w)) {
        COUNTER_INC(supervisor_results_backlog);
    }

    if (w->role == WORKER_ROLE_HANDLER) {
        struct sup_announce a = { w->dp, sup, w->dp->pdp->policy_generation };
        op_batch_for_each_created(b, sup_announce_flow, &a);
    }
    if (b->n_rejected && w->state == SUP_UP) {
        sup_worker_strike(w, b->error ? b->reason.msg
                          : "op batch with refused ops");
    } else if (b->n_throttled && w->state == SUP_UP
               && time_msec() - w->throttle_strike
                  >= SUPERVISOR_THROTTLE_STRIKE_MSEC) {
        w->throttle_strike = time_msec();
        sup_worker_strike(w, "Execute work budget exceeded");
    }
    op_batch_clear(b);
}

static void
sup_handle_msg(struct sup_worker *w, const struct ipc_msg *m)
{
    char why[96];

    switch (m->hdr.type) {
    case IPC_HELLO:
        break;
    case IPC_OP_BATCH:
        sup_handle_op_batch(w, m);
        return;
    case IPC_COUNTER_REPORT:
        sup_handle_report(w, (const Dpif__CounterReport *) m->msg);
        return;
    case IPC_DUMP_ACK:
        if (w->role == WORKER_ROLE_REVALIDATOR) {
            dump_pump_handle_ack(w->dp->pump, w->index, w->pid,
                                 (const Dpif__DumpAck *) m->msg);
            return;
        }
        break;
    default:
        break;
    }
    COUNTER_INC(supervisor_unexpected_msg);
    snprintf(why, sizeof why, "unexpected %s from a %s",
             ipc_type_name(m->hdr.type), sup_role_name(w));
    sup_worker_strike(w, why);
}

/* Reads what the worker's socket holds. */
void
sup_run_socket(struct sup_worker *w)
{
    for (int i = 0; i < SUP_MAX_BATCHES_PER_RUN; i++) {
        struct errbuf eb = { "" };
        struct ipc_msg m;

        if (w->conn.fd < 0 || (w->state != SUP_HELLO && w->state != SUP_UP)
            || w->pending.size) {
            return;
        }
        struct ucred cred;
        int error = (w->state == SUP_HELLO
                     ? sup_recv_hello(w, &m, &cred, &eb)
                     : ipc_recv(&w->conn, &m, &eb));
        if (error == EAGAIN) {
            return;
        } else if (error == EPIPE) {
            /* It died, or closed the socket: either way it is done. */
            sup_worker_release(w);
            w->state = SUP_DYING;
            /* Harmless ESRCH if it already exited; needed if it only
             * closed the socket. */
            spawner_kill(w->sup->privd->spawner, w->pid, NULL);
            return;
        } else if (error == EPROTO) {
            if (w->state == SUP_HELLO) {
                COUNTER_INC(supervisor_hello_rejected);
                sup_worker_kill(w, "before its Hello: %s", eb.msg);
                return;
            }
            sup_worker_strike(w, eb.msg);
            continue;
        } else if (error) {
            sup_worker_kill(w, "control socket: %s", eb.msg);
            return;
        }
        if (w->state == SUP_HELLO) {
            sup_handle_hello(w, &m, &cred);
        } else {
            sup_handle_msg(w, &m);
        }
        ipc_msg_destroy(&m);
    }
}

/* Takes op batches out of the worker's ops ring. */
void
sup_run_ops_ring(struct sup_worker *w)
{
    struct supervisor *sup = w->sup;

    for (int i = 0; i < SUP_MAX_BATCHES_PER_RUN; i++) {
        struct shm_ring *r = w->rings[SUP_RING(OPS)];
        struct errbuf eb = { "" };
        struct ipc_msg m;

        if (!r || w->state != SUP_UP || !sup_flush_pending(w)) {
            return;
        }
        if (w->ring_waiting[SUP_RING(OPS)]) {
            shm_ring_ack_wait(r);
            w->ring_waiting[SUP_RING(OPS)] = false;
        }
        int error = shm_ring_pop(r, &sup->rx, &eb);
        if (error == EAGAIN) {
            return;
        } else if (error) {
            COUNTER_INC(supervisor_ring_corrupt);
            sup_worker_kill(w, "ops ring: %s", eb.msg);
            return;
        }
        error = ipc_frame_decode(sup->rx.data, sup->rx.size,
                                 IPC_TYPE_BIT(IPC_OP_BATCH), &m, &eb);
        if (error) {
            sup_worker_strike(w, eb.msg);
            continue;
        }
        sup_handle_op_batch(w, &m);
        ipc_msg_destroy(&m);
    }
}

/* ----- upcalls ----------------------------------------------------------------- */

void
sup_pump_upcalls(struct sup_worker *w)
{
    struct supervisor *sup = w->sup;
    struct dpif *dpif = w->dp->pdp->dpif;
    unsigned int max = MIN(sup->privd->cfg.batch_size, IPC_MAX_BATCH);
    struct dpif_upcall ups[IPC_MAX_BATCH];
    Dpif__Upcall msgs[IPC_MAX_BATCH];
    Dpif__Upcall *ptrs[IPC_MAX_BATCH];
    size_t n = 0, bytes = 0;

    if (w->state != SUP_UP || !w->dp->userspace) {
        return;
    }
    for (; n < max; n++) {
        dpif_upcall_init(&ups[n]);
        if (dpif_recv(dpif, w->index, &ups[n])) {
            dpif_upcall_uninit(&ups[n]);
            break;
        }
        struct dpif_upcall *u = &ups[n];
        Dpif__Upcall *pm = &msgs[n];
        dpif__upcall__init(pm);
        pm->type = (u->type == DPIF_UC_ACTION ? DPIF__UPCALL_TYPE__UPCALL_TYPE_ACTION
                    : DPIF__UPCALL_TYPE__UPCALL_TYPE_MISS);
        pm->key.data = u->key.data;
        pm->key.len = u->key.size;
        pm->packet.data = u->packet.data;
        pm->packet.len = u->packet.size;
        if (u->type == DPIF_UC_ACTION) {
            pm->has_userdata = true;
            pm->userdata.data = u->userdata.data;
            pm->userdata.len = u->userdata.size;
        }
        pm->in_port = u->in_port;
        pm->has_channel = true;
        pm->channel = u->pid;
        ptrs[n] = pm;
        bytes += u->key.size + u->packet.size + u->userdata.size + 64;
        if (bytes > IPC_MAX_MSG / 2) {
            n++;
            break;
        }
    }
    if (n) {
        Dpif__UpcallBatch batch = DPIF__UPCALL_BATCH__INIT;
        batch.upcalls = ptrs;
        batch.n_upcalls = n;
        if (sup_deliver(w, SUP_RING(UPCALLS), IPC_UPCALL_BATCH,
                        &batch.base)) {
            COUNTER_ADD(supervisor_upcalls_dropped, n);
        } else {
            COUNTER_ADD(supervisor_upcalls_sent, n);
            if (w->rings[SUP_RING(UPCALLS)]) {
                sup_note_inflight(w, n);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        dpif_upcall_uninit(&ups[i]);
    }
}

/* ----- liveness watchdog ------------------------------------------- */

/* True for the rings privd produces into (the worker consumes them). */
static bool
sup_ring_is_privd_producer(size_t idx)
{
    return idx != SUP_RING(OPS);
}

/* Notes what 'w' owes privd and since when: a ReportRequest it has not
 * answered, and each ring privd produces into that holds records the
 * worker has not taken while its tail stands still.  A worker that owes
 * nothing is never stuck, however quiet.  One that owes something for
 * SUPERVISOR_STUCK_MSEC is shown as "stuck" (and counted); for
 * SUPERVISOR_STUCK_KILL_MSEC, it is killed and respawned: SIGSTOPped, in
 * an endless loop, or not reading its rings.  Returns false if 'w' was
 * killed. */
bool
sup_run_watchdog(struct sup_worker *w, long long now)
{
    long long owed = w->report_due;

    for (size_t i = 0; i < SUP_N_RINGS; i++) {
        struct shm_ring *r = w->rings[i];
        struct errbuf eb = { "" };
        uint64_t tail;

        if (!r || !sup_ring_is_privd_producer(i)) {
            continue;
        }
        if (shm_ring_consumed(r, &tail, &eb)) {
            COUNTER_INC(supervisor_ring_corrupt);
            sup_worker_kill(w, "%s", eb.msg);
            return false;
        }
        if (tail == shm_ring_produced(r)) {
            w->ring_stall[i] = 0;
        } else if (tail != w->ring_tail[i] || !w->ring_stall[i]) {
            w->ring_stall[i] = now;
        }
        w->ring_tail[i] = tail;
        if (w->ring_stall[i] && (!owed || w->ring_stall[i] < owed)) {
            owed = w->ring_stall[i];
        }
    }
    w->owed_since = owed;

    long long idle = owed ? now - owed : 0;
    if (idle >= SUPERVISOR_STUCK_KILL_MSEC) {
        COUNTER_INC(supervisor_watchdog_kill);
        sup_worker_kill(w, "stuck: owed privd a reply or took nothing from "
                        "a ring for %lld ms", idle);
        return false;
    } else if (idle >= SUPERVISOR_STUCK_MSEC) {
        if (!w->stuck_since) {
            w->stuck_since = now;
            COUNTER_INC(supervisor_worker_stuck);
            LOG_WARN("%s %u (pid %ld): stuck for %lld ms (killed at %d ms)",
                     sup_role_name(w), w->index, (long) w->pid, idle,
                     SUPERVISOR_STUCK_KILL_MSEC);
        }
    } else if (w->stuck_since) {
        LOG_INFO("%s %u (pid %ld): no longer stuck", sup_role_name(w),
                 w->index, (long) w->pid);
        w->stuck_since = 0;
    }
    return true;
}
