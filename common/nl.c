#include "common/nl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint8_t
nl_attr_get_u8(const struct nlattr *a)
{
    return *(const uint8_t *) nl_attr_get(a);
}

uint16_t
nl_attr_get_u16(const struct nlattr *a)
{
    uint16_t v;
    memcpy(&v, nl_attr_get(a), sizeof v);
    return v;
}

uint32_t
nl_attr_get_u32(const struct nlattr *a)
{
    uint32_t v;
    memcpy(&v, nl_attr_get(a), sizeof v);
    return v;
}

uint64_t
nl_attr_get_u64(const struct nlattr *a)
{
    uint64_t v;
    memcpy(&v, nl_attr_get(a), sizeof v);
    return v;
}

const char *
nl_attr_get_string(const struct nlattr *a)
{
    return nl_attr_get(a);
}

bool
nl_attr_is_valid(const struct nlattr *a, size_t left)
{
    return left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN
           && a->nla_len <= left;
}

const struct nlattr *
nl_attr_next(const struct nlattr *a)
{
    return (const struct nlattr *) (const void *)
           ((const char *) a + NLA_ALIGN(a->nla_len));
}

/* Walks 'attrs' checking only the framing.  Calls 'cb' for each attribute;
 * stops at the first nonzero return. */
static int
nl_walk(const void *attrs, size_t len, struct errbuf *eb,
        int (*cb)(const struct nlattr *, void *aux), void *aux)
{
    const uint8_t *p = attrs;
    size_t left = len;

    while (left) {
        struct nlattr a;
        if (left < NLA_HDRLEN) {
            return errbuf_set(eb, EINVAL,
                              "%zu trailing bytes after the last attribute",
                              left);
        }
        memcpy(&a, p, sizeof a);
        if (a.nla_len < NLA_HDRLEN) {
            return errbuf_set(eb, EINVAL,
                              "attribute type %u has length %u, shorter than "
                              "its header", a.nla_type & NLA_TYPE_MASK,
                              a.nla_len);
        }
        if (a.nla_len > left) {
            return errbuf_set(eb, EINVAL,
                              "attribute type %u has length %u but %zu bytes "
                              "remain", a.nla_type & NLA_TYPE_MASK,
                              a.nla_len, left);
        }
        if ((uintptr_t) p % NLA_ALIGNTO) {
            return errbuf_set(eb, EINVAL, "misaligned attribute stream");
        }
        int error = cb ? cb((const struct nlattr *) (const void *) p, aux) : 0;
        if (error) {
            return error;
        }
        size_t step = NLA_ALIGN(a.nla_len);
        if (step > left) {
            /* The last attribute may omit its padding. */
            step = left;
        }
        p += step;
        left -= step;
    }
    return 0;
}

int
nl_check_stream(const void *attrs, size_t len, struct errbuf *eb)
{
    return nl_walk(attrs, len, eb, NULL, NULL);
}

static const char *
nl_type_name(enum nl_attr_type t)
{
    switch (t) {
    case NL_A_NO_ATTR: return "none";
    case NL_A_UNSPEC: return "binary";
    case NL_A_U8: return "u8";
    case NL_A_U16: return "u16";
    case NL_A_U32: return "u32";
    case NL_A_U64: return "u64";
    case NL_A_BE16: return "be16";
    case NL_A_BE32: return "be32";
    case NL_A_BE64: return "be64";
    case NL_A_FLAG: return "flag";
    case NL_A_STRING: return "string";
    case NL_A_NESTED: return "nested";
    }
    return "?";
}

static size_t
nl_fixed_len(enum nl_attr_type t)
{
    switch (t) {
    case NL_A_U8: return 1;
    case NL_A_U16: case NL_A_BE16: return 2;
    case NL_A_U32: case NL_A_BE32: return 4;
    case NL_A_U64: case NL_A_BE64: return 8;
    case NL_A_FLAG: return 0;
    default: return SIZE_MAX;
    }
}

static int nl_parse_attrs__(const void *attrs, size_t len,
                            const struct nl_policy policy[], size_t n_policy,
                            const struct nlattr *out[], int depth,
                            struct errbuf *eb);

int
nl_attr_check(const struct nlattr *a, const struct nl_policy *p, int depth,
              struct errbuf *eb)
{
    uint16_t type = nl_attr_type(a);
    size_t len = nl_attr_get_size(a);
    size_t fixed = nl_fixed_len(p->type);

    if (fixed != SIZE_MAX) {
        if (len != fixed) {
            return errbuf_set(eb, EINVAL,
                              "attribute type %u (%s) has %zu bytes, "
                              "expected %zu", type, nl_type_name(p->type),
                              len, fixed);
        }
        return 0;
    }
    if (len < p->min_len || (p->max_len && len > p->max_len)) {
        if (p->max_len == p->min_len) {
            return errbuf_set(eb, EINVAL,
                              "attribute type %u has %zu bytes, expected %zu",
                              type, len, p->min_len);
        }
        if (!p->max_len) {
            return errbuf_set(eb, EINVAL,
                              "attribute type %u has %zu bytes, at least %zu "
                              "expected", type, len, p->min_len);
        }
        return errbuf_set(eb, EINVAL,
                          "attribute type %u has %zu bytes, outside [%zu, %zu]",
                          type, len, p->min_len, p->max_len);
    }
    if (p->type == NL_A_STRING) {
        const char *s = nl_attr_get(a);
        if (!len || memchr(s, '\0', len) != s + len - 1) {
            return errbuf_set(eb, EINVAL,
                              "attribute type %u is not a NUL-terminated "
                              "string", type);
        }
    } else if (p->type == NL_A_NESTED && p->nested) {
        if (depth >= NL_MAX_DEPTH) {
            return errbuf_set(eb, EINVAL, "attributes nested deeper than %d",
                              NL_MAX_DEPTH);
        }
        const struct nlattr *inner[64];
        if (p->n_nested > ARRAY_SIZE(inner)) {
            return errbuf_set(eb, EINVAL, "nested policy too large");
        }
        int error = nl_parse_attrs__(nl_attr_get(a), len, p->nested,
                                     p->n_nested, inner, depth + 1, eb);
        if (error) {
            errbuf_prefix(eb, "in nested attribute type %u: ", type);
            return error;
        }
    }
    return 0;
}

struct parse_ctx {
    const struct nl_policy *policy; /* Policy indexed by attribute type. */
    size_t n_policy;                /* Entries in 'policy' and 'out'. */
    const struct nlattr **out;      /* Attributes found, by type. */
    int depth;                      /* Nesting level of this stream. */
    struct errbuf *eb;              /* Reason on error (may be NULL). */
};

static int
parse_one(const struct nlattr *a, void *ctx_)
{
    struct parse_ctx *ctx = ctx_;
    uint16_t type = nl_attr_type(a);

    if (type >= ctx->n_policy || ctx->policy[type].type == NL_A_NO_ATTR) {
        return errbuf_set(ctx->eb, EINVAL, "unknown attribute type %u", type);
    }
    if (ctx->out[type]) {
        return errbuf_set(ctx->eb, EINVAL, "duplicate attribute type %u",
                          type);
    }
    int error = nl_attr_check(a, &ctx->policy[type], ctx->depth, ctx->eb);
    if (error) {
        return error;
    }
    ctx->out[type] = a;
    return 0;
}

/* Parses a stream found at nesting level 'depth' (0 for the outermost). */
static int
nl_parse_attrs__(const void *attrs, size_t len,
                 const struct nl_policy policy[], size_t n_policy,
                 const struct nlattr *out[], int depth, struct errbuf *eb)
{
    struct parse_ctx ctx = { policy, n_policy, out, depth, eb };

    memset(out, 0, n_policy * sizeof *out);
    int error = nl_walk(attrs, len, eb, parse_one, &ctx);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < n_policy; i++) {
        if (policy[i].type != NL_A_NO_ATTR && !policy[i].optional
            && !out[i]) {
            return errbuf_set(eb, EINVAL,
                              "required attribute type %zu is missing", i);
        }
    }
    return 0;
}

int
nl_parse_attrs(const void *attrs, size_t len,
               const struct nl_policy policy[], size_t n_policy,
               const struct nlattr *out[], struct errbuf *eb)
{
    return nl_parse_attrs__(attrs, len, policy, n_policy, out, 0, eb);
}

int
nl_parse_nested(const struct nlattr *nested,
                const struct nl_policy policy[], size_t n_policy,
                const struct nlattr *out[], struct errbuf *eb)
{
    return nl_parse_attrs(nl_attr_get(nested), nl_attr_get_size(nested),
                          policy, n_policy, out, eb);
}

void *
nl_put_uninit(struct buf *b, uint16_t type, size_t len)
{
    if (len > UINT16_MAX - NLA_HDRLEN) {
        abort();                /* Caller failed to bound the payload. */
    }
    size_t total = NLA_ALIGN(NLA_HDRLEN + len);
    uint8_t *p = buf_put_zeros(b, total);
    struct nlattr a = { .nla_len = (uint16_t) (NLA_HDRLEN + len),
                        .nla_type = type };

    memcpy(p, &a, sizeof a);
    return p + NLA_HDRLEN;
}

void *
nl_put_attr(struct buf *b, uint16_t type, const void *data, size_t len)
{
    void *p = nl_put_uninit(b, type, len);
    if (len) {
        memcpy(p, data, len);
    }
    return p;
}

void
nl_put_flag(struct buf *b, uint16_t type)
{
    nl_put_uninit(b, type, 0);
}

void
nl_put_u8(struct buf *b, uint16_t type, uint8_t v)
{
    nl_put_attr(b, type, &v, sizeof v);
}

void
nl_put_u16(struct buf *b, uint16_t type, uint16_t v)
{
    nl_put_attr(b, type, &v, sizeof v);
}

void
nl_put_u32(struct buf *b, uint16_t type, uint32_t v)
{
    nl_put_attr(b, type, &v, sizeof v);
}

void
nl_put_u64(struct buf *b, uint16_t type, uint64_t v)
{
    nl_put_attr(b, type, &v, sizeof v);
}

void
nl_put_be16(struct buf *b, uint16_t type, ovs_be16 v)
{
    nl_put_u16(b, type, v);
}

void
nl_put_be32(struct buf *b, uint16_t type, ovs_be32 v)
{
    nl_put_u32(b, type, v);
}

void
nl_put_be64(struct buf *b, uint16_t type, ovs_be64 v)
{
    nl_put_u64(b, type, v);
}

void
nl_put_string(struct buf *b, uint16_t type, const char *s)
{
    nl_put_attr(b, type, s, strlen(s) + 1);
}

size_t
nl_nest_start(struct buf *b, uint16_t type)
{
    size_t offset = b->size;
    nl_put_uninit(b, type, 0);
    return offset;
}

void
nl_nest_end(struct buf *b, size_t offset)
{
    struct nlattr a;

    memcpy(&a, b->data + offset, sizeof a);
    if (b->size - offset > UINT16_MAX) {
        abort();                /* Caller failed to bound the contents. */
    }
    a.nla_len = (uint16_t) (b->size - offset);
    memcpy(b->data + offset, &a, sizeof a);
}

void
nl_nest_end_or_drop_empty(struct buf *b, size_t offset)
{
    if (b->size - offset == NLA_HDRLEN) {
        b->size = offset;
    } else {
        nl_nest_end(b, offset);
    }
}

const struct nlattr *
nl_find_attr(const void *attrs, size_t len, uint16_t type)
{
    const struct nlattr *a;
    size_t left;

    NL_ATTR_FOR_EACH (a, left, (const struct nlattr *) attrs, len) {
        if (nl_attr_type(a) == type) {
            return a;
        }
    }
    return NULL;
}
