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
 *     policy_feed_set_rules(), and checked here with the same parser the
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
 * Counters: policy_feed_updates, policy_feed_rules_rejected,
 * policy_feed_port_changes.
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

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct poller;
struct privd;
struct supervisor;

/* How often the port lists are compared with the datapaths'. */
#define POLICY_FEED_PORT_POLL_MSEC 200

struct policy_feed;

/* Creates the MAC tables of every datapath of 'privd' (capacity and aging
 * from the defaults of common/mac-table.h), loads each datapath's rules
 * file if it has one, and hands everything to 'sup' for its workers.
 * Returns 0, or a positive errno with the reason in 'eb' (a rules file
 * that cannot be read or parsed, a MAC table that cannot be created). */
int policy_feed_create(struct privd *privd, struct supervisor *sup,
                       struct policy_feed **feedp, struct errbuf *eb);

void policy_feed_destroy(struct policy_feed *);

/* Notices port changes and sends the new port lists. */
void policy_feed_run(struct policy_feed *);
void policy_feed_wait(struct policy_feed *, struct poller *);

/* Compares the port lists with the datapaths' now, and sends the new ones
 * at once: privd calls it after adding or removing a port, so that the
 * workers have the new list before any upcall from the new port (a packet
 * from a port a handler does not know gets a drop flow). */
void policy_feed_refresh_ports(struct policy_feed *);

/* Replaces the rules of datapath index 'dp' with the 'len' bytes of
 * 'text' ('source' names it in errors): a new generation for its workers.
 * Returns 0, or EINVAL/E2BIG with "source:line:column: reason" in 'eb',
 * the previous rules staying in force. */
int policy_feed_set_rules(struct policy_feed *, size_t dp, const char *text,
                          size_t len, const char *source, struct errbuf *eb);

#endif /* privd/policy-feed.h */
