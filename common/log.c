#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/timeval.h"

static struct log_module *modules;
static const char *log_role = "dpifd";
static bool use_syslog;

static const char *const level_names[] = {
    [LOG_LEVEL_OFF] = "off",
    [LOG_LEVEL_ERR] = "err",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DBG] = "dbg",
};

void
log_register_module(struct log_module *m)
{
    m->next = modules;
    modules = m;
}

void
log_set_role(const char *role)
{
    log_role = role;
}

void
log_open_syslog(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    use_syslog = true;
}

int
log_level_from_string(const char *s, enum log_level *levelp)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (!strcmp(s, level_names[i])) {
            *levelp = (enum log_level) i;
            return 0;
        }
    }
    if (!strcmp(s, "debug")) {
        *levelp = LOG_LEVEL_DBG;
        return 0;
    }
    return EINVAL;
}

const char *
log_level_to_string(enum log_level level)
{
    return (unsigned) level < ARRAY_SIZE(level_names) ? level_names[level]
                                                      : "?";
}

int
log_set_level(const char *module, enum log_level level)
{
    bool any = !strcmp(module, "ANY");
    bool found = false;

    for (struct log_module *m = modules; m; m = m->next) {
        if (any || !strcmp(m->name, module)) {
            m->level = level;
            found = true;
        }
    }
    return found ? 0 : ENOENT;
}

void
log_for_each_module(void (*cb)(const struct log_module *, void *aux),
                    void *aux)
{
    for (struct log_module *m = modules; m; m = m->next) {
        cb(m, aux);
    }
}

size_t
log_escape(char *dst, size_t size, const void *src_, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *src = src_;
    size_t n = 0;

    if (!size) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = src[i];
        char esc[4];
        size_t k;

        if (c >= 0x20 && c != 0x7f) {
            esc[0] = (char) c;
            k = 1;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            k = 2;
        } else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
            k = 4;
        }
        if (n + k >= size) {
            break;              /* Truncated at a whole escape. */
        }
        memcpy(dst + n, esc, k);
        n += k;
    }
    dst[n] = '\0';
    return n;
}

static void log_vmsg(const struct log_module *, enum log_level,
                     unsigned int suppressed, const char *fmt, va_list)
    PRINTF_FORMAT(4, 0);

static void
log_vmsg(const struct log_module *m, enum log_level level,
         unsigned int suppressed, const char *fmt, va_list args)
{
    char raw[1024], text[1024];
    int saved_errno = errno;

    /* Whatever the arguments hold (names and text from clients and
     * workers), one message is one line without control characters. */
    int n_raw = vsnprintf(raw, sizeof raw, fmt, args);
    log_escape(text, sizeof text, raw,
               n_raw < 0 ? 0 : MIN((size_t) n_raw, sizeof raw - 1));
    if (use_syslog) {
        static const int prio[] = {
            [LOG_LEVEL_OFF] = LOG_DEBUG, [LOG_LEVEL_ERR] = LOG_ERR,
            [LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_INFO,
            [LOG_LEVEL_DBG] = LOG_DEBUG,
        };
        syslog(prio[level], "%s|%s|%s%s", log_role, m->name, text,
               suppressed ? " (more suppressed)" : "");
    } else {
        char line[1200];
        long long now = time_wall_msec();
        time_t secs = (time_t) (now / 1000);
        struct tm tm;
        char stamp[32];

        gmtime_r(&secs, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        int n = snprintf(line, sizeof line, "%s.%03lldZ|%s|%s|%s|%s", stamp,
                         now % 1000, log_role, m->name,
                         log_level_to_string(level), text);
        if (n < 0) {
            n = 0;
        }
        size_t len = MIN((size_t) n, sizeof line - 40);
        if (suppressed) {
            len += (size_t) snprintf(line + len, sizeof line - len,
                                     " (%u suppressed)", suppressed);
        }
        line[len++] = '\n';
        ssize_t ignored = write(STDERR_FILENO, line, len);
        (void) ignored;
    }
    errno = saved_errno;
}

void
log_msg(const struct log_module *m, enum log_level level, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    log_vmsg(m, level, 0, fmt, args);
    va_end(args);
}

bool
log_rl_allow(struct log_rl *rl)
{
    long long now = time_msec();

    if (!rl->last_msec) {
        rl->tokens = rl->burst * 1000;
    } else if (now > rl->last_msec) {
        unsigned long long add = (unsigned long long) (now - rl->last_msec)
                                 * rl->rate;
        unsigned long long cap = (unsigned long long) rl->burst * 1000;
        unsigned long long t = rl->tokens + add;
        rl->tokens = (unsigned int) (t > cap ? cap : t);
    }
    rl->last_msec = now;
    if (rl->tokens >= 1000) {
        rl->tokens -= 1000;
        return true;
    }
    rl->suppressed++;
    return false;
}

void
log_msg_rl(const struct log_module *m, struct log_rl *rl,
           enum log_level level, const char *fmt, ...)
{
    if (!log_rl_allow(rl)) {
        return;
    }
    va_list args;
    va_start(args, fmt);
    log_vmsg(m, level, rl->suppressed, fmt, args);
    va_end(args);
    rl->suppressed = 0;
}

void
log_exit_fatal(void)
{
    exit(EXIT_FAILURE);
}
