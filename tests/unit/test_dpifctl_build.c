/* test_dpifctl_build.c — dpifctl's request building: command lines become
 * exactly the Request (proto/control.proto) that a hand-built one packs
 * to, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/dpifctl.h"
#include "common/buf.h"
#include "common/odp-format.h"
#include "common/ufid.h"

/* Parses and builds 'line' (blank-separated words) into a packed Request
 * in '*packed' (malloc'ed, length in '*len'). */
static void
build(const char *line, uint8_t **packed, size_t *len)
{
    char *copy = strdup(line);
    char *argv[64];
    int argc = 0;
    struct dpifctl_invocation inv;
    Dpif__Request req = DPIF__REQUEST__INIT;

    argv[argc++] = "dpifctl";
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
        argv[argc++] = w;
    }
    argv[argc] = NULL;
    if (dpifctl_parse(argc, argv, &inv)) {
        fail_msg("%s: %s", line, ds_cstr(&inv.ctx.error));
    }
    if (inv.ctx.cmd->build(&inv.ctx, &req)) {
        fail_msg("%s: %s", line, ds_cstr(&inv.ctx.error));
    }
    *len = protobuf_c_message_get_packed_size(&req.base);
    *packed = malloc(*len + 1);
    protobuf_c_message_pack(&req.base, *packed);
    dpifctl_invocation_destroy(&inv);
    free(copy);
}

static void
assert_builds(const char *line, const Dpif__Request *expected)
{
    uint8_t *got;
    size_t got_len;
    size_t len = protobuf_c_message_get_packed_size(&expected->base);
    uint8_t *want = malloc(len + 1);

    protobuf_c_message_pack(&expected->base, want);
    build(line, &got, &got_len);
    if (got_len != len || memcmp(got, want, len)) {
        fail_msg("%s: request differs (%zu bytes, want %zu)", line, got_len,
                 len);
    }
    free(got);
    free(want);
}

static void
build_add_flow_carries_key_mask_actions_and_ufid(void **state)
{
    const char *flow = "in_port(1),eth_type(0x0800),"
                       "ipv4(dst=10.0.0.0/255.0.0.0,frag=no)";
    struct buf key, mask, actions;
    union ufid u = { .u32 = { 0x12345678, 0x9abcdef0, 0x0fedcba9,
                              0x87654321 } };

    buf_init(&key, 0);
    buf_init(&mask, 0);
    buf_init(&actions, 0);
    assert_int_equal(odp_parse_key(flow, &key, &mask, NULL), 0);
    assert_int_equal(odp_parse_actions("set(ipv4(ttl=63)),2", &actions,
                                       NULL), 0);
    assert_true(mask.size > 0);

    Dpif__AddFlowRequest af = DPIF__ADD_FLOW_REQUEST__INIT;
    af.dp = "dp0";
    af.key.data = key.data;
    af.key.len = key.size;
    af.has_mask = true;
    af.mask.data = mask.data;
    af.mask.len = mask.size;
    af.actions.data = actions.data;
    af.actions.len = actions.size;
    Dpif__Request req = DPIF__REQUEST__INIT;
    req.command_case = DPIF__REQUEST__COMMAND_ADD_FLOW;
    req.add_flow = &af;
    assert_builds("add-flow netdev@dp0 in_port(1),eth_type(0x0800),"
                  "ipv4(dst=10.0.0.0/255.0.0.0,frag=no) set(ipv4(ttl=63)),2",
                  &req);

    af.has_ufid = true;
    af.ufid.data = (uint8_t *) &u;
    af.ufid.len = sizeof u;
    assert_builds("add-flow dp0 ufid:12345678-9abc-def0-0fed-cba987654321,"
                  "in_port(1),eth_type(0x0800),"
                  "ipv4(dst=10.0.0.0/255.0.0.0,frag=no) set(ipv4(ttl=63)),2",
                  &req);

    /* mod-flow: the same, plus its flags. */
    Dpif__ModFlowRequest mf = DPIF__MOD_FLOW_REQUEST__INIT;
    mf.dp = "dp0";
    mf.key = af.key;
    mf.has_mask = true;
    mf.mask = af.mask;
    mf.actions = af.actions;
    mf.has_may_create = mf.may_create = true;
    mf.has_zero_stats = mf.zero_stats = true;
    req.command_case = DPIF__REQUEST__COMMAND_MOD_FLOW;
    req.mod_flow = &mf;
    assert_builds("mod-flow --clear dp0 in_port(1),eth_type(0x0800),"
                  "ipv4(dst=10.0.0.0/255.0.0.0,frag=no) set(ipv4(ttl=63)),2 "
                  "--may-create", &req);

    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&actions);
}

static void
build_get_and_del_flow_by_ufid_or_key(void **state)
{
    union ufid u = { .u32 = { 1, 2, 3, 4 } };
    struct buf key;

    buf_init(&key, 0);
    assert_int_equal(odp_parse_key("in_port(3),eth_type(0x0806)", &key,
                                   NULL, NULL), 0);

    Dpif__GetFlowRequest gf = DPIF__GET_FLOW_REQUEST__INIT;
    gf.dp = "dp0";
    gf.id_case = DPIF__GET_FLOW_REQUEST__ID_UFID;
    gf.ufid.data = (uint8_t *) &u;
    gf.ufid.len = sizeof u;
    Dpif__Request req = DPIF__REQUEST__INIT;
    req.command_case = DPIF__REQUEST__COMMAND_GET_FLOW;
    req.get_flow = &gf;
    assert_builds("get-flow dp0 ufid:00000001-0000-0002-0000-000300000004",
                  &req);

    Dpif__DelFlowRequest df = DPIF__DEL_FLOW_REQUEST__INIT;
    df.dp = "dp0";
    df.id_case = DPIF__DEL_FLOW_REQUEST__ID_KEY;
    df.key.data = key.data;
    df.key.len = key.size;
    req.command_case = DPIF__REQUEST__COMMAND_DEL_FLOW;
    req.del_flow = &df;
    assert_builds("del-flow dp0 in_port(3),eth_type(0x0806)", &req);
    buf_uninit(&key);
}

static void
build_dump_flows_filter_without_dp_is_a_filter(void **state)
{
    struct buf key, mask;

    buf_init(&key, 0);
    buf_init(&mask, 0);
    assert_int_equal(odp_parse_key("eth_type(0x0806)", &key, &mask, NULL),
                     0);
    Dpif__DumpFlowsRequest d = DPIF__DUMP_FLOWS_REQUEST__INIT;
    d.dp = "br0";
    d.has_filter_key = d.has_filter_mask = true;
    d.filter_key.data = key.data;
    d.filter_key.len = key.size;
    d.filter_mask.data = mask.data;
    d.filter_mask.len = mask.size;
    Dpif__Request req = DPIF__REQUEST__INIT;
    req.command_case = DPIF__REQUEST__COMMAND_DUMP_FLOWS;
    req.dump_flows = &d;
    assert_builds("dump-flows br0 eth_type(0x0806)", &req);

    d.has_filter_key = d.has_filter_mask = false;
    assert_builds("dump-flows --more netdev@br0", &req);
    buf_uninit(&key);
    buf_uninit(&mask);
}

static void
build_add_if_splits_type_port_no_and_options(void **state)
{
    Dpif__PortOption o = DPIF__PORT_OPTION__INIT;
    o.key = "peer";
    o.value = "p2";
    Dpif__PortOption *opts[] = { &o };
    Dpif__AddIfRequest ai = DPIF__ADD_IF_REQUEST__INIT;
    ai.dp = "dp0";
    ai.name = "p1";
    ai.type = "internal";
    ai.has_port_no = true;
    ai.port_no = 7;
    ai.n_options = 1;
    ai.options = opts;
    Dpif__Request req = DPIF__REQUEST__INIT;
    req.command_case = DPIF__REQUEST__COMMAND_ADD_IF;
    req.add_if = &ai;
    assert_builds("add-if dp0 p1,peer=p2,port_no=7,type=internal", &req);

    Dpif__DelIfRequest di = DPIF__DEL_IF_REQUEST__INIT;
    di.dp = "dp0";
    di.port_case = DPIF__DEL_IF_REQUEST__PORT_PORT_NO;
    di.port_no = 3;
    req.command_case = DPIF__REQUEST__COMMAND_DEL_IF;
    req.del_if = &di;
    assert_builds("del-if dp0 3", &req);
    di.port_case = DPIF__DEL_IF_REQUEST__PORT_NAME;
    di.name = "eth1";
    assert_builds("del-if dp0 eth1", &req);
}

static void
build_small_commands(void **state)
{
    Dpif__Request req = DPIF__REQUEST__INIT;

    Dpif__AddDpRequest ad = DPIF__ADD_DP_REQUEST__INIT;
    ad.name = "dp0";
    ad.type = "netdev";
    req.command_case = DPIF__REQUEST__COMMAND_ADD_DP;
    req.add_dp = &ad;
    assert_builds("add-dp dp0", &req);
    ad.type = "dummy";
    assert_builds("add-dp dummy@dp0", &req);
    assert_builds("add-dp -t dummy dp0", &req);

    Dpif__SetFlowLimitRequest sl = DPIF__SET_FLOW_LIMIT_REQUEST__INIT;
    sl.flow_limit = 200000;
    req.command_case = DPIF__REQUEST__COMMAND_SET_FLOW_LIMIT;
    req.set_flow_limit = &sl;
    assert_builds("upcall/set-flow-limit 200000", &req);

    Dpif__RulesDelRequest rd = DPIF__RULES_DEL_REQUEST__INIT;
    rd.dp = "dp0";
    rd.match = "priority=100,ip,nw_dst=10.0.0.1";
    rd.has_strict = rd.strict = true;
    req.command_case = DPIF__REQUEST__COMMAND_RULES_DEL;
    req.rules_del = &rd;
    assert_builds("rules/del --priority 100 dp0 ip,nw_dst=10.0.0.1", &req);

    Dpif__RulesAddRequest ra = DPIF__RULES_ADD_REQUEST__INIT;
    ra.dp = "dp0";
    ra.text = "priority=1,actions=normal\npriority=2,arp,actions=flood\n";
    req.command_case = DPIF__REQUEST__COMMAND_RULES_ADD;
    req.rules_add = &ra;
    assert_builds("rules/add dp0 priority=1,actions=normal "
                  "priority=2,arp,actions=flood", &req);

    Dpif__LogSetRequest ls = DPIF__LOG_SET_REQUEST__INIT;
    ls.module = "ipc";
    ls.level = "dbg";
    ls.process = "handler3";
    req.command_case = DPIF__REQUEST__COMMAND_LOG_SET;
    req.log_set = &ls;
    assert_builds("log/set --process handler3 ipc debug", &req);

    Dpif__CountersRequest c = DPIF__COUNTERS_REQUEST__INIT;
    c.has_per_process = c.per_process = true;
    req.command_case = DPIF__REQUEST__COMMAND_COUNTERS;
    req.counters = &c;
    assert_builds("counters --per-process", &req);

    Dpif__CaptureRequest cap = DPIF__CAPTURE_REQUEST__INIT;
    cap.dp = "dp0";
    cap.has_port_no = true;
    cap.port_no = 2;
    cap.has_clear = cap.clear = true;
    req.command_case = DPIF__REQUEST__COMMAND_CAPTURE;
    req.capture = &cap;
    assert_builds("capture dp0 2 --clear", &req);
}

static void
build_inject_hex_and_flow_frames(void **state)
{
    uint8_t frame[14] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0x08, 0x06,
    };
    ProtobufCBinaryData frames[2] = {
        { sizeof frame, frame }, { sizeof frame, frame },
    };
    Dpif__InjectRequest in = DPIF__INJECT_REQUEST__INIT;
    in.dp = "dp0";
    in.port_no = 4;
    in.n_frames = 2;
    in.frames = frames;
    Dpif__Request req = DPIF__REQUEST__INIT;
    req.command_case = DPIF__REQUEST__COMMAND_INJECT;
    req.inject = &in;
    assert_builds("inject dp0 4 ffffffffffff0000000000010806 "
                  "0xffffffffffff0000000000010806", &req);

    /* --flow: a frame that parses back to the flow; here simply an
     * Ethernet header with the given addresses and ethertype. */
    in.n_frames = 1;
    frame[11] = 2;
    memcpy(frame, "\x00\x00\x00\x00\x00\x03", 6);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    assert_builds("inject dp0 4 --flow eth(src=00:00:00:00:00:02,"
                  "dst=00:00:00:00:00:03),eth_type(0x88b5)", &req);
}

static void
build_inject_batches_large_frame_lists(void **state)
{
    struct dpifctl_invocation inv;
    char *argv[80];
    int argc = 0;
    Dpif__Request req = DPIF__REQUEST__INIT;

    argv[argc++] = "dpifctl";
    argv[argc++] = "inject";
    argv[argc++] = "dp0";
    argv[argc++] = "1";
    for (int i = 0; i < 70; i++) {
        argv[argc++] = "ffffffffffff0000000000010806";
    }
    assert_int_equal(dpifctl_parse(argc, argv, &inv), 0);
    assert_int_equal(inv.ctx.cmd->build(&inv.ctx, &req), 0);
    assert_int_equal(req.inject->n_frames, 64);
    assert_true(inv.ctx.cmd->next(&inv.ctx, NULL, &req));
    assert_int_equal(req.inject->n_frames, 6);
    assert_false(inv.ctx.cmd->next(&inv.ctx, NULL, &req));
    dpifctl_invocation_destroy(&inv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_add_flow_carries_key_mask_actions_and_ufid),
        cmocka_unit_test(build_get_and_del_flow_by_ufid_or_key),
        cmocka_unit_test(build_dump_flows_filter_without_dp_is_a_filter),
        cmocka_unit_test(build_add_if_splits_type_port_no_and_options),
        cmocka_unit_test(build_small_commands),
        cmocka_unit_test(build_inject_hex_and_flow_frames),
        cmocka_unit_test(build_inject_batches_large_frame_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
