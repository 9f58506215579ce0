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
#include "common/ds.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/policy.h"
#include "common/nl.h"
#include "common/flow.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "common/worker.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/flow-limit.h"
#include "privd/metrics.h"
#include "privd/policy-feed.h"
#include "privd/privd.h"
#include "privd/privdrop.h"
#include "privd/safe-fs.h"
#include "privd/spawner.h"
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
COUNTER_DEFINE(control_bad_key);
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

/* A flow dump in progress for one connection (dump-flows pages). */
struct control_dump {
    const struct dpif *dpif;    /* Datapath dumped (borrowed; see
                                 * control_server_forget_dp()). */
    struct dpif_flow_dump *dump;        /* Owned. */
    struct dpif_flow_dump_thread *thread;   /* Owned. */
    uint64_t cursor;            /* Token the next page must present. */
    struct buf filter_key;      /* Filter key, empty for none. */
    struct buf filter_mask;     /* Filter mask, empty for exact. */
    bool held;                  /* 'held_flow' is the next flow to send. */
    struct dpif_flow held_flow; /* A flow that did not fit in the last
                                 * page; key, mask and actions point into
                                 * 'held_data'. */
    struct buf held_data;       /* Storage of the held flow's streams. */
};

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
    struct control_dump *dump;  /* dump-flows in progress, or NULL. */
    uint64_t next_cursor;       /* Source of dump cursors. */
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
ctl_invalid(struct control_ctx *ctx, const char *fmt, ...)
{
    va_list args;

    COUNTER_INC(control_request_invalid);
    va_start(args, fmt);
    vsnprintf(ctx->eb.msg, sizeof ctx->eb.msg, fmt, args);
    va_end(args);
    return EINVAL;
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

/* Checks the size and netlink structure of a key, mask or filter from a
 * client and returns an aligned copy in '*copyp'.  Flow keys and masks get
 * the key codec's checks on top (ctl_check_flow_key()); dump filters are
 * partial keys and get only these. */
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

static int
ctl_check_key(struct control_ctx *ctx, const char *what,
              const ProtobufCBinaryData *data, bool required, void **copyp)
{
    struct errbuf eb;

    if (data->len > IPC_MAX_KEY || (required && !data->len)) {
        COUNTER_INC(control_request_invalid);
        return errbuf_set(&ctx->eb, EINVAL, "%s: expected %d to %d bytes, "
                          "got %zu", what, required ? 4 : 0, IPC_MAX_KEY,
                          data->len);
    }
    void *copy = ctx_memdup(ctx, data->data, data->len);
    if (nl_check_stream(copy, data->len, &eb)) {
        COUNTER_INC(control_request_invalid);
        return errbuf_set(&ctx->eb, EINVAL, "%s: %s", what, eb.msg);
    }
    *copyp = copy;
    return 0;
}

/* Checks a flow key (and its mask, unless 'mask' is NULL) with the key
 * codec: malformed keys and masks (ODP_FIT_ERROR) are refused.  Keys that
 * hold more or less than a struct flow represents are the datapath's to
 * accept or refuse. */
static int
ctl_check_flow_key(struct control_ctx *ctx, const void *key, size_t key_len,
                   const void *mask, size_t mask_len)
{
    struct flow flow, flow_mask;
    struct errbuf eb;

    if (odp_key_to_flow(key, key_len, &flow, &eb) == ODP_FIT_ERROR) {
        COUNTER_INC(control_bad_key);
        return errbuf_set(&ctx->eb, EINVAL, "key: %s", eb.msg);
    }
    if (mask && odp_mask_to_flow(mask, mask_len, &flow, &flow_mask, &eb)
                == ODP_FIT_ERROR) {
        COUNTER_INC(control_bad_key);
        return errbuf_set(&ctx->eb, EINVAL, "mask: %s", eb.msg);
    }
    return 0;
}

static int
ctl_check_ufid(struct control_ctx *ctx, const ProtobufCBinaryData *data,
               union ufid *ufid)
{
    if (data->len != IPC_UFID_LEN) {
        COUNTER_INC(control_request_invalid);
        return errbuf_set(&ctx->eb, EINVAL, "ufid: expected %d bytes, got "
                          "%zu", IPC_UFID_LEN, data->len);
    }
    memcpy(ufid, data->data, sizeof *ufid);
    return 0;
}

/* odp_actions_validate() callbacks: the datapath's own ports and upcall
 * channels. */
bool
ctl_port_ok(uint32_t port, void *dp_)
{
    const struct privd_dp *dp = dp_;
    struct dpif_port p;

    if (dpif_port_query_by_number(dp->dpif, port, &p)) {
        return false;
    }
    dpif_port_destroy(&p);
    return true;
}

struct ctl_pid_search {
    const struct dpif *dpif;    /* Datapath searched. */
    uint32_t pid;               /* Channel looked for. */
    bool found;                 /* Result. */
};

static void
ctl_pid_search_cb(const struct dpif_port *port, void *aux)
{
    struct ctl_pid_search *s = aux;
    if (dpif_port_get_pid(s->dpif, port->port_no) == s->pid) {
        s->found = true;
    }
}

static bool
ctl_pid_ok(uint32_t pid, void *dp_)
{
    const struct privd_dp *dp = dp_;
    struct ctl_pid_search s = { dp->dpif, pid, false };

    if (dpif_port_get_pid(dp->dpif, DPIF_SPECIAL_PORT_PID) == pid) {
        return true;
    }
    dpif_port_dump(dp->dpif, ctl_pid_search_cb, &s);
    return s.found;
}

static int
ctl_check_actions(struct control_ctx *ctx, struct privd_dp *dp,
                  const ProtobufCBinaryData *data, void **copyp)
{
    struct odp_actions_policy policy = {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .max_len = IPC_MAX_ACTIONS,
        .port_ok = ctl_port_ok,
        .pid_ok = ctl_pid_ok,
        .aux = dp,
    };
    struct errbuf eb;

    if (data->len > IPC_MAX_ACTIONS) {
        COUNTER_INC(control_request_invalid);
        return errbuf_set(&ctx->eb, EINVAL, "actions: more than %d bytes",
                          IPC_MAX_ACTIONS);
    }
    void *copy = ctx_memdup(ctx, data->data, data->len);
    int error = odp_actions_validate(copy, data->len, &policy, &eb);
    if (error) {
        COUNTER_INC(control_request_invalid);
        return errbuf_set(&ctx->eb, error, "actions: %s", eb.msg);
    }
    *copyp = copy;
    return 0;
}

/* ----- conversions -------------------------------------------------------- */

static Dpif__FlowStats *
ctl_flow_stats(struct control_ctx *ctx, const struct dpif_flow_stats *s)
{
    Dpif__FlowStats *fs;
    CTX_NEW(ctx, fs, dpif__flow_stats__init);
    fs->has_packets = fs->has_bytes = fs->has_tcp_flags = true;
    fs->packets = s->n_packets;
    fs->bytes = s->n_bytes;
    fs->tcp_flags = s->tcp_flags;
    if (s->used) {
        fs->has_used_msec = true;
        fs->used_msec = s->used;
    }
    return fs;
}

static Dpif__Flow *
ctl_flow(struct control_ctx *ctx, const struct dpif_flow *f)
{
    Dpif__Flow *flow;
    CTX_NEW(ctx, flow, dpif__flow__init);
    flow->has_ufid = flow->has_key = flow->has_actions = true;
    flow->ufid = ctx_bytes(ctx, &f->ufid, sizeof f->ufid);
    flow->key = ctx_bytes(ctx, f->key, f->key_len);
    if (f->mask_len) {
        flow->has_mask = true;
        flow->mask = ctx_bytes(ctx, f->mask, f->mask_len);
    }
    flow->actions = ctx_bytes(ctx, f->actions, f->actions_len);
    flow->stats = ctl_flow_stats(ctx, &f->stats);
    return flow;
}

/* Bytes a flow takes in a reply, generously. */
static size_t
ctl_flow_size(const struct dpif_flow *f)
{
    return f->key_len + f->mask_len + f->actions_len + sizeof f->ufid + 96;
}

/* ----- flows ---------------------------------------------------------------- */

static void
control_dump_destroy(struct control_dump *d)
{
    if (d) {
        dpif_flow_dump_thread_destroy(d->thread);
        dpif_flow_dump_destroy(d->dump);
        buf_uninit(&d->filter_key);
        buf_uninit(&d->filter_mask);
        buf_uninit(&d->held_data);
        free(d);
    }
}

/* True if 'key' matches the dump's filter: every attribute of the filter
 * key is present in 'key' with the same length, and equal in the bits that
 * the filter mask's attribute of the same type sets (all bits when the
 * mask has none). */
static bool
control_dump_matches(const struct control_dump *d, const void *key,
                     size_t key_len)
{
    const struct nlattr *fa;
    size_t left;

    const void *filter = d->filter_key.data;
    NL_ATTR_FOR_EACH (fa, left, filter, d->filter_key.size) {
        uint16_t type = nl_attr_type(fa);
        const struct nlattr *ka = nl_find_attr(key, key_len, type);
        const struct nlattr *ma = (d->filter_mask.size
                                   ? nl_find_attr(d->filter_mask.data,
                                                  d->filter_mask.size, type)
                                   : NULL);
        size_t n = nl_attr_get_size(fa);
        if (!ka || nl_attr_get_size(ka) != n) {
            return false;
        }
        if (ma && nl_attr_get_size(ma) != n) {
            ma = NULL;
        }
        const uint8_t *f = nl_attr_get(fa);
        const uint8_t *k = nl_attr_get(ka);
        const uint8_t *m = ma ? nl_attr_get(ma) : NULL;
        for (size_t i = 0; i < n; i++) {
            if ((f[i] ^ k[i]) & (m ? m[i] : 0xff)) {
                return false;
            }
        }
    }
    return true;
}

/* Copies 'f' into the dump's held slot. */
static void
control_dump_hold(struct control_dump *d, const struct dpif_flow *f)
{
    buf_clear(&d->held_data);
    size_t k = ROUND_UP(f->key_len, 8), m = ROUND_UP(f->mask_len, 8);
    uint8_t *p = buf_put_zeros(&d->held_data, k + m + f->actions_len + 8);
    memcpy(p, f->key, f->key_len);
    if (f->mask_len) {
        memcpy(p + k, f->mask, f->mask_len);
    }
    if (f->actions_len) {
        memcpy(p + k + m, f->actions, f->actions_len);
    }
    d->held_flow = *f;
    d->held_flow.key = p;
    d->held_flow.mask = p + k;
    d->held_flow.actions = p + k + m;
    d->held = true;
}

/* Starts a dump of 'dp' for the connection, replacing any earlier one. */
static int
control_dump_start(struct control_ctx *ctx, struct privd_dp *dp,
                   const Dpif__DumpFlowsRequest *r)
{
    struct control_conn *conn = ctx->conn;
    void *fkey = NULL, *fmask = NULL;

    if (r->has_filter_key) {
        int error = ctl_check_key(ctx, "filter_key", &r->filter_key, false,
                                  &fkey);
        if (error) {
            return error;
        }
    }
    if (r->has_filter_mask) {
        int error = ctl_check_key(ctx, "filter_mask", &r->filter_mask, false,
                                  &fmask);
        if (error) {
            return error;
        }
    }

    control_dump_destroy(conn->dump);
    conn->dump = NULL;

    struct dpif_flow_dump *dump = dpif_flow_dump_create(dp->dpif, false);
    if (!dump) {
        return errbuf_set(&ctx->eb, ENOMEM, "cannot start a flow dump");
    }
    struct control_dump *d = xzalloc(sizeof *d);
    d->dpif = dp->dpif;
    d->dump = dump;
    d->thread = dpif_flow_dump_thread_create(dump);
    buf_init(&d->filter_key, 0);
    buf_init(&d->filter_mask, 0);
    buf_init(&d->held_data, 0);
    if (fkey) {
        buf_put(&d->filter_key, fkey, r->filter_key.len);
    }
    if (fmask) {
        buf_put(&d->filter_mask, fmask, r->filter_mask.len);
    }
    conn->dump = d;
    return 0;
}

/* Takes the next flow of the dump that passes its filter: the held one
 * first.  Returns false at the end.  '*f' is valid until the next call. */
static bool
control_dump_next(struct control_dump *d, struct dpif_flow *f)
{
    if (d->held) {
        d->held = false;
        *f = d->held_flow;
        return true;
    }
    while (dpif_flow_dump_next(d->thread, f, 1) > 0) {
        if (control_dump_matches(d, f->key, f->key_len)) {
            return true;
        }
    }
    return false;
}

static int
ctl_dump_flows(struct control_ctx *ctx, const Dpif__Request *rq,
               Dpif__Reply *rp)
{
    const Dpif__DumpFlowsRequest *r = rq->dump_flows;
    struct control_conn *conn = ctx->conn;
    struct privd_dp *dp;
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (error) {
        return error;
    }

    size_t max_flows = IPC_MAX_DUMP_FLOWS;
    if (r->has_max_flows) {
        if (!r->max_flows || r->max_flows > IPC_MAX_DUMP_FLOWS) {
            COUNTER_INC(control_request_invalid);
            return errbuf_set(&ctx->eb, EINVAL, "max_flows: expected 1 to "
                              "%d", IPC_MAX_DUMP_FLOWS);
        }
        max_flows = r->max_flows;
    }

    if (r->has_cursor) {
        uint64_t cursor;
        if (r->cursor.len != sizeof cursor) {
            COUNTER_INC(control_request_invalid);
            return errbuf_set(&ctx->eb, EINVAL, "cursor: expected %zu "
                              "bytes", sizeof cursor);
        }
        memcpy(&cursor, r->cursor.data, sizeof cursor);
        if (!conn->dump || conn->dump->cursor != cursor
            || conn->dump->dpif != dp->dpif) {
            COUNTER_INC(control_request_invalid);
            return errbuf_set(&ctx->eb, EINVAL, "cursor: not the one of the "
                              "dump in progress on %s (start again without "
                              "a cursor)", r->dp);
        }
    } else {
        error = control_dump_start(ctx, dp, r);
        if (error) {
            return error;
        }
    }

    struct control_dump *d = conn->dump;
    Dpif__DumpFlowsReply *out;
    size_t used = 0;
    struct dpif_flow f;

    CTX_NEW(ctx, out, dpif__dump_flows_reply__init);
    while (control_dump_next(d, &f)) {
        size_t size = ctl_flow_size(&f);
        if (out->n_flows >= max_flows
            || (out->n_flows && used + size > ctx->budget)) {
            control_dump_hold(d, &f);
            break;
        }
        used += size;
        CTX_APPEND(ctx, out->flows, out->n_flows, ctl_flow(ctx, &f));
    }
    out->more = d->held;
    if (d->held) {
        d->cursor = ++conn->next_cursor;
        out->has_cursor = true;
        out->cursor = ctx_bytes(ctx, &d->cursor, sizeof d->cursor);
    } else {
        control_dump_destroy(d);
        conn->dump = NULL;
    }
    rp->result_case = DPIF__REPLY__RESULT_DUMP_FLOWS;
    rp->dump_flows = out;
    return 0;
}

/* Checks and converts the common fields of add-flow and mod-flow. */
static int
ctl_flow_put_args(struct control_ctx *ctx, struct privd_dp *dp,
                  const ProtobufCBinaryData *key, protobuf_c_boolean has_mask,
                  const ProtobufCBinaryData *mask,
                  const ProtobufCBinaryData *actions,
                  protobuf_c_boolean has_ufid,
                  const ProtobufCBinaryData *ufid_data, union ufid *ufid,
                  struct dpif_flow_put *put)
{
    void *k, *m = NULL, *a;
    int error = ctl_check_key(ctx, "key", key, true, &k);
    if (!error && has_mask) {
        error = ctl_check_key(ctx, "mask", mask, false, &m);
    }
    if (!error) {
        error = ctl_check_actions(ctx, dp, actions, &a);
    }
    if (!error && has_ufid) {
        error = ctl_check_ufid(ctx, ufid_data, ufid);
    }
    if (!error) {
        error = ctl_check_flow_key(ctx, k, key->len,
                                   m && mask->len ? m : NULL,
                                   m ? mask->len : 0);
    }
    if (error) {
        return error;
    }
    size_t mask_len = m ? mask->len : 0;
    if (!has_ufid) {
        ufid_from_key(k, key->len, m, mask_len, ufid);
    }
    memset(put, 0, sizeof *put);
    put->key = k;
    put->key_len = key->len;
    put->mask = mask_len ? m : NULL;
    put->mask_len = mask_len;
    put->actions = a;
    put->actions_len = actions->len;
    put->ufid = ufid;
    return 0;
}

static int
ctl_add_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__AddFlowRequest *r = rq->add_flow;
    struct dpif_flow_put put;
    struct privd_dp *dp;
    union ufid ufid;

    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_put_args(ctx, dp, &r->key, r->has_mask, &r->mask,
                                  &r->actions, r->has_ufid, &r->ufid, &ufid,
                                  &put);
    }
    if (error) {
        return error;
    }
    put.flags = DPIF_FP_CREATE;
    error = dpif_flow_put(dp->dpif, &put);
    if (error) {
        return errbuf_set(&ctx->eb, error, "%s",
                          error == EEXIST ? "the flow exists already"
                          : strerror(error));
    }
    Dpif__AddFlowReply *out;
    CTX_NEW(ctx, out, dpif__add_flow_reply__init);
    out->ufid = ctx_bytes(ctx, &ufid, sizeof ufid);
    rp->result_case = DPIF__REPLY__RESULT_ADD_FLOW;
    rp->add_flow = out;
    return 0;
}

static int
ctl_mod_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__ModFlowRequest *r = rq->mod_flow;
    struct dpif_flow_stats stats;
    struct dpif_flow_put put;
    struct privd_dp *dp;
    union ufid ufid;

    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_put_args(ctx, dp, &r->key, r->has_mask, &r->mask,
                                  &r->actions, r->has_ufid, &r->ufid, &ufid,
                                  &put);
    }
    if (error) {
        return error;
    }
    memset(&stats, 0, sizeof stats);
    put.flags = (DPIF_FP_MODIFY
                 | (r->has_may_create && r->may_create ? DPIF_FP_CREATE : 0)
                 | (r->has_zero_stats && r->zero_stats
                    ? DPIF_FP_ZERO_STATS : 0));
    put.stats = &stats;
    error = dpif_flow_put(dp->dpif, &put);
    if (error) {
        return errbuf_set(&ctx->eb, error, "%s",
                          error == ENOENT ? "no such flow" : strerror(error));
    }
    Dpif__ModFlowReply *out;
    CTX_NEW(ctx, out, dpif__mod_flow_reply__init);
    out->stats = ctl_flow_stats(ctx, &stats);
    rp->result_case = DPIF__REPLY__RESULT_MOD_FLOW;
    rp->mod_flow = out;
    return 0;
}

/* The flow identity of get-flow and del-flow: a key or a UFID. */
static int
ctl_flow_id(struct control_ctx *ctx, bool by_key, bool by_ufid,
            const ProtobufCBinaryData *key, const ProtobufCBinaryData *ufid_data,
            const void **keyp, size_t *key_lenp, union ufid *ufid,
            const union ufid **ufidp)
{
    void *k;
    int error;

    if (by_key) {
        error = ctl_check_key(ctx, "key", key, true, &k);
        if (!error) {
            error = ctl_check_flow_key(ctx, k, key->len, NULL, 0);
        }
        if (!error) {
            *keyp = k;
            *key_lenp = key->len;
            *ufidp = NULL;
        }
    } else if (by_ufid) {
        error = ctl_check_ufid(ctx, ufid_data, ufid);
        if (!error) {
            *keyp = NULL;
            *key_lenp = 0;
            *ufidp = ufid;
        }
    } else {
        COUNTER_INC(control_request_invalid);
        error = errbuf_set(&ctx->eb, EINVAL, "give a flow key or a ufid");
    }
    return error;
}

static int
ctl_get_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__GetFlowRequest *r = rq->get_flow;
    struct dpif_flow_get get;
    struct dpif_flow flow;
    struct privd_dp *dp;
    union ufid ufid;
    struct buf buffer;

    memset(&get, 0, sizeof get);
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_id(ctx, r->id_case == DPIF__GET_FLOW_REQUEST__ID_KEY,
                            r->id_case == DPIF__GET_FLOW_REQUEST__ID_UFID,
                            &r->key, &r->ufid, &get.key, &get.key_len, &ufid,
                            &get.ufid);
    }
    if (error) {
        return error;
    }
    buf_init(&buffer, 0);
    get.buffer = &buffer;
    get.flow = &flow;
    error = dpif_flow_get(dp->dpif, &get);
    if (error) {
        buf_uninit(&buffer);
        return errbuf_set(&ctx->eb, error, "%s",
                          error == ENOENT ? "no such flow" : strerror(error));
    }
    Dpif__GetFlowReply *out;
    CTX_NEW(ctx, out, dpif__get_flow_reply__init);
    out->flow = ctl_flow(ctx, &flow);
    buf_uninit(&buffer);
    rp->result_case = DPIF__REPLY__RESULT_GET_FLOW;
    rp->get_flow = out;
    return 0;
}

static int
ctl_del_flow(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    const Dpif__DelFlowRequest *r = rq->del_flow;
    struct dpif_flow_stats stats;
    struct dpif_flow_del del;
    struct privd_dp *dp;
    union ufid ufid;

    memset(&del, 0, sizeof del);
    memset(&stats, 0, sizeof stats);
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_flow_id(ctx, r->id_case == DPIF__DEL_FLOW_REQUEST__ID_KEY,
                            r->id_case == DPIF__DEL_FLOW_REQUEST__ID_UFID,
                            &r->key, &r->ufid, &del.key, &del.key_len, &ufid,
                            &del.ufid);
    }
    if (error) {
        return error;
    }
    del.stats = &stats;
    error = dpif_flow_del(dp->dpif, &del);
    if (error) {
        return errbuf_set(&ctx->eb, error, "%s",
                          error == ENOENT ? "no such flow" : strerror(error));
    }
    Dpif__DelFlowReply *out;
    CTX_NEW(ctx, out, dpif__del_flow_reply__init);
    out->stats = ctl_flow_stats(ctx, &stats);
    rp->result_case = DPIF__REPLY__RESULT_DEL_FLOW;
    rp->del_flow = out;
    return 0;
}

static int
ctl_del_flows(struct control_ctx *ctx, const Dpif__Request *rq,
              Dpif__Reply *rp)
{
    struct dpif_dp_stats stats;
    struct privd_dp *dp;
    int error = ctl_find_dp(ctx, rq->del_flows->dp, &dp);
    if (error) {
        return error;
    }
    bool counted = !dpif_get_dp_stats(dp->dpif, &stats);
    error = dpif_flow_flush(dp->dpif);
    if (error) {
        return errbuf_set(&ctx->eb, error, "flushing flows: %s",
                          strerror(error));
    }
    /* The ukeys of the flushed flows go too (the next cycle is a purge),
     * so that none is left stale. */
    struct dump_pump *pump = ctl_pump_of(ctx->privd, dp->dpif);
    if (pump) {
        dump_pump_request(pump, true, NULL, NULL);
    }
    Dpif__DelFlowsReply *out;
    CTX_NEW(ctx, out, dpif__del_flows_reply__init);
    out->has_n_deleted = counted;
    out->n_deleted = counted ? stats.n_flows : 0;
    rp->result_case = DPIF__REPLY__RESULT_DEL_FLOWS;
    rp->del_flows = out;
    return 0;
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


static const struct control_command control_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(DUMP_FLOWS, "dump-flows", READ, ctl_dump_flows),
    CMD(ADD_FLOW, "add-flow", WRITE, ctl_add_flow),
    CMD(MOD_FLOW, "mod-flow", WRITE, ctl_mod_flow),
    CMD(GET_FLOW, "get-flow", READ, ctl_get_flow),
    CMD(DEL_FLOW, "del-flow", WRITE, ctl_del_flow),
    CMD(DEL_FLOWS, "del-flows", WRITE, ctl_del_flows),
#undef CMD
};

static const struct ctl_command_group control_group = {
    control_commands, ARRAY_SIZE(control_commands),
};

/* Every group's table: control_command_find() looks in their union. */
static const struct ctl_command_group *const control_groups[] = {
    &ctl_dp_group, &ctl_policy_group, &ctl_status_group, &ctl_dummy_group,
    &ctl_upcall_group, &control_group,
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
    control_dump_destroy(conn->dump);
    conn->dump = NULL;
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
        conn->dump = NULL;
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
        if (conn->dump && conn->dump->dpif == dpif) {
            control_dump_destroy(conn->dump);
            conn->dump = NULL;
        }
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
