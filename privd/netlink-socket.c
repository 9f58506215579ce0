/* Netlink sockets with sequence-matched transactions and dumps (libmnl). */
#include "privd/netlink-socket.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/util.h"

LOG_MODULE(netlink_socket);

COUNTER_DEFINE(netlink_stray_reply);     /* Answer to no request in flight. */
COUNTER_DEFINE(netlink_recv_overflow);   /* ENOBUFS: the queue overflowed. */
COUNTER_DEFINE(netlink_recv_truncated);  /* Datagram beyond NLSOCK_RECV_BUF_SIZE. */
COUNTER_DEFINE(netlink_bad_message);     /* Malformed netlink header. */
COUNTER_DEFINE(netlink_foreign_sender);  /* From a process, not the kernel. */

struct nlsock {
    struct mnl_socket *mnl;     /* libmnl handle (owns the fd). */
    uint32_t pid;               /* Port id the kernel bound us to. */
    uint32_t next_seq;          /* Sequence number of the next request. */
    struct buf rx;              /* Receive buffer for transactions. */
};

int
nlsock_create(int protocol, struct nlsock **sockp)
{
    struct mnl_socket *mnl = mnl_socket_open2(protocol, SOCK_CLOEXEC);
    int one = 1;

    *sockp = NULL;
    if (!mnl) {
        return errno;
    }
    if (mnl_socket_bind(mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int error = errno;
        mnl_socket_close(mnl);
        return error;
    }
    /* Both options are advisory: older kernels lack them. */
    mnl_socket_setsockopt(mnl, NETLINK_CAP_ACK, &one, sizeof one);
    mnl_socket_setsockopt(mnl, NETLINK_EXT_ACK, &one, sizeof one);

    struct nlsock *sock = xzalloc(sizeof *sock);
    sock->mnl = mnl;
    sock->pid = mnl_socket_get_portid(mnl);
    /* Start somewhere nobody can predict: neither a previous owner's stale
     * answers nor a forger match it (senders are checked too, in
     * nlsock_recv()). */
    if (getrandom(&sock->next_seq, sizeof sock->next_seq, GRND_NONBLOCK)
        != (ssize_t) sizeof sock->next_seq) {
        sock->next_seq = (uint32_t) getpid() << 16
                         ^ (uint32_t) (uintptr_t) sock;
    }
    buf_init(&sock->rx, 0);
    *sockp = sock;
    return 0;
}

void
nlsock_destroy(struct nlsock *sock)
{
    if (sock) {
        mnl_socket_close(sock->mnl);
        buf_uninit(&sock->rx);
        free(sock);
    }
}

int
nlsock_fd(const struct nlsock *sock)
{
    return mnl_socket_get_fd(sock->mnl);
}

uint32_t
nlsock_pid(const struct nlsock *sock)
{
    return sock->pid;
}

int
nlsock_join_mcgroup(struct nlsock *sock, unsigned int group)
{
    return (mnl_socket_setsockopt(sock->mnl, NETLINK_ADD_MEMBERSHIP, &group,
                                  sizeof group) < 0 ? errno : 0);
}

int
nlsock_set_rcvbuf(struct nlsock *sock, int bytes)
{
    int fd = nlsock_fd(sock);

    if (!setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes)) {
        return 0;
    }
    return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes)
           ? errno : 0;
}

int
nlsock_recv(struct nlsock *sock, struct buf *b, bool wait)
{
    buf_clear(b);
    buf_reserve(b, NLSOCK_RECV_BUF_SIZE);
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = { b->data, b->allocated };
        struct msghdr msg = {
            .msg_name = &from, .msg_namelen = sizeof from,
            .msg_iov = &iov, .msg_iovlen = 1,
        };
        memset(&from, 0, sizeof from);
        ssize_t n = recvmsg(nlsock_fd(sock), &msg,
                            MSG_TRUNC | (wait ? 0 : MSG_DONTWAIT));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ENOBUFS) {
                COUNTER_INC(netlink_recv_overflow);
            }
            return errno;
        }
        if (msg.msg_namelen < sizeof from || from.nl_family != AF_NETLINK
            || from.nl_pid != 0) {
            /* Any process may unicast to our port id (a worker's own
             * netlink socket, say): only the kernel is listened to. */
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            COUNTER_INC(netlink_foreign_sender);
            LOG_WARN_RL(&rl, "dropped a netlink datagram from port id %u, "
                        "not the kernel", (unsigned int) from.nl_pid);
            continue;
        }
        if ((size_t) n > b->allocated) {
            COUNTER_INC(netlink_recv_truncated);
            return EMSGSIZE;
        }
        b->size = (size_t) n;
        return 0;
    }
}

void
nlsock_drain(struct nlsock *sock)
{
    struct buf b;

    buf_init(&b, 0);
    while (nlsock_recv(sock, &b, false) != EAGAIN) {
        continue;
    }
    buf_uninit(&b);
}

/* The positive errno of the error field 'e' of an NLMSG_ERROR or
 * NLMSG_DONE (the kernel sends -errno): EPROTO for a value that is no
 * errno (INT_MIN has no positive counterpart). */
static int
nl_errno(int e)
{
    if (e < -4095 || e > 4095) {
        COUNTER_INC(netlink_bad_message);
        return EPROTO;
    }
    return e < 0 ? -e : e;
}

/* Logs the kernel's extended-ack message, if any, of an error message. */
static void
nl_log_ext_ack(const struct nlmsghdr *nlh, int error)
{
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || !LOG_DBG_IS_ON()) {
        return;
    }
    /* The TLVs follow the error, its echoed header and, unless capped,
     * the rest of the echoed request: all within the message. */
    size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    size_t ofs = sizeof *e;
    if (payload < ofs) {
        return;
    }
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
        if (e->msg.nlmsg_len < sizeof e->msg
            || e->msg.nlmsg_len - sizeof e->msg > payload - ofs) {
            return;
        }
        ofs += NLMSG_ALIGN(e->msg.nlmsg_len - sizeof e->msg);
    }
    const struct nlattr *a;
    mnl_attr_for_each(a, nlh, ofs) {
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG
            && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) {
            LOG_DBG("kernel: %s (%s)", mnl_attr_get_str(a), strerror(error));
        }
    }
}

/* The positive errno carried by the NLMSG_ERROR 'nlh' (0 for an ack). */
static int
nl_msg_error(const struct nlmsghdr *nlh)
{
    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int)) {
        COUNTER_INC(netlink_bad_message);
        return EPROTO;
    }
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    int error = nl_errno(e->error);
    if (error) {
        nl_log_ext_ack(nlh, error);
    }
    return error;
}

/* Prepares 'request' to be sent as sequence number 'seq'. */
static void
nl_request_prepare(struct nlsock *sock, struct buf *request, uint32_t seq,
                   uint16_t extra_flags)
{
    struct nlmsghdr *nlh = (struct nlmsghdr *) (void *) request->data;

    nlh->nlmsg_len = (uint32_t) request->size;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = sock->pid;
    nlh->nlmsg_flags |= NLM_F_REQUEST | extra_flags;
}

static int
nlsock_send_iov(struct nlsock *sock, struct iovec *iov, size_t n_iov)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct msghdr msg = {
        .msg_name = &kernel,
        .msg_namelen = sizeof kernel,
        .msg_iov = iov,
        .msg_iovlen = n_iov,
    };

    for (;;) {
        ssize_t n = sendmsg(nlsock_fd(sock), &msg, 0);
        if (n >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno;
        }
    }
}

void
nlsock_transact_multiple(struct nlsock *sock, struct nlsock_txn **txns,
                          size_t n)
{
    struct iovec iov[NLSOCK_TRANSACT_MAX];
    bool answered[NLSOCK_TRANSACT_MAX];
    uint32_t base = sock->next_seq;
    size_t n_left = n;

    if (n > NLSOCK_TRANSACT_MAX) {
        for (size_t i = 0; i < n; i++) {
            txns[i]->error = EINVAL;
        }
        return;
    }
    sock->next_seq += (uint32_t) n;
    for (size_t i = 0; i < n; i++) {
        nl_request_prepare(sock, txns[i]->request, base + (uint32_t) i,
                           NLM_F_ACK);
        iov[i].iov_base = txns[i]->request->data;
        iov[i].iov_len = txns[i]->request->size;
        txns[i]->error = 0;
        answered[i] = false;
        if (txns[i]->reply) {
            buf_clear(txns[i]->reply);
        }
    }

    int error = nlsock_send_iov(sock, iov, n);
    while (!error && n_left) {
        error = nlsock_recv(sock, &sock->rx, true);
        if (error) {
            break;
        }
        const struct nlmsghdr *nlh = (const void *) sock->rx.data;
        int left = (int) sock->rx.size;
        for (; nlsock_msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
            uint32_t idx = nlh->nlmsg_seq - base;
            if (idx >= n || answered[idx]) {
                COUNTER_INC(netlink_stray_reply);
                continue;
            }
            struct nlsock_txn *txn = txns[idx];
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                txn->error = nl_msg_error(nlh);
                answered[idx] = true;
                n_left--;
            } else if (nlh->nlmsg_type == NLMSG_DONE
                       || nlh->nlmsg_type == NLMSG_NOOP) {
                continue;
            } else if (txn->reply && !txn->reply->size) {
                buf_put(txn->reply, nlh, nlh->nlmsg_len);
            }
        }
        if (left) {
            COUNTER_INC(netlink_bad_message);
        }
    }
    if (error) {
        for (size_t i = 0; i < n; i++) {
            if (!answered[i]) {
                txns[i]->error = error;
            }
        }
    }
}

int
nlsock_transact(struct nlsock *sock, struct buf *request, struct buf *reply)
{
    struct nlsock_txn txn = { request, reply, 0 };
    struct nlsock_txn *txnp = &txn;

    nlsock_transact_multiple(sock, &txnp, 1);
    return txn.error;
}

int
nlsock_dump_start(struct nlsock_dump *dump, int protocol, struct buf *request)
{
    memset(dump, 0, sizeof *dump);
    buf_init(&dump->rx, 0);
    dump->done = true;
    int error = nlsock_create(protocol, &dump->sock);
    if (error) {
        dump->status = error;
        return error;
    }
    dump->seq = dump->sock->next_seq++;
    nl_request_prepare(dump->sock, request, dump->seq, NLM_F_DUMP);
    struct iovec iov = { request->data, request->size };
    error = nlsock_send_iov(dump->sock, &iov, 1);
    if (error) {
        dump->status = error;
        return error;
    }
    dump->done = false;
    return 0;
}

bool
nlsock_dump_next(struct nlsock_dump *dump, bool may_refill, const void **msgp,
             size_t *lenp)
{
    while (!dump->done) {
        if (dump->rx_ofs >= dump->rx.size) {
            if (!may_refill) {
                return false;
            }
            int error = nlsock_recv(dump->sock, &dump->rx, true);
            dump->rx_ofs = 0;
            if (error) {
                dump->status = error;
                dump->done = true;
                break;
            }
        }
        const struct nlmsghdr *nlh = (const void *) (dump->rx.data
                                                     + dump->rx_ofs);
        int left = (int) (dump->rx.size - dump->rx_ofs);
        if (!nlsock_msg_ok(nlh, left)) {
            COUNTER_INC(netlink_bad_message);
            dump->status = EPROTO;
            dump->done = true;
            break;
        }
        dump->rx_ofs += MIN((size_t) NLMSG_ALIGN(nlh->nlmsg_len),
                            (size_t) left);
        if (nlh->nlmsg_seq != dump->seq) {
            COUNTER_INC(netlink_stray_reply);
            continue;
        }
        if (nlh->nlmsg_type == NLMSG_DONE) {
            if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
                const int *e = mnl_nlmsg_get_payload(nlh);
                dump->status = nl_errno(*e);
            }
            dump->done = true;
            break;
        }
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            dump->status = nl_msg_error(nlh);
            dump->done = true;
            break;
        }
        *msgp = nlh;
        *lenp = nlh->nlmsg_len;
        return true;
    }
    return false;
}

int
nlsock_dump_done(struct nlsock_dump *dump)
{
    const void *msg;
    size_t len;

    while (nlsock_dump_next(dump, true, &msg, &len)) {
        continue;
    }
    nlsock_destroy(dump->sock);
    dump->sock = NULL;
    buf_uninit(&dump->rx);
    return dump->status;
}

bool
nlsock_msg_ok(const struct nlmsghdr *nlh, int left)
{
    return (left >= (int) sizeof *nlh && nlh->nlmsg_len >= sizeof *nlh
            && nlh->nlmsg_len <= (unsigned int) left);
}
