/*
 * dpif.h — the DataPath InterFace inside privd.
 *
 * Overview
 * ========
 *
 * A "datapath" is a dumb, fast flow cache: a set of ports, a table of flows
 * (key + mask + actions + stats) and upcall queues for packets it cannot
 * handle itself.  All intelligence is in userspace: dpif-handlerd decides what
 * a missed packet should do and installs a megaflow; dpif-revald keeps the
 * table healthy.  This header is the interface privd — the only process that
 * may touch a datapath — offers over every kind of datapath.  Its semantics
 * are those of Open vSwitch's lib/dpif.h (see ../shared/seeds/dpif.h), which
 * this summary follows; where we differ we say so.
 *
 * A datapath is named "TYPE@NAME" (dpif_parse_name()): "netdev@br0" is the
 * userspace datapath br0 with real ports, "dummy@br0" the same with dummy
 * ports only, "system@br0" the Linux openvswitch kernel module.  A bare name
 * means "system".  Providers register in a table (dpif_register_provider());
 * a provider type can be blacklisted before registration
 * (dpif_blacklist_provider()), as in the seeds.
 *
 *
 * Ports
 * =====
 *
 * A port has a name (unique on the host), a 32-bit number (unique in the
 * datapath) and a type ("system", "internal", "dummy").  Port 0 is the local
 * port, named after the datapath; it cannot be deleted.  dpif_port_add()
 * takes a requested number or allocates one.  dpif_port_poll() reports
 * ports added or removed behind our back (the kernel's vport notifications).
 *
 *
 * Flow Table
 * ==========
 *
 * A flow is a key (OVS_KEY_ATTR_* attributes), a mask of the same format (a
 * 1 bit matches, a 0 bit is wildcarded; an absent mask means exact match),
 * actions (OVS_ACTION_ATTR_*; empty = drop) and statistics.  Flows have no
 * priorities: the client must not install overlapping flows.  Each flow has
 * a UFID (common/ufid.h), chosen by the client; if the client gives none the
 * UFID is derived from the key and mask.  Later operations may name a flow by
 * its key or by its UFID.
 *
 * dpif_flow_put() follows the seeds exactly:
 *
 *   - DPIF_FP_CREATE without MODIFY: EEXIST if the flow exists.
 *   - DPIF_FP_MODIFY without CREATE: ENOENT if it does not.
 *   - both: create or replace the actions.
 *   - DPIF_FP_ZERO_STATS with MODIFY zeroes the stats of the modified flow.
 *   - if 'stats' is nonnull, the stats of the flow before a modify (zero on
 *     create) are stored there.
 *
 * dpif_flow_del() returns the final stats of the deleted flow.
 *
 * Dumps iterate the whole table.  A dump has a shared part and a per-reader
 * part (dpif_flow_dump_create()/dpif_flow_dump_next()); the flows returned
 * are owned by the dump and valid until the next call on the same dump.  A
 * flow added or deleted during a dump may or may not be seen; a flow present
 * throughout is seen exactly once.
 *
 *
 * Upcalls
 * =======
 *
 * A packet that misses the flow table becomes a DPIF_UC_MISS upcall; a
 * USERSPACE action makes a DPIF_UC_ACTION upcall carrying its userdata.  An
 * upcall carries the whole packet and its key.
 *
 * Queuing and fairness (the seeds' "Upcall Queuing and Ordering"):  each
 * port has its own bounded queue (DPIF_UPCALL_QUEUE_LEN by default) and the
 * queues are served round robin, so that one port's flood cannot delay or
 * drop another port's upcalls; a full queue drops and counts the packet as
 * "lost".  Each queue belongs to one handler channel; dpif_port_get_pid()
 * returns the channel id ("Netlink PID") of a port, and
 * DPIF_SPECIAL_PORT_PID asks for the special channel not tied to any port
 * (for userspace actions that must not be lost behind a busy port).
 * dpif_handlers_set() says how many handler channels exist; dpif_recv()
 * takes the next upcall of one channel.
 *
 *
 * Batches
 * =======
 *
 * dpif_operate() executes an array of FLOW_PUT / FLOW_DEL / EXECUTE /
 * FLOW_GET ops, each with its own result.  Providers process them in chunks
 * of at most DPIF_OPERATE_CHUNK (50, as the seeds' transact_multiple).
 *
 *
 * Errors, ownership, threads
 * ==========================
 *
 * Functions return 0 or a positive errno.  Buffers passed in are borrowed
 * for the duration of the call.  Results that point into provider memory say
 * how long they stay valid.  privd is single-threaded; a dpif is not shared
 * between threads.
 */
#ifndef PRIVD_DPIF_H
#define PRIVD_DPIF_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/poller.h"
#include "common/ufid.h"

struct dpif;
struct dpif_class;

#define DPIF_OPERATE_CHUNK 50        /* Ops per provider transaction. */
#define DPIF_UPCALL_QUEUE_LEN 512    /* Default per-port upcall queue. */
#define DPIF_SPECIAL_PORT_PID UINT32_MAX /* Port argument to port_get_pid()
                                          * for the special channel. */
#define DPIF_NAME_MAX 15             /* Longest datapath or port name. */

/* Datapath-wide statistics (the kernel's ovs_dp_stats + ovs_dp_megaflow_stats). */
struct dpif_dp_stats {
    uint64_t n_hit;              /* Packets that matched a flow. */
    uint64_t n_missed;           /* Packets that missed (upcalls queued). */
    uint64_t n_lost;             /* Upcalls dropped (queue full). */
    uint64_t n_flows;            /* Flows now in the table. */
    uint64_t n_mask_hit;         /* Masks visited by matched lookups. */
    uint32_t n_masks;            /* Distinct masks now in the table. */
};

/* One port.  Its strings are owned by whoever filled it in (see the
 * function that returned it). */
struct dpif_port {
    char *name;                  /* Network device name. */
    char *type;                  /* "system", "internal", "dummy". */
    uint32_t port_no;            /* Port number in the datapath. */
};

/* Per-port packet counters. */
struct dpif_port_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped;
    uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct dpif_flow_stats {
    uint64_t n_packets;          /* Packets that hit the flow. */
    uint64_t n_bytes;            /* Their bytes. */
    long long used;              /* time_msec() of the last hit; 0 = never. */
    uint16_t tcp_flags;          /* Union of TCP flags seen (host order). */
};

/* A flow as returned by a get or a dump.  All pointers are owned by the
 * provider and valid as the returning function says. */
struct dpif_flow {
    const void *key;             /* OVS_KEY_ATTR_* stream. */
    size_t key_len;
    const void *mask;            /* Mask stream (same attribute layout). */
    size_t mask_len;
    const void *actions;         /* OVS_ACTION_ATTR_* stream. */
    size_t actions_len;
    union ufid ufid;             /* The flow's UFID. */
    struct dpif_flow_stats stats;
};

enum dpif_flow_put_flags {
    DPIF_FP_CREATE = 1 << 0,     /* Allow creating a new flow. */
    DPIF_FP_MODIFY = 1 << 1,     /* Allow modifying an existing flow. */
    DPIF_FP_ZERO_STATS = 1 << 2, /* Zero the stats of a modified flow. */
};

enum dpif_op_type {
    DPIF_OP_FLOW_PUT = 1,
    DPIF_OP_FLOW_DEL,
    DPIF_OP_EXECUTE,
    DPIF_OP_FLOW_GET,
};

/* Arguments of a flow put; all buffers borrowed for the call. */
struct dpif_flow_put {
    enum dpif_flow_put_flags flags;
    const void *key;             /* Required. */
    size_t key_len;
    const void *mask;            /* NULL: exact match. */
    size_t mask_len;
    const void *actions;         /* May be empty: drop. */
    size_t actions_len;
    const union ufid *ufid;      /* NULL: derived from key and mask. */
    struct dpif_flow_stats *stats; /* Out, may be NULL: stats before. */
};

/* Arguments of a flow delete: by UFID if 'ufid' is nonnull, else by key. */
struct dpif_flow_del {
    const void *key;
    size_t key_len;
    const union ufid *ufid;
    struct dpif_flow_stats *stats; /* Out, may be NULL: final stats. */
};

/* Arguments of an execute: run 'actions' on 'packet' whose metadata (in_port,
 * priority, skb_mark, recirc_id...) comes from 'key'. */
struct dpif_execute {
    const void *key;             /* Only metadata attributes are used. */
    size_t key_len;
    const void *packet;          /* Ethernet frame, >= 14 bytes. */
    size_t packet_len;
    const void *actions;
    size_t actions_len;
};

/* Arguments of a flow get: by UFID if nonnull, else by key.  On success
 * 'flow' points into 'buffer', which the caller owns. */
struct dpif_flow_get {
    const void *key;
    size_t key_len;
    const union ufid *ufid;
    struct buf *buffer;          /* Storage for the result. */
    struct dpif_flow *flow;      /* Out. */
};

/* One op of a batch.  'error' is the result. */
struct dpif_op {
    enum dpif_op_type type;
    int error;                   /* Out: 0 or a positive errno. */
    union {
        struct dpif_flow_put flow_put;
        struct dpif_flow_del flow_del;
        struct dpif_execute execute;
        struct dpif_flow_get flow_get;
    };
};

enum dpif_upcall_type {
    DPIF_UC_MISS = 0,            /* No flow matched. */
    DPIF_UC_ACTION,              /* OVS_ACTION_ATTR_USERSPACE. */
};

/* An upcall.  The receiver owns 'packet' and 'key' (heap, or in the buffer
 * given to dpif_recv(); see there). */
struct dpif_upcall {
    enum dpif_upcall_type type;
    uint32_t in_port;            /* Port the packet arrived on. */
    struct buf packet;           /* The whole frame. */
    struct buf key;              /* Its flow key (OVS_KEY_ATTR_*). */
    struct buf userdata;         /* USERSPACE userdata; empty for misses. */
    uint32_t pid;                /* Channel it was queued on. */
};

/* Registry and names. */
int dpif_register_provider(const struct dpif_class *);
void dpif_blacklist_provider(const char *type);
const struct dpif_class *dpif_class_lookup(const char *type);
void dpif_parse_name(const char *datapath_name, char **name, char **type);

/* Opening.  dpif_open() opens an existing datapath (ENODEV if there is
 * none); dpif_create_and_open() creates it when absent.  'type' NULL or ""
 * means "system".  The caller owns the returned dpif. */
int dpif_open(const char *name, const char *type, struct dpif **);
int dpif_create_and_open(const char *name, const char *type, struct dpif **);
void dpif_close(struct dpif *);
int dpif_delete(struct dpif *);
const char *dpif_name(const struct dpif *);
const char *dpif_type(const struct dpif *);

/* Properties of the datapath's type (struct dpif_class, dpif-provider.h).
 * dpif_outlives_process(): the datapath and its flows survive privd (the
 * kernel's); otherwise it lives in privd, which deletes it on close.
 * dpif_has_upcall_sockets(): its upcalls arrive on per-handler netlink
 * sockets that privd passes to the handlers; otherwise privd takes them
 * with dpif_recv() and feeds them into the handlers' rings. */
bool dpif_outlives_process(const struct dpif *);
bool dpif_has_upcall_sockets(const struct dpif *);

/* Calls 'cb' for the name of every datapath of 'type' that exists. */
int dpif_enumerate(const char *type,
                   void (*cb)(const char *name, void *aux), void *aux);

/* Periodic work and waiting. */
void dpif_run(struct dpif *);
void dpif_wait(struct dpif *, struct poller *);

int dpif_get_dp_stats(const struct dpif *, struct dpif_dp_stats *);

/* Ports.  dpif_port_query_*() fill 'port' with strings the caller must free
 * with dpif_port_destroy(). */
int dpif_port_add(struct dpif *, const char *name, const char *type,
                  uint32_t *port_nop);
int dpif_port_del(struct dpif *, uint32_t port_no);
int dpif_port_query_by_number(const struct dpif *, uint32_t port_no,
                              struct dpif_port *);
int dpif_port_query_by_name(const struct dpif *, const char *name,
                            struct dpif_port *);
void dpif_port_destroy(struct dpif_port *);
int dpif_port_get_stats(const struct dpif *, uint32_t port_no,
                        struct dpif_port_stats *);
uint32_t dpif_port_get_pid(const struct dpif *, uint32_t port_no);

/* Port dump: 'cb' is called for each port; the port's strings are valid only
 * during the call. */
int dpif_port_dump(const struct dpif *,
                   void (*cb)(const struct dpif_port *, void *aux), void *aux);

/* Port change notifications: returns 0 and a malloc'ed device name in
 * '*devnamep' when a port changed, EAGAIN when nothing changed, ENOBUFS when
 * changes were lost (the caller re-dumps the ports). */
int dpif_port_poll(const struct dpif *, char **devnamep);
void dpif_port_poll_wait(const struct dpif *, struct poller *);

/* Flows. */
int dpif_flow_put(struct dpif *, const struct dpif_flow_put *);
int dpif_flow_del(struct dpif *, const struct dpif_flow_del *);
int dpif_flow_get(const struct dpif *, const struct dpif_flow_get *);
int dpif_flow_flush(struct dpif *);
int dpif_execute(struct dpif *, const struct dpif_execute *);
void dpif_operate(struct dpif *, struct dpif_op **ops, size_t n_ops);

/* Flow dumps.  'terse' lets the provider omit key, mask and actions when the
 * reader already has them (kernel OVS_UFID_F_OMIT_*). */
struct dpif_flow_dump;
struct dpif_flow_dump_thread;
struct dpif_flow_dump *dpif_flow_dump_create(const struct dpif *, bool terse);
int dpif_flow_dump_destroy(struct dpif_flow_dump *);
struct dpif_flow_dump_thread *dpif_flow_dump_thread_create(
    struct dpif_flow_dump *);
void dpif_flow_dump_thread_destroy(struct dpif_flow_dump_thread *);
/* Fills up to 'max_flows' entries of 'flows'; returns how many, 0 at the
 * end.  They stay valid until the next call on this thread. */
int dpif_flow_dump_next(struct dpif_flow_dump_thread *,
                        struct dpif_flow *flows, int max_flows);

/* Upcalls. */
int dpif_recv_set(struct dpif *, bool enable);
int dpif_handlers_set(struct dpif *, uint32_t n_handlers);
/* Takes the next upcall of channel 'handler_id' into 'upcall' (whose buffers
 * the caller initialized; they are reused).  EAGAIN when none is queued. */
int dpif_recv(struct dpif *, uint32_t handler_id, struct dpif_upcall *);
void dpif_recv_wait(struct dpif *, uint32_t handler_id, struct poller *);
void dpif_recv_purge(struct dpif *);

/* Dummy ports (the test and demo aid; ENOTSUP elsewhere): inject a frame as
 * received on 'port_no', or read the frames transmitted on it, oldest first,
 * emptying the capture ring if 'clear'. */
int dpif_packet_inject(struct dpif *, uint32_t port_no,
                       const void *frame, size_t len);
int dpif_capture_read(struct dpif *, uint32_t port_no, bool clear,
                      void (*cb)(const void *frame, size_t len,
                                 long long wall_msec, void *aux),
                      void *aux);

void dpif_upcall_init(struct dpif_upcall *);
void dpif_upcall_uninit(struct dpif_upcall *);

#endif /* dpif.h */
