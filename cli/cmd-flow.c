/* cmd-flow.c — flow commands: dump-flows, add-flow, mod-flow, get-flow,
 * del-flow, del-flows.
 *
 * Flows are printed the way ovs-dpctl prints them:
 *
 *     [ufid:UFID, ]KEY, packets:N, bytes:N, used:T[, flags:F], actions:A
 *
 * where KEY is the masked key (with --more: every field, masks included,
 * and the UFID first), T is "never" or the seconds since the flow was last
 * used ("0.500s"), F the TCP flags seen ("S", "SF.", ...) when any. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/text.h"
#include "common/buf.h"
#include "common/ipc-limits.h"
#include "common/odp-format.h"
#include "common/ufid.h"

/* ----- printing ------------------------------------------------------------ */

/* The formatters want 4-byte aligned streams: copy into heap memory, which
 * malloc() aligns, whatever the decoder did. */
static void *
aligned_copy(const ProtobufCBinaryData *d)
{
    return xmemdup(d->len ? d->data : (const uint8_t *) "", d->len);
}

static void
flow_put_key(struct ds *out, const Dpif__Flow *f, bool verbose)
{
    void *key = aligned_copy(&f->key);
    void *mask = f->has_mask && f->mask.len ? aligned_copy(&f->mask) : NULL;

    odp_format_key(out, key, f->key.len, mask, mask ? f->mask.len : 0,
                   verbose);
    free(key);
    free(mask);
}

static void
flow_put_actions(struct ds *out, const Dpif__Flow *f)
{
    void *actions = aligned_copy(&f->actions);

    odp_format_actions(out, actions, f->has_actions ? f->actions.len : 0);
    free(actions);
}

static void
flow_put_ufid(struct ds *out, const ProtobufCBinaryData *d)
{
    union ufid ufid;
    char s[UFID_STRLEN];

    if (d->len != sizeof ufid) {
        ds_put_cstr(out, "ufid:?");
        return;
    }
    memcpy(&ufid, d->data, sizeof ufid);
    ufid_format(&ufid, s);
    ds_put_cstr(out, s);
}

/* ovs-dpctl's dpif_flow_stats_format(). */
static void
stats_put(struct ds *out, const Dpif__FlowStats *s, long long now)
{
    uint64_t packets = s && s->has_packets ? s->packets : 0;
    uint64_t bytes = s && s->has_bytes ? s->bytes : 0;
    int64_t used = s && s->has_used_msec ? s->used_msec : 0;
    uint32_t flags = s && s->has_tcp_flags ? s->tcp_flags : 0;

    ds_put_format(out, "packets:%" PRIu64 ", bytes:%" PRIu64 ", used:",
                  packets, bytes);
    if (used) {
        long long age = now > used ? now - used : 0;
        ds_put_format(out, "%lld.%03llds", age / 1000, age % 1000);
    } else {
        ds_put_cstr(out, "never");
    }
    if (flags) {
        ds_put_cstr(out, ", flags:");
        text_put_tcp_flags(out, flags);
    }
}

static void
flow_put_text(struct cmd_ctx *ctx, const Dpif__Flow *f, bool more)
{
    struct ds *out = &ctx->out;

    if (more && f->has_ufid) {
        flow_put_ufid(out, &f->ufid);
        ds_put_cstr(out, ", ");
    }
    flow_put_key(out, f, more);
    ds_put_cstr(out, ", ");
    stats_put(out, f->stats, ctx->now_msec);
    ds_put_cstr(out, ", actions:");
    flow_put_actions(out, f);
    ds_put_char(out, '\n');
}

static void
stats_put_json(struct cmd_ctx *ctx, const Dpif__FlowStats *s)
{
    struct json_writer *jw = &ctx->json;
    int64_t used = s && s->has_used_msec ? s->used_msec : 0;
    uint32_t flags = s && s->has_tcp_flags ? s->tcp_flags : 0;
    struct ds text = DS_EMPTY_INITIALIZER;

    json_member_uint(jw, "packets", s && s->has_packets ? s->packets : 0);
    json_member_uint(jw, "bytes", s && s->has_bytes ? s->bytes : 0);
    if (used) {
        json_member_int(jw, "used_msec", used);
        json_member_int(jw, "idle_msec",
                        ctx->now_msec > used ? ctx->now_msec - used : 0);
    } else {
        json_member_null(jw, "used_msec");
        json_member_null(jw, "idle_msec");
    }
    json_member_uint(jw, "tcp_flags", flags);
    text_put_tcp_flags(&text, flags);
    json_member_string(jw, "tcp_flags_text", ds_cstr(&text));
    ds_destroy(&text);
}

static void
flow_put_json(struct cmd_ctx *ctx, const Dpif__Flow *f, bool more)
{
    struct json_writer *jw = &ctx->json;
    struct ds text = DS_EMPTY_INITIALIZER;

    json_begin_object(jw);
    if (f->has_ufid && f->ufid.len == IPC_UFID_LEN) {
        flow_put_ufid(&text, &f->ufid);
        json_member_string(jw, "ufid", ds_cstr(&text) + strlen("ufid:"));
    } else {
        json_member_null(jw, "ufid");
    }
    ds_clear(&text);
    flow_put_key(&text, f, more);
    json_member_string(jw, "match", ds_cstr(&text));
    ds_clear(&text);
    flow_put_actions(&text, f);
    json_member_string(jw, "actions", ds_cstr(&text));
    stats_put_json(ctx, f->stats);
    json_end_object(jw);
    ds_destroy(&text);
}

/* ----- parsing ------------------------------------------------------------- */

/* Copies a parsed attribute stream into the context. */
static ProtobufCBinaryData
stream_adopt(struct cmd_ctx *ctx, struct buf *b)
{
    ProtobufCBinaryData d;

    d.len = b->size;
    d.data = cmd_adopt(ctx, buf_steal_data(b));
    return d;
}

/* Parses an optional "ufid:UFID" at the start of 's' (followed by the end,
 * a comma or blanks) into '*ufid' and returns what follows; returns 's'
 * itself if it does not start with "ufid:". */
static int
parse_ufid_prefix(struct cmd_ctx *ctx, const char *what, const char *s,
                  ProtobufCBinaryData *ufid, const char **restp)
{
    union ufid u;

    if (strncmp(s, "ufid:", 5)) {
        *restp = s;
        return 0;
    }
    size_t n = ufid_parse(s, &u);
    if (!n || (s[n] && s[n] != ',' && s[n] != ' ')) {
        return cmd_usage(ctx, "%s: malformed UFID in \"%s\" (expected "
                         "ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", what,
                         s);
    }
    s += n;
    s += strspn(s, ", ");
    ufid->len = sizeof u;
    ufid->data = cmd_adopt(ctx, xmemdup(&u, sizeof u));
    *restp = s;
    return 0;
}

/* Parses flow text into key and (if 'maskp') mask streams. */
static int
parse_flow(struct cmd_ctx *ctx, const char *what, const char *s,
           ProtobufCBinaryData *keyp, ProtobufCBinaryData *maskp)
{
    struct errbuf eb = { "" };
    struct buf key, mask;

    if (!s[0]) {
        return cmd_usage(ctx, "%s is empty", what);
    }
    buf_init(&key, 0);
    buf_init(&mask, 0);
    int error = odp_parse_key(s, &key, &mask, &eb);
    if (!error && (key.size > IPC_MAX_KEY || mask.size > IPC_MAX_KEY)) {
        error = errbuf_set(&eb, E2BIG, "longer than %d bytes as a key",
                           IPC_MAX_KEY);
    }
    if (error) {
        buf_uninit(&key);
        buf_uninit(&mask);
        return cmd_usage(ctx, "%s \"%s\": %s", what, s, eb.msg);
    }
    *keyp = stream_adopt(ctx, &key);
    if (maskp) {
        *maskp = stream_adopt(ctx, &mask);
    } else {
        buf_uninit(&mask);
    }
    return 0;
}

static int
parse_actions(struct cmd_ctx *ctx, const char *s, ProtobufCBinaryData *d)
{
    struct errbuf eb = { "" };
    struct buf actions;

    buf_init(&actions, 0);
    int error = odp_parse_actions(s, &actions, &eb);
    if (!error && actions.size > IPC_MAX_ACTIONS) {
        error = errbuf_set(&eb, E2BIG, "longer than %d bytes",
                           IPC_MAX_ACTIONS);
    }
    if (error) {
        buf_uninit(&actions);
        return cmd_usage(ctx, "ACTIONS \"%s\": %s", s, eb.msg);
    }
    *d = stream_adopt(ctx, &actions);
    return 0;
}

/* Parses "{FLOW|ufid:UFID}" for get-flow and del-flow: a UFID alone, or a
 * key (masks are accepted, so that a line of dump-flows can be pasted, and
 * ignored: the datapath identifies a flow by its key). */
static int
parse_flow_id(struct cmd_ctx *ctx, const char *s, bool *is_ufid,
              ProtobufCBinaryData *d)
{
    ProtobufCBinaryData ufid = { 0, NULL };
    ProtobufCBinaryData mask;
    const char *rest;

    int error = parse_ufid_prefix(ctx, "FLOW", s, &ufid, &rest);
    if (error) {
        return error;
    }
    if (ufid.len) {
        if (rest[0]) {
            return cmd_usage(ctx, "FLOW: give either a UFID or a key, not "
                             "both");
        }
        *is_ufid = true;
        *d = ufid;
        return 0;
    }
    *is_ufid = false;
    return parse_flow(ctx, "FLOW", s, d, &mask);
}

/* ----- dump-flows ---------------------------------------------------------- */

static const struct cmd_option dump_flows_options[] = {
    { "more", 'm', NULL, "also print masked-out fields, masks and UFIDs" },
    { NULL, 0, NULL, NULL },
};

/* An argument that looks like flow text rather than a datapath name. */
static bool
looks_like_flow(const char *s)
{
    return strchr(s, '(') != NULL;
}

static int
dump_flows_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__DumpFlowsRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *dp_arg = NULL, *filter = NULL;

    dpif__dump_flows_request__init(r);
    if (ctx->n_args == 2) {
        dp_arg = cmd_arg(ctx, 0);
        filter = cmd_arg(ctx, 1);
    } else if (ctx->n_args == 1) {
        if (looks_like_flow(cmd_arg(ctx, 0))) {
            filter = cmd_arg(ctx, 0);
        } else {
            dp_arg = cmd_arg(ctx, 0);
        }
    }
    if (filter) {
        int error = parse_flow(ctx, "FILTER", filter, &r->filter_key,
                               &r->filter_mask);
        if (error) {
            return error;
        }
        r->has_filter_key = r->has_filter_mask = true;
    }
    int error = cmd_resolve_dp(ctx, dp_arg, &r->dp);
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_DUMP_FLOWS;
    req->dump_flows = r;
    return 0;
}

static bool
dump_flows_next(struct cmd_ctx *ctx, const Dpif__Reply *reply,
                Dpif__Request *req)
{
    const Dpif__DumpFlowsReply *r = reply->dump_flows;
    Dpif__DumpFlowsRequest *dfr = req->dump_flows;

    if (!r->more) {
        return false;
    }
    if (!r->has_cursor || !r->cursor.len || r->cursor.len > IPC_MAX_CURSOR) {
        cmd_fail(ctx, EPROTO, "dpifd announced more flows without a valid "
                 "cursor");
        return false;
    }
    dfr->has_cursor = true;
    dfr->cursor.len = r->cursor.len;
    dfr->cursor.data = cmd_adopt(ctx, xmemdup(r->cursor.data,
                                              r->cursor.len));
    return true;
}

static void
dump_flows_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__DumpFlowsReply *r = reply->dump_flows;
    bool more = cmd_has_opt(ctx, "more");

    for (size_t i = 0; i < r->n_flows; i++) {
        flow_put_text(ctx, r->flows[i], more);
    }
}

static void
dump_flows_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__DumpFlowsReply *r = reply->dump_flows;
    bool more = cmd_has_opt(ctx, "more");
    struct json_writer *jw = &ctx->json;

    if (!ctx->n_replies) {
        json_begin_object(jw);
        json_key(jw, "flows");
        json_begin_array(jw);
    }
    for (size_t i = 0; i < r->n_flows; i++) {
        flow_put_json(ctx, r->flows[i], more);
    }
    if (!r->more) {
        json_end_array(jw);
        json_end_object(jw);
    }
}

/* ----- add-flow, mod-flow -------------------------------------------------- */

static int
add_flow_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__AddFlowRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *key_text;

    dpif__add_flow_request__init(r);
    int error = parse_ufid_prefix(ctx, "FLOW", cmd_arg(ctx, 1), &r->ufid,
                                  &key_text);
    if (!error) {
        error = parse_flow(ctx, "FLOW", key_text, &r->key, &r->mask);
    }
    if (!error) {
        error = parse_actions(ctx, cmd_arg(ctx, 2), &r->actions);
    }
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    if (error) {
        return error;
    }
    r->has_ufid = r->ufid.len != 0;
    r->has_mask = true;
    req->command_case = DPIF__REQUEST__COMMAND_ADD_FLOW;
    req->add_flow = r;
    return 0;
}

static void
add_flow_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    flow_put_ufid(&s, &reply->add_flow->ufid);
    json_begin_object(&ctx->json);
    json_member_string(&ctx->json, "ufid", ds_cstr(&s) + strlen("ufid:"));
    json_end_object(&ctx->json);
    ds_destroy(&s);
}

static const struct cmd_option mod_flow_options[] = {
    { "may-create", 0, NULL, "create the flow if it does not exist" },
    { "clear", 0, NULL, "zero the flow's statistics" },
    { "statistics", 's', NULL, "print the statistics before the change" },
    { NULL, 0, NULL, NULL },
};

static int
mod_flow_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__ModFlowRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *key_text;

    dpif__mod_flow_request__init(r);
    int error = parse_ufid_prefix(ctx, "FLOW", cmd_arg(ctx, 1), &r->ufid,
                                  &key_text);
    if (!error) {
        error = parse_flow(ctx, "FLOW", key_text, &r->key, &r->mask);
    }
    if (!error) {
        error = parse_actions(ctx, cmd_arg(ctx, 2), &r->actions);
    }
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    if (error) {
        return error;
    }
    r->has_ufid = r->ufid.len != 0;
    r->has_mask = true;
    if (cmd_has_opt(ctx, "may-create")) {
        r->has_may_create = r->may_create = true;
    }
    if (cmd_has_opt(ctx, "clear")) {
        r->has_zero_stats = r->zero_stats = true;
    }
    req->command_case = DPIF__REQUEST__COMMAND_MOD_FLOW;
    req->mod_flow = r;
    return 0;
}

/* mod-flow -s and del-flow -s print the statistics the reply carries. */
static void
stats_print_text(struct cmd_ctx *ctx, const Dpif__FlowStats *stats)
{
    if (cmd_has_opt(ctx, "statistics")) {
        stats_put(&ctx->out, stats, ctx->now_msec);
        ds_put_char(&ctx->out, '\n');
    }
}

static void
stats_print_json(struct cmd_ctx *ctx, const Dpif__FlowStats *stats)
{
    json_begin_object(&ctx->json);
    if (stats) {
        json_key(&ctx->json, "stats");
        json_begin_object(&ctx->json);
        stats_put_json(ctx, stats);
        json_end_object(&ctx->json);
    } else {
        json_member_null(&ctx->json, "stats");
    }
    json_end_object(&ctx->json);
}

static void
mod_flow_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    stats_print_text(ctx, reply->mod_flow->stats);
}

static void
mod_flow_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    stats_print_json(ctx, reply->mod_flow->stats);
}

/* ----- get-flow, del-flow, del-flows --------------------------------------- */

static int
get_flow_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__GetFlowRequest *r = cmd_alloc(ctx, sizeof *r);
    ProtobufCBinaryData id;
    bool is_ufid;

    dpif__get_flow_request__init(r);
    int error = parse_flow_id(ctx, cmd_arg(ctx, 1), &is_ufid, &id);
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    if (error) {
        return error;
    }
    if (is_ufid) {
        r->id_case = DPIF__GET_FLOW_REQUEST__ID_UFID;
        r->ufid = id;
    } else {
        r->id_case = DPIF__GET_FLOW_REQUEST__ID_KEY;
        r->key = id;
    }
    req->command_case = DPIF__REQUEST__COMMAND_GET_FLOW;
    req->get_flow = r;
    return 0;
}

static void
get_flow_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    flow_put_text(ctx, reply->get_flow->flow, cmd_has_opt(ctx, "more"));
}

static void
get_flow_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    json_begin_object(&ctx->json);
    json_key(&ctx->json, "flow");
    flow_put_json(ctx, reply->get_flow->flow, cmd_has_opt(ctx, "more"));
    json_end_object(&ctx->json);
}

static const struct cmd_option del_flow_options[] = {
    { "statistics", 's', NULL, "print the flow's final statistics" },
    { NULL, 0, NULL, NULL },
};

static int
del_flow_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__DelFlowRequest *r = cmd_alloc(ctx, sizeof *r);
    ProtobufCBinaryData id;
    bool is_ufid;

    dpif__del_flow_request__init(r);
    int error = parse_flow_id(ctx, cmd_arg(ctx, 1), &is_ufid, &id);
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    if (error) {
        return error;
    }
    if (is_ufid) {
        r->id_case = DPIF__DEL_FLOW_REQUEST__ID_UFID;
        r->ufid = id;
    } else {
        r->id_case = DPIF__DEL_FLOW_REQUEST__ID_KEY;
        r->key = id;
    }
    req->command_case = DPIF__REQUEST__COMMAND_DEL_FLOW;
    req->del_flow = r;
    return 0;
}

static void
del_flow_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    stats_print_text(ctx, reply->del_flow->stats);
}

static void
del_flow_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    stats_print_json(ctx, reply->del_flow->stats);
}

static int
del_flows_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__DelFlowsRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__del_flows_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_DEL_FLOWS;
    req->del_flows = r;
    return 0;
}

static void
del_flows_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__DelFlowsReply *r = reply->del_flows;

    json_begin_object(&ctx->json);
    if (r->has_n_deleted) {
        json_member_uint(&ctx->json, "n_deleted", r->n_deleted);
    } else {
        json_member_null(&ctx->json, "n_deleted");
    }
    json_end_object(&ctx->json);
}

/* ----- the table ------------------------------------------------------------ */

static const struct cmd_option get_flow_options[] = {
    { "more", 'm', NULL, "also print masked-out fields, masks and the UFID" },
    { NULL, 0, NULL, NULL },
};

const struct command cmd_flow_commands[] = {
    {
        .name = "dump-flows",
        .usage = "[DP] [FILTER]",
        .summary = "datapath flows, in ovs-dpctl's format",
        .help = "Prints every flow of DP (which may be omitted when there\n"
                "is only one datapath) as\n"
                "  KEY, packets:N, bytes:N, used:T, flags:F, actions:A\n"
                "FILTER is a flow in the same syntax (\"eth_type(0x0806)\",\n"
                "\"in_port(1),ipv4(dst=10.0.0.0/255.0.0.0)\"): only flows\n"
                "whose key matches every field it gives are printed.",
        .options = dump_flows_options,
        .min_args = 0, .max_args = 2, .read_only = true,
        .build = dump_flows_build,
        .print_text = dump_flows_print_text,
        .print_json = dump_flows_print_json,
        .next = dump_flows_next,
    },
    {
        .name = "add-flow",
        .usage = "DP FLOW ACTIONS",
        .summary = "install a flow",
        .help = "Installs a flow that must not exist yet, bypassing the\n"
                "handlers (revalidation will judge it like any other).\n"
                "FLOW is a key with optional /masks, optionally preceded\n"
                "by \"ufid:UFID,\"; ACTIONS as dump-flows prints them\n"
                "(\"2\", \"set(ipv4(ttl=63)),3\", \"drop\").",
        .min_args = 3, .max_args = 3,
        .build = add_flow_build,
        .print_json = add_flow_print_json,
    },
    {
        .name = "mod-flow",
        .usage = "DP FLOW ACTIONS",
        .summary = "change the actions of a flow",
        .help = "Replaces the actions of the flow FLOW (as for add-flow).",
        .options = mod_flow_options,
        .min_args = 3, .max_args = 3,
        .build = mod_flow_build,
        .print_text = mod_flow_print_text,
        .print_json = mod_flow_print_json,
    },
    {
        .name = "get-flow",
        .usage = "DP {FLOW|ufid:UFID}",
        .summary = "one flow, by key or UFID",
        .help = "Prints the flow whose key is FLOW, or whose UFID is UFID,\n"
                "as dump-flows does.",
        .options = get_flow_options,
        .min_args = 2, .max_args = 2, .read_only = true,
        .build = get_flow_build,
        .print_text = get_flow_print_text,
        .print_json = get_flow_print_json,
    },
    {
        .name = "del-flow",
        .usage = "DP {FLOW|ufid:UFID}",
        .summary = "delete one flow",
        .help = "Deletes the flow whose key is FLOW, or whose UFID is UFID.",
        .options = del_flow_options,
        .min_args = 2, .max_args = 2,
        .build = del_flow_build,
        .print_text = del_flow_print_text,
        .print_json = del_flow_print_json,
    },
    {
        .name = "del-flows",
        .usage = "DP",
        .summary = "delete every flow of a datapath",
        .help = "Deletes every flow of DP.",
        .min_args = 1, .max_args = 1,
        .build = del_flows_build,
        .print_json = del_flows_print_json,
    },
};
const size_t cmd_flow_n_commands = ARRAY_SIZE(cmd_flow_commands);
