/* privd.c — privd's datapath set: open, close, and sync to a config. */
#include "privd/privd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "privd/control-server.h"
#include "privd/dpif.h"
#include "privd/policy-feed.h"
#include "privd/supervisor.h"

LOG_MODULE(privd);

struct privd_dp *
privd_find_dp(struct privd *privd, const char *name)
{
    for (size_t i = 0; i < privd->n_dps; i++) {
        if (!strcmp(dpif_name(privd->dps[i]->dpif), name)) {
            return privd->dps[i];
        }
    }
    return NULL;
}

int
privd_open_dp(struct privd *privd, const char *name, const char *type,
              struct privd_dp **dpp, struct errbuf *eb)
{
    if (privd_find_dp(privd, name)) {
        return errbuf_set(eb, EEXIST, "datapath %s exists already", name);
    }
    if (privd->n_dps >= CONFIG_MAX_DATAPATHS) {
        return errbuf_set(eb, E2BIG, "privd has %d datapaths already",
                          CONFIG_MAX_DATAPATHS);
    }

    struct dpif *dpif;
    int error = dpif_create_and_open(name, type, &dpif);
    if (error) {
        return errbuf_set(eb, error, "datapath %s@%s: %s", type, name,
                          strerror(error));
    }
    struct privd_dp *dp = xzalloc(sizeof *dp);
    dp->dpif = dpif;
    privd->dps = xrealloc(privd->dps, (privd->n_dps + 1) * sizeof *privd->dps);
    privd->dps[privd->n_dps++] = dp;
    LOG_INFO("opened datapath %s@%s", type, name);

    if (privd->supervisor) {
        error = supervisor_add_dp(privd->supervisor, dp);
        if (error) {
            errbuf_set(eb, error, "datapath %s@%s: cannot start its "
                       "workers: %s", type, name, strerror(error));
            privd_close_dp(privd, dp, false, NULL);
            return error;
        }
    }
    if (privd->policy_feed) {
        error = policy_feed_add_dp(privd->policy_feed, dp, eb);
        if (error) {
            privd_close_dp(privd, dp, false, NULL);
            return error;
        }
    }
    if (dpp) {
        *dpp = dp;
    }
    return 0;
}

int
privd_close_dp(struct privd *privd, struct privd_dp *dp, bool destroy,
               struct errbuf *eb)
{
    int error = 0;

    /* First: the workers use the dpif until they are told to stop. */
    if (privd->policy_feed) {
        policy_feed_remove_dp(privd->policy_feed, dp);
    }
    if (privd->supervisor) {
        supervisor_remove_dp(privd->supervisor, dp);
    }
    if (privd->control) {
        control_server_forget_dp(privd->control, dp->dpif);
    }
    if (destroy || !dpif_outlives_process(dp->dpif)) {
        error = dpif_delete(dp->dpif);
        if (error) {
            errbuf_set(eb, error, "deleting datapath %s: %s",
                       dpif_name(dp->dpif), strerror(error));
        }
    }
    LOG_INFO("closed datapath %s@%s", dpif_type(dp->dpif),
             dpif_name(dp->dpif));
    dpif_close(dp->dpif);
    free(dp->rules_file);

    for (size_t i = 0; i < privd->n_dps; i++) {
        if (privd->dps[i] == dp) {
            memmove(&privd->dps[i], &privd->dps[i + 1],
                    (privd->n_dps - i - 1) * sizeof *privd->dps);
            privd->n_dps--;
            break;
        }
    }
    free(dp);
    return error;
}

void
privd_close_all_dps(struct privd *privd)
{
    while (privd->n_dps) {
        struct privd_dp *dp = privd->dps[privd->n_dps - 1];
        if (!privd->cfg.keep_flows_on_exit) {
            int error = dpif_flow_flush(dp->dpif);
            if (error) {
                LOG_WARN("%s: flushing flows at exit: %s",
                         dpif_name(dp->dpif), strerror(error));
            }
        }
        privd_close_dp(privd, dp, false, NULL);
    }
    free(privd->dps);
    privd->dps = NULL;
}

static const struct config_datapath *
config_find_dp(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n_datapaths; i++) {
        if (!strcmp(cfg->datapaths[i].name, name)) {
            return &cfg->datapaths[i];
        }
    }
    return NULL;
}

static const struct config_port *
config_find_port(const struct config_datapath *cdp, const char *name)
{
    for (size_t i = 0; cdp && i < cdp->n_ports; i++) {
        if (!strcmp(cdp->ports[i].name, name)) {
            return &cdp->ports[i];
        }
    }
    return NULL;
}

/* Remembers the first error of a sync, and logs every one. */
static void
privd_sync_error(int *first, struct errbuf *first_eb, int error,
                 const struct errbuf *eb)
{
    LOG_ERR("%s", eb->msg);
    if (!*first) {
        *first = error;
        if (first_eb) {
            *first_eb = *eb;
        }
    }
}

/* Brings the ports of 'dp' in line with 'cdp' (new) and 'old' (the
 * previous configuration of the same datapath, or NULL). */
static void
privd_sync_ports(struct privd_dp *dp, const struct config_datapath *old,
                 const struct config_datapath *cdp, int *first,
                 struct errbuf *first_eb)
{
    struct errbuf eb;

    /* Ports the old configuration had and the new one does not. */
    for (size_t i = 0; old && i < old->n_ports; i++) {
        const char *name = old->ports[i].name;
        struct dpif_port port;
        if (config_find_port(cdp, name)
            || dpif_port_query_by_name(dp->dpif, name, &port)) {
            continue;
        }
        int error = dpif_port_del(dp->dpif, port.port_no);
        if (error) {
            errbuf_set(&eb, error, "%s: removing port %s: %s",
                       dpif_name(dp->dpif), name, strerror(error));
            privd_sync_error(first, first_eb, error, &eb);
        }
        dpif_port_destroy(&port);
    }

    for (size_t i = 0; i < cdp->n_ports; i++) {
        const struct config_port *cp = &cdp->ports[i];
        struct dpif_port port;
        if (!dpif_port_query_by_name(dp->dpif, cp->name, &port)) {
            bool same = !strcmp(port.type, cp->type);
            uint32_t port_no = port.port_no;
            dpif_port_destroy(&port);
            if (same) {
                continue;
            }
            LOG_INFO("%s: port %s changes type to %s", dpif_name(dp->dpif),
                     cp->name, cp->type);
            dpif_port_del(dp->dpif, port_no);
        }
        int error = dpif_port_add(dp->dpif, cp->name, cp->type, NULL);
        if (error) {
            errbuf_set(&eb, error, "%s: adding port %s (type %s): %s",
                       dpif_name(dp->dpif), cp->name, cp->type,
                       strerror(error));
            privd_sync_error(first, first_eb, error, &eb);
        }
    }
}

int
privd_sync_datapaths(struct privd *privd, const struct config *old_cfg,
                     const struct config *new_cfg, struct errbuf *first_eb)
{
    int first = 0;
    struct errbuf eb;

    /* Datapaths the old configuration had and the new one does not. */
    for (size_t i = 0; old_cfg && i < old_cfg->n_datapaths; i++) {
        const char *name = old_cfg->datapaths[i].name;
        struct privd_dp *dp = privd_find_dp(privd, name);
        if (dp && !config_find_dp(new_cfg, name)) {
            int error = privd_close_dp(privd, dp, true, &eb);
            if (error) {
                privd_sync_error(&first, first_eb, error, &eb);
            }
        }
    }

    for (size_t i = 0; i < new_cfg->n_datapaths; i++) {
        const struct config_datapath *cdp = &new_cfg->datapaths[i];
        const struct config_datapath *old = config_find_dp(old_cfg, cdp->name);
        struct privd_dp *dp = privd_find_dp(privd, cdp->name);

        if (dp && strcmp(dpif_type(dp->dpif), cdp->type)) {
            LOG_INFO("datapath %s changes type from %s to %s", cdp->name,
                     dpif_type(dp->dpif), cdp->type);
            privd_close_dp(privd, dp, true, NULL);
            dp = NULL;
            old = NULL;
        }
        if (!dp) {
            int error = privd_open_dp(privd, cdp->name, cdp->type, &dp, &eb);
            if (error) {
                privd_sync_error(&first, first_eb, error, &eb);
                continue;
            }
        }
        privd_sync_ports(dp, old, cdp, &first, first_eb);

        const char *rules = cdp->rules_file;
        if (rules ? !dp->rules_file || strcmp(rules, dp->rules_file)
                  : dp->rules_file != NULL) {
            free(dp->rules_file);
            dp->rules_file = rules ? xstrdup(rules) : NULL;
            dp->policy_generation++;
            /* A rules file that comes or changes is read by the reload's
             * policy_feed_reload(), which re-reads them all; one that goes
             * leaves the datapath without rules, now. */
            int error = (privd->policy_feed && !rules
                         ? policy_feed_load_rules(privd->policy_feed, dp, &eb)
                         : 0);
            if (error) {
                privd_sync_error(&first, first_eb, error, &eb);
            }
        }
    }
    return first;
}
