/*
 * dpif-netdev.c — the userspace datapath: providers "netdev" and "dummy".
 *
 * A datapath lives inside privd: a set of ports (privd/netdev-port.h), a flow
 * table (privd/dp-flow-table.h), upcall queues (privd/upcall-queue.h) and an
 * action executor (privd/dp-execute.h).  The two provider types share all of
 * it and differ in the ports they allow: "netdev" datapaths have real ports
 * ("system" on AF_PACKET, "internal" on TAP, and "dummy" for tests) and a TAP
 * local port; "dummy" datapaths have dummy ports only, so they need no
 * privileges at all.
 *
 * Datapaths exist from open(create) until destroy, independently of the
 * dpif handles open on them (like a kernel datapath, which outlives the
 * process that made it): enumerate lists them.  A destroyed datapath loses
 * its ports, flows and upcalls at once and is freed with its last handle.
 *
 * Packet path (run() for system and internal ports, packet_inject() for
 * dummy ports):
 *
 *     frame (>= 14 bytes, else dropped and counted)
 *       -> dp_packet_set_frame(): packet_parse() into a struct flow
 *       -> dp_flow_table_lookup(): exact-match cache, then classifier
 *       -> hit:  flow stats; dp_execute_actions(): OUTPUT to a port,
 *                USERSPACE to an upcall channel, RECIRC back to the lookup
 *       -> miss: a MISS upcall with odp_key_from_flow() of the flow, queued
 *                on the channel of the input port; a full queue counts lost
 *
 * run() takes at most NETDEV_BATCH frames from each port in turn, starting
 * with a different port each time, so a busy port cannot starve the others;
 * transmissions are batched per port and flushed after each batch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/flow.h"
#include "common/log.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "common/util.h"
#include "privd/dp-execute.h"
#include "privd/dp-flow-table.h"
#include "privd/dp-packet.h"
#include "privd/dpif-provider.h"
#include "privd/netdev-port.h"
#include "privd/upcall-queue.h"

LOG_MODULE(dpif_netdev);

COUNTER_DEFINE(dpif_netdev_rx_runt);
COUNTER_DEFINE(dpif_netdev_rx_too_big);
COUNTER_DEFINE(dpif_netdev_output_no_port);
COUNTER_DEFINE(dpif_netdev_upcall_disabled);
COUNTER_DEFINE(dpif_netdev_upcall_queue_full);
COUNTER_DEFINE(dpif_netdev_upcall_bad_pid);
COUNTER_DEFINE(dpif_netdev_upcall_bad_key);
COUNTER_DEFINE(dpif_netdev_bad_flow_key);
COUNTER_DEFINE(dpif_netdev_bad_flow_mask);
COUNTER_DEFINE(dpif_netdev_bad_actions);
COUNTER_DEFINE(dpif_netdev_ufid_conflict);

/* Port numbers are below this, as in the kernel (and odp-key.h). */
#define DP_NETDEV_MAX_PORTS ODP_MAX_PORTS

/* A port of a datapath. */
struct dp_netdev_port {
    struct netdev_port *netdev; /* The device (owned). */
    uint32_t port_no;           /* Number in the datapath. */
};

/* A userspace datapath. */
struct dp_netdev {
    struct dp_netdev *next;     /* In 'all_dps' unless destroyed. */
    const struct dpif_class *class; /* netdev or dummy. */
    char *name;                 /* Datapath name (owned). */
    unsigned int ref_cnt;       /* Open dpif handles. */
    bool destroyed;             /* destroy() was called. */

    struct dp_netdev_port **ports; /* Ports by increasing number (owned). */
    size_t n_ports;             /* Elements in 'ports'. */
    size_t allocated_ports;     /* Capacity of 'ports'. */
    size_t rx_next;             /* Index in 'ports' that run() starts at. */

    struct dp_flow_table flows; /* The flow table. */
    struct upcall_queues upcalls; /* Per-channel, per-port upcall FIFOs. */
    bool upcalls_enabled;       /* recv_set(true) was called. */
    struct dp_executor executor; /* Runs actions; callbacks below. */
    long long now;              /* time_msec() for the packets in flight. */

    uint64_t n_hit;             /* Packets that matched a flow. */
    uint64_t n_missed;          /* Misses queued as upcalls. */
    uint64_t n_lost;            /* Upcalls that could not be queued. */
    uint64_t n_mask_hit;        /* Masks visited by matched lookups. */
};

/* An open handle on a datapath. */
struct dpif_netdev {
    struct dpif up;             /* Generic part; first member. */
    struct dp_netdev *dp;       /* The datapath (one reference). */
};

/* A flow dump: the UFIDs present when it started. */
struct dpif_netdev_flow_dump {
    struct dpif_flow_dump up;   /* Generic part; first member. */
    struct dp_netdev *dp;       /* The datapath (one reference). */
    union ufid *ufids;          /* Snapshot (owned). */
    size_t n_ufids;             /* Elements in 'ufids'. */
    size_t pos;                 /* Next UFID to look up. */
};

/* One reader of a flow dump. */
struct dpif_netdev_flow_dump_thread {
    struct dpif_flow_dump_thread up; /* Generic part; first member. */
    struct dpif_netdev_flow_dump *dump; /* Its dump. */
    struct buf storage;         /* Keys, masks, actions of the last batch. */
};

/* Every datapath that exists, of both types. */
static struct dp_netdev *all_dps;

static const struct dp_execute_cbs dp_netdev_execute_cbs;

static struct dp_netdev *
dp_netdev_cast(const struct dpif *dpif)
{
    return CONTAINER_OF(dpif, struct dpif_netdev, up)->dp;
}

static bool
dp_netdev_is_dummy_class(const struct dp_netdev *dp)
{
    return dp->class == &dpif_dummy_class;
}

/*
 * Ports.
 */

/* Index in dp->ports of the first port numbered 'port_no' or more. */
static size_t
dp_netdev_port_index(const struct dp_netdev *dp, uint32_t port_no)
{
    size_t lo = 0, hi = dp->n_ports;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dp->ports[mid]->port_no < port_no) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static struct dp_netdev_port *
dp_netdev_port_find(const struct dp_netdev *dp, uint32_t port_no)
{
    size_t i = dp_netdev_port_index(dp, port_no);
    return (i < dp->n_ports && dp->ports[i]->port_no == port_no
            ? dp->ports[i] : NULL);
}

static struct dp_netdev_port *
dp_netdev_port_find_by_name(const struct dp_netdev *dp, const char *name)
{
    for (size_t i = 0; i < dp->n_ports; i++) {
        if (!strcmp(netdev_port_name(dp->ports[i]->netdev), name)) {
            return dp->ports[i];
        }
    }
    return NULL;
}

/* True if a datapath of the same type as 'dp' already has a port 'name':
 * names are unique across datapaths, since they are device names. */
static bool
dp_netdev_port_name_taken(const struct dp_netdev *dp, const char *name)
{
    if (dp_netdev_port_find_by_name(dp, name)) {
        return true;
    }
    for (const struct dp_netdev *d = all_dps; d; d = d->next) {
        if (d != dp && d->class == dp->class
            && dp_netdev_port_find_by_name(d, name)) {
            return true;
        }
    }
    return false;
}

/* The lowest unused number from 1 up (0 is the local port's). */
static uint32_t
dp_netdev_port_alloc_number(const struct dp_netdev *dp)
{
    uint32_t candidate = 1;

    for (size_t i = dp_netdev_port_index(dp, 1); i < dp->n_ports; i++) {
        if (dp->ports[i]->port_no != candidate) {
            break;
        }
        candidate++;
    }
    return candidate;
}

static int
dp_netdev_port_add__(struct dp_netdev *dp, const char *name, const char *type,
                     uint32_t *port_nop)
{
    if (!type || !*type) {
        type = dp_netdev_is_dummy_class(dp) ? "dummy" : "system";
    }
    if (!netdev_port_type_is_known(type)) {
        return EINVAL;
    }
    if (dp_netdev_is_dummy_class(dp) && strcmp(type, "dummy")) {
        return EOPNOTSUPP;
    }
    if (dp_netdev_port_name_taken(dp, name)) {
        return EEXIST;
    }

    uint32_t port_no = *port_nop;
    if (port_no != UINT32_MAX) {
        if (port_no >= DP_NETDEV_MAX_PORTS) {
            return EFBIG;
        }
        if (dp_netdev_port_find(dp, port_no)) {
            return EBUSY;
        }
    } else {
        port_no = dp_netdev_port_alloc_number(dp);
        if (port_no >= DP_NETDEV_MAX_PORTS) {
            return EFBIG;
        }
    }

    struct netdev_port *netdev;
    int error = netdev_port_open(name, type, &netdev);
    if (error) {
        return error;
    }

    struct dp_netdev_port *port = xmalloc(sizeof *port);
    port->netdev = netdev;
    port->port_no = port_no;
    if (dp->n_ports >= dp->allocated_ports) {
        dp->allocated_ports = dp->allocated_ports ? 2 * dp->allocated_ports
                                                  : 8;
        dp->ports = xrealloc(dp->ports,
                             dp->allocated_ports * sizeof *dp->ports);
    }
    size_t i = dp_netdev_port_index(dp, port_no);
    memmove(&dp->ports[i + 1], &dp->ports[i],
            (dp->n_ports - i) * sizeof *dp->ports);
    dp->ports[i] = port;
    dp->n_ports++;
    *port_nop = port_no;
    return 0;
}

static void
dp_netdev_port_remove(struct dp_netdev *dp, size_t i)
{
    struct dp_netdev_port *port = dp->ports[i];

    memmove(&dp->ports[i], &dp->ports[i + 1],
            (dp->n_ports - i - 1) * sizeof *dp->ports);
    dp->n_ports--;
    netdev_port_close(port->netdev);
    free(port);
}

static void
dp_netdev_flush_tx(struct dp_netdev *dp)
{
    for (size_t i = 0; i < dp->n_ports; i++) {
        netdev_port_flush(dp->ports[i]->netdev);
    }
}

/*
 * Packet processing.
 */

static void dp_netdev_process(struct dp_netdev *, struct dp_packet *);

/* Queues an upcall of 'pkt' (its first 'len' bytes) on channel 'pid'. */
static void
dp_netdev_upcall(struct dp_netdev *dp, const struct dp_packet *pkt, size_t len,
                 enum dpif_upcall_type type, uint32_t pid,
                 const void *userdata, size_t userdata_len)
{
    if (!dp->upcalls_enabled || !pid) {
        COUNTER_INC(dpif_netdev_upcall_disabled);
        dp->n_lost++;
        return;
    }

    uint64_t key_stub[512 / 8];
    struct buf key;
    buf_use_stub(&key, key_stub, sizeof key_stub);
    if (odp_key_from_flow(&key, &pkt->flow, NULL)) {
        COUNTER_INC(dpif_netdev_upcall_bad_key);
        dp->n_lost++;
        buf_uninit(&key);
        return;
    }

    struct upcall_request req = {
        .type = type,
        .in_port = pkt->flow.in_port,
        .packet = dp_packet_data(pkt),
        .packet_len = len,
        .key = key.data,
        .key_len = key.size,
        .userdata = userdata,
        .userdata_len = userdata_len,
    };
    int error = upcall_queues_push(&dp->upcalls, pid, &req);
    if (error) {
        if (error == ENOBUFS) {
            COUNTER_INC(dpif_netdev_upcall_queue_full);
        } else {
            COUNTER_INC(dpif_netdev_upcall_bad_pid);
        }
        dp->n_lost++;
    } else if (type == DPIF_UC_MISS) {
        dp->n_missed++;
    }
    buf_uninit(&key);
}

/* The channel on which misses from 'port_no' are queued (0: none). */
static uint32_t
dp_netdev_port_pid(const struct dp_netdev *dp, uint32_t port_no)
{
    if (!dp->upcalls_enabled) {
        return 0;
    }
    if (port_no == DPIF_SPECIAL_PORT_PID) {
        return UPCALL_SPECIAL_PID;
    }
    return upcall_queues_handler_pid(port_no % dp->upcalls.n_handlers);
}

/* Looks 'pkt' up and runs its flow's actions, or queues a miss upcall. */
static void
dp_netdev_process(struct dp_netdev *dp, struct dp_packet *pkt)
{
    unsigned int n_searched = 0;
    struct dp_flow *f = dp_flow_table_lookup(&dp->flows, &pkt->flow,
                                             &n_searched);
    if (f) {
        dp->n_hit++;
        /* A hit in the exact-match cache counts as one mask, as a hit in
         * the kernel's mask cache does. */
        dp->n_mask_hit += n_searched ? n_searched : 1;
        f->stats.n_packets++;
        f->stats.n_bytes += dp_packet_size(pkt);
        f->stats.used = dp->now;
        f->stats.tcp_flags |= ntohs(pkt->flow.tcp_flags);
        dp_execute_actions(&dp->executor, pkt, f->actions, f->actions_len);
    } else {
        uint32_t in_port = pkt->flow.in_port;
        uint32_t pid = (dp_netdev_port_find(dp, in_port)
                        ? dp_netdev_port_pid(dp, in_port) : 0);
        dp_netdev_upcall(dp, pkt, dp_packet_size(pkt), DPIF_UC_MISS, pid,
                         NULL, 0);
    }
}

/* Processes the frame 'data'/'size' received on 'port'. */
static void
dp_netdev_input(struct dp_netdev *dp, struct dp_netdev_port *port,
                const void *data, size_t size)
{
    if (size < ETH_HEADER_LEN) {
        COUNTER_INC(dpif_netdev_rx_runt);
        port->netdev->stats.rx_dropped++;
        return;
    }

    uint64_t stub[DP_PACKET_STUB_SIZE / 8];
    struct dp_packet pkt;
    dp_packet_init(&pkt, stub, sizeof stub);
    if (dp_packet_set_frame(&pkt, data, size, port->port_no)) {
        COUNTER_INC(dpif_netdev_rx_too_big);
        port->netdev->stats.rx_dropped++;
    } else {
        dp_netdev_process(dp, &pkt);
    }
    dp_packet_uninit(&pkt);
}

/* dp_execute callbacks. */

static void
dp_netdev_cb_output(void *dp_, uint32_t port_no, const struct dp_packet *pkt)
{
    struct dp_netdev *dp = dp_;
    struct dp_netdev_port *port = dp_netdev_port_find(dp, port_no);

    if (!port) {
        COUNTER_INC(dpif_netdev_output_no_port);
        return;
    }
    netdev_port_send(port->netdev, dp_packet_data(pkt), dp_packet_size(pkt));
}

static void
dp_netdev_cb_userspace(void *dp_, const struct dp_packet *pkt,
                       const struct dp_userspace_args *args)
{
    struct dp_netdev *dp = dp_;

    dp_netdev_upcall(dp, pkt, dp_packet_size(pkt), DPIF_UC_ACTION, args->pid,
                     args->userdata, args->userdata_len);
}

static void
dp_netdev_cb_recirc(void *dp_, struct dp_packet *pkt)
{
    dp_netdev_process(dp_, pkt);
}

static const struct dp_execute_cbs dp_netdev_execute_cbs = {
    .output = dp_netdev_cb_output,
    .userspace = dp_netdev_cb_userspace,
    .recirc = dp_netdev_cb_recirc,
};

/*
 * Datapath lifetime.
 */

static void
dp_netdev_unlink(struct dp_netdev *dp)
{
    for (struct dp_netdev **p = &all_dps; *p; p = &(*p)->next) {
        if (*p == dp) {
            *p = dp->next;
            dp->next = NULL;
            return;
        }
    }
}

/* Releases everything the datapath holds besides the struct itself. */
static void
dp_netdev_clear(struct dp_netdev *dp)
{
    while (dp->n_ports) {
        dp_netdev_port_remove(dp, dp->n_ports - 1);
    }
    dp_flow_table_flush(&dp->flows);
    upcall_queues_purge(&dp->upcalls);
}

static void
dp_netdev_free(struct dp_netdev *dp)
{
    dp_netdev_clear(dp);
    free(dp->ports);
    dp_flow_table_destroy(&dp->flows);
    upcall_queues_destroy(&dp->upcalls);
    free(dp->name);
    free(dp);
}

static struct dp_netdev *
dp_netdev_find(const struct dpif_class *class, const char *name)
{
    for (struct dp_netdev *dp = all_dps; dp; dp = dp->next) {
        if (dp->class == class && !strcmp(dp->name, name)) {
            return dp;
        }
    }
    return NULL;
}

static int
dp_netdev_create(const struct dpif_class *class, const char *name,
                 struct dp_netdev **dpp)
{
    struct dp_netdev *dp = xzalloc(sizeof *dp);
    dp->class = class;
    dp->name = xstrdup(name);
    dp_flow_table_init(&dp->flows);
    upcall_queues_init(&dp->upcalls, 1, DPIF_UPCALL_QUEUE_LEN);

    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) {
        seed = (uint64_t) time_usec() ^ (uint64_t) getpid();
    }
    dp_executor_init(&dp->executor, &dp_netdev_execute_cbs, dp, seed);

    uint32_t port_no = 0;
    int error = dp_netdev_port_add__(dp, name,
                                     (dp_netdev_is_dummy_class(dp)
                                      ? "dummy" : "internal"), &port_no);
    if (error) {
        dp_netdev_free(dp);
        return error;
    }
    dp->next = all_dps;
    all_dps = dp;
    *dpp = dp;
    return 0;
}

/*
 * Provider functions.
 */

static void
dpif_netdev_enumerate__(const struct dpif_class *class,
                        void (*cb)(const char *name, void *aux), void *aux)
{
    for (struct dp_netdev *dp = all_dps; dp; dp = dp->next) {
        if (dp->class == class) {
            cb(dp->name, aux);
        }
    }
}

static int
dpif_netdev_enumerate(void (*cb)(const char *name, void *aux), void *aux)
{
    dpif_netdev_enumerate__(&dpif_netdev_class, cb, aux);
    return 0;
}

static int
dpif_dummy_enumerate(void (*cb)(const char *name, void *aux), void *aux)
{
    dpif_netdev_enumerate__(&dpif_dummy_class, cb, aux);
    return 0;
}

static int
dpif_netdev_open(const struct dpif_class *class, const char *name,
                 bool create, struct dpif **dpifp)
{
    struct dp_netdev *dp = dp_netdev_find(class, name);

    if (create) {
        if (dp) {
            return EEXIST;
        }
        int error = dp_netdev_create(class, name, &dp);
        if (error) {
            return error;
        }
    } else if (!dp) {
        return ENODEV;
    }

    struct dpif_netdev *h = xzalloc(sizeof *h);
    dpif_init(&h->up, class, name);
    h->dp = dp;
    dp->ref_cnt++;
    *dpifp = &h->up;
    return 0;
}

static void
dpif_netdev_close(struct dpif *dpif)
{
    struct dpif_netdev *h = CONTAINER_OF(dpif, struct dpif_netdev, up);
    struct dp_netdev *dp = h->dp;

    if (!--dp->ref_cnt && dp->destroyed) {
        dp_netdev_free(dp);
    }
    dpif_uninit(&h->up);
    free(h);
}

static int
dpif_netdev_destroy(struct dpif *dpif)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    if (!dp->destroyed) {
        dp->destroyed = true;
        dp_netdev_unlink(dp);
        dp_netdev_clear(dp);
    }
    return 0;
}

static void
dpif_netdev_run(struct dpif *dpif)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);
    struct netdev_frame frames[NETDEV_BATCH];
    size_t n_ports = dp->n_ports;

    if (!n_ports) {
        return;
    }
    size_t start = dp->rx_next % n_ports;
    dp->rx_next = start + 1;
    for (size_t k = 0; k < n_ports && k < dp->n_ports; k++) {
        struct dp_netdev_port *port = dp->ports[(start + k) % dp->n_ports];
        size_t n = netdev_port_recv(port->netdev, frames, NETDEV_BATCH);
        if (!n) {
            continue;
        }
        dp->now = time_msec();
        for (size_t i = 0; i < n; i++) {
            dp_netdev_input(dp, port, frames[i].data, frames[i].size);
        }
        dp_netdev_flush_tx(dp);
    }
}

static void
dpif_netdev_wait(struct dpif *dpif, struct poller *p)
{
    const struct dp_netdev *dp = dp_netdev_cast(dpif);

    for (size_t i = 0; i < dp->n_ports; i++) {
        int fd = netdev_port_get_fd(dp->ports[i]->netdev);
        if (fd >= 0) {
            poller_fd_wait(p, fd, POLLIN);
        }
    }
}

static int
dpif_netdev_get_stats(const struct dpif *dpif, struct dpif_dp_stats *stats)
{
    const struct dp_netdev *dp = dp_netdev_cast(dpif);

    *stats = (struct dpif_dp_stats) {
        .n_hit = dp->n_hit,
        .n_missed = dp->n_missed,
        .n_lost = dp->n_lost,
        .n_flows = dp_flow_table_count(&dp->flows),
        .n_mask_hit = dp->n_mask_hit,
        .n_masks = (uint32_t) dp_flow_table_n_masks(&dp->flows),
    };
    return 0;
}

static int
dpif_netdev_port_add(struct dpif *dpif, const char *name, const char *type,
                     uint32_t *port_nop)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);
    return dp->destroyed ? ENODEV
                         : dp_netdev_port_add__(dp, name, type, port_nop);
}

static int
dpif_netdev_port_del(struct dpif *dpif, uint32_t port_no)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    if (port_no == 0) {
        return EINVAL;
    }
    size_t i = dp_netdev_port_index(dp, port_no);
    if (i >= dp->n_ports || dp->ports[i]->port_no != port_no) {
        return ENODEV;
    }
    dp_netdev_port_remove(dp, i);
    return 0;
}

static void
dp_netdev_port_fill(const struct dp_netdev_port *port, struct dpif_port *out)
{
    if (out) {
        out->name = xstrdup(netdev_port_name(port->netdev));
        out->type = xstrdup(netdev_port_type(port->netdev));
        out->port_no = port->port_no;
    }
}

static int
dpif_netdev_port_query_by_number(const struct dpif *dpif, uint32_t port_no,
                                 struct dpif_port *out)
{
    const struct dp_netdev_port *port
        = dp_netdev_port_find(dp_netdev_cast(dpif), port_no);

    if (!port) {
        return ENODEV;
    }
    dp_netdev_port_fill(port, out);
    return 0;
}

static int
dpif_netdev_port_query_by_name(const struct dpif *dpif, const char *name,
                               struct dpif_port *out)
{
    const struct dp_netdev_port *port
        = dp_netdev_port_find_by_name(dp_netdev_cast(dpif), name);

    if (!port) {
        return ENODEV;
    }
    dp_netdev_port_fill(port, out);
    return 0;
}

static int
dpif_netdev_port_get_stats(const struct dpif *dpif, uint32_t port_no,
                           struct dpif_port_stats *stats)
{
    const struct dp_netdev_port *port
        = dp_netdev_port_find(dp_netdev_cast(dpif), port_no);

    if (!port) {
        return ENODEV;
    }
    *stats = port->netdev->stats;
    return 0;
}

static uint32_t
dpif_netdev_port_get_pid(const struct dpif *dpif, uint32_t port_no)
{
    const struct dp_netdev *dp = dp_netdev_cast(dpif);

    if (port_no != DPIF_SPECIAL_PORT_PID && !dp_netdev_port_find(dp, port_no)) {
        return 0;
    }
    return dp_netdev_port_pid(dp, port_no);
}

static int
dpif_netdev_port_dump(const struct dpif *dpif,
                      void (*cb)(const struct dpif_port *, void *aux),
                      void *aux)
{
    const struct dp_netdev *dp = dp_netdev_cast(dpif);

    for (size_t i = 0; i < dp->n_ports; i++) {
        const struct dp_netdev_port *port = dp->ports[i];
        struct dpif_port p = {
            .name = (char *) netdev_port_name(port->netdev),
            .type = (char *) netdev_port_type(port->netdev),
            .port_no = port->port_no,
        };
        cb(&p, aux);
    }
    return 0;
}

static int
dpif_netdev_flow_flush(struct dpif *dpif)
{
    dp_flow_table_flush(&dp_netdev_cast(dpif)->flows);
    return 0;
}

/*
 * Flow operations.
 */

static bool
dp_netdev_policy_port_ok(uint32_t port_no, void *dp_)
{
    return dp_netdev_port_find(dp_, port_no) != NULL;
}

static bool
dp_netdev_policy_pid_ok(uint32_t pid, void *dp_)
{
    const struct dp_netdev *dp = dp_;
    return upcall_queues_pid_is_valid(&dp->upcalls, pid);
}

/* Validates 'actions' for 'dp': supported actions, existing output ports,
 * pids of this datapath's channels. */
static int
dp_netdev_validate_actions(struct dp_netdev *dp, const void *actions,
                           size_t len)
{
    struct odp_actions_policy policy = {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .port_ok = dp_netdev_policy_port_ok,
        .pid_ok = dp_netdev_policy_pid_ok,
        .aux = dp,
    };
    struct errbuf eb = { .msg = "" };
    int error = odp_actions_validate(actions, len, &policy, &eb);
    if (error) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);
        COUNTER_INC(dpif_netdev_bad_actions);
        LOG_WARN_RL(&rl, "%s: rejected actions: %s", dp->name, eb.msg);
    }
    return error;
}

/* Decodes a flow key; EINVAL if it is malformed. */
static int
dp_netdev_decode_key(const struct dp_netdev *dp, const void *key,
                     size_t key_len, struct flow *flow)
{
    struct errbuf eb = { .msg = "" };

    if (odp_key_to_flow(key, key_len, flow, &eb) == ODP_FIT_ERROR) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);
        COUNTER_INC(dpif_netdev_bad_flow_key);
        LOG_WARN_RL(&rl, "%s: rejected flow key: %s", dp->name, eb.msg);
        return EINVAL;
    }
    return 0;
}

/* Finds the flow an op names: by UFID if given, else by exact key. */
static int
dp_netdev_find_flow(const struct dp_netdev *dp, const union ufid *ufid,
                    const void *key, size_t key_len, struct dp_flow **flowp)
{
    struct dp_flow *f;

    if (ufid) {
        f = dp_flow_table_find_ufid(&dp->flows, ufid);
    } else {
        struct flow flow;
        int error = dp_netdev_decode_key(dp, key, key_len, &flow);
        if (error) {
            return error;
        }
        f = dp_flow_table_find_key(&dp->flows, &flow);
    }
    *flowp = f;
    return f ? 0 : ENOENT;
}

static int
dp_netdev_flow_put(struct dp_netdev *dp, const struct dpif_flow_put *put)
{
    struct flow key, mask;
    int error = dp_netdev_decode_key(dp, put->key, put->key_len, &key);
    if (error) {
        return error;
    }
    struct errbuf eb = { .msg = "" };
    if (!put->mask) {
        /* No mask: an exact match of every field the key carries. */
        struct flow exact;
        flow_mask_exact(&exact);
        odp_mask_normalize(&key, &exact, &mask);
    } else if (odp_mask_to_flow(put->mask, put->mask_len, &key, &mask, &eb)
               == ODP_FIT_ERROR) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);
        COUNTER_INC(dpif_netdev_bad_flow_mask);
        LOG_WARN_RL(&rl, "%s: rejected flow mask: %s", dp->name, eb.msg);
        return EINVAL;
    }
    error = dp_netdev_validate_actions(dp, put->actions, put->actions_len);
    if (error) {
        return error;
    }

    union ufid ufid;
    if (put->ufid) {
        ufid = *put->ufid;
    } else {
        ufid_from_key(put->key, put->key_len, put->mask,
                      put->mask ? put->mask_len : 0, &ufid);
    }

    struct dp_flow *f = dp_flow_table_find_ufid(&dp->flows, &ufid);
    if (f && (memcmp(&f->key, &key, sizeof key)
              || memcmp(&f->mask, &mask, sizeof mask))) {
        /* The UFID names another flow: creating is impossible, and the
         * flow to modify does not exist. */
        COUNTER_INC(dpif_netdev_ufid_conflict);
        return put->flags & DPIF_FP_CREATE ? EEXIST : ENOENT;
    }
    if (!f) {
        f = dp_flow_table_find_exact(&dp->flows, &key, &mask);
    }

    if (f) {
        if (!(put->flags & DPIF_FP_MODIFY)) {
            return EEXIST;
        }
        if (put->stats) {
            *put->stats = f->stats;
        }
        if (put->flags & DPIF_FP_ZERO_STATS) {
            memset(&f->stats, 0, sizeof f->stats);
        }
        dp_flow_table_set_actions(f, put->actions, put->actions_len);
        return 0;
    }

    if (!(put->flags & DPIF_FP_CREATE)) {
        return ENOENT;
    }

    /* Keep a mask stream for gets and dumps: the client's, or an explicit
     * exact one when it gave none. */
    uint64_t mask_stub[512 / 8];
    struct buf mask_buf;
    buf_use_stub(&mask_buf, mask_stub, sizeof mask_stub);
    const void *mask_attrs = put->mask;
    size_t mask_len = put->mask_len;
    if (!put->mask) {
        /* A key without DP_HASH has no dp_hash mask attribute either, but
         * the match stays exact on it (dp_hash 0), as in the kernel. */
        struct flow stream_mask = mask;
        if (!key.dp_hash) {
            stream_mask.dp_hash = 0;
        }
        error = odp_mask_from_flow(&mask_buf, &stream_mask, &key, &eb);
        if (error) {
            static struct log_rl rl = LOG_RL_INIT(5, 20);
            COUNTER_INC(dpif_netdev_bad_flow_mask);
            LOG_WARN_RL(&rl, "%s: cannot encode exact mask: %s", dp->name,
                        eb.msg);
            buf_uninit(&mask_buf);
            return error;
        }
        mask_attrs = mask_buf.data;
        mask_len = mask_buf.size;
    }

    struct dp_flow_spec spec = {
        .ufid = &ufid,
        .key = &key,
        .mask = &mask,
        .key_attrs = put->key,
        .key_len = put->key_len,
        .mask_attrs = mask_attrs,
        .mask_len = mask_len,
        .actions = put->actions,
        .actions_len = put->actions_len,
    };
    error = dp_flow_table_insert(&dp->flows, &spec, &f);
    buf_uninit(&mask_buf);
    if (!error && put->stats) {
        memset(put->stats, 0, sizeof *put->stats);
    }
    return error;
}

static int
dp_netdev_flow_del(struct dp_netdev *dp, const struct dpif_flow_del *del)
{
    struct dp_flow *f;
    int error = dp_netdev_find_flow(dp, del->ufid, del->key, del->key_len,
                                    &f);
    if (error) {
        return error;
    }
    if (del->stats) {
        *del->stats = f->stats;
    }
    dp_flow_table_remove(&dp->flows, f);
    return 0;
}

/* Bytes that dp_netdev_flow_copy() may append for 'f'. */
static size_t
dp_netdev_flow_copy_size(const struct dp_flow *f)
{
    return (ROUND_UP(f->key_len, 8) + ROUND_UP(f->mask_len, 8)
            + ROUND_UP(f->actions_len, 8) + 8);
}

/* Appends 8-byte aligned 'data' to 'b', which has room reserved, and
 * returns where it went. */
static const void *
dp_netdev_put_aligned(struct buf *b, const void *data, size_t len)
{
    size_t pad = ROUND_UP(b->size, 8) - b->size;
    if (pad) {
        buf_put_zeros(b, pad);
    }
    return len ? buf_put(b, data, len) : buf_at(b, b->size);
}

/* Fills 'out' for 'f', copying key, mask and actions into 'b' (which must
 * have dp_netdev_flow_copy_size() bytes reserved) unless 'terse'. */
static void
dp_netdev_flow_copy(const struct dp_flow *f, struct buf *b, bool terse,
                    struct dpif_flow *out)
{
    memset(out, 0, sizeof *out);
    out->ufid = f->ufid;
    out->stats = f->stats;
    if (!terse) {
        out->key = dp_netdev_put_aligned(b, f->key_attrs, f->key_len);
        out->key_len = f->key_len;
        out->mask = dp_netdev_put_aligned(b, f->mask_attrs, f->mask_len);
        out->mask_len = f->mask_len;
        out->actions = dp_netdev_put_aligned(b, f->actions, f->actions_len);
        out->actions_len = f->actions_len;
    }
}

static int
dp_netdev_flow_get(struct dp_netdev *dp, const struct dpif_flow_get *get)
{
    struct dp_flow *f;
    int error = dp_netdev_find_flow(dp, get->ufid, get->key, get->key_len,
                                    &f);
    if (error) {
        return error;
    }
    buf_reserve(get->buffer, dp_netdev_flow_copy_size(f));
    dp_netdev_flow_copy(f, get->buffer, false, get->flow);
    return 0;
}

static int
dp_netdev_execute(struct dp_netdev *dp, const struct dpif_execute *exec)
{
    struct flow md;
    int error = dp_netdev_decode_key(dp, exec->key, exec->key_len, &md);
    if (error) {
        return error;
    }
    error = dp_netdev_validate_actions(dp, exec->actions, exec->actions_len);
    if (error) {
        return error;
    }

    uint64_t stub[DP_PACKET_STUB_SIZE / 8];
    struct dp_packet pkt;
    dp_packet_init(&pkt, stub, sizeof stub);
    error = dp_packet_set_frame(&pkt, exec->packet, exec->packet_len,
                                md.in_port);
    if (!error) {
        pkt.flow.tunnel = md.tunnel;
        pkt.flow.priority = md.priority;
        pkt.flow.skb_mark = md.skb_mark;
        pkt.flow.recirc_id = md.recirc_id;
        pkt.flow.dp_hash = md.dp_hash;
        dp->now = time_msec();
        error = dp_execute_actions(&dp->executor, &pkt, exec->actions,
                                   exec->actions_len);
        dp_netdev_flush_tx(dp);
    }
    dp_packet_uninit(&pkt);
    return error;
}

static void
dpif_netdev_operate(struct dpif *dpif, struct dpif_op **ops, size_t n_ops)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    for (size_t i = 0; i < n_ops; i++) {
        struct dpif_op *op = ops[i];

        if (dp->destroyed) {
            op->error = ENODEV;
            continue;
        }
        switch (op->type) {
        case DPIF_OP_FLOW_PUT:
            op->error = dp_netdev_flow_put(dp, &op->flow_put);
            break;
        case DPIF_OP_FLOW_DEL:
            op->error = dp_netdev_flow_del(dp, &op->flow_del);
            break;
        case DPIF_OP_EXECUTE:
            op->error = dp_netdev_execute(dp, &op->execute);
            break;
        case DPIF_OP_FLOW_GET:
            op->error = dp_netdev_flow_get(dp, &op->flow_get);
            break;
        default:
            op->error = EINVAL;
            break;
        }
    }
}

/*
 * Flow dumps.
 */

static struct dpif_flow_dump *
dpif_netdev_flow_dump_create(const struct dpif *dpif, bool terse)
{
    struct dpif_netdev_flow_dump *dump = xzalloc(sizeof *dump);

    dump->up.dpif = dpif;
    dump->up.terse = terse;
    dump->dp = dp_netdev_cast(dpif);
    dump->dp->ref_cnt++;
    dump->ufids = dp_flow_table_snapshot(&dump->dp->flows, &dump->n_ufids);
    return &dump->up;
}

static int
dpif_netdev_flow_dump_destroy(struct dpif_flow_dump *dump_)
{
    struct dpif_netdev_flow_dump *dump
        = CONTAINER_OF(dump_, struct dpif_netdev_flow_dump, up);

    if (!--dump->dp->ref_cnt && dump->dp->destroyed) {
        dp_netdev_free(dump->dp);
    }
    free(dump->ufids);
    free(dump);
    return 0;
}

static struct dpif_flow_dump_thread *
dpif_netdev_flow_dump_thread_create(struct dpif_flow_dump *dump_)
{
    struct dpif_netdev_flow_dump_thread *thread = xzalloc(sizeof *thread);

    thread->up.dpif = dump_->dpif;
    thread->dump = CONTAINER_OF(dump_, struct dpif_netdev_flow_dump, up);
    buf_init(&thread->storage, 0);
    return &thread->up;
}

static void
dpif_netdev_flow_dump_thread_destroy(struct dpif_flow_dump_thread *thread_)
{
    struct dpif_netdev_flow_dump_thread *thread
        = CONTAINER_OF(thread_, struct dpif_netdev_flow_dump_thread, up);

    buf_uninit(&thread->storage);
    free(thread);
}

static int
dpif_netdev_flow_dump_next(struct dpif_flow_dump_thread *thread_,
                           struct dpif_flow *flows, int max_flows)
{
    struct dpif_netdev_flow_dump_thread *thread
        = CONTAINER_OF(thread_, struct dpif_netdev_flow_dump_thread, up);
    struct dpif_netdev_flow_dump *dump = thread->dump;
    struct dp_netdev *dp = dump->dp;
    struct dp_flow **found = xmalloc((size_t) max_flows * sizeof *found);
    int n = 0;

    /* Look the next flows up first, then copy them all into storage
     * reserved at once, so that pointers into it stay valid. */
    size_t total = 0;
    while (n < max_flows && dump->pos < dump->n_ufids) {
        struct dp_flow *f = dp_flow_table_find_ufid(&dp->flows,
                                                    &dump->ufids[dump->pos++]);
        if (f) {
            found[n++] = f;
            total += dp_netdev_flow_copy_size(f);
        }
    }
    buf_clear(&thread->storage);
    if (!dump->up.terse) {
        buf_reserve(&thread->storage, total);
    }
    for (int i = 0; i < n; i++) {
        dp_netdev_flow_copy(found[i], &thread->storage, dump->up.terse,
                            &flows[i]);
    }
    free(found);
    return n;
}

/*
 * Upcalls.
 */

static int
dpif_netdev_recv_set(struct dpif *dpif, bool enable)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    if (!enable) {
        upcall_queues_purge(&dp->upcalls);
    }
    dp->upcalls_enabled = enable;
    return 0;
}

static int
dpif_netdev_handlers_set(struct dpif *dpif, uint32_t n_handlers)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    if (n_handlers != dp->upcalls.n_handlers) {
        size_t n = upcall_queues_set_handlers(&dp->upcalls, n_handlers);
        if (n) {
            LOG_INFO("%s: %zu queued upcalls dropped on a change to %u "
                     "handlers", dp->name, n, n_handlers);
        }
    }
    return 0;
}

static int
dpif_netdev_recv(struct dpif *dpif, uint32_t handler_id,
                 struct dpif_upcall *upcall)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    if (!dp->upcalls_enabled) {
        return EAGAIN;
    }
    return upcall_queues_pop(&dp->upcalls, handler_id, upcall);
}

static void
dpif_netdev_recv_wait(struct dpif *dpif, uint32_t handler_id,
                      struct poller *p)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);

    /* Upcalls are queued only by run(), inject and execute, all in this
     * thread: if none is waiting now, the wake-up comes through the ports'
     * fds that wait() registered. */
    if (dp->upcalls_enabled
        && upcall_queues_n_queued(&dp->upcalls, handler_id)) {
        poller_immediate_wake(p);
    }
}

static void
dpif_netdev_recv_purge(struct dpif *dpif)
{
    upcall_queues_purge(&dp_netdev_cast(dpif)->upcalls);
}

/*
 * Dummy ports.
 */

static int
dpif_netdev_packet_inject(struct dpif *dpif, uint32_t port_no,
                          const void *frame, size_t len)
{
    struct dp_netdev *dp = dp_netdev_cast(dpif);
    struct dp_netdev_port *port = dp_netdev_port_find(dp, port_no);

    if (!port) {
        return ENODEV;
    }
    if (!netdev_port_is_dummy(port->netdev)) {
        return EOPNOTSUPP;
    }
    netdev_port_count_rx(port->netdev, len);
    dp->now = time_msec();
    dp_netdev_input(dp, port, frame, len);
    dp_netdev_flush_tx(dp);
    return 0;
}

static int
dpif_netdev_capture_read(struct dpif *dpif, uint32_t port_no, bool clear,
                         void (*cb)(const void *frame, size_t len,
                                    long long wall_msec, void *aux),
                         void *aux)
{
    struct dp_netdev_port *port = dp_netdev_port_find(dp_netdev_cast(dpif),
                                                      port_no);
    return port ? netdev_port_capture_read(port->netdev, clear, cb, aux)
                : ENODEV;
}

#define DPIF_NETDEV_CLASS_MEMBERS                                         \
    .init = NULL,                                                         \
    .open = dpif_netdev_open,                                             \
    .close = dpif_netdev_close,                                           \
    .destroy = dpif_netdev_destroy,                                       \
    .run = dpif_netdev_run,                                               \
    .wait = dpif_netdev_wait,                                             \
    .get_stats = dpif_netdev_get_stats,                                   \
    .port_add = dpif_netdev_port_add,                                     \
    .port_del = dpif_netdev_port_del,                                     \
    .port_query_by_number = dpif_netdev_port_query_by_number,             \
    .port_query_by_name = dpif_netdev_port_query_by_name,                 \
    .port_get_stats = dpif_netdev_port_get_stats,                         \
    .port_get_pid = dpif_netdev_port_get_pid,                             \
    .port_dump = dpif_netdev_port_dump,                                   \
    .port_poll = NULL,                                                    \
    .port_poll_wait = NULL,                                               \
    .flow_flush = dpif_netdev_flow_flush,                                 \
    .flow_dump_create = dpif_netdev_flow_dump_create,                     \
    .flow_dump_destroy = dpif_netdev_flow_dump_destroy,                   \
    .flow_dump_thread_create = dpif_netdev_flow_dump_thread_create,       \
    .flow_dump_thread_destroy = dpif_netdev_flow_dump_thread_destroy,     \
    .flow_dump_next = dpif_netdev_flow_dump_next,                         \
    .operate = dpif_netdev_operate,                                       \
    .recv_set = dpif_netdev_recv_set,                                     \
    .handlers_set = dpif_netdev_handlers_set,                             \
    .recv = dpif_netdev_recv,                                             \
    .recv_wait = dpif_netdev_recv_wait,                                   \
    .recv_purge = dpif_netdev_recv_purge,                                 \
    .packet_inject = dpif_netdev_packet_inject,                           \
    .capture_read = dpif_netdev_capture_read

const struct dpif_class dpif_netdev_class = {
    .type = "netdev",
    .enumerate = dpif_netdev_enumerate,
    DPIF_NETDEV_CLASS_MEMBERS,
};

const struct dpif_class dpif_dummy_class = {
    .type = "dummy",
    .enumerate = dpif_dummy_enumerate,
    DPIF_NETDEV_CLASS_MEMBERS,
};
