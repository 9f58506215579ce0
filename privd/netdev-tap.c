/* "internal" ports: a TAP device (IFF_TAP | IFF_NO_PI) created for the port,
 * non-blocking; it goes away when the port closes.  See netdev-port.h. */
#include "privd/netdev-port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/util.h"

LOG_MODULE(netdev_tap);

COUNTER_DEFINE(netdev_tap_rx_error);
COUNTER_DEFINE(netdev_tap_rx_too_big);
COUNTER_DEFINE(netdev_tap_tx_error);

/* An internal port's state. */
struct netdev_tap {
    int fd;                     /* /dev/net/tun, attached to the device. */
    uint8_t *rx_bufs;           /* NETDEV_BATCH buffers of NETDEV_MAX_FRAME
                                 * + 1 bytes (one more to see oversizes). */
};

#define TAP_BUF_SIZE (NETDEV_MAX_FRAME + 1)

static int
netdev_tap_open(struct netdev_port *port)
{
    struct ifreq ifr;

    if (strlen(port->name) >= sizeof ifr.ifr_name) {
        return ENAMETOOLONG;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, port->name, strlen(port->name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int error = errno;
        close(fd);
        return error;
    }
    struct netdev_tap *t = xzalloc(sizeof *t);
    t->fd = fd;
    t->rx_bufs = xmalloc((size_t) NETDEV_BATCH * TAP_BUF_SIZE);
    port->impl = t;
    return 0;
}

static void
netdev_tap_close(struct netdev_port *port)
{
    struct netdev_tap *t = port->impl;
    close(t->fd);
    free(t->rx_bufs);
    free(t);
}

static size_t
netdev_tap_recv(struct netdev_port *port, struct netdev_frame frames[],
                size_t max)
{
    struct netdev_tap *t = port->impl;
    size_t n = 0;

    /* A TAP fd has no recvmmsg(): one read() per frame, at most a batch. */
    for (size_t i = 0; i < MIN(max, (size_t) NETDEV_BATCH); i++) {
        uint8_t *buf = t->rx_bufs + n * TAP_BUF_SIZE;
        ssize_t r = read(t->fd, buf, TAP_BUF_SIZE);
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                static struct log_rl rl = LOG_RL_INIT(1, 5);
                COUNTER_INC(netdev_tap_rx_error);
                LOG_WARN_RL(&rl, "%s: read: %s", port->name, strerror(errno));
            }
            break;
        }
        if ((size_t) r > NETDEV_MAX_FRAME) {
            COUNTER_INC(netdev_tap_rx_too_big);
            port->stats.rx_dropped++;
            continue;
        }
        frames[n++] = (struct netdev_frame) { buf, (size_t) r };
        netdev_port_count_rx(port, (size_t) r);
    }
    return n;
}

static void
netdev_tap_send(struct netdev_port *port, const void *frame, size_t len)
{
    struct netdev_tap *t = port->impl;

    if (write(t->fd, frame, len) != (ssize_t) len) {
        /* EIO while the device is down, EAGAIN when its queue is full. */
        COUNTER_INC(netdev_tap_tx_error);
        port->stats.tx_dropped++;
        return;
    }
    port->stats.tx_packets++;
    port->stats.tx_bytes += len;
}

static int
netdev_tap_get_fd(const struct netdev_port *port)
{
    const struct netdev_tap *t = port->impl;
    return t->fd;
}

const struct netdev_port_class netdev_tap_class = {
    .type = "internal",
    .open = netdev_tap_open,
    .close = netdev_tap_close,
    .recv = netdev_tap_recv,
    .send = netdev_tap_send,
    .flush = NULL,
    .get_fd = netdev_tap_get_fd,
};
