/* Tests for common/drop.c: the one rule for users and groups, and each
 * step run for real in a forked child (the drop cannot be undone), checked
 * from inside with the kernel's answers and from outside through
 * /proc/PID/status.  The uid change needs root; as another user it is
 * skipped with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/drop.h"
#include "helpers/proc_status.h"
#include "helpers/skip.h"

#define NET_ADMIN DROP_CAP(CAP_NET_ADMIN)

/* Runs 'fn' in a child; the parent, once the child has reported its
 * result on a pipe, checks it and its /proc/PID/status with 'check', then
 * lets it exit.  Returns fn's result. */
static int
run_child(int (*fn)(struct errbuf *), void (*check)(pid_t))
{
    int cmd[2], rep[2];

    assert_int_equal(pipe(cmd), 0);
    assert_int_equal(pipe(rep), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        struct errbuf eb = { "" };
        int error = fn(&eb);
        if (error) {
            fprintf(stderr, "drop: %s\n", eb.msg);
        }
        char b;
        if (write(rep[1], &error, sizeof error) != sizeof error
            || read(cmd[0], &b, 1) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    close(cmd[0]);
    close(rep[1]);
    int error = -1;
    assert_int_equal(read(rep[0], &error, sizeof error), sizeof error);
    if (!error && check) {
        check(pid);
    }
    assert_int_equal(write(cmd[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(cmd[1]);
    close(rep[0]);
    return error;
}

/* Names and decimal ids follow one rule. */
static void
test_resolve(void **state)
{
    (void) state;
    struct errbuf eb = { "" };
    uid_t uid = 0;
    gid_t gid = 0;

    assert_int_equal(drop_resolve("1234", "5678", &uid, &gid, &eb), 0);
    assert_int_equal(uid, 1234);
    assert_int_equal(gid, 5678);

    assert_int_equal(drop_resolve("1234", NULL, &uid, &gid, &eb), EINVAL);
    assert_string_equal(eb.msg, "numeric user 1234 needs a group");
    assert_int_equal(drop_resolve("", NULL, &uid, &gid, &eb), EINVAL);
    assert_int_equal(drop_resolve(NULL, NULL, &uid, &gid, &eb), EINVAL);
    assert_int_equal(drop_resolve("0", "5", &uid, &gid, &eb), EINVAL);
    assert_int_equal(drop_resolve("5", "0", &uid, &gid, &eb), EINVAL);
    assert_int_equal(drop_resolve("root", NULL, &uid, &gid, &eb), EINVAL);
    assert_string_equal(eb.msg, "user 'root' (uid 0, gid 0) must not be "
                        "root");
    assert_int_equal(drop_resolve("dpifd-no-such-user", NULL, &uid, &gid,
                                  &eb), ENOENT);
    assert_string_equal(eb.msg, "user 'dpifd-no-such-user' does not exist");
    assert_int_equal(drop_resolve("1234", "dpifd-no-such-group", &uid, &gid,
                                  &eb), ENOENT);
    assert_string_equal(eb.msg, "group 'dpifd-no-such-group' does not "
                        "exist");

    const struct passwd *pw = getpwnam("nobody");
    if (pw) {
        uid_t puid = pw->pw_uid;
        gid_t pgid = pw->pw_gid;
        assert_int_equal(drop_resolve("nobody", NULL, &uid, &gid, &eb), 0);
        assert_int_equal(uid, puid);
        assert_int_equal(gid, pgid);
        /* A group overrides the primary group, by number too. */
        assert_int_equal(drop_resolve("nobody", "4321", &uid, &gid, &eb), 0);
        assert_int_equal(uid, puid);
        assert_int_equal(gid, 4321);
    }
}

static int
change_id_keep_net_admin(struct errbuf *eb)
{
    int error = drop_change_id(4242, 4343, NET_ADMIN, eb);
    if (!error && !setgid(0)) {
        error = errbuf_set(eb, EPERM, "gid 0 regained");
    }
    return error ? error : drop_lock(eb);
}

static void
check_changed(pid_t pid)
{
    proc_status_assert_ids(pid, 4242, 4343);
    proc_status_assert_caps(pid, NET_ADMIN, 0);
}

/* Root: the ids change, exactly the set asked for is kept, and neither
 * uid 0 nor gid 0 comes back. */
static void
test_change_id(void **state)
{
    (void) state;
    if (geteuid()) {
        skip_msg("not root: the uid change is not tested");
    }
    assert_int_equal(run_child(change_id_keep_net_admin, check_changed), 0);
}

static int
trim_to_net_admin(struct errbuf *eb)
{
    uint64_t kept = 0;
    int error = drop_trim_caps(NET_ADMIN | DROP_CAP(CAP_NET_RAW), NET_ADMIN,
                               &kept, eb);
    if (!error && kept != (NET_ADMIN | DROP_CAP(CAP_NET_RAW))) {
        error = errbuf_set(eb, EPERM, "kept %#llx",
                           (unsigned long long) kept);
    }
    return error;
}

static int
trim_needs_missing(struct errbuf *eb)
{
    int error = drop_trim_caps(0, DROP_BOUNDING_ANY, NULL, eb);
    return error ? error : drop_trim_caps(NET_ADMIN, DROP_BOUNDING_ANY,
                                          NULL, eb);
}

static int
trim_to_nothing(struct errbuf *eb)
{
    uint64_t kept = 1;
    int error = drop_trim_caps(0, DROP_BOUNDING_ANY, &kept, eb);
    if (!error) {
        error = drop_trim_caps(NET_ADMIN, DROP_BOUNDING_ANY, &kept, eb);
    }
    if (!error && kept) {
        error = errbuf_set(eb, EPERM, "kept %#llx",
                           (unsigned long long) kept);
    }
    return error ? error : drop_lock(eb);
}

static void
check_trimmed(pid_t pid)
{
    /* A permitted capability outside the bounding set is allowed (the
     * bounding set limits what exec can grant). */
    assert_int_equal(proc_status_hex(pid, "CapEff"),
                     NET_ADMIN | DROP_CAP(CAP_NET_RAW));
    assert_int_equal(proc_status_hex(pid, "CapBnd"), NET_ADMIN);
}

static void
check_nothing(pid_t pid)
{
    proc_status_assert_caps(pid, 0, UINT64_MAX);
}

/* Trimming keeps what is asked for and held, and refuses to go on when a
 * required capability is missing. */
static void
test_trim_caps(void **state)
{
    (void) state;
    if (!geteuid()) {
        assert_int_equal(run_child(trim_to_net_admin, check_trimmed), 0);
    }
    assert_int_equal(run_child(trim_needs_missing, NULL), EPERM);
    assert_int_equal(run_child(trim_to_nothing, check_nothing), 0);
}

/* The check reads the kernel's sets. */
static void
test_verify_caps(void **state)
{
    (void) state;
    struct errbuf eb = { "" };
    uint64_t eff = proc_status_hex(getpid(), "CapEff");
    uint64_t bnd = proc_status_hex(getpid(), "CapBnd");

    if (proc_status_hex(getpid(), "CapInh")
        || proc_status_hex(getpid(), "CapAmb")
        || proc_status_hex(getpid(), "CapPrm") != eff) {
        skip_msg("started with inheritable or ambient capabilities");
    }
    assert_int_equal(drop_verify_caps(eff, bnd, &eb), 0);
    assert_int_equal(drop_verify_caps(eff, DROP_BOUNDING_ANY, &eb), 0);
    assert_int_equal(drop_verify_caps(eff ^ NET_ADMIN, DROP_BOUNDING_ANY,
                                      &eb), EPERM);
    assert_int_equal(drop_verify_caps(eff, bnd ^ NET_ADMIN, &eb), EPERM);
    assert_non_null(strstr(eb.msg, "bounding set"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_change_id),
        cmocka_unit_test(test_trim_caps),
        cmocka_unit_test(test_verify_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
