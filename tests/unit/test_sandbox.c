/* Tests for common/sandbox.c: a forked child enters the worker sandbox and
 * the parent checks it from outside, through /proc/PID/status, the way an
 * operator would; then the child is told to make a forbidden syscall and
 * must die of SIGSYS.
 *
 * As root (CI), the child drops to `dpifd-worker` (created with useradd if
 * missing, see helpers/proc_status.h) into an empty root under /tmp.  As
 * another user, the root-only checks are skipped with a message and the
 * rest (caps, no_new_privs, seccomp) still runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/sandbox.h"
#include "helpers/proc_status.h"
#include "proto/worker.pb-c.h"
#include "helpers/skip.h"

/* A sandboxed child and the pipes to talk to it. */
struct child {
    pid_t pid;                  /* The child. */
    int cmd_fd;                 /* Commands to the child. */
    int report_fd;              /* Reports from the child. */
    int ctl_fd;                 /* Our end of its DPIF_WORKER_CONTROL_FD, or
                                 * -1. */
    struct sandbox_report report;   /* What the child reported. */
};

/* start_child__() options. */
#define CHILD_AS_NOBODY 1       /* Enter the sandbox unprivileged. */
#define CHILD_CONTROL 2         /* A socketpair end as the control fd. */
#define CHILD_NETLINK 4         /* A generic netlink socket at NL_FD. */

/* Where the child keeps its fds when they must not be fd 3. */
#define CHILD_CMD_FD 20
#define CHILD_REPORT_FD 21
#define NL_FD 22

/* Sends a generic-netlink CTRL_CMD_GETFAMILY request on 'fd' with 'how'
 * ('s' send, 'w' write, 'm' sendmsg, 'v' writev).  Returns the result of
 * the call, or -1 with errno. */
static ssize_t
genl_request(int fd, char how)
{
    struct {
        struct nlmsghdr nlh;
        struct genlmsghdr genl;
    } req = {
        .nlh = { .nlmsg_len = sizeof req, .nlmsg_type = GENL_ID_CTRL,
                 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
        .genl = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 },
    };
    struct iovec iov = { .iov_base = &req, .iov_len = sizeof req };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct msghdr msg = { .msg_name = &kernel, .msg_namelen = sizeof kernel,
                          .msg_iov = &iov, .msg_iovlen = 1 };

    switch (how) {
    case 's': return send(fd, &req, sizeof req, 0);
    case 'w': return write(fd, &req, sizeof req);
    case 'm': return sendmsg(fd, &msg, 0);
    case 'v': return writev(fd, &iov, 1);
    default: errno = EINVAL; return -1;
    }
}

/* Per-test state. */
struct fixture {
    bool root;                  /* Running as root. */
    char root_dir[64];          /* Empty root (root only). */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->root = geteuid() == 0;
    if (f->root) {
        if (!test_ensure_user("dpifd-worker")) {
            fprintf(stderr, "cannot create user dpifd-worker\n");
            free(f);
            return -1;
        }
        snprintf(f->root_dir, sizeof f->root_dir, "/tmp/dpifd-empty-XXXXXX");
        if (!mkdtemp(f->root_dir)
            || sandbox_prepare_root(f->root_dir, NULL)) {
            free(f);
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    if (f->root) {
        rmdir(f->root_dir);
    }
    free(f);
    return 0;
}

/* The config a worker of 'role' would use in this environment. */
static struct sandbox_config
worker_config(const struct fixture *f, enum worker_role role,
              const int *keep, size_t n_keep)
{
    struct sandbox_config cfg = {
        .user = "dpifd-worker",
        .root_dir = f->root_dir,
        .role = role,
        .expect_root = f->root,
        .keep_fds = keep,
        .n_keep_fds = n_keep,
    };
    return cfg;
}

/* Runs command 'cmd' in the sandboxed child (see start_child()). */
static void
child_run(char cmd, int report_fd)
{
    char buf[64];
    int r = 0;

    switch (cmd) {
    case 'q':
        _exit(0);
    case 's':
        r = socket(AF_INET, SOCK_STREAM, 0);
        break;
    case 'o':
        r = open("/etc/passwd", O_RDONLY);
        break;
    case 'x':
        r = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
        break;
    case 'f':
        r = fork();
        break;
    case 'k':
        r = kill(getppid(), 0);
        break;
    case 'r':
        r = recvmmsg(report_fd, NULL, 0, 0, NULL);
        break;
    case 'n':
        /* Would clear O_NONBLOCK on a description privd shares. */
        r = fcntl(report_fd, F_SETFL, 0);
        break;
    case 'b': {
        int off = 0;
        r = ioctl(report_fd, FIONBIO, &off);
        break;
    }
    case 'R': {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        r = madvise(m, 4096, MADV_REMOVE);
        break;
    }
    case 'u': {
        uint32_t word = 0;
        r = (int) syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, NULL,
                          NULL, 0);
        break;
    }
    case 't': {
        struct stat st;
        r = fstatat(report_fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
        break;
    }
    case 'y': {
        /* What glibc's qsort() does on its first big array. */
        struct sysinfo si;
        r = sysinfo(&si);
        break;
    }
    case 'g': {
        /* Sending works on the netlink socket until it is forbidden; then
         * every way to send fails, and the other fds still work. */
        struct errbuf eb = { "" };
        int results[6];
        results[0] = genl_request(NL_FD, 's') > 0;
        results[1] = sandbox_forbid_send((const int[]) { NL_FD }, 1, &eb);
        results[2] = genl_request(NL_FD, 's') < 0 ? errno : 0;
        results[3] = genl_request(NL_FD, 'w') < 0 ? errno : 0;
        results[4] = genl_request(NL_FD, 'm') < 0 ? errno : 0;
        results[5] = genl_request(NL_FD, 'v') < 0 ? errno : 0;
        _exit(write(report_fd, results, sizeof results) == sizeof results
              ? 0 : 41);
    }
    case 'a': {
        /* Everything a worker loop does must keep working. */
        void *p = malloc(100000);
        void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        struct timespec ts;
        struct stat st;
        uint32_t seed;
        if (!p || m == MAP_FAILED
            || getrandom(&seed, sizeof seed, 0) != sizeof seed
            || clock_gettime(CLOCK_MONOTONIC, &ts) || fstat(report_fd, &st)
            || fcntl(report_fd, F_GETFL) < 0
            || madvise(m, 8192, MADV_DONTNEED)
            || munmap(m, 8192)) {
            _exit(20);
        }
        free(p);
        snprintf(buf, sizeof buf, "%s", isatty(2) ? "tty" : "notty");
        _exit(0);
    }
    default:
        _exit(30);
    }
    /* Reached only when the syscall was not fatal. */
    int err = r < 0 ? errno : 0;
    if (write(report_fd, &err, sizeof err) != sizeof err) {
        _exit(31);
    }
    _exit(40);
}

/* Forks a child that enters the sandbox for 'role' and reports its
 * sandbox_report; it then waits for one command.  If 'as_nobody' and root,
 * the child first becomes uid/gid 65534 without capabilities and enters
 * the sandbox unprivileged: the non-root path, tested as root too. */
static void
start_child__(const struct fixture *f, enum worker_role role,
              int options, struct child *c)
{
    int cmd[2], rep[2], ctl[2] = { -1, -1 };
    bool as_nobody = options & CHILD_AS_NOBODY;

    assert_int_equal(pipe(cmd), 0);
    assert_int_equal(pipe(rep), 0);
    if (options & CHILD_CONTROL) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl), 0);
    }
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (!c->pid) {
        int keep[4] = { cmd[0], rep[1] };
        size_t n_keep = 2;
        struct sandbox_config cfg;
        struct sandbox_report report;
        struct errbuf eb = { "" };

        if (options & (CHILD_CONTROL | CHILD_NETLINK)) {
            /* Out of the way of fd 3. */
            if (dup2(cmd[0], CHILD_CMD_FD) < 0
                || dup2(rep[1], CHILD_REPORT_FD) < 0) {
                _exit(14);
            }
            keep[0] = cmd[0] = CHILD_CMD_FD;
            keep[1] = rep[1] = CHILD_REPORT_FD;
        }
        if (options & CHILD_CONTROL) {
            if (dup2(ctl[1], DPIF_WORKER_CONTROL_FD) < 0) {
                _exit(14);
            }
            keep[n_keep++] = DPIF_WORKER_CONTROL_FD;
        }
        if (options & CHILD_NETLINK) {
            int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
            if (nl < 0 || dup2(nl, NL_FD) < 0) {
                _exit(15);
            }
            keep[n_keep++] = NL_FD;
        }
        cfg = worker_config(f, role, keep, n_keep);
        if (as_nobody && f->root) {
            if (!test_become_nobody()) {
                _exit(13);
            }
            cfg.expect_root = false;
        }
        if (sandbox_enter_worker(&cfg, &report, &eb)) {
            fprintf(stderr, "sandbox: %s\n", eb.msg);
            _exit(10);
        }
        if (write(rep[1], &report, sizeof report) != sizeof report) {
            _exit(11);
        }
        char command;
        if (read(cmd[0], &command, 1) != 1) {
            _exit(12);
        }
        child_run(command, rep[1]);
    }
    close(cmd[0]);
    close(rep[1]);
    if (ctl[1] >= 0) {
        close(ctl[1]);
    }
    c->cmd_fd = cmd[1];
    c->report_fd = rep[0];
    c->ctl_fd = ctl[0];
    assert_int_equal(read(c->report_fd, &c->report, sizeof c->report),
                     sizeof c->report);
}

static void
start_child(const struct fixture *f, enum worker_role role, struct child *c)
{
    start_child__(f, role, 0, c);
}

/* Sends 'cmd' and returns the child's wait status. */
static int
finish_child(struct child *c, char cmd)
{
    int status;

    assert_int_equal(write(c->cmd_fd, &cmd, 1), 1);
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    close(c->cmd_fd);
    close(c->report_fd);
    if (c->ctl_fd >= 0) {
        close(c->ctl_fd);
    }
    return status;
}

static void
assert_killed_by_sigsys(int status)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
        fail_msg("expected death by SIGSYS, got wait status %#x", status);
    }
}

static void
sandbox_worker_status_in_proc(void **state)
{
    struct fixture *f = *state;
    struct child c;

    start_child(f, WORKER_ROLE_HANDLER, &c);
    proc_status_assert_caps(c.pid, 0, f->root ? 0 : UINT64_MAX);
    assert_int_equal(proc_status_long(c.pid, "Seccomp"), 2);
    assert_int_equal(c.report.role, WORKER_ROLE_HANDLER);
    assert_true(c.report.applied & SANDBOX_STEP_SECCOMP);
    assert_true(c.report.applied & SANDBOX_STEP_NO_NEW_PRIVS);
    assert_true(c.report.applied & SANDBOX_STEP_NOT_DUMPABLE);
    assert_true(c.report.applied & SANDBOX_STEP_CLOSE_FDS);
    assert_true(c.report.applied & SANDBOX_STEP_PDEATHSIG);

    if (f->root) {
        assert_int_equal(c.report.applied, SANDBOX_ALL_STEPS);
        assert_int_equal(c.report.skipped, 0);
    } else {
        assert_true(proc_status_ids_are(c.pid, "Uid", getuid()));
        assert_int_equal(c.report.skipped, SANDBOX_STEP_CHROOT
                         | SANDBOX_STEP_IDS | SANDBOX_STEP_BOUNDING);
    }
    assert_int_equal(finish_child(&c, 'q'), 0);
}

/* As root: the worker user, no groups, empty bounding set, and the empty
 * root as its root directory. */
static void
sandbox_worker_identity_when_root(void **state)
{
    struct fixture *f = *state;
    struct child c;

    if (!f->root) {
        skip_msg("not root: uid change, chroot and bounding set not "
                 "checked");
        return;
    }
    start_child(f, WORKER_ROLE_REVALIDATOR, &c);

    const struct passwd *pw = getpwnam("dpifd-worker");
    char root[PATH_MAX], link[64];
    assert_non_null(pw);
    assert_true(pw->pw_uid != 0);
    proc_status_assert_ids(c.pid, pw->pw_uid, pw->pw_gid);
    assert_int_equal(proc_status_hex(c.pid, "CapBnd"), 0);
    assert_int_equal(c.report.uid, pw->pw_uid);
    assert_int_equal(c.report.gid, pw->pw_gid);

    snprintf(link, sizeof link, "/proc/%ld/root", (long) c.pid);
    ssize_t n = readlink(link, root, sizeof root - 1);
    assert_true(n > 0);
    root[n] = '\0';
    assert_string_equal(root, f->root_dir);

    /* Not dumpable: its /proc files belong to root, not to its uid. */
    struct stat st;
    snprintf(link, sizeof link, "/proc/%ld/status", (long) c.pid);
    assert_int_equal(stat(link, &st), 0);
    assert_int_equal(st.st_uid, 0);

    assert_int_equal(finish_child(&c, 'q'), 0);
}

/* The unprivileged path (tests, dummy datapath): what needs root is
 * skipped and reported, the rest applied.  Runs as root too, in a child
 * that gives up root first. */
static void
sandbox_unprivileged_applies_the_rest(void **state)
{
    struct fixture *f = *state;
    struct child c;

    start_child__(f, WORKER_ROLE_HANDLER, CHILD_AS_NOBODY, &c);
    assert_true(proc_status_ids_are(c.pid, "Uid", f->root ? 65534
                                                          : getuid()));
    assert_int_equal(c.report.skipped, SANDBOX_STEP_CHROOT
                     | SANDBOX_STEP_IDS | SANDBOX_STEP_BOUNDING);
    assert_int_equal(c.report.applied, SANDBOX_ALL_STEPS & ~c.report.skipped);
    proc_status_assert_caps(c.pid, 0, UINT64_MAX);
    assert_int_equal(proc_status_long(c.pid, "Seccomp"), 2);
    assert_killed_by_sigsys(finish_child(&c, 's'));
}

static void
sandbox_allowed_calls_work(void **state)
{
    struct child c;

    start_child(*state, WORKER_ROLE_REVALIDATOR, &c);
    int status = finish_child(&c, 'a');
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
sandbox_socket_kills(void **state)
{
    struct child c;

    start_child(*state, WORKER_ROLE_HANDLER, &c);
    assert_killed_by_sigsys(finish_child(&c, 's'));
}

static void
sandbox_exec_mapping_kills(void **state)
{
    struct child c;

    start_child(*state, WORKER_ROLE_HANDLER, &c);
    assert_killed_by_sigsys(finish_child(&c, 'x'));
}

static void
sandbox_kill_other_process_kills(void **state)
{
    struct child c;

    start_child(*state, WORKER_ROLE_REVALIDATOR, &c);
    assert_killed_by_sigsys(finish_child(&c, 'k'));
}

#ifdef SANDBOX_SANITIZER
/* Sanitizer builds turn the calls the runtime needs to report an error
 * into EPERM instead of death (sandbox.c); they must still fail. */
static void
assert_fails_eperm(struct child *c, char cmd)
{
    int err = 0;

    assert_int_equal(write(c->cmd_fd, &cmd, 1), 1);
    assert_int_equal(read(c->report_fd, &err, sizeof err), sizeof err);
    assert_int_equal(err, EPERM);
    int status;
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    close(c->cmd_fd);
    close(c->report_fd);
}
#endif

static void
sandbox_open_denied(void **state)
{
    struct child c;

    start_child(*state, WORKER_ROLE_HANDLER, &c);
#ifdef SANDBOX_SANITIZER
    assert_fails_eperm(&c, 'o');
#else
    assert_killed_by_sigsys(finish_child(&c, 'o'));
#endif
}

static void
sandbox_fork_denied(void **state)
{
    struct child c;

    start_child(*state, WORKER_ROLE_REVALIDATOR, &c);
#ifdef SANDBOX_SANITIZER
    assert_fails_eperm(&c, 'f');
#else
    assert_killed_by_sigsys(finish_child(&c, 'f'));
#endif
}

/* recvmmsg is in the handler's profile only. */
static void
sandbox_profiles_differ_by_role(void **state)
{
    struct child c;
    int err = 0;

    start_child(*state, WORKER_ROLE_HANDLER, &c);
    char cmd = 'r';
    assert_int_equal(write(c.cmd_fd, &cmd, 1), 1);
    assert_int_equal(read(c.report_fd, &err, sizeof err), sizeof err);
    assert_int_equal(err, ENOTSOCK);
    int status;
    assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
    close(c.cmd_fd);
    close(c.report_fd);

    start_child(*state, WORKER_ROLE_REVALIDATOR, &c);
    assert_killed_by_sigsys(finish_child(&c, 'r'));
}

/* Ways to change a shared fd's status flags, futex operations other than
 * private wait/wake, MADV_REMOVE and newfstatat flags other than
 * AT_EMPTY_PATH alone are not in the allow-list. */
static void
sandbox_narrowed_calls_kill(void **state)
{
    static const char cmds[] = { 'n', 'b', 'R', 'u', 't' };

    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        struct child c;

        start_child(*state, i % 2 ? WORKER_ROLE_REVALIDATOR
                                  : WORKER_ROLE_HANDLER, &c);
        int status = finish_child(&c, cmds[i]);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
            fail_msg("command '%c': expected death by SIGSYS, got wait "
                     "status %#x", cmds[i], status);
        }
    }
}

/* A worker killed by the filter tells privd which syscall it was, on its
 * control socket, just before it dies of SIGSYS. */
static void
sandbox_denied_syscall_is_reported(void **state)
{
    struct child c;
    uint8_t frame[IPC_MAX_FRAME];
    struct errbuf eb = { "" };
    struct ipc_msg m;

    start_child__(*state, WORKER_ROLE_HANDLER, CHILD_CONTROL, &c);
    int ctl = dup(c.ctl_fd);
    assert_killed_by_sigsys(finish_child(&c, 'y'));
    ssize_t n = recv(ctl, frame, sizeof frame, MSG_DONTWAIT);
    close(ctl);
    assert_true(n > 0);
    assert_int_equal(ipc_frame_decode(frame, (size_t) n,
                                      IPC_TYPE_BIT(IPC_COUNTER_REPORT), &m,
                                      &eb), 0);
    const Dpif__CounterReport *r = (const Dpif__CounterReport *) m.msg;
    assert_int_equal(r->request_id, 0);
    assert_int_equal(r->n_counters, 0);
    assert_int_equal(r->n_memory, 1);
    assert_string_equal(r->memory[0]->name, SANDBOX_DENIED_SYSCALL_NOTE);
    assert_int_equal(r->memory[0]->value, SYS_sysinfo);
    ipc_msg_destroy(&m);

    char name[32];
    sandbox_syscall_name(SYS_sysinfo, name, sizeof name);
    assert_string_equal(name, "sysinfo");
    sandbox_syscall_name(-5, name, sizeof name);
    assert_string_equal(name, "?");
}

/* A handler cannot send on its kernel upcall socket once it has called
 * sandbox_forbid_send() (handler_create() does): no generic-netlink
 * request reaches the kernel, whichever syscall it tries. */
static void
sandbox_upcall_socket_cannot_send(void **state)
{
    struct child c;
    int results[6];

    start_child__(*state, WORKER_ROLE_HANDLER, CHILD_NETLINK, &c);
    char cmd = 'g';
    assert_int_equal(write(c.cmd_fd, &cmd, 1), 1);
    assert_int_equal(read(c.report_fd, results, sizeof results),
                     sizeof results);
    int status;
    assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
    close(c.cmd_fd);
    close(c.report_fd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(results[0], 1);        /* Sent before. */
    assert_int_equal(results[1], 0);        /* Filter loaded. */
    for (int i = 2; i < 6; i++) {
        assert_int_equal(results[i], EPERM);
    }
}

/* Everything but 0-2 and the kept fds is closed. */
static void
sandbox_close_fds_keeps_listed(void **state)
{
    (void) state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        int a = open("/dev/null", O_RDONLY);
        int b = open("/dev/null", O_RDONLY);
        int c = dup2(a, 100);
        const int keep[] = { 100, b };
        if (a < 0 || b < 0 || c != 100
            || sandbox_close_fds(keep, 2, NULL)) {
            _exit(1);
        }
        bool ok = fcntl(100, F_GETFD) >= 0 && fcntl(b, F_GETFD) >= 0
                  && fcntl(a, F_GETFD) < 0 && fcntl(2, F_GETFD) >= 0;
        _exit(ok ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    int too_many[SANDBOX_MAX_KEEP_FDS + 1] = { 0 };
    assert_int_equal(sandbox_close_fds(too_many, ARRAY_SIZE(too_many), NULL),
                     EINVAL);
    const int negative[] = { -1 };
    assert_int_equal(sandbox_close_fds(negative, 1, NULL), EBADF);
}

/* The sandbox never silently runs a worker as root, and never pretends to
 * have dropped what it could not. */
static void
sandbox_refuses_privilege_mismatch(void **state)
{
    struct fixture *f = *state;
    struct sandbox_config cfg = worker_config(f, WORKER_ROLE_HANDLER,
                                              NULL, 0);
    struct sandbox_report report;
    struct errbuf eb = { "" };

    cfg.expect_root = !f->root;
    assert_int_equal(sandbox_enter_worker(&cfg, &report, &eb), EPERM);
    assert_non_null(strstr(eb.msg, "root"));

    cfg.expect_root = f->root;
    cfg.role = 7;
    assert_int_equal(sandbox_enter_worker(&cfg, &report, &eb), EINVAL);
}

static void
sandbox_missing_user_is_enoent(void **state)
{
    struct fixture *f = *state;

    if (!f->root) {
        skip_msg("not root: users are only resolved when root");
        return;
    }
    struct sandbox_config cfg = worker_config(f, WORKER_ROLE_HANDLER,
                                              NULL, 0);
    struct sandbox_report report;
    struct errbuf eb = { "" };

    cfg.user = "dpifd-no-such-user";
    assert_int_equal(sandbox_enter_worker(&cfg, &report, &eb), ENOENT);
    assert_string_equal(eb.msg, "user 'dpifd-no-such-user' does not exist");

    cfg.user = "root";
    assert_int_equal(sandbox_enter_worker(&cfg, &report, &eb), EINVAL);
    cfg.user = "12345";
    cfg.group = NULL;
    assert_int_equal(sandbox_enter_worker(&cfg, &report, &eb), EINVAL);
}

/* A root directory that is not empty or is writable is refused, in the
 * child, before any identity change. */
static void
sandbox_bad_root_refused(void **state)
{
    struct fixture *f = *state;

    if (!f->root) {
        skip_msg("not root: no chroot when unprivileged");
        return;
    }
    char dir[64], file[96];
    snprintf(dir, sizeof dir, "/tmp/dpifd-notempty-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/x", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);

    struct errbuf eb = { "" };
    assert_int_equal(sandbox_prepare_root(dir, &eb), ENOTEMPTY);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        struct fixture g = *f;
        struct sandbox_report report;
        snprintf(g.root_dir, sizeof g.root_dir, "%s", dir);
        struct sandbox_config cfg = worker_config(&g, WORKER_ROLE_HANDLER,
                                                  NULL, 0);
        int e1 = sandbox_enter_worker(&cfg, &report, &eb);
        _exit(e1 == ENOTEMPTY && getuid() == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    unlink(file);
    assert_int_equal(chmod(dir, 0777), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        struct fixture g = *f;
        struct sandbox_report report;
        snprintf(g.root_dir, sizeof g.root_dir, "%s", dir);
        struct sandbox_config cfg = worker_config(&g, WORKER_ROLE_HANDLER,
                                                  NULL, 0);
        _exit(sandbox_enter_worker(&cfg, &report, &eb) == EPERM ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    rmdir(dir);
}

/* A parent that is not (or no longer) ours is detected. */
static void
sandbox_lost_parent_detected(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (!pid) {
        struct sandbox_config cfg = worker_config(f, WORKER_ROLE_HANDLER,
                                                  NULL, 0);
        struct sandbox_report report;
        cfg.parent_pid = getpid();
        _exit(sandbox_enter_worker(&cfg, &report, NULL) == ESRCH ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
sandbox_step_names(void **state)
{
    (void) state;
    char buf[128];

    sandbox_format_steps(0, buf, sizeof buf);
    assert_string_equal(buf, "none");
    sandbox_format_steps(SANDBOX_STEP_CHROOT | SANDBOX_STEP_SECCOMP, buf,
                         sizeof buf);
    assert_string_equal(buf, "chroot,seccomp");
    sandbox_format_steps(SANDBOX_ALL_STEPS, buf, sizeof buf);
    assert_string_equal(buf, "pdeathsig,close-fds,chroot,ids,caps,bounding,"
                        "no-new-privs,not-dumpable,seccomp");
    sandbox_format_steps(SANDBOX_ALL_STEPS, buf, 12);
    assert_string_equal(buf, "pdeathsig");
    assert_string_equal(sandbox_step_to_string(SANDBOX_STEP_IDS), "ids");
    assert_string_equal(sandbox_step_to_string(3), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sandbox_step_names),
        cmocka_unit_test(sandbox_close_fds_keeps_listed),
        cmocka_unit_test_setup_teardown(sandbox_worker_status_in_proc,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_worker_identity_when_root,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_unprivileged_applies_the_rest,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_allowed_calls_work,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_socket_kills,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_narrowed_calls_kill, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sandbox_denied_syscall_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_upcall_socket_cannot_send,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_exec_mapping_kills,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_kill_other_process_kills,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_open_denied,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_fork_denied,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_profiles_differ_by_role,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_refuses_privilege_mismatch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_missing_user_is_enoent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_bad_root_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sandbox_lost_parent_detected,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
