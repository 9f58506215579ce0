/* Tests for privd/config.c: defaults, every key, datapath sections, and
 * errors that name the file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privd/config.h"

struct fixture {
    struct config cfg;
    char path[64];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    config_init_defaults(&f->cfg);
    snprintf(f->path, sizeof f->path, "/tmp/test_config.%d.conf", getpid());
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    config_destroy(&f->cfg);
    unlink(f->path);
    free(f);
    return 0;
}

static void
write_file(const struct fixture *f, const char *text)
{
    FILE *file = fopen(f->path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void
config_defaults(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    assert_int_equal(config_finish(&f->cfg, &eb), 0);
    assert_true(f->cfg.n_handlers >= 1);
    assert_true(f->cfg.n_revalidators >= 1);
    assert_string_equal(f->cfg.user, "dpifd");
    assert_string_equal(f->cfg.worker_user, "dpifd-worker");
    assert_string_equal(f->cfg.control_socket, "/run/dpifd/dpifd.ctl");
    assert_string_equal(f->cfg.empty_root, "/run/dpifd/empty");
    assert_int_equal(f->cfg.flow_limit, 200000);
    assert_int_equal(f->cfg.max_idle_ms, 10000);
    assert_int_equal(f->cfg.batch_size, 50);
    assert_true(f->cfg.keep_flows_on_exit);
    assert_int_equal(f->cfg.n_datapaths, 0);
}

static void
config_file_all_keys(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    write_file(f,
               "# comment\n"
               "handlers = 3\n"
               "revalidators=2   # trailing comment\n"
               "user = sw\n"
               "worker-user = dpifd-worker\n"
               "run-dir = /tmp/dpifd-x\n"
               "log-target = syslog\n"
               "log-level = dbg\n"
               "flow-limit = 5000\n"
               "max-idle = 250\n"
               "batch-size = 64\n"
               "keep-flows-on-exit = no\n"
               "\n"
               "[datapath netdev@br0]\n"
               "port = eth1\n"
               "port = br0-in:internal\n"
               "rules = /etc/dpifd/br0.rules\n"
               "[ datapath dummy@t0 ]\n"
               "port = p1\n");
    assert_int_equal(config_read_file(&f->cfg, f->path, &eb), 0);
    assert_int_equal(config_finish(&f->cfg, &eb), 0);
    assert_int_equal(f->cfg.n_handlers, 3);
    assert_int_equal(f->cfg.n_revalidators, 2);
    assert_string_equal(f->cfg.user, "sw");
    assert_string_equal(f->cfg.worker_user, "dpifd-worker");
    assert_string_equal(f->cfg.control_socket, "/tmp/dpifd-x/dpifd.ctl");
    assert_string_equal(f->cfg.log_target, "syslog");
    assert_int_equal(f->cfg.log_level, LOG_LEVEL_DBG);
    assert_int_equal(f->cfg.flow_limit, 5000);
    assert_int_equal(f->cfg.max_idle_ms, 250);
    assert_int_equal(f->cfg.batch_size, 64);
    assert_false(f->cfg.keep_flows_on_exit);
    assert_int_equal(f->cfg.n_datapaths, 2);

    const struct config_datapath *br0 = &f->cfg.datapaths[0];
    assert_string_equal(br0->type, "netdev");
    assert_string_equal(br0->name, "br0");
    assert_int_equal(br0->n_ports, 2);
    assert_string_equal(br0->ports[0].name, "eth1");
    assert_string_equal(br0->ports[0].type, "system");
    assert_string_equal(br0->ports[1].type, "internal");
    assert_string_equal(br0->rules_file, "/etc/dpifd/br0.rules");

    const struct config_datapath *t0 = &f->cfg.datapaths[1];
    assert_string_equal(t0->type, "dummy");
    assert_string_equal(t0->ports[0].type, "dummy");
}

/* Each bad file must fail with a reason naming file:line and the key. */
static void
config_errors_name_file_line_key(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *text;
        int line;
        const char *needle;
    } cases[] = {
        { "handlers = 0\n", 1, "handlers: expected a number from 1 to 64" },
        { "\n\nhandlers = lots\n", 3, "handlers: expected a number" },
        { "flow-limit = 10\n", 1, "flow-limit: expected a number from 1000" },
        { "max-idle = -5\n", 1, "max-idle" },
        { "colour = blue\n", 1, "unknown key \"colour\"" },
        { "just words\n", 1, "expected \"key = value\"" },
        { "run-dir = relative\n", 1, "run-dir: expected an absolute path" },
        { "log-level = loud\n", 1, "log-level: expected off, err" },
        { "keep-flows-on-exit = maybe\n", 1, "keep-flows-on-exit" },
        { "[datapath weird@br0]\n", 1, "unknown type \"weird\"" },
        { "[bridge br0]\n", 1, "unknown section" },
        { "[datapath dummy@br0\n", 1, "malformed section header" },
        { "[datapath dummy@br0]\nport = p1:system\n", 2,
          "a dummy datapath has only dummy ports" },
        { "[datapath netdev@br0]\nport = p1:fancy\n", 2,
          "unknown type \"fancy\"" },
        { "[datapath netdev@br0]\nport = p1\nport = p1\n", 3,
          "listed twice" },
        { "[datapath netdev@br0]\ncolour = red\n", 2,
          "unknown key \"colour\" in a datapath section" },
        { "[datapath netdev@br0]\n[datapath dummy@br0]\n", 2,
          "configured twice" },
        { "[datapath netdev@averyveryverylongname]\n", 1, "1 to 15" },
        { "worker-user = swk\n", 1,
          "worker-user: the workers always run as the compiled-in user "
          "\"dpifd-worker\"" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        struct errbuf eb;
        char where[128];

        config_init_defaults(&cfg);
        write_file(f, cases[i].text);
        assert_int_equal(config_read_file(&cfg, f->path, &eb), EINVAL);
        snprintf(where, sizeof where, "%s:%d: ", f->path, cases[i].line);
        if (strncmp(eb.msg, where, strlen(where))
            || !strstr(eb.msg, cases[i].needle)) {
            fail_msg("case %zu: got \"%s\", expected \"%s...%s\"", i, eb.msg,
                     where, cases[i].needle);
        }
        config_destroy(&cfg);
    }
}

static void
config_missing_file(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    assert_int_equal(config_read_file(&f->cfg, "/nonexistent/dpifd.conf",
                                      &eb), ENOENT);
    assert_non_null(strstr(eb.msg, "/nonexistent/dpifd.conf"));
}

/* Command-line options are config_set() calls applied after the file. */
static void
config_command_line_overrides_file(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    write_file(f, "handlers = 3\nflow-limit = 5000\n");
    assert_int_equal(config_read_file(&f->cfg, f->path, &eb), 0);
    assert_int_equal(config_set(&f->cfg, "handlers", "7", "--handlers", &eb),
                     0);
    assert_int_equal(f->cfg.n_handlers, 7);
    assert_int_equal(f->cfg.flow_limit, 5000);
    assert_int_equal(config_set(&f->cfg, "handlers", "x", "--handlers", &eb),
                     EINVAL);
    assert_string_equal(eb.msg, "--handlers: handlers: expected a number "
                        "from 1 to 64, got \"x\"");
}

static void
config_long_line_rejected(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    char text[2100];

    memset(text, 'a', sizeof text - 2);
    text[sizeof text - 2] = '\n';
    text[sizeof text - 1] = '\0';
    write_file(f, text);
    assert_int_equal(config_read_file(&f->cfg, f->path, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "line longer than"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(config_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(config_file_all_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(config_errors_name_file_line_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(config_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(config_command_line_overrides_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(config_long_line_rejected, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
