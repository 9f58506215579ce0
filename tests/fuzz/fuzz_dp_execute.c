/* libFuzzer harness for privd/dp-execute.c: an arbitrary frame and an
 * arbitrary action list must execute without a crash, an over-read or a
 * leak, whatever the callbacks do with what they receive.
 *
 * Input: 1 byte PRNG seed, 2 bytes frame length N (big-endian, clipped to
 * what remains), N bytes of frame, then the action list.  The list goes to
 * the executor whether or not nl_check_stream() accepts it: the executor
 * must not rely on its caller's validation, so unvalidated lists are the
 * stronger test.  The recirc callback runs the same list again on the
 * recirculated copy (within a budget per input, since each level may
 * recirculate several times). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/nl.h"
#include "common/packet.h"
#include "privd/dp-execute.h"
#include "privd/dp-packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECIRC_BUDGET 64

struct fuzz_ctx {
    struct dp_executor ex;      /* Executor under test. */
    const void *actions;        /* The list, for recirculation. */
    size_t actions_len;         /* Its length. */
    int recirc_budget;          /* Recirculated runs left for this input. */
    uint32_t sink;              /* Bytes folded in, so reads are real. */
};

/* Keeps the folded bytes observable so the reads are not optimized out. */
static volatile uint32_t fuzz_sink;

/* Touches every byte the executor hands out (a truncated copy keeps the
 * whole packet's layout, so only its bytes are checked here). */
static void
consume(struct fuzz_ctx *ctx, const struct dp_packet *pkt)
{
    for (size_t i = 0; i < pkt->buf.size; i++) {
        ctx->sink = ctx->sink * 31 + pkt->buf.data[i];
    }
    if (pkt->buf.size > DP_PACKET_MAX_SIZE) {
        abort();
    }
}

/* Every layer offset of a (whole) packet lies within its frame. */
static void
check_layout(const struct dp_packet *pkt)
{
    const struct packet_layout *l = &pkt->layout;
    size_t size = pkt->buf.size;
    const uint16_t ofs[] = { l->l2_5, l->l3, l->l4, l->l7 };

    for (size_t i = 0; i < sizeof ofs / sizeof ofs[0]; i++) {
        if (ofs[i] != PACKET_OFS_NONE && ofs[i] > size) {
            abort();
        }
    }
    if (l->l3_end > size) {
        abort();
    }
}

static void
fuzz_output(void *aux, uint32_t port, const struct dp_packet *pkt)
{
    struct fuzz_ctx *ctx = aux;
    ctx->sink += port;
    consume(ctx, pkt);
}

static void
fuzz_userspace(void *aux, const struct dp_packet *pkt,
               const struct dp_userspace_args *args)
{
    struct fuzz_ctx *ctx = aux;
    const uint8_t *ud = args->userdata;

    for (size_t i = 0; i < args->userdata_len; i++) {
        ctx->sink += ud[i];
    }
    ctx->sink += args->pid + args->egress_tun_port
                 + (uint32_t) args->actions_len;
    consume(ctx, pkt);
}

static void
fuzz_recirc(void *aux, struct dp_packet *pkt)
{
    struct fuzz_ctx *ctx = aux;

    consume(ctx, pkt);
    check_layout(pkt);
    if (ctx->recirc_budget-- > 0) {
        dp_execute_actions(&ctx->ex, pkt, ctx->actions, ctx->actions_len);
        check_layout(pkt);
    }
}

static const struct dp_execute_cbs fuzz_cbs = {
    .output = fuzz_output,
    .userspace = fuzz_userspace,
    .recirc = fuzz_recirc,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    uint8_t seed = data[0];
    size_t frame_len = (size_t) data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (frame_len > size) {
        frame_len = size;
    }
    const uint8_t *frame = data;
    size_t actions_len = size - frame_len;
    if (actions_len > 65536) {
        return 0;
    }

    /* The executor wants an aligned list, as every caller provides. */
    uint64_t *actions = malloc(actions_len ? actions_len : 1);
    if (!actions) {
        return 0;
    }
    memcpy(actions, frame + frame_len, actions_len);

    struct fuzz_ctx ctx = {
        .actions = actions,
        .actions_len = actions_len,
        .recirc_budget = RECIRC_BUDGET,
    };
    dp_executor_init(&ctx.ex, &fuzz_cbs, &ctx, seed);

    uint64_t stub[DP_PACKET_STUB_SIZE / 8];
    struct dp_packet pkt;
    dp_packet_init(&pkt, stub, sizeof stub);
    if (!dp_packet_set_frame(&pkt, frame, frame_len, 1)) {
        dp_execute_actions(&ctx.ex, &pkt, actions, actions_len);
        check_layout(&pkt);
        consume(&ctx, &pkt);
    }
    dp_packet_uninit(&pkt);
    free(actions);
    fuzz_sink = ctx.sink;
    return 0;
}
