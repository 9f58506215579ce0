/*
 * nl.h — netlink attributes: building streams and parsing them strictly.
 *
 * Overview
 * ========
 *
 * A netlink attribute ("struct nlattr" of <linux/netlink.h>) is a 4-byte
 * header (length including the header, type) followed by its payload, padded
 * to 4 bytes.  Flow keys, masks and actions are streams of attributes, some
 * nested.  libmnl provides the primitives on complete messages; this module
 * adds what dpifd needs on bare attribute streams:
 *
 *   - building: nl_put_*() append one attribute to a "struct buf";
 *     nl_nest_start()/nl_nest_end() wrap a nested stream.
 *
 *   - parsing with a declarative policy: a table indexed by attribute type
 *     that says what each type may be (the style of the kernel's
 *     flow_netlink.c and systemd's netlink-types):
 *
 *         static const struct nl_policy ovs_dp_policy[] = {
 *             [OVS_DP_ATTR_NAME] = { .type = NL_A_STRING, .max_len = 16 },
 *             [OVS_DP_ATTR_STATS] = { .type = NL_A_UNSPEC,
 *                                     .min_len = sizeof(struct ovs_dp_stats),
 *                                     .max_len = sizeof(struct ovs_dp_stats),
 *                                     .optional = true },
 *         };
 *
 *     nl_parse_attrs() is strict: an attribute type outside the table or
 *     without a policy entry, a type seen twice, a payload of the wrong
 *     length, a string without its NUL, a truncated attribute or trailing
 *     bytes that do not form an attribute are all errors, each with a reason.
 *     Nested attributes with a 'nested' policy are checked recursively up to
 *     NL_MAX_DEPTH levels.
 *
 * Byte order: NL_A_U16/U32/U64 are host order (netlink's own convention);
 * NL_A_BE16/BE32/BE64 network order.  Payloads may be only 4-byte aligned:
 * the getters copy, never cast.
 *
 * Alignment: a stream must start 4-byte aligned (copy it out of a
 * protobuf field or a ring first); the parser rejects a misaligned one.
 *
 * Sizes: nla_len is 16 bits, so a payload or a nest holds at most 65531
 * bytes; building more aborts, so callers bound what they append.
 *
 * Ownership: parsing never copies; the pointers stored in the output array
 * point into the caller's stream and are valid as long as it is.
 */
#ifndef DPIF_NL_H
#define DPIF_NL_H 1

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/util.h"

#define NL_MAX_DEPTH 8          /* Deepest nesting the parser follows. */

/* What an attribute's payload is. */
enum nl_attr_type {
    NL_A_NO_ATTR = 0,           /* No such attribute (an unused slot). */
    NL_A_UNSPEC,                /* Bytes; length in [min_len, max_len]. */
    NL_A_U8,                    /* 1 byte. */
    NL_A_U16,                   /* 2 bytes, host order. */
    NL_A_U32,                   /* 4 bytes, host order. */
    NL_A_U64,                   /* 8 bytes, host order. */
    NL_A_BE16,                  /* 2 bytes, network order. */
    NL_A_BE32,                  /* 4 bytes, network order. */
    NL_A_BE64,                  /* 8 bytes, network order. */
    NL_A_FLAG,                  /* No payload. */
    NL_A_STRING,                /* NUL-terminated; NUL counts in max_len. */
    NL_A_NESTED,                /* A stream of attributes. */
};

/* The policy for one attribute type. */
struct nl_policy {
    enum nl_attr_type type;     /* NL_A_NO_ATTR: type not allowed. */
    size_t min_len;             /* UNSPEC, STRING, NESTED: minimum payload. */
    size_t max_len;             /* UNSPEC, STRING, NESTED: maximum; 0 = any. */
    bool optional;              /* May be absent. */
    const struct nl_policy *nested; /* NESTED: policy of the contents, or NULL
                                     * to leave them to the caller. */
    size_t n_nested;            /* Number of entries in 'nested'. */
};

/* Attribute accessors (payload is right after the header). */
static inline uint16_t nl_attr_type(const struct nlattr *a)
{
    return a->nla_type & NLA_TYPE_MASK;
}
static inline const void *nl_attr_get(const struct nlattr *a)
{
    return (const char *) a + NLA_HDRLEN;
}
static inline size_t nl_attr_get_size(const struct nlattr *a)
{
    return a->nla_len - NLA_HDRLEN;
}
uint8_t nl_attr_get_u8(const struct nlattr *);
uint16_t nl_attr_get_u16(const struct nlattr *);
uint32_t nl_attr_get_u32(const struct nlattr *);
uint64_t nl_attr_get_u64(const struct nlattr *);
const char *nl_attr_get_string(const struct nlattr *);
#define nl_attr_get_be16 nl_attr_get_u16  /* Same bytes; caller ntohs(). */
#define nl_attr_get_be32 nl_attr_get_u32
#define nl_attr_get_be64 nl_attr_get_u64

/* Iterates over a stream known to be well formed (already parsed or built
 * by us): 'left' counts down the remaining bytes. */
#define NL_ATTR_FOR_EACH(ITER, LEFT, ATTRS, ATTRS_LEN)                     \
    for ((ITER) = (ATTRS), (LEFT) = (ATTRS_LEN);                          \
         nl_attr_is_valid(ITER, LEFT);                                     \
         (LEFT) -= nl_attr_step(ITER, LEFT),                               \
         (ITER) = nl_attr_next(ITER))
bool nl_attr_is_valid(const struct nlattr *, size_t left);
/* Bytes that 'a' occupies in a stream with 'left' bytes remaining: its
 * aligned length, or 'left' when the last attribute omits its padding. */
static inline size_t nl_attr_step(const struct nlattr *a, size_t left)
{
    size_t step = (size_t) NLA_ALIGN(a->nla_len);
    return step > left ? left : step;
}
const struct nlattr *nl_attr_next(const struct nlattr *);

/* Checks the structure of a whole stream (no truncated attribute, no
 * trailing bytes) without a policy. */
int nl_check_stream(const void *attrs, size_t len, struct errbuf *);

/* Parses the stream 'attrs'/'len' with 'policy' (n_policy entries).  On
 * success out[type] points at each attribute present and is NULL for those
 * absent ('out' has n_policy slots).  Returns 0 or EINVAL with the reason in
 * 'eb'. */
int nl_parse_attrs(const void *attrs, size_t len,
                   const struct nl_policy policy[], size_t n_policy,
                   const struct nlattr *out[], struct errbuf *eb);

/* Same, for the payload of the nested attribute 'nested'. */
int nl_parse_nested(const struct nlattr *nested,
                    const struct nl_policy policy[], size_t n_policy,
                    const struct nlattr *out[], struct errbuf *eb);

/* Checks one attribute against one policy entry (length, type), recursing
 * into nested policies.  'depth' counts nesting so far. */
int nl_attr_check(const struct nlattr *, const struct nl_policy *,
                  int depth, struct errbuf *);

/* Building.  Each appends one attribute, padded to 4 bytes, and returns a
 * pointer to its payload (valid until the buffer grows). */
void *nl_put_attr(struct buf *, uint16_t type, const void *data, size_t len);
void *nl_put_uninit(struct buf *, uint16_t type, size_t len);
void nl_put_flag(struct buf *, uint16_t type);
void nl_put_u8(struct buf *, uint16_t type, uint8_t);
void nl_put_u16(struct buf *, uint16_t type, uint16_t);
void nl_put_u32(struct buf *, uint16_t type, uint32_t);
void nl_put_u64(struct buf *, uint16_t type, uint64_t);
void nl_put_be16(struct buf *, uint16_t type, ovs_be16);
void nl_put_be32(struct buf *, uint16_t type, ovs_be32);
void nl_put_be64(struct buf *, uint16_t type, ovs_be64);
void nl_put_string(struct buf *, uint16_t type, const char *);

/* Starts a nested attribute; returns the offset to give nl_nest_end(), which
 * fixes up the length once the contents are appended. */
size_t nl_nest_start(struct buf *, uint16_t type);
void nl_nest_end(struct buf *, size_t offset);
/* Like nl_nest_end(), but removes the nest again if it ended up empty. */
void nl_nest_end_or_drop_empty(struct buf *, size_t offset);

/* Finds the first attribute of 'type' in a well-formed stream, or NULL. */
const struct nlattr *nl_find_attr(const void *attrs, size_t len,
                                  uint16_t type);

#endif /* nl.h */
