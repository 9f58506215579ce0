/*
 * main.c — dpifd, the privileged process (privd): startup, the poll loop,
 * reload and shutdown.
 *
 * Startup, in this order (each step needs what the one before made, and the
 * privilege drop must come after everything that needs root):
 *
 *   1. Command line (usage errors exit 2) and configuration: defaults, the
 *      file (--config, or /etc/dpifd/dpifd.conf if it exists), then the
 *      command line's settings, then its datapaths, which define or replace
 *      the file's datapath of the same name.  A bad configuration exits 1
 *      with "FILE:LINE: KEY: reason".
 *   2. The run directory: checked (a directory, not a symlink, root's or
 *      the privd user's, not writable by group or others; a clear error
 *      otherwise) or created (0755, root's when root: never handed to the
 *      privd user, so root never works in a directory uid dpifd may
 *      write).
 *   3. --detach: double fork and setsid; the first parent waits on a pipe
 *      until the daemon is ready (control socket listening) and exits 0,
 *      or 1 if the daemon died first.  The pid file is written atomically.
 *   4. Signals through a signalfd: SIGTERM/SIGINT shut down, SIGHUP
 *      reloads.
 *   5. Datapaths and their ports (privd_sync_datapaths()).
 *   6. The control socket (group "dpifd", mode 0660).
 *   7. When root: the workers' empty root.  Then the spawner, forked while
 *      privd still has every privilege (when the worker binaries exist).
 *   8. privdrop_apply(): uid "dpifd" with CAP_NET_ADMIN (+CAP_NET_RAW) when
 *      root; unprivileged, what the kernel still allows, with a log line
 *      saying what was not applied.
 *   9. Workers (privd_start_workers()), then readiness: the --detach pipe,
 *      and READY=1 to $NOTIFY_SOCKET for systemd Type=notify.
 *
 * The poll loop has named slots: the signalfd, every datapath, the control
 * server and the spawner.  Shutdown removes what privd made before the drop
 * (privd_made: the run directory if it made it, the control socket, the
 * empty root, the pid file) — privd what it may remove as uid dpifd, the
 * spawner, which keeps uid 0, what lies in root's directories — and closes
 * the datapaths (flows stay in a kernel datapath unless
 * keep-flows-on-exit = no).  With keep-flows-on-exit = no the workers first
 * run one purge cycle on every datapath (privd_purge_at_exit(), at most
 * PRIVD_EXIT_PURGE_MSEC), so that every flow goes with its final stats
 * counted and no ukey is left; the flush then removes whatever remains.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/timeval.h"
#include "privd/config.h"
#include "privd/control-server.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/metrics.h"
#include "privd/privd.h"
#include "privd/privdrop.h"
#include "privd/safe-fs.h"
#include "privd/spawner.h"
#include "privd/policy-feed.h"
#include "privd/supervisor.h"

LOG_MODULE(main);

/* Exit statuses. */
#define EXIT_CONFIG 1           /* Bad configuration or failed startup. */
#define EXIT_USAGE 2            /* Bad command line. */

/* Longest wait for the purge cycle at exit (keep-flows-on-exit = no). */
#define PRIVD_EXIT_PURGE_MSEC 5000

/* One "--datapath" of the command line with the "--port"s and "--rules"
 * that follow it. */
struct cmdline_dp {
    const char *spec;           /* "TYPE@NAME" (argv). */
    const char **ports;         /* "NAME[:TYPE]" (argv), 'n_ports'. */
    size_t n_ports;
    char *rules;                /* Absolute rules path, owned, or NULL. */
};

/* One "--flag VALUE" that maps to a configuration key. */
struct cmdline_setting {
    const char *key;            /* Configuration key. */
    const char *value;          /* Value (argv). */
    const char *origin;         /* "--flag", for errors. */
};

/* The parsed command line.  Strings point into argv unless noted. */
struct cmdline {
    char *config_file;          /* Absolute --config path, owned, or NULL. */
    struct cmdline_setting *settings;   /* 'n_settings' of them, owned. */
    size_t n_settings;
    struct cmdline_dp *dps;     /* 'n_dps' of them, owned. */
    size_t n_dps;
    bool detach;                /* --detach. */
    char *pidfile;              /* Absolute --pidfile path, owned, or NULL. */
};

static void
usage(void)
{
    printf("dpifd: the privileged process of the dpifd flow-caching switch\n"
           "usage: dpifd [OPTIONS]\n"
           "  --config FILE         configuration file (default %s,\n"
           "                        read only if it exists)\n"
           "  --datapath TYPE@NAME  a datapath (netdev, dummy or system);\n"
           "                        replaces the file's datapath NAME\n"
           "  --port NAME[:TYPE]    a port of the last --datapath\n"
           "  --rules FILE          rules file of the last --datapath\n"
           "  --run-dir DIR         runtime directory (default /run/dpifd)\n"
           "  --handlers N          dpif-handlerd processes\n"
           "  --revalidators M      dpif-revald processes\n"
           "  --flow-limit N        upper bound of the flow limit\n"
           "  --max-idle MS         idle time before a flow expires\n"
           "  --log-level LEVEL     off, err, warn, info or dbg\n"
           "  --detach              run in the background\n"
           "  --pidfile FILE        write the process id to FILE\n"
           "  --version             print the version and exit\n"
           "  --help                print this help and exit\n",
           CONFIG_DEFAULT_FILE);
}

NO_RETURN PRINTF_FORMAT(1, 2) static void
usage_error(const char *fmt, ...)
{
    va_list args;
    fputs("dpifd: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputs(" (see dpifd --help)\n", stderr);
    exit(EXIT_USAGE);
}

/* 'path' made absolute against the current directory, malloc'ed: the
 * daemon changes directory to / when it detaches, and reloads later. */
static char *
absolute_path(const char *path)
{
    char cwd[PATH_MAX];

    if (path[0] == '/') {
        return xstrdup(path);
    }
    if (!getcwd(cwd, sizeof cwd)) {
        usage_error("%s: cannot resolve a relative path: %s", path,
                    strerror(errno));
    }
    return xasprintf("%s/%s", cwd, path);
}

static void
cmdline_add_setting(struct cmdline *cl, const char *key, const char *value,
                    const char *origin)
{
    cl->settings = xrealloc(cl->settings,
                            (cl->n_settings + 1) * sizeof *cl->settings);
    cl->settings[cl->n_settings++] = (struct cmdline_setting) {
        key, value, origin,
    };
}

static struct cmdline_dp *
cmdline_last_dp(struct cmdline *cl, const char *option)
{
    if (!cl->n_dps) {
        usage_error("%s must follow a --datapath", option);
    }
    return &cl->dps[cl->n_dps - 1];
}

static void
cmdline_parse(int argc, char *argv[], struct cmdline *cl)
{
    enum {
        OPT_CONFIG = 256, OPT_DATAPATH, OPT_PORT, OPT_RUN_DIR, OPT_HANDLERS,
        OPT_REVALIDATORS, OPT_FLOW_LIMIT, OPT_MAX_IDLE, OPT_RULES,
        OPT_LOG_LEVEL, OPT_DETACH, OPT_PIDFILE, OPT_VERSION, OPT_HELP,
    };
    static const struct option options[] = {
        { "config", required_argument, NULL, OPT_CONFIG },
        { "datapath", required_argument, NULL, OPT_DATAPATH },
        { "port", required_argument, NULL, OPT_PORT },
        { "run-dir", required_argument, NULL, OPT_RUN_DIR },
        { "handlers", required_argument, NULL, OPT_HANDLERS },
        { "revalidators", required_argument, NULL, OPT_REVALIDATORS },
        { "flow-limit", required_argument, NULL, OPT_FLOW_LIMIT },
        { "max-idle", required_argument, NULL, OPT_MAX_IDLE },
        { "rules", required_argument, NULL, OPT_RULES },
        { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
        { "detach", no_argument, NULL, OPT_DETACH },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };

    memset(cl, 0, sizeof *cl);
    opterr = 0;
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, "", options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_CONFIG:
            free(cl->config_file);
            cl->config_file = absolute_path(optarg);
            break;
        case OPT_DATAPATH:
            cl->dps = xrealloc(cl->dps, (cl->n_dps + 1) * sizeof *cl->dps);
            cl->dps[cl->n_dps++] = (struct cmdline_dp) { optarg, NULL, 0,
                                                         NULL };
            break;
        case OPT_PORT: {
            struct cmdline_dp *dp = cmdline_last_dp(cl, "--port");
            dp->ports = xrealloc(dp->ports,
                                 (dp->n_ports + 1) * sizeof *dp->ports);
            dp->ports[dp->n_ports++] = optarg;
            break;
        }
        case OPT_RULES: {
            struct cmdline_dp *dp = cmdline_last_dp(cl, "--rules");
            free(dp->rules);
            dp->rules = absolute_path(optarg);
            break;
        }
        case OPT_RUN_DIR:
            cmdline_add_setting(cl, "run-dir", optarg, "--run-dir");
            break;
        case OPT_HANDLERS:
            cmdline_add_setting(cl, "handlers", optarg, "--handlers");
            break;
        case OPT_REVALIDATORS:
            cmdline_add_setting(cl, "revalidators", optarg, "--revalidators");
            break;
        case OPT_FLOW_LIMIT:
            cmdline_add_setting(cl, "flow-limit", optarg, "--flow-limit");
            break;
        case OPT_MAX_IDLE:
            cmdline_add_setting(cl, "max-idle", optarg, "--max-idle");
            break;
        case OPT_LOG_LEVEL:
            cmdline_add_setting(cl, "log-level", optarg, "--log-level");
            break;
        case OPT_DETACH:
            cl->detach = true;
            break;
        case OPT_PIDFILE:
            free(cl->pidfile);
            cl->pidfile = absolute_path(optarg);
            break;
        case OPT_VERSION:
            printf("dpifd %s\n", DPIFD_VERSION);
            exit(EXIT_SUCCESS);
        case OPT_HELP:
            usage();
            exit(EXIT_SUCCESS);
        case ':':
            usage_error("option %s needs an argument", argv[prev]);
        default:
            usage_error("unknown option %s", argv[prev]);
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument \"%s\"", argv[optind]);
    }
}

static void
cmdline_destroy(struct cmdline *cl)
{
    for (size_t i = 0; i < cl->n_dps; i++) {
        free(cl->dps[i].ports);
        free(cl->dps[i].rules);
    }
    free(cl->dps);
    free(cl->settings);
    free(cl->config_file);
    free(cl->pidfile);
}

/* Removes datapath 'name' from 'cfg' if it is there. */
static void
config_drop_datapath(struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_datapaths; i++) {
        struct config_datapath *dp = &cfg->datapaths[i];
        if (strcmp(dp->name, name)) {
            continue;
        }
        for (size_t j = 0; j < dp->n_ports; j++) {
            free(dp->ports[j].name);
            free(dp->ports[j].type);
        }
        free(dp->ports);
        free(dp->type);
        free(dp->name);
        free(dp->rules_file);
        memmove(dp, dp + 1, (cfg->n_datapaths - i - 1) * sizeof *dp);
        cfg->n_datapaths--;
        return;
    }
}

/* Builds the effective configuration from the file and the command line
 * (step 1 above) into 'cfg', which the caller destroys either way. */
static int
privd_load_config(const struct cmdline *cl, struct config *cfg,
                  struct errbuf *eb)
{
    config_init_defaults(cfg);

    const char *file = cl->config_file ? cl->config_file
                                       : CONFIG_DEFAULT_FILE;
    int error = config_read_file(cfg, file, eb);
    if (error == ENOENT && !cl->config_file) {
        error = 0;              /* The default file is optional. */
    }
    if (error) {
        return error;
    }
    for (size_t i = 0; !error && i < cl->n_settings; i++) {
        const struct cmdline_setting *s = &cl->settings[i];
        error = config_set(cfg, s->key, s->value, s->origin, eb);
    }
    for (size_t i = 0; !error && i < cl->n_dps; i++) {
        const struct cmdline_dp *cdp = &cl->dps[i];
        const char *at = strchr(cdp->spec, '@');
        config_drop_datapath(cfg, at ? at + 1 : cdp->spec);

        struct config_datapath *dp = config_add_datapath(cfg, cdp->spec, eb);
        if (!dp) {
            errbuf_prefix(eb, "--datapath: ");
            return EINVAL;
        }
        for (size_t j = 0; !error && j < cdp->n_ports; j++) {
            error = config_add_port(dp, cdp->ports[j], eb);
            if (error) {
                errbuf_prefix(eb, "--port: ");
            }
        }
        if (!error && cdp->rules) {
            dp->rules_file = xstrdup(cdp->rules);
        }
    }
    return error ? error : config_finish(cfg, eb);
}

/* ----- run directory, pid file, detaching, readiness -------------------- */

/* What privd made before the privilege drop (the run directory if it
 * made it, the control socket, the workers' empty root, the pid file), to
 * remove at exit: privd removes what it may as uid dpifd, the spawner
 * (uid 0) what lies in root's directories (safe-fs.h). */
static struct safe_fs_cleanup privd_made;

/* Records 'path', made by privd, for removal at exit. */
static void
privd_made_add(const char *path)
{
    struct errbuf eb;
    if (safe_fs_cleanup_add(&privd_made, path, &eb)) {
        LOG_WARN("%s (it stays at exit)", eb.msg);
    }
}

/* Opens or creates the run directory and checks it: a directory (not a
 * symlink) owned by root or privd's user that nobody else may write.  A
 * new one is root's (privd's own when not root), mode 0755, and never
 * handed to uid dpifd: root works only in directories nobody less trusted
 * may write, and privd-as-dpifd needs nothing there after the drop. */
static int
privd_prepare_run_dir(const struct config *cfg, struct errbuf *eb)
{
    char name[NAME_MAX + 1];
    int fd, parent;

    int error = safe_fs_open_dir(cfg->run_dir, privdrop_target_uid(cfg->user), &fd, eb);
    if (error != ENOENT) {
        if (!error) {
            close(fd);
        }
        return error;
    }
    error = safe_fs_open_parent(cfg->run_dir, &parent, name, eb);
    if (error) {
        return error;
    }
    if (mkdirat(parent, name, 0700)) {
        error = errno;
        close(parent);
        return errbuf_set(eb, error, "mkdir %s: %s", cfg->run_dir,
                          strerror(error));
    }
    close(parent);
    privd_made_add(cfg->run_dir);
    error = safe_fs_open_dir(cfg->run_dir, privdrop_target_uid(cfg->user), &fd, eb);
    if (!error) {
        if (fchmod(fd, 0755)) {     /* Whatever the umask. */
            error = errbuf_set(eb, errno, "chmod %s: %s", cfg->run_dir,
                               strerror(errno));
        }
        close(fd);
    }
    return error;
}

/* privd's and the spawner's passes over privd_made (see above). */
static void
privd_spawner_at_exit(void *aux)
{
    (void) aux;
    safe_fs_cleanup_run(&privd_made, false);
}

/* Reads the pid in 'pidfile'; true if that process is alive. */
static bool
pidfile_is_live(const char *pidfile, long *pidp)
{
    FILE *f = fopen(pidfile, "r");
    long pid = 0;

    if (!f) {
        return false;
    }
    bool ok = fscanf(f, "%ld", &pid) == 1 && pid > 0 && pid <= INT_MAX;
    fclose(f);
    *pidp = pid;
    return ok && (!kill((pid_t) pid, 0) || errno == EPERM);
}

/* Writes this process's pid to 'pidfile' atomically: a new file created
 * with O_EXCL next to it, then renamed over it. */
static int
pidfile_write(const char *pidfile, struct errbuf *eb)
{
    long pid;
    if (pidfile_is_live(pidfile, &pid) && pid != getpid()) {
        return errbuf_set(eb, EEXIST, "%s: dpifd is already running as pid "
                          "%ld", pidfile, pid);
    }

    char *tmp = xasprintf("%s.tmp.%ld", pidfile, (long) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int error = 0;
    if (fd < 0) {
        error = errbuf_set(eb, errno, "%s: %s", tmp, strerror(errno));
    } else {
        char line[32];
        int n = snprintf(line, sizeof line, "%ld\n", (long) getpid());
        if (write(fd, line, (size_t) n) != n || fsync(fd)) {
            error = errbuf_set(eb, errno ? errno : EIO, "%s: %s", tmp,
                               strerror(errno ? errno : EIO));
        }
        if (close(fd) && !error) {
            error = errbuf_set(eb, errno, "%s: %s", tmp, strerror(errno));
        }
        if (!error && rename(tmp, pidfile)) {
            error = errbuf_set(eb, errno, "rename %s to %s: %s", tmp,
                               pidfile, strerror(errno));
        }
        if (error) {
            unlink(tmp);
        }
    }
    free(tmp);
    return error;
}

/* Detaches: returns in the daemon (the grandchild) with the write end of
 * the readiness pipe; the original process waits for one byte on it and
 * exits 0, or 1 if the daemon exits before it is ready. */
static int
privd_detach(void)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC)) {
        LOG_FATAL("pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        LOG_FATAL("fork: %s", strerror(errno));
    } else if (pid > 0) {
        char c;
        close(fds[1]);
        waitpid(pid, NULL, 0);  /* The intermediate child exits at once. */
        ssize_t n;
        do {
            n = read(fds[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 ? EXIT_SUCCESS : EXIT_CONFIG);
    }

    close(fds[0]);
    if (setsid() < 0) {
        LOG_FATAL("setsid: %s", strerror(errno));
    }
    pid = fork();
    if (pid < 0) {
        LOG_FATAL("fork: %s", strerror(errno));
    } else if (pid > 0) {
        _exit(EXIT_SUCCESS);
    }
    if (chdir("/")) {
        LOG_FATAL("chdir /: %s", strerror(errno));
    }
    return fds[1];
}

/* Tells the waiting parent that the daemon is ready and points stdio at
 * /dev/null. */
static void
privd_detach_finish(int ready_fd)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    if (write(ready_fd, "1", 1) != 1) {
        LOG_WARN("telling the parent we are ready: %s", strerror(errno));
    }
    close(ready_fd);
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (a path,
 * or "@name" in the abstract namespace). */
static void
privd_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;

    if (!path || !*path) {
        return;
    }
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sun.sun_path) {
        LOG_WARN("NOTIFY_SOCKET=%s: not a usable socket address", path);
        return;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len);
    if (path[0] == '@') {
        sun.sun_path[0] = '\0';
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0
        || sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                  (const struct sockaddr *) &sun,
                  (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len))
           < 0) {
        LOG_WARN("notifying systemd (%s): %s", state, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
}

/* ----- signals ---------------------------------------------------------- */

static int
privd_signals_open(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL)) {
        LOG_FATAL("sigprocmask: %s", strerror(errno));
    }
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        LOG_FATAL("signalfd: %s", strerror(errno));
    }
    return fd;
}

static void
privd_signals_run(struct privd *privd, int fd)
{
    struct signalfd_siginfo si;

    while (read(fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            LOG_INFO("SIGHUP from pid %u: reloading", si.ssi_pid);
            privd->reload = true;
        } else {
            LOG_INFO("%s from pid %u: shutting down",
                     si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
                     si.ssi_pid);
            privd->exiting = true;
        }
    }
}

/* ----- configuration reload ------------------------------------------- */

/* Keys that a running privd cannot change: they are kept, with a warning. */
static void
privd_keep_string(char **new_value, char *const *old_value, const char *key)
{
    if (strcmp(*new_value, *old_value)) {
        LOG_WARN("reload: %s changes from \"%s\" to \"%s\": that takes a "
                 "restart; keeping \"%s\"", key, *old_value, *new_value,
                 *old_value);
        free(*new_value);
        *new_value = xstrdup(*old_value);
    }
}

static void
privd_apply_logging(const struct config *cfg)
{
    log_set_level("ANY", cfg->log_level);
}

static void
privd_reload(struct privd *privd, const struct cmdline *cl)
{
    struct config cfg;
    struct errbuf eb;

    privd->reload = false;
    int error = privd_load_config(cl, &cfg, &eb);
    if (error) {
        LOG_ERR("reload: %s; keeping the running configuration", eb.msg);
        config_destroy(&cfg);
        return;
    }
    privd_keep_string(&cfg.run_dir, &privd->cfg.run_dir, "run-dir");
    privd_keep_string(&cfg.control_socket, &privd->cfg.control_socket,
                      "control-socket");
    privd_keep_string(&cfg.user, &privd->cfg.user, "user");
    privd_keep_string(&cfg.worker_user, &privd->cfg.worker_user,
                      "worker-user");
    privd_keep_string(&cfg.empty_root, &privd->cfg.empty_root, "empty-root");
    privd_keep_string(&cfg.log_target, &privd->cfg.log_target, "log-target");

    privd_apply_logging(&cfg);
    error = privd_sync_datapaths(privd, &privd->cfg, &cfg, &eb);
    if (error) {
        LOG_ERR("reload: not every datapath change applied; first error: %s",
                eb.msg);
    }
    /* Rules files are re-read at every reload: a new policy generation for
     * each that parses; a bad one leaves its datapath's rules in force. */
    if (privd->policy_feed
        && policy_feed_reload(privd->policy_feed, &eb)) {
        LOG_ERR("reload: not every rules file applied; first error: %s",
                eb.msg);
    }
    config_destroy(&privd->cfg);
    privd->cfg = cfg;
    LOG_INFO("reload: done (%zu datapaths)", privd->n_dps);
}

/* ----- privileges and workers ------------------------------------------ */

/* When root, every configured user must exist before anything is made. */
static void
privd_check_users(const struct config *cfg)
{
    if (geteuid()) {
        return;
    }
    const char *users[] = { cfg->user, cfg->worker_user };
    for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
        if (!getpwnam(users[i])) {
            fprintf(stderr, "dpifd: user '%s' does not exist (create it, "
                    "e.g. useradd --system %s)\n", users[i], users[i]);
            exit(EXIT_CONFIG);
        }
    }
}

/* True if a datapath of 'cfg' needs CAP_NET_RAW (AF_PACKET ports of the
 * userspace datapath). */
static bool
privd_needs_net_raw(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_datapaths; i++) {
        const struct config_datapath *dp = &cfg->datapaths[i];
        if (!strcmp(dp->type, "netdev")) {
            for (size_t j = 0; j < dp->n_ports; j++) {
                if (!strcmp(dp->ports[j].type, "system")) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Forks the spawner while privd still has every privilege.  Without the
 * worker binaries there is nothing to spawn, and privd runs without
 * workers. */
static void
privd_start_spawner(struct privd *privd)
{
    char handler[PATH_MAX], revalidator[PATH_MAX];
    struct errbuf eb;

    if (spawner_find_worker("dpif-handlerd", "handlerd", handler, &eb)
        || spawner_find_worker("dpif-revald", "revald", revalidator, &eb)) {
        LOG_WARN("no spawner: %s", eb.msg);
        return;
    }
    int keep[SAFE_FS_MAX_CLEANUP];
    struct spawner_config sc = {
        .handler_path = handler,
        .revalidator_path = revalidator,
        .max_worker_id = SUPERVISOR_MAX_WORKER_ID,
        .at_exit = privd_spawner_at_exit,
        .keep_fds = keep,
        .n_keep_fds = safe_fs_cleanup_fds(&privd_made, keep),
    };
    /* Workers chroot into the directory they start in, which they inherit
     * from here through the spawner: the empty root when we are root. */
    if (!geteuid() && chdir(privd->cfg.empty_root)) {
        LOG_FATAL("chdir %s: %s", privd->cfg.empty_root, strerror(errno));
    }
    int error = spawner_start(&sc, &privd->spawner, &eb);
    if (error) {
        LOG_FATAL("starting the spawner: %s", eb.msg);
    }
    if (chdir("/")) {
        LOG_FATAL("chdir /: %s", strerror(errno));
    }
}

/* Starts the workers: the supervisor spawns every handler and revalidator
 * through the spawner and keeps them running.  Without the worker binaries
 * (no spawner) privd runs alone and flows come from dpifctl only. */
static void
privd_start_workers(struct privd *privd)
{
    if (!privd->spawner) {
        LOG_WARN("no worker binaries: running without dpif-handlerd (%u "
                 "configured) and dpif-revald (%u configured)",
                 privd->cfg.n_handlers, privd->cfg.n_revalidators);
        return;
    }
    int error = supervisor_create(privd, &privd->supervisor);
    if (error) {
        LOG_FATAL("starting the workers: %s", strerror(error));
    }
    struct errbuf eb = { "" };
    error = policy_feed_create(privd, privd->supervisor, &privd->policy_feed,
                               &eb);
    if (error) {
        LOG_FATAL("forwarding policy: %s", eb.msg);
    }
}

static void
privd_drop_privileges(const struct privd *privd)
{
    struct privdrop_config pc = {
        .user = privd->cfg.user,
        .keep_net_raw = privd_needs_net_raw(&privd->cfg),
    };
    struct privdrop_report report;
    struct errbuf eb;

    int error = privdrop_apply(&pc, &report, &eb);
    if (error) {
        LOG_FATAL("dropping privileges: %s", eb.msg);
    }
    LOG_INFO("running as uid %u gid %u", (unsigned) report.uid,
             (unsigned) report.gid);
}

/* ----- shutdown ---------------------------------------------------------- */

/* dump_pump_done_func of privd_purge_at_exit(): one datapath is done. */
static void
privd_exit_purge_done(const struct dump_pump_cycle *cycle, void *n_left_)
{
    size_t *n_left = n_left_;

    LOG_INFO("exit: purged %llu flows", (unsigned long long) cycle->n_deleted);
    (*n_left)--;
}

/* keep-flows-on-exit = no: one purge cycle on every datapath before the
 * workers go (see the file comment). */
static void
privd_purge_at_exit(struct privd *privd)
{
    struct supervisor *sup = privd->supervisor;
    size_t n_left = 0;

    if (privd->cfg.keep_flows_on_exit || !sup) {
        return;
    }
    for (size_t i = 0; i < privd->n_dps; i++) {
        struct dump_pump *pump = supervisor_get_dump_pump(sup, privd->dps[i]);
        if (pump) {
            dump_pump_request(pump, true, privd_exit_purge_done, &n_left);
            n_left++;
        }
    }
    long long deadline = time_msec() + PRIVD_EXIT_PURGE_MSEC;
    while (n_left && time_msec() < deadline) {
        struct poller p;

        for (size_t i = 0; i < privd->n_dps; i++) {
            dpif_run(privd->dps[i]->dpif);
        }
        supervisor_run(sup);
        if (!n_left) {
            break;
        }
        poller_clear(&p);
        for (size_t i = 0; i < privd->n_dps; i++) {
            dpif_wait(privd->dps[i]->dpif, &p);
        }
        supervisor_wait(sup, &p);
        poller_timer_wait(&p, deadline);
        poller_block(&p);
    }
    if (n_left) {
        LOG_WARN("exit: %zu datapaths not purged after %d ms; flushing "
                 "their flows", n_left, PRIVD_EXIT_PURGE_MSEC);
    }
    for (size_t i = 0; i < privd->n_dps; i++) {
        struct dump_pump *pump = supervisor_get_dump_pump(sup, privd->dps[i]);
        if (pump) {
            dump_pump_cancel(pump, &n_left);
        }
    }
}

/* ----- main -------------------------------------------------------------- */

int
main(int argc, char *argv[])
{
    struct cmdline cl;
    struct privd privd;
    struct errbuf eb;
    int ready_fd = -1;

    log_set_role("privd");
    cmdline_parse(argc, argv, &cl);

    memset(&privd, 0, sizeof privd);
    privd.start_msec = time_msec();
    privd.config_file = cl.config_file;
    if (privd_load_config(&cl, &privd.cfg, &eb)) {
        fprintf(stderr, "dpifd: %s\n", eb.msg);
        exit(EXIT_CONFIG);
    }
    privd_apply_logging(&privd.cfg);
    privd_check_users(&privd.cfg);

    long pid;
    if (cl.pidfile && pidfile_is_live(cl.pidfile, &pid)) {
        fprintf(stderr, "dpifd: %s: dpifd is already running as pid %ld\n",
                cl.pidfile, pid);
        exit(EXIT_CONFIG);
    }
    if (privd_prepare_run_dir(&privd.cfg, &eb)) {
        fprintf(stderr, "dpifd: run-dir: %s\n", eb.msg);
        exit(EXIT_CONFIG);
    }
    if (cl.detach) {
        ready_fd = privd_detach();
    }
    if (!strcmp(privd.cfg.log_target, "syslog")) {
        log_open_syslog("dpifd");
    }
    if (cl.pidfile && pidfile_write(cl.pidfile, &eb)) {
        LOG_FATAL("pidfile: %s", eb.msg);
    }
    if (cl.pidfile) {
        privd_made_add(cl.pidfile);
    }
    int signal_fd = privd_signals_open();

    if (privd_sync_datapaths(&privd, NULL, &privd.cfg, &eb)) {
        LOG_FATAL("datapaths: %s", eb.msg);
    }
    if (control_server_create(&privd, &privd.control, &eb)) {
        LOG_FATAL("control socket: %s", eb.msg);
    }
    privd_made_add(privd.cfg.control_socket);
    if (!geteuid()) {
        struct stat st;
        bool exists = !lstat(privd.cfg.empty_root, &st);
        if (sandbox_prepare_root(privd.cfg.empty_root, &eb)) {
            LOG_FATAL("empty root: %s", eb.msg);
        }
        if (!exists) {
            privd_made_add(privd.cfg.empty_root);
        }
    }
    privd_start_spawner(&privd);
    privd_drop_privileges(&privd);
    privd_start_workers(&privd);

    if (ready_fd >= 0) {
        privd_detach_finish(ready_fd);
    }
    privd_sd_notify("READY=1");
    LOG_INFO("dpifd %s ready: %zu datapaths, control socket %s",
             DPIFD_VERSION, privd.n_dps, privd.cfg.control_socket);

    struct metrics_textfile textfile = { 0 };
    struct poller p;
    while (!privd.exiting) {
        privd_signals_run(&privd, signal_fd);
        if (privd.reload) {
            privd_sd_notify("RELOADING=1");
            privd_reload(&privd, &cl);
            privd_sd_notify("READY=1");
        }
        for (size_t i = 0; i < privd.n_dps; i++) {
            dpif_run(privd.dps[i]->dpif);
        }
        metrics_textfile_run(&textfile, &privd);
        control_server_run(privd.control);
        if (privd.supervisor) {
            supervisor_run(privd.supervisor);
            policy_feed_run(privd.policy_feed);
        }
        if (privd.exiting) {
            break;
        }

        poller_clear(&p);
        poller_fd_wait(&p, signal_fd, POLLIN);
        for (size_t i = 0; i < privd.n_dps; i++) {
            dpif_wait(privd.dps[i]->dpif, &p);
        }
        metrics_textfile_wait(&textfile, &privd, &p);
        control_server_wait(privd.control, &p);
        if (privd.supervisor) {
            supervisor_wait(privd.supervisor, &p);
            policy_feed_wait(privd.policy_feed, &p);
        }
        poller_block(&p);
    }

    privd_sd_notify("STOPPING=1");
    control_server_destroy(privd.control);
    privd.control = NULL;
    /* What privd-as-dpifd may remove; the spawner removes what lies in
     * root's directories when it sees privd go, and the last pass here
     * what only became removable then (a directory of ours, now empty). */
    safe_fs_cleanup_run(&privd_made, false);
    privd_purge_at_exit(&privd);
    policy_feed_destroy(privd.policy_feed);
    privd.policy_feed = NULL;
    supervisor_destroy(privd.supervisor);
    privd.supervisor = NULL;
    spawner_destroy(privd.spawner);
    privd_close_all_dps(&privd);
    safe_fs_cleanup_run(&privd_made, true);
    safe_fs_cleanup_destroy(&privd_made);
    close(signal_fd);
    LOG_INFO("exiting");
    config_destroy(&privd.cfg);
    cmdline_destroy(&cl);
#ifdef SANDBOX_SANITIZER
    /* LeakSanitizer's exit-time check attaches to this process with ptrace,
     * which "not dumpable" forbids.  Sanitizer builds only; never shipped. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    return EXIT_SUCCESS;
}
