/* Tests of the shared-memory ring (common/shm-ring.c): fill and drain,
 * wrap-around, full ring, a producer in another process, doorbells, and a
 * hostile peer writing impossible indices and lengths straight into the
 * shared mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "common/shm-ring.h"
#include "proto/worker.pb-c.h"

#define CAP 4096
#define MAX_REC SHM_RING_MAX_RECORD(CAP)

/* Offsets in the shared header, as a hostile peer would find them: the
 * indices are on their own 64-byte lines. */
#define OFF_HEAD 64
#define OFF_TAIL 128

/* Fixture: a consumer ring of CAP bytes (privd's view of an ops ring), a
 * producer handle attached to it, and a raw writable mapping of the same
 * memfd: the hostile worker. */
struct fixture {
    struct shm_ring *cons;
    struct shm_ring *prod;
    uint8_t *raw;               /* The whole memfd, mapped separately. */
    struct buf out;
};

static int
dup_or_die(int fd)
{
    int d = dup(fd);
    assert_true(d >= 0);
    return d;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct errbuf eb;
    int memfd, defd, sefd;
    size_t cap;

    assert_int_equal(shm_ring_create(SHM_RING_CONSUMER, CAP, MAX_REC,
                                     &f->cons, &eb), 0);
    shm_ring_export(f->cons, &memfd, &defd, &sefd, &cap);
    assert_int_equal(cap, CAP);
    assert_int_equal(shm_ring_attach(SHM_RING_PRODUCER, dup_or_die(memfd),
                                     dup_or_die(defd), dup_or_die(sefd), CAP,
                                     MAX_REC, &f->prod, &eb), 0);
    f->raw = mmap(NULL, SHM_RING_HEADER_SIZE + CAP, PROT_READ | PROT_WRITE,
                  MAP_SHARED, memfd, 0);
    assert_true(f->raw != MAP_FAILED);
    buf_init(&f->out, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    munmap(f->raw, SHM_RING_HEADER_SIZE + CAP);
    shm_ring_destroy(f->prod);
    shm_ring_destroy(f->cons);
    buf_uninit(&f->out);
    free(f);
    return 0;
}

static void
raw_put64(struct fixture *f, size_t offset, uint64_t v)
{
    memcpy(f->raw + offset, &v, sizeof v);
}

/* Data area offset 'pos' in the raw mapping. */
static size_t
data_off(size_t pos)
{
    return SHM_RING_HEADER_SIZE + pos;
}

static void
fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t) (seed * 31 + i * 7);
    }
}

static bool
check_pattern(const uint8_t *p, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != (uint8_t) (seed * 31 + i * 7)) {
            return false;
        }
    }
    return true;
}

/* Expects the consumer to reject the ring with a reason containing
 * 'reason' and counter 'counter' incremented, and to stay broken. */
static void
expect_broken(struct fixture *f, const char *counter, const char *reason)
{
    struct errbuf eb = { "" };
    uint64_t n = counter_get(counter);

    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), EPROTO);
    if (!strstr(eb.msg, reason)) {
        fail_msg("reason \"%s\" does not contain \"%s\"", eb.msg, reason);
    }
    assert_int_equal(counter_get(counter), n + 1);
    assert_true(shm_ring_is_broken(f->cons));
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), EPROTO);
    assert_false(shm_ring_prepare_wait(f->cons, 0));
}

/* ----- sizes ----------------------------------------------------------------- */

static void
shm_ring_create_rejects_bad_sizes(void **state)
{
    struct shm_ring *r;
    struct errbuf eb;

    assert_int_equal(shm_ring_create(SHM_RING_PRODUCER, 5000, 100, &r, &eb),
                     EINVAL);
    assert_int_equal(shm_ring_create(SHM_RING_PRODUCER, 2048, 100, &r, &eb),
                     EINVAL);
    assert_int_equal(shm_ring_create(SHM_RING_PRODUCER,
                                     SHM_RING_MAX_CAPACITY * 2, 100, &r, &eb),
                     EINVAL);
    assert_int_equal(shm_ring_create(SHM_RING_PRODUCER, CAP, MAX_REC + 1, &r,
                                     &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "need a ring of more than"));
}

static void
shm_ring_attach_validates(void **state)
{
    struct fixture *f = *state;
    struct shm_ring *r;
    struct errbuf eb;
    int memfd, defd, sefd;
    size_t cap;

    shm_ring_export(f->cons, &memfd, &defd, &sefd, &cap);

    /* Wrong expected capacity: fstat disagrees. */
    assert_int_equal(shm_ring_attach(SHM_RING_PRODUCER, dup_or_die(memfd),
                                     dup_or_die(defd), dup_or_die(sefd),
                                     2 * CAP, MAX_REC, &r, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "expected"));

    /* Header that does not match. */
    raw_put64(f, 0, 0);
    assert_int_equal(shm_ring_attach(SHM_RING_PRODUCER, dup_or_die(memfd),
                                     dup_or_die(defd), dup_or_die(sefd), CAP,
                                     MAX_REC, &r, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "does not match"));

    /* An unsealed memfd. */
    int plain = memfd_create("plain", MFD_CLOEXEC);
    assert_int_equal(ftruncate(plain, SHM_RING_HEADER_SIZE + CAP), 0);
    assert_int_equal(shm_ring_attach(SHM_RING_PRODUCER, plain,
                                     dup_or_die(defd), dup_or_die(sefd), CAP,
                                     MAX_REC, &r, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "not sealed"));
}

/* The creator's seals hold: the peer cannot shrink the memfd. */
static void
shm_ring_memfd_is_sealed(void **state)
{
    struct fixture *f = *state;
    int memfd, defd, sefd;
    size_t cap;

    shm_ring_export(f->cons, &memfd, &defd, &sefd, &cap);
    assert_int_equal(ftruncate(memfd, 0), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(memfd, 1 << 20), -1);
}

/* ----- normal operation ------------------------------------------------------ */

static void
shm_ring_fill_and_drain(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    uint8_t rec[100];
    int n = 0;

    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), EAGAIN);
    for (;;) {
        fill_pattern(rec, sizeof rec, n);
        int error = shm_ring_push(f->prod, rec, sizeof rec, &eb);
        if (error) {
            assert_int_equal(error, ENOBUFS);
            break;
        }
        n++;
    }
    /* 100 bytes + 8 header, padded to 112: 36 records in 4096 bytes. */
    assert_int_equal(n, CAP / 112);
    for (int i = 0; i < n; i++) {
        assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
        assert_int_equal(f->out.size, sizeof rec);
        assert_true(check_pattern(f->out.data, sizeof rec, i));
    }
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), EAGAIN);
}

static void
shm_ring_full_and_too_big(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    static uint8_t big[MAX_REC + 1];
    uint64_t n = counter_get("shm_ring_full");

    assert_int_equal(shm_ring_push(f->prod, big, MAX_REC + 1, &eb), EMSGSIZE);
    assert_int_equal(shm_ring_push(f->prod, big, MAX_REC, &eb), 0);
    assert_int_equal(shm_ring_push(f->prod, big, MAX_REC, &eb), 0);
    assert_int_equal(shm_ring_push(f->prod, big, 0, &eb), ENOBUFS);
    assert_int_equal(counter_get("shm_ring_full"), n + 1);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_int_equal(f->out.size, MAX_REC);
    assert_int_equal(shm_ring_push(f->prod, big, 0, &eb), 0);
}

/* An empty record is a record (and popping it into a buffer that never
 * held data is fine). */
static void
shm_ring_zero_length_record(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    assert_int_equal(shm_ring_push(f->prod, NULL, 0, &eb), 0);
    assert_int_equal(shm_ring_push(f->prod, "z", 1, &eb), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_int_equal(f->out.size, 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_int_equal(f->out.size, 1);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), EAGAIN);
}

/* Records of every size, pushed and popped in an irregular rhythm, wrap
 * around the small ring many times and come out intact and in order. */
static void
shm_ring_wraps_around(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    static uint8_t rec[MAX_REC];
    uint32_t rng = 12345;
    uint32_t pushed = 0, popped = 0;
    uint64_t bytes = 0;

    while (popped < 5000) {
        rng = rng * 1103515245 + 12345;
        if (rng >> 31 && pushed < 5000) {
            size_t len = (rng >> 8) % (rng & 1 ? 64 : MAX_REC + 1);
            fill_pattern(rec, len, pushed);
            void *p;
            int error = shm_ring_reserve(f->prod, len + 24, &p, &eb);
            if (error == ENOBUFS || len + 24 > MAX_REC) {
                continue;
            }
            assert_int_equal(error, 0);
            /* Reserve more than needed, commit the true length. */
            memcpy(p, &len, sizeof len);
            memcpy((uint8_t *) p + 8, &pushed, sizeof pushed);
            memcpy((uint8_t *) p + 16, rec, len);
            shm_ring_commit(f->prod, len + 16);
            pushed++;
            bytes += len + 16;
        } else {
            int error = shm_ring_pop(f->cons, &f->out, &eb);
            if (error == EAGAIN) {
                continue;
            }
            assert_int_equal(error, 0);
            size_t len;
            uint32_t seq;
            memcpy(&len, f->out.data, sizeof len);
            memcpy(&seq, f->out.data + 8, sizeof seq);
            assert_int_equal(f->out.size, len + 16);
            assert_int_equal(seq, popped);
            assert_true(check_pattern(f->out.data + 16, len, seq));
            popped++;
        }
    }
    assert_true(bytes > 100 * CAP);
}

/* The record handed out is a private copy: the peer changing the shared
 * bytes afterwards changes nothing. */
static void
shm_ring_pop_copies_out(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    assert_int_equal(shm_ring_push(f->prod, "hello", 5, &eb), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    memset(f->raw + data_off(0), 'X', 16);
    assert_memory_equal(f->out.data, "hello", 5);
    assert_true(f->out.data < f->raw
                || f->out.data >= f->raw + SHM_RING_HEADER_SIZE + CAP);
}

static bool
fd_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, 0) == 1;
}

static void
shm_ring_doorbells(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    static uint8_t big[MAX_REC];

    /* Consumer sleeps on an empty ring; a push rings it awake. */
    assert_true(shm_ring_prepare_wait(f->cons, 0));
    assert_false(fd_readable(shm_ring_wait_fd(f->cons)));
    assert_int_equal(shm_ring_push(f->prod, "a", 1, &eb), 0);
    assert_true(fd_readable(shm_ring_wait_fd(f->cons)));
    shm_ring_ack_wait(f->cons);
    assert_false(fd_readable(shm_ring_wait_fd(f->cons)));
    /* Not empty: no need to sleep. */
    assert_false(shm_ring_prepare_wait(f->cons, 0));
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);

    /* Nobody waiting: a push rings nothing. */
    assert_int_equal(shm_ring_push(f->prod, "b", 1, &eb), 0);
    assert_false(fd_readable(shm_ring_wait_fd(f->cons)));
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);

    /* Producer sleeps on a full ring; a pop rings it awake. */
    while (!shm_ring_push(f->prod, big, 500, &eb)) {
        continue;
    }
    assert_true(shm_ring_prepare_wait(f->prod, 500));
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_true(fd_readable(shm_ring_wait_fd(f->prod)));
    shm_ring_ack_wait(f->prod);
    assert_false(shm_ring_prepare_wait(f->prod, 500));
}

/* ----- across processes -------------------------------------------------------- */

enum { XPROC_RECORDS = 20000 };

/* The child: attach as producer from descriptors received over an IPC
 * socketpair in a HelloReply (as a worker does), push every record,
 * sleeping on the space doorbell when full. */
static int
xproc_child(int sock)
{
    struct ipc_conn conn;
    struct ipc_msg m;
    struct errbuf eb;
    struct shm_ring *ring;
    static uint8_t rec[2048];

    ipc_conn_init(&conn, sock, IPC_ACCEPT_FROM_PRIVD);
    if (ipc_recv(&conn, &m, &eb)) {
        return 2;
    }
    const Dpif__HelloReply *hr = (const Dpif__HelloReply *) m.msg;
    const Dpif__RingDesc *rd = hr->rings[0];
    int memfd, defd, sefd;
    if (ipc_msg_take_fd(&m, rd->memfd, &memfd, &eb)
        || ipc_msg_take_fd(&m, rd->data_eventfd, &defd, &eb)
        || ipc_msg_take_fd(&m, rd->space_eventfd, &sefd, &eb)
        || shm_ring_attach(SHM_RING_PRODUCER, memfd, defd, sefd,
                           rd->capacity, MAX_REC, &ring, &eb)) {
        return 3;
    }
    ipc_msg_destroy(&m);

    for (uint32_t i = 0; i < XPROC_RECORDS; i++) {
        size_t len = 4 + (i * 37) % (MAX_REC - 4);
        memcpy(rec, &i, 4);
        fill_pattern(rec + 4, len - 4, i);
        int error;
        while ((error = shm_ring_push(ring, rec, len, &eb)) == ENOBUFS) {
            if (shm_ring_prepare_wait(ring, len)) {
                struct pollfd pfd = { .fd = shm_ring_wait_fd(ring),
                                      .events = POLLIN };
                poll(&pfd, 1, -1);
                shm_ring_ack_wait(ring);
            }
        }
        if (error) {
            return 4;
        }
    }
    shm_ring_destroy(ring);
    ipc_conn_close(&conn);
    return 0;
}

static void
shm_ring_cross_process(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    int socks[2];
    int memfd, defd, sefd;
    size_t cap;

    assert_int_equal(ipc_socketpair(socks, &eb), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(socks[0]);
        _exit(xproc_child(socks[1]));
    }
    close(socks[1]);

    /* Hand the ring over the way privd does. */
    struct ipc_conn conn;
    ipc_conn_init(&conn, socks[0], IPC_ACCEPT_FROM_WORKER);
    shm_ring_export(f->cons, &memfd, &defd, &sefd, &cap);
    Dpif__RingDesc rd = DPIF__RING_DESC__INIT;
    Dpif__RingDesc *rdp = &rd;
    rd.use = DPIF__RING_USE__RING_USE_OPS;
    rd.memfd = 2;
    rd.capacity = cap;
    rd.data_eventfd = 0;
    rd.space_eventfd = 1;
    Dpif__HelloReply hr = DPIF__HELLO_REPLY__INIT;
    hr.protocol_version = IPC_VERSION;
    hr.datapath_name = "br0";
    hr.datapath_type = "dummy";
    hr.n_handlers = hr.n_revalidators = 1;
    hr.batch_size = IPC_DEFAULT_BATCH;
    hr.n_rings = 1;
    hr.rings = &rdp;
    int fds[] = { defd, sefd, memfd };
    assert_int_equal(ipc_send(&conn, IPC_HELLO_REPLY, 1, &hr.base, fds, 3,
                              &eb), 0);

    uint32_t next = 0;
    while (next < XPROC_RECORDS) {
        int error = shm_ring_pop(f->cons, &f->out, &eb);
        if (error == EAGAIN) {
            if (shm_ring_prepare_wait(f->cons, 0)) {
                struct pollfd pfd = { .fd = shm_ring_wait_fd(f->cons),
                                      .events = POLLIN };
                assert_int_equal(poll(&pfd, 1, 10000), 1);
                shm_ring_ack_wait(f->cons);
            }
            continue;
        }
        assert_int_equal(error, 0);
        uint32_t seq;
        memcpy(&seq, f->out.data, 4);
        assert_int_equal(seq, next);
        assert_int_equal(f->out.size, 4 + (next * 37) % (MAX_REC - 4));
        assert_true(check_pattern(f->out.data + 4, f->out.size - 4, next));
        next++;
    }

    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), EAGAIN);
    ipc_conn_close(&conn);
}

/* ----- doorbells a hostile peer cannot wedge --------------------------- */

/* Clears O_NONBLOCK on 'fd', as a worker that may call fcntl(F_SETFL)
 * would on the doorbells it was given. */
static void
make_blocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), 0);
}

static bool
is_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    assert_true(flags >= 0);
    return flags & O_NONBLOCK;
}

/* B1: the peer clears O_NONBLOCK on the doorbells it was given; the
 * creator's own ends stay non-blocking, so privd (the consumer of an ops
 * ring) resets its doorbell without blocking even when nothing rang.  With
 * a shared eventfd this read() blocked forever: the alarm fails the test
 * then. */
static void
shm_ring_peer_cannot_block_consumer(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    int memfd, defd, sefd;
    size_t cap;

    shm_ring_export(f->cons, &memfd, &defd, &sefd, &cap);
    make_blocking(defd);
    make_blocking(sefd);
    assert_true(is_nonblocking(shm_ring_wait_fd(f->cons)));
    assert_int_not_equal(shm_ring_wait_fd(f->cons), defd);

    alarm(20);
    /* Announced, woken by nobody, reset anyway: EAGAIN is normal. */
    assert_true(shm_ring_prepare_wait(f->cons, 0));
    shm_ring_ack_wait(f->cons);
    shm_ring_ack_wait(f->cons);
    /* A real ring still works. */
    assert_true(shm_ring_prepare_wait(f->cons, 0));
    assert_int_equal(shm_ring_push(f->prod, "abc", 3, &eb), 0);
    struct pollfd pfd = { .fd = shm_ring_wait_fd(f->cons), .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 0), 1);
    shm_ring_ack_wait(f->cons);
    assert_int_equal(poll(&pfd, 1, 0), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    /* The consumer rings the producer's space doorbell, whose peer end is
     * blocking now, when the producer sleeps: it must not block either. */
    assert_false(shm_ring_prepare_wait(f->prod, 8));
    alarm(0);
}

/* B1: privd produces (an upcall or dump ring); the peer clears
 * O_NONBLOCK, keeps announcing that it sleeps and never empties its data
 * doorbell.  Ringing a full pipe returns EAGAIN (counted) and never
 * blocks, and privd waiting for space never blocks either. */
static void
shm_ring_peer_cannot_block_producer(void **state)
{
    (void) state;
    struct shm_ring *prod, *cons;
    struct errbuf eb;
    struct buf out;
    int memfd, defd, sefd;
    size_t cap;

    assert_int_equal(shm_ring_create(SHM_RING_PRODUCER, CAP, MAX_REC,
                                     &prod, &eb), 0);
    shm_ring_export(prod, &memfd, &defd, &sefd, &cap);
    assert_int_equal(shm_ring_attach(SHM_RING_CONSUMER, dup_or_die(memfd),
                                     dup_or_die(defd), dup_or_die(sefd), CAP,
                                     MAX_REC, &cons, &eb), 0);
    make_blocking(defd);
    make_blocking(sefd);
    buf_init(&out, 0);

    uint64_t full = counter_get("shm_ring_doorbell_full");
    alarm(60);
    /* A doorbell pipe holds a page (64 KiB if the size could not be set):
     * ring it more often than that. */
    for (int i = 0; i < 70000; i++) {
        assert_true(shm_ring_prepare_wait(cons, 0));
        assert_int_equal(shm_ring_push(prod, "x", 1, &eb), 0);
        assert_int_equal(shm_ring_pop(cons, &out, &eb), 0);
    }
    assert_true(counter_get("shm_ring_doorbell_full") > full);

    /* privd sleeping for space: fill the ring, announce, reset without
     * any wake-up. */
    while (shm_ring_push(prod, "0123456789abcdef", 16, &eb) == 0) {
        continue;
    }
    assert_true(shm_ring_prepare_wait(prod, 16));
    shm_ring_ack_wait(prod);
    assert_true(is_nonblocking(shm_ring_wait_fd(prod)));
    alarm(0);

    buf_uninit(&out);
    shm_ring_destroy(cons);
    shm_ring_destroy(prod);
}

/* ----- a hostile producer ------------------------------------------------------ */

static void
shm_ring_rejects_head_beyond_capacity(void **state)
{
    struct fixture *f = *state;
    raw_put64(f, OFF_HEAD, CAP + 8);
    expect_broken(f, "shm_ring_bad_head", "producer head 4104 impossible");
}

static void
shm_ring_rejects_head_behind_tail(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    assert_int_equal(shm_ring_push(f->prod, "abc", 3, &eb), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    raw_put64(f, OFF_HEAD, 0);
    expect_broken(f, "shm_ring_bad_head", "producer head 0 impossible");
}

static void
shm_ring_rejects_misaligned_head(void **state)
{
    struct fixture *f = *state;
    raw_put64(f, OFF_HEAD, 12);
    expect_broken(f, "shm_ring_bad_head", "impossible");
}

static void
shm_ring_rejects_length_over_limit(void **state)
{
    struct fixture *f = *state;
    raw_put64(f, data_off(0), MAX_REC + 1);
    raw_put64(f, OFF_HEAD, CAP);
    expect_broken(f, "shm_ring_bad_record", "exceeds the limit");
}

static void
shm_ring_rejects_huge_length(void **state)
{
    struct fixture *f = *state;
    raw_put64(f, data_off(0), UINT64_MAX - 1);
    raw_put64(f, OFF_HEAD, 64);
    expect_broken(f, "shm_ring_bad_record", "exceeds the limit");
}

static void
shm_ring_rejects_length_beyond_head(void **state)
{
    struct fixture *f = *state;
    raw_put64(f, data_off(0), 100);
    raw_put64(f, OFF_HEAD, 64);
    expect_broken(f, "shm_ring_bad_record", "exceeds the 64 bytes published");
}

static void
shm_ring_rejects_skip_at_start(void **state)
{
    struct fixture *f = *state;
    raw_put64(f, data_off(0), SHM_RING_SKIP);
    raw_put64(f, OFF_HEAD, CAP);
    expect_broken(f, "shm_ring_bad_record", "skip marker at offset 0");
}

static void
shm_ring_rejects_skip_beyond_head(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    /* Move to offset 1024, then claim a skip with too little published. */
    static uint8_t rec[1016];
    assert_int_equal(shm_ring_push(f->prod, rec, sizeof rec, &eb), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    raw_put64(f, data_off(1024), SHM_RING_SKIP);
    raw_put64(f, OFF_HEAD, 1024 + 512);
    expect_broken(f, "shm_ring_bad_record", "skip marker at offset 1024");
}

/* A record that would run past the end of the data area (where only a
 * skip marker may be) is refused even though the bytes are "published". */
static void
shm_ring_rejects_record_across_end(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    static uint8_t rec[2040];

    assert_int_equal(shm_ring_push(f->prod, rec, sizeof rec, &eb), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_int_equal(shm_ring_push(f->prod, rec, 1000, &eb), 0);
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    /* Tail is at 3056; claim a 2000-byte record there, with 4000 bytes
     * published (the ring wraps). */
    raw_put64(f, data_off(3056), 2000);
    raw_put64(f, OFF_HEAD, 3056 + 4000);
    expect_broken(f, "shm_ring_bad_record", "end of the ring");
}

/* ----- a hostile consumer ------------------------------------------------------ */

static void
shm_ring_producer_rejects_bad_tail(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    uint64_t n = counter_get("shm_ring_bad_tail");

    assert_int_equal(shm_ring_push(f->prod, "abc", 3, &eb), 0);
    raw_put64(f, OFF_TAIL, 1ULL << 40);
    assert_int_equal(shm_ring_push(f->prod, "abc", 3, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "consumer tail"));
    assert_int_equal(counter_get("shm_ring_bad_tail"), n + 1);
    assert_true(shm_ring_is_broken(f->prod));
    assert_false(shm_ring_prepare_wait(f->prod, 8));
}

/* produced/consumed tell the producer which records the consumer took:
 * the ends of records, by byte count; a bad tail breaks the ring. */
static void
shm_ring_producer_sees_progress(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    uint64_t tail = 1;

    assert_int_equal(shm_ring_produced(f->prod), 0);
    assert_int_equal(shm_ring_consumed(f->prod, &tail, &eb), 0);
    assert_int_equal(tail, 0);
    assert_int_equal(shm_ring_push(f->prod, "abc", 3, &eb), 0);
    uint64_t end1 = shm_ring_produced(f->prod);
    assert_int_equal(end1, 16);             /* 8 header + 3, padded. */
    assert_int_equal(shm_ring_push(f->prod, "0123456789", 10, &eb), 0);
    uint64_t end2 = shm_ring_produced(f->prod);
    assert_int_equal(end2, 16 + 24);
    assert_int_equal(shm_ring_consumed(f->prod, &tail, &eb), 0);
    assert_int_equal(tail, 0);              /* Neither taken. */

    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_int_equal(shm_ring_consumed(f->prod, &tail, &eb), 0);
    assert_int_equal(tail, end1);           /* The first taken only. */
    assert_int_equal(shm_ring_pop(f->cons, &f->out, &eb), 0);
    assert_int_equal(shm_ring_consumed(f->prod, &tail, &eb), 0);
    assert_int_equal(tail, end2);

    raw_put64(f, OFF_TAIL, end2 + 8);       /* Beyond what was produced. */
    assert_int_equal(shm_ring_consumed(f->prod, &tail, &eb), EPROTO);
    assert_true(shm_ring_is_broken(f->prod));
    assert_int_equal(shm_ring_consumed(f->prod, &tail, &eb), EPROTO);
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(shm_ring_create_rejects_bad_sizes),
        T(shm_ring_attach_validates),
        T(shm_ring_memfd_is_sealed),
        T(shm_ring_fill_and_drain),
        T(shm_ring_full_and_too_big),
        T(shm_ring_zero_length_record),
        T(shm_ring_wraps_around),
        T(shm_ring_pop_copies_out),
        T(shm_ring_doorbells),
        T(shm_ring_cross_process),
        T(shm_ring_peer_cannot_block_consumer),
        T(shm_ring_peer_cannot_block_producer),
        T(shm_ring_rejects_head_beyond_capacity),
        T(shm_ring_rejects_head_behind_tail),
        T(shm_ring_rejects_misaligned_head),
        T(shm_ring_rejects_length_over_limit),
        T(shm_ring_rejects_huge_length),
        T(shm_ring_rejects_length_beyond_head),
        T(shm_ring_rejects_skip_at_start),
        T(shm_ring_rejects_skip_beyond_head),
        T(shm_ring_rejects_record_across_end),
        T(shm_ring_producer_rejects_bad_tail),
        T(shm_ring_producer_sees_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
