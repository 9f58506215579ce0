/*
 * ds.h — a growable, always NUL-terminated text string.
 *
 * Overview
 * ========
 *
 * "struct ds" (dynamic string) is what every piece of dpifd that produces
 * text writes into: the flow and action formatter (odp-format.h), dpifctl's
 * output, log lines that are assembled in several steps.  It is the text
 * counterpart of "struct buf": append-only building, one allocation that
 * grows geometrically, and an explicit hand-off of the memory.
 *
 * Typical use:
 *
 *     struct ds s;
 *
 *     ds_init(&s);
 *     ds_put_format(&s, "in_port(%u)", port);
 *     ds_put_char(&s, ',');
 *     puts(ds_cstr(&s));
 *     ds_destroy(&s);
 *
 * Ownership: the string owns its heap memory.  ds_cstr() returns a pointer
 * into it that stays valid until the next call that appends to, truncates or
 * destroys the string.  ds_steal_cstr() hands the memory to the caller, who
 * must free() it, and leaves the string empty and reinitialized.
 *
 * Allocation failures abort (xrealloc()), like the rest of common/.  The
 * string may hold at most SIZE_MAX / 2 bytes; a caller that appends text
 * from another process must bound it first.
 *
 * Thread safety: none; a string belongs to one thread at a time.
 */
#ifndef DPIF_DS_H
#define DPIF_DS_H 1

#include <stdarg.h>
#include <stddef.h>

#include "common/util.h"

struct ds {
    char *string;               /* Heap memory, or NULL while still empty. */
    size_t length;              /* Bytes in use, not counting the NUL. */
    size_t allocated;           /* Bytes available at 'string' minus one. */
};

#define DS_EMPTY_INITIALIZER { NULL, 0, 0 }

/* Initializes 's' as an empty string; allocates nothing. */
void ds_init(struct ds *s);
/* Frees the memory of 's'; 's' is empty and may be reused. */
void ds_destroy(struct ds *s);
/* Empties 's' but keeps its memory for reuse. */
void ds_clear(struct ds *s);
/* Shortens 's' to 'new_length' bytes if it is longer. */
void ds_truncate(struct ds *s, size_t new_length);

/* Makes room for 'n' more bytes without changing the contents. */
void ds_reserve(struct ds *s, size_t n);

/* Appending. */
void ds_put_char(struct ds *s, char c);
void ds_put_cstr(struct ds *s, const char *cstr);
void ds_put_buffer(struct ds *s, const char *data, size_t n);
void ds_put_format(struct ds *s, const char *format, ...) PRINTF_FORMAT(2, 3);
void ds_put_format_valist(struct ds *s, const char *format, va_list args)
    PRINTF_FORMAT(2, 0);
/* Appends 'n' bytes of 'data' as lowercase hex digits, no separators. */
void ds_put_hex(struct ds *s, const void *data, size_t n);

/* Removes one trailing 'c' from 's', if present.  Returns true if it did. */
bool ds_chomp(struct ds *s, char c);

/* The contents as a NUL-terminated string, owned by 's' (see above). Never
 * NULL, even for an empty string. */
const char *ds_cstr(struct ds *s);

/* Returns the contents as a malloc'ed string the caller must free() and
 * reinitializes 's' as empty. */
char *ds_steal_cstr(struct ds *s);

#endif /* ds.h */
