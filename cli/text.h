/*
 * text.h — terminal text helpers for dpifctl's printers: aligned tables,
 * control-character-safe strings, durations and TCP flags.
 *
 * Tables
 * ======
 *
 * show, procs, counters, memory/show, fdb/show and upcall/show print their
 * lists as tables whose columns are as wide as their widest cell, numbers
 * right-aligned and text left-aligned, separated by two spaces, with no
 * trailing blanks:
 *
 *     struct table t;
 *     table_init(&t, 3);
 *     table_set_column(&t, 0, "PORT", true);
 *     table_set_column(&t, 1, "NAME", false);
 *     table_set_column(&t, 2, "TYPE", false);
 *     table_add_row(&t);
 *     table_put(&t, 0, "%u", 1);
 *     ...
 *     table_format(&t, "  ", &out);
 *     table_destroy(&t);
 *
 * Cells are copied through text_put_safe(), so what the daemon sends
 * cannot move the cursor or change the terminal's state.  Widths count
 * bytes, which is exact for the escaped ASCII that results.
 *
 * Safe strings
 * ============
 *
 * text_put_safe() writes printable ASCII as is and every other byte as
 * "\xNN" ("multiline" keeps '\n' and '\t', for rule tables and metrics).
 * Names in dpifd are ASCII (interface names, counter names), so this costs
 * nothing in practice and protects terminals from a hostile or broken peer.
 *
 * Ownership: a table owns copies of its cells until table_destroy().
 */
#ifndef DPIF_CLI_TEXT_H
#define DPIF_CLI_TEXT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ds.h"
#include "common/util.h"

struct table_column {
    char *header;               /* Owned copy. */
    bool numeric;               /* Right-aligned. */
};

struct table {
    size_t n_columns;
    struct table_column *columns;
    char **cells;               /* n_rows * n_columns, owned; NULL = empty. */
    size_t n_rows;
    size_t allocated_rows;
};

void table_init(struct table *, size_t n_columns);
void table_destroy(struct table *);
/* Names column 'col' and says whether it holds numbers. */
void table_set_column(struct table *, size_t col, const char *header,
                      bool numeric);
/* Starts a new row; cells not filled stay empty. */
void table_add_row(struct table *);
/* Sets cell 'col' of the last row (formatted, then made safe). */
void table_put(struct table *, size_t col, const char *fmt, ...)
    PRINTF_FORMAT(3, 4);
/* Appends the header and the rows, each line prefixed by 'indent'. */
void table_format(const struct table *, const char *indent, struct ds *out);

/* Appends 'n' bytes at 's' with non-printable bytes escaped (see above). */
void text_put_safe(struct ds *out, const char *s, size_t n, bool multiline);
/* text_put_safe() of a NUL-terminated string. */
void text_put_safe_cstr(struct ds *out, const char *s);

/* Appends a duration of 'msec' milliseconds the way a person reads it:
 * "850ms", "12.3s", "5m03s", "2h05m", "3d04h". */
void text_put_duration(struct ds *out, uint64_t msec);

/* Appends TCP flags the way ovs-dpctl does ("S", "SF.", "P.", "none" for
 * 0): S F P R U . E C N, then "[200]" "[400]" "[800]" for the reserved
 * bits. */
void text_put_tcp_flags(struct ds *out, uint32_t flags);

#endif /* text.h */
