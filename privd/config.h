/*
 * config.h — dpifd's configuration: file, command line, defaults.
 *
 * The file (/etc/dpifd/dpifd.conf by default) is line-oriented:
 *
 *     # comment
 *     handlers = 2
 *     revalidators = 1
 *     flow-limit = 200000
 *
 *     [datapath netdev@br0]
 *     port = eth1:system
 *     port = br0-int:internal
 *     rules = /etc/dpifd/br0.rules
 *
 * Global keys (before the first section):
 *
 *   handlers N          dpif-handlerd processes (default: number of CPUs,
 *                       at most 64)
 *   revalidators N      dpif-revald processes (default: CPUs/4 + 1)
 *   user NAME           privd's user after the drop (default "dpifd")
 *   worker-user NAME    the workers' user: only the compiled-in
 *                       DPIFD_WORKER_USER ("dpifd-worker") is accepted,
 *                       any other name is an error (the workers' sandbox
 *                       takes its user from the build, not from privd)
 *   run-dir DIR         runtime directory (default /run/dpifd)
 *   control-socket PATH (default RUN_DIR/dpifd.ctl)
 *   empty-root DIR      chroot of the workers (default /var/empty/dpifd...
 *                       see sandbox), "" = run-dir/empty
 *   log-target T        "stderr" or "syslog"
 *   log-level L         err, warn, info, dbg
 *   flow-limit N        upper bound of the dynamic flow limit (default
 *                       200000)
 *   max-idle MS         idle time before a flow is expired (default 10000)
 *   batch-size N        upcalls and ops per batch (default 50, at most 64)
 *   keep-flows-on-exit  yes/no: leave datapath flows installed at shutdown
 *                       (default yes)
 *   worker-transport T  "rings" (shared-memory rings, the default) or
 *                       "socket" (bulk messages on the control socketpair:
 *                       the fallback)
 *   malformed-limit N   a worker that sends malformed or forbidden data N
 *                       times within malformed-window is killed and
 *                       respawned (default 10)
 *   malformed-window MS the window of malformed-limit (default 10000)
 *   metrics-textfile PATH
 *                       privd writes the text of "dpifctl metrics" to PATH
 *                       (PATH.tmp, then rename) every metrics-interval, for
 *                       node_exporter's textfile collector (PATH must end
 *                       in ".prom"; privd's user must be able to write its
 *                       directory); "" or absent: not written
 *   metrics-interval S  seconds between two writes, 1 to 3600 (default 15)
 *
 * Datapath sections "[datapath TYPE@NAME]" take:
 *
 *   port NAME[:TYPE]    a port (TYPE system, internal or dummy; default
 *                       "system" for netdev datapaths, "dummy" for dummy)
 *   rules PATH          forwarding rules file of this datapath
 *
 * Errors name the file, the line and the key:
 * "/etc/dpifd/dpifd.conf:7: handlers: expected a number from 1 to 64".
 *
 * Ownership: a "struct config" owns all its strings; config_destroy() frees
 * them.
 */
#ifndef PRIVD_CONFIG_H
#define PRIVD_CONFIG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/util.h"

#define CONFIG_DEFAULT_FILE "/etc/dpifd/dpifd.conf"
#define CONFIG_MAX_DATAPATHS 16
#define CONFIG_MAX_PORTS 256          /* Per datapath. */
#define CONFIG_MAX_WORKERS 64         /* Handlers, and revalidators. */
#define CONFIG_MAX_BATCH 64

/* One port of a configured datapath. */
struct config_port {
    char *name;                 /* Device name. */
    char *type;                 /* "system", "internal" or "dummy". */
};

/* One configured datapath. */
struct config_datapath {
    char *type;                 /* "netdev", "dummy" or "system". */
    char *name;                 /* Datapath name. */
    struct config_port *ports;  /* Its ports, 'n_ports' of them. */
    size_t n_ports;
    char *rules_file;           /* Rules file, or NULL for none. */
};

struct config {
    unsigned int n_handlers;    /* dpif-handlerd processes. */
    unsigned int n_revalidators; /* dpif-revald processes. */
    char *user;                 /* privd's user after the drop. */
    char *worker_user;          /* Workers' user. */
    char *run_dir;              /* Runtime directory. */
    char *control_socket;       /* Control socket path. */
    char *empty_root;           /* Workers' chroot ("" = RUN_DIR/empty). */
    char *log_target;           /* "stderr" or "syslog". */
    enum log_level log_level;   /* Default level of every module. */
    uint32_t flow_limit;        /* Upper bound of the dynamic flow limit. */
    uint32_t max_idle_ms;       /* Idle expiry. */
    unsigned int batch_size;    /* Upcalls/ops per batch. */
    bool keep_flows_on_exit;    /* Leave flows installed at shutdown. */
    bool worker_socket_only;    /* Bulk worker traffic on the socketpair. */
    unsigned int malformed_limit; /* Malformed messages tolerated ... */
    uint32_t malformed_window_ms; /* ...within this window. */
    char *metrics_textfile;     /* Prometheus textfile, "" for none. */
    unsigned int metrics_interval_s; /* Seconds between its writes. */
    struct config_datapath *datapaths; /* 'n_datapaths' of them. */
    size_t n_datapaths;
};

/* Fills 'cfg' with the defaults (no datapath). */
void config_init_defaults(struct config *cfg);

/* Reads 'path' into 'cfg' (which holds defaults or earlier values): keys in
 * the file replace them; datapath sections are appended.  Returns 0, ENOENT
 * if the file does not exist, or EINVAL with "FILE:LINE: KEY: reason" in
 * 'eb'. */
int config_read_file(struct config *cfg, const char *path, struct errbuf *eb);

/* Applies one "key=value" setting as if it came from a file line ('origin'
 * names it in errors, e.g. "--flow-limit"). */
int config_set(struct config *cfg, const char *key, const char *value,
               const char *origin, struct errbuf *eb);

/* Adds a datapath "TYPE@NAME" (a bare NAME means "system") and returns it,
 * or NULL with EINVAL/E2BIG in 'eb'. */
struct config_datapath *config_add_datapath(struct config *cfg,
                                            const char *spec,
                                            struct errbuf *eb);

/* Adds port "NAME[:TYPE]" to 'dp'. */
int config_add_port(struct config_datapath *dp, const char *spec,
                    struct errbuf *eb);

/* Derived defaults (control socket under run_dir...) and cross-checks;
 * call once after all sources are applied. */
int config_finish(struct config *cfg, struct errbuf *eb);

void config_destroy(struct config *cfg);

#endif /* config.h */
