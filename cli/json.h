/*
 * json.h — a small, strict JSON writer for dpifctl's "--format json".
 *
 * Overview
 * ========
 *
 * dpifctl prints one JSON document per invocation (docs/dpifctl-json.md
 * describes the schema of each command).  This writer produces RFC 8259
 * JSON into a "struct ds", pretty-printed with two-space indentation and a
 * final newline once the top-level value is complete:
 *
 *     struct ds out = DS_EMPTY_INITIALIZER;
 *     struct json_writer jw;
 *
 *     json_init(&jw, &out);
 *     json_begin_object(&jw);
 *     json_member_string(&jw, "name", "dp0");
 *     json_key(&jw, "ports");
 *     json_begin_array(&jw);
 *     json_uint(&jw, 1);
 *     json_end_array(&jw);
 *     json_end_object(&jw);
 *
 * The writer keeps its nesting state apart from the text, so a caller may
 * write part of a document, flush and clear 'out', and go on: that is how
 * paged commands (dump-flows, capture) stream one document over many
 * replies.
 *
 * Correctness
 * ===========
 *
 * Strings are escaped as RFC 8259 requires: '"', '\\' and every control
 * character below 0x20 (with \n, \t, ... where JSON has a short form, else
 * \u00XX), plus DEL (0x7f) for the sake of terminals.  Text that comes from
 * the daemon is not trusted to be UTF-8: each byte that does not start a
 * well-formed UTF-8 sequence (overlong forms, surrogates and code points
 * beyond U+10FFFF included) is written as U+FFFD, so the output is always
 * valid UTF-8 and valid JSON.  Integers are written exactly (64 bits, no
 * floating point); readers that use doubles lose precision above 2^53, as
 * the schema document says.
 *
 * Misuse (a value where a key is due, closing an array as an object,
 * nesting beyond JSON_MAX_DEPTH) is a programming error and aborts via
 * assert().
 *
 * Ownership and threads: the writer borrows 'out' and holds no memory of
 * its own.  No locking; one writer belongs to one thread.
 */
#ifndef DPIF_CLI_JSON_H
#define DPIF_CLI_JSON_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ds.h"

/* Deepest nesting of objects and arrays. */
#define JSON_MAX_DEPTH 16

struct json_writer {
    struct ds *out;             /* Where text goes; borrowed. */
    unsigned int depth;         /* Open containers. */
    bool is_object[JSON_MAX_DEPTH]; /* Per open container: object? */
    bool has_items[JSON_MAX_DEPTH]; /* Per open container: non-empty? */
    bool after_key;             /* A key was written; its value is due. */
    bool done;                  /* The top-level value is complete. */
};

/* Starts a document written to 'out'. */
void json_init(struct json_writer *, struct ds *out);

void json_begin_object(struct json_writer *);
void json_end_object(struct json_writer *);
void json_begin_array(struct json_writer *);
void json_end_array(struct json_writer *);

/* Writes an object member's name; the next call writes its value. */
void json_key(struct json_writer *, const char *key);

/* Values.  json_string() writes null for a NULL 's'. */
void json_string(struct json_writer *, const char *s);
void json_string_len(struct json_writer *, const char *s, size_t n);
void json_hex(struct json_writer *, const void *data, size_t n);
void json_uint(struct json_writer *, uint64_t);
void json_int(struct json_writer *, int64_t);
void json_bool(struct json_writer *, bool);
void json_null(struct json_writer *);

/* json_key() followed by the value. */
void json_member_string(struct json_writer *, const char *key,
                        const char *s);
void json_member_hex(struct json_writer *, const char *key,
                     const void *data, size_t n);
void json_member_uint(struct json_writer *, const char *key, uint64_t);
void json_member_int(struct json_writer *, const char *key, int64_t);
void json_member_bool(struct json_writer *, const char *key, bool);
void json_member_null(struct json_writer *, const char *key);

/* Appends the JSON string literal of 'n' bytes at 's' (quotes included,
 * escaped and UTF-8-sanitized as described above) to 'out'. */
void json_put_string(struct ds *out, const char *s, size_t n);

#endif /* json.h */
