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
 * Ownership: struct privd owns everything it points to; privd_destroy()
 * (in main.c) tears it down in reverse order of creation.
 */
#ifndef PRIVD_PRIVD_H
#define PRIVD_PRIVD_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privd/config.h"

struct dpif;
struct control_server;
struct spawner;
struct supervisor;

/* One open datapath. */
struct privd_dp {
    struct dpif *dpif;          /* Owned. */
    char *rules_file;           /* Configured rules file, or NULL. */
    uint64_t policy_generation; /* Bumped at every rules change. */
};

struct privd {
    struct config cfg;          /* Effective configuration. */
    const char *config_file;    /* File it came from (argv), or NULL. */
    struct privd_dp *dps;       /* Open datapaths, 'n_dps' of them. */
    size_t n_dps;
    struct control_server *control; /* Control socket server. */
    struct spawner *spawner;    /* Started by main before the privilege
                                 * drop; the supervisor borrows it. */
    struct supervisor *supervisor;  /* Workers; NULL before they start. */
    bool exiting;               /* SIGTERM seen: leave the loop. */
    bool reload;                /* SIGHUP seen: re-read config and rules. */
    long long start_msec;       /* time_msec() at startup. */
};

/* Finds an open datapath by name, or NULL. */
struct privd_dp *privd_find_dp(struct privd *, const char *name);

#endif /* privd.h */
