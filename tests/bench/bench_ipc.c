/* bench_ipc: round trips of op batches between this process and a forked
 * echo peer, over shared-memory rings (with pipe doorbells) and over the
 * SOCK_SEQPACKET socketpair (socket-only mode).
 *
 * One round trip: pack an OpBatch of N FlowPuts, carry it, decode it in the
 * peer, which answers an OpResults of N results with stats, carry that
 * back and decode it: the work a worker and privd do per batch, without
 * the validation and the datapath.  For N = 1, 8 and 50 it prints batches
 * and ops per second and the p50/p99 round-trip latency.  It asserts
 * nothing: figures depend on the machine and its load, which it prints.
 *
 * Usage: bench_ipc [SECONDS_PER_CASE]   (default 1) */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "common/shm-ring.h"
#include "common/util.h"
#include "proto/worker.pb-c.h"

#define KEY_LEN 200
#define ACTIONS_LEN 40
#define MAX_SAMPLES 2000000

/* The two directions of one transport. */
struct transport {
    bool ring;                  /* Rings, else the socketpair. */
    struct ipc_conn conn;       /* The socketpair end (both modes: the
                                 * handshake and the stop signal). */
    struct shm_ring *tx;        /* Ring mode: we produce into it. */
    struct shm_ring *rx;        /* Ring mode: we consume from it. */
    uint64_t accept;            /* Types we accept. */
    struct buf rxbuf;           /* Ring mode: the record copied out. */
};

static void
fatal(const char *what, const struct errbuf *eb)
{
    fprintf(stderr, "bench_ipc: %s: %s\n", what, eb ? eb->msg : "");
    exit(1);
}

static long long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
wait_fd(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
        continue;
    }
}

static void
transport_send(struct transport *t, enum ipc_type type,
               const ProtobufCMessage *msg)
{
    struct errbuf eb;

    if (!t->ring) {
        if (ipc_send(&t->conn, type, 0, msg, NULL, 0, &eb)) {
            fatal("ipc_send", &eb);
        }
        return;
    }
    size_t size = ipc_frame_size(msg);
    void *p;
    int error;
    while ((error = shm_ring_reserve(t->tx, size, &p, &eb)) == ENOBUFS) {
        if (shm_ring_prepare_wait(t->tx, size)) {
            wait_fd(shm_ring_wait_fd(t->tx));
            shm_ring_ack_wait(t->tx);
        }
    }
    if (error || ipc_frame_pack_into(type, 0, msg, p, size, &size, &eb)) {
        fatal("ring send", &eb);
    }
    shm_ring_commit(t->tx, size);
}

/* Receives one message into '*m'.  Returns false when the peer is gone. */
static bool
transport_recv(struct transport *t, struct ipc_msg *m)
{
    struct errbuf eb;

    if (!t->ring) {
        int error = ipc_recv(&t->conn, m, &eb);
        if (error == EPIPE) {
            return false;
        } else if (error) {
            fatal("ipc_recv", &eb);
        }
        return true;
    }
    for (;;) {
        int error = shm_ring_pop(t->rx, &t->rxbuf, &eb);
        if (!error) {
            break;
        } else if (error != EAGAIN) {
            fatal("shm_ring_pop", &eb);
        }
        if (shm_ring_prepare_wait(t->rx, 0)) {
            struct pollfd pfds[2] = {
                { .fd = shm_ring_wait_fd(t->rx), .events = POLLIN },
                { .fd = t->conn.fd, .events = POLLIN },
            };
            while (poll(pfds, 2, -1) < 0 && errno == EINTR) {
                continue;
            }
            shm_ring_ack_wait(t->rx);
            if (pfds[1].revents) {
                return false;   /* Socket readable in ring mode: EOF. */
            }
        }
    }
    if (ipc_frame_decode(t->rxbuf.data, t->rxbuf.size, t->accept, m, &eb)) {
        fatal("ipc_frame_decode", &eb);
    }
    return true;
}

/* The echo peer: answers every OpBatch with an OpResults until the parent
 * closes the socket. */
static NO_RETURN void
echo_main(struct transport *t)
{
    static Dpif__OpResult results[IPC_MAX_BATCH];
    static Dpif__FlowStats stats[IPC_MAX_BATCH];
    static Dpif__OpResult *rp[IPC_MAX_BATCH];
    struct ipc_msg m;

    for (int i = 0; i < IPC_MAX_BATCH; i++) {
        dpif__op_result__init(&results[i]);
        dpif__flow_stats__init(&stats[i]);
        stats[i].has_packets = stats[i].has_bytes = true;
        stats[i].packets = 1000 + i;
        stats[i].bytes = 64000 + i;
        stats[i].has_used_msec = true;
        stats[i].used_msec = 123456789;
        results[i].stats = &stats[i];
        rp[i] = &results[i];
    }
    while (transport_recv(t, &m)) {
        const Dpif__OpBatch *b = (const Dpif__OpBatch *) m.msg;
        Dpif__OpResults r = DPIF__OP_RESULTS__INIT;
        r.batch_id = b->batch_id;
        r.n_results = b->n_ops;
        r.results = rp;
        transport_send(t, IPC_OP_RESULTS, &r.base);
        ipc_msg_destroy(&m);
    }
    _exit(0);
}

static int
cmp_ll(const void *a_, const void *b_)
{
    long long a = *(const long long *) a_, b = *(const long long *) b_;
    return a < b ? -1 : a > b;
}

/* Runs one case: 'n_ops' per batch over rings or the socket for 'seconds'.
 * Prints one line. */
static void
run_case(bool ring, int n_ops, double seconds, long long *samples)
{
    struct errbuf eb;
    int socks[2];
    struct shm_ring *ops_ring = NULL, *res_ring = NULL;

    if (ipc_socketpair(socks, &eb)) {
        fatal("socketpair", &eb);
    }
    if (ring
        && (shm_ring_create(SHM_RING_PRODUCER, SHM_RING_DEFAULT_CAPACITY,
                            IPC_MAX_FRAME, &ops_ring, &eb)
            || shm_ring_create(SHM_RING_CONSUMER, SHM_RING_DEFAULT_CAPACITY,
                               IPC_MAX_FRAME, &res_ring, &eb))) {
        fatal("shm_ring_create", &eb);
    }

    pid_t pid = fork();
    if (pid < 0) {
        fatal("fork", NULL);
    } else if (pid == 0) {
        /* The peer attaches from descriptors, as a worker does. */
        struct transport t = { .ring = ring, .accept = IPC_ACCEPT_FROM_WORKER };
        close(socks[0]);
        ipc_conn_init(&t.conn, socks[1], IPC_ACCEPT_FROM_WORKER);
        buf_init(&t.rxbuf, 0);
        if (ring) {
            int memfd, defd, sefd;
            size_t cap;
            shm_ring_export(ops_ring, &memfd, &defd, &sefd, &cap);
            if (shm_ring_attach(SHM_RING_CONSUMER, dup(memfd), dup(defd),
                                dup(sefd), cap, IPC_MAX_FRAME, &t.rx, &eb)) {
                fatal("attach", &eb);
            }
            shm_ring_export(res_ring, &memfd, &defd, &sefd, &cap);
            if (shm_ring_attach(SHM_RING_PRODUCER, dup(memfd), dup(defd),
                                dup(sefd), cap, IPC_MAX_FRAME, &t.tx, &eb)) {
                fatal("attach", &eb);
            }
            shm_ring_destroy(ops_ring);
            shm_ring_destroy(res_ring);
        }
        echo_main(&t);
    }
    close(socks[1]);

    struct transport t = {
        .ring = ring, .tx = ops_ring, .rx = res_ring,
        .accept = IPC_ACCEPT_FROM_PRIVD,
    };
    ipc_conn_init(&t.conn, socks[0], IPC_ACCEPT_FROM_PRIVD);
    buf_init(&t.rxbuf, 0);

    static uint8_t key[KEY_LEN], actions[ACTIONS_LEN], ufid[IPC_UFID_LEN];
    Dpif__FlowPut puts[IPC_MAX_BATCH];
    Dpif__Op ops[IPC_MAX_BATCH];
    Dpif__Op *opp[IPC_MAX_BATCH];
    for (int i = 0; i < n_ops; i++) {
        dpif__flow_put__init(&puts[i]);
        puts[i].key = (ProtobufCBinaryData) { sizeof key, key };
        puts[i].has_mask = true;
        puts[i].mask = (ProtobufCBinaryData) { sizeof key, key };
        puts[i].actions = (ProtobufCBinaryData) { sizeof actions, actions };
        puts[i].ufid = (ProtobufCBinaryData) { sizeof ufid, ufid };
        puts[i].has_create = puts[i].create = true;
        dpif__op__init(&ops[i]);
        ops[i].op_case = DPIF__OP__OP_FLOW_PUT;
        ops[i].flow_put = &puts[i];
        opp[i] = &ops[i];
    }
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;
    batch.n_ops = n_ops;
    batch.ops = opp;
    size_t req_size = ipc_frame_size(&batch.base);

    long long start = now_ns();
    long long deadline = start + (long long) (seconds * 1e9);
    size_t n = 0;
    size_t resp_size = 0;
    while (n < MAX_SAMPLES) {
        long long t0 = now_ns();
        if (t0 >= deadline) {
            break;
        }
        batch.batch_id = n;
        transport_send(&t, IPC_OP_BATCH, &batch.base);
        struct ipc_msg m;
        if (!transport_recv(&t, &m)) {
            fatal("peer died", NULL);
        }
        const Dpif__OpResults *r = (const Dpif__OpResults *) m.msg;
        if (r->batch_id != n || r->n_results != (size_t) n_ops) {
            fatal("bad results", NULL);
        }
        resp_size = ipc_frame_size(m.msg);
        ipc_msg_destroy(&m);
        samples[n++] = now_ns() - t0;
    }
    double elapsed = (now_ns() - start) / 1e9;

    ipc_conn_close(&t.conn);      /* EOF: the peer exits. */
    int status;
    waitpid(pid, &status, 0);
    shm_ring_destroy(ops_ring);
    shm_ring_destroy(res_ring);
    buf_uninit(&t.rxbuf);

    qsort(samples, n, sizeof *samples, cmp_ll);
    printf("%-6s %5d %10zu %12.0f %12.0f %9.1f %9.1f %8zu %8zu\n",
           ring ? "ring" : "socket", n_ops, n, n / elapsed,
           n * n_ops / elapsed, samples[n / 2] / 1e3,
           samples[n * 99 / 100] / 1e3, req_size, resp_size);
}

static void
print_conditions(double seconds)
{
    struct utsname u;
    double load[3] = { 0, 0, 0 };
    char model[512] = "unknown";

    uname(&u);
    getloadavg(load, 3);
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                const char *colon = strchr(line, ':');
                snprintf(model, sizeof model, "%s", colon ? colon + 2 : line);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    printf("bench_ipc: OpBatch of N FlowPuts (key %d B, mask %d B, "
           "actions %d B, ufid) -> forked echo peer -> OpResults with stats\n",
           KEY_LEN, KEY_LEN, ACTIONS_LEN);
    printf("conditions: %s %s, %ld online CPUs (%s), load average "
           "%.2f %.2f %.2f, %.1f s per case, no CPU pinning, blocking waits "
           "(ring: pipe doorbells; socket: recvmsg)\n",
           u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN), model,
           load[0], load[1], load[2], seconds);
    printf("%-6s %5s %10s %12s %12s %9s %9s %8s %8s\n", "mode", "N",
           "batches", "batches/s", "ops/s", "p50 us", "p99 us", "req B",
           "resp B");
}

int
main(int argc, char *argv[])
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    static const int sizes[] = { 1, 8, 50 };
    long long *samples = xmalloc(MAX_SAMPLES * sizeof *samples);

    if (seconds <= 0) {
        fprintf(stderr, "usage: %s [SECONDS_PER_CASE]\n", argv[0]);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_conditions(seconds);
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        run_case(true, sizes[i], seconds, samples);
        run_case(false, sizes[i], seconds, samples);
    }
    free(samples);
    return 0;
}
