/* Unit tests for privd/op-validate.c, the request table, on a dummy
 * datapath with ports 1 and 2 and two handler channels: every rule of the
 * table and every malformed case, each refused with its reason and
 * counter, with nothing installed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ds.h"
#include "common/flow.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/policy.h"
#include "common/ufid.h"
#include "common/xlate.h"
#include "privd/dpif.h"
#include "privd/flow-ledger.h"
#include "privd/op-validate.h"

#define DP_NAME "opv0"

/* The fixture: the datapath, a batch and the wire-level op being built. */
struct fixture {
    struct dpif *dpif;          /* Dummy datapath (owned). */
    struct op_batch *batch;     /* Scratch batch (owned). */
    struct buf key, mask, actions; /* Bytes the ops point at. */
    uint8_t packet[64];         /* An Execute packet. */
    union ufid ufid;            /* The op's UFID. */
    Dpif__FlowPut put;
    Dpif__FlowDel del;
    Dpif__Execute exec;
    Dpif__FlowGet get;
    Dpif__Op op;
    Dpif__Op *ops[IPC_MAX_BATCH + 1];
    Dpif__OpBatch msg;
    struct op_context handler;  /* Handler 0's context. */
    struct op_context reval;    /* The revalidator owning 'ufid'. */
};

static void
make_flow(struct flow *f, uint32_t in_port)
{
    memset(f, 0, sizeof *f);
    f->in_port = in_port;
    f->dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
    f->dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
    f->dl_type = htons(0x0800);
    f->nw_src = htonl(0x0a000001);
    f->nw_dst = htonl(0x0a000002);
    f->nw_proto = 17;
    f->nw_ttl = 64;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    uint32_t port_no;
    struct flow f;

    assert_int_equal(dpif_create_and_open(DP_NAME, "dummy", &fx->dpif), 0);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "ov1", "dummy", &port_no), 0);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "ov2", "dummy", &port_no), 0);
    assert_int_equal(dpif_recv_set(fx->dpif, true), 0);
    assert_int_equal(dpif_handlers_set(fx->dpif, 2), 0);
    fx->batch = op_batch_create();

    buf_init(&fx->key, 0);
    buf_init(&fx->mask, 0);
    buf_init(&fx->actions, 0);
    make_flow(&f, 1);
    assert_int_equal(odp_key_from_flow(&fx->key, &f, NULL), 0);
    odp_put_output(&fx->actions, 2);
    memset(fx->packet, 0xab, sizeof fx->packet);
    ufid_from_key(fx->key.data, fx->key.size, NULL, 0, &fx->ufid);

    fx->handler = (struct op_context) {
        .dpif = fx->dpif, .role = WORKER_ROLE_HANDLER, .worker_index = 0,
        .n_revalidators = 2, .batch_size = 50,
    };
    fx->reval = (struct op_context) {
        .dpif = fx->dpif, .role = WORKER_ROLE_REVALIDATOR,
        .worker_index = ufid_shard(&fx->ufid, 2), .n_revalidators = 2,
        .batch_size = 50,
    };
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    op_batch_destroy(fx->batch);
    buf_uninit(&fx->key);
    buf_uninit(&fx->mask);
    buf_uninit(&fx->actions);
    assert_int_equal(dpif_delete(fx->dpif), 0);
    dpif_close(fx->dpif);
    free(fx);
    return 0;
}

static ProtobufCBinaryData
bin(const void *data, size_t len)
{
    return (ProtobufCBinaryData) { .len = len, .data = (uint8_t *) data };
}

/* Makes fx->op a handler-style FLOW_PUT create of the fixture's flow. */
static Dpif__Op *
put_op(struct fixture *fx, bool create, bool modify)
{
    dpif__flow_put__init(&fx->put);
    fx->put.key = bin(fx->key.data, fx->key.size);
    fx->put.actions = bin(fx->actions.data, fx->actions.size);
    fx->put.ufid = bin(&fx->ufid, sizeof fx->ufid);
    fx->put.has_create = create;
    fx->put.create = create;
    fx->put.has_modify = modify;
    fx->put.modify = modify;
    dpif__op__init(&fx->op);
    fx->op.op_case = DPIF__OP__OP_FLOW_PUT;
    fx->op.flow_put = &fx->put;
    return &fx->op;
}

static Dpif__Op *
exec_op(struct fixture *fx, size_t packet_len)
{
    dpif__execute__init(&fx->exec);
    fx->exec.key = bin(fx->key.data, fx->key.size);
    fx->exec.packet = bin(fx->packet, packet_len);
    fx->exec.actions = bin(fx->actions.data, fx->actions.size);
    dpif__op__init(&fx->op);
    fx->op.op_case = DPIF__OP__OP_EXECUTE;
    fx->op.execute = &fx->exec;
    return &fx->op;
}

static Dpif__Op *
del_op(struct fixture *fx)
{
    dpif__flow_del__init(&fx->del);
    fx->del.id_case = DPIF__FLOW_DEL__ID_UFID;
    fx->del.ufid = bin(&fx->ufid, sizeof fx->ufid);
    dpif__op__init(&fx->op);
    fx->op.op_case = DPIF__OP__OP_FLOW_DEL;
    fx->op.flow_del = &fx->del;
    return &fx->op;
}

static Dpif__Op *
get_op(struct fixture *fx)
{
    dpif__flow_get__init(&fx->get);
    fx->get.id_case = DPIF__FLOW_GET__ID_UFID;
    fx->get.ufid = bin(&fx->ufid, sizeof fx->ufid);
    dpif__op__init(&fx->op);
    fx->op.op_case = DPIF__OP__OP_FLOW_GET;
    fx->op.flow_get = &fx->get;
    return &fx->op;
}

/* Runs fx->op alone as a batch for 'ctx'; returns its result. */
static const Dpif__OpResult *
run_one(struct fixture *fx, const struct op_context *ctx)
{
    static Dpif__OpResults results;

    dpif__op_batch__init(&fx->msg);
    fx->ops[0] = &fx->op;
    fx->msg.ops = fx->ops;
    fx->msg.n_ops = 1;
    fx->msg.batch_id = 7;
    op_batch_clear(fx->batch);
    op_batch_check(fx->batch, ctx, &fx->msg);
    op_batch_execute(fx->batch, ctx->dpif);
    op_batch_to_results(fx->batch, &results);
    assert_int_equal(results.batch_id, 7);
    assert_int_equal(results.n_results, 1);
    return results.results[0];
}

static uint64_t
n_flows(const struct fixture *fx)
{
    struct dpif_dp_stats stats;
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &stats), 0);
    return stats.n_flows;
}

/* Asserts that fx->op is refused for 'ctx' with 'error', a reason
 * containing 'reason', one more count of 'counter', and no flow added. */
static void
assert_refused(struct fixture *fx, const struct op_context *ctx, int error,
               const char *reason, const char *counter)
{
    uint64_t before = counter_get(counter);
    uint64_t flows = n_flows(fx);
    const Dpif__OpResult *r = run_one(fx, ctx);

    assert_int_equal(r->error, error);
    assert_non_null(r->reason);
    if (!strstr(r->reason, reason)) {
        fail_msg("reason \"%s\" lacks \"%s\"", r->reason, reason);
    }
    assert_int_equal(counter_get(counter), before + 1);
    assert_int_equal(n_flows(fx), flows);
    assert_true(fx->batch->slots[0].rejected);
}

/* ----- the table ----------------------------------------------------------- */

static void
handler_put_create_installs(void **state)
{
    struct fixture *fx = *state;

    put_op(fx, true, false);
    const Dpif__OpResult *r = run_one(fx, &fx->handler);
    assert_int_equal(r->error, 0);
    assert_int_equal(n_flows(fx), 1);

    /* Created once: a second create is the datapath's EEXIST, not a
     * refusal. */
    r = run_one(fx, &fx->handler);
    assert_int_equal(r->error, EEXIST);
    assert_false(fx->batch->slots[0].rejected);
    assert_int_equal(fx->batch->n_rejected, 0);
}

/* At the flow limit a handler's create is refused (ENOSPC, counted, not a
 * strike), whatever the handler estimated; below it, it installs. */
static void
handler_put_create_at_flow_limit(void **state)
{
    struct fixture *fx = *state;
    struct op_context ctx = fx->handler;
    uint64_t before = counter_get("op_refused_flow_limit");

    ctx.flow_limit = 1;
    put_op(fx, true, false);
    const Dpif__OpResult *r = run_one(fx, &ctx);
    assert_int_equal(r->error, 0);
    assert_int_equal(n_flows(fx), 1);

    fx->ufid.u32[0] ^= 1;       /* Another flow's UFID. */
    fx->key.size = 0;
    struct flow f;
    struct errbuf eb;
    make_flow(&f, 2);
    assert_int_equal(odp_key_from_flow(&fx->key, &f, &eb), 0);
    put_op(fx, true, false);
    r = run_one(fx, &ctx);
    assert_int_equal(r->error, ENOSPC);
    assert_non_null(strstr(r->reason, "flow limit 1 reached"));
    assert_int_equal(counter_get("op_refused_flow_limit"), before + 1);
    assert_int_equal(fx->batch->n_rejected, 0);
    assert_int_equal(n_flows(fx), 1);

    /* A flow limit of 0 is no limit. */
    ctx.flow_limit = 0;
    r = run_one(fx, &ctx);
    assert_int_equal(r->error, 0);
    assert_int_equal(n_flows(fx), 2);
}

static void
handler_put_modify_refused(void **state)
{
    struct fixture *fx = *state;

    put_op(fx, false, true);
    assert_refused(fx, &fx->handler, EPERM, "handlers may only create",
                   "op_rejected_flags");
    put_op(fx, true, true);
    assert_refused(fx, &fx->handler, EPERM, "handlers may only create",
                   "op_rejected_flags");
}

static void
handler_del_refused(void **state)
{
    struct fixture *fx = *state;

    del_op(fx);
    assert_refused(fx, &fx->handler, EPERM, "flow_del is not allowed for "
                   "handlers", "op_rejected_role");
}

static void
handler_execute_and_get_allowed(void **state)
{
    struct fixture *fx = *state;

    exec_op(fx, sizeof fx->packet);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);
    get_op(fx);
    assert_int_equal(run_one(fx, &fx->handler)->error, ENOENT);
    assert_false(fx->batch->slots[0].rejected);
}

static void
revalidator_modify_del_get(void **state)
{
    struct fixture *fx = *state;

    put_op(fx, true, false);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);

    put_op(fx, false, true);
    assert_int_equal(run_one(fx, &fx->reval)->error, 0);
    get_op(fx);
    const Dpif__OpResult *r = run_one(fx, &fx->reval);
    assert_int_equal(r->error, 0);
    assert_non_null(r->flow);
    assert_int_equal(r->flow->ufid.len, IPC_UFID_LEN);
    del_op(fx);
    assert_int_equal(run_one(fx, &fx->reval)->error, 0);
    assert_int_equal(n_flows(fx), 0);
}

static void
revalidator_create_and_execute_refused(void **state)
{
    struct fixture *fx = *state;

    put_op(fx, true, false);
    assert_refused(fx, &fx->reval, EPERM, "revalidators may only modify",
                   "op_rejected_flags");
    exec_op(fx, sizeof fx->packet);
    assert_refused(fx, &fx->reval, EPERM, "execute is not allowed for "
                   "revalidators", "op_rejected_role");
}

static void
revalidator_other_shard_refused(void **state)
{
    struct fixture *fx = *state;
    struct op_context other = fx->reval;

    other.worker_index = 1 - fx->reval.worker_index;
    del_op(fx);
    assert_refused(fx, &other, EPERM, "belongs to shard", "op_rejected_shard");
    put_op(fx, false, true);
    assert_refused(fx, &other, EPERM, "belongs to shard", "op_rejected_shard");
}

static void
revalidator_del_by_key_refused(void **state)
{
    struct fixture *fx = *state;

    del_op(fx);
    fx->del.id_case = DPIF__FLOW_DEL__ID_KEY;
    fx->del.key = bin(fx->key.data, fx->key.size);
    assert_refused(fx, &fx->reval, EPERM, "by ufid", "op_rejected_ufid");
}

static void
no_op_refused(void **state)
{
    struct fixture *fx = *state;

    dpif__op__init(&fx->op);
    assert_refused(fx, &fx->handler, EINVAL, "no operation",
                   "op_rejected_no_op");
}

/* ----- malformed fields ----------------------------------------------------- */

static void
bad_ufid_length_refused(void **state)
{
    struct fixture *fx = *state;

    put_op(fx, true, false);
    fx->put.ufid.len = 15;
    assert_refused(fx, &fx->handler, EINVAL, "ufid is 15 bytes",
                   "op_rejected_ufid");
    put_op(fx, true, false);
    fx->put.ufid.len = 0;
    assert_refused(fx, &fx->handler, EINVAL, "ufid is 0 bytes",
                   "op_rejected_ufid");
    get_op(fx);
    fx->get.ufid.len = 17;
    assert_refused(fx, &fx->handler, EINVAL, "ufid is 17 bytes",
                   "op_rejected_ufid");
}

static void
malformed_key_refused(void **state)
{
    struct fixture *fx = *state;
    uint32_t garbage[4] = { 0xffffffff, 0x12345678, 0, 0 };

    put_op(fx, true, false);
    fx->put.key = bin(garbage, sizeof garbage);
    assert_refused(fx, &fx->handler, EINVAL, "malformed key",
                   "op_rejected_key");

    put_op(fx, true, false);
    fx->put.key = bin(fx->key.data, 0);
    assert_refused(fx, &fx->handler, EINVAL, "key is 0 bytes",
                   "op_rejected_key");

    /* A truncated key: the last attribute cut short. */
    put_op(fx, true, false);
    fx->put.key.len -= 2;
    assert_refused(fx, &fx->handler, EINVAL, "key", "op_rejected_key");
}

static void
oversized_key_refused(void **state)
{
    struct fixture *fx = *state;
    uint8_t *big = calloc(1, IPC_MAX_KEY + 4);

    put_op(fx, true, false);
    fx->put.key = bin(big, IPC_MAX_KEY + 4);
    assert_refused(fx, &fx->handler, EINVAL, "key is 1028 bytes",
                   "op_rejected_key");
    free(big);
}

static void
malformed_mask_refused(void **state)
{
    struct fixture *fx = *state;
    uint32_t garbage[3] = { 0x00ff0007, 1, 2 };

    put_op(fx, true, false);
    fx->put.has_mask = true;
    fx->put.mask = bin(garbage, sizeof garbage);
    assert_refused(fx, &fx->handler, EINVAL, "malformed mask",
                   "op_rejected_mask");
}

static void
disallowed_action_refused(void **state)
{
    struct fixture *fx = *state;

    buf_clear(&fx->actions);
    odp_put_recirc(&fx->actions, 5);
    put_op(fx, true, false);
    assert_refused(fx, &fx->handler, EPERM, "recirc", "op_rejected_actions");

    buf_clear(&fx->actions);
    odp_put_hash(&fx->actions, OVS_HASH_ALG_L4, 0);
    exec_op(fx, sizeof fx->packet);
    assert_refused(fx, &fx->handler, EPERM, "hash", "op_rejected_actions");
}

static void
malformed_actions_refused(void **state)
{
    struct fixture *fx = *state;
    uint32_t garbage[2] = { 0x00630004, 0 };  /* len 4, type 99 */

    put_op(fx, true, false);
    fx->put.actions = bin(garbage, sizeof garbage);
    assert_refused(fx, &fx->handler, EINVAL, "", "op_rejected_actions");
}

static void
nonexistent_port_refused(void **state)
{
    struct fixture *fx = *state;

    buf_clear(&fx->actions);
    odp_put_output(&fx->actions, 77);
    put_op(fx, true, false);
    assert_refused(fx, &fx->handler, ENODEV, "77", "op_rejected_port");
    /* A vanished port is a race, not misbehaviour. */
    assert_int_equal(fx->batch->n_rejected, 0);

    /* An Execute whose in_port does not exist. */
    struct flow f;
    make_flow(&f, 9);
    buf_clear(&fx->key);
    assert_int_equal(odp_key_from_flow(&fx->key, &f, NULL), 0);
    buf_clear(&fx->actions);
    odp_put_output(&fx->actions, 2);
    exec_op(fx, sizeof fx->packet);
    assert_refused(fx, &fx->handler, ENODEV, "in_port 9", "op_rejected_port");
}

static void
foreign_pid_refused(void **state)
{
    struct fixture *fx = *state;
    uint32_t own = dpif_port_get_pid(fx->dpif, 1);

    assert_int_not_equal(own, 0);
    buf_clear(&fx->actions);
    odp_put_userspace(&fx->actions, own, "ck", 2, ODP_PORT_NONE, false);
    put_op(fx, true, false);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);

    buf_clear(&fx->actions);
    odp_put_userspace(&fx->actions, 4242, "ck", 2, ODP_PORT_NONE, false);
    exec_op(fx, sizeof fx->packet);
    assert_refused(fx, &fx->handler, EPERM, "4242", "op_rejected_pid");
    buf_clear(&fx->actions);
    odp_put_userspace(&fx->actions, 0, NULL, 0, ODP_PORT_NONE, false);
    exec_op(fx, sizeof fx->packet);
    assert_refused(fx, &fx->handler, EPERM, "", "op_rejected_pid");
}

static void
too_deep_refused(void **state)
{
    struct fixture *fx = *state;
    size_t tokens[OP_VALIDATE_MAX_DEPTH + 1];

    buf_clear(&fx->actions);
    for (int i = 0; i <= OP_VALIDATE_MAX_DEPTH; i++) {
        tokens[i] = odp_put_clone_start(&fx->actions);
    }
    odp_put_output(&fx->actions, 2);
    for (int i = OP_VALIDATE_MAX_DEPTH; i >= 0; i--) {
        odp_put_clone_end(&fx->actions, tokens[i]);
    }
    put_op(fx, true, false);
    assert_refused(fx, &fx->handler, EINVAL, "nesting", "op_rejected_actions");

    /* The deepest allowed nesting is accepted. */
    buf_clear(&fx->actions);
    for (int i = 0; i < OP_VALIDATE_MAX_DEPTH; i++) {
        tokens[i] = odp_put_clone_start(&fx->actions);
    }
    odp_put_output(&fx->actions, 2);
    for (int i = OP_VALIDATE_MAX_DEPTH - 1; i >= 0; i--) {
        odp_put_clone_end(&fx->actions, tokens[i]);
    }
    put_op(fx, true, false);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);
}

static void
oversized_actions_refused(void **state)
{
    struct fixture *fx = *state;
    uint8_t *big = calloc(1, IPC_MAX_ACTIONS + 4);

    put_op(fx, true, false);
    fx->put.actions = bin(big, IPC_MAX_ACTIONS + 4);
    assert_refused(fx, &fx->handler, EMSGSIZE, "more than",
                   "op_rejected_actions");
    free(big);
}

static void
short_packet_refused(void **state)
{
    struct fixture *fx = *state;

    exec_op(fx, 13);
    assert_refused(fx, &fx->handler, EINVAL, "packet is 13 bytes",
                   "op_rejected_packet");
    exec_op(fx, 14);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);
}

/* ----- batches -------------------------------------------------------------- */

static void
empty_batch_refused(void **state)
{
    struct fixture *fx = *state;
    Dpif__OpResults results;
    uint64_t before = counter_get("op_rejected_batch_empty");

    dpif__op_batch__init(&fx->msg);
    op_batch_check(fx->batch, &fx->handler, &fx->msg);
    op_batch_to_results(fx->batch, &results);
    assert_int_equal(results.n_results, 1);
    assert_int_equal(results.results[0]->error, EINVAL);
    assert_non_null(strstr(results.results[0]->reason, "no ops"));
    assert_int_equal(counter_get("op_rejected_batch_empty"), before + 1);
    assert_int_equal(fx->batch->n_rejected, 1);
}

static void
oversized_batch_refused(void **state)
{
    struct fixture *fx = *state;
    Dpif__OpResults results;
    struct op_context small = fx->handler;

    put_op(fx, true, false);
    for (size_t i = 0; i <= IPC_MAX_BATCH; i++) {
        fx->ops[i] = &fx->op;
    }
    dpif__op_batch__init(&fx->msg);
    fx->msg.ops = fx->ops;

    /* Beyond IPC_MAX_BATCH, even with a larger configured size. */
    uint64_t before = counter_get("op_rejected_batch_too_long");
    small.batch_size = 1000;
    fx->msg.n_ops = IPC_MAX_BATCH + 1;
    op_batch_check(fx->batch, &small, &fx->msg);
    op_batch_execute(fx->batch, fx->dpif);
    op_batch_to_results(fx->batch, &results);
    assert_int_equal(results.n_results, 1);
    assert_int_equal(results.results[0]->error, E2BIG);
    assert_non_null(strstr(results.results[0]->reason, "65 ops"));

    /* Beyond the configured size. */
    small.batch_size = 3;
    fx->msg.n_ops = 4;
    op_batch_check(fx->batch, &small, &fx->msg);
    op_batch_execute(fx->batch, fx->dpif);
    op_batch_to_results(fx->batch, &results);
    assert_int_equal(results.results[0]->error, E2BIG);
    assert_int_equal(counter_get("op_rejected_batch_too_long"), before + 2);
    assert_int_equal(n_flows(fx), 0);
}

/* One bad op in a batch: the others run, the bad one is not installed. */
static void
mixed_batch_nothing_partial(void **state)
{
    struct fixture *fx = *state;
    Dpif__FlowPut puts[3];
    Dpif__Op ops[3];
    union ufid ufids[3];
    struct buf keys[3];
    Dpif__OpResults results;

    for (int i = 0; i < 3; i++) {
        struct flow f;
        make_flow(&f, 1);
        f.nw_dst = htonl(0x0a000010 + (uint32_t) i);
        buf_init(&keys[i], 0);
        assert_int_equal(odp_key_from_flow(&keys[i], &f, NULL), 0);
        ufid_from_key(keys[i].data, keys[i].size, NULL, 0, &ufids[i]);
        dpif__flow_put__init(&puts[i]);
        puts[i].key = bin(keys[i].data, keys[i].size);
        puts[i].actions = bin(fx->actions.data, fx->actions.size);
        puts[i].ufid = bin(&ufids[i], sizeof ufids[i]);
        puts[i].has_create = puts[i].create = true;
        dpif__op__init(&ops[i]);
        ops[i].op_case = DPIF__OP__OP_FLOW_PUT;
        ops[i].flow_put = &puts[i];
        fx->ops[i] = &ops[i];
    }
    puts[1].ufid.len = 3;       /* The middle one is malformed. */
    dpif__op_batch__init(&fx->msg);
    fx->msg.ops = fx->ops;
    fx->msg.n_ops = 3;
    op_batch_check(fx->batch, &fx->handler, &fx->msg);
    op_batch_execute(fx->batch, fx->dpif);
    op_batch_to_results(fx->batch, &results);
    assert_int_equal(results.n_results, 3);
    assert_int_equal(results.results[0]->error, 0);
    assert_int_equal(results.results[1]->error, EINVAL);
    assert_int_equal(results.results[2]->error, 0);
    assert_int_equal(fx->batch->n_rejected, 1);
    assert_int_equal(n_flows(fx), 2);
    for (int i = 0; i < 3; i++) {
        buf_uninit(&keys[i]);
    }
}

static void
count_created(const struct dpif_flow_put *put, const union ufid *ufid,
              void *n_)
{
    int *n = n_;
    assert_non_null(put->key);
    assert_non_null(ufid);
    (*n)++;
}

static void
created_flows_are_listed(void **state)
{
    struct fixture *fx = *state;
    int n = 0;

    put_op(fx, true, false);
    run_one(fx, &fx->handler);
    op_batch_for_each_created(fx->batch, count_created, &n);
    assert_int_equal(n, 1);
    run_one(fx, &fx->handler);  /* EEXIST: not created. */
    n = 0;
    op_batch_for_each_created(fx->batch, count_created, &n);
    assert_int_equal(n, 0);
}

/* ----- cost caps and work budgets ------------------------------------------ */

/* Makes fx->actions 'n' empty CLONEs and one output. */
static void
put_clones(struct fixture *fx, int n)
{
    buf_clear(&fx->actions);
    for (int i = 0; i < n; i++) {
        odp_put_clone_end(&fx->actions, odp_put_clone_start(&fx->actions));
    }
    odp_put_output(&fx->actions, 2);
}

static void
copies_capped(void **state)
{
    struct fixture *fx = *state;

    char reason[64];
    snprintf(reason, sizeof reason, "copy the packet %d times",
             OP_VALIDATE_MAX_COPIES + 1);
    put_clones(fx, OP_VALIDATE_MAX_COPIES + 1);
    exec_op(fx, 64);
    assert_refused(fx, &fx->handler, E2BIG, reason, "op_rejected_copies");
    /* Nested copies count too. */
    buf_clear(&fx->actions);
    size_t outer = odp_put_clone_start(&fx->actions);
    for (int i = 0; i < OP_VALIDATE_MAX_COPIES; i++) {
        odp_put_sample_end(&fx->actions,
                           odp_put_sample_start(&fx->actions, UINT32_MAX));
    }
    odp_put_clone_end(&fx->actions, outer);
    put_op(fx, true, false);
    assert_refused(fx, &fx->handler, E2BIG, reason, "op_rejected_copies");

    put_clones(fx, OP_VALIDATE_MAX_COPIES);
    exec_op(fx, 64);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);
}

static void
count_port(const struct dpif_port *port, void *n_)
{
    size_t *n = n_;
    (void) port;
    (*n)++;
}

/* Ports of the fixture's datapath (the local port too). */
static size_t
n_ports(const struct fixture *fx)
{
    size_t n = 0;
    assert_int_equal(dpif_port_dump(fx->dpif, count_port, &n), 0);
    return n;
}

static void
outputs_capped(void **state)
{
    struct fixture *fx = *state;
    size_t max = op_validate_outputs_max(n_ports(fx));

    assert_int_equal(max, OP_VALIDATE_OUTPUTS_PER_PORT * n_ports(fx));
    char reason[64];

    buf_clear(&fx->actions);
    size_t clone = odp_put_clone_start(&fx->actions);
    for (size_t i = 0; i < max + 1; i++) {
        odp_put_output(&fx->actions, 1 + i % 2);
    }
    odp_put_clone_end(&fx->actions, clone);
    put_op(fx, true, false);
    snprintf(reason, sizeof reason, "%zu outputs, more than %zu", max + 1,
             max);
    assert_refused(fx, &fx->handler, E2BIG, reason, "op_rejected_outputs");
    exec_op(fx, 64);
    assert_refused(fx, &fx->handler, E2BIG, reason, "op_rejected_outputs");

    buf_clear(&fx->actions);
    for (size_t i = 0; i < max; i++) {
        odp_put_output(&fx->actions, 1 + i % 2);
    }
    put_op(fx, true, false);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);
}

static void
flow_action_bytes_capped(void **state)
{
    struct fixture *fx = *state;
    size_t max = op_validate_flow_actions_max(n_ports(fx));

    assert_int_equal(max, OP_VALIDATE_FLOW_ACTIONS_BASE
                     + n_ports(fx) * OP_VALIDATE_FLOW_ACTIONS_PER_PORT);
    assert_int_equal(op_validate_flow_actions_max(100000), IPC_MAX_ACTIONS);
    buf_clear(&fx->actions);
    while (fx->actions.size <= max) {
        odp_put_push_vlan(&fx->actions, htons(0x8100), htons(0x1000 | 5));
        odp_put_pop_vlan(&fx->actions);
    }
    odp_put_output(&fx->actions, 2);
    put_op(fx, true, false);
    assert_refused(fx, &fx->handler, EMSGSIZE, "flow actions are",
                   "op_rejected_flow_actions");
    fx->reval.worker_index = ufid_shard(&fx->ufid, 2);
    put_op(fx, false, true);
    assert_refused(fx, &fx->reval, EMSGSIZE, "flow actions are",
                   "op_rejected_flow_actions");
    /* An Execute runs once: only the frame limit applies. */
    exec_op(fx, 64);
    assert_int_equal(run_one(fx, &fx->handler)->error, 0);
}

/* A batch of 'n' Executes of a 'len'-byte packet with fx->actions. */
static void
run_exec_batch(struct fixture *fx, const struct op_context *ctx,
               uint8_t *packet, size_t len, size_t n,
               Dpif__OpResults *results)
{
    static Dpif__Execute execs[IPC_MAX_BATCH];
    static Dpif__Op ops[IPC_MAX_BATCH];

    for (size_t i = 0; i < n; i++) {
        dpif__execute__init(&execs[i]);
        execs[i].key = bin(fx->key.data, fx->key.size);
        execs[i].packet = bin(packet, len);
        execs[i].actions = bin(fx->actions.data, fx->actions.size);
        dpif__op__init(&ops[i]);
        ops[i].op_case = DPIF__OP__OP_EXECUTE;
        ops[i].execute = &execs[i];
        fx->ops[i] = &ops[i];
    }
    dpif__op_batch__init(&fx->msg);
    fx->msg.ops = fx->ops;
    fx->msg.n_ops = n;
    op_batch_check(fx->batch, ctx, &fx->msg);
    op_batch_execute(fx->batch, fx->dpif);
    op_batch_to_results(fx->batch, results);
    assert_int_equal(results->n_results, n);
}

static void
batch_work_capped(void **state)
{
    struct fixture *fx = *state;
    size_t len = 65535;         /* The datapath's largest packet. */
    uint8_t *packet = calloc(1, len);
    Dpif__OpResults results;
    uint64_t before = counter_get("op_rejected_batch_work");

    memcpy(packet, fx->packet, sizeof fx->packet);
    put_clones(fx, OP_VALIDATE_MAX_COPIES);
    uint64_t work = len * (1 + OP_VALIDATE_MAX_COPIES + 1);
    size_t fit = OP_VALIDATE_MAX_BATCH_WORK / work;
    assert_true(fit >= 1 && fit < 20);
    run_exec_batch(fx, &fx->handler, packet, len, 20, &results);
    for (size_t i = 0; i < 20; i++) {
        if (i < fit) {
            assert_int_equal(results.results[i]->error, 0);
        } else {
            assert_int_equal(results.results[i]->error, EDQUOT);
            assert_non_null(strstr(results.results[i]->reason,
                                   "batch work"));
        }
    }
    /* Throttled, not malformed. */
    assert_int_equal(fx->batch->n_throttled, 20 - fit);
    assert_int_equal(fx->batch->n_rejected, 0);
    assert_int_equal(counter_get("op_rejected_batch_work"),
                     before + 20 - fit);
    free(packet);
}

static void
worker_work_budget(void **state)
{
    struct fixture *fx = *state;
    size_t len = 65535;
    uint8_t *packet = calloc(1, len);
    size_t per_batch = fx->handler.batch_size;
    struct op_work_budget budget;
    struct op_context ctx = fx->handler;
    Dpif__OpResults results;
    uint64_t before = counter_get("op_refused_work_budget");

    memcpy(packet, fx->packet, sizeof fx->packet);
    op_work_budget_init(&budget);
    assert_int_equal(budget.tokens, OP_VALIDATE_WORK_BURST);
    ctx.work = &budget;
    put_clones(fx, 0);
    /* Each op costs 2 x 64 KiB (packet and output); the batch budget lets
     * 128 such through, the worker's bucket 256. */
    size_t per_op = 2 * len;
    size_t in_bucket = OP_VALIDATE_WORK_BURST / per_op;
    size_t done = 0, refused = 0;
    while (done + refused < in_bucket + 2 * per_batch) {
        budget.refilled_msec = LLONG_MAX;   /* No refill during the test. */
        run_exec_batch(fx, &ctx, packet, len, per_batch, &results);
        for (size_t i = 0; i < results.n_results; i++) {
            if (!results.results[i]->error) {
                done++;
            } else {
                assert_int_equal(results.results[i]->error, ENOBUFS);
                assert_non_null(strstr(results.results[i]->reason,
                                       "work budget exhausted"));
                refused++;
            }
        }
    }
    assert_int_equal(done, in_bucket);
    assert_true(refused >= per_batch);
    assert_int_equal(counter_get("op_refused_work_budget"), before + refused);

    /* The bucket refills with time. */
    budget.refilled_msec = 0;
    run_exec_batch(fx, &ctx, packet, len, 1, &results);
    assert_int_equal(results.results[0]->error, 0);
    free(packet);
}

/* Makes fx->put a create of the flow to 10.0.0.(100 + i) with 'key'. */
static Dpif__Op *
put_nth(struct fixture *fx, struct buf *key, uint32_t i)
{
    struct flow f;

    make_flow(&f, 1);
    f.nw_dst = htonl(0x0a000064 + i);
    buf_clear(key);
    assert_int_equal(odp_key_from_flow(key, &f, NULL), 0);
    ufid_from_key(key->data, key->size, NULL, 0, &fx->ufid);
    put_op(fx, true, false);
    fx->put.key = bin(key->data, key->size);
    return &fx->op;
}

static void
flow_byte_budget(void **state)
{
    struct fixture *fx = *state;
    struct buf key;
    uint64_t refused = counter_get("op_refused_flow_bytes");

    buf_init(&key, 0);
    put_nth(fx, &key, 0);
    uint64_t per_flow = fx->put.key.len + fx->put.actions.len;
    struct flow_ledger *ledger = flow_ledger_create(3 * per_flow,
                                                    2 * per_flow, 2);
    struct op_context ctx = fx->handler;
    ctx.ledger = ledger;

    /* Handler 0 gets two flows' worth, the datapath three. */
    for (uint32_t i = 0; i < 2; i++) {
        put_nth(fx, &key, i);
        assert_int_equal(run_one(fx, &ctx)->error, 0);
    }
    put_nth(fx, &key, 2);
    const Dpif__OpResult *r = run_one(fx, &ctx);
    assert_int_equal(r->error, ENOSPC);
    assert_non_null(strstr(r->reason, "flow byte budget"));
    assert_false(fx->batch->slots[0].rejected);   /* Not misbehaviour. */
    assert_int_equal(fx->batch->n_rejected, 0);
    assert_int_equal(counter_get("op_refused_flow_bytes"), refused + 1);
    struct op_context other = ctx;
    other.worker_index = 1;
    assert_int_equal(run_one(fx, &other)->error, 0);
    put_nth(fx, &key, 3);
    r = run_one(fx, &other);
    assert_int_equal(r->error, ENOSPC);
    assert_non_null(strstr(r->reason, "of the datapath"));
    assert_int_equal(n_flows(fx), 3);
    assert_int_equal(flow_ledger_bytes(ledger), 3 * per_flow);

    /* A revalidator's delete releases its flow's bytes. */
    put_nth(fx, &key, 0);
    struct op_context reval = fx->reval;
    reval.ledger = ledger;
    reval.worker_index = ufid_shard(&fx->ufid, 2);
    del_op(fx);
    assert_int_equal(run_one(fx, &reval)->error, 0);
    assert_int_equal(flow_ledger_bytes(ledger), 2 * per_flow);

    /* Flows that vanish behind the ledger's back (a flush) are found by
     * the reconciliation the next refusal would need. */
    assert_int_equal(dpif_flow_flush(fx->dpif), 0);
    for (uint32_t i = 10; i < 12; i++) {
        put_nth(fx, &key, i);
        assert_int_equal(run_one(fx, &ctx)->error, 0);
    }
    assert_int_equal(flow_ledger_bytes(ledger), 2 * per_flow);
    assert_int_equal(n_flows(fx), 2);
    flow_ledger_destroy(ledger);
    buf_uninit(&key);
}

static void
collect_port(const struct dpif_port *port, void *aux)
{
    struct buf *ports = aux;
    buf_put(ports, &port->port_no, sizeof port->port_no);
}

/* The worst rules the policy language allows (POLICY_MAX_ACTIONS of each
 * costly action), translated by the real translation: a handler that
 * installs and executes them is never refused, so never struck. */
static void
translated_worst_rules_accepted(void **state)
{
    struct fixture *fx = *state;
    static const char *const kinds[] = {
        "flood", "sample(probability=65535)", "mod_nw_src:10.0.0.9",
        "mod_vlan_vid:5", "strip_vlan", "output:2", "normal", "controller",
    };
    struct buf ports;
    struct flow f;

    buf_init(&ports, 0);
    assert_int_equal(dpif_port_dump(fx->dpif, collect_port, &ports), 0);
    make_flow(&f, 1);
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        struct ds text;
        ds_init(&text);
        ds_put_cstr(&text, "udp,actions=");
        for (int i = 0; i < POLICY_MAX_ACTIONS; i++) {
            /* "controller" once, the rest floods; else all alike. */
            const char *a = (!strcmp(kinds[k], "controller") && i
                             ? "flood" : kinds[k]);
            ds_put_format(&text, "%s%s", i ? "," : "", a);
        }
        ds_put_char(&text, '\n');
        struct policy_table *table;
        struct errbuf eb = { "" };
        if (policy_parse(ds_cstr(&text), text.length, "worst", 1, &table,
                         &eb)) {
            fail_msg("%s: %s", kinds[k], eb.msg);
        }
        struct xlate_in in = {
            .flow = &f, .table = table,
            .ports = (const uint32_t *) (const void *) ports.data,
            .n_ports = ports.size / sizeof(uint32_t),
            .upcall_pid = dpif_port_get_pid(fx->dpif, 1),
            .now_msec = 1,
        };
        struct xlate_out out;
        xlate_out_init(&out);
        assert_int_equal(xlate_translate(&in, &out, &eb), 0);

        /* A flow of its own for each rule. */
        struct flow g = f;
        g.nw_src = htonl(0x0a000100 + (uint32_t) k);
        buf_clear(&fx->key);
        assert_int_equal(odp_key_from_flow(&fx->key, &g, NULL), 0);
        ufid_from_key(fx->key.data, fx->key.size, NULL, 0, &fx->ufid);
        buf_clear(&fx->actions);
        buf_put(&fx->actions, out.flow_actions.data, out.flow_actions.size);
        put_op(fx, true, false);
        const Dpif__OpResult *r = run_one(fx, &fx->handler);
        if (r->error) {
            fail_msg("%s: flow refused: %s", kinds[k], r->reason);
        }
        buf_clear(&fx->actions);
        buf_put(&fx->actions, out.actions.data, out.actions.size);
        exec_op(fx, 64);
        r = run_one(fx, &fx->handler);
        if (r->error) {
            fail_msg("%s: execute refused: %s", kinds[k], r->reason);
        }
        xlate_out_uninit(&out);
        policy_table_destroy(table);
        ds_destroy(&text);
    }
    buf_uninit(&ports);
}

#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(handler_put_create_installs),
        T(handler_put_create_at_flow_limit),
        T(handler_put_modify_refused),
        T(handler_del_refused),
        T(handler_execute_and_get_allowed),
        T(revalidator_modify_del_get),
        T(revalidator_create_and_execute_refused),
        T(revalidator_other_shard_refused),
        T(revalidator_del_by_key_refused),
        T(no_op_refused),
        T(bad_ufid_length_refused),
        T(malformed_key_refused),
        T(oversized_key_refused),
        T(malformed_mask_refused),
        T(disallowed_action_refused),
        T(malformed_actions_refused),
        T(nonexistent_port_refused),
        T(foreign_pid_refused),
        T(too_deep_refused),
        T(oversized_actions_refused),
        T(short_packet_refused),
        T(empty_batch_refused),
        T(oversized_batch_refused),
        T(mixed_batch_nothing_partial),
        T(copies_capped),
        T(outputs_capped),
        T(flow_action_bytes_capped),
        T(batch_work_capped),
        T(worker_work_budget),
        T(flow_byte_budget),
        T(translated_worst_rules_accepted),
        T(created_flows_are_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
