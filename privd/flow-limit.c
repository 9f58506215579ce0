/*
 * flow-limit.c — the dynamic flow limit (flow-limit.h).
 */
#include "privd/flow-limit.h"

#include "common/counters.h"
#include "common/log.h"
#include "common/util.h"

LOG_MODULE(flow_limit);

COUNTER_DEFINE(dump_unreasonably_long);

void
flow_limit_init(struct flow_limit *fl, uint32_t configured)
{
    fl->configured = configured ? configured : FLOW_LIMIT_DEFAULT;
    fl->limit = MIN(fl->configured, FLOW_LIMIT_START_MAX);
}

uint32_t
flow_limit_update(struct flow_limit *fl, uint64_t n_flows,
                  long long duration_msec)
{
    uint64_t duration = duration_msec > 1 ? (uint64_t) duration_msec : 1;
    uint64_t limit = fl->limit;

    if (duration > 2000) {
        limit /= duration / 1000;
    } else if (duration > 1300) {
        limit = limit * 3 / 4;
    } else if (duration < 1000 && n_flows > 2000
               && limit < n_flows * 1000 / duration) {
        limit += 1000;
    }
    fl->limit = (uint32_t) MIN((uint64_t) fl->configured,
                               MAX(limit, (uint64_t) FLOW_LIMIT_MIN));

    if (duration > FLOW_LIMIT_LONG_DUMP_MSEC) {
        COUNTER_INC(dump_unreasonably_long);
        LOG_INFO("Spent an unreasonably long %llums dumping flows",
                 (unsigned long long) duration);
    }
    return fl->limit;
}

void
flow_limit_set_configured(struct flow_limit *fl, uint32_t configured)
{
    fl->configured = configured ? configured : FLOW_LIMIT_DEFAULT;
    fl->limit = MIN(fl->limit, fl->configured);
}
