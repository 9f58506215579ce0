/* libFuzzer harness: what privd does with a frame a worker sends it, from
 * the envelope to the datapath, on a dummy datapath (ports 1 and 2, two
 * handler channels) as privd/supervisor.c's sup_handle_op_batch() does:
 * ipc_frame_decode(), op_batch_check() with the request table of the
 * sender's role, op_batch_execute(), op_batch_to_results() and the packing
 * of the OpResults sent back, op_batch_for_each_created() for the flow
 * announcements.
 *
 * Input: one control byte, then the frame.  Control bit 0: the sender is a
 * revalidator (else a handler); bit 1: its index (of 2 revalidators);
 * bit 2: the frame came from the ops ring (only OP_BATCH accepted) rather
 * than the socket (IPC_ACCEPT_FROM_WORKER); bit 3: a flow limit of 2
 * (else none); bit 4: batch size 4 (else 50).
 *
 * Invariants, independent of op-validate.c's code:
 *
 *   - a batch refused as a whole has no ops, one rejection and one result;
 *   - no more ops than the batch size pass; every op that passed is of a
 *     kind the sender's role may send (handler: create-only puts,
 *     executes, gets; revalidator: modify-only puts and deletes by UFID in
 *     its own shard, gets), with a well-formed key, a mask that decodes,
 *     actions odp_actions_validate() accepts for the datapath's ports, and
 *     a packet of 14..IPC_MAX_PACKET bytes;
 *   - the results pack into a frame the worker's decoder accepts, with one
 *     result per op and the errors of the slots;
 *   - only a handler's successful creates are announced;
 *   - the datapath never holds more flows than the flow limit allows
 *     (from handlers' creates). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/ufid.h"
#include "privd/dpif.h"
#include "privd/op-validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_REVALIDATORS 2
#define FLOW_LIMIT 2

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* The datapath and scratch batch, made at the first input. */
static struct dpif *fuzz_dpif;
static struct op_batch *fuzz_batch;

static void
fuzz_setup(void)
{
    uint32_t port_no;

    log_set_level("ANY", LOG_LEVEL_OFF);
    check(!dpif_create_and_open("fzops0", "dummy", &fuzz_dpif));
    port_no = UINT32_MAX;
    check(!dpif_port_add(fuzz_dpif, "fzops1", "dummy", &port_no));
    port_no = UINT32_MAX;
    check(!dpif_port_add(fuzz_dpif, "fzops2", "dummy", &port_no));
    check(!dpif_recv_set(fuzz_dpif, true));
    check(!dpif_handlers_set(fuzz_dpif, 2));
    fuzz_batch = op_batch_create();
}

static bool
port_exists(uint32_t port, void *aux)
{
    struct dpif_port p;

    (void) aux;
    if (dpif_port_query_by_number(fuzz_dpif, port, &p)) {
        return false;
    }
    dpif_port_destroy(&p);
    return true;
}

static bool
pid_any(uint32_t pid, void *aux)
{
    (void) aux;
    (void) pid;
    return true;
}

/* The actions of a valid op pass the policy op-validate.h documents (pids
 * are op-validate.c's business; any is allowed here). */
static void
check_actions(const void *actions, size_t len)
{
    const struct odp_actions_policy policy = {
        .allowed = OP_VALIDATE_ALLOWED_ACTIONS,
        .max_depth = OP_VALIDATE_MAX_DEPTH,
        .max_len = IPC_MAX_ACTIONS,
        .port_ok = port_exists,
        .pid_ok = pid_any,
    };
    check(len <= IPC_MAX_ACTIONS);
    check(!odp_actions_validate(actions, len, &policy, NULL));
}

static void
check_key(const void *key, size_t len, struct flow *flow)
{
    check(len >= 1 && len <= IPC_MAX_KEY);
    check(odp_key_to_flow(key, len, flow, NULL) != ODP_FIT_ERROR);
}

static void
check_shard(const struct op_context *ctx, const union ufid *ufid)
{
    check(ufid != NULL);
    check(ufid_shard(ufid, ctx->n_revalidators) == ctx->worker_index);
}

/* A slot that passed validation is allowed for 'ctx' and well-formed. */
static void
check_valid_op(const struct op_context *ctx, const struct op_slot *slot)
{
    bool handler = ctx->role == WORKER_ROLE_HANDLER;
    const struct dpif_op *op = &slot->op;
    struct flow flow, mask;

    switch (op->type) {
    case DPIF_OP_FLOW_PUT:
        check(op->flow_put.ufid != NULL);
        check_key(op->flow_put.key, op->flow_put.key_len, &flow);
        if (op->flow_put.mask_len) {
            check(op->flow_put.mask_len <= IPC_MAX_KEY);
            check(odp_mask_to_flow(op->flow_put.mask, op->flow_put.mask_len,
                                   &flow, &mask, NULL) != ODP_FIT_ERROR);
        }
        check_actions(op->flow_put.actions, op->flow_put.actions_len);
        if (handler) {
            check(op->flow_put.flags == DPIF_FP_CREATE);
        } else {
            check(op->flow_put.flags & DPIF_FP_MODIFY);
            check(!(op->flow_put.flags & DPIF_FP_CREATE));
            check_shard(ctx, op->flow_put.ufid);
        }
        break;
    case DPIF_OP_FLOW_DEL:
        check(!handler);
        check_shard(ctx, op->flow_del.ufid);
        break;
    case DPIF_OP_EXECUTE:
        check(handler);
        check_key(op->execute.key, op->execute.key_len, &flow);
        check(port_exists(flow.in_port, NULL));
        check(op->execute.packet_len >= OP_VALIDATE_MIN_PACKET
              && op->execute.packet_len <= IPC_MAX_PACKET);
        check_actions(op->execute.actions, op->execute.actions_len);
        break;
    case DPIF_OP_FLOW_GET:
        check(op->flow_get.ufid
              || (op->flow_get.key_len && op->flow_get.key_len
                  <= IPC_MAX_KEY));
        break;
    default:
        abort();
    }
}

struct announce_aux {
    const struct op_context *ctx;   /* The sender. */
    size_t n;                       /* Announcements seen. */
};

static void
announce_cb(const struct dpif_flow_put *put, const union ufid *ufid,
            void *aux_)
{
    struct announce_aux *aux = aux_;

    check(aux->ctx->role == WORKER_ROLE_HANDLER);
    check(put->flags & DPIF_FP_CREATE);
    check(put->ufid && ufid_equals(put->ufid, ufid));
    aux->n++;
}

/* Packs the results as privd sends them and decodes them as the worker
 * does. */
static void
check_results(const struct op_batch *b, const Dpif__OpResults *results,
              uint32_t seq)
{
    struct errbuf eb;
    struct ipc_msg m;
    struct buf frame;

    check(results->batch_id == b->batch_id);
    check(results->n_results == (b->error ? 1 : b->n_ops));
    for (size_t i = 0; i < b->n_ops; i++) {
        check(results->results[i]->error == (uint32_t) b->slots[i].error);
    }
    buf_init(&frame, 0);
    check(!ipc_frame_pack(IPC_OP_RESULTS, seq, &results->base, &frame, &eb));
    check(!ipc_frame_decode(frame.data, frame.size, IPC_ACCEPT_FROM_PRIVD,
                            &m, &eb));
    check(m.hdr.type == IPC_OP_RESULTS && m.hdr.seq == seq);
    ipc_msg_destroy(&m);
    buf_uninit(&frame);
}

static void
capture_ignore(const void *frame, size_t len, long long wall_msec, void *aux)
{
    (void) frame;
    (void) len;
    (void) wall_msec;
    (void) aux;
}

static void
fuzz_op_batch(const struct op_context *ctx, const struct ipc_msg *m)
{
    const Dpif__OpBatch *msg = (const Dpif__OpBatch *) m->msg;
    struct op_batch *b = fuzz_batch;
    size_t limit = ctx->batch_size;

    op_batch_check(b, ctx, msg);
    if (b->error) {
        check(b->n_ops == 0 && b->n_rejected == 1);
        check(!msg->n_ops || msg->n_ops > limit);
    } else {
        size_t n_rejected = 0;

        check(b->n_ops == msg->n_ops && b->n_ops >= 1 && b->n_ops <= limit);
        for (size_t i = 0; i < b->n_ops; i++) {
            const struct op_slot *slot = &b->slots[i];
            check(slot->rejected == (slot->error != 0));
            check(memchr(slot->reason.msg, '\0', sizeof slot->reason.msg)
                  != NULL);
            if (slot->error) {
                check(slot->reason.msg[0] != '\0');
                n_rejected += slot->error != ENODEV;
            } else {
                check_valid_op(ctx, slot);
            }
        }
        check(b->n_rejected == n_rejected);
    }

    op_batch_execute(b, fuzz_dpif);
    for (size_t i = 0; i < b->n_ops; i++) {
        check(!b->slots[i].limited || b->slots[i].error == ENOSPC);
    }
    if (ctx->flow_limit) {
        struct dpif_dp_stats stats;
        check(!dpif_get_dp_stats(fuzz_dpif, &stats));
        check(stats.n_flows <= ctx->flow_limit);
    }

    Dpif__OpResults results;
    op_batch_to_results(b, &results);
    check_results(b, &results, m->hdr.seq);

    struct announce_aux a = { .ctx = ctx };
    op_batch_for_each_created(b, announce_cb, &a);
    op_batch_clear(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_dpif) {
        fuzz_setup();
    }
    if (size < 1 || size > IPC_MAX_FRAME + 1) {
        return 0;
    }
    uint8_t control = data[0];
    struct op_context ctx = {
        .dpif = fuzz_dpif,
        .role = control & 1 ? WORKER_ROLE_REVALIDATOR : WORKER_ROLE_HANDLER,
        .worker_index = control & 1 ? (control >> 1) & 1 : 0,
        .n_revalidators = N_REVALIDATORS,
        .batch_size = control & 16 ? 4 : 50,
        .flow_limit = control & 8 ? FLOW_LIMIT : 0,
    };
    uint64_t accept = (control & 4 ? IPC_TYPE_BIT(IPC_OP_BATCH)
                       : IPC_ACCEPT_FROM_WORKER);

    /* A heap copy of exactly the frame, so ASan sees any overread. */
    size_t len = size - 1;
    uint8_t *frame = malloc(len ? len : 1);
    check(frame != NULL);
    memcpy(frame, data + 1, len);

    struct errbuf eb = { "" };
    struct ipc_msg m;
    if (ipc_frame_decode(frame, len, accept, &m, &eb)) {
        check(memchr(eb.msg, '\0', sizeof eb.msg) && eb.msg[0]);
    } else {
        check(accept & IPC_TYPE_BIT(m.hdr.type));
        if (m.hdr.type == IPC_OP_BATCH) {
            fuzz_op_batch(&ctx, &m);
        }
        ipc_msg_destroy(&m);
    }
    free(frame);

    /* Back to an empty datapath for the next input. */
    check(!dpif_flow_flush(fuzz_dpif));
    dpif_recv_purge(fuzz_dpif);
    for (uint32_t port = 1; port <= 2; port++) {
        dpif_capture_read(fuzz_dpif, port, true, capture_ignore, NULL);
    }
    return 0;
}
