/* seedgen — writes the seed corpora of the harnesses whose inputs are
 * binary messages of the project's own formats, with the project's own
 * encoders (protobuf-c, common/ipc.h frames, the odp builders, libmnl):
 *
 *     fuzz-seedgen worker_ops DIR        control byte + worker frames
 *     fuzz-seedgen control_request DIR   control socket request frames
 *     fuzz-seedgen kernel_reply DIR      kernel replies, dumps, notifications
 *
 * The files in tests/fuzz/corpus/<harness>/ came from here; run it again
 * after a change of the formats.  Not a test. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/openvswitch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/ipc.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/ufid.h"
#include "privd/dpif.h"
#include "proto/control.pb-c.h"
#include "proto/worker.pb-c.h"

static const char *out_dir;

static void
die(const char *what)
{
    fprintf(stderr, "seedgen: %s\n", what);
    exit(1);
}

static void
write_seed(const char *name, const void *prefix, size_t prefix_len,
           const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(prefix, 1, prefix_len, f) != prefix_len
        || fwrite(data, 1, len, f) != len || fclose(f)) {
        die(path);
    }
}

static void
make_flow(struct flow *f, uint32_t in_port, uint8_t proto, uint32_t host)
{
    memset(f, 0, sizeof *f);
    f->in_port = in_port;
    f->dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
    f->dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
    f->dl_type = htons(0x0800);
    f->nw_src = htonl(0x0a000000 | host);
    f->nw_dst = htonl(0x0a0000fe);
    f->nw_proto = proto;
    f->nw_ttl = 64;
    if (proto == 6 || proto == 17) {
        f->tp_src = htons(1000 + (uint16_t) host);
        f->tp_dst = htons(80);
    }
}

static void
put_key(struct buf *b, const struct flow *f)
{
    buf_init(b, 0);
    if (odp_key_from_flow(b, f, NULL)) {
        die("key");
    }
}

static void
put_mask(struct buf *b, const struct flow *f)
{
    struct flow m;
    odp_mask_exact(f, &m);
    memset(&m.tp_src, 0, sizeof m.tp_src);
    buf_init(b, 0);
    if (odp_mask_from_flow(b, &m, f, NULL)) {
        die("mask");
    }
}

static ProtobufCBinaryData
bin(const struct buf *b)
{
    return (ProtobufCBinaryData) { b->size, b->data };
}

static void
write_frame(const char *name, uint8_t control, bool with_control,
            enum ipc_type type, uint32_t seq, const ProtobufCMessage *msg)
{
    struct errbuf eb;
    struct buf frame;

    buf_init(&frame, 0);
    if (ipc_frame_pack(type, seq, msg, &frame, &eb)) {
        die(eb.msg);
    }
    write_seed(name, &control, with_control, frame.data, frame.size);
    buf_uninit(&frame);
}

/* ----- worker_ops ---------------------------------------------------- */

/* The fixture of fuzz_worker_ops.c, for the handler pids. */
static struct dpif *
worker_ops_dpif(void)
{
    struct dpif *dpif;
    uint32_t port_no;

    if (dpif_create_and_open("fzops0", "dummy", &dpif)) {
        die("dummy datapath");
    }
    port_no = UINT32_MAX;
    dpif_port_add(dpif, "fzops1", "dummy", &port_no);
    port_no = UINT32_MAX;
    dpif_port_add(dpif, "fzops2", "dummy", &port_no);
    dpif_recv_set(dpif, true);
    dpif_handlers_set(dpif, 2);
    return dpif;
}

struct op_store {
    struct buf key, mask, actions, packet;
    union ufid ufid;
    Dpif__FlowPut put;
    Dpif__FlowDel del;
    Dpif__Execute exec;
    Dpif__FlowGet get;
    Dpif__Op op;
};

static Dpif__Op *
op_put(struct op_store *s, const struct flow *f, bool create, bool mask,
       const struct buf *actions)
{
    put_key(&s->key, f);
    if (mask) {
        put_mask(&s->mask, f);
    } else {
        buf_init(&s->mask, 0);
    }
    buf_init(&s->actions, 0);
    buf_put(&s->actions, actions->data, actions->size);
    ufid_from_key(s->key.data, s->key.size, mask ? s->mask.data : NULL,
                  mask ? s->mask.size : 0, &s->ufid);
    dpif__flow_put__init(&s->put);
    s->put.key = bin(&s->key);
    s->put.has_mask = mask;
    s->put.mask = bin(&s->mask);
    s->put.actions = bin(&s->actions);
    s->put.ufid = (ProtobufCBinaryData) { sizeof s->ufid, (uint8_t *) &s->ufid };
    s->put.has_create = s->put.create = create;
    s->put.has_modify = s->put.modify = !create;
    s->put.has_want_stats = s->put.want_stats = !create;
    dpif__op__init(&s->op);
    s->op.op_case = DPIF__OP__OP_FLOW_PUT;
    s->op.flow_put = &s->put;
    return &s->op;
}

static Dpif__Op *
op_execute(struct op_store *s, const struct flow *f, const struct buf *actions)
{
    struct errbuf eb;

    put_key(&s->key, f);
    buf_init(&s->packet, 0);
    if (packet_compose(&s->packet, f, 18, &eb)) {
        die(eb.msg);
    }
    buf_init(&s->actions, 0);
    buf_put(&s->actions, actions->data, actions->size);
    dpif__execute__init(&s->exec);
    s->exec.key = bin(&s->key);
    s->exec.packet = bin(&s->packet);
    s->exec.actions = bin(&s->actions);
    dpif__op__init(&s->op);
    s->op.op_case = DPIF__OP__OP_EXECUTE;
    s->op.execute = &s->exec;
    return &s->op;
}

static Dpif__Op *
op_get(struct op_store *s, const struct flow *f, bool by_ufid)
{
    put_key(&s->key, f);
    ufid_from_key(s->key.data, s->key.size, NULL, 0, &s->ufid);
    dpif__flow_get__init(&s->get);
    if (by_ufid) {
        s->get.id_case = DPIF__FLOW_GET__ID_UFID;
        s->get.ufid = (ProtobufCBinaryData) { sizeof s->ufid,
                                              (uint8_t *) &s->ufid };
    } else {
        s->get.id_case = DPIF__FLOW_GET__ID_KEY;
        s->get.key = bin(&s->key);
    }
    dpif__op__init(&s->op);
    s->op.op_case = DPIF__OP__OP_FLOW_GET;
    s->op.flow_get = &s->get;
    return &s->op;
}

static Dpif__Op *
op_del(struct op_store *s, const struct flow *f)
{
    put_key(&s->key, f);
    ufid_from_key(s->key.data, s->key.size, NULL, 0, &s->ufid);
    dpif__flow_del__init(&s->del);
    s->del.id_case = DPIF__FLOW_DEL__ID_UFID;
    s->del.ufid = (ProtobufCBinaryData) { sizeof s->ufid, (uint8_t *) &s->ufid };
    s->del.has_want_stats = s->del.want_stats = true;
    dpif__op__init(&s->op);
    s->op.op_case = DPIF__OP__OP_FLOW_DEL;
    s->op.flow_del = &s->del;
    return &s->op;
}

static void
write_batch(const char *name, uint8_t control, Dpif__Op **ops, size_t n)
{
    Dpif__OpBatch batch;
    dpif__op_batch__init(&batch);
    batch.batch_id = 7;
    batch.ops = ops;
    batch.n_ops = n;
    write_frame(name, control, true, IPC_OP_BATCH, 3, &batch.base);
}

static void
gen_worker_ops(void)
{
    struct dpif *dpif = worker_ops_dpif();
    uint32_t pid = dpif_port_get_pid(dpif, 1);
    struct op_store s[8];
    Dpif__Op *ops[8];
    struct buf out, rich, up;
    struct flow f[8];

    buf_init(&out, 0);
    odp_put_output(&out, 2);

    buf_init(&up, 0);
    odp_put_output(&up, 2);
    uint64_t cookie = 0x0102030405060708ULL;
    odp_put_userspace(&up, pid, &cookie, sizeof cookie, ODP_PORT_NONE, false);

    buf_init(&rich, 0);
    size_t clone = odp_put_clone_start(&rich);
    struct ovs_key_ipv4 ip = { .ipv4_src = htonl(0x0a000063),
                               .ipv4_dst = htonl(0x0a0000fe),
                               .ipv4_proto = 17, .ipv4_ttl = 63 };
    odp_put_set(&rich, OVS_KEY_ATTR_IPV4, &ip, sizeof ip);
    odp_put_output(&rich, 1);
    odp_put_clone_end(&rich, clone);
    size_t sample = odp_put_sample_start(&rich, UINT32_MAX / 2);
    odp_put_userspace(&rich, pid, &cookie, sizeof cookie, ODP_PORT_NONE,
                      true);
    odp_put_sample_end(&rich, sample);
    odp_put_push_vlan(&rich, htons(0x8100), htons(0x1000 | 10));
    odp_put_output(&rich, 2);
    odp_put_pop_vlan(&rich);
    odp_put_trunc(&rich, 64);
    odp_put_output(&rich, 1);

    for (int i = 0; i < 8; i++) {
        make_flow(&f[i], 1 + (i & 1), i % 3 == 0 ? 6 : 17, (uint32_t) i + 1);
    }

    ops[0] = op_put(&s[0], &f[0], true, false, &out);
    write_batch("h_put_create", 0x00, ops, 1);
    ops[0] = op_put(&s[0], &f[1], true, true, &rich);
    write_batch("h_put_mask_rich", 0x00, ops, 1);
    ops[0] = op_execute(&s[0], &f[2], &up);
    write_batch("h_execute_userspace", 0x00, ops, 1);
    ops[0] = op_get(&s[0], &f[0], true);
    ops[1] = op_get(&s[1], &f[1], false);
    write_batch("h_get", 0x00, ops, 2);
    ops[0] = op_put(&s[0], &f[0], true, false, &out);
    ops[1] = op_execute(&s[1], &f[0], &rich);
    ops[2] = op_get(&s[2], &f[0], true);
    ops[3] = op_put(&s[3], &f[3], true, true, &up);
    write_batch("h_mixed", 0x00, ops, 4);
    for (int i = 0; i < 3; i++) {
        ops[i] = op_put(&s[i], &f[i], true, false, &out);
    }
    write_batch("h_flow_limit", 0x08, ops, 3);
    ops[0] = op_put(&s[0], &f[4], true, false, &out);
    write_batch("h_ring", 0x04, ops, 1);
    for (int i = 0; i < 5; i++) {
        ops[i] = op_put(&s[i], &f[i], true, false, &out);
    }
    write_batch("h_batch_over_4", 0x10, ops, 5);

    /* Revalidators: each op of the shard it belongs to. */
    for (int i = 0; i < 2; i++) {
        char name[32];
        op_put(&s[0], &f[i], false, true, &out);
        uint8_t control = (uint8_t) (1 | ufid_shard(&s[0].ufid, 2) << 1);
        ops[0] = &s[0].op;
        snprintf(name, sizeof name, "r_modify_%d", i);
        write_batch(name, control, ops, 1);

        op_del(&s[0], &f[i]);
        control = (uint8_t) (1 | ufid_shard(&s[0].ufid, 2) << 1);
        ops[0] = &s[0].op;
        ops[1] = op_get(&s[1], &f[i], true);
        snprintf(name, sizeof name, "r_del_get_%d", i);
        write_batch(name, control, ops, 2);
    }
    ops[0] = op_execute(&s[0], &f[0], &out);
    write_batch("r_execute_refused", 0x01, ops, 1);

    /* Other messages a worker sends. */
    Dpif__CounterReport report;
    Dpif__NamedValue cv, *cvs[1] = { &cv };
    dpif__counter_report__init(&report);
    dpif__named_value__init(&cv);
    cv.name = "handler_upcalls";
    cv.value = 12;
    report.counters = cvs;
    report.n_counters = 1;
    write_frame("counter_report", 0x00, true, IPC_COUNTER_REPORT, 4,
                &report.base);
    dpif_delete(dpif);
    dpif_close(dpif);
}

/* ----- control_request ------------------------------------------------ */

static void
write_request(const char *name, Dpif__Request *rq)
{
    static uint32_t seq = 1;
    write_frame(name, 0, false, IPC_CONTROL_REQUEST, seq++, &rq->base);
}

static void
gen_control_request(void)
{
    Dpif__Request rq;
    struct buf key, mask, actions, frame;
    struct errbuf eb;
    struct flow f;
    union ufid ufid;

    make_flow(&f, 1, 17, 5);
    put_key(&key, &f);
    put_mask(&mask, &f);
    buf_init(&actions, 0);
    odp_put_output(&actions, 2);
    ufid_from_key(key.data, key.size, NULL, 0, &ufid);
    ProtobufCBinaryData ufid_bin = { sizeof ufid, (uint8_t *) &ufid };
    buf_init(&frame, 0);
    if (packet_compose(&frame, &f, 10, &eb)) {
        die(eb.msg);
    }

#define REQUEST(NAME, MEMBER, CASE, TYPE, INIT, ...)                      \
    do {                                                                  \
        TYPE m_;                                                          \
        INIT(&m_);                                                        \
        __VA_ARGS__;                                                      \
        dpif__request__init(&rq);                                         \
        rq.command_case = DPIF__REQUEST__COMMAND_##CASE;                  \
        rq.MEMBER = &m_;                                                  \
        write_request(NAME, &rq);                                         \
    } while (0)

    REQUEST("show", show, SHOW, Dpif__ShowRequest, dpif__show_request__init);
    REQUEST("show_dp", show, SHOW, Dpif__ShowRequest,
            dpif__show_request__init, m_.dp = "fzc0");
    REQUEST("dump_dps", dump_dps, DUMP_DPS, Dpif__DumpDpsRequest,
            dpif__dump_dps_request__init);
    REQUEST("add_dp", add_dp, ADD_DP, Dpif__AddDpRequest,
            dpif__add_dp_request__init, m_.name = "fzx"; m_.type = "dummy");
    REQUEST("del_dp", del_dp, DEL_DP, Dpif__DelDpRequest,
            dpif__del_dp_request__init, m_.name = "fzc0");
    REQUEST("add_if", add_if, ADD_IF, Dpif__AddIfRequest,
            dpif__add_if_request__init, m_.dp = "fzc0"; m_.name = "fzc3";
            m_.type = "dummy"; m_.has_port_no = true; m_.port_no = 7);
    REQUEST("del_if_name", del_if, DEL_IF, Dpif__DelIfRequest,
            dpif__del_if_request__init, m_.dp = "fzc0";
            m_.port_case = DPIF__DEL_IF_REQUEST__PORT_NAME; m_.name = "fzc2");
    REQUEST("del_if_no", del_if, DEL_IF, Dpif__DelIfRequest,
            dpif__del_if_request__init, m_.dp = "fzc0";
            m_.port_case = DPIF__DEL_IF_REQUEST__PORT_PORT_NO; m_.port_no = 1);
    REQUEST("dump_flows", dump_flows, DUMP_FLOWS, Dpif__DumpFlowsRequest,
            dpif__dump_flows_request__init, m_.dp = "fzc0";
            m_.has_max_flows = true; m_.max_flows = 10);
    REQUEST("dump_flows_filter", dump_flows, DUMP_FLOWS,
            Dpif__DumpFlowsRequest, dpif__dump_flows_request__init,
            m_.dp = "fzc0"; m_.has_filter_key = true;
            m_.filter_key = bin(&key); m_.has_filter_mask = true;
            m_.filter_mask = bin(&mask));
    REQUEST("add_flow", add_flow, ADD_FLOW, Dpif__AddFlowRequest,
            dpif__add_flow_request__init, m_.dp = "fzc0";
            m_.key = bin(&key); m_.actions = bin(&actions));
    REQUEST("add_flow_mask_ufid", add_flow, ADD_FLOW, Dpif__AddFlowRequest,
            dpif__add_flow_request__init, m_.dp = "fzc0";
            m_.key = bin(&key); m_.has_mask = true; m_.mask = bin(&mask);
            m_.actions = bin(&actions); m_.has_ufid = true;
            m_.ufid = ufid_bin);
    REQUEST("mod_flow", mod_flow, MOD_FLOW, Dpif__ModFlowRequest,
            dpif__mod_flow_request__init, m_.dp = "fzc0";
            m_.key = bin(&key); m_.actions = bin(&actions);
            m_.has_may_create = m_.may_create = true;
            m_.has_zero_stats = m_.zero_stats = true);
    REQUEST("get_flow_key", get_flow, GET_FLOW, Dpif__GetFlowRequest,
            dpif__get_flow_request__init, m_.dp = "fzc0";
            m_.id_case = DPIF__GET_FLOW_REQUEST__ID_KEY; m_.key = bin(&key));
    REQUEST("get_flow_ufid", get_flow, GET_FLOW, Dpif__GetFlowRequest,
            dpif__get_flow_request__init, m_.dp = "fzc0";
            m_.id_case = DPIF__GET_FLOW_REQUEST__ID_UFID; m_.ufid = ufid_bin);
    REQUEST("del_flow", del_flow, DEL_FLOW, Dpif__DelFlowRequest,
            dpif__del_flow_request__init, m_.dp = "fzc0";
            m_.id_case = DPIF__DEL_FLOW_REQUEST__ID_UFID; m_.ufid = ufid_bin);
    REQUEST("del_flows", del_flows, DEL_FLOWS, Dpif__DelFlowsRequest,
            dpif__del_flows_request__init, m_.dp = "fzc0");
    REQUEST("upcall_show", upcall_show, UPCALL_SHOW, Dpif__UpcallShowRequest,
            dpif__upcall_show_request__init);
    REQUEST("set_flow_limit", set_flow_limit, SET_FLOW_LIMIT,
            Dpif__SetFlowLimitRequest, dpif__set_flow_limit_request__init,
            m_.flow_limit = 5000);
    REQUEST("enable_megaflows", enable_megaflows, ENABLE_MEGAFLOWS,
            Dpif__EnableMegaflowsRequest,
            dpif__enable_megaflows_request__init);
    REQUEST("revalidator_purge", revalidator_purge, REVALIDATOR_PURGE,
            Dpif__RevalidatorPurgeRequest,
            dpif__revalidator_purge_request__init);
    REQUEST("rules_show", rules_show, RULES_SHOW, Dpif__RulesShowRequest,
            dpif__rules_show_request__init, m_.dp = "fzc0");
    REQUEST("rules_replace", rules_replace, RULES_REPLACE,
            Dpif__RulesReplaceRequest, dpif__rules_replace_request__init,
            m_.dp = "fzc0";
            m_.text = "priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2\n"
                      "actions=normal\n");
    REQUEST("rules_del", rules_del, RULES_DEL, Dpif__RulesDelRequest,
            dpif__rules_del_request__init, m_.dp = "fzc0"; m_.match = "ip";
            m_.has_strict = m_.strict = true);
    REQUEST("fdb_show", fdb_show, FDB_SHOW, Dpif__FdbShowRequest,
            dpif__fdb_show_request__init, m_.dp = "fzc0");
    REQUEST("procs", procs, PROCS, Dpif__ProcsRequest,
            dpif__procs_request__init);
    REQUEST("counters", counters, COUNTERS, Dpif__CountersRequest,
            dpif__counters_request__init,
            m_.has_per_process = m_.per_process = true);
    REQUEST("memory_show", memory_show, MEMORY_SHOW, Dpif__MemoryShowRequest,
            dpif__memory_show_request__init);
    REQUEST("log_set", log_set, LOG_SET, Dpif__LogSetRequest,
            dpif__log_set_request__init, m_.module = "dpif_netdev";
            m_.level = "off");
    REQUEST("metrics", metrics, METRICS, Dpif__MetricsRequest,
            dpif__metrics_request__init);
    ProtobufCBinaryData frames[2] = { bin(&frame), bin(&frame) };
    REQUEST("inject", inject, INJECT, Dpif__InjectRequest,
            dpif__inject_request__init, m_.dp = "fzc0"; m_.port_no = 1;
            m_.frames = frames; m_.n_frames = 2);
    REQUEST("capture", capture, CAPTURE, Dpif__CaptureRequest,
            dpif__capture_request__init, m_.dp = "fzc0";
            m_.has_port_no = true; m_.port_no = 2;
            m_.has_clear = m_.clear = true);
#undef REQUEST
}

/* ----- kernel_reply --------------------------------------------------- */

/* fuzz_kernel_reply.c's family ids and dump sequence number. */
enum { FAMILY_DATAPATH = 0x1a, FAMILY_VPORT, FAMILY_FLOW };
#define DUMP_SEQ 0x1234

static struct nlmsghdr *
nl_start(struct buf *b, uint16_t type, uint8_t cmd, uint32_t seq,
         uint16_t flags)
{
    void *p = buf_put_zeros(b, 4096);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(p);
    nlh->nlmsg_type = type;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags = flags;
    struct genlmsghdr *genl = mnl_nlmsg_put_extra_header(nlh, sizeof *genl);
    genl->cmd = cmd;
    genl->version = 1;
    struct ovs_header *ovs = mnl_nlmsg_put_extra_header(nlh, sizeof *ovs);
    ovs->dp_ifindex = 5;
    return nlh;
}

/* Trims 'b' to end after 'nlh'. */
static void
nl_end(struct buf *b, const struct nlmsghdr *nlh)
{
    b->size = (size_t) ((const uint8_t *) nlh - b->data)
              + NLMSG_ALIGN(nlh->nlmsg_len);
}

static void
put_dp(struct buf *b, uint32_t seq)
{
    struct nlmsghdr *nlh = nl_start(b, FAMILY_DATAPATH, OVS_DP_CMD_NEW, seq,
                                    NLM_F_MULTI);
    struct ovs_dp_stats st = { 10, 2, 1, 3 };
    struct ovs_dp_megaflow_stats mf = { .n_mask_hit = 4, .n_masks = 2 };
    mnl_attr_put_strz(nlh, OVS_DP_ATTR_NAME, "dp0");
    mnl_attr_put(nlh, OVS_DP_ATTR_STATS, sizeof st, &st);
    mnl_attr_put(nlh, OVS_DP_ATTR_MEGAFLOW_STATS, sizeof mf, &mf);
    mnl_attr_put_u32(nlh, OVS_DP_ATTR_USER_FEATURES, OVS_DP_F_UNALIGNED);
    nl_end(b, nlh);
}

static void
put_vport(struct buf *b, uint8_t cmd, uint32_t seq, uint32_t port_no,
          const char *name)
{
    struct nlmsghdr *nlh = nl_start(b, FAMILY_VPORT, cmd, seq, NLM_F_MULTI);
    uint32_t pids[2] = { 100, 101 };
    struct ovs_vport_stats st = { .rx_packets = 3, .tx_packets = 4 };
    mnl_attr_put_u32(nlh, OVS_VPORT_ATTR_PORT_NO, port_no);
    mnl_attr_put_u32(nlh, OVS_VPORT_ATTR_TYPE, OVS_VPORT_TYPE_NETDEV);
    mnl_attr_put_strz(nlh, OVS_VPORT_ATTR_NAME, name);
    mnl_attr_put(nlh, OVS_VPORT_ATTR_UPCALL_PID, sizeof pids, pids);
    mnl_attr_put(nlh, OVS_VPORT_ATTR_STATS, sizeof st, &st);
    nl_end(b, nlh);
}

static void
put_flow(struct buf *b, uint32_t seq, uint32_t host, bool with_ufid)
{
    struct nlmsghdr *nlh = nl_start(b, FAMILY_FLOW, OVS_FLOW_CMD_NEW, seq,
                                    NLM_F_MULTI);
    struct buf key, mask, actions;
    struct flow f;

    make_flow(&f, 1, 6, host);
    put_key(&key, &f);
    put_mask(&mask, &f);
    buf_init(&actions, 0);
    odp_put_output(&actions, 2);
    struct ovs_flow_stats st = { .n_packets = 9, .n_bytes = 900 };
    mnl_attr_put(nlh, OVS_FLOW_ATTR_KEY, key.size, key.data);
    mnl_attr_put(nlh, OVS_FLOW_ATTR_MASK, mask.size, mask.data);
    mnl_attr_put(nlh, OVS_FLOW_ATTR_ACTIONS, actions.size, actions.data);
    mnl_attr_put(nlh, OVS_FLOW_ATTR_STATS, sizeof st, &st);
    mnl_attr_put_u64(nlh, OVS_FLOW_ATTR_USED, 12345);
    mnl_attr_put_u8(nlh, OVS_FLOW_ATTR_TCP_FLAGS, 0x12);
    if (with_ufid) {
        union ufid ufid;
        ufid_from_key(key.data, key.size, mask.data, mask.size, &ufid);
        mnl_attr_put(nlh, OVS_FLOW_ATTR_UFID, sizeof ufid, &ufid);
    }
    nl_end(b, nlh);
    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&actions);
}

static void
put_done(struct buf *b, uint32_t seq)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf_put_zeros(b, 64));
    nlh->nlmsg_type = NLMSG_DONE;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags = NLM_F_MULTI;
    int *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
    *e = 0;
    nl_end(b, nlh);
}

static void
put_error(struct buf *b, uint32_t seq, int error, const char *msg)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf_put_zeros(b, 256));
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags = NLM_F_CAPPED | (msg ? NLM_F_ACK_TLVS : 0);
    struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
    e->error = -error;
    e->msg.nlmsg_len = sizeof e->msg;
    e->msg.nlmsg_seq = seq;
    if (msg) {
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
    }
    nl_end(b, nlh);
}

static void
write_kernel(const char *name, uint8_t mode, uint8_t family,
             const struct buf *b)
{
    uint8_t prefix[2] = { mode, family };
    write_seed(name, prefix, 2, b->data, b->size);
}

static void
gen_kernel_reply(void)
{
    struct buf b;

    buf_init(&b, 0);
    put_dp(&b, 1);
    write_kernel("reply_dp", 0, 0, &b);
    buf_clear(&b);
    put_vport(&b, OVS_VPORT_CMD_NEW, 1, 3, "eth1");
    write_kernel("reply_vport", 0, 1, &b);
    buf_clear(&b);
    put_flow(&b, 1, 1, true);
    write_kernel("reply_flow_ufid", 0, 2, &b);
    buf_clear(&b);
    put_flow(&b, 1, 2, false);
    write_kernel("reply_flow_keyless", 0, 2, &b);

    buf_clear(&b);
    put_flow(&b, DUMP_SEQ, 1, true);
    put_flow(&b, DUMP_SEQ + 1, 2, true);    /* Stray. */
    put_flow(&b, DUMP_SEQ, 3, false);
    put_done(&b, DUMP_SEQ);
    write_kernel("dump_flows", 1, 2, &b);
    buf_clear(&b);
    put_vport(&b, OVS_VPORT_CMD_NEW, DUMP_SEQ, 0, "dp0");
    put_vport(&b, OVS_VPORT_CMD_NEW, DUMP_SEQ, 1, "eth1");
    put_done(&b, DUMP_SEQ);
    write_kernel("dump_vports", 1, 1, &b);
    buf_clear(&b);
    put_dp(&b, DUMP_SEQ);
    put_dp(&b, DUMP_SEQ);
    write_kernel("dump_dps_unfinished", 1, 0, &b);
    buf_clear(&b);
    put_flow(&b, DUMP_SEQ, 4, true);
    put_error(&b, DUMP_SEQ, ENOENT, "no such datapath");
    write_kernel("dump_error_ext_ack", 1, 2, &b);

    buf_clear(&b);
    put_vport(&b, OVS_VPORT_CMD_NEW, 0, 4, "eth2");
    put_vport(&b, OVS_VPORT_CMD_DEL, 0, 3, "eth1");
    put_vport(&b, OVS_VPORT_CMD_SET, 0, 1, "eth0");
    write_kernel("notifications", 2, 1, &b);
    buf_uninit(&b);
}

int
main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s worker_ops|control_request|kernel_reply "
                "DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[2];
    if (!strcmp(argv[1], "worker_ops")) {
        gen_worker_ops();
    } else if (!strcmp(argv[1], "control_request")) {
        gen_control_request();
    } else if (!strcmp(argv[1], "kernel_reply")) {
        gen_kernel_reply();
    } else {
        die("unknown harness");
    }
    return 0;
}
