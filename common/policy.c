/* policy.c — parsing, formatting and bookkeeping of the rule table.
 * See policy.h for the syntax and the representation. */
#include "common/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/counters.h"
#include "common/ds.h"
#include "common/sort.h"

COUNTER_DEFINE(policy_parse_rejected);
COUNTER_DEFINE(policy_credit_bad_rule);

#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_IPV6 0x86dd

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_SCTP_ 132

/* Longest single value token (an address with a mask is ~35 bytes). */
#define MAX_TOKEN 64

/* Match fields, in canonical output order. */
enum field_id {
    F_IN_PORT,
    F_DL_VLAN,
    F_DL_VLAN_PCP,
    F_DL_SRC,
    F_DL_DST,
    F_DL_TYPE,
    F_NW_SRC,
    F_NW_DST,
    F_NW_PROTO,
    F_NW_TOS,
    F_TP_SRC,
    F_TP_DST,
    F_ARP_SHA,
    F_ARP_THA,
    N_FIELDS
};

/* How a field name is spelled in text.  Several names may share a field
 * (nw_src and arp_spa both set nw_src); 'need' says which dl_type family
 * the name implies for error messages and canonical output. */
enum name_kind {
    K_ANY,                      /* No implication. */
    K_IP,                       /* nw_*: IP (or ARP for nw_src/nw_dst). */
    K_ARP,                      /* arp_*. */
    K_ICMP,                     /* icmp_*. */
};

struct field_name {
    const char *name;           /* As written. */
    enum field_id field;        /* What it sets. */
    enum name_kind kind;        /* Which prerequisite family. */
};

static const struct field_name field_names[] = {
    { "in_port", F_IN_PORT, K_ANY },
    { "dl_vlan", F_DL_VLAN, K_ANY },
    { "dl_vlan_pcp", F_DL_VLAN_PCP, K_ANY },
    { "dl_src", F_DL_SRC, K_ANY },
    { "dl_dst", F_DL_DST, K_ANY },
    { "dl_type", F_DL_TYPE, K_ANY },
    { "nw_src", F_NW_SRC, K_IP },
    { "nw_dst", F_NW_DST, K_IP },
    { "nw_proto", F_NW_PROTO, K_IP },
    { "nw_tos", F_NW_TOS, K_IP },
    { "tp_src", F_TP_SRC, K_ANY },
    { "tp_dst", F_TP_DST, K_ANY },
    { "icmp_type", F_TP_SRC, K_ICMP },
    { "icmp_code", F_TP_DST, K_ICMP },
    { "arp_op", F_NW_PROTO, K_ARP },
    { "arp_spa", F_NW_SRC, K_ARP },
    { "arp_tpa", F_NW_DST, K_ARP },
    { "arp_sha", F_ARP_SHA, K_ARP },
    { "arp_tha", F_ARP_THA, K_ARP },
};

/* Protocol shorthands. */
struct shorthand {
    const char *name;           /* "tcp". */
    uint16_t dl_type;           /* Host order. */
    int nw_proto;               /* -1: none. */
};

static const struct shorthand shorthands[] = {
    { "ip", ETH_TYPE_IP, -1 },
    { "ipv6", ETH_TYPE_IPV6, -1 },
    { "arp", ETH_TYPE_ARP, -1 },
    { "tcp", ETH_TYPE_IP, IPPROTO_TCP_ },
    { "udp", ETH_TYPE_IP, IPPROTO_UDP_ },
    { "sctp", ETH_TYPE_IP, IPPROTO_SCTP_ },
    { "icmp", ETH_TYPE_IP, IPPROTO_ICMP_ },
    { "tcp6", ETH_TYPE_IPV6, IPPROTO_TCP_ },
    { "udp6", ETH_TYPE_IPV6, IPPROTO_UDP_ },
    { "sctp6", ETH_TYPE_IPV6, IPPROTO_SCTP_ },
    { "icmp6", ETH_TYPE_IPV6, IPPROTO_ICMPV6_ },
};

/* Where parsing stands: for error messages. */
struct parse_ctx {
    const char *source;         /* Name of the text. */
    unsigned int line;          /* 1-based line number. */
    const char *line_start;     /* First byte of the line. */
    struct errbuf *eb;          /* Destination of the reason. */
};

static int PRINTF_FORMAT(3, 4)
parse_error(const struct parse_ctx *ctx, const char *at, const char *fmt, ...)
{
    char reason[200];
    va_list args;

    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    return errbuf_set(ctx->eb, EINVAL, "%s:%u:%u: %s", ctx->source, ctx->line,
                      (unsigned int) (at - ctx->line_start) + 1, reason);
}

/*
 * Scalars and addresses (the address text forms are common/addr.h's).
 */

/* Parses a decimal or 0x-hexadecimal number no greater than 'max'. */
static bool
parse_number(const char *s, uint64_t max, uint64_t *valuep)
{
    int base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
        if (!*s || *s == 'x' || *s == 'X') {
            return false;
        }
    } else if (s[0] == '0' && s[1]) {
        return false;           /* No octal, no leading zeros. */
    }
    return !str_to_uint(s, base, max, valuep);
}

static bool
parse_mac(const char *s, struct eth_addr *mac)
{
    return !addr_parse_eth(s, mac->ea, NULL);
}

static bool
parse_ipv4(const char *s, ovs_be32 *ip)
{
    return !addr_parse_ipv4(s, ip, NULL);
}

/* Splits "value/mask" at the slash: returns the mask part or NULL. */
static char *
split_mask(char *token)
{
    char *slash = strchr(token, '/');

    if (slash) {
        *slash = '\0';
        return slash + 1;
    }
    return NULL;
}

/*
 * Match fields.
 */

/* What one rule looks like while it is parsed. */
struct rule_draft {
    struct policy_rule rule;                    /* Being filled in. */
    struct policy_action actions[POLICY_MAX_ACTIONS]; /* Its actions. */
    const char *field_at[N_FIELDS];             /* Where each field was set
                                                 * (NULL: not set). */
    const char *field_name[N_FIELDS];           /* Name that set it. */
    enum name_kind field_kind[N_FIELDS];        /* Its family. */
    const char *priority_at;                    /* Where priority was set. */
    bool vlan_none;                             /* dl_vlan=0xffff. */
};

/* Marks 'field' as set by 'name' at 'at'; rejects a second setting. */
static int
draft_claim(struct rule_draft *d, const struct parse_ctx *ctx,
            enum field_id field, const char *name, enum name_kind kind,
            const char *at)
{
    if (d->field_at[field]) {
        return parse_error(ctx, at, "'%s' sets %s again (already set by "
                           "'%s')", name,
                           field == F_DL_TYPE ? "dl_type"
                           : field == F_NW_PROTO ? "nw_proto" : "the field",
                           d->field_name[field]);
    }
    d->field_at[field] = at;
    d->field_name[field] = name;
    d->field_kind[field] = kind;
    return 0;
}

static int
parse_mac_field(const struct parse_ctx *ctx, const char *at, char *value,
                struct eth_addr *match, struct eth_addr *mask)
{
    char *mask_s = split_mask(value);
    struct eth_addr m;

    if (!parse_mac(value, match)) {
        return parse_error(ctx, at, "bad Ethernet address '%s'", value);
    }
    if (mask_s) {
        if (!parse_mac(mask_s, &m)) {
            return parse_error(ctx, at, "bad Ethernet mask '%s'", mask_s);
        }
    } else {
        memset(&m, 0xff, sizeof m);
    }
    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        match->ea[i] &= m.ea[i];
    }
    *mask = m;
    return 0;
}

static int
parse_ipv4_field(const struct parse_ctx *ctx, const char *at, char *value,
                 ovs_be32 *match, ovs_be32 *mask)
{
    char *mask_s = split_mask(value);
    ovs_be32 ip, m;

    if (!parse_ipv4(value, &ip)) {
        return parse_error(ctx, at, "bad IPv4 address '%s'", value);
    }
    if (!mask_s) {
        m = UINT32_MAX;
    } else if (strchr(mask_s, '.')) {
        if (!parse_ipv4(mask_s, &m)) {
            return parse_error(ctx, at, "bad IPv4 mask '%s'", mask_s);
        }
    } else {
        uint64_t len;

        if (!parse_number(mask_s, 32, &len)) {
            return parse_error(ctx, at, "bad prefix length '%s' (0..32)",
                               mask_s);
        }
        m = addr_ipv4_prefix_to_mask((unsigned int) len);
    }
    *match = ip & m;
    *mask = m;
    return 0;
}

static int
parse_u16_field(const struct parse_ctx *ctx, const char *at, const char *name,
                char *value, bool maskable, ovs_be16 *match, ovs_be16 *mask)
{
    char *mask_s = maskable ? split_mask(value) : NULL;
    uint64_t v, m = UINT16_MAX;

    if (!parse_number(value, UINT16_MAX, &v)) {
        return parse_error(ctx, at, "bad value '%s' for %s (0..65535)", value,
                           name);
    }
    if (mask_s && !parse_number(mask_s, UINT16_MAX, &m)) {
        return parse_error(ctx, at, "bad mask '%s' for %s", mask_s, name);
    }
    *match = htons((uint16_t) (v & m));
    *mask = htons((uint16_t) m);
    return 0;
}

static int
parse_u8_value(const struct parse_ctx *ctx, const char *at, const char *name,
               const char *value, uint64_t max, uint64_t *v)
{
    if (!parse_number(value, max, v)) {
        return parse_error(ctx, at, "bad value '%s' for %s (0..%llu)", value,
                           name, (unsigned long long) max);
    }
    return 0;
}

static int
parse_field(struct rule_draft *d, const struct parse_ctx *ctx,
            const struct field_name *fn, const char *at, char *value)
{
    struct flow *match = &d->rule.match;
    struct flow *mask = &d->rule.mask;
    uint64_t v;
    int error;

    error = draft_claim(d, ctx, fn->field, fn->name, fn->kind, at);
    if (error) {
        return error;
    }
    switch (fn->field) {
    case F_IN_PORT:
        if (!parse_number(value, UINT32_MAX - 1, &v)) {
            return parse_error(ctx, at, "bad port number '%s'", value);
        }
        match->in_port = (uint32_t) v;
        mask->in_port = UINT32_MAX;
        return 0;
    case F_DL_SRC:
        return parse_mac_field(ctx, at, value, &match->dl_src, &mask->dl_src);
    case F_DL_DST:
        return parse_mac_field(ctx, at, value, &match->dl_dst, &mask->dl_dst);
    case F_ARP_SHA:
        return parse_mac_field(ctx, at, value, &match->arp_sha,
                               &mask->arp_sha);
    case F_ARP_THA:
        return parse_mac_field(ctx, at, value, &match->arp_tha,
                               &mask->arp_tha);
    case F_DL_VLAN:
        if (!parse_number(value, UINT16_MAX, &v)
            || (v > VLAN_VID_MASK && v != 0xffff)) {
            return parse_error(ctx, at, "bad VLAN id '%s' (0..4095, or "
                               "0xffff for untagged)", value);
        }
        if (v == 0xffff) {
            d->vlan_none = true;
            match->vlan_tci = 0;
            mask->vlan_tci = htons(0xffff);
        } else {
            match->vlan_tci |= htons(VLAN_CFI | (uint16_t) v);
            mask->vlan_tci |= htons(VLAN_CFI | VLAN_VID_MASK);
        }
        return 0;
    case F_DL_VLAN_PCP:
        error = parse_u8_value(ctx, at, fn->name, value, 7, &v);
        if (!error) {
            match->vlan_tci |= htons(VLAN_CFI
                                     | (uint16_t) (v << VLAN_PCP_SHIFT));
            mask->vlan_tci |= htons(VLAN_CFI | VLAN_PCP_MASK);
        }
        return error;
    case F_DL_TYPE:
        if (!parse_number(value, UINT16_MAX, &v)) {
            return parse_error(ctx, at, "bad ethertype '%s'", value);
        }
        match->dl_type = htons((uint16_t) v);
        mask->dl_type = htons(0xffff);
        return 0;
    case F_NW_SRC:
        return parse_ipv4_field(ctx, at, value, &match->nw_src,
                                &mask->nw_src);
    case F_NW_DST:
        return parse_ipv4_field(ctx, at, value, &match->nw_dst,
                                &mask->nw_dst);
    case F_NW_PROTO:
        error = parse_u8_value(ctx, at, fn->name, value, 255, &v);
        if (!error) {
            match->nw_proto = (uint8_t) v;
            mask->nw_proto = 0xff;
        }
        return error;
    case F_NW_TOS:
        error = parse_u8_value(ctx, at, fn->name, value, 255, &v);
        if (!error && (v & 3)) {
            error = parse_error(ctx, at, "nw_tos %s has ECN bits set (use a "
                                "multiple of 4)", value);
        }
        if (!error) {
            match->nw_tos = (uint8_t) v;
            mask->nw_tos = 0xfc;
        }
        return error;
    case F_TP_SRC:
    case F_TP_DST: {
        ovs_be16 *mv = fn->field == F_TP_SRC ? &match->tp_src : &match->tp_dst;
        ovs_be16 *mm = fn->field == F_TP_SRC ? &mask->tp_src : &mask->tp_dst;

        if (fn->kind == K_ICMP) {
            error = parse_u8_value(ctx, at, fn->name, value, 255, &v);
            if (!error) {
                *mv = htons((uint16_t) v);
                *mm = htons(0xffff);
            }
            return error;
        }
        return parse_u16_field(ctx, at, fn->name, value, true, mv, mm);
    }
    case N_FIELDS:
        break;
    }
    abort();
}

/* Checks the prerequisites of every field that was set. */
static int
check_prerequisites(const struct rule_draft *d, const struct parse_ctx *ctx)
{
    const struct flow *m = &d->rule.match;
    bool has_type = d->field_at[F_DL_TYPE] != NULL;
    uint16_t type = has_type ? ntohs(m->dl_type) : 0;
    bool is_ip = has_type && (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6);
    bool is_arp = has_type && type == ETH_TYPE_ARP;
    bool has_proto = d->field_at[F_NW_PROTO] != NULL && is_ip;
    uint8_t proto = m->nw_proto;

    for (int f = 0; f < N_FIELDS; f++) {
        const char *at = d->field_at[f];
        const char *name = d->field_name[f];
        enum name_kind kind = d->field_kind[f];

        if (!at) {
            continue;
        }
        switch ((enum field_id) f) {
        case F_NW_SRC:
        case F_NW_DST:
            if (kind == K_ARP ? !is_arp
                : !(is_arp || (has_type && type == ETH_TYPE_IP))) {
                return parse_error(ctx, at, "%s requires %s", name,
                                   kind == K_ARP ? "arp"
                                   : "ip or arp (dl_type=0x0800 or 0x0806)");
            }
            break;
        case F_NW_PROTO:
            if (kind == K_ARP ? !is_arp : !is_ip) {
                return parse_error(ctx, at, "%s requires %s", name,
                                   kind == K_ARP ? "arp" : "ip or ipv6");
            }
            break;
        case F_NW_TOS:
            if (!is_ip) {
                return parse_error(ctx, at, "%s requires ip or ipv6", name);
            }
            break;
        case F_ARP_SHA:
        case F_ARP_THA:
            if (!is_arp) {
                return parse_error(ctx, at, "%s requires arp", name);
            }
            break;
        case F_TP_SRC:
        case F_TP_DST:
            if (kind == K_ICMP) {
                if (!has_proto
                    || !((type == ETH_TYPE_IP && proto == IPPROTO_ICMP_)
                         || (type == ETH_TYPE_IPV6
                             && proto == IPPROTO_ICMPV6_))) {
                    return parse_error(ctx, at, "%s requires icmp or icmp6",
                                       name);
                }
            } else if (!has_proto
                       || (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_
                           && proto != IPPROTO_SCTP_)) {
                return parse_error(ctx, at, "%s requires tcp, udp or sctp",
                                   name);
            }
            break;
        case F_DL_VLAN_PCP:
            if (d->vlan_none) {
                return parse_error(ctx, at, "dl_vlan_pcp contradicts "
                                   "dl_vlan=0xffff (untagged)");
            }
            break;
        case F_IN_PORT:
        case F_DL_VLAN:
        case F_DL_SRC:
        case F_DL_DST:
        case F_DL_TYPE:
        case N_FIELDS:
            break;
        }
    }
    return 0;
}

/*
 * Actions.
 */

/* True if 'name' is 'lower' in capitals ("NORMAL" for "normal"). */
static bool
is_upper_of(const char *name, const char *lower)
{
    for (; *lower; name++, lower++) {
        if (*name != *lower - 'a' + 'A') {
            return false;
        }
    }
    return !*name;
}

/* Parses one action 'name' with argument 'arg' (NULL if none; for sample
 * the text between the parentheses). */
static int
parse_action(const struct parse_ctx *ctx, const char *at, const char *name,
             const char *arg, bool parens, struct policy_action *a)
{
    uint64_t v;

    memset(a, 0, sizeof *a);
    if (!strcmp(name, "sample")) {
        if (!parens) {
            return parse_error(ctx, at, "sample needs (probability=N)");
        }
        if (strncmp(arg, "probability=", 12)
            || !parse_number(arg + 12, UINT16_MAX, &v) || !v) {
            return parse_error(ctx, at, "bad sample argument '%s' (expected "
                               "probability=1..65535)", arg);
        }
        a->type = POLICY_ACT_SAMPLE;
        a->probability = (uint16_t) v;
        return 0;
    }
    if (parens) {
        return parse_error(ctx, at, "action '%s' takes no parenthesized "
                           "arguments", name);
    }

    static const struct {
        const char *name;               /* Lower case. */
        enum policy_action_type type;   /* What it makes. */
    } bare[] = {
        { "normal", POLICY_ACT_NORMAL },
        { "flood", POLICY_ACT_FLOOD },
        { "drop", POLICY_ACT_DROP },
        { "controller", POLICY_ACT_CONTROLLER },
        { "strip_vlan", POLICY_ACT_STRIP_VLAN },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bare); i++) {
        bool caps_ok = bare[i].type != POLICY_ACT_STRIP_VLAN;

        if (!strcmp(name, bare[i].name)
            || (caps_ok && is_upper_of(name, bare[i].name))) {
            if (arg) {
                return parse_error(ctx, at, "action '%s' takes no argument",
                                   bare[i].name);
            }
            a->type = bare[i].type;
            return 0;
        }
    }

    if (!arg) {
        if (name[0] >= '0' && name[0] <= '9') {
            arg = name;
            name = "output";
        } else {
            static const char *const with_arg[] = {
                "output", "mod_vlan_vid", "mod_dl_src", "mod_dl_dst",
                "mod_nw_src", "mod_nw_dst", "mod_tp_src", "mod_tp_dst",
            };
            for (size_t i = 0; i < ARRAY_SIZE(with_arg); i++) {
                if (!strcmp(name, with_arg[i])) {
                    return parse_error(ctx, at, "action '%s' needs an "
                                       "argument (%s:...)", name, name);
                }
            }
            return parse_error(ctx, at, "unknown action '%s'", name);
        }
    }

    if (!strcmp(name, "output")) {
        if (!parse_number(arg, UINT32_MAX - 1, &v)) {
            return parse_error(ctx, at, "bad output port '%s'", arg);
        }
        a->type = POLICY_ACT_OUTPUT;
        a->port = (uint32_t) v;
    } else if (!strcmp(name, "mod_vlan_vid")) {
        if (!parse_number(arg, VLAN_VID_MASK, &v)) {
            return parse_error(ctx, at, "bad VLAN id '%s' (0..4095)", arg);
        }
        a->type = POLICY_ACT_MOD_VLAN_VID;
        a->vid = (uint16_t) v;
    } else if (!strcmp(name, "mod_dl_src") || !strcmp(name, "mod_dl_dst")) {
        if (!parse_mac(arg, &a->mac)) {
            return parse_error(ctx, at, "bad Ethernet address '%s'", arg);
        }
        a->type = name[7] == 's' ? POLICY_ACT_MOD_DL_SRC
                                 : POLICY_ACT_MOD_DL_DST;
    } else if (!strcmp(name, "mod_nw_src") || !strcmp(name, "mod_nw_dst")) {
        if (!parse_ipv4(arg, &a->ip)) {
            return parse_error(ctx, at, "bad IPv4 address '%s'", arg);
        }
        a->type = name[7] == 's' ? POLICY_ACT_MOD_NW_SRC
                                 : POLICY_ACT_MOD_NW_DST;
    } else if (!strcmp(name, "mod_tp_src") || !strcmp(name, "mod_tp_dst")) {
        if (!parse_number(arg, UINT16_MAX, &v)) {
            return parse_error(ctx, at, "bad transport port '%s'", arg);
        }
        a->type = name[7] == 's' ? POLICY_ACT_MOD_TP_SRC
                                 : POLICY_ACT_MOD_TP_DST;
        a->tp_port = (uint16_t) v;
    } else {
        return parse_error(ctx, at, "unknown action '%s'", name);
    }
    return 0;
}

/* Checks what actions require of the rule's match. */
static int
check_action(const struct rule_draft *d, const struct parse_ctx *ctx,
             const char *at, const struct policy_action *a)
{
    const struct flow *m = &d->rule.match;
    bool has_type = d->field_at[F_DL_TYPE] != NULL;
    uint16_t type = has_type ? ntohs(m->dl_type) : 0;
    bool has_proto = d->field_at[F_NW_PROTO] != NULL
                     && (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6);

    switch (a->type) {
    case POLICY_ACT_MOD_NW_SRC:
    case POLICY_ACT_MOD_NW_DST:
        if (type != ETH_TYPE_IP) {
            return parse_error(ctx, at, "%s requires a rule that matches ip",
                               a->type == POLICY_ACT_MOD_NW_SRC
                               ? "mod_nw_src" : "mod_nw_dst");
        }
        break;
    case POLICY_ACT_MOD_TP_SRC:
    case POLICY_ACT_MOD_TP_DST:
        if (!has_proto || (m->nw_proto != IPPROTO_TCP_
                           && m->nw_proto != IPPROTO_UDP_
                           && m->nw_proto != IPPROTO_SCTP_)) {
            return parse_error(ctx, at, "%s requires a rule that matches "
                               "tcp, udp or sctp",
                               a->type == POLICY_ACT_MOD_TP_SRC
                               ? "mod_tp_src" : "mod_tp_dst");
        }
        break;
    case POLICY_ACT_OUTPUT:
    case POLICY_ACT_NORMAL:
    case POLICY_ACT_FLOOD:
    case POLICY_ACT_DROP:
    case POLICY_ACT_MOD_VLAN_VID:
    case POLICY_ACT_STRIP_VLAN:
    case POLICY_ACT_MOD_DL_SRC:
    case POLICY_ACT_MOD_DL_DST:
    case POLICY_ACT_CONTROLLER:
    case POLICY_ACT_SAMPLE:
        break;
    }
    return 0;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}

/* Copies [start, end) into 'out' (MAX_TOKEN bytes) as a string. */
static int
copy_token(const struct parse_ctx *ctx, const char *start, const char *end,
           char out[MAX_TOKEN])
{
    size_t n = (size_t) (end - start);

    if (n >= MAX_TOKEN) {
        return parse_error(ctx, start, "item too long");
    }
    memcpy(out, start, n);
    out[n] = '\0';
    return 0;
}

/* Parses the action list in [p, end). */
static int
parse_actions(struct rule_draft *d, const struct parse_ctx *ctx,
              const char *p, const char *end)
{
    const char *drop_at = NULL;
    size_t n = 0;

    for (;;) {
        char name[MAX_TOKEN], arg[MAX_TOKEN];
        const char *at, *q;
        bool has_arg = false, parens = false;
        int error;

        while (p < end && is_space(*p)) {
            p++;
        }
        if (p >= end) {
            if (!n) {
                return parse_error(ctx, p, "empty action list (use 'drop' "
                                   "to drop)");
            }
            return parse_error(ctx, p, "action list ends with ','");
        }
        at = p;
        for (q = p; q < end && is_name_char(*q); q++) {
            continue;
        }
        if (q == p) {
            return parse_error(ctx, p, "expected an action name");
        }
        error = copy_token(ctx, p, q, name);
        if (error) {
            return error;
        }
        p = q;
        if (p < end && *p == ':') {
            for (q = ++p; q < end && *q != ',' && !is_space(*q); q++) {
                continue;
            }
            if (q == p) {
                return parse_error(ctx, at, "missing argument after ':'");
            }
            error = copy_token(ctx, p, q, arg);
            if (error) {
                return error;
            }
            has_arg = true;
            p = q;
        } else if (p < end && *p == '(') {
            for (q = ++p; q < end && *q != ')'; q++) {
                continue;
            }
            if (q >= end) {
                return parse_error(ctx, at, "missing ')'");
            }
            error = copy_token(ctx, p, q, arg);
            if (error) {
                return error;
            }
            has_arg = parens = true;
            p = q + 1;
        }
        if (n >= POLICY_MAX_ACTIONS) {
            return parse_error(ctx, at, "more than %d actions",
                               POLICY_MAX_ACTIONS);
        }
        struct policy_action *a = &d->actions[n];
        error = parse_action(ctx, at, name, has_arg ? arg : NULL, parens, a);
        if (!error) {
            error = check_action(d, ctx, at, a);
        }
        if (error) {
            return error;
        }
        if (a->type == POLICY_ACT_DROP) {
            drop_at = at;
        }
        n++;

        while (p < end && is_space(*p)) {
            p++;
        }
        if (p >= end) {
            break;
        }
        if (*p != ',') {
            return parse_error(ctx, p, "expected ',' between actions");
        }
        p++;
    }
    if (drop_at && n > 1) {
        return parse_error(ctx, drop_at, "'drop' must be the only action");
    }
    d->rule.n_actions = n;
    return 0;
}

/* Parses the rule in [p, end) (comment already removed, not blank). */
static int
parse_rule(struct rule_draft *d, const struct parse_ctx *ctx,
           const char *p, const char *end)
{
    memset(d, 0, sizeof *d);
    d->rule.priority = POLICY_DEFAULT_PRIORITY;
    d->rule.line = ctx->line;

    for (;;) {
        char key[MAX_TOKEN], value[MAX_TOKEN];
        const char *at, *q;
        bool has_value = false;
        int error;

        while (p < end && (is_space(*p) || *p == ',')) {
            p++;
        }
        if (p >= end) {
            return parse_error(ctx, p, "rule has no actions");
        }
        at = p;
        for (q = p; q < end && is_name_char(*q); q++) {
            continue;
        }
        if (q == p) {
            return parse_error(ctx, p, "unexpected character '%c'", *p);
        }
        error = copy_token(ctx, p, q, key);
        if (error) {
            return error;
        }
        p = q;
        if (p < end && *p == '=') {
            p++;
            if (!strcmp(key, "actions")) {
                error = parse_actions(d, ctx, p, end);
                if (!error) {
                    error = check_prerequisites(d, ctx);
                }
                return error;
            }
            for (q = p; q < end && *q != ',' && !is_space(*q); q++) {
                continue;
            }
            if (q == p) {
                return parse_error(ctx, at, "missing value for '%s'", key);
            }
            error = copy_token(ctx, p, q, value);
            if (error) {
                return error;
            }
            has_value = true;
            p = q;
        } else if (p < end && !is_space(*p) && *p != ',') {
            return parse_error(ctx, p, "unexpected character '%c'", *p);
        }

        if (!strcmp(key, "actions")) {
            return parse_error(ctx, at, "'actions' needs '='");
        }
        if (!strcmp(key, "priority")) {
            uint64_t v;

            if (d->priority_at) {
                return parse_error(ctx, at, "priority given twice");
            }
            if (!has_value || !parse_number(value, POLICY_MAX_PRIORITY, &v)) {
                return parse_error(ctx, at, "bad priority '%s' (0..65535)",
                                   has_value ? value : "");
            }
            d->priority_at = at;
            d->rule.priority = (uint32_t) v;
            continue;
        }

        const struct shorthand *sh = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(shorthands); i++) {
            if (!strcmp(key, shorthands[i].name)) {
                sh = &shorthands[i];
            }
        }
        if (sh) {
            if (has_value) {
                return parse_error(ctx, at, "'%s' takes no value", key);
            }
            error = draft_claim(d, ctx, F_DL_TYPE, sh->name, K_ANY, at);
            if (error) {
                return error;
            }
            d->rule.match.dl_type = htons(sh->dl_type);
            d->rule.mask.dl_type = htons(0xffff);
            if (sh->nw_proto >= 0) {
                error = draft_claim(d, ctx, F_NW_PROTO, sh->name, K_IP, at);
                if (error) {
                    return error;
                }
                d->rule.match.nw_proto = (uint8_t) sh->nw_proto;
                d->rule.mask.nw_proto = 0xff;
            }
            continue;
        }

        const struct field_name *fn = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(field_names); i++) {
            if (!strcmp(key, field_names[i].name)) {
                fn = &field_names[i];
            }
        }
        if (!fn) {
            return parse_error(ctx, at, "unknown field '%s'", key);
        }
        if (!has_value) {
            return parse_error(ctx, at, "missing value for '%s'", key);
        }
        error = parse_field(d, ctx, fn, at, value);
        if (error) {
            return error;
        }
    }
}

/* Lookup order: priority descending, then text order. */
static int
compare_rules(const void *a_, const void *b_)
{
    const struct policy_rule *a = a_;
    const struct policy_rule *b = b_;

    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    return a->id < b->id ? -1 : a->id > b->id;
}

struct policy_table *
policy_table_create_empty(uint64_t generation)
{
    struct policy_table *t = xzalloc(sizeof *t);

    t->generation = generation;
    return t;
}

void
policy_table_destroy(struct policy_table *table)
{
    if (table) {
        for (size_t i = 0; i < table->n_rules; i++) {
            free(table->rules[i].actions);
        }
        free(table->rules);
        free(table);
    }
}

int
policy_parse(const char *text, size_t len, const char *source,
             uint64_t generation, struct policy_table **tablep,
             struct errbuf *eb)
{
    struct policy_table *t = policy_table_create_empty(generation);
    struct rule_draft *d = xmalloc(sizeof *d);
    size_t allocated = 0;
    const char *p = text, *end = text + len;
    struct parse_ctx ctx = { .source = source, .line = 0, .eb = eb };
    int error = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t) (end - p));
        const char *line_end = eol ? eol : end;
        const char *nul = memchr(p, '\0', (size_t) (line_end - p));
        const char *hash = memchr(p, '#', (size_t) (line_end - p));
        const char *q;

        ctx.line++;
        ctx.line_start = p;
        if (nul && (!hash || nul < hash)) {
            error = parse_error(&ctx, nul, "NUL byte in rule text");
            break;
        }
        if (hash) {
            line_end = hash;
        }
        for (q = p; q < line_end && (is_space(*q) || *q == ','); q++) {
            continue;
        }
        if (q < line_end) {
            if (t->n_rules >= POLICY_MAX_RULES) {
                error = errbuf_set(eb, E2BIG, "%s:%u:1: more than %d rules",
                                   source, ctx.line, POLICY_MAX_RULES);
                break;
            }
            error = parse_rule(d, &ctx, q, line_end);
            if (error) {
                break;
            }
            if (t->n_rules >= allocated) {
                allocated = allocated ? allocated * 2 : 16;
                t->rules = xrealloc(t->rules, allocated * sizeof *t->rules);
            }
            struct policy_rule *r = &t->rules[t->n_rules++];
            *r = d->rule;
            r->id = (uint32_t) t->n_rules;
            r->actions = xmemdup(d->actions,
                                 r->n_actions * sizeof *r->actions);
        }
        p = eol ? eol + 1 : end;
    }
    free(d);

    if (error) {
        COUNTER_INC(policy_parse_rejected);
        policy_table_destroy(t);
        return error;
    }
    if (t->n_rules) {
        sort_array(t->rules, t->n_rules, sizeof *t->rules, compare_rules);
    }
    for (size_t i = 0; i < t->n_rules; i++) {
        t->rules[i].id = (uint32_t) i + 1;
    }
    *tablep = t;
    return 0;
}

const struct policy_rule *
policy_table_get_rule(const struct policy_table *t, uint32_t id)
{
    return id >= 1 && id <= t->n_rules ? &t->rules[id - 1] : NULL;
}

void
policy_table_credit(struct policy_table *t, uint32_t id, uint64_t packets,
                    uint64_t bytes)
{
    if (id == POLICY_RULE_DEFAULT) {
        t->default_packets += packets;
        t->default_bytes += bytes;
    } else if (id <= t->n_rules) {
        t->rules[id - 1].n_packets += packets;
        t->rules[id - 1].n_bytes += bytes;
    } else {
        COUNTER_INC(policy_credit_bad_rule);
    }
}

bool
policy_rule_equal(const struct policy_rule *a, const struct policy_rule *b)
{
    return a->priority == b->priority
           && !memcmp(&a->match, &b->match, sizeof a->match)
           && !memcmp(&a->mask, &b->mask, sizeof a->mask)
           && a->n_actions == b->n_actions
           && !memcmp(a->actions, b->actions,
                      a->n_actions * sizeof *a->actions);
}

/*
 * Formatting.
 */

static void
put_mac_field(struct ds *t, const char *name, struct eth_addr v,
              struct eth_addr m)
{
    static const struct eth_addr ones = { { 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff } };

    if (eth_addr_is_zero(m)) {
        return;
    }
    ds_put_format(t, ",%s=", name);
    addr_format_eth(t, v.ea);
    if (!eth_addr_equals(m, ones)) {
        ds_put_char(t, '/');
        addr_format_eth(t, m.ea);
    }
}

static void
put_ipv4_field(struct ds *t, const char *name, ovs_be32 v, ovs_be32 m)
{
    if (m) {
        ds_put_format(t, ",%s=", name);
        addr_format_ipv4_masked(t, v, m);
    }
}

static void
put_tp_field(struct ds *t, const char *name, ovs_be16 v, ovs_be16 m)
{
    if (!m) {
        return;
    }
    if (m == htons(0xffff)) {
        ds_put_format(t, ",%s=%u", name, ntohs(v));
    } else {
        ds_put_format(t, ",%s=0x%x/0x%x", name, ntohs(v), ntohs(m));
    }
}

static void
put_action(struct ds *t, const struct policy_action *a)
{
    switch (a->type) {
    case POLICY_ACT_OUTPUT:
        ds_put_format(t, "output:%u", a->port);
        break;
    case POLICY_ACT_NORMAL:
        ds_put_format(t, "normal");
        break;
    case POLICY_ACT_FLOOD:
        ds_put_format(t, "flood");
        break;
    case POLICY_ACT_DROP:
        ds_put_format(t, "drop");
        break;
    case POLICY_ACT_MOD_VLAN_VID:
        ds_put_format(t, "mod_vlan_vid:%u", a->vid);
        break;
    case POLICY_ACT_STRIP_VLAN:
        ds_put_format(t, "strip_vlan");
        break;
    case POLICY_ACT_MOD_DL_SRC:
    case POLICY_ACT_MOD_DL_DST:
        ds_put_format(t, "mod_dl_%s:",
                      a->type == POLICY_ACT_MOD_DL_SRC ? "src" : "dst");
        addr_format_eth(t, a->mac.ea);
        break;
    case POLICY_ACT_MOD_NW_SRC:
    case POLICY_ACT_MOD_NW_DST:
        ds_put_format(t, "mod_nw_%s:",
                      a->type == POLICY_ACT_MOD_NW_SRC ? "src" : "dst");
        addr_format_ipv4(t, a->ip);
        break;
    case POLICY_ACT_MOD_TP_SRC:
    case POLICY_ACT_MOD_TP_DST:
        ds_put_format(t, "mod_tp_%s:%u",
                      a->type == POLICY_ACT_MOD_TP_SRC ? "src" : "dst",
                      a->tp_port);
        break;
    case POLICY_ACT_CONTROLLER:
        ds_put_format(t, "controller");
        break;
    case POLICY_ACT_SAMPLE:
        ds_put_format(t, "sample(probability=%u)", a->probability);
        break;
    }
}

static void
put_rule(struct ds *t, const struct policy_rule *r)
{
    const struct flow *v = &r->match, *m = &r->mask;
    uint16_t type = ntohs(v->dl_type);
    bool is_arp = m->dl_type && type == ETH_TYPE_ARP;
    bool is_ip = m->dl_type && (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6);
    bool proto_done = false, icmp = false;

    ds_put_format(t, "priority=%u", r->priority);
    if (m->dl_type) {
        const char *name = NULL;

        for (size_t i = 0; i < ARRAY_SIZE(shorthands); i++) {
            const struct shorthand *sh = &shorthands[i];

            if (sh->dl_type != type) {
                continue;
            }
            if (sh->nw_proto < 0 && !name) {
                name = sh->name;
            } else if (sh->nw_proto >= 0 && is_ip && m->nw_proto
                       && v->nw_proto == sh->nw_proto) {
                name = sh->name;
                proto_done = true;
                icmp = sh->nw_proto == IPPROTO_ICMP_
                       || sh->nw_proto == IPPROTO_ICMPV6_;
                break;
            }
        }
        if (name) {
            ds_put_format(t, ",%s", name);
        } else {
            ds_put_format(t, ",dl_type=0x%04x", type);
        }
    }
    if (m->in_port) {
        ds_put_format(t, ",in_port=%u", v->in_port);
    }
    if (m->vlan_tci == htons(0xffff) && !v->vlan_tci) {
        ds_put_format(t, ",dl_vlan=0xffff");
    } else {
        if (m->vlan_tci & htons(VLAN_VID_MASK)) {
            ds_put_format(t, ",dl_vlan=%u",
                          ntohs(v->vlan_tci) & VLAN_VID_MASK);
        }
        if (m->vlan_tci & htons(VLAN_PCP_MASK)) {
            ds_put_format(t, ",dl_vlan_pcp=%u",
                          (ntohs(v->vlan_tci) & VLAN_PCP_MASK)
                          >> VLAN_PCP_SHIFT);
        }
    }
    put_mac_field(t, "dl_src", v->dl_src, m->dl_src);
    put_mac_field(t, "dl_dst", v->dl_dst, m->dl_dst);
    put_ipv4_field(t, is_arp ? "arp_spa" : "nw_src", v->nw_src, m->nw_src);
    put_ipv4_field(t, is_arp ? "arp_tpa" : "nw_dst", v->nw_dst, m->nw_dst);
    if (m->nw_proto && !proto_done) {
        ds_put_format(t, ",%s=%u", is_arp ? "arp_op" : "nw_proto",
                      v->nw_proto);
    }
    if (m->nw_tos) {
        ds_put_format(t, ",nw_tos=%u", v->nw_tos);
    }
    if (icmp) {
        if (m->tp_src) {
            ds_put_format(t, ",icmp_type=%u", ntohs(v->tp_src));
        }
        if (m->tp_dst) {
            ds_put_format(t, ",icmp_code=%u", ntohs(v->tp_dst));
        }
    } else {
        put_tp_field(t, "tp_src", v->tp_src, m->tp_src);
        put_tp_field(t, "tp_dst", v->tp_dst, m->tp_dst);
    }
    put_mac_field(t, "arp_sha", v->arp_sha, m->arp_sha);
    put_mac_field(t, "arp_tha", v->arp_tha, m->arp_tha);

    ds_put_format(t, ",actions=");
    for (size_t i = 0; i < r->n_actions; i++) {
        if (i) {
            ds_put_format(t, ",");
        }
        put_action(t, &r->actions[i]);
    }
}

char *
policy_rule_format(const struct policy_rule *rule)
{
    struct ds t = DS_EMPTY_INITIALIZER;

    put_rule(&t, rule);
    return ds_steal_cstr(&t);
}

char *
policy_table_format(const struct policy_table *table, bool stats)
{
    struct ds t = DS_EMPTY_INITIALIZER;

    for (size_t i = 0; i < table->n_rules; i++) {
        const struct policy_rule *r = &table->rules[i];

        if (stats) {
            ds_put_format(&t, "n_packets=%llu,n_bytes=%llu,",
                          (unsigned long long) r->n_packets,
                          (unsigned long long) r->n_bytes);
        }
        put_rule(&t, r);
        ds_put_format(&t, "\n");
    }
    if (stats) {
        ds_put_format(&t, "n_packets=%llu,n_bytes=%llu,(default),"
                      "actions=normal\n",
                      (unsigned long long) table->default_packets,
                      (unsigned long long) table->default_bytes);
    }
    return ds_steal_cstr(&t);
}
