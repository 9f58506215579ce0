/* Tests for privd/privdrop.c: a forked child drops like privd does and the
 * parent checks it through /proc/PID/status: uid dpifd, exactly
 * CAP_NET_ADMIN (+CAP_NET_RAW) permitted and effective, empty bounding set,
 * no_new_privs.  As root the `dpifd` user is created with useradd if
 * missing (helpers/proc_status.h); as another user the root-only parts are
 * skipped with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/drop.h"
#include "common/sandbox.h"
#include "helpers/proc_status.h"
#include "helpers/skip.h"
#include "privd/privdrop.h"

#define NET_ADMIN DROP_CAP(CAP_NET_ADMIN)
#define NET_RAW DROP_CAP(CAP_NET_RAW)

/* A child that dropped, waiting for a byte on 'cmd_fd' to exit. */
struct child {
    pid_t pid;                  /* The child. */
    int cmd_fd;                 /* Write a byte: the child exits. */
    int error;                  /* privdrop_apply()'s result. */
    struct privdrop_report report;  /* Valid if !error. */
    int dumpable;               /* PR_GET_DUMPABLE after the drop. */
};

/* Forks a child that calls privdrop_apply(cfg) and, if 'release_raw',
 * privdrop_release_net_raw().  If 'as_nobody' and root, the child first
 * becomes uid/gid 65534 without capabilities, to test the unprivileged
 * path as root too. */
static void
start_child(const struct privdrop_config *cfg, bool release_raw,
            bool as_nobody, struct child *c)
{
    int cmd[2], rep[2];

    assert_int_equal(pipe(cmd), 0);
    assert_int_equal(pipe(rep), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (!c->pid) {
        struct child r = { 0 };
        struct errbuf eb = { "" };
        close(cmd[1]);
        close(rep[0]);
        if (as_nobody && geteuid() == 0 && !test_become_nobody()) {
            _exit(2);
        }
        r.error = privdrop_apply(cfg, &r.report, &eb);
        if (!r.error && release_raw) {
            r.error = privdrop_release_net_raw(&eb);
        }
        if (r.error) {
            fprintf(stderr, "privdrop: %s\n", eb.msg);
        }
        r.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        char b;
        if (write(rep[1], &r, sizeof r) != sizeof r
            || read(cmd[0], &b, 1) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    close(cmd[0]);
    close(rep[1]);
    pid_t pid = c->pid;
    assert_int_equal(read(rep[0], c, sizeof *c), sizeof *c);
    close(rep[0]);
    c->pid = pid;
    c->cmd_fd = cmd[1];
}

static void
finish_child(struct child *c)
{
    int status;

    assert_int_equal(write(c->cmd_fd, "x", 1), 1);
    close(c->cmd_fd);
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Checks a root drop to `dpifd` that kept exactly 'caps'. */
static void
check_root_drop(bool keep_net_raw, bool release_raw, uint64_t caps)
{
    if (geteuid() != 0) {
        skip_msg("not root: the switch to user dpifd is not tested");
        return;
    }
    assert_true(test_ensure_user("dpifd"));
    const struct passwd *pw = getpwnam("dpifd");
    assert_non_null(pw);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;

    struct privdrop_config cfg = { "dpifd", NULL, keep_net_raw };
    struct child c;
    start_child(&cfg, release_raw, false, &c);
    assert_int_equal(c.error, 0);
    assert_int_equal(c.report.uid, uid);
    assert_int_equal(c.report.gid, gid);
    assert_int_equal(c.report.skipped, 0);
    assert_int_equal(c.report.applied, SANDBOX_STEP_IDS | SANDBOX_STEP_CAPS
                     | SANDBOX_STEP_BOUNDING | SANDBOX_STEP_NO_NEW_PRIVS
                     | SANDBOX_STEP_NOT_DUMPABLE);
    assert_int_equal(c.dumpable, 0);

    proc_status_assert_ids(c.pid, uid, gid);
    proc_status_assert_caps(c.pid, caps, 0);

    /* Not dumpable: /proc/PID/status belongs to root, not to dpifd. */
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%ld/status", (long) c.pid);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 0);

    finish_child(&c);
}

static void
privdrop_root_keeps_net_admin_only(void **state)
{
    (void) state;
    check_root_drop(false, false, NET_ADMIN);
}

static void
privdrop_root_keeps_net_raw_when_asked(void **state)
{
    (void) state;
    check_root_drop(true, false, NET_ADMIN | NET_RAW);
}

static void
privdrop_release_net_raw_leaves_net_admin(void **state)
{
    (void) state;
    check_root_drop(true, true, NET_ADMIN);
}

static void
privdrop_missing_user_refused(void **state)
{
    (void) state;
    if (geteuid() != 0) {
        skip_msg("not root: users are only resolved when root");
        return;
    }
    /* Resolution fails before anything changes: safe in this process. */
    struct privdrop_config cfg = { "dpifd-no-such-user", NULL, false };
    struct privdrop_report report;
    struct errbuf eb = { "" };
    assert_int_equal(privdrop_apply(&cfg, &report, &eb), ENOENT);
    assert_string_equal(eb.msg, "user 'dpifd-no-such-user' does not exist");

    assert_true(test_ensure_user("dpifd"));
    cfg.user = "dpifd";
    cfg.group = "dpifd-no-such-group";
    assert_int_equal(privdrop_apply(&cfg, &report, &eb), ENOENT);
    assert_string_equal(eb.msg, "group 'dpifd-no-such-group' does not "
                        "exist");

    cfg.user = "root";
    cfg.group = NULL;
    assert_int_equal(privdrop_apply(&cfg, &report, &eb), EINVAL);
    assert_int_equal(getuid(), 0);
}

/* Unprivileged: identity and bounding set skipped, no capability kept that
 * the process did not have, no_new_privs and not dumpable applied. */
static void
privdrop_unprivileged_applies_what_it_can(void **state)
{
    (void) state;
    struct privdrop_config cfg = { "dpifd", NULL, true };
    struct child c;
    uid_t uid = geteuid() == 0 ? 65534 : getuid();
    start_child(&cfg, false, true, &c);
    assert_int_equal(c.error, 0);
    assert_int_equal(c.report.uid, uid);
    assert_int_equal(c.report.caps, 0);
    assert_int_equal(c.report.skipped,
                     SANDBOX_STEP_IDS | SANDBOX_STEP_BOUNDING);
    assert_true(c.report.applied & SANDBOX_STEP_NO_NEW_PRIVS);
    assert_int_equal(c.dumpable, 0);
    assert_int_equal(proc_status_hex(c.pid, "CapEff"), 0);
    assert_int_equal(proc_status_long(c.pid, "NoNewPrivs"), 1);
    finish_child(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(privdrop_root_keeps_net_admin_only),
        cmocka_unit_test(privdrop_root_keeps_net_raw_when_asked),
        cmocka_unit_test(privdrop_release_net_raw_leaves_net_admin),
        cmocka_unit_test(privdrop_missing_user_refused),
        cmocka_unit_test(privdrop_unprivileged_applies_what_it_can),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
