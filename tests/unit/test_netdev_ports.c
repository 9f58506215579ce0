/* Real ports of the userspace datapath, as root: two network namespaces,
 * each joined to the root namespace by a veth pair whose root end is a
 * "system" port of a "netdev" datapath (whose local port is an "internal"
 * TAP port).  Flows port1 <-> port2 carry a ping between the namespaces,
 * untagged and over VLAN 10 (which only works if the 802.1Q tag the kernel
 * strips on receive is put back).  Before the flows exist, the ping makes
 * miss upcalls.  Skipped with a message when not root or when namespaces,
 * veth or TAP are unavailable.  The namespaces are always removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "privd/dpif.h"

/* Names of this run's namespaces, veths and datapath (pid-suffixed). */
struct names {
    char ns_a[32], ns_b[32];    /* Namespaces. */
    char veth_a0[16], veth_a1[16]; /* Pair A: root end, namespace end. */
    char veth_b0[16], veth_b1[16]; /* Pair B. */
    char dp[16];                /* Datapath (and its TAP local port). */
};

static struct names nm;
static bool namespaces_made;
static bool have_vlan;          /* VLAN sub-interfaces could be made. */

static int run_cmd(const char *fmt, ...) PRINTF_FORMAT(1, 2);

static int
run_cmd(const char *fmt, ...)
{
    char cmd[512];
    va_list args;

    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);
    int status = system(cmd);
    return status == 0 ? 0 : -1;
}

static void
cleanup_namespaces(void)
{
    if (namespaces_made) {
        /* Deleting a namespace deletes the veth ends in it, and with them
         * their peers in the root namespace. */
        run_cmd("ip netns del %s 2>/dev/null", nm.ns_a);
        run_cmd("ip netns del %s 2>/dev/null", nm.ns_b);
        run_cmd("ip link del %s 2>/dev/null", nm.veth_a0);
        run_cmd("ip link del %s 2>/dev/null", nm.veth_b0);
        namespaces_made = false;
    }
}

/* Creates the namespaces and veths; returns false (having cleaned up) if
 * the host cannot. */
static bool
make_namespaces(void)
{
    int pid = (int) getpid() % 100000;

    snprintf(nm.ns_a, sizeof nm.ns_a, "dpiftA%d", pid);
    snprintf(nm.ns_b, sizeof nm.ns_b, "dpiftB%d", pid);
    snprintf(nm.veth_a0, sizeof nm.veth_a0, "dva0_%d", pid);
    snprintf(nm.veth_a1, sizeof nm.veth_a1, "dva1_%d", pid);
    snprintf(nm.veth_b0, sizeof nm.veth_b0, "dvb0_%d", pid);
    snprintf(nm.veth_b1, sizeof nm.veth_b1, "dvb1_%d", pid);
    snprintf(nm.dp, sizeof nm.dp, "dpn%d", pid);

    namespaces_made = true;
    atexit(cleanup_namespaces);
    const char *ns[2] = { nm.ns_a, nm.ns_b };
    const char *v0[2] = { nm.veth_a0, nm.veth_b0 };
    const char *v1[2] = { nm.veth_a1, nm.veth_b1 };
    for (int i = 0; i < 2; i++) {
        if (run_cmd("ip netns add %s", ns[i])
            || run_cmd("ip link add %s type veth peer name %s", v0[i], v1[i])
            || run_cmd("ip link set %s netns %s", v1[i], ns[i])
            || run_cmd("ip link set %s up", v0[i])
            || run_cmd("ip -n %s link set lo up", ns[i])
            || run_cmd("ip -n %s link set %s address 02:00:00:00:00:0%d",
                       ns[i], v1[i], i + 1)
            || run_cmd("ip -n %s link set %s up", ns[i], v1[i])
            || run_cmd("ip -n %s addr add 10.199.0.%d/24 dev %s", ns[i],
                       i + 1, v1[i])
            /* Static ARP: no broadcast needed, one flow per direction. */
            || run_cmd("ip -n %s neigh add 10.199.0.%d lladdr "
                       "02:00:00:00:00:0%d dev %s", ns[i], 2 - i, 2 - i,
                       v1[i])) {
            cleanup_namespaces();
            return false;
        }
    }
    /* VLAN 10 sub-interfaces, where the kernel has 802.1Q. */
    have_vlan = true;
    for (int i = 0; i < 2 && have_vlan; i++) {
        have_vlan = (!run_cmd("ip -n %s link add link %s name vl10 type vlan "
                              "id 10 2>/dev/null", ns[i], v1[i])
                     && !run_cmd("ip -n %s link set vl10 address "
                                 "02:00:00:00:10:0%d", ns[i], i + 1)
                     && !run_cmd("ip -n %s link set vl10 up", ns[i])
                     && !run_cmd("ip -n %s addr add 10.199.10.%d/24 dev vl10",
                                 ns[i], i + 1)
                     && !run_cmd("ip -n %s neigh add 10.199.10.%d lladdr "
                                 "02:00:00:00:10:0%d dev vl10", ns[i], 2 - i,
                                 2 - i));
    }
    return true;
}

struct fixture {
    struct dpif *dpif;          /* The netdev datapath. */
    uint32_t port_a, port_b;    /* Its system ports on veth_a0, veth_b0. */
};

static int
setup(void **state)
{
    if (geteuid() != 0) {
        print_message("SKIP: test_netdev_ports needs root (AF_PACKET, TAP, "
                      "network namespaces)\n");
        return 0;
    }
    if (!make_namespaces()) {
        print_message("SKIP: test_netdev_ports: cannot create network "
                      "namespaces and veth pairs here\n");
        return 0;
    }
    struct fixture *fx = calloc(1, sizeof *fx);
    int error = dpif_create_and_open(nm.dp, "netdev", &fx->dpif);
    if (error) {
        print_message("SKIP: test_netdev_ports: cannot create a netdev "
                      "datapath (TAP local port): %s\n", strerror(error));
        free(fx);
        cleanup_namespaces();
        return 0;
    }
    fx->port_a = fx->port_b = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, nm.veth_a0, "system",
                                   &fx->port_a), 0);
    assert_int_equal(dpif_port_add(fx->dpif, nm.veth_b0, "system",
                                   &fx->port_b), 0);
    assert_int_equal(dpif_recv_set(fx->dpif, true), 0);
    assert_int_equal(dpif_handlers_set(fx->dpif, 1), 0);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    if (fx) {
        dpif_delete(fx->dpif);
        dpif_close(fx->dpif);
        free(fx);
    }
    cleanup_namespaces();
    return 0;
}

/* Pings 'dst' from namespace 'ns' while running the datapath; returns the
 * exit status of ping (0: replies came back). */
static int
ping_through(struct dpif *dpif, const char *ns, const char *dst, int count)
{
    char count_s[8];
    snprintf(count_s, sizeof count_s, "%d", count);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        execlp("ip", "ip", "netns", "exec", ns, "ping", "-q", "-n", "-c",
               count_s, "-i", "0.2", "-W", "1", dst, (char *) NULL);
        _exit(127);
    }

    long long deadline = time_msec() + 10000;
    int status = -1;
    while (time_msec() < deadline) {
        struct poller p;
        dpif_run(dpif);
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        poller_clear(&p);
        dpif_wait(dpif, &p);
        poller_timer_wait(&p, time_msec() + 50);
        poller_block(&p);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Installs in_port(from) -> output(to), matching the input port only. */
static void
put_port_flow(struct dpif *dpif, uint32_t from, uint32_t to)
{
    struct flow key, mask;
    struct buf kb, mb, ab;

    memset(&key, 0, sizeof key);
    key.in_port = from;
    key.dl_type = htons(FLOW_DL_TYPE_NONE);
    memset(&mask, 0, sizeof mask);
    mask.in_port = UINT32_MAX;
    buf_init(&kb, 0);
    buf_init(&mb, 0);
    buf_init(&ab, 0);
    assert_int_equal(odp_key_from_flow(&kb, &key, NULL), 0);
    assert_int_equal(odp_mask_from_flow(&mb, &mask, &key, NULL), 0);
    odp_put_output(&ab, to);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE,
        .key = kb.data, .key_len = kb.size,
        .mask = mb.data, .mask_len = mb.size,
        .actions = ab.data, .actions_len = ab.size,
    };
    assert_int_equal(dpif_flow_put(dpif, &put), 0);
    buf_uninit(&kb);
    buf_uninit(&mb);
    buf_uninit(&ab);
}

static void
test_veth_ping_through_system_ports(void **state)
{
    struct fixture *fx = *state;
    if (!fx) {
        skip();
    }

    /* The local port is an internal TAP named after the datapath. */
    struct dpif_port port;
    assert_int_equal(dpif_port_query_by_number(fx->dpif, 0, &port), 0);
    assert_string_equal(port.type, "internal");
    assert_string_equal(port.name, nm.dp);
    dpif_port_destroy(&port);
    assert_int_equal(dpif_port_query_by_name(fx->dpif, nm.veth_a0, &port), 0);
    assert_string_equal(port.type, "system");
    dpif_port_destroy(&port);

    /* No flows: the pings miss and become upcalls from port A. */
    assert_int_not_equal(ping_through(fx->dpif, nm.ns_a, "10.199.0.2", 1), 0);
    struct dpif_upcall up;
    dpif_upcall_init(&up);
    bool saw_miss = false;
    while (!dpif_recv(fx->dpif, 0, &up)) {
        if (up.type == DPIF_UC_MISS && up.in_port == fx->port_a) {
            struct flow f;
            assert_int_not_equal(odp_key_to_flow(up.key.data, up.key.size,
                                                 &f, NULL), ODP_FIT_ERROR);
            assert_int_equal(f.in_port, fx->port_a);
            saw_miss = true;
        }
    }
    assert_true(saw_miss);
    dpif_upcall_uninit(&up);

    /* port A <-> port B. */
    put_port_flow(fx->dpif, fx->port_a, fx->port_b);
    put_port_flow(fx->dpif, fx->port_b, fx->port_a);
    assert_int_equal(ping_through(fx->dpif, nm.ns_a, "10.199.0.2", 3), 0);
    assert_int_equal(ping_through(fx->dpif, nm.ns_b, "10.199.0.1", 3), 0);
    /* Tagged frames keep their tag through the datapath. */
    if (have_vlan) {
        assert_int_equal(ping_through(fx->dpif, nm.ns_a, "10.199.10.2", 3),
                         0);
    } else {
        print_message("NOTE: no 802.1Q in this kernel: VLAN ping skipped\n");
    }

    struct dpif_port_stats ps;
    assert_int_equal(dpif_port_get_stats(fx->dpif, fx->port_a, &ps), 0);
    assert_true(ps.rx_packets >= 6);
    assert_true(ps.tx_packets >= 6);
    struct dpif_dp_stats st;
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_true(st.n_hit >= 12);
    assert_int_equal(st.n_flows, 2);
}

/* A tagged frame: VLAN 10, priority 5, IPv4/UDP inside. */
static const uint8_t tagged_frame[] = {
    0x02, 0, 0, 0, 0, 0x02,  0x02, 0, 0, 0, 0, 0x01,
    0x81, 0x00, 0xa0, 0x0a,  0x08, 0x00,
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
    10, 199, 0, 1,  10, 199, 0, 2,
    0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00,
};

/* In a child: enters namespace 'ns' and sends 'tagged_frame' on 'dev'
 * through a packet socket.  Exits 0 on success. */
static void
send_tagged_in_ns(const char *ns, const char *dev)
{
    char path[64];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
        _exit(2);
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_ifindex = (int) if_nametoindex(dev),
        .sll_halen = 6,
    };
    if (fd < 0 || !sll.sll_ifindex
        || sendto(fd, tagged_frame, sizeof tagged_frame, 0,
                  (struct sockaddr *) &sll, sizeof sll) < 0) {
        _exit(3);
    }
    _exit(0);
}

static void
test_vlan_tag_survives_af_packet(void **state)
{
    struct fixture *fx = *state;
    if (!fx) {
        skip();
    }

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        send_tagged_in_ns(nm.ns_a, nm.veth_a1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* No flows: the frame comes up as a miss, with its tag in place. */
    struct dpif_upcall up;
    dpif_upcall_init(&up);
    bool found = false;
    long long deadline = time_msec() + 3000;
    while (!found && time_msec() < deadline) {
        dpif_run(fx->dpif);
        while (!found && !dpif_recv(fx->dpif, 0, &up)) {
            if (up.in_port == fx->port_a
                && up.packet.size == sizeof tagged_frame
                && !memcmp(up.packet.data, tagged_frame,
                           sizeof tagged_frame)) {
                struct flow f;
                assert_int_equal(odp_key_to_flow(up.key.data, up.key.size,
                                                 &f, NULL), ODP_FIT_PERFECT);
                assert_int_equal(f.vlan_tci, htons(0xa00a | VLAN_CFI));
                assert_int_equal(f.dl_type, htons(0x0800));
                found = true;
            }
        }
        usleep(10000);
    }
    dpif_upcall_uninit(&up);
    assert_true(found);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_veth_ping_through_system_ports,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlan_tag_survives_af_packet,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
