/*
 * netdev-port.h — the network devices behind the userspace datapath's ports.
 *
 * Overview
 * ========
 *
 * The userspace datapath (privd/dpif-netdev.c) receives frames from, and
 * transmits frames to, its ports through this interface.  A port is opened
 * by device name and type:
 *
 *   "dummy"     No device at all.  netdev_port_inject() hands the datapath a
 *               frame "received" on it (the datapath processes it at once),
 *               and every frame transmitted on it is kept in a bounded
 *               capture ring (NETDEV_CAPTURE_LEN frames; when full the
 *               oldest is dropped and counted) that netdev_port_capture_read()
 *               returns.  Needs no privileges: the test suite's workhorse.
 *               (privd/netdev-dummy.c)
 *
 *   "system"    An existing Linux interface, through an AF_PACKET socket
 *               bound to it: non-blocking, promiscuous, batched with
 *               recvmmsg()/sendmmsg().  The kernel strips the 802.1Q tag of
 *               received frames into PACKET_AUXDATA; it is put back, so a
 *               tagged frame reaches the datapath with its tag.  Frames the
 *               host itself sends (PACKET_OUTGOING) are ignored.  Needs
 *               CAP_NET_RAW.  (privd/netdev-afpacket.c)
 *
 *   "internal"  A TAP device created for the port (IFF_TAP | IFF_NO_PI),
 *               non-blocking; it disappears with the port.  Needs
 *               CAP_NET_ADMIN.  The datapath's local port is one.
 *               (privd/netdev-tap.c)
 *
 * Receiving is batched and bounded: netdev_port_recv() returns at most
 * 'max' frames, so the datapath can serve its ports fairly.  Transmitting
 * may be batched too: netdev_port_send() may hold the frame until
 * netdev_port_flush(), which the datapath calls after each batch it
 * processed.
 *
 * Every drop has a named counter (netdev_*), and the per-port counters
 * (struct dpif_port_stats) count packets and bytes each way and drops.
 *
 *
 * Ownership and thread safety
 * ===========================
 *
 * The caller owns a struct netdev_port from netdev_port_open() until
 * netdev_port_close().  Frames passed in are borrowed for the call (copied
 * if kept); frames returned by netdev_port_recv() belong to the port and
 * stay valid until the next call on it.  Single-threaded.
 */
#ifndef PRIVD_NETDEV_PORT_H
#define PRIVD_NETDEV_PORT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privd/dpif.h"

/* Frames kept in a dummy port's capture ring. */
#define NETDEV_CAPTURE_LEN 1024

/* Most frames one netdev_port_recv() or one transmit batch handles. */
#define NETDEV_BATCH 32

/* Largest frame a system or internal port receives (a 9000-byte MTU plus
 * Ethernet and 802.1Q headers); longer ones are dropped and counted. */
#define NETDEV_MAX_FRAME (9000 + 14 + 4)

/* A received frame, owned by its port. */
struct netdev_frame {
    const uint8_t *data;        /* Starts at the Ethernet header. */
    size_t size;                /* Bytes at 'data'. */
};

struct netdev_port;

/* The implementation of one port type (private to netdev-*.c). */
struct netdev_port_class {
    const char *type;           /* "dummy", "system", "internal". */

    /* Opens device 'name' for 'port' (whose generic members are set);
     * stores private state in port->impl. */
    int (*open)(struct netdev_port *port);

    /* Frees port->impl and closes its fds. */
    void (*close)(struct netdev_port *port);

    /* Receives up to 'max' frames into 'frames'.  Returns how many.  NULL
     * for types that never receive by themselves (dummy). */
    size_t (*recv)(struct netdev_port *port, struct netdev_frame frames[],
                   size_t max);

    /* Transmits (or queues for transmission) one frame.  Counts its own
     * drops in port->stats. */
    void (*send)(struct netdev_port *port, const void *frame, size_t len);

    /* Transmits what send() queued.  May be NULL. */
    void (*flush)(struct netdev_port *port);

    /* The fd to poll for input, or -1. */
    int (*get_fd)(const struct netdev_port *port);
};

/* An open port device. */
struct netdev_port {
    const struct netdev_port_class *class; /* Its type. */
    char *name;                 /* Device name (owned). */
    struct dpif_port_stats stats; /* Packets, bytes and drops each way. */
    void *impl;                 /* Type-specific state (owned by class). */
};

/* True if 'type' is a port type this module knows. */
bool netdev_port_type_is_known(const char *type);

/* Opens the device 'name' as a port of 'type'.  Returns 0 and the new port
 * in '*portp', EINVAL for an unknown type, or the errno of the failed open
 * (EPERM without privileges, ENODEV for a missing system interface, EBUSY
 * for an existing internal device...). */
int netdev_port_open(const char *name, const char *type,
                     struct netdev_port **portp);

/* Closes 'port' (NULL is allowed), flushing what it queued. */
void netdev_port_close(struct netdev_port *port);

const char *netdev_port_type(const struct netdev_port *port);
const char *netdev_port_name(const struct netdev_port *port);

/* True if the port is a dummy port (inject and capture work on it). */
bool netdev_port_is_dummy(const struct netdev_port *port);

/* Receives at most 'max' frames (see struct netdev_frame for how long they
 * stay valid).  Returns how many; 0 when nothing is waiting or the type
 * does not receive by itself. */
size_t netdev_port_recv(struct netdev_port *port, struct netdev_frame frames[],
                        size_t max);

/* Transmits 'frame', possibly only at the next netdev_port_flush(). */
void netdev_port_send(struct netdev_port *port, const void *frame,
                      size_t len);

/* Transmits whatever netdev_port_send() held back. */
void netdev_port_flush(struct netdev_port *port);

/* The fd to poll for input, or -1 (dummy ports). */
int netdev_port_get_fd(const struct netdev_port *port);

/* Counts a frame received on 'port' (for types whose frames are injected). */
void netdev_port_count_rx(struct netdev_port *port, size_t len);

/* Dummy ports: calls 'cb' for every captured frame, oldest first, with its
 * time_wall_msec() stamp, then empties the ring if 'clear'.  EOPNOTSUPP for
 * other types. */
int netdev_port_capture_read(struct netdev_port *port, bool clear,
                             void (*cb)(const void *frame, size_t len,
                                        long long wall_msec, void *aux),
                             void *aux);

/* The port type implementations. */
extern const struct netdev_port_class netdev_dummy_class;
extern const struct netdev_port_class netdev_afpacket_class;
extern const struct netdev_port_class netdev_tap_class;

/* Implementation of netdev_port_capture_read() (netdev-dummy.c). */
int netdev_dummy_capture_read(struct netdev_port *port, bool clear,
                              void (*cb)(const void *frame, size_t len,
                                         long long wall_msec, void *aux),
                              void *aux);

#endif /* netdev-port.h */
