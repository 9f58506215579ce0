/*
 * ipc-limits.h — every size limit of the dpifd protocols, in one place.
 *
 * The schemas (proto/flow.proto, proto/worker.proto, proto/control.proto)
 * quote these constants in their comments; the code enforces them.  Who
 * enforces what:
 *
 *   - The envelope (common/ipc.c) enforces IPC_MAX_MSG, IPC_MAX_FDS and
 *     IPC_MAX_DECODED on every message, from every peer, before anything
 *     else looks at it.  Shared-memory rings (common/shm-ring.c) enforce
 *     their own record limit, which privd sets to IPC_MAX_FRAME.
 *   - The receiver of a message (privd's op validation, the control server,
 *     the workers' dispatchers) enforces the per-field limits below after
 *     decoding and before acting.  A sender that exceeds one is buggy or
 *     hostile; privd kills a worker that does.
 *   - Senders cut batches so that the packed message stays within
 *     IPC_MAX_MSG: a batch is bounded both by IPC_MAX_BATCH ops and by
 *     bytes.
 *
 * How the numbers were chosen
 * ---------------------------
 *
 * IPC_MAX_MSG (1 MiB).  Large enough for a full batch of typical ops (64
 * ops of a 1 KiB key, 1 KiB mask, a few hundred bytes of actions and a
 * 1500-byte packet is about 260 KiB) and for every control reply that is
 * not paged; small enough that a hostile worker cannot make privd allocate
 * much: decoding is additionally capped at IPC_MAX_DECODED.  One op at its
 * worst case (IPC_MAX_OP_BYTES, about 100 KiB) always fits, so a batch can
 * always make progress.  Over a socket, a datagram this large needs a send
 * buffer of more than 1 MiB: ipc_socket_set_buffers() raises it (with
 * SO_SNDBUFFORCE where privd has CAP_NET_ADMIN, which also covers the
 * worker's end of a socketpair that privd created), and the kernel refuses
 * bigger sends with EMSGSIZE otherwise.  Stock sysctls allow an unprivileged
 * process about 416 KiB (2 x net.core.wmem_max).
 *
 * IPC_MAX_BATCH (64), IPC_DEFAULT_BATCH (50).  50 is the batch size of the
 * seeds (UPCALL_MAX_BATCH, the kernel provider's operate chunks); 64 leaves
 * room to tune upward while bounding per-batch work in privd.
 *
 * IPC_MAX_KEY (1 KiB).  A kernel flow key in netlink form with every
 * OVS_KEY_ATTR_* present at once (IPv6 with ND, two VLAN encapsulations,
 * conntrack labels and original tuple, and a tunnel key with 252 bytes of
 * Geneve options) comes to roughly 800 bytes by our count; 1 KiB admits
 * that without letting a key grow unbounded.  Masks share the limit.
 *
 * IPC_MAX_ACTIONS (32 KiB).  The openvswitch kernel module refuses action
 * lists larger than MAX_ACTIONS_BUFSIZE = 32 KiB (flow_netlink.c), so a
 * bigger list could never be installed anyway.
 *
 * IPC_MAX_PACKET (64 KiB + 256).  The largest packet an upcall can carry is
 * a 64 KiB GSO/GRO super-packet plus its link-layer headers (Ethernet, two
 * VLAN tags, room for encapsulation metadata).
 *
 * IPC_MAX_USERDATA (256).  Userspace-action cookies of dpifd's own
 * translation are a few tens of bytes; anything much larger is not ours.
 */
#ifndef DPIF_IPC_LIMITS_H
#define DPIF_IPC_LIMITS_H 1

#include <assert.h>
#include <stdint.h>

/* ----- envelope -------------------------------------------------------- */

/* Largest protobuf payload of one message, in bytes. */
#define IPC_MAX_MSG (1024 * 1024)
/* Size of the envelope header (common/ipc.h). */
#define IPC_HEADER_LEN 16
/* Largest message including its envelope header: what a socket datagram or
 * a ring record may hold at most. */
#define IPC_MAX_FRAME (IPC_HEADER_LEN + IPC_MAX_MSG)
/* Most file descriptors attached to one message (SCM_RIGHTS).  A handler's
 * HelloReply carries 3 rings x 3 fds, 2 shared regions and its netlink
 * upcall sockets. */
#define IPC_MAX_FDS 16
/* Most memory protobuf_c_message_unpack() may allocate for one message.
 * Bounds the amplification of small encodings (an empty sub-message costs 2
 * bytes on the wire and a hundred in memory). */
#define IPC_MAX_DECODED (8 * 1024 * 1024)

/* ----- per-field limits ------------------------------------------------ */

/* Ops per OpBatch, upcalls per UpcallBatch, flows per FlowAnnouncement. */
#define IPC_DEFAULT_BATCH 50
#define IPC_MAX_BATCH 64
/* A UFID on the wire: exactly this many bytes. */
#define IPC_UFID_LEN 16
/* Flow key or mask (OVS_KEY_ATTR_* stream). */
#define IPC_MAX_KEY 1024
/* Action list (OVS_ACTION_ATTR_* stream): the kernel's MAX_ACTIONS_BUFSIZE. */
#define IPC_MAX_ACTIONS (32 * 1024)
/* Packet in an Upcall, Execute, inject or capture. */
#define IPC_MAX_PACKET (64 * 1024 + 256)
/* Userdata of a userspace action. */
#define IPC_MAX_USERDATA 256
/* Names: datapaths, ports, port types and options, counters, modules. */
#define IPC_MAX_NAME 64
/* Human-readable reasons: the size of struct errbuf's text. */
#define IPC_MAX_REASON 256
/* Handlers or revalidators per datapath. */
#define IPC_MAX_WORKERS 64
/* Flows in one DumpShard or one dump-flows page. */
#define IPC_MAX_DUMP_FLOWS 1024
/* Counters or gauges in one CounterReport. */
#define IPC_MAX_COUNTERS 1024
/* Rule table text inline in a message, and in a sealed memfd. */
#define IPC_MAX_RULES_TEXT (512 * 1024)
#define IPC_MAX_RULES_MEMFD (64 * 1024 * 1024)
/* Datapaths, ports per datapath, options per port. */
#define IPC_MAX_DATAPATHS 64
#define IPC_MAX_PORTS 4096
#define IPC_MAX_PORT_OPTIONS 32
/* Opaque dump-flows cursor. */
#define IPC_MAX_CURSOR 64
/* MAC table entries listed by fdb/show. */
#define IPC_MAX_FDB_ENTRIES 8192
/* Frames per inject request. */
#define IPC_MAX_INJECT_FRAMES 64
/* Processes listed by procs: privd, spawner and every worker. */
#define IPC_MAX_PROCS (2 + 2 * IPC_MAX_WORKERS * IPC_MAX_DATAPATHS)
/* Highest flow limit that upcall/set-flow-limit accepts. */
#define IPC_MAX_FLOW_LIMIT 10000000

/* Protobuf overhead allowance for one op: tags, lengths and the small
 * fields (ufid, flags), generously. */
#define IPC_OP_OVERHEAD 128
/* Worst-case packed size of one op (an Execute with everything at its
 * maximum is the largest: key, packet and actions). */
#define IPC_MAX_OP_BYTES \
    (IPC_MAX_KEY + IPC_MAX_KEY + IPC_MAX_ACTIONS + IPC_MAX_PACKET \
     + IPC_OP_OVERHEAD)

static_assert(IPC_MAX_OP_BYTES * 8 <= IPC_MAX_MSG,
              "at least eight worst-case ops must fit in one message");
static_assert(IPC_MAX_FRAME <= UINT32_MAX,
              "the envelope's length field is 32 bits");
static_assert(IPC_DEFAULT_BATCH <= IPC_MAX_BATCH, "default within maximum");
static_assert(IPC_MAX_RULES_TEXT < IPC_MAX_MSG,
              "inline rules must fit in one message");

#endif /* ipc-limits.h */
