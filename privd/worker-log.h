/*
 * worker-log.h — a worker's stdout and stderr, relayed into privd's log.
 *
 * A worker's stderr used to be privd's: whatever a compromised worker
 * wrote there ("...|privd|supervisor|info|...") became a line of privd's
 * log, indistinguishable from privd's own.  Now the supervisor gives every
 * worker process a pipe as its stdout and stderr (through the spawner,
 * privd/spawner.h) and reads the other end here.  Each line the worker
 * writes becomes one message of privd's, at info level, in module
 * "worker_log":
 *
 *     ...|privd|worker_log|info|handler 0 (pid 1234): TEXT
 *
 * where TEXT is the worker's line with control characters escaped (the
 * logger escapes every message, common/log.h), so that an embedded
 * newline or escape sequence stays inside the one message.  Bounds, all
 * counted:
 *
 *   - a line is at most WORKER_LOG_LINE_MAX bytes; the rest, up to the
 *     next newline, is dropped and the message ends in " [cut]"
 *     (worker_log_cut);
 *   - each worker may log WORKER_LOG_RATE lines per second, in bursts of
 *     WORKER_LOG_BURST; lines beyond are dropped (worker_log_dropped) and
 *     the next message says how many.  The burst is large because real
 *     workers log one line per policy generation, and adding 1,000 ports
 *     makes 1,000 generations within seconds;
 *   - one worker_log_run() reads at most WORKER_LOG_READ_MAX bytes, so a
 *     chatty worker cannot hold privd's loop.
 *
 * The pipe's read end is non-blocking: privd never waits for a worker.
 * The write end is the worker's alone; a worker that fills the pipe
 * faster than privd reads it blocks itself, nobody else.
 *
 * Ownership: a struct worker_log is embedded in the supervisor's worker
 * slot and owns its read end.  Single-threaded.
 *
 * Counters: worker_log_lines, worker_log_cut, worker_log_dropped.
 */
#ifndef PRIVD_WORKER_LOG_H
#define PRIVD_WORKER_LOG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/log.h"
#include "common/util.h"

struct poller;

#define WORKER_LOG_LINE_MAX 512
#define WORKER_LOG_RATE 50
#define WORKER_LOG_BURST 2000
#define WORKER_LOG_READ_MAX 16384

/* One worker process's output. */
struct worker_log {
    int fd;                     /* Read end (non-blocking), -1 if none. */
    char who[64];               /* "handler 0 (pid 1234)". */
    char line[WORKER_LOG_LINE_MAX]; /* The line being read. */
    size_t len;                 /* Bytes in 'line'. */
    bool cut;                   /* Dropping the rest of an overlong line. */
    struct log_rl rl;           /* This worker's rate limit. */
};

/* Makes 'wl' empty (no pipe). */
void worker_log_init(struct worker_log *wl);

/* Creates a pipe for a new worker process: the read end stays in 'wl'
 * (closing any previous one after reading what it still holds), the write
 * end goes to '*write_fdp' for the spawner (close it after the spawn).
 * Returns 0 or a positive errno. */
int worker_log_open(struct worker_log *wl, int *write_fdp,
                    struct errbuf *eb);

/* Names the process whose lines follow ("handler 0 (pid 1234)"). */
void worker_log_set_name(struct worker_log *wl, const char *role,
                         unsigned int index, pid_t pid);

/* Reads what the pipe holds (at most WORKER_LOG_READ_MAX bytes) and logs
 * each complete line.  At EOF, logs a last partial line and closes the
 * pipe. */
void worker_log_run(struct worker_log *wl);

/* Registers the pipe in 'p', if open. */
void worker_log_wait(const struct worker_log *wl, struct poller *p);

/* Logs what is buffered, then closes the pipe. */
void worker_log_close(struct worker_log *wl);

/* For a process that has exited: reads and logs everything the pipe still
 * holds (at most its capacity), then closes it. */
void worker_log_drain(struct worker_log *wl);

/* Splits 'n' bytes of output of the worker into lines as worker_log_run()
 * does, logging each (exposed for tests). */
void worker_log_feed(struct worker_log *wl, const char *data, size_t n);

#endif /* worker-log.h */
