#include "common/ds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ds_init(struct ds *s)
{
    s->string = NULL;
    s->length = 0;
    s->allocated = 0;
}

void
ds_destroy(struct ds *s)
{
    free(s->string);
    ds_init(s);
}

void
ds_clear(struct ds *s)
{
    s->length = 0;
    if (s->string) {
        s->string[0] = '\0';
    }
}

void
ds_truncate(struct ds *s, size_t new_length)
{
    if (new_length < s->length) {
        s->length = new_length;
        s->string[new_length] = '\0';
    }
}

void
ds_reserve(struct ds *s, size_t n)
{
    if (n > SIZE_MAX / 2 - s->length) {
        abort();                /* Caller failed to bound the text. */
    }
    size_t need = s->length + n;
    /* An empty string may have no memory yet even when 'n' is 0, and every
     * caller then writes the terminating NUL. */
    if (need > s->allocated || !s->string) {
        size_t alloc = MAX(need, 2 * s->allocated);
        alloc = MAX(alloc, 32);
        s->string = xrealloc(s->string, alloc + 1);
        s->allocated = alloc;
        s->string[s->length] = '\0';
    }
}

void
ds_put_buffer(struct ds *s, const char *data, size_t n)
{
    ds_reserve(s, n);
    if (n) {
        memcpy(s->string + s->length, data, n);
    }
    s->length += n;
    s->string[s->length] = '\0';
}

void
ds_put_char(struct ds *s, char c)
{
    ds_put_buffer(s, &c, 1);
}

void
ds_put_cstr(struct ds *s, const char *cstr)
{
    ds_put_buffer(s, cstr, strlen(cstr));
}

void
ds_put_format_valist(struct ds *s, const char *format, va_list args)
{
    va_list copy;

    ds_reserve(s, 64);
    va_copy(copy, args);
    int n = vsnprintf(s->string + s->length, s->allocated - s->length + 1,
                      format, copy);
    va_end(copy);
    if (n < 0) {
        s->string[s->length] = '\0';
        return;
    }
    if ((size_t) n > s->allocated - s->length) {
        ds_reserve(s, (size_t) n);
        vsnprintf(s->string + s->length, (size_t) n + 1, format, args);
    }
    s->length += (size_t) n;
}

void
ds_put_format(struct ds *s, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    ds_put_format_valist(s, format, args);
    va_end(args);
}

void
ds_put_hex(struct ds *s, const void *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;

    ds_reserve(s, 2 * n);
    for (size_t i = 0; i < n; i++) {
        s->string[s->length++] = digits[p[i] >> 4];
        s->string[s->length++] = digits[p[i] & 15];
    }
    s->string[s->length] = '\0';
}

bool
ds_chomp(struct ds *s, char c)
{
    if (s->length && s->string[s->length - 1] == c) {
        s->string[--s->length] = '\0';
        return true;
    }
    return false;
}

const char *
ds_cstr(struct ds *s)
{
    if (!s->string) {
        s->string = xmalloc(1);
        s->string[0] = '\0';
        s->allocated = 0;
    }
    return s->string;
}

char *
ds_steal_cstr(struct ds *s)
{
    ds_cstr(s);
    char *p = s->string;
    ds_init(s);
    return p;
}
