/*
 * dpif-evil-worker — a hostile dpif-handlerd for test_worker_protocol.
 *
 * It is started by the real spawner as a handler, enters the real sandbox,
 * and then speaks the worker protocol by hand (not through common/worker.h)
 * so that it can break every rule on purpose, in this order:
 *
 *   socket  1. a datagram with a bad magic
 *           2. a truncated frame (header promises more than is sent)
 *           3. a HelloReply (a type only privd may send)
 *   ring    4. an OpBatch of IPC_MAX_BATCH + 1 ops      -> E2BIG
 *           5. a forbidden op (FLOW_DEL from a handler)  -> EPERM
 *           6. a FLOW_PUT with a malformed key           -> EINVAL
 *           7. a record that is not a frame at all
 *           8. one valid FLOW_PUT create                 -> 0
 *           9. ring indices pointing outside the ring    -> killed
 *
 * Each result (4, 5, 6, 8) is checked against the expected errno and
 * reason; on a mismatch the worker exits with status 10 + step, so that
 * the test sees which step failed.  After step 9 it waits to be killed.
 * With a low malformed-limit in privd it is killed earlier, at the limit.
 *
 * Other attacks, for tests that run the real dpifd with this binary
 * installed as its dpif-handlerd (test_worker_attacks_dpifd.sh): a file
 * "evil-mode" next to the binary selects one, read before the sandbox
 * (unless the mode is compiled in, below):
 *
 *   mac     handler 0 scribbles the shared MAC table forever (all bytes
 *           0xff, random bytes, every slot "claimed" just now, words that
 *           look like a held robust mutex and its list links), header
 *           included; every other handler execs the real dpif-handlerd
 *           (EVIL_REAL_HANDLERD), which must keep forwarding;
 *   sigsys  after the handshake, calls sysinfo(2), which the filter
 *           forbids (what glibc's qsort() did): privd must report the
 *           syscall.
 *
 * Built with EVIL_MODE defined (the build makes dpif-evil-worker-MODE for
 * each), it does MODE after the handshake instead, whatever its file is
 * named (a test may install it as dpif-handlerd):
 *
 *   clones    floods Executes of 8,192 empty CLONEs on 65,535-byte
 *             packets, 8 per batch, as fast as privd takes them, each
 *             expected to be refused (E2BIG); until killed;
 *   work      floods valid Executes (16 CLONEs, each with an output, on
 *             65,535-byte packets, 7 per batch) beyond its work budget,
 *             until killed;
 *   fanout    puts a flow with 4,096 outputs (E2BIG), one with more action
 *             bytes than a flow may have (EMSGSIZE), then one valid flow
 *             (0), and waits;
 *   bigflows  creates flows with 2 KiB of actions (valid, not translated),
 *             32 per batch, a new destination each, every 20 ms, forever
 *             (ENOSPC results expected once the byte budget is spent);
 *   forge     writes a line to stderr that looks like privd's, with an
 *             escape sequence and a carriage return in it, then a line
 *             after an embedded newline, then 5,000 more; then waits for
 *             EOF on its socket;
 *   counters  answers every ReportRequest with invented counters named like
 *             privd's ("op_executed", "supervisor_worker_killed" = 10^12),
 *             every third with 300 of them (too many); forever.
 *
 * Mismatches exit with status 10 + step as above.
 *
 * And for issue 13's stalls (test_worker_protocol, test_boundary_dpifd.sh):
 *
 *   doorbell  (handler) turns every ring doorbell against privd: fills the
 *             ops ring's data pipe, always announces that it sleeps on
 *             both of privd's rings so that privd rings on every record,
 *             submits op batches without end and takes its results but
 *             never empties a doorbell and never reads its socket (B1);
 *   shardflows (handler) installs flows with the largest action lists privd
 *             accepts (32 KiB, else 2 KB: enough that a dump chunk of them
 *             exceeds the dump pump's shard budget), then idles politely:
 *             answers ReportRequests, drains its results (B4);
 *   noack     (revalidator) takes every DumpShard out of its dump ring and
 *             answers ReportRequests, but never sends a DumpAck (B5).
 *   macstorm  (handler 0) learns a new source MAC every millisecond
 *             through the table's API, so that its change count never
 *             rests: privd must not dump back to back for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mac-table.h"
#include "common/flow.h"
#include "common/ipc.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/sandbox.h"
#include "common/shm-ring.h"
#include "common/ufid.h"
#include "common/worker.h"
#include "proto/worker.pb-c.h"

static struct ipc_conn conn;
static struct shm_ring *ops_ring, *results_ring, *dump_ring;
static int ops_data_fd = -1;      /* Our (write) end of the ops doorbell. */
static uint8_t *results_raw;      /* Raw mapping of the results ring. */
static uint8_t *ops_raw;          /* Raw mapping of the ops ring memfd. */
static uint64_t ops_capacity;
static int mac_fd = -1;           /* The MAC table memfd, if privd sent it. */

NO_RETURN static void
die(int status, const char *what, const struct errbuf *eb)
{
    fprintf(stderr, "dpif-evil-worker: %s: %s\n", what, eb ? eb->msg : "");
    exit(status);
}

/* The mode this binary was built for, "" for the default sequence. */
#ifndef EVIL_MODE
#define EVIL_MODE ""
#endif

static void
handshake(enum worker_role role, unsigned int id)
{
    struct errbuf eb = { "" };
    Dpif__Hello hello = DPIF__HELLO__INIT;
    struct ipc_msg m;

    hello.protocol_version = IPC_VERSION;
    hello.role = (role == WORKER_ROLE_REVALIDATOR
                  ? DPIF__WORKER_ROLE__WORKER_ROLE_REVALIDATOR
                  : DPIF__WORKER_ROLE__WORKER_ROLE_HANDLER);
    hello.worker_id = id;
    hello.pid = (uint32_t) getpid();
    if (ipc_send(&conn, IPC_HELLO, 1, &hello.base, NULL, 0, &eb)
        || ipc_recv(&conn, &m, &eb) || m.hdr.type != IPC_HELLO_REPLY) {
        die(2, "handshake", &eb);
    }
    const Dpif__HelloReply *r = (const Dpif__HelloReply *) m.msg;
    for (size_t i = 0; i < r->n_rings; i++) {
        const Dpif__RingDesc *d = r->rings[i];
        int memfd, defd, sefd;
        if (ipc_msg_take_fd(&m, d->memfd, &memfd, &eb)
            || ipc_msg_take_fd(&m, d->data_eventfd, &defd, &eb)
            || ipc_msg_take_fd(&m, d->space_eventfd, &sefd, &eb)) {
            die(2, "ring fds", &eb);
        }
        if (d->use == DPIF__RING_USE__RING_USE_OPS) {
            ops_raw = mmap(NULL, SHM_RING_HEADER_SIZE + d->capacity,
                           PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
            ops_capacity = d->capacity;
            ops_data_fd = defd;
            if (ops_raw == MAP_FAILED
                || shm_ring_attach(SHM_RING_PRODUCER, memfd, defd, sefd,
                                   d->capacity, IPC_MAX_FRAME, &ops_ring,
                                   &eb)) {
                die(2, "ops ring", &eb);
            }
        } else if (d->use == DPIF__RING_USE__RING_USE_RESULTS) {
            results_raw = mmap(NULL, SHM_RING_HEADER_SIZE + d->capacity,
                               PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
            if (results_raw == MAP_FAILED
                || shm_ring_attach(SHM_RING_CONSUMER, memfd, defd, sefd,
                                   d->capacity, IPC_MAX_FRAME, &results_ring,
                                   &eb)) {
                die(2, "results ring", &eb);
            }
        } else if (d->use == DPIF__RING_USE__RING_USE_DUMP) {
            if (shm_ring_attach(SHM_RING_CONSUMER, memfd, defd, sefd,
                                d->capacity, IPC_MAX_FRAME, &dump_ring,
                                &eb)) {
                die(2, "dump ring", &eb);
            }
        } else {
            close(memfd);
            close(defd);
            close(sefd);
        }
    }
    for (size_t i = 0; i < r->n_regions; i++) {
        int fd;
        if (r->regions[i]->use == DPIF__REGION_USE__REGION_USE_MAC_TABLE
            && !ipc_msg_take_fd(&m, r->regions[i]->memfd, &fd, &eb)) {
            mac_fd = fd;
        }
    }
    ipc_msg_destroy(&m);
    if (!ops_ring || !results_ring) {
        die(2, "no ops or results ring", NULL);
    }
}

static void
push_frame(const void *frame, size_t size)
{
    struct errbuf eb = { "" };
    if (shm_ring_push(ops_ring, frame, size, &eb)) {
        die(3, "push", &eb);
    }
}

static void
push_batch(Dpif__Op **ops, size_t n)
{
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;
    struct errbuf eb = { "" };
    struct buf frame;

    batch.batch_id = n;
    batch.ops = ops;
    batch.n_ops = n;
    buf_init(&frame, 0);
    if (ipc_frame_pack(IPC_OP_BATCH, 1, &batch.base, &frame, &eb)) {
        die(3, "pack", &eb);
    }
    push_frame(frame.data, frame.size);
    buf_uninit(&frame);
}

/* Waits for the next OpResults and checks its first result. */
static void
expect_result(int step, uint32_t error, const char *reason)
{
    struct errbuf eb = { "" };
    struct buf rec;
    struct ipc_msg m;

    buf_init(&rec, 0);
    for (int i = 0; i < 500; i++) {
        int e = shm_ring_pop(results_ring, &rec, &eb);
        if (!e) {
            break;
        } else if (e != EAGAIN) {
            die(10 + step, "results ring", &eb);
        }
        poll(NULL, 0, 10);
    }
    if (!rec.size || ipc_frame_decode(rec.data, rec.size,
                                      IPC_TYPE_BIT(IPC_OP_RESULTS), &m, &eb)) {
        die(10 + step, "no results", &eb);
    }
    const Dpif__OpResults *r = (const Dpif__OpResults *) m.msg;
    if (!r->n_results || r->results[0]->error != error
        || (reason && (!r->results[0]->reason
                       || !strstr(r->results[0]->reason, reason)))) {
        fprintf(stderr, "step %d: got %u \"%s\"\n", step,
                r->n_results ? r->results[0]->error : 999,
                r->n_results && r->results[0]->reason
                ? r->results[0]->reason : "");
        exit(10 + step);
    }
    ipc_msg_destroy(&m);
    buf_uninit(&rec);
}

/* Pushes 'frame' if the ops ring has room; returns false if it has not.
 * Drains the results ring meanwhile, so that privd keeps taking batches. */
static bool
try_push_frame(const void *frame, size_t size)
{
    struct errbuf eb = { "" };
    struct buf rec;

    buf_init(&rec, 0);
    while (!shm_ring_pop(results_ring, &rec, &eb)) {
        buf_clear(&rec);
    }
    buf_uninit(&rec);
    int error = shm_ring_push(ops_ring, frame, size, &eb);
    if (error && error != ENOBUFS) {
        die(3, "push", &eb);
    }
    return !error;
}

/* Floods batches of 'n' Executes of 'packet' with 'actions' forever. */
NO_RETURN static void
flood_executes(const struct buf *key, const struct buf *actions,
               const uint8_t *packet, size_t packet_len, size_t n)
{
    Dpif__Execute exec = DPIF__EXECUTE__INIT;
    Dpif__Op op = DPIF__OP__INIT;
    Dpif__Op *ops[IPC_MAX_BATCH];
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;
    struct errbuf eb = { "" };
    struct buf frame;

    exec.key.data = key->data;
    exec.key.len = key->size;
    exec.packet.data = (uint8_t *) packet;
    exec.packet.len = packet_len;
    exec.actions.data = actions->data;
    exec.actions.len = actions->size;
    op.op_case = DPIF__OP__OP_EXECUTE;
    op.execute = &exec;
    for (size_t i = 0; i < n; i++) {
        ops[i] = &op;
    }
    batch.ops = ops;
    batch.n_ops = n;
    buf_init(&frame, 0);
    if (ipc_frame_pack(IPC_OP_BATCH, 1, &batch.base, &frame, &eb)) {
        die(3, "pack", &eb);
    }
    for (;;) {
        if (!try_push_frame(frame.data, frame.size)) {
            poll(NULL, 0, 1);
        }
    }
}

/* A flow put of 'actions' for the flow with 'key'. */
static void
fanout_put(int step, const struct buf *key, const struct buf *actions,
           uint32_t error, const char *reason)
{
    Dpif__FlowPut put = DPIF__FLOW_PUT__INIT;
    Dpif__Op op = DPIF__OP__INIT;
    Dpif__Op *one[1] = { &op };
    union ufid ufid;

    ufid_from_key(key->data, key->size, NULL, 0, &ufid);
    put.key.data = key->data;
    put.key.len = key->size;
    put.actions.data = actions->data;
    put.actions.len = actions->size;
    put.ufid.data = (uint8_t *) &ufid;
    put.ufid.len = sizeof ufid;
    put.has_create = put.create = true;
    op.op_case = DPIF__OP__OP_FLOW_PUT;
    op.flow_put = &put;
    push_batch(one, 1);
    expect_result(step, error, reason);
}

/* Creates big flows forever (mode bigflows). */
NO_RETURN static void
big_flows(void)
{
    static Dpif__FlowPut puts[32];
    static Dpif__Op ops[32];
    static Dpif__Op *ptrs[32];
    static union ufid ufids[32];
    struct buf keys[32], actions, rec;
    struct errbuf eb = { "" };

    buf_init(&actions, 0);
    buf_init(&rec, 0);
    while (actions.size < 2000) {
        odp_put_push_vlan(&actions, htons(0x8100), htons(0x1000 | 7));
        odp_put_pop_vlan(&actions);
    }
    odp_put_output(&actions, 2);
    for (size_t i = 0; i < 32; i++) {
        buf_init(&keys[i], 0);
    }
    for (uint32_t n = 0;; n++) {
        for (size_t i = 0; i < 32; i++) {
            struct flow f;
            memset(&f, 0, sizeof f);
            f.in_port = 1;
            f.dl_type = htons(0x0800);
            f.nw_dst = htonl(0x0b000000 + n * 32 + (uint32_t) i);
            buf_clear(&keys[i]);
            odp_key_from_flow(&keys[i], &f, NULL);
            ufid_from_key(keys[i].data, keys[i].size, NULL, 0, &ufids[i]);
            dpif__flow_put__init(&puts[i]);
            puts[i].key.data = keys[i].data;
            puts[i].key.len = keys[i].size;
            puts[i].actions.data = actions.data;
            puts[i].actions.len = actions.size;
            puts[i].ufid.data = (uint8_t *) &ufids[i];
            puts[i].ufid.len = sizeof ufids[i];
            puts[i].has_create = puts[i].create = true;
            dpif__op__init(&ops[i]);
            ops[i].op_case = DPIF__OP__OP_FLOW_PUT;
            ops[i].flow_put = &puts[i];
            ptrs[i] = &ops[i];
        }
        push_batch(ptrs, 32);
        poll(NULL, 0, 20);
        while (!shm_ring_pop(results_ring, &rec, &eb)) {
            buf_clear(&rec);
        }
    }
}

/* Answers ReportRequests with invented counters, forever. */
NO_RETURN static void
invent_counters(void)
{
    static Dpif__NamedValue values[300];
    static Dpif__NamedValue *ptrs[300];
    static char names[300][32];
    struct errbuf eb = { "" };

    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        dpif__named_value__init(&values[i]);
        if (i == 0) {
            snprintf(names[i], sizeof names[i], "op_executed");
        } else if (i == 1) {
            snprintf(names[i], sizeof names[i], "supervisor_worker_killed");
        } else {
            snprintf(names[i], sizeof names[i], "invented_%zu", i);
        }
        values[i].name = names[i];
        values[i].value = 1000000000000ull;
        ptrs[i] = &values[i];
    }
    for (unsigned int n = 0;; ) {
        struct ipc_msg m;
        int error = ipc_recv(&conn, &m, &eb);
        if (error == EAGAIN) {
            struct pollfd pfd = { .fd = conn.fd, .events = POLLIN };
            poll(&pfd, 1, 1000);
            continue;
        } else if (error) {
            die(error == EPIPE ? 0 : 3, "recv", &eb);
        }
        if (m.hdr.type == IPC_REPORT_REQUEST) {
            const Dpif__ReportRequest *rq = (const void *) m.msg;
            Dpif__CounterReport r = DPIF__COUNTER_REPORT__INIT;
            r.request_id = rq->request_id;
            r.counters = ptrs;
            r.n_counters = ++n % 3 ? 2 : ARRAY_SIZE(values);
            if (ipc_send(&conn, IPC_COUNTER_REPORT, 2, &r.base, NULL, 0,
                         &eb)) {
                die(3, "report", &eb);
            }
        }
        ipc_msg_destroy(&m);
    }
}

/* Writes forged lines to stderr, then waits for privd to go (mode
 * forge). */
NO_RETURN static void
forge_log(void)
{
    struct errbuf eb = { "" };

    fprintf(stderr, "2026-12-08T00:00:00.000Z|privd|main|info|dpifd: "
            "forged\x1b[2K\rready\nsecond forged line\n");
    for (int i = 0; i < 5000; i++) {
        fprintf(stderr, "spam %d\n", i);
    }
    fflush(stderr);
    for (;;) {
        struct pollfd pfd = { .fd = conn.fd, .events = POLLIN };
        struct ipc_msg m;
        poll(&pfd, 1, 1000);
        int error = ipc_recv(&conn, &m, &eb);
        if (!error) {
            ipc_msg_destroy(&m);
        } else if (error != EAGAIN) {
            exit(0);
        }
    }
}

/* Runs 'mode' (see the top of the file). */
NO_RETURN static void
run_mode(const char *mode, const struct buf *key)
{
    static uint8_t packet[65535];
    struct buf actions;

    memset(packet, 0, sizeof packet);
    memcpy(packet, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
           "\x08\x00", 14);
    buf_init(&actions, 0);
    if (!strcmp(mode, "clones")) {
        for (int i = 0; i < 8192; i++) {
            odp_put_clone_end(&actions, odp_put_clone_start(&actions));
        }
        flood_executes(key, &actions, packet, sizeof packet, 8);
    } else if (!strcmp(mode, "work")) {
        for (int i = 0; i < 16; i++) {
            size_t clone = odp_put_clone_start(&actions);
            odp_put_output(&actions, 2);
            odp_put_clone_end(&actions, clone);
        }
        flood_executes(key, &actions, packet, sizeof packet, 7);
    } else if (!strcmp(mode, "fanout")) {
        for (int i = 0; i < 4096; i++) {
            odp_put_output(&actions, 2);
        }
        fanout_put(1, key, &actions, E2BIG, "4096 outputs");
        buf_clear(&actions);
        while (actions.size < 16384) {
            odp_put_push_vlan(&actions, htons(0x8100), htons(0x1000 | 7));
            odp_put_pop_vlan(&actions);
        }
        odp_put_output(&actions, 2);
        fanout_put(2, key, &actions, EMSGSIZE, "flow actions are");
        buf_clear(&actions);
        odp_put_output(&actions, 2);
        fanout_put(3, key, &actions, 0, NULL);
        for (;;) {
            poll(NULL, 0, 1000);
        }
    } else if (!strcmp(mode, "bigflows")) {
        big_flows();
    } else if (!strcmp(mode, "forge")) {
        forge_log();
    } else if (!strcmp(mode, "counters")) {
        invent_counters();
    }
    die(2, "unknown mode", NULL);
}

/* The attack compiled in (EVIL_MODE) or selected by the "evil-mode" file
 * next to this binary, or "" for the protocol sequence. */
static void
read_mode(char *mode, size_t size)
{
    char exe[PATH_MAX], path[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    mode[0] = '\0';
    if (*EVIL_MODE) {
        snprintf(mode, size, "%s", EVIL_MODE);
        return;
    }
    if (n <= 0) {
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) {
        return;
    }
    *slash = '\0';
    snprintf(path, sizeof path, "%s/evil-mode", exe);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(mode, (int) size, f)) {
            mode[0] = '\0';
        }
        mode[strcspn(mode, "\n")] = '\0';
        fclose(f);
    }
}

static uint32_t
now_msec32(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t) (ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Reads and drops whatever privd sends, so that it keeps us around. */
static void
drain_socket(void)
{
    uint8_t buf[IPC_MAX_FRAME];

    while (recv(conn.fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
        continue;
    }
}

/* "mac": scribbles the MAC table forever, a new pattern every 100 ms,
 * renewed every 10 ms. */
NO_RETURN static void
scribble_mac_table(void)
{
    struct stat st;

    if (mac_fd < 0 || fstat(mac_fd, &st) || st.st_size < 4096) {
        die(4, "no MAC table", NULL);
    }
    size_t size = (size_t) st.st_size;
    uint8_t *raw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                        mac_fd, 0);
    if (raw == MAP_FAILED) {
        die(4, "mmap MAC table", NULL);
    }
    fprintf(stderr, "dpif-evil-worker: scribbling the MAC table (%zu "
            "bytes)\n", size);
    uint64_t *w = (uint64_t *) (void *) raw;
    size_t n_words = size / 8;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned int round = 0;; round++) {
        unsigned int pattern = round / 10 % 4;
        switch (pattern) {
        case 0:
            memset(raw, 0xff, size);
            break;
        case 1:
            for (size_t i = 0; i < n_words; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                w[i] = x;
            }
            break;
        case 2:
            /* Every 32-byte slot claimed (odd) just now, and kept so. */
            for (size_t i = 0; i < n_words; i += 4) {
                w[i] = (uint64_t) now_msec32() << 32 | 1;
            }
            break;
        default:
            /* What a held robust mutex looked like: owner tid, a count,
             * and list links pointing into the region. */
            for (size_t i = 0; i + 5 < n_words; i += 5) {
                w[i] = (uint64_t) getpid() | UINT64_C(1) << 32;
                w[i + 1] = 1;
                w[i + 2] = (uint64_t) (uintptr_t) &w[i + 2];
                w[i + 3] = (uint64_t) (uintptr_t) &w[i + 2];
                w[i + 4] = 0x4141414141414141ull;
            }
            break;
        }
        drain_socket();
        poll(NULL, 0, 10);
    }
}

/* macstorm: learns a new source address every millisecond through the
 * table's own API, as a handler flooded with random source MACs would,
 * so that the table's change count moves without end; keeps its socket
 * drained.  Until killed. */
NO_RETURN static void
mode_macstorm(void)
{
    struct mac_table *table;
    struct errbuf eb = { "" };

    if (mac_fd < 0 || mac_table_attach(mac_fd, true, &table, &eb)) {
        die(4, "attach MAC table", &eb);
    }
    fprintf(stderr, "dpif-evil-worker: learning a MAC storm\n");
    for (uint32_t n = 1;; n++) {
        struct eth_addr mac = { { 0x02, 0xee, (uint8_t) (n >> 24),
                                  (uint8_t) (n >> 16), (uint8_t) (n >> 8),
                                  (uint8_t) n } };
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        mac_table_learn(table, mac, 0, 1 + n % 2,
                        (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                        NULL);
        drain_socket();
        poll(NULL, 0, 1);
    }
}

/* Answers a ReportRequest on the socket with an empty CounterReport and
 * ignores everything else it holds. */
static void
serve_socket(void)
{
    for (;;) {
        struct pollfd pfd = { .fd = conn.fd, .events = POLLIN };
        struct errbuf eb = { "" };
        struct ipc_msg m;
        if (poll(&pfd, 1, 0) != 1) {
            return;
        }
        int error = ipc_recv(&conn, &m, &eb);
        if (error == EAGAIN) {
            return;
        } else if (error == EPIPE) {
            exit(0);
        } else if (error) {
            continue;
        }
        if (m.hdr.type == IPC_REPORT_REQUEST) {
            const Dpif__ReportRequest *rq
                = (const Dpif__ReportRequest *) m.msg;
            Dpif__CounterReport rep = DPIF__COUNTER_REPORT__INIT;
            rep.request_id = rq->request_id;
            ipc_send(&conn, IPC_COUNTER_REPORT, 2, &rep.base, NULL, 0, &eb);
        } else if (m.hdr.type == IPC_SHUTDOWN) {
            exit(0);
        }
        ipc_msg_destroy(&m);
    }
}

/* Pops and discards what 'ring' holds; returns the records taken. */
static unsigned int
drain_ring(struct shm_ring *ring)
{
    struct errbuf eb = { "" };
    struct buf rec;
    unsigned int n = 0;

    buf_init(&rec, 0);
    while (ring && !shm_ring_pop(ring, &rec, &eb)) {
        n++;
    }
    buf_uninit(&rec);
    return n;
}

/* A polite idle loop: reports, results and dump records taken, nothing
 * else done. */
NO_RETURN static void
idle_politely(void)
{
    for (;;) {
        serve_socket();
        drain_ring(results_ring);
        drain_ring(dump_ring);
        struct pollfd pfd = { .fd = conn.fd, .events = POLLIN };
        poll(&pfd, 1, 20);
    }
}

/* Pushes a batch whose one op is 'op' and returns its result's errno. */
static uint32_t
submit_one(Dpif__Op *op)
{
    Dpif__Op *one[1] = { op };
    push_batch(one, 1);
    struct errbuf eb = { "" };
    struct buf rec;
    struct ipc_msg m;
    uint32_t error = 999;

    buf_init(&rec, 0);
    for (int i = 0; i < 500; i++) {
        int e = shm_ring_pop(results_ring, &rec, &eb);
        if (!e) {
            break;
        }
        serve_socket();
        poll(NULL, 0, 10);
    }
    if (rec.size && !ipc_frame_decode(rec.data, rec.size,
                                      IPC_TYPE_BIT(IPC_OP_RESULTS), &m,
                                      &eb)) {
        const Dpif__OpResults *r = (const Dpif__OpResults *) m.msg;
        if (r->n_results) {
            error = r->results[0]->error;
        }
        ipc_msg_destroy(&m);
    }
    buf_uninit(&rec);
    return error;
}

/* One FLOW_PUT create op and what it points to. */
struct evil_put {
    struct buf key;             /* Flow key (in_port 1, IPv4 to nw_dst). */
    struct buf actions;         /* TRUNC actions, then output:2. */
    union ufid ufid;            /* From the key. */
    Dpif__FlowPut put;          /* Points into the above. */
    Dpif__Op op;                /* The op: 'put'. */
};

/* Builds in 'p' the create of a flow to 'nw_dst' (host order) whose actions
 * take about 'actions_len' bytes (just one output if that is small). */
static void
evil_put_init(struct evil_put *p, uint32_t nw_dst, size_t actions_len)
{
    struct flow f;

    memset(&f, 0, sizeof f);
    f.in_port = 1;
    f.dl_type = htons(0x0800);
    f.nw_dst = htonl(nw_dst);
    buf_init(&p->key, 0);
    buf_init(&p->actions, 0);
    odp_key_from_flow(&p->key, &f, NULL);
    while (p->actions.size + 16 <= actions_len) {
        odp_put_trunc(&p->actions, 1500);
    }
    odp_put_output(&p->actions, 2);
    ufid_from_key(p->key.data, p->key.size, NULL, 0, &p->ufid);
    dpif__flow_put__init(&p->put);
    p->put.key.data = p->key.data;
    p->put.key.len = p->key.size;
    p->put.actions.data = p->actions.data;
    p->put.actions.len = p->actions.size;
    p->put.ufid.data = (uint8_t *) &p->ufid;
    p->put.ufid.len = sizeof p->ufid;
    p->put.has_create = p->put.create = true;
    dpif__op__init(&p->op);
    p->op.op_case = DPIF__OP__OP_FLOW_PUT;
    p->op.flow_put = &p->put;
}

static void
evil_put_uninit(struct evil_put *p)
{
    buf_uninit(&p->key);
    buf_uninit(&p->actions);
}

/* shardflows: flows to 10.1.X.Y, each with about 'actions_len' bytes of
 * actions.  Returns the flows created. */
static unsigned int
install_big_flows(unsigned int n, size_t actions_len)
{
    unsigned int created = 0;

    for (unsigned int i = 0; i < n; i++) {
        struct evil_put p;

        evil_put_init(&p, 0x0a010000 + i, actions_len);
        uint32_t error = submit_one(&p.op);
        evil_put_uninit(&p);
        if (error) {
            break;
        }
        created++;
    }
    return created;
}

NO_RETURN static void
mode_shardflows(void)
{
    /* 40 flows of 32 KiB: one chunk of them is 1.2 MiB for one shard, more
     * than a frame.  If privd caps worker actions, 200 of 2 KB: one chunk
     * is still over the pump's shard budget. */
    unsigned int n = install_big_flows(40, 32 * 1024 - 64);
    if (!n) {
        n = install_big_flows(200, 2000);
    }
    fprintf(stderr, "dpif-evil-worker: shardflows: %u flows installed\n", n);
    idle_politely();
}

NO_RETURN static void
mode_noack(void)
{
    if (!dump_ring) {
        die(2, "noack: no dump ring", NULL);
    }
    idle_politely();
}

/* doorbell: see the file comment. */
NO_RETURN static void
mode_doorbell(void)
{
    _Atomic uint32_t *ops_producer_waiting
        = (_Atomic uint32_t *) (void *) (ops_raw + 72);
    _Atomic uint32_t *results_consumer_waiting
        = (_Atomic uint32_t *) (void *) (results_raw + 136);
    char junk[4096];

    /* privd's end of the ops data pipe: as full as we can make it. */
    memset(junk, 'x', sizeof junk);
    while (write(ops_data_fd, junk, sizeof junk) > 0) {
        continue;
    }

    /* Op batches, each answered: privd rings our results doorbell (which
     * we never empty) on every one, and our ops space doorbell on every
     * record it takes.  Same flow every time: EEXIST after the first. */
    struct evil_put p;
    evil_put_init(&p, 0x0a000064, 0);
    Dpif__Op *one[1] = { &p.op };
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;
    batch.ops = one;
    batch.n_ops = 1;
    struct buf frame;
    struct errbuf eb = { "" };
    buf_init(&frame, 0);
    if (ipc_frame_pack(IPC_OP_BATCH, 1, &batch.base, &frame, &eb)) {
        die(3, "pack", &eb);
    }
    for (;;) {
        atomic_store(ops_producer_waiting, 1);
        atomic_store(results_consumer_waiting, 1);
        /* A full ring is retried at once: the flags are set again on
         * every turn, so that privd rings on every record it takes. */
        int error = shm_ring_push(ops_ring, frame.data, frame.size, &eb);
        if (error && error != ENOBUFS) {
            die(3, "push", &eb);
        }
        drain_ring(results_ring);
    }
}

int
main(int argc, char *argv[])
{
    enum worker_role role;
    unsigned int id;
    struct errbuf eb = { "" };
    const int keep[] = { DPIF_WORKER_CONTROL_FD };

    if (worker_parse_args(argc, argv, &role, &id, &eb)) {
        die(2, "args", &eb);
    }
    char mode[32];
    read_mode(mode, sizeof mode);
    if ((!strcmp(mode, "mac") || !strcmp(mode, "macstorm")) && id != 0) {
        execv(EVIL_REAL_HANDLERD, argv);
        die(2, "exec " EVIL_REAL_HANDLERD, NULL);
    }
    /* The directory it was started in, as the real workers do: "." needs
     * no search permission on privd's run directory. */
    struct sandbox_config cfg = {
        .user = DPIFD_WORKER_USER, .root_dir = ".", .role = role,
        .expect_root = geteuid() == 0, .keep_fds = keep, .n_keep_fds = 1,
    };
    struct sandbox_report report;
    if (sandbox_enter_worker(&cfg, &report, &eb)) {
        die(2, "sandbox", &eb);
    }
    ipc_conn_init(&conn, DPIF_WORKER_CONTROL_FD, IPC_ACCEPT_FROM_PRIVD);
    handshake(role, id);
    if (!strcmp(mode, "mac")) {
        scribble_mac_table();
    } else if (!strcmp(mode, "sigsys")) {
        struct sysinfo si;
        fprintf(stderr, "dpif-evil-worker: calling sysinfo\n");
        sysinfo(&si);
        die(5, "sysinfo did not kill", NULL);
    } else if (!strcmp(mode, "doorbell")) {
        mode_doorbell();
    } else if (!strcmp(mode, "shardflows")) {
        mode_shardflows();
    } else if (!strcmp(mode, "noack")) {
        mode_noack();
    } else if (!strcmp(mode, "macstorm")) {
        mode_macstorm();
    }

    /* Ingredients of the ops. */
    struct flow f;
    struct buf key, actions;
    union ufid ufid;
    memset(&f, 0, sizeof f);
    f.in_port = 1;
    f.dl_type = htons(0x0800);
    f.nw_dst = htonl(0x0a000063);
    buf_init(&key, 0);
    buf_init(&actions, 0);
    odp_key_from_flow(&key, &f, NULL);
    odp_put_output(&actions, 2);
    if (*mode) {
        run_mode(mode, &key);
    }

    /* 1-3: the socket. */
    uint8_t junk[32];
    memset(junk, 0x5a, sizeof junk);
    send(conn.fd, junk, sizeof junk, 0);
    uint32_t hdr[4] = { IPC_MAGIC, IPC_VERSION | IPC_OP_BATCH << 16, 100, 2 };
    send(conn.fd, hdr, sizeof hdr, 0);
    Dpif__ReportRequest rr = DPIF__REPORT_REQUEST__INIT;
    struct buf frame;
    buf_init(&frame, 0);
    ipc_frame_pack(IPC_REPORT_REQUEST, 3, &rr.base, &frame, &eb);
    send(conn.fd, frame.data, frame.size, 0);

    ufid_from_key(key.data, key.size, NULL, 0, &ufid);
    Dpif__FlowPut put = DPIF__FLOW_PUT__INIT;
    put.key.data = key.data;
    put.key.len = key.size;
    put.actions.data = actions.data;
    put.actions.len = actions.size;
    put.ufid.data = (uint8_t *) &ufid;
    put.ufid.len = sizeof ufid;
    put.has_create = put.create = true;
    Dpif__Op put_op = DPIF__OP__INIT;
    put_op.op_case = DPIF__OP__OP_FLOW_PUT;
    put_op.flow_put = &put;

    /* 4: too many ops. */
    Dpif__Op *many[IPC_MAX_BATCH + 1];
    for (size_t i = 0; i < IPC_MAX_BATCH + 1; i++) {
        many[i] = &put_op;
    }
    push_batch(many, IPC_MAX_BATCH + 1);
    expect_result(4, E2BIG, "65 ops");

    /* 5: a delete from a handler. */
    Dpif__FlowDel del = DPIF__FLOW_DEL__INIT;
    del.id_case = DPIF__FLOW_DEL__ID_UFID;
    del.ufid = put.ufid;
    Dpif__Op del_op = DPIF__OP__INIT;
    del_op.op_case = DPIF__OP__OP_FLOW_DEL;
    del_op.flow_del = &del;
    Dpif__Op *one[1] = { &del_op };
    push_batch(one, 1);
    expect_result(5, EPERM, "not allowed for handlers");

    /* 6: a malformed key. */
    uint32_t bad_key[2] = { 0x7fff0008, 0 };
    Dpif__FlowPut bad = put;
    bad.key.data = (uint8_t *) bad_key;
    bad.key.len = sizeof bad_key;
    Dpif__Op bad_op = DPIF__OP__INIT;
    bad_op.op_case = DPIF__OP__OP_FLOW_PUT;
    bad_op.flow_put = &bad;
    one[0] = &bad_op;
    push_batch(one, 1);
    expect_result(6, EINVAL, "malformed key");

    /* 7: not a frame. */
    push_frame(junk, sizeof junk);

    /* 8: one valid create. */
    one[0] = &put_op;
    push_batch(one, 1);
    expect_result(8, 0, NULL);

    /* 9: a head far beyond the ring. */
    _Atomic uint64_t *head = (_Atomic uint64_t *) (void *) (ops_raw + 64);
    *head += ops_capacity * 4;
    for (;;) {
        poll(NULL, 0, 1000);
    }
}
