/* cmd-upcall.c — upcall and revalidation commands: upcall/show,
 * upcall/set-flow-limit, upcall/enable-megaflows,
 * upcall/disable-megaflows, revalidator/wait, revalidator/purge. */
#include <inttypes.h>

#include "cli/commands.h"
#include "cli/text.h"
#include "common/ipc-limits.h"

/* ----- upcall/show ------------------------------------------------------- */

static int
upcall_show_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__UpcallShowRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__upcall_show_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_UPCALL_SHOW;
    req->upcall_show = r;
    return 0;
}

static void
put_optional(struct ds *out, bool has, uint64_t v)
{
    if (has) {
        ds_put_format(out, "%" PRIu64, v);
    } else {
        ds_put_char(out, '-');
    }
}

static void
workers_print_text(struct ds *out, const char *role, const char *count,
                   Dpif__WorkerInfo *const *workers, size_t n)
{
    struct table t;

    ds_put_format(out, "  %-13s : %zu\n", role, n);
    if (!n) {
        return;
    }
    table_init(&t, 3);
    table_set_column(&t, 0, "ID", true);
    table_set_column(&t, 1, "PID", true);
    table_set_column(&t, 2, count, true);
    for (size_t i = 0; i < n; i++) {
        table_add_row(&t);
        table_put(&t, 0, "%" PRIu32, workers[i]->id);
        if (workers[i]->pid) {
            table_put(&t, 1, "%" PRIu32, workers[i]->pid);
        } else {
            table_put(&t, 1, "(respawning)");
        }
        if (workers[i]->has_count) {
            table_put(&t, 2, "%" PRIu64, workers[i]->count);
        } else {
            table_put(&t, 2, "-");
        }
    }
    table_format(&t, "    ", out);
    table_destroy(&t);
}

static void
upcall_show_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__UpcallShowReply *r = reply->upcall_show;
    struct ds *out = &ctx->out;

    for (size_t i = 0; i < r->n_dps; i++) {
        const Dpif__DpUpcallInfo *d = r->dps[i];

        if (i) {
            ds_put_char(out, '\n');
        }
        text_put_safe_cstr(out, d->dp);
        ds_put_format(out, ":\n  flows         : (current %" PRIu64 ") (avg ",
                      d->flow_count);
        put_optional(out, d->has_avg_flows, d->avg_flows);
        ds_put_cstr(out, ") (max ");
        put_optional(out, d->has_max_flows, d->max_flows);
        ds_put_format(out, ") (limit %" PRIu32 ")\n", d->flow_limit);
        ds_put_cstr(out, "  dump duration : ");
        if (d->has_dump_duration_msec) {
            ds_put_format(out, "%" PRIu64 "ms\n", d->dump_duration_msec);
        } else {
            ds_put_cstr(out, "-\n");
        }
        ds_put_format(out, "  megaflows     : %s\n",
                      d->megaflows ? "enabled" : "disabled");
        workers_print_text(out, "handlers", "UPCALLS", d->handlers,
                           d->n_handlers);
        workers_print_text(out, "revalidators", "KEYS", d->revalidators,
                           d->n_revalidators);
    }
}

static void
json_member_optional(struct json_writer *jw, const char *key, bool has,
                     uint64_t v)
{
    if (has) {
        json_member_uint(jw, key, v);
    } else {
        json_member_null(jw, key);
    }
}

static void
workers_print_json(struct json_writer *jw, const char *role,
                   const char *count, Dpif__WorkerInfo *const *workers,
                   size_t n)
{
    json_key(jw, role);
    json_begin_array(jw);
    for (size_t i = 0; i < n; i++) {
        json_begin_object(jw);
        json_member_uint(jw, "id", workers[i]->id);
        json_member_uint(jw, "pid", workers[i]->pid);
        json_member_optional(jw, count, workers[i]->has_count,
                             workers[i]->count);
        json_end_object(jw);
    }
    json_end_array(jw);
}

static void
upcall_show_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__UpcallShowReply *r = reply->upcall_show;
    struct json_writer *jw = &ctx->json;

    json_begin_object(jw);
    json_key(jw, "datapaths");
    json_begin_array(jw);
    for (size_t i = 0; i < r->n_dps; i++) {
        const Dpif__DpUpcallInfo *d = r->dps[i];

        json_begin_object(jw);
        json_member_string(jw, "dp", d->dp);
        json_key(jw, "flows");
        json_begin_object(jw);
        json_member_uint(jw, "current", d->flow_count);
        json_member_optional(jw, "avg", d->has_avg_flows, d->avg_flows);
        json_member_optional(jw, "max", d->has_max_flows, d->max_flows);
        json_member_uint(jw, "limit", d->flow_limit);
        json_end_object(jw);
        json_member_optional(jw, "dump_duration_msec",
                             d->has_dump_duration_msec,
                             d->dump_duration_msec);
        json_member_bool(jw, "megaflows", d->megaflows);
        workers_print_json(jw, "handlers", "upcalls", d->handlers,
                           d->n_handlers);
        workers_print_json(jw, "revalidators", "keys", d->revalidators,
                           d->n_revalidators);
        json_end_object(jw);
    }
    json_end_array(jw);
    json_end_object(jw);
}

/* ----- the simple changes ------------------------------------------------ */

static int
set_flow_limit_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__SetFlowLimitRequest *r = cmd_alloc(ctx, sizeof *r);
    uint64_t v;

    int error = cmd_parse_uint(ctx, "flow limit", cmd_arg(ctx, 0), 1,
                               IPC_MAX_FLOW_LIMIT, &v);
    if (error) {
        return error;
    }
    dpif__set_flow_limit_request__init(r);
    r->flow_limit = (uint32_t) v;
    req->command_case = DPIF__REQUEST__COMMAND_SET_FLOW_LIMIT;
    req->set_flow_limit = r;
    return 0;
}

static int
enable_megaflows_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__EnableMegaflowsRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__enable_megaflows_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_ENABLE_MEGAFLOWS;
    req->enable_megaflows = r;
    return 0;
}

static int
disable_megaflows_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__DisableMegaflowsRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__disable_megaflows_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_DISABLE_MEGAFLOWS;
    req->disable_megaflows = r;
    return 0;
}

static int
revalidator_wait_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__RevalidatorWaitRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__revalidator_wait_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_REVALIDATOR_WAIT;
    req->revalidator_wait = r;
    return 0;
}

static int
revalidator_purge_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__RevalidatorPurgeRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__revalidator_purge_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_REVALIDATOR_PURGE;
    req->revalidator_purge = r;
    return 0;
}

static void
revalidator_purge_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__RevalidatorPurgeReply *r = reply->revalidator_purge;

    json_begin_object(&ctx->json);
    json_member_optional(&ctx->json, "n_purged", r->has_n_purged,
                         r->n_purged);
    json_end_object(&ctx->json);
}

/* ----- the table ------------------------------------------------------------ */

const struct command cmd_upcall_commands[] = {
    {
        .name = "upcall/show",
        .usage = "",
        .summary = "flow counts, limits and workers per datapath",
        .help = "Prints, per datapath, the flow count (current, average,\n"
                "maximum, limit), the last dump's duration, whether\n"
                "megaflows are on, and the handler and revalidator\n"
                "processes with their upcall and ukey counts.",
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = upcall_show_build,
        .print_text = upcall_show_print_text,
        .print_json = upcall_show_print_json,
    },
    {
        .name = "upcall/set-flow-limit",
        .usage = "N",
        .summary = "set the flow limit",
        .help = "Sets the upper bound of the dynamic flow limit to N\n"
                "(1..10000000).",
        .min_args = 1, .max_args = 1,
        .build = set_flow_limit_build,
    },
    {
        .name = "upcall/enable-megaflows",
        .usage = "",
        .summary = "install masked flows (the default)",
        .help = "Turns megaflows on; a change flushes every flow (the\n"
                "command returns once that is done).",
        .min_args = 0, .max_args = 0,
        .build = enable_megaflows_build,
    },
    {
        .name = "upcall/disable-megaflows",
        .usage = "",
        .summary = "install exact-match flows only",
        .help = "Turns megaflows off (every flow an exact match, for\n"
                "debugging); a change flushes every flow (the command\n"
                "returns once that is done).",
        .min_args = 0, .max_args = 0,
        .build = disable_megaflows_build,
    },
    {
        .name = "revalidator/wait",
        .usage = "",
        .summary = "wait for a full revalidation round",
        .help = "Returns once every revalidator of every datapath has\n"
                "completed a round that started after the request.\n"
                "Subject to --timeout like any command.",
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = revalidator_wait_build,
    },
    {
        .name = "revalidator/purge",
        .usage = "",
        .summary = "delete every flow and ukey",
        .help = "Deletes every datapath flow and every ukey.",
        .min_args = 0, .max_args = 0,
        .build = revalidator_purge_build,
        .print_json = revalidator_purge_print_json,
    },
};
const size_t cmd_upcall_n_commands = ARRAY_SIZE(cmd_upcall_commands);
