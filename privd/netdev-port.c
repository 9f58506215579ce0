/* Port devices of the userspace datapath: dispatch to the port types; see
 * netdev-port.h. */
#include "privd/netdev-port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const struct netdev_port_class *const netdev_classes[] = {
    &netdev_dummy_class,
    &netdev_afpacket_class,
    &netdev_tap_class,
};

static const struct netdev_port_class *
netdev_class_find(const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(netdev_classes); i++) {
        if (type && !strcmp(netdev_classes[i]->type, type)) {
            return netdev_classes[i];
        }
    }
    return NULL;
}

bool
netdev_port_type_is_known(const char *type)
{
    return netdev_class_find(type) != NULL;
}

int
netdev_port_open(const char *name, const char *type,
                 struct netdev_port **portp)
{
    const struct netdev_port_class *class = netdev_class_find(type);

    *portp = NULL;
    if (!class) {
        return EINVAL;
    }
    struct netdev_port *port = xzalloc(sizeof *port);
    port->class = class;
    port->name = xstrdup(name);
    int error = class->open(port);
    if (error) {
        free(port->name);
        free(port);
        return error;
    }
    *portp = port;
    return 0;
}

void
netdev_port_close(struct netdev_port *port)
{
    if (port) {
        netdev_port_flush(port);
        port->class->close(port);
        free(port->name);
        free(port);
    }
}

const char *
netdev_port_type(const struct netdev_port *port)
{
    return port->class->type;
}

const char *
netdev_port_name(const struct netdev_port *port)
{
    return port->name;
}

bool
netdev_port_is_dummy(const struct netdev_port *port)
{
    return port->class == &netdev_dummy_class;
}

size_t
netdev_port_recv(struct netdev_port *port, struct netdev_frame frames[],
                 size_t max)
{
    return port->class->recv && max ? port->class->recv(port, frames, max)
                                    : 0;
}

void
netdev_port_send(struct netdev_port *port, const void *frame, size_t len)
{
    port->class->send(port, frame, len);
}

void
netdev_port_flush(struct netdev_port *port)
{
    if (port->class->flush) {
        port->class->flush(port);
    }
}

int
netdev_port_get_fd(const struct netdev_port *port)
{
    return port->class->get_fd ? port->class->get_fd(port) : -1;
}

void
netdev_port_count_rx(struct netdev_port *port, size_t len)
{
    port->stats.rx_packets++;
    port->stats.rx_bytes += len;
}

int
netdev_port_capture_read(struct netdev_port *port, bool clear,
                         void (*cb)(const void *frame, size_t len,
                                    long long wall_msec, void *aux),
                         void *aux)
{
    return (netdev_port_is_dummy(port)
            ? netdev_dummy_capture_read(port, clear, cb, aux)
            : EOPNOTSUPP);
}
