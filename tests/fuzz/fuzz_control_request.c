/* libFuzzer harness: privd's control socket (privd/control-server.c) as a
 * client reaches it.  The harness runs a real control server of a real
 * "struct privd" without workers, with one dummy datapath "fzc0" (dummy
 * ports fzc1 and fzc2, one flow: the UDP flow of fuzz-seedgen's requests
 * from port 1 to port 2), and sends each input as one datagram from a
 * client connected as root (every command allowed, so that every
 * command's argument checks run).  control_server_run() accepts, decodes
 * the envelope (ipc_recv(), IPC_ACCEPT_FROM_CLIENT), looks the command up
 * in its table and runs its handler against the datapaths.
 *
 * Input: the datagram as dpifctl would send it (a frame of common/ipc.h).
 *
 * Invariants:
 *
 *   - a frame that the envelope decoder accepts gets exactly one reply,
 *     with its sequence number, that a client's decoder accepts; a failed
 *     reply carries a reason;
 *   - a frame that it refuses closes the connection without a reply;
 *   - privd never has more than CONFIG_MAX_DATAPATHS datapaths.
 *
 * Between inputs the harness puts privd back as it was: datapaths that a
 * request added are deleted, the fixture is rebuilt if a request changed
 * its ports or deleted it, its flows are flushed, its capture buffers
 * emptied and the log levels reset.  The process runs in a network
 * namespace of its own when it may create one (root), so that ports that
 * a request adds ("system" ports of a netdev datapath, "internal" tap
 * devices) never reach the host's interfaces. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/timeval.h"
#include "privd/config.h"
#include "privd/control-server.h"
#include "privd/dpif.h"
#include "privd/privd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXTURE_DP "fzc0"
/* Runs of control_server_run() before a reply must have come. */
#define MAX_RUNS 8

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static struct privd fuzz_privd;
static char fuzz_dir[64];
static char fuzz_socket[96];
static int fuzz_client = -1;
static size_t fuzz_n_ports;     /* Ports of the fixture as built. */
static uint8_t *fuzz_reply;     /* Receive buffer, IPC_MAX_FRAME bytes. */

static void
fuzz_cleanup(void)
{
    unlink(fuzz_socket);
    rmdir(fuzz_dir);
}

static void
count_port_cb(const struct dpif_port *port, void *n_)
{
    size_t *n = n_;
    (void) port;
    (*n)++;
}

static size_t
fixture_n_ports(struct privd_dp *dp)
{
    size_t n = 0;
    check(!dpif_port_dump(dp->dpif, count_port_cb, &n));
    return n;
}

/* Opens the fixture datapath with its two ports. */
static void
fixture_open(void)
{
    struct errbuf eb;
    struct privd_dp *dp;

    check(!privd_open_dp(&fuzz_privd, FIXTURE_DP, "dummy", &dp, &eb));
    for (int i = 1; i <= 2; i++) {
        char name[16];
        uint32_t port_no = (uint32_t) i;
        snprintf(name, sizeof name, "fzc%d", i);
        check(!dpif_port_add(dp->dpif, name, "dummy", &port_no));
    }
    fuzz_n_ports = fixture_n_ports(dp);
}

/* Installs the fixture's flow (tests/fuzz/seedgen.c's make_flow(1, 17,
 * 5)), so that requests naming it find it. */
static void
fixture_put_flow(struct privd_dp *dp)
{
    struct buf key, actions;
    struct flow f;

    memset(&f, 0, sizeof f);
    f.in_port = 1;
    f.dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
    f.dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
    f.dl_type = htons(0x0800);
    f.nw_src = htonl(0x0a000005);
    f.nw_dst = htonl(0x0a0000fe);
    f.nw_proto = 17;
    f.nw_ttl = 64;
    f.tp_src = htons(1005);
    f.tp_dst = htons(80);
    buf_init(&key, 0);
    buf_init(&actions, 0);
    check(!odp_key_from_flow(&key, &f, NULL));
    odp_put_output(&actions, 2);
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE,
        .key = key.data, .key_len = key.size,
        .actions = actions.data, .actions_len = actions.size,
    };
    check(!dpif_flow_put(dp->dpif, &put));
    buf_uninit(&key);
    buf_uninit(&actions);
}

static void
fuzz_setup(void)
{
    struct errbuf eb;

    log_set_level("ANY", LOG_LEVEL_OFF);
    if (unshare(CLONE_NEWNET)) {
        /* Not root: ports on real devices fail for want of privilege. */
        fprintf(stderr, "fuzz_control_request: no network namespace of "
                "its own (%s)\n", strerror(errno));
    }
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s", "/tmp/fuzz-ctl.XXXXXX");
    check(mkdtemp(fuzz_dir) != NULL);
    snprintf(fuzz_socket, sizeof fuzz_socket, "%s/dpifd.ctl", fuzz_dir);
    atexit(fuzz_cleanup);

    config_init_defaults(&fuzz_privd.cfg);
    free(fuzz_privd.cfg.run_dir);
    fuzz_privd.cfg.run_dir = xstrdup(fuzz_dir);
    free(fuzz_privd.cfg.control_socket);
    fuzz_privd.cfg.control_socket = xstrdup(fuzz_socket);
    fuzz_privd.start_msec = time_msec();
    fixture_open();
    fixture_put_flow(privd_find_dp(&fuzz_privd, FIXTURE_DP));
    check(!control_server_create(&fuzz_privd, &fuzz_privd.control, &eb));
    fuzz_reply = xmalloc(IPC_MAX_FRAME);
}

static void
client_connect(void)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    fuzz_client = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    check(fuzz_client >= 0);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", fuzz_socket);
    check(!connect(fuzz_client, (struct sockaddr *) &sun, sizeof sun));
    /* Big enough for any frame the envelope allows. */
    int size = 2 * IPC_MAX_FRAME;
    setsockopt(fuzz_client, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
}

static void
client_close(void)
{
    close(fuzz_client);
    fuzz_client = -1;
    /* Let the server see the hangup and free the slot. */
    control_server_run(fuzz_privd.control);
}

/* Serves until the server answers or hangs up.  Returns the reply's size,
 * 0 for a hangup. */
static ssize_t
client_wait_reply(void)
{
    for (int i = 0; i < MAX_RUNS; i++) {
        control_server_run(fuzz_privd.control);
        ssize_t n = recv(fuzz_client, fuzz_reply, IPC_MAX_FRAME,
                         MSG_DONTWAIT | MSG_TRUNC);
        if (n >= 0) {
            check((size_t) n <= IPC_MAX_FRAME);
            return n;
        }
        check(errno == EAGAIN);
    }
    abort();                    /* No answer at all: a stall. */
}

static void
capture_ignore(const void *frame, size_t len, long long wall_msec, void *aux)
{
    (void) frame;
    (void) len;
    (void) wall_msec;
    (void) aux;
}

/* Puts privd back as fuzz_setup() left it. */
static void
fuzz_reset(void)
{
    struct errbuf eb;

    check(fuzz_privd.n_dps <= CONFIG_MAX_DATAPATHS);
    struct privd_dp *fixture = privd_find_dp(&fuzz_privd, FIXTURE_DP);
    if (fixture && (strcmp(dpif_type(fixture->dpif), "dummy")
                    || fixture_n_ports(fixture) != fuzz_n_ports)) {
        fixture = NULL;
    }
    for (size_t i = fuzz_privd.n_dps; i-- > 0;) {
        struct privd_dp *dp = fuzz_privd.dps[i];
        if (dp != fixture) {
            check(!privd_close_dp(&fuzz_privd, dp, true, &eb));
        }
    }
    if (!fixture) {
        fixture_open();
        fixture = privd_find_dp(&fuzz_privd, FIXTURE_DP);
    }
    check(!dpif_flow_flush(fixture->dpif));
    fixture_put_flow(fixture);
    for (uint32_t port = 1; port <= 2; port++) {
        dpif_capture_read(fixture->dpif, port, true, capture_ignore, NULL);
    }
    log_set_level("ANY", LOG_LEVEL_OFF);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_privd.control) {
        fuzz_setup();
    }
    if (size > IPC_MAX_FRAME) {
        return 0;
    }
    if (fuzz_client < 0) {
        client_connect();
    }

    /* What the server must make of it. */
    struct errbuf eb;
    struct ipc_msg m;
    bool valid = !ipc_frame_decode(data, size, IPC_ACCEPT_FROM_CLIENT, &m,
                                   &eb);
    uint32_t seq = valid ? m.hdr.seq : 0;
    if (valid) {
        ipc_msg_destroy(&m);
    }

    if (send(fuzz_client, data, size, 0) != (ssize_t) size) {
        check(errno == EMSGSIZE || errno == ENOBUFS);
        return 0;
    }
    ssize_t n = client_wait_reply();
    if (!valid) {
        check(n == 0);
        client_close();
    } else {
        check(n > 0);
        check(!ipc_frame_decode(fuzz_reply, (size_t) n,
                                IPC_ACCEPT_FROM_SERVER, &m, &eb));
        check(m.hdr.seq == seq);
        const Dpif__Reply *rp = (const Dpif__Reply *) m.msg;
        check(!rp->error || (rp->reason && rp->reason[0]));
        check(!rp->error
              || rp->result_case == DPIF__REPLY__RESULT__NOT_SET);
        ipc_msg_destroy(&m);
    }
    fuzz_reset();
    return 0;
}
