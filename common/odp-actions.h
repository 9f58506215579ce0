/*
 * odp-actions.h — datapath actions: building them and validating them.
 *
 * Overview
 * ========
 *
 * A datapath flow's actions say what the datapath does with a packet that
 * matches it.  On the wire (the kernel ABI of <linux/openvswitch.h>, which
 * the userspace datapath speaks too) they are a stream of OVS_ACTION_ATTR_*
 * netlink attributes, executed in order.  An empty stream drops the packet.
 * dpifd keeps actions in exactly that form, as bytes in a "struct buf" or a
 * (pointer, length) pair, from the moment a handler translates an upcall to
 * the moment privd hands them to a datapath; nothing converts them to and
 * from another representation on the way.
 *
 * This module is the one place that knows what a well-formed action stream
 * is.  It has three parts:
 *
 *   - builders, odp_put_*(), each appending one action to a buffer;
 *
 *   - the validator, odp_actions_validate(), which privd runs on every action
 *     stream a worker submits before a datapath sees it;
 *
 *   - small inspection helpers for the userspace datapath's executor and for
 *     the revalidator, which work on streams the validator accepted.
 *
 * The text form ("output:2,push_vlan(...)", ovs-dpctl syntax) lives in
 * common/odp-format.h, not here.
 *
 * Supported actions
 * =================
 *
 * dpifd produces, validates and executes this subset of the ABI:
 *
 *     OUTPUT       u32 port number, not ODP_PORT_NONE.
 *     USERSPACE    nested OVS_USERSPACE_ATTR_*: PID (u32, required),
 *                  USERDATA (opaque bytes, optional, bounded by the policy),
 *                  EGRESS_TUN_PORT (u32 port, optional, not ODP_PORT_NONE),
 *                  ACTIONS (flag, optional: "send the flow's actions with
 *                  the upcall").
 *     SET          exactly one nested OVS_KEY_ATTR_* with the new value.
 *     SET_MASKED   exactly one nested OVS_KEY_ATTR_* whose payload is the
 *                  value followed by a mask of the same size; value bits
 *                  outside the mask must be zero.
 *     PUSH_VLAN    struct ovs_action_push_vlan: TPID 0x8100 or 0x88a8, TCI
 *                  with VLAN_CFI set (the ABI's "tag present" marker; it is
 *                  not written into the packet).
 *     POP_VLAN     no argument.
 *     SAMPLE       nested OVS_SAMPLE_ATTR_PROBABILITY (u32; 0 = never,
 *                  UINT32_MAX = always) and OVS_SAMPLE_ATTR_ACTIONS (a
 *                  nested action stream, possibly empty).
 *     RECIRC       u32 recirculation id, nonzero (id 0 is the first pass:
 *                  recirculating to it would loop).
 *     HASH         struct ovs_action_hash; the algorithm must be
 *                  OVS_HASH_ALG_L4, the only one the ABI defines.
 *     TRUNC        struct ovs_action_trunc; max_len of at least an Ethernet
 *                  header (14 bytes).  Applies to the following outputs.
 *     CLONE        a nested action stream run on a copy of the packet.
 *
 * The settable keys (SET and SET_MASKED) are the header rewrites the
 * executor implements: ETHERNET, IPV4, IPV6, TCP, UDP, SCTP, and the
 * metadata PRIORITY and SKB_MARK.  Their payloads are the ABI structures
 * (struct ovs_key_ipv4, ...) or a host-order u32 for the metadata.  As in
 * the kernel, a masked set may not change the IPv4/IPv6 protocol or
 * fragment type (their mask bytes must be zero) and an IPv6 flow label has
 * only 20 bits.  An unmasked SET of IPV4/IPV6 carries proto/frag too;
 * whether they agree with the flow is not knowable here, and the executor
 * never rewrites them.  TUNNEL, MPLS, conntrack, NSH, meters, check_pkt_len
 * and dec_ttl are not supported: the validator rejects them as it rejects
 * types the ABI does not define.
 *
 * Building
 * ========
 *
 *     uint64_t stub[256 / 8];
 *     struct buf actions;
 *
 *     buf_use_stub(&actions, stub, sizeof stub);
 *     odp_put_push_vlan(&actions, htons(ETH_P_8021Q), htons(VLAN_CFI | 10));
 *     size_t sample = odp_put_sample_start(&actions, UINT32_MAX / 100);
 *     odp_put_userspace(&actions, pid, &cookie, sizeof cookie,
 *                       ODP_PORT_NONE, false);
 *     odp_put_sample_end(&actions, sample);
 *     odp_put_output(&actions, 2);
 *     ...
 *     buf_uninit(&actions);
 *
 * Builders do not judge their arguments (a TCI without VLAN_CFI is written
 * as given) so that tests can build malformed streams; the validator judges.
 * Every attribute is padded to 4 bytes with zeros.  Like nl_put_*(), they
 * abort if a nest would exceed netlink's 64 kB attribute length, so callers
 * bound what they append (translation caps its output well below that).
 * Offsets returned by the *_start() builders and by odp_put_userspace() stay
 * valid while the buffer grows; pointers into it do not.
 *
 * Validation
 * ==========
 *
 * odp_actions_validate() checks a stream against a "struct
 * odp_actions_policy" written by the caller: which action types are
 * allowed, how deep SAMPLE, CLONE and USERSPACE may nest, how long the
 * stream and a USERSPACE cookie may be, and two callbacks that decide
 * whether an OUTPUT (or EGRESS_TUN_PORT) port exists and whether a
 * USERSPACE pid belongs to this datapath's handlers.
 *
 * It is strict in the manner of the kernel's flow_netlink.c, and stricter:
 * unknown and unsupported action types, wrong payload sizes, duplicate or
 * unknown nested attributes, truncated attributes, trailing bytes, missing
 * or nonzero padding and NLA_F_* flag bits in attribute types are all
 * rejected.  So a stream that validates is in the canonical form the
 * builders produce, and two valid streams mean the same thing exactly when
 * their bytes are equal (odp_actions_equal()), which is what the revalidator
 * relies on to decide whether a flow's actions changed.
 *
 * Every rejection returns a positive errno and, in the errbuf, a reason
 * that names the action, e.g. "actions: output port 7 does not exist" or
 * "actions: in sample: nesting deeper than 4".  Each rejection also counts
 * in the "odp_actions_rejected" counter.
 *
 * Ownership and safety
 * ====================
 *
 * Nothing here allocates except through the caller's "struct buf"; the
 * validator and the inspection helpers only read the caller's bytes and
 * keep no pointer into them after returning.  Pointers filled in by the
 * odp_action_get_*() decoders point into the caller's stream and are valid
 * as long as it is.  Streams must start 4-byte aligned (nl.h).  The module
 * has no state; it is safe to use from any process and thread.
 */
#ifndef DPIF_ODP_ACTIONS_H
#define DPIF_ODP_ACTIONS_H 1

#include <assert.h>
#include <linux/openvswitch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/nl.h"
#include "common/util.h"

/* ODP_PORT_NONE (common/flow.h) means "no EGRESS_TUN_PORT" to
 * odp_put_userspace() and in struct odp_userspace. */

/* Bounds that apply when a policy leaves its field zero. */
#define ODP_ACTIONS_DEFAULT_MAX_DEPTH 4      /* SAMPLE/CLONE/USERSPACE. */
#define ODP_ACTIONS_DEFAULT_MAX_LEN 32768    /* Bytes in a whole stream. */
#define ODP_ACTIONS_DEFAULT_MAX_USERDATA 256 /* Bytes of USERSPACE cookie. */

/* The deepest nesting any policy may allow: bounds the validator's
 * recursion.  A larger policy max_depth is treated as this one. */
#define ODP_ACTIONS_DEPTH_LIMIT 16

/* A set of action types, one bit per OVS_ACTION_ATTR_* value.  The type is
 * sized from the ABI's enum: if a kernel header ever defines 64 or more
 * action types, the build fails here instead of "1 << type" silently
 * overflowing (the bug the Linux datapath once had at 32 key types). */
typedef uint64_t odp_action_mask;
static_assert(OVS_ACTION_ATTR_MAX < sizeof(odp_action_mask) * 8,
              "odp_action_mask cannot hold every OVS_ACTION_ATTR_* type");
#define ODP_ACTION_BIT(TYPE) ((odp_action_mask) 1 << (TYPE))

/* Every type this module supports (see "Supported actions"). */
#define ODP_ACTIONS_SUPPORTED                                               \
    (ODP_ACTION_BIT(OVS_ACTION_ATTR_OUTPUT)                                 \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_USERSPACE)                            \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_SET)                                  \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_SET_MASKED)                           \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_PUSH_VLAN)                            \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_POP_VLAN)                             \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_SAMPLE)                               \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_RECIRC)                               \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_HASH)                                 \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_TRUNC)                                \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_CLONE))

/* What odp_actions_validate() accepts beyond well-formedness.  Zero in a
 * numeric field means its ODP_ACTIONS_DEFAULT_*; a NULL callback accepts
 * nothing (fail closed), so a policy that allows OUTPUT or USERSPACE must
 * supply the matching callback.  odp_accept_any() accepts everything, for
 * callers that trust the stream's origin and for tests. */
struct odp_actions_policy {
    odp_action_mask allowed;    /* ODP_ACTION_BIT()s of permitted types;
                                 * bits outside ODP_ACTIONS_SUPPORTED are
                                 * ignored. */
    unsigned int max_depth;     /* Deepest nesting of SAMPLE, CLONE and
                                 * USERSPACE contents; 1 allows nests but
                                 * no nest inside a nest. */
    size_t max_len;             /* Longest stream, in bytes. */
    size_t max_userdata;        /* Longest OVS_USERSPACE_ATTR_USERDATA. */
    bool (*port_ok)(uint32_t port, void *aux);  /* True if OUTPUT (or
                                                 * EGRESS_TUN_PORT) to
                                                 * 'port' is allowed. */
    bool (*pid_ok)(uint32_t pid, void *aux);    /* True if USERSPACE to
                                                 * netlink 'pid' is
                                                 * allowed. */
    void *aux;                  /* Passed to both callbacks. */
};

/* A port_ok or pid_ok callback that accepts every value. */
bool odp_accept_any(uint32_t value, void *aux);

/*
 * Builders.  Each appends one action to 'b'.
 */

/* OUTPUT to datapath port 'port'. */
void odp_put_output(struct buf *b, uint32_t port);

/* USERSPACE to netlink 'pid'.  'userdata' (may be NULL: no USERDATA
 * attribute; with a non-NULL pointer and 'userdata_len' 0 an empty one) is
 * the cookie the upcall carries back; 'egress_tun_port' (ODP_PORT_NONE for
 * none) asks for that port's tunnel metadata; 'include_actions' sets the
 * ACTIONS flag.  Returns the offset in 'b' of the USERDATA payload, so that
 * the caller can patch the cookie later, or 0 without USERDATA. */
size_t odp_put_userspace(struct buf *b, uint32_t pid,
                         const void *userdata, size_t userdata_len,
                         uint32_t egress_tun_port, bool include_actions);

/* SET of the OVS_KEY_ATTR_* 'key_type' to the 'len' bytes at 'value'. */
void odp_put_set(struct buf *b, uint16_t key_type,
                 const void *value, size_t len);

/* SET_MASKED of 'key_type': the payload is 'value' & 'mask' (so that value
 * bits outside the mask are zero, as the ABI requires) followed by 'mask',
 * each 'len' bytes. */
void odp_put_set_masked(struct buf *b, uint16_t key_type,
                        const void *value, const void *mask, size_t len);

/* PUSH_VLAN with 'tpid' and 'tci', both network order; 'tci' normally has
 * VLAN_CFI set. */
void odp_put_push_vlan(struct buf *b, ovs_be16 tpid, ovs_be16 tci);

/* POP_VLAN. */
void odp_put_pop_vlan(struct buf *b);

/* SAMPLE: odp_put_sample_start() opens a sample that runs the actions
 * appended until the matching odp_put_sample_end() with 'probability' in
 * UINT32_MAX (0: never; UINT32_MAX: always).  Returns the token to pass to
 * odp_put_sample_end().  Samples and clones nest. */
size_t odp_put_sample_start(struct buf *b, uint32_t probability);
void odp_put_sample_end(struct buf *b, size_t token);

/* CLONE: like SAMPLE, the actions appended between start and end, run on a
 * copy of the packet. */
size_t odp_put_clone_start(struct buf *b);
void odp_put_clone_end(struct buf *b, size_t token);

/* RECIRC with recirculation id 'id'. */
void odp_put_recirc(struct buf *b, uint32_t id);

/* HASH with algorithm 'alg' (OVS_HASH_ALG_*) and 'basis'. */
void odp_put_hash(struct buf *b, uint32_t alg, uint32_t basis);

/* TRUNC of the following outputs to 'max_len' bytes. */
void odp_put_trunc(struct buf *b, uint32_t max_len);

/*
 * Validation.
 */

/* Checks the 'len' bytes at 'actions' (4-byte aligned; may be NULL if 'len'
 * is 0) against 'policy'.  Returns 0 if they are a well-formed, supported
 * and permitted action stream.  Otherwise returns, with the reason in 'eb'
 * (which may be NULL):
 *
 *   EINVAL    malformed, or an action type that is unknown or unsupported,
 *             or nested deeper than the policy allows, or a port number
 *             of ODP_PORT_NONE;
 *   EMSGSIZE  longer than the policy's max_len;
 *   EPERM     an action type the policy does not allow, or a USERSPACE pid
 *             that pid_ok() refuses;
 *   ENODEV    an OUTPUT or EGRESS_TUN_PORT port that port_ok() refuses. */
int odp_actions_validate(const void *actions, size_t len,
                         const struct odp_actions_policy *policy,
                         struct errbuf *eb);

/*
 * Inspection.  Except for odp_action_type_name(), these take streams and
 * actions that odp_actions_validate() accepted (or that the builders made
 * and the caller trusts); on anything else their results are unspecified,
 * but they never read outside 'actions'/'len'.
 */

/* Iterates over the actions of a stream: 'ITER' is a const struct nlattr *
 * at each action, 'LEFT' a size_t counting down the bytes remaining. */
#define ODP_ACTIONS_FOR_EACH(ITER, LEFT, ACTIONS, LEN)                      \
    NL_ATTR_FOR_EACH (ITER, LEFT,                                          \
                      (const struct nlattr *) (const void *) (ACTIONS), LEN)

/* The action's type, OVS_ACTION_ATTR_*. */
static inline uint16_t
odp_action_type(const struct nlattr *action)
{
    return nl_attr_type(action);
}

/* True if the two streams are byte-for-byte identical.  For valid streams
 * that is the same as "do the same thing" (see Validation). */
bool odp_actions_equal(const void *a, size_t a_len,
                       const void *b, size_t b_len);

/* True if the stream contains an action of 'type', at any depth (inside
 * SAMPLE and CLONE too). */
bool odp_actions_has_type(const void *actions, size_t len, uint16_t type);

/* True if the stream contains a USERSPACE action at any depth. */
bool odp_actions_has_userspace(const void *actions, size_t len);

/* The ABI name of action type 'type' ("output", "set_masked", ...), or
 * "unknown".  Returns a static string. */
const char *odp_action_type_name(uint16_t type);

/* A decoded USERSPACE action. */
struct odp_userspace {
    uint32_t pid;               /* Netlink pid to send the upcall to. */
    const void *userdata;       /* Cookie, or NULL if absent. */
    size_t userdata_len;        /* Bytes at 'userdata'. */
    uint32_t egress_tun_port;   /* Port, or ODP_PORT_NONE if absent. */
    bool include_actions;       /* The ACTIONS flag is present. */
};

/* A decoded SAMPLE action. */
struct odp_sample {
    uint32_t probability;       /* Fraction of UINT32_MAX to run. */
    const void *actions;        /* Nested action stream (may be empty). */
    size_t actions_len;         /* Bytes at 'actions'. */
};

/* A decoded SET or SET_MASKED action. */
struct odp_set {
    uint16_t key_type;          /* OVS_KEY_ATTR_* being rewritten. */
    const void *value;          /* New value, 'len' bytes. */
    const void *mask;           /* Mask, 'len' bytes; NULL for SET. */
    size_t len;                 /* Size of the key structure. */
};

/* Decoders for one action of the matching type.  Each fills in its output
 * (pointers into 'action'). */
void odp_action_get_userspace(const struct nlattr *action,
                              struct odp_userspace *);
void odp_action_get_sample(const struct nlattr *action, struct odp_sample *);
void odp_action_get_set(const struct nlattr *action, struct odp_set *);

#endif /* odp-actions.h */
