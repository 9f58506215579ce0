#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
errbuf_set(struct errbuf *eb, int error, const char *fmt, ...)
{
    if (eb) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, args);
        va_end(args);
    }
    return error;
}

void
errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
    if (!eb) {
        return;
    }
    char old[sizeof eb->msg];
    va_list args;

    memcpy(old, eb->msg, sizeof old);
    va_start(args, fmt);
    int n = vsnprintf(eb->msg, sizeof eb->msg, fmt, args);
    va_end(args);
    size_t used = n < 0 ? 0 : MIN((size_t) n, sizeof eb->msg - 1);
    size_t room = sizeof eb->msg - 1 - used;
    size_t old_len = strnlen(old, sizeof old - 1);
    memcpy(eb->msg + used, old, MIN(room, old_len));
    eb->msg[used + MIN(room, old_len)] = '\0';
}

static void *
check_alloc(void *p)
{
    if (!p) {
        fputs("dpifd: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *
xmalloc(size_t size)
{
    return check_alloc(malloc(size ? size : 1));
}

void *
xzalloc(size_t size)
{
    return check_alloc(calloc(1, size ? size : 1));
}

void *
xcalloc(size_t n, size_t size)
{
    return check_alloc(calloc(n ? n : 1, size ? size : 1));
}

void *
xrealloc(void *p, size_t size)
{
    return check_alloc(realloc(p, size ? size : 1));
}

char *
xstrdup(const char *s)
{
    return xmemdup(s, strlen(s) + 1);
}

void *
xmemdup(const void *p, size_t size)
{
    void *q = xmalloc(size);
    if (size) {
        memcpy(q, p, size);
    }
    return q;
}

char *
xasprintf(const char *fmt, ...)
{
    va_list args;
    char *s;

    va_start(args, fmt);
    int n = vasprintf(&s, fmt, args);
    va_end(args);
    if (n < 0) {
        check_alloc(NULL);
    }
    return s;
}

void
hex_encode(const void *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
hex_digit(int c)
{
    return (c >= '0' && c <= '9' ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : -1);
}

int
hex_decode(const char *s, uint8_t **datap, size_t *np)
{
    size_t len = strlen(s);
    uint8_t *data = xmalloc(len / 2 + 1);
    size_t n = 0;

    while (*s) {
        if (isspace((unsigned char) *s)) {
            s++;
            continue;
        }
        int hi = hex_digit(s[0]);
        int lo = hi >= 0 ? hex_digit(s[1]) : -1;
        if (lo < 0) {
            free(data);
            return EINVAL;
        }
        data[n++] = (uint8_t) (hi << 4 | lo);
        s += 2;
    }
    *datap = data;
    *np = n;
    return 0;
}

int
str_to_uint(const char *s, int base, uint64_t max, uint64_t *valuep)
{
    char *end;

    if (!*s || *s == '-' || *s == '+' || isspace((unsigned char) *s)) {
        return EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (*end) {
        return EINVAL;
    }
    if (errno == ERANGE || v > max) {
        return ERANGE;
    }
    *valuep = v;
    return 0;
}
