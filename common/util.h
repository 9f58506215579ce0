/*
 * util.h — small helpers every dpifd process uses.
 *
 * Conventions of the whole code base, stated once here:
 *
 *   - Functions that can fail return 0 on success or a positive errno value.
 *     Predicates return bool.  Output parameters come last and are written
 *     only on success unless the function's comment says otherwise.
 *   - A "struct errbuf" carries a human-readable reason next to an errno
 *     return.  Every function that takes one accepts NULL.
 *   - Multi-byte protocol fields are kept in network byte order in the types
 *     ovs_be16/ovs_be32/ovs_be64 (plain integers, named for the reader).
 */
#ifndef DPIF_UTIL_H
#define DPIF_UTIL_H 1

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint16_t ovs_be16;
typedef uint32_t ovs_be32;
typedef uint64_t ovs_be64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ROUND_UP(x, y) (((x) + (y) - 1) / (y) * (y))
#define CONTAINER_OF(ptr, type, member) \
    ((type *) (void *) ((char *) (ptr) - offsetof(type, member)))

#define PRINTF_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#define NO_RETURN __attribute__((noreturn))
#define WARN_UNUSED __attribute__((warn_unused_result))

/* A reason that accompanies a positive errno return. */
struct errbuf {
    char msg[256];
};

/* Formats a reason into 'eb' (which may be NULL).  Always returns 'error', so
 * that "return errbuf_set(eb, EINVAL, "...")" reads naturally. */
int errbuf_set(struct errbuf *eb, int error, const char *fmt, ...)
    PRINTF_FORMAT(3, 4);

/* Prefixes the reason already in 'eb' (which may be NULL) with 'fmt'. */
void errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
    PRINTF_FORMAT(2, 3);

/* Allocation that aborts the process on exhaustion: a daemon that cannot
 * allocate a few bytes cannot do anything sensible, and supervision restarts
 * it.  Never use these for sizes that come from another process without
 * bounding them first. */
void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t size);
char *xasprintf(const char *fmt, ...) PRINTF_FORMAT(1, 2);

/* Hex encoding of 'n' bytes into 'out' (which needs 2n+1 bytes). */
void hex_encode(const void *data, size_t n, char *out);
/* Decodes the hex string 's' (even length, optional spaces between bytes) into
 * a newly malloc'ed buffer stored in '*datap' with its size in '*np'.  The
 * caller owns '*datap'.  Returns EINVAL on a malformed string. */
int hex_decode(const char *s, uint8_t **datap, size_t *np);

/* Parses an unsigned integer (decimal, or hex with 0x) no greater than 'max'.
 * Returns 0 or EINVAL/ERANGE. */
int str_to_uint(const char *s, int base, uint64_t max, uint64_t *valuep);

#endif /* util.h */
