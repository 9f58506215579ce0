/*
 * metrics.h — privd's Prometheus text exposition and the metrics textfile.
 *
 * Run by privd (the privileged process, or the "dpifd" user after the
 * drop).  metrics_format() writes the text that "dpifctl metrics" prints
 * (privd/ctl-status.c serves it): per-datapath and per-port statistics,
 * the flow limit, every named counter of privd, the revalidation figures
 * and per-rule counters of each datapath's dump pump, uptimes and privd's
 * resident memory.  Everything it reads is privd's own state or what the
 * supervisor aggregated from the workers' reports; nothing here parses a
 * worker's bytes.
 *
 * The textfile: with cfg.metrics_textfile set, metrics_textfile_run(),
 * called from privd's main loop, writes the same text to that file every
 * cfg.metrics_interval_s seconds (the first time at the first run),
 * through safe_fs_write_atomic(): a temporary file of a random name
 * created with O_EXCL | O_NOFOLLOW, then renamed, for node_exporter's
 * textfile collector.  metrics_textfile_wait() wakes the loop for it.
 *
 * Counters: control_metrics_textfile_written,
 * control_metrics_textfile_failed.
 *
 * Ownership: a "struct metrics_textfile" is the caller's (main.c's loop);
 * the "struct privd" passed in is borrowed for the call.  Single-threaded.
 */
#ifndef PRIVD_METRICS_H
#define PRIVD_METRICS_H 1

#include <stdint.h>

struct ds;
struct poller;
struct privd;

/* When the metrics textfile is written next. */
struct metrics_textfile {
    long long next_msec;        /* time_msec() of the next write; 0 writes
                                 * at the first metrics_textfile_run(). */
};

/* Appends the whole exposition text to 's'. */
void metrics_format(const struct privd *, struct ds *s);

/* Resident set size of this process in bytes, from /proc/self/statm;
 * returns 0 or a positive errno. */
int metrics_read_rss(uint64_t *rssp);

/* Writes the textfile when it is due (see above). */
void metrics_textfile_run(struct metrics_textfile *, const struct privd *);
void metrics_textfile_wait(const struct metrics_textfile *,
                           const struct privd *, struct poller *);

#endif /* metrics.h */
