/* test_dpif_netlink_host — the "system" provider on a host without the
 * openvswitch module: opening fails cleanly with EAFNOSUPPORT and the log
 * says why.  On a host that has the module the test is skipped (the guest
 * test covers it). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "privd/dpif-netlink.h"
#include "privd/dpif.h"

/* True if the kernel has the openvswitch families. */
static bool
module_loaded(void)
{
    return dpif_netlink_families_get(NULL) == 0;
}

static void
test_open_without_module_says_module_not_loaded(void **state)
{
    struct dpif *dpif = NULL;
    char path[] = "/tmp/test_dpif_netlink_host.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);

    /* Capture stderr, where the log goes. */
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    bool loaded = module_loaded();
    int e1 = dpif_open("x", "system", &dpif);
    int e2 = dpif_create_and_open("x", NULL, &dpif);
    int e3 = dpif_open("x", "", &dpif);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    char log[4096] = "";
    ssize_t n = pread(fd, log, sizeof log - 1, 0);
    close(fd);
    unlink(path);
    if (loaded) {
        skip();
    }
    assert_true(n > 0);
    assert_int_equal(e1, EAFNOSUPPORT);
    assert_int_equal(e2, EAFNOSUPPORT);
    assert_int_equal(e3, EAFNOSUPPORT);
    assert_non_null(strstr(log, "openvswitch kernel module not loaded"));
    assert_non_null(dpif_class_lookup("system"));
    (void) state;
}

static void
test_enumerate_without_module_fails_cleanly(void **state)
{
    if (module_loaded()) {
        skip();
    }
    assert_int_equal(dpif_enumerate("system", NULL, NULL), EAFNOSUPPORT);
    (void) state;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_without_module_says_module_not_loaded),
        cmocka_unit_test(test_enumerate_without_module_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
