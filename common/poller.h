/*
 * poller.h — one poll(2) loop per process, rebuilt every iteration.
 *
 * Each process runs:
 *
 *     for (;;) {
 *         run everything (non-blocking);
 *         poller_clear(&p);
 *         let everything register what would make it runnable again:
 *             poller_fd_wait(&p, fd, POLLIN);
 *             poller_timer_wait(&p, deadline_msec);
 *         poller_block(&p);
 *     }
 *
 * Nothing is remembered between iterations, so a module cannot forget to
 * unregister an fd.  Wake-ups are level-triggered.  poller_block() returns
 * after the first event or the earliest deadline; callers simply run again.
 *
 * Thread safety: none needed; dpifd processes are single-threaded.
 */
#ifndef DPIF_POLLER_H
#define DPIF_POLLER_H 1

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define POLLER_MAX_FDS 512

struct poller {
    struct pollfd fds[POLLER_MAX_FDS]; /* Registered fds, in order. */
    size_t n_fds;                      /* Number of entries in 'fds'. */
    long long deadline;                /* time_msec() to wake up at, or
                                        * LLONG_MAX for none. */
};

/* Empties 'p' (no fds, no deadline). */
void poller_clear(struct poller *p);

/* Wakes the next poller_block() when 'fd' has any of 'events'.  The same fd
 * registered twice gets its events merged.  Aborts past POLLER_MAX_FDS: a
 * process registers a bounded, configured number of fds. */
void poller_fd_wait(struct poller *p, int fd, short events);

/* Wakes the next poller_block() at time_msec() >= 'deadline'. */
void poller_timer_wait(struct poller *p, long long deadline);

/* Wakes immediately. */
void poller_immediate_wake(struct poller *p);

/* Blocks until an event or the deadline.  EINTR counts as an event. */
void poller_block(struct poller *p);

/* After poller_block(): the events that 'fd' reported (0 if none). */
short poller_revents(const struct poller *p, int fd);

#endif /* poller.h */
