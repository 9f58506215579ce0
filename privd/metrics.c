/* metrics.c — privd's Prometheus text and the metrics textfile (metrics.h). */
#include "privd/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/ds.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/privd.h"
#include "privd/safe-fs.h"
#include "privd/supervisor.h"

LOG_MODULE(metrics);

COUNTER_DEFINE(control_metrics_textfile_written);
COUNTER_DEFINE(control_metrics_textfile_failed);

/* The revalidation cycle of 'dp' (its dump pump), or NULL when it has
 * none: dpifd runs without workers, or the datapath was opened after the
 * workers started. */
static const struct dump_pump *
metrics_pump_of(const struct privd *privd, const struct privd_dp *dp)
{
    return (privd->supervisor
            ? supervisor_get_dump_pump(privd->supervisor, dp) : NULL);
}

/* Resident set size of this process in bytes, from /proc/self/statm. */
int
metrics_read_rss(uint64_t *rssp)
{
    unsigned long long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) {
        return errno;
    }
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2) {
        return EPROTO;
    }
    *rssp = resident * (uint64_t) sysconf(_SC_PAGESIZE);
    return 0;
}

/* Prometheus text exposition: one family. */
static void
metrics_put_family(struct ds *s, const char *name, const char *type,
                  const char *help)
{
    ds_put_format(s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct metrics_ports {
    struct ds *s;               /* Output. */
    const struct dpif *dpif;    /* Datapath. */
    const char *metric;         /* Family being written. */
};

static void
metrics_port_cb(const struct dpif_port *port, void *aux)
{
    struct metrics_ports *m = aux;
    struct dpif_port_stats st;
    if (dpif_port_get_stats(m->dpif, port->port_no, &st)) {
        return;
    }
    const char *metric = m->metric;
    uint64_t v = (!strcmp(metric, "dpifd_port_rx_packets_total") ? st.rx_packets
                  : !strcmp(metric, "dpifd_port_rx_bytes_total") ? st.rx_bytes
                  : !strcmp(metric, "dpifd_port_rx_dropped_total")
                    ? st.rx_dropped
                  : !strcmp(metric, "dpifd_port_tx_packets_total")
                    ? st.tx_packets
                  : !strcmp(metric, "dpifd_port_tx_bytes_total") ? st.tx_bytes
                  : st.tx_dropped);
    ds_put_format(m->s, "%s{dp=\"%s\",port=\"%s\"} %llu\n", metric,
                  dpif_name(m->dpif), port->name, (unsigned long long) v);
}

static void
metrics_counter_cb(const char *name, uint64_t value, void *s)
{
    ds_put_format(s, "dpifd_anomalies_total{name=\"%s\",process=\"privd\"} "
                  "%llu\n", name, (unsigned long long) value);
}

static void metrics_format_revalidation(const struct privd *, struct ds *);

/* Builds the whole exposition text into 's'. */
void
metrics_format(const struct privd *privd, struct ds *s)
{
    static const struct {
        const char *name;       /* Metric. */
        const char *type;       /* counter or gauge. */
        const char *help;       /* HELP text. */
    } dp_metrics[] = {
        { "dpifd_datapath_hits_total", "counter",
          "Packets that matched a datapath flow." },
        { "dpifd_datapath_misses_total", "counter",
          "Packets that missed the flow table and were sent up." },
        { "dpifd_datapath_lost_total", "counter",
          "Packets that missed and could not be queued." },
        { "dpifd_datapath_flows", "gauge", "Flows in the datapath." },
        { "dpifd_datapath_masks", "gauge",
          "Distinct masks (megaflow tuples) in the datapath." },
    };
    static const char *const port_metrics[] = {
        "dpifd_port_rx_packets_total", "dpifd_port_rx_bytes_total",
        "dpifd_port_rx_dropped_total", "dpifd_port_tx_packets_total",
        "dpifd_port_tx_bytes_total", "dpifd_port_tx_dropped_total",
    };

    for (size_t m = 0; m < ARRAY_SIZE(dp_metrics); m++) {
        metrics_put_family(s, dp_metrics[m].name, dp_metrics[m].type,
                          dp_metrics[m].help);
        for (size_t i = 0; i < privd->n_dps; i++) {
            struct dpif_dp_stats st;
            const struct dpif *dpif = privd->dps[i]->dpif;
            if (dpif_get_dp_stats(dpif, &st)) {
                continue;
            }
            uint64_t v = (m == 0 ? st.n_hit : m == 1 ? st.n_missed
                          : m == 2 ? st.n_lost : m == 3 ? st.n_flows
                          : st.n_masks);
            ds_put_format(s, "%s{dp=\"%s\",type=\"%s\"} %llu\n",
                          dp_metrics[m].name, dpif_name(dpif),
                          dpif_type(dpif), (unsigned long long) v);
        }
    }
    for (size_t m = 0; m < ARRAY_SIZE(port_metrics); m++) {
        metrics_put_family(s, port_metrics[m], "counter",
                          "Per-port packet and byte counters.");
        for (size_t i = 0; i < privd->n_dps; i++) {
            struct metrics_ports mp = { s, privd->dps[i]->dpif,
                                           port_metrics[m] };
            dpif_port_dump(privd->dps[i]->dpif, metrics_port_cb, &mp);
        }
    }

    metrics_put_family(s, "dpifd_flow_limit", "gauge",
                      "Configured upper bound of the flow limit.");
    ds_put_format(s, "dpifd_flow_limit %u\n", privd->cfg.flow_limit);

    metrics_put_family(s, "dpifd_anomalies_total", "counter",
                      "Named anomaly and event counters, per process.");
    counters_for_each(metrics_counter_cb, s);

    metrics_format_revalidation(privd, s);

    metrics_put_family(s, "dpifd_process_uptime_seconds", "gauge",
                      "Seconds since the process started.");
    double uptime = (double) (time_msec() - privd->start_msec) / 1000.0;
    ds_put_format(s, "dpifd_process_uptime_seconds{role=\"privd\",id=\"0\"} "
                  "%.3f\n", uptime);
    if (privd->spawner) {
        ds_put_format(s, "dpifd_process_uptime_seconds{role=\"spawner\","
                      "id=\"0\"} %.3f\n", uptime);
    }
    metrics_put_family(s, "dpifd_process_restarts_total", "counter",
                      "Times the process was respawned.");
    ds_put_format(s, "dpifd_process_restarts_total{role=\"privd\",id=\"0\"} "
                  "0\n");
    if (privd->spawner) {
        ds_put_format(s, "dpifd_process_restarts_total{role=\"spawner\","
                      "id=\"0\"} 0\n");
    }

    uint64_t rss;
    if (!metrics_read_rss(&rss)) {
        metrics_put_family(s, "dpifd_process_resident_memory_bytes", "gauge",
                          "Resident set size.");
        ds_put_format(s, "dpifd_process_resident_memory_bytes{role=\"privd\","
                      "id=\"0\"} %llu\n", (unsigned long long) rss);
    }
}

/* Per-rule counters for the metrics: the packets and bytes the
 * revalidators credited to rule 'rule_id' (POLICY_RULE_DEFAULT: the
 * default rule) of policy 'generation' of datapath 'dp'.  False when the
 * rule got none, or the datapath has no revalidation cycle. */
static bool
metrics_rule_stats(const struct privd *privd, const struct privd_dp *dp,
               uint64_t generation, uint32_t rule_id, uint64_t *packets,
               uint64_t *bytes)
{
    const struct dump_pump *pump = metrics_pump_of(privd, dp);
    return pump && dump_pump_get_rule_stats(pump, generation, rule_id,
                                            packets, bytes);
}

struct metrics_rules {
    const struct privd *privd; /* privd. */
    struct ds *s;               /* Output. */
    const struct privd_dp *dp;  /* Datapath. */
    bool bytes;                 /* Bytes (else packets). */
};

static void
metrics_rule_cb(uint32_t rule_id, void *aux)
{
    struct metrics_rules *m = aux;
    uint64_t packets, bytes;

    if (metrics_rule_stats(m->privd, m->dp, m->dp->policy_generation, rule_id,
                       &packets, &bytes)) {
        ds_put_format(m->s, "dpifd_rule_%s_total{dp=\"%s\",rule=\"%" PRIu32
                      "\"} %" PRIu64 "\n", m->bytes ? "bytes" : "packets",
                      dpif_name(m->dp->dpif), rule_id,
                      m->bytes ? bytes : packets);
    }
}

/* The revalidation part of the metrics: dynamic flow limit, dump duration
 * and the per-rule counters of each datapath's current policy. */
static void
metrics_format_revalidation(const struct privd *privd, struct ds *s)
{
    static const struct {
        const char *name;       /* Metric. */
        const char *type;       /* counter or gauge. */
        const char *help;       /* HELP text. */
    } metrics[] = {
        { "dpifd_flow_limit_current", "gauge",
          "Dynamic flow limit (the seeds' rule)." },
        { "dpifd_dump_duration_milliseconds", "gauge",
          "Duration of the last dump and revalidation cycle." },
        { "dpifd_dumps_total", "counter", "Dump cycles completed." },
        { "dpifd_rule_packets_total", "counter",
          "Packets credited to each rule of the current policy." },
        { "dpifd_rule_bytes_total", "counter",
          "Bytes credited to each rule of the current policy." },
    };

    for (size_t m = 0; m < ARRAY_SIZE(metrics); m++) {
        metrics_put_family(s, metrics[m].name, metrics[m].type,
                          metrics[m].help);
        for (size_t i = 0; i < privd->n_dps; i++) {
            const struct privd_dp *dp = privd->dps[i];
            const struct dump_pump *pump = metrics_pump_of(privd, dp);
            struct dump_pump_show show;

            if (!pump) {
                continue;
            }
            if (m >= 3) {
                struct metrics_rules mr = { privd, s, dp, m == 4 };
                dump_pump_for_each_rule(pump, dp->policy_generation,
                                        metrics_rule_cb, &mr);
                continue;
            }
            dump_pump_get_show(pump, &show);
            uint64_t v = (m == 0 ? show.flow_limit
                          : m == 1 ? (uint64_t) MAX(show.dump_duration_msec, 0)
                          : show.dump_seq);
            ds_put_format(s, "%s{dp=\"%s\"} %" PRIu64 "\n", metrics[m].name,
                          dpif_name(dp->dpif), v);
        }
    }
}

/* Writes the metrics to the configured textfile: a new file, then rename,
 * so that node_exporter never reads half a file (safe_fs_write_atomic()). */
static void
metrics_textfile_write(const struct privd *privd)
{
    static struct log_rl rl = LOG_RL_INIT(1, 5);
    const char *path = privd->cfg.metrics_textfile;
    struct errbuf eb;
    struct ds s;

    ds_init(&s);
    metrics_format(privd, &s);
    if (safe_fs_write_atomic(path, s.string, s.length, 0644, &eb)) {
        COUNTER_INC(control_metrics_textfile_failed);
        LOG_WARN_RL(&rl, "metrics-textfile: %s", eb.msg);
    } else {
        COUNTER_INC(control_metrics_textfile_written);
    }
    ds_destroy(&s);
}

void
metrics_textfile_run(struct metrics_textfile *t, const struct privd *privd)
{
    const struct config *cfg = &privd->cfg;
    if (cfg->metrics_textfile[0] && time_msec() >= t->next_msec) {
        metrics_textfile_write(privd);
        t->next_msec = time_msec()
                       + (long long) cfg->metrics_interval_s * 1000;
    }
}

void
metrics_textfile_wait(const struct metrics_textfile *t,
                      const struct privd *privd, struct poller *p)
{
    if (privd->cfg.metrics_textfile[0]) {
        poller_timer_wait(p, t->next_msec);
    }
}
