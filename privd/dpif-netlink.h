/*
 * dpif-netlink.h — the "system" datapath: the Linux openvswitch kernel
 * module over generic netlink.
 *
 * Overview
 * ========
 *
 * dpif_system_class implements privd/dpif-provider.h on top of the kernel's
 * four generic netlink families (ovs_datapath, ovs_vport, ovs_flow,
 * ovs_packet), resolved with libnl-genl-3 when a datapath is first opened.
 * Requests are built with libmnl and every message the kernel sends back is
 * checked against a strict attribute policy (common/nl.h) before use.  Its
 * behaviour is that of the seeds' dpif-linux.c with the later kernel
 * features used where the kernel offers them:
 *
 *   - user features: a datapath is created (or, when opened, updated) with
 *     OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS |
 *     OVS_DP_F_DISPATCH_UPCALL_PER_CPU; a kernel that refuses the last one
 *     gets the first two only and upcalls are then dispatched per vport.
 *   - flows carry a UFID (OVS_FLOW_ATTR_UFID, given or derived from key and
 *     mask); deletions and gets by UFID; terse dumps with OVS_UFID_F_OMIT_*.
 *   - batched operations (dpif_operate()) are sent in one sendmsg() and their
 *     answers matched in order by sequence number.
 *
 * Upcalls
 * =======
 *
 * dpif_handlers_set() fixes the number of handler channels; dpif_recv_set()
 * creates one netlink socket per handler (bound, with a large receive queue)
 * and registers their port ids with the kernel: as the per-CPU array
 * OVS_DP_ATTR_PER_CPU_PIDS (CPU i -> handler i mod n) in per-CPU mode, or as
 * each vport's OVS_VPORT_ATTR_UPCALL_PID array (all handlers; the kernel
 * picks one by packet hash) otherwise.  In per-CPU mode the kernel also
 * ignores the pid of a USERSPACE action and queues its upcall on the
 * current CPU's handler.  dpif_netlink_handler_fd() gives a
 * handler socket's fd so that privd can pass it to dpif-handlerd with
 * SCM_RIGHTS; the handler then reads and parses upcalls itself with
 * upcall_nl_parse() (common/upcall-nl.h).  dpif_recv() on a system
 * datapath uses the same parser, for tests and tools: privd's supervisor
 * never calls it, so privd parses no packet from the kernel path.  The kernel checks CAP_NET_ADMIN of both the
 * socket's opener and the sender, so a handler without it cannot issue
 * privileged commands on a socket it was given.  ENOBUFS on an upcall socket
 * (its queue overflowed) is counted as "dpif_netlink_upcall_lost".
 *
 * Errors
 * ======
 *
 * Positive errno values.  When the openvswitch module is not loaded (its
 * families are not registered and cannot be auto-loaded), opening any
 * system@ datapath fails with EAFNOSUPPORT and logs "openvswitch kernel
 * module not loaded".
 *
 * Threads: privd is single-threaded; a dpif and its dumps are used by one
 * thread.
 */
#ifndef PRIVD_DPIF_NETLINK_H
#define PRIVD_DPIF_NETLINK_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "privd/dpif.h"

/* The generic netlink ids of the openvswitch families. */
struct dpif_netlink_families {
    uint16_t datapath;          /* "ovs_datapath". */
    uint16_t vport;             /* "ovs_vport". */
    uint16_t flow;              /* "ovs_flow". */
    uint16_t packet;            /* "ovs_packet". */
    uint32_t vport_mcgroup;     /* Multicast group "ovs_vport". */
};

/* Resolves (once, then from memory) the families.  EAFNOSUPPORT when the
 * module is not loaded. */
int dpif_netlink_families_get(struct dpif_netlink_families *);

/* The fd of handler channel 'handler_id' of the system datapath 'dpif', or
 * -1 if it has none (upcalls disabled, no such handler, other type).  The
 * dpif keeps owning it: callers dup() or pass it on. */
int dpif_netlink_handler_fd(const struct dpif *, uint32_t handler_id);

/* OVS_DP_F_* user features in effect on 'dpif'. */
uint32_t dpif_netlink_user_features(const struct dpif *);

/* True if upcalls are dispatched per CPU (else per vport). */
bool dpif_netlink_dispatch_per_cpu(const struct dpif *);

/* Chooses per-CPU (true) or per-vport (false) upcall dispatch for 'dpif'
 * and re-registers the handler sockets accordingly.  EOPNOTSUPP if the
 * kernel lacks per-CPU dispatch or 'dpif' is not a system datapath. */
int dpif_netlink_set_dispatch_per_cpu(struct dpif *, bool per_cpu);

/* The parsers every datapath, vport and flow message from the kernel goes
 * through (replies, dump parts, vport notifications), exposed for
 * tests/fuzz/fuzz_kernel_reply.c.  Each checks 'msg'/'len' (one netlink
 * message) against the strict policy of its family and returns 0 or
 * EPROTO (counted in dpif_netlink_reply_bad); what it stores points into
 * 'msg'.  dpif_netlink_families_set() replaces the resolved family ids,
 * for a process that never opens a system datapath. */
void dpif_netlink_families_set(const struct dpif_netlink_families *);
int dpif_netlink_parse_dp(const void *msg, size_t len, const char **namep,
                          int *dp_ifindexp, uint32_t *user_featuresp);
/* Stores the vport's name, type name and number in 'port', its datapath in
 * '*dp_ifindexp', the message's command (OVS_VPORT_CMD_*) in '*cmdp'. */
int dpif_netlink_parse_vport(const void *msg, size_t len,
                             struct dpif_port *port, int *dp_ifindexp,
                             uint8_t *cmdp);
/* Fills 'flow'; '*has_ufidp' (if nonnull) says whether the kernel sent a
 * UFID (else 'flow->ufid' is derived from key and mask). */
int dpif_netlink_parse_flow(const void *msg, size_t len,
                            struct dpif_flow *flow, bool *has_ufidp);

#endif /* dpif-netlink.h */
