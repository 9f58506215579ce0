/* Unit tests for the userspace datapath (privd/dpif-netdev.c) through the
 * dpif API, on "dummy" datapaths: flow put/modify/del/get semantics, flush,
 * dumps with concurrent deletes, inject -> hit -> capture, misses and
 * USERSPACE actions as upcalls, per-port ordering, round-robin fairness,
 * overflow, mask collapse, datapath stats, ports and their numbering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/flow.h"
#include "common/log.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/ufid.h"
#include "privd/dpif-provider.h"
#include "privd/dpif.h"
#include "privd/netdev-port.h"
#include "privd/upcall-queue.h"

#define DP_NAME "tdp0"

/* The fixture: a dummy datapath with ports 1 and 2, upcalls on. */
struct fixture {
    struct dpif *dpif;          /* Open handle (owned). */
};

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    uint32_t port_no;

    assert_int_equal(dpif_create_and_open(DP_NAME, "dummy", &fx->dpif), 0);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "tp1", "dummy", &port_no), 0);
    assert_int_equal(port_no, 1);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "tp2", "dummy", &port_no), 0);
    assert_int_equal(port_no, 2);
    assert_int_equal(dpif_recv_set(fx->dpif, true), 0);
    assert_int_equal(dpif_handlers_set(fx->dpif, 1), 0);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(dpif_delete(fx->dpif), 0);
    dpif_close(fx->dpif);
    free(fx);
    return 0;
}

/* A UDP/IPv4 packet flow from 'in_port' to 10.0.0.'dst' port 'tp_dst',
 * source port 'tp_src'. */
static void
make_udp_flow(struct flow *f, uint32_t in_port, uint8_t dst, uint16_t tp_src,
              uint16_t tp_dst)
{
    memset(f, 0, sizeof *f);
    f->in_port = in_port;
    f->dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
    f->dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
    f->dl_type = htons(0x0800);
    f->nw_src = htonl(0x0a000001);
    f->nw_dst = htonl(0x0a000000 | dst);
    f->nw_proto = 17;
    f->nw_ttl = 64;
    f->tp_src = htons(tp_src);
    f->tp_dst = htons(tp_dst);
}

/* Composes the frame of 'f' into 'frame' and replaces 'f' by what the
 * parser extracts from it (with f's in_port), the datapath's view. */
static void
compose(struct flow *f, struct buf *frame)
{
    uint32_t in_port = f->in_port;

    buf_clear(frame);
    assert_int_equal(packet_compose(frame, f, 18, NULL), 0);
    packet_parse(frame->data, frame->size, in_port, f, NULL);
}

static void
flow_key(struct buf *key, const struct flow *f)
{
    buf_clear(key);
    assert_int_equal(odp_key_from_flow(key, f, NULL), 0);
}

/* A megaflow mask: in_port, dl_type, and 'dst_plen' bits of nw_dst. */
static void
make_mask(struct flow *m, unsigned int dst_plen)
{
    memset(m, 0, sizeof *m);
    m->in_port = UINT32_MAX;
    m->dl_type = htons(0xffff);
    m->nw_dst = dst_plen ? htonl(~0u << (32 - dst_plen)) : 0;
}

static int
put_flow(struct dpif *dpif, const struct flow *key_flow,
         const struct flow *mask_flow, const struct buf *actions,
         enum dpif_flow_put_flags flags, const union ufid *ufid,
         struct dpif_flow_stats *stats)
{
    struct buf key, mask;
    buf_init(&key, 0);
    buf_init(&mask, 0);
    flow_key(&key, key_flow);
    if (mask_flow) {
        assert_int_equal(odp_mask_from_flow(&mask, mask_flow, key_flow,
                                            NULL), 0);
    }
    struct dpif_flow_put put = {
        .flags = flags,
        .key = key.data,
        .key_len = key.size,
        .mask = mask_flow ? mask.data : NULL,
        .mask_len = mask_flow ? mask.size : 0,
        .actions = actions ? actions->data : NULL,
        .actions_len = actions ? actions->size : 0,
        .ufid = ufid,
        .stats = stats,
    };
    int error = dpif_flow_put(dpif, &put);
    buf_uninit(&key);
    buf_uninit(&mask);
    return error;
}

static void
inject_flow(struct dpif *dpif, const struct flow *f_)
{
    struct flow f = *f_;
    struct buf frame;
    buf_init(&frame, 0);
    compose(&f, &frame);
    assert_int_equal(dpif_packet_inject(dpif, f.in_port, frame.data,
                                        frame.size), 0);
    buf_uninit(&frame);
}

/* Captured frames, for capture_read(). */
struct captured {
    size_t n;                   /* Frames seen. */
    struct buf last;            /* Copy of the last one. */
};

static void
capture_cb(const void *frame, size_t len, long long wall_msec, void *c_)
{
    struct captured *c = c_;

    c->n++;
    buf_clear(&c->last);
    buf_put(&c->last, frame, len);
    assert_true(wall_msec > 0);
}

static size_t
capture_count(struct dpif *dpif, uint32_t port_no, bool clear)
{
    struct captured c = { 0 };
    buf_init(&c.last, 0);
    assert_int_equal(dpif_capture_read(dpif, port_no, clear, capture_cb, &c),
                     0);
    buf_uninit(&c.last);
    return c.n;
}

/* --- type properties --- */

/* Userspace datapaths die with privd and have privd feed their upcalls;
 * the kernel's ("system") outlives it and hands out upcall sockets. */
static void
test_class_properties(void **state)
{
    struct fixture *fx = *state;
    const struct dpif_class *system = dpif_class_lookup("system");

    assert_false(dpif_outlives_process(fx->dpif));
    assert_false(dpif_has_upcall_sockets(fx->dpif));
    assert_false(dpif_class_lookup("netdev")->outlives_process);
    assert_false(dpif_class_lookup("netdev")->upcall_sockets);
    assert_ptr_equal(system, &dpif_system_class);
    assert_true(system->outlives_process);
    assert_true(system->upcall_sockets);
}

/* --- flow table semantics --- */

static void
test_put_create_modify_semantics(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, out1, out2;
    struct dpif_flow_stats stats;

    buf_init(&frame, 0);
    buf_init(&out1, 0);
    buf_init(&out2, 0);
    odp_put_output(&out1, 2);
    odp_put_output(&out2, 1);
    make_udp_flow(&f, 1, 5, 1000, 53);
    compose(&f, &frame);
    make_mask(&m, 24);
    /* Exercise the debug log of flow ops in the text format. */
    assert_int_equal(log_set_level("dpif", LOG_LEVEL_DBG), 0);

    /* MODIFY without CREATE on a missing flow: ENOENT. */
    assert_int_equal(put_flow(fx->dpif, &f, &m, &out1, DPIF_FP_MODIFY, NULL,
                              NULL), ENOENT);
    /* CREATE: stats of the new flow are zero. */
    memset(&stats, 0xff, sizeof stats);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &out1, DPIF_FP_CREATE, NULL,
                              &stats), 0);
    assert_int_equal(stats.n_packets, 0);
    assert_int_equal(stats.used, 0);
    /* CREATE again: EEXIST. */
    assert_int_equal(put_flow(fx->dpif, &f, &m, &out1, DPIF_FP_CREATE, NULL,
                              NULL), EEXIST);

    /* Two hits, then MODIFY returns the old stats and changes actions. */
    inject_flow(fx->dpif, &f);
    inject_flow(fx->dpif, &f);
    assert_int_equal(capture_count(fx->dpif, 2, true), 2);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &out2, DPIF_FP_MODIFY, NULL,
                              &stats), 0);
    assert_int_equal(stats.n_packets, 2);
    assert_int_equal(stats.n_bytes, 2 * frame.size);
    assert_true(stats.used > 0);
    inject_flow(fx->dpif, &f);
    assert_int_equal(capture_count(fx->dpif, 1, true), 1);
    assert_int_equal(capture_count(fx->dpif, 2, true), 0);

    /* MODIFY | ZERO_STATS returns the stats then zeroes them. */
    assert_int_equal(put_flow(fx->dpif, &f, &m, &out2,
                              DPIF_FP_MODIFY | DPIF_FP_ZERO_STATS, NULL,
                              &stats), 0);
    assert_int_equal(stats.n_packets, 3);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &out2,
                              DPIF_FP_CREATE | DPIF_FP_MODIFY, NULL, &stats),
                     0);
    assert_int_equal(stats.n_packets, 0);

    /* A UFID already naming another flow cannot be reused. */
    union ufid u = { .u32 = { 1, 2, 3, 4 } };
    struct flow f2;
    make_udp_flow(&f2, 3, 77, 1000, 53);
    compose(&f2, &frame);
    assert_int_equal(put_flow(fx->dpif, &f2, &m, &out1, DPIF_FP_CREATE, &u,
                              NULL), 0);
    struct flow f3;
    make_udp_flow(&f3, 4, 78, 1000, 53);
    compose(&f3, &frame);
    assert_int_equal(put_flow(fx->dpif, &f3, &m, &out1, DPIF_FP_CREATE, &u,
                              NULL), EEXIST);
    assert_int_equal(put_flow(fx->dpif, &f3, &m, &out1, DPIF_FP_MODIFY, &u,
                              NULL), ENOENT);

    assert_int_equal(log_set_level("dpif", LOG_LEVEL_INFO), 0);
    buf_uninit(&frame);
    buf_uninit(&out1);
    buf_uninit(&out2);
}

static void
test_put_rejects_bad_input(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, actions;

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    make_udp_flow(&f, 1, 5, 1000, 53);
    compose(&f, &frame);
    make_mask(&m, 32);

    /* Output to a port that does not exist. */
    odp_put_output(&actions, 9);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE,
                              NULL, NULL), ENODEV);
    /* USERSPACE to a pid that is no channel of this datapath. */
    buf_clear(&actions);
    odp_put_userspace(&actions, 4242, NULL, 0, ODP_PORT_NONE, false);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE,
                              NULL, NULL), EPERM);

    /* A malformed key. */
    uint8_t garbage[8] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
    struct dpif_flow_put put = {
        .flags = DPIF_FP_CREATE,
        .key = garbage,
        .key_len = sizeof garbage,
    };
    assert_int_equal(dpif_flow_put(fx->dpif, &put), EINVAL);

    struct dpif_dp_stats st;
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_flows, 0);
    buf_uninit(&frame);
    buf_uninit(&actions);
}

/* Gets a flow by UFID (or key) and checks what comes back. */
static void
test_get_and_del_by_ufid_and_key(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, actions, key, mask, gbuf;

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    buf_init(&key, 0);
    buf_init(&mask, 0);
    buf_init(&gbuf, 0);
    make_udp_flow(&f, 1, 9, 1000, 80);
    compose(&f, &frame);
    make_mask(&m, 16);
    odp_put_output(&actions, 2);
    flow_key(&key, &f);
    assert_int_equal(odp_mask_from_flow(&mask, &m, &f, NULL), 0);

    union ufid u = { .u32 = { 0xdead, 0xbeef, 7, 8 } };
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE, &u,
                              NULL), 0);
    inject_flow(fx->dpif, &f);

    /* By UFID: the original key, mask and actions bytes. */
    struct dpif_flow got;
    struct dpif_flow_get get = { .ufid = &u, .buffer = &gbuf, .flow = &got };
    assert_int_equal(dpif_flow_get(fx->dpif, &get), 0);
    assert_true(ufid_equals(&got.ufid, &u));
    assert_int_equal(got.key_len, key.size);
    assert_memory_equal(got.key, key.data, key.size);
    assert_int_equal(got.mask_len, mask.size);
    assert_memory_equal(got.mask, mask.data, mask.size);
    assert_int_equal(got.actions_len, actions.size);
    assert_memory_equal(got.actions, actions.data, actions.size);
    assert_int_equal(got.stats.n_packets, 1);
    assert_int_equal(got.stats.n_bytes, frame.size);

    /* By key. */
    struct dpif_flow_get get2 = { .key = key.data, .key_len = key.size,
                                  .buffer = &gbuf, .flow = &got };
    assert_int_equal(dpif_flow_get(fx->dpif, &get2), 0);
    assert_true(ufid_equals(&got.ufid, &u));

    /* A key that differs in a wildcarded field names no flow. */
    struct flow other = f;
    other.tp_dst = htons(81);
    struct buf okey;
    buf_init(&okey, 0);
    flow_key(&okey, &other);
    struct dpif_flow_get get3 = { .key = okey.data, .key_len = okey.size,
                                  .buffer = &gbuf, .flow = &got };
    assert_int_equal(dpif_flow_get(fx->dpif, &get3), ENOENT);
    struct dpif_flow_del del_other = { .key = okey.data,
                                       .key_len = okey.size };
    assert_int_equal(dpif_flow_del(fx->dpif, &del_other), ENOENT);

    /* Delete by key returns the final stats; then gone both ways. */
    struct dpif_flow_stats stats;
    struct dpif_flow_del del = { .key = key.data, .key_len = key.size,
                                 .stats = &stats };
    assert_int_equal(dpif_flow_del(fx->dpif, &del), 0);
    assert_int_equal(stats.n_packets, 1);
    assert_int_equal(dpif_flow_get(fx->dpif, &get), ENOENT);
    struct dpif_flow_del del2 = { .ufid = &u };
    assert_int_equal(dpif_flow_del(fx->dpif, &del2), ENOENT);

    /* Without a mask: exact match, and get returns an explicit mask; the
     * UFID is derived from key and mask. */
    assert_int_equal(put_flow(fx->dpif, &f, NULL, &actions, DPIF_FP_CREATE,
                              NULL, NULL), 0);
    union ufid derived;
    ufid_from_key(key.data, key.size, NULL, 0, &derived);
    struct dpif_flow_get get4 = { .ufid = &derived, .buffer = &gbuf,
                                  .flow = &got };
    assert_int_equal(dpif_flow_get(fx->dpif, &get4), 0);
    assert_true(got.mask_len > 0);
    struct flow dm;
    assert_int_not_equal(odp_mask_to_flow(got.mask, got.mask_len, &f, &dm,
                                          NULL), ODP_FIT_ERROR);
    assert_int_equal(dm.tp_dst, htons(0xffff));
    assert_int_equal(dm.nw_src, htonl(0xffffffff));
    /* Exact: another source port misses. */
    other = f;
    other.tp_src = htons(1001);
    inject_flow(fx->dpif, &other);
    struct dpif_dp_stats st;
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_missed, 1);

    buf_uninit(&okey);
    buf_uninit(&frame);
    buf_uninit(&actions);
    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&gbuf);
}

static void
test_flush_and_mask_collapse(void **state)
{
    struct fixture *fx = *state;
    struct buf frame, actions;
    struct dpif_dp_stats st;

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    odp_put_output(&actions, 2);

    /* Three masks: /8, /16, /24, two flows each. */
    struct flow fl[6];
    unsigned int plens[3] = { 8, 16, 24 };
    for (int i = 0; i < 6; i++) {
        struct flow m;
        make_udp_flow(&fl[i], 1, (uint8_t) i, 1000, 53);
        fl[i].nw_dst = htonl((uint32_t) (i + 1) << 24 | (uint32_t) i);
        compose(&fl[i], &frame);
        make_mask(&m, plens[i % 3]);
        assert_int_equal(put_flow(fx->dpif, &fl[i], &m, &actions,
                                  DPIF_FP_CREATE, NULL, NULL), 0);
    }
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_flows, 6);
    assert_int_equal(st.n_masks, 3);

    /* Deleting one flow of a mask keeps it; the second collapses it. */
    struct buf key;
    buf_init(&key, 0);
    for (int i = 0; i < 2; i++) {
        flow_key(&key, &fl[i * 3]);
        struct dpif_flow_del del = { .key = key.data, .key_len = key.size };
        assert_int_equal(dpif_flow_del(fx->dpif, &del), 0);
        assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
        assert_int_equal(st.n_masks, i == 0 ? 3 : 2);
    }

    assert_int_equal(dpif_flow_flush(fx->dpif), 0);
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_flows, 0);
    assert_int_equal(st.n_masks, 0);
    /* A flushed flow no longer matches (the EMC forgot it too). */
    inject_flow(fx->dpif, &fl[1]);
    assert_int_equal(capture_count(fx->dpif, 2, true), 0);
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_missed, 1);

    buf_uninit(&key);
    buf_uninit(&frame);
    buf_uninit(&actions);
}

/* --- dumps --- */

#define DUMP_FLOWS 100

static void
test_dump_with_concurrent_deletes(void **state)
{
    struct fixture *fx = *state;
    struct buf frame, actions, key;
    struct flow fl[DUMP_FLOWS];
    union ufid ufids[DUMP_FLOWS];
    int seen[DUMP_FLOWS] = { 0 };
    bool deleted[DUMP_FLOWS] = { false };
    struct flow m;

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    buf_init(&key, 0);
    odp_put_output(&actions, 2);
    make_mask(&m, 32);
    for (int i = 0; i < DUMP_FLOWS; i++) {
        make_udp_flow(&fl[i], 1, (uint8_t) i, 1000, 53);
        compose(&fl[i], &frame);
        ufids[i] = (union ufid) { .u32 = { (uint32_t) i, 0, 0, 42 } };
        assert_int_equal(put_flow(fx->dpif, &fl[i], &m, &actions,
                                  DPIF_FP_CREATE, &ufids[i], NULL), 0);
    }

    for (int terse = 0; terse < 2; terse++) {
        memset(seen, 0, sizeof seen);
        struct dpif_flow_dump *dump = dpif_flow_dump_create(fx->dpif, terse);
        struct dpif_flow_dump_thread *t = dpif_flow_dump_thread_create(dump);
        struct dpif_flow batch[7];
        int n, round = 0;

        while ((n = dpif_flow_dump_next(t, batch, 7)) > 0) {
            for (int i = 0; i < n; i++) {
                int id = (int) batch[i].ufid.u32[0];
                assert_true(id >= 0 && id < DUMP_FLOWS);
                assert_false(deleted[id]);
                seen[id]++;
                if (terse) {
                    assert_null(batch[i].key);
                    assert_int_equal(batch[i].actions_len, 0);
                } else {
                    flow_key(&key, &fl[id]);
                    assert_int_equal(batch[i].key_len, key.size);
                    assert_memory_equal(batch[i].key, key.data, key.size);
                    assert_int_equal(batch[i].actions_len, actions.size);
                    assert_memory_equal(batch[i].actions, actions.data,
                                        actions.size);
                }
            }
            /* Between batches: delete some flows, seen or not yet. */
            if (!terse && round++ < 3) {
                for (int id = round * 17; id < DUMP_FLOWS; id += 23) {
                    if (!deleted[id]) {
                        struct dpif_flow_del del = { .ufid = &ufids[id] };
                        assert_int_equal(dpif_flow_del(fx->dpif, &del), 0);
                        deleted[id] = true;
                    }
                }
            }
        }
        dpif_flow_dump_thread_destroy(t);
        assert_int_equal(dpif_flow_dump_destroy(dump), 0);
        for (int id = 0; id < DUMP_FLOWS; id++) {
            /* Present throughout: exactly once.  Deleted: at most once. */
            if (!deleted[id]) {
                assert_int_equal(seen[id], 1);
            } else {
                assert_true(seen[id] <= 1);
            }
        }
    }
    buf_uninit(&frame);
    buf_uninit(&actions);
    buf_uninit(&key);
}

/* --- packets, captures, upcalls --- */

static void
test_inject_hit_capture_byte_exact(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, actions;
    struct captured c = { 0 };

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    buf_init(&c.last, 0);
    make_udp_flow(&f, 1, 3, 4000, 5000);
    compose(&f, &frame);
    make_mask(&m, 24);
    odp_put_output(&actions, 2);
    odp_put_output(&actions, 0);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE,
                              NULL, NULL), 0);
    assert_int_equal(dpif_packet_inject(fx->dpif, 1, frame.data, frame.size),
                     0);

    assert_int_equal(dpif_capture_read(fx->dpif, 2, false, capture_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.last.size, frame.size);
    assert_memory_equal(c.last.data, frame.data, frame.size);
    /* Not cleared: read again, then clear. */
    assert_int_equal(capture_count(fx->dpif, 2, true), 1);
    assert_int_equal(capture_count(fx->dpif, 2, false), 0);
    assert_int_equal(capture_count(fx->dpif, 0, true), 1);
    assert_int_equal(capture_count(fx->dpif, 1, true), 0);

    struct dpif_port_stats ps;
    assert_int_equal(dpif_port_get_stats(fx->dpif, 1, &ps), 0);
    assert_int_equal(ps.rx_packets, 1);
    assert_int_equal(ps.rx_bytes, frame.size);
    assert_int_equal(dpif_port_get_stats(fx->dpif, 2, &ps), 0);
    assert_int_equal(ps.tx_packets, 1);

    /* TCP flags accumulate in the flow's stats. */
    struct flow t, tm;
    make_udp_flow(&t, 1, 4, 4000, 80);
    t.nw_dst = htonl(0x0a000104);        /* Outside f's /24. */
    t.nw_proto = 6;
    t.tcp_flags = htons(0x002);           /* SYN */
    compose(&t, &frame);
    make_mask(&tm, 32);
    union ufid tu = { .u32 = { 9, 9, 9, 9 } };
    assert_int_equal(put_flow(fx->dpif, &t, &tm, &actions, DPIF_FP_CREATE,
                              &tu, NULL), 0);
    inject_flow(fx->dpif, &t);
    t.tcp_flags = htons(0x010);           /* ACK */
    inject_flow(fx->dpif, &t);
    struct dpif_flow_stats st;
    struct dpif_flow_del del = { .ufid = &tu, .stats = &st };
    assert_int_equal(dpif_flow_del(fx->dpif, &del), 0);
    assert_int_equal(st.n_packets, 2);
    assert_int_equal(st.tcp_flags, 0x012);

    buf_uninit(&c.last);
    buf_uninit(&frame);
    buf_uninit(&actions);
}

static void
test_capture_ring_overflow(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, actions;

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    make_udp_flow(&f, 1, 3, 4000, 5000);
    compose(&f, &frame);
    make_mask(&m, 8);
    odp_put_output(&actions, 2);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE,
                              NULL, NULL), 0);
    uint64_t before = counter_get("netdev_dummy_capture_overflow");
    for (int i = 0; i < NETDEV_CAPTURE_LEN + 10; i++) {
        assert_int_equal(dpif_packet_inject(fx->dpif, 1, frame.data,
                                            frame.size), 0);
    }
    assert_int_equal(capture_count(fx->dpif, 2, true), NETDEV_CAPTURE_LEN);
    assert_int_equal(counter_get("netdev_dummy_capture_overflow") - before, 10);
    struct dpif_port_stats ps;
    assert_int_equal(dpif_port_get_stats(fx->dpif, 2, &ps), 0);
    assert_int_equal(ps.tx_dropped, 10);
    buf_uninit(&frame);
    buf_uninit(&actions);
}

static void
test_miss_upcall_has_correct_key(void **state)
{
    struct fixture *fx = *state;
    struct flow f;
    struct buf frame, key;
    struct dpif_upcall up;

    buf_init(&frame, 0);
    buf_init(&key, 0);
    dpif_upcall_init(&up);
    make_udp_flow(&f, 2, 7, 1234, 4321);
    compose(&f, &frame);
    assert_int_equal(dpif_packet_inject(fx->dpif, 2, frame.data, frame.size),
                     0);
    assert_int_equal(dpif_recv(fx->dpif, 0, &up), 0);
    assert_int_equal(up.type, DPIF_UC_MISS);
    assert_int_equal(up.in_port, 2);
    assert_int_equal(up.pid, dpif_port_get_pid(fx->dpif, 2));
    assert_int_equal(up.packet.size, frame.size);
    assert_memory_equal(up.packet.data, frame.data, frame.size);
    flow_key(&key, &f);
    assert_int_equal(up.key.size, key.size);
    assert_memory_equal(up.key.data, key.data, key.size);
    assert_int_equal(up.userdata.size, 0);
    struct flow back;
    assert_int_equal(odp_key_to_flow(up.key.data, up.key.size, &back, NULL),
                     ODP_FIT_PERFECT);
    assert_int_equal(back.in_port, 2);
    assert_int_equal(dpif_recv(fx->dpif, 0, &up), EAGAIN);

    /* With upcalls disabled, a miss is lost and the pid is 0. */
    assert_int_equal(dpif_recv_set(fx->dpif, false), 0);
    assert_int_equal(dpif_port_get_pid(fx->dpif, 2), 0);
    assert_int_equal(dpif_packet_inject(fx->dpif, 2, frame.data, frame.size),
                     0);
    struct dpif_dp_stats st;
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_missed, 1);
    assert_int_equal(st.n_lost, 1);

    dpif_upcall_uninit(&up);
    buf_uninit(&frame);
    buf_uninit(&key);
}

static void
test_userspace_action_upcall_and_special_channel(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, actions;
    struct dpif_upcall up;
    static const char cookie[] = "cookie!";

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    dpif_upcall_init(&up);
    assert_int_equal(dpif_handlers_set(fx->dpif, 2), 0);
    uint32_t special = dpif_port_get_pid(fx->dpif, DPIF_SPECIAL_PORT_PID);
    uint32_t pid1 = dpif_port_get_pid(fx->dpif, 1);
    uint32_t pid2 = dpif_port_get_pid(fx->dpif, 2);
    assert_int_not_equal(special, 0);
    assert_int_not_equal(pid1, pid2);

    make_udp_flow(&f, 1, 3, 4000, 5000);
    compose(&f, &frame);
    make_mask(&m, 24);
    odp_put_userspace(&actions, special, cookie, sizeof cookie,
                      ODP_PORT_NONE, false);
    odp_put_userspace(&actions, pid1, NULL, 0, ODP_PORT_NONE, false);
    odp_put_output(&actions, 2);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE,
                              NULL, NULL), 0);
    inject_flow(fx->dpif, &f);

    /* The special channel is served by handler 0. */
    assert_int_equal(dpif_recv(fx->dpif, 0, &up), 0);
    assert_int_equal(up.type, DPIF_UC_ACTION);
    assert_int_equal(up.pid, special);
    assert_int_equal(up.in_port, 1);
    assert_int_equal(up.userdata.size, sizeof cookie);
    assert_memory_equal(up.userdata.data, cookie, sizeof cookie);
    assert_int_equal(up.packet.size, frame.size);
    assert_int_equal(dpif_recv(fx->dpif, 0, &up), EAGAIN);
    /* Port 1's channel is handler 1 (ports are spread by number). */
    assert_int_equal(dpif_recv(fx->dpif, 1, &up), 0);
    assert_int_equal(up.pid, pid1);
    assert_int_equal(up.userdata.size, 0);
    assert_int_equal(capture_count(fx->dpif, 2, true), 1);
    assert_int_equal(dpif_recv(fx->dpif, 7, &up), EINVAL);

    dpif_upcall_uninit(&up);
    buf_uninit(&frame);
    buf_uninit(&actions);
}

/* Injects a miss from 'in_port' whose UDP source port is 'seq'. */
static void
inject_seq(struct dpif *dpif, uint32_t in_port, uint16_t seq)
{
    struct flow f;
    make_udp_flow(&f, in_port, 1, seq, 9);
    inject_flow(dpif, &f);
}

static void
test_upcall_order_fairness_overflow(void **state)
{
    struct fixture *fx = *state;
    struct dpif_upcall up;
    struct dpif_dp_stats st;

    dpif_upcall_init(&up);
    /* Port 1 floods 1000 misses, then port 2 sends 10. */
    for (uint16_t i = 0; i < 1000; i++) {
        inject_seq(fx->dpif, 1, i);
    }
    for (uint16_t i = 0; i < 10; i++) {
        inject_seq(fx->dpif, 2, i);
    }
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_missed, DPIF_UPCALL_QUEUE_LEN + 10);
    assert_int_equal(st.n_lost, 1000 - DPIF_UPCALL_QUEUE_LEN);

    int next_seq[3] = { 0, 0, 0 };
    int n = 0, last_b = -1;
    while (!dpif_recv(fx->dpif, 0, &up)) {
        struct flow f;
        assert_int_not_equal(odp_key_to_flow(up.key.data, up.key.size, &f,
                                             NULL), ODP_FIT_ERROR);
        assert_int_equal(f.in_port, up.in_port);
        /* Within a port: arrival order, oldest first, none skipped. */
        assert_int_equal(ntohs(f.tp_src), next_seq[up.in_port]);
        next_seq[up.in_port]++;
        if (up.in_port == 2) {
            last_b = n;
        }
        n++;
    }
    assert_int_equal(n, DPIF_UPCALL_QUEUE_LEN + 10);
    assert_int_equal(next_seq[1], DPIF_UPCALL_QUEUE_LEN);
    assert_int_equal(next_seq[2], 10);
    /* Round robin: port 2's ten upcalls are among the first 20. */
    assert_true(last_b < 20);
    dpif_upcall_uninit(&up);
}

static void
test_handlers_spread_ports(void **state)
{
    struct fixture *fx = *state;
    struct dpif_upcall up;

    dpif_upcall_init(&up);
    uint32_t port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "tp3", "dummy", &port_no), 0);
    assert_int_equal(dpif_handlers_set(fx->dpif, 3), 0);
    uint32_t pids[4];
    for (uint32_t p = 0; p < 4; p++) {
        pids[p] = dpif_port_get_pid(fx->dpif, p);
        assert_int_not_equal(pids[p], 0);
    }
    assert_int_not_equal(pids[1], pids[2]);
    assert_int_not_equal(pids[2], pids[3]);
    assert_int_not_equal(pids[1], pids[3]);
    assert_int_equal(dpif_port_get_pid(fx->dpif, 99), 0);

    inject_seq(fx->dpif, 3, 0);
    for (uint32_t h = 0; h < 3; h++) {
        int error = dpif_recv(fx->dpif, h, &up);
        if (h == pids[3] - 1) {
            assert_int_equal(error, 0);
            assert_int_equal(up.in_port, 3);
        } else {
            assert_int_equal(error, EAGAIN);
        }
    }
    /* Purge drops what is queued without counting it lost. */
    inject_seq(fx->dpif, 3, 1);
    dpif_recv_purge(fx->dpif);
    assert_int_equal(dpif_recv(fx->dpif, pids[3] - 1, &up), EAGAIN);
    dpif_upcall_uninit(&up);
}

static void
test_recirc_and_execute(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m;
    struct buf frame, a1, a2, key;

    buf_init(&frame, 0);
    buf_init(&a1, 0);
    buf_init(&a2, 0);
    buf_init(&key, 0);
    make_udp_flow(&f, 1, 3, 4000, 5000);
    compose(&f, &frame);
    make_mask(&m, 24);
    m.recirc_id = UINT32_MAX;

    /* Pass 1 recirculates to id 7; pass 2 (recirc_id 7) outputs to 2. */
    odp_put_recirc(&a1, 7);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &a1, DPIF_FP_CREATE, NULL,
                              NULL), 0);
    struct flow f7 = f;
    f7.recirc_id = 7;
    odp_put_output(&a2, 2);
    assert_int_equal(put_flow(fx->dpif, &f7, &m, &a2, DPIF_FP_CREATE, NULL,
                              NULL), 0);
    assert_int_equal(dpif_packet_inject(fx->dpif, 1, frame.data, frame.size),
                     0);
    assert_int_equal(capture_count(fx->dpif, 2, true), 1);
    struct dpif_dp_stats st;
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_hit, 2);

    /* Execute: actions on a given packet, metadata from the key. */
    flow_key(&key, &f);
    struct dpif_execute ex = {
        .key = key.data, .key_len = key.size,
        .packet = frame.data, .packet_len = frame.size,
        .actions = a2.data, .actions_len = a2.size,
    };
    assert_int_equal(dpif_execute(fx->dpif, &ex), 0);
    struct captured c = { 0 };
    buf_init(&c.last, 0);
    assert_int_equal(dpif_capture_read(fx->dpif, 2, true, capture_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_memory_equal(c.last.data, frame.data, frame.size);
    buf_uninit(&c.last);

    /* Execute with an output to a port that does not exist: refused. */
    buf_clear(&a2);
    odp_put_output(&a2, 77);
    ex.actions = a2.data;
    ex.actions_len = a2.size;
    assert_int_equal(dpif_execute(fx->dpif, &ex), ENODEV);

    buf_uninit(&frame);
    buf_uninit(&a1);
    buf_uninit(&a2);
    buf_uninit(&key);
}

static void
test_dp_stats(void **state)
{
    struct fixture *fx = *state;
    struct flow f, m, g;
    struct buf frame, actions;
    struct dpif_dp_stats st;

    buf_init(&frame, 0);
    buf_init(&actions, 0);
    odp_put_output(&actions, 2);
    make_udp_flow(&f, 1, 3, 4000, 5000);
    compose(&f, &frame);
    make_mask(&m, 24);
    assert_int_equal(put_flow(fx->dpif, &f, &m, &actions, DPIF_FP_CREATE,
                              NULL, NULL), 0);
    for (int i = 0; i < 5; i++) {
        inject_flow(fx->dpif, &f);
    }
    make_udp_flow(&g, 2, 3, 4000, 5000);
    for (int i = 0; i < 3; i++) {
        inject_flow(fx->dpif, &g);
    }
    assert_int_equal(dpif_get_dp_stats(fx->dpif, &st), 0);
    assert_int_equal(st.n_hit, 5);
    assert_int_equal(st.n_missed, 3);
    assert_int_equal(st.n_lost, 0);
    assert_int_equal(st.n_flows, 1);
    assert_int_equal(st.n_masks, 1);
    assert_int_equal(st.n_mask_hit, 5);
    buf_uninit(&frame);
    buf_uninit(&actions);
}

/* --- ports --- */

/* Collects a port dump. */
struct port_list {
    uint32_t numbers[16];       /* Port numbers seen. */
    char names[16][16];         /* Their names. */
    size_t n;                   /* How many. */
};

static void
port_dump_cb(const struct dpif_port *port, void *pl_)
{
    struct port_list *pl = pl_;

    assert_true(pl->n < 16);
    pl->numbers[pl->n] = port->port_no;
    strncpy(pl->names[pl->n], port->name, 15);
    assert_string_equal(port->type, "dummy");
    pl->n++;
}

static void
test_ports_numbering_and_queries(void **state)
{
    struct fixture *fx = *state;
    struct dpif_port port;
    uint32_t port_no;

    /* The local port is port 0, named after the datapath. */
    assert_int_equal(dpif_port_query_by_number(fx->dpif, 0, &port), 0);
    assert_string_equal(port.name, DP_NAME);
    assert_string_equal(port.type, "dummy");
    dpif_port_destroy(&port);
    assert_int_equal(dpif_port_del(fx->dpif, 0), EINVAL);

    /* Requested numbers. */
    port_no = 2;
    assert_int_equal(dpif_port_add(fx->dpif, "tpx", "dummy", &port_no), EBUSY);
    port_no = 65536;
    assert_int_equal(dpif_port_add(fx->dpif, "tpx", "dummy", &port_no), EFBIG);
    port_no = 10;
    assert_int_equal(dpif_port_add(fx->dpif, "tp10", "dummy", &port_no), 0);
    assert_int_equal(port_no, 10);
    /* Names are unique. */
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "tp10", "dummy", &port_no),
                     EEXIST);
    assert_int_equal(dpif_port_add(fx->dpif, DP_NAME, "dummy", &port_no),
                     EEXIST);
    /* Types: unknown, and real ones refused by a dummy datapath. */
    assert_int_equal(dpif_port_add(fx->dpif, "tpy", "bogus", &port_no),
                     EINVAL);
    assert_int_equal(dpif_port_add(fx->dpif, "tpy", "system", &port_no),
                     EOPNOTSUPP);
    assert_int_equal(dpif_port_add(fx->dpif, "tpy", "internal", &port_no),
                     EOPNOTSUPP);

    /* Lowest free number: 3; after deleting 1, 1 again. */
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "tp3", NULL, &port_no), 0);
    assert_int_equal(port_no, 3);
    assert_int_equal(dpif_port_del(fx->dpif, 1), 0);
    assert_int_equal(dpif_port_del(fx->dpif, 1), ENODEV);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(fx->dpif, "tp1b", "dummy", &port_no), 0);
    assert_int_equal(port_no, 1);

    /* Queries. */
    assert_int_equal(dpif_port_query_by_name(fx->dpif, "tp10", &port), 0);
    assert_int_equal(port.port_no, 10);
    dpif_port_destroy(&port);
    assert_int_equal(dpif_port_query_by_name(fx->dpif, "nope", &port),
                     ENODEV);
    assert_int_equal(dpif_port_query_by_number(fx->dpif, 4, &port), ENODEV);
    assert_int_equal(dpif_packet_inject(fx->dpif, 4, "01234567890123", 14),
                     ENODEV);

    /* Dump: in number order. */
    struct port_list pl = { .n = 0 };
    assert_int_equal(dpif_port_dump(fx->dpif, port_dump_cb, &pl), 0);
    assert_int_equal(pl.n, 5);
    uint32_t want[5] = { 0, 1, 2, 3, 10 };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(pl.numbers[i], want[i]);
    }
    assert_string_equal(pl.names[1], "tp1b");
}

/* Collects names from dpif_enumerate(). */
static void
enumerate_cb(const char *name, void *found_)
{
    bool *found = found_;
    if (!strcmp(name, "tdp9")) {
        *found = true;
    }
}

static void
test_open_enumerate_destroy(void **state)
{
    (void) state;
    struct dpif *a, *b;
    bool found = false;

    assert_int_equal(dpif_open("tdp9", "dummy", &a), ENODEV);
    assert_int_equal(dpif_create_and_open("tdp9", "dummy", &a), 0);
    assert_string_equal(dpif_name(a), "tdp9");
    assert_string_equal(dpif_type(a), "dummy");
    assert_int_equal(dpif_open("tdp9", "dummy", &b), 0);
    assert_int_equal(dpif_enumerate("dummy", enumerate_cb, &found), 0);
    assert_true(found);

    /* The datapath outlives a closed handle. */
    dpif_close(b);
    assert_int_equal(dpif_open("tdp9", "dummy", &b), 0);
    /* Port names are unique across datapaths of the type. */
    uint32_t port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(b, "tp1", "dummy", &port_no), 0);
    struct dpif *c;
    assert_int_equal(dpif_create_and_open("tdp8", "dummy", &c), 0);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(c, "tp1", "dummy", &port_no), EEXIST);
    assert_int_equal(dpif_delete(c), 0);
    dpif_close(c);

    assert_int_equal(dpif_delete(a), 0);
    found = false;
    assert_int_equal(dpif_enumerate("dummy", enumerate_cb, &found), 0);
    assert_false(found);
    /* The other handle still works, on an empty datapath. */
    assert_int_equal(dpif_port_query_by_number(b, 0, NULL), ENODEV);
    port_no = UINT32_MAX;
    assert_int_equal(dpif_port_add(b, "tpz", "dummy", &port_no), ENODEV);
    dpif_close(a);
    dpif_close(b);
    assert_int_equal(dpif_open("tdp9", "dummy", &a), ENODEV);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_class_properties, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_put_create_modify_semantics,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_rejects_bad_input,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_and_del_by_ufid_and_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_and_mask_collapse,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_with_concurrent_deletes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_inject_hit_capture_byte_exact,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_ring_overflow,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_miss_upcall_has_correct_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_userspace_action_upcall_and_special_channel, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_upcall_order_fairness_overflow,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_handlers_spread_ports,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_recirc_and_execute,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dp_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_numbering_and_queries,
                                        setup, teardown),
        cmocka_unit_test(test_open_enumerate_destroy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
