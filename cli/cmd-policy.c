/* cmd-policy.c — forwarding policy and MAC learning commands: rules/show,
 * rules/add, rules/del, rules/replace, fdb/show, fdb/flush. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/text.h"
#include "common/addr.h"
#include "common/ipc-limits.h"

/* ----- rules/show ------------------------------------------------------- */

static int
rules_show_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__RulesShowRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__rules_show_request__init(r);
    int error = cmd_resolve_dp(ctx, cmd_arg(ctx, 0), &r->dp);
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_RULES_SHOW;
    req->rules_show = r;
    return 0;
}

static void
rules_show_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const char *text = reply->rules_show->text;
    size_t len = strlen(text);

    text_put_safe(&ctx->out, text, len, true);
    if (len && text[len - 1] != '\n') {
        ds_put_char(&ctx->out, '\n');
    }
}

static void
rules_show_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__RulesShowReply *r = reply->rules_show;
    struct json_writer *jw = &ctx->json;

    json_begin_object(jw);
    json_member_string(jw, "dp", ctx->state);
    json_member_uint(jw, "generation", r->generation);
    if (r->rules_file) {
        json_member_string(jw, "rules_file", r->rules_file);
    } else {
        json_member_null(jw, "rules_file");
    }
    json_key(jw, "rules");
    json_begin_array(jw);
    for (const char *line = r->text; *line;) {
        size_t len = strcspn(line, "\n");
        if (len) {
            json_string_len(jw, line, len);
        }
        line += len + (line[len] == '\n');
    }
    json_end_array(jw);
    json_end_object(jw);
}

/* rules/show keeps the datapath's name for its JSON output. */
static int
rules_show_build_keep_dp(struct cmd_ctx *ctx, Dpif__Request *req)
{
    int error = rules_show_build(ctx, req);
    if (!error) {
        ctx->state = req->rules_show->dp;
    }
    return error;
}

/* ----- rules/add, rules/del, rules/replace ---------------------------------- */

static int
rules_check_size(struct cmd_ctx *ctx, size_t len)
{
    if (len > IPC_MAX_RULES_TEXT) {
        return cmd_usage(ctx, "rules of %zu bytes exceed the maximum of %d",
                         len, IPC_MAX_RULES_TEXT);
    }
    return 0;
}

static int
rules_add_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__RulesAddRequest *r = cmd_alloc(ctx, sizeof *r);
    struct ds text = DS_EMPTY_INITIALIZER;

    dpif__rules_add_request__init(r);
    for (size_t i = 1; i < ctx->n_args; i++) {
        const char *rule = cmd_arg(ctx, i);
        if (!rule[0] || strchr(rule, '\n')) {
            ds_destroy(&text);
            return cmd_usage(ctx, "RULE %zu is empty or spans lines", i);
        }
        ds_put_format(&text, "%s\n", rule);
    }
    int error = rules_check_size(ctx, text.length);
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    r->text = cmd_adopt(ctx, ds_steal_cstr(&text));
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_RULES_ADD;
    req->rules_add = r;
    return 0;
}

static const struct cmd_option rules_del_options[] = {
    { "priority", 'p', "P", "only rules of priority P (implies --strict)" },
    { "strict", 0, NULL, "match priority and fields exactly" },
    { NULL, 0, NULL, NULL },
};

static int
rules_del_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__RulesDelRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *priority = cmd_opt(ctx, "priority");
    const char *match = cmd_arg(ctx, 1);

    dpif__rules_del_request__init(r);
    if (priority) {
        uint64_t p;
        int error = cmd_parse_uint(ctx, "--priority", priority, 0, 65535, &p);
        if (error) {
            return error;
        }
        r->match = cmd_adopt(ctx, xasprintf("priority=%" PRIu64 "%s%s", p,
                                            match[0] ? "," : "", match));
    } else {
        r->match = (char *) match;
    }
    int error = rules_check_size(ctx, strlen(r->match));
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    if (error) {
        return error;
    }
    if (priority || cmd_has_opt(ctx, "strict")) {
        r->has_strict = r->strict = true;
    }
    req->command_case = DPIF__REQUEST__COMMAND_RULES_DEL;
    req->rules_del = r;
    return 0;
}

/* Reads all of 'path' ("-": standard input), at most IPC_MAX_RULES_TEXT
 * bytes, into a string owned by the context. */
static int
rules_read_file(struct cmd_ctx *ctx, const char *path, char **textp)
{
    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    struct ds text = DS_EMPTY_INITIALIZER;
    char chunk[4096];
    size_t n;

    if (!f) {
        return cmd_fail(ctx, errno, "cannot open %s: %s", path,
                        strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0
           && text.length <= IPC_MAX_RULES_TEXT) {
        ds_put_buffer(&text, chunk, n);
    }
    int error = ferror(f) ? EIO : 0;
    if (!is_stdin) {
        fclose(f);
    }
    if (error) {
        ds_destroy(&text);
        return cmd_fail(ctx, error, "cannot read %s", path);
    }
    if (memchr(ds_cstr(&text), '\0', text.length)) {
        ds_destroy(&text);
        return cmd_fail(ctx, EINVAL, "%s: contains a NUL byte", path);
    }
    if (text.length > IPC_MAX_RULES_TEXT) {
        ds_destroy(&text);
        return cmd_fail(ctx, EFBIG, "%s: larger than %d bytes", path,
                        IPC_MAX_RULES_TEXT);
    }
    *textp = cmd_adopt(ctx, ds_steal_cstr(&text));
    return 0;
}

static int
rules_replace_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__RulesReplaceRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *path = cmd_arg(ctx, 1);

    dpif__rules_replace_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    if (!error) {
        error = rules_read_file(ctx, path, &r->text);
    }
    if (error) {
        return error;
    }
    /* privd names the file in its errors: "FILE:LINE:COLUMN: reason". */
    r->source = (!strcmp(path, "-") ? "(stdin)"
                 : strlen(path) <= IPC_MAX_REASON ? (char *) path : "rules");
    req->command_case = DPIF__REQUEST__COMMAND_RULES_REPLACE;
    req->rules_replace = r;
    return 0;
}

static void
rules_change_print_json(struct cmd_ctx *ctx, const Dpif__RulesChangeReply *r)
{
    json_begin_object(&ctx->json);
    json_member_uint(&ctx->json, "generation", r->generation);
    json_member_uint(&ctx->json, "n_rules", r->n_rules);
    if (r->rules_file) {
        json_member_string(&ctx->json, "rules_file", r->rules_file);
    } else {
        json_member_null(&ctx->json, "rules_file");
    }
    json_end_object(&ctx->json);
}

/* "3 rules added: policy generation 5, saved to /etc/dpifd/br0.rules". */
static void
rules_change_print_text(struct cmd_ctx *ctx, const Dpif__RulesChangeReply *r,
                        const char *verb)
{
    ds_put_format(&ctx->out, "%" PRIu64 " rule%s %s: policy generation %"
                  PRIu64 ", ", r->n_rules, r->n_rules == 1 ? "" : "s", verb,
                  r->generation);
    if (r->rules_file) {
        ds_put_cstr(&ctx->out, "saved to ");
        text_put_safe(&ctx->out, r->rules_file, strlen(r->rules_file),
                      false);
        ds_put_char(&ctx->out, '\n');
    } else {
        ds_put_cstr(&ctx->out, "kept in memory only (no rules file is "
                    "configured for this datapath: lost at restart)\n");
    }
}

static void
rules_add_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    rules_change_print_text(ctx, reply->rules_add, "added");
}

static void
rules_del_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    rules_change_print_text(ctx, reply->rules_del, "deleted");
}

static void
rules_replace_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    rules_change_print_text(ctx, reply->rules_replace, "in the new table");
}

static void
rules_add_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    rules_change_print_json(ctx, reply->rules_add);
}

static void
rules_del_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    rules_change_print_json(ctx, reply->rules_del);
}

static void
rules_replace_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    rules_change_print_json(ctx, reply->rules_replace);
}

/* ----- fdb/show, fdb/flush ---------------------------------------------------- */

static int
fdb_show_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__FdbShowRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__fdb_show_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_FDB_SHOW;
    req->fdb_show = r;
    return 0;
}

static void
put_mac(struct ds *out, const ProtobufCBinaryData *mac)
{
    if (mac->len == ADDR_ETH_LEN) {
        addr_format_eth(out, mac->data);
    } else {
        ds_put_char(out, '?');
    }
}

static void
fdb_show_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__FdbShowReply *r = reply->fdb_show;
    struct table t;

    table_init(&t, 4);
    table_set_column(&t, 0, "PORT", true);
    table_set_column(&t, 1, "VLAN", true);
    table_set_column(&t, 2, "MAC", false);
    table_set_column(&t, 3, "AGE", true);
    for (size_t i = 0; i < r->n_entries; i++) {
        const Dpif__FdbEntry *e = r->entries[i];
        struct ds mac = DS_EMPTY_INITIALIZER;

        put_mac(&mac, &e->mac);
        table_add_row(&t);
        table_put(&t, 0, "%" PRIu32, e->port_no);
        table_put(&t, 1, "%" PRIu32, e->vlan);
        table_put(&t, 2, "%s", ds_cstr(&mac));
        table_put(&t, 3, "%" PRIu32, e->age_sec);
        ds_destroy(&mac);
    }
    table_format(&t, "", &ctx->out);
    table_destroy(&t);
    if (r->has_n_more && r->n_more) {
        ds_put_format(&ctx->out, "(%" PRIu64 " more entries not shown)\n",
                      r->n_more);
    }
}

static void
fdb_show_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__FdbShowReply *r = reply->fdb_show;
    struct json_writer *jw = &ctx->json;

    json_begin_object(jw);
    json_key(jw, "entries");
    json_begin_array(jw);
    for (size_t i = 0; i < r->n_entries; i++) {
        const Dpif__FdbEntry *e = r->entries[i];
        struct ds mac = DS_EMPTY_INITIALIZER;

        put_mac(&mac, &e->mac);
        json_begin_object(jw);
        json_member_uint(jw, "port_no", e->port_no);
        json_member_uint(jw, "vlan", e->vlan);
        json_member_string(jw, "mac", ds_cstr(&mac));
        json_member_uint(jw, "age_sec", e->age_sec);
        json_end_object(jw);
        ds_destroy(&mac);
    }
    json_end_array(jw);
    json_member_uint(jw, "n_more", r->has_n_more ? r->n_more : 0);
    json_end_object(jw);
}

static int
fdb_flush_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__FdbFlushRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__fdb_flush_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_FDB_FLUSH;
    req->fdb_flush = r;
    return 0;
}

static void
fdb_flush_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__FdbFlushReply *r = reply->fdb_flush;

    json_begin_object(&ctx->json);
    if (r->has_n_flushed) {
        json_member_uint(&ctx->json, "n_flushed", r->n_flushed);
    } else {
        json_member_null(&ctx->json, "n_flushed");
    }
    json_end_object(&ctx->json);
}

/* ----- the table -------------------------------------------------------------- */

const struct command cmd_policy_commands[] = {
    {
        .name = "rules/show",
        .usage = "[DP]",
        .summary = "forwarding rules with their counters",
        .help = "Prints the rule table of DP (which may be omitted when\n"
                "there is only one datapath), one rule per line in\n"
                "canonical form with the packets and bytes credited to\n"
                "it, then the default rule (\"normal\" for what no rule\n"
                "matches).",
        .min_args = 0, .max_args = 1, .read_only = true,
        .build = rules_show_build_keep_dp,
        .print_text = rules_show_print_text,
        .print_json = rules_show_print_json,
    },
    {
        .name = "rules/add",
        .usage = "DP RULE...",
        .summary = "add forwarding rules",
        .help = "Adds each RULE (\"priority=100,ip,nw_dst=10.0.0.0/24,\n"
                "actions=output:2\") to DP, all or none.",
        .min_args = 2, .max_args = CMD_ARGS_UNLIMITED,
        .build = rules_add_build,
        .print_text = rules_add_print_text,
        .print_json = rules_add_print_json,
    },
    {
        .name = "rules/del",
        .usage = "DP MATCH",
        .summary = "delete forwarding rules",
        .help = "Deletes the rules of DP whose match equals MATCH\n"
                "(\"ip,nw_dst=10.0.0.0/24\"; \"\" matches every rule);\n"
                "with --priority, only those of priority P.  The change\n"
                "is saved to DP's rules file when it has one.",
        .options = rules_del_options,
        .min_args = 2, .max_args = 2,
        .build = rules_del_build,
        .print_text = rules_del_print_text,
        .print_json = rules_del_print_json,
    },
    {
        .name = "rules/replace",
        .usage = "DP FILE",
        .summary = "replace the whole rule table atomically",
        .help = "Replaces the rule table of DP with the rules in FILE (\"-\"\n"
                "for standard input), one per line: all or nothing.  An\n"
                "error names the line and column.",
        .min_args = 2, .max_args = 2,
        .build = rules_replace_build,
        .print_text = rules_replace_print_text,
        .print_json = rules_replace_print_json,
    },
    {
        .name = "fdb/show",
        .usage = "DP",
        .summary = "the MAC learning table",
        .help = "Prints the MAC addresses learned on DP with their port,\n"
                "VLAN and age in seconds.",
        .min_args = 1, .max_args = 1, .read_only = true,
        .build = fdb_show_build,
        .print_text = fdb_show_print_text,
        .print_json = fdb_show_print_json,
    },
    {
        .name = "fdb/flush",
        .usage = "DP",
        .summary = "forget every learned MAC address",
        .help = "Empties the MAC learning table of DP.",
        .min_args = 1, .max_args = 1,
        .build = fdb_flush_build,
        .print_json = fdb_flush_print_json,
    },
};
const size_t cmd_policy_n_commands = ARRAY_SIZE(cmd_policy_commands);
