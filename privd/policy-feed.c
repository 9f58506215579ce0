/*
 * policy-feed.c — rules, ports and MAC tables for the workers
 * (policy-feed.h).
 */
#include "privd/policy-feed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/ipc-limits.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/policy.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "privd/dpif.h"
#include "privd/privd.h"
#include "privd/supervisor.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(policy_feed);

COUNTER_DEFINE(policy_feed_updates);
COUNTER_DEFINE(policy_feed_rules_rejected);
COUNTER_DEFINE(policy_feed_port_changes);

/* One datapath's inputs. */
struct feed_dp {
    int mac_fd;                 /* MAC table memfd, owned. */
    struct mac_table *macs;     /* privd's mapping (kept for its size). */
    char *rules;                /* Current rule text, owned (NUL-ended). */
    uint32_t *ports;            /* Port numbers sent last, sorted, owned. */
    size_t n_ports;
};

struct policy_feed {
    struct privd *privd;        /* Borrowed. */
    struct supervisor *sup;     /* Borrowed. */
    struct feed_dp *dps;        /* One per privd datapath. */
    size_t n_dps;
    long long next_poll;        /* time_msec() of the next port poll. */
};

/* Collects a datapath's port numbers. */
struct feed_ports {
    uint32_t *ports;
    size_t n, cap;
};

static void
feed_collect_port(const struct dpif_port *port, void *fp_)
{
    struct feed_ports *fp = fp_;

    if (fp->n == fp->cap) {
        fp->cap = fp->cap ? 2 * fp->cap : 16;
        fp->ports = xrealloc(fp->ports, fp->cap * sizeof *fp->ports);
    }
    fp->ports[fp->n++] = port->port_no;
}

static int
feed_cmp_port(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return a < b ? -1 : a > b;
}

/* Sends datapath 'i''s rules and ports with the next generation. */
static void
feed_publish(struct policy_feed *feed, size_t i)
{
    struct privd_dp *pdp = &feed->privd->dps[i];
    struct feed_dp *d = &feed->dps[i];
    Dpif__PolicyUpdate u = DPIF__POLICY_UPDATE__INIT;

    pdp->policy_generation++;
    u.generation = pdp->policy_generation;
    u.rules_text = d->rules;
    u.ports = d->ports;
    u.n_ports = MIN(d->n_ports, (size_t) IPC_MAX_PORTS);
    if (supervisor_set_policy(feed->sup, i, &u)) {
        LOG_ERR("%s: cannot hand the policy to the supervisor",
                dpif_name(pdp->dpif));
        return;
    }
    COUNTER_INC(policy_feed_updates);
    LOG_INFO("%s: policy generation %"PRIu64" (%zu ports)",
             dpif_name(pdp->dpif), u.generation, d->n_ports);
}

/* Re-reads datapath 'i''s ports.  Returns true if they changed. */
static bool
feed_refresh_ports(struct policy_feed *feed, size_t i)
{
    struct feed_dp *d = &feed->dps[i];
    struct feed_ports fp = { NULL, 0, 0 };

    dpif_port_dump(feed->privd->dps[i].dpif, feed_collect_port, &fp);
    if (fp.n) {
        qsort(fp.ports, fp.n, sizeof *fp.ports, feed_cmp_port);
    }
    if (fp.n == d->n_ports
        && (!fp.n || !memcmp(fp.ports, d->ports, fp.n * sizeof *fp.ports))) {
        free(fp.ports);
        return false;
    }
    free(d->ports);
    d->ports = fp.ports;
    d->n_ports = fp.n;
    return true;
}

/* Reads 'path' into a NUL-terminated string. */
static int
feed_read_file(const char *path, char **textp, size_t *lenp,
               struct errbuf *eb)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        return errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
    }
    size_t cap = 4096, len = 0;
    char *text = xmalloc(cap);
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len > IPC_MAX_RULES_TEXT) {
            fclose(f);
            free(text);
            return errbuf_set(eb, E2BIG, "%s: larger than %d bytes", path,
                              IPC_MAX_RULES_TEXT);
        }
        if (cap - len - 1 == 0) {
            cap *= 2;
            text = xrealloc(text, cap);
        }
    }
    int error = ferror(f) ? EIO : 0;
    fclose(f);
    if (error) {
        free(text);
        return errbuf_set(eb, error, "%s: read error", path);
    }
    text[len] = '\0';
    *textp = text;
    *lenp = len;
    return 0;
}

/* Checks 'text' and makes it datapath 'i''s rules, without publishing. */
static int
feed_take_rules(struct policy_feed *feed, size_t i, const char *text,
                size_t len, const char *source, struct errbuf *eb)
{
    struct policy_table *table;

    if (len > IPC_MAX_RULES_TEXT) {
        COUNTER_INC(policy_feed_rules_rejected);
        return errbuf_set(eb, E2BIG, "%s: larger than %d bytes", source,
                          IPC_MAX_RULES_TEXT);
    }
    int error = policy_parse(text, len, source, 0, &table, eb);
    if (error) {
        COUNTER_INC(policy_feed_rules_rejected);
        return error;
    }
    policy_table_destroy(table);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(feed->dps[i].rules);
    feed->dps[i].rules = copy;
    return 0;
}

int
policy_feed_create(struct privd *privd, struct supervisor *sup,
                   struct policy_feed **feedp, struct errbuf *eb)
{
    struct policy_feed *feed = xzalloc(sizeof *feed);
    int error = 0;

    feed->privd = privd;
    feed->sup = sup;
    feed->dps = xcalloc(privd->n_dps ? privd->n_dps : 1, sizeof *feed->dps);
    for (size_t i = 0; i < privd->n_dps; i++) {
        feed->dps[i].mac_fd = -1;
    }
    feed->n_dps = privd->n_dps;
    for (size_t i = 0; !error && i < privd->n_dps; i++) {
        struct privd_dp *pdp = &privd->dps[i];
        struct feed_dp *d = &feed->dps[i];
        struct stat st;

        error = mac_table_create(0, 0, &d->mac_fd, &d->macs, eb);
        if (!error && fstat(d->mac_fd, &st)) {
            error = errbuf_set(eb, errno, "MAC table: %s", strerror(errno));
        }
        if (error) {
            errbuf_prefix(eb, "%s: ", dpif_name(pdp->dpif));
            break;
        }
        supervisor_set_mac_table(sup, i, d->mac_fd, (uint64_t) st.st_size);

        if (pdp->rules_file) {
            char *text = NULL;
            size_t len = 0;
            error = feed_read_file(pdp->rules_file, &text, &len, eb);
            if (!error) {
                error = feed_take_rules(feed, i, text, len, pdp->rules_file,
                                        eb);
                free(text);
            }
            if (error) {
                break;
            }
        } else {
            d->rules = xstrdup("");
        }
        feed_refresh_ports(feed, i);
        feed_publish(feed, i);
    }
    if (error) {
        policy_feed_destroy(feed);
        return error;
    }
    feed->next_poll = time_msec() + POLICY_FEED_PORT_POLL_MSEC;
    *feedp = feed;
    return 0;
}

void
policy_feed_destroy(struct policy_feed *feed)
{
    if (!feed) {
        return;
    }
    for (size_t i = 0; i < feed->n_dps; i++) {
        struct feed_dp *d = &feed->dps[i];
        supervisor_set_mac_table(feed->sup, i, -1, 0);
        mac_table_close(d->macs);
        if (d->mac_fd >= 0) {
            close(d->mac_fd);
        }
        free(d->rules);
        free(d->ports);
    }
    free(feed->dps);
    free(feed);
}

void
policy_feed_run(struct policy_feed *feed)
{
    if (time_msec() >= feed->next_poll) {
        policy_feed_refresh_ports(feed);
    }
}

void
policy_feed_refresh_ports(struct policy_feed *feed)
{
    feed->next_poll = time_msec() + POLICY_FEED_PORT_POLL_MSEC;
    /* Datapaths opened later (dpifctl add-dp) are not the feed's, nor the
     * supervisor's; one closed since leaves the array shorter. */
    size_t n = MIN(feed->n_dps, feed->privd->n_dps);
    for (size_t i = 0; i < n; i++) {
        if (feed_refresh_ports(feed, i)) {
            COUNTER_INC(policy_feed_port_changes);
            feed_publish(feed, i);
        }
    }
}

void
policy_feed_wait(struct policy_feed *feed, struct poller *p)
{
    poller_timer_wait(p, feed->next_poll);
}

int
policy_feed_set_rules(struct policy_feed *feed, size_t dp, const char *text,
                      size_t len, const char *source, struct errbuf *eb)
{
    if (dp >= feed->n_dps) {
        return errbuf_set(eb, EINVAL, "no datapath %zu", dp);
    }
    int error = feed_take_rules(feed, dp, text, len, source, eb);
    if (!error) {
        feed_publish(feed, dp);
    }
    return error;
}
