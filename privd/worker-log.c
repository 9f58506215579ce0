/*
 * worker-log.c — workers' output relayed into privd's log (worker-log.h).
 */
#include "privd/worker-log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/poller.h"

LOG_MODULE(worker_log);

COUNTER_DEFINE(worker_log_lines);
COUNTER_DEFINE(worker_log_cut);
COUNTER_DEFINE(worker_log_dropped);

void
worker_log_init(struct worker_log *wl)
{
    memset(wl, 0, sizeof *wl);
    wl->fd = -1;
    wl->rl = (struct log_rl) LOG_RL_INIT(WORKER_LOG_RATE, WORKER_LOG_BURST);
    snprintf(wl->who, sizeof wl->who, "worker");
}

/* Logs the buffered line (which ends there) and empties the buffer. */
static void
worker_log_emit(struct worker_log *wl)
{
    if (!log_is_enabled(&log_module_, LOG_LEVEL_INFO)) {
        /* Nothing to rate-limit. */
    } else if (!log_rl_allow(&wl->rl)) {
        COUNTER_INC(worker_log_dropped);
    } else {
        unsigned int suppressed = wl->rl.suppressed;
        wl->rl.suppressed = 0;
        COUNTER_INC(worker_log_lines);
        if (suppressed) {
            LOG_INFO("%s: %.*s%s (%u lines dropped)", wl->who, (int) wl->len,
                     wl->line, wl->cut ? " [cut]" : "", suppressed);
        } else {
            LOG_INFO("%s: %.*s%s", wl->who, (int) wl->len, wl->line,
                     wl->cut ? " [cut]" : "");
        }
    }
    wl->len = 0;
    wl->cut = false;
}

void
worker_log_feed(struct worker_log *wl, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            worker_log_emit(wl);
        } else if (wl->len < sizeof wl->line) {
            wl->line[wl->len++] = c;
        } else if (!wl->cut) {
            wl->cut = true;
            COUNTER_INC(worker_log_cut);
        }
    }
}

void
worker_log_close(struct worker_log *wl)
{
    if (wl->fd >= 0) {
        if (wl->len || wl->cut) {
            worker_log_emit(wl);
        }
        close(wl->fd);
        wl->fd = -1;
    }
    wl->len = 0;
    wl->cut = false;
}

void
worker_log_run(struct worker_log *wl)
{
    size_t total = 0;

    while (wl->fd >= 0 && total < WORKER_LOG_READ_MAX) {
        char buf[4096];
        ssize_t n = read(wl->fd, buf, sizeof buf);
        if (n > 0) {
            worker_log_feed(wl, buf, (size_t) n);
            total += (size_t) n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            /* EOF: every process holding the write end is gone. */
            worker_log_close(wl);
        }
    }
}

void
worker_log_drain(struct worker_log *wl)
{
    while (wl->fd >= 0) {
        char buf[4096];
        ssize_t n = read(wl->fd, buf, sizeof buf);
        if (n > 0) {
            worker_log_feed(wl, buf, (size_t) n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            worker_log_close(wl);
        }
    }
}

int
worker_log_open(struct worker_log *wl, int *write_fdp, struct errbuf *eb)
{
    int fds[2];

    worker_log_run(wl);
    worker_log_close(wl);
    if (pipe2(fds, O_CLOEXEC)) {
        return errbuf_set(eb, errno, "pipe: %s", strerror(errno));
    }
    int flags = fcntl(fds[0], F_GETFL);
    if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        return errbuf_set(eb, error, "pipe: %s", strerror(error));
    }
    wl->fd = fds[0];
    *write_fdp = fds[1];
    return 0;
}

void
worker_log_set_name(struct worker_log *wl, const char *role,
                    unsigned int index, pid_t pid)
{
    snprintf(wl->who, sizeof wl->who, "%s %u (pid %ld)", role, index,
             (long) pid);
}

void
worker_log_wait(const struct worker_log *wl, struct poller *p)
{
    if (wl->fd >= 0) {
        poller_fd_wait(p, wl->fd, POLLIN);
    }
}
