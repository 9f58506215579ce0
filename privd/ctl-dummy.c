/* ctl-dummy.c — privd's test-datapath commands: inject, capture
 * (dpifctl's cli/cmd-dummy.c), and the backlog of captured frames that a
 * clearing capture could not fit in its reply.  Run by privd for
 * authorized control clients; every field is checked here
 * (ctl-command.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ipc.h"
#include "common/timeval.h"
#include "privd/ctl-command.h"
#include "privd/dpif.h"
#include "privd/privd.h"

COUNTER_DEFINE(control_capture_backlog_dropped);

/* A captured frame that privd holds after a clearing read that did not fit
 * in its reply. */
struct control_frame {
    const struct dpif *dpif;    /* Datapath it was sent on (borrowed). */
    uint32_t port_no;           /* Port it was sent on. */
    long long time_msec;        /* When. */
    size_t len;                 /* Bytes in 'data'. */
    uint8_t *data;              /* The frame, owned. */
};

static int
ctl_check_port(struct control_ctx *ctx, struct privd_dp *dp,
               uint32_t port_no)
{
    if (!ctl_port_ok(port_no, dp)) {
        return errbuf_set(&ctx->eb, ENOENT, "no port %u in %s", port_no,
                          dpif_name(dp->dpif));
    }
    return 0;
}

static int
ctl_inject(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    const Dpif__InjectRequest *r = rq->inject;
    struct privd_dp *dp;

    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error) {
        error = ctl_check_port(ctx, dp, r->port_no);
    }
    if (error) {
        return error;
    }
    if (!r->n_frames || r->n_frames > IPC_MAX_INJECT_FRAMES) {
        return ctl_invalid(ctx, EINVAL, "frames: expected 1 to %d",
                          IPC_MAX_INJECT_FRAMES);
    }
    for (size_t i = 0; i < r->n_frames; i++) {
        if (r->frames[i].len < 14 || r->frames[i].len > IPC_MAX_PACKET) {
            return ctl_invalid(ctx, EINVAL, "frame %zu: expected 14 to "
                              "%d bytes, got %zu", i, IPC_MAX_PACKET,
                              r->frames[i].len);
        }
    }

    uint32_t n = 0;
    for (size_t i = 0; i < r->n_frames; i++) {
        void *frame = ctx_memdup(ctx, r->frames[i].data, r->frames[i].len);
        error = dpif_packet_inject(dp->dpif, r->port_no, frame,
                                   r->frames[i].len);
        if (error) {
            return errbuf_set(&ctx->eb, error, "frame %zu: %s%s", i,
                              strerror(error),
                              error == EOPNOTSUPP
                              ? " (inject works on dummy ports only)" : "");
        }
        n++;
    }
    Dpif__InjectReply *out;
    CTX_NEW(ctx, out, dpif__inject_reply__init);
    out->n_injected = n;
    rp->result_case = DPIF__REPLY__RESULT_INJECT;
    rp->inject = out;
    return 0;
}

/* Frames gathered for one capture request. */
struct ctl_capture {
    struct control_frame *frames;   /* Owned copies. */
    size_t n;                       /* Entries in 'frames'. */
    size_t allocated;               /* Room in 'frames'. */
    const struct dpif *dpif;        /* Datapath read. */
    uint32_t port_no;               /* Port being read. */
};

static void
ctl_capture_cb(const void *frame, size_t len, long long wall_msec, void *aux)
{
    struct ctl_capture *c = aux;
    if (c->n >= c->allocated) {
        c->allocated = c->allocated ? 2 * c->allocated : 16;
        c->frames = xrealloc(c->frames, c->allocated * sizeof *c->frames);
    }
    c->frames[c->n++] = (struct control_frame) {
        c->dpif, c->port_no, wall_msec, len, xmemdup(frame, len ? len : 1),
    };
}

static void
ctl_capture_ignore_cb(const void *frame, size_t len, long long wall_msec,
                      void *aux)
{
}

struct ctl_port_numbers {
    uint32_t *ports;            /* Port numbers, owned. */
    size_t n;                   /* Entries in 'ports'. */
};

static void
ctl_port_numbers_cb(const struct dpif_port *port, void *aux)
{
    struct ctl_port_numbers *p = aux;
    p->ports = xrealloc(p->ports, (p->n + 1) * sizeof *p->ports);
    p->ports[p->n++] = port->port_no;
}

static int
control_frame_cmp_time(const void *a_, const void *b_)
{
    const struct control_frame *a = a_, *b = b_;
    return a->time_msec < b->time_msec ? -1 : a->time_msec > b->time_msec;
}

/* Adds 'f' (whose data the backlog takes over) to the end of the backlog,
 * dropping the oldest frame when it is full. */
static void
ctl_backlog_push(struct ctl_backlog *bl, const struct control_frame *f)
{
    if (bl->n >= CONTROL_MAX_BACKLOG) {
        COUNTER_INC(control_capture_backlog_dropped);
        free(bl->frames[0].data);
        memmove(bl->frames, bl->frames + 1,
                (bl->n - 1) * sizeof *bl->frames);
        bl->n--;
    } else {
        bl->frames = xrealloc(bl->frames,
                               (bl->n + 1) * sizeof *bl->frames);
    }
    bl->frames[bl->n++] = *f;
}

/* capture: frames are returned oldest first: first those privd holds from
 * an earlier clearing read that did not fit, then the datapath's capture
 * rings.  A clearing read empties the rings it read; frames that did not
 * fit in the reply go to privd's backlog ("more" is set), so that nothing
 * is lost between pages. */
static int
ctl_capture(struct control_ctx *ctx, const Dpif__Request *rq, Dpif__Reply *rp)
{
    const Dpif__CaptureRequest *r = rq->capture;
    struct ctl_backlog *bl = ctx->backlog;
    bool clear = r->has_clear && r->clear;
    struct ctl_port_numbers ports = { NULL, 0 };
    struct ctl_capture fresh = { NULL, 0, 0, NULL, 0 };
    struct privd_dp *dp;

    int error = ctl_find_dp(ctx, r->dp, &dp);
    if (!error && r->has_port_no) {
        error = ctl_check_port(ctx, dp, r->port_no);
    }
    if (error) {
        return error;
    }

    if (r->has_port_no) {
        ctl_port_numbers_cb(&(struct dpif_port) { .port_no = r->port_no },
                            &ports);
    } else {
        dpif_port_dump(dp->dpif, ctl_port_numbers_cb, &ports);
    }
    fresh.dpif = dp->dpif;
    for (size_t i = 0; i < ports.n; i++) {
        fresh.port_no = ports.ports[i];
        error = dpif_capture_read(dp->dpif, ports.ports[i], false,
                                  ctl_capture_cb, &fresh);
        if (error && r->has_port_no) {
            errbuf_set(&ctx->eb, error, "port %u: %s%s", r->port_no,
                       strerror(error), error == EOPNOTSUPP
                       ? " (capture works on dummy ports only)" : "");
            goto out;
        }
    }
    error = 0;
    if (fresh.n > 1) {
        qsort(fresh.frames, fresh.n, sizeof *fresh.frames,
              control_frame_cmp_time);
    }

    Dpif__CaptureReply *out;
    size_t used = 0;
    CTX_NEW(ctx, out, dpif__capture_reply__init);

    /* Held frames of this datapath (and port) first, then fresh ones. */
    size_t n_held = 0;
    bool full = false;
    for (size_t i = 0; i < bl->n + fresh.n && !full; i++) {
        const struct control_frame *f;
        if (i < bl->n) {
            f = &bl->frames[i];
            if (f->dpif != dp->dpif
                || (r->has_port_no && f->port_no != r->port_no)) {
                continue;
            }
        } else {
            f = &fresh.frames[i - bl->n];
        }
        if (out->n_frames && used + f->len + 32 > ctx->budget) {
            full = true;
            break;
        }
        used += f->len + 32;
        Dpif__CapturedFrame *cf;
        CTX_NEW(ctx, cf, dpif__captured_frame__init);
        cf->port_no = f->port_no;
        cf->frame = ctx_bytes(ctx, f->data, f->len);
        cf->has_time_msec = true;
        cf->time_msec = f->time_msec;
        CTX_APPEND(ctx, out->frames, out->n_frames, cf);
        if (i < bl->n) {
            n_held++;
        }
    }
    out->more = full;

    if (clear) {
        /* The first 'n_held' matching backlog entries were sent. */
        size_t kept = 0, removed = 0;
        for (size_t i = 0; i < bl->n; i++) {
            struct control_frame *f = &bl->frames[i];
            if (removed < n_held && f->dpif == dp->dpif
                && (!r->has_port_no || f->port_no == r->port_no)) {
                free(f->data);
                removed++;
            } else {
                bl->frames[kept++] = *f;
            }
        }
        bl->n = kept;

        for (size_t i = 0; i < ports.n; i++) {
            dpif_capture_read(dp->dpif, ports.ports[i], true,
                              ctl_capture_ignore_cb, NULL);
        }
        size_t n_fresh_sent = out->n_frames - n_held;
        for (size_t i = n_fresh_sent; i < fresh.n; i++) {
            ctl_backlog_push(bl, &fresh.frames[i]);
            fresh.frames[i].data = NULL;
        }
    }
    rp->result_case = DPIF__REPLY__RESULT_CAPTURE;
    rp->capture = out;

out:
    for (size_t i = 0; i < fresh.n; i++) {
        free(fresh.frames[i].data);
    }
    free(fresh.frames);
    free(ports.ports);
    return error;
}

void
ctl_backlog_forget_dp(struct ctl_backlog *bl, const struct dpif *dpif)
{
    size_t kept = 0;
    for (size_t i = 0; i < bl->n; i++) {
        if (bl->frames[i].dpif == dpif) {
            free(bl->frames[i].data);
        } else {
            bl->frames[kept++] = bl->frames[i];
        }
    }
    bl->n = kept;
}

void
ctl_backlog_destroy(struct ctl_backlog *bl)
{
    for (size_t i = 0; i < bl->n; i++) {
        free(bl->frames[i].data);
    }
    free(bl->frames);
    bl->frames = NULL;
    bl->n = 0;
}

static const struct control_command ctl_dummy_commands[] = {
#define CMD(CASE, NAME, ACCESS, HANDLER) \
    { DPIF__REQUEST__COMMAND_##CASE, NAME, CONTROL_##ACCESS, HANDLER }
    CMD(INJECT, "inject", WRITE, ctl_inject),
    CMD(CAPTURE, "capture", WRITE_IF_CLEAR, ctl_capture),
#undef CMD
};

const struct ctl_command_group ctl_dummy_group = {
    ctl_dummy_commands, ARRAY_SIZE(ctl_dummy_commands),
};
