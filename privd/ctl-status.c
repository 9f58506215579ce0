/* ctl-status.c — privd's status commands: procs, counters, memory/show,
 * log/set, metrics (dpifctl's cli/cmd-status.c).  Run by privd for
 * authorized control clients; the figures are privd's own and what the
 * supervisor aggregated from the workers (ctl-command.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/ds.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/timeval.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/metrics.h"
#include "privd/privd.h"
#include "privd/supervisor.h"

/* One ProcInfo from what the supervisor (or privd itself) knows. */
static Dpif__ProcInfo *
ctl_proc(struct control_ctx *ctx, const struct proc_info *info)
{
    Dpif__ProcInfo *p;
    CTX_NEW(ctx, p, dpif__proc_info__init);
    p->role = ctx_strdup(ctx, info->role);
    p->id = info->id;
    p->dp = info->dp ? ctx_strdup(ctx, info->dp) : NULL;
    p->pid = (uint32_t) info->pid;
    p->state = ctx_strdup(ctx, info->state);
    p->has_restarts = true;
    p->restarts = info->restarts;
    if (info->pid) {
        p->has_uptime_msec = true;
        p->uptime_msec = (uint64_t) (time_msec() - info->start_msec);
        if (info->uid != (uid_t) -1) {
            p->has_uid = true;
            p->uid = (uint32_t) info->uid;
            p->has_cap_eff = true;
            p->cap_eff = info->cap_eff;
        }
    }
    if (info->last_exit_reason && *info->last_exit_reason) {
        p->last_exit = ctx_strdup(ctx, info->last_exit_reason);
    }
    return p;
}

struct ctl_proc_list {
    struct control_ctx *ctx;    /* Reply memory. */
    Dpif__ProcsReply *out;      /* Where processes go. */
};

static void
ctl_proc_cb(const struct proc_info *info, void *aux)
{
    struct ctl_proc_list *l = aux;
    CTX_APPEND(l->ctx, l->out->procs, l->out->n_procs,
               ctl_proc(l->ctx, info));
}

static int
ctl_procs(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    Dpif__ProcsReply *out;
    struct proc_info self = {
        .role = "privd",
        .pid = getpid(),
        .state = "running",
        .start_msec = ctx->privd->start_msec,
        .last_exit_reason = "",
    };
    struct ctl_proc_list list;

    CTX_NEW(ctx, out, dpif__procs_reply__init);
    list = (struct ctl_proc_list) { ctx, out };
    proc_read_status(self.pid, &self.uid, &self.cap_eff);
    ctl_proc_cb(&self, &list);
    if (ctx->privd->supervisor) {
        /* The spawner and every worker. */
        supervisor_for_each_proc(ctx->privd->supervisor, ctl_proc_cb, &list);
    }
    rp->result_case = DPIF__REPLY__RESULT_PROCS;
    rp->procs = out;
    return 0;
}

static Dpif__ProcValue *
ctl_value(struct control_ctx *ctx, const char *name, uint64_t value,
          const char *process)
{
    Dpif__ProcValue *v;
    CTX_NEW(ctx, v, dpif__proc_value__init);
    v->name = ctx_strdup(ctx, name);
    v->value = value;
    v->process = process ? ctx_strdup(ctx, process) : NULL;
    return v;
}

struct ctl_counter_list {
    struct control_ctx *ctx;    /* Reply memory. */
    Dpif__CountersReply *out;   /* Where counters go. */
    const char *process;        /* Process name, NULL for sums. */
};

static void
ctl_counter_cb(const char *name, uint64_t value, void *aux)
{
    struct ctl_counter_list *l = aux;
    CTX_APPEND(l->ctx, l->out->counters, l->out->n_counters,
               ctl_value(l->ctx, name, value, l->process));
}

/* Lists one worker's counter under that worker's name. */
static void
ctl_worker_counter_cb(const char *process, const char *name, uint64_t value,
                      void *aux)
{
    struct ctl_counter_list *l = aux;
    CTX_APPEND(l->ctx, l->out->counters, l->out->n_counters,
               ctl_value(l->ctx, name, value, process));
}

/* Adds counters up by name across processes. */
struct ctl_counter_sum {
    char **names;               /* Counter names (borrowed from 'ctx'). */
    uint64_t *values;           /* Their sums. */
    size_t n, allocated;
    struct control_ctx *ctx;    /* Reply memory. */
};

static void
ctl_counter_sum_cb(const char *name, uint64_t value, void *aux)
{
    struct ctl_counter_sum *sum = aux;

    for (size_t i = 0; i < sum->n; i++) {
        if (!strcmp(sum->names[i], name)) {
            sum->values[i] += value;
            return;
        }
    }
    if (sum->n >= IPC_MAX_COUNTERS) {
        return;
    }
    if (sum->n == sum->allocated) {
        sum->allocated = sum->allocated ? sum->allocated * 2 : 64;
        sum->names = xrealloc(sum->names, sum->allocated * sizeof *sum->names);
        sum->values = xrealloc(sum->values,
                               sum->allocated * sizeof *sum->values);
    }
    sum->names[sum->n] = ctx_strdup(sum->ctx, name);
    sum->values[sum->n++] = value;
}

static int
ctl_counters(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    Dpif__CountersReply *out;
    struct ctl_counter_sum sum = { .ctx = ctx };

    CTX_NEW(ctx, out, dpif__counters_reply__init);
    counters_for_each(ctl_counter_sum_cb, &sum);
    if (ctx->privd->supervisor) {
        supervisor_for_each_counter(ctx->privd->supervisor,
                                    ctl_counter_sum_cb, &sum);
    }
    struct ctl_counter_list sums = { ctx, out, NULL };
    for (size_t i = 0; i < sum.n; i++) {
        ctl_counter_cb(sum.names[i], sum.values[i], &sums);
    }
    free(sum.names);
    free(sum.values);

    if (rq->counters->has_per_process && rq->counters->per_process) {
        struct ctl_counter_list own = { ctx, out, "privd" };
        counters_for_each(ctl_counter_cb, &own);
        if (ctx->privd->supervisor) {
            struct ctl_counter_list workers = { ctx, out, NULL };
            supervisor_for_each_worker_counter(ctx->privd->supervisor,
                                               ctl_worker_counter_cb,
                                               &workers);
        }
    }
    rp->result_case = DPIF__REPLY__RESULT_COUNTERS;
    rp->counters = out;
    return 0;
}

static uint64_t
ctl_total_flows(const struct privd *privd)
{
    uint64_t flows = 0;
    for (size_t i = 0; i < privd->n_dps; i++) {
        struct dpif_dp_stats s;
        if (!dpif_get_dp_stats(privd->dps[i]->dpif, &s)) {
            flows += s.n_flows;
        }
    }
    return flows;
}

static int
ctl_memory_show(struct control_ctx *ctx, const Dpif__Request *rq,
                Dpif__Reply *rp)
{
    Dpif__MemoryShowReply *out;
    uint64_t rss;

    CTX_NEW(ctx, out, dpif__memory_show_reply__init);
    if (!metrics_read_rss(&rss)) {
        CTX_APPEND(ctx, out->items, out->n_items,
                   ctl_value(ctx, "rss_bytes", rss, "privd"));
    }
    CTX_APPEND(ctx, out->items, out->n_items,
               ctl_value(ctx, "datapaths", ctx->privd->n_dps, "privd"));
    CTX_APPEND(ctx, out->items, out->n_items,
               ctl_value(ctx, "flows", ctl_total_flows(ctx->privd), "privd"));
    CTX_APPEND(ctx, out->items, out->n_items,
               ctl_value(ctx, "control_clients",
                         control_server_n_clients(ctx->cs), "privd"));
    CTX_APPEND(ctx, out->items, out->n_items,
               ctl_value(ctx, "capture_backlog_frames", ctx->backlog->n,
                         "privd"));
    rp->result_case = DPIF__REPLY__RESULT_MEMORY_SHOW;
    rp->memory_show = out;
    return 0;
}

static int
ctl_log_set(struct control_ctx *ctx, const Dpif__Request *rq,
            Dpif__Reply *rp)
{
    const Dpif__LogSetRequest *r = rq->log_set;
    enum log_level level;

    int error = ctl_check_name(ctx, "module", r->module);
    if (!error) {
        error = ctl_check_name(ctx, "level", r->level);
    }
    if (!error && r->process) {
        error = ctl_check_name(ctx, "process", r->process);
    }
    if (error) {
        return error;
    }
    if (r->process && strcmp(r->process, "privd")) {
        return errbuf_set(&ctx->eb, ENOENT, "no process %s", r->process);
    }
    if (log_level_from_string(r->level, &level)) {
        return ctl_invalid(ctx, EINVAL, "unknown level \"%s\" (expected "
                          "off, err, warn, info or dbg)", r->level);
    }
    if (log_set_level(r->module, level)) {
        return errbuf_set(&ctx->eb, ENOENT, "no log module %s", r->module);
    }
    Dpif__LogSetReply *out;
    CTX_NEW(ctx, out, dpif__log_set_reply__init);
    rp->result_case = DPIF__REPLY__RESULT_LOG_SET;
    rp->log_set = out;
    return 0;
}

static int
ctl_metrics(struct control_ctx *ctx, const Dpif__Request *rq,
            Dpif__Reply *rp)
{
    struct ds s;

    ds_init(&s);
    metrics_format(ctx->privd, &s);
    if (s.length > IPC_MAX_MSG - 1024 || s.length > ctx->budget) {
        size_t len = s.length;
        ds_destroy(&s);
        return errbuf_set(&ctx->eb, E2BIG, "the metrics take %zu bytes, "
                          "more than one reply holds", len);
    }
    Dpif__MetricsReply *out;
    CTX_NEW(ctx, out, dpif__metrics_reply__init);
    out->text = ctx_keep(ctx, ds_steal_cstr(&s));
    rp->result_case = DPIF__REPLY__RESULT_METRICS;
    rp->metrics = out;
    return 0;
}

static const struct control_command ctl_status_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(PROCS, "procs", READ, ctl_procs),
    CMD(COUNTERS, "counters", READ, ctl_counters),
    CMD(MEMORY_SHOW, "memory/show", READ, ctl_memory_show),
    CMD(LOG_SET, "log/set", WRITE, ctl_log_set),
    CMD(METRICS, "metrics", READ, ctl_metrics),
#undef CMD
};

const struct ctl_command_group ctl_status_group = {
    ctl_status_commands, ARRAY_SIZE(ctl_status_commands),
};
