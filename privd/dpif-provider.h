/*
 * dpif-provider.h — the interface between the dpif layer and a datapath
 * implementation.
 *
 * A provider is a "struct dpif_class": a datapath type ("system", "netdev",
 * "dummy") and the functions that implement it.  privd/dpif.c wraps every
 * call: it checks arguments that the provider may rely on, logs flow
 * operations at debug level in the ovs-dpctl text format, and splits batches
 * into chunks of DPIF_OPERATE_CHUNK.
 *
 * Contract, stated once for every member: functions return 0 on success or a
 * positive errno value, except where otherwise noted.  Members marked "may be
 * NULL" are optional; the dpif layer then returns EOPNOTSUPP (or does
 * nothing, for run/wait).  Each provider's struct dpif embeds "struct dpif"
 * as its first member and recovers itself with CONTAINER_OF().
 */
#ifndef PRIVD_DPIF_PROVIDER_H
#define PRIVD_DPIF_PROVIDER_H 1

#include "privd/dpif.h"

/* The generic part of an open datapath. */
struct dpif {
    const struct dpif_class *class; /* Its provider. */
    char *name;                     /* Datapath name (owned). */
    char *full_name;                /* "type@name" (owned). */
};

/* The generic parts of a flow dump and of one reader of it; providers embed
 * them as first members. */
struct dpif_flow_dump {
    const struct dpif *dpif;        /* Datapath being dumped. */
    bool terse;                     /* Key, mask and actions may be omitted. */
};

struct dpif_flow_dump_thread {
    const struct dpif *dpif;        /* Datapath being dumped. */
};

/* Initializes the generic part; 'name' is copied. */
void dpif_init(struct dpif *, const struct dpif_class *, const char *name);
/* Frees what dpif_init() allocated. */
void dpif_uninit(struct dpif *);

struct dpif_class {
    /* Type name, e.g. "netdev"; "TYPE@NAME" selects this provider. */
    const char *type;

    /* Properties of the type, which callers ask through dpif.h
     * (dpif_outlives_process(), dpif_has_upcall_sockets()) instead of
     * comparing type names.  May be left out: false. */

    /* The datapath outlives the process that opened it (the kernel's):
     * close() leaves it and its flows in place.  False: it lives in privd
     * and dies with it (privd deletes it when it closes it). */
    bool outlives_process;

    /* Upcalls arrive on netlink sockets, one per handler, that privd hands
     * to the handlers (privd/dpif-netlink.h) and never reads.  False: they
     * are queued in privd, which takes them with recv() and feeds them
     * into the handlers' upcall rings. */
    bool upcall_sockets;

    /* One-time initialization at registration.  May be NULL. */
    int (*init)(void);

    /* Calls 'cb' with the name of every existing datapath of this type.
     * May be NULL (the type has no datapaths outside this process). */
    int (*enumerate)(void (*cb)(const char *name, void *aux), void *aux);

    /* Opens the datapath 'name'; creates it first if 'create' is true (EEXIST
     * if it exists then).  ENODEV if it does not exist and !create.  On
     * success stores the new dpif in '*dpifp'. */
    int (*open)(const struct dpif_class *, const char *name, bool create,
                struct dpif **dpifp);

    /* Closes 'dpif' and frees it; the datapath itself goes on existing when
     * it can outlive us (the kernel's). */
    void (*close)(struct dpif *dpif);

    /* Destroys the datapath: after close() it no longer exists. */
    int (*destroy)(struct dpif *dpif);

    /* Does periodic work (receives from ports, expires queued data...).
     * May be NULL. */
    void (*run)(struct dpif *dpif);

    /* Registers in 'p' what would make run() have work.  May be NULL. */
    void (*wait)(struct dpif *dpif, struct poller *p);

    /* Datapath statistics. */
    int (*get_stats)(const struct dpif *dpif, struct dpif_dp_stats *stats);

    /* Adds the device 'name' of type 'type' as a port.  If '*port_nop' is not
     * UINT32_MAX it is the number requested (EBUSY if taken, EFBIG if beyond
     * the datapath's range); otherwise a number is allocated and stored in
     * '*port_nop'. */
    int (*port_add)(struct dpif *dpif, const char *name, const char *type,
                    uint32_t *port_nop);

    /* Removes port 'port_no' (EINVAL for the local port 0). */
    int (*port_del)(struct dpif *dpif, uint32_t port_no);

    /* Looks a port up.  'port', if nonnull, gets strings the caller frees
     * with dpif_port_destroy().  ENODEV (by number) or ENODEV (by name) if
     * there is no such port. */
    int (*port_query_by_number)(const struct dpif *dpif, uint32_t port_no,
                                struct dpif_port *port);
    int (*port_query_by_name)(const struct dpif *dpif, const char *name,
                              struct dpif_port *port);

    /* Per-port counters.  May be NULL. */
    int (*port_get_stats)(const struct dpif *dpif, uint32_t port_no,
                          struct dpif_port_stats *stats);

    /* Channel id ("Netlink PID") on which misses from 'port_no' are queued,
     * or of the special channel for DPIF_SPECIAL_PORT_PID.  Returns 0 when
     * upcalls are disabled.  Never fails. */
    uint32_t (*port_get_pid)(const struct dpif *dpif, uint32_t port_no);

    /* Calls 'cb' for every port; strings valid only during the call. */
    int (*port_dump)(const struct dpif *dpif,
                     void (*cb)(const struct dpif_port *, void *aux),
                     void *aux);

    /* Port change notifications, see dpif_port_poll().  May be NULL (no
     * changes happen behind our back). */
    int (*port_poll)(const struct dpif *dpif, char **devnamep);
    void (*port_poll_wait)(const struct dpif *dpif, struct poller *p);

    /* Removes every flow. */
    int (*flow_flush)(struct dpif *dpif);

    /* Flow dumps, see dpif.h.  The provider allocates the dump and thread
     * structures; destroy frees them.  dump_destroy returns the dump's
     * first error, if any. */
    struct dpif_flow_dump *(*flow_dump_create)(const struct dpif *dpif,
                                               bool terse);
    int (*flow_dump_destroy)(struct dpif_flow_dump *dump);
    struct dpif_flow_dump_thread *(*flow_dump_thread_create)(
        struct dpif_flow_dump *dump);
    void (*flow_dump_thread_destroy)(struct dpif_flow_dump_thread *thread);
    int (*flow_dump_next)(struct dpif_flow_dump_thread *thread,
                          struct dpif_flow *flows, int max_flows);

    /* Executes 'n_ops' ops (at most DPIF_OPERATE_CHUNK), storing each op's
     * result in its 'error'.  FLOW_PUT/DEL/GET/EXECUTE semantics are those of
     * dpif.h. */
    void (*operate)(struct dpif *dpif, struct dpif_op **ops, size_t n_ops);

    /* Enables or disables upcalls.  Disabled upcalls are dropped and counted
     * as lost. */
    int (*recv_set)(struct dpif *dpif, bool enable);

    /* Sets the number of handler channels; ports are spread over them. */
    int (*handlers_set)(struct dpif *dpif, uint32_t n_handlers);

    /* Takes the next upcall of channel 'handler_id'; EAGAIN if none. */
    int (*recv)(struct dpif *dpif, uint32_t handler_id,
                struct dpif_upcall *upcall);

    /* Wakes 'p' when channel 'handler_id' has an upcall. */
    void (*recv_wait)(struct dpif *dpif, uint32_t handler_id,
                      struct poller *p);

    /* Drops every queued upcall. */
    void (*recv_purge)(struct dpif *dpif);

    /* Dummy ports only (may be NULL): receives 'frame' on 'port_no' as if it
     * had arrived from the wire. */
    int (*packet_inject)(struct dpif *dpif, uint32_t port_no,
                         const void *frame, size_t len);

    /* Dummy ports only (may be NULL): calls 'cb' for each frame transmitted
     * on 'port_no', oldest first, with its time_wall_msec() stamp; then
     * empties the capture ring if 'clear'. */
    int (*capture_read)(struct dpif *dpif, uint32_t port_no, bool clear,
                        void (*cb)(const void *frame, size_t len,
                                   long long wall_msec, void *aux),
                        void *aux);
};

/* The providers privd is built with. */
extern const struct dpif_class dpif_netdev_class;  /* userspace, real ports */
extern const struct dpif_class dpif_dummy_class;   /* userspace, dummy ports */
extern const struct dpif_class dpif_system_class;  /* the kernel's
                                                    * (dpif-netlink.c) */

#endif /* dpif-provider.h */
