#include "privd/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/worker.h"

static void
config_set_string(char **field, const char *value)
{
    free(*field);
    *field = xstrdup(value);
}

void
config_init_defaults(struct config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(cfg, 0, sizeof *cfg);
    if (cpus < 1) {
        cpus = 1;
    }
    cfg->n_handlers = (unsigned int) MIN(cpus, (long) CONFIG_MAX_WORKERS);
    cfg->n_revalidators = (unsigned int) (cpus / 4 + 1);
    cfg->user = xstrdup("dpifd");
    cfg->worker_user = xstrdup(DPIFD_WORKER_USER);
    cfg->run_dir = xstrdup("/run/dpifd");
    cfg->empty_root = xstrdup("");
    cfg->log_target = xstrdup("stderr");
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->flow_limit = 200000;
    cfg->max_idle_ms = 10000;
    cfg->batch_size = 50;
    cfg->keep_flows_on_exit = true;
    cfg->worker_socket_only = false;
    cfg->malformed_limit = 10;
    cfg->malformed_window_ms = 10000;
    cfg->metrics_textfile = xstrdup("");
    cfg->metrics_interval_s = 15;
}

static int
config_parse_uint(const char *value, uint64_t min, uint64_t max,
                  uint64_t *out, const char *origin, const char *key,
                  struct errbuf *eb)
{
    uint64_t v;
    if (str_to_uint(value, 10, max, &v) || v < min) {
        return errbuf_set(eb, EINVAL,
                          "%s: %s: expected a number from %llu to %llu, "
                          "got \"%s\"", origin, key, (unsigned long long) min,
                          (unsigned long long) max, value);
    }
    *out = v;
    return 0;
}

static int
config_parse_bool(const char *value, bool *out, const char *origin,
                  const char *key, struct errbuf *eb)
{
    if (!strcmp(value, "yes") || !strcmp(value, "true")
        || !strcmp(value, "1")) {
        *out = true;
    } else if (!strcmp(value, "no") || !strcmp(value, "false")
               || !strcmp(value, "0")) {
        *out = false;
    } else {
        return errbuf_set(eb, EINVAL, "%s: %s: expected yes or no, got \"%s\"",
                          origin, key, value);
    }
    return 0;
}

static bool
config_path_is_valid(const char *value)
{
    return value[0] == '/' && strlen(value) < 108;
}

int
config_set(struct config *cfg, const char *key, const char *value,
           const char *origin, struct errbuf *eb)
{
    uint64_t n = 0;
    int error;

    if (!strcmp(key, "handlers") || !strcmp(key, "revalidators")) {
        error = config_parse_uint(value, 1, CONFIG_MAX_WORKERS, &n, origin,
                                  key, eb);
        if (!error) {
            *(key[0] == 'h' ? &cfg->n_handlers : &cfg->n_revalidators)
                = (unsigned int) n;
        }
        return error;
    } else if (!strcmp(key, "flow-limit")) {
        error = config_parse_uint(value, 1000, 10000000, &n, origin, key, eb);
        if (!error) {
            cfg->flow_limit = (uint32_t) n;
        }
        return error;
    } else if (!strcmp(key, "max-idle")) {
        error = config_parse_uint(value, 100, 3600000, &n, origin, key, eb);
        if (!error) {
            cfg->max_idle_ms = (uint32_t) n;
        }
        return error;
    } else if (!strcmp(key, "batch-size")) {
        error = config_parse_uint(value, 1, CONFIG_MAX_BATCH, &n, origin, key,
                                  eb);
        if (!error) {
            cfg->batch_size = (unsigned int) n;
        }
        return error;
    } else if (!strcmp(key, "worker-transport")) {
        if (strcmp(value, "rings") && strcmp(value, "socket")) {
            return errbuf_set(eb, EINVAL,
                              "%s: %s: expected rings or socket, got \"%s\"",
                              origin, key, value);
        }
        cfg->worker_socket_only = !strcmp(value, "socket");
        return 0;
    } else if (!strcmp(key, "malformed-limit")) {
        error = config_parse_uint(value, 1, 1000000, &n, origin, key, eb);
        if (!error) {
            cfg->malformed_limit = (unsigned int) n;
        }
        return error;
    } else if (!strcmp(key, "malformed-window")) {
        error = config_parse_uint(value, 1, 3600000, &n, origin, key, eb);
        if (!error) {
            cfg->malformed_window_ms = (uint32_t) n;
        }
        return error;
    } else if (!strcmp(key, "keep-flows-on-exit")) {
        return config_parse_bool(value, &cfg->keep_flows_on_exit, origin,
                                 key, eb);
    } else if (!strcmp(key, "user") || !strcmp(key, "worker-user")) {
        if (!*value || strlen(value) > 32 || strpbrk(value, ":/ \t")) {
            return errbuf_set(eb, EINVAL, "%s: %s: \"%s\" is not a user name",
                              origin, key, value);
        }
        /* The workers' user is compiled in (DPIFD_WORKER_USER): the
         * sandbox that each worker enters first thing takes it from there,
         * and no input to a worker may choose its identity.  A different
         * name here would be silently ignored: refuse it instead. */
        if (key[0] == 'w' && strcmp(value, DPIFD_WORKER_USER)) {
            return errbuf_set(eb, EINVAL, "%s: %s: the workers always run "
                              "as the compiled-in user \"%s\" (build option "
                              "DPIFD_WORKER_USER), not \"%s\"", origin, key,
                              DPIFD_WORKER_USER, value);
        }
        config_set_string(key[0] == 'u' ? &cfg->user : &cfg->worker_user,
                          value);
        return 0;
    } else if (!strcmp(key, "run-dir") || !strcmp(key, "control-socket")) {
        if (!config_path_is_valid(value)) {
            return errbuf_set(eb, EINVAL,
                              "%s: %s: expected an absolute path shorter than "
                              "108 bytes, got \"%s\"", origin, key, value);
        }
        config_set_string(key[0] == 'r' ? &cfg->run_dir
                                        : &cfg->control_socket, value);
        return 0;
    } else if (!strcmp(key, "empty-root")) {
        if (*value && !config_path_is_valid(value)) {
            return errbuf_set(eb, EINVAL,
                              "%s: %s: expected an absolute path, got \"%s\"",
                              origin, key, value);
        }
        config_set_string(&cfg->empty_root, value);
        return 0;
    } else if (!strcmp(key, "log-target")) {
        if (strcmp(value, "stderr") && strcmp(value, "syslog")) {
            return errbuf_set(eb, EINVAL,
                              "%s: %s: expected stderr or syslog, got \"%s\"",
                              origin, key, value);
        }
        config_set_string(&cfg->log_target, value);
        return 0;
    } else if (!strcmp(key, "metrics-textfile")) {
        size_t len = strlen(value);
        if (*value && (value[0] != '/' || len > 4000 || len < 6
                       || strcmp(value + len - 5, ".prom"))) {
            return errbuf_set(eb, EINVAL,
                              "%s: %s: expected an absolute path ending in "
                              "\".prom\" (node_exporter reads only those), "
                              "got \"%s\"", origin, key, value);
        }
        config_set_string(&cfg->metrics_textfile, value);
        return 0;
    } else if (!strcmp(key, "metrics-interval")) {
        error = config_parse_uint(value, 1, 3600, &n, origin, key, eb);
        if (!error) {
            cfg->metrics_interval_s = (unsigned int) n;
        }
        return error;
    } else if (!strcmp(key, "log-level")) {
        if (log_level_from_string(value, &cfg->log_level)) {
            return errbuf_set(eb, EINVAL,
                              "%s: %s: expected off, err, warn, info or dbg, "
                              "got \"%s\"", origin, key, value);
        }
        return 0;
    }
    return errbuf_set(eb, EINVAL, "%s: unknown key \"%s\"", origin, key);
}

static bool
config_name_is_valid(const char *name)
{
    size_t len = strlen(name);

    if (!len || len > 15) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char) *p) && !strchr("-_.", *p)) {
            return false;
        }
    }
    return true;
}

struct config_datapath *
config_add_datapath(struct config *cfg, const char *spec, struct errbuf *eb)
{
    const char *at = strchr(spec, '@');
    char *type = at ? xmemdup(spec, (size_t) (at - spec) + 1)
                    : xstrdup("system");
    const char *name = at ? at + 1 : spec;

    if (at) {
        type[at - spec] = '\0';
    }
    if (strcmp(type, "netdev") && strcmp(type, "dummy")
        && strcmp(type, "system")) {
        errbuf_set(eb, EINVAL, "datapath \"%s\": unknown type \"%s\" "
                   "(expected netdev, dummy or system)", spec, type);
        free(type);
        return NULL;
    }
    if (!config_name_is_valid(name)) {
        errbuf_set(eb, EINVAL, "datapath \"%s\": name must be 1 to 15 "
                   "letters, digits, '-', '_' or '.'", spec);
        free(type);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_datapaths; i++) {
        if (!strcmp(cfg->datapaths[i].name, name)) {
            errbuf_set(eb, EINVAL, "datapath \"%s\" configured twice", name);
            free(type);
            return NULL;
        }
    }
    if (cfg->n_datapaths >= CONFIG_MAX_DATAPATHS) {
        errbuf_set(eb, E2BIG, "more than %d datapaths", CONFIG_MAX_DATAPATHS);
        free(type);
        return NULL;
    }
    cfg->datapaths = xrealloc(cfg->datapaths,
                              (cfg->n_datapaths + 1) * sizeof *cfg->datapaths);
    struct config_datapath *dp = &cfg->datapaths[cfg->n_datapaths++];
    memset(dp, 0, sizeof *dp);
    dp->type = type;
    dp->name = xstrdup(name);
    return dp;
}

int
config_add_port(struct config_datapath *dp, const char *spec,
                struct errbuf *eb)
{
    const char *colon = strchr(spec, ':');
    char *name = colon ? xmemdup(spec, (size_t) (colon - spec) + 1)
                       : xstrdup(spec);
    const char *type = (colon ? colon + 1
                        : !strcmp(dp->type, "dummy") ? "dummy" : "system");
    int error = 0;

    if (colon) {
        name[colon - spec] = '\0';
    }
    if (!config_name_is_valid(name)) {
        error = errbuf_set(eb, EINVAL, "port \"%s\": name must be 1 to 15 "
                           "letters, digits, '-', '_' or '.'", spec);
    } else if (strcmp(type, "system") && strcmp(type, "internal")
               && strcmp(type, "dummy")) {
        error = errbuf_set(eb, EINVAL, "port \"%s\": unknown type \"%s\" "
                           "(expected system, internal or dummy)", spec, type);
    } else if (!strcmp(dp->type, "dummy") && strcmp(type, "dummy")) {
        error = errbuf_set(eb, EINVAL, "port \"%s\": a dummy datapath has "
                           "only dummy ports", spec);
    } else if (!strcmp(name, dp->name)) {
        error = errbuf_set(eb, EINVAL, "port \"%s\": the datapath's local "
                           "port has its name already", spec);
    } else if (dp->n_ports >= CONFIG_MAX_PORTS) {
        error = errbuf_set(eb, E2BIG, "more than %d ports in datapath %s",
                           CONFIG_MAX_PORTS, dp->name);
    }
    for (size_t i = 0; !error && i < dp->n_ports; i++) {
        if (!strcmp(dp->ports[i].name, name)) {
            error = errbuf_set(eb, EINVAL, "port \"%s\" listed twice", name);
        }
    }
    if (error) {
        free(name);
        return error;
    }
    dp->ports = xrealloc(dp->ports, (dp->n_ports + 1) * sizeof *dp->ports);
    dp->ports[dp->n_ports].name = name;
    dp->ports[dp->n_ports].type = xstrdup(type);
    dp->n_ports++;
    return 0;
}

static char *
config_trim(char *s)
{
    while (isspace((unsigned char) *s)) {
        s++;
    }
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char) end[-1])) {
        *--end = '\0';
    }
    return s;
}

/* Handles one non-empty, non-comment line. */
static int
config_parse_line(struct config *cfg, char *line, const char *origin,
                  struct config_datapath **dpp, struct errbuf *eb)
{
    if (*line == '[') {
        char *close = strchr(line, ']');
        if (!close || *config_trim(close + 1)) {
            return errbuf_set(eb, EINVAL, "%s: malformed section header",
                              origin);
        }
        *close = '\0';
        char *inner = config_trim(line + 1);
        if (strncmp(inner, "datapath", 8) || !isspace((unsigned char) inner[8])) {
            return errbuf_set(eb, EINVAL, "%s: unknown section \"[%s]\" "
                              "(expected [datapath TYPE@NAME])", origin, inner);
        }
        *dpp = config_add_datapath(cfg, config_trim(inner + 8), eb);
        if (!*dpp) {
            errbuf_prefix(eb, "%s: ", origin);
            return EINVAL;
        }
        return 0;
    }

    char *eq = strchr(line, '=');
    if (!eq) {
        return errbuf_set(eb, EINVAL, "%s: expected \"key = value\"", origin);
    }
    *eq = '\0';
    char *key = config_trim(line);
    char *value = config_trim(eq + 1);

    if (*dpp) {
        int error;
        if (!strcmp(key, "port")) {
            error = config_add_port(*dpp, value, eb);
        } else if (!strcmp(key, "rules")) {
            if (!config_path_is_valid(value)) {
                return errbuf_set(eb, EINVAL, "%s: rules: expected an "
                                  "absolute path, got \"%s\"", origin, value);
            }
            config_set_string(&(*dpp)->rules_file, value);
            return 0;
        } else {
            return errbuf_set(eb, EINVAL, "%s: unknown key \"%s\" in a "
                              "datapath section (expected port or rules)",
                              origin, key);
        }
        if (error) {
            errbuf_prefix(eb, "%s: %s: ", origin, key);
        }
        return error;
    }
    return config_set(cfg, key, value, origin, eb);
}

int
config_read_file(struct config *cfg, const char *path, struct errbuf *eb)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        int error = errno;
        return errbuf_set(eb, error, "%s: %s", path, strerror(error));
    }

    struct config_datapath *dp = NULL;
    char line[1024];
    int line_no = 0;
    int error = 0;

    while (!error && fgets(line, sizeof line, file)) {
        char origin[300];
        line_no++;
        snprintf(origin, sizeof origin, "%s:%d", path, line_no);
        if (!strchr(line, '\n') && !feof(file)) {
            error = errbuf_set(eb, EINVAL, "%s: line longer than %zu bytes",
                               origin, sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        char *s = config_trim(line);
        if (*s) {
            /* 'dp' points into cfg->datapaths, which moves only when a new
             * section is appended, and that replaces 'dp'. */
            error = config_parse_line(cfg, s, origin, &dp, eb);
        }
    }
    fclose(file);
    return error;
}

int
config_finish(struct config *cfg, struct errbuf *eb)
{
    if (!cfg->control_socket) {
        cfg->control_socket = xasprintf("%s/dpifd.ctl", cfg->run_dir);
        if (strlen(cfg->control_socket) >= 108) {
            return errbuf_set(eb, EINVAL, "run-dir: \"%s\" is too long for a "
                              "unix socket path", cfg->run_dir);
        }
    }
    if (!*cfg->empty_root) {
        free(cfg->empty_root);
        cfg->empty_root = xasprintf("%s/empty", cfg->run_dir);
    }
    return 0;
}

void
config_destroy(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_datapaths; i++) {
        struct config_datapath *dp = &cfg->datapaths[i];
        for (size_t j = 0; j < dp->n_ports; j++) {
            free(dp->ports[j].name);
            free(dp->ports[j].type);
        }
        free(dp->ports);
        free(dp->type);
        free(dp->name);
        free(dp->rules_file);
    }
    free(cfg->datapaths);
    free(cfg->user);
    free(cfg->worker_user);
    free(cfg->run_dir);
    free(cfg->control_socket);
    free(cfg->empty_root);
    free(cfg->log_target);
    free(cfg->metrics_textfile);
    memset(cfg, 0, sizeof *cfg);
}
