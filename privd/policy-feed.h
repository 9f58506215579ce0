/*
 * policy-feed.h — what privd gives every worker for translation.
 *
 * Overview
 * ========
 *
 * Handlers translate upcalls, and revalidators re-translate installed
 * flows, with three inputs that privd owns (design.md, "Shared state among
 * workers"):
 *
 *   - the rule table, configuration: loaded from the datapath's rules file
 *     (privd_dp.rules_file) or replaced at run time with
 *     policy_feed_commit_rules(), and checked here with the same parser the
 *     workers run (common/policy.h) before any worker sees it;
 *   - the port list: the datapath's port numbers, re-read every
 *     POLICY_FEED_PORT_POLL_MSEC (dpif_port_dump()) and at once after
 *     dpifctl add-if and del-if (policy_feed_refresh_ports());
 *   - the MAC learning table: a shared-memory region (common/mac-table.h)
 *     created here, one per datapath, attached by the supervisor to every
 *     HelloReply.  privd creates it and never reads what the workers wrote.
 *
 * Rules and ports travel together in a PolicyUpdate (proto/worker.proto)
 * with the datapath's policy generation, bumped at every change of either
 * (ports are an input of translation: a port that comes or goes changes
 * what "flood" and "normal" output).  supervisor_set_policy() sends it to
 * every running worker of the datapath and to every worker that starts
 * later, and publishes the generation in the status page, which makes
 * revalidators re-check their flows.
 *
 * A bad rule table is refused with "source:line:column: reason" and the
 * previous one stays in force.
 *
 * Per-rule counters: revalidators credit packets and bytes to rules by
 * (policy generation, rule id), and the dump pump of each datapath keeps
 * those credits (privd/dump-pump.h).  The feed keeps each datapath's
 * table parsed and adds them up for "dpifctl rules/show"; when a table is
 * replaced, the rules that did not change keep their counters (folded
 * into the new table).
 *
 * Persistence: policy_feed_save_rules() writes a rules file atomically
 * (temporary file, fsync, rename), for rules changed through dpifctl;
 * policy_feed_reload() re-reads every configured rules file (SIGHUP).
 *
 * Counters: policy_feed_updates, policy_feed_rules_rejected,
 * policy_feed_port_changes, policy_feed_rules_saved, policy_feed_rules_save_failed.
 *
 * Ownership: the feed borrows 'privd' and the supervisor (both outlive
 * it) and owns the MAC table regions.  Single-threaded, in privd's loop:
 *
 *     supervisor_create(&privd, &sup);
 *     policy_feed_create(&privd, sup, &feed);
 *     for (;;) {
 *         supervisor_run(sup);
 *         policy_feed_run(feed);
 *         ...wait on both...
 *     }
 *     policy_feed_destroy(feed);
 *     supervisor_destroy(sup);
 */
#ifndef PRIVD_POLICY_FEED_H
#define PRIVD_POLICY_FEED_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct mac_table;
struct poller;
struct policy_table;
struct privd;
struct privd_dp;
struct supervisor;

/* How often the port lists are compared with the datapaths'. */
#define POLICY_FEED_PORT_POLL_MSEC 200

struct policy_feed;

/* Creates the feed and calls policy_feed_add_dp() for every datapath of
 * 'privd'.  Returns 0, or the first error of policy_feed_add_dp(). */
int policy_feed_create(struct privd *privd, struct supervisor *sup,
                       struct policy_feed **feedp, struct errbuf *eb);

/* Datapaths come and go (privd_open_dp() and privd_close_dp() call these,
 * right after supervisor_add_dp() and right before supervisor_remove_dp()):
 *
 * policy_feed_add_dp() creates the MAC table of 'dp' (capacity and aging
 * from the defaults of common/mac-table.h), loads its rules file if it has
 * one, and hands both, with its ports, to the supervisor for its workers.
 * Returns 0, or a positive errno with the reason in 'eb' (a rules file
 * that cannot be read or parsed, a MAC table that cannot be created).
 *
 * policy_feed_remove_dp() detaches and frees what the feed holds for 'dp';
 * a datapath the feed does not know is fine. */
int policy_feed_add_dp(struct policy_feed *, struct privd_dp *dp,
                       struct errbuf *eb);
void policy_feed_remove_dp(struct policy_feed *, struct privd_dp *dp);

void policy_feed_destroy(struct policy_feed *);

/* Notices port changes and sends the new port lists. */
void policy_feed_run(struct policy_feed *);
void policy_feed_wait(struct policy_feed *, struct poller *);

/* Compares the port lists with the datapaths' now, and sends the new ones
 * at once: privd calls it after adding or removing a port, so that the
 * workers have the new list before any upcall from the new port (a packet
 * from a port a handler does not know gets a drop flow). */
void policy_feed_refresh_ports(struct policy_feed *);

/* A rule change from a control client: parses the 'len' bytes of 'text'
 * once ('source' names it in errors), saves them to dp->rules_file when the
 * datapath has one (policy_feed_save_rules()) and publishes them to the
 * workers as a new generation, stored in '*generationp'.  A text that
 * does not parse, or a failed save, changes nothing and returns a
 * positive errno with the reason in 'eb' (EINVAL for a datapath the feed
 * does not know: its file is saved then).
 * '*rejectedp' says whether the text did not parse, for the caller to
 * count (policy_feed_rules_rejected counts configured tables only). */
int policy_feed_commit_rules(struct policy_feed *, const struct privd_dp *dp,
                             const char *text, size_t len,
                             const char *source, uint64_t *generationp,
                             bool *rejectedp, struct errbuf *eb);

/* Re-reads the rules file of datapath 'dp' (dp->rules_file; no rules
 * without one) and publishes them as a new generation. */
int policy_feed_load_rules(struct policy_feed *, const struct privd_dp *dp,
                           struct errbuf *eb);

/* The rule text of datapath 'dp' as given (comments included; valid
 * until the next change) and its policy generation.  EOPNOTSUPP with the
 * reason in 'eb' for a datapath the feed does not serve. */
int policy_feed_get_rules(const struct policy_feed *,
                          const struct privd_dp *dp, const char **textp,
                          uint64_t *generationp, struct errbuf *eb);

/* The canonical text of datapath 'dp''s table with each rule's counters
 * (policy_table_format(..., true)), which the caller frees, and its number
 * of rules.  EOPNOTSUPP as above. */
int policy_feed_format_rules(const struct policy_feed *,
                             const struct privd_dp *dp, char **textp,
                             size_t *n_rulesp, struct errbuf *eb);

/* The parsed table of datapath 'dp' (valid until the next change), or
 * NULL. */
const struct policy_table *policy_feed_get_table(const struct policy_feed *,
                                                 const struct privd_dp *dp);

/* privd's mapping of datapath 'dp''s MAC learning table, or NULL.  Its
 * contents are written by workers: check every entry read from it. */
struct mac_table *policy_feed_get_mac_table(const struct policy_feed *,
                                            const struct privd_dp *dp);

/* Writes the 'len' bytes of 'text' to 'path' atomically
 * (safe_fs_write_atomic(): a new file of a random name, never a planted
 * symlink, fsync, rename).  Returns 0 or a positive errno with the reason in 'eb'
 * (the old file stays as it was). */
int policy_feed_save_rules(const char *path, const char *text, size_t len,
                           struct errbuf *eb);

/* Re-reads the rules file of every datapath that has one and publishes
 * each table that parses (a new generation); a file that cannot be read or
 * parsed leaves that datapath's rules in force.  Returns 0 or the first
 * error, with its reason in 'eb'. */
int policy_feed_reload(struct policy_feed *, struct errbuf *eb);

#endif /* privd/policy-feed.h */
