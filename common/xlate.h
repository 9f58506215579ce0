/*
 * xlate.h — translation of a flow through the forwarding policy.
 *
 * Overview
 * ========
 *
 * When a packet misses the datapath's flow table, a handler gets an upcall
 * with the packet's flow (common/flow.h) and asks xlate_translate() what to
 * do with it.  The answer is:
 *
 *   - the datapath actions (OVS_ACTION_ATTR_*, built with
 *     common/odp-actions.h) to execute on this packet, and the actions to
 *     install with the flow (the same, unless the flow is slow-pathed);
 *   - the megaflow mask: every bit of the flow the translation consulted.
 *     Any packet equal to this one in those bits is translated to the same
 *     actions (with the same rule table and MAC table), so the handler may
 *     install a flow with this mask and the datapath may apply its actions
 *     to all of them without asking again;
 *   - the id of the rule that matched (POLICY_RULE_DEFAULT when none did),
 *     for the per-rule counters;
 *   - whether the flow is slow-pathed, and why (XLATE_SLOW_*);
 *   - side effects: the (MAC, VLAN) -> port that "normal" wants learned.
 *     xlate_translate() itself never writes the MAC table: the handler calls
 *     mac_table_learn(), and the revalidator, which re-translates installed
 *     flows to check them, ignores it.
 *
 * The revalidator re-runs the same translation on an installed flow and
 * keeps the flow only if the actions are byte-identical and the installed
 * mask covers the new one (design.md, "Forwarding policy").
 *
 * Rule lookup and the megaflow mask
 * =================================
 *
 * Rules are examined in the table's order.  Each rule is compared in three
 * stages, metadata and L2 (in_port, Ethernet, VLAN, dl_type), then L3
 * (nw_*, ARP fields), then L4 (tp_*), as Open vSwitch's classifier does.
 * The mask bits of every stage compared are added to the megaflow mask, and
 * comparison stops at the first stage that differs: whatever that stage's
 * fields hold beyond the mask, a packet equal in the unwildcarded bits
 * differs there too.  So a higher-priority "tcp,tp_dst=80" rule puts tp_dst
 * into the mask of a TCP flow to port 22 but not into the mask of a UDP
 * flow, which it already rejects on nw_proto.  Prerequisites are in the
 * rules' masks (policy.h), so they are unwildcarded with their fields.
 *
 * Actions then consult more fields, and unwildcard them:
 *
 *   output:N     in_port (output to the input port is skipped, as in
 *                Open vSwitch; so is a port the datapath does not have, which
 *                is counted in "xlate_output_no_port").
 *   flood        in_port.  Output to every port in the list but the input
 *                port, in list order.  The local port (0) is included, as
 *                Open vSwitch's normal includes LOCAL.
 *   normal       in_port, dl_src, dl_dst and the VLAN id (and the CFI bit).
 *                Multicast and broadcast destinations flood; a unicast
 *                destination known in the MAC table on another port that
 *                the datapath has goes there; one known on the input port
 *                is dropped (the segment already has it); an unknown one
 *                (or a busy bucket, or a stale port) floods.  A unicast
 *                source is learned on (its VLAN, in_port).  The VLAN and
 *                addresses used are those of the packet as modified by
 *                earlier actions of the rule.
 *   mod_vlan_vid the VLAN CFI and PCP bits: an untagged packet gets
 *                push_vlan(vid, pcp 0); a tagged one pop_vlan then
 *                push_vlan(vid, its pcp) (the ABI has no "set VLAN").
 *   strip_vlan   the CFI bit: pop_vlan if the packet is tagged.
 *
 * Rewrites (mod_dl_*, mod_nw_*, mod_tp_*) become SET_MASKED actions at
 * their place in the list, so they affect the outputs that follow them.
 * Rewrites of IPv4 and ports need no extra bits: the rule's prerequisites
 * already pin dl_type and nw_proto.
 *
 * Cookies
 * =======
 *
 * USERSPACE actions carry a struct xlate_cookie as userdata, so that the
 * handler can classify the action upcall it comes back as:
 *
 *   XLATE_COOKIE_SLOW_PATH   the installed actions of a slow-pathed flow:
 *                            the handler treats the upcall like a miss
 *                            (translates it and executes the actions on the
 *                            packet), as the seeds do; 'reason' says why
 *                            (XLATE_SLOW_CONTROLLER: the handler counts and
 *                            logs the packet as sent to the controller).
 *   XLATE_COOKIE_SAMPLE      the USERSPACE inside a sample(): a sampled copy
 *                            with the rule's probability.
 *   XLATE_COOKIE_CONTROLLER  a packet for the controller that needs no
 *                            re-translation: the handler counts and logs it
 *                            and does nothing else.  (Not emitted by this
 *                            translation, which slow-paths controller
 *                            rules; accepted so that a datapath-side
 *                            "send to controller" can share the format.)
 *
 * xlate_cookie_parse() checks a cookie from an upcall: exact size, known
 * type, zero padding, fields in range.
 *
 * Limits: the actions of one translation are bounded by
 * ODP_ACTIONS_DEFAULT_MAX_LEN; a translation that would exceed it fails
 * with E2BIG (counted in "xlate_too_large") and the handler drops the packet.
 *
 * Ownership and safety: the caller owns 'xlate_in' and everything it points
 * to; xlate_translate() reads them and keeps no pointer.  'xlate_out' holds
 * two struct buf with stack stubs: initialize it with xlate_out_init(),
 * reuse it for as many translations as you like, and release it with
 * xlate_out_uninit().  No allocation happens unless the actions outgrow the
 * stubs.  Reentrant; the MAC table may be written concurrently by other
 * processes (lookups are seqlock reads).
 */
#ifndef DPIF_XLATE_H
#define DPIF_XLATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/util.h"

struct mac_table;
struct policy_table;

/* Why a flow is slow-pathed (bits). */
enum xlate_slow_reason {
    XLATE_SLOW_CONTROLLER = 1 << 0,     /* Rule has "controller". */
};

enum xlate_cookie_type {
    XLATE_COOKIE_SLOW_PATH = 1,         /* See "Cookies". */
    XLATE_COOKIE_SAMPLE = 2,
    XLATE_COOKIE_CONTROLLER = 3,
};

/* The userdata of every USERSPACE action dpifd emits.  Host byte order
 * (handlers run on the host that built it).  16 bytes, no implicit
 * padding. */
struct xlate_cookie {
    uint8_t type;               /* XLATE_COOKIE_*. */
    uint8_t reason;             /* SLOW_PATH: XLATE_SLOW_* bits; else 0. */
    uint16_t probability;       /* SAMPLE: 1..65535 (of 65535); else 0. */
    uint32_t rule_id;           /* Rule that emitted it. */
    uint64_t generation;        /* Of the rule table it came from. */
};

/* Parses the 'len' bytes of upcall userdata at 'data' (may be NULL if
 * 'len' is 0) into '*cookie'.  Returns 0, or EINVAL with the reason in 'eb'
 * for a wrong size, an unknown type, or fields out of range for the type. */
int xlate_cookie_parse(const void *data, size_t len,
                       struct xlate_cookie *cookie, struct errbuf *eb);

/* What to translate. */
struct xlate_in {
    const struct flow *flow;            /* From the upcall. */
    const struct policy_table *table;   /* Rules; NULL: no rules. */
    const uint32_t *ports;              /* The datapath's ports. */
    size_t n_ports;                     /* Number of 'ports'. */
    const struct mac_table *macs;       /* MAC table; NULL: none known. */
    uint32_t upcall_pid;                /* Netlink pid for USERSPACE. */
    long long now_msec;                 /* For MAC aging (time_msec()). */
};

/* A MAC to learn ("normal" saw a unicast source). */
struct xlate_learn {
    bool valid;                 /* False: nothing to learn. */
    struct eth_addr mac;        /* Source address. */
    uint16_t vlan;              /* VLAN id 0..4095. */
    uint32_t port;              /* Input port. */
};

/* The result of a translation. */
struct xlate_out {
    struct buf actions;         /* Execute on the packet. */
    struct buf flow_actions;    /* Install with the flow: equal to
                                 * 'actions' unless 'slow'. */
    struct flow mask;           /* Megaflow mask: bits consulted. */
    uint32_t rule_id;           /* Matched rule, or POLICY_RULE_DEFAULT. */
    uint8_t slow;               /* XLATE_SLOW_* bits; 0: fast path. */
    struct xlate_learn learn;   /* Side effect for the handler. */
    uint64_t actions_stub[1024 / 8];      /* Initial 'actions' storage. */
    uint64_t flow_actions_stub[1024 / 8]; /* Initial 'flow_actions'. */
};

void xlate_out_init(struct xlate_out *);
void xlate_out_uninit(struct xlate_out *);

/* Translates 'in->flow' into 'out' (whose previous contents are replaced).
 * Returns 0, or E2BIG (reason in 'eb') if the actions would be too long;
 * then 'out' holds no actions. */
int xlate_translate(const struct xlate_in *in, struct xlate_out *out,
                    struct errbuf *eb);

#endif /* xlate.h */
