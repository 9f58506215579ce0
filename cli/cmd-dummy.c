/* cmd-dummy.c — test and demo aids for dummy ports: inject, capture. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/buf.h"
#include "common/flow.h"
#include "common/ipc-limits.h"
#include "common/odp-format.h"
#include "common/odp-key.h"
#include "common/packet.h"

/* Shortest frame a dummy port accepts: an Ethernet header. */
#define INJECT_MIN_FRAME 14
/* Frame bytes per inject request: well below IPC_MAX_MSG and below the
 * socket send buffer an unprivileged client gets by default, so that a
 * batch always goes through; a single frame of any size is sent alone. */
#define INJECT_BATCH_BYTES (128 * 1024)
/* Largest --payload. */
#define INJECT_MAX_PAYLOAD 9000

/* ----- inject -------------------------------------------------------------
 *
 * All frames are decoded (or composed) before anything is sent, then sent
 * in batches of at most IPC_MAX_INJECT_FRAMES frames and INJECT_BATCH_BYTES
 * bytes. */

struct inject_state {
    ProtobufCBinaryData *frames;    /* All of them. */
    size_t n_frames;
    size_t next;                    /* First frame not yet sent. */
    uint64_t n_injected;            /* Sum of the replies' counts. */
};

static const struct cmd_option inject_options[] = {
    { "flow", 0, "FLOW", "compose the frame from a flow instead of hex" },
    { "payload", 0, "N", "with --flow: bytes of L4 payload (default 0)" },
    { NULL, 0, NULL, NULL },
};

/* Points 'r' at the next batch of 'st'. */
static void
inject_take_batch(struct inject_state *st, Dpif__InjectRequest *r)
{
    size_t bytes = 0, n = 0;

    while (st->next + n < st->n_frames && n < IPC_MAX_INJECT_FRAMES) {
        size_t len = st->frames[st->next + n].len;
        if (n && bytes + len > INJECT_BATCH_BYTES) {
            break;
        }
        bytes += len;
        n++;
    }
    r->frames = &st->frames[st->next];
    r->n_frames = n;
    st->next += n;
}

static int
inject_parse_hex(struct cmd_ctx *ctx, size_t i, const char *arg,
                 ProtobufCBinaryData *frame)
{
    uint8_t *data;
    size_t len;

    if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X')) {
        arg += 2;
    }
    if (hex_decode(arg, &data, &len)) {
        return cmd_usage(ctx, "FRAME %zu is not a hex string", i);
    }
    cmd_adopt(ctx, data);
    if (len < INJECT_MIN_FRAME || len > IPC_MAX_PACKET) {
        return cmd_usage(ctx, "FRAME %zu has %zu bytes, not %d..%d", i, len,
                         INJECT_MIN_FRAME, IPC_MAX_PACKET);
    }
    frame->data = data;
    frame->len = len;
    return 0;
}

/* --flow: text -> key attributes -> struct flow -> frame. */
static int
inject_compose(struct cmd_ctx *ctx, const char *text, size_t payload,
               ProtobufCBinaryData *frame)
{
    struct errbuf eb = { "" };
    struct flow flow;
    struct buf key, packet;

    buf_init(&key, 0);
    int error = odp_parse_key(text, &key, NULL, &eb);
    if (error) {
        buf_uninit(&key);
        return cmd_usage(ctx, "--flow \"%s\": %s", text, eb.msg);
    }
    enum odp_key_fitness fit = odp_key_to_flow(key.data, key.size, &flow,
                                               &eb);
    buf_uninit(&key);
    /* Attributes left out are zero, which is what a person leaving out
     * "icmp()" or "eth()" means; what a frame cannot carry is an error. */
    if (fit != ODP_FIT_PERFECT && fit != ODP_FIT_TOO_LITTLE) {
        return cmd_usage(ctx, "--flow \"%s\": %s", text, eb.msg);
    }
    buf_init(&packet, 0);
    error = packet_compose(&packet, &flow, payload, &eb);
    if (error) {
        buf_uninit(&packet);
        return cmd_usage(ctx, "--flow \"%s\": cannot make a frame: %s", text,
                         eb.msg);
    }
    frame->len = packet.size;
    frame->data = cmd_adopt(ctx, buf_steal_data(&packet));
    if (frame->len < INJECT_MIN_FRAME) {
        return cmd_usage(ctx, "--flow \"%s\": the frame has only %zu bytes",
                         text, frame->len);
    }
    return 0;
}

static int
inject_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__InjectRequest *r = cmd_alloc(ctx, sizeof *r);
    struct inject_state *st = cmd_alloc(ctx, sizeof *st);
    const char *flow = cmd_opt(ctx, "flow");
    const char *payload_arg = cmd_opt(ctx, "payload");
    size_t n_hex = ctx->n_args - 2;
    uint64_t payload = 0;
    int error;

    dpif__inject_request__init(r);
    if (flow && n_hex) {
        return cmd_usage(ctx, "give either FRAMEs or --flow, not both");
    } else if (!flow && !n_hex) {
        return cmd_usage(ctx, "no FRAME to inject (hex strings, or --flow)");
    } else if (payload_arg && !flow) {
        return cmd_usage(ctx, "--payload needs --flow");
    }
    if (payload_arg) {
        error = cmd_parse_uint(ctx, "--payload", payload_arg, 0,
                               INJECT_MAX_PAYLOAD, &payload);
        if (error) {
            return error;
        }
    }
    st->n_frames = flow ? 1 : n_hex;
    st->frames = cmd_alloc(ctx, st->n_frames * sizeof *st->frames);
    if (flow) {
        error = inject_compose(ctx, flow, payload, &st->frames[0]);
    } else {
        error = 0;
        for (size_t i = 0; i < n_hex && !error; i++) {
            error = inject_parse_hex(ctx, i + 1, cmd_arg(ctx, i + 2),
                                     &st->frames[i]);
        }
    }
    if (!error) {
        error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    }
    if (!error) {
        error = cmd_resolve_port(ctx, r->dp, cmd_arg(ctx, 1), &r->port_no);
    }
    if (error) {
        return error;
    }
    inject_take_batch(st, r);
    ctx->state = st;
    req->command_case = DPIF__REQUEST__COMMAND_INJECT;
    req->inject = r;
    return 0;
}

static bool
inject_next(struct cmd_ctx *ctx, const Dpif__Reply *reply,
            Dpif__Request *req)
{
    struct inject_state *st = ctx->state;

    if (st->next >= st->n_frames) {
        return false;
    }
    inject_take_batch(st, req->inject);
    return true;
}

static void
inject_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    struct inject_state *st = ctx->state;

    st->n_injected += reply->inject->n_injected;
    if (st->next >= st->n_frames) {
        json_begin_object(&ctx->json);
        json_member_uint(&ctx->json, "n_injected", st->n_injected);
        json_end_object(&ctx->json);
    }
}

/* ----- capture ------------------------------------------------------------- */

static const struct cmd_option capture_options[] = {
    { "clear", 'c', NULL, "remove the frames printed from the buffer, and "
      "print all of them" },
    { NULL, 0, NULL, NULL },
};

static int
capture_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__CaptureRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__capture_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
    if (!error) {
        error = cmd_resolve_port(ctx, r->dp, cmd_arg(ctx, 1), &r->port_no);
    }
    if (error) {
        return error;
    }
    r->has_port_no = true;
    if (cmd_has_opt(ctx, "clear")) {
        r->has_clear = r->clear = true;
    }
    req->command_case = DPIF__REQUEST__COMMAND_CAPTURE;
    req->capture = r;
    return 0;
}

/* With --clear, each reply removed what it returned: ask again until the
 * buffer is empty.  Without it, asking again would return the same frames,
 * so the command stops after one reply and says so. */
static bool
capture_next(struct cmd_ctx *ctx, const Dpif__Reply *reply,
             Dpif__Request *req)
{
    const Dpif__CaptureReply *r = reply->capture;

    if (!r->more) {
        return false;
    } else if (!req->capture->clear) {
        ds_put_format(&ctx->notes, "capture: more frames are buffered than "
                      "one reply holds; use --clear to read them all\n");
        return false;
    } else if (!r->n_frames) {
        cmd_fail(ctx, EPROTO, "dpifd announced more frames but sent none");
        return false;
    }
    return true;
}

static void
capture_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__CaptureReply *r = reply->capture;

    for (size_t i = 0; i < r->n_frames; i++) {
        ds_put_hex(&ctx->out, r->frames[i]->frame.data,
                   r->frames[i]->frame.len);
        ds_put_char(&ctx->out, '\n');
    }
}

static void
capture_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__CaptureReply *r = reply->capture;
    struct json_writer *jw = &ctx->json;
    bool clear = cmd_has_opt(ctx, "clear");
    bool last = !r->more || !clear || !r->n_frames;

    if (!ctx->n_replies) {
        json_begin_object(jw);
        json_key(jw, "frames");
        json_begin_array(jw);
    }
    for (size_t i = 0; i < r->n_frames; i++) {
        const Dpif__CapturedFrame *f = r->frames[i];

        json_begin_object(jw);
        json_member_uint(jw, "port_no", f->port_no);
        json_member_hex(jw, "frame", f->frame.data, f->frame.len);
        /* The timestamp as the daemon gives it: no age is derived, so
         * that nothing here depends on which clock it reads. */
        if (f->has_time_msec) {
            json_member_int(jw, "time_msec", f->time_msec);
        } else {
            json_member_null(jw, "time_msec");
        }
        json_end_object(jw);
    }
    if (last) {
        json_end_array(jw);
        json_member_bool(jw, "more", r->more);
        json_end_object(jw);
    }
}

/* ----- the table ---------------------------------------------------------------- */

const struct command cmd_dummy_commands[] = {
    {
        .name = "inject",
        .usage = "DP PORT FRAME...",
        .summary = "make frames arrive on a dummy port",
        .help = "Makes each FRAME (a hex string, \"0x\" optional) arrive on\n"
                "port PORT (a number or name) of dummy datapath DP, as if\n"
                "received.  With --flow, one frame is made from a flow in\n"
                "the dump-flows syntax instead:\n"
                "  --flow 'eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),"
                "\n         eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,\n"
                "         proto=1,ttl=64),icmp(type=8,code=0)'\n"
                "Attributes left out are zero; checksums and lengths are\n"
                "computed.",
        .options = inject_options,
        .min_args = 2, .max_args = CMD_ARGS_UNLIMITED,
        .build = inject_build,
        .print_json = inject_print_json,
        .next = inject_next,
    },
    {
        .name = "capture",
        .usage = "DP PORT",
        .summary = "frames sent on a dummy port",
        .help = "Prints the frames that dummy datapath DP transmitted on\n"
                "port PORT (a number or name), oldest first, one hex\n"
                "string per line.",
        .options = capture_options,
        .min_args = 2, .max_args = 2, .read_only = true,
        .build = capture_build,
        .print_text = capture_print_text,
        .print_json = capture_print_json,
        .next = capture_next,
    },
};
const size_t cmd_dummy_n_commands = ARRAY_SIZE(cmd_dummy_commands);
