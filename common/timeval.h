/*
 * timeval.h — clocks.
 *
 * time_msec() is CLOCK_MONOTONIC in milliseconds: the clock of every
 * interval, timeout and "used" time in dpifd (the kernel's flow "used" times
 * are on the same clock).  time_wall_msec() is the wall clock, only for
 * printing.
 */
#ifndef DPIF_TIMEVAL_H
#define DPIF_TIMEVAL_H 1

#include <stdint.h>

long long time_msec(void);
long long time_usec(void);
long long time_wall_msec(void);

#endif /* timeval.h */
