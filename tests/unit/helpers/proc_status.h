/*
 * proc_status.h — helpers shared by the privilege tests (test_sandbox,
 * test_privdrop, test_spawner, test_drop): reading fields of
 * /proc/PID/status, the way the integration tests and an operator check a
 * process, asserting what a dropped process shows there, creating the test
 * users and becoming nobody in a child.
 *
 * Test users: when the tests run as root (CI does), they need the users
 * the packages would create, `dpifd` and `dpifd-worker`.
 * test_ensure_user() creates a missing one with
 *     useradd --system --no-create-home --shell /usr/sbin/nologin NAME
 * through system(), retrying a few times because tests running in parallel
 * may hold the passwd lock.  It is never called when not root.
 *
 * The proc_status_assert_*() checks are what every privilege test asserts
 * of a process that dropped; they are cmocka assertions, so <cmocka.h>
 * must be included before this header.
 */
#ifndef DPIF_TEST_PROC_STATUS_H
#define DPIF_TEST_PROC_STATUS_H 1

#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Copies the value of 'field' ("CapEff", "Uid", ...) in /proc/PID/status
 * into 'out'.  Returns false if the process or the field does not exist. */
static inline bool
proc_status_field(pid_t pid, const char *field, char *out, size_t size)
{
    char path[64], line[512];
    size_t len = strlen(field);
    bool found = false;

    snprintf(path, sizeof path, "/proc/%ld/status", (long) pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return false;
    }
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, field, len) && line[len] == ':') {
            const char *v = line + len + 1;
            v += strspn(v, " \t");
            snprintf(out, size, "%s", v);
            out[strcspn(out, "\n")] = '\0';
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* A hex field (CapEff, CapBnd, ...), or UINT64_MAX if missing. */
static inline uint64_t
proc_status_hex(pid_t pid, const char *field)
{
    char v[128];

    return proc_status_field(pid, field, v, sizeof v)
           ? strtoull(v, NULL, 16) : UINT64_MAX;
}

/* A decimal field (NoNewPrivs, Seccomp), or -1 if missing. */
static inline long
proc_status_long(pid_t pid, const char *field)
{
    char v[128];

    return proc_status_field(pid, field, v, sizeof v) ? strtol(v, NULL, 10)
                                                      : -1;
}

/* True if all four ids of "Uid" or "Gid" (real, effective, saved, fs)
 * equal 'id'. */
static inline bool
proc_status_ids_are(pid_t pid, const char *field, unsigned long id)
{
    char v[128];
    unsigned long ids[4];

    return proc_status_field(pid, field, v, sizeof v)
           && sscanf(v, "%lu %lu %lu %lu", &ids[0], &ids[1], &ids[2],
                     &ids[3]) == 4
           && ids[0] == id && ids[1] == id && ids[2] == id && ids[3] == id;
}

/* Asserts that 'pid' runs as 'uid' and 'gid' (real, effective, saved and
 * fs) without supplementary groups. */
static inline void
proc_status_assert_ids(pid_t pid, unsigned long uid, unsigned long gid)
{
    char groups[64];

    assert_true(proc_status_ids_are(pid, "Uid", uid));
    assert_true(proc_status_ids_are(pid, "Gid", gid));
    assert_true(proc_status_field(pid, "Groups", groups, sizeof groups));
    assert_string_equal(groups, "");
}

/* Asserts that 'pid' has exactly 'caps' permitted and effective, nothing
 * inheritable or ambient, the bounding set 'bounding' (UINT64_MAX: not
 * checked) and no_new_privs. */
static inline void
proc_status_assert_caps(pid_t pid, uint64_t caps, uint64_t bounding)
{
    assert_int_equal(proc_status_hex(pid, "CapEff"), caps);
    assert_int_equal(proc_status_hex(pid, "CapPrm"), caps);
    assert_int_equal(proc_status_hex(pid, "CapInh"), 0);
    assert_int_equal(proc_status_hex(pid, "CapAmb"), 0);
    if (bounding != UINT64_MAX) {
        assert_int_equal(proc_status_hex(pid, "CapBnd"), bounding);
    }
    assert_int_equal(proc_status_long(pid, "NoNewPrivs"), 1);
}

/* For a forked child of a test run as root: becomes uid and gid 65534
 * (nobody) without groups, and so without capabilities, to take the
 * unprivileged path of a drop as root too.  Returns false on failure. */
static inline bool
test_become_nobody(void)
{
    return !setgroups(0, NULL) && !setresgid(65534, 65534, 65534)
           && !setresuid(65534, 65534, 65534);
}

/* Makes sure user 'name' exists (root only, see above). */
static inline bool
test_ensure_user(const char *name)
{
    char cmd[256];

    snprintf(cmd, sizeof cmd, "useradd --system --no-create-home "
             "--shell /usr/sbin/nologin %s >/dev/null 2>&1", name);
    for (int i = 0; i < 20; i++) {
        if (getpwnam(name)) {
            return true;
        }
        if (system(cmd) != 0) {
            struct timespec ts = { 0, 200 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    return getpwnam(name) != NULL;
}

#endif /* proc_status.h */
