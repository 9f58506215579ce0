/* ctl-dp.c — privd's datapath and port commands: show, dump-dps, add-dp,
 * del-dp, add-if, del-if (dpifctl's cli/cmd-dp.c).  Run by privd for
 * authorized control clients; every field is checked here (ctl-command.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/ipc.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/policy-feed.h"
#include "privd/privd.h"

struct ctl_port_list {
    struct control_ctx *ctx;    /* Reply memory. */
    const struct dpif *dpif;    /* Datapath listed. */
    Dpif__DatapathInfo *info;   /* Where ports go. */
};

static void
ctl_show_port_cb(const struct dpif_port *port, void *aux)
{
    struct ctl_port_list *l = aux;
    struct control_ctx *ctx = l->ctx;
    struct dpif_port_stats s;
    Dpif__PortInfo *pi;

    if (l->info->n_ports >= IPC_MAX_PORTS) {
        return;
    }
    CTX_NEW(ctx, pi, dpif__port_info__init);
    pi->port_no = port->port_no;
    pi->name = ctx_strdup(ctx, port->name);
    pi->type = ctx_strdup(ctx, port->type);
    if (!dpif_port_get_stats(l->dpif, port->port_no, &s)) {
        Dpif__PortStats *ps;
        CTX_NEW(ctx, ps, dpif__port_stats__init);
        ps->has_rx_packets = ps->has_rx_bytes = ps->has_rx_dropped = true;
        ps->has_tx_packets = ps->has_tx_bytes = ps->has_tx_dropped = true;
        ps->rx_packets = s.rx_packets;
        ps->rx_bytes = s.rx_bytes;
        ps->rx_dropped = s.rx_dropped;
        ps->tx_packets = s.tx_packets;
        ps->tx_bytes = s.tx_bytes;
        ps->tx_dropped = s.tx_dropped;
        pi->stats = ps;
    }
    CTX_APPEND(ctx, l->info->ports, l->info->n_ports, pi);
}

static Dpif__DatapathInfo *
ctl_dp_info(struct control_ctx *ctx, const struct privd_dp *dp)
{
    Dpif__DatapathInfo *info;
    struct dpif_dp_stats s;

    CTX_NEW(ctx, info, dpif__datapath_info__init);
    info->name = ctx_strdup(ctx, dpif_name(dp->dpif));
    info->type = ctx_strdup(ctx, dpif_type(dp->dpif));
    if (!dpif_get_dp_stats(dp->dpif, &s)) {
        info->has_n_hit = info->has_n_missed = info->has_n_lost = true;
        info->has_n_flows = info->has_n_masks = true;
        info->n_hit = s.n_hit;
        info->n_missed = s.n_missed;
        info->n_lost = s.n_lost;
        info->n_flows = s.n_flows;
        info->n_masks = s.n_masks;
    }
    struct ctl_port_list l = { ctx, dp->dpif, info };
    dpif_port_dump(dp->dpif, ctl_show_port_cb, &l);
    return info;
}

static int
ctl_show(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    const Dpif__ShowRequest *r = rq->show;
    Dpif__ShowReply *out;

    CTX_NEW(ctx, out, dpif__show_reply__init);
    if (r->dp) {
        struct privd_dp *dp;
        int error = ctl_find_dp(ctx, r->dp, &dp);
        if (error) {
            return error;
        }
        CTX_APPEND(ctx, out->dps, out->n_dps, ctl_dp_info(ctx, dp));
    } else {
        for (size_t i = 0; i < ctx->privd->n_dps; i++) {
            CTX_APPEND(ctx, out->dps, out->n_dps,
                       ctl_dp_info(ctx, ctx->privd->dps[i]));
        }
    }
    rp->result_case = DPIF__REPLY__RESULT_SHOW;
    rp->show = out;
    return 0;
}

static int
ctl_dump_dps(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    Dpif__DumpDpsReply *out;

    CTX_NEW(ctx, out, dpif__dump_dps_reply__init);
    for (size_t i = 0; i < ctx->privd->n_dps; i++) {
        const struct dpif *dpif = ctx->privd->dps[i]->dpif;
        Dpif__DpName *n;
        CTX_NEW(ctx, n, dpif__dp_name__init);
        n->name = ctx_strdup(ctx, dpif_name(dpif));
        n->type = ctx_strdup(ctx, dpif_type(dpif));
        CTX_APPEND(ctx, out->dps, out->n_dps, n);
    }
    rp->result_case = DPIF__REPLY__RESULT_DUMP_DPS;
    rp->dump_dps = out;
    return 0;
}

/* True if 's' is a valid datapath or port name: what config.c and dpif.c
 * accept, checked here first for a clearer reason. */
static bool
ctl_name_is_valid(const char *s)
{
    size_t len = strlen(s);
    if (!len || len > DPIF_NAME_MAX) {
        return false;
    }
    for (; *s; s++) {
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z')
            && !(*s >= '0' && *s <= '9') && !strchr("-_.", *s)) {
            return false;
        }
    }
    return true;
}

static int
ctl_add_dp(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    const Dpif__AddDpRequest *r = rq->add_dp;
    int error = ctl_check_name(ctx, "name", r->name);
    if (!error) {
        error = ctl_check_name(ctx, "type", r->type);
    }
    if (error) {
        return error;
    }
    ctx->subject = r->name;
    if (!ctl_name_is_valid(r->name)) {
        return ctl_invalid(ctx, EINVAL, "name must be 1 to %d letters, "
                          "digits, '-', '_' or '.'", DPIF_NAME_MAX);
    }
    if (strcmp(r->type, "netdev") && strcmp(r->type, "dummy")
        && strcmp(r->type, "system")) {
        return ctl_invalid(ctx, EINVAL, "unknown datapath type \"%s\" "
                          "(expected netdev, dummy or system)", r->type);
    }
    error = privd_open_dp(ctx->privd, r->name, r->type, NULL, &ctx->eb);
    if (error) {
        return error;
    }
    Dpif__AddDpReply *out;
    CTX_NEW(ctx, out, dpif__add_dp_reply__init);
    rp->result_case = DPIF__REPLY__RESULT_ADD_DP;
    rp->add_dp = out;
    return 0;
}

static int
ctl_del_dp(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    struct privd_dp *dp;
    int error = ctl_find_dp(ctx, rq->del_dp->name, &dp);
    if (!error) {
        error = privd_close_dp(ctx->privd, dp, true, &ctx->eb);
    }
    if (error) {
        return error;
    }
    Dpif__DelDpReply *out;
    CTX_NEW(ctx, out, dpif__del_dp_reply__init);
    rp->result_case = DPIF__REPLY__RESULT_DEL_DP;
    rp->del_dp = out;
    return 0;
}

static int
ctl_add_if(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    const Dpif__AddIfRequest *r = rq->add_if;
    struct privd_dp *dp;
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_check_name(ctx, "name", r->name);
    }
    if (!error && r->type) {
        error = ctl_check_name(ctx, "type", r->type);
    }
    if (error) {
        return error;
    }
    if (!ctl_name_is_valid(r->name)) {
        return ctl_invalid(ctx, EINVAL, "port name must be 1 to %d "
                          "letters, digits, '-', '_' or '.'", DPIF_NAME_MAX);
    }
    if (r->n_options) {
        return ctl_invalid(ctx, EINVAL, "port options: no port type of "
                          "this datapath takes options");
    }
    const char *type = (r->type ? r->type
                        : !strcmp(dpif_type(dp->dpif), "dummy") ? "dummy"
                        : "system");
    uint32_t port_no = r->has_port_no ? r->port_no : UINT32_MAX;
    error = dpif_port_add(dp->dpif, r->name, type, &port_no);
    if (error) {
        return errbuf_set(&ctx->eb, error, "adding port %s (type %s): %s",
                          r->name, type, strerror(error));
    }
    if (ctx->privd->policy_feed) {
        policy_feed_refresh_ports(ctx->privd->policy_feed);
    }
    Dpif__AddIfReply *out;
    CTX_NEW(ctx, out, dpif__add_if_reply__init);
    out->port_no = port_no;
    rp->result_case = DPIF__REPLY__RESULT_ADD_IF;
    rp->add_if = out;
    return 0;
}

static int
ctl_del_if(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    const Dpif__DelIfRequest *r = rq->del_if;
    struct privd_dp *dp;
    uint32_t port_no;
    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (error) {
        return error;
    }
    if (r->port_case == DPIF__DEL_IF_REQUEST__PORT_NAME) {
        struct dpif_port port;
        error = ctl_check_name(ctx, "name", r->name);
        if (error) {
            return error;
        }
        if (dpif_port_query_by_name(dp->dpif, r->name, &port)) {
            return errbuf_set(&ctx->eb, ENOENT, "no port %s in %s", r->name,
                              dpif_name(dp->dpif));
        }
        port_no = port.port_no;
        dpif_port_destroy(&port);
    } else if (r->port_case == DPIF__DEL_IF_REQUEST__PORT_PORT_NO) {
        port_no = r->port_no;
    } else {
        return ctl_invalid(ctx, EINVAL, "give a port name or number");
    }
    if (!port_no) {
        return ctl_invalid(ctx, EINVAL, "port 0 is the datapath's local "
                          "port and cannot be deleted");
    }
    error = dpif_port_del(dp->dpif, port_no);
    if (error) {
        return errbuf_set(&ctx->eb, error, "deleting port %u: %s", port_no,
                          strerror(error));
    }
    if (ctx->privd->policy_feed) {
        policy_feed_refresh_ports(ctx->privd->policy_feed);
    }
    Dpif__DelIfReply *out;
    CTX_NEW(ctx, out, dpif__del_if_reply__init);
    rp->result_case = DPIF__REPLY__RESULT_DEL_IF;
    rp->del_if = out;
    return 0;
}

static const struct control_command ctl_dp_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(SHOW, "show", READ, ctl_show),
    CMD(DUMP_DPS, "dump-dps", READ, ctl_dump_dps),
    CMD(ADD_DP, "add-dp", WRITE, ctl_add_dp),
    CMD(DEL_DP, "del-dp", WRITE, ctl_del_dp),
    CMD(ADD_IF, "add-if", WRITE, ctl_add_if),
    CMD(DEL_IF, "del-if", WRITE, ctl_del_if),
#undef CMD
};

const struct ctl_command_group ctl_dp_group = {
    ctl_dp_commands, ARRAY_SIZE(ctl_dp_commands),
};
