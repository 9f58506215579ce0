/* ctl-policy.c — privd's policy and MAC learning commands: rules/show,
 * rules/add, rules/del, rules/replace, fdb/show, fdb/flush (dpifctl's
 * cli/cmd-policy.c).  Run by privd for authorized control clients; the
 * rules live in the policy feed (privd/policy-feed.h), the MAC table in
 * memory the workers write, so every entry read is checked. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ds.h"
#include "common/ipc.h"
#include "common/mac-table.h"
#include "common/policy.h"
#include "common/timeval.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/policy-feed.h"
#include "privd/privd.h"

COUNTER_DEFINE(control_rules_rejected);
COUNTER_DEFINE(control_fdb_entry_invalid);

/* The forwarding policy of 'dp' is the policy feed's, which exists when the
 * workers run. */
static int
ctl_policy_dp(struct control_ctx *ctx, const char *name,
              struct privd_dp **dpp)
{
    int error = ctl_find_dp(ctx, name, dpp);
    if (error) {
        return error;
    }
    if (!ctx->privd->policy_feed) {
        return errbuf_set(&ctx->eb, EOPNOTSUPP, "no forwarding policy: "
                          "dpifd runs without workers");
    }
    return 0;
}

/* Checks a rule text from a client: size and no NUL byte (protobuf-c
 * strings end at the first). */
static int
ctl_check_rules_text(struct control_ctx *ctx, const char *what,
                     const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (!text || len > IPC_MAX_RULES_TEXT) {
        return ctl_invalid(ctx, EINVAL, "%s: expected at most %d bytes",
                          what, IPC_MAX_RULES_TEXT);
    }
    return 0;
}

static int
ctl_rules_show(struct control_ctx *ctx, const Dpif__Request *rq,
               Dpif__Reply *rp)
{
    const char *rules;
    struct privd_dp *dp;
    uint64_t generation;
    size_t n_rules;
    char *text;

    int error = ctl_policy_dp(ctx, rq->rules_show->dp, &dp);
    if (!error) {
        error = policy_feed_get_rules(ctx->privd->policy_feed, dp, &rules,
                                      &generation, &ctx->eb);
    }
    if (!error) {
        error = policy_feed_format_rules(ctx->privd->policy_feed, dp,
                                         &text, &n_rules, &ctx->eb);
    }
    if (error) {
        return error;
    }
    ctx_keep(ctx, text);
    if (strlen(text) > ctx->budget) {
        return errbuf_set(&ctx->eb, E2BIG, "the rule table takes %zu bytes, "
                          "more than one reply holds", strlen(text));
    }
    Dpif__RulesShowReply *out;
    CTX_NEW(ctx, out, dpif__rules_show_reply__init);
    out->generation = generation;
    out->text = text;
    out->has_n_rules = true;
    out->n_rules = n_rules;
    if (dp->rules_file) {
        out->rules_file = ctx_strdup(ctx, dp->rules_file);
    }
    rp->result_case = DPIF__REPLY__RESULT_RULES_SHOW;
    rp->rules_show = out;
    return 0;
}

/* Makes 'text' the rules of 'dp': parsed (all or
 * nothing), saved to the datapath's rules file when it has one (a failed
 * save changes nothing), then handed to the workers.  Fills 'out'. */
static int
ctl_rules_commit(struct control_ctx *ctx, struct privd_dp *dp,
                 const char *text, size_t len, const char *source,
                 uint64_t n_rules, Dpif__RulesChangeReply *out)
{
    uint64_t generation;
    bool rejected;

    int error = policy_feed_commit_rules(ctx->privd->policy_feed, dp, text,
                                         len, source, &generation, &rejected,
                                         &ctx->eb);
    if (error) {
        if (rejected) {
            COUNTER_INC(control_rules_rejected);
        }
        return error;
    }
    if (dp->rules_file) {
        out->rules_file = ctx_strdup(ctx, dp->rules_file);
    }
    out->generation = generation;
    out->n_rules = n_rules;
    return 0;
}

static int
ctl_rules_add(struct control_ctx *ctx, const Dpif__Request *rq,
              Dpif__Reply *rp)
{
    const Dpif__RulesAddRequest *r = rq->rules_add;
    struct policy_table *added;
    struct privd_dp *dp;
    uint64_t generation;
    const char *rules;

    int error = ctl_policy_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_check_rules_text(ctx, "text", r->text);
    }
    if (!error) {
        error = policy_feed_get_rules(ctx->privd->policy_feed, dp, &rules,
                                      &generation, &ctx->eb);
    }
    if (error) {
        return error;
    }
    /* Errors name the line and column of what the client sent. */
    error = policy_parse(r->text, strlen(r->text), "rules", 0, &added,
                         &ctx->eb);
    if (error) {
        COUNTER_INC(control_rules_rejected);
        return error;
    }
    size_t n_added = added->n_rules;
    policy_table_destroy(added);

    struct ds text = DS_EMPTY_INITIALIZER;
    ds_put_cstr(&text, rules);
    if (text.length && text.string[text.length - 1] != '\n') {
        ds_put_char(&text, '\n');
    }
    ds_put_cstr(&text, r->text);
    char *all = ctx_keep(ctx, ds_steal_cstr(&text));
    size_t len = strlen(all);
    if (len > IPC_MAX_RULES_TEXT) {
        return errbuf_set(&ctx->eb, E2BIG, "the rule table would take %zu "
                          "bytes, more than %d", len, IPC_MAX_RULES_TEXT);
    }

    Dpif__RulesChangeReply *out;
    CTX_NEW(ctx, out, dpif__rules_change_reply__init);
    error = ctl_rules_commit(ctx, dp, all, len, "rules", n_added, out);
    if (error) {
        return error;
    }
    rp->result_case = DPIF__REPLY__RESULT_RULES_ADD;
    rp->rules_add = out;
    return 0;
}

/* True if rule 'r' is selected by rules/del's 'match' (whose one rule is
 * 'm'; NULL selects every rule). */
static bool
ctl_rule_selected(const struct policy_rule *r, const struct policy_rule *m,
                  bool strict)
{
    return (!m
            || ((!strict || r->priority == m->priority)
                && !memcmp(&r->match, &m->match, sizeof r->match)
                && !memcmp(&r->mask, &m->mask, sizeof r->mask)));
}

static int
ctl_rules_del(struct control_ctx *ctx, const Dpif__Request *rq,
              Dpif__Reply *rp)
{
    const Dpif__RulesDelRequest *r = rq->rules_del;
    bool strict = r->has_strict && r->strict;
    struct policy_table *sel = NULL;
    const struct policy_table *table;
    struct privd_dp *dp;
    uint64_t generation;
    const char *rules;

    int error = ctl_policy_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_check_rules_text(ctx, "match", r->match);
    }
    if (!error) {
        error = policy_feed_get_rules(ctx->privd->policy_feed, dp, &rules,
                                      &generation, &ctx->eb);
    }
    if (error) {
        return error;
    }
    if (strchr(r->match, '\n') || strstr(r->match, "actions")) {
        return ctl_invalid(ctx, EINVAL, "match: one line of match "
                          "fields, without actions");
    }
    if (r->match[0]) {
        char *rule = ctx_keep(ctx, xasprintf("%s,actions=drop", r->match));
        error = policy_parse(rule, strlen(rule), "match", 0, &sel, &ctx->eb);
        if (error) {
            COUNTER_INC(control_rules_rejected);
            return error;
        }
    }
    table = policy_feed_get_table(ctx->privd->policy_feed, dp);

    /* Drop the source lines of the selected rules: the rest of the text,
     * comments included, stays as the operator wrote it. */
    bool *gone = xcalloc(strlen(rules) + 2, sizeof *gone);
    size_t n_deleted = 0;
    for (size_t i = 0; table && i < table->n_rules; i++) {
        const struct policy_rule *rule = &table->rules[i];
        if (ctl_rule_selected(rule, sel ? &sel->rules[0] : NULL, strict)
            && rule->line <= strlen(rules) + 1) {
            gone[rule->line] = true;
            n_deleted++;
        }
    }
    policy_table_destroy(sel);

    struct ds text = DS_EMPTY_INITIALIZER;
    unsigned int line = 1;
    for (const char *p = rules; *p; line++) {
        size_t n = strcspn(p, "\n");
        if (!gone[line]) {
            ds_put_buffer(&text, p, n);
            ds_put_char(&text, '\n');
        }
        p += n + (p[n] == '\n');
    }
    free(gone);
    char *left = ctx_keep(ctx, ds_steal_cstr(&text));

    Dpif__RulesChangeReply *out;
    CTX_NEW(ctx, out, dpif__rules_change_reply__init);
    if (!n_deleted) {
        /* Nothing changes: no new generation, nothing saved. */
        out->generation = generation;
        out->n_rules = 0;
        if (dp->rules_file) {
            out->rules_file = ctx_strdup(ctx, dp->rules_file);
        }
    } else {
        error = ctl_rules_commit(ctx, dp, left, strlen(left), "rules",
                                 n_deleted, out);
        if (error) {
            return error;
        }
    }
    rp->result_case = DPIF__REPLY__RESULT_RULES_DEL;
    rp->rules_del = out;
    return 0;
}

static int
ctl_rules_replace(struct control_ctx *ctx, const Dpif__Request *rq,
                  Dpif__Reply *rp)
{
    const Dpif__RulesReplaceRequest *r = rq->rules_replace;
    struct policy_table *table;
    struct privd_dp *dp;

    int error = ctl_policy_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_check_rules_text(ctx, "text", r->text);
    }
    if (error) {
        return error;
    }
    const char *source = "rules";
    if (r->source) {
        size_t n = strlen(r->source);
        if (!n || n > IPC_MAX_REASON) {
            return ctl_invalid(ctx, EINVAL, "source: expected 1 to %d "
                              "bytes", IPC_MAX_REASON);
        }
        source = r->source;
    }
    size_t len = strlen(r->text);
    error = policy_parse(r->text, len, source, 0, &table, &ctx->eb);
    if (error) {
        COUNTER_INC(control_rules_rejected);
        return error;
    }
    size_t n_rules = table->n_rules;
    policy_table_destroy(table);

    Dpif__RulesChangeReply *out;
    CTX_NEW(ctx, out, dpif__rules_change_reply__init);
    error = ctl_rules_commit(ctx, dp, r->text, len, "rules", n_rules,
                             out);
    if (error) {
        return error;
    }
    rp->result_case = DPIF__REPLY__RESULT_RULES_REPLACE;
    rp->rules_replace = out;
    return 0;
}

/* The MAC table of 'dp', privd's own mapping of the shared region. */
static int
ctl_fdb_dp(struct control_ctx *ctx, const char *name, struct privd_dp **dpp,
           struct mac_table **macsp)
{
    int error = ctl_policy_dp(ctx, name, dpp);
    if (error) {
        return error;
    }
    *macsp = policy_feed_get_mac_table(ctx->privd->policy_feed, *dpp);
    if (!*macsp) {
        return errbuf_set(&ctx->eb, EOPNOTSUPP, "%s has no MAC learning "
                          "table", name);
    }
    return 0;
}

static int
ctl_fdb_show(struct control_ctx *ctx, const Dpif__Request *rq,
             Dpif__Reply *rp)
{
    struct mac_table *macs;
    struct privd_dp *dp;

    int error = ctl_fdb_dp(ctx, rq->fdb_show->dp, &dp, &macs);
    if (error) {
        return error;
    }
    size_t cap = mac_table_capacity(macs);
    struct mac_table_entry *entries = xcalloc(cap ? cap : 1,
                                              sizeof *entries);
    size_t n = mac_table_dump(macs, time_msec(), entries, cap);

    /* Workers wrote every byte of these: list only what could be true. */
    Dpif__FdbShowReply *out;
    uint64_t n_more = 0;
    CTX_NEW(ctx, out, dpif__fdb_show_reply__init);
    for (size_t i = 0; i < n; i++) {
        const struct mac_table_entry *e = &entries[i];
        if (e->vlan > 4095 || eth_addr_is_multicast(e->mac)
            || e->age_msec < 0 || !ctl_port_ok(e->port, dp)) {
            COUNTER_INC(control_fdb_entry_invalid);
            continue;
        }
        if (out->n_entries >= IPC_MAX_FDB_ENTRIES
            || (out->n_entries + 1) * 64 > ctx->budget) {
            n_more++;
            continue;
        }
        Dpif__FdbEntry *fe;
        CTX_NEW(ctx, fe, dpif__fdb_entry__init);
        fe->port_no = e->port;
        fe->vlan = e->vlan;
        fe->mac = ctx_bytes(ctx, e->mac.ea, sizeof e->mac.ea);
        long long age = e->age_msec / 1000;
        fe->age_sec = (uint32_t) MIN(age, (long long) UINT32_MAX);
        CTX_APPEND(ctx, out->entries, out->n_entries, fe);
    }
    free(entries);
    out->has_n_more = true;
    out->n_more = n_more;
    rp->result_case = DPIF__REPLY__RESULT_FDB_SHOW;
    rp->fdb_show = out;
    return 0;
}

static int
ctl_fdb_flush(struct control_ctx *ctx, const Dpif__Request *rq,
              Dpif__Reply *rp)
{
    struct mac_table *macs;
    struct privd_dp *dp;

    int error = ctl_fdb_dp(ctx, rq->fdb_flush->dp, &dp, &macs);
    if (error) {
        return error;
    }
    /* The flush counts as a change in the table's header, which makes
     * revalidators re-check the flows that were learned from it. */
    size_t n = mac_table_flush(macs, UINT32_MAX);
    Dpif__FdbFlushReply *out;
    CTX_NEW(ctx, out, dpif__fdb_flush_reply__init);
    out->has_n_flushed = true;
    out->n_flushed = n;
    rp->result_case = DPIF__REPLY__RESULT_FDB_FLUSH;
    rp->fdb_flush = out;
    return 0;
}

static const struct control_command ctl_policy_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(RULES_SHOW, "rules/show", READ, ctl_rules_show),
    CMD(RULES_ADD, "rules/add", WRITE, ctl_rules_add),
    CMD(RULES_DEL, "rules/del", WRITE, ctl_rules_del),
    CMD(RULES_REPLACE, "rules/replace", WRITE, ctl_rules_replace),
    CMD(FDB_SHOW, "fdb/show", READ, ctl_fdb_show),
    CMD(FDB_FLUSH, "fdb/flush", WRITE, ctl_fdb_flush),
#undef CMD
};

const struct ctl_command_group ctl_policy_group = {
    ctl_policy_commands, ARRAY_SIZE(ctl_policy_commands),
};
