/*
 * bench_handler — flow setups per second and upcall-to-install latency of
 * real dpif-handlerd processes on a dummy datapath.
 *
 * privd runs in this process (supervisor, policy feed, dummy datapath with
 * four ports; the modules privd/main.c runs), the handlers and one
 * revalidator are the real binaries started by the real spawner.  The
 * injector makes N distinct UDP flows (distinct source MAC and IPv4
 * source) arrive on the four ports round robin, as fast as it can while
 * still running privd's loop (BENCH_INJECT_PER_STEP frames per
 * iteration), with megaflows disabled (exact-match flows), and measures:
 *
 *   setups/s   flows installed / time from the first injection to the
 *              last install (or the timeout);
 *   latency    for every flow i: the first time the datapath held i+1
 *              flows minus the time flow i was injected.  Installs are not
 *              strictly in injection order (two handlers, batches), so
 *              this is the latency of the i-th install, which is what an
 *              operator sees as "the table keeps up"; p50 and p99;
 *   lost       upcalls lost on the way: datapath queue overflow (n_lost),
 *              supervisor ring full (supervisor_upcalls_dropped), and
 *              flows never installed.
 *
 * Usage: bench_handler [N] (default 100000).  Prints; asserts nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/flow.h"
#include "common/log.h"
#include "common/packet.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/timeval.h"
#include "privd/dpif.h"
#include "privd/policy-feed.h"
#include "privd/privd.h"
#include "privd/spawner.h"
#include "privd/supervisor.h"

#define N_PORTS 4
#define BENCH_INJECT_PER_STEP 32
#define BENCH_TIMEOUT_MSEC 120000

struct bench {
    struct privd privd;
    struct privd_dp dp;
    struct privd_dp *dps[1];    /* privd.dps: 'dp'. */
    struct supervisor *sup;
    struct policy_feed *feed;
    uint32_t ports[N_PORTS];
};

static void
bench_step(struct bench *b, bool block)
{
    struct poller p;

    dpif_run(b->dp.dpif);
    supervisor_run(b->sup);
    policy_feed_run(b->feed);
    if (!block) {
        return;
    }
    poller_clear(&p);
    supervisor_wait(b->sup, &p);
    policy_feed_wait(b->feed, &p);
    dpif_wait(b->dp.dpif, &p);
    poller_timer_wait(&p, time_msec() + 5);
    poller_block(&p);
}

static uint64_t
n_flows(const struct bench *b)
{
    struct dpif_dp_stats s;
    return dpif_get_dp_stats(b->dp.dpif, &s) ? 0 : s.n_flows;
}

static int
cmp_ll(const void *a_, const void *b_)
{
    long long a = *(const long long *) a_, b = *(const long long *) b_;
    return a < b ? -1 : a > b;
}

static void
make_frame(struct buf *pkt, uint32_t i)
{
    struct errbuf eb = { "" };
    struct flow f;

    memset(&f, 0, sizeof f);
    f.dl_src = (struct eth_addr) { { 0x02, 0x10, (uint8_t) (i >> 16),
                                     (uint8_t) (i >> 8), (uint8_t) i, 1 } };
    f.dl_dst = (struct eth_addr) { { 0x02, 0x20, 0, 0, 0, 1 } };
    f.dl_type = htons(ETH_P_IP);
    f.nw_src = htonl(0x0a000000 | i);
    f.nw_dst = htonl(0x0b000001);
    f.nw_proto = IPPROTO_UDP;
    f.nw_ttl = 64;
    f.tp_src = htons(1000);
    f.tp_dst = htons(2000);
    buf_clear(pkt);
    if (packet_compose(pkt, &f, 18, &eb)) {
        fprintf(stderr, "bench_handler: %s\n", eb.msg);
        exit(1);
    }
}

static void
run(unsigned int n_handlers, uint32_t n)
{
    struct spawner_config scfg = {
        .handler_path = BENCH_HANDLERD,
        .revalidator_path = BENCH_REVALD,
        .max_worker_id = IPC_MAX_WORKERS,
    };
    struct errbuf eb = { "" };
    struct bench b;
    char name[32];

    memset(&b, 0, sizeof b);
    config_init_defaults(&b.privd.cfg);
    b.privd.cfg.n_handlers = n_handlers;
    b.privd.cfg.n_revalidators = 1;
    b.privd.cfg.flow_limit = 2 * n + 1000;
    snprintf(name, sizeof name, "bh%u", n_handlers);
    if (dpif_create_and_open(name, "dummy", &b.dp.dpif)) {
        exit(1);
    }
    for (int i = 0; i < N_PORTS; i++) {
        char pname[48];
        snprintf(pname, sizeof pname, "%sp%d", name, i + 1);
        b.ports[i] = UINT32_MAX;
        if (dpif_port_add(b.dp.dpif, pname, "dummy", &b.ports[i])) {
            exit(1);
        }
    }
    b.dps[0] = &b.dp;
    b.privd.dps = b.dps;
    b.privd.n_dps = 1;
    if (spawner_start(&scfg, &b.privd.spawner, &eb)
        || supervisor_create(&b.privd, &b.sup)
        || policy_feed_create(&b.privd, b.sup, &b.feed, &eb)) {
        fprintf(stderr, "bench_handler: start: %s\n", eb.msg);
        exit(1);
    }
    supervisor_set_megaflows(b.sup, &b.dp, false);
    long long deadline = time_msec() + 10000;
    while (supervisor_n_ready(b.sup) < n_handlers + 1
           && time_msec() < deadline) {
        bench_step(&b, true);
    }
    for (long long end = time_msec() + 200; time_msec() < end;) {
        bench_step(&b, true);
    }

    long long *injected = xcalloc(n, sizeof *injected);
    long long *installed = xcalloc(n, sizeof *installed);
    struct buf pkt;
    buf_init(&pkt, 0);
    uint64_t dropped0 = counter_get("supervisor_upcalls_dropped");
    uint64_t seen = 0;
    uint32_t next = 0;
    long long start = time_usec(), last_install = start;
    deadline = time_msec() + BENCH_TIMEOUT_MSEC;

    while (seen < n && time_msec() < deadline) {
        for (int k = 0; k < BENCH_INJECT_PER_STEP && next < n; k++) {
            make_frame(&pkt, next);
            injected[next] = time_usec();
            dpif_packet_inject(b.dp.dpif, b.ports[next % N_PORTS], pkt.data,
                               pkt.size);
            next++;
        }
        bench_step(&b, next >= n);
        uint64_t now_flows = MIN(n_flows(&b), (uint64_t) n);
        long long now = time_usec();
        while (seen < now_flows) {
            installed[seen++] = now;
            last_install = now;
        }
        if (next >= n && now - last_install > 2000000) {
            break;              /* Nothing more is coming. */
        }
    }

    struct dpif_dp_stats stats;
    dpif_get_dp_stats(b.dp.dpif, &stats);
    double secs = (double) (last_install - start) / 1e6;
    long long *lat = xcalloc(seen ? seen : 1, sizeof *lat);
    for (uint64_t i = 0; i < seen; i++) {
        lat[i] = installed[i] - injected[i];
    }
    qsort(lat, seen, sizeof *lat, cmp_ll);
    printf("handlers=%u flows=%u megaflows=off batch=%u: installed %"PRIu64
           " in %.2f s = %.0f setups/s; upcall-to-install p50 %.2f ms, p99 "
           "%.2f ms; lost: datapath %"PRIu64", supervisor %"PRIu64
           ", never installed %"PRIu64"\n",
           n_handlers, n, b.privd.cfg.batch_size, seen, secs,
           secs > 0 ? (double) seen / secs : 0.0,
           seen ? (double) lat[seen / 2] / 1000 : 0.0,
           seen ? (double) lat[seen * 99 / 100] / 1000 : 0.0,
           stats.n_lost, counter_get("supervisor_upcalls_dropped") - dropped0,
           (uint64_t) n - seen);
    fflush(stdout);

    free(lat);
    free(injected);
    free(installed);
    buf_uninit(&pkt);
    policy_feed_destroy(b.feed);
    supervisor_destroy(b.sup);
    spawner_destroy(b.privd.spawner);
    dpif_delete(b.dp.dpif);
    dpif_close(b.dp.dpif);
    config_destroy(&b.privd.cfg);
}

int
main(int argc, char *argv[])
{
    uint32_t n = argc > 1 ? (uint32_t) strtoul(argv[1], NULL, 10) : 100000;
    struct errbuf eb = { "" };

    if (geteuid() == 0) {
        /* Workers started as root chroot into the working directory. */
        if (sandbox_prepare_root(BENCH_EMPTY_ROOT, &eb)
            || chdir(BENCH_EMPTY_ROOT)) {
            fprintf(stderr, "bench_handler: %s (is user %s there?)\n",
                    eb.msg, DPIFD_WORKER_USER);
            return 1;
        }
    }
    log_set_level("ANY", LOG_LEVEL_WARN);
    printf("bench_handler: %u distinct flows injected round robin on %d "
           "dummy ports, exact-match flows; %ld CPUs online\n", n, N_PORTS,
           sysconf(_SC_NPROCESSORS_ONLN));
    run(1, n);
    run(2, n);
    return 0;
}
