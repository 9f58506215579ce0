/*
 * dp-packet.h — a packet inside privd's userspace datapath.
 *
 * Concepts
 * ========
 *
 * A "struct dp_packet" is what the userspace datapath (and the action
 * executor, privd/dp-execute.h) works on: the frame's bytes, where each layer
 * starts in them, and the packet's flow key.  Three things travel together
 * and must stay consistent:
 *
 *   - 'buf': the Ethernet frame, starting at its destination MAC.
 *   - 'layout': the layer offsets into 'buf' that packet_parse()
 *     (common/packet.h) found.  Actions that move headers (PUSH_VLAN,
 *     POP_VLAN) re-parse; actions that only rewrite bytes in place leave the
 *     offsets as they are.
 *   - 'flow': the flow key.  Its header fields describe the bytes in 'buf'
 *     (what packet_parse() would extract from them now), and its metadata
 *     fields (tunnel, in_port, priority, skb_mark, recirc_id, dp_hash) are
 *     the packet's metadata: there is no second copy of them.
 *
 * 'recirc_depth' counts how many times the packet has been recirculated;
 * the executor refuses to recirculate past DP_EXECUTE_MAX_RECIRC
 * (privd/dp-execute.h), which bounds the datapath's recursion.
 *
 * Typical use
 * ===========
 *
 *     uint64_t stub[DP_PACKET_STUB_SIZE / 8];
 *     struct dp_packet pkt;
 *
 *     dp_packet_init(&pkt, stub, sizeof stub);
 *     error = dp_packet_set_frame(&pkt, frame, frame_len, in_port);
 *     ... dp_execute_actions(&executor, &pkt, actions, actions_len) ...
 *     dp_packet_uninit(&pkt);
 *
 * Ownership: a dp_packet owns its 'buf' (which may live in the caller's
 * stub, as for struct buf).  Copies are explicit (dp_packet_clone()); a
 * "const struct dp_packet *" handed to a callback is only borrowed for the
 * duration of the call.
 *
 * Thread safety: plain data; dpifd processes are single-threaded.
 */
#ifndef DPIF_DP_PACKET_H
#define DPIF_DP_PACKET_H 1

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/packet.h"

/* Largest frame a dp_packet holds: layout offsets are 16 bits. */
#define DP_PACKET_MAX_SIZE 65535

/* A stack stub of this size holds any frame up to a jumbo-less MTU. */
#define DP_PACKET_STUB_SIZE 2048

struct dp_packet {
    struct buf buf;              /* The frame, from the Ethernet header. */
    struct packet_layout layout; /* Layer offsets into 'buf'. */
    struct flow flow;            /* Flow key: headers of 'buf' + metadata. */
    uint32_t recirc_depth;       /* Recirculations so far (0 on receive). */
};

/* Initializes 'pkt' as an empty frame (no layers, zero flow) that uses
 * 'stub' ('stub_size' bytes, may be NULL/0) until it needs more room. */
void dp_packet_init(struct dp_packet *pkt, void *stub, size_t stub_size);

/* Frees what 'pkt' allocated.  'pkt' must be initialized again to be
 * reused. */
void dp_packet_uninit(struct dp_packet *pkt);

/* Replaces the contents of 'pkt' by a copy of the frame 'frame'/'size'
 * received on 'in_port', and parses it: metadata other than in_port becomes
 * zero, as does 'recirc_depth'.  Returns EMSGSIZE, leaving 'pkt' unchanged,
 * if 'size' exceeds DP_PACKET_MAX_SIZE. */
int dp_packet_set_frame(struct dp_packet *pkt, const void *frame,
                        size_t size, uint32_t in_port);

/* Initializes 'dst' as a copy of 'src' (bytes, layout, flow and recirc
 * depth), using 'stub' as dp_packet_init() does.  'dst' is independent of
 * 'src': the caller uninitializes both. */
void dp_packet_clone(struct dp_packet *dst, const struct dp_packet *src,
                     void *stub, size_t stub_size);

/* Parses the bytes of 'pkt' again after a change that moved headers,
 * keeping its metadata (tunnel, in_port, priority, skb_mark, recirc_id,
 * dp_hash). */
void dp_packet_reparse(struct dp_packet *pkt);

static inline const uint8_t *
dp_packet_data(const struct dp_packet *pkt)
{
    return pkt->buf.data;
}

static inline size_t
dp_packet_size(const struct dp_packet *pkt)
{
    return pkt->buf.size;
}

#endif /* dp-packet.h */
