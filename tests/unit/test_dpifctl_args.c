/* test_dpifctl_args.c — dpifctl's command line: every command's usage
 * errors exit with status 2 and a message that names the problem and the
 * command's usage; help and version exit 0.  No daemon is involved: usage
 * errors are found before connecting (the socket given does not exist). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/dpifctl.h"

#define NO_SOCKET "/nonexistent/dpifd-test.ctl"

struct result {
    int status;
    char *out;
    char *err;
};

/* Runs dpifctl with the blank-separated words of 'line' ("''" stands for
 * an empty argument). */
static struct result
run(const char *line)
{
    char *copy = strdup(line);
    char *argv[64];
    int argc = 0;
    struct result r;
    size_t out_len, err_len;

    argv[argc++] = "dpifctl";
    argv[argc++] = "--socket";
    argv[argc++] = NO_SOCKET;
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
        argv[argc++] = strcmp(w, "''") ? w : "";
    }
    argv[argc] = NULL;

    FILE *out = open_memstream(&r.out, &out_len);
    FILE *err = open_memstream(&r.err, &err_len);
    r.status = dpifctl_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    free(copy);
    return r;
}

static void
result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

static void
expect(const char *line, int status, const char *err_part)
{
    struct result r = run(line);
    if (r.status != status || !strstr(r.err, err_part)) {
        fail_msg("dpifctl %s: status %d (want %d), stderr:\n%s(want \"%s\")",
                 line, r.status, status, r.err, err_part);
    }
    if (status == DPIFCTL_EXIT_USAGE) {
        assert_string_equal(r.out, "");
        assert_true(!strncmp(r.err, "dpifctl: ", 9));
    }
    result_free(&r);
}

static void
args_every_command_rejects_wrong_counts(void **state)
{
    static const struct {
        const char *line;
        const char *msg;
    } cases[] = {
        { "show a b", "show: too many arguments (2 given, at most 1)" },
        { "dump-dps x", "dump-dps: too many arguments" },
        { "add-dp", "add-dp: missing DP" },
        { "add-dp a b", "add-dp: too many arguments" },
        { "del-dp", "del-dp: missing DP" },
        { "add-if dp0", "add-if: missing IFACE" },
        { "del-if dp0", "del-if: missing IFACE" },
        { "dump-flows a b c", "dump-flows: too many arguments" },
        { "add-flow dp0 in_port(1)", "add-flow: missing ACTIONS" },
        { "mod-flow dp0", "mod-flow: missing FLOW" },
        { "get-flow dp0", "get-flow: missing FLOW|ufid:UFID" },
        { "del-flow", "del-flow: missing DP" },
        { "del-flows", "del-flows: missing DP" },
        { "upcall/show x", "upcall/show: too many arguments" },
        { "upcall/set-flow-limit", "upcall/set-flow-limit: missing N" },
        { "upcall/enable-megaflows x", "too many arguments" },
        { "upcall/disable-megaflows x", "too many arguments" },
        { "revalidator/wait x", "too many arguments" },
        { "revalidator/purge x", "too many arguments" },
        { "rules/show a b", "rules/show: too many arguments" },
        { "rules/add dp0", "rules/add: missing RULE" },
        { "rules/del dp0", "rules/del: missing MATCH" },
        { "rules/replace dp0", "rules/replace: missing FILE" },
        { "fdb/show", "fdb/show: missing DP" },
        { "fdb/flush", "fdb/flush: missing DP" },
        { "procs x", "procs: too many arguments" },
        { "counters x", "counters: too many arguments" },
        { "memory/show x", "memory/show: too many arguments" },
        { "log/set ANY", "log/set: missing LEVEL" },
        { "metrics x", "metrics: too many arguments" },
        { "inject dp0", "inject: missing PORT" },
        { "capture dp0", "capture: missing PORT" },
        { "capture dp0 1 2", "capture: too many arguments" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect(cases[i].line, DPIFCTL_EXIT_USAGE, cases[i].msg);
    }
}

static void
args_bad_values_are_usage_errors(void **state)
{
    static const struct {
        const char *line;
        const char *msg;
    } cases[] = {
        { "add-dp bogus@dp0", "unknown datapath type \"bogus\"" },
        { "add-dp --type dummy netdev@dp0", "type netdev@ and --type dummy "
          "disagree" },
        { "add-dp @dp0", "datapath type before '@' is empty" },
        { "add-dp dummy@", "datapath name is empty" },
        { "show 0123456789012345678901234567890123456789012345678901234567"
          "890123456789", "longer than 64 bytes" },
        { "add-if dp0 p1,type", "option \"type\" is not KEY=VALUE" },
        { "add-if dp0 p1,port_no=x", "port_no: \"x\" is not a number" },
        { "add-if dp0 p1,port_no=4294967296", "out of range" },
        { "add-if dp0 p1,type=a,type=b", "type given twice" },
        { "add-if dp0 ,type=dummy", "interface name is empty" },
        { "del-if dp0 12x", "\"12x\" is not a number" },
        { "dump-flows dp0 in_port(1", "FILTER \"in_port(1\": column" },
        { "dump-flows bogus(1)", "FILTER \"bogus(1)\"" },
        { "add-flow dp0 in_port(1) frob", "ACTIONS \"frob\"" },
        { "add-flow dp0 '' 1", "FLOW is empty" },
        { "add-flow dp0 ufid:1234,in_port(1) 1", "malformed UFID" },
        { "get-flow dp0 ufid:00000000-0000-0000-0000-000000000001,"
          "in_port(1)", "give either a UFID or a key" },
        { "del-flow dp0 in_port(x)", "FLOW \"in_port(x)\"" },
        { "upcall/set-flow-limit 0", "flow limit: 0 is out of range "
          "1..10000000" },
        { "upcall/set-flow-limit 10000001", "out of range" },
        { "upcall/set-flow-limit ten", "\"ten\" is not a number" },
        { "rules/del --priority 70000 dp0 ip", "--priority: 70000 is out "
          "of range 0..65535" },
        { "rules/add dp0 ''", "RULE 1 is empty" },
        { "log/set ANY loud", "unknown level \"loud\"" },
        { "log/set '' dbg", "MODULE \"\" is empty" },
        { "inject dp0 1", "no FRAME to inject" },
        { "inject dp0 1 zz", "FRAME 1 is not a hex string" },
        { "inject dp0 1 0011", "FRAME 1 has 2 bytes, not 14..65792" },
        { "inject dp0 1 --flow in_port(1) 00", "either FRAMEs or --flow" },
        { "inject dp0 1 --payload 5 00", "--payload needs --flow" },
        { "inject dp0 1 --flow eth_type(", "--flow \"eth_type(\"" },
        { "inject dp0 1 --flow in_port(1) --payload 99999", "--payload: "
          "99999 is out of range" },
        { "inject dp0 x1 000000000000000000000000000000", "no port named"
          " x1" },
        { "counters --per-process --per-process", "option --per-process "
          "given twice" },
        { "dump-flows --more=yes", "option --more takes no value" },
        { "show --bogus", "show: unknown option --bogus" },
        { "show -z", "unknown option -z" },
        { "add-dp --type", "option --type needs a value" },
        { "show --format yaml", "--format: \"yaml\" is not text or json" },
        { "show --timeout soon", "--timeout: \"soon\" is not a number" },
        { "frobnicate", "unknown command \"frobnicate\"" },
        { "", "no command given" },
        { "help a b", "help takes at most one COMMAND" },
        { "help frob", "unknown command \"frob\"" },
        { "--frob show", "unknown option --frob" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* A port name needs a look-up, so that one fails to connect. */
        int status = strstr(cases[i].line, "x1") ? DPIFCTL_EXIT_FAILED
                                                 : DPIFCTL_EXIT_USAGE;
        const char *msg = (status == DPIFCTL_EXIT_FAILED
                           ? "cannot connect" : cases[i].msg);
        expect(cases[i].line, status, msg);
    }
}

static void
args_usage_errors_show_the_usage_line(void **state)
{
    struct result r = run("add-if dp0");
    assert_string_equal(r.err,
        "dpifctl: add-if: missing IFACE\n"
        "usage: dpifctl add-if DP IFACE[,type=T][,port_no=N][,KEY=VALUE]...\n"
        "(\"dpifctl add-if --help\" for more)\n");
    result_free(&r);

    r = run("rules/del dp0");
    assert_string_equal(r.err,
        "dpifctl: rules/del: missing MATCH\n"
        "usage: dpifctl rules/del [--priority P] [--strict] DP MATCH\n"
        "(\"dpifctl rules/del --help\" for more)\n");
    result_free(&r);
}

static void
args_every_command_has_help(void **state)
{
    size_t n_sections;
    const struct command_section *s = command_sections(&n_sections);
    struct result all = run("help");

    assert_int_equal(all.status, DPIFCTL_EXIT_OK);
    for (size_t i = 0; i < n_sections; i++) {
        assert_non_null(strstr(all.out, s[i].title));
        for (size_t j = 0; j < *s[i].n_commands; j++) {
            const char *name = s[i].commands[j].name;
            char line[128];

            snprintf(line, sizeof line, "\n  %s ", name);
            assert_non_null(strstr(all.out, line));

            static const struct {
                const char *before, *after;
            } forms[] = {
                { "", " --help" }, { "help ", "" }, { "", " -h" },
                { "", " dp0 --help" },
            };
            for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
                char cmdline[128];
                snprintf(cmdline, sizeof cmdline, "%s%s%s", forms[k].before,
                         name, forms[k].after);
                struct result r = run(cmdline);
                snprintf(line, sizeof line, "usage: dpifctl %s", name);
                assert_int_equal(r.status, DPIFCTL_EXIT_OK);
                assert_true(!strncmp(r.out, line, strlen(line)));
                assert_non_null(strstr(r.out, "Permission: "));
                assert_string_equal(r.err, "");
                result_free(&r);
            }
        }
    }
    result_free(&all);
}

static void
args_help_and_version(void **state)
{
    struct result r = run("--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Exit status: 0 success, 1 the operation "
                                  "failed, 2 usage error."));
    result_free(&r);

    r = run("--version");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "dpifctl (dpifd) " DPIFD_VERSION "\n");
    result_free(&r);

    r = run("dump-flows --help");
    assert_non_null(strstr(r.out, "  -m, --more"));
    result_free(&r);
}

static void
args_valid_lines_reach_the_socket(void **state)
{
    /* Well-formed command lines get past parsing and building and fail
     * only because there is no daemon: exit 1, "cannot connect". */
    static const char *const lines[] = {
        "show", "show netdev@br0", "dump-dps", "add-dp dummy@dp0",
        "add-dp dp0 --type=system", "del-dp dp0",
        "add-if dp0 p1,type=dummy,port_no=5,peer=p2 p2",
        "del-if dp0 p1 3", "dump-flows", "dump-flows dp0 --more",
        "dump-flows eth_type(0x0806)",
        "dump-flows -m dp0 in_port(1),eth_type(0x0800)",
        "add-flow dp0 in_port(1),eth_type(0x0800) 2",
        ("add-flow dp0 ufid:00000000-0000-0000-0000-000000000001,in_port(1)"
         " drop"),
        "mod-flow --may-create --clear -s dp0 in_port(1) 2",
        "get-flow dp0 ufid:00000000-0000-0000-0000-000000000001",
        "del-flow -s dp0 in_port(1)", "del-flows dp0",
        "upcall/show", "upcall/set-flow-limit 0x10",
        "upcall/enable-megaflows", "upcall/disable-megaflows",
        "revalidator/wait", "revalidator/purge", "rules/show",
        "rules/add dp0 priority=1,actions=normal",
        "rules/del -p 5 dp0 ''", "rules/del --strict dp0 ip",
        "fdb/show dp0", "fdb/flush dp0", "procs", "counters -p",
        "memory/show", "log/set ANY debug --process privd", "metrics",
        "inject dp0 1 0x000000000001000000000002080045",
        "capture dp0 1 --clear", "dpctl/show",
        "--format json -- show", "show --format=json --timeout 100",
    };

    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        expect(lines[i], DPIFCTL_EXIT_FAILED,
               "dpifctl: cannot connect to " NO_SOCKET ": No such file or "
               "directory (is dpifd running?)");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(args_every_command_rejects_wrong_counts),
        cmocka_unit_test(args_bad_values_are_usage_errors),
        cmocka_unit_test(args_usage_errors_show_the_usage_line),
        cmocka_unit_test(args_every_command_has_help),
        cmocka_unit_test(args_help_and_version),
        cmocka_unit_test(args_valid_lines_reach_the_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
