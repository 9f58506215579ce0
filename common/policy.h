/*
 * policy.h — the forwarding policy: an ordered table of rules.
 *
 * Overview
 * ========
 *
 * A datapath's forwarding policy is a table of rules, each a priority, a
 * match on packet headers and a list of actions, written one per line in a
 * syntax close to ovs-ofctl's so that operators feel at home:
 *
 *     # web traffic to the servers goes out port 2, tagged
 *     priority=200,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=mod_vlan_vid:10,2
 *     priority=100,arp,actions=normal
 *     priority=10,in_port=7,actions=drop
 *
 * A packet takes the actions of the highest-priority rule that matches it;
 * among rules of equal priority, the one written first.  A packet that no
 * rule matches takes the action "normal" (common/xlate.h), the implicit
 * default rule with id POLICY_RULE_DEFAULT.
 *
 * The table is configuration: privd loads it from the file dpifd.conf names,
 * persists changes made through dpifctl, and hands the text to every worker
 * with a generation number; each worker parses it with policy_parse().  A new
 * generation makes revalidators re-check every flow.
 *
 * Syntax
 * ======
 *
 * One rule per line.  '#' starts a comment that runs to the end of the line;
 * blank lines are ignored.  A rule is a list of items separated by commas or
 * white space; "actions=" must be the last item and takes the rest of the
 * line.  Numbers are decimal or hexadecimal with "0x".
 *
 *   priority=N           0..65535, default 32768.
 *
 *   Match fields (each at most once; a field that is not given is
 *   wildcarded):
 *
 *   in_port=N            datapath input port.
 *   dl_src=MAC[/MASK], dl_dst=MAC[/MASK]
 *                        Ethernet addresses, xx:xx:xx:xx:xx:xx.
 *   dl_vlan=N            802.1Q VLAN id 0..4095 (the packet must be tagged);
 *                        dl_vlan=0xffff matches untagged packets only.
 *   dl_vlan_pcp=N        802.1Q priority 0..7 (the packet must be tagged).
 *   dl_type=N            ethertype (the inner one for tagged packets).
 *   ip, ipv6, arp        shorthands for dl_type=0x0800, 0x86dd, 0x0806.
 *   tcp, udp, sctp, icmp shorthands for ip plus nw_proto=6, 17, 132, 1.
 *   tcp6, udp6, sctp6, icmp6
 *                        the same over ipv6 (icmp6 is nw_proto=58).
 *   nw_src=IP[/LEN|/MASK], nw_dst=...
 *                        IPv4 addresses, CIDR or dotted mask; need ip or
 *                        arp (for arp they are the SPA and TPA).
 *   nw_proto=N           IP protocol 0..255; needs ip or ipv6.
 *   nw_tos=N             DSCP bits of the TOS byte (a multiple of 4);
 *                        needs ip or ipv6.
 *   tp_src=N[/MASK], tp_dst=N[/MASK]
 *                        transport ports; need tcp, udp or sctp (v4 or v6).
 *   icmp_type=N, icmp_code=N
 *                        0..255; need icmp or icmp6.
 *   arp_op=N             ARP opcode 0..255; needs arp.
 *   arp_spa=IP[/..], arp_tpa=IP[/..]
 *                        ARP protocol addresses; need arp.
 *   arp_sha=MAC[/MASK], arp_tha=MAC[/MASK]
 *                        ARP hardware addresses; need arp.
 *
 *   Actions (comma-separated, executed in order; at most POLICY_MAX_ACTIONS):
 *
 *   output:N             send to datapath port N (a bare N means the same).
 *   normal               the L2 learning switch (common/xlate.h).
 *   flood                send to every port but the input port.
 *   drop                 do nothing; must be the only action.
 *   mod_vlan_vid:N       set the VLAN id to 0..4095, pushing a tag (priority
 *                        0) on an untagged packet.
 *   strip_vlan           remove the 802.1Q tag, if any.
 *   mod_dl_src:MAC, mod_dl_dst:MAC
 *   mod_nw_src:IP, mod_nw_dst:IP
 *                        rewrite IPv4 addresses; the rule must match ip.
 *   mod_tp_src:N, mod_tp_dst:N
 *                        rewrite transport ports; the rule must match tcp,
 *                        udp or sctp.
 *   controller           slow-path the flow: every packet comes to the
 *                        handler, which counts and logs it, then applies the
 *                        rule's other actions.
 *   sample(probability=N)
 *                        send a sampled copy of the packet to the handler
 *                        with probability N/65535, N in 1..65535 (as in
 *                        ovs-ofctl).
 *
 * The names normal, flood, drop and controller are accepted in capitals too.
 * Prerequisites are enforced, as current Open vSwitch does, instead of being
 * silently ignored: "nw_src=10.0.0.1" alone is an error, not a rule that
 * matches every packet.
 *
 * Errors
 * ======
 *
 * policy_parse() is all-or-nothing: one bad rule rejects the whole text, and
 * the reason names the source, the line, the 1-based column of the offending
 * item and what is wrong:
 *
 *     rules:3:17: unknown field 'nw_dest'
 *     rules:5:1: tp_dst requires tcp, udp or sctp
 *
 * The caller keeps its previous table in force on failure.
 *
 * Canonical form
 * ==============
 *
 * policy_rule_format() writes a rule back as text in one canonical form
 * (fields in a fixed order, shorthands where they apply, masked values,
 * masks printed only when partial, lower-case action names), which
 * policy_parse() accepts and turns back into an identical rule.  It is what
 * "dpifctl rules/show" prints.
 *
 * Representation
 * ==============
 *
 * A rule's match is a pair of struct flow (common/flow.h): 'mask' has a 1 for
 * every bit the rule matches, prerequisites included (a "tcp,tp_dst=80" rule
 * has dl_type, nw_proto and tp_dst in its mask), and 'match' holds the values,
 * always zero outside 'mask'.  So a flow F matches a rule R exactly when
 * flow_equal_masked(F, &R->match, &R->mask).
 *
 * Rules are kept sorted in lookup order (priority descending, then text
 * order) and numbered from 1 in that order: a rule's id is its position, is
 * what the xlate cookie and the per-rule counters carry, and is only
 * meaningful together with the table's generation.
 *
 * Ownership and safety
 * ====================
 *
 * policy_parse() returns a table the caller owns and frees with
 * policy_table_destroy(); rules and actions live inside it.  A table is
 * plain data: reading it from several threads is safe; the counters
 * (policy_table_credit()) are plain integers updated by the one process
 * that owns that copy (the revalidator).
 */
#ifndef DPIF_POLICY_H
#define DPIF_POLICY_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/util.h"

/* The id of the implicit default rule ("normal" when nothing matches). */
#define POLICY_RULE_DEFAULT 0

#define POLICY_DEFAULT_PRIORITY 32768
#define POLICY_MAX_PRIORITY 65535
#define POLICY_MAX_ACTIONS 64       /* Actions in one rule. */
#define POLICY_MAX_RULES 65536      /* Rules in one table. */

enum policy_action_type {
    POLICY_ACT_OUTPUT,          /* 'port'. */
    POLICY_ACT_NORMAL,          /* L2 learning switch. */
    POLICY_ACT_FLOOD,           /* Every port but the input. */
    POLICY_ACT_DROP,            /* Nothing (only action of its rule). */
    POLICY_ACT_MOD_VLAN_VID,    /* 'vid'. */
    POLICY_ACT_STRIP_VLAN,      /* Pop the tag. */
    POLICY_ACT_MOD_DL_SRC,      /* 'mac'. */
    POLICY_ACT_MOD_DL_DST,      /* 'mac'. */
    POLICY_ACT_MOD_NW_SRC,      /* 'ip'. */
    POLICY_ACT_MOD_NW_DST,      /* 'ip'. */
    POLICY_ACT_MOD_TP_SRC,      /* 'tp_port'. */
    POLICY_ACT_MOD_TP_DST,      /* 'tp_port'. */
    POLICY_ACT_CONTROLLER,      /* Slow path to the handler. */
    POLICY_ACT_SAMPLE,          /* 'probability'. */
};

/* One action.  Only the member its type names is meaningful; the others are
 * zero, so that two equal actions are equal byte for byte. */
struct policy_action {
    enum policy_action_type type;   /* POLICY_ACT_*. */
    uint32_t port;                  /* OUTPUT: datapath port. */
    uint16_t vid;                   /* MOD_VLAN_VID: 0..4095. */
    uint16_t tp_port;               /* MOD_TP_*: host order. */
    uint16_t probability;           /* SAMPLE: 1..65535 of 65535. */
    struct eth_addr mac;            /* MOD_DL_*. */
    ovs_be32 ip;                    /* MOD_NW_*: network order. */
};

struct policy_rule {
    uint32_t id;                    /* Position in lookup order, from 1. */
    uint32_t priority;              /* 0..65535; higher wins. */
    unsigned int line;              /* Line of the source text. */
    struct flow match;              /* Values, zero outside 'mask'. */
    struct flow mask;               /* Matched bits, prerequisites
                                     * included. */
    struct policy_action *actions;  /* In order; owned by the table. */
    size_t n_actions;               /* 1..POLICY_MAX_ACTIONS. */
    uint64_t n_packets;             /* Packets credited to the rule. */
    uint64_t n_bytes;               /* Bytes credited to the rule. */
};

struct policy_table {
    uint64_t generation;            /* Given by privd; newer is larger. */
    struct policy_rule *rules;      /* Lookup order; owned. */
    size_t n_rules;                 /* Number of 'rules'. */
    uint64_t default_packets;       /* Packets that matched no rule. */
    uint64_t default_bytes;         /* Bytes that matched no rule. */
};

/* Parses the 'len' bytes of rule text at 'text' (need not be
 * NUL-terminated; a NUL byte is an error).  'source' names the text in
 * error messages ("rules", a file name).  On success returns 0 and stores
 * in '*tablep' a new table with generation 'generation' that the caller
 * owns.  On failure returns EINVAL (E2BIG for more than POLICY_MAX_RULES
 * rules) with "source:line:column: reason" in 'eb', and leaves '*tablep'
 * alone. */
int policy_parse(const char *text, size_t len, const char *source,
                 uint64_t generation, struct policy_table **tablep,
                 struct errbuf *eb);

/* A table with no rules (everything takes "normal"). */
struct policy_table *policy_table_create_empty(uint64_t generation);

/* Frees 'table' (may be NULL). */
void policy_table_destroy(struct policy_table *table);

/* The rule with 'id', or NULL for POLICY_RULE_DEFAULT and ids out of range.
 * The pointer is valid as long as the table. */
const struct policy_rule *policy_table_get_rule(const struct policy_table *,
                                                uint32_t id);

/* Adds 'packets' and 'bytes' to the counters of rule 'id' (the default
 * counters for POLICY_RULE_DEFAULT).  Ids out of range are counted in the
 * "policy_credit_bad_rule" counter and otherwise ignored. */
void policy_table_credit(struct policy_table *, uint32_t id,
                         uint64_t packets, uint64_t bytes);

/* Returns the canonical text of 'rule' (without counters, without a
 * newline) as a string the caller frees. */
char *policy_rule_format(const struct policy_rule *rule);

/* Returns the canonical text of the whole table, one rule per line, each
 * prefixed by "n_packets=N,n_bytes=N," when 'stats' is true (then the text
 * is for people, not for policy_parse()).  The caller frees it. */
char *policy_table_format(const struct policy_table *table, bool stats);

/* True if 'a' and 'b' have the same priority, match and actions (ids, lines
 * and counters are not compared). */
bool policy_rule_equal(const struct policy_rule *a,
                       const struct policy_rule *b);

/* True if the rule with 'mask' matches flow 'flow'. */
static inline bool
policy_rule_matches(const struct policy_rule *rule, const struct flow *flow)
{
    return flow_equal_masked(flow, &rule->match, &rule->mask);
}

#endif /* policy.h */
