/*
 * dp-execute.h — executing a datapath action list on a packet in userspace.
 *
 * Overview
 * ========
 *
 * The kernel datapath runs a flow's actions (a stream of OVS_ACTION_ATTR_*
 * netlink attributes, linux/openvswitch.h) on every packet that hits the
 * flow.  privd's userspace datapath does the same with dp_execute_actions(),
 * and follows the kernel's semantics so that a flow behaves alike on both:
 *
 *   OUTPUT       The packet, as modified so far, goes to a port: the
 *                'output' callback.  Later actions do not affect it (the
 *                callback sees it synchronously and copies what it keeps).
 *   USERSPACE    The packet and its flow key go to a Netlink PID with the
 *                action's userdata: the 'userspace' callback.
 *   TRUNC        Limits the length of the copy made by the next OUTPUT or
 *                USERSPACE only (the kernel's "cutlen"); each of those
 *                resets it.  The packet itself keeps its length.
 *   SET          Rewrites ETHERNET, IPV4 (src, dst, tos, ttl), IPV6 (src,
 *   SET_MASKED   dst, tclass, label, hlimit), TCP/UDP/SCTP ports, PRIORITY or
 *                SKB_MARK, under a mask for SET_MASKED.  IPv4 header and
 *                TCP/UDP/ICMPv6 checksums are updated incrementally; a zero
 *                UDP checksum ("none") stays zero; SCTP's CRC32c is
 *                recomputed so that a wrong one stays exactly as wrong.  The
 *                flow key follows the rewritten bytes.  A SET on a header
 *                the packet does not have is skipped and counted.
 *   PUSH_VLAN    Inserts an 802.1Q/802.1ad tag after the MAC addresses (the
 *                TCI without the CFI bit, which in OVS means "tag present").
 *   POP_VLAN     Removes the outermost tag; on an untagged frame, counted
 *                no-op.
 *   HASH         dp_hash := symmetric L4 5-tuple hash (never zero).
 *   SAMPLE       With the given probability (a 32-bit fraction, UINT32_MAX
 *                = always, 0 = never), runs nested actions on a copy.
 *   CLONE        Runs nested actions on a copy; the original is unchanged.
 *   RECIRC       A copy with recirc_id set goes back to the datapath (the
 *                'recirc' callback), which looks it up again and may call
 *                dp_execute_actions() on it.  At most DP_EXECUTE_MAX_RECIRC
 *                recirculations deep; deeper ones are dropped and counted.
 *
 * On return, 'pkt' holds the packet as changed by the top-level actions:
 * nested actions and recirculation work on copies.
 *
 * Trust
 * =====
 *
 * The caller validates action lists before installing or executing them
 * (common/odp-actions.h), but this executor still never reads outside the
 * stream or the frame: every attribute's framing and length are checked as it
 * is reached.  A malformed stream stops execution with EINVAL, an action or
 * SET key it does not implement with EOPNOTSUPP, nesting deeper than
 * DP_EXECUTE_MAX_NEST with ELOOP; what was already output stays output.
 * Every such event, and every skipped action, has a named counter
 * ("dpifctl counters", names starting with "dp_execute_").
 *
 * Callbacks
 * =========
 *
 * The datapath supplies them in a struct dp_execute_cbs.  A packet passed to
 * a callback is borrowed: valid only during the call.  For a truncated
 * OUTPUT or USERSPACE copy, only buf.size is reduced; the flow key and
 * layout describe the whole packet, as the kernel's key does.
 *
 * Randomness: SAMPLE draws from a PRNG in the struct dp_executor, seeded by
 * the caller, so tests and fuzzers are reproducible.
 *
 * Thread safety: a dp_executor is used by one thread at a time (dpifd
 * processes are single-threaded).
 */
#ifndef DPIF_DP_EXECUTE_H
#define DPIF_DP_EXECUTE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privd/dp-packet.h"

/* Deepest recirculation: a packet recirculated this many times is not
 * recirculated again. */
#define DP_EXECUTE_MAX_RECIRC 8

/* Deepest nesting of SAMPLE and CLONE action lists. */
#define DP_EXECUTE_MAX_NEST 8

/* The arguments of one OVS_ACTION_ATTR_USERSPACE action. */
struct dp_userspace_args {
    uint32_t pid;               /* OVS_USERSPACE_ATTR_PID. */
    const void *userdata;       /* OVS_USERSPACE_ATTR_USERDATA payload (in
                                 * the action stream), or NULL. */
    size_t userdata_len;        /* Bytes at 'userdata'. */
    bool has_egress_tun_port;   /* OVS_USERSPACE_ATTR_EGRESS_TUN_PORT given. */
    uint32_t egress_tun_port;   /* Its value, if given. */
    const void *actions;        /* With OVS_USERSPACE_ATTR_ACTIONS: the action
                                 * list being executed; otherwise NULL. */
    size_t actions_len;         /* Bytes at 'actions'. */
};

/* What the datapath does with packets that leave the action list.  Any
 * member may be NULL: the packet it would have received is dropped and
 * counted. */
struct dp_execute_cbs {
    /* Sends 'pkt' out of datapath port 'port'. */
    void (*output)(void *aux, uint32_t port, const struct dp_packet *pkt);

    /* Queues 'pkt' with its flow key to userspace as 'args' say. */
    void (*userspace)(void *aux, const struct dp_packet *pkt,
                      const struct dp_userspace_args *args);

    /* Looks 'pkt' (whose flow.recirc_id is the new id) up again and runs the
     * actions found on it.  'pkt' is a copy that the callback may modify; it
     * is discarded afterwards. */
    void (*recirc)(void *aux, struct dp_packet *pkt);
};

/* Execution context: callbacks and SAMPLE's random state. */
struct dp_executor {
    const struct dp_execute_cbs *cbs; /* Callbacks; owned by the caller. */
    void *aux;                  /* First argument of every callback. */
    uint64_t prng;              /* State of SAMPLE's generator. */
};

/* Initializes 'ex' with callbacks 'cbs' (which must outlive 'ex'), their
 * argument 'aux', and 'seed' for SAMPLE's generator. */
void dp_executor_init(struct dp_executor *ex, const struct dp_execute_cbs *cbs,
                      void *aux, uint64_t seed);

/* Executes the action list 'actions'/'actions_len' (4-byte aligned) on
 * 'pkt'.  Returns 0, or EINVAL (malformed or misaligned stream), EOPNOTSUPP
 * (unimplemented action or SET key) or ELOOP (nesting too deep), having
 * stopped at that action. */
int dp_execute_actions(struct dp_executor *ex, struct dp_packet *pkt,
                       const void *actions, size_t actions_len);

#endif /* dp-execute.h */
