/*
 * ipc.h — the envelope of every dpifd message, and its transport over
 * AF_UNIX SOCK_SEQPACKET sockets.
 *
 *
 * Concepts
 * ========
 *
 * A "frame" is one message as it travels: a fixed 16-byte header followed by
 * a protobuf-c payload (proto/worker.proto, proto/control.proto).  The
 * header, in the host's byte order (both ends are always on the same host:
 * sockets are AF_UNIX, rings are shared memory):
 *
 *     offset 0   uint32  magic    IPC_MAGIC, "DPIF" read as big-endian
 *     offset 4   uint16  version  IPC_VERSION
 *     offset 6   uint16  type     enum ipc_type: which message the payload is
 *     offset 8   uint32  length   payload bytes, <= IPC_MAX_MSG
 *     offset 12  uint32  seq      sender's sequence number; a reply carries
 *                                 the seq of the request it answers
 *
 * On a socket, one frame is exactly one datagram: the datagram's size must
 * equal IPC_HEADER_LEN + length.  In a shared-memory ring (shm-ring.h), one
 * frame is exactly one record.  Both carriers feed the same decoder,
 * ipc_frame_decode(), so "socket-only mode" is nothing but sending the bulk
 * messages with ipc_send() instead of pushing them into a ring.
 *
 * The type in the header selects the protobuf descriptor, so a receiver
 * never guesses what a payload is, and an "accept mask" per connection says
 * which types that peer may send at all (a worker may not send HelloReply,
 * a dpifctl client may send only control requests).
 *
 *
 * What a receiver checks, in order
 * ================================
 *
 * Each rejection has a reason in the errbuf and a named counter
 * (counters.h, listed by "dpifctl counters"):
 *
 *     ipc_rx_eof               peer closed (returned as EPIPE)
 *     ipc_rx_truncated         datagram larger than IPC_MAX_FRAME (MSG_TRUNC)
 *     ipc_rx_ctrunc            more ancillary data than we accept (MSG_CTRUNC)
 *     ipc_rx_bad_cmsg          ancillary data other than SCM_RIGHTS
 *     ipc_rx_too_many_fds      more than IPC_MAX_FDS descriptors
 *     ipc_rx_short             fewer bytes than a header
 *     ipc_rx_bad_magic         wrong magic
 *     ipc_rx_bad_version       wrong version
 *     ipc_rx_unknown_type      type not in enum ipc_type
 *     ipc_rx_unexpected_type   type that this peer may not send
 *     ipc_rx_oversized         header length > IPC_MAX_MSG
 *     ipc_rx_length_mismatch   header length != bytes received
 *     ipc_rx_decode_budget     decoding would allocate > IPC_MAX_DECODED
 *     ipc_rx_unpack_failed     not a valid encoding of the type's message
 *                              (including a missing required field)
 *     ipc_rx_unknown_field     a field that the schema does not have
 *     ipc_rx_bad_enum          an enum value that the schema does not have
 *     ipc_rx_bad_fd_index      (ipc_msg_take_fd()) a descriptor index that
 *                              was not attached or was already taken
 *
 * and on the sending side ipc_tx_too_big (beyond IPC_MAX_MSG or the send
 * buffer) and ipc_tx_peer_gone (EPIPE).
 * Every protocol violation returns EPROTO: the peer is broken or hostile,
 * and privd kills and respawns a worker that commits one.  Descriptors that
 * arrived with a rejected datagram are closed before returning, so a
 * hostile peer cannot make us leak descriptors.  Per-field limits
 * (ipc-limits.h) are the receiver's business after decoding.
 *
 *
 * Typical use
 * ===========
 *
 *     struct ipc_conn conn;
 *     ipc_conn_init(&conn, fd, IPC_ACCEPT_FROM_WORKER);
 *     ...
 *     struct ipc_msg m;
 *     int error = ipc_recv(&conn, &m, &eb);
 *     if (error == EAGAIN) {
 *         ...poll again...
 *     } else if (error) {
 *         ...EPIPE: peer died; EPROTO: kill it; log eb.msg...
 *     } else {
 *         switch (m.hdr.type) {
 *         case IPC_OP_BATCH: {
 *             const Dpif__OpBatch *b = (const Dpif__OpBatch *) m.msg;
 *             ...
 *         }
 *         }
 *         ipc_msg_destroy(&m);
 *     }
 *
 *     error = ipc_send(&conn, IPC_OP_RESULTS, m.hdr.seq, &results.base,
 *                      NULL, 0, &eb);
 *
 *
 * Ownership and threads
 * =====================
 *
 * struct ipc_conn owns its socket and a receive buffer of IPC_MAX_FRAME
 * bytes (allocated on first receive).  struct ipc_msg owns its decoded
 * message and its received descriptors until ipc_msg_destroy(); take a
 * descriptor out with ipc_msg_take_fd() to keep it.  dpifd processes are
 * single-threaded; nothing here locks.
 */
#ifndef DPIF_IPC_H
#define DPIF_IPC_H 1

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/ipc-limits.h"
#include "common/util.h"

struct buf;

/* "DPIF" in ASCII, as a host-order 32-bit value. */
#define IPC_MAGIC 0x44504946u
/* Version of the envelope and of the schemas together.  Any incompatible
 * change of either (a new required field, a changed meaning) bumps it. */
#define IPC_VERSION 1

/* Message types: the header's 'type' field.  Each names exactly one
 * protobuf message type (see ipc_type_descriptor()). */
enum ipc_type {
    /* worker.proto, worker -> privd. */
    IPC_HELLO = 1,              /* Dpif__Hello */
    IPC_OP_BATCH = 2,           /* Dpif__OpBatch */
    IPC_DUMP_ACK = 3,           /* Dpif__DumpAck */
    IPC_COUNTER_REPORT = 4,     /* Dpif__CounterReport */

    /* worker.proto, privd -> worker. */
    IPC_HELLO_REPLY = 16,       /* Dpif__HelloReply */
    IPC_UPCALL_BATCH = 17,      /* Dpif__UpcallBatch */
    IPC_OP_RESULTS = 18,        /* Dpif__OpResults */
    IPC_DUMP_SHARD = 19,        /* Dpif__DumpShard */
    IPC_FLOW_ANNOUNCEMENT = 20, /* Dpif__FlowAnnouncement */
    IPC_POLICY_UPDATE = 21,     /* Dpif__PolicyUpdate */
    IPC_STATUS = 22,            /* Dpif__Status */
    IPC_REPORT_REQUEST = 23,    /* Dpif__ReportRequest */
    IPC_SHUTDOWN = 24,          /* Dpif__Shutdown */

    /* control.proto. */
    IPC_CONTROL_REQUEST = 32,   /* Dpif__Request, client -> privd */
    IPC_CONTROL_REPLY = 33,     /* Dpif__Reply, privd -> client */

    IPC_TYPE_LIMIT              /* One more than the highest type. */
};

/* Accept masks are 64-bit sets of types, so every type must be below 64. */
static_assert(IPC_TYPE_LIMIT <= 64, "enum ipc_type must fit a uint64_t mask");
#define IPC_TYPE_BIT(TYPE) (UINT64_C(1) << (TYPE))

/* What privd accepts from a worker, and a worker from privd. */
#define IPC_ACCEPT_FROM_WORKER                                              \
    (IPC_TYPE_BIT(IPC_HELLO) | IPC_TYPE_BIT(IPC_OP_BATCH)                   \
     | IPC_TYPE_BIT(IPC_DUMP_ACK) | IPC_TYPE_BIT(IPC_COUNTER_REPORT))
#define IPC_ACCEPT_FROM_PRIVD                                               \
    (IPC_TYPE_BIT(IPC_HELLO_REPLY) | IPC_TYPE_BIT(IPC_UPCALL_BATCH)         \
     | IPC_TYPE_BIT(IPC_OP_RESULTS) | IPC_TYPE_BIT(IPC_DUMP_SHARD)          \
     | IPC_TYPE_BIT(IPC_FLOW_ANNOUNCEMENT) | IPC_TYPE_BIT(IPC_POLICY_UPDATE) \
     | IPC_TYPE_BIT(IPC_STATUS) | IPC_TYPE_BIT(IPC_REPORT_REQUEST)          \
     | IPC_TYPE_BIT(IPC_SHUTDOWN))
/* What privd accepts from a control client, and a client from privd. */
#define IPC_ACCEPT_FROM_CLIENT IPC_TYPE_BIT(IPC_CONTROL_REQUEST)
#define IPC_ACCEPT_FROM_SERVER IPC_TYPE_BIT(IPC_CONTROL_REPLY)

/* A decoded envelope header. */
struct ipc_header {
    uint32_t magic;             /* IPC_MAGIC. */
    uint16_t version;           /* IPC_VERSION. */
    uint16_t type;              /* enum ipc_type. */
    uint32_t length;            /* Payload bytes after the header. */
    uint32_t seq;               /* Sequence number (see above). */
};

/* The protobuf descriptor of 'type's payload, or NULL if 'type' is not a
 * known type. */
const ProtobufCMessageDescriptor *ipc_type_descriptor(unsigned int type);
/* A printable name of 'type' ("op_batch"), "unknown" if unknown. */
const char *ipc_type_name(unsigned int type);

/* ----- frames: encoding and decoding, for any carrier ----------------- */

/* Bytes that 'msg' takes as a frame of type 'type': header + payload. */
size_t ipc_frame_size(const ProtobufCMessage *msg);

/* Packs 'msg' as a frame of 'type' with sequence number 'seq' into 'dst',
 * which has 'dst_size' bytes, and stores the frame's size in '*sizep'.
 * Returns EINVAL if 'msg' is not of the type's message type, EMSGSIZE if
 * its payload exceeds IPC_MAX_MSG or 'dst_size'. */
int ipc_frame_pack_into(enum ipc_type type, uint32_t seq,
                        const ProtobufCMessage *msg, void *dst,
                        size_t dst_size, size_t *sizep, struct errbuf *);

/* Like ipc_frame_pack_into(), appending the frame to 'out'. */
int ipc_frame_pack(enum ipc_type type, uint32_t seq,
                   const ProtobufCMessage *msg, struct buf *out,
                   struct errbuf *);

/* Checks the header at the start of 'frame' ('size' bytes: the whole frame
 * as received) against magic, version, the known types, 'accept' (a mask
 * of IPC_TYPE_BIT()s), IPC_MAX_MSG and 'size', and stores it in '*hdr'.
 * Returns 0 or EPROTO, counting the reason. */
int ipc_header_decode(const void *frame, size_t size, uint64_t accept,
                      struct ipc_header *hdr, struct errbuf *);

/* Unpacks 'size' bytes of 'payload' as the message of 'type', allocating
 * at most IPC_MAX_DECODED bytes, and rejects unknown fields and enum values
 * anywhere in the message.  On success stores a message that the caller
 * frees with ipc_payload_free().  Returns 0 or EPROTO, counting the
 * reason. */
int ipc_payload_unpack(enum ipc_type type, const void *payload, size_t size,
                       ProtobufCMessage **msgp, struct errbuf *);
void ipc_payload_free(ProtobufCMessage *);

/* A received message. */
struct ipc_msg {
    struct ipc_header hdr;      /* Its envelope header. */
    ProtobufCMessage *msg;      /* Decoded payload, owned; cast it to the
                                 * type's struct (Dpif__OpBatch *, ...). */
    int fds[IPC_MAX_FDS];       /* Descriptors that came with it, owned;
                                 * -1 once taken. */
    size_t n_fds;               /* Number of entries in 'fds'. */
};

/* Decodes a whole frame, 'size' bytes at 'frame' (header checks as in
 * ipc_header_decode(), then ipc_payload_unpack()), into '*m', which has no
 * descriptors.  This is what a ring consumer calls on each record it
 * copied out.  Returns 0 or EPROTO. */
int ipc_frame_decode(const void *frame, size_t size, uint64_t accept,
                     struct ipc_msg *m, struct errbuf *);

/* Hands descriptor number 'index' of 'm' (an index a message field gave,
 * so not trusted) to the caller, who then owns it.  Returns EPROTO if
 * there is no such descriptor or it was already taken. */
int ipc_msg_take_fd(struct ipc_msg *m, uint32_t index, int *fdp,
                    struct errbuf *);

/* Frees the message and closes every descriptor not taken.  Idempotent. */
void ipc_msg_destroy(struct ipc_msg *m);

/* ----- sockets ---------------------------------------------------------- */

/* One end of a SOCK_SEQPACKET connection. */
struct ipc_conn {
    int fd;                     /* The socket, owned. */
    uint64_t accept;            /* Types the peer may send (IPC_TYPE_BIT). */
    uint8_t *rxbuf;             /* IPC_MAX_FRAME bytes, owned, allocated by
                                 * the first ipc_recv(); NULL before. */
};

/* Takes ownership of 'fd' and sets which types the peer may send. */
void ipc_conn_init(struct ipc_conn *, int fd, uint64_t accept);
/* Closes the socket and frees the buffer.  Idempotent. */
void ipc_conn_close(struct ipc_conn *);

/* Creates a connected SOCK_SEQPACKET socketpair (close-on-exec) in 'fds'
 * and raises both ends' send buffers with ipc_socket_set_buffers(); a
 * failure to raise them is logged, not returned (messages beyond the
 * buffer then fail with EMSGSIZE). */
int ipc_socketpair(int fds[2], struct errbuf *);

/* Raises the send buffer of socket 'fd' so that an IPC_MAX_FRAME datagram
 * can be sent: SO_SNDBUFFORCE if the process has CAP_NET_ADMIN, else
 * SO_SNDBUF up to net.core.wmem_max.  Returns ENOBUFS if the resulting
 * buffer is still too small. */
int ipc_socket_set_buffers(int fd, struct errbuf *);

/* Sends 'msg' as one datagram of type 'type' with sequence number 'seq',
 * with 'n_fds' descriptors from 'fds' attached (not closed; 'fds' may be
 * NULL when 'n_fds' is 0).  Never raises SIGPIPE.  Returns 0, EAGAIN on a
 * full non-blocking socket, EPIPE if the peer is gone, EMSGSIZE if the
 * message is too large (for IPC_MAX_MSG or for the socket's send buffer),
 * EINVAL for more than IPC_MAX_FDS descriptors or a message not of the
 * type's message type, or another errno from sendmsg(). */
int ipc_send(struct ipc_conn *, enum ipc_type type, uint32_t seq,
             const ProtobufCMessage *msg, const int *fds, size_t n_fds,
             struct errbuf *);

/* Sends 'size' bytes at 'frame', a frame packed by ipc_frame_pack*(), as
 * one datagram.  Same returns as ipc_send(); the frame is not checked. */
int ipc_send_frame(int fd, const void *frame, size_t size, const int *fds,
                   size_t n_fds, struct errbuf *);

/* Receives one datagram and decodes it into '*m', which the caller then
 * destroys with ipc_msg_destroy().  Blocks unless the socket is
 * non-blocking.  Returns 0, EAGAIN if nothing is waiting, EPIPE when the
 * peer closed the connection (it died), EPROTO on any protocol violation
 * (see above; all descriptors received are closed), or another errno from
 * recvmsg().  '*m' is written only on success. */
int ipc_recv(struct ipc_conn *, struct ipc_msg *m, struct errbuf *);

#endif /* ipc.h */
