/*
 * flow-limit.h — the dynamic flow limit: how many flows the datapath may
 * hold, adjusted after every dump from how long the dump took.
 *
 * The rule is the seeds' (udpif_revalidator() in ofproto-dpif-upcall.c),
 * applied by privd's dump pump (privd/dump-pump.h) after each dump of
 * 'n_flows' flows that took 'duration' ms (at least 1):
 *
 *     duration > 2000 ms:   limit /= duration / 1000   (integer division)
 *     duration > 1300 ms:   limit = limit * 3 / 4
 *     duration < 1000 ms, n_flows > 2000 and limit < n_flows * 1000 / duration:
 *                           limit += 1000
 *
 * then clamped to [1000, configured flow-limit].  The limit starts at
 * min(configured flow-limit, 10000).  A dump longer than 2 s logs "Spent an
 * unreasonably long N ms dumping flows" and counts dump_unreasonably_long.
 *
 * Handlers read the limit from the status page and install no flow beyond
 * it; revalidators shorten the idle time to 100 ms above it and delete
 * every flow above twice it.
 *
 * Plain data, no allocation; single-threaded.
 */
#ifndef PRIVD_FLOW_LIMIT_H
#define PRIVD_FLOW_LIMIT_H 1

#include <stdint.h>

#define FLOW_LIMIT_MIN 1000         /* Floor of the dynamic limit. */
#define FLOW_LIMIT_START_MAX 10000  /* Highest starting limit. */
#define FLOW_LIMIT_DEFAULT 200000   /* Default configured flow-limit. */
#define FLOW_LIMIT_LONG_DUMP_MSEC 2000 /* "Unreasonably long". */

struct flow_limit {
    uint32_t configured;        /* Upper bound (config flow-limit). */
    uint32_t limit;             /* Current dynamic limit. */
};

/* Starts at min(configured, FLOW_LIMIT_START_MAX) ('configured' 0 means
 * FLOW_LIMIT_DEFAULT). */
void flow_limit_init(struct flow_limit *, uint32_t configured);

/* Applies the rule for a dump of 'n_flows' that took 'duration_msec'
 * (values below 1 count as 1).  Returns the new limit. */
uint32_t flow_limit_update(struct flow_limit *, uint64_t n_flows,
                           long long duration_msec);

/* upcall/set-flow-limit: a new upper bound; the current limit is clamped
 * to it at once. */
void flow_limit_set_configured(struct flow_limit *, uint32_t configured);

#endif /* flow-limit.h */
