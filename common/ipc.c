#include "common/ipc.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/log.h"
#include "proto/control.pb-c.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(ipc);

COUNTER_DEFINE(ipc_rx_eof);
COUNTER_DEFINE(ipc_rx_truncated);
COUNTER_DEFINE(ipc_rx_ctrunc);
COUNTER_DEFINE(ipc_rx_bad_cmsg);
COUNTER_DEFINE(ipc_rx_too_many_fds);
COUNTER_DEFINE(ipc_rx_short);
COUNTER_DEFINE(ipc_rx_bad_magic);
COUNTER_DEFINE(ipc_rx_bad_version);
COUNTER_DEFINE(ipc_rx_unknown_type);
COUNTER_DEFINE(ipc_rx_unexpected_type);
COUNTER_DEFINE(ipc_rx_oversized);
COUNTER_DEFINE(ipc_rx_length_mismatch);
COUNTER_DEFINE(ipc_rx_decode_budget);
COUNTER_DEFINE(ipc_rx_unpack_failed);
COUNTER_DEFINE(ipc_rx_unknown_field);
COUNTER_DEFINE(ipc_rx_bad_enum);
COUNTER_DEFINE(ipc_rx_bad_fd_index);
COUNTER_DEFINE(ipc_tx_too_big);
COUNTER_DEFINE(ipc_tx_peer_gone);

/* Deepest nesting of messages that the schemas have (Reply -> DumpFlowsReply
 * -> Flow -> FlowStats is 4); the strict check refuses to go further, so a
 * future recursive message type cannot turn it into unbounded recursion. */
#define IPC_MAX_NESTING 8

/* ----- types ------------------------------------------------------------ */

struct ipc_type_info {
    const char *name;                           /* For logs. */
    const ProtobufCMessageDescriptor *desc;     /* Payload's message type. */
};

static const struct ipc_type_info ipc_types[IPC_TYPE_LIMIT] = {
    [IPC_HELLO] = { "hello", &dpif__hello__descriptor },
    [IPC_OP_BATCH] = { "op_batch", &dpif__op_batch__descriptor },
    [IPC_DUMP_ACK] = { "dump_ack", &dpif__dump_ack__descriptor },
    [IPC_COUNTER_REPORT] = { "counter_report",
                             &dpif__counter_report__descriptor },
    [IPC_HELLO_REPLY] = { "hello_reply", &dpif__hello_reply__descriptor },
    [IPC_UPCALL_BATCH] = { "upcall_batch", &dpif__upcall_batch__descriptor },
    [IPC_OP_RESULTS] = { "op_results", &dpif__op_results__descriptor },
    [IPC_DUMP_SHARD] = { "dump_shard", &dpif__dump_shard__descriptor },
    [IPC_FLOW_ANNOUNCEMENT] = { "flow_announcement",
                                &dpif__flow_announcement__descriptor },
    [IPC_POLICY_UPDATE] = { "policy_update",
                            &dpif__policy_update__descriptor },
    [IPC_STATUS] = { "status", &dpif__status__descriptor },
    [IPC_REPORT_REQUEST] = { "report_request",
                             &dpif__report_request__descriptor },
    [IPC_SHUTDOWN] = { "shutdown", &dpif__shutdown__descriptor },
    [IPC_CONTROL_REQUEST] = { "control_request", &dpif__request__descriptor },
    [IPC_CONTROL_REPLY] = { "control_reply", &dpif__reply__descriptor },
};

const ProtobufCMessageDescriptor *
ipc_type_descriptor(unsigned int type)
{
    return type < IPC_TYPE_LIMIT ? ipc_types[type].desc : NULL;
}

const char *
ipc_type_name(unsigned int type)
{
    return ipc_type_descriptor(type) ? ipc_types[type].name : "unknown";
}

/* ----- frames ----------------------------------------------------------- */

static void
ipc_header_encode(const struct ipc_header *hdr, uint8_t *p)
{
    memcpy(p, &hdr->magic, 4);
    memcpy(p + 4, &hdr->version, 2);
    memcpy(p + 6, &hdr->type, 2);
    memcpy(p + 8, &hdr->length, 4);
    memcpy(p + 12, &hdr->seq, 4);
}

size_t
ipc_frame_size(const ProtobufCMessage *msg)
{
    return IPC_HEADER_LEN + protobuf_c_message_get_packed_size(msg);
}

/* Checks that 'msg' may be sent as 'type' and stores its payload size. */
static int
ipc_frame_check(enum ipc_type type, const ProtobufCMessage *msg,
                size_t *lenp, struct errbuf *eb)
{
    const ProtobufCMessageDescriptor *desc = ipc_type_descriptor(type);
    if (!desc || msg->descriptor != desc) {
        return errbuf_set(eb, EINVAL, "message %s is not of type %s",
                          msg->descriptor->name, ipc_type_name(type));
    }
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > IPC_MAX_MSG) {
        COUNTER_INC(ipc_tx_too_big);
        return errbuf_set(eb, EMSGSIZE, "%s message of %zu bytes exceeds "
                          "the maximum of %d", ipc_type_name(type), len,
                          IPC_MAX_MSG);
    }
    *lenp = len;
    return 0;
}

/* Writes the frame of 'msg', whose payload is 'len' bytes, at 'dst'. */
static void
ipc_frame_write(enum ipc_type type, uint32_t seq, const ProtobufCMessage *msg,
                size_t len, uint8_t *dst)
{
    struct ipc_header hdr = {
        .magic = IPC_MAGIC,
        .version = IPC_VERSION,
        .type = type,
        .length = len,
        .seq = seq,
    };
    ipc_header_encode(&hdr, dst);
    protobuf_c_message_pack(msg, dst + IPC_HEADER_LEN);
}

int
ipc_frame_pack_into(enum ipc_type type, uint32_t seq,
                    const ProtobufCMessage *msg, void *dst, size_t dst_size,
                    size_t *sizep, struct errbuf *eb)
{
    size_t len = 0;
    int error = ipc_frame_check(type, msg, &len, eb);
    if (error) {
        return error;
    }
    if (IPC_HEADER_LEN + len > dst_size) {
        return errbuf_set(eb, EMSGSIZE, "%s frame of %zu bytes does not fit "
                          "in %zu bytes", ipc_type_name(type),
                          IPC_HEADER_LEN + len, dst_size);
    }
    ipc_frame_write(type, seq, msg, len, dst);
    *sizep = IPC_HEADER_LEN + len;
    return 0;
}

int
ipc_frame_pack(enum ipc_type type, uint32_t seq, const ProtobufCMessage *msg,
               struct buf *out, struct errbuf *eb)
{
    size_t len = 0;
    int error = ipc_frame_check(type, msg, &len, eb);
    if (!error) {
        ipc_frame_write(type, seq, msg, len,
                        buf_put_uninit(out, IPC_HEADER_LEN + len));
    }
    return error;
}

int
ipc_header_decode(const void *frame, size_t size, uint64_t accept,
                  struct ipc_header *hdrp, struct errbuf *eb)
{
    const uint8_t *p = frame;
    struct ipc_header hdr;

    if (size < IPC_HEADER_LEN) {
        COUNTER_INC(ipc_rx_short);
        return errbuf_set(eb, EPROTO, "message of %zu bytes is shorter than "
                          "the %d-byte header", size, IPC_HEADER_LEN);
    }
    memcpy(&hdr.magic, p, 4);
    memcpy(&hdr.version, p + 4, 2);
    memcpy(&hdr.type, p + 6, 2);
    memcpy(&hdr.length, p + 8, 4);
    memcpy(&hdr.seq, p + 12, 4);

    if (hdr.magic != IPC_MAGIC) {
        COUNTER_INC(ipc_rx_bad_magic);
        return errbuf_set(eb, EPROTO, "bad magic 0x%08x", hdr.magic);
    }
    if (hdr.version != IPC_VERSION) {
        COUNTER_INC(ipc_rx_bad_version);
        return errbuf_set(eb, EPROTO, "protocol version %u, expected %d",
                          hdr.version, IPC_VERSION);
    }
    if (!ipc_type_descriptor(hdr.type)) {
        COUNTER_INC(ipc_rx_unknown_type);
        return errbuf_set(eb, EPROTO, "unknown message type %u", hdr.type);
    }
    if (!(accept & IPC_TYPE_BIT(hdr.type))) {
        COUNTER_INC(ipc_rx_unexpected_type);
        return errbuf_set(eb, EPROTO, "message type %s not accepted from "
                          "this peer", ipc_type_name(hdr.type));
    }
    if (hdr.length > IPC_MAX_MSG) {
        COUNTER_INC(ipc_rx_oversized);
        return errbuf_set(eb, EPROTO, "%s payload of %"PRIu32" bytes exceeds "
                          "the maximum of %d", ipc_type_name(hdr.type),
                          hdr.length, IPC_MAX_MSG);
    }
    if (hdr.length != size - IPC_HEADER_LEN) {
        COUNTER_INC(ipc_rx_length_mismatch);
        return errbuf_set(eb, EPROTO, "%s header says %"PRIu32" payload "
                          "bytes but %zu arrived", ipc_type_name(hdr.type),
                          hdr.length, size - IPC_HEADER_LEN);
    }
    *hdrp = hdr;
    return 0;
}

/* ----- bounded decoding ------------------------------------------------- */

/* Allocator state for one unpack: what may still be allocated. */
struct ipc_budget {
    size_t left;                /* Bytes still allowed. */
    bool exhausted;             /* An allocation was refused. */
};

static void *
ipc_budget_alloc(void *budget_, size_t size)
{
    struct ipc_budget *budget = budget_;
    if (size > budget->left) {
        budget->exhausted = true;
        return NULL;
    }
    budget->left -= size;
    return malloc(size);
}

static void
ipc_budget_free(void *budget_, void *p)
{
    free(p);
}

/* Reads a value of 'size' bytes at 'offset' of message 'm' (protobuf-c
 * member offsets come from the descriptor, so memcpy keeps us clear of
 * alignment assumptions). */
static void
ipc_member_read(const ProtobufCMessage *m, unsigned int offset, void *out,
                size_t size)
{
    memcpy(out, (const char *) m + offset, size);
}

static int ipc_check_strict(const ProtobufCMessage *, unsigned int depth,
                            struct errbuf *);

/* Checks one present value of field 'f': recursion for a message, range
 * for an enum.  'value' points to the stored value (a message pointer or
 * an int). */
static int
ipc_check_value(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                const void *value, unsigned int depth, struct errbuf *eb)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub;
        memcpy(&sub, value, sizeof sub);
        return sub ? ipc_check_strict(sub, depth + 1, eb) : 0;
    } else {
        int v;
        memcpy(&v, value, sizeof v);
        if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v)) {
            COUNTER_INC(ipc_rx_bad_enum);
            return errbuf_set(eb, EPROTO, "%s.%s: invalid enum value %d",
                              m->descriptor->name, f->name, v);
        }
        return 0;
    }
}

/* Rejects unknown fields and out-of-schema enum values in 'm' and its
 * sub-messages. */
static int
ipc_check_strict(const ProtobufCMessage *m, unsigned int depth,
                 struct errbuf *eb)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;

    if (depth > IPC_MAX_NESTING) {
        COUNTER_INC(ipc_rx_unpack_failed);
        return errbuf_set(eb, EPROTO, "%s nested too deeply", desc->name);
    }
    if (m->n_unknown_fields) {
        COUNTER_INC(ipc_rx_unknown_field);
        return errbuf_set(eb, EPROTO, "%s: unknown field %"PRIu32,
                          desc->name, m->unknown_fields[0].tag);
    }
    for (unsigned int i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE
            && f->type != PROTOBUF_C_TYPE_ENUM) {
            continue;
        }

        size_t n = 1;
        size_t elem_size = (f->type == PROTOBUF_C_TYPE_MESSAGE
                            ? sizeof(void *) : sizeof(int));
        const char *values = (const char *) m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ipc_member_read(m, f->quantifier_offset, &n, sizeof n);
            ipc_member_read(m, f->offset, &values, sizeof values);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            ipc_member_read(m, f->quantifier_offset, &which, sizeof which);
            n = which == f->id;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL
                   && f->type == PROTOBUF_C_TYPE_ENUM) {
            protobuf_c_boolean has;
            ipc_member_read(m, f->quantifier_offset, &has, sizeof has);
            n = has != 0;
        }
        for (size_t j = 0; j < n; j++) {
            int error = ipc_check_value(m, f, values + j * elem_size, depth,
                                        eb);
            if (error) {
                return error;
            }
        }
    }
    return 0;
}

int
ipc_payload_unpack(enum ipc_type type, const void *payload, size_t size,
                   ProtobufCMessage **msgp, struct errbuf *eb)
{
    const ProtobufCMessageDescriptor *desc = ipc_type_descriptor(type);
    if (!desc) {
        COUNTER_INC(ipc_rx_unknown_type);
        return errbuf_set(eb, EPROTO, "unknown message type %d", (int) type);
    }
    if (size > IPC_MAX_MSG) {
        COUNTER_INC(ipc_rx_oversized);
        return errbuf_set(eb, EPROTO, "%s payload of %zu bytes exceeds the "
                          "maximum of %d", desc->name, size, IPC_MAX_MSG);
    }

    struct ipc_budget budget = { .left = IPC_MAX_DECODED };
    ProtobufCAllocator allocator = {
        .alloc = ipc_budget_alloc,
        .free = ipc_budget_free,
        .allocator_data = &budget,
    };
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &allocator, size,
                                                      payload);
    if (!msg) {
        if (budget.exhausted) {
            COUNTER_INC(ipc_rx_decode_budget);
            return errbuf_set(eb, EPROTO, "decoding %zu bytes of %s would "
                              "take more than %d bytes of memory", size,
                              desc->name, IPC_MAX_DECODED);
        }
        COUNTER_INC(ipc_rx_unpack_failed);
        return errbuf_set(eb, EPROTO, "%zu bytes are not a valid %s (bad "
                          "encoding or missing required field)", size,
                          desc->name);
    }
    int error = ipc_check_strict(msg, 0, eb);
    if (error) {
        ipc_payload_free(msg);
        return error;
    }
    *msgp = msg;
    return 0;
}

void
ipc_payload_free(ProtobufCMessage *msg)
{
    /* Allocated with malloc() by ipc_budget_alloc(), so the default
     * allocator frees it. */
    if (msg) {
        protobuf_c_message_free_unpacked(msg, NULL);
    }
}

int
ipc_frame_decode(const void *frame, size_t size, uint64_t accept,
                 struct ipc_msg *m, struct errbuf *eb)
{
    struct ipc_header hdr;
    ProtobufCMessage *msg;

    int error = ipc_header_decode(frame, size, accept, &hdr, eb);
    if (!error) {
        error = ipc_payload_unpack(hdr.type,
                                   (const uint8_t *) frame + IPC_HEADER_LEN,
                                   hdr.length, &msg, eb);
    }
    if (error) {
        return error;
    }
    m->hdr = hdr;
    m->msg = msg;
    m->n_fds = 0;
    return 0;
}

int
ipc_msg_take_fd(struct ipc_msg *m, uint32_t index, int *fdp,
                struct errbuf *eb)
{
    if (index >= m->n_fds) {
        COUNTER_INC(ipc_rx_bad_fd_index);
        return errbuf_set(eb, EPROTO, "descriptor index %"PRIu32" but %zu "
                          "descriptors attached", index, m->n_fds);
    }
    if (m->fds[index] < 0) {
        COUNTER_INC(ipc_rx_bad_fd_index);
        return errbuf_set(eb, EPROTO, "descriptor index %"PRIu32" used twice",
                          index);
    }
    *fdp = m->fds[index];
    m->fds[index] = -1;
    return 0;
}

static void
ipc_close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

void
ipc_msg_destroy(struct ipc_msg *m)
{
    ipc_payload_free(m->msg);
    m->msg = NULL;
    ipc_close_fds(m->fds, m->n_fds);
    m->n_fds = 0;
}

/* ----- sockets ---------------------------------------------------------- */

void
ipc_conn_init(struct ipc_conn *conn, int fd, uint64_t accept)
{
    conn->fd = fd;
    conn->accept = accept;
    conn->rxbuf = NULL;
}

void
ipc_conn_close(struct ipc_conn *conn)
{
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
    free(conn->rxbuf);
    conn->rxbuf = NULL;
}

/* The kernel refuses a datagram larger than the sender's sk_sndbuf minus
 * this much (net/unix/af_unix.c). */
#define IPC_SNDBUF_SLACK 32

int
ipc_socket_set_buffers(int fd, struct errbuf *eb)
{
    /* The kernel doubles the value to account for its own overhead. */
    int want = IPC_MAX_FRAME + 64 * 1024;
    int have;
    socklen_t len = sizeof have;

    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want)) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    }
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &len)) {
        return errbuf_set(eb, errno, "getsockopt(SO_SNDBUF): %s",
                          strerror(errno));
    }
    if (have - IPC_SNDBUF_SLACK < IPC_MAX_FRAME) {
        return errbuf_set(eb, ENOBUFS, "socket send buffer is %d bytes, too "
                          "small for %d-byte messages (raise "
                          "net.core.wmem_max or run with CAP_NET_ADMIN)",
                          have, IPC_MAX_FRAME);
    }
    return 0;
}

int
ipc_socketpair(int fds[2], struct errbuf *eb)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)) {
        return errbuf_set(eb, errno, "socketpair: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++) {
        struct errbuf sb;
        if (ipc_socket_set_buffers(fds[i], &sb)) {
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            LOG_WARN_RL(&rl, "%s", sb.msg);
        }
    }
    return 0;
}

int
ipc_send_frame(int fd, const void *frame, size_t size, const int *fds,
               size_t n_fds, struct errbuf *eb)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
    } control;
    struct iovec iov = { .iov_base = (void *) frame, .iov_len = size };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (n_fds > IPC_MAX_FDS) {
        return errbuf_set(eb, EINVAL, "%zu descriptors, at most %d", n_fds,
                          IPC_MAX_FDS);
    }
    if (n_fds) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
    }

    ssize_t n;
    do {
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        int error = errno;
        if (error == EPIPE || error == ECONNRESET || error == ENOTCONN) {
            COUNTER_INC(ipc_tx_peer_gone);
            return errbuf_set(eb, EPIPE, "peer closed the connection");
        } else if (error == EMSGSIZE) {
            COUNTER_INC(ipc_tx_too_big);
            return errbuf_set(eb, EMSGSIZE, "%zu-byte message exceeds the "
                              "socket send buffer", size);
        } else if (error == EAGAIN) {
            return errbuf_set(eb, EAGAIN, "socket full");
        }
        return errbuf_set(eb, error, "sendmsg: %s", strerror(error));
    }
    /* SOCK_SEQPACKET sends a datagram whole or not at all. */
    return 0;
}

int
ipc_send(struct ipc_conn *conn, enum ipc_type type, uint32_t seq,
         const ProtobufCMessage *msg, const int *fds, size_t n_fds,
         struct errbuf *eb)
{
    uint64_t stub[4096 / 8];
    struct buf b;

    buf_use_stub(&b, stub, sizeof stub);
    int error = ipc_frame_pack(type, seq, msg, &b, eb);
    if (!error) {
        error = ipc_send_frame(conn->fd, b.data, b.size, fds, n_fds, eb);
    }
    buf_uninit(&b);
    return error;
}

/* After recvmsg() returned 0 bytes: a zero-length datagram and the end of
 * the connection look alike, except that only the latter leaves the socket
 * shut down for receiving. */
static bool
ipc_peer_closed(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
    return poll(&pfd, 1, 0) > 0 && pfd.revents & (POLLRDHUP | POLLHUP);
}

/* Moves the descriptors of every SCM_RIGHTS message of 'mh' into 'fds'
 * (room for IPC_MAX_FDS) and '*n_fds'; whatever does not fit is closed.
 * Returns EPROTO if there was ancillary data of another kind or too many
 * descriptors. */
static int
ipc_collect_fds(struct msghdr *mh, int *fds, size_t *n_fds,
                struct errbuf *eb)
{
    int error = 0;

    *n_fds = 0;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(mh); cmsg;
         cmsg = CMSG_NXTHDR(mh, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET
            || cmsg->cmsg_type != SCM_RIGHTS) {
            if (!error) {
                COUNTER_INC(ipc_rx_bad_cmsg);
                error = errbuf_set(eb, EPROTO, "unexpected ancillary data "
                                   "(level %d, type %d)", cmsg->cmsg_level,
                                   cmsg->cmsg_type);
            }
            continue;
        }
        size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const uint8_t *data = CMSG_DATA(cmsg);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof fd);
            if (*n_fds < IPC_MAX_FDS) {
                fds[(*n_fds)++] = fd;
            } else {
                close(fd);
                if (!error) {
                    COUNTER_INC(ipc_rx_too_many_fds);
                    error = errbuf_set(eb, EPROTO, "more than %d descriptors "
                                       "attached", IPC_MAX_FDS);
                }
            }
        }
    }
    return error;
}

int
ipc_recv(struct ipc_conn *conn, struct ipc_msg *m, struct errbuf *eb)
{
    /* Room for IPC_MAX_FDS descriptors only: the kernel reports more with
     * MSG_CTRUNC and does not install the excess. */
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
    } control;
    int fds[IPC_MAX_FDS];
    size_t n_fds;

    if (!conn->rxbuf) {
        conn->rxbuf = xmalloc(IPC_MAX_FRAME);
    }
    struct iovec iov = { .iov_base = conn->rxbuf, .iov_len = IPC_MAX_FRAME };
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };

    ssize_t n;
    do {
        n = recvmsg(conn->fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        int error = errno;
        if (error == ECONNRESET) {
            COUNTER_INC(ipc_rx_eof);
            return errbuf_set(eb, EPIPE, "peer closed the connection");
        } else if (error == EAGAIN) {
            return errbuf_set(eb, EAGAIN, "no message waiting");
        }
        return errbuf_set(eb, error, "recvmsg: %s", strerror(error));
    }

    int error = ipc_collect_fds(&mh, fds, &n_fds, eb);
    if (!error && mh.msg_flags & MSG_CTRUNC) {
        COUNTER_INC(ipc_rx_ctrunc);
        error = errbuf_set(eb, EPROTO, "ancillary data truncated (more than "
                           "%d descriptors?)", IPC_MAX_FDS);
    }
    if (!error && mh.msg_flags & MSG_TRUNC) {
        COUNTER_INC(ipc_rx_truncated);
        error = errbuf_set(eb, EPROTO, "datagram larger than %d bytes",
                           IPC_MAX_FRAME);
    }
    if (!error && n == 0) {
        if (!n_fds && ipc_peer_closed(conn->fd)) {
            COUNTER_INC(ipc_rx_eof);
            return errbuf_set(eb, EPIPE, "peer closed the connection");
        }
        COUNTER_INC(ipc_rx_short);
        error = errbuf_set(eb, EPROTO, "empty datagram");
    }
    if (!error) {
        error = ipc_frame_decode(conn->rxbuf, n, conn->accept, m, eb);
    }
    if (error) {
        ipc_close_fds(fds, n_fds);
        return error;
    }
    memcpy(m->fds, fds, n_fds * sizeof *fds);
    m->n_fds = n_fds;
    return 0;
}
