/* Unit tests for common/worker-exec.c: the worker command line of the exec
 * contract, and the role names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/worker-exec.h"

/* Parses the 'argc' words of 'argv' and returns the error, with the role and
 * id in '*rolep' and '*idp' (left at their values on error). */
static int
parse(int argc, const char *const argv_c[], enum worker_role *rolep,
      unsigned int *idp, struct errbuf *eb)
{
    char *argv[8];

    assert_true(argc <= 8);
    for (int i = 0; i < argc; i++) {
        argv[i] = (char *) argv_c[i];
    }
    memset(eb, 0, sizeof *eb);
    return worker_parse_args(argc, argv, rolep, idp, eb);
}

static void
parse_args_accepts_the_contract(void **state)
{
    const char *h[] = { "dpif-handlerd", "--role", "handler", "--id", "0" };
    const char *r[] = { "dpif-revald", "--role", "revalidator", "--id",
                        "1023" };
    enum worker_role role = 0;
    unsigned int id = 99;
    struct errbuf eb;

    (void) state;
    assert_int_equal(parse(5, h, &role, &id, &eb), 0);
    assert_int_equal(role, WORKER_ROLE_HANDLER);
    assert_int_equal(id, 0);
    assert_int_equal(parse(5, r, &role, &id, &eb), 0);
    assert_int_equal(role, WORKER_ROLE_REVALIDATOR);
    assert_int_equal(id, DPIF_WORKER_MAX_ID - 1);
}

static void
parse_args_refuses_anything_else(void **state)
{
    const char *shortv[] = { "w", "--role", "handler", "--id" };
    const char *swapped[] = { "w", "--id", "1", "--role", "handler" };
    const char *role_bad[] = { "w", "--role", "root", "--id", "1" };
    const char *id_big[] = { "w", "--role", "handler", "--id", "1024" };
    const char *id_neg[] = { "w", "--role", "handler", "--id", "-1" };
    const char *id_junk[] = { "w", "--role", "handler", "--id", "1x" };
    enum worker_role role = WORKER_ROLE_HANDLER;
    unsigned int id = 7;
    struct errbuf eb;

    (void) state;
    assert_int_equal(parse(4, shortv, &role, &id, &eb), EINVAL);
    assert_string_equal(eb.msg, "usage: w --role handler|revalidator --id N "
                        "(started by dpifd only)");
    assert_int_equal(parse(0, shortv, &role, &id, &eb), EINVAL);
    assert_string_equal(eb.msg, "usage: worker --role handler|revalidator "
                        "--id N (started by dpifd only)");
    assert_int_equal(parse(5, swapped, &role, &id, &eb), EINVAL);
    assert_int_equal(parse(5, role_bad, &role, &id, &eb), EINVAL);
    assert_string_equal(eb.msg, "unknown worker role 'root'");
    assert_int_equal(parse(5, id_big, &role, &id, &eb), EINVAL);
    assert_string_equal(eb.msg, "worker id '1024' is not in [0, 1024)");
    assert_int_equal(parse(5, id_neg, &role, &id, &eb), EINVAL);
    assert_int_equal(parse(5, id_junk, &role, &id, &eb), EINVAL);
    /* Nothing is stored on error. */
    assert_int_equal(role, WORKER_ROLE_HANDLER);
    assert_int_equal(id, 7);
}

static void
role_names_round_trip(void **state)
{
    enum worker_role role;

    (void) state;
    assert_true(worker_role_is_valid(WORKER_ROLE_HANDLER));
    assert_true(worker_role_is_valid(WORKER_ROLE_REVALIDATOR));
    assert_false(worker_role_is_valid(0));
    assert_false(worker_role_is_valid(3));
    assert_string_equal(worker_role_to_string(WORKER_ROLE_HANDLER),
                        "handler");
    assert_string_equal(worker_role_to_string(WORKER_ROLE_REVALIDATOR),
                        "revalidator");
    assert_string_equal(worker_role_to_string((enum worker_role) 3), "?");
    assert_int_equal(worker_role_from_string("revalidator", &role), 0);
    assert_int_equal(role, WORKER_ROLE_REVALIDATOR);
    assert_int_equal(worker_role_from_string("Handler", &role), EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_args_accepts_the_contract),
        cmocka_unit_test(parse_args_refuses_anything_else),
        cmocka_unit_test(role_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
