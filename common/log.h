/*
 * log.h — leveled, per-module, rate-limited logging.
 *
 * Every source file that logs declares its module once:
 *
 *     LOG_MODULE(classifier);
 *
 * and then logs with LOG_ERR(), LOG_WARN(), LOG_INFO() or LOG_DBG().  A
 * module's level can be changed at run time (log_set_level(), reached from
 * "dpifctl log/set MODULE LEVEL").  Messages go to stderr (the default; under
 * systemd the journal picks them up) or to syslog (log_open_syslog()), with
 * the process role ("privd", "handler3", ...) as prefix.
 *
 * Anything that a remote peer can trigger repeatedly (a bad upcall, a
 * rejected op) must use the _RL variants with a static rate limiter:
 *
 *     static struct log_rl rl = LOG_RL_INIT(5, 20);   -- 5/s, burst 20
 *     LOG_WARN_RL(&rl, "bad upcall from port %u", port);
 *
 * Suppressed messages are counted and reported with the next one that
 * passes.
 *
 * Untrusted text: log messages often carry strings that a control client
 * or a worker chose (datapath and port names, rule text, a worker's
 * stderr).  Every formatted message is passed through log_escape() before
 * it is written, so that such a string cannot start a new line or forge
 * another process's message: one call, one line.  Callers therefore log
 * untrusted strings as they are and never escape them first (that would
 * double the backslashes); log_escape() itself is for text that leaves
 * through another channel (a status line, a reply) under the same rule.
 *
 * Thread safety: modules are registered by constructors before main();
 * logging itself takes no lock and writes each message with one write(2).
 * dpifd processes are single-threaded.
 */
#ifndef DPIF_LOG_H
#define DPIF_LOG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

enum log_level {
    LOG_LEVEL_OFF,
    LOG_LEVEL_ERR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DBG,
};

struct log_module {
    const char *name;           /* Module name, e.g. "classifier". */
    enum log_level level;       /* Messages above this level are dropped. */
    struct log_module *next;    /* In the global list of modules. */
};

/* A token bucket: 'rate' messages per second, bursts of 'burst'. */
struct log_rl {
    unsigned int rate;          /* Tokens per second. */
    unsigned int burst;         /* Bucket size. */
    unsigned int tokens;        /* Tokens now (scaled by 1000). */
    long long last_msec;        /* Last refill, time_msec(); 0 = never. */
    unsigned int suppressed;    /* Messages dropped since the last one. */
};
#define LOG_RL_INIT(RATE, BURST) { (RATE), (BURST), 0, 0, 0 }

void log_register_module(struct log_module *);

#define LOG_MODULE(NAME)                                                  \
    static struct log_module log_module_ = { #NAME, LOG_LEVEL_INFO, 0 }; \
    __attribute__((constructor)) static void log_init_module_(void)       \
    {                                                                     \
        log_register_module(&log_module_);                                \
    }                                                                     \
    struct log_module_dummy_##NAME

void log_msg(const struct log_module *, enum log_level, const char *fmt, ...)
    PRINTF_FORMAT(3, 4);
void log_msg_rl(const struct log_module *, struct log_rl *, enum log_level,
                const char *fmt, ...) PRINTF_FORMAT(4, 5);

static inline bool
log_is_enabled(const struct log_module *m, enum log_level level)
{
    return level <= m->level;
}

#define LOG_AT_(LEVEL, ...)                                               \
    do {                                                                  \
        if (log_is_enabled(&log_module_, LEVEL)) {                        \
            log_msg(&log_module_, LEVEL, __VA_ARGS__);                    \
        }                                                                 \
    } while (0)
#define LOG_AT_RL_(RL, LEVEL, ...)                                        \
    do {                                                                  \
        if (log_is_enabled(&log_module_, LEVEL)) {                        \
            log_msg_rl(&log_module_, RL, LEVEL, __VA_ARGS__);             \
        }                                                                 \
    } while (0)

#define LOG_ERR(...)  LOG_AT_(LOG_LEVEL_ERR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT_(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT_(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_DBG(...)  LOG_AT_(LOG_LEVEL_DBG, __VA_ARGS__)
#define LOG_ERR_RL(RL, ...)  LOG_AT_RL_(RL, LOG_LEVEL_ERR, __VA_ARGS__)
#define LOG_WARN_RL(RL, ...) LOG_AT_RL_(RL, LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_INFO_RL(RL, ...) LOG_AT_RL_(RL, LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_DBG_RL(RL, ...)  LOG_AT_RL_(RL, LOG_LEVEL_DBG, __VA_ARGS__)
#define LOG_DBG_IS_ON() log_is_enabled(&log_module_, LOG_LEVEL_DBG)

/* Logs at error level and exits the process with status 1. */
#define LOG_FATAL(...)                                                    \
    do {                                                                  \
        log_msg(&log_module_, LOG_LEVEL_ERR, __VA_ARGS__);                \
        log_exit_fatal();                                                 \
    } while (0)
NO_RETURN void log_exit_fatal(void);

/* Sets the process role printed before every message ("privd", ...).
 * 'role' must stay valid for the life of the process. */
void log_set_role(const char *role);

/* Sends messages to syslog (facility daemon) instead of stderr. */
void log_open_syslog(const char *ident);

/* Parses "err", "warn", "info", "dbg"/"debug", "off". */
int log_level_from_string(const char *s, enum log_level *levelp);
const char *log_level_to_string(enum log_level);

/* Sets the level of the module named 'module', or of every module when
 * 'module' is "ANY".  Returns ENOENT for an unknown module. */
int log_set_level(const char *module, enum log_level);

/* Calls 'cb' for each registered module. */
void log_for_each_module(void (*cb)(const struct log_module *, void *aux),
                         void *aux);

/* Copies 'len' bytes of 'src' into 'dst' ('size' bytes, NUL-terminated)
 * with every control character (below 0x20, and 0x7f) escaped: "\n",
 * "\r", "\t", else "\xHH".  Bytes from 0x80 up (UTF-8) and backslashes
 * are kept.  Output that does not fit is cut at a whole character or
 * escape.  Returns the length written. */
size_t log_escape(char *dst, size_t size, const void *src, size_t len);

/* Rate limiter check: true if a message may be emitted now.  Exposed for
 * tests; the _RL macros use it. */
bool log_rl_allow(struct log_rl *);

#endif /* log.h */
