/* text.c — see text.h. */
#include "cli/text.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
table_init(struct table *t, size_t n_columns)
{
    memset(t, 0, sizeof *t);
    t->n_columns = n_columns;
    t->columns = xcalloc(n_columns, sizeof *t->columns);
}

void
table_destroy(struct table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
        free(t->cells[i]);
    }
    for (size_t i = 0; i < t->n_columns; i++) {
        free(t->columns[i].header);
    }
    free(t->cells);
    free(t->columns);
    memset(t, 0, sizeof *t);
}

void
table_set_column(struct table *t, size_t col, const char *header,
                 bool numeric)
{
    assert(col < t->n_columns);
    free(t->columns[col].header);
    t->columns[col].header = xstrdup(header);
    t->columns[col].numeric = numeric;
}

void
table_add_row(struct table *t)
{
    if (t->n_rows == t->allocated_rows) {
        t->allocated_rows = t->allocated_rows ? 2 * t->allocated_rows : 8;
        t->cells = xrealloc(t->cells, t->allocated_rows * t->n_columns
                                      * sizeof *t->cells);
    }
    memset(&t->cells[t->n_rows * t->n_columns], 0,
           t->n_columns * sizeof *t->cells);
    t->n_rows++;
}

void
table_put(struct table *t, size_t col, const char *fmt, ...)
{
    struct ds raw = DS_EMPTY_INITIALIZER;
    struct ds safe = DS_EMPTY_INITIALIZER;
    va_list args;

    assert(t->n_rows && col < t->n_columns);
    va_start(args, fmt);
    ds_put_format_valist(&raw, fmt, args);
    va_end(args);
    text_put_safe(&safe, ds_cstr(&raw), raw.length, false);
    ds_destroy(&raw);

    char **cell = &t->cells[(t->n_rows - 1) * t->n_columns + col];
    free(*cell);
    *cell = ds_steal_cstr(&safe);
}

static void
table_format_cell(struct ds *out, const char *s, size_t width, bool numeric,
                  bool last)
{
    size_t len = strlen(s);
    size_t pad = width > len ? width - len : 0;

    if (numeric) {
        for (size_t i = 0; i < pad; i++) {
            ds_put_char(out, ' ');
        }
    }
    ds_put_cstr(out, s);
    if (!numeric && !last) {
        for (size_t i = 0; i < pad; i++) {
            ds_put_char(out, ' ');
        }
    }
}

void
table_format(const struct table *t, const char *indent, struct ds *out)
{
    size_t *widths = xcalloc(t->n_columns, sizeof *widths);

    for (size_t c = 0; c < t->n_columns; c++) {
        const char *h = t->columns[c].header;
        widths[c] = h ? strlen(h) : 0;
        for (size_t r = 0; r < t->n_rows; r++) {
            const char *cell = t->cells[r * t->n_columns + c];
            if (cell && strlen(cell) > widths[c]) {
                widths[c] = strlen(cell);
            }
        }
    }
    for (size_t r = 0; r <= t->n_rows; r++) {
        size_t line_start = out->length;
        ds_put_cstr(out, indent);
        for (size_t c = 0; c < t->n_columns; c++) {
            const char *s = (r == 0 ? t->columns[c].header
                             : t->cells[(r - 1) * t->n_columns + c]);
            if (c) {
                ds_put_cstr(out, "  ");
            }
            table_format_cell(out, s ? s : "", widths[c],
                              t->columns[c].numeric, c + 1 == t->n_columns);
        }
        /* No trailing blanks, even after empty cells. */
        while (out->length > line_start
               && ds_cstr(out)[out->length - 1] == ' ') {
            ds_truncate(out, out->length - 1);
        }
        ds_put_char(out, '\n');
    }
    free(widths);
}

void
text_put_safe(struct ds *out, const char *s, size_t n, bool multiline)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if ((c >= 0x20 && c < 0x7f)
            || (multiline && (c == '\n' || c == '\t'))) {
            ds_put_char(out, (char) c);
        } else {
            ds_put_format(out, "\\x%02x", c);
        }
    }
}

void
text_put_safe_cstr(struct ds *out, const char *s)
{
    text_put_safe(out, s, strlen(s), false);
}

void
text_put_duration(struct ds *out, uint64_t msec)
{
    uint64_t sec = msec / 1000;

    if (msec < 1000) {
        ds_put_format(out, "%" PRIu64 "ms", msec);
    } else if (sec < 60) {
        ds_put_format(out, "%" PRIu64 ".%" PRIu64 "s", sec,
                      msec % 1000 / 100);
    } else if (sec < 3600) {
        ds_put_format(out, "%" PRIu64 "m%02" PRIu64 "s", sec / 60, sec % 60);
    } else if (sec < 86400) {
        ds_put_format(out, "%" PRIu64 "h%02" PRIu64 "m", sec / 3600,
                      sec % 3600 / 60);
    } else {
        ds_put_format(out, "%" PRIu64 "d%02" PRIu64 "h", sec / 86400,
                      sec % 86400 / 3600);
    }
}

void
text_put_tcp_flags(struct ds *out, uint32_t flags)
{
    /* In ovs-dpctl's order (lib/packets.c, packet_format_tcp_flags()). */
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        { 0x002, "S" }, { 0x001, "F" }, { 0x008, "P" }, { 0x004, "R" },
        { 0x020, "U" }, { 0x010, "." }, { 0x040, "E" }, { 0x080, "C" },
        { 0x100, "N" }, { 0x200, "[200]" }, { 0x400, "[400]" },
        { 0x800, "[800]" },
    };

    if (!flags) {
        ds_put_cstr(out, "none");
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (flags & names[i].bit) {
            ds_put_cstr(out, names[i].name);
        }
    }
}
