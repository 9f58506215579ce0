/*
 * netlink-socket.h — a netlink socket with sequence-matched transactions,
 * batched transactions and dumps, over libmnl.
 *
 * Overview
 * ========
 *
 * privd talks to the openvswitch kernel module over generic netlink.  Every
 * request it sends is a complete netlink message built by the caller (with
 * libmnl) in a "struct buf"; this module numbers it, sends it and matches
 * the kernel's answers to it by sequence number:
 *
 *   - nlsock_transact(): one request, its reply (if the kernel sends one:
 *     a GET, or a command with NLM_F_ECHO) and its acknowledgement.
 *
 *   - nlsock_transact_multiple(): up to NLSOCK_TRANSACT_MAX requests sent in
 *     one sendmsg(), their replies matched in order by sequence number (the
 *     seeds' nlsock_transact_multiple(); the kernel answers requests in the
 *     order it received them).
 *
 *   - nlsock_dump_start()/nlsock_dump_next()/nlsock_dump_done(): a multipart dump on a
 *     socket of its own, so that transactions can interleave with it.
 *
 *   - nlsock_recv(): the next datagram as it comes (upcalls, multicast
 *     notifications).
 *
 * Every socket sets NETLINK_CAP_ACK (acks do not echo the request) and
 * NETLINK_EXT_ACK (the kernel's reason for an error is logged at debug
 * level).  Received datagrams that are not for the request in progress
 * (late answers to an abandoned request) are dropped and counted.
 *
 * Trust: only the kernel is believed.  Any process can unicast a datagram
 * to a netlink socket's port id (a compromised worker, through the netlink
 * socket it holds, can reach privd's), so nlsock_recv() drops (and counts:
 * netlink_foreign_sender) every datagram whose sender (recvmsg()'s
 * sockaddr_nl) is not port id 0, and a socket's sequence numbers start at
 * a random value (getrandom()), so that a forged answer cannot be matched
 * to a request by guessing.
 *
 * Errors: 0 or a positive errno; the kernel's own errors come back as the
 * positive errno of its NLMSG_ERROR.  ENOBUFS from a receive means the
 * socket's queue overflowed and messages were lost.
 *
 * Ownership and threads: a socket is used by one thread at a time.  Replies
 * are copied into buffers the caller owns.
 */
#ifndef PRIVD_NETLINK_SOCKET_H
#define PRIVD_NETLINK_SOCKET_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct nlmsghdr;
struct nlsock;

#define NLSOCK_TRANSACT_MAX 64      /* Requests per nlsock_transact_multiple(). */
#define NLSOCK_RECV_BUF_SIZE (256 * 1024) /* Largest datagram received. */

/* Opens a netlink socket of 'protocol' (NETLINK_GENERIC), bound to a port id
 * the kernel picks.  On success stores it in '*sockp'. */
int nlsock_create(int protocol, struct nlsock **sockp);
void nlsock_destroy(struct nlsock *);

/* The socket's file descriptor and netlink port id ("pid"). */
int nlsock_fd(const struct nlsock *);
uint32_t nlsock_pid(const struct nlsock *);

/* Joins or leaves multicast group 'group'. */
int nlsock_join_mcgroup(struct nlsock *, unsigned int group);

/* Asks for a receive queue of 'bytes' (SO_RCVBUFFORCE, falling back to
 * SO_RCVBUF when not permitted). */
int nlsock_set_rcvbuf(struct nlsock *, int bytes);

/* Sends the message in 'request' (its nlmsg_seq and nlmsg_pid are set
 * here, NLM_F_ACK added) and waits for its answer.  If 'reply' is nonnull
 * it receives a copy of the first non-error message answering the request
 * (empty if there was none).  Returns the kernel's error. */
int nlsock_transact(struct nlsock *, struct buf *request, struct buf *reply);

/* One request of a batch. */
struct nlsock_txn {
    struct buf *request;        /* In: a complete message; seq set here. */
    struct buf *reply;          /* Out (may be NULL): the answer, if any. */
    int error;                  /* Out: 0 or positive errno. */
};

/* Sends 'n' (<= NLSOCK_TRANSACT_MAX) requests together and collects each one's
 * answer in order.  A failure of the socket itself sets every unanswered
 * transaction's error. */
void nlsock_transact_multiple(struct nlsock *, struct nlsock_txn **txns,
                               size_t n);

/* Receives the next datagram into 'buf' (replacing its contents).  EAGAIN if
 * none is queued and !wait; ENOBUFS if the queue overflowed. */
int nlsock_recv(struct nlsock *, struct buf *buf, bool wait);

/* Drains every queued datagram. */
void nlsock_drain(struct nlsock *);

/* A dump in progress. */
struct nlsock_dump {
    struct nlsock *sock;       /* Its own socket (owned). */
    uint32_t seq;               /* Sequence number of the dump request. */
    struct buf rx;              /* Current datagram. */
    size_t rx_ofs;              /* Next unread message in 'rx'. */
    bool done;                  /* NLMSG_DONE or an error was seen. */
    int status;                 /* First error, or 0. */
};

/* Starts dumping with 'request' (NLM_F_DUMP is added). */
int nlsock_dump_start(struct nlsock_dump *, int protocol, struct buf *request);

/* Stores the next message of the dump in '*msgp'/'*lenp' (pointing into the
 * dump's buffer, valid until the next call that receives, which happens only
 * when 'may_refill' is true).  Returns false at the end of the dump, or when
 * the buffered messages are exhausted and !may_refill. */
bool nlsock_dump_next(struct nlsock_dump *, bool may_refill, const void **msgp,
                  size_t *lenp);

/* Ends the dump (draining what is left) and returns its first error. */
int nlsock_dump_done(struct nlsock_dump *);

/* True if the 'left' bytes at 'nlh' begin with a whole message: a header
 * and an nlmsg_len of at least a header and at most 'left'.  Use it
 * instead of libmnl's mnl_nlmsg_ok(), which compares nlmsg_len as an int
 * and so takes 2^31 or more for a negative length that fits (and
 * NLMSG_ALIGN() of 0xffffffff is 0: a walk that steps by it never ends). */
bool nlsock_msg_ok(const struct nlmsghdr *nlh, int left);

#endif /* netlink-socket.h */
