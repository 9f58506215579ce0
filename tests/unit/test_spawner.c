/* Tests for privd/spawner.c: a real spawner starts dpif-test-worker
 * (helpers/test_worker.c), which enters the sandbox and reports; the test
 * checks the worker and the spawner through /proc/PID/status, sends the
 * spawner malformed requests, and checks that exits are reported with
 * their status.
 *
 * As root (CI) the spawner keeps only its four capabilities and the worker
 * drops to `dpifd-worker` (created with useradd if missing) in the empty
 * root TEST_EMPTY_ROOT; as another user the root-only checks are skipped
 * with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/drop.h"
#include "common/sandbox.h"
#include "helpers/proc_status.h"
#include "helpers/skip.h"
#include "privd/spawner.h"

#define MAX_ID 16

/* Per-test state: a running spawner. */
struct fixture {
    struct spawner *spawner;    /* Started by setup(). */
    bool root;                  /* Running as root. */
};

/* As root: the worker user and the empty root the workers need. */
static int
group_setup(void **state)
{
    struct errbuf eb = { "" };

    (void) state;
    if (geteuid() == 0 && (!test_ensure_user("dpifd-worker")
                           || sandbox_prepare_root(TEST_EMPTY_ROOT, &eb))) {
        fprintf(stderr, "setup: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct errbuf eb = { "" };

    f->root = geteuid() == 0;
    struct spawner_config cfg = {
        .handler_path = TEST_WORKER, .revalidator_path = TEST_WORKER,
        .max_worker_id = MAX_ID,
    };
    if (spawner_start(&cfg, &f->spawner, &eb)) {
        fprintf(stderr, "spawner_start: %s\n", eb.msg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    int status = spawner_destroy(f->spawner);

    free(f);
    /* The spawner exits 0 on EOF from privd. */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Waits up to 5 s for 'fd' to be readable. */
static void
wait_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    assert_int_equal(poll(&pfd, 1, 5000), 1);
}

/* Starts worker 'id' of 'role' with 'log_fd' as its stdout and stderr (-1:
 * the spawner's), reads its ready message into 'ready' and returns its
 * pid; '*ctlp' is our end of its control socket. */
static pid_t
spawn_log(struct fixture *f, enum worker_role role, unsigned int id,
          int log_fd, int *ctlp, char *ready, size_t size)
{
    struct errbuf eb = { "" };
    int sv[2];
    pid_t pid = 0;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                sv), 0);
    int error = spawner_request(f->spawner, role, id, sv[1], log_fd, &pid,
                                &eb);
    if (error) {
        fail_msg("spawner_request: %s", eb.msg);
    }
    close(sv[1]);
    assert_true(pid > 0);

    wait_readable(sv[0]);
    ssize_t n = recv(sv[0], ready, size - 1, 0);
    assert_true(n > 0);
    ready[n] = '\0';
    *ctlp = sv[0];
    return pid;
}

static pid_t
spawn(struct fixture *f, enum worker_role role, unsigned int id, int *ctlp,
      char *ready, size_t size)
{
    return spawn_log(f, role, id, -1, ctlp, ready, size);
}

/* Waits for the spawner to report the exit of 'pid'; returns its status. */
static int
wait_exit(struct fixture *f, pid_t pid)
{
    for (;;) {
        struct errbuf eb = { "" };
        pid_t p;
        int status;
        int error = spawner_recv_exit(f->spawner, &p, &status, &eb);
        if (error == EAGAIN) {
            wait_readable(spawner_get_fd(f->spawner));
            continue;
        }
        assert_int_equal(error, 0);
        if (p == pid) {
            return status;
        }
    }
}

/* Sends 'len' bytes of 'msg' with 'n_fds' fds to the spawner, as privd
 * would, and returns the error of its reply. */
static int
raw_request(struct fixture *f, const void *msg, size_t len, const int *fds,
            size_t n_fds)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } cmsgbuf;
    struct iovec iov = { .iov_base = (void *) msg, .iov_len = len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    int fd = spawner_get_fd(f->spawner);

    if (n_fds) {
        m.msg_control = cmsgbuf.buf;
        m.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
    }
    assert_int_equal(sendmsg(fd, &m, 0), (ssize_t) len);

    struct spawner_event ev;
    wait_readable(fd);
    assert_int_equal(recv(fd, &ev, sizeof ev, 0), sizeof ev);
    assert_int_equal(ev.magic, SPAWNER_MAGIC);
    assert_int_equal(ev.type, SPAWNER_MSG_REPLY);
    if (ev.error) {
        assert_int_equal(ev.pid, 0);
    }
    return ev.error;
}

static void
spawner_worker_is_sandboxed(void **state)
{
    struct fixture *f = *state;
    char ready[256], expect[64];
    int ctl;
    pid_t pid = spawn(f, WORKER_ROLE_HANDLER, 3, &ctl, ready, sizeof ready);

    /* Its command line, environment and fds. */
    snprintf(expect, sizeof expect, "ready handler 3 applied=%#x ",
             f->root ? SANDBOX_ALL_STEPS
                     : SANDBOX_ALL_STEPS & ~(SANDBOX_STEP_CHROOT
                                             | SANDBOX_STEP_IDS
                                             | SANDBOX_STEP_BOUNDING));
    assert_true(!strncmp(ready, expect, strlen(expect)));
    assert_non_null(strstr(ready, " env=0 "));
    assert_non_null(strstr(ready, " fds=0,1,2,3"));
    assert_true(strstr(ready, "fds=0,1,2,3")[11] == '\0');

    assert_int_equal(proc_status_hex(pid, "CapEff"), 0);
    assert_int_equal(proc_status_hex(pid, "CapPrm"), 0);
    assert_int_equal(proc_status_hex(pid, "CapAmb"), 0);
    assert_int_equal(proc_status_long(pid, "NoNewPrivs"), 1);
    assert_int_equal(proc_status_long(pid, "Seccomp"), 2);

    /* A clean exit is reported with its status. */
    assert_int_equal(send(ctl, "exit 7", 6, 0), 6);
    int status = wait_exit(f, pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 7);
    close(ctl);
}

static void
spawner_worker_identity_when_root(void **state)
{
    struct fixture *f = *state;

    if (!f->root) {
        skip_msg("not root: worker uid, bounding set and spawner "
                 "capabilities not checked");
        return;
    }
    char ready[256];
    int ctl;
    pid_t pid = spawn(f, WORKER_ROLE_REVALIDATOR, MAX_ID - 1, &ctl, ready,
                      sizeof ready);
    assert_true(!strncmp(ready, "ready revalidator 15 ", 21));

    const struct passwd *pw = getpwnam("dpifd-worker");
    assert_non_null(pw);
    assert_true(pw->pw_uid != 0);
    assert_true(proc_status_ids_are(pid, "Uid", pw->pw_uid));
    assert_int_equal(proc_status_hex(pid, "CapBnd"), 0);

    /* The worker started with what its drop needs, and not CAP_KILL. */
    uint64_t caps = DROP_CAP(CAP_SETUID) | DROP_CAP(CAP_SETGID)
                    | DROP_CAP(CAP_SYS_CHROOT) | DROP_CAP(CAP_SETPCAP);
    char expect_caps[64];
    snprintf(expect_caps, sizeof expect_caps, " precaps=%#"PRIx64" ", caps);
    assert_non_null(strstr(ready, expect_caps));

    /* The spawner: uid 0 with exactly its five capabilities. */
    caps |= DROP_CAP(CAP_KILL);
    pid_t sp = spawner_get_pid(f->spawner);
    assert_true(proc_status_ids_are(sp, "Uid", 0));
    proc_status_assert_caps(sp, caps, caps);

    /* Its command line is exactly the documented one. */
    char path[64], cmdline[128];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long) pid);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    size_t n = fread(cmdline, 1, sizeof cmdline, file);
    fclose(file);
    static const char expect[] = "dpif-test-worker\0--role\0revalidator\0"
                                 "--id\0" "15";
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(cmdline, expect, sizeof expect);

    close(ctl);                 /* EOF: the worker exits 0. */
    int status = wait_exit(f, pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
spawner_reports_kill(void **state)
{
    struct fixture *f = *state;
    char ready[256];
    int ctl;
    pid_t pid = spawn(f, WORKER_ROLE_HANDLER, 0, &ctl, ready, sizeof ready);

    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = wait_exit(f, pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    close(ctl);
}

/* privd kills workers through the spawner, and only workers. */
static void
spawner_kills_on_request(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb = { "" };
    char ready[256];
    int ctl;
    pid_t pid = spawn(f, WORKER_ROLE_REVALIDATOR, 2, &ctl, ready,
                      sizeof ready);

    assert_int_equal(spawner_kill(f->spawner, pid, &eb), 0);
    int status = wait_exit(f, pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    close(ctl);

    /* Reaped: no longer a worker.  Nor are we, init or nonsense. */
    assert_int_equal(spawner_kill(f->spawner, pid, &eb), ESRCH);
    assert_int_equal(spawner_kill(f->spawner, getpid(), &eb), ESRCH);
    assert_int_equal(spawner_kill(f->spawner, 1, &eb), ESRCH);
    assert_int_equal(spawner_kill(f->spawner, 0, &eb), ESRCH);
    assert_int_equal(spawner_kill(f->spawner, -1, &eb), ESRCH);
    assert_non_null(strstr(eb.msg, "could not kill"));
}

static void
spawner_reports_seccomp_death(void **state)
{
    struct fixture *f = *state;
    char ready[256];
    int ctl;
    pid_t pid = spawn(f, WORKER_ROLE_REVALIDATOR, 1, &ctl, ready,
                      sizeof ready);

    assert_int_equal(send(ctl, "socket", 6, 0), 6);
    int status = wait_exit(f, pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
    close(ctl);
}

/* Exits that arrive while a request waits for its reply are kept. */
static void
spawner_queues_exits_during_request(void **state)
{
    struct fixture *f = *state;
    char ready[256];
    int ctl1, ctl2;
    pid_t pid1 = spawn(f, WORKER_ROLE_HANDLER, 1, &ctl1, ready,
                       sizeof ready);

    assert_int_equal(send(ctl1, "exit 3", 6, 0), 6);
    /* Let the exit event reach our socket before the next request. */
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    pid_t pid2 = spawn(f, WORKER_ROLE_HANDLER, 2, &ctl2, ready,
                       sizeof ready);
    int status = wait_exit(f, pid1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);

    close(ctl2);
    status = wait_exit(f, pid2);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(ctl1);
}

/* Every malformed request is refused with its errno, and the spawner keeps
 * serving. */
static void
spawner_rejects_bad_requests(void **state)
{
    struct fixture *f = *state;
    int sv[2], p[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                sv), 0);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct spawner_request good = {
        SPAWNER_MAGIC, SPAWNER_MSG_SPAWN, WORKER_ROLE_HANDLER, 1, 0,
    };
    struct spawner_request r;

    r = good;
    r.role = 0;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), EINVAL);
    r.role = 3;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), EINVAL);

    r = good;
    r.id = MAX_ID;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), ERANGE);
    r.id = UINT32_MAX;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), ERANGE);

    r = good;
    r.magic ^= 1;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), EPROTO);
    r = good;
    r.type = SPAWNER_MSG_REPLY;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), EPROTO);
    r = good;
    r.pid = 1;
    assert_int_equal(raw_request(f, &r, sizeof r, &sv[1], 1), EINVAL);

    /* A kill request with an fd or a role. */
    struct spawner_request k = { SPAWNER_MAGIC, SPAWNER_MSG_KILL, 0, 0, 1 };
    assert_int_equal(raw_request(f, &k, sizeof k, &sv[1], 1), EINVAL);
    k.role = WORKER_ROLE_HANDLER;
    assert_int_equal(raw_request(f, &k, sizeof k, NULL, 0), EINVAL);

    /* Missing fd, two fds, an fd that is not a SEQPACKET socket. */
    assert_int_equal(raw_request(f, &good, sizeof good, NULL, 0), EBADF);
    const int two[] = { sv[1], sv[1] };
    assert_int_equal(raw_request(f, &good, sizeof good, two, 2), EBADF);
    const int read_end[] = { sv[1], p[0] };
    assert_int_equal(raw_request(f, &good, sizeof good, read_end, 2), EBADF);
    const int three[] = { sv[1], p[1], p[1] };
    assert_int_equal(raw_request(f, &good, sizeof good, three, 3), EBADF);
    assert_int_equal(raw_request(f, &good, sizeof good, &p[0], 1), EBADF);

    /* Oversized and undersized. */
    char big[sizeof good + 8] = { 0 };
    memcpy(big, &good, sizeof good);
    assert_int_equal(raw_request(f, big, sizeof big, &sv[1], 1), EMSGSIZE);
    assert_int_equal(raw_request(f, &good, sizeof good - 1, &sv[1], 1),
                     EMSGSIZE);
    char huge[65536] = { 0 };
    assert_int_equal(raw_request(f, huge, sizeof huge, &sv[1], 1), EMSGSIZE);

    /* The client side refuses what it can see is wrong. */
    pid_t pid;
    assert_int_equal(spawner_request(f->spawner, 9, 1, sv[1], -1, &pid,
                                     NULL), EINVAL);
    assert_int_equal(spawner_request(f->spawner, WORKER_ROLE_HANDLER, 1, -1,
                                     -1, &pid, NULL), EINVAL);
    /* The range check is the spawner's. */
    struct errbuf eb = { "" };
    assert_int_equal(spawner_request(f->spawner, WORKER_ROLE_HANDLER,
                                     MAX_ID, sv[1], -1, &pid, &eb), ERANGE);

    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);

    /* Still serving. */
    char ready[256];
    int ctl;
    pid = spawn(f, WORKER_ROLE_HANDLER, 5, &ctl, ready, sizeof ready);
    close(ctl);
    int status = wait_exit(f, pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A binary that exec refuses: the reply carries the errno, and no exit is
 * reported for a worker that never existed. */
static void
spawner_exec_failure_is_reported(void **state)
{
    (void) state;
    char path[] = "/tmp/dpifd-notexec-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage\n", 8), 8);
    close(fd);
    assert_int_equal(chmod(path, 0755), 0);

    struct spawner_config cfg = {
        .handler_path = TEST_WORKER, .revalidator_path = path,
        .max_worker_id = MAX_ID,
    };
    struct spawner *sp;
    struct errbuf eb = { "" };
    assert_int_equal(spawner_start(&cfg, &sp, &eb), 0);

    int sv[2];
    pid_t pid = 0;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                sv), 0);
    assert_int_equal(spawner_request(sp, WORKER_ROLE_REVALIDATOR, 0, sv[1],
                                     -1, &pid, &eb), ENOEXEC);
    assert_non_null(strstr(eb.msg, "revalidator 0"));
    int status;
    assert_int_equal(spawner_recv_exit(sp, &pid, &status, &eb), EAGAIN);
    close(sv[0]);
    close(sv[1]);
    status = spawner_destroy(sp);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    unlink(path);
}

/* When privd goes away, the spawner exits and takes its workers along. */
static void
spawner_exit_takes_workers_along(void **state)
{
    (void) state;
    struct spawner_config cfg = {
        .handler_path = TEST_WORKER, .revalidator_path = TEST_WORKER,
        .max_worker_id = MAX_ID,
    };
    struct spawner *sp;
    struct errbuf eb = { "" };
    assert_int_equal(spawner_start(&cfg, &sp, &eb), 0);

    int sv[2];
    pid_t pid = 0;
    char ready[256];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                sv), 0);
    assert_int_equal(spawner_request(sp, WORKER_ROLE_HANDLER, 0, sv[1], -1,
                                     &pid, &eb), 0);
    close(sv[1]);
    wait_readable(sv[0]);
    assert_true(recv(sv[0], ready, sizeof ready, 0) > 0);

    int status = spawner_destroy(sp);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* PR_SET_PDEATHSIG: the worker is killed (or a zombie) within 1 s,
     * while its control socket (held open here) says nothing. */
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        char st[64];
        gone = !proc_status_field(pid, "State", st, sizeof st)
               || st[0] == 'Z';
        if (!gone) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    if (!gone) {
        char st[64], pp[64];
        proc_status_field(pid, "State", st, sizeof st);
        proc_status_field(pid, "PPid", pp, sizeof pp);
        fail_msg("worker %ld still there: %s ppid %s", (long) pid, st, pp);
    }
    close(sv[0]);
}

/* With a pipe in the request, the worker's stdout and stderr are that
 * pipe, and nothing else of ours reaches it. */
static void
spawner_worker_output_to_pipe(void **state)
{
    struct fixture *f = *state;
    char ready[256], out[4096];
    int p[2], ctl;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = spawn_log(f, WORKER_ROLE_HANDLER, 4, p[1], &ctl, ready,
                          sizeof ready);
    close(p[1]);
    assert_non_null(strstr(ready, "fds=0,1,2,3"));   /* No binary fd. */
    const char say[] = "say dpifd: forged";
    assert_int_equal(send(ctl, say, strlen(say), 0), (ssize_t) strlen(say));
    close(ctl);
    int status = wait_exit(f, pid);
    assert_true(WIFEXITED(status));
    size_t n = 0;
    ssize_t k;
    while ((k = read(p[0], out + n, sizeof out - 1 - n)) > 0) {
        n += (size_t) k;
    }
    out[n] = '\0';
    /* The sandbox's own messages come this way too. */
    assert_non_null(strstr(out, "|sandbox|info|sandbox handler"));
    assert_non_null(strstr(out, "\nout: dpifd: forged\n"
                                "err: dpifd: forged\n"));
    close(p[0]);
}

/* Copies the file 'from' to a new file 'to' with mode 0755. */
static void
copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    char buf[65536];
    ssize_t n;

    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof buf)) > 0) {
        assert_int_equal(write(out, buf, (size_t) n), n);
    }
    assert_int_equal(fchmod(out, 0755), 0);
    close(in);
    close(out);
}

/* The spawner execs the file it checked at start: one renamed over the
 * path later is never run. */
static void
spawner_execs_binary_opened_at_start(void **state)
{
    (void) state;
    char path[] = "/tmp/dpifd-worker-XXXXXX";
    char other[] = "/tmp/dpifd-other-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    copy_file(TEST_WORKER, path);

    struct spawner_config cfg = {
        .handler_path = path, .revalidator_path = path,
        .max_worker_id = MAX_ID,
    };
    struct fixture f = { .root = geteuid() == 0 };
    struct errbuf eb = { "" };
    assert_int_equal(spawner_start(&cfg, &f.spawner, &eb), 0);

    fd = mkstemp(other);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\nexit 42\n", 18), 18);
    assert_int_equal(fchmod(fd, 0755), 0);
    close(fd);
    assert_int_equal(rename(other, path), 0);

    char ready[256];
    int ctl;
    pid_t pid = spawn(&f, WORKER_ROLE_HANDLER, 1, &ctl, ready, sizeof ready);
    assert_non_null(strstr(ready, "ready handler 1"));
    close(ctl);
    int status = wait_exit(&f, pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    status = spawner_destroy(f.spawner);
    assert_true(WIFEXITED(status));
    unlink(path);
}

static void
spawner_config_checked(void **state)
{
    (void) state;
    struct spawner *sp;
    struct errbuf eb = { "" };
    struct spawner_config cfg = {
        .handler_path = TEST_WORKER, .revalidator_path = TEST_WORKER,
        .max_worker_id = 0,
    };

    assert_int_equal(spawner_start(&cfg, &sp, &eb), EINVAL);
    cfg.max_worker_id = DPIF_WORKER_MAX_ID + 1;
    assert_int_equal(spawner_start(&cfg, &sp, &eb), EINVAL);
    cfg.max_worker_id = 1;
    cfg.handler_path = "dpif-test-worker";
    assert_int_equal(spawner_start(&cfg, &sp, &eb), EINVAL);
    cfg.handler_path = "/nonexistent/dpif-handlerd";
    assert_int_equal(spawner_start(&cfg, &sp, &eb), ENOENT);
    cfg.handler_path = "/tmp";
    assert_int_equal(spawner_start(&cfg, &sp, &eb), EACCES);
}

/* The test binary's sibling is found first; nothing is found for a name
 * that exists nowhere. */
static void
spawner_find_worker_looks_next_to_binary(void **state)
{
    (void) state;
    char path[PATH_MAX];
    struct errbuf eb = { "" };

    assert_int_equal(spawner_find_worker("dpif-test-worker", "tests/unit",
                                         path, &eb), 0);
    assert_string_equal(path, TEST_WORKER);
    assert_int_equal(spawner_find_worker("dpif-no-such-worker", "handlerd",
                                         path, &eb), ENOENT);
    assert_non_null(strstr(eb.msg, "dpif-no-such-worker"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spawner_config_checked),
        cmocka_unit_test(spawner_find_worker_looks_next_to_binary),
        cmocka_unit_test_setup_teardown(spawner_worker_is_sandboxed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_worker_identity_when_root,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_reports_kill,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_kills_on_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_reports_seccomp_death,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_queues_exits_during_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_rejects_bad_requests,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spawner_worker_output_to_pipe,
                                        setup, teardown),
        cmocka_unit_test(spawner_execs_binary_opened_at_start),
        cmocka_unit_test(spawner_exec_failure_is_reported),
        cmocka_unit_test(spawner_exit_takes_workers_along),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
