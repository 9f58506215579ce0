/* json_check.c — see json_check.h. */
#include "json_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct checker {
    const unsigned char *s;
    size_t len, pos;
    unsigned int depth;
    char *why;
    size_t why_size;
};

static bool
fail(struct checker *c, const char *what)
{
    if (c->why) {
        snprintf(c->why, c->why_size, "offset %zu: %s", c->pos, what);
    }
    return false;
}

static void
skip_ws(struct checker *c)
{
    while (c->pos < c->len && strchr(" \t\n\r", c->s[c->pos])
           && c->s[c->pos]) {
        c->pos++;
    }
}

static int
peek(const struct checker *c)
{
    return c->pos < c->len ? c->s[c->pos] : -1;
}

static bool check_value(struct checker *);

static int
hex4(struct checker *c)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int ch = peek(c);
        int d = (ch >= '0' && ch <= '9' ? ch - '0'
                 : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
        c->pos++;
    }
    return v;
}

/* Validates one UTF-8 sequence at the current position. */
static bool
check_utf8(struct checker *c)
{
    unsigned char b = c->s[c->pos];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        lo = b == 0xe0 ? 0xa0 : 0x80;
        hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
        return fail(c, "invalid UTF-8 lead byte");
    }
    if (c->pos + n > c->len || c->s[c->pos + 1] < lo
        || c->s[c->pos + 1] > hi) {
        return fail(c, "invalid UTF-8 sequence");
    }
    for (size_t i = 2; i < n; i++) {
        if ((c->s[c->pos + i] & 0xc0) != 0x80) {
            return fail(c, "invalid UTF-8 continuation");
        }
    }
    c->pos += n;
    return true;
}

/* Checks a string and stores the offsets of its raw contents (escapes as
 * written) in '*startp' and '*endp', for duplicate-key detection. */
static bool
check_string(struct checker *c, size_t *startp, size_t *endp)
{
    if (peek(c) != '"') {
        return fail(c, "expected '\"'");
    }
    c->pos++;
    *startp = c->pos;
    for (;;) {
        int ch = peek(c);
        if (ch < 0) {
            return fail(c, "unterminated string");
        } else if (ch == '"') {
            *endp = c->pos;
            c->pos++;
            return true;
        } else if (ch < 0x20) {
            return fail(c, "control character in string");
        } else if (ch == '\\') {
            c->pos++;
            ch = peek(c);
            if (ch < 0 || !strchr("\"\\/bfnrtu", ch)) {
                return fail(c, "unknown escape");
            }
            c->pos++;
            if (ch == 'u') {
                int v = hex4(c);
                if (v < 0) {
                    return fail(c, "bad \\u escape");
                }
                if (v >= 0xd800 && v <= 0xdbff) {
                    if (peek(c) != '\\' || c->pos + 1 >= c->len
                        || c->s[c->pos + 1] != 'u') {
                        return fail(c, "lone high surrogate");
                    }
                    c->pos += 2;
                    int lo = hex4(c);
                    if (lo < 0xdc00 || lo > 0xdfff) {
                        return fail(c, "bad low surrogate");
                    }
                } else if (v >= 0xdc00 && v <= 0xdfff) {
                    return fail(c, "lone low surrogate");
                }
            }
        } else if (ch >= 0x80) {
            if (!check_utf8(c)) {
                return false;
            }
        } else {
            c->pos++;
        }
    }
}

static bool
check_number(struct checker *c)
{
    if (peek(c) == '-') {
        c->pos++;
    }
    if (peek(c) == '0') {
        c->pos++;
    } else if (peek(c) >= '1' && peek(c) <= '9') {
        while (peek(c) >= '0' && peek(c) <= '9') {
            c->pos++;
        }
    } else {
        return fail(c, "bad number");
    }
    if (peek(c) == '.') {
        c->pos++;
        if (!(peek(c) >= '0' && peek(c) <= '9')) {
            return fail(c, "bad fraction");
        }
        while (peek(c) >= '0' && peek(c) <= '9') {
            c->pos++;
        }
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        c->pos++;
        if (peek(c) == '+' || peek(c) == '-') {
            c->pos++;
        }
        if (!(peek(c) >= '0' && peek(c) <= '9')) {
            return fail(c, "bad exponent");
        }
        while (peek(c) >= '0' && peek(c) <= '9') {
            c->pos++;
        }
    }
    return true;
}

static bool
check_literal(struct checker *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->pos + n > c->len || memcmp(c->s + c->pos, lit, n)) {
        return fail(c, "bad literal");
    }
    c->pos += n;
    return true;
}

static bool
check_object(struct checker *c)
{
    size_t *keys = NULL;            /* Pairs of start, end offsets. */
    size_t n_keys = 0;
    bool ok = true;

    c->pos++;
    skip_ws(c);
    if (peek(c) == '}') {
        c->pos++;
        return true;
    }
    for (;;) {
        size_t start, end;
        skip_ws(c);
        if (!check_string(c, &start, &end)) {
            ok = false;
            break;
        }
        for (size_t i = 0; i < n_keys; i++) {
            if (keys[2 * i + 1] - keys[2 * i] == end - start
                && !memcmp(c->s + keys[2 * i], c->s + start, end - start)) {
                ok = fail(c, "duplicate key");
                break;
            }
        }
        if (!ok) {
            break;
        }
        keys = realloc(keys, (n_keys + 1) * 2 * sizeof *keys);
        keys[2 * n_keys] = start;
        keys[2 * n_keys + 1] = end;
        n_keys++;
        skip_ws(c);
        if (peek(c) != ':') {
            ok = fail(c, "expected ':'");
            break;
        }
        c->pos++;
        if (!check_value(c)) {
            ok = false;
            break;
        }
        skip_ws(c);
        if (peek(c) == ',') {
            c->pos++;
        } else if (peek(c) == '}') {
            c->pos++;
            break;
        } else {
            ok = fail(c, "expected ',' or '}'");
            break;
        }
    }
    free(keys);
    return ok;
}

static bool
check_array(struct checker *c)
{
    c->pos++;
    skip_ws(c);
    if (peek(c) == ']') {
        c->pos++;
        return true;
    }
    for (;;) {
        if (!check_value(c)) {
            return false;
        }
        skip_ws(c);
        if (peek(c) == ',') {
            c->pos++;
        } else if (peek(c) == ']') {
            c->pos++;
            return true;
        } else {
            return fail(c, "expected ',' or ']'");
        }
    }
}

static bool
check_value(struct checker *c)
{
    size_t start, end;
    bool ok;

    skip_ws(c);
    if (++c->depth > 64) {
        return fail(c, "too deep");
    }
    switch (peek(c)) {
    case '{': ok = check_object(c); break;
    case '[': ok = check_array(c); break;
    case '"': ok = check_string(c, &start, &end); break;
    case 't': ok = check_literal(c, "true"); break;
    case 'f': ok = check_literal(c, "false"); break;
    case 'n': ok = check_literal(c, "null"); break;
    default: ok = check_number(c); break;
    }
    c->depth--;
    return ok;
}

bool
json_check(const char *text, size_t len, char *why, size_t why_size)
{
    struct checker c = {
        .s = (const unsigned char *) text, .len = len,
        .why = why, .why_size = why_size,
    };

    if (!check_value(&c)) {
        return false;
    }
    skip_ws(&c);
    return c.pos == c.len ? true : fail(&c, "trailing characters");
}
