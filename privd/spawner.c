#include "privd/spawner.h"

#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/drop.h"
#include "common/sandbox.h"

LOG_MODULE(spawner);

COUNTER_DEFINE(spawner_bad_request);
COUNTER_DEFINE(spawner_exec_failed);
COUNTER_DEFINE(spawner_bad_event);

/* What the spawner keeps when started as root (see spawner.h). */
#define SPAWNER_CAPS (DROP_CAP(CAP_SETUID) | DROP_CAP(CAP_SETGID) \
                      | DROP_CAP(CAP_SYS_CHROOT)                  \
                      | DROP_CAP(CAP_SETPCAP) | DROP_CAP(CAP_KILL))

/* Most fds the spawner accepts in one message before calling it malformed;
 * a SPAWN has one or two. */
#define SPAWNER_MAX_FDS 8

/* How long spawner_request() waits for the reply. */
#define SPAWNER_REPLY_TIMEOUT_MS 5000

/* privd's handle. */
struct spawner {
    int fd;                     /* privd's end of the socketpair. */
    pid_t pid;                  /* The spawner process. */
    struct spawner_event *exits;    /* EXIT events read by
                                     * spawner_request(), oldest first. */
    size_t n_exits;             /* Events in 'exits'. */
    size_t allocated;           /* Capacity of 'exits'. */
};

/* The spawner process's state. */
struct spawner_state {
    int sock;                   /* The spawner's end of the socketpair. */
    int sigfd;                  /* signalfd for SIGCHLD. */
    int devnull;                /* /dev/null, the workers' stdin. */
    unsigned int max_worker_id; /* From spawner_config. */
    char handler_path[PATH_MAX];    /* Resolved at spawner_start(). */
    char revalidator_path[PATH_MAX];    /* Resolved at spawner_start(). */
    int handler_fd;             /* 'handler_path', opened and checked at
                                 * spawner_start(): what every handler
                                 * execs (close-on-exec). */
    int revalidator_fd;         /* Likewise for 'revalidator_path'. */
    char *env[4];               /* Workers' environment, NULL-terminated:
                                 * empty, or the sanitizer options. */
    pid_t *children;            /* Live (not yet reaped) workers. */
    size_t n_children;          /* Entries in 'children'. */
    size_t allocated;           /* Capacity of 'children'. */
    void (*at_exit)(void *);    /* From spawner_config. */
    void *at_exit_aux;          /* From spawner_config. */
    int keep[SANDBOX_MAX_KEEP_FDS]; /* The socket, spawner_config's
                                     * keep_fds, then the two binaries'
                                     * fds. */
    size_t n_keep;              /* Entries in 'keep'. */
};

/* privd is gone: its cleanup, then exit. */
NO_RETURN static void
spawner_exit(const struct spawner_state *st, int status)
{
    if (st->at_exit) {
        st->at_exit(st->at_exit_aux);
    }
    _exit(status);
}

/* Opens 'path' and checks that it is a binary the spawner may run; stores
 * the open (close-on-exec) file in '*fdp'.  The checks are on the open
 * file, which is what the spawner execs from then on: renaming another
 * file over 'path' later changes nothing. */
static int
spawner_open_binary(const char *path, int *fdp, struct errbuf *eb)
{
    struct stat st;

    if (!path || path[0] != '/') {
        return errbuf_set(eb, EINVAL, "worker binary '%s' is not an "
                          "absolute path", path ? path : "");
    }
    if (strlen(path) >= PATH_MAX) {
        return errbuf_set(eb, ENAMETOOLONG, "worker binary path too long");
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) {
        int error = errno;
        if (fd >= 0) {
            close(fd);
        }
        return errbuf_set(eb, error, "worker binary %s: %s", path,
                          strerror(error));
    }
    int error = 0;
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
        error = errbuf_set(eb, EACCES, "worker binary %s is not an "
                           "executable file", path);
    } else if (geteuid() == 0
               && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
        error = errbuf_set(eb, EPERM, "worker binary %s must be owned by "
                           "root and not writable by group or others (uid "
                           "%u, mode %04o)", path, (unsigned int) st.st_uid,
                           (unsigned int) (st.st_mode & 07777));
    }
    if (error) {
        close(fd);
        return error;
    }
    *fdp = fd;
    return 0;
}

/* Writes "DIR/NAME" into 'path' and returns true if that is an executable
 * regular file. */
static bool
spawner_try_path(char path[PATH_MAX], const char *dir, const char *name)
{
    struct stat st;
    int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);

    return n > 0 && n < PATH_MAX && !stat(path, &st) && S_ISREG(st.st_mode)
           && (st.st_mode & 0111);
}

int
spawner_find_worker(const char *name, const char *build_subdir,
                    char path[PATH_MAX], struct errbuf *eb)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (spawner_try_path(path, exe, name)) {
                return 0;
            }
            size_t len = strlen(DPIFD_BUILD_DIR);
            char dir[PATH_MAX];
            if (!strncmp(exe, DPIFD_BUILD_DIR, len)
                && (exe[len] == '/' || exe[len] == '\0')
                && snprintf(dir, sizeof dir, "%s/%s", DPIFD_BUILD_DIR,
                            build_subdir) < (int) sizeof dir
                && spawner_try_path(path, dir, name)) {
                return 0;
            }
        }
    }
    if (spawner_try_path(path, DPIFD_WORKER_DIR, name)) {
        return 0;
    }
    return errbuf_set(eb, ENOENT, "worker binary %s not found next to "
                      "dpifd or in %s", name, DPIFD_WORKER_DIR);
}

/* Sends 'ev' to privd.  A failure means privd is gone: exit. */
static void
spawner_send_event(const struct spawner_state *st,
                   const struct spawner_event *ev)
{
    while (send(st->sock, ev, sizeof *ev, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR) {
            spawner_exit(st, errno == EPIPE ? 0 : 1);
        }
    }
}

/* The spawner's child: becomes the worker.  Reports a failure before or at
 * exec through 'errfd'. */
NO_RETURN static void
spawner_exec_child(const struct spawner_state *st, int fd, int log_fd,
                   int errfd, int exec_fd, char *argv[])
{
    sigset_t empty;
    int error = 0;

    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    /* Ignored signals stay ignored across exec. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);

    /* 'fd' and 'errfd' are above 2 (the spawner keeps 0-2 open) and both
     * close-on-exec.  Move 'errfd' above the control fd first, so that
     * placing the control socket cannot clobber it. */
    errfd = fcntl(errfd, F_DUPFD_CLOEXEC, DPIF_WORKER_CONTROL_FD + 1);
    if (errfd < 0) {
        _exit(126);
    }
    /* The binary's fd, likewise. */
    exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, DPIF_WORKER_CONTROL_FD + 1);
    if (exec_fd < 0) {
        error = errno;
    }
    if (error) {
        /* Reported below. */
    } else if (dup2(st->devnull, STDIN_FILENO) < 0) {
        error = errno;
    } else if (log_fd >= 0 && (dup2(log_fd, STDOUT_FILENO) < 0
                               || dup2(log_fd, STDERR_FILENO) < 0)) {
        error = errno;
    } else if (fd == DPIF_WORKER_CONTROL_FD) {
        if (fcntl(fd, F_SETFD, 0)) {
            error = errno;
        }
    } else if (dup2(fd, DPIF_WORKER_CONTROL_FD) < 0) {
        error = errno;
    }
    if (!error
        && close_range(DPIF_WORKER_CONTROL_FD + 1, ~0u, CLOSE_RANGE_CLOEXEC)
        && errno != ENOSYS) {
        error = errno;
    }
    /* CAP_KILL is the spawner's own: a uid-0 exec turns the bounding set
     * into the worker's permitted set. */
    if (!error && geteuid() == 0
        && prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0)) {
        error = errno;
    }
    if (!error) {
        /* The file checked at spawner_start(), not whatever has its name
         * now.  Close-on-exec: the worker does not inherit it (which a
         * script would need: workers are ELF binaries). */
        fexecve(exec_fd, argv, st->env);
        error = errno;
    }
    ssize_t ignored = write(errfd, &error, sizeof error);
    (void) ignored;
    _exit(127);
}

/* Index of 'pid' in 'st->children', or SIZE_MAX. */
static size_t
spawner_find_child(const struct spawner_state *st, pid_t pid)
{
    for (size_t i = 0; i < st->n_children; i++) {
        if (st->children[i] == pid) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Starts worker 'id' of 'role' on control socket 'fd'. */
static int
spawner_spawn(struct spawner_state *st, enum worker_role role,
              unsigned int id, int fd, int log_fd, pid_t *pidp)
{
    const char *path = (role == WORKER_ROLE_HANDLER ? st->handler_path
                        : st->revalidator_path);
    int exec_fd = (role == WORKER_ROLE_HANDLER ? st->handler_fd
                   : st->revalidator_fd);
    const char *slash = strrchr(path, '/');
    char id_s[16];
    char *argv[] = {
        (char *) (slash ? slash + 1 : path), (char *) "--role",
        (char *) worker_role_to_string(role), (char *) "--id", id_s, NULL,
    };
    int errpipe[2];

    snprintf(id_s, sizeof id_s, "%u", id);
    if (pipe2(errpipe, O_CLOEXEC)) {
        return errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        close(errpipe[0]);
        close(errpipe[1]);
        return error;
    }
    if (!pid) {
        close(errpipe[0]);
        spawner_exec_child(st, fd, log_fd, errpipe[1], exec_fd, argv);
    }
    close(errpipe[1]);

    int child_error;
    ssize_t n;
    do {
        n = read(errpipe[0], &child_error, sizeof child_error);
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    if (n == 0) {
        /* Exec succeeded: the pipe closed. */
        if (st->n_children >= st->allocated) {
            st->allocated = st->allocated ? 2 * st->allocated : 16;
            st->children = xrealloc(st->children,
                                    st->allocated * sizeof *st->children);
        }
        st->children[st->n_children++] = pid;
        *pidp = pid;
        return 0;
    }

    /* Reap it here, so that no EXIT event is sent for a worker privd never
     * learned about. */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        continue;
    }
    COUNTER_INC(spawner_exec_failed);
    return n == sizeof child_error && child_error > 0 ? child_error : EIO;
}

/* Checks a request of the right size and its 'n_fds' fds. */
static int
spawner_check_request(const struct spawner_state *st,
                      const struct spawner_request *req, const int *fds,
                      size_t n_fds, struct errbuf *eb)
{
    if (req->magic != SPAWNER_MAGIC) {
        return errbuf_set(eb, EPROTO, "bad magic %#x", req->magic);
    }
    if (req->type == SPAWNER_MSG_KILL) {
        if (req->role || req->id || n_fds) {
            return errbuf_set(eb, EINVAL, "kill request with role, id or "
                              "fds");
        }
        if (req->pid <= 0 || spawner_find_child(st, req->pid) == SIZE_MAX) {
            return errbuf_set(eb, ESRCH, "pid %d is not a live worker",
                              req->pid);
        }
        return 0;
    }
    if (req->type != SPAWNER_MSG_SPAWN) {
        return errbuf_set(eb, EPROTO, "bad type %u", req->type);
    }
    if (!worker_role_is_valid(req->role)) {
        return errbuf_set(eb, EINVAL, "bad role %u", req->role);
    }
    if (req->id >= st->max_worker_id) {
        return errbuf_set(eb, ERANGE, "worker id %u out of range [0, %u)",
                          req->id, st->max_worker_id);
    }
    if (req->pid) {
        return errbuf_set(eb, EINVAL, "spawn request with a pid");
    }
    if (n_fds != 1 && n_fds != 2) {
        return errbuf_set(eb, EBADF, "%zu fds (expected one or two)",
                          n_fds);
    }
    int type, domain;
    socklen_t len = sizeof type;
    socklen_t dlen = sizeof domain;
    if (getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len)
        || getsockopt(fds[0], SOL_SOCKET, SO_DOMAIN, &domain, &dlen)
        || type != SOCK_SEQPACKET || domain != AF_UNIX) {
        return errbuf_set(eb, EBADF, "fd is not an AF_UNIX SOCK_SEQPACKET "
                          "socket");
    }
    struct stat st_log;
    if (n_fds == 2
        && (fstat(fds[1], &st_log) || !S_ISFIFO(st_log.st_mode)
            || (fcntl(fds[1], F_GETFL) & O_ACCMODE) != O_WRONLY)) {
        return errbuf_set(eb, EBADF, "second fd is not the write end of a "
                          "pipe");
    }
    return 0;
}

/* Receives and answers one request.  Returns false when privd is gone. */
static bool
spawner_serve(struct spawner_state *st)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    char buf[sizeof(struct spawner_request) + 1];
    union {
        char buf[CMSG_SPACE(SPAWNER_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } cmsgbuf;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = cmsgbuf.buf, .msg_controllen = sizeof cmsgbuf.buf,
    };

    ssize_t n = recvmsg(st->sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return errno == EINTR || errno == EAGAIN;
    }
    if (n == 0) {
        return false;
    }

    int fds[SPAWNER_MAX_FDS];
    size_t n_fds = 0;
    bool bad_cmsg = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            bad_cmsg = true;
            continue;
        }
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k && n_fds < SPAWNER_MAX_FDS; i++) {
            memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int),
                   sizeof(int));
        }
    }

    struct spawner_request req = { 0 };
    struct errbuf eb = { "" };
    int error = 0;
    if ((size_t) n != sizeof req || (msg.msg_flags & MSG_TRUNC)) {
        error = errbuf_set(&eb, EMSGSIZE, "request of %zd bytes (expected "
                           "%zu)", n, sizeof req);
    } else if (bad_cmsg || (msg.msg_flags & MSG_CTRUNC)) {
        error = errbuf_set(&eb, EBADF, "bad control data");
    } else {
        memcpy(&req, buf, sizeof req);
        error = spawner_check_request(st, &req, fds, n_fds, &eb);
    }
    struct spawner_event reply = {
        .magic = SPAWNER_MAGIC, .type = SPAWNER_MSG_REPLY,
    };
    if (error) {
        COUNTER_INC(spawner_bad_request);
        LOG_WARN_RL(&rl, "rejected request: %s", eb.msg);
    } else if (req.type == SPAWNER_MSG_KILL) {
        if (kill(req.pid, SIGKILL)) {
            error = errno;
        } else {
            reply.pid = req.pid;
            LOG_DBG("killed pid %ld", (long) req.pid);
        }
    } else {
        pid_t pid = 0;
        error = spawner_spawn(st, req.role, req.id, fds[0],
                              n_fds == 2 ? fds[1] : -1, &pid);
        if (error) {
            LOG_WARN_RL(&rl, "starting %s %u failed: %s",
                        worker_role_to_string(req.role), req.id,
                        strerror(error));
        } else {
            reply.pid = pid;
            LOG_DBG("started %s %u as pid %ld",
                    worker_role_to_string(req.role), req.id, (long) pid);
        }
    }
    for (size_t i = 0; i < n_fds; i++) {
        close(fds[i]);
    }
    reply.error = error;
    spawner_send_event(st, &reply);
    return true;
}

/* Reaps every exited child and reports it. */
static void
spawner_reap(struct spawner_state *st)
{
    struct signalfd_siginfo si;

    while (read(st->sigfd, &si, sizeof si) == sizeof si) {
        continue;
    }
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            break;
        }
        size_t i = spawner_find_child(st, pid);
        if (i != SIZE_MAX) {
            st->children[i] = st->children[--st->n_children];
        }
        struct spawner_event ev = {
            .magic = SPAWNER_MAGIC, .type = SPAWNER_MSG_EXIT,
            .pid = pid, .status = status,
        };
        spawner_send_event(st, &ev);
    }
}

/* Drops the spawner's privileges (see spawner.h). */
static int
spawner_drop(struct errbuf *eb)
{
    int error;

    if (geteuid() == 0) {
        error = drop_trim_caps(SPAWNER_CAPS, SPAWNER_CAPS, NULL, eb);
    } else {
        error = drop_trim_caps(0, DROP_BOUNDING_ANY, NULL, eb);
        LOG_WARN("running unprivileged: workers run as uid %u without "
                 "chroot or uid change", (unsigned int) getuid());
    }
    return error ? error : drop_lock(eb);
}

/* Sets up the spawner process around 'st->sock'. */
static int
spawner_init(struct spawner_state *st, pid_t parent, struct errbuf *eb)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != parent) {
        return errbuf_set(eb, ESRCH, "privd exited");
    }

    /* 0-2 must be open, so that no received fd lands there. */
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            int nfd = open("/dev/null", O_RDWR);
            if (nfd != fd) {
                return errbuf_set(eb, EBADF, "cannot open /dev/null on fd "
                                  "%d", fd);
            }
        }
    }
    int error = sandbox_close_fds(st->keep, st->n_keep, eb);
    if (error) {
        return error;
    }
    st->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (st->devnull < 0) {
        return errbuf_set(eb, errno, "open /dev/null: %s", strerror(errno));
    }

    /* privd's handlers do not belong here. */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            signal(sig, SIG_DFL);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    /* Stopped by privd alone (EOF): a terminal's ^C or a signal to the
     * process group must not take the spawner away from under a privd
     * that is still running, or shutting down. */
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_SETMASK, &chld, NULL)) {
        return errbuf_set(eb, errno, "sigprocmask: %s", strerror(errno));
    }
    st->sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (st->sigfd < 0) {
        return errbuf_set(eb, errno, "signalfd: %s", strerror(errno));
    }

    size_t n_env = 0;
#ifdef SANDBOX_SANITIZER
    static const char *const sanitizer_vars[] = {
        "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
    };
    for (size_t i = 0; i < ARRAY_SIZE(sanitizer_vars); i++) {
        const char *value = getenv(sanitizer_vars[i]);
        if (value) {
            st->env[n_env++] = xasprintf("%s=%s", sanitizer_vars[i], value);
        }
    }
#endif
    st->env[n_env] = NULL;

    return spawner_drop(eb);
}

/* The spawner process. */
NO_RETURN static void
spawner_main(struct spawner_state *st, pid_t parent)
{
    struct errbuf eb = { "" };

    log_set_role("spawner");
    if (spawner_init(st, parent, &eb)) {
        LOG_ERR("%s", eb.msg);
        _exit(1);
    }
    LOG_INFO("ready: uid %u, starting %s and %s", (unsigned int) getuid(),
             st->handler_path, st->revalidator_path);

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = st->sock, .events = POLLIN },
            { .fd = st->sigfd, .events = POLLIN },
        };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            LOG_ERR("poll: %s", strerror(errno));
            _exit(1);
        }
        if (pfd[1].revents) {
            spawner_reap(st);
        }
        if (pfd[0].revents && !spawner_serve(st)) {
            break;
        }
    }
    LOG_INFO("privd closed the connection, exiting");
    spawner_exit(st, 0);
}

int
spawner_start(const struct spawner_config *cfg, struct spawner **spawnerp,
              struct errbuf *eb)
{
    if (!cfg->max_worker_id || cfg->max_worker_id > DPIF_WORKER_MAX_ID) {
        return errbuf_set(eb, EINVAL, "max worker id %u not in [1, %d]",
                          cfg->max_worker_id, DPIF_WORKER_MAX_ID);
    }
    /* The socket, the caller's fds and the two binaries. */
    if (cfg->n_keep_fds + 3 > SANDBOX_MAX_KEEP_FDS) {
        return errbuf_set(eb, EINVAL, "%zu fds to keep (max %d)",
                          cfg->n_keep_fds, SANDBOX_MAX_KEEP_FDS - 3);
    }
    int handler_fd, revalidator_fd;
    int error = spawner_open_binary(cfg->handler_path, &handler_fd, eb);
    if (error) {
        return error;
    }
    error = spawner_open_binary(cfg->revalidator_path, &revalidator_fd, eb);
    if (error) {
        close(handler_fd);
        return error;
    }

    int sv[2];
    pid_t parent = getpid();
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        error = errbuf_set(eb, errno, "socketpair: %s", strerror(errno));
    } else {
        pid = fork();
        if (pid < 0) {
            error = errbuf_set(eb, errno, "fork: %s", strerror(errno));
            close(sv[0]);
            close(sv[1]);
        }
    }
    if (pid < 0) {
        close(handler_fd);
        close(revalidator_fd);
        return error;
    }
    if (!pid) {
        static struct spawner_state st;
        close(sv[0]);
        st.sock = sv[1];
        st.keep[st.n_keep++] = sv[1];
        for (size_t i = 0; i < cfg->n_keep_fds; i++) {
            st.keep[st.n_keep++] = cfg->keep_fds[i];
        }
        st.at_exit = cfg->at_exit;
        st.at_exit_aux = cfg->at_exit_aux;
        st.handler_fd = handler_fd;
        st.revalidator_fd = revalidator_fd;
        st.keep[st.n_keep++] = handler_fd;
        st.keep[st.n_keep++] = revalidator_fd;
        st.max_worker_id = cfg->max_worker_id;
        snprintf(st.handler_path, sizeof st.handler_path, "%s",
                 cfg->handler_path);
        snprintf(st.revalidator_path, sizeof st.revalidator_path, "%s",
                 cfg->revalidator_path);
        spawner_main(&st, parent);
    }
    close(sv[1]);
    close(handler_fd);
    close(revalidator_fd);

    struct spawner *s = xzalloc(sizeof *s);
    s->fd = sv[0];
    s->pid = pid;
    *spawnerp = s;
    return 0;
}

/* Receives one event from the spawner without blocking. */
static int
spawner_recv_event(struct spawner *s, struct spawner_event *ev,
                   struct errbuf *eb)
{
    char buf[sizeof *ev + 1];
    ssize_t n;

    do {
        n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN) {
            return EAGAIN;
        }
        return errbuf_set(eb, errno == ECONNRESET ? EPIPE : errno,
                          "spawner: %s", strerror(errno));
    }
    if (n == 0) {
        return errbuf_set(eb, EPIPE, "spawner %ld exited", (long) s->pid);
    }
    if ((size_t) n != sizeof *ev) {
        COUNTER_INC(spawner_bad_event);
        return errbuf_set(eb, EPROTO, "spawner sent %zd bytes", n);
    }
    memcpy(ev, buf, sizeof *ev);
    bool ok = ev->magic == SPAWNER_MAGIC;
    if (ok && ev->type == SPAWNER_MSG_REPLY) {
        ok = ev->error ? ev->error > 0 && !ev->pid : ev->pid > 0;
    } else if (ok && ev->type == SPAWNER_MSG_EXIT) {
        ok = ev->pid > 0;
    } else {
        ok = false;
    }
    if (!ok) {
        COUNTER_INC(spawner_bad_event);
        return errbuf_set(eb, EPROTO, "malformed message from the spawner "
                          "(type %u)", ev->type);
    }
    return 0;
}

/* Sends 'msg' to the spawner and waits for its reply in '*reply', queueing
 * exit events that arrive first. */
static int
spawner_transact(struct spawner *s, const struct msghdr *msg,
                 struct spawner_event *reply, struct errbuf *eb)
{
    ssize_t n;

    do {
        n = sendmsg(s->fd, msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errbuf_set(eb, errno == ECONNRESET ? EPIPE : errno,
                          "sending to the spawner: %s", strerror(errno));
    }

    for (;;) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        int r = poll(&pfd, 1, SPAWNER_REPLY_TIMEOUT_MS);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return errbuf_set(eb, r ? errno : ETIMEDOUT, "no reply from the "
                              "spawner");
        }

        struct spawner_event ev;
        int error = spawner_recv_event(s, &ev, eb);
        if (error == EAGAIN) {
            continue;
        } else if (error) {
            return error;
        }
        if (ev.type == SPAWNER_MSG_EXIT) {
            if (s->n_exits >= s->allocated) {
                s->allocated = s->allocated ? 2 * s->allocated : 8;
                s->exits = xrealloc(s->exits,
                                    s->allocated * sizeof *s->exits);
            }
            s->exits[s->n_exits++] = ev;
            continue;
        }
        *reply = ev;
        return 0;
    }
}

int
spawner_request(struct spawner *s, enum worker_role role, unsigned int id,
                int fd, int log_fd, pid_t *pidp, struct errbuf *eb)
{
    if (!worker_role_is_valid(role) || fd < 0) {
        return errbuf_set(eb, EINVAL, "bad spawn request (role %d, fd %d)",
                          role, fd);
    }
    struct spawner_request req = {
        .magic = SPAWNER_MAGIC, .type = SPAWNER_MSG_SPAWN,
        .role = role, .id = id,
    };
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } cmsgbuf;
    const int fds[2] = { fd, log_fd };
    size_t n_fds = log_fd >= 0 ? 2 : 1;
    struct iovec iov = { .iov_base = &req, .iov_len = sizeof req };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = cmsgbuf.buf,
        .msg_controllen = CMSG_SPACE(n_fds * sizeof(int)),
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));

    struct spawner_event ev;
    int error = spawner_transact(s, &msg, &ev, eb);
    if (error) {
        return error;
    }
    if (ev.error) {
        return errbuf_set(eb, ev.error, "spawner could not start %s %u: %s",
                          worker_role_to_string(role), id,
                          strerror(ev.error));
    }
    *pidp = ev.pid;
    return 0;
}

int
spawner_kill(struct spawner *s, pid_t pid, struct errbuf *eb)
{
    struct spawner_request req = {
        .magic = SPAWNER_MAGIC, .type = SPAWNER_MSG_KILL, .pid = pid,
    };
    struct iovec iov = { .iov_base = &req, .iov_len = sizeof req };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct spawner_event ev;

    int error = spawner_transact(s, &msg, &ev, eb);
    if (!error && ev.error) {
        error = errbuf_set(eb, ev.error, "spawner could not kill pid %ld: %s",
                           (long) pid, strerror(ev.error));
    }
    return error;
}

int
spawner_recv_exit(struct spawner *s, pid_t *pidp, int *statusp,
                  struct errbuf *eb)
{
    struct spawner_event ev;

    if (s->n_exits) {
        ev = s->exits[0];
        memmove(s->exits, s->exits + 1, --s->n_exits * sizeof *s->exits);
    } else {
        int error = spawner_recv_event(s, &ev, eb);
        if (error) {
            return error;
        }
        if (ev.type != SPAWNER_MSG_EXIT) {
            COUNTER_INC(spawner_bad_event);
            return errbuf_set(eb, EPROTO, "unexpected reply from the "
                              "spawner");
        }
    }
    *pidp = ev.pid;
    *statusp = ev.status;
    return 0;
}

int
spawner_get_fd(const struct spawner *s)
{
    return s->fd;
}

pid_t
spawner_get_pid(const struct spawner *s)
{
    return s->pid;
}

int
spawner_destroy(struct spawner *s)
{
    int status = 0;

    if (!s) {
        return 0;
    }
    close(s->fd);
    pid_t r;
    do {
        r = waitpid(s->pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    free(s->exits);
    free(s);
    return r < 0 ? -1 : status;
}
