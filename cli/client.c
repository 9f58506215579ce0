/* client.c — see client.h. */
#include "cli/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/timeval.h"

void
client_init(struct client *c, const char *path, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->path = xstrdup(path);
    c->timeout_ms = timeout_ms;
}

void
client_destroy(struct client *c)
{
    if (c->connected) {
        ipc_conn_close(&c->conn);
        c->connected = false;
    }
    free(c->path);
    c->path = NULL;
}

int
client_connect(struct client *c, struct errbuf *eb)
{
    struct sockaddr_un sun;

    if (c->connected) {
        return 0;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(c->path) >= sizeof sun.sun_path) {
        return errbuf_set(eb, ENAMETOOLONG,
                          "cannot connect to %s: socket path longer than "
                          "%zu bytes", c->path, sizeof sun.sun_path - 1);
    }
    strcpy(sun.sun_path, c->path);

    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int error = errno;
        return errbuf_set(eb, error, "cannot create a socket: %s",
                          strerror(error));
    }
    if (connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0) {
        int error = errno;
        const char *hint = "";
        if (error == ENOENT || error == ECONNREFUSED) {
            hint = " (is dpifd running?)";
        } else if (error == EACCES || error == EPERM) {
            hint = " (need group dpifd, or dpifd-admin for changes)";
        }
        close(fd);
        return errbuf_set(eb, error, "cannot connect to %s: %s%s", c->path,
                          strerror(error), hint);
    }
    /* Large requests (rules/replace) need a send buffer above the default;
     * if it cannot be raised, such a send fails with a clear EMSGSIZE. */
    (void) ipc_socket_set_buffers(fd, NULL);
    if (c->timeout_ms > 0) {
        struct timeval tv = {
            .tv_sec = c->timeout_ms / 1000,
            .tv_usec = c->timeout_ms % 1000 * 1000,
        };
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    ipc_conn_init(&c->conn, fd, IPC_ACCEPT_FROM_SERVER);
    c->connected = true;
    return 0;
}

/* Waits until the socket is readable or the exchange's deadline (a
 * time_msec() value, or 0 for none) passed. */
static int
client_wait_readable(struct client *c, long long deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline) {
            long long left = deadline - time_msec();
            if (left <= 0) {
                return ETIMEDOUT;
            }
            timeout = (int) MIN(left, 60 * 60 * 1000LL);
        }
        struct pollfd pfd = { .fd = c->conn.fd, .events = POLLIN };
        int n = poll(&pfd, 1, timeout);
        if (n > 0) {
            return 0;
        } else if (n < 0 && errno != EINTR) {
            return errno;
        }
    }
}

/* Drops the connection after a failed exchange: whatever arrives later on
 * it cannot be matched to a request any more. */
static int
client_fail(struct client *c, int error)
{
    ipc_conn_close(&c->conn);
    c->connected = false;
    return error;
}

int
client_transact(struct client *c, const Dpif__Request *request,
                struct ipc_msg *reply, struct errbuf *eb)
{
    long long deadline = c->timeout_ms > 0 ? time_msec() + c->timeout_ms : 0;
    struct errbuf ipc_eb = { "" };
    int error = client_connect(c, eb);
    if (error) {
        return error;
    }

    uint32_t seq = ++c->seq;
    error = ipc_send(&c->conn, IPC_CONTROL_REQUEST, seq, &request->base,
                     NULL, 0, &ipc_eb);
    if (error == EPIPE) {
        errbuf_set(eb, error, "dpifd closed the connection");
        return client_fail(c, error);
    } else if (error == EAGAIN) {
        errbuf_set(eb, ETIMEDOUT, "dpifd did not take the request within "
                   "%d ms (see --timeout)", c->timeout_ms);
        return client_fail(c, ETIMEDOUT);
    } else if (error == EMSGSIZE) {
        errbuf_set(eb, error, "request of %zu bytes is too large to send "
                   "(%s)", ipc_frame_size(&request->base), ipc_eb.msg);
        return client_fail(c, error);
    } else if (error) {
        errbuf_set(eb, error, "cannot send the request: %s",
                   ipc_eb.msg[0] ? ipc_eb.msg : strerror(error));
        return client_fail(c, error);
    }

    for (;;) {
        struct ipc_msg m;

        error = client_wait_readable(c, deadline);
        if (error == ETIMEDOUT) {
            errbuf_set(eb, error, "no reply from dpifd within %d ms "
                       "(see --timeout)", c->timeout_ms);
            return client_fail(c, error);
        } else if (error) {
            errbuf_set(eb, error, "waiting for the reply: %s",
                       strerror(error));
            return client_fail(c, error);
        }
        error = ipc_recv(&c->conn, &m, &ipc_eb);
        if (error == EAGAIN || error == EINTR) {
            continue;
        } else if (error == EPIPE || error == ECONNRESET) {
            errbuf_set(eb, EPIPE,
                       "dpifd closed the connection without replying");
            return client_fail(c, EPIPE);
        } else if (error) {
            errbuf_set(eb, error, "bad reply from dpifd: %s",
                       ipc_eb.msg[0] ? ipc_eb.msg : strerror(error));
            return client_fail(c, error);
        }

        const Dpif__Reply *r = (const Dpif__Reply *) m.msg;
        if (m.hdr.seq != seq) {
            errbuf_set(eb, EPROTO, "bad reply from dpifd: sequence number "
                       "%u, expected %u", m.hdr.seq, seq);
            ipc_msg_destroy(&m);
            return client_fail(c, EPROTO);
        }
        if (!r->error
            && r->result_case != client_reply_case(request->command_case)) {
            errbuf_set(eb, EPROTO, "bad reply from dpifd: result %d does "
                       "not answer request %d", (int) r->result_case,
                       (int) request->command_case);
            ipc_msg_destroy(&m);
            return client_fail(c, EPROTO);
        }
        *reply = m;
        return 0;
    }
}

Dpif__Reply__ResultCase
client_reply_case(Dpif__Request__CommandCase request_case)
{
#define R(REQ, REP) [DPIF__REQUEST__COMMAND_##REQ] = DPIF__REPLY__RESULT_##REP
    static const Dpif__Reply__ResultCase cases[] = {
        R(SHOW, SHOW),
        R(DUMP_DPS, DUMP_DPS),
        R(ADD_DP, ADD_DP),
        R(DEL_DP, DEL_DP),
        R(ADD_IF, ADD_IF),
        R(DEL_IF, DEL_IF),
        R(DUMP_FLOWS, DUMP_FLOWS),
        R(ADD_FLOW, ADD_FLOW),
        R(MOD_FLOW, MOD_FLOW),
        R(GET_FLOW, GET_FLOW),
        R(DEL_FLOW, DEL_FLOW),
        R(DEL_FLOWS, DEL_FLOWS),
        R(UPCALL_SHOW, UPCALL_SHOW),
        R(SET_FLOW_LIMIT, SET_FLOW_LIMIT),
        R(ENABLE_MEGAFLOWS, ENABLE_MEGAFLOWS),
        R(DISABLE_MEGAFLOWS, DISABLE_MEGAFLOWS),
        R(REVALIDATOR_WAIT, REVALIDATOR_WAIT),
        R(REVALIDATOR_PURGE, REVALIDATOR_PURGE),
        R(RULES_SHOW, RULES_SHOW),
        R(RULES_ADD, RULES_ADD),
        R(RULES_DEL, RULES_DEL),
        R(RULES_REPLACE, RULES_REPLACE),
        R(FDB_SHOW, FDB_SHOW),
        R(FDB_FLUSH, FDB_FLUSH),
        R(PROCS, PROCS),
        R(COUNTERS, COUNTERS),
        R(MEMORY_SHOW, MEMORY_SHOW),
        R(LOG_SET, LOG_SET),
        R(INJECT, INJECT),
        R(CAPTURE, CAPTURE),
        R(METRICS, METRICS),
    };
#undef R
    if ((size_t) request_case < ARRAY_SIZE(cases)) {
        return cases[request_case];
    }
    return DPIF__REPLY__RESULT__NOT_SET;
}
