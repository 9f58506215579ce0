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
#include "common/ds.h"
#include "common/ipc-limits.h"
#include "common/log.h"
#include "common/mac-table.h"
#include "common/policy.h"
#include "common/poller.h"
#include "common/timeval.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/privd.h"
#include "privd/safe-fs.h"
#include "privd/supervisor.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(policy_feed);

COUNTER_DEFINE(policy_feed_updates);
COUNTER_DEFINE(policy_feed_rules_rejected);
COUNTER_DEFINE(policy_feed_port_changes);
COUNTER_DEFINE(policy_feed_rules_saved);
COUNTER_DEFINE(policy_feed_rules_save_failed);

/* Above this many old x new rule comparisons, a new table starts with zero
 * counters instead of carrying over those of unchanged rules. */
#define FEED_CARRY_MAX_COMPARISONS (1u << 22)

/* One datapath's inputs. */
struct feed_dp {
    struct privd_dp *pdp;       /* The datapath (borrowed). */
    int mac_fd;                 /* MAC table memfd, owned. */
    struct mac_table *macs;     /* privd's mapping (kept for its size). */
    char *rules;                /* Current rule text, owned (NUL-ended). */
    struct policy_table *table; /* 'rules' parsed, with the per-rule
                                 * counters privd was credited; owned. */
    uint64_t rules_generation;  /* Policy generation that first carried
                                 * 'rules' (later ones only changed the
                                 * ports: rule ids stay valid). */
    uint32_t *ports;            /* Port numbers sent last, sorted, owned. */
    size_t n_ports;             /* Number of 'ports'. */
};

struct policy_feed {
    struct supervisor *sup;     /* Borrowed. */
    struct feed_dp **dps;       /* One per privd datapath, owned. */
    size_t n_dps;               /* Number of 'dps'. */
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

/* Sends 'd''s rules and ports with the next generation. */
static void
feed_publish(struct policy_feed *feed, struct feed_dp *d)
{
    struct privd_dp *pdp = d->pdp;
    Dpif__PolicyUpdate u = DPIF__POLICY_UPDATE__INIT;

    pdp->policy_generation++;
    u.generation = pdp->policy_generation;
    u.rules_text = d->rules;
    u.ports = d->ports;
    u.n_ports = MIN(d->n_ports, (size_t) IPC_MAX_PORTS);
    if (supervisor_set_policy(feed->sup, pdp, &u)) {
        LOG_ERR("%s: cannot hand the policy to the supervisor",
                dpif_name(pdp->dpif));
        return;
    }
    COUNTER_INC(policy_feed_updates);
    LOG_INFO("%s: policy generation %"PRIu64" (%zu ports)",
             dpif_name(pdp->dpif), u.generation, d->n_ports);
}

/* Re-reads 'd''s ports.  Returns true if they changed. */
static bool
feed_refresh_ports(struct feed_dp *d)
{
    struct feed_ports fp = { NULL, 0, 0 };

    dpif_port_dump(d->pdp->dpif, feed_collect_port, &fp);
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

/* Packets and bytes the revalidators credited to rule 'rule_id' of 'd''s
 * current table (privd/dump-pump.h keeps them per policy generation; every
 * generation since the table was set numbers its rules the same way, only
 * the ports changed), added to '*packets' and '*bytes'. */
static void
feed_add_pump_stats(const struct policy_feed *feed, const struct feed_dp *d,
                    uint32_t rule_id, uint64_t *packets, uint64_t *bytes)
{
    const struct dump_pump *pump = supervisor_get_dump_pump(feed->sup,
                                                            d->pdp);
    uint64_t last = d->pdp->policy_generation;

    for (uint64_t g = d->rules_generation; pump && g <= last; g++) {
        uint64_t p, b;
        if (dump_pump_get_rule_stats(pump, g, rule_id, &p, &b)) {
            *packets += p;
            *bytes += b;
        }
    }
}

/* Folds what the revalidators credited into 'd''s table, before the table
 * is replaced. */
static void
feed_fold_pump_stats(const struct policy_feed *feed, struct feed_dp *d)
{
    struct policy_table *t = d->table;

    if (!t) {
        return;
    }
    for (size_t r = 0; r < t->n_rules; r++) {
        feed_add_pump_stats(feed, d, t->rules[r].id, &t->rules[r].n_packets,
                            &t->rules[r].n_bytes);
    }
    feed_add_pump_stats(feed, d, POLICY_RULE_DEFAULT, &t->default_packets,
                        &t->default_bytes);
}

/* Gives each rule of 'new' that equals a rule of 'old' (same priority,
 * match and actions) that rule's counters, as ovs-ofctl replace-flows
 * keeps the counters of unchanged flows; and the default rule's. */
static void
feed_carry_counters(const struct policy_table *old, struct policy_table *new)
{
    if (!old) {
        return;
    }
    new->default_packets = old->default_packets;
    new->default_bytes = old->default_bytes;
    if ((uint64_t) old->n_rules * new->n_rules > FEED_CARRY_MAX_COMPARISONS) {
        return;
    }
    bool *taken = xcalloc(old->n_rules ? old->n_rules : 1, sizeof *taken);
    for (size_t i = 0; i < new->n_rules; i++) {
        for (size_t j = 0; j < old->n_rules; j++) {
            if (!taken[j] && policy_rule_equal(&new->rules[i],
                                               &old->rules[j])) {
                new->rules[i].n_packets = old->rules[j].n_packets;
                new->rules[i].n_bytes = old->rules[j].n_bytes;
                taken[j] = true;
                break;
            }
        }
    }
    free(taken);
}

/* Parses 'text' into '*tablep' ('source' names it in errors); E2BIG above
 * IPC_MAX_RULES_TEXT.  Counts nothing: the caller knows whose text it was. */
static int
feed_parse_rules(const char *text, size_t len, const char *source,
                 struct policy_table **tablep, struct errbuf *eb)
{
    if (len > IPC_MAX_RULES_TEXT) {
        return errbuf_set(eb, E2BIG, "%s: larger than %d bytes", source,
                          IPC_MAX_RULES_TEXT);
    }
    return policy_parse(text, len, source, 0, tablep, eb);
}

/* Makes 'table' (taken) and the 'len' bytes of 'text' 'd''s rules, without
 * publishing. */
static void
feed_install_rules(struct policy_feed *feed, struct feed_dp *d,
                   struct policy_table *table, const char *text, size_t len)
{
    feed_fold_pump_stats(feed, d);
    feed_carry_counters(d->table, table);
    policy_table_destroy(d->table);
    d->table = table;
    d->rules_generation = d->pdp->policy_generation + 1;
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(d->rules);
    d->rules = copy;
}

/* Checks 'text' and makes it 'd''s rules, without publishing. */
static int
feed_take_rules(struct policy_feed *feed, struct feed_dp *d,
                const char *text, size_t len, const char *source,
                struct errbuf *eb)
{
    struct policy_table *table;

    int error = feed_parse_rules(text, len, source, &table, eb);
    if (error) {
        COUNTER_INC(policy_feed_rules_rejected);
        return error;
    }
    feed_install_rules(feed, d, table, text, len);
    return 0;
}

/* Makes 'd''s rules those of its rules file, or none without one, without
 * publishing. */
static int
feed_load_rules(struct policy_feed *feed, struct feed_dp *d,
                struct errbuf *eb)
{
    const char *path = d->pdp->rules_file;
    char *text = NULL;
    size_t len = 0;

    if (!path) {
        return feed_take_rules(feed, d, "", 0, "rules", eb);
    }
    int error = feed_read_file(path, &text, &len, eb);
    if (!error) {
        error = feed_take_rules(feed, d, text, len, path, eb);
        free(text);
    }
    return error;
}

static void
feed_dp_destroy(struct policy_feed *feed, struct feed_dp *d)
{
    supervisor_set_mac_table(feed->sup, d->pdp, -1, 0, NULL);
    mac_table_close(d->macs);
    if (d->mac_fd >= 0) {
        close(d->mac_fd);
    }
    free(d->rules);
    policy_table_destroy(d->table);
    free(d->ports);
    free(d);
}

/* The feed's record of 'pdp', or NULL with the reason in 'eb'. */
static struct feed_dp *
feed_get_dp(const struct policy_feed *feed, const struct privd_dp *pdp,
            struct errbuf *eb)
{
    for (size_t i = 0; i < feed->n_dps; i++) {
        if (feed->dps[i]->pdp == pdp) {
            return feed->dps[i];
        }
    }
    errbuf_set(eb, EOPNOTSUPP, "%s has no forwarding policy",
               dpif_name(pdp->dpif));
    return NULL;
}

int
policy_feed_add_dp(struct policy_feed *feed, struct privd_dp *pdp,
                   struct errbuf *eb)
{
    struct feed_dp *d = xzalloc(sizeof *d);
    struct stat st;

    d->pdp = pdp;
    d->mac_fd = -1;
    int error = mac_table_create(0, 0, &d->mac_fd, &d->macs, eb);
    if (!error && fstat(d->mac_fd, &st)) {
        error = errbuf_set(eb, errno, "MAC table: %s", strerror(errno));
    }
    if (!error) {
        supervisor_set_mac_table(feed->sup, pdp, d->mac_fd,
                                 (uint64_t) st.st_size, d->macs);
        error = feed_load_rules(feed, d, eb);
    }
    if (error) {
        errbuf_prefix(eb, "%s: ", dpif_name(pdp->dpif));
        feed_dp_destroy(feed, d);
        return error;
    }
    feed->dps = xrealloc(feed->dps, (feed->n_dps + 1) * sizeof *feed->dps);
    feed->dps[feed->n_dps++] = d;
    feed_refresh_ports(d);
    feed_publish(feed, d);
    return 0;
}

void
policy_feed_remove_dp(struct policy_feed *feed, struct privd_dp *pdp)
{
    for (size_t i = 0; i < feed->n_dps; i++) {
        if (feed->dps[i]->pdp == pdp) {
            struct feed_dp *d = feed->dps[i];
            memmove(&feed->dps[i], &feed->dps[i + 1],
                    (feed->n_dps - i - 1) * sizeof *feed->dps);
            feed->n_dps--;
            feed_dp_destroy(feed, d);
            return;
        }
    }
}

int
policy_feed_create(struct privd *privd, struct supervisor *sup,
                   struct policy_feed **feedp, struct errbuf *eb)
{
    struct policy_feed *feed = xzalloc(sizeof *feed);

    feed->sup = sup;
    for (size_t i = 0; i < privd->n_dps; i++) {
        int error = policy_feed_add_dp(feed, privd->dps[i], eb);
        if (error) {
            policy_feed_destroy(feed);
            return error;
        }
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
        feed_dp_destroy(feed, feed->dps[i]);
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
    for (size_t i = 0; i < feed->n_dps; i++) {
        if (feed_refresh_ports(feed->dps[i])) {
            COUNTER_INC(policy_feed_port_changes);
            feed_publish(feed, feed->dps[i]);
        }
    }
}

void
policy_feed_wait(struct policy_feed *feed, struct poller *p)
{
    poller_timer_wait(p, feed->next_poll);
}

int
policy_feed_commit_rules(struct policy_feed *feed, const struct privd_dp *pdp,
                         const char *text, size_t len, const char *source,
                         uint64_t *generationp, bool *rejectedp,
                         struct errbuf *eb)
{
    struct policy_table *table;

    int error = feed_parse_rules(text, len, source, &table, eb);
    *rejectedp = error != 0;
    if (error) {
        return error;
    }
    if (pdp->rules_file) {
        error = policy_feed_save_rules(pdp->rules_file, text, len, eb);
        if (error) {
            policy_table_destroy(table);
            return error;
        }
    }
    struct feed_dp *d = feed_get_dp(feed, pdp, eb);
    if (!d) {
        policy_table_destroy(table);
        return EINVAL;
    }
    feed_install_rules(feed, d, table, text, len);
    feed_publish(feed, d);
    *generationp = pdp->policy_generation;
    return 0;
}

int
policy_feed_load_rules(struct policy_feed *feed, const struct privd_dp *pdp,
                       struct errbuf *eb)
{
    struct feed_dp *d = feed_get_dp(feed, pdp, eb);
    if (!d) {
        return EINVAL;
    }
    int error = feed_load_rules(feed, d, eb);
    if (!error) {
        feed_publish(feed, d);
    }
    return error;
}

int
policy_feed_get_rules(const struct policy_feed *feed,
                      const struct privd_dp *pdp, const char **textp,
                      uint64_t *generationp, struct errbuf *eb)
{
    const struct feed_dp *d = feed_get_dp(feed, pdp, eb);
    if (!d) {
        return EOPNOTSUPP;
    }
    *textp = d->rules;
    *generationp = pdp->policy_generation;
    return 0;
}

int
policy_feed_format_rules(const struct policy_feed *feed,
                         const struct privd_dp *pdp, char **textp,
                         size_t *n_rulesp, struct errbuf *eb)
{
    const struct feed_dp *d = feed_get_dp(feed, pdp, eb);
    if (!d) {
        return EOPNOTSUPP;
    }
    const struct policy_table *t = d->table;
    struct ds text = DS_EMPTY_INITIALIZER;
    for (size_t r = 0; r <= t->n_rules; r++) {
        bool dflt = r == t->n_rules;
        uint64_t packets = dflt ? t->default_packets : t->rules[r].n_packets;
        uint64_t bytes = dflt ? t->default_bytes : t->rules[r].n_bytes;
        feed_add_pump_stats(feed, d, dflt ? POLICY_RULE_DEFAULT
                                          : t->rules[r].id,
                            &packets, &bytes);
        ds_put_format(&text, "n_packets=%"PRIu64",n_bytes=%"PRIu64",",
                      packets, bytes);
        if (dflt) {
            ds_put_cstr(&text, "(default),actions=normal\n");
        } else {
            char *rule = policy_rule_format(&t->rules[r]);
            ds_put_format(&text, "%s\n", rule);
            free(rule);
        }
    }
    *textp = ds_steal_cstr(&text);
    *n_rulesp = t->n_rules;
    return 0;
}

const struct policy_table *
policy_feed_get_table(const struct policy_feed *feed,
                      const struct privd_dp *pdp)
{
    struct errbuf eb;
    const struct feed_dp *d = feed_get_dp(feed, pdp, &eb);
    return d ? d->table : NULL;
}

struct mac_table *
policy_feed_get_mac_table(const struct policy_feed *feed,
                          const struct privd_dp *pdp)
{
    struct errbuf eb;
    const struct feed_dp *d = feed_get_dp(feed, pdp, &eb);
    return d ? d->macs : NULL;
}

int
policy_feed_save_rules(const char *path, const char *text, size_t len,
                       struct errbuf *eb)
{
    struct errbuf e;
    struct stat st;

    /* The rules file keeps its mode (0644 for a new one). */
    mode_t mode = !stat(path, &st) ? st.st_mode & 0777 : 0644;
    int error = safe_fs_write_atomic(path, text, len, mode, &e);
    if (error) {
        COUNTER_INC(policy_feed_rules_save_failed);
        return errbuf_set(eb, error, "saving the rules: %s", e.msg);
    }
    COUNTER_INC(policy_feed_rules_saved);
    return 0;
}

int
policy_feed_reload(struct policy_feed *feed, struct errbuf *eb)
{
    int first = 0;

    for (size_t i = 0; i < feed->n_dps; i++) {
        struct feed_dp *d = feed->dps[i];
        const struct privd_dp *pdp = d->pdp;
        struct errbuf e;

        if (!pdp->rules_file) {
            continue;
        }
        int error = feed_load_rules(feed, d, &e);
        if (!error) {
            feed_publish(feed, d);
        } else {
            LOG_ERR("%s: keeping the rules in force: %s",
                    dpif_name(pdp->dpif), e.msg);
            if (!first) {
                first = error;
                *eb = e;
            }
        }
    }
    return first;
}
