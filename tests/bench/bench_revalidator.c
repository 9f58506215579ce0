/* Revalidation cost: for 10^4, 10^5 and 2*10^5 flows in a dummy datapath,
 * with 1 and 2 revalidator shards, the time and CPU of
 *
 *   dump     privd's side: dpif_flow_dump_next() in chunks of
 *            DUMP_PUMP_CHUNK, routing each flow to its shard
 *            (ufid_shard()) and building the reval_flow it is handed;
 *   adopt    the first cycle of a fresh revalidator: every flow is
 *            unknown, adopted and fully checked (key decode, translation,
 *            mask and actions comparison): the cost after a restart or a
 *            policy change;
 *   steady   a cycle with nothing changed: stats delta push only;
 *
 * and the heap per ukey (mallinfo2 delta over the adopt cycle, divided by
 * the flows).  The shards run one after the other in this process; with 2
 * revalidators the wall time of the cycle is that of the slower shard
 * ("max shard"), since each is its own process.  The IPC (DumpShard
 * encoding, rings) is measured by bench_ipc.  Prints; asserts nothing. */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/odp-key.h"
#include "common/policy.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "common/xlate.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "revald/revalidate.h"

static const uint32_t ports[] = { 0, 1, 2, 3 };
static const char rules[] =
    "priority=200,tcp,tp_dst=80,actions=output:3\n"
    "priority=100,udp,nw_dst=10.0.0.0/8,actions=output:2\n";

static double
cpu_msec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct policy_table *
parse_rules(void)
{
    struct policy_table *t;
    struct errbuf eb = { "" };
    if (policy_parse(rules, strlen(rules), "rules", 1, &t, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        exit(1);
    }
    return t;
}

/* Installs 'n' distinct UDP megaflows translated with the rules. */
static void
install(struct dpif *dpif, size_t n)
{
    struct policy_table *t = parse_rules();
    struct buf key, mask;
    struct xlate_out xout;
    struct errbuf eb = { "" };

    buf_init(&key, 0);
    buf_init(&mask, 0);
    xlate_out_init(&xout);
    for (size_t i = 0; i < n; i++) {
        struct flow f;
        memset(&f, 0, sizeof f);
        f.in_port = 1;
        f.dl_src = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x01 } };
        f.dl_dst = (struct eth_addr) { { 0x02, 0, 0, 0, 0, 0x02 } };
        f.dl_type = htons(0x0800);
        f.nw_proto = 17;
        f.nw_ttl = 64;
        f.nw_src = htonl(0xc0a80000 | (uint32_t) (i >> 16));
        f.nw_dst = htonl(0x0a000000 | (uint32_t) (i & 0xffff));
        f.tp_src = htons(1000);
        f.tp_dst = htons(53);
        struct xlate_in xin = {
            .flow = &f, .table = t, .ports = ports, .n_ports = 4,
            .now_msec = time_msec(),
        };
        if (xlate_translate(&xin, &xout, &eb)) {
            fprintf(stderr, "%s\n", eb.msg);
            exit(1);
        }
        /* Every flow exact on nw_src/nw_dst so that they never overlap. */
        flow_mask_exact(&xout.mask);
        buf_clear(&key);
        buf_clear(&mask);
        odp_key_from_flow(&key, &f, &eb);
        odp_mask_from_flow(&mask, &xout.mask, &f, &eb);
        union ufid ufid;
        ufid_from_key(key.data, key.size, mask.data, mask.size, &ufid);
        struct dpif_flow_put put = {
            .flags = DPIF_FP_CREATE,
            .key = key.data, .key_len = key.size,
            .mask = mask.data, .mask_len = mask.size,
            .actions = xout.flow_actions.data,
            .actions_len = xout.flow_actions.size,
            .ufid = &ufid,
        };
        int error = dpif_flow_put(dpif, &put);
        if (error) {
            fprintf(stderr, "flow_put %zu: %s\n", i, strerror(error));
            exit(1);
        }
    }
    xlate_out_uninit(&xout);
    buf_uninit(&key);
    buf_uninit(&mask);
    policy_table_destroy(t);
}

/* One cycle: dump everything and hand each flow to its shard.  Returns the
 * dump's own time and CPU; each shard's time goes to 'shard_ms'. */
static void
cycle(struct dpif *dpif, struct revalidator *r, unsigned int n_shards,
      uint64_t seq, double *dump_ms, double *shard_ms)
{
    struct dpif_flow chunk[DUMP_PUMP_CHUNK];
    struct dpif_flow_dump *d = dpif_flow_dump_create(dpif, false);
    struct dpif_flow_dump_thread *th = dpif_flow_dump_thread_create(d);
    struct reval_params p = {
        .dump_seq = seq, .n_flows = 0, .flow_limit = 1000000,
        .dump_duration_msec = 10, .max_idle_msec = 10000,
    };
    int n;

    *dump_ms = 0;
    for (unsigned int s = 0; s < n_shards; s++) {
        shard_ms[s] = 0;
        reval_dump_begin(&r[s], &p);
    }
    for (;;) {
        long long t0 = time_usec();
        n = dpif_flow_dump_next(th, chunk, DUMP_PUMP_CHUNK);
        *dump_ms += (time_usec() - t0) / 1e3;
        if (n <= 0) {
            break;
        }
        for (int i = 0; i < n; i++) {
            t0 = time_usec();
            unsigned int s = ufid_shard(&chunk[i].ufid, n_shards);
            struct reval_flow f = {
                .ufid = chunk[i].ufid,
                .key = chunk[i].key, .key_len = chunk[i].key_len,
                .mask = chunk[i].mask, .mask_len = chunk[i].mask_len,
                .actions = chunk[i].actions,
                .actions_len = chunk[i].actions_len,
                .stats = {
                    .n_packets = chunk[i].stats.n_packets,
                    .n_bytes = chunk[i].stats.n_bytes,
                    .used = time_msec(),
                },
            };
            long long t1 = time_usec();
            *dump_ms += (t1 - t0) / 1e3;
            reval_flow_dumped(&r[s], &f, time_msec());
            shard_ms[s] += (time_usec() - t1) / 1e3;
        }
    }
    for (unsigned int s = 0; s < n_shards; s++) {
        long long t0 = time_usec();
        reval_dump_end(&r[s], time_msec());
        reval_cycle_finish(&r[s]);
        shard_ms[s] += (time_usec() - t0) / 1e3;
    }
    dpif_flow_dump_thread_destroy(th);
    dpif_flow_dump_destroy(d);
}

static void
run(size_t n_flows, unsigned int n_shards)
{
    struct dpif *dpif;
    char name[32];

    snprintf(name, sizeof name, "brv%zu%u", n_flows % 1000, n_shards);
    if (dpif_create_and_open(name, "dummy", &dpif)) {
        fprintf(stderr, "cannot create %s\n", name);
        exit(1);
    }
    for (int i = 1; i <= 3; i++) {
        char port[40];
        uint32_t port_no = (uint32_t) i;
        snprintf(port, sizeof port, "%sp%d", name, i);
        if (dpif_port_add(dpif, port, "dummy", &port_no)) {
            fprintf(stderr, "cannot add %s\n", port);
            exit(1);
        }
    }
    install(dpif, n_flows);

    struct revalidator r[2];
    for (unsigned int s = 0; s < n_shards; s++) {
        revalidator_init(&r[s], s, n_shards, 50);
        revalidator_set_policy(&r[s], parse_rules(), ports, 4);
    }

    double dump_ms, shard_ms[2], max_ms;
    struct mallinfo2 m0 = mallinfo2();
    double c0 = cpu_msec();
    cycle(dpif, r, n_shards, 1, &dump_ms, shard_ms);
    double cpu = cpu_msec() - c0;
    struct mallinfo2 m1 = mallinfo2();
    max_ms = shard_ms[0];
    for (unsigned int s = 1; s < n_shards; s++) {
        max_ms = shard_ms[s] > max_ms ? shard_ms[s] : max_ms;
    }
    size_t n_ukeys = 0;
    for (unsigned int s = 0; s < n_shards; s++) {
        n_ukeys += r[s].ukeys.n;
    }
    printf("%7zu flows  %u revalidator%s  adopt : dump %7.1f ms  "
           "max shard %7.1f ms  CPU %7.1f ms  (%zu ukeys, %.0f B/ukey)\n",
           n_flows, n_shards, n_shards > 1 ? "s" : " ", dump_ms, max_ms, cpu,
           n_ukeys,
           n_ukeys ? (double) (m1.uordblks - m0.uordblks) / (double) n_ukeys
                   : 0.0);

    c0 = cpu_msec();
    cycle(dpif, r, n_shards, 2, &dump_ms, shard_ms);
    cpu = cpu_msec() - c0;
    max_ms = shard_ms[0];
    for (unsigned int s = 1; s < n_shards; s++) {
        max_ms = shard_ms[s] > max_ms ? shard_ms[s] : max_ms;
    }
    printf("%7zu flows  %u revalidator%s  steady: dump %7.1f ms  "
           "max shard %7.1f ms  CPU %7.1f ms\n", n_flows, n_shards,
           n_shards > 1 ? "s" : " ", dump_ms, max_ms, cpu);

    for (unsigned int s = 0; s < n_shards; s++) {
        revalidator_destroy(&r[s]);
    }
    dpif_delete(dpif);
    dpif_close(dpif);
}

int
main(void)
{
    static const size_t sizes[] = { 10000, 100000, 200000 };

    printf("revalidation cycle (in-process shards; rules: 2; "
           "ukey struct %zu B)\n", ukey_overhead_bytes());
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (unsigned int m = 1; m <= 2; m++) {
            run(sizes[i], m);
        }
    }
    return 0;
}
