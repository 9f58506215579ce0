/* control-server.c — privd's control socket: see control-server.h. */
#include "privd/control-server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/privd.h"
#include "privd/privdrop.h"
#include "privd/safe-fs.h"
#include "privd/supervisor.h"

LOG_MODULE(control);

COUNTER_DEFINE(control_client_limit);
COUNTER_DEFINE(control_client_uid_limit);
COUNTER_DEFINE(control_client_reader_limit);
COUNTER_DEFINE(control_client_idle_closed);
COUNTER_DEFINE(control_accept_failed);
COUNTER_DEFINE(control_peercred_failed);
COUNTER_DEFINE(control_request_malformed);
COUNTER_DEFINE(control_request_invalid);
COUNTER_DEFINE(control_request_unavailable);
COUNTER_DEFINE(control_denied_read);
COUNTER_DEFINE(control_denied_write);
COUNTER_DEFINE(control_reply_too_big);
COUNTER_DEFINE(control_reply_send_failed);
COUNTER_DEFINE(control_parked);
COUNTER_DEFINE(control_parked_answered);
COUNTER_DEFINE(control_parked_cancelled);
COUNTER_DEFINE(control_parked_limit);
COUNTER_DEFINE(control_parked_reader_limit);

/* Group names of the two access levels. */
#define CONTROL_READ_GROUP "dpifd"
#define CONTROL_ADMIN_GROUP "dpifd-admin"

/* Bytes kept free in a paged reply for everything but the pages' items. */
#define CONTROL_REPLY_SLACK 4096
/* Supplementary groups of a peer read without an allocation; a peer with
 * more (up to the kernel's NGROUPS_MAX) costs one. */
#define CONTROL_MAX_GROUPS 256
/* The group database is looked up again when /etc/group changed, and at
 * least this often for sources that are not files (NSS). */
#define CONTROL_GROUP_RECHECK_MSEC 5000

struct control_conn;

/* One datapath whose revalidation cycle a parked request waits for. */
struct control_park_dp {
    struct control_conn *conn;  /* Connection of the request. */
    const struct dpif *dpif;    /* The datapath (borrowed); NULL once it
                                 * was deleted. */
    bool done;                  /* Its cycle completed. */
};

/* Most datapaths one parked request waits for. */
#define CONTROL_PARK_MAX_DPS IPC_MAX_DATAPATHS

/* A request whose reply waits for revalidation cycles (revalidator/wait,
 * revalidator/purge, upcall/enable-megaflows, upcall/disable-megaflows). */
struct control_park {
    bool active;                /* A reply is owed. */
    bool committed;             /* The handler returned: the last cycle
                                 * done sends the reply. */
    struct privd *privd;        /* privd (borrowed), for the pumps. */
    uint32_t seq;               /* Sequence number of the request. */
    Dpif__Reply__ResultCase result; /* Reply member owed. */
    const char *name;           /* Command name (static), for the log. */
    long long start_msec;       /* When it was parked. */
    uint64_t n_purged;          /* Flows the cycles deleted. */
    struct control_park_dp dps[CONTROL_PARK_MAX_DPS]; /* Waited for. */
    size_t n_dps;               /* Entries in 'dps'. */
};

/* One client connection; a free slot has ipc.fd == -1. */
struct control_conn {
    struct ipc_conn ipc;        /* The socket and its receive buffer. */
    struct control_peer peer;   /* Who is on the other end. */
    size_t budget;              /* Largest reply payload its send buffer
                                 * takes. */
    struct buf tx;              /* Reply frame not sent yet (EAGAIN), or
                                 * empty. */
    struct ctl_paging flow_dump;    /* dump-flows in progress (ctl-flow.c). */
    struct control_park park;   /* Parked request: while active, nothing
                                 * more is read from the connection. */
    bool hangup;                /* Close at the next control_server_run(). */
    long long last_msec;        /* time_msec() of the connect, the last
                                 * request read or the last reply sent:
                                 * idle CONTROL_IDLE_MSEC after it (not
                                 * while parked), the connection closes. */
    bool paging;                /* The last reply said "more" (dump-flows,
                                 * capture): the client may be blocked
                                 * writing a page to a slow reader, so
                                 * CONTROL_IDLE_PAGING_MSEC applies. */
};

struct control_server {
    struct privd *privd;        /* Served process (borrowed). */
    char *path;                 /* Socket file, owned. */
    int listen_fd;              /* Listening socket, owned. */
    gid_t read_gid;             /* "dpifd" group, or (gid_t) -1. */
    gid_t admin_gid;            /* "dpifd-admin" group, or (gid_t) -1. */
    long long groups_msec;      /* When they were looked up (time_msec()). */
    struct stat group_db;       /* /etc/group then (zeroes if absent). */
    struct control_conn conns[CONTROL_MAX_CLIENTS]; /* Connection slots. */
    struct ctl_backlog backlog; /* Captured frames held for readers. */
};

/* ----- field checks ------------------------------------------------------ */

int
ctl_check_name(struct control_ctx *ctx, const char *what, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (!len || len > IPC_MAX_NAME) {
        COUNTER_INC(control_request_invalid);
        return errbuf_set(&ctx->eb, EINVAL, "%s: expected 1 to %d bytes",
                          what, IPC_MAX_NAME);
    }
    return 0;
}

int
ctl_invalid(struct control_ctx *ctx, int error, const char *fmt, ...)
{
    va_list args;

    COUNTER_INC(control_request_invalid);
    va_start(args, fmt);
    vsnprintf(ctx->eb.msg, sizeof ctx->eb.msg, fmt, args);
    va_end(args);
    return error;
}

/* Finds datapath 'name' for a request. */
int
ctl_find_dp(struct control_ctx *ctx, const char *name, struct privd_dp **dpp)
{
    int error = ctl_check_name(ctx, "dp", name);
    if (error) {
        return error;
    }
    struct privd_dp *dp = privd_find_dp(ctx->privd, name);
    if (!dp) {
        return errbuf_set(&ctx->eb, ENOENT, "no datapath %s", name);
    }
    ctx->subject = ctx_strdup(ctx, name);     /* Outlives a del-dp. */
    *dpp = dp;
    return 0;
}

/* The revalidation cycle of datapath 'dpif' (its dump pump), or NULL when
 * it has none: dpifd runs without workers, or the datapath was opened
 * after the workers started. */
struct dump_pump *
ctl_pump_of(const struct privd *privd, const struct dpif *dpif)
{
    if (!privd->supervisor) {
        return NULL;
    }
    for (size_t i = 0; i < privd->n_dps; i++) {
        if (privd->dps[i]->dpif == dpif) {
            return supervisor_get_dump_pump(privd->supervisor,
                                            privd->dps[i]);
        }
    }
    return NULL;
}

/* ----- parked replies ------------------------------------------------------ */

static int control_conn_queue_reply(struct control_conn *, uint32_t seq,
                                    Dpif__Reply *);

/* EOPNOTSUPP, with the reason, when no revalidator runs at all. */
int
ctl_check_workers(struct control_ctx *ctx)
{
    if (!ctx->privd->supervisor) {
        COUNTER_INC(control_request_unavailable);
        return errbuf_set(&ctx->eb, EOPNOTSUPP, "dpifd runs without "
                          "workers: no revalidation (see the log)");
    }
    return 0;
}

/* Parked requests: revalidator/wait, revalidator/purge and the megaflow
 * switches answer once a revalidation cycle of every datapath completed.
 * The handler registers one waiter per datapath with its pump (aux: the
 * park entry of that datapath) and parks the request on its connection;
 * the connection reads nothing more until the reply is queued.  A closed
 * connection cancels the waiters; a deleted datapath fails the request. */

/* Fills 'rp' for the parked request of 'conn' (memory: 'purge'). */
static void
ctl_park_reply(const struct control_conn *conn, Dpif__Reply *rp,
               Dpif__RevalidatorPurgeReply *purge)
{
    static Dpif__RevalidatorWaitReply wait = DPIF__REVALIDATOR_WAIT_REPLY__INIT;
    static Dpif__EnableMegaflowsReply on = DPIF__ENABLE_MEGAFLOWS_REPLY__INIT;
    static Dpif__DisableMegaflowsReply off
        = DPIF__DISABLE_MEGAFLOWS_REPLY__INIT;

    rp->result_case = conn->park.result;
    switch (conn->park.result) {
    case DPIF__REPLY__RESULT_REVALIDATOR_PURGE:
        dpif__revalidator_purge_reply__init(purge);
        purge->has_n_purged = true;
        purge->n_purged = conn->park.n_purged;
        rp->revalidator_purge = purge;
        break;
    case DPIF__REPLY__RESULT_ENABLE_MEGAFLOWS:
        rp->enable_megaflows = &on;
        break;
    case DPIF__REPLY__RESULT_DISABLE_MEGAFLOWS:
        rp->disable_megaflows = &off;
        break;
    default:
        rp->result_case = DPIF__REPLY__RESULT_REVALIDATOR_WAIT;
        rp->revalidator_wait = &wait;
        break;
    }
}

/* Withdraws the waiters of 'conn''s parked request that are still
 * registered and forgets the request. */
static void
ctl_park_release(struct control_conn *conn)
{
    struct control_park *park = &conn->park;

    for (size_t i = 0; i < park->n_dps; i++) {
        struct control_park_dp *e = &park->dps[i];
        struct dump_pump *pump = e->done || !e->dpif ? NULL
                                 : ctl_pump_of(park->privd, e->dpif);
        if (pump) {
            dump_pump_cancel(pump, e);
        }
    }
    park->active = false;
    park->committed = false;
    park->n_dps = 0;
    park->n_purged = 0;
}

/* Queues the reply of 'conn''s parked request: the result, or 'error' with
 * 'reason'.  control_server_run() sends it. */
static void
ctl_park_answer(struct control_conn *conn, int error, const char *reason)
{
    Dpif__Reply rp = DPIF__REPLY__INIT;
    Dpif__RevalidatorPurgeReply purge;

    if (error) {
        rp.error = (uint32_t) error;
        rp.reason = (char *) reason;
    } else {
        ctl_park_reply(conn, &rp, &purge);
    }
    uint32_t seq = conn->park.seq;
    conn->last_msec = time_msec();  /* Idle from now until it is read. */
    LOG_DBG("uid %u pid %d: %s: %s after %lld ms", (unsigned) conn->peer.uid,
            (int) conn->peer.pid, conn->park.name,
            error ? reason : "answered",
            time_msec() - conn->park.start_msec);
    ctl_park_release(conn);
    if (control_conn_queue_reply(conn, seq, &rp)) {
        /* Unpackable: the client would wait forever; hang up instead. */
        COUNTER_INC(control_reply_send_failed);
        conn->hangup = true;
    }
}

static bool
ctl_park_all_done(const struct control_park *park)
{
    for (size_t i = 0; i < park->n_dps; i++) {
        if (!park->dps[i].done) {
            return false;
        }
    }
    return true;
}

/* dump_pump_done_func: the cycle one datapath of a parked request waited
 * for is complete. */
static void
ctl_park_done(const struct dump_pump_cycle *cycle, void *e_)
{
    struct control_park_dp *e = e_;
    struct control_conn *conn = e->conn;

    e->done = true;
    conn->park.n_purged += cycle->n_deleted;
    if (conn->park.committed && ctl_park_all_done(&conn->park)) {
        COUNTER_INC(control_parked_answered);
        ctl_park_answer(conn, 0, NULL);
    }
}

/* Starts parking the request being served: one entry per datapath with a
 * pump.  EBUSY when CONTROL_MAX_PARKED requests wait already. */
static int
ctl_park_begin(struct control_ctx *ctx, Dpif__Reply__ResultCase result,
               const char *name)
{
    struct control_server *cs = ctx->cs;
    struct control_park *park = &ctx->conn->park;
    size_t n_parked = 0, n_readers = 0;

    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        const struct control_conn *c = &cs->conns[i];
        if (c->ipc.fd >= 0 && c->park.active) {
            n_parked++;
            n_readers += !c->peer.may_write;
        }
    }
    if (n_parked >= CONTROL_MAX_PARKED) {
        COUNTER_INC(control_parked_limit);
        return errbuf_set(&ctx->eb, EBUSY, "%s: %d requests wait for "
                          "revalidation already; try again later", name,
                          CONTROL_MAX_PARKED);
    }
    /* Callers without write rights never take the places of the writers'
     * revalidator/purge and megaflows switches. */
    if (!ctx->peer->may_write && n_readers >= CONTROL_MAX_PARKED_READERS) {
        COUNTER_INC(control_parked_reader_limit);
        return errbuf_set(&ctx->eb, EBUSY, "%s: %d requests of callers "
                          "without write rights wait for revalidation "
                          "already; try again later", name,
                          CONTROL_MAX_PARKED_READERS);
    }
    park->active = true;
    park->committed = false;
    park->privd = ctx->privd;
    park->seq = ctx->seq;
    park->result = result;
    park->name = name;
    park->start_msec = time_msec();
    park->n_purged = 0;
    park->n_dps = 0;
    for (size_t i = 0; i < ctx->privd->n_dps && i < CONTROL_PARK_MAX_DPS;
         i++) {
        const struct dpif *dpif = ctx->privd->dps[i]->dpif;
        if (ctl_pump_of(ctx->privd, dpif)) {
            park->dps[park->n_dps++] = (struct control_park_dp) {
                .conn = ctx->conn, .dpif = dpif, .done = false,
            };
        }
    }
    return 0;
}

/* Ends the handler of a parked request: answers at once if every cycle is
 * done already (filling 'rp' with memory from 'ctx'), else leaves the
 * request parked for ctl_park_done(). */
static int
ctl_park_commit(struct control_ctx *ctx, Dpif__Reply *rp)
{
    struct control_conn *conn = ctx->conn;

    if (ctl_park_all_done(&conn->park)) {
        Dpif__RevalidatorPurgeReply *purge;
        CTX_NEW(ctx, purge, dpif__revalidator_purge_reply__init);
        ctl_park_reply(conn, rp, purge);
        ctl_park_release(conn);
        return 0;
    }
    conn->park.committed = true;
    ctx->parked = true;
    COUNTER_INC(control_parked);
    return 0;
}

/* The request being served waits for a cycle of every datapath's pump,
 * each started with start(pump, arg, ...); see ctl-command.h. */
int
ctl_park_cycles(struct control_ctx *ctx, Dpif__Reply *rp,
                Dpif__Reply__ResultCase result, const char *name,
                ctl_pump_start_func *start, bool arg)
{
    int error = ctl_check_workers(ctx);
    if (!error) {
        error = ctl_park_begin(ctx, result, name);
    }
    if (error) {
        return error;
    }
    struct control_park *park = &ctx->conn->park;
    for (size_t i = 0; i < park->n_dps; i++) {
        start(ctl_pump_of(ctx->privd, park->dps[i].dpif), arg, ctl_park_done,
              &park->dps[i]);
    }
    return ctl_park_commit(ctx, rp);
}

/* ----- the command table ---------------------------------------------------- */

/* Every group's table: control_command_find() looks in their union. */
static const struct ctl_command_group *const control_groups[] = {
    &ctl_dp_group, &ctl_flow_group, &ctl_policy_group, &ctl_upcall_group,
    &ctl_status_group, &ctl_dummy_group,
};

const struct control_command *
control_command_find(Dpif__Request__CommandCase request)
{
    for (size_t g = 0; g < ARRAY_SIZE(control_groups); g++) {
        const struct ctl_command_group *group = control_groups[g];
        for (size_t i = 0; i < group->n_commands; i++) {
            if (group->commands[i].request == request) {
                return &group->commands[i];
            }
        }
    }
    return NULL;
}

/* True if the command changes something for this request. */
static bool
control_request_writes(const struct control_command *cmd,
                       const Dpif__Request *rq)
{
    return (cmd->access == CONTROL_WRITE
            || (cmd->access == CONTROL_WRITE_IF_CLEAR
                && rq->capture->has_clear && rq->capture->clear));
}

/* Runs one request and fills 'rp' (whose memory belongs to 'ctx'). */
static void
control_execute(struct control_ctx *ctx, const Dpif__Request *rq,
                Dpif__Reply *rp)
{
    static struct log_rl deny_rl = LOG_RL_INIT(5, 20);
    static struct log_rl bad_rl = LOG_RL_INIT(5, 20);
    const struct control_peer *peer = ctx->peer;
    const struct control_command *cmd = control_command_find(rq->command_case);
    int error;

    if (!cmd) {
        COUNTER_INC(control_request_invalid);
        LOG_WARN_RL(&bad_rl, "uid %u pid %d: request without a known "
                    "command (%d)", (unsigned) peer->uid, (int) peer->pid,
                    (int) rq->command_case);
        error = errbuf_set(&ctx->eb, EINVAL, "no command in the request");
    } else if (!(control_request_writes(cmd, rq) ? peer->may_write
                 : peer->may_read)) {
        bool write = control_request_writes(cmd, rq);
        if (write) {
            COUNTER_INC(control_denied_write);
        } else {
            COUNTER_INC(control_denied_read);
        }
        LOG_WARN_RL(&deny_rl, "uid %u pid %d: %s denied", (unsigned) peer->uid,
                    (int) peer->pid, cmd->name);
        error = errbuf_set(&ctx->eb, EACCES, "%s: permission denied: %s "
                           "needs uid 0 or membership of group %s", cmd->name,
                           write ? "a change" : "reading",
                           write ? CONTROL_ADMIN_GROUP : CONTROL_READ_GROUP);
    } else {
        error = cmd->handler(ctx, rq, rp);
        if (control_request_writes(cmd, rq)) {
            if (error) {
                LOG_INFO("uid %u pid %d: %s%s%s: failed: %s",
                         (unsigned) peer->uid, (int) peer->pid, cmd->name,
                         ctx->subject ? " " : "",
                         ctx->subject ? ctx->subject : "", ctx->eb.msg);
            } else {
                LOG_INFO("uid %u pid %d: %s%s%s: done", (unsigned) peer->uid,
                         (int) peer->pid, cmd->name, ctx->subject ? " " : "",
                         ctx->subject ? ctx->subject : "");
            }
        }
    }
    if (error) {
        rp->result_case = DPIF__REPLY__RESULT__NOT_SET;
        rp->error = (uint32_t) error;
        rp->reason = ctx->eb.msg;
    }
}

/* ----- connections ---------------------------------------------------------- */

static void
control_conn_close(struct control_conn *conn)
{
    if (conn->park.active) {
        COUNTER_INC(control_parked_cancelled);
        ctl_park_release(conn);
    }
    conn->hangup = false;
    ipc_conn_close(&conn->ipc);
    conn->ipc.fd = -1;
    buf_uninit(&conn->tx);
    ctl_paging_end(&conn->flow_dump);
}

/* Sends the pending frame.  Returns 0 when it is gone, EAGAIN when the
 * socket is full, another errno when the connection must close. */
static int
control_conn_flush(struct control_conn *conn)
{
    struct errbuf eb;

    if (!conn->tx.size) {
        return 0;
    }
    int error = ipc_send_frame(conn->ipc.fd, conn->tx.data, conn->tx.size,
                               NULL, 0, &eb);
    if (!error) {
        buf_clear(&conn->tx);
        conn->last_msec = time_msec();
    } else if (error != EAGAIN) {
        COUNTER_INC(control_reply_send_failed);
        LOG_DBG("uid %u pid %d: sending reply: %s",
                (unsigned) conn->peer.uid, (int) conn->peer.pid, eb.msg);
    }
    return error;
}

/* Packs 'rp' as the reply to 'seq' into the connection's pending frame. */
static int
control_conn_queue_reply(struct control_conn *conn, uint32_t seq,
                         Dpif__Reply *rp)
{
    struct errbuf eb;

    size_t size = protobuf_c_message_get_packed_size(&rp->base);
    if (size > conn->budget) {
        COUNTER_INC(control_reply_too_big);
        rp->result_case = DPIF__REPLY__RESULT__NOT_SET;
        rp->error = E2BIG;
        rp->reason = "the reply is larger than the control socket's send "
                     "buffer";
    }
    buf_clear(&conn->tx);
    int error = ipc_frame_pack(IPC_CONTROL_REPLY, seq, &rp->base, &conn->tx,
                               &eb);
    if (error) {
        LOG_WARN("packing a control reply: %s", eb.msg);
    }
    return error;
}

/* Serves one request of 'conn' if one is waiting.  Returns EAGAIN when
 * there is none (or the last reply is still pending), 0 when one was
 * served, another errno when the connection must close. */
static int
control_conn_serve(struct control_server *cs, struct control_conn *conn)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    struct errbuf eb;
    struct ipc_msg m;

    int error = control_conn_flush(conn);
    if (error) {
        return error;
    }
    if (conn->park.active) {
        return EAGAIN;          /* One request at a time per connection. */
    }
    error = ipc_recv(&conn->ipc, &m, &eb);
    if (error) {
        if (error == EPROTO) {
            COUNTER_INC(control_request_malformed);
            LOG_WARN_RL(&rl, "uid %u pid %d: malformed request, "
                        "disconnecting: %s", (unsigned) conn->peer.uid,
                        (int) conn->peer.pid, eb.msg);
        }
        return error;
    }
    conn->last_msec = time_msec();

    struct control_ctx ctx = {
        .cs = cs,
        .privd = cs->privd,
        .backlog = &cs->backlog,
        .paging = &conn->flow_dump,
        .conn = conn,
        .peer = &conn->peer,
        .seq = m.hdr.seq,
        .budget = conn->budget > CONTROL_REPLY_SLACK
                  ? conn->budget - CONTROL_REPLY_SLACK : 0,
    };
    Dpif__Reply rp = DPIF__REPLY__INIT;
    control_execute(&ctx, (const Dpif__Request *) m.msg, &rp);
    conn->paging = (rp.result_case == DPIF__REPLY__RESULT_DUMP_FLOWS
                    && rp.dump_flows->more)
                   || (rp.result_case == DPIF__REPLY__RESULT_CAPTURE
                       && rp.capture->more);
    error = ctx.parked ? 0 : control_conn_queue_reply(conn, m.hdr.seq, &rp);
    ctx_free(&ctx);
    ipc_msg_destroy(&m);
    if (!error) {
        error = control_conn_flush(conn);
        if (error == EAGAIN) {
            error = 0;          /* Sent when the socket drains. */
        }
    }
    return error;
}

/* The gid of group 'name', or (gid_t) -1 if there is none. */
static gid_t
control_group_lookup(const char *name)
{
    struct group *gr = getgrnam(name);
    return gr ? gr->gr_gid : (gid_t) -1;
}

void
control_peer_authorize(struct control_peer *peer, const gid_t *groups,
                       size_t n_groups, uid_t self_uid, gid_t read_gid,
                       gid_t admin_gid)
{
    bool in_read = false, in_admin = false;

    for (size_t i = 0; i <= n_groups; i++) {
        gid_t g = i < n_groups ? groups[i] : peer->gid;
        in_read |= read_gid != (gid_t) -1 && g == read_gid;
        in_admin |= admin_gid != (gid_t) -1 && g == admin_gid;
    }
    peer->trusted = peer->uid == 0 || peer->uid == self_uid;
    peer->may_write = peer->trusted || in_admin;
    peer->may_read = peer->may_write || in_read;
}

/* Looks the two groups up again when the group database may have changed
 * since the last time: an operator's groupadd or usermod takes effect for
 * the next connection, without a restart.  One stat() per connection
 * otherwise. */
static void
control_groups_refresh(struct control_server *cs)
{
    struct stat st;
    long long now = time_msec();

    if (stat("/etc/group", &st)) {
        memset(&st, 0, sizeof st);
    }
    if (cs->groups_msec && now - cs->groups_msec < CONTROL_GROUP_RECHECK_MSEC
        && st.st_dev == cs->group_db.st_dev
        && st.st_ino == cs->group_db.st_ino
        && st.st_size == cs->group_db.st_size
        && st.st_mtim.tv_sec == cs->group_db.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == cs->group_db.st_mtim.tv_nsec) {
        return;
    }
    gid_t read_gid = control_group_lookup(CONTROL_READ_GROUP);
    gid_t admin_gid = control_group_lookup(CONTROL_ADMIN_GROUP);
    if (cs->groups_msec && (read_gid != cs->read_gid
                            || admin_gid != cs->admin_gid)) {
        LOG_INFO("groups changed: %s is %ld, %s is %ld (-1: absent)",
                 CONTROL_READ_GROUP, read_gid == (gid_t) -1 ? -1L
                 : (long) read_gid, CONTROL_ADMIN_GROUP,
                 admin_gid == (gid_t) -1 ? -1L : (long) admin_gid);
    }
    cs->read_gid = read_gid;
    cs->admin_gid = admin_gid;
    cs->group_db = st;
    cs->groups_msec = now;
}

/* Fills in who is on the other end of 'fd': uid, gid and pid from
 * SO_PEERCRED, the supplementary groups from SO_PEERGROUPS.  Both are the
 * credentials the kernel recorded at connect(), so nothing can change
 * between the connect and this look (no /proc, no pid reuse). */
static int
control_peer_identify(const struct control_server *cs, int fd,
                      struct control_peer *peer)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    gid_t small[CONTROL_MAX_GROUPS];
    gid_t *groups = small;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)
        || len != sizeof cred) {
        return errno ? errno : EPROTO;
    }
    len = sizeof small;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len)) {
        if (errno != ERANGE || len > 65536 * sizeof *groups) {
            return errno;
        }
        groups = xmalloc(len);  /* 'len' is what the kernel needs. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
            int error = errno;
            free(groups);
            return error;
        }
    }
    memset(peer, 0, sizeof *peer);
    peer->uid = cred.uid;
    peer->gid = cred.gid;
    peer->pid = cred.pid;
    control_peer_authorize(peer, groups, len / sizeof *groups, getuid(),
                           cs->read_gid, cs->admin_gid);
    if (groups != small) {
        free(groups);
    }
    return 0;
}

/* Whether 'peer' may have one more connection.  Every uid but 0 and
 * privd's own has at most CONTROL_MAX_PER_UID; callers without write
 * rights share CONTROL_MAX_CLIENTS - CONTROL_WRITER_SLOTS slots, so that
 * readers can never lock root or an administrator out.  Returns NULL or
 * why not. */
static const char *
control_admit(const struct control_server *cs,
              const struct control_peer *peer)
{
    size_t n = 0, n_uid = 0, n_readers = 0;

    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        const struct control_conn *conn = &cs->conns[i];
        if (conn->ipc.fd >= 0) {
            n++;
            n_uid += conn->peer.uid == peer->uid;
            n_readers += !conn->peer.may_write;
        }
    }
    if (n >= CONTROL_MAX_CLIENTS) {
        COUNTER_INC(control_client_limit);
        return "every connection slot is taken";
    }
    if (!peer->trusted && n_uid >= CONTROL_MAX_PER_UID) {
        COUNTER_INC(control_client_uid_limit);
        return "its uid has the most connections one uid may have";
    }
    if (!peer->may_write
        && n_readers >= CONTROL_MAX_CLIENTS - CONTROL_WRITER_SLOTS) {
        COUNTER_INC(control_client_reader_limit);
        return "the slots for callers without write rights are taken";
    }
    return NULL;
}

static void
control_server_accept(struct control_server *cs)
{
    static struct log_rl rl = LOG_RL_INIT(1, 5);

    for (;;) {
        int fd = accept4(cs->listen_fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                COUNTER_INC(control_accept_failed);
                LOG_WARN_RL(&rl, "accept on %s: %s", cs->path,
                            strerror(errno));
            }
            return;
        }

        struct control_peer peer = { .uid = 0 };
        control_groups_refresh(cs);
        int error = control_peer_identify(cs, fd, &peer);
        if (error) {
            COUNTER_INC(control_peercred_failed);
            LOG_WARN_RL(&rl, "cannot identify a control client: %s",
                        strerror(error));
            close(fd);
            continue;
        }
        const char *why = control_admit(cs, &peer);
        if (why) {
            LOG_WARN_RL(&rl, "uid %u pid %d: refusing a control connection: "
                        "%s", (unsigned) peer.uid, (int) peer.pid, why);
            close(fd);
            continue;
        }
        struct control_conn *conn = NULL;
        for (size_t i = 0; !conn; i++) {   /* control_admit() saw one. */
            if (cs->conns[i].ipc.fd < 0) {
                conn = &cs->conns[i];
            }
        }

        struct errbuf eb;
        int sndbuf = 0;
        socklen_t len = sizeof sndbuf;
        if (ipc_socket_set_buffers(fd, &eb)) {
            LOG_DBG("control client uid %u: %s", (unsigned) peer.uid, eb.msg);
        }
        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len)) {
            sndbuf = 0;
        }
        /* The kernel refuses datagrams larger than sk_sndbuf - 32. */
        size_t room = (size_t) sndbuf > 32 + IPC_HEADER_LEN
                      ? (size_t) sndbuf - 32 - IPC_HEADER_LEN : 0;

        ipc_conn_init(&conn->ipc, fd, IPC_ACCEPT_FROM_CLIENT);
        conn->peer = peer;
        conn->budget = MIN(room, (size_t) IPC_MAX_MSG);
        buf_init(&conn->tx, 0);
        conn->flow_dump.dump = NULL;
        conn->park.active = false;
        conn->hangup = false;
        conn->last_msec = time_msec();
        conn->paging = false;
        LOG_DBG("control client uid %u gid %u pid %d connected (read %s, "
                "write %s)", (unsigned) peer.uid, (unsigned) peer.gid,
                (int) peer.pid, peer.may_read ? "yes" : "no",
                peer.may_write ? "yes" : "no");
    }
}

/* True if 'conn' has been idle for CONTROL_IDLE_MSEC: no request read and
 * no reply sent (a client that does not read its reply is idle too).  A
 * parked request is privd's wait, not the client's. */
static long long
control_conn_idle_deadline(const struct control_conn *conn)
{
    return conn->last_msec + (conn->paging ? CONTROL_IDLE_PAGING_MSEC
                              : CONTROL_IDLE_MSEC);
}

static bool
control_conn_idle(const struct control_conn *conn, long long now)
{
    return !conn->park.active && now >= control_conn_idle_deadline(conn);
}

/* True if 'conn' must close: its reply could not be made, or, while a
 * request is parked (nothing read), the client hung up. */
static bool
control_conn_gone(const struct control_conn *conn)
{
    if (conn->hangup) {
        return true;
    }
    if (!conn->park.active) {
        return false;
    }
    struct pollfd pfd = { .fd = conn->ipc.fd, .events = 0 };
    return poll(&pfd, 1, 0) > 0 && pfd.revents & (POLLHUP | POLLERR);
}

void
control_server_run(struct control_server *cs)
{
    control_server_accept(cs);
    long long now = time_msec();
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        struct control_conn *conn = &cs->conns[i];
        if (conn->ipc.fd >= 0 && control_conn_gone(conn)) {
            control_conn_close(conn);
        }
        if (conn->ipc.fd >= 0 && control_conn_idle(conn, now)) {
            /* Served (and the time refreshed) if a request is waiting. */
            int error = control_conn_serve(cs, conn);
            if (error == EAGAIN && control_conn_idle(conn, time_msec())) {
                static struct log_rl rl = LOG_RL_INIT(1, 5);
                COUNTER_INC(control_client_idle_closed);
                LOG_INFO_RL(&rl, "uid %u pid %d: closing a control "
                            "connection idle for %lld ms",
                            (unsigned) conn->peer.uid, (int) conn->peer.pid,
                            time_msec() - conn->last_msec);
                control_conn_close(conn);
            } else if (error && error != EAGAIN) {
                control_conn_close(conn);
            }
        }
        /* A few requests per connection and round: fair to the others. */
        for (int j = 0; conn->ipc.fd >= 0 && j < 8; j++) {
            int error = control_conn_serve(cs, conn);
            if (error == EAGAIN) {
                break;
            } else if (error) {
                control_conn_close(conn);
            }
        }
    }
}

void
control_server_wait(struct control_server *cs, struct poller *p)
{
    poller_fd_wait(p, cs->listen_fd, POLLIN);
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        const struct control_conn *conn = &cs->conns[i];
        if (conn->hangup) {
            poller_immediate_wake(p);
        } else if (conn->ipc.fd >= 0) {
            /* Parked: only a hangup (always reported) is of interest. */
            poller_fd_wait(p, conn->ipc.fd,
                           conn->tx.size ? POLLOUT
                           : conn->park.active ? 0 : POLLIN);
            if (!conn->park.active) {
                poller_timer_wait(p, control_conn_idle_deadline(conn));
            }
        }
    }
}

size_t
control_server_n_clients(const struct control_server *cs)
{
    size_t n = 0;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        n += cs->conns[i].ipc.fd >= 0;
    }
    return n;
}

/* A request parked on 'conn' that still waits for a cycle of 'dpif'
 * fails: the datapath is being deleted. */
static void
control_park_forget_dp(struct control_conn *conn, const struct dpif *dpif)
{
    struct control_park *park = &conn->park;

    if (conn->ipc.fd < 0 || !park->active) {
        return;
    }
    for (size_t i = 0; i < park->n_dps; i++) {
        struct control_park_dp *e = &park->dps[i];
        if (e->dpif == dpif && !e->done) {
            char reason[256];
            snprintf(reason, sizeof reason, "%s: datapath %s was deleted "
                     "before its revalidation cycle completed", park->name,
                     dpif_name(dpif));
            /* Its pump goes with it: do not touch it. */
            e->dpif = NULL;
            COUNTER_INC(control_parked_cancelled);
            ctl_park_answer(conn, ENODEV, reason);
            return;
        }
    }
}

void
control_server_forget_dp(struct control_server *cs, const struct dpif *dpif)
{
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        struct control_conn *conn = &cs->conns[i];
        ctl_paging_forget_dp(&conn->flow_dump, dpif);
        control_park_forget_dp(conn, dpif);
    }
    ctl_backlog_forget_dp(&cs->backlog, dpif);
}

/* True if something accepts connections on 'name' in the current
 * directory. */
static bool
control_socket_is_live(const char *name)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    memcpy(sun.sun_path, name, MIN(strlen(name), sizeof sun.sun_path - 1));
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    bool live = !connect(fd, (const struct sockaddr *) &sun, sizeof sun);
    close(fd);
    return live;
}

/* In the directory that is the current one: removes a stale socket 'name'
 * and binds 'fd' to it, listening, with mode 0660 from the umask (never
 * more, not even for a moment). */
static int
control_socket_bind(int fd, const char *path, const char *name,
                    struct errbuf *eb)
{
    struct stat st;

    if (!fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW)) {
        if (!S_ISSOCK(st.st_mode)) {
            return errbuf_set(eb, EEXIST, "%s exists and is not a socket",
                              path);
        }
        if (control_socket_is_live(name)) {
            return errbuf_set(eb, EADDRINUSE, "%s: another dpifd is "
                              "listening there", path);
        }
        unlinkat(AT_FDCWD, name, 0);
    }
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    memcpy(sun.sun_path, name, MIN(strlen(name), sizeof sun.sun_path - 1));
    mode_t old_umask = umask(0117);
    int error = bind(fd, (const struct sockaddr *) &sun, sizeof sun)
                ? errno : 0;
    umask(old_umask);
    if (error) {
        return errbuf_set(eb, error, "bind %s: %s", path, strerror(error));
    }
    if (listen(fd, 16)) {
        error = errno;
        unlinkat(AT_FDCWD, name, 0);
        return errbuf_set(eb, error, "listen %s: %s", path, strerror(error));
    }
    return 0;
}

int
control_server_create(struct privd *privd, struct control_server **csp,
                      struct errbuf *eb)
{
    const char *path = privd->cfg.control_socket;
    char name[NAME_MAX + 1];
    struct stat st;
    int dirfd, fd = -1, cwd = -1;

    if (strlen(path) >= sizeof ((struct sockaddr_un *) 0)->sun_path) {
        return errbuf_set(eb, ENAMETOOLONG, "control socket path %s is too "
                          "long", path);
    }
    /* The socket's directory, checked once and then used through its fd:
     * root's, or privd's own user's, and nobody else may write it. */
    int error = safe_fs_open_parent(path, &dirfd, name, eb);
    if (error) {
        return error;
    }
    error = safe_fs_check_dir(dirfd, path, privdrop_target_uid(privd->cfg.user), eb);
    if (!error && fstat(dirfd, &st)) {
        error = errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
    }
    if (error) {
        close(dirfd);
        return errbuf_set(eb, error, "control socket: %s", eb->msg);
    }

    struct control_server *cs = xzalloc(sizeof *cs);
    cs->privd = privd;
    cs->path = xstrdup(path);
    cs->listen_fd = -1;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        cs->conns[i].ipc.fd = -1;
    }
    control_groups_refresh(cs);

    /* Root acts in a directory of privd's user as that user (fsuid), and
     * creates the socket with group dpifd (fsgid) and mode 0660 (umask):
     * no chown or chmod by path after bind(), no CAP_CHOWN. */
    struct safe_fs_id saved;
    error = safe_fs_become(st.st_uid ? st.st_uid : (uid_t) -1,
                           cs->read_gid, &saved, eb);
    if (error) {
        goto fail;
    }
    cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cwd < 0 || fd < 0) {
        error = errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
    } else if (fchdir(dirfd)) {
        error = errbuf_set(eb, errno, "chdir to %s's directory: %s", path,
                           strerror(errno));
    } else {
        error = control_socket_bind(fd, path, name, eb);
        if (fchdir(cwd) && !error) {
            error = errbuf_set(eb, errno, "chdir back: %s", strerror(errno));
        }
    }
    safe_fs_restore(&saved);
    if (cwd >= 0) {
        close(cwd);
    }
    if (error) {
        goto fail;
    }
    close(dirfd);
    cs->listen_fd = fd;
    if (cs->read_gid == (gid_t) -1) {
        LOG_INFO("group %s does not exist: only uid 0 and privd's own uid "
                 "may use %s", CONTROL_READ_GROUP, path);
    }
    LOG_INFO("listening on %s", path);
    *csp = cs;
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    close(dirfd);
    free(cs->path);
    free(cs);
    return error;
}

void
control_server_destroy(struct control_server *cs)
{
    if (!cs) {
        return;
    }
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (cs->conns[i].ipc.fd >= 0) {
            control_conn_close(&cs->conns[i]);
        }
    }
    ctl_backlog_destroy(&cs->backlog);
    close(cs->listen_fd);
    free(cs->path);
    free(cs);
}
