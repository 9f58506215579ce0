/* ctl-upcall.c — privd's upcall and revalidator commands: upcall/show,
 * upcall/set-flow-limit, upcall/enable-megaflows,
 * upcall/disable-megaflows, revalidator/wait, revalidator/purge (dpifctl's
 * cli/cmd-upcall.c).  Run by privd for authorized control clients; the
 * waiting commands park their reply on the server (ctl_park_cycles()). */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ipc.h"
#include "common/timeval.h"
#include "common/worker.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/flow-limit.h"
#include "privd/privd.h"
#include "privd/supervisor.h"

/* One WorkerInfo for upcall/show: 'counter' from the worker's latest
 * CounterReport is its count. */
static Dpif__WorkerInfo *
ctl_worker_info(struct control_ctx *ctx, const struct privd_dp *dp,
                int role, unsigned int index, const char *counter)
{
    Dpif__WorkerInfo *w;
    pid_t pid;
    uint64_t value;

    CTX_NEW(ctx, w, dpif__worker_info__init);
    w->id = index;
    w->has_count = supervisor_get_worker_counter(ctx->privd->supervisor, dp,
                                                 role, index, counter, &pid,
                                                 &value);
    w->count = w->has_count ? value : 0;
    w->pid = (uint32_t) pid;
    return w;
}

static int
ctl_upcall_show(struct control_ctx *ctx, const Dpif__Request *rq,
                Dpif__Reply *rp)
{
    const struct privd *privd = ctx->privd;
    struct supervisor *sup = privd->supervisor;
    Dpif__UpcallShowReply *out;

    (void) rq;
    CTX_NEW(ctx, out, dpif__upcall_show_reply__init);
    for (size_t i = 0; i < privd->n_dps && i < IPC_MAX_DATAPATHS; i++) {
        const struct dpif *dpif = privd->dps[i]->dpif;
        struct dump_pump *pump = ctl_pump_of(privd, dpif);
        struct dpif_dp_stats stats;
        Dpif__DpUpcallInfo *d;

        CTX_NEW(ctx, d, dpif__dp_upcall_info__init);
        d->dp = ctx_strdup(ctx, dpif_name(dpif));
        if (pump) {
            struct dump_pump_show show;
            dump_pump_get_show(pump, &show);
            d->flow_count = show.flow_count;
            d->flow_limit = show.flow_limit;
            d->megaflows = show.megaflows;
            /* Averages and durations exist once a dump completed. */
            d->has_avg_flows = d->has_max_flows = d->has_dump_duration_msec
                = show.dump_seq > 0;
            d->avg_flows = show.avg_flows;
            d->max_flows = show.max_flows;
            d->dump_duration_msec = (uint64_t) MAX(show.dump_duration_msec,
                                                   0);
            unsigned int n_handlers = supervisor_n_workers(
                sup, WORKER_ROLE_HANDLER);
            unsigned int n_revalidators = supervisor_n_workers(
                sup, WORKER_ROLE_REVALIDATOR);
            for (unsigned int j = 0; j < n_handlers; j++) {
                CTX_APPEND(ctx, d->handlers, d->n_handlers,
                           ctl_worker_info(ctx, privd->dps[i],
                                           WORKER_ROLE_HANDLER, j,
                                           "handler_upcalls_received"));
            }
            for (unsigned int j = 0; j < n_revalidators; j++) {
                CTX_APPEND(ctx, d->revalidators, d->n_revalidators,
                           ctl_worker_info(ctx, privd->dps[i],
                                           WORKER_ROLE_REVALIDATOR, j,
                                           "ukeys"));
            }
        } else {
            struct flow_limit fl;
            flow_limit_init(&fl, privd->cfg.flow_limit);
            d->flow_limit = fl.limit;
            d->megaflows = true;
        }
        /* The datapath's own count is the current one, as in the seeds. */
        if (!dpif_get_dp_stats(dpif, &stats)) {
            d->flow_count = stats.n_flows;
        }
        CTX_APPEND(ctx, out->dps, out->n_dps, d);
    }
    if (sup) {
        /* Fresher key counts for the next upcall/show. */
        supervisor_request_reports(sup);
    }
    rp->result_case = DPIF__REPLY__RESULT_UPCALL_SHOW;
    rp->upcall_show = out;
    return 0;
}

static int
ctl_set_flow_limit(struct control_ctx *ctx, const Dpif__Request *rq,
                   Dpif__Reply *rp)
{
    uint32_t limit = rq->set_flow_limit->flow_limit;
    const struct privd *privd = ctx->privd;

    if (limit < 1 || limit > IPC_MAX_FLOW_LIMIT) {
        return ctl_invalid(ctx, EINVAL, "flow limit %" PRIu32 " is not "
                          "in 1..%d", limit, IPC_MAX_FLOW_LIMIT);
    }
    int error = ctl_check_workers(ctx);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < privd->n_dps; i++) {
        struct dump_pump *pump = ctl_pump_of(privd, privd->dps[i]->dpif);
        if (pump) {
            dump_pump_set_flow_limit(pump, limit);
        }
    }
    Dpif__SetFlowLimitReply *out;
    CTX_NEW(ctx, out, dpif__set_flow_limit_reply__init);
    rp->result_case = DPIF__REPLY__RESULT_SET_FLOW_LIMIT;
    rp->set_flow_limit = out;
    return 0;
}

/* revalidator/wait and revalidator/purge: one handler, the command says
 * whether the cycle purges. */
static int
ctl_revalidator(struct control_ctx *ctx, const Dpif__Request *rq,
                Dpif__Reply *rp)
{
    bool purge = rq->command_case == DPIF__REQUEST__COMMAND_REVALIDATOR_PURGE;
    return ctl_park_cycles(ctx, rp,
                           purge ? DPIF__REPLY__RESULT_REVALIDATOR_PURGE
                           : DPIF__REPLY__RESULT_REVALIDATOR_WAIT,
                           purge ? "revalidator/purge" : "revalidator/wait",
                           dump_pump_request, purge);
}

/* upcall/enable-megaflows and upcall/disable-megaflows: one handler, the
 * command says which; answered once the purge that a change starts is
 * done. */
static int
ctl_megaflows_set(struct control_ctx *ctx, const Dpif__Request *rq,
                  Dpif__Reply *rp)
{
    bool on = rq->command_case == DPIF__REQUEST__COMMAND_ENABLE_MEGAFLOWS;
    return ctl_park_cycles(ctx, rp,
                           on ? DPIF__REPLY__RESULT_ENABLE_MEGAFLOWS
                           : DPIF__REPLY__RESULT_DISABLE_MEGAFLOWS,
                           on ? "upcall/enable-megaflows"
                           : "upcall/disable-megaflows",
                           dump_pump_set_megaflows, on);
}


static const struct control_command ctl_upcall_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(UPCALL_SHOW, "upcall/show", READ, ctl_upcall_show),
    CMD(SET_FLOW_LIMIT, "upcall/set-flow-limit", WRITE, ctl_set_flow_limit),
    CMD(ENABLE_MEGAFLOWS, "upcall/enable-megaflows", WRITE,
        ctl_megaflows_set),
    CMD(DISABLE_MEGAFLOWS, "upcall/disable-megaflows", WRITE,
        ctl_megaflows_set),
    CMD(REVALIDATOR_WAIT, "revalidator/wait", READ, ctl_revalidator),
    CMD(REVALIDATOR_PURGE, "revalidator/purge", WRITE,
        ctl_revalidator),
#undef CMD
};

const struct ctl_command_group ctl_upcall_group = {
    ctl_upcall_commands, ARRAY_SIZE(ctl_upcall_commands),
};
