/* Tests of the schemas (proto/flow.proto, worker.proto, control.proto)
 * through the envelope: every top-level message and every control command
 * packs and unpacks to the same bytes, and the size limits of
 * common/ipc-limits.h hold for the messages they are meant to carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "common/util.h"
#include "proto/control.pb-c.h"
#include "proto/worker.pb-c.h"

#define ACCEPT_ALL UINT64_MAX

/* ----- a generic message filler -------------------------------------------- */

static void
member_write(void *msg, unsigned int offset, const void *value, size_t size)
{
    memcpy((char *) msg + offset, value, size);
}

/* Stores one value of field 'f' at 'dst'. */
static void
fill_value(const ProtobufCFieldDescriptor *f, void *dst, unsigned int depth);

/* Allocates a message of type 'desc' with every field set: scalars,
 * strings, bytes and sub-messages, two elements in repeated fields, and in
 * each oneof the member whose id is 'pick' or else the first member.
 * Everything is malloc'ed, so protobuf_c_message_free_unpacked(msg, NULL)
 * frees it. */
static ProtobufCMessage *
fill_message(const ProtobufCMessageDescriptor *desc, uint32_t pick,
             unsigned int depth)
{
    ProtobufCMessage *msg = xzalloc(desc->sizeof_message);
    unsigned int oneofs_done[64];
    size_t n_oneofs_done = 0;

    assert_true(depth < 8);
    desc->message_init(msg);
    for (unsigned int i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            bool done = false;
            for (size_t j = 0; j < n_oneofs_done; j++) {
                done |= oneofs_done[j] == f->quantifier_offset;
            }
            bool wanted = pick ? f->id == pick : !done;
            if (done || !wanted) {
                continue;
            }
            oneofs_done[n_oneofs_done++] = f->quantifier_offset;
            uint32_t which = f->id;
            member_write(msg, f->quantifier_offset, &which, sizeof which);
            fill_value(f, (char *) msg + f->offset, depth);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = 2;
            size_t elem = (f->type == PROTOBUF_C_TYPE_MESSAGE
                           || f->type == PROTOBUF_C_TYPE_STRING
                           ? sizeof(void *)
                           : f->type == PROTOBUF_C_TYPE_BYTES
                           ? sizeof(ProtobufCBinaryData)
                           : f->type == PROTOBUF_C_TYPE_UINT64
                             || f->type == PROTOBUF_C_TYPE_INT64
                             || f->type == PROTOBUF_C_TYPE_FIXED64
                           ? 8 : 4);
            char *array = xzalloc(n * elem);
            for (size_t j = 0; j < n; j++) {
                fill_value(f, array + j * elem, depth);
            }
            member_write(msg, f->quantifier_offset, &n, sizeof n);
            member_write(msg, f->offset, &array, sizeof array);
        } else {
            if (f->label == PROTOBUF_C_LABEL_OPTIONAL
                && f->type != PROTOBUF_C_TYPE_MESSAGE
                && f->type != PROTOBUF_C_TYPE_STRING) {
                protobuf_c_boolean has = 1;
                member_write(msg, f->quantifier_offset, &has, sizeof has);
            }
            fill_value(f, (char *) msg + f->offset, depth);
        }
    }
    return msg;
}

static void
fill_value(const ProtobufCFieldDescriptor *f, void *dst, unsigned int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t v = 7;
        memcpy(dst, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = UINT64_C(1) << 40;
        memcpy(dst, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean v = 1;
        memcpy(dst, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        int v = ed->values[ed->n_values - 1].value;
        memcpy(dst, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char *s = xstrdup("text");
        memcpy(dst, &s, sizeof s);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData b = { 3, xmemdup("\x01\x02\x03", 3) };
        memcpy(dst, &b, sizeof b);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = fill_message(f->descriptor, 0, depth + 1);
        memcpy(dst, &sub, sizeof sub);
        break;
    }
    default:
        fail_msg("field %s has a type the schemas do not use", f->name);
    }
}

/* Packs 'msg' as 'type', decodes it through the envelope, and checks that
 * the decoded message packs to the same bytes.  Returns the decoded
 * message, which the caller frees with ipc_payload_free(). */
static ProtobufCMessage *
roundtrip(enum ipc_type type, const ProtobufCMessage *msg)
{
    struct errbuf eb;
    struct buf frame;
    struct ipc_msg m;

    buf_init(&frame, 0);
    assert_int_equal(ipc_frame_pack(type, 5, msg, &frame, &eb), 0);
    if (ipc_frame_decode(frame.data, frame.size, ACCEPT_ALL, &m, &eb)) {
        fail_msg("%s: %s", ipc_type_name(type), eb.msg);
    }
    assert_int_equal(m.hdr.type, type);
    size_t len = protobuf_c_message_get_packed_size(m.msg);
    assert_int_equal(len, frame.size - IPC_HEADER_LEN);
    uint8_t *again = xmalloc(len);
    protobuf_c_message_pack(m.msg, again);
    assert_memory_equal(again, frame.data + IPC_HEADER_LEN, len);
    free(again);
    buf_uninit(&frame);
    return m.msg;
}

/* ----- every message --------------------------------------------------------- */

static void
proto_every_type_has_a_distinct_message(void **state)
{
    size_t n = 0;
    for (unsigned int t = 0; t < IPC_TYPE_LIMIT; t++) {
        const ProtobufCMessageDescriptor *d = ipc_type_descriptor(t);
        if (!d) {
            continue;
        }
        n++;
        assert_string_equal(d->package_name, "dpif");
        for (unsigned int u = t + 1; u < IPC_TYPE_LIMIT; u++) {
            assert_ptr_not_equal(d, ipc_type_descriptor(u));
        }
        /* Every type is accepted from exactly one side. */
        bool from_worker = IPC_ACCEPT_FROM_WORKER & IPC_TYPE_BIT(t);
        bool from_privd = IPC_ACCEPT_FROM_PRIVD & IPC_TYPE_BIT(t);
        bool from_client = IPC_ACCEPT_FROM_CLIENT & IPC_TYPE_BIT(t);
        bool from_server = IPC_ACCEPT_FROM_SERVER & IPC_TYPE_BIT(t);
        assert_int_equal(from_worker + from_privd + from_client + from_server,
                         1);
    }
    assert_int_equal(n, 15);
}

/* Each top-level message, every field set, packs and unpacks to the same
 * bytes. */
static void
proto_roundtrip_every_message(void **state)
{
    for (unsigned int t = 0; t < IPC_TYPE_LIMIT; t++) {
        const ProtobufCMessageDescriptor *d = ipc_type_descriptor(t);
        if (!d) {
            continue;
        }
        ProtobufCMessage *msg = fill_message(d, 0, 0);
        ipc_payload_free(roundtrip(t, msg));
        protobuf_c_message_free_unpacked(msg, NULL);
    }
}

/* Every control command, request and reply. */
static void
proto_roundtrip_every_command(void **state)
{
    const ProtobufCMessageDescriptor *req = &dpif__request__descriptor;
    const ProtobufCMessageDescriptor *rep = &dpif__reply__descriptor;
    size_t n_commands = 0;

    for (unsigned int i = 0; i < req->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &req->fields[i];
        ProtobufCMessage *msg = fill_message(req, f->id, 0);
        Dpif__Request *r = (Dpif__Request *) roundtrip(IPC_CONTROL_REQUEST,
                                                        msg);
        assert_int_equal(r->command_case, f->id);
        ipc_payload_free(&r->base);
        protobuf_c_message_free_unpacked(msg, NULL);

        /* The reply member of the same name. */
        const ProtobufCFieldDescriptor *g =
            protobuf_c_message_descriptor_get_field_by_name(rep, f->name);
        if (!g) {
            fail_msg("command %s has no reply member", f->name);
        }
        msg = fill_message(rep, g->id, 0);
        Dpif__Reply *p = (Dpif__Reply *) roundtrip(IPC_CONTROL_REPLY, msg);
        assert_int_equal(p->result_case, g->id);
        ipc_payload_free(&p->base);
        protobuf_c_message_free_unpacked(msg, NULL);
        n_commands++;
    }
    assert_int_equal(n_commands, 31);
    /* And no reply without a command: error, reason + one per command. */
    assert_int_equal(rep->n_fields, 2 + n_commands);
}

/* proto2 presence: unset optional fields stay absent, a oneof keeps its
 * member. */
static void
proto_presence_survives(void **state)
{
    Dpif__Status st = DPIF__STATUS__INIT;
    st.flow_count = 0;
    st.flow_limit = 0;
    st.has_dump_seq = true;
    st.dump_seq = 0;
    Dpif__Status *s = (Dpif__Status *) roundtrip(IPC_STATUS, &st.base);
    assert_true(s->has_dump_seq);
    assert_false(s->has_avg_flows);
    assert_false(s->has_policy_generation);
    ipc_payload_free(&s->base);

    uint8_t ufid[IPC_UFID_LEN] = { 1 };
    Dpif__FlowDel del = DPIF__FLOW_DEL__INIT;
    del.id_case = DPIF__FLOW_DEL__ID_UFID;
    del.ufid = (ProtobufCBinaryData) { sizeof ufid, ufid };
    Dpif__Op op = DPIF__OP__INIT;
    Dpif__Op *opp = &op;
    op.op_case = DPIF__OP__OP_FLOW_DEL;
    op.flow_del = &del;
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;
    batch.batch_id = 3;
    batch.n_ops = 1;
    batch.ops = &opp;
    Dpif__OpBatch *b = (Dpif__OpBatch *) roundtrip(IPC_OP_BATCH, &batch.base);
    assert_int_equal(b->ops[0]->op_case, DPIF__OP__OP_FLOW_DEL);
    assert_int_equal(b->ops[0]->flow_del->id_case, DPIF__FLOW_DEL__ID_UFID);
    assert_int_equal(b->ops[0]->flow_del->ufid.len, IPC_UFID_LEN);
    assert_false(b->ops[0]->flow_del->has_want_stats);
    ipc_payload_free(&b->base);
}

/* ----- size limits ------------------------------------------------------------- */

/* A full batch of typical FlowPuts (1 KiB key and mask, 256 bytes of
 * actions) fits in one message. */
static void
proto_full_put_batch_fits(void **state)
{
    static uint8_t key[IPC_MAX_KEY], actions[256], ufid[IPC_UFID_LEN];
    Dpif__FlowPut puts[IPC_MAX_BATCH];
    Dpif__Op ops[IPC_MAX_BATCH];
    Dpif__Op *opp[IPC_MAX_BATCH];
    Dpif__OpBatch batch = DPIF__OP_BATCH__INIT;

    for (int i = 0; i < IPC_MAX_BATCH; i++) {
        dpif__flow_put__init(&puts[i]);
        puts[i].key = (ProtobufCBinaryData) { sizeof key, key };
        puts[i].has_mask = true;
        puts[i].mask = (ProtobufCBinaryData) { sizeof key, key };
        puts[i].actions = (ProtobufCBinaryData) { sizeof actions, actions };
        puts[i].ufid = (ProtobufCBinaryData) { sizeof ufid, ufid };
        puts[i].has_create = puts[i].create = true;
        puts[i].has_want_stats = puts[i].want_stats = true;
        dpif__op__init(&ops[i]);
        ops[i].op_case = DPIF__OP__OP_FLOW_PUT;
        ops[i].flow_put = &puts[i];
        opp[i] = &ops[i];
    }
    batch.batch_id = 1;
    batch.n_ops = IPC_MAX_BATCH;
    batch.ops = opp;
    assert_true(ipc_frame_size(&batch.base) <= IPC_MAX_FRAME / 3);
    ipc_payload_free(roundtrip(IPC_OP_BATCH, &batch.base));
}

/* A full upcall batch of MTU-sized packets fits. */
static void
proto_full_upcall_batch_fits(void **state)
{
    static uint8_t key[300], packet[1514];
    Dpif__Upcall ups[IPC_MAX_BATCH];
    Dpif__Upcall *upp[IPC_MAX_BATCH];
    Dpif__UpcallBatch batch = DPIF__UPCALL_BATCH__INIT;

    for (int i = 0; i < IPC_MAX_BATCH; i++) {
        dpif__upcall__init(&ups[i]);
        ups[i].type = DPIF__UPCALL_TYPE__UPCALL_TYPE_MISS;
        ups[i].key = (ProtobufCBinaryData) { sizeof key, key };
        ups[i].packet = (ProtobufCBinaryData) { sizeof packet, packet };
        ups[i].in_port = i;
        upp[i] = &ups[i];
    }
    batch.n_upcalls = IPC_MAX_BATCH;
    batch.upcalls = upp;
    assert_true(ipc_frame_size(&batch.base) <= IPC_MAX_FRAME / 8);
    ipc_payload_free(roundtrip(IPC_UPCALL_BATCH, &batch.base));
}

/* A DumpShard of IPC_MAX_DUMP_FLOWS flows with large keys and masks fills
 * the message yet decodes within IPC_MAX_DECODED. */
static void
proto_full_dump_shard_decodes(void **state)
{
    static uint8_t key[420], actions[120], ufid[IPC_UFID_LEN];
    Dpif__Flow *flows = xcalloc(IPC_MAX_DUMP_FLOWS, sizeof *flows);
    Dpif__FlowStats *stats = xcalloc(IPC_MAX_DUMP_FLOWS, sizeof *stats);
    Dpif__Flow **fp = xcalloc(IPC_MAX_DUMP_FLOWS, sizeof *fp);
    Dpif__DumpShard shard = DPIF__DUMP_SHARD__INIT;

    for (int i = 0; i < IPC_MAX_DUMP_FLOWS; i++) {
        dpif__flow__init(&flows[i]);
        dpif__flow_stats__init(&stats[i]);
        stats[i].has_packets = stats[i].has_bytes = true;
        stats[i].packets = UINT64_MAX;
        stats[i].bytes = UINT64_MAX;
        stats[i].has_used_msec = true;
        stats[i].used_msec = INT64_MAX;
        flows[i].has_ufid = flows[i].has_key = true;
        flows[i].has_mask = flows[i].has_actions = true;
        flows[i].ufid = (ProtobufCBinaryData) { sizeof ufid, ufid };
        flows[i].key = (ProtobufCBinaryData) { sizeof key, key };
        flows[i].mask = (ProtobufCBinaryData) { sizeof key, key };
        flows[i].actions = (ProtobufCBinaryData) { sizeof actions, actions };
        flows[i].stats = &stats[i];
        fp[i] = &flows[i];
    }
    shard.dump_seq = 1;
    shard.n_flows = IPC_MAX_DUMP_FLOWS;
    shard.flows = fp;
    size_t size = ipc_frame_size(&shard.base);
    assert_true(size > IPC_MAX_FRAME * 9 / 10 && size <= IPC_MAX_FRAME);
    ipc_payload_free(roundtrip(IPC_DUMP_SHARD, &shard.base));
    free(flows);
    free(stats);
    free(fp);
}

/* A full CounterReport (every name at its longest) fits. */
static void
proto_full_counter_report_fits(void **state)
{
    char name[IPC_MAX_NAME + 1];
    Dpif__NamedValue *nv = xcalloc(IPC_MAX_COUNTERS, sizeof *nv);
    Dpif__NamedValue **nvp = xcalloc(IPC_MAX_COUNTERS, sizeof *nvp);
    Dpif__CounterReport cr = DPIF__COUNTER_REPORT__INIT;

    memset(name, 'n', IPC_MAX_NAME);
    name[IPC_MAX_NAME] = '\0';
    for (int i = 0; i < IPC_MAX_COUNTERS; i++) {
        dpif__named_value__init(&nv[i]);
        nv[i].name = name;
        nv[i].value = UINT64_MAX;
        nvp[i] = &nv[i];
    }
    cr.n_counters = cr.n_memory = IPC_MAX_COUNTERS;
    cr.counters = cr.memory = nvp;
    assert_true(ipc_frame_size(&cr.base) <= IPC_MAX_FRAME);
    ipc_payload_free(roundtrip(IPC_COUNTER_REPORT, &cr.base));
    free(nv);
    free(nvp);
}

/* Inline rules at their limit fit; beyond the message limit, packing
 * refuses. */
static void
proto_rules_text_limits(void **state)
{
    char *text = xmalloc(IPC_MAX_MSG + 1);
    Dpif__PolicyUpdate pu = DPIF__POLICY_UPDATE__INIT;
    struct errbuf eb;
    struct buf b;

    memset(text, 'r', IPC_MAX_MSG);
    text[IPC_MAX_RULES_TEXT] = '\0';
    pu.generation = 2;
    pu.rules_text = text;
    ipc_payload_free(roundtrip(IPC_POLICY_UPDATE, &pu.base));

    text[IPC_MAX_RULES_TEXT] = 'r';
    text[IPC_MAX_MSG] = '\0';
    buf_init(&b, 0);
    assert_int_equal(ipc_frame_pack(IPC_POLICY_UPDATE, 1, &pu.base, &b, &eb),
                     EMSGSIZE);
    assert_int_equal(b.size, 0);
    buf_uninit(&b);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proto_every_type_has_a_distinct_message),
        cmocka_unit_test(proto_roundtrip_every_message),
        cmocka_unit_test(proto_roundtrip_every_command),
        cmocka_unit_test(proto_presence_survives),
        cmocka_unit_test(proto_full_put_batch_fits),
        cmocka_unit_test(proto_full_upcall_batch_fits),
        cmocka_unit_test(proto_full_dump_shard_decodes),
        cmocka_unit_test(proto_full_counter_report_fits),
        cmocka_unit_test(proto_rules_text_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
