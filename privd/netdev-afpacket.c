/* "system" ports: an existing Linux interface through a non-blocking,
 * promiscuous AF_PACKET socket, batched with recvmmsg()/sendmmsg(), with
 * 802.1Q tags put back from PACKET_AUXDATA.  See netdev-port.h. */
#include "privd/netdev-port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/util.h"

LOG_MODULE(netdev_afpacket);

COUNTER_DEFINE(netdev_afpacket_rx_truncated);
COUNTER_DEFINE(netdev_afpacket_rx_error);
COUNTER_DEFINE(netdev_afpacket_tx_error);
COUNTER_DEFINE(netdev_afpacket_tx_too_big);

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Room for a received frame: the tag the kernel stripped goes back in
 * front, so each buffer keeps 4 spare bytes at its start. */
#define RX_BUF_SIZE (NETDEV_MAX_FRAME + 4)

/* A system port's state. */
struct netdev_afpacket {
    int fd;                     /* AF_PACKET socket (owned). */
    int ifindex;                /* The interface. */
    uint8_t *rx_bufs;           /* NETDEV_BATCH buffers of RX_BUF_SIZE. */
    struct mmsghdr rx_msgs[NETDEV_BATCH];       /* recvmmsg() vector. */
    struct iovec rx_iovs[NETDEV_BATCH];         /* One buffer each. */
    struct sockaddr_ll rx_addrs[NETDEV_BATCH];  /* Packet types. */
    union {
        struct cmsghdr align;   /* Alignment of the control buffers. */
        uint8_t buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } rx_cmsgs[NETDEV_BATCH];   /* PACKET_AUXDATA of each frame. */
    uint8_t *tx_bufs;           /* NETDEV_BATCH buffers of RX_BUF_SIZE. */
    struct mmsghdr tx_msgs[NETDEV_BATCH];       /* sendmmsg() vector. */
    struct iovec tx_iovs[NETDEV_BATCH];         /* One frame each. */
    size_t n_tx;                /* Frames queued in tx_bufs. */
};

static int
netdev_afpacket_open(struct netdev_port *port)
{
    unsigned int ifindex = if_nametoindex(port->name);
    if (!ifindex) {
        return ENODEV;
    }

    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    htons(ETH_P_ALL));
    if (fd < 0) {
        return errno;
    }

    int one = 1;
    int error = 0;
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
        error = errno;
        goto err;
    }
    /* Best effort (Linux >= 4.20); PACKET_OUTGOING is filtered anyway. */
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);

    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = (int) ifindex,
    };
    if (bind(fd, (struct sockaddr *) &sll, sizeof sll) < 0) {
        error = errno;
        goto err;
    }
    struct packet_mreq mreq = {
        .mr_ifindex = (int) ifindex,
        .mr_type = PACKET_MR_PROMISC,
    };
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq,
                   sizeof mreq) < 0) {
        error = errno;
        goto err;
    }

    struct netdev_afpacket *a = xzalloc(sizeof *a);
    a->fd = fd;
    a->ifindex = (int) ifindex;
    a->rx_bufs = xmalloc((size_t) NETDEV_BATCH * RX_BUF_SIZE);
    a->tx_bufs = xmalloc((size_t) NETDEV_BATCH * RX_BUF_SIZE);
    port->impl = a;
    return 0;

err:
    close(fd);
    return error;
}

static void
netdev_afpacket_close(struct netdev_port *port)
{
    struct netdev_afpacket *a = port->impl;
    close(a->fd);
    free(a->rx_bufs);
    free(a->tx_bufs);
    free(a);
}

/* Puts back the 802.1Q tag the kernel moved into 'aux' in front of the
 * frame at 'data' ('*sizep' bytes, with 4 spare bytes before it).  Returns
 * the new start. */
static uint8_t *
netdev_afpacket_reinsert_vlan(uint8_t *data, size_t *sizep,
                              const struct tpacket_auxdata *aux)
{
    if (!(aux->tp_status & TP_STATUS_VLAN_VALID) || *sizep < 12) {
        return data;
    }
    uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID
                     ? aux->tp_vlan_tpid : ETH_P_8021Q);
    uint8_t *start = data - 4;
    memmove(start, data, 12);                   /* MAC addresses. */
    ovs_be16 tag[2] = { htons(tpid), htons(aux->tp_vlan_tci) };
    memcpy(start + 12, tag, sizeof tag);
    *sizep += 4;
    return start;
}

static size_t
netdev_afpacket_recv(struct netdev_port *port, struct netdev_frame frames[],
                     size_t max)
{
    struct netdev_afpacket *a = port->impl;
    size_t n_req = MIN(max, (size_t) NETDEV_BATCH);

    for (size_t i = 0; i < n_req; i++) {
        a->rx_iovs[i] = (struct iovec) {
            .iov_base = a->rx_bufs + i * RX_BUF_SIZE + 4,
            .iov_len = RX_BUF_SIZE - 4,
        };
        a->rx_msgs[i] = (struct mmsghdr) {
            .msg_hdr = {
                .msg_name = &a->rx_addrs[i],
                .msg_namelen = sizeof a->rx_addrs[i],
                .msg_iov = &a->rx_iovs[i],
                .msg_iovlen = 1,
                .msg_control = a->rx_cmsgs[i].buf,
                .msg_controllen = sizeof a->rx_cmsgs[i].buf,
            },
        };
    }
    int n = recvmmsg(a->fd, a->rx_msgs, (unsigned int) n_req, MSG_TRUNC,
                     NULL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            COUNTER_INC(netdev_afpacket_rx_error);
            LOG_WARN_RL(&rl, "%s: recvmmsg: %s", port->name, strerror(errno));
        }
        return 0;
    }

    size_t n_out = 0;
    for (int i = 0; i < n; i++) {
        struct msghdr *msg = &a->rx_msgs[i].msg_hdr;
        size_t size = a->rx_msgs[i].msg_len;

        if (a->rx_addrs[i].sll_pkttype == PACKET_OUTGOING) {
            continue;
        }
        if (msg->msg_flags & MSG_TRUNC || size > NETDEV_MAX_FRAME) {
            COUNTER_INC(netdev_afpacket_rx_truncated);
            port->stats.rx_dropped++;
            continue;
        }
        uint8_t *data = a->rx_iovs[i].iov_base;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
             c = CMSG_NXTHDR(msg, c)) {
            if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA
                && c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
                struct tpacket_auxdata aux;
                memcpy(&aux, CMSG_DATA(c), sizeof aux);
                data = netdev_afpacket_reinsert_vlan(data, &size, &aux);
            }
        }
        frames[n_out++] = (struct netdev_frame) { data, size };
        netdev_port_count_rx(port, size);
    }
    return n_out;
}

static void
netdev_afpacket_flush(struct netdev_port *port)
{
    struct netdev_afpacket *a = port->impl;
    size_t done = 0;

    while (done < a->n_tx) {
        int n = sendmmsg(a->fd, &a->tx_msgs[done],
                         (unsigned int) (a->n_tx - done), 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            /* The frame at 'done' failed (ENOBUFS, EMSGSIZE, ENETDOWN...):
             * count it and carry on with the rest. */
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            COUNTER_INC(netdev_afpacket_tx_error);
            LOG_WARN_RL(&rl, "%s: sendmmsg: %s", port->name,
                        strerror(errno));
            port->stats.tx_dropped++;
            done++;
            continue;
        }
        for (int i = 0; i < n; i++) {
            port->stats.tx_packets++;
            port->stats.tx_bytes += a->tx_iovs[done + (size_t) i].iov_len;
        }
        done += (size_t) n;
    }
    a->n_tx = 0;
}

static void
netdev_afpacket_send(struct netdev_port *port, const void *frame, size_t len)
{
    struct netdev_afpacket *a = port->impl;

    if (len > RX_BUF_SIZE) {
        COUNTER_INC(netdev_afpacket_tx_too_big);
        port->stats.tx_dropped++;
        return;
    }
    size_t i = a->n_tx++;
    uint8_t *buf = a->tx_bufs + i * RX_BUF_SIZE;
    memcpy(buf, frame, len);
    a->tx_iovs[i] = (struct iovec) { .iov_base = buf, .iov_len = len };
    a->tx_msgs[i] = (struct mmsghdr) {
        .msg_hdr = { .msg_iov = &a->tx_iovs[i], .msg_iovlen = 1 },
    };
    if (a->n_tx == NETDEV_BATCH) {
        netdev_afpacket_flush(port);
    }
}

static int
netdev_afpacket_get_fd(const struct netdev_port *port)
{
    const struct netdev_afpacket *a = port->impl;
    return a->fd;
}

const struct netdev_port_class netdev_afpacket_class = {
    .type = "system",
    .open = netdev_afpacket_open,
    .close = netdev_afpacket_close,
    .recv = netdev_afpacket_recv,
    .send = netdev_afpacket_send,
    .flush = netdev_afpacket_flush,
    .get_fd = netdev_afpacket_get_fd,
};
