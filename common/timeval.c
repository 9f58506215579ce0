#include "common/timeval.h"

#include <time.h>

static long long
clock_usec(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long
time_msec(void)
{
    return clock_usec(CLOCK_MONOTONIC) / 1000;
}

long long
time_usec(void)
{
    return clock_usec(CLOCK_MONOTONIC);
}

long long
time_wall_msec(void)
{
    return clock_usec(CLOCK_REALTIME) / 1000;
}
