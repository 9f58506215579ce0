/*
 * client.h — dpifctl's end of the control socket.
 *
 * Overview
 * ========
 *
 * privd listens on an AF_UNIX SOCK_SEQPACKET socket (by default
 * /run/dpifd/dpifd.ctl, mode 0660, group dpifd).  A client sends one
 * Request (proto/control.proto) per envelope (common/ipc.h) and reads the
 * Reply that carries the same sequence number; one connection may carry
 * any number of exchanges, one at a time.  Typical use:
 *
 *     struct client c;
 *     struct ipc_msg m;
 *
 *     client_init(&c, "/run/dpifd/dpifd.ctl", 30000);
 *     error = client_transact(&c, &request, &m, &eb);
 *     if (!error) {
 *         const Dpif__Reply *reply = (const Dpif__Reply *) m.msg;
 *         ...reply->error, reply->reason, reply->show...
 *         ipc_msg_destroy(&m);
 *     }
 *     client_destroy(&c);
 *
 * The connection is made by the first client_transact(), so that a command
 * whose arguments are wrong fails with a usage message whether or not the
 * daemon runs.
 *
 * What the client checks
 * ======================
 *
 * The envelope layer checks framing, sizes and the schema.  On top of that
 * client_transact() requires that the reply carries the request's sequence
 * number and, when it reports success, the result member that answers the
 * request (client_reply_case()).  A reply that fails either check is a
 * protocol error (EPROTO): dpifctl never prints half-understood data.
 *
 * Errors come with a sentence for the operator in the errbuf:
 *
 *     cannot connect to /run/dpifd/dpifd.ctl: No such file or directory
 *         (is dpifd running?)
 *     cannot connect to /run/dpifd/dpifd.ctl: Permission denied (need
 *         group dpifd, or dpifd-admin for changes)
 *     no reply from dpifd within 30000 ms (see --timeout)
 *     dpifd closed the connection without replying
 *
 * Ownership: the client owns its socket; a received message belongs to the
 * caller, who destroys it with ipc_msg_destroy().  Single-threaded.
 */
#ifndef DPIF_CLI_CLIENT_H
#define DPIF_CLI_CLIENT_H 1

#include <stdbool.h>
#include <stdint.h>

#include "common/ipc.h"
#include "common/util.h"
#include "proto/control.pb-c.h"

/* The socket privd listens on unless configured otherwise. */
#define CLIENT_DEFAULT_SOCKET "/run/dpifd/dpifd.ctl"

struct client {
    char *path;                 /* Socket path, owned. */
    int timeout_ms;             /* Per exchange; 0 = wait forever. */
    struct ipc_conn conn;       /* Valid while 'connected'. */
    bool connected;
    uint32_t seq;               /* Sequence number of the last request. */
};

/* Prepares a client of the socket at 'path' (copied) that waits at most
 * 'timeout_ms' milliseconds for each reply (0: no limit).  Does not
 * connect. */
void client_init(struct client *, const char *path, int timeout_ms);
/* Closes the connection, if any, and frees the client's memory. */
void client_destroy(struct client *);

/* Connects, unless already connected.  Returns 0 or a positive errno with
 * the operator's sentence in 'eb' (see above). */
int client_connect(struct client *, struct errbuf *eb);

/* Sends 'request' and receives its reply into '*reply' (a Dpif__Reply in
 * reply->msg), which the caller destroys.  Returns 0 when a well-formed
 * reply arrived, whatever its 'error' says; otherwise a positive errno
 * (ETIMEDOUT, EPIPE, EPROTO, EMSGSIZE, a connect error...) with the reason
 * in 'eb', and '*reply' untouched. */
int client_transact(struct client *, const Dpif__Request *request,
                    struct ipc_msg *reply, struct errbuf *eb);

/* The Reply result member that answers a request of 'request_case', or
 * DPIF__REPLY__RESULT__NOT_SET for an unknown case. */
Dpif__Reply__ResultCase client_reply_case(
    Dpif__Request__CommandCase request_case);

#endif /* client.h */
