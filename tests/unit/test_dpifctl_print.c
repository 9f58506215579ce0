/* test_dpifctl_print.c — dpifctl's printers: golden text of a handcrafted
 * Reply for every read command, and strictly valid JSON for each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/commands.h"
#include "common/buf.h"
#include "common/odp-format.h"
#include "common/ufid.h"
#include "json_check.h"

/* "Now" for flow and frame ages. */
#define NOW_MSEC 100000

/* Runs the printer of 'name' over 'replies' (a paged command gets several)
 * in 'format', with the flag options in 'flags' (NULL-terminated) set, and
 * returns the output, which the caller frees. */
static char *
run_printer(const char *name, enum cmd_format format, const char *const *flags,
            const Dpif__Reply *const *replies, size_t n_replies)
{
    const struct command *cmd = command_find(name);
    struct cmd_ctx ctx;
    struct ds all = DS_EMPTY_INITIALIZER;

    assert_non_null(cmd);
    cmd_ctx_init(&ctx, cmd, format);
    ctx.now_msec = NOW_MSEC;
    for (size_t i = 0; flags && flags[i]; i++) {
        bool found = false;
        for (size_t j = 0; cmd->options && cmd->options[j].name; j++) {
            if (!strcmp(cmd->options[j].name, flags[i])) {
                ctx.opts[j] = "";
                found = true;
            }
        }
        assert_true(found);
    }
    for (size_t i = 0; i < n_replies; i++) {
        if (format == CMD_FORMAT_JSON) {
            cmd->print_json(&ctx, replies[i]);
        } else {
            cmd->print_text(&ctx, replies[i]);
        }
        ds_put_cstr(&all, ds_cstr(&ctx.out));
        ds_clear(&ctx.out);
        ctx.n_replies++;
    }
    cmd_ctx_destroy(&ctx);
    return ds_steal_cstr(&all);
}

static void
assert_json(const char *s)
{
    char why[128] = "";
    if (!json_check(s, strlen(s), why, sizeof why)) {
        fail_msg("invalid JSON (%s):\n%s", why, s);
    }
}

/* Checks the text output against 'golden' and that the JSON is valid;
 * returns the JSON for further checks (caller frees). */
static char *
check_both(const char *name, const char *const *flags,
           const Dpif__Reply *const *replies, size_t n, const char *golden)
{
    char *text = run_printer(name, CMD_FORMAT_TEXT, flags, replies, n);
    assert_string_equal(text, golden);
    free(text);

    char *json = run_printer(name, CMD_FORMAT_JSON, flags, replies, n);
    assert_json(json);
    return json;
}

static void
assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) {
        fail_msg("\"%s\" not found in:\n%s", needle, haystack);
    }
}

/* ----- show, dump-dps ---------------------------------------------------- */

static void
print_show_aligns_ports_and_marks_missing_stats(void **state)
{
    Dpif__PortStats st1 = DPIF__PORT_STATS__INIT;
    st1.has_rx_packets = st1.has_rx_bytes = st1.has_tx_packets = true;
    st1.has_tx_bytes = st1.has_rx_dropped = st1.has_rx_errors = true;
    st1.has_tx_dropped = st1.has_tx_errors = true;
    st1.rx_packets = 12;
    st1.rx_bytes = 1008;
    st1.tx_packets = 7;
    st1.tx_bytes = 588;
    Dpif__PortInfo p0 = DPIF__PORT_INFO__INIT;
    p0.port_no = 0;
    p0.name = "dp0";
    p0.type = "internal";
    Dpif__PortInfo p1 = DPIF__PORT_INFO__INIT;
    p1.port_no = 12;
    p1.name = "veth-a\x1b[31m";     /* Hostile: an escape sequence. */
    p1.type = "dummy";
    p1.stats = &st1;
    Dpif__PortInfo *ports[] = { &p0, &p1 };
    Dpif__DatapathInfo dp = DPIF__DATAPATH_INFO__INIT;
    dp.name = "dp0";
    dp.type = "dummy";
    dp.has_n_hit = dp.has_n_missed = dp.has_n_lost = dp.has_n_flows = true;
    dp.n_hit = 12;
    dp.n_missed = 3;
    dp.n_flows = 2;
    dp.n_ports = 2;
    dp.ports = ports;
    Dpif__DatapathInfo dp2 = DPIF__DATAPATH_INFO__INIT;
    dp2.name = "empty";
    dp2.type = "netdev";
    Dpif__DatapathInfo *dps[] = { &dp, &dp2 };
    Dpif__ShowReply show = DPIF__SHOW_REPLY__INIT;
    show.n_dps = 2;
    show.dps = dps;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_SHOW;
    reply.show = &show;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("show", NULL, replies, 1,
        "dummy@dp0:\n"
        "  lookups: hit:12 missed:3 lost:0\n"
        "  flows: 2\n"
        "  masks: total:-\n"
        "  ports:\n"
        "    PORT  NAME            TYPE      RX_PKTS  RX_BYTES  RX_DROP"
        "  RX_ERR  TX_PKTS  TX_BYTES  TX_DROP  TX_ERR\n"
        "       0  dp0             internal\n"
        "      12  veth-a\\x1b[31m  dummy          12      1008        0"
        "       0        7       588        0       0\n"
        "netdev@empty:\n"
        "  lookups: hit:- missed:- lost:-\n"
        "  flows: -\n"
        "  masks: total:-\n"
        "  ports: none\n");
    assert_contains(json, "\"masks\": {\n        \"total\": null\n");
    assert_contains(json, "\"name\": \"veth-a\\u001b[31m\"");
    assert_contains(json, "\"stats\": null");
    assert_contains(json, "\"rx_bytes\": 1008");
    free(json);
}

static void
print_dump_dps_lists_type_at_name(void **state)
{
    Dpif__DpName a = DPIF__DP_NAME__INIT, b = DPIF__DP_NAME__INIT;
    a.name = "br0";
    a.type = "netdev";
    b.name = "dp0";
    b.type = "dummy";
    Dpif__DpName *names[] = { &a, &b };
    Dpif__DumpDpsReply dd = DPIF__DUMP_DPS_REPLY__INIT;
    dd.n_dps = 2;
    dd.dps = names;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_DUMP_DPS;
    reply.dump_dps = &dd;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("dump-dps", NULL, replies, 1,
                            "netdev@br0\ndummy@dp0\n");
    assert_string_equal(json,
        "{\n"
        "  \"datapaths\": [\n"
        "    {\n"
        "      \"name\": \"br0\",\n"
        "      \"type\": \"netdev\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"dp0\",\n"
        "      \"type\": \"dummy\"\n"
        "    }\n"
        "  ]\n"
        "}\n");
    free(json);
}

/* ----- flows -------------------------------------------------------------- */

struct test_flow {
    Dpif__Flow flow;
    Dpif__FlowStats stats;
    struct buf key, mask, actions;
    union ufid ufid;
};

static void
test_flow_init(struct test_flow *tf, const char *key, const char *actions,
               uint64_t packets, int64_t used, uint32_t tcp_flags)
{
    memset(tf, 0, sizeof *tf);
    buf_init(&tf->key, 0);
    buf_init(&tf->mask, 0);
    buf_init(&tf->actions, 0);
    assert_int_equal(odp_parse_key(key, &tf->key, &tf->mask, NULL), 0);
    assert_int_equal(odp_parse_actions(actions, &tf->actions, NULL), 0);
    ufid_from_key(tf->key.data, tf->key.size, tf->mask.data, tf->mask.size,
                  &tf->ufid);

    dpif__flow_stats__init(&tf->stats);
    tf->stats.has_packets = tf->stats.has_bytes = true;
    tf->stats.packets = packets;
    tf->stats.bytes = packets * 100;
    tf->stats.has_used_msec = true;
    tf->stats.used_msec = used;
    tf->stats.has_tcp_flags = tcp_flags != 0;
    tf->stats.tcp_flags = tcp_flags;

    dpif__flow__init(&tf->flow);
    tf->flow.has_ufid = tf->flow.has_key = tf->flow.has_mask = true;
    tf->flow.has_actions = true;
    tf->flow.ufid.data = (uint8_t *) &tf->ufid;
    tf->flow.ufid.len = sizeof tf->ufid;
    tf->flow.key.data = tf->key.data;
    tf->flow.key.len = tf->key.size;
    tf->flow.mask.data = tf->mask.data;
    tf->flow.mask.len = tf->mask.size;
    tf->flow.actions.data = tf->actions.data;
    tf->flow.actions.len = tf->actions.size;
    tf->flow.stats = &tf->stats;
}

static void
test_flow_destroy(struct test_flow *tf)
{
    buf_uninit(&tf->key);
    buf_uninit(&tf->mask);
    buf_uninit(&tf->actions);
}

/* ovs-dpctl's line for 'tf', from the same formatter. */
static void
expected_line(struct ds *out, struct test_flow *tf, bool more,
              const char *stats)
{
    if (more) {
        char s[UFID_STRLEN];
        ufid_format(&tf->ufid, s);
        ds_put_format(out, "%s, ", s);
    }
    odp_format_key(out, tf->key.data, tf->key.size, tf->mask.data,
                   tf->mask.size, more);
    ds_put_format(out, ", %s, actions:", stats);
    odp_format_actions(out, tf->actions.data, tf->actions.size);
    ds_put_char(out, '\n');
}

static void
print_dump_flows_in_ovs_dpctl_format_across_pages(void **state)
{
    struct test_flow a, b, c;
    test_flow_init(&a, "in_port(1),eth(src=00:00:00:00:00:01,"
                   "dst=00:00:00:00:00:02),eth_type(0x0800),"
                   "ipv4(src=10.0.0.1,dst=10.0.0.0/255.255.255.0,proto=6,"
                   "frag=no),tcp(dst=80)", "2", 10, NOW_MSEC - 500, 0x12);
    test_flow_init(&b, "in_port(2),eth_type(0x0806)", "drop", 0, 0, 0);
    test_flow_init(&c, "in_port(3)", "set(ipv4(ttl=63)),1", 1,
                   NOW_MSEC - 61234, 0);

    Dpif__Flow *page1_flows[] = { &a.flow, &b.flow };
    Dpif__Flow *page2_flows[] = { &c.flow };
    Dpif__DumpFlowsReply p1 = DPIF__DUMP_FLOWS_REPLY__INIT;
    p1.n_flows = 2;
    p1.flows = page1_flows;
    p1.more = true;
    p1.has_cursor = true;
    p1.cursor.data = (uint8_t *) "c1";
    p1.cursor.len = 2;
    Dpif__DumpFlowsReply p2 = DPIF__DUMP_FLOWS_REPLY__INIT;
    p2.n_flows = 1;
    p2.flows = page2_flows;
    Dpif__Reply r1 = DPIF__REPLY__INIT, r2 = DPIF__REPLY__INIT;
    r1.result_case = r2.result_case = DPIF__REPLY__RESULT_DUMP_FLOWS;
    r1.dump_flows = &p1;
    r2.dump_flows = &p2;
    const Dpif__Reply *replies[] = { &r1, &r2 };

    /* The stats part, literally, as ovs-dpctl prints it. */
    struct ds golden = DS_EMPTY_INITIALIZER;
    expected_line(&golden, &a, false,
                  "packets:10, bytes:1000, used:0.500s, flags:S.");
    expected_line(&golden, &b, false, "packets:0, bytes:0, used:never");
    expected_line(&golden, &c, false,
                  "packets:1, bytes:100, used:61.234s");
    char *json = check_both("dump-flows", NULL, replies, 2,
                            ds_cstr(&golden));
    assert_contains(ds_cstr(&golden), "tcp(dst=80), packets:10");
    assert_contains(ds_cstr(&golden), "actions:set(ipv4(ttl=63)),1\n");
    assert_contains(json, "\"tcp_flags_text\": \"S.\"");
    assert_contains(json, "\"idle_msec\": 500");
    assert_contains(json, "\"used_msec\": null");
    assert_contains(json, "\"actions\": \"drop\"");
    free(json);

    /* --more: UFIDs and every field. */
    const char *more[] = { "more", NULL };
    ds_clear(&golden);
    expected_line(&golden, &a, true,
                  "packets:10, bytes:1000, used:0.500s, flags:S.");
    expected_line(&golden, &b, true, "packets:0, bytes:0, used:never");
    expected_line(&golden, &c, true, "packets:1, bytes:100, used:61.234s");
    json = check_both("dump-flows", more, replies, 2, ds_cstr(&golden));
    assert_contains(ds_cstr(&golden), "ufid:");
    free(json);

    ds_destroy(&golden);
    test_flow_destroy(&a);
    test_flow_destroy(&b);
    test_flow_destroy(&c);
}

static void
print_get_flow_like_dump_flows(void **state)
{
    struct test_flow a;
    test_flow_init(&a, "in_port(1),eth_type(0x86dd)", "3", 2, 0, 0x1ff | 0x800);
    Dpif__GetFlowReply gf = DPIF__GET_FLOW_REPLY__INIT;
    gf.flow = &a.flow;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_GET_FLOW;
    reply.get_flow = &gf;
    const Dpif__Reply *replies[] = { &reply };

    struct ds golden = DS_EMPTY_INITIALIZER;
    /* used 0 = never, even with packets; every flag and a reserved bit. */
    expected_line(&golden, &a, false, "packets:2, bytes:200, used:never, "
                  "flags:SFPRU.ECN[800]");
    char *json = check_both("get-flow", NULL, replies, 1, ds_cstr(&golden));
    assert_contains(json, "\"flow\": {");
    assert_contains(json, "\"tcp_flags\": 2559");
    free(json);
    ds_destroy(&golden);
    test_flow_destroy(&a);
}

/* ----- upcall/show ----------------------------------------------------------- */

static void
print_upcall_show_like_ovs_appctl(void **state)
{
    Dpif__WorkerInfo h0 = DPIF__WORKER_INFO__INIT;
    h0.id = 0;
    h0.pid = 4242;
    h0.has_count = true;
    h0.count = 17;
    Dpif__WorkerInfo h1 = DPIF__WORKER_INFO__INIT;
    h1.id = 1;
    h1.pid = 0;
    Dpif__WorkerInfo r0 = DPIF__WORKER_INFO__INIT;
    r0.id = 0;
    r0.pid = 4244;
    r0.has_count = true;
    r0.count = 3;
    Dpif__WorkerInfo *handlers[] = { &h0, &h1 };
    Dpif__WorkerInfo *revalidators[] = { &r0 };
    Dpif__DpUpcallInfo d = DPIF__DP_UPCALL_INFO__INIT;
    d.dp = "dp0";
    d.flow_count = 3;
    d.flow_limit = 10000;
    d.has_avg_flows = true;
    d.avg_flows = 2;
    d.has_dump_duration_msec = true;
    d.dump_duration_msec = 1;
    d.megaflows = true;
    d.n_handlers = 2;
    d.handlers = handlers;
    d.n_revalidators = 1;
    d.revalidators = revalidators;
    Dpif__DpUpcallInfo *dps[] = { &d };
    Dpif__UpcallShowReply us = DPIF__UPCALL_SHOW_REPLY__INIT;
    us.n_dps = 1;
    us.dps = dps;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_UPCALL_SHOW;
    reply.upcall_show = &us;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("upcall/show", NULL, replies, 1,
        "dp0:\n"
        "  flows         : (current 3) (avg 2) (max -) (limit 10000)\n"
        "  dump duration : 1ms\n"
        "  megaflows     : enabled\n"
        "  handlers      : 2\n"
        "    ID           PID  UPCALLS\n"
        "     0          4242       17\n"
        "     1  (respawning)        -\n"
        "  revalidators  : 1\n"
        "    ID   PID  KEYS\n"
        "     0  4244     3\n");
    assert_contains(json, "\"max\": null");
    assert_contains(json, "\"megaflows\": true");
    assert_contains(json, "\"keys\": 3");
    free(json);
}

/* ----- rules, fdb ---------------------------------------------------------- */

static void
print_rules_show_verbatim_and_json_lines(void **state)
{
    Dpif__RulesShowReply rs = DPIF__RULES_SHOW_REPLY__INIT;
    rs.generation = 7;
    rs.text = "priority=100,ip,actions=output:2 n_packets=3,n_bytes=294\n"
              "priority=0,actions=normal n_packets=0,n_bytes=0";
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_RULES_SHOW;
    reply.rules_show = &rs;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("rules/show", NULL, replies, 1,
        "priority=100,ip,actions=output:2 n_packets=3,n_bytes=294\n"
        "priority=0,actions=normal n_packets=0,n_bytes=0\n");
    assert_contains(json, "\"generation\": 7");
    assert_contains(json, "    \"priority=0,actions=normal n_packets=0,"
                    "n_bytes=0\"\n");
    free(json);
}

static void
print_fdb_show_table_and_overflow(void **state)
{
    Dpif__FdbEntry e0 = DPIF__FDB_ENTRY__INIT, e1 = DPIF__FDB_ENTRY__INIT;
    e0.port_no = 1;
    e0.vlan = 0;
    e0.mac.data = (uint8_t *) "\x50\x54\x00\x00\x00\x01";
    e0.mac.len = 6;
    e0.age_sec = 3;
    e1.port_no = 10;
    e1.vlan = 100;
    e1.mac.data = (uint8_t *) "\x50\x54";
    e1.mac.len = 2;                 /* Malformed: printed as "?". */
    e1.age_sec = 120;
    Dpif__FdbEntry *entries[] = { &e0, &e1 };
    Dpif__FdbShowReply fs = DPIF__FDB_SHOW_REPLY__INIT;
    fs.n_entries = 2;
    fs.entries = entries;
    fs.has_n_more = true;
    fs.n_more = 5;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_FDB_SHOW;
    reply.fdb_show = &fs;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("fdb/show", NULL, replies, 1,
        "PORT  VLAN  MAC                AGE\n"
        "   1     0  50:54:00:00:00:01    3\n"
        "  10   100  ?                  120\n"
        "(5 more entries not shown)\n");
    assert_contains(json, "\"mac\": \"50:54:00:00:00:01\"");
    assert_contains(json, "\"n_more\": 5");
    free(json);
}

/* ----- procs, counters, memory/show, metrics ------------------------------- */

static void
print_procs_table(void **state)
{
    Dpif__ProcInfo p0 = DPIF__PROC_INFO__INIT;
    p0.role = "privd";
    p0.pid = 100;
    p0.state = "running";
    p0.has_uptime_msec = true;
    p0.uptime_msec = 3723000;
    p0.has_uid = true;
    p0.uid = 995;
    p0.has_cap_eff = true;
    p0.cap_eff = (UINT64_C(1) << 12) | (UINT64_C(1) << 13);
    Dpif__ProcInfo p1 = DPIF__PROC_INFO__INIT;
    p1.role = "handler";
    p1.id = 1;
    p1.dp = "dp0";
    p1.pid = 0;
    p1.state = "down";
    p1.has_restarts = true;
    p1.restarts = 2;
    p1.last_exit = "killed by signal 9";
    Dpif__ProcInfo *procs[] = { &p0, &p1 };
    Dpif__ProcsReply pr = DPIF__PROCS_REPLY__INIT;
    pr.n_procs = 2;
    pr.procs = procs;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_PROCS;
    reply.procs = &pr;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("procs", NULL, replies, 1,
        "ROLE     ID  DP   PID  UID  CAPABILITIES       STATE    RESTARTS"
        "  UPTIME  LAST EXIT\n"
        "privd     0  -    100  995  net_admin,net_raw  running         0"
        "   1h02m  -\n"
        "handler   1  dp0    -    -  -                  down            2"
        "       -  "
        "killed by signal 9\n");
    assert_contains(json, "\"dp\": null");
    assert_contains(json, "\"capabilities\": [\n        \"net_admin\",\n"
                    "        \"net_raw\"\n      ]");
    assert_contains(json, "\"uid\": null");
    assert_contains(json, "\"uptime_msec\": 3723000");
    assert_contains(json, "\"last_exit\": \"killed by signal 9\"");
    free(json);
}

static void
print_counters_with_and_without_processes(void **state)
{
    Dpif__ProcValue v0 = DPIF__PROC_VALUE__INIT, v1 = DPIF__PROC_VALUE__INIT;
    Dpif__ProcValue v2 = DPIF__PROC_VALUE__INIT;
    v0.name = "ipc_rx_eof";
    v0.value = 3;
    v1.name = "upcall_flow_limit_hit";
    v1.value = 12345;
    v2.name = "ipc_rx_eof";
    v2.value = 3;
    v2.process = "handler0";
    Dpif__ProcValue *sums[] = { &v0, &v1 };
    Dpif__ProcValue *all[] = { &v0, &v2, &v1 };
    Dpif__CountersReply c = DPIF__COUNTERS_REPLY__INIT;
    c.n_counters = 2;
    c.counters = sums;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_COUNTERS;
    reply.counters = &c;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("counters", NULL, replies, 1,
        "COUNTER                VALUE\n"
        "ipc_rx_eof                 3\n"
        "upcall_flow_limit_hit  12345\n");
    assert_contains(json, "\"process\": null");
    free(json);

    const char *per[] = { "per-process", NULL };
    c.n_counters = 3;
    c.counters = all;
    json = check_both("counters", per, replies, 1,
        "COUNTER                PROCESS   VALUE\n"
        "ipc_rx_eof             (total)       3\n"
        "ipc_rx_eof             handler0      3\n"
        "upcall_flow_limit_hit  (total)   12345\n");
    assert_contains(json, "\"process\": \"handler0\"");
    free(json);

    Dpif__MemoryShowReply m = DPIF__MEMORY_SHOW_REPLY__INIT;
    m.n_items = 1;
    m.items = all + 1;
    Dpif__Reply mreply = DPIF__REPLY__INIT;
    mreply.result_case = DPIF__REPLY__RESULT_MEMORY_SHOW;
    mreply.memory_show = &m;
    const Dpif__Reply *mreplies[] = { &mreply };
    json = check_both("memory/show", NULL, mreplies, 1,
        "GAUGE       PROCESS   VALUE\n"
        "ipc_rx_eof  handler0      3\n");
    assert_contains(json, "\"items\": [");
    free(json);
}

static void
print_metrics_verbatim(void **state)
{
    Dpif__MetricsReply m = DPIF__METRICS_REPLY__INIT;
    m.text = "# TYPE dpifd_flows gauge\ndpifd_flows{dp=\"dp0\"} 2";
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_METRICS;
    reply.metrics = &m;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("metrics", NULL, replies, 1,
        "# TYPE dpifd_flows gauge\ndpifd_flows{dp=\"dp0\"} 2\n");
    assert_contains(json, "dpifd_flows{dp=\\\"dp0\\\"} 2");
    free(json);
}

/* ----- capture ---------------------------------------------------------------- */

static void
print_capture_hex_lines_oldest_first(void **state)
{
    Dpif__CapturedFrame f0 = DPIF__CAPTURED_FRAME__INIT;
    Dpif__CapturedFrame f1 = DPIF__CAPTURED_FRAME__INIT;
    f0.port_no = 2;
    f0.frame.data = (uint8_t *) "\xff\xff\xff\xff\xff\xff\x00\x01";
    f0.frame.len = 8;
    f0.has_time_msec = true;
    f0.time_msec = NOW_MSEC - 250;
    f1.port_no = 2;
    f1.frame.data = (uint8_t *) "\x00\x02";
    f1.frame.len = 2;
    Dpif__CapturedFrame *frames[] = { &f0, &f1 };
    Dpif__CaptureReply c = DPIF__CAPTURE_REPLY__INIT;
    c.n_frames = 2;
    c.frames = frames;
    Dpif__Reply reply = DPIF__REPLY__INIT;
    reply.result_case = DPIF__REPLY__RESULT_CAPTURE;
    reply.capture = &c;
    const Dpif__Reply *replies[] = { &reply };

    char *json = check_both("capture", NULL, replies, 1,
                            "ffffffffffff0001\n0002\n");
    assert_string_equal(json,
        "{\n"
        "  \"frames\": [\n"
        "    {\n"
        "      \"port_no\": 2,\n"
        "      \"frame\": \"ffffffffffff0001\",\n"
        "      \"time_msec\": 99750\n"
        "    },\n"
        "    {\n"
        "      \"port_no\": 2,\n"
        "      \"frame\": \"0002\",\n"
        "      \"time_msec\": null\n"
        "    }\n"
        "  ],\n"
        "  \"more\": false\n"
        "}\n");
    free(json);
}

static void
print_every_read_command_has_text_and_json(void **state)
{
    size_t n_sections;
    const struct command_section *s = command_sections(&n_sections);

    for (size_t i = 0; i < n_sections; i++) {
        for (size_t j = 0; j < *s[i].n_commands; j++) {
            const struct command *cmd = &s[i].commands[j];
            if (cmd->read_only && strcmp(cmd->name, "revalidator/wait")) {
                assert_non_null(cmd->print_text);
                assert_non_null(cmd->print_json);
            }
            assert_non_null(cmd->build);
            assert_non_null(cmd->help);
            assert_non_null(cmd->summary);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(print_show_aligns_ports_and_marks_missing_stats),
        cmocka_unit_test(print_dump_dps_lists_type_at_name),
        cmocka_unit_test(print_dump_flows_in_ovs_dpctl_format_across_pages),
        cmocka_unit_test(print_get_flow_like_dump_flows),
        cmocka_unit_test(print_upcall_show_like_ovs_appctl),
        cmocka_unit_test(print_rules_show_verbatim_and_json_lines),
        cmocka_unit_test(print_fdb_show_table_and_overflow),
        cmocka_unit_test(print_procs_table),
        cmocka_unit_test(print_counters_with_and_without_processes),
        cmocka_unit_test(print_metrics_verbatim),
        cmocka_unit_test(print_capture_hex_lines_oldest_first),
        cmocka_unit_test(print_every_read_command_has_text_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
