/* libFuzzer harness for privd/config.c: arbitrary bytes as dpifd's
 * configuration file (--config), read with config_read_file() over the
 * defaults and completed with config_finish(), as privd/main.c does.
 *
 * Input: the file's contents.  The harness writes them to a memfd and has
 * the parser open it by its /proc/self/fd path, so the parser's own
 * fopen()/fgets() path runs unchanged.
 *
 * Invariants:
 *
 *   - a failure names the file and the line ("PATH:LINE: ...");
 *   - a configuration that parses holds only values the file format
 *     allows (counts, sizes and paths in range, known types, valid names,
 *     no port twice, no datapath twice);
 *   - written back in the file format ("key=value" lines and datapath
 *     sections, by this harness) it parses again to the same
 *     configuration: the parser accepts everything it can produce. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/ds.h"
#include "common/log.h"
#include "privd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Parses 'text'/'len' as a configuration file into 'cfg' (defaults
 * first).  Returns the parser's error; 'path' receives the file's name. */
static int
parse(const void *text, size_t len, struct config *cfg, char *path,
      size_t path_size, struct errbuf *eb)
{
    int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
    check(fd >= 0);
    check(write(fd, text, len) == (ssize_t) len);
    snprintf(path, path_size, "/proc/self/fd/%d", fd);

    config_init_defaults(cfg);
    int error = config_read_file(cfg, path, eb);
    close(fd);
    return error;
}

static bool
str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool
name_ok(const char *s)
{
    size_t len = strlen(s);
    if (!len || len > 15) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-_.") == len;
}

static bool
is_one_of(const char *s, const char *a, const char *b, const char *c)
{
    return !strcmp(s, a) || !strcmp(s, b) || (c && !strcmp(s, c));
}

/* The values config.h documents. */
static void
check_ranges(const struct config *cfg)
{
    check(cfg->n_handlers >= 1 && cfg->n_handlers <= CONFIG_MAX_WORKERS);
    check(cfg->n_revalidators >= 1
          && cfg->n_revalidators <= CONFIG_MAX_WORKERS);
    check(cfg->batch_size >= 1 && cfg->batch_size <= CONFIG_MAX_BATCH);
    check(cfg->flow_limit >= 1000 && cfg->flow_limit <= 10000000);
    check(cfg->max_idle_ms >= 100 && cfg->max_idle_ms <= 3600000);
    check(cfg->malformed_limit >= 1);
    check(cfg->malformed_window_ms >= 1);
    check(cfg->metrics_interval_s >= 1 && cfg->metrics_interval_s <= 3600);
    check(cfg->run_dir[0] == '/' && strlen(cfg->run_dir) < 108);
    check(!cfg->control_socket || (cfg->control_socket[0] == '/'
                                   && strlen(cfg->control_socket) < 108));
    check(!strpbrk(cfg->user, ":/ \t") && cfg->user[0]);
    check(!strpbrk(cfg->worker_user, ":/ \t") && cfg->worker_user[0]);
    check(is_one_of(cfg->log_target, "stderr", "syslog", NULL));
    check(!cfg->metrics_textfile[0] || cfg->metrics_textfile[0] == '/');
    check(cfg->n_datapaths <= CONFIG_MAX_DATAPATHS);
    for (size_t i = 0; i < cfg->n_datapaths; i++) {
        const struct config_datapath *dp = &cfg->datapaths[i];
        check(is_one_of(dp->type, "netdev", "dummy", "system"));
        check(name_ok(dp->name));
        check(dp->n_ports <= CONFIG_MAX_PORTS);
        check(!dp->rules_file || dp->rules_file[0] == '/');
        for (size_t j = 0; j < i; j++) {
            check(strcmp(cfg->datapaths[j].name, dp->name));
        }
        for (size_t j = 0; j < dp->n_ports; j++) {
            const struct config_port *p = &dp->ports[j];
            check(name_ok(p->name) && strcmp(p->name, dp->name));
            check(is_one_of(p->type, "system", "internal", "dummy"));
            check(strcmp(dp->type, "dummy") || !strcmp(p->type, "dummy"));
            for (size_t k = 0; k < j; k++) {
                check(strcmp(dp->ports[k].name, p->name));
            }
        }
    }
}

/* Writes 'cfg' in the file format. */
static void
format(const struct config *cfg, struct ds *s)
{
    ds_put_format(s, "handlers=%u\n", cfg->n_handlers);
    ds_put_format(s, "revalidators=%u\n", cfg->n_revalidators);
    ds_put_format(s, "user=%s\n", cfg->user);
    ds_put_format(s, "worker-user=%s\n", cfg->worker_user);
    ds_put_format(s, "run-dir=%s\n", cfg->run_dir);
    if (cfg->control_socket) {
        ds_put_format(s, "control-socket=%s\n", cfg->control_socket);
    }
    ds_put_format(s, "empty-root=%s\n", cfg->empty_root);
    ds_put_format(s, "log-target=%s\n", cfg->log_target);
    ds_put_format(s, "log-level=%s\n", log_level_to_string(cfg->log_level));
    ds_put_format(s, "flow-limit=%u\n", (unsigned) cfg->flow_limit);
    ds_put_format(s, "max-idle=%u\n", (unsigned) cfg->max_idle_ms);
    ds_put_format(s, "batch-size=%u\n", cfg->batch_size);
    ds_put_format(s, "keep-flows-on-exit=%s\n",
                  cfg->keep_flows_on_exit ? "yes" : "no");
    ds_put_format(s, "worker-transport=%s\n",
                  cfg->worker_socket_only ? "socket" : "rings");
    ds_put_format(s, "malformed-limit=%u\n", cfg->malformed_limit);
    ds_put_format(s, "malformed-window=%u\n",
                  (unsigned) cfg->malformed_window_ms);
    ds_put_format(s, "metrics-textfile=%s\n", cfg->metrics_textfile);
    ds_put_format(s, "metrics-interval=%u\n", cfg->metrics_interval_s);
    for (size_t i = 0; i < cfg->n_datapaths; i++) {
        const struct config_datapath *dp = &cfg->datapaths[i];
        ds_put_format(s, "[datapath %s@%s]\n", dp->type, dp->name);
        for (size_t j = 0; j < dp->n_ports; j++) {
            ds_put_format(s, "port=%s:%s\n", dp->ports[j].name,
                          dp->ports[j].type);
        }
        if (dp->rules_file) {
            ds_put_format(s, "rules=%s\n", dp->rules_file);
        }
    }
}

static void
check_equal(const struct config *a, const struct config *b)
{
    check(a->n_handlers == b->n_handlers);
    check(a->n_revalidators == b->n_revalidators);
    check(str_eq(a->user, b->user) && str_eq(a->worker_user, b->worker_user));
    check(str_eq(a->run_dir, b->run_dir));
    check(str_eq(a->control_socket, b->control_socket));
    check(str_eq(a->empty_root, b->empty_root));
    check(str_eq(a->log_target, b->log_target));
    check(a->log_level == b->log_level);
    check(a->flow_limit == b->flow_limit && a->max_idle_ms == b->max_idle_ms);
    check(a->batch_size == b->batch_size);
    check(a->keep_flows_on_exit == b->keep_flows_on_exit);
    check(a->worker_socket_only == b->worker_socket_only);
    check(a->malformed_limit == b->malformed_limit);
    check(a->malformed_window_ms == b->malformed_window_ms);
    check(str_eq(a->metrics_textfile, b->metrics_textfile));
    check(a->metrics_interval_s == b->metrics_interval_s);
    check(a->n_datapaths == b->n_datapaths);
    for (size_t i = 0; i < a->n_datapaths; i++) {
        const struct config_datapath *x = &a->datapaths[i];
        const struct config_datapath *y = &b->datapaths[i];
        check(str_eq(x->type, y->type) && str_eq(x->name, y->name));
        check(str_eq(x->rules_file, y->rules_file));
        check(x->n_ports == y->n_ports);
        for (size_t j = 0; j < x->n_ports; j++) {
            check(str_eq(x->ports[j].name, y->ports[j].name));
            check(str_eq(x->ports[j].type, y->ports[j].type));
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg, cfg2;
    struct errbuf eb = { "" };
    char path[64];

    if (parse(data, size, &cfg, path, sizeof path, &eb)) {
        size_t len = strlen(path);
        check(!strncmp(eb.msg, path, len) && eb.msg[len] == ':');
        config_destroy(&cfg);
        return 0;
    }
    check_ranges(&cfg);

    struct ds s;
    ds_init(&s);
    format(&cfg, &s);
    if (parse(ds_cstr(&s), s.length, &cfg2, path, sizeof path, &eb)) {
        fprintf(stderr, "written back, the configuration does not parse: "
                "%s\n", eb.msg);
        abort();
    }
    check_equal(&cfg, &cfg2);
    ds_destroy(&s);

    int error = config_finish(&cfg, &eb);
    check(!error || error == EINVAL);
    if (!error) {
        check_ranges(&cfg);
        check(cfg.empty_root[0] == '/');
    }
    config_destroy(&cfg);
    config_destroy(&cfg2);
    return 0;
}
