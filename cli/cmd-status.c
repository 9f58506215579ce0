/* cmd-status.c — process and health commands: procs, counters,
 * memory/show, log/set, metrics. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cap-ng.h>

#include "cli/commands.h"
#include "cli/text.h"
#include "common/ipc-limits.h"

/* ----- procs --------------------------------------------------------------- */

/* The name of capability 'bit' ("net_admin"), or "capN" for a bit that
 * libcap-ng does not know, in 'buf'. */
static const char *
cap_name(unsigned int bit, char buf[16])
{
    const char *name = capng_capability_to_name(bit);
    if (name) {
        return name;
    }
    snprintf(buf, 16, "cap%u", bit);
    return buf;
}

/* Appends the capability names of the set 'caps' ("net_admin,net_raw"),
 * "none" for the empty set. */
static void
caps_put(struct ds *out, uint64_t caps)
{
    bool first = true;
    char buf[16];

    if (!caps) {
        ds_put_cstr(out, "none");
        return;
    }
    for (unsigned int bit = 0; bit < 64; bit++) {
        if (caps & (UINT64_C(1) << bit)) {
            ds_put_format(out, "%s%s", first ? "" : ",", cap_name(bit, buf));
            first = false;
        }
    }
}

static int
procs_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__ProcsRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__procs_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_PROCS;
    req->procs = r;
    return 0;
}

static void
procs_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__ProcsReply *r = reply->procs;
    struct table t;

    table_init(&t, 10);
    table_set_column(&t, 0, "ROLE", false);
    table_set_column(&t, 1, "ID", true);
    table_set_column(&t, 2, "DP", false);
    table_set_column(&t, 3, "PID", true);
    table_set_column(&t, 4, "UID", true);
    table_set_column(&t, 5, "CAPABILITIES", false);
    table_set_column(&t, 6, "STATE", false);
    table_set_column(&t, 7, "RESTARTS", true);
    table_set_column(&t, 8, "UPTIME", true);
    table_set_column(&t, 9, "LAST EXIT", false);
    for (size_t i = 0; i < r->n_procs; i++) {
        const Dpif__ProcInfo *p = r->procs[i];

        table_add_row(&t);
        table_put(&t, 0, "%s", p->role);
        table_put(&t, 1, "%" PRIu32, p->id);
        table_put(&t, 2, "%s", p->dp ? p->dp : "-");
        if (p->pid) {
            table_put(&t, 3, "%" PRIu32, p->pid);
        } else {
            table_put(&t, 3, "-");
        }
        if (p->has_uid) {
            table_put(&t, 4, "%" PRIu32, p->uid);
        } else {
            table_put(&t, 4, "-");
        }
        if (p->has_cap_eff) {
            struct ds caps = DS_EMPTY_INITIALIZER;
            caps_put(&caps, p->cap_eff);
            table_put(&t, 5, "%s", ds_cstr(&caps));
            ds_destroy(&caps);
        } else {
            table_put(&t, 5, "-");
        }
        table_put(&t, 6, "%s", p->state);
        table_put(&t, 7, "%" PRIu32, p->has_restarts ? p->restarts : 0);
        if (p->has_uptime_msec && p->pid) {
            struct ds d = DS_EMPTY_INITIALIZER;
            text_put_duration(&d, p->uptime_msec);
            table_put(&t, 8, "%s", ds_cstr(&d));
            ds_destroy(&d);
        } else {
            table_put(&t, 8, "-");
        }
        table_put(&t, 9, "%s", p->last_exit ? p->last_exit : "-");
    }
    table_format(&t, "", &ctx->out);
    table_destroy(&t);
}

static void
procs_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__ProcsReply *r = reply->procs;
    struct json_writer *jw = &ctx->json;

    json_begin_object(jw);
    json_key(jw, "processes");
    json_begin_array(jw);
    for (size_t i = 0; i < r->n_procs; i++) {
        const Dpif__ProcInfo *p = r->procs[i];

        json_begin_object(jw);
        json_member_string(jw, "role", p->role);
        json_member_uint(jw, "id", p->id);
        json_member_string(jw, "dp", p->dp);
        json_member_uint(jw, "pid", p->pid);
        if (p->has_uid) {
            json_member_uint(jw, "uid", p->uid);
        } else {
            json_member_null(jw, "uid");
        }
        json_key(jw, "capabilities");
        if (p->has_cap_eff) {
            json_begin_array(jw);
            for (unsigned int bit = 0; bit < 64; bit++) {
                if (p->cap_eff & (UINT64_C(1) << bit)) {
                    char buf[16];
                    json_string(jw, cap_name(bit, buf));
                }
            }
            json_end_array(jw);
        } else {
            json_null(jw);
        }
        json_member_string(jw, "state", p->state);
        json_member_uint(jw, "restarts", p->has_restarts ? p->restarts : 0);
        if (p->has_uptime_msec) {
            json_member_uint(jw, "uptime_msec", p->uptime_msec);
        } else {
            json_member_null(jw, "uptime_msec");
        }
        json_member_string(jw, "last_exit", p->last_exit);
        json_end_object(jw);
    }
    json_end_array(jw);
    json_end_object(jw);
}

/* ----- counters, memory/show ------------------------------------------------ */

static const struct cmd_option counters_options[] = {
    { "per-process", 'p', NULL, "also list each process's values" },
    { NULL, 0, NULL, NULL },
};

static int
counters_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__CountersRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__counters_request__init(r);
    if (cmd_has_opt(ctx, "per-process")) {
        r->has_per_process = r->per_process = true;
    }
    req->command_case = DPIF__REQUEST__COMMAND_COUNTERS;
    req->counters = r;
    return 0;
}

/* NAME [PROCESS] VALUE; the PROCESS column only when some value is not a
 * sum. */
static void
values_print_text(struct ds *out, const char *name_header,
                  Dpif__ProcValue *const *values, size_t n)
{
    bool per_process = false;
    struct table t;

    for (size_t i = 0; i < n; i++) {
        per_process |= values[i]->process != NULL;
    }
    table_init(&t, per_process ? 3 : 2);
    table_set_column(&t, 0, name_header, false);
    if (per_process) {
        table_set_column(&t, 1, "PROCESS", false);
    }
    table_set_column(&t, per_process ? 2 : 1, "VALUE", true);
    for (size_t i = 0; i < n; i++) {
        table_add_row(&t);
        table_put(&t, 0, "%s", values[i]->name);
        if (per_process) {
            table_put(&t, 1, "%s",
                      values[i]->process ? values[i]->process : "(total)");
        }
        table_put(&t, per_process ? 2 : 1, "%" PRIu64, values[i]->value);
    }
    table_format(&t, "", out);
    table_destroy(&t);
}

static void
values_print_json(struct json_writer *jw, const char *key,
                  Dpif__ProcValue *const *values, size_t n)
{
    json_begin_object(jw);
    json_key(jw, key);
    json_begin_array(jw);
    for (size_t i = 0; i < n; i++) {
        json_begin_object(jw);
        json_member_string(jw, "name", values[i]->name);
        json_member_string(jw, "process", values[i]->process);
        json_member_uint(jw, "value", values[i]->value);
        json_end_object(jw);
    }
    json_end_array(jw);
    json_end_object(jw);
}

static void
counters_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    values_print_text(&ctx->out, "COUNTER", reply->counters->counters,
                      reply->counters->n_counters);
}

static void
counters_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    values_print_json(&ctx->json, "counters", reply->counters->counters,
                      reply->counters->n_counters);
}

static int
memory_show_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__MemoryShowRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__memory_show_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_MEMORY_SHOW;
    req->memory_show = r;
    return 0;
}

static void
memory_show_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    values_print_text(&ctx->out, "GAUGE", reply->memory_show->items,
                      reply->memory_show->n_items);
}

static void
memory_show_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    values_print_json(&ctx->json, "items", reply->memory_show->items,
                      reply->memory_show->n_items);
}

/* ----- log/set ------------------------------------------------------------------ */

static const struct cmd_option log_set_options[] = {
    { "process", 'p', "PROC", "only process PROC (\"privd\", \"handler3\")" },
    { NULL, 0, NULL, NULL },
};

static int
log_set_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    static const char *const levels[] = {
        "off", "err", "warn", "info", "dbg",
    };
    Dpif__LogSetRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *module = cmd_arg(ctx, 0);
    const char *level = cmd_arg(ctx, 1);
    const char *process = cmd_opt(ctx, "process");

    dpif__log_set_request__init(r);
    if (!module[0] || strlen(module) > IPC_MAX_NAME) {
        return cmd_usage(ctx, "MODULE \"%s\" is empty or longer than %d "
                         "bytes", module, IPC_MAX_NAME);
    }
    if (process && (!process[0] || strlen(process) > IPC_MAX_NAME)) {
        return cmd_usage(ctx, "--process \"%s\" is empty or longer than %d "
                         "bytes", process, IPC_MAX_NAME);
    }
    /* The daemon's spellings, plus the long ones people type. */
    if (!strcmp(level, "debug")) {
        level = "dbg";
    } else if (!strcmp(level, "error")) {
        level = "err";
    } else if (!strcmp(level, "warning")) {
        level = "warn";
    }
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
        if (!strcmp(level, levels[i])) {
            r->module = (char *) module;
            r->level = (char *) levels[i];
            r->process = (char *) process;
            req->command_case = DPIF__REQUEST__COMMAND_LOG_SET;
            req->log_set = r;
            return 0;
        }
    }
    return cmd_usage(ctx, "unknown level \"%s\" (off, err, warn, info or "
                     "dbg)", level);
}

/* ----- metrics ---------------------------------------------------------------------- */

static int
metrics_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__MetricsRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__metrics_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_METRICS;
    req->metrics = r;
    return 0;
}

static void
metrics_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const char *text = reply->metrics->text;
    size_t len = strlen(text);

    text_put_safe(&ctx->out, text, len, true);
    if (len && text[len - 1] != '\n') {
        ds_put_char(&ctx->out, '\n');
    }
}

static void
metrics_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    json_begin_object(&ctx->json);
    json_member_string(&ctx->json, "format", "prometheus-text-0.0.4");
    json_member_string(&ctx->json, "text", reply->metrics->text);
    json_end_object(&ctx->json);
}

/* ----- the table --------------------------------------------------------------------- */

const struct command cmd_status_commands[] = {
    {
        .name = "procs",
        .usage = "",
        .summary = "the supervised processes",
        .help = "Prints privd, the spawner and every worker with its\n"
                "datapath, pid, uid, effective capabilities, state,\n"
                "restarts, uptime and why it last exited.",
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = procs_build,
        .print_text = procs_print_text,
        .print_json = procs_print_json,
    },
    {
        .name = "counters",
        .usage = "",
        .summary = "every named anomaly counter",
        .help = "Prints every named counter (drops, protocol violations,\n"
                "limits hit...) summed over the processes.",
        .options = counters_options,
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = counters_build,
        .print_text = counters_print_text,
        .print_json = counters_print_json,
    },
    {
        .name = "memory/show",
        .usage = "",
        .summary = "memory gauges of every process",
        .help = "Prints the memory gauges (ukeys, flows, buffers...) of\n"
                "every process.",
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = memory_show_build,
        .print_text = memory_show_print_text,
        .print_json = memory_show_print_json,
    },
    {
        .name = "log/set",
        .usage = "MODULE LEVEL",
        .summary = "change a log level",
        .help = "Sets the log level of MODULE (\"ANY\" for all) to LEVEL:\n"
                "off, err, warn, info or dbg.",
        .options = log_set_options,
        .min_args = 2, .max_args = 2,
        .build = log_set_build,
    },
    {
        .name = "metrics",
        .usage = "",
        .summary = "metrics in the Prometheus text format",
        .help = "Prints counters and gauges (datapath statistics, upcalls,\n"
                "flows, flow limit, dump duration, restarts, anomaly\n"
                "counters) in the Prometheus text exposition format.",
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = metrics_build,
        .print_text = metrics_print_text,
        .print_json = metrics_print_json,
    },
};
const size_t cmd_status_n_commands = ARRAY_SIZE(cmd_status_commands);
