/*
 * counters.h — named anomaly and event counters.
 *
 * The spirit of Open vSwitch's COVERAGE_DEFINE: every drop, rejection or
 * anomaly has a name and a counter, so an operator can see it
 * ("dpifctl counters") instead of guessing from logs.
 *
 *     COUNTER_DEFINE(upcall_bad_cookie);
 *     ...
 *     COUNTER_INC(upcall_bad_cookie);
 *
 * Counters are per process and monotonic.  A worker exports its counters to
 * privd with counters_snapshot(); privd adds them up per name.
 *
 * Thread safety: dpifd processes are single-threaded; registration happens
 * in constructors before main().
 */
#ifndef DPIF_COUNTERS_H
#define DPIF_COUNTERS_H 1

#include <stddef.h>
#include <stdint.h>

struct counter {
    const char *name;           /* Unique name, e.g. "upcall_bad_cookie". */
    uint64_t value;             /* Count since the process started. */
    struct counter *next;       /* In the global list. */
};

void counter_register(struct counter *);

#define COUNTER_DEFINE(NAME)                                              \
    static struct counter counter_##NAME = { #NAME, 0, 0 };               \
    __attribute__((constructor)) static void counter_init_##NAME(void)    \
    {                                                                     \
        counter_register(&counter_##NAME);                                \
    }                                                                     \
    struct counter_dummy_##NAME

#define COUNTER_INC(NAME) (counter_##NAME.value++)
#define COUNTER_ADD(NAME, N) (counter_##NAME.value += (N))
#define COUNTER_VALUE(NAME) (counter_##NAME.value)

/* Calls 'cb' for every counter of this process, in name order. */
void counters_for_each(void (*cb)(const char *name, uint64_t value, void *aux),
                       void *aux);

/* Value of the counter named 'name', or 0 if there is none. */
uint64_t counter_get(const char *name);

#endif /* counters.h */
