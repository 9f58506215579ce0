/* Tests of the IPC envelope (common/ipc.c) over real SOCK_SEQPACKET
 * socketpairs: round trips, descriptor passing, and every rejection with
 * its reason, its counter, and no descriptor leaked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "proto/control.pb-c.h"
#include "proto/worker.pb-c.h"

/* Fixture: a socketpair; 'privd' accepts what a worker may send, 'worker'
 * what privd may send. */
struct fixture {
    struct ipc_conn privd;
    struct ipc_conn worker;
    bool big_buffers;           /* IPC_MAX_FRAME datagrams can be sent. */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    int fds[2];
    struct errbuf eb;

    assert_int_equal(ipc_socketpair(fds, &eb), 0);
    ipc_conn_init(&f->privd, fds[0], IPC_ACCEPT_FROM_WORKER);
    ipc_conn_init(&f->worker, fds[1], IPC_ACCEPT_FROM_PRIVD);
    f->big_buffers = (!ipc_socket_set_buffers(fds[0], NULL)
                      && !ipc_socket_set_buffers(fds[1], NULL));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    ipc_conn_close(&f->privd);
    ipc_conn_close(&f->worker);
    free(f);
    return 0;
}

static int
count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    assert_non_null(d);
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

/* Sends 'len' raw bytes with 'n_fds' descriptors, bypassing every check of
 * ipc_send_frame(). */
static void
send_raw(int fd, const void *data, size_t len, const int *fds, size_t n_fds)
{
    char control[CMSG_SPACE(sizeof(int) * 64)];
    struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    assert_true(n_fds <= 64);
    if (n_fds) {
        memset(control, 0, sizeof control);
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
    }
    assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t) len);
}

/* Writes a header with the given fields and 'payload' into 'out'. */
static size_t
make_frame(uint8_t *out, uint32_t magic, uint16_t version, uint16_t type,
           uint32_t length, const void *payload, size_t payload_len)
{
    uint32_t seq = 77;
    memcpy(out, &magic, 4);
    memcpy(out + 4, &version, 2);
    memcpy(out + 6, &type, 2);
    memcpy(out + 8, &length, 4);
    memcpy(out + 12, &seq, 4);
    if (payload_len) {
        memcpy(out + IPC_HEADER_LEN, payload, payload_len);
    }
    return IPC_HEADER_LEN + payload_len;
}

/* A valid packed Hello in 'out'; returns its size. */
static size_t
pack_hello(uint8_t *out, int role)
{
    Dpif__Hello h = DPIF__HELLO__INIT;
    h.protocol_version = IPC_VERSION;
    h.role = role;
    h.worker_id = 3;
    h.pid = 1234;
    return protobuf_c_message_pack(&h.base, out);
}

/* Sends 'len' bytes with two descriptors attached from the worker end,
 * expects privd's ipc_recv() to fail with EPROTO, a reason containing
 * 'reason', counter 'counter' incremented, and no descriptor leaked. */
static void
expect_reject(struct fixture *f, const void *data, size_t len,
              const char *counter, const char *reason)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    int before = count_open_fds();
    uint64_t n = counter_get(counter);

    send_raw(f->worker.fd, data, len, pipefd, 2);

    struct ipc_msg m;
    struct errbuf eb = { "" };
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), EPROTO);
    if (!strstr(eb.msg, reason)) {
        fail_msg("reason \"%s\" does not contain \"%s\"", eb.msg, reason);
    }
    assert_int_equal(counter_get(counter), n + 1);
    assert_int_equal(count_open_fds(), before);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* ----- round trips -------------------------------------------------------- */

static void
ipc_roundtrip_hello(void **state)
{
    struct fixture *f = *state;
    Dpif__Hello h = DPIF__HELLO__INIT;
    struct errbuf eb;

    h.protocol_version = IPC_VERSION;
    h.role = DPIF__WORKER_ROLE__WORKER_ROLE_REVALIDATOR;
    h.worker_id = 5;
    h.pid = getpid();
    h.software_version = "0.1.0";
    assert_int_equal(ipc_send(&f->worker, IPC_HELLO, 42, &h.base, NULL, 0,
                              &eb), 0);

    struct ipc_msg m;
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), 0);
    assert_int_equal(m.hdr.type, IPC_HELLO);
    assert_int_equal(m.hdr.seq, 42);
    assert_int_equal(m.n_fds, 0);
    const Dpif__Hello *r = (const Dpif__Hello *) m.msg;
    assert_int_equal(r->role, DPIF__WORKER_ROLE__WORKER_ROLE_REVALIDATOR);
    assert_int_equal(r->worker_id, 5);
    assert_int_equal(r->pid, (uint32_t) getpid());
    assert_string_equal(r->software_version, "0.1.0");
    ipc_msg_destroy(&m);
    ipc_msg_destroy(&m);        /* Idempotent. */
}

/* A batch of the largest size the envelope allows crosses intact. */
static void
ipc_roundtrip_max_size_batch(void **state)
{
    struct fixture *f = *state;
    if (!f->big_buffers) {
        skip();
    }
    enum { N = 10 };
    static uint8_t packet[IPC_MAX_PACKET];
    static uint8_t actions[IPC_MAX_ACTIONS];
    uint8_t key[IPC_MAX_KEY];
    Dpif__Execute ex[N];
    Dpif__Op ops[N];
    Dpif__Op *opp[N];
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;
    struct errbuf eb;

    for (size_t i = 0; i < sizeof packet; i++) {
        packet[i] = i * 7;
    }
    memset(actions, 0xa5, sizeof actions);
    memset(key, 0x11, sizeof key);
    for (int i = 0; i < N; i++) {
        dpif__execute__init(&ex[i]);
        ex[i].key = (ProtobufCBinaryData) { sizeof key, key };
        ex[i].packet = (ProtobufCBinaryData) { sizeof packet, packet };
        ex[i].actions = (ProtobufCBinaryData) { sizeof actions, actions };
        dpif__op__init(&ops[i]);
        ops[i].op_case = DPIF__OP__OP_EXECUTE;
        ops[i].execute = &ex[i];
        opp[i] = &ops[i];
    }
    batch.batch_id = 99;
    batch.n_ops = N;
    batch.ops = opp;
    size_t size = ipc_frame_size(&batch.base);
    assert_true(size > 950 * 1024 && size <= IPC_MAX_FRAME);

    assert_int_equal(ipc_send(&f->worker, IPC_OP_BATCH, 1, &batch.base,
                              NULL, 0, &eb), 0);
    struct ipc_msg m;
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), 0);
    const Dpif__OpBatch *r = (const Dpif__OpBatch *) m.msg;
    assert_int_equal(r->batch_id, 99);
    assert_int_equal(r->n_ops, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r->ops[i]->op_case, DPIF__OP__OP_EXECUTE);
        assert_int_equal(r->ops[i]->execute->packet.len, sizeof packet);
        assert_memory_equal(r->ops[i]->execute->packet.data, packet,
                            sizeof packet);
    }
    ipc_msg_destroy(&m);
}

/* Descriptors cross with the message, arrive close-on-exec, and are
 * taken by index exactly once. */
static void
ipc_fd_passing(void **state)
{
    struct fixture *f = *state;
    int p1[2], p2[2];
    struct errbuf eb;

    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);

    Dpif__HelloReply hr = DPIF__HELLO_REPLY__INIT;
    hr.protocol_version = IPC_VERSION;
    hr.datapath_name = "br0";
    hr.datapath_type = "dummy";
    hr.n_handlers = 2;
    hr.n_revalidators = 1;
    hr.batch_size = IPC_DEFAULT_BATCH;
    hr.flow_limit = 200000;
    hr.max_idle_msec = 10000;
    hr.megaflows = true;
    hr.socket_only = true;
    uint32_t socks[] = { 1, 0 };
    hr.n_upcall_sockets = 2;
    hr.upcall_sockets = socks;
    int send_fds[] = { p1[1], p2[1] };
    assert_int_equal(ipc_send(&f->privd, IPC_HELLO_REPLY, 7, &hr.base,
                              send_fds, 2, &eb), 0);

    struct ipc_msg m;
    assert_int_equal(ipc_recv(&f->worker, &m, &eb), 0);
    assert_int_equal(m.n_fds, 2);
    const Dpif__HelloReply *r = (const Dpif__HelloReply *) m.msg;
    assert_string_equal(r->datapath_name, "br0");
    assert_int_equal(r->n_upcall_sockets, 2);

    int fd;
    assert_int_equal(ipc_msg_take_fd(&m, r->upcall_sockets[0], &fd, &eb), 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fd, "x", 1), 1);
    char c;
    assert_int_equal(read(p2[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    close(fd);

    uint64_t n = counter_get("ipc_rx_bad_fd_index");
    assert_int_equal(ipc_msg_take_fd(&m, 1, &fd, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "used twice"));
    assert_int_equal(ipc_msg_take_fd(&m, 2, &fd, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "2 descriptors attached"));
    assert_int_equal(counter_get("ipc_rx_bad_fd_index"), n + 2);

    /* Descriptor 0 was not taken: destroy closes it. */
    int before = count_open_fds();
    ipc_msg_destroy(&m);
    assert_int_equal(count_open_fds(), before - 1);

    for (int i = 0; i < 2; i++) {
        close(p1[i]);
        close(p2[i]);
    }
}

/* The frame functions alone, as a ring consumer uses them. */
static void
ipc_frame_roundtrip_without_socket(void **state)
{
    Dpif__ReportRequest rr = DPIF__REPORT_REQUEST__INIT;
    struct errbuf eb;
    struct buf b;
    struct ipc_msg m;

    rr.request_id = 1ULL << 40;
    buf_init(&b, 0);
    assert_int_equal(ipc_frame_pack(IPC_REPORT_REQUEST, 9, &rr.base, &b, &eb),
                     0);
    assert_int_equal(b.size, ipc_frame_size(&rr.base));
    assert_int_equal(ipc_frame_decode(b.data, b.size, IPC_ACCEPT_FROM_PRIVD,
                                      &m, &eb), 0);
    assert_int_equal(m.hdr.seq, 9);
    assert_int_equal(((Dpif__ReportRequest *) m.msg)->request_id, 1ULL << 40);
    ipc_msg_destroy(&m);

    /* The same frame from the wrong side. */
    assert_int_equal(ipc_frame_decode(b.data, b.size, IPC_ACCEPT_FROM_WORKER,
                                      &m, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "not accepted"));

    /* Too small a destination. */
    size_t size;
    uint8_t small[8];
    assert_int_equal(ipc_frame_pack_into(IPC_REPORT_REQUEST, 1, &rr.base,
                                         small, sizeof small, &size, &eb),
                     EMSGSIZE);
    buf_uninit(&b);

    assert_string_equal(ipc_type_name(IPC_OP_BATCH), "op_batch");
    assert_string_equal(ipc_type_name(5), "unknown");
    assert_string_equal(ipc_type_name(1000), "unknown");
    assert_null(ipc_type_descriptor(IPC_TYPE_LIMIT));
}

/* ----- sender-side refusals ------------------------------------------------ */

static void
ipc_send_rejects_wrong_type(void **state)
{
    struct fixture *f = *state;
    Dpif__Shutdown s = DPIF__SHUTDOWN__INIT;
    struct errbuf eb;

    assert_int_equal(ipc_send(&f->privd, IPC_HELLO, 1, &s.base, NULL, 0, &eb),
                     EINVAL);
    assert_non_null(strstr(eb.msg, "is not of type hello"));
}

static void
ipc_send_rejects_oversized(void **state)
{
    struct fixture *f = *state;
    Dpif__Shutdown s = DPIF__SHUTDOWN__INIT;
    struct errbuf eb;
    char *reason = malloc(IPC_MAX_MSG + 1);

    memset(reason, 'a', IPC_MAX_MSG);
    reason[IPC_MAX_MSG] = '\0';
    s.reason = reason;
    uint64_t n = counter_get("ipc_tx_too_big");
    assert_int_equal(ipc_send(&f->privd, IPC_SHUTDOWN, 1, &s.base, NULL, 0,
                              &eb), EMSGSIZE);
    assert_non_null(strstr(eb.msg, "exceeds the maximum"));
    assert_int_equal(counter_get("ipc_tx_too_big"), n + 1);
    free(reason);
}

static void
ipc_send_rejects_too_many_fds(void **state)
{
    struct fixture *f = *state;
    Dpif__Shutdown s = DPIF__SHUTDOWN__INIT;
    int fds[IPC_MAX_FDS + 1];
    struct errbuf eb;

    for (int i = 0; i <= IPC_MAX_FDS; i++) {
        fds[i] = 0;
    }
    assert_int_equal(ipc_send(&f->privd, IPC_SHUTDOWN, 1, &s.base, fds,
                              IPC_MAX_FDS + 1, &eb), EINVAL);
}

static void
ipc_send_to_dead_peer_is_epipe(void **state)
{
    struct fixture *f = *state;
    Dpif__Shutdown s = DPIF__SHUTDOWN__INIT;
    struct errbuf eb;

    ipc_conn_close(&f->worker);
    uint64_t n = counter_get("ipc_tx_peer_gone");
    assert_int_equal(ipc_send(&f->privd, IPC_SHUTDOWN, 1, &s.base, NULL, 0,
                              &eb), EPIPE);
    assert_int_equal(counter_get("ipc_tx_peer_gone"), n + 1);
}

/* ----- receiver-side rejections -------------------------------------------- */

static void
ipc_recv_eof_is_epipe(void **state)
{
    struct fixture *f = *state;
    struct ipc_msg m;
    struct errbuf eb;

    ipc_conn_close(&f->worker);
    uint64_t n = counter_get("ipc_rx_eof");
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), EPIPE);
    assert_non_null(strstr(eb.msg, "peer closed"));
    assert_int_equal(counter_get("ipc_rx_eof"), n + 1);
}

static void
ipc_recv_nothing_is_eagain(void **state)
{
    struct fixture *f = *state;
    struct ipc_msg m;
    struct errbuf eb;

    fcntl(f->privd.fd, F_SETFL, O_NONBLOCK);
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), EAGAIN);
}

static void
ipc_recv_rejects_empty_datagram(void **state)
{
    expect_reject(*state, "", 0, "ipc_rx_short", "empty datagram");
}

static void
ipc_recv_rejects_short(void **state)
{
    expect_reject(*state, "DPIF\1", 5, "ipc_rx_short", "shorter than");
}

static void
ipc_recv_rejects_bad_magic(void **state)
{
    uint8_t frame[64];
    size_t n = make_frame(frame, 0x46495044, IPC_VERSION, IPC_HELLO, 0,
                          NULL, 0);
    expect_reject(*state, frame, n, "ipc_rx_bad_magic", "bad magic");
}

static void
ipc_recv_rejects_bad_version(void **state)
{
    uint8_t frame[64];
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION + 1, IPC_HELLO, 0,
                          NULL, 0);
    expect_reject(*state, frame, n, "ipc_rx_bad_version",
                  "protocol version 2");
}

static void
ipc_recv_rejects_unknown_type(void **state)
{
    uint8_t frame[64];
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, 5, 0, NULL, 0);
    expect_reject(*state, frame, n, "ipc_rx_unknown_type",
                  "unknown message type 5");
    n = make_frame(frame, IPC_MAGIC, IPC_VERSION, 0xffff, 0, NULL, 0);
    expect_reject(*state, frame, n, "ipc_rx_unknown_type",
                  "unknown message type 65535");
}

/* A worker may not send what only privd sends. */
static void
ipc_recv_rejects_unexpected_type(void **state)
{
    uint8_t frame[64];
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_SHUTDOWN, 0,
                          NULL, 0);
    expect_reject(*state, frame, n, "ipc_rx_unexpected_type",
                  "shutdown not accepted");
}

static void
ipc_recv_rejects_oversized_length(void **state)
{
    uint8_t frame[64];
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO,
                          IPC_MAX_MSG + 1, NULL, 0);
    expect_reject(*state, frame, n, "ipc_rx_oversized", "exceeds the maximum");
}

static void
ipc_recv_rejects_length_mismatch(void **state)
{
    uint8_t frame[64], hello[32];
    size_t len = pack_hello(hello, DPIF__WORKER_ROLE__WORKER_ROLE_HANDLER);

    /* Header says more than arrived, and less. */
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len + 1,
                          hello, len);
    expect_reject(*state, frame, n, "ipc_rx_length_mismatch",
                  "arrived");
    n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len - 1,
                   hello, len);
    expect_reject(*state, frame, n, "ipc_rx_length_mismatch", "arrived");
}

/* A datagram larger than the receive buffer is seen as truncated. */
static void
ipc_recv_rejects_truncated(void **state)
{
    struct fixture *f = *state;
    if (!f->big_buffers) {
        skip();
    }
    uint8_t *big = calloc(1, IPC_MAX_FRAME + 1);
    make_frame(big, IPC_MAGIC, IPC_VERSION, IPC_HELLO, IPC_MAX_MSG + 1, NULL,
               0);
    expect_reject(f, big, IPC_MAX_FRAME + 1, "ipc_rx_truncated",
                  "datagram larger than");
    free(big);
}

static void
ipc_recv_rejects_too_many_fds(void **state)
{
    struct fixture *f = *state;
    uint8_t frame[64], hello[32];
    size_t len = pack_hello(hello, DPIF__WORKER_ROLE__WORKER_ROLE_HANDLER);
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len,
                          hello, len);
    int fds[IPC_MAX_FDS + 4];
    int pipefd[2];

    assert_int_equal(pipe(pipefd), 0);
    for (int i = 0; i < IPC_MAX_FDS + 4; i++) {
        fds[i] = pipefd[i % 2];
    }
    int before = count_open_fds();
    uint64_t c = counter_get("ipc_rx_ctrunc");
    send_raw(f->worker.fd, frame, n, fds, IPC_MAX_FDS + 4);

    struct ipc_msg m;
    struct errbuf eb;
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "ancillary data truncated"));
    assert_int_equal(counter_get("ipc_rx_ctrunc"), c + 1);
    assert_int_equal(count_open_fds(), before);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* Credentials are not part of the protocol (privd uses SO_PEERCRED). */
static void
ipc_recv_rejects_other_cmsg(void **state)
{
    struct fixture *f = *state;
    int on = 1;
    assert_int_equal(setsockopt(f->privd.fd, SOL_SOCKET, SO_PASSCRED, &on,
                                sizeof on), 0);
    uint8_t frame[64], hello[32];
    size_t len = pack_hello(hello, DPIF__WORKER_ROLE__WORKER_ROLE_HANDLER);
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len,
                          hello, len);
    expect_reject(f, frame, n, "ipc_rx_bad_cmsg", "unexpected ancillary");
}

static void
ipc_recv_rejects_garbage_payload(void **state)
{
    uint8_t frame[64];
    static const uint8_t garbage[] = { 0x0a, 0x7f, 0x01 };  /* Overlong. */
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO,
                          sizeof garbage, garbage, sizeof garbage);
    expect_reject(*state, frame, n, "ipc_rx_unpack_failed",
                  "not a valid dpif.Hello");
}

static void
ipc_recv_rejects_missing_required(void **state)
{
    uint8_t frame[64];
    static const uint8_t only_version[] = { 0x08, 0x01 };
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO,
                          sizeof only_version, only_version,
                          sizeof only_version);
    expect_reject(*state, frame, n, "ipc_rx_unpack_failed",
                  "missing required field");
}

static void
ipc_recv_rejects_unknown_field(void **state)
{
    uint8_t frame[64], hello[40];
    size_t len = pack_hello(hello, DPIF__WORKER_ROLE__WORKER_ROLE_HANDLER);
    /* Field 100, varint 1. */
    hello[len++] = 0xa0;
    hello[len++] = 0x06;
    hello[len++] = 0x01;
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len,
                          hello, len);
    expect_reject(*state, frame, n, "ipc_rx_unknown_field",
                  "unknown field 100");
}

static void
ipc_recv_rejects_bad_enum(void **state)
{
    uint8_t frame[64], hello[32];
    size_t len = pack_hello(hello, 7);
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len,
                          hello, len);
    expect_reject(*state, frame, n, "ipc_rx_bad_enum",
                  "dpif.Hello.role: invalid enum value 7");
}

/* Enum values are checked in nested and repeated fields too. */
static void
ipc_recv_rejects_bad_nested_enum(void **state)
{
    Dpif__Upcall u = DPIF__UPCALL__INIT;
    Dpif__Upcall *up = &u;
    Dpif__UpcallBatch b = DPIF__UPCALL_BATCH__INIT;
    struct errbuf eb;
    struct buf out;
    struct ipc_msg m;

    u.type = 9;
    b.n_upcalls = 1;
    b.upcalls = &up;
    buf_init(&out, 0);
    assert_int_equal(ipc_frame_pack(IPC_UPCALL_BATCH, 1, &b.base, &out, &eb),
                     0);
    uint64_t n = counter_get("ipc_rx_bad_enum");
    assert_int_equal(ipc_frame_decode(out.data, out.size,
                                      IPC_ACCEPT_FROM_PRIVD, &m, &eb), EPROTO);
    assert_non_null(strstr(eb.msg, "dpif.Upcall.type: invalid enum value 9"));
    assert_int_equal(counter_get("ipc_rx_bad_enum"), n + 1);
    buf_uninit(&out);
}

/* 2 bytes on the wire per empty Op, ~100 in memory: the decode budget
 * stops it.  Decoded directly: a full-size datagram needs big socket
 * buffers, and the socket path is the same decoder. */
static void
ipc_recv_rejects_decode_bomb(void **state)
{
    size_t n_ops = (IPC_MAX_MSG - 2) / 2;
    size_t len = 2 + 2 * n_ops;
    uint8_t *frame = malloc(IPC_HEADER_LEN + len);
    uint8_t *p = frame + IPC_HEADER_LEN;
    struct ipc_msg m;
    struct errbuf eb;

    p[0] = 0x08;                /* batch_id = 1 */
    p[1] = 0x01;
    for (size_t i = 0; i < n_ops; i++) {
        p[2 + 2 * i] = 0x12;    /* ops: empty Op */
        p[3 + 2 * i] = 0x00;
    }
    make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_OP_BATCH, len, NULL, 0);
    uint64_t n = counter_get("ipc_rx_decode_budget");
    assert_int_equal(ipc_frame_decode(frame, IPC_HEADER_LEN + len,
                                      IPC_ACCEPT_FROM_WORKER, &m, &eb),
                     EPROTO);
    assert_non_null(strstr(eb.msg, "more than"));
    assert_int_equal(counter_get("ipc_rx_decode_budget"), n + 1);
    free(frame);
}

/* After a rejection the connection still works. */
static void
ipc_recv_continues_after_reject(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    struct ipc_msg m;

    ipc_recv_rejects_bad_magic(state);
    uint8_t hello[32];
    size_t len = pack_hello(hello, DPIF__WORKER_ROLE__WORKER_ROLE_HANDLER);
    uint8_t frame[64];
    size_t n = make_frame(frame, IPC_MAGIC, IPC_VERSION, IPC_HELLO, len,
                          hello, len);
    assert_int_equal(ipc_send_frame(f->worker.fd, frame, n, NULL, 0, &eb), 0);
    assert_int_equal(ipc_recv(&f->privd, &m, &eb), 0);
    assert_int_equal(m.hdr.seq, 77);
    ipc_msg_destroy(&m);
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(ipc_roundtrip_hello),
        T(ipc_roundtrip_max_size_batch),
        T(ipc_fd_passing),
        T(ipc_frame_roundtrip_without_socket),
        T(ipc_send_rejects_wrong_type),
        T(ipc_send_rejects_oversized),
        T(ipc_send_rejects_too_many_fds),
        T(ipc_send_to_dead_peer_is_epipe),
        T(ipc_recv_eof_is_epipe),
        T(ipc_recv_nothing_is_eagain),
        T(ipc_recv_rejects_empty_datagram),
        T(ipc_recv_rejects_short),
        T(ipc_recv_rejects_bad_magic),
        T(ipc_recv_rejects_bad_version),
        T(ipc_recv_rejects_unknown_type),
        T(ipc_recv_rejects_unexpected_type),
        T(ipc_recv_rejects_oversized_length),
        T(ipc_recv_rejects_length_mismatch),
        T(ipc_recv_rejects_truncated),
        T(ipc_recv_rejects_too_many_fds),
        T(ipc_recv_rejects_other_cmsg),
        T(ipc_recv_rejects_garbage_payload),
        T(ipc_recv_rejects_missing_required),
        T(ipc_recv_rejects_unknown_field),
        T(ipc_recv_rejects_bad_enum),
        T(ipc_recv_rejects_bad_nested_enum),
        T(ipc_recv_rejects_decode_bomb),
        T(ipc_recv_continues_after_reject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
