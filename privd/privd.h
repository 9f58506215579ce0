/*
 * privd.h — the state of the privileged process (dpifd) as a whole.
 *
 * privd is one single-threaded poll loop (privd/main.c) over:
 *
 *   - its datapaths ("struct privd_dp"): the dpif of each, run and waited
 *     on every iteration;
 *   - the control server (privd/control-server.h): dpifctl connections;
 *   - the supervisor (privd/supervisor.h): the spawner and every worker's
 *     control socketpair and rings.
 *
 * Modules receive the "struct privd" they need explicitly; there is no
 * global state besides the provider registry of privd/dpif.c.
 *
 * Datapaths come and go at run time (the configuration at startup and at
 * every SIGHUP, "dpifctl add-dp/del-dp" in between), so the functions below
 * are the only way to open or close one: they keep 'dps' and the control
 * server's per-datapath state (flow dumps in progress, captured frames)
 * consistent.  privd_sync_datapaths() applies a configuration: it opens the
 * datapaths and adds the ports it lists, and removes those that an earlier
 * configuration listed and the new one does not.  Datapaths and ports made
 * by hand with dpifctl are not touched by a reload.
 *
 * When the workers run (privd->supervisor), opening a datapath also starts
 * its workers (supervisor_add_dp()) and gives them its rules, ports and MAC
 * table (policy_feed_add_dp()); closing one undoes both first
 * (policy_feed_remove_dp(), supervisor_remove_dp()), so dpifctl
 * add-dp/del-dp and a reload are followed by the workers.
 *
 * Ownership: struct privd owns everything it points to; main.c tears it
 * down in reverse order of creation.  Each "struct privd_dp" is allocated
 * once and keeps its address until privd_close_dp() frees it: the
 * supervisor and the control server hold on to it.  It points to its
 * parts in the other modules that have one per datapath ('sup', the
 * supervisor's), so that they find it without a search; privd_open_dp()
 * creates them in order and privd_close_dp() destroys them in reverse.
 */
#ifndef PRIVD_PRIVD_H
#define PRIVD_PRIVD_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privd/config.h"

struct dpif;
struct control_server;
struct errbuf;
struct spawner;
struct sup_dp;
struct supervisor;
struct policy_feed;

/* One open datapath. */
struct privd_dp {
    struct dpif *dpif;          /* Owned. */
    char *rules_file;           /* Configured rules file, or NULL. */
    uint64_t policy_generation; /* Bumped at every rules change. */
    struct sup_dp *sup;         /* Its workers, status page, dump pump and
                                 * flow ledger (supervisor-internal.h):
                                 * made by supervisor_add_dp() (from
                                 * privd_open_dp() or supervisor_create()),
                                 * freed by supervisor_remove_dp() (from
                                 * privd_close_dp()) or supervisor_destroy(),
                                 * which own it; NULL without workers. */
};

struct privd {
    struct config cfg;          /* Effective configuration. */
    const char *config_file;    /* File it came from (argv), or NULL. */
    struct privd_dp **dps;      /* Open datapaths, 'n_dps' of them, each
                                 * owned and never moved. */
    size_t n_dps;               /* Number of open datapaths. */
    struct control_server *control; /* Control socket server. */
    struct spawner *spawner;    /* Worker spawner, forked before the
                                 * privilege drop; NULL when the worker
                                 * binaries are not installed.  The
                                 * supervisor borrows it. */
    struct supervisor *supervisor;  /* Workers; NULL before they start. */
    struct policy_feed *policy_feed; /* Rules, ports and MAC tables for the
                                      * workers; NULL without workers. */
    bool exiting;               /* SIGTERM seen: leave the loop. */
    bool reload;                /* SIGHUP seen: re-read config and rules. */
    long long start_msec;       /* time_msec() at startup. */
};

/* Finds an open datapath by name, or NULL. */
struct privd_dp *privd_find_dp(struct privd *, const char *name);

/* Opens (creating it if needed) datapath 'name' of provider 'type',
 * appends it to privd->dps and, when the workers run, starts its workers;
 * stores it in '*dpp' if 'dpp' is nonnull.  EEXIST if privd already has a
 * datapath of that name. */
int privd_open_dp(struct privd *, const char *name, const char *type,
                  struct privd_dp **dpp, struct errbuf *);

/* Stops the workers of 'dp' (when they run), removes it from privd->dps,
 * closes and frees it.  With 'destroy' the
 * datapath itself is deleted (its flows and ports go); without, only
 * privd's handle is closed, so that a kernel datapath keeps forwarding
 * with its flows.  Userspace datapaths live inside privd and are always
 * destroyed. */
int privd_close_dp(struct privd *, struct privd_dp *dp, bool destroy,
                   struct errbuf *);

/* Closes every datapath at shutdown: flushes their flows first unless
 * cfg.keep_flows_on_exit. */
void privd_close_all_dps(struct privd *);

/* Makes the open datapaths match 'new_cfg': opens missing datapaths, adds
 * missing ports (re-adding a port whose type changed), sets rules files,
 * and removes datapaths and ports that 'old_cfg' (NULL at startup) listed
 * and 'new_cfg' does not.  Continues after an error and returns the first
 * one, with its reason in 'eb'. */
int privd_sync_datapaths(struct privd *, const struct config *old_cfg,
                         const struct config *new_cfg, struct errbuf *);

#endif /* privd.h */
