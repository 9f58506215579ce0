/* Packets per second through the userspace datapath's hit path with dummy
 * ports: dpif_packet_inject() -> parse -> EMC/classifier lookup -> flow
 * stats -> execute output:2 -> capture ring, for 1, 10 and 100 masks (one
 * flow per mask, traffic spread evenly over them).  Two traffic patterns:
 * "hot" (as many distinct packet flows as megaflows: the exact-match cache
 * answers) and "spread" (every packet a new 5-tuple in a wildcarded field:
 * the EMC misses and the classifier searches the masks).  Prints; asserts
 * nothing. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/timeval.h"
#include "privd/dpif.h"

#define N_FRAMES 65536          /* Distinct frames of "spread" (> EMC). */
#define N_PACKETS 2000000       /* Packets injected per measurement. */

/* The flow of mask 'i': nw_dst 10.i.0.1 exact, plus a mask-specific
 * nw_src prefix length and tp_src bits so that each mask differs; the
 * destination keeps flows of different masks from overlapping. */
static void
mask_flow(unsigned int i, uint16_t tp_dst, struct flow *f, struct flow *m)
{
    memset(f, 0, sizeof *f);
    f->in_port = 1;
    f->dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
    f->dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
    f->dl_type = htons(0x0800);
    f->nw_src = htonl(0xc0a80001);
    f->nw_dst = htonl(0x0a000001 | i << 16);
    f->nw_proto = 17;
    f->nw_ttl = 64;
    f->tp_src = htons(1000);
    f->tp_dst = htons(tp_dst);

    memset(m, 0, sizeof *m);
    m->in_port = UINT32_MAX;
    m->dl_type = htons(0xffff);
    m->nw_dst = htonl(0xffffffff);
    unsigned int plen = i % 32 + 1;
    m->nw_src = htonl(~0u << (32 - plen));
    m->nw_proto = 0xff;
    m->tp_src = htons((uint16_t) (0xffff << (i / 32 % 4 * 4)));
}

static void
run(unsigned int n_masks, bool spread)
{
    struct dpif *dpif;
    char name[16];
    snprintf(name, sizeof name, "bench%u%d", n_masks, spread);
    if (dpif_create_and_open(name, "dummy", &dpif)) {
        fprintf(stderr, "cannot create datapath\n");
        exit(1);
    }
    char p1[24], p2[24];
    snprintf(p1, sizeof p1, "%sa", name);
    snprintf(p2, sizeof p2, "%sb", name);
    uint32_t port_no = 1;
    dpif_port_add(dpif, p1, "dummy", &port_no);
    port_no = 2;
    dpif_port_add(dpif, p2, "dummy", &port_no);

    struct buf key, mask, actions;
    buf_init(&key, 0);
    buf_init(&mask, 0);
    buf_init(&actions, 0);
    odp_put_output(&actions, 2);
    for (unsigned int i = 0; i < n_masks; i++) {
        struct flow f, m;
        mask_flow(i, 53, &f, &m);
        buf_clear(&key);
        buf_clear(&mask);
        odp_key_from_flow(&key, &f, NULL);
        odp_mask_from_flow(&mask, &m, &f, NULL);
        struct dpif_flow_put put = {
            .flags = DPIF_FP_CREATE,
            .key = key.data, .key_len = key.size,
            .mask = mask.data, .mask_len = mask.size,
            .actions = actions.data, .actions_len = actions.size,
        };
        if (dpif_flow_put(dpif, &put)) {
            fprintf(stderr, "flow put failed\n");
            exit(1);
        }
    }

    /* Frames: for "hot", one per megaflow; for "spread", N_FRAMES with
     * distinct (wildcarded) UDP destination ports. */
    size_t n_frames = spread ? N_FRAMES : n_masks;
    struct buf *frames = calloc(n_frames, sizeof *frames);
    for (size_t j = 0; j < n_frames; j++) {
        struct flow f, m;
        mask_flow((unsigned int) (j % n_masks),
                  (uint16_t) (spread ? j : 53), &f, &m);
        buf_init(&frames[j], 0);
        packet_compose(&frames[j], &f, 18, NULL);
    }

    /* Warm up (EMC, ranking), then measure. */
    for (size_t j = 0; j < 100000; j++) {
        const struct buf *fr = &frames[j % n_frames];
        dpif_packet_inject(dpif, 1, fr->data, fr->size);
    }
    struct dpif_dp_stats before, after;
    dpif_get_dp_stats(dpif, &before);
    long long t0 = time_usec();
    for (size_t j = 0; j < N_PACKETS; j++) {
        const struct buf *fr = &frames[j % n_frames];
        dpif_packet_inject(dpif, 1, fr->data, fr->size);
    }
    long long t1 = time_usec();
    dpif_get_dp_stats(dpif, &after);

    double secs = (double) (t1 - t0) / 1e6;
    uint64_t hits = after.n_hit - before.n_hit;
    printf("%-7s masks=%-4u distinct_packets=%-5zu  %10.0f pkt/s  "
           "%6.1f ns/pkt  hits=%llu/%d  masks/hit=%.2f\n",
           spread ? "spread" : "hot", n_masks, n_frames,
           (double) N_PACKETS / secs, secs * 1e9 / N_PACKETS,
           (unsigned long long) hits, N_PACKETS,
           hits ? (double) (after.n_mask_hit - before.n_mask_hit)
                  / (double) hits : 0.0);

    for (size_t j = 0; j < n_frames; j++) {
        buf_uninit(&frames[j]);
    }
    free(frames);
    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&actions);
    dpif_delete(dpif);
    dpif_close(dpif);
}

int
main(void)
{
    printf("bench_dpif_netdev: userspace datapath hit path, dummy ports, "
           "single thread\n");
    printf("conditions: %d packets per line after 100000 warm-up, 60-byte "
           "UDP/IPv4 frames, one megaflow per mask, action output:2 into "
           "the capture ring (%s), EMC on\n", N_PACKETS,
           "1024 frames, oldest overwritten");
    printf("  hot: one packet flow per megaflow (EMC hits); spread: %d "
           "packet flows (EMC mostly misses, classifier searches)\n",
           N_FRAMES);
    unsigned int masks[] = { 1, 10, 100 };
    for (int spread = 0; spread < 2; spread++) {
        for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
            run(masks[i], spread);
        }
    }
    return 0;
}
