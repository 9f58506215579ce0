#include "common/poller.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeval.h"

LOG_MODULE(poller);

void
poller_clear(struct poller *p)
{
    p->n_fds = 0;
    p->deadline = LLONG_MAX;
}

void
poller_fd_wait(struct poller *p, int fd, short events)
{
    for (size_t i = 0; i < p->n_fds; i++) {
        if (p->fds[i].fd == fd) {
            p->fds[i].events |= events;
            return;
        }
    }
    if (p->n_fds >= POLLER_MAX_FDS) {
        LOG_ERR("more than %d fds registered in one poll loop", POLLER_MAX_FDS);
        abort();
    }
    p->fds[p->n_fds++] = (struct pollfd) { .fd = fd, .events = events };
}

void
poller_timer_wait(struct poller *p, long long deadline)
{
    if (deadline < p->deadline) {
        p->deadline = deadline;
    }
}

void
poller_immediate_wake(struct poller *p)
{
    p->deadline = 0;
}

void
poller_block(struct poller *p)
{
    int timeout = -1;

    if (p->deadline != LLONG_MAX) {
        long long now = time_msec();
        long long delta = p->deadline > now ? p->deadline - now : 0;
        timeout = delta > INT_MAX ? INT_MAX : (int) delta;
    }
    for (size_t i = 0; i < p->n_fds; i++) {
        p->fds[i].revents = 0;
    }
    if (poll(p->fds, p->n_fds, timeout) < 0 && errno != EINTR) {
        LOG_ERR("poll failed: %s", strerror(errno));
    }
}

short
poller_revents(const struct poller *p, int fd)
{
    for (size_t i = 0; i < p->n_fds; i++) {
        if (p->fds[i].fd == fd) {
            return p->fds[i].revents;
        }
    }
    return 0;
}
