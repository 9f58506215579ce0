/* json.c — see json.h. */
#include "cli/json.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

void
json_init(struct json_writer *jw, struct ds *out)
{
    memset(jw, 0, sizeof *jw);
    jw->out = out;
}

static void
json_indent(struct json_writer *jw)
{
    ds_put_char(jw->out, '\n');
    for (unsigned int i = 0; i < jw->depth; i++) {
        ds_put_cstr(jw->out, "  ");
    }
}

/* Everything a value needs before its first character: a separator and
 * indentation inside arrays; nothing after a key. */
static void
json_before_value(struct json_writer *jw)
{
    assert(!jw->done);
    if (jw->after_key) {
        jw->after_key = false;
        return;
    }
    if (jw->depth) {
        unsigned int top = jw->depth - 1;
        assert(!jw->is_object[top]);
        if (jw->has_items[top]) {
            ds_put_char(jw->out, ',');
        }
        jw->has_items[top] = true;
        json_indent(jw);
    }
}

/* After a complete value: the document ends when nothing is open. */
static void
json_after_value(struct json_writer *jw)
{
    if (!jw->depth) {
        jw->done = true;
        ds_put_char(jw->out, '\n');
    }
}

static void
json_begin(struct json_writer *jw, bool is_object)
{
    json_before_value(jw);
    assert(jw->depth < JSON_MAX_DEPTH);
    ds_put_char(jw->out, is_object ? '{' : '[');
    jw->is_object[jw->depth] = is_object;
    jw->has_items[jw->depth] = false;
    jw->depth++;
}

static void
json_end(struct json_writer *jw, bool is_object)
{
    assert(jw->depth && !jw->after_key);
    assert(jw->is_object[jw->depth - 1] == is_object);
    bool had_items = jw->has_items[jw->depth - 1];
    jw->depth--;
    if (had_items) {
        json_indent(jw);
    }
    ds_put_char(jw->out, is_object ? '}' : ']');
    json_after_value(jw);
}

void
json_begin_object(struct json_writer *jw)
{
    json_begin(jw, true);
}

void
json_end_object(struct json_writer *jw)
{
    json_end(jw, true);
}

void
json_begin_array(struct json_writer *jw)
{
    json_begin(jw, false);
}

void
json_end_array(struct json_writer *jw)
{
    json_end(jw, false);
}

void
json_key(struct json_writer *jw, const char *key)
{
    assert(jw->depth && !jw->after_key);
    unsigned int top = jw->depth - 1;
    assert(jw->is_object[top]);
    if (jw->has_items[top]) {
        ds_put_char(jw->out, ',');
    }
    jw->has_items[top] = true;
    json_indent(jw);
    json_put_string(jw->out, key, strlen(key));
    ds_put_cstr(jw->out, ": ");
    jw->after_key = true;
}

/* Length of the well-formed UTF-8 sequence at 's' (at most 'n' bytes), or
 * 0 if the bytes there are not one (RFC 3629, Table 3-7 of Unicode). */
static size_t
utf8_sequence_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  /* Range of the second byte. */

    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}

void
json_put_string(struct ds *out, const char *s_, size_t n)
{
    const unsigned char *s = (const unsigned char *) s_;

    ds_put_char(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        switch (c) {
        case '"': ds_put_cstr(out, "\\\""); break;
        case '\\': ds_put_cstr(out, "\\\\"); break;
        case '\b': ds_put_cstr(out, "\\b"); break;
        case '\f': ds_put_cstr(out, "\\f"); break;
        case '\n': ds_put_cstr(out, "\\n"); break;
        case '\r': ds_put_cstr(out, "\\r"); break;
        case '\t': ds_put_cstr(out, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                ds_put_format(out, "\\u%04x", c);
            } else {
                size_t len = utf8_sequence_len(s + i, n - i);
                if (!len) {
                    ds_put_cstr(out, "\\ufffd");
                    i++;
                    continue;
                }
                ds_put_buffer(out, (const char *) s + i, len);
                i += len;
                continue;
            }
            break;
        }
        i++;
    }
    ds_put_char(out, '"');
}

void
json_string_len(struct json_writer *jw, const char *s, size_t n)
{
    json_before_value(jw);
    json_put_string(jw->out, s, n);
    json_after_value(jw);
}

void
json_string(struct json_writer *jw, const char *s)
{
    if (!s) {
        json_null(jw);
    } else {
        json_string_len(jw, s, strlen(s));
    }
}

void
json_hex(struct json_writer *jw, const void *data, size_t n)
{
    json_before_value(jw);
    ds_put_char(jw->out, '"');
    ds_put_hex(jw->out, data, n);
    ds_put_char(jw->out, '"');
    json_after_value(jw);
}

void
json_uint(struct json_writer *jw, uint64_t v)
{
    json_before_value(jw);
    ds_put_format(jw->out, "%" PRIu64, v);
    json_after_value(jw);
}

void
json_int(struct json_writer *jw, int64_t v)
{
    json_before_value(jw);
    ds_put_format(jw->out, "%" PRId64, v);
    json_after_value(jw);
}

void
json_bool(struct json_writer *jw, bool b)
{
    json_before_value(jw);
    ds_put_cstr(jw->out, b ? "true" : "false");
    json_after_value(jw);
}

void
json_null(struct json_writer *jw)
{
    json_before_value(jw);
    ds_put_cstr(jw->out, "null");
    json_after_value(jw);
}

void
json_member_string(struct json_writer *jw, const char *key, const char *s)
{
    json_key(jw, key);
    json_string(jw, s);
}

void
json_member_hex(struct json_writer *jw, const char *key, const void *data,
                size_t n)
{
    json_key(jw, key);
    json_hex(jw, data, n);
}

void
json_member_uint(struct json_writer *jw, const char *key, uint64_t v)
{
    json_key(jw, key);
    json_uint(jw, v);
}

void
json_member_int(struct json_writer *jw, const char *key, int64_t v)
{
    json_key(jw, key);
    json_int(jw, v);
}

void
json_member_bool(struct json_writer *jw, const char *key, bool b)
{
    json_key(jw, key);
    json_bool(jw, b);
}

void
json_member_null(struct json_writer *jw, const char *key)
{
    json_key(jw, key);
    json_null(jw);
}
