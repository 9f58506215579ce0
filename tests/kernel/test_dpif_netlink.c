/* test_dpif_netlink — the "system" provider against the real openvswitch
 * kernel module, run inside the guest by guest-dpif-netlink.sh.
 *
 * The guest script creates two namespaces ns1 and ns2 with veth pairs
 * v1 <-> v1p (ns1) and v2 <-> v2p (ns2), IPv6 off, and loads the module.
 * The tests run in order on one datapath "dpt0" (a cmocka group fixture):
 * datapath, ports, flows with traffic, batches, execute, upcalls, the
 * privilege proof, and destruction.  Frames are sent and received with
 * AF_PACKET sockets opened inside the namespaces, so no process is forked
 * for traffic. */
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/openvswitch.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cap-ng.h>
#include <libmnl/libmnl.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/odp-actions.h"
#include "common/odp-format.h"
#include "common/log.h"
#include "common/odp-key.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "privd/dpif-netlink.h"
#include "privd/dpif.h"

#define N_FRAMES 20

static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac2[6] = { 2, 0, 0, 0, 0, 2 };

struct fixture {
    struct dpif *dpif;          /* system@dpt0. */
    uint32_t port1, port2;      /* Ports of v1 and v2. */
    int tx1, rx1;               /* AF_PACKET on v1p in ns1. */
    int rx2;                    /* AF_PACKET on v2p in ns2. */
};

static struct fixture fx;
static long long t_start;

static void note(const char *fmt, ...) PRINTF_FORMAT(1, 2);

static void
note(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    printf("[%6.2fs] ", (time_msec() - t_start) / 1000.0);
    vprintf(fmt, args);
    printf("\n");
    fflush(stdout);
    va_end(args);
}

/* Opens an AF_PACKET socket on 'ifname' inside namespace 'ns'. */
static int
packet_socket_in_ns(const char *ns, const char *ifname)
{
    char path[64];
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(self >= 0 && nsfd >= 0);
    assert_int_equal(setns(nsfd, CLONE_NEWNET), 0);

    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    assert_true(fd >= 0);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = (int) if_nametoindex(ifname),
    };
    assert_true(sll.sll_ifindex > 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &sll, sizeof sll), 0);

    assert_int_equal(setns(self, CLONE_NEWNET), 0);
    close(nsfd);
    close(self);
    return fd;
}

/* A UDP/IPv4 frame from mac1/10.0.0.1 to mac2/10.0.0.2 (or reversed),
 * 'seq' in its payload. */
static size_t
make_frame(uint8_t *f, bool forward, uint32_t seq)
{
    memset(f, 0, 64);
    memcpy(f, forward ? mac2 : mac1, 6);
    memcpy(f + 6, forward ? mac1 : mac2, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 20 + 8 + 18;        /* Total length. */
    ip[8] = 64;                 /* TTL. */
    ip[9] = 17;                 /* UDP. */
    uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
    memcpy(ip + 12, forward ? a : b, 4);
    memcpy(ip + 16, forward ? b : a, 4);
    uint8_t *udp = ip + 20;
    udp[0] = 0x30; udp[1] = 0x39;   /* 12345 */
    udp[2] = 0x30; udp[3] = 0x3a;   /* 12346 */
    udp[5] = 8 + 18;
    memcpy(udp + 8, &seq, sizeof seq);
    memcpy(udp + 12, "dpifd-test", 10);
    return 64;
}

static void
send_frames(int fd, bool forward, int n)
{
    uint8_t f[64];
    for (int i = 0; i < n; i++) {
        size_t len = make_frame(f, forward, (uint32_t) i);
        assert_int_equal(send(fd, f, len, 0), (ssize_t) len);
    }
}

/* Counts our test frames arriving on 'fd' within 'ms' milliseconds,
 * stopping early at 'want'. */
static int
count_frames(int fd, int want, int ms)
{
    long long deadline = time_msec() + ms;
    int n = 0;

    while (n < want) {
        long long left = deadline - time_msec();
        if (left <= 0) {
            break;
        }
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (poll(&pfd, 1, (int) left) <= 0) {
            break;
        }
        uint8_t f[2048];
        ssize_t len = recv(fd, f, sizeof f, MSG_DONTWAIT);
        if (len >= 64 && !memcmp(f + 14 + 20 + 12, "dpifd-test", 10)) {
            n++;
        }
    }
    return n;
}

static void
drain(int fd)
{
    uint8_t f[2048];
    while (recv(fd, f, sizeof f, MSG_DONTWAIT) > 0) {
        continue;
    }
}

/* Parses flow text 'key' (with masks) and actions text. */
static void
parse_flow(const char *key, const char *actions, struct buf *k,
           struct buf *m, struct buf *a)
{
    struct errbuf eb;
    buf_clear(k);
    buf_clear(m);
    int error = odp_parse_key(key, k, m, &eb);
    if (error) {
        fail_msg("%s: %s", key, eb.msg);
    }
    if (a) {
        buf_clear(a);
        error = odp_parse_actions(actions, a, &eb);
        if (error) {
            fail_msg("%s: %s", actions, eb.msg);
        }
    }
}

static char *
format_flow(const struct dpif_flow *f)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    char u[UFID_STRLEN];
    ufid_format(&f->ufid, u);
    ds_put_format(&s, "%s, ", u);
    odp_format_key(&s, f->key, f->key_len, f->mask, f->mask_len, false);
    ds_put_format(&s, ", packets:%llu, actions:",
                  (unsigned long long) f->stats.n_packets);
    odp_format_actions(&s, f->actions, f->actions_len);
    return ds_steal_cstr(&s);
}

static void
ufid_make(union ufid *u, uint32_t n)
{
    memset(u, 0, sizeof *u);
    u->u32[0] = 0xd91fd000 | n;
    u->u32[3] = n;
}

/* Installs one flow of in_port 'in' to output 'out' with UFID 'id'. */
static int
put_flow(uint32_t in, uint32_t out, bool forward, uint32_t id,
         enum dpif_flow_put_flags flags, struct dpif_flow_stats *stats)
{
    char key[256], actions[32];
    struct buf k, m, a;
    union ufid ufid;

    snprintf(key, sizeof key,
             "in_port(%u),eth(dst=02:00:00:00:00:0%d),eth_type(0x0800),"
             "ipv4(proto=17,frag=no),udp()", in, forward ? 2 : 1);
    snprintf(actions, sizeof actions, "%u", out);
    buf_init(&k, 0);
    buf_init(&m, 0);
    buf_init(&a, 0);
    parse_flow(key, actions, &k, &m, &a);
    ufid_make(&ufid, id);
    struct dpif_flow_put put = {
        .flags = flags,
        .key = k.data, .key_len = k.size,
        .mask = m.data, .mask_len = m.size,
        .actions = a.data, .actions_len = a.size,
        .ufid = &ufid,
        .stats = stats,
    };
    int error = dpif_flow_put(fx.dpif, &put);
    buf_uninit(&k);
    buf_uninit(&m);
    buf_uninit(&a);
    return error;
}

static int
get_flow_stats(uint32_t id, struct dpif_flow_stats *stats)
{
    union ufid ufid;
    struct buf b;
    struct dpif_flow flow;

    ufid_make(&ufid, id);
    buf_init(&b, 0);
    struct dpif_flow_get get = { .ufid = &ufid, .buffer = &b, .flow = &flow };
    int error = dpif_flow_get(fx.dpif, &get);
    if (!error) {
        *stats = flow.stats;
        assert_true(ufid_equals(&flow.ufid, &ufid));
        assert_non_null(flow.key);
    }
    buf_uninit(&b);
    return error;
}

/* ---- Tests. ------------------------------------------------------------- */

static void
collect_name(const char *name, void *aux)
{
    if (!strcmp(name, "dpt0")) {
        (*(int *) aux)++;
    }
}

static void
test_datapath_create_open_enumerate(void **state)
{
    struct dpif *other;
    int found = 0;

    assert_int_equal(dpif_create_and_open("dpt0", "system", &fx.dpif), 0);
    uint32_t features = dpif_netlink_user_features(fx.dpif);
    note("datapath system@dpt0 created: user features %#x%s%s%s, "
         "upcalls dispatched per %s", features,
         features & OVS_DP_F_UNALIGNED ? " unaligned" : "",
         features & OVS_DP_F_VPORT_PIDS ? " vport-pids" : "",
         features & OVS_DP_F_DISPATCH_UPCALL_PER_CPU ? " per-cpu" : "",
         dpif_netlink_dispatch_per_cpu(fx.dpif) ? "CPU" : "vport");
    assert_true(features & OVS_DP_F_UNALIGNED);
    assert_true(features & OVS_DP_F_VPORT_PIDS);

    assert_int_equal(dpif_open("dpt0", "system", &other), 0);
    dpif_close(other);
    assert_int_equal(dpif_open("nosuchdp", "system", &other), ENODEV);
    assert_int_equal(dpif_enumerate("system", collect_name, &found), 0);
    assert_int_equal(found, 1);

    struct dpif_dp_stats stats;
    assert_int_equal(dpif_get_dp_stats(fx.dpif, &stats), 0);
    assert_int_equal(stats.n_flows, 0);
    (void) state;
}

struct port_list {
    char names[8][IFNAMSIZ];    /* Names seen. */
    uint32_t nos[8];            /* Their numbers. */
    int n;                      /* Entries. */
};

static void
collect_port(const struct dpif_port *p, void *aux)
{
    struct port_list *l = aux;
    if (l->n < 8) {
        snprintf(l->names[l->n], IFNAMSIZ, "%s", p->name);
        l->nos[l->n++] = p->port_no;
    }
}

static void
test_ports_add_query_dump_poll(void **state)
{
    struct dpif_port port;
    char *name;

    /* Drain the notifications of the local port's creation. */
    while (dpif_port_poll(fx.dpif, &name) != EAGAIN) {
        free(name);
    }

    fx.port1 = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx.dpif, "v1", "system", &fx.port1), 0);
    assert_int_equal(fx.port1, 1);
    fx.port2 = 5;
    assert_int_equal(dpif_port_add(fx.dpif, "v2", "system", &fx.port2), 0);
    assert_int_equal(fx.port2, 5);

    uint32_t no = 5;
    assert_int_equal(dpif_port_add(fx.dpif, "int0", "internal", &no), EBUSY);
    no = 70000;
    assert_int_equal(dpif_port_add(fx.dpif, "int0", "internal", &no), EFBIG);
    no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx.dpif, "int0", "internal", &no), 0);
    assert_int_equal(no, 2);
    assert_int_equal(dpif_port_add(fx.dpif, "int1", "geneve", &no),
                     EOPNOTSUPP);

    assert_int_equal(dpif_port_query_by_name(fx.dpif, "v2", &port), 0);
    assert_int_equal(port.port_no, 5);
    assert_string_equal(port.type, "system");
    dpif_port_destroy(&port);
    assert_int_equal(dpif_port_query_by_number(fx.dpif, 2, &port), 0);
    assert_string_equal(port.name, "int0");
    assert_string_equal(port.type, "internal");
    dpif_port_destroy(&port);
    assert_int_equal(dpif_port_query_by_number(fx.dpif, 0, &port), 0);
    assert_string_equal(port.name, "dpt0");
    dpif_port_destroy(&port);
    assert_int_equal(dpif_port_query_by_name(fx.dpif, "nope0", &port),
                     ENODEV);
    assert_int_equal(dpif_port_query_by_number(fx.dpif, 9, &port), ENODEV);

    struct port_list l = { .n = 0 };
    assert_int_equal(dpif_port_dump(fx.dpif, collect_port, &l), 0);
    assert_int_equal(l.n, 4);
    note("ports: %s=%u %s=%u %s=%u %s=%u", l.names[0], l.nos[0],
         l.names[1], l.nos[1], l.names[2], l.nos[2], l.names[3], l.nos[3]);

    assert_int_equal(dpif_port_del(fx.dpif, 0), EINVAL);
    assert_int_equal(dpif_port_del(fx.dpif, 2), 0);
    assert_int_equal(dpif_port_query_by_name(fx.dpif, "int0", &port),
                     ENODEV);

    /* The vport multicast group reported every addition and the deletion. */
    const char *expect[] = { "v1", "v2", "int0", "int0" };
    for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
        assert_int_equal(dpif_port_poll(fx.dpif, &name), 0);
        assert_string_equal(name, expect[i]);
        free(name);
    }
    assert_int_equal(dpif_port_poll(fx.dpif, &name), EAGAIN);

    fx.tx1 = packet_socket_in_ns("ns1", "v1p");
    fx.rx1 = fx.tx1;
    fx.rx2 = packet_socket_in_ns("ns2", "v2p");
    (void) state;
}

static void
test_flows_traffic_get_dump_modify_delete(void **state)
{
    struct dpif_flow_stats stats;

    assert_int_equal(put_flow(fx.port1, fx.port2, true, 1, DPIF_FP_CREATE,
                              NULL), 0);
    assert_int_equal(put_flow(fx.port2, fx.port1, false, 2, DPIF_FP_CREATE,
                              &stats), 0);
    assert_int_equal(stats.n_packets, 0);
    assert_int_equal(put_flow(fx.port1, fx.port2, true, 1, DPIF_FP_CREATE,
                              NULL), EEXIST);
    assert_int_equal(put_flow(fx.port1, fx.port1, true, 3, DPIF_FP_MODIFY,
                              NULL), ENOENT);

    drain(fx.rx2);
    drain(fx.rx1);
    long long t0 = time_msec();
    send_frames(fx.tx1, true, N_FRAMES);
    assert_int_equal(count_frames(fx.rx2, N_FRAMES, 3000), N_FRAMES);
    send_frames(fx.rx2, false, N_FRAMES);
    assert_int_equal(count_frames(fx.rx1, N_FRAMES, 3000), N_FRAMES);
    note("%d frames each way through the flows in %lld ms", N_FRAMES,
         time_msec() - t0);

    assert_int_equal(get_flow_stats(1, &stats), 0);
    assert_int_equal(stats.n_packets, N_FRAMES);
    assert_int_equal(stats.n_bytes, N_FRAMES * 64);
    assert_true(stats.used > 0);
    assert_int_equal(get_flow_stats(2, &stats), 0);
    assert_int_equal(stats.n_packets, N_FRAMES);

    struct dpif_dp_stats dps;
    assert_int_equal(dpif_get_dp_stats(fx.dpif, &dps), 0);
    assert_int_equal(dps.n_flows, 2);
    assert_true(dps.n_hit >= 2 * N_FRAMES);
    assert_true(dps.n_masks >= 1);

    /* Full dump: keys, masks and actions; terse dump: UFIDs and stats. */
    for (int terse = 0; terse < 2; terse++) {
        struct dpif_flow_dump *dump = dpif_flow_dump_create(fx.dpif, terse);
        struct dpif_flow_dump_thread *t = dpif_flow_dump_thread_create(dump);
        struct dpif_flow flows[4];
        int n, total = 0;
        while ((n = dpif_flow_dump_next(t, flows, 4)) > 0) {
            for (int i = 0; i < n; i++) {
                if (terse) {
                    assert_null(flows[i].key);
                    assert_null(flows[i].actions);
                } else {
                    assert_non_null(flows[i].key);
                    assert_non_null(flows[i].mask);
                    char *s = format_flow(&flows[i]);
                    note("dump: %s", s);
                    free(s);
                }
                assert_int_equal(flows[i].stats.n_packets, N_FRAMES);
                total++;
            }
        }
        dpif_flow_dump_thread_destroy(t);
        assert_int_equal(dpif_flow_dump_destroy(dump), 0);
        assert_int_equal(total, 2);
    }

    /* Modify flow 1 to drop; the old stats come back; zero them. */
    struct buf k, m;
    buf_init(&k, 0);
    buf_init(&m, 0);
    parse_flow("in_port(1),eth(dst=02:00:00:00:00:02),eth_type(0x0800),"
               "ipv4(proto=17,frag=no),udp()", NULL, &k, &m, NULL);
    union ufid u1;
    ufid_make(&u1, 1);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_MODIFY | DPIF_FP_ZERO_STATS,
        .key = k.data, .key_len = k.size, .mask = m.data,
        .mask_len = m.size, .actions = NULL, .actions_len = 0,
        .ufid = &u1, .stats = &stats,
    };
    assert_int_equal(dpif_flow_put(fx.dpif, &put), 0);
    assert_int_equal(stats.n_packets, N_FRAMES);
    send_frames(fx.tx1, true, 5);
    assert_int_equal(count_frames(fx.rx2, 1, 300), 0);
    assert_int_equal(get_flow_stats(1, &stats), 0);
    assert_int_equal(stats.n_packets, 5);

    /* Create-or-modify restores forwarding. */
    assert_int_equal(put_flow(fx.port1, fx.port2, true, 1,
                              DPIF_FP_CREATE | DPIF_FP_MODIFY, &stats), 0);
    assert_int_equal(stats.n_packets, 5);

    /* Delete by UFID with final stats; by key. */
    struct dpif_flow_del del = { .ufid = &u1, .stats = &stats };
    assert_int_equal(dpif_flow_del(fx.dpif, &del), 0);
    assert_int_equal(stats.n_packets, 5);
    assert_int_equal(dpif_flow_del(fx.dpif, &del), ENOENT);
    assert_int_equal(get_flow_stats(1, &stats), ENOENT);
    buf_uninit(&k);
    buf_uninit(&m);
    assert_int_equal(dpif_flow_flush(fx.dpif), 0);
    assert_int_equal(dpif_get_dp_stats(fx.dpif, &dps), 0);
    assert_int_equal(dps.n_flows, 0);
    (void) state;
}

static void
test_operate_batch_of_120(void **state)
{
    enum { N = 120 };
    struct buf keys[N], masks[N];
    union ufid ufids[N];
    struct dpif_flow_stats stats[N];
    struct dpif_op ops[N], *opp[N];

    for (int i = 0; i < N; i++) {
        char key[160];
        snprintf(key, sizeof key, "in_port(1),eth(dst=02:00:00:00:00:02),"
                 "eth_type(0x0800),ipv4(src=10.1.%d.%d,proto=17,frag=no),udp()",
                 i / 256, i % 256);
        buf_init(&keys[i], 0);
        buf_init(&masks[i], 0);
        parse_flow(key, NULL, &keys[i], &masks[i], NULL);
        ufid_make(&ufids[i], 100 + (uint32_t) i);
        ops[i] = (struct dpif_op) {
            .type = DPIF_OP_FLOW_PUT,
            .flow_put = {
                .flags = DPIF_FP_CREATE,
                .key = keys[i].data, .key_len = keys[i].size,
                .mask = masks[i].data, .mask_len = masks[i].size,
                .ufid = &ufids[i],
            },
        };
        opp[i] = &ops[i];
    }
    /* One duplicate in the middle fails alone. */
    ops[60].flow_put.ufid = &ufids[59];
    ops[60].flow_put.key = keys[59].data;
    ops[60].flow_put.key_len = keys[59].size;
    long long t0 = time_msec();
    dpif_operate(fx.dpif, opp, N);
    long long t1 = time_msec();
    for (int i = 0; i < N; i++) {
        assert_int_equal(ops[i].error, i == 60 ? EEXIST : 0);
    }
    struct dpif_dp_stats dps;
    assert_int_equal(dpif_get_dp_stats(fx.dpif, &dps), 0);
    assert_int_equal(dps.n_flows, N - 1);

    for (int i = 0; i < N; i++) {
        ops[i] = (struct dpif_op) {
            .type = DPIF_OP_FLOW_DEL,
            .flow_del = { .ufid = &ufids[i], .stats = &stats[i] },
        };
    }
    dpif_operate(fx.dpif, opp, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ops[i].error, i == 60 ? ENOENT : 0);
        buf_uninit(&keys[i]);
        buf_uninit(&masks[i]);
    }
    note("batch: %d puts in %lld ms, %d deletes with stats in %lld ms", N,
         t1 - t0, N, time_msec() - t1);
    assert_int_equal(dpif_get_dp_stats(fx.dpif, &dps), 0);
    assert_int_equal(dps.n_flows, 0);
    (void) state;
}

static void
test_execute_outputs_a_packet(void **state)
{
    uint8_t f[64];
    struct buf k, m, a;
    char actions[16];

    buf_init(&k, 0);
    buf_init(&m, 0);
    buf_init(&a, 0);
    snprintf(actions, sizeof actions, "%u", fx.port2);
    parse_flow("in_port(0)", actions, &k, &m, &a);
    make_frame(f, true, 99);
    drain(fx.rx2);
    struct dpif_execute ex = {
        .key = k.data, .key_len = k.size, .packet = f, .packet_len = 64,
        .actions = a.data, .actions_len = a.size,
    };
    assert_int_equal(dpif_execute(fx.dpif, &ex), 0);
    assert_int_equal(count_frames(fx.rx2, 1, 2000), 1);
    buf_uninit(&k);
    buf_uninit(&m);
    buf_uninit(&a);
    (void) state;
}

/* Waits up to 'ms' for an upcall of 'type' carrying one of our test frames
 * on any of 'n' handlers; other upcalls are reported and skipped. */
static int
recv_upcall(uint32_t n, enum dpif_upcall_type type, struct dpif_upcall *up,
            int ms, uint32_t *handlerp)
{
    long long deadline = time_msec() + ms;
    for (;;) {
        for (uint32_t h = 0; h < n; h++) {
            int error = dpif_recv(fx.dpif, h, up);
            if (!error && (up->type != type || up->packet.size < 64
                           || memcmp(up->packet.data + 14 + 20 + 12,
                                     "dpifd-test", 10))) {
                note("skipping unrelated upcall: handler %u, type %d, "
                     "in_port %u, %zu bytes", h, (int) up->type,
                     up->in_port, up->packet.size);
                continue;
            }
            if (error != EAGAIN) {
                *handlerp = h;
                return error;
            }
        }
        long long left = deadline - time_msec();
        if (left <= 0) {
            return EAGAIN;
        }
        struct pollfd pfds[4];
        for (uint32_t h = 0; h < n && h < 4; h++) {
            pfds[h] = (struct pollfd) { dpif_netlink_handler_fd(fx.dpif, h),
                                        POLLIN, 0 };
        }
        poll(pfds, MIN(n, 4u), (int) left);
    }
}

static void
test_upcalls_miss_and_action(void **state)
{
    struct dpif_upcall up;
    uint32_t h;

    assert_int_equal(dpif_handlers_set(fx.dpif, 2), 0);
    assert_int_equal(dpif_recv_set(fx.dpif, true), 0);
    assert_true(dpif_netlink_handler_fd(fx.dpif, 0) >= 0);
    assert_true(dpif_netlink_handler_fd(fx.dpif, 1) >= 0);
    assert_int_equal(dpif_netlink_handler_fd(fx.dpif, 2), -1);
    assert_int_not_equal(dpif_port_get_pid(fx.dpif, fx.port1), 0);

    dpif_upcall_init(&up);
    long long t0 = time_msec();
    send_frames(fx.tx1, true, 1);
    assert_int_equal(recv_upcall(2, DPIF_UC_MISS, &up, 3000, &h), 0);
    note("miss upcall on handler %u after %lld ms: in_port %u, %zu bytes, "
         "key %zu bytes", h, time_msec() - t0, up.in_port, up.packet.size,
         up.key.size);
    assert_int_equal(up.type, DPIF_UC_MISS);
    assert_int_equal(up.in_port, fx.port1);
    assert_int_equal(up.packet.size, 64);
    assert_int_not_equal(up.pid, 0);

    /* The same through per-vport PID arrays: the kernel picks one of the
     * vport's handler pids by packet hash. */
    bool per_cpu = dpif_netlink_dispatch_per_cpu(fx.dpif);
    assert_int_equal(dpif_netlink_set_dispatch_per_cpu(fx.dpif, false), 0);
    assert_false(dpif_netlink_dispatch_per_cpu(fx.dpif));
    struct dpif_upcall up2;
    dpif_upcall_init(&up2);
    send_frames(fx.tx1, true, 1);
    assert_int_equal(recv_upcall(2, DPIF_UC_MISS, &up2, 3000, &h), 0);
    note("per-vport dispatch: miss upcall on handler %u", h);
    assert_int_equal(up2.in_port, fx.port1);
    assert_int_equal(up2.key.size, up.key.size);
    dpif_upcall_uninit(&up2);
    if (per_cpu) {
        assert_int_equal(dpif_netlink_set_dispatch_per_cpu(fx.dpif, true), 0);
        assert_true(dpif_netlink_dispatch_per_cpu(fx.dpif));
    }

    struct flow flow;
    struct errbuf eb;
    enum odp_key_fitness fit = odp_key_to_flow(up.key.data, up.key.size,
                                               &flow, &eb);
    assert_true(fit == ODP_FIT_PERFECT || fit == ODP_FIT_TOO_MUCH);
    assert_int_equal(flow.in_port, fx.port1);
    assert_memory_equal(&flow.dl_dst, mac2, 6);
    assert_int_equal(flow.nw_proto, 17);

    /* A userspace action: the upcall carries its userdata. */
    char actions[96];
    struct buf k, m, a;
    buf_init(&k, 0);
    buf_init(&m, 0);
    buf_init(&a, 0);
    snprintf(actions, sizeof actions, "userspace(pid=%u,userdata(c0ffee00))",
             dpif_port_get_pid(fx.dpif, DPIF_SPECIAL_PORT_PID));
    parse_flow("in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)", actions,
               &k, &m, &a);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE, .key = k.data, .key_len = k.size,
        .mask = m.data, .mask_len = m.size, .actions = a.data,
        .actions_len = a.size,
    };
    assert_int_equal(dpif_flow_put(fx.dpif, &put), 0);
    send_frames(fx.tx1, true, 1);
    assert_int_equal(recv_upcall(2, DPIF_UC_ACTION, &up, 3000, &h), 0);
    note("action upcall: handler %u, type %d, userdata %zu bytes", h,
         (int) up.type, up.userdata.size);
    /* Per vport, the action's pid picks the channel; per CPU, the kernel
     * ignores it and uses the CPU's handler. */
    if (!dpif_netlink_dispatch_per_cpu(fx.dpif)) {
        assert_int_equal(h, 0);
    }
    assert_int_equal(up.type, DPIF_UC_ACTION);
    assert_int_equal(up.userdata.size, 4);
    assert_memory_equal(up.userdata.data, "\xc0\xff\xee\x00", 4);
    assert_int_equal(dpif_flow_flush(fx.dpif), 0);

    dpif_recv_purge(fx.dpif);
    dpif_upcall_uninit(&up);
    buf_uninit(&k);
    buf_uninit(&m);
    buf_uninit(&a);
    (void) state;
}

/* Sends the request 'nlh' on 'fd' and returns the kernel's errno. */
static int
raw_transact(int fd, struct nlmsghdr *nlh)
{
    char rx[8192];

    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 4242;
    if (send(fd, nlh, nlh->nlmsg_len, 0) < 0) {
        return errno;
    }
    for (;;) {
        ssize_t n = recv(fd, rx, sizeof rx, 0);
        if (n < 0) {
            return errno;
        }
        const struct nlmsghdr *r = (const void *) rx;
        int left = (int) n;
        for (; mnl_nlmsg_ok(r, left); r = mnl_nlmsg_next(r, &left)) {
            if (r->nlmsg_seq == 4242 && r->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(r);
                return -e->error;
            }
        }
    }
}

static struct nlmsghdr *
raw_start(char *b, uint16_t family, uint8_t cmd, int dp_ifindex)
{
    memset(b, 0, 1024);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
    nlh->nlmsg_type = family;
    struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
    g->cmd = cmd;
    g->version = 1;
    struct ovs_header *o = mnl_nlmsg_put_extra_header(nlh, sizeof *o);
    o->dp_ifindex = dp_ifindex;
    return nlh;
}

/* The child: a handler without CAP_NET_ADMIN, given the socket by
 * SCM_RIGHTS.  Exits 0 if every privileged command got EPERM. */
static int
unprivileged_child(int chan, const struct dpif_netlink_families *fam,
                   int dp_ifindex, const void *key, size_t key_len)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    char byte;
    struct iovec iov = { &byte, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf,
                          .msg_controllen = sizeof cbuf };

    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOTH)
        || capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN)) {
        fprintf(stderr, "child: could not drop CAP_NET_ADMIN\n");
        return 2;
    }
    if (recvmsg(chan, &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg)) {
        return 3;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);

    char b[1024];
    int failures = 0;
    struct nlmsghdr *nlh = raw_start(b, fam->datapath, OVS_DP_CMD_NEW, 0);
    mnl_attr_put_strz(nlh, OVS_DP_ATTR_NAME, "evil0");
    mnl_attr_put_u32(nlh, OVS_DP_ATTR_UPCALL_PID, 0);
    int e1 = raw_transact(fd, nlh);

    nlh = raw_start(b, fam->vport, OVS_VPORT_CMD_NEW, dp_ifindex);
    mnl_attr_put_strz(nlh, OVS_VPORT_ATTR_NAME, "evil1");
    mnl_attr_put_u32(nlh, OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_INTERNAL);
    mnl_attr_put_u32(nlh, OVS_VPORT_ATTR_UPCALL_PID, 0);
    int e2 = raw_transact(fd, nlh);

    nlh = raw_start(b, fam->flow, OVS_FLOW_CMD_NEW, dp_ifindex);
    mnl_attr_put(nlh, OVS_FLOW_ATTR_KEY, key_len, key);
    mnl_attr_put(nlh, OVS_FLOW_ATTR_ACTIONS, 0, "");
    nlh->nlmsg_flags |= NLM_F_CREATE;
    int e3 = raw_transact(fd, nlh);

    printf("unprivileged handler: dp new -> %s, vport new -> %s, "
           "flow new -> %s\n", strerror(e1), strerror(e2), strerror(e3));
    failures += e1 != EPERM;
    failures += e2 != EPERM;
    failures += e3 != EPERM;
    return failures ? 1 : 0;
}

static void
test_handler_socket_cannot_issue_privileged_commands(void **state)
{
    struct dpif_netlink_families fam;
    int sv[2];

    assert_int_equal(dpif_netlink_families_get(&fam), 0);
    int fd = dpif_netlink_handler_fd(fx.dpif, 0);
    assert_true(fd >= 0);

    /* The datapath's ifindex is that of its local port's netdev. */
    int dp_ifindex = (int) if_nametoindex("dpt0");
    assert_true(dp_ifindex > 0);

    struct buf k, m;
    buf_init(&k, 0);
    buf_init(&m, 0);
    parse_flow("in_port(1),eth(src=02:00:00:00:00:09,dst=02:00:00:00:00:0a),"
               "eth_type(0x0806),arp(sip=10.9.9.9)", NULL, &k, &m, NULL);

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        close(sv[0]);
        _exit(unprivileged_child(sv[1], &fam, dp_ifindex, k.data, k.size));
    }
    close(sv[1]);

    char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
    char byte = 'F';
    struct iovec iov = { &byte, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf,
                          .msg_controllen = sizeof cbuf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    assert_int_equal(sendmsg(sv[0], &msg, 0), 1);

    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(sv[0]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* Nothing was created behind our back. */
    struct dpif *evil;
    struct dpif_port port;
    struct dpif_dp_stats dps;
    assert_int_equal(dpif_open("evil0", "system", &evil), ENODEV);
    assert_int_equal(dpif_port_query_by_name(fx.dpif, "evil1", &port),
                     ENODEV);
    assert_int_equal(dpif_get_dp_stats(fx.dpif, &dps), 0);
    assert_int_equal(dps.n_flows, 0);
    buf_uninit(&k);
    buf_uninit(&m);
    (void) state;
}

static void
test_upcalls_disable_then_destroy(void **state)
{
    struct dpif *again;

    assert_int_equal(dpif_recv_set(fx.dpif, false), 0);
    assert_int_equal(dpif_netlink_handler_fd(fx.dpif, 0), -1);
    assert_int_equal(dpif_port_get_pid(fx.dpif, fx.port1), 0);
    assert_int_equal(dpif_delete(fx.dpif), 0);
    dpif_close(fx.dpif);
    fx.dpif = NULL;
    assert_int_equal(dpif_open("dpt0", "system", &again), ENODEV);
    (void) state;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datapath_create_open_enumerate),
        cmocka_unit_test(test_ports_add_query_dump_poll),
        cmocka_unit_test(test_flows_traffic_get_dump_modify_delete),
        cmocka_unit_test(test_operate_batch_of_120),
        cmocka_unit_test(test_execute_outputs_a_packet),
        cmocka_unit_test(test_upcalls_miss_and_action),
        cmocka_unit_test(test_handler_socket_cannot_issue_privileged_commands),
        cmocka_unit_test(test_upcalls_disable_then_destroy),
    };
    t_start = time_msec();
    log_set_level("netlink_socket", LOG_LEVEL_DBG);
    setvbuf(stdout, NULL, _IOLBF, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
