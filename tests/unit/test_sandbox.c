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
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "helpers/proc_status.h"
#include "helpers/skip.h"

/* A sandboxed child and the pipes to talk to it. */
struct child {
    pid_t pid;                  /* The child. */
    int cmd_fd;                 /* Commands to the child. */
    int report_fd;              /* Reports from the child. */
    struct sandbox_report report;   /* What the child reported. */
};

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
            || fcntl(report_fd, F_SETFL, O_NONBLOCK)
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
              bool as_nobody, struct child *c)
{
    int cmd[2], rep[2];

    assert_int_equal(pipe(cmd), 0);
    assert_int_equal(pipe(rep), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (!c->pid) {
        const int keep[] = { cmd[0], rep[1] };
        struct sandbox_config cfg = worker_config(f, role, keep, 2);
        struct sandbox_report report;
        struct errbuf eb = { "" };

        if (as_nobody && f->root) {
            if (setgroups(0, NULL) || setresgid(65534, 65534, 65534)
                || setresuid(65534, 65534, 65534)) {
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
    c->cmd_fd = cmd[1];
    c->report_fd = rep[0];
    assert_int_equal(read(c->report_fd, &c->report, sizeof c->report),
                     sizeof c->report);
}

static void
start_child(const struct fixture *f, enum worker_role role, struct child *c)
{
    start_child__(f, role, false, c);
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
    assert_int_equal(proc_status_hex(c.pid, "CapEff"), 0);
    assert_int_equal(proc_status_hex(c.pid, "CapPrm"), 0);
    assert_int_equal(proc_status_hex(c.pid, "CapInh"), 0);
    assert_int_equal(proc_status_hex(c.pid, "CapAmb"), 0);
    assert_int_equal(proc_status_long(c.pid, "NoNewPrivs"), 1);
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
    char root[PATH_MAX], link[64], groups[64];
    assert_non_null(pw);
    assert_true(pw->pw_uid != 0);
    assert_true(proc_status_ids_are(c.pid, "Uid", pw->pw_uid));
    assert_true(proc_status_ids_are(c.pid, "Gid", pw->pw_gid));
    assert_int_equal(proc_status_hex(c.pid, "CapBnd"), 0);
    assert_int_equal(c.report.uid, pw->pw_uid);
    assert_int_equal(c.report.gid, pw->pw_gid);
    assert_true(proc_status_field(c.pid, "Groups", groups, sizeof groups));
    assert_string_equal(groups, "");

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

    start_child__(f, WORKER_ROLE_HANDLER, true, &c);
    assert_true(proc_status_ids_are(c.pid, "Uid", f->root ? 65534
                                                          : getuid()));
    assert_int_equal(c.report.skipped, SANDBOX_STEP_CHROOT
                     | SANDBOX_STEP_IDS | SANDBOX_STEP_BOUNDING);
    assert_int_equal(c.report.applied, SANDBOX_ALL_STEPS & ~c.report.skipped);
    assert_int_equal(proc_status_hex(c.pid, "CapEff"), 0);
    assert_int_equal(proc_status_hex(c.pid, "CapPrm"), 0);
    assert_int_equal(proc_status_long(c.pid, "NoNewPrivs"), 1);
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
