/*
 * control-server.h — privd's end of the control socket (dpifctl's peer).
 *
 * Overview
 * ========
 *
 * privd listens on cfg.control_socket (RUN_DIR/dpifd.ctl), an AF_UNIX
 * SOCK_SEQPACKET socket of mode 0660 whose group is "dpifd" when that
 * group exists.  The socket's directory must be root's or privd's own
 * user's and writable by nobody else (safe_fs_check_dir(), a clear error
 * otherwise); it is opened once and the socket is bound through that fd.
 * The mode comes from the umask at bind() and the group from the
 * file-system gid (setfsgid()) at bind(); in a directory of privd's user,
 * root binds with that user's file-system uid.  Nothing is chowned or
 * chmodded by path, so a racer in the directory cannot redirect a change
 * of root's onto another file (B7).  The socket file is removed at exit by
 * main.c's cleanup list (safe-fs.h), not here.  Each client sends Requests (proto/control.proto) and gets
 * exactly one Reply per Request, with the Request's sequence number.  The
 * server is part of privd's single poll loop: every socket is non-blocking,
 * and one slow client holds at most its own one pending reply.
 *
 *
 * What happens to a request, in order
 * ===================================
 *
 *  *   1. accept: the peer's uid, gid and pid come from SO_PEERCRED and its
 *      supplementary groups from SO_PEERGROUPS: the credentials the
 *      kernel recorded at connect(), read once at accept.  The gids of
 *      "dpifd" and "dpifd-admin" are looked up again whenever /etc/group
 *      changed (and every CONTROL_GROUP_RECHECK_MSEC for other NSS
 *      sources), so a group created or a member added after privd started
 *      counts from the next connection on, without a restart (the member's
 *      own process needs the new group in its credentials, as for files).
 *      Admission (a refused connection is accepted and closed at once):
 *      at most CONTROL_MAX_CLIENTS connections (control_client_limit); at
 *      most CONTROL_MAX_PER_UID of one uid other than 0 and privd's own
 *      (control_client_uid_limit); callers without write rights share
 *      CONTROL_MAX_CLIENTS - CONTROL_WRITER_SLOTS slots
 *      (control_client_reader_limit), so root and administrators always
 *      find a slot.  A connection that sends no request and reads no reply
 *      for CONTROL_IDLE_MSEC is closed (control_client_idle_closed);
 *      CONTROL_IDLE_PAGING_MSEC after a page with more to come, for a
 *      dpifctl that waits for a slow reader of its output; a parked
 *      request (7.) is not idle.
 *   2. ipc_recv() with IPC_ACCEPT_FROM_CLIENT: the envelope checks of
 *      common/ipc.h (size caps, known type, strict decoding).  A protocol
 *      violation closes the connection (control_request_malformed).
 *   3. The command table: one entry per Request oneof member with the
 *      command's name, whether it reads or changes, and its handler; each
 *      command group (ctl-*.c, privd/ctl-command.h) has its own table and
 *      control_command_find() looks in their union.
 *   4. Authorization (below).  A denied request is answered with EACCES and
 *      a reason, logged, and counted (control_denied_read,
 *      control_denied_write).
 *   5. The handler checks every field against ipc-limits.h and the
 *      datapath it names (ports that exist, well-formed keys and masks,
 *      actions validated with odp_actions_validate() against the
 *      datapath's ports), then acts.  Every change is logged with the
 *      caller's uid and pid and the result.
 *   6. The reply is packed; one that does not fit the connection's send
 *      buffer is replaced by an E2BIG error.  Listings that can be long
 *      (dump-flows, capture) are paged to fit.
 *   7. Parked replies: revalidator/wait, revalidator/purge,
 *      upcall/enable-megaflows and upcall/disable-megaflows answer once a
 *      revalidation cycle of every datapath that STARTED after the request
 *      completed (privd/dump-pump.h).  The request is parked on its
 *      connection with its sequence number, one waiter per datapath is
 *      registered with that datapath's pump, and nothing more is read from
 *      the connection until the reply is queued (dpifctl sends one
 *      request at a time).  A client that hangs up meanwhile cancels its
 *      waiters (control_parked_cancelled); a datapath deleted meanwhile
 *      fails the request with ENODEV; at most CONTROL_MAX_PARKED requests
 *      are parked at once, one more gets EBUSY (control_parked_limit), and
 *      at most CONTROL_MAX_PARKED_READERS of them come from callers
 *      without write rights (control_parked_reader_limit): readers'
 *      revalidator/wait cannot make an administrator's purge EBUSY.
 *
 *
 * Authorization (SO_PEERCRED)
 * ===========================
 *
 * Read commands: uid 0, privd's own uid, or membership (primary or
 * supplementary) of group "dpifd".  Changing commands: uid 0, privd's own
 * uid, or group "dpifd-admin".  privd's own uid is what lets an
 * unprivileged test run talk to its own daemon; after the privilege drop
 * it is the "dpifd" user, which no person logs in as.  "capture" reads, and
 * changes when it clears the capture buffers.
 *
 *
 * Policy and MAC learning
 * =======================
 *
 * The rules and fdb commands work on the policy feed
 * (privd/policy-feed.h), which exists when the workers run
 * (privd/ctl-policy.c).  rules/add, rules/del and rules/replace build the
 * new rule text and commit it with policy_feed_commit_rules(): parsed
 * once (one error rejects the change, naming line and column), saved to
 * the datapath's rules file when one is configured (temporary file +
 * rename; a failed save changes nothing) and only then handed to the
 * workers; without a
 * rules file the reply says the table lives in memory only.  rules/del
 * removes the source lines of the selected rules, so comments stay.
 * fdb/show reads privd's mapping of the shared MAC table and lists only
 * entries that could be true (unicast MAC, VLAN 0..4095, a port of the
 * datapath): workers write that memory (counter
 * control_fdb_entry_invalid).
 *
 *
 * Metrics
 * =======
 *
 * "metrics" answers with privd/metrics.h's text; the metrics textfile is
 * written by that module from privd's main loop, not by this server.
 *
 *
 * Ownership and lifetime
 * ======================
 *
 * control_server_create() binds the socket; control_server_destroy()
 * closes every connection (main.c removes the socket file).  The server keeps a
 * pointer to the "struct privd" it serves, which must outlive it.  Flow
 * dumps in progress hold the dpif they dump: privd_close_dp() calls
 * control_server_forget_dp() before closing one.  Single-threaded.
 */
#ifndef PRIVD_CONTROL_SERVER_H
#define PRIVD_CONTROL_SERVER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/util.h"
#include "proto/control.pb-c.h"

struct dpif;
struct poller;
struct privd;
struct control_server;

/* Connections served at once. */
#define CONTROL_MAX_CLIENTS 16
/* Of them, slots only callers with write rights (root, privd's own uid,
 * group dpifd-admin) may take. */
#define CONTROL_WRITER_SLOTS 4
/* Connections of one uid at once, except uid 0 and privd's own. */
#define CONTROL_MAX_PER_UID 4
/* A connection with no request read and no reply sent for this long is
 * closed (dpifctl sends its requests back to back)... */
#define CONTROL_IDLE_MSEC 10000
/* ... or this long after a page of a listing that has more (dump-flows,
 * capture): "dpifctl dump-flows | less" waits for its reader. */
#define CONTROL_IDLE_PAGING_MSEC (5 * 60 * 1000)
/* Requests parked at once waiting for revalidation cycles
 * (revalidator/wait, revalidator/purge, upcall/enable-megaflows,
 * upcall/disable-megaflows); one more is refused with EBUSY. */
#define CONTROL_MAX_PARKED 8
/* Of them, requests of callers without write rights (revalidator/wait). */
#define CONTROL_MAX_PARKED_READERS 4
/* Captured frames that privd holds for readers after a clearing read that
 * did not fit in one reply (see control-server.c). */
#define CONTROL_MAX_BACKLOG 4096

/* What a command may do, checked against the caller's rights. */
enum control_access {
    CONTROL_READ,               /* Needs read rights. */
    CONTROL_WRITE,              /* Needs write rights. */
    CONTROL_WRITE_IF_CLEAR,     /* capture: write rights when it clears. */
};

/* The caller of a request, as SO_PEERCRED and its groups say. */
struct control_peer {
    uid_t uid;                  /* Peer's uid. */
    gid_t gid;                  /* Peer's primary gid. */
    pid_t pid;                  /* Peer's pid (at connect time). */
    bool trusted;               /* uid 0 or privd's own uid: no per-uid
                                 * connection quota. */
    bool may_read;              /* Read commands allowed. */
    bool may_write;             /* Changing commands allowed. */
};

struct control_ctx;

/* One command: the OpenSSH monitor's {type, flags, handler} table entry. */
struct control_command {
    Dpif__Request__CommandCase request; /* Which Request member. */
    const char *name;           /* dpifctl's name ("show", "upcall/show"). */
    enum control_access access; /* Rights it needs. */
    int (*handler)(struct control_ctx *, const Dpif__Request *,
                   Dpif__Reply *); /* Fills the reply's result member and
                                    * returns 0, or returns a positive errno
                                    * with the reason in the context. */
};

/* The table entry for 'request', or NULL if there is none. */
const struct control_command *control_command_find(
    Dpif__Request__CommandCase request);

/* Binds and listens on privd->cfg.control_socket.  Fails with EADDRINUSE if
 * a live server answers on it (another dpifd), with EPERM or ELOOP if its
 * directory is not fit (see above); removes a stale socket file.  Stores
 * the server in '*csp'. */
int control_server_create(struct privd *, struct control_server **csp,
                          struct errbuf *);

/* Accepts connections, serves the requests that are waiting, and flushes
 * pending replies, without blocking. */
void control_server_run(struct control_server *);
void control_server_wait(struct control_server *, struct poller *);

/* Ends flow dumps on 'dpif' and drops its captured frames; called before
 * the datapath is closed. */
void control_server_forget_dp(struct control_server *, const struct dpif *);

/* Number of connected clients. */
size_t control_server_n_clients(const struct control_server *);

/* Closes everything (the socket file stays: main.c's cleanup removes it).
 * NULL is a no-op. */
void control_server_destroy(struct control_server *);

/* Decides the rights of a peer from its credentials and its groups
 * ('groups', 'n_groups' supplementary gids), given privd's own uid and
 * the gids of the "dpifd" and "dpifd-admin" groups ((gid_t) -1 for a group
 * that does not exist).  Exposed for tests. */
void control_peer_authorize(struct control_peer *, const gid_t *groups,
                            size_t n_groups, uid_t self_uid,
                            gid_t read_gid, gid_t admin_gid);

#endif /* control-server.h */
